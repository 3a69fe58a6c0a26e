//! Where the bytes of a fetched artifact go, so the caller decides where the one full-size copy
//! lives: a `Vec<u8>` natively and for `load`, a JavaScript `Uint8Array` in the JS API (so the
//! bytes handed to JS are never copied out of wasm memory a second time).

use futures_util::future::LocalBoxFuture;

use super::RegistryError;
use crate::digest::Sha256Digest;

/// A destination for an artifact's bytes. The registry calls [`ArtifactOut::start`] with the
/// signed length, then [`ArtifactOut::push`] with the chunks in order; if a source fails
/// (a corrupt cached copy), `start` is called again and everything pushed before is discarded.
/// The bytes are verified only when the fetch returns `Ok`: on an error, discard them.
pub trait ArtifactOut {
    /// Prepares for exactly `len` bytes, discarding anything held.
    fn start(&mut self, len: u64) -> Result<(), RegistryError>;

    /// Appends the next chunk (the registry never pushes more than `len` bytes in total).
    fn push(&mut self, chunk: &[u8]);

    /// Bytes `start..end` of what was pushed: borrowed, or copied into `scratch` when the
    /// bytes live elsewhere. Used to write the cache's chunks after verification.
    fn slice<'a>(&'a self, start: usize, end: usize, scratch: &'a mut Vec<u8>) -> &'a [u8];

    /// Whether [`ArtifactOut::sha256`] is faster than hashing the chunks as they stream (a JS
    /// host's WebCrypto): the registry then checks only the signed length while the bytes
    /// arrive and the digest of the whole once they are all here.
    fn digests_whole(&self) -> bool;

    /// The SHA-256 of everything pushed since the last `start`.
    fn sha256(&self) -> LocalBoxFuture<'_, Sha256Digest>;
}

impl ArtifactOut for Vec<u8> {
    fn start(&mut self, len: u64) -> Result<(), RegistryError> {
        self.clear();
        let too_large = || RegistryError::TooLarge {
            what: "artifact buffer".into(),
            length: len,
            limit: usize::MAX as u64,
        };
        let n = usize::try_from(len).map_err(|_| too_large())?;
        self.try_reserve_exact(n).map_err(|_| too_large())
    }

    fn push(&mut self, chunk: &[u8]) {
        self.extend_from_slice(chunk);
    }

    fn slice<'a>(&'a self, start: usize, end: usize, _scratch: &'a mut Vec<u8>) -> &'a [u8] {
        self.get(start..end).unwrap_or(&[])
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn digests_whole(&self) -> bool {
        false
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn sha256(&self) -> LocalBoxFuture<'_, Sha256Digest> {
        Box::pin(std::future::ready(Sha256Digest::of(self)))
    }

    #[cfg(target_arch = "wasm32")]
    fn digests_whole(&self) -> bool {
        crate::digest::web::available()
    }

    #[cfg(target_arch = "wasm32")]
    fn sha256(&self) -> LocalBoxFuture<'_, Sha256Digest> {
        Box::pin(crate::digest::web::sha256_of_slice(self))
    }
}
