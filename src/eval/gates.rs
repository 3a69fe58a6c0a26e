//! Evaluation gates: minimum (or maximum) metric values a model card declares on a signed
//! evaluation set. A registry refuses a model whose gate fails, with `GATE_FAILED` and the
//! numbers.
//!
//! Imports `error` and `results` only.

use serde::{Deserialize, Serialize};

use super::error::EvalError;
use super::results::{metric_direction, Results};

/// Defined in `error` (the `GATE_FAILED` error carries it), re-exported here where it belongs.
pub use super::error::GateResult;

/// One gate: the metric (a name from [`crate::eval::results::METRIC_NAMES`], or `top_{k}_accuracy`)
/// must be at least `min` and/or at most `max`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSpec {
    /// Metric name.
    pub metric: String,
    /// Lowest acceptable value (a number, or a numeric string as in signed cards).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::eval::num::opt_number"
    )]
    pub min: Option<f64>,
    /// Highest acceptable value (a number, or a numeric string as in signed cards).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::eval::num::opt_number"
    )]
    pub max: Option<f64>,
}

/// All gates of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// Whether every gate passed.
    pub passed: bool,
    /// Per gate.
    pub results: Vec<GateResult>,
}

/// Checks that every gate names a known metric and has a bound.
pub fn validate(gates: &[GateSpec]) -> Result<(), EvalError> {
    for g in gates {
        if metric_direction(&g.metric).is_none() {
            return Err(super::error::invalid(format!(
                "unknown gate metric {:?}",
                g.metric
            )));
        }
        if g.min.is_none() && g.max.is_none() {
            return Err(super::error::invalid(format!(
                "gate {:?} has neither min nor max",
                g.metric
            )));
        }
    }
    Ok(())
}

/// Evaluates gates against results.
pub fn evaluate(results: &Results, gates: &[GateSpec]) -> GateReport {
    let results: Vec<GateResult> = gates
        .iter()
        .map(|g| {
            let value = results.metric(&g.metric);
            let reason = match value {
                None => Some("metric not computed or undefined".to_string()),
                Some(v)
                    if g.min
                        .is_some_and(|m| v.partial_cmp(&m).is_none_or(|o| o.is_lt())) =>
                {
                    Some("below minimum".into())
                }
                Some(v)
                    if g.max
                        .is_some_and(|m| v.partial_cmp(&m).is_none_or(|o| o.is_gt())) =>
                {
                    Some("above maximum".into())
                }
                Some(_) => None,
            };
            GateResult {
                metric: g.metric.clone(),
                value,
                min: g.min,
                max: g.max,
                passed: reason.is_none(),
                reason,
            }
        })
        .collect();
    GateReport {
        passed: results.iter().all(|r| r.passed),
        results,
    }
}

/// `Ok` when every gate passed, else [`EvalError::GateFailed`] with the failing gates.
pub fn require(report: &GateReport) -> Result<(), EvalError> {
    if report.passed {
        return Ok(());
    }
    Err(EvalError::GateFailed {
        failures: report
            .results
            .iter()
            .filter(|r| !r.passed)
            .cloned()
            .collect(),
    })
}
