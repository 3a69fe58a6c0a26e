//! Fetching bytes: a trait with an in-memory implementation (tests, fuzzing, callers that
//! already hold the bytes) and target-gated real ones.
//!
//! Every fetch has a byte limit. Bodies are delivered chunk by chunk to a sink, so a caller can
//! hash and store while the download runs, and an endless response is cut off at the limit
//! without being buffered.
//!
//! Owns the [`Fetch`] trait and its implementations (memory; `fetch()` in wasm, an HTTP client
//! and files natively). Imports only `error`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::error::{Code, ErrorCode};

#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// Errors from fetching.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered 404 / the file does not exist. Code `NOT_FOUND`.
    #[error("not found: {url}")]
    NotFound {
        /// What was asked for.
        url: String,
    },
    /// Another non-success HTTP status. Code `HTTP_STATUS`.
    #[error("HTTP {status} from {url}")]
    Status {
        /// What was asked for.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The transfer failed (no network, connection reset, DNS, CORS). Code `NETWORK`.
    #[error("network error fetching {url}: {reason}")]
    Network {
        /// What was asked for.
        url: String,
        /// What the platform said.
        reason: String,
    },
    /// More than `limit` bytes arrived; the transfer was stopped. Code `LENGTH_EXCEEDED`.
    #[error("{url}: more than the {limit} bytes allowed arrived")]
    TooLarge {
        /// What was asked for.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The caller cancelled (for example an `AbortSignal`). Code `ABORTED`.
    #[error("fetch of {url} aborted")]
    Aborted {
        /// What was asked for.
        url: String,
    },
    /// The sink refused a chunk; the sink keeps its own error. Code `SINK_STOPPED`.
    #[error("fetch of {url} stopped by its consumer")]
    Stopped {
        /// What was asked for.
        url: String,
    },
    /// The URL names something this fetcher refuses to read: a `file://` URL whose path,
    /// once percent-decoded, has a `.` or `..` segment, an encoded `/`, or a NUL (a name built
    /// from untrusted metadata must never leave the directory it was joined to). Code
    /// `BAD_URL`.
    #[error("refusing to fetch {url}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

impl ErrorCode for FetchError {
    fn error_code(&self) -> Code {
        match self {
            FetchError::NotFound { .. } => Code::NotFound,
            FetchError::Status { .. } => Code::HttpStatus,
            FetchError::Network { .. } => Code::Network,
            FetchError::TooLarge { .. } => Code::LengthExceeded,
            FetchError::Aborted { .. } => Code::Aborted,
            FetchError::Stopped { .. } => Code::SinkStopped,
            FetchError::BadUrl { .. } => Code::BadUrl,
        }
    }
}

/// A consumer of body chunks. Returning `Err(())` stops the transfer with
/// [`FetchError::Stopped`]; the sink keeps the reason itself.
pub type Sink<'a> = dyn FnMut(&[u8]) -> Result<(), ()> + 'a;

/// Something that happened to a transfer besides a body chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchEvent {
    /// Attempt `attempt` failed (or stalled) with `reason`; the transfer is tried again after
    /// `delay_ms`, resuming after the bytes the sink already has.
    Retry {
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// The wait before the next attempt.
        delay_ms: u32,
        /// Why the attempt failed.
        reason: String,
    },
}

/// A listener of [`FetchEvent`]s.
pub type Events<'a> = dyn Fn(&FetchEvent) + 'a;

/// How a fetcher retries a failed transfer: network errors, HTTP 408, 429 and 5xx, and a
/// transfer that delivers nothing for `stall_ms`. The delay doubles from `base_delay_ms` up to
/// `max_delay_ms`; a resumed transfer asks for the missing bytes only (an HTTP range) and
/// skips what a server that ignores the range sends again, so the sink sees one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: none).
    pub retries: u32,
    /// The delay before the first retry, in milliseconds.
    pub base_delay_ms: u32,
    /// The longest delay, in milliseconds.
    pub max_delay_ms: u32,
    /// A transfer that receives nothing for this long (no response, or no body chunk) is
    /// abandoned as stalled, in milliseconds; 0 never.
    pub stall_ms: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            base_delay_ms: 500,
            max_delay_ms: 8000,
            stall_ms: 30_000,
        }
    }
}

impl RetryPolicy {
    /// No retries and no stall timeout.
    pub fn none() -> Self {
        RetryPolicy {
            retries: 0,
            stall_ms: 0,
            ..Self::default()
        }
    }

    /// The largest delay before retry `attempt` (1 for the first retry): the base delay
    /// doubled per earlier retry, at most `max_delay_ms`. Callers may wait a random part of it
    /// (at least half) so clients that failed together do not retry together.
    pub fn delay_ms(&self, attempt: u32) -> u32 {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base_delay_ms
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay_ms)
    }

    /// Whether a failed transfer may succeed when tried again.
    pub fn retryable(error: &FetchError) -> bool {
        match error {
            FetchError::Network { .. } => true,
            FetchError::Status { status, .. } => {
                matches!(status, 408 | 425 | 429) || (500..600).contains(status)
            }
            _ => false,
        }
    }
}

/// Fetches URLs (or paths: the meaning of the string is the implementation's).
#[allow(async_fn_in_trait)]
pub trait Fetch {
    /// Streams the body of `url` into `sink`. Fails with [`FetchError::TooLarge`] as soon as more
    /// than `limit` bytes arrive, before handing the excess to the sink.
    async fn fetch(&self, url: &str, limit: u64, sink: &mut Sink<'_>) -> Result<(), FetchError>;

    /// [`Fetch::fetch`], telling `events` about retries. Fetchers that do not retry report
    /// nothing (the default).
    async fn fetch_observed(
        &self,
        url: &str,
        limit: u64,
        sink: &mut Sink<'_>,
        events: &Events<'_>,
    ) -> Result<(), FetchError> {
        let _ = events;
        self.fetch(url, limit, sink).await
    }

    /// The whole body of `url`, at most `limit` bytes.
    async fn fetch_bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        let mut out = Vec::new();
        self.fetch(url, limit, &mut |chunk| {
            out.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        Ok(out)
    }
}

/// A shared fetcher is a fetcher (a registry and its TUF updater use one).
impl<T: Fetch + ?Sized> Fetch for Rc<T> {
    async fn fetch(&self, url: &str, limit: u64, sink: &mut Sink<'_>) -> Result<(), FetchError> {
        (**self).fetch(url, limit, sink).await
    }

    async fn fetch_observed(
        &self,
        url: &str,
        limit: u64,
        sink: &mut Sink<'_>,
        events: &Events<'_>,
    ) -> Result<(), FetchError> {
        (**self).fetch_observed(url, limit, sink, events).await
    }
}

/// Delivers `body` to `sink` in chunks of `chunk_size`, enforcing `limit`: the shared core of
/// implementations that hold the bytes already.
pub fn deliver(
    url: &str,
    body: &[u8],
    limit: u64,
    chunk_size: usize,
    sink: &mut Sink<'_>,
) -> Result<(), FetchError> {
    let mut sent: u64 = 0;
    for chunk in body.chunks(chunk_size.max(1)) {
        sent = sent.saturating_add(chunk.len() as u64);
        if sent > limit {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        sink(chunk).map_err(|()| FetchError::Stopped {
            url: url.to_string(),
        })?;
    }
    Ok(())
}

/// An in-memory "server": a map from URL to body, with a request log. Used by tests and by
/// callers that already hold the bytes.
#[derive(Debug, Default)]
pub struct MemoryFetch {
    files: RefCell<HashMap<String, Vec<u8>>>,
    log: RefCell<Vec<String>>,
    offline: std::cell::Cell<bool>,
    chunk_size: usize,
}

impl MemoryFetch {
    /// An empty server that delivers bodies in 64 KiB chunks.
    pub fn new() -> Self {
        MemoryFetch {
            chunk_size: 64 * 1024,
            ..Default::default()
        }
    }

    /// Sets the chunk size bodies are delivered in.
    pub fn with_chunk_size(mut self, chunk_size: usize) -> Self {
        self.chunk_size = chunk_size.max(1);
        self
    }

    /// Serves `body` at `url` (replacing what was there).
    pub fn insert(&self, url: impl Into<String>, body: impl Into<Vec<u8>>) {
        self.files.borrow_mut().insert(url.into(), body.into());
    }

    /// Stops serving `url`.
    pub fn remove(&self, url: &str) {
        self.files.borrow_mut().remove(url);
    }

    /// The body served at `url`, if any.
    pub fn get(&self, url: &str) -> Option<Vec<u8>> {
        self.files.borrow().get(url).cloned()
    }

    /// When offline, every fetch fails with [`FetchError::Network`].
    pub fn set_offline(&self, offline: bool) {
        self.offline.set(offline);
    }

    /// Every URL requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.borrow().clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.log.borrow_mut().clear();
    }
}

impl Fetch for MemoryFetch {
    async fn fetch(&self, url: &str, limit: u64, sink: &mut Sink<'_>) -> Result<(), FetchError> {
        self.log.borrow_mut().push(url.to_string());
        if self.offline.get() {
            return Err(FetchError::Network {
                url: url.to_string(),
                reason: "offline".into(),
            });
        }
        let body = self
            .files
            .borrow()
            .get(url)
            .cloned()
            .ok_or_else(|| FetchError::NotFound {
                url: url.to_string(),
            })?;
        deliver(url, &body, limit, self.chunk_size.max(1), sink)
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let p = RetryPolicy {
            retries: 9,
            base_delay_ms: 500,
            max_delay_ms: 8000,
            stall_ms: 0,
        };
        let d: Vec<u32> = (1..=7).map(|a| p.delay_ms(a)).collect();
        assert_eq!(d, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(p.delay_ms(u32::MAX), 8000);
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let url = "u".to_string();
        let status = |status| FetchError::Status {
            url: url.clone(),
            status,
        };
        assert!(RetryPolicy::retryable(&FetchError::Network {
            url: url.clone(),
            reason: "reset".into()
        }));
        assert!(RetryPolicy::retryable(&status(503)));
        assert!(RetryPolicy::retryable(&status(429)));
        assert!(!RetryPolicy::retryable(&status(403)));
        assert!(!RetryPolicy::retryable(&FetchError::NotFound {
            url: url.clone()
        }));
        assert!(!RetryPolicy::retryable(&FetchError::TooLarge {
            url: url.clone(),
            limit: 1
        }));
        assert!(!RetryPolicy::retryable(&FetchError::Stopped { url }));
    }
}
