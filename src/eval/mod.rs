//! Local model evaluation: metrics, calibration, slices, data quality, drift, latency,
//! champion vs challenger, gates and auditable reports.
//!
//! Synchronous, streaming and I/O-free: data arrives as byte chunks ([`data::TableReader`]),
//! a model is anything that implements [`Predictor`], time comes from an injected [`Timer`], and
//! the result is a [`Report`] (serde, JSON). Each metric's documentation names its reference
//! implementation (scikit-learn, torchmetrics, scipy, statsmodels, Evidently) and the
//! parameters whose numbers it reproduces; `tests/eval_reference.rs` checks them against values
//! computed by those libraries (`scripts/gen_eval_reference.py`).
//!
//! NaN policy: the core never lets a NaN into a metric. Missing or non-numeric labels,
//! features, probabilities or predicted values make a row bad (reported with row, column and
//! reason, then skipped or fatal per [`BadRowPolicy`]), so every result equals the reference
//! computed on the rows that were used. Undefined results (scikit-learn's `nan`) are `None`.
//!
//! Module graph (a DAG: each module imports only modules on earlier lines; checked with
//! `grep -n 'use super::' src/eval/*.rs src/eval/*/*.rs`):
//!
//! 1. `error`, `num`: import nothing from `eval`.
//! 2. `data` (error), `stats`, `latency`, `classification` (num).
//! 3. `regression`, `calibration` (classification, num); `profile` (data, error, num).
//! 4. `results` (the metric structs: classification, regression, calibration); `quality`
//!    (data, profile); `drift` (data, num, profile, stats).
//! 5. `task` (results and the metric modules); `gates` (error, results).
//! 6. `compare` (classification, error, num, results, stats, task); `slices` (data, num,
//!    results, task).
//! 7. `fleet`: mergeable summaries and fleet reports (imports the metric modules, `drift`,
//!    `slices`, `task`; `report` holds its `Summary`).
//! 8. `report`: the document; imports the result types of everything above, nothing imports it
//!    except `evaluator`.
//! 9. `evaluator`: the driver; imports everything, nothing in `eval` imports it.
//!
//! Being a core module, nothing here imports `wasm_bindgen`, `js_sys`, `web_sys`, `std::fs` or
//! CLI code.

pub mod calibration;
pub mod classification;
pub mod compare;
pub mod data;
pub mod drift;
mod error;
pub mod evaluator;
pub mod fleet;
pub mod gates;
pub mod latency;
pub mod num;
pub mod profile;
pub mod quality;
pub mod regression;
pub mod report;
pub mod results;
pub mod slices;
pub mod stats;
pub mod task;

pub use data::{BadRow, BadRowPolicy, DataFormat, Limits};
pub use error::EvalError;
pub use evaluator::{
    evaluate_model, score_predictions, EvalConfig, EvalProgress, Evaluator, Prediction,
    PredictionColumns, Predictor, PredictorError, ReportContext,
};
pub use latency::Timer;
pub use profile::{Profile, ProfileBuilder, ProfileConfig};
pub use report::{ColumnMapping, Report};
pub use results::{ModelIdentity, Results, TaskKind};
pub use task::{MetricOptions, TaskData};
