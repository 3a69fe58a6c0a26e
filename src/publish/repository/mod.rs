//! The repository being edited: every role's `signed` object as signed, the edits made since
//! it was loaded, and [`Repository::commit`], which re-signs what changed. Loading is in
//! `load.rs` (the client's verified reader and delegation walk), signing in `commit.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::task::{Context, Poll, Waker};

use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

mod commit;
mod load;

use super::PublishError;
use crate::catalogue::{self, Aliases};
use crate::clock::UnixSeconds;
use crate::tuf::keys::Ed25519Signer;
use crate::tuf::metadata::{
    parse_delegations, DelegatedRole, Delegations, Envelope, RoleKeys, Targets, TOP_LEVEL_ROLES,
};
use crate::tuf::path::{check_target_path, quote};
use crate::tuf::repo::SPEC_VERSION;
use crate::tuf::{RoleStatus, TufError};

/// Read access to a repository's files, by path relative to the repository directory
/// (`metadata/root.json`, `targets/models/iris/aliases.json`, ...).
pub trait RepoFiles {
    /// The file's bytes, or `None` when it does not exist.
    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, PublishError>;
}

impl RepoFiles for BTreeMap<String, Vec<u8>> {
    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
        Ok(self.get(path).cloned())
    }
}

/// A file's path and its bytes: a file a commit writes (relative to the repository
/// directory), or an extra file of a release (by file name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileBytes {
    /// The path or file name.
    pub path: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl FileBytes {
    /// A file from its path and bytes.
    pub fn new(path: impl Into<String>, bytes: Vec<u8>) -> Self {
        FileBytes {
            path: path.into(),
            bytes,
        }
    }
}

/// One role's version and expiry, as last committed (`expires` is empty before the first
/// commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleVersion {
    /// The role name.
    pub role: String,
    /// Its version and expiry.
    pub status: RoleStatus,
}

/// A target as a role of the repository lists it.
#[derive(Debug, Clone, Copy)]
pub struct ListedTarget<'r> {
    /// The role that lists it.
    pub role: &'r str,
    /// The target path.
    pub path: &'r str,
    /// Its entry (`length`, `hashes`, `custom`).
    pub entry: &'r Value,
}

/// The result of a commit: the files to write and what was signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Files to write, relative to the repository directory, in the order to write them:
    /// targets first, then delegated and top-level targets metadata, snapshot, root, and the
    /// timestamp last, so a client reading during the writes sees the old or the new state.
    pub files: Vec<FileBytes>,
    /// What was signed, one entry per role: `targets v3, expires 2027-01-01T00:00:00Z`.
    pub signed: Vec<String>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Applies the writes to an in-memory repository (tests, wasm callers).
    pub fn apply_to(&self, files: &mut BTreeMap<String, Vec<u8>>) {
        for f in &self.files {
            files.insert(f.path.clone(), f.bytes.clone());
        }
    }
}

/// One role's metadata: its `signed` object and the bytes last written for it (empty for a
/// role created in this session and not yet committed).
#[derive(Debug, Clone)]
struct Doc {
    signed: Value,
    bytes: Vec<u8>,
}

impl Doc {
    fn version(&self) -> u64 {
        self.signed
            .get("version")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    fn expires(&self) -> &str {
        self.signed
            .get("expires")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn targets(&self) -> Option<&Map<String, Value>> {
        self.signed.get("targets").and_then(Value::as_object)
    }
}

/// The trusted state before the edits, from which the self-check refreshes.
#[derive(Debug, Clone, Default)]
struct Before {
    root: Option<Vec<u8>>,
    root_signed: Option<Value>,
    timestamp: Option<Vec<u8>>,
    snapshot: Option<Vec<u8>>,
    targets: Option<Vec<u8>>,
}

/// A TUF repository open for editing. See the module documentation of [`crate::publish`].
#[derive(Debug, Clone)]
pub struct Repository {
    consistent_snapshot: bool,
    root: Doc,
    timestamp: Doc,
    snapshot: Doc,
    /// Targets roles by name (`targets` and delegated roles).
    roles: BTreeMap<String, Doc>,
    /// Delegated role to the role that delegates to it.
    parents: BTreeMap<String, String>,
    /// Aliases documents by model name.
    aliases: BTreeMap<String, Aliases>,
    dirty: BTreeSet<String>,
    expires_at: BTreeMap<String, UnixSeconds>,
    /// Target contents to write, by target path.
    pending: BTreeMap<String, Vec<u8>>,
    before: Before,
}

fn bad_repo(file: &str, reason: impl Into<String>) -> PublishError {
    PublishError::BadRepository {
        file: file.to_string(),
        reason: reason.into(),
        source: None,
    }
}

fn tuf_repo(file: &str) -> impl FnOnce(TufError) -> PublishError + '_ {
    move |e| PublishError::BadRepository {
        file: file.to_string(),
        reason: e.to_string(),
        source: Some(Box::new(e)),
    }
}

fn signed_of(file: &str, bytes: &[u8]) -> Result<Value, PublishError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| bad_repo(file, e.to_string()))?;
    v.get("signed")
        .cloned()
        .ok_or_else(|| bad_repo(file, "no \"signed\" object"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `<dir>/<hash>.<name>`: the consistent-snapshot file name of a target (spec 5.7.2).
pub(crate) fn hashed_name(path: &str, hash: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/{hash}.{base}"),
        None => format!("{hash}.{path}"),
    }
}

fn keyids_of(signers: &[&Ed25519Signer]) -> Vec<String> {
    signers.iter().map(|s| s.keyid().to_string()).collect()
}

/// Runs a future that never waits (the updater over in-memory hosts) to completion.
fn run_ready<F: Future>(f: F) -> Result<F::Output, PublishError> {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => Err(PublishError::SelfCheck(TufError::InvalidState {
            role: "publisher".into(),
            reason: "the in-memory check did not complete".into(),
        })),
    }
}

fn check_threshold(role: &str, n: usize, threshold: u64) -> Result<(), PublishError> {
    let n = u64::try_from(n).unwrap_or(u64::MAX);
    if threshold < 1 || threshold > n {
        return Err(PublishError::InvalidArgument(format!(
            "{role}: threshold {threshold} must be between 1 and the number of keys ({n})"
        )));
    }
    Ok(())
}

impl Repository {
    /// A new repository (nothing written yet: [`Self::commit`] writes root, targets, snapshot
    /// and timestamp version 1). Root is trusted for `root_keys` with `root_threshold`; each
    /// other top-level role gets one key. Consistent snapshots are on.
    pub fn create(
        root_keys: &[Ed25519Signer],
        root_threshold: u64,
        targets: &Ed25519Signer,
        snapshot: &Ed25519Signer,
        timestamp: &Ed25519Signer,
    ) -> Result<Repository, PublishError> {
        check_threshold("root", root_keys.len(), root_threshold)?;
        let mut keys = Map::new();
        for s in root_keys.iter().chain([targets, snapshot, timestamp]) {
            keys.insert(s.keyid().to_string(), s.public_value());
        }
        let role = |signers: Vec<&Ed25519Signer>, threshold: u64| json!({"keyids": keyids_of(&signers), "threshold": threshold});
        let root = json!({
            "_type": "root",
            "spec_version": SPEC_VERSION,
            "version": 0,
            "expires": "",
            "consistent_snapshot": true,
            "keys": keys,
            "roles": {
                "root": role(root_keys.iter().collect(), root_threshold),
                "targets": role(vec![targets], 1),
                "snapshot": role(vec![snapshot], 1),
                "timestamp": role(vec![timestamp], 1),
            },
        });
        let doc = |signed: Value| Doc {
            signed,
            bytes: Vec::new(),
        };
        let mut roles = BTreeMap::new();
        roles.insert("targets".to_string(), doc(Self::empty_targets()));
        Ok(Repository {
            consistent_snapshot: true,
            root: doc(root),
            timestamp: doc(json!({
                "_type": "timestamp", "spec_version": SPEC_VERSION, "version": 0,
                "expires": "", "meta": {}
            })),
            snapshot: doc(json!({
                "_type": "snapshot", "spec_version": SPEC_VERSION, "version": 0,
                "expires": "", "meta": {}
            })),
            roles,
            parents: BTreeMap::new(),
            aliases: BTreeMap::new(),
            dirty: ["root", "targets", "snapshot", "timestamp"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            expires_at: BTreeMap::new(),
            pending: BTreeMap::new(),
            before: Before::default(),
        })
    }

    fn empty_targets() -> Value {
        json!({
            "_type": "targets", "spec_version": SPEC_VERSION, "version": 0,
            "expires": "", "targets": {}
        })
    }

    /// Whether root says `consistent_snapshot: true`.
    pub fn consistent_snapshot(&self) -> bool {
        self.consistent_snapshot
    }

    /// The version and expiry of every role (`root`, `timestamp`, `snapshot`, `targets`, then
    /// delegated roles), as last committed.
    pub fn role_status(&self) -> Vec<RoleVersion> {
        let status = |role: &str, d: &Doc| RoleVersion {
            role: role.to_string(),
            status: RoleStatus {
                version: d.version(),
                expires: d.expires().to_string(),
            },
        };
        let mut out = vec![
            status("root", &self.root),
            status("timestamp", &self.timestamp),
            status("snapshot", &self.snapshot),
        ];
        let mut names: Vec<&String> = self.roles.keys().collect();
        names.sort_by_key(|n| (n.as_str() != "targets", n.as_str()));
        for name in names {
            if let Some(d) = self.roles.get(name) {
                out.push(status(name, d));
            }
        }
        out
    }

    /// The latest root's bytes (what clients pin), as last committed.
    pub fn root_bytes(&self) -> &[u8] {
        &self.root.bytes
    }

    /// The key ids and threshold of a role: top-level roles from root, delegated roles from
    /// the role that delegates to them.
    pub fn role_keys(&self, role: &str) -> Result<RoleKeys, PublishError> {
        let from = |v: &Value| -> Option<RoleKeys> {
            let keyids = v
                .get("keyids")?
                .as_array()?
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            let threshold = v.get("threshold")?.as_u64()?;
            Some(RoleKeys { keyids, threshold })
        };
        let unknown = || PublishError::Role {
            role: role.to_string(),
            reason: "does not exist".into(),
            exists: false,
        };
        if TOP_LEVEL_ROLES.contains(&role) {
            return self
                .root
                .signed
                .get("roles")
                .and_then(|r| r.get(role))
                .and_then(from)
                .ok_or_else(unknown);
        }
        let parent = self.parents.get(role).ok_or_else(unknown)?;
        let d = self
            .roles
            .get(parent)
            .and_then(|p| p.signed.get("delegations"))
            .ok_or_else(unknown)?;
        if let Some(roles) = d.get("roles").and_then(Value::as_array) {
            if let Some(r) = roles
                .iter()
                .find(|r| r.get("name").and_then(Value::as_str) == Some(role))
            {
                return from(r).ok_or_else(unknown);
            }
        }
        if let Some(s) = d.get("succinct_roles") {
            return from(s).ok_or_else(unknown);
        }
        Err(unknown())
    }

    /// The delegation entry of a delegated role (`None` for the top-level targets role).
    fn delegated_role(&self, role: &str) -> Option<DelegatedRole> {
        let parent = self.parents.get(role)?;
        let roles = self
            .roles
            .get(parent)?
            .signed
            .get("delegations")?
            .get("roles")?
            .as_array()?;
        let r = roles
            .iter()
            .find(|r| r.get("name").and_then(Value::as_str) == Some(role))?;
        serde_json::from_value(r.clone()).ok()
    }

    /// Whether `role` may sign `path`: the top-level targets role may sign any path; a
    /// delegated role only what its delegation's patterns (or hash prefixes, or its hash bin)
    /// match.
    pub fn role_may_sign(&self, role: &str, path: &str) -> bool {
        role == "targets"
            || self
                .parent_delegations(role)
                .is_some_and(|d| d.roles_for_target(path).iter().any(|m| m.name == role))
    }

    /// The delegations of the role that delegates to `role`, read as the client reads them
    /// (named roles or succinct hash bins).
    fn parent_delegations(&self, role: &str) -> Option<Delegations> {
        let parent = self.parents.get(role)?;
        let d = self.roles.get(parent)?.signed.get("delegations")?;
        parse_delegations(parent, d).ok()
    }

    /// Delegated role names (in name order).
    pub fn delegated_roles(&self) -> Vec<String> {
        self.parents.keys().cloned().collect()
    }

    /// Every target of every role (roles in name order, paths in order within a role).
    pub fn all_targets(&self) -> impl Iterator<Item = ListedTarget<'_>> {
        self.roles.iter().flat_map(|(role, doc)| {
            doc.targets()
                .into_iter()
                .flat_map(|m| m.iter())
                .map(move |(path, entry)| ListedTarget { role, path, entry })
        })
    }

    /// The target `path`, with the role that lists it.
    pub fn target(&self, path: &str) -> Option<ListedTarget<'_>> {
        self.roles.iter().find_map(|(role, doc)| {
            let (path, entry) = doc.targets()?.get_key_value(path)?;
            Some(ListedTarget { role, path, entry })
        })
    }

    /// The aliases document of model `name`, if it has one.
    pub fn aliases(&self, name: &str) -> Option<&Aliases> {
        self.aliases.get(name)
    }

    pub(crate) fn set_aliases_doc(&mut self, doc: Aliases) {
        self.aliases.insert(doc.name.clone(), doc);
    }

    fn role_doc_mut(&mut self, role: &str) -> Result<&mut Doc, PublishError> {
        self.roles.get_mut(role).ok_or_else(|| PublishError::Role {
            role: role.to_string(),
            reason: "does not exist".into(),
            exists: false,
        })
    }

    /// Lists `content` as target `path` of `role` (replacing an entry that differs). Checks
    /// that the path is safe, that the role may sign it, and that no other role lists it.
    /// Returns whether anything changed.
    pub fn add_target(
        &mut self,
        role: &str,
        path: &str,
        content: &[u8],
        custom: Option<Value>,
    ) -> Result<bool, PublishError> {
        check_target_path(role, path)?;
        if !self.roles.contains_key(role) {
            return Err(PublishError::Role {
                role: role.to_string(),
                reason: "does not exist".into(),
                exists: false,
            });
        }
        if !self.role_may_sign(role, path) {
            let patterns = self
                .delegated_role(role)
                .and_then(|d| d.paths)
                .map(|p| p.join(", "))
                .unwrap_or_else(|| "no paths".into());
            return Err(PublishError::NotDelegated {
                role: role.to_string(),
                path: path.to_string(),
                patterns,
            });
        }
        if let Some(ListedTarget { role: other, .. }) = self.target(path) {
            if other != role {
                return Err(PublishError::Conflict(format!(
                    "{path} is already listed by role {other}"
                )));
            }
        }
        let mut entry = json!({
            "length": content.len(),
            "hashes": {"sha256": sha256_hex(content)},
        });
        if let (Some(c), Some(obj)) = (custom, entry.as_object_mut()) {
            obj.insert("custom".into(), c);
        }
        let doc = self.role_doc_mut(role)?;
        let targets = doc
            .signed
            .get_mut("targets")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| bad_repo(role, "\"targets\" is not an object"))?;
        if targets.get(path) == Some(&entry) {
            return Ok(false);
        }
        targets.insert(path.to_string(), entry);
        self.pending.insert(path.to_string(), content.to_vec());
        self.dirty.insert(role.to_string());
        Ok(true)
    }

    /// Removes target `path` from `role`; returns whether it was listed. (Its files stay: old
    /// snapshots may still name them.)
    pub fn remove_target(&mut self, role: &str, path: &str) -> Result<bool, PublishError> {
        let doc = self.role_doc_mut(role)?;
        let removed = doc
            .signed
            .get_mut("targets")
            .and_then(Value::as_object_mut)
            .and_then(|t| t.remove(path))
            .is_some();
        if removed {
            self.pending.remove(path);
            self.dirty.insert(role.to_string());
        }
        Ok(removed)
    }

    /// Re-signs `role` at the next commit (a new version), expiring at `at` instead of the
    /// role's usual period from now.
    pub fn resign(&mut self, role: &str, at: Option<UnixSeconds>) -> Result<(), PublishError> {
        if !TOP_LEVEL_ROLES.contains(&role) && !self.roles.contains_key(role) {
            return Err(PublishError::Role {
                role: role.to_string(),
                reason: "does not exist".into(),
                exists: false,
            });
        }
        self.dirty.insert(role.to_string());
        if let Some(t) = at {
            self.expires_at.insert(role.to_string(), t);
        }
        Ok(())
    }

    /// The expiry of a role as last committed (Unix seconds).
    pub fn expires_of(&self, role: &str) -> Option<UnixSeconds> {
        let doc = match role {
            "root" => &self.root,
            "timestamp" => &self.timestamp,
            "snapshot" => &self.snapshot,
            other => self.roles.get(other)?,
        };
        crate::tuf::time::parse_expires(doc.expires())
    }

    /// Adds delegated role `team` to the top-level targets role: trusted for
    /// [`catalogue::team_patterns`] (`models/TEAM-*/...`), terminating, with `keys` and
    /// `threshold`. The team's namespace must not already hold targets of another role.
    pub fn delegate(
        &mut self,
        team: &str,
        keys: &[Ed25519Signer],
        threshold: u64,
    ) -> Result<(), PublishError> {
        catalogue::check_team(team)?;
        check_threshold(team, keys.len(), threshold)?;
        if self.roles.contains_key(team) {
            return Err(PublishError::Role {
                role: team.to_string(),
                reason: "already exists".into(),
                exists: true,
            });
        }
        let patterns = catalogue::team_patterns(team);
        if let Some(ListedTarget { role, path, .. }) = self.all_targets().find(|t| {
            patterns
                .iter()
                .any(|pat| crate::tuf::path::path_matches(pat, t.path))
        }) {
            return Err(PublishError::Conflict(format!(
                "{path} (role {role}) is in team {team}'s namespace models/{team}-*"
            )));
        }
        let targets = self.role_doc_mut("targets")?;
        let obj = targets
            .signed
            .as_object_mut()
            .ok_or_else(|| bad_repo("targets", "not an object"))?;
        let d = obj
            .entry("delegations")
            .or_insert_with(|| json!({"keys": {}, "roles": []}));
        if d.get("succinct_roles").is_some_and(|s| !s.is_null()) {
            return Err(PublishError::Conflict(
                "the targets role uses succinct hash delegations; team roles cannot be added"
                    .into(),
            ));
        }
        let dobj = d
            .as_object_mut()
            .ok_or_else(|| bad_repo("targets", "\"delegations\" is not an object"))?;
        let key_map = dobj
            .entry("keys")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .ok_or_else(|| bad_repo("targets", "\"delegations.keys\" is not an object"))?;
        for k in keys {
            key_map.insert(k.keyid().to_string(), k.public_value());
        }
        let role_list = dobj
            .entry("roles")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .ok_or_else(|| bad_repo("targets", "\"delegations.roles\" is not a list"))?;
        let refs: Vec<&Ed25519Signer> = keys.iter().collect();
        role_list.push(json!({
            "name": team,
            "keyids": keyids_of(&refs),
            "threshold": threshold,
            "terminating": true,
            "paths": patterns,
        }));
        self.roles.insert(
            team.to_string(),
            Doc {
                signed: Self::empty_targets(),
                bytes: Vec::new(),
            },
        );
        self.parents.insert(team.to_string(), "targets".to_string());
        self.dirty.insert("targets".into());
        self.dirty.insert(team.to_string());
        Ok(())
    }

    /// Replaces the keys of `role` by `keys` with `threshold`. For a top-level role this is a
    /// new root version, signed at commit by a threshold of the old root keys and of the new
    /// ones (spec 5.3.4), and the role itself is re-signed with its new keys; for a delegated
    /// role, its delegator is re-signed. Keys no role uses any more are dropped from root.
    pub fn rotate_keys(
        &mut self,
        role: &str,
        keys: &[Ed25519Signer],
        threshold: u64,
    ) -> Result<(), PublishError> {
        check_threshold(role, keys.len(), threshold)?;
        let refs: Vec<&Ed25519Signer> = keys.iter().collect();
        let ids = keyids_of(&refs);
        if TOP_LEVEL_ROLES.contains(&role) {
            let root = self
                .root
                .signed
                .as_object_mut()
                .ok_or_else(|| bad_repo("root", "not an object"))?;
            let roles = root
                .get_mut("roles")
                .and_then(Value::as_object_mut)
                .ok_or_else(|| bad_repo("root", "\"roles\" is not an object"))?;
            roles.insert(
                role.to_string(),
                json!({"keyids": ids, "threshold": threshold}),
            );
            let used: BTreeSet<String> = roles
                .values()
                .filter_map(|r| r.get("keyids").and_then(Value::as_array))
                .flatten()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect();
            let key_map = root
                .entry("keys")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .ok_or_else(|| bad_repo("root", "\"keys\" is not an object"))?;
            for k in keys {
                key_map.insert(k.keyid().to_string(), k.public_value());
            }
            key_map.retain(|id, _| used.contains(id));
            self.dirty.insert("root".into());
            if role != "root" {
                self.dirty.insert(role.to_string());
            }
            return Ok(());
        }
        let parent = self
            .parents
            .get(role)
            .cloned()
            .ok_or_else(|| PublishError::Role {
                role: role.to_string(),
                reason: "does not exist".into(),
                exists: false,
            })?;
        let doc = self.role_doc_mut(&parent)?;
        let d = doc
            .signed
            .get_mut("delegations")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| bad_repo(&parent, "no delegations"))?;
        let entry = d
            .get_mut("roles")
            .and_then(Value::as_array_mut)
            .and_then(|rs| {
                rs.iter_mut()
                    .find(|r| r.get("name").and_then(Value::as_str) == Some(role))
            })
            .ok_or_else(|| bad_repo(&parent, format!("does not delegate to {role}")))?;
        if let Some(e) = entry.as_object_mut() {
            e.insert("keyids".into(), json!(ids));
            e.insert("threshold".into(), json!(threshold));
        }
        let used: BTreeSet<String> = d
            .get("roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("keyids").and_then(Value::as_array))
            .flatten()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect();
        if let Some(km) = d.get_mut("keys").and_then(Value::as_object_mut) {
            for k in keys {
                km.insert(k.keyid().to_string(), k.public_value());
            }
            km.retain(|id, _| used.contains(id));
        }
        self.dirty.insert(parent);
        self.dirty.insert(role.to_string());
        Ok(())
    }

    /// Whether there are edits to commit.
    pub fn has_changes(&self) -> bool {
        !self.dirty.is_empty() || !self.pending.is_empty()
    }

    /// The versioned metadata files among `names` (file names in `metadata/`) that no client
    /// needs any more: `N.snapshot.json` and `N.<role>.json` more than `keep` versions behind
    /// the role's current version (`keep` is at least 1, so the current files always stay).
    /// Root versions are never listed (clients walk the whole root chain), nor unknown files.
    /// With consistent snapshots every publish adds a copy of the metadata it re-signs, so a
    /// busy repository grows quadratically without pruning.
    pub fn prunable(&self, names: &[String], keep: u64) -> Vec<String> {
        let keep = keep.max(1);
        let mut current: BTreeMap<String, u64> = BTreeMap::new();
        current.insert(
            format!("{}.json", quote("snapshot")),
            self.snapshot.version(),
        );
        for (role, doc) in &self.roles {
            current.insert(format!("{}.json", quote(role)), doc.version());
        }
        let mut out = Vec::new();
        for name in names {
            let Some((v, rest)) = name.split_once('.') else {
                continue;
            };
            let Ok(v) = v.parse::<u64>() else { continue };
            if let Some(cur) = current.get(rest) {
                if v.saturating_add(keep) <= *cur {
                    out.push(name.clone());
                }
            }
        }
        out.sort();
        out
    }

    /// Parses a targets role as the client would (used by tests and `models`).
    pub fn typed_targets(&self, role: &str) -> Result<Targets, PublishError> {
        let doc = self.roles.get(role).ok_or_else(|| PublishError::Role {
            role: role.to_string(),
            reason: "does not exist".into(),
            exists: false,
        })?;
        let env: Envelope<Targets> = Envelope::parse(role, &doc.bytes)?;
        Ok(env.signed)
    }
}
/// Refuses a delegated role name that differs only in case from a top-level role name or from
/// another role of the repository: their metadata files (`Root.json`, `root.json`) are one
/// file on a case-insensitive file system (macOS, Windows), so publishing one would overwrite
/// the other.
fn check_role_case<'a>(role: &str, others: impl Iterator<Item = &'a str>) -> Result<(), String> {
    let folded = role.to_lowercase();
    let clash = TOP_LEVEL_ROLES
        .iter()
        .copied()
        .chain(others)
        .find(|o| *o != role && o.to_lowercase() == folded);
    match clash {
        Some(o) => Err(format!(
            "delegated role name {role:?} differs only in case from the role {o:?}: their \
             metadata files would be one file on a case-insensitive file system"
        )),
        None => Ok(()),
    }
}
