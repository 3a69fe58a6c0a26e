//! Use cases, written once for every front end: the CLI (`src/bin`) and the JavaScript bindings
//! (`src/wasm`) call these and only convert arguments and results.
//!
//! - [`load`](mod@load): resolve a reference, fetch (cache or network), verify, cache, load with the
//!   engine against the signed card, and optionally check the card's evaluation gates on this
//!   device.
//! - [`evaluate`]: score recorded predictions, run one model over local data, or compare a
//!   champion with a challenger on the same rows.
//! - [`sigstore_root`]: Sigstore's `trusted_root.json`, read and verified from Sigstore's TUF
//!   repository with this crate's TUF client, from a pinned root.
//!
//! May import every core module (`registry`, `catalogue`, `engine`, `eval`, `tuf`, `store`,
//! `fetch`); never `wasm`, `web_sys`, `js_sys` or the CLI (`scripts/check-imports`).

mod error;
pub mod evaluate;
pub mod load;
pub mod model_signature;
pub mod sigstore_root;

pub use error::AppError;
pub use evaluate::{Contender, Evaluation, Subject};
pub use load::{card_schema, load, verify_gates, LoadOptions, LoadedModel, PendingCacheWrite};
