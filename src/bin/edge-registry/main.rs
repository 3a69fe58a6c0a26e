//! The `edge-registry` command-line tool.
//!
//! A leaf like the bindings: each command parses its arguments with clap, calls the library
//! (the use cases of `edge_registry::app`, the publisher, the engine) and prints the result.

// The CLI reads untrusted files (metadata, models, data, .npy tensors): the library's
// panic-free lints hold here too, outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

mod attest_cmd;
mod check_cmd;
mod eval_cmd;
mod fleet_cmd;
mod modelsig_cmd;
mod publish_cmd;
mod registry_cmd;
mod remote;
mod run_cmd;
mod serve;
mod tensor_io;
mod tuf_client;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Signed model registries: publish, verify, run, evaluate, serve.
#[derive(Parser, Debug)]
#[command(name = "edge-registry", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one inference natively and print the outputs as JSON {name: {dtype, shape, data}}.
    Run(run_cmd::RunArgs),
    /// Check whether the engine loads (and, with --input, runs) an ONNX model: opsets, inputs
    /// and outputs, operators with counts, unsupported operators by node, the plan path, and a
    /// run compared to expected outputs (exit status 4 when the model does not pass).
    Check(check_cmd::CheckArgs),
    /// Evaluate predictions on local data: metrics, calibration, slices, quality, drift, gates.
    /// Prints a summary and writes a JSON report (exit status 3 when a gate fails).
    Eval(Box<eval_cmd::EvalArgs>),
    /// Merge evaluation summaries from many devices into one fleet report.
    Fleet(fleet_cmd::FleetArgs),
    /// Compute a reference data profile (for drift and quality checks) from training data.
    Profile(eval_cmd::ProfileArgs),
    /// Serve directories over HTTP (static files; GET and HEAD; no directory traversal).
    Serve {
        /// Directory served at `/` (required: nothing is served by default).
        root: std::path::PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Extra directories at URL prefixes, as `/prefix=DIR` (repeatable).
        #[arg(long = "mount", value_name = "/PREFIX=DIR")]
        mounts: Vec<String>,
        /// Worker threads.
        #[arg(long, default_value_t = 4)]
        threads: usize,
        /// Do not log requests to standard error.
        #[arg(long)]
        quiet: bool,
        /// Count requests per path; `GET /_stats` returns the counts as JSON
        /// (`/_stats?reset=1` also zeroes them). For tests and benchmarks.
        #[arg(long)]
        stats: bool,
        /// Serve files under this URL prefix without Content-Length (chunked), like a server
        /// streaming generated content (repeatable). For tests.
        #[arg(long = "no-length", value_name = "/PREFIX")]
        no_length: Vec<String>,
        /// Allow cross-origin reads (Access-Control-Allow-Origin: *), for a registry read by
        /// pages or test runners on another origin. Off by default.
        #[arg(long)]
        cors: bool,
    },
    /// The TUF client, driven by the standard client interoperability protocol.
    TufClient(tuf_client::Args),
    /// Create a registry: keys (kept out of the served directories) and signed metadata.
    Init(publish_cmd::InitArgs),
    /// Publish a model version: card from the ONNX graph, profile, extra files, aliases.
    Publish(Box<publish_cmd::PublishArgs>),
    /// Point a model's alias (production, staging, ...) at a version: a signed act.
    Alias(publish_cmd::AliasArgs),
    /// Staged rollouts of an alias (start, advance, pause, resume, abort, status): signed acts
    /// that move a share of the clients to a candidate version, stage by stage.
    Rollout(publish_cmd::RolloutArgs),
    /// Delegate models/TEAM-* to a team role with its own key.
    Delegate(publish_cmd::DelegateArgs),
    /// Rotate the root keys (the new root is signed by the old and the new keys).
    RotateRoot(publish_cmd::RotateRootArgs),
    /// Re-sign the timestamp (and the snapshot when it would lapse first); run it from cron.
    RefreshTimestamp(publish_cmd::RefreshTimestampArgs),
    /// Delete old consistent-snapshot metadata versions no client needs (root versions stay).
    Prune(publish_cmd::PruneArgs),
    /// Verify a registry as a client: every signature, every target, every card and alias.
    Verify(registry_cmd::VerifyArgs),
    /// List a registry's models, versions, aliases and expiries.
    Models(registry_cmd::ModelsArgs),
    /// Signed evaluation attestations: keygen, sign a report, verify an envelope.
    Attest(attest_cmd::AttestArgs),
    /// Verify an OpenSSF model-signing bundle (what `model_signing sign` writes) against a
    /// model file or directory: by public key, by CA certificate, or by Sigstore identity.
    /// Prints the signer and the signed manifest; exit 1 with the error code on refusal.
    VerifyModelSignature(modelsig_cmd::VerifyModelSignatureArgs),
}

fn main() -> ExitCode {
    // tract reports many expected conditions as `anyhow` errors while it optimises a model, and
    // anyhow captures a backtrace for each when RUST_BACKTRACE is set, which nothing here prints:
    // with RUST_BACKTRACE=1 that was 8% of loading a speech transformer. Panics keep theirs
    // (RUST_LIB_BACKTRACE=0 turns off only the library's); set before any thread starts.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    // Usage errors exit 1 (not clap's 2): the TUF client interop protocol expects 1 on any
    // failure. --help and --version still exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Check(args) => match check_cmd::run(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(4),
            Err(e) => Err(e),
        },
        Command::Eval(args) => match eval_cmd::run_eval(*args) {
            Ok(eval_cmd::Outcome::Ok) => Ok(()),
            Ok(eval_cmd::Outcome::GateFailed) => return ExitCode::from(3),
            Err(e) => Err(e),
        },
        Command::Fleet(args) => fleet_cmd::run(args),
        Command::Profile(args) => eval_cmd::run_profile(args),
        Command::Serve {
            root,
            addr,
            mounts,
            threads,
            quiet,
            stats,
            no_length,
            cors,
        } => (|| {
            let mut all = vec![serve::Mount::new("", &root)?];
            for spec in &mounts {
                all.push(serve::Mount::parse(spec)?);
            }
            let opts = serve::Options {
                quiet,
                stats: stats.then(|| std::sync::Arc::new(serve::Stats::default())),
                no_length,
                cors,
            };
            serve::run(&addr, all, threads, opts)
        })(),
        Command::TufClient(args) => tuf_client::run(args),
        Command::Init(args) => publish_cmd::init(args),
        Command::Publish(args) => publish_cmd::publish(*args),
        Command::Alias(args) => publish_cmd::alias(args),
        Command::Rollout(args) => publish_cmd::rollout(args),
        Command::Delegate(args) => publish_cmd::delegate(args),
        Command::RotateRoot(args) => publish_cmd::rotate_root(args),
        Command::RefreshTimestamp(args) => publish_cmd::refresh_timestamp(args),
        Command::Prune(args) => publish_cmd::prune(args),
        Command::Verify(args) => registry_cmd::verify(args),
        Command::Models(args) => registry_cmd::models(args),
        Command::Attest(args) => attest_cmd::run(args),
        Command::VerifyModelSignature(args) => modelsig_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
