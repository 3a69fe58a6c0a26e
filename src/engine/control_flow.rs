//! `If` whose condition is known once the plan is specialised.
//!
//! tract types an `If` by typing both branches and requiring that they produce the same output
//! facts, and analyses both branches while it infers facts. Exported models often branch on an
//! input value (silero VAD switches on the sample rate `sr`, 8000 or 16000), with branches whose
//! shapes differ, so the graph cannot be typed as a whole. When the per-shape planner fixes such
//! an input's value ([`super::plan`]), the condition becomes a constant during analysis: this
//! operator then analyses only the branch taken and inlines it into the typed graph, so the plan
//! holds no `If` at all. With an unknown condition both branches are typed as tract types them,
//! and the branch taken runs a plan optimised for its concrete input shapes ([`PlannedIf`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tract_onnx::model::{ParseResult, ParsingContext};
use tract_onnx::ops::logic::If;
use tract_onnx::pb;

use super::checked_ops::Facts;
use tract_onnx::prelude::{
    tvec, DatumType, IntoRunnable, Op, Symbol, TDim, TValue, TVec, TractResult, TypedFact,
    TypedRunnableModel,
};
use tract_onnx::tract_core::ops::logic::IfThenElse;
use tract_onnx::tract_hir::infer::{InferenceFact, InferenceModel, InferenceNode, InferenceOp};
use tract_onnx::tract_hir::internal::{
    bail, EvalContext, EvalOp, Factoid, InferenceModelExt, OpState, OutletId, SpecialOps,
    StaticName, TypedModel, TypedModelPatch, TypedNode, TypedOp,
};

/// tract's `If`, with the branch mappings it keeps private.
#[derive(Debug, Clone)]
pub(super) struct KnownIf {
    inner: If,
    then_mapping: Vec<usize>,
    else_mapping: Vec<usize>,
}

impl PartialEq for KnownIf {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
impl Eq for KnownIf {}

/// Builds `If` as tract-onnx does (each branch's outer values become extra inputs after the
/// condition, in sorted name order), keeping the mappings.
pub(super) fn build_if(
    ctx: &ParsingContext,
    node: &pb::NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let branch = |name: &str| -> TractResult<&pb::GraphProto> {
        match node.attribute.iter().find(|a| a.name == name) {
            Some(a) => match &a.g {
                Some(g) => Ok(g),
                None => bail!("If `{}`: attribute {name} is not a graph", node.name),
            },
            None => bail!("If `{}` has no {name}", node.name),
        }
    };
    let ParseResult {
        model: then_body,
        unresolved_inputs: then_outer,
        ..
    } = ctx.parse_graph(branch("then_branch")?)?;
    let ParseResult {
        model: else_body,
        unresolved_inputs: else_outer,
        ..
    } = ctx.parse_graph(branch("else_branch")?)?;
    let mut outer: Vec<String> = then_outer.iter().chain(&else_outer).cloned().collect();
    outer.sort();
    outer.dedup();
    let mapping = |names: &[String]| -> Vec<usize> {
        names
            .iter()
            .filter_map(|n| outer.iter().position(|o| o == n))
            .map(|p| p + 1)
            .collect()
    };
    let (then_mapping, else_mapping) = (mapping(&then_outer), mapping(&else_outer));
    let op = KnownIf {
        inner: If::new(
            then_body,
            then_mapping.clone(),
            else_body,
            else_mapping.clone(),
        ),
        then_mapping,
        else_mapping,
    };
    Ok((Box::new(op), outer))
}

impl KnownIf {
    fn branch(&mut self, cond: bool) -> (&mut InferenceModel, &[usize]) {
        if cond {
            (&mut self.inner.then_body, &self.then_mapping)
        } else {
            (&mut self.inner.else_body, &self.else_mapping)
        }
    }
}

fn known_condition(fact: &InferenceFact) -> TractResult<Option<bool>> {
    match fact.value.concretize() {
        Some(t) => Ok(Some(t.cast_to_scalar::<bool>()?)),
        None => Ok(None),
    }
}

impl Op for KnownIf {
    fn name(&self) -> StaticName {
        "If".into()
    }
    fn as_typed(&self) -> Option<&dyn TypedOp> {
        None
    }
}

impl EvalOp for KnownIf {
    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        self.inner.eval_out_of_plan(inputs)
    }
    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        self.inner.eval(ctx, inputs)
    }
    fn state(&self, ctx: &EvalContext) -> TractResult<Option<Box<dyn OpState>>> {
        self.inner.state(ctx)
    }
}

impl InferenceOp for KnownIf {
    fn infer_facts(
        &mut self,
        inputs: TVec<&InferenceFact>,
        outputs: TVec<&InferenceFact>,
        observed: TVec<&InferenceFact>,
    ) -> TractResult<Facts> {
        let Some(cond) = inputs
            .first()
            .map(|f| known_condition(f))
            .transpose()?
            .flatten()
        else {
            return self.inner.infer_facts(inputs, outputs, observed);
        };
        let mut inputs: TVec<InferenceFact> = inputs.into_iter().cloned().collect();
        let mut outputs: TVec<InferenceFact> = outputs.into_iter().cloned().collect();
        let (body, mapping) = self.branch(cond);
        loop {
            let mut changed = false;
            for (body_ix, &outer_ix) in mapping.iter().enumerate() {
                let Some(outer) = inputs.get_mut(outer_ix) else {
                    bail!("If: branch input {body_ix} maps to a missing input {outer_ix}");
                };
                changed |= body.input_fact_mut(body_ix)?.unify_with_mut(outer)?;
            }
            for (ix, outer) in outputs.iter_mut().enumerate() {
                changed |= body.output_fact_mut(ix)?.unify_with_mut(outer)?;
            }
            changed |= body.analyse(false)?;
            if !changed {
                return Ok((inputs, outputs, observed.into_iter().cloned().collect()));
            }
        }
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
        mapping: &HashMap<OutletId, OutletId>,
    ) -> TractResult<TVec<OutletId>> {
        let Some(&cond_outlet) = node.inputs.first() else {
            bail!("If without a condition");
        };
        let Some(cond) = known_condition(source.outlet_fact(cond_outlet)?)? else {
            let inputs = node
                .inputs
                .iter()
                .map(|o| mapping.get(o).copied())
                .collect::<Option<TVec<_>>>();
            let Some(inputs) = inputs else {
                bail!("If `{}`: an input is not wired", node.name);
            };
            let op = PlannedIf {
                inner: IfThenElse {
                    then_body: self.inner.then_body.clone().into_typed()?,
                    then_input_mapping: self.then_mapping.clone(),
                    else_body: self.inner.else_body.clone().into_typed()?,
                    else_input_mapping: self.else_mapping.clone(),
                },
                plans: Arc::default(),
            };
            return target.wire_node(&node.name, op, &inputs);
        };
        let (body, body_mapping) = if cond {
            (&self.inner.then_body, &self.then_mapping)
        } else {
            (&self.inner.else_body, &self.else_mapping)
        };
        let body = body.clone().into_typed()?;
        let mut wired: HashMap<OutletId, OutletId> = HashMap::new();
        let body_inputs = body.input_outlets()?.to_vec();
        for (ix, outlet) in body_inputs.iter().enumerate() {
            let outer = body_mapping
                .get(ix)
                .and_then(|&i| node.inputs.get(i))
                .and_then(|o| mapping.get(o));
            let Some(outer) = outer else {
                bail!("If `{}`: branch input {ix} is not wired", node.name);
            };
            wired.insert(*outlet, *outer);
        }
        for id in body.eval_order()? {
            if body_inputs.iter().any(|o| o.node == id) {
                continue;
            }
            let n = body.node(id);
            let inputs = n
                .inputs
                .iter()
                .map(|o| wired.get(o).copied())
                .collect::<Option<TVec<_>>>();
            let Some(inputs) = inputs else {
                bail!(
                    "If `{}`: node {} of the branch is not wired",
                    node.name,
                    n.name
                );
            };
            let name = target.unique_name(format!("{}.{}", node.name, n.name));
            let outs = target.wire_node(name, n.op.clone(), &inputs)?;
            for (slot, o) in outs.into_iter().enumerate() {
                wired.insert(OutletId::new(id, slot), o);
            }
        }
        let mut result = tvec!();
        for o in body.output_outlets()? {
            match wired.get(o) {
                Some(w) => result.push(*w),
                None => bail!("If `{}`: a branch output is not wired", node.name),
            }
        }
        Ok(result)
    }
}

/// An `If` whose condition is known only at run time: tract's `IfThenElse` types it (and
/// inlines the branch taken once the condition is a constant), and each branch runs a plan
/// optimised for the concrete shapes it is given, made on first use and kept (at most
/// [`MAX_BRANCH_PLANS`] per `If`). tract's own evaluation clones the typed branch and plans it,
/// unoptimised, on every run, so its convolutions build and plan their im2col graph on every
/// run too: 0.39 ms of the 0.42 ms a run of the openWakeWord "hey jarvis" model took.
#[derive(Debug, Clone)]
struct PlannedIf {
    inner: IfThenElse,
    plans: Arc<Mutex<Vec<BranchPlan>>>,
}

/// Most plans one `If` keeps (the oldest goes first).
const MAX_BRANCH_PLANS: usize = 8;

/// A branch and its inputs' types and shapes.
type BranchKey = (bool, Vec<(DatumType, Vec<usize>)>);
type BranchPlan = (BranchKey, Arc<TypedRunnableModel>);

impl PartialEq for PlannedIf {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
impl Eq for PlannedIf {}

impl PlannedIf {
    fn plan(&self, cond: bool, feed: &[TValue]) -> TractResult<Arc<TypedRunnableModel>> {
        let key: BranchKey = (
            cond,
            feed.iter()
                .map(|t| (t.datum_type(), t.shape().to_vec()))
                .collect(),
        );
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, plan)) = plans.iter().find(|(k, _)| *k == key) {
            return Ok(plan.clone());
        }
        let body = if cond {
            &self.inner.then_body
        } else {
            &self.inner.else_body
        };
        // The branch's symbols take the values these shapes give them; its constants (outer
        // initializers the typing carried in) stay constants, so weights are packed here once.
        // A symbol given two sizes keeps the branch symbolic.
        let mut values: HashMap<Symbol, TDim> = HashMap::new();
        let mut consistent = true;
        for (i, (_, shape)) in key.1.iter().enumerate() {
            let fact = body.input_fact(i)?;
            for (dim, &n) in fact.shape.iter().zip(shape) {
                if let TDim::Sym(sym) = dim {
                    let size = TDim::Val(n as i64);
                    consistent &= values
                        .insert(sym.clone(), size.clone())
                        .is_none_or(|v| v == size);
                }
            }
        }
        let concrete = if !consistent {
            Err(tract_onnx::tract_hir::internal::format_err!(
                "If: a branch symbol has two sizes"
            ))
        } else if values.is_empty() {
            Ok(body.clone())
        } else {
            body.set_symbols(&values)
        };
        // Else optimised with its symbols; a branch the optimiser cannot take runs as tract
        // runs it.
        let optimised = concrete
            .and_then(super::optimise::optimised)
            .or_else(|_| super::optimise::optimised(body.clone()));
        let plan = match optimised {
            Ok(optimised) => optimised.into_runnable()?,
            Err(_) => body.clone().into_runnable()?,
        };
        if plans.len() >= MAX_BRANCH_PLANS {
            plans.remove(0);
        }
        plans.push((key, plan.clone()));
        Ok(plan)
    }
}

impl Op for PlannedIf {
    fn name(&self) -> StaticName {
        "If".into()
    }
    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for PlannedIf {
    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }

    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let Some(cond) = inputs.first() else {
            bail!("If without a condition");
        };
        let cond = cond.cast_to_scalar::<bool>()?;
        let mapping = if cond {
            &self.inner.then_input_mapping
        } else {
            &self.inner.else_input_mapping
        };
        // Shapes the outer plan computed may carry its own symbols: the branch gets numbers.
        let feed = mapping
            .iter()
            .map(|&ix| match inputs.get(ix) {
                Some(t) => super::expand::concrete(t.clone(), ctx),
                None => bail!("If: a branch input maps to a missing input"),
            })
            .collect::<TractResult<TVec<TValue>>>()?;
        self.plan(cond, &feed)?.run(feed)
    }
}

impl TypedOp for PlannedIf {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.inner.output_facts(inputs)
    }

    fn declutter(
        &self,
        model: &TypedModel,
        node: &TypedNode,
    ) -> TractResult<Option<TypedModelPatch>> {
        self.inner.declutter(model, node)
    }

    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }
}
