//! Fleet evaluation: the committed models' test sets split into parts ("devices"), each part
//! evaluated with a summary, the summaries merged: every metric of the fleet report equals the
//! single evaluation of the whole set within 1e-9 (classification binary and multiclass,
//! regression, slices, drift). Mismatched or tampered summaries are refused with typed errors;
//! privacy noise is recorded and deterministic with a seeded generator.

use edge_registry::engine::{Model, ModelPredictor, ModelSchema};
use edge_registry::error::ErrorCode;
use edge_registry::eval::data::{read_all, ColumnSelection, Table};
use edge_registry::eval::fleet::{self, Summary};
use edge_registry::eval::num::Xoshiro256;
use edge_registry::eval::{
    evaluate_model, score_predictions, DataFormat, EvalConfig, Limits, ModelIdentity,
    PredictionColumns, Profile, ProfileBuilder, ProfileConfig, Report, ReportContext, TaskKind,
};
use serde_json::Value;

struct Fixture {
    model: &'static [u8],
    card: &'static str,
    test: &'static str,
    train: &'static str,
}

macro_rules! fixture {
    ($dir:literal) => {
        Fixture {
            model: include_bytes!(concat!("fixtures/models/", $dir, "/model.onnx")),
            card: include_str!(concat!("fixtures/models/", $dir, "/card.json")),
            test: include_str!(concat!("fixtures/models/", $dir, "/test.csv")),
            train: include_str!(concat!("fixtures/models/", $dir, "/train.csv")),
        }
    };
}

/// The CSV with a `region` column (three values, missing on every seventh row).
fn with_region(csv: &str) -> String {
    let mut out = String::new();
    for (i, line) in csv.lines().enumerate() {
        let region = match i {
            0 => "region",
            i if i % 7 == 0 => "",
            i => ["north", "south", "east"][i % 3],
        };
        out.push_str(line);
        out.push(',');
        out.push_str(region);
        out.push('\n');
    }
    out
}

/// The data rows cut into `k` contiguous parts of uneven sizes, each with the header.
fn split(csv: &str, k: usize) -> Vec<String> {
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let weights: Vec<usize> = (1..=k).collect();
    let total: usize = weights.iter().sum();
    let mut parts = Vec::new();
    let mut at = 0;
    for (j, w) in weights.iter().enumerate() {
        let end = if j + 1 == k {
            rows.len()
        } else {
            at + rows.len() * w / total
        };
        let mut s = format!("{header}\n");
        for r in &rows[at..end] {
            s.push_str(r);
            s.push('\n');
        }
        parts.push(s);
        at = end;
    }
    parts
}

fn profile_of(csv: &str) -> Profile {
    let Table { columns, rows } = read_all(
        DataFormat::Csv,
        ColumnSelection::All,
        Limits::default(),
        csv.as_bytes(),
    )
    .unwrap();
    let mut b = ProfileBuilder::new(columns, ProfileConfig::default()).unwrap();
    for r in rows.iter().flatten() {
        b.add_row(&r.cells);
    }
    b.finish()
}

fn config(card: &Value, slice: &str) -> EvalConfig {
    let task = if card["task"] == "regression" {
        TaskKind::Regression
    } else {
        TaskKind::Classification
    };
    let mut cfg = EvalConfig::new(task, card["label_column"].as_str().unwrap());
    cfg.columns.features = card["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    if let Some(labels) = card["labels"].as_array() {
        cfg.classes = Some(
            labels
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect(),
        );
    }
    cfg.columns.slices = vec!["region".into(), slice.into()];
    cfg.metrics.top_k = vec![1, 2, 3];
    cfg.summary = true;
    // One row per inference: tract's float32 kernels may round differently for different batch
    // shapes, and a device's batches are not the pooled run's batches. The merge is exact; the
    // model's outputs must be the same rows' outputs for the comparison to mean that.
    cfg.batch_size = 1;
    cfg
}

fn run(f: &Fixture, data: &str, profile: &Profile, device: usize) -> Report {
    let card: Value = serde_json::from_str(f.card).unwrap();
    let schema: ModelSchema = serde_json::from_value(card.clone()).unwrap();
    let model = Model::load(f.model, Some(&schema)).unwrap();
    let slice = card["feature_names"][0].as_str().unwrap().to_string();
    let cfg = config(&card, &slice);
    let mut predictor = ModelPredictor::new(&model, cfg.task).unwrap();
    let mut clock = 0.0;
    let mut timer = move || {
        clock += 1.5;
        clock
    };
    let ctx = ReportContext {
        time: format!("2025-01-0{}T00:00:00Z", device + 1),
        runtime: "native".into(),
        model: Some(ModelIdentity {
            target_path: format!("models/{}/model.onnx", card["name"].as_str().unwrap()),
            sha256: "ab".repeat(32),
            reference: None,
        }),
        challenger: None,
    };
    evaluate_model(
        cfg,
        Some(profile),
        data.as_bytes(),
        &mut predictor,
        &mut timer,
        ctx,
    )
    .unwrap()
}

/// Every number in `a` equals the one in `b` within 1e-9 (relative for large values); every
/// other value is equal.
fn assert_close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                "{path}: merged {x} vs pooled {y}"
            );
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: Vec<_> = x.keys().collect();
            let ky: Vec<_> = y.keys().collect();
            assert_eq!(kx, ky, "{path}: keys");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_close(v, w, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

fn summaries(reports: &[Report]) -> Vec<Summary> {
    reports.iter().map(|r| r.summary.clone().unwrap()).collect()
}

/// Pooled vs merged on one fixture, split into `k` parts.
fn pooled_equals_merged(f: &Fixture, k: usize) -> (Report, fleet::FleetReport) {
    let profile = profile_of(f.train);
    let data = with_region(f.test);
    let pooled = run(f, &data, &profile, 0);
    let parts: Vec<Report> = split(&data, k)
        .iter()
        .enumerate()
        .map(|(i, p)| run(f, p, &profile, i))
        .collect();
    let fleet = fleet::fleet_report(&fleet::merge(&summaries(&parts)).unwrap()).unwrap();
    assert_eq!(fleet.devices, k as u64);
    assert_eq!(fleet.data.rows_used, pooled.data.rows_used);
    assert_eq!(fleet.data.rows_read, pooled.data.rows_read);
    assert_eq!(fleet.classes, pooled.classes);
    assert!(fleet.approximate.is_empty(), "{:?}", fleet.approximate);
    let pj = serde_json::to_value(&pooled).unwrap();
    let fj = serde_json::to_value(&fleet).unwrap();
    for key in ["results", "slices", "drift"] {
        assert_close(&fj[key], &pj[key], key);
    }
    // Latency: every device's batches, not comparable to one run's batches, but the rows add up.
    let lat = fleet.latency.as_ref().unwrap();
    assert_eq!(lat.rows, pooled.data.rows_used);
    let batches: u64 = parts
        .iter()
        .map(|r| r.runtime.latency.as_ref().unwrap().batches)
        .sum();
    assert_eq!(lat.batches, batches);
    // The pooled summary itself turns into the same report.
    let again = fleet::fleet_report(pooled.summary.as_ref().unwrap()).unwrap();
    assert_close(
        &serde_json::to_value(&again.results).unwrap(),
        &pj["results"],
        "self",
    );
    (pooled, fleet)
}

everywhere! {
    fn multiclass_fleet_equals_the_pooled_evaluation() {
        for k in [3, 5] {
            let (pooled, fleet) = pooled_equals_merged(&fixture!("iris"), k);
            let c = fleet.results.classification.as_ref().unwrap();
            assert!(c.roc_auc.as_ref().unwrap().ovr_macro.is_some());
            assert_eq!(fleet.slices.len(), 2);
            assert_eq!(fleet.slices[1].kind, edge_registry::eval::slices::SliceKind::Quantile);
            assert!(pooled.drift.is_some() && fleet.drift.is_some());
        }
    }

    fn binary_fleet_equals_the_pooled_evaluation() {
        let (_, fleet) = pooled_equals_merged(&fixture!("breast-cancer"), 4);
        let c = fleet.results.classification.as_ref().unwrap();
        assert!(c.roc_auc.as_ref().unwrap().binary.is_some());
        assert!(fleet.results.calibration.as_ref().unwrap().binary.is_some());
    }

    fn ten_class_fleet_equals_the_pooled_evaluation() {
        pooled_equals_merged(&fixture!("digits-v1"), 3);
    }

    fn regression_fleet_equals_the_pooled_evaluation() {
        let (_, fleet) = pooled_equals_merged(&fixture!("diabetes"), 5);
        let r = fleet.results.regression.as_ref().unwrap();
        assert!(r.r2.is_some() && r.median_ae.is_some());
    }

    fn discovered_classes_are_united_across_devices() {
        // Labels only: device one never sees class "c".
        let csv = "y,p,g\na,a,x\nb,a,y\na,b,x\nb,b,y\nc,a,x\nc,c,y\na,a,y\nb,c,x\n";
        let parts = split(csv, 2);
        assert!(!parts[0].contains("\nc,"));
        let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
        cfg.predictions = Some(PredictionColumns { label: Some("p".into()), ..Default::default() });
        cfg.columns.slices = vec!["g".into()];
        cfg.summary = true;
        let eval = |d: &str| score_predictions(cfg.clone(), None, d.as_bytes(), ReportContext::default()).unwrap();
        let pooled = eval(csv);
        let reports: Vec<Report> = parts.iter().map(|p| eval(p)).collect();
        let fleet = fleet::fleet_report(&fleet::merge(&summaries(&reports)).unwrap()).unwrap();
        assert_eq!(fleet.classes, pooled.classes);
        let pj = serde_json::to_value(&pooled).unwrap();
        let fj = serde_json::to_value(&fleet).unwrap();
        assert_close(&fj["results"], &pj["results"], "results");
        assert_close(&fj["slices"], &pj["slices"], "slices");
    }

    fn mismatched_or_tampered_summaries_are_refused() {
        let csv = "y,p_0,p_1\n0,0.8,0.2\n1,0.3,0.7\n1,0.6,0.4\n0,0.1,0.9\n";
        let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
        cfg.predictions = Some(PredictionColumns::proba(&["p_0", "p_1"]));
        cfg.summary = true;
        let eval = |c: EvalConfig| {
            score_predictions(c, None, csv.as_bytes(), ReportContext::default())
                .unwrap()
                .summary
                .unwrap()
        };
        let a = eval(cfg.clone());
        let mut other = cfg.clone();
        other.metrics.top_k = vec![1];
        let code = |r: Result<Summary, edge_registry::eval::EvalError>| r.unwrap_err().code();
        assert_eq!(code(fleet::merge(&[a.clone(), eval(other)])), "SUMMARY_MISMATCH");
        let mut bins = cfg.clone();
        bins.metrics.calibration_bins = 10;
        assert_eq!(code(fleet::merge(&[a.clone(), eval(bins)])), "SUMMARY_MISMATCH");
        let mut model = a.clone();
        model.model = Some(ModelIdentity { target_path: "m".into(), sha256: "00".into(), reference: None });
        assert_eq!(code(fleet::merge(&[a.clone(), model])), "SUMMARY_MISMATCH");
        let mut classes = a.clone();
        classes.classes = Some(vec!["no".into(), "yes".into()]);
        assert_eq!(code(fleet::merge(&[a.clone(), classes])), "SUMMARY_MISMATCH");
        let mut tampered = a.clone();
        tampered.results.classification.as_mut().unwrap().confusion[0][0] += 1;
        assert_eq!(code(fleet::merge(&[a.clone(), tampered])), "BAD_SUMMARY");
        assert_eq!(code(fleet::merge(&[])), "BAD_SUMMARY");
        // A report without a summary.
        let mut plain = cfg.clone();
        plain.summary = false;
        let r = score_predictions(plain, None, csv.as_bytes(), ReportContext::default()).unwrap();
        assert!(r.summary.is_none());
        assert!(!r.to_json().contains("\"summary\""));
        let doc = serde_json::to_value(&r).unwrap();
        assert_eq!(fleet::merge_reports(&[doc]).unwrap_err().code(), "BAD_SUMMARY");
        // Reports merge through their JSON, fleet reports merge again.
        let doc = serde_json::to_value(
            score_predictions(cfg, None, csv.as_bytes(), ReportContext::default()).unwrap(),
        )
        .unwrap();
        let f2 = fleet::merge_reports(&[doc.clone(), doc.clone()]).unwrap();
        let f4 = fleet::merge_reports(&[serde_json::to_value(&f2).unwrap(), serde_json::to_value(&f2).unwrap()]).unwrap();
        assert_eq!(f4.devices, 4);
        assert_eq!(f4.data.rows_used, 16);
        assert_eq!(f4.results.classification.as_ref().unwrap().accuracy, f2.results.classification.as_ref().unwrap().accuracy);
    }

    fn privacy_noise_is_recorded_and_deterministic() {
        let f = fixture!("iris");
        let profile = profile_of(f.train);
        let data = with_region(f.test);
        let parts: Vec<Summary> = split(&data, 3)
            .iter()
            .enumerate()
            .map(|(i, p)| run(&f, p, &profile, i).summary.unwrap())
            .collect();
        let noised = |seed: u64| -> Vec<Summary> {
            parts
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut s = s.clone();
                    let mut rng = Xoshiro256::new(seed + i as u64);
                    fleet::add_noise(&mut s, 1.0, &mut rng).unwrap();
                    s
                })
                .collect()
        };
        let a = noised(7);
        assert_eq!(a, noised(7), "same seed, same noise");
        assert_ne!(a, noised(8));
        let p = a[0].privacy.as_ref().unwrap();
        assert_eq!((p.epsilon, p.per_device, p.mechanism.as_str()), (1.0, true, "geometric+laplace"));
        assert!(p.sensitivity > 1.0);
        let cm = |s: &Summary| s.results.classification.as_ref().unwrap().confusion.clone();
        assert_ne!(cm(&a[0]), cm(&parts[0]), "counts are noised");
        assert!(a[0].sources[0].data_sha256.is_none());
        assert!(a[0].results.classification.as_ref().unwrap().proba.as_ref().unwrap().scores[0].grid.is_some());
        let fleet = fleet::fleet_report(&fleet::merge(&a).unwrap()).unwrap();
        let fp = fleet.privacy.as_ref().unwrap();
        assert_eq!(fp.epsilon, 1.0);
        assert!(fleet.approximate.iter().any(|x| x.metric == "*"));
        // Noise once only; mixing noised and exact summaries is refused.
        let mut twice = a[0].clone();
        assert_eq!(fleet::add_noise(&mut twice, 1.0, &mut Xoshiro256::new(1)).unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(fleet::merge(&[a[0].clone(), parts[1].clone()]).unwrap_err().code(), "SUMMARY_MISMATCH");
        let mut bad_eps = parts[0].clone();
        assert!(fleet::add_noise(&mut bad_eps, 0.0, &mut Xoshiro256::new(1)).is_err());
    }

    fn coarsened_sketches_are_marked_approximate_with_a_bound() {
        use fleet::ValueSketch;
        let items: Vec<(f64, [u64; 2])> = (0..1000).map(|i| (i as f64 / 1000.0, [u64::from(i % 3 == 0), u64::from(i % 3 != 0)])).collect();
        let exact = ValueSketch::from_items(items.iter().map(|(x, c)| (*x, &c[..])), 2, 10_000);
        let small = ValueSketch::from_items(items.iter().map(|(x, c)| (*x, &c[..])), 2, 50);
        assert!(exact.is_exact() && !small.is_exact());
        assert!(small.entries.len() <= 50);
        assert_eq!(small.total(0), exact.total(0));
        assert_eq!(small.total(1), exact.total(1));
        let mut merged = small.clone();
        merged.merge(&exact.clone()).unwrap_err(); // different caps
        merged.merge(&small).unwrap();
        assert_eq!(merged.total(0), 2 * exact.total(0));
    }
}
