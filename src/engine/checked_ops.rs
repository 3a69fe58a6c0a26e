//! tract with its known panics on hostile graphs taken out.
//!
//! tract-hir 0.23.9's `Reduce::must_reduce` resolves a reduction's axes with `unwrap()`, so a
//! `ReduceX`, `ArgMax` or `ArgMin` node whose axis is out of range for its input's rank panics
//! during type analysis (found by the `onnx_model` fuzz target: an `ArgMax` with `axis = 1` on a
//! rank-1 tensor). Natively the engine's `guard` catches that; in wasm it kills the instance.
//! The rank is only known during tract's own analysis, so the check cannot be a pre-scan of the
//! protobuf: [`framework`] registers these operators through [`AxesChecked`], a wrapper that
//! checks the axes against the input rank each time tract infers the node's facts, before the
//! wrapped operator sees them, and refuses the graph with an error instead.
//!
//! Why before is enough: tract only reaches `must_reduce` once the input's whole shape (hence its
//! rank) and, for axes given as an input, that input's value are known, and the node's own rules
//! never derive either of them; so they are known when the wrapper checks.

use std::sync::OnceLock;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::prelude::{Op, TValue, TVec, TractResult};
use tract_onnx::tract_hir::infer::{InferenceFact, InferenceModel, InferenceNode, InferenceOp};
use tract_onnx::tract_hir::internal::{
    bail, EvalContext, EvalOp, Factoid, InferenceModelPatch, OpState, OutletId, StaticName,
    TypedModel, TypedOp, Validation,
};
use tract_onnx::Onnx;

/// What builds one operator from its ONNX node (tract's `OpBuilder`).
type Builder =
    fn(&ParsingContext, &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// The reductions that go through `Reduce::must_reduce`.
const REDUCTIONS: [&str; 10] = [
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
];

/// tract's ONNX framework as shipped: where the wrappers find the operators they wrap.
fn stock() -> &'static Onnx {
    static STOCK: OnceLock<Onnx> = OnceLock::new();
    STOCK.get_or_init(tract_onnx::onnx)
}

/// The framework the engine parses with: tract's, with the reductions and `ArgMax`/`ArgMin`
/// checked by [`AxesChecked`]. Built once.
pub(super) fn framework() -> &'static Onnx {
    static CHECKED: OnceLock<Onnx> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let mut onnx = stock().clone();
        for op in REDUCTIONS.into_iter().chain(["ArgMax", "ArgMin"]) {
            onnx.op_register.insert(op, checked as Builder);
        }
        onnx
    })
}

/// Builds the node with tract's own builder and wraps the result.
fn checked(
    ctx: &ParsingContext,
    node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let Some(build) = stock().op_register.0.get(&node.op_type) else {
        bail!("operator {} is not registered", node.op_type)
    };
    let (inner, closures) = build(ctx, node)?;
    let attribute = |name: &str| node.attribute.iter().find(|a| a.name == name);
    let axes = if node.op_type.starts_with("Arg") {
        // ArgMax/ArgMin: one `axis`, default 0.
        vec![attribute("axis").map_or(0, |a| a.i)]
    } else {
        attribute("axes")
            .map(|a| a.ints.clone())
            .unwrap_or_default()
    };
    let op = AxesChecked {
        inner,
        axes,
        // From opset 13 (ReduceSum) or 18 (the others) the axes may come as a second input.
        axes_input: node.input.len() > 1 && !node.op_type.starts_with("Arg"),
    };
    Ok((Box::new(op), closures))
}

/// An operator whose axes must be in range for its first input's rank, wrapping the operator
/// tract built for the node; everything but the check is the wrapped operator's.
#[derive(Debug, Clone)]
pub(super) struct AxesChecked {
    inner: Box<dyn InferenceOp>,
    /// Axes given as attributes.
    axes: Vec<i64>,
    /// Whether the second input holds more axes.
    axes_input: bool,
}

// tract compares operators to merge duplicates in typed models; this one never reaches a typed
// model (its `to_typed` wires the wrapped operator), so no two are ever equal.
impl PartialEq for AxesChecked {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
impl Eq for AxesChecked {}

fn out_of_range(axes: &[i64], rank: i64) -> Option<i64> {
    axes.iter().copied().find(|&a| a < -rank || a >= rank)
}

impl AxesChecked {
    fn check(&self, inputs: &[&InferenceFact]) -> TractResult<()> {
        let Some(rank) = inputs.first().and_then(|f| f.shape.rank().concretize()) else {
            return Ok(());
        };
        let mut bad = out_of_range(&self.axes, rank);
        if bad.is_none() && self.axes_input {
            if let Some(value) = inputs.get(1).and_then(|f| f.value.concretize()) {
                let axes = value.cast_to::<i64>()?;
                bad = out_of_range(axes.try_as_plain_ram()?.as_slice::<i64>()?, rank);
            }
        }
        match bad {
            Some(axis) => bail!(
                "{}: axis {axis} is out of range for an input of rank {rank}",
                self.inner.name()
            ),
            None => Ok(()),
        }
    }
}

impl Op for AxesChecked {
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

impl EvalOp for AxesChecked {
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

type Facts = (
    TVec<InferenceFact>,
    TVec<InferenceFact>,
    TVec<InferenceFact>,
);

impl InferenceOp for AxesChecked {
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
