//! What the evaluator needs from a model: [`Predictor`] (implemented by the inference engine in
//! `crate::engine::predictor`, and by tests), its [`Prediction`] and [`PredictorError`].
//!
//! Imports nothing from the evaluation modules.

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
