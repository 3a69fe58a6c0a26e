//! Scoring mode: the predictions were made elsewhere and sit in columns of the data
//! (probabilities, a predicted label, or a predicted value), so every good row is committed as
//! it is read.
//!
//! Imports `accumulator` and `config` of `evaluator` and the lower evaluation modules.

use crate::eval::classification::argmax;
use crate::eval::data::RowResult;
use crate::eval::error::{invalid, EvalError};
use crate::eval::results::TaskKind;

use super::accumulator::{Accumulator, ClassPred, Selection, Truth};
use super::config::PredictionColumns;

/// Where the prediction columns sit in the reader's selection.
pub(super) struct ScoringColumns {
    proba: Vec<usize>,
    label: Option<usize>,
    value: Option<usize>,
}

impl ScoringColumns {
    /// Adds the prediction columns to the selection and checks that they fit the task. With
    /// probability columns and no class list, the classes are `"0".."C-1"`.
    pub(super) fn new(
        p: &PredictionColumns,
        task: TaskKind,
        sel: &mut Selection,
        classes: &mut Option<Vec<String>>,
    ) -> Result<Self, EvalError> {
        let cols = ScoringColumns {
            proba: p.proba.iter().map(|c| sel.pos(c)).collect(),
            label: p.label.as_deref().map(|c| sel.pos(c)),
            value: p.value.as_deref().map(|c| sel.pos(c)),
        };
        match task {
            TaskKind::Classification => {
                if cols.proba.is_empty() && cols.label.is_none() {
                    return Err(invalid(
                        "scoring a classifier needs probability columns or a predicted-label column",
                    ));
                }
                if !cols.proba.is_empty() {
                    let c = cols.proba.len();
                    if c < 2 {
                        return Err(invalid(
                            "give one probability column per class (at least 2)",
                        ));
                    }
                    match classes {
                        Some(k) if k.len() != c => {
                            return Err(invalid(format!(
                                "{} classes but {c} probability columns",
                                k.len()
                            )))
                        }
                        Some(_) => {}
                        None => *classes = Some((0..c).map(|i| i.to_string()).collect()),
                    }
                }
            }
            TaskKind::Regression => {
                if cols.value.is_none() {
                    return Err(invalid(
                        "scoring a regressor needs a predicted-value column",
                    ));
                }
            }
        }
        Ok(cols)
    }

    /// The class count the probability columns imply (classification only).
    pub(super) fn n_classes(&self, task: TaskKind) -> Option<usize> {
        (task == TaskKind::Classification && !self.proba.is_empty()).then_some(self.proba.len())
    }

    /// Whether the selected column at `i` holds numbers (a probability or a predicted value).
    pub(super) fn is_numeric(&self, i: usize) -> bool {
        self.proba.contains(&i) || Some(i) == self.value
    }

    /// Reads one row's predictions and commits it (or records it as bad).
    pub(super) fn row(&self, acc: &mut Accumulator, row: RowResult) -> Result<(), EvalError> {
        let Some(row) = acc.read_row(row)? else {
            return Ok(());
        };
        let n = row.number;
        match row.truth {
            Truth::Class(y) => {
                let mut proba = Vec::with_capacity(self.proba.len());
                for &i in &self.proba {
                    match row.cell(i).number() {
                        None => return acc.bad_at(n, i, "missing probability".into()),
                        Some(Err(e)) => return acc.bad_at(n, i, e),
                        Some(Ok(x)) if !(0.0..=1.0).contains(&x) => {
                            return acc.bad_at(n, i, format!("probability {x} outside [0, 1]"))
                        }
                        Some(Ok(x)) => proba.push(x),
                    }
                }
                let label = match self.label {
                    Some(i) => match row.cell(i).key() {
                        None => return acc.bad_at(n, i, "missing predicted label".into()),
                        Some(k) => match acc.labels.lookup(&k) {
                            Ok(p) => p,
                            Err(e) => return acc.bad_at(n, i, e),
                        },
                    },
                    None => argmax(&proba) as u32,
                };
                let pred = ClassPred {
                    label,
                    proba: (!proba.is_empty()).then_some(proba.as_slice()),
                };
                acc.commit_class(y, pred, None, row.slices, row.drift)
            }
            Truth::Value(y) => {
                let Some(i) = self.value else {
                    return Ok(());
                };
                let v = match row.cell(i).number() {
                    None => return acc.bad_at(n, i, "missing prediction".into()),
                    Some(Err(e)) => return acc.bad_at(n, i, e),
                    Some(Ok(x)) if !x.is_finite() => {
                        return acc.bad_at(n, i, "non-finite prediction".into())
                    }
                    Some(Ok(x)) => x,
                };
                acc.commit_value(y, v, None, row.slices, row.drift);
                Ok(())
            }
        }
    }
}
