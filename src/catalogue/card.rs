//! The model card: what a registry says about a model version (docs/registry-format.md). It
//! rides in the `custom` field of the model's TUF target, so every field is signed. Owns
//! [`ModelCard`] and the number rules of signed JSON; imports the engine's tensor schema and the
//! evaluator's configuration types (plain data), never the registry, the publisher or a binding.
//!
//! Signatures cover canonical JSON, which has no floating-point numbers, so a signed card
//! carries every non-integer number as a decimal string (`"accuracy": "0.984"`; the publisher
//! writes them with [`without_floats`]). Metrics and gate thresholds are read from a number or a
//! numeric string alike ([`card_number`]), so card files on disk and signed cards both parse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_file_name, parse_path, CatalogueError, CataloguePath, MODELS_DIR};
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

/// Replaces every non-integer number in `v` by its shortest round-trip decimal string (TUF's
/// canonical JSON has no floats: securesystemslib `encode_canonical` refuses them).
pub fn without_floats(v: Value) -> Value {
    match v {
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => {
            Value::String(n.to_string())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(without_floats).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

pub use crate::eval::num::number_or_numeric_string as card_number;
use card_number as number_of;

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

impl ModelCard {
    /// Reads the card of target `path` (`models/<name>/<version>/model.onnx`) from its signed
    /// `custom` value: its name and version, when given, must be the path's (an absent one is
    /// taken from the path, an integer version read as its decimal text), and `files` must point
    /// inside the version's directory.
    pub fn from_custom(path: &str, custom: Option<&Value>) -> Result<ModelCard, CatalogueError> {
        let bad = |reason: String| CatalogueError::BadCard {
            path: path.to_string(),
            reason,
        };
        let value = custom.ok_or_else(|| bad("the target has no custom field".into()))?;
        let Some(CataloguePath::Model { name, version }) = parse_path(path) else {
            return Err(bad("not a models/<name>/<version>/model.onnx path".into()));
        };
        let mut value = value.clone();
        let obj = value
            .as_object_mut()
            .ok_or_else(|| bad("the model card is not a JSON object".into()))?;
        obj.entry("name").or_insert_with(|| name.clone().into());
        let v = obj
            .entry("version")
            .or_insert_with(|| version.clone().into());
        if v.is_u64() || v.is_i64() {
            // Publishers may write an integer version as a number.
            *v = Value::String(v.to_string());
        }
        let card = ModelCard::deserialize(&value).map_err(|e| bad(e.to_string()))?;
        if card.name != name || card.version != version {
            return Err(bad(format!(
                "the card says {}@{}, the path says {name}@{version}",
                card.name, card.version
            )));
        }
        let dir = format!("{MODELS_DIR}/{name}/{version}/");
        for (role, file) in &card.files {
            let inside = file
                .strip_prefix(&dir)
                .is_some_and(|f| check_file_name(f).is_ok());
            if !inside {
                return Err(bad(format!(
                    "files.{role} = {file:?} is not a file of this version"
                )));
            }
        }
        Ok(card)
    }

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
    use crate::error::ErrorCode;

    #[test]
    fn committed_cards_parse_and_round_trip() {
        for card in [
            include_str!("../../tests/fixtures/models/digits-v1/card.json"),
            include_str!("../../tests/fixtures/models/diabetes/card.json"),
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
            serde_json::from_str(include_str!("../../tests/fixtures/models/iris/card.json"))
                .unwrap();
        let mut v = without_floats(v);
        v["gates"] = serde_json::json!([{"metric": "accuracy", "min": "0.9"}]);
        let c = ModelCard::from_value(&v).unwrap();
        assert_eq!(c.metrics["accuracy"], 0.9473684210526315);
        assert_eq!(c.metrics["train_accuracy"], 0.9732142857142857);
        assert_eq!(c.gates[0].min, Some(0.9));
        v["metrics"]["accuracy"] = serde_json::json!("high");
        assert!(ModelCard::from_value(&v).is_err());
    }

    #[test]
    fn card_files_must_stay_in_the_version() {
        let mut c = serde_json::json!({"name": "iris", "version": "1",
            "files": {"profile": "models/iris/1/profile.json"}});
        assert!(ModelCard::from_custom("models/iris/1/model.onnx", Some(&c)).is_ok());
        c["files"] = serde_json::json!({"profile": "models/iris/2/profile.json"});
        let err = ModelCard::from_custom("models/iris/1/model.onnx", Some(&c)).unwrap_err();
        assert_eq!(err.code(), "BAD_CARD");
        c["files"] = serde_json::json!({"x": "models/iris/1/../../x"});
        assert!(ModelCard::from_custom("models/iris/1/model.onnx", Some(&c)).is_err());
        assert!(ModelCard::from_custom("models/iris/1/model.onnx", None).is_err());
    }
}
