//! Loading a repository to edit: the client's verified reader ([`TrustedMetadataSet`]) and
//! its delegation walk ([`DelegationWalk`]), every check but expiry.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{
    bad_repo, check_role_case, hashed_name, sha256_hex, signed_of, tuf_repo, Before, Doc,
    ListedTarget, RepoFiles, Repository,
};
use crate::catalogue::{self, Aliases, CataloguePath};
use crate::publish::PublishError;
use crate::tuf::delegation::{DelegationWalk, RoleToVisit};
use crate::tuf::metadata::{Envelope, Root};
use crate::tuf::path::quote;
use crate::tuf::TrustedMetadataSet;

/// A file the repository must have.
fn need(files: &mut dyn RepoFiles, path: &str, missing: &str) -> Result<Vec<u8>, PublishError> {
    files.read(path)?.ok_or_else(|| bad_repo(path, missing))
}

/// The root a load trusts: the chain from `1.root.json` (or `root.json` alone) up to the
/// version of `root.json`, every check but expiry (reference time 0).
struct TrustedRoot {
    set: TrustedMetadataSet,
    bytes: Vec<u8>,
    consistent_snapshot: bool,
}

fn trusted_root(files: &mut dyn RepoFiles) -> Result<TrustedRoot, PublishError> {
    let root_name = "metadata/root.json";
    let bytes = need(
        files,
        root_name,
        "missing (is this a repository made by `init`?)",
    )?;
    let env: Envelope<Root> = Envelope::parse("root", &bytes).map_err(tuf_repo(root_name))?;
    let version = env.signed.common.version;
    let mut set = match files.read("metadata/1.root.json")? {
        Some(b) => TrustedMetadataSet::new(&b, 0).map_err(tuf_repo("metadata/1.root.json"))?,
        None => TrustedMetadataSet::new(&bytes, 0).map_err(tuf_repo(root_name))?,
    };
    while set.root().version() < version {
        let name = format!("metadata/{}.root.json", set.root().version() + 1);
        let b = need(files, &name, "missing: the root history has a gap")?;
        set.update_root(&b).map_err(tuf_repo(&name))?;
    }
    if set.root().bytes() != bytes.as_slice() {
        return Err(bad_repo(
            root_name,
            format!("differs from metadata/{version}.root.json"),
        ));
    }
    Ok(TrustedRoot {
        set,
        bytes,
        consistent_snapshot: env.signed.consistent_snapshot,
    })
}

/// The targets roles of a repository, each verified through the role that delegates to it.
struct TargetsRoles {
    roles: BTreeMap<String, Doc>,
    /// Delegated role to its delegator.
    parents: BTreeMap<String, String>,
}

/// The fewest roles a load may name: the walk names every bin of a succinct hash delegation
/// (2^bit_length of them) whether or not snapshot lists them yet, so up to bit_length 16 a
/// repository loads even when snapshot lists only some bins.
const MIN_ROLES_NAMED: u32 = 1 << 16;

/// Loads every targets role the snapshot lists and the delegations reach, with the client's
/// delegation walk ([`DelegationWalk::every_role`]: pre-order, each role once, through the
/// first delegator that reaches it); a role snapshot does not list is not part of the
/// repository and is skipped, as are the roles below it.
fn trusted_targets_roles(
    files: &mut dyn RepoFiles,
    set: &mut TrustedMetadataSet,
    consistent: bool,
    sn_name: &str,
) -> Result<TargetsRoles, PublishError> {
    let meta = set
        .snapshot()
        .map(|s| s.signed().meta.clone())
        .unwrap_or_default();
    if !meta.contains_key("targets.json") {
        return Err(bad_repo(sn_name, "does not list targets.json"));
    }
    let bound = u32::try_from(meta.len())
        .unwrap_or(u32::MAX)
        .max(MIN_ROLES_NAMED);
    let mut walk = DelegationWalk::every_role(bound);
    let mut out = TargetsRoles {
        roles: BTreeMap::new(),
        parents: BTreeMap::new(),
    };
    while let Some(RoleToVisit { role, delegator }) = walk.next_role().map_err(tuf_repo(sn_name))? {
        let Some(m) = meta.get(&format!("{role}.json")) else {
            continue;
        };
        let name = if consistent {
            format!("metadata/{}.{}.json", m.version, quote(&role))
        } else {
            format!("metadata/{}.json", quote(&role))
        };
        let top = role == "targets";
        if !top {
            check_role_case(&role, out.roles.keys().map(String::as_str))
                .map_err(|reason| bad_repo(&name, &reason))?;
        }
        let bytes = need(files, &name, "missing")?;
        let verified = if top {
            set.update_targets(&bytes)
        } else {
            set.update_delegated_targets(&bytes, &role, &delegator)
        }
        .map_err(tuf_repo(&name))?;
        walk.visit(&role, verified.signed())
            .map_err(tuf_repo(&name))?;
        let signed = signed_of(&name, &bytes)?;
        if !top {
            out.parents.insert(role.clone(), delegator);
        }
        out.roles.insert(role, Doc { signed, bytes });
    }
    Ok(out)
}

impl Repository {
    /// Loads a repository and checks it the way a client would, except for expiry (an expired
    /// timestamp must still be refreshable): the root chain from `1.root.json`, then timestamp,
    /// snapshot and every targets role reachable through delegations (signatures, thresholds,
    /// versions, lengths and hashes), and each model's aliases document against its target.
    /// Any failure is [`PublishError::BadRepository`] naming the file.
    pub fn load(files: &mut dyn RepoFiles) -> Result<Repository, PublishError> {
        let root = trusted_root(files)?;
        let mut set = root.set;
        let consistent = root.consistent_snapshot;
        let ts_name = "metadata/timestamp.json";
        let ts_bytes = need(files, ts_name, "missing")?;
        set.update_timestamp(&ts_bytes).map_err(tuf_repo(ts_name))?;
        let sn_version = set
            .timestamp()
            .map(|t| t.signed().snapshot_meta.version)
            .unwrap_or(0);
        let sn_name = if consistent {
            format!("metadata/{sn_version}.snapshot.json")
        } else {
            "metadata/snapshot.json".to_string()
        };
        let sn_bytes = need(files, &sn_name, "missing")?;
        set.update_snapshot(&sn_bytes, false)
            .map_err(tuf_repo(&sn_name))?;
        let targets = trusted_targets_roles(files, &mut set, consistent, &sn_name)?;

        let mut repo = Repository {
            consistent_snapshot: consistent,
            root: Doc {
                signed: signed_of("metadata/root.json", &root.bytes)?,
                bytes: root.bytes.clone(),
            },
            timestamp: Doc {
                signed: signed_of(ts_name, &ts_bytes)?,
                bytes: ts_bytes.clone(),
            },
            snapshot: Doc {
                signed: signed_of(&sn_name, &sn_bytes)?,
                bytes: sn_bytes.clone(),
            },
            roles: targets.roles,
            parents: targets.parents,
            aliases: BTreeMap::new(),
            dirty: BTreeSet::new(),
            expires_at: BTreeMap::new(),
            pending: BTreeMap::new(),
            before: Before::default(),
        };
        repo.before = Before {
            root: Some(root.bytes),
            root_signed: Some(repo.root.signed.clone()),
            timestamp: Some(ts_bytes),
            snapshot: Some(sn_bytes),
            targets: repo.roles.get("targets").map(|d| d.bytes.clone()),
        };
        repo.aliases = repo.read_aliases(files)?;
        Ok(repo)
    }

    /// Every model's aliases document (target content), checked against the length and
    /// sha256 its targets metadata lists.
    fn read_aliases(
        &self,
        files: &mut dyn RepoFiles,
    ) -> Result<BTreeMap<String, Aliases>, PublishError> {
        let mut aliases = BTreeMap::new();
        let alias_targets = self.all_targets().filter(|t| {
            matches!(
                catalogue::parse_path(t.path),
                Some(CataloguePath::Aliases { .. })
            )
        });
        for ListedTarget { path, entry, .. } in alias_targets {
            let sha = entry
                .get("hashes")
                .and_then(|h| h.get("sha256"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let file = if self.consistent_snapshot {
                format!("targets/{}", hashed_name(path, sha))
            } else {
                format!("targets/{path}")
            };
            let bytes = need(files, &file, "missing")?;
            let length = entry.get("length").and_then(Value::as_u64);
            if length != Some(bytes.len() as u64) || sha256_hex(&bytes) != sha {
                return Err(bad_repo(
                    &file,
                    "does not match the length and sha256 its targets metadata lists",
                ));
            }
            let doc = Aliases::from_bytes(path, &bytes)?;
            aliases.insert(doc.name.clone(), doc);
        }
        Ok(aliases)
    }
}
