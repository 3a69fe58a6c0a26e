//! tract with its known panics and hangs on hostile graphs taken out.
//!
//! tract 0.23.9 trusts many node attributes: an axis out of range for its input's rank, a
//! kernel shape whose length disagrees with the input's, a block size of zero. It then indexes
//! out of bounds, unwraps `None`, divides by zero, or loops for 2^64 iterations (negative axes
//! cast to `usize`) during type analysis. Natively the engine's `guard` catches a panic (not a
//! hang); in wasm either kills or freezes the instance. Found by the `onnx_model` fuzz target
//! (`ArgMax` with `axis = 1` on a rank-1 tensor, tract-hir's `Reduce::must_reduce` unwrapping)
//! and then by a sweep of every operator with out-of-range attributes (`tests/operator_sweep.rs`).
//!
//! The rank is only known during tract's own analysis, so these checks cannot be a pre-scan of
//! the protobuf: [`framework`] registers the operators of [`RULES`] through [`Checked`], a
//! wrapper that checks the node's attributes against its first input's rank each time tract
//! infers the node's facts, before the wrapped operator sees them, and refuses the graph with an
//! error (`BAD_MODEL`) instead. Only explicitly given attributes are checked (defaults are
//! tract's business), with the ranges the ONNX specification gives.
//!
//! Why before is enough: tract's rules reach the attribute only once the input's rank (or its
//! whole shape) is known, and a node's own rules never derive its input's rank from nothing; so
//! the rank is known when the wrapper checks. Axes given as an input are checked once that
//! input's value is known, which is also before tract's rules can use them.

use std::sync::OnceLock;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::prelude::{Datum, Op, TValue, TVec, TractResult};
use tract_onnx::tract_hir::infer::{InferenceFact, InferenceModel, InferenceNode, InferenceOp};
use tract_onnx::tract_hir::internal::{
    EvalContext, EvalOp, Factoid, InferenceModelPatch, OpState, OutletId, StaticName, TypedModel,
    TypedOp, Validation,
};
use tract_onnx::Onnx;

/// A node that breaks one of [`RULES`]: the graph is malformed whatever its input sizes, so the
/// engine refuses it at load time (even when the graph would otherwise be planned per input
/// shape). Found in an error's chain with `downcast_ref`.
#[derive(Debug)]
pub(super) struct RuleViolation(pub String);

impl std::fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleViolation {}

/// `bail!` with a [`RuleViolation`].
macro_rules! violation {
    ($($t:tt)*) => {
        return Err(tract_onnx::prelude::TractError::new(RuleViolation(format!($($t)*))))
    };
}

/// Whether a tract error comes from a [`RuleViolation`].
pub(super) fn is_violation(e: &tract_onnx::prelude::TractError) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<RuleViolation>().is_some())
}

/// What builds one operator from its ONNX node (tract's `OpBuilder`).
type Builder =
    fn(&ParsingContext, &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// What one operator's attributes must satisfy, relative to the rank `r` of its first input.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Integer attribute(s) `name` (one or a list) are axes in `[-r, r - 1]`.
    Axes(&'static str),
    /// `Flatten`'s `axis`: in `[-r, r]`.
    AxisInclusive(&'static str),
    /// `OneHot`'s `axis`: in `[-r - 1, r]` (the output has one more axis).
    AxisOfOutputPlusOne(&'static str),
    /// `Unsqueeze`'s axes (attribute or input 1): in `[-(r + n), r + n - 1]`, `n` of them.
    UnsqueezeAxes,
    /// Axes given as the value of input `i`, in `[-r, r - 1]`.
    AxesInput(usize),
    /// `perm` is a permutation of `0..r`.
    Permutation,
    /// The input's rank is at least this.
    MinRank(i64),
    /// The input's rank is exactly this.
    Rank(i64),
    /// Integer attribute(s) `name`, when given, are at least 1.
    Positive(&'static str),
    /// The node has between `min` and `max` inputs (checked when the node is built).
    Inputs(usize, usize),
    /// `Resize` before opset 13 has all its inputs: 2 at opset 10, 3 or 4 at 11 and 12.
    ResizeInputs,
    /// tract's integer matrix products need the larger of inputs 0 and 1 to have rank 2 or more
    /// (with two vectors its einsum wiring computes `rank - 2`).
    MatMulRanks,
    /// Input `i`'s value, when known (tract folds constants while it analyses the graph), is
    /// the shape of a tensor tract will allocate: no negative size, at most [`MAX_ELEMENTS`].
    ShapeValue(usize),
    /// `Expand`: the broadcast of input 0's shape and input 1's value within [`MAX_ELEMENTS`].
    BroadcastValue,
    /// `Tile`: input 0's shape times input 1's repeats within [`MAX_ELEMENTS`], none negative.
    RepeatsValue,
    /// `Range`: a non-zero step and at most [`MAX_ELEMENTS`] values.
    RangeValue,
    /// `Pad`: the padded shape (pads as input 1, or the `pads` attribute before opset 11) has
    /// `2 r` entries, no negative size, at most [`MAX_ELEMENTS`] elements.
    PadsValue,
    /// Input `i` is a scalar size (window length, one-hot depth) of at most [`MAX_ELEMENTS`].
    SizeValue(usize),
    /// `Gather`, `Scatter`, `ScatterElements` and `ArrayFeatureExtractor`: known indices (input 1) are within input 0's axis
    /// (`axis`, or the last axis when `None`).
    IndicesValue(Option<&'static str>),
    /// Integer `Div` and `Mod`: a known divisor (input 1) has no zero.
    DivisorValue,
    /// `Split`: the sizes (the `split` attribute, or input 1's value) are one per output, none
    /// negative, and add up to the split axis (tract sums them as `usize`, which wraps on
    /// wasm32 and made more outputs than the node has).
    SplitSizes,
    /// Inputs 0 and 1, when both types are known, have the same element type.
    SameType,
    /// Convolution and pooling: `kernel_shape`, `strides`, `dilations` (and `output_padding`,
    /// `output_shape`) have `r - 2` entries, `pads` has `2 (r - 2)`, none negative.
    Spatial,
}

use Rule::*;

/// The operators tract registers that need checks, and their rules. The ten reductions and
/// `ArgMax`/`ArgMin` go through `Reduce::must_reduce`.
const RULES: &[(&str, &[Rule])] = &[
    ("ArgMax", &[Axes("axis")]),
    ("ArgMin", &[Axes("axis")]),
    ("ReduceL1", &[Axes("axes"), AxesInput(1)]),
    ("ReduceL2", &[Axes("axes"), AxesInput(1)]),
    ("ReduceLogSum", &[Axes("axes"), AxesInput(1)]),
    ("ReduceLogSumExp", &[Axes("axes"), AxesInput(1)]),
    ("ReduceMax", &[Axes("axes"), AxesInput(1)]),
    ("ReduceMean", &[Axes("axes"), AxesInput(1)]),
    ("ReduceMin", &[Axes("axes"), AxesInput(1)]),
    ("ReduceProd", &[Axes("axes"), AxesInput(1)]),
    ("ReduceSum", &[Axes("axes"), AxesInput(1)]),
    ("ReduceSumSquare", &[Axes("axes"), AxesInput(1)]),
    ("Compress", &[Axes("axis")]),
    ("Concat", &[Axes("axis")]),
    ("CumSum", &[AxesInput(1)]),
    ("DFT", &[Axes("axis")]),
    ("Flatten", &[AxisInclusive("axis")]),
    ("Gather", &[Axes("axis"), IndicesValue(Some("axis"))]),
    ("GatherElements", &[Axes("axis")]),
    ("Hardmax", &[Axes("axis")]),
    ("LayerNormalization", &[Axes("axis")]),
    ("LogSoftmax", &[Axes("axis")]),
    ("LpNormalization", &[Axes("axis")]),
    ("MeanVarianceNormalization", &[Axes("axes")]),
    ("OneHot", &[AxisOfOutputPlusOne("axis"), SizeValue(1)]),
    ("Scatter", &[Axes("axis"), IndicesValue(Some("axis"))]),
    (
        "ScatterElements",
        &[Axes("axis"), IndicesValue(Some("axis"))],
    ),
    ("Trilu", &[MinRank(2)]),
    ("Slice", &[Axes("axes"), AxesInput(3)]),
    ("Softmax", &[Axes("axis")]),
    ("Split", &[Axes("axis"), SplitSizes]),
    ("Squeeze", &[Axes("axes"), AxesInput(1)]),
    ("TopK", &[Axes("axis")]),
    ("Transpose", &[Inputs(1, 1), Permutation]),
    ("Unsqueeze", &[UnsqueezeAxes]),
    ("DepthToSpace", &[Rank(4), Positive("blocksize")]),
    ("SpaceToDepth", &[Rank(4), Positive("blocksize")]),
    ("AveragePool", &[MinRank(3), Spatial]),
    ("MaxPool", &[MinRank(3), Spatial]),
    ("Conv", &[MinRank(3), Spatial, Positive("group")]),
    ("ConvInteger", &[MinRank(3), Spatial, Positive("group")]),
    ("ConvTranspose", &[MinRank(3), Spatial, Positive("group")]),
    (
        "QLinearConv",
        &[Inputs(8, 9), MinRank(3), Spatial, Positive("group")],
    ),
    ("GlobalAveragePool", &[MinRank(3)]),
    ("GlobalLpPool", &[MinRank(3)]),
    ("GlobalMaxPool", &[MinRank(3)]),
    ("Resize", &[ResizeInputs]),
    ("ConstantOfShape", &[ShapeValue(0)]),
    ("Expand", &[BroadcastValue]),
    ("Tile", &[RepeatsValue]),
    ("Range", &[RangeValue]),
    ("Pad", &[PadsValue]),
    ("HannWindow", &[SizeValue(0)]),
    ("HammingWindow", &[SizeValue(0)]),
    ("BlackmanWindow", &[SizeValue(0)]),
    ("ArrayFeatureExtractor", &[IndicesValue(None)]),
    ("Div", &[DivisorValue]),
    ("Mod", &[DivisorValue]),
    ("MatMulInteger", &[MatMulRanks]),
    ("QLinearMatMul", &[MatMulRanks]),
    // Contrib operators tract accepts in the default domain.
    ("BiasGelu", &[Inputs(2, 2), SameType]),
    ("FastGelu", &[Inputs(1, 2), SameType]),
    ("GatherBlockQuantized", &[MinRank(2)]),
];

/// The most elements of a tensor whose size comes from a value in the graph (the engine's
/// default `max_tensor_elements`).
pub(super) const MAX_ELEMENTS: u64 = 1 << 28;

/// The value of `fact` as `T`, when known and convertible (a symbolic dimension is not).
fn value_as<T: Datum + Copy>(fact: Option<&&InferenceFact>) -> Option<Vec<T>> {
    let value = fact?.value.concretize()?;
    let cast = value.cast_to::<T>().ok()?;
    Some(cast.try_as_plain_ram().ok()?.as_slice::<T>().ok()?.to_vec())
}

/// The value of `fact`, when known and integer.
fn int_value(fact: Option<&&InferenceFact>) -> Option<Vec<i64>> {
    value_as::<i64>(fact)
}

/// The shape of `fact`, when every dimension is a known integer.
fn int_shape(fact: Option<&&InferenceFact>) -> Option<Vec<i64>> {
    let shape = fact?.shape.concretize()?;
    shape.iter().map(|d| d.to_i64().ok()).collect()
}

/// Refuses `dims` with a negative size or more than [`MAX_ELEMENTS`] elements.
fn bounded(name: &str, what: &str, dims: &[i64]) -> TractResult<()> {
    if let Some(d) = dims.iter().find(|&&d| d < 0) {
        violation!("{name}: {what} has a negative size {d}")
    }
    let elements = dims
        .iter()
        .fold(1u64, |n, &d| n.saturating_mul(d.unsigned_abs()));
    if elements > MAX_ELEMENTS {
        violation!("{name}: {what} would have {elements} elements, the limit is {MAX_ELEMENTS}")
    }
    Ok(())
}

/// tract's ONNX framework as shipped: where the wrappers find the operators they wrap.
fn stock() -> &'static Onnx {
    static STOCK: OnceLock<Onnx> = OnceLock::new();
    STOCK.get_or_init(tract_onnx::onnx)
}

/// The framework the engine parses with: tract's, with the operators of [`RULES`] checked by
/// [`Checked`]. Built once.
pub(super) fn framework() -> &'static Onnx {
    static CHECKED: OnceLock<Onnx> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let mut onnx = stock().clone();
        for (op, _) in RULES {
            if onnx.op_register.0.contains_key(*op) {
                onnx.op_register.insert(op, checked as Builder);
            }
        }
        onnx.op_register
            .insert("If", super::control_flow::build_if as Builder);
        onnx.op_register
            .insert("Loop", super::loop_op::build_loop as Builder);
        onnx.op_register
            .insert("Expand", super::expand::build_expand as Builder);
        onnx.op_register
            .insert(super::quant::OP_TYPE, super::quant::build as Builder);
        onnx
    })
}

/// [`framework`], ignoring the graph's `value_info` (intermediate shapes, often symbolic), for
/// per-shape plans.
pub(super) fn framework_without_value_info() -> &'static Onnx {
    static PLAIN: OnceLock<Onnx> = OnceLock::new();
    PLAIN.get_or_init(|| framework().clone().with_ignore_value_info(true))
}

/// Builds the node with tract's own builder and wraps the result with the node's rules and
/// the integer attributes they read.
pub(super) fn checked(
    ctx: &ParsingContext,
    node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (Some(build), Some((_, rules))) = (
        stock().op_register.0.get(&node.op_type),
        RULES.iter().find(|(op, _)| *op == node.op_type),
    ) else {
        violation!("operator {} is not registered", node.op_type)
    };
    let inputs = node.input.len();
    for rule in *rules {
        let (min, max) = match *rule {
            Inputs(min, max) => (min, max),
            ResizeInputs if ctx.onnx_operator_set_version == 10 => (2, 2),
            ResizeInputs if ctx.onnx_operator_set_version < 13 => (3, 4),
            _ => continue,
        };
        if inputs < min || inputs > max {
            violation!(
                "{} has {inputs} inputs; it takes {}",
                node.op_type,
                if min == max {
                    min.to_string()
                } else {
                    format!("{min} to {max}")
                }
            )
        }
    }
    let (inner, closures) = build(ctx, node)?;
    let attributes = node
        .attribute
        .iter()
        .filter(|a| a.i != 0 || !a.ints.is_empty() || a.r#type == INT || a.r#type == INTS)
        .map(|a| {
            let mut values = a.ints.clone();
            if a.ints.is_empty() && a.r#type != INTS {
                values.push(a.i);
            }
            (a.name.clone(), values)
        })
        .collect();
    let op = Checked {
        inner,
        rules,
        attributes,
        outputs: node.output.len(),
    };
    Ok((Box::new(op), closures))
}

const INT: i32 = pb::attribute_proto::AttributeType::Int as i32;
const INTS: i32 = pb::attribute_proto::AttributeType::Ints as i32;

/// An operator tract built, with [`Rule`]s its attributes must satisfy; everything but the
/// check is the wrapped operator's.
#[derive(Debug, Clone)]
pub(super) struct Checked {
    inner: Box<dyn InferenceOp>,
    rules: &'static [Rule],
    /// The node's integer attributes, by name (a single `i` as a list of one).
    attributes: Vec<(String, Vec<i64>)>,
    /// How many outputs the node declares.
    outputs: usize,
}

// tract compares operators to merge duplicates in typed models; this one never reaches a typed
// model (its `to_typed` wires the wrapped operator), so no two are ever equal.
impl PartialEq for Checked {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
impl Eq for Checked {}

/// The first of `values` outside `[lo, hi]`.
fn outside(values: &[i64], lo: i64, hi: i64) -> Option<i64> {
    values.iter().copied().find(|&a| a < lo || a > hi)
}

impl Checked {
    fn attribute(&self, name: &str) -> Option<&[i64]> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The rules on values tract folds while it analyses the graph: they hold whatever the
    /// rank, and must be checked before tract evaluates the node on them.
    fn check_values(&self, inputs: &[&InferenceFact]) -> TractResult<()> {
        let name = self.inner.name();
        for rule in self.rules {
            match *rule {
                ShapeValue(i) => {
                    if let Some(dims) = int_value(inputs.get(i)) {
                        bounded(&name, "the output", &dims)?;
                    }
                }
                BroadcastValue => broadcast_value(&name, inputs)?,
                RepeatsValue => repeats_value(&name, inputs)?,
                RangeValue => range_value(&name, inputs)?,
                // With `axes` (input 3, opset 18) the pads cover only those axes; left to tract.
                PadsValue if inputs.len() > 3 => {}
                PadsValue => self.pads_value(&name, inputs)?,
                SizeValue(i) => {
                    if let Some(size) = int_value(inputs.get(i)) {
                        let elements = int_shape(inputs.first()).map_or(1, |s| {
                            s.iter().fold(1i64, |n, d| n.saturating_mul(*d)).max(1)
                        });
                        for n in size {
                            bounded(&name, "the output", &[n, elements])?;
                        }
                    }
                }
                IndicesValue(attr) => self.indices_value(&name, attr, inputs)?,
                SplitSizes => self.split_sizes(&name, inputs)?,
                SameType => {
                    let dt = |i: usize| inputs.get(i).and_then(|f| f.datum_type.concretize());
                    if let (Some(a), Some(b)) = (dt(0), dt(1)) {
                        if a != b {
                            violation!(
                                "{name}: inputs of types {a:?} and {b:?}, one type is needed"
                            )
                        }
                    }
                }
                DivisorValue => {
                    let integer = inputs
                        .get(1)
                        .and_then(|f| f.value.concretize())
                        .is_some_and(|v| v.datum_type().is_integer());
                    if integer && int_value(inputs.get(1)).is_some_and(|v| v.contains(&0)) {
                        violation!("{name}: integer division by zero")
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `axis` attribute (default 0), made non-negative for rank `r`.
    fn axis(&self, attr: &str, default: i64, r: i64) -> i64 {
        let axis = self
            .attribute(attr)
            .and_then(|v| v.first().copied())
            .unwrap_or(default);
        if axis < 0 {
            axis + r
        } else {
            axis
        }
    }

    fn pads_value(&self, name: &str, inputs: &[&InferenceFact]) -> TractResult<()> {
        let pads = self
            .attribute("pads")
            .map(<[i64]>::to_vec)
            .or_else(|| int_value(inputs.get(1)));
        let (Some(pads), Some(input)) = (pads, int_shape(inputs.first())) else {
            return Ok(());
        };
        let r = input.len();
        if pads.len() != 2 * r {
            violation!(
                "{name}: {} pads for an input of rank {r}, {} are needed",
                pads.len(),
                2 * r
            )
        }
        let out: Vec<i64> = input
            .iter()
            .zip(pads.iter().zip(pads.iter().skip(r)))
            .map(|(d, (b, e))| d.saturating_add(*b).saturating_add(*e))
            .collect();
        bounded(name, "the output", &out)
    }

    fn indices_value(
        &self,
        name: &str,
        attr: Option<&str>,
        inputs: &[&InferenceFact],
    ) -> TractResult<()> {
        let (Some(indices), Some(shape)) = (int_value(inputs.get(1)), int_shape(inputs.first()))
        else {
            return Ok(());
        };
        let r = shape.len() as i64;
        let axis = match attr {
            Some(a) => self.axis(a, 0, r),
            None => r - 1,
        };
        let Some(&n) = usize::try_from(axis).ok().and_then(|a| shape.get(a)) else {
            violation!("{name}: axis {axis} is out of range for an input of rank {r}")
        };
        if let Some(i) = indices.iter().find(|&&i| i < -n || i >= n) {
            violation!("{name}: index {i} is out of range for an axis of size {n}")
        }
        Ok(())
    }

    fn split_sizes(&self, name: &str, inputs: &[&InferenceFact]) -> TractResult<()> {
        let sizes = match self.attribute("split") {
            Some(v) => Some(v.to_vec()),
            None => int_value(inputs.get(1)),
        };
        let Some(sizes) = sizes else {
            return Ok(());
        };
        if sizes.len() != self.outputs {
            violation!(
                "{name}: {} split sizes for {} outputs",
                sizes.len(),
                self.outputs
            )
        }
        bounded(name, "a split", &sizes)?;
        if let Some(shape) = int_shape(inputs.first()) {
            let axis = self.axis("axis", 0, shape.len() as i64);
            let dim = usize::try_from(axis).ok().and_then(|a| shape.get(a));
            let total = sizes.iter().fold(0i64, |t, s| t.saturating_add(*s));
            if let Some(&dim) = dim {
                if total != dim {
                    violation!("{name}: split sizes add up to {total}, the axis has {dim}")
                }
            }
        }
        Ok(())
    }

    fn check(&self, inputs: &[&InferenceFact]) -> TractResult<()> {
        self.check_values(inputs)?;
        let Some(r) = inputs.first().and_then(|f| f.shape.rank().concretize()) else {
            return Ok(());
        };
        let name = self.inner.name();
        let axis_error = |axis: i64| -> TractResult<()> {
            violation!("{name}: axis {axis} is out of range for an input of rank {r}")
        };
        let input_axes =
            |i: usize| -> TractResult<Option<Vec<i64>>> { Ok(int_value(inputs.get(i))) };
        for rule in self.rules {
            match *rule {
                Axes(attr) => {
                    if let Some(a) = self.attribute(attr).and_then(|v| outside(v, -r, r - 1)) {
                        return axis_error(a);
                    }
                }
                AxisInclusive(attr) => {
                    if let Some(a) = self.attribute(attr).and_then(|v| outside(v, -r, r)) {
                        return axis_error(a);
                    }
                }
                AxisOfOutputPlusOne(attr) => {
                    if let Some(a) = self.attribute(attr).and_then(|v| outside(v, -r - 1, r)) {
                        return axis_error(a);
                    }
                }
                UnsqueezeAxes => {
                    let axes = match self.attribute("axes") {
                        Some(v) => Some(v.to_vec()),
                        None => input_axes(1)?,
                    };
                    if let Some(axes) = axes {
                        let out = r.saturating_add(axes.len() as i64);
                        if let Some(a) = outside(&axes, -out, out - 1) {
                            violation!(
                                "{name}: axis {a} is out of range for an output of rank {out}"
                            )
                        }
                    }
                }
                AxesInput(i) => {
                    if let Some(a) = input_axes(i)?.and_then(|v| outside(&v, -r, r - 1)) {
                        return axis_error(a);
                    }
                }
                Permutation => {
                    if let Some(perm) = self.attribute("perm") {
                        let mut sorted = perm.to_vec();
                        sorted.sort_unstable();
                        if !sorted.iter().copied().eq(0..r) {
                            violation!("{name}: perm {perm:?} is not a permutation of the {r} axes of its input")
                        }
                    }
                }
                MinRank(min) => {
                    if r < min {
                        violation!("{name}: the input has rank {r}, at least {min} is needed")
                    }
                }
                Rank(want) => {
                    if r != want {
                        violation!("{name}: the input has rank {r}, {want} is needed")
                    }
                }
                Positive(attr) => {
                    if let Some(v) = self.attribute(attr).and_then(|v| outside(v, 1, i64::MAX)) {
                        violation!("{name}: {attr} is {v}, it must be at least 1")
                    }
                }
                Inputs(..) | ResizeInputs => {}
                ShapeValue(_) | BroadcastValue | RepeatsValue | RangeValue | PadsValue
                | SizeValue(_) | IndicesValue(_) | DivisorValue | SameType | SplitSizes => {}
                MatMulRanks => {
                    let rank = |i: usize| inputs.get(i).and_then(|f| f.shape.rank().concretize());
                    let b = if name.starts_with("QLinear") { 3 } else { 1 };
                    if let Some(rb) = rank(b) {
                        if r.max(rb) < 2 {
                            violation!(
                                "{name}: two vectors; at least one input of rank 2 is needed"
                            )
                        }
                    }
                }
                Spatial => {
                    let spatial = r - 2;
                    for (attr, len, min) in [
                        ("kernel_shape", spatial, 1),
                        ("strides", spatial, 1),
                        ("dilations", spatial, 1),
                        ("output_padding", spatial, 0),
                        ("output_shape", spatial, 0),
                        ("pads", 2 * spatial, 0),
                    ] {
                        let Some(v) = self.attribute(attr) else {
                            continue;
                        };
                        if v.len() as i64 != len {
                            violation!("{name}: {attr} has {} entries, the input's {spatial} spatial axes need {len}", v.len())
                        }
                        if let Some(x) = outside(v, min, i64::MAX) {
                            violation!("{name}: {attr} has {x}, at least {min} is needed")
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Op for Checked {
    fn name(&self) -> StaticName {
        self.inner.name()
    }
    fn validation(&self) -> Validation {
        self.inner.validation()
    }
    fn info(&self) -> TractResult<Vec<String>> {
        self.inner.info()
    }
    fn as_typed(&self) -> Option<&dyn TypedOp> {
        None
    }
}

impl EvalOp for Checked {
    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        self.inner.eval(ctx, inputs)
    }
    fn forwards_input(&self) -> Option<usize> {
        self.inner.forwards_input()
    }
    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        self.inner.eval_out_of_plan(inputs)
    }
    fn state(&self, ctx: &EvalContext) -> TractResult<Option<Box<dyn OpState>>> {
        self.inner.state(ctx)
    }
}

/// What an inference operator's fact inference returns: inputs, outputs, observed.
pub(super) type Facts = (
    TVec<InferenceFact>,
    TVec<InferenceFact>,
    TVec<InferenceFact>,
);

impl InferenceOp for Checked {
    fn infer(
        &mut self,
        inputs: TVec<&InferenceFact>,
        outputs: TVec<&InferenceFact>,
        observed: TVec<&InferenceFact>,
    ) -> TractResult<Facts> {
        self.check(&inputs)?;
        self.inner.infer(inputs, outputs, observed)
    }
    fn infer_facts(
        &mut self,
        inputs: TVec<&InferenceFact>,
        outputs: TVec<&InferenceFact>,
        observed: TVec<&InferenceFact>,
    ) -> TractResult<Facts> {
        self.check(&inputs)?;
        self.inner.infer_facts(inputs, outputs, observed)
    }
    fn observe_outlets(
        &self,
        model: &InferenceModel,
        node: &InferenceNode,
    ) -> TractResult<Vec<OutletId>> {
        self.inner.observe_outlets(model, node)
    }
    fn incorporate(
        &self,
        model: &InferenceModel,
        node: &InferenceNode,
    ) -> TractResult<Option<InferenceModelPatch>> {
        self.inner.incorporate(model, node)
    }
    fn nboutputs(&self) -> TractResult<usize> {
        self.inner.nboutputs()
    }
    fn as_op(&self) -> &dyn Op {
        self
    }
    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }
    fn to_typed(
        &self,
        source: &InferenceModel,
        node: &InferenceNode,
        target: &mut TypedModel,
        mapping: &std::collections::HashMap<OutletId, OutletId>,
    ) -> TractResult<TVec<OutletId>> {
        self.inner.to_typed(source, node, target, mapping)
    }
}

/// `Expand`'s shape input: the shape and the broadcast output within the limits.
fn broadcast_value(name: &str, inputs: &[&InferenceFact]) -> TractResult<()> {
    let Some(dims) = int_value(inputs.get(1)) else {
        return Ok(());
    };
    bounded(name, "the shape", &dims)?;
    if let Some(input) = int_shape(inputs.first()) {
        let rank = dims.len().max(input.len());
        let at = |v: &[i64], k: usize| {
            (k + v.len())
                .checked_sub(rank)
                .and_then(|j| v.get(j))
                .copied()
                .unwrap_or(1)
        };
        let out: Vec<i64> = (0..rank).map(|k| at(&dims, k).max(at(&input, k))).collect();
        bounded(name, "the output", &out)?;
    }
    Ok(())
}

/// `Tile`'s repeats: the repeats and the tiled output within the limits.
fn repeats_value(name: &str, inputs: &[&InferenceFact]) -> TractResult<()> {
    let Some(repeats) = int_value(inputs.get(1)) else {
        return Ok(());
    };
    bounded(name, "the repeats", &repeats)?;
    if let Some(input) = int_shape(inputs.first()) {
        let out: Vec<i64> = input
            .iter()
            .zip(&repeats)
            .map(|(d, r)| d.saturating_mul(*r))
            .collect();
        bounded(name, "the output", &out)?;
    }
    Ok(())
}

/// `Range`: a finite, non-zero step and at most `MAX_ELEMENTS` values.
fn range_value(name: &str, inputs: &[&InferenceFact]) -> TractResult<()> {
    let scalar = |i| value_as::<f64>(inputs.get(i)).and_then(|v| v.first().copied());
    if let (Some(start), Some(limit), Some(delta)) = (scalar(0), scalar(1), scalar(2)) {
        if delta == 0.0 || !delta.is_finite() {
            violation!("{name}: the step is {delta}")
        }
        let count = ((limit - start) / delta).ceil();
        if count.is_nan() || count > MAX_ELEMENTS as f64 {
            violation!("{name}: {count} values, the limit is {MAX_ELEMENTS}")
        }
    }
    Ok(())
}
