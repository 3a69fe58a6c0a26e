//! A client for The Update Framework (TUF) specification 1.0.x, the same code in WebAssembly
//! and natively, plus the signing primitives the publisher builds on.
//!
//! - [`canonical`]: OLPC canonical JSON, the bytes signatures cover.
//! - [`keys`]: Ed25519, ECDSA P-256 and RSA (PSS, PKCS#1 v1.5) verification; thresholds that
//!   count each key once; the Ed25519 signer.
//! - [`metadata`]: typed root, timestamp, snapshot, targets and delegations.
//! - [`delegation`]: [`delegation::DelegationWalk`], the delegation walk (spec 5.6.7) every
//!   search and listing of targets roles uses, I/O-free.
//! - [`trusted`]: [`TrustedMetadataSet`], the I/O-free verifier (bytes in, [`Verified`] out).
//! - [`updater`]: [`Updater`], the client workflow over the `Fetch`, `Store` and `Clock` host
//!   traits.
//! - [`repo`]: building and signing repositories (publisher, tests, benchmarks).
//! - [`path`]: delegation path patterns, target path safety, role-name encoding.
//! - [`time`]: the `expires` timestamp format.
//!
//! Nothing here touches the network or the file system.

pub mod canonical;
pub mod delegation;
mod error;
pub mod keys;
pub mod metadata;
pub mod path;
pub mod repo;
pub mod time;
pub mod trusted;
pub mod updater;

pub use error::TufError;
pub use trusted::{Expiry, TrustedMetadataSet, Verified};
pub use updater::{
    CatalogueTargets, IgnoredTarget, RefreshReport, RoleStatus, TargetInfo, TargetListing,
    TargetProblem, Updater, UpdaterConfig,
};
