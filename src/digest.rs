//! SHA-256 digests and the streaming verifier that checks downloaded bytes against the length
//! and digest a signature vouches for.
//!
//! The verifier is fed chunks of any size as they arrive. It fails the moment more bytes arrive
//! than the signed length allows (so an endless response is cut off without buffering it), on
//! truncation when the stream ends early, and on a digest mismatch. After a failure it stays
//! failed: every later call returns the same error.
//!
//! Where the whole buffer ends up in memory anyway (a model about to be loaded), a JS host
//! hashes it faster in one call than `sha2` compiled to wasm hashes the chunks: [`LengthCheck`]
//! then keeps the streamed length cap and [`check_digest`] compares the host's digest of the
//! whole ([`web`], WebCrypto).
//!
//! Owns SHA-256 and the streaming target verifier. Imports only `error`.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::error::{Code, ErrorCode};

#[cfg(target_arch = "wasm32")]
pub mod web;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// Lower-case hexadecimal form, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal characters (either case).
    pub fn from_hex(text: &str) -> Result<Self, DigestError> {
        let mut out = [0u8; 32];
        if text.len() != 64 {
            return Err(DigestError::InvalidDigest {
                reason: format!("expected 64 hex characters, got {}", text.len()),
            });
        }
        hex::decode_to_slice(text, &mut out).map_err(|e| DigestError::InvalidDigest {
            reason: e.to_string(),
        })?;
        Ok(Sha256Digest(out))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

impl FromStr for Sha256Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sha256Digest::from_hex(s)
    }
}

/// Errors from hashing and verifying a byte stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// More bytes arrived than the signed length allows. Code `LENGTH_EXCEEDED`.
    #[error("length exceeded: more than the {expected} signed bytes arrived (at least {got})")]
    LengthExceeded {
        /// The signed length.
        expected: u64,
        /// Bytes seen when the limit was crossed.
        got: u64,
    },
    /// The stream ended before the signed length was reached. Code `TRUNCATED`.
    #[error("truncated: the stream ended after {got} of {expected} signed bytes")]
    Truncated {
        /// The signed length.
        expected: u64,
        /// Bytes seen.
        got: u64,
    },
    /// The bytes have the signed length but another SHA-256. Code `HASH_MISMATCH`.
    #[error("hash mismatch: expected sha256 {expected}, got {actual}")]
    Mismatch {
        /// The signed digest.
        expected: Sha256Digest,
        /// The digest of the bytes received.
        actual: Sha256Digest,
    },
    /// An expected digest was not 64 hexadecimal characters. Code `INVALID_DIGEST`.
    #[error("invalid sha256 digest: {reason}")]
    InvalidDigest {
        /// What is wrong with it.
        reason: String,
    },
}

impl ErrorCode for DigestError {
    fn error_code(&self) -> Code {
        match self {
            DigestError::LengthExceeded { .. } => Code::LengthExceeded,
            DigestError::Truncated { .. } => Code::Truncated,
            DigestError::Mismatch { .. } => Code::HashMismatch,
            DigestError::InvalidDigest { .. } => Code::InvalidDigest,
        }
    }
}

/// Checks a stream of chunks against a signed length only: fails the moment more bytes arrive
/// than the signed length allows, and on truncation at the end. Sticky like
/// [`StreamingVerifier`], which is this plus the hash.
#[derive(Clone, Debug)]
pub struct LengthCheck {
    expected_len: u64,
    seen: u64,
    failure: Option<DigestError>,
}

impl LengthCheck {
    /// A check for a stream of exactly `expected_len` bytes.
    pub fn new(expected_len: u64) -> Self {
        LengthCheck {
            expected_len,
            seen: 0,
            failure: None,
        }
    }

    /// Counts the next chunk. Fails if it would take the stream past the signed length; once
    /// failed, every call returns the same error.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), DigestError> {
        // A chunk length always fits in u64 on the targets we build for; saturate anyway.
        self.count(u64::try_from(chunk.len()).unwrap_or(u64::MAX))
    }

    /// [`LengthCheck::update`] for a chunk of `len` bytes held elsewhere.
    pub fn count(&mut self, len: u64) -> Result<(), DigestError> {
        if let Some(err) = &self.failure {
            return Err(err.clone());
        }
        let total = self.seen.saturating_add(len);
        if total > self.expected_len {
            let err = DigestError::LengthExceeded {
                expected: self.expected_len,
                got: total,
            };
            self.failure = Some(err.clone());
            return Err(err);
        }
        self.seen = total;
        Ok(())
    }

    /// Bytes accepted so far.
    pub fn bytes_seen(&self) -> u64 {
        self.seen
    }

    /// The signed length.
    pub fn expected_len(&self) -> u64 {
        self.expected_len
    }

    /// Ends the stream: the signed length must have been reached (and never passed).
    pub fn finish(&self) -> Result<(), DigestError> {
        if let Some(err) = &self.failure {
            return Err(err.clone());
        }
        if self.seen < self.expected_len {
            return Err(DigestError::Truncated {
                expected: self.expected_len,
                got: self.seen,
            });
        }
        Ok(())
    }
}

/// `actual` when it is the signed digest `expected`, else [`DigestError::Mismatch`].
pub fn check_digest(
    expected: Sha256Digest,
    actual: Sha256Digest,
) -> Result<Sha256Digest, DigestError> {
    if actual == expected {
        Ok(actual)
    } else {
        Err(DigestError::Mismatch { expected, actual })
    }
}

/// Checks a stream of chunks against a signed length and SHA-256 digest.
///
/// ```
/// use edge_registry::digest::{Sha256Digest, StreamingVerifier};
/// let data = b"hello world";
/// let mut v = StreamingVerifier::new(Sha256Digest::of(data), data.len() as u64);
/// v.update(&data[..5]).unwrap();
/// v.update(&data[5..]).unwrap();
/// assert_eq!(v.finish().unwrap(), Sha256Digest::of(data));
/// ```
#[derive(Clone)]
pub struct StreamingVerifier {
    hasher: Sha256,
    expected_digest: Sha256Digest,
    length: LengthCheck,
}

impl StreamingVerifier {
    /// A verifier for a stream that must be exactly `expected_len` bytes with digest
    /// `expected_digest`.
    pub fn new(expected_digest: Sha256Digest, expected_len: u64) -> Self {
        StreamingVerifier {
            hasher: Sha256::new(),
            expected_digest,
            length: LengthCheck::new(expected_len),
        }
    }

    /// Feeds the next chunk. Fails, without hashing the chunk, if it would take the stream past
    /// the signed length; once failed, every call returns the same error.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), DigestError> {
        self.length.update(chunk)?;
        self.hasher.update(chunk);
        Ok(())
    }

    /// Bytes accepted so far.
    pub fn bytes_seen(&self) -> u64 {
        self.length.bytes_seen()
    }

    /// The signed length this verifier expects.
    pub fn expected_len(&self) -> u64 {
        self.length.expected_len()
    }

    /// Ends the stream: checks the length was reached and the digest matches.
    pub fn finish(self) -> Result<Sha256Digest, DigestError> {
        self.length.finish()?;
        check_digest(
            self.expected_digest,
            Sha256Digest(self.hasher.finalize().into()),
        )
    }
}

/// An incremental SHA-256 with no expectation attached, for digests of data the caller supplies
/// (for example the data set named in an evaluation report).
#[derive(Clone, Default)]
pub struct Sha256Hasher {
    hasher: Sha256,
    len: u64,
}

impl Sha256Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.len = self
            .len
            .saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Sha256Digest {
        Sha256Digest(self.hasher.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_bad_input() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(Sha256Digest::from_hex(&d.to_hex()).unwrap(), d);
        assert_eq!(
            Sha256Digest::from_hex(&d.to_hex().to_uppercase()).unwrap(),
            d
        );
        assert_eq!(
            Sha256Digest::from_hex("zz").unwrap_err().code(),
            "INVALID_DIGEST"
        );
        let bad = "g".repeat(64);
        assert_eq!(
            Sha256Digest::from_hex(&bad).unwrap_err().code(),
            "INVALID_DIGEST"
        );
        // Multi-byte characters must not panic on slicing.
        let wide = "é".repeat(32);
        assert!(Sha256Digest::from_hex(&wide).is_err());
    }

    #[test]
    fn failure_is_sticky() {
        let mut v = StreamingVerifier::new(Sha256Digest::of(b"ab"), 2);
        assert!(v.update(b"abc").is_err());
        assert_eq!(v.bytes_seen(), 0);
        assert_eq!(v.update(b"").unwrap_err().code(), "LENGTH_EXCEEDED");
        assert_eq!(v.finish().unwrap_err().code(), "LENGTH_EXCEEDED");
    }

    #[test]
    fn length_check_alone_and_digest_comparison() {
        let mut l = LengthCheck::new(3);
        l.update(b"ab").unwrap();
        assert_eq!(l.finish().unwrap_err().code(), "TRUNCATED");
        l.update(b"c").unwrap();
        l.finish().unwrap();
        assert_eq!(l.update(b"d").unwrap_err().code(), "LENGTH_EXCEEDED");
        assert_eq!(l.bytes_seen(), 3);
        assert_eq!(l.finish().unwrap_err().code(), "LENGTH_EXCEEDED");
        let d = Sha256Digest::of(b"abc");
        assert_eq!(check_digest(d, d).unwrap(), d);
        let other = Sha256Digest::of(b"abd");
        assert_eq!(check_digest(d, other).unwrap_err().code(), "HASH_MISMATCH");
    }

    #[test]
    fn plain_hasher_counts_bytes() {
        let mut h = Sha256Hasher::new();
        assert!(h.is_empty());
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.len(), 3);
        assert_eq!(h.finish(), Sha256Digest::of(b"abc"));
    }
}
