//! A model's author signature beside its registry signature: a version may carry an OpenSSF
//! model-signing bundle (`model.sig`, what `model_signing sign model.onnx` writes; published
//! with `edge-registry publish --model-signature`), and a client may require one by policy
//! ([`crate::modelsig::Policy`]): the model must then be both in the signed registry and signed
//! by its author.
//!
//! The bundle is fetched like every signed file of the version (length and hash from the
//! targets metadata) and kept in the registry's store by its signed SHA-256, so an offline load
//! of a cached model can check it too (a stored copy is re-hashed before use: the store is
//! untrusted); then it is verified against the policy and the model's verified bytes.

use super::AppError;
use crate::clock::Clock;
use crate::fetch::Fetch;
use crate::modelsig::{self, Bundle, ModelSigError, Policy, VerifiedModel};
use crate::registry::{FetchOptions, Fetched, Registry};
use crate::store::Store;

/// The file of a version that holds its model-signing bundle.
pub const MODEL_SIGNATURE_FILE: &str = "model.sig";

/// Checks the bundle `bytes` against the model file alone: a registry version's model is one
/// file, so its signature must sign exactly that file (`model_signing sign model.onnx`).
pub fn verify_model_file(
    bundle: &[u8],
    policy: Option<&Policy>,
    model: &[u8],
) -> Result<Option<VerifiedModel>, ModelSigError> {
    let bundle = Bundle::from_json(bundle)?;
    let Some(policy) = policy else {
        // The publisher's check: the manifest, without a signer to trust.
        let manifest = modelsig::Manifest::from_statement(&bundle.envelope.payload)?;
        single_file(&manifest)?;
        let mut checker = manifest.checker();
        checker.add_bytes(".", model)?;
        checker.finish()?;
        return Ok(None);
    };
    let signature = modelsig::verify_signature(&bundle, policy)?;
    single_file(&signature.manifest)?;
    let mut checker = signature.manifest.checker();
    checker.add_bytes(".", model)?;
    let resources = checker.finish()?;
    Ok(Some(VerifiedModel {
        signature,
        resources,
    }))
}

fn single_file(manifest: &modelsig::Manifest) -> Result<(), ModelSigError> {
    if manifest.is_single_file() {
        return Ok(());
    }
    Err(ModelSigError::Mismatch(format!(
        "the bundle signs a directory ({} files, such as {:?}); a registry model's signature \
         must sign the model file itself (model_signing sign model.onnx)",
        manifest.resources.len(),
        manifest
            .resources
            .first()
            .map(|r| r.name.as_str())
            .unwrap_or_default()
    )))
}

/// Fetches the version's bundle and verifies it against `policy` and the model's verified
/// bytes. `MODEL_SIGNATURE_REQUIRED` when the version carries none.
pub async fn verify_fetched<F: Fetch, S: Store, C: Clock>(
    reg: &Registry<F, S, C>,
    fetched: &Fetched,
    model: &[u8],
    policy: &Policy,
    opts: FetchOptions<'_>,
) -> Result<VerifiedModel, AppError> {
    let label = format!("{}@{}", fetched.name, fetched.version);
    let resolved = reg.resolve(&label)?;
    if !resolved.model.files.contains_key(MODEL_SIGNATURE_FILE) {
        return Err(ModelSigError::Required(format!(
            "{label} carries no model signature ({MODEL_SIGNATURE_FILE}) and the policy requires \
             one"
        ))
        .into());
    }
    let signed = resolved
        .model
        .files
        .get(MODEL_SIGNATURE_FILE)
        .map(|f| (f.target.hashes.get("sha256").cloned(), f.target.length));
    let stored = match &signed {
        Some((Some(sha), length)) => reg
            .cache()
            .get_signed_file(sha, *length)
            .await
            .ok()
            .flatten(),
        _ => None,
    };
    let bundle = match stored {
        Some(bytes) => bytes,
        None => {
            let mut bytes = Vec::new();
            let target = reg
                .fetch_file_into(&label, MODEL_SIGNATURE_FILE, &mut bytes, opts)
                .await?;
            if let Some(sha) = target.hashes.get("sha256") {
                // Not keeping it only means an offline load cannot check it.
                let _ = reg.cache().put_signed_file(sha, &bytes).await;
            }
            bytes
        }
    };
    let verified = verify_model_file(&bundle, Some(policy), model)?;
    verified.ok_or_else(|| ModelSigError::Required(label).into())
}
