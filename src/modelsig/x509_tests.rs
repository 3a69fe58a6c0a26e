//! The certificate method's chain checks, on the model-signing fixtures (tests/fixtures/
//! model-signing: a test CA and model_signing 1.1.0's own certificate-signed bundle), with the
//! verdicts of model_signing 1.1.1's reference verifier (`_verify_certificates`, OpenSSL).

use super::*;
use crate::modelsig::Bundle;

const ROOT: &str = include_str!("../../tests/fixtures/model-signing/ca/root.pem");
const INTERMEDIATE: &str = include_str!("../../tests/fixtures/model-signing/ca/intermediate.pem");
const UPSTREAM_CA: &str =
    include_str!("../../tests/fixtures/model-signing/ca/upstream/ca-cert.pem");

fn bundle(name: &str) -> Bundle {
    let bytes = match name {
        "cert-good-single" => {
            include_bytes!("../../tests/fixtures/model-signing/bundles/cert-good-single.sig")
                .as_slice()
        }
        "cert-good-dir" => {
            include_bytes!("../../tests/fixtures/model-signing/bundles/cert-good-dir.sig")
                .as_slice()
        }
        "cert-expired-leaf" => {
            include_bytes!("../../tests/fixtures/model-signing/bundles/cert-expired-leaf.sig")
                .as_slice()
        }
        "cert-leaf-before-intermediate" => include_bytes!(
            "../../tests/fixtures/model-signing/bundles/cert-leaf-before-intermediate.sig"
        )
        .as_slice(),
        "cert-no-signing-usage" => {
            include_bytes!("../../tests/fixtures/model-signing/bundles/cert-no-signing-usage.sig")
                .as_slice()
        }
        "cert-untrusted-root" => {
            include_bytes!("../../tests/fixtures/model-signing/bundles/cert-untrusted-root.sig")
                .as_slice()
        }
        "upstream" => include_bytes!(
            "../../tests/fixtures/model-signing/bundles/upstream/v1.1.0-certificate.sig"
        )
        .as_slice(),
        other => panic!("no fixture {other}"),
    };
    Bundle::from_json(bytes).unwrap()
}

fn anchors(pems: &[&str]) -> Vec<Vec<u8>> {
    anchors_from_pem(&pems.concat()).unwrap()
}

fn check(name: &str, pems: &[&str]) -> Result<Leaf, ModelSigError> {
    verify_chain_for_signing(bundle(name).certificates(), &anchors(pems))
}

#[test]
fn reference_verdicts() {
    // (bundle, anchors, accepted) as model_signing 1.1.1 decides.
    let cases: &[(&str, &[&str], bool)] = &[
        ("cert-good-single", &[ROOT], true),
        ("cert-good-single", &[ROOT, INTERMEDIATE], true),
        // OpenSSL without partial chains: an intermediate alone is not a trust anchor.
        ("cert-good-single", &[INTERMEDIATE], false),
        ("cert-good-single", &[UPSTREAM_CA], false),
        ("cert-good-dir", &[ROOT], true),
        // Checked at the leaf's start of validity, as the reference does.
        ("cert-expired-leaf", &[ROOT], true),
        ("cert-leaf-before-intermediate", &[ROOT], false),
        (
            "cert-leaf-before-intermediate",
            &[ROOT, INTERMEDIATE],
            false,
        ),
        ("cert-no-signing-usage", &[ROOT], false),
        ("cert-untrusted-root", &[ROOT], false),
        ("cert-untrusted-root", &[ROOT, INTERMEDIATE], false),
        ("upstream", &[UPSTREAM_CA], true),
        ("upstream", &[ROOT], false),
        ("upstream", &[ROOT, INTERMEDIATE], false),
    ];
    for (name, pems, accepted) in cases {
        let r = check(name, pems);
        match (accepted, &r) {
            (true, Ok(_)) => {}
            (false, Err(ModelSigError::Signature(_))) => {}
            _ => panic!("{name} with {} anchors: {r:?}", pems.len()),
        }
    }
}

#[test]
fn leaf_details() {
    let b = bundle("cert-good-single");
    let leaf = check("cert-good-single", &[ROOT]).unwrap();
    let cert = Cert::parse(&b.certificates()[0], "leaf").unwrap();
    assert_eq!(leaf.not_before, cert.not_before());
    assert_eq!(leaf.subject, cert.subject());
    // The envelope verifies with the leaf's key.
    assert!(leaf
        .key
        .verify(&b.envelope.pae(), &b.envelope.signatures[0]));
    let up = bundle("upstream");
    let leaf = check("upstream", &[UPSTREAM_CA]).unwrap();
    assert!(leaf
        .key
        .verify(&up.envelope.pae(), &up.envelope.signatures[0]));
}

#[test]
fn tampered_chain() {
    let b = bundle("cert-good-single");
    let anchors = anchors(&[ROOT]);
    // A flipped bit in the leaf's signature.
    let mut chain = b.certificates().to_vec();
    let n = chain[0].len();
    chain[0][n - 3] ^= 1;
    assert!(matches!(
        verify_chain_for_signing(&chain, &anchors),
        Err(ModelSigError::Signature(_))
    ));
    // Without the intermediate.
    let chain = b.certificates()[..1].to_vec();
    assert!(matches!(
        verify_chain_for_signing(&chain, &anchors),
        Err(ModelSigError::Signature(_))
    ));
    // Not DER.
    let chain = vec![b"not a certificate".to_vec()];
    assert!(matches!(
        verify_chain_for_signing(&chain, &anchors),
        Err(ModelSigError::Invalid(_))
    ));
    assert!(matches!(
        verify_chain_for_signing(&[], &anchors),
        Err(ModelSigError::Invalid(_))
    ));
    let long = vec![b.certificates()[0].clone(); limits::CERTIFICATES + 1];
    assert!(matches!(
        verify_chain_for_signing(&long, &anchors),
        Err(ModelSigError::LimitExceeded { .. })
    ));
}

#[test]
fn anchors_from_pem_errors() {
    assert_eq!(anchors(&[ROOT, INTERMEDIATE]).len(), 2);
    assert!(matches!(
        anchors_from_pem("nothing here"),
        Err(ModelSigError::InvalidArgument { .. })
    ));
    let bogus = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        anchors_from_pem(bogus),
        Err(ModelSigError::InvalidArgument { .. })
    ));
    assert!(matches!(
        verify_chain_for_signing(bundle("cert-good-single").certificates(), &[]),
        Err(ModelSigError::InvalidArgument { .. })
    ));
}

#[test]
fn der_lengths() {
    assert_eq!(tlv_len(&[0x30, 0x00]), Some(2));
    assert_eq!(tlv_len(&[0x30, 0x81, 0x01, 0xff]), Some(4));
    assert_eq!(tlv_len(&[0x30, 0x82, 0x01]), None);
    assert_eq!(tlv_len(&[0x30, 0x05, 0x00]), None);
    assert_eq!(tlv_len(&[0x30, 0x80]), None);
}
