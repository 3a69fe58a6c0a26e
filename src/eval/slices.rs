//! Slices: every metric per value of each slice column, numeric columns by quantile bins, with
//! counts; a slice is flagged when it is worse than the whole by more than a margin.
//!
//! A slice column is numeric when every non-missing value is a finite number and it has more
//! than 10 distinct values; it is then cut at `np.quantile(values, [0, 1/q, …, 1])` (duplicate
//! edges merged) into bins `[e₀, e₁], (e₁, e₂], …` (as `pandas.qcut`). Otherwise each value is
//! a slice (the first [`SliceConfig::max_values`] distinct values; later ones go to
//! `__other__`). Missing values form the `__missing__` slice.
//!
//! Memory: 12 bytes per row per slice column (a value code and the parsed number).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::data::Value;
use super::num;
use super::results::{metric_direction, Results};
use super::task::{MetricOptions, TaskData};

/// Options of slicing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SliceConfig {
    /// Quantile bins for numeric slice columns. Default 4 (quartiles).
    pub quantile_bins: usize,
    /// The metric that decides flagging. Default `accuracy` (classification) / `mae`
    /// (regression).
    pub metric: Option<String>,
    /// A slice is flagged when its metric is worse than the whole by more than this (absolute).
    /// Default 0.05.
    pub margin: f64,
    /// Slices with fewer rows are never flagged. Default 30.
    pub min_count: u64,
    /// Distinct values kept per categorical slice column. Default 50.
    pub max_values: usize,
}

impl Default for SliceConfig {
    fn default() -> Self {
        SliceConfig {
            quantile_bins: 4,
            metric: None,
            margin: 0.05,
            min_count: 30,
            max_values: 50,
        }
    }
}

/// How a slice column was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SliceKind {
    /// One slice per value.
    Categorical,
    /// Quantile bins.
    Quantile,
}

/// One slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// The value, or the bin as `[a, b]` / `(a, b]`, or `__missing__` / `__other__`.
    pub value: String,
    /// Bin lower edge (quantile slices).
    pub lower: Option<f64>,
    /// Bin upper edge (quantile slices).
    pub upper: Option<f64>,
    /// Rows in the slice.
    pub count: u64,
    /// The flagging metric on the slice.
    pub metric_value: Option<f64>,
    /// `metric_value − overall`.
    pub delta: Option<f64>,
    /// Worse than the whole by more than the margin (and at least `min_count` rows).
    pub flagged: bool,
    /// Every result on the slice.
    pub results: Results,
}

/// The slices of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceGroup {
    /// Column name.
    pub column: String,
    /// How it was cut.
    pub kind: SliceKind,
    /// The flagging metric.
    pub metric: String,
    /// Its value on all rows.
    pub overall: Option<f64>,
    /// The margin used.
    pub margin: f64,
    /// The slices.
    pub slices: Vec<Slice>,
}

/// A slice being built: label, lower edge, upper edge, row indices.
type Group = (String, Option<f64>, Option<f64>, Vec<u32>);

const MISSING: u32 = u32::MAX;
const OTHER: u32 = u32::MAX - 1;

/// Collects one slice column's values for the stored rows.
#[derive(Debug, Clone)]
pub struct SliceColumn {
    name: String,
    codes: Vec<u32>,
    numbers: Vec<f64>,
    intern: HashMap<String, u32>,
    names: Vec<String>,
    all_numeric: bool,
    max_values: usize,
}

impl SliceColumn {
    /// An empty column.
    pub fn new(name: String, max_values: usize) -> Self {
        SliceColumn {
            name,
            codes: Vec::new(),
            numbers: Vec::new(),
            intern: HashMap::new(),
            names: Vec::new(),
            all_numeric: true,
            max_values: max_values.max(1),
        }
    }

    /// Records the value of the next stored row.
    pub fn push(&mut self, v: &Value) {
        let Some(key) = v.key() else {
            self.codes.push(MISSING);
            self.numbers.push(f64::NAN);
            return;
        };
        let x = match v.number() {
            Some(Ok(x)) if x.is_finite() => x,
            _ => {
                self.all_numeric = false;
                f64::NAN
            }
        };
        self.numbers.push(x);
        let code = match self.intern.get(&key) {
            Some(&c) => c,
            None if self.names.len() < self.max_values => {
                let c = self.names.len() as u32;
                self.intern.insert(key.clone(), c);
                self.names.push(key);
                c
            }
            None => OTHER,
        };
        self.codes.push(code);
    }

    /// Computes the slices.
    pub fn finish(
        &self,
        task: &TaskData,
        overall: &Results,
        cfg: &SliceConfig,
        opts: &MetricOptions,
    ) -> SliceGroup {
        let metric = flag_metric(cfg, matches!(task, TaskData::Regression(_)));
        let higher_better = metric_direction(&metric).unwrap_or(true);
        let overall_value = overall.metric(&metric);
        let overflow = self.codes.contains(&OTHER);
        let quantile =
            self.all_numeric && (overflow || self.names.len() > 10) && cfg.quantile_bins > 1;
        // (label, lower, upper, rows)
        let mut groups: Vec<Group> = Vec::new();
        let mut missing_rows: Vec<u32> = Vec::new();
        let kind;
        if quantile {
            kind = SliceKind::Quantile;
            let mut vals: Vec<f64> = self
                .numbers
                .iter()
                .copied()
                .filter(|x| !x.is_nan())
                .collect();
            num::sort_f64(&mut vals);
            let edges = quantile_edges(&vals, cfg.quantile_bins);
            let nb = edges.len().saturating_sub(1).max(1);
            let mut rows: Vec<Vec<u32>> = vec![Vec::new(); nb];
            for (i, &x) in self.numbers.iter().enumerate() {
                if x.is_nan() {
                    missing_rows.push(i as u32);
                    continue;
                }
                if let Some(r) = rows.get_mut(bin_of(&edges, x)) {
                    r.push(i as u32);
                }
            }
            for (b, r) in rows.into_iter().enumerate() {
                let (label, lo, hi) = bin_label(&edges, b);
                groups.push((label, lo, hi, r));
            }
        } else {
            kind = SliceKind::Categorical;
            let mut rows: Vec<Vec<u32>> = vec![Vec::new(); self.names.len()];
            let mut other: Vec<u32> = Vec::new();
            for (i, &c) in self.codes.iter().enumerate() {
                match c {
                    MISSING => missing_rows.push(i as u32),
                    OTHER => other.push(i as u32),
                    c => {
                        if let Some(r) = rows.get_mut(c as usize) {
                            r.push(i as u32);
                        }
                    }
                }
            }
            let mut named: Vec<(&String, Vec<u32>)> = self.names.iter().zip(rows).collect();
            sort_values(&mut named, self.all_numeric, |n| n.0);
            for (name, rows) in named {
                groups.push((name.clone(), None, None, rows));
            }
            if !other.is_empty() {
                groups.push(("__other__".into(), None, None, other));
            }
        }
        if !missing_rows.is_empty() {
            groups.push(("__missing__".into(), None, None, missing_rows));
        }
        let slices = groups
            .into_iter()
            .filter(|g| !g.3.is_empty())
            .map(|(value, lower, upper, rows)| {
                let results = task.results(Some(&rows), opts);
                let flag = Flagging {
                    metric: &metric,
                    higher_better,
                    overall: overall_value,
                    cfg,
                };
                flag.slice(value, lower, upper, rows.len() as u64, results)
            })
            .collect();
        SliceGroup {
            column: self.name.clone(),
            kind,
            metric,
            overall: overall_value,
            margin: cfg.margin,
            slices,
        }
    }
}

impl SliceColumn {
    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stored rows grouped by value, for fleet summaries: named values (the first
    /// `max_values`, with their numbers when the column is numeric), then, for a numeric column,
    /// the rows beyond them grouped by number (named by the number); rows of other values of a
    /// non-numeric column, and rows with a missing value.
    pub(crate) fn value_rows(&self) -> ValueRows {
        let mut named: Vec<Vec<u32>> = vec![Vec::new(); self.names.len()];
        let mut by_number: std::collections::BTreeMap<u64, Vec<u32>> = Default::default();
        let mut other = Vec::new();
        let mut missing = Vec::new();
        for (i, &c) in self.codes.iter().enumerate() {
            let row = i as u32;
            match c {
                MISSING => missing.push(row),
                OTHER => match self.numbers.get(i) {
                    Some(&x) if self.all_numeric && !x.is_nan() => {
                        by_number.entry(num::order_key(x)).or_default().push(row)
                    }
                    _ => other.push(row),
                },
                c => {
                    if let Some(r) = named.get_mut(c as usize) {
                        r.push(row);
                    }
                }
            }
        }
        let number = |name: &str| {
            self.all_numeric
                .then(|| name.trim().parse::<f64>().ok())
                .flatten()
        };
        let mut values: Vec<(String, Option<f64>, Vec<u32>)> = self
            .names
            .iter()
            .zip(named)
            .map(|(name, rows)| (name.clone(), number(name), rows))
            .collect();
        values.extend(by_number.into_iter().map(|(k, rows)| {
            let x = num::from_order_key(k);
            (format!("{x}"), Some(x), rows)
        }));
        ValueRows {
            all_numeric: self.all_numeric,
            values,
            other,
            missing,
        }
    }
}

/// One slice column's rows by value ([`SliceColumn::value_rows`]).
pub(crate) struct ValueRows {
    /// Whether every non-missing value is a finite number.
    pub(crate) all_numeric: bool,
    /// `(value, number, rows)` per distinct value.
    pub(crate) values: Vec<(String, Option<f64>, Vec<u32>)>,
    /// Rows of values past `max_values` (non-numeric columns).
    pub(crate) other: Vec<u32>,
    /// Rows with a missing value.
    pub(crate) missing: Vec<u32>,
}

/// The flagging metric: the configured one, else accuracy (classification) or MAE.
pub(crate) fn flag_metric(cfg: &SliceConfig, regression: bool) -> String {
    cfg.metric.clone().unwrap_or_else(|| {
        if regression {
            "mae".into()
        } else {
            "accuracy".into()
        }
    })
}

/// `np.quantile(values, [0, 1/q, …, 1])` of sorted values, duplicate edges merged.
pub(crate) fn quantile_edges(sorted: &[f64], q: usize) -> Vec<f64> {
    dedup_edges(
        (0..=q)
            .filter_map(|i| num::quantile_sorted(sorted, i as f64 / q as f64))
            .collect(),
    )
}

/// [`quantile_edges`] of a list given as counts (a merged summary's distinct values).
pub(crate) fn quantile_edges_counted(sorted: &num::Counted<'_>, q: usize) -> Vec<f64> {
    dedup_edges(
        (0..=q)
            .filter_map(|i| sorted.quantile(i as f64 / q as f64))
            .collect(),
    )
}

fn dedup_edges(mut edges: Vec<f64>) -> Vec<f64> {
    edges.dedup();
    edges
}

/// The quantile bin of `x`: `[e₀, e₁], (e₁, e₂], …`.
pub(crate) fn bin_of(edges: &[f64], x: f64) -> usize {
    let nb = edges.len().saturating_sub(1).max(1);
    let j = edges.partition_point(|&e| e < x);
    (j.max(1) - 1).min(nb - 1)
}

/// Bin `b`'s label and edges.
pub(crate) fn bin_label(edges: &[f64], b: usize) -> (String, Option<f64>, Option<f64>) {
    let lo = edges.get(b).copied();
    let hi = edges.get(b + 1).copied().or(lo);
    let label = format!(
        "{}{}, {}]",
        if b == 0 { "[" } else { "(" },
        lo.unwrap_or(f64::NAN),
        hi.unwrap_or(f64::NAN)
    );
    (label, lo, hi)
}

/// Sorts categorical slice values: by number when the column is numeric, else by text.
pub(crate) fn sort_values<T>(items: &mut [T], numeric: bool, name: impl Fn(&T) -> &String) {
    if numeric {
        let key = |s: &str| s.trim().parse::<f64>().unwrap_or(f64::NAN);
        items.sort_by(|a, b| key(name(a)).total_cmp(&key(name(b))));
    } else {
        items.sort_by(|a, b| name(a).cmp(name(b)));
    }
}

/// How slices are flagged against the whole.
pub(crate) struct Flagging<'a> {
    /// The flagging metric.
    pub(crate) metric: &'a str,
    /// Its direction.
    pub(crate) higher_better: bool,
    /// Its value on all rows.
    pub(crate) overall: Option<f64>,
    /// Margin and minimum count.
    pub(crate) cfg: &'a SliceConfig,
}

impl Flagging<'_> {
    /// A slice with its results, delta and flag.
    pub(crate) fn slice(
        &self,
        value: String,
        lower: Option<f64>,
        upper: Option<f64>,
        count: u64,
        results: Results,
    ) -> Slice {
        let mv = results.metric(self.metric);
        let delta = match (mv, self.overall) {
            (Some(a), Some(b)) => Some(a - b),
            _ => None,
        };
        let worse = delta.is_some_and(|d| {
            if self.higher_better {
                -d > self.cfg.margin
            } else {
                d > self.cfg.margin
            }
        });
        Slice {
            value,
            lower,
            upper,
            count,
            metric_value: mv,
            delta,
            flagged: worse && count >= self.cfg.min_count,
            results,
        }
    }
}
