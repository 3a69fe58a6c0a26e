//! X.509 certificate chains for the certificate and Sigstore methods.
//!
//! A small path builder and validator, enough for signing certificates: from the leaf, each next
//! certificate is one whose subject is the current certificate's issuer and whose key verifies
//! its signature (ECDSA P-256 / P-384 with the hash the signature algorithm names, Ed25519, RSA
//! PKCS #1 v1.5), that is a CA (basicConstraints `cA`, and `keyCertSign` when it has a key
//! usage), within its path length constraint, and valid at the verification time. A certificate
//! with a critical extension this module does not know, or with name constraints (not enforced
//! here), is refused, as OpenSSL refuses unhandled critical extensions.
//!
//! The certificate method ([`verify_chain_for_signing`]) follows model_signing's reference
//! verifier (OpenSSL's `X509_verify_cert` through pyOpenSSL): the path must end at a
//! self-issued trust anchor (no partial chains), every certificate of it valid at the leaf's
//! start of validity. The Sigstore method ([`super::sigstore`]) uses [`build_path`] with
//! cryptography's semantics instead: any certificate of a Fulcio CA is a trust anchor.

use sha2::{Digest as _, Sha256, Sha384, Sha512};
use x509_cert::der::{self, Decode as _, Encode as _};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};
use x509_cert::ext::Extension;
use x509_cert::Certificate;

use super::{bad_argument, invalid, limits, over_limit, sig_error, ModelSigError, PublicKey};

pub use x509_cert::der::asn1::ObjectIdentifier as Oid;

/// A signing certificate whose chain verified.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// Its public key.
    pub key: PublicKey,
    /// Its subject, as text.
    pub subject: String,
    /// Its start of validity, seconds since the epoch.
    pub not_before: u64,
}

pub(crate) const OID_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
pub(crate) const OID_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
pub(crate) const OID_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
pub(crate) const OID_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
const OID_NAME_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.30");
/// Extensions a certificate may mark critical: the ones checked here, and the ones OpenSSL
/// handles without their affecting a signing chain (policies, key identifiers, issuer names,
/// CRL distribution points).
const KNOWN_CRITICAL: &[&str] = &[
    "2.5.29.14", // subjectKeyIdentifier
    "2.5.29.15", // keyUsage
    "2.5.29.17", // subjectAltName
    "2.5.29.18", // issuerAltName
    "2.5.29.19", // basicConstraints
    "2.5.29.31", // cRLDistributionPoints
    "2.5.29.32", // certificatePolicies
    "2.5.29.33", // policyMappings
    "2.5.29.35", // authorityKeyIdentifier
    "2.5.29.36", // policyConstraints
    "2.5.29.37", // extKeyUsage
    "2.5.29.54", // inhibitAnyPolicy
];
/// The code-signing extended key usage.
pub(crate) const OID_CODE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.3");

const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
const RSA_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
const ED25519: Oid = Oid::new_unwrap("1.3.101.112");

/// The length of the DER TLV at the start of `input` (header and contents), or None when the
/// header is malformed or runs past the input.
fn tlv_len(input: &[u8]) -> Option<usize> {
    let first = *input.get(1)?;
    let (header, len) = if first < 0x80 {
        (2usize, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (2 + n, len)
    };
    let total = header.checked_add(len)?;
    (total <= input.len()).then_some(total)
}

/// The header length of the DER TLV at the start of `input`.
fn header_len(input: &[u8]) -> Option<usize> {
    let first = *input.get(1)?;
    Some(if first < 0x80 {
        2
    } else {
        2 + usize::from(first & 0x7f)
    })
}

/// A parsed certificate with its DER and the exact bytes its signature covers.
#[derive(Debug, Clone)]
pub(crate) struct Cert {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The decoded certificate.
    pub cert: Certificate,
    tbs: std::ops::Range<usize>,
}

impl Cert {
    /// Parses a DER certificate; a malformed one is `Invalid`.
    pub(crate) fn parse(der: &[u8], what: &str) -> Result<Cert, ModelSigError> {
        if der.len() > limits::CERTIFICATE_BYTES {
            return Err(over_limit(what, limits::CERTIFICATE_BYTES));
        }
        let cert = Certificate::from_der(der)
            .map_err(|e| invalid(format!("{what} is not a DER X.509 certificate: {e}")))?;
        let start = header_len(der).ok_or_else(|| invalid(format!("{what} is malformed")))?;
        let inner = der
            .get(start..)
            .ok_or_else(|| invalid(format!("{what} is malformed")))?;
        let len = tlv_len(inner).ok_or_else(|| invalid(format!("{what} is malformed")))?;
        Ok(Cert {
            der: der.to_vec(),
            cert,
            tbs: start..start + len,
        })
    }

    /// The TBSCertificate as it was encoded (what the signature covers).
    fn tbs_bytes(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// The extension `oid`, when present.
    pub(crate) fn extension(&self, oid: &Oid) -> Option<&Extension> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()
            .and_then(|exts| exts.iter().find(|e| &e.extn_id == oid))
    }

    fn decode_ext<T: for<'a> der::Decode<'a>>(&self, oid: &Oid) -> Result<Option<T>, String> {
        match self.extension(oid) {
            None => Ok(None),
            Some(ext) => T::from_der(ext.extn_value.as_bytes())
                .map(Some)
                .map_err(|e| format!("extension {oid} is malformed: {e}")),
        }
    }

    pub(crate) fn basic_constraints(&self) -> Result<Option<BasicConstraints>, String> {
        self.decode_ext(&OID_BASIC_CONSTRAINTS)
    }

    pub(crate) fn key_usage(&self) -> Result<Option<KeyUsage>, String> {
        self.decode_ext(&OID_KEY_USAGE)
    }

    pub(crate) fn extended_key_usage(&self) -> Result<Option<ExtendedKeyUsage>, String> {
        self.decode_ext(&OID_EXT_KEY_USAGE)
    }

    pub(crate) fn subject_alt_name(&self) -> Result<Option<SubjectAltName>, String> {
        self.decode_ext(&OID_SUBJECT_ALT_NAME)
    }

    /// Start of validity, seconds since the epoch.
    pub(crate) fn not_before(&self) -> u64 {
        self.cert
            .tbs_certificate
            .validity
            .not_before
            .to_unix_duration()
            .as_secs()
    }

    /// End of validity (inclusive), seconds since the epoch.
    pub(crate) fn not_after(&self) -> u64 {
        self.cert
            .tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs()
    }

    /// Whether the certificate is valid at `time` (seconds), bounds included.
    pub(crate) fn valid_at(&self, time: u64) -> bool {
        self.not_before() <= time && time <= self.not_after()
    }

    /// The subject, as RFC 4514 text.
    pub(crate) fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    fn subject_der(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate
            .subject
            .to_der()
            .unwrap_or_default()
    }

    fn issuer_der(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate
            .issuer
            .to_der()
            .unwrap_or_default()
    }

    /// Whether subject and issuer are the same name.
    pub(crate) fn self_issued(&self) -> bool {
        self.subject_der() == self.issuer_der()
    }

    /// The SubjectPublicKeyInfo, DER.
    pub(crate) fn spki_der(&self) -> Vec<u8> {
        self.cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap_or_default()
    }

    /// The certificate's key, when it is ECDSA P-256 / P-384 or Ed25519.
    pub(crate) fn public_key(&self) -> Result<PublicKey, ModelSigError> {
        PublicKey::from_der(&self.spki_der()).map_err(|_| {
            sig_error(format!(
                "the certificate `{}` has a key that is not ECDSA P-256 or P-384 or Ed25519",
                self.subject()
            ))
        })
    }

    /// Whether `issuer`'s key verifies this certificate's signature.
    pub(crate) fn signed_by(&self, issuer: &Cert) -> bool {
        let alg = &self.cert.signature_algorithm.oid;
        let Some(sig) = self.cert.signature.as_bytes() else {
            return false;
        };
        let tbs = self.tbs_bytes();
        let spki = issuer.spki_der();
        if *alg == RSA_SHA256 || *alg == RSA_SHA384 || *alg == RSA_SHA512 {
            return verify_rsa(&spki, alg, tbs, sig);
        }
        let Ok(key) = PublicKey::from_der(&spki) else {
            return false;
        };
        match key {
            PublicKey::Ed25519(_) => *alg == ED25519 && key.verify(tbs, sig),
            PublicKey::P256(_) | PublicKey::P384(_) => {
                if *alg == ECDSA_SHA256 {
                    key.verify_prehash(&Sha256::digest(tbs), sig)
                } else if *alg == ECDSA_SHA384 {
                    key.verify_prehash(&Sha384::digest(tbs), sig)
                } else if *alg == ECDSA_SHA512 {
                    key.verify_prehash(&Sha512::digest(tbs), sig)
                } else {
                    false
                }
            }
        }
    }

    /// Why this certificate cannot issue others, if it cannot.
    fn ca_problem(&self) -> Option<String> {
        match self.basic_constraints() {
            Ok(Some(bc)) if bc.ca => {}
            Ok(_) => return Some(format!("`{}` is not a CA", self.subject())),
            Err(e) => return Some(e),
        }
        match self.key_usage() {
            Ok(Some(ku)) if !ku.key_cert_sign() => {
                Some(format!("`{}` may not sign certificates", self.subject()))
            }
            Ok(_) => None,
            Err(e) => Some(e),
        }
    }

    /// Why this certificate is unusable in any path, if it is.
    fn extension_problem(&self) -> Option<String> {
        let exts = self
            .cert
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or_default();
        for ext in exts {
            if ext.extn_id == OID_NAME_CONSTRAINTS {
                return Some(format!(
                    "`{}` has name constraints, which this verifier does not enforce",
                    self.subject()
                ));
            }
            if ext.critical && !KNOWN_CRITICAL.contains(&ext.extn_id.to_string().as_str()) {
                return Some(format!(
                    "`{}` has an unhandled critical extension {}",
                    self.subject(),
                    ext.extn_id
                ));
            }
        }
        None
    }
}

fn verify_rsa(spki: &[u8], alg: &Oid, tbs: &[u8], sig: &[u8]) -> bool {
    use rsa::pkcs8::DecodePublicKey as _;
    let Ok(key) = rsa::RsaPublicKey::from_public_key_der(spki) else {
        return false;
    };
    if *alg == RSA_SHA256 {
        key.verify(
            rsa::Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(tbs),
            sig,
        )
        .is_ok()
    } else if *alg == RSA_SHA384 {
        key.verify(
            rsa::Pkcs1v15Sign::new::<Sha384>(),
            &Sha384::digest(tbs),
            sig,
        )
        .is_ok()
    } else {
        key.verify(
            rsa::Pkcs1v15Sign::new::<Sha512>(),
            &Sha512::digest(tbs),
            sig,
        )
        .is_ok()
    }
}

/// How a path must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchoring {
    /// At a self-issued anchor (OpenSSL without `X509_V_FLAG_PARTIAL_CHAIN`).
    SelfIssuedRoot,
    /// At any anchor (cryptography's verifier: every certificate of its store is trusted).
    AnyAnchor,
}

struct Search<'a> {
    intermediates: &'a [Cert],
    anchors: &'a [Cert],
    time: u64,
    anchoring: Anchoring,
    /// The first reason a candidate issuer was refused, for the error.
    reason: Option<String>,
    steps: usize,
}

impl<'a> Search<'a> {
    fn refuse(&mut self, why: String) {
        if self.reason.is_none() {
            self.reason = Some(why);
        }
    }

    /// Extends `path` (leaf first) to a trusted end; true when it did.
    fn extend(&mut self, path: &mut Vec<&'a Cert>) -> bool {
        let Some(&current) = path.last() else {
            return false;
        };
        if path.len() >= limits::CERTIFICATES {
            self.refuse(format!(
                "the path is longer than {} certificates",
                limits::CERTIFICATES
            ));
            return false;
        }
        let anchors = self.anchors.iter().map(|c| (c, true));
        let intermediates = self.intermediates.iter().map(|c| (c, false));
        let candidates: Vec<(&'a Cert, bool)> = anchors.chain(intermediates).collect();
        for (candidate, is_anchor) in candidates {
            self.steps += 1;
            if self.steps > 1000 {
                self.refuse("the path search is too long".into());
                return false;
            }
            if path.iter().any(|c| c.der == candidate.der) {
                continue;
            }
            if candidate.subject_der() != current.issuer_der() {
                continue;
            }
            if !current.signed_by(candidate) {
                self.refuse(format!(
                    "the signature of `{}` does not verify with the key of `{}`",
                    current.subject(),
                    candidate.subject()
                ));
                continue;
            }
            if let Some(why) = candidate
                .ca_problem()
                .or_else(|| candidate.extension_problem())
            {
                self.refuse(why);
                continue;
            }
            if !candidate.valid_at(self.time) {
                self.refuse(format!(
                    "`{}` is not valid at {} (valid from {} to {})",
                    candidate.subject(),
                    self.time,
                    candidate.not_before(),
                    candidate.not_after()
                ));
                continue;
            }
            // Intermediates below the candidate (the leaf is not one).
            let below = path.len().saturating_sub(1);
            if let Ok(Some(bc)) = candidate.basic_constraints() {
                if let Some(max) = bc.path_len_constraint {
                    if below > usize::from(max) {
                        self.refuse(format!(
                            "`{}` allows {max} intermediate certificates below it, the path has {below}",
                            candidate.subject()
                        ));
                        continue;
                    }
                }
            }
            path.push(candidate);
            if is_anchor && (self.anchoring == Anchoring::AnyAnchor || candidate.self_issued()) {
                return true;
            }
            if !candidate.self_issued() && self.extend(path) {
                return true;
            }
            path.pop();
        }
        false
    }
}

/// A path from `leaf` through some of `intermediates` to one of `anchors`, every certificate
/// of it valid at `time` (seconds). Returns the path, leaf first and the anchor last.
pub(crate) fn build_path<'a>(
    leaf: &'a Cert,
    intermediates: &'a [Cert],
    anchors: &'a [Cert],
    time: u64,
    anchoring: Anchoring,
) -> Result<Vec<&'a Cert>, ModelSigError> {
    if let Some(why) = leaf.extension_problem() {
        return Err(sig_error(why));
    }
    if !leaf.valid_at(time) {
        return Err(sig_error(format!(
            "the signing certificate is not valid at {time} (valid from {} to {})",
            leaf.not_before(),
            leaf.not_after()
        )));
    }
    let mut search = Search {
        intermediates,
        anchors,
        time,
        anchoring,
        reason: None,
        steps: 0,
    };
    let mut path = vec![leaf];
    if search.extend(&mut path) {
        return Ok(path);
    }
    Err(sig_error(format!(
        "no certificate chain from `{}` to a trusted CA: {}",
        leaf.subject(),
        search
            .reason
            .unwrap_or_else(|| "no trusted issuer found".into())
    )))
}

/// Parses trust anchors given by the caller (DER).
fn parse_anchors(anchors: &[Vec<u8>]) -> Result<Vec<Cert>, ModelSigError> {
    if anchors.is_empty() {
        return Err(bad_argument("CA certificates", "none given"));
    }
    anchors
        .iter()
        .map(|der| {
            Cert::parse(der, "a CA certificate").map_err(|e| match e {
                ModelSigError::Invalid(reason) => bad_argument("CA certificates", reason),
                other => other,
            })
        })
        .collect()
}

/// Verifies `chain` (leaf first, DER) up to one of `anchors` (DER), as model_signing's
/// certificate method does: at the leaf's start of validity, to a self-issued trusted
/// certificate, the leaf allowed to sign (key usage `digitalSignature` or extended key usage
/// `codeSigning`) with an ECDSA P-256 / P-384 (or Ed25519) key.
pub fn verify_chain_for_signing(
    chain: &[Vec<u8>],
    anchors: &[Vec<u8>],
) -> Result<Leaf, ModelSigError> {
    if chain.len() > limits::CERTIFICATES {
        return Err(over_limit("the certificate chain", limits::CERTIFICATES));
    }
    let anchors = parse_anchors(anchors)?;
    let (leaf_der, rest) = chain
        .split_first()
        .ok_or_else(|| invalid("the certificate chain is empty"))?;
    let leaf = Cert::parse(leaf_der, "the signing certificate")?;
    let intermediates = rest
        .iter()
        .map(|der| Cert::parse(der, "a chain certificate"))
        .collect::<Result<Vec<_>, _>>()?;
    let time = leaf.not_before();
    build_path(
        &leaf,
        &intermediates,
        &anchors,
        time,
        Anchoring::SelfIssuedRoot,
    )?;
    check_signing_usage(&leaf, false)?;
    Ok(Leaf {
        key: leaf.public_key()?,
        subject: leaf.subject(),
        not_before: time,
    })
}

/// The leaf may sign: model_signing accepts key usage `digitalSignature` or extended key usage
/// `codeSigning` (`both`: Sigstore requires the two).
pub(crate) fn check_signing_usage(leaf: &Cert, both: bool) -> Result<(), ModelSigError> {
    let digital_signature = leaf
        .key_usage()
        .map_err(invalid)?
        .is_some_and(|ku| ku.digital_signature());
    let code_signing = leaf
        .extended_key_usage()
        .map_err(invalid)?
        .is_some_and(|eku| eku.0.contains(&OID_CODE_SIGNING));
    let ok = if both {
        digital_signature && code_signing
    } else {
        digital_signature || code_signing
    };
    if ok {
        return Ok(());
    }
    Err(sig_error(if both {
        "the signing certificate lacks key usage digitalSignature or extended key usage codeSigning"
    } else {
        "the signing certificate may not sign (no key usage digitalSignature, no extended key \
         usage codeSigning)"
    }))
}

/// CA certificates from PEM text (`-----BEGIN CERTIFICATE-----` blocks), DER.
pub fn anchors_from_pem(text: &str) -> Result<Vec<Vec<u8>>, ModelSigError> {
    let blocks = super::keys::pem_blocks(text, "CERTIFICATE");
    if blocks.is_empty() {
        return Err(bad_argument(
            "CA certificates",
            "no CERTIFICATE block in the PEM text",
        ));
    }
    if blocks.len() > limits::AUTHORITIES {
        return Err(over_limit("CA certificates", limits::AUTHORITIES));
    }
    for der in &blocks {
        if let Err(e) = Certificate::from_der(der) {
            return Err(bad_argument(
                "CA certificates",
                format!("a PEM block is not an X.509 certificate: {e}"),
            ));
        }
    }
    Ok(blocks)
}

#[cfg(test)]
#[path = "x509_tests.rs"]
mod x509_tests;
