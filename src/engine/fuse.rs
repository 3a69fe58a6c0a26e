//! Graph fusions applied to the protobuf before tract sees it, for load speed: tract's
//! optimiser costs time that grows faster than the node count (on a 1,493-node detector,
//! decluttering alone took 265 ms natively), so each node removed here is load time saved,
//! and the fused operators also run faster. Both are the folds onnxruntime makes at session
//! creation; each changes results only by float rounding.
//!
//! - `Conv` → `BatchNormalization` (inference mode, every parameter a constant, the
//!   convolution's output used by nothing else) → one `Conv` with the normalisation folded
//!   into its weights and bias: `w' = w · s`, `b' = (b − mean) · s + β` with
//!   `s = γ / √(var + ε)` per output channel.
//! - `x · Clip(x + 3, 0, 6) / 6` (the hard-swish of MobileNetV3 and of detectors built on it;
//!   `· (1/6)` in place of `/ 6`, either operand order) → `HardSwish(x)`. The constants must
//!   be scalars, or one-element vectors where `x` comes from an operator whose output has at
//!   least two dimensions (so broadcasting cannot change the output's shape).
//!
//! - `ReduceMax(Concat(Unsqueeze(xᵢ, a)…, a), [a], keepdims = 0)` (`torch.stack(…).max(-1)`)
//!   → `Max(x₁, …, xₙ)`; `Min`, `Sum` and `Mean` likewise (see [`stacked_reduces`]).
//!
//! - `Gather(Mul(Cast(W), S), i)` with `W` and `S` constants (an embedding table stored as
//!   int8 with a scale per row) → `Mul(Cast(Gather(W, i)), Gather(S, i))`: dequantises the
//!   rows a run reads instead of the whole table (see [`gathered_dequants`]).
//!
//! - `ConvInteger` and `MatMulInteger` with constant 8-bit weights → the float `Conv` or
//!   `MatMul` of the zero-point-corrected operands, cast back to int32 (see
//!   [`float_integer_ops`]).
//!
//! - `DequantizeLinear(QuantizeLinear(x, s, z), s, z)` with one scalar scale and zero point →
//!   one element-wise operator (see [`super::quant`]).
//!
//! - `DequantizeLinear(W, s, z)` with every input a constant (the weights of a model quantised
//!   in the QDQ format) → the float32 constant it computes (see [`constant_dequants`]).
//!
//! Only the top-level graph is fused; a name a subgraph reads is never fused away.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;

use pb::tensor_proto::DataType;

use super::rewrite::{self, elements, float_tensor};

/// A constant of the graph: an initializer (also one a graph input of the same name lists,
/// as models before IR version 4 do: tract and the engine's schema treat it as a constant
/// too) or a `Constant` node's tensor.
fn constants(graph: &pb::GraphProto) -> HashMap<&str, &pb::TensorProto> {
    let mut out: HashMap<&str, &pb::TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .collect();
    for n in &graph.node {
        if let (true, [output]) = (n.op_type == "Constant" && is_onnx(n), n.output.as_slice()) {
            if let Some(t) = n
                .attribute
                .iter()
                .find(|a| a.name == "value")
                .and_then(|a| a.t.as_ref())
            {
                out.insert(output.as_str(), t);
            }
        }
    }
    out
}

fn is_onnx(n: &pb::NodeProto) -> bool {
    n.domain.is_empty() || n.domain == "ai.onnx"
}

/// How many times each value name is read: node inputs (subgraphs included, which may read
/// the outer graph's names) and graph outputs.
fn reads(graph: &pb::GraphProto) -> HashMap<String, usize> {
    fn walk(graph: &pb::GraphProto, out: &mut HashMap<String, usize>, depth: usize) {
        if depth > 16 {
            return;
        }
        for n in &graph.node {
            for i in n.input.iter().filter(|i| !i.is_empty()) {
                *out.entry(i.clone()).or_default() += 1;
            }
            for a in &n.attribute {
                for g in a.g.iter().chain(a.graphs.iter()) {
                    walk(g, out, depth + 1);
                }
            }
        }
        for o in &graph.output {
            *out.entry(o.name.clone()).or_default() += 1;
        }
    }
    let mut out = HashMap::new();
    walk(graph, &mut out, 0);
    out
}

/// The values of a float tensor with exactly `count` elements.
fn float_values(t: &pb::TensorProto, count: usize) -> Option<Vec<f32>> {
    if t.data_type != DataType::Float as i32 {
        return None;
    }
    let elements = t
        .dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?))?;
    if elements != count {
        return None;
    }
    let values: Vec<f32> = if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        t.raw_data
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(f32::from_le_bytes))
            .collect()
    };
    (values.len() == count && (t.raw_data.is_empty() || t.raw_data.len() == count * 4))
        .then_some(values)
}

fn attr<'a>(n: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

/// What the fusions did, for tests and profiling.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Fused {
    pub batch_norms: usize,
    pub hard_swishes: usize,
    pub stacked_reduces: usize,
    pub gathered_dequants: usize,
    pub float_integer_ops: usize,
    pub quantize_dequantize: usize,
    pub constant_dequants: usize,
}

/// Fuses the top-level graph in place.
pub(super) fn fuse(graph: &mut pb::GraphProto) -> Fused {
    let mut fused = Fused::default();
    let mut dead_candidates: HashSet<String> = HashSet::new();
    fused.batch_norms = fold_batch_norms(graph, &mut dead_candidates);
    fused.hard_swishes = hard_swishes(graph, &mut dead_candidates);
    fused.stacked_reduces = stacked_reduces(graph, &mut dead_candidates);
    fused.gathered_dequants = gathered_dequants(graph);
    fused.float_integer_ops = float_integer_ops(graph, &mut dead_candidates);
    fused.quantize_dequantize = quantize_dequantize_pairs(graph);
    fused.constant_dequants = constant_dequants(graph, &mut dead_candidates);
    if !dead_candidates.is_empty() {
        drop_dead_constants(graph, &dead_candidates);
    }
    fused
}

/// The single non-empty output of a node.
fn only_output(n: &pb::NodeProto) -> Option<&str> {
    match n.output.iter().filter(|o| !o.is_empty()).count() {
        1 => n.output.iter().find(|o| !o.is_empty()).map(String::as_str),
        _ => None,
    }
}

/// The index of the node that writes each value.
fn producers(graph: &pb::GraphProto) -> HashMap<&str, usize> {
    graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect()
}

/// Removes the nodes at `indices`.
fn drop_nodes(graph: &mut pb::GraphProto, indices: &HashSet<usize>) {
    if indices.is_empty() {
        return;
    }
    let mut i = 0;
    graph.node.retain(|_| {
        i += 1;
        !indices.contains(&(i - 1))
    });
}

/// A `Conv` → `BatchNormalization` pair to fold: the two nodes and the folded parameters.
struct BatchNormFold {
    conv: usize,
    bn: usize,
    weight: pb::TensorProto,
    bias: pb::TensorProto,
}

/// The fold of the batch normalisation `bn` (node `bi`) into the convolution that writes its
/// input.
fn batch_norm_fold(
    graph: &pb::GraphProto,
    bi: usize,
    bn: &pb::NodeProto,
    producer: &HashMap<&str, usize>,
    reads: &HashMap<String, usize>,
    consts: &HashMap<&str, &pb::TensorProto>,
) -> Option<BatchNormFold> {
    if bn.op_type != "BatchNormalization"
        || !is_onnx(bn)
        || bn.output.iter().skip(1).any(|o| !o.is_empty())
        || attr(bn, "training_mode").is_some_and(|a| a.i != 0)
        || attr(bn, "spatial").is_some_and(|a| a.i == 0)
    {
        return None;
    }
    let [x, gamma, beta, mean, var] = bn.input.as_slice() else {
        return None;
    };
    let ci = *producer.get(x.as_str())?;
    let conv = graph.node.get(ci)?;
    if conv.op_type != "Conv" || !is_onnx(conv) || only_output(conv) != Some(x.as_str()) {
        return None;
    }
    if reads.get(x.as_str()) != Some(&1) {
        return None;
    }
    let (weight_name, bias_name) = match conv.input.as_slice() {
        [_, w] => (w, None),
        [_, w, b] => (w, Some(b).filter(|b| !b.is_empty())),
        _ => return None,
    };
    let weight = consts.get(weight_name.as_str())?;
    let (&out_channels, rest) = weight.dims.split_first()?;
    if rest.len() < 2 {
        return None;
    }
    let channels = usize::try_from(out_channels).ok().filter(|&c| c > 0)?;
    let per_channel = rest
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?))
        .filter(|&p| p > 0)?;
    let w = float_values(weight, channels.checked_mul(per_channel)?)?;
    let param = |name: &String| {
        consts
            .get(name.as_str())
            .and_then(|t| float_values(t, channels))
    };
    let (gamma, beta, mean, var) = (param(gamma)?, param(beta)?, param(mean)?, param(var)?);
    let bias = match bias_name {
        Some(b) => param(b)?,
        None => vec![0.0; channels],
    };
    let epsilon = f64::from(attr(bn, "epsilon").map_or(1e-5, |a| a.f));
    let scale: Vec<f64> = gamma
        .iter()
        .zip(&var)
        .map(|(&g, &v)| f64::from(g) / (f64::from(v) + epsilon).sqrt())
        .collect();
    if scale.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let new_w: Vec<f32> = w
        .chunks_exact(per_channel)
        .zip(&scale)
        .flat_map(|(row, &s)| row.iter().map(move |&x| (f64::from(x) * s) as f32))
        .collect();
    let new_b: Vec<f32> = bias
        .iter()
        .zip(&mean)
        .zip(&beta)
        .zip(&scale)
        .map(|(((&b, &m), &beta), &s)| ((f64::from(b) - f64::from(m)) * s + f64::from(beta)) as f32)
        .collect();
    let prefix = format!("edge_registry_fuse_bn_{bi}");
    Some(BatchNormFold {
        conv: ci,
        bn: bi,
        weight: float_tensor(format!("{prefix}_weight"), weight.dims.clone(), &new_w),
        bias: float_tensor(format!("{prefix}_bias"), vec![out_channels], &new_b),
    })
}

fn fold_batch_norms(graph: &mut pb::GraphProto, dead: &mut HashSet<String>) -> usize {
    let folds: Vec<BatchNormFold> = {
        let reads = reads(graph);
        let producer = producers(graph);
        let consts = constants(graph);
        graph
            .node
            .iter()
            .enumerate()
            .filter_map(|(bi, bn)| batch_norm_fold(graph, bi, bn, &producer, &reads, &consts))
            .collect()
    };
    let count = folds.len();
    let mut gone = HashSet::new();
    for fold in folds {
        let Some(bn) = graph.node.get(fold.bn) else {
            continue;
        };
        let Some(bn_out) = bn.output.first().cloned() else {
            continue;
        };
        dead.extend(bn.input.iter().skip(1).cloned());
        let Some(conv) = graph.node.get_mut(fold.conv) else {
            continue;
        };
        dead.extend(conv.input.iter().skip(1).filter(|i| !i.is_empty()).cloned());
        conv.input.truncate(1);
        conv.input.push(fold.weight.name.clone());
        conv.input.push(fold.bias.name.clone());
        conv.output = vec![bn_out];
        graph.initializer.push(fold.weight);
        graph.initializer.push(fold.bias);
        gone.insert(fold.bn);
    }
    drop_nodes(graph, &gone);
    count
}

/// The single float value of a scalar (rank 0) or, when `vector_ok`, one-element vector.
fn scalar(consts: &HashMap<&str, &pb::TensorProto>, name: &str, vector_ok: bool) -> Option<f32> {
    let t = consts.get(name)?;
    if t.dims.len() > 1 || (t.dims.len() == 1 && !vector_ok) {
        return None;
    }
    float_values(t, 1)?.first().copied()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

/// The view of a graph the hard-swish matcher reads.
struct Matcher<'g> {
    graph: &'g pb::GraphProto,
    reads: HashMap<String, usize>,
    producer: HashMap<&'g str, usize>,
    consts: HashMap<&'g str, &'g pb::TensorProto>,
}

impl<'g> Matcher<'g> {
    /// The node writing `name` (its only output), read once, of type `op`.
    fn single(&self, name: &str, op: &str) -> Option<(usize, &'g pb::NodeProto)> {
        let i = *self.producer.get(name)?;
        let n = self.graph.node.get(i)?;
        (n.op_type == op
            && is_onnx(n)
            && only_output(n) == Some(name)
            && self.reads.get(name) == Some(&1))
        .then_some((i, n))
    }

    /// Whether `x` is written by an operator whose output has at least two dimensions.
    fn ranked(&self, x: &str) -> bool {
        self.producer
            .get(x)
            .and_then(|&i| self.graph.node.get(i))
            .is_some_and(|n| {
                is_onnx(n)
                    && matches!(
                        n.op_type.as_str(),
                        "Conv" | "ConvTranspose" | "BatchNormalization" | "Gemm"
                    )
            })
    }

    /// `x · Clip(x + 3, 0, 6)` written to `product`: the Add, Clip and Mul nodes and `x`.
    fn clipped_product(&self, product: &str) -> Option<([usize; 3], String)> {
        let (mi, mul) = self.single(product, "Mul")?;
        let [a, b] = mul.input.as_slice() else {
            return None;
        };
        [(a, b), (b, a)].into_iter().find_map(|(x, clipped)| {
            let (ci, clip) = self.single(clipped, "Clip")?;
            let (sum, bounds) = match clip.input.as_slice() {
                [sum, lo, hi] => (sum, Some((lo, hi))),
                [sum] => (sum, None),
                _ => return None,
            };
            let (ai, add) = self.single(sum, "Add")?;
            let three = match add.input.as_slice() {
                [p, q] if p == x => q,
                [p, q] if q == x => p,
                _ => return None,
            };
            let vector_ok = self.ranked(x);
            let (lo, hi) = match bounds {
                Some((lo, hi)) => (
                    scalar(&self.consts, lo, vector_ok)?,
                    scalar(&self.consts, hi, vector_ok)?,
                ),
                None => (attr(clip, "min")?.f, attr(clip, "max")?.f),
            };
            let three = scalar(&self.consts, three, vector_ok)?;
            (close(three, 3.0) && close(lo, 0.0) && close(hi, 6.0))
                .then(|| ([ai, ci, mi], x.clone()))
        })
    }

    /// The hard-swish ending at `last` (`/ 6` or `· (1/6)`): the three nodes before it and `x`.
    fn hard_swish(&self, last: &pb::NodeProto) -> Option<([usize; 3], String)> {
        if !is_onnx(last) || only_output(last).is_none() {
            return None;
        }
        let [product, divisor] = last.input.as_slice() else {
            return None;
        };
        let factor = match last.op_type.as_str() {
            "Div" => 6.0,
            "Mul" => 1.0 / 6.0,
            _ => return None,
        };
        let (chain, x) = self.clipped_product(product)?;
        scalar(&self.consts, divisor, self.ranked(&x))
            .is_some_and(|v| close(v, factor))
            .then_some((chain, x))
    }
}

fn hard_swishes(graph: &mut pb::GraphProto, dead: &mut HashSet<String>) -> usize {
    let plans: Vec<(usize, [usize; 3], String)> = {
        let m = Matcher {
            graph,
            reads: reads(graph),
            producer: producers(graph),
            consts: constants(graph),
        };
        let mut taken = HashSet::new();
        let mut plans = Vec::new();
        for (li, last) in graph.node.iter().enumerate() {
            let Some((chain, x)) = m.hard_swish(last) else {
                continue;
            };
            if chain.iter().chain([&li]).any(|i| taken.contains(i)) {
                continue;
            }
            taken.extend(chain.iter().copied().chain([li]));
            plans.push((li, chain, x));
        }
        plans
    };
    let count = plans.len();
    let mut gone = HashSet::new();
    for (li, chain, x) in plans {
        for i in chain {
            if let Some(n) = graph.node.get(i) {
                dead.extend(n.input.iter().filter(|s| !s.is_empty()).cloned());
            }
            gone.insert(i);
        }
        if let Some(last) = graph.node.get_mut(li) {
            dead.extend(last.input.iter().cloned());
            last.op_type = "HardSwish".into();
            last.domain = String::new();
            last.input = vec![x];
            last.attribute.clear();
        }
    }
    drop_nodes(graph, &gone);
    count
}

/// The values of an integer tensor (int64 or int32), at most 16 of them.
fn int_values(t: &pb::TensorProto) -> Option<Vec<i64>> {
    let values: Vec<i64> = match (t.data_type, t.raw_data.is_empty()) {
        (x, true) if x == DataType::Int64 as i32 => t.int64_data.clone(),
        (x, true) if x == DataType::Int32 as i32 => {
            t.int32_data.iter().map(|&v| v.into()).collect()
        }
        (x, false) if x == DataType::Int64 as i32 => t
            .raw_data
            .chunks_exact(8)
            .filter_map(|c| c.try_into().ok().map(i64::from_le_bytes))
            .collect(),
        (x, false) if x == DataType::Int32 as i32 => t
            .raw_data
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(|b| i32::from_le_bytes(b).into()))
            .collect(),
        _ => return None,
    };
    (values.len() <= 16).then_some(values)
}

/// The one axis a node names, by its `axes` input (constant) or attribute.
fn single_axis(m: &Matcher<'_>, n: &pb::NodeProto) -> Option<i64> {
    let axes = match n.input.get(1).filter(|a| !a.is_empty()) {
        Some(name) => int_values(m.consts.get(name.as_str())?)?,
        None => attr(n, "axes")?.ints.clone(),
    };
    match axes.as_slice() {
        [a] => Some(*a),
        _ => None,
    }
}

/// `ReduceMax(Concat(Unsqueeze(x₁, a), …, Unsqueeze(xₙ, a), axis = a), axes = [a],
/// keepdims = 0)`, as `torch.stack(xs, -1).max(-1)` exports: the variadic element-wise `Max` of
/// the `xᵢ` (`Min`, `Sum` and `Mean` likewise), with no copy and no reduction over a short
/// strided axis, which tract computes one output element at a time (79% of a word segmenter's
/// run). Every axis must be the same literal (the same axis of the stacked tensor); each
/// intermediate value must be read only by the next node.
fn stacked_reduces(graph: &mut pb::GraphProto, dead: &mut HashSet<String>) -> usize {
    let plans: Vec<(usize, Vec<usize>, &'static str, Vec<String>)> = {
        let m = Matcher {
            graph,
            reads: reads(graph),
            producer: producers(graph),
            consts: constants(graph),
        };
        let mut plans = Vec::new();
        for (ri, reduce) in graph.node.iter().enumerate() {
            let op = match (is_onnx(reduce), reduce.op_type.as_str()) {
                (true, "ReduceMax") => "Max",
                (true, "ReduceMin") => "Min",
                (true, "ReduceSum") => "Sum",
                (true, "ReduceMean") => "Mean",
                _ => continue,
            };
            let keepdims = attr(reduce, "keepdims").map_or(1, |a| a.i);
            let (Some(axis), Some(stacked), 0) =
                (single_axis(&m, reduce), reduce.input.first(), keepdims)
            else {
                continue;
            };
            let Some((ci, concat)) = m.single(stacked, "Concat") else {
                continue;
            };
            if attr(concat, "axis").map(|a| a.i) != Some(axis) || concat.input.is_empty() {
                continue;
            }
            let parts: Option<Vec<(usize, String)>> = concat
                .input
                .iter()
                .map(|name| {
                    let (ui, unsqueeze) = m.single(name, "Unsqueeze")?;
                    (single_axis(&m, unsqueeze)? == axis)
                        .then(|| (ui, unsqueeze.input.first().cloned()))
                        .and_then(|(ui, x)| Some((ui, x.filter(|x| !x.is_empty())?)))
                })
                .collect();
            let Some(parts) = parts else {
                continue;
            };
            let mut chain = vec![ci];
            chain.extend(parts.iter().map(|(ui, _)| *ui));
            plans.push((ri, chain, op, parts.into_iter().map(|(_, x)| x).collect()));
        }
        plans
    };
    let count = plans.len();
    let mut gone = HashSet::new();
    for (ri, chain, op, xs) in plans {
        for i in chain {
            if let Some(n) = graph.node.get(i) {
                dead.extend(n.input.iter().filter(|s| !s.is_empty()).cloned());
            }
            gone.insert(i);
        }
        if let Some(reduce) = graph.node.get_mut(ri) {
            dead.extend(reduce.input.iter().cloned());
            reduce.op_type = op.into();
            reduce.domain = String::new();
            reduce.input = xs;
            reduce.attribute.clear();
        }
    }
    drop_nodes(graph, &gone);
    count
}

/// Value names no node, initializer or input of a graph uses yet.
struct Names(HashSet<String>);

impl Names {
    fn of(graph: &pb::GraphProto) -> Names {
        Names(
            graph
                .node
                .iter()
                .flat_map(|n| n.input.iter().chain(&n.output).chain([&n.name]))
                .chain(graph.initializer.iter().map(|t| &t.name))
                .chain(graph.input.iter().map(|i| &i.name))
                .cloned()
                .collect(),
        )
    }

    /// A new name derived from `base`, reserved.
    fn fresh(&mut self, base: &str) -> String {
        let mut name = format!("{base}_edge_registry");
        let mut k = 0;
        while self.0.contains(&name) {
            k += 1;
            name = format!("{base}_edge_registry_{k}");
        }
        self.0.insert(name.clone());
        name
    }
}

/// Drops the nodes at `gone` and puts each `replaced` list where its node was (a list starts
/// at its node's place, so what it reads is written before it).
fn splice(
    graph: &mut pb::GraphProto,
    gone: &HashSet<usize>,
    mut replaced: HashMap<usize, Vec<pb::NodeProto>>,
) {
    let old = std::mem::take(&mut graph.node);
    for (i, n) in old.into_iter().enumerate() {
        if gone.contains(&i) {
            continue;
        }
        match replaced.remove(&i) {
            Some(nodes) => graph.node.extend(nodes),
            None => graph.node.push(n),
        }
    }
}

/// A `Gather` of a dequantised constant to reorder: the three nodes and what they read.
struct GatherPlan {
    gather: usize,
    cast: usize,
    mul: usize,
    weight: String,
    scale: String,
    /// Whether the scale has the gathered axis (and is gathered with the weight) or only
    /// dimensions after it (and broadcasts over the gathered rows unchanged).
    gather_scale: bool,
}

/// `Gather(Mul(Cast(W), S), i, axis)`, `W` and `S` constants, each intermediate read only by
/// the next node: `Mul(Cast(Gather(W, i, axis)), S')`, where `S'` is `S` gathered the same way
/// when `S` has the gathered axis at full size, and `S` itself when it has only dimensions
/// after that axis. A quantised embedding table exported as int8 rows, a cast and a per-row
/// scale is then dequantised a few rows a run instead of whole (tract keeps the product
/// unfolded when the float table exceeds its constant-folding budget, and recomputed all
/// 30,522 × 384 values on every run of a sentence encoder: 58% of the run). Exact: both
/// orders compute the same products of the same values.
fn gathered_dequants(graph: &mut pb::GraphProto) -> usize {
    let plans: Vec<GatherPlan> = {
        let m = Matcher {
            graph,
            reads: reads(graph),
            producer: producers(graph),
            consts: constants(graph),
        };
        graph
            .node
            .iter()
            .enumerate()
            .filter_map(|(gi, gather)| gathered_dequant(&m, gi, gather))
            .collect()
    };
    if plans.is_empty() {
        return 0;
    }
    let mut names = Names::of(graph);
    let mut gone = HashSet::new();
    let mut replaced: HashMap<usize, Vec<pb::NodeProto>> = HashMap::new();
    for plan in &plans {
        let (Some(gather), Some(cast), Some(mul)) = (
            graph.node.get(plan.gather),
            graph.node.get(plan.cast),
            graph.node.get(plan.mul),
        ) else {
            continue;
        };
        let (Some(indices), Some(output)) = (gather.input.get(1), only_output(gather)) else {
            continue;
        };
        let rows = names.fresh(&plan.weight);
        let mut new_gather = gather.clone();
        new_gather.input = vec![plan.weight.clone(), indices.clone()];
        new_gather.output = vec![rows.clone()];
        new_gather.name = rows.clone();
        let mut nodes = vec![new_gather];
        let scale = if plan.gather_scale {
            let scales = names.fresh(&plan.scale);
            let mut g = gather.clone();
            g.input = vec![plan.scale.clone(), indices.clone()];
            g.output = vec![scales.clone()];
            g.name = scales.clone();
            nodes.push(g);
            scales
        } else {
            plan.scale.clone()
        };
        let cast_rows = names.fresh(&rows);
        let mut new_cast = cast.clone();
        new_cast.input = vec![rows];
        new_cast.output = vec![cast_rows.clone()];
        let mut new_mul = mul.clone();
        new_mul.input = vec![cast_rows, scale];
        new_mul.output = vec![output.to_string()];
        nodes.extend([new_cast, new_mul]);
        replaced.insert(plan.gather, nodes);
        gone.extend([plan.cast, plan.mul]);
    }
    let count = replaced.len();
    splice(graph, &gone, replaced);
    count
}

/// The reordering of the `Gather` at `gi`, if it matches (see [`gathered_dequants`]).
fn gathered_dequant(m: &Matcher<'_>, gi: usize, gather: &pb::NodeProto) -> Option<GatherPlan> {
    if gather.op_type != "Gather" || !is_onnx(gather) || only_output(gather).is_none() {
        return None;
    }
    let [data, _indices] = gather.input.as_slice() else {
        return None;
    };
    let (mi, mul) = m.single(data, "Mul")?;
    let [p, q] = mul.input.as_slice() else {
        return None;
    };
    let axis = attr(gather, "axis").map_or(0, |a| a.i);
    [(p, q), (q, p)].into_iter().find_map(|(cast_out, scale)| {
        let (ci, cast) = m.single(cast_out, "Cast")?;
        let weight = cast.input.first()?;
        let w = m.consts.get(weight.as_str())?;
        let s = m.consts.get(scale.as_str())?;
        let rank = i64::try_from(w.dims.len()).ok()?;
        let a = if axis < 0 { axis + rank } else { axis };
        let a_ix = usize::try_from(a).ok().filter(|&a| a < w.dims.len())?;
        let s_rank = s.dims.len();
        let gather_scale = if s_rank < w.dims.len() - a_ix {
            false
        } else if s_rank == w.dims.len() && s.dims.get(a_ix) == w.dims.get(a_ix) {
            true
        } else {
            return None;
        };
        Some(GatherPlan {
            gather: gi,
            cast: ci,
            mul: mi,
            weight: weight.clone(),
            scale: scale.clone(),
            gather_scale,
        })
    })
}

/// The operators [`float_integer_ops`] rewrites.
const INTEGER_OPS: [(&str, &str); 2] = [("ConvInteger", "Conv"), ("MatMulInteger", "MatMul")];

/// `ConvInteger(x, w, x₀, w₀)` and `MatMulInteger(a, b, a₀, b₀)` with a constant 8-bit weight
/// (`w`, `b`) and a per-tensor activation zero point: `Cast(Conv(Cast(x) − Cast(x₀), w − w₀),
/// int32)` (likewise `MatMul`), the weight corrected and converted once at load. The products
/// of 8-bit values are integers below 2¹⁶ and their sums are exact in f32 up to 2²⁴, so the
/// output equals the integer operator's except on a sum beyond 2²⁴ (then it differs by
/// float rounding). Reason: tract computes these with its own int8 path, whose zero-point
/// correction sums the activations along a strided axis one element at a time (on
/// dynamically quantised OCR models, a fifth of the run, and no SIMD kernel in wasm), where the
/// float convolution and matrix product have tuned kernels on every target.
///
/// The weight's zero point is a scalar or one per output channel (`Conv`: axis 0 of `w`;
/// `MatMul`: the last axis of a 2-D `b`); the float weight is left out when it would exceed
/// 64 MiB.
fn float_integer_ops(graph: &mut pb::GraphProto, dead: &mut HashSet<String>) -> usize {
    let plans: Vec<(usize, pb::TensorProto)> = {
        let consts = constants(graph);
        let scalar_zeros: HashSet<&str> = graph
            .node
            .iter()
            .filter(|n| n.op_type == "DynamicQuantizeLinear" && is_onnx(n))
            .filter_map(|n| n.output.get(2).map(String::as_str))
            .collect();
        graph
            .node
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, float_weight(n, &consts, &scalar_zeros)?)))
            .collect()
    };
    if plans.is_empty() {
        return 0;
    }
    let mut names = Names::of(graph);
    let mut replaced = HashMap::new();
    for (i, mut weight) in plans {
        let Some(n) = graph.node.get(i) else {
            continue;
        };
        let Some(float_op) = INTEGER_OPS
            .iter()
            .find(|(op, _)| *op == n.op_type)
            .map(|(_, f)| *f)
        else {
            continue;
        };
        let (Some(x), Some(output)) = (n.input.first(), only_output(n)) else {
            continue;
        };
        let xf = names.fresh(x);
        let mut nodes = vec![cast(&mut names, x, &xf, DataType::Float)];
        let centred = match n.input.get(2).filter(|z| !z.is_empty()) {
            Some(zero) => {
                let zf = names.fresh(zero);
                let centred = names.fresh(&xf);
                nodes.push(cast(&mut names, zero, &zf, DataType::Float));
                nodes.push(pb::NodeProto {
                    op_type: "Sub".into(),
                    name: centred.clone(),
                    input: vec![xf, zf],
                    output: vec![centred.clone()],
                    ..Default::default()
                });
                centred
            }
            None => xf,
        };
        weight.name = names.fresh(n.input.get(1).map_or("w", String::as_str));
        let yf = names.fresh(output);
        nodes.push(pb::NodeProto {
            op_type: float_op.into(),
            name: n.name.clone(),
            input: vec![centred, weight.name.clone()],
            output: vec![yf.clone()],
            attribute: n.attribute.clone(),
            ..Default::default()
        });
        nodes.push(cast(&mut names, &yf, output, DataType::Int32));
        dead.extend(n.input.get(1).cloned());
        graph.initializer.push(weight);
        replaced.insert(i, nodes);
    }
    let count = replaced.len();
    splice(graph, &HashSet::new(), replaced);
    count
}

/// A `Cast` of `input` to `to`, written to `output`.
fn cast(names: &mut Names, input: &str, output: &str, to: DataType) -> pb::NodeProto {
    pb::NodeProto {
        op_type: "Cast".into(),
        name: names.fresh(output),
        input: vec![input.into()],
        output: vec![output.into()],
        attribute: vec![pb::AttributeProto {
            name: "to".into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i: to as i64,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The float weight `w − w₀` of an integer operator [`float_integer_ops`] rewrites.
fn float_weight(
    n: &pb::NodeProto,
    consts: &HashMap<&str, &pb::TensorProto>,
    scalar_zeros: &HashSet<&str>,
) -> Option<pb::TensorProto> {
    if !is_onnx(n) || !INTEGER_OPS.iter().any(|(op, _)| *op == n.op_type) {
        return None;
    }
    only_output(n)?;
    let conv = n.op_type == "ConvInteger";
    let w = match n.input.as_slice() {
        [x, w] | [x, w, _] | [x, w, _, _] if !x.is_empty() => consts.get(w.as_str())?,
        _ => return None,
    };
    // The activation's zero point must be one value: ConvInteger's always is, MatMulInteger's
    // may be one per row (which does not broadcast as a subtraction) unless it is a constant
    // of one element or written by DynamicQuantizeLinear.
    if let Some(z) = n.input.get(2).filter(|z| !z.is_empty()) {
        let one = match consts.get(z.as_str()) {
            Some(t) => elements(t)? == 1,
            None => conv || scalar_zeros.contains(z.as_str()),
        };
        if !one {
            return None;
        }
    }
    let values = rewrite::bytes_as_ints(w).ok()?;
    let count = elements(w)?;
    if values.len() != count || count > (64 << 20) / 4 {
        return None;
    }
    // The values sharing one zero point when there is one per channel: a convolution's
    // output channel is a block of `per` values, a matrix's column every `cols`-th value.
    let (channels, block) = if conv {
        let out = usize::try_from(*w.dims.first()?).ok().filter(|&o| o > 0)?;
        if w.dims.len() < 3 {
            return None;
        }
        // An empty weight (a zero dimension) has blocks of no values: left to tract.
        (out, Some(count / out).filter(|&b| b > 0)?)
    } else {
        let &[_, cols] = w.dims.as_slice() else {
            return None;
        };
        (usize::try_from(cols).ok().filter(|&c| c > 0)?, 1)
    };
    let zero: Vec<i32> = match n.input.get(3).filter(|z| !z.is_empty()) {
        Some(z) => {
            let t = consts.get(z.as_str())?;
            if t.data_type != w.data_type {
                return None;
            }
            rewrite::bytes_as_ints(t).ok()?
        }
        None => vec![0],
    };
    if zero.len() != 1 && zero.len() != channels {
        return None;
    }
    // Written straight into the tensor's bytes: a float buffer besides them cost a third
    // weight-sized allocation, whose first touch of each page is most of this loop's time.
    let mut raw = vec![0u8; count * 4];
    let put = |raw: &mut [u8], v: &[i32], z: &[i32]| {
        let zeros = z.iter().cycle();
        for ((o, &v), &z) in raw.chunks_exact_mut(4).zip(v).zip(zeros) {
            o.copy_from_slice(&((v - z) as f32).to_le_bytes());
        }
    };
    match (zero.as_slice(), conv) {
        ([z], _) => put(&mut raw, &values, &[*z]),
        (zs, true) => {
            for ((raw, v), &z) in raw.chunks_mut(block * 4).zip(values.chunks(block)).zip(zs) {
                put(raw, v, &[z]);
            }
        }
        (zs, false) => {
            for (raw, row) in raw.chunks_mut(channels * 4).zip(values.chunks(channels)) {
                put(raw, row, zs);
            }
        }
    }
    Some(pb::TensorProto {
        dims: w.dims.clone(),
        data_type: DataType::Float as i32,
        raw_data: raw,
        ..Default::default()
    })
}

/// A quantise-dequantise pair to fuse.
struct QdqPlan {
    q: usize,
    dq: usize,
    x: String,
    scale_name: String,
    scale: f32,
    zero_name: Option<String>,
    /// `q_min − z` and `q_max − z`.
    bounds: (i32, i32),
    /// Whether `x` is the only output of a matrix product or convolution (see
    /// [`quantize_dequantize_pairs`]).
    after_product: bool,
}

/// The value of a one-element float32, uint8 or int8 constant, as f32 (the integer types
/// with their range).
fn one_value(t: &pb::TensorProto) -> Option<(f32, Option<(i32, i32)>)> {
    if elements(t)? != 1 {
        return None;
    }
    match t.data_type {
        x if x == DataType::Float as i32 => Some((float_values(t, 1)?.first().copied()?, None)),
        x if x == DataType::Uint8 as i32 => {
            let v = *rewrite::bytes_as_ints(t).ok()?.first()?;
            Some((v as f32, Some((0, 255))))
        }
        x if x == DataType::Int8 as i32 => {
            let v = *rewrite::bytes_as_ints(t).ok()?.first()?;
            Some((v as f32, Some((-128, 127))))
        }
        _ => None,
    }
}

/// `DequantizeLinear(QuantizeLinear(x, s, z), s′, z′)` where `s` and `s′` are float32
/// constants of one value, `z` and `z′` uint8 or int8 constants of one value (or both absent:
/// uint8 zero), the values equal, and the quantised tensor read only by the dequantiser.
///
/// After a `MatMul`, `Gemm` or `Conv` whose output only the pair reads, the pair becomes
/// `Mul(1/s) → Max(q_min − z) → Min(q_max − z) → Add(1.5·2²³) → Sub(1.5·2²³) → Mul(s)`: tract
/// applies such scalar operations to the product's tiles while they are in registers, so the
/// quantisation costs no pass over memory (the Add/Sub pair rounds half to even, as
/// [`super::quant`] explains). Elsewhere it becomes one [`super::quant::OP_TYPE`] node
/// `(x, s, z)`, one pass, and five fewer nodes for tract's optimiser. On a quantised speech
/// transformer (natively, ms per run / load): the pairs 187 / 210, all as one node 148 / 199,
/// all as chains 121 / 379, this mix 129 / 285.
fn quantize_dequantize_pairs(graph: &mut pb::GraphProto) -> usize {
    let plans: Vec<QdqPlan> = {
        let m = Matcher {
            graph,
            reads: reads(graph),
            producer: producers(graph),
            consts: constants(graph),
        };
        graph
            .node
            .iter()
            .enumerate()
            .filter_map(|(di, dq)| qdq_plan(&m, di, dq))
            .collect()
    };
    if plans.is_empty() {
        return 0;
    }
    let mut names = Names::of(graph);
    let mut gone = HashSet::new();
    let mut replaced = HashMap::new();
    for plan in plans {
        let Some(output) = graph.node.get(plan.dq).and_then(only_output) else {
            continue;
        };
        let output = output.to_string();
        let nodes = if plan.after_product {
            let mut constant = |v: f32| {
                let n = names.fresh(&plan.scale_name);
                graph
                    .initializer
                    .push(float_tensor(n.clone(), vec![], &[v]));
                n
            };
            let magic = constant(12_582_912.0);
            let steps = [
                ("Mul", constant(plan.scale.recip())),
                ("Max", constant(plan.bounds.0 as f32)),
                ("Min", constant(plan.bounds.1 as f32)),
                ("Add", magic.clone()),
                ("Sub", magic),
                ("Mul", plan.scale_name.clone()),
            ];
            let mut nodes = Vec::with_capacity(steps.len());
            let mut previous = plan.x.clone();
            for (i, (op, k)) in steps.into_iter().enumerate() {
                let out = if i == 5 {
                    output.clone()
                } else {
                    names.fresh(&output)
                };
                nodes.push(pb::NodeProto {
                    op_type: op.into(),
                    name: names.fresh(&output),
                    input: vec![previous, k],
                    output: vec![out.clone()],
                    ..Default::default()
                });
                previous = out;
            }
            nodes
        } else {
            let zero = match plan.zero_name {
                Some(z) => z,
                None => {
                    let z = names.fresh(&plan.scale_name);
                    graph.initializer.push(pb::TensorProto {
                        name: z.clone(),
                        data_type: DataType::Uint8 as i32,
                        raw_data: vec![0],
                        ..Default::default()
                    });
                    z
                }
            };
            vec![pb::NodeProto {
                op_type: super::quant::OP_TYPE.into(),
                name: names.fresh(&output),
                input: vec![plan.x, plan.scale_name, zero],
                output: vec![output],
                ..Default::default()
            }]
        };
        gone.insert(plan.q);
        replaced.insert(plan.dq, nodes);
    }
    let count = replaced.len();
    splice(graph, &gone, replaced);
    count
}

/// The fusion of the dequantiser at `di`, if it and its quantiser match (see
/// [`quantize_dequantize_pairs`]).
fn qdq_plan(m: &Matcher<'_>, di: usize, dq: &pb::NodeProto) -> Option<QdqPlan> {
    if dq.op_type != "DequantizeLinear" || !is_onnx(dq) || only_output(dq).is_none() {
        return None;
    }
    let (qi, q) = m.single(dq.input.first()?, "QuantizeLinear")?;
    let plain = |n: &pb::NodeProto| {
        n.attribute
            .iter()
            .all(|a| a.name == "axis" || (a.name == "saturate" && a.i == 1))
    };
    if !plain(q) || !plain(dq) {
        return None;
    }
    let x = q.input.first().filter(|x| !x.is_empty())?;
    let value = |name: Option<&String>| {
        name.filter(|n| !n.is_empty())
            .and_then(|n| m.consts.get(n.as_str()))
            .and_then(|t| one_value(t))
    };
    let (scale_name, (scale, None)) = (q.input.get(1)?, value(q.input.get(1))?) else {
        return None;
    };
    if value(dq.input.get(1)) != Some((scale, None)) || !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let (zq, zd) = (q.input.get(2), dq.input.get(2));
    let (zero, range) = match (value(zq), value(zd)) {
        (Some((z, Some(range))), Some((z2, Some(range2)))) if z == z2 && range == range2 => {
            (z as i32, range)
        }
        (None, None) if zq.is_none_or(|z| z.is_empty()) && zd.is_none_or(|z| z.is_empty()) => {
            (0, (0, 255))
        }
        _ => return None,
    };
    let after_product = ["MatMul", "Gemm", "Conv"]
        .iter()
        .any(|op| m.single(x, op).is_some());
    Some(QdqPlan {
        q: qi,
        dq: di,
        x: x.clone(),
        scale_name: scale_name.clone(),
        scale,
        zero_name: zq.filter(|z| !z.is_empty()).cloned(),
        bounds: (range.0 - zero, range.1 - zero),
        after_product,
    })
}

/// The largest weight [`constant_dequants`] converts, in elements (256 MiB as float32).
const MAX_DEQUANTIZED: usize = 64 << 20;

/// `DequantizeLinear(W, s, z)` with `W` (int8, uint8 or int32), the scale `s` (float32) and
/// the zero point `z` (absent, or of `W`'s type) constants, per tensor or per axis, not
/// blocked: the node is replaced by the float32 initializer it computes, as tract computes it
/// (one scale and zero point: `(W − z) · s` in integers, then the product in f32; per axis:
/// `(f32(W) − f32(z)) · s`), so the outputs are the same to the bit. A model quantised in the
/// QDQ format (onnxruntime's quantiser) stores each weight so; tract evaluates each such node
/// twice while loading (once to type the graph, once to fold it), through its generic strided
/// element-wise path, and compares the results: on a quantised speech transformer (36 weights,
/// 7.8 M values) that was about half of its load. Left to tract: an output that is a graph
/// output or feeds a `Gather` (a large embedding table stays 8-bit, dequantised row by row
/// at run time), and weights over [`MAX_DEQUANTIZED`] values.
fn constant_dequants(graph: &mut pb::GraphProto, dead: &mut HashSet<String>) -> usize {
    let plans: Vec<(usize, pb::TensorProto)> = {
        let consts = constants(graph);
        let kept: HashSet<&str> = graph
            .output
            .iter()
            .map(|o| o.name.as_str())
            .chain(
                graph
                    .node
                    .iter()
                    .filter(|n| n.op_type == "Gather" && is_onnx(n))
                    .filter_map(|n| n.input.first().map(String::as_str)),
            )
            .collect();
        graph
            .node
            .iter()
            .enumerate()
            .filter(|(_, n)| only_output(n).is_some_and(|o| !kept.contains(o)))
            .filter_map(|(i, n)| Some((i, dequantized(n, &consts)?)))
            .collect()
    };
    let mut gone = HashSet::new();
    for (i, mut weight) in plans {
        let Some(n) = graph.node.get(i) else {
            continue;
        };
        let Some(output) = only_output(n) else {
            continue;
        };
        weight.name = output.to_string();
        dead.extend(n.input.iter().filter(|i| !i.is_empty()).cloned());
        graph.initializer.push(weight);
        gone.insert(i);
    }
    let count = gone.len();
    splice(graph, &gone, HashMap::new());
    count
}

/// The float32 tensor a constant `DequantizeLinear` computes (see [`constant_dequants`]).
fn dequantized(
    n: &pb::NodeProto,
    consts: &HashMap<&str, &pb::TensorProto>,
) -> Option<pb::TensorProto> {
    if n.op_type != "DequantizeLinear" || !is_onnx(n) {
        return None;
    }
    let int = |name: &str| attr(n, name).map(|a| a.i);
    if int("block_size").is_some_and(|b| b != 0)
        || int("output_dtype").is_some_and(|t| t != 0 && t != DataType::Float as i64)
    {
        return None;
    }
    let (x, s, z) = match n.input.as_slice() {
        [x, s] => (x, s, None),
        [x, s, z] => (x, s, Some(z).filter(|z| !z.is_empty())),
        _ => return None,
    };
    let x = *consts.get(x.as_str())?;
    let s = *consts.get(s.as_str())?;
    let count = elements(x)?;
    let integer = [DataType::Int8, DataType::Uint8, DataType::Int32]
        .iter()
        .any(|&t| x.data_type == t as i32);
    if !integer || count > MAX_DEQUANTIZED {
        return None;
    }
    let scales = float_values(s, elements(s)?)?;
    let zeros: Vec<i32> = match z {
        Some(z) => {
            let z = *consts.get(z.as_str())?;
            if z.data_type != x.data_type {
                return None;
            }
            integer_values(z, elements(z)?)?
        }
        None => vec![0],
    };
    let values = integer_values(x, count)?;
    let mut raw = vec![0u8; count.checked_mul(4)?];
    match (scales.as_slice(), zeros.as_slice()) {
        (&[s], &[z]) => {
            for (out, &v) in raw.chunks_exact_mut(4).zip(&values) {
                out.copy_from_slice(&(v.wrapping_sub(z) as f32 * s).to_le_bytes());
            }
        }
        _ => {
            // Per axis: each parameter has one value, or one per index of `axis`; the value
            // at flat index `k` has index `(k / inner) % len` along it.
            let rank = x.dims.len();
            let axis = int("axis").unwrap_or(1);
            let axis = if axis < 0 { axis + rank as i64 } else { axis };
            let axis = usize::try_from(axis).ok().filter(|&a| a < rank)?;
            let len = usize::try_from(*x.dims.get(axis)?).ok()?;
            let inner = x
                .dims
                .get(axis + 1..)?
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?))?;
            let along = |p: usize| p == 1 || p == len;
            if !along(scales.len()) || !along(zeros.len()) || len == 0 || inner == 0 {
                return None;
            }
            let spread = |p: Vec<f32>| match p.as_slice() {
                &[one] => vec![one; len],
                _ => p,
            };
            let scales = spread(scales);
            let zeros = spread(zeros.iter().map(|&z| z as f32).collect());
            let put = |out: &mut [u8], values: &[i32], s: &[f32], z: &[f32]| {
                for (((out, &v), &s), &z) in out.chunks_exact_mut(4).zip(values).zip(s).zip(z) {
                    out.copy_from_slice(&((v as f32 - z) * s).to_le_bytes());
                }
            };
            let block = inner.checked_mul(len)?;
            for (out, values) in raw.chunks_mut(block * 4).zip(values.chunks(block)) {
                if inner == 1 {
                    // The last axis (a matrix's columns): a row at a time.
                    put(out, values, &scales, &zeros);
                    continue;
                }
                let rows = out.chunks_mut(inner * 4).zip(values.chunks(inner));
                for ((out, values), (&s, &z)) in rows.zip(scales.iter().zip(&zeros)) {
                    for (out, &v) in out.chunks_exact_mut(4).zip(values) {
                        out.copy_from_slice(&((v as f32 - z) * s).to_le_bytes());
                    }
                }
            }
        }
    }
    Some(pb::TensorProto {
        dims: x.dims.clone(),
        data_type: DataType::Float as i32,
        raw_data: raw,
        ..Default::default()
    })
}

/// The values of an int8, uint8 or int32 tensor holding exactly `count` of them.
fn integer_values(t: &pb::TensorProto, count: usize) -> Option<Vec<i32>> {
    let raw = &t.raw_data;
    let values: Vec<i32> = match t.data_type {
        _ if raw.is_empty() => t.int32_data.clone(),
        d if d == DataType::Int8 as i32 => raw.iter().map(|&b| i32::from(b as i8)).collect(),
        d if d == DataType::Uint8 as i32 => raw.iter().map(|&b| i32::from(b)).collect(),
        d if d == DataType::Int32 as i32 && raw.len() % 4 == 0 => raw
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(i32::from_le_bytes))
            .collect(),
        _ => return None,
    };
    (values.len() == count).then_some(values)
}

/// Removes the initializers and `Constant` nodes among `candidates` that nothing reads any
/// more (and an initializer's graph-input entry, which would otherwise become an input).
fn drop_dead_constants(graph: &mut pb::GraphProto, candidates: &HashSet<String>) {
    let reads = reads(graph);
    let dead = |name: &str| candidates.contains(name) && !reads.contains_key(name);
    let removed: HashSet<String> = graph
        .initializer
        .iter()
        .filter(|t| dead(&t.name))
        .map(|t| t.name.clone())
        .collect();
    graph.initializer.retain(|t| !removed.contains(&t.name));
    graph.input.retain(|i| !removed.contains(&i.name));
    graph.node.retain(|n| {
        !(n.op_type == "Constant" && is_onnx(n) && matches!(n.output.as_slice(), [o] if dead(o)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::prelude::*;

    fn tensor(name: &str, dims: &[i64], values: &[f32]) -> pb::TensorProto {
        float_tensor(name.into(), dims.to_vec(), values)
    }

    /// Seeded values in [-1, 1) (plus `offset`).
    fn values(n: usize, seed: u64, offset: f32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0 + offset
            })
            .collect()
    }

    fn node(op: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
        pb::NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: output.into(),
            ..Default::default()
        }
    }

    fn constant(output: &str, t: pb::TensorProto) -> pb::NodeProto {
        let mut n = node("Constant", &[], output);
        n.attribute.push(pb::AttributeProto {
            name: "value".into(),
            r#type: pb::attribute_proto::AttributeType::Tensor as i32,
            t: Some(t),
            ..Default::default()
        });
        n
    }

    fn float_attr(name: &str, f: f32) -> pb::AttributeProto {
        pb::AttributeProto {
            name: name.into(),
            r#type: pb::attribute_proto::AttributeType::Float as i32,
            f,
            ..Default::default()
        }
    }

    fn value(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
        use pb::tensor_shape_proto::{dimension::Value, Dimension};
        pb::ValueInfoProto {
            name: name.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: DataType::Float as i32,
                    shape: Some(pb::TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| Dimension {
                                value: Some(Value::DimValue(d)),
                                ..Default::default()
                            })
                            .collect(),
                    }),
                })),
                denotation: String::new(),
            }),
            ..Default::default()
        }
    }

    /// x [1,2,5,5] → Conv (bias from a Constant node) → BatchNormalization → x·Clip(x+3,0,6)/6,
    /// the constants shaped as a PaddlePaddle export writes them.
    fn conv_bn_hard_swish() -> pb::ModelProto {
        let mut conv = node("Conv", &["x", "w", "b"], "conv");
        conv.attribute.push(pb::AttributeProto {
            name: "pads".into(),
            r#type: pb::attribute_proto::AttributeType::Ints as i32,
            ints: vec![1, 1, 1, 1],
            ..Default::default()
        });
        let mut bn = node(
            "BatchNormalization",
            &["conv", "gamma", "beta", "mean", "var"],
            "bn",
        );
        bn.attribute.push(float_attr("epsilon", 1e-3));
        let graph = pb::GraphProto {
            name: "g".into(),
            node: vec![
                constant("b", tensor("b", &[3], &values(3, 2, 0.0))),
                conv,
                bn,
                constant("three", tensor("three", &[1], &[3.0])),
                constant("zero", tensor("zero", &[], &[0.0])),
                constant("six", tensor("six", &[], &[6.0])),
                constant("six1", tensor("six1", &[1], &[6.0])),
                node("Add", &["bn", "three"], "add"),
                node("Clip", &["add", "zero", "six"], "clip"),
                node("Mul", &["bn", "clip"], "mul"),
                node("Div", &["mul", "six1"], "y"),
            ],
            initializer: vec![
                tensor("w", &[3, 2, 3, 3], &values(54, 1, 0.0)),
                tensor("gamma", &[3], &values(3, 3, 1.5)),
                tensor("beta", &[3], &values(3, 4, 0.0)),
                tensor("mean", &[3], &values(3, 5, 0.0)),
                tensor("var", &[3], &values(3, 6, 1.2)),
            ],
            input: vec![value("x", &[1, 2, 5, 5])],
            output: vec![value("y", &[1, 3, 5, 5])],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            graph: Some(graph),
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            ..Default::default()
        }
    }

    fn run(proto: &pb::ModelProto) -> Vec<f32> {
        let model = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let x: Vec<f32> = values(50, 7, 0.0).iter().map(|v| v * 4.0).collect();
        let input = tract_ndarray::Array4::from_shape_vec((1, 2, 5, 5), x).unwrap();
        let out = model.run(tvec!(Tensor::from(input).into())).unwrap();
        let view = out[0].to_plain_array_view::<f32>().unwrap();
        view.iter().copied().collect()
    }

    fn ops(graph: &pb::GraphProto) -> Vec<&str> {
        graph.node.iter().map(|n| n.op_type.as_str()).collect()
    }

    #[test]
    fn conv_batch_norm_and_hard_swish_fuse_to_two_nodes_with_the_same_outputs() {
        let original = conv_bn_hard_swish();
        let mut fused_model = original.clone();
        let graph = fused_model.graph.as_mut().unwrap();
        let fused = fuse(graph);
        assert_eq!(
            fused,
            Fused {
                batch_norms: 1,
                hard_swishes: 1,
                stacked_reduces: 0,
                gathered_dequants: 0,
                float_integer_ops: 0,
                quantize_dequantize: 0,
                constant_dequants: 0,
            }
        );
        assert_eq!(ops(graph), ["Conv", "HardSwish"]);
        // The folded weights replace the old ones; nothing dead is left behind.
        let names: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "edge_registry_fuse_bn_2_weight",
                "edge_registry_fuse_bn_2_bias"
            ]
        );
        let (a, b) = (run(&original), run(&fused_model));
        assert_eq!(a.len(), 75);
        // The hard-swish must be exercised on both sides of its bends.
        assert!(a.contains(&0.0) && a.iter().any(|&v| v > 3.0));
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-5, "max abs difference {worst}");
    }

    #[test]
    fn what_does_not_match_exactly_is_left_alone() {
        type Edit = Box<dyn Fn(&mut pb::GraphProto)>;
        let cases: Vec<(&str, Edit, Fused)> = vec![
            (
                "the convolution's output is also a graph output",
                Box::new(|g| g.output.push(value("conv", &[1, 3, 5, 5]))),
                Fused {
                    batch_norms: 0,
                    hard_swishes: 1,
                    stacked_reduces: 0,
                    gathered_dequants: 0,
                    float_integer_ops: 0,
                    quantize_dequantize: 0,
                    constant_dequants: 0,
                },
            ),
            (
                "training mode",
                Box::new(|g| {
                    g.node[2].attribute.push(pb::AttributeProto {
                        name: "training_mode".into(),
                        r#type: pb::attribute_proto::AttributeType::Int as i32,
                        i: 1,
                        ..Default::default()
                    })
                }),
                Fused {
                    batch_norms: 0,
                    hard_swishes: 1,
                    stacked_reduces: 0,
                    gathered_dequants: 0,
                    float_integer_ops: 0,
                    quantize_dequantize: 0,
                    constant_dequants: 0,
                },
            ),
            (
                "a batch-norm parameter computed at run time",
                Box::new(|g| {
                    g.initializer.retain(|t| t.name != "mean");
                    g.input.push(value("mean", &[3]));
                }),
                Fused {
                    batch_norms: 0,
                    hard_swishes: 1,
                    stacked_reduces: 0,
                    gathered_dequants: 0,
                    float_integer_ops: 0,
                    quantize_dequantize: 0,
                    constant_dequants: 0,
                },
            ),
            (
                "clip to 5, not 6",
                Box::new(|g| g.node[5] = constant("six", tensor("six", &[], &[5.0]))),
                Fused {
                    batch_norms: 1,
                    hard_swishes: 0,
                    stacked_reduces: 0,
                    gathered_dequants: 0,
                    float_integer_ops: 0,
                    quantize_dequantize: 0,
                    constant_dequants: 0,
                },
            ),
            (
                "a rank-2 constant (broadcasting could change the shape)",
                Box::new(|g| g.node[3] = constant("three", tensor("three", &[1, 1], &[3.0]))),
                Fused {
                    batch_norms: 1,
                    hard_swishes: 0,
                    stacked_reduces: 0,
                    gathered_dequants: 0,
                    float_integer_ops: 0,
                    quantize_dequantize: 0,
                    constant_dequants: 0,
                },
            ),
            (
                "the sum read twice",
                Box::new(|g| g.output.push(value("add", &[1, 3, 5, 5]))),
                Fused {
                    batch_norms: 1,
                    hard_swishes: 0,
                    stacked_reduces: 0,
                    gathered_dequants: 0,
                    float_integer_ops: 0,
                    quantize_dequantize: 0,
                    constant_dequants: 0,
                },
            ),
            (
                "x + 3 of another value",
                Box::new(|g| g.node[7].input[0] = "conv2".into()),
                Fused {
                    batch_norms: 1,
                    hard_swishes: 0,
                    stacked_reduces: 0,
                    gathered_dequants: 0,
                    float_integer_ops: 0,
                    quantize_dequantize: 0,
                    constant_dequants: 0,
                },
            ),
        ];
        for (what, edit, expected) in cases {
            let mut model = conv_bn_hard_swish();
            let graph = model.graph.as_mut().unwrap();
            edit(graph);
            assert_eq!(fuse(graph), expected, "{what}");
        }
    }

    #[test]
    fn one_element_vectors_need_an_input_of_known_rank() {
        // x·Clip(x+3,0,6)/6 of a graph input: `three` and `six1` are [1]-shaped, and a rank-0
        // x would come out of the original graph with shape [1].
        let mut model = conv_bn_hard_swish();
        let graph = model.graph.as_mut().unwrap();
        graph.node.drain(1..3);
        for n in &mut graph.node {
            for i in &mut n.input {
                if i == "bn" {
                    *i = "x".into();
                }
            }
        }
        assert_eq!(fuse(graph).hard_swishes, 0);
        // With scalar constants the rank does not matter.
        graph.node[1] = constant("three", tensor("three", &[], &[3.0]));
        graph.node[4] = constant("six1", tensor("six1", &[], &[6.0]));
        assert_eq!(fuse(graph).hard_swishes, 1);
        // The bias constant the convolution read was already unread: only what a fusion
        // leaves unread is dropped.
        assert_eq!(ops(graph), ["Constant", "HardSwish"]);
    }

    /// `reduce` over the stack of three `[2, 3]` inputs on `stack_axis`, reduced on
    /// `reduce_axis` with `keepdims`: the `torch.stack(…).max(-1)` export.
    fn stacked(reduce: &str, stack_axis: i64, reduce_axis: i64, keepdims: i64) -> pb::ModelProto {
        let axes = pb::TensorProto {
            name: "axes".into(),
            dims: vec![1],
            data_type: DataType::Int64 as i32,
            int64_data: vec![stack_axis],
            ..Default::default()
        };
        let mut nodes = vec![constant("axes", axes)];
        for i in 0..3 {
            nodes.push(node(
                "Unsqueeze",
                &[&format!("x{i}"), "axes"],
                &format!("u{i}"),
            ));
        }
        let mut concat = node("Concat", &["u0", "u1", "u2"], "stack");
        concat.attribute.push(pb::AttributeProto {
            name: "axis".into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i: stack_axis,
            ..Default::default()
        });
        nodes.push(concat);
        // ReduceSum takes its axes as an input from opset 13, the others from opset 18.
        let mut r = if reduce == "ReduceSum" {
            let raxes = pb::TensorProto {
                name: "raxes".into(),
                dims: vec![1],
                data_type: DataType::Int64 as i32,
                int64_data: vec![reduce_axis],
                ..Default::default()
            };
            nodes.push(constant("raxes", raxes));
            node(reduce, &["stack", "raxes"], "y")
        } else {
            let mut r = node(reduce, &["stack"], "y");
            r.attribute.push(pb::AttributeProto {
                name: "axes".into(),
                r#type: pb::attribute_proto::AttributeType::Ints as i32,
                ints: vec![reduce_axis],
                ..Default::default()
            });
            r
        };
        r.attribute.push(pb::AttributeProto {
            name: "keepdims".into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i: keepdims,
            ..Default::default()
        });
        nodes.push(r);
        let graph = pb::GraphProto {
            node: nodes,
            input: (0..3).map(|i| value(&format!("x{i}"), &[2, 3])).collect(),
            output: vec![value("y", &[2, 3])],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            graph: Some(graph),
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            ..Default::default()
        }
    }

    fn run_stacked(proto: &pb::ModelProto) -> Vec<f32> {
        let model = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let inputs = (0..3)
            .map(|i| {
                let x = tract_ndarray::Array2::from_shape_vec((2, 3), values(6, 20 + i, 0.0));
                Tensor::from(x.unwrap()).into()
            })
            .collect();
        let out = model.run(inputs).unwrap();
        let view = out[0].to_plain_array_view::<f32>().unwrap();
        view.iter().copied().collect()
    }

    #[test]
    fn a_reduction_over_a_stack_becomes_the_element_wise_operator_with_the_same_outputs() {
        for (reduce, op) in [
            ("ReduceMax", "Max"),
            ("ReduceMin", "Min"),
            ("ReduceSum", "Sum"),
            ("ReduceMean", "Mean"),
        ] {
            for axis in [-1, 2, 0] {
                let original = stacked(reduce, axis, axis, 0);
                let mut fused_model = original.clone();
                let graph = fused_model.graph.as_mut().unwrap();
                assert_eq!(fuse(graph).stacked_reduces, 1, "{reduce} {axis}");
                assert_eq!(ops(graph), [op], "{reduce} {axis}");
                assert!(graph.initializer.is_empty());
                let (a, b) = (run_stacked(&original), run_stacked(&fused_model));
                assert_eq!(a.len(), 6, "{reduce} {axis}");
                let worst = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-6, "{reduce} {axis}: max abs difference {worst}");
            }
        }
        // Kept dims, or a reduction over another axis than the stack's: left alone.
        for model in [
            stacked("ReduceMax", -1, -1, 1),
            stacked("ReduceMax", -1, 1, 0),
            stacked("ReduceMax", 2, -1, 0),
        ] {
            let mut model = model;
            let graph = model.graph.as_mut().unwrap();
            assert_eq!(fuse(graph).stacked_reduces, 0);
            assert_eq!(
                ops(graph),
                [
                    "Constant",
                    "Unsqueeze",
                    "Unsqueeze",
                    "Unsqueeze",
                    "Concat",
                    "ReduceMax"
                ]
            );
        }
    }

    /// `Gather(Mul(Cast(W), S), ids, axis)`: `W` int8 [5, 4], `S` float of `scale_dims`, `ids`
    /// an int64 [2, 3] input.
    fn dequantised_gather(scale_dims: &[i64], axis: i64, scale_first: bool) -> pb::ModelProto {
        let weight = pb::TensorProto {
            name: "w".into(),
            dims: vec![5, 4],
            data_type: DataType::Int8 as i32,
            raw_data: (0..20u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect(),
            ..Default::default()
        };
        let count = scale_dims.iter().product::<i64>() as usize;
        let mut cast = node("Cast", &["w"], "wf");
        cast.attribute.push(pb::AttributeProto {
            name: "to".into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i: DataType::Float as i64,
            ..Default::default()
        });
        let mul = if scale_first {
            node("Mul", &["s", "wf"], "table")
        } else {
            node("Mul", &["wf", "s"], "table")
        };
        let mut gather = node("Gather", &["table", "ids"], "y");
        gather.attribute.push(pb::AttributeProto {
            name: "axis".into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i: axis,
            ..Default::default()
        });
        let mut ids = value("ids", &[2, 3]);
        if let Some(pb::type_proto::Value::TensorType(t)) =
            ids.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            t.elem_type = DataType::Int64 as i32;
        }
        let graph = pb::GraphProto {
            node: vec![cast, mul, gather],
            initializer: vec![weight, tensor("s", scale_dims, &values(count, 11, 2.0))],
            input: vec![ids],
            output: vec![pb::ValueInfoProto {
                name: "y".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            graph: Some(graph),
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            ..Default::default()
        }
    }

    fn run_gather(proto: &pb::ModelProto) -> (Vec<usize>, Vec<f32>) {
        let model = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let ids = tract_ndarray::Array2::from_shape_vec((2, 3), vec![0i64, 3, -1, 2, 2, 1]);
        let out = model.run(tvec!(Tensor::from(ids.unwrap()).into())).unwrap();
        let view = out[0].to_plain_array_view::<f32>().unwrap();
        (view.shape().to_vec(), view.iter().copied().collect())
    }

    #[test]
    fn a_gather_of_a_dequantised_table_dequantises_only_the_gathered_rows_with_the_same_outputs() {
        let cases: [(&[i64], i64, bool); 6] = [
            (&[5, 1], 0, false), // a scale per row: gathered with the rows
            (&[5, 1], -2, true),
            (&[4], 0, false), // a scale per column: broadcast over the rows
            (&[], 0, true),   // one scale
            (&[], 1, false),
            (&[1, 4], 0, false), // refused below: no row axis to gather the scale by
        ];
        for (scale_dims, axis, scale_first) in cases {
            let original = dequantised_gather(scale_dims, axis, scale_first);
            let mut fused_model = original.clone();
            let graph = fused_model.graph.as_mut().unwrap();
            let fused = fuse(graph).gathered_dequants;
            let case = format!("{scale_dims:?} axis {axis}");
            if scale_dims == [1, 4] {
                assert_eq!(fused, 0, "{case}");
                assert_eq!(ops(graph), ["Cast", "Mul", "Gather"], "{case}");
                continue;
            }
            assert_eq!(fused, 1, "{case}");
            let expected: &[&str] = if scale_dims.len() == 2 {
                &["Gather", "Gather", "Cast", "Mul"]
            } else {
                &["Gather", "Cast", "Mul"]
            };
            assert_eq!(ops(graph), expected, "{case}");
            let (a, b) = (run_gather(&original), run_gather(&fused_model));
            assert_eq!(a.0, b.0, "{case}");
            assert_eq!(a.1.len(), if axis == 1 { 30 } else { 24 }, "{case}");
            assert_eq!(a.1, b.1, "{case}");
        }
        // A table something else also reads stays whole.
        let mut model = dequantised_gather(&[5, 1], 0, false);
        let graph = model.graph.as_mut().unwrap();
        graph.output.push(pb::ValueInfoProto {
            name: "table".into(),
            ..Default::default()
        });
        assert_eq!(fuse(graph).gathered_dequants, 0);
    }

    fn int_attr(name: &str, i: i64) -> pb::AttributeProto {
        pb::AttributeProto {
            name: name.into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i,
            ..Default::default()
        }
    }

    fn bytes_tensor(name: &str, dims: &[i64], dt: DataType, seed: u8) -> pb::TensorProto {
        let n = dims.iter().product::<i64>() as usize;
        pb::TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: dt as i32,
            raw_data: (0..n as u32)
                .map(|i| (i as u8).wrapping_mul(89).wrapping_add(seed))
                .collect(),
            ..Default::default()
        }
    }

    /// x [1,3,6,6] → DynamicQuantizeLinear → ConvInteger (uint8 weights, a zero point per
    /// output channel, padded) → Cast → y [1,4,6,6]; and the same x reshaped to [6,18] →
    /// MatMulInteger (int8 weights [18,5], a zero point per column) → Cast → z [6,5].
    fn integer_ops(weight_zero: bool) -> pb::ModelProto {
        let mut conv = node("ConvInteger", &["xq", "w", "xz", "wz"], "yi");
        if !weight_zero {
            conv.input.truncate(3);
        }
        conv.attribute.push(pb::AttributeProto {
            name: "pads".into(),
            r#type: pb::attribute_proto::AttributeType::Ints as i32,
            ints: vec![1, 1, 1, 1],
            ..Default::default()
        });
        let mut cast_y = node("Cast", &["yi"], "y");
        cast_y
            .attribute
            .push(int_attr("to", DataType::Float as i64));
        let mut cast_z = node("Cast", &["zi"], "z");
        cast_z
            .attribute
            .push(int_attr("to", DataType::Float as i64));
        let mut quantize = node("DynamicQuantizeLinear", &["x"], "xq");
        quantize.output = vec!["xq".into(), "xs".into(), "xz".into()];
        let shape = pb::TensorProto {
            name: "shape".into(),
            dims: vec![2],
            data_type: DataType::Int64 as i32,
            int64_data: vec![6, 18],
            ..Default::default()
        };
        let mut mm = node("MatMulInteger", &["aq", "b", "xz", "bz"], "zi");
        if !weight_zero {
            mm.input.truncate(3);
        }
        let graph = pb::GraphProto {
            node: vec![
                quantize,
                conv,
                cast_y,
                constant("shape", shape),
                node("Reshape", &["xq", "shape"], "aq"),
                mm,
                cast_z,
            ],
            initializer: vec![
                bytes_tensor("w", &[4, 3, 3, 3], DataType::Uint8, 7),
                bytes_tensor("wz", &[4], DataType::Uint8, 120),
                bytes_tensor("b", &[18, 5], DataType::Int8, 3),
                bytes_tensor("bz", &[5], DataType::Int8, 250),
            ],
            input: vec![value("x", &[1, 3, 6, 6])],
            output: vec![value("y", &[1, 4, 6, 6]), value("z", &[6, 5])],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            graph: Some(graph),
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            ..Default::default()
        }
    }

    fn run_integer_ops(proto: &pb::ModelProto) -> Vec<Vec<f32>> {
        let model = tract_onnx::onnx()
            .model_for_proto_model(proto)
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let x: Vec<f32> = values(108, 9, 0.3).iter().map(|v| v * 5.0).collect();
        let input = tract_ndarray::Array4::from_shape_vec((1, 3, 6, 6), x).unwrap();
        let out = model.run(tvec!(Tensor::from(input).into())).unwrap();
        out.iter()
            .map(|o| {
                o.to_plain_array_view::<f32>()
                    .unwrap()
                    .iter()
                    .copied()
                    .collect()
            })
            .collect()
    }

    #[test]
    fn integer_convolutions_and_products_run_in_float_with_the_same_outputs() {
        for weight_zero in [true, false] {
            let original = integer_ops(weight_zero);
            let mut fused_model = original.clone();
            let graph = fused_model.graph.as_mut().unwrap();
            assert_eq!(fuse(graph).float_integer_ops, 2);
            assert!(!ops(graph).contains(&"ConvInteger"));
            assert!(!ops(graph).contains(&"MatMulInteger"));
            let (a, b) = (run_integer_ops(&original), run_integer_ops(&fused_model));
            assert_eq!(a.len(), 2);
            assert_eq!((a[0].len(), a[1].len()), (144, 30));
            // Integer results, so equal exactly; and not all zero.
            assert_eq!(a, b, "weight zero points: {weight_zero}");
            assert!(a[0].iter().chain(&a[1]).any(|&v| v.abs() > 100.0));
        }
        // A weight computed at run time, or a zero point per row of the activations, is left
        // to tract.
        let mut model = integer_ops(true);
        let graph = model.graph.as_mut().unwrap();
        graph.initializer.retain(|t| t.name != "w");
        graph.input.push(value("w", &[4, 3, 3, 3]));
        let xz = graph
            .node
            .iter()
            .position(|n| n.op_type == "MatMulInteger")
            .unwrap();
        graph.node[xz].input[2] = "rowz".into();
        graph.input.push(value("rowz", &[6]));
        assert_eq!(fuse(graph).float_integer_ops, 0);
        // An empty convolution weight (a zero dimension) is left to tract, without a panic.
        let mut model = integer_ops(true);
        let graph = model.graph.as_mut().unwrap();
        let w = graph
            .initializer
            .iter_mut()
            .find(|t| t.name == "w")
            .unwrap();
        w.dims = vec![4, 0, 3, 3];
        w.raw_data.clear();
        assert_eq!(fuse(graph).float_integer_ops, 1);
        assert!(ops(graph).contains(&"ConvInteger"));
    }

    /// x [4,6] → QuantizeLinear → DequantizeLinear → a; x → MatMul(w [6,5]) → QuantizeLinear →
    /// DequantizeLinear → b. The zero point: `zero` (uint8 or int8, or none).
    fn qdq(zero: Option<(DataType, u8)>, dq_scale: f32) -> pb::ModelProto {
        let mut nodes = vec![node("MatMul", &["x", "w"], "p")];
        let mut initializer = vec![
            tensor("w", &[6, 5], &values(30, 31, 0.0)),
            tensor("s", &[], &[0.037]),
            tensor("s2", &[], &[dq_scale]),
        ];
        for (input, out) in [("x", "a"), ("p", "b")] {
            let (q, d) = (format!("{out}_q"), format!("{out}_z"));
            let mut qi = vec!["x", "s"];
            qi[0] = input;
            let mut quantize = node("QuantizeLinear", &qi, &q);
            let mut dequantize = node("DequantizeLinear", &[&q, "s2"], out);
            if let Some((dt, z)) = zero {
                initializer.push(pb::TensorProto {
                    name: d.clone(),
                    data_type: dt as i32,
                    raw_data: vec![z],
                    ..Default::default()
                });
                quantize.input.push(d.clone());
                dequantize.input.push(d);
            }
            nodes.extend([quantize, dequantize]);
        }
        let graph = pb::GraphProto {
            node: nodes,
            initializer,
            input: vec![value("x", &[4, 6])],
            output: vec![value("a", &[4, 6]), value("b", &[4, 5])],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            graph: Some(graph),
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            ..Default::default()
        }
    }

    /// Every float output of `proto` (the engine's operator set) run on the 2-D input `x`.
    fn run_2d(proto: &pb::ModelProto, shape: (usize, usize), x: Vec<f32>) -> Vec<Vec<f32>> {
        let model = super::super::checked_ops::framework()
            .model_for_proto_model(proto)
            .unwrap()
            .into_optimized()
            .unwrap()
            .into_runnable()
            .unwrap();
        let input = tract_ndarray::Array2::from_shape_vec(shape, x).unwrap();
        let out = model.run(tvec!(Tensor::from(input).into())).unwrap();
        out.iter()
            .map(|o| {
                o.to_plain_array_view::<f32>()
                    .unwrap()
                    .iter()
                    .copied()
                    .collect()
            })
            .collect()
    }

    fn run_qdq(proto: &pb::ModelProto) -> Vec<Vec<f32>> {
        // Spread over the whole quantised range and beyond it, ties included.
        let mut x: Vec<f32> = values(24, 41, 0.0).iter().map(|v| v * 9.0).collect();
        x[0] = 0.037 * 2.5;
        x[1] = -0.037 * 3.5;
        run_2d(proto, (4, 6), x)
    }

    #[test]
    fn quantise_dequantise_pairs_fuse_with_the_same_outputs() {
        for zero in [
            Some((DataType::Uint8, 128)),
            Some((DataType::Uint8, 3)),
            Some((DataType::Int8, 250)), // -6
            None,
        ] {
            let original = qdq(zero, 0.037);
            let mut fused_model = original.clone();
            let graph = fused_model.graph.as_mut().unwrap();
            assert_eq!(fuse(graph).quantize_dequantize, 2, "{zero:?}");
            // After the product, the chain of scalar operations; after the input, one node.
            assert_eq!(
                ops(graph),
                [
                    "MatMul",
                    super::super::quant::OP_TYPE,
                    "Mul",
                    "Max",
                    "Min",
                    "Add",
                    "Sub",
                    "Mul"
                ],
                "{zero:?}"
            );
            let (a, b) = (run_qdq(&original), run_qdq(&fused_model));
            assert_eq!(a, b, "{zero:?}");
            // Values clipped at a bound (several equal to the extreme), so the bounds count.
            let (lo, hi) = a[0]
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            let at = |b: f32| a[0].iter().filter(|&&v| v == b).count();
            assert!(at(lo) > 1 || at(hi) > 1, "{zero:?}: {:?}", a[0]);
        }
        // Different scales on the two halves: left alone.
        let mut model = qdq(Some((DataType::Uint8, 128)), 0.05);
        let graph = model.graph.as_mut().unwrap();
        assert_eq!(fuse(graph).quantize_dequantize, 0);
    }

    /// x [2,4] → MatMul with three dequantised constant weights, plus a dequantised bias, a
    /// dequantised table read by a `Gather` and a dequantised graph output (both left alone).
    fn constant_dequant_model() -> pb::ModelProto {
        let int = |name: &str, v: i64| pb::AttributeProto {
            name: name.into(),
            r#type: pb::attribute_proto::AttributeType::Int as i32,
            i: v,
            ..Default::default()
        };
        let int32s = |name: &str, values: &[i32]| pb::TensorProto {
            name: name.into(),
            dims: vec![values.len() as i64],
            data_type: DataType::Int32 as i32,
            int32_data: values.to_vec(),
            ..Default::default()
        };
        // Per axis along the last axis (written as -1), int8 with zero points.
        let mut dq1 = node("DequantizeLinear", &["w1", "s1", "z1"], "w1f");
        dq1.attribute.push(int("axis", -1));
        // Per axis along the first axis, uint8, one scale for all and a zero point per row.
        let mut dq2 = node("DequantizeLinear", &["w2", "s0", "z2"], "w2f");
        dq2.attribute.push(int("axis", 0));
        let graph = pb::GraphProto {
            node: vec![
                dq1,
                dq2,
                // One scale and zero point, from a `Constant` node.
                constant("s3", tensor("s3", &[], &[0.02])),
                node("DequantizeLinear", &["w3", "s3", "z3"], "w3f"),
                // An int32 bias without a zero point.
                node("DequantizeLinear", &["b", "sb"], "bf"),
                node("MatMul", &["x", "w1f"], "p1"),
                node("MatMul", &["x", "w2f"], "p2"),
                node("MatMul", &["x", "w3f"], "p3"),
                node("Add", &["p1", "bf"], "q1"),
                node("Add", &["q1", "p2"], "q2"),
                node("Add", &["q2", "p3"], "y"),
                node("DequantizeLinear", &["t", "s3"], "tf"),
                node("Gather", &["tf", "i"], "g"),
                node("DequantizeLinear", &["w3", "s3", "z3"], "o"),
            ],
            initializer: vec![
                bytes_tensor("w1", &[4, 3], DataType::Int8, 5),
                tensor("s1", &[3], &[0.5, 0.031, 0.25]),
                bytes_tensor("z1", &[3], DataType::Int8, 251),
                bytes_tensor("w2", &[4, 3], DataType::Uint8, 17),
                tensor("s0", &[1], &[0.0625]),
                bytes_tensor("z2", &[4], DataType::Uint8, 120),
                bytes_tensor("w3", &[4, 3], DataType::Int8, 77),
                bytes_tensor("z3", &[], DataType::Int8, 3),
                int32s("b", &[-70000, 3, 123456789]),
                tensor("sb", &[], &[0.001]),
                bytes_tensor("t", &[5, 3], DataType::Uint8, 9),
                pb::TensorProto {
                    name: "i".into(),
                    dims: vec![2],
                    data_type: DataType::Int64 as i32,
                    int64_data: vec![4, 1],
                    ..Default::default()
                },
            ],
            input: vec![value("x", &[2, 4])],
            output: vec![
                value("y", &[2, 3]),
                value("g", &[2, 3]),
                value("o", &[4, 3]),
            ],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            graph: Some(graph),
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            ..Default::default()
        }
    }

    fn run_constant_dequant(proto: &pb::ModelProto) -> Vec<Vec<f32>> {
        let x: Vec<f32> = values(8, 51, 0.0).iter().map(|v| v * 3.0).collect();
        run_2d(proto, (2, 4), x)
    }

    #[test]
    fn constant_dequantisers_become_float_initializers_with_the_same_outputs() {
        let original = constant_dequant_model();
        let mut fused_model = original.clone();
        let graph = fused_model.graph.as_mut().unwrap();
        assert_eq!(fuse(graph).constant_dequants, 4);
        // What a `Gather` reads and what is a graph output stay dequantisers.
        let left: Vec<&str> = graph
            .node
            .iter()
            .filter(|n| n.op_type == "DequantizeLinear")
            .map(|n| n.output[0].as_str())
            .collect();
        assert_eq!(left, ["tf", "o"]);
        let names: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        for gone in ["w1", "s1", "z1", "w2", "z2", "b", "sb", "s0"] {
            assert!(!names.contains(gone), "{gone} is still an initializer");
        }
        for kept in ["w3", "z3", "t", "w1f", "w2f", "w3f", "bf"] {
            assert!(names.contains(kept), "{kept} is not an initializer");
        }
        let (a, b) = (
            run_constant_dequant(&original),
            run_constant_dequant(&fused_model),
        );
        assert_eq!(a.len(), 3);
        // Bit for bit, and not trivially so.
        assert_eq!(a, b);
        assert!(a[0].iter().any(|v| v.abs() > 1000.0), "{:?}", a[0]);
    }

    #[test]
    fn dequantisers_outside_the_fold_are_left_alone() {
        type Edit = Box<dyn Fn(&mut pb::GraphProto)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "blocked",
                Box::new(|g| {
                    g.node[0].attribute.push(pb::AttributeProto {
                        name: "block_size".into(),
                        r#type: pb::attribute_proto::AttributeType::Int as i32,
                        i: 2,
                        ..Default::default()
                    })
                }),
            ),
            (
                "a weight read from an input",
                Box::new(|g| {
                    g.initializer.retain(|t| t.name != "w1");
                    g.input.push(value("w1", &[4, 3]));
                }),
            ),
            (
                "a scale per axis of the wrong length",
                Box::new(|g| g.initializer[1] = tensor("s1", &[2], &[0.5, 0.25])),
            ),
            (
                "a zero point of another type",
                Box::new(|g| g.initializer[2].data_type = DataType::Uint8 as i32),
            ),
        ];
        for (what, edit) in cases {
            let mut model = constant_dequant_model();
            let graph = model.graph.as_mut().unwrap();
            edit(graph);
            fuse(graph);
            assert!(
                graph.node.iter().any(|n| n.output[0] == "w1f"),
                "{what}: the dequantiser was folded"
            );
        }
    }
}
