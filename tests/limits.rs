//! Limits on everything read (issue 9): each bound is checked before memory is committed and
//! answers with a typed error. Metadata sizes per role and signed lengths, target lengths,
//! oversized stored copies, delegations visited, ONNX tensors declared in the graph, model
//! output widths, evaluation options and data, profile options. Natively and in wasm.

use edge_registry::clock::FixedClock;
use edge_registry::engine::{EngineLimits, Model};
use edge_registry::error::ErrorCode;
use edge_registry::eval::{
    DataFormat, EvalConfig, Evaluator, Limits, Prediction, PredictionColumns, Predictor,
    PredictorError, ProfileBuilder, ProfileConfig, ReportContext, TaskKind,
};
use edge_registry::fetch::MemoryFetch;
use edge_registry::store::{MemoryStore, Store};
use edge_registry::tuf::repo::{Published, RepoBuilder};
use edge_registry::tuf::updater::metadata_key;
use edge_registry::tuf::{Updater, UpdaterConfig};
use prost::Message;
use tract_onnx::pb;

/// 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000;
const FAR: i64 = NOW + 365 * 86_400;

type Client = Updater<MemoryFetch, MemoryStore, FixedClock>;

fn repo(targets: usize) -> RepoBuilder {
    let mut b = RepoBuilder::new("limits", FAR);
    for i in 0..targets {
        b.add_target(
            &format!("files/{i}.txt"),
            format!("file {i}").as_bytes(),
            None,
        );
    }
    b
}

fn serve(f: &MemoryFetch, p: &Published) {
    for (name, bytes) in &p.metadata {
        f.insert(format!("meta/{name}"), bytes.clone());
    }
    for (name, bytes) in &p.targets {
        f.insert(format!("targets/{name}"), bytes.clone());
    }
}

fn client(b: &RepoBuilder, config: UpdaterConfig, store: MemoryStore) -> Client {
    let f = MemoryFetch::new();
    serve(&f, &b.publish().unwrap());
    Updater::new(config, f, store, FixedClock::new(NOW)).with_trusted_root(b.roots()[0].clone())
}

/// An ONNX model `y = x + c` whose initializer `c` declares `dims` and carries `raw` bytes
/// (data type `data_type`).
fn model_with_initializer(dims: Vec<i64>, data_type: i32, raw: Vec<u8>) -> Vec<u8> {
    let float = pb::tensor_proto::DataType::Float as i32;
    let value_info = |name: &str| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            denotation: String::new(),
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: float,
                shape: Some(pb::TensorShapeProto {
                    dim: vec![pb::tensor_shape_proto::Dimension {
                        denotation: String::new(),
                        value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(1)),
                    }],
                }),
            })),
        }),
        ..Default::default()
    };
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(pb::GraphProto {
            name: "g".into(),
            node: vec![pb::NodeProto {
                input: vec!["x".into(), "c".into()],
                output: vec!["y".into()],
                op_type: "Add".into(),
                name: "add".into(),
                ..Default::default()
            }],
            initializer: vec![pb::TensorProto {
                dims,
                data_type,
                name: "c".into(),
                raw_data: raw,
                ..Default::default()
            }],
            input: vec![value_info("x")],
            output: vec![value_info("y")],
            ..Default::default()
        }),
        ..Default::default()
    };
    model.encode_to_vec()
}

type Edit = Box<dyn FnOnce(&mut EvalConfig)>;

/// A predictor whose outputs are as wide as a (hostile) model says.
struct Wide(usize);

impl Predictor for Wide {
    fn n_features(&self) -> usize {
        1
    }
    fn n_classes(&self) -> Option<usize> {
        Some(self.0)
    }
    fn predict(&mut self, _: &[f32], n: usize) -> Result<Prediction, PredictorError> {
        Ok(Prediction {
            probabilities: Some(vec![1.0 / self.0 as f32; n * self.0]),
            ..Prediction::default()
        })
    }
}

fn scoring(
    cfg_edit: impl FnOnce(&mut EvalConfig),
) -> Result<Evaluator, edge_registry::eval::EvalError> {
    let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
    cfg.predictions = Some(PredictionColumns::proba(&["p_0", "p_1"]));
    cfg_edit(&mut cfg);
    Evaluator::new(cfg, None)
}

everywhere_async! {
    async fn signed_metadata_lengths_above_the_maxima_are_refused_before_fetching() {
        let b = repo(60);
        let mut config = UpdaterConfig::new("meta", "targets");
        config.targets_max_length = 2_000;
        let mut u = client(&b, config, MemoryStore::new());
        let err = u.refresh().await.unwrap_err();
        assert_eq!(err.code(), "LIMIT_EXCEEDED", "{err}");
        assert!(err.to_string().contains("2000"), "{err}");
        assert!(!u.fetcher().requests().iter().any(|r| r.contains("targets.json")),
            "the oversized targets metadata was fetched: {:?}", u.fetcher().requests());

        let mut config = UpdaterConfig::new("meta", "targets");
        config.snapshot_max_length = 100;
        let mut u = client(&b, config, MemoryStore::new());
        assert_eq!(u.refresh().await.unwrap_err().code(), "LIMIT_EXCEEDED");
        assert!(!u.fetcher().requests().iter().any(|r| r.contains("snapshot.json")));
    }

    async fn a_target_longer_than_max_target_length_is_not_fetched() {
        let mut b = repo(0);
        b.add_target("models/big/1/model.onnx", &vec![7u8; 5_000], None);
        let mut config = UpdaterConfig::new("meta", "targets");
        config.max_target_length = 4_096;
        let mut u = client(&b, config, MemoryStore::new());
        u.refresh().await.unwrap();
        let info = u.target_info("models/big/1/model.onnx").await.unwrap();
        u.fetcher().clear_requests();
        let mut got = 0usize;
        let err = u.download_target(&info, &mut |c| { got += c.len(); Ok(()) }).await.unwrap_err();
        assert_eq!(err.code(), "LIMIT_EXCEEDED", "{err}");
        assert_eq!(got, 0);
        assert!(u.fetcher().requests().is_empty(), "{:?}", u.fetcher().requests());
    }

    async fn oversized_stored_metadata_is_ignored_not_parsed() {
        // A tampered cache holding a huge "timestamp": the refresh fetches a fresh one and
        // replaces it, as if nothing was stored.
        let b = repo(1);
        let store = MemoryStore::new();
        let huge = vec![b'{'; 100_000];
        store.put(&metadata_key("", "timestamp"), &huge).await.unwrap();
        store.put(&metadata_key("", "root"), &vec![b'['; 600_000]).await.unwrap();
        let mut u = client(&b, UpdaterConfig::new("meta", "targets"), store);
        u.refresh().await.unwrap();
        let stored = u.store().get(&metadata_key("", "timestamp")).await.unwrap().unwrap();
        assert!(stored.len() < 16_384 && stored.starts_with(b"{"));
        let root = u.store().get(&metadata_key("", "root")).await.unwrap().unwrap();
        assert!(root.len() < 600_000);
    }

    async fn the_delegation_search_visits_at_most_max_delegations_roles() {
        // A chain of 12 delegations, each to the next: a lookup at the bottom needs 13 roles.
        let mut b = repo(0);
        let mut parent = "targets".to_string();
        for i in 0..12 {
            let name = format!("level-{i}");
            b.delegate(&parent, &name, &["deep/*"], false);
            parent = name;
        }
        b.add_delegated_target(&parent, "deep/file.txt", b"at the bottom", None);
        let mut config = UpdaterConfig::new("meta", "targets");
        config.max_delegations = 8;
        let mut u = client(&b, config, MemoryStore::new());
        u.refresh().await.unwrap();
        let err = u.target_info("deep/file.txt").await.unwrap_err();
        assert_eq!(err.code(), "DELEGATION_LIMIT", "{err}");
        assert!(u.fetcher().requests().iter().filter(|r| r.contains("level-")).count() <= 8);
        assert_eq!(u.list_targets().await.unwrap_err().code(), "DELEGATION_LIMIT");
    }
}

everywhere! {
    fn onnx_tensors_are_checked_before_tract_allocates_them() {
        let float = pb::tensor_proto::DataType::Float as i32;
        // 2^20 × 2^20 floats declared, 4 bytes given.
        let huge = model_with_initializer(vec![1 << 20, 1 << 20], float, vec![0; 4]);
        let err = Model::load(&huge, None).unwrap_err();
        assert_eq!(err.code(), "LIMIT_EXCEEDED", "{err}");
        assert!(err.to_string().contains("initializer `c`"), "{err}");
        // A product that overflows 64 bits saturates and is refused the same way.
        let overflow = model_with_initializer(vec![i64::MAX, i64::MAX, 4], float, vec![]);
        assert_eq!(Model::load(&overflow, None).unwrap_err().code(), "LIMIT_EXCEEDED");
        // Negative dimensions.
        let negative = model_with_initializer(vec![-1], float, vec![0; 4]);
        assert_eq!(Model::load(&negative, None).unwrap_err().code(), "BAD_MODEL");
        // Under a lower caller limit, a small model's initializer is too large too.
        let ok = model_with_initializer(vec![1], float, vec![0; 4]);
        let model = Model::load(&ok, None).unwrap();
        assert_eq!(model.schema().inputs.len(), 1);
        let tight = EngineLimits { max_model_bytes: 1 << 20, max_tensor_elements: 0, ..Default::default() };
        assert_eq!(Model::load_with_limits(&ok, None, tight).unwrap_err().code(), "LIMIT_EXCEEDED");
        let tiny = EngineLimits { max_model_bytes: 10, max_tensor_elements: 1 << 20, ..Default::default() };
        assert_eq!(Model::load_with_limits(&ok, None, tiny).unwrap_err().code(), "LIMIT_EXCEEDED");
    }

    fn evaluation_options_cannot_size_allocations_without_bound() {
        let cases: Vec<(&str, Edit)> = vec![
            ("calibration_bins", Box::new(|c| c.metrics.calibration_bins = usize::MAX)),
            ("top_k", Box::new(|c| c.metrics.top_k = vec![1 << 30])),
            ("quantile_bins", Box::new(|c| c.slices.quantile_bins = 1 << 30)),
            ("resamples", Box::new(|c| c.compare.resamples = usize::MAX)),
            ("max_current_sample", Box::new(|c| c.drift.max_current_sample = usize::MAX)),
            ("batch_size", Box::new(|c| c.batch_size = 1 << 30)),
            ("classes", Box::new(|c| { c.classes = Some((0..5000).map(|i| i.to_string()).collect()); })),
        ];
        for (what, edit) in cases {
            let err = scoring(edit).err().unwrap_or_else(|| panic!("{what} was accepted"));
            assert_eq!(err.code(), "LIMIT_EXCEEDED", "{what}: {err}");
            assert!(err.to_string().contains(what), "{what}: {err}");
        }
        assert!(scoring(|_| {}).is_ok());
        let err = ProfileBuilder::new(vec!["x".into()], ProfileConfig { n_bins: usize::MAX, ..ProfileConfig::default() })
            .err()
            .unwrap();
        assert_eq!(err.code(), "LIMIT_EXCEEDED");
    }

    fn a_model_wider_than_the_class_limit_is_refused() {
        let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
        cfg.columns.features = vec!["x".into()];
        let mut ev = Evaluator::new(cfg, None).unwrap();
        let mut model = Wide(1 << 20);
        let mut t = 0.0;
        let mut timer = move || { t += 1.0; t };
        let err = ev.push_with_model(b"x,y\n1,0\n", &mut model, None, &mut timer).unwrap_err();
        assert_eq!(err.code(), "LIMIT_EXCEEDED", "{err}");
    }

    fn many_distinct_labels_are_bad_rows_not_a_huge_confusion_matrix() {
        // 3,000 distinct labels (more than MAX_CLASSES): rows past the limit are skipped as
        // bad rows with a reason, and the report is built from the rest.
        let mut csv = String::from("y,pred\n");
        for i in 0..3000 {
            csv.push_str(&format!("c{i},c{i}\n"));
        }
        let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
        cfg.predictions = Some(PredictionColumns { label: Some("pred".into()), ..PredictionColumns::default() });
        let mut ev = Evaluator::new(cfg, None).unwrap();
        ev.push(csv.as_bytes()).unwrap();
        let report = ev.finish(ReportContext::default()).unwrap();
        assert_eq!(report.data.rows_used, edge_registry::eval::evaluator::MAX_CLASSES as u64);
        assert_eq!(report.data.rows_skipped, 3000 - report.data.rows_used);
        assert!(report.data.bad_rows[0].reason.contains("distinct labels"), "{:?}", report.data.bad_rows[0]);
    }

    fn csv_and_json_limits_are_typed_errors() {
        let tight = Limits { max_rows: 2, max_columns: 3, max_field_bytes: 8, max_record_bytes: 64, max_depth: 2, ..Limits::default() };
        let run = |format: DataFormat, data: &[u8]| {
            let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
            cfg.format = format;
            cfg.limits = tight.clone();
            cfg.bad_rows = edge_registry::eval::BadRowPolicy::Fail;
            cfg.predictions = Some(PredictionColumns { label: Some("p".into()), ..PredictionColumns::default() });
            let mut ev = Evaluator::new(cfg, None).unwrap();
            match ev.push(data) {
                Err(e) => e,
                Ok(()) => ev.finish(ReportContext::default()).unwrap_err(),
            }
        };
        for (format, data, want) in [
            (DataFormat::Csv, &b"y,p\n1,1\n0,0\n1,1\n"[..], "LIMIT_EXCEEDED"),
            (DataFormat::Csv, &b"y,p,a,b\n1,1,2,3\n"[..], "LIMIT_EXCEEDED"),
            (DataFormat::Csv, &b"y,p\n1,123456789012\n"[..], "BAD_ROW"),
            (DataFormat::Csv, format!("y,p\n1,\"{}\"\n", "x".repeat(100)).as_bytes(), "LIMIT_EXCEEDED"),
            (DataFormat::Json, &br#"[{"y":1,"p":[[[1]]]}]"#[..], "LIMIT_EXCEEDED"),
        ] {
            let err = run(format, data);
            assert_eq!(err.code(), want, "{:?}: {err}", String::from_utf8_lossy(data));
        }
    }
}
