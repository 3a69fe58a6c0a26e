//! The publisher: creating and editing a model registry (a TUF repository laid out as
//! `docs/registry-format.md` describes) and signing it with Ed25519 keys.
//!
//! Synchronous and I/O-free like the rest of the core: a [`Repository`] is loaded through the
//! [`RepoFiles`] trait (the CLI reads a directory, tests a map), edited in memory
//! ([`Repository::publish`], [`Repository::set_alias`], [`Repository::delegate`],
//! [`Repository::rotate_keys`], ...), and [`Repository::commit`] returns the files to write, in
//! an order that is safe for clients reading while they are written (targets, then delegated
//! and top-level targets metadata, snapshot, root, and the timestamp last). Keys come from the
//! caller ([`Keyring`]): this module never draws randomness.
//!
//! Signing reuses the client's pieces (`tuf::repo::sign_metadata`, `tuf::keys::Ed25519Signer`,
//! canonical JSON), and every commit is checked by the client itself before it is returned:
//! the [`crate::tuf::Updater`] refreshes from the previous trusted state to the new one and
//! loads every role, so the publisher never writes a repository its own client would refuse.
//!
//! Imports `tuf`, `catalogue`, `engine` (the card's schema comes from the loaded model), `eval`
//! (profiles), `store`, `fetch`, `digest`, `clock`; never `registry`, `app`, `wasm` or the CLI.

mod keyfile;
mod release;
mod repository;
mod rollout;

use crate::catalogue::CatalogueError;
use crate::clock::UnixSeconds;
use crate::engine::EngineError;
use crate::error::{Code, ErrorCode};
use crate::eval::EvalError;
use crate::tuf::TufError;

pub use keyfile::{KeyFile, Keyring};
pub use release::{profile_from_table, PublishOutcome, Release, TableProfile};
pub use repository::{Changes, FileBytes, ListedTarget, RepoFiles, Repository, RoleVersion};
pub use rollout::{Advanced, RolloutPlan, FULL as FULL_SHARE};

/// Errors of the publisher.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Metadata could not be signed or verified; the code is the TUF error's.
    #[error(transparent)]
    Tuf(#[from] TufError),
    /// A name or document breaks the catalogue convention; the code is the catalogue error's.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// The model does not load or does not match its card; the code is the engine error's
    /// (`BAD_MODEL`, `UNSUPPORTED_MODEL`, `SCHEMA_MISMATCH`, ...).
    #[error("model: {0}")]
    Engine(#[from] EngineError),
    /// The profile's training data could not be read; the code is the evaluation error's.
    #[error("profile: {0}")]
    Eval(#[from] EvalError),
    /// The repository on disk is missing a file or is inconsistent (a file that does not match
    /// the metadata listing it). Code `BAD_REPOSITORY`, or the TUF code when a signature,
    /// hash or version check failed.
    #[error("repository: {file}: {reason}")]
    BadRepository {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
        /// The TUF check that failed, if one did.
        source: Option<Box<TufError>>,
    },
    /// A version already published with other content: versions are immutable (republishing
    /// needs `force`). Code `VERSION_EXISTS`.
    #[error("{name}@{version} is already published with other content (versions are immutable; use --force to replace it)")]
    VersionExists {
        /// Model name.
        name: String,
        /// Version.
        version: String,
    },
    /// A model or version that is not published. Code `NOT_FOUND`.
    #[error("{what} {name} is not published")]
    NotFound {
        /// `model` or `version`.
        what: &'static str,
        /// The name (`name` or `name@version`).
        name: String,
    },
    /// Fewer private keys are available than a role's threshold needs. Code `MISSING_KEY`.
    #[error("{role}: {have} of the {threshold} signing keys needed are available")]
    MissingKeys {
        /// The role to sign.
        role: String,
        /// Keys available.
        have: u64,
        /// Keys needed.
        threshold: u64,
    },
    /// A role may not sign this path (outside its delegated patterns). Code `NOT_DELEGATED`.
    #[error("{role}: may not sign {path} (it is trusted only for {patterns})")]
    NotDelegated {
        /// The role.
        role: String,
        /// The path.
        path: String,
        /// The role's patterns.
        patterns: String,
    },
    /// No such role, or a role that already exists. Code `UNKNOWN_ROLE` / `ROLE_EXISTS`.
    #[error("role {role}: {reason}")]
    Role {
        /// The role.
        role: String,
        /// `does not exist` or `already exists`.
        reason: String,
        /// Whether it exists.
        exists: bool,
    },
    /// Two names collide: a path listed by two roles, an alias named like a version, a model
    /// in a team's namespace published by another role. Code `NAME_CONFLICT`.
    #[error("{0}")]
    Conflict(String),
    /// A model card (`--card`) is malformed or contradicts the command line. Code `BAD_CARD`.
    #[error("model card: {0}")]
    BadCard(String),
    /// An argument is out of range (threshold above the number of keys, a bad duration, ...).
    /// Code `INVALID_ARGUMENT`.
    #[error("{0}")]
    InvalidArgument(String),
    /// The metadata just signed failed the client's own verification (a publisher bug or an
    /// expired role that was not re-signed); nothing was written. The code is the TUF error's.
    #[error("self-check: the client would refuse this repository: {0}")]
    SelfCheck(TufError),
}

impl ErrorCode for PublishError {
    fn error_code(&self) -> Code {
        match self {
            PublishError::Tuf(e) => e.error_code(),
            PublishError::Catalogue(e) => e.error_code(),
            PublishError::Engine(e) => e.error_code(),
            PublishError::Eval(e) => e.error_code(),
            PublishError::BadRepository { source, .. } => match source {
                Some(e) => e.error_code(),
                None => Code::BadRepository,
            },
            PublishError::VersionExists { .. } => Code::VersionExists,
            PublishError::NotFound { .. } => Code::NotFound,
            PublishError::MissingKeys { .. } => Code::MissingKey,
            PublishError::NotDelegated { .. } => Code::NotDelegated,
            PublishError::Role { exists: true, .. } => Code::RoleExists,
            PublishError::Role { exists: false, .. } => Code::UnknownRole,
            PublishError::Conflict(_) => Code::NameConflict,
            PublishError::BadCard(_) => Code::BadCard,
            PublishError::InvalidArgument(_) => Code::InvalidArgument,
            PublishError::SelfCheck(e) => e.error_code(),
        }
    }
}

/// How long each role's metadata stays valid after it is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiries {
    /// Root (default 365 days).
    pub root: i64,
    /// Targets and delegated targets (default 90 days).
    pub targets: i64,
    /// Snapshot (default 7 days).
    pub snapshot: i64,
    /// Timestamp (default 1 day).
    pub timestamp: i64,
}

const DAY: i64 = 86_400;

impl Default for Expiries {
    fn default() -> Self {
        Expiries {
            root: 365 * DAY,
            targets: 90 * DAY,
            snapshot: 7 * DAY,
            timestamp: DAY,
        }
    }
}

impl Expiries {
    /// The period of role `role` (delegated roles use the targets period).
    pub fn of(&self, role: &str) -> i64 {
        match role {
            "root" => self.root,
            "snapshot" => self.snapshot,
            "timestamp" => self.timestamp,
            _ => self.targets,
        }
    }

    /// The publisher's settings file (`REPO/publisher.json`): `{"expires": {"root": "365d",
    /// ...}}`.
    pub fn to_config_json(&self) -> String {
        let v = serde_json::json!({"expires": {
            "root": format_duration(self.root),
            "targets": format_duration(self.targets),
            "snapshot": format_duration(self.snapshot),
            "timestamp": format_duration(self.timestamp),
        }});
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads [`Self::to_config_json`]'s format; missing entries keep their defaults.
    pub fn from_config_json(bytes: &[u8]) -> Result<Expiries, PublishError> {
        let bad = |r: String| PublishError::InvalidArgument(format!("publisher.json: {r}"));
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let mut out = Expiries::default();
        if let Some(exp) = v.get("expires") {
            let obj = exp
                .as_object()
                .ok_or_else(|| bad("\"expires\" is not an object".into()))?;
            for (role, d) in obj {
                let d = d
                    .as_str()
                    .ok_or_else(|| bad(format!("expires.{role} is not a string")))?;
                let secs = parse_duration(d)?;
                match role.as_str() {
                    "root" => out.root = secs,
                    "targets" => out.targets = secs,
                    "snapshot" => out.snapshot = secs,
                    "timestamp" => out.timestamp = secs,
                    other => return Err(bad(format!("unknown role {other:?} in expires"))),
                }
            }
        }
        Ok(out)
    }
}

/// Parses a duration such as `365d`, `12h`, `30m`, `90s` or `2w` to seconds (at least one
/// second, at most 100 years).
pub fn parse_duration(text: &str) -> Result<i64, PublishError> {
    let bad = || {
        PublishError::InvalidArgument(format!(
            "invalid duration {text:?}: use a number and a unit (s, m, h, d or w), e.g. 7d"
        ))
    };
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(mult).ok_or_else(bad)?;
    if !(1..=100 * 366 * DAY).contains(&secs) {
        return Err(bad());
    }
    Ok(secs)
}

/// Formats seconds in the largest of d, h, m that divides them (`86400` → `1d`).
pub fn format_duration(secs: i64) -> String {
    for (unit, n) in [("d", DAY), ("h", 3600), ("m", 60)] {
        if secs % n == 0 && secs >= n {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// `now + period`, saturating.
pub(crate) fn expiry(now: UnixSeconds, period: i64) -> UnixSeconds {
    now.saturating_add(period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("365d").unwrap(), 365 * DAY);
        assert_eq!(parse_duration("12h").unwrap(), 12 * 3600);
        assert_eq!(parse_duration("2w").unwrap(), 14 * DAY);
        assert_eq!(parse_duration("90s").unwrap(), 90);
        for bad in [
            "",
            "d",
            "7",
            "7y",
            "-1d",
            "0d",
            "99999999999999999999d",
            "1.5d",
        ] {
            assert_eq!(
                parse_duration(bad).unwrap_err().code(),
                "INVALID_ARGUMENT",
                "{bad}"
            );
        }
        assert_eq!(format_duration(DAY), "1d");
        assert_eq!(format_duration(14 * DAY), "14d");
        assert_eq!(format_duration(3 * 3600), "3h");
        assert_eq!(format_duration(90), "90s");
        let e = Expiries {
            root: 10 * DAY,
            ..Expiries::default()
        };
        assert_eq!(
            Expiries::from_config_json(e.to_config_json().as_bytes()).unwrap(),
            e
        );
        assert!(Expiries::from_config_json(br#"{"expires": {"x": "1d"}}"#).is_err());
        assert_eq!(
            Expiries::from_config_json(b"{}").unwrap(),
            Expiries::default()
        );
    }
}
