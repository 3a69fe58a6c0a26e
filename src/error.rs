//! Error plumbing shared by every layer.
//!
//! Each layer has its own `#[non_exhaustive]` error enum (for example [`crate::digest::DigestError`]).
//! Every one of them implements [`ErrorCode`], which gives the stable, machine-readable code that
//! the JavaScript bindings put on the `code` property of the `Error` they throw and that the CLI
//! prints. Codes are part of the public API: they never change meaning once released.
//!
//! Owns the [`ErrorCode`] trait; imports nothing from the crate.

/// A stable, upper-case, machine-readable error code such as `HASH_MISMATCH`.
pub trait ErrorCode: std::error::Error {
    /// The stable code for this error.
    fn code(&self) -> &'static str;
}
