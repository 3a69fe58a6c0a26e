//! The evaluation report: one JSON document that names the model (target path and sha256), the
//! data (sha256), the rows used and skipped, every result, the library version and the time.
//!
//! Field names are snake_case and stable. Everything that legitimately differs between two
//! runs of the same evaluation on different runtimes (the time, the runtime's name, latency) is
//! inside `runtime`; dropping that object leaves a document that is byte-for-byte identical
//! natively and in WebAssembly for the same input (floats are printed by `serde_json`'s
//! shortest round-trip form and computed with the same operations and `libm` on every target).

use serde::{Deserialize, Serialize};

use super::calibration::Calibration;
use super::classification::ClassificationMetrics;
use super::compare::Comparison;
use super::data::{BadRow, DataFormat};
use super::drift::DriftReport;
use super::gates::GateReport;
use super::latency::LatencyReport;
use super::quality::QualityReport;
use super::regression::RegressionMetrics;
use super::slices::SliceGroup;

/// `report_format` of every report.
pub const REPORT_FORMAT: &str = "edge-registry-eval-report";
/// Version of the report layout.
pub const REPORT_VERSION: u32 = 1;

/// Task kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Class labels (and optionally probabilities).
    Classification,
    /// A real value.
    Regression,
}

/// The model a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    /// TUF target path, e.g. `models/digits/2/model.onnx`.
    pub target_path: String,
    /// Its sha256 (hex), as the signed targets metadata names it.
    pub sha256: String,
    /// The reference the user asked for (e.g. `digits@production`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// What was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// SHA-256 (hex) of the bytes given.
    pub sha256: String,
    /// Byte count.
    pub bytes: u64,
    /// CSV or JSON.
    pub format: DataFormat,
    /// Data rows read (header excluded).
    pub rows_read: u64,
    /// Rows that went into the results.
    pub rows_used: u64,
    /// Rows skipped as bad.
    pub rows_skipped: u64,
    /// The first bad rows (up to the configured cap).
    pub bad_rows: Vec<BadRow>,
    /// Whether more bad rows exist than are listed.
    pub bad_rows_truncated: bool,
}

/// The columns used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ColumnMapping {
    /// Feature columns in the model's input order (empty when scoring predictions).
    pub features: Vec<String>,
    /// The label (ground truth) column.
    pub label: String,
    /// Slice columns.
    pub slices: Vec<String>,
    /// An id column (kept only in bad-row reports; never used as a feature).
    pub id: Option<String>,
}

/// Metric results over a set of rows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Results {
    /// Classification metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassificationMetrics>,
    /// Regression metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<RegressionMetrics>,
    /// Calibration (classification with probabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// Fields that differ between runtimes; drop them to compare reports across runtimes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// When the evaluation ran (given by the caller, e.g. RFC 3339; the core reads no clock).
    pub time: String,
    /// Where it ran (e.g. `native`, `node`, `chromium`).
    pub runtime: String,
    /// Inference latency (model evaluations only).
    pub latency: Option<LatencyReport>,
    /// The challenger's latency in a comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger_latency: Option<LatencyReport>,
}

/// An evaluation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_FORMAT`].
    pub report_format: String,
    /// Always [`REPORT_VERSION`].
    pub report_version: u32,
    /// `crate::VERSION` of the library that computed it.
    pub library_version: String,
    /// The model (None when scoring predictions made elsewhere).
    pub model: Option<ModelRef>,
    /// The data.
    pub data: DataInfo,
    /// Classification or regression.
    pub task: TaskKind,
    /// Class labels in index order (classification).
    pub classes: Option<Vec<String>>,
    /// Columns used.
    pub columns: ColumnMapping,
    /// Results over all used rows.
    pub results: Results,
    /// Results per slice.
    pub slices: Vec<SliceGroup>,
    /// Data quality.
    pub quality: QualityReport,
    /// Drift against the reference profile, when one was given.
    pub drift: Option<DriftReport>,
    /// Champion vs challenger, when a challenger was given.
    pub comparison: Option<Comparison>,
    /// Gates, when some were given.
    pub gates: Option<GateReport>,
    /// Time, runtime and latency.
    pub runtime: RuntimeInfo,
}

impl Report {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// JSON without the `runtime` object: the part that must be identical across runtimes.
    pub fn portable_json(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("runtime");
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}

/// Names of the scalar metrics gates, slices and comparisons can refer to, with whether higher
/// is better. `top_{k}_accuracy` is accepted too for every computed `k`.
pub const METRIC_NAMES: &[(&str, bool)] = &[
    ("accuracy", true),
    ("balanced_accuracy", true),
    ("precision_micro", true),
    ("precision_macro", true),
    ("precision_weighted", true),
    ("recall_micro", true),
    ("recall_macro", true),
    ("recall_weighted", true),
    ("f1_micro", true),
    ("f1_macro", true),
    ("f1_weighted", true),
    ("log_loss", false),
    ("roc_auc", true),
    ("roc_auc_ovr_macro", true),
    ("roc_auc_ovr_weighted", true),
    ("brier", false),
    ("ece", false),
    ("mce", false),
    ("mae", false),
    ("mse", false),
    ("rmse", false),
    ("r2", true),
    ("median_ae", false),
    ("mape", false),
];

/// Whether higher is better for a metric name (`None` for an unknown name).
pub fn metric_direction(name: &str) -> Option<bool> {
    if let Some(&(_, hib)) = METRIC_NAMES.iter().find(|(n, _)| *n == name) {
        return Some(hib);
    }
    top_k_of(name).map(|_| true)
}

fn top_k_of(name: &str) -> Option<usize> {
    name.strip_prefix("top_")?
        .strip_suffix("_accuracy")?
        .parse()
        .ok()
}

impl Results {
    /// The value of a named metric, if computed and defined.
    pub fn metric(&self, name: &str) -> Option<f64> {
        if let Some(c) = &self.classification {
            let v = match name {
                "accuracy" => Some(c.accuracy),
                "balanced_accuracy" => Some(c.balanced_accuracy),
                "precision_micro" => Some(c.micro.precision),
                "precision_macro" => Some(c.macro_.precision),
                "precision_weighted" => Some(c.weighted.precision),
                "recall_micro" => Some(c.micro.recall),
                "recall_macro" => Some(c.macro_.recall),
                "recall_weighted" => Some(c.weighted.recall),
                "f1_micro" => Some(c.micro.f1),
                "f1_macro" => Some(c.macro_.f1),
                "f1_weighted" => Some(c.weighted.f1),
                "log_loss" => c.log_loss,
                "roc_auc" => c.roc_auc.as_ref().and_then(|r| r.binary),
                "roc_auc_ovr_macro" => c.roc_auc.as_ref().and_then(|r| r.ovr_macro),
                "roc_auc_ovr_weighted" => c.roc_auc.as_ref().and_then(|r| r.ovr_weighted),
                "brier" => c.brier,
                "ece" => self.calibration.as_ref().map(|k| k.top_label.ece),
                "mce" => self.calibration.as_ref().map(|k| k.top_label.mce),
                other => top_k_of(other)
                    .and_then(|k| c.top_k.iter().find(|t| t.k == k).map(|t| t.accuracy)),
            };
            if v.is_some() {
                return v;
            }
        }
        if let Some(r) = &self.regression {
            return match name {
                "mae" => r.mae,
                "mse" => r.mse,
                "rmse" => r.rmse,
                "r2" => r.r2,
                "median_ae" => r.median_ae,
                "mape" => r.mape,
                _ => None,
            };
        }
        None
    }
}
