//! What an evaluation is asked to do: [`EvalConfig`] (columns, predictions, metrics, slices,
//! drift, comparison, gates, limits), the caller's [`ReportContext`], and the checks on the
//! options that do not need the data.
//!
//! Imports only option types from the lower evaluation modules, nothing else of `evaluator`.

use serde::{Deserialize, Serialize};

use crate::eval::compare::CompareConfig;
use crate::eval::data::{BadRowPolicy, DataFormat, Limits};
use crate::eval::drift::DriftConfig;
use crate::eval::error::{invalid, EvalError};
use crate::eval::gates::{self, GateSpec};
use crate::eval::report::ColumnMapping;
use crate::eval::results::{ModelIdentity, TaskKind};
use crate::eval::slices::SliceConfig;
use crate::eval::task::MetricOptions;

/// Columns that hold predictions made elsewhere (no model).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PredictionColumns {
    /// One probability column per class, in class order.
    pub proba: Vec<String>,
    /// A predicted-label column.
    pub label: Option<String>,
    /// A predicted-value column (regression).
    pub value: Option<String>,
}

impl PredictionColumns {
    /// Probability columns only.
    pub fn proba(cols: &[&str]) -> Self {
        PredictionColumns {
            proba: cols.iter().map(|s| s.to_string()).collect(),
            ..Self::default()
        }
    }
}

/// Everything an evaluation needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalConfig {
    /// Classification or regression.
    pub task: TaskKind,
    /// CSV or JSON.
    pub format: DataFormat,
    /// Feature, label, slice and id columns.
    pub columns: ColumnMapping,
    /// Prediction columns (scoring without a model); `None` when a model predicts.
    pub predictions: Option<PredictionColumns>,
    /// Class labels in index order. Default: `"0".."C-1"` when there are probabilities;
    /// discovered from the data (sorted as scikit-learn's `unique_labels`) with labels only.
    pub classes: Option<Vec<String>>,
    /// Skip or fail on bad rows. Default skip.
    pub bad_rows: BadRowPolicy,
    /// Bad rows listed in the report. Default 100.
    pub max_bad_rows_listed: usize,
    /// Rows per predictor call. Default 256.
    pub batch_size: usize,
    /// Input limits.
    pub limits: Limits,
    /// Metric options.
    pub metrics: MetricOptions,
    /// Slice options.
    pub slices: SliceConfig,
    /// Drift options (used when a profile is given).
    pub drift: DriftConfig,
    /// Name of the profile column that describes the model's outputs (prediction drift).
    /// Default `prediction`.
    pub prediction_column: String,
    /// Comparison options (used with a challenger).
    pub compare: CompareConfig,
    /// Gates to evaluate.
    pub gates: Vec<GateSpec>,
    /// Columns checked for drift against the profile. Default (`None`): the features.
    pub drift_columns: Option<Vec<String>>,
    /// Add a mergeable [`crate::eval::fleet::Summary`] to the report. Default false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub summary: bool,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            task: TaskKind::Classification,
            format: DataFormat::Csv,
            columns: ColumnMapping::default(),
            predictions: None,
            classes: None,
            bad_rows: BadRowPolicy::Skip,
            max_bad_rows_listed: 100,
            batch_size: 256,
            limits: Limits::default(),
            metrics: MetricOptions::default(),
            slices: SliceConfig::default(),
            drift: DriftConfig::default(),
            prediction_column: "prediction".into(),
            compare: CompareConfig::default(),
            gates: Vec::new(),
            drift_columns: None,
            summary: false,
        }
    }
}

impl EvalConfig {
    /// Defaults for a task with this label column.
    pub fn new(task: TaskKind, label: &str) -> Self {
        EvalConfig {
            task,
            columns: ColumnMapping {
                label: label.to_string(),
                ..ColumnMapping::default()
            },
            ..Self::default()
        }
    }
}

/// Caller-supplied report fields (the core reads no clock and knows no registry).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportContext {
    /// The time to put in the report.
    pub time: String,
    /// The runtime's name.
    pub runtime: String,
    /// The model evaluated.
    pub model: Option<ModelIdentity>,
    /// The challenger, in a comparison.
    pub challenger: Option<ModelIdentity>,
}

/// Most classes an evaluation handles: the confusion matrix is `C × C` and every row keeps `C`
/// probabilities, so `C` (from the data's distinct labels, the caller's class list, or a
/// model's output width) is bounded before anything is sized by it. 2,048 classes: a 32 MiB
/// confusion matrix.
pub const MAX_CLASSES: usize = 2048;

/// Most class probabilities an evaluation keeps (rows × classes, champion and challenger
/// together): 2^27 values, 1 GiB of f64.
pub const MAX_STORED_PROBABILITIES: usize = 1 << 27;

/// Upper bounds on the evaluation options (JS callers and CLI flags set them), so no
/// allocation or loop is sized by an unchecked caller number: `(what, value, limit)`.
fn check_option_sizes(cfg: &EvalConfig) -> Result<(), EvalError> {
    let too_big = |what: &str, limit: usize| EvalError::LimitExceeded {
        what: what.to_string(),
        limit: limit as u64,
    };
    let checks: [(&str, usize, usize); 9] = [
        ("batch_size", cfg.batch_size, 1 << 16),
        (
            "metrics.calibration_bins",
            cfg.metrics.calibration_bins,
            10_000,
        ),
        (
            "metrics.top_k",
            cfg.metrics.top_k.iter().copied().max().unwrap_or(1),
            MAX_CLASSES,
        ),
        ("slices.quantile_bins", cfg.slices.quantile_bins, 1_000),
        ("slices.max_values", cfg.slices.max_values, 100_000),
        ("compare.resamples", cfg.compare.resamples, 100_000),
        (
            "drift.max_current_sample",
            cfg.drift.max_current_sample,
            10_000_000,
        ),
        ("max_bad_rows_listed", cfg.max_bad_rows_listed, 100_000),
        (
            "classes",
            cfg.classes.as_ref().map_or(0, Vec::len),
            MAX_CLASSES,
        ),
    ];
    for (what, value, limit) in checks {
        if value > limit {
            return Err(too_big(what, limit));
        }
    }
    if cfg.metrics.top_k.len() > 64 || cfg.gates.len() > 1000 {
        return Err(too_big("metrics.top_k or gates entries", 1000));
    }
    let proba = cfg.predictions.as_ref().map_or(0, |p| p.proba.len());
    if proba > MAX_CLASSES {
        return Err(too_big("probability columns", MAX_CLASSES));
    }
    // One inference batch holds batch_size × features floats.
    let batch = cfg.batch_size.saturating_mul(cfg.columns.features.len());
    if batch > 1 << 28 {
        return Err(too_big("batch_size × features", 1 << 28));
    }
    Ok(())
}

/// Checks the options that do not depend on the data or the model: required columns, positive
/// sizes, upper bounds and gate names.
pub(super) fn validate(cfg: &EvalConfig) -> Result<(), EvalError> {
    if cfg.columns.label.is_empty() {
        return Err(invalid("the label column is required"));
    }
    if cfg.batch_size == 0 || cfg.metrics.calibration_bins == 0 {
        return Err(invalid("batch_size and calibration_bins must be positive"));
    }
    if cfg.metrics.top_k.contains(&0) {
        return Err(invalid("top-k needs k ≥ 1"));
    }
    check_option_sizes(cfg)?;
    gates::validate(&cfg.gates)
}
