//! edge-registry: signed (TUF) model registries, verified downloads and caching, ONNX inference
//! with tract, and local model evaluation, for WebAssembly (pages, workers, Node, edge runtimes)
//! and native code.
//!
//! The core modules are synchronous and I/O-free: they take bytes and return typed values. The
//! only `#[wasm_bindgen]` code lives in the `wasm` module, a leaf that nothing else imports.

pub mod card;
pub mod catalog;
pub mod clock;
pub mod digest;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fetch;
pub mod publish;
pub mod registry;
pub mod store;
pub mod tuf;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

/// The library version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
