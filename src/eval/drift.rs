//! Drift of current data against a reference [`Profile`], with Evidently's default rules
//! (Evidently 0.4–0.7 `get_default_stattest` and `DataDriftPreset` defaults):
//!
//! | reference rows (non-missing) | column | distinct values in ref ∪ cur | method (threshold) |
//! |---|---|---|---|
//! | ≤ 1000 | numeric | > 5 | two-sample KS, drift when p ≤ 0.05 |
//! | ≤ 1000 | numeric | ≤ 5 | chi-square, drift when p < 0.05 |
//! | ≤ 1000 | categorical | > 2 | chi-square, drift when p < 0.05 |
//! | ≤ 1000 | categorical | ≤ 2 | two-proportion z-test, drift when p < 0.05 |
//! | > 1000 | numeric | > 5 | Wasserstein distance / reference std (std floored at 0.001), drift when ≥ 0.1 |
//! | > 1000 | any other | | Jensen-Shannon distance, drift when ≥ 0.1 |
//!
//! Dataset drift: the share of drifted columns is ≥ 0.5 (`drift_share`). PSI (Evidently's
//! `psi_stat_test`, threshold 0.1) is reported for every column and can be chosen per column.
//!
//! Two things differ from Evidently because the device has a profile, not the training data:
//! binned statistics (PSI, and JS for numeric columns when chosen) use the profile's histogram
//! edges (Evidently bins reference + current together), with two open bins below and above the
//! reference range so current values outside it count; and KS / Wasserstein run on the profile's
//! reference sample (complete for ≤ 1000 rows, the default sample size, so exact where Evidently
//! uses KS).
//!
//! Current numeric values are kept for KS and Wasserstein up to `max_current_sample` per column
//! (default 100,000; 8 bytes each); beyond that a uniform reservoir sample (Algorithm R driven by
//! the seeded [`Xoshiro256`]) is used, and the result says so. Histogram counts, category counts
//! and distinct counts are always exact.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::data::Value;
use super::num::{self, Xoshiro256};
use super::profile::{
    histogram_bin, CategoricalProfile, ColumnKind, ColumnProfile, NumericProfile, Profile,
};
use super::stats::{self, KsMethod};

/// Drift methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftMethod {
    /// Two-sample Kolmogorov-Smirnov p-value (`scipy.stats.ks_2samp`).
    Ks,
    /// Chi-square goodness-of-fit p-value (`scipy.stats.chisquare`).
    ChiSquare,
    /// Two-proportion z-test p-value.
    ZTest,
    /// Normed Wasserstein distance (`scipy.stats.wasserstein_distance` / std).
    Wasserstein,
    /// Jensen-Shannon distance (`scipy.spatial.distance.jensenshannon`).
    JensenShannon,
    /// Population Stability Index.
    Psi,
}

impl DriftMethod {
    /// Evidently's default threshold.
    pub fn default_threshold(self) -> f64 {
        match self {
            DriftMethod::Ks | DriftMethod::ChiSquare | DriftMethod::ZTest => 0.05,
            DriftMethod::Wasserstein | DriftMethod::JensenShannon | DriftMethod::Psi => 0.1,
        }
    }

    /// Whether the score is drifted at `t` (Evidently: KS `p ≤ t`, chi-square and z `p < t`,
    /// distances and PSI `≥ t`).
    pub fn is_drift(self, score: f64, t: f64) -> bool {
        match self {
            DriftMethod::Ks => score <= t,
            DriftMethod::ChiSquare | DriftMethod::ZTest => score < t,
            DriftMethod::Wasserstein | DriftMethod::JensenShannon | DriftMethod::Psi => score >= t,
        }
    }
}

/// Options of drift detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DriftConfig {
    /// Share of drifted columns at or above which the dataset drifts. Default 0.5.
    pub drift_share: f64,
    /// Per-column method overrides.
    pub methods: BTreeMap<String, DriftMethod>,
    /// Per-column threshold overrides.
    pub thresholds: BTreeMap<String, f64>,
    /// Current values kept per numeric column for KS/Wasserstein. Default 100,000.
    pub max_current_sample: usize,
    /// Seed of the reservoir sampler.
    pub seed: u64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            drift_share: 0.5,
            methods: BTreeMap::new(),
            thresholds: BTreeMap::new(),
            max_current_sample: 100_000,
            seed: 0,
        }
    }
}

/// Every statistic computed for a column (those that apply to its kind).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DriftStats {
    /// PSI over the profile's bins (numeric) or categories.
    pub psi: Option<f64>,
    /// KS statistic D (numeric).
    pub ks_statistic: Option<f64>,
    /// KS p-value (numeric).
    pub ks_p_value: Option<f64>,
    /// How the KS p-value was computed.
    pub ks_method: Option<KsMethod>,
    /// Wasserstein distance / max(reference std, 0.001) (numeric).
    pub wasserstein_normed: Option<f64>,
    /// Jensen-Shannon distance over bins or categories.
    pub jensen_shannon: Option<f64>,
    /// Chi-square statistic (categorical, or numeric with ≤ 5 distinct values).
    pub chi_square_statistic: Option<f64>,
    /// Chi-square p-value.
    pub chi_square_p_value: Option<f64>,
    /// Two-proportion z-test p-value (two categories).
    pub z_test_p_value: Option<f64>,
}

/// Drift of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    /// Column name.
    pub column: String,
    /// Kind from the profile.
    pub kind: ColumnKind,
    /// The method that decides (Evidently's default unless overridden).
    pub method: DriftMethod,
    /// Its threshold.
    pub threshold: f64,
    /// The method's score (p-value or distance); `None` when undefined (no current values).
    pub score: Option<f64>,
    /// Whether the column drifted.
    pub drifted: bool,
    /// Non-missing reference values.
    pub reference_count: u64,
    /// Non-missing current values.
    pub current_count: u64,
    /// Distinct values in reference ∪ current (exact up to 21; 21 means more).
    pub distinct: u64,
    /// Whether KS/Wasserstein ran on a reservoir sample of the current values.
    pub current_sampled: bool,
    /// Every statistic.
    pub stats: DriftStats,
}

/// Drift of a data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Per-column results.
    pub columns: Vec<ColumnDrift>,
    /// Columns that drifted.
    pub drifted_columns: u64,
    /// `drifted_columns / columns`.
    pub share_drifted: f64,
    /// The dataset-drift threshold on the share.
    pub drift_share: f64,
    /// `share_drifted ≥ drift_share`.
    pub dataset_drift: bool,
    /// Drift of the model's outputs, when the profile has a column for them.
    pub prediction: Option<ColumnDrift>,
}

const DISTINCT_CAP: usize = 20;
const CATEGORY_CAP: usize = 100_000;
const OTHER: &str = "__other__";

/// Accumulates current values of the profiled columns.
pub struct DriftAccumulator {
    cols: Vec<CurrentColumn>,
    config: DriftConfig,
}

struct CurrentColumn {
    profile: ColumnProfile,
    count: u64,
    sample: Vec<f64>,
    seen_numbers: u64,
    rng: Xoshiro256,
    /// below, bins..., above
    hist: Vec<u64>,
    distinct: HashMap<u64, u64>,
    distinct_overflow: bool,
    categories: HashMap<String, u64>,
    category_overflow: u64,
}

impl DriftAccumulator {
    /// An accumulator for `columns` of `profile` (columns absent from the profile are
    /// ignored; the caller reports them).
    pub fn new(profile: &Profile, columns: &[String], config: DriftConfig) -> Self {
        let cols = columns
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                let p = profile.column(name)?.clone();
                let nbins = p.numeric.as_ref().map_or(0, |n| n.histogram.counts.len());
                Some(CurrentColumn {
                    profile: p,
                    count: 0,
                    sample: Vec::new(),
                    seen_numbers: 0,
                    rng: Xoshiro256::new(config.seed.wrapping_add(i as u64)),
                    hist: vec![0; nbins + 2],
                    distinct: HashMap::new(),
                    distinct_overflow: false,
                    categories: HashMap::new(),
                    category_overflow: 0,
                })
            })
            .collect();
        DriftAccumulator { cols, config }
    }

    /// Names of the tracked columns, in order: [`DriftAccumulator::add`] takes values in this
    /// order.
    pub fn columns(&self) -> Vec<String> {
        self.cols.iter().map(|c| c.profile.name.clone()).collect()
    }

    /// Adds one value per tracked column.
    pub fn add(&mut self, values: &[&Value]) {
        let cap = self.config.max_current_sample.max(1);
        for (c, v) in self.cols.iter_mut().zip(values) {
            c.add(v, cap);
        }
    }

    /// Adds a number to tracked column `i` (used for model outputs).
    pub fn add_number(&mut self, i: usize, x: f64) {
        let cap = self.config.max_current_sample.max(1);
        if let Some(c) = self.cols.get_mut(i) {
            c.add(&Value::Number(x), cap);
        }
    }

    /// Per-column results, in tracking order.
    pub fn finish_columns(self) -> Vec<ColumnDrift> {
        let cfg = self.config;
        self.cols.into_iter().map(|c| c.result(&cfg)).collect()
    }

    /// The data-set report over every tracked column, with `prediction` drift if given.
    pub fn finish(self, prediction: Option<ColumnDrift>) -> DriftReport {
        let share = self.config.drift_share;
        let columns = self.finish_columns();
        report(columns, share, prediction)
    }
}

/// Assembles a [`DriftReport`] from column results.
pub fn report(
    columns: Vec<ColumnDrift>,
    drift_share: f64,
    prediction: Option<ColumnDrift>,
) -> DriftReport {
    let drifted = columns.iter().filter(|c| c.drifted).count() as u64;
    let share = if columns.is_empty() {
        0.0
    } else {
        drifted as f64 / columns.len() as f64
    };
    DriftReport {
        dataset_drift: !columns.is_empty() && share >= drift_share,
        drifted_columns: drifted,
        share_drifted: share,
        drift_share,
        columns,
        prediction,
    }
}

impl CurrentColumn {
    fn add(&mut self, v: &Value, cap: usize) {
        let Some(key) = v.key() else { return };
        match self.profile.kind {
            ColumnKind::Numeric => {
                let Some(Ok(x)) = v.number() else { return };
                if !x.is_finite() {
                    return;
                }
                self.count += 1;
                self.seen_numbers += 1;
                if self.sample.len() < cap {
                    self.sample.push(x);
                } else {
                    let j = self.rng.below(self.seen_numbers);
                    if let Some(slot) = usize::try_from(j).ok().and_then(|j| self.sample.get_mut(j))
                    {
                        *slot = x;
                    }
                }
                if let Some(n) = &self.profile.numeric {
                    let edges = &n.histogram.edges;
                    let slot = match histogram_bin(edges, x) {
                        Some(b) => b + 1,
                        None if edges.first().is_some_and(|&e| x < e) => 0,
                        None => self.hist.len() - 1,
                    };
                    if let Some(h) = self.hist.get_mut(slot) {
                        *h += 1;
                    }
                }
                let bits = (if x == 0.0 { 0.0 } else { x }).to_bits();
                if let Some(c) = self.distinct.get_mut(&bits) {
                    *c += 1;
                } else if self.distinct.len() < DISTINCT_CAP {
                    self.distinct.insert(bits, 1);
                } else {
                    self.distinct_overflow = true;
                }
            }
            ColumnKind::Categorical => {
                self.count += 1;
                if let Some(c) = self.categories.get_mut(&key) {
                    *c += 1;
                } else if self.categories.len() < CATEGORY_CAP {
                    self.categories.insert(key, 1);
                } else {
                    self.category_overflow += 1;
                }
            }
        }
    }

    /// A numeric column: distinct values of reference ∪ current (kept as category counts when
    /// there are at most 5), PSI and Jensen-Shannon over the histogram bins (with below and
    /// above), the two-sample KS test and the normed Wasserstein distance over the samples
    /// (the current sample sorted).
    fn compare_numeric(&self, n: &NumericProfile) -> Compared {
        let mut c = Compared::default();
        let ref_vals: Option<Vec<(f64, u64)>> = n
            .value_counts
            .as_ref()
            .map(|v| v.iter().map(|c| (c.value, c.count)).collect());
        let mut union: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        let exact = ref_vals.is_some() && !self.distinct_overflow;
        if let Some(rv) = &ref_vals {
            for &(v, count) in rv {
                union.entry(num::order_key(v)).or_default().0 += count as f64;
            }
        }
        for (&bits, &count) in &self.distinct {
            union
                .entry(num::order_key(f64::from_bits(bits)))
                .or_default()
                .1 += count as f64;
        }
        c.distinct = if exact {
            union.len() as u64
        } else {
            (DISTINCT_CAP + 1) as u64
        };
        c.categorical_like = exact && c.distinct <= 5;
        if c.categorical_like {
            c.keyed = union.into_values().collect();
        }
        // Binned: below, bins, above.
        let mut ref_bins = vec![0.0];
        ref_bins.extend(n.histogram.counts.iter().map(|&count| count as f64));
        ref_bins.push(0.0);
        let cur_bins: Vec<f64> = self.hist.iter().map(|&count| count as f64).collect();
        c.stats.psi = stats::psi(&ref_bins, &cur_bins);
        if !c.categorical_like {
            c.stats.jensen_shannon = stats::jensen_shannon(&ref_bins, &cur_bins);
        }
        if let Some(ks) = stats::ks_2samp(&n.sample, &self.sample) {
            c.stats.ks_statistic = Some(ks.statistic);
            c.stats.ks_p_value = Some(ks.p_value);
            c.stats.ks_method = Some(ks.method);
        }
        c.stats.wasserstein_normed =
            stats::wasserstein_sorted(&n.sample, &self.sample).map(|w| w / n.std.max(0.001));
        c
    }

    /// A categorical column: counts over the union of categories (current values the
    /// reference folded into "other" go there too), and PSI over them.
    fn compare_categorical(&self, c: &CategoricalProfile) -> Compared {
        let mut union: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for cat in &c.categories {
            union.entry(cat.value.clone()).or_default().0 += cat.count as f64;
        }
        if c.other > 0 {
            union.entry(OTHER.into()).or_default().0 += c.other as f64;
        }
        for (k, &n) in &self.categories {
            let key = if union.contains_key(k) || c.other == 0 {
                k.clone()
            } else {
                OTHER.into()
            };
            union.entry(key).or_default().1 += n as f64;
        }
        if self.category_overflow > 0 {
            union.entry(OTHER.into()).or_default().1 += self.category_overflow as f64;
        }
        let keyed: Vec<(f64, f64)> = union.into_values().collect();
        let (r, cu): (Vec<f64>, Vec<f64>) = keyed.iter().copied().unzip();
        Compared {
            stats: DriftStats {
                psi: stats::psi(&r, &cu),
                ..DriftStats::default()
            },
            distinct: keyed.len() as u64,
            categorical_like: true,
            keyed,
        }
    }

    /// The tests over category counts: Jensen-Shannon, chi-square against the reference
    /// proportions and, with two categories, the two-proportion z-test.
    fn keyed_tests(&self, c: &mut Compared, ref_count: u64) {
        let (r, cu): (Vec<f64>, Vec<f64>) = c.keyed.iter().copied().unzip();
        c.stats.jensen_shannon = stats::jensen_shannon(&r, &cu);
        if ref_count > 0 && self.count > 0 {
            let k_norm = self.count as f64 / ref_count as f64;
            let expected: Vec<f64> = r.iter().map(|&x| x * k_norm).collect();
            let chi = stats::chisquare(&cu, &expected);
            c.stats.chi_square_statistic = Some(chi.statistic);
            c.stats.chi_square_p_value = chi.p_value;
            c.stats.z_test_p_value = match c.keyed.as_slice() {
                [_] => Some(1.0),
                [first, _] => {
                    stats::proportions_z_test(first.0, ref_count as f64, first.1, self.count as f64)
                }
                _ => None,
            };
        }
    }

    fn result(mut self, cfg: &DriftConfig) -> ColumnDrift {
        num::sort_f64(&mut self.sample);
        let p = &self.profile;
        let ref_count = p.count;
        let mut c = match (&p.kind, &p.numeric, &p.categorical) {
            (ColumnKind::Numeric, Some(n), _) => self.compare_numeric(n),
            (ColumnKind::Categorical, _, Some(c)) => self.compare_categorical(c),
            _ => Compared::default(),
        };
        if c.categorical_like && !c.keyed.is_empty() {
            self.keyed_tests(&mut c, ref_count);
        }
        let (stats, mut distinct, categorical_like) = (c.stats, c.distinct, c.categorical_like);
        if distinct == 0 {
            distinct = self.distinct.len() as u64;
        }
        let default_method = default_method(p.kind, categorical_like, distinct, ref_count);
        let method = cfg.methods.get(&p.name).copied().unwrap_or(default_method);
        let threshold = cfg
            .thresholds
            .get(&p.name)
            .copied()
            .unwrap_or_else(|| method.default_threshold());
        let score = match method {
            DriftMethod::Ks => stats.ks_p_value,
            DriftMethod::ChiSquare => stats.chi_square_p_value,
            DriftMethod::ZTest => stats.z_test_p_value,
            DriftMethod::Wasserstein => stats.wasserstein_normed,
            DriftMethod::JensenShannon => stats.jensen_shannon,
            DriftMethod::Psi => stats.psi,
        };
        let drifted = score.is_some_and(|s| method.is_drift(s, threshold));
        ColumnDrift {
            column: p.name.clone(),
            kind: p.kind,
            method,
            threshold,
            score,
            drifted,
            reference_count: ref_count,
            current_count: self.count,
            distinct,
            current_sampled: self.seen_numbers as usize > self.sample.len(),
            stats,
        }
    }
}

/// What comparing one column found, before a method is chosen.
#[derive(Default)]
struct Compared {
    stats: DriftStats,
    /// Distinct values of reference ∪ current (0: not known from the profile).
    distinct: u64,
    /// Few enough distinct values to compare as categories.
    categorical_like: bool,
    /// Category counts over the union of keys: (reference, current).
    keyed: Vec<(f64, f64)>,
}

/// Evidently's default method: for at most 1,000 reference rows KS (numeric), chi-square
/// (categorical-like, or more than 2 categories) or the z-test (2 categories); above that
/// Wasserstein (numeric) or Jensen-Shannon.
fn default_method(
    kind: ColumnKind,
    categorical_like: bool,
    distinct: u64,
    ref_count: u64,
) -> DriftMethod {
    if ref_count <= 1000 {
        match (kind, categorical_like) {
            (ColumnKind::Numeric, false) => DriftMethod::Ks,
            (ColumnKind::Numeric, true) => DriftMethod::ChiSquare,
            (ColumnKind::Categorical, _) if distinct > 2 => DriftMethod::ChiSquare,
            (ColumnKind::Categorical, _) => DriftMethod::ZTest,
        }
    } else if kind == ColumnKind::Numeric && !categorical_like {
        DriftMethod::Wasserstein
    } else {
        DriftMethod::JensenShannon
    }
}

/// A drift column's current-data state as a fleet summary carries it: the reference column
/// (from the profile, so a summary is self-contained and merges only with summaries against the
/// same reference), histogram counts over the profile's bins (with below and above), the
/// distinct-value counts (the first 20), category counts, and the current numeric values with
/// their counts (the sample KS and Wasserstein use). Merging two adds every count, so the
/// statistics recompute exactly as on the pooled rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftColumnSummary {
    /// The reference column.
    pub profile: ColumnProfile,
    /// Non-missing current values.
    pub count: u64,
    /// Counts per histogram bin: below the first edge, the profile's bins, above the last.
    pub histogram: Vec<u64>,
    /// `(value, count)` of the first distinct numeric values, ascending.
    pub distinct: Vec<(f64, u64)>,
    /// Whether there were more distinct values than listed.
    pub distinct_overflow: bool,
    /// `(category, count)`, sorted by category.
    pub categories: Vec<(String, u64)>,
    /// Values of categories past the cap.
    pub category_overflow: u64,
    /// `(value, count)` of the current numeric values kept for KS and Wasserstein, ascending;
    /// `None` when dropped (privacy noise).
    pub values: Option<Vec<(f64, u64)>>,
    /// Whether `values` is a reservoir sample rather than every value.
    pub sampled: bool,
}

impl DriftAccumulator {
    /// The state of every tracked column as mergeable summaries (see [`DriftColumnSummary`]).
    pub fn summaries(&self) -> Vec<DriftColumnSummary> {
        self.cols.iter().map(CurrentColumn::summary).collect()
    }

    /// The drift configuration.
    pub fn config(&self) -> &DriftConfig {
        &self.config
    }
}

/// `(value, count)` pairs of numbers, ascending by total order.
fn number_counts(values: impl Iterator<Item = (f64, u64)>) -> Vec<(f64, u64)> {
    let mut m: BTreeMap<u64, u64> = BTreeMap::new();
    for (x, c) in values {
        *m.entry(num::order_key(x)).or_default() += c;
    }
    m.into_iter()
        .map(|(k, c)| (num::from_order_key(k), c))
        .collect()
}

impl CurrentColumn {
    fn summary(&self) -> DriftColumnSummary {
        let mut categories: Vec<(String, u64)> = self
            .categories
            .iter()
            .map(|(k, &c)| (k.clone(), c))
            .collect();
        categories.sort();
        DriftColumnSummary {
            profile: self.profile.clone(),
            count: self.count,
            histogram: self.hist.clone(),
            distinct: number_counts(
                self.distinct
                    .iter()
                    .map(|(&bits, &c)| (f64::from_bits(bits), c)),
            ),
            distinct_overflow: self.distinct_overflow,
            categories,
            category_overflow: self.category_overflow,
            values: Some(number_counts(self.sample.iter().map(|&x| (x, 1)))),
            sampled: self.seen_numbers as usize > self.sample.len(),
        }
    }
}

impl DriftColumnSummary {
    /// Adds another device's counts for the same reference column. `Err` names what differs.
    pub fn merge(&mut self, other: &DriftColumnSummary) -> Result<(), String> {
        if self.profile != other.profile {
            return Err(format!(
                "drift column {:?}: the reference profiles differ",
                self.profile.name
            ));
        }
        if self.histogram.len() != other.histogram.len() {
            return Err(format!(
                "drift column {:?}: histogram bins differ",
                self.profile.name
            ));
        }
        self.count += other.count;
        for (a, b) in self.histogram.iter_mut().zip(&other.histogram) {
            *a += b;
        }
        let union = number_counts(self.distinct.iter().chain(&other.distinct).copied());
        self.distinct_overflow |= other.distinct_overflow || union.len() > DISTINCT_CAP;
        self.distinct = union.into_iter().take(DISTINCT_CAP).collect();
        let mut cats: BTreeMap<String, u64> = BTreeMap::new();
        for (k, c) in self.categories.iter().chain(&other.categories) {
            *cats.entry(k.clone()).or_default() += c;
        }
        self.category_overflow += other.category_overflow;
        while cats.len() > CATEGORY_CAP {
            if let Some((_, c)) = cats.pop_last() {
                self.category_overflow += c;
            }
        }
        self.categories = cats.into_iter().collect();
        self.values = match (self.values.take(), &other.values) {
            (Some(a), Some(b)) => Some(number_counts(a.into_iter().chain(b.iter().copied()))),
            _ => None,
        };
        self.sampled |= other.sampled;
        Ok(())
    }

    /// The column's drift from these counts: the computation of a single evaluation (the
    /// current sample is every value listed, in order).
    pub fn result(&self, cfg: &DriftConfig) -> ColumnDrift {
        let sample: Vec<f64> = self
            .values
            .iter()
            .flatten()
            .flat_map(|&(x, c)| std::iter::repeat_n(x, c as usize))
            .collect();
        let seen = if self.sampled || self.values.is_none() {
            (sample.len() as u64).max(self.count) + u64::from(self.values.is_none())
        } else {
            sample.len() as u64
        };
        let col = CurrentColumn {
            profile: self.profile.clone(),
            count: self.count,
            sample,
            seen_numbers: seen,
            rng: Xoshiro256::new(cfg.seed),
            hist: self.histogram.clone(),
            distinct: self
                .distinct
                .iter()
                .map(|&(x, c)| ((if x == 0.0 { 0.0 } else { x }).to_bits(), c))
                .collect(),
            distinct_overflow: self.distinct_overflow,
            categories: self.categories.iter().cloned().collect(),
            category_overflow: self.category_overflow,
        };
        col.result(cfg)
    }
}
