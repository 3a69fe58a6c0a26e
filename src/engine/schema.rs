//! Tensor schemas: the input and output names, element types and shapes (with symbolic
//! dimensions) that a model card declares and that an ONNX graph carries.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Element types the engine accepts and returns, named as numpy names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    /// 32-bit float (`float32`).
    #[serde(rename = "float32")]
    F32,
    /// 64-bit float (`float64`).
    #[serde(rename = "float64")]
    F64,
    /// 16-bit IEEE float (`float16`), carried as its bits.
    #[serde(rename = "float16")]
    F16,
    /// 32-bit signed integer (`int32`).
    #[serde(rename = "int32")]
    I32,
    /// 64-bit signed integer (`int64`).
    #[serde(rename = "int64")]
    I64,
    /// 8-bit unsigned integer (`uint8`).
    #[serde(rename = "uint8")]
    U8,
    /// 8-bit signed integer (`int8`).
    #[serde(rename = "int8")]
    I8,
    /// Boolean (`bool`).
    #[serde(rename = "bool")]
    Bool,
}

impl DType {
    /// Every supported type.
    pub const ALL: [DType; 8] = [
        DType::F32,
        DType::F64,
        DType::F16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::I8,
        DType::Bool,
    ];

    /// numpy's name: `float32`, `float64`, `float16`, `int32`, `int64`, `uint8`, `int8`, `bool`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::F16 => "float16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::Bool => "bool",
        }
    }

    /// Parses numpy's name.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The ONNX `TensorProto.DataType` code, if supported.
    pub fn from_onnx(code: i32) -> Option<DType> {
        match code {
            1 => Some(DType::F32),
            2 => Some(DType::U8),
            3 => Some(DType::I8),
            6 => Some(DType::I32),
            7 => Some(DType::I64),
            9 => Some(DType::Bool),
            10 => Some(DType::F16),
            11 => Some(DType::F64),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::F16 => 2,
            DType::U8 | DType::I8 | DType::Bool => 1,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One dimension of a declared shape: a fixed size or a named symbol such as the batch `N`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Dim {
    /// A fixed size.
    Fixed(u64),
    /// A symbolic size, bound per run (all uses of one symbol take one value).
    Symbol(String),
}

impl Dim {
    /// The name of a dimension the graph leaves open (`?`, `-1`, or no dim at all): any size,
    /// not bound across inputs.
    pub const ANY: &'static str = "?";
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbol(s) => f.write_str(s),
        }
    }
}

/// A named tensor's type and shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSpec {
    /// The graph's name for it.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape; symbolic dimensions by name.
    pub shape: Vec<Dim>,
}

impl fmt::Display for TensorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}[", self.name, self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// A model's inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModelSchema {
    /// Inputs, in the graph's order.
    pub inputs: Vec<TensorSpec>,
    /// Outputs, in the graph's order.
    pub outputs: Vec<TensorSpec>,
}

impl ModelSchema {
    /// Compares a declared schema (a model card's) with the graph's: the same input and output
    /// names, types and ranks; fixed sizes equal; a symbolic dimension where the card declares
    /// one. Symbols may be named differently in the card and the graph, but must be used
    /// consistently. Returns a description of the first difference.
    pub fn check_declared(&self, declared: &ModelSchema) -> Result<(), String> {
        let mut symbols: HashMap<&str, &str> = HashMap::new();
        for (kind, graph, card) in [
            ("input", &self.inputs, &declared.inputs),
            ("output", &self.outputs, &declared.outputs),
        ] {
            if graph.len() != card.len() {
                return Err(format!(
                    "the card declares {} {kind}s ({}), the graph has {} ({})",
                    card.len(),
                    names(card),
                    graph.len(),
                    names(graph)
                ));
            }
            for want in card {
                let Some(got) = graph.iter().find(|g| g.name == want.name) else {
                    return Err(format!(
                        "the card declares {kind} `{}`, the graph has {}",
                        want.name,
                        names(graph)
                    ));
                };
                let mismatch = || format!("{kind} expected {want}, got {got}");
                if got.dtype != want.dtype || got.shape.len() != want.shape.len() {
                    return Err(mismatch());
                }
                for (g, w) in got.shape.iter().zip(&want.shape) {
                    match (g, w) {
                        (Dim::Fixed(a), Dim::Fixed(b)) if a == b => {}
                        (Dim::Symbol(a), Dim::Symbol(b)) => {
                            if *symbols.entry(b.as_str()).or_insert(a.as_str()) != a.as_str() {
                                return Err(format!(
                                    "{} (symbol `{b}` maps to two graph symbols)",
                                    mismatch()
                                ));
                            }
                        }
                        _ => return Err(mismatch()),
                    }
                }
            }
        }
        Ok(())
    }
}

fn names(specs: &[TensorSpec]) -> String {
    let list: Vec<String> = specs.iter().map(|s| format!("`{}`", s.name)).collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, dtype: DType, shape: Vec<Dim>) -> TensorSpec {
        TensorSpec {
            name: name.into(),
            dtype,
            shape,
        }
    }

    #[test]
    fn card_json_round_trip() {
        let json = r#"{"name":"input","dtype":"float32","shape":["N",64]}"#;
        let s: TensorSpec = serde_json::from_str(json).unwrap();
        assert_eq!(
            s,
            spec(
                "input",
                DType::F32,
                vec![Dim::Symbol("N".into()), Dim::Fixed(64)]
            )
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), json);
        assert_eq!(s.to_string(), "input: float32[N, 64]");
        assert!(serde_json::from_str::<TensorSpec>(
            r#"{"name":"x","dtype":"bfloat16","shape":[]}"#
        )
        .is_err());
    }

    #[test]
    fn declared_schema_checks() {
        let graph = ModelSchema {
            inputs: vec![spec(
                "x",
                DType::F32,
                vec![Dim::Symbol("batch".into()), Dim::Fixed(4)],
            )],
            outputs: vec![spec("y", DType::I64, vec![Dim::Symbol("batch".into())])],
        };
        let mut card = ModelSchema {
            inputs: vec![spec(
                "x",
                DType::F32,
                vec![Dim::Symbol("N".into()), Dim::Fixed(4)],
            )],
            outputs: vec![spec("y", DType::I64, vec![Dim::Symbol("N".into())])],
        };
        graph.check_declared(&card).unwrap();
        card.inputs[0].shape[1] = Dim::Fixed(5);
        assert!(graph
            .check_declared(&card)
            .unwrap_err()
            .contains("expected x: float32[N, 5]"));
        card.inputs[0].shape[1] = Dim::Fixed(4);
        card.outputs[0].dtype = DType::I32;
        assert!(graph.check_declared(&card).is_err());
        card.outputs[0].dtype = DType::I64;
        card.outputs[0].name = "z".into();
        assert!(graph.check_declared(&card).unwrap_err().contains("`z`"));
    }
}
