//! Private key files and the keyring the publisher signs with.
//!
//! A key file is JSON in securesystemslib's key dictionary shape plus the role it was made for:
//!
//! ```json
//! {"role": "targets", "keytype": "ed25519", "scheme": "ed25519", "keyid": "<64 hex>",
//!  "keyval": {"public": "<64 hex>", "private": "<64 hex: the 32-byte Ed25519 seed>"}}
//! ```
//!
//! Reading one checks that the seed gives the public key and key id written beside it, so a
//! damaged file is refused rather than signing with an unknown key.

use std::collections::BTreeMap;

use serde_json::json;

use super::PublishError;
use crate::tuf::keys::Ed25519Signer;

/// A private key with the role it was made for.
#[derive(Debug, Clone)]
pub struct KeyFile {
    /// The role (`root`, `targets`, `snapshot`, `timestamp` or a team).
    pub role: String,
    /// The key.
    pub signer: Ed25519Signer,
}

impl KeyFile {
    /// The file's bytes (secret: the CLI writes them with mode 0600).
    pub fn to_bytes(&self) -> Vec<u8> {
        let v = json!({
            "role": self.role,
            "keytype": "ed25519",
            "scheme": "ed25519",
            "keyid": self.signer.keyid(),
            "keyval": {
                "public": self.signer.public_value().pointer("/keyval/public"),
                "private": hex::encode(self.signer.seed()),
            },
        });
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Reads a key file; `name` is used in error messages.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<KeyFile, PublishError> {
        let bad = |reason: &str| PublishError::BadRepository {
            file: name.to_string(),
            reason: format!("not a usable key file: {reason}"),
            source: None,
        };
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| bad("not JSON"))?;
        let text = |k: &str| v.get(k).and_then(|x| x.as_str());
        if text("keytype") != Some("ed25519") || text("scheme") != Some("ed25519") {
            return Err(bad("only ed25519 keys are supported"));
        }
        let role = text("role").ok_or_else(|| bad("no role"))?.to_string();
        let private = v
            .get("keyval")
            .and_then(|k| k.get("private"))
            .and_then(|p| p.as_str())
            .ok_or_else(|| bad("no keyval.private"))?;
        let mut seed = [0u8; 32];
        hex::decode_to_slice(private, &mut seed)
            .map_err(|_| bad("keyval.private is not 64 hex"))?;
        let signer = Ed25519Signer::from_seed(&seed);
        let public = v.get("keyval").and_then(|k| k.get("public"));
        if text("keyid") != Some(signer.keyid())
            || public != signer.public_value().pointer("/keyval/public")
        {
            return Err(bad(
                "the private key does not match its key id or public key",
            ));
        }
        Ok(KeyFile { role, signer })
    }
}

/// The private keys at hand, by key id. A role is signed by every key it lists that the
/// keyring holds; too few is [`PublishError::MissingKeys`].
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: BTreeMap<String, Ed25519Signer>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    pub fn add(&mut self, signer: Ed25519Signer) {
        self.keys.insert(signer.keyid().to_string(), signer);
    }

    /// The key with this id.
    pub fn get(&self, keyid: &str) -> Option<&Ed25519Signer> {
        self.keys.get(keyid)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys among `keyids` that the keyring holds (each once), checked against `threshold`.
    pub(crate) fn signers_for(
        &self,
        role: &str,
        keyids: &[String],
        threshold: u64,
    ) -> Result<Vec<&Ed25519Signer>, PublishError> {
        let mut out: Vec<&Ed25519Signer> = Vec::new();
        for id in keyids {
            if let Some(s) = self.keys.get(id) {
                if !out.iter().any(|x| x.keyid() == id) {
                    out.push(s);
                }
            }
        }
        let have = u64::try_from(out.len()).unwrap_or(u64::MAX);
        if have < threshold {
            return Err(PublishError::MissingKeys {
                role: role.to_string(),
                have,
                threshold,
            });
        }
        Ok(out)
    }
}

impl FromIterator<Ed25519Signer> for Keyring {
    fn from_iter<I: IntoIterator<Item = Ed25519Signer>>(iter: I) -> Self {
        let mut k = Keyring::new();
        for s in iter {
            k.add(s);
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn key_files_round_trip_and_are_checked() {
        let k = KeyFile {
            role: "targets".into(),
            signer: Ed25519Signer::from_seed(&[5; 32]),
        };
        let bytes = k.to_bytes();
        let back = KeyFile::from_bytes("k.json", &bytes).unwrap();
        assert_eq!(back.role, "targets");
        assert_eq!(back.signer.keyid(), k.signer.keyid());
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["keyval"]["private"] = json!(hex::encode([6u8; 32]));
        let err = KeyFile::from_bytes("k.json", &serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(err.code(), "BAD_REPOSITORY");
        assert!(KeyFile::from_bytes("k.json", b"{").is_err());
    }

    #[test]
    fn keyring_threshold() {
        let a = Ed25519Signer::from_seed(&[1; 32]);
        let b = Ed25519Signer::from_seed(&[2; 32]);
        let ring: Keyring = [a.clone()].into_iter().collect();
        let ids = vec![a.keyid().to_string(), b.keyid().to_string()];
        assert_eq!(ring.signers_for("root", &ids, 1).unwrap().len(), 1);
        let err = ring.signers_for("root", &ids, 2).unwrap_err();
        assert_eq!(err.code(), "MISSING_KEY");
        assert_eq!(
            err.to_string(),
            "root: 1 of the 2 signing keys needed are available"
        );
        // A key id listed twice counts once.
        let dup = vec![a.keyid().to_string(), a.keyid().to_string()];
        assert!(ring.signers_for("root", &dup, 2).is_err());
    }
}
