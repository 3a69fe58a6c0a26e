//! Native engine benchmark: load (parse + optimise) time and per-inference latency p50/p95 at
//! batch 1 and batch 64 for each committed model. Prints one JSON line like the Node and
//! Chromium runners (benches/engine_*.mjs), which scripts/bench-engine tabulates.

use std::time::Instant;

use edge_registry::engine::{Model, ModelSchema, NamedTensor, Tensor, TensorData};
use serde_json::{json, Value};

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn stats(mut t: Vec<f64>) -> Value {
    t.sort_by(f64::total_cmp);
    json!({ "p50": quantile(&t, 0.5), "p95": quantile(&t, 0.95), "n": t.len() })
}

fn time_runs(mut f: impl FnMut()) -> Value {
    for _ in 0..5 {
        f();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 2000 && (times.len() < 30 || start.elapsed().as_secs_f64() < 0.3) {
        let t0 = Instant::now();
        f();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    stats(times)
}

fn rows(data: &[f32], shape: &[usize], n: usize) -> Tensor {
    let per_row = data.len() / shape[0];
    let mut out = Vec::with_capacity(n * per_row);
    for i in 0..n {
        let r = i % shape[0];
        out.extend_from_slice(&data[r * per_row..(r + 1) * per_row]);
    }
    let mut s = shape.to_vec();
    s[0] = n;
    Tensor::new(s, TensorData::F32(out))
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let index: Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let mut results = Vec::new();
    for m in index["models"].as_array().unwrap() {
        let dir = root.join(m["dir"].as_str().unwrap());
        let bytes = std::fs::read(dir.join("model.onnx")).unwrap();
        let card: ModelSchema =
            serde_json::from_slice(&std::fs::read(dir.join("card.json")).unwrap()).unwrap();
        let expected: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let input = &expected["batch64"]["inputs"]["input"];
        let data: Vec<f32> = input["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let shape: Vec<usize> = input["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let mut loads = Vec::new();
        let mut model = None;
        for _ in 0..7 {
            let t0 = Instant::now();
            model = Some(Model::load(&bytes, Some(&card)).unwrap());
            loads.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        let model = model.unwrap();
        let name = card.inputs[0].name.clone();
        let b1 = rows(&data, &shape, 1);
        let b64 = rows(&data, &shape, 64);
        let run = |t: &Tensor| {
            model
                .run(vec![NamedTensor {
                    name: name.clone(),
                    tensor: t.clone(),
                }])
                .unwrap();
        };
        results.push(json!({
            "model": m["dir"], "load": stats(loads),
            "batch1": time_runs(|| run(&b1)), "batch64": time_runs(|| run(&b64)),
        }));
    }
    println!("{}", json!({ "runtime": "native", "results": results }));
}
