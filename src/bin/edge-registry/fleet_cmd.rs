//! `edge-registry fleet merge`: merges the summaries of evaluation reports made on many devices
//! (`eval --summary`), of fleet reports, or of signed attestations (DSSE envelopes, verified
//! with `--pubkey`) into one fleet report.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use edge_registry::attest::{self, TrustedKeys};
use edge_registry::error::ErrorCode;
use edge_registry::eval::fleet::{self, NoiseRng, Summary};
use serde_json::Value;

/// `fleet` subcommands.
#[derive(Args, Debug)]
pub struct FleetArgs {
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(Subcommand, Debug)]
enum FleetCommand {
    /// Merge the summaries of evaluation reports (made with `eval --summary`), fleet reports or
    /// attestation envelopes into one fleet report: every metric as a single evaluation of all
    /// the devices' rows would give it.
    Merge(MergeArgs),
}

/// `fleet merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Report, fleet report, summary or DSSE envelope files (JSON).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Keys trusted to sign attestation envelopes (TUF key JSON, a list of them, or SPKI DER);
    /// required when a file is an envelope (repeatable).
    #[arg(long = "pubkey", value_name = "PUB")]
    pubkeys: Vec<PathBuf>,
    /// Distinct trusted keys that must sign each envelope.
    #[arg(long, default_value_t = 1)]
    threshold: u64,
    /// Write the fleet report here.
    #[arg(long, value_name = "FLEET.json")]
    out: Option<PathBuf>,
    /// Print the fleet report as JSON instead of the summary lines.
    #[arg(long)]
    json: bool,
}

/// Runs `fleet`.
pub fn run(a: FleetArgs) -> Result<(), String> {
    match a.command {
        FleetCommand::Merge(m) => merge(m),
    }
}

fn coded(e: &dyn ErrorCode) -> String {
    format!("{e} ({})", e.code())
}

fn read_json(path: &Path) -> Result<(Vec<u8>, Value), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v = serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((bytes, v))
}

fn trusted_keys(paths: &[PathBuf]) -> Result<TrustedKeys, String> {
    let mut list = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(keys)) => list.extend(keys),
            Ok(v @ Value::Object(_)) if v.get("keytype").is_some() || v.get("kty").is_some() => {
                list.push(v)
            }
            Ok(v @ Value::Object(_)) => {
                for k in TrustedKeys::from_value(&v).map_err(|e| coded(&e))?.iter() {
                    list.push(k.value.clone());
                }
            }
            Ok(_) => return Err(format!("{} is not a key (INVALID_ARGUMENT)", p.display())),
            Err(_) => list.push(
                attest::tuf_key_from_spki(&bytes)
                    .map_err(|e| format!("{}: {}", p.display(), coded(&e)))?,
            ),
        }
    }
    TrustedKeys::from_value(&Value::Array(list)).map_err(|e| coded(&e))
}

fn merge(a: MergeArgs) -> Result<(), String> {
    let keys = if a.pubkeys.is_empty() {
        None
    } else {
        Some(trusted_keys(&a.pubkeys)?)
    };
    let mut summaries: Vec<Summary> = Vec::new();
    for path in &a.files {
        let (bytes, doc) = read_json(path)?;
        let doc = if doc.get("payloadType").is_some() && doc.get("signatures").is_some() {
            let Some(keys) = &keys else {
                return Err(format!(
                    "{} is an attestation envelope: give --pubkey to verify it (INVALID_ARGUMENT)",
                    path.display()
                ));
            };
            let verified = attest::verify_envelope(&bytes, keys, a.threshold)
                .map_err(|e| format!("{}: {}", path.display(), coded(&e)))?;
            verified.predicate
        } else {
            doc
        };
        let s =
            fleet::summary_of(&doc).map_err(|e| format!("{}: {}", path.display(), coded(&e)))?;
        summaries.push(s);
    }
    let merged = fleet::merge(&summaries).map_err(|e| coded(&e))?;
    let report = fleet::fleet_report(&merged).map_err(|e| coded(&e))?;
    if let Some(out) = &a.out {
        std::fs::write(out, report.to_json() + "\n")
            .map_err(|e| format!("{}: {e}", out.display()))?;
    }
    if a.json {
        println!("{}", report.to_json());
        return Ok(());
    }
    println!(
        "fleet: {} devices, {} rows used ({} read, {} skipped)",
        report.devices, report.data.rows_used, report.data.rows_read, report.data.rows_skipped
    );
    if let Some(c) = &report.results.classification {
        println!(
            "accuracy {:.6}  balanced accuracy {:.6}  macro F1 {:.6}",
            c.accuracy, c.balanced_accuracy, c.macro_.f1
        );
        if let Some(ll) = c.log_loss {
            println!("log loss {ll:.6}");
        }
    }
    if let Some(r) = &report.results.regression {
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |x| format!("{x:.6}"));
        println!("MAE {}  RMSE {}  R² {}", f(r.mae), f(r.rmse), f(r.r2));
    }
    if let Some(p) = &report.privacy {
        println!(
            "privacy: {} noise, ε = {} per device",
            p.mechanism, p.epsilon
        );
    }
    for x in &report.approximate {
        println!("approximate: {} ({})", x.metric, x.reason);
    }
    if let Some(out) = &a.out {
        println!("fleet report written to {}", out.display());
    }
    Ok(())
}

/// Random bits from the operating system (for privacy noise); records a failure instead of
/// panicking.
struct OsNoise {
    failed: bool,
}

impl NoiseRng for OsNoise {
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        if getrandom::fill(&mut b).is_err() {
            self.failed = true;
        }
        u64::from_le_bytes(b)
    }
}

/// Adds local differential privacy noise to a report's summary (`eval --epsilon`).
pub fn add_os_noise(summary: &mut Summary, epsilon: f64) -> Result<(), String> {
    let mut rng = OsNoise { failed: false };
    fleet::add_noise(summary, epsilon, &mut rng).map_err(|e| coded(&e))?;
    if rng.failed {
        return Err("the operating system's random source failed".into());
    }
    Ok(())
}
