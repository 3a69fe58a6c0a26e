//! `edge-registry attest` end to end: keygen, sign a report of `eval`, verify (with and
//! without a registry), and every tampering refused with its code. Native only.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};

use crate::common::cli::{fixture, ok, run};
use serde_json::Value;

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

/// Every number in `a` equals the one in `b` within 1e-9 (relative for large values); every
/// other value is equal (as in `eval_fleet.rs`).
fn assert_close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{path}: fleet {x} vs pooled {y}"
            );
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            assert_eq!(kx, ky, "{path}: keys");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_close(v, w, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// The CSV's data rows cut into `k` contiguous parts of uneven sizes (1 : 2 : … : k), each
/// with the header (as in `eval_fleet.rs`).
fn split_csv(csv: &str, k: usize) -> Vec<String> {
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let total: usize = (1..=k).sum();
    let mut parts = Vec::new();
    let mut at = 0;
    for w in 1..=k {
        let end = if w == k {
            rows.len()
        } else {
            at + rows.len() * w / total
        };
        let mut part = format!("{header}\n");
        for r in &rows[at..end] {
            part.push_str(r);
            part.push('\n');
        }
        parts.push(part);
        at = end;
    }
    parts
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `fleet merge` refused (exit 1) with `needle` in its message, and no fleet report written.
fn merge_refused(args: &[&str], out: &Path, needle: &str) {
    let r = run(args);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(needle),
        "{args:?}: want {needle}, got {stderr}"
    );
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
}

/// The acceptance point: mergeable summaries from many signed attestations merge into
/// one fleet report with the same numbers as a single evaluation on the union of the data; an
/// envelope not signed by a trusted key, changed, or given without a key is refused.
#[test]
fn fleet_merge_of_attestations_equals_the_pooled_evaluation() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let model = fixture("breast-cancer/model.onnx");
    let card = fixture("breast-cancer/card.json");
    let test_csv = fixture("breast-cancer/test.csv");
    // `eval` has no batch-size flag: its default batch (256 rows) holds the whole test set (143
    // rows) and each part in one batch each. tract's float32 kernels could in principle round
    // differently for different batch shapes (`eval_fleet.rs` uses batch size 1 for that);
    // for this model the per-row outputs are the same, and the comparison below is on 1e-9.
    let csv = std::fs::read_to_string(&test_csv).unwrap();
    let parts = split_csv(&csv, 3);
    assert_eq!(
        parts.iter().map(|p| p.lines().count() - 1).sum::<usize>(),
        csv.lines().count() - 1
    );

    let key = d.join("k.key");
    ok(&["attest", "keygen", "--out", s(&key)]);
    let public = d.join("k.key.pub");
    let mut envelopes = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let data = d.join(format!("part{i}.csv"));
        std::fs::write(&data, part).unwrap();
        let report = d.join(format!("report{i}.json"));
        ok(&[
            "eval",
            "--model",
            &model,
            "--card",
            &card,
            "--data",
            s(&data),
            "--summary",
            "--out",
            s(&report),
        ]);
        assert!(read_json(&report).get("summary").is_some(), "report {i}");
        let env = d.join(format!("env{i}.json"));
        ok(&[
            "attest",
            "sign",
            s(&report),
            "--key",
            s(&key),
            "--out",
            s(&env),
        ]);
        envelopes.push(env);
    }
    let pooled_path = d.join("pooled.json");
    ok(&[
        "eval",
        "--model",
        &model,
        "--card",
        &card,
        "--data",
        &test_csv,
        "--out",
        s(&pooled_path),
    ]);

    let fleet_path = d.join("fleet.json");
    let envs: Vec<&str> = envelopes.iter().map(|p| s(p)).collect();
    let mut args = vec!["fleet", "merge"];
    args.extend(&envs);
    args.extend(["--pubkey", s(&public), "--out", s(&fleet_path)]);
    let out = ok(&args);
    assert!(out.contains("fleet: 3 devices, 143 rows used"), "{out}");

    let fleet = read_json(&fleet_path);
    let pooled = read_json(&pooled_path);
    assert_eq!(fleet["devices"], 3);
    assert_eq!(fleet["data"]["sources"].as_array().unwrap().len(), 3);
    for k in ["rows_read", "rows_used", "rows_skipped"] {
        assert_eq!(fleet["data"][k], pooled["data"][k], "data.{k}");
    }
    assert_eq!(fleet["model"], pooled["model"]);
    assert_eq!(fleet["classes"], pooled["classes"]);
    assert_eq!(fleet["approximate"], serde_json::json!([]));
    assert!(fleet["privacy"].is_null());
    // The metrics the acceptance point names, each present, then every result.
    for pointer in [
        "/classification/n",
        "/classification/accuracy",
        "/classification/balanced_accuracy",
        "/classification/macro/precision",
        "/classification/macro/recall",
        "/classification/macro/f1",
        "/classification/weighted/precision",
        "/classification/weighted/recall",
        "/classification/weighted/f1",
        "/classification/log_loss",
        "/classification/brier",
        "/classification/roc_auc/binary",
        "/classification/confusion_matrix",
        "/calibration/top_label/ece",
        "/calibration/binary/ece",
    ] {
        let f = fleet["results"].pointer(pointer);
        let p = pooled["results"].pointer(pointer);
        assert!(
            f.is_some_and(|v| !v.is_null()) && p.is_some_and(|v| !v.is_null()),
            "results{pointer}: fleet {f:?}, pooled {p:?}"
        );
        assert_close(f.unwrap(), p.unwrap(), &format!("results{pointer}"));
    }
    assert_close(&fleet["results"], &pooled["results"], "results");

    // Refusals. An envelope signed by a key not given with --pubkey.
    let other = d.join("other.key");
    ok(&["attest", "keygen", "--out", s(&other)]);
    let foreign = d.join("foreign.json");
    ok(&[
        "attest",
        "sign",
        s(&d.join("report0.json")),
        "--key",
        s(&other),
        "--out",
        s(&foreign),
    ]);
    let refused_out = d.join("refused.json");
    let merge_with = |extra: &Path, pubkey: bool| -> Vec<String> {
        let mut a: Vec<String> = vec!["fleet".into(), "merge".into()];
        a.extend(envs[1..].iter().map(|e| e.to_string()));
        a.push(s(extra).into());
        if pubkey {
            a.extend(["--pubkey".into(), s(&public).into()]);
        }
        a.extend(["--out".into(), s(&refused_out).into()]);
        a
    };
    let args = merge_with(&foreign, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    merge_refused(&args, &refused_out, "(ATTESTATION_SIGNATURE)");
    merge_refused(&args, &refused_out, "foreign.json");
    // A changed byte in the payload: one base64 character A <-> B changes one byte of the
    // statement.
    let mut tampered = read_json(&envelopes[0]);
    let mut bytes = tampered["payload"].as_str().unwrap().as_bytes().to_vec();
    let at = bytes.len() / 3;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    tampered["payload"] = Value::String(String::from_utf8(bytes).unwrap());
    let changed = d.join("changed.json");
    std::fs::write(&changed, tampered.to_string()).unwrap();
    let args = merge_with(&changed, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    merge_refused(&args, &refused_out, "(ATTESTATION_SIGNATURE)");
    // An envelope, but no --pubkey to verify it with.
    let args = merge_with(&envelopes[0], false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    merge_refused(
        &args,
        &refused_out,
        "give --pubkey to verify it (INVALID_ARGUMENT)",
    );
}
