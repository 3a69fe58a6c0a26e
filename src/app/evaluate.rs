//! Evaluating on local data, the one use case behind `model.evaluate`, `model.evaluation`,
//! `model.compare`, `registry.compare` and `evaluatePredictions` in JS and `edge-registry eval`
//! in the CLI: recorded predictions scored against labels, one model run over the data, or a
//! champion against a challenger on the same rows. The front end supplies the data in chunks (a
//! file read piece by piece, a buffer split, a JS stream), a clock for latencies, and when and
//! where it ran; this drives the evaluator.

use crate::engine::{Model, ModelPredictor};
use crate::eval::evaluator::Predictor;
use crate::eval::{
    EvalConfig, EvalProgress, Evaluator, ModelIdentity, Profile, Report, ReportContext, TaskKind,
    Timer,
};

use super::AppError;

/// A model taking part in an evaluation, and how the report names it. (A [`Model`] is a handle:
/// cloning one shares its plans.)
#[derive(Debug, Clone)]
pub struct Contender {
    /// The loaded model.
    pub model: Model,
    /// Its identity in the report (target path, signed digest, reference), when known.
    pub identity: Option<ModelIdentity>,
}

/// What an evaluation scores.
#[derive(Debug, Clone)]
pub enum Subject {
    /// Prediction columns already in the data (the configuration's `predictions`).
    Predictions,
    /// One model, run over the data.
    Model(Contender),
    /// A champion and a challenger, run over the same rows and compared.
    Compare {
        /// The model in use.
        champion: Contender,
        /// The model that would replace it.
        challenger: Contender,
    },
}

/// One evaluation in progress: [`Evaluation::push`] the data, then [`Evaluation::finish`].
pub struct Evaluation {
    evaluator: Evaluator,
    task: TaskKind,
    champion: Option<Contender>,
    challenger: Option<Contender>,
}

impl Evaluation {
    /// Starts an evaluation of `subject` under `config`, with an optional reference `profile`
    /// for drift. A model that cannot serve the task (not one float input, no usable outputs) is
    /// refused here (`SCHEMA_MISMATCH`), before any data is read.
    pub fn new(
        config: EvalConfig,
        profile: Option<&Profile>,
        subject: Subject,
    ) -> Result<Self, AppError> {
        let task = config.task;
        let (champion, challenger) = match subject {
            Subject::Predictions => (None, None),
            Subject::Model(c) => (Some(c), None),
            Subject::Compare {
                champion,
                challenger,
            } => (Some(champion), Some(challenger)),
        };
        let evaluator = Evaluator::new(config, profile)?;
        for c in champion.iter().chain(&challenger) {
            ModelPredictor::new(&c.model, task)?;
        }
        Ok(Evaluation {
            evaluator,
            task,
            champion,
            challenger,
        })
    }

    /// Feeds the next chunk of data (any size; rows may span chunks).
    pub fn push(&mut self, chunk: &[u8], timer: &mut dyn Timer) -> Result<(), AppError> {
        let Some(champion) = &self.champion else {
            return Ok(self.evaluator.push(chunk)?);
        };
        let mut p1 = ModelPredictor::new(&champion.model, self.task)?;
        let mut p2 = match &self.challenger {
            Some(c) => Some(ModelPredictor::new(&c.model, self.task)?),
            None => None,
        };
        let p2 = p2.as_mut().map(|p| p as &mut dyn Predictor);
        Ok(self.evaluator.push_with_model(chunk, &mut p1, p2, timer)?)
    }

    /// Bytes and rows read so far.
    pub fn progress(&self) -> EvalProgress {
        self.evaluator.progress()
    }

    /// Ends the evaluation and builds the report; `time` (RFC 3339) and `runtime` say when and
    /// where it ran.
    pub fn finish(
        self,
        timer: &mut dyn Timer,
        time: String,
        runtime: String,
    ) -> Result<Report, AppError> {
        let identity = |c: &Option<Contender>| c.as_ref().and_then(|c| c.identity.clone());
        let ctx = ReportContext {
            time,
            runtime,
            model: identity(&self.champion),
            challenger: identity(&self.challenger),
        };
        let Some(champion) = &self.champion else {
            return Ok(self.evaluator.finish(ctx)?);
        };
        let mut p1 = ModelPredictor::new(&champion.model, self.task)?;
        let mut p2 = match &self.challenger {
            Some(c) => Some(ModelPredictor::new(&c.model, self.task)?),
            None => None,
        };
        let p2 = p2.as_mut().map(|p| p as &mut dyn Predictor);
        Ok(self.evaluator.finish_with_model(&mut p1, p2, timer, ctx)?)
    }
}
