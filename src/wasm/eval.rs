//! Local evaluation from JavaScript: `model.evaluate`, `model.evaluation` (streaming),
//! `model.compare`, `evaluatePredictions`. Reports are plain objects parsed from the same JSON the
//! CLI writes, so the two agree field for field.

use js_sys::{Function, Reflect, Uint8Array};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::{coded_error, js_error, json_from_js, JsResult};
use crate::app::{Evaluation, Subject};
use crate::catalogue::ModelCard;
use crate::error::Code;
use crate::eval::gates::GateSpec;
use crate::eval::{BadRowPolicy, DataFormat, EvalConfig, PredictionColumns, Profile, TaskKind};
use crate::registry::{AbortFlag, RegistryError};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options of an evaluation. Every field is optional when the model has a card. */
export interface EvalOptions {
  /** "classification" or "regression" (default: the card's task). */
  task?: "classification" | "regression";
  /** The label column (default: the card's label_column, else "target"). */
  label?: string;
  /** Feature columns in the model's input order (default: the card's feature_names). */
  features?: string[];
  /** Columns to slice every metric by. */
  slices?: string[];
  /** An id column echoed in bad-row reports. */
  id?: string;
  /** Class labels in index order (default: the card's labels). */
  classes?: string[];
  /** Scoring predictions without a model: probability columns, one per class. */
  proba?: string[];
  /** Scoring predictions without a model: a predicted-label column. */
  pred?: string;
  /** Scoring predictions without a model: a predicted-value column (regression). */
  value?: string;
  /** "csv" (default) or "json". */
  format?: "csv" | "json";
  /** A reference data profile (the object or its JSON text) for quality and drift checks. */
  profile?: object | string;
  /** Columns checked for drift (default: the features). */
  driftColumns?: string[];
  /** Gates: { metric, min?, max? }. */
  gates?: { metric: string; min?: number; max?: number }[];
  /** k values for top-k accuracy (default [2]). */
  topK?: number[];
  /** Rows per inference batch (default 256). */
  batchSize?: number;
  /** "skip" (default) or "fail" on a bad row. */
  onBadRow?: "skip" | "fail";
  /** Slice flagging margin (default 0.05). */
  sliceMargin?: number;
  /** Add a mergeable summary to the report (`report.summary`), for `mergeReports`. */
  summary?: boolean;
  /** Add local differential privacy noise with this epsilon to the summary (implies
   * `summary`; classification only). The epsilon is recorded in `summary.privacy`. */
  epsilon?: number;
  /** Called as the data is read: { phase: "evaluate", status, loaded, total, rowsRead, ... }
   * (`registry.compare` also reports its models' loads here, as `ProgressInfo`s). */
  onProgress?: (p: EvalProgress | ProgressInfo) => void;
  /** Cancels `evaluate`/`compare` (not the synchronous forms): they reject with the signal's
   * reason, stopping within one 64 KiB chunk of data. */
  signal?: AbortSignal;
}
/** Progress of an evaluation (`loaded` and `bytes`: bytes of data read so far). */
export interface EvalProgress { phase: "evaluate"; status: "initiate" | "progress" | "done"; loaded: number; bytes: number; total: number; rowsRead: number; rowsUsed: number; rowsSkipped: number; }
/** An evaluation report: the document `edge-registry eval --out` writes, with camelCase keys
 * (`data.rowsUsed`, `results.classification.balancedAccuracy`); `reportDocument(report)`
 * (report.js, re-exported by every entry) gives the document itself. */
export type EvalReport = Record<string, any>;
/** The outcome of a model card's evaluation gates on its signed evaluation set. */
export interface GateReport {
  passed: boolean;
  results: { metric: string; value: number | null; min?: number; max?: number; passed: boolean; reason?: string }[];
}
"#;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EvalOptions {
    task: Option<TaskKind>,
    label: Option<String>,
    features: Option<Vec<String>>,
    slices: Vec<String>,
    id: Option<String>,
    classes: Option<Vec<String>>,
    proba: Vec<String>,
    pred: Option<String>,
    value: Option<String>,
    format: Option<String>,
    profile: Option<serde_json::Value>,
    drift_columns: Option<Vec<String>>,
    gates: Vec<GateSpec>,
    top_k: Option<Vec<usize>>,
    batch_size: Option<usize>,
    on_bad_row: Option<String>,
    slice_margin: Option<f64>,
    summary: Option<bool>,
    epsilon: Option<f64>,
}

/// Parsed options: the evaluation configuration, a profile, and the progress callback.
pub(crate) struct Prepared {
    pub config: EvalConfig,
    pub profile: Option<Profile>,
    pub on_progress: Option<Function>,
    /// Privacy noise for the summary.
    pub epsilon: Option<f64>,
}

fn invalid(msg: impl AsRef<str>) -> JsValue {
    coded_error(Code::InvalidArgument, msg.as_ref())
}

/// Builds the configuration from JS options over the card's defaults.
pub(crate) fn prepare(options: &JsValue, card: Option<&ModelCard>) -> JsResult<Prepared> {
    let on_progress = if options.is_object() {
        Reflect::get(options, &"onProgress".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    } else {
        None
    };
    let opts: EvalOptions = if options.is_undefined() || options.is_null() {
        EvalOptions::default()
    } else {
        // JSON.stringify drops onProgress (a function) and refuses cycles; serde_json then
        // bounds the nesting of a profile given as an object.
        json_from_js(options, "evaluation options")?
    };
    let mut cfg = match card {
        Some(c) => c.eval_config(),
        None => EvalConfig::new(
            opts.task.unwrap_or(TaskKind::Classification),
            opts.label.as_deref().unwrap_or("target"),
        ),
    };
    if let Some(t) = opts.task {
        cfg.task = t;
    }
    if let Some(l) = opts.label {
        cfg.columns.label = l;
    }
    if let Some(f) = opts.features {
        cfg.columns.features = f;
    }
    cfg.columns.slices = opts.slices;
    cfg.columns.id = opts.id;
    if let Some(c) = opts.classes {
        cfg.classes = Some(c);
    }
    if !opts.proba.is_empty() || opts.pred.is_some() || opts.value.is_some() {
        cfg.predictions = Some(PredictionColumns {
            proba: opts.proba,
            label: opts.pred,
            value: opts.value,
        });
        if cfg.predictions.as_ref().is_some_and(|p| p.value.is_some()) && opts.task.is_none() {
            cfg.task = TaskKind::Regression;
        }
    }
    cfg.format = match opts.format.as_deref() {
        None | Some("csv") => DataFormat::Csv,
        Some("json") => DataFormat::Json,
        Some(other) => return Err(invalid(format!("format must be csv or json, got {other}"))),
    };
    cfg.drift_columns = opts.drift_columns;
    cfg.gates = opts.gates;
    if let Some(k) = opts.top_k {
        cfg.metrics.top_k = k;
    }
    if let Some(b) = opts.batch_size {
        cfg.batch_size = b;
    }
    cfg.bad_rows = match opts.on_bad_row.as_deref() {
        None | Some("skip") => BadRowPolicy::Skip,
        Some("fail") => BadRowPolicy::Fail,
        Some(other) => {
            return Err(invalid(format!(
                "onBadRow must be skip or fail, got {other}"
            )))
        }
    };
    if let Some(m) = opts.slice_margin {
        cfg.slices.margin = m;
    }
    cfg.summary = opts.summary.unwrap_or(false) || opts.epsilon.is_some();
    let profile = match opts.profile {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => {
            Some(Profile::from_json(text.as_bytes()).map_err(|e| js_error(&e))?)
        }
        Some(v) => Some(Profile::from_json(v.to_string().as_bytes()).map_err(|e| js_error(&e))?),
    };
    Ok(Prepared {
        config: cfg,
        profile,
        on_progress,
        epsilon: opts.epsilon,
    })
}

/// Data from JS: bytes or text.
pub(crate) fn data_bytes(data: &JsValue) -> JsResult<Vec<u8>> {
    if let Some(s) = data.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(a) = data.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    if let Some(b) = data.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(Uint8Array::new(b).to_vec());
    }
    Err(invalid("data must be a string, Uint8Array or ArrayBuffer"))
}

/// Milliseconds from `performance.now()` (or `Date.now()` where there is no `performance`).
pub(crate) fn now_ms() -> f64 {
    let perf = Reflect::get(&js_sys::global(), &"performance".into()).ok();
    if let Some(p) = perf.filter(|p| p.is_object()) {
        if let Ok(f) = Reflect::get(&p, &"now".into()).and_then(|f| f.dyn_into::<Function>()) {
            if let Some(t) = f.call0(&p).ok().and_then(|v| v.as_f64()) {
                return t;
            }
        }
    }
    js_sys::Date::now()
}

/// The context stamped on a report made in JS.
/// Now, as RFC 3339 (the report's `time`).
pub(crate) fn now_iso() -> String {
    js_sys::Date::new_0()
        .to_iso_string()
        .as_string()
        .unwrap_or_default()
}

fn runtime_name() -> String {
    let g = js_sys::global();
    let has = |name: &str| Reflect::has(&g, &name.into()).unwrap_or(false);
    if has("Deno") {
        "deno".into()
    } else if Reflect::get(&g, &"process".into())
        .ok()
        .filter(|p| p.is_object())
        .and_then(|p| Reflect::get(&p, &"versions".into()).ok())
        .and_then(|v| Reflect::get(&v, &"node".into()).ok())
        .is_some_and(|n| n.is_string())
    {
        "node".into()
    } else if has("WorkerGlobalScope") {
        "web-worker".into()
    } else if has("window") {
        "browser".into()
    } else {
        "wasm".into()
    }
}

/// A report as JS sees it: the CLI's document with camelCase keys.
pub(crate) fn report_to_js(report: &crate::eval::Report) -> JsResult<JsValue> {
    js_sys::JSON::parse(&report.to_json_camel())
}

/// An evaluation progress event: `{ phase: "evaluate", status, loaded, total, bytes, rowsRead,
/// rowsUsed, rowsSkipped }` (`loaded` and `bytes` are the same count; `total` is 0 when a
/// stream's length is not known).
fn progress_to_js(p: &crate::eval::EvalProgress, total: usize, status: &str) -> JsValue {
    let o = js_sys::Object::new();
    let _ = Reflect::set(&o, &"phase".into(), &"evaluate".into());
    let _ = Reflect::set(&o, &"status".into(), &status.into());
    for (k, v) in [
        ("loaded", p.bytes as f64),
        ("bytes", p.bytes as f64),
        ("total", total as f64),
        ("rowsRead", p.rows_read as f64),
        ("rowsUsed", p.rows_used as f64),
        ("rowsSkipped", p.rows_skipped as f64),
    ] {
        let _ = Reflect::set(&o, &k.into(), &v.into());
    }
    o.into()
}

const CHUNK: usize = 1 << 20;

/// Runs a whole evaluation of `subject` over `data` ([`Evaluation`]), reporting progress per
/// 1 MiB chunk.
pub(crate) fn run_evaluation(
    prepared: Prepared,
    data: &[u8],
    subject: Subject,
) -> JsResult<JsValue> {
    let Prepared {
        config,
        profile,
        on_progress,
        epsilon,
    } = prepared;
    let mut run = Evaluation::new(config, profile.as_ref(), subject).map_err(|e| js_error(&e))?;
    let mut timer = now_ms;
    for chunk in data.chunks(CHUNK) {
        run.push(chunk, &mut timer).map_err(|e| js_error(&e))?;
        if let Some(f) = &on_progress {
            let _ = f.call1(
                &JsValue::NULL,
                &progress_to_js(&run.progress(), data.len(), "progress"),
            );
        }
    }
    finish_evaluation(run, &on_progress, data.len(), epsilon)
}

/// The chunk size of [`run_evaluation_async`]: small enough that one chunk's inference
/// rarely takes long, so the event loop is reached often.
const ASYNC_CHUNK: usize = 64 << 10;

/// How long [`run_evaluation_async`] computes before it lets the event loop run (timers,
/// messages, an `AbortSignal`'s listeners, painting).
const YIELD_AFTER_MS: f64 = 40.0;

/// [`run_evaluation`] that yields to the event loop every [`YIELD_AFTER_MS`] of work and stops
/// with `ABORTED` once `abort` is set (checked between chunks, so CPU work stops within one
/// chunk of the signal).
pub(crate) async fn run_evaluation_async(
    prepared: Prepared,
    data: Vec<u8>,
    subject: Subject,
    abort: &AbortFlag,
) -> JsResult<JsValue> {
    let Prepared {
        config,
        profile,
        on_progress,
        epsilon,
    } = prepared;
    let aborted = || js_error(&RegistryError::Aborted);
    if abort.is_aborted() {
        return Err(aborted());
    }
    let mut run = Evaluation::new(config, profile.as_ref(), subject).map_err(|e| js_error(&e))?;
    let mut timer = now_ms;
    if let Some(f) = &on_progress {
        let _ = f.call1(
            &JsValue::NULL,
            &progress_to_js(&run.progress(), data.len(), "initiate"),
        );
    }
    let mut since = now_ms();
    for chunk in data.chunks(ASYNC_CHUNK) {
        run.push(chunk, &mut timer).map_err(|e| js_error(&e))?;
        if let Some(f) = &on_progress {
            let _ = f.call1(
                &JsValue::NULL,
                &progress_to_js(&run.progress(), data.len(), "progress"),
            );
        }
        if now_ms() - since >= YIELD_AFTER_MS {
            gloo_timers::future::TimeoutFuture::new(0).await;
            since = now_ms();
        }
        if abort.is_aborted() {
            return Err(aborted());
        }
    }
    finish_evaluation(run, &on_progress, data.len(), epsilon)
}

/// Ends an evaluation: the report, the last progress event, the report as JS.
fn finish_evaluation(
    run: Evaluation,
    on_progress: &Option<Function>,
    total: usize,
    epsilon: Option<f64>,
) -> JsResult<JsValue> {
    let mut report = run
        .finish(&mut now_ms, now_iso(), runtime_name())
        .map_err(|e| js_error(&e))?;
    super::fleet::noise_report(&mut report, epsilon)?;
    report_progress_final(on_progress, &report, total);
    report_to_js(&report)
}

fn report_progress_final(f: &Option<Function>, report: &crate::eval::Report, total: usize) {
    if let Some(f) = f {
        let p = crate::eval::EvalProgress {
            bytes: total as u64,
            rows_read: report.data.rows_read,
            rows_used: report.data.rows_used,
            rows_skipped: report.data.rows_skipped,
        };
        let _ = f.call1(&JsValue::NULL, &progress_to_js(&p, total, "done"));
    }
}

/// Scores predictions made elsewhere (no model): a label column and either one probability
/// column per class, a predicted-label column, or a predicted value (regression).
///
/// ```js
/// const report = evaluatePredictions(csvText, { label: "y", proba: ["p_0", "p_1"] });
/// report.results.classification.accuracy;
/// ```
#[wasm_bindgen(js_name = evaluatePredictions, unchecked_return_type = "EvalReport")]
pub fn evaluate_predictions(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | ArrayBuffer")] data: JsValue,
    #[wasm_bindgen(unchecked_param_type = "EvalOptions")] options: JsValue,
) -> JsResult<JsValue> {
    let prepared = prepare(&options, None)?;
    if prepared.config.predictions.is_none() {
        return Err(invalid(
            "evaluatePredictions needs `proba`, `pred` or `value` columns; to run a model use model.evaluate",
        ));
    }
    let bytes = data_bytes(&data)?;
    run_evaluation(prepared, &bytes, Subject::Predictions)
}

/// A streaming evaluation: feed a large file chunk by chunk (for example from
/// `file.stream()`), read progress between chunks, then `finish()` for the report. Nothing is
/// held but the compact per-row results, so a 100 MB file is never in memory twice.
///
/// ```js
/// const ev = model.evaluation({ slices: ["region"] });
/// for await (const chunk of file.stream()) ev.push(chunk);
/// const report = ev.finish();
/// ```
#[wasm_bindgen(js_name = Evaluation)]
pub struct JsEvaluation {
    run: Option<Evaluation>,
    epsilon: Option<f64>,
}

impl JsEvaluation {
    pub(crate) fn new(prepared: Prepared, subject: Subject) -> JsResult<Self> {
        let run = Evaluation::new(prepared.config, prepared.profile.as_ref(), subject)
            .map_err(|e| js_error(&e))?;
        Ok(JsEvaluation {
            run: Some(run),
            epsilon: prepared.epsilon,
        })
    }

    fn finished() -> JsValue {
        coded_error(Code::InvalidState, "this evaluation has finished")
    }
}

#[wasm_bindgen(js_class = Evaluation)]
impl JsEvaluation {
    /// A streaming evaluation of predictions made elsewhere (see `evaluatePredictions`).
    #[wasm_bindgen(js_name = forPredictions)]
    pub fn for_predictions(
        #[wasm_bindgen(unchecked_param_type = "EvalOptions")] options: JsValue,
    ) -> JsResult<JsEvaluation> {
        let prepared = prepare(&options, None)?;
        if prepared.config.predictions.is_none() {
            return Err(invalid(
                "forPredictions needs `proba`, `pred` or `value` columns",
            ));
        }
        JsEvaluation::new(prepared, Subject::Predictions)
    }

    /// Feeds the next chunk of data; returns progress so far.
    #[wasm_bindgen(unchecked_return_type = "EvalProgress")]
    pub fn push(&mut self, chunk: &[u8]) -> JsResult<JsValue> {
        let run = self.run.as_mut().ok_or_else(JsEvaluation::finished)?;
        run.push(chunk, &mut now_ms).map_err(|e| js_error(&e))?;
        Ok(progress_to_js(&run.progress(), 0, "progress"))
    }

    /// Ends the data and returns the report. The evaluation cannot be used again.
    #[wasm_bindgen(unchecked_return_type = "EvalReport")]
    pub fn finish(&mut self) -> JsResult<JsValue> {
        let run = self.run.take().ok_or_else(JsEvaluation::finished)?;
        let mut report = run
            .finish(&mut now_ms, now_iso(), runtime_name())
            .map_err(|e| js_error(&e))?;
        super::fleet::noise_report(&mut report, self.epsilon)?;
        report_to_js(&report)
    }
}
