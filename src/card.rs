//! The model card: what a registry says about a model version (docs/registry-format.md). It
//! rides in the `custom` field of the model's TUF target, so every field is signed.
//!
//! Signatures cover canonical JSON, which has no floating-point numbers, so a signed card
//! carries every non-integer number as a decimal string (`"accuracy": "0.984"`; the publisher
//! writes them with [`crate::catalog::without_floats`]). Metrics and gate thresholds are read
//! from a number or a numeric string alike, so card files on disk and signed cards both parse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::{ModelSchema, TensorSpec};
use crate::eval::gates::GateSpec;
use crate::eval::{EvalConfig, TaskKind};

/// The data set a model was trained on.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// A name (for example `sklearn.datasets.load_digits`).
    #[serde(default)]
    pub name: String,
    /// SHA-256 (hex) of the training data file.
    #[serde(default)]
    pub sha256: String,
    /// Training rows.
    #[serde(default)]
    pub rows: u64,
}

/// A model card. Unknown fields are kept in `extra` so a card read and written again loses
/// nothing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelCard {
    /// Model name (`digits`).
    pub name: String,
    /// Version (`2`).
    pub version: String,
    /// File format (`onnx`).
    #[serde(default = "onnx")]
    pub format: String,
    /// `classification` or `regression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskKind>,
    /// Inputs, read from the graph by the publisher.
    #[serde(default)]
    pub inputs: Vec<TensorSpec>,
    /// Outputs, read from the graph by the publisher.
    #[serde(default)]
    pub outputs: Vec<TensorSpec>,
    /// Class labels in class-index order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Feature columns in the model's input order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_names: Vec<String>,
    /// The label column of the training and evaluation data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    /// Metrics measured by the publisher (numbers, or numeric strings in signed cards).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "number_map"
    )]
    pub metrics: BTreeMap<String, f64>,
    /// Training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetInfo>,
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// One line about the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Other target files of this version by role (`profile`, `evaluation_set`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// Minimum (or maximum) metrics on the signed evaluation set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateSpec>,
    /// Fields this version of the library does not know.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

fn onnx() -> String {
    "onnx".into()
}

use crate::catalog::card_number as number_of;

/// Deserializes `{name: number or numeric string}`.
fn number_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    let raw = BTreeMap::<String, Value>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| match number_of(&v) {
            Some(x) => Ok((k, x)),
            None => Err(serde::de::Error::custom(format!(
                "metric {k:?} is not a number or a numeric string: {v}"
            ))),
        })
        .collect()
}

/// Deserializes an optional number that may be written as a numeric string (gate thresholds).
pub(crate) fn opt_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => number_of(&v).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("{v} is not a number or a numeric string"))
        }),
    }
}

impl ModelCard {
    /// Parses a card from JSON (a target's `custom` value or a file).
    pub fn from_value(v: &Value) -> Result<ModelCard, String> {
        ModelCard::deserialize(v).map_err(|e| format!("model card: {e}"))
    }

    /// The declared input/output schema (empty lists when the card declares none).
    pub fn schema(&self) -> ModelSchema {
        ModelSchema {
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
        }
    }

    /// The declared schema, if the card has one.
    pub fn declared_schema(&self) -> Option<ModelSchema> {
        (!self.inputs.is_empty() || !self.outputs.is_empty()).then(|| self.schema())
    }

    /// The task: declared, else classification when the card has labels, else regression.
    pub fn task(&self) -> TaskKind {
        self.task.unwrap_or(if self.labels.is_empty() {
            TaskKind::Regression
        } else {
            TaskKind::Classification
        })
    }

    /// An evaluation configuration with the card's defaults: task, label column (or `target`),
    /// features in the model's input order, class labels.
    pub fn eval_config(&self) -> EvalConfig {
        let label = self.label_column.as_deref().unwrap_or("target");
        let mut cfg = EvalConfig::new(self.task(), label);
        cfg.columns.features = self.feature_names.clone();
        if !self.labels.is_empty() {
            cfg.classes = Some(self.labels.clone());
        }
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_cards_parse_and_round_trip() {
        for card in [
            include_str!("../tests/fixtures/models/digits-v1/card.json"),
            include_str!("../tests/fixtures/models/diabetes/card.json"),
        ] {
            let v: Value = serde_json::from_str(card).unwrap();
            let c = ModelCard::from_value(&v).unwrap();
            assert_eq!(serde_json::to_value(&c).unwrap(), v);
            assert!(c.declared_schema().is_some());
        }
        let c =
            ModelCard::from_value(&serde_json::json!({"name": "x", "version": "1", "x-team": 3}))
                .unwrap();
        assert_eq!(c.task(), TaskKind::Regression);
        assert_eq!(c.extra["x-team"], 3);
        assert!(ModelCard::from_value(&serde_json::json!({"version": "1"})).is_err());
    }

    #[test]
    fn signed_cards_carry_numbers_as_strings() {
        let v: Value =
            serde_json::from_str(include_str!("../tests/fixtures/models/iris/card.json")).unwrap();
        let mut v = crate::catalog::without_floats(v);
        v["gates"] = serde_json::json!([{"metric": "accuracy", "min": "0.9"}]);
        let c = ModelCard::from_value(&v).unwrap();
        assert_eq!(c.metrics["accuracy"], 0.9473684210526315);
        assert_eq!(c.metrics["train_accuracy"], 0.9732142857142857);
        assert_eq!(c.gates[0].min, Some(0.9));
        v["metrics"]["accuracy"] = serde_json::json!("high");
        assert!(ModelCard::from_value(&v).is_err());
    }
}
