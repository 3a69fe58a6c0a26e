//! Graph rewrites applied to the protobuf before tract sees it: operators tract lacks, or gets
//! wrong, expressed with standard operators it runs well. Each is checked against onnxruntime
//! on a real model of the zoo (scripts/zoo).
//!
//! - `ai.onnx.ml:Scaler` → `Cast` (to float) · `Sub` offset · `Mul` scale.
//! - `ai.onnx.ml:ZipMap` → `Identity`: the probabilities stay a `[N, classes]` float tensor
//!   (what skl2onnx writes with `zipmap: False`); the class labels are the model card's business.
//! - `ai.onnx.ml:TreeEnsembleClassifier` with two classes: tract 0.23 takes the label from the
//!   argmax of the single score column, so it is always the first class; the label is rewired as
//!   onnxruntime computes it (the positive class when its probability is above 0.5).
//! - `DequantizeLinear` (scalar scale) feeding a `Softmax` or `LogSoftmax` → `Cast` · `Sub` zero
//!   point · `Mul` scale: tract 0.23 folds a chain `DequantizeLinear → Softmax → QuantizeLinear`
//!   into a 256-entry lookup table as if the softmax were element-wise (it normalises over an
//!   axis), which made a quantized audio transformer's attention wrong; explicit dequantization
//!   keeps the chain out of that fold.
//! - `com.microsoft:DynamicQuantizeLSTM` → `LSTM` with the int8 weights dequantized
//!   (`(w - zero_point) * scale`, per direction) and transposed to the ONNX layout. onnxruntime
//!   also quantizes the activations to 8 bits on the fly; the float LSTM does not, so outputs
//!   differ from onnxruntime's by that quantization error.

use tract_onnx::pb;

use super::{bad, EngineError};

/// Operators the rewrites remove (so the engine supports them although tract does not).
pub(super) const REWRITTEN: [&str; 3] = ["Scaler", "ZipMap", "DynamicQuantizeLSTM"];

use pb::attribute_proto::AttributeType;
use pb::tensor_proto::DataType;

fn attr<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], name: String) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name,
        ..Default::default()
    }
}

fn int_attr(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

pub(super) fn float_tensor(name: String, dims: Vec<i64>, values: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name,
        dims,
        data_type: DataType::Float as i32,
        raw_data: f32_bytes(values),
        ..Default::default()
    }
}

/// `values` as little-endian bytes (one pass into a buffer of the final size: collecting
/// `flat_map(to_le_bytes)` grew the vector a byte at a time, a few ns per value on weights of
/// millions of values).
pub(super) fn f32_bytes(values: &[f32]) -> Vec<u8> {
    let mut raw = vec![0u8; values.len() * 4];
    for (out, v) in raw.chunks_exact_mut(4).zip(values) {
        out.copy_from_slice(&v.to_le_bytes());
    }
    raw
}

fn int64_tensor(name: String, dims: Vec<i64>, values: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name,
        dims,
        data_type: DataType::Int64 as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// The values of a float initializer.
fn floats(t: &pb::TensorProto) -> Result<Vec<f32>, EngineError> {
    if t.data_type != DataType::Float as i32 {
        return Err(bad(format!("`{}` is not a float tensor", t.name)));
    }
    if !t.raw_data.is_empty() {
        if t.raw_data.len() % 4 != 0 {
            return Err(bad(format!(
                "`{}`: raw data of {} bytes",
                t.name,
                t.raw_data.len()
            )));
        }
        return Ok(t
            .raw_data
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(f32::from_le_bytes))
            .collect());
    }
    Ok(t.float_data.clone())
}

/// The values of an int8 or uint8 initializer, as i32.
pub(super) fn bytes_as_ints(t: &pb::TensorProto) -> Result<Vec<i32>, EngineError> {
    let signed = t.data_type == DataType::Int8 as i32;
    if !signed && t.data_type != DataType::Uint8 as i32 {
        return Err(bad(format!("`{}` is not an 8-bit integer tensor", t.name)));
    }
    if !t.raw_data.is_empty() {
        return Ok(t
            .raw_data
            .iter()
            .map(|&b| {
                if signed {
                    i32::from(b as i8)
                } else {
                    i32::from(b)
                }
            })
            .collect());
    }
    Ok(t.int32_data.clone())
}

pub(super) fn elements(t: &pb::TensorProto) -> Option<usize> {
    t.dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?))
}

/// Rewrites `graph` (and its subgraphs) in place.
pub(super) fn rewrite(graph: &mut pb::GraphProto, depth: usize) -> Result<(), EngineError> {
    if depth > 16 {
        return Ok(());
    }
    let old = std::mem::take(&mut graph.node);
    let into_softmax: std::collections::HashSet<String> = old
        .iter()
        .filter(|n| matches!(n.op_type.as_str(), "Softmax" | "LogSoftmax") && n.domain.is_empty())
        .filter_map(|n| n.input.first().cloned())
        .collect();
    let mut nodes = Vec::with_capacity(old.len());
    let mut fresh = 0usize;
    for mut n in old {
        for a in &mut n.attribute {
            if let Some(g) = &mut a.g {
                rewrite(g, depth + 1)?;
            }
            for g in &mut a.graphs {
                rewrite(g, depth + 1)?;
            }
        }
        fresh += 1;
        let prefix = format!("edge_registry_rewrite_{fresh}");
        match (n.domain.as_str(), n.op_type.as_str()) {
            ("ai.onnx.ml", "Scaler") => scaler(&n, &prefix, &mut nodes, graph)?,
            ("ai.onnx.ml", "ZipMap") => zipmap(&n, &prefix, &mut nodes, graph)?,
            ("ai.onnx.ml", "TreeEnsembleClassifier") => {
                tree_classifier(n, &prefix, &mut nodes, graph)?
            }
            ("", "DequantizeLinear")
                if n.output.first().is_some_and(|o| into_softmax.contains(o)) =>
            {
                dequantize_linear(n, &prefix, &mut nodes, graph)
            }
            ("com.microsoft", "DynamicQuantizeLSTM") => {
                quantized_lstm(&n, &prefix, &mut nodes, graph)?
            }
            _ => nodes.push(n),
        }
    }
    graph.node = nodes;
    Ok(())
}

fn one_io(n: &pb::NodeProto) -> Result<(&str, &str), EngineError> {
    match (n.input.first(), n.output.first()) {
        (Some(i), Some(o)) if !i.is_empty() && !o.is_empty() => Ok((i, o)),
        _ => Err(bad(format!(
            "{} `{}` needs an input and an output",
            n.op_type, n.name
        ))),
    }
}

/// `DequantizeLinear` with a scalar scale as plain arithmetic (else unchanged).
fn dequantize_linear(
    n: pb::NodeProto,
    prefix: &str,
    nodes: &mut Vec<pb::NodeProto>,
    graph: &mut pb::GraphProto,
) {
    let scalar = |name: Option<&String>| {
        name.and_then(|name| graph.initializer.iter().find(|t| &t.name == name))
            .is_some_and(|t| elements(t) == Some(1))
    };
    let zero = n.input.get(2).filter(|z| !z.is_empty());
    let (Some(x), Some(scale), Some(y)) = (n.input.first(), n.input.get(1), n.output.first())
    else {
        nodes.push(n);
        return;
    };
    if !scalar(Some(scale)) || (zero.is_some() && !scalar(zero)) {
        nodes.push(n);
        return;
    }
    let float = |input: &str, out: String, nodes: &mut Vec<pb::NodeProto>| {
        let mut cast = node("Cast", &[input], &[&out], format!("{out}_cast"));
        cast.attribute.push(int_attr("to", DataType::Float as i64));
        nodes.push(cast);
        out
    };
    let xf = float(x, format!("{prefix}_x"), nodes);
    let centred = match zero {
        Some(z) => {
            let zf = float(z, format!("{prefix}_zero"), nodes);
            let c = format!("{prefix}_centred");
            nodes.push(node("Sub", &[&xf, &zf], &[&c], format!("{prefix}_sub")));
            c
        }
        None => xf,
    };
    nodes.push(node("Mul", &[&centred, scale], &[y], n.name.clone()));
}

fn scaler(
    n: &pb::NodeProto,
    prefix: &str,
    nodes: &mut Vec<pb::NodeProto>,
    graph: &mut pb::GraphProto,
) -> Result<(), EngineError> {
    let (x, y) = one_io(n)?;
    let list = |name: &str| attr(n, name).map(|a| a.floats.clone()).unwrap_or_default();
    let (offset, scale) = (list("offset"), list("scale"));
    let (xf, centred) = (format!("{prefix}_x"), format!("{prefix}_centred"));
    let (off, sc) = (format!("{prefix}_offset"), format!("{prefix}_scale"));
    let len = |v: &[f32]| v.len() as i64;
    graph
        .initializer
        .push(float_tensor(off.clone(), vec![len(&offset)], &offset));
    graph
        .initializer
        .push(float_tensor(sc.clone(), vec![len(&scale)], &scale));
    let mut cast = node("Cast", &[x], &[&xf], format!("{prefix}_cast"));
    cast.attribute.push(int_attr("to", DataType::Float as i64));
    nodes.push(cast);
    nodes.push(node(
        "Sub",
        &[&xf, &off],
        &[&centred],
        format!("{prefix}_sub"),
    ));
    nodes.push(node("Mul", &[&centred, &sc], &[y], n.name.clone()));
    Ok(())
}

fn zipmap(
    n: &pb::NodeProto,
    _prefix: &str,
    nodes: &mut Vec<pb::NodeProto>,
    graph: &mut pb::GraphProto,
) -> Result<(), EngineError> {
    let (x, y) = one_io(n)?;
    let classes = attr(n, "classlabels_int64s")
        .map(|a| a.ints.len())
        .filter(|&l| l > 0)
        .or_else(|| attr(n, "classlabels_strings").map(|a| a.strings.len()));
    nodes.push(node("Identity", &[x], &[y], n.name.clone()));
    // The graph declares a sequence of maps: it now returns the float tensor.
    use pb::tensor_shape_proto::{dimension::Value as D, Dimension};
    let dim = |v: Option<D>| Dimension {
        value: v,
        ..Default::default()
    };
    for out in graph.output.iter_mut().filter(|o| o.name == y) {
        out.r#type = Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: vec![dim(None), dim(classes.map(|c| D::DimValue(c as i64)))],
                }),
            })),
            ..Default::default()
        });
    }
    Ok(())
}

fn tree_classifier(
    mut n: pb::NodeProto,
    prefix: &str,
    nodes: &mut Vec<pb::NodeProto>,
    graph: &mut pb::GraphProto,
) -> Result<(), EngineError> {
    let labels = attr(&n, "classlabels_int64s").map(|a| a.ints.clone());
    let ids_all_zero = attr(&n, "class_ids").is_some_and(|a| a.ints.iter().all(|&i| i == 0));
    let weights_positive =
        attr(&n, "class_weights").is_some_and(|a| a.floats.iter().all(|&w| w >= 0.0));
    let no_transform = attr(&n, "post_transform").is_none_or(|a| a.s.is_empty() || a.s == b"NONE");
    let label_out = n.output.first().cloned().unwrap_or_default();
    let probs = n.output.get(1).cloned().unwrap_or_default();
    let binary = matches!(&labels, Some(l) if l.len() == 2) && ids_all_zero;
    if !binary || !no_transform || label_out.is_empty() || probs.is_empty() {
        nodes.push(n);
        return Ok(());
    }
    let labels = labels.unwrap_or_default();
    // onnxruntime: class 1 when the score is above 0.5 (0 when some weight is negative).
    let threshold = if weights_positive { 0.5 } else { 0.0 };
    let unused = format!("{prefix}_tract_label");
    if let Some(first) = n.output.first_mut() {
        first.clone_from(&unused);
    }
    nodes.push(n);
    let (one, score, thr) = (
        format!("{prefix}_one"),
        format!("{prefix}_score"),
        format!("{prefix}_threshold"),
    );
    let (above, index, table) = (
        format!("{prefix}_above"),
        format!("{prefix}_index"),
        format!("{prefix}_labels"),
    );
    graph
        .initializer
        .push(int64_tensor(one.clone(), vec![], &[1]));
    graph
        .initializer
        .push(float_tensor(thr.clone(), vec![], &[threshold]));
    graph
        .initializer
        .push(int64_tensor(table.clone(), vec![2], &labels));
    let mut gather = node(
        "Gather",
        &[&probs, &one],
        &[&score],
        format!("{prefix}_gather"),
    );
    gather.attribute.push(int_attr("axis", 1));
    nodes.push(gather);
    nodes.push(node(
        "Greater",
        &[&score, &thr],
        &[&above],
        format!("{prefix}_greater"),
    ));
    let mut cast = node("Cast", &[&above], &[&index], format!("{prefix}_cast"));
    cast.attribute.push(int_attr("to", DataType::Int64 as i64));
    nodes.push(cast);
    let mut pick = node(
        "Gather",
        &[&table, &index],
        &[&label_out],
        format!("{prefix}_label"),
    );
    pick.attribute.push(int_attr("axis", 0));
    nodes.push(pick);
    Ok(())
}

fn quantized_lstm(
    n: &pb::NodeProto,
    prefix: &str,
    nodes: &mut Vec<pb::NodeProto>,
    graph: &mut pb::GraphProto,
) -> Result<(), EngineError> {
    let input = |i: usize| n.input.get(i).map(String::as_str).unwrap_or("");
    let w = dequantize(
        n,
        graph,
        [input(1), input(8), input(9)],
        format!("{prefix}_w"),
    )?;
    let r = dequantize(
        n,
        graph,
        [input(2), input(10), input(11)],
        format!("{prefix}_r"),
    )?;
    let (w_name, r_name) = (w.name.clone(), r.name.clone());
    graph.initializer.push(w);
    graph.initializer.push(r);
    let (w, r) = (&w_name, &r_name);
    let mut lstm = node(
        "LSTM",
        &[
            input(0),
            w,
            r,
            input(3),
            input(4),
            input(5),
            input(6),
            input(7),
        ],
        &[],
        n.name.clone(),
    );
    lstm.output.clone_from(&n.output);
    // Trailing empty optional inputs are dropped.
    while lstm.input.last().is_some_and(String::is_empty) {
        lstm.input.pop();
    }
    lstm.attribute = n.attribute.clone();
    nodes.push(lstm);
    Ok(())
}

/// One int8 weight tensor of a DynamicQuantizeLSTM, `[D, rows, cols]` with its scales and zero
/// points (per direction, or per direction and column), dequantized and transposed to
/// `[D, cols, rows]`.
fn dequantize(
    n: &pb::NodeProto,
    graph: &pb::GraphProto,
    [w, scale, zero]: [&str; 3],
    name: String,
) -> Result<pb::TensorProto, EngineError> {
    let what = || format!("DynamicQuantizeLSTM `{}`", n.name);
    let init = |name: &str| {
        graph
            .initializer
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| {
                bad(format!(
                    "{}: `{name}` must be an initializer to be dequantized",
                    what()
                ))
            })
    };
    let (w, scale, zero) = (init(w)?, init(scale)?, init(zero)?);
    let &[dirs, rows, cols] = w.dims.as_slice() else {
        return Err(bad(format!("{}: weights of rank {}", what(), w.dims.len())));
    };
    let dims = |d: i64| usize::try_from(d).map_err(|_| bad(format!("{}: dimension {d}", what())));
    let (dirs, rows, cols) = (dims(dirs)?, dims(rows)?, dims(cols)?);
    let q = bytes_as_ints(w)?;
    let (s, z) = (floats(scale)?, bytes_as_ints(zero)?);
    if elements(w) != Some(q.len()) {
        return Err(bad(format!("{}: weights hold {} values", what(), q.len())));
    }
    let per_column = Some(s.len()) == dirs.checked_mul(cols);
    if !(s.len() == dirs || per_column) || z.len() != s.len() {
        return Err(bad(format!(
            "{}: {} scales and {} zero points for {dirs} directions",
            what(),
            s.len(),
            z.len()
        )));
    }
    // Written in order (a row of the transposed weight at a time), read with a stride.
    let mut out = vec![0f32; q.len()];
    let mut o = out.iter_mut();
    for d in 0..dirs {
        for c in 0..cols {
            let k = if per_column { d * cols + c } else { d };
            let (Some(&zk), Some(&sk)) = (z.get(k), s.get(k)) else {
                return Err(bad(format!("{}: weights out of range", what())));
            };
            let column = q.get(d * rows * cols + c..).unwrap_or_default();
            for (o, &v) in (&mut o).take(rows).zip(column.iter().step_by(cols.max(1))) {
                *o = (v - zk) as f32 * sk;
            }
        }
    }
    let dim = |x: usize| x as i64;
    Ok(float_tensor(
        name,
        vec![dim(dirs), dim(cols), dim(rows)],
        &out,
    ))
}
