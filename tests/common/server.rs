//! `edge-registry serve` for the CLI tests: started on a free port (or a given address), the
//! address read from its `listening on` line, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `edge-registry serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// `edge-registry serve ARGS... --addr ADDR --quiet`.
    pub fn start_with(args: &[&str], addr: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_edge-registry"))
            .arg("serve")
            .args(args)
            .args(["--addr", addr, "--quiet"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start server");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines.next().expect("server exited").expect("read stderr");
            if let Some(u) = line.strip_prefix("listening on ") {
                break u.to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, url }
    }

    /// `dir` served at `/` on a free port.
    pub fn start(dir: &Path) -> Server {
        Self::start_with(&[dir.to_str().expect("UTF-8 path")], "127.0.0.1:0")
    }

    /// The `host:port` it listens on.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
