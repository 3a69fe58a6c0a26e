//! Loading a model from a registry, the one use case behind `registry.load()` in JS and
//! `--registry` in the CLI: resolve the reference against the verified catalogue, fetch the
//! model (cache or network; every chunk through the signed length and hashes), load it with the
//! engine checked against the inputs and outputs its signed card declares, and, when asked,
//! check the card's evaluation gates on this device.

use serde_json::Value;

use super::AppError;
use crate::catalogue::{ModelCard, RolledBack, RolloutChoice, EVAL_SET_FILE};
use crate::clock::Clock;
use crate::engine::{Model, ModelPredictor, ModelSchema};
use crate::error::{Code, ErrorCode};
use crate::eval::gates::GateReport;
use crate::eval::{evaluate_model, DataFormat, EvalError, ModelIdentity, ReportContext};
use crate::fetch::Fetch;
use crate::modelsig::{Policy, VerifiedModel};
use crate::registry::{
    CacheWrite, Committed, FetchOptions, Fetched, Phase, Progress, Registry, Status,
};
use crate::store::Store;

/// Options of [`load`].
#[derive(Default, Clone, Copy)]
pub struct LoadOptions<'a> {
    /// Progress and cancellation of the download.
    pub fetch: FetchOptions<'a>,
    /// Check the card's evaluation gates on the signed evaluation set before returning
    /// ([`verify_gates`]).
    pub verify_gate: bool,
    /// Return a downloaded model as soon as the engine has loaded it, with the rest of its
    /// cache write in [`LoadedModel::cache_write`] for the caller to finish (in the
    /// background, in a browser). Otherwise `load` finishes it before returning.
    pub defer_cache_write: bool,
    /// The id staged rollouts bucket by (`None`: the registry's client id).
    pub client_id: Option<&'a str>,
    /// Called when a gated rollout's candidate failed on this device and the alias's own
    /// version was loaded instead (the choice, with [`RolloutChoice::rollback`] set).
    pub on_rollback: Option<&'a dyn Fn(&RolloutChoice)>,
    /// Require the version's author signature (its OpenSSF model-signing bundle) to verify
    /// under this policy before the engine loads the model ([`super::model_signature`]).
    pub model_signature: Option<&'a Policy>,
}

/// The cache write a [`load`] with [`LoadOptions::defer_cache_write`] left to finish, with the
/// verified bytes it writes.
#[derive(Debug)]
pub struct PendingCacheWrite {
    write: CacheWrite,
    bytes: Vec<u8>,
}

impl PendingCacheWrite {
    /// `name@version` being cached.
    pub fn label(&self) -> String {
        self.write.label()
    }

    /// Writes the rest and commits it as a cached version
    /// ([`Registry::finish_cache_write`]).
    pub async fn finish<F: Fetch, S: Store, C: Clock>(
        self,
        reg: &Registry<F, S, C>,
    ) -> Result<Committed, AppError> {
        Ok(reg
            .finish_cache_write(self.write, &self.bytes, None)
            .await?)
    }
}

/// A verified model, loaded.
#[derive(Debug)]
pub struct LoadedModel {
    /// The engine's model, checked against the card's schema.
    pub model: Model,
    /// What was fetched (name, version, alias, digest, source, the card as signed).
    pub fetched: Fetched,
    /// The signed card, parsed (`None` when the target carries none).
    pub card: Option<ModelCard>,
    /// How evaluation reports name this model: target path, signed digest, the reference.
    pub reported: ModelIdentity,
    /// The gate check, when [`LoadOptions::verify_gate`] asked for one (it passed).
    pub gates: Option<GateReport>,
    /// The cache write left to finish ([`LoadOptions::defer_cache_write`]).
    pub cache_write: Option<PendingCacheWrite>,
    /// The author signature, when [`LoadOptions::model_signature`] required one (it verified).
    pub model_signature: Option<VerifiedModel>,
}

impl LoadedModel {
    fn label(&self) -> String {
        format!("{}@{}", self.fetched.name, self.fetched.version)
    }
}

/// The `inputs`/`outputs` schema a signed card declares (`BAD_CARD` without one).
pub fn card_schema(card: Option<&Value>, model: &str) -> Result<ModelSchema, AppError> {
    let bad = |reason: String| AppError::BadCard {
        model: model.to_string(),
        reason,
    };
    let card = card.ok_or_else(|| bad("the target has no model card".into()))?;
    let pick = |k: &str| card.get(k).cloned().unwrap_or(Value::Null);
    let inputs = serde_json::from_value(pick("inputs"))
        .map_err(|e| bad(format!("`inputs` is not a list of tensor specs: {e}")))?;
    let outputs = serde_json::from_value(pick("outputs"))
        .map_err(|e| bad(format!("`outputs` is not a list of tensor specs: {e}")))?;
    Ok(ModelSchema { inputs, outputs })
}

/// Fetches the verified model `reference` names and loads it with the engine, checked against
/// the inputs and outputs its card declares (`BAD_CARD` if it declares none, `SCHEMA_MISMATCH`
/// if the graph differs); then, when asked, checks its gates ([`verify_gates`]).
///
/// When the reference goes through an alias whose staged rollout gives this client the
/// candidate and names a gate, the candidate must load and pass its signed gates on this
/// device; if it does not, the alias's own version (verified like every model) is loaded
/// instead, [`LoadOptions::on_rollback`] hears of it and `fetched.rollout.rollback` says why.
/// A failure that will not change on this device (a failed gate, a model or card the engine
/// refuses) is remembered in the store, so the candidate is not tried again; a record there is
/// untrusted, and all it can do is keep this client on the signed baseline.
pub async fn load<F: Fetch, S: Store, C: Clock>(
    reg: &Registry<F, S, C>,
    reference: &str,
    opts: LoadOptions<'_>,
) -> Result<LoadedModel, AppError> {
    let resolved = reg.resolve_as(reference, opts.client_id)?;
    let Some(choice) = resolved
        .rollout
        .clone()
        .filter(|c| c.gate && c.chosen != c.baseline)
    else {
        return load_resolved(reg, reference, opts).await;
    };
    let sha = resolved.model.sha256().unwrap_or_default();
    let failure = match remembered_rollback(reg, &sha, &choice.chosen).await {
        Some(r) => r,
        None => {
            let gated = LoadOptions {
                verify_gate: true,
                ..opts
            };
            let e = match load_resolved(reg, reference, gated).await {
                Ok(loaded) => return Ok(loaded),
                Err(e) if e.error_code() == Code::Aborted => return Err(e),
                Err(e) => e,
            };
            let r = RolledBack {
                from: choice.chosen.clone(),
                sha256: sha.clone(),
                code: e.code().to_string(),
                reason: e.to_string(),
                at: reg.now(),
                remembered: false,
            };
            if STICKY.contains(&e.error_code()) {
                remember_rollback(reg, &r).await;
            }
            r
        }
    };
    let baseline = format!("{}@{}", resolved.model.name, choice.baseline);
    let mut loaded = load_resolved(reg, &baseline, opts).await?;
    let mut choice = choice;
    choice.chosen = choice.baseline.clone();
    choice.rollback = Some(failure);
    if let Some(f) = opts.on_rollback {
        f(&choice);
    }
    loaded.fetched.alias = resolved.alias;
    loaded.fetched.rollout = Some(choice);
    loaded.reported.reference = Some(reference.to_string());
    Ok(loaded)
}

/// Failures of a rollout's candidate that will not change on this device.
const STICKY: &[Code] = &[
    Code::GateFailed,
    Code::SchemaMismatch,
    Code::UnsupportedModel,
    Code::BadModel,
    Code::BadCard,
    Code::InferenceFailed,
    Code::BadData,
];

fn rollback_key(sha: &str) -> String {
    format!("rollback/{sha}")
}

/// The stored record of a candidate that failed here, if one is stored and well formed.
async fn remembered_rollback<F: Fetch, S: Store, C: Clock>(
    reg: &Registry<F, S, C>,
    sha: &str,
    version: &str,
) -> Option<RolledBack> {
    let bytes = reg.cache().store().get(&rollback_key(sha)).await.ok()??;
    if bytes.len() > 64 << 10 {
        return None;
    }
    let mut r: RolledBack = serde_json::from_slice(&bytes).ok()?;
    if r.sha256 != sha || r.from != version {
        return None;
    }
    r.remembered = true;
    Some(r)
}

async fn remember_rollback<F: Fetch, S: Store, C: Clock>(reg: &Registry<F, S, C>, r: &RolledBack) {
    if let Ok(bytes) = serde_json::to_vec(r) {
        // Not remembering only means the candidate is tried again next time.
        let _ = reg
            .cache()
            .store()
            .put(&rollback_key(&r.sha256), &bytes)
            .await;
    }
}

/// [`load`] of the version `reference` resolves to, with no rollout fallback.
async fn load_resolved<F: Fetch, S: Store, C: Clock>(
    reg: &Registry<F, S, C>,
    reference: &str,
    opts: LoadOptions<'_>,
) -> Result<LoadedModel, AppError> {
    let mut bytes = Vec::new();
    let (fetched, write) = reg
        .fetch_model_verified_as(reference, opts.client_id, &mut bytes, opts.fetch)
        .await?;
    // The engine loads the verified bytes (and the gates run) before the cache write ends,
    // so a caller that defers the write has its model without waiting for the store.
    let loaded = load_verified(reg, reference, fetched, &bytes, opts).await;
    match (loaded, write) {
        (Ok(mut loaded), Some(write)) if opts.defer_cache_write => {
            loaded.cache_write = Some(PendingCacheWrite { write, bytes });
            Ok(loaded)
        }
        (Ok(loaded), Some(write)) => {
            reg.finish_cache_write(write, &bytes, opts.fetch.abort)
                .await?;
            Ok(loaded)
        }
        (Err(e), Some(write)) => {
            // The verified bytes are cached even when the model is refused here (a bad card,
            // a schema mismatch, a failed gate): the error is the caller's news, not the
            // cache's.
            let _ = reg
                .finish_cache_write(write, &bytes, opts.fetch.abort)
                .await;
            Err(e)
        }
        (result, None) => result,
    }
}

/// [`load`] once the verified bytes are here: the engine, the card, the gates.
async fn load_verified<F: Fetch, S: Store, C: Clock>(
    reg: &Registry<F, S, C>,
    reference: &str,
    fetched: Fetched,
    bytes: &[u8],
    opts: LoadOptions<'_>,
) -> Result<LoadedModel, AppError> {
    let label = format!("{}@{}", fetched.name, fetched.version);
    let schema = card_schema(fetched.card.as_ref(), &label)?;
    let compile = |status, loaded| {
        if let Some(p) = opts.fetch.progress {
            let total = bytes.len() as u64;
            p(&Progress::new(
                Phase::Compile,
                status,
                loaded,
                total,
                fetched.source,
            ));
        }
    };
    let model_signature = match opts.model_signature {
        Some(policy) => Some(
            super::model_signature::verify_fetched(reg, &fetched, bytes, policy, opts.fetch)
                .await?,
        ),
        None => None,
    };
    compile(Status::Initiate, 0);
    let model = Model::load(bytes, Some(&schema))?;
    compile(Status::Done, bytes.len() as u64);
    let card = match &fetched.card {
        None => None,
        Some(v) => Some(
            ModelCard::from_value(v).map_err(|reason| AppError::BadCard {
                model: label.clone(),
                reason,
            })?,
        ),
    };
    let reported = ModelIdentity {
        target_path: fetched.path.clone(),
        sha256: fetched.sha256.clone(),
        reference: Some(reference.to_string()),
    };
    let mut loaded = LoadedModel {
        model,
        fetched,
        card,
        reported,
        gates: None,
        cache_write: None,
        model_signature,
    };
    if opts.verify_gate {
        loaded.gates = Some(verify_gates(reg, &loaded, opts.fetch).await?);
    }
    Ok(loaded)
}

/// Checks the evaluation gates the signed card of a loaded model declares: fetches the
/// version's signed evaluation set (the card's `files.evaluation_set`, else `eval.csv`;
/// verified like every target), evaluates the model on it on this device and compares each
/// gated metric. Errors: `GATE_FAILED` with the measured numbers, `BAD_CARD` when the card
/// declares no gates or names an evaluation set outside the version, and the fetch and
/// evaluation errors (`MODEL_NOT_FOUND` for a missing set, `BAD_DATA`, ...).
pub async fn verify_gates<F: Fetch, S: Store, C: Clock>(
    reg: &Registry<F, S, C>,
    loaded: &LoadedModel,
    opts: FetchOptions<'_>,
) -> Result<GateReport, AppError> {
    let label = loaded.label();
    let bad = |reason: String| AppError::BadCard {
        model: label.clone(),
        reason,
    };
    let card = loaded
        .card
        .as_ref()
        .ok_or_else(|| bad("the target has no model card".into()))?;
    if card.gates.is_empty() {
        return Err(bad(
            "a gate check was asked for, but the card declares no gates".into(),
        ));
    }
    let dir = format!("models/{}/{}/", loaded.fetched.name, loaded.fetched.version);
    let file = match card.files.get("evaluation_set") {
        None => EVAL_SET_FILE.to_string(),
        Some(path) => path
            .strip_prefix(&dir)
            .filter(|f| !f.is_empty() && !f.contains('/'))
            .ok_or_else(|| bad(format!("evaluation set {path:?} is not a file of {dir}")))?
            .to_string(),
    };
    let mut data = Vec::new();
    reg.fetch_file_into(&label, &file, &mut data, opts).await?;
    let mut cfg = card.eval_config();
    cfg.gates = card.gates.clone();
    if file.ends_with(".json") {
        cfg.format = DataFormat::Json;
    }
    let eval_err = |source: EvalError| AppError::Evaluation {
        model: label.clone(),
        source,
    };
    let mut predictor = ModelPredictor::new(&loaded.model, cfg.task)?;
    // Latency is not part of a gate: no clock needed.
    let mut timer = || 0.0;
    let report = evaluate_model(
        cfg,
        None,
        &data,
        &mut predictor,
        &mut timer,
        ReportContext::default(),
    )
    .map_err(eval_err)?;
    let gates = report
        .gates
        .ok_or_else(|| eval_err(EvalError::GateFailed { failures: vec![] }))?;
    if !gates.passed {
        let failures = gates.results.into_iter().filter(|g| !g.passed).collect();
        return Err(eval_err(EvalError::GateFailed { failures }));
    }
    Ok(gates)
}
