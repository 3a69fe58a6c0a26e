//! OpenSSF model-signing bundles from JavaScript ([`crate::modelsig`]): `verifyModelSignature`.

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::{bytes_of, coded_error, js_error, json_from_js, to_js, JsResult};
use crate::error::Code;
use crate::modelsig::{self, sigstore::TrustedRoot, x509, Bundle, Policy, PublicKey};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Who a model signature must come from: a public key (PEM text or DER bytes; ECDSA P-256 or
 * P-384, Ed25519), CA certificates (PEM) the bundle's chain must lead to, or a Sigstore
 * identity and OIDC issuer (with Sigstore's trusted_root.json, default the production root
 * built into the package). */
export type ModelSignaturePolicy =
  | { key: string | Uint8Array }
  | { ca: string | string[] }
  | { identity: string; issuer: string; trustedRoot?: string | Uint8Array | object };
/** A model signature that verified, with the manifest it signs. */
export interface VerifiedModelSignature {
  verified: true;
  method: "key" | "certificate" | "sigstore";
  /** The key's hint (SHA-256 of its PEM), the certificate's subject, or the Sigstore identity. */
  identity: string;
  issuer: string | null;
  /** Seconds since the epoch: Rekor's integrated time, or the certificate's notBefore. */
  signedAt: number | null;
  logIndex: number | null;
  /** Files or shards compared. */
  resources: number;
  manifest: {
    modelName: string;
    rootDigest: string | null;
    predicateType: string;
    serialization: { method: "files" | "shards"; shardSize: number | null; hashType: string;
      allowSymlinks: boolean; ignorePaths: string[] };
    resources: { name: string; sha256: string }[];
  };
}
"#;

fn bad_arg(message: &str) -> JsValue {
    coded_error(Code::InvalidArgument, message)
}

/// Bytes from a string (UTF-8), bytes, or a JSON object.
fn text_or_bytes(value: &JsValue, what: &str) -> JsResult<Vec<u8>> {
    if let Some(s) = value.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(b) = bytes_of(value) {
        return Ok(b);
    }
    if value.is_object() {
        let v: serde_json::Value = json_from_js(value, what)?;
        return serde_json::to_vec(&v).map_err(|e| bad_arg(&format!("{what}: {e}")));
    }
    Err(bad_arg(&format!(
        "{what}: expected a string, bytes or a JSON object"
    )))
}

fn get(obj: &JsValue, key: &str) -> JsResult<JsValue> {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).map_err(|_| bad_arg("policy: unreadable"))
}

/// A `ModelSignaturePolicy` (also `requireModelSignature` of `Registry.open` and `load`).
pub(crate) fn policy_of(value: &JsValue) -> JsResult<Policy> {
    if !value.is_object() {
        return Err(bad_arg(
            "policy: expected { key }, { ca } or { identity, issuer }",
        ));
    }
    let key = get(value, "key")?;
    if !key.is_undefined() {
        let bytes = text_or_bytes(&key, "policy.key")?;
        return PublicKey::from_spki(&bytes)
            .map(Policy::Key)
            .map_err(|e| js_error(&e));
    }
    let ca = get(value, "ca")?;
    if !ca.is_undefined() {
        let mut anchors = Vec::new();
        let items: Vec<JsValue> = if Array::is_array(&ca) {
            Array::from(&ca).iter().collect()
        } else {
            vec![ca]
        };
        for item in items {
            let text = item
                .as_string()
                .ok_or_else(|| bad_arg("policy.ca: expected PEM text"))?;
            anchors.extend(x509::anchors_from_pem(&text).map_err(|e| js_error(&e))?);
        }
        if anchors.is_empty() {
            return Err(bad_arg("policy.ca: no CERTIFICATE block"));
        }
        return Ok(Policy::Certificate { anchors });
    }
    let identity = get(value, "identity")?.as_string();
    let issuer = get(value, "issuer")?.as_string();
    if let (Some(identity), Some(issuer)) = (identity, issuer) {
        let root = get(value, "trustedRoot")?;
        let root = if root.is_undefined() || root.is_null() {
            modelsig::SIGSTORE_TRUSTED_ROOT.to_vec()
        } else {
            text_or_bytes(&root, "policy.trustedRoot")?
        };
        let trusted_root = TrustedRoot::from_json(&root).map_err(|e| js_error(&e))?;
        return Ok(Policy::Sigstore {
            trusted_root: Box::new(trusted_root),
            identity,
            issuer,
        });
    }
    Err(bad_arg(
        "policy: expected { key }, { ca } or { identity, issuer }",
    ))
}

/// The model's files: bytes (a one-file model), or an object or `Map` of relative path to
/// bytes (a directory).
fn files_of(model: &JsValue) -> JsResult<Vec<(String, Vec<u8>)>> {
    if let Some(b) = bytes_of(model) {
        return Ok(vec![(".".to_string(), b)]);
    }
    let entries: Array = if let Some(map) = model.dyn_ref::<js_sys::Map>() {
        Array::from(&map.entries().into())
    } else if model.is_object() {
        Object::entries(model.unchecked_ref())
    } else {
        return Err(bad_arg(
            "model: expected bytes, or an object of relative path to bytes",
        ));
    };
    if entries.length() as usize > modelsig::limits::RESOURCES {
        return Err(coded_error(
            Code::LimitExceeded,
            &format!("model: more than {} files", modelsig::limits::RESOURCES),
        ));
    }
    let mut out = Vec::with_capacity(entries.length() as usize);
    for entry in entries.iter() {
        let pair = Array::from(&entry);
        let path = pair
            .get(0)
            .as_string()
            .ok_or_else(|| bad_arg("model: a path is not a string"))?;
        let bytes = bytes_of(&pair.get(1))
            .ok_or_else(|| bad_arg(&format!("model: {path} is not bytes")))?;
        out.push((path, bytes));
    }
    Ok(out)
}

/// Verifies an OpenSSF model-signing bundle (what `model_signing sign` writes) for a model's
/// bytes: the signature under `policy`, then every file against the signed manifest.
///
/// ```js
/// const result = verifyModelSignature(modelBytes, await (await fetch("model.sig")).text(),
///   { identity: "alice@example.com", issuer: "https://accounts.example.com" });
/// result.identity; // "alice@example.com"
/// ```
///
/// Throws `MODEL_SIGNATURE_INVALID` (malformed bundle or statement), `MODEL_SIGNATURE` (a
/// signature, chain or log proof that does not verify), `MODEL_SIGNATURE_IDENTITY` (another
/// signer), `MODEL_SIGNATURE_MISMATCH` (the model's bytes differ), `LIMIT_EXCEEDED`,
/// `INVALID_ARGUMENT`.
#[wasm_bindgen(js_name = verifyModelSignature, unchecked_return_type = "VerifiedModelSignature")]
pub fn verify_model_signature(
    #[wasm_bindgen(
        unchecked_param_type = "Uint8Array | ArrayBuffer | Record<string, Uint8Array> | Map<string, Uint8Array>"
    )]
    model: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | object")] bundle: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ModelSignaturePolicy")] policy: JsValue,
) -> JsResult<JsValue> {
    let policy = policy_of(&policy)?;
    let bundle_bytes = text_or_bytes(&bundle, "bundle")?;
    let bundle = Bundle::from_json(&bundle_bytes).map_err(|e| js_error(&e))?;
    let files = files_of(&model)?;
    let verified = modelsig::verify_files(
        &bundle,
        &policy,
        files.iter().map(|(p, b)| (p.as_str(), b.as_slice())),
    )
    .map_err(|e| js_error(&e))?;
    to_js(&verified.to_json())
}
