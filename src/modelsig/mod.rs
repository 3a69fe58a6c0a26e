//! OpenSSF model-signing bundles: the signatures the `model_signing` package (and its CLI) writes
//! for a model, verified here natively and in WebAssembly.
//!
//! A bundle is a Sigstore bundle (media type `application/vnd.dev.sigstore.bundle.v0.3+json`,
//! v0.2 and v0.1 read too) holding a DSSE envelope. The envelope's payload is an in-toto
//! statement of predicate type `https://model_signing/signature/v1.0`: its predicate lists the
//! SHA-256 of every file of the model (or of every shard of every file), and its one subject is
//! the model's name with the SHA-256 over those digests in order ([`manifest`]).
//!
//! Three ways to trust the envelope's signer ([`Policy`]):
//!
//! - **key**: the caller gives the public key (ECDSA P-256 / P-384, Ed25519);
//! - **certificate**: the bundle carries a certificate chain that must lead to a CA the caller
//!   gives ([`x509`]);
//! - **sigstore**: a short-lived Fulcio certificate, its signed certificate timestamp and the
//!   Rekor transparency-log entry, checked against Sigstore's trusted root and the identity and
//!   OIDC issuer the caller expects ([`sigstore`]).
//!
//! Everything in a bundle is untrusted input: every field has a size limit ([`limits`]), and a
//! malformed bundle is a typed error, never a panic.

pub mod bundle;
pub mod keys;
pub mod manifest;
pub mod sigstore;
pub mod x509;

use crate::error::{Code, ErrorCode};

pub use bundle::Bundle;
pub use keys::PublicKey;
pub use manifest::{Manifest, Resource, Serialization};

/// Sigstore's production trusted root (its TUF repository's `trusted_root.json` target, as
/// sigstore-python 4.5.1 ships it), used when the caller gives none. Its certificate
/// authorities and logs carry their validity windows, so old bundles keep verifying.
pub const SIGSTORE_TRUSTED_ROOT: &[u8] = include_bytes!("sigstore-trusted-root.json");

/// The in-toto predicate type of a model signature.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Size limits on every field of a bundle. A bundle over one is `LIMIT_EXCEEDED`.
pub mod limits {
    /// The whole bundle, JSON.
    pub const BUNDLE_BYTES: usize = 8 << 20;
    /// The decoded DSSE payload (the statement).
    pub const PAYLOAD_BYTES: usize = 6 << 20;
    /// Files (or shards) a statement may list.
    pub const RESOURCES: usize = 100_000;
    /// A resource name.
    pub const NAME_BYTES: usize = 4096;
    /// Signatures on the envelope.
    pub const SIGNATURES: usize = 8;
    /// A signature, decoded.
    pub const SIGNATURE_BYTES: usize = 1024;
    /// Certificates in a chain (the bundle's or a trusted root's).
    pub const CERTIFICATES: usize = 10;
    /// One certificate, DER.
    pub const CERTIFICATE_BYTES: usize = 16 << 10;
    /// Transparency-log entries in a bundle.
    pub const TLOG_ENTRIES: usize = 8;
    /// A log entry's canonicalized body, decoded.
    pub const TLOG_BODY_BYTES: usize = 64 << 10;
    /// Hashes in an inclusion proof (a tree of 2^64 leaves needs 64).
    pub const PROOF_HASHES: usize = 64;
    /// A checkpoint (signed note).
    pub const CHECKPOINT_BYTES: usize = 16 << 10;
    /// Ignored paths in a serialization.
    pub const IGNORE_PATHS: usize = 1024;
    /// A trusted root document, JSON.
    pub const TRUSTED_ROOT_BYTES: usize = 1 << 20;
    /// Authorities or logs in a trusted root.
    pub const AUTHORITIES: usize = 64;
}

/// Why a model signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelSigError {
    /// The bundle, its envelope or its statement is malformed or of another kind
    /// (`MODEL_SIGNATURE_INVALID`).
    #[error("invalid model signature bundle: {0}")]
    Invalid(String),
    /// A signature, certificate chain, timestamp or log proof does not verify
    /// (`MODEL_SIGNATURE`).
    #[error("model signature does not verify: {0}")]
    Signature(String),
    /// The signature verifies but its signer is not the one the policy names: another key,
    /// identity or issuer (`MODEL_SIGNATURE_IDENTITY`).
    #[error("model signed by someone else: {0}")]
    Identity(String),
    /// The model's bytes are not the ones the signature lists (`MODEL_SIGNATURE_MISMATCH`).
    #[error("model does not match its signature: {0}")]
    Mismatch(String),
    /// A policy requires a model signature and the model has none (`MODEL_SIGNATURE_REQUIRED`).
    #[error("model signature required: {0}")]
    Required(String),
    /// A field is over its limit (`LIMIT_EXCEEDED`).
    #[error("model signature: {what} is over the limit of {limit}")]
    LimitExceeded {
        /// What is too large.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// A caller's argument (a key, a CA, a trusted root, a policy) is unusable
    /// (`INVALID_ARGUMENT`).
    #[error("{what}: {reason}")]
    InvalidArgument {
        /// Which argument.
        what: String,
        /// Why.
        reason: String,
    },
}

impl ErrorCode for ModelSigError {
    fn error_code(&self) -> Code {
        match self {
            ModelSigError::Invalid(_) => Code::ModelSignatureInvalid,
            ModelSigError::Signature(_) => Code::ModelSignature,
            ModelSigError::Identity(_) => Code::ModelSignatureIdentity,
            ModelSigError::Mismatch(_) => Code::ModelSignatureMismatch,
            ModelSigError::Required(_) => Code::ModelSignatureRequired,
            ModelSigError::LimitExceeded { .. } => Code::LimitExceeded,
            ModelSigError::InvalidArgument { .. } => Code::InvalidArgument,
        }
    }
}

pub(crate) fn invalid(reason: impl Into<String>) -> ModelSigError {
    ModelSigError::Invalid(reason.into())
}

pub(crate) fn sig_error(reason: impl Into<String>) -> ModelSigError {
    ModelSigError::Signature(reason.into())
}

pub(crate) fn bad_argument(what: &str, reason: impl Into<String>) -> ModelSigError {
    ModelSigError::InvalidArgument {
        what: what.into(),
        reason: reason.into(),
    }
}

pub(crate) fn over_limit(what: impl Into<String>, limit: usize) -> ModelSigError {
    ModelSigError::LimitExceeded {
        what: what.into(),
        limit,
    }
}

/// Standard base64 (padded; what protobuf JSON writes), decoded with a limit on the output.
pub(crate) fn b64(text: &str, what: &str, limit: usize) -> Result<Vec<u8>, ModelSigError> {
    use base64ct::{Base64, Encoding as _};
    if text.len() / 4 * 3 > limit + 3 {
        return Err(over_limit(what, limit));
    }
    let bytes = Base64::decode_vec(text.trim())
        .or_else(|_| base64ct::Base64Unpadded::decode_vec(text.trim()))
        .or_else(|_| base64ct::Base64Url::decode_vec(text.trim()))
        .or_else(|_| base64ct::Base64UrlUnpadded::decode_vec(text.trim()))
        .map_err(|_| invalid(format!("{what} is not base64")))?;
    if bytes.len() > limit {
        return Err(over_limit(what, limit));
    }
    Ok(bytes)
}

/// Who a model signature must come from.
#[derive(Debug, Clone)]
pub enum Policy {
    /// The key method: the envelope is signed by this key.
    Key(PublicKey),
    /// The certificate method: the bundle's certificate chain leads to one of these CA
    /// certificates (DER), checked at the signing certificate's start of validity as the
    /// reference verifier does.
    Certificate {
        /// Trust anchors, DER.
        anchors: Vec<Vec<u8>>,
    },
    /// The Sigstore method: a Fulcio certificate for `identity` from `issuer`, logged in Rekor,
    /// under `trusted_root`.
    Sigstore {
        /// Sigstore's trusted root (its `trusted_root.json`).
        trusted_root: Box<sigstore::TrustedRoot>,
        /// The certificate's subject alternative name (an email address or a URI) the caller
        /// expects.
        identity: String,
        /// The OIDC issuer the caller expects.
        issuer: String,
    },
}

impl Policy {
    /// The method's name: `key`, `certificate` or `sigstore`.
    pub fn method(&self) -> &'static str {
        match self {
            Policy::Key(_) => "key",
            Policy::Certificate { .. } => "certificate",
            Policy::Sigstore { .. } => "sigstore",
        }
    }
}

/// What a verified signature says about its signer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signer {
    /// `key`, `certificate` or `sigstore`.
    pub method: String,
    /// The key's SHA-256 hint (key method), or the signing certificate's subject (certificate
    /// method), or the Sigstore identity (SAN).
    pub identity: String,
    /// The OIDC issuer (Sigstore method).
    pub issuer: Option<String>,
    /// The signing time the verification used (seconds since the epoch): the Rekor integrated
    /// time (Sigstore) or the certificate's start of validity (certificate method).
    pub signed_at: Option<u64>,
    /// The Rekor log index (Sigstore method).
    pub log_index: Option<u64>,
}

/// A bundle whose signature verified under a policy, with the manifest it signs.
#[derive(Debug, Clone)]
pub struct VerifiedSignature {
    /// Who signed.
    pub signer: Signer,
    /// What they signed.
    pub manifest: Manifest,
}

/// Verifies a bundle's signature under `policy`, then reads its statement. The model's bytes are
/// checked separately ([`Manifest::check`]), so a caller can stream them.
pub fn verify_signature(
    bundle: &Bundle,
    policy: &Policy,
) -> Result<VerifiedSignature, ModelSigError> {
    let pae = bundle.envelope.pae();
    let signer = match policy {
        Policy::Key(key) => {
            if let Some(hint) = bundle.key_hint() {
                if !hint.is_empty() && hint != key.hint() {
                    return Err(ModelSigError::Identity(format!(
                        "the bundle names key {hint}, the policy's key is {}",
                        key.hint()
                    )));
                }
            } else if bundle.has_certificates() {
                return Err(ModelSigError::Identity(
                    "the bundle is signed with a certificate, the policy names a key".into(),
                ));
            }
            verify_envelope_with(&bundle.envelope, &pae, key, Compat::CurveHash)?;
            Signer {
                method: "key".into(),
                identity: key.hint(),
                ..Signer::default()
            }
        }
        Policy::Certificate { anchors } => {
            let chain = bundle.certificates();
            if chain.is_empty() {
                return Err(ModelSigError::Identity(
                    "the bundle carries no certificate, the policy names a CA".into(),
                ));
            }
            let leaf = x509::verify_chain_for_signing(chain, anchors)?;
            verify_envelope_with(&bundle.envelope, &pae, &leaf.key, Compat::Sha256)?;
            Signer {
                method: "certificate".into(),
                identity: leaf.subject,
                signed_at: Some(leaf.not_before),
                ..Signer::default()
            }
        }
        Policy::Sigstore {
            trusted_root,
            identity,
            issuer,
        } => {
            if !bundle.has_certificates() {
                return Err(ModelSigError::Identity(
                    "the bundle is signed with a key, the policy names a Sigstore identity".into(),
                ));
            }
            let checked = sigstore::verify(bundle, trusted_root, identity, issuer)?;
            verify_envelope_with(&bundle.envelope, &pae, &checked.key, Compat::None)?;
            Signer {
                method: "sigstore".into(),
                identity: checked.identity,
                issuer: Some(checked.issuer),
                signed_at: Some(checked.integrated_time),
                log_index: checked.log_index,
            }
        }
    };
    let manifest = Manifest::from_statement(&bundle.envelope.payload)?;
    Ok(VerifiedSignature { signer, manifest })
}

/// Paths the reference verifier's command leaves out of a model directory by default, besides
/// the manifest's own `ignore_paths`.
pub const GIT_PATHS: &[&str] = &[".git", ".gitattributes", ".github", ".gitignore"];

/// A model whose signature and bytes both verified.
#[derive(Debug, Clone)]
pub struct VerifiedModel {
    /// Who signed, and the manifest.
    pub signature: VerifiedSignature,
    /// Files or shards compared.
    pub resources: usize,
}

impl VerifiedModel {
    /// The JSON the CLI prints and JS returns.
    pub fn to_json(&self) -> serde_json::Value {
        let s = &self.signature.signer;
        serde_json::json!({
            "verified": true,
            "method": s.method,
            "identity": s.identity,
            "issuer": s.issuer,
            "signedAt": s.signed_at,
            "logIndex": s.log_index,
            "resources": self.resources,
            "manifest": self.signature.manifest.to_json(),
        })
    }
}

/// Verifies a bundle and a model held in memory: `files` are `(path, bytes)` with paths
/// relative to the model directory (`/`-separated), or one `(".", bytes)` for a one-file model.
/// Paths the manifest ignores (and git's own files) are skipped.
pub fn verify_files<'a>(
    bundle: &Bundle,
    policy: &Policy,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<VerifiedModel, ModelSigError> {
    let signature = verify_signature(bundle, policy)?;
    let mut checker = signature.manifest.checker();
    for (path, bytes) in files {
        if path != "." && (signature.manifest.ignores(path) || is_git_path(path)) {
            continue;
        }
        checker.add_bytes(path, bytes)?;
    }
    let resources = checker.finish()?;
    Ok(VerifiedModel {
        signature,
        resources,
    })
}

/// Whether `path` is, or is under, one of [`GIT_PATHS`].
pub fn is_git_path(path: &str) -> bool {
    GIT_PATHS.iter().any(|g| {
        path == *g
            || path
                .strip_prefix(g)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Which pre-1.0 signatures a method still accepts, as the reference does.
#[derive(Debug, Clone, Copy)]
enum Compat {
    /// None (Sigstore: sigstore-python never wrote them).
    None,
    /// The 0.2 encoding hashed with the curve's hash (key method).
    CurveHash,
    /// The 0.2 encoding hashed with SHA-256 whatever the curve (certificate method).
    Sha256,
}

/// The envelope's first signature, checked with `key` over `pae`. model_signing writes one
/// signature; like its verifier we read the first. Its pre-1.0 releases signed a differently
/// encoded PAE (with SHA-256 whatever the curve), which is accepted too, as it does.
fn verify_envelope_with(
    envelope: &bundle::Envelope,
    pae: &[u8],
    key: &PublicKey,
    compat: Compat,
) -> Result<(), ModelSigError> {
    let sig = envelope
        .signatures
        .first()
        .ok_or_else(|| invalid("the envelope has no signature"))?;
    if key.verify(pae, sig) {
        return Ok(());
    }
    let legacy = match compat {
        Compat::None => false,
        Compat::CurveHash => key.verify(&envelope.pae_compat(), sig),
        Compat::Sha256 => key.verify_sha256(&envelope.pae_compat(), sig),
    };
    if legacy {
        return Ok(());
    }
    Err(sig_error(
        "the envelope's signature does not verify with the signer's key",
    ))
}

#[cfg(test)]
mod tests;
