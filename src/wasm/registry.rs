//! `Registry`: the registry client for pages, workers and Node. Converts arguments, calls
//! [`crate::registry::Registry`], converts the results; errors are `Error`s with a `code`.

use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

use super::engine::JsModel;
use super::error::{coded_error, js_error, to_js, JsResult};
use super::eval::{data_bytes, prepare, run_evaluation};
use crate::card::ModelCard;
use crate::clock::{Clock, FixedClock, SystemClock, UnixSeconds};
use crate::engine::Model;
use crate::eval::ModelIdentity;
use crate::fetch::web::WebFetch;
use crate::registry::catalogue::Aliases;
use crate::registry::{
    AbortFlag, ArtifactOut, FetchOptions, Fetched, Progress, Registry, RegistryConfig,
    RegistryError, Resolved,
};
use crate::store::indexeddb::{storage_estimate, storage_persist, IndexedDbStore};
use crate::store::js::JsObjectStore;
use crate::store::{MemoryStore, Op, StorageEstimate, Store, StoreError};
use crate::tuf::TargetInfo;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A store the caller provides (for runtimes without IndexedDB). Each method may return a
 * value or a promise. Without `keys`, the key list is kept under `__edge_registry_keys__`. */
export interface RegistryStore {
  get(key: string): Uint8Array | ArrayBuffer | undefined | null | Promise<Uint8Array | ArrayBuffer | undefined | null>;
  put(key: string, bytes: Uint8Array): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  keys?(prefix: string): string[] | Promise<string[]>;
}
/** Limits of a registry client. All sizes in bytes. */
export interface RegistryLimits {
  /** Most bytes of artifacts the cache may hold (default: only the browser's quota). */
  maxCacheBytes?: number;
  /** Chunk size of cached artifacts (default 8 MiB). */
  chunkBytes?: number;
  /** Largest model accepted (default 2 GiB). */
  maxModelBytes?: number;
  /** Most targets roles read to list the catalogue (default 256). */
  maxRoles?: number;
  /** Most target paths listed (default 100000). */
  maxTargets?: number;
  /** Age after which an unfinished download's chunks are garbage (default 3600 s). */
  staleStagingSeconds?: number;
}
export interface RegistryOptions {
  /** The repository: metadata at `url/metadata/`, targets at `url/targets/`. */
  url: string;
  /** The pinned root metadata (root.json bytes, its text, or its parsed JSON): the only
   * trust anchor. Every start begins from it and follows stored or fetched root rotations
   * only as far as its keys signed them; nothing another script writes into the cache can
   * replace it. There is no trust-on-first-use mode: ship the root with your code. */
  trustedRoot: Uint8Array | ArrayBuffer | string | object;
  /** Names this registry inside the cache (default: its URL). The cache keeps each
   * registry's state under a namespace derived from the pinned root and this id; give the
   * mirrors of one registry the same id to share cached state between them. */
  registryId?: string;
  /** Where verified models and trusted metadata are kept. Default: "indexeddb" where
   * `indexedDB` exists and opens, else "memory". */
  cache?: "indexeddb" | "memory" | RegistryStore;
  /** IndexedDB database name (default `edge-registry:` + url). */
  dbName?: string;
  /** A fixed current time (ms since the epoch, or a Date), for tests and reproducibility. */
  now?: number | Date;
  limits?: RegistryLimits;
  /** Opt-in: when offline, serve cached models from expired (but verified) metadata. Results
   * then say `expired: true`. Never used for downloads. */
  allowExpiredOffline?: boolean;
}
export interface RoleInfo { version: number; expires: string; }
export interface RefreshResult {
  /** The network failed; the stored trusted metadata (verified again) is in use. */
  offline: boolean;
  /** That metadata has expired and is used under `allowExpiredOffline`. */
  expired: boolean;
  networkError: { code: string; message: string } | null;
  /** The time every expiry was checked against (ISO 8601). */
  referenceTime: string;
  rootRotations: number;
  roles: { root: RoleInfo; timestamp: RoleInfo; snapshot: RoleInfo; targets: RoleInfo };
  /** Models in the catalogue. */
  models: number;
  /** Roles or targets left out of the catalogue, with the reason. */
  problems: string[];
}
/** A model card (the signed `custom` field of the model's target). */
export interface ModelCard {
  name?: string; version?: string; format?: string; task?: string;
  inputs?: TensorSpec[]; outputs?: TensorSpec[]; labels?: string[];
  [field: string]: unknown;
}
export interface TargetFile { path: string; length: number; sha256: string | null; }
export interface ModelVersionInfo {
  version: string; path: string; length: number; sha256: string | null;
  /** The role that signed it. */
  role: string;
  card: ModelCard | null;
  /** Other files of this version, by file name. */
  files: Record<string, TargetFile>;
}
export interface ModelInfo {
  name: string;
  /** Lowest first, in the registry's version order. */
  versions: ModelVersionInfo[];
  /** Alias to version; null when the model has no aliases document or it is unavailable. */
  aliases: Record<string, string> | null;
  /** Why the aliases are unavailable, if they are. */
  aliasesError: string | null;
  latest: string | null;
}
export interface Resolution {
  name: string; version: string; alias: string | null; path: string; length: number;
  sha256: string | null; card: ModelCard | null;
}
export interface FetchProgress { loaded: number; total: number; source: "cache" | "network"; }
export interface FetchModelOptions {
  onProgress?: (progress: FetchProgress) => void;
  signal?: AbortSignal;
}
export interface LoadOptions extends FetchModelOptions {
  /** Evaluate the model on its signed evaluation set against the gates its card declares,
   * and refuse it with `GATE_FAILED` (the numbers in the message) when one fails. */
  verifyGate?: boolean;
}
export interface FetchModelResult {
  bytes: Uint8Array;
  name: string; version: string; alias: string | null; path: string; sha256: string;
  length: number; card: ModelCard | null;
  source: "cache" | "network";
  /** Served while the repository was unreachable. */
  offline: boolean;
  /** Served from expired metadata under `allowExpiredOffline`. */
  expired: boolean;
  /** A cached copy failed verification and was replaced. */
  cacheRepaired: boolean;
}
export interface CacheEntry {
  model: string; version: string; sha256: string; bytes: number;
  /** Last use, ms since the epoch (0 if not cached). */
  lastUsed: number;
  pinned: boolean; cached: boolean;
  /** The current verified catalogue signs this model@version with this sha256 and length.
   *  The cache index is bookkeeping that any writer of the store could change; only this
   *  flag, derived from verified metadata, says an entry is what it claims. */
  verified: boolean;
}
export interface ClearOptions {
  /** Keep the trusted metadata and root history (the rollback reference); clear only the
   *  cached models. Default false: everything this registry stored is removed, and the next
   *  start trusts the pinned root alone. */
  keepTrust?: boolean;
}
export interface CacheUsage {
  /** Bytes of verified artifacts held by this registry's cache. */
  bytes: number; blobs: number; versions: number;
  /** The configured limit (`limits.maxCacheBytes`). */
  limit: number | null;
  /** `navigator.storage.estimate()` where present (the whole origin). */
  browser: { usage: number; quota: number } | null;
}
"#;

/// The store behind a JS registry.
#[derive(Debug)]
pub enum AnyStore {
    /// IndexedDB.
    IndexedDb(IndexedDbStore),
    /// Memory.
    Memory(MemoryStore),
    /// The caller's object.
    Js(JsObjectStore),
}

impl Store for AnyStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.get(key).await,
            AnyStore::Memory(s) => s.get(key).await,
            AnyStore::Js(s) => s.get(key).await,
        }
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.commit(ops).await,
            AnyStore::Memory(s) => s.commit(ops).await,
            AnyStore::Js(s) => s.commit(ops).await,
        }
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.keys(prefix).await,
            AnyStore::Memory(s) => s.keys(prefix).await,
            AnyStore::Js(s) => s.keys(prefix).await,
        }
    }

    async fn commit_if(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        ops: &[Op<'_>],
    ) -> Result<bool, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.commit_if(key, expected, ops).await,
            AnyStore::Memory(s) => s.commit_if(key, expected, ops).await,
            AnyStore::Js(s) => s.commit_if(key, expected, ops).await,
        }
    }

    async fn estimate(&self) -> Result<Option<StorageEstimate>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.estimate().await,
            // The memory and caller stores do not live in the origin's storage.
            AnyStore::Memory(_) | AnyStore::Js(_) => Ok(None),
        }
    }
}

/// The clock behind a JS registry.
#[derive(Debug)]
pub enum AnyClock {
    /// `Date.now()`.
    System(SystemClock),
    /// A time the caller fixed (`now` option).
    Fixed(FixedClock),
}

impl Clock for AnyClock {
    fn now(&self) -> UnixSeconds {
        match self {
            AnyClock::System(c) => c.now(),
            AnyClock::Fixed(c) => c.now(),
        }
    }
}

type Inner = Registry<WebFetch, AnyStore, AnyClock>;

/// The artifact's bytes, assembled directly in a JS `Uint8Array` of the signed length: the
/// one full-size copy, outside wasm memory.
#[derive(Default)]
struct JsBytes {
    array: Option<Uint8Array>,
    filled: u32,
}

impl ArtifactOut for JsBytes {
    fn start(&mut self, len: u64) -> Result<(), RegistryError> {
        let n = u32::try_from(len).map_err(|_| RegistryError::TooLarge {
            what: "artifact (a Uint8Array)".into(),
            length: len,
            limit: u64::from(u32::MAX),
        })?;
        self.array = Some(Uint8Array::new_with_length(n));
        self.filled = 0;
        Ok(())
    }

    fn push(&mut self, chunk: &[u8]) {
        if let Some(a) = &self.array {
            let n = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            let end = self.filled.saturating_add(n).min(a.length());
            let dst = a.subarray(self.filled, end);
            if dst.length() == n {
                dst.copy_from(chunk);
            }
            self.filled = end;
        }
    }

    fn slice<'a>(&'a self, start: usize, end: usize, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        let (Some(a), Ok(s), Ok(e)) = (&self.array, u32::try_from(start), u32::try_from(end))
        else {
            return &[];
        };
        if s > e || e > self.filled {
            return &[];
        }
        scratch.resize(end - start, 0);
        a.subarray(s, e).copy_to(scratch);
        scratch
    }
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn bad_arg(msg: &str) -> JsValue {
    coded_error("INVALID_ARGUMENT", msg)
}

fn opt_number(obj: &JsValue, key: &str) -> JsResult<Option<f64>> {
    let v = get(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(Some)
        .ok_or_else(|| bad_arg(&format!("{key} must be a non-negative number")))
}

fn opt_bool(obj: &JsValue, key: &str) -> JsResult<Option<bool>> {
    let v = get(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_bool()
        .map(Some)
        .ok_or_else(|| bad_arg(&format!("{key} must be a boolean")))
}

fn opt_length(obj: &JsValue, key: &str) -> JsResult<Option<u64>> {
    opt_number(obj, key)?
        .map(|n| super::error::length_from_js(n, key))
        .transpose()
}

fn root_bytes(v: &JsValue) -> JsResult<Vec<u8>> {
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(Uint8Array::new(b).to_vec());
    }
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if v.is_object() {
        let text = js_sys::JSON::stringify(v)
            .map_err(|_| bad_arg("trustedRoot could not be serialised as JSON"))?;
        return Ok(String::from(text).into_bytes());
    }
    Err(bad_arg(
        "trustedRoot must be root.json as a Uint8Array, ArrayBuffer, string or object",
    ))
}

fn fixed_now(v: &JsValue) -> JsResult<Option<UnixSeconds>> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let ms = if let Some(d) = v.dyn_ref::<js_sys::Date>() {
        d.get_time()
    } else {
        v.as_f64().unwrap_or(f64::NAN)
    };
    if !ms.is_finite() {
        return Err(bad_arg(
            "now must be a Date or milliseconds since the epoch",
        ));
    }
    // Seconds since the epoch fit an i64 for every finite Date.
    Ok(Some((ms / 1000.0).floor() as i64))
}

fn random_id() -> String {
    let a = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let b = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    format!("{:016x}", (a << 32) | b)
}

async fn open_store(options: &JsValue, url: &str) -> JsResult<(AnyStore, &'static str)> {
    let cache = get(options, "cache");
    let db_name = match get(options, "dbName").as_string() {
        Some(n) => n,
        None => format!("edge-registry:{url}"),
    };
    let kind = if cache.is_undefined() || cache.is_null() {
        // The default: IndexedDB where it exists and opens (private modes may refuse it),
        // else memory.
        if IndexedDbStore::available() {
            if let Ok(s) = IndexedDbStore::open(&db_name).await {
                return Ok((AnyStore::IndexedDb(s), "indexeddb"));
            }
        }
        "memory"
    } else if let Some(s) = cache.as_string() {
        match s.as_str() {
            "indexeddb" => "indexeddb",
            "memory" => "memory",
            other => {
                return Err(bad_arg(&format!(
                    "cache must be \"indexeddb\", \"memory\" or a store object, not {other:?}"
                )))
            }
        }
    } else {
        let obj: Object = cache
            .dyn_into()
            .map_err(|_| bad_arg("cache must be a string or a store object"))?;
        let store = JsObjectStore::new(obj).map_err(|e| js_error(&e))?;
        return Ok((AnyStore::Js(store), "custom"));
    };
    Ok(match kind {
        "indexeddb" => (
            AnyStore::IndexedDb(
                IndexedDbStore::open(&db_name)
                    .await
                    .map_err(|e| js_error(&e))?,
            ),
            "indexeddb",
        ),
        _ => (AnyStore::Memory(MemoryStore::new()), "memory"),
    })
}

fn config_from(options: &JsValue, url: &str) -> JsResult<RegistryConfig> {
    let mut config = RegistryConfig::new(url);
    config.allow_expired_offline = get(options, "allowExpiredOffline").is_truthy();
    let id = get(options, "registryId");
    if !id.is_undefined() && !id.is_null() {
        config.registry_id = Some(
            id.as_string()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad_arg("options.registryId must be a non-empty string"))?,
        );
    }
    config.cache.instance_id = random_id();
    let limits = get(options, "limits");
    if !limits.is_undefined() && !limits.is_null() {
        config.cache.max_bytes = opt_length(&limits, "maxCacheBytes")?;
        if let Some(n) = opt_length(&limits, "chunkBytes")? {
            config.cache.chunk_bytes = n;
        }
        if let Some(n) = opt_length(&limits, "maxModelBytes")? {
            config.max_model_bytes = n;
        }
        if let Some(n) = opt_length(&limits, "maxRoles")? {
            config.max_roles = u32::try_from(n).map_err(|_| bad_arg("maxRoles is too large"))?;
        }
        if let Some(n) = opt_length(&limits, "maxTargets")? {
            config.max_targets =
                usize::try_from(n).map_err(|_| bad_arg("maxTargets is too large"))?;
        }
        if let Some(n) = opt_length(&limits, "staleStagingSeconds")? {
            config.cache.stale_staging_secs =
                i64::try_from(n).map_err(|_| bad_arg("staleStagingSeconds is too large"))?;
        }
    }
    Ok(config)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleInfo {
    version: u64,
    expires: String,
}

#[derive(Serialize)]
struct Roles {
    root: RoleInfo,
    timestamp: RoleInfo,
    snapshot: RoleInfo,
    targets: RoleInfo,
}

#[derive(Serialize)]
struct NetworkError {
    code: String,
    message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefreshResult {
    offline: bool,
    expired: bool,
    network_error: Option<NetworkError>,
    reference_time: String,
    root_rotations: u32,
    roles: Roles,
    models: usize,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct TargetFile {
    path: String,
    length: u64,
    sha256: Option<String>,
}

fn target_file(t: &TargetInfo) -> TargetFile {
    TargetFile {
        path: t.path.clone(),
        length: t.length,
        sha256: t.hashes.get("sha256").cloned(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo<'a> {
    version: &'a str,
    path: &'a str,
    length: u64,
    sha256: Option<String>,
    role: &'a str,
    card: Option<&'a serde_json::Value>,
    files: std::collections::BTreeMap<&'a str, TargetFile>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelInfo<'a> {
    name: &'a str,
    versions: Vec<VersionInfo<'a>>,
    aliases: Option<&'a std::collections::BTreeMap<String, String>>,
    aliases_error: Option<&'a str>,
    latest: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Resolution<'a> {
    name: &'a str,
    version: &'a str,
    alias: Option<&'a str>,
    path: &'a str,
    length: u64,
    sha256: Option<String>,
    card: Option<&'a serde_json::Value>,
}

fn resolution(r: &Resolved) -> Resolution<'_> {
    Resolution {
        name: &r.model.name,
        version: &r.model.version,
        alias: r.alias.as_deref(),
        path: &r.model.target.path,
        length: r.model.target.length,
        sha256: r.model.sha256(),
        card: r.model.card(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FetchResult<'a> {
    name: &'a str,
    version: &'a str,
    alias: Option<&'a str>,
    path: &'a str,
    sha256: &'a str,
    length: u64,
    card: Option<&'a serde_json::Value>,
    source: &'static str,
    offline: bool,
    expired: bool,
    cache_repaired: bool,
}

fn fetched_to_js(f: &Fetched, bytes: Option<Uint8Array>) -> JsResult<JsValue> {
    let obj = to_js(&FetchResult {
        name: &f.name,
        version: &f.version,
        alias: f.alias.as_deref(),
        path: &f.path,
        sha256: &f.sha256,
        length: f.length,
        card: f.card.as_ref(),
        source: f.source.as_str(),
        offline: f.offline,
        expired: f.expired,
        cache_repaired: f.cache_repaired,
    })?;
    if let Some(b) = bytes {
        Reflect::set(&obj, &JsValue::from_str("bytes"), &b)
            .map_err(|_| coded_error("INTERNAL", "could not attach the bytes"))?;
    }
    Ok(obj)
}

/// `onProgress` and `signal` of `fetchModel` / `load`, wired to the core's callback and abort
/// flag for the duration of one call.
struct CallOptions {
    on_progress: Option<Function>,
    signal: Option<AbortSignal>,
    flag: AbortFlag,
    listener: Option<Closure<dyn FnMut()>>,
    verify_gate: bool,
}

impl CallOptions {
    fn parse(options: &JsValue) -> JsResult<CallOptions> {
        let mut out = CallOptions {
            on_progress: None,
            signal: None,
            flag: AbortFlag::new(),
            listener: None,
            verify_gate: false,
        };
        if options.is_undefined() || options.is_null() {
            return Ok(out);
        }
        let p = get(options, "onProgress");
        if !p.is_undefined() && !p.is_null() {
            out.on_progress = Some(
                p.dyn_into()
                    .map_err(|_| bad_arg("onProgress must be a function"))?,
            );
        }
        if let Some(g) = opt_bool(options, "verifyGate")? {
            out.verify_gate = g;
        }
        let s = get(options, "signal");
        if !s.is_undefined() && !s.is_null() {
            let signal: AbortSignal = s
                .dyn_into()
                .map_err(|_| bad_arg("signal must be an AbortSignal"))?;
            if signal.aborted() {
                out.flag.abort();
            }
            let flag = out.flag.clone();
            let listener = Closure::<dyn FnMut()>::new(move || flag.abort());
            signal
                .add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref())
                .map_err(|_| bad_arg("could not listen to the AbortSignal"))?;
            out.listener = Some(listener);
            out.signal = Some(signal);
        }
        Ok(out)
    }

    fn progress(&self, p: &Progress) {
        if let Some(f) = &self.on_progress {
            let event = Object::new();
            let set = |k: &str, v: JsValue| {
                let _ = Reflect::set(&event, &JsValue::from_str(k), &v);
            };
            // Byte counts below 2^53 convert exactly.
            set("loaded", JsValue::from_f64(p.loaded as f64));
            set("total", JsValue::from_f64(p.total as f64));
            set("source", JsValue::from_str(p.source.as_str()));
            // A throwing callback must not break the download.
            let _ = f.call1(&JsValue::NULL, &event);
        }
    }
}

impl Drop for CallOptions {
    fn drop(&mut self) {
        if let (Some(s), Some(l)) = (&self.signal, &self.listener) {
            let _ = s.remove_event_listener_with_callback("abort", l.as_ref().unchecked_ref());
        }
    }
}

struct Shared {
    reg: Inner,
    kind: &'static str,
}

/// A client of one signed model registry.
///
/// ```js
/// import init, { Registry } from "edge-registry";
/// await init();
/// const registry = await Registry.open({
///   url: "https://models.example.com/registry",
///   trustedRoot: await (await fetch("/root.json")).arrayBuffer(), // shipped with the app
/// });
/// await registry.refresh();
/// const { bytes, card, source } = await registry.fetchModel("digits@production", {
///   onProgress: ({ loaded, total, source }) => console.log(source, loaded, "/", total),
/// });
/// const model = await registry.load("digits");  // a Model, checked against its card
/// ```
#[wasm_bindgen(js_name = Registry)]
pub struct JsRegistry {
    inner: Rc<Shared>,
}

fn promise<F>(fut: F) -> Promise
where
    F: std::future::Future<Output = JsResult<JsValue>> + 'static,
{
    future_to_promise(fut)
}

#[wasm_bindgen(js_class = Registry)]
impl JsRegistry {
    /// Opens a client: checks the pinned root, opens the cache (IndexedDB where it exists,
    /// else memory, or the store object given), collects leftovers of interrupted downloads,
    /// and loads the stored trusted metadata if it still verifies (so a second visit can work
    /// offline). Nothing is fetched until `refresh()`.
    ///
    /// ```js
    /// const registry = await Registry.open({ url, trustedRoot, cache: "indexeddb",
    ///   limits: { maxCacheBytes: 500e6 } });
    /// ```
    pub async fn open(
        #[wasm_bindgen(unchecked_param_type = "RegistryOptions")] options: JsValue,
    ) -> JsResult<JsRegistry> {
        if !options.is_object() {
            return Err(bad_arg("Registry.open needs an options object"));
        }
        let url = get(&options, "url")
            .as_string()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| bad_arg("options.url must be the repository URL"))?;
        let root = root_bytes(&get(&options, "trustedRoot"))?;
        let config = config_from(&options, &url)?;
        let clock = match fixed_now(&get(&options, "now"))? {
            Some(t) => AnyClock::Fixed(FixedClock::new(t)),
            None => AnyClock::System(SystemClock),
        };
        let (store, kind) = open_store(&options, &url).await?;
        let reg = Registry::open(config, WebFetch::new(), store, clock, &root)
            .await
            .map_err(|e| js_error(&e))?;
        Ok(JsRegistry {
            inner: Rc::new(Shared { reg, kind }),
        })
    }

    /// Which cache backs this client: `"indexeddb"`, `"memory"` or `"custom"`.
    #[wasm_bindgen(getter, js_name = cacheKind)]
    pub fn cache_kind(&self) -> String {
        self.inner.kind.to_string()
    }

    /// Runs the TUF client workflow (root rotation, timestamp, snapshot, targets, delegated
    /// roles) and rebuilds the model catalogue. Resolves to each role's version and expiry.
    /// When the repository is unreachable it resolves with `offline: true` using the stored
    /// trusted metadata (verified again) while it is unexpired; otherwise it rejects with a
    /// coded error (`NETWORK`, `EXPIRED`, `ROLLBACK`, `SIGNATURE_THRESHOLD`, ...).
    ///
    /// ```js
    /// const { offline, roles } = await registry.refresh();
    /// console.log(roles.targets.version, roles.timestamp.expires);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<RefreshResult>")]
    pub fn refresh(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let o = inner.reg.refresh().await.map_err(|e| js_error(&e))?;
            let role = |s: &crate::tuf::RoleStatus| RoleInfo {
                version: s.version,
                expires: s.expires.clone(),
            };
            to_js(&RefreshResult {
                offline: o.offline,
                expired: o.expired,
                network_error: o
                    .network_error
                    .map(|(code, message)| NetworkError { code, message }),
                reference_time: crate::tuf::time::format_expires(o.report.reference_time),
                root_rotations: o.report.root_rotations,
                roles: Roles {
                    root: role(&o.report.root),
                    timestamp: role(&o.report.timestamp),
                    snapshot: role(&o.report.snapshot),
                    targets: role(&o.report.targets),
                },
                models: o.models,
                problems: o.problems,
            })
        })
    }

    /// Every model the trusted metadata signs: versions (lowest first) with their cards,
    /// aliases, the latest version. Throws `INVALID_STATE` before the first refresh.
    ///
    /// ```js
    /// for (const m of registry.models()) console.log(m.name, m.aliases, m.latest);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "ModelInfo[]")]
    pub fn models(&self) -> JsResult<JsValue> {
        let cat = self.inner.reg.catalogue().ok_or_else(|| {
            js_error(&RegistryError::NotReady {
                reason: "call refresh() first".into(),
            })
        })?;
        let list: Vec<ModelInfo<'_>> = cat
            .models
            .values()
            .map(|m| ModelInfo {
                name: &m.name,
                versions: m
                    .versions
                    .iter()
                    .map(|v| VersionInfo {
                        version: &v.version,
                        path: &v.target.path,
                        length: v.target.length,
                        sha256: v.sha256(),
                        role: &v.target.role,
                        card: v.card(),
                        files: v
                            .files
                            .iter()
                            .map(|(k, (t, _))| (k.as_str(), target_file(t)))
                            .collect(),
                    })
                    .collect(),
                aliases: match &m.aliases {
                    Aliases::Known(a) => Some(a),
                    _ => None,
                },
                aliases_error: match &m.aliases {
                    Aliases::Unavailable(why) => Some(why.as_str()),
                    _ => None,
                },
                latest: m.latest().map(|v| v.version.as_str()),
            })
            .collect();
        to_js(&list)
    }

    /// Resolves `"name@alias"`, `"name@version"` or a bare `"name"` (its `production` alias,
    /// else its highest version) to one signed version. Throws `BAD_REF`, `MODEL_NOT_FOUND`,
    /// `ALIASES_UNAVAILABLE` or `INVALID_STATE`.
    ///
    /// ```js
    /// registry.resolve("digits@production"); // { name: "digits", version: "1", alias: "production", ... }
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Resolution")]
    pub fn resolve(&self, reference: &str) -> JsResult<JsValue> {
        let r = self
            .inner
            .reg
            .resolve(reference)
            .map_err(|e| js_error(&e))?;
        to_js(&resolution(&r))
    }

    /// Resolves `reference` and returns the verified bytes and the model card: from the cache
    /// when a blob with the signed SHA-256 is there (re-hashed while it is read), else
    /// downloaded with a streaming SHA-256 over the response chunks, aborted the moment the
    /// signed length is exceeded (`LENGTH_EXCEEDED`), refused on a digest mismatch
    /// (`HASH_MISMATCH`), then cached. `onProgress` receives `{ loaded, total, source }`; an
    /// `AbortSignal` cancels cleanly (`ABORTED`, nothing cached). Also `QUOTA`, `EXPIRED`,
    /// `NETWORK`, `MODEL_NOT_FOUND`.
    ///
    /// ```js
    /// const ctl = new AbortController();
    /// const r = await registry.fetchModel("digits@2", { signal: ctl.signal,
    ///   onProgress: (p) => bar.value = p.loaded / p.total });
    /// r.bytes; r.card; r.source; // "cache" | "network"
    /// ```
    #[wasm_bindgen(js_name = fetchModel, unchecked_return_type = "Promise<FetchModelResult>")]
    pub fn fetch_model(
        &self,
        reference: String,
        #[wasm_bindgen(unchecked_optional_param_type = "FetchModelOptions")] options: Option<
            Object,
        >,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let call = CallOptions::parse(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
            let progress = |p: &Progress| call.progress(p);
            let opts = FetchOptions {
                progress: Some(&progress),
                abort: Some(&call.flag),
            };
            let mut out = JsBytes::default();
            let fetched = inner
                .reg
                .fetch_model_into(&reference, &mut out, opts)
                .await
                .map_err(|e| js_error(&e))?;
            fetched_to_js(&fetched, out.array)
        })
    }

    /// Fetches another signed file of a model version (for example `"eval.csv"` or
    /// `"profile.json"`), verified against its signed length and SHA-256 while it streams.
    /// Such files are not cached. `MODEL_NOT_FOUND` when the version signs no such file.
    ///
    /// ```js
    /// const csv = await registry.fetchFile("digits@production", "eval.csv");
    /// const report = model.evaluate(csv);
    /// ```
    #[wasm_bindgen(js_name = fetchFile, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn fetch_file(
        &self,
        reference: String,
        file: String,
        #[wasm_bindgen(unchecked_optional_param_type = "FetchModelOptions")] options: Option<
            Object,
        >,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let call = CallOptions::parse(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
            let progress = |p: &Progress| call.progress(p);
            let opts = FetchOptions {
                progress: Some(&progress),
                abort: Some(&call.flag),
            };
            let mut out = JsBytes::default();
            inner
                .reg
                .fetch_file_into(&reference, &file, &mut out, opts)
                .await
                .map_err(|e| js_error(&e))?;
            Ok(out.array.map_or(JsValue::UNDEFINED, JsValue::from))
        })
    }

    /// Fetches the verified model like `fetchModel` and loads it with the inference engine,
    /// checked against the inputs and outputs its card declares (`BAD_CARD`,
    /// `SCHEMA_MISMATCH`). Resolves to a `Model`.
    ///
    /// ```js
    /// const model = await registry.load("digits@production");
    /// const { probabilities } = model.run({ input: { data: pixels, shape: [1, 64] } });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<Model>")]
    pub fn load(
        &self,
        reference: String,
        #[wasm_bindgen(unchecked_optional_param_type = "LoadOptions")] options: Option<Object>,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let call = CallOptions::parse(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
            Ok(load_model(&inner, &reference, &call).await?.into())
        })
    }

    /// Champion vs challenger: loads two versions (verified, cached) and evaluates both on the
    /// same rows of `data` (CSV or JSON; text or bytes), with metric deltas, paired bootstrap
    /// confidence intervals, McNemar's test for classifiers and a verdict per metric. The
    /// evaluation options are `model.evaluate`'s; the columns come from the first model's card.
    ///
    /// ```js
    /// const report = await registry.compare("digits@production", "digits@staging", csv);
    /// report.comparison.verdicts;
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<EvalReport>")]
    pub fn compare(
        &self,
        champion: String,
        challenger: String,
        #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] data: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EvalOptions")] options: JsValue,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let bytes = data_bytes(&data)?;
            let call = CallOptions::parse(&JsValue::UNDEFINED)?;
            let a = load_model(&inner, &champion, &call).await?;
            let b = load_model(&inner, &challenger, &call).await?;
            let prepared = prepare(&options, a.card.as_ref())?;
            run_evaluation(prepared, &bytes, Some(a.eval_model()), Some(b.eval_model()))
        })
    }

    /// The cache of verified models.
    #[wasm_bindgen(getter)]
    pub fn cache(&self) -> JsRegistryCache {
        JsRegistryCache {
            inner: Rc::clone(&self.inner),
        }
    }

    /// Closes the IndexedDB connection (no-op for other caches). The client is unusable after.
    pub fn close(&self) {
        if let AnyStore::IndexedDb(s) = self.inner.reg.cache().store().inner() {
            s.close();
        }
    }

    /// Deletes an IndexedDB database (for example a registry's `dbName`), forgetting its
    /// trusted metadata and cached models. Close clients of it first.
    ///
    /// ```js
    /// registry.close();
    /// await Registry.deleteDatabase("edge-registry:https://models.example.com/registry");
    /// ```
    #[wasm_bindgen(js_name = deleteDatabase)]
    pub async fn delete_database(name: String) -> JsResult<()> {
        IndexedDbStore::delete_database(&name)
            .await
            .map_err(|e| js_error(&e))
    }
}

/// Fetches (cache or network, verified), loads and, when asked, gate-checks a model.
async fn load_model(inner: &Shared, reference: &str, call: &CallOptions) -> JsResult<JsModel> {
    let progress = |p: &Progress| call.progress(p);
    let opts = FetchOptions {
        progress: Some(&progress),
        abort: Some(&call.flag),
    };
    let (model, fetched) = inner
        .reg
        .load(reference, opts)
        .await
        .map_err(|e| js_error(&e))?;
    let gates = if call.verify_gate {
        let report = inner
            .reg
            .verify_gates(&model, &fetched, opts)
            .await
            .map_err(|e| js_error(&e))?;
        Some(report)
    } else {
        None
    };
    let mut m = model_from_registry(model, &fetched, reference)?;
    m.gates = gates;
    Ok(m)
}

/// Wraps a model the registry verified and loaded, with its signed card and the reference that
/// reports name it by.
fn model_from_registry(model: Model, fetched: &Fetched, reference: &str) -> JsResult<JsModel> {
    let card = match &fetched.card {
        None => None,
        Some(v) => Some(
            ModelCard::from_value(v)
                .map_err(|e| coded_error("BAD_CARD", &format!("{}: {e}", fetched.path)))?,
        ),
    };
    let r = ModelIdentity {
        target_path: fetched.path.clone(),
        sha256: fetched.sha256.clone(),
        reference: Some(reference.to_string()),
    };
    Ok(JsModel::new(model, card, r))
}

/// `registry.cache`: list, measure, pin, evict and clear verified models.
///
/// ```js
/// await registry.cache.pin("digits@production");
/// for (const e of await registry.cache.list()) console.log(e.model, e.version, e.bytes, e.pinned);
/// const { bytes, browser } = await registry.cache.usage();
/// ```
#[wasm_bindgen(js_name = RegistryCache)]
pub struct JsRegistryCache {
    inner: Rc<Shared>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsCacheEntry {
    model: String,
    version: String,
    sha256: String,
    bytes: u64,
    last_used: i64,
    pinned: bool,
    cached: bool,
    verified: bool,
}

#[derive(Serialize)]
struct Browser {
    usage: u64,
    quota: u64,
}

#[derive(Serialize)]
struct JsUsage {
    bytes: u64,
    blobs: usize,
    versions: usize,
    limit: Option<u64>,
    browser: Option<Browser>,
}

#[wasm_bindgen(js_class = RegistryCache)]
impl JsRegistryCache {
    /// Cached (and pinned) versions, most recently used first.
    ///
    /// ```js
    /// await registry.cache.list(); // [{ model: "digits", version: "1", bytes: 2955, lastUsed, pinned, cached, verified }]
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<CacheEntry[]>")]
    pub fn list(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let list = inner.reg.cache_list().await.map_err(|e| js_error(&e))?;
            let out: Vec<JsCacheEntry> = list
                .into_iter()
                .map(|e| JsCacheEntry {
                    model: e.name,
                    version: e.version,
                    sha256: e.sha256,
                    bytes: e.bytes,
                    last_used: e.last_used.saturating_mul(1000),
                    pinned: e.pinned,
                    cached: e.cached,
                    verified: e.verified,
                })
                .collect();
            to_js(&out)
        })
    }

    /// Bytes held by this cache, and `navigator.storage.estimate()` where the runtime has it.
    ///
    /// ```js
    /// const { bytes, limit, browser } = await registry.cache.usage();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<CacheUsage>")]
    pub fn usage(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let u = inner.reg.cache().usage().await.map_err(|e| js_error(&e))?;
            let browser = match u.estimate {
                Some((usage, quota)) => Some(Browser { usage, quota }),
                None => storage_estimate().await.map(|e| Browser {
                    usage: e.usage,
                    quota: e.quota,
                }),
            };
            to_js(&JsUsage {
                bytes: u.bytes,
                blobs: u.blobs,
                versions: u.versions,
                limit: u.limit,
                browser,
            })
        })
    }

    /// Pins a version (resolved now: `pin("digits@production")` pins the version production
    /// points to). Pinned versions are never evicted to make room.
    ///
    /// ```js
    /// await registry.cache.pin("digits@production");
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<{ model: string; version: string }>")]
    pub fn pin(&self, reference: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let (model, version) = inner.reg.pin(&reference).await.map_err(|e| js_error(&e))?;
            let obj = Object::new();
            let _ = Reflect::set(&obj, &"model".into(), &model.into());
            let _ = Reflect::set(&obj, &"version".into(), &version.into());
            Ok(obj.into())
        })
    }

    /// Unpins a version; resolves to whether it was pinned.
    ///
    /// ```js
    /// await registry.cache.unpin("digits@1"); // true
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn unpin(&self, reference: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let was = inner
                .reg
                .unpin(&reference)
                .await
                .map_err(|e| js_error(&e))?;
            Ok(JsValue::from_bool(was))
        })
    }

    /// Removes a cached version (rejects with `PINNED` if pinned); resolves to whether it was
    /// cached.
    ///
    /// ```js
    /// await registry.cache.evict("digits@1");
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn evict(&self, reference: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let was = inner
                .reg
                .evict(&reference)
                .await
                .map_err(|e| js_error(&e))?;
            Ok(JsValue::from_bool(was))
        })
    }

    /// Removes everything this registry stored: cached models, pins, unfinished downloads,
    /// and the trusted metadata with its root history, so the next start trusts the pinned
    /// root alone. With `{ keepTrust: true }` only the models go and the trusted metadata
    /// stays (it protects against rollback).
    ///
    /// ```js
    /// await registry.cache.clear();                     // everything
    /// await registry.cache.clear({ keepTrust: true });  // models only
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn clear(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ClearOptions")] options: Option<JsValue>,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        let options = options.unwrap_or(JsValue::UNDEFINED);
        promise(async move {
            let keep_trust = if options.is_undefined() || options.is_null() {
                false
            } else if options.is_object() {
                opt_bool(&options, "keepTrust")?.unwrap_or(false)
            } else {
                return Err(bad_arg("cache.clear(options): options must be an object"));
            };
            inner
                .reg
                .clear_cache(keep_trust)
                .await
                .map_err(|e| js_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Asks the browser to make this origin's storage persistent (`navigator.storage.persist()`),
    /// so it is not evicted under storage pressure. Resolves to whether it is; `false` where
    /// the runtime cannot (workers, Node).
    ///
    /// ```js
    /// if (!(await registry.cache.persist())) console.warn("cache may be evicted by the browser");
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn persist(&self) -> Promise {
        promise(async move { Ok(JsValue::from_bool(storage_persist().await.unwrap_or(false))) })
    }
}
