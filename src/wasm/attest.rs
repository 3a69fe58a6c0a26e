//! Signed evaluation attestations from JavaScript: the statement of a report, DSSE's PAE and
//! envelope assembly (JS signs with WebCrypto between the two: js/attest.js), key ids, and
//! verification ([`crate::attest`]). `Registry.verifyAttestation` (src/wasm/registry/attest.rs)
//! also checks the model against the registry's catalogue.

use js_sys::{Array, Reflect};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::{bytes_of, coded_error, js_error, json_from_js, to_js, JsResult};
use crate::attest::{
    self, Envelope, EnvelopeSignature, StatementOptions, TrustedKeys, VerifiedAttestation,
    MAX_SIGNATURES,
};
use crate::error::Code;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A DSSE envelope (base64 payload and signatures). */
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}
/** A subject of an in-toto statement: the model, the evaluation data, the challenger. */
export interface AttestationSubjectDescriptor {
  name: string;
  digest: { sha256: string };
  annotations?: { role: "model" | "data" | "challenger" };
}
/** The in-toto Statement v1 of an evaluation report. `predicate` is the report document
 * (snake_case keys, as `edge-registry eval --out` writes it) with `engine`, `environment` and,
 * when given, `registry`. */
export interface AttestationStatement {
  _type: "https://in-toto.io/Statement/v1";
  subject: AttestationSubjectDescriptor[];
  predicateType: "https://edge-registry.dev/attestation/evaluation/v1";
  predicate: Record<string, any>;
}
/** Options of `attestationStatement`. */
export interface AttestationStatementOptions {
  /** The data subject's name (default `data.csv` / `data.json`). */
  dataName?: string;
  /** The registry the model came from (e.g. `{ url }`), written as `predicate.registry`. */
  registry?: Record<string, unknown>;
}
/** A public key as TUF metadata lists it. */
export interface TufKey { keytype: string; scheme: string; keyval: { public: string } }
/** A key attestations are verified with: a TUF key object or a public JWK (EC P-256, OKP
 * Ed25519). */
export type AttestationKey = TufKey | JsonWebKey;
/** One key, a list, a JWK Set, or a TUF `keys` map (key id to key). */
export type AttestationKeys = AttestationKey | AttestationKey[] | { keys: JsonWebKey[] } | Record<string, TufKey>;
/** Options of `verifyAttestation`. */
export interface VerifyAttestationOptions {
  /** Distinct trusted keys that must have signed (default 1). */
  threshold?: number;
}
/** A model subject found in the registry. */
export interface AttestationModelMatch {
  role: "model" | "challenger";
  subject: string;
  name: string;
  version: string;
  path: string;
  sha256: string;
  signedBy: string;
}
/** A verified attestation. */
export interface VerifiedAttestation {
  payloadType: "application/vnd.in-toto+json";
  /** Key ids (TUF style) of the trusted keys whose signature verified. */
  keyids: string[];
  subjects: { name: string; sha256: string | null; role: string | null }[];
  predicateType: string;
  statement: AttestationStatement;
  /** With a registry: each model subject's signed version. */
  models?: AttestationModelMatch[];
}
"#;

fn bad_arg(message: &str) -> JsValue {
    coded_error(Code::InvalidArgument, message)
}

/// The statement of an evaluation report (the JS API's report or the CLI's document).
///
/// ```js
/// const statement = attestationStatement(report, { dataName: "test.csv" });
/// statement.subject[0]; // { name: "models/digits/2/model.onnx", digest: { sha256 }, ... }
/// ```
#[wasm_bindgen(js_name = attestationStatement, unchecked_return_type = "AttestationStatement")]
pub fn attestation_statement(
    #[wasm_bindgen(unchecked_param_type = "EvalReport")] report: JsValue,
    #[wasm_bindgen(unchecked_param_type = "AttestationStatementOptions | undefined")]
    options: JsValue,
) -> JsResult<JsValue> {
    let report: Value = json_from_js(&report, "report")?;
    let options: Value = if options.is_undefined() || options.is_null() {
        Value::Null
    } else {
        json_from_js(&options, "options")?
    };
    let opts = StatementOptions {
        data_name: options
            .get("dataName")
            .and_then(Value::as_str)
            .map(str::to_string),
        registry: options.get("registry").filter(|r| !r.is_null()).cloned(),
    };
    let st = attest::statement_from_json(&report, &opts).map_err(|e| js_error(&e))?;
    to_js(&st)
}

/// DSSE's pre-authentication encoding of a payload: the bytes a signature is made over.
///
/// ```js
/// const message = pae("application/vnd.in-toto+json", payloadBytes);
/// ```
#[wasm_bindgen]
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    attest::pae(payload_type, payload)
}

/// A public key (a JWK such as WebCrypto's `exportKey("jwk", publicKey)`, a TUF key object,
/// or SubjectPublicKeyInfo bytes) as a TUF key object with its key id (SHA-256 of the
/// canonical key, as securesystemslib computes it). Throws `INVALID_ARGUMENT`.
///
/// ```js
/// const { keyid, key } = attestationKey(await crypto.subtle.exportKey("jwk", publicKey));
/// ```
#[wasm_bindgen(
    js_name = attestationKey,
    unchecked_return_type = "{ keyid: string; key: TufKey }"
)]
pub fn attestation_key(
    #[wasm_bindgen(unchecked_param_type = "AttestationKey | Uint8Array | ArrayBuffer")]
    key: JsValue,
) -> JsResult<JsValue> {
    let tuf = match bytes_of(&key) {
        Some(b) => attest::tuf_key_from_spki(&b),
        None => attest::tuf_key(&json_from_js::<Value>(&key, "key")?),
    }
    .map_err(|e| js_error(&e))?;
    let keyid = attest::key_id(&tuf).map_err(|e| js_error(&e))?;
    to_js(&json!({"keyid": keyid, "key": tuf}))
}

/// The DSSE envelope of an in-toto statement's bytes and its signatures (each made over
/// `pae("application/vnd.in-toto+json", payload)`; raw bytes: P1363 `r || s` for ECDSA).
///
/// ```js
/// const envelope = assembleEnvelope(payload, [{ keyid, sig: new Uint8Array(signature) }]);
/// ```
#[wasm_bindgen(js_name = assembleEnvelope, unchecked_return_type = "DsseEnvelope")]
pub fn assemble_envelope(
    payload: &[u8],
    #[wasm_bindgen(unchecked_param_type = "{ keyid?: string; sig: Uint8Array | ArrayBuffer }[]")]
    signatures: JsValue,
) -> JsResult<JsValue> {
    let list = signatures
        .dyn_ref::<Array>()
        .ok_or_else(|| bad_arg("signatures must be an array of { keyid, sig }"))?;
    if list.length() as usize > MAX_SIGNATURES {
        return Err(bad_arg(&format!(
            "at most {MAX_SIGNATURES} signatures per envelope"
        )));
    }
    let mut sigs = Vec::new();
    for item in list.iter() {
        let keyid = Reflect::get(&item, &JsValue::from_str("keyid"))
            .ok()
            .and_then(|k| k.as_string())
            .unwrap_or_default();
        let sig = Reflect::get(&item, &JsValue::from_str("sig"))
            .ok()
            .and_then(|s| bytes_of(&s))
            .ok_or_else(|| bad_arg("each signature needs sig: a Uint8Array or ArrayBuffer"))?;
        sigs.push(EnvelopeSignature { keyid, sig });
    }
    to_js(&Envelope::new(payload.to_vec(), sigs).to_value())
}

/// Reads the `verifyAttestation` arguments and verifies the envelope.
pub(crate) fn verify_js(
    envelope: &JsValue,
    keys: &JsValue,
    options: &JsValue,
) -> JsResult<VerifiedAttestation> {
    let bytes = if let Some(text) = envelope.as_string() {
        text.into_bytes()
    } else if let Some(b) = bytes_of(envelope) {
        b
    } else if envelope.is_object() {
        js_sys::JSON::stringify(envelope)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| bad_arg("envelope: not JSON-serialisable"))?
            .into_bytes()
    } else {
        return Err(bad_arg(
            "envelope must be a DSSE envelope object, its JSON text or bytes",
        ));
    };
    let keys: Value = json_from_js(keys, "keys")?;
    let keys = TrustedKeys::from_value(&keys).map_err(|e| js_error(&e))?;
    let threshold = if options.is_object() {
        let t = Reflect::get(options, &JsValue::from_str("threshold")).unwrap_or_default();
        if t.is_undefined() || t.is_null() {
            1
        } else {
            match t.as_f64() {
                Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= 1e6 => n as u64,
                _ => return Err(bad_arg("options.threshold must be a positive integer")),
            }
        }
    } else {
        1
    };
    attest::verify_envelope(&bytes, &keys, threshold).map_err(|e| js_error(&e))
}

/// Verifies an attestation: the envelope, the in-toto statement, and signatures of at least
/// `threshold` distinct trusted keys (Ed25519, or ECDSA P-256 with DER or P1363 signatures).
/// Throws `ATTESTATION_INVALID`, `ATTESTATION_SIGNATURE`, `LIMIT_EXCEEDED` or
/// `INVALID_ARGUMENT`. To also check the model against a registry, call
/// `registry.verifyAttestation(...)` (or attest.js's `verifyAttestation` with `{ registry }`).
///
/// ```js
/// const verified = verifyAttestation(envelope, publicJwk, { threshold: 1 });
/// verified.subjects; // [{ name, sha256, role: "model" }, { ..., role: "data" }]
/// ```
#[wasm_bindgen(js_name = verifyAttestation, unchecked_return_type = "VerifiedAttestation")]
pub fn verify_attestation(
    #[wasm_bindgen(unchecked_param_type = "DsseEnvelope | string | Uint8Array")] envelope: JsValue,
    #[wasm_bindgen(unchecked_param_type = "AttestationKeys")] keys: JsValue,
    #[wasm_bindgen(unchecked_param_type = "VerifyAttestationOptions | undefined")] options: JsValue,
) -> JsResult<JsValue> {
    let v = verify_js(&envelope, &keys, &options)?;
    to_js(&attest::verified_json(&v, None))
}
