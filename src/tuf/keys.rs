//! Public keys and signature verification for every key type and scheme the TUF specification
//! and python-tuf (securesystemslib) use, plus the Ed25519 signer the publisher and the tests use.
//!
//! Reference: TUF specification 1.0.x section 4.2 ("keys"), securesystemslib
//! `signer/_key.py` (`SSlibKey.verify_signature`) and `signer/_crypto_signer.py`.
//!
//! | keytype | scheme | `keyval.public` | signature |
//! |---|---|---|---|
//! | `ed25519` | `ed25519` | 64 hex characters | 64 bytes, hex; checked with `verify_strict` |
//! | `ecdsa`, `ecdsa-sha2-nistp256` | `ecdsa-sha2-nistp256` | PEM SubjectPublicKeyInfo | DER, hex (P-256 over SHA-256) |
//! | `rsa` | `rsassa-pss-sha256/384/512` | PEM (SPKI or PKCS#1) | hex; any salt length (securesystemslib verifies with `PSS.AUTO`) |
//! | `rsa` | `rsa-pkcs1v15-sha256/384/512` | PEM (SPKI or PKCS#1) | hex |
//!
//! Any other key type or scheme, or a key whose public value does not parse, is *unusable*: it
//! is kept (so the metadata still parses) but can never count toward a threshold.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::canonical::to_canonical;
use super::TufError;

/// A public key as listed in root or delegating targets metadata.
#[derive(Debug, Clone)]
pub struct Key {
    /// `keytype` as given.
    pub keytype: String,
    /// `scheme` as given.
    pub scheme: String,
    /// The parsed key, or `None` when the type/scheme is unsupported or the value malformed.
    parsed: Option<ParsedKey>,
}

#[derive(Debug, Clone)]
enum ParsedKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Rsa(Box<rsa::RsaPublicKey>, RsaScheme),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RsaScheme {
    Pss(HashAlg),
    Pkcs1v15(HashAlg),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl Key {
    /// Reads a key object `{"keytype", "scheme", "keyval": {"public"}}`. Only a structurally
    /// broken object is an error; an unsupported or unparsable key is returned as unusable.
    pub fn from_value(role: &str, value: &Value) -> Result<Key, TufError> {
        let obj = value
            .as_object()
            .ok_or_else(|| TufError::bad(role, "a key is not an object"))?;
        let text = |field: &str| -> Result<String, TufError> {
            obj.get(field)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| TufError::bad(role, format!("a key has no string \"{field}\"")))
        };
        let keytype = text("keytype")?;
        let scheme = text("scheme")?;
        let keyval = obj
            .get("keyval")
            .and_then(Value::as_object)
            .ok_or_else(|| TufError::bad(role, "a key has no \"keyval\" object"))?;
        let public = keyval.get("public").and_then(Value::as_str);
        let parsed = public.and_then(|p| parse_public(&keytype, &scheme, p));
        Ok(Key {
            keytype,
            scheme,
            parsed,
        })
    }

    /// Whether this client can verify signatures made with this key.
    pub fn is_supported(&self) -> bool {
        self.parsed.is_some()
    }

    /// The key's identity: its public key bytes, the same for two entries that carry the same
    /// public key under different key ids (so such duplicates count once toward a threshold).
    fn identity(&self) -> Option<Vec<u8>> {
        match self.parsed.as_ref()? {
            ParsedKey::Ed25519(k) => Some([b"ed25519:".as_slice(), k.as_bytes()].concat()),
            ParsedKey::EcdsaP256(k) => {
                Some([b"p256:".as_slice(), k.to_encoded_point(true).as_bytes()].concat())
            }
            ParsedKey::Rsa(k, _) => {
                use rsa::traits::PublicKeyParts;
                let mut id = b"rsa:".to_vec();
                id.extend_from_slice(&k.n().to_bytes_be());
                id.push(b':');
                id.extend_from_slice(&k.e().to_bytes_be());
                Some(id)
            }
        }
    }

    /// Whether `sig` (raw bytes) is a valid signature of `message` by this key.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.parsed {
            None => false,
            Some(ParsedKey::Ed25519(k)) => match ed25519_dalek::Signature::from_slice(sig) {
                Ok(s) => k.verify_strict(message, &s).is_ok(),
                Err(_) => false,
            },
            Some(ParsedKey::EcdsaP256(k)) => {
                use p256::ecdsa::signature::Verifier;
                match p256::ecdsa::Signature::from_der(sig) {
                    Ok(s) => k.verify(message, &s).is_ok(),
                    Err(_) => false,
                }
            }
            Some(ParsedKey::Rsa(k, scheme)) => verify_rsa(k, *scheme, message, sig),
        }
    }
}

fn parse_public(keytype: &str, scheme: &str, public: &str) -> Option<ParsedKey> {
    match (keytype, scheme) {
        ("ed25519", "ed25519") => {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(public, &mut bytes).ok()?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .ok()
                .map(ParsedKey::Ed25519)
        }
        ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
            use p256::pkcs8::DecodePublicKey;
            p256::ecdsa::VerifyingKey::from_public_key_pem(public.trim())
                .ok()
                .map(ParsedKey::EcdsaP256)
        }
        ("rsa", _) => {
            let scheme = match scheme {
                "rsassa-pss-sha256" => RsaScheme::Pss(HashAlg::Sha256),
                "rsassa-pss-sha384" => RsaScheme::Pss(HashAlg::Sha384),
                "rsassa-pss-sha512" => RsaScheme::Pss(HashAlg::Sha512),
                "rsa-pkcs1v15-sha256" => RsaScheme::Pkcs1v15(HashAlg::Sha256),
                "rsa-pkcs1v15-sha384" => RsaScheme::Pkcs1v15(HashAlg::Sha384),
                "rsa-pkcs1v15-sha512" => RsaScheme::Pkcs1v15(HashAlg::Sha512),
                _ => return None,
            };
            use rsa::pkcs1::DecodeRsaPublicKey;
            use rsa::pkcs8::DecodePublicKey;
            let pem = public.trim();
            let key = rsa::RsaPublicKey::from_public_key_pem(pem)
                .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
                .ok()?;
            Some(ParsedKey::Rsa(Box::new(key), scheme))
        }
        _ => None,
    }
}

fn verify_rsa(key: &rsa::RsaPublicKey, scheme: RsaScheme, message: &[u8], sig: &[u8]) -> bool {
    match scheme {
        RsaScheme::Pkcs1v15(alg) => {
            let Ok(s) = rsa::pkcs1v15::Signature::try_from(sig) else {
                return false;
            };
            use rsa::signature::Verifier;
            let key = key.clone();
            match alg {
                HashAlg::Sha256 => rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                    .verify(message, &s)
                    .is_ok(),
                HashAlg::Sha384 => rsa::pkcs1v15::VerifyingKey::<Sha384>::new(key)
                    .verify(message, &s)
                    .is_ok(),
                HashAlg::Sha512 => rsa::pkcs1v15::VerifyingKey::<Sha512>::new(key)
                    .verify(message, &s)
                    .is_ok(),
            }
        }
        RsaScheme::Pss(alg) => {
            // securesystemslib verifies PSS with `salt_length=PSS.AUTO`: any salt length. The
            // rsa crate checks one given salt length, so read the length off the encoded
            // message first and let the crate do the full, strict verification with it.
            let Some(salt_len) = pss_salt_len(key, alg, sig) else {
                return false;
            };
            let Ok(s) = rsa::pss::Signature::try_from(sig) else {
                return false;
            };
            use rsa::signature::Verifier;
            let key = key.clone();
            match alg {
                HashAlg::Sha256 => {
                    rsa::pss::VerifyingKey::<Sha256>::new_with_salt_len(key, salt_len)
                        .verify(message, &s)
                        .is_ok()
                }
                HashAlg::Sha384 => {
                    rsa::pss::VerifyingKey::<Sha384>::new_with_salt_len(key, salt_len)
                        .verify(message, &s)
                        .is_ok()
                }
                HashAlg::Sha512 => {
                    rsa::pss::VerifyingKey::<Sha512>::new_with_salt_len(key, salt_len)
                        .verify(message, &s)
                        .is_ok()
                }
            }
        }
    }
}

/// The salt length of an RSASSA-PSS signature (RFC 8017 section 9.1.2 steps 1-10: open the
/// signature, unmask DB with MGF1, find the 0x01 separator). It only chooses the parameter for
/// the real verification; `None` when the encoding is malformed.
fn pss_salt_len(key: &rsa::RsaPublicKey, alg: HashAlg, sig: &[u8]) -> Option<usize> {
    use rsa::traits::PublicKeyParts;
    let k = key.size();
    if sig.len() != k {
        return None;
    }
    let m = rsa::hazmat::rsa_encrypt(key, &rsa::BigUint::from_bytes_be(sig)).ok()?;
    let em_bits = key.n().bits().checked_sub(1)?;
    let em_len = em_bits.div_ceil(8);
    let m_bytes = m.to_bytes_be();
    if m_bytes.len() > em_len {
        return None;
    }
    let mut em = vec![0u8; em_len - m_bytes.len()];
    em.extend_from_slice(&m_bytes);
    let h_len = match alg {
        HashAlg::Sha256 => 32,
        HashAlg::Sha384 => 48,
        HashAlg::Sha512 => 64,
    };
    if em_len < h_len + 2 || em.last() != Some(&0xbc) {
        return None;
    }
    let db_len = em_len - h_len - 1;
    let (masked_db, rest) = em.split_at(db_len);
    let h = rest.get(..h_len)?;
    let mut db = masked_db.to_vec();
    // MGF1: block `counter` of the mask covers bytes `counter * h_len ..` of DB.
    for (counter, chunk) in db.chunks_mut(h_len).enumerate() {
        let counter = u32::try_from(counter).ok()?;
        let block = match alg {
            HashAlg::Sha256 => Sha256::new()
                .chain_update(h)
                .chain_update(counter.to_be_bytes())
                .finalize()
                .to_vec(),
            HashAlg::Sha384 => Sha384::new()
                .chain_update(h)
                .chain_update(counter.to_be_bytes())
                .finalize()
                .to_vec(),
            HashAlg::Sha512 => Sha512::new()
                .chain_update(h)
                .chain_update(counter.to_be_bytes())
                .finalize()
                .to_vec(),
        };
        for (d, b) in chunk.iter_mut().zip(block) {
            *d ^= b;
        }
    }
    let zero_bits = 8 * em_len - em_bits;
    if let Some(first) = db.first_mut() {
        *first &= 0xffu8
            .checked_shr(u32::try_from(zero_bits).ok()?)
            .unwrap_or(0);
    }
    let sep = db.iter().position(|&b| b != 0)?;
    if db.get(sep) != Some(&0x01) {
        return None;
    }
    Some(db_len - sep - 1)
}

/// The keys a delegating role lists, by key id.
#[derive(Debug, Clone, Default)]
pub struct KeyMap(BTreeMap<String, Key>);

impl KeyMap {
    /// Reads a `keys` object (key id to key).
    pub fn from_value(role: &str, value: &Value) -> Result<KeyMap, TufError> {
        let obj = value
            .as_object()
            .ok_or_else(|| TufError::bad(role, "\"keys\" is not an object"))?;
        let mut map = BTreeMap::new();
        for (id, key) in obj {
            map.insert(id.clone(), Key::from_value(role, key)?);
        }
        Ok(KeyMap(map))
    }

    /// The key with this id.
    pub fn get(&self, keyid: &str) -> Option<&Key> {
        self.0.get(keyid)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One entry of a metadata file's `signatures` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The key id the signature claims.
    pub keyid: String,
    /// The signature bytes (decoded from hex; empty when the hex was malformed).
    pub sig: Vec<u8>,
}

/// Checks that at least `threshold` distinct keys among `keyids` signed `message` (the canonical
/// form of `signed`), and returns how many did.
///
/// A key id counts once however often it appears in `keyids` or in `signatures`, and two key ids
/// whose keys are the same public key count once (spec 5.3.4 "threshold of signatures from
/// distinct keys"; the duplicate-signature advisories of tough 2025-26).
pub fn verify_threshold(
    role: &str,
    keys: &KeyMap,
    keyids: &[String],
    threshold: u64,
    message: &[u8],
    signatures: &[Signature],
) -> Result<u64, TufError> {
    let mut seen_ids: BTreeSet<&str> = BTreeSet::new();
    let mut seen_keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut valid: u64 = 0;
    for keyid in keyids {
        if !seen_ids.insert(keyid.as_str()) {
            continue;
        }
        let Some(key) = keys.get(keyid) else { continue };
        let Some(identity) = key.identity() else {
            continue;
        };
        if seen_keys.contains(&identity) {
            continue;
        }
        let signed_by_key = signatures
            .iter()
            .filter(|s| s.keyid == *keyid)
            .any(|s| key.verify(message, &s.sig));
        if signed_by_key {
            seen_keys.insert(identity);
            valid += 1;
        }
    }
    if valid < threshold {
        return Err(TufError::SignatureThreshold {
            role: role.to_string(),
            valid,
            threshold,
        });
    }
    Ok(valid)
}

/// An Ed25519 signing key built from a caller-supplied 32-byte seed (randomness is injected:
/// the core never calls an RNG). It signs the canonical form of a `signed` object the way
/// securesystemslib does.
#[derive(Clone)]
pub struct Ed25519Signer {
    key: ed25519_dalek::SigningKey,
    keyid: String,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519Signer({})", self.keyid)
    }
}

impl Ed25519Signer {
    /// The signer for `seed` (the Ed25519 secret key). Its key id is securesystemslib's
    /// default: the SHA-256 of the canonical JSON of the public key object.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = Self::public_value_of(&key);
        // The canonical form of a map of strings always exists.
        let canonical = to_canonical(&public).unwrap_or_default();
        let keyid = hex::encode(Sha256::digest(&canonical));
        Ed25519Signer { key, keyid }
    }

    fn public_value_of(key: &ed25519_dalek::SigningKey) -> Value {
        json!({
            "keytype": "ed25519",
            "scheme": "ed25519",
            "keyval": {"public": hex::encode(key.verifying_key().as_bytes())},
        })
    }

    /// The key id (64 hex characters).
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The public key object as it appears in metadata.
    pub fn public_value(&self) -> Value {
        Self::public_value_of(&self.key)
    }

    /// The 32-byte seed (secret).
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Signs raw bytes.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.key.sign(message).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_map(signers: &[&Ed25519Signer]) -> KeyMap {
        let mut obj = serde_json::Map::new();
        for s in signers {
            obj.insert(s.keyid().to_string(), s.public_value());
        }
        KeyMap::from_value("root", &Value::Object(obj)).unwrap()
    }

    fn sig(s: &Ed25519Signer, msg: &[u8]) -> Signature {
        Signature {
            keyid: s.keyid().to_string(),
            sig: s.sign(msg).to_vec(),
        }
    }

    #[test]
    fn ed25519_threshold_counts_distinct_keys() {
        let a = Ed25519Signer::from_seed(&[1; 32]);
        let b = Ed25519Signer::from_seed(&[2; 32]);
        let keys = key_map(&[&a, &b]);
        let ids = vec![a.keyid().to_string(), b.keyid().to_string()];
        let msg = b"hello";
        assert_eq!(
            verify_threshold("root", &keys, &ids, 2, msg, &[sig(&a, msg), sig(&b, msg)]).unwrap(),
            2
        );
        let err = verify_threshold("root", &keys, &ids, 2, msg, &[sig(&a, msg), sig(&a, msg)])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "root: signature threshold not met (1 of 2 valid signatures)"
        );
        let dup_ids = vec![a.keyid().to_string(), a.keyid().to_string()];
        assert!(verify_threshold("root", &keys, &dup_ids, 2, msg, &[sig(&a, msg)]).is_err());
        // A signature over other bytes does not count.
        assert!(verify_threshold("root", &keys, &ids, 1, b"other", &[sig(&a, msg)]).is_err());
    }

    #[test]
    fn the_same_public_key_under_two_ids_counts_once() {
        let a = Ed25519Signer::from_seed(&[1; 32]);
        let mut obj = serde_json::Map::new();
        obj.insert("id1".into(), a.public_value());
        obj.insert("id2".into(), a.public_value());
        let keys = KeyMap::from_value("targets", &Value::Object(obj)).unwrap();
        let msg = b"m";
        let s = a.sign(msg).to_vec();
        let sigs = vec![
            Signature {
                keyid: "id1".into(),
                sig: s.clone(),
            },
            Signature {
                keyid: "id2".into(),
                sig: s,
            },
        ];
        let ids = vec!["id1".to_string(), "id2".to_string()];
        let err = verify_threshold("targets", &keys, &ids, 2, msg, &sigs).unwrap_err();
        assert!(matches!(
            err,
            TufError::SignatureThreshold {
                valid: 1,
                threshold: 2,
                ..
            }
        ));
    }

    #[test]
    fn unknown_and_malformed_keys_are_unusable_not_fatal() {
        let v = json!({"keytype": "sphincs", "scheme": "x", "keyval": {"public": "00"}});
        assert!(!Key::from_value("root", &v).unwrap().is_supported());
        let v = json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "zz"}});
        assert!(!Key::from_value("root", &v).unwrap().is_supported());
        let v = json!({"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}});
        assert!(!Key::from_value("root", &v).unwrap().is_supported());
        let v = json!({"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {}});
        assert!(!Key::from_value("root", &v).unwrap().is_supported());
        assert!(Key::from_value("root", &json!({"keytype": 1})).is_err());
    }

    #[test]
    fn keyid_matches_securesystemslib() {
        // securesystemslib: SSlibKey.from_crypto / compute_default_keyid for the Ed25519 key
        // with seed [0; 32] (public key 3b6a27bc...).
        let s = Ed25519Signer::from_seed(&[0; 32]);
        assert_eq!(
            s.public_value()["keyval"]["public"],
            "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
        );
        let expected = hex::encode(Sha256::digest(
            br#"{"keytype":"ed25519","keyval":{"public":"3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"},"scheme":"ed25519"}"#,
        ));
        assert_eq!(s.keyid(), expected);
    }
}
