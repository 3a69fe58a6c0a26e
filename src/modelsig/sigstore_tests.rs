//! The Sigstore method on real production bundles (see tests/fixtures/sigstore/README.md), and
//! the same bundles tampered with.

use serde_json::Value;

use super::*;

const ROOT: &[u8] = include_bytes!("../../tests/fixtures/sigstore/trusted_root.production.json");
const CONDA: &[u8] =
    include_bytes!("../../tests/fixtures/sigstore/conda-attestation.sigstore.json");
const HAPPY: &[u8] = include_bytes!("../../tests/fixtures/sigstore/happy-path.sigstore.json");
const SIGSTORE_JS: &[u8] =
    include_bytes!("../../tests/fixtures/sigstore/sigstore-js-2.0.0-provenance.sigstore.json");
const INTOTO_2022: &[u8] =
    include_bytes!("../../tests/fixtures/sigstore/intoto-2022.sigstore.json");
const MODEL_V110: &[u8] =
    include_bytes!("../../tests/fixtures/model-signing/bundles/upstream/v1.1.0-sigstore.sig");
const MODEL_V100: &[u8] =
    include_bytes!("../../tests/fixtures/model-signing/bundles/upstream/v1.0.0-sigstore.sig");

const GITHUB: &str = "https://token.actions.githubusercontent.com";
const CONDA_ID: &str =
    "https://github.com/prefix-dev/sigstore-example/.github/workflows/action.yaml@refs/heads/main";
const HAPPY_ID: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const JS_ID: &str =
    "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main";
const IBM_ID: &str = "stefanb@us.ibm.com";
const IBM_ISSUER: &str = "https://sigstore.verify.ibm.com/oauth2";

fn root() -> TrustedRoot {
    TrustedRoot::from_json(ROOT).unwrap()
}

fn bundle(bytes: &[u8]) -> Bundle {
    Bundle::from_json(bytes).unwrap()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn bundle_of(v: &Value) -> Bundle {
    Bundle::from_value(v).unwrap()
}

/// Applies `f` to the bundle's JSON.
fn tampered(bytes: &[u8], f: impl FnOnce(&mut Value)) -> Bundle {
    let mut v = json(bytes);
    f(&mut v);
    bundle_of(&v)
}

fn entry(v: &mut Value) -> &mut Value {
    &mut v["verificationMaterial"]["tlogEntries"][0]
}

/// Flips one bit of a base64 field (decoded byte `at`, from the end when negative).
fn flip_b64(field: &mut Value, at: isize) {
    let bytes = Base64::decode_vec(field.as_str().unwrap()).unwrap();
    let mut bytes = bytes;
    let i = if at < 0 {
        bytes.len() - at.unsigned_abs()
    } else {
        at as usize
    };
    bytes[i] ^= 1;
    *field = Value::String(Base64::encode_string(&bytes));
}

fn assert_signature(r: Result<Checked, ModelSigError>, needle: &str) {
    match r {
        Err(ModelSigError::Signature(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("expected a Signature error with `{needle}`, got {other:?}"),
    }
}

#[test]
fn trusted_root_parses() {
    let r = root();
    assert_eq!(r.tlogs.len(), 2);
    assert_eq!(r.ctlogs.len(), 2);
    assert_eq!(r.certificate_authorities.len(), 2);
    assert_eq!(r.timestamp_authorities, 1);
    let rekor = &r.tlogs[0];
    assert_eq!(rekor.base_url, "https://rekor.sigstore.dev");
    // The log id is the SHA-256 of the key (logId.keyId of the trusted root).
    assert_eq!(
        Base64::encode_string(&rekor.key_id),
        "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0="
    );
    // 2021-01-12T11:53:27Z
    assert_eq!(rekor.valid_for.start_ms, Some(1_610_452_407_000));
    // 2022-12-31T23:59:59.999Z
    assert_eq!(
        r.certificate_authorities[0].valid_for.end_ms,
        Some(1_672_531_199_999)
    );
}

#[test]
fn trusted_root_refusals() {
    assert!(matches!(
        TrustedRoot::from_json(b"{}"),
        Err(ModelSigError::InvalidArgument { .. })
    ));
    assert!(matches!(
        TrustedRoot::from_json(br#"{"mediaType":"application/json"}"#),
        Err(ModelSigError::InvalidArgument { .. })
    ));
    let big = vec![b' '; limits::TRUSTED_ROOT_BYTES + 1];
    assert!(matches!(
        TrustedRoot::from_json(&big),
        Err(ModelSigError::LimitExceeded { .. })
    ));
    let mut v = json(ROOT);
    v["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
        Value::String("AAAA".into());
    assert!(matches!(
        TrustedRoot::from_json(v.to_string().as_bytes()),
        Err(ModelSigError::InvalidArgument { .. })
    ));
}

#[test]
fn rfc3339() {
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_rfc3339_ms("2000-03-01T00:00:00Z"),
        Some(951_868_800_000)
    );
    assert_eq!(
        parse_rfc3339_ms("2022-12-31T23:59:59.999Z"),
        Some(1_672_531_199_999)
    );
    assert_eq!(
        parse_rfc3339_ms("2021-01-12T12:53:27+01:00"),
        Some(1_610_452_407_000)
    );
    assert_eq!(
        parse_rfc3339_ms("2021-01-12T11:53:27.5Z"),
        Some(1_610_452_407_500)
    );
    assert_eq!(parse_rfc3339_ms("2021-01-12 11:53:27"), None);
    assert_eq!(parse_rfc3339_ms("2021-13-12T11:53:27Z"), None);
    assert_eq!(parse_rfc3339_ms("2021-01-12T11:53:27Zjunk"), None);
}

#[test]
fn real_dsse_bundles_verify() {
    let r = root();
    let c = verify(&bundle(CONDA), &r, CONDA_ID, GITHUB).unwrap();
    assert_eq!(c.integrated_time, 1_756_728_839);
    assert_eq!(c.identity, CONDA_ID);
    assert_eq!(c.issuer, GITHUB);
    assert!(c.log_index.is_some());
    // The envelope's signature verifies with the certificate's key (what mod.rs checks next).
    let b = bundle(CONDA);
    assert!(c.key.verify(&b.envelope.pae(), &b.envelope.signatures[0]));

    let c = verify(&bundle(HAPPY), &r, HAPPY_ID, GITHUB).unwrap();
    assert_eq!(c.integrated_time, 1_734_374_576);
}

#[test]
fn real_model_signing_bundles_verify() {
    let r = root();
    for bytes in [MODEL_V110, MODEL_V100] {
        let b = bundle(bytes);
        let c = verify(&b, &r, IBM_ID, IBM_ISSUER).unwrap();
        assert!(c.key.verify(&b.envelope.pae(), &b.envelope.signatures[0]));
    }
}

#[test]
fn intoto_entry_verifies() {
    // sigstore-python 4.5 refuses intoto entries ("Integrated time only supported for
    // dsse/hashedrekord 0.0.1 types"); Rekor v1 wrote them for DSSE before the dsse type, and
    // they are checked here as the brief asks.
    let c = verify(&bundle(SIGSTORE_JS), &root(), JS_ID, GITHUB).unwrap();
    assert_eq!(c.integrated_time, 1_692_374_735);
}

#[test]
fn entry_without_inclusion_proof_is_refused() {
    let r = verify(
        &bundle(INTOTO_2022),
        &root(),
        "brian@dehamer.com",
        "https://github.com/login/oauth",
    );
    assert!(matches!(r, Err(ModelSigError::Invalid(_))), "{r:?}");
}

#[test]
fn wrong_identity_or_issuer() {
    let r = root();
    let b = bundle(CONDA);
    let e = verify(&b, &r, "someone@example.com", GITHUB).unwrap_err();
    assert!(matches!(e, ModelSigError::Identity(_)), "{e:?}");
    let e = verify(&b, &r, CONDA_ID, "https://accounts.google.com").unwrap_err();
    assert!(matches!(e, ModelSigError::Identity(_)), "{e:?}");
    let e = verify(&bundle(MODEL_V110), &r, "stefanb@us.ibm.co", IBM_ISSUER).unwrap_err();
    assert!(matches!(e, ModelSigError::Identity(_)), "{e:?}");
}

#[test]
fn tampered_inclusion_proof() {
    let r = root();
    let b = tampered(CONDA, |v| {
        flip_b64(&mut entry(v)["inclusionProof"]["hashes"][3], 7)
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "inclusion proof");
    let b = tampered(CONDA, |v| {
        flip_b64(&mut entry(v)["inclusionProof"]["rootHash"], 0)
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "inclusion proof");
    let b = tampered(CONDA, |v| {
        entry(v)["inclusionProof"]["hashes"]
            .as_array_mut()
            .unwrap()
            .pop();
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "inclusion proof");
    let b = tampered(CONDA, |v| {
        let p = &mut entry(v)["inclusionProof"]["logIndex"];
        let i: u64 = p.as_str().unwrap().parse().unwrap();
        *p = Value::String((i + 1).to_string());
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "inclusion proof");
}

#[test]
fn tampered_body_breaks_proof() {
    // The body is the Merkle leaf: any change to it breaks the proof first.
    let b = tampered(CONDA, |v| flip_b64(&mut entry(v)["canonicalizedBody"], 40));
    assert_signature(verify(&b, &root(), CONDA_ID, GITHUB), "inclusion proof");
}

#[test]
fn tampered_checkpoint() {
    let r = root();
    // Another tree size in the signed note: its signature no longer verifies.
    let b = tampered(CONDA, |v| {
        let cp = &mut entry(v)["inclusionProof"]["checkpoint"]["envelope"];
        let text = cp.as_str().unwrap().to_string();
        let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
        let size: u64 = lines[1].parse().unwrap();
        lines[1] = (size + 1).to_string();
        *cp = Value::String(lines.join("\n"));
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "checkpoint");
    // A flipped signature.
    let b = tampered(CONDA, |v| {
        let cp = &mut entry(v)["inclusionProof"]["checkpoint"]["envelope"];
        let text = cp.as_str().unwrap().to_string();
        let (head, sig) = text.rsplit_once(' ').unwrap();
        let mut raw = Base64::decode_vec(sig.trim_end()).unwrap();
        let n = raw.len();
        raw[n - 2] ^= 1;
        *cp = Value::String(format!("{head} {}\n", Base64::encode_string(&raw)));
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "checkpoint");
}

#[test]
fn tampered_inclusion_promise() {
    let r = root();
    let b = tampered(CONDA, |v| {
        flip_b64(
            &mut entry(v)["inclusionPromise"]["signedEntryTimestamp"],
            -3,
        )
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "inclusion promise");
    // Another integrated time (still within the certificate's ten minutes).
    let b = tampered(CONDA, |v| {
        let t = &mut entry(v)["integratedTime"];
        let i: u64 = t.as_str().unwrap().parse().unwrap();
        *t = Value::String((i + 1).to_string());
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "inclusion promise");
    // Another log index.
    let b = tampered(CONDA, |v| {
        let t = &mut entry(v)["logIndex"];
        let i: u64 = t.as_str().unwrap().parse().unwrap();
        *t = Value::String((i + 1).to_string());
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "inclusion promise");
    // No promise: no verified time.
    let b = tampered(CONDA, |v| {
        entry(v).as_object_mut().unwrap().remove("inclusionPromise");
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "verified time");
}

#[test]
fn integrated_time_outside_certificate() {
    // An hour later: the certificate (ten minutes) has expired; refused before the promise.
    let b = tampered(CONDA, |v| {
        let t = &mut entry(v)["integratedTime"];
        let i: u64 = t.as_str().unwrap().parse().unwrap();
        *t = Value::String((i + 3600).to_string());
    });
    assert_signature(verify(&b, &root(), CONDA_ID, GITHUB), "not valid at");
}

#[test]
fn unknown_log() {
    let b = tampered(CONDA, |v| flip_b64(&mut entry(v)["logId"]["keyId"], 0));
    assert_signature(verify(&b, &root(), CONDA_ID, GITHUB), "does not list");
}

#[test]
fn log_key_outside_validity() {
    let mut v = json(ROOT);
    v["tlogs"][0]["publicKey"]["validFor"]["end"] = Value::String("2024-01-01T00:00:00Z".into());
    let r = TrustedRoot::from_json(v.to_string().as_bytes()).unwrap();
    assert_signature(verify(&bundle(CONDA), &r, CONDA_ID, GITHUB), "log key");
}

#[test]
fn envelope_inconsistent_with_entry() {
    let r = root();
    // Another payload: the logged payload hash differs (the envelope's signature would fail
    // too, in mod.rs).
    let b = tampered(CONDA, |v| {
        let p = &mut v["dsseEnvelope"]["payload"];
        let mut raw = Base64::decode_vec(p.as_str().unwrap()).unwrap();
        raw.push(b' ');
        *p = Value::String(Base64::encode_string(&raw));
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "payload hash");
    // Another signature than the logged one.
    let b = tampered(CONDA, |v| {
        flip_b64(&mut v["dsseEnvelope"]["signatures"][0]["sig"], -1)
    });
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "signatures");
}

#[test]
fn tampered_sct() {
    let r = root();
    let b = bundle(CONDA);
    let leaf = Cert::parse(&b.certificates[0], "leaf").unwrap();
    let ext = leaf.extension(&OID_SCT_LIST).unwrap();
    let scts = parse_sct_list(ext.extn_value.as_bytes()).unwrap();
    assert_eq!(scts.len(), 1);
    let sct = &scts[0];
    assert_eq!((sct.version, sct.hash_alg, sct.sig_alg), (0, 4, 3));
    let ct = TrustedRoot::log(&r.ctlogs, &sct.log_id).unwrap();
    assert_eq!(ct.base_url, "https://ctfe.sigstore.dev/2022");

    // The CA's intermediate issued the leaf: its key hash is bound into the SCT.
    let ca = &r.certificate_authorities[1];
    let issuer = Cert::parse(&ca.certificates[0], "ca").unwrap();
    let good: [u8; 32] = Sha256::digest(issuer.spki_der()).into();
    let data = sct_signed_data(sct, &leaf, &good).unwrap();
    assert!(ct.key.verify(&data, &sct.signature));
    let mut other = good;
    other[0] ^= 1;
    let data = sct_signed_data(sct, &leaf, &other).unwrap();
    assert!(!ct.key.verify(&data, &sct.signature));
    // Another timestamp.
    let mut later = sct.clone();
    later.timestamp_ms += 1;
    let data = sct_signed_data(&later, &leaf, &good).unwrap();
    assert!(!ct.key.verify(&data, &later.signature));

    // A CT log key that is not valid when the SCT was issued.
    let mut v = json(ROOT);
    v["ctlogs"][1]["publicKey"]["validFor"]["start"] = Value::String("2026-01-01T00:00:00Z".into());
    let late = TrustedRoot::from_json(v.to_string().as_bytes()).unwrap();
    assert_signature(verify(&b, &late, CONDA_ID, GITHUB), "SCT");
    // Without the CT log the SCT is from.
    let mut v = json(ROOT);
    v["ctlogs"].as_array_mut().unwrap().pop();
    let without = TrustedRoot::from_json(v.to_string().as_bytes()).unwrap();
    assert_signature(verify(&b, &without, CONDA_ID, GITHUB), "CT log");
    // Another CT key under the right log: the signature does not verify.
    let mut v = json(ROOT);
    let other_key = v["tlogs"][0]["publicKey"]["rawBytes"].clone();
    v["ctlogs"][1]["publicKey"]["rawBytes"] = other_key;
    let mut swapped = TrustedRoot::from_json(v.to_string().as_bytes()).unwrap();
    swapped.ctlogs[1].key_id = sct.log_id;
    assert_signature(
        verify(&b, &swapped, CONDA_ID, GITHUB),
        "signed certificate timestamp",
    );
}

#[test]
fn ca_window() {
    let b = bundle(CONDA);
    // The current Fulcio CA's window ends before the entry.
    let mut v = json(ROOT);
    v["certificateAuthorities"][1]["validFor"]["end"] =
        Value::String("2024-01-01T00:00:00Z".into());
    let r = TrustedRoot::from_json(v.to_string().as_bytes()).unwrap();
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "certificate authority");
    // Only the old CA (2021-2022): the chain does not lead to it.
    let mut v = json(ROOT);
    v["certificateAuthorities"].as_array_mut().unwrap().pop();
    v["certificateAuthorities"][0]["validFor"]
        .as_object_mut()
        .unwrap()
        .remove("end");
    let r = TrustedRoot::from_json(v.to_string().as_bytes()).unwrap();
    assert_signature(verify(&b, &r, CONDA_ID, GITHUB), "no certificate chain");
}

#[test]
fn tampered_certificate() {
    // A flipped byte in the certificate's signature: the chain does not verify.
    let b = tampered(CONDA, |v| {
        flip_b64(
            &mut v["verificationMaterial"]["certificate"]["rawBytes"],
            -5,
        )
    });
    assert_signature(
        verify(&b, &root(), CONDA_ID, GITHUB),
        "no certificate chain",
    );
}

#[test]
fn entry_shapes() {
    let r = root();
    let b = tampered(CONDA, |v| {
        let e = entry(v).clone();
        v["verificationMaterial"]["tlogEntries"]
            .as_array_mut()
            .unwrap()
            .push(e);
    });
    assert!(matches!(
        verify(&b, &r, CONDA_ID, GITHUB),
        Err(ModelSigError::Invalid(_))
    ));
    let b = tampered(CONDA, |v| {
        entry(v)["inclusionProof"]
            .as_object_mut()
            .unwrap()
            .remove("checkpoint");
    });
    assert!(matches!(
        verify(&b, &r, CONDA_ID, GITHUB),
        Err(ModelSigError::Invalid(_))
    ));
    let b = tampered(CONDA, |v| {
        entry(v)["kindVersion"]["kind"] = Value::String("hashedrekord".into());
    });
    assert!(matches!(
        verify(&b, &r, CONDA_ID, GITHUB),
        Err(ModelSigError::Invalid(_))
    ));
    let b = tampered(CONDA, |v| {
        entry(v)["inclusionProof"]["hashes"] = Value::Array(vec![Value::String("AA==".into()); 65]);
    });
    assert!(matches!(
        verify(&b, &r, CONDA_ID, GITHUB),
        Err(ModelSigError::LimitExceeded { .. })
    ));
}

#[test]
fn merkle_small_trees() {
    // A tree of three leaves a, b, c: root = H(H(a,b), c).
    let (a, b, c) = (hash_leaf(b"a"), hash_leaf(b"b"), hash_leaf(b"c"));
    let ab = hash_children(&a, &b);
    let root = hash_children(&ab, &c);
    let p = |hs: &[[u8; 32]]| hs.iter().map(|h| h.to_vec()).collect::<Vec<_>>();
    assert_eq!(root_from_inclusion_proof(0, 3, a, &p(&[b, c])), Ok(root));
    assert_eq!(root_from_inclusion_proof(1, 3, b, &p(&[a, c])), Ok(root));
    assert_eq!(root_from_inclusion_proof(2, 3, c, &p(&[ab])), Ok(root));
    assert_ne!(root_from_inclusion_proof(1, 3, b, &p(&[c, a])), Ok(root));
    assert!(root_from_inclusion_proof(3, 3, c, &p(&[ab])).is_err());
    assert!(root_from_inclusion_proof(2, 3, c, &p(&[ab, a])).is_err());
    assert_eq!(root_from_inclusion_proof(0, 1, a, &[]), Ok(a));
}

#[test]
fn checkpoint_parsing() {
    let cp = Checkpoint::parse("origin - 1\n5\nAAAA\n\n\u{2014} name AQIDBAU=\n").unwrap();
    assert_eq!(cp.note, "origin - 1\n5\nAAAA\n");
    assert_eq!(cp.size, 5);
    assert_eq!(cp.signatures.len(), 1);
    assert_eq!(cp.signatures[0].1, [1, 2, 3, 4]);
    assert!(Checkpoint::parse("origin\n5\nAAAA\n\n\u{2014} name AQIDBAU=").is_err());
    assert!(Checkpoint::parse("origin\n5\nAAAA\n\n\n\n\u{2014} name AQIDBAU=\n").is_err());
    assert!(Checkpoint::parse("origin\n5\n\n\u{2014} name AQIDBAU=\n").is_err());
    assert!(Checkpoint::parse("origin\nfive\nAAAA\n\n\u{2014} name AQIDBAU=\n").is_err());
}

#[test]
fn staging_trusted_root_parses() {
    let r = TrustedRoot::from_json(include_bytes!(
        "../../tests/fixtures/model-signing/sigstore/staging/trusted_root.json"
    ))
    .unwrap();
    // Rekor v1 (P-256) and the Rekor v2 logs (Ed25519); the RSA CT log of 2021 too.
    assert_eq!(r.tlogs.len(), 4);
    assert!(r.ctlogs.iter().any(|l| matches!(l.key, LogKey::Rsa(_))));
    assert_eq!(r.certificate_authorities.len(), 1);
}
