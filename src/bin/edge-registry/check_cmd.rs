//! `edge-registry check`: whether the engine loads (and runs) an ONNX model, before anyone
//! publishes it.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use edge_registry::engine::{self, CheckReport, CheckRun, EngineLimits, NamedTensor};

use crate::tensor_io;

/// Arguments of `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The ONNX model file.
    model: PathBuf,
    /// Inputs to run it on: JSON {name: {dtype, shape, data}} (as `run` reads).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Expected outputs, in the same JSON form (e.g. from onnxruntime): each must match within
    /// a max abs error of 1e-3 of the output's scale.
    #[arg(long, requires = "input")]
    expected: Option<PathBuf>,
    /// Run the model this many more times and report the median (plans already built).
    #[arg(long, default_value_t = 0, requires = "input")]
    repeat: usize,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn tensors(path: &PathBuf) -> Result<Vec<NamedTensor>, String> {
    let text =
        String::from_utf8(read(path)?).map_err(|_| format!("{} is not UTF-8", path.display()))?;
    tensor_io::tensors_from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs the command: prints the report; `Ok(false)` when the model does not pass.
pub fn run(args: CheckArgs) -> Result<bool, String> {
    let bytes = read(&args.model)?;
    let inputs = args.input.as_ref().map(tensors).transpose()?;
    let expected = args.expected.as_ref().map(tensors).transpose()?;
    let start = Instant::now();
    let mut timer = move || start.elapsed().as_secs_f64() * 1000.0;
    let run = CheckRun {
        inputs,
        expected,
        repeat: args.repeat,
    };
    let report = engine::check(&bytes, EngineLimits::default(), run, &mut timer);
    if args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        print!("{}", text(&args.model, &report));
    }
    Ok(report.ok)
}

fn specs(specs: &[engine::TensorSpec]) -> String {
    specs.iter().map(|s| format!("  {s}\n")).collect()
}

/// The report in words.
pub fn text(path: &std::path::Path, r: &CheckReport) -> String {
    let mut out = format!("{} ({} bytes", path.display(), r.bytes);
    if !r.producer.is_empty() {
        out += &format!(", from {}", r.producer);
    }
    out += &format!(", IR version {})\n", r.ir_version);
    let opsets: Vec<String> = r.opsets.iter().map(|(d, v)| format!("{d} {v}")).collect();
    out += &format!("opsets: {}\n", opsets.join(", "));
    if !r.inputs.is_empty() {
        out += &format!(
            "inputs:\n{}outputs:\n{}",
            specs(&r.inputs),
            specs(&r.outputs)
        );
    }
    let total: usize = r.operators.iter().map(|o| o.count).sum();
    out += &format!("operators: {total} nodes, {} types\n", r.operators.len());
    let line: Vec<String> = r
        .operators
        .iter()
        .filter(|o| o.supported)
        .map(|o| format!("{} {}", o.op, o.count))
        .collect();
    if !line.is_empty() {
        out += &format!("  {}\n", line.join(", "));
    }
    for o in r.operators.iter().filter(|o| !o.supported) {
        out += &format!(
            "  UNSUPPORTED {} ({} nodes: {})\n",
            o.op,
            o.count,
            o.nodes.join(", ")
        );
    }
    match (&r.error, &r.plan) {
        (Some(e), _) => out += &format!("load: FAILED [{}] {}\n", e.code, e.message),
        (None, Some(p)) => {
            out += &format!("load: ok in {:.1} ms, plan: {}", r.load_ms, p.kind.name());
            if let Some(reason) = &p.reason {
                out += &format!(" (needs concrete input shapes: {reason})");
            }
            out += "\n";
        }
        (None, None) => {}
    }
    if let Some(run) = &r.run {
        match &run.error {
            Some(e) => {
                out += &format!(
                    "run: FAILED in {:.1} ms [{}] {}\n",
                    run.ms, e.code, e.message
                )
            }
            None => {
                out += &format!("run: ok in {:.1} ms", run.ms);
                if let Some(steady) = run.steady_ms {
                    out += &format!(", then {steady:.2} ms (median)");
                }
                out += "\n";
                for o in &run.outputs {
                    out += &format!("  {} {}{:?}", o.name, o.dtype, o.shape);
                    if let (Some(abs), Some(rel), Some(ok)) =
                        (o.max_abs_error, o.relative_error, o.matches)
                    {
                        out += &format!(
                            ": max abs error {abs:.3e} (relative {rel:.3e}) {}",
                            if ok { "matches" } else { "DIFFERS" }
                        );
                    }
                    out += "\n";
                }
                for m in &run.missing {
                    out += &format!("  {m}: MISSING (expected, not produced)\n");
                }
            }
        }
    }
    out += if r.ok {
        "result: ok\n"
    } else {
        "result: FAILED\n"
    };
    out
}
