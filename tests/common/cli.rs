//! Running the CLI from the native CLI tests: the binary, a fixture model path, a run and a run
//! that must succeed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `edge-registry` binary of this build.
pub const BIN: &str = env!("CARGO_BIN_EXE_edge-registry");

/// `tests/fixtures/models`.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")
}

/// A file under `tests/fixtures/models`, as a string argument.
pub fn fixture(rel: &str) -> String {
    models_dir().join(rel).to_str().unwrap().to_string()
}

/// Runs the CLI.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run edge-registry")
}

/// Runs the CLI, which must succeed; its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
