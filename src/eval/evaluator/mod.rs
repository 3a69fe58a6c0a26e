//! The evaluation driver: data in (CSV/JSON chunks), rows through a [`Predictor`] in batches
//! (or predictions already made, read from columns), every result out as a [`Report`].
//!
//! An [`Evaluator`] runs in one of two modes, fixed by [`EvalConfig::predictions`]:
//!
//! - **scoring** (`predictions` set): the predictions are columns of the data
//!   (`scoring.rs`); feed it with [`Evaluator::push`] and end with [`Evaluator::finish`];
//! - **model** (`predictions` `None`): a [`Predictor`] (and optionally a challenger) runs over
//!   the feature columns in batches (`model_run.rs`); feed it with [`Evaluator::push_with_model`]
//!   and end with [`Evaluator::finish_with_model`].
//!
//! Both commit rows into one shared metric accumulator (`accumulator.rs`), which builds the report.
//! [`score_predictions`] and [`evaluate_model`] are the one-call forms.
//!
//! Files: `config` (options, report context, limits; imports only lower `eval` modules),
//! `predictor` (the model trait; imports nothing), `accumulator` (imports `config`), `scoring`
//! and `model_run` (import `accumulator`, `config`, `predictor`), and this file (the
//! [`Evaluator`] front, importing all of them).
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

use serde::{Deserialize, Serialize};

use super::data::{ColumnSelection, TableReader};
use super::error::{invalid, EvalError};
use super::latency::Timer;
use super::profile::Profile;
use super::report::Report;

mod accumulator;
mod config;
mod model_run;
mod predictor;
mod scoring;

pub use config::{
    EvalConfig, PredictionColumns, ReportContext, MAX_CLASSES, MAX_STORED_PROBABILITIES,
};
pub use predictor::{Prediction, Predictor, PredictorError};

use accumulator::{Accumulator, Latencies, Selection, SharedColumns};
use model_run::{ModelRun, Models};
use scoring::ScoringColumns;

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

/// Which of the two evaluation modes an [`Evaluator`] runs, with that mode's own state.
enum Mode {
    /// Predictions made elsewhere, read from columns.
    Scoring(ScoringColumns),
    /// A model (and maybe a challenger) predicts in batches.
    Model(ModelRun),
}

impl Mode {
    /// Selected positions of the model's features (none when scoring).
    fn features(&self) -> &[usize] {
        match self {
            Mode::Scoring(_) => &[],
            Mode::Model(run) => run.features(),
        }
    }

    /// Whether a selected column must hold numbers: a feature, a probability or a predicted
    /// value.
    fn is_numeric(&self, i: usize) -> bool {
        match self {
            Mode::Scoring(cols) => cols.is_numeric(i),
            Mode::Model(run) => run.features().contains(&i),
        }
    }
}

/// Streams data through the metrics. See the module documentation.
pub struct Evaluator {
    reader: TableReader,
    acc: Accumulator,
    mode: Mode,
    finished: bool,
}

impl Evaluator {
    /// An evaluator. With `config.predictions` set it scores those columns (use
    /// [`Evaluator::push`]); otherwise a model predicts (use [`Evaluator::push_with_model`]).
    /// `profile` enables range/category checks and drift.
    pub fn new(config: EvalConfig, profile: Option<&Profile>) -> Result<Self, EvalError> {
        let cfg = config;
        config::validate(&cfg)?;
        // The selection order (features, label, slices, id, predictions, drift) is the order
        // of the report's quality columns.
        let mut sel = Selection::default();
        let feat: Vec<usize> = match cfg.predictions {
            None if cfg.columns.features.is_empty() => {
                return Err(invalid("a model evaluation needs feature columns"))
            }
            None => cfg.columns.features.iter().map(|f| sel.pos(f)).collect(),
            Some(_) => Vec::new(),
        };
        let label = sel.pos(&cfg.columns.label);
        let slices: Vec<usize> = cfg.columns.slices.iter().map(|s| sel.pos(s)).collect();
        if let Some(id) = &cfg.columns.id {
            sel.pos(id);
        }
        let mut classes = cfg.classes.clone();
        let (mode, mut n_classes) = match &cfg.predictions {
            Some(p) => {
                let cols = ScoringColumns::new(p, cfg.task, &mut sel, &mut classes)?;
                let n = cols.n_classes(cfg.task);
                (Mode::Scoring(cols), n)
            }
            None => (Mode::Model(ModelRun::new(feat)), None),
        };
        if let Some(k) = &classes {
            let mut seen = std::collections::HashSet::new();
            if k.iter().any(|c| !seen.insert(c)) {
                return Err(invalid("class labels must be unique"));
            }
            if n_classes.is_none() {
                n_classes = Some(k.len());
            }
        }
        let drift = drift_positions(&cfg, profile, &mode, &mut sel);
        let numeric = (0..sel.names().len()).map(|i| mode.is_numeric(i)).collect();
        let reader = TableReader::new(
            cfg.format,
            ColumnSelection::Named(sel.names().to_vec()),
            cfg.limits.clone(),
        );
        let cols = SharedColumns {
            selected: sel,
            label,
            slices,
            drift,
            numeric,
            classes,
            n_classes,
        };
        Ok(Evaluator {
            reader,
            acc: Accumulator::new(cfg, profile, cols),
            mode,
            finished: false,
        })
    }

    /// Progress so far (for progress bars and JS callbacks).
    pub fn progress(&self) -> EvalProgress {
        EvalProgress {
            bytes: self.reader.bytes_seen(),
            rows_read: self.reader.rows_seen(),
            rows_used: self.acc.rows_used,
            rows_skipped: self.acc.skipped,
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
        let Mode::Scoring(cols) = &self.mode else {
            return Err(EvalError::InvalidState {
                reason: "this evaluation runs a model: use push_with_model".into(),
            });
        };
        let acc = &mut self.acc;
        self.reader.push(chunk, &mut |row| cols.row(acc, row))
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
        let Mode::Model(run) = &mut self.mode else {
            return Err(EvalError::InvalidState {
                reason: "this evaluation scores prediction columns: use push".into(),
            });
        };
        let mut models = Models {
            champion,
            challenger,
            timer,
        };
        run.check_models(&mut self.acc, &models)?;
        let acc = &mut self.acc;
        self.reader
            .push(chunk, &mut |row| run.row(acc, row, &mut models))
    }

    /// Ends a prediction-column evaluation and builds the report.
    pub fn finish(mut self, ctx: ReportContext) -> Result<Report, EvalError> {
        self.check_open()?;
        let Mode::Scoring(cols) = &self.mode else {
            return Err(EvalError::InvalidState {
                reason: "this evaluation runs a model: use finish_with_model".into(),
            });
        };
        let acc = &mut self.acc;
        let digest = self.reader.finish(&mut |row| cols.row(acc, row))?;
        self.finished = true;
        let rows_read = self.reader.rows_seen();
        self.acc
            .report(digest, rows_read, ctx, Latencies::default())
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
        let Mode::Model(run) = &mut self.mode else {
            return Err(EvalError::InvalidState {
                reason: "this evaluation scores prediction columns: use finish".into(),
            });
        };
        let mut models = Models {
            champion,
            challenger,
            timer,
        };
        run.check_models(&mut self.acc, &models)?;
        let acc = &mut self.acc;
        let digest = self
            .reader
            .finish(&mut |row| run.row(acc, row, &mut models))?;
        run.run_batch(&mut self.acc, &mut models)?;
        self.finished = true;
        let rows_read = self.reader.rows_seen();
        let latency = run.latencies();
        self.acc.report(digest, rows_read, ctx, latency)
    }
}

/// Selected positions of the columns checked for drift against the profile: the configured
/// ones the profile describes (added to the selection), else the features it describes.
fn drift_positions(
    cfg: &EvalConfig,
    profile: Option<&Profile>,
    mode: &Mode,
    sel: &mut Selection,
) -> Vec<usize> {
    match (profile, &cfg.drift_columns) {
        (Some(p), Some(cols)) => cols
            .iter()
            .filter(|c| p.column(c).is_some())
            .map(|c| sel.pos(c))
            .collect(),
        (Some(p), None) => mode
            .features()
            .iter()
            .copied()
            .filter(|&i| sel.name(i).is_some_and(|name| p.column(name).is_some()))
            .collect(),
        (None, _) => Vec::new(),
    }
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
