//! The engine against the committed models: outputs equal onnxruntime's (max abs error 1e-5)
//! at batch 1 and batch 64 from one loaded model, every element type by name, and typed errors
//! for malformed models, unsupported operators and wrong inputs. Natively and in wasm.

use edge_registry::engine::{
    check, read_schema, CheckRun, DType, Dim, EngineError, EngineLimits, Model, ModelSchema,
    NamedTensor, PlanKind, Tensor, TensorData,
};
use edge_registry::error::ErrorCode;
use serde_json::Value;

struct Fixture {
    name: &'static str,
    model: &'static [u8],
    card: &'static str,
    expected: &'static str,
}

macro_rules! fixture {
    ($dir:literal) => {
        Fixture {
            name: $dir,
            model: include_bytes!(concat!("fixtures/models/", $dir, "/model.onnx")),
            card: include_str!(concat!("fixtures/models/", $dir, "/card.json")),
            expected: include_str!(concat!("fixtures/models/", $dir, "/expected.json")),
        }
    };
}

fn fixtures() -> Vec<Fixture> {
    vec![
        fixture!("digits-v1"),
        fixture!("digits-v2"),
        fixture!("digits-cnn"),
        fixture!("iris"),
        fixture!("breast-cancer"),
        fixture!("diabetes"),
    ]
}

fn card_schema(card: &str) -> ModelSchema {
    serde_json::from_str(card).unwrap()
}

fn tensor_from_json(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"].as_array().unwrap();
    let data = match v["dtype"].as_str().unwrap() {
        "float32" => TensorData::F32(data.iter().map(|x| x.as_f64().unwrap() as f32).collect()),
        "int64" => TensorData::I64(data.iter().map(|x| x.as_i64().unwrap()).collect()),
        "bool" => TensorData::Bool(data.iter().map(|x| x.as_bool().unwrap()).collect()),
        other => panic!("dtype {other}"),
    };
    Tensor::new(shape, data)
}

fn max_abs_err(got: &Tensor, want: &Tensor) -> f64 {
    assert_eq!(got.shape, want.shape);
    assert_eq!(got.dtype(), want.dtype());
    got.data
        .to_f64_vec()
        .iter()
        .zip(want.data.to_f64_vec())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

fn input(name: &str, shape: Vec<usize>, data: TensorData) -> NamedTensor {
    NamedTensor {
        name: name.into(),
        tensor: Tensor::new(shape, data),
    }
}

fn digits() -> Model {
    let f = fixture!("digits-v1");
    Model::load(f.model, Some(&card_schema(f.card))).unwrap()
}

everywhere! {
    fn outputs_match_onnxruntime_at_batch_1_and_64_without_reloading() {
        for f in fixtures() {
            let model = Model::load(f.model, Some(&card_schema(f.card)))
                .unwrap_or_else(|e| panic!("{}: {e}", f.name));
            let expected: Value = serde_json::from_str(f.expected).unwrap();
            for case in ["batch1", "batch64"] {
                let case = &expected[case];
                let feeds = case["inputs"].as_object().unwrap().iter()
                    .map(|(k, v)| NamedTensor { name: k.clone(), tensor: tensor_from_json(v) })
                    .collect();
                let outputs = model.run(feeds).unwrap();
                assert_eq!(outputs.len(), case["outputs"].as_object().unwrap().len());
                for out in outputs {
                    let want = tensor_from_json(&case["outputs"][&out.name]);
                    let err = max_abs_err(&out.tensor, &want);
                    assert!(err <= 1e-5, "{} {}: max abs error {err}", f.name, out.name);
                    if want.dtype() == DType::I64 {
                        assert_eq!(out.tensor.data, want.data, "{} labels", f.name);
                    }
                }
            }
        }
    }

    fn the_schema_comes_from_the_graph_with_a_symbolic_batch() {
        let f = fixture!("digits-cnn");
        let schema = read_schema(f.model).unwrap();
        assert_eq!(schema.inputs.len(), 1);
        assert_eq!(schema.inputs[0].name, "input");
        assert_eq!(schema.inputs[0].dtype, DType::F32);
        assert_eq!(schema.inputs[0].shape, vec![Dim::Symbol("N".into()), Dim::Fixed(1), Dim::Fixed(8), Dim::Fixed(8)]);
        let names: Vec<_> = schema.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["label", "probabilities"]);
        assert_eq!(schema.outputs[1].shape, vec![Dim::Symbol("N".into()), Dim::Fixed(10)]);
        schema.check_declared(&card_schema(f.card)).unwrap();
    }

    fn every_element_type_crosses_by_name() {
        let model = Model::load(include_bytes!("fixtures/engine/dtypes.onnx"), None).unwrap();
        let outs = model.run(vec![
            input("b", vec![3], TensorData::Bool(vec![true, false, true])),
            input("f32", vec![3, 2], TensorData::F32(vec![0.5, 1.0, 1.5, 2.0, -1.0, 0.0])),
            input("f64", vec![3, 2], TensorData::F64(vec![0.25, 1e300, -2.0, 3.0, 4.0, 5.0])),
            input("i32", vec![3], TensorData::I32(vec![1, -2, 1 << 20])),
            input("i64", vec![3], TensorData::I64(vec![1 << 40, 0, -1])),
            input("u8", vec![3, 3], TensorData::U8(vec![0, 1, 2, 3, 4, 5, 253, 254, 255])),
            // float16 bits of 1.5, -0.25, 65504 (the largest), 2^-23 (a subnormal), 0, -2.
            input("f16", vec![3, 2], TensorData::F16(vec![15872, 46080, 31743, 2, 0, 49152])),
            input("i8", vec![3], TensorData::I8(vec![-100, 127, -127])),
        ]).unwrap();
        let get = |n: &str| outs.iter().find(|o| o.name == n).unwrap().tensor.clone();
        assert_eq!(get("f32_out").data, TensorData::F32(vec![1.0, 2.0, 3.0, 4.0, -2.0, 0.0]));
        assert_eq!(get("f64_out").data, TensorData::F64(vec![1.25, 1e300, -1.0, 4.0, 5.0, 6.0]));
        assert_eq!(get("i32_out").data, TensorData::I32(vec![3, -6, 3 << 20]));
        assert_eq!(get("i64_out").data, TensorData::I64(vec![(1 << 40) - 7, -7, -8]));
        assert_eq!(get("u8_out").data, TensorData::U8(vec![0, 1, 2, 3, 4, 5, 253, 254, 255]));
        assert_eq!(get("u8_out").shape, vec![3, 3]);
        assert_eq!(get("b_out").data, TensorData::Bool(vec![false, true, false]));
        // onnxruntime's outputs: 3, -0.5, infinity (65504 * 2 overflows), 2^-22, 0, -4.
        assert_eq!(get("f16_out").data, TensorData::F16(vec![16896, 47104, 31744, 4, 0, 50176]));
        assert_eq!(get("f16_out").shape, vec![3, 2]);
        assert_eq!(get("i8_out").data, TensorData::I8(vec![100, -127, 127]));
        let names: Vec<_> = model.schema().inputs.iter().map(|s| (s.name.as_str(), s.dtype)).collect();
        assert_eq!(names, [("f32", DType::F32), ("f64", DType::F64), ("i32", DType::I32),
            ("i64", DType::I64), ("u8", DType::U8), ("b", DType::Bool), ("f16", DType::F16),
            ("i8", DType::I8)]);
    }

    fn malformed_and_truncated_models_are_bad_model() {
        let f = fixture!("digits-v2");
        for bytes in [&b""[..], &b"not a model at all"[..], &f.model[..f.model.len() / 2], &[0xff; 64][..]] {
            let err = Model::load(bytes, None).unwrap_err();
            assert!(matches!(err.code(), "BAD_MODEL"), "{err}");
        }
    }

    fn unsupported_operators_are_named() {
        let err = Model::load(include_bytes!("fixtures/engine/unsupported.onnx"), None).unwrap_err();
        assert_eq!(err.code(), "UNSUPPORTED_MODEL");
        match err {
            EngineError::Unsupported { operators, .. } => {
                // Scaler is rewritten into standard operators; Imputer is not.
                assert_eq!(operators, ["ai.onnx.ml:Imputer"]);
            }
            other => panic!("{other:?}"),
        }
    }

    fn a_card_that_disagrees_with_the_graph_is_refused() {
        let f = fixture!("iris");
        let mut card = card_schema(f.card);
        card.inputs[0].shape[1] = Dim::Fixed(5);
        let err = Model::load(f.model, Some(&card)).unwrap_err();
        assert_eq!(err.code(), "SCHEMA_MISMATCH");
        assert!(err.to_string().contains("expected input: float32[N, 5]"), "{err}");
    }

    fn wrong_inputs_are_schema_mismatches() {
        let model = digits();
        let cases = vec![
            (vec![input("input", vec![1, 64], TensorData::F64(vec![0.0; 64]))], "float64[1, 64]"),
            (vec![input("input", vec![1, 63], TensorData::F32(vec![0.0; 63]))], "float32[1, 63]"),
            (vec![input("input", vec![64], TensorData::F32(vec![0.0; 64]))], "float32[64]"),
            (vec![], "missing input"),
            (vec![input("input", vec![1, 64], TensorData::F32(vec![0.0; 64])),
                  input("extra", vec![1], TensorData::F32(vec![0.0]))], "unknown input `extra`"),
            (vec![input("input", vec![2, 64], TensorData::F32(vec![0.0; 64]))], "64 elements"),
        ];
        for (feeds, needle) in cases {
            let err = model.run(feeds).unwrap_err();
            assert_eq!(err.code(), "SCHEMA_MISMATCH", "{err}");
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
        // A huge declared shape is refused before anything is allocated for it.
        let err = model.run(vec![input("input", vec![1 << 30, 64], TensorData::F32(vec![]))]).unwrap_err();
        assert_eq!(err.code(), "LIMIT_EXCEEDED");
        let err = model.run(vec![input("input", vec![usize::MAX, 64], TensorData::F32(vec![]))]).unwrap_err();
        assert_eq!(err.code(), "LIMIT_EXCEEDED");
    }

    fn zero_rows_run() {
        let out = digits().run(vec![input("input", vec![0, 64], TensorData::F32(vec![]))]).unwrap();
        assert_eq!(out[1].tensor.shape, vec![0, 10]);
    }
}

const DYNAMIC: &[u8] = include_bytes!("fixtures/engine/dynamic.onnx");

/// The dynamic-axes fixture's inputs and onnxruntime's outputs at two sizes.
fn dynamic_cases() -> Vec<(NamedTensor, NamedTensor)> {
    let cases: Value = serde_json::from_str(include_str!("fixtures/engine/dynamic.json")).unwrap();
    let named = |v: &Value, name: &str| NamedTensor {
        name: name.into(),
        tensor: tensor_from_json(&v[name]),
    };
    cases
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                named(&c["input"], "image"),
                named(&c["expected"], "features"),
            )
        })
        .collect()
}

fn no_clock() -> impl FnMut() -> f64 {
    let mut t = 0.0;
    move || {
        t += 1.0;
        t
    }
}

everywhere! {
    fn a_model_with_open_dims_runs_at_two_sizes_from_one_load() {
        let model = Model::load(DYNAMIC, None).unwrap();
        let info = model.plan_info();
        assert_eq!(info.kind, PlanKind::PerShape);
        assert!(info.reason.unwrap().contains("determined fact"));
        let sym = |s: &str| Dim::Symbol(s.into());
        assert_eq!(
            model.schema().inputs[0].shape,
            vec![sym("batch"), Dim::Fixed(3), sym("?"), sym("?")]
        );
        let cases = dynamic_cases();
        for _ in 0..2 {
            for (input, want) in &cases {
                let out = model.run(vec![input.clone()]).unwrap();
                assert_eq!(out[0].name, "features");
                assert!(max_abs_err(&out[0].tensor, &want.tensor) < 1e-4);
            }
        }
        let info = model.plan_info();
        assert_eq!((info.cached, info.built, info.hits, info.evicted), (2, 2, 2, 0));
        let shapes: Vec<Vec<usize>> = cases.iter().map(|c| c.0.tensor.shape.clone()).collect();
        assert_eq!(info.shapes, vec![vec![shapes[0].clone()], vec![shapes[1].clone()]]);
        assert!(info.cached_bytes > 0);
        // A wrong fixed dimension is still refused before planning.
        let mut bad = cases[0].0.clone();
        bad.tensor.shape[1] = 1;
        bad.tensor.data = TensorData::F32(vec![0.0; bad.tensor.shape.iter().product()]);
        assert_eq!(model.run(vec![bad]).unwrap_err().code(), "SCHEMA_MISMATCH");
        assert_eq!(model.plan_info().built, 2);
    }

    fn the_plan_cache_is_bounded_by_count_and_bytes() {
        let cases = dynamic_cases();
        let one = EngineLimits { max_plans: 1, ..Default::default() };
        let model = Model::load_with_limits(DYNAMIC, None, one).unwrap();
        for i in [0, 1, 0, 0] {
            model.run(vec![cases[i].0.clone()]).unwrap();
        }
        let info = model.plan_info();
        assert_eq!((info.cached, info.built, info.hits, info.evicted), (1, 3, 1, 2));
        // A plan estimated larger than the byte limit is refused, and nothing is cached.
        let tiny = EngineLimits { max_plan_bytes: 64, ..Default::default() };
        let model = Model::load_with_limits(DYNAMIC, None, tiny).unwrap();
        let err = model.run(vec![cases[0].0.clone()]).unwrap_err();
        assert_eq!(err.code(), "LIMIT_EXCEEDED", "{err}");
        assert_eq!(model.plan_info().cached, 0);
    }

    fn a_static_model_reports_one_plan() {
        let info = digits().plan_info();
        assert_eq!(info.kind, PlanKind::Static);
        assert_eq!((info.cached, info.built), (1, 1));
        assert!(info.reason.is_none());
    }

    fn input_shapes_that_recur_run_a_plan_specialised_on_them_with_the_same_outputs() {
        for f in fixtures() {
            let model = Model::load(f.model, Some(&card_schema(f.card))).unwrap();
            let expected: Value = serde_json::from_str(f.expected).unwrap();
            // Each batch size three times, interleaved: the first run of a shape takes the
            // symbolic plan, the second builds the specialised one, the third finds it.
            for case in ["batch1", "batch64", "batch1", "batch64", "batch1", "batch64"] {
                let case = &expected[case];
                let feeds = case["inputs"].as_object().unwrap().iter()
                    .map(|(k, v)| NamedTensor { name: k.clone(), tensor: tensor_from_json(v) })
                    .collect();
                for out in model.run(feeds).unwrap() {
                    let want = tensor_from_json(&case["outputs"][&out.name]);
                    let err = max_abs_err(&out.tensor, &want);
                    assert!(err <= 1e-5, "{} {}: max abs error {err}", f.name, out.name);
                }
            }
            let info = model.plan_info();
            assert_eq!(info.kind, PlanKind::Static, "{}", f.name);
            if model.schema().inputs.iter().any(|i| i.shape.iter().any(|d| !matches!(d, Dim::Fixed(_)))) {
                assert_eq!((info.cached, info.built, info.hits), (3, 3, 2), "{}: {info:?}", f.name);
                assert_eq!(info.shapes.len(), 2, "{}", f.name);
            } else {
                assert_eq!((info.cached, info.built), (1, 1), "{}", f.name);
            }
        }
    }

    fn the_compatibility_check_reports_operators_plan_and_a_compared_run() {
        let cases = dynamic_cases();
        let (input, want) = cases[1].clone();
        let report = check(DYNAMIC, EngineLimits::default(), CheckRun { inputs: Some(vec![input]), expected: Some(vec![want]), repeat: 2 }, &mut no_clock());
        assert!(report.ok && report.loaded, "{report:?}");
        assert_eq!(report.opsets.get("ai.onnx"), Some(&13));
        assert_eq!(report.operators[0].op, "Slice");
        assert_eq!(report.operators[0].count, 4);
        assert!(report.operators.iter().all(|o| o.supported));
        assert_eq!(report.plan.as_ref().unwrap().kind, PlanKind::PerShape);
        let run = report.run.unwrap();
        assert_eq!(run.steady_ms, Some(1.0), "the fake clock ticks 1 ms per read");
        assert_eq!(report.plan.as_ref().unwrap().hits, 2);
        assert!(run.outputs[0].relative_error.unwrap() < 1e-5);
        assert_eq!(run.outputs[0].matches, Some(true));

        // An expected output that differs fails the check.
        let (input, mut want) = cases[0].clone();
        if let TensorData::F32(v) = &mut want.tensor.data {
            v[0] += 1.0;
        }
        let report = check(DYNAMIC, EngineLimits::default(), CheckRun { inputs: Some(vec![input]), expected: Some(vec![want]), repeat: 2 }, &mut no_clock());
        assert!(report.loaded && !report.ok);
        assert_eq!(report.run.unwrap().outputs[0].matches, Some(false));

        // Unsupported operators are listed with the nodes that use them; nothing loads.
        let report = check(include_bytes!("fixtures/engine/unsupported.onnx"), EngineLimits::default(), CheckRun::default(), &mut no_clock());
        assert!(!report.ok && !report.loaded);
        assert_eq!(report.error.unwrap().code, "UNSUPPORTED_MODEL");
        let imputer = report.operators.iter().find(|o| o.op == "ai.onnx.ml:Imputer").unwrap();
        assert!(!imputer.supported);
        assert_eq!(imputer.nodes.len(), 1);

        // Bytes that are no model at all.
        let report = check(b"not a model", EngineLimits::default(), CheckRun::default(), &mut no_clock());
        assert_eq!(report.error.unwrap().code, "BAD_MODEL");
        assert!(report.operators.is_empty());
    }
}

everywhere! {
    fn onnx_loop_runs_with_a_trip_count_an_outer_value_and_a_scan_output() {
        let model = Model::load(include_bytes!("fixtures/engine/loop.onnx"), None).unwrap();
        let cases: Value = serde_json::from_str(include_str!("fixtures/engine/loop.json")).unwrap();
        for case in cases.as_array().unwrap() {
            let inputs = ["x", "M"]
                .iter()
                .map(|n| NamedTensor { name: n.to_string(), tensor: tensor_from_json(&case["input"][*n]) })
                .collect();
            let out = model.run(inputs).unwrap();
            for (i, name) in ["acc", "steps"].iter().enumerate() {
                assert_eq!(out[i].name, *name);
                let want = tensor_from_json(&case["expected"][*name]);
                assert!(max_abs_err(&out[i].tensor, &want) < 1e-6, "{name}");
            }
        }
    }
}

everywhere! {
    fn a_loop_body_expands_to_the_shape_of_a_slice_whose_bounds_it_carries() {
        // Expand(w, Shape(Slice(table, k, Min(k + 1, 5)))), the slice read by nothing else
        // (SLANet's decoder): tract folds the Shape into a constant of the slice's symbolic
        // length and prunes the slice, so the length was never bound ("Undetermined symbol"),
        // and the symbol came from a scratch scope of tract's (then "dead SymbolScope").
        let model = Model::load(include_bytes!("fixtures/engine/loop_slice.onnx"), None).unwrap();
        let cases: Value =
            serde_json::from_str(include_str!("fixtures/engine/loop_slice.json")).unwrap();
        for case in cases.as_array().unwrap() {
            let inputs = ["M", "v"]
                .iter()
                .map(|n| NamedTensor { name: n.to_string(), tensor: tensor_from_json(&case["input"][*n]) })
                .collect();
            let out = model.run(inputs).unwrap();
            assert_eq!(out[0].name, "k_final");
            assert_eq!(out[0].tensor, tensor_from_json(&case["expected"]["k_final"]));
            assert_eq!(out[1].name, "steps");
            let want = tensor_from_json(&case["expected"]["steps"]);
            assert!(max_abs_err(&out[1].tensor, &want) < 1e-6);
            assert!(want.data.to_f64_vec().iter().any(|v| v.abs() > 0.1));
        }
    }
}

everywhere! {
    fn an_if_on_a_run_time_condition_takes_either_branch_at_any_size_from_one_load() {
        // Each branch is planned for its shapes on first use and kept: the same load runs
        // then, else, then at N = 3 and 5, and the first case again at the end.
        let model = Model::load(include_bytes!("fixtures/engine/if.onnx"), None).unwrap();
        let cases: Value = serde_json::from_str(include_str!("fixtures/engine/if.json")).unwrap();
        let cases = cases.as_array().unwrap();
        assert_eq!(cases.len(), 5);
        for (k, case) in cases.iter().enumerate() {
            let inputs = ["cond", "x"]
                .iter()
                .map(|n| NamedTensor { name: n.to_string(), tensor: tensor_from_json(&case["input"][*n]) })
                .collect();
            let out = model.run(inputs).unwrap();
            let want = tensor_from_json(&case["expected"]["y"]);
            assert!(max_abs_err(&out[0].tensor, &want) < 1e-6, "case {k}");
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_loop_that_never_stops_is_an_error_not_a_hang() {
    let model = Model::load(include_bytes!("fixtures/engine/loop.onnx"), None).unwrap();
    let inputs = vec![
        input("x", vec![3], TensorData::F32(vec![1.0, 2.0, 3.0])),
        input("M", vec![], TensorData::I64(vec![1 << 40])),
    ];
    let err = model.run(inputs).unwrap_err();
    assert_eq!(err.code(), "INFERENCE_FAILED");
    assert!(err.to_string().contains("100000 iterations"), "{err}");
}
