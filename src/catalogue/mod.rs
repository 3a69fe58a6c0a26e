//! The one model catalogue: the naming convention and the model card that turn the targets of
//! any TUF repository into a registry of models (`docs/registry-format.md`). Shared by the
//! publisher (which writes it), the registry client, the CLI and the wasm bindings (which read
//! it). Synchronous and I/O-free: it may import `tuf` (target types), and the plain data types of
//! `engine` and `eval` a card carries; never `registry`, `publish`, `store`, `fetch`, `wasm` or
//! the CLI.
//!
//! - `mod.rs`: names, paths and the aliases document; [`card`](ModelCard): the model card;
//!   [`reference`](ModelRef): `name@selector`; [`version`](compare_versions): version order;
//!   [`models`](Catalogue): the models of a repository and how a reference resolves.
//! - A version is the set of targets under `models/<name>/<version>/`; its `model.onnx` target
//!   carries the model card in `custom` ([`ModelCard`]).
//! - `models/<name>/aliases.json` is the model's signed aliases document ([`Aliases`]).
//! - A team role `TEAM` is trusted for [`team_patterns`]: `models/TEAM-*/aliases.json` and
//!   `models/TEAM-*/*/*`.
//!
//! Canonical JSON (what TUF signatures cover) has no floating-point numbers, so every
//! non-integer number of a card is written as its shortest round-trip decimal string
//! ([`without_floats`]); readers accept numbers and numeric strings ([`card_number`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Code, ErrorCode};

mod card;
mod models;
mod reference;
mod rollout;
mod version;

pub use card::{card_number, without_floats, DatasetInfo, ModelCard};
pub use models::{
    AliasChange, AliasState, Catalogue, CatalogueChanges, Expiry, ModelEntry, ModelVersion,
    Resolved, RolloutChange, SignedFile, VersionChange,
};
pub use reference::{ModelRef, Selector, VersionId, DEFAULT_ALIAS};
pub use rollout::{
    bucket_hash, ChoiceReason, RolledBack, Rollout, RolloutChoice, RolloutClient, Stage,
    MAX_STAGES, MAX_WEIGHT,
};
pub use version::compare_versions;

/// Where model targets live.
pub const MODELS_DIR: &str = "models";
/// The model file of a version.
pub const MODEL_FILE: &str = "model.onnx";
/// The aliases document of a model.
pub const ALIASES_FILE: &str = "aliases.json";
/// The reference data profile of a version (card `files.profile`).
pub const PROFILE_FILE: &str = "profile.json";
/// The evaluation set of a version (card `files.evaluation_set`).
pub const EVAL_SET_FILE: &str = "eval.csv";
/// The card's `format` for ONNX models.
pub const FORMAT_ONNX: &str = "onnx";

/// Errors of the catalogue layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// A model, version, alias, team or file name breaks the naming rules of
    /// `docs/registry-format.md`. Code `BAD_NAME`.
    #[error("invalid {what} {value:?}: {rule}")]
    BadName {
        /// What kind of name.
        what: &'static str,
        /// The name.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// A model card (a `model.onnx` target's `custom`) is missing or malformed. Code `BAD_CARD`.
    #[error("{path}: bad model card ({reason})")]
    BadCard {
        /// The target path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A malformed model reference. Code `BAD_REF`.
    #[error("bad model reference {reference:?}: {reason}")]
    BadRef {
        /// The reference as given (truncated).
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// The reference names no signed model version. Code `MODEL_NOT_FOUND`.
    #[error("{reference}: {reason}")]
    ModelNotFound {
        /// The reference.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The model's signed aliases document could not be obtained or is malformed, so aliases
    /// (and bare names) cannot be resolved. Code `ALIASES_UNAVAILABLE`.
    #[error("aliases of {model} unavailable: {reason}")]
    AliasesUnavailable {
        /// The model.
        model: String,
        /// Why.
        reason: String,
    },
    /// An aliases document is malformed or names another model. Code `BAD_ALIASES`.
    #[error("{path}: bad aliases document ({reason})")]
    BadAliases {
        /// The target path.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl ErrorCode for CatalogueError {
    fn error_code(&self) -> Code {
        match self {
            CatalogueError::BadName { .. } => Code::BadName,
            CatalogueError::BadCard { .. } => Code::BadCard,
            CatalogueError::BadAliases { .. } => Code::BadAliases,
            CatalogueError::BadRef { .. } => Code::BadRef,
            CatalogueError::ModelNotFound { .. } => Code::ModelNotFound,
            CatalogueError::AliasesUnavailable { .. } => Code::AliasesUnavailable,
        }
    }
}

fn check_chars(
    what: &'static str,
    value: &str,
    max: usize,
    first: fn(u8) -> bool,
    rest: fn(u8) -> bool,
    rule: &str,
) -> Result<(), CatalogueError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.bytes().next().is_some_and(first)
        && value.bytes().all(rest);
    if ok {
        Ok(())
    } else {
        Err(CatalogueError::BadName {
            what,
            value: value.to_string(),
            rule: format!("must match {rule}, at most {max} characters"),
        })
    }
}

fn lower_digit(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// A model name: `[a-z0-9][a-z0-9._-]*`, at most 64 characters.
pub fn check_model_name(name: &str) -> Result<(), CatalogueError> {
    check_chars(
        "model name",
        name,
        64,
        lower_digit,
        |b| lower_digit(b) || matches!(b, b'.' | b'_' | b'-'),
        "[a-z0-9][a-z0-9._-]*",
    )
}

/// A version: `[0-9A-Za-z][0-9A-Za-z._-]*`, at most 32 characters.
pub fn check_version(version: &str) -> Result<(), CatalogueError> {
    check_chars(
        "version",
        version,
        32,
        alnum,
        |b| alnum(b) || matches!(b, b'.' | b'_' | b'-'),
        "[0-9A-Za-z][0-9A-Za-z._-]*",
    )
}

/// An alias: `[a-z][a-z0-9_-]*`, at most 32 characters (it starts with a letter; the publisher
/// also refuses an alias named like a version of the same model, so `name@x` is never
/// ambiguous).
pub fn check_alias(alias: &str) -> Result<(), CatalogueError> {
    check_chars(
        "alias",
        alias,
        32,
        |b| b.is_ascii_lowercase(),
        |b| lower_digit(b) || matches!(b, b'_' | b'-'),
        "[a-z][a-z0-9_-]*",
    )
}

/// A team (delegated role) name: `[a-z0-9]+`, at most 32 characters, not a top-level role name.
/// No `-`: team `a` owns `models/a-*`, and a team named `a-b` would own a subset of it.
pub fn check_team(team: &str) -> Result<(), CatalogueError> {
    check_chars("team", team, 32, lower_digit, lower_digit, "[a-z0-9]+")?;
    if crate::tuf::metadata::TOP_LEVEL_ROLES.contains(&team) {
        return Err(CatalogueError::BadName {
            what: "team",
            value: team.to_string(),
            rule: "must not be a top-level role name".into(),
        });
    }
    Ok(())
}

/// An extra file of a version: one path segment, `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 128
/// characters, not `model.onnx`.
pub fn check_file_name(file: &str) -> Result<(), CatalogueError> {
    check_chars(
        "file name",
        file,
        128,
        alnum,
        |b| alnum(b) || matches!(b, b'.' | b'_' | b'-'),
        "[A-Za-z0-9][A-Za-z0-9._-]*",
    )?;
    if file == MODEL_FILE {
        return Err(CatalogueError::BadName {
            what: "file name",
            value: file.to_string(),
            rule: format!("{MODEL_FILE} is the model itself"),
        });
    }
    Ok(())
}

/// `models/<name>/<version>/model.onnx`.
pub fn model_path(name: &str, version: &str) -> String {
    format!("{MODELS_DIR}/{name}/{version}/{MODEL_FILE}")
}

/// `models/<name>/<version>/<file>`.
pub fn file_path(name: &str, version: &str, file: &str) -> String {
    format!("{MODELS_DIR}/{name}/{version}/{file}")
}

/// `models/<name>/aliases.json`.
pub fn aliases_path(name: &str) -> String {
    format!("{MODELS_DIR}/{name}/{ALIASES_FILE}")
}

/// The delegation path patterns of team `team` (TUF patterns match one segment per `*`).
pub fn team_patterns(team: &str) -> Vec<String> {
    vec![
        format!("{MODELS_DIR}/{team}-*/{ALIASES_FILE}"),
        format!("{MODELS_DIR}/{team}-*/*/*"),
    ]
}

/// What a target path means in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CataloguePath {
    /// `models/<name>/<version>/model.onnx`.
    Model {
        /// Model name.
        name: String,
        /// Version.
        version: String,
    },
    /// `models/<name>/<version>/<file>`.
    File {
        /// Model name.
        name: String,
        /// Version.
        version: String,
        /// File name.
        file: String,
    },
    /// `models/<name>/aliases.json`.
    Aliases {
        /// Model name.
        name: String,
    },
}

/// Reads a target path as a catalogue path; `None` for paths outside the convention (other
/// targets of the repository, which the catalogue ignores).
pub fn parse_path(path: &str) -> Option<CataloguePath> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [MODELS_DIR, name, ALIASES_FILE] if check_model_name(name).is_ok() => {
            Some(CataloguePath::Aliases {
                name: name.to_string(),
            })
        }
        [MODELS_DIR, name, version, file]
            if check_model_name(name).is_ok() && check_version(version).is_ok() =>
        {
            if *file == MODEL_FILE {
                Some(CataloguePath::Model {
                    name: name.to_string(),
                    version: version.to_string(),
                })
            } else if check_file_name(file).is_ok() {
                Some(CataloguePath::File {
                    name: name.to_string(),
                    version: version.to_string(),
                    file: file.to_string(),
                })
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A model's signed aliases document: `{"name": ..., "aliases": {"production": "1", ...}}`,
/// and the staged rollouts of some of its aliases (`"rollouts": {"production": {...}}`, left
/// out when there are none, so documents without rollouts are byte-for-byte what they were).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aliases {
    /// The model.
    pub name: String,
    /// Alias to version (during a rollout: the baseline every client falls back to).
    pub aliases: BTreeMap<String, String>,
    /// Alias to its staged rollout ([`Rollout`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rollouts: BTreeMap<String, Rollout>,
}

impl Aliases {
    /// An empty document for `name`.
    pub fn new(name: &str) -> Self {
        Aliases {
            name: name.to_string(),
            aliases: BTreeMap::new(),
            rollouts: BTreeMap::new(),
        }
    }

    /// The bytes published: 2-space-indented JSON with sorted keys and a final newline, so the
    /// same document always has the same hash.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Parses the document of target `path` and checks that it names the path's model and that
    /// every alias and version is well formed.
    pub fn from_bytes(path: &str, bytes: &[u8]) -> Result<Aliases, CatalogueError> {
        let bad = |reason: String| CatalogueError::BadAliases {
            path: path.to_string(),
            reason,
        };
        let doc: Aliases = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        match parse_path(path) {
            Some(CataloguePath::Aliases { name }) if name == doc.name => {}
            _ => {
                return Err(bad(format!(
                    "the document names model {:?}, which is not the path's",
                    doc.name
                )))
            }
        }
        for (alias, version) in &doc.aliases {
            check_alias(alias).map_err(|e| bad(e.to_string()))?;
            check_version(version).map_err(|e| bad(e.to_string()))?;
        }
        for (alias, rollout) in &doc.rollouts {
            let baseline = doc.aliases.get(alias).ok_or_else(|| {
                bad(format!(
                    "rollout of alias {alias:?}, which the document does not define"
                ))
            })?;
            rollout
                .check(baseline)
                .map_err(|e| bad(format!("rollout of {alias}: {e}")))?;
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn names_follow_the_format() {
        assert!(check_model_name("digits-cnn").is_ok());
        assert!(check_model_name("a.b_c").is_ok());
        for bad in ["", "Digits", "-x", "a/b", "a b", &"x".repeat(65)] {
            assert!(check_model_name(bad).is_err(), "{bad}");
        }
        assert!(check_version("1.10-rc1").is_ok());
        assert!(check_version("v2").is_ok());
        for bad in ["", ".1", "1/2", "..", &"1".repeat(33)] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
        assert!(check_alias("production").is_ok());
        for bad in ["1", "Prod", "a.b", ""] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
        assert!(check_team("vision").is_ok());
        for bad in ["vision-x", "targets", "root", "Vision", ""] {
            assert!(check_team(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_file_name("model.onnx").unwrap_err().code(),
            "BAD_NAME"
        );
        assert!(check_file_name("..").is_err());
        assert!(check_file_name("eval.csv").is_ok());
    }

    #[test]
    fn paths_round_trip() {
        assert_eq!(
            parse_path(&model_path("digits", "2")),
            Some(CataloguePath::Model {
                name: "digits".into(),
                version: "2".into()
            })
        );
        assert_eq!(
            parse_path(&file_path("digits", "2", "eval.csv")),
            Some(CataloguePath::File {
                name: "digits".into(),
                version: "2".into(),
                file: "eval.csv".into()
            })
        );
        assert_eq!(
            parse_path(&aliases_path("digits")),
            Some(CataloguePath::Aliases {
                name: "digits".into()
            })
        );
        assert_eq!(parse_path("README.txt"), None);
        assert_eq!(parse_path("models/Bad/1/model.onnx"), None);
        assert_eq!(parse_path("models/a/1/sub/model.onnx"), None);
    }

    #[test]
    fn team_patterns_cover_only_the_team() {
        use crate::tuf::path::path_matches;
        let p = team_patterns("vision");
        let m = |path: &str| p.iter().any(|pat| path_matches(pat, path));
        assert!(m("models/vision-det/1/model.onnx"));
        assert!(m("models/vision-det/aliases.json"));
        assert!(!m("models/visionx-det/1/model.onnx"));
        assert!(!m("models/digits/1/model.onnx"));
        assert!(!m("models/vision/1/model.onnx"));
        assert!(!m("models/vision-det/1/sub/model.onnx"));
    }

    #[test]
    fn floats_become_strings_and_read_back() {
        let v: Value =
            serde_json::from_str(r#"{"a": 0.9622222222222222, "b": [1, 1.0, -2], "c": "x"}"#)
                .unwrap();
        let w = without_floats(v);
        assert_eq!(
            w,
            json!({"a": "0.9622222222222222", "b": [1, "1.0", -2], "c": "x"})
        );
        assert!(crate::tuf::canonical::to_canonical(&w).is_ok());
        assert_eq!(card_number(&w["a"]), Some(0.9622222222222222));
        assert_eq!(card_number(&w["b"][0]), Some(1.0));
        assert_eq!(card_number(&w["c"]), None);
    }
}
