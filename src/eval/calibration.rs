//! Calibration error with torchmetrics' definition (`torchmetrics.functional.classification.
//! multiclass_calibration_error` / `binary_calibration_error`, `n_bins=15`, `norm="l1"` for ECE
//! and `norm="max"` for MCE), and the reliability table behind it.
//!
//! torchmetrics builds `torch.linspace(0, 1, n_bins + 1)` in float32 as boundaries and bins
//! with `torch.bucketize(confidence, boundaries, right=True) - 1`, which gives `n_bins + 1`
//! bins: `[b_i, b_{i+1})` for `i < n_bins`, and a last bin holding confidences equal to 1
//! exactly. Then `ECE = Σ_i |acc_i − conf_i| · n_i / n` and `MCE = max_i |acc_i − conf_i|`
//! (empty bins count 0). We reproduce that, including the float32 boundaries computed as
//! torch's CPU `linspace` kernel does (`start + step·i` for the first half, `end − step·(steps
//! − 1 − i)` for the second), but accumulate in float64: torchmetrics casts multiclass
//! confidences to float32, so its own numbers agree with ours to about 1e-7.
//!
//! Top-label (multiclass) calibration: confidence = the largest probability, correct = whether
//! its class (first maximal index, as `torch.max`) is the true class. Binary calibration (C = 2
//! only): confidence = `p₁`, "accuracy" = the true label (1 or 0).

use serde::{Deserialize, Serialize};

use super::classification::{argmax, ClassificationData, RowIter};
use super::num::NeumaierSum;

/// One bin of the reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower boundary (inclusive).
    pub lower: f64,
    /// Upper boundary (exclusive; the last bin is `[1, 1]`).
    pub upper: f64,
    /// Rows in the bin.
    pub count: u64,
    /// Mean confidence of its rows (0 when empty).
    pub confidence: f64,
    /// Share of its rows that are correct (0 when empty).
    pub accuracy: f64,
}

/// Calibration errors and the reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationResult {
    /// Number of equal-width bins (torchmetrics' `n_bins`; the table has one more, for 1.0).
    pub n_bins: usize,
    /// Expected calibration error (L1 norm).
    pub ece: f64,
    /// Maximum calibration error (max norm).
    pub mce: f64,
    /// The bins.
    pub bins: Vec<ReliabilityBin>,
}

/// Top-label calibration, and for binary problems the positive-class calibration too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// `multiclass_calibration_error(preds, target, num_classes=C, n_bins)`.
    pub top_label: CalibrationResult,
    /// `binary_calibration_error(proba[:, 1], target, n_bins)` (C = 2 only).
    pub binary: Option<CalibrationResult>,
}

/// The float32 boundaries of `torch.linspace(0, 1, n_bins + 1)`, widened to f64.
pub fn torch_linspace_f32(n_bins: usize) -> Vec<f64> {
    let steps = n_bins + 1;
    let step = 1.0f32 / n_bins as f32;
    let halfway = steps / 2;
    (0..steps)
        .map(|i| {
            let v = if i < halfway {
                step * i as f32
            } else {
                1.0f32 - step * (steps - i - 1) as f32
            };
            f64::from(v)
        })
        .collect()
}

/// One bin's sufficient statistics: the row count and the sums of confidence and correctness
/// (what [`calibration`] accumulates, and what a fleet summary carries and adds up).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BinSums {
    /// Rows in the bin.
    pub count: u64,
    /// Sum of their confidences.
    pub confidence_sum: f64,
    /// Sum of their correctness (0 or 1 each).
    pub accuracy_sum: f64,
}

/// Bins `(confidence, correct)` pairs as torchmetrics does: `n_bins + 1` bins (the last holds
/// confidence 1 exactly).
pub fn bin_pairs(pairs: impl Iterator<Item = (f64, f64)>, n_bins: usize) -> Vec<BinSums> {
    let bounds = torch_linspace_f32(n_bins.max(1));
    let nb = bounds.len(); // n_bins + 1 bins
    let mut acc_bins = vec![(0u64, NeumaierSum::new(), NeumaierSum::new()); nb];
    for (c, a) in pairs {
        // bucketize(right=True) − 1: the number of boundaries ≤ c, minus one.
        let idx = bounds.partition_point(|&b| b <= c).saturating_sub(1);
        if let Some(bin) = acc_bins.get_mut(idx.min(nb.saturating_sub(1))) {
            bin.0 += 1;
            bin.1.add(c);
            bin.2.add(a);
        }
    }
    acc_bins
        .iter()
        .map(|(count, conf, acc)| BinSums {
            count: *count,
            confidence_sum: conf.total(),
            accuracy_sum: acc.total(),
        })
        .collect()
}

/// Bins `(confidence, correct)` pairs and computes ECE/MCE as torchmetrics' `_ce_compute`.
pub fn calibration(pairs: impl Iterator<Item = (f64, f64)>, n_bins: usize) -> CalibrationResult {
    from_bins(&bin_pairs(pairs, n_bins), n_bins)
}

/// ECE, MCE and the reliability table from binned sums ([`bin_pairs`], or merged ones).
pub fn from_bins(acc_bins: &[BinSums], n_bins: usize) -> CalibrationResult {
    let bounds = torch_linspace_f32(n_bins.max(1));
    let nb = bounds.len();
    let total: u64 = acc_bins.iter().map(|b| b.count).sum();
    let mut ece = NeumaierSum::new();
    let mut mce = 0.0f64;
    let mut bins = Vec::with_capacity(nb);
    for (i, (bin, &lower)) in acc_bins.iter().zip(&bounds).enumerate() {
        let (cm, am) = if bin.count == 0 {
            (0.0, 0.0)
        } else {
            (
                bin.confidence_sum / bin.count as f64,
                bin.accuracy_sum / bin.count as f64,
            )
        };
        let gap = (am - cm).abs();
        if total > 0 {
            ece.add(gap * (bin.count as f64 / total as f64));
        }
        mce = mce.max(gap);
        bins.push(ReliabilityBin {
            lower,
            upper: bounds.get(i + 1).copied().unwrap_or(1.0),
            count: bin.count,
            confidence: cm,
            accuracy: am,
        });
    }
    CalibrationResult {
        n_bins,
        ece: ece.total(),
        mce,
        bins,
    }
}

/// The top-label `(confidence, correct)` pair of stored row `i`.
pub(crate) fn top_label_pair(data: &ClassificationData, i: usize) -> (f64, f64) {
    let p = data.row_proba(i);
    let k = argmax(p);
    let c = p.get(k).copied().unwrap_or(0.0);
    let label = data.labels().get(i).copied();
    (c, f64::from(u8::from(Some(k as u32) == label)))
}

/// The binary `(p₁, y)` pair of stored row `i` (C = 2).
pub(crate) fn binary_pair(data: &ClassificationData, i: usize) -> (f64, f64) {
    let p1 = data.row_proba(i).get(1).copied().unwrap_or(0.0);
    (p1, f64::from(data.labels().get(i).copied().unwrap_or(0)))
}

/// Calibration of stored classification rows (all rows or a subset); `None` without
/// probabilities or rows.
pub fn of_data(
    data: &ClassificationData,
    subset: Option<&[u32]>,
    n_bins: usize,
) -> Option<Calibration> {
    if !data.has_proba() || data.is_empty() {
        return None;
    }
    let rows = RowIter::new(data.len(), subset);
    if rows.len() == 0 {
        return None;
    }
    let top_label = calibration(rows.clone().map(|i| top_label_pair(data, i)), n_bins);
    let binary =
        (data.n_classes() == 2).then(|| calibration(rows.map(|i| binary_pair(data, i)), n_bins));
    Some(Calibration { top_label, binary })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torchmetrics_docstring_examples() {
        // torchmetrics' binary_calibration_error docstring: preds [0.25, 0.25, 0.55, 0.75,
        // 0.75], target [0, 0, 1, 1, 1], n_bins=2 → l1 0.2900, max 0.3167.
        let preds = [0.25, 0.25, 0.55, 0.75, 0.75];
        let target = [0.0, 0.0, 1.0, 1.0, 1.0];
        let r = calibration(preds.iter().copied().zip(target), 2);
        assert!((r.ece - 0.29).abs() < 1e-12, "{}", r.ece);
        assert!((r.mce - 0.316_666_666_666_666_7).abs() < 1e-12, "{}", r.mce);
        // multiclass docstring: n_bins=3 → l1 0.2000, max 0.2333.
        let p = [
            [0.25, 0.20, 0.55],
            [0.55, 0.05, 0.40],
            [0.10, 0.30, 0.60],
            [0.90, 0.05, 0.05],
        ];
        let t = [0usize, 1, 2, 0];
        let r = calibration(
            p.iter().zip(t).map(|(row, y)| {
                let k = argmax(row);
                (row[k], f64::from(u8::from(k == y)))
            }),
            3,
        );
        assert!((r.ece - 0.2).abs() < 1e-7, "{}", r.ece);
        assert!((r.mce - 0.233_333_33).abs() < 1e-7, "{}", r.mce);
    }

    #[test]
    fn one_gets_its_own_bin() {
        let r = calibration([(1.0, 1.0), (0.99, 0.0)].into_iter(), 15);
        assert_eq!(r.bins.len(), 16);
        assert_eq!(r.bins[15].count, 1);
        assert_eq!(r.bins[14].count, 1);
    }
}
