//! Stored rows of either task, and the results computed from them.

use serde::{Deserialize, Serialize};

use super::calibration;
use super::classification::ClassificationData;
use super::regression::RegressionData;
use super::results::Results;

/// Options that shape the results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricOptions {
    /// `k` values for top-k accuracy. Default `[2]` (scikit-learn's default `k`).
    pub top_k: Vec<usize>,
    /// Calibration bins. Default 15 (torchmetrics' default).
    pub calibration_bins: usize,
}

impl Default for MetricOptions {
    fn default() -> Self {
        MetricOptions {
            top_k: vec![2],
            calibration_bins: 15,
        }
    }
}

/// Rows of a classification or regression evaluation.
#[derive(Debug, Clone)]
pub enum TaskData {
    /// Classification rows with their class labels.
    Classification {
        /// The rows.
        data: ClassificationData,
        /// Class labels in index order.
        classes: Vec<String>,
    },
    /// Regression rows.
    Regression(RegressionData),
}

impl TaskData {
    /// Rows stored.
    pub fn len(&self) -> usize {
        match self {
            TaskData::Classification { data, .. } => data.len(),
            TaskData::Regression(r) => r.len(),
        }
    }

    /// Whether no row is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Results over all rows or a subset (indices may repeat, as in a bootstrap resample).
    pub fn results(&self, subset: Option<&[u32]>, opts: &MetricOptions) -> Results {
        self.results_with(subset, opts, true, true)
    }

    /// As [`TaskData::results`], optionally without ROC AUC and calibration (the costly parts)
    /// when the caller does not need them.
    pub fn results_with(
        &self,
        subset: Option<&[u32]>,
        opts: &MetricOptions,
        roc_auc: bool,
        calibration: bool,
    ) -> Results {
        match self {
            TaskData::Classification { data, classes } => Results {
                classification: Some(data.metrics_with(classes, subset, &opts.top_k, roc_auc)),
                regression: None,
                calibration: if calibration {
                    calibration::of_data(data, subset, opts.calibration_bins)
                } else {
                    None
                },
            },
            TaskData::Regression(r) => Results {
                classification: None,
                regression: Some(r.metrics(subset)),
                calibration: None,
            },
        }
    }
}
