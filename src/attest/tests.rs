use std::collections::BTreeMap;

use p256::ecdsa::signature::Signer as _;
use serde_json::{json, Value};

use super::*;
use crate::catalogue::SignedFile;
use crate::eval::{
    score_predictions, EvalConfig, ModelIdentity, PredictionColumns, ReportContext, TaskKind,
};
use crate::tuf::TargetInfo;

const MODEL_SHA: &str = "aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233";
const OTHER_SHA: &str = "bb11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233";
const DATA: &str = "label,pred\na,a\nb,b\na,b\nb,b\n";

fn report() -> Report {
    let mut cfg = EvalConfig::new(TaskKind::Classification, "label");
    cfg.predictions = Some(PredictionColumns {
        label: Some("pred".into()),
        ..Default::default()
    });
    let ctx = ReportContext {
        time: "2026-01-02T03:04:05Z".into(),
        runtime: "native".into(),
        model: Some(ModelIdentity {
            target_path: "models/digits/2/model.onnx".into(),
            sha256: MODEL_SHA.into(),
            reference: Some("digits@production".into()),
        }),
        challenger: None,
    };
    score_predictions(cfg, None, DATA.as_bytes(), ctx).unwrap()
}

fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(&[7; 32])
}

fn keys_of(values: &[Value]) -> TrustedKeys {
    TrustedKeys::from_value(&Value::Array(values.to_vec())).unwrap()
}

fn signed_envelope() -> (Value, Envelope) {
    let st = statement(&report(), &StatementOptions::default()).unwrap();
    let env = sign_statement(&st, &signer());
    (st, env)
}

fn catalogue(sha: &str) -> Catalogue {
    let target = TargetInfo {
        path: "models/digits/2/model.onnx".into(),
        length: 10,
        hashes: BTreeMap::from([("sha256".to_string(), sha.to_string())]),
        custom: None,
        role: "targets".into(),
    };
    Catalogue::from_targets([SignedFile::unlocated(target)])
}

fn p256_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap()
}

fn p256_jwk(key: &p256::ecdsa::SigningKey) -> Value {
    let point = key.verifying_key().to_encoded_point(false);
    let url = |b: &[u8]| {
        use base64ct::Encoding;
        base64ct::Base64UrlUnpadded::encode_string(b)
    };
    json!({"kty": "EC", "crv": "P-256", "x": url(point.x().unwrap()), "y": url(point.y().unwrap()), "ext": true})
}

#[test]
fn statement_names_model_data_and_report() {
    let r = report();
    let st = statement(
        &r,
        &StatementOptions {
            data_name: Some("test.csv".into()),
            registry: Some(json!({"url": "https://models.example"})),
        },
    )
    .unwrap();
    assert_eq!(st["_type"], STATEMENT_TYPE);
    assert_eq!(st["predicateType"], PREDICATE_TYPE);
    assert_eq!(
        st["subject"][0],
        json!({"name": "models/digits/2/model.onnx", "digest": {"sha256": MODEL_SHA}, "annotations": {"role": "model"}})
    );
    assert_eq!(st["subject"][1]["name"], "test.csv");
    assert_eq!(st["subject"][1]["digest"]["sha256"], r.data.sha256);
    assert_eq!(st["subject"].as_array().unwrap().len(), 2);
    let p = &st["predicate"];
    assert_eq!(p["results"]["classification"]["accuracy"], 0.75);
    assert_eq!(p["engine"]["name"], "edge-registry");
    assert_eq!(p["engine"]["version"], crate::VERSION);
    assert_eq!(p["environment"]["runtime"], "native");
    assert_eq!(p["registry"]["url"], "https://models.example");
    // The camelCase report of the JS API gives the same statement.
    let camel = crate::eval::report::camel_case_keys(serde_json::to_value(&r).unwrap());
    let st2 = statement_from_json(
        &camel,
        &StatementOptions {
            data_name: Some("test.csv".into()),
            registry: Some(json!({"url": "https://models.example"})),
        },
    )
    .unwrap();
    assert_eq!(st, st2);
    // Default data name by format.
    let st3 = statement(&r, &StatementOptions::default()).unwrap();
    assert_eq!(st3["subject"][1]["name"], "data.csv");
    assert_eq!(
        statement_from_json(&json!({"x": 1}), &StatementOptions::default())
            .unwrap_err()
            .code(),
        "INVALID_ARGUMENT"
    );
}

#[test]
fn a_comparison_names_the_challenger() {
    let mut cfg = EvalConfig::new(TaskKind::Classification, "label");
    cfg.predictions = Some(PredictionColumns {
        label: Some("pred".into()),
        ..Default::default()
    });
    let mut r = report();
    let mut c = score_predictions(cfg, None, DATA.as_bytes(), ReportContext::default())
        .unwrap()
        .comparison;
    assert!(c.is_none());
    // A comparison report carries the challenger's identity; add one by hand.
    let cmp: crate::eval::compare::Comparison = serde_json::from_value(json!({
        "champion": null,
        "challenger": {"target_path": "models/digits/3/model.onnx", "sha256": OTHER_SHA},
        "n": 4, "resamples": 0, "seed": 0, "confidence": 0.95, "prng": "x",
        "metrics": [], "mcnemar": null, "challenger_results": {}
    }))
    .unwrap();
    c = Some(cmp);
    r.comparison = c;
    let st = statement(&r, &StatementOptions::default()).unwrap();
    assert_eq!(st["subject"][2]["annotations"]["role"], "challenger");
    assert_eq!(st["subject"][2]["digest"]["sha256"], OTHER_SHA);
}

#[test]
fn pae_matches_the_dsse_specification() {
    // The DSSE v1 protocol document's example.
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
}

#[test]
fn round_trip_and_the_registry_check() {
    let (st, env) = signed_envelope();
    let bytes = env.to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\"payloadType\": \"application/vnd.in-toto+json\""));
    let keys = keys_of(&[signer().public_value()]);
    let v = verify_envelope(&bytes, &keys, 1).unwrap();
    assert_eq!(v.statement, st);
    assert_eq!(v.keyids, vec![signer().keyid().to_string()]);
    assert_eq!(
        v.subject("model").unwrap().sha256.as_deref(),
        Some(MODEL_SHA)
    );
    assert_eq!(v.report().unwrap(), report());
    let m = check_models(&v, &catalogue(MODEL_SHA)).unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].name.as_str(), m[0].version.as_str()), ("digits", "2"));
    assert_eq!(m[0].signed_by, "targets");
    let out = verified_json(&v, Some(&m));
    assert_eq!(out["models"][0]["signedBy"], "targets");
    // The registry signs other bytes under that path: refused.
    let err = check_models(&v, &catalogue(OTHER_SHA)).unwrap_err();
    assert_eq!(err.code(), "ATTESTATION_SUBJECT");
    assert!(
        err.to_string().contains("is not the registry's digits@2"),
        "{err}"
    );
    assert_eq!(
        check_models(&v, &Catalogue::default()).unwrap_err().code(),
        "ATTESTATION_SUBJECT"
    );
}

#[test]
fn a_changed_byte_is_refused() {
    let (_, env) = signed_envelope();
    let keys = keys_of(&[signer().public_value()]);
    // One byte of the statement.
    let mut e = env.clone();
    let at = e.payload.len() / 2;
    e.payload[at] ^= 1;
    assert_eq!(
        verify_envelope(&e.to_bytes(), &keys, 1).unwrap_err().code(),
        "ATTESTATION_SIGNATURE"
    );
    // One byte of the signature.
    let mut e = env.clone();
    e.signatures[0].sig[5] ^= 0x40;
    assert_eq!(
        verify_envelope(&e.to_bytes(), &keys, 1).unwrap_err().code(),
        "ATTESTATION_SIGNATURE"
    );
    // The model digest changed in the statement: the signature no longer holds...
    let text = String::from_utf8(env.payload.clone()).unwrap();
    let forged = text.replace(MODEL_SHA, OTHER_SHA);
    assert_ne!(forged, text);
    let mut e = env.clone();
    e.payload = forged.clone().into_bytes();
    assert_eq!(
        verify_envelope(&e.to_bytes(), &keys, 1).unwrap_err().code(),
        "ATTESTATION_SIGNATURE"
    );
    // ... and signed anew by the evaluator, the registry check refuses it.
    let st: Value = serde_json::from_str(&forged).unwrap();
    let e = sign_statement(&st, &signer());
    let v = verify_envelope(&e.to_bytes(), &keys, 1).unwrap();
    assert_eq!(
        check_models(&v, &catalogue(MODEL_SHA)).unwrap_err().code(),
        "ATTESTATION_SUBJECT"
    );
    // Another payload type.
    let mut e = env.clone();
    e.payload_type = "application/json".into();
    assert_eq!(
        verify_envelope(&e.to_bytes(), &keys, 1).unwrap_err().code(),
        "ATTESTATION_INVALID"
    );
    // Another key.
    let other = keys_of(&[Ed25519Signer::from_seed(&[8; 32]).public_value()]);
    let err = verify_envelope(&env.to_bytes(), &other, 1).unwrap_err();
    assert_eq!(err.code(), "ATTESTATION_SIGNATURE");
    assert!(err.to_string().contains("0 of 1"), "{err}");
}

#[test]
fn malformed_envelopes_and_statements_are_invalid_not_panics() {
    let keys = keys_of(&[signer().public_value()]);
    for bad in [
        &b""[..],
        b"[]",
        b"{}",
        b"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"%%%\",\"signatures\":[]}",
        b"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":{}}",
        b"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[{\"sig\":1}]}",
        b"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[{\"keyid\":2,\"sig\":\"\"}]}",
    ] {
        let err = verify_envelope(bad, &keys, 1).unwrap_err();
        assert_eq!(err.code(), "ATTESTATION_INVALID", "{}", String::from_utf8_lossy(bad));
    }
    // Signed but not a statement of ours: invalid after the signature check.
    for st in [
        json!({}),
        json!({"_type": STATEMENT_TYPE, "predicateType": "x", "subject": [], "predicate": {}}),
        json!({"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "subject": [], "predicate": {}}),
        json!({"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "subject": [{"name": "m", "digest": {"sha256": "zz"}}], "predicate": {}}),
        json!({"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "subject": [{"name": "m", "digest": {}}], "predicate": {}}),
        json!({"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "subject": [{"name": "m", "digest": {"sha256": MODEL_SHA}}]}),
    ] {
        let e = sign_statement(&st, &signer());
        let err = verify_envelope(&e.to_bytes(), &keys, 1).unwrap_err();
        assert_eq!(err.code(), "ATTESTATION_INVALID", "{st}");
    }
    let e = Envelope::new(b"not json".to_vec(), vec![]);
    let s = signer();
    let e = Envelope {
        signatures: vec![EnvelopeSignature {
            keyid: s.keyid().into(),
            sig: s.sign(&e.pae()).to_vec(),
        }],
        ..e
    };
    assert_eq!(
        verify_envelope(&e.to_bytes(), &keys, 1).unwrap_err().code(),
        "ATTESTATION_INVALID"
    );
    // A statement without a model cannot be matched to the registry.
    let st = json!({"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE,
        "subject": [{"name": "d", "digest": {"sha256": MODEL_SHA}, "annotations": {"role": "data"}}], "predicate": {}});
    let v = verify_envelope(&sign_statement(&st, &s).to_bytes(), &keys, 1).unwrap();
    assert_eq!(
        check_models(&v, &catalogue(MODEL_SHA)).unwrap_err().code(),
        "ATTESTATION_SUBJECT"
    );
}

#[test]
fn limits() {
    let keys = keys_of(&[signer().public_value()]);
    let big = vec![b' '; MAX_ENVELOPE_BYTES + 1];
    assert_eq!(
        verify_envelope(&big, &keys, 1).unwrap_err().code(),
        "LIMIT_EXCEEDED"
    );
    let (_, mut env) = signed_envelope();
    let sig = env.signatures[0].clone();
    env.signatures = vec![sig; MAX_SIGNATURES + 1];
    assert_eq!(
        verify_envelope(&env.to_bytes(), &keys, 1)
            .unwrap_err()
            .code(),
        "LIMIT_EXCEEDED"
    );
    let subjects: Vec<Value> = (0..=MAX_SUBJECTS)
        .map(|i| json!({"name": i.to_string(), "digest": {"sha256": MODEL_SHA}}))
        .collect();
    let st = json!({"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "subject": subjects, "predicate": {}});
    let e = sign_statement(&st, &signer());
    assert_eq!(
        verify_envelope(&e.to_bytes(), &keys, 1).unwrap_err().code(),
        "LIMIT_EXCEEDED"
    );
    let many: Vec<Value> = (0..=MAX_KEYS as u8)
        .map(|i| Ed25519Signer::from_seed(&[i; 32]).public_value())
        .collect();
    assert_eq!(
        TrustedKeys::from_value(&Value::Array(many))
            .unwrap_err()
            .code(),
        "LIMIT_EXCEEDED"
    );
    assert_eq!(
        verify(&env, &keys, 0).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
}

#[test]
fn thresholds_count_distinct_keys() {
    let (st, env) = signed_envelope();
    let a = signer();
    let b = Ed25519Signer::from_seed(&[8; 32]);
    // The same key listed twice (under a second id too) and the signature repeated: one.
    let mut map = serde_json::Map::new();
    map.insert("first".into(), a.public_value());
    map.insert("second".into(), a.public_value());
    let keys = TrustedKeys::from_value(&Value::Object(map)).unwrap();
    let mut e = env.clone();
    e.signatures.push(e.signatures[0].clone());
    e.signatures.push(EnvelopeSignature {
        keyid: "second".into(),
        sig: e.signatures[0].sig.clone(),
    });
    assert_eq!(
        verify_envelope(&e.to_bytes(), &keys, 2)
            .unwrap_err()
            .to_string(),
        "attestation signature threshold not met (1 of 2 valid signatures from trusted keys)"
    );
    // Two keys: two.
    let mut e = sign_statement(&st, &a);
    let payload = e.payload.clone();
    e.signatures.push(EnvelopeSignature {
        keyid: b.keyid().into(),
        sig: b.sign(&pae(PAYLOAD_TYPE, &payload)).to_vec(),
    });
    let keys = keys_of(&[a.public_value(), b.public_value()]);
    assert_eq!(
        verify_envelope(&e.to_bytes(), &keys, 2)
            .unwrap()
            .keyids
            .len(),
        2
    );
    // A signature without a key id is tried with every key (DSSE: the key id is a hint).
    let mut e = env.clone();
    e.signatures[0].keyid.clear();
    assert!(verify_envelope(&e.to_bytes(), &keys_of(&[a.public_value()]), 1).is_ok());
    // A key id naming another key does not borrow this key's signature.
    let mut e = env.clone();
    e.signatures[0].keyid = b.keyid().into();
    assert!(verify_envelope(&e.to_bytes(), &keys, 1).is_err());
}

#[test]
fn ecdsa_p256_signatures_in_p1363_and_der_are_accepted() {
    let st = statement(&report(), &StatementOptions::default()).unwrap();
    let payload = payload_bytes(&st);
    let key = p256_key();
    let sig: p256::ecdsa::Signature = key.sign(&pae(PAYLOAD_TYPE, &payload));
    let jwk = p256_jwk(&key);
    let tuf = tuf_key(&jwk).unwrap();
    assert_eq!(tuf["keytype"], "ecdsa");
    assert!(tuf["keyval"]["public"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let keyid = key_id(&tuf).unwrap();
    let keys = TrustedKeys::from_value(&jwk).unwrap();
    for raw in [sig.to_bytes().to_vec(), sig.to_der().as_bytes().to_vec()] {
        let e = Envelope::new(
            payload.clone(),
            vec![EnvelopeSignature {
                keyid: keyid.clone(),
                sig: raw.clone(),
            }],
        );
        let v = verify_envelope(&e.to_bytes(), &keys, 1).unwrap();
        assert_eq!(v.keyids, vec![keyid.clone()]);
        let mut bad = raw;
        bad[10] ^= 1;
        let e = Envelope::new(
            payload.clone(),
            vec![EnvelopeSignature {
                keyid: keyid.clone(),
                sig: bad,
            }],
        );
        assert_eq!(
            verify_envelope(&e.to_bytes(), &keys, 1).unwrap_err().code(),
            "ATTESTATION_SIGNATURE"
        );
    }
    // The same key as SPKI, DER and PEM, and as the TUF object: one key id.
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let der = key.verifying_key().to_public_key_der().unwrap();
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::CRLF)
        .unwrap();
    for v in [
        tuf_key_from_spki(der.as_bytes()).unwrap(),
        tuf_key_from_spki(pem.as_bytes()).unwrap(),
        tuf_key(&tuf).unwrap(),
    ] {
        assert_eq!(key_id(&v).unwrap(), keyid);
    }
}

#[test]
fn ed25519_keys_as_jwk_and_spki() {
    let s = signer();
    let raw = hex::decode(s.public_value()["keyval"]["public"].as_str().unwrap()).unwrap();
    let x = {
        use base64ct::Encoding;
        base64ct::Base64UrlUnpadded::encode_string(&raw)
    };
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": x});
    assert_eq!(key_id(&tuf_key(&jwk).unwrap()).unwrap(), s.keyid());
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(&raw);
    assert_eq!(
        key_id(&tuf_key_from_spki(&spki).unwrap()).unwrap(),
        s.keyid()
    );
    // A key file's private part is ignored (src/publish/keyfile.rs's layout).
    let mut v = s.public_value();
    v["keyval"]["private"] = json!(hex::encode(s.seed()));
    v["keyid"] = json!(s.keyid());
    v["role"] = json!("attestation");
    assert_eq!(key_id(&tuf_key(&v).unwrap()).unwrap(), s.keyid());
    for bad in [
        json!({"kty": "RSA"}),
        json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
        json!({"kty": "OKP", "crv": "Ed25519"}),
        json!({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "zz"}}),
        json!("key"),
    ] {
        assert_eq!(
            TrustedKeys::from_value(&bad).unwrap_err().code(),
            "INVALID_ARGUMENT",
            "{bad}"
        );
    }
}

#[test]
fn url_safe_and_unpadded_base64_are_accepted() {
    let (_, env) = signed_envelope();
    let keys = keys_of(&[signer().public_value()]);
    let mut v = env.to_value();
    let to_url = |s: &str| s.replace('+', "-").replace('/', "_");
    let payload = v["payload"].as_str().unwrap().to_string();
    let sig = v["signatures"][0]["sig"].as_str().unwrap().to_string();
    assert!(
        sig.ends_with('='),
        "an Ed25519 signature of 64 bytes is padded"
    );
    v["payload"] = json!(to_url(payload.trim_end_matches('=')));
    v["signatures"][0]["sig"] = json!(to_url(&sig));
    assert!(verify_envelope(v.to_string().as_bytes(), &keys, 1).is_ok());
    v["signatures"][0]["sig"] = json!(sig.trim_end_matches('='));
    assert!(verify_envelope(v.to_string().as_bytes(), &keys, 1).is_ok());
    assert_eq!(b64_decode("aGk"), Some(b"hi".to_vec()));
    assert_eq!(b64_decode("aGk="), Some(b"hi".to_vec()));
    assert_eq!(b64_decode("-_8"), Some(vec![0xfb, 0xff]));
    assert_eq!(b64_decode("+/8="), Some(vec![0xfb, 0xff]));
    assert_eq!(b64_decode("a"), None);
    assert_eq!(b64_decode("a b="), None);
}
