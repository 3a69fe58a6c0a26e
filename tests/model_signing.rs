//! OpenSSF model-signing bundles: our verifier against the reference (`model_signing verify`
//! 1.1.1) on every case of tests/fixtures/model-signing/cases.json, made by
//! scripts/gen-model-signing-fixtures (real Sigstore bundles from model-transparency's test data,
//! bundles the reference signed with local keys and CAs, and tampered copies of both).
//!
//! Runs natively and, with the fixtures embedded (fixtures/model-signing/index.rs), in wasm in
//! Node, Chromium and a Web Worker: the same verdicts everywhere.
//!
//! A case's expected verdict is the reference's, through its Python API where the fixtures
//! recorded one (`reference_api`: the sharded cases, which the reference's CLI cannot verify
//! because it re-hashes with the file serialization), else its CLI (`reference`). Cases the
//! reference cannot check (Ed25519, which it does not support) expect their `expect_code`.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use edge_registry::error::ErrorCode;
use edge_registry::modelsig::{
    self, sigstore::TrustedRoot, x509, Bundle, ModelSigError, Policy, PublicKey,
};
use serde_json::Value;

#[path = "fixtures/model-signing/index.rs"]
mod index;

fn file(path: &str) -> &'static [u8] {
    index::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| panic!("fixture {path} is not in the index"))
}

fn text(path: &str) -> &'static str {
    std::str::from_utf8(file(path)).expect("utf-8 fixture")
}

/// The model's files: one file as `.`, or a directory's files by relative path.
fn model_files(model: &str) -> Vec<(&'static str, &'static [u8])> {
    if let Some((_, bytes)) = index::FILES.iter().find(|(p, _)| *p == model) {
        return vec![(".", *bytes)];
    }
    let prefix = format!("{model}/");
    let files: Vec<_> = index::FILES
        .iter()
        .filter_map(|(p, b)| p.strip_prefix(prefix.as_str()).map(|rel| (rel, *b)))
        .collect();
    assert!(!files.is_empty(), "model {model} has no files in the index");
    files
}

fn policy(case: &Value) -> Result<Policy, ModelSigError> {
    let s = |k: &str| case[k].as_str();
    match s("method").expect("method") {
        "key" => PublicKey::from_spki(file(s("key").expect("key"))).map(Policy::Key),
        "certificate" => Ok(Policy::Certificate {
            anchors: x509::anchors_from_pem(text(s("ca").expect("ca")))?,
        }),
        "sigstore" => Ok(Policy::Sigstore {
            trusted_root: Box::new(TrustedRoot::from_json(file(
                s("trusted_root").expect("trusted_root"),
            ))?),
            identity: s("identity").expect("identity").to_string(),
            issuer: s("issuer").expect("issuer").to_string(),
        }),
        other => panic!("unknown method {other}"),
    }
}

fn verdict(case: &Value) -> Result<modelsig::VerifiedModel, ModelSigError> {
    let policy = policy(case)?;
    let bundle = Bundle::from_json(file(case["bundle"].as_str().expect("bundle")))?;
    modelsig::verify_files(
        &bundle,
        &policy,
        model_files(case["model"].as_str().expect("model")),
    )
}

fn cases() -> Vec<Value> {
    let v: Value = serde_json::from_slice(file("cases.json")).expect("cases.json");
    v.as_array().expect("a list").clone()
}

#[test]
fn agrees_with_the_reference_verifier_on_every_fixture() {
    let cases = cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut disagreements = Vec::new();
    let mut counts = [0usize; 3];
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let expected_pass = case["reference_api"]
            .as_bool()
            .or(case["reference"].as_bool())
            .unwrap_or_else(|| case["expect_code"].is_null());
        let got = verdict(case);
        let expected_code = case["expect_code"].as_str();
        match (&got, expected_pass) {
            (Ok(_), true) => counts[0] += 1,
            (Err(e), false) => {
                counts[1] += 1;
                if let Some(code) = expected_code {
                    if e.code() != code {
                        disagreements.push(format!(
                            "{name}: refused as expected, but with {} ({e}), expected {code}",
                            e.code()
                        ));
                    }
                }
            }
            (Ok(_), false) => disagreements.push(format!(
                "{name}: we accept, the reference refuses ({})",
                case["reference_error"]
            )),
            (Err(e), true) => disagreements.push(format!(
                "{name}: we refuse ({}: {e}), the reference accepts",
                e.code()
            )),
        }
        if case["reference"].is_null() && case["reference_api"].is_null() {
            counts[2] += 1;
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
    assert!(counts[0] >= 15 && counts[1] >= 30, "{counts:?}");
}

#[test]
fn real_sigstore_bundles_name_their_signer_and_log_entry() {
    for name in ["sigstore-v1.0.0", "sigstore-v1.0.1", "sigstore-v1.1.0"] {
        let case = cases()
            .into_iter()
            .find(|c| c["name"] == name)
            .expect("case");
        let v = verdict(&case).unwrap_or_else(|e| panic!("{name}: {e}"));
        let signer = &v.signature.signer;
        assert_eq!(signer.method, "sigstore");
        assert_eq!(Some(signer.identity.as_str()), case["identity"].as_str());
        assert_eq!(signer.issuer.as_deref(), case["issuer"].as_str());
        assert!(
            signer.log_index.is_some_and(|i| i > 100_000_000),
            "{signer:?}"
        );
        // Signed in 2025 (integrated times of the real entries), checked against the logs'
        // validity windows.
        let at = signer.signed_at.expect("integrated time");
        assert!((1_735_689_600..1_830_000_000).contains(&at), "{at}");
    }
}

#[test]
fn the_built_in_trusted_root_is_sigstores_production_root() {
    assert_eq!(
        modelsig::SIGSTORE_TRUSTED_ROOT,
        file("sigstore/production/trusted_root.json")
    );
    TrustedRoot::from_json(modelsig::SIGSTORE_TRUSTED_ROOT).expect("parses");
}

#[test]
fn the_key_hint_is_the_references() {
    // model_signing names the key by the SHA-256 of its PEM as `cryptography` writes it.
    let bundle = Bundle::from_json(file("bundles/key-p256-dir.sig")).expect("bundle");
    let key = PublicKey::from_spki(file("keys/p256.pub.pem")).expect("key");
    assert_eq!(bundle.key_hint(), Some(key.hint().as_str()));
    let p384 = PublicKey::from_spki(file("keys/p384.pub.pem")).expect("key");
    assert_eq!(p384.algorithm(), "ecdsa-p384");
    assert_ne!(p384.hint(), key.hint());
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn index_lists_every_fixture() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model-signing");
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(&root)
                    .expect("under root")
                    .to_string_lossy()
                    .replace('\\', "/");
                if rel != "index.rs" && rel != "README.md" {
                    found.push(rel);
                }
            }
        }
    }
    found.sort();
    let mut listed: Vec<String> = index::FILES.iter().map(|(p, _)| p.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "run scripts/model-signing-index");
}
