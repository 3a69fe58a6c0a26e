//! Data quality: missing and non-finite values, non-numbers in numeric columns, values outside
//! the reference profile's range, categories the profile has not seen, label imbalance and
//! duplicate rows.
//!
//! Duplicates are found with a 64-bit hash of each row's selected cells (SipHash-1-3 with fixed
//! keys), so memory is 8 bytes per distinct row rather than the rows themselves; two different
//! rows collide with probability about `n² / 2⁶⁵` (3·10⁻⁸ for a million rows).

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use super::data::Value;
use super::profile::{ColumnKind, ColumnProfile, Profile};

/// Quality of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnQuality {
    /// Column name.
    pub column: String,
    /// Missing values.
    pub missing: u64,
    /// Numbers that are infinite.
    pub non_finite: u64,
    /// Text that is not a number, in a column the profile says is numeric (or a feature).
    pub non_numeric: u64,
    /// Values below the profile's minimum (numeric columns in the profile).
    pub below_min: Option<u64>,
    /// Values above the profile's maximum.
    pub above_max: Option<u64>,
    /// Values of a categorical column that the profile has not seen (`None` without a profile
    /// or when the profile's category list was capped).
    pub unseen_categories: Option<u64>,
    /// Up to 10 unseen categories.
    pub unseen_examples: Vec<String>,
}

/// Counts of one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCount {
    /// Class label.
    pub class: String,
    /// Rows.
    pub count: u64,
}

/// Label balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelBalance {
    /// Rows per class (classification) in class order.
    pub counts: Vec<ClassCount>,
    /// Share of the most frequent class.
    pub majority_share: f64,
    /// Share of the least frequent class present.
    pub minority_share: f64,
    /// Most frequent / least frequent present class count.
    pub imbalance_ratio: f64,
    /// Classes with no row.
    pub absent_classes: Vec<String>,
}

/// Data quality over every parsed row (bad rows included, as long as they parsed into cells).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Rows inspected.
    pub rows: u64,
    /// Per column.
    pub columns: Vec<ColumnQuality>,
    /// Rows identical to an earlier row (over the selected columns).
    pub duplicate_rows: u64,
    /// Label balance (classification only).
    pub label: Option<LabelBalance>,
}

/// Accumulates quality counts.
pub struct QualityAccumulator {
    cols: Vec<ColState>,
    rows: u64,
    seen: HashSet<u64>,
    duplicates: u64,
}

struct ColState {
    numeric_expected: bool,
    profile: Option<ColumnProfile>,
    q: ColumnQuality,
    known: Option<HashSet<String>>,
}

impl QualityAccumulator {
    /// Tracks `columns` (cells will arrive in this order); `numeric` marks columns that must be
    /// numbers (features); a profile adds range and category checks.
    pub fn new(columns: &[String], numeric: &[bool], profile: Option<&Profile>) -> Self {
        let cols = columns
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let prof = profile.and_then(|p| p.column(name)).cloned();
                let has_range = prof
                    .as_ref()
                    .is_some_and(|p| p.kind == ColumnKind::Numeric && p.numeric.is_some());
                let known = prof.as_ref().and_then(|p| {
                    let c = p.categorical.as_ref()?;
                    (c.other == 0).then(|| c.categories.iter().map(|k| k.value.clone()).collect())
                });
                ColState {
                    numeric_expected: numeric.get(i).copied().unwrap_or(false)
                        || prof.as_ref().is_some_and(|p| p.kind == ColumnKind::Numeric),
                    q: ColumnQuality {
                        column: name.clone(),
                        missing: 0,
                        non_finite: 0,
                        non_numeric: 0,
                        below_min: has_range.then_some(0),
                        above_max: has_range.then_some(0),
                        unseen_categories: known.as_ref().map(|_| 0),
                        unseen_examples: Vec::new(),
                    },
                    profile: prof,
                    known,
                }
            })
            .collect();
        QualityAccumulator {
            cols,
            rows: 0,
            seen: HashSet::new(),
            duplicates: 0,
        }
    }

    /// Adds a row's cells (aligned with the columns given to [`QualityAccumulator::new`]).
    pub fn add(&mut self, cells: &[&Value]) {
        self.rows += 1;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (c, v) in self.cols.iter_mut().zip(cells) {
            match v {
                Value::Missing => {
                    0u8.hash(&mut h);
                    c.q.missing += 1;
                    continue;
                }
                Value::Number(x) => {
                    1u8.hash(&mut h);
                    x.to_bits().hash(&mut h);
                }
                Value::Text(t) => {
                    2u8.hash(&mut h);
                    t.hash(&mut h);
                }
            }
            if c.numeric_expected {
                match v.number() {
                    Some(Ok(x)) if !x.is_finite() => c.q.non_finite += 1,
                    Some(Ok(x)) => {
                        if let Some(n) = c.profile.as_ref().and_then(|p| p.numeric.as_ref()) {
                            if x < n.min {
                                if let Some(b) = c.q.below_min.as_mut() {
                                    *b += 1;
                                }
                            }
                            if x > n.max {
                                if let Some(a) = c.q.above_max.as_mut() {
                                    *a += 1;
                                }
                            }
                        }
                    }
                    Some(Err(_)) => c.q.non_numeric += 1,
                    None => {}
                }
            }
            if let (Some(known), Some(key)) = (&c.known, v.key()) {
                if !known.contains(&key) {
                    if let Some(u) = c.q.unseen_categories.as_mut() {
                        *u += 1;
                    }
                    if c.q.unseen_examples.len() < 10 && !c.q.unseen_examples.contains(&key) {
                        c.q.unseen_examples.push(key);
                    }
                }
            }
        }
        if !self.seen.insert(h.finish()) {
            self.duplicates += 1;
        }
    }

    /// The report; `label_counts` (class, rows) gives the label balance for classification.
    pub fn finish(self, label_counts: Option<Vec<ClassCount>>) -> QualityReport {
        QualityReport {
            rows: self.rows,
            columns: self.cols.into_iter().map(|c| c.q).collect(),
            duplicate_rows: self.duplicates,
            label: label_counts.map(balance),
        }
    }
}

fn balance(counts: Vec<ClassCount>) -> LabelBalance {
    let total: u64 = counts.iter().map(|c| c.count).sum();
    let present: Vec<u64> = counts.iter().map(|c| c.count).filter(|&n| n > 0).collect();
    let max = present.iter().copied().max().unwrap_or(0);
    let min = present.iter().copied().min().unwrap_or(0);
    let share = |n: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        }
    };
    LabelBalance {
        majority_share: share(max),
        minority_share: share(min),
        imbalance_ratio: if min == 0 {
            0.0
        } else {
            max as f64 / min as f64
        },
        absent_classes: counts
            .iter()
            .filter(|c| c.count == 0)
            .map(|c| c.class.clone())
            .collect(),
        counts,
    }
}

/// Counts per class of stored labels, in class order.
pub fn class_counts(labels: &[u32], classes: &[String]) -> Vec<ClassCount> {
    let mut counts: HashMap<u32, u64> = HashMap::new();
    for &l in labels {
        *counts.entry(l).or_insert(0) += 1;
    }
    classes
        .iter()
        .enumerate()
        .map(|(i, c)| ClassCount {
            class: c.clone(),
            count: counts.get(&(i as u32)).copied().unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_duplicates_missing_and_text() {
        let mut q = QualityAccumulator::new(&["a".into(), "b".into()], &[true, false], None);
        let one = Value::Text("1".into());
        let x = Value::Text("x".into());
        let inf = Value::Text("inf".into());
        q.add(&[&one, &x]);
        q.add(&[&one, &x]);
        q.add(&[&Value::Missing, &x]);
        q.add(&[&x, &x]);
        q.add(&[&inf, &x]);
        let r = q.finish(None);
        assert_eq!(r.duplicate_rows, 1);
        assert_eq!(r.columns[0].missing, 1);
        assert_eq!(r.columns[0].non_numeric, 1);
        assert_eq!(r.columns[0].non_finite, 1);
        assert_eq!(r.columns[1].non_numeric, 0);
    }
}
