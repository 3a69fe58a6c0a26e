//! Native fetching: HTTP(S) with `ureq`, and files read from disk (plain paths or `file://`
//! URLs). Both enforce the byte limit while reading: the excess never reaches the sink and an
//! endless body is cut off at `limit + 1` bytes.
//!
//! `ureq` is blocking; [`NativeFetch::fetch`] blocks the calling thread for the transfer, which
//! suits the command-line tool (it drives the async API with `pollster`). Not for use on an
//! async executor's worker threads.

use std::io::Read;
use std::time::Duration;

use super::{Fetch, FetchError, Sink};

const CHUNK: usize = 64 * 1024;

/// Fetches `http://` and `https://` URLs over the network, and `file://` URLs or plain paths
/// from disk.
#[derive(Debug, Clone)]
pub struct NativeFetch {
    agent: ureq::Agent,
}

impl Default for NativeFetch {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeFetch {
    /// A fetcher with a 60-second limit per request and no automatic status errors (statuses
    /// are mapped to [`FetchError`] here).
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build();
        NativeFetch {
            agent: config.into(),
        }
    }
}

/// Streams `reader` into `sink`, failing with `TooLarge` once more than `limit` bytes arrive.
fn pump(
    url: &str,
    reader: &mut dyn Read,
    limit: u64,
    sink: &mut Sink<'_>,
) -> Result<(), FetchError> {
    let mut buf = vec![0u8; CHUNK];
    let mut total: u64 = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(FetchError::Network {
                    url: url.to_string(),
                    reason: e.to_string(),
                })
            }
        };
        total = total.saturating_add(n as u64);
        if total > limit {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let chunk = buf.get(..n).unwrap_or(&[]);
        sink(chunk).map_err(|()| FetchError::Stopped {
            url: url.to_string(),
        })?;
    }
}

/// The file a `file://` URL or a plain path names. A plain path is used as given. A
/// `file://` URL is percent-decoded segment by segment, and refused when a decoded segment is
/// `.` or `..` or holds a `/` or NUL: the registry joins names built from signed metadata
/// (percent-encoded role names, target paths) to its base URL, and decoding must not turn
/// `%2e%2e` or `%2F` in such a name into a step out of the registry's directory.
fn file_path(url: &str) -> Result<String, FetchError> {
    let Some(rest) = url.strip_prefix("file://") else {
        return Ok(url.to_string());
    };
    let bad = |reason: &str| FetchError::BadUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let mut out = Vec::with_capacity(rest.len());
    for (i, seg) in rest.split('/').enumerate() {
        let decoded: Vec<u8> = percent_encoding::percent_decode_str(seg).collect();
        if decoded == b"." || decoded == b".." {
            return Err(bad("a path segment is `.` or `..`"));
        }
        if decoded.contains(&b'/') || decoded.contains(&0) {
            return Err(bad("a path segment holds an encoded `/` or a NUL"));
        }
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(&decoded);
    }
    String::from_utf8(out).map_err(|_| bad("the decoded path is not UTF-8"))
}

impl Fetch for NativeFetch {
    async fn fetch(&self, url: &str, limit: u64, sink: &mut Sink<'_>) -> Result<(), FetchError> {
        if url.starts_with("http://") || url.starts_with("https://") {
            let network = |reason: String| FetchError::Network {
                url: url.to_string(),
                reason,
            };
            let mut resp = self
                .agent
                .get(url)
                .call()
                .map_err(|e| network(e.to_string()))?;
            let status = resp.status().as_u16();
            if status == 404 {
                return Err(FetchError::NotFound {
                    url: url.to_string(),
                });
            }
            if !(200..300).contains(&status) {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status,
                });
            }
            if resp.body().content_length().is_some_and(|n| n > limit) {
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            let mut reader = resp.body_mut().as_reader();
            pump(url, &mut reader, limit, sink)
        } else {
            let path = file_path(url)?;
            let mut file = std::fs::File::open(&path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    FetchError::NotFound {
                        url: url.to_string(),
                    }
                } else {
                    FetchError::Network {
                        url: url.to_string(),
                        reason: e.to_string(),
                    }
                }
            })?;
            pump(url, &mut file, limit, sink)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn files_are_read_with_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a b.txt");
        std::fs::write(&p, vec![7u8; 200_000]).unwrap();
        let f = NativeFetch::new();
        let plain = p.to_str().unwrap().to_string();
        let got = pollster::block_on(f.fetch_bytes(&plain, 200_000)).unwrap();
        assert_eq!(got.len(), 200_000);
        let url = format!("file://{}", plain.replace(' ', "%20"));
        assert_eq!(
            pollster::block_on(f.fetch_bytes(&url, 200_000))
                .unwrap()
                .len(),
            200_000
        );
        let mut seen = 0usize;
        let err = pollster::block_on(f.fetch(&plain, 100_000, &mut |c| {
            seen += c.len();
            Ok(())
        }))
        .unwrap_err();
        assert_eq!(err.code(), "LENGTH_EXCEEDED");
        assert!(seen <= 100_000, "{seen}");
        // Decoding never steps out of the directory a name was joined to.
        let inside = dir.path().join("reg");
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::write(dir.path().join("secret.json"), b"secret").unwrap();
        let base = format!("file://{}", inside.to_str().unwrap());
        assert_eq!(
            pollster::block_on(f.fetch_bytes(&format!("{base}/../secret.json"), 100))
                .unwrap_err()
                .code(),
            "BAD_URL"
        );
        for name in [
            "%2e%2e/secret.json",
            "%2E%2E/secret.json",
            "..%2Fsecret.json",
            "a%00b",
        ] {
            let url = format!("{base}/{name}");
            let err = pollster::block_on(f.fetch_bytes(&url, 100)).unwrap_err();
            assert_eq!(err.code(), "BAD_URL", "{url}");
        }
        let missing = dir.path().join("missing").to_str().unwrap().to_string();
        assert_eq!(
            pollster::block_on(f.fetch_bytes(&missing, 1))
                .unwrap_err()
                .code(),
            "NOT_FOUND"
        );
    }
}
