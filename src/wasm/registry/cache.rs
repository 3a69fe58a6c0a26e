//! `registry.cache`: list, measure, pin, evict and clear verified models.

//! `Registry`: the registry client for pages, workers and Node. Converts arguments, calls
//! [`crate::registry::Registry`], converts the results; errors are `Error`s with a `code`.

use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::registry::{FetchOptions, Progress};
use crate::store::indexeddb::{storage_estimate, storage_persist};
use crate::wasm::error::{js_error, to_js};

/// `registry.cache`: list, measure, pin, evict and clear verified models.
///
/// ```js
/// await registry.cache.pin("digits@production");
/// for (const e of await registry.cache.list()) console.log(e.model, e.version, e.bytes, e.pinned);
/// const { bytes, browser } = await registry.cache.usage();
/// ```
use super::options::{bad_arg, opt_bool, CallOptions};
use super::{promise, Shared};

#[wasm_bindgen(js_name = RegistryCache)]
pub struct JsRegistryCache {
    pub(super) inner: Rc<Shared>,
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
struct PrefetchResult {
    model: String,
    version: String,
    sha256: String,
    length: u64,
    source: &'static str,
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
            inner.settle().await;
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
            inner.settle().await;
            let u = inner.reg.cache().usage().await.map_err(|e| js_error(&e))?;
            let browser = match u.estimate {
                Some(e) => Some(Browser {
                    usage: e.usage,
                    quota: e.quota,
                }),
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
            inner.settle().await;
            let id = inner.reg.pin(&reference).await.map_err(|e| js_error(&e))?;
            let obj = Object::new();
            let _ = Reflect::set(&obj, &"model".into(), &id.name.into());
            let _ = Reflect::set(&obj, &"version".into(), &id.version.into());
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
            inner.settle().await;
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
            inner.settle().await;
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
            inner.settle().await;
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

    /// Whether the version `reference` resolves to now is cached with the signed digest and
    /// length (its bytes are hashed again whenever they are read).
    ///
    /// ```js
    /// if (!(await registry.cache.has("digits@production"))) showDownloadSize();
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn has(&self, reference: String) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            inner.settle().await;
            let r = inner.reg.resolve(&reference).map_err(|e| js_error(&e))?;
            let list = inner.reg.cache_list().await.map_err(|e| js_error(&e))?;
            let hit = list.iter().any(|e| {
                e.name == r.model.name && e.version == r.model.version && e.cached && e.verified
            });
            Ok(JsValue::from_bool(hit))
        })
    }

    /// Downloads and verifies the version `reference` resolves to into the cache without
    /// loading it (nothing when it is cached already), for example to be ready offline.
    /// `onProgress` and `signal` as `fetchModel`.
    ///
    /// ```js
    /// await registry.cache.prefetch("digits@staging", { onProgress });
    /// ```
    #[wasm_bindgen(unchecked_return_type = "Promise<PrefetchResult>")]
    pub fn prefetch(
        &self,
        reference: String,
        #[wasm_bindgen(unchecked_optional_param_type = "CallOptions")] options: Option<Object>,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(async move {
            inner.settle().await;
            let call = CallOptions::parse(&options.map_or(JsValue::UNDEFINED, JsValue::from))?;
            if let Ok(r) = inner.reg.resolve(&reference) {
                call.set_file(&r.model.target.path);
            }
            let progress = |p: &Progress| call.progress(p);
            let opts = FetchOptions {
                progress: Some(&progress),
                abort: Some(&call.flag),
            };
            let mut out = Vec::new();
            let f = inner
                .reg
                .fetch_model_into(&reference, &mut out, opts)
                .await
                .map_err(|e| call.reject(js_error(&e)))?;
            to_js(&PrefetchResult {
                model: f.name,
                version: f.version,
                sha256: f.sha256,
                length: f.length,
                source: f.source.as_str(),
            })
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
