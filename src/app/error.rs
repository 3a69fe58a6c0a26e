//! Errors of the use cases: the registry's, the engine's and the evaluator's, each keeping its
//! own code, and a card that cannot be used.

use crate::engine::EngineError;
use crate::error::{Code, ErrorCode};
use crate::eval::EvalError;
use crate::modelsig::ModelSigError;
use crate::registry::RegistryError;
use crate::tuf::TufError;

/// Errors of [`crate::app`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Resolving, fetching, verifying or caching failed; its code (`MODEL_NOT_FOUND`,
    /// `HASH_MISMATCH`, `EXPIRED`, ...).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The engine refused the model; its code (`SCHEMA_MISMATCH`, `UNSUPPORTED_MODEL`, ...).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The model card cannot be used (no `inputs`/`outputs` schema for a load, no gates for a
    /// gate check, an evaluation set outside the version). Code `BAD_CARD`.
    #[error("model card of {model}: {reason}")]
    BadCard {
        /// `name@version`.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// An evaluation could not start or run; its code (`INVALID_ARGUMENT`, `BAD_DATA`, ...).
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// Evaluating the signed evaluation set for a gate check failed (`BAD_DATA`,
    /// `SCHEMA_MISMATCH`, ...), or a gate failed (`GATE_FAILED`, with the measured numbers).
    #[error("{model}: {source}")]
    Evaluation {
        /// `name@version`.
        model: String,
        /// The evaluation error.
        source: EvalError,
    },
    /// Reading and verifying a TUF repository other than a registry (Sigstore's trusted root)
    /// failed; its code (`EXPIRED`, `HASH_MISMATCH`, `SIGNATURE_THRESHOLD`, ...).
    #[error(transparent)]
    Tuf(#[from] TufError),
    /// The model's author signature (an OpenSSF model-signing bundle) is missing or does not
    /// verify under the caller's policy; its code (`MODEL_SIGNATURE_REQUIRED`,
    /// `MODEL_SIGNATURE`, `MODEL_SIGNATURE_IDENTITY`, `MODEL_SIGNATURE_MISMATCH`, ...).
    #[error(transparent)]
    ModelSignature(#[from] ModelSigError),
}

impl From<crate::catalogue::CatalogueError> for AppError {
    fn from(e: crate::catalogue::CatalogueError) -> Self {
        AppError::Registry(e.into())
    }
}

impl ErrorCode for AppError {
    fn error_code(&self) -> Code {
        match self {
            AppError::Registry(e) => e.error_code(),
            AppError::Engine(e) => e.error_code(),
            AppError::BadCard { .. } => Code::BadCard,
            AppError::Eval(e) => e.error_code(),
            AppError::Evaluation { source, .. } => source.error_code(),
            AppError::Tuf(e) => e.error_code(),
            AppError::ModelSignature(e) => e.error_code(),
        }
    }

    // The evaluator keeps a caller's predictor's own code string.
    fn code(&self) -> &'static str {
        match self {
            AppError::Eval(e) | AppError::Evaluation { source: e, .. } => e.code(),
            other => other.error_code().as_str(),
        }
    }
}
