//! The reference-profile parser (`Profile::from_json`, what a registry ships as
//! `profile.json`), then the profile in use: data quality and drift of a small fixed data set
//! against it, through the `Evaluator` with a fake regressor. A hostile profile (NaN
//! statistics, histograms whose edges and counts disagree, unsorted samples, huge counts) must
//! give typed errors or results, never a panic.
#![no_main]

use edge_registry::eval::{EvalConfig, Evaluator, Profile, ReportContext, TaskKind};
use edge_registry_fuzz::eval_harness::FakePredictor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = Profile::from_json(data) else {
        return;
    };
    // The profile's own JSON form parses back to the same profile.
    let again = Profile::from_json(profile.to_json().as_bytes());
    assert!(again.is_ok(), "{again:?}");

    let names: Vec<String> = profile
        .columns
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| !n.is_empty() && n != "y" && !n.contains([',', '"', '\n', '\r']))
        .take(6)
        .collect();
    if names.is_empty() {
        return;
    }
    let mut csv = names.join(",");
    csv.push_str(",y\n");
    for i in 0..24 {
        for (j, _) in names.iter().enumerate() {
            match (i + j) % 5 {
                0 => csv.push_str("a,"),
                1 => csv.push(','),
                _ => csv.push_str(&format!("{},", (i * 7 + j) as f64 * 0.5 - 3.0)),
            }
        }
        csv.push_str(&format!("{}\n", i % 3));
    }
    let mut cfg = EvalConfig::new(TaskKind::Regression, "y");
    cfg.columns.features = names.clone();
    cfg.drift_columns = Some(names.clone());
    cfg.columns.slices = vec![names[0].clone()];
    let Ok(mut ev) = Evaluator::new(cfg, Some(&profile)) else {
        return;
    };
    let mut fake = FakePredictor::new(names.len(), None, 0);
    let mut t = 0.0;
    let mut timer = move || {
        t += 1.0;
        t
    };
    if ev
        .push_with_model(csv.as_bytes(), &mut fake, None, &mut timer)
        .is_ok()
    {
        if let Ok(report) =
            ev.finish_with_model(&mut fake, None, &mut timer, ReportContext::default())
        {
            let _ = serde_json::to_string(&report);
        }
    }
});
