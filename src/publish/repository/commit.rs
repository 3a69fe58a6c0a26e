//! Committing the edits: each changed role re-signed (delegated roles, targets, snapshot,
//! root, timestamp), the result checked with the client, the files to write in order.

use serde_json::{json, Value};

use super::{hashed_name, run_ready, sha256_hex, Before, Changes, Doc, FileBytes, Repository};
use crate::clock::{FixedClock, UnixSeconds};
use crate::fetch::MemoryFetch;
use crate::publish::{expiry, Expiries, Keyring, PublishError};
use crate::store::{MemoryStore, Op, Store};
use crate::tuf::keys::Ed25519Signer;
use crate::tuf::path::quote;
use crate::tuf::repo::sign_metadata;
use crate::tuf::time::format_expires;
use crate::tuf::updater::metadata_key;
use crate::tuf::{Updater, UpdaterConfig};

/// What a commit signs with, and where it records what it signed.
struct Signing<'a> {
    keyring: &'a Keyring,
    now: UnixSeconds,
    expiries: &'a Expiries,
    /// Metadata files to write, in order.
    meta_files: &'a mut Vec<FileBytes>,
    /// One line per role signed.
    signed: &'a mut Vec<String>,
}

impl Repository {
    fn stamp(&self, role: &str, signed: &mut Value, now: UnixSeconds, expiries: &Expiries) {
        let version = signed.get("version").and_then(Value::as_u64).unwrap_or(0) + 1;
        let at = self
            .expires_at
            .get(role)
            .copied()
            .unwrap_or_else(|| expiry(now, expiries.of(role)));
        if let Some(obj) = signed.as_object_mut() {
            obj.insert("version".into(), json!(version));
            obj.insert("expires".into(), json!(format_expires(at)));
        }
    }

    fn meta_entry(version: u64, bytes: &[u8]) -> Value {
        json!({"version": version, "length": bytes.len(), "hashes": {"sha256": sha256_hex(bytes)}})
    }

    fn metadata_names(&self, role: &str, version: u64) -> Vec<String> {
        let plain = format!("metadata/{}.json", quote(role));
        if self.consistent_snapshot {
            vec![format!("metadata/{version}.{}.json", quote(role)), plain]
        } else {
            vec![plain]
        }
    }

    /// Signs every role that changed (a new version of each, expiring after its period from
    /// `now`), then snapshot and timestamp when anything they cover changed, checks the result
    /// with the client, and returns the files to write. On error nothing changes.
    pub fn commit(
        &mut self,
        keyring: &Keyring,
        now: UnixSeconds,
        expiries: &Expiries,
    ) -> Result<Changes, PublishError> {
        if !self.has_changes() {
            return Ok(Changes::default());
        }
        let mut w = self.clone();
        let mut out = Changes::default();
        let mut meta_files: Vec<FileBytes> = Vec::new();
        let mut sign = Signing {
            keyring,
            now,
            expiries,
            meta_files: &mut meta_files,
            signed: &mut out.signed,
        };

        // Target contents first.
        for (path, content) in &w.pending {
            out.files
                .push(FileBytes::new(format!("targets/{path}"), content.clone()));
            if w.consistent_snapshot {
                let name = hashed_name(path, &sha256_hex(content));
                out.files
                    .push(FileBytes::new(format!("targets/{name}"), content.clone()));
            }
        }
        let targets_signed = w.sign_targets_roles(&mut sign)?;
        if targets_signed || w.dirty.contains("snapshot") {
            w.sign_snapshot(&mut sign)?;
        }
        if w.dirty.contains("root") {
            w.sign_root(&mut sign)?;
        }
        if w.dirty.contains("timestamp") {
            w.sign_timestamp(&mut sign)?;
        }

        w.self_check(now)?;
        out.files.extend(meta_files);
        w.dirty.clear();
        w.expires_at.clear();
        w.pending.clear();
        w.before = Before {
            root: Some(w.root.bytes.clone()),
            root_signed: Some(w.root.signed.clone()),
            timestamp: Some(w.timestamp.bytes.clone()),
            snapshot: Some(w.snapshot.bytes.clone()),
            targets: w.roles.get("targets").map(|d| d.bytes.clone()),
        };
        *self = w;
        Ok(out)
    }

    /// The signers the keyring holds for `role` (at least its threshold).
    fn signers<'k>(
        &self,
        keyring: &'k Keyring,
        role: &str,
    ) -> Result<Vec<&'k Ed25519Signer>, PublishError> {
        let keys = self.role_keys(role)?;
        keyring.signers_for(role, &keys.keyids, keys.threshold)
    }

    /// Re-signs the changed targets roles, delegated ones first; whether any was.
    fn sign_targets_roles(&mut self, sign: &mut Signing<'_>) -> Result<bool, PublishError> {
        let mut dirty_roles: Vec<String> = self
            .roles
            .keys()
            .filter(|r| self.dirty.contains(*r))
            .cloned()
            .collect();
        dirty_roles.sort_by_key(|r| r == "targets");
        for role in &dirty_roles {
            let signers = self.signers(sign.keyring, role)?;
            let mut signed = self
                .roles
                .get(role)
                .map(|d| d.signed.clone())
                .unwrap_or_default();
            self.stamp(role, &mut signed, sign.now, sign.expiries);
            let bytes = sign_metadata(&signed, &signers)?;
            let doc = self.role_doc_mut(role)?;
            doc.signed = signed;
            doc.bytes = bytes.clone();
            let (v, exp) = (doc.version(), doc.expires().to_string());
            for name in self.metadata_names(role, v) {
                sign.meta_files.push(FileBytes::new(name, bytes.clone()));
            }
            sign.signed.push(format!("{role} v{v}, expires {exp}"));
        }
        Ok(!dirty_roles.is_empty())
    }

    /// Re-signs snapshot over every targets role (then the timestamp must be re-signed).
    fn sign_snapshot(&mut self, sign: &mut Signing<'_>) -> Result<(), PublishError> {
        let mut signed = self.snapshot.signed.clone();
        let mut meta = signed
            .get("meta")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (role, doc) in &self.roles {
            meta.insert(
                format!("{role}.json"),
                Self::meta_entry(doc.version(), &doc.bytes),
            );
        }
        if let Some(obj) = signed.as_object_mut() {
            obj.insert("meta".into(), Value::Object(meta));
        }
        self.stamp("snapshot", &mut signed, sign.now, sign.expiries);
        let signers = self.signers(sign.keyring, "snapshot")?;
        let bytes = sign_metadata(&signed, &signers)?;
        self.snapshot = Doc {
            signed,
            bytes: bytes.clone(),
        };
        let v = self.snapshot.version();
        for name in self.metadata_names("snapshot", v) {
            sign.meta_files.push(FileBytes::new(name, bytes.clone()));
        }
        sign.signed.push(format!(
            "snapshot v{v}, expires {}",
            self.snapshot.expires()
        ));
        self.dirty.insert("timestamp".into());
        Ok(())
    }

    /// Re-signs root with a threshold of the new root keys and of the previous ones.
    fn sign_root(&mut self, sign: &mut Signing<'_>) -> Result<(), PublishError> {
        let mut signed = self.root.signed.clone();
        self.stamp("root", &mut signed, sign.now, sign.expiries);
        let mut signers = self.signers(sign.keyring, "root")?;
        if let Some(prev) = &self.before.root_signed {
            let role = prev.get("roles").and_then(|r| r.get("root"));
            let prev_ids: Vec<String> = role
                .and_then(|r| r.get("keyids"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect();
            let prev_threshold = role
                .and_then(|r| r.get("threshold"))
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let previous =
                sign.keyring
                    .signers_for("root (previous keys)", &prev_ids, prev_threshold)?;
            for s in previous {
                if !signers.iter().any(|x| x.keyid() == s.keyid()) {
                    signers.push(s);
                }
            }
        }
        let bytes = sign_metadata(&signed, &signers)?;
        self.root = Doc {
            signed,
            bytes: bytes.clone(),
        };
        let v = self.root.version();
        sign.meta_files.push(FileBytes::new(
            format!("metadata/{v}.root.json"),
            bytes.clone(),
        ));
        sign.meta_files
            .push(FileBytes::new("metadata/root.json", bytes));
        sign.signed
            .push(format!("root v{v}, expires {}", self.root.expires()));
        Ok(())
    }

    /// Re-signs the timestamp over the snapshot: the last file written.
    fn sign_timestamp(&mut self, sign: &mut Signing<'_>) -> Result<(), PublishError> {
        let mut signed = self.timestamp.signed.clone();
        if let Some(obj) = signed.as_object_mut() {
            obj.insert(
                "meta".into(),
                json!({"snapshot.json": Self::meta_entry(self.snapshot.version(), &self.snapshot.bytes)}),
            );
        }
        self.stamp("timestamp", &mut signed, sign.now, sign.expiries);
        let signers = self.signers(sign.keyring, "timestamp")?;
        let bytes = sign_metadata(&signed, &signers)?;
        self.timestamp = Doc {
            signed,
            bytes: bytes.clone(),
        };
        sign.meta_files
            .push(FileBytes::new("metadata/timestamp.json", bytes));
        sign.signed.push(format!(
            "timestamp v{}, expires {}",
            self.timestamp.version(),
            self.timestamp.expires()
        ));
        Ok(())
    }

    /// The client's verdict on the state about to be written: an [`Updater`] that trusts the
    /// state before the edits refreshes to the new one at `now` (root rotation, rollback,
    /// signature, hash, length and expiry checks) and loads every delegated role.
    fn self_check(&self, now: UnixSeconds) -> Result<(), PublishError> {
        let fetch = MemoryFetch::new();
        let store = MemoryStore::new();
        let m = |name: &str| format!("m/{name}");
        let before_root_version = self
            .before
            .root_signed
            .as_ref()
            .and_then(|r| r.get("version"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if self.root.version() > before_root_version && before_root_version > 0 {
            fetch.insert(
                m(&format!("{}.root.json", self.root.version())),
                self.root.bytes.clone(),
            );
        }
        fetch.insert(m("timestamp.json"), self.timestamp.bytes.clone());
        let sn = if self.consistent_snapshot {
            format!("{}.snapshot.json", self.snapshot.version())
        } else {
            "snapshot.json".into()
        };
        fetch.insert(m(&sn), self.snapshot.bytes.clone());
        for (role, doc) in &self.roles {
            let name = if self.consistent_snapshot {
                format!("{}.{}.json", doc.version(), quote(role))
            } else {
                format!("{}.json", quote(role))
            };
            fetch.insert(m(&name), doc.bytes.clone());
        }
        let pinned = self
            .before
            .root
            .clone()
            .unwrap_or_else(|| self.root.bytes.clone());
        let mut ops: Vec<(String, Vec<u8>)> = Vec::new();
        for (role, bytes) in [
            ("timestamp", &self.before.timestamp),
            ("snapshot", &self.before.snapshot),
            ("targets", &self.before.targets),
        ] {
            if let Some(b) = bytes {
                ops.push((metadata_key("", role), b.clone()));
            }
        }
        let op_refs: Vec<Op<'_>> = ops
            .iter()
            .map(|(k, v)| Op::Put(k.as_str(), v.as_slice()))
            .collect();
        run_ready(store.commit(&op_refs))?.map_err(|e| PublishError::SelfCheck(e.into()))?;
        let mut client = Updater::new(
            UpdaterConfig::new("m", "t"),
            fetch,
            store,
            FixedClock::new(now),
        )
        .with_trusted_root(pinned);
        run_ready(client.refresh())?.map_err(PublishError::SelfCheck)?;
        run_ready(client.list_targets())?.map_err(PublishError::SelfCheck)?;
        Ok(())
    }
}
