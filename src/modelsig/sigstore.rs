//! The Sigstore method: a short-lived Fulcio certificate, its embedded signed certificate
//! timestamp (SCT) and the Rekor transparency-log entry of the signature, checked against
//! Sigstore's trusted root (`trusted_root.json`) and the identity and OIDC issuer the caller
//! expects. What sigstore-python's `Verifier.verify_dsse` (the verifier model_signing uses)
//! checks, in its order:
//!
//! 0. a verified time: the Rekor integrated time, bound by the entry's inclusion promise;
//! 1. the certificate chains to a Fulcio CA of the trusted root (the CA's own certificates; any
//!    of them is a trust anchor) at that time, the CA's `validFor` covering it;
//! 2. the certificate's embedded SCT (RFC 6962 §3.2, over the precertificate) verifies with a
//!    CT log key of the trusted root;
//! 3. key usage `digitalSignature` and extended key usage `codeSigning`; the OIDC issuer and then
//!    the identity (SAN) are the expected ones;
//! 4. the entry's Merkle inclusion proof leads to its root hash, and the checkpoint (a signed
//!    note) carrying that root verifies with the log's key;
//! 5. the inclusion promise (signed entry timestamp) verifies with the log's key;
//! 6. the time is within the certificate's validity;
//! 8. the entry's body matches the bundle (payload hash, signatures, certificate).
//!
//! Step 7, the envelope's signature with the certificate's key, is [`super::verify_signature`]'s.
//!
//! Not supported: Rekor v2 entries (`hashedrekord` 0.0.2), which carry no integrated time and
//! need RFC 3161 timestamps from a timestamp authority (the TSA's CMS signature is not verified
//! here). A bundle's RFC 3161 timestamps are not verified either; sigstore-python drops one that
//! does not verify, so only the integrated time counts here.

use base64ct::{Base64, Encoding as _};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use x509_cert::der::asn1::OctetString;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::name::GeneralName;

use super::bundle::Bundle;
use super::x509::{build_path, check_signing_usage, Anchoring, Cert, Oid};
use super::{b64, bad_argument, invalid, limits, over_limit, sig_error, ModelSigError, PublicKey};

/// The trusted-root media types read.
pub const TRUSTED_ROOT_MEDIA_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    "application/vnd.dev.sigstore.trustedroot+json;version=0.2",
    "application/vnd.dev.sigstore.trustedroot.v0.1+json",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
];

/// The embedded SCT list (RFC 6962).
const OID_SCT_LIST: Oid = Oid::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// The precertificate-signing-certificate extended key usage (RFC 6962).
const OID_CT_PRECERT_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.4.1.11129.2.4.4");
/// Fulcio's OIDC issuer, raw bytes (deprecated, what sigstore-python's policy reads).
const OID_ISSUER_V1: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer, a DER UTF8String.
const OID_ISSUER_V2: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Fulcio's otherName SAN (a username), a UTF8String.
const OID_OTHERNAME_SAN: Oid = Oid::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// A validity window, milliseconds since the epoch, bounds included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Start, when given.
    pub start_ms: Option<i64>,
    /// End, when given.
    pub end_ms: Option<i64>,
}

impl TimeRange {
    /// Whether `secs` (seconds since the epoch) is inside the window.
    pub fn covers_secs(&self, secs: u64) -> bool {
        let ms = i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000);
        self.covers_ms(ms)
    }

    /// Whether `ms` (milliseconds since the epoch) is inside the window.
    pub fn covers_ms(&self, ms: i64) -> bool {
        self.start_ms.is_none_or(|s| s <= ms) && self.end_ms.is_none_or(|e| ms <= e)
    }
}

/// A transparency log's (Rekor's or a CT log's) verification key.
#[derive(Debug, Clone)]
pub enum LogKey {
    /// ECDSA (with the curve's hash) or Ed25519.
    Key(PublicKey),
    /// RSA PKCS #1 v1.5 with SHA-256 (old CT logs).
    Rsa(Box<rsa::RsaPublicKey>),
}

impl LogKey {
    /// A key from its DER form in a trusted root: a SubjectPublicKeyInfo, or for RSA also a
    /// PKCS #1 `RSAPublicKey` (`PKCS1_RSA_PKCS1V5`), as `cryptography` loads them.
    fn from_der(der: &[u8], details: &str) -> Option<LogKey> {
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        use rsa::pkcs8::DecodePublicKey as _;
        if details.contains("RSA") {
            return rsa::RsaPublicKey::from_public_key_der(der)
                .or_else(|_| rsa::RsaPublicKey::from_pkcs1_der(der))
                .ok()
                .map(|k| LogKey::Rsa(Box::new(k)));
        }
        PublicKey::from_der(der).ok().map(LogKey::Key)
    }

    /// The key's RFC 6962 id: SHA-256 of its DER SubjectPublicKeyInfo as re-encoded (what
    /// sigstore-python computes).
    fn key_id(&self) -> Option<[u8; 32]> {
        use rsa::pkcs8::EncodePublicKey as _;
        let spki = match self {
            LogKey::Key(k) => k.spki_der(),
            LogKey::Rsa(k) => k.to_public_key_der().ok()?.as_bytes().to_vec(),
        };
        (!spki.is_empty()).then(|| Sha256::digest(&spki).into())
    }

    /// Whether `sig` is this key's signature of `data`.
    pub fn verify(&self, data: &[u8], sig: &[u8]) -> bool {
        match self {
            LogKey::Key(k) => k.verify(data, sig),
            LogKey::Rsa(k) => k
                .verify(
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    &Sha256::digest(data),
                    sig,
                )
                .is_ok(),
        }
    }
}

/// A transparency log of the trusted root (Rekor or CT).
#[derive(Debug, Clone)]
pub struct LogInstance {
    /// Its base URL.
    pub base_url: String,
    /// SHA-256 of its DER SubjectPublicKeyInfo (RFC 6962 log id).
    pub key_id: [u8; 32],
    /// Its key.
    pub key: LogKey,
    /// When the key is valid.
    pub valid_for: TimeRange,
}

/// A certificate authority of the trusted root (Fulcio).
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    /// Its URI.
    pub uri: String,
    /// Its chain, DER, as listed (issuing certificate first, root last).
    pub certificates: Vec<Vec<u8>>,
    /// When it issued certificates.
    pub valid_for: TimeRange,
}

/// Sigstore's trusted root.
#[derive(Debug, Clone, Default)]
pub struct TrustedRoot {
    /// Rekor logs.
    pub tlogs: Vec<LogInstance>,
    /// Certificate transparency logs.
    pub ctlogs: Vec<LogInstance>,
    /// Fulcio CAs.
    pub certificate_authorities: Vec<CertificateAuthority>,
    /// How many timestamp authorities it lists (their timestamps are not verified here).
    pub timestamp_authorities: usize,
}

// ---- JSON helpers -------------------------------------------------------------------------

fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} is not a JSON object"))
}

fn get<'a>(o: &'a Map<String, Value>, name: &str, what: &str) -> Result<&'a Value, String> {
    match o.get(name) {
        Some(Value::Null) | None => Err(format!("{what} has no `{name}`")),
        Some(v) => Ok(v),
    }
}

fn opt<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.get(name).filter(|v| !v.is_null())
}

fn text<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str().ok_or_else(|| format!("{what} is not a string"))
}

fn list<'a>(v: &'a Value, what: &str, limit: usize) -> Result<&'a [Value], ModelSigError> {
    let items = v
        .as_array()
        .ok_or_else(|| invalid(format!("{what} is not a list")))?;
    if items.len() > limit {
        return Err(over_limit(what.to_string(), limit));
    }
    Ok(items)
}

/// A protobuf-JSON 64-bit integer: a decimal string, or a number.
fn uint(v: &Value, what: &str) -> Result<u64, String> {
    match v {
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<u64>()
            .map_err(|_| format!("{what} is out of range")),
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("{what} is not a non-negative integer")),
        _ => Err(format!("{what} is not a non-negative integer")),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 timestamp (`2021-01-12T11:53:27Z`, `…27.999Z`, `…27+01:00`), in milliseconds
/// since the epoch.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        millis = padded.parse().ok()?;
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b.get(i + 3) == Some(&b':') => {
            let m = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + millis)
}

fn time_range(o: &Map<String, Value>, what: &str) -> Result<TimeRange, String> {
    let Some(v) = opt(o, "validFor") else {
        return Ok(TimeRange::default());
    };
    let v = obj(v, &format!("{what}.validFor"))?;
    let read = |name: &str| -> Result<Option<i64>, String> {
        match opt(v, name) {
            None => Ok(None),
            Some(t) => {
                let t = text(t, name)?;
                parse_rfc3339_ms(t)
                    .map(Some)
                    .ok_or_else(|| format!("{what}.validFor.{name} is not an RFC 3339 time"))
            }
        }
    };
    Ok(TimeRange {
        start_ms: read("start")?,
        end_ms: read("end")?,
    })
}

fn root_b64(text: &str, what: &str, limit: usize) -> Result<Vec<u8>, ModelSigError> {
    b64(text, what, limit).map_err(|e| match e {
        ModelSigError::Invalid(r) => bad_argument("trusted root", r),
        other => other,
    })
}

fn parse_logs(v: Option<&Value>, what: &str) -> Result<Vec<LogInstance>, ModelSigError> {
    let arg = |r: String| bad_argument("trusted root", r);
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let items = list(v, what, limits::AUTHORITIES)?;
    let mut out = Vec::new();
    for item in items {
        let item = obj(item, what).map_err(arg)?;
        let base_url = match opt(item, "baseUrl") {
            Some(u) => text(u, "baseUrl").map_err(arg)?.to_string(),
            None => String::new(),
        };
        let pk = obj(get(item, "publicKey", what).map_err(arg)?, "publicKey").map_err(arg)?;
        let Some(raw) = opt(pk, "rawBytes") else {
            continue;
        };
        let der = root_b64(text(raw, "rawBytes").map_err(arg)?, "a log key", 16 << 10)?;
        let details = match opt(pk, "keyDetails") {
            Some(d) => text(d, "keyDetails").map_err(arg)?,
            None => "",
        };
        let valid_for = time_range(pk, "publicKey").map_err(arg)?;
        // Like sigstore-python, a key of a kind this verifier cannot use is skipped.
        let Some(key) = LogKey::from_der(&der, details) else {
            continue;
        };
        let Some(key_id) = key.key_id() else {
            continue;
        };
        out.push(LogInstance {
            base_url,
            key_id,
            key,
            valid_for,
        });
    }
    Ok(out)
}

impl TrustedRoot {
    /// Parses `trusted_root.json`.
    pub fn from_json(bytes: &[u8]) -> Result<TrustedRoot, ModelSigError> {
        if bytes.len() > limits::TRUSTED_ROOT_BYTES {
            return Err(over_limit("the trusted root", limits::TRUSTED_ROOT_BYTES));
        }
        let arg = |r: String| bad_argument("trusted root", r);
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| bad_argument("trusted root", format!("not JSON: {e}")))?;
        let top = obj(&value, "the trusted root").map_err(arg)?;
        let media_type = text(
            get(top, "mediaType", "the trusted root").map_err(arg)?,
            "mediaType",
        )
        .map_err(arg)?;
        if !TRUSTED_ROOT_MEDIA_TYPES.contains(&media_type) {
            return Err(bad_argument(
                "trusted root",
                format!(
                    "media type `{}` is not a Sigstore trusted root",
                    media_type.chars().take(100).collect::<String>()
                ),
            ));
        }
        let tlogs = parse_logs(opt(top, "tlogs"), "tlogs")?;
        let ctlogs = parse_logs(opt(top, "ctlogs"), "ctlogs")?;
        let mut certificate_authorities = Vec::new();
        if let Some(cas) = opt(top, "certificateAuthorities") {
            for ca in list(cas, "certificateAuthorities", limits::AUTHORITIES)? {
                let ca = obj(ca, "a certificate authority").map_err(arg)?;
                let uri = match opt(ca, "uri") {
                    Some(u) => text(u, "uri").map_err(arg)?.to_string(),
                    None => String::new(),
                };
                let chain = obj(
                    get(ca, "certChain", "a certificate authority").map_err(arg)?,
                    "certChain",
                )
                .map_err(arg)?;
                let certs = list(
                    get(chain, "certificates", "certChain").map_err(arg)?,
                    "a CA's certificates",
                    limits::CERTIFICATES,
                )?;
                let mut certificates = Vec::with_capacity(certs.len());
                for c in certs {
                    let c = obj(c, "a CA certificate").map_err(arg)?;
                    let raw = text(
                        get(c, "rawBytes", "a CA certificate").map_err(arg)?,
                        "rawBytes",
                    )
                    .map_err(arg)?;
                    let der = root_b64(raw, "a CA certificate", limits::CERTIFICATE_BYTES)?;
                    Cert::parse(&der, "a CA certificate of the trusted root").map_err(
                        |e| match e {
                            ModelSigError::Invalid(r) => bad_argument("trusted root", r),
                            other => other,
                        },
                    )?;
                    certificates.push(der);
                }
                if certificates.is_empty() {
                    return Err(bad_argument(
                        "trusted root",
                        "a certificate authority has no certificate",
                    ));
                }
                certificate_authorities.push(CertificateAuthority {
                    uri,
                    certificates,
                    valid_for: time_range(ca, "a certificate authority").map_err(arg)?,
                });
            }
        }
        let timestamp_authorities = match opt(top, "timestampAuthorities") {
            Some(t) => list(t, "timestampAuthorities", limits::AUTHORITIES)?.len(),
            None => 0,
        };
        Ok(TrustedRoot {
            tlogs,
            ctlogs,
            certificate_authorities,
            timestamp_authorities,
        })
    }

    fn log<'a>(logs: &'a [LogInstance], key_id: &[u8]) -> Option<&'a LogInstance> {
        logs.iter().find(|l| l.key_id.as_slice() == key_id)
    }
}

/// What the Sigstore checks established.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The leaf certificate's key, which must verify the envelope.
    pub key: PublicKey,
    /// The certificate's identity (SAN).
    pub identity: String,
    /// The OIDC issuer.
    pub issuer: String,
    /// The Rekor integrated time.
    pub integrated_time: u64,
    /// The Rekor log index.
    pub log_index: Option<u64>,
}

// ---- The transparency-log entry -----------------------------------------------------------

/// An inclusion proof.
#[derive(Debug, Clone)]
pub(crate) struct Proof {
    pub log_index: u64,
    pub root_hash: Vec<u8>,
    pub tree_size: u64,
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: String,
}

/// A bundle's `tlogEntries[i]`, decoded.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub log_index: u64,
    pub log_id: Vec<u8>,
    pub kind: String,
    pub version: String,
    pub integrated_time: u64,
    pub promise: Option<Vec<u8>>,
    pub proof: Proof,
    pub body: Vec<u8>,
}

impl Entry {
    pub(crate) fn from_value(v: &Value) -> Result<Entry, ModelSigError> {
        let e = obj(v, "a log entry").map_err(invalid)?;
        let log_index = uint(
            get(e, "logIndex", "a log entry").map_err(invalid)?,
            "logIndex",
        )
        .map_err(invalid)?;
        let log_id =
            obj(get(e, "logId", "a log entry").map_err(invalid)?, "logId").map_err(invalid)?;
        let log_id = b64(
            text(get(log_id, "keyId", "logId").map_err(invalid)?, "keyId").map_err(invalid)?,
            "logId.keyId",
            64,
        )?;
        let kv = obj(
            get(e, "kindVersion", "a log entry").map_err(invalid)?,
            "kindVersion",
        )
        .map_err(invalid)?;
        let kind =
            text(get(kv, "kind", "kindVersion").map_err(invalid)?, "kind").map_err(invalid)?;
        let version = text(
            get(kv, "version", "kindVersion").map_err(invalid)?,
            "version",
        )
        .map_err(invalid)?;
        if kind.len() > 64 || version.len() > 64 {
            return Err(invalid("kindVersion is too long"));
        }
        let integrated_time = match opt(e, "integratedTime") {
            Some(t) => uint(t, "integratedTime").map_err(invalid)?,
            None => 0,
        };
        let promise = match opt(e, "inclusionPromise") {
            Some(p) => {
                let p = obj(p, "inclusionPromise").map_err(invalid)?;
                let set = text(
                    get(p, "signedEntryTimestamp", "inclusionPromise").map_err(invalid)?,
                    "signedEntryTimestamp",
                )
                .map_err(invalid)?;
                Some(b64(set, "signedEntryTimestamp", limits::SIGNATURE_BYTES)?)
            }
            None => None,
        };
        // sigstore-python requires an inclusion proof with a checkpoint, whatever the bundle's
        // version.
        let p = obj(
            opt(e, "inclusionProof")
                .ok_or_else(|| invalid("the log entry has no inclusion proof"))?,
            "inclusionProof",
        )
        .map_err(invalid)?;
        let hashes = list(
            get(p, "hashes", "inclusionProof").map_err(invalid)?,
            "the inclusion proof's hashes",
            limits::PROOF_HASHES,
        )?
        .iter()
        .map(|h| {
            b64(
                text(h, "a proof hash").map_err(invalid)?,
                "a proof hash",
                64,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
        let checkpoint =
            opt(p, "checkpoint").ok_or_else(|| invalid("the inclusion proof has no checkpoint"))?;
        let checkpoint = text(
            get(
                obj(checkpoint, "checkpoint").map_err(invalid)?,
                "envelope",
                "checkpoint",
            )
            .map_err(invalid)?,
            "checkpoint.envelope",
        )
        .map_err(invalid)?;
        if checkpoint.len() > limits::CHECKPOINT_BYTES {
            return Err(over_limit("the checkpoint", limits::CHECKPOINT_BYTES));
        }
        let proof = Proof {
            log_index: uint(
                get(p, "logIndex", "inclusionProof").map_err(invalid)?,
                "logIndex",
            )
            .map_err(invalid)?,
            root_hash: b64(
                text(
                    get(p, "rootHash", "inclusionProof").map_err(invalid)?,
                    "rootHash",
                )
                .map_err(invalid)?,
                "rootHash",
                64,
            )?,
            tree_size: uint(
                get(p, "treeSize", "inclusionProof").map_err(invalid)?,
                "treeSize",
            )
            .map_err(invalid)?,
            hashes,
            checkpoint: checkpoint.to_string(),
        };
        let body = b64(
            text(
                get(e, "canonicalizedBody", "a log entry").map_err(invalid)?,
                "canonicalizedBody",
            )
            .map_err(invalid)?,
            "canonicalizedBody",
            limits::TLOG_BODY_BYTES,
        )?;
        Ok(Entry {
            log_index,
            log_id,
            kind: kind.to_string(),
            version: version.to_string(),
            integrated_time,
            promise,
            proof,
            body,
        })
    }

    /// The canonical JSON (RFC 8785) the inclusion promise signs.
    pub(crate) fn promise_payload(&self) -> Vec<u8> {
        format!(
            "{{\"body\":\"{}\",\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
            Base64::encode_string(&self.body),
            self.integrated_time,
            super::keys::hex(&self.log_id),
            self.log_index
        )
        .into_bytes()
    }
}

fn hash_leaf(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn hash_children(left: &[u8], right: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 6962 / RFC 9162 inclusion proof: the root of a tree of `size` leaves computed from the
/// leaf hash at `index` and `hashes`, or why it cannot be.
pub(crate) fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf_hash: [u8; 32],
    hashes: &[Vec<u8>],
) -> Result<[u8; 32], String> {
    if index >= size {
        return Err(format!("index {index} is outside a tree of {size} leaves"));
    }
    let inner = usize::try_from(64 - (index ^ (size - 1)).leading_zeros()).unwrap_or(64);
    let border = usize::try_from((index >> inner.min(63)).count_ones()).unwrap_or(64);
    let border = if inner >= 64 { 0 } else { border };
    if hashes.len() != inner + border {
        return Err(format!(
            "the proof has {} hashes, a leaf at {index} of {size} needs {}",
            hashes.len(),
            inner + border
        ));
    }
    let mut node = leaf_hash;
    for (i, h) in hashes.iter().enumerate() {
        if h.len() != 32 {
            return Err("a proof hash is not 32 bytes".into());
        }
        node = if i < inner && (index >> i) & 1 == 0 {
            hash_children(&node, h)
        } else {
            hash_children(h, &node)
        };
    }
    Ok(node)
}

/// A parsed checkpoint (signed note): the note text, its origin, size and root, and its
/// signatures (name, key hint, signature).
#[derive(Debug, Clone)]
pub(crate) struct Checkpoint {
    pub note: String,
    pub size: u64,
    pub root_hash: Vec<u8>,
    pub signatures: Vec<(String, [u8; 4], Vec<u8>)>,
}

impl Checkpoint {
    /// Parses a signed note as sigstore-python does (and Rekor's `UnmarshalText`).
    pub(crate) fn parse(envelope: &str) -> Result<Checkpoint, String> {
        if envelope.matches("\n\n").count() != 1 {
            return Err(
                "the checkpoint must contain one blank line between its text and its signatures"
                    .into(),
            );
        }
        let (head, data) = envelope
            .split_once("\n\n")
            .ok_or("the checkpoint has no signature block")?;
        let note = format!("{head}\n");
        if data.is_empty() || !data.ends_with('\n') {
            return Err("the checkpoint's signature block must end with a newline".into());
        }
        let mut signatures = Vec::new();
        for line in data.split_terminator('\n') {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                continue;
            };
            let mut parts = rest.split(' ');
            let (Some(name), Some(sig), None) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            if name.is_empty() || sig.is_empty() {
                continue;
            }
            let bytes = Base64::decode_vec(sig)
                .map_err(|_| "a checkpoint signature is not base64".to_string())?;
            if bytes.len() < 5 {
                return Err("a checkpoint signature is too short".into());
            }
            let (hint, sig) = bytes.split_at(4);
            let hint: [u8; 4] = hint.try_into().map_err(|_| "bad key hint".to_string())?;
            signatures.push((name.to_string(), hint, sig.to_vec()));
        }
        let lines: Vec<&str> = note.trim().split('\n').collect();
        let [origin, size, root, ..] = lines.as_slice() else {
            return Err("the checkpoint has fewer than three lines".into());
        };
        if origin.is_empty() {
            return Err("the checkpoint's origin is empty".into());
        }
        let size = size
            .parse::<u64>()
            .map_err(|_| "the checkpoint's size is not a number".to_string())?;
        let root_hash = Base64::decode_vec(root)
            .map_err(|_| "the checkpoint's root hash is not base64".to_string())?;
        Ok(Checkpoint {
            note,
            size,
            root_hash,
            signatures,
        })
    }
}

/// Checks the entry's inclusion proof, checkpoint and inclusion promise with the log `log`.
pub(crate) fn verify_entry(entry: &Entry, log: &LogInstance) -> Result<(), ModelSigError> {
    let proof = &entry.proof;
    let root = root_from_inclusion_proof(
        proof.log_index,
        proof.tree_size,
        hash_leaf(&entry.body),
        &proof.hashes,
    )
    .map_err(|e| sig_error(format!("invalid inclusion proof: {e}")))?;
    if root.as_slice() != proof.root_hash.as_slice() {
        return Err(sig_error(
            "invalid inclusion proof: it does not lead to its root hash",
        ));
    }
    let checkpoint = Checkpoint::parse(&proof.checkpoint)
        .map_err(|e| sig_error(format!("invalid checkpoint: {e}")))?;
    let hint = entry.log_id.get(..4).unwrap_or_default();
    let (_, _, sig) = checkpoint
        .signatures
        .iter()
        .find(|(_, h, _)| h.as_slice() == hint)
        .ok_or_else(|| sig_error("the checkpoint has no signature by the entry's log"))?;
    if !log.key.verify(checkpoint.note.as_bytes(), sig) {
        return Err(sig_error(
            "the checkpoint's signature does not verify with the log's key",
        ));
    }
    if checkpoint.root_hash != proof.root_hash {
        return Err(sig_error(
            "the checkpoint's root hash is not the inclusion proof's",
        ));
    }
    if checkpoint.size != proof.tree_size {
        return Err(sig_error(
            "the checkpoint's tree size is not the inclusion proof's",
        ));
    }
    if let Some(set) = &entry.promise {
        if entry.integrated_time != 0 && !log.key.verify(&entry.promise_payload(), set) {
            return Err(sig_error(
                "the inclusion promise (signed entry timestamp) does not verify with the log's key",
            ));
        }
    }
    Ok(())
}

// ---- The signed certificate timestamp -------------------------------------------------------

/// One SCT of the embedded list.
#[derive(Debug, Clone)]
pub(crate) struct Sct {
    pub version: u8,
    pub log_id: [u8; 32],
    pub timestamp_ms: u64,
    pub extensions: Vec<u8>,
    pub hash_alg: u8,
    pub sig_alg: u8,
    pub signature: Vec<u8>,
}

struct Tls<'a>(&'a [u8]);

impl<'a> Tls<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<usize> {
        let b = self.take(2)?;
        Some(usize::from(u16::from_be_bytes(b.try_into().ok()?)))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// The SCTs of an RFC 6962 `SignedCertificateTimestampList` (the extension's value, DER OCTET
/// STRING around the TLS structure).
pub(crate) fn parse_sct_list(ext_value: &[u8]) -> Option<Vec<Sct>> {
    let inner = OctetString::from_der(ext_value).ok()?;
    let mut all = Tls(inner.as_bytes());
    let mut list = Tls(all.vec16()?);
    if !all.0.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    while !list.0.is_empty() {
        let mut s = Tls(list.vec16()?);
        let version = s.u8()?;
        let log_id: [u8; 32] = s.take(32)?.try_into().ok()?;
        let timestamp_ms = s.u64()?;
        let extensions = s.vec16()?.to_vec();
        let hash_alg = s.u8()?;
        let sig_alg = s.u8()?;
        let signature = s.vec16()?.to_vec();
        if !s.0.is_empty() {
            return None;
        }
        out.push(Sct {
            version,
            log_id,
            timestamp_ms,
            extensions,
            hash_alg,
            sig_alg,
            signature,
        });
        if out.len() > 64 {
            return None;
        }
    }
    Some(out)
}

/// The data an SCT for the precertificate of `leaf` signs (RFC 6962 §3.2): the leaf's
/// TBSCertificate without the SCT list extension, bound to the issuer's key hash.
pub(crate) fn sct_signed_data(
    sct: &Sct,
    leaf: &Cert,
    issuer_key_hash: &[u8; 32],
) -> Result<Vec<u8>, ModelSigError> {
    let mut tbs = leaf.cert.tbs_certificate.clone();
    if let Some(exts) = tbs.extensions.as_mut() {
        exts.retain(|e| e.extn_id != OID_SCT_LIST);
    }
    let tbs = tbs
        .to_der()
        .map_err(|e| invalid(format!("the precertificate cannot be encoded: {e}")))?;
    let len = u32::try_from(tbs.len())
        .ok()
        .filter(|l| *l < 1 << 24)
        .ok_or_else(|| invalid("the precertificate is too large"))?;
    let ext_len = u16::try_from(sct.extensions.len())
        .map_err(|_| invalid("the SCT's extensions are too large"))?;
    let mut out = Vec::with_capacity(tbs.len() + 64);
    out.push(sct.version);
    out.push(0); // signature_type = certificate_timestamp
    out.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // entry_type = precert_entry
    out.extend_from_slice(issuer_key_hash);
    out.extend_from_slice(len.to_be_bytes().get(1..).unwrap_or_default());
    out.extend_from_slice(&tbs);
    out.extend_from_slice(&ext_len.to_be_bytes());
    out.extend_from_slice(&sct.extensions);
    Ok(out)
}

/// Verifies the leaf's embedded SCT with a CT log of the trusted root. `chain` is the verified
/// path, leaf first.
pub(crate) fn verify_sct(chain: &[&Cert], root: &TrustedRoot) -> Result<(), ModelSigError> {
    let leaf = chain
        .first()
        .ok_or_else(|| invalid("the certificate chain is empty"))?;
    let ext = leaf
        .extension(&OID_SCT_LIST)
        .ok_or_else(|| sig_error("the signing certificate has no signed certificate timestamp"))?;
    let scts = parse_sct_list(ext.extn_value.as_bytes())
        .ok_or_else(|| invalid("the signing certificate's SCT list is malformed"))?;
    // sigstore-python requires exactly one.
    let [sct] = scts.as_slice() else {
        return Err(sig_error(format!(
            "expected one signed certificate timestamp, found {}",
            scts.len()
        )));
    };
    if sct.version != 0 {
        return Err(sig_error(format!("unknown SCT version {}", sct.version)));
    }
    if sct.hash_alg != 4 {
        return Err(sig_error("the SCT's hash algorithm is not SHA-256"));
    }
    // The issuer: the certificate after the leaf, or the one after it when that one is a
    // precertificate-signing certificate (RFC 6962 §3.1).
    let mut issuer = chain
        .get(1)
        .ok_or_else(|| sig_error("the SCT's issuer is not in the chain"))?;
    let preissuer = issuer
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| eku.0.contains(&OID_CT_PRECERT_SIGNING));
    if preissuer {
        issuer = chain
            .get(2)
            .ok_or_else(|| sig_error("the SCT's issuer is not in the chain"))?;
    }
    let issuer_key_hash: [u8; 32] = Sha256::digest(issuer.spki_der()).into();
    let data = sct_signed_data(sct, leaf, &issuer_key_hash)?;
    let log = TrustedRoot::log(&root.ctlogs, &sct.log_id).ok_or_else(|| {
        sig_error(format!(
            "the SCT is from a CT log the trusted root does not list ({})",
            super::keys::hex(&sct.log_id)
        ))
    })?;
    let ms = i64::try_from(sct.timestamp_ms).unwrap_or(i64::MAX);
    if !log.valid_for.covers_ms(ms) {
        return Err(sig_error(
            "the SCT was signed outside its CT log key's validity",
        ));
    }
    let sig_alg_matches = match log.key {
        LogKey::Rsa(_) => sct.sig_alg == 1,
        LogKey::Key(PublicKey::Ed25519(_)) => sct.sig_alg == 7,
        LogKey::Key(_) => sct.sig_alg == 3,
    };
    if !sig_alg_matches || !log.key.verify(&data, &sct.signature) {
        return Err(sig_error(
            "the signed certificate timestamp does not verify with its CT log's key",
        ));
    }
    Ok(())
}

// ---- Identity ---------------------------------------------------------------------------

/// The certificate's OIDC issuer: the deprecated raw extension sigstore-python's policy reads,
/// or else the DER UTF8String one.
pub(crate) fn oidc_issuer(leaf: &Cert) -> Option<String> {
    if let Some(ext) = leaf.extension(&OID_ISSUER_V1) {
        return String::from_utf8(ext.extn_value.as_bytes().to_vec()).ok();
    }
    let ext = leaf.extension(&OID_ISSUER_V2)?;
    String::from_der(ext.extn_value.as_bytes()).ok()
}

/// The certificate's identities: SAN e-mail addresses, URIs and Fulcio's otherName.
pub(crate) fn identities(leaf: &Cert) -> Result<Vec<String>, ModelSigError> {
    let san = leaf
        .subject_alt_name()
        .map_err(invalid)?
        .ok_or_else(|| ModelSigError::Identity("the certificate has no SAN".into()))?;
    let mut out = Vec::new();
    for name in san.0 {
        match name {
            GeneralName::Rfc822Name(s) => out.push(s.to_string()),
            GeneralName::UniformResourceIdentifier(s) => out.push(s.to_string()),
            GeneralName::OtherName(o) if o.type_id == OID_OTHERNAME_SAN => {
                if let Ok(s) = o.value.decode_as::<String>() {
                    out.push(s);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn check_identity(leaf: &Cert, identity: &str, issuer: &str) -> Result<(), ModelSigError> {
    let actual = oidc_issuer(leaf)
        .ok_or_else(|| ModelSigError::Identity("the certificate names no OIDC issuer".into()))?;
    if actual != issuer {
        return Err(ModelSigError::Identity(format!(
            "the certificate's OIDC issuer is `{}`, not `{issuer}`",
            actual.chars().take(200).collect::<String>()
        )));
    }
    let names = identities(leaf)?;
    if !names.iter().any(|n| n == identity) {
        return Err(ModelSigError::Identity(format!(
            "the certificate's identity is {}, not `{identity}`",
            names
                .iter()
                .map(|n| format!("`{}`", n.chars().take(200).collect::<String>()))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

// ---- The entry's body -------------------------------------------------------------------

fn body_mismatch(what: &str) -> ModelSigError {
    sig_error(format!(
        "the log entry is inconsistent with the bundle: {what}"
    ))
}

/// Whether `b64pem` (base64 of PEM text) holds the certificate `der`.
fn is_pem_of(b64pem: &str, der: &[u8]) -> bool {
    let Ok(pem) = Base64::decode_vec(b64pem) else {
        return false;
    };
    let Ok(pem) = std::str::from_utf8(&pem) else {
        return false;
    };
    let blocks = super::keys::pem_blocks(pem, "CERTIFICATE");
    blocks.len() == 1 && blocks.first().is_some_and(|b| b.as_slice() == der)
}

fn check_payload_hash(spec: &Map<String, Value>, payload: &[u8]) -> Result<(), ModelSigError> {
    let ph = obj(
        get(spec, "payloadHash", "the entry").map_err(body_mismatch_s)?,
        "payloadHash",
    )
    .map_err(body_mismatch_s)?;
    let alg = opt(ph, "algorithm").and_then(Value::as_str).unwrap_or("");
    if alg != "sha256" {
        return Err(body_mismatch("its payload hash is not SHA-256"));
    }
    let value = opt(ph, "value").and_then(Value::as_str).unwrap_or("");
    if value != super::keys::hex(&Sha256::digest(payload)) {
        return Err(body_mismatch("its payload hash is not the envelope's"));
    }
    Ok(())
}

fn body_mismatch_s(reason: String) -> ModelSigError {
    body_mismatch(&reason)
}

/// The entry's body matches the bundle: for `dsse` 0.0.1 the payload hash and the signatures
/// with their verifier (the signing certificate), as sigstore-python checks; for `intoto`
/// 0.0.2 the same fields of its envelope.
pub(crate) fn check_body(
    entry: &Entry,
    bundle: &Bundle,
    leaf_der: &[u8],
) -> Result<(), ModelSigError> {
    let body: Value =
        serde_json::from_slice(&entry.body).map_err(|_| body_mismatch("its body is not JSON"))?;
    let body = obj(&body, "the entry body").map_err(body_mismatch_s)?;
    let kind = opt(body, "kind").and_then(Value::as_str).unwrap_or("");
    let version = opt(body, "apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind != entry.kind || version != entry.version {
        return Err(body_mismatch("its body is of another kind than it says"));
    }
    let spec = obj(
        get(body, "spec", "the entry body").map_err(body_mismatch_s)?,
        "spec",
    )
    .map_err(body_mismatch_s)?;
    let env = &bundle.envelope;
    match (kind, version) {
        ("dsse", "0.0.1") => {
            check_payload_hash(spec, &env.payload)?;
            let sigs = get(spec, "signatures", "spec").map_err(body_mismatch_s)?;
            check_logged_signatures(sigs, env, leaf_der, "signature", "verifier", |s| {
                Base64::decode_vec(s).ok()
            })
        }
        ("intoto", "0.0.2") => {
            let content = obj(
                get(spec, "content", "spec").map_err(body_mismatch_s)?,
                "content",
            )
            .map_err(body_mismatch_s)?;
            check_payload_hash(content, &env.payload)?;
            let e = obj(
                get(content, "envelope", "content").map_err(body_mismatch_s)?,
                "envelope",
            )
            .map_err(body_mismatch_s)?;
            if opt(e, "payloadType").and_then(Value::as_str) != Some(env.payload_type.as_str()) {
                return Err(body_mismatch("its payload type is not the envelope's"));
            }
            let sigs = get(e, "signatures", "envelope").map_err(body_mismatch_s)?;
            // The intoto type stores the envelope's (base64) signature base64-encoded again.
            check_logged_signatures(sigs, env, leaf_der, "sig", "publicKey", |s| {
                let once = Base64::decode_vec(s).ok()?;
                Base64::decode_vec(std::str::from_utf8(&once).ok()?.trim()).ok()
            })
        }
        _ => Err(invalid(format!(
            "unsupported DSSE log entry type {kind}/{version}"
        ))),
    }
}

/// The signatures a log entry's body lists must be the envelope's, in order (`decode` turns a
/// listed signature into bytes), each with the signing certificate as its verifier.
fn check_logged_signatures(
    sigs: &Value,
    env: &super::bundle::Envelope,
    leaf_der: &[u8],
    sig_key: &str,
    verifier_key: &str,
    decode: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<(), ModelSigError> {
    let sigs = sigs
        .as_array()
        .ok_or_else(|| body_mismatch("its signatures are not a list"))?;
    if sigs.len() != env.signatures.len() {
        return Err(body_mismatch("it lists another number of signatures"));
    }
    for (logged, sig) in sigs.iter().zip(&env.signatures) {
        let logged = obj(logged, "a signature").map_err(body_mismatch_s)?;
        let s = opt(logged, sig_key).and_then(Value::as_str).unwrap_or("");
        if decode(s).as_deref() != Some(sig.as_slice()) {
            return Err(body_mismatch("its signatures are not the envelope's"));
        }
        let v = opt(logged, verifier_key)
            .and_then(Value::as_str)
            .unwrap_or("");
        if !is_pem_of(v, leaf_der) {
            return Err(body_mismatch("its verifier is not the signing certificate"));
        }
    }
    Ok(())
}

// ---- Verification -----------------------------------------------------------------------

/// The certificate chain of `leaf` to a Fulcio CA of `root` valid at `time`: the path, leaf
/// first.
fn chain_to_fulcio<'a>(
    leaf: &'a Cert,
    cas: &'a [(Vec<Cert>, TimeRange)],
    time: u64,
) -> Result<Vec<&'a Cert>, ModelSigError> {
    let mut last = None;
    for (certs, valid_for) in cas {
        if !valid_for.covers_secs(time) {
            continue;
        }
        match build_path(leaf, &[], certs, time, Anchoring::AnyAnchor) {
            Ok(path) => return Ok(path),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        sig_error(format!(
            "no certificate authority of the trusted root was valid at {time}"
        ))
    }))
}

/// Verifies a bundle's Sigstore material: certificate chain, SCT, identity, log entry. The
/// envelope's signature is the caller's to check, with [`Checked::key`].
pub fn verify(
    bundle: &Bundle,
    root: &TrustedRoot,
    identity: &str,
    issuer: &str,
) -> Result<Checked, ModelSigError> {
    let leaf_der = bundle
        .certificates
        .first()
        .ok_or_else(|| invalid("the bundle carries no signing certificate"))?;
    let leaf = Cert::parse(leaf_der, "the signing certificate")?;
    let [entry] = bundle.tlog_entries.as_slice() else {
        return Err(invalid(format!(
            "expected exactly one transparency log entry, found {}",
            bundle.tlog_entries.len()
        )));
    };
    let entry = Entry::from_value(entry)?;
    if entry.version != "0.0.1" && entry.version != "0.0.2" {
        return Err(invalid(format!(
            "unsupported log entry version {}",
            entry.version.chars().take(64).collect::<String>()
        )));
    }
    let has_timestamps = bundle
        .timestamp_data
        .as_ref()
        .and_then(|t| t.get("rfc3161Timestamps"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if has_timestamps && root.timestamp_authorities == 0 {
        return Err(sig_error(
            "the bundle carries signed timestamps and the trusted root has no timestamp authority",
        ));
    }
    // (0) The verified time: the integrated time, bound by the inclusion promise.
    if entry.promise.is_none() || entry.integrated_time == 0 {
        if entry.kind == "hashedrekord" && entry.version == "0.0.2" {
            return Err(invalid(
                "Rekor v2 log entries (timestamped by a timestamp authority) are not supported",
            ));
        }
        return Err(sig_error(
            "not enough sources of verified time: the log entry has no inclusion promise",
        ));
    }
    let supported = matches!(
        (entry.kind.as_str(), entry.version.as_str()),
        ("dsse", "0.0.1") | ("intoto", "0.0.2")
    );
    if !supported {
        return Err(invalid(format!(
            "unsupported DSSE log entry type {}/{}",
            entry.kind.chars().take(64).collect::<String>(),
            entry.version.chars().take(64).collect::<String>()
        )));
    }
    let time = entry.integrated_time;

    // (1) The chain to a Fulcio CA, at that time.
    let cas = root
        .certificate_authorities
        .iter()
        .map(|ca| {
            let certs = ca
                .certificates
                .iter()
                .map(|der| Cert::parse(der, "a CA certificate of the trusted root"))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((certs, ca.valid_for))
        })
        .collect::<Result<Vec<_>, ModelSigError>>()?;
    let path = chain_to_fulcio(&leaf, &cas, time)?;

    // (2) The SCT.
    verify_sct(&path, root)?;

    // (3) Usage, then the identity policy (issuer, then SAN).
    if leaf
        .basic_constraints()
        .map_err(invalid)?
        .is_some_and(|bc| bc.ca)
    {
        return Err(sig_error("the signing certificate is a CA certificate"));
    }
    check_signing_usage(&leaf, true)?;
    check_identity(&leaf, identity, issuer)?;

    // (4), (5) Inclusion proof, checkpoint, inclusion promise.
    let log = TrustedRoot::log(&root.tlogs, &entry.log_id).ok_or_else(|| {
        sig_error(format!(
            "the entry is from a transparency log the trusted root does not list ({})",
            super::keys::hex(&entry.log_id)
        ))
    })?;
    if !log.valid_for.covers_secs(time) {
        return Err(sig_error(
            "the log entry's time is outside its log key's validity",
        ));
    }
    verify_entry(&entry, log)?;

    // (6) The time within the certificate's validity (the chain check covered it).
    if !leaf.valid_at(time) {
        return Err(sig_error(
            "the signing certificate was not valid at the log entry's time",
        ));
    }

    // (8) The entry's body matches the bundle.
    check_body(&entry, bundle, leaf_der)?;

    Ok(Checked {
        key: leaf.public_key()?,
        identity: identity.to_string(),
        issuer: issuer.to_string(),
        integrated_time: time,
        log_index: Some(entry.log_index),
    })
}

#[cfg(test)]
#[path = "sigstore_tests.rs"]
mod sigstore_tests;
