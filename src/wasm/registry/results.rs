//! What `Registry` returns to JS: the TypeScript declarations, the serialisable results, and
//! the verified artifact's bytes assembled in a JS `Uint8Array`.

//! `Registry`: the registry client for pages, workers and Node. Converts arguments, calls
//! [`crate::registry::Registry`], converts the results; errors are `Error`s with a `code`.

use futures_util::future::LocalBoxFuture;
use js_sys::{Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::catalogue::Resolved;
use crate::digest::Sha256Digest;
use crate::error::Code;
use crate::registry::{ArtifactOut, Fetched, RegistryError};
use crate::tuf::TargetInfo;
use crate::wasm::error::{coded_error, to_js, JsResult};

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
  /** Chunk size of cached artifacts (default 4 MiB). */
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
  /** The stable id staged rollouts bucket this client by (a user or device id, 1 to 256
   * printable ASCII characters). Default: a random id kept in the cache store, so a device
   * keeps its version across reloads and restarts. */
  clientId?: string;
  /** The app's version, for a rollout's `min_client` rule (without it, rollouts with a
   * minimum keep this client on the alias's version). */
  clientVersion?: string;
  /** Every `load` of this client requires the model's author signature under this policy
   * (see `LoadOptions.requireModelSignature`; a call's own option wins). */
  requireModelSignature?: ModelSignaturePolicy;
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
  /** Retries of failed or stalled transfers (network errors, HTTP 408/425/429/5xx; none where
   * `navigator.onLine` is false): `false` for none. A retried download resumes with an HTTP
   * range after the bytes already verified. Defaults: 3 retries, 500 ms doubling up to
   * 8000 ms (a random wait between half and all of it), stalled after 30000 ms with nothing
   * received. */
  retry?: false | { retries?: number; baseDelayMs?: number; maxDelayMs?: number; stallTimeoutMs?: number };
  /** Cancels opening (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
}
/** Options of a long call: progress events and cancellation. */
export interface CallOptions {
  onProgress?: (event: ProgressInfo) => void;
  /** Cancels the call: it rejects with `signal.reason`, the request stops at once, and the
   * cache keeps only what was verified and committed before. */
  signal?: AbortSignal;
}
/** A progress event (transformers.js-like): `phase` is what is being done, `status` where it
 * is. `file` is the metadata file or the model's target path; `total` is 0 while unknown;
 * `progress` is a percentage where the total is known. Retries carry `attempt` (the one that
 * failed) and `delayMs`. */
export interface ProgressInfo {
  phase: "metadata" | "download" | "verify" | "cache" | "compile";
  status: "initiate" | "progress" | "done" | "retry";
  file: string;
  loaded: number;
  total: number;
  progress?: number;
  source: "cache" | "network";
  attempt?: number;
  delayMs?: number;
}
/** What a refresh changed in the catalogue (every version is `added` on the first one). */
export interface CatalogueChanges {
  added: { model: string; version: string }[];
  removed: { model: string; version: string }[];
  /** Re-signed with other bytes. */
  changed: { model: string; version: string }[];
  aliases: { model: string; alias: string; from: string | null; to: string | null }[];
  /** Staged rollouts started, changed (advanced, paused) or ended; absent when none. */
  rollouts?: { model: string; alias: string; from: Rollout | null; to: Rollout | null }[];
}
/** A signed staged rollout of an alias (the `rollouts` of its aliases document). */
export interface Rollout {
  /** The candidate version. */
  to: string;
  salt: string;
  /** Stages by start time (ISO 8601, UTC); a stage without `start` waits for the publisher. */
  stages: { start?: string; weights: Record<string, number> }[];
  paused_at?: string;
  /** Clients check the candidate's signed gates and fall back when it fails them. */
  gate?: boolean;
  min_client?: string;
}
/** This client's place in a rollout. */
export interface RolloutChoice {
  alias: string;
  /** The alias's version: where every fallback goes. */
  baseline: string;
  /** The candidate. */
  to: string;
  /** The version this client uses. */
  chosen: string;
  reason: "bucket" | "not_started" | "no_client_id" | "client_too_old" | "unknown_rules" | "not_signed";
  /** The active stage (0-based), null before the first. */
  stage: number | null;
  stages: number;
  /** The active stage's weights. */
  weights: Record<string, number>;
  /** This client's point in [0, 1) (6 decimals), null without a client id. */
  bucket: string | null;
  gate: boolean;
  paused: boolean;
  /** Set when the candidate failed on this device and the baseline was loaded instead. */
  rollback?: {
    from: string; sha256: string; code: string; reason: string;
    /** Unix seconds. */
    at: number;
    /** From an earlier check on this device (the candidate was not tried again). */
    remembered: boolean;
  };
}
export interface ResolveOptions {
  /** Bucket for this client id instead of the registry's (per-request, at the edge). */
  clientId?: string;
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
  /** What changed since the catalogue this client had before. */
  changes: CatalogueChanges;
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
  /** Alias to its staged rollout. */
  rollouts: Record<string, Rollout>;
}
export interface Resolution {
  name: string; version: string; alias: string | null; path: string; length: number;
  sha256: string | null; card: ModelCard | null;
  /** The alias's staged rollout and this client's place in it, when it has one. */
  rollout: RolloutChoice | null;
}
/** @deprecated the older name of `ProgressInfo`. */
export type FetchProgress = ProgressInfo;
export interface FetchModelOptions extends CallOptions {}
export interface LoadOptions extends FetchModelOptions {
  /** Evaluate the model on its signed evaluation set against the gates its card declares,
   * and refuse it with `GATE_FAILED` (the numbers in the message) when one fails. */
  verifyGate?: boolean;
  /** Bucket staged rollouts for this client id instead of the registry's. */
  clientId?: string;
  /** Hears a gated rollout's candidate fail on this device; the alias's own version is
   * loaded instead (and `model.fetched.rollout.rollback` says why). */
  onRollback?: (choice: RolloutChoice) => void;
  /** Load only a version whose author signature (its OpenSSF model-signing bundle,
   * `model.sig`) verifies under this policy, before the engine reads it:
   * `MODEL_SIGNATURE_REQUIRED` when the version has none, `MODEL_SIGNATURE*` when it does not
   * verify. `model.fetched.modelSignature` then says who signed. */
  requireModelSignature?: ModelSignaturePolicy;
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
  /** The alias's staged rollout and this client's place in it, when it has one. */
  rollout: RolloutChoice | null;
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
/** What `cache.prefetch` made sure is cached. */
export interface PrefetchResult {
  model: string; version: string; sha256: string; length: number;
  /** "cache" when it was cached already. */
  source: "cache" | "network";
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

/// The artifact's bytes, assembled directly in a JS `Uint8Array` of the signed length: the
/// one full-size copy, outside wasm memory.
#[derive(Default)]
pub(super) struct JsBytes {
    pub(super) array: Option<Uint8Array>,
    pub(super) filled: u32,
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

    fn digests_whole(&self) -> bool {
        crate::digest::web::available()
    }

    fn sha256(&self) -> LocalBoxFuture<'_, Sha256Digest> {
        Box::pin(async move {
            match &self.array {
                Some(a) => crate::digest::web::sha256_of_array(&a.subarray(0, self.filled)).await,
                None => Sha256Digest::of(&[]),
            }
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoleInfo {
    pub(super) version: u64,
    pub(super) expires: String,
}

#[derive(Serialize)]
pub(super) struct Roles {
    pub(super) root: RoleInfo,
    pub(super) timestamp: RoleInfo,
    pub(super) snapshot: RoleInfo,
    pub(super) targets: RoleInfo,
}

#[derive(Serialize)]
pub(super) struct NetworkError {
    pub(super) code: String,
    pub(super) message: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RefreshResult {
    pub(super) offline: bool,
    pub(super) expired: bool,
    pub(super) network_error: Option<NetworkError>,
    pub(super) reference_time: String,
    pub(super) root_rotations: u32,
    pub(super) roles: Roles,
    pub(super) models: usize,
    pub(super) problems: Vec<String>,
    pub(super) changes: crate::catalogue::CatalogueChanges,
}

#[derive(Serialize)]
pub(super) struct TargetFile {
    pub(super) path: String,
    pub(super) length: u64,
    pub(super) sha256: Option<String>,
}

pub(super) fn target_file(t: &TargetInfo) -> TargetFile {
    TargetFile {
        path: t.path.clone(),
        length: t.length,
        sha256: t.hashes.get("sha256").cloned(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VersionInfo<'a> {
    pub(super) version: &'a str,
    pub(super) path: &'a str,
    pub(super) length: u64,
    pub(super) sha256: Option<String>,
    pub(super) role: &'a str,
    pub(super) card: Option<&'a serde_json::Value>,
    pub(super) files: std::collections::BTreeMap<&'a str, TargetFile>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ModelInfo<'a> {
    pub(super) name: &'a str,
    pub(super) versions: Vec<VersionInfo<'a>>,
    pub(super) aliases: Option<&'a std::collections::BTreeMap<String, String>>,
    pub(super) aliases_error: Option<&'a str>,
    pub(super) latest: Option<&'a str>,
    pub(super) rollouts: &'a std::collections::BTreeMap<String, crate::catalogue::Rollout>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Resolution<'a> {
    pub(super) name: &'a str,
    pub(super) version: &'a str,
    pub(super) alias: Option<&'a str>,
    pub(super) path: &'a str,
    pub(super) length: u64,
    pub(super) sha256: Option<String>,
    pub(super) card: Option<&'a serde_json::Value>,
    pub(super) rollout: Option<&'a crate::catalogue::RolloutChoice>,
}

pub(super) fn resolution(r: &Resolved) -> Resolution<'_> {
    Resolution {
        name: &r.model.name,
        version: &r.model.version,
        alias: r.alias.as_deref(),
        path: &r.model.target.path,
        length: r.model.target.length,
        sha256: r.model.sha256(),
        card: r.model.card(),
        rollout: r.rollout.as_ref(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FetchResult<'a> {
    pub(super) name: &'a str,
    pub(super) version: &'a str,
    pub(super) alias: Option<&'a str>,
    pub(super) path: &'a str,
    sha256: &'a str,
    pub(super) length: u64,
    pub(super) card: Option<&'a serde_json::Value>,
    pub(super) source: &'static str,
    pub(super) offline: bool,
    pub(super) expired: bool,
    pub(super) cache_repaired: bool,
    pub(super) rollout: Option<&'a crate::catalogue::RolloutChoice>,
}

pub(super) fn fetched_to_js(f: &Fetched, bytes: Option<Uint8Array>) -> JsResult<JsValue> {
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
        rollout: f.rollout.as_ref(),
    })?;
    if let Some(b) = bytes {
        Reflect::set(&obj, &JsValue::from_str("bytes"), &b)
            .map_err(|_| coded_error(Code::Internal, "could not attach the bytes"))?;
    }
    Ok(obj)
}
