//! `Expand` to a shape computed at run time.
//!
//! tract 0.23 wires `Expand` as a broadcast to a shape it derives during analysis; when the
//! target shape is a value only known while the graph runs (inside a `Loop` body, from an
//! `ArgMax` or a data-dependent `Gather`), that shape holds a symbol nothing ever binds and the
//! run fails with "Undetermined symbol". This wrapper keeps tract's (checked) operator for
//! analysis and for every constant target shape, and otherwise wires [`RuntimeExpand`], which
//! reads the target shape when it runs (ONNX's two-way broadcast), within the element limit.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::prelude::{tvec, IntoTValue, Op, TDim, TValue, TVec, TractResult, TypedFact};
use tract_onnx::tract_hir::infer::{InferenceFact, InferenceModel, InferenceNode, InferenceOp};
use tract_onnx::tract_hir::internal::{
    bail, ensure, DatumTypeExt, EvalContext, EvalOp, OpState, OutletId, SpecialOps, StaticName,
    TypedModel, TypedOp,
};

use super::checked_ops::{checked, Facts, MAX_ELEMENTS};

#[derive(Debug, Clone)]
pub(super) struct Expand {
    inner: Box<dyn InferenceOp>,
}

impl PartialEq for Expand {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
impl Eq for Expand {}

pub(super) fn build_expand(
    ctx: &ParsingContext,
    node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (inner, closures) = checked(ctx, node)?;
    Ok((Box::new(Expand { inner }), closures))
}

impl Op for Expand {
    fn name(&self) -> StaticName {
        self.inner.name()
    }
    fn as_typed(&self) -> Option<&dyn TypedOp> {
        None
    }
}

impl EvalOp for Expand {
    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        self.inner.eval(ctx, inputs)
    }
    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        self.inner.eval_out_of_plan(inputs)
    }
    fn state(&self, ctx: &EvalContext) -> TractResult<Option<Box<dyn OpState>>> {
        self.inner.state(ctx)
    }
}

impl InferenceOp for Expand {
    fn infer(
        &mut self,
        inputs: TVec<&InferenceFact>,
        outputs: TVec<&InferenceFact>,
        observed: TVec<&InferenceFact>,
    ) -> TractResult<Facts> {
        self.inner.infer(inputs, outputs, observed)
    }
    fn infer_facts(
        &mut self,
        inputs: TVec<&InferenceFact>,
        outputs: TVec<&InferenceFact>,
        observed: TVec<&InferenceFact>,
    ) -> TractResult<Facts> {
        self.inner.infer_facts(inputs, outputs, observed)
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
        let (Some(x), Some(shape)) = (
            node.inputs.first().and_then(|o| mapping.get(o)),
            node.inputs.get(1).and_then(|o| mapping.get(o)),
        ) else {
            bail!("Expand `{}` needs two inputs", node.name);
        };
        let (x, shape) = (*x, *shape);
        let shape_fact = target.outlet_fact(shape)?.clone();
        // A constant shape tract can use: plain numbers, or expressions of the graph's input
        // dims (a symbolic batch). A symbol of tract's own making (an unknown value) is not.
        if let Some(k) = &shape_fact.konst {
            let mut inputs = std::collections::HashSet::new();
            for o in target.input_outlets()? {
                for d in target.outlet_fact(*o)?.shape.iter() {
                    inputs.extend(d.symbols());
                }
            }
            let known = match k.to_plain_array_view::<TDim>() {
                Ok(dims) => dims
                    .iter()
                    .all(|d| d.symbols().iter().all(|s| inputs.contains(s))),
                Err(_) => true,
            };
            if known {
                return self.inner.to_typed(source, node, target, mapping);
            }
        }
        let x_fact = target.outlet_fact(x)?.clone();
        // `Expand(x, Shape(y))`, broadcasting x like y: tract folds the `Shape` into a constant
        // of y's symbolic dims, and when y's size depends on values (a slice whose bounds a
        // `Loop` carries), the node that computes y, read by nothing else, is pruned, so that
        // symbol is never bound. Reading y's shape when it runs keeps y and needs no symbol.
        let shape_node = node.inputs.get(1).map_or(usize::MAX, |o| o.node);
        let shape_of = source
            .nodes
            .get(shape_node)
            .filter(|p| p.op.name() == "Shape")
            .and_then(|p| p.inputs.first())
            .and_then(|y| mapping.get(y))
            .copied();
        let Some(len) = shape_fact.shape.iter().next().and_then(|d| d.as_i64()) else {
            bail!(
                "Expand `{}`: the target shape's length is unknown",
                node.name
            );
        };
        ensure!(
            shape_fact.rank() == 1,
            "Expand `{}`: the shape is not a vector",
            node.name
        );
        // Like y when the `Shape` takes all of y's dimensions (no start or end cut them).
        let like =
            shape_of.filter(|&y| target.outlet_fact(y).is_ok_and(|f| f.rank() as i64 == len));
        let rank = x_fact.rank().max(len.max(0) as usize);
        let dims: TVec<TDim> = (0..rank)
            .map(|_| TDim::Sym(target.symbols.new_with_prefix("expand")))
            .collect();
        let op = RuntimeExpand {
            fact: x_fact.datum_type.fact(dims),
            like: like.is_some(),
        };
        let name = target.unique_name(&node.name);
        target.wire_node(name, op, &[x, like.unwrap_or(shape)])
    }
}

/// A tensor of TDim (shapes tract computed, possibly with symbols of the running plan) as
/// plain int64, with the plan's resolved symbol values.
pub(super) fn concrete(t: TValue, ctx: &EvalContext) -> TractResult<TValue> {
    if t.datum_type() != tract_onnx::prelude::DatumType::TDim {
        return Ok(t);
    }
    let dims = t.to_plain_array_view::<TDim>()?;
    let values = dims
        .iter()
        .map(|d| d.eval_to_i64(ctx.symbols))
        .collect::<TractResult<Vec<i64>>>()?;
    Ok(tract_onnx::prelude::Tensor::from_shape(t.shape(), &values)?.into_tvalue())
}

/// Broadcasts its first input to the shape its second input holds when it runs, or (`like`)
/// to the second input's own shape.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RuntimeExpand {
    fact: TypedFact,
    like: bool,
}

impl Op for RuntimeExpand {
    fn name(&self) -> StaticName {
        "RuntimeExpand".into()
    }
    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for RuntimeExpand {
    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }

    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (Some(x), Some(shape)) = (inputs.first(), inputs.get(1)) else {
            bail!("RuntimeExpand needs two inputs");
        };
        let wanted: Vec<i64> = if self.like {
            shape.shape().iter().map(|&d| d as i64).collect()
        } else {
            let shape = concrete(shape.clone(), ctx)?;
            let wanted = shape.cast_to::<i64>()?;
            let wanted = wanted
                .to_plain_array_view::<i64>()?
                .iter()
                .copied()
                .collect();
            wanted
        };
        let rank = x.rank().max(wanted.len());
        let mut out = vec![1usize; rank];
        let pad_x = rank - x.rank();
        let pad_s = rank - wanted.len();
        for (ax, o) in out.iter_mut().enumerate() {
            let a = if ax >= pad_x {
                x.shape().get(ax - pad_x).copied().unwrap_or(1)
            } else {
                1
            };
            let b = if ax >= pad_s {
                let v = wanted.get(ax - pad_s).copied().unwrap_or(1);
                ensure!(v >= 0, "Expand: negative size {v}");
                v as usize
            } else {
                1
            };
            *o = match (a, b) {
                (a, 1) => a,
                (1, b) => b,
                (a, b) if a == b => a,
                (a, b) => bail!("Expand: cannot broadcast {a} to {b}"),
            };
        }
        let elements = out
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .unwrap_or(u64::MAX);
        ensure!(
            elements <= MAX_ELEMENTS,
            "Expand: {elements} elements, the limit is {MAX_ELEMENTS}"
        );
        let x = (**x).clone().broadcast_into_rank(rank)?;
        Ok(tvec!(x.broadcast_to_shape(&out)?.into_tvalue()))
    }
}

impl TypedOp for RuntimeExpand {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(self.fact.clone()))
    }
    fn as_op(&self) -> &dyn Op {
        self
    }
    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }
}
