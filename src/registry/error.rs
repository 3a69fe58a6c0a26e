//! Errors of the registry client.

use crate::catalogue::CatalogueError;
use crate::error::{Code, ErrorCode};
use crate::store::StoreError;
use crate::tuf::TufError;

/// Errors from [`super::Registry`]. TUF, store and engine errors keep their own codes
/// (`HASH_MISMATCH`, `LENGTH_EXCEEDED`, `ROLLBACK`, `NETWORK`, `QUOTA`, `SCHEMA_MISMATCH`, ...).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A reference that is malformed or resolves to no signed version (`BAD_REF`,
    /// `MODEL_NOT_FOUND`, `ALIASES_UNAVAILABLE`): the catalogue's error and code.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// No trusted metadata yet: refresh first. Code `INVALID_STATE`.
    #[error("no trusted metadata: {reason}")]
    NotReady {
        /// What to do.
        reason: String,
    },
    /// The trusted metadata has expired (spec 5.4.4 / 5.5.6 / 5.6.4 applied to its later
    /// use); without the explicit offline opt-in nothing is served from it, and even with it
    /// nothing is downloaded. Code `EXPIRED`.
    #[error("trusted metadata expired: {role} expired at {expires}")]
    Expired {
        /// The role that expired first.
        role: String,
        /// Its expiry as written.
        expires: String,
    },
    /// The artifact does not fit the cache limit or the space the platform has left, even
    /// after evicting every unpinned version. Nothing was downloaded or written. Code `QUOTA`.
    #[error("{needed} bytes do not fit: {available} bytes available after eviction ({detail})")]
    Quota {
        /// The signed length.
        needed: u64,
        /// The most that could be made available.
        available: u64,
        /// Which limit binds.
        detail: String,
    },
    /// The caller aborted; nothing was cached. Code `ABORTED`.
    #[error("aborted")]
    Aborted,
    /// The version is pinned; unpin it first. Code `PINNED`.
    #[error("{model} is pinned")]
    Pinned {
        /// `name@version`.
        model: String,
    },
    /// A signed length is above a configured limit. Code `LIMIT_EXCEEDED`.
    #[error("{what} is {length} bytes, above the limit of {limit}")]
    TooLarge {
        /// What.
        what: String,
        /// Its signed length.
        length: u64,
        /// The limit.
        limit: u64,
    },
    /// A bad configuration value. Code `INVALID_ARGUMENT`.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A TUF error (verification, fetching); its code.
    #[error(transparent)]
    Tuf(#[from] TufError),
    /// A store error; its code (`STORE`, `QUOTA`).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for RegistryError {
    fn error_code(&self) -> Code {
        match self {
            RegistryError::Catalogue(e) => e.error_code(),
            RegistryError::NotReady { .. } => Code::InvalidState,
            RegistryError::Expired { .. } => Code::Expired,
            RegistryError::Quota { .. } => Code::Quota,
            RegistryError::Aborted => Code::Aborted,
            RegistryError::Pinned { .. } => Code::Pinned,
            RegistryError::TooLarge { .. } => Code::LimitExceeded,
            RegistryError::Config(_) => Code::InvalidArgument,
            RegistryError::Tuf(e) => e.error_code(),
            RegistryError::Store(e) => e.error_code(),
        }
    }
}
