//! The inference engine: ONNX models loaded from verified bytes with tract, checked against the
//! model card's declared schema, optimised once and run many times with typed, named tensors.
//!
//! A symbolic dimension (the batch `N`) stays symbolic through optimisation, so one loaded model
//! runs batch 1 and batch N without reloading. Nothing here panics on hostile bytes or inputs:
//! malformed models, unsupported operators and wrong inputs are typed errors. (tract itself may
//! still panic on some hostile graphs; natively that is caught and reported as `INTERNAL_PANIC`,
//! in wasm the JS layer recovers.)
//!
//! Owns the ONNX engine (tract): loading, plans, checks, runs. Imports `error` and the plain
//! `eval` types it serves (`Predictor`, `Timer`); never `registry`, `catalogue`, `wasm` or the CLI.

mod check;
mod checked_ops;
mod control_flow;
mod expand;
mod fuse;
mod loop_op;
mod optimise;
mod plan;
mod predictor;
mod quant;
mod rewrite;
mod schema;
mod tensor;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use prost::Message as _;
use tract_onnx::pb;
use tract_onnx::prelude::{
    tvec, DatumType, Framework, InferenceModelExt, IntoRunnable, IntoTensor, TDim, TValue,
    Tensor as TractTensor, TypedModel, TypedRunnableModel,
};
use tract_onnx::tract_core::ndarray::{ArrayD, IxDyn};
use tract_onnx::tract_hir::infer::InferenceModel;

pub use check::{
    check, compare, Agreement, CheckError, CheckReport, CheckRun, OperatorUse, OutputCheck,
    RunCheck,
};
pub use plan::{PlanInfo, PlanKind};
use plan::{Plans, ShapeCache};
pub use predictor::ModelPredictor;
pub use schema::{DType, Dim, ModelSchema, TensorSpec};
pub use tensor::{NamedTensor, Tensor, TensorData};
/// Half-precision floats (`float16` tensors carry their bits; this converts them).
pub use tract_onnx::prelude::f16;

use crate::error::{Code, ErrorCode};

/// Errors from loading and running models.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The bytes are not a usable ONNX model. Code `BAD_MODEL`.
    #[error("not a usable ONNX model: {reason}")]
    BadModel {
        /// What is wrong.
        reason: String,
    },
    /// The model uses operators or types the engine does not implement. Code `UNSUPPORTED_MODEL`.
    #[error("unsupported model: {reason}")]
    Unsupported {
        /// Operators the engine lacks, if that is the reason.
        operators: Vec<String>,
        /// In words.
        reason: String,
    },
    /// Inputs (or a declared schema) do not match the model. Code `SCHEMA_MISMATCH`.
    #[error("schema mismatch: {what}: expected {expected}, got {got}")]
    SchemaMismatch {
        /// Which tensor or part of the schema.
        what: String,
        /// What the model expects.
        expected: String,
        /// What was given.
        got: String,
    },
    /// A size limit was exceeded before allocating. Code `LIMIT_EXCEEDED`.
    #[error("limit exceeded: {what} is {got}, the limit is {limit}")]
    LimitExceeded {
        /// What was too large.
        what: String,
        /// Its size.
        got: u64,
        /// The limit.
        limit: u64,
    },
    /// The model failed while running. Code `INFERENCE_FAILED`.
    #[error("inference failed: {reason}")]
    Inference {
        /// tract's explanation.
        reason: String,
    },
    /// tract panicked (caught natively). Code `INTERNAL_PANIC`.
    #[error("internal error in the inference engine: {reason}")]
    Internal {
        /// The panic message.
        reason: String,
    },
}

impl ErrorCode for EngineError {
    fn error_code(&self) -> Code {
        match self {
            EngineError::BadModel { .. } => Code::BadModel,
            EngineError::Unsupported { .. } => Code::UnsupportedModel,
            EngineError::SchemaMismatch { .. } => Code::SchemaMismatch,
            EngineError::LimitExceeded { .. } => Code::LimitExceeded,
            EngineError::Inference { .. } => Code::InferenceFailed,
            EngineError::Internal { .. } => Code::InternalPanic,
        }
    }
}

/// Size limits checked before anything is allocated from an untrusted number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// Largest model file, in bytes.
    pub max_model_bytes: u64,
    /// Most elements in any one input tensor.
    pub max_tensor_elements: u64,
    /// Most plans a per-shape model keeps (one per concrete input-shape signature; the least
    /// recently used goes first). At least one is always kept.
    pub max_plans: usize,
    /// Most estimated bytes of one plan, and of all plans a per-shape model keeps (constants and
    /// every intermediate value at its concrete size, an upper bound).
    pub max_plan_bytes: u64,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            max_model_bytes: 1 << 30,
            max_tensor_elements: 1 << 28,
            max_plans: 4,
            max_plan_bytes: 1 << 30,
        }
    }
}

impl EngineLimits {
    /// Refuses a model file larger than `max_model_bytes` (checked before anything copies it).
    pub fn check_model_size(&self, len: u64) -> Result<(), EngineError> {
        if len > self.max_model_bytes {
            return Err(EngineError::LimitExceeded {
                what: "model size".into(),
                got: len,
                limit: self.max_model_bytes,
            });
        }
        Ok(())
    }
}

/// A loaded model, ready to run: optimised once, or per concrete input shape (see [`PlanKind`]).
#[derive(Debug, Clone)]
pub struct Model {
    plans: Plans,
    schema: ModelSchema,
    limits: EngineLimits,
}

/// Locks a mutex whose holder may have panicked (the data is a plain value, always whole).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn tract_reason(e: &tract_onnx::prelude::TractError) -> String {
    // `{:#}` prints anyhow's whole context chain on one line.
    format!("{e:#}")
}

fn bad(reason: impl Into<String>) -> EngineError {
    EngineError::BadModel {
        reason: reason.into(),
    }
}

/// Runs `f`, turning a panic into [`EngineError::Internal`] natively. (In wasm a panic aborts
/// the module; the JS layer handles that.)
fn guard<T>(f: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(r) => r,
            Err(payload) => {
                let reason = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                Err(EngineError::Internal { reason })
            }
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        f()
    }
}

/// Decodes the protobuf and refuses what tract must never see: missing graphs, tensor data in
/// external files (tract would read them from the local filesystem), operators tract lacks.
fn decode(bytes: &[u8], limits: &EngineLimits) -> Result<pb::ModelProto, EngineError> {
    // Every path into tract starts here (see run_static_constructors).
    run_static_constructors();
    limits.check_model_size(bytes.len() as u64)?;
    let mut proto = pb::ModelProto::decode(bytes).map_err(|e| bad(format!("protobuf: {e}")))?;
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| bad("the model has no graph"))?;
    let mut missing = BTreeSet::new();
    check_graph(graph, &mut missing, &supported, limits, 0)?;
    if !missing.is_empty() {
        let operators: Vec<String> = missing.into_iter().collect();
        return Err(EngineError::Unsupported {
            reason: format!("operators not implemented: {}", operators.join(", ")),
            operators,
        });
    }
    // Fused first: a quantise-dequantise pair before a softmax becomes one operator, which the
    // rewrite of a dequantiser feeding a softmax then has no reason to touch.
    fuse::fuse(graph);
    rewrite::rewrite(graph, 0)?;
    Ok(proto)
}

/// Whether the engine runs an operator type: tract's, or one the rewrites replace.
fn supported(op_type: &str) -> bool {
    checked_ops::framework().op_register.0.contains_key(op_type)
        || rewrite::REWRITTEN.contains(&op_type)
}

/// Checks a tensor stored in the graph (an initializer or a node attribute) before tract
/// materialises it: dimensions non-negative, element count within
/// [`EngineLimits::max_tensor_elements`], and no raw bytes for a string tensor (the ONNX
/// specification forbids it and tract 0.23 would reach `unimplemented!`).
fn check_tensor(t: &pb::TensorProto, limits: &EngineLimits, what: &str) -> Result<(), EngineError> {
    let mut elements: u64 = 1;
    for &d in &t.dims {
        let d = u64::try_from(d).map_err(|_| bad(format!("{what}: negative dimension {d}")))?;
        elements = elements.saturating_mul(d);
    }
    if elements > limits.max_tensor_elements {
        return Err(EngineError::LimitExceeded {
            what: format!("{what} element count"),
            got: elements,
            limit: limits.max_tensor_elements,
        });
    }
    if t.data_type == pb::tensor_proto::DataType::String as i32 && !t.raw_data.is_empty() {
        return Err(bad(format!(
            "{what}: a string tensor stored as raw bytes (ONNX requires string_data)"
        )));
    }
    Ok(())
}

fn check_graph(
    graph: &pb::GraphProto,
    missing: &mut BTreeSet<String>,
    known: &dyn Fn(&str) -> bool,
    limits: &EngineLimits,
    depth: usize,
) -> Result<(), EngineError> {
    if depth > 16 {
        return Err(bad("subgraphs nested more than 16 deep"));
    }
    let external = pb::tensor_proto::DataLocation::External as i32;
    if graph
        .initializer
        .iter()
        .any(|t| t.data_location == Some(external) || !t.external_data.is_empty())
    {
        return Err(bad(
            "tensor data stored in external files is not supported; embed the weights",
        ));
    }
    for t in &graph.initializer {
        check_tensor(t, limits, &format!("initializer `{}`", t.name))?;
    }
    // Every graph output must name a value of this graph: tract 0.23 looks outputs up with
    // `outlets_by_name[name]` and panics on a name it has not seen (found by the onnx_model
    // fuzz target). tract's names: graph inputs, initializers, and the non-empty names of node
    // outputs and inputs (an unknown node input becomes a source).
    let mut defined: BTreeSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    defined.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    for node in &graph.node {
        defined.extend(
            node.output
                .iter()
                .chain(&node.input)
                .map(String::as_str)
                .filter(|n| !n.is_empty()),
        );
    }
    if let Some(o) = graph
        .output
        .iter()
        .find(|o| !defined.contains(o.name.as_str()))
    {
        return Err(bad(format!(
            "graph output `{}` is not a graph input, an initializer or a node's value",
            o.name
        )));
    }
    for node in &graph.node {
        for attr in &node.attribute {
            let what = || format!("attribute `{}` of node `{}`", attr.name, node.name);
            if let Some(t) = &attr.t {
                check_tensor(t, limits, &what())?;
            }
            for t in &attr.tensors {
                check_tensor(t, limits, &what())?;
            }
        }
        if !known(&node.op_type) {
            missing.insert(op_name(node));
        }
        for attr in &node.attribute {
            if let Some(g) = &attr.g {
                check_graph(g, missing, known, limits, depth + 1)?;
            }
            for g in &attr.graphs {
                check_graph(g, missing, known, limits, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// A node's operator as reports name it: `Conv`, or `com.microsoft:Gelu` outside the default
/// domain.
fn op_name(node: &pb::NodeProto) -> String {
    if node.domain.is_empty() || node.domain == "ai.onnx" {
        node.op_type.clone()
    } else {
        format!("{}:{}", node.domain, node.op_type)
    }
}

fn dim_of(d: &TDim) -> Dim {
    match d {
        TDim::Val(v) if *v >= 0 => Dim::Fixed(*v as u64),
        TDim::Sym(s) => Dim::Symbol(s.to_string()),
        other => Dim::Symbol(other.to_string()),
    }
}

fn dtype_of(dt: DatumType, what: &str) -> Result<DType, EngineError> {
    Ok(match dt {
        DatumType::F32 => DType::F32,
        DatumType::F64 => DType::F64,
        DatumType::I32 => DType::I32,
        DatumType::I64 => DType::I64,
        DatumType::F16 => DType::F16,
        DatumType::U8 => DType::U8,
        DatumType::I8 => DType::I8,
        DatumType::Bool => DType::Bool,
        other => {
            return Err(EngineError::Unsupported {
                operators: vec![],
                reason: format!(
                    "{what} has element type {other:?}; supported: float32, float64, float16, int32, int64, uint8, int8, bool"
                ),
            })
        }
    })
}

/// The schema of a typed tract model, with the ONNX names of its inputs and outputs.
fn schema_of(model: &TypedModel) -> Result<ModelSchema, EngineError> {
    let mut schema = ModelSchema::default();
    for (i, outlet) in model.inputs.iter().enumerate() {
        let name = model.node(outlet.node).name.clone();
        let fact = model
            .input_fact(i)
            .map_err(|e| bad(format!("input {i}: {}", tract_reason(&e))))?;
        schema.inputs.push(TensorSpec {
            dtype: dtype_of(fact.datum_type, &format!("input `{name}`"))?,
            shape: fact.shape.iter().map(dim_of).collect(),
            name,
        });
    }
    for (i, outlet) in model.outputs.iter().enumerate() {
        let name = model
            .outlet_label(*outlet)
            .map(str::to_string)
            .unwrap_or_else(|| model.node(outlet.node).name.clone());
        let fact = model
            .output_fact(i)
            .map_err(|e| bad(format!("output {i}: {}", tract_reason(&e))))?;
        schema.outputs.push(TensorSpec {
            dtype: dtype_of(fact.datum_type, &format!("output `{name}`"))?,
            shape: fact.shape.iter().map(dim_of).collect(),
            name,
        });
    }
    Ok(schema)
}

/// A decoded model: the (rewritten) protobuf and tract's inference-level graph of it.
struct Decoded {
    proto: pb::ModelProto,
    inference: InferenceModel,
}

/// Decodes and parses a model, its graph's `value_info` annotations left out (see
/// [`with_value_info`]).
fn decoded(bytes: &[u8], limits: &EngineLimits) -> Result<Decoded, EngineError> {
    let proto = decode(bytes, limits)?;
    let inference = checked_ops::framework_without_value_info()
        .model_for_proto_model(&proto)
        .map_err(|e| bad(tract_reason(&e)))?;
    Ok(Decoded { proto, inference })
}

/// The parsed graph with the facts of the top-level graph's `value_info` annotations set, as
/// tract's parser sets them (an int64 annotation loses its type, as tract's parser drops it:
/// those are likely shape values); the constants are shared, not copied. Parsing once without
/// them and adding them to a copy saves a second parse (a copy of every weight) for the models
/// that need both: the annotated graph for the symbolic plan, the plain one for per-shape plans,
/// whose concrete sizes tract would otherwise try to unify with the annotations' symbols.
fn with_value_info(decoded: &Decoded) -> Result<InferenceModel, EngineError> {
    use tract_onnx::model::ParsingContext;
    use tract_onnx::prelude::{Fact as _, OutletId};
    let mut model = decoded.inference.clone();
    let Some(graph) = decoded.proto.graph.as_ref() else {
        return Ok(model);
    };
    // Names as the parser resolves them: inputs and initializers by node name, then every
    // node output by its label, later ones winning.
    let mut outlets: HashMap<&str, OutletId> = HashMap::new();
    for node in &model.nodes {
        for slot in 0..node.outputs.len() {
            let outlet = OutletId::new(node.id, slot);
            match model.outlet_label(outlet) {
                Some(label) => {
                    outlets.insert(label, outlet);
                }
                None if slot == 0 => {
                    outlets.insert(node.name.as_str(), outlet);
                }
                None => {}
            }
        }
    }
    let template = InferenceModel {
        symbols: model.symbols.clone(),
        ..Default::default()
    };
    let ctx = ParsingContext {
        onnx_operator_set_version: decoded
            .proto
            .opset_import
            .iter()
            .find(|i| i.domain.is_empty() || i.domain == "ai.onnx")
            .map_or(0, |i| i.version),
        framework: checked_ops::framework(),
        model: &decoded.proto,
        parent_graphs: vec![],
        model_dir: None,
        template,
    };
    let mut facts = vec![];
    for info in &graph.value_info {
        let (Some(pb::type_proto::Value::TensorType(t)), Some(&outlet)) = (
            info.r#type.as_ref().and_then(|t| t.value.as_ref()),
            outlets.get(info.name.as_str()),
        ) else {
            continue;
        };
        let mut fact = tract_onnx::tensor::translate_inference_fact(&ctx, t, false)
            .map_err(|e| bad(format!("value_info `{}`: {}", info.name, tract_reason(&e))))?;
        if fact.datum_type() == Some(DatumType::I64) {
            fact = fact.without_datum_type();
        }
        facts.push((outlet, fact));
    }
    for (outlet, fact) in facts {
        model
            .set_outlet_fact(outlet, fact)
            .map_err(|e| bad(tract_reason(&e)))?;
    }
    Ok(model)
}

/// An input or output as the ONNX graph declares it (`?` for a dimension it leaves open).
fn declared_spec(value: &pb::ValueInfoProto) -> Result<TensorSpec, EngineError> {
    use pb::tensor_shape_proto::dimension::Value as D;
    let what = format!("`{}`", value.name);
    let Some(pb::type_proto::Value::TensorType(t)) =
        value.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(EngineError::Unsupported {
            operators: vec![],
            reason: format!("{what} is not a tensor (sequences and maps are not supported)"),
        });
    };
    let dtype = DType::from_onnx(t.elem_type).ok_or_else(|| EngineError::Unsupported {
        operators: vec![],
        reason: format!(
            "{what} has ONNX element type {}; supported: float32, float64, float16, int32, int64, uint8, int8, bool",
            t.elem_type
        ),
    })?;
    let shape = t
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(D::DimValue(v)) if *v > 0 => Dim::Fixed(*v as u64),
                    Some(D::DimParam(p)) if !p.is_empty() && !p.starts_with("unk__") => {
                        Dim::Symbol(p.clone())
                    }
                    _ => Dim::Symbol(Dim::ANY.into()),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(TensorSpec {
        name: value.name.clone(),
        dtype,
        shape,
    })
}

/// The schema of a model tract could not type as a whole: inputs from the decoded graph (a
/// dimension it leaves open is `?`), outputs as the ONNX graph declares them.
fn decoded_schema(decoded: &Decoded) -> Result<ModelSchema, EngineError> {
    use tract_onnx::tract_hir::internal::Factoid;
    let model = &decoded.inference;
    let outputs = match &decoded.proto.graph {
        Some(graph) => graph
            .output
            .iter()
            .map(declared_spec)
            .collect::<Result<_, _>>()?,
        None => vec![],
    };
    let mut schema = ModelSchema {
        inputs: vec![],
        outputs,
    };
    for (i, outlet) in model.inputs.iter().enumerate() {
        let name = model.node(outlet.node).name.clone();
        let fact = model
            .input_fact(i)
            .map_err(|e| bad(format!("input {i}: {}", tract_reason(&e))))?;
        let what = format!("input `{name}`");
        let dt = fact
            .datum_type
            .concretize()
            .ok_or_else(|| bad(format!("{what} declares no element type")))?;
        if fact.shape.is_open() {
            return Err(EngineError::Unsupported {
                operators: vec![],
                reason: format!("{what} declares no shape; the engine needs each input's rank"),
            });
        }
        let shape = fact
            .shape
            .dims()
            .map(|d| match d.concretize() {
                Some(d) => dim_of(&d),
                None => Dim::Symbol(Dim::ANY.into()),
            })
            .collect();
        schema.inputs.push(TensorSpec {
            dtype: dtype_of(dt, &what)?,
            shape,
            name,
        });
    }
    Ok(schema)
}

/// Types and optimises the whole graph once. The flag says whether the error is a
/// [`checked_ops::RuleViolation`] (the graph is malformed whatever the input sizes).
fn static_plan(
    inference: InferenceModel,
) -> Result<(Arc<TypedRunnableModel>, ModelSchema), (EngineError, bool)> {
    let failed = |stage: &str, e: tract_onnx::prelude::TractError| {
        (
            bad(format!("{stage} failed: {}", tract_reason(&e))),
            checked_ops::is_violation(&e),
        )
    };
    let typed = inference
        .into_typed()
        .map_err(|e| failed("type analysis", e))?;
    let schema = schema_of(&typed).map_err(|e| (e, false))?;
    let plan = optimise::optimised(typed)
        .map_err(|e| failed("optimisation", e))?
        .into_runnable()
        .map_err(|e| failed("planning", e))?;
    Ok((plan, schema))
}

/// Plans a decoded model: one plan when tract can type the whole graph with the declared
/// input facts; else, when an input leaves a dimension open or symbolic, one plan per concrete
/// input shape (the decoded graph is kept, without the graph's `value_info` annotations, whose
/// symbolic intermediate shapes tract would otherwise unify with the concrete ones).
fn plan(decoded: Decoded) -> Result<(Plans, ModelSchema), EngineError> {
    let has_value_info = decoded
        .proto
        .graph
        .as_ref()
        .is_some_and(|g| !g.value_info.is_empty());
    let datum_types =
        |schema: &ModelSchema| schema.inputs.iter().map(|s| datum_of(s.dtype)).collect();
    let open = |schema: &ModelSchema| {
        schema
            .inputs
            .iter()
            .any(|s| s.shape.iter().any(|d| !matches!(d, Dim::Fixed(_))))
    };
    let annotated = if has_value_info {
        with_value_info(&decoded)?
    } else {
        decoded.inference.clone()
    };
    let first = match static_plan(annotated) {
        Ok((plan, schema)) => {
            // A symbolic plan may still fail on concrete sizes (tract unifies a symbolic shape
            // it derived wrongly): such a model keeps its graph to fall back on per-shape plans.
            let fallback = if open(&schema) {
                Some(Arc::new(ShapeCache::new(
                    decoded.inference,
                    datum_types(&schema),
                )))
            } else {
                None
            };
            let plans = Plans::Static {
                plan,
                fallback,
                failed: Arc::new(Mutex::new(None)),
            };
            return Ok((plans, schema));
        }
        Err((e, true)) => return Err(e),
        Err((e, false)) => e,
    };
    let schema = decoded_schema(&decoded)?;
    let inference = decoded.inference;
    if !open(&schema) {
        // Nothing to specialise on: the graph plans as declared or not at all.
        if !has_value_info {
            return Err(first);
        }
        let (plan, schema) = static_plan(inference).map_err(|(e, _)| e)?;
        let plans = Plans::Static {
            plan,
            fallback: None,
            failed: Arc::new(Mutex::new(None)),
        };
        return Ok((plans, schema));
    }
    let reason = match &first {
        EngineError::BadModel { reason } => reason.clone(),
        other => other.to_string(),
    };
    let cache = ShapeCache::new(inference, datum_types(&schema));
    Ok((Plans::PerShape(Arc::new(cache), reason), schema))
}

fn datum_of(dtype: DType) -> DatumType {
    match dtype {
        DType::F32 => DatumType::F32,
        DType::F64 => DatumType::F64,
        DType::I32 => DatumType::I32,
        DType::I64 => DatumType::I64,
        DType::F16 => DatumType::F16,
        DType::U8 => DatumType::U8,
        DType::I8 => DatumType::I8,
        DType::Bool => DatumType::Bool,
    }
}

/// The inputs and outputs exactly as the ONNX graph declares them (graph inputs that are not
/// initializers; `?` for a dimension left open), from the protobuf alone: for models the engine
/// cannot analyse (the publisher's `force_unloadable`).
pub fn declared_schema(bytes: &[u8]) -> Result<ModelSchema, EngineError> {
    if bytes.len() as u64 > EngineLimits::default().max_model_bytes {
        return Err(bad("the model is larger than the engine's limit"));
    }
    let proto = pb::ModelProto::decode(bytes).map_err(|e| bad(format!("protobuf: {e}")))?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| bad("the model has no graph"))?;
    let initializers: BTreeSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = graph
        .input
        .iter()
        .filter(|i| !initializers.contains(i.name.as_str()))
        .map(declared_spec)
        .collect::<Result<_, _>>()?;
    let outputs = graph
        .output
        .iter()
        .map(declared_spec)
        .collect::<Result<_, _>>()?;
    Ok(ModelSchema { inputs, outputs })
}

/// The input and output schema an ONNX model's graph declares (names, types, shapes with
/// symbolic dimensions; `?` for a dimension left open), without optimising it. The publisher
/// writes this into model cards.
pub fn read_schema(bytes: &[u8]) -> Result<ModelSchema, EngineError> {
    guard(|| {
        let decoded = decoded(bytes, &EngineLimits::default())?;
        match with_value_info(&decoded)?.into_typed() {
            Ok(typed) => schema_of(&typed),
            Err(e) if checked_ops::is_violation(&e) => {
                Err(bad(format!("type analysis failed: {}", tract_reason(&e))))
            }
            Err(_) => decoded_schema(&decoded),
        }
    })
}

impl Model {
    /// Loads, checks and optimises a model. When `declared` is given (a model card's schema),
    /// the graph must match it, else [`EngineError::SchemaMismatch`].
    pub fn load(bytes: &[u8], declared: Option<&ModelSchema>) -> Result<Model, EngineError> {
        Model::load_with_limits(bytes, declared, EngineLimits::default())
    }

    /// [`Model::load`] with explicit limits.
    pub fn load_with_limits(
        bytes: &[u8],
        declared: Option<&ModelSchema>,
        limits: EngineLimits,
    ) -> Result<Model, EngineError> {
        guard(|| {
            let (plans, schema) = plan(decoded(bytes, &limits)?)?;
            if let Some(card) = declared {
                schema
                    .check_declared(card)
                    .map_err(|detail| EngineError::SchemaMismatch {
                        what: "model card vs graph".into(),
                        expected: "the schema the card declares".into(),
                        got: detail,
                    })?;
            }
            Ok(Model {
                plans,
                schema,
                limits,
            })
        })
    }

    /// Which path the model takes (one plan, or one per input shape) and, for per-shape
    /// models, the plan cache's state.
    pub fn plan_info(&self) -> PlanInfo {
        match &self.plans {
            Plans::Static {
                plan,
                fallback,
                failed,
            } => match (fallback, lock(failed).clone()) {
                (Some(cache), Some(reason)) => {
                    cache.info(format!("the static plan failed at run time: {reason}"))
                }
                (cache, _) => {
                    let symbolic = PlanInfo {
                        kind: PlanKind::Static,
                        reason: None,
                        cached: 1,
                        cached_bytes: plan::estimated_bytes(plan.model()),
                        built: 1,
                        hits: 0,
                        evicted: 0,
                        shapes: vec![],
                    };
                    // With the plans specialised on recurring shapes, if any.
                    match cache {
                        Some(cache) => {
                            let special = cache.info(String::new());
                            PlanInfo {
                                cached: symbolic.cached + special.cached,
                                cached_bytes: symbolic.cached_bytes + special.cached_bytes,
                                built: symbolic.built + special.built,
                                hits: special.hits,
                                evicted: special.evicted,
                                shapes: special.shapes,
                                ..symbolic
                            }
                        }
                        None => symbolic,
                    }
                }
            },
            Plans::PerShape(cache, reason) => cache.info(reason.clone()),
        }
    }

    /// The model's inputs and outputs.
    pub fn schema(&self) -> &ModelSchema {
        &self.schema
    }

    /// The limits this model was loaded with (inputs are checked against them on every run).
    pub fn limits(&self) -> &EngineLimits {
        &self.limits
    }

    /// Runs the model. Every input must be given by name with the declared type and a shape
    /// that fits the declared one (fixed sizes equal, each symbol one value across inputs).
    /// Outputs come back in the graph's order, by name.
    pub fn run(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, EngineError> {
        let mut by_name: HashMap<String, Tensor> = HashMap::with_capacity(inputs.len());
        for input in inputs {
            if !self.schema.inputs.iter().any(|s| s.name == input.name) {
                return Err(EngineError::SchemaMismatch {
                    what: format!("input `{}`", input.name),
                    expected: format!("one of {}", self.input_names()),
                    got: format!("unknown input `{}`", input.name),
                });
            }
            if by_name.insert(input.name.clone(), input.tensor).is_some() {
                return Err(EngineError::SchemaMismatch {
                    what: format!("input `{}`", input.name),
                    expected: "each input once".into(),
                    got: "the same input twice".into(),
                });
            }
        }
        let mut symbols: HashMap<String, usize> = HashMap::new();
        let mut feed = tvec![];
        for spec in &self.schema.inputs {
            let tensor = by_name
                .remove(&spec.name)
                .ok_or_else(|| EngineError::SchemaMismatch {
                    what: format!("input `{}`", spec.name),
                    expected: spec.to_string(),
                    got: "nothing (missing input)".into(),
                })?;
            self.check_input(spec, &tensor, &mut symbols)?;
            feed.push(TValue::from(to_tract(tensor)?));
        }
        let run = |plan: Arc<TypedRunnableModel>, feed| {
            guard(|| {
                plan.run(feed).map_err(|e| EngineError::Inference {
                    reason: tract_reason(&e),
                })
            })
        };
        let outputs = match &self.plans {
            Plans::PerShape(cache, _) => run(cache.plan_for(&feed, &self.limits)?, feed)?,
            Plans::Static {
                plan,
                fallback,
                failed,
            } => match fallback {
                Some(cache) if lock(failed).is_some() => {
                    run(cache.plan_for(&feed, &self.limits)?, feed)?
                }
                Some(cache) => match cache
                    .specialised(&feed, &self.limits)
                    .map(|p| run(p, feed.clone()))
                {
                    Some(Ok(outputs)) => outputs,
                    specialised => {
                        if specialised.is_some() {
                            cache.refuse(&feed);
                        }
                        match run(plan.clone(), feed.clone()) {
                            Ok(outputs) => outputs,
                            Err(first) => {
                                // From now on this model runs per-shape plans, if they work.
                                let outputs = cache
                                    .plan_for(&feed, &self.limits)
                                    .and_then(|p| run(p, feed))
                                    .map_err(|_| first.clone())?;
                                *lock(failed) = Some(match first {
                                    EngineError::Inference { reason } => reason,
                                    other => other.to_string(),
                                });
                                outputs
                            }
                        }
                    }
                },
                None => run(plan.clone(), feed)?,
            },
        };
        if outputs.len() != self.schema.outputs.len() {
            return Err(EngineError::Inference {
                reason: format!(
                    "the plan returned {} outputs, the graph declares {}",
                    outputs.len(),
                    self.schema.outputs.len()
                ),
            });
        }
        outputs
            .into_iter()
            .zip(&self.schema.outputs)
            .map(|(value, spec)| {
                Ok(NamedTensor {
                    name: spec.name.clone(),
                    tensor: from_tract(&value)?,
                })
            })
            .collect()
    }

    fn input_names(&self) -> String {
        let names: Vec<String> = self
            .schema
            .inputs
            .iter()
            .map(|s| format!("`{}`", s.name))
            .collect();
        names.join(", ")
    }

    fn check_input(
        &self,
        spec: &TensorSpec,
        tensor: &Tensor,
        symbols: &mut HashMap<String, usize>,
    ) -> Result<(), EngineError> {
        let got = || {
            let dims: Vec<String> = tensor.shape.iter().map(|d| d.to_string()).collect();
            format!("{}[{}]", tensor.dtype(), dims.join(", "))
        };
        let mismatch = |expected: String, got: String| EngineError::SchemaMismatch {
            what: format!("input `{}`", spec.name),
            expected,
            got,
        };
        if tensor.dtype() != spec.dtype || tensor.shape.len() != spec.shape.len() {
            return Err(mismatch(spec.to_string(), got()));
        }
        for (&n, dim) in tensor.shape.iter().zip(&spec.shape) {
            match dim {
                Dim::Fixed(want) if n as u64 != *want => {
                    return Err(mismatch(spec.to_string(), got()));
                }
                Dim::Symbol(sym) if sym != Dim::ANY => {
                    let bound = *symbols.entry(sym.clone()).or_insert(n);
                    if bound != n {
                        return Err(mismatch(
                            format!("{spec} with {sym} = {bound} as in the other inputs"),
                            got(),
                        ));
                    }
                }
                Dim::Fixed(_) | Dim::Symbol(_) => {}
            }
        }
        let elements = tensor
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .unwrap_or(u64::MAX);
        if elements > self.limits.max_tensor_elements {
            return Err(EngineError::LimitExceeded {
                what: format!("input `{}` element count", spec.name),
                got: elements,
                limit: self.limits.max_tensor_elements,
            });
        }
        if tensor.data.len() as u64 != elements {
            return Err(mismatch(
                format!("{elements} elements for shape {:?}", tensor.shape),
                format!("{} elements", tensor.data.len()),
            ));
        }
        Ok(())
    }
}

/// Moves a checked tensor into tract without copying its buffer.
fn to_tract(t: Tensor) -> Result<TractTensor, EngineError> {
    fn arr<T: tract_onnx::prelude::Datum>(
        shape: Vec<usize>,
        v: Vec<T>,
    ) -> Result<TractTensor, EngineError> {
        ArrayD::from_shape_vec(IxDyn(&shape), v)
            .map(IntoTensor::into_tensor)
            .map_err(|e| EngineError::SchemaMismatch {
                what: "input data".into(),
                expected: format!("data matching shape {shape:?}"),
                got: e.to_string(),
            })
    }
    match t.data {
        TensorData::F32(v) => arr(t.shape, v),
        TensorData::F64(v) => arr(t.shape, v),
        TensorData::I32(v) => arr(t.shape, v),
        TensorData::I64(v) => arr(t.shape, v),
        TensorData::U8(v) => arr(t.shape, v),
        TensorData::I8(v) => arr(t.shape, v),
        TensorData::F16(v) => arr(t.shape, v.into_iter().map(f16::from_bits).collect()),
        TensorData::Bool(v) => arr(t.shape, v),
    }
}

fn from_tract(t: &TractTensor) -> Result<Tensor, EngineError> {
    fn vec<T: tract_onnx::prelude::Datum + Copy>(t: &TractTensor) -> Result<Vec<T>, EngineError> {
        let view = t
            .to_plain_array_view::<T>()
            .map_err(|e| EngineError::Inference {
                reason: tract_reason(&e),
            })?;
        Ok(match view.as_slice() {
            Some(s) => s.to_vec(),
            None => view.iter().copied().collect(),
        })
    }
    let shape = t.shape().to_vec();
    let data = match dtype_of(t.datum_type(), "an output")? {
        DType::F32 => TensorData::F32(vec(t)?),
        DType::F64 => TensorData::F64(vec(t)?),
        DType::I32 => TensorData::I32(vec(t)?),
        DType::I64 => TensorData::I64(vec(t)?),
        DType::U8 => TensorData::U8(vec(t)?),
        DType::I8 => TensorData::I8(vec(t)?),
        DType::F16 => TensorData::F16(vec::<f16>(t)?.into_iter().map(f16::to_bits).collect()),
        DType::Bool => TensorData::Bool(vec(t)?),
    };
    Ok(Tensor { shape, data })
}

/// Runs the static constructors of a wasm32 module (tract-linalg registers its compute kernels
/// in them) once per instance; natively they ran before `main` and this does nothing.
///
/// Why explicit: when nothing calls `__wasm_call_ctors`, wasm-ld wraps *every* export of the
/// module in a call to it, so each call from JavaScript (`model.run`, even `version()`) ran
/// them all again: about 2.8 µs per call and most of a small model's inference time. The wasm
/// start function calls this first; so does every model decode, for hosts that do not run the
/// start function (wasm-bindgen-test).
pub fn run_static_constructors() {
    #[cfg(target_arch = "wasm32")]
    {
        use std::sync::atomic::{AtomicBool, Ordering};
        static DONE: AtomicBool = AtomicBool::new(false);
        if !DONE.swap(true, Ordering::Relaxed) {
            // SAFETY: `__wasm_call_ctors` is the linker-generated function that runs the
            // module's static constructors; it takes and returns nothing, and the flag above
            // makes it run once per instance (an instance's memory, flag included, is fresh).
            unsafe { __wasm_call_ctors() };
        }
    }
}

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// Generated by wasm-ld: calls every static constructor of the module.
    fn __wasm_call_ctors();
}
