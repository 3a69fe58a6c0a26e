//! `edge-registry eval`: evaluate predictions (and, once the engine and registry client land,
//! models) on local data; `edge-registry profile`: write a reference data profile.
//!
//! The file is read in 64 KiB chunks and pushed into the streaming core, so a large file is
//! never held in memory; a progress line is drawn on standard error for files over 8 MiB when
//! it is a terminal.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};

use crate::remote::{RegistryArgs, Remote};
use edge_registry::app::{AppError, Contender, Evaluation, Subject};
use edge_registry::catalogue::ModelCard;
use edge_registry::digest::Sha256Digest;
use edge_registry::engine::Model;
use edge_registry::eval::calibration::Calibration;
use edge_registry::eval::classification::ClassificationMetrics;
use edge_registry::eval::compare::Comparison;
use edge_registry::eval::data::{ColumnSelection, TableReader};
use edge_registry::eval::drift::DriftReport;
use edge_registry::eval::gates::GateSpec;
use edge_registry::eval::regression::RegressionMetrics;
use edge_registry::eval::report::{DataInfo, Report};
use edge_registry::eval::slices::SliceGroup;
use edge_registry::eval::{
    BadRowPolicy, DataFormat, EvalConfig, Limits, ModelIdentity, PredictionColumns, Profile,
    ProfileBuilder, ProfileConfig, TaskKind,
};

const CHUNK: usize = 64 * 1024;
const PROGRESS_MIN_BYTES: u64 = 8 << 20;

/// Input format, or `auto` from the file name (`.json` → JSON, anything else CSV).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    /// From the extension.
    Auto,
    /// CSV with a header row.
    Csv,
    /// JSON rows or columns.
    Json,
}

/// Bad-row policy.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BadRowArg {
    /// Skip and report bad rows.
    Skip,
    /// Stop at the first bad row.
    Fail,
}

/// Arguments of `eval`: either a model (`--model`, with `--data`) or predictions made elsewhere
/// (`--predictions`).
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["predictions", "model"])))]
pub struct EvalArgs {
    /// A CSV or JSON file with the label column and prediction columns (no model).
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
    /// The model: an ONNX file (with `--card`), or NAME[@ALIAS|@VERSION] with `--registry`.
    #[arg(long, value_name = "FILE_OR_REF", requires = "data")]
    pub model: Option<String>,
    /// The model card of a model file (label column, features, classes, task).
    #[arg(long, value_name = "FILE", conflicts_with = "registry")]
    pub card: Option<PathBuf>,
    /// A challenger (file or reference) evaluated on the same rows (champion vs challenger).
    #[arg(long, value_name = "FILE_OR_REF", requires = "model")]
    pub against: Option<String>,
    /// The challenger's model card (with a challenger file).
    #[arg(long = "against-card", value_name = "FILE")]
    pub against_card: Option<PathBuf>,
    /// The registry models are named in.
    #[command(flatten)]
    pub source: RegistryArgs,
    /// Labelled data (CSV or JSON) the model is evaluated on.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// The label (ground truth) column (default with a card: its label column).
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Feature columns in the model's input order (default: the card's feature names).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub features: Vec<String>,
    /// Probability columns, one per class in class order (comma-separated).
    #[arg(long, value_name = "P0,P1,...", value_delimiter = ',')]
    pub proba: Vec<String>,
    /// A predicted-label column (classification).
    #[arg(long = "pred", value_name = "COL")]
    pub pred: Option<String>,
    /// A predicted-value column (regression).
    #[arg(long, value_name = "COL", conflicts_with_all = ["proba", "pred"])]
    pub value: Option<String>,
    /// Class labels in index order (default 0..C-1 with probabilities, discovered otherwise).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub classes: Vec<String>,
    /// Slice columns (repeatable).
    #[arg(long = "slice", value_name = "COL")]
    pub slices: Vec<String>,
    /// An id column, echoed in bad-row reports.
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,
    /// A reference profile (from `edge-registry profile`) for quality and drift checks.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Columns to check for drift against `--profile` (comma-separated).
    #[arg(
        long = "drift-columns",
        value_name = "A,B,...",
        value_delimiter = ',',
        requires = "profile"
    )]
    pub drift_columns: Vec<String>,
    /// k values for top-k accuracy.
    #[arg(
        long = "top-k",
        value_name = "K,...",
        value_delimiter = ',',
        default_value = "2"
    )]
    pub top_k: Vec<usize>,
    /// Gates as METRIC>=MIN or METRIC<=MAX (repeatable); exit status 3 when one fails.
    #[arg(long = "gate", value_name = "METRIC>=X")]
    pub gates: Vec<String>,
    /// What to do with bad rows.
    #[arg(long = "on-bad-row", value_enum, default_value = "skip")]
    pub on_bad_row: BadRowArg,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the JSON report on standard output instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Add a mergeable summary of the evaluation to the report (`edge-registry fleet merge`).
    #[arg(long)]
    pub summary: bool,
    /// Add local differential privacy noise with this epsilon to the summary (implies
    /// --summary; classification only).
    #[arg(long, value_name = "E")]
    pub epsilon: Option<f64>,
}

/// Arguments of `profile`.
#[derive(Args, Debug)]
pub struct ProfileArgs {
    /// Training data (CSV or JSON).
    pub data: PathBuf,
    /// Columns to profile (default: all).
    #[arg(long = "column", value_name = "COL")]
    pub columns: Vec<String>,
    /// Input format.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Write the profile here (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Outcome of `eval`: the process exit code.
pub enum Outcome {
    /// Everything passed.
    Ok,
    /// A gate failed.
    GateFailed,
}

fn format_of(f: FormatArg, path: &Path) -> DataFormat {
    match f {
        FormatArg::Csv => DataFormat::Csv,
        FormatArg::Json => DataFormat::Json,
        FormatArg::Auto => {
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            {
                DataFormat::Json
            } else {
                DataFormat::Csv
            }
        }
    }
}

fn parse_gate(s: &str) -> Result<GateSpec, String> {
    let (metric, min, max) = if let Some((m, v)) = s.split_once(">=") {
        (m, Some(v), None)
    } else if let Some((m, v)) = s.split_once("<=") {
        (m, None, Some(v))
    } else {
        return Err(format!("gate {s:?}: expected METRIC>=X or METRIC<=X"));
    };
    let num = |v: &str| {
        v.trim()
            .parse::<f64>()
            .map_err(|_| format!("gate {s:?}: {v:?} is not a number"))
    };
    Ok(GateSpec {
        metric: metric.trim().to_string(),
        min: min.map(num).transpose()?,
        max: max.map(num).transpose()?,
    })
}

/// RFC 3339 UTC time of the system clock (the CLI's job; the core never reads a clock).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

struct ProgressLine {
    total: u64,
    show: bool,
    last_pct: u64,
}

impl ProgressLine {
    fn new(total: u64) -> Self {
        ProgressLine {
            total,
            show: total >= PROGRESS_MIN_BYTES && std::io::stderr().is_terminal(),
            last_pct: u64::MAX,
        }
    }

    fn update(&mut self, bytes: u64, rows: u64) {
        if !self.show || self.total == 0 {
            return;
        }
        let pct = bytes * 100 / self.total;
        if pct != self.last_pct {
            self.last_pct = pct;
            let filled = (pct / 5) as usize;
            eprint!(
                "\r[{}{}] {pct:3}% {rows} rows",
                "#".repeat(filled),
                " ".repeat(20 - filled.min(20))
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn done(&self) {
        if self.show {
            eprintln!();
        }
    }
}

fn read_chunks(
    path: &Path,
    mut each: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let mut f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        each(buf.get(..n).unwrap_or_default())?;
    }
}

/// A model file with its card, as `eval` loads it.
struct Loaded {
    model: Model,
    card: Option<ModelCard>,
    reference: ModelIdentity,
}

fn load_model_file(path: &str, card_path: Option<&Path>) -> Result<Loaded, String> {
    let card = match card_path {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            Some(ModelCard::from_value(&value)?)
        }
        None => None,
    };
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let declared = card.as_ref().and_then(ModelCard::declared_schema);
    let model = Model::load(&bytes, declared.as_ref()).map_err(|e| {
        format!(
            "{path}: {e} ({})",
            edge_registry::error::ErrorCode::code(&e)
        )
    })?;
    // Named as a registry would name it, so reports from the CLI and from JS agree.
    let target_path = card
        .as_ref()
        .map(|c| format!("models/{}/{}/model.onnx", c.name, c.version))
        .unwrap_or_default();
    Ok(Loaded {
        model,
        card,
        reference: ModelIdentity {
            target_path,
            sha256: Sha256Digest::of(&bytes).to_hex(),
            reference: None,
        },
    })
}

/// A model named on the command line: a file, or a reference into `--registry`.
fn load_model(remote: Option<&Remote>, m: &str, card: Option<&Path>) -> Result<Loaded, String> {
    match remote {
        None => load_model_file(m, card),
        Some(r) => {
            let l = r.load(m)?;
            Ok(Loaded {
                model: l.model,
                card: l.card,
                reference: l.reported,
            })
        }
    }
}

/// The evaluation settings of `eval`: the champion's card (task, label, features, classes),
/// then the command line over it.
fn eval_config(
    a: &EvalArgs,
    champion: Option<&Loaded>,
    data_path: &Path,
) -> Result<EvalConfig, String> {
    let format = format_of(a.format, data_path);
    let mut cfg = match champion.and_then(|l| l.card.as_ref()) {
        Some(card) => card.eval_config(),
        None => {
            let task = if a.value.is_some() {
                TaskKind::Regression
            } else {
                TaskKind::Classification
            };
            EvalConfig::new(task, a.label.as_deref().unwrap_or("target"))
        }
    };
    if let Some(l) = &a.label {
        cfg.columns.label = l.clone();
    }
    if !a.features.is_empty() {
        cfg.columns.features = a.features.clone();
    }
    if champion.is_some() && cfg.columns.features.is_empty() {
        return Err("the model has no card with feature names: give --card or --features".into());
    }
    cfg.format = format;
    cfg.columns.slices = a.slices.clone();
    cfg.columns.id = a.id.clone();
    if a.predictions.is_some() {
        if a.value.is_some() {
            cfg.task = TaskKind::Regression;
        }
        cfg.predictions = Some(PredictionColumns {
            proba: a.proba.clone(),
            label: a.pred.clone(),
            value: a.value.clone(),
        });
    }
    if !a.classes.is_empty() {
        cfg.classes = Some(a.classes.clone());
    }
    cfg.metrics.top_k = a.top_k.clone();
    cfg.summary = a.summary || a.epsilon.is_some();
    cfg.drift_columns = (!a.drift_columns.is_empty()).then(|| a.drift_columns.clone());
    cfg.bad_rows = match a.on_bad_row {
        BadRowArg::Skip => BadRowPolicy::Skip,
        BadRowArg::Fail => BadRowPolicy::Fail,
    };
    cfg.gates = a
        .gates
        .iter()
        .map(|g| parse_gate(g))
        .collect::<Result<_, _>>()?;
    Ok(cfg)
}

/// The reference profile for drift: `--profile`, else the one the registry signs beside the
/// model.
fn reference_profile(
    a: &EvalArgs,
    remote: Option<&Remote>,
    champion: Option<&Loaded>,
) -> Result<Option<Profile>, String> {
    let signed_profile = match (&a.profile, remote, &a.model, champion) {
        (None, Some(r), Some(m), Some(l))
            if l.card
                .as_ref()
                .is_some_and(|c| c.files.contains_key("profile")) =>
        {
            Some((
                r.file(m, edge_registry::catalogue::PROFILE_FILE)?,
                format!("{m} profile"),
            ))
        }
        _ => None,
    };
    let profile = match (&a.profile, signed_profile) {
        (Some(p), _) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            Some(Profile::from_json(&bytes).map_err(|e| format!("{}: {e}", p.display()))?)
        }
        (None, Some((bytes, what))) => {
            Some(Profile::from_json(&bytes).map_err(|e| format!("{what}: {e}"))?)
        }
        (None, None) => None,
    };
    Ok(profile)
}

/// Runs `eval`.
pub fn run_eval(a: EvalArgs) -> Result<Outcome, String> {
    let remote = Remote::open(&a.source)?;
    let champion = match &a.model {
        Some(m) => Some(load_model(remote.as_ref(), m, a.card.as_deref())?),
        None => None,
    };
    let challenger = match &a.against {
        Some(m) => Some(load_model(remote.as_ref(), m, a.against_card.as_deref())?),
        None => None,
    };
    let data_path = match (&a.predictions, &a.data) {
        (Some(p), _) => p.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => return Err("give --data (with --model) or --predictions".into()),
    };
    let cfg = eval_config(&a, champion.as_ref(), &data_path)?;
    let profile = reference_profile(&a, remote.as_ref(), champion.as_ref())?;
    let total = std::fs::metadata(&data_path).map(|m| m.len()).unwrap_or(0);
    let mut progress = ProgressLine::new(total);
    let contender = |l: &Loaded| Contender {
        model: l.model.clone(),
        identity: Some(l.reference.clone()),
    };
    let subject = match (&champion, &challenger) {
        (None, _) => Subject::Predictions,
        (Some(c), None) => Subject::Model(contender(c)),
        (Some(c), Some(d)) => Subject::Compare {
            champion: contender(c),
            challenger: contender(d),
        },
    };
    let coded = |e: AppError| format!("{} ({})", e, edge_registry::error::ErrorCode::code(&e));
    let mut run = Evaluation::new(cfg, profile.as_ref(), subject).map_err(coded)?;
    let started = Instant::now();
    let mut timer = move || started.elapsed().as_secs_f64() * 1e3;
    read_chunks(&data_path, |chunk| {
        run.push(chunk, &mut timer).map_err(coded)?;
        let p = run.progress();
        progress.update(p.bytes, p.rows_read);
        Ok(())
    })?;
    progress.done();
    let mut report = run
        .finish(&mut timer, now_rfc3339(), "native".into())
        .map_err(coded)?;
    if let (Some(eps), Some(summary)) = (a.epsilon, report.summary.as_mut()) {
        crate::fleet_cmd::add_os_noise(summary, eps)?;
    }
    if let Some(out) = &a.out {
        std::fs::write(out, report.to_json() + "\n")
            .map_err(|e| format!("{}: {e}", out.display()))?;
    }
    if a.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", summary(&report, &data_path));
        if let Some(out) = &a.out {
            println!("report written to {}", out.display());
        }
    }
    Ok(match &report.gates {
        Some(g) if !g.passed => Outcome::GateFailed,
        _ => Outcome::Ok,
    })
}

/// Runs `profile`.
pub fn run_profile(a: ProfileArgs) -> Result<(), String> {
    let format = format_of(a.format, &a.data);
    let selection = if a.columns.is_empty() {
        ColumnSelection::All
    } else {
        ColumnSelection::Named(a.columns.clone())
    };
    let mut reader = TableReader::new(format, selection, Limits::default());
    let mut builder: Option<ProfileBuilder> = None;
    let mut skipped = 0u64;
    let mut sink = |names: Option<&[String]>,
                    builder: &mut Option<ProfileBuilder>,
                    row: edge_registry::eval::data::RowResult|
     -> Result<(), edge_registry::eval::EvalError> {
        if builder.is_none() {
            if let Some(n) = names {
                *builder = Some(ProfileBuilder::new(n.to_vec(), ProfileConfig::default())?);
            }
        }
        match (row, builder.as_mut()) {
            (Ok(r), Some(b)) => b.add_row(&r.cells),
            _ => skipped += 1,
        }
        Ok(())
    };
    let mut rows: Vec<edge_registry::eval::data::RowResult> = Vec::new();
    read_chunks(&a.data, |chunk| {
        reader
            .push(chunk, &mut |r| {
                rows.push(r);
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        let names = reader.columns().map(|c| c.to_vec());
        for r in rows.drain(..) {
            sink(names.as_deref(), &mut builder, r).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    reader
        .finish(&mut |r| {
            rows.push(r);
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    let names = reader.columns().map(|c| c.to_vec());
    for r in rows.drain(..) {
        sink(names.as_deref(), &mut builder, r).map_err(|e| e.to_string())?;
    }
    let builder = match builder {
        Some(b) => b,
        None => ProfileBuilder::new(names.unwrap_or_default(), ProfileConfig::default())
            .map_err(|e| e.to_string())?,
    };
    let profile = builder.finish();
    let json = profile.to_json() + "\n";
    match &a.out {
        Some(out) => {
            std::fs::write(out, json).map_err(|e| format!("{}: {e}", out.display()))?;
            eprintln!(
                "profile of {} rows, {} columns written to {}{}",
                profile.rows,
                profile.columns.len(),
                out.display(),
                if skipped > 0 {
                    format!(" ({skipped} malformed rows skipped)")
                } else {
                    String::new()
                }
            );
        }
        None => print!("{json}"),
    }
    Ok(())
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), |v| format!("{v:.6}"))
}

/// The human-readable summary printed on the terminal.
pub fn summary(r: &Report, path: &Path) -> String {
    let mut s = data_summary(&r.data, path);
    if let Some(c) = &r.results.classification {
        s += &classification_summary(c, r.results.calibration.as_ref());
    }
    if let Some(m) = &r.results.regression {
        s += &regression_summary(m);
    }
    for g in &r.slices {
        s += &slices_summary(g);
    }
    if let Some(c) = &r.comparison {
        s += &comparison_summary(c);
    }
    if let Some(dr) = &r.drift {
        s += &drift_summary(dr);
    }
    let q = &r.quality;
    if q.duplicate_rows > 0 {
        s += &format!("\nduplicate rows: {}\n", q.duplicate_rows);
    }
    if let Some(g) = &r.gates {
        s += &format!("\ngates: {}\n", if g.passed { "passed" } else { "FAILED" });
        for res in &g.results {
            s += &format!("  {} {}\n", if res.passed { "ok  " } else { "FAIL" }, res);
        }
    }
    s
}

fn data_summary(d: &DataInfo, path: &Path) -> String {
    let mut s = String::new();
    s += &format!(
        "{}: {} rows read, {} used, {} skipped (sha256 {})\n",
        path.display(),
        d.rows_read,
        d.rows_used,
        d.rows_skipped,
        &d.sha256[..16]
    );
    for b in d.bad_rows.iter().take(5) {
        s += &format!(
            "  bad row {}{}: {}\n",
            b.row,
            b.column
                .as_ref()
                .map(|c| format!(" [{c}]"))
                .unwrap_or_default(),
            b.reason
        );
    }
    if d.bad_rows.len() > 5 || d.bad_rows_truncated {
        s += &format!("  … {} bad rows in all (see the report)\n", d.rows_skipped);
    }
    s
}

fn classification_summary(c: &ClassificationMetrics, calibration: Option<&Calibration>) -> String {
    let mut s = String::new();
    s += &format!("\nclassification ({} classes)\n", c.per_class.len());
    s += &format!("  accuracy            {:.6}\n", c.accuracy);
    s += &format!("  balanced accuracy   {:.6}\n", c.balanced_accuracy);
    s += &format!(
        "  precision / recall / F1 (macro)     {:.6} / {:.6} / {:.6}\n",
        c.macro_.precision, c.macro_.recall, c.macro_.f1
    );
    s += &format!(
        "  precision / recall / F1 (weighted)  {:.6} / {:.6} / {:.6}\n",
        c.weighted.precision, c.weighted.recall, c.weighted.f1
    );
    if c.log_loss.is_some() {
        s += &format!("  log loss            {}\n", opt(c.log_loss));
        s += &format!("  Brier               {}\n", opt(c.brier));
    }
    if let Some(a) = &c.roc_auc {
        if c.per_class.len() == 2 {
            s += &format!("  ROC AUC             {}\n", opt(a.binary));
        } else {
            s += &format!(
                "  ROC AUC (OvR)       macro {}  weighted {}\n",
                opt(a.ovr_macro),
                opt(a.ovr_weighted)
            );
        }
    }
    for t in &c.top_k {
        s += &format!("  top-{} accuracy      {:.6}\n", t.k, t.accuracy);
    }
    if let Some(cal) = calibration {
        s += &format!(
            "  ECE / MCE ({} bins)  {:.6} / {:.6}\n",
            cal.top_label.n_bins, cal.top_label.ece, cal.top_label.mce
        );
    }
    s += "  class        support  precision  recall     F1\n";
    for k in c.per_class.iter().take(30) {
        s += &format!(
            "  {:<12} {:>7}  {:.4}     {:.4}     {:.4}\n",
            k.class, k.support, k.precision, k.recall, k.f1
        );
    }
    s
}

fn regression_summary(m: &RegressionMetrics) -> String {
    let mut s = String::new();
    s += "\nregression\n";
    for (n, v) in [
        ("MAE", m.mae),
        ("MSE", m.mse),
        ("RMSE", m.rmse),
        ("R²", m.r2),
        ("median AE", m.median_ae),
        ("MAPE", m.mape),
    ] {
        s += &format!("  {n:<10} {}\n", opt(v));
    }
    s
}

fn slices_summary(g: &SliceGroup) -> String {
    let mut s = String::new();
    s += &format!(
        "\nslices by {} ({}, margin {})\n",
        g.column, g.metric, g.margin
    );
    for sl in &g.slices {
        s += &format!(
            "  {:<24} n={:<7} {} {}\n",
            sl.value,
            sl.count,
            opt(sl.metric_value),
            if sl.flagged { "FLAGGED" } else { "" }
        );
    }
    s
}

fn comparison_summary(c: &Comparison) -> String {
    let mut s = String::new();
    s += &format!(
        "\nchampion vs challenger ({} rows, {} paired bootstrap resamples, {:.0}% intervals)\n",
        c.n,
        c.resamples,
        c.confidence * 100.0
    );
    for m in &c.metrics {
        s += &format!(
            "  {:<12} {} -> {}  delta {} [{}, {}]  {:?}\n",
            m.metric,
            opt(m.champion),
            opt(m.challenger),
            opt(m.delta),
            opt(m.ci_low),
            opt(m.ci_high),
            m.verdict
        );
    }
    if let Some(mc) = &c.mcnemar {
        s += &format!(
            "  McNemar exact: champion-only correct {}, challenger-only correct {}, p = {:.6}\n",
            mc.champion_only, mc.challenger_only, mc.p_value
        );
    }
    s
}

fn drift_summary(dr: &DriftReport) -> String {
    let mut s = String::new();
    s += &format!(
        "\ndrift: {} of {} columns drifted{}\n",
        dr.drifted_columns,
        dr.columns.len(),
        if dr.dataset_drift {
            " — DATASET DRIFT"
        } else {
            ""
        }
    );
    for c in dr.columns.iter().filter(|c| c.drifted).take(20) {
        s += &format!(
            "  {:<20} {:?} {} (threshold {})\n",
            c.column,
            c.method,
            opt(c.score),
            c.threshold
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_parse() {
        let g = parse_gate("accuracy>=0.9").unwrap();
        assert_eq!(g.min, Some(0.9));
        let g = parse_gate("log_loss<=0.3").unwrap();
        assert_eq!(g.max, Some(0.3));
        assert!(parse_gate("accuracy=0.9").is_err());
        assert!(parse_gate("accuracy>=x").is_err());
    }

    #[test]
    fn cli_report_matches_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("preds.csv");
        let csv = "y,p_0,p_1,g\n0,0.8,0.2,a\n1,0.3,0.7,b\n1,0.6,0.4,a\n0,x,0.5,b\n1,0.1,0.9,b\n";
        std::fs::write(&data, csv).unwrap();
        let out = dir.path().join("report.json");
        let args = EvalArgs {
            predictions: Some(data.clone()),
            model: None,
            card: None,
            against: None,
            against_card: None,
            source: Default::default(),
            data: None,
            features: vec![],
            label: Some("y".into()),
            proba: vec!["p_0".into(), "p_1".into()],
            pred: None,
            value: None,
            classes: vec![],
            slices: vec!["g".into()],
            id: None,
            profile: None,
            drift_columns: vec![],
            top_k: vec![1, 2],
            gates: vec!["accuracy>=0.99".into()],
            on_bad_row: BadRowArg::Skip,
            format: FormatArg::Auto,
            out: Some(out.clone()),
            json: false,
            summary: false,
            epsilon: None,
        };
        assert!(matches!(run_eval(args), Ok(Outcome::GateFailed)));
        let written: Report = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(written.runtime.runtime, "native");
        let mut cfg = EvalConfig::new(TaskKind::Classification, "y");
        cfg.predictions = Some(PredictionColumns::proba(&["p_0", "p_1"]));
        cfg.columns.slices = vec!["g".into()];
        cfg.metrics.top_k = vec![1, 2];
        cfg.gates = vec![parse_gate("accuracy>=0.99").unwrap()];
        let lib = edge_registry::eval::score_predictions(
            cfg,
            None,
            csv.as_bytes(),
            edge_registry::eval::ReportContext::default(),
        )
        .unwrap();
        assert_eq!(written.portable_json(), lib.portable_json());
        assert_eq!(written.data.rows_skipped, 1);
        let text = summary(&written, &data);
        assert!(text.contains("accuracy") && text.contains("FAIL"), "{text}");
    }

    #[test]
    fn profile_command_writes_a_readable_profile() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("train.csv");
        std::fs::write(&data, "a,b\n1,x\n2,y\n3,x\n").unwrap();
        let out = dir.path().join("profile.json");
        run_profile(ProfileArgs {
            data,
            columns: vec![],
            format: FormatArg::Auto,
            out: Some(out.clone()),
        })
        .unwrap();
        let p = Profile::from_json(&std::fs::read(out).unwrap()).unwrap();
        assert_eq!(p.rows, 3);
        assert_eq!(p.columns.len(), 2);
    }

    #[test]
    fn rfc3339_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.ends_with('Z'));
    }
}
