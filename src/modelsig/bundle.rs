//! The Sigstore bundle a model signature travels in (protobuf-specs `Bundle`, JSON form), read
//! with a limit on every field.
//!
//! ```json
//! {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
//!  "verificationMaterial": {"publicKey": {"hint": "…"} | "certificate": {"rawBytes": "…"}
//!                           | "x509CertificateChain": {"certificates": [{"rawBytes": "…"}]},
//!                           "tlogEntries": […], "timestampVerificationData": {…}},
//!  "dsseEnvelope": {"payload": "…", "payloadType": "application/vnd.in-toto+json",
//!                   "signatures": [{"sig": "…", "keyid": ""}]}}
//! ```

use serde_json::{Map, Value};

use super::{b64, invalid, limits, over_limit, ModelSigError, PAYLOAD_TYPE};

/// The media types read: v0.3 (what model_signing 1.x writes) and its predecessors.
pub const MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
];

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The payload, decoded (the in-toto statement's JSON bytes).
    pub payload: Vec<u8>,
    /// Its type (`application/vnd.in-toto+json`).
    pub payload_type: String,
    /// The signatures, decoded, in order.
    pub signatures: Vec<Vec<u8>>,
    /// The signatures' key ids, in the same order (model_signing writes "").
    pub keyids: Vec<String>,
}

impl Envelope {
    /// The DSSE pre-authentication encoding the signatures sign.
    pub fn pae(&self) -> Vec<u8> {
        let mut out = format!(
            "DSSEv1 {} {} {} ",
            self.payload_type.len(),
            self.payload_type,
            self.payload.len()
        )
        .into_bytes();
        out.extend_from_slice(&self.payload);
        out
    }

    /// The encoding model_signing 0.2 signed by mistake: `DSSEV1`, and the payload written as
    /// Python's `repr` of a bytes object (`b'…'` with escapes).
    pub fn pae_compat(&self) -> Vec<u8> {
        let mut out = format!(
            "DSSEV1 {} {} {} ",
            PAYLOAD_TYPE.len(),
            PAYLOAD_TYPE,
            self.payload.len()
        )
        .into_bytes();
        out.extend_from_slice(python_bytes_repr(&self.payload).as_bytes());
        out
    }
}

/// Python's `repr(bytes)`: `b'…'`, or `b"…"` when the bytes hold a `'` and no `"`.
fn python_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(char::from(quote));
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

/// A parsed bundle. Its verification material is kept as read; [`super::sigstore`] reads the
/// log entries.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The media type.
    pub media_type: String,
    /// `verificationMaterial.publicKey.hint`, when the bundle names a key.
    pub hint: Option<String>,
    /// The certificates, leaf first (`certificate` or `x509CertificateChain`), DER.
    pub certificates: Vec<Vec<u8>>,
    /// `verificationMaterial.tlogEntries`, as JSON (at most [`limits::TLOG_ENTRIES`]).
    pub tlog_entries: Vec<Value>,
    /// `verificationMaterial.timestampVerificationData`, as JSON, when present.
    pub timestamp_data: Option<Value>,
    /// The DSSE envelope.
    pub envelope: Envelope,
}

fn field<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    what: &str,
) -> Result<&'a Value, ModelSigError> {
    obj.get(name)
        .ok_or_else(|| invalid(format!("{what} has no `{name}`")))
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, ModelSigError> {
    v.as_object()
        .ok_or_else(|| invalid(format!("{what} is not a JSON object")))
}

fn string<'a>(v: &'a Value, what: &str) -> Result<&'a str, ModelSigError> {
    v.as_str()
        .ok_or_else(|| invalid(format!("{what} is not a string")))
}

fn array<'a>(v: &'a Value, what: &str, limit: usize) -> Result<&'a [Value], ModelSigError> {
    let items = v
        .as_array()
        .ok_or_else(|| invalid(format!("{what} is not a list")))?;
    if items.len() > limit {
        return Err(over_limit(what, limit));
    }
    Ok(items)
}

fn certificate(v: &Value, what: &str) -> Result<Vec<u8>, ModelSigError> {
    let raw = field(object(v, what)?, "rawBytes", what)?;
    b64(string(raw, what)?, what, limits::CERTIFICATE_BYTES)
}

impl Bundle {
    /// Parses a bundle's JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Bundle, ModelSigError> {
        if bytes.len() > limits::BUNDLE_BYTES {
            return Err(over_limit("bundle", limits::BUNDLE_BYTES));
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("the bundle is not JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// Parses a bundle from JSON already read.
    pub fn from_value(value: &Value) -> Result<Bundle, ModelSigError> {
        let top = object(value, "the bundle")?;
        let media_type = string(field(top, "mediaType", "the bundle")?, "mediaType")?;
        if !MEDIA_TYPES.contains(&media_type) {
            return Err(invalid(format!(
                "media type `{}` is not a Sigstore bundle this verifier reads",
                media_type.chars().take(100).collect::<String>()
            )));
        }
        let material = object(
            field(top, "verificationMaterial", "the bundle")?,
            "verificationMaterial",
        )?;
        let mut hint = None;
        let mut certificates = Vec::new();
        if let Some(pk) = material.get("publicKey") {
            let pk = object(pk, "publicKey")?;
            let h = match pk.get("hint") {
                Some(h) => string(h, "publicKey.hint")?,
                None => "",
            };
            if h.len() > 256 {
                return Err(over_limit("publicKey.hint", 256));
            }
            hint = Some(h.to_string());
        }
        if let Some(cert) = material.get("certificate") {
            certificates.push(certificate(cert, "certificate")?);
        }
        if let Some(chain) = material.get("x509CertificateChain") {
            let chain = object(chain, "x509CertificateChain")?;
            let certs = array(
                field(chain, "certificates", "x509CertificateChain")?,
                "x509CertificateChain.certificates",
                limits::CERTIFICATES,
            )?;
            for c in certs {
                certificates.push(certificate(c, "a chain certificate")?);
            }
        }
        let kinds = usize::from(hint.is_some())
            + usize::from(material.contains_key("certificate"))
            + usize::from(material.contains_key("x509CertificateChain"));
        if kinds != 1 {
            return Err(invalid(
                "verificationMaterial must hold exactly one of publicKey, certificate and \
                 x509CertificateChain",
            ));
        }
        if material.contains_key("x509CertificateChain") && certificates.is_empty() {
            return Err(invalid("x509CertificateChain is empty"));
        }
        let tlog_entries = match material.get("tlogEntries") {
            Some(v) => array(v, "tlogEntries", limits::TLOG_ENTRIES)?.to_vec(),
            None => Vec::new(),
        };
        let timestamp_data = material.get("timestampVerificationData").cloned();
        if top.contains_key("messageSignature") {
            return Err(invalid(
                "the bundle signs a message digest (messageSignature), not a DSSE statement",
            ));
        }
        let env = object(field(top, "dsseEnvelope", "the bundle")?, "dsseEnvelope")?;
        let payload = b64(
            string(field(env, "payload", "dsseEnvelope")?, "payload")?,
            "the envelope's payload",
            limits::PAYLOAD_BYTES,
        )?;
        let payload_type = string(field(env, "payloadType", "dsseEnvelope")?, "payloadType")?;
        if payload_type != PAYLOAD_TYPE {
            return Err(invalid(format!(
                "the envelope's payload type is `{}`, not `{PAYLOAD_TYPE}`",
                payload_type.chars().take(100).collect::<String>()
            )));
        }
        let sigs = array(
            field(env, "signatures", "dsseEnvelope")?,
            "the envelope's signatures",
            limits::SIGNATURES,
        )?;
        if sigs.is_empty() {
            return Err(invalid("the envelope has no signature"));
        }
        let mut signatures = Vec::with_capacity(sigs.len());
        let mut keyids = Vec::with_capacity(sigs.len());
        for s in sigs {
            let s = object(s, "a signature")?;
            signatures.push(b64(
                string(field(s, "sig", "a signature")?, "sig")?,
                "a signature",
                limits::SIGNATURE_BYTES,
            )?);
            let keyid = match s.get("keyid") {
                Some(k) => string(k, "keyid")?,
                None => "",
            };
            if keyid.len() > 256 {
                return Err(over_limit("a signature's keyid", 256));
            }
            keyids.push(keyid.to_string());
        }
        Ok(Bundle {
            media_type: media_type.to_string(),
            hint,
            certificates,
            tlog_entries,
            timestamp_data,
            envelope: Envelope {
                payload,
                payload_type: payload_type.to_string(),
                signatures,
                keyids,
            },
        })
    }

    /// The key method's key hint, when the bundle names a key (possibly empty: model_signing's
    /// older bundles wrote none).
    pub fn key_hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Whether the bundle carries certificates (certificate or Sigstore method).
    pub fn has_certificates(&self) -> bool {
        !self.certificates.is_empty()
    }

    /// The certificates, leaf first, DER.
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.certificates
    }
}
