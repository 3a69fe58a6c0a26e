//! The keys an attestation is verified with, and the key forms callers hold.
//!
//! Every key becomes a TUF key object (`{"keytype", "scheme", "keyval": {"public"}}`, the form
//! root and targets metadata list, read by [`crate::tuf::keys::Key`]) whose key id is
//! securesystemslib's default: the SHA-256 of the canonical JSON of that object. The inputs:
//!
//! | input | becomes |
//! |---|---|
//! | TUF key object (a key file's public part too) | itself (`keyval.public` only) |
//! | JWK `{"kty": "EC", "crv": "P-256", "x", "y"}` (WebCrypto's `exportKey("jwk")`) | `ecdsa` / `ecdsa-sha2-nistp256`, PEM SubjectPublicKeyInfo with LF line ends, as securesystemslib writes it |
//! | JWK `{"kty": "OKP", "crv": "Ed25519", "x"}` | `ed25519` / `ed25519`, 64 hex |
//! | SubjectPublicKeyInfo, DER or PEM (P-256 or Ed25519) | as above |
//!
//! A JWK or key object that also carries a private part is read for its public part only.

use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::{b64_decode, AttestError, MAX_KEYS};
use crate::tuf::canonical::to_canonical;
use crate::tuf::keys::Key;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, AlgorithmIdentifier
/// (OID 1.3.101.112), BIT STRING of 33 bytes (a zero unused-bits byte, then the key).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

fn bad_key(reason: impl Into<String>) -> AttestError {
    AttestError::InvalidArgument {
        what: "key".into(),
        reason: reason.into(),
    }
}

/// A verification key in TUF form with its key id.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// The key id computed from the key (securesystemslib's default key id).
    pub keyid: String,
    /// The key id the caller listed it under, when it differs (a TUF `keys` map).
    pub listed_as: Option<String>,
    /// The TUF key object.
    pub value: Value,
    key: Key,
    /// The public key itself, so one key listed twice counts once.
    identity: Vec<u8>,
}

impl TrustedKey {
    /// Whether `keyid` (a signature's hint) names this key.
    pub(super) fn named_by(&self, keyid: &str) -> bool {
        keyid == self.keyid || self.listed_as.as_deref() == Some(keyid)
    }

    /// Whether `sig` is this key's signature of `message`. An ECDSA signature may be DER (what
    /// securesystemslib and OpenSSL write) or the raw 64-byte `r || s` of IEEE P1363 (what
    /// WebCrypto writes).
    pub(super) fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        if self.key.verify(message, sig) {
            return true;
        }
        if self.key.keytype.starts_with("ecdsa") && sig.len() == 64 {
            if let Ok(s) = p256::ecdsa::Signature::from_slice(sig) {
                return self.key.verify(message, s.to_der().as_bytes());
            }
        }
        false
    }

    pub(super) fn identity(&self) -> &[u8] {
        &self.identity
    }
}

/// The keys a verification trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<TrustedKey>,
}

impl TrustedKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads keys: one key (TUF key object or JWK), an array of keys, a JWK Set
    /// (`{"keys": [...]}`), or a TUF `keys` map (key id to key object; a signature may name
    /// the key by the listed id or by the computed one).
    pub fn from_value(value: &Value) -> Result<TrustedKeys, AttestError> {
        let mut out = TrustedKeys::new();
        match value {
            Value::Array(list) => {
                for k in list {
                    out.add(k, None)?;
                }
            }
            Value::Object(obj) if is_key(obj) => out.add(value, None)?,
            Value::Object(obj) if obj.get("keys").is_some_and(Value::is_array) => {
                return TrustedKeys::from_value(obj.get("keys").unwrap_or(&Value::Null));
            }
            Value::Object(obj) => {
                for (id, k) in obj {
                    out.add(k, Some(id))?;
                }
            }
            _ => {
                return Err(bad_key(
                    "keys must be a key, an array of keys or a keys map",
                ))
            }
        }
        Ok(out)
    }

    /// Adds one key (TUF key object or JWK), optionally listed under `keyid`.
    pub fn add(&mut self, value: &Value, keyid: Option<&str>) -> Result<(), AttestError> {
        if self.keys.len() >= MAX_KEYS {
            return Err(AttestError::LimitExceeded {
                what: "trusted keys".into(),
                limit: MAX_KEYS,
            });
        }
        let tuf = tuf_key(value)?;
        let key = Key::from_value("attestation", &tuf).map_err(|e| bad_key(e.to_string()))?;
        if !key.is_supported() {
            return Err(bad_key(format!(
                "unsupported or malformed {} key (scheme {})",
                key.keytype, key.scheme
            )));
        }
        let identity = identity(&tuf).ok_or_else(|| bad_key("the public key does not parse"))?;
        let computed = key_id(&tuf)?;
        let listed_as = keyid.filter(|k| *k != computed).map(str::to_string);
        self.keys.push(TrustedKey {
            keyid: computed,
            listed_as,
            value: tuf,
            key,
            identity,
        });
        Ok(())
    }

    /// Adds a PEM or DER SubjectPublicKeyInfo (P-256 or Ed25519).
    pub fn add_spki(&mut self, bytes: &[u8]) -> Result<(), AttestError> {
        let v = tuf_key_from_spki(bytes)?;
        self.add(&v, None)
    }

    /// The keys.
    pub fn iter(&self) -> impl Iterator<Item = &TrustedKey> {
        self.keys.iter()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn is_key(obj: &Map<String, Value>) -> bool {
    obj.contains_key("keytype") || obj.contains_key("kty")
}

/// The key id of a TUF key object: SHA-256 (hex) of the canonical JSON of
/// `{"keytype", "scheme", "keyval": {"public"}}`.
pub fn key_id(tuf_key: &Value) -> Result<String, AttestError> {
    let canonical = to_canonical(tuf_key).map_err(|e| bad_key(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(&canonical)))
}

/// Any accepted public key form (a TUF key object or a JWK) as a TUF key object with only
/// the public part.
pub fn tuf_key(value: &Value) -> Result<Value, AttestError> {
    let obj = value
        .as_object()
        .ok_or_else(|| bad_key("a key must be an object"))?;
    if obj.contains_key("kty") {
        return tuf_key_from_jwk(value);
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str);
    let (Some(keytype), Some(scheme)) = (text("keytype"), text("scheme")) else {
        return Err(bad_key("a TUF key needs string keytype and scheme"));
    };
    let public = obj
        .get("keyval")
        .and_then(|k| k.get("public"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad_key("a TUF key needs keyval.public"))?;
    Ok(json!({"keytype": keytype, "scheme": scheme, "keyval": {"public": public}}))
}

fn jwk_coordinate(jwk: &Value, name: &str) -> Result<[u8; 32], AttestError> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| bad_key(format!("the JWK has no \"{name}\"")))?;
    let bytes =
        b64_decode(text).ok_or_else(|| bad_key(format!("JWK \"{name}\" is not base64url")))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| bad_key(format!("JWK \"{name}\" is not 32 bytes")))
}

/// A public JWK (EC P-256 or OKP Ed25519) as a TUF key object.
pub fn tuf_key_from_jwk(jwk: &Value) -> Result<Value, AttestError> {
    let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
    let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or_default();
    match (kty, crv) {
        ("EC", "P-256") => {
            let x = jwk_coordinate(jwk, "x")?;
            let y = jwk_coordinate(jwk, "y")?;
            let point = p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
            let key = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                .map_err(|_| bad_key("the JWK's point is not on P-256"))?;
            ecdsa_tuf_key(&key)
        }
        ("OKP", "Ed25519") => {
            let x = jwk_coordinate(jwk, "x")?;
            ed25519_tuf_key(&x)
        }
        _ => Err(bad_key(format!(
            "unsupported JWK (kty {kty:?}, crv {crv:?}): EC P-256 and OKP Ed25519 are accepted"
        ))),
    }
}

/// A SubjectPublicKeyInfo (DER bytes, or PEM text) of a P-256 or Ed25519 key as a TUF key
/// object.
pub fn tuf_key_from_spki(bytes: &[u8]) -> Result<Value, AttestError> {
    let der = match std::str::from_utf8(bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => pem_body(text)?,
        _ => bytes.to_vec(),
    };
    if let Some(raw) = der.strip_prefix(ED25519_SPKI_PREFIX.as_slice()) {
        let raw = <[u8; 32]>::try_from(raw).map_err(|_| bad_key("bad Ed25519 public key"))?;
        return ed25519_tuf_key(&raw);
    }
    use p256::pkcs8::DecodePublicKey;
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&der)
        .map_err(|_| bad_key("not a P-256 or Ed25519 SubjectPublicKeyInfo"))?;
    ecdsa_tuf_key(&key)
}

fn pem_body(text: &str) -> Result<Vec<u8>, AttestError> {
    let mut inside = false;
    let mut body = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN PUBLIC KEY-----") {
            inside = true;
        } else if line.starts_with("-----END") {
            break;
        } else if inside {
            body.push_str(line);
        }
    }
    if !inside {
        return Err(bad_key("a PEM key must be a PUBLIC KEY block"));
    }
    b64_decode(&body).ok_or_else(|| bad_key("the PEM body is not base64"))
}

fn ecdsa_tuf_key(key: &p256::ecdsa::VerifyingKey) -> Result<Value, AttestError> {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| bad_key(e.to_string()))?;
    Ok(json!({
        "keytype": "ecdsa",
        "scheme": "ecdsa-sha2-nistp256",
        "keyval": {"public": pem},
    }))
}

fn ed25519_tuf_key(raw: &[u8; 32]) -> Result<Value, AttestError> {
    ed25519_dalek::VerifyingKey::from_bytes(raw)
        .map_err(|_| bad_key("not an Ed25519 public key"))?;
    Ok(json!({
        "keytype": "ed25519",
        "scheme": "ed25519",
        "keyval": {"public": hex::encode(raw)},
    }))
}

/// The public key bytes of a TUF key object, prefixed by the algorithm, so two listings of
/// one key (other key ids, other PEM line breaks) count once toward a threshold.
fn identity(tuf: &Value) -> Option<Vec<u8>> {
    let keytype = tuf.get("keytype")?.as_str()?;
    let public = tuf.pointer("/keyval/public")?.as_str()?;
    match keytype {
        "ed25519" => {
            let raw = hex::decode(public).ok()?;
            Some([b"ed25519:".as_slice(), &raw].concat())
        }
        "ecdsa" | "ecdsa-sha2-nistp256" => {
            use p256::pkcs8::DecodePublicKey;
            let key = p256::ecdsa::VerifyingKey::from_public_key_pem(public.trim()).ok()?;
            Some([b"p256:".as_slice(), key.to_encoded_point(true).as_bytes()].concat())
        }
        other => {
            let compact: String = public.split_whitespace().collect();
            Some(format!("{other}:{compact}").into_bytes())
        }
    }
}
