//! The evaluation pipeline through its public API with a deterministic fake model: batching and
//! chunking do not change results, the model path and the prediction-column path agree, errors
//! are typed, gates refuse with the numbers, a challenger gets compared, a profile drives
//! quality and drift checks, and the portable part of a report is byte-for-byte the committed
//! one on every runtime (native, Node, Chromium, worker).

use crate::common;

use edge_registry::error::ErrorCode;
use edge_registry::eval::data::{read_all, ColumnSelection, Table};
use edge_registry::eval::gates::{self, GateSpec};
use edge_registry::eval::{
    evaluate_model, score_predictions, DataFormat, EvalConfig, Evaluator, Limits, Prediction,
    PredictionColumns, Predictor, PredictorError, Profile, ProfileBuilder, ProfileConfig,
    ReportContext, TaskKind,
};

/// Softmax of a fixed linear map of 3 features to 3 classes, in f32 (like an ONNX model), with
/// the same bits on every target.
struct Linear {
    w: [[f32; 3]; 3],
    fail: Option<&'static str>,
    bad_shape: bool,
}

impl Linear {
    fn new(scale: f32) -> Self {
        Linear {
            w: [
                [1.0 * scale, -0.5, 0.2],
                [-0.3, 0.8 * scale, 0.1],
                [0.2, 0.1, 0.9 * scale],
            ],
            fail: None,
            bad_shape: false,
        }
    }
}

impl Predictor for Linear {
    fn n_features(&self) -> usize {
        3
    }
    fn n_classes(&self) -> Option<usize> {
        Some(3)
    }
    fn predict(&mut self, x: &[f32], n: usize) -> Result<Prediction, PredictorError> {
        if let Some(code) = self.fail {
            return Err(PredictorError {
                code,
                message: "boom".into(),
            });
        }
        let mut p = Vec::with_capacity(n * 3);
        for r in x.chunks(3) {
            let z: Vec<f32> = (0..3)
                .map(|k| (0..3).map(|j| self.w[k][j] * r[j]).sum())
                .collect();
            let m = z.iter().cloned().fold(f32::MIN, f32::max);
            // libm, not std: std calls the platform libm natively and another one in wasm.
            let e: Vec<f32> = z.iter().map(|v| libm::expf(v - m)).collect();
            let s: f32 = e.iter().sum();
            p.extend(e.iter().map(|v| v / s));
        }
        if self.bad_shape {
            p.pop();
        }
        Ok(Prediction {
            probabilities: Some(p),
            labels: None,
            values: None,
        })
    }
}

/// Data rows from xorshift bytes: three features in [-2, 2], a label that mostly follows the
/// largest feature, a region and an age. A few rows are broken on purpose.
fn data_csv(seed: u32, n: usize, shift: f64) -> String {
    broken_csv(seed, n, shift, true)
}

fn broken_csv(seed: u32, n: usize, shift: f64, broken: bool) -> String {
    let bytes = common::xorshift_bytes(seed, n * 8);
    let mut s = String::from("id,x0,x1,x2,label,region,age\n");
    for i in 0..n {
        let b = &bytes[i * 8..i * 8 + 8];
        let x: Vec<f64> = (0..3)
            .map(|k| f64::from(b[k]) / 64.0 - 2.0 + shift)
            .collect();
        let mut y = (0..3).max_by(|&a, &c| x[a].total_cmp(&x[c])).unwrap();
        if b[3] % 5 == 0 {
            y = usize::from(b[4] % 3);
        }
        let region = ["north", "south", "east"][usize::from(b[5] % 3)];
        let age = 18 + u32::from(b[6] % 60);
        match if broken { i } else { 0 } {
            13 => s.push_str(&format!("{i},,{},{},{y},{region},{age}\n", x[1], x[2])),
            29 => s.push_str(&format!("{i},{},abc,{},{y},{region},{age}\n", x[0], x[2])),
            41 => s.push_str(&format!(
                "{i},{},{},{},9,{region},{age}\n",
                x[0], x[1], x[2]
            )),
            _ => s.push_str(&format!(
                "{i},{},{},{},{y},{region},{age}\n",
                x[0], x[1], x[2]
            )),
        }
    }
    s
}

fn config(batch: usize) -> EvalConfig {
    let mut c = EvalConfig::new(TaskKind::Classification, "label");
    c.columns.features = vec!["x0".into(), "x1".into(), "x2".into()];
    c.columns.slices = vec!["region".into(), "age".into()];
    c.columns.id = Some("id".into());
    c.batch_size = batch;
    c.metrics.top_k = vec![1, 2];
    c.compare.resamples = 50;
    c
}

fn ticking_timer() -> impl FnMut() -> f64 {
    let mut t = 0.0;
    move || {
        t += 1.5;
        t
    }
}

fn run(
    cfg: EvalConfig,
    data: &[u8],
    chunk: usize,
    profile: Option<&Profile>,
) -> edge_registry::eval::Report {
    let mut m = Linear::new(1.0);
    let mut timer = ticking_timer();
    let mut ev = Evaluator::new(cfg, profile).unwrap();
    for c in data.chunks(chunk) {
        ev.push_with_model(c, &mut m, None, &mut timer).unwrap();
        assert!(ev.progress().bytes > 0);
    }
    ev.finish_with_model(
        &mut m,
        None,
        &mut timer,
        ReportContext {
            time: "2026-01-01T00:00:00Z".into(),
            runtime: "test".into(),
            ..Default::default()
        },
    )
    .unwrap()
}

fn training_profile() -> Profile {
    let train = broken_csv(7, 600, 0.0, false);
    let Table {
        columns: names,
        rows,
    } = read_all(
        DataFormat::Csv,
        ColumnSelection::All,
        Limits::default(),
        train.as_bytes(),
    )
    .unwrap();
    let mut b = ProfileBuilder::new(names, ProfileConfig::default()).unwrap();
    for r in rows.iter().flatten() {
        b.add_row(&r.cells);
    }
    b.finish()
}

everywhere! {
    fn batching_and_chunking_do_not_change_results() {
        let data = data_csv(1, 300, 0.0);
        let base = run(config(256), data.as_bytes(), 1 << 20, None);
        assert_eq!(base.data.rows_read, 300);
        assert_eq!(base.data.rows_skipped, 3);
        assert_eq!(base.data.rows_used, 297);
        let cols: Vec<Option<String>> = base.data.bad_rows.iter().map(|b| b.column.clone()).collect();
        assert_eq!(cols, vec![Some("x0".into()), Some("x1".into()), Some("label".into())]);
        for (batch, chunk) in [(1, 1), (7, 13), (64, 4096)] {
            let r = run(config(batch), data.as_bytes(), chunk, None);
            assert_eq!(r.portable_json(), base.portable_json(), "batch {batch} chunk {chunk}");
            let lat = r.runtime.latency.as_ref().unwrap();
            assert_eq!(lat.rows, 297);
            assert_eq!(lat.p50_ms, 1.5);
            assert!(lat.rows_per_second.unwrap() > 0.0);
        }
        let acc = base.results.classification.as_ref().unwrap().accuracy;
        assert!(acc > 0.6 && acc < 1.0, "accuracy {acc}");
        // Slices: region by value, age by quartiles; counts add up.
        assert_eq!(base.slices.len(), 2);
        for g in &base.slices {
            assert_eq!(g.slices.iter().map(|s| s.count).sum::<u64>(), 297, "{}", g.column);
        }
        assert_eq!(serde_json::to_value(base.slices[1].kind).unwrap(), "quantile");
    }

    fn model_path_and_prediction_columns_agree() {
        let data = data_csv(2, 200, 0.0);
        let model_report = run(config(32), data.as_bytes(), 1 << 20, None);
        // Write the model's probabilities as columns (f64 shortest form of each f32: exact).
        let Table { columns: names, rows } = read_all(DataFormat::Csv, ColumnSelection::All, Limits::default(), data.as_bytes()).unwrap();
        let mut m = Linear::new(1.0);
        let mut csv = format!("{},p_0,p_1,p_2\n", names.join(","));
        for r in rows.iter().flatten() {
            let cells: Vec<String> = r.cells.iter().map(|c| c.key().unwrap_or_default()).collect();
            let x: Option<Vec<f32>> = r.cells[1..4].iter().map(|c| c.number().and_then(|v| v.ok()).map(|v| v as f32)).collect();
            let p = match x {
                Some(x) => m.predict(&x, 1).unwrap().probabilities.unwrap().iter().map(|&v| format!("{}", f64::from(v))).collect::<Vec<_>>().join(","),
                None => ",,".into(),
            };
            csv.push_str(&format!("{},{p}\n", cells.join(",")));
        }
        let mut cfg = config(32);
        cfg.columns.features.clear();
        cfg.predictions = Some(PredictionColumns::proba(&["p_0", "p_1", "p_2"]));
        let scored = score_predictions(cfg, None, csv.as_bytes(), ReportContext::default()).unwrap();
        assert_eq!(scored.results, model_report.results);
        assert_eq!(scored.data.rows_used, model_report.data.rows_used);
        assert!(scored.runtime.latency.is_none());
    }

    fn errors_are_typed() {
        let data = data_csv(3, 20, 0.0);
        let mut cfg = config(8);
        cfg.columns.features.pop();
        let mut ev = Evaluator::new(cfg, None).unwrap();
        let mut m = Linear::new(1.0);
        let mut t = ticking_timer();
        let e = ev.push_with_model(data.as_bytes(), &mut m, None, &mut t).unwrap_err();
        assert_eq!(e.code(), "SCHEMA_MISMATCH");

        let mut failing = Linear { fail: Some("ENGINE_RUN"), ..Linear::new(1.0) };
        let e = evaluate_model(config(8), None, data.as_bytes(), &mut failing, &mut t, ReportContext::default()).unwrap_err();
        assert_eq!(e.code(), "ENGINE_RUN");
        let mut bad = Linear { bad_shape: true, ..Linear::new(1.0) };
        let e = evaluate_model(config(8), None, data.as_bytes(), &mut bad, &mut t, ReportContext::default()).unwrap_err();
        assert_eq!(e.code(), "PREDICTOR_FAILED");

        let mut cfg = config(8);
        cfg.columns.features = vec!["x0".into(), "nope".into(), "x2".into()];
        let e = evaluate_model(cfg, None, data.as_bytes(), &mut m, &mut t, ReportContext::default()).unwrap_err();
        assert_eq!(e.code(), "SCHEMA_MISMATCH");

        let mut ev = Evaluator::new(config(8), None).unwrap();
        assert_eq!(ev.push(b"x").unwrap_err().code(), "INVALID_STATE");
        let e = evaluate_model(config(8), None, b"id,x0,x1,x2,label,region,age\n", &mut m, &mut t, ReportContext::default()).unwrap_err();
        assert_eq!(e.code(), "NO_ROWS");
        let mut cfg = config(8);
        cfg.metrics.top_k = vec![0];
        assert_eq!(Evaluator::new(cfg, None).err().unwrap().code(), "INVALID_ARGUMENT");
        let mut cfg = config(8);
        cfg.gates = vec![GateSpec { metric: "accurasy".into(), min: Some(0.5), max: None }];
        assert_eq!(Evaluator::new(cfg, None).err().unwrap().code(), "INVALID_ARGUMENT");
    }

    fn gates_pass_and_fail_with_numbers() {
        let data = data_csv(4, 200, 0.0);
        let mut cfg = config(64);
        cfg.gates = vec![
            GateSpec { metric: "accuracy".into(), min: Some(0.5), max: None },
            GateSpec { metric: "log_loss".into(), min: None, max: Some(0.01) },
            GateSpec { metric: "top_2_accuracy".into(), min: Some(0.99), max: None },
        ];
        let r = run(cfg, data.as_bytes(), 1 << 20, None);
        let g = r.gates.as_ref().unwrap();
        assert!(!g.passed);
        assert!(g.results[0].passed);
        assert!(!g.results[1].passed);
        let e = gates::require(g).unwrap_err();
        assert_eq!(e.code(), "GATE_FAILED");
        let msg = e.to_string();
        assert!(msg.contains("log_loss") && msg.contains("max 0.01"), "{msg}");
        let ll = r.results.classification.as_ref().unwrap().log_loss.unwrap();
        assert!(msg.contains(&format!("{ll}")), "{msg}");
        let ok = gates::evaluate(&r.results, &[GateSpec { metric: "accuracy".into(), min: Some(0.1), max: Some(1.0) }]);
        assert!(gates::require(&ok).is_ok());
    }

    fn challenger_is_compared_on_the_same_rows() {
        let data = data_csv(5, 150, 0.0);
        let mut champion = Linear::new(1.0);
        let mut challenger = Linear::new(3.0);
        let mut t = ticking_timer();
        let mut ev = Evaluator::new(config(16), None).unwrap();
        ev.push_with_model(data.as_bytes(), &mut champion, Some(&mut challenger), &mut t).unwrap();
        let r = ev.finish_with_model(&mut champion, Some(&mut challenger), &mut t, ReportContext::default()).unwrap();
        let c = r.comparison.as_ref().unwrap();
        assert_eq!(c.n, r.data.rows_used);
        let mc = c.mcnemar.as_ref().unwrap();
        assert_eq!(mc.both_correct + mc.champion_only + mc.challenger_only + mc.both_wrong, c.n);
        assert_eq!(c.metrics.len(), 3);
        for m in &c.metrics {
            let (lo, hi) = (m.ci_low.unwrap(), m.ci_high.unwrap());
            assert!(lo <= hi, "{m:?}");
            assert_eq!(m.valid_resamples, 50);
        }
        assert!(r.runtime.challenger_latency.is_some());
    }

    fn profile_drives_quality_and_drift() {
        let profile = training_profile();
        let back = Profile::from_json(profile.to_json().as_bytes()).unwrap();
        assert_eq!(back, profile);
        // Same distribution: no dataset drift. Shifted features: drift on x0..x2.
        let same = run(config(64), data_csv(8, 400, 0.0).as_bytes(), 1 << 20, Some(&profile));
        let d = same.drift.as_ref().unwrap();
        assert_eq!(d.columns.len(), 3);
        assert!(!d.dataset_drift, "{d:?}");
        let mut shifted = data_csv(9, 400, 1.5);
        shifted.push_str("400,0.1,0.1,0.1,1,west,30\n400,0.1,0.1,0.1,1,west,30\n");
        let r = run(config(64), shifted.as_bytes(), 1 << 20, Some(&profile));
        let d = r.drift.as_ref().unwrap();
        assert!(d.dataset_drift);
        assert_eq!(d.drifted_columns, 3);
        let q = &r.quality;
        assert_eq!(q.duplicate_rows, 1);
        let x0 = q.columns.iter().find(|c| c.column == "x0").unwrap();
        assert!(x0.above_max.unwrap() > 0);
        let region = q.columns.iter().find(|c| c.column == "region").unwrap();
        assert_eq!(region.unseen_categories, Some(2));
        assert_eq!(region.unseen_examples, vec!["west".to_string()]);
        let lb = q.label.as_ref().unwrap();
        assert_eq!(lb.counts.iter().map(|c| c.count).sum::<u64>(), r.data.rows_used);
    }

    fn regression_through_a_model() {
        struct Sum;
        impl Predictor for Sum {
            fn n_features(&self) -> usize { 2 }
            fn n_classes(&self) -> Option<usize> { None }
            fn predict(&mut self, x: &[f32], _n: usize) -> Result<Prediction, PredictorError> {
                Ok(Prediction { values: Some(x.chunks(2).map(|r| r[0] + r[1]).collect()), ..Default::default() })
            }
        }
        let csv = b"a,b,y\n1,2,3\n2,2,5\n0,0,1\n4,x,1\n";
        let mut cfg = EvalConfig::new(TaskKind::Regression, "y");
        cfg.columns.features = vec!["a".into(), "b".into()];
        let mut t = ticking_timer();
        let r = evaluate_model(cfg.clone(), None, csv, &mut Sum, &mut t, ReportContext::default()).unwrap();
        let m = r.results.regression.as_ref().unwrap();
        assert_eq!(m.n, 3);
        assert_eq!(m.mae, Some(2.0 / 3.0));
        assert_eq!(m.median_ae, Some(1.0));
        assert_eq!(r.data.rows_skipped, 1);
        // A classifier where a regressor is expected is a schema mismatch.
        let mut lin = Linear::new(1.0);
        cfg.columns.features = vec!["a".into(), "b".into(), "y".into()];
        let e = evaluate_model(cfg, None, csv, &mut lin, &mut t, ReportContext::default()).unwrap_err();
        assert_eq!(e.code(), "SCHEMA_MISMATCH");
    }

    fn portable_report_is_identical_on_every_runtime() {
        let (report, _) = expected_report();
        let want = include_str!("fixtures/eval/pipeline_report.json");
        assert_eq!(report.portable_json().trim_end(), want.trim_end());
        assert_eq!(report.library_version, edge_registry::VERSION);
        assert_eq!(report.runtime.time, "2026-01-01T00:00:00Z");
    }
}

fn expected_report() -> (edge_registry::eval::Report, String) {
    let profile = training_profile();
    let mut cfg = config(50);
    cfg.gates = vec![GateSpec {
        metric: "f1_macro".into(),
        min: Some(0.5),
        max: None,
    }];
    let r = run(cfg, data_csv(10, 250, 0.3).as_bytes(), 97, Some(&profile));
    let json = r.portable_json();
    (r, json)
}

/// Regenerates `tests/fixtures/eval/pipeline_report.json` (run natively:
/// `cargo test --test eval_pipeline -- --ignored write_pipeline_report`).
#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn write_pipeline_report() {
    let (_, json) = expected_report();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/eval/pipeline_report.json"
    );
    std::fs::write(path, json + "\n").unwrap();
}
