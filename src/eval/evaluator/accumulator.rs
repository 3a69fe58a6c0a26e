//! The metric accumulator both evaluation modes share: the label map, the truth of each row,
//! the stored rows (champion and challenger), slices, data quality, drift, the bad-row record,
//! and the report built from all of them at the end.
//!
//! The modes (`scoring`, `model_run`) turn a row into a prediction and commit
//! it here. Imports `config` of `evaluator` and the lower evaluation modules, never the modes.

use std::collections::HashMap;

use crate::eval::classification::ClassificationData;
use crate::eval::compare;
use crate::eval::data::{BadRow, BadRowPolicy, DataDigest, RowResult, Value};
use crate::eval::drift::{self, DriftAccumulator};
use crate::eval::error::EvalError;
use crate::eval::fleet;
use crate::eval::gates;
use crate::eval::latency::LatencyReport;
use crate::eval::profile::Profile;
use crate::eval::quality::{class_counts, QualityAccumulator};
use crate::eval::regression::RegressionData;
use crate::eval::report::{DataInfo, Report, RuntimeInfo, REPORT_FORMAT, REPORT_VERSION};
use crate::eval::results::TaskKind;
use crate::eval::slices::SliceColumn;
use crate::eval::task::TaskData;

use super::config::{EvalConfig, ReportContext, MAX_CLASSES, MAX_STORED_PROBABILITIES};

/// The reader's column selection as it is built: each name once, in first-use order.
#[derive(Default)]
pub(super) struct Selection(Vec<String>);

impl Selection {
    /// The position of `name`, added at the end when new.
    pub(super) fn pos(&mut self, name: &str) -> usize {
        match self.0.iter().position(|s| s == name) {
            Some(i) => i,
            None => {
                self.0.push(name.to_string());
                self.0.len() - 1
            }
        }
    }

    /// The name at a position.
    pub(super) fn name(&self, i: usize) -> Option<&String> {
        self.0.get(i)
    }

    /// The names, in order.
    pub(super) fn names(&self) -> &[String] {
        &self.0
    }
}

/// Where the shared roles' columns sit in the selection, and the class set known up front.
pub(super) struct SharedColumns {
    /// The reader's selection.
    pub(super) selected: Selection,
    /// The label column.
    pub(super) label: usize,
    /// Slice columns.
    pub(super) slices: Vec<usize>,
    /// Columns checked for drift.
    pub(super) drift: Vec<usize>,
    /// Whether each selected column must be numeric (data quality).
    pub(super) numeric: Vec<bool>,
    /// The classes given or implied by the options (`None`: discovered from the data).
    pub(super) classes: Option<Vec<String>>,
    /// The class count when known up front.
    pub(super) n_classes: Option<usize>,
}

/// Class labels to indices: fixed (given, or a model's output width) or discovered.
pub(super) struct LabelMap {
    classes: Vec<String>,
    index: HashMap<String, u32>,
    numbers: Vec<(f64, u32)>,
    fixed: bool,
}

impl LabelMap {
    pub(super) fn new(classes: Option<Vec<String>>) -> Self {
        let fixed = classes.is_some();
        let classes = classes.unwrap_or_default();
        let mut m = LabelMap {
            index: HashMap::new(),
            numbers: Vec::new(),
            classes: Vec::new(),
            fixed,
        };
        for c in classes {
            m.insert(c);
        }
        m
    }

    fn insert(&mut self, c: String) -> u32 {
        let i = self.classes.len() as u32;
        if let Ok(x) = c.trim().parse::<f64>() {
            self.numbers.push((x, i));
        }
        self.index.insert(c.clone(), i);
        self.classes.push(c);
        i
    }

    /// Class index of a label: exact text, else numeric equality (`1.0` matches class `1`),
    /// else, with fixed classes none of which is numeric, an integer label as the class index.
    pub(super) fn lookup(&mut self, key: &str) -> Result<u32, String> {
        if let Some(&i) = self.index.get(key) {
            return Ok(i);
        }
        if let Ok(x) = key.trim().parse::<f64>() {
            if let Some(&(_, i)) = self.numbers.iter().find(|(v, _)| *v == x) {
                return Ok(i);
            }
        }
        if self.fixed {
            // Encoded targets (scikit-learn's `y` as class indices) against named classes: when
            // no class name is a number, an integer label in 0..C is the class index.
            if self.numbers.is_empty() {
                if let Ok(i) = key.trim().parse::<u32>() {
                    if (i as usize) < self.classes.len() {
                        return Ok(i);
                    }
                }
            }
            return Err(format!(
                "unknown class {:?} (classes: {:?})",
                crate::eval::data::truncate(key, 40),
                self.classes.iter().take(20).collect::<Vec<_>>()
            ));
        }
        if self.classes.len() >= MAX_CLASSES {
            return Err(format!("more than {MAX_CLASSES} distinct labels"));
        }
        Ok(self.insert(key.to_string()))
    }

    /// For discovered classes: the sorted order (numeric when every label is a number, else by
    /// text, as `np.unique`) and the old → new index map.
    fn sorted(&self) -> (Vec<String>, Vec<u32>) {
        let mut order: Vec<usize> = (0..self.classes.len()).collect();
        let nums: Option<Vec<f64>> = self
            .classes
            .iter()
            .map(|c| c.trim().parse::<f64>().ok())
            .collect();
        let num = |i: usize| nums.as_ref().and_then(|v| v.get(i)).copied();
        let text = |i: usize| self.classes.get(i);
        match &nums {
            Some(_) => order.sort_by(|&a, &b| {
                num(a)
                    .unwrap_or(f64::NAN)
                    .total_cmp(&num(b).unwrap_or(f64::NAN))
            }),
            None => order.sort_by(|&a, &b| text(a).cmp(&text(b))),
        }
        let mut map = vec![0u32; self.classes.len()];
        for (new, &old) in order.iter().enumerate() {
            if let Some(m) = map.get_mut(old) {
                *m = new as u32;
            }
        }
        (
            order.iter().filter_map(|&i| text(i).cloned()).collect(),
            map,
        )
    }
}

/// A row's ground truth.
pub(super) enum Truth {
    /// A class index.
    Class(u32),
    /// A regression target.
    Value(f64),
}

/// The shared part of a good row: its number, cells, truth, and slice and drift cells.
pub(super) struct Row {
    /// 1-based data row number.
    pub(super) number: u64,
    /// The selected cells.
    pub(super) cells: Vec<Value>,
    /// Ground truth.
    pub(super) truth: Truth,
    /// Slice cells.
    pub(super) slices: Vec<Value>,
    /// Drift cells.
    pub(super) drift: Vec<Value>,
}

impl Row {
    /// The cell at a selected position (missing when out of range).
    pub(super) fn cell(&self, i: usize) -> &Value {
        self.cells.get(i).unwrap_or(&Value::Missing)
    }
}

/// A class prediction for one row: the predicted class and, when given, the probabilities.
#[derive(Clone, Copy)]
pub(super) struct ClassPred<'a> {
    /// Predicted class index.
    pub(super) label: u32,
    /// Class probabilities.
    pub(super) proba: Option<&'a [f64]>,
}

/// Latency reports of a model run (`None` when scoring columns).
#[derive(Default)]
pub(super) struct Latencies {
    /// The model's.
    pub(super) champion: Option<LatencyReport>,
    /// The challenger's.
    pub(super) challenger: Option<LatencyReport>,
    /// The model's batch times (for a fleet summary).
    pub(super) champion_batch_ms: Vec<f64>,
}

/// Everything both modes accumulate. See the module documentation.
pub(super) struct Accumulator {
    /// The options.
    pub(super) cfg: EvalConfig,
    /// Classes, once known (options, probability columns, or the model).
    pub(super) n_classes: Option<usize>,
    /// Class labels to indices.
    pub(super) labels: LabelMap,
    label: usize,
    slice_pos: Vec<usize>,
    drift_pos: Vec<usize>,
    selected: Vec<String>,
    main: Option<TaskData>,
    challenger: Option<TaskData>,
    slices: Vec<SliceColumn>,
    quality: QualityAccumulator,
    drift: Option<DriftAccumulator>,
    pred_drift: Option<DriftAccumulator>,
    /// Rows committed to the results.
    pub(super) rows_used: u64,
    /// Bad rows.
    pub(super) skipped: u64,
    bad: Vec<BadRow>,
    bad_truncated: bool,
}

impl Accumulator {
    /// Empty accumulators for these columns; `profile` enables quality checks and drift.
    pub(super) fn new(cfg: EvalConfig, profile: Option<&Profile>, cols: SharedColumns) -> Self {
        let selected = cols.selected.0;
        let quality = QualityAccumulator::new(&selected, &cols.numeric, profile);
        let drift = profile.map(|p| {
            let names: Vec<String> = cols
                .drift
                .iter()
                .filter_map(|&i| selected.get(i).cloned())
                .collect();
            DriftAccumulator::new(p, &names, cfg.drift.clone())
        });
        let pred_drift = profile
            .filter(|p| p.column(&cfg.prediction_column).is_some())
            .map(|p| {
                DriftAccumulator::new(
                    p,
                    std::slice::from_ref(&cfg.prediction_column),
                    cfg.drift.clone(),
                )
            });
        let slices = cfg
            .columns
            .slices
            .iter()
            .map(|s| SliceColumn::new(s.clone(), cfg.slices.max_values))
            .collect();
        Accumulator {
            n_classes: cols.n_classes,
            labels: LabelMap::new(cols.classes),
            label: cols.label,
            slice_pos: cols.slices,
            drift_pos: cols.drift,
            selected,
            main: None,
            challenger: None,
            slices,
            quality,
            drift,
            pred_drift,
            rows_used: 0,
            skipped: 0,
            bad: Vec::new(),
            bad_truncated: false,
            cfg,
        }
    }

    /// Records a bad row: fatal under [`BadRowPolicy::Fail`], else counted and listed (to the
    /// cap).
    pub(super) fn bad(&mut self, b: BadRow) -> Result<(), EvalError> {
        self.skipped += 1;
        if self.cfg.bad_rows == BadRowPolicy::Fail {
            return Err(EvalError::BadRow {
                row: b.row,
                column: b.column,
                reason: b.reason,
            });
        }
        if self.bad.len() < self.cfg.max_bad_rows_listed {
            self.bad.push(b);
        } else {
            self.bad_truncated = true;
        }
        Ok(())
    }

    /// A bad row blamed on the selected column at `col`.
    pub(super) fn bad_at(&mut self, row: u64, col: usize, reason: String) -> Result<(), EvalError> {
        let column = self.selected.get(col).cloned();
        self.bad(BadRow {
            row,
            column,
            reason,
        })
    }

    /// The mode-independent part of a row: quality, ground truth, slice and drift cells.
    /// `None` when the row is bad (already recorded).
    pub(super) fn read_row(&mut self, row: RowResult) -> Result<Option<Row>, EvalError> {
        let raw = match row {
            Ok(r) => r,
            Err(b) => return self.bad(b).map(|()| None),
        };
        self.quality.add(&raw.cells.iter().collect::<Vec<_>>());
        let number = raw.number;
        let cell = |i: usize| raw.cells.get(i).unwrap_or(&Value::Missing);
        let label = self.label;
        let truth = match self.cfg.task {
            TaskKind::Classification => match cell(label).key() {
                None => Err("missing label".to_string()),
                Some(k) => self.labels.lookup(&k).map(Truth::Class),
            },
            TaskKind::Regression => match cell(label).number() {
                None => Err("missing label".to_string()),
                Some(Err(e)) => Err(e),
                Some(Ok(x)) if !x.is_finite() => Err("non-finite label".to_string()),
                Some(Ok(x)) => Ok(Truth::Value(x)),
            },
        };
        let truth = match truth {
            Ok(t) => t,
            Err(e) => return self.bad_at(number, label, e).map(|()| None),
        };
        let slices = self.slice_pos.iter().map(|&i| cell(i).clone()).collect();
        let drift = self.drift_pos.iter().map(|&i| cell(i).clone()).collect();
        Ok(Some(Row {
            number,
            cells: raw.cells,
            truth,
            slices,
            drift,
        }))
    }

    /// Creates the row storage on the first committed row (whether probabilities are stored
    /// follows that row: model outputs have the same shape in every batch).
    fn ensure_main(&mut self, with_proba: bool) {
        if self.main.is_some() {
            return;
        }
        let c = self.n_classes.unwrap_or(MAX_CLASSES);
        self.main = Some(match self.cfg.task {
            TaskKind::Classification => TaskData::Classification {
                data: ClassificationData::new(c, with_proba),
                classes: Vec::new(),
            },
            TaskKind::Regression => TaskData::Regression(RegressionData::new()),
        });
    }

    fn commit_common(&mut self, slices: Vec<Value>, drift: Vec<Value>) {
        for (s, v) in self.slices.iter_mut().zip(&slices) {
            s.push(v);
        }
        if let Some(d) = &mut self.drift {
            d.add(&drift.iter().collect::<Vec<_>>());
        }
        self.rows_used += 1;
    }

    /// Commits a classified row (and the challenger's prediction, in a comparison).
    pub(super) fn commit_class(
        &mut self,
        y: u32,
        pred: ClassPred<'_>,
        challenger: Option<ClassPred<'_>>,
        slices: Vec<Value>,
        drift: Vec<Value>,
    ) -> Result<(), EvalError> {
        // Probabilities are kept for every row (ROC AUC, log loss, calibration, bootstrap):
        // rows × classes values, bounded so a wide model output over many rows cannot exhaust
        // memory.
        let width = pred.proba.map_or(0, <[f64]>::len)
            + challenger.and_then(|c| c.proba).map_or(0, <[f64]>::len);
        let stored = (self.rows_used as usize)
            .saturating_add(1)
            .saturating_mul(width);
        if stored > MAX_STORED_PROBABILITIES {
            return Err(EvalError::LimitExceeded {
                what: "stored class probabilities (rows × classes)".into(),
                limit: MAX_STORED_PROBABILITIES as u64,
            });
        }
        self.ensure_main(pred.proba.is_some());
        if let Some(TaskData::Classification { data, .. }) = &mut self.main {
            data.push(y, pred.label, pred.proba);
        }
        if let Some(cp) = challenger {
            let c = self.n_classes.unwrap_or(MAX_CLASSES);
            let ch = self
                .challenger
                .get_or_insert_with(|| TaskData::Classification {
                    data: ClassificationData::new(c, cp.proba.is_some()),
                    classes: Vec::new(),
                });
            if let TaskData::Classification { data, .. } = ch {
                data.push(y, cp.label, cp.proba);
            }
        }
        if let Some(pd) = &mut self.pred_drift {
            let label = self
                .labels
                .classes
                .get(pred.label as usize)
                .cloned()
                .unwrap_or_default();
            pd.add(&[&Value::Text(label)]);
        }
        self.commit_common(slices, drift);
        Ok(())
    }

    /// Commits a regression row (and the challenger's value, in a comparison).
    pub(super) fn commit_value(
        &mut self,
        y: f64,
        v: f64,
        challenger: Option<f64>,
        slices: Vec<Value>,
        drift: Vec<Value>,
    ) {
        self.ensure_main(false);
        if let Some(TaskData::Regression(r)) = &mut self.main {
            r.push(y, v);
        }
        if let Some(cv) = challenger {
            let ch = self
                .challenger
                .get_or_insert_with(|| TaskData::Regression(RegressionData::new()));
            if let TaskData::Regression(r) = ch {
                r.push(y, cv);
            }
        }
        if let Some(pd) = &mut self.pred_drift {
            pd.add_number(0, v);
        }
        self.commit_common(slices, drift);
    }

    /// The final class list (fixed, or discovered and sorted as `np.unique`), with the stored
    /// rows of both models remapped to it. `None` for regression.
    fn finish_classes(
        &self,
        main: &mut TaskData,
        challenger: Option<&mut TaskData>,
    ) -> Option<Vec<String>> {
        if self.cfg.task != TaskKind::Classification {
            return None;
        }
        let (classes, map) = if self.labels.fixed {
            (self.labels.classes.clone(), None)
        } else {
            let (c, m) = self.labels.sorted();
            (c, Some(m))
        };
        for td in [Some(main), challenger].into_iter().flatten() {
            if let TaskData::Classification { data, classes: cl } = td {
                if let Some(m) = &map {
                    *data = remap(data, m, classes.len());
                }
                *cl = classes.clone();
            }
        }
        Some(classes)
    }

    /// Feature drift and prediction drift against the profile.
    fn finish_drift(&mut self) -> Option<drift::DriftReport> {
        let pred_drift = self
            .pred_drift
            .take()
            .and_then(|d| d.finish_columns().into_iter().next());
        self.drift
            .take()
            .map(|d| d.finish(pred_drift.clone()))
            .or_else(|| {
                pred_drift.map(|p| drift::report(Vec::new(), self.cfg.drift.drift_share, Some(p)))
            })
    }

    /// Builds the report from everything accumulated. `rows_read` counts good and bad rows.
    pub(super) fn report(
        &mut self,
        digest: DataDigest,
        rows_read: u64,
        ctx: ReportContext,
        latency: Latencies,
    ) -> Result<Report, EvalError> {
        let main = self.main.take().filter(|m| !m.is_empty());
        let Some(mut main) = main else {
            return Err(EvalError::NoRows {
                reason: format!("{rows_read} rows read, {} skipped as bad", self.skipped),
            });
        };
        let mut challenger = self.challenger.take();
        let classes = self.finish_classes(&mut main, challenger.as_mut());
        let opts = &self.cfg.metrics;
        let results = main.results(None, opts);
        let slices = self
            .slices
            .iter()
            .map(|s| s.finish(&main, &results, &self.cfg.slices, opts))
            .collect();
        let label_counts = match (&main, &classes) {
            (TaskData::Classification { data, .. }, Some(c)) => {
                Some(class_counts(data.labels(), c))
            }
            _ => None,
        };
        let quality = std::mem::replace(&mut self.quality, QualityAccumulator::new(&[], &[], None))
            .finish(label_counts);
        let summary = self
            .cfg
            .summary
            .then(|| self.summary(&main, &digest, rows_read, &ctx, &latency));
        let drift = self.finish_drift();
        let comparison = match &challenger {
            Some(ch) => {
                let mut c = compare::compare(&main, ch, &self.cfg.compare, &self.cfg.metrics)?;
                c.champion = ctx.model.clone();
                c.challenger = ctx.challenger.clone();
                Some(c)
            }
            None => None,
        };
        let gates =
            (!self.cfg.gates.is_empty()).then(|| gates::evaluate(&results, &self.cfg.gates));
        Ok(Report {
            report_format: REPORT_FORMAT.into(),
            report_version: REPORT_VERSION,
            library_version: crate::VERSION.into(),
            model: ctx.model,
            data: DataInfo {
                sha256: digest.sha256.to_hex(),
                bytes: digest.bytes,
                format: self.cfg.format,
                rows_read,
                rows_used: self.rows_used,
                rows_skipped: self.skipped,
                bad_rows: std::mem::take(&mut self.bad),
                bad_rows_truncated: self.bad_truncated,
            },
            task: self.cfg.task,
            classes,
            columns: self.cfg.columns.clone(),
            results,
            slices,
            quality,
            drift,
            comparison,
            gates,
            runtime: RuntimeInfo {
                time: ctx.time,
                runtime: ctx.runtime,
                latency: latency.champion,
                challenger_latency: latency.challenger,
            },
            summary,
        })
    }

    /// The evaluation's mergeable summary ([`fleet::build`]).
    fn summary(
        &self,
        main: &TaskData,
        digest: &DataDigest,
        rows_read: u64,
        ctx: &ReportContext,
        latency: &Latencies,
    ) -> fleet::Summary {
        let drift = self.drift.as_ref().map(|d| {
            (
                d.config(),
                d.summaries(),
                self.pred_drift
                    .as_ref()
                    .and_then(|p| p.summaries().into_iter().next()),
            )
        });
        let drift = drift.or_else(|| {
            self.pred_drift
                .as_ref()
                .map(|p| (p.config(), Vec::new(), p.summaries().into_iter().next()))
        });
        fleet::build(fleet::SummaryInput {
            task: main,
            classes_fixed: self.labels.fixed,
            columns: fleet::SummaryColumns {
                features: self.cfg.columns.features.clone(),
                label: self.cfg.columns.label.clone(),
                slices: self.cfg.columns.slices.clone(),
            },
            metrics: &self.cfg.metrics,
            slice_options: &self.cfg.slices,
            slices: &self.slices,
            drift,
            latency: latency
                .champion
                .as_ref()
                .map(|l| (latency.champion_batch_ms.as_slice(), l.rows)),
            model: ctx.model.clone(),
            source: fleet::SourceInfo {
                data_sha256: Some(digest.sha256.to_hex()),
                rows_used: self.rows_used,
                time: ctx.time.clone(),
                runtime: ctx.runtime.clone(),
            },
            rows: (rows_read, self.rows_used, self.skipped),
        })
    }
}

/// Rebuilds classification storage with remapped class indices and the final class count.
fn remap(data: &ClassificationData, map: &[u32], c: usize) -> ClassificationData {
    let mut out = ClassificationData::new(c, false);
    let mut tmp = data.clone();
    tmp.remap_classes(map);
    for (&y, &p) in tmp.labels().iter().zip(tmp.preds()) {
        out.push(y, p, None);
    }
    out
}
