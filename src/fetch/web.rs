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

use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, ReadableStream, ReadableStreamByobReader, ReadableStreamDefaultReader,
    RequestCache, RequestInit, Response,
};

/// The size of the reused read buffer.
const READ_BUFFER: u32 = 256 * 1024;

use super::{Fetch, FetchError, Sink};

/// The global `fetch`. See the module documentation.
#[derive(Debug, Clone)]
pub struct WebFetch {
    no_store: bool,
}

impl Default for WebFetch {
    fn default() -> Self {
        WebFetch { no_store: true }
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
                // The promise it returns settles on its own; nothing waits for it.
                if let Ok(f) = Reflect::get(r, &JsValue::from_str("cancel")) {
                    if let Some(f) = f.dyn_ref::<Function>() {
                        let _ = f.call0(r);
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
        let net = |reason: String| FetchError::Network {
            url: url.to_string(),
            reason,
        };
        let global = js_sys::global();
        let fetch_fn: Function = Reflect::get(&global, &JsValue::from_str("fetch"))
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| net("this runtime has no global fetch".into()))?;
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
        let promise: Promise = fetch_fn
            .call2(&global, &JsValue::from_str(url), &init)
            .map_err(|e| net(describe(&e)))?
            .dyn_into()
            .map_err(|_| net("fetch did not return a promise".into()))?;
        let resp: Response = JsFuture::from(promise)
            .await
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
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit,
        };
        // A declared length above the limit fails before any byte is read.
        if let Ok(Some(declared)) = resp.headers().get("content-length") {
            if declared.trim().parse::<u64>().is_ok_and(|n| n > limit) {
                return Err(too_large());
            }
        }
        let Some(body) = resp.body() else {
            guard.armed = false;
            return Ok(());
        };
        let mut reader = Reader::new(&body);
        guard.reader = Some(reader.handle());
        let mut total: u64 = 0;
        let mut buf: Vec<u8> = Vec::new();
        while let Some(chunk) = reader.read().await.map_err(|e| net(describe(&e)))? {
            let n = chunk.length() as usize;
            total = total.saturating_add(n as u64);
            if total > limit {
                return Err(too_large());
            }
            buf.resize(n, 0);
            chunk.copy_to(&mut buf);
            sink(&buf).map_err(|()| FetchError::Stopped {
                url: url.to_string(),
            })?;
        }
        guard.armed = false;
        Ok(())
    }
}
