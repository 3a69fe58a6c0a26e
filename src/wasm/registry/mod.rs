//! `Registry`: the registry client for pages, workers and Node. Converts arguments, calls
//! [`crate::registry::Registry`], converts the results; errors are `Error`s with a `code`.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::{FutureExt, LocalBoxFuture, Shared as SharedFuture};
use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::engine::JsModel;
use super::error::{js_error, to_js, JsResult};
use super::eval::{data_bytes, prepare, run_evaluation_async};
use crate::app::{self, LoadOptions, Subject};
use crate::catalogue::AliasState;
use crate::clock::{AnyClock, FixedClock, SystemClock};
use crate::fetch::web::WebFetch;
use crate::fetch::RetryPolicy;
use crate::registry::abort::race;
use crate::registry::{FetchOptions, Progress, RefreshOptions, Registry, RegistryError};
use crate::store::any::AnyStore;
use crate::store::indexeddb::IndexedDbStore;

mod attest;
mod cache;
mod options;
mod results;
mod sigstore;

pub(crate) use options::{abort_error, watch_signal};

pub use cache::JsRegistryCache;
use options::{
    bad_arg, config_from, fixed_now, get, open_store, opt_number, root_bytes, CallOptions,
};
use results::{
    fetched_to_js, resolution, target_file, JsBytes, ModelInfo, NetworkError, RefreshResult,
    RoleInfo, Roles, VersionInfo,
};

type Inner = Registry<WebFetch, AnyStore, AnyClock>;

struct Shared {
    reg: Inner,
    kind: &'static str,
    /// `requireModelSignature` of `Registry.open`: every load's author signature policy
    /// (a call's own option wins).
    model_signature: Option<crate::modelsig::Policy>,
    /// Cache writes of loaded models still running in the background ([`Shared::settle`]).
    writes: RefCell<Vec<SharedFuture<LocalBoxFuture<'static, ()>>>>,
}

impl Shared {
    /// Finishes the cache write `load` left ([`app::PendingCacheWrite`]) in the background:
    /// the model is usable at once, and every later call of this client that reads or
    /// changes the cache waits for the write first ([`Shared::settle`]), so within one
    /// client a loaded model is cached as before. A failed write is reported on the console
    /// (the model stays loaded; the next load downloads it again).
    fn cache_in_background(self: &Rc<Self>, pending: app::PendingCacheWrite) {
        let me = Rc::clone(self);
        let task: LocalBoxFuture<'static, ()> = Box::pin(async move {
            let label = pending.label();
            if let Err(e) = pending.finish(&me.reg).await {
                web_sys::console::warn_1(&JsValue::from_str(&format!(
                    "edge-registry: {label} is loaded but was not cached: {e}"
                )));
            }
        });
        let task = task.shared();
        self.writes.borrow_mut().push(task.clone());
        wasm_bindgen_futures::spawn_local(task);
    }

    /// Waits for the background cache writes started so far.
    async fn settle(&self) {
        let running: Vec<_> = self.writes.borrow().clone();
        for task in running {
            task.await;
        }
        self.writes.borrow_mut().retain(|t| t.peek().is_none());
    }
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
        let fetch = WebFetch::new().with_retry(retry_policy(&options)?);
        let call = CallOptions::parse(&options)?;
        call.check()?;
        let opened = race(
            async {
                let store = open_store(&options, &url).await?;
                let kind = store.kind();
                let reg = Registry::open(config, fetch, store, clock, &root)
                    .await
                    .map_err(|e| js_error(&e))?;
                Ok::<_, JsValue>((reg, kind))
            },
            Some(&call.flag),
        )
        .await;
        let (reg, kind) = match opened {
            Some(r) => r?,
            None => return Err(call.reject(js_error(&RegistryError::Aborted))),
        };
        Ok(JsRegistry {
            inner: Rc::new(Shared {
                reg,
                kind,
                model_signature: call.model_signature.clone(),
                writes: RefCell::new(Vec::new()),
            }),
        })
    }

    /// Which cache backs this client: `"indexeddb"`, `"memory"` or `"custom"`.
    #[wasm_bindgen(getter, js_name = cacheKind)]
    pub fn cache_kind(&self) -> String {
        self.inner.kind.to_string()
    }

    /// Runs the TUF client workflow (root rotation, timestamp, snapshot, targets, delegated
    /// roles) and rebuilds the model catalogue. Resolves to each role's version and expiry,
    /// and what changed in the catalogue (`changes`: versions added, removed, re-signed,
    /// aliases moved). `onProgress` hears each metadata file (`phase: "metadata"`); `signal`
    /// cancels (the trusted metadata stays as the last verified step left it).
    /// When the repository is unreachable it resolves with `offline: true` using the stored
    /// trusted metadata (verified again) while it is unexpired; otherwise it rejects with a
    /// coded error (`NETWORK`, `EXPIRED`, `ROLLBACK`, `SIGNATURE_THRESHOLD`, ...).
    ///
    /// ```js
    /// const { offline, roles } = await registry.refresh();
    /// console.log(roles.targets.version, roles.timestamp.expires);
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<RefreshResult>")]
    pub fn refresh(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "CallOptions")] options: Option<Object>,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            let call = CallOptions::parse(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
            let opts = RefreshOptions {
                progress: call.metadata_hook(),
                abort: Some(&call.flag),
            };
            let before = inner.reg.catalogue();
            let o = inner
                .reg
                .refresh_with(opts)
                .await
                .map_err(|e| call.reject(js_error(&e)))?;
            let empty = crate::catalogue::Catalogue::from_targets(Vec::new());
            let changes = match inner.reg.catalogue() {
                Some(now) => now.changes(before.as_deref().unwrap_or(&empty)),
                None => Default::default(),
            };
            let role = |s: &crate::tuf::RoleStatus| RoleInfo {
                version: s.version,
                expires: s.expires.clone(),
            };
            to_js(&RefreshResult {
                offline: o.offline,
                expired: o.expired,
                network_error: o.network_error.map(|n| NetworkError {
                    code: n.code,
                    message: n.message,
                }),
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
                changes,
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
                            .map(|(k, f)| (k.as_str(), target_file(&f.target)))
                            .collect(),
                    })
                    .collect(),
                aliases: match &m.aliases {
                    AliasState::Known(a) => Some(a),
                    _ => None,
                },
                aliases_error: match &m.aliases {
                    AliasState::Unavailable(why) => Some(why.as_str()),
                    _ => None,
                },
                latest: m.latest().map(|v| v.version.as_str()),
                rollouts: &m.rollouts,
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
    ///
    /// An alias with a staged rollout gives this client's version (`rollout` says which
    /// stage, its bucket and why); `{ clientId }` asks for another client, as an edge worker
    /// does per request with a header or cookie value.
    #[wasm_bindgen(unchecked_return_type = "Resolution")]
    pub fn resolve(
        &self,
        reference: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "ResolveOptions")] options: JsValue,
    ) -> JsResult<JsValue> {
        if !options.is_undefined() && !options.is_null() && !options.is_object() {
            return Err(bad_arg("options must be an object"));
        }
        let id = if options.is_object() {
            options::client_id_option(&options, "clientId")?
        } else {
            None
        };
        let r = self
            .inner
            .reg
            .resolve_as(reference, id.as_deref())
            .map_err(|e| js_error(&e))?;
        to_js(&resolution(&r))
    }

    /// The id staged rollouts bucket this client by: `clientId` from `Registry.open`, else a
    /// random id kept in the cache store (`null` if there is none).
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> Option<String> {
        self.inner.reg.client_id().map(str::to_string)
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
            inner.settle().await;
            let call = CallOptions::parse(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
            name_target(&inner, &call, &reference);
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
                .map_err(|e| call.reject(js_error(&e)))?;
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
            call.set_file(&file);
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
                .map_err(|e| call.reject(js_error(&e)))?;
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
            inner.settle().await;
            let call = CallOptions::parse(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
            let model = load_model(&inner, &reference, &call)
                .await
                .map_err(|e| call.reject(e))?;
            Ok(model.into())
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
            inner.settle().await;
            let bytes = data_bytes(&data)?;
            let call = CallOptions::parse(&options)?;
            let loaded = async {
                let a = load_model(&inner, &champion, &call).await?;
                let b = load_model(&inner, &challenger, &call).await?;
                Ok::<_, JsValue>((a, b))
            };
            let (a, b) = loaded.await.map_err(|e| call.reject(e))?;
            let prepared = prepare(&options, a.card.as_ref())?;
            let subject = Subject::Compare {
                champion: a.contender(),
                challenger: b.contender(),
            };
            run_evaluation_async(prepared, bytes, subject, &call.flag)
                .await
                .map_err(|e| call.reject(e))
        })
    }

    /// The cache of verified models.
    #[wasm_bindgen(getter)]
    pub fn cache(&self) -> JsRegistryCache {
        JsRegistryCache {
            inner: Rc::clone(&self.inner),
        }
    }

    /// Closes the IndexedDB connection (no-op for other caches) once the cache writes still
    /// running in the background have ended. The client is unusable after.
    pub fn close(&self) {
        let inner = Rc::clone(&self.inner);
        if inner.writes.borrow().is_empty() {
            inner.reg.cache().store().inner().close();
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            inner.settle().await;
            inner.reg.cache().store().inner().close();
        });
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

/// Fetches (cache or network, verified), loads and, when asked, gate-checks a model
/// ([`app::load()`]); a download's cache write ends in the background
/// ([`Shared::cache_in_background`]).
async fn load_model(inner: &Rc<Shared>, reference: &str, call: &CallOptions) -> JsResult<JsModel> {
    name_target(inner, call, reference);
    let progress = |p: &Progress| call.progress(p);
    let on_rollback = |c: &crate::catalogue::RolloutChoice| {
        if let (Some(f), Ok(v)) = (&call.on_rollback, to_js(c)) {
            // A throwing callback must not break the load.
            let _ = f.call1(&JsValue::NULL, &v);
        }
    };
    let opts = LoadOptions {
        fetch: FetchOptions {
            progress: Some(&progress),
            abort: Some(&call.flag),
        },
        verify_gate: call.verify_gate,
        defer_cache_write: true,
        client_id: call.client_id.as_deref(),
        on_rollback: Some(&on_rollback),
        model_signature: call
            .model_signature
            .as_ref()
            .or(inner.model_signature.as_ref()),
    };
    let mut l = app::load(&inner.reg, reference, opts)
        .await
        .map_err(|e| js_error(&e))?;
    if let Some(pending) = l.cache_write.take() {
        inner.cache_in_background(pending);
    }
    let mut m = JsModel::new(l.model, l.card, l.reported);
    m.gates = l.gates;
    let fetched = fetched_to_js(&l.fetched, None)?;
    if let Some(v) = &l.model_signature {
        let _ = js_sys::Reflect::set(
            &fetched,
            &JsValue::from_str("modelSignature"),
            &to_js(&v.to_json())?,
        );
    }
    m.fetched = Some(fetched);
    Ok(m)
}

/// Names the target a reference resolves to in the call's progress events (a reference that
/// does not resolve fails in the call itself).
fn name_target(inner: &Shared, call: &CallOptions, reference: &str) {
    if let Ok(r) = inner.reg.resolve_as(reference, call.client_id.as_deref()) {
        call.set_file(&r.model.target.path);
    }
}

/// `options.retry` of `Registry.open`: `false` for none, or `{ retries, baseDelayMs,
/// maxDelayMs, stallTimeoutMs }` over the defaults.
fn retry_policy(options: &JsValue) -> JsResult<RetryPolicy> {
    let v = get(options, "retry");
    if v.is_undefined() || v.is_null() {
        return Ok(RetryPolicy::default());
    }
    if v.as_bool() == Some(false) {
        return Ok(RetryPolicy::none());
    }
    if !v.is_object() {
        return Err(bad_arg("options.retry must be false or an object"));
    }
    let mut policy = RetryPolicy::default();
    let ms = |key: &str| -> JsResult<Option<u32>> {
        opt_number(&v, key)?
            .map(|n| {
                if n.fract() != 0.0 || n > f64::from(u32::MAX) {
                    Err(bad_arg(&format!(
                        "retry.{key} must be a whole number up to 2^32 - 1"
                    )))
                } else {
                    Ok(n as u32)
                }
            })
            .transpose()
    };
    if let Some(n) = ms("retries")? {
        policy.retries = n.min(20);
    }
    if let Some(n) = ms("baseDelayMs")? {
        policy.base_delay_ms = n;
    }
    if let Some(n) = ms("maxDelayMs")? {
        policy.max_delay_ms = n;
    }
    if let Some(n) = ms("stallTimeoutMs")? {
        policy.stall_ms = n;
    }
    Ok(policy)
}
