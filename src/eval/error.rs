//! The evaluation layer's error type, and [`GateResult`] (the failing gates `GATE_FAILED`
//! carries; [`crate::eval::gates`] re-exports it).
//!
//! The bottom of the evaluation graph: imports nothing from `crate::eval`, only
//! [`crate::error::ErrorCode`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Code, ErrorCode};

/// Errors from reading evaluation data, running a predictor over it and computing results.
///
/// Every variant has a stable code (see [`ErrorCode`]); the JS bindings put it on `Error.code`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The data is not valid CSV or JSON of an accepted shape (for example a JSON document that
    /// is neither an array of row objects nor an object of columns). Code `BAD_DATA`.
    #[error("bad data at row {row}: {reason}")]
    BadData {
        /// 1-based data row (0 when the problem is not tied to a row, e.g. the header).
        row: u64,
        /// What is wrong.
        reason: String,
    },
    /// A row could not be used and the bad-row policy is `fail`. Code `BAD_ROW`.
    #[error("bad row {row}{}: {reason}", column.as_ref().map(|c| format!(" (column {c:?})")).unwrap_or_default())]
    BadRow {
        /// 1-based data row (the header is not counted).
        row: u64,
        /// The column at fault, if one is.
        column: Option<String>,
        /// Why the row cannot be used.
        reason: String,
    },
    /// A configured limit (rows, columns, field or record length, nesting) was exceeded.
    /// Code `LIMIT_EXCEEDED`.
    #[error("limit exceeded: {what} (limit {limit})")]
    LimitExceeded {
        /// Which limit.
        what: String,
        /// Its value.
        limit: u64,
    },
    /// The data's columns do not match the mapping or the model's input schema (a missing
    /// column, a feature count that differs from the model's). Code `SCHEMA_MISMATCH`.
    #[error("schema mismatch: {reason}")]
    SchemaMismatch {
        /// What does not match.
        reason: String,
    },
    /// The evaluation options are inconsistent (no label column, zero bins, unknown metric
    /// name, ...). Code `INVALID_ARGUMENT`.
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
    /// A method was called in the wrong state (data pushed after `finish`). Code `INVALID_STATE`.
    #[error("invalid state: {reason}")]
    InvalidState {
        /// What was attempted.
        reason: String,
    },
    /// The predictor failed or returned outputs of the wrong shape. Code `PREDICTOR_FAILED`
    /// (or the predictor's own code when it has one).
    #[error("predictor failed ({code}): {message}")]
    Predictor {
        /// The predictor's error code (for example an engine code), or `PREDICTOR_FAILED`.
        code: &'static str,
        /// Its message.
        message: String,
    },
    /// No row was usable, so no metric can be computed. Code `NO_ROWS`.
    #[error("no usable rows: {reason}")]
    NoRows {
        /// Why (all rows bad, empty file).
        reason: String,
    },
    /// A reference profile could not be parsed or has an unsupported version. Code
    /// `BAD_PROFILE`.
    #[error("bad reference profile: {reason}")]
    BadProfile {
        /// What is wrong.
        reason: String,
    },
    /// A fleet summary is malformed or inconsistent (counts that do not add up, a report
    /// without a summary, an unknown format). Code `BAD_SUMMARY`.
    #[error("bad evaluation summary: {reason}")]
    BadSummary {
        /// What is wrong.
        reason: String,
    },
    /// Fleet summaries that cannot be merged: a different model, task, class list, bins or
    /// evaluation options, or different privacy settings. Code `SUMMARY_MISMATCH`.
    #[error("evaluation summaries do not match: {reason}")]
    SummaryMismatch {
        /// What differs.
        reason: String,
    },
    /// At least one evaluation gate failed. Code `GATE_FAILED`.
    #[error("evaluation gate failed: {}", summary(failures))]
    GateFailed {
        /// The failing gates with the measured numbers.
        failures: Vec<GateResult>,
    },
}

/// The outcome of one gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// Metric name.
    pub metric: String,
    /// Measured value (`None` when the metric was not computed or is undefined).
    pub value: Option<f64>,
    /// The gate's minimum.
    pub min: Option<f64>,
    /// The gate's maximum.
    pub max: Option<f64>,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl fmt::Display for GateResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self
            .value
            .map_or_else(|| "undefined".to_string(), |v| format!("{v}"));
        write!(f, "{} = {v}", self.metric)?;
        if let Some(m) = self.min {
            write!(f, " (min {m})")?;
        }
        if let Some(m) = self.max {
            write!(f, " (max {m})")?;
        }
        if let Some(r) = &self.reason {
            write!(f, ": {r}")?;
        }
        Ok(())
    }
}

fn summary(failures: &[GateResult]) -> String {
    failures
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ErrorCode for EvalError {
    fn error_code(&self) -> Code {
        match self {
            EvalError::BadData { .. } => Code::BadData,
            EvalError::BadRow { .. } => Code::BadRow,
            EvalError::LimitExceeded { .. } => Code::LimitExceeded,
            EvalError::SchemaMismatch { .. } => Code::SchemaMismatch,
            EvalError::InvalidArgument { .. } => Code::InvalidArgument,
            EvalError::InvalidState { .. } => Code::InvalidState,
            // A predictor may be the caller's, with its own codes: see `code`.
            EvalError::Predictor { code, .. } => Code::parse(code).unwrap_or(Code::PredictorFailed),
            EvalError::NoRows { .. } => Code::NoRows,
            EvalError::BadProfile { .. } => Code::BadProfile,
            EvalError::GateFailed { .. } => Code::GateFailed,
            EvalError::BadSummary { .. } => Code::BadSummary,
            EvalError::SummaryMismatch { .. } => Code::SummaryMismatch,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            EvalError::Predictor { code, .. } => code,
            other => other.error_code().as_str(),
        }
    }
}

pub(crate) fn invalid(reason: impl Into<String>) -> EvalError {
    EvalError::InvalidArgument {
        reason: reason.into(),
    }
}
