//! Signed evaluation attestations: an evaluation report as an in-toto Statement v1 in a DSSE
//! envelope, signed by the evaluator's key, and their verification.
//!
//! - **Statement** ([`statement`]): `_type` `https://in-toto.io/Statement/v1`; `subject`: the
//!   model (its TUF target path and signed sha256), the evaluation data (its sha256) and, in a
//!   comparison, the challenger model, each with an `annotations.role` (`model`, `data`,
//!   `challenger`); `predicateType` [`PREDICATE_TYPE`]; `predicate`: the report document
//!   (`edge-registry eval --out`, snake_case keys) plus `engine` (this crate and version),
//!   `environment` (runtime and time of the evaluation) and, when the caller names one,
//!   `registry`.
//! - **Envelope** (DSSE v1): `{"payloadType": "application/vnd.in-toto+json", "payload":
//!   base64(statement), "signatures": [{"keyid", "sig": base64}]}`; each signature is over
//!   `PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body` ([`pae`]). Written with the
//!   standard base64 alphabet, padded; read in standard or URL-safe form, padded or not.
//! - **Keys** ([`TrustedKeys`]): TUF key objects (key id = SHA-256 of the canonical key, as
//!   securesystemslib computes it) or JWKs; Ed25519 (`verify_strict`) and ECDSA P-256 over
//!   SHA-256 with DER or raw `r || s` (P1363, WebCrypto's form) signatures.
//! - **Verification** ([`verify_envelope`]): size and count limits, payload type, a threshold of
//!   distinct trusted keys over the PAE, and only then the statement is parsed; then
//!   [`check_models`] matches the model subjects against a registry's signed catalogue.
//!
//! Synchronous and I/O-free; randomness and keys come from the caller. Nothing here panics on
//! an envelope, a key or a report it is given.

mod keys;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::{json, Map, Value};

pub use keys::{key_id, tuf_key, tuf_key_from_jwk, tuf_key_from_spki, TrustedKey, TrustedKeys};

use crate::catalogue::{parse_path, Catalogue, CataloguePath};
use crate::error::{Code, ErrorCode};
use crate::eval::report::{snake_case_keys, Report, REPORT_FORMAT};
use crate::tuf::keys::Ed25519Signer;

/// The in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of an evaluation attestation.
pub const PREDICATE_TYPE: &str = "https://edge-registry.dev/attestation/evaluation/v1";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The largest envelope read (bytes).
pub const MAX_ENVELOPE_BYTES: usize = 16 << 20;
/// The most signatures an envelope may carry.
pub const MAX_SIGNATURES: usize = 32;
/// The most subjects a statement may name.
pub const MAX_SUBJECTS: usize = 64;
/// The most keys a verification may trust.
pub const MAX_KEYS: usize = 64;

/// Why an attestation was not made or not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttestError {
    /// The envelope or statement is malformed, or of another type.
    #[error("invalid attestation: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// Fewer distinct trusted keys signed the envelope than the threshold.
    #[error(
        "attestation signature threshold not met ({valid} of {threshold} valid signatures from \
         trusted keys)"
    )]
    Signature {
        /// Distinct trusted keys whose signature verified.
        valid: u64,
        /// Required.
        threshold: u64,
    },
    /// A subject's digest is not what the registry signs.
    #[error("attestation subject {subject}: {reason}")]
    Subject {
        /// The subject's name.
        subject: String,
        /// What does not match.
        reason: String,
    },
    /// An input is over a limit.
    #[error("{what}: more than the limit of {limit}")]
    LimitExceeded {
        /// What is too large.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// A caller's argument (a key, a report, a threshold) is unusable.
    #[error("{what}: {reason}")]
    InvalidArgument {
        /// Which argument.
        what: String,
        /// Why.
        reason: String,
    },
}

impl ErrorCode for AttestError {
    fn error_code(&self) -> Code {
        match self {
            AttestError::Invalid { .. } => Code::AttestationInvalid,
            AttestError::Signature { .. } => Code::AttestationSignature,
            AttestError::Subject { .. } => Code::AttestationSubject,
            AttestError::LimitExceeded { .. } => Code::LimitExceeded,
            AttestError::InvalidArgument { .. } => Code::InvalidArgument,
        }
    }
}

fn invalid(reason: impl Into<String>) -> AttestError {
    AttestError::Invalid {
        reason: reason.into(),
    }
}

fn bad_report(reason: impl Into<String>) -> AttestError {
    AttestError::InvalidArgument {
        what: "report".into(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// base64

/// Standard base64, padded (what envelopes are written with).
pub fn b64_encode(bytes: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64::encode_string(bytes)
}

/// Base64 in the standard or the URL-safe alphabet, padded or not; `None` when it is neither.
pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};
    let url = text.contains(['-', '_']);
    let padded = text.ends_with('=');
    match (url, padded) {
        (false, true) => Base64::decode_vec(text).ok(),
        (false, false) => Base64Unpadded::decode_vec(text).ok(),
        (true, true) => Base64Url::decode_vec(text).ok(),
        (true, false) => Base64UrlUnpadded::decode_vec(text).ok(),
    }
}

// ---------------------------------------------------------------------------------------------
// statement

/// What a statement adds to the report.
#[derive(Debug, Clone, Default)]
pub struct StatementOptions {
    /// The data subject's name (the report records the data's digest, not its file name).
    /// Default `data.csv` / `data.json` by the report's data format.
    pub data_name: Option<String>,
    /// The registry the model came from (for example `{"url": ..., "root_sha256": ...}`),
    /// written as the predicate's `registry`.
    pub registry: Option<Value>,
}

fn sha256_hex(text: &str, what: &str) -> Result<String, AttestError> {
    let lower = text.to_ascii_lowercase();
    if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(lower)
    } else {
        Err(bad_report(format!("{what} is not a sha256 (64 hex)")))
    }
}

fn subject(name: &str, sha256: &str, role: &str) -> Value {
    json!({"name": name, "digest": {"sha256": sha256}, "annotations": {"role": role}})
}

/// The in-toto Statement of an evaluation report.
pub fn statement(report: &Report, opts: &StatementOptions) -> Result<Value, AttestError> {
    if report.report_format != REPORT_FORMAT {
        return Err(bad_report(format!(
            "report_format is {:?}, not {REPORT_FORMAT:?}",
            report.report_format
        )));
    }
    let mut subjects = Vec::new();
    let model_name = |m: &crate::eval::ModelIdentity| {
        if !m.target_path.is_empty() {
            m.target_path.clone()
        } else {
            m.reference.clone().unwrap_or_else(|| "model".into())
        }
    };
    if let Some(m) = &report.model {
        subjects.push(subject(
            &model_name(m),
            &sha256_hex(&m.sha256, "model.sha256")?,
            "model",
        ));
    }
    let data_name = match &opts.data_name {
        Some(n) if !n.is_empty() => n.clone(),
        _ => {
            let format = serde_json::to_value(report.data.format).unwrap_or_default();
            format!("data.{}", format.as_str().unwrap_or("csv"))
        }
    };
    subjects.push(subject(
        &data_name,
        &sha256_hex(&report.data.sha256, "data.sha256")?,
        "data",
    ));
    if let Some(c) = report
        .comparison
        .as_ref()
        .and_then(|c| c.challenger.as_ref())
    {
        subjects.push(subject(
            &model_name(c),
            &sha256_hex(&c.sha256, "comparison.challenger.sha256")?,
            "challenger",
        ));
    }
    let mut predicate = match serde_json::to_value(report) {
        Ok(Value::Object(m)) => m,
        _ => return Err(bad_report("the report does not serialise")),
    };
    predicate.insert(
        "engine".into(),
        json!({"name": env!("CARGO_PKG_NAME"), "version": crate::VERSION}),
    );
    predicate.insert(
        "environment".into(),
        json!({
            "runtime": report.runtime.runtime,
            "time": report.runtime.time,
            "library_version": report.library_version,
        }),
    );
    if let Some(r) = &opts.registry {
        predicate.insert("registry".into(), r.clone());
    }
    Ok(json!({
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": Value::Object(predicate),
    }))
}

/// The statement of a report given as JSON: the document `edge-registry eval --out` writes
/// (snake_case keys) or the JavaScript API's report (camelCase keys).
pub fn statement_from_json(report: &Value, opts: &StatementOptions) -> Result<Value, AttestError> {
    let doc = snake_case_keys(report.clone());
    let report: Report = serde_json::from_value(doc)
        .map_err(|e| bad_report(format!("not an evaluation report: {e}")))?;
    statement(&report, opts)
}

/// The bytes a statement is signed as (compact JSON).
pub fn payload_bytes(statement: &Value) -> Vec<u8> {
    serde_json::to_vec(statement).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// envelope

/// DSSE's pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(body) SP body`,
/// lengths as ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// The signing key's id (a hint; may be empty).
    pub keyid: String,
    /// The signature bytes.
    pub sig: Vec<u8>,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// `payloadType`.
    pub payload_type: String,
    /// The payload bytes (decoded).
    pub payload: Vec<u8>,
    /// The signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// An envelope of an in-toto statement's bytes with the given signatures (made over
    /// [`pae`]`(PAYLOAD_TYPE, payload)`).
    pub fn new(payload: Vec<u8>, signatures: Vec<EnvelopeSignature>) -> Self {
        Envelope {
            payload_type: PAYLOAD_TYPE.to_string(),
            payload,
            signatures,
        }
    }

    /// The bytes signatures are made over.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// The envelope as JSON (standard base64, padded).
    pub fn to_value(&self) -> Value {
        let sigs: Vec<Value> = self
            .signatures
            .iter()
            .map(|s| json!({"keyid": s.keyid, "sig": b64_encode(&s.sig)}))
            .collect();
        json!({
            "payloadType": self.payload_type,
            "payload": b64_encode(&self.payload),
            "signatures": sigs,
        })
    }

    /// Pretty JSON with a final newline: the file `edge-registry attest sign` writes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.to_value()).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Reads an envelope (structure only: no signature is checked).
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, AttestError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(AttestError::LimitExceeded {
                what: format!("attestation envelope of {} bytes", bytes.len()),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("the envelope is not JSON: {e}")))?;
        Envelope::from_value(&v)
    }

    /// Reads an envelope from its JSON value.
    pub fn from_value(v: &Value) -> Result<Envelope, AttestError> {
        let obj = v
            .as_object()
            .ok_or_else(|| invalid("the envelope is not an object"))?;
        let payload_type = obj
            .get("payloadType")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("the envelope has no string payloadType"))?;
        let payload = obj
            .get("payload")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("the envelope has no string payload"))?;
        let payload = b64_decode(payload).ok_or_else(|| invalid("the payload is not base64"))?;
        let list = obj
            .get("signatures")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("the envelope has no signatures array"))?;
        if list.len() > MAX_SIGNATURES {
            return Err(AttestError::LimitExceeded {
                what: format!("{} signatures in the envelope", list.len()),
                limit: MAX_SIGNATURES,
            });
        }
        let mut signatures = Vec::with_capacity(list.len());
        for s in list {
            let keyid = match s.get("keyid") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(k)) => k.clone(),
                Some(_) => return Err(invalid("a signature's keyid is not a string")),
            };
            let sig = s
                .get("sig")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("a signature has no string sig"))?;
            let sig = b64_decode(sig).ok_or_else(|| invalid("a signature is not base64"))?;
            signatures.push(EnvelopeSignature { keyid, sig });
        }
        Ok(Envelope {
            payload_type: payload_type.to_string(),
            payload,
            signatures,
        })
    }
}

/// Signs a statement with an Ed25519 key (the CLI's key files): the envelope with one
/// signature.
pub fn sign_statement(statement: &Value, signer: &Ed25519Signer) -> Envelope {
    let payload = payload_bytes(statement);
    let sig = signer.sign(&pae(PAYLOAD_TYPE, &payload)).to_vec();
    Envelope::new(
        payload,
        vec![EnvelopeSignature {
            keyid: signer.keyid().to_string(),
            sig,
        }],
    )
}

// ---------------------------------------------------------------------------------------------
// verification

/// A subject of a verified statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// `name`.
    pub name: String,
    /// `digest.sha256` (lower-case hex), when the subject has one.
    pub sha256: Option<String>,
    /// `annotations.role` (`model`, `data`, `challenger`), when given.
    pub role: Option<String>,
}

/// An envelope whose signature threshold held, with its parsed statement.
#[derive(Debug, Clone)]
pub struct VerifiedAttestation {
    /// The statement's bytes, as signed.
    pub payload: Vec<u8>,
    /// The statement.
    pub statement: Value,
    /// Its subjects.
    pub subjects: Vec<Subject>,
    /// Its predicate (the report document with `engine`, `environment`, `registry`).
    pub predicate: Value,
    /// The ids of the trusted keys whose signature verified (computed key ids).
    pub keyids: Vec<String>,
}

impl VerifiedAttestation {
    /// The subject with this role (`model`, `data`, `challenger`).
    pub fn subject(&self, role: &str) -> Option<&Subject> {
        self.subjects
            .iter()
            .find(|s| s.role.as_deref() == Some(role))
    }

    /// The evaluation report of the predicate (without `engine`, `environment`, `registry`).
    pub fn report(&self) -> Option<Report> {
        let mut v = self.predicate.clone();
        if let Some(o) = v.as_object_mut() {
            for k in ["engine", "environment", "registry"] {
                o.remove(k);
            }
        }
        serde_json::from_value(v).ok()
    }
}

/// Verifies an envelope (its bytes): size limits, the in-toto payload type, signatures of at
/// least `threshold` distinct trusted keys over the PAE (a key listed twice, or one signature
/// repeated, counts once), then the statement: type, subjects and predicate type.
///
/// `ATTESTATION_INVALID` for a malformed envelope or statement, `ATTESTATION_SIGNATURE` when
/// the threshold is not met, `LIMIT_EXCEEDED`, `INVALID_ARGUMENT` for a zero threshold.
pub fn verify_envelope(
    bytes: &[u8],
    keys: &TrustedKeys,
    threshold: u64,
) -> Result<VerifiedAttestation, AttestError> {
    let env = Envelope::from_bytes(bytes)?;
    verify(&env, keys, threshold)
}

/// [`verify_envelope`] of a parsed envelope.
pub fn verify(
    env: &Envelope,
    keys: &TrustedKeys,
    threshold: u64,
) -> Result<VerifiedAttestation, AttestError> {
    if threshold == 0 {
        return Err(AttestError::InvalidArgument {
            what: "threshold".into(),
            reason: "must be at least 1".into(),
        });
    }
    if env.payload_type != PAYLOAD_TYPE {
        return Err(invalid(format!(
            "payloadType is {:?}, not {PAYLOAD_TYPE:?}",
            env.payload_type
        )));
    }
    let message = env.pae();
    let mut identities: Vec<&[u8]> = Vec::new();
    let mut keyids = Vec::new();
    for key in keys.iter() {
        if identities.contains(&key.identity()) {
            continue;
        }
        let signed = env
            .signatures
            .iter()
            .filter(|s| s.keyid.is_empty() || key.named_by(&s.keyid))
            .any(|s| key.verifies(&message, &s.sig));
        if signed {
            identities.push(key.identity());
            keyids.push(key.keyid.clone());
        }
    }
    let valid = u64::try_from(keyids.len()).unwrap_or(u64::MAX);
    if valid < threshold {
        return Err(AttestError::Signature { valid, threshold });
    }
    let statement: Value = serde_json::from_slice(&env.payload)
        .map_err(|e| invalid(format!("the payload is not JSON: {e}")))?;
    let (subjects, predicate) = parse_statement(&statement)?;
    Ok(VerifiedAttestation {
        payload: env.payload.clone(),
        statement,
        subjects,
        predicate,
        keyids,
    })
}

fn parse_statement(statement: &Value) -> Result<(Vec<Subject>, Value), AttestError> {
    let obj = statement
        .as_object()
        .ok_or_else(|| invalid("the statement is not an object"))?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str);
    if text("_type") != Some(STATEMENT_TYPE) {
        return Err(invalid(format!("_type is not {STATEMENT_TYPE:?}")));
    }
    if text("predicateType") != Some(PREDICATE_TYPE) {
        return Err(invalid(format!(
            "predicateType is {:?}, not {PREDICATE_TYPE:?}",
            text("predicateType").unwrap_or_default()
        )));
    }
    let list = obj
        .get("subject")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("the statement has no subject array"))?;
    if list.is_empty() {
        return Err(invalid("the statement has no subject"));
    }
    if list.len() > MAX_SUBJECTS {
        return Err(AttestError::LimitExceeded {
            what: format!("{} subjects in the statement", list.len()),
            limit: MAX_SUBJECTS,
        });
    }
    let mut subjects = Vec::with_capacity(list.len());
    for s in list {
        let name = s
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("a subject has no string name"))?;
        let digest = s
            .get("digest")
            .and_then(Value::as_object)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| invalid(format!("subject {name} has no digest")))?;
        let sha256 = match digest.get("sha256") {
            None => None,
            Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(h.to_ascii_lowercase())
            }
            Some(_) => return Err(invalid(format!("subject {name}: sha256 is not 64 hex"))),
        };
        let role = s
            .pointer("/annotations/role")
            .and_then(Value::as_str)
            .map(str::to_string);
        if role.is_some() && sha256.is_none() {
            return Err(invalid(format!("subject {name} has no sha256")));
        }
        subjects.push(Subject {
            name: name.to_string(),
            sha256,
            role,
        });
    }
    let predicate = obj
        .get("predicate")
        .filter(|p| p.is_object())
        .cloned()
        .ok_or_else(|| invalid("the statement has no predicate object"))?;
    Ok((subjects, predicate))
}

/// A model subject found in a registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelMatch {
    /// The subject's role (`model` or `challenger`).
    pub role: String,
    /// The subject's name.
    pub subject: String,
    /// Model name in the registry.
    pub name: String,
    /// Version.
    pub version: String,
    /// The signed target path.
    pub path: String,
    /// The signed sha256.
    pub sha256: String,
    /// The TUF role that signs the target.
    pub signed_by: String,
}

/// Checks that each model subject (`model`, `challenger`) of a verified attestation is a
/// model version the registry signs: a version whose signed sha256 is the subject's digest
/// and, when the subject is named by a catalogue path (`models/NAME/VERSION/model.onnx`),
/// that very version. `ATTESTATION_SUBJECT` otherwise, and when the attestation names no
/// model (predictions scored elsewhere).
pub fn check_models(
    verified: &VerifiedAttestation,
    catalogue: &Catalogue,
) -> Result<Vec<ModelMatch>, AttestError> {
    let mut out = Vec::new();
    for s in &verified.subjects {
        let role = match s.role.as_deref() {
            Some(r @ ("model" | "challenger")) => r,
            _ => continue,
        };
        let digest = s.sha256.as_deref().unwrap_or_default();
        let mismatch = |reason: String| AttestError::Subject {
            subject: s.name.clone(),
            reason,
        };
        let found = catalogue
            .models
            .values()
            .flat_map(|m| m.versions.iter())
            .filter(|v| v.sha256().as_deref() == Some(digest));
        let named = match parse_path(&s.name) {
            Some(CataloguePath::Model { name, version }) => Some((name, version)),
            _ => None,
        };
        let mut matched = None;
        for v in found {
            match &named {
                Some((n, ver)) if *n != v.name || *ver != v.version => continue,
                _ => {
                    matched = Some(v);
                    break;
                }
            }
        }
        let Some(v) = matched else {
            return Err(mismatch(match named {
                Some((n, ver)) => match catalogue.models.get(&n).and_then(|m| m.version(&ver)) {
                    Some(v) => format!(
                        "sha256 {digest} is not the registry's {n}@{ver} (signed sha256 {})",
                        v.sha256().unwrap_or_default()
                    ),
                    None => format!("the registry signs no {n}@{ver}"),
                },
                None => format!("no model version of the registry has sha256 {digest}"),
            }));
        };
        out.push(ModelMatch {
            role: role.to_string(),
            subject: s.name.clone(),
            name: v.name.clone(),
            version: v.version.clone(),
            path: v.target.path.clone(),
            sha256: digest.to_string(),
            signed_by: v.target.role.clone(),
        });
    }
    if out.is_empty() {
        return Err(AttestError::Subject {
            subject: verified
                .subjects
                .first()
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            reason: "the attestation names no model (predictions scored elsewhere)".into(),
        });
    }
    Ok(out)
}

/// The JSON form of a verification's result (what the CLI's `--json` and the JavaScript API
/// return): key ids, subjects, the statement and, with a registry, the matched models.
pub fn verified_json(v: &VerifiedAttestation, models: Option<&[ModelMatch]>) -> Value {
    let mut out = Map::new();
    out.insert("payloadType".into(), json!(PAYLOAD_TYPE));
    out.insert("keyids".into(), json!(v.keyids));
    out.insert(
        "subjects".into(),
        serde_json::to_value(&v.subjects).unwrap_or_default(),
    );
    out.insert("predicateType".into(), json!(PREDICATE_TYPE));
    out.insert("statement".into(), v.statement.clone());
    if let Some(m) = models {
        out.insert("models".into(), serde_json::to_value(m).unwrap_or_default());
    }
    Value::Object(out)
}
