//! The registry client: verified model downloads from a signed (TUF) model registry, a cache of
//! verified versions, and offline use. Async over the host traits ([`Fetch`], [`Store`],
//! [`Clock`]), so one code path serves pages, workers, Node and native callers; the JS API in
//! `src/wasm/registry.rs` is a thin wrapper.
//!
//! - [`Registry::refresh`] runs the TUF client workflow ([`Updater::refresh`]), lists every
//!   model across delegated roles ([`Updater::catalogue_targets`]), and loads the signed aliases
//!   documents into a [`Catalogue`]. When the network fails it falls back to the stored trusted
//!   metadata, verified again ([`Updater::load_stored`]), and says so (`offline`); expired
//!   metadata is refused with `EXPIRED` unless [`RegistryConfig::allow_expired_offline`] is
//!   set, and then the result says `expired`.
//! - [`Registry::fetch_model`] resolves a reference (`digits@production`, `digits@3`,
//!   `digits`), serves the artifact from the cache when a blob with the signed SHA-256 is there
//!   (re-hashed as it is read), else downloads it streaming every chunk through the signed
//!   length and hashes, and caches it (see [`cache`] for the guarantees).
//!
//! Loading the verified bytes with the engine and checking gates is a use case on top of this
//! client ([`crate::app::load()`]). Imports `catalogue`, `tuf`, `store`, `fetch`, `digest`,
//! `clock`; never `engine`, `eval`, `wasm` or the CLI.

pub mod abort;
pub mod cache;
mod error;
pub mod output;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use futures_util::lock::Mutex;
use serde_json::Value;

pub use abort::AbortFlag;
pub use cache::{CacheConfig, CacheEntry, CacheUsage, Committed, GcReport, StagedWrites};
pub use error::RegistryError;
pub use output::ArtifactOut;

use self::abort::race;
use self::cache::{BlobRead, Cache, TUF_PREFIX};
use crate::catalogue::{
    Aliases, Catalogue, CatalogueError, ModelRef, ModelVersion, Resolved, RolloutChoice,
    RolloutClient, SignedFile, VersionId,
};
use crate::clock::Clock;
use crate::digest::Sha256Digest;
use crate::error::{Code, ErrorCode};
use crate::fetch::{Fetch, FetchError, FetchEvent};
use crate::store::{Namespaced, Store};
use crate::tuf::updater::TargetVerifier;
use crate::tuf::{CatalogueTargets, RefreshReport, TargetInfo, TrustedMetadataSet, TufError};
use crate::tuf::{Updater, UpdaterConfig};

/// Settings of a [`Registry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Base URL of the metadata directory (`<repository>/metadata/`).
    pub metadata_url: String,
    /// Base URL of the targets directory (`<repository>/targets/`).
    pub targets_url: String,
    /// Cache settings (chunk size, byte limit, staging expiry, instance id).
    pub cache: CacheConfig,
    /// Largest model artifact accepted, in bytes (default 2 GiB).
    pub max_model_bytes: u64,
    /// Largest aliases document accepted (default 64 KiB).
    pub max_aliases_bytes: u64,
    /// Most targets roles read to list the catalogue (default 256).
    pub max_roles: u32,
    /// Most target paths listed (default 100 000).
    pub max_targets: usize,
    /// Explicit opt-in: when offline, accept stored metadata that has expired, verified
    /// (chain from the pinned root, signatures, versions, hashes) as of the last second it was
    /// all valid ([`Updater::load_stored_as_last_valid`]), for serving cached versions only
    /// (never for downloads). Results then say `expired: true`. Off by default: expired metadata is
    /// refused with `EXPIRED`, as TUF requires (spec 5.4.4, 5.5.6, 5.6.4).
    pub allow_expired_offline: bool,
    /// Names the registry in the store namespace ([`namespace`]); `None` (the default): its
    /// metadata and targets URLs. Mirrors of one registry given one id share cached state;
    /// the pinned root always takes part as well, so no id makes another root's state
    /// visible.
    pub registry_id: Option<String>,
    /// The stable id this client is bucketed by in staged rollouts
    /// ([`crate::catalogue::Rollout`]), supplied by the app (a user or device id). `None`: the
    /// id kept in the store, created from [`Self::new_client_id`] on first use.
    pub client_id: Option<String>,
    /// A fresh random id from the host (the core draws no randomness), kept in the store as
    /// this client's id when it has none yet. With neither id, the client takes no part in
    /// rollouts: every alias gives its own version.
    pub new_client_id: Option<String>,
    /// The app's version, for a rollout's `min_client` (`None`: below every minimum).
    pub client_version: Option<String>,
}

/// Longest client id accepted (from the app, the host or the store).
pub const MAX_CLIENT_ID: usize = 256;
/// Where the client id is kept, in the registry's namespace of the store.
const CLIENT_ID_KEY: &str = "client-id";

fn client_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_CLIENT_ID && id.bytes().all(|b| (0x20..0x7f).contains(&b))
}

impl RegistryConfig {
    /// The defaults for a repository at `url` (`docs/registry-format.md`: metadata under
    /// `url/metadata/`, targets under `url/targets/`).
    pub fn new(url: &str) -> Self {
        let base = url.trim_end_matches('/');
        RegistryConfig {
            metadata_url: format!("{base}/metadata/"),
            targets_url: format!("{base}/targets/"),
            cache: CacheConfig::default(),
            max_model_bytes: 2 << 30,
            max_aliases_bytes: 64 << 10,
            max_roles: 256,
            max_targets: 100_000,
            allow_expired_offline: false,
            registry_id: None,
            client_id: None,
            new_client_id: None,
            client_version: None,
        }
    }
}

/// Where an artifact's bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The local cache (re-verified).
    Cache,
    /// The network (verified while streaming).
    Network,
}

impl Source {
    /// `"cache"` or `"network"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Network => "network",
        }
    }
}

/// What a call is doing when it reports [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Fetching and verifying TUF metadata (a refresh).
    Metadata,
    /// Downloading an artifact (every chunk through the signed length and hashes).
    Download,
    /// Finishing the signed digest of a downloaded artifact.
    Verify,
    /// Reading a cached artifact (re-hashed) or writing a verified one to the cache.
    Cache,
    /// Loading verified model bytes with the engine.
    Compile,
}

impl Phase {
    /// `"metadata"`, `"download"`, `"verify"`, `"cache"` or `"compile"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Metadata => "metadata",
            Phase::Download => "download",
            Phase::Verify => "verify",
            Phase::Cache => "cache",
            Phase::Compile => "compile",
        }
    }
}

/// Where a phase is: started, advanced, ended, or (downloads) retried after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The phase starts.
    Initiate,
    /// More bytes were processed.
    Progress,
    /// The phase ended.
    Done,
    /// The transfer failed or stalled and is tried again after a delay
    /// ([`Progress::attempt`], [`Progress::delay_ms`]).
    Retry,
}

impl Status {
    /// `"initiate"`, `"progress"`, `"done"` or `"retry"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Initiate => "initiate",
            Status::Progress => "progress",
            Status::Done => "done",
            Status::Retry => "retry",
        }
    }
}

/// A progress event of [`Registry::fetch_model`], [`Registry::refresh_with`] and
/// [`crate::app::load()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is being done.
    pub phase: Phase,
    /// Whether it starts, advances, ends or is retried.
    pub status: Status,
    /// Bytes received (and hashed) so far.
    pub loaded: u64,
    /// The signed length (0 where it is not known yet: metadata before it arrives).
    pub total: u64,
    /// Whether they come from the cache or the network.
    pub source: Source,
    /// The attempt that failed (retries; 0 otherwise).
    pub attempt: u32,
    /// The wait before the next attempt, in milliseconds (retries; 0 otherwise).
    pub delay_ms: u32,
}

impl Progress {
    /// The `Retry` event of `phase` for a fetcher's [`FetchEvent::Retry`].
    pub fn retried(phase: Phase, event: &FetchEvent, total: u64, source: Source) -> Self {
        let FetchEvent::Retry {
            attempt, delay_ms, ..
        } = event;
        Progress {
            attempt: *attempt,
            delay_ms: *delay_ms,
            ..Progress::new(phase, Status::Retry, 0, total, source)
        }
    }

    /// An event with no retry information.
    pub fn new(phase: Phase, status: Status, loaded: u64, total: u64, source: Source) -> Self {
        Progress {
            phase,
            status,
            loaded,
            total,
            source,
            attempt: 0,
            delay_ms: 0,
        }
    }
}

/// Options of [`Registry::fetch_model`].
#[derive(Default, Clone, Copy)]
pub struct FetchOptions<'a> {
    /// Called after every chunk (never while the registry holds a borrow of its state, so it
    /// may call back into the registry).
    pub progress: Option<&'a dyn Fn(&Progress)>,
    /// Cancels the fetch: a running download is dropped at once and nothing is cached.
    pub abort: Option<&'a AbortFlag>,
}

/// The unfinished cache write of a verified download ([`Registry::fetch_model_verified`]).
#[derive(Debug)]
#[must_use = "the download is cached only once `Registry::finish_cache_write` runs"]
pub struct CacheWrite {
    sha: String,
    length: u64,
    name: String,
    version: String,
    path: String,
    staged: Option<StagedWrites>,
}

impl CacheWrite {
    /// `name@version` of the download.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A verified artifact's description (the bytes went to the caller's [`ArtifactOut`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: String,
    /// The alias the reference went through, if any.
    pub alias: Option<String>,
    /// The target path.
    pub path: String,
    /// The signed SHA-256 (hex).
    pub sha256: String,
    /// The signed length.
    pub length: u64,
    /// Cache or network.
    pub source: Source,
    /// The model card as signed.
    pub card: Option<Value>,
    /// The catalogue came from stored metadata because the network failed.
    pub offline: bool,
    /// The metadata had expired and was used under the explicit offline opt-in.
    pub expired: bool,
    /// A cached copy failed verification and was discarded before downloading again.
    pub cache_repaired: bool,
    /// The alias's staged rollout and this client's place in it, when the reference went
    /// through an alias with one.
    pub rollout: Option<RolloutChoice>,
}

/// Why a refresh fell back to stored metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkFailure {
    /// The error's code (`NETWORK`, `HTTP_STATUS`, ...).
    pub code: String,
    /// Its message.
    pub message: String,
}

/// What [`Registry::refresh`] established.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshOutcome {
    /// Each role's version and expiry, and the reference time.
    pub report: RefreshReport,
    /// The network failed and the stored trusted metadata is in use.
    pub offline: bool,
    /// That stored metadata has expired and is used under the explicit opt-in.
    pub expired: bool,
    /// The network error, when offline.
    pub network_error: Option<NetworkFailure>,
    /// Models in the catalogue.
    pub models: usize,
    /// Roles and targets left out of the catalogue, with the reason.
    pub problems: Vec<String>,
}

type Up<F, S, C> = Updater<Rc<Observed<F>>, Rc<Namespaced<S>>, Rc<C>>;

/// A listener of a refresh's metadata progress: the event and the file (`timestamp.json`).
pub type MetadataProgress = Rc<dyn Fn(&Progress, &str)>;

/// Options of [`Registry::refresh_with`].
#[derive(Default, Clone)]
pub struct RefreshOptions<'a> {
    /// Told when each metadata file starts, is retried and ends ([`Phase::Metadata`]).
    pub progress: Option<MetadataProgress>,
    /// Cancels the refresh: the running request is dropped at once; the trusted metadata stays
    /// as the last verified step left it, and the catalogue as it was.
    pub abort: Option<&'a AbortFlag>,
}

/// The updater's fetcher: the registry's, reporting each file to the listener of the refresh
/// running (refreshes hold the updater's lock, so there is at most one).
struct Observed<F> {
    inner: Rc<F>,
    hook: RefCell<Option<MetadataProgress>>,
}

impl<F: Fetch> Fetch for Observed<F> {
    async fn fetch(
        &self,
        url: &str,
        limit: u64,
        sink: &mut crate::fetch::Sink<'_>,
    ) -> Result<(), FetchError> {
        let hook = self.hook.borrow().clone();
        let Some(hook) = hook else {
            return self.inner.fetch(url, limit, sink).await;
        };
        let file = url.rsplit('/').next().unwrap_or(url);
        let event =
            |status, loaded| Progress::new(Phase::Metadata, status, loaded, 0, Source::Network);
        hook(&event(Status::Initiate, 0), file);
        let mut loaded = 0u64;
        let mut counting = |c: &[u8]| {
            loaded += c.len() as u64;
            sink(c)
        };
        let retried = |e: &FetchEvent| {
            hook(
                &Progress::retried(Phase::Metadata, e, 0, Source::Network),
                file,
            )
        };
        let result = self
            .inner
            .fetch_observed(url, limit, &mut counting, &retried)
            .await;
        if result.is_ok() {
            hook(
                &Progress {
                    total: loaded,
                    ..event(Status::Done, loaded)
                },
                file,
            );
        }
        result
    }
}

/// Clears the listener of [`Observed`] when a refresh ends, or is dropped unfinished.
struct HookGuard<'a, F>(&'a Observed<F>);

impl<F> Drop for HookGuard<'_, F> {
    fn drop(&mut self) {
        self.0.hook.borrow_mut().take();
    }
}

/// The key prefix under which a registry keeps all its state in a store (trusted metadata,
/// the root history, aliases documents, the artifact cache and its index):
/// `r/<32 hex digits>/`, from a SHA-256 of the pinned root's signed content (canonical JSON,
/// so the same root given as bytes or as a parsed object names the same namespace) and of the
/// registry's id ([`RegistryConfig::registry_id`], by default its metadata and targets URLs).
/// Two registries, or two pinned roots of one registry, never share state by accident, and
/// state left by a root the client no longer pins is simply not found.
pub fn namespace(trusted_root: &[u8], config: &RegistryConfig) -> Result<String, RegistryError> {
    Ok(namespace_of(
        &TrustedMetadataSet::new(trusted_root, 0)?,
        config,
    ))
}

/// [`namespace`] of a root already verified.
fn namespace_of(set: &TrustedMetadataSet, config: &RegistryConfig) -> String {
    let mut id = b"edge-registry namespace 1\n".to_vec();
    id.extend_from_slice(Sha256Digest::of(set.root().canonical()).to_hex().as_bytes());
    let urls = [config.metadata_url.as_str(), config.targets_url.as_str()];
    let named = config.registry_id.as_deref().map(|n| ["id", n]);
    for part in named.as_ref().map_or(&urls[..], |n| &n[..]) {
        id.push(b'\n');
        id.extend_from_slice(part.as_bytes());
    }
    let hex = Sha256Digest::of(&id).to_hex();
    format!("r/{}/", hex.get(..32).unwrap_or(&hex))
}

/// A registry client. See the module documentation.
pub struct Registry<F: Fetch, S: Store, C: Clock> {
    config: RegistryConfig,
    fetch: Rc<F>,
    metadata_fetch: Rc<Observed<F>>,
    clock: Rc<C>,
    updater: Mutex<Up<F, S, C>>,
    catalogue: RefCell<Option<Rc<Catalogue>>>,
    /// Why there is no catalogue, when loading one failed (an expired stored state, a
    /// refused refresh): what calls needing a catalogue report.
    why_none: RefCell<Option<RegistryError>>,
    cache: Cache<Namespaced<S>, C>,
    /// The id rollouts bucket this client by ([`RegistryConfig::client_id`]).
    client_id: Option<String>,
}

fn unreachable(e: &TufError) -> bool {
    matches!(
        e,
        TufError::Fetch {
            source: FetchError::Network { .. }
                | FetchError::Status {
                    status: 500..=599,
                    ..
                },
            ..
        }
    )
}

fn signed_sha256(t: &TargetInfo) -> Result<String, RegistryError> {
    t.hashes
        .get("sha256")
        .and_then(|h| crate::digest::Sha256Digest::from_hex(h).ok())
        .map(|d| d.to_hex())
        .ok_or_else(|| {
            RegistryError::Tuf(TufError::UnsupportedHash {
                role: t.role.clone(),
                path: t.path.clone(),
                listed: "the registry needs a sha256 hash to address its cache".into(),
            })
        })
}

impl<F: Fetch, S: Store, C: Clock> Registry<F, S, C> {
    /// Opens a registry client over a store: checks the pinned `trusted_root` (signed by its
    /// own threshold), keeps all its state under its [`namespace`] of the store, collects
    /// cache garbage (chunks of downloads that died), and loads the stored trusted metadata if
    /// it verifies from the pinned root, so [`Self::catalogue`] and cached fetches work before
    /// (or without) a refresh. Nothing is fetched.
    pub async fn open(
        config: RegistryConfig,
        fetch: F,
        store: S,
        clock: C,
        trusted_root: &[u8],
    ) -> Result<Self, RegistryError> {
        let chunk = config.cache.chunk_bytes;
        if !(1024..=(256 << 20)).contains(&chunk) {
            return Err(RegistryError::Config(format!(
                "chunk size {chunk} must be between 1 KiB and 256 MiB"
            )));
        }
        let pinned = TrustedMetadataSet::new(trusted_root, clock.now())?;
        let store = Namespaced::new(store, namespace_of(&pinned, &config));
        let (fetch, store, clock) = (Rc::new(fetch), Rc::new(store), Rc::new(clock));
        let metadata_fetch = Rc::new(Observed {
            inner: Rc::clone(&fetch),
            hook: RefCell::new(None),
        });
        let updater = Updater::new(
            UpdaterConfig::new(&config.metadata_url, &config.targets_url)
                .with_store_prefix(TUF_PREFIX),
            Rc::clone(&metadata_fetch),
            Rc::clone(&store),
            Rc::clone(&clock),
        )
        .with_trusted_root(trusted_root);
        let cache = Cache::new(store, Rc::clone(&clock), config.cache.clone());
        let mut reg = Registry {
            config,
            fetch,
            metadata_fetch,
            clock,
            updater: Mutex::new(updater),
            catalogue: RefCell::new(None),
            why_none: RefCell::new(None),
            cache,
            client_id: None,
        };
        reg.cache.init().await?;
        reg.cache.gc().await?;
        reg.client_id = reg.establish_client_id().await;
        let mut up = reg.updater.lock().await;
        // Stored metadata that no longer verifies or has expired leaves the client without a
        // catalogue; calls that need one report why (for example `EXPIRED`).
        if let Err(e) = reg.load_offline(&mut *up).await {
            if e.error_code() == Code::Expired {
                *reg.why_none.borrow_mut() = Some(e);
            }
        }
        drop(up);
        Ok(reg)
    }

    /// The configuration.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// The app's id, else the one kept in the store (an untrusted place: a foreign writer can
    /// only move this client between versions the registry signs), else the host's fresh one,
    /// kept for next time. A store that fails leaves the fresh id for this session.
    async fn establish_client_id(&self) -> Option<String> {
        if let Some(id) = self.config.client_id.as_deref().filter(|i| client_id_ok(i)) {
            return Some(id.to_string());
        }
        let store = self.cache.store();
        if let Ok(Some(bytes)) = store.get(CLIENT_ID_KEY).await {
            if let Some(id) = std::str::from_utf8(&bytes).ok().filter(|i| client_id_ok(i)) {
                return Some(id.to_string());
            }
        }
        let fresh = self
            .config
            .new_client_id
            .as_deref()
            .filter(|i| client_id_ok(i))?;
        let _ = store.put(CLIENT_ID_KEY, fresh.as_bytes()).await;
        Some(fresh.to_string())
    }

    /// The registry's clock, read now.
    pub fn now(&self) -> crate::clock::UnixSeconds {
        self.clock.now()
    }

    /// The id rollouts bucket this client by (`None`: it takes no part; see
    /// [`RegistryConfig::client_id`]).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// This client (or, for per-request bucketing at the edge, the client `id`) as rollouts see
    /// it now.
    fn rollout_client<'a>(&'a self, id: Option<&'a str>) -> RolloutClient<'a> {
        RolloutClient {
            id: id.or(self.client_id.as_deref()),
            version: self.config.client_version.as_deref(),
            now: self.clock.now(),
        }
    }

    /// The cache (over this registry's namespace of the store).
    pub fn cache(&self) -> &Cache<Namespaced<S>, C> {
        &self.cache
    }

    /// The current catalogue, if a refresh (or stored metadata) provided one.
    pub fn catalogue(&self) -> Option<Rc<Catalogue>> {
        self.catalogue.borrow().clone()
    }

    fn require_catalogue(&self) -> Result<Rc<Catalogue>, RegistryError> {
        self.catalogue().ok_or_else(|| {
            self.why_none
                .borrow()
                .clone()
                .unwrap_or_else(|| RegistryError::NotReady {
                    reason: "call refresh() first".into(),
                })
        })
    }

    /// Runs the TUF workflow and rebuilds the catalogue (see the module documentation). When
    /// the repository is unreachable (network error or HTTP 5xx) and trusted metadata is
    /// stored, uses that instead and reports `offline`; any other failure (a refused
    /// signature, a rollback, expired metadata from the server) is returned as is and the
    /// previous catalogue stays in use.
    pub async fn refresh(&self) -> Result<RefreshOutcome, RegistryError> {
        self.refresh_with(RefreshOptions::default()).await
    }

    /// [`Self::refresh`] with progress and cancellation ([`RefreshOptions`]); `ABORTED` when
    /// cancelled.
    pub async fn refresh_with(
        &self,
        opts: RefreshOptions<'_>,
    ) -> Result<RefreshOutcome, RegistryError> {
        if opts.abort.is_some_and(AbortFlag::is_aborted) {
            return Err(RegistryError::Aborted);
        }
        race(self.refresh_hooked(opts.progress), opts.abort)
            .await
            .ok_or(RegistryError::Aborted)?
    }

    async fn refresh_hooked(
        &self,
        hook: Option<MetadataProgress>,
    ) -> Result<RefreshOutcome, RegistryError> {
        let mut up = self.updater.lock().await;
        *self.metadata_fetch.hook.borrow_mut() = hook;
        let _clear = HookGuard(&self.metadata_fetch);
        let result = self.refresh_locked(&mut *up).await;
        match &result {
            Ok(_) => *self.why_none.borrow_mut() = None,
            Err(e) if self.catalogue.borrow().is_none() => {
                *self.why_none.borrow_mut() = Some(e.clone());
            }
            Err(_) => {}
        }
        result
    }

    async fn refresh_locked(&self, up: &mut Up<F, S, C>) -> Result<RefreshOutcome, RegistryError> {
        match up.refresh().await {
            Ok(report) => {
                let listing = up
                    .catalogue_targets(self.config.max_roles, self.config.max_targets, false)
                    .await?;
                let cat = self.build_catalogue(up, listing, true).await?;
                let outcome = RefreshOutcome {
                    report,
                    offline: false,
                    expired: false,
                    network_error: None,
                    models: cat.models.len(),
                    problems: cat.problems.clone(),
                };
                *self.catalogue.borrow_mut() = Some(Rc::new(cat));
                Ok(outcome)
            }
            Err(e) if unreachable(&e) => {
                let stored = self
                    .cache_store()
                    .get(&crate::tuf::updater::metadata_key(TUF_PREFIX, "timestamp"))
                    .await?;
                if stored.is_none() {
                    return Err(e.into());
                }
                let mut outcome = self.load_offline(up).await?;
                outcome.network_error = Some(NetworkFailure {
                    code: e.code().to_string(),
                    message: e.to_string(),
                });
                Ok(outcome)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn cache_store(&self) -> &Namespaced<S> {
        self.cache.store()
    }

    async fn load_offline(&self, up: &mut Up<F, S, C>) -> Result<RefreshOutcome, RegistryError> {
        let (report, expired) = match up.load_stored(None).await {
            Ok(r) => (r, false),
            Err(e) if e.error_code() == Code::Expired && self.config.allow_expired_offline => {
                (up.load_stored_as_last_valid().await?, true)
            }
            Err(e) => return Err(e.into()),
        };
        let listing = up
            .catalogue_targets(self.config.max_roles, self.config.max_targets, true)
            .await?;
        let mut cat = self.build_catalogue(up, listing, false).await?;
        cat.offline = true;
        cat.expired = expired;
        let outcome = RefreshOutcome {
            report,
            offline: true,
            expired,
            network_error: None,
            models: cat.models.len(),
            problems: cat.problems.clone(),
        };
        *self.catalogue.borrow_mut() = Some(Rc::new(cat));
        Ok(outcome)
    }

    async fn build_catalogue(
        &self,
        up: &Up<F, S, C>,
        listing: CatalogueTargets,
        online: bool,
    ) -> Result<Catalogue, RegistryError> {
        let mut targets = Vec::with_capacity(listing.targets.len());
        let mut unusable = Vec::new();
        for target in listing.targets {
            // A target whose URL cannot be formed (a hash that is not lower-case hex) is left
            // out like any other unusable target, not allowed to sink the whole catalogue.
            match up.target_url(&target) {
                Ok(url) => targets.push(SignedFile { target, url }),
                Err(e) => unusable.push(format!("{}: {e}", target.path)),
            }
        }
        let mut cat = Catalogue::from_targets(targets);
        cat.problems.extend(unusable);
        cat.problems.extend(
            listing
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.what, p.error)),
        );
        cat.expires = listing.earliest_expiry;
        let mut keep = BTreeSet::new();
        let docs: Vec<(String, SignedFile)> = cat
            .models
            .values()
            .filter_map(|m| Some((m.name.clone(), m.aliases_target.clone()?)))
            .collect();
        for (name, doc) in docs {
            match self.aliases_doc(&doc.target, &doc.url, online).await {
                Ok((sha, bytes)) => {
                    keep.insert(sha);
                    match Aliases::from_bytes(&doc.target.path, &bytes) {
                        Ok(a) => cat.set_aliases(a),
                        Err(e) => cat.aliases_unavailable(&name, e.to_string()),
                    }
                }
                Err(RegistryError::Store(e)) => return Err(e.into()),
                Err(e) => cat.aliases_unavailable(&name, e.to_string()),
            }
        }
        if online {
            self.cache.prune_alias_docs(&keep).await?;
        }
        Ok(cat)
    }

    async fn aliases_doc(
        &self,
        t: &TargetInfo,
        url: &str,
        online: bool,
    ) -> Result<(String, Vec<u8>), RegistryError> {
        let sha = signed_sha256(t)?;
        if t.length > self.config.max_aliases_bytes {
            return Err(RegistryError::TooLarge {
                what: t.path.clone(),
                length: t.length,
                limit: self.config.max_aliases_bytes,
            });
        }
        if let Some(bytes) = self.cache.get_alias_doc(&sha, t.length).await? {
            return Ok((sha, bytes));
        }
        if !online {
            return Err(CatalogueError::AliasesUnavailable {
                model: t.path.clone(),
                reason: "offline and not stored".into(),
            }
            .into());
        }
        let mut v = TargetVerifier::new(t)?;
        let mut buf = Vec::new();
        self.fetch
            .fetch(url, t.length, &mut |c| {
                v.update(c);
                buf.extend_from_slice(c);
                Ok(())
            })
            .await
            .map_err(|source| TufError::Fetch {
                role: t.path.clone(),
                source,
            })?;
        v.finish()?;
        self.cache.put_alias_doc(&sha, &buf).await?;
        Ok((sha, buf))
    }

    /// Resolves a reference against the current catalogue, for this client: an alias with a
    /// staged rollout gives the version of this client's bucket ([`Resolved::rollout`]).
    pub fn resolve(&self, reference: &str) -> Result<Resolved, RegistryError> {
        self.resolve_as(reference, None)
    }

    /// [`Self::resolve`] for client `client_id` (`None`: this client): per-request bucketing,
    /// as an edge worker does with a header or cookie value.
    pub fn resolve_as(
        &self,
        reference: &str,
        client_id: Option<&str>,
    ) -> Result<Resolved, RegistryError> {
        let r = ModelRef::parse(reference)?;
        let client = self.rollout_client(client_id);
        Ok(self.require_catalogue()?.resolve_for(&r, Some(&client))?)
    }

    fn usable(&self, cat: &Catalogue) -> Result<bool, RegistryError> {
        let now = self.clock.now();
        let expired = cat.expired || now >= cat.expires.at;
        if expired && !self.config.allow_expired_offline {
            return Err(RegistryError::Expired {
                role: cat.expires.role.clone(),
                expires: cat.expires.text.clone(),
            });
        }
        Ok(expired)
    }

    /// Fetches the verified artifact of `reference` into `out` (see the module
    /// documentation). Errors: `INVALID_STATE` (no metadata yet), `EXPIRED`, `BAD_REF`,
    /// `MODEL_NOT_FOUND`, `QUOTA`, `ABORTED`, `NETWORK`, `HASH_MISMATCH`, `LENGTH_EXCEEDED`,
    /// `TRUNCATED`, `LIMIT_EXCEEDED`, `STORE`. On error, discard what `out` received.
    pub async fn fetch_model_into(
        &self,
        reference: &str,
        out: &mut dyn ArtifactOut,
        opts: FetchOptions<'_>,
    ) -> Result<Fetched, RegistryError> {
        let (fetched, write) = self.fetch_model_verified(reference, out, opts).await?;
        if let Some(write) = write {
            let length = fetched.length;
            let report = |status, loaded| {
                if let Some(p) = opts.progress {
                    p(&Progress::new(
                        Phase::Cache,
                        status,
                        loaded,
                        length,
                        Source::Network,
                    ));
                }
            };
            report(Status::Initiate, 0);
            self.finish_cache_write(write, &*out, opts.abort).await?;
            report(Status::Done, length);
        }
        Ok(fetched)
    }

    /// [`Self::fetch_model_into`] up to verified bytes in `out`: when they came from the
    /// network, the cache write is returned unfinished (some chunks may be written already,
    /// staged where nothing reads them) for the caller to end with
    /// [`Self::finish_cache_write`] while `out` still holds the bytes, for example after the
    /// engine has loaded them. Dropped unfinished, nothing is cached and [`Cache::gc`] later
    /// removes the staged chunks.
    pub async fn fetch_model_verified(
        &self,
        reference: &str,
        out: &mut dyn ArtifactOut,
        opts: FetchOptions<'_>,
    ) -> Result<(Fetched, Option<CacheWrite>), RegistryError> {
        self.fetch_model_verified_as(reference, None, out, opts)
            .await
    }

    /// [`Self::fetch_model_verified`] for client `client_id` of the rollouts (`None`: this
    /// client; see [`Self::resolve_as`]).
    pub async fn fetch_model_verified_as(
        &self,
        reference: &str,
        client_id: Option<&str>,
        out: &mut dyn ArtifactOut,
        opts: FetchOptions<'_>,
    ) -> Result<(Fetched, Option<CacheWrite>), RegistryError> {
        let cat = self.require_catalogue()?;
        let expired = self.usable(&cat)?;
        let client = self.rollout_client(client_id);
        let resolved = cat.resolve_for(&ModelRef::parse(reference)?, Some(&client))?;
        let model = &resolved.model;
        let target = &model.target;
        let sha = signed_sha256(target)?;
        let length = target.length;
        if length > self.config.max_model_bytes {
            return Err(RegistryError::TooLarge {
                what: target.path.clone(),
                length,
                limit: self.config.max_model_bytes,
            });
        }
        let aborted = || opts.abort.is_some_and(AbortFlag::is_aborted);
        if aborted() {
            return Err(RegistryError::Aborted);
        }
        // The cache's events start with its first chunk: a miss reports nothing.
        let reading = std::cell::Cell::new(false);
        let report = |loaded: u64, source: Source| {
            if let Some(p) = opts.progress {
                if !reading.replace(true) {
                    p(&Progress::new(
                        Phase::Cache,
                        Status::Initiate,
                        0,
                        length,
                        source,
                    ));
                }
                p(&Progress::new(
                    Phase::Cache,
                    Status::Progress,
                    loaded,
                    length,
                    source,
                ));
            }
        };
        let mut fetched = Fetched {
            name: model.name.clone(),
            version: model.version.clone(),
            alias: resolved.alias.clone(),
            path: target.path.clone(),
            sha256: sha.clone(),
            length,
            source: Source::Cache,
            card: target.custom.clone(),
            offline: cat.offline,
            expired,
            cache_repaired: false,
            rollout: resolved.rollout.clone(),
        };

        // 1. The cache, re-verified as it is read.
        match self.read_cached(model, &sha, out, &report).await? {
            BlobRead::Hit => {
                if let Some(p) = opts.progress {
                    p(&Progress::new(
                        Phase::Cache,
                        Status::Done,
                        length,
                        length,
                        Source::Cache,
                    ));
                }
                return Ok((fetched, None));
            }
            BlobRead::Corrupt(_) => {
                fetched.cache_repaired = true;
                out.start(length)?;
            }
            BlobRead::Miss => {}
        }

        // 2. The network: never on expired metadata.
        if expired {
            return Err(RegistryError::Expired {
                role: cat.expires.role.clone(),
                expires: cat.expires.text.clone(),
            });
        }
        self.cache.ensure_space(length, &sha).await?;
        // Where the store can, the cache's chunks are written while the download arrives
        // (staged, invisible until the verified bytes' record commits).
        let mut staged = self.cache.stage_behind(&sha, length).await?;
        let downloaded = self
            .download_verified(
                target,
                &model.url,
                out,
                &opts,
                Source::Network,
                staged.as_mut(),
            )
            .await;
        if let Err(e) = downloaded {
            if let Some(staged) = staged {
                self.cache.discard_staged(staged).await;
            }
            return Err(e);
        }
        fetched.source = Source::Network;
        let write = CacheWrite {
            sha,
            length,
            name: model.name.clone(),
            version: model.version.clone(),
            path: target.path.clone(),
            staged,
        };
        Ok((fetched, Some(write)))
    }

    /// Ends the cache write of a verified download ([`Self::fetch_model_verified`]): the
    /// chunks not written yet, from `out` (which must still hold the verified bytes), then the
    /// records that make it a cached version. Errors: `STORE`, `QUOTA`, `ABORTED`.
    pub async fn finish_cache_write(
        &self,
        write: CacheWrite,
        out: &dyn ArtifactOut,
        abort: Option<&AbortFlag>,
    ) -> Result<Committed, RegistryError> {
        let CacheWrite {
            sha,
            length,
            name,
            version,
            path,
            staged,
        } = write;
        match staged {
            Some(staged) => {
                self.cache
                    .commit_staged(staged, out, &name, &version, &path, abort)
                    .await
            }
            None => {
                self.cache
                    .stage_and_commit(&sha, length, &name, &version, &path, out, abort)
                    .await
            }
        }
    }

    /// Reads the cached blob of `model` (named by its signed SHA-256 `sha`) into `out`,
    /// re-hashing every chunk; on a hit, marks the version used.
    async fn read_cached(
        &self,
        model: &ModelVersion,
        sha: &str,
        out: &mut dyn ArtifactOut,
        report: &dyn Fn(u64, Source),
    ) -> Result<BlobRead, RegistryError> {
        let length = model.target.length;
        out.start(length)?;
        let read = self
            .cache
            .read_blob(sha, length, out, &|loaded| report(loaded, Source::Cache))
            .await?;
        if matches!(read, BlobRead::Hit) {
            self.cache
                .touch(&model.name, &model.version, sha, length, &model.target.path)
                .await?;
        }
        Ok(read)
    }

    /// Downloads `target` from `url` into `out`, streaming every chunk through the signed
    /// length cap and hashes, reporting progress and honouring the abort flag; `staged`
    /// writes the cache's chunks as they complete ([`Cache::write_behind`]). On error the
    /// caller discards what `out` received.
    async fn download_verified(
        &self,
        target: &TargetInfo,
        url: &str,
        out: &mut dyn ArtifactOut,
        opts: &FetchOptions<'_>,
        source: Source,
        mut staged: Option<&mut StagedWrites>,
    ) -> Result<(), RegistryError> {
        let aborted = || opts.abort.is_some_and(AbortFlag::is_aborted);
        if aborted() {
            return Err(RegistryError::Aborted);
        }
        let length = target.length;
        let mut verifier = TargetVerifier::new(target)?;
        // Where the host hashes a whole buffer faster (WebCrypto), the SHA-256 waits for the
        // last byte; the signed length is still enforced chunk by chunk.
        let whole = out.digests_whole() && verifier.defer_sha256();
        let mut loaded = 0u64;
        let report = |status, loaded| {
            if let Some(p) = opts.progress {
                p(&Progress::new(
                    Phase::Download,
                    status,
                    loaded,
                    length,
                    source,
                ));
            }
        };
        report(Status::Initiate, 0);
        let retried = |e: &FetchEvent| {
            if let Some(p) = opts.progress {
                p(&Progress::retried(Phase::Download, e, length, source));
            }
        };
        let result = {
            let mut sink = |chunk: &[u8]| -> Result<(), ()> {
                if aborted() {
                    return Err(());
                }
                verifier.update(chunk);
                out.push(chunk);
                loaded += chunk.len() as u64;
                if let Some(staged) = staged.as_deref_mut() {
                    self.cache.write_behind(staged, &*out, loaded);
                }
                report(Status::Progress, loaded);
                Ok(())
            };
            race(
                self.fetch.fetch_observed(url, length, &mut sink, &retried),
                opts.abort,
            )
            .await
        };
        match result {
            None => return Err(RegistryError::Aborted),
            Some(Err(_)) if aborted() => return Err(RegistryError::Aborted),
            Some(Err(source)) => {
                return Err(TufError::Fetch {
                    role: target.path.clone(),
                    source,
                }
                .into())
            }
            Some(Ok(())) => {}
        }
        report(Status::Done, loaded);
        let verify = |status| {
            if let Some(p) = opts.progress {
                p(&Progress::new(
                    Phase::Verify,
                    status,
                    loaded,
                    length,
                    source,
                ));
            }
        };
        verify(Status::Initiate);
        if !whole {
            verifier.finish()?;
        } else {
            verifier.check_length()?;
            let digest = race(out.sha256(), opts.abort)
                .await
                .ok_or(RegistryError::Aborted)?;
            verifier.finish_with(Some(digest.0))?;
        }
        verify(Status::Done);
        Ok(())
    }

    /// Fetches another signed file of a model version (`file` beside `model.onnx`, such as
    /// `eval.csv` or `profile.json`) into `out`: the same streaming length and hash checks as
    /// models, not cached (such files are small and read once). Errors as
    /// [`Self::fetch_model_into`], and `MODEL_NOT_FOUND` when the version signs no such file.
    /// Returns the signed target.
    pub async fn fetch_file_into(
        &self,
        reference: &str,
        file: &str,
        out: &mut dyn ArtifactOut,
        opts: FetchOptions<'_>,
    ) -> Result<TargetInfo, RegistryError> {
        let cat = self.require_catalogue()?;
        if self.usable(&cat)? {
            return Err(RegistryError::Expired {
                role: cat.expires.role.clone(),
                expires: cat.expires.text.clone(),
            });
        }
        let resolved = cat.resolve(&ModelRef::parse(reference)?)?;
        let model = &resolved.model;
        let SignedFile { target, url } =
            model
                .files
                .get(file)
                .ok_or_else(|| CatalogueError::ModelNotFound {
                    reference: format!("{reference} {file}"),
                    reason: format!(
                        "{}@{} signs no file {file:?} (it has: {})",
                        model.name,
                        model.version,
                        model.files.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                })?;
        if target.length > self.config.max_model_bytes {
            return Err(RegistryError::TooLarge {
                what: target.path.clone(),
                length: target.length,
                limit: self.config.max_model_bytes,
            });
        }
        out.start(target.length)?;
        self.download_verified(target, url, out, &opts, Source::Network, None)
            .await?;
        Ok(target.clone())
    }

    /// [`Self::fetch_model_into`] a new `Vec<u8>`.
    pub async fn fetch_model(
        &self,
        reference: &str,
        opts: FetchOptions<'_>,
    ) -> Result<(Vec<u8>, Fetched), RegistryError> {
        let mut bytes = Vec::new();
        let fetched = self.fetch_model_into(reference, &mut bytes, opts).await?;
        Ok((bytes, fetched))
    }

    /// The version a reference names for cache operations: resolved through the catalogue
    /// when there is one, else (or when the catalogue no longer lists it) taken literally from
    /// `name@version`.
    pub fn cache_target(&self, reference: &str) -> Result<VersionId, RegistryError> {
        let r = ModelRef::parse(reference)?;
        let literal = r.version_like().map(|v| VersionId {
            name: r.name.clone(),
            version: v.to_string(),
        });
        match self.catalogue().map(|c| c.resolve(&r)) {
            Some(Ok(res)) => Ok(VersionId {
                name: res.model.name,
                version: res.model.version,
            }),
            Some(Err(e)) => literal.ok_or(e.into()),
            None => literal.ok_or_else(|| RegistryError::NotReady {
                reason: "name a version (name@version) or refresh first".into(),
            }),
        }
    }

    /// Pins a version so eviction never removes it.
    pub async fn pin(&self, reference: &str) -> Result<VersionId, RegistryError> {
        let id = self.cache_target(reference)?;
        self.cache.pin(&id.name, &id.version).await?;
        Ok(id)
    }

    /// Unpins a version; returns whether it was pinned.
    pub async fn unpin(&self, reference: &str) -> Result<bool, RegistryError> {
        let id = self.cache_target(reference)?;
        Ok(self.cache.unpin(&id.name, &id.version).await?)
    }

    /// Every cached or pinned version ([`Cache::list`]), each marked `verified` when the
    /// current verified catalogue signs that `name@version` with the SHA-256 and length the
    /// cache index records. The index itself is only this client's bookkeeping (anyone who can
    /// write the store can write it); what is served is always re-verified against the
    /// catalogue, and this flag is how a listing tells which entries are what they claim.
    pub async fn cache_list(&self) -> Result<Vec<CacheEntry>, RegistryError> {
        let mut list = self.cache.list().await?;
        if let Some(cat) = self.catalogue() {
            for e in &mut list {
                let signed = cat.models.get(&e.name).and_then(|m| m.version(&e.version));
                e.verified = e.cached
                    && signed.is_some_and(|v| {
                        v.sha256().as_deref() == Some(e.sha256.as_str())
                            && v.target.length == e.bytes
                    });
            }
        }
        Ok(list)
    }

    /// Clears this registry's state in the store: with `keep_trust`, the cached artifacts
    /// only ([`Cache::clear_artifacts`]); without, everything, trusted metadata and root
    /// history included ([`Cache::clear`]), so the next start trusts the pinned root alone.
    /// What this client verified in this session stays usable in memory.
    pub async fn clear_cache(&self, keep_trust: bool) -> Result<(), RegistryError> {
        // Under the updater's lock: a refresh persisting metadata meanwhile would race.
        let _up = self.updater.lock().await;
        if keep_trust {
            self.cache.clear_artifacts().await?;
        } else {
            self.cache.clear().await?;
        }
        Ok(())
    }

    /// Evicts a cached version (`PINNED` if pinned); returns whether it was cached.
    pub async fn evict(&self, reference: &str) -> Result<bool, RegistryError> {
        let id = self.cache_target(reference)?;
        self.cache.evict(&id.name, &id.version).await
    }
}
