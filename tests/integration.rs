//! Every integration test in one test binary: one link and, in WebAssembly, one wasm-bindgen
//! pass per tier instead of one per file (17 files made 17 binaries of about 40 MB each, and
//! each wasm tier ran wasm-bindgen on every one of them). Each file under `tests/` is a module
//! here and still says at its top where it runs (`#![cfg(...)]`); run one with
//! `cargo test --test integration registry::` (add `--features cli` for the CLI modules).

#[macro_use]
#[path = "common/mod.rs"]
mod common;

#[path = "attest.rs"]
mod attest;

#[cfg(feature = "cli")]
#[path = "attest_cli.rs"]
mod attest_cli;

#[cfg(feature = "cli")]
#[path = "cli_run.rs"]
mod cli_run;

#[path = "digest.rs"]
mod digest;

#[path = "engine.rs"]
mod engine;

#[path = "eval_fleet.rs"]
mod eval_fleet;

#[path = "eval_models.rs"]
mod eval_models;

#[path = "eval_pipeline.rs"]
mod eval_pipeline;

#[path = "eval_reference.rs"]
mod eval_reference;

#[path = "hosts.rs"]
mod hosts;

#[path = "limits.rs"]
mod limits;

#[path = "model_signing.rs"]
mod model_signing;

#[cfg(feature = "cli")]
#[path = "model_signing_cli.rs"]
mod model_signing_cli;

#[path = "operator_sweep.rs"]
mod operator_sweep;

#[path = "publish.rs"]
mod publish;

#[cfg(feature = "cli")]
#[path = "publish_cli.rs"]
mod publish_cli;

#[path = "registry.rs"]
mod registry;

#[path = "registry_web.rs"]
mod registry_web;

#[path = "regressions.rs"]
mod regressions;

#[path = "sigstore_tuf.rs"]
mod sigstore_tuf;

#[path = "tuf_attacks.rs"]
mod tuf_attacks;

#[cfg(feature = "cli")]
#[path = "tuf_cli.rs"]
mod tuf_cli;

#[path = "tuf_interop.rs"]
mod tuf_interop;

#[path = "tuf_timing.rs"]
mod tuf_timing;

#[path = "zoo.rs"]
mod zoo;
