//! Native engine benchmark: load (parse + optimise) time, first run (load + first inference)
//! and per-inference latency p50/p95 at batch 1 and batch 64 for each committed model. Prints
//! one JSON line like the Node and Chromium runners (benches/engine_*.mjs), which
//! scripts/bench-engine tabulates.
//!
//! Environment (for scripts/bench-peers): `ENGINE_BENCH_EXTRA`, more model directories (comma
//! separated; each with model.onnx, card.json, expected.json); `ENGINE_BENCH_MS` (default 300)
//! and `ENGINE_BENCH_MIN_RUNS` (default 30), how long and how often to time each case. The
//! outputs at batch 1 and 64 are compared with expected.json's (max abs error: `max_err`).

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

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn time_runs(mut f: impl FnMut()) -> Value {
    let (min_s, min_runs) = (
        env_num("ENGINE_BENCH_MS", 300.0) / 1e3,
        env_num("ENGINE_BENCH_MIN_RUNS", 30.0) as usize,
    );
    for _ in 0..5.min(min_runs) {
        f();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 2000 && (times.len() < min_runs || start.elapsed().as_secs_f64() < min_s) {
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

fn tensor(v: &Value) -> Tensor {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap());
    match v["dtype"].as_str().unwrap() {
        "int64" => Tensor::new(shape, TensorData::I64(data.map(|x| x as i64).collect())),
        _ => Tensor::new(shape, TensorData::F32(data.map(|x| x as f32).collect())),
    }
}

/// The largest absolute difference between the outputs and the expected ones.
fn max_err(outputs: &[NamedTensor], expected: &Value) -> f64 {
    let mut err = 0.0f64;
    for out in outputs {
        let want = tensor(&expected[&out.name]);
        assert_eq!(out.tensor.shape, want.shape, "{}", out.name);
        for (a, b) in out
            .tensor
            .data
            .to_f64_vec()
            .iter()
            .zip(want.data.to_f64_vec())
        {
            err = err.max((a - b).abs());
        }
    }
    err
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
    let index: Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let mut dirs: Vec<_> = index["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| root.join(m["dir"].as_str().unwrap()))
        .collect();
    let extra = std::env::var("ENGINE_BENCH_EXTRA").unwrap_or_default();
    dirs.extend(
        extra
            .split(',')
            .filter(|d| !d.is_empty())
            .map(std::path::PathBuf::from),
    );
    let mut results = Vec::new();
    for dir in dirs {
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
        let name = card.inputs[0].name.clone();
        let b1 = rows(&data, &shape, 1);
        let b64 = rows(&data, &shape, 64);
        let feed = |t: &Tensor| {
            vec![NamedTensor {
                name: name.clone(),
                tensor: t.clone(),
            }]
        };
        let (mut loads, mut firsts) = (Vec::new(), Vec::new());
        let mut model = None;
        for _ in 0..7 {
            let t0 = Instant::now();
            let m = Model::load(&bytes, Some(&card)).unwrap();
            loads.push(t0.elapsed().as_secs_f64() * 1e3);
            m.run(feed(&b1)).unwrap();
            firsts.push(t0.elapsed().as_secs_f64() * 1e3);
            model = Some(m);
        }
        let model = model.unwrap();
        let err = ["batch1", "batch64"]
            .map(|case| {
                let outputs = model.run(feed(&tensor(&expected[case]["inputs"]["input"])));
                max_err(&outputs.unwrap(), &expected[case]["outputs"])
            })
            .into_iter()
            .fold(0.0, f64::max);
        let run = |t: &Tensor| {
            model.run(feed(t)).unwrap();
        };
        results.push(json!({
            "model": dir.file_name().unwrap().to_string_lossy(), "load": stats(loads),
            "first": stats(firsts), "max_err": err,
            "batch1": time_runs(|| run(&b1)), "batch64": time_runs(|| run(&b64)),
        }));
    }
    println!("{}", json!({ "runtime": "native", "results": results }));
}
