//! The client workflow of the TUF specification (section 5) over the host traits: fetch with
//! [`Fetch`], persist with [`Store`], read the time once per refresh from [`Clock`]. All
//! verification is done by [`TrustedMetadataSet`]; this module only decides what to fetch and
//! what to persist. Modelled on python-tuf's `ngclient.Updater`.
//!
//! Every search and listing of targets roles follows [`DelegationWalk`] (spec 5.6.7, written
//! once in [`super::delegation`]); this module loads, verifies and persists each role the walk
//! names. It is the I/O layer of the client: it imports the host traits (`crate::fetch`,
//! `crate::store`, `crate::clock`) and the rest of [`super`], never `wasm_bindgen`, `js_sys`,
//! `web_sys`, `std::fs` or CLI code.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest as _, Sha256, Sha512};

use super::delegation::{DelegationWalk, RoleToVisit};
use super::metadata::{RoleKeys, TargetFile, Targets};
use super::path::{check_target_path, key_segment, quote};
use super::trusted::{check_hashes, Expiry, TimestampUpdate, TrustedMetadataSet};
use super::TufError;
use crate::clock::{Clock, UnixSeconds};
use crate::fetch::{Fetch, FetchError, Sink};
use crate::store::{Op, Store};

/// Settings of an [`Updater`]. The defaults are python-tuf's `UpdaterConfig` defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdaterConfig {
    /// Base URL (or path) of the metadata directory; file names are appended after a `/`.
    pub metadata_base_url: String,
    /// Base URL (or path) of the targets directory.
    pub targets_base_url: String,
    /// Prefix of the store keys holding trusted metadata (`<prefix>root.json`, ...).
    pub store_prefix: String,
    /// Largest root metadata accepted, in bytes (python-tuf: 512 000).
    pub root_max_length: u64,
    /// Largest timestamp metadata accepted (python-tuf: 16 384).
    pub timestamp_max_length: u64,
    /// Largest snapshot metadata accepted (python-tuf: 2 000 000). python-tuf uses it only
    /// when the timestamp lists no length; here it also caps a listed length, so a signed
    /// length cannot make the client buffer more (`LIMIT_EXCEEDED` before fetching).
    pub snapshot_max_length: u64,
    /// Largest targets (or delegated targets) metadata accepted (python-tuf: 5 000 000), a cap
    /// on the length the snapshot lists too. Raise it for catalogues whose targets metadata
    /// is larger.
    pub targets_max_length: u64,
    /// Largest target file [`Updater::download_target`] fetches, whatever length the targets
    /// metadata signs (default 4 GiB, the most a WebAssembly memory holds).
    pub max_target_length: u64,
    /// Most root versions fetched in one refresh (python-tuf: 32).
    pub max_root_rotations: u32,
    /// Most targets roles visited in one target search (python-tuf: 32).
    pub max_delegations: u32,
    /// With consistent snapshots, fetch targets as `<dir>/<hash>.<name>` (python-tuf: true).
    pub prefix_targets_with_hash: bool,
    /// When to persist verified top-level metadata during a refresh.
    ///
    /// `false` (the default): all of it in one [`Store::commit`] once the whole refresh has
    /// succeeded, so a failed refresh leaves the stored state byte-for-byte unchanged.
    ///
    /// `true`: each file as soon as it verifies (every intermediate root, then timestamp,
    /// snapshot, targets), in the order the specification's workflow gives (5.3.8 "persist
    /// root metadata", 5.4.5, 5.5.7, 5.6.6) and as python-tuf and the TUF conformance suite
    /// expect. A failed refresh then keeps the roles that verified before the failure, which
    /// also makes a root rotation stick when a later step is attacked. In both modes nothing
    /// that failed a check is ever persisted.
    pub persist_each_step: bool,
}

impl UpdaterConfig {
    /// A configuration with python-tuf's defaults for the given metadata and targets locations.
    pub fn new(metadata_base_url: impl Into<String>, targets_base_url: impl Into<String>) -> Self {
        UpdaterConfig {
            metadata_base_url: metadata_base_url.into(),
            targets_base_url: targets_base_url.into(),
            store_prefix: String::new(),
            root_max_length: 512_000,
            timestamp_max_length: 16_384,
            snapshot_max_length: 2_000_000,
            targets_max_length: 5_000_000,
            max_target_length: 4 << 30,
            max_root_rotations: 32,
            max_delegations: 32,
            prefix_targets_with_hash: true,
            persist_each_step: false,
        }
    }

    /// Sets the store key prefix.
    pub fn with_store_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.store_prefix = prefix.into();
        self
    }
}

/// Version and expiry of one role after a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStatus {
    /// Metadata version.
    pub version: u64,
    /// Expiry as written (`YYYY-MM-DDTHH:MM:SSZ`).
    pub expires: String,
}

/// What a successful refresh established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshReport {
    /// The reference time every expiry was checked against.
    pub reference_time: UnixSeconds,
    /// How many root versions were rotated through.
    pub root_rotations: u32,
    /// The trusted root.
    pub root: RoleStatus,
    /// The trusted timestamp.
    pub timestamp: RoleStatus,
    /// The trusted snapshot.
    pub snapshot: RoleStatus,
    /// The trusted top-level targets.
    pub targets: RoleStatus,
    /// Whether the timestamp or snapshot keys changed, so stored copies were not used as the
    /// rollback reference (fast-forward recovery, spec 5.3.11).
    pub timestamp_snapshot_keys_rotated: bool,
}

/// A target as signed by a trusted role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    /// The target path.
    pub path: String,
    /// Its signed length.
    pub length: u64,
    /// Its signed hashes (algorithm to hex).
    pub hashes: BTreeMap<String, String>,
    /// Its `custom` field as signed (the model card).
    pub custom: Option<Value>,
    /// The role that signed it.
    pub role: String,
}

impl TargetInfo {
    fn of(role: &str, path: &str, entry: &TargetFile) -> Self {
        TargetInfo {
            path: path.to_string(),
            length: entry.length,
            hashes: entry.hashes.clone(),
            custom: entry.custom.clone(),
            role: role.to_string(),
        }
    }
}

/// A target a role lists but a lookup would not resolve to that role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredTarget {
    /// The role that lists it.
    pub role: String,
    /// The target path.
    pub path: String,
    /// Why a lookup does not return it (outside the role's delegated paths, an unsafe path).
    pub reason: String,
}

/// Every target of a repository, as [`Updater::list_targets`] resolves them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetListing {
    /// The targets a lookup resolves, by path.
    pub targets: Vec<TargetInfo>,
    /// The targets roles loaded, in pre-order from `targets`.
    pub roles: Vec<String>,
    /// Paths some role lists that no lookup returns.
    pub ignored: Vec<IgnoredTarget>,
}

/// A TUF client over a fetcher, a store and a clock. See the module documentation.
pub struct Updater<F: Fetch, S: Store, C: Clock> {
    config: UpdaterConfig,
    fetch: F,
    store: S,
    clock: C,
    pinned_root: Option<Vec<u8>>,
    trusted: Option<TrustedMetadataSet>,
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() || base.ends_with('/') {
        format!("{base}{name}")
    } else {
        format!("{base}/{name}")
    }
}

fn fetch_err(role: &str) -> impl FnOnce(FetchError) -> TufError + '_ {
    move |source| TufError::Fetch {
        role: role.to_string(),
        source,
    }
}

fn status(v: u64, expires: &str) -> RoleStatus {
    RoleStatus {
        version: v,
        expires: expires.to_string(),
    }
}

/// The byte limit of a download whose length the parent may list: the listed length, which
/// may not exceed `max`, else `max`.
fn signed_limit(role: &str, file: &str, listed: Option<u64>, max: u64) -> Result<u64, TufError> {
    match listed {
        Some(length) if length > max => Err(TufError::LimitExceeded {
            role: role.to_string(),
            file: file.to_string(),
            length,
            limit: max,
        }),
        Some(length) => Ok(length),
        None => Ok(max),
    }
}

/// A stored copy of a role's metadata, unless it is larger than the role may be (a tampered
/// cache is not parsed; the role is fetched again).
async fn stored_copy<S: Store>(
    store: &S,
    key: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, TufError> {
    Ok(store
        .get(key)
        .await?
        .filter(|b| u64::try_from(b.len()).is_ok_and(|n| n <= max)))
}

/// The store key of a role's metadata: `<prefix><encoded role>.json`, where the role name is
/// percent-encoded as python-tuf does ([`quote`]) and, in addition, every upper-case ASCII
/// letter is encoded too ([`key_segment`]), so two role names that differ only in case
/// (`Root`, `root`) never name the same file on a case-insensitive file system.
pub fn metadata_key(prefix: &str, role: &str) -> String {
    format!("{prefix}{}.json", key_segment(role))
}

/// The store key of trusted root version `version` in the root history:
/// `<prefix>root/<version>.json`. Every root a refresh verified is kept there, so a later
/// start (online or offline) walks the chain from the pinned root version by version.
pub fn root_history_key(prefix: &str, version: u64) -> String {
    format!("{prefix}root/{version}.json")
}

impl<F: Fetch, S: Store, C: Clock> Updater<F, S, C> {
    /// An updater that trusts the root already in `store` (`root.json`), walking the stored
    /// root history from it: **trust on first use**. Whoever can write the store decides what
    /// is trusted, so this is only for stores that are themselves trusted (the TUF
    /// conformance client's metadata directory, which `init` fills from a file the user
    /// names). Clients should pin a root with [`Self::with_trusted_root`].
    pub fn new(config: UpdaterConfig, fetch: F, store: S, clock: C) -> Self {
        Updater {
            config,
            fetch,
            store,
            clock,
            pinned_root: None,
            trusted: None,
        }
    }

    /// Pins a trusted root (bytes the caller ships or obtained out of band): every refresh and
    /// every offline load starts from it, then follows the stored root history
    /// (`root/N.json`) only as far as each version is signed by its predecessor's root
    /// threshold and its own, exactly as a rotation fetched from the network would be. A root
    /// written into the store by anyone else (another registry, another script of the origin)
    /// is therefore never trusted unless the pinned root's keys signed its way there.
    pub fn with_trusted_root(mut self, root: impl Into<Vec<u8>>) -> Self {
        self.pinned_root = Some(root.into());
        self
    }

    /// The configuration.
    pub fn config(&self) -> &UpdaterConfig {
        &self.config
    }

    /// The fetcher.
    pub fn fetcher(&self) -> &F {
        &self.fetch
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The trusted metadata of the last successful refresh.
    pub fn trusted(&self) -> Option<&TrustedMetadataSet> {
        self.trusted.as_ref()
    }

    fn key(&self, role: &str) -> String {
        metadata_key(&self.config.store_prefix, role)
    }

    /// Persists a verified role now (each-step mode) or queues it for the final commit.
    async fn save(
        &self,
        pending: &mut Vec<(String, Vec<u8>)>,
        role: &str,
        bytes: Vec<u8>,
    ) -> Result<(), TufError> {
        if self.config.persist_each_step {
            self.store.put(&self.key(role), &bytes).await?;
        } else {
            pending.push((self.key(role), bytes));
        }
        Ok(())
    }

    /// The trusted root to start from (spec 5.2): the pinned root when there is one, else (no
    /// pinned root: the store is the trust anchor) the stored `root.json`; then every stored
    /// `root/N.json` that chains from it version by version, each checked exactly as a fetched
    /// root is ([`TrustedMetadataSet::update_root`]: signed by a threshold of version N-1's
    /// root keys and of its own, version N-1 + 1). The walk stops at the first version missing
    /// or refused; a refused stored root is never used (python-tuf's ngclient walks its cached
    /// root history the same way). With a pinned root, `root.json` in the store is never read:
    /// nothing another writer of the store puts there can replace the trust anchor.
    async fn initial_set(&self, now: UnixSeconds) -> Result<TrustedMetadataSet, TufError> {
        let mut set = match &self.pinned_root {
            Some(p) => TrustedMetadataSet::new(p, now)?,
            None => {
                let stored =
                    stored_copy(&self.store, &self.key("root"), self.config.root_max_length)
                        .await?
                        .ok_or_else(|| TufError::InvalidState {
                            role: "root".into(),
                            reason: "no trusted root: pin one or put root.json in the store".into(),
                        })?;
                TrustedMetadataSet::new(&stored, now)?
            }
        };
        for _ in 0..self.config.max_root_rotations {
            let next = set.root().version().saturating_add(1);
            let key = root_history_key(&self.config.store_prefix, next);
            let Some(bytes) = stored_copy(&self.store, &key, self.config.root_max_length).await?
            else {
                break;
            };
            if set.update_root(&bytes).is_err() {
                break;
            }
        }
        Ok(set)
    }

    /// Runs the client workflow (spec 5.1-5.6 for the top-level roles): reads the clock once,
    /// rotates the root through `N+1.root.json` (at most `max_root_rotations`), then loads
    /// timestamp, snapshot and targets, each verified against the trusted state. Verified
    /// metadata is persisted byte for byte as received: by default in one [`Store::commit`]
    /// once every step succeeded, so a failed refresh leaves the store unchanged (see
    /// [`UpdaterConfig::persist_each_step`] for the specification's step-by-step order). A
    /// failed refresh forgets the in-memory trusted state (call `refresh` again before looking
    /// targets up).
    pub async fn refresh(&mut self) -> Result<RefreshReport, TufError> {
        self.trusted = None;
        let now = self.clock.now();
        let mut set = self.initial_set(now).await?;
        let stored_root = self.store.get(&self.key("root")).await?;
        let mut writes: Vec<(String, Vec<u8>)> = Vec::new();
        let initial_ts: RoleKeys = set.root().signed().role("timestamp")?.clone();
        let initial_sn: RoleKeys = set.root().signed().role("snapshot")?.clone();

        let each_step = self.config.persist_each_step;
        let rotations = self.rotate_root(&mut set, &mut writes).await?;
        // `root.json` (the latest trusted root, python-tuf's layout) is what a client without
        // a pinned root starts from; a pinned client only writes it.
        if stored_root.as_deref() != Some(set.root().bytes()) && !(each_step && rotations > 0) {
            self.save(&mut writes, "root", set.root().bytes().to_vec())
                .await?;
        }
        // 5.3.10: the final root must not be expired.
        set.check_final_root()?;
        let root = set.root().signed();
        let rotated =
            root.role("timestamp")? != &initial_ts || root.role("snapshot")? != &initial_sn;
        self.refresh_timestamp(&mut set, rotated, &mut writes)
            .await?;
        self.refresh_snapshot(&mut set, rotated, &mut writes)
            .await?;

        // 5.6: top-level targets.
        if let Some(bytes) = load_targets(
            &self.config,
            Some(&self.fetch),
            &self.store,
            &mut set,
            "targets",
            "root",
        )
        .await?
        {
            self.save(&mut writes, "targets", bytes).await?;
        }

        let ops: Vec<Op<'_>> = writes
            .iter()
            .map(|(k, v)| Op::Put(k.as_str(), v.as_slice()))
            .collect();
        if !ops.is_empty() {
            self.store.commit(&ops).await?;
        }

        let report = report(&set, rotations, rotated)?;
        self.trusted = Some(set);
        Ok(report)
    }

    /// 5.3: root rotation, one version at a time, up to `max_root_rotations`; returns how
    /// many versions were rotated through.
    async fn rotate_root(
        &self,
        set: &mut TrustedMetadataSet,
        writes: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<u32, TufError> {
        let mut rotations = 0u32;
        for _ in 0..self.config.max_root_rotations {
            let next = set.root().version().saturating_add(1);
            let url = join(&self.config.metadata_base_url, &format!("{next}.root.json"));
            match self
                .fetch
                .fetch_bytes(&url, self.config.root_max_length)
                .await
            {
                Ok(bytes) => {
                    set.update_root(&bytes)?;
                    rotations += 1;
                    // 5.3.8: persist each verified root (expiry is checked on the final one),
                    // in the root history that the next start walks from the pinned root.
                    let history = root_history_key(&self.config.store_prefix, next);
                    if self.config.persist_each_step {
                        self.store.put(&history, &bytes).await?;
                        self.store.put(&self.key("root"), &bytes).await?;
                    } else {
                        writes.push((history, bytes));
                    }
                }
                Err(FetchError::NotFound { .. })
                | Err(FetchError::Status {
                    status: 403 | 404, ..
                }) => break,
                Err(e) => return Err(fetch_err("root")(e)),
            }
        }
        Ok(rotations)
    }

    /// 5.4: timestamp. A stored copy (unless its keys were rotated: 5.3.11) is the rollback
    /// reference; a failure to load it only loses that reference.
    async fn refresh_timestamp(
        &self,
        set: &mut TrustedMetadataSet,
        rotated: bool,
        writes: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<(), TufError> {
        if !rotated {
            let key = self.key("timestamp");
            if let Some(local) =
                stored_copy(&self.store, &key, self.config.timestamp_max_length).await?
            {
                let _ = set.update_timestamp(&local);
            }
        }
        let url = join(&self.config.metadata_base_url, "timestamp.json");
        let bytes = self
            .fetch
            .fetch_bytes(&url, self.config.timestamp_max_length)
            .await
            .map_err(fetch_err("timestamp"))?;
        if set.update_timestamp(&bytes)? == TimestampUpdate::Updated {
            self.save(writes, "timestamp", bytes).await?;
        }
        Ok(())
    }

    /// 5.5: snapshot. A stored copy that is still final (the version the timestamp lists,
    /// unexpired) is used as is; otherwise it is the rollback reference for the new one.
    async fn refresh_snapshot(
        &self,
        set: &mut TrustedMetadataSet,
        rotated: bool,
        writes: &mut Vec<(String, Vec<u8>)>,
    ) -> Result<(), TufError> {
        if !rotated {
            let key = self.key("snapshot");
            if let Some(local) =
                stored_copy(&self.store, &key, self.config.snapshot_max_length).await?
            {
                if set.update_snapshot(&local, true).is_ok() {
                    return Ok(());
                }
            }
        }
        let meta = set
            .timestamp()
            .map(|t| t.signed().snapshot_meta.clone())
            .ok_or_else(|| TufError::InvalidState {
                role: "timestamp".into(),
                reason: "no trusted timestamp".into(),
            })?;
        let name = if set.root().signed().consistent_snapshot {
            format!("{}.snapshot.json", meta.version)
        } else {
            "snapshot.json".to_string()
        };
        let limit = signed_limit(
            "timestamp",
            &name,
            meta.length,
            self.config.snapshot_max_length,
        )?;
        let url = join(&self.config.metadata_base_url, &name);
        let bytes = self
            .fetch
            .fetch_bytes(&url, limit)
            .await
            .map_err(fetch_err("snapshot"))?;
        set.update_snapshot(&bytes, false)?;
        self.save(writes, "snapshot", bytes).await?;
        Ok(())
    }

    /// Loads the trusted metadata that earlier refreshes persisted, without the network: the
    /// offline counterpart of [`Self::refresh`]. Every stored file is verified again from the
    /// trusted root exactly as if it had been downloaded (signatures and thresholds, the
    /// snapshot's length and hashes as the timestamp lists them, the targets' as the snapshot
    /// lists them, versions), and every expiry is checked against `reference_time`, or the
    /// clock when `None` (spec 5.4.4, 5.5.6, 5.6.4: expired metadata is refused with
    /// `EXPIRED`). No root rotation happens and nothing is written.
    ///
    /// A caller that deliberately accepts expired metadata offline passes the time of the last
    /// successful refresh as `reference_time`: the result is then "verified as of that time".
    pub async fn load_stored(
        &mut self,
        reference_time: Option<UnixSeconds>,
    ) -> Result<RefreshReport, TufError> {
        self.trusted = None;
        let now = reference_time.unwrap_or_else(|| self.clock.now());
        let mut set = self.initial_set(now).await?;
        set.check_final_root()?;
        let missing = |role: &str| TufError::InvalidState {
            role: role.to_string(),
            reason: "no stored copy: refresh online first".into(),
        };
        let ts = self
            .store
            .get(&self.key("timestamp"))
            .await?
            .ok_or_else(|| missing("timestamp"))?;
        set.update_timestamp(&ts)?;
        let sn = self
            .store
            .get(&self.key("snapshot"))
            .await?
            .ok_or_else(|| missing("snapshot"))?;
        set.update_snapshot(&sn, false)?;
        load_targets::<F, S>(&self.config, None, &self.store, &mut set, "targets", "root").await?;
        let report = report(&set, 0, false)?;
        self.trusted = Some(set);
        Ok(report)
    }

    /// [`Self::load_stored`] for a caller that deliberately accepts expired metadata offline:
    /// everything is verified (the chain from the pinned root, signatures and thresholds,
    /// versions, lengths and hashes) as of the last second at which every stored top-level
    /// role was still valid, and the report's `reference_time` says which second that was.
    /// The time comes from the verified metadata itself, never from anything else in the
    /// store (a recorded "last refresh" time is as writable as the store is).
    pub async fn load_stored_as_last_valid(&mut self) -> Result<RefreshReport, TufError> {
        self.load_stored(Some(UnixSeconds::MIN)).await?;
        let at = self
            .trusted
            .as_ref()
            .map(|s| s.earliest_expiry().at)
            .ok_or_else(|| TufError::InvalidState {
                role: "root".into(),
                reason: "no stored metadata".into(),
            })?;
        self.load_stored(Some(at.saturating_sub(1))).await
    }

    /// Every target the repository signs, for a catalogue: loads every targets role reachable
    /// through delegations (pre-order, each verified with its delegator's keys and threshold
    /// like [`Self::target_info`] does, persisted after it verifies; with `offline`, only stored
    /// copies are used), then resolves each listed path through the delegation search that
    /// path would take (spec 5.6.7: the first role in pre-order whose delegation matches the
    /// path, stopping below terminating roles). A role that lists a path it is not trusted for
    /// therefore does not make it appear, and a path whose search meets a role that could not
    /// be loaded is left out and reported in [`CatalogueTargets::problems`], never resolved by a
    /// later role.
    ///
    /// Bounded: more than `max_roles` roles or `max_targets` listed paths fail with
    /// `LIMIT_EXCEEDED` (succinct hash bins count every bin).
    pub async fn catalogue_targets(
        &mut self,
        max_roles: u32,
        max_targets: usize,
        offline: bool,
    ) -> Result<CatalogueTargets, TufError> {
        let set = self
            .trusted
            .as_mut()
            .ok_or_else(|| TufError::InvalidState {
                role: "targets".into(),
                reason: "no trusted metadata: call refresh() first".into(),
            })?;
        let fetch = if offline { None } else { Some(&self.fetch) };
        let mut problems: Vec<TargetProblem> = Vec::new();
        let mut paths: BTreeMap<String, String> = BTreeMap::new();
        let mut failed: usize = 0;
        let too_many = |e: TufError| match e {
            TufError::DelegationLimit { role, limit } => TufError::CatalogueLimit {
                role,
                what: "roles".into(),
                limit: u64::from(limit),
            },
            e => e,
        };
        let mut walk = DelegationWalk::every_role(max_roles);
        while let Some(RoleToVisit { role, delegator }) = walk.next_role().map_err(too_many)? {
            match load_and_store(&self.config, fetch, &self.store, set, &role, &delegator).await {
                Ok(()) => {}
                Err(TufError::Store(e)) => return Err(TufError::Store(e)),
                Err(e) if role == "targets" => return Err(e),
                Err(e) => {
                    failed += 1;
                    problems.push(TargetProblem {
                        what: role,
                        error: e,
                    });
                    continue;
                }
            }
            let Some(targets) = set.targets(&role).map(|t| t.signed()) else {
                continue;
            };
            for path in targets.targets.keys() {
                if paths.len() >= max_targets && !paths.contains_key(path) {
                    return Err(TufError::CatalogueLimit {
                        role,
                        what: "targets".into(),
                        limit: u64::try_from(max_targets).unwrap_or(u64::MAX),
                    });
                }
                paths.entry(path.clone()).or_insert_with(|| role.clone());
            }
            walk.visit(&role, targets).map_err(too_many)?;
        }
        let mut targets = Vec::new();
        for (path, lister) in paths {
            if let Err(e) = check_target_path(&lister, &path) {
                problems.push(TargetProblem {
                    what: path,
                    error: e,
                });
                continue;
            }
            match search_loaded(set, &path, self.config.max_delegations) {
                Ok(Some(info)) => targets.push(info),
                Ok(None) => problems.push(TargetProblem {
                    what: path.clone(),
                    error: TufError::TargetNotFound {
                        path: format!(
                            "{path} (listed by \"{lister}\", which is not trusted for it)"
                        ),
                    },
                }),
                Err(e) => problems.push(TargetProblem {
                    what: path,
                    error: e,
                }),
            }
        }
        Ok(CatalogueTargets {
            targets,
            problems,
            roles: walk.named() - failed,
            earliest_expiry: set.earliest_expiry(),
        })
    }

    /// Finds the target `path` (spec 5.6.7): a pre-order depth-first search from the top-level
    /// targets role through the delegations that match the path, stopping below a terminating
    /// role, skipping roles already visited (delegation cycles), and failing with
    /// `DELEGATION_LIMIT` rather than visiting more than `max_delegations` roles. Delegated
    /// metadata is verified like top-level targets (length, hashes and version from the
    /// snapshot, the delegator's keys and threshold, expiry) and persisted after it verifies.
    pub async fn target_info(&mut self, path: &str) -> Result<TargetInfo, TufError> {
        check_target_path("targets", path)?;
        let set = self
            .trusted
            .as_mut()
            .ok_or_else(|| TufError::InvalidState {
                role: "targets".into(),
                reason: "no successful refresh: call refresh() first".into(),
            })?;
        let mut walk = DelegationWalk::search(path, self.config.max_delegations);
        while let Some(RoleToVisit { role, delegator }) = walk.next_role()? {
            let fetch = Some(&self.fetch);
            load_and_store(&self.config, fetch, &self.store, set, &role, &delegator).await?;
            if let Some(entry) = walk.visit(&role, loaded(set, &role)?)? {
                return Ok(TargetInfo::of(&role, path, entry));
            }
        }
        Err(TufError::TargetNotFound {
            path: path.to_string(),
        })
    }

    /// Lists every target of the repository as lookups resolve them (after
    /// [`Self::refresh`]): loads every targets role reachable from the top-level one
    /// (pre-order, each role once, failing with `DELEGATION_LIMIT` past `max_delegations`
    /// roles; a succinct hash delegation contributes all its bins), verified and persisted like
    /// [`Self::target_info`] does, then resolves each listed path with [`Self::target_info`]'s
    /// search. A path a role lists outside its delegated patterns, behind a terminating role,
    /// or that is unsafe, is reported in [`TargetListing::ignored`], not returned.
    pub async fn list_targets(&mut self) -> Result<TargetListing, TufError> {
        let mut order: Vec<String> = Vec::new();
        let mut listed: BTreeMap<String, String> = BTreeMap::new();
        {
            let set = self
                .trusted
                .as_mut()
                .ok_or_else(|| TufError::InvalidState {
                    role: "targets".into(),
                    reason: "no successful refresh: call refresh() first".into(),
                })?;
            let mut walk = DelegationWalk::every_role(self.config.max_delegations);
            while let Some(RoleToVisit { role, delegator }) = walk.next_role()? {
                let fetch = Some(&self.fetch);
                load_and_store(&self.config, fetch, &self.store, set, &role, &delegator).await?;
                let targets = loaded(set, &role)?;
                for path in targets.targets.keys() {
                    listed.entry(path.clone()).or_insert_with(|| role.clone());
                }
                walk.visit(&role, targets)?;
                order.push(role);
            }
        }
        let mut listing = TargetListing {
            roles: order,
            ..TargetListing::default()
        };
        for (path, role) in listed {
            match self.target_info(&path).await {
                Ok(info) => listing.targets.push(info),
                Err(e @ (TufError::TargetNotFound { .. } | TufError::BadTargetPath { .. })) => {
                    listing.ignored.push(IgnoredTarget {
                        role,
                        path,
                        reason: e.to_string(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(listing)
    }

    /// The URL a target is fetched from: with consistent snapshots (and
    /// `prefix_targets_with_hash`), `<dir>/<hash>.<name>` using the sha256 hash when listed,
    /// else the sha512 one (python-tuf uses the first in document order; repositories that
    /// list several hashes are expected to publish every name). The hash goes into a URL, so
    /// it must be lower-case hex of its algorithm's length (64 or 128 digits): anything else
    /// (`../`, `?`, `#`, upper case, another algorithm) is refused with `UNSUPPORTED_HASH`
    /// before any request is made.
    pub fn target_url(&self, info: &TargetInfo) -> Result<String, TufError> {
        check_target_path(&info.role, &info.path)?;
        let consistent = self
            .trusted
            .as_ref()
            .map(|s| s.root().signed().consistent_snapshot)
            .unwrap_or(false);
        let name = if consistent && self.config.prefix_targets_with_hash {
            let (alg, hash) = [("sha256", 64), ("sha512", 128)]
                .into_iter()
                .find_map(|(alg, len)| info.hashes.get(alg).map(|h| ((alg, len), h)))
                .ok_or_else(|| TufError::UnsupportedHash {
                    role: info.role.clone(),
                    path: info.path.clone(),
                    listed: info.hashes.keys().cloned().collect::<Vec<_>>().join(", "),
                })?;
            if !is_lower_hex(hash, alg.1) {
                return Err(TufError::UnsupportedHash {
                    role: info.role.clone(),
                    path: info.path.clone(),
                    listed: format!(
                        "{} hash {hash:?} is not {} lower-case hex digits, so it cannot name the \
                         consistent-snapshot file",
                        alg.0, alg.1
                    ),
                });
            }
            match info.path.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/{hash}.{base}"),
                None => format!("{hash}.{}", info.path),
            }
        } else {
            info.path.clone()
        };
        Ok(join(&self.config.targets_base_url, &name))
    }

    /// Downloads a target, streaming each chunk through the length cap and the hashes
    /// (spec 5.7.3) and then to `sink`. The length is enforced as bytes arrive (never more than
    /// the signed length reaches the sink), but the hashes can only be checked at the end: if
    /// this returns an error, **the caller must discard every chunk the sink received**. Every
    /// listed hash with a supported algorithm (sha256, sha512) is checked; a target listing none
    /// is refused with `UNSUPPORTED_HASH`.
    pub async fn download_target(
        &self,
        info: &TargetInfo,
        sink: &mut Sink<'_>,
    ) -> Result<(), TufError> {
        let url = self.target_url(info)?;
        if info.length > self.config.max_target_length {
            return Err(TufError::LimitExceeded {
                role: info.role.clone(),
                file: info.path.clone(),
                length: info.length,
                limit: self.config.max_target_length,
            });
        }
        let mut v = TargetVerifier::new(info)?;
        self.fetch
            .fetch(&url, info.length, &mut |chunk| {
                v.update(chunk);
                sink(chunk)
            })
            .await
            .map_err(|source| TufError::Fetch {
                role: info.path.clone(),
                source,
            })?;
        v.finish()
    }

    /// Checks bytes held locally (a cache) against a target's signed length and hashes before
    /// they are used.
    pub fn check_cached_target(&self, info: &TargetInfo, bytes: &[u8]) -> Result<(), TufError> {
        check_target_path(&info.role, &info.path)?;
        let got = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if got != info.length {
            return Err(TufError::LengthMismatch {
                role: info.role.clone(),
                file: info.path.clone(),
                expected: info.length,
                got,
            });
        }
        check_hashes(&info.role, &info.path, &info.hashes, bytes, true)
    }
}

/// Whether `s` is exactly `len` lower-case hex digits.
fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What [`Updater::catalogue_targets`] found.
#[derive(Debug)]
pub struct CatalogueTargets {
    /// Every target whose path resolves, through its own delegation search, to the role that
    /// lists it.
    pub targets: Vec<TargetInfo>,
    /// Roles that could not be loaded and paths that could not be resolved, with the reason.
    pub problems: Vec<TargetProblem>,
    /// How many targets roles were loaded.
    pub roles: usize,
    /// The first expiry among every trusted role.
    pub earliest_expiry: Expiry,
}

/// A role that could not be loaded, or a target path that could not be resolved, and why.
#[derive(Debug)]
pub struct TargetProblem {
    /// The role or the target path.
    pub what: String,
    /// Why.
    pub error: TufError,
}

/// The delegation search of [`Updater::target_info`] over roles already loaded (no I/O):
/// `Ok(None)` when no role on the path's search lists it, an error when the search reaches a
/// role that is not loaded or does not verify through the delegator it is reached from.
fn search_loaded(
    set: &mut TrustedMetadataSet,
    path: &str,
    max_delegations: u32,
) -> Result<Option<TargetInfo>, TufError> {
    let mut walk = DelegationWalk::search(path, max_delegations);
    while let Some(RoleToVisit { role, delegator }) = walk.next_role()? {
        if !set.check_cached_delegation(&role, &delegator)? {
            return Err(TufError::InvalidState {
                role,
                reason: format!("needed to resolve {path} but could not be loaded"),
            });
        }
        if let Some(entry) = walk.visit(&role, loaded(set, &role)?)? {
            return Ok(Some(TargetInfo::of(&role, path, entry)));
        }
    }
    Ok(None)
}

/// The trusted metadata of a targets role the walk has just made trusted.
fn loaded<'s>(set: &'s TrustedMetadataSet, role: &str) -> Result<&'s Targets, TufError> {
    set.targets(role)
        .map(|t| t.signed())
        .ok_or_else(|| TufError::InvalidState {
            role: role.to_string(),
            reason: "not loaded".into(),
        })
}

/// [`load_targets`] for a role a delegation walk reaches: a download is persisted at once.
async fn load_and_store<F: Fetch, S: Store>(
    config: &UpdaterConfig,
    fetch: Option<&F>,
    store: &S,
    set: &mut TrustedMetadataSet,
    role: &str,
    delegator: &str,
) -> Result<(), TufError> {
    if let Some(bytes) = load_targets(config, fetch, store, set, role, delegator).await? {
        store
            .put(&metadata_key(&config.store_prefix, role), &bytes)
            .await?;
    }
    Ok(())
}

/// Loads targets metadata for `role` into the set (python-tuf `Updater._load_targets`): the
/// stored copy when it still verifies against the trusted snapshot, else a download. Returns
/// the downloaded bytes, which the caller persists.
async fn load_targets<F: Fetch, S: Store>(
    config: &UpdaterConfig,
    fetch: Option<&F>,
    store: &S,
    set: &mut TrustedMetadataSet,
    role: &str,
    parent: &str,
) -> Result<Option<Vec<u8>>, TufError> {
    if set.check_cached_delegation(role, parent)? {
        return Ok(None);
    }
    let key = metadata_key(&config.store_prefix, role);
    if let Some(local) = stored_copy(store, &key, config.targets_max_length).await? {
        if set.update_delegated_targets(&local, role, parent).is_ok() {
            return Ok(None);
        }
    }
    let Some(fetch) = fetch else {
        return Err(TufError::InvalidState {
            role: role.to_string(),
            reason: "offline and no stored copy verifies against the trusted snapshot".into(),
        });
    };
    let file = format!("{role}.json");
    let meta = set
        .snapshot()
        .and_then(|s| s.signed().meta.get(&file).cloned())
        .ok_or_else(|| TufError::MissingMeta {
            role: "snapshot".into(),
            file: file.clone(),
            detail: format!("role \"{role}\" is delegated but the snapshot does not list it"),
        })?;
    let name = if set.root().signed().consistent_snapshot {
        format!("{}.{}.json", meta.version, quote(role))
    } else {
        format!("{}.json", quote(role))
    };
    let limit = signed_limit("snapshot", &name, meta.length, config.targets_max_length)?;
    let url = join(&config.metadata_base_url, &name);
    let bytes = fetch
        .fetch_bytes(&url, limit)
        .await
        .map_err(fetch_err(role))?;
    set.update_delegated_targets(&bytes, role, parent)?;
    Ok(Some(bytes))
}

fn report(
    set: &TrustedMetadataSet,
    root_rotations: u32,
    rotated: bool,
) -> Result<RefreshReport, TufError> {
    let missing = |role: &str| TufError::InvalidState {
        role: role.to_string(),
        reason: "not loaded".into(),
    };
    let ts = set.timestamp().ok_or_else(|| missing("timestamp"))?;
    let sn = set.snapshot().ok_or_else(|| missing("snapshot"))?;
    let tg = set.targets("targets").ok_or_else(|| missing("targets"))?;
    Ok(RefreshReport {
        reference_time: set.reference_time(),
        root_rotations,
        root: status(set.root().version(), set.root().expires()),
        timestamp: status(ts.version(), ts.expires()),
        snapshot: status(sn.version(), sn.expires()),
        targets: status(tg.version(), tg.expires()),
        timestamp_snapshot_keys_rotated: rotated,
    })
}

/// Streaming length + hash check of a target against its signed entry (spec 5.7.3): every
/// listed hash with a supported algorithm (sha256, sha512) is checked. The SHA-256 may instead
/// be computed by the caller over the whole buffer ([`TargetVerifier::defer_sha256`]).
pub(crate) struct TargetVerifier {
    role: String,
    path: String,
    expected_len: u64,
    seen: u64,
    /// The signed SHA-256, and the hasher while it is streamed (`None` once deferred).
    sha256: Option<(Option<Sha256>, String)>,
    sha512: Option<(Sha512, String)>,
}

impl TargetVerifier {
    /// A verifier for `info`; `UNSUPPORTED_HASH` when no listed algorithm is supported.
    pub(crate) fn new(info: &TargetInfo) -> Result<Self, TufError> {
        let sha256 = info
            .hashes
            .get("sha256")
            .map(|h| (Some(Sha256::new()), h.clone()));
        let sha512 = info
            .hashes
            .get("sha512")
            .map(|h| (Sha512::new(), h.clone()));
        if sha256.is_none() && sha512.is_none() {
            return Err(TufError::UnsupportedHash {
                role: info.role.clone(),
                path: info.path.clone(),
                listed: info.hashes.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        Ok(TargetVerifier {
            role: info.role.clone(),
            path: info.path.clone(),
            expected_len: info.length,
            seen: 0,
            sha256,
            sha512,
        })
    }

    /// Stops streaming the SHA-256 (before the first chunk): [`TargetVerifier::finish_with`]
    /// is then given the digest of the whole. Whether a SHA-256 is listed (else nothing
    /// changes and there is nothing to give).
    pub(crate) fn defer_sha256(&mut self) -> bool {
        match &mut self.sha256 {
            Some((hasher, _)) => {
                *hasher = None;
                true
            }
            None => false,
        }
    }

    /// Feeds the next chunk.
    pub(crate) fn update(&mut self, chunk: &[u8]) {
        self.seen = self
            .seen
            .saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
        if let Some((Some(h), _)) = &mut self.sha256 {
            h.update(chunk);
        }
        if let Some((h, _)) = &mut self.sha512 {
            h.update(chunk);
        }
    }

    /// Checks the length alone (before computing a deferred digest).
    pub(crate) fn check_length(&self) -> Result<(), TufError> {
        if self.seen != self.expected_len {
            return Err(TufError::LengthMismatch {
                role: self.role.clone(),
                file: self.path.clone(),
                expected: self.expected_len,
                got: self.seen,
            });
        }
        Ok(())
    }

    /// Checks the length and every streamed hash.
    pub(crate) fn finish(self) -> Result<(), TufError> {
        self.finish_with(None)
    }

    /// Checks the length and every hash, the SHA-256 being `whole_sha256` when it was
    /// deferred (a deferred SHA-256 with no digest given fails as a mismatch).
    pub(crate) fn finish_with(self, whole_sha256: Option<[u8; 32]>) -> Result<(), TufError> {
        self.check_length()?;
        let mut results = Vec::new();
        if let Some((h, expected)) = self.sha256 {
            let actual = match h {
                Some(h) => hex::encode(h.finalize()),
                None => whole_sha256.map_or_else(|| "not computed".into(), hex::encode),
            };
            results.push(("sha256", actual, expected));
        }
        if let Some((h, expected)) = self.sha512 {
            results.push(("sha512", hex::encode(h.finalize()), expected));
        }
        for (alg, actual, expected) in results {
            if !actual.eq_ignore_ascii_case(&expected) {
                return Err(TufError::HashMismatch {
                    role: self.role,
                    file: self.path,
                    algorithm: alg.to_string(),
                    expected,
                    actual,
                });
            }
        }
        Ok(())
    }
}
