//! Reading the JS options of `Registry`: the open options (URL, pinned root, limits, cache,
//! clock) and the per-call options (`onProgress`, `signal`, `verifyGate`).

//! `Registry`: the registry client for pages, workers and Node. Converts arguments, calls
//! [`crate::registry::Registry`], converts the results; errors are `Error`s with a `code`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use crate::clock::UnixSeconds;
use crate::error::Code;
use crate::registry::{
    AbortFlag, MetadataProgress, Progress, RegistryConfig, RegistryError, Status,
};
use crate::store::any::{AnyStore, StoreChoice};
use crate::store::js::JsObjectStore;
use crate::wasm::error::{coded_error, js_error, JsResult};

pub(super) fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub(super) fn bad_arg(msg: &str) -> JsValue {
    coded_error(Code::InvalidArgument, msg)
}

pub(super) fn opt_number(obj: &JsValue, key: &str) -> JsResult<Option<f64>> {
    let v = get(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(Some)
        .ok_or_else(|| bad_arg(&format!("{key} must be a non-negative number")))
}

pub(super) fn opt_bool(obj: &JsValue, key: &str) -> JsResult<Option<bool>> {
    let v = get(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_bool()
        .map(Some)
        .ok_or_else(|| bad_arg(&format!("{key} must be a boolean")))
}

pub(super) fn opt_length(obj: &JsValue, key: &str) -> JsResult<Option<u64>> {
    opt_number(obj, key)?
        .map(|n| crate::wasm::error::length_from_js(n, key))
        .transpose()
}

pub(super) fn root_bytes(v: &JsValue) -> JsResult<Vec<u8>> {
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

pub(super) fn fixed_now(v: &JsValue) -> JsResult<Option<UnixSeconds>> {
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

/// `options[key]`: a client id for staged rollouts (printable ASCII, 1 to 256 characters).
pub(super) fn client_id_option(options: &JsValue, key: &str) -> JsResult<Option<String>> {
    let v = get(options, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string()
        .filter(|s| {
            !s.is_empty()
                && s.len() <= crate::registry::MAX_CLIENT_ID
                && s.bytes().all(|b| (0x20..0x7f).contains(&b))
        })
        .map(Some)
        .ok_or_else(|| {
            bad_arg(&format!(
                "options.{key} must be 1 to 256 printable ASCII characters"
            ))
        })
}

pub(super) fn random_id() -> String {
    let a = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let b = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    format!("{:016x}", (a << 32) | b)
}

/// The store `options.cache` asks for (`AnyStore::open` does the fallback).
pub(super) async fn open_store(options: &JsValue, url: &str) -> JsResult<AnyStore> {
    let cache = get(options, "cache");
    let db_name = match get(options, "dbName").as_string() {
        Some(n) => n,
        None => format!("edge-registry:{url}"),
    };
    let choice = if cache.is_undefined() || cache.is_null() {
        StoreChoice::Default
    } else if let Some(s) = cache.as_string() {
        match s.as_str() {
            "indexeddb" => StoreChoice::IndexedDb,
            "memory" => StoreChoice::Memory,
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
        StoreChoice::Custom(JsObjectStore::new(obj).map_err(|e| js_error(&e))?)
    };
    AnyStore::open(choice, &db_name)
        .await
        .map_err(|e| js_error(&e))
}

pub(super) fn config_from(options: &JsValue, url: &str) -> JsResult<RegistryConfig> {
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
    config.client_id = client_id_option(options, "clientId")?;
    config.new_client_id = Some(format!("{}{}", random_id(), random_id()));
    let v = get(options, "clientVersion");
    if !v.is_undefined() && !v.is_null() {
        let text = v
            .as_string()
            .ok_or_else(|| bad_arg("options.clientVersion must be a string"))?;
        crate::catalogue::check_version(&text)
            .map_err(|e| bad_arg(&format!("options.clientVersion: {e}")))?;
        config.client_version = Some(text);
    }
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

/// `onProgress` and `signal` of a long call (`open`, `refresh`, `fetchModel`, `load`,
/// `prefetch`, `compare`), wired to the core's callback and abort flag for the duration of
/// one call.
pub(super) struct CallOptions {
    pub(super) on_progress: Option<Function>,
    pub(super) signal: Option<AbortSignal>,
    pub(super) flag: AbortFlag,
    pub(super) listener: Option<Closure<dyn FnMut()>>,
    pub(super) verify_gate: bool,
    /// `clientId`: whom staged rollouts bucket this call for (default: the registry's).
    pub(super) client_id: Option<String>,
    /// `onRollback`: hears a gated rollout's candidate fail on this device.
    pub(super) on_rollback: Option<Function>,
    /// `requireModelSignature`: the author signature this call's loads must carry.
    pub(super) model_signature: Option<crate::modelsig::Policy>,
    /// The file progress events name (the resolved target path).
    pub(super) file: RefCell<String>,
}

/// A progress event as JS sees it: `{ phase, status, file, loaded, total, progress, source }`,
/// with `attempt` and `delayMs` on retries (`progress`: percent, where the total is known).
pub(crate) fn progress_event(p: &Progress, file: &str) -> JsValue {
    let event = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&event, &JsValue::from_str(k), &v);
    };
    set("phase", JsValue::from_str(p.phase.as_str()));
    set("status", JsValue::from_str(p.status.as_str()));
    set("file", JsValue::from_str(file));
    // Byte counts below 2^53 convert exactly.
    set("loaded", JsValue::from_f64(p.loaded as f64));
    set("total", JsValue::from_f64(p.total as f64));
    if p.total > 0 {
        set(
            "progress",
            JsValue::from_f64(100.0 * p.loaded as f64 / p.total as f64),
        );
    }
    set("source", JsValue::from_str(p.source.as_str()));
    if p.status == Status::Retry {
        set("attempt", JsValue::from_f64(f64::from(p.attempt)));
        set("delayMs", JsValue::from_f64(f64::from(p.delay_ms)));
    }
    event.into()
}

/// An `AbortSignal` and the listener [`watch_signal`] added to it (to remove when done).
pub(crate) type Watched = (Option<AbortSignal>, Option<Closure<dyn FnMut()>>);

/// Listens to `signal`, setting `flag` when it aborts (at once when it has already).
pub(crate) fn watch_signal(options: &JsValue, flag: &AbortFlag) -> JsResult<Watched> {
    if !options.is_object() {
        return Ok((None, None));
    }
    let s = get(options, "signal");
    if s.is_undefined() || s.is_null() {
        return Ok((None, None));
    }
    let signal: AbortSignal = s
        .dyn_into()
        .map_err(|_| bad_arg("signal must be an AbortSignal"))?;
    if signal.aborted() {
        flag.abort();
    }
    let f = flag.clone();
    let listener = Closure::<dyn FnMut()>::new(move || f.abort());
    signal
        .add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref())
        .map_err(|_| bad_arg("could not listen to the AbortSignal"))?;
    Ok((Some(signal), Some(listener)))
}

/// The error an aborted call rejects with: the signal's `reason` (as `fetch` does), else the
/// coded `ABORTED` error.
pub(crate) fn abort_error(signal: Option<&AbortSignal>, error: JsValue) -> JsValue {
    let aborted = crate::wasm::error::code_of(&error).as_deref() == Some("ABORTED");
    match signal {
        Some(s) if aborted && s.aborted() => {
            let reason = s.reason();
            if reason.is_undefined() {
                error
            } else {
                reason
            }
        }
        _ => error,
    }
}

impl CallOptions {
    pub(super) fn parse(options: &JsValue) -> JsResult<CallOptions> {
        let mut out = CallOptions {
            on_progress: None,
            signal: None,
            flag: AbortFlag::new(),
            listener: None,
            verify_gate: false,
            client_id: None,
            on_rollback: None,
            model_signature: None,
            file: RefCell::new(String::new()),
        };
        if options.is_undefined() || options.is_null() {
            return Ok(out);
        }
        if !options.is_object() {
            return Err(bad_arg("options must be an object"));
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
        out.client_id = client_id_option(options, "clientId")?;
        let f = get(options, "onRollback");
        if !f.is_undefined() && !f.is_null() {
            out.on_rollback = Some(
                f.dyn_into()
                    .map_err(|_| bad_arg("onRollback must be a function"))?,
            );
        }
        let m = get(options, "requireModelSignature");
        if !m.is_undefined() && !m.is_null() {
            out.model_signature = Some(crate::wasm::modelsig::policy_of(&m)?);
        }
        let (signal, listener) = watch_signal(options, &out.flag)?;
        out.signal = signal;
        out.listener = listener;
        Ok(out)
    }

    /// Names the file later events are about.
    pub(super) fn set_file(&self, file: &str) {
        *self.file.borrow_mut() = file.to_string();
    }

    pub(super) fn progress(&self, p: &Progress) {
        if let Some(f) = &self.on_progress {
            let event = progress_event(p, &self.file.borrow());
            // A throwing callback must not break the download.
            let _ = f.call1(&JsValue::NULL, &event);
        }
    }

    /// The listener of a refresh's metadata events.
    pub(super) fn metadata_hook(&self) -> Option<MetadataProgress> {
        let f = self.on_progress.clone()?;
        Some(Rc::new(move |p: &Progress, file: &str| {
            let _ = f.call1(&JsValue::NULL, &progress_event(p, file));
        }))
    }

    /// `error`, or the signal's reason when this call was aborted.
    pub(super) fn reject(&self, error: JsValue) -> JsValue {
        abort_error(self.signal.as_ref(), error)
    }

    /// Fails with `ABORTED` (as the signal's reason) if the signal has fired.
    pub(super) fn check(&self) -> JsResult<()> {
        if self.flag.is_aborted() {
            return Err(self.reject(js_error(&RegistryError::Aborted)));
        }
        Ok(())
    }
}

impl Drop for CallOptions {
    fn drop(&mut self) {
        if let (Some(s), Some(l)) = (&self.signal, &self.listener) {
            let _ = s.remove_event_listener_with_callback("abort", l.as_ref().unchecked_ref());
        }
    }
}
