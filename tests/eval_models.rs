//! The committed models evaluated on their committed test sets through the engine: the metrics
//! equal the ones scikit-learn computed from onnxruntime's outputs (stored in each card), on
//! every target.

use edge_registry::engine::{Model, ModelPredictor, ModelSchema};
use edge_registry::eval::evaluator::{evaluate_model, EvalConfig, ReportContext};
use edge_registry::eval::TaskKind;
use serde_json::Value;

fn evaluate(model_bytes: &[u8], card: &str, csv: &[u8]) -> (Value, edge_registry::eval::Report) {
    let card: Value = serde_json::from_str(card).unwrap();
    let schema: ModelSchema = serde_json::from_value(card.clone()).unwrap();
    let model = Model::load(model_bytes, Some(&schema)).unwrap();
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
    let mut predictor = ModelPredictor::new(&model, task).unwrap();
    let mut clock = 0.0;
    let mut timer = move || {
        clock += 1.0;
        clock
    };
    let report = evaluate_model(
        cfg,
        None,
        csv,
        &mut predictor,
        &mut timer,
        ReportContext::default(),
    )
    .unwrap();
    (card, report)
}

macro_rules! model {
    ($dir:literal) => {
        (
            include_bytes!(concat!("fixtures/models/", $dir, "/model.onnx")).as_slice(),
            include_str!(concat!("fixtures/models/", $dir, "/card.json")),
            include_bytes!(concat!("fixtures/models/", $dir, "/test.csv")).as_slice(),
        )
    };
}

everywhere! {
    fn classifiers_reproduce_their_card_metrics() {
        for (model, card, csv) in [model!("digits-v1"), model!("digits-v2"), model!("digits-cnn"), model!("iris"), model!("breast-cancer")] {
            let (card, report) = evaluate(model, card, csv);
            let m = report.results.classification.as_ref().unwrap();
            let name = format!("{}@{}", card["name"], card["version"]);
            assert_eq!(report.data.rows_skipped, 0, "{name}");
            assert!((m.accuracy - card["metrics"]["accuracy"].as_f64().unwrap()).abs() < 1e-12, "{name} accuracy {}", m.accuracy);
            assert!((m.macro_.f1 - card["metrics"]["f1_macro"].as_f64().unwrap()).abs() < 1e-12, "{name} f1 {}", m.macro_.f1);
            let ll = m.log_loss.unwrap();
            assert!((ll - card["metrics"]["log_loss"].as_f64().unwrap()).abs() < 1e-5, "{name} log loss {ll}");
        }
    }

    fn the_regressor_reproduces_its_card_metrics() {
        let (model, card, csv) = model!("diabetes");
        let (card, report) = evaluate(model, card, csv);
        let m = report.results.regression.as_ref().unwrap();
        for (key, got) in [("r2", m.r2), ("mae", m.mae), ("rmse", m.rmse)] {
            let want = card["metrics"][key].as_f64().unwrap();
            let got = got.unwrap();
            assert!(((got - want) / want).abs() < 1e-6, "{key}: {got} vs {want}");
        }
    }
}
