//! Building and signing TUF repositories with Ed25519 keys: the shared base of the publisher
//! CLI, the benchmarks and the attack tests. I/O-free: it returns file names and bytes.
//!
//! Output follows TUF specification 1.0.x section 4 and python-tuf's repository layout:
//! `N.root.json` for every root version, `timestamp.json`, and with consistent snapshots
//! `N.snapshot.json`, `N.targets.json`, `N.<role>.json` and `<dir>/<sha256>.<name>` target
//! files (the plain names are written too, so clients without consistent snapshots work).
//! Files are 2-space-indented JSON; signatures cover the canonical form of `signed`, so
//! python-tuf's Metadata API reads them.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::canonical::to_canonical;
use super::keys::Ed25519Signer;
use super::path::quote;
use super::time::format_expires;
use super::TufError;
use crate::clock::UnixSeconds;

/// The `spec_version` written.
pub const SPEC_VERSION: &str = "1.0.31";

/// Keys, threshold, version and expiry of one role.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    /// The signing keys (all of them sign).
    pub signers: Vec<Ed25519Signer>,
    /// Distinct keys required.
    pub threshold: u64,
    /// The version written.
    pub version: u64,
    /// The expiry written.
    pub expires: UnixSeconds,
}

impl RoleSpec {
    /// One key, threshold 1, version 1.
    pub fn single(signer: Ed25519Signer, expires: UnixSeconds) -> Self {
        RoleSpec {
            signers: vec![signer],
            threshold: 1,
            version: 1,
            expires,
        }
    }

    fn keyids(&self) -> Vec<String> {
        self.signers.iter().map(|s| s.keyid().to_string()).collect()
    }
}

/// A target entry with its content.
#[derive(Debug, Clone)]
pub struct TargetEntry {
    /// The bytes.
    pub content: Vec<u8>,
    /// The `custom` field, if any.
    pub custom: Option<Value>,
}

/// A delegated targets role.
#[derive(Debug, Clone)]
pub struct DelegationSpec {
    /// Role name.
    pub name: String,
    /// The role that delegates to it (`targets` or another delegated role).
    pub delegator: String,
    /// Keys, threshold, version, expiry.
    pub role: RoleSpec,
    /// Whether the search stops below it.
    pub terminating: bool,
    /// Path patterns (`None` with `path_hash_prefixes` set).
    pub paths: Option<Vec<String>>,
    /// Hash prefixes.
    pub path_hash_prefixes: Option<Vec<String>>,
    /// Its targets.
    pub targets: BTreeMap<String, TargetEntry>,
}

/// The files of a published repository.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Metadata file name to bytes.
    pub metadata: BTreeMap<String, Vec<u8>>,
    /// Target file name (relative to the targets directory) to bytes.
    pub targets: BTreeMap<String, Vec<u8>>,
}

/// An in-memory repository: roles, keys, targets, delegations and root history.
#[derive(Debug, Clone)]
pub struct RepoBuilder {
    /// `spec_version` written in every role.
    pub spec_version: String,
    /// Whether root says `consistent_snapshot: true`.
    pub consistent_snapshot: bool,
    /// Root keys and version of the *next* root to be committed (see [`Self::commit_root`]).
    pub root: RoleSpec,
    /// Timestamp role.
    pub timestamp: RoleSpec,
    /// Snapshot role.
    pub snapshot: RoleSpec,
    /// Top-level targets role.
    pub targets: RoleSpec,
    /// Top-level targets.
    pub target_entries: BTreeMap<String, TargetEntry>,
    /// Delegated roles, in search order per delegator.
    pub delegations: Vec<DelegationSpec>,
    /// Whether timestamp and snapshot `meta` carry `length` and `hashes`.
    pub meta_lengths_and_hashes: bool,
    roots: Vec<Vec<u8>>,
    root_signers_history: Vec<Vec<Ed25519Signer>>,
}

/// A 32-byte seed derived from a label: tests and benchmarks get stable keys without an RNG.
pub fn seed_from_label(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// Signs `signed` with each signer and returns the metadata file bytes (2-space-indented JSON).
pub fn sign_metadata(signed: &Value, signers: &[&Ed25519Signer]) -> Result<Vec<u8>, TufError> {
    let canonical = to_canonical(signed).map_err(|e| TufError::bad("signer", e.to_string()))?;
    let signatures: Vec<Value> = signers
        .iter()
        .map(|s| json!({"keyid": s.keyid(), "sig": hex::encode(s.sign(&canonical))}))
        .collect();
    let doc = json!({"signatures": signatures, "signed": signed});
    let mut out =
        serde_json::to_vec_pretty(&doc).map_err(|e| TufError::bad("signer", e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

fn meta_entry(version: u64, bytes: &[u8], with_lh: bool) -> Value {
    if with_lh {
        json!({
            "version": version,
            "length": bytes.len(),
            "hashes": {"sha256": hex::encode(Sha256::digest(bytes))},
        })
    } else {
        json!({"version": version})
    }
}

fn keys_value(signers: &[&Ed25519Signer]) -> Value {
    let mut keys = Map::new();
    for s in signers {
        keys.insert(s.keyid().to_string(), s.public_value());
    }
    Value::Object(keys)
}

impl RepoBuilder {
    /// A repository whose keys derive from `label` (one key per role, threshold 1), every role
    /// expiring at `expires`, consistent snapshots on, and root version 1 committed.
    pub fn new(label: &str, expires: UnixSeconds) -> Self {
        let key =
            |role: &str| Ed25519Signer::from_seed(&seed_from_label(&format!("{label}/{role}")));
        let mut b = RepoBuilder {
            spec_version: SPEC_VERSION.to_string(),
            consistent_snapshot: true,
            root: RoleSpec::single(key("root"), expires),
            timestamp: RoleSpec::single(key("timestamp"), expires),
            snapshot: RoleSpec::single(key("snapshot"), expires),
            targets: RoleSpec::single(key("targets"), expires),
            target_entries: BTreeMap::new(),
            delegations: Vec::new(),
            meta_lengths_and_hashes: true,
            roots: Vec::new(),
            root_signers_history: Vec::new(),
        };
        // Signing a value built from strings and integers cannot fail.
        let _ = b.commit_root();
        b
    }

    /// The `signed` object of root as the builder's fields describe it.
    pub fn root_signed(&self) -> Value {
        let mut all: Vec<&Ed25519Signer> = Vec::new();
        for r in [&self.root, &self.timestamp, &self.snapshot, &self.targets] {
            all.extend(r.signers.iter());
        }
        let role = |r: &RoleSpec| json!({"keyids": r.keyids(), "threshold": r.threshold});
        json!({
            "_type": "root",
            "spec_version": self.spec_version,
            "version": self.root.version,
            "expires": format_expires(self.root.expires),
            "consistent_snapshot": self.consistent_snapshot,
            "keys": keys_value(&all),
            "roles": {
                "root": role(&self.root),
                "timestamp": role(&self.timestamp),
                "snapshot": role(&self.snapshot),
                "targets": role(&self.targets),
            },
        })
    }

    /// Signs and records root at `self.root.version`, by the current root keys and by every
    /// key of the previous committed root (spec 5.3.4: N+1 is signed by both thresholds), then
    /// increments `self.root.version` for the next rotation. Returns the bytes.
    pub fn commit_root(&mut self) -> Result<Vec<u8>, TufError> {
        let signed = self.root_signed();
        let mut signers: Vec<&Ed25519Signer> = self.root.signers.iter().collect();
        if let Some(prev) = self.root_signers_history.last() {
            for s in prev {
                if !signers.iter().any(|x| x.keyid() == s.keyid()) {
                    signers.push(s);
                }
            }
        }
        let bytes = sign_metadata(&signed, &signers)?;
        self.push_root(bytes.clone());
        Ok(bytes)
    }

    /// Records externally made root bytes as the next root version (for tests that sign roots
    /// in unusual ways) and moves `self.root.version` past it.
    pub fn push_root(&mut self, bytes: Vec<u8>) {
        self.roots.push(bytes);
        self.root_signers_history.push(self.root.signers.clone());
        self.root.version = u64::try_from(self.roots.len()).unwrap_or(u64::MAX) + 1;
    }

    /// Every committed root version's bytes (index 0 is version 1).
    pub fn roots(&self) -> &[Vec<u8>] {
        &self.roots
    }

    /// The latest committed root's bytes (what a client pins).
    pub fn trusted_root(&self) -> &[u8] {
        self.roots.last().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Adds a target to the top-level targets role.
    pub fn add_target(&mut self, path: &str, content: &[u8], custom: Option<Value>) {
        self.target_entries.insert(
            path.to_string(),
            TargetEntry {
                content: content.to_vec(),
                custom,
            },
        );
    }

    /// Adds a delegation from `delegator` to a new role `name` with one key derived from
    /// `label`, threshold 1, trusted for `paths`.
    pub fn delegate(&mut self, delegator: &str, name: &str, paths: &[&str], terminating: bool) {
        let signer = Ed25519Signer::from_seed(&seed_from_label(&format!("delegated/{name}")));
        self.delegations.push(DelegationSpec {
            name: name.to_string(),
            delegator: delegator.to_string(),
            role: RoleSpec::single(signer, self.targets.expires),
            terminating,
            paths: Some(paths.iter().map(|p| p.to_string()).collect()),
            path_hash_prefixes: None,
            targets: BTreeMap::new(),
        });
    }

    /// The delegated role `name`.
    pub fn delegation_mut(&mut self, name: &str) -> Option<&mut DelegationSpec> {
        self.delegations.iter_mut().find(|d| d.name == name)
    }

    /// Adds a target to delegated role `role` (no-op if there is no such role).
    pub fn add_delegated_target(
        &mut self,
        role: &str,
        path: &str,
        content: &[u8],
        custom: Option<Value>,
    ) {
        if let Some(d) = self.delegation_mut(role) {
            d.targets.insert(
                path.to_string(),
                TargetEntry {
                    content: content.to_vec(),
                    custom,
                },
            );
        }
    }

    fn targets_map(entries: &BTreeMap<String, TargetEntry>) -> Value {
        let mut m = Map::new();
        for (path, e) in entries {
            let mut t = json!({
                "length": e.content.len(),
                "hashes": {"sha256": hex::encode(Sha256::digest(&e.content))},
            });
            if let (Some(c), Some(obj)) = (&e.custom, t.as_object_mut()) {
                obj.insert("custom".into(), c.clone());
            }
            m.insert(path.clone(), t);
        }
        Value::Object(m)
    }

    fn delegations_of(&self, role: &str) -> Option<Value> {
        let children: Vec<&DelegationSpec> = self
            .delegations
            .iter()
            .filter(|d| d.delegator == role)
            .collect();
        if children.is_empty() {
            return None;
        }
        let signers: Vec<&Ed25519Signer> = children
            .iter()
            .flat_map(|d| d.role.signers.iter())
            .collect();
        let roles: Vec<Value> = children
            .iter()
            .map(|d| {
                let mut r = json!({
                    "name": d.name,
                    "keyids": d.role.keyids(),
                    "threshold": d.role.threshold,
                    "terminating": d.terminating,
                });
                if let Some(obj) = r.as_object_mut() {
                    if let Some(p) = &d.paths {
                        obj.insert("paths".into(), json!(p));
                    }
                    if let Some(p) = &d.path_hash_prefixes {
                        obj.insert("path_hash_prefixes".into(), json!(p));
                    }
                }
                r
            })
            .collect();
        Some(json!({"keys": keys_value(&signers), "roles": roles}))
    }

    /// The `signed` object of a targets role (`targets` or a delegated role).
    pub fn targets_signed(&self, role: &str) -> Value {
        let (spec, entries) = if role == "targets" {
            (&self.targets, &self.target_entries)
        } else {
            match self.delegations.iter().find(|d| d.name == role) {
                Some(d) => (&d.role, &d.targets),
                None => (&self.targets, &self.target_entries),
            }
        };
        let mut v = json!({
            "_type": "targets",
            "spec_version": self.spec_version,
            "version": spec.version,
            "expires": format_expires(spec.expires),
            "targets": Self::targets_map(entries),
        });
        if let (Some(d), Some(obj)) = (self.delegations_of(role), v.as_object_mut()) {
            obj.insert("delegations".into(), d);
        }
        v
    }

    /// Signs a targets role with its keys.
    pub fn sign_targets(&self, role: &str) -> Result<Vec<u8>, TufError> {
        self.sign_targets_with(role, &|_, _| {})
    }

    fn sign_targets_with(
        &self,
        role: &str,
        edit: &dyn Fn(&str, &mut Value),
    ) -> Result<Vec<u8>, TufError> {
        let spec = if role == "targets" {
            &self.targets
        } else {
            match self.delegations.iter().find(|d| d.name == role) {
                Some(d) => &d.role,
                None => &self.targets,
            }
        };
        let signers: Vec<&Ed25519Signer> = spec.signers.iter().collect();
        let mut signed = self.targets_signed(role);
        edit(role, &mut signed);
        sign_metadata(&signed, &signers)
    }

    /// The `signed` object of snapshot for the given targets files (role name to bytes).
    pub fn snapshot_signed(&self, targets_files: &BTreeMap<String, (u64, Vec<u8>)>) -> Value {
        let mut meta = Map::new();
        for (role, (version, bytes)) in targets_files {
            meta.insert(
                format!("{role}.json"),
                meta_entry(*version, bytes, self.meta_lengths_and_hashes),
            );
        }
        json!({
            "_type": "snapshot",
            "spec_version": self.spec_version,
            "version": self.snapshot.version,
            "expires": format_expires(self.snapshot.expires),
            "meta": meta,
        })
    }

    /// The `signed` object of timestamp for the given snapshot bytes.
    pub fn timestamp_signed(&self, snapshot_bytes: &[u8]) -> Value {
        json!({
            "_type": "timestamp",
            "spec_version": self.spec_version,
            "version": self.timestamp.version,
            "expires": format_expires(self.timestamp.expires),
            "meta": {"snapshot.json": meta_entry(self.snapshot.version, snapshot_bytes, self.meta_lengths_and_hashes)},
        })
    }

    /// Signs every role and lays out the repository files.
    pub fn publish(&self) -> Result<Published, TufError> {
        self.publish_with(&|_, _| {})
    }

    /// Like [`Self::publish`], but `edit(role, signed)` may change each role's `signed` object
    /// (targets, delegated roles, snapshot, timestamp; committed roots are not touched) just
    /// before it is signed: tests use it to build metadata that is correctly signed but wrong.
    pub fn publish_with(&self, edit: &dyn Fn(&str, &mut Value)) -> Result<Published, TufError> {
        let mut out = Published::default();
        for (i, bytes) in self.roots.iter().enumerate() {
            out.metadata
                .insert(format!("{}.root.json", i + 1), bytes.clone());
        }
        out.metadata
            .insert("root.json".into(), self.trusted_root().to_vec());

        let mut targets_files: BTreeMap<String, (u64, Vec<u8>)> = BTreeMap::new();
        targets_files.insert(
            "targets".into(),
            (
                self.targets.version,
                self.sign_targets_with("targets", edit)?,
            ),
        );
        for d in &self.delegations {
            targets_files.insert(
                d.name.clone(),
                (d.role.version, self.sign_targets_with(&d.name, edit)?),
            );
        }
        for (role, (version, bytes)) in &targets_files {
            out.metadata
                .insert(format!("{}.json", quote(role)), bytes.clone());
            out.metadata
                .insert(format!("{version}.{}.json", quote(role)), bytes.clone());
        }
        let sn_signers: Vec<&Ed25519Signer> = self.snapshot.signers.iter().collect();
        let mut sn_signed = self.snapshot_signed(&targets_files);
        edit("snapshot", &mut sn_signed);
        let snapshot = sign_metadata(&sn_signed, &sn_signers)?;
        let ts_signers: Vec<&Ed25519Signer> = self.timestamp.signers.iter().collect();
        let mut ts_signed = self.timestamp_signed(&snapshot);
        edit("timestamp", &mut ts_signed);
        let timestamp = sign_metadata(&ts_signed, &ts_signers)?;
        out.metadata
            .insert("snapshot.json".into(), snapshot.clone());
        out.metadata
            .insert(format!("{}.snapshot.json", self.snapshot.version), snapshot);
        out.metadata.insert("timestamp.json".into(), timestamp);

        let all_entries = self
            .target_entries
            .iter()
            .chain(self.delegations.iter().flat_map(|d| d.targets.iter()));
        for (path, e) in all_entries {
            out.targets.insert(path.clone(), e.content.clone());
            let hash = hex::encode(Sha256::digest(&e.content));
            let hashed = match path.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/{hash}.{base}"),
                None => format!("{hash}.{path}"),
            };
            out.targets.insert(hashed, e.content.clone());
        }
        Ok(out)
    }
}
