//! Helpers shared by the fuzz targets: a byte reader for structured inputs, chunking patterns,
//! and the fixed TUF repository (deterministic Ed25519 keys) whose files the TUF targets mutate.
//!
//! Every target only checks properties that must hold for *any* input (no panic, typed errors,
//! invariants such as "a failed refresh stores nothing"); none of them knows expected results.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use edge_registry::tuf::keys::Ed25519Signer;
use edge_registry::tuf::repo::{seed_from_label, sign_metadata, Published, RepoBuilder};
use serde_json::{json, Value};

/// 2027-01-15T08:00:00Z: the reference time of every TUF target.
pub const NOW: i64 = 1_800_000_000;
/// Expiry of the base repository: a year after [`NOW`].
pub const FAR: i64 = NOW + 365 * 86_400;

/// Reads structured values off the front of a fuzz input; past the end it yields zeros and
/// empty slices, so every input decodes to something.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// One byte (0 at the end).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// Up to `n` bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A length-prefixed (u16) byte string.
    pub fn blob(&mut self) -> &'a [u8] {
        let n = usize::from(self.u16());
        self.bytes(n)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Splits `data` into chunks whose sizes follow `pattern` (a size of 0 in the pattern yields an
/// empty chunk, which every streaming reader must accept).
pub fn chunks<'a>(data: &'a [u8], pattern: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    if pattern.is_empty() {
        out.push(data);
        return out;
    }
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let want = usize::from(pattern[i % pattern.len()]);
        let n = want.min(data.len() - at);
        out.push(&data[at..at + n]);
        at += n;
        i += 1;
        // A pattern of zeros only: stop adding empty chunks and send the rest at once.
        if i > pattern.len() * 4 && at == 0 {
            out.push(&data[at..]);
            break;
        }
    }
    out
}

/// A deterministic signer for a label (the same key every run).
pub fn signer(label: &str) -> Ed25519Signer {
    Ed25519Signer::from_seed(&seed_from_label(label))
}

/// RFC 7386 JSON merge patch: objects merge key by key, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The fixed repository the TUF targets start from: consistent snapshots, a target with a
/// model card, path delegations (one nested, one terminating), a hash-prefix delegation, and
/// every role signed by keys derived from fixed labels.
pub struct BaseRepo {
    /// The builder (keys, roles) it was made with.
    pub builder: RepoBuilder,
    /// Its files.
    pub published: Published,
    /// Every key of the repository, by role name (`root`, `timestamp`, `snapshot`, `targets`
    /// and each delegated role).
    pub signers: BTreeMap<String, Ed25519Signer>,
}

impl BaseRepo {
    fn build(meta_lengths_and_hashes: bool, consistent: bool) -> BaseRepo {
        let mut b = RepoBuilder::new("fuzz", FAR);
        b.meta_lengths_and_hashes = meta_lengths_and_hashes;
        if !consistent {
            // Root 1 (made by `new`) says consistent snapshots; root 2 says not. The client pins
            // the last root, so the fuzzer's roots start at version 3 in this variant.
            b.consistent_snapshot = false;
            let _ = b.commit_root();
        }
        b.add_target(
            "models/iris/1/model.onnx",
            b"not really a model",
            Some(json!({"name": "iris", "version": "1", "format": "onnx",
                        "inputs": [{"name": "input", "dtype": "float32", "shape": ["N", 4]}],
                        "outputs": [{"name": "label", "dtype": "int64", "shape": ["N"]}],
                        "metrics": {"accuracy": "0.9"}})),
        );
        b.add_target("README.txt", b"hello\n", None);
        b.add_target(
            "models/iris/aliases.json",
            br#"{"name":"iris","aliases":{"production":"1"}}"#,
            None,
        );
        b.delegate("targets", "team-a", &["models/team-a-*/*/*"], false);
        b.add_delegated_target(
            "team-a",
            "models/team-a-x/1/model.onnx",
            b"team model",
            None,
        );
        b.delegate("team-a", "team-a-nested", &["models/team-a-*/*/*"], false);
        b.add_delegated_target(
            "team-a-nested",
            "models/team-a-y/2/model.onnx",
            b"nested",
            None,
        );
        b.delegate("targets", "frozen", &["releases/*"], true);
        b.add_delegated_target("frozen", "releases/1.0.txt", b"release", None);
        b.delegate("targets", "hashed", &[], false);
        if let Some(d) = b.delegation_mut("hashed") {
            d.paths = None;
            d.path_hash_prefixes = Some(vec![
                "0".into(),
                "1".into(),
                "2".into(),
                "3".into(),
                "4".into(),
                "5".into(),
                "6".into(),
                "7".into(),
                "8".into(),
                "9".into(),
                "a".into(),
                "b".into(),
                "c".into(),
                "d".into(),
                "e".into(),
                "f".into(),
            ]);
        }
        b.add_delegated_target("hashed", "bins/a.bin", b"bin a", None);
        let published = b.publish().expect("the base repository publishes");
        let mut signers = BTreeMap::new();
        for (role, spec) in [
            ("root", &b.root),
            ("timestamp", &b.timestamp),
            ("snapshot", &b.snapshot),
            ("targets", &b.targets),
        ] {
            if let Some(s) = spec.signers.first() {
                signers.insert(role.to_string(), s.clone());
            }
        }
        for d in &b.delegations {
            if let Some(s) = d.role.signers.first() {
                signers.insert(d.name.clone(), s.clone());
            }
        }
        BaseRepo {
            builder: b,
            published,
            signers,
        }
    }

    /// The variant selected by two flag bits: with or without lengths and hashes in
    /// timestamp/snapshot `meta`, with or without consistent snapshots.
    pub fn get(meta_lengths_and_hashes: bool, consistent: bool) -> &'static BaseRepo {
        static REPOS: OnceLock<Vec<BaseRepo>> = OnceLock::new();
        let all = REPOS.get_or_init(|| {
            vec![
                BaseRepo::build(false, false),
                BaseRepo::build(false, true),
                BaseRepo::build(true, false),
                BaseRepo::build(true, true),
            ]
        });
        &all[usize::from(meta_lengths_and_hashes) * 2 + usize::from(consistent)]
    }

    /// The pinned root (the last committed version).
    pub fn trusted_root(&self) -> &[u8] {
        self.builder.trusted_root()
    }

    /// The role a metadata file name belongs to (`3.snapshot.json` -> `snapshot`).
    pub fn role_of(name: &str) -> String {
        let stem = name.strip_suffix(".json").unwrap_or(name);
        match stem.split_once('.') {
            Some((v, rest)) if v.bytes().all(|b| b.is_ascii_digit()) => rest.to_string(),
            _ => stem.to_string(),
        }
    }

    /// Signs `signed` with the key of `role`, and with every other key of the repository too
    /// when `all` is set (so the metadata verifies whichever role the fuzzer made it claim to
    /// be), returning the file bytes.
    pub fn sign(&self, role: &str, signed: &Value, all: bool) -> Vec<u8> {
        let signers: Vec<&Ed25519Signer> = if all {
            self.signers.values().collect()
        } else {
            self.signers.get(role).into_iter().collect()
        };
        sign_metadata(signed, &signers).unwrap_or_default()
    }
}

/// The `signed` object of a metadata file, when it has one.
pub fn signed_of(bytes: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    v.get("signed").cloned()
}

/// A [`Store`](edge_registry::store::Store) shared between the harness and an updater, so the
/// harness can look at what was persisted and hand the same state to a second client.
#[derive(Clone, Default)]
pub struct SharedStore(pub std::rc::Rc<edge_registry::store::MemoryStore>);

impl edge_registry::store::Store for SharedStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, edge_registry::store::StoreError> {
        self.0.get(key).await
    }
    async fn commit(
        &self,
        ops: &[edge_registry::store::Op<'_>],
    ) -> Result<(), edge_registry::store::StoreError> {
        self.0.commit(ops).await
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, edge_registry::store::StoreError> {
        self.0.keys(prefix).await
    }
}

impl SharedStore {
    /// Every key and value, sorted.
    pub fn dump(&self) -> Vec<(String, Vec<u8>)> {
        use edge_registry::store::Store as _;
        pollster::block_on(async {
            let mut out = Vec::new();
            for k in self.0.keys("").await.unwrap_or_default() {
                if let Ok(Some(v)) = self.0.get(&k).await {
                    out.push((k, v));
                }
            }
            out
        })
    }
}

/// The evaluation harness shared by `eval_csv` and `eval_json`.
///
/// Input: two option bytes, a chunking pattern, a JSON merge patch applied to the evaluation
/// options (what a JS caller passes), then the data. The columns come from the data's header
/// (CSV) or are fixed names (JSON: `y`, `p_0`..`p_2`, `pred`, `value`, `f0`..`f3`, `s`).
/// The evaluation scores prediction columns, or runs a fake predictor whose outputs are derived
/// from the features (NaN, infinities, out-of-range labels and wrong lengths included: a
/// hostile model can output anything). With one option bit, a reference profile is first built
/// from the same data and used for quality and drift checks.
pub mod eval_harness {
    use super::{chunks, merge_patch, Input};
    use edge_registry::error::ErrorCode;
    use edge_registry::eval::data::{read_all, ColumnSelection};
    use edge_registry::eval::{
        BadRowPolicy, DataFormat, EvalConfig, Evaluator, Limits, Prediction, PredictionColumns,
        Predictor, PredictorError, Profile, ProfileBuilder, ProfileConfig, ReportContext, TaskKind,
    };
    use serde_json::Value;

    /// The fake model.
    pub struct FakePredictor {
        /// Features per row.
        pub n_features: usize,
        /// Classes, for a classifier.
        pub n_classes: Option<usize>,
        /// Output shape quirks (wrong lengths, label outputs, failures).
        pub quirks: u8,
        calls: u32,
    }

    impl FakePredictor {
        /// A fake model with `n_features` inputs, `n_classes` classes (a regressor when `None`)
        /// and the given quirks.
        pub fn new(n_features: usize, n_classes: Option<usize>, quirks: u8) -> Self {
            FakePredictor {
                n_features,
                n_classes,
                quirks,
                calls: 0,
            }
        }
    }

    impl Predictor for FakePredictor {
        fn n_features(&self) -> usize {
            self.n_features
        }
        fn n_classes(&self) -> Option<usize> {
            self.n_classes
        }
        fn predict(
            &mut self,
            features: &[f32],
            n_rows: usize,
        ) -> Result<Prediction, PredictorError> {
            self.calls += 1;
            if self.quirks & 1 != 0 && self.calls > 2 {
                return Err(PredictorError {
                    code: "PREDICTOR_FAILED",
                    message: "fake failure".into(),
                });
            }
            let nf = self.n_features.max(1);
            let short = usize::from(self.quirks & 2 != 0);
            let feature =
                |row: usize, j: usize| features.get(row * nf + j % nf).copied().unwrap_or(0.0);
            let mut p = Prediction::default();
            match self.n_classes {
                Some(c) => {
                    let mut proba = Vec::with_capacity(n_rows * c);
                    for row in 0..n_rows {
                        for j in 0..c {
                            proba.push(feature(row, j) / 16.0);
                        }
                    }
                    proba.truncate(proba.len().saturating_sub(short));
                    p.probabilities = Some(proba);
                    if self.quirks & 4 != 0 {
                        p.labels = Some(
                            (0..n_rows.saturating_sub(short))
                                .map(|row| feature(row, 0) as i64)
                                .collect(),
                        );
                    }
                }
                None => {
                    p.values = Some(
                        (0..n_rows.saturating_sub(short))
                            .map(|row| feature(row, 0) * 1.5 - feature(row, 1))
                            .collect(),
                    );
                }
            }
            Ok(p)
        }
    }

    fn header(format: DataFormat, body: &[u8]) -> Vec<String> {
        match format {
            DataFormat::Csv => {
                let line = body.split(|&b| b == b'\n').next().unwrap_or(&[]);
                String::from_utf8_lossy(line)
                    .split(',')
                    .map(|s| {
                        s.trim_matches(|c| c == '"' || c == '\r' || c == '\u{feff}')
                            .to_string()
                    })
                    .take(64)
                    .collect()
            }
            DataFormat::Json => [
                "f0", "f1", "f2", "f3", "s", "p_0", "p_1", "p_2", "pred", "value", "y",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }

    /// Runs one evaluation as described in the module documentation.
    pub fn run(format: DataFormat, data: &[u8]) {
        let mut input = Input::new(data);
        let a = input.u8();
        let b = input.u8();
        let pattern_len = usize::from(input.u8() % 8);
        let pattern = input.bytes(pattern_len).to_vec();
        let options = input.blob();
        let body = input.rest();

        let cols = header(format, body);
        let Some((label, rest)) = cols.split_last() else {
            return;
        };
        let task = if a & 1 == 0 {
            TaskKind::Classification
        } else {
            TaskKind::Regression
        };
        let mut cfg = EvalConfig::new(task, label);
        cfg.format = format;
        cfg.bad_rows = if a & 4 != 0 {
            BadRowPolicy::Fail
        } else {
            BadRowPolicy::Skip
        };
        cfg.batch_size = [1, 7, 256, 3][usize::from((a >> 4) & 3)];
        if a & 0x40 != 0 {
            if let Some(first) = rest.first() {
                cfg.columns.slices = vec![first.clone()];
            }
        }
        if a & 0x80 != 0 && task == TaskKind::Classification {
            cfg.classes = Some(vec!["0".into(), "1".into(), "2".into()]);
        }
        if b & 1 != 0 {
            cfg.limits = Limits {
                max_rows: 50,
                max_columns: 8,
                max_field_bytes: 16,
                max_record_bytes: 128,
                max_depth: 3,
                ..Limits::default()
            };
        }
        if b & 2 != 0 {
            cfg.gates = vec![serde_json::from_value(
                serde_json::json!({"metric": if task == TaskKind::Classification { "accuracy" } else { "mae" }, "min": "0.5"}),
            )
            .unwrap_or_else(|_| unreachable!())];
        }
        let model_mode = a & 2 != 0;
        let n_classes = 2 + usize::from(b >> 6) % 3;
        if model_mode {
            cfg.columns.features = rest
                .iter()
                .filter(|c| !c.starts_with("p_") && *c != "pred" && *c != "value")
                .cloned()
                .collect();
        } else {
            let mut p = PredictionColumns::default();
            match task {
                TaskKind::Classification => {
                    let proba: Vec<String> = rest
                        .iter()
                        .filter(|c| c.starts_with("p_"))
                        .cloned()
                        .collect();
                    if b & 4 != 0 || proba.is_empty() {
                        p.label = Some(
                            rest.iter()
                                .find(|c| *c == "pred")
                                .or(rest.first())
                                .cloned()
                                .unwrap_or_default(),
                        );
                    }
                    if !(b & 4 != 0 && b & 8 == 0) {
                        p.proba = proba;
                    }
                }
                TaskKind::Regression => {
                    p.value = Some(
                        rest.iter()
                            .find(|c| *c == "value")
                            .or(rest.first())
                            .cloned()
                            .unwrap_or_default(),
                    );
                }
            }
            cfg.predictions = Some(p);
        }
        // The caller's options, as a JSON merge patch over these (hostile sizes included).
        if let Ok(patch) = serde_json::from_slice::<Value>(options) {
            let Ok(mut v) = serde_json::to_value(&cfg) else {
                return;
            };
            merge_patch(&mut v, &patch);
            match serde_json::from_value::<EvalConfig>(v) {
                Ok(c) => cfg = c,
                Err(_) => return,
            }
        }

        let profile: Option<Profile> = if b & 0x10 != 0 {
            profile_of(format, body, &cfg, b & 0x20 != 0)
        } else {
            None
        };
        if b & 0x20 != 0 {
            cfg.drift_columns = Some(rest.to_vec());
        }

        let mut ev = match Evaluator::new(cfg.clone(), profile.as_ref()) {
            Ok(ev) => ev,
            Err(e) => {
                assert!(!e.code().is_empty());
                return;
            }
        };
        let mut fake = FakePredictor::new(
            cfg.columns.features.len(),
            (task == TaskKind::Classification).then_some(n_classes),
            b >> 2,
        );
        let mut clock = 0.0f64;
        let mut timer = move || {
            clock += 0.25;
            clock
        };
        for chunk in chunks(body, &pattern) {
            let r = if model_mode {
                ev.push_with_model(chunk, &mut fake, None, &mut timer)
            } else {
                ev.push(chunk)
            };
            if r.is_err() {
                return;
            }
        }
        let report = if model_mode {
            ev.finish_with_model(&mut fake, None, &mut timer, ReportContext::default())
        } else {
            ev.finish(ReportContext::default())
        };
        if let Ok(report) = report {
            // Reports serialise (the JS and CLI outputs) whatever the data was.
            let json = serde_json::to_string(&report).unwrap_or_else(|e| panic!("report: {e}"));
            assert!(!json.is_empty());
            assert!(report.data.rows_used + report.data.rows_skipped <= report.data.rows_read);
        }
    }

    /// A reference profile of the same data (what `publish --profile` computes), round-tripped
    /// through its JSON form.
    fn profile_of(format: DataFormat, body: &[u8], cfg: &EvalConfig, all: bool) -> Option<Profile> {
        let table = read_all(format, ColumnSelection::All, cfg.limits.clone(), body).ok()?;
        let (names, rows) = (table.columns, table.rows);
        let names: Vec<String> = if all {
            names
        } else {
            names.into_iter().take(4).collect()
        };
        let mut builder = ProfileBuilder::new(
            names.clone(),
            ProfileConfig {
                sample_size: 16,
                ..ProfileConfig::default()
            },
        )
        .ok()?;
        for row in rows.into_iter().flatten() {
            let cells: Vec<_> = row.cells.into_iter().take(names.len()).collect();
            if cells.len() == names.len() {
                builder.add_row(&cells);
            }
        }
        let profile = builder.finish();
        let json = profile.to_json();
        let back = Profile::from_json(json.as_bytes())
            .unwrap_or_else(|e| panic!("profile round trip: {e}"));
        Some(back)
    }
}
