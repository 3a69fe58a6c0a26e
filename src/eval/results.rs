//! Plain result types shared by the report, gates, slices, comparisons and the task data: the
//! task kind, the evaluated model's identity, [`Results`] and the metric names with their
//! directions.
//!
//! A leaf of the evaluation graph: it imports only the metric structs it holds
//! (`classification`, `regression`, `calibration`), never `report`, `gates`, `compare`,
//! `slices`, `task` or `evaluator`, so all of those can import it without a cycle.

use serde::{Deserialize, Serialize};

use super::calibration::Calibration;
use super::classification::ClassificationMetrics;
use super::regression::RegressionMetrics;

/// Task kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Class labels (and optionally probabilities).
    Classification,
    /// A real value.
    Regression,
}

/// The identity of an evaluated model as a report names it (TUF target path, sha256 and the
/// reference asked for). Not [`crate::catalogue::ModelRef`], which is a parsed `name@selector`
/// reference; this is what that reference resolved to. Serialized as `{"target_path",
/// "sha256", "reference"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// TUF target path, e.g. `models/digits/2/model.onnx`.
    pub target_path: String,
    /// Its sha256 (hex), as the signed targets metadata names it.
    pub sha256: String,
    /// The reference the user asked for (e.g. `digits@production`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
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
