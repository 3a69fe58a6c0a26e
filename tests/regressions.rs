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
//! | `eval_csv/values-near-f64-max.csv` | fuzz target `eval_csv` | a reference profile of the data had an infinite mean, deviation and histogram step, written as `null`, so its JSON did not load back | finite statistics; the profile round-trips |

mod common;

use edge_registry::engine::{read_schema, Model};
use edge_registry::error::ErrorCode;
use edge_registry::eval::data::{read_all, ColumnSelection};
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

    fn profiles_of_values_near_f64_max_are_finite_and_round_trip() {
        let csv = include_bytes!("fixtures/regressions/eval_csv/values-near-f64-max.csv");
        let (names, rows) = read_all(DataFormat::Csv, ColumnSelection::All, Limits::default(), csv).unwrap();
        let mut b = ProfileBuilder::new(names.clone(), ProfileConfig::default()).unwrap();
        for row in rows.into_iter().flatten() {
            b.add_row(&row.cells);
        }
        // Two more rows take p_0 to both ends of the f64 range.
        let (_, more) = read_all(DataFormat::Csv, ColumnSelection::All, Limits::default(),
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
