//! The I/O-free heart of the client: a set of trusted metadata that only grows by verified
//! steps. Bytes go in; verified, typed metadata comes out. Modelled on python-tuf's
//! `ngclient._internal.trusted_metadata_set.TrustedMetadataSet`; each rule cites the TUF
//! specification 1.0.x client workflow section (5.3 root, 5.4 timestamp, 5.5 snapshot, 5.6
//! targets).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest as _, Sha256, Sha512};

use super::metadata::{Envelope, MetaFile, RoleType, Root, Snapshot, Targets, Timestamp};
use super::time::format_expires;
use super::TufError;
use crate::clock::UnixSeconds;

/// When trusted metadata stops being valid: the role that expires first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// The role.
    pub role: String,
    /// Its expiry, Unix seconds (`i64::MAX` when unknown).
    pub at: i64,
    /// Its expiry as written in the metadata.
    pub text: String,
}

impl Default for Expiry {
    fn default() -> Self {
        Expiry {
            role: String::new(),
            at: i64::MAX,
            text: String::new(),
        }
    }
}

/// Metadata that passed verification. Only this module can make one, so holding a
/// `Verified<T>` proves the checks ran. It keeps the bytes exactly as received, which is what
/// gets persisted.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    envelope: Envelope<T>,
    bytes: Vec<u8>,
}

impl<T: RoleType> Verified<T> {
    /// The typed, verified `signed` part.
    pub fn signed(&self) -> &T {
        &self.envelope.signed
    }

    /// The canonical JSON of the `signed` part: the bytes the signatures cover.
    pub fn canonical(&self) -> &[u8] {
        &self.envelope.canonical
    }

    /// The bytes as received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The metadata version.
    pub fn version(&self) -> u64 {
        self.envelope.signed.common().version
    }

    /// The expiry, in Unix seconds.
    pub fn expires_at(&self) -> UnixSeconds {
        self.envelope.signed.common().expires_at
    }

    /// The expiry as written.
    pub fn expires(&self) -> &str {
        &self.envelope.signed.common().expires
    }
}

/// What happened to a timestamp given to [`TrustedMetadataSet::update_timestamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampUpdate {
    /// The new timestamp was accepted.
    Updated,
    /// It has the same version as the trusted one, which stays (python-tuf
    /// `EqualVersionNumberError`; spec 5.4.3.1 only refuses a lower version).
    Unchanged,
}

/// The trusted metadata of one refresh. The reference time is fixed when the set is made
/// (spec 5.1: "the time at the beginning of the update workflow") and every expiry is checked
/// against it.
#[derive(Debug, Clone)]
pub struct TrustedMetadataSet {
    reference_time: UnixSeconds,
    root: Verified<Root>,
    timestamp: Option<Verified<Timestamp>>,
    snapshot: Option<Verified<Snapshot>>,
    targets: BTreeMap<String, Verified<Targets>>,
    /// For each trusted targets role, the delegators whose keys and threshold it was verified
    /// against: a role reached through another delegator is verified again (a cached role must
    /// not inherit authority from another search path).
    verified_by: BTreeMap<String, BTreeSet<String>>,
}

fn verify_hashes_and_length(
    role: &str,
    file: &str,
    meta: &MetaFile,
    bytes: &[u8],
) -> Result<(), TufError> {
    if let Some(expected) = meta.length {
        let got = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if got != expected {
            return Err(TufError::LengthMismatch {
                role: role.to_string(),
                file: file.to_string(),
                expected,
                got,
            });
        }
    }
    if let Some(hashes) = &meta.hashes {
        check_hashes(role, file, hashes, bytes, false)?;
    }
    Ok(())
}

/// Checks every listed hash this client supports (sha256, sha512). With `require_supported`,
/// refuses a list with none supported; otherwise such a list is skipped (metadata hashes are
/// optional in the specification, so an unknown algorithm there proves nothing either way).
pub(crate) fn check_hashes(
    role: &str,
    file: &str,
    hashes: &BTreeMap<String, String>,
    bytes: &[u8],
    require_supported: bool,
) -> Result<(), TufError> {
    let mut checked = 0;
    for (alg, expected) in hashes {
        let actual = match alg.as_str() {
            "sha256" => hex::encode(Sha256::digest(bytes)),
            "sha512" => hex::encode(Sha512::digest(bytes)),
            _ => continue,
        };
        checked += 1;
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(TufError::HashMismatch {
                role: role.to_string(),
                file: file.to_string(),
                algorithm: alg.clone(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    if checked == 0 && require_supported {
        return Err(TufError::UnsupportedHash {
            role: role.to_string(),
            path: file.to_string(),
            listed: hashes.keys().cloned().collect::<Vec<_>>().join(", "),
        });
    }
    Ok(())
}

impl TrustedMetadataSet {
    /// Starts from a trusted root (pinned by the caller or persisted by an earlier refresh).
    /// It must be signed by its own root threshold (spec 5.2). Its expiry is not checked here:
    /// an expired trusted root may still be rotated away from (spec 5.3.10 checks the final
    /// root only).
    pub fn new(root_bytes: &[u8], reference_time: UnixSeconds) -> Result<Self, TufError> {
        let root: Envelope<Root> = Envelope::parse("root", root_bytes)?;
        root.verify_by("root", &root.signed.keys, root.signed.role("root")?)?;
        Ok(TrustedMetadataSet {
            reference_time,
            root: Verified {
                envelope: root,
                bytes: root_bytes.to_vec(),
            },
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
            verified_by: BTreeMap::new(),
        })
    }

    /// The reference time of this refresh.
    pub fn reference_time(&self) -> UnixSeconds {
        self.reference_time
    }

    /// The trusted root.
    pub fn root(&self) -> &Verified<Root> {
        &self.root
    }

    /// The trusted timestamp, if loaded.
    pub fn timestamp(&self) -> Option<&Verified<Timestamp>> {
        self.timestamp.as_ref()
    }

    /// The trusted snapshot, if loaded.
    pub fn snapshot(&self) -> Option<&Verified<Snapshot>> {
        self.snapshot.as_ref()
    }

    /// Trusted top-level (`targets`) or delegated targets metadata.
    pub fn targets(&self, role: &str) -> Option<&Verified<Targets>> {
        self.targets.get(role)
    }

    /// Every trusted targets role (top-level and delegated) loaded so far, by name.
    pub fn loaded_targets(&self) -> impl Iterator<Item = (&str, &Verified<Targets>)> {
        self.targets.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The role that expires first among everything trusted, with its expiry (Unix seconds and
    /// as written): the moment this set stops being usable (spec 5.4.4, 5.5.6, 5.6.4 applied to
    /// later use of the same metadata).
    pub fn earliest_expiry(&self) -> Expiry {
        let mut best = Expiry {
            role: "root".to_string(),
            at: self.root.expires_at(),
            text: self.root.expires().to_string(),
        };
        let mut consider = |role: &str, at: UnixSeconds, text: &str| {
            if at < best.at {
                best = Expiry {
                    role: role.to_string(),
                    at,
                    text: text.to_string(),
                };
            }
        };
        if let Some(t) = &self.timestamp {
            consider("timestamp", t.expires_at(), t.expires());
        }
        if let Some(s) = &self.snapshot {
            consider("snapshot", s.expires_at(), s.expires());
        }
        for (role, t) in &self.targets {
            consider(role, t.expires_at(), t.expires());
        }
        best
    }

    fn expired(&self, role: &str, expires_at: UnixSeconds, expires: &str) -> Result<(), TufError> {
        if expires_at <= self.reference_time {
            return Err(TufError::Expired {
                role: role.to_string(),
                expires: expires.to_string(),
                reference_time: format_expires(self.reference_time),
            });
        }
        Ok(())
    }

    /// Rotates to root version N+1 (spec 5.3.4-5.3.5): it must be signed by a threshold of the
    /// trusted root's root keys and by a threshold of its own, and its version must be exactly
    /// N+1. Expiry is not checked here; [`Self::check_final_root`] checks the last one.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<&Verified<Root>, TufError> {
        if self.timestamp.is_some() {
            return Err(TufError::InvalidState {
                role: "root".into(),
                reason: "cannot update root after timestamp".into(),
            });
        }
        let new: Envelope<Root> = Envelope::parse("root", bytes)?;
        let old = &self.root.envelope.signed;
        new.verify_by("root", &old.keys, old.role("root")?)?;
        let expected = old.common.version.saturating_add(1);
        if new.signed.common.version != expected {
            return Err(TufError::BadVersion {
                role: "root".into(),
                expected,
                got: new.signed.common.version,
            });
        }
        new.verify_by("root", &new.signed.keys, new.signed.role("root")?)?;
        self.root = Verified {
            envelope: new,
            bytes: bytes.to_vec(),
        };
        Ok(&self.root)
    }

    /// The final root must not be expired (spec 5.3.10: indefinite freeze).
    pub fn check_final_root(&self) -> Result<(), TufError> {
        self.expired("root", self.root.expires_at(), self.root.expires())
    }

    /// Accepts a timestamp (spec 5.4): signed by the root's timestamp threshold; with a trusted
    /// timestamp already present, its version must not go back and neither may the snapshot
    /// version it lists (rollback, 5.4.3); an equal version keeps the trusted one. The new one
    /// becomes the rollback reference *before* its expiry is checked, like python-tuf, so a
    /// stored but expired timestamp still guards against rollback; the expiry error (5.4.4) is
    /// returned all the same and nothing is persisted by the updater on error.
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<TimestampUpdate, TufError> {
        if self.snapshot.is_some() {
            return Err(TufError::InvalidState {
                role: "timestamp".into(),
                reason: "cannot update timestamp after snapshot".into(),
            });
        }
        self.check_final_root()?;
        let new: Envelope<Timestamp> = Envelope::parse("timestamp", bytes)?;
        let root = &self.root.envelope.signed;
        new.verify_by("timestamp", &root.keys, root.role("timestamp")?)?;
        if let Some(old) = &self.timestamp {
            let (ov, nv) = (old.version(), new.signed.common.version);
            if nv < ov {
                return Err(TufError::Rollback {
                    role: "timestamp".into(),
                    detail: format!("version {nv} is lower than the trusted version {ov}"),
                });
            }
            if nv == ov {
                return Ok(TimestampUpdate::Unchanged);
            }
            let (os, ns) = (
                old.signed().snapshot_meta.version,
                new.signed.snapshot_meta.version,
            );
            if ns < os {
                return Err(TufError::Rollback {
                    role: "timestamp".into(),
                    detail: format!(
                        "snapshot version {ns} is lower than the trusted snapshot version {os}"
                    ),
                });
            }
        }
        self.timestamp = Some(Verified {
            envelope: new,
            bytes: bytes.to_vec(),
        });
        self.check_final_timestamp()?;
        Ok(TimestampUpdate::Updated)
    }

    fn final_timestamp(&self) -> Result<&Verified<Timestamp>, TufError> {
        self.timestamp
            .as_ref()
            .ok_or_else(|| TufError::InvalidState {
                role: "timestamp".into(),
                reason: "no trusted timestamp".into(),
            })
    }

    /// The trusted timestamp must not be expired (spec 5.4.4).
    pub fn check_final_timestamp(&self) -> Result<(), TufError> {
        let ts = self.final_timestamp()?;
        self.expired("timestamp", ts.expires_at(), ts.expires())
    }

    /// Accepts a snapshot (spec 5.5): length and hashes as the timestamp lists them (skipped for
    /// a `trusted` copy from local storage, which was checked when stored), signed by the root's
    /// snapshot threshold; against a trusted snapshot, no targets file may disappear (5.5.5)
    /// or go back in version (rollback); then it must not be expired (5.5.6) and its version
    /// must be the one the timestamp lists (5.5.4). As with the timestamp, it becomes the
    /// rollback reference before those last two checks.
    pub fn update_snapshot(&mut self, bytes: &[u8], trusted: bool) -> Result<(), TufError> {
        if !self.targets.is_empty() {
            return Err(TufError::InvalidState {
                role: "snapshot".into(),
                reason: "cannot update snapshot after targets".into(),
            });
        }
        self.check_final_timestamp()?;
        let snapshot_meta = self.final_timestamp()?.signed().snapshot_meta.clone();
        if !trusted {
            verify_hashes_and_length("timestamp", "snapshot.json", &snapshot_meta, bytes)?;
        }
        let new: Envelope<Snapshot> = Envelope::parse("snapshot", bytes)?;
        let root = &self.root.envelope.signed;
        new.verify_by("snapshot", &root.keys, root.role("snapshot")?)?;
        if let Some(old) = &self.snapshot {
            for (file, old_meta) in &old.signed().meta {
                let Some(new_meta) = new.signed.meta.get(file) else {
                    return Err(TufError::MissingMeta {
                        role: "snapshot".into(),
                        file: file.clone(),
                        detail: "the trusted snapshot lists it; a new snapshot may not drop it"
                            .into(),
                    });
                };
                if new_meta.version < old_meta.version {
                    return Err(TufError::Rollback {
                        role: "snapshot".into(),
                        detail: format!(
                            "{file} version {} is lower than the trusted version {}",
                            new_meta.version, old_meta.version
                        ),
                    });
                }
            }
        }
        self.snapshot = Some(Verified {
            envelope: new,
            bytes: bytes.to_vec(),
        });
        self.check_final_snapshot()
    }

    fn final_snapshot(&self) -> Result<&Verified<Snapshot>, TufError> {
        self.snapshot
            .as_ref()
            .ok_or_else(|| TufError::InvalidState {
                role: "snapshot".into(),
                reason: "no trusted snapshot".into(),
            })
    }

    /// The trusted snapshot must not be expired (5.5.6) and must have the version the
    /// timestamp lists (5.5.4).
    pub fn check_final_snapshot(&self) -> Result<(), TufError> {
        let snap = self.final_snapshot()?;
        self.expired("snapshot", snap.expires_at(), snap.expires())?;
        let expected = self.final_timestamp()?.signed().snapshot_meta.version;
        if snap.version() != expected {
            return Err(TufError::BadVersion {
                role: "snapshot".into(),
                expected,
                got: snap.version(),
            });
        }
        Ok(())
    }

    fn verify_delegation(
        &self,
        envelope: &Envelope<Targets>,
        role: &str,
        delegator: &str,
    ) -> Result<u64, TufError> {
        if delegator == "root" {
            let root = &self.root.envelope.signed;
            return envelope.verify_by(role, &root.keys, root.role(role)?);
        }
        let parent = self
            .targets
            .get(delegator)
            .ok_or_else(|| TufError::InvalidState {
                role: role.to_string(),
                reason: format!("delegator \"{delegator}\" is not trusted yet"),
            })?;
        let delegations =
            parent
                .signed()
                .delegations
                .as_ref()
                .ok_or_else(|| TufError::InvalidState {
                    role: role.to_string(),
                    reason: format!("\"{delegator}\" delegates nothing"),
                })?;
        let keys = delegations
            .role_keys(role)
            .ok_or_else(|| TufError::InvalidState {
                role: role.to_string(),
                reason: format!("\"{delegator}\" does not delegate to it"),
            })?;
        envelope.verify_by(role, &delegations.keys, &keys)
    }

    /// A trusted targets role reached through `delegator`: when it was verified through another
    /// delegator only, its signatures are checked against this delegator's keys and threshold
    /// too ("diamond" delegations: a cached role must not inherit authority from another search
    /// path). Returns whether the role is trusted at all (`false`: load it first).
    pub fn check_cached_delegation(
        &mut self,
        role: &str,
        delegator: &str,
    ) -> Result<bool, TufError> {
        let Some(cached) = self.targets.get(role) else {
            return Ok(false);
        };
        if self
            .verified_by
            .get(role)
            .is_some_and(|d| d.contains(delegator))
        {
            return Ok(true);
        }
        let envelope = cached.envelope.clone();
        self.verify_delegation(&envelope, role, delegator)?;
        self.verified_by
            .entry(role.to_string())
            .or_default()
            .insert(delegator.to_string());
        Ok(true)
    }

    /// Accepts top-level targets metadata (spec 5.6).
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<&Verified<Targets>, TufError> {
        self.update_delegated_targets(bytes, "targets", "root")
    }

    /// Accepts targets metadata for `role`, delegated by `delegator` (`root` for the top-level
    /// targets role; spec 5.6, applied alike to delegated roles, 5.6.7.2.1): the snapshot must
    /// list `<role>.json` (MISSING_META), the bytes must match the length and hashes listed
    /// there, the signatures must meet the delegator's threshold for this role, the version must
    /// be the one the snapshot lists, and it must not be expired.
    pub fn update_delegated_targets(
        &mut self,
        bytes: &[u8],
        role: &str,
        delegator: &str,
    ) -> Result<&Verified<Targets>, TufError> {
        self.check_final_snapshot()?;
        let file = format!("{role}.json");
        let meta = self
            .final_snapshot()?
            .signed()
            .meta
            .get(&file)
            .cloned()
            .ok_or_else(|| TufError::MissingMeta {
                role: "snapshot".into(),
                file: file.clone(),
                detail: format!("role \"{role}\" is delegated but the snapshot does not list it"),
            })?;
        verify_hashes_and_length("snapshot", &file, &meta, bytes)?;
        let new: Envelope<Targets> = Envelope::parse(role, bytes)?;
        self.verify_delegation(&new, role, delegator)?;
        if new.signed.common.version != meta.version {
            return Err(TufError::BadVersion {
                role: role.to_string(),
                expected: meta.version,
                got: new.signed.common.version,
            });
        }
        self.expired(
            role,
            new.signed.common.expires_at,
            &new.signed.common.expires,
        )?;
        self.verified_by
            .entry(role.to_string())
            .or_default()
            .insert(delegator.to_string());
        self.targets.insert(
            role.to_string(),
            Verified {
                envelope: new,
                bytes: bytes.to_vec(),
            },
        );
        self.targets
            .get(role)
            .ok_or_else(|| TufError::InvalidState {
                role: role.to_string(),
                reason: "just inserted".into(),
            })
    }
}
