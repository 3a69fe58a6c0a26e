//! The evaluation core against reference values computed by scikit-learn, scipy, statsmodels
//! and torchmetrics' formulas (`scripts/gen_eval_reference.py` →
//! `tests/fixtures/eval/reference.json`). Every number must agree within 1e-9 relative (or
//! 1e-12 absolute near zero). Runs natively, in Node, in headless Chromium and in a worker.

use edge_registry::eval::calibration;
use edge_registry::eval::classification::{argmax, ClassificationData, ClassificationMetrics};
use edge_registry::eval::compare::{compare, CompareConfig};
use edge_registry::eval::data::{read_all, ColumnSelection, Table, Value};
use edge_registry::eval::drift::{DriftAccumulator, DriftConfig, DriftMethod};
use edge_registry::eval::num::Xoshiro256;
use edge_registry::eval::profile::{ProfileBuilder, ProfileConfig};
use edge_registry::eval::regression::RegressionData;
use edge_registry::eval::stats;
use edge_registry::eval::{
    score_predictions, DataFormat, EvalConfig, Limits, MetricOptions, PredictionColumns,
    ReportContext, TaskData, TaskKind,
};
use serde_json::Value as J;

fn fixture() -> J {
    serde_json::from_str(include_str!("fixtures/eval/reference.json")).unwrap()
}

#[track_caller]
fn close(got: f64, want: f64, what: &str) {
    let ok = if want == 0.0 || got == 0.0 {
        (got - want).abs() <= 1e-12
    } else {
        (got - want).abs() <= 1e-9 * want.abs().max(got.abs()) || (got - want).abs() <= 1e-12
    };
    assert!(ok, "{what}: got {got:e}, want {want:e}");
}

#[track_caller]
fn close_opt(got: Option<f64>, want: &J, what: &str) {
    match (got, want.as_f64()) {
        (Some(g), Some(w)) => close(g, w, what),
        (None, None) => {}
        (g, _) => panic!("{what}: got {g:?}, want {want}"),
    }
}

fn f(v: &J) -> f64 {
    v.as_f64().unwrap()
}

fn ints(v: &J) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn weights_to_proba(digits: &str, c: usize) -> Vec<f64> {
    let w: Vec<f64> = digits.bytes().map(|b| f64::from(b - b'0')).collect();
    let mut out = Vec::with_capacity(w.len());
    for row in w.chunks(c) {
        let s: f64 = row.iter().sum();
        out.extend(row.iter().map(|x| x / s));
    }
    out
}

fn xo_ints(seed: u64, n: usize, bound: u64) -> Vec<u64> {
    let mut r = Xoshiro256::new(seed);
    (0..n).map(|_| r.below(bound)).collect()
}

/// `xo_classification` of the generator script.
fn xo_classification(seed: u64, n: usize, c: usize) -> (Vec<i64>, Vec<f64>) {
    let y: Vec<i64> = xo_ints(seed, n, c as u64)
        .into_iter()
        .map(|v| v as i64)
        .collect();
    let mut w = xo_ints(seed + 1, n * c, 10);
    for i in 0..n {
        if w[i * c..(i + 1) * c].iter().all(|&v| v == 0) {
            w[i * c + i % c] = 1;
        }
    }
    let digits: String = w.iter().map(|d| char::from(b'0' + *d as u8)).collect();
    (y, weights_to_proba(&digits, c))
}

fn classes(c: usize) -> Vec<String> {
    (0..c).map(|i| i.to_string()).collect()
}

fn check_classification(m: &ClassificationMetrics, e: &J, name: &str) {
    close(m.accuracy, f(&e["accuracy"]), &format!("{name} accuracy"));
    close(
        m.balanced_accuracy,
        f(&e["balanced_accuracy"]),
        &format!("{name} balanced_accuracy"),
    );
    let cm: Vec<Vec<u64>> = serde_json::from_value(e["confusion_matrix"].clone()).unwrap();
    assert_eq!(m.confusion_matrix, cm, "{name} confusion matrix");
    for (k, pc) in m.per_class.iter().enumerate() {
        close(
            pc.precision,
            f(&e["per_class"]["precision"][k]),
            &format!("{name} precision[{k}]"),
        );
        close(
            pc.recall,
            f(&e["per_class"]["recall"][k]),
            &format!("{name} recall[{k}]"),
        );
        close(
            pc.f1,
            f(&e["per_class"]["f1"][k]),
            &format!("{name} f1[{k}]"),
        );
        assert_eq!(
            pc.support as f64,
            f(&e["per_class"]["support"][k]),
            "{name} support[{k}]"
        );
    }
    for (avg, got) in [
        ("micro", &m.micro),
        ("macro", &m.macro_),
        ("weighted", &m.weighted),
    ] {
        close(
            got.precision,
            f(&e[avg]["precision"]),
            &format!("{name} {avg} precision"),
        );
        close(
            got.recall,
            f(&e[avg]["recall"]),
            &format!("{name} {avg} recall"),
        );
        close(got.f1, f(&e[avg]["f1"]), &format!("{name} {avg} f1"));
    }
    if e.get("log_loss").is_none() {
        assert!(m.log_loss.is_none() && m.roc_auc.is_none());
        return;
    }
    close_opt(m.log_loss, &e["log_loss"], &format!("{name} log_loss"));
    close_opt(m.brier, &e["brier"], &format!("{name} brier"));
    for t in &m.top_k {
        close(
            t.accuracy,
            f(&e["top_k"][t.k.to_string()]),
            &format!("{name} top_{}", t.k),
        );
    }
    let auc = m.roc_auc.as_ref().unwrap();
    for (k, a) in auc.per_class.iter().enumerate() {
        close_opt(*a, &e["roc_auc_per_class"][k], &format!("{name} auc[{k}]"));
    }
    if m.per_class.len() == 2 {
        close_opt(auc.binary, &e["roc_auc_binary"], &format!("{name} roc_auc"));
    } else {
        close_opt(
            auc.ovr_macro,
            &e["roc_auc_ovr_macro"],
            &format!("{name} auc macro"),
        );
        close_opt(
            auc.ovr_weighted,
            &e["roc_auc_ovr_weighted"],
            &format!("{name} auc weighted"),
        );
    }
}

fn check_calibration(data: &ClassificationData, e: &J, name: &str) {
    let cal = calibration::of_data(data, None, 15).unwrap();
    let t = &e["calibration_top_label"];
    close(cal.top_label.ece, f(&t["ece"]), &format!("{name} ece"));
    close(cal.top_label.mce, f(&t["mce"]), &format!("{name} mce"));
    let counts: Vec<u64> = cal.top_label.bins.iter().map(|b| b.count).collect();
    let want: Vec<u64> = serde_json::from_value(t["counts"].clone()).unwrap();
    assert_eq!(counts, want, "{name} bin counts");
    if let Some(b) = e.get("calibration_binary") {
        let got = cal.binary.unwrap();
        close(got.ece, f(&b["ece"]), &format!("{name} binary ece"));
        close(got.mce, f(&b["mce"]), &format!("{name} binary mce"));
    }
}

everywhere! {
    fn classification_matches_sklearn() {
        let fx = fixture();
        let cases = fx["classification"].as_array().unwrap();
        assert!(cases.len() >= 15);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let c = case["n_classes"].as_u64().unwrap() as usize;
            let (y, proba): (Vec<i64>, Option<Vec<f64>>) = if let Some(g) = case.get("generated") {
                let (y, p) = xo_classification(g["seed"].as_u64().unwrap(), g["n"].as_u64().unwrap() as usize, c);
                (y, Some(p))
            } else {
                let y = ints(&case["y_true"]);
                let p = match (case.get("weights"), case.get("proba")) {
                    (Some(w), _) => Some(weights_to_proba(w.as_str().unwrap(), c)),
                    (_, Some(p)) => Some(p.as_array().unwrap().iter().map(f).collect()),
                    _ => None,
                };
                (y, p)
            };
            let pred = case.get("y_pred").map(ints);
            let mut data = ClassificationData::new(c, proba.is_some());
            for i in 0..y.len() {
                let row = proba.as_ref().map(|p| &p[i * c..(i + 1) * c]);
                let pr = match (&pred, row) {
                    (Some(pr), _) => pr[i] as u32,
                    (None, Some(r)) => argmax(r) as u32,
                    (None, None) => unreachable!(),
                };
                data.push(y[i] as u32, pr, row);
            }
            assert_eq!(data.len(), y.len(), "{name}");
            let m = data.metrics(&classes(c), None, &[1, 2, 3]);
            check_classification(&m, &case["expected"], name);
            if proba.is_some() {
                check_calibration(&data, &case["expected"], name);
            }
        }
    }

    fn labels_only_with_string_classes_through_csv() {
        let fx = fixture();
        let case = &fx["labels_only_strings"];
        let y = case["y_true"].as_array().unwrap();
        let p = case["y_pred"].as_array().unwrap();
        let mut csv = String::from("label,pred\n");
        for (a, b) in y.iter().zip(p) {
            csv.push_str(&format!("{},{}\n", a.as_str().unwrap(), b.as_str().unwrap()));
        }
        let mut cfg = EvalConfig::new(TaskKind::Classification, "label");
        cfg.predictions = Some(PredictionColumns { label: Some("pred".into()), ..Default::default() });
        let r = score_predictions(cfg, None, csv.as_bytes(), ReportContext::default()).unwrap();
        let want: Vec<String> = serde_json::from_value(case["classes"].clone()).unwrap();
        assert_eq!(r.classes.as_ref().unwrap(), &want);
        let m = r.results.classification.as_ref().unwrap();
        check_classification(m, &case["expected"], "labels_only_strings");
        close(m.macro_.f1, f(&case["expected"]["macro_f1_strings"]), "macro f1 (strings)");
        assert!(r.results.calibration.is_none());
    }

    fn regression_matches_sklearn() {
        let fx = fixture();
        for case in fx["regression"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let scale = f(&case["scale"]);
            let (yt, yp): (Vec<f64>, Vec<f64>) = if let Some(g) = case.get("generated") {
                let (seed, n) = (g["seed"].as_u64().unwrap(), g["n"].as_u64().unwrap() as usize);
                let t = xo_ints(seed, n, 1_000_000);
                let noise = xo_ints(seed + 1, n, 200_000);
                (
                    t.iter().map(|&v| v as f64 / scale).collect(),
                    t.iter().zip(&noise).map(|(&v, &e)| (v as i64 + e as i64 - 100_000) as f64 / scale).collect(),
                )
            } else {
                (
                    ints(&case["y_true"]).iter().map(|&v| v as f64 / scale).collect(),
                    ints(&case["y_pred"]).iter().map(|&v| v as f64 / scale).collect(),
                )
            };
            let mut d = RegressionData::new();
            for (a, b) in yt.iter().zip(&yp) {
                d.push(*a, *b);
            }
            let m = d.metrics(None);
            let e = &case["expected"];
            close_opt(m.mae, &e["mae"], &format!("{name} mae"));
            close_opt(m.mse, &e["mse"], &format!("{name} mse"));
            close_opt(m.rmse, &e["rmse"], &format!("{name} rmse"));
            close_opt(m.r2, &e["r2"], &format!("{name} r2"));
            close_opt(m.median_ae, &e["median_ae"], &format!("{name} median_ae"));
            close_opt(m.mape, &e["mape"], &format!("{name} mape"));
        }
    }

    fn statistics_match_scipy_and_statsmodels() {
        let fx = fixture();
        let s = &fx["stats"];
        for (i, k) in s["ks"].as_array().unwrap().iter().enumerate() {
            let g = &k["generated"];
            let seed = g["seed"].as_u64().unwrap();
            let (n1, n2) = (g["n1"].as_u64().unwrap() as usize, g["n2"].as_u64().unwrap() as usize);
            let mut a: Vec<f64> = xo_ints(seed, n1, 400).iter().map(|&v| v as f64 / 100.0).collect();
            let mut b: Vec<f64> = xo_ints(seed + 1, n2, 390).iter().map(|&v| (v + 30) as f64 / 100.0).collect();
            a.sort_by(f64::total_cmp);
            b.sort_by(f64::total_cmp);
            let r = stats::ks_2samp(&a, &b).unwrap();
            close(r.statistic, f(&k["statistic"]), &format!("ks[{i}] D"));
            close(r.p_value, f(&k["p_value"]), &format!("ks[{i}] p"));
            let method = serde_json::to_value(r.method).unwrap();
            assert_eq!(method, k["method"], "ks[{i}] method");
            close(stats::wasserstein_sorted(&a, &b).unwrap(), f(&k["wasserstein"]), &format!("wasserstein[{i}]"));
        }
        for (i, c) in s["chisquare"].as_array().unwrap().iter().enumerate() {
            let o: Vec<f64> = c["observed"].as_array().unwrap().iter().map(f).collect();
            let e: Vec<f64> = c["expected"].as_array().unwrap().iter().map(f).collect();
            let r = stats::chisquare(&o, &e);
            close(r.statistic, f(&c["statistic"]), &format!("chi2[{i}] stat"));
            close(r.p_value.unwrap(), f(&c["p_value"]), &format!("chi2[{i}] p"));
        }
        for (i, c) in s["jensenshannon"].as_array().unwrap().iter().enumerate() {
            let p: Vec<f64> = c["p"].as_array().unwrap().iter().map(f).collect();
            let q: Vec<f64> = c["q"].as_array().unwrap().iter().map(f).collect();
            close(stats::jensen_shannon(&p, &q).unwrap(), f(&c["value"]), &format!("js[{i}]"));
        }
        for (i, c) in s["psi"].as_array().unwrap().iter().enumerate() {
            let p: Vec<f64> = c["reference"].as_array().unwrap().iter().map(f).collect();
            let q: Vec<f64> = c["current"].as_array().unwrap().iter().map(f).collect();
            close(stats::psi(&p, &q).unwrap(), f(&c["value"]), &format!("psi[{i}]"));
        }
        for (i, c) in s["wasserstein"].as_array().unwrap().iter().enumerate() {
            let mut u: Vec<f64> = c["u"].as_array().unwrap().iter().map(f).collect();
            let mut v: Vec<f64> = c["v"].as_array().unwrap().iter().map(f).collect();
            u.sort_by(f64::total_cmp);
            v.sort_by(f64::total_cmp);
            close(stats::wasserstein_sorted(&u, &v).unwrap(), f(&c["value"]), &format!("w1[{i}]"));
        }
        for c in s["mcnemar"].as_array().unwrap() {
            let (b, cc) = (c["b"].as_u64().unwrap(), c["c"].as_u64().unwrap());
            let t = stats::mcnemar_exact(b, cc);
            let (stat, p) = (t.statistic, t.p_value);
            close(stat, f(&c["statistic"]), &format!("mcnemar({b},{cc}) stat"));
            close(p, f(&c["p_value"]), &format!("mcnemar({b},{cc}) p"));
        }
        for c in s["ztest"].as_array().unwrap() {
            let p = stats::proportions_z_test(f(&c["h1"]), f(&c["n1"]), f(&c["h2"]), f(&c["n2"])).unwrap();
            close(p, f(&c["p_value"]), "z-test p");
        }
    }

    fn drift_follows_evidently_rules_on_profiles() {
        let fx = fixture();
        for (g, group) in fx["drift"].as_array().unwrap().iter().enumerate() {
            let Table { columns: names, rows } = read_all(DataFormat::Csv, ColumnSelection::All, Limits::default(),
                group["reference_csv"].as_str().unwrap().as_bytes()).unwrap();
            let mut b = ProfileBuilder::new(names.clone(), ProfileConfig::default()).unwrap();
            for r in &rows {
                b.add_row(&r.as_ref().unwrap().cells);
            }
            let profile = b.finish();
            let Table { columns: cur_names, rows: cur_rows } = read_all(DataFormat::Csv, ColumnSelection::All, Limits::default(),
                group["current_csv"].as_str().unwrap().as_bytes()).unwrap();
            assert_eq!(cur_names, names);
            let mut acc = DriftAccumulator::new(&profile, &names, DriftConfig::default());
            for r in &cur_rows {
                let cells: Vec<&Value> = r.as_ref().unwrap().cells.iter().collect();
                acc.add(&cells);
            }
            let rep = acc.finish(None);
            for (col, e) in rep.columns.iter().zip(group["columns"].as_array().unwrap()) {
                let what = format!("drift[{g}] {}", col.column);
                assert_eq!(col.column, e["column"].as_str().unwrap());
                let m: DriftMethod = serde_json::from_value(e["method"].clone()).unwrap();
                assert_eq!(col.method, m, "{what} method");
                close_opt(col.score, &e["score"], &format!("{what} score"));
                assert_eq!(col.drifted, e["drifted"].as_bool().unwrap(), "{what} drifted");
                close_opt(col.stats.psi, &e["psi"], &format!("{what} psi"));
                if let Some(js) = e.get("jensen_shannon") {
                    close_opt(col.stats.jensen_shannon, js, &format!("{what} js"));
                }
                for key in ["ks_statistic", "ks_p_value", "wasserstein_normed", "chi_square_p_value"] {
                    if let Some(want) = e.get(key) {
                        let got = match key {
                            "ks_statistic" => col.stats.ks_statistic,
                            "ks_p_value" => col.stats.ks_p_value,
                            "wasserstein_normed" => col.stats.wasserstein_normed,
                            _ => col.stats.chi_square_p_value,
                        };
                        close_opt(got, want, &format!("{what} {key}"));
                    }
                }
            }
            close(rep.share_drifted, f(&group["share_drifted"]), "share drifted");
            assert_eq!(rep.dataset_drift, group["dataset_drift"].as_bool().unwrap());
        }
    }

    fn bootstrap_intervals_and_mcnemar_are_reproduced() {
        let fx = fixture();
        let bs = &fx["bootstrap"];
        let mut r = Xoshiro256::new(0);
        for want in bs["xoshiro_seed0_first3"].as_array().unwrap() {
            assert_eq!(r.next_u64().to_string(), want.as_str().unwrap());
        }
        let c = bs["n_classes"].as_u64().unwrap() as usize;
        let y = ints(&bs["y_true"]);
        let build = |key: &str| {
            let p = weights_to_proba(bs[key].as_str().unwrap(), c);
            let mut d = ClassificationData::new(c, true);
            for (i, &yi) in y.iter().enumerate() {
                let row = &p[i * c..(i + 1) * c];
                d.push(yi as u32, argmax(row) as u32, Some(row));
            }
            TaskData::Classification { data: d, classes: classes(c) }
        };
        let (a, b) = (build("champion_weights"), build("challenger_weights"));
        let cfg = CompareConfig {
            metrics: vec!["accuracy".into(), "f1_macro".into(), "log_loss".into()],
            resamples: bs["resamples"].as_u64().unwrap() as usize,
            seed: bs["seed"].as_u64().unwrap(),
            confidence: 0.95,
        };
        let cmp = compare(&a, &b, &cfg, &MetricOptions::default()).unwrap();
        for m in &cmp.metrics {
            let e = &bs["metrics"][&m.metric];
            close(m.champion.unwrap(), f(&e["champion"]), &format!("{} champion", m.metric));
            close(m.challenger.unwrap(), f(&e["challenger"]), &format!("{} challenger", m.metric));
            close(m.ci_low.unwrap(), f(&e["ci_low"]), &format!("{} ci_low", m.metric));
            close(m.ci_high.unwrap(), f(&e["ci_high"]), &format!("{} ci_high", m.metric));
            assert_eq!(m.valid_resamples, cfg.resamples as u64);
        }
        let mc = cmp.mcnemar.clone().unwrap();
        assert_eq!(mc.champion_only, bs["mcnemar"]["b"].as_u64().unwrap());
        assert_eq!(mc.challenger_only, bs["mcnemar"]["c"].as_u64().unwrap());
        close(mc.p_value, f(&bs["mcnemar"]["p_value"]), "mcnemar p");
        // Same seed, same intervals: reproducible.
        let again = compare(&a, &b, &cfg, &MetricOptions::default()).unwrap();
        assert_eq!(again, cmp);
    }

    fn csv_with_bad_rows_scores_the_good_ones() {
        let fx = fixture();
        let case = &fx["csv"];
        let text = case["csv"].as_str().unwrap();
        let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
        cfg.predictions = Some(PredictionColumns::proba(&["p_0", "p_1", "p_2"]));
        cfg.columns.slices = vec!["group".into()];
        cfg.metrics.top_k = vec![1, 2, 3];
        let r = score_predictions(cfg.clone(), None, text.as_bytes(), ReportContext::default()).unwrap();
        assert_eq!(r.data.rows_read, case["rows_read"].as_u64().unwrap());
        assert_eq!(r.data.rows_used, case["rows_used"].as_u64().unwrap());
        assert_eq!(r.data.rows_skipped, case["rows_skipped"].as_u64().unwrap());
        let bad: Vec<u64> = r.data.bad_rows.iter().map(|b| b.row).collect();
        let want: Vec<u64> = serde_json::from_value(case["bad_rows"].clone()).unwrap();
        assert_eq!(bad, want);
        assert!(r.data.bad_rows.iter().all(|b| !b.reason.is_empty()));
        check_classification(r.results.classification.as_ref().unwrap(), &case["expected"], "csv");
        // Slices: a, b and the missing-value slice, counts adding up.
        let g = &r.slices[0];
        let counts: u64 = g.slices.iter().map(|s| s.count).sum();
        assert_eq!(counts, r.data.rows_used);
        assert!(g.slices.iter().any(|s| s.value == "__missing__"));
        // The same bytes pushed one at a time give the same report.
        let mut ev = edge_registry::eval::Evaluator::new(cfg.clone(), None).unwrap();
        for b in text.as_bytes() {
            ev.push(std::slice::from_ref(b)).unwrap();
        }
        let r1 = ev.finish(ReportContext::default()).unwrap();
        assert_eq!(r1.to_json(), r.to_json());
        // Fail policy stops at the first bad row with its number.
        cfg.bad_rows = edge_registry::eval::BadRowPolicy::Fail;
        let e = score_predictions(cfg, None, text.as_bytes(), ReportContext::default()).unwrap_err();
        assert_eq!(edge_registry::error::ErrorCode::code(&e), "BAD_ROW");
        assert!(e.to_string().contains("row 4"), "{e}");
    }

    fn json_rows_and_columns_give_the_csv_results() {
        let fx = fixture();
        let case = &fx["csv"];
        let text = case["csv"].as_str().unwrap();
        let Table { columns: names, rows } = read_all(DataFormat::Csv, ColumnSelection::All, Limits::default(), text.as_bytes()).unwrap();
        // Rebuild the good rows as JSON (numbers as JSON numbers where they parse).
        let mut objs = Vec::new();
        let mut cols: Vec<Vec<J>> = vec![Vec::new(); names.len()];
        for r in rows.iter().flatten() {
            let mut o = serde_json::Map::new();
            for (k, (n, v)) in names.iter().zip(&r.cells).enumerate() {
                let jv = match v {
                    Value::Missing => J::Null,
                    Value::Text(t) => t.trim().parse::<f64>().map(|x| serde_json::json!(x)).unwrap_or(J::String(t.clone())),
                    Value::Number(x) => serde_json::json!(x),
                };
                cols[k].push(jv.clone());
                o.insert(n.clone(), jv);
            }
            objs.push(J::Object(o));
        }
        let as_rows = serde_json::to_vec(&objs).unwrap();
        let as_cols = serde_json::to_vec(&J::Object(names.iter().cloned().zip(cols.into_iter().map(J::Array)).collect())).unwrap();
        let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
        cfg.predictions = Some(PredictionColumns::proba(&["p_0", "p_1", "p_2"]));
        cfg.format = DataFormat::Json;
        let a = score_predictions(cfg.clone(), None, &as_rows, ReportContext::default()).unwrap();
        let b = score_predictions(cfg, None, &as_cols, ReportContext::default()).unwrap();
        assert_eq!(a.results, b.results);
        check_classification(a.results.classification.as_ref().unwrap(), &case["expected"], "json");
    }
}
