//! The `edge-registry` command-line tool.

mod eval_cmd;
mod serve;

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
    /// Evaluate predictions on local data: metrics, calibration, slices, quality, drift, gates.
    /// Prints a summary and writes a JSON report (exit status 3 when a gate fails).
    Eval(Box<eval_cmd::EvalArgs>),
    /// Compute a reference data profile (for drift and quality checks) from training data.
    Profile(eval_cmd::ProfileArgs),
    /// Serve directories over HTTP (static files; GET and HEAD; no directory traversal).
    Serve {
        /// Directory served at `/`.
        #[arg(default_value = ".")]
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => match eval_cmd::run_eval(*args) {
            Ok(eval_cmd::Outcome::Ok) => Ok(()),
            Ok(eval_cmd::Outcome::GateFailed) => return ExitCode::from(3),
            Err(e) => Err(e),
        },
        Command::Profile(args) => eval_cmd::run_profile(args),
        Command::Serve {
            root,
            addr,
            mounts,
            threads,
            quiet,
        } => (|| {
            let mut all = vec![serve::Mount::new("", &root)?];
            for spec in &mounts {
                all.push(serve::Mount::parse(spec)?);
            }
            serve::run(&addr, all, threads, quiet)
        })(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
