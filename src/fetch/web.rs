//! [`Fetch`] over the global `fetch` of JavaScript hosts: windows, dedicated and service
//! workers, Node 18+, Deno and workerd all reach it through `globalThis.fetch`, so they share
//! one code path.
//!
//! The body is read chunk by chunk (never buffered whole) with a BYOB reader into one reused
//! 256 KiB `ArrayBuffer` where the body is a byte stream (Chromium, Node), else with
//! `getReader()`; each chunk is copied into one reused wasm buffer and handed to the sink, so a
//! download leaves no garbage proportional to its size. The request is aborted
//! (`AbortController.abort()`, and the reader cancelled) the moment more than the byte limit
//! has arrived (before the excess reaches the sink), when the sink stops, and when the fetch
//! future is dropped unfinished (which is how the registry cancels a download).
//!
//! A transfer that fails transiently (a network error, HTTP 408/425/429/5xx) or stalls (no
//! response, or no body chunk, for [`RetryPolicy::stall_ms`]) is tried again after a backoff
//! ([`RetryPolicy`]; timers from `gloo-timers`), resuming with an HTTP range after the bytes
//! already delivered (a server that ignores the range sends the whole body again and the
//! delivered prefix is skipped), so the sink, and the hashes behind it, see one stream.
//! Where the runtime says it is offline (`navigator.onLine === false`) there is no retry.

use std::future::Future;
use std::pin::pin;

use futures_util::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, ReadableStream, ReadableStreamByobReader, ReadableStreamDefaultReader,
    RequestCache, RequestInit, Response,
};

/// The size of the reused read buffer.
const READ_BUFFER: u32 = 256 * 1024;

use super::{Events, Fetch, FetchError, FetchEvent, RetryPolicy, Sink};

/// The global `fetch`. See the module documentation.
#[derive(Debug, Clone)]
pub struct WebFetch {
    no_store: bool,
    retry: RetryPolicy,
}

impl Default for WebFetch {
    fn default() -> Self {
        WebFetch {
            no_store: true,
            retry: RetryPolicy::default(),
        }
    }
}

impl WebFetch {
    /// A fetcher that bypasses the HTTP cache (`cache: "no-store"`): metadata must be fresh,
    /// and artifacts are kept in the registry's own verified cache instead.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether requests bypass the HTTP cache (default `true`).
    pub fn with_no_store(mut self, no_store: bool) -> Self {
        self.no_store = no_store;
        self
    }

    /// How failed and stalled transfers are retried (default [`RetryPolicy::default`]).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry policy.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// `fut`, or `None` once the stall timeout passes first.
    async fn within<T>(&self, fut: impl Future<Output = T>) -> Option<T> {
        if self.retry.stall_ms == 0 {
            return Some(fut.await);
        }
        let fut = pin!(fut);
        let timer = TimeoutFuture::new(self.retry.stall_ms);
        match select(fut, timer).await {
            Either::Left((v, _)) => Some(v),
            Either::Right(_) => None,
        }
    }

    /// One attempt: streams the body from byte `*delivered` on (a range request when it is
    /// not 0), counting what reaches the sink in `*delivered`.
    async fn attempt(
        &self,
        fetch_fn: &Function,
        url: &str,
        limit: u64,
        delivered: &mut u64,
        sink: &mut Sink<'_>,
    ) -> Result<(), FetchError> {
        let net = |reason: String| FetchError::Network {
            url: url.to_string(),
            reason,
        };
        let stalled = || {
            net(format!(
                "stalled: nothing arrived for {} ms",
                self.retry.stall_ms
            ))
        };
        let global = js_sys::global();
        let controller = AbortController::new().map_err(|e| net(describe(&e)))?;
        let mut guard = Cancel {
            controller: controller.clone(),
            reader: None,
            armed: true,
        };
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_signal(Some(&controller.signal()));
        if self.no_store {
            init.set_cache(RequestCache::NoStore);
        }
        let resume = *delivered;
        if resume > 0 {
            // A single open range is a CORS-safelisted request header: no preflight.
            let headers = web_sys::Headers::new().map_err(|e| net(describe(&e)))?;
            headers
                .set("range", &format!("bytes={resume}-"))
                .map_err(|e| net(describe(&e)))?;
            init.set_headers(&headers);
        }
        let promise: Promise = fetch_fn
            .call2(&global, &JsValue::from_str(url), &init)
            .map_err(|e| net(describe(&e)))?
            .dyn_into()
            .map_err(|_| net("fetch did not return a promise".into()))?;
        let resp: Response = self
            .within(JsFuture::from(promise))
            .await
            .ok_or_else(stalled)?
            .map_err(|e| net(describe(&e)))?
            .dyn_into()
            .map_err(|_| net("fetch did not resolve to a Response".into()))?;
        let status = resp.status();
        if status == 404 || status == 410 {
            return Err(FetchError::NotFound {
                url: url.to_string(),
            });
        }
        if !resp.ok() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status,
            });
        }
        // What to drop from the front of this body: a server that ignored the range sends
        // everything again.
        let mut skip = if resume > 0 && status == 206 {
            let start = resp
                .headers()
                .get("content-range")
                .ok()
                .flatten()
                .and_then(|r| range_start(&r));
            if start != Some(resume) {
                return Err(net(format!(
                    "asked for bytes from {resume}, the server sent a range from {start:?}"
                )));
            }
            0
        } else {
            resume
        };
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit,
        };
        // A declared length above the limit fails before any byte is read.
        if let Ok(Some(declared)) = resp.headers().get("content-length") {
            if let Ok(n) = declared.trim().parse::<u64>() {
                if n.saturating_add(resume).saturating_sub(skip) > limit {
                    return Err(too_large());
                }
            }
        }
        let Some(body) = resp.body() else {
            guard.armed = false;
            return Ok(());
        };
        let mut reader = Reader::new(&body);
        guard.reader = Some(reader.handle());
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let chunk = self
                .within(reader.read())
                .await
                .ok_or_else(stalled)?
                .map_err(|e| net(describe(&e)))?;
            let Some(chunk) = chunk else { break };
            let n = chunk.length() as usize;
            let dropped = skip.min(n as u64) as usize;
            skip -= dropped as u64;
            let fresh = n - dropped;
            if fresh == 0 {
                continue;
            }
            if delivered.saturating_add(fresh as u64) > limit {
                return Err(too_large());
            }
            buf.resize(n, 0);
            chunk.copy_to(&mut buf);
            sink(buf.get(dropped..).unwrap_or_default()).map_err(|()| FetchError::Stopped {
                url: url.to_string(),
            })?;
            *delivered += fresh as u64;
        }
        if skip > 0 {
            return Err(net(format!(
                "the body ended {skip} bytes before the {resume} already received"
            )));
        }
        guard.armed = false;
        Ok(())
    }
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL` header.
fn range_start(header: &str) -> Option<u64> {
    let rest = header.trim().strip_prefix("bytes")?.trim_start();
    rest.split('-').next()?.trim().parse().ok()
}

/// Whether the runtime reports having no network (`navigator.onLine === false`).
fn known_offline() -> bool {
    let nav = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"))
        .unwrap_or(JsValue::UNDEFINED);
    if !nav.is_object() {
        return false;
    }
    Reflect::get(&nav, &JsValue::from_str("onLine")).ok() == Some(JsValue::FALSE)
}

/// A random wait in `[max / 2, max]` (so clients that failed together do not retry together).
fn jittered(max: u32) -> u32 {
    let half = max / 2;
    half + (js_sys::Math::random() * f64::from(max - half)) as u32
}

/// A readable description of a thrown JS value (with the `cause` Node's fetch attaches).
pub fn describe(v: &JsValue) -> String {
    let text = match v.dyn_ref::<js_sys::Error>() {
        Some(e) => format!("{}: {}", String::from(e.name()), String::from(e.message())),
        None => v.as_string().unwrap_or_else(|| format!("{v:?}")),
    };
    match Reflect::get(v, &JsValue::from_str("cause")) {
        Ok(c) if !c.is_undefined() && !c.is_null() => format!("{text} ({})", describe(&c)),
        _ => text,
    }
}

thread_local! {
    /// A rejection handler that does nothing (one per thread, never freed).
    static IGNORE: wasm_bindgen::closure::Closure<dyn FnMut(JsValue)> =
        wasm_bindgen::closure::Closure::new(|_: JsValue| {});
}

/// Aborts the request when dropped while armed.
struct Cancel {
    controller: AbortController,
    reader: Option<JsValue>,
    armed: bool,
}

impl Drop for Cancel {
    fn drop(&mut self) {
        if self.armed {
            if let Some(r) = &self.reader {
                // Nothing waits for the promise it returns, which rejects when the body has
                // already failed (an abort, a cut connection): it gets a no-op handler so the
                // rejection is not reported as unhandled.
                if let Ok(f) = Reflect::get(r, &JsValue::from_str("cancel")) {
                    if let Some(f) = f.dyn_ref::<Function>() {
                        if let Ok(p) = f.call0(r) {
                            if let Some(p) = p.dyn_ref::<Promise>() {
                                IGNORE.with(|noop| {
                                    let _ = p.catch(noop);
                                });
                            }
                        }
                    }
                }
            }
            self.controller.abort();
        }
    }
}

/// A body reader: bring-your-own-buffer where the stream allows it.
enum Reader {
    Byob {
        reader: ReadableStreamByobReader,
        next: Uint8Array,
    },
    Default(ReadableStreamDefaultReader),
}

impl Reader {
    fn new(body: &ReadableStream) -> Reader {
        match ReadableStreamByobReader::new(body) {
            Ok(reader) => Reader::Byob {
                reader,
                next: Uint8Array::new_with_length(READ_BUFFER),
            },
            Err(_) => Reader::Default(body.get_reader().unchecked_into()),
        }
    }

    fn handle(&self) -> JsValue {
        match self {
            Reader::Byob { reader, .. } => reader.clone().into(),
            Reader::Default(r) => r.clone().into(),
        }
    }

    /// The next chunk, `None` at the end.
    async fn read(&mut self) -> Result<Option<Uint8Array>, JsValue> {
        let promise = match self {
            Reader::Byob { reader, next } => reader.read_with_array_buffer_view(next),
            Reader::Default(r) => r.read(),
        };
        let step = JsFuture::from(promise).await?;
        let done = Reflect::get(&step, &JsValue::from_str("done"))?.is_truthy();
        let value = Reflect::get(&step, &JsValue::from_str("value"))?;
        let chunk: Option<Uint8Array> = value.dyn_into().ok();
        if let (Reader::Byob { next, .. }, Some(c)) = (&mut *self, &chunk) {
            // The buffer was transferred into `c`; read into it again next time.
            *next = Uint8Array::new_with_byte_offset_and_length(&c.buffer(), 0, READ_BUFFER);
        }
        if done {
            return Ok(None);
        }
        chunk
            .map(Some)
            .ok_or_else(|| JsValue::from_str("a body chunk is not a Uint8Array"))
    }
}

impl Fetch for WebFetch {
    async fn fetch(&self, url: &str, limit: u64, sink: &mut Sink<'_>) -> Result<(), FetchError> {
        self.fetch_observed(url, limit, sink, &|_| {}).await
    }

    async fn fetch_observed(
        &self,
        url: &str,
        limit: u64,
        sink: &mut Sink<'_>,
        events: &Events<'_>,
    ) -> Result<(), FetchError> {
        let global = js_sys::global();
        let fetch_fn: Function = Reflect::get(&global, &JsValue::from_str("fetch"))
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| FetchError::Network {
                url: url.to_string(),
                reason: "this runtime has no global fetch".into(),
            })?;
        let mut delivered = 0u64;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let e = match self
                .attempt(&fetch_fn, url, limit, &mut delivered, sink)
                .await
            {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if attempt > self.retry.retries || !RetryPolicy::retryable(&e) || known_offline() {
                return Err(e);
            }
            let delay_ms = jittered(self.retry.delay_ms(attempt));
            events(&FetchEvent::Retry {
                attempt,
                delay_ms,
                reason: e.to_string(),
            });
            TimeoutFuture::new(delay_ms).await;
        }
    }
}
