//! `edge-registry serve`: a small static file server for the demo page, the built package and
//! registry directories. It serves GET and HEAD only, never leaves its roots (no `..`, no
//! symbolic links out, an `index.html` included), sends the right `Content-Type` for `.wasm`
//! and `.mjs`, and, only with `--cors`, allows cross-origin reads so pages and test runners on
//! other origins can fetch a registry.
//!
//! For tests and benchmarks: `--stats` counts requests per path and answers `GET /_stats` with
//! them as JSON (`?reset=1` also zeroes them), and `--no-length PREFIX` serves the files under
//! a prefix without `Content-Length` (chunked), like servers that stream generated content.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

/// A URL prefix served from a directory.
#[derive(Debug, Clone)]
pub struct Mount {
    /// URL path prefix without a trailing slash; empty for the root.
    pub prefix: String,
    /// Canonical directory.
    pub dir: PathBuf,
}

impl Mount {
    /// `"/pkg=pkg"` style: a URL prefix, `=`, a directory.
    pub fn parse(spec: &str) -> Result<Mount, String> {
        let (prefix, dir) = spec
            .split_once('=')
            .ok_or_else(|| format!("mount `{spec}` must look like /prefix=DIR"))?;
        Mount::new(prefix, Path::new(dir))
    }

    /// A mount of `dir` at `prefix`; the directory must exist.
    pub fn new(prefix: &str, dir: &Path) -> Result<Mount, String> {
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() && !prefix.starts_with('/') {
            return Err(format!("mount prefix `{prefix}` must start with /"));
        }
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("cannot serve {}: {e}", dir.display()))?;
        if !dir.is_dir() {
            return Err(format!("cannot serve {}: not a directory", dir.display()));
        }
        Ok(Mount {
            prefix: prefix.to_string(),
            dir,
        })
    }
}

/// The content type for a file name.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "txt" | "md" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Why a request path was not mapped to a file.
#[derive(Debug, PartialEq, Eq)]
pub enum Reject {
    /// Not under any mount, or no such file.
    NotFound,
    /// The path tries to leave its root or is malformed.
    Forbidden,
}

/// Maps a request target (path and optional query) to a file inside one of the mounts. The
/// longest matching prefix wins.
pub fn resolve(mounts: &[Mount], target: &str) -> Result<PathBuf, Reject> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| Reject::Forbidden)?;
    if !decoded.starts_with('/') || decoded.contains('\0') || decoded.contains('\\') {
        return Err(Reject::Forbidden);
    }
    let mount = mounts
        .iter()
        .filter(|m| {
            m.prefix.is_empty()
                || decoded == m.prefix
                || decoded.starts_with(&format!("{}/", m.prefix))
        })
        .max_by_key(|m| m.prefix.len())
        .ok_or(Reject::NotFound)?;
    let rest = &decoded[mount.prefix.len()..];
    let mut file = mount.dir.clone();
    for part in rest.split('/').filter(|p| !p.is_empty()) {
        let mut comps = Path::new(part).components();
        match (comps.next(), comps.next()) {
            (Some(Component::Normal(c)), None) => file.push(c),
            _ => return Err(Reject::Forbidden),
        }
    }
    let file = file.canonicalize().map_err(|_| Reject::NotFound)?;
    if !file.starts_with(&mount.dir) {
        return Err(Reject::Forbidden);
    }
    // A directory's index.html is resolved (and checked) again: it may be a symbolic link.
    let file = if file.is_dir() {
        file.join("index.html")
            .canonicalize()
            .map_err(|_| Reject::NotFound)?
    } else {
        file
    };
    if !file.starts_with(&mount.dir) {
        return Err(Reject::Forbidden);
    }
    if file.is_file() {
        Ok(file)
    } else {
        Err(Reject::NotFound)
    }
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

/// The headers of every response; the CORS ones only with `--cors`.
fn common_headers(cors: bool) -> Vec<Header> {
    let cors_headers: &[(&str, &str)] = if cors {
        &[
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
            ("Access-Control-Allow-Headers", "*"),
            ("Access-Control-Expose-Headers", "Content-Length"),
        ]
    } else {
        &[]
    };
    cors_headers
        .iter()
        .chain(&[
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
        ])
        .filter_map(|(n, v)| header(n, v))
        .collect()
}

fn respond_status(req: Request, code: u16, text: &str, cors: bool) -> io::Result<()> {
    let mut resp = Response::from_string(text).with_status_code(StatusCode(code));
    for h in common_headers(cors) {
        resp.add_header(h);
    }
    if let Some(h) = header("Content-Type", "text/plain; charset=utf-8") {
        resp.add_header(h);
    }
    req.respond(resp)
}

/// Request counts per path, for `--stats`.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    requests: BTreeMap<String, u64>,
    incomplete: BTreeMap<String, u64>,
    bytes: BTreeMap<String, u64>,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, StatsInner> {
        // A worker that panicked mid-update leaves counts that are still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a request for `path`.
    pub fn count(&self, path: &str) {
        *self.lock().requests.entry(path.to_string()).or_default() += 1;
    }

    /// Counts a response to `path` that stopped before the end of its file (the client hung
    /// up).
    pub fn count_incomplete(&self, path: &str) {
        *self.lock().incomplete.entry(path.to_string()).or_default() += 1;
    }

    /// Adds the body bytes sent for `path` (read from its file; at most what the socket took).
    pub fn count_bytes(&self, path: &str, n: u64) {
        *self.lock().bytes.entry(path.to_string()).or_default() += n;
    }

    /// The counts as JSON: `{"total": N, "requests": {path: N}, "incomplete": {path: N},
    /// "bytes": {path: N}}`; with `reset`, zeroes them after reading.
    pub fn to_json(&self, reset: bool) -> String {
        let mut inner = self.lock();
        let total: u64 = inner.requests.values().sum();
        let doc = serde_json::json!({
            "total": total,
            "requests": inner.requests,
            "incomplete": inner.incomplete,
            "bytes": inner.bytes,
        });
        if reset {
            *inner = StatsInner::default();
        }
        doc.to_string()
    }
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: io::Read> io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// How the server behaves beyond serving files.
#[derive(Debug, Default)]
pub struct Options {
    /// Do not log requests.
    pub quiet: bool,
    /// Count requests and answer `/_stats`.
    pub stats: Option<Arc<Stats>>,
    /// URL prefixes served without `Content-Length`.
    pub no_length: Vec<String>,
    /// Allow cross-origin reads (`Access-Control-Allow-Origin: *`): for registries read by
    /// pages or test runners on another origin. Off by default.
    pub cors: bool,
}

fn under_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

fn handle(mounts: &[Mount], req: Request, opts: &Options) -> io::Result<()> {
    let method = req.method().clone();
    let url = req.url().to_string();
    let path = url.split(['?', '#']).next().unwrap_or("").to_string();
    let quiet = opts.quiet;
    let status;
    if let Some(stats) = &opts.stats {
        if path == "/_stats" && matches!(method, Method::Get) {
            let reset = url
                .split_once('?')
                .is_some_and(|(_, q)| q.split('&').any(|p| p == "reset=1"));
            let mut resp = Response::from_string(stats.to_json(reset));
            for h in common_headers(opts.cors) {
                resp.add_header(h);
            }
            if let Some(h) = header("Content-Type", "application/json") {
                resp.add_header(h);
            }
            return req.respond(resp);
        }
        stats.count(&path);
    }
    let result = match method {
        Method::Options => {
            status = 204;
            respond_status(req, 204, "", opts.cors)
        }
        Method::Get | Method::Head => match resolve(mounts, &url) {
            Ok(file_path) => match File::open(&file_path) {
                Ok(file) => {
                    status = 200;
                    let mut headers = common_headers(opts.cors);
                    if let Some(h) = header("Content-Type", content_type(&file_path)) {
                        headers.push(h);
                    }
                    let streamed = opts.no_length.iter().any(|p| under_prefix(&path, p));
                    let length = if streamed {
                        None
                    } else {
                        file.metadata()
                            .ok()
                            .and_then(|m| usize::try_from(m.len()).ok())
                    };
                    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                    let sent = Arc::new(AtomicU64::new(0));
                    let body = Counting {
                        inner: file,
                        read: Arc::clone(&sent),
                    };
                    let head = matches!(method, Method::Head);
                    let resp = Response::new(StatusCode(200), headers, body, length, None);
                    // tiny_http omits the body for HEAD requests itself, and reports no error
                    // when the client hangs up: what it read from the file tells.
                    let r = req.respond(resp);
                    if let Some(stats) = &opts.stats {
                        let n = sent.load(Ordering::Relaxed);
                        stats.count_bytes(&path, n);
                        if !head && n < size {
                            stats.count_incomplete(&path);
                        }
                    }
                    r
                }
                Err(_) => {
                    status = 404;
                    respond_status(req, 404, "not found\n", opts.cors)
                }
            },
            Err(Reject::NotFound) => {
                status = 404;
                respond_status(req, 404, "not found\n", opts.cors)
            }
            Err(Reject::Forbidden) => {
                status = 403;
                respond_status(req, 403, "forbidden\n", opts.cors)
            }
        },
        _ => {
            status = 405;
            respond_status(req, 405, "method not allowed\n", opts.cors)
        }
    };
    if !quiet {
        eprintln!("{method} {url} {status}");
    }
    result
}

/// Connects to the server (and hangs up) every [`NUDGE_EVERY`], for as long as it runs.
///
/// Why: tiny_http 0.12 serves each connection on a thread of its pool, which blocks on an idle
/// keep-alive connection for as long as the client keeps it open, and its pool can queue a new
/// connection while counting as free a thread that has just taken another one. Browsers keep
/// several idle connections open, so the queued connection could wait forever (seen as
/// `page.goto` timeouts in the browser tests: a script's request sat unread in its socket).
/// Each new connection makes the pool hand its queue to a free or a new thread, so a queued
/// connection waits at most one nudge. tiny_http has no idle timeout to set instead, and a read
/// timeout on the listening socket would also stop its accept loop.
fn nudge(addr: std::net::SocketAddr) {
    loop {
        std::thread::sleep(NUDGE_EVERY);
        // Connect and drop: tiny_http reads end-of-stream and closes it; no request is logged.
        let _ = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1));
    }
}

/// How often [`nudge`] connects.
const NUDGE_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Serves `mounts` on `addr` until the process ends, with `threads` worker threads.
pub fn run(addr: &str, mounts: Vec<Mount>, threads: usize, opts: Options) -> Result<(), String> {
    let quiet = opts.quiet;
    let opts = Arc::new(opts);
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // Accepted sockets inherit TCP_NODELAY (Linux, macOS): see Cargo.toml's socket2 entry.
    socket2::SockRef::from(&listener)
        .set_nodelay(true)
        .map_err(|e| format!("cannot set TCP_NODELAY on {addr}: {e}"))?;
    let server = Server::from_listener(listener, None)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let server = Arc::new(server);
    let mounts = Arc::new(mounts);
    let served = Arc::new(AtomicU64::new(0));
    let bound = server
        .server_addr()
        .to_ip()
        .map_or_else(|| addr.to_string(), |a| a.to_string());
    for m in mounts.iter() {
        let prefix = if m.prefix.is_empty() { "/" } else { &m.prefix };
        eprintln!("serving {} at http://{bound}{prefix}", m.dir.display());
    }
    // Scripts that start the server on port 0 read the real address from this line.
    eprintln!("listening on http://{bound}");
    if let Some(mut own) = server.server_addr().to_ip() {
        if own.ip().is_unspecified() {
            own.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        std::thread::spawn(move || nudge(own));
    }
    let workers: Vec<_> = (0..threads.max(1))
        .map(|_| {
            let server = Arc::clone(&server);
            let mounts = Arc::clone(&mounts);
            let served = Arc::clone(&served);
            let opts = Arc::clone(&opts);
            std::thread::spawn(move || {
                for req in server.incoming_requests() {
                    served.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = handle(&mounts, req, &opts) {
                        if !quiet {
                            eprintln!("response failed: {e}");
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (tempfile::TempDir, Vec<Mount>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("www/sub")).unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("www/index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.path().join("www/sub/a b.js"), "1").unwrap();
        std::fs::write(dir.path().join("pkg/x.wasm"), "\0asm").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "no").unwrap();
        let mounts = vec![
            Mount::new("", &dir.path().join("www")).unwrap(),
            Mount::new("/pkg", &dir.path().join("pkg")).unwrap(),
        ];
        (dir, mounts)
    }

    #[test]
    fn resolves_files_and_mounts() {
        let (_d, m) = fixture();
        assert!(resolve(&m, "/").unwrap().ends_with("www/index.html"));
        assert!(resolve(&m, "/index.html?x=1")
            .unwrap()
            .ends_with("index.html"));
        assert!(resolve(&m, "/sub/a%20b.js").unwrap().ends_with("a b.js"));
        assert!(resolve(&m, "/pkg/x.wasm").unwrap().ends_with("pkg/x.wasm"));
        assert_eq!(resolve(&m, "/pkgx/x.wasm"), Err(Reject::NotFound));
        assert_eq!(resolve(&m, "/missing"), Err(Reject::NotFound));
    }

    #[test]
    fn refuses_traversal() {
        let (_d, m) = fixture();
        for bad in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/sub/../../secret.txt",
            "/pkg/..%2fsecret.txt",
            "/pkg/%2e%2e%2f..%2fsecret.txt",
            "/..\\secret.txt",
            "/%00",
            "/%ff",
            "relative",
        ] {
            assert_eq!(resolve(&m, bad), Err(Reject::Forbidden), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinks_out_of_root() {
        let (d, m) = fixture();
        std::os::unix::fs::symlink(d.path().join("secret.txt"), d.path().join("www/link")).unwrap();
        assert_eq!(resolve(&m, "/link"), Err(Reject::Forbidden));
        // A directory whose index.html is a link out of the root: refused too.
        std::fs::create_dir_all(d.path().join("www/docs")).unwrap();
        std::os::unix::fs::symlink(
            d.path().join("secret.txt"),
            d.path().join("www/docs/index.html"),
        )
        .unwrap();
        assert_eq!(resolve(&m, "/docs/"), Err(Reject::Forbidden));
        assert_eq!(resolve(&m, "/docs"), Err(Reject::Forbidden));
        // A link that stays inside the root is served.
        std::fs::create_dir_all(d.path().join("www/alias")).unwrap();
        std::os::unix::fs::symlink(
            d.path().join("www/index.html"),
            d.path().join("www/alias/index.html"),
        )
        .unwrap();
        assert!(resolve(&m, "/alias/").unwrap().ends_with("www/index.html"));
    }

    #[test]
    fn cors_headers_only_when_asked() {
        let names = |cors| -> Vec<String> {
            common_headers(cors)
                .iter()
                .map(|h| h.field.as_str().to_string())
                .collect()
        };
        assert!(
            !names(false).iter().any(|n| n.starts_with("Access-Control")),
            "{:?}",
            names(false)
        );
        assert!(names(true).contains(&"Access-Control-Allow-Origin".to_string()));
        assert!(names(false).contains(&"X-Content-Type-Options".to_string()));
    }

    #[test]
    fn stats_count_and_reset() {
        let s = Stats::default();
        s.count("/a");
        s.count("/a");
        s.count("/b");
        s.count_incomplete("/b");
        s.count_bytes("/b", 7);
        let v: serde_json::Value = serde_json::from_str(&s.to_json(true)).unwrap();
        assert_eq!(v["bytes"]["/b"], 7);
        assert_eq!(v["total"], 3);
        assert_eq!(v["requests"]["/a"], 2);
        assert_eq!(v["incomplete"]["/b"], 1);
        let v: serde_json::Value = serde_json::from_str(&s.to_json(false)).unwrap();
        assert_eq!(v["total"], 0);
        assert!(under_prefix("/x/y", "/x") && under_prefix("/x", "/x/"));
        assert!(!under_prefix("/xy", "/x"));
    }

    #[test]
    fn wasm_mime() {
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("a.MJS")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a")), "application/octet-stream");
    }
}
