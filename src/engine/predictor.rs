//! The bridge from the engine to the evaluator: a loaded [`Model`] as an
//! [`eval::Predictor`](crate::eval::evaluator::Predictor).

use crate::error::ErrorCode;
use crate::eval::evaluator::{Prediction, Predictor, PredictorError};
use crate::eval::TaskKind;

use super::{DType, Dim, EngineError, Model, NamedTensor, Tensor, TensorData, TensorSpec};

/// A model seen as a predictor of rows of features: its single input takes `N` rows of
/// `n_features` values (reshaped to the input's fixed trailing dimensions, so an image model
/// with input `[N, 1, 8, 8]` takes 64 features per row), and its outputs give class
/// probabilities and labels (classification) or one value per row (regression).
///
/// Outputs are picked by name first (`probabilities`, `label`, `variable`, as scikit-learn
/// converters name them), else by type and shape: a float `[N, C]` output is the probabilities,
/// an integer `[N]` output the labels, a float `[N]` or `[N, 1]` output the values.
pub struct ModelPredictor<'m> {
    model: &'m Model,
    input: TensorSpec,
    tail: Vec<usize>,
    n_features: usize,
    proba: Option<(usize, usize)>,
    labels: Option<usize>,
    values: Option<usize>,
}

fn unsupported(reason: String) -> EngineError {
    EngineError::SchemaMismatch {
        what: "model for evaluation".into(),
        expected: "one float input [N, ...] and class probabilities, labels or values as outputs"
            .into(),
        got: reason,
    }
}

fn fixed_tail(spec: &TensorSpec) -> Option<Vec<usize>> {
    let (first, rest) = spec.shape.split_first()?;
    if !matches!(first, Dim::Symbol(_)) {
        return None;
    }
    rest.iter()
        .map(|d| match d {
            Dim::Fixed(n) => usize::try_from(*n).ok(),
            Dim::Symbol(_) => None,
        })
        .collect()
}

impl<'m> ModelPredictor<'m> {
    /// Wraps `model` for a task; fails with `SCHEMA_MISMATCH` when its inputs or outputs do
    /// not fit the shapes described above.
    pub fn new(model: &'m Model, task: TaskKind) -> Result<Self, EngineError> {
        let schema = model.schema();
        let [input] = schema.inputs.as_slice() else {
            return Err(unsupported(format!(
                "{} inputs (evaluation needs exactly one)",
                schema.inputs.len()
            )));
        };
        if !matches!(input.dtype, DType::F32 | DType::F64) {
            return Err(unsupported(format!("input {input}")));
        }
        let tail = fixed_tail(input)
            .ok_or_else(|| unsupported(format!("input {input} (needs [N, fixed sizes...])")))?;
        // Dimensions come from the graph: a product past the tensor limit (or usize) is refused.
        let limit = model.limits().max_tensor_elements;
        let got = tail.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64));
        let n_features = usize::try_from(got)
            .ok()
            .filter(|_| got <= limit)
            .ok_or_else(|| EngineError::LimitExceeded {
                what: format!("features per row of input {input}"),
                got,
                limit,
            })?;
        let outs = &schema.outputs;
        let find = |name: &str, ok: &dyn Fn(&TensorSpec) -> bool| {
            outs.iter()
                .position(|o| o.name == name && ok(o))
                .or_else(|| outs.iter().position(ok))
        };
        let is_float = |o: &TensorSpec| matches!(o.dtype, DType::F32 | DType::F64);
        let rows_by = |o: &TensorSpec, width: Option<u64>| match o.shape.as_slice() {
            [Dim::Symbol(_)] => width.is_none() || width == Some(1),
            [Dim::Symbol(_), Dim::Fixed(c)] => width.is_none_or(|w| w == *c),
            _ => false,
        };
        let mut p = ModelPredictor {
            model,
            input: input.clone(),
            tail,
            n_features,
            proba: None,
            labels: None,
            values: None,
        };
        match task {
            TaskKind::Classification => {
                p.proba = find("probabilities", &|o| {
                    is_float(o)
                        && matches!(o.shape.as_slice(), [Dim::Symbol(_), Dim::Fixed(c)] if *c >= 2)
                })
                .and_then(|i| match outs.get(i)?.shape.as_slice() {
                    [_, Dim::Fixed(c)] => usize::try_from(*c).ok().map(|c| (i, c)),
                    _ => None,
                });
                p.labels = find("label", &|o| {
                    matches!(o.dtype, DType::I64 | DType::I32) && rows_by(o, None)
                });
                if p.proba.is_none() && p.labels.is_none() {
                    return Err(unsupported(
                        "no class-probability output [N, C] and no label output [N]".into(),
                    ));
                }
            }
            TaskKind::Regression => {
                p.values = find("variable", &|o| is_float(o) && rows_by(o, Some(1)));
                if p.values.is_none() {
                    return Err(unsupported("no value output [N] or [N, 1]".into()));
                }
            }
        }
        Ok(p)
    }

    fn fail(e: &EngineError) -> PredictorError {
        PredictorError {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

fn floats(t: &Tensor) -> Vec<f32> {
    match &t.data {
        TensorData::F32(v) => v.clone(),
        TensorData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        other => other.to_f64_vec().into_iter().map(|x| x as f32).collect(),
    }
}

impl Predictor for ModelPredictor<'_> {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn n_classes(&self) -> Option<usize> {
        self.proba.map(|(_, c)| c)
    }

    fn predict(&mut self, features: &[f32], n_rows: usize) -> Result<Prediction, PredictorError> {
        let mut shape = Vec::with_capacity(self.tail.len() + 1);
        shape.push(n_rows);
        shape.extend_from_slice(&self.tail);
        let data = match self.input.dtype {
            DType::F64 => TensorData::F64(features.iter().map(|&x| f64::from(x)).collect()),
            _ => TensorData::F32(features.to_vec()),
        };
        let outputs = self
            .model
            .run(vec![NamedTensor {
                name: self.input.name.clone(),
                tensor: Tensor::new(shape, data),
            }])
            .map_err(|e| Self::fail(&e))?;
        let get = |i: Option<usize>| i.and_then(|i| outputs.get(i)).map(|o| &o.tensor);
        Ok(Prediction {
            probabilities: get(self.proba.map(|(i, _)| i)).map(floats),
            labels: get(self.labels).map(|t| match &t.data {
                TensorData::I64(v) => v.clone(),
                other => other.to_f64_vec().into_iter().map(|x| x as i64).collect(),
            }),
            values: get(self.values).map(floats),
        })
    }
}
