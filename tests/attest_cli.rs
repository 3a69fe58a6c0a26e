//! `edge-registry attest` end to end: keygen, sign a report of `eval`, verify (with and
//! without a registry), and every tampering refused with its code. Native only.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_edge-registry");

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/models")
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run edge-registry")
}

fn ok(args: &[&str]) -> String {
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

/// Runs a command that must be refused (exit 1) with `code`.
fn refused(args: &[&str], code: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        stderr.contains(&format!("error: {code}:")),
        "{args:?}: want {code}, got {stderr}"
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `eval` of a model file with a card: the report names `models/digits/1/model.onnx`.
fn eval_report(dir: &Path, model: &str, out: &str) -> PathBuf {
    let path = dir.join(out);
    let r = run(&[
        "eval",
        "--model",
        &fixture(model),
        "--card",
        &fixture("digits-v1/card.json"),
        "--data",
        &fixture("digits-v1/test.csv"),
        "--out",
        s(&path),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    path
}

#[test]
fn keygen_sign_verify_and_tampering_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let report = eval_report(d, "digits-v1/model.onnx", "report.json");
    let key = d.join("attest.key");
    let out = ok(&["attest", "keygen", "--out", s(&key)]);
    assert!(out.contains("created attestation key"), "{out}");
    let public = d.join("attest.key.pub");
    let pub_key: Value = serde_json::from_slice(&std::fs::read(&public).unwrap()).unwrap();
    assert_eq!(pub_key["keytype"], "ed25519");
    assert!(pub_key["keyval"].get("private").is_none());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // keygen never overwrites a key.
    refused(&["attest", "keygen", "--out", s(&key)], "STORE");

    let env = d.join("report.dsse.json");
    let out = ok(&[
        "attest",
        "sign",
        s(&report),
        "--key",
        s(&key),
        "--out",
        s(&env),
        "--data-name",
        "test.csv",
    ]);
    assert!(out.contains("models/digits/1/model.onnx"), "{out}");
    let envelope: Value = serde_json::from_slice(&std::fs::read(&env).unwrap()).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");

    let out = ok(&["attest", "verify", s(&env), "--pubkey", s(&public)]);
    assert!(out.contains("verified attestation"), "{out}");
    assert!(out.contains("450 rows"), "{out}");
    assert!(out.trim_end().ends_with("OK"), "{out}");
    // The key file itself (its public part) also verifies; --json gives the statement.
    let json = ok(&["attest", "verify", s(&env), "--pubkey", s(&key), "--json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["subjects"][0]["role"], "model");
    assert_eq!(v["subjects"][1]["name"], "test.csv");
    let report_doc: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(
        v["statement"]["predicate"]["results"],
        report_doc["results"]
    );
    assert_eq!(v["subjects"][1]["sha256"], report_doc["data"]["sha256"]);

    // Another key: refused.
    let other = d.join("other.key");
    ok(&["attest", "keygen", "--out", s(&other)]);
    refused(
        &[
            "attest",
            "verify",
            s(&env),
            "--pubkey",
            s(&d.join("other.key.pub")),
        ],
        "ATTESTATION_SIGNATURE",
    );
    // A changed byte in the statement: the model digest's first character.
    let text = std::fs::read_to_string(&env).unwrap();
    let mut tampered = envelope.clone();
    let payload = tampered["payload"].as_str().unwrap().to_string();
    let mut bytes = payload.into_bytes();
    let at = bytes.len() / 3;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    tampered["payload"] = Value::String(String::from_utf8(bytes).unwrap());
    let bad = d.join("tampered.json");
    std::fs::write(&bad, tampered.to_string()).unwrap();
    refused(
        &["attest", "verify", s(&bad), "--pubkey", s(&public)],
        "ATTESTATION_SIGNATURE",
    );
    // A changed byte in the signature.
    let mut tampered = envelope.clone();
    let sig = tampered["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    tampered["signatures"][0]["sig"] = Value::String(format!("{flipped}{}", &sig[1..]));
    std::fs::write(&bad, tampered.to_string()).unwrap();
    refused(
        &["attest", "verify", s(&bad), "--pubkey", s(&public)],
        "ATTESTATION_SIGNATURE",
    );
    // Not an envelope.
    std::fs::write(&bad, &text[..text.len() / 2]).unwrap();
    refused(
        &["attest", "verify", s(&bad), "--pubkey", s(&public)],
        "ATTESTATION_INVALID",
    );
}

#[test]
fn verify_checks_the_model_against_the_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let repo = d.join("repo");
    ok(&["init", s(&repo)]);
    ok(&[
        "publish",
        s(&repo),
        &fixture("digits-v1/model.onnx"),
        "--name",
        "digits",
        "--version",
        "1",
        "--card",
        &fixture("digits-v1/card.json"),
    ]);
    let root = repo.join("metadata/1.root.json");
    let key = d.join("k");
    ok(&["attest", "keygen", "--out", s(&key)]);
    let public = d.join("k.pub");

    let report = eval_report(d, "digits-v1/model.onnx", "good.json");
    let env = d.join("good.dsse.json");
    ok(&[
        "attest",
        "sign",
        s(&report),
        "--key",
        s(&key),
        "--out",
        s(&env),
    ]);
    let out = ok(&[
        "attest",
        "verify",
        s(&env),
        "--pubkey",
        s(&public),
        "--registry",
        s(&repo),
        "--root",
        s(&root),
    ]);
    assert!(
        out.contains("model is digits@1 (models/digits/1/model.onnx), signed by role targets"),
        "{out}"
    );

    // Signed by the evaluator, but of other model bytes under the name digits@1.
    let report = eval_report(d, "digits-v2/model.onnx", "other.json");
    let env = d.join("other.dsse.json");
    ok(&[
        "attest",
        "sign",
        s(&report),
        "--key",
        s(&key),
        "--out",
        s(&env),
    ]);
    ok(&["attest", "verify", s(&env), "--pubkey", s(&public)]);
    refused(
        &[
            "attest",
            "verify",
            s(&env),
            "--pubkey",
            s(&public),
            "--registry",
            s(&repo),
            "--root",
            s(&root),
        ],
        "ATTESTATION_SUBJECT",
    );
}
