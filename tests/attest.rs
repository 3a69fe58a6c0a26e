//! Signed evaluation attestations on every target: an Ed25519 (the CLI's key files) and an
//! ECDSA P-256 envelope made and verified natively, in Node, in headless Chromium and in a
//! dedicated worker; in wasm also through the JavaScript API with a WebCrypto key (P1363
//! signatures, JWK public keys), errors as `Error`s with a `code`.

use edge_registry::attest::{
    self, pae, sign_statement, Envelope, EnvelopeSignature, StatementOptions, TrustedKeys,
    PAYLOAD_TYPE,
};
use edge_registry::error::ErrorCode;
use edge_registry::eval::{
    score_predictions, EvalConfig, ModelIdentity, PredictionColumns, ReportContext, TaskKind,
};
use edge_registry::tuf::keys::Ed25519Signer;

const MODEL_SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn report() -> edge_registry::eval::Report {
    let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
    cfg.predictions = Some(PredictionColumns {
        label: Some("p".into()),
        ..Default::default()
    });
    let ctx = ReportContext {
        time: "2026-01-01T00:00:00Z".into(),
        runtime: "test".into(),
        model: Some(ModelIdentity {
            target_path: "models/m/1/model.onnx".into(),
            sha256: MODEL_SHA.into(),
            reference: None,
        }),
        challenger: None,
    };
    score_predictions(cfg, None, b"y,p\n1,1\n0,1\n0,0\n", ctx).unwrap()
}

everywhere! {
    fn ed25519_envelopes_round_trip_and_tampering_is_refused() {
        let st = attest::statement(&report(), &StatementOptions::default()).unwrap();
        let signer = Ed25519Signer::from_seed(&[3; 32]);
        let env = sign_statement(&st, &signer);
        let keys = TrustedKeys::from_value(&signer.public_value()).unwrap();
        let v = attest::verify_envelope(&env.to_bytes(), &keys, 1).unwrap();
        assert_eq!(v.statement, st);
        assert_eq!(v.subject("model").unwrap().sha256.as_deref(), Some(MODEL_SHA));
        let mut bad = env.clone();
        bad.payload[20] ^= 1;
        assert_eq!(
            attest::verify_envelope(&bad.to_bytes(), &keys, 1).unwrap_err().code(),
            "ATTESTATION_SIGNATURE"
        );
    }

    fn p256_p1363_and_der_signatures_verify() {
        use p256::ecdsa::signature::Signer as _;
        let st = attest::statement(&report(), &StatementOptions::default()).unwrap();
        let payload = attest::payload_bytes(&st);
        let key = p256::ecdsa::SigningKey::from_slice(&[5; 32]).unwrap();
        let sig: p256::ecdsa::Signature = key.sign(&pae(PAYLOAD_TYPE, &payload));
        use p256::pkcs8::EncodePublicKey;
        let spki = key.verifying_key().to_public_key_der().unwrap();
        let tuf = attest::tuf_key_from_spki(spki.as_bytes()).unwrap();
        let keyid = attest::key_id(&tuf).unwrap();
        let keys = TrustedKeys::from_value(&tuf).unwrap();
        for raw in [sig.to_bytes().to_vec(), sig.to_der().as_bytes().to_vec()] {
            let env = Envelope::new(payload.clone(), vec![EnvelopeSignature { keyid: keyid.clone(), sig: raw }]);
            let v = attest::verify_envelope(&env.to_bytes(), &keys, 1).unwrap();
            assert_eq!(v.keyids, vec![keyid.clone()]);
        }
    }
}

/// The JavaScript API in wasm: WebCrypto signs, the module verifies.
#[cfg(target_arch = "wasm32")]
mod js {
    use super::*;
    use edge_registry::wasm::{
        assemble_envelope, attestation_key, attestation_statement, verify_attestation,
    };
    use js_sys::{Reflect, Uint8Array};
    use serde_json::{json, Value};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen(inline_js = r#"
        export async function webcryptoSign(message) {
            const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
            const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, message);
            const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
            return { jwk, sig: new Uint8Array(sig), extractable: pair.privateKey.extractable };
        }
        export function codeOf(f) {
            try { f(); return "none"; } catch (e) { return (e instanceof Error && e.code) || "not a coded Error"; }
        }
    "#)]
    extern "C" {
        #[wasm_bindgen(js_name = webcryptoSign)]
        fn webcrypto_sign(message: &Uint8Array) -> js_sys::Promise;
        #[wasm_bindgen(js_name = codeOf)]
        fn code_of(f: &js_sys::Function) -> String;
    }

    fn get(v: &JsValue, k: &str) -> JsValue {
        Reflect::get(v, &JsValue::from_str(k)).unwrap()
    }

    fn js_json(v: &Value) -> JsValue {
        js_sys::JSON::parse(&v.to_string()).unwrap()
    }

    fn refused(envelope: JsValue, keys: JsValue) -> String {
        let f = Closure::<dyn Fn() -> Result<JsValue, JsValue>>::new(move || {
            verify_attestation(envelope.clone(), keys.clone(), JsValue::UNDEFINED)
        });
        code_of(f.as_ref().unchecked_ref())
    }

    #[wasm_bindgen_test]
    async fn webcrypto_p256_attestation_round_trip() {
        // The statement of a camelCase report, as the JS API returns it.
        let camel =
            edge_registry::eval::report::camel_case_keys(serde_json::to_value(report()).unwrap());
        let st = attestation_statement(js_json(&camel), JsValue::UNDEFINED).unwrap();
        let text = js_sys::JSON::stringify(&st).unwrap().as_string().unwrap();
        let payload = text.into_bytes();
        let message = Uint8Array::from(pae(PAYLOAD_TYPE, &payload).as_slice());
        let signed = JsFuture::from(webcrypto_sign(&message)).await.unwrap();
        assert_eq!(get(&signed, "extractable").as_bool(), Some(false));
        let jwk = get(&signed, "jwk");
        let sig: Uint8Array = get(&signed, "sig").unchecked_into();
        assert_eq!(sig.length(), 64, "WebCrypto signs in P1363 form");
        let key = attestation_key(jwk.clone()).unwrap();
        let keyid = get(&key, "keyid").as_string().unwrap();
        let entry = js_sys::Object::new();
        Reflect::set(&entry, &"keyid".into(), &keyid.clone().into()).unwrap();
        Reflect::set(&entry, &"sig".into(), &sig).unwrap();
        let envelope = assemble_envelope(&payload, js_sys::Array::of1(&entry).into()).unwrap();
        let verified =
            verify_attestation(envelope.clone(), jwk.clone(), JsValue::UNDEFINED).unwrap();
        let ids: Vec<String> = serde_wasm_bindgen::from_value(get(&verified, "keyids")).unwrap();
        assert_eq!(ids, vec![keyid.clone()]);
        let subjects = get(&verified, "subjects");
        let first = Reflect::get_u32(&subjects, 0).unwrap();
        assert_eq!(
            get(&first, "sha256").as_string().as_deref(),
            Some(MODEL_SHA)
        );
        // The module's own verification agrees (envelope as JSON text, TUF key).
        let env_text = js_sys::JSON::stringify(&envelope)
            .unwrap()
            .as_string()
            .unwrap();
        let tuf = attest::tuf_key(&serde_wasm_bindgen::from_value::<Value>(jwk.clone()).unwrap())
            .unwrap();
        let keys = TrustedKeys::from_value(&tuf).unwrap();
        assert!(attest::verify_envelope(env_text.as_bytes(), &keys, 1).is_ok());

        // A changed byte of the statement and of the signature; another key; malformed.
        let mut doc: Value = serde_json::from_str(&env_text).unwrap();
        let mut changed = payload.clone();
        changed[30] ^= 1;
        doc["payload"] = json!(attest::b64_encode(&changed));
        assert_eq!(refused(js_json(&doc), jwk.clone()), "ATTESTATION_SIGNATURE");
        let mut doc: Value = serde_json::from_str(&env_text).unwrap();
        let mut bad_sig = sig.to_vec();
        bad_sig[0] ^= 1;
        doc["signatures"][0]["sig"] = json!(attest::b64_encode(&bad_sig));
        assert_eq!(refused(js_json(&doc), jwk.clone()), "ATTESTATION_SIGNATURE");
        let other = js_json(&Ed25519Signer::from_seed(&[1; 32]).public_value());
        assert_eq!(refused(envelope.clone(), other), "ATTESTATION_SIGNATURE");
        assert_eq!(
            refused(JsValue::from_str("{"), jwk.clone()),
            "ATTESTATION_INVALID"
        );
        assert_eq!(
            refused(envelope, JsValue::from_str("key")),
            "INVALID_ARGUMENT"
        );
    }

    #[wasm_bindgen_test]
    fn an_ed25519_envelope_of_the_cli_verifies_in_js() {
        let st = attest::statement(&report(), &StatementOptions::default()).unwrap();
        let signer = Ed25519Signer::from_seed(&[3; 32]);
        let env = sign_statement(&st, &signer);
        let text = String::from_utf8(env.to_bytes()).unwrap();
        let v = verify_attestation(
            JsValue::from_str(&text),
            js_json(&signer.public_value()),
            JsValue::UNDEFINED,
        )
        .unwrap();
        let ids: Vec<String> = serde_wasm_bindgen::from_value(get(&v, "keyids")).unwrap();
        assert_eq!(ids, vec![signer.keyid().to_string()]);
    }
}
