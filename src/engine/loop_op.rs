//! ONNX `Loop`, which tract 0.23 does not implement (sonos/tract#277).
//!
//! The body is kept as tract's inference-level graph and planned for the concrete shapes of
//! each iteration's inputs (a small per-node cache: a decoder's carried state usually keeps its
//! shape, so one plan serves every iteration). Carried values whose shape the body changes, and
//! scan outputs (one slice per iteration, stacked on a new first axis), get fresh symbolic
//! dimensions in the typed graph. A loop stops after [`MAX_ITERATIONS`] with an error rather
//! than running forever on a hostile trip count.

use std::sync::{Arc, Mutex};

use tract_onnx::model::{ParseResult, ParsingContext};
use tract_onnx::pb;

use super::checked_ops::Facts;
use tract_onnx::prelude::{
    tvec, DatumType, InferenceFact, InferenceModelExt, IntoRunnable, IntoTValue, IntoTensor, Op,
    TDim, TValue, TVec, Tensor, TractResult, TypedFact, TypedRunnableModel,
};
use tract_onnx::tract_hir::infer::{
    GenericFactoid, InferenceModel, InferenceNode, InferenceOp, ShapeFactoid,
};
use tract_onnx::tract_hir::internal::{
    bail, ensure, DatumTypeExt, EvalContext, EvalOp, Factoid, OutletId, SpecialOps, StaticName,
    TractErrorContext as _, TypedModel, TypedOp,
};

fn at<T>(v: &[T], i: usize) -> TractResult<&T> {
    v.get(i)
        .ok_or_else(|| tract_onnx::tract_hir::internal::format_err!("Loop: no value {i}"))
}

fn at_mut<T>(v: &mut [T], i: usize) -> TractResult<&mut T> {
    v.get_mut(i)
        .ok_or_else(|| tract_onnx::tract_hir::internal::format_err!("Loop: no value {i}"))
}

/// Iterations one `Loop` may run.
pub(super) const MAX_ITERATIONS: usize = 100_000;

/// Body plans one `Loop` node keeps (by input shapes).
const MAX_BODY_PLANS: usize = 8;

/// Where the node's inputs are: tract skips empty (absent) inputs when it wires a node, and
/// appends the body's outer-scope values after the declared inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    has_max: bool,
    has_cond: bool,
    carried: usize,
    scans: usize,
    closures: usize,
    /// Rank of the body's iteration number and condition inputs: 0 as ONNX says, 1 as some
    /// exporters (Paddle) write them, which onnxruntime accepts.
    counter_rank: usize,
    cond_rank: usize,
}

impl Layout {
    fn carried_start(&self) -> usize {
        usize::from(self.has_max) + usize::from(self.has_cond)
    }
    fn closure_start(&self) -> usize {
        self.carried_start() + self.carried
    }
}

/// The inference-level `Loop`.
#[derive(Debug, Clone)]
pub(super) struct Loop {
    body: InferenceModel,
    layout: Layout,
}

impl PartialEq for Loop {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
impl Eq for Loop {}

pub(super) fn build_loop(
    ctx: &ParsingContext,
    node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let Some(graph) = node
        .attribute
        .iter()
        .find(|a| a.name == "body")
        .and_then(|a| a.g.as_ref())
    else {
        bail!("Loop `{}` has no body graph", node.name);
    };
    let ParseResult {
        model: mut body,
        unresolved_inputs,
        ..
    } = ctx.parse_graph(graph)?;
    // The body's declared input shapes are often symbolic names of the exporter's own
    // (`DynamicDimension.5`) that mean "anything": keep only the element types, the shapes come
    // from the outer values.
    for i in 2..body.inputs.len() {
        let dt = body.input_fact(i)?.datum_type.concretize();
        body.set_input_fact(i, dt.map(InferenceFact::dt).unwrap_or_default())?;
    }
    ensure!(
        node.input.len() >= 2,
        "Loop `{}` needs its trip count and condition inputs (possibly empty)",
        node.name
    );
    let carried = node.input.len() - 2;
    ensure!(
        node.input.iter().skip(2).all(|i| !i.is_empty()),
        "Loop `{}`: a loop-carried input is empty",
        node.name
    );
    ensure!(
        graph.input.len() == carried + 2,
        "Loop `{}`: the body takes {} inputs, the node gives {}",
        node.name,
        graph.input.len(),
        carried + 2
    );
    let Some(scans) = graph.output.len().checked_sub(carried + 1) else {
        bail!("Loop `{}`: the body returns too few outputs", node.name);
    };
    ensure!(
        node.output.len() == carried + scans,
        "Loop `{}` has {} outputs, the body gives {}",
        node.name,
        node.output.len(),
        carried + scans
    );
    let rank = |i: usize| -> usize {
        body.input_fact(i)
            .ok()
            .and_then(|f| f.shape.rank().concretize())
            .map_or(0, |r| r.clamp(0, 1) as usize)
    };
    let (counter_rank, cond_rank) = (rank(0), rank(1));
    let layout = Layout {
        counter_rank,
        cond_rank,
        has_max: node.input.first().is_some_and(|i| !i.is_empty()),
        has_cond: node.input.get(1).is_some_and(|i| !i.is_empty()),
        carried,
        scans,
        closures: unresolved_inputs.len(),
    };
    Ok((Box::new(Loop { body, layout }), unresolved_inputs))
}

/// A one-element fact of rank 0 or 1.
fn scalar(dt: DatumType, rank: usize) -> InferenceFact {
    InferenceFact::dt_shape(dt, vec![1usize; rank])
}

fn any_of_rank(rank: usize) -> ShapeFactoid {
    ShapeFactoid::closed(tvec![GenericFactoid::Any; rank])
}

impl Op for Loop {
    fn name(&self) -> StaticName {
        "Loop".into()
    }
    fn as_typed(&self) -> Option<&dyn TypedOp> {
        None
    }
}

impl EvalOp for Loop {
    fn eval_out_of_plan(&self, _inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(None)
    }
}

impl InferenceOp for Loop {
    fn infer_facts(
        &mut self,
        inputs: TVec<&InferenceFact>,
        outputs: TVec<&InferenceFact>,
        observed: TVec<&InferenceFact>,
    ) -> TractResult<Facts> {
        let l = self.layout;
        let mut inputs: TVec<InferenceFact> = inputs.into_iter().cloned().collect();
        let mut outputs: TVec<InferenceFact> = outputs.into_iter().cloned().collect();
        ensure!(
            inputs.len() == l.closure_start() + l.closures && outputs.len() == l.carried + l.scans,
            "Loop: wired with {} inputs and {} outputs",
            inputs.len(),
            outputs.len()
        );
        // Analysed on a copy: the body kept for planning must not hold facts (and folded
        // values) of the outer graph's first analysis.
        let mut body = self.body.clone();
        body.input_fact_mut(0)?
            .unify_with_mut(&mut scalar(DatumType::I64, l.counter_rank))?;
        body.input_fact_mut(1)?
            .unify_with_mut(&mut scalar(DatumType::Bool, l.cond_rank))?;
        for k in 0..l.carried {
            // The body is analysed with the first iteration's shapes; the node's outputs keep only
            // the type and rank (the body may change a carried value's shape).
            let outer = at_mut(&mut inputs, l.carried_start() + k)?;
            let inner = body.input_fact_mut(2 + k)?;
            inner.datum_type.unify_with_mut(&mut outer.datum_type)?;
            inner.shape.unify_with_mut(&mut outer.shape)?;
            let out = at_mut(&mut outputs, k)?;
            out.datum_type.unify_with_mut(&mut outer.datum_type)?;
            if let Some(rank) = outer.shape.rank().concretize() {
                out.shape
                    .unify_with_mut(&mut any_of_rank(rank.max(0) as usize))?;
            }
        }
        for c in 0..l.closures {
            let outer = at_mut(&mut inputs, l.closure_start() + c)?;
            body.input_fact_mut(2 + l.carried + c)?
                .unify_with_mut(outer)?;
        }
        body.analyse(false)?;
        for k in 0..l.scans {
            let inner = body.output_fact(1 + l.carried + k)?.clone();
            let out = at_mut(&mut outputs, l.carried + k)?;
            out.datum_type.unify_with(&inner.datum_type)?;
            if let Some(rank) = inner.shape.rank().concretize() {
                out.shape
                    .unify_with_mut(&mut any_of_rank(rank.max(0) as usize + 1))?;
            }
        }
        Ok((inputs, outputs, observed.into_iter().cloned().collect()))
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.layout.carried + self.layout.scans)
    }

    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }

    fn to_typed(
        &self,
        _source: &InferenceModel,
        node: &InferenceNode,
        target: &mut TypedModel,
        mapping: &std::collections::HashMap<OutletId, OutletId>,
    ) -> TractResult<TVec<OutletId>> {
        let l = self.layout;
        let mut wires = tvec!();
        for o in &node.inputs {
            match mapping.get(o) {
                Some(w) => wires.push(*w),
                None => bail!("Loop `{}`: an input is not wired", node.name),
            }
        }
        let outer: Vec<TypedFact> = wires
            .iter()
            .map(|w| target.outlet_fact(*w).cloned())
            .collect::<TractResult<_>>()?;
        // Type the body once with the first iteration's facts, to learn its output types and
        // which carried shapes it keeps.
        let mut body = self.body.clone();
        body.set_input_fact(0, scalar(DatumType::I64, l.counter_rank))?;
        body.set_input_fact(1, scalar(DatumType::Bool, l.cond_rank))?;
        for (i, fact) in outer.iter().enumerate().skip(l.carried_start()) {
            let f = match (&fact.konst, i >= l.closure_start()) {
                (Some(k), true) => InferenceFact::from((**k).clone()),
                _ => InferenceFact::dt_shape(
                    fact.datum_type,
                    fact.shape.iter().cloned().collect::<TVec<TDim>>(),
                ),
            };
            body.set_input_fact(2 + i - l.carried_start(), f)?;
        }
        let typed = body.into_typed()?;
        // tract computes shapes as TDim where ONNX has int64.
        let onnx_type = |dt: DatumType| {
            if dt == DatumType::TDim {
                DatumType::I64
            } else {
                dt
            }
        };
        let mut facts = tvec!();
        for k in 0..l.carried {
            let before = at(&outer, l.carried_start() + k)?;
            let after = typed.output_fact(1 + k)?;
            ensure!(
                after.rank() == before.rank()
                    && onnx_type(after.datum_type) == onnx_type(before.datum_type),
                "Loop `{}`: carried value {k} is {before:?} before the body and {after:?} after",
                node.name
            );
            let shape: TVec<TDim> = before
                .shape
                .iter()
                .zip(after.shape.iter())
                .map(|(b, a)| {
                    if a == b {
                        b.clone()
                    } else {
                        TDim::Sym(target.symbols.new_with_prefix("loop"))
                    }
                })
                .collect();
            facts.push(before.datum_type.fact(shape));
        }
        let trips = TDim::Sym(target.symbols.new_with_prefix("loop_trips"));
        for k in 0..l.scans {
            let slice = typed.output_fact(1 + l.carried + k)?;
            let mut shape: TVec<TDim> = tvec![trips.clone()];
            for d in slice.shape.iter() {
                shape.push(match d.as_i64() {
                    Some(_) => d.clone(),
                    None => TDim::Sym(target.symbols.new_with_prefix("loop")),
                });
            }
            facts.push(onnx_type(slice.datum_type).fact(shape));
        }
        // Body inputs whose value is the same at every iteration and known now: an outer
        // constant given as a closure, or as a carried value the body passes on unchanged
        // (exporters carry weights through a loop so). The body is planned with them as
        // constants, so its matrix products pack their weights once, not at every iteration.
        let passed_on = |k: usize| -> bool {
            match (self.body.input_outlets(), self.body.output_outlets()) {
                (Ok(ins), Ok(outs)) => {
                    ins.get(2 + k).is_some() && ins.get(2 + k) == outs.get(1 + k)
                }
                _ => false,
            }
        };
        let fixed: Vec<Option<Arc<Tensor>>> = (0..2 + l.carried + l.closures)
            .map(|i| {
                let k = i.checked_sub(2)?;
                let outer = outer.get(l.carried_start() + k)?;
                let konst = outer.konst.clone()?;
                let fixed =
                    konst.datum_type() != DatumType::TDim && (k >= l.carried || passed_on(k));
                fixed.then_some(konst)
            })
            .collect();
        let op = TypedLoop {
            body: self.body.clone(),
            layout: l,
            facts,
            fixed,
            plans: Arc::new(Mutex::new(Vec::new())),
        };
        target.wire_node(&node.name, op, &wires)
    }
}

type Key = Vec<(DatumType, Vec<usize>)>;
type BodyPlan = (Key, Arc<TypedRunnableModel>);

/// The typed `Loop`: the inference-level body, planned per iteration shape.
#[derive(Debug, Clone)]
struct TypedLoop {
    body: InferenceModel,
    layout: Layout,
    facts: TVec<TypedFact>,
    /// Per body input, its value when it is the same at every iteration and known when the
    /// outer graph is typed (see `to_typed`).
    fixed: Vec<Option<Arc<Tensor>>>,
    plans: Arc<Mutex<Vec<BodyPlan>>>,
}

impl PartialEq for TypedLoop {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
impl Eq for TypedLoop {}

impl TypedLoop {
    fn plan(&self, inputs: &[TValue]) -> TractResult<Arc<TypedRunnableModel>> {
        let key: Key = inputs
            .iter()
            .map(|t| (t.datum_type(), t.shape().to_vec()))
            .collect();
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, plan)) = plans.iter().find(|(k, _)| *k == key) {
            return Ok(plan.clone());
        }
        let mut body = self.body.clone();
        for (i, (dt, shape)) in key.iter().enumerate() {
            let fact = match self.fixed.get(i) {
                Some(Some(t)) if t.datum_type() == *dt && t.shape() == shape.as_slice() => {
                    InferenceFact::from((**t).clone())
                }
                _ => InferenceFact::dt_shape(*dt, shape.clone()),
            };
            body.set_input_fact(i, fact)?;
        }
        let typed = body.into_typed().context("typing")?;
        let plan = super::optimise::optimised(typed)
            .context("optimising")?
            .into_runnable()?;
        if plans.len() >= MAX_BODY_PLANS {
            plans.remove(0);
        }
        plans.push((key, plan.clone()));
        Ok(plan)
    }
}

impl Op for TypedLoop {
    fn name(&self) -> StaticName {
        "Loop".into()
    }
    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for TypedLoop {
    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }

    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let l = self.layout;
        // Shapes the outer plan computed may carry its own symbols: the body gets numbers.
        let inputs = inputs
            .into_iter()
            .map(|t| super::expand::concrete(t, ctx))
            .collect::<TractResult<TVec<TValue>>>()?;
        let max = if l.has_max {
            let m = at(&inputs, 0)?.cast_to_scalar::<i64>()?;
            usize::try_from(m.max(0)).unwrap_or(usize::MAX)
        } else {
            usize::MAX
        };
        let mut cond = if l.has_cond {
            at(&inputs, usize::from(l.has_max))?.cast_to_scalar::<bool>()?
        } else {
            true
        };
        ensure!(
            inputs.len() == l.closure_start() + l.closures,
            "Loop: {} inputs",
            inputs.len()
        );
        let mut carried: Vec<TValue> = inputs
            .iter()
            .skip(l.carried_start())
            .take(l.carried)
            .cloned()
            .collect();
        let closures: Vec<TValue> = inputs.iter().skip(l.closure_start()).cloned().collect();
        let mut scans: Vec<Vec<Tensor>> = vec![vec![]; l.scans];
        let mut i = 0usize;
        let mut scanned: u64 = 0;
        while i < max && cond {
            ensure!(
                i < MAX_ITERATIONS,
                "Loop ran {MAX_ITERATIONS} iterations without stopping"
            );
            let one = |t: Tensor, rank: usize| -> TractResult<TValue> {
                Ok(t.into_shape(&vec![1usize; rank])?.into_tvalue())
            };
            let mut feed: TVec<TValue> = tvec![
                one(Tensor::from(i as i64), l.counter_rank)?,
                one(Tensor::from(cond), l.cond_rank)?
            ];
            feed.extend(carried.iter().cloned());
            feed.extend(closures.iter().cloned());
            let plan = self.plan(&feed).context("planning the Loop body")?;
            let out = plan.run(feed).context("running the Loop body")?;
            ensure!(
                out.len() == 1 + l.carried + l.scans,
                "Loop body returned {} values",
                out.len()
            );
            cond = at(&out, 0)?.cast_to_scalar::<bool>()?;
            let (new_carried, slices) = out.get(1..).unwrap_or_default().split_at(l.carried);
            // Each value in the type the typed graph declares (a body may return TDim); a value
            // already of that type is passed on, not copied (exporters carry weights through
            // a loop: SLANet's decoder carries 24 values, some of 200 k elements, 501 times).
            let typed = |t: &TValue, k: usize| -> TractResult<TValue> {
                let dt = at(&self.facts, k)?.datum_type;
                Ok(if t.datum_type() == dt {
                    t.clone()
                } else {
                    t.cast_to_dt(dt)?.into_owned().into_tvalue()
                })
            };
            carried = new_carried
                .iter()
                .enumerate()
                .map(|(k, t)| typed(t, k))
                .collect::<TractResult<_>>()?;
            for (k, s) in slices.iter().enumerate() {
                // The stacked scan outputs are bounded like any tensor the engine makes.
                scanned = scanned.saturating_add(s.len() as u64);
                ensure!(
                    scanned <= super::checked_ops::MAX_ELEMENTS,
                    "Loop: the scan outputs exceed {} elements",
                    super::checked_ops::MAX_ELEMENTS
                );
                let mut t = typed(s, l.carried + k)?.into_tensor();
                t.insert_axis(0)?;
                at_mut(&mut scans, k)?.push(t);
            }
            i += 1;
        }
        let mut result: TVec<TValue> = carried.into_iter().collect();
        for (k, slices) in scans.into_iter().enumerate() {
            if slices.is_empty() {
                // No iteration: an empty stack with the slice's known dims (0 elsewhere).
                let fact = at(&self.facts, l.carried + k)?;
                let shape: Vec<usize> = fact
                    .shape
                    .iter()
                    .enumerate()
                    .map(|(ax, d)| {
                        if ax == 0 {
                            0
                        } else {
                            d.as_i64().unwrap_or(0).max(0) as usize
                        }
                    })
                    .collect();
                result.push(Tensor::zero_dt(fact.datum_type, &shape)?.into_tvalue());
            } else {
                result.push(Tensor::stack_tensors(0, &slices)?.into_tvalue());
            }
        }
        Ok(result)
    }
}

impl TypedOp for TypedLoop {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(self.facts.clone())
    }

    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }
}
