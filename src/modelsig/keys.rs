//! The public keys a model signature is checked with: ECDSA P-256 (SHA-256), ECDSA P-384
//! (SHA-384) and Ed25519, read from a SubjectPublicKeyInfo (PEM or DER).
//!
//! The key method's bundle names its key by a hint: the SHA-256 (hex) of the PEM text of the
//! public key as the `cryptography` package writes it (SubjectPublicKeyInfo, uncompressed point,
//! base64 in 64-column lines, LF). [`PublicKey::hint`] re-encodes the key that way, so a key given
//! in another form (DER, a compressed point, CRLF) still has the signer's hint.

use base64ct::{Base64, Encoding as _};
use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use sha2::{Digest as _, Sha256};

use super::{bad_argument, ModelSigError};

/// A verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA on P-256 with SHA-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA on P-384 with SHA-384.
    P384(p384::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

impl PublicKey {
    /// A key from a SubjectPublicKeyInfo, PEM (`-----BEGIN PUBLIC KEY-----`) or DER.
    pub fn from_spki(bytes: &[u8]) -> Result<PublicKey, ModelSigError> {
        if bytes.len() > 64 << 10 {
            return Err(bad_argument("public key", "over 64 KiB"));
        }
        let der = match std::str::from_utf8(bytes) {
            Ok(text) if text.contains("-----BEGIN") => pem_body(text, "PUBLIC KEY")
                .ok_or_else(|| bad_argument("public key", "no PUBLIC KEY block in the PEM text"))?,
            _ => bytes.to_vec(),
        };
        Self::from_der(&der)
    }

    /// A key from a DER SubjectPublicKeyInfo.
    pub fn from_der(der: &[u8]) -> Result<PublicKey, ModelSigError> {
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(k));
        }
        if let Some(raw) = der
            .strip_prefix(&ED25519_SPKI_PREFIX[..])
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
        {
            return ed25519_dalek::VerifyingKey::from_bytes(&raw)
                .map(PublicKey::Ed25519)
                .map_err(|_| bad_argument("public key", "not an Ed25519 point"));
        }
        Err(bad_argument(
            "public key",
            "not an ECDSA P-256 or P-384 or Ed25519 SubjectPublicKeyInfo",
        ))
    }

    /// `ecdsa-p256`, `ecdsa-p384` or `ed25519`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "ecdsa-p256",
            PublicKey::P384(_) => "ecdsa-p384",
            PublicKey::Ed25519(_) => "ed25519",
        }
    }

    /// The DER SubjectPublicKeyInfo (uncompressed point).
    pub fn spki_der(&self) -> Vec<u8> {
        match self {
            PublicKey::P256(k) => k
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
            PublicKey::P384(k) => k
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .unwrap_or_default(),
            PublicKey::Ed25519(k) => {
                let mut der = ED25519_SPKI_PREFIX.to_vec();
                der.extend_from_slice(k.as_bytes());
                der
            }
        }
    }

    /// The PEM text of the key as the `cryptography` package writes it.
    pub fn pem(&self) -> String {
        let b64 = Base64::encode_string(&self.spki_der());
        let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        out
    }

    /// The key method's hint: SHA-256 (hex) of [`PublicKey::pem`].
    pub fn hint(&self) -> String {
        hex(&Sha256::digest(self.pem().as_bytes()))
    }

    /// Whether `sig` is this key's signature of `message`, with the curve's hash (SHA-256 for
    /// P-256, SHA-384 for P-384). An ECDSA signature may be DER or fixed-size `r || s`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        match self {
            PublicKey::P256(k) => match ecdsa_p256_sig(sig) {
                Some(s) => k.verify(message, &s).is_ok(),
                None => false,
            },
            PublicKey::P384(k) => match ecdsa_p384_sig(sig) {
                Some(s) => k.verify(message, &s).is_ok(),
                None => false,
            },
            PublicKey::Ed25519(k) => match ed25519_dalek::Signature::from_slice(sig) {
                Ok(s) => k.verify_strict(message, &s).is_ok(),
                Err(_) => false,
            },
        }
    }

    /// Like [`PublicKey::verify`], but an ECDSA key's message is hashed with SHA-256 whatever
    /// the curve (what model_signing's pre-1.0 certificate signatures did).
    pub fn verify_sha256(&self, message: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        let digest = Sha256::digest(message);
        match self {
            PublicKey::P256(_) | PublicKey::Ed25519(_) => self.verify(message, sig),
            PublicKey::P384(k) => match ecdsa_p384_sig(sig) {
                Some(s) => k.verify_prehash(&digest, &s).is_ok(),
                None => false,
            },
        }
    }

    /// Whether `sig` is this key's signature over an already computed digest (`prehash`), for
    /// ECDSA keys; an Ed25519 key signs messages, not digests, and returns false.
    pub fn verify_prehash(&self, prehash: &[u8], sig: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
        match self {
            PublicKey::P256(k) => match ecdsa_p256_sig(sig) {
                Some(s) => k.verify_prehash(prehash, &s).is_ok(),
                None => false,
            },
            PublicKey::P384(k) => match ecdsa_p384_sig(sig) {
                Some(s) => k.verify_prehash(prehash, &s).is_ok(),
                None => false,
            },
            PublicKey::Ed25519(_) => false,
        }
    }
}

fn ecdsa_p256_sig(sig: &[u8]) -> Option<p256::ecdsa::Signature> {
    p256::ecdsa::Signature::from_der(sig)
        .or_else(|_| p256::ecdsa::Signature::from_slice(sig))
        .ok()
}

fn ecdsa_p384_sig(sig: &[u8]) -> Option<p384::ecdsa::Signature> {
    p384::ecdsa::Signature::from_der(sig)
        .or_else(|_| p384::ecdsa::Signature::from_slice(sig))
        .ok()
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The bytes of the first PEM block labelled `label` in `text` (CRLF or LF).
pub(crate) fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    pem_blocks(text, label).into_iter().next()
}

/// Every PEM block labelled `label` in `text`, decoded; a block that is not base64 is skipped.
pub(crate) fn pem_blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let Some(after) = rest.get(start + begin.len()..) else {
            break;
        };
        let Some((body, tail)) = after.split_once(end.as_str()) else {
            break;
        };
        let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(bytes) = Base64::decode_vec(&body) {
            out.push(bytes);
        }
        rest = tail;
    }
    out
}
