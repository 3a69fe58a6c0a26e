//! The errors of the TUF layer: each names the role it concerns and the rule that was broken, and
//! has a stable code (see [`crate::error::ErrorCode`]).

use crate::digest::DigestError;
use crate::error::{Code, ErrorCode};
use crate::fetch::FetchError;
use crate::store::StoreError;

/// Everything that can go wrong while verifying or updating TUF metadata and targets.
///
/// Messages read as `ROLE: RULE (DETAIL)`, for example
/// `targets: signature threshold not met (0 of 1 valid signatures)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TufError {
    /// Fewer distinct trusted keys signed than the role's threshold requires (spec 5.3.4, 5.4.2,
    /// 5.5.3, 5.6.3). Code `SIGNATURE_THRESHOLD`.
    #[error("{role}: signature threshold not met ({valid} of {threshold} valid signatures)")]
    SignatureThreshold {
        /// The role whose signatures were checked.
        role: String,
        /// Distinct keys whose signature verified.
        valid: u64,
        /// Keys required.
        threshold: u64,
    },
    /// The metadata expired before the reference time of this refresh (spec 5.3.10, 5.4.4,
    /// 5.5.6, 5.6.5). Code `EXPIRED`.
    #[error("{role}: metadata expired at {expires} (reference time {reference_time})")]
    Expired {
        /// The expired role.
        role: String,
        /// Its `expires` field.
        expires: String,
        /// The reference time of the refresh, as RFC 3339.
        reference_time: String,
    },
    /// A version went backwards compared with trusted metadata (rollback attack; spec 5.4.3,
    /// 5.5.5). Code `ROLLBACK`.
    #[error("{role}: rollback refused ({detail})")]
    Rollback {
        /// The role whose version went back.
        role: String,
        /// Which version went back, from what to what.
        detail: String,
    },
    /// A version is not the one the trusted metadata requires: a root that is not exactly N+1
    /// (spec 5.3.5), or a snapshot/targets version other than the one its parent lists
    /// (spec 5.5.4, 5.6.2). Code `BAD_VERSION`.
    #[error("{role}: wrong version (expected {expected}, got {got})")]
    BadVersion {
        /// The role with the wrong version.
        role: String,
        /// The version required.
        expected: u64,
        /// The version received.
        got: u64,
    },
    /// The metadata's `_type` is not the role's type (spec 5.2). Code `WRONG_TYPE`.
    #[error("{role}: wrong metadata type (expected \"{expected}\", got \"{got}\")")]
    WrongType {
        /// The role requested.
        role: String,
        /// The `_type` required.
        expected: String,
        /// The `_type` received.
        got: String,
    },
    /// The `spec_version` is malformed or its major version is not 1 (spec 4.2 "spec_version").
    /// Code `SPEC_VERSION`.
    #[error("{role}: unsupported spec_version \"{got}\" (this client implements 1.x)")]
    SpecVersion {
        /// The role.
        role: String,
        /// The `spec_version` received.
        got: String,
    },
    /// The bytes are not valid metadata: not JSON, a missing or mistyped field, a float, a zero
    /// threshold, a malformed delegation. Code `BAD_METADATA`.
    #[error("{role}: malformed metadata ({reason})")]
    BadMetadata {
        /// The role.
        role: String,
        /// What is wrong.
        reason: String,
    },
    /// Metadata or a target has another length than its trusted parent lists (spec 5.5.2,
    /// 5.6.2, 5.7.3). Code `LENGTH_EXCEEDED` when longer, `TRUNCATED` when shorter.
    #[error("{role}: length mismatch for {file} (expected {expected} bytes, got {got})")]
    LengthMismatch {
        /// The role that lists the file.
        role: String,
        /// The file.
        file: String,
        /// The trusted length.
        expected: u64,
        /// The length received.
        got: u64,
    },
    /// Metadata or a target has another hash than its trusted parent lists (spec 5.5.2, 5.6.2,
    /// 5.7.3). Code `HASH_MISMATCH`.
    #[error("{role}: {algorithm} hash mismatch for {file} (expected {expected}, got {actual})")]
    HashMismatch {
        /// The role that lists the file.
        role: String,
        /// The file.
        file: String,
        /// The hash algorithm.
        algorithm: String,
        /// The trusted hash (hex).
        expected: String,
        /// The hash of the bytes received (hex).
        actual: String,
    },
    /// A target lists no hash algorithm this client supports (sha256, sha512), so it cannot be
    /// verified. Code `UNSUPPORTED_HASH`.
    #[error("{role}: no supported hash algorithm for target {path} (listed: {listed})")]
    UnsupportedHash {
        /// The role that lists the target.
        role: String,
        /// The target path.
        path: String,
        /// The algorithms listed.
        listed: String,
    },
    /// The trusted snapshot (or timestamp) does not list a file that must be listed, or a new
    /// snapshot drops a file the trusted one listed (spec 5.5.5). Code `MISSING_META`.
    #[error("{role}: {file} is missing from the trusted metadata ({detail})")]
    MissingMeta {
        /// The role whose meta lacks the file.
        role: String,
        /// The file.
        file: String,
        /// Context.
        detail: String,
    },
    /// A signed length is larger than this client accepts for that kind of file
    /// (`UpdaterConfig`'s `*_max_length`, `max_target_length`), or a stored copy is larger than
    /// its role may be; refused before anything is fetched or parsed. Code `LIMIT_EXCEEDED`.
    #[error("{role}: {file} is {length} bytes, more than the {limit} bytes allowed")]
    LimitExceeded {
        /// The role that lists the file (or the role of the metadata file).
        role: String,
        /// The file.
        file: String,
        /// Its signed (or stored) length.
        length: u64,
        /// The limit.
        limit: u64,
    },
    /// The delegation search visited the maximum number of roles with more left to visit
    /// (spec 5.6.7 bounds the search). Code `DELEGATION_LIMIT`.
    #[error("{role}: delegation search stopped after visiting {limit} roles")]
    DelegationLimit {
        /// The last role visited.
        role: String,
        /// The bound.
        limit: u32,
    },
    /// No trusted targets role lists the target (spec 5.7.2). Code `TARGET_NOT_FOUND`.
    #[error("targets: no trusted role lists target {path}")]
    TargetNotFound {
        /// The target path asked for.
        path: String,
    },
    /// A target path could escape the directory it is stored in (absolute, `..`, `.`, empty
    /// segments, backslashes, NUL). Code `BAD_TARGET_PATH`.
    #[error("{role}: unsafe target path {path:?} ({reason})")]
    BadTargetPath {
        /// The role that lists the target, or `targets` for a lookup.
        role: String,
        /// The path.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// The operation needs state that is not there (no trusted root, no successful refresh,
    /// root update after timestamp). Code `INVALID_STATE`.
    #[error("{role}: {reason}")]
    InvalidState {
        /// The role concerned.
        role: String,
        /// What is missing.
        reason: String,
    },
    /// Fetching a file failed; the code is the fetch error's (`NOT_FOUND`, `LENGTH_EXCEEDED`,
    /// `NETWORK`, ...).
    #[error("{role}: {source}")]
    Fetch {
        /// The role (or target path) being fetched.
        role: String,
        /// The fetch error.
        source: FetchError,
    },
    /// Listing the whole catalogue would visit more roles or targets than allowed. Code
    /// `LIMIT_EXCEEDED`.
    #[error("{role}: more than {limit} {what} in the repository")]
    CatalogueLimit {
        /// The role being read when the limit was reached.
        role: String,
        /// What was counted (`roles` or `targets`).
        what: String,
        /// The limit.
        limit: u64,
    },
    /// Reading or writing trusted state failed; the code is the store error's.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A digest error from the shared digest layer; the code is its own.
    #[error("{role}: {source}")]
    Digest {
        /// The role concerned.
        role: String,
        /// The digest error.
        source: DigestError,
    },
}

impl ErrorCode for TufError {
    fn error_code(&self) -> Code {
        match self {
            TufError::SignatureThreshold { .. } => Code::SignatureThreshold,
            TufError::Expired { .. } => Code::Expired,
            TufError::Rollback { .. } => Code::Rollback,
            TufError::BadVersion { .. } => Code::BadVersion,
            TufError::WrongType { .. } => Code::WrongType,
            TufError::SpecVersion { .. } => Code::SpecVersion,
            TufError::BadMetadata { .. } => Code::BadMetadata,
            TufError::LengthMismatch { expected, got, .. } => {
                if got > expected {
                    Code::LengthExceeded
                } else {
                    Code::Truncated
                }
            }
            TufError::HashMismatch { .. } => Code::HashMismatch,
            TufError::UnsupportedHash { .. } => Code::UnsupportedHash,
            TufError::MissingMeta { .. } => Code::MissingMeta,
            TufError::DelegationLimit { .. } => Code::DelegationLimit,
            TufError::LimitExceeded { .. } => Code::LimitExceeded,
            TufError::TargetNotFound { .. } => Code::TargetNotFound,
            TufError::BadTargetPath { .. } => Code::BadTargetPath,
            TufError::InvalidState { .. } => Code::InvalidState,
            TufError::CatalogueLimit { .. } => Code::LimitExceeded,
            TufError::Fetch { source, .. } => source.error_code(),
            TufError::Store(e) => e.error_code(),
            TufError::Digest { source, .. } => source.error_code(),
        }
    }
}

impl TufError {
    /// The role (or target path) the error concerns, where there is one.
    pub fn role(&self) -> Option<&str> {
        match self {
            TufError::SignatureThreshold { role, .. }
            | TufError::Expired { role, .. }
            | TufError::Rollback { role, .. }
            | TufError::BadVersion { role, .. }
            | TufError::WrongType { role, .. }
            | TufError::SpecVersion { role, .. }
            | TufError::BadMetadata { role, .. }
            | TufError::LengthMismatch { role, .. }
            | TufError::HashMismatch { role, .. }
            | TufError::UnsupportedHash { role, .. }
            | TufError::MissingMeta { role, .. }
            | TufError::DelegationLimit { role, .. }
            | TufError::LimitExceeded { role, .. }
            | TufError::BadTargetPath { role, .. }
            | TufError::InvalidState { role, .. }
            | TufError::CatalogueLimit { role, .. }
            | TufError::Fetch { role, .. }
            | TufError::Digest { role, .. } => Some(role),
            TufError::TargetNotFound { .. } => Some("targets"),
            TufError::Store(_) => None,
        }
    }

    pub(crate) fn bad(role: &str, reason: impl Into<String>) -> Self {
        TufError::BadMetadata {
            role: role.to_string(),
            reason: reason.into(),
        }
    }
}
