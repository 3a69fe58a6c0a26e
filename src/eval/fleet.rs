//! Fleet evaluation: mergeable summaries of evaluations run on many devices, merged into one
//! fleet report without any raw row leaving a device.
//!
//! An evaluation run with [`crate::eval::EvalConfig::summary`] adds a [`Summary`] to its report:
//! the sufficient statistics of every metric, so that [`merge`] of the summaries of disjoint
//! parts of a data set followed by [`fleet_report`] gives the numbers of a single evaluation on
//! the union of the parts (equal within floating-point summation order, far below 1e-9):
//!
//! - classification: the confusion matrix (accuracy, balanced accuracy, precision, recall, F1
//!   per class and averaged, exactly); with probabilities, the sums of the rows' log-loss and
//!   Brier terms, top-k hit counts, the torchmetrics calibration bins (count, confidence sum,
//!   correctness sum), and per class a [`ValueSketch`] of `score → (positives, negatives)` from
//!   which ROC AUC is the same integer Mann-Whitney statistic;
//! - regression: `n`, `Σ|e|`, `Σe²`, `Σ|e|/max(|y|, eps)`, the mean of `y` and `Σ(y − ȳ)²`
//!   (merged with Chan et al.'s pairwise update, so R² needs no second pass), and a
//!   [`ValueSketch`] of the absolute errors for the median;
//! - slices: one summary per slice value (numeric columns too, so the quantile edges of the
//!   pooled values are recomputed and the per-value summaries merged per bin);
//! - drift: histogram counts over the profile's bins, distinct and category counts and the
//!   current values with counts ([`DriftColumnSummary`]);
//! - latency: batch count, rows, total and maximum time and a [`ValueSketch`] of batch times.
//!
//! Sketches are exact (one entry per distinct value) up to [`SKETCH_CAP`] entries; past that
//! they coarsen by dropping low bits of the values' order keys (`shift`), so each entry covers
//! values within a relative width of `2^(shift − 52)`; the fleet report then lists the metric
//! under `approximate` with the bound that follows from the entries: for a quantile (median
//! absolute error, latency percentiles) half the widest entry, for ROC AUC
//! `½ · Σ_entries pos·neg / (P·N)` (pairs inside one entry count as ties).
//!
//! Local differential privacy: [`add_noise`] adds two-sided geometric noise to every count and
//! Laplace noise to every bounded real sum of one device's summary, calibrated to the L1
//! sensitivity of the whole summary to adding or removing one row (see [`sensitivity`]), and
//! records the mechanism and epsilon, which the merged report carries.
//!
//! A summary names data only in values (class labels, slice values, categories as array
//! elements), never in object keys, like the report (see [`crate::eval::report`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::calibration::{self, BinSums, Calibration};
use super::classification::{self, ClassificationData, RowIter, TopK};
use super::drift::{self, DriftColumnSummary, DriftConfig, DriftMethod, DriftReport};
use super::error::EvalError;
use super::latency::{self, LatencyReport};
use super::num::{self, NeumaierSum, Xoshiro256};
use super::regression::{self, RegressionData, RegressionSums};
use super::results::{metric_direction, ModelIdentity, Results, TaskKind};
use super::slices::{self, Flagging, SliceColumn, SliceConfig, SliceGroup, SliceKind};
use super::task::{MetricOptions, TaskData};

/// `summary_format` of every summary.
pub const SUMMARY_FORMAT: &str = "edge-registry-eval-summary";
/// Version of the summary layout.
pub const SUMMARY_VERSION: u32 = 1;
/// `report_format` of a fleet report.
pub const FLEET_REPORT_FORMAT: &str = "edge-registry-fleet-report";
/// Most entries of a [`ValueSketch`] before it coarsens.
pub const SKETCH_CAP: usize = 16_384;
/// Most distinct values one slice column keeps a summary for on a device; the rest are folded
/// into `other` (and the merged slices of that column marked approximate).
pub const SLICE_VALUE_CAP: usize = 2_000;
/// Most classes a summary may have (the evaluator's `MAX_CLASSES`).
const MAX_SUMMARY_CLASSES: usize = 2048;
/// Bins of the public score grid on `[0, 1]` that ROC sketches are put on before noise.
pub const PRIVATE_SCORE_BINS: u32 = 100;
/// The largest log-loss term of one row: `−ln(eps)` (probabilities are clipped to `eps`).
pub const LOG_LOSS_MAX: f64 = 36.043_653_389_117_15;

fn mismatch(reason: impl Into<String>) -> EvalError {
    EvalError::SummaryMismatch {
        reason: reason.into(),
    }
}

fn bad(reason: impl Into<String>) -> EvalError {
    EvalError::BadSummary {
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Value sketches

/// One sketch entry: the smallest and largest value it holds and its counts (serialized as
/// `[lo, hi, [counts…]]`). An exact entry has `lo == hi`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SketchEntry(pub f64, pub f64, pub Vec<u64>);

/// Counts per distinct value (exact), or per bucket of values (coarsened, or on a public grid
/// after privacy noise), ascending. Every entry has the same number of counts (`width`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueSketch {
    /// Counts per entry (1, or 2 for ROC's positives and negatives).
    pub width: usize,
    /// Most entries kept.
    pub cap: usize,
    /// Low bits dropped from the values' order keys ([`num::order_key`]); 0 is exact.
    pub shift: u32,
    /// A public uniform grid of this many bins on `[0, 1]` (plus one for 1 exactly), used
    /// instead of the order keys after privacy noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<u32>,
    /// The entries, ascending.
    pub entries: Vec<SketchEntry>,
}

impl ValueSketch {
    fn key(shift: u32, grid: Option<u32>, x: f64) -> u64 {
        match grid {
            Some(g) => (x.clamp(0.0, 1.0) * f64::from(g)).floor() as u64,
            None => num::order_key(x).checked_shr(shift).unwrap_or(0),
        }
    }

    /// A sketch of `(value, counts)` items.
    pub fn from_items<'a>(
        items: impl Iterator<Item = (f64, &'a [u64])>,
        width: usize,
        cap: usize,
    ) -> Self {
        let mut map: BTreeMap<u64, SketchEntry> = BTreeMap::new();
        for (x, c) in items {
            insert(&mut map, num::order_key(x), SketchEntry(x, x, c.to_vec()));
        }
        let mut s = ValueSketch {
            width,
            cap: cap.max(1),
            shift: 0,
            grid: None,
            entries: Vec::new(),
        };
        s.settle(map);
        s
    }

    /// Keeps `map`'s entries, coarsening until at most `cap` remain.
    fn settle(&mut self, mut map: BTreeMap<u64, SketchEntry>) {
        while map.len() > self.cap && self.grid.is_none() && self.shift < 64 {
            self.shift += 1;
            let mut next = BTreeMap::new();
            for (_, e) in map {
                insert(&mut next, Self::key(self.shift, None, e.0), e);
            }
            map = next;
        }
        self.entries = map.into_values().collect();
    }

    /// Whether every entry is one value.
    pub fn is_exact(&self) -> bool {
        self.shift == 0 && self.grid.is_none()
    }

    /// Adds another sketch's entries (same width, cap and grid).
    pub fn merge(&mut self, other: &ValueSketch) -> Result<(), EvalError> {
        if self.width != other.width || self.cap != other.cap || self.grid != other.grid {
            return Err(mismatch("value sketches of different shapes"));
        }
        self.shift = self.shift.max(other.shift);
        let mut map = BTreeMap::new();
        for e in self.entries.drain(..).chain(other.entries.iter().cloned()) {
            insert(&mut map, Self::key(self.shift, self.grid, e.0), e);
        }
        self.settle(map);
        Ok(())
    }

    /// The total of count `col`.
    pub fn total(&self, col: usize) -> u64 {
        self.entries
            .iter()
            .map(|e| e.2.get(col).copied().unwrap_or(0))
            .sum()
    }

    /// Each entry's value (the midpoint of a bucket) with its count `col`, ascending: the list
    /// of [`num::Counted`], never written out (the counts are untrusted).
    pub fn counts(&self, col: usize) -> Vec<(f64, u64)> {
        self.entries
            .iter()
            .map(|e| (representative(e), e.2.get(col).copied().unwrap_or(0)))
            .collect()
    }

    /// Half the widest entry: the most a quantile read from [`ValueSketch::counts`] can be off.
    pub fn half_width(&self) -> f64 {
        self.entries
            .iter()
            .map(|e| (e.1 - e.0) / 2.0)
            .fold(0.0, f64::max)
    }
}

fn representative(e: &SketchEntry) -> f64 {
    if e.0 == e.1 {
        e.0
    } else {
        e.0 / 2.0 + e.1 / 2.0
    }
}

fn insert(map: &mut BTreeMap<u64, SketchEntry>, key: u64, e: SketchEntry) {
    match map.get_mut(&key) {
        Some(cur) => {
            cur.0 = cur.0.min(e.0);
            cur.1 = cur.1.max(e.1);
            for (a, b) in cur.2.iter_mut().zip(&e.2) {
                *a += b;
            }
        }
        None => {
            map.insert(key, e);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Summary types

/// Top-k hits for one `k`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopKHits {
    /// `k`.
    pub k: usize,
    /// Rows whose true class is among the `k` best scores.
    pub hits: u64,
}

/// Sufficient statistics of the probability-based classification metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbaSummary {
    /// `Σ −ln p_y` (clipped as log loss clips).
    pub log_loss_sum: f64,
    /// `Σ Σ_c (p_c − 1[y = c])²` (not halved).
    pub brier_sum: f64,
    /// Top-k hits, in the order of the configured `k`s.
    pub top_k: Vec<TopKHits>,
    /// Per class: `score → [positives, negatives]` (one-vs-rest).
    pub scores: Vec<ValueSketch>,
    /// Top-label calibration bins.
    pub calibration: Vec<BinSums>,
    /// Positive-class calibration bins (C = 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_calibration: Option<Vec<BinSums>>,
}

/// Sufficient statistics of classification metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassSummary {
    /// `C × C` confusion matrix (true × predicted).
    pub confusion: Vec<Vec<u64>>,
    /// With probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proba: Option<ProbaSummary>,
}

/// Sufficient statistics of regression metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionSummary {
    /// Rows.
    pub n: u64,
    /// `Σ |y − ŷ|`.
    pub abs_err_sum: f64,
    /// `Σ (y − ŷ)²`.
    pub sq_err_sum: f64,
    /// `Σ |y − ŷ| / max(|y|, eps)`.
    pub pct_err_sum: f64,
    /// Mean of `y`.
    pub mean_y: f64,
    /// `Σ (y − ȳ)²`.
    pub m2_y: f64,
    /// Absolute errors (for the median).
    pub abs_err: ValueSketch,
}

/// Sufficient statistics of the results over a set of rows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricSummary {
    /// Classification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassSummary>,
    /// Regression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<RegressionSummary>,
}

impl MetricSummary {
    /// Rows summarized.
    pub fn n(&self) -> u64 {
        match (&self.classification, &self.regression) {
            (Some(c), _) => c.confusion.iter().flatten().sum(),
            (None, Some(r)) => r.n,
            (None, None) => 0,
        }
    }
}

/// One slice value's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceValueSummary {
    /// The value as text.
    pub value: String,
    /// The value as a number (numeric columns).
    pub number: Option<f64>,
    /// The rows with this value.
    pub results: MetricSummary,
}

/// One slice column's summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceSummary {
    /// Column name.
    pub column: String,
    /// Whether every non-missing value is a finite number.
    pub all_numeric: bool,
    /// Per distinct value.
    pub values: Vec<SliceValueSummary>,
    /// Rows of values not listed (non-numeric columns past `max_values`, or past
    /// [`SLICE_VALUE_CAP`]).
    pub other: Option<MetricSummary>,
    /// Rows with a missing value.
    pub missing: Option<MetricSummary>,
    /// Whether a device folded values past [`SLICE_VALUE_CAP`] into `other`.
    pub truncated: bool,
}

/// The drift options, with per-column overrides as arrays (column names stay values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftSettings {
    /// Dataset-drift share.
    pub drift_share: f64,
    /// Per-column methods.
    pub methods: Vec<(String, DriftMethod)>,
    /// Per-column thresholds.
    pub thresholds: Vec<(String, f64)>,
    /// Current values kept per numeric column.
    pub max_current_sample: usize,
    /// Reservoir seed.
    pub seed: u64,
}

impl DriftSettings {
    fn of(c: &DriftConfig) -> Self {
        DriftSettings {
            drift_share: c.drift_share,
            methods: c.methods.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            thresholds: c.thresholds.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            max_current_sample: c.max_current_sample,
            seed: c.seed,
        }
    }

    fn config(&self) -> DriftConfig {
        DriftConfig {
            drift_share: self.drift_share,
            methods: self.methods.iter().cloned().collect(),
            thresholds: self.thresholds.iter().cloned().collect(),
            max_current_sample: self.max_current_sample,
            seed: self.seed,
        }
    }
}

/// Drift counts of every checked column and of the model's outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftSummary {
    /// Options.
    pub settings: DriftSettings,
    /// Checked columns.
    pub columns: Vec<DriftColumnSummary>,
    /// The model's outputs.
    pub prediction: Option<DriftColumnSummary>,
}

/// Batch latencies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Rows predicted.
    pub rows: u64,
    /// Sum of batch times.
    pub total_ms: f64,
    /// Batch times.
    pub batch_ms: ValueSketch,
}

/// The columns a summary was computed over.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SummaryColumns {
    /// Features (model evaluations).
    pub features: Vec<String>,
    /// Label.
    pub label: String,
    /// Slice columns.
    pub slices: Vec<String>,
}

/// One device's evaluation, as a merged summary lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// SHA-256 of the device's data (dropped under privacy noise: a digest identifies data).
    pub data_sha256: Option<String>,
    /// Rows used (noised under privacy noise).
    pub rows_used: u64,
    /// When it ran.
    pub time: String,
    /// Where it ran.
    pub runtime: String,
}

/// Local differential privacy applied to a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Privacy {
    /// `geometric+laplace`: two-sided geometric noise on counts, Laplace on real sums.
    pub mechanism: String,
    /// Epsilon of each device's summary.
    pub epsilon: f64,
    /// Noise was added on each device before merging (local DP).
    pub per_device: bool,
    /// The L1 sensitivity (one row added or removed) the noise was scaled to.
    pub sensitivity: f64,
}

/// The mergeable sufficient statistics of an evaluation. See the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always [`SUMMARY_FORMAT`].
    pub summary_format: String,
    /// Always [`SUMMARY_VERSION`].
    pub summary_version: u32,
    /// The library that computed it.
    pub library_version: String,
    /// The model evaluated.
    pub model: Option<ModelIdentity>,
    /// Classification or regression.
    pub task: TaskKind,
    /// Class labels in index order.
    pub classes: Option<Vec<String>>,
    /// Whether the classes were fixed (options, card, model) rather than discovered.
    pub classes_fixed: bool,
    /// Columns.
    pub columns: SummaryColumns,
    /// Metric options.
    pub metrics: MetricOptions,
    /// Slice options.
    pub slice_options: SliceConfig,
    /// Devices merged into this summary.
    pub devices: u64,
    /// Each device's evaluation.
    pub sources: Vec<SourceInfo>,
    /// Rows read.
    pub rows_read: u64,
    /// Rows used.
    pub rows_used: u64,
    /// Rows skipped as bad.
    pub rows_skipped: u64,
    /// Over all rows.
    pub results: MetricSummary,
    /// Per slice column.
    pub slices: Vec<SliceSummary>,
    /// Drift, when a profile was given.
    pub drift: Option<DriftSummary>,
    /// Latency (model evaluations).
    pub latency: Option<LatencySummary>,
    /// Privacy noise, when added.
    pub privacy: Option<Privacy>,
}

// ---------------------------------------------------------------------------------------------
// Building a summary from an evaluation

/// Sufficient statistics of stored rows (all, or a subset).
pub fn summarize(task: &TaskData, subset: Option<&[u32]>, opts: &MetricOptions) -> MetricSummary {
    match task {
        TaskData::Classification { data, .. } => MetricSummary {
            classification: Some(class_summary(data, subset, opts)),
            regression: None,
        },
        TaskData::Regression(r) => MetricSummary {
            classification: None,
            regression: Some(regression_summary(r, subset)),
        },
    }
}

fn class_summary(
    data: &ClassificationData,
    subset: Option<&[u32]>,
    opts: &MetricOptions,
) -> ClassSummary {
    let c = data.n_classes();
    let rows = RowIter::new(data.len(), subset);
    let cm = data.confusion(rows.clone());
    let confusion = cm.chunks(c.max(1)).map(<[u64]>::to_vec).collect();
    let proba = (data.has_proba() && rows.len() > 0).then(|| {
        let (mut ll, mut br) = (NeumaierSum::new(), NeumaierSum::new());
        for i in rows.clone() {
            ll.add(data.row_log_loss(i));
            br.add(data.row_brier(i));
        }
        let top_k = opts
            .top_k
            .iter()
            .map(|&k| TopKHits {
                k,
                hits: rows.clone().filter(|&i| data.row_top_k_hit(i, k)).count() as u64,
            })
            .collect();
        let scores = (0..c)
            .map(|k| {
                let items: Vec<(f64, [u64; 2])> = rows
                    .clone()
                    .map(|i| {
                        let s = data.row_proba(i).get(k).copied().unwrap_or(0.0);
                        let pos = data.row_label(i) == k;
                        (s, [u64::from(pos), u64::from(!pos)])
                    })
                    .collect();
                ValueSketch::from_items(items.iter().map(|(s, c)| (*s, &c[..])), 2, SKETCH_CAP)
            })
            .collect();
        let bins = opts.calibration_bins;
        ProbaSummary {
            log_loss_sum: ll.total(),
            brier_sum: br.total(),
            top_k,
            scores,
            calibration: calibration::bin_pairs(
                rows.clone().map(|i| calibration::top_label_pair(data, i)),
                bins,
            ),
            binary_calibration: (c == 2).then(|| {
                calibration::bin_pairs(
                    rows.clone().map(|i| calibration::binary_pair(data, i)),
                    bins,
                )
            }),
        }
    });
    ClassSummary { confusion, proba }
}

fn regression_summary(r: &RegressionData, subset: Option<&[u32]>) -> RegressionSummary {
    let s = r.sums(subset);
    RegressionSummary {
        n: s.n,
        abs_err_sum: s.abs_err_sum,
        sq_err_sum: s.sq_err_sum,
        pct_err_sum: s.pct_err_sum,
        mean_y: s.mean_y,
        m2_y: s.m2_y,
        abs_err: ValueSketch::from_items(
            s.abs_err.iter().map(|&e| (e, &[1u64][..])),
            1,
            SKETCH_CAP,
        ),
    }
}

/// The summary of one slice column over the stored rows.
pub fn summarize_slice(col: &SliceColumn, task: &TaskData, opts: &MetricOptions) -> SliceSummary {
    let v = col.value_rows();
    let mut values = Vec::new();
    let mut other_rows = v.other;
    let mut truncated = false;
    for (i, (value, number, rows)) in v.values.into_iter().enumerate() {
        if i < SLICE_VALUE_CAP {
            values.push(SliceValueSummary {
                value,
                number,
                results: summarize(task, Some(&rows), opts),
            });
        } else {
            truncated = true;
            other_rows.extend(rows);
        }
    }
    let part = |rows: &[u32]| (!rows.is_empty()).then(|| summarize(task, Some(rows), opts));
    SliceSummary {
        column: col.name().to_string(),
        all_numeric: v.all_numeric,
        values,
        other: part(&other_rows),
        missing: part(&v.missing),
        truncated,
    }
}

/// What the evaluator hands over to build a summary.
pub struct SummaryInput<'a> {
    /// The rows, classes final.
    pub task: &'a TaskData,
    /// Whether the classes were fixed up front.
    pub classes_fixed: bool,
    /// Columns.
    pub columns: SummaryColumns,
    /// Metric options.
    pub metrics: &'a MetricOptions,
    /// Slice options.
    pub slice_options: &'a SliceConfig,
    /// Slice columns.
    pub slices: &'a [SliceColumn],
    /// Drift options and column summaries (with a profile).
    pub drift: Option<(
        &'a DriftConfig,
        Vec<DriftColumnSummary>,
        Option<DriftColumnSummary>,
    )>,
    /// Batch times and rows predicted (model evaluations).
    pub latency: Option<(&'a [f64], u64)>,
    /// The model.
    pub model: Option<ModelIdentity>,
    /// This evaluation.
    pub source: SourceInfo,
    /// Rows read, used, skipped.
    pub rows: (u64, u64, u64),
}

/// A device's summary.
pub fn build(input: SummaryInput<'_>) -> Summary {
    let classes = match input.task {
        TaskData::Classification { classes, .. } => Some(classes.clone()),
        TaskData::Regression(_) => None,
    };
    let latency = input.latency.map(|(ms, rows)| LatencySummary {
        rows,
        total_ms: num::sum(ms.iter().copied()),
        batch_ms: ValueSketch::from_items(ms.iter().map(|&x| (x, &[1u64][..])), 1, SKETCH_CAP),
    });
    Summary {
        summary_format: SUMMARY_FORMAT.into(),
        summary_version: SUMMARY_VERSION,
        library_version: crate::VERSION.into(),
        model: input.model,
        task: match input.task {
            TaskData::Classification { .. } => TaskKind::Classification,
            TaskData::Regression(_) => TaskKind::Regression,
        },
        classes,
        classes_fixed: input.classes_fixed,
        columns: input.columns,
        metrics: input.metrics.clone(),
        slice_options: input.slice_options.clone(),
        devices: 1,
        sources: vec![input.source],
        rows_read: input.rows.0,
        rows_used: input.rows.1,
        rows_skipped: input.rows.2,
        results: summarize(input.task, None, input.metrics),
        slices: input
            .slices
            .iter()
            .map(|s| summarize_slice(s, input.task, input.metrics))
            .collect(),
        drift: input.drift.map(|(cfg, columns, prediction)| DriftSummary {
            settings: DriftSettings::of(cfg),
            columns,
            prediction,
        }),
        latency,
        privacy: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Merging

fn merge_metric(a: &mut MetricSummary, b: &MetricSummary) -> Result<(), EvalError> {
    if b.n() == 0 && b.classification.is_none() && b.regression.is_none() {
        return Ok(());
    }
    if a.n() == 0 && a.classification.is_none() && a.regression.is_none() {
        *a = b.clone();
        return Ok(());
    }
    match (
        &mut a.classification,
        &b.classification,
        &mut a.regression,
        &b.regression,
    ) {
        (Some(x), Some(y), None, None) => merge_class(x, y),
        (None, None, Some(x), Some(y)) => merge_regression(x, y),
        _ => Err(mismatch("a classification and a regression summary")),
    }
}

fn merge_class(a: &mut ClassSummary, b: &ClassSummary) -> Result<(), EvalError> {
    let c = a.confusion.len();
    if b.confusion.len() != c || b.confusion.iter().chain(&a.confusion).any(|r| r.len() != c) {
        return Err(mismatch("confusion matrices of different sizes"));
    }
    let (na, nb): (u64, u64) = (
        a.confusion.iter().flatten().sum(),
        b.confusion.iter().flatten().sum(),
    );
    for (ra, rb) in a.confusion.iter_mut().zip(&b.confusion) {
        for (x, y) in ra.iter_mut().zip(rb) {
            *x += y;
        }
    }
    a.proba = match (a.proba.take(), &b.proba) {
        (Some(mut x), Some(y)) => {
            merge_proba(&mut x, y)?;
            Some(x)
        }
        (None, Some(y)) if na == 0 => Some(y.clone()),
        (Some(x), None) if nb == 0 => Some(x),
        (None, None) => None,
        _ => return Err(mismatch("one summary has probabilities and the other not")),
    };
    Ok(())
}

fn merge_bins(a: &mut [BinSums], b: &[BinSums]) -> Result<(), EvalError> {
    if a.len() != b.len() {
        return Err(mismatch("calibration bins differ"));
    }
    for (x, y) in a.iter_mut().zip(b) {
        x.count += y.count;
        x.confidence_sum += y.confidence_sum;
        x.accuracy_sum += y.accuracy_sum;
    }
    Ok(())
}

fn merge_proba(a: &mut ProbaSummary, b: &ProbaSummary) -> Result<(), EvalError> {
    if a.scores.len() != b.scores.len()
        || a.top_k.iter().map(|t| t.k).ne(b.top_k.iter().map(|t| t.k))
    {
        return Err(mismatch("probability summaries of different shapes"));
    }
    a.log_loss_sum += b.log_loss_sum;
    a.brier_sum += b.brier_sum;
    for (x, y) in a.top_k.iter_mut().zip(&b.top_k) {
        x.hits += y.hits;
    }
    for (x, y) in a.scores.iter_mut().zip(&b.scores) {
        x.merge(y)?;
    }
    merge_bins(&mut a.calibration, &b.calibration)?;
    match (&mut a.binary_calibration, &b.binary_calibration) {
        (Some(x), Some(y)) => merge_bins(x, y)?,
        (None, None) => {}
        _ => return Err(mismatch("binary calibration on one side only")),
    }
    Ok(())
}

/// Chan, Golub & LeVeque's pairwise update of (n, mean, M2).
fn merge_regression(a: &mut RegressionSummary, b: &RegressionSummary) -> Result<(), EvalError> {
    let n = a.n + b.n;
    if b.n > 0 {
        let (na, nb, nf) = (a.n as f64, b.n as f64, n as f64);
        let delta = b.mean_y - a.mean_y;
        a.m2_y = a.m2_y + b.m2_y + delta * delta * na * nb / nf;
        a.mean_y = (na * a.mean_y + nb * b.mean_y) / nf;
    }
    a.n = n;
    a.abs_err_sum += b.abs_err_sum;
    a.sq_err_sum += b.sq_err_sum;
    a.pct_err_sum += b.pct_err_sum;
    a.abs_err.merge(&b.abs_err)
}

fn merge_slice(a: &mut SliceSummary, b: &SliceSummary) -> Result<(), EvalError> {
    if a.column != b.column {
        return Err(mismatch("slice columns differ"));
    }
    a.all_numeric &= b.all_numeric;
    a.truncated |= b.truncated;
    for v in &b.values {
        match a.values.iter_mut().find(|x| x.value == v.value) {
            Some(x) => merge_metric(&mut x.results, &v.results)?,
            None => a.values.push(v.clone()),
        }
    }
    for (x, y) in [(&mut a.other, &b.other), (&mut a.missing, &b.missing)] {
        match (x.as_mut(), y) {
            (Some(x), Some(y)) => merge_metric(x, y)?,
            (None, Some(y)) => *x = Some(y.clone()),
            _ => {}
        }
    }
    Ok(())
}

fn merge_drift(a: &mut DriftSummary, b: &DriftSummary) -> Result<(), EvalError> {
    if a.settings != b.settings || a.columns.len() != b.columns.len() {
        return Err(mismatch("drift options or columns differ"));
    }
    for (x, y) in a.columns.iter_mut().zip(&b.columns) {
        x.merge(y).map_err(mismatch)?;
    }
    match (&mut a.prediction, &b.prediction) {
        (Some(x), Some(y)) => x.merge(y).map_err(mismatch)?,
        (None, None) => {}
        _ => return Err(mismatch("prediction drift on one side only")),
    }
    Ok(())
}

/// The class order of discovered labels, as the evaluator sorts them (`np.unique`).
fn sort_classes(mut classes: Vec<String>) -> Vec<String> {
    let nums: Option<Vec<f64>> = classes.iter().map(|c| c.trim().parse().ok()).collect();
    match nums {
        Some(_) => {
            let key = |s: &String| s.trim().parse::<f64>().unwrap_or(f64::NAN);
            classes.sort_by(|a, b| key(a).total_cmp(&key(b)));
        }
        None => classes.sort(),
    }
    classes
}

/// Re-indexes a confusion matrix to a larger class list (`map[old] = new`).
fn remap(ms: &mut MetricSummary, map: &[usize], c: usize) -> Result<(), EvalError> {
    if let Some(cs) = &mut ms.classification {
        if cs.proba.is_some() {
            return Err(mismatch(
                "different class lists with probabilities (give the classes explicitly)",
            ));
        }
        let mut out = vec![vec![0u64; c]; c];
        for (i, row) in cs.confusion.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let (Some(&a), Some(&b)) = (map.get(i), map.get(j)) else {
                    return Err(bad("confusion matrix larger than the class list"));
                };
                if let Some(cell) = out.get_mut(a).and_then(|r| r.get_mut(b)) {
                    *cell += v;
                }
            }
        }
        cs.confusion = out;
    }
    Ok(())
}

fn remap_summary(s: &mut Summary, classes: &[String]) -> Result<(), EvalError> {
    let own = s.classes.clone().unwrap_or_default();
    if own == classes {
        return Ok(());
    }
    let map: Vec<usize> = own
        .iter()
        .map(|c| classes.iter().position(|x| x == c).unwrap_or(0))
        .collect();
    let c = classes.len();
    remap(&mut s.results, &map, c)?;
    for sl in &mut s.slices {
        for v in &mut sl.values {
            remap(&mut v.results, &map, c)?;
        }
        for m in [&mut sl.other, &mut sl.missing].into_iter().flatten() {
            remap(m, &map, c)?;
        }
    }
    s.classes = Some(classes.to_vec());
    Ok(())
}

fn same_model(a: &Option<ModelIdentity>, b: &Option<ModelIdentity>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.sha256 == b.sha256 && a.target_path == b.target_path,
        (None, None) => true,
        _ => false,
    }
}

/// Merges device (or already merged) summaries into one. Refuses summaries of different
/// models, tasks, class lists (discovered label sets without probabilities are united),
/// options, bins or privacy settings with `SUMMARY_MISMATCH`, and inconsistent ones with
/// `BAD_SUMMARY`.
pub fn merge(summaries: &[Summary]) -> Result<Summary, EvalError> {
    let Some(first) = summaries.first() else {
        return Err(bad("nothing to merge"));
    };
    for s in summaries {
        validate(s)?;
    }
    let mut parts: Vec<Summary> = summaries.to_vec();
    for s in parts.iter().skip(1) {
        let what = if s.task != first.task {
            Some("task")
        } else if !same_model(&s.model, &first.model) {
            Some("model")
        } else if s.columns != first.columns {
            Some("columns")
        } else if s.metrics != first.metrics {
            Some("metric options")
        } else if s.slice_options != first.slice_options {
            Some("slice options")
        } else if s.privacy.as_ref().map(|p| (&p.mechanism, p.epsilon))
            != first.privacy.as_ref().map(|p| (&p.mechanism, p.epsilon))
        {
            Some("privacy settings")
        } else if s.drift.is_some() != first.drift.is_some()
            || s.latency.is_some() != first.latency.is_some()
        {
            Some("drift or latency present on one side only")
        } else if s.classes_fixed != first.classes_fixed
            || (s.classes_fixed && s.classes != first.classes)
        {
            Some("classes")
        } else {
            None
        };
        if let Some(w) = what {
            return Err(mismatch(format!("{w} differ")));
        }
    }
    if first.task == TaskKind::Classification && !first.classes_fixed {
        let mut all: Vec<String> = Vec::new();
        for s in &parts {
            for c in s.classes.iter().flatten() {
                if !all.contains(c) {
                    all.push(c.clone());
                }
            }
        }
        let all = sort_classes(all);
        for s in &mut parts {
            remap_summary(s, &all)?;
        }
    }
    let mut it = parts.into_iter();
    let Some(mut out) = it.next() else {
        return Err(bad("nothing to merge"));
    };
    for s in it {
        out.devices += s.devices;
        out.sources.extend(s.sources);
        out.rows_read += s.rows_read;
        out.rows_used += s.rows_used;
        out.rows_skipped += s.rows_skipped;
        merge_metric(&mut out.results, &s.results)?;
        if out.slices.len() != s.slices.len() {
            return Err(mismatch("slice columns differ"));
        }
        for (a, b) in out.slices.iter_mut().zip(&s.slices) {
            merge_slice(a, b)?;
        }
        if let (Some(a), Some(b)) = (&mut out.drift, &s.drift) {
            merge_drift(a, b)?;
        }
        if let (Some(a), Some(b)) = (&mut out.latency, &s.latency) {
            a.rows += b.rows;
            a.total_ms += b.total_ms;
            a.batch_ms.merge(&b.batch_ms)?;
        }
        out.privacy = match (out.privacy, s.privacy) {
            (Some(mut a), Some(b)) => {
                a.sensitivity = a.sensitivity.max(b.sensitivity);
                Some(a)
            }
            (a, _) => a,
        };
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Validation

fn check(ok: bool, what: &str) -> Result<(), EvalError> {
    if ok {
        Ok(())
    } else {
        Err(bad(what))
    }
}

fn validate_metric(
    m: &MetricSummary,
    c: Option<usize>,
    opts: &MetricOptions,
    exact: bool,
) -> Result<(), EvalError> {
    if let Some(cs) = &m.classification {
        let k = cs.confusion.len();
        check(
            c.is_none_or(|c| c == k),
            "confusion matrix and class list differ in size",
        )?;
        check(k <= MAX_SUMMARY_CLASSES, "too many classes")?;
        check(
            cs.confusion.iter().all(|r| r.len() == k),
            "confusion matrix is not square",
        )?;
        let n: u64 = cs.confusion.iter().flatten().sum();
        if let Some(p) = &cs.proba {
            check(p.scores.len() == k, "one score sketch per class")?;
            check(
                p.top_k.iter().map(|t| t.k).eq(opts.top_k.iter().copied()),
                "top-k list differs from the options",
            )?;
            check(
                p.calibration.len() == opts.calibration_bins + 1
                    && p.binary_calibration
                        .as_ref()
                        .is_none_or(|b| b.len() == p.calibration.len())
                    && p.binary_calibration.is_some() == (k == 2),
                "calibration bins differ from the options",
            )?;
            check(
                p.log_loss_sum.is_finite() && p.brier_sum.is_finite(),
                "non-finite sums",
            )?;
            for s in &p.scores {
                check(
                    s.width == 2 && s.entries.iter().all(|e| e.2.len() == 2),
                    "bad score sketch",
                )?;
            }
            if exact {
                check(
                    p.top_k.iter().all(|t| t.hits <= n),
                    "more top-k hits than rows",
                )?;
                check(
                    p.calibration.iter().map(|b| b.count).sum::<u64>() == n,
                    "calibration counts do not add up to the rows",
                )?;
                for (j, s) in p.scores.iter().enumerate() {
                    let support: u64 = cs.confusion.get(j).map_or(0, |r| r.iter().sum());
                    check(
                        s.total(0) == support && s.total(0) + s.total(1) == n,
                        "score counts do not add up to the confusion matrix",
                    )?;
                }
            }
        }
    }
    if let Some(r) = &m.regression {
        check(
            [r.abs_err_sum, r.sq_err_sum, r.pct_err_sum, r.mean_y, r.m2_y]
                .iter()
                .all(|x| x.is_finite()),
            "non-finite sums",
        )?;
        check(
            r.abs_err.width == 1 && r.abs_err.entries.iter().all(|e| e.2.len() == 1),
            "bad sketch",
        )?;
        if exact {
            check(
                r.abs_err.total(0) == r.n,
                "error counts do not add up to the rows",
            )?;
        }
    }
    Ok(())
}

/// Checks a summary's shape and, without privacy noise, that its counts add up.
pub fn validate(s: &Summary) -> Result<(), EvalError> {
    if s.summary_format != SUMMARY_FORMAT || s.summary_version != SUMMARY_VERSION {
        return Err(bad(format!(
            "unsupported summary {} version {}",
            s.summary_format, s.summary_version
        )));
    }
    let exact = s.privacy.is_none();
    let c = s.classes.as_ref().map(Vec::len);
    check(
        (s.task == TaskKind::Classification) == s.results.classification.is_some()
            && s.results.classification.is_none() != s.results.regression.is_none(),
        "results of another task",
    )?;
    validate_metric(&s.results, c, &s.metrics, exact)?;
    check(
        s.slices.len() == s.columns.slices.len(),
        "slice summaries differ from the slice columns",
    )?;
    for sl in &s.slices {
        let mut total = 0u64;
        for v in &sl.values {
            validate_metric(&v.results, c, &s.metrics, exact)?;
            total += v.results.n();
        }
        for m in [&sl.other, &sl.missing].into_iter().flatten() {
            validate_metric(m, c, &s.metrics, exact)?;
            total += m.n();
        }
        if exact {
            check(
                total == s.results.n(),
                "slice counts do not add up to the rows",
            )?;
        }
    }
    if exact {
        check(
            s.results.n() == s.rows_used,
            "results do not cover the rows used",
        )?;
        check(
            s.rows_used + s.rows_skipped == s.rows_read,
            "row counts do not add up",
        )?;
    }
    check(
        s.devices as usize == s.sources.len() && s.devices > 0,
        "one source per device",
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The fleet report

/// A metric computed from something other than exact statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approximation {
    /// Where (`results.roc_auc`, `slices.region`, `drift.x.ks`, `latency`, or `*`).
    pub metric: String,
    /// Why.
    pub reason: String,
    /// The largest possible absolute error, when one is known.
    pub bound: Option<f64>,
}

/// Rows of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetData {
    /// Rows read on every device.
    pub rows_read: u64,
    /// Rows used.
    pub rows_used: u64,
    /// Rows skipped.
    pub rows_skipped: u64,
    /// Each device's evaluation.
    pub sources: Vec<SourceInfo>,
}

/// A fleet report: every metric recomputed from merged summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    /// Always [`FLEET_REPORT_FORMAT`].
    pub report_format: String,
    /// Layout version (1).
    pub report_version: u32,
    /// The library that merged.
    pub library_version: String,
    /// Devices merged.
    pub devices: u64,
    /// The model.
    pub model: Option<ModelIdentity>,
    /// Task.
    pub task: TaskKind,
    /// Classes.
    pub classes: Option<Vec<String>>,
    /// Columns.
    pub columns: SummaryColumns,
    /// Rows.
    pub data: FleetData,
    /// Results over every device's rows.
    pub results: Results,
    /// Slices over every device's rows.
    pub slices: Vec<SliceGroup>,
    /// Drift of every device's rows.
    pub drift: Option<DriftReport>,
    /// Batch latency over every device's batches.
    pub latency: Option<LatencyReport>,
    /// Metrics that are not exact, with bounds.
    pub approximate: Vec<Approximation>,
    /// Privacy noise of the devices' summaries.
    pub privacy: Option<Privacy>,
    /// The merged summary (merge fleet reports again with it).
    pub summary: Summary,
}

struct Ctx<'a> {
    classes: &'a [String],
    opts: &'a MetricOptions,
    approx: Vec<Approximation>,
}

impl Ctx<'_> {
    fn note(&mut self, metric: String, reason: &str, bound: Option<f64>) {
        if !self.approx.iter().any(|a| a.metric == metric) {
            self.approx.push(Approximation {
                metric,
                reason: reason.into(),
                bound,
            });
        }
    }

    /// Results from a summary: the single evaluation's computations over merged counts.
    fn results(&mut self, m: &MetricSummary, path: &str) -> Results {
        if let Some(cs) = &m.classification {
            let c = cs.confusion.len();
            let flat: Vec<u64> = cs.confusion.iter().flatten().copied().collect();
            let mut cm = classification::from_confusion(self.classes, c, &flat);
            let n = cm.n;
            let mut cal = None;
            if let (Some(p), true) = (&cs.proba, n > 0) {
                cm.log_loss = Some(p.log_loss_sum / n as f64);
                cm.brier = Some(classification::brier_from_sum(p.brier_sum, n, c));
                cm.top_k = p
                    .top_k
                    .iter()
                    .map(|t| TopK {
                        k: t.k,
                        accuracy: classification::top_k_from_hits(t.hits, n, c, t.k),
                    })
                    .collect();
                let support: Vec<u64> = cm.per_class.iter().map(|k| k.support).collect();
                let mut bound = 0.0f64;
                let per_class = p
                    .scores
                    .iter()
                    .map(|s| {
                        if !s.is_exact() {
                            let (pt, nt) = (s.total(0) as f64, s.total(1) as f64);
                            let ties: f64 = s
                                .entries
                                .iter()
                                .filter(|e| e.0 != e.1 || s.grid.is_some())
                                .map(|e| {
                                    e.2.first().copied().unwrap_or(0) as f64
                                        * e.2.get(1).copied().unwrap_or(0) as f64
                                })
                                .sum();
                            if pt > 0.0 && nt > 0.0 {
                                bound = bound.max(0.5 * ties / (pt * nt));
                            }
                        }
                        classification::auc_from_counts(s.entries.iter().map(|e| {
                            (
                                e.2.first().copied().unwrap_or(0),
                                e.2.get(1).copied().unwrap_or(0),
                            )
                        }))
                    })
                    .collect();
                if p.scores.iter().any(|s| !s.is_exact()) {
                    self.note(
                        format!("{path}roc_auc"),
                        "scores bucketed: pairs within a bucket count as ties",
                        Some(bound),
                    );
                }
                cm.roc_auc = Some(classification::roc_from_per_class(
                    c, per_class, &support, n,
                ));
                let bins = self.opts.calibration_bins;
                cal = Some(Calibration {
                    top_label: calibration::from_bins(&p.calibration, bins),
                    binary: p
                        .binary_calibration
                        .as_ref()
                        .map(|b| calibration::from_bins(b, bins)),
                });
            }
            return Results {
                classification: Some(cm),
                regression: None,
                calibration: cal,
            };
        }
        if let Some(r) = &m.regression {
            let sums = RegressionSums {
                n: r.n,
                abs_err_sum: r.abs_err_sum,
                sq_err_sum: r.sq_err_sum,
                pct_err_sum: r.pct_err_sum,
                mean_y: r.mean_y,
                m2_y: r.m2_y,
                abs_err: Vec::new(),
            };
            if !r.abs_err.is_exact() {
                self.note(
                    format!("{path}median_ae"),
                    "absolute errors bucketed",
                    Some(r.abs_err.half_width()),
                );
            }
            let median = num::Counted::new(&r.abs_err.counts(0)).median();
            return Results {
                classification: None,
                regression: Some(regression::from_sums(&sums, median)),
                calibration: None,
            };
        }
        Results::default()
    }

    fn slice_group(
        &mut self,
        s: &SliceSummary,
        overall: &Results,
        regression: bool,
        cfg: &SliceConfig,
    ) -> SliceGroup {
        let metric = slices::flag_metric(cfg, regression);
        let flag = Flagging {
            metric: &metric,
            higher_better: metric_direction(&metric).unwrap_or(true),
            overall: overall.metric(&metric),
            cfg,
        };
        let path = format!("slices.{}.", s.column);
        let distinct = s.values.len();
        let max_values = cfg.max_values.max(1);
        let quantile = s.all_numeric
            && cfg.quantile_bins > 1
            && (distinct > max_values || distinct > 10 || s.other.is_some());
        let mut groups: Vec<(String, Option<f64>, Option<f64>, MetricSummary)> = Vec::new();
        if s.truncated {
            self.note(
                path.clone(),
                "a device had more distinct slice values than it lists",
                None,
            );
        }
        if quantile {
            // Each distinct value with its row count: the rows are never written out (a
            // summary's counts are untrusted and may be large).
            let mut vals: Vec<(f64, u64)> = s
                .values
                .iter()
                .map(|v| (v.number.unwrap_or(f64::NAN), v.results.n()))
                .collect();
            vals.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let edges =
                slices::quantile_edges_counted(&num::Counted::new(&vals), cfg.quantile_bins);
            let nb = edges.len().saturating_sub(1).max(1);
            let mut bins: Vec<MetricSummary> = vec![MetricSummary::default(); nb];
            for v in &s.values {
                let b = slices::bin_of(&edges, v.number.unwrap_or(f64::NAN));
                if let Some(m) = bins.get_mut(b) {
                    // Same shapes: they come from one merged summary.
                    let _ = merge_metric(m, &v.results);
                }
            }
            for (b, m) in bins.into_iter().enumerate() {
                let (label, lo, hi) = slices::bin_label(&edges, b);
                groups.push((label, lo, hi, m));
            }
        } else {
            let mut named: Vec<&SliceValueSummary> = s.values.iter().collect();
            slices::sort_values(&mut named, s.all_numeric, |v| &v.value);
            let mut other = s.other.clone();
            if named.len() > max_values {
                self.note(
                    path.clone(),
                    "more distinct values across devices than slices.max_values: the first in order are kept, the rest go to __other__",
                    None,
                );
                for v in named.split_off(max_values) {
                    let o = other.get_or_insert_with(MetricSummary::default);
                    let _ = merge_metric(o, &v.results);
                }
            } else if s.other.is_some() {
                self.note(
                    path.clone(),
                    "__other__ holds values devices did not list",
                    None,
                );
            }
            for v in named {
                groups.push((v.value.clone(), None, None, v.results.clone()));
            }
            if let Some(o) = other {
                groups.push(("__other__".into(), None, None, o));
            }
        }
        if let Some(m) = &s.missing {
            groups.push(("__missing__".into(), None, None, m.clone()));
        }
        let slices = groups
            .into_iter()
            .filter(|g| g.3.n() > 0)
            .map(|(value, lo, hi, m)| {
                let results = self.results(&m, &path);
                flag.slice(value, lo, hi, m.n(), results)
            })
            .collect();
        SliceGroup {
            column: s.column.clone(),
            kind: if quantile {
                SliceKind::Quantile
            } else {
                SliceKind::Categorical
            },
            metric: metric.clone(),
            overall: flag.overall,
            margin: cfg.margin,
            slices,
        }
    }
}

/// The fleet report of a (merged) summary: every metric recomputed from the sufficient
/// statistics, the same computations as a single evaluation.
pub fn fleet_report(summary: &Summary) -> Result<FleetReport, EvalError> {
    validate(summary)?;
    let classes = summary.classes.clone().unwrap_or_default();
    let mut ctx = Ctx {
        classes: &classes,
        opts: &summary.metrics,
        approx: Vec::new(),
    };
    if let Some(p) = &summary.privacy {
        ctx.note(
            "*".into(),
            &format!(
                "local differential privacy noise ({}, ε = {})",
                p.mechanism, p.epsilon
            ),
            None,
        );
    }
    let results = ctx.results(&summary.results, "results.");
    let regression = summary.task == TaskKind::Regression;
    let slices = summary
        .slices
        .iter()
        .map(|s| ctx.slice_group(s, &results, regression, &summary.slice_options))
        .collect();
    let drift = summary.drift.as_ref().map(|d| {
        let cfg = d.settings.config();
        let mut col = |c: &DriftColumnSummary| {
            let kept = c.values.as_ref().map_or(0, |v| v.iter().map(|x| x.1).sum::<u64>());
            if c.sampled || kept as usize > cfg.max_current_sample {
                ctx.note(
                    format!("drift.{}.ks", c.profile.name),
                    "KS and Wasserstein over more values than a single evaluation keeps (or a device's sample)",
                    None,
                );
            }
            c.result(&cfg)
        };
        let columns = d.columns.iter().map(&mut col).collect();
        let prediction = d.prediction.as_ref().map(&mut col);
        drift::report(columns, cfg.drift_share, prediction)
    });
    let latency = summary.latency.as_ref().map(|l| {
        if !l.batch_ms.is_exact() {
            ctx.note(
                "latency".into(),
                "batch times bucketed",
                Some(l.batch_ms.half_width()),
            );
        }
        latency::from_counted(
            &num::Counted::new(&l.batch_ms.counts(0)),
            l.rows,
            l.total_ms,
        )
    });
    Ok(FleetReport {
        report_format: FLEET_REPORT_FORMAT.into(),
        report_version: 1,
        library_version: crate::VERSION.into(),
        devices: summary.devices,
        model: summary.model.clone(),
        task: summary.task,
        classes: summary.classes.clone(),
        columns: summary.columns.clone(),
        data: FleetData {
            rows_read: summary.rows_read,
            rows_used: summary.rows_used,
            rows_skipped: summary.rows_skipped,
            sources: summary.sources.clone(),
        },
        results,
        slices,
        drift,
        latency,
        approximate: ctx.approx,
        privacy: summary.privacy.clone(),
        summary: summary.clone(),
    })
}

impl FleetReport {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The summary in a JSON document (snake_case keys): an evaluation report's `summary`, a
/// fleet report's `summary`, or a summary itself.
pub fn summary_of(doc: &serde_json::Value) -> Result<Summary, EvalError> {
    let format = doc.get("report_format").and_then(|f| f.as_str());
    let s = match (format, doc.get("summary_format")) {
        (Some(_), _) => doc
            .get("summary")
            .filter(|s| !s.is_null())
            .ok_or_else(|| bad("the report has no summary (evaluate with summary on)"))?,
        (None, Some(_)) => doc,
        (None, None) => return Err(bad("not a report or a summary")),
    };
    serde_json::from_value(s.clone()).map_err(|e| bad(e.to_string()))
}

/// Merges the summaries of report documents (evaluation reports, fleet reports or summaries)
/// into a fleet report.
pub fn merge_reports(docs: &[serde_json::Value]) -> Result<FleetReport, EvalError> {
    let summaries = docs.iter().map(summary_of).collect::<Result<Vec<_>, _>>()?;
    fleet_report(&merge(&summaries)?)
}

// ---------------------------------------------------------------------------------------------
// Local differential privacy

/// Random bits for privacy noise. Use a cryptographically secure source in production (the
/// CLI uses the OS, the JS API `crypto.getRandomValues`); [`Xoshiro256`] makes tests
/// deterministic.
pub trait NoiseRng {
    /// 64 random bits.
    fn next_u64(&mut self) -> u64;
}

impl NoiseRng for Xoshiro256 {
    fn next_u64(&mut self) -> u64 {
        Xoshiro256::next_u64(self)
    }
}

/// A uniform draw in `(0, 1]`.
fn unit(rng: &mut dyn NoiseRng) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
}

struct Noise<'a> {
    rng: &'a mut dyn NoiseRng,
    /// `exp(−ε/Δ)`.
    alpha: f64,
    /// `Δ/ε`.
    scale: f64,
}

impl Noise<'_> {
    /// Two-sided geometric noise: the difference of two geometric draws with `P(k) ∝ α^k`.
    fn geometric(&mut self) -> i64 {
        let ln_a = num::ln(self.alpha);
        let mut g = || {
            let u = unit(self.rng);
            if ln_a >= 0.0 {
                0
            } else {
                (num::ln(u) / ln_a).floor().min(1e15) as i64
            }
        };
        g() - g()
    }

    /// A count plus geometric noise, clamped at 0 (post-processing).
    fn count(&mut self, x: &mut u64) {
        let v = (*x as i64).saturating_add(self.geometric());
        *x = v.max(0) as u64;
    }

    /// A real sum plus Laplace noise, clamped to `[lo, hi]` (post-processing).
    fn real(&mut self, x: &mut f64, lo: f64, hi: f64) {
        let u = unit(self.rng) - 0.5;
        let lap = -self.scale * u.signum() * num::ln((1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE));
        *x = (*x + lap).clamp(lo, hi.max(lo));
    }

    fn bins(&mut self, bins: &mut [BinSums]) {
        for b in bins {
            self.count(&mut b.count);
            let c = b.count as f64;
            self.real(&mut b.confidence_sum, 0.0, c);
            self.real(&mut b.accuracy_sum, 0.0, c);
        }
    }

    fn metric(&mut self, m: &mut MetricSummary) {
        let Some(cs) = &mut m.classification else {
            return;
        };
        for x in cs.confusion.iter_mut().flatten() {
            self.count(x);
        }
        let n: u64 = cs.confusion.iter().flatten().sum();
        if let Some(p) = &mut cs.proba {
            self.real(&mut p.log_loss_sum, 0.0, LOG_LOSS_MAX * n as f64);
            self.real(&mut p.brier_sum, 0.0, 2.0 * n as f64);
            for t in &mut p.top_k {
                self.count(&mut t.hits);
            }
            for s in &mut p.scores {
                *s = on_grid(s, PRIVATE_SCORE_BINS);
                for e in &mut s.entries {
                    for x in &mut e.2 {
                        self.count(x);
                    }
                }
            }
            self.bins(&mut p.calibration);
            if let Some(b) = &mut p.binary_calibration {
                self.bins(b);
            }
        }
    }

    fn drift(&mut self, d: &mut DriftColumnSummary) {
        d.distinct.clear();
        d.distinct_overflow = true;
        d.values = None;
        d.sampled = false;
        if let Some(c) = &d.profile.categorical {
            let mut cats: BTreeMap<String, u64> =
                c.categories.iter().map(|k| (k.value.clone(), 0)).collect();
            let mut other = d.category_overflow;
            for (k, n) in d.categories.drain(..) {
                match cats.get_mut(&k) {
                    Some(x) => *x += n,
                    None => other += n,
                }
            }
            cats.insert("__other__".into(), other);
            d.category_overflow = 0;
            for x in cats.values_mut() {
                self.count(x);
            }
            d.count = cats.values().sum();
            d.categories = cats.into_iter().collect();
        } else {
            for x in &mut d.histogram {
                self.count(x);
            }
            d.count = d.histogram.iter().sum();
        }
    }
}

/// A score sketch on the public grid of `bins` equal bins over `[0, 1]` (every bin present, so
/// which scores occur is not disclosed).
fn on_grid(s: &ValueSketch, bins: u32) -> ValueSketch {
    let g = f64::from(bins);
    let mut entries: Vec<SketchEntry> = (0..=bins)
        .map(|b| {
            let lo = f64::from(b) / g;
            SketchEntry(lo, (f64::from(b + 1) / g).min(1.0), vec![0; s.width])
        })
        .collect();
    for e in &s.entries {
        let k = ValueSketch::key(0, Some(bins), representative(e)) as usize;
        if let Some(t) = entries.get_mut(k.min(bins as usize)) {
            for (a, b) in t.2.iter_mut().zip(&e.2) {
                *a += b;
            }
        }
    }
    ValueSketch {
        width: s.width,
        cap: s.cap,
        shift: 0,
        grid: Some(bins),
        entries,
    }
}

fn metric_sensitivity(m: &MetricSummary) -> f64 {
    match &m.classification {
        Some(cs) => {
            1.0 + cs.proba.as_ref().map_or(0.0, |p| {
                // top-k hits, one score cell per class, the calibration count and two sums
                // (top-label and binary), the log-loss and Brier terms.
                p.top_k.len() as f64
                    + p.scores.len() as f64
                    + 3.0
                    + if p.binary_calibration.is_some() {
                        3.0
                    } else {
                        0.0
                    }
                    + LOG_LOSS_MAX
                    + 2.0
            })
        }
        None => 0.0,
    }
}

/// The L1 sensitivity of a classification summary to adding or removing one row: the row
/// changes one confusion cell (1), each top-k hit count (1 each), one score bucket per class
/// (1 each), the count and the two sums of one calibration bin (3, and 3 more for the binary
/// table), the log-loss sum (at most `−ln eps` ≈ 36.04, as probabilities are clipped) and the
/// Brier sum (at most 2); all of that once for the whole and once in one value of each slice
/// column; plus the rows read and used or skipped (2), one histogram or category count per
/// drift column and for the prediction (1 each).
pub fn sensitivity(s: &Summary) -> f64 {
    let base = metric_sensitivity(&s.results);
    let drift = s
        .drift
        .as_ref()
        .map_or(0, |d| d.columns.len() + usize::from(d.prediction.is_some()));
    base * (1 + s.slices.len()) as f64 + 2.0 + drift as f64
}

/// Adds local differential privacy noise to one device's summary: two-sided geometric noise
/// with `α = exp(−ε/Δ)` on every count and Laplace noise of scale `Δ/ε` on every real sum,
/// where `Δ` is [`sensitivity`]; together ε-differentially private for adding or removing one
/// row (each coordinate's density ratio is at most `exp(ε·|change|/Δ)` and the changes sum to
/// at most `Δ`). Noised values are then clamped to their valid ranges (post-processing, which
/// keeps the guarantee).
///
/// Before noise, what would disclose data beyond counts is removed: ROC score sketches move
/// onto a public grid of [`PRIVATE_SCORE_BINS`] bins (all bins present), drift loses the exact
/// current values and distinct values (KS and Wasserstein become unavailable; PSI, JS,
/// chi-square and z-tests stay), categories the profile does not know are folded into
/// `__other__`, latency and the data digests are dropped. Slice values themselves are not
/// hidden: choose slice columns whose values are not sensitive.
///
/// Regression summaries are refused: their sums (errors, targets) have no bound without
/// clipping the data first, so no finite sensitivity exists.
pub fn add_noise(s: &mut Summary, epsilon: f64, rng: &mut dyn NoiseRng) -> Result<(), EvalError> {
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(EvalError::InvalidArgument {
            reason: format!("epsilon must be a positive number, got {epsilon}"),
        });
    }
    if s.privacy.is_some() || s.devices != 1 {
        return Err(EvalError::InvalidArgument {
            reason: "noise is added once, to one device's summary".into(),
        });
    }
    if s.task == TaskKind::Regression {
        return Err(EvalError::InvalidArgument {
            reason: "privacy noise needs bounded sums: regression summaries are not supported"
                .into(),
        });
    }
    let delta = sensitivity(s);
    let mut noise = Noise {
        rng,
        alpha: num::exp(-epsilon / delta),
        scale: delta / epsilon,
    };
    noise.metric(&mut s.results);
    for sl in &mut s.slices {
        for v in &mut sl.values {
            noise.metric(&mut v.results);
        }
        for m in [&mut sl.other, &mut sl.missing].into_iter().flatten() {
            noise.metric(m);
        }
    }
    if let Some(d) = &mut s.drift {
        for c in d.columns.iter_mut().chain(d.prediction.as_mut()) {
            noise.drift(c);
        }
    }
    s.latency = None;
    noise.count(&mut s.rows_read);
    noise.count(&mut s.rows_skipped);
    s.rows_used = s.results.n();
    for src in &mut s.sources {
        src.data_sha256 = None;
        src.rows_used = s.rows_used;
    }
    s.privacy = Some(Privacy {
        mechanism: "geometric+laplace".into(),
        epsilon,
        per_device: true,
        sensitivity: delta,
    });
    Ok(())
}
