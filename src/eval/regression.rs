//! Regression metrics with scikit-learn's definitions (scikit-learn 1.9, `sklearn.metrics`,
//! single output, no sample weights).
//!
//! Rows are stored as two `f64` (true and predicted value): 16 bytes per row. The median
//! absolute error and R² (two-pass: mean first, then squared deviations) need them, and slices
//! recompute on subsets.

use serde::{Deserialize, Serialize};

use super::classification::RowIter;
use super::num::{self, NeumaierSum};

/// Stored regression rows.
#[derive(Debug, Clone, Default)]
pub struct RegressionData {
    y_true: Vec<f64>,
    y_pred: Vec<f64>,
}

/// Every regression metric over a set of rows. `None` where scikit-learn returns nan or raises
/// (no rows; R² with fewer than two rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Rows scored.
    pub n: u64,
    /// `mean_absolute_error(y_true, y_pred)`.
    pub mae: Option<f64>,
    /// `mean_squared_error(y_true, y_pred)`.
    pub mse: Option<f64>,
    /// `root_mean_squared_error(y_true, y_pred)`.
    pub rmse: Option<f64>,
    /// `r2_score(y_true, y_pred, force_finite=True)`: 1 − SS_res/SS_tot; when SS_tot = 0 it is
    /// 1 for a perfect prediction and 0 otherwise; `None` for fewer than two rows.
    pub r2: Option<f64>,
    /// `median_absolute_error(y_true, y_pred)` (`np.median`: mean of the middle two for even n).
    pub median_ae: Option<f64>,
    /// `mean_absolute_percentage_error(y_true, y_pred)`: mean of `|y − ŷ| / max(|y|, eps)` with
    /// `eps = np.finfo(float64).eps`, as a fraction (not ×100); huge when `y_true` has zeros,
    /// exactly as scikit-learn.
    pub mape: Option<f64>,
}

impl RegressionData {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a row (finite values; the evaluator rejects others as bad rows).
    pub fn push(&mut self, y_true: f64, y_pred: f64) {
        self.y_true.push(y_true);
        self.y_pred.push(y_pred);
    }

    /// Rows stored.
    pub fn len(&self) -> usize {
        self.y_true.len()
    }

    /// Whether no row is stored.
    pub fn is_empty(&self) -> bool {
        self.y_true.is_empty()
    }

    /// True values.
    pub fn y_true(&self) -> &[f64] {
        &self.y_true
    }

    /// Predicted values.
    pub fn y_pred(&self) -> &[f64] {
        &self.y_pred
    }

    /// Every metric over all rows or the listed row indices.
    pub fn metrics(&self, subset: Option<&[u32]>) -> RegressionMetrics {
        let s = self.sums(subset);
        from_sums(&s, num::median_sorted(&s.abs_err))
    }

    /// The sufficient statistics of the rows: compensated sums, the mean of `y` and the sum of
    /// squared deviations from it (two passes), and the sorted absolute errors.
    pub(crate) fn sums(&self, subset: Option<&[u32]>) -> RegressionSums {
        let rows = RowIter::new(self.len(), subset);
        let n = rows.len();
        let (mut ae, mut se, mut ape, mut yt) = (
            NeumaierSum::new(),
            NeumaierSum::new(),
            NeumaierSum::new(),
            NeumaierSum::new(),
        );
        let mut abs_err = Vec::with_capacity(n);
        for i in rows.clone() {
            let (Some(&y), Some(&p)) = (self.y_true.get(i), self.y_pred.get(i)) else {
                continue;
            };
            let e = (y - p).abs();
            ae.add(e);
            se.add((y - p) * (y - p));
            ape.add(e / y.abs().max(f64::EPSILON));
            yt.add(y);
            abs_err.push(e);
        }
        let mean_y = if n == 0 { 0.0 } else { yt.total() / n as f64 };
        let mut tot = NeumaierSum::new();
        for i in rows {
            let Some(&y) = self.y_true.get(i) else {
                continue;
            };
            let d = y - mean_y;
            tot.add(d * d);
        }
        num::sort_f64(&mut abs_err);
        RegressionSums {
            n: n as u64,
            abs_err_sum: ae.total(),
            sq_err_sum: se.total(),
            pct_err_sum: ape.total(),
            mean_y,
            m2_y: tot.total(),
            abs_err,
        }
    }
}

/// Sufficient statistics of regression rows ([`RegressionData::sums`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RegressionSums {
    /// Rows.
    pub(crate) n: u64,
    /// `Σ |y − ŷ|`.
    pub(crate) abs_err_sum: f64,
    /// `Σ (y − ŷ)²`.
    pub(crate) sq_err_sum: f64,
    /// `Σ |y − ŷ| / max(|y|, eps)`.
    pub(crate) pct_err_sum: f64,
    /// Mean of `y`.
    pub(crate) mean_y: f64,
    /// `Σ (y − mean)²`.
    pub(crate) m2_y: f64,
    /// Absolute errors, sorted (may be left empty when the median comes from elsewhere).
    pub(crate) abs_err: Vec<f64>,
}

/// Every metric from the sufficient statistics and the median absolute error.
pub(crate) fn from_sums(s: &RegressionSums, median_ae: Option<f64>) -> RegressionMetrics {
    let n = s.n;
    if n == 0 {
        return RegressionMetrics {
            n: 0,
            mae: None,
            mse: None,
            rmse: None,
            r2: None,
            median_ae: None,
            mape: None,
        };
    }
    let nf = n as f64;
    let (ss_res, ss_tot) = (s.sq_err_sum, s.m2_y);
    let r2 = if n < 2 {
        None
    } else if ss_tot != 0.0 {
        Some(1.0 - ss_res / ss_tot)
    } else if ss_res == 0.0 {
        Some(1.0)
    } else {
        Some(0.0)
    };
    let mse = ss_res / nf;
    RegressionMetrics {
        n,
        mae: Some(s.abs_err_sum / nf),
        mse: Some(mse),
        rmse: Some(num::sqrt(mse)),
        r2,
        median_ae,
        mape: Some(s.pct_err_sum / nf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_truth_r2_is_forced_finite() {
        let mut d = RegressionData::new();
        d.push(1.0, 1.0);
        d.push(1.0, 1.0);
        assert_eq!(d.metrics(None).r2, Some(1.0));
        d.push(1.0, 2.0);
        assert_eq!(d.metrics(None).r2, Some(0.0));
        let mut one = RegressionData::new();
        one.push(3.0, 1.0);
        let m = one.metrics(None);
        assert_eq!(m.r2, None);
        assert_eq!(m.mae, Some(2.0));
        assert_eq!(m.median_ae, Some(2.0));
    }
}
