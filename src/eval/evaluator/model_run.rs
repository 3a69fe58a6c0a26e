//! Model mode: rows are queued with their features as `f32`, run through the model (and the
//! challenger, in a comparison) a batch at a time with each batch timed, and the outputs
//! checked and committed.
//!
//! Imports `accumulator`, `config` and the [`Predictor`] types of `evaluator`, and the lower
//! evaluation modules.

use crate::eval::classification::argmax;
use crate::eval::data::{BadRow, RowResult, Value};
use crate::eval::error::EvalError;
use crate::eval::latency::{LatencyRecorder, Timer};
use crate::eval::results::TaskKind;

use super::accumulator::{Accumulator, ClassPred, LabelMap, Latencies, Truth};
use super::config::MAX_CLASSES;
use super::predictor::{Prediction, Predictor};

/// The models of one call: the champion, the optional challenger, and the timer.
pub(super) struct Models<'a, 'p, 'c, 't> {
    pub(super) champion: &'a mut (dyn Predictor + 'p),
    pub(super) challenger: Option<&'a mut (dyn Predictor + 'c)>,
    pub(super) timer: &'a mut (dyn Timer + 't),
}

/// A row waiting for its batch: everything but the features (those are in the batch).
struct Pending {
    number: u64,
    truth: Truth,
    slices: Vec<Value>,
    drift: Vec<Value>,
}

/// The outputs of one batch.
struct BatchOutputs {
    champion: Prediction,
    challenger: Option<Prediction>,
}

/// The state of a model run. See the module documentation.
pub(super) struct ModelRun {
    /// Selected positions of the features, in the model's input order.
    feat: Vec<usize>,
    /// Features of the pending rows, row-major.
    batch: Vec<f32>,
    pending: Vec<Pending>,
    latency: LatencyRecorder,
    challenger_latency: LatencyRecorder,
    /// Whether the models' shapes were checked against the options (on the first call).
    checked: bool,
}

impl ModelRun {
    /// A run over these feature positions.
    pub(super) fn new(feat: Vec<usize>) -> Self {
        ModelRun {
            feat,
            batch: Vec::new(),
            pending: Vec::new(),
            latency: LatencyRecorder::new(),
            challenger_latency: LatencyRecorder::new(),
            checked: false,
        }
    }

    /// Selected positions of the features.
    pub(super) fn features(&self) -> &[usize] {
        &self.feat
    }

    /// The batch latencies measured.
    pub(super) fn latencies(&self) -> Latencies {
        Latencies {
            champion: self.latency.report(),
            challenger: self.challenger_latency.report(),
            champion_batch_ms: self.latency.batch_ms().to_vec(),
        }
    }

    /// On the first call: checks that the models take the mapped features and fit the task,
    /// and fixes the classes to the model's output width when none were given.
    pub(super) fn check_models(
        &mut self,
        acc: &mut Accumulator,
        m: &Models<'_, '_, '_, '_>,
    ) -> Result<(), EvalError> {
        if self.checked {
            return Ok(());
        }
        let nf = self.feat.len();
        let task = acc.cfg.task;
        let check = |p: &dyn Predictor, who: &str| -> Result<Option<usize>, EvalError> {
            if p.n_features() != nf {
                return Err(EvalError::SchemaMismatch {
                    reason: format!(
                        "the {who} takes {} features, the mapping gives {nf}",
                        p.n_features()
                    ),
                });
            }
            match (task, p.n_classes()) {
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
            fix_classes(acc, c)?;
        }
        self.checked = true;
        Ok(())
    }

    /// Queues one row's features; runs the batch when it is full.
    pub(super) fn row(
        &mut self,
        acc: &mut Accumulator,
        row: RowResult,
        models: &mut Models<'_, '_, '_, '_>,
    ) -> Result<(), EvalError> {
        let Some(row) = acc.read_row(row)? else {
            return Ok(());
        };
        let n = row.number;
        let start = self.batch.len();
        for &i in &self.feat {
            let problem = match row.cell(i).number() {
                None => Some("missing value".to_string()),
                Some(Err(e)) => Some(e),
                Some(Ok(x)) if !x.is_finite() => Some("non-finite value".into()),
                Some(Ok(x)) if !(x as f32).is_finite() => Some("outside the float32 range".into()),
                Some(Ok(x)) => {
                    self.batch.push(x as f32);
                    None
                }
            };
            if let Some(p) = problem {
                self.batch.truncate(start);
                return acc.bad_at(n, i, p);
            }
        }
        self.pending.push(Pending {
            number: n,
            truth: row.truth,
            slices: row.slices,
            drift: row.drift,
        });
        if self.pending.len() >= acc.cfg.batch_size {
            self.run_batch(acc, models)?;
        }
        Ok(())
    }

    /// Runs the pending rows through the models and commits them.
    pub(super) fn run_batch(
        &mut self,
        acc: &mut Accumulator,
        models: &mut Models<'_, '_, '_, '_>,
    ) -> Result<(), EvalError> {
        let n = self.pending.len();
        if n == 0 {
            return Ok(());
        }
        let mut features = std::mem::take(&mut self.batch);
        let pending = std::mem::take(&mut self.pending);
        let c = acc.n_classes;
        let champion = predict_timed(
            &mut *models.champion,
            &mut *models.timer,
            &mut self.latency,
            &features,
            n,
            c,
        )?;
        let challenger = match models.challenger.as_deref_mut() {
            Some(ch) => Some(predict_timed(
                ch,
                &mut *models.timer,
                &mut self.challenger_latency,
                &features,
                n,
                c,
            )?),
            None => None,
        };
        let out = BatchOutputs {
            champion,
            challenger,
        };
        for (i, p) in pending.into_iter().enumerate() {
            commit_output(acc, &out, i, p)?;
        }
        features.clear();
        self.batch = features;
        Ok(())
    }
}

/// Fixes the classes to a classifier's output width `c` (or checks it against the given ones).
fn fix_classes(acc: &mut Accumulator, c: usize) -> Result<(), EvalError> {
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
    match acc.n_classes {
        Some(k) if k != c => Err(EvalError::SchemaMismatch {
            reason: format!("{k} class labels given but the model has {c} classes"),
        }),
        Some(_) => Ok(()),
        None => {
            acc.labels = LabelMap::new(Some((0..c).map(|i| i.to_string()).collect()));
            acc.n_classes = Some(c);
            Ok(())
        }
    }
}

/// One timed predictor call over a batch, with its output shape checked.
fn predict_timed(
    p: &mut dyn Predictor,
    timer: &mut dyn Timer,
    lat: &mut LatencyRecorder,
    features: &[f32],
    n: usize,
    c: Option<usize>,
) -> Result<Prediction, EvalError> {
    let t0 = timer.now_ms();
    let out = p.predict(features, n);
    let t1 = timer.now_ms();
    lat.record(n, t1 - t0);
    let out = out.map_err(|e| EvalError::Predictor {
        code: e.code,
        message: e.message,
    })?;
    check_shape(&out, n, c)?;
    Ok(out)
}

/// Commits row `i` of a batch from the models' outputs, or records it as bad.
fn commit_output(
    acc: &mut Accumulator,
    out: &BatchOutputs,
    i: usize,
    p: Pending,
) -> Result<(), EvalError> {
    let bad = |reason: String| BadRow {
        row: p.number,
        column: None,
        reason,
    };
    match p.truth {
        Truth::Class(y) => {
            let c = acc.n_classes.unwrap_or(0);
            let a = match class_output(&out.champion, i, c) {
                Ok(r) => r,
                Err(e) => return acc.bad(bad(e)),
            };
            let b = match &out.challenger {
                Some(b) => match class_output(b, i, c) {
                    Ok(r) => Some(r),
                    Err(e) => return acc.bad(bad(format!("challenger: {e}"))),
                },
                None => None,
            };
            let ch = b.as_ref().map(ClassOutput::pred);
            acc.commit_class(y, a.pred(), ch, p.slices, p.drift)
        }
        Truth::Value(y) => {
            let va = value_output(&out.champion, i);
            let vb = out.challenger.as_ref().map(|b| value_output(b, i));
            match (va, vb) {
                (Ok(va), None) => acc.commit_value(y, va, None, p.slices, p.drift),
                (Ok(va), Some(Ok(vb))) => acc.commit_value(y, va, Some(vb), p.slices, p.drift),
                (Err(e), _) | (_, Some(Err(e))) => return acc.bad(bad(e)),
            }
            Ok(())
        }
    }
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

/// One row of a classifier's output.
struct ClassOutput {
    label: u32,
    proba: Option<Vec<f64>>,
}

impl ClassOutput {
    fn pred(&self) -> ClassPred<'_> {
        ClassPred {
            label: self.label,
            proba: self.proba.as_deref(),
        }
    }
}

fn class_output(p: &Prediction, i: usize, c: usize) -> Result<ClassOutput, String> {
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
    let label = match &p.labels {
        Some(l) => {
            let k = *l.get(i).ok_or("missing model label")?;
            if k < 0 || k as usize >= c {
                return Err(format!("model label {k} outside 0..{c}"));
            }
            k as u32
        }
        None => argmax(proba.as_deref().unwrap_or(&[])) as u32,
    };
    Ok(ClassOutput { label, proba })
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
