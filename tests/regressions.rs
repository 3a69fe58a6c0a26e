//! Inputs that crashed (panicked, aborted or hung in) a parser of untrusted bytes, found by the
//! fuzz targets in `fuzz/` or by reading a dependency's code, each fed to the same public API,
//! which must now answer with a typed error (or a result). The files live in
//! `tests/fixtures/regressions/<fuzz target>/`; the seed script adds them to the fuzz corpora.
//! Natively and in wasm (Node, Chromium, worker): in wasm a panic would abort the module.
//!
//! | fixture | found by | was | now |
//! |---|---|---|---|
//! | `onnx_model/string-raw-initializer.onnx`, `string-raw-constant.onnx` | reading tract-onnx 0.23.9 `tensor.rs` | `unimplemented!` in `create_tensor` (a STRING tensor in `raw_data`) | `BAD_MODEL` from the pre-scan |

mod common;

use edge_registry::engine::{read_schema, Model};
use edge_registry::error::ErrorCode;

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
}
