//! Classification metrics with scikit-learn's definitions (scikit-learn 1.9, `sklearn.metrics`).
//!
//! Rows are stored compactly as they stream in ([`ClassificationData`]): the true class (`u32`),
//! the predicted class (`u32`) and, when the model gives probabilities, one `f64` per class.
//! Memory per row is `8 + 8·C` bytes with probabilities and 8 bytes without. Counting metrics
//! could stream in O(C²) memory, but ROC AUC needs every score, and slices recompute every
//! metric on subsets of the same rows, so the rows are kept once and every metric is computed
//! from them by [`ClassificationData::metrics`].
//!
//! Conventions, all matching scikit-learn called with `labels=range(C)` where it accepts labels:
//!
//! - Undefined values (scikit-learn returns `nan` with a warning) are `None` (`null` in JSON).
//! - `zero_division` is scikit-learn's default `"warn"`: a 0/0 precision, recall or F1 is 0.
//! - Macro averages of precision/recall/F1 run over the labels present in `y_true` or `y_pred`
//!   (`unique_labels`, scikit-learn's default when `labels=None`); per-class rows are reported for
//!   every class, with zero support where absent.
//! - The predicted class is the predicted-label column when one is given, otherwise the first
//!   index of the largest probability (`np.argmax`, like the ONNX `ArgMax` our models end with).
//! - Probabilities must lie in `[0, 1]` and be finite (rows that break this are bad rows before
//!   they get here); they need not sum to 1 (scikit-learn warns and goes on for `log_loss`;
//!   `roc_auc_score` with `multi_class="ovr"` raises, we do not).

use serde::{Deserialize, Serialize};

use super::num::{self, NeumaierSum};

/// Rows of a classification evaluation: true classes, predicted classes, optional probabilities.
#[derive(Debug, Clone)]
pub struct ClassificationData {
    n_classes: usize,
    labels: Vec<u32>,
    preds: Vec<u32>,
    proba: Option<Vec<f64>>,
}

/// One class's precision, recall, F1 and counts (`precision_recall_fscore_support(average=None)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// The class label.
    pub class: String,
    /// `tp / (tp + fp)`, 0 when nothing was predicted as this class.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when the class is absent from `y_true`.
    pub recall: f64,
    /// `2·tp / (2·tp + fp + fn)`, 0 when the denominator is 0.
    pub f1: f64,
    /// Rows whose true class is this one.
    pub support: u64,
    /// Rows predicted as this class.
    pub predicted: u64,
}

/// Precision, recall and F1 under one averaging scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Averages {
    /// Averaged precision.
    pub precision: f64,
    /// Averaged recall.
    pub recall: f64,
    /// Averaged F1.
    pub f1: f64,
}

/// ROC AUC results (`roc_auc_score`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocAuc {
    /// Binary problems (C = 2): `roc_auc_score(y_true, proba[:, 1])`.
    pub binary: Option<f64>,
    /// C ≥ 3: `roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=range(C))`;
    /// `None` when any class has no positive or no negative row (scikit-learn returns nan).
    pub ovr_macro: Option<f64>,
    /// C ≥ 3: the same with `average="weighted"` (weights = class support; classes with zero
    /// support count 0 with weight 0, as scikit-learn does).
    pub ovr_weighted: Option<f64>,
    /// One-vs-rest AUC of each class (score = that class's probability); `None` where undefined.
    pub per_class: Vec<Option<f64>>,
}

/// Top-k accuracy for one `k` (`top_k_accuracy_score(y_true, y_score, k=k, labels=range(C))`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopK {
    /// `k`.
    pub k: usize,
    /// Share of rows whose true class is among the `k` best scores.
    pub accuracy: f64,
}

/// Every classification metric over a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Rows scored.
    pub n: u64,
    /// `accuracy_score(y_true, y_pred)`.
    pub accuracy: f64,
    /// `balanced_accuracy_score(y_true, y_pred)` (adjusted=False): the mean recall over the
    /// classes present in `y_true`.
    pub balanced_accuracy: f64,
    /// `precision_recall_fscore_support(y_true, y_pred, average=None, labels=range(C))`.
    pub per_class: Vec<ClassMetrics>,
    /// `precision_recall_fscore_support(..., average="micro")`.
    pub micro: Averages,
    /// `precision_recall_fscore_support(..., average="macro")` (labels present in either array).
    #[serde(rename = "macro")]
    pub macro_: Averages,
    /// `precision_recall_fscore_support(..., average="weighted")` (weights = support).
    pub weighted: Averages,
    /// `confusion_matrix(y_true, y_pred, labels=range(C))`: rows are true classes, columns
    /// predicted classes.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// `log_loss(y_true, proba, labels=range(C))`: probabilities clipped to `[eps, 1 − eps]` with
    /// `eps = np.finfo(float64).eps` (scikit-learn ≥ 1.5 clips with the input dtype's eps; our
    /// probabilities are float64) and not renormalised (scikit-learn only warns).
    pub log_loss: Option<f64>,
    /// ROC AUC (see [`RocAuc`]).
    pub roc_auc: Option<RocAuc>,
    /// `brier_score_loss(y_true, proba, labels=range(C), scale_by_half="auto")`: the mean over
    /// rows of `Σ_c (p_c − 1[y = c])²`, halved when C ≤ 2 (so binary = mean of `(p₁ − y)²`).
    pub brier: Option<f64>,
    /// Top-k accuracies for the configured `k`s. Ties follow scikit-learn: for C ≥ 3 the
    /// ranking is `np.argsort(score, kind="mergesort")[:, ::-1]`, so of equal scores the higher
    /// class index ranks first; for C = 2, `k = 1` predicts class 1 when `p₁ > 0.5` and `k ≥ 2`
    /// always hits.
    pub top_k: Vec<TopK>,
}

impl ClassificationData {
    /// Empty storage for `n_classes` classes, with or without probabilities.
    pub fn new(n_classes: usize, with_proba: bool) -> Self {
        ClassificationData {
            n_classes,
            labels: Vec::new(),
            preds: Vec::new(),
            proba: with_proba.then(Vec::new),
        }
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Rows stored.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether no row is stored.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Whether probabilities are stored.
    pub fn has_proba(&self) -> bool {
        self.proba.is_some()
    }

    /// True class of each row.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Predicted class of each row.
    pub fn preds(&self) -> &[u32] {
        &self.preds
    }

    /// Probabilities, row-major `n × C`, if stored.
    pub fn proba(&self) -> Option<&[f64]> {
        self.proba.as_deref()
    }

    /// Appends a row. `label` and `pred` must be `< n_classes`; `proba` (when stored) must have
    /// `n_classes` values. The caller (the evaluator) validates untrusted input before this; a
    /// row that breaks these rules is ignored here rather than panicking.
    pub fn push(&mut self, label: u32, pred: u32, proba: Option<&[f64]>) {
        let c = self.n_classes as u32;
        if label >= c || pred >= c {
            return;
        }
        match (&mut self.proba, proba) {
            (Some(store), Some(p)) if p.len() == self.n_classes => store.extend_from_slice(p),
            (None, _) => {}
            _ => return,
        }
        self.labels.push(label);
        self.preds.push(pred);
    }

    /// Remaps class indices after classes discovered in order of appearance are sorted:
    /// `map[old] = new`. Used by the evaluator when the class list is inferred from the data.
    pub fn remap_classes(&mut self, map: &[u32]) {
        for v in self.labels.iter_mut().chain(self.preds.iter_mut()) {
            if let Some(&m) = map.get(*v as usize) {
                *v = m;
            }
        }
    }

    /// Probabilities of row `i` (empty when none are stored).
    pub fn row_proba(&self, i: usize) -> &[f64] {
        match &self.proba {
            Some(p) => p
                .get(i * self.n_classes..(i + 1) * self.n_classes)
                .unwrap_or(&[]),
            None => &[],
        }
    }

    /// Every metric over all rows (`subset = None`) or over the listed row indices (which must
    /// be `< len()`; they may repeat).
    pub fn metrics(
        &self,
        classes: &[String],
        subset: Option<&[u32]>,
        top_k: &[usize],
    ) -> ClassificationMetrics {
        self.metrics_with(classes, subset, top_k, true)
    }

    /// As [`ClassificationData::metrics`], skipping ROC AUC (one sort per class) when
    /// `roc_auc` is false: bootstrap resamples of metrics that do not need it.
    pub fn metrics_with(
        &self,
        classes: &[String],
        subset: Option<&[u32]>,
        top_k: &[usize],
        roc_auc: bool,
    ) -> ClassificationMetrics {
        let rows = RowIter::new(self.labels.len(), subset);
        let n = rows.len();
        let mut m = from_confusion(classes, self.n_classes, &self.confusion(rows.clone()));
        if self.proba.is_some() && n > 0 {
            let support: Vec<u64> = m.per_class.iter().map(|k| k.support).collect();
            m.log_loss = Some(self.log_loss(rows.clone()));
            m.brier = Some(self.brier(rows.clone()));
            m.roc_auc = roc_auc.then(|| self.roc_auc(rows.clone(), &support));
            m.top_k = top_k
                .iter()
                .map(|&k| TopK {
                    k,
                    accuracy: self.top_k(rows.clone(), k),
                })
                .collect();
        }
        m
    }

    /// The confusion matrix of the rows, flat (`C × C`, true × predicted).
    pub(crate) fn confusion(&self, rows: RowIter<'_>) -> Vec<u64> {
        let c = self.n_classes;
        let mut cm = vec![0u64; c * c];
        for i in rows {
            // Stored labels and predictions are < c (`push` refuses others).
            let (Some(&y), Some(&p)) = (self.labels.get(i), self.preds.get(i)) else {
                continue;
            };
            if let Some(cell) = cm.get_mut(y as usize * c + p as usize) {
                *cell += 1;
            }
        }
        cm
    }

    /// The label of stored row `i` (`usize::MAX`, which is no class, past the end).
    fn label(&self, i: usize) -> usize {
        self.labels.get(i).map_or(usize::MAX, |&y| y as usize)
    }

    /// Row `i`'s log-loss term: `−ln p_y`, `p_y` clipped to `[eps, 1 − eps]`.
    pub(crate) fn row_log_loss(&self, i: usize) -> f64 {
        let eps = f64::EPSILON;
        let py = self
            .row_proba(i)
            .get(self.label(i))
            .copied()
            .unwrap_or(0.0)
            .clamp(eps, 1.0 - eps);
        -num::ln(py)
    }

    /// Row `i`'s Brier term `Σ_c (p_c − 1[y = c])²` (not halved).
    pub(crate) fn row_brier(&self, i: usize) -> f64 {
        let y = self.label(i);
        let mut row = 0.0;
        for (k, &p) in self.row_proba(i).iter().enumerate() {
            let d = if k == y { 1.0 - p } else { p };
            row += d * d;
        }
        row
    }

    /// Whether row `i`'s true class is among its `k` best scores (scikit-learn's ties; see
    /// [`ClassificationMetrics::top_k`]).
    pub(crate) fn row_top_k_hit(&self, i: usize, k: usize) -> bool {
        let c = self.n_classes;
        if c == 2 {
            if k >= 2 {
                return true;
            }
            let p1 = self.row_proba(i).get(1).copied().unwrap_or(0.0);
            return u32::from(p1 > 0.5) as usize == self.label(i);
        }
        let p = self.row_proba(i);
        let y = self.label(i);
        let Some(&py) = p.get(y) else { return false };
        // Classes ranked above y: larger score, or equal score and larger index.
        let above = p
            .iter()
            .enumerate()
            .filter(|&(j, &pj)| pj > py || (pj == py && j > y))
            .count();
        above < k
    }

    /// The true class of row `i` as an index (`usize::MAX` past the end).
    pub(crate) fn row_label(&self, i: usize) -> usize {
        self.label(i)
    }

    fn log_loss(&self, rows: RowIter<'_>) -> f64 {
        let n = rows.len();
        let mut s = NeumaierSum::new();
        for i in rows {
            s.add(self.row_log_loss(i));
        }
        s.total() / n as f64
    }

    fn brier(&self, rows: RowIter<'_>) -> f64 {
        let n = rows.len();
        let mut s = NeumaierSum::new();
        for i in rows {
            s.add(self.row_brier(i));
        }
        brier_from_sum(s.total(), n as u64, self.n_classes)
    }

    fn top_k(&self, rows: RowIter<'_>, k: usize) -> f64 {
        let n = rows.len();
        if self.n_classes == 2 && k >= 2 {
            return 1.0;
        }
        let mut hits = 0u64;
        for i in rows {
            hits += u64::from(self.row_top_k_hit(i, k));
        }
        hits as f64 / n as f64
    }

    fn roc_auc(&self, rows: RowIter<'_>, support: &[u64]) -> RocAuc {
        let c = self.n_classes;
        let n = rows.len() as u64;
        let mut pos: Vec<u64> = Vec::new();
        let mut neg: Vec<u64> = Vec::new();
        let per_class: Vec<Option<f64>> = (0..c)
            .map(|k| {
                pos.clear();
                neg.clear();
                for i in rows.clone() {
                    let s = self.row_proba(i).get(k).copied().unwrap_or(0.0);
                    if self.label(i) == k {
                        pos.push(num::order_key(s));
                    } else {
                        neg.push(num::order_key(s));
                    }
                }
                auc_from_keys(&mut pos, &mut neg)
            })
            .collect();
        roc_from_per_class(c, per_class, support, n)
    }
}

/// The mean Brier score from the sum of the rows' terms: halved when C ≤ 2
/// (`scale_by_half="auto"`).
pub(crate) fn brier_from_sum(sum: f64, n: u64, c: usize) -> f64 {
    let b = sum / n as f64;
    if c <= 2 {
        b * 0.5
    } else {
        b
    }
}

/// Top-k accuracy from the count of hits (C = 2 with `k ≥ 2` always hits).
pub(crate) fn top_k_from_hits(hits: u64, n: u64, c: usize, k: usize) -> f64 {
    if c == 2 && k >= 2 {
        1.0
    } else {
        hits as f64 / n as f64
    }
}

/// [`RocAuc`] from the one-vs-rest AUC of each class: the binary value (C = 2) or the macro
/// and support-weighted averages (C ≥ 3).
pub(crate) fn roc_from_per_class(
    c: usize,
    per_class: Vec<Option<f64>>,
    support: &[u64],
    n: u64,
) -> RocAuc {
    let (binary, ovr_macro, ovr_weighted) = if c == 2 {
        (per_class.get(1).copied().flatten(), None, None)
    } else {
        let macro_ = per_class
            .iter()
            .copied()
            .collect::<Option<Vec<f64>>>()
            .map(|v| num::sum(v.iter().copied()) / c as f64);
        let weighted = if n == 0 {
            Some(0.0)
        } else {
            let mut s = NeumaierSum::new();
            let mut ok = true;
            for (k, a) in per_class.iter().enumerate() {
                let w = support.get(k).copied().unwrap_or(0);
                if w == 0 {
                    continue;
                }
                match a {
                    Some(a) => s.add(a * w as f64),
                    None => ok = false,
                }
            }
            ok.then(|| s.total() / n as f64)
        };
        (None, macro_, weighted)
    };
    RocAuc {
        binary,
        ovr_macro,
        ovr_weighted,
        per_class,
    }
}

/// The AUC of [`auc_from_keys`] from `(positives, negatives)` counts per distinct score, in
/// ascending score order (each entry one score, or a bucket of scores counted as tied): the
/// same integer Mann-Whitney statistic. `None` when either side is empty.
pub(crate) fn auc_from_counts(counts: impl Iterator<Item = (u64, u64)>) -> Option<f64> {
    let mut u2: u128 = 0;
    let (mut p_total, mut n_total) = (0u128, 0u128);
    for (p, n) in counts {
        let (p, n) = (u128::from(p), u128::from(n));
        u2 += p * (2 * n_total + n);
        p_total += p;
        n_total += n;
    }
    if p_total == 0 || n_total == 0 {
        return None;
    }
    Some(u2 as f64 / (2.0 * p_total as f64 * n_total as f64))
}

/// Every metric that counts alone determine (everything but log loss, ROC AUC, Brier and top-k,
/// which are left empty), from a flat `C × C` confusion matrix (true × predicted): the one
/// computation behind [`ClassificationData::metrics`] and merged fleet summaries.
pub(crate) fn from_confusion(classes: &[String], c: usize, cm: &[u64]) -> ClassificationMetrics {
    let n: u64 = cm.iter().sum();
    let width = c.max(1);
    let support: Vec<u64> = cm.chunks(width).map(|row| row.iter().sum()).collect();
    let predicted: Vec<u64> = (0..c)
        .map(|k| cm.iter().skip(k).step_by(width).sum())
        .collect();
    let tp: Vec<u64> = (0..c)
        .map(|k| cm.get(k * c + k).copied().unwrap_or(0))
        .collect();
    let correct: u64 = tp.iter().sum();

    let div = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let per_class: Vec<ClassMetrics> = tp
        .iter()
        .zip(&predicted)
        .zip(&support)
        .enumerate()
        .map(|(k, ((&tp, &predicted), &support))| ClassMetrics {
            class: classes.get(k).cloned().unwrap_or_else(|| k.to_string()),
            precision: div(tp as f64, predicted as f64),
            recall: div(tp as f64, support as f64),
            f1: div(2.0 * tp as f64, (support + predicted) as f64),
            support,
            predicted,
        })
        .collect();

    let total = n as f64;
    let micro_p = div(correct as f64, total);
    let micro = Averages {
        precision: micro_p,
        recall: micro_p,
        f1: div(2.0 * correct as f64, 2.0 * total),
    };
    let present: Vec<&ClassMetrics> = per_class
        .iter()
        .filter(|m| m.support > 0 || m.predicted > 0)
        .collect();
    let mean_over = |f: &dyn Fn(&ClassMetrics) -> f64| {
        if present.is_empty() {
            0.0
        } else {
            num::sum(present.iter().map(|m| f(m))) / present.len() as f64
        }
    };
    let macro_ = Averages {
        precision: mean_over(&|m| m.precision),
        recall: mean_over(&|m| m.recall),
        f1: mean_over(&|m| m.f1),
    };
    let weighted_over = |f: &dyn Fn(&ClassMetrics) -> f64| {
        div(
            num::sum(per_class.iter().map(|m| f(m) * m.support as f64)),
            total,
        )
    };
    let weighted = Averages {
        precision: weighted_over(&|m| m.precision),
        recall: weighted_over(&|m| m.recall),
        f1: weighted_over(&|m| m.f1),
    };
    let in_true: Vec<&ClassMetrics> = per_class.iter().filter(|m| m.support > 0).collect();
    let balanced_accuracy = if in_true.is_empty() {
        0.0
    } else {
        num::sum(in_true.iter().map(|m| m.recall)) / in_true.len() as f64
    };

    let confusion_matrix = cm.chunks(width).map(<[u64]>::to_vec).collect();

    ClassificationMetrics {
        n,
        accuracy: div(correct as f64, total),
        balanced_accuracy,
        per_class,
        micro,
        macro_,
        weighted,
        confusion_matrix,
        log_loss: None,
        roc_auc: None,
        brier: None,
        top_k: Vec::new(),
    }
}

/// Area under the ROC curve from the order keys of positive and negative scores: the
/// Mann-Whitney statistic `P(s⁺ > s⁻) + ½·P(s⁺ = s⁻)`, which equals scikit-learn's trapezoidal
/// area over distinct thresholds (`roc_curve` + `auc`) exactly, ties included. `None` when
/// either side is empty. Sorts both vectors in place.
pub fn auc_from_keys(pos: &mut [u64], neg: &mut [u64]) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    pos.sort_unstable();
    neg.sort_unstable();
    // Twice the U statistic, exact in integers.
    let mut u2: u128 = 0;
    let (mut i, mut j) = (0usize, 0usize);
    while let Some(&v) = pos.get(i) {
        let mut cp = 0u128;
        while pos.get(i) == Some(&v) {
            cp += 1;
            i += 1;
        }
        while neg.get(j).is_some_and(|&x| x < v) {
            j += 1;
        }
        let below = j as u128;
        let mut eq = 0u128;
        let mut t = j;
        while neg.get(t) == Some(&v) {
            eq += 1;
            t += 1;
        }
        u2 += cp * (2 * below + eq);
    }
    let denom = 2.0 * pos.len() as f64 * neg.len() as f64;
    Some(u2 as f64 / denom)
}

/// Iterates all rows or a subset of row indices.
#[derive(Clone)]
pub(crate) enum RowIter<'a> {
    All(std::ops::Range<usize>),
    Subset(std::slice::Iter<'a, u32>),
}

impl<'a> RowIter<'a> {
    pub(crate) fn new(n: usize, subset: Option<&'a [u32]>) -> Self {
        match subset {
            None => RowIter::All(0..n),
            Some(s) => RowIter::Subset(s.iter()),
        }
    }
}

impl Iterator for RowIter<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            RowIter::All(r) => r.next(),
            RowIter::Subset(s) => s.next().map(|&i| i as usize),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            RowIter::All(r) => r.size_hint(),
            RowIter::Subset(s) => s.size_hint(),
        }
    }
}

impl ExactSizeIterator for RowIter<'_> {}

/// The predicted class for probabilities: the first index of the largest value (`np.argmax`).
pub fn argmax(p: &[f64]) -> usize {
    let Some(&first) = p.first() else {
        return 0;
    };
    let (mut best, mut best_v) = (0, first);
    for (k, &v) in p.iter().enumerate() {
        if v > best_v {
            best = k;
            best_v = v;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(c: usize) -> Vec<String> {
        (0..c).map(|k| k.to_string()).collect()
    }

    #[test]
    fn auc_with_ties_matches_hand_count() {
        // pos scores {0.5, 0.8}, neg {0.5, 0.2}: pairs (0.5,0.5)=.5, (0.5,0.2)=1, (0.8,*)=2 → 3.5/4
        let mut p = vec![num::order_key(0.5), num::order_key(0.8)];
        let mut n = vec![num::order_key(0.5), num::order_key(0.2)];
        assert_eq!(auc_from_keys(&mut p, &mut n), Some(0.875));
        assert_eq!(auc_from_keys(&mut [], &mut n), None);
    }

    #[test]
    fn perfect_binary() {
        let mut d = ClassificationData::new(2, true);
        d.push(0, 0, Some(&[0.9, 0.1]));
        d.push(1, 1, Some(&[0.2, 0.8]));
        let m = d.metrics(&classes(2), None, &[1, 2]);
        assert_eq!(m.accuracy, 1.0);
        assert_eq!(m.roc_auc.unwrap().binary, Some(1.0));
        assert_eq!(m.top_k[0].accuracy, 1.0);
        assert_eq!(m.top_k[1].accuracy, 1.0);
        assert!((m.brier.unwrap() - (0.01 + 0.04) / 2.0).abs() < 1e-15);
    }

    #[test]
    fn bad_rows_are_ignored_not_panics() {
        let mut d = ClassificationData::new(2, true);
        d.push(5, 0, Some(&[0.5, 0.5]));
        d.push(0, 0, Some(&[0.5]));
        assert!(d.is_empty());
        let m = d.metrics(&classes(2), None, &[1]);
        assert_eq!(m.n, 0);
        assert_eq!(m.log_loss, None);
    }

    #[test]
    fn top_k_ties_rank_higher_index_first() {
        let mut d = ClassificationData::new(3, true);
        // All equal: ranking is 2, 1, 0. Label 0 is last → top-1 and top-2 miss.
        d.push(0, 0, Some(&[1.0 / 3.0; 3]));
        let m = d.metrics(&classes(3), None, &[1, 2, 3]);
        assert_eq!(m.top_k[0].accuracy, 0.0);
        assert_eq!(m.top_k[1].accuracy, 0.0);
        assert_eq!(m.top_k[2].accuracy, 1.0);
    }
}
