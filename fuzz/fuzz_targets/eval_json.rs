//! JSON evaluation input (array of rows, object of columns) through the `Evaluator`
//! (prediction columns and a fake predictor), chunked arbitrarily, with hostile options; see
//! `edge_registry_fuzz::eval_harness`.
#![no_main]

use edge_registry::eval::DataFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    edge_registry_fuzz::eval_harness::run(DataFormat::Json, data);
});
