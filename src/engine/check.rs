//! The compatibility check: what a model is made of and whether the engine loads and runs it,
//! before anyone publishes it. `edge-registry check`, `Model.check` in JavaScript and the
//! publisher all use [`check`].

use std::collections::BTreeMap;

use prost::Message as _;
use serde::Serialize;
use tract_onnx::pb;

use super::{EngineLimits, Model, ModelSchema, NamedTensor, PlanInfo, TensorSpec};
use crate::error::ErrorCode;
use crate::eval::latency::Timer;

/// How far an output may be from the expected one: max |got - expected| over the output's
/// scale (its largest |expected|, at least 1).
pub const TOLERANCE: f64 = 1e-3;

/// One operator type and where the graph uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorUse {
    /// `Conv`, or `com.microsoft:Gelu` outside the default domain.
    pub op: String,
    /// Nodes using it, subgraphs included.
    pub count: usize,
    /// Whether the engine implements it.
    pub supported: bool,
    /// For an unsupported operator, the names of the nodes that use it (at most 20).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

/// An error as the check reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckError {
    /// The error code (`BAD_MODEL`, `UNSUPPORTED_MODEL`...).
    pub code: String,
    /// In words.
    pub message: String,
}

impl CheckError {
    fn of(e: &(impl ErrorCode + std::fmt::Display)) -> Self {
        CheckError {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

/// One output of a checked run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputCheck {
    /// The output's name.
    pub name: String,
    /// Its element type.
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// With an expected value: max |got - expected|.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_abs_error: Option<f64>,
    /// With an expected value: `max_abs_error` over the output's scale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_error: Option<f64>,
    /// With an expected value: whether it matches (same shape, relative error within
    /// the tolerance (1e-3), NaN where expected NaN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<bool>,
}

/// A run of the checked model on given inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCheck {
    /// Milliseconds for the run (a per-shape model's first run includes planning).
    pub ms: f64,
    /// With repeats: the median milliseconds of the repeated runs (plans already built).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steady_ms: Option<f64>,
    /// The outputs, or why the run failed.
    pub outputs: Vec<OutputCheck>,
    /// Why the run failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CheckError>,
    /// Expected outputs the model did not produce.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// The compatibility report of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Model size in bytes.
    pub bytes: u64,
    /// ONNX IR version.
    pub ir_version: i64,
    /// Operator sets the model imports: domain (`ai.onnx` for the default) to version.
    pub opsets: BTreeMap<String, i64>,
    /// The exporter, as the model names it.
    pub producer: String,
    /// Declared inputs (`?` for a dimension the graph leaves open).
    pub inputs: Vec<TensorSpec>,
    /// Declared outputs.
    pub outputs: Vec<TensorSpec>,
    /// Every operator type, most used first.
    pub operators: Vec<OperatorUse>,
    /// Whether the engine loaded the model.
    pub loaded: bool,
    /// Milliseconds to load (decode, type, optimise a static plan).
    pub load_ms: f64,
    /// The plan path (`static`, or `per-shape`: the model needs concrete input shapes, planned
    /// on first use) and the plan cache after the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanInfo>,
    /// Why the model did not load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CheckError>,
    /// The run on the given inputs, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunCheck>,
    /// Loaded, and (when inputs were given) ran, with every expected output matching.
    pub ok: bool,
}

/// What [`check`] runs the model on.
#[derive(Debug, Clone, Default)]
pub struct CheckRun {
    /// The inputs (none: load only).
    pub inputs: Option<Vec<NamedTensor>>,
    /// Outputs the run must reproduce.
    pub expected: Option<Vec<NamedTensor>>,
    /// Runs to time after the first (`steady_ms` is their median).
    pub repeat: usize,
}

/// Checks a model: decodes it, lists its operators, loads it with `limits`, and with inputs
/// runs it and compares the outputs to the expected ones. Never fails: every problem is in the
/// report.
pub fn check(
    bytes: &[u8],
    limits: EngineLimits,
    run: CheckRun,
    timer: &mut dyn Timer,
) -> CheckReport {
    let mut report = CheckReport {
        bytes: bytes.len() as u64,
        ir_version: 0,
        opsets: BTreeMap::new(),
        producer: String::new(),
        inputs: vec![],
        outputs: vec![],
        operators: vec![],
        loaded: false,
        load_ms: 0.0,
        plan: None,
        error: None,
        run: None,
        ok: false,
    };
    if bytes.len() as u64 <= limits.max_model_bytes {
        if let Ok(proto) = pb::ModelProto::decode(bytes) {
            describe(&proto, &mut report);
        }
    }
    let t0 = timer.now_ms();
    let model = Model::load_with_limits(bytes, None, limits);
    report.load_ms = timer.now_ms() - t0;
    let model = match model {
        Ok(m) => m,
        Err(e) => {
            report.error = Some(CheckError::of(&e));
            return report;
        }
    };
    report.loaded = true;
    let ModelSchema {
        inputs: schema_in,
        outputs: schema_out,
    } = model.schema().clone();
    report.inputs = schema_in;
    report.outputs = schema_out;
    report.ok = true;
    if let Some(inputs) = run.inputs {
        let expected = run.expected.as_deref();
        let run = run_check(&model, inputs, expected, run.repeat, timer);
        report.ok = run.error.is_none()
            && run.missing.is_empty()
            && run.outputs.iter().all(|o| o.matches != Some(false));
        report.run = Some(run);
    }
    report.plan = Some(model.plan_info());
    report
}

impl RunCheck {
    fn failed(ms: f64, e: &super::EngineError) -> RunCheck {
        RunCheck {
            ms,
            steady_ms: None,
            outputs: vec![],
            error: Some(CheckError::of(e)),
            missing: vec![],
        }
    }
}

fn run_check(
    model: &Model,
    inputs: Vec<NamedTensor>,
    expected: Option<&[NamedTensor]>,
    repeat: usize,
    timer: &mut dyn Timer,
) -> RunCheck {
    let again = (repeat > 0).then(|| inputs.clone());
    let t0 = timer.now_ms();
    let result = model.run(inputs);
    let ms = timer.now_ms() - t0;
    let outputs = match result {
        Ok(o) => o,
        Err(e) => return RunCheck::failed(ms, &e),
    };
    let mut steady_ms = None;
    if let Some(inputs) = again {
        let mut times = Vec::with_capacity(repeat);
        for _ in 0..repeat {
            let t0 = timer.now_ms();
            if let Err(e) = model.run(inputs.clone()) {
                return RunCheck::failed(ms, &e);
            }
            times.push(timer.now_ms() - t0);
        }
        times.sort_by(f64::total_cmp);
        steady_ms = times.get(times.len() / 2).copied();
    }
    let expected = expected.unwrap_or(&[]);
    let checks = outputs
        .iter()
        .map(|o| {
            let mut c = OutputCheck {
                name: o.name.clone(),
                dtype: o.tensor.dtype().name().into(),
                shape: o.tensor.shape.clone(),
                max_abs_error: None,
                relative_error: None,
                matches: None,
            };
            if let Some(want) = expected.iter().find(|e| e.name == o.name) {
                let a = compare(&o.tensor, &want.tensor);
                c.max_abs_error = Some(a.max_abs_error);
                c.relative_error = Some(a.relative_error);
                c.matches = Some(a.matches);
            }
            c
        })
        .collect();
    let missing = expected
        .iter()
        .filter(|e| !outputs.iter().any(|o| o.name == e.name))
        .map(|e| e.name.clone())
        .collect();
    RunCheck {
        ms,
        steady_ms,
        outputs: checks,
        error: None,
        missing,
    }
}

/// How closely an output matches the expected tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    /// The largest absolute difference (infinite for a shape or NaN mismatch).
    pub max_abs_error: f64,
    /// That difference over the largest expected magnitude (at least 1).
    pub relative_error: f64,
    /// Whether the relative error is within the tolerance (1e-3).
    pub matches: bool,
}

/// Compares an output with the expected tensor. A shape mismatch is an infinite error.
pub fn compare(got: &super::Tensor, want: &super::Tensor) -> Agreement {
    if got.shape != want.shape {
        return Agreement {
            max_abs_error: f64::INFINITY,
            relative_error: f64::INFINITY,
            matches: false,
        };
    }
    let (g, w) = (got.data.to_f64_vec(), want.data.to_f64_vec());
    let mut scale: f64 = 1.0;
    let mut max_abs: f64 = 0.0;
    let mut nan_ok = true;
    for (&a, &b) in g.iter().zip(&w) {
        if b.is_finite() {
            scale = scale.max(b.abs());
        }
        if a.is_nan() || b.is_nan() {
            nan_ok &= a.is_nan() && b.is_nan();
        } else if a != b {
            // Equal infinities are equal; anything else is a plain difference.
            max_abs = max_abs.max((a - b).abs());
        }
    }
    if !nan_ok {
        max_abs = f64::INFINITY;
    }
    let rel = max_abs / scale;
    Agreement {
        max_abs_error: max_abs,
        relative_error: rel,
        matches: rel <= TOLERANCE,
    }
}

/// Fills the parts of the report that come from the protobuf alone.
fn describe(proto: &pb::ModelProto, report: &mut CheckReport) {
    report.ir_version = proto.ir_version;
    report.producer = format!("{} {}", proto.producer_name, proto.producer_version)
        .trim()
        .to_string();
    for o in &proto.opset_import {
        let domain = if o.domain.is_empty() {
            "ai.onnx"
        } else {
            o.domain.as_str()
        };
        report.opsets.insert(domain.to_string(), o.version);
    }
    let mut uses: BTreeMap<String, (usize, bool, Vec<String>)> = BTreeMap::new();
    if let Some(g) = &proto.graph {
        walk(g, 0, &mut |node| {
            let op = super::op_name(node);
            let supported = super::supported(&node.op_type);
            let entry = uses.entry(op).or_insert((0, supported, vec![]));
            entry.0 += 1;
            if !supported && entry.2.len() < 20 {
                entry.2.push(node.name.clone());
            }
        });
    }
    let mut operators: Vec<OperatorUse> = uses
        .into_iter()
        .map(|(op, (count, supported, nodes))| OperatorUse {
            op,
            count,
            supported,
            nodes,
        })
        .collect();
    operators.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.op.cmp(&b.op)));
    report.operators = operators;
}

fn walk(graph: &pb::GraphProto, depth: usize, f: &mut dyn FnMut(&pb::NodeProto)) {
    if depth > 16 {
        return;
    }
    for node in &graph.node {
        f(node);
        for attr in &node.attribute {
            for g in attr.g.iter().chain(&attr.graphs) {
                walk(g, depth + 1, f);
            }
        }
    }
}
