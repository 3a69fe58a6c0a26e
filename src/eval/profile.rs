//! Reference data profiles: what a publisher computes from training data (`publish --profile
//! train.csv`) and ships as a registry target, so a device can check data quality and drift
//! without the training data.
//!
//! Format (JSON, versioned by `format` + `version`; this is version 1):
//!
//! ```json
//! { "format": "edge-registry-profile", "version": 1, "rows": 1797,
//!   "columns": [
//!     { "name": "pixel_0", "kind": "numeric", "count": 1797, "missing": 0,
//!       "numeric": { "min": 0, "max": 16, "mean": 0.0, "std": 0.0,
//!                    "quantiles": [{"q": 0.0, "value": 0}, ...],
//!                    "histogram": {"edges": [...11 edges...], "counts": [...10 counts...]},
//!                    "value_counts": [{"value": 0, "count": 1797}],
//!                    "distinct": 1,
//!                    "sample": [...sorted...], "sample_is_complete": true } },
//!     { "name": "city", "kind": "categorical", "count": 10, "missing": 0,
//!       "categorical": { "categories": [{"value": "Paris", "count": 6}, ...], "other": 0,
//!                        "distinct": 2 } } ] }
//! ```
//!
//! - `std` is the population standard deviation (`np.std`, ddof=0), as Evidently's Wasserstein
//!   normalisation uses. Quantiles are `np.quantile` (linear) at [`QUANTILE_LEVELS`].
//! - `histogram`: `np.histogram(values, bins=n_bins)` edges and counts (equal width over
//!   `[min, max]`, or `[min − 0.5, max + 0.5]` when constant; the last bin is closed).
//! - `value_counts`: exact counts when the column has at most [`ProfileConfig::max_value_counts`]
//!   distinct numbers (Evidently treats numeric columns with ≤ 5 distinct values as
//!   categorical); `distinct` is exact up to that cap and `cap + 1` means "more".
//! - `sample`: the reference values the two-sample tests run against. All values (sorted) when
//!   there are at most [`ProfileConfig::sample_size`]; otherwise the order statistics at ranks
//!   `⌊(2i + 1)·n / (2m)⌋`, `i = 0..m` (evenly spaced quantiles of the sorted data). KS and
//!   Wasserstein results are then exactly scipy's on `(sample, current)`; Evidently only uses KS
//!   for references of at most 1,000 rows, where the sample is complete by default.
//! - Categorical columns keep the most frequent [`ProfileConfig::max_categories`] categories
//!   (ties by value); the rest are summed in `other`.
//!
//! A column is numeric when every non-missing value is a number; otherwise categorical.
//! Non-finite numbers (`inf`) are counted as missing in a profile, as Evidently drops them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::data::Value;
use super::error::EvalError;
use super::num::{self, NeumaierSum};

/// The `format` string of a profile document.
pub const PROFILE_FORMAT: &str = "edge-registry-profile";
/// The profile version this code writes and reads.
pub const PROFILE_VERSION: u32 = 1;
/// Quantile levels stored for numeric columns.
pub const QUANTILE_LEVELS: [f64; 11] =
    [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0];

/// A reference profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Always [`PROFILE_FORMAT`].
    pub format: String,
    /// Always [`PROFILE_VERSION`] for this code.
    pub version: u32,
    /// Rows profiled.
    pub rows: u64,
    /// One entry per column.
    pub columns: Vec<ColumnProfile>,
}

/// Column kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Every non-missing value is a number.
    Numeric,
    /// Anything else.
    Categorical,
}

/// One column of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: ColumnKind,
    /// Non-missing (and, for numbers, finite) values.
    pub count: u64,
    /// Missing or non-finite values.
    pub missing: u64,
    /// Statistics of a numeric column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericProfile>,
    /// Statistics of a categorical column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categorical: Option<CategoricalProfile>,
}

/// A quantile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuantilePoint {
    /// Level in `[0, 1]`.
    pub q: f64,
    /// Value.
    pub value: f64,
}

/// A histogram with explicit edges (`edges.len() == counts.len() + 1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bin edges, increasing.
    pub edges: Vec<f64>,
    /// Counts per bin.
    pub counts: Vec<u64>,
}

/// A value and its count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumberCount {
    /// The number.
    pub value: f64,
    /// How often it occurs.
    pub count: u64,
}

/// A category and its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// The category.
    pub value: String,
    /// How often it occurs.
    pub count: u64,
}

/// Statistics of a numeric column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation (ddof = 0).
    pub std: f64,
    /// Quantiles at [`QUANTILE_LEVELS`].
    pub quantiles: Vec<QuantilePoint>,
    /// Equal-width histogram.
    pub histogram: Histogram,
    /// Exact value counts when there are few distinct values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_counts: Option<Vec<NumberCount>>,
    /// Distinct values (exact up to the cap; cap + 1 means more).
    pub distinct: u64,
    /// Sorted reference sample (see the module documentation).
    pub sample: Vec<f64>,
    /// Whether `sample` holds every value.
    pub sample_is_complete: bool,
}

/// Statistics of a categorical column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoricalProfile {
    /// Most frequent categories with counts (by count descending, then value).
    pub categories: Vec<CategoryCount>,
    /// Rows in categories beyond the cap.
    pub other: u64,
    /// Distinct categories seen.
    pub distinct: u64,
}

impl Profile {
    /// Parses and checks a profile document.
    pub fn from_json(bytes: &[u8]) -> Result<Profile, EvalError> {
        let p: Profile = serde_json::from_slice(bytes).map_err(|e| EvalError::BadProfile {
            reason: e.to_string(),
        })?;
        if p.format != PROFILE_FORMAT || p.version != PROFILE_VERSION {
            return Err(EvalError::BadProfile {
                reason: format!(
                    "unsupported profile {:?} version {} (this library reads {PROFILE_FORMAT:?} version {PROFILE_VERSION})",
                    p.format, p.version
                ),
            });
        }
        for c in &p.columns {
            if let Some(n) = &c.numeric {
                let h = &n.histogram;
                if h.edges.len() != h.counts.len() + 1
                    || h.edges.iter().any(|x| x.is_nan())
                    || h.edges.windows(2).any(|w| matches!(w, [a, b] if a > b))
                {
                    return Err(EvalError::BadProfile {
                        reason: format!("column {:?}: malformed histogram", c.name),
                    });
                }
                if n.sample.iter().any(|x| x.is_nan())
                    || n.sample.windows(2).any(|w| matches!(w, [a, b] if a > b))
                {
                    return Err(EvalError::BadProfile {
                        reason: format!("column {:?}: sample is not sorted", c.name),
                    });
                }
            }
        }
        Ok(p)
    }

    /// The profile as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Options of [`ProfileBuilder`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileConfig {
    /// Histogram bins. Default 10 (Evidently's PSI default).
    pub n_bins: usize,
    /// Reference sample size. Default 1,000.
    pub sample_size: usize,
    /// Categories kept per column. Default 1,000.
    pub max_categories: usize,
    /// Distinct numbers tracked for exact value counts. Default 20.
    pub max_value_counts: usize,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig {
            n_bins: 10,
            sample_size: 1000,
            max_categories: 1000,
            max_value_counts: 20,
        }
    }
}

/// Builds a [`Profile`] from rows (cells aligned with the column names given at creation).
/// Memory: 8 bytes per numeric value (quantiles need them sorted) plus one entry per distinct
/// category (capped at 100,000 per column; the rest are counted in `other`).
pub struct ProfileBuilder {
    names: Vec<String>,
    config: ProfileConfig,
    rows: u64,
    cols: Vec<ColumnAcc>,
}

struct ColumnAcc {
    numbers: Vec<f64>,
    missing: u64,
    non_numeric: bool,
    texts: HashMap<String, u64>,
    text_other: u64,
}

const TEXT_TRACK_CAP: usize = 100_000;

impl ProfileBuilder {
    /// A builder for these columns.
    pub fn new(names: Vec<String>, config: ProfileConfig) -> Result<Self, EvalError> {
        if config.n_bins == 0 || config.sample_size == 0 {
            return Err(super::error::invalid(
                "n_bins and sample_size must be positive",
            ));
        }
        // Histograms and samples are allocated from these numbers (caller options).
        for (what, value, limit) in [
            ("n_bins", config.n_bins, 10_000),
            ("sample_size", config.sample_size, 10_000_000),
            ("max_categories", config.max_categories, 1_000_000),
            ("max_value_counts", config.max_value_counts, 1_000_000),
        ] {
            if value > limit {
                return Err(EvalError::LimitExceeded {
                    what: format!("profile {what}"),
                    limit: limit as u64,
                });
            }
        }
        let cols = names
            .iter()
            .map(|_| ColumnAcc {
                numbers: Vec::new(),
                missing: 0,
                non_numeric: false,
                texts: HashMap::new(),
                text_other: 0,
            })
            .collect();
        Ok(ProfileBuilder {
            names,
            config,
            rows: 0,
            cols,
        })
    }

    /// Adds a row.
    pub fn add_row(&mut self, cells: &[Value]) {
        self.rows += 1;
        for (acc, v) in self.cols.iter_mut().zip(cells) {
            let Some(key) = v.key() else {
                acc.missing += 1;
                continue;
            };
            match v.number() {
                Some(Ok(x)) if !acc.non_numeric => {
                    if x.is_finite() {
                        acc.numbers.push(x);
                    } else {
                        acc.missing += 1;
                        continue;
                    }
                }
                Some(Ok(x)) if !x.is_finite() => {
                    acc.missing += 1;
                    continue;
                }
                Some(Err(_)) => acc.non_numeric = true,
                _ => {}
            }
            if acc.texts.len() < TEXT_TRACK_CAP || acc.texts.contains_key(&key) {
                *acc.texts.entry(key).or_insert(0) += 1;
            } else {
                acc.text_other += 1;
            }
        }
    }

    /// Computes the profile.
    pub fn finish(self) -> Profile {
        let cfg = &self.config;
        let columns = self
            .names
            .into_iter()
            .zip(self.cols)
            .map(|(name, mut acc)| {
                if acc.non_numeric {
                    let count: u64 = acc.texts.values().sum::<u64>() + acc.text_other;
                    let distinct = acc.texts.len() as u64 + u64::from(acc.text_other > 0);
                    let mut cats: Vec<CategoryCount> = acc
                        .texts
                        .into_iter()
                        .map(|(value, count)| CategoryCount { value, count })
                        .collect();
                    cats.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                    let other = acc.text_other
                        + cats
                            .iter()
                            .skip(cfg.max_categories)
                            .map(|c| c.count)
                            .sum::<u64>();
                    cats.truncate(cfg.max_categories);
                    ColumnProfile {
                        name,
                        kind: ColumnKind::Categorical,
                        count,
                        missing: acc.missing,
                        numeric: None,
                        categorical: Some(CategoricalProfile {
                            categories: cats,
                            other,
                            distinct,
                        }),
                    }
                } else {
                    num::sort_f64(&mut acc.numbers);
                    let numeric = numeric_profile(&acc.numbers, cfg);
                    ColumnProfile {
                        name,
                        kind: ColumnKind::Numeric,
                        count: acc.numbers.len() as u64,
                        missing: acc.missing,
                        numeric,
                        categorical: None,
                    }
                }
            })
            .collect();
        Profile {
            format: PROFILE_FORMAT.into(),
            version: PROFILE_VERSION,
            rows: self.rows,
            columns,
        }
    }
}

/// `np.histogram_bin_edges(values, bins=n)` for data with this min and max.
pub fn histogram_edges(min: f64, max: f64, n: usize) -> Vec<f64> {
    let (first, last) = if min == max {
        (min - 0.5, max + 0.5)
    } else {
        (min, max)
    };
    let step = (last - first) / n as f64;
    let mut edges: Vec<f64> =
        if step.is_finite() || n == 0 || !(first.is_finite() && last.is_finite()) {
            (0..=n).map(|i| i as f64 * step + first).collect()
        } else {
            // last - first overflowed (data near ±f64::MAX): convex combinations stay finite.
            (0..=n)
                .map(|i| {
                    let t = i as f64 / n as f64;
                    first * (1.0 - t) + last * t
                })
                .collect()
        };
    if let Some(l) = edges.last_mut() {
        *l = last;
    }
    edges
}

/// The bin of `x` among `edges` as `np.histogram` assigns it (`edges[i] ≤ x < edges[i+1]`, the
/// last bin closed); `None` outside `[edges[0], edges[last]]`.
pub fn histogram_bin(edges: &[f64], x: f64) -> Option<usize> {
    let n = edges.len().checked_sub(1)?;
    let (&first, &last) = (edges.first()?, edges.last()?);
    if n == 0 || x.is_nan() || x < first || x > last {
        return None;
    }
    let i = edges.partition_point(|&e| e <= x).saturating_sub(1);
    Some(i.min(n - 1))
}

fn numeric_profile(sorted: &[f64], cfg: &ProfileConfig) -> Option<NumericProfile> {
    let n = sorted.len();
    let (&min, &max) = (sorted.first()?, sorted.last()?);
    let mut mean = num::sum(sorted.iter().copied()) / n as f64;
    if !mean.is_finite() {
        // The sum overflowed (values near ±f64::MAX; the data parsers give finite numbers
        // only): sum the values divided by n instead, whose total is finite.
        mean = num::sum(sorted.iter().map(|&x| x / n as f64));
    }
    let mut var = NeumaierSum::new();
    for &x in sorted {
        var.add((x - mean) * (x - mean));
    }
    let mut std = num::sqrt(var.total() / n as f64);
    if !std.is_finite() {
        // The squares overflowed: the same deviation on values scaled by the largest
        // magnitude, scaled back (the result is at most (max - min) / 2, so finite).
        let s = min.abs().max(max.abs());
        let mut scaled = NeumaierSum::new();
        for &x in sorted {
            let d = x / s - mean / s;
            scaled.add(d * d);
        }
        std = (s * num::sqrt(scaled.total() / n as f64)).min(f64::MAX);
    }
    let quantiles = QUANTILE_LEVELS
        .iter()
        .filter_map(|&q| num::quantile_sorted(sorted, q).map(|value| QuantilePoint { q, value }))
        .collect();
    let edges = histogram_edges(min, max, cfg.n_bins);
    let mut counts = vec![0u64; cfg.n_bins];
    for &x in sorted {
        if let Some(count) = histogram_bin(&edges, x).and_then(|b| counts.get_mut(b)) {
            *count += 1;
        }
    }
    // Distinct values and exact counts (sorted input: runs).
    let mut runs: Vec<NumberCount> = Vec::new();
    let mut distinct = 0u64;
    let cap = cfg.max_value_counts as u64;
    for run in sorted.chunk_by(|a, b| a == b) {
        distinct += 1;
        if distinct > cap {
            distinct = cap + 1;
            break;
        }
        if let Some(&value) = run.first() {
            runs.push(NumberCount {
                value,
                count: run.len() as u64,
            });
        }
    }
    let value_counts = (distinct <= cap).then_some(runs);
    let m = cfg.sample_size;
    let (sample, complete) = if n <= m {
        (sorted.to_vec(), true)
    } else {
        let s = (0..m)
            .filter_map(|i| {
                sorted.get(((2 * i + 1) as u128 * n as u128 / (2 * m) as u128) as usize)
            })
            .copied()
            .collect();
        (s, false)
    };
    Some(NumericProfile {
        min,
        max,
        mean,
        std,
        quantiles,
        histogram: Histogram { edges, counts },
        value_counts,
        distinct,
        sample,
        sample_is_complete: complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_round_trips() {
        let mut b =
            ProfileBuilder::new(vec!["x".into(), "c".into()], ProfileConfig::default()).unwrap();
        for i in 0..100 {
            b.add_row(&[
                Value::Text(format!("{}", i % 7)),
                Value::Text(if i % 3 == 0 { "a".into() } else { "b".into() }),
            ]);
        }
        b.add_row(&[Value::Missing, Value::Missing]);
        let p = b.finish();
        assert_eq!(p.rows, 101);
        let x = p.column("x").unwrap();
        assert_eq!(x.kind, ColumnKind::Numeric);
        assert_eq!(x.count, 100);
        assert_eq!(x.missing, 1);
        let n = x.numeric.as_ref().unwrap();
        assert_eq!(n.distinct, 7);
        assert_eq!(n.value_counts.as_ref().unwrap().len(), 7);
        assert_eq!(n.histogram.counts.iter().sum::<u64>(), 100);
        let c = p.column("c").unwrap();
        assert_eq!(c.kind, ColumnKind::Categorical);
        assert_eq!(c.categorical.as_ref().unwrap().categories[0].value, "b");
        let back = Profile::from_json(p.to_json().as_bytes()).unwrap();
        assert_eq!(back, p);
        assert!(Profile::from_json(b"{}").is_err());
    }

    #[test]
    fn histogram_matches_numpy_rules() {
        let e = histogram_edges(0.0, 10.0, 10);
        assert_eq!(histogram_bin(&e, 10.0), Some(9));
        assert_eq!(histogram_bin(&e, 0.0), Some(0));
        assert_eq!(histogram_bin(&e, 1.0), Some(1));
        assert_eq!(histogram_bin(&e, 10.5), None);
        let c = histogram_edges(3.0, 3.0, 2);
        assert_eq!(c, vec![2.5, 3.0, 3.5]);
        // max - min overflows: finite, increasing edges from min to max.
        let w = histogram_edges(-f64::MAX, f64::MAX, 4);
        assert_eq!((w[0], w[2], w[4]), (-f64::MAX, 0.0, f64::MAX));
        assert!(
            w.iter().all(|e| e.is_finite()) && w.windows(2).all(|p| p[0] < p[1]),
            "{w:?}"
        );
        assert_eq!(histogram_bin(&w, 1.0), Some(2));
    }
}
