//! OpenSSF model-signing bundles (`edge_registry::modelsig`): the bundle reader, the statement
//! and manifest reader, Sigstore's trusted-root reader and PEM certificate lists, and the whole
//! verification under each method (a key, a CA, Sigstore's production trusted root) against a
//! one-file model and a directory. Input: a selector byte, then the bytes (a bundle, a
//! statement, a trusted root or PEM text, by the selector's low bits).
#![no_main]

use edge_registry::modelsig::{
    self, manifest::Manifest, sigstore::TrustedRoot, x509, Bundle, Policy, PublicKey,
};
use edge_registry_fuzz::Input;
use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = include_bytes!("../../tests/fixtures/model-signing/keys/p256.pub.pem");
const CA: &str = include_str!("../../tests/fixtures/model-signing/ca/root.pem");
const MODEL: &[u8] = include_bytes!("../../tests/fixtures/model-signing/models/single.onnx");

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let selector = input.u8();
    let body = input.rest();
    match selector & 3 {
        0 | 1 => {
            let Ok(bundle) = Bundle::from_json(body) else {
                return;
            };
            let _ = bundle.envelope.pae();
            let _ = bundle.envelope.pae_compat();
            let policy = match (selector >> 2) & 3 {
                0 => Policy::Key(PublicKey::from_spki(KEY).expect("fixture key")),
                1 => Policy::Certificate {
                    anchors: x509::anchors_from_pem(CA).expect("fixture CA"),
                },
                _ => Policy::Sigstore {
                    trusted_root: Box::new(
                        TrustedRoot::from_json(modelsig::SIGSTORE_TRUSTED_ROOT)
                            .expect("built-in root"),
                    ),
                    identity: "stefanb@us.ibm.com".into(),
                    issuer: "https://sigstore.verify.ibm.com/oauth2".into(),
                },
            };
            let files: Vec<(&str, &[u8])> = if selector & 1 == 0 {
                vec![(".", MODEL)]
            } else {
                vec![("model.onnx", MODEL), ("sub/config.json", b"{}"), ("empty", b"")]
            };
            if let Ok(v) = modelsig::verify_files(&bundle, &policy, files) {
                // Only the key's holder can sign: a fuzzer cannot forge a signature, so a
                // verified bundle must be one of the seeds' (its manifest reads back).
                let _ = v.to_json();
            }
        }
        2 => {
            if let Ok(m) = Manifest::from_statement(body) {
                let _ = m.to_json();
                let mut checker = m.checker();
                let mut h = checker.file(".");
                // Feed in uneven pieces: shards must come out the same as one update.
                for chunk in MODEL.chunks(usize::from(selector >> 2).max(1) * 7) {
                    h.update(chunk);
                }
                let _ = checker.add(h);
                let _ = checker.finish();
                let _ = m.ignores("a/b");
            }
        }
        _ => {
            if let Ok(root) = TrustedRoot::from_json(body) {
                let _ = format!("{root:?}");
            }
            if let Ok(text) = std::str::from_utf8(body) {
                let _ = x509::anchors_from_pem(text);
            }
            let _ = PublicKey::from_spki(body);
        }
    }
});
