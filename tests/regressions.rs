//! Inputs that crashed (panicked, aborted or hung in) a parser of untrusted bytes, found by the
//! fuzz targets in `fuzz/` or by reading a dependency's code, each fed to the same public API,
//! which must now answer with a typed error (or a result). The files live in
//! `tests/fixtures/regressions/<fuzz target>/`; the seed script adds them to the fuzz corpora.
//! Natively and in wasm (Node, Chromium, worker): in wasm a panic would abort the module.
//!
//! | fixture | found by | was | now |
//! |---|---|---|---|
//! | `onnx_model/string-raw-initializer.onnx`, `string-raw-constant.onnx` | reading tract-onnx 0.23.9 `tensor.rs` | `unimplemented!` in `create_tensor` (a STRING tensor in `raw_data`) | `BAD_MODEL` from the pre-scan |
//! | `onnx_model/undefined-graph-output.onnx` | fuzz target `onnx_model` | panic in tract-onnx 0.23.9 `model.rs:187` (`outlets_by_name[name]` for a graph output no node, input or initializer defines) | `BAD_MODEL` from the pre-scan |
//! | `onnx_model/argmax-rank1-fuzz.onnx` | fuzz target `onnx_model` | panic in tract-hir 0.23.9 `reduce.rs:124` (`Reduce::must_reduce` unwraps "Illegal combination of values for rank and axis": an `ArgMax` with `axis = 1` on a rank-1 tensor) | `BAD_MODEL` from the engine's checked operators (`src/engine/checked_ops.rs`; `tests/operator_sweep.rs` covers the same class in every operator) |
//! | `onnx_model/{argmax,argmin,reducemean,reducesum,reducemax-opset18}-*-out-of-range.onnx` | `scripts/gen_regression_models.py`, the same panic through each way tract takes axes (attribute, default, second input, opset 13 and 18) | the same panic | `BAD_MODEL`; the `*-valid.onnx` controls still compute |
//! | `onnx_model/maxpool-strides-length-fuzz.onnx` | fuzz target `onnx_model` | panic in tract-core 0.23.9 `cnn/padding.rs:77` (a `MaxPool` over 2 spatial axes with one `strides` entry) | `BAD_MODEL` from the checked operators |
//! | `eval_csv/values-near-f64-max.csv` | fuzz target `eval_csv` | a reference profile of the data had an infinite mean, deviation and histogram step, written as `null`, so its JSON did not load back | finite statistics; the profile round-trips |

use edge_registry::engine::{read_schema, Model, NamedTensor, Tensor, TensorData};
use edge_registry::error::ErrorCode;
use edge_registry::eval::data::{read_all, ColumnSelection, Table};
use edge_registry::eval::{DataFormat, Limits, Profile, ProfileBuilder, ProfileConfig};

/// The engine refuses `bytes` with `code`, through every entry point, without panicking.
fn engine_refuses(name: &str, bytes: &[u8], code: &str) {
    let err = Model::load(bytes, None).expect_err(name);
    assert_eq!(err.code(), code, "{name}: {err}");
    assert_eq!(read_schema(bytes).expect_err(name).code(), code, "{name}");
}

everywhere! {
    fn onnx_string_tensors_stored_as_raw_bytes_are_refused() {
        for (name, bytes) in [
            ("string-raw-initializer", &include_bytes!("fixtures/regressions/onnx_model/string-raw-initializer.onnx")[..]),
            ("string-raw-constant", &include_bytes!("fixtures/regressions/onnx_model/string-raw-constant.onnx")[..]),
        ] {
            engine_refuses(name, bytes, "BAD_MODEL");
            let err = Model::load(bytes, None).unwrap_err();
            assert!(err.to_string().contains("string tensor stored as raw bytes"), "{name}: {err}");
        }
    }

    fn onnx_graph_outputs_that_name_nothing_are_refused() {
        let bytes = include_bytes!("fixtures/regressions/onnx_model/undefined-graph-output.onnx");
        engine_refuses("undefined-graph-output", bytes, "BAD_MODEL");
        let err = Model::load(bytes, None).unwrap_err();
        assert!(err.to_string().contains("graph output"), "{err}");
    }

    fn reductions_with_axes_out_of_range_are_refused() {
        let found = include_bytes!("fixtures/regressions/onnx_model/argmax-rank1-fuzz.onnx");
        engine_refuses("argmax-rank1-fuzz", found, "BAD_MODEL");
        let err = Model::load(found, None).unwrap_err();
        assert!(err.to_string().contains("axis 1 is out of range for an input of rank 1"), "{err}");
        for (name, bytes, axis) in [
            ("argmax-axis-out-of-range", &include_bytes!("fixtures/regressions/onnx_model/argmax-axis-out-of-range.onnx")[..], 2),
            ("argmin-negative-axis-out-of-range", &include_bytes!("fixtures/regressions/onnx_model/argmin-negative-axis-out-of-range.onnx")[..], -3),
            ("reducemean-axes-attribute-out-of-range", &include_bytes!("fixtures/regressions/onnx_model/reducemean-axes-attribute-out-of-range.onnx")[..], 5),
            ("reducesum-axes-input-out-of-range", &include_bytes!("fixtures/regressions/onnx_model/reducesum-axes-input-out-of-range.onnx")[..], -3),
            ("reducemax-opset18-axes-input-out-of-range", &include_bytes!("fixtures/regressions/onnx_model/reducemax-opset18-axes-input-out-of-range.onnx")[..], 2),
        ] {
            engine_refuses(name, bytes, "BAD_MODEL");
            let err = Model::load(bytes, None).unwrap_err().to_string();
            assert!(err.contains(&format!("axis {axis} is out of range for an input of rank 2")), "{name}: {err}");
        }
    }

    fn pooling_attributes_of_the_wrong_length_are_refused() {
        let bytes = include_bytes!("fixtures/regressions/onnx_model/maxpool-strides-length-fuzz.onnx");
        engine_refuses("maxpool-strides-length-fuzz", bytes, "BAD_MODEL");
        let err = Model::load(bytes, None).unwrap_err().to_string();
        assert!(err.contains("strides has 1 entries, the input's 2 spatial axes need 2"), "{err}");
    }

    fn reductions_with_axes_in_range_still_compute() {
        // x = [[0, 1, 2], [3, 4, 5]]; the expected values are onnxruntime's for the same files.
        let x = || vec![NamedTensor {
            name: "x".into(),
            tensor: Tensor::new(vec![2, 3], TensorData::F32(vec![0., 1., 2., 3., 4., 5.])),
        }];
        for (name, bytes, shape, want) in [
            ("reducesum-axes-input-valid", &include_bytes!("fixtures/regressions/onnx_model/reducesum-axes-input-valid.onnx")[..], vec![2], vec![3., 12.]),
            ("reducemax-opset18-axes-input-valid", &include_bytes!("fixtures/regressions/onnx_model/reducemax-opset18-axes-input-valid.onnx")[..], vec![3], vec![3., 4., 5.]),
            ("reducemean-axes-attribute-valid", &include_bytes!("fixtures/regressions/onnx_model/reducemean-axes-attribute-valid.onnx")[..], vec![1, 3], vec![1.5, 2.5, 3.5]),
            ("argmax-axis-valid", &include_bytes!("fixtures/regressions/onnx_model/argmax-axis-valid.onnx")[..], vec![2], vec![2., 2.]),
        ] {
            let model = Model::load(bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
            let out = model.run(x()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(out.len(), 1, "{name}");
            assert_eq!(out[0].tensor.shape, shape, "{name}");
            assert_eq!(out[0].tensor.data.to_f64_vec(), want, "{name}");
        }
    }

    fn profiles_of_values_near_f64_max_are_finite_and_round_trip() {
        let csv = include_bytes!("fixtures/regressions/eval_csv/values-near-f64-max.csv");
        let Table { columns: names, rows } = read_all(DataFormat::Csv, ColumnSelection::All, Limits::default(), csv).unwrap();
        let mut b = ProfileBuilder::new(names.clone(), ProfileConfig::default()).unwrap();
        for row in rows.into_iter().flatten() {
            b.add_row(&row.cells);
        }
        // Two more rows take p_0 to both ends of the f64 range.
        let Table { rows: more, .. } = read_all(DataFormat::Csv, ColumnSelection::All, Limits::default(),
            b"y,p_0,p_1,p_2,pred,s\n0,-1.7e308,1,1,1,a\n0,1.7e308,1,1,1,a\n").unwrap();
        for row in more.into_iter().flatten() {
            b.add_row(&row.cells);
        }
        let p = b.finish();
        let col = p.column("p_0").unwrap();
        assert_eq!(col.count, 6);
        let n = col.numeric.as_ref().unwrap();
        assert!(n.mean.is_finite() && n.std.is_finite() && n.std > 1e307, "{n:?}");
        assert!(n.histogram.edges.iter().all(|e| e.is_finite()), "{:?}", n.histogram.edges);
        assert!(n.histogram.edges.windows(2).all(|w| w[0] <= w[1]), "{:?}", n.histogram.edges);
        assert_eq!(n.histogram.counts.iter().sum::<u64>(), col.count);
        assert!(n.quantiles.iter().all(|q| q.value.is_finite()), "{:?}", n.quantiles);
        let back = Profile::from_json(p.to_json().as_bytes()).unwrap();
        assert_eq!(back, p);
    }
}
