//! `edge-registry run` from the terminal: JSON and .npy inputs, outputs equal onnxruntime's.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::process::Command;

use common::registry_fixtures as fx;

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_edge-registry"))
}

fn fixture(path: &str) -> String {
    format!(
        "{}/tests/fixtures/models/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn max_err(got: &Value, want: &Value) -> f64 {
    let g = got["data"].as_array().unwrap();
    let w = want["data"].as_array().unwrap();
    assert_eq!(g.len(), w.len());
    g.iter()
        .zip(w)
        .map(|(a, b)| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs())
        .fold(0.0, f64::max)
}

/// The digits-v1 `batch1` case of onnxruntime's expected outputs, its inputs written to
/// `dir/in.json`: the case and that file.
fn digits_batch1(dir: &std::path::Path) -> (Value, std::path::PathBuf) {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("digits-v1/expected.json")).unwrap())
            .unwrap();
    let case = expected["batch1"].clone();
    let input = dir.join("in.json");
    std::fs::write(&input, case["inputs"].to_string()).unwrap();
    (case, input)
}

#[test]
fn run_with_json_input_prints_outputs_equal_to_onnxruntime() {
    let dir = tempfile::tempdir().unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("digits-cnn/expected.json")).unwrap(),
    )
    .unwrap();
    let case = &expected["batch64"];
    let input = dir.path().join("in.json");
    std::fs::write(&input, case["inputs"].to_string()).unwrap();
    let out = bin()
        .args([
            "run",
            "--model",
            &fixture("digits-cnn/model.onnx"),
            "--card",
            &fixture("digits-cnn/card.json"),
        ])
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["label"]["dtype"], "int64");
    assert_eq!(got["label"]["data"], case["outputs"]["label"]["data"]);
    assert_eq!(got["probabilities"]["dtype"], "float32");
    assert_eq!(got["probabilities"]["shape"], serde_json::json!([64, 10]));
    assert!(max_err(&got["probabilities"], &case["outputs"]["probabilities"]) <= 1e-5);
}

#[test]
fn run_with_npy_input_and_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("diabetes/expected.json")).unwrap())
            .unwrap();
    let case = &expected["batch1"];
    let values: Vec<f32> = case["inputs"]["input"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    // A numpy 1.0 header: magic, version, little-endian length, dict padded to 64 bytes.
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': (1, {}), }}",
        values.len()
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    for v in &values {
        npy.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(dir.path().join("x.npy"), npy).unwrap();
    let status = bin()
        .args(["run", "--model", &fixture("diabetes/model.onnx")])
        .arg("--input")
        .arg(dir.path().join("x.npy"))
        .arg("--out")
        .arg(dir.path().join("y.json"))
        .status()
        .unwrap();
    assert!(status.success());
    let got: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("y.json")).unwrap()).unwrap();
    assert!(max_err(&got["variable"], &case["outputs"]["variable"]) <= 1e-5);
}

#[test]
fn run_reports_typed_errors_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        r#"{"input": {"dtype": "float32", "shape": [1, 63], "data": []}}"#,
    )
    .unwrap();
    let out = bin()
        .args(["run", "--model", &fixture("iris/model.onnx")])
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SCHEMA_MISMATCH"));
    let bad = dir.path().join("bad.onnx");
    std::fs::write(&bad, b"garbage").unwrap();
    let out = bin()
        .arg("run")
        .arg("--model")
        .arg(&bad)
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BAD_MODEL"));
}

#[test]
fn run_by_reference_from_a_registry_verifies_caches_and_refuses_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let mut published = fx::good();
    fx::write(&repo, &published).unwrap();
    let root = dir.path().join("root.json");
    std::fs::write(&root, fx::trusted_root()).unwrap();
    let (case, input) = digits_batch1(dir.path());
    let case = &case;
    let run = |repo: &std::path::Path, cache: &str| {
        bin()
            .args(["run", "--model", "digits@production", "--registry"])
            .arg(repo)
            .arg("--root")
            .arg(&root)
            .arg("--cache-dir")
            .arg(dir.path().join(cache))
            .arg("--input")
            .arg(&input)
            .output()
            .unwrap()
    };
    let out = run(&repo, "cache");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("digits@1") && stderr.contains("from network"),
        "{stderr}"
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["label"]["data"], case["outputs"]["label"]["data"]);
    assert!(max_err(&got["probabilities"], &case["outputs"]["probabilities"]) <= 1e-5);

    // The second run reads the verified cache.
    let out = run(&repo, "cache");
    assert!(String::from_utf8_lossy(&out.stderr).contains("from cache"));

    // A model changed on the server after signing is refused (a fresh cache).
    let mut bad = fx::DIGITS_1.to_vec();
    bad[100] ^= 0xff;
    fx::replace_served(
        &mut published,
        "models/digits/1/model.onnx",
        fx::DIGITS_1,
        bad,
    );
    let tampered = dir.path().join("tampered");
    fx::write(&tampered, &published).unwrap();
    let out = run(&tampered, "cache2");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HASH_MISMATCH"), "{stderr}");
}

/// The `.json` files under each directory named `tuf` below `dir` (a cache's trusted
/// metadata, whatever its layout), by directory.
fn tuf_dirs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "tuf") {
                    out.push(p.clone());
                }
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Copies every file under `from` into `to` (overwriting).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn a_foreign_registry_in_the_cache_directory_is_never_trusted() {
    use common::server::Server;
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let repo = site.join("reg");
    fx::write(&repo, &fx::good()).unwrap();
    let root = dir.path().join("root.json");
    std::fs::write(&root, fx::trusted_root()).unwrap();
    let cache = dir.path().join("cache");
    let (case, input) = digits_batch1(dir.path());
    let case = &case;
    let server = Server::start(&site);
    let addr = server.addr().to_string();
    let url = format!("{}/reg", server.url);
    let run = |pinned: bool| {
        let mut c = bin();
        c.args(["run", "--model", "digits@production", "--registry", &url]);
        if pinned {
            c.arg("--root").arg(&root);
        }
        c.arg("--cache-dir").arg(&cache).arg("--input").arg(&input);
        c.output().unwrap()
    };
    let genuine = |out: &std::process::Output| {
        out.status.success()
            && serde_json::from_slice::<Value>(&out.stdout).is_ok_and(|v| {
                max_err(&v["probabilities"], &case["outputs"]["probabilities"]) <= 1e-5
            })
    };
    // 1. The genuine registry, pinned: its state goes into the cache.
    let out = run(true);
    assert!(genuine(&out), "{}", String::from_utf8_lossy(&out.stderr));
    let before = tuf_dirs(&cache);

    // 2. The same URL now serves another registry (own keys, root version 3), fetched
    //    without a pinned root into the same cache directory: it answers differently.
    std::fs::remove_dir_all(&repo).unwrap();
    fx::write(&repo, &fx::attacker()).unwrap();
    let out = run(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WARNING: no --root"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
    assert!(!genuine(&out), "the attacker's model answers differently");
    // 3. Its trusted metadata is copied over every other trusted state in the cache (a
    //    writer of the directory who knows where the genuine client keeps its own).
    let theirs = tuf_dirs(&cache)
        .into_iter()
        .find(|d| !before.contains(d))
        .unwrap_or_else(|| before[0].clone());
    for d in &before {
        if *d != theirs {
            copy_tree(&theirs, d);
        }
    }

    // 4. The genuine registry is back but unreachable: the pinned client never runs the
    //    attacker's model from the cache (it refuses, or runs the genuine one).
    std::fs::remove_dir_all(&repo).unwrap();
    fx::write(&repo, &fx::good()).unwrap();
    drop(server);
    let out = run(true);
    assert!(
        !out.status.success() || genuine(&out),
        "offline, the forged cache must not be trusted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // 5. Reachable again: the genuine model, and the genuine state replaces the forged one,
    //    so the next offline run serves the genuine model from the cache.
    let server = Server::start_with(&[site.to_str().unwrap()], &addr);
    let out = run(true);
    assert!(genuine(&out), "{}", String::from_utf8_lossy(&out.stderr));
    drop(server);
    let out = run(true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(genuine(&out), "{stderr}");
    assert!(
        stderr.contains("unreachable") && stderr.contains("from cache"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn the_model_cache_is_in_the_platform_cache_directory_and_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fx::write(&repo, &fx::good()).unwrap();
    let root = dir.path().join("root.json");
    std::fs::write(&root, fx::trusted_root()).unwrap();
    let (_, input) = digits_batch1(dir.path());
    let run = |env: &[(&str, &std::path::Path)], cache: Option<&std::path::Path>| {
        let mut c = bin();
        c.env_remove("XDG_CACHE_HOME").env_remove("HOME");
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(["run", "--model", "digits@1", "--registry"])
            .arg(&repo)
            .arg("--root")
            .arg(&root)
            .arg("--input")
            .arg(&input);
        if let Some(d) = cache {
            c.arg("--cache-dir").arg(d);
        }
        c.output().unwrap()
    };
    // The platform's cache directory ($XDG_CACHE_HOME here), created 0700.
    let xdg = dir.path().join("xdg");
    let out = run(&[("XDG_CACHE_HOME", &xdg)], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cache = xdg.join("edge-registry");
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(!tuf_dirs(&cache).is_empty());
    // A cache directory others may write to is refused.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = run(&[], Some(&open));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("writable by its group or by others"),
        "{stderr}"
    );
}

#[test]
fn serve_needs_a_directory_and_allows_cross_origin_reads_only_when_asked() {
    use common::server::Server;
    // No implicit current directory: a usage error (a server that started would not exit).
    let mut child = bin()
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "serve without a directory must not serve"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("<ROOT>"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), b"{}").unwrap();
    let d = dir.path().to_str().unwrap();
    let acao = |args: &[&str]| {
        let server = Server::start_with(args, "127.0.0.1:0");
        let resp = ureq::get(&format!("{}/a.json", server.url)).call().unwrap();
        resp.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(acao(&[d]), None);
    assert_eq!(acao(&[d, "--cors"]).as_deref(), Some("*"));
}

/// float16 and int8 cross the CLI too: JSON numbers in (rounded to float16), numbers out
/// (`.npy` files of `<f2`/`|i1` are read as those types: tensor_io's unit tests).
#[test]
fn run_float16_and_int8_from_json() {
    let dir = tempfile::tempdir().unwrap();
    let model = format!(
        "{}/tests/fixtures/engine/dtypes.onnx",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = serde_json::json!({
        "f32": {"dtype": "float32", "shape": [1, 2], "data": [1, 2]},
        "f64": {"dtype": "float64", "shape": [1, 2], "data": [1, 2]},
        "i32": {"dtype": "int32", "shape": [1], "data": [1]},
        "i64": {"dtype": "int64", "shape": [1], "data": [1]},
        "u8": {"dtype": "uint8", "shape": [1, 3], "data": [1, 2, 3]},
        "b": {"dtype": "bool", "shape": [1], "data": [true]},
        "f16": {"dtype": "float16", "shape": [1, 2], "data": [1.5, 0.1]},
        "i8": {"dtype": "int8", "shape": [1], "data": [-128]},
    });
    std::fs::write(dir.path().join("in.json"), json.to_string()).unwrap();
    let out = bin()
        .args(["run", "--model", &model, "--input"])
        .arg(dir.path().join("in.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["f16_out"]["dtype"], "float16");
    // 0.1 rounds to the float16 0.0999755859375; doubled exactly.
    assert_eq!(
        got["f16_out"]["data"],
        serde_json::json!([3.0, 0.199951171875])
    );
    // -(-128) wraps to -128 in int8, as in onnxruntime.
    assert_eq!(
        got["i8_out"],
        serde_json::json!({"dtype": "int8", "shape": [1], "data": [-128]})
    );
}
