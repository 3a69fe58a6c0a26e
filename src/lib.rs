//! edge-registry: signed (TUF) model registries, verified downloads and caching, ONNX inference
//! with tract, and local model evaluation, for WebAssembly (pages, workers, Node, edge runtimes)
//! and native code.
//!
//! The core modules are synchronous and I/O-free: they take bytes and return typed values. The
//! only `#[wasm_bindgen]` code lives in the `wasm` module, a leaf that nothing else imports.
//!
//! Nothing here may panic on input it did not make (network bytes, metadata, model files, data
//! files, caches, JS arguments): a panic in WebAssembly kills the module for the whole page.
//! The lints below hold the whole library to that outside tests; the few local allowances say
//! why each one cannot fire.

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

pub mod app;
pub mod attest;
pub mod catalogue;
pub mod clock;
pub mod digest;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fetch;
pub mod modelsig;
pub mod publish;
pub mod registry;
pub mod store;
pub mod tuf;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

/// The library version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
