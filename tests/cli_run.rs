//! `edge-registry run` from the terminal: JSON and .npy inputs, outputs equal onnxruntime's.
#![cfg(not(target_arch = "wasm32"))]

mod common;

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
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("digits-v1/expected.json")).unwrap())
            .unwrap();
    let case = &expected["batch1"];
    let input = dir.path().join("in.json");
    std::fs::write(&input, case["inputs"].to_string()).unwrap();
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
