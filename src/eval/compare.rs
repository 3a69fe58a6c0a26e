//! Champion vs challenger: two models' predictions on the same rows.
//!
//! - Metric deltas (`challenger − champion`) with paired bootstrap confidence intervals: each of
//!   `resamples` resamples draws `n` row indices with replacement (the same indices for both
//!   models) from [`Xoshiro256`] seeded with `seed` (`below(n)` per draw), recomputes the metric
//!   for both, and keeps the delta; the interval is `np.percentile(deltas, [2.5, 97.5])`
//!   (linear) for 95%. Resamples where the metric is undefined for either model (e.g. ROC AUC
//!   with one class drawn) are left out and counted. Reproducible on every platform;
//!   `scripts/gen_eval_reference.py` reimplements the generator and checks the intervals.
//! - A verdict per metric: `challenger_better` when the interval lies entirely on the better
//!   side of 0, `champion_better` when entirely on the worse side, otherwise `no_difference`.
//! - McNemar's exact test on the classifiers' correctness
//!   (`statsmodels.stats.contingency_tables.mcnemar(table, exact=True)`).
//!
//! Cost: `resamples` metric computations per model over `n` rows each, O(n·C) per resample; the
//! per-class sorts of ROC AUC and the calibration bins are only redone when a compared metric
//! needs them.

use serde::{Deserialize, Serialize};

use super::error::{invalid, EvalError};
use super::num::{self, Xoshiro256};
use super::results::{metric_direction, ModelIdentity, Results};
use super::stats;
use super::task::{MetricOptions, TaskData};

/// Options of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompareConfig {
    /// Metrics to compare (names as in [`crate::eval::results::METRIC_NAMES`]). Default:
    /// accuracy, F1 macro and log loss for classification, MAE, RMSE and R² for regression.
    pub metrics: Vec<String>,
    /// Bootstrap resamples. Default 1000.
    pub resamples: usize,
    /// PRNG seed. Default 0.
    pub seed: u64,
    /// Confidence level. Default 0.95.
    pub confidence: f64,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            metrics: Vec::new(),
            resamples: 1000,
            seed: 0,
            confidence: 0.95,
        }
    }
}

/// Verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval lies on the challenger's better side of 0.
    ChallengerBetter,
    /// The interval lies on the champion's better side.
    ChampionBetter,
    /// The interval contains 0.
    NoDifference,
    /// The metric is undefined for a model, or no resample was usable.
    Undefined,
}

/// One metric compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// Metric name.
    pub metric: String,
    /// Whether higher is better.
    pub higher_is_better: bool,
    /// Champion's value on all rows.
    pub champion: Option<f64>,
    /// Challenger's value on all rows.
    pub challenger: Option<f64>,
    /// `challenger − champion`.
    pub delta: Option<f64>,
    /// Lower end of the bootstrap interval of the delta.
    pub ci_low: Option<f64>,
    /// Upper end.
    pub ci_high: Option<f64>,
    /// Resamples where the metric was defined for both.
    pub valid_resamples: u64,
    /// The verdict.
    pub verdict: Verdict,
}

/// McNemar's exact test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Rows both got right.
    pub both_correct: u64,
    /// Rows only the champion got right (b).
    pub champion_only: u64,
    /// Rows only the challenger got right (c).
    pub challenger_only: u64,
    /// Rows both got wrong.
    pub both_wrong: u64,
    /// `min(b, c)`.
    pub statistic: f64,
    /// Exact two-sided p-value.
    pub p_value: f64,
}

/// The comparison section of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The champion model.
    pub champion: Option<ModelIdentity>,
    /// The challenger model.
    pub challenger: Option<ModelIdentity>,
    /// Rows compared.
    pub n: u64,
    /// Bootstrap resamples.
    pub resamples: u64,
    /// PRNG seed.
    pub seed: u64,
    /// Confidence level.
    pub confidence: f64,
    /// The PRNG, named so the intervals can be reproduced.
    pub prng: String,
    /// Per metric.
    pub metrics: Vec<MetricComparison>,
    /// McNemar's test (classification).
    pub mcnemar: Option<McNemar>,
    /// The challenger's full results.
    pub challenger_results: Results,
}

/// Compares two prediction sets on the same rows (same labels, same order).
pub fn compare(
    champion: &TaskData,
    challenger: &TaskData,
    cfg: &CompareConfig,
    opts: &MetricOptions,
) -> Result<Comparison, EvalError> {
    let n = champion.len();
    if n != challenger.len() {
        return Err(invalid(format!(
            "champion has {n} rows, challenger {}",
            challenger.len()
        )));
    }
    let metrics: Vec<String> = if cfg.metrics.is_empty() {
        match champion {
            TaskData::Classification { .. } => {
                vec!["accuracy".into(), "f1_macro".into(), "log_loss".into()]
            }
            TaskData::Regression(_) => vec!["mae".into(), "rmse".into(), "r2".into()],
        }
    } else {
        cfg.metrics.clone()
    };
    for m in &metrics {
        if metric_direction(m).is_none() {
            return Err(invalid(format!("unknown metric {m:?}")));
        }
    }
    if !(cfg.confidence > 0.0 && cfg.confidence < 1.0) {
        return Err(invalid("confidence must be in (0, 1)"));
    }
    let mcnemar = paired_test(champion, challenger, n)?;
    let full_a = champion.results(None, opts);
    let full_b = challenger.results(None, opts);
    let deltas = bootstrap_deltas(champion, challenger, &metrics, cfg, opts);
    let alpha = (1.0 - cfg.confidence) / 2.0;
    let per_metric = metrics
        .iter()
        .zip(deltas)
        .map(|(m, d)| metric_comparison(m, full_a.metric(m), full_b.metric(m), d, alpha))
        .collect();
    Ok(Comparison {
        champion: None,
        challenger: None,
        n: n as u64,
        resamples: cfg.resamples as u64,
        seed: cfg.seed,
        confidence: cfg.confidence,
        prng: "xoshiro256** seeded by SplitMix64; index = (next_u64 * n) >> 64".into(),
        metrics: per_metric,
        mcnemar,
        challenger_results: full_b,
    })
}

/// McNemar's exact test on who is right, row by row (classification), after checking that
/// both sides label the rows alike; `None` for regression.
fn paired_test(
    champion: &TaskData,
    challenger: &TaskData,
    n: usize,
) -> Result<Option<McNemar>, EvalError> {
    match (champion, challenger) {
        (TaskData::Classification { data: a, .. }, TaskData::Classification { data: b, .. }) => {
            if a.labels() != b.labels() {
                return Err(invalid(
                    "champion and challenger rows have different labels",
                ));
            }
            let (mut both, mut only_a, mut only_b, mut none) = (0u64, 0u64, 0u64, 0u64);
            let correct = |d: &super::classification::ClassificationData| -> Vec<bool> {
                d.preds()
                    .iter()
                    .zip(d.labels())
                    .map(|(p, y)| p == y)
                    .collect()
            };
            for (ca, cb) in correct(a).into_iter().zip(correct(b)).take(n) {
                match (ca, cb) {
                    (true, true) => both += 1,
                    (true, false) => only_a += 1,
                    (false, true) => only_b += 1,
                    (false, false) => none += 1,
                }
            }
            let test = stats::mcnemar_exact(only_a, only_b);
            Ok(Some(McNemar {
                both_correct: both,
                champion_only: only_a,
                challenger_only: only_b,
                both_wrong: none,
                statistic: test.statistic,
                p_value: test.p_value,
            }))
        }
        (TaskData::Regression(a), TaskData::Regression(b)) => {
            if a.y_true() != b.y_true() {
                return Err(invalid(
                    "champion and challenger rows have different labels",
                ));
            }
            Ok(None)
        }
        _ => Err(invalid("champion and challenger are different tasks")),
    }
}

/// The paired bootstrap: `cfg.resamples` resamples of the row indices (the same for both
/// sides), and for each metric the challenger-minus-champion delta of every resample where
/// both are defined.
fn bootstrap_deltas(
    champion: &TaskData,
    challenger: &TaskData,
    metrics: &[String],
    cfg: &CompareConfig,
    opts: &MetricOptions,
) -> Vec<Vec<f64>> {
    let n = champion.len();
    let mut deltas: Vec<Vec<f64>> = vec![Vec::new(); metrics.len()];
    if n == 0 {
        return deltas;
    }
    let need_auc = metrics.iter().any(|m| m.starts_with("roc_auc"));
    let need_cal = metrics.iter().any(|m| m == "ece" || m == "mce");
    let mut rng = Xoshiro256::new(cfg.seed);
    let mut idx: Vec<u32> = vec![0; n];
    for _ in 0..cfg.resamples {
        for v in idx.iter_mut() {
            *v = rng.below(n as u64) as u32;
        }
        let ra = champion.results_with(Some(&idx), opts, need_auc, need_cal);
        let rb = challenger.results_with(Some(&idx), opts, need_auc, need_cal);
        for (m, d) in metrics.iter().zip(deltas.iter_mut()) {
            if let (Some(x), Some(y)) = (ra.metric(m), rb.metric(m)) {
                d.push(y - x);
            }
        }
    }
    deltas
}

/// One metric's comparison: the full-data values, the percentile interval of the bootstrap
/// deltas, and the verdict (better only when the whole interval is on one side of 0).
fn metric_comparison(
    m: &str,
    a: Option<f64>,
    b: Option<f64>,
    mut d: Vec<f64>,
    alpha: f64,
) -> MetricComparison {
    let hib = metric_direction(m).unwrap_or(true);
    num::sort_f64(&mut d);
    let lo = num::quantile_sorted(&d, alpha);
    let hi = num::quantile_sorted(&d, 1.0 - alpha);
    let verdict = match (a, b, lo, hi) {
        (Some(_), Some(_), Some(lo), Some(hi)) => {
            let (better_lo, better_hi) = if hib { (lo, hi) } else { (-hi, -lo) };
            if better_lo > 0.0 {
                Verdict::ChallengerBetter
            } else if better_hi < 0.0 {
                Verdict::ChampionBetter
            } else {
                Verdict::NoDifference
            }
        }
        _ => Verdict::Undefined,
    };
    MetricComparison {
        metric: m.to_string(),
        higher_is_better: hib,
        champion: a,
        challenger: b,
        delta: a.zip(b).map(|(a, b)| b - a),
        ci_low: lo,
        ci_high: hi,
        valid_resamples: d.len() as u64,
        verdict,
    }
}
