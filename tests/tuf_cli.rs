//! The `edge-registry tuf-client` interoperability CLI, driven as a TUF test harness would:
//! over HTTP through `edge-registry serve` and over plain file paths. Native only.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::server::Server;
use edge_registry::tuf::repo::{Published, RepoBuilder};

const BIN: &str = env!("CARGO_BIN_EXE_edge-registry");
const FAR: i64 = 4_102_444_800; // 2100-01-01

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tuf/python-tuf")
        .join(rel)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run edge-registry")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn failed(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The files directly in `dir` (the root history in `root/` is not one of them).
fn dir_contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            continue;
        }
        out.insert(
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read(e.path()).unwrap(),
        );
    }
    out
}

fn write_repo(dir: &Path, p: &Published) {
    for (name, bytes) in &p.metadata {
        let f = dir.join("metadata").join(name);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }
    for (name, bytes) in &p.targets {
        let f = dir.join("targets").join(name);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, bytes).unwrap();
    }
}

#[test]
fn tuf_client_refreshes_and_downloads_a_python_tuf_repository_over_http() {
    let server = Server::start(&fixture("rotation-delegations"));
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("metadata");
    let dl = tmp.path().join("downloads");
    let (md_s, dl_s) = (md.to_str().unwrap(), dl.to_str().unwrap());
    let root1 = fixture("rotation-delegations/metadata/1.root.json");
    ok(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "init",
        root1.to_str().unwrap(),
    ]));
    let meta_url = format!("{}/metadata", server.url);
    let out = ok(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "--metadata-url",
        &meta_url,
        "refresh",
    ]));
    assert!(out.contains("root v2"), "{out}");
    let files = dir_contents(&md);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        vec![
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );
    assert_eq!(
        files["root.json"],
        std::fs::read(fixture("rotation-delegations/metadata/2.root.json")).unwrap()
    );

    let target = "models/team-vision-segmenter/1/model.onnx";
    let targets_url = format!("{}/targets", server.url);
    let download = [
        "tuf-client",
        "--metadata-dir",
        md_s,
        "--metadata-url",
        &meta_url,
        "--target-name",
        target,
        "--target-base-url",
        &targets_url,
        "--target-dir",
        dl_s,
        "download",
    ];
    let out = ok(&run(&download));
    assert!(out.contains("downloaded"), "{out}");
    let local = dl.join("models%2Fteam-vision-segmenter%2F1%2Fmodel.onnx");
    assert_eq!(
        std::fs::read(&local).unwrap(),
        std::fs::read(fixture(&format!("rotation-delegations/targets/{target}"))).unwrap()
    );
    assert!(dir_contents(&md).contains_key("team-vision-nested.json"));
    // Already present with matching hashes: not downloaded again.
    let out = ok(&run(&download));
    assert!(out.contains("up to date"), "{out}");
    // A corrupted local copy is replaced.
    std::fs::write(&local, b"corrupted").unwrap();
    let out = ok(&run(&download));
    assert!(out.contains("downloaded"), "{out}");
    assert_eq!(dir_contents(&dl).len(), 1, "{:?}", dir_contents(&dl).keys());
}

#[test]
fn tuf_client_failed_refresh_persists_nothing_that_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tmp.path().join("repo");
    let md = tmp.path().join("md");
    let mut b = RepoBuilder::new("cli", FAR);
    b.add_target("a.txt", b"version one", None);
    b.timestamp.version = 2;
    write_repo(&repo_dir, &b.publish().unwrap());
    let root = repo_dir.join("metadata/1.root.json");
    let md_s = md.to_str().unwrap();
    let meta = repo_dir.join("metadata");
    ok(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "init",
        root.to_str().unwrap(),
    ]));
    ok(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "--metadata-url",
        meta.to_str().unwrap(),
        "refresh",
    ]));
    let before = dir_contents(&md);
    // A rolled-back timestamp (file:// URL this time).
    b.timestamp.version = 1;
    write_repo(&repo_dir, &b.publish().unwrap());
    let url = format!("file://{}", meta.display());
    let err = failed(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "--metadata-url",
        &url,
        "refresh",
    ]));
    assert!(
        err.contains("ROLLBACK: timestamp: rollback refused"),
        "{err}"
    );
    assert_eq!(dir_contents(&md), before);
}

#[test]
fn tuf_client_redownloads_a_changed_artifact_to_the_same_name() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tmp.path().join("repo");
    let (md, dl) = (tmp.path().join("md"), tmp.path().join("dl"));
    let mut b = RepoBuilder::new("cli-change", FAR);
    b.add_target("dir/a.txt", b"version one", None);
    write_repo(&repo_dir, &b.publish().unwrap());
    let server = Server::start(&repo_dir);
    let (md_s, dl_s) = (md.to_str().unwrap(), dl.to_str().unwrap());
    let root = repo_dir.join("metadata/1.root.json");
    ok(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "init",
        root.to_str().unwrap(),
    ]));
    let (meta_url, targets_url) = (
        format!("{}/metadata", server.url),
        format!("{}/targets", server.url),
    );
    let download = [
        "tuf-client",
        "--metadata-dir",
        md_s,
        "--metadata-url",
        &meta_url,
        "--target-name",
        "dir/a.txt",
        "--target-base-url",
        &targets_url,
        "--target-dir",
        dl_s,
        "download",
    ];
    ok(&run(&download));
    let local = dl.join("dir%2Fa.txt");
    assert_eq!(std::fs::read(&local).unwrap(), b"version one");
    b.timestamp.version += 1;
    b.snapshot.version += 1;
    b.targets.version += 1;
    b.add_target("dir/a.txt", b"version two!", None);
    write_repo(&repo_dir, &b.publish().unwrap());
    let out = ok(&run(&download));
    assert!(out.contains("downloaded"), "{out}");
    assert_eq!(std::fs::read(&local).unwrap(), b"version two!");
    assert_eq!(dir_contents(&dl).len(), 1);
    // A target no role lists: exit 1 with its code.
    let mut missing = download;
    missing[6] = "dir/none.txt";
    let err = failed(&run(&missing));
    assert!(err.contains("TARGET_NOT_FOUND"), "{err}");
}

#[test]
fn tuf_client_refuses_bad_usage_and_untrusted_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("md");
    let md_s = md.to_str().unwrap();
    let err = failed(&run(&["tuf-client", "--metadata-dir", md_s, "refresh"]));
    assert!(err.contains("--metadata-url"), "{err}");
    let err = failed(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "init",
        "/nonexistent/root.json",
    ]));
    assert!(err.contains("NOT_FOUND"), "{err}");
    let root =
        std::fs::read_to_string(fixture("rotation-delegations/metadata/1.root.json")).unwrap();
    let tampered = tmp.path().join("tampered.json");
    std::fs::write(&tampered, root.replace("2099-01-01", "2098-01-01")).unwrap();
    let err = failed(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "init",
        tampered.to_str().unwrap(),
    ]));
    assert!(err.contains("SIGNATURE_THRESHOLD"), "{err}");
    assert!(!md.join("root.json").exists());
    // Usage errors exit 1 too (the interop protocol: 1 on any failure).
    let out = run(&["tuf-client", "--metadata-dir", md_s, "no-such-command"]);
    assert_eq!(out.status.code(), Some(1));
    // Refresh with no trusted root.
    let err = failed(&run(&[
        "tuf-client",
        "--metadata-dir",
        md_s,
        "--metadata-url",
        "http://127.0.0.1:9/",
        "refresh",
    ]));
    assert!(err.contains("INVALID_STATE"), "{err}");
}

/// The Python that has python-tuf: `target/py-tuf` (made by `scripts/setup`) or `python3`.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/py-tuf/bin/python3");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// python-tuf's ngclient (the reference client) refreshes and downloads from a repository our
/// builder made: root rotation, delegations, consistent snapshots, hash-prefixed targets.
/// Needs python-tuf (`scripts/setup` installs it, pinned, into target/py-tuf); it fails (does
/// not skip) without it.
#[test]
fn python_tuf_ngclient_accepts_a_repository_we_built() {
    let tmp = tempfile::tempdir().unwrap();
    let mut b = RepoBuilder::new("for-python-tuf", FAR);
    b.add_target(
        "models/iris/1/model.onnx",
        b"model bytes",
        Some(serde_json::json!({"name": "iris", "version": "1", "labels": ["a", "b"]})),
    );
    b.add_target("README.txt", b"hello\n", None);
    b.delegate(
        "targets",
        "team-vision",
        &["models/team-vision-*/*/*"],
        true,
    );
    b.add_delegated_target(
        "team-vision",
        "models/team-vision-x/2/model.onnx",
        b"team bytes",
        None,
    );
    b.root.signers = vec![edge_registry::tuf::keys::Ed25519Signer::from_seed(&[9; 32])];
    b.commit_root().unwrap();
    write_repo(tmp.path(), &b.publish().unwrap());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tuf_ngclient_check.py");
    let out = Command::new(python())
        .arg(script)
        .arg(tmp.path())
        .arg(tmp.path().join("metadata/1.root.json"))
        .args([
            "models/iris/1/model.onnx",
            "README.txt",
            "models/team-vision-x/2/model.onnx",
        ])
        .output()
        .expect("python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("accepted"), "{text}");
}
