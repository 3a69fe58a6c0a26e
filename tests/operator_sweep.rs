//! Every operator tract registers, built into a one-node graph with hostile attributes (axes
//! out of range, zero block sizes, kernel shapes of the wrong length, wrong input counts) and
//! inputs of rank 1, 2 and 4, must be refused with a typed error or load, never panic (natively
//! a panic would show as `INTERNAL_PANIC`; in wasm it aborts this test binary) and never hang.
//! Before the engine's checked operators (`src/engine/checked_ops.rs`) sweeps like this one
//! found panics or hangs in at least 14 of tract 0.23.9's operators (`AveragePool`, `BiasGelu`,
//! `Conv`, `ConvInteger`, `DFT`, `DepthToSpace`, `Flatten`, `GatherBlockQuantized`, `Hardmax`,
//! `MatMulInteger`, `QLinearConv`, `Resize`, `Transpose`, and `LayerNormalization` with
//! `axis = -3` on a rank-2 input, which loops for 2^64 iterations): out-of-bounds indexing,
//! unwraps of `None`, division by zero, subtraction overflow, capacity overflow. This sweep run
//! against tract's stock operators (with `LayerNormalization` left out) was killed by the
//! kernel after it took 24 GB of memory.
//!
//! In wasm the constant sweep found one more, which natively is an error: `Split` sizes of 2^40
//! wrap to 0 as a 32-bit `usize`, and tract then wired more outputs than the node has.
//!
//! A few valid nodes of the checked operators are loaded too, so the checks are shown not to
//! refuse what the ONNX specification allows.

use edge_registry::engine::Model;
use edge_registry::error::ErrorCode;
use prost::Message as _;
use tract_onnx::pb;

fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        ints: values.to_vec(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ..Default::default()
    }
}

fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        i: value,
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        ..Default::default()
    }
}

fn float_input(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = dims
        .iter()
        .map(|&d| Dimension {
            value: Some(Value::DimValue(d)),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            denotation: String::new(),
        }),
        ..Default::default()
    }
}

/// The graph's output `y`, type left to inference.
fn output_y() -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: "y".into(),
        ..Default::default()
    }
}

/// `graph` as a model of the default domain at `opset`, encoded.
fn encode(graph: pb::GraphProto, opset: i64) -> Vec<u8> {
    pb::ModelProto {
        ir_version: 8,
        graph: Some(graph),
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        ..Default::default()
    }
    .encode_to_vec()
}

/// A model of one `op` node with `inputs` float inputs of shape `dims` and output `y`.
fn one_node(
    op: &str,
    opset: i64,
    inputs: usize,
    dims: &[i64],
    attribute: Vec<pb::AttributeProto>,
) -> Vec<u8> {
    let names: Vec<String> = (0..inputs).map(|i| format!("x{i}")).collect();
    let graph = pb::GraphProto {
        name: "sweep".into(),
        node: vec![pb::NodeProto {
            input: names.clone(),
            output: vec!["y".into()],
            name: "n".into(),
            op_type: op.into(),
            attribute,
            ..Default::default()
        }],
        input: names.iter().map(|n| float_input(n, dims)).collect(),
        output: vec![output_y()],
        ..Default::default()
    };
    encode(graph, opset)
}

/// A model of one `op` node whose inputs are int64 constants (initializers) holding `values`:
/// `constants` of them, after a float input `x` of shape 2×3 unless `all_constant`. tract
/// evaluates a node whose inputs are all known while it analyses the graph, so these reach
/// the operators' evaluation code at load time.
fn constant_inputs(
    op: &str,
    opset: i64,
    constants: usize,
    values: &[i64],
    all_constant: bool,
) -> Vec<u8> {
    let mut inputs = vec![];
    let mut graph_inputs = vec![];
    if !all_constant {
        inputs.push("x".to_string());
        graph_inputs.push(float_input("x", &[2, 3]));
    }
    let initializer: Vec<pb::TensorProto> = (0..constants)
        .map(|i| pb::TensorProto {
            dims: vec![values.len() as i64],
            data_type: pb::tensor_proto::DataType::Int64 as i32,
            int64_data: values.to_vec(),
            name: format!("c{i}"),
            ..Default::default()
        })
        .collect();
    inputs.extend(initializer.iter().map(|t| t.name.clone()));
    let graph = pb::GraphProto {
        name: "sweep".into(),
        node: vec![pb::NodeProto {
            input: inputs,
            output: vec!["y".into()],
            name: "n".into(),
            op_type: op.into(),
            ..Default::default()
        }],
        input: graph_inputs,
        initializer,
        output: vec![output_y()],
        ..Default::default()
    };
    encode(graph, opset)
}

/// Panics inside tract that the checked operators do not prevent yet, found by the sweep of
/// constant inputs, all with two int64 constants as the only inputs: natively `INTERNAL_PANIC`,
/// in wasm a trap the JS layer recovers from. Not run in wasm (the trap would end this test
/// binary).
/// - `Mod` of 2^40 by 2^40: tract-data 0.23.9 divides by zero while simplifying a
///   symbolic-dimension remainder (`TDim::maybe_eval_to_i64`) when it folds the node.
/// - `BitShift` and `Pow` overflow int64. Only with debug assertions (tests); release builds,
///   the CLI and the wasm package, wrap.
const KNOWN_CONSTANT_PANICS: &[&str] = &["Mod", "BitShift", "Pow"];

/// The hostile attribute sets: none, and each attribute at -5 (below `-rank`), 0 and 5 (at or
/// above `rank` for every input here).
fn variants() -> Vec<Vec<pb::AttributeProto>> {
    let mut v = vec![vec![]];
    for x in [-5, 0, 5] {
        v.push(vec![int("axis", x)]);
        v.push(vec![ints("axes", &[x])]);
        v.push(vec![ints("perm", &[x, 0])]);
        v.push(vec![int("blocksize", x)]);
        v.push(vec![ints("kernel_shape", &[x]), ints("pads", &[x, x])]);
        v.push(vec![ints("strides", &[x, x, x])]);
        v.push(vec![int("group", x)]);
        v.push(vec![int("batch_dims", x)]);
        v.push(vec![ints("split", &[x])]);
        v.push(vec![int("k", x)]);
    }
    v
}

everywhere! {
    fn no_operator_panics_on_hostile_attributes_or_input_counts() {
        let mut ops: Vec<String> = tract_onnx::onnx().op_register.0.keys().cloned().collect();
        ops.sort();
        assert!(ops.len() > 150, "tract registers {} operators", ops.len());
        let variants = variants();
        let (mut loaded, mut refused, mut panics) = (0usize, 0usize, Vec::new());
        for op in &ops {
            for opset in [11, 18] {
                for inputs in 1..=3 {
                    for dims in [&[4][..], &[2, 3], &[1, 2, 2, 2]] {
                        for attrs in &variants {
                            let bytes = one_node(op, opset, inputs, dims, attrs.clone());
                            match Model::load(&bytes, None) {
                                Ok(_) => loaded += 1,
                                Err(e) if e.code() == "INTERNAL_PANIC" => {
                                    let names: Vec<&str> = attrs.iter().map(|a| a.name.as_str()).collect();
                                    panics.push(format!("{op} opset {opset}, {inputs} inputs {dims:?}, {names:?}: {e}"));
                                }
                                Err(_) => refused += 1,
                            }
                        }
                    }
                }
            }
        }
        assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
        assert!(loaded > 1000 && refused > 1000, "{loaded} loaded, {refused} refused");
    }

    // Natively only for now: in wasm (Node) this sweep ends the test instance part-way, at a
    // different operator from run to run and without a panic message, which looks like the
    // 4 GiB address space running out (to investigate; see SECURITY.md).
    fn no_operator_panics_or_allocates_unbounded_on_hostile_constant_inputs() {
        let mut ops: Vec<String> = tract_onnx::onnx().op_register.0.keys().cloned().collect();
        ops.sort();
        let (mut loaded, mut refused, mut panics) = (0usize, 0usize, Vec::new());
        let only = option_env!("SWEEP_OPS").unwrap_or("");
        for op in ops.iter().filter(|o| only.is_empty() || only.split(',').any(|x| x == o.as_str())) {
            for opset in [11, 18] {
                for constants in 1..=3 {
                    // Huge sizes (2^40, 10^5 cubed), negative and zero values.
                    for values in [&[1i64 << 40][..], &[100_000, 100_000, 100_000], &[-1, 1 << 40], &[0, 1 << 40, 1]] {
                        for all_constant in [false, true] {
                            let is_known = KNOWN_CONSTANT_PANICS.contains(&op.as_str()) && all_constant && constants == 2;
                            if is_known && cfg!(target_arch = "wasm32") {
                                continue;
                            }
                            let bytes = constant_inputs(op, opset, constants, values, all_constant);
                            match Model::load(&bytes, None) {
                                Ok(_) => loaded += 1,
                                Err(e) if e.code() == "INTERNAL_PANIC" && is_known => {}
                                Err(e) if e.code() == "INTERNAL_PANIC" => {
                                    panics.push(format!("{op} opset {opset}, {constants} constants {values:?}, all constant: {all_constant}: {e}"));
                                }
                                Err(_) => refused += 1,
                            }
                        }
                    }
                }
            }
        }
        assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
        assert!(loaded > 100 && refused > 1000, "{loaded} loaded, {refused} refused");
    }

    fn constants_within_the_limits_still_fold() {
        // ConstantOfShape [2, 3] folds to a 2×3 tensor; Expand of x (2×3) to [2, 3].
        for (op, all_constant) in [("ConstantOfShape", true), ("Expand", false)] {
            let bytes = constant_inputs(op, 13, 1, &[2, 3], all_constant);
            let model = Model::load(&bytes, None).unwrap_or_else(|e| panic!("{op}: {e}"));
            assert_eq!(model.schema().outputs.len(), 1, "{op}");
        }
        // A zero Range step is refused, not folded into an endless sequence.
        let bytes = constant_inputs("Range", 13, 3, &[0], true);
        assert_eq!(Model::load(&bytes, None).unwrap_err().code(), "BAD_MODEL");
    }

    fn the_checked_operators_still_load_valid_nodes() {
        for (op, opset, inputs, dims, attrs) in [
            ("Softmax", 13, 1, &[2, 3][..], vec![int("axis", -1)]),
            ("Hardmax", 13, 1, &[2, 3], vec![int("axis", 1)]),
            ("ArgMax", 13, 1, &[2, 3], vec![int("axis", -2)]),
            ("Flatten", 13, 1, &[2, 3], vec![int("axis", 2)]),
            ("Flatten", 13, 1, &[2, 3], vec![int("axis", -2)]),
            ("Transpose", 13, 1, &[1, 2, 2, 2], vec![ints("perm", &[3, 2, 0, 1])]),
            ("Concat", 13, 2, &[2, 3], vec![int("axis", -1)]),
            ("Split", 11, 1, &[2, 3], vec![int("axis", 1)]),
            ("Squeeze", 11, 1, &[1, 2, 2, 2], vec![ints("axes", &[0])]),
            ("Unsqueeze", 11, 1, &[2, 3], vec![ints("axes", &[2, -4])]),
            ("ReduceMean", 13, 1, &[1, 2, 2, 2], vec![ints("axes", &[-1, 1])]),
            ("LayerNormalization", 18, 2, &[2, 3], vec![int("axis", -2)]),
            ("DepthToSpace", 13, 1, &[1, 4, 2, 2], vec![int("blocksize", 2)]),
            ("SpaceToDepth", 13, 1, &[1, 2, 2, 2], vec![int("blocksize", 2)]),
            ("MaxPool", 13, 1, &[1, 2, 2, 2], vec![ints("kernel_shape", &[2, 2]), ints("pads", &[0, 0, 1, 1]), ints("strides", &[1, 1])]),
            ("AveragePool", 13, 1, &[1, 2, 4], vec![ints("kernel_shape", &[2]), ints("strides", &[2])]),
            ("GlobalAveragePool", 13, 1, &[1, 2, 2, 2], vec![]),
            ("Conv", 13, 2, &[1, 1, 2, 2], vec![ints("kernel_shape", &[2, 2]), int("group", 1)]),
        ] {
            let bytes = one_node(op, opset, inputs, dims, attrs);
            if let Err(e) = Model::load(&bytes, None) {
                panic!("{op} on {dims:?}: {e}");
            }
        }
    }
}
