//! A model's author signature in the registry, end to end with the CLI: `publish
//! --model-signature` keeps a model_signing bundle beside the model (refusing one of other
//! bytes), and `--require-signature-*` makes a client load only models that are both in the
//! signed registry and signed by their author. Native only.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use crate::common::cli::{fixture, ok, run};

fn sig_fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/model-signing")
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs a command that must be refused (exit 1) with `code` on standard error.
fn refused(args: &[&str], code: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stderr.contains(code), "{args:?}: want {code}, got {stderr}");
}

fn publish(repo: &Path, model: &str, version: &str, bundle: Option<&str>) -> std::process::Output {
    let card = fixture(&format!("{}/card.json", model.split('/').next().unwrap()));
    let model = fixture(model);
    let mut args = vec![
        "publish",
        s(repo),
        &model,
        "--name",
        "digits",
        "--version",
        version,
        "--card",
        &card,
    ];
    let b;
    if let Some(bundle) = bundle {
        b = sig_fixture(bundle);
        args.extend(["--model-signature", &b]);
    }
    run(&args)
}

#[test]
fn publish_keeps_the_author_signature_and_clients_can_require_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let repo = d.join("repo");
    ok(&["init", s(&repo)]);
    // digits-v1/model.onnx is the file bundles/key-p256-single.sig signs.
    let out = publish(
        &repo,
        "digits-v1/model.onnx",
        "1",
        Some("bundles/key-p256-single.sig"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        repo.join("targets/models/digits/1/model.sig").exists() || {
            // Consistent snapshots prefix target file names with their hash.
            std::fs::read_dir(repo.join("targets/models/digits/1"))
                .unwrap()
                .any(|e| {
                    e.unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with("model.sig")
                })
        }
    );
    // The same bundle for other bytes, and a bundle of a directory, are refused at publish.
    let out = publish(
        &repo,
        "digits-v2/model.onnx",
        "2",
        Some("bundles/key-p256-single.sig"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MODEL_SIGNATURE_MISMATCH"));
    let out = publish(
        &repo,
        "digits-v1/model.onnx",
        "2",
        Some("bundles/key-p256-dir.sig"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("MODEL_SIGNATURE_MISMATCH"));
    let out = publish(
        &repo,
        "digits-v1/model.onnx",
        "2",
        Some("bundles/key-truncated.sig"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("MODEL_SIGNATURE_INVALID"));
    // A version without an author signature.
    let out = publish(&repo, "digits-v2/model.onnx", "2", None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let root = repo.join("metadata/1.root.json");
    let cache = d.join("cache");
    let data = fixture("digits-v1/test.csv");
    let eval = |model: &str, policy: &[&str]| {
        let mut args = vec![
            "eval",
            "--registry",
            s(&repo),
            "--root",
            s(&root),
            "--cache-dir",
            s(&cache),
            "--model",
            model,
            "--data",
            &data,
        ];
        args.extend_from_slice(policy);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let key = sig_fixture("keys/p256.pub.pem");
    let other = sig_fixture("keys/p256-other.pub.pem");
    let good = eval("digits@1", &["--require-signature-key", &key]);
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let out = run(&good);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("digits@1: author signature (key) by "),
        "{stderr}"
    );
    // The bundle is kept in the cache store by its signed hash: with the registry's copy gone,
    // the stored one is used (re-hashed); a stored copy another writer changed is not.
    for entry in std::fs::read_dir(repo.join("targets/models/digits/1")).unwrap() {
        let p = entry.unwrap().path();
        if p.to_string_lossy().ends_with("model.sig") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let out = run(&good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = std::fs::read(sig_fixture("bundles/key-p256-single.sig")).unwrap();
    let mut stored = Vec::new();
    let mut stack = vec![cache.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).unwrap() == bundle {
                stored.push(p);
            }
        }
    }
    assert_eq!(stored.len(), 1, "{stored:?}");
    let mut changed = bundle.clone();
    let at = changed.len() / 2;
    changed[at] ^= 1;
    std::fs::write(&stored[0], &changed).unwrap();
    let out = run(&good);
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("author signature ("));
    std::fs::write(&stored[0], &bundle).unwrap();

    // Another author's key, a version with no author signature, a Sigstore identity for a
    // key-signed model: refused before the engine loads anything.
    let args = eval("digits@1", &["--require-signature-key", &other]);
    refused(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "MODEL_SIGNATURE_IDENTITY",
    );
    let args = eval("digits@2", &["--require-signature-key", &key]);
    refused(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "MODEL_SIGNATURE_REQUIRED",
    );
    let args = eval(
        "digits@1",
        &[
            "--require-signature-identity",
            "alice@example.com",
            "--require-signature-issuer",
            "https://accounts.example.com",
        ],
    );
    refused(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "MODEL_SIGNATURE_IDENTITY",
    );
    // Without a policy the unsigned version loads as before.
    let args = eval("digits@2", &[]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
