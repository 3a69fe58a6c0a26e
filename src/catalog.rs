//! The model catalogue: the naming convention and the model card that turn the targets of any
//! TUF repository into a registry of models (`docs/registry-format.md`). Shared by the publisher
//! (which writes it) and by clients (which read it). Synchronous and I/O-free.
//!
//! - A version is the set of targets under `models/<name>/<version>/`; its `model.onnx` target
//!   carries the model card in `custom` ([`ModelCard`], defined in [`crate::card`]).
//! - `models/<name>/aliases.json` is the model's signed aliases document ([`Aliases`]).
//! - A team role `TEAM` is trusted for [`team_patterns`]: `models/TEAM-*/aliases.json` and
//!   `models/TEAM-*/*/*`.
//!
//! Canonical JSON (what TUF signatures cover) has no floating-point numbers, so every
//! non-integer number of a card is written as its shortest round-trip decimal string
//! ([`without_floats`]); readers accept numbers and numeric strings ([`card_number`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::card::ModelCard;
use crate::error::ErrorCode;
use crate::tuf::TargetInfo;

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
pub enum CatalogError {
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
    /// An aliases document is malformed or names another model. Code `BAD_ALIASES`.
    #[error("{path}: bad aliases document ({reason})")]
    BadAliases {
        /// The target path.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl ErrorCode for CatalogError {
    fn code(&self) -> &'static str {
        match self {
            CatalogError::BadName { .. } => "BAD_NAME",
            CatalogError::BadCard { .. } => "BAD_CARD",
            CatalogError::BadAliases { .. } => "BAD_ALIASES",
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
) -> Result<(), CatalogError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.bytes().next().is_some_and(first)
        && value.bytes().all(rest);
    if ok {
        Ok(())
    } else {
        Err(CatalogError::BadName {
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
pub fn check_model_name(name: &str) -> Result<(), CatalogError> {
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
pub fn check_version(version: &str) -> Result<(), CatalogError> {
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
pub fn check_alias(alias: &str) -> Result<(), CatalogError> {
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
pub fn check_team(team: &str) -> Result<(), CatalogError> {
    check_chars("team", team, 32, lower_digit, lower_digit, "[a-z0-9]+")?;
    if crate::tuf::metadata::TOP_LEVEL_ROLES.contains(&team) {
        return Err(CatalogError::BadName {
            what: "team",
            value: team.to_string(),
            rule: "must not be a top-level role name".into(),
        });
    }
    Ok(())
}

/// An extra file of a version: one path segment, `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 128
/// characters, not `model.onnx`.
pub fn check_file_name(file: &str) -> Result<(), CatalogError> {
    check_chars(
        "file name",
        file,
        128,
        alnum,
        |b| alnum(b) || matches!(b, b'.' | b'_' | b'-'),
        "[A-Za-z0-9][A-Za-z0-9._-]*",
    )?;
    if file == MODEL_FILE {
        return Err(CatalogError::BadName {
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
pub enum CatalogPath {
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
pub fn parse_path(path: &str) -> Option<CatalogPath> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [MODELS_DIR, name, ALIASES_FILE] if check_model_name(name).is_ok() => {
            Some(CatalogPath::Aliases {
                name: name.to_string(),
            })
        }
        [MODELS_DIR, name, version, file]
            if check_model_name(name).is_ok() && check_version(version).is_ok() =>
        {
            if *file == MODEL_FILE {
                Some(CatalogPath::Model {
                    name: name.to_string(),
                    version: version.to_string(),
                })
            } else if check_file_name(file).is_ok() {
                Some(CatalogPath::File {
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

/// Version order of `docs/registry-format.md`: natural order, runs of digits compared as
/// numbers (`10 > 9`, `1.10 > 1.9`), other runs byte-wise, a digit run before a text run; ties
/// (`01` and `1`) broken byte-wise so the order is total.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn runs(s: &str) -> Vec<&str> {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut start = 0;
        for i in 1..=bytes.len() {
            let boundary = i == bytes.len()
                || bytes.get(i).map(u8::is_ascii_digit) != bytes.get(i - 1).map(u8::is_ascii_digit);
            if boundary {
                if let Some(r) = s.get(start..i) {
                    out.push(r);
                }
                start = i;
            }
        }
        out
    }
    let (ra, rb) = (runs(a), runs(b));
    for (x, y) in ra.iter().zip(&rb) {
        let xd = x.bytes().all(|c| c.is_ascii_digit());
        let yd = y.bytes().all(|c| c.is_ascii_digit());
        let ord = match (xd, yd) {
            (true, true) => {
                let xt = x.trim_start_matches('0');
                let yt = y.trim_start_matches('0');
                xt.len().cmp(&yt.len()).then_with(|| xt.cmp(yt))
            }
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ra.len().cmp(&rb.len()).then_with(|| a.cmp(b))
}

/// Replaces every non-integer number in `v` by its shortest round-trip decimal string (TUF's
/// canonical JSON has no floats: securesystemslib `encode_canonical` refuses them).
pub fn without_floats(v: Value) -> Value {
    match v {
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => {
            Value::String(n.to_string())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(without_floats).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

/// A card number: a JSON number, or a string holding one (how cards carry non-integers).
pub fn card_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

impl ModelCard {
    /// Reads the card of target `path` from its `custom` value (see [`crate::card`]) and checks
    /// that its name and version are the path's and that `files` points inside the version's
    /// directory.
    pub fn from_custom(path: &str, custom: Option<&Value>) -> Result<ModelCard, CatalogError> {
        let bad = |reason: String| CatalogError::BadCard {
            path: path.to_string(),
            reason,
        };
        let value = custom.ok_or_else(|| bad("the target has no custom field".into()))?;
        let card = ModelCard::deserialize(value).map_err(|e| bad(e.to_string()))?;
        if let Some(CatalogPath::Model { name, version }) = parse_path(path) {
            if card.name != name || card.version != version {
                return Err(bad(format!(
                    "the card says {}@{}, the path says {name}@{version}",
                    card.name, card.version
                )));
            }
            let dir = format!("{MODELS_DIR}/{name}/{version}/");
            for (role, file) in &card.files {
                let inside = file
                    .strip_prefix(&dir)
                    .is_some_and(|f| check_file_name(f).is_ok());
                if !inside {
                    return Err(bad(format!(
                        "files.{role} = {file:?} is not a file of this version"
                    )));
                }
            }
        } else {
            return Err(bad("not a models/<name>/<version>/model.onnx path".into()));
        }
        Ok(card)
    }
}

/// A model's signed aliases document: `{"name": ..., "aliases": {"production": "1", ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aliases {
    /// The model.
    pub name: String,
    /// Alias to version.
    pub aliases: BTreeMap<String, String>,
}

impl Aliases {
    /// An empty document for `name`.
    pub fn new(name: &str) -> Self {
        Aliases {
            name: name.to_string(),
            aliases: BTreeMap::new(),
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
    pub fn from_bytes(path: &str, bytes: &[u8]) -> Result<Aliases, CatalogError> {
        let bad = |reason: String| CatalogError::BadAliases {
            path: path.to_string(),
            reason,
        };
        let doc: Aliases = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        match parse_path(path) {
            Some(CatalogPath::Aliases { name }) if name == doc.name => {}
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
        Ok(doc)
    }
}

/// A signed target as the catalogue sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetRef {
    /// Target path.
    pub path: String,
    /// Signed length.
    pub length: u64,
    /// Signed SHA-256 (hex), when listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The role that signs it.
    pub role: String,
}

impl TargetRef {
    fn of(t: &TargetInfo) -> Self {
        TargetRef {
            path: t.path.clone(),
            length: t.length,
            sha256: t.hashes.get("sha256").cloned(),
            role: t.role.clone(),
        }
    }
}

/// One version of a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionEntry {
    /// The version.
    pub version: String,
    /// The `model.onnx` target.
    pub model: TargetRef,
    /// Its card.
    pub card: ModelCard,
    /// The version's other targets, by file name.
    pub files: BTreeMap<String, TargetRef>,
}

/// One model: its versions (in version order), aliases and aliases document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelEntry {
    /// Model name.
    pub name: String,
    /// Versions, lowest first ([`compare_versions`]).
    pub versions: Vec<VersionEntry>,
    /// Alias to version, from the aliases document (empty until [`Catalogue::set_aliases`]).
    pub aliases: BTreeMap<String, String>,
    /// The aliases document target, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aliases_target: Option<TargetRef>,
}

impl ModelEntry {
    /// The version `v`.
    pub fn version(&self, v: &str) -> Option<&VersionEntry> {
        self.versions.iter().find(|e| e.version == v)
    }

    /// Resolves `selector`: an alias, else a version; `None` resolves to the `production`
    /// alias, else the highest version.
    pub fn resolve(&self, selector: Option<&str>) -> Option<&VersionEntry> {
        match selector {
            Some(s) => match self.aliases.get(s) {
                Some(v) => self.version(v),
                None => self.version(s),
            },
            None => match self.aliases.get("production") {
                Some(v) => self.version(v),
                None => self.versions.last(),
            },
        }
    }
}

/// The models of a repository, read from its trusted targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Catalogue {
    /// Models by name.
    pub models: BTreeMap<String, ModelEntry>,
    /// Targets outside the convention (ignored).
    pub other_targets: Vec<String>,
    /// Problems found (a bad card, a file without its model, an alias to a missing version).
    pub problems: Vec<String>,
}

impl Catalogue {
    /// Builds the catalogue from every trusted target (aliases documents are read later, with
    /// [`Catalogue::set_aliases`], since their content is not in the metadata).
    pub fn from_targets<'a>(targets: impl IntoIterator<Item = &'a TargetInfo>) -> Catalogue {
        let mut cat = Catalogue::default();
        let mut files: Vec<(&'a TargetInfo, String, String, String)> = Vec::new();
        for t in targets {
            match parse_path(&t.path) {
                Some(CatalogPath::Model { name, version }) => {
                    match ModelCard::from_custom(&t.path, t.custom.as_ref()) {
                        Ok(card) => {
                            let entry = cat.entry(&name);
                            entry.versions.push(VersionEntry {
                                version,
                                model: TargetRef::of(t),
                                card,
                                files: BTreeMap::new(),
                            });
                        }
                        Err(e) => cat.problems.push(e.to_string()),
                    }
                }
                Some(CatalogPath::File {
                    name,
                    version,
                    file,
                }) => files.push((t, name, version, file)),
                Some(CatalogPath::Aliases { name }) => {
                    cat.entry(&name).aliases_target = Some(TargetRef::of(t));
                }
                None => cat.other_targets.push(t.path.clone()),
            }
        }
        for (t, name, version, file) in files {
            let v = cat
                .models
                .get_mut(&name)
                .and_then(|m| m.versions.iter_mut().find(|v| v.version == version));
            match v {
                Some(v) => {
                    v.files.insert(file, TargetRef::of(t));
                }
                None => cat
                    .problems
                    .push(format!("{}: no model.onnx for this version", t.path)),
            }
        }
        for m in cat.models.values_mut() {
            m.versions
                .sort_by(|a, b| compare_versions(&a.version, &b.version));
            for v in &m.versions {
                for (role, path) in &v.card.files {
                    let listed = path
                        .rsplit_once('/')
                        .is_some_and(|(_, f)| v.files.contains_key(f));
                    if !listed {
                        cat.problems.push(format!(
                            "{}: card files.{role} names {path}, which is not a signed target",
                            v.model.path
                        ));
                    }
                }
            }
        }
        let empty: Vec<String> = cat
            .models
            .iter()
            .filter(|(_, m)| m.versions.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for n in empty {
            cat.problems.push(format!(
                "{}: aliases for a model with no version",
                aliases_path(&n)
            ));
        }
        cat
    }

    fn entry(&mut self, name: &str) -> &mut ModelEntry {
        self.models
            .entry(name.to_string())
            .or_insert_with(|| ModelEntry {
                name: name.to_string(),
                versions: Vec::new(),
                aliases: BTreeMap::new(),
                aliases_target: None,
            })
    }

    /// Sets a model's aliases from its verified aliases document; an alias to a version that
    /// does not exist is dropped and reported.
    pub fn set_aliases(&mut self, doc: Aliases) {
        let Some(m) = self.models.get_mut(&doc.name) else {
            return;
        };
        let mut kept = BTreeMap::new();
        for (alias, version) in doc.aliases {
            if m.version(&version).is_some() {
                kept.insert(alias, version);
            } else {
                self.problems.push(format!(
                    "{}: alias {alias} names version {version}, which is not published",
                    aliases_path(&doc.name)
                ));
            }
        }
        m.aliases = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            Some(CatalogPath::Model {
                name: "digits".into(),
                version: "2".into()
            })
        );
        assert_eq!(
            parse_path(&file_path("digits", "2", "eval.csv")),
            Some(CatalogPath::File {
                name: "digits".into(),
                version: "2".into(),
                file: "eval.csv".into()
            })
        );
        assert_eq!(
            parse_path(&aliases_path("digits")),
            Some(CatalogPath::Aliases {
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
    fn versions_compare_naturally() {
        use Ordering::*;
        assert_eq!(compare_versions("10", "9"), Greater);
        assert_eq!(compare_versions("1.10", "1.9"), Greater);
        assert_eq!(compare_versions("1.2", "1.2.1"), Less);
        assert_eq!(compare_versions("2", "2"), Equal);
        assert_eq!(compare_versions("01", "1"), Less);
        assert_eq!(compare_versions("1", "a"), Less);
        assert_eq!(compare_versions("v2", "v10"), Less);
        let mut v = vec!["10", "2", "1.10", "1.9", "1"];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(v, ["1", "1.9", "1.10", "2", "10"]);
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

    fn info(path: &str, custom: Option<Value>) -> TargetInfo {
        TargetInfo {
            path: path.into(),
            length: 3,
            hashes: [("sha256".to_string(), "ab".to_string())].into(),
            custom,
            role: "targets".into(),
        }
    }

    fn card(name: &str, version: &str) -> Value {
        json!({"name": name, "version": version, "format": "onnx",
               "inputs": [{"name": "x", "dtype": "float32", "shape": ["N", 4]}],
               "outputs": [{"name": "y", "dtype": "int64", "shape": ["N"]}],
               "metrics": {"accuracy": "0.9", "n": 3},
               "files": {"profile": format!("models/{name}/{version}/profile.json")}})
    }

    #[test]
    fn catalogue_from_targets() {
        let targets = vec![
            info("models/iris/10/model.onnx", Some(card("iris", "10"))),
            info("models/iris/9/model.onnx", Some(card("iris", "9"))),
            info("models/iris/9/profile.json", None),
            info("models/iris/aliases.json", None),
            info("models/iris/8/eval.csv", None),
            info("models/bad/1/model.onnx", Some(card("other", "1"))),
            info("README.txt", None),
        ];
        let mut cat = Catalogue::from_targets(&targets);
        let iris = &cat.models["iris"];
        assert_eq!(
            iris.versions
                .iter()
                .map(|v| v.version.as_str())
                .collect::<Vec<_>>(),
            ["9", "10"]
        );
        assert_eq!(iris.version("9").unwrap().card.metrics["accuracy"], 0.9);
        assert_eq!(cat.other_targets, ["README.txt"]);
        assert!(
            cat.problems.iter().any(|p| p.contains("other@1")),
            "{:?}",
            cat.problems
        );
        assert!(cat
            .problems
            .iter()
            .any(|p| p.contains("models/iris/8/eval.csv")));
        assert!(cat
            .problems
            .iter()
            .any(|p| p.contains("models/iris/10/model.onnx: card files.profile")));
        assert_eq!(iris.resolve(None).unwrap().version, "10");
        let doc = Aliases {
            name: "iris".into(),
            aliases: [
                ("production".to_string(), "9".to_string()),
                ("old".to_string(), "7".to_string()),
            ]
            .into(),
        };
        let bytes = doc.to_bytes();
        let back = Aliases::from_bytes("models/iris/aliases.json", &bytes).unwrap();
        assert_eq!(back, doc);
        assert_eq!(
            Aliases::from_bytes("models/other/aliases.json", &bytes)
                .unwrap_err()
                .code(),
            "BAD_ALIASES"
        );
        cat.set_aliases(back);
        let iris = &cat.models["iris"];
        assert_eq!(iris.resolve(None).unwrap().version, "9");
        assert_eq!(iris.resolve(Some("production")).unwrap().version, "9");
        assert_eq!(iris.resolve(Some("10")).unwrap().version, "10");
        assert!(iris.resolve(Some("old")).is_none());
        assert!(cat.problems.iter().any(|p| p.contains("alias old")));
    }

    #[test]
    fn card_files_must_stay_in_the_version() {
        let mut c = card("iris", "1");
        c["files"] = json!({"profile": "models/iris/2/profile.json"});
        let err = ModelCard::from_custom("models/iris/1/model.onnx", Some(&c)).unwrap_err();
        assert_eq!(err.code(), "BAD_CARD");
        c["files"] = json!({"x": "models/iris/1/../../x"});
        assert!(ModelCard::from_custom("models/iris/1/model.onnx", Some(&c)).is_err());
        assert!(ModelCard::from_custom("models/iris/1/model.onnx", None).is_err());
    }
}
