//! Unit tests of the bundle reader, the keys and the manifest check. The agreement with the
//! reference verifier over the committed fixtures is tests/model_signing.rs.

use super::bundle::Envelope;
use super::*;
use serde_json::json;

fn statement(resources: &[(&str, [u8; 32])], method: &str, shard: Option<u64>) -> Vec<u8> {
    let mut h = Sha256::new();
    for (_, d) in resources {
        h.update(d);
    }
    let root: [u8; 32] = h.finalize().into();
    let mut ser = json!({"method": method, "hash_type": "sha256", "allow_symlinks": false,
        "ignore_paths": [".git"]});
    if let Some(s) = shard {
        ser["shard_size"] = json!(s as f64);
    }
    let alg = shard.map_or("sha256".to_string(), |s| format!("sha256-sharded-{s}"));
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "m", "digest": {"sha256": keys::hex(&root)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"serialization": ser, "resources": resources.iter().map(|(n, d)| json!({
            "name": n, "algorithm": alg, "digest": keys::hex(d)})).collect::<Vec<_>>()},
    }))
    .unwrap()
}

use sha2::{Digest as _, Sha256};

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

#[test]
fn sharded_hashing_matches_the_reference_layout_in_any_chunking() {
    let data: Vec<u8> = (0..2955u32).map(|i| (i * 7 % 251) as u8).collect();
    let shards: Vec<(String, [u8; 32])> = [(0, 1024), (1024, 2048), (2048, 2955)]
        .iter()
        .map(|&(a, b)| (format!(".:{a}:{b}"), sha(&data[a..b])))
        .collect();
    let named: Vec<(&str, [u8; 32])> = shards.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let m = Manifest::from_statement(&statement(&named, "shards", Some(1024))).unwrap();
    assert_eq!(m.serialization.shard_size, Some(1024));
    assert!(m.is_single_file());
    for step in [1, 3, 1000, 1024, 1025, 5000] {
        let mut c = m.checker();
        let mut h = c.file(".");
        for chunk in data.chunks(step) {
            h.update(chunk);
        }
        c.add(h).unwrap();
        assert_eq!(c.finish(), Ok(3), "chunks of {step}");
    }
    // An empty file is one empty shard; a file of exactly one shard has no empty tail.
    let empty =
        Manifest::from_statement(&statement(&[("e:0:0", sha(b""))], "shards", Some(4))).unwrap();
    let mut c = empty.checker();
    c.add_bytes("e", b"").unwrap();
    assert_eq!(c.finish(), Ok(1));
    let exact = Manifest::from_statement(&statement(&[("x:0:4", sha(b"abcd"))], "shards", Some(4)))
        .unwrap();
    let mut c = exact.checker();
    c.add_bytes("x", b"abcd").unwrap();
    assert_eq!(c.finish(), Ok(1));
}

#[test]
fn mismatches_name_extra_missing_and_changed_files() {
    let m = Manifest::from_statement(&statement(
        &[("a", sha(b"a")), ("d/b", sha(b"b"))],
        "files",
        None,
    ))
    .unwrap();
    let mut c = m.checker();
    c.add_bytes("a", b"A").unwrap();
    c.add_bytes("c", b"c").unwrap();
    let e = c.finish().unwrap_err();
    assert_eq!(e.code(), "MODEL_SIGNATURE_MISMATCH");
    let text = e.to_string();
    assert!(text.contains("extra files: c"), "{text}");
    assert!(text.contains("missing files: d/b"), "{text}");
    assert!(text.contains("hash mismatch for 'a'"), "{text}");
    assert!(m.ignores(".git/config") && m.ignores(".git") && !m.ignores(".gitx"));
    assert!(is_git_path(".github/workflows/x") && !is_git_path("src/.git"));
}

#[test]
fn statements_that_are_not_model_signatures_are_invalid() {
    let good = statement(&[("a", sha(b"a"))], "files", None);
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    v["subject"][0]["digest"]["sha256"] = json!("00".repeat(32));
    let e = Manifest::from_statement(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(e.to_string().contains("inconsistent"), "{e}");
    for (path, value) in [
        ("predicateType", json!("https://example.com/other")),
        ("_type", json!("x")),
    ] {
        let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
        v[path] = value;
        let e = Manifest::from_statement(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert_eq!(e.code(), "MODEL_SIGNATURE_INVALID");
    }
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    v["predicate"]["serialization"]["hash_type"] = json!("blake3");
    assert_eq!(
        Manifest::from_statement(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .code(),
        "MODEL_SIGNATURE_INVALID"
    );
    assert!(Manifest::from_statement(b"[").is_err());
}

#[test]
fn bundles_over_a_limit_or_malformed_are_typed_errors() {
    let big = vec![b' '; limits::BUNDLE_BYTES + 1];
    assert_eq!(
        Bundle::from_json(&big).unwrap_err().code(),
        "LIMIT_EXCEEDED"
    );
    let sigs: Vec<_> = (0..limits::SIGNATURES + 1)
        .map(|_| json!({"sig": "AAAA", "keyid": ""}))
        .collect();
    let b = json!({"mediaType": bundle::MEDIA_TYPES[0], "verificationMaterial": {"publicKey": {"hint": ""}},
        "dsseEnvelope": {"payload": "e30=", "payloadType": PAYLOAD_TYPE, "signatures": sigs}});
    assert_eq!(Bundle::from_value(&b).unwrap_err().code(), "LIMIT_EXCEEDED");
    for bad in [
        json!(null),
        json!({"mediaType": 1}),
        json!({"mediaType": bundle::MEDIA_TYPES[0], "verificationMaterial": {}, "dsseEnvelope": {}}),
        json!({"mediaType": bundle::MEDIA_TYPES[0], "verificationMaterial": {"publicKey": {}},
            "dsseEnvelope": {"payload": "not base64!", "payloadType": PAYLOAD_TYPE, "signatures": []}}),
        json!({"mediaType": bundle::MEDIA_TYPES[0], "verificationMaterial": {"publicKey": {}},
            "dsseEnvelope": {"payload": "e30=", "payloadType": PAYLOAD_TYPE, "signatures": []}}),
    ] {
        assert_eq!(
            Bundle::from_value(&bad).unwrap_err().code(),
            "MODEL_SIGNATURE_INVALID",
            "{bad}"
        );
    }
}

#[test]
fn the_compat_encoding_is_pythons_bytes_repr() {
    let e = Envelope {
        payload: b"{\"a\": 'x'}\n\\\x01".to_vec(),
        payload_type: PAYLOAD_TYPE.into(),
        signatures: vec![],
        keyids: vec![],
    };
    let text = String::from_utf8(e.pae_compat()).unwrap();
    assert_eq!(
        text,
        format!("DSSEV1 28 {PAYLOAD_TYPE} 13 b'{{\"a\": \\'x\\'}}\\n\\\\\\x01'")
    );
    assert!(e
        .pae()
        .starts_with(b"DSSEv1 28 application/vnd.in-toto+json 13 {"));
}

#[test]
fn keys_are_read_from_pem_or_der_and_refused_otherwise() {
    for bad in [
        &b""[..],
        b"-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----\n",
        b"\x30\x03\x02\x01\x00",
    ] {
        assert_eq!(
            PublicKey::from_spki(bad).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
    }
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let public = PublicKey::Ed25519(key.verifying_key());
    let again = PublicKey::from_spki(public.pem().as_bytes()).unwrap();
    assert_eq!(again, public);
    assert_eq!(PublicKey::from_der(&public.spki_der()).unwrap(), public);
    use ed25519_dalek::Signer as _;
    let sig = key.sign(b"m").to_bytes();
    assert!(public.verify(b"m", &sig) && !public.verify(b"n", &sig));
    assert!(!public.verify_prehash(&[0; 32], &sig));
}
