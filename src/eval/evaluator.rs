//! The evaluation driver: data in (CSV/JSON chunks), rows through a [`Predictor`] in batches
//! (or predictions already made, read from columns), every result out as a [`Report`].
//!
//! ```
//! use edge_registry::eval::{EvalConfig, Evaluator, PredictionColumns, ReportContext, TaskKind};
//! let csv = b"y,p_0,p_1\n0,0.9,0.1\n1,0.2,0.8\n1,0.6,0.4\n";
//! let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
//! cfg.predictions = Some(PredictionColumns::proba(&["p_0", "p_1"]));
//! let mut ev = Evaluator::new(cfg, None).unwrap();
//! ev.push(csv).unwrap();
//! let report = ev.finish(ReportContext::default()).unwrap();
//! let acc = report.results.classification.as_ref().unwrap().accuracy;
//! assert!((acc - 2.0 / 3.0).abs() < 1e-15);
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::classification::{argmax, ClassificationData};
use super::compare::{self, CompareConfig};
use super::data::{
    BadRow, BadRowPolicy, ColumnSelection, DataFormat, Limits, RawRow, RowResult, TableReader,
    Value,
};
use super::drift::{self, DriftAccumulator, DriftConfig};
use super::error::{invalid, EvalError};
use super::gates::{self, GateSpec};
use super::latency::{LatencyRecorder, Timer};
use super::profile::Profile;
use super::quality::{class_counts, QualityAccumulator};
use super::regression::RegressionData;
use super::report::{ColumnMapping, DataInfo, Report, RuntimeInfo, REPORT_FORMAT, REPORT_VERSION};
use super::results::{ModelIdentity, TaskKind};
use super::slices::{SliceColumn, SliceConfig};
use super::task::{MetricOptions, TaskData};

/// Outputs of a model for a batch of rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prediction {
    /// Class probabilities, row-major `n × C`.
    pub probabilities: Option<Vec<f32>>,
    /// Predicted class indices (`0..C`), e.g. an ONNX `ArgMax` output.
    pub labels: Option<Vec<i64>>,
    /// Regression outputs, one per row.
    pub values: Option<Vec<f32>>,
}

/// A predictor's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictorError {
    /// A stable code (the engine's own, or `PREDICTOR_FAILED`).
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

/// What the inference engine implements so the evaluator can run a model.
pub trait Predictor {
    /// Features per row the model takes (the mapping's feature count must equal it).
    fn n_features(&self) -> usize;
    /// Classes (width of the probability output) for a classifier, `None` for a regressor.
    fn n_classes(&self) -> Option<usize>;
    /// Predicts `n_rows` rows; `features` is row-major `n_rows × n_features()`.
    fn predict(&mut self, features: &[f32], n_rows: usize) -> Result<Prediction, PredictorError>;
}

/// Columns that hold predictions made elsewhere (no model).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PredictionColumns {
    /// One probability column per class, in class order.
    pub proba: Vec<String>,
    /// A predicted-label column.
    pub label: Option<String>,
    /// A predicted-value column (regression).
    pub value: Option<String>,
}

impl PredictionColumns {
    /// Probability columns only.
    pub fn proba(cols: &[&str]) -> Self {
        PredictionColumns {
            proba: cols.iter().map(|s| s.to_string()).collect(),
            ..Self::default()
        }
    }
}

/// Everything an evaluation needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalConfig {
    /// Classification or regression.
    pub task: TaskKind,
    /// CSV or JSON.
    pub format: DataFormat,
    /// Feature, label, slice and id columns.
    pub columns: ColumnMapping,
    /// Prediction columns (scoring without a model); `None` when a model predicts.
    pub predictions: Option<PredictionColumns>,
    /// Class labels in index order. Default: `"0".."C-1"` when there are probabilities;
    /// discovered from the data (sorted as scikit-learn's `unique_labels`) with labels only.
    pub classes: Option<Vec<String>>,
    /// Skip or fail on bad rows. Default skip.
    pub bad_rows: BadRowPolicy,
    /// Bad rows listed in the report. Default 100.
    pub max_bad_rows_listed: usize,
    /// Rows per predictor call. Default 256.
    pub batch_size: usize,
    /// Input limits.
    pub limits: Limits,
    /// Metric options.
    pub metrics: MetricOptions,
    /// Slice options.
    pub slices: SliceConfig,
    /// Drift options (used when a profile is given).
    pub drift: DriftConfig,
    /// Name of the profile column that describes the model's outputs (prediction drift).
    /// Default `prediction`.
    pub prediction_column: String,
    /// Comparison options (used with a challenger).
    pub compare: CompareConfig,
    /// Gates to evaluate.
    pub gates: Vec<GateSpec>,
    /// Columns checked for drift against the profile. Default (`None`): the features.
    pub drift_columns: Option<Vec<String>>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            task: TaskKind::Classification,
            format: DataFormat::Csv,
            columns: ColumnMapping::default(),
            predictions: None,
            classes: None,
            bad_rows: BadRowPolicy::Skip,
            max_bad_rows_listed: 100,
            batch_size: 256,
            limits: Limits::default(),
            metrics: MetricOptions::default(),
            slices: SliceConfig::default(),
            drift: DriftConfig::default(),
            prediction_column: "prediction".into(),
            compare: CompareConfig::default(),
            gates: Vec::new(),
            drift_columns: None,
        }
    }
}

impl EvalConfig {
    /// Defaults for a task with this label column.
    pub fn new(task: TaskKind, label: &str) -> Self {
        EvalConfig {
            task,
            columns: ColumnMapping {
                label: label.to_string(),
                ..ColumnMapping::default()
            },
            ..Self::default()
        }
    }
}

/// Caller-supplied report fields (the core reads no clock and knows no registry).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportContext {
    /// The time to put in the report.
    pub time: String,
    /// The runtime's name.
    pub runtime: String,
    /// The model evaluated.
    pub model: Option<ModelIdentity>,
    /// The challenger, in a comparison.
    pub challenger: Option<ModelIdentity>,
}

/// How far an evaluation has got (bytes, rows read, used and skipped). Not the registry's
/// download [`crate::registry::Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EvalProgress {
    /// Bytes pushed.
    pub bytes: u64,
    /// Data rows parsed.
    pub rows_read: u64,
    /// Rows in the results.
    pub rows_used: u64,
    /// Bad rows.
    pub rows_skipped: u64,
}

/// Most classes an evaluation handles: the confusion matrix is `C × C` and every row keeps `C`
/// probabilities, so `C` (from the data's distinct labels, the caller's class list, or a
/// model's output width) is bounded before anything is sized by it. 2,048 classes: a 32 MiB
/// confusion matrix.
pub const MAX_CLASSES: usize = 2048;

/// Most class probabilities an evaluation keeps (rows × classes, champion and challenger
/// together): 2^27 values, 1 GiB of f64.
pub const MAX_STORED_PROBABILITIES: usize = 1 << 27;

/// Upper bounds on the evaluation options (JS callers and CLI flags set them), so no
/// allocation or loop is sized by an unchecked caller number: `(what, value, limit)`.
fn check_option_sizes(cfg: &EvalConfig) -> Result<(), EvalError> {
    let too_big = |what: &str, limit: usize| EvalError::LimitExceeded {
        what: what.to_string(),
        limit: limit as u64,
    };
    let checks: [(&str, usize, usize); 9] = [
        ("batch_size", cfg.batch_size, 1 << 16),
        (
            "metrics.calibration_bins",
            cfg.metrics.calibration_bins,
            10_000,
        ),
        (
            "metrics.top_k",
            cfg.metrics.top_k.iter().copied().max().unwrap_or(1),
            MAX_CLASSES,
        ),
        ("slices.quantile_bins", cfg.slices.quantile_bins, 1_000),
        ("slices.max_values", cfg.slices.max_values, 100_000),
        ("compare.resamples", cfg.compare.resamples, 100_000),
        (
            "drift.max_current_sample",
            cfg.drift.max_current_sample,
            10_000_000,
        ),
        ("max_bad_rows_listed", cfg.max_bad_rows_listed, 100_000),
        (
            "classes",
            cfg.classes.as_ref().map_or(0, Vec::len),
            MAX_CLASSES,
        ),
    ];
    for (what, value, limit) in checks {
        if value > limit {
            return Err(too_big(what, limit));
        }
    }
    if cfg.metrics.top_k.len() > 64 || cfg.gates.len() > 1000 {
        return Err(too_big("metrics.top_k or gates entries", 1000));
    }
    let proba = cfg.predictions.as_ref().map_or(0, |p| p.proba.len());
    if proba > MAX_CLASSES {
        return Err(too_big("probability columns", MAX_CLASSES));
    }
    // One inference batch holds batch_size × features floats.
    let batch = cfg.batch_size.saturating_mul(cfg.columns.features.len());
    if batch > 1 << 28 {
        return Err(too_big("batch_size × features", 1 << 28));
    }
    Ok(())
}

struct LabelMap {
    classes: Vec<String>,
    index: HashMap<String, u32>,
    numbers: Vec<(f64, u32)>,
    fixed: bool,
}

impl LabelMap {
    fn new(classes: Option<Vec<String>>) -> Self {
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
    fn lookup(&mut self, key: &str) -> Result<u32, String> {
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
                super::data::truncate(key, 40),
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

enum Truth {
    Class(u32),
    Value(f64),
}

struct Pending {
    number: u64,
    truth: Truth,
    slices: Vec<Value>,
    drift: Vec<Value>,
}

struct Core {
    cfg: EvalConfig,
    model_mode: bool,
    n_classes: Option<usize>,
    labels: LabelMap,
    // Positions in the selected columns.
    feat: Vec<usize>,
    label: usize,
    slice_pos: Vec<usize>,
    proba_pos: Vec<usize>,
    pred_label_pos: Option<usize>,
    value_pos: Option<usize>,
    drift_pos: Vec<usize>,
    selected: Vec<String>,
    main: Option<TaskData>,
    challenger: Option<TaskData>,
    slices: Vec<SliceColumn>,
    quality: QualityAccumulator,
    drift: Option<DriftAccumulator>,
    pred_drift: Option<DriftAccumulator>,
    batch: Vec<f32>,
    pending: Vec<Pending>,
    latency: LatencyRecorder,
    challenger_latency: LatencyRecorder,
    rows_used: u64,
    skipped: u64,
    bad: Vec<BadRow>,
    bad_truncated: bool,
    checked_model: bool,
}

struct Models<'a, 'p, 'c, 't> {
    champion: &'a mut (dyn Predictor + 'p),
    challenger: Option<&'a mut (dyn Predictor + 'c)>,
    timer: &'a mut (dyn Timer + 't),
}

/// Streams data through the metrics. See the module documentation.
pub struct Evaluator {
    reader: TableReader,
    core: Core,
    finished: bool,
}

impl Evaluator {
    /// An evaluator. With `config.predictions` set it scores those columns (use
    /// [`Evaluator::push`]); otherwise a model predicts (use [`Evaluator::push_with_model`]).
    /// `profile` enables range/category checks and drift.
    pub fn new(config: EvalConfig, profile: Option<&Profile>) -> Result<Self, EvalError> {
        let cfg = config;
        if cfg.columns.label.is_empty() {
            return Err(invalid("the label column is required"));
        }
        if cfg.batch_size == 0 || cfg.metrics.calibration_bins == 0 {
            return Err(invalid("batch_size and calibration_bins must be positive"));
        }
        if cfg.metrics.top_k.contains(&0) {
            return Err(invalid("top-k needs k ≥ 1"));
        }
        check_option_sizes(&cfg)?;
        gates::validate(&cfg.gates)?;
        let model_mode = cfg.predictions.is_none();
        let mut selected: Vec<String> = Vec::new();
        let mut pos = |name: &str| -> usize {
            match selected.iter().position(|s| s == name) {
                Some(i) => i,
                None => {
                    selected.push(name.to_string());
                    selected.len() - 1
                }
            }
        };
        let feat: Vec<usize> = if model_mode {
            if cfg.columns.features.is_empty() {
                return Err(invalid("a model evaluation needs feature columns"));
            }
            cfg.columns.features.iter().map(|f| pos(f)).collect()
        } else {
            Vec::new()
        };
        let label = pos(&cfg.columns.label);
        let slice_pos: Vec<usize> = cfg.columns.slices.iter().map(|s| pos(s)).collect();
        if let Some(id) = &cfg.columns.id {
            pos(id);
        }
        let (mut proba_pos, mut pred_label_pos, mut value_pos) = (Vec::new(), None, None);
        let mut n_classes = None;
        let mut classes = cfg.classes.clone();
        if let Some(p) = &cfg.predictions {
            proba_pos = p.proba.iter().map(|c| pos(c)).collect();
            pred_label_pos = p.label.as_deref().map(&mut pos);
            value_pos = p.value.as_deref().map(&mut pos);
            match cfg.task {
                TaskKind::Classification => {
                    if proba_pos.is_empty() && pred_label_pos.is_none() {
                        return Err(invalid(
                            "scoring a classifier needs probability columns or a predicted-label column",
                        ));
                    }
                    if !proba_pos.is_empty() {
                        let c = proba_pos.len();
                        if c < 2 {
                            return Err(invalid(
                                "give one probability column per class (at least 2)",
                            ));
                        }
                        match &classes {
                            Some(k) if k.len() != c => {
                                return Err(invalid(format!(
                                    "{} classes but {c} probability columns",
                                    k.len()
                                )))
                            }
                            Some(_) => {}
                            None => classes = Some((0..c).map(|i| i.to_string()).collect()),
                        }
                        n_classes = Some(c);
                    }
                }
                TaskKind::Regression => {
                    if value_pos.is_none() {
                        return Err(invalid(
                            "scoring a regressor needs a predicted-value column",
                        ));
                    }
                }
            }
        }
        if let Some(k) = &classes {
            let mut seen = std::collections::HashSet::new();
            if k.iter().any(|c| !seen.insert(c)) {
                return Err(invalid("class labels must be unique"));
            }
            if n_classes.is_none() {
                n_classes = Some(k.len());
            }
        }
        let drift_pos: Vec<usize> = match (profile, &cfg.drift_columns) {
            (Some(p), Some(cols)) => cols
                .iter()
                .filter(|c| p.column(c).is_some())
                .map(|c| pos(c))
                .collect(),
            (Some(p), None) => feat
                .iter()
                .copied()
                .filter(|&i| selected.get(i).is_some_and(|name| p.column(name).is_some()))
                .collect(),
            (None, _) => Vec::new(),
        };
        let numeric: Vec<bool> = (0..selected.len())
            .map(|i| feat.contains(&i) || proba_pos.contains(&i) || Some(i) == value_pos)
            .collect();
        let quality = QualityAccumulator::new(&selected, &numeric, profile);
        let drift = profile.map(|p| {
            let names: Vec<String> = drift_pos
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
        let reader = TableReader::new(
            cfg.format,
            ColumnSelection::Named(selected.clone()),
            cfg.limits.clone(),
        );
        let core = Core {
            model_mode,
            n_classes,
            labels: LabelMap::new(classes),
            feat,
            label,
            slice_pos,
            proba_pos,
            pred_label_pos,
            value_pos,
            drift_pos,
            selected,
            main: None,
            challenger: None,
            slices,
            quality,
            drift,
            pred_drift,
            batch: Vec::new(),
            pending: Vec::new(),
            latency: LatencyRecorder::new(),
            challenger_latency: LatencyRecorder::new(),
            rows_used: 0,
            skipped: 0,
            bad: Vec::new(),
            bad_truncated: false,
            checked_model: false,
            cfg,
        };
        Ok(Evaluator {
            reader,
            core,
            finished: false,
        })
    }

    /// Progress so far (for progress bars and JS callbacks).
    pub fn progress(&self) -> EvalProgress {
        EvalProgress {
            bytes: self.reader.bytes_seen(),
            rows_read: self.reader.rows_seen(),
            rows_used: self.core.rows_used,
            rows_skipped: self.core.skipped,
        }
    }

    fn check_open(&self) -> Result<(), EvalError> {
        if self.finished {
            return Err(EvalError::InvalidState {
                reason: "the evaluation is finished".into(),
            });
        }
        Ok(())
    }

    /// Feeds data when scoring prediction columns (no model).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), EvalError> {
        self.check_open()?;
        if self.core.model_mode {
            return Err(EvalError::InvalidState {
                reason: "this evaluation runs a model: use push_with_model".into(),
            });
        }
        let core = &mut self.core;
        self.reader.push(chunk, &mut |row| core.row(row, None))
    }

    /// Feeds data through a model (`challenger` too, for a comparison), timing each batch.
    pub fn push_with_model(
        &mut self,
        chunk: &[u8],
        champion: &mut dyn Predictor,
        challenger: Option<&mut dyn Predictor>,
        timer: &mut dyn Timer,
    ) -> Result<(), EvalError> {
        self.check_open()?;
        if !self.core.model_mode {
            return Err(EvalError::InvalidState {
                reason: "this evaluation scores prediction columns: use push".into(),
            });
        }
        let mut models = Models {
            champion,
            challenger,
            timer,
        };
        self.core.check_models(&models)?;
        let core = &mut self.core;
        self.reader
            .push(chunk, &mut |row| core.row(row, Some(&mut models)))
    }

    /// Ends a prediction-column evaluation and builds the report.
    pub fn finish(mut self, ctx: ReportContext) -> Result<Report, EvalError> {
        self.check_open()?;
        if self.core.model_mode {
            return Err(EvalError::InvalidState {
                reason: "this evaluation runs a model: use finish_with_model".into(),
            });
        }
        let core = &mut self.core;
        let digest = self.reader.finish(&mut |row| core.row(row, None))?;
        self.finished = true;
        self.core.report(digest, &self.reader, ctx)
    }

    /// Ends a model evaluation: flushes the last batch and builds the report.
    pub fn finish_with_model(
        mut self,
        champion: &mut dyn Predictor,
        challenger: Option<&mut dyn Predictor>,
        timer: &mut dyn Timer,
        ctx: ReportContext,
    ) -> Result<Report, EvalError> {
        self.check_open()?;
        if !self.core.model_mode {
            return Err(EvalError::InvalidState {
                reason: "this evaluation scores prediction columns: use finish".into(),
            });
        }
        let mut models = Models {
            champion,
            challenger,
            timer,
        };
        self.core.check_models(&models)?;
        let core = &mut self.core;
        let digest = self
            .reader
            .finish(&mut |row| core.row(row, Some(&mut models)))?;
        self.core.run_batch(&mut models)?;
        self.finished = true;
        self.core.report(digest, &self.reader, ctx)
    }
}

impl Core {
    fn check_models(&mut self, m: &Models<'_, '_, '_, '_>) -> Result<(), EvalError> {
        if self.checked_model {
            return Ok(());
        }
        let nf = self.feat.len();
        let check = |p: &dyn Predictor, who: &str| -> Result<Option<usize>, EvalError> {
            if p.n_features() != nf {
                return Err(EvalError::SchemaMismatch {
                    reason: format!(
                        "the {who} takes {} features, the mapping gives {nf}",
                        p.n_features()
                    ),
                });
            }
            match (self.cfg.task, p.n_classes()) {
                (TaskKind::Classification, None) => Err(EvalError::SchemaMismatch {
                    reason: format!("the {who} is a regressor, the task is classification"),
                }),
                (TaskKind::Regression, Some(_)) => Err(EvalError::SchemaMismatch {
                    reason: format!("the {who} is a classifier, the task is regression"),
                }),
                (_, c) => Ok(c),
            }
        };
        let c1 = check(&*m.champion, "model")?;
        if let Some(ch) = &m.challenger {
            let c2 = check(&**ch, "challenger")?;
            if c1 != c2 {
                return Err(EvalError::SchemaMismatch {
                    reason: "champion and challenger have different numbers of classes".into(),
                });
            }
        }
        if let Some(c) = c1 {
            if c < 2 {
                return Err(EvalError::SchemaMismatch {
                    reason: format!("a classifier needs at least 2 classes, the model has {c}"),
                });
            }
            if c > MAX_CLASSES {
                return Err(EvalError::LimitExceeded {
                    what: format!("the model's {c} classes"),
                    limit: MAX_CLASSES as u64,
                });
            }
            match self.n_classes {
                Some(k) if k != c => {
                    return Err(EvalError::SchemaMismatch {
                        reason: format!("{k} class labels given but the model has {c} classes"),
                    })
                }
                Some(_) => {}
                None => {
                    self.labels = LabelMap::new(Some((0..c).map(|i| i.to_string()).collect()));
                    self.n_classes = Some(c);
                }
            }
        }
        self.checked_model = true;
        Ok(())
    }

    fn bad(&mut self, b: BadRow) -> Result<(), EvalError> {
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

    fn bad_at(&mut self, row: u64, col: usize, reason: String) -> Result<(), EvalError> {
        let column = self.selected.get(col).cloned();
        self.bad(BadRow {
            row,
            column,
            reason,
        })
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

    fn row(
        &mut self,
        row: RowResult,
        models: Option<&mut Models<'_, '_, '_, '_>>,
    ) -> Result<(), EvalError> {
        let raw: RawRow = match row {
            Ok(r) => r,
            Err(b) => return self.bad(b),
        };
        self.quality.add(&raw.cells.iter().collect::<Vec<_>>());
        let n = raw.number;
        let cell = |i: usize| raw.cells.get(i).unwrap_or(&Value::Missing);
        // Ground truth.
        let truth = match self.cfg.task {
            TaskKind::Classification => match cell(self.label).key() {
                None => return self.bad_at(n, self.label, "missing label".into()),
                Some(k) => match self.labels.lookup(&k) {
                    Ok(i) => Truth::Class(i),
                    Err(e) => return self.bad_at(n, self.label, e),
                },
            },
            TaskKind::Regression => match cell(self.label).number() {
                None => return self.bad_at(n, self.label, "missing label".into()),
                Some(Err(e)) => return self.bad_at(n, self.label, e),
                Some(Ok(x)) if !x.is_finite() => {
                    return self.bad_at(n, self.label, "non-finite label".into())
                }
                Some(Ok(x)) => Truth::Value(x),
            },
        };
        let slices: Vec<Value> = self.slice_pos.iter().map(|&i| cell(i).clone()).collect();
        let drift: Vec<Value> = self.drift_pos.iter().map(|&i| cell(i).clone()).collect();
        if let Some(models) = models {
            // Features → f32.
            let start = self.batch.len();
            for k in 0..self.feat.len() {
                let Some(&i) = self.feat.get(k) else { break };
                let problem = match cell(i).number() {
                    None => Some("missing value".to_string()),
                    Some(Err(e)) => Some(e),
                    Some(Ok(x)) if !x.is_finite() => Some("non-finite value".into()),
                    Some(Ok(x)) if !(x as f32).is_finite() => {
                        Some("outside the float32 range".into())
                    }
                    Some(Ok(x)) => {
                        self.batch.push(x as f32);
                        None
                    }
                };
                if let Some(p) = problem {
                    self.batch.truncate(start);
                    return self.bad_at(n, i, p);
                }
            }
            self.pending.push(Pending {
                number: n,
                truth,
                slices,
                drift,
            });
            if self.pending.len() >= self.cfg.batch_size {
                self.run_batch(models)?;
            }
            return Ok(());
        }
        // Prediction columns.
        match truth {
            Truth::Class(y) => {
                let mut proba = Vec::with_capacity(self.proba_pos.len());
                for k in 0..self.proba_pos.len() {
                    let Some(&i) = self.proba_pos.get(k) else {
                        break;
                    };
                    match cell(i).number() {
                        None => return self.bad_at(n, i, "missing probability".into()),
                        Some(Err(e)) => return self.bad_at(n, i, e),
                        Some(Ok(x)) if !(0.0..=1.0).contains(&x) => {
                            return self.bad_at(n, i, format!("probability {x} outside [0, 1]"))
                        }
                        Some(Ok(x)) => proba.push(x),
                    }
                }
                let pred = match self.pred_label_pos {
                    Some(i) => match cell(i).key() {
                        None => return self.bad_at(n, i, "missing predicted label".into()),
                        Some(k) => match self.labels.lookup(&k) {
                            Ok(p) => p,
                            Err(e) => return self.bad_at(n, i, e),
                        },
                    },
                    None => argmax(&proba) as u32,
                };
                self.commit_class(
                    y,
                    pred,
                    (!proba.is_empty()).then_some(proba.as_slice()),
                    None,
                    slices,
                    drift,
                )?;
            }
            Truth::Value(y) => {
                let Some(i) = self.value_pos else {
                    return Ok(());
                };
                let v = match cell(i).number() {
                    None => return self.bad_at(n, i, "missing prediction".into()),
                    Some(Err(e)) => return self.bad_at(n, i, e),
                    Some(Ok(x)) if !x.is_finite() => {
                        return self.bad_at(n, i, "non-finite prediction".into())
                    }
                    Some(Ok(x)) => x,
                };
                self.commit_value(y, v, None, slices, drift);
            }
        }
        Ok(())
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

    fn commit_class(
        &mut self,
        y: u32,
        pred: u32,
        proba: Option<&[f64]>,
        challenger: Option<(u32, Option<&[f64]>)>,
        slices: Vec<Value>,
        drift: Vec<Value>,
    ) -> Result<(), EvalError> {
        // Probabilities are kept for every row (ROC AUC, log loss, calibration, bootstrap):
        // rows × classes values, bounded so a wide model output over many rows cannot exhaust
        // memory.
        let width =
            proba.map_or(0, <[f64]>::len) + challenger.and_then(|(_, p)| p).map_or(0, <[f64]>::len);
        let stored = (self.rows_used as usize)
            .saturating_add(1)
            .saturating_mul(width);
        if stored > MAX_STORED_PROBABILITIES {
            return Err(EvalError::LimitExceeded {
                what: "stored class probabilities (rows × classes)".into(),
                limit: MAX_STORED_PROBABILITIES as u64,
            });
        }
        self.ensure_main(proba.is_some());
        if let Some(TaskData::Classification { data, .. }) = &mut self.main {
            data.push(y, pred, proba);
        }
        if let Some((cp, cproba)) = challenger {
            let c = self.n_classes.unwrap_or(MAX_CLASSES);
            let ch = self
                .challenger
                .get_or_insert_with(|| TaskData::Classification {
                    data: ClassificationData::new(c, cproba.is_some()),
                    classes: Vec::new(),
                });
            if let TaskData::Classification { data, .. } = ch {
                data.push(y, cp, cproba);
            }
        }
        if let Some(pd) = &mut self.pred_drift {
            let label = self
                .labels
                .classes
                .get(pred as usize)
                .cloned()
                .unwrap_or_default();
            pd.add(&[&Value::Text(label)]);
        }
        self.commit_common(slices, drift);
        Ok(())
    }

    fn commit_value(
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

    fn run_batch(&mut self, models: &mut Models<'_, '_, '_, '_>) -> Result<(), EvalError> {
        let n = self.pending.len();
        if n == 0 {
            return Ok(());
        }
        let features = std::mem::take(&mut self.batch);
        let pending = std::mem::take(&mut self.pending);
        let c = self.n_classes;
        let run = |p: &mut dyn Predictor, timer: &mut dyn Timer, lat: &mut LatencyRecorder| {
            let t0 = timer.now_ms();
            let out = p.predict(&features, n);
            let t1 = timer.now_ms();
            lat.record(n, t1 - t0);
            let out = out.map_err(|e| EvalError::Predictor {
                code: e.code,
                message: e.message,
            })?;
            check_shape(&out, n, c)?;
            Ok::<Prediction, EvalError>(out)
        };
        let a = run(&mut *models.champion, &mut *models.timer, &mut self.latency)?;
        let b = match models.challenger.as_deref_mut() {
            Some(ch) => Some(run(ch, &mut *models.timer, &mut self.challenger_latency)?),
            None => None,
        };
        for (i, p) in pending.into_iter().enumerate() {
            match p.truth {
                Truth::Class(y) => {
                    let c = c.unwrap_or(0);
                    let ra = match class_output(&a, i, c) {
                        Ok(r) => r,
                        Err(e) => {
                            self.bad(BadRow {
                                row: p.number,
                                column: None,
                                reason: e,
                            })?;
                            continue;
                        }
                    };
                    let rb = match &b {
                        Some(b) => match class_output(b, i, c) {
                            Ok(r) => Some(r),
                            Err(e) => {
                                self.bad(BadRow {
                                    row: p.number,
                                    column: None,
                                    reason: format!("challenger: {e}"),
                                })?;
                                continue;
                            }
                        },
                        None => None,
                    };
                    let ch = rb.as_ref().map(|(l, pr)| (*l, pr.as_deref()));
                    self.commit_class(y, ra.0, ra.1.as_deref(), ch, p.slices, p.drift)?;
                }
                Truth::Value(y) => {
                    let va = value_output(&a, i);
                    let vb = b.as_ref().map(|b| value_output(b, i));
                    match (va, vb) {
                        (Ok(va), None) => self.commit_value(y, va, None, p.slices, p.drift),
                        (Ok(va), Some(Ok(vb))) => {
                            self.commit_value(y, va, Some(vb), p.slices, p.drift)
                        }
                        (Err(e), _) | (_, Some(Err(e))) => {
                            self.bad(BadRow {
                                row: p.number,
                                column: None,
                                reason: e,
                            })?;
                        }
                    }
                }
            }
        }
        let mut features = features;
        features.clear();
        self.batch = features;
        Ok(())
    }

    fn report(
        &mut self,
        digest: super::data::DataDigest,
        reader: &TableReader,
        ctx: ReportContext,
    ) -> Result<Report, EvalError> {
        let main = self.main.take().filter(|m| !m.is_empty());
        let Some(mut main) = main else {
            return Err(EvalError::NoRows {
                reason: format!(
                    "{} rows read, {} skipped as bad",
                    reader.rows_seen(),
                    self.skipped
                ),
            });
        };
        let mut challenger = self.challenger.take();
        // Classes: fixed, or discovered and sorted.
        let classes: Option<Vec<String>> = match self.cfg.task {
            TaskKind::Classification => {
                let (classes, map) = if self.labels.fixed {
                    (self.labels.classes.clone(), None)
                } else {
                    let (c, m) = self.labels.sorted();
                    (c, Some(m))
                };
                for td in [Some(&mut main), challenger.as_mut()].into_iter().flatten() {
                    if let TaskData::Classification { data, classes: cl } = td {
                        if let Some(m) = &map {
                            *data = remap(data, m, classes.len());
                        }
                        *cl = classes.clone();
                    }
                }
                Some(classes)
            }
            TaskKind::Regression => None,
        };
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
        let pred_drift = self
            .pred_drift
            .take()
            .and_then(|d| d.finish_columns().into_iter().next());
        let drift = self
            .drift
            .take()
            .map(|d| d.finish(pred_drift.clone()))
            .or_else(|| {
                pred_drift.map(|p| drift::report(Vec::new(), self.cfg.drift.drift_share, Some(p)))
            });
        let comparison = match &challenger {
            Some(ch) => {
                let mut c = compare::compare(&main, ch, &self.cfg.compare, opts)?;
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
                rows_read: reader.rows_seen(),
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
                latency: self.latency.report(),
                challenger_latency: self.challenger_latency.report(),
            },
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

fn check_shape(p: &Prediction, n: usize, c: Option<usize>) -> Result<(), EvalError> {
    let fail = |m: String| EvalError::Predictor {
        code: "PREDICTOR_FAILED",
        message: m,
    };
    match c {
        Some(c) => {
            if p.probabilities.is_none() && p.labels.is_none() {
                return Err(fail(
                    "a classifier returned neither probabilities nor labels".into(),
                ));
            }
            if let Some(pr) = &p.probabilities {
                if pr.len() != n * c {
                    return Err(fail(format!(
                        "expected {n}×{c} probabilities, got {}",
                        pr.len()
                    )));
                }
            }
            if let Some(l) = &p.labels {
                if l.len() != n {
                    return Err(fail(format!("expected {n} labels, got {}", l.len())));
                }
            }
        }
        None => match &p.values {
            Some(v) if v.len() == n => {}
            Some(v) => return Err(fail(format!("expected {n} values, got {}", v.len()))),
            None => return Err(fail("a regressor returned no values".into())),
        },
    }
    Ok(())
}

/// Probability slack accepted from float32 model outputs before clamping to [0, 1].
const PROBA_SLACK: f64 = 1e-6;

#[allow(clippy::type_complexity)]
fn class_output(p: &Prediction, i: usize, c: usize) -> Result<(u32, Option<Vec<f64>>), String> {
    let proba: Option<Vec<f64>> = match &p.probabilities {
        Some(pr) => {
            let row = pr.get(i * c..(i + 1) * c).ok_or("missing model output")?;
            let mut v = Vec::with_capacity(c);
            for &x in row {
                let x = f64::from(x);
                if !x.is_finite() || !(-PROBA_SLACK..=1.0 + PROBA_SLACK).contains(&x) {
                    return Err(format!("model output {x} is not a probability"));
                }
                v.push(x.clamp(0.0, 1.0));
            }
            Some(v)
        }
        None => None,
    };
    let pred = match &p.labels {
        Some(l) => {
            let k = *l.get(i).ok_or("missing model label")?;
            if k < 0 || k as usize >= c {
                return Err(format!("model label {k} outside 0..{c}"));
            }
            k as u32
        }
        None => argmax(proba.as_deref().unwrap_or(&[])) as u32,
    };
    Ok((pred, proba))
}

fn value_output(p: &Prediction, i: usize) -> Result<f64, String> {
    let v = p
        .values
        .as_ref()
        .and_then(|v| v.get(i))
        .copied()
        .ok_or("missing model output")?;
    let v = f64::from(v);
    if !v.is_finite() {
        return Err("non-finite model output".into());
    }
    Ok(v)
}

/// Scores prediction columns in one call (a convenience over [`Evaluator`]).
pub fn score_predictions(
    config: EvalConfig,
    profile: Option<&Profile>,
    data: &[u8],
    ctx: ReportContext,
) -> Result<Report, EvalError> {
    let mut ev = Evaluator::new(config, profile)?;
    ev.push(data)?;
    ev.finish(ctx)
}

/// Runs a model over data in one call (a convenience over [`Evaluator`]).
pub fn evaluate_model(
    config: EvalConfig,
    profile: Option<&Profile>,
    data: &[u8],
    model: &mut dyn Predictor,
    timer: &mut dyn Timer,
    ctx: ReportContext,
) -> Result<Report, EvalError> {
    let mut ev = Evaluator::new(config, profile)?;
    ev.push_with_model(data, model, None, timer)?;
    ev.finish_with_model(model, None, timer, ctx)
}
