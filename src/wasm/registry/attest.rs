//! `Registry.verifyAttestation`: an attestation verified (src/wasm/attest.rs) and its model
//! subjects checked against this registry's signed catalogue.

use wasm_bindgen::prelude::*;

use super::JsRegistry;
use crate::attest::{check_models, verified_json};
use crate::registry::RegistryError;
use crate::wasm::attest::verify_js;
use crate::wasm::error::{js_error, to_js, JsResult};

#[wasm_bindgen(js_class = Registry)]
impl JsRegistry {
    /// Verifies an attestation (as the free `verifyAttestation`) and checks that each model it
    /// names is a version this registry signs: the subject's sha256 is that version's signed
    /// sha256 (and, when the subject is named `models/NAME/VERSION/model.onnx`, that very
    /// version). Throws `ATTESTATION_SUBJECT` otherwise, `INVALID_STATE` before the first
    /// `refresh()`.
    ///
    /// ```js
    /// await registry.refresh();
    /// const { models } = registry.verifyAttestation(envelope, publicJwk);
    /// models[0]; // { role: "model", name: "digits", version: "2", signedBy: "targets", ... }
    /// ```
    #[wasm_bindgen(js_name = verifyAttestation, unchecked_return_type = "VerifiedAttestation")]
    pub fn verify_attestation(
        &self,
        #[wasm_bindgen(unchecked_param_type = "DsseEnvelope | string | Uint8Array")]
        envelope: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AttestationKeys")] keys: JsValue,
        #[wasm_bindgen(unchecked_param_type = "VerifyAttestationOptions | undefined")]
        options: JsValue,
    ) -> JsResult<JsValue> {
        let verified = verify_js(&envelope, &keys, &options)?;
        let cat = self.inner.reg.catalogue().ok_or_else(|| {
            js_error(&RegistryError::NotReady {
                reason: "call refresh() first".into(),
            })
        })?;
        let models = check_models(&verified, &cat).map_err(|e| js_error(&e))?;
        to_js(&verified_json(&verified, Some(&models)))
    }
}
