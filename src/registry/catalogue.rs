//! The model catalogue on top of TUF targets (`docs/registry-format.md`): target paths
//! `models/<name>/<version>/model.onnx` with the model card in `custom`, other files of a
//! version beside it, and the signed `models/<name>/aliases.json` documents. Pure functions and
//! plain data: parsing, version order, references (`digits@production`) and resolution.

use std::collections::BTreeMap;

use serde_json::Value;

use super::RegistryError;
use crate::tuf::TargetInfo;

pub use crate::catalog::{compare_versions, ALIASES_FILE, MODEL_FILE};
use crate::catalog::{parse_path, CatalogPath};

/// The alias a bare model name resolves through (`docs/registry-format.md`, "Aliases").
pub const DEFAULT_ALIAS: &str = "production";

/// Whether `s` is a model name (the publisher's rule, [`crate::catalog::check_model_name`]).
pub fn valid_name(s: &str) -> bool {
    crate::catalog::check_model_name(s).is_ok()
}

/// Whether `s` is a version ([`crate::catalog::check_version`]).
pub fn valid_version(s: &str) -> bool {
    crate::catalog::check_version(s).is_ok()
}

/// Whether `s` can name an alias ([`crate::catalog::check_alias`]).
pub fn valid_alias(s: &str) -> bool {
    crate::catalog::check_alias(s).is_ok()
}

/// The target path of a version's model.
pub fn model_path(name: &str, version: &str) -> String {
    format!("models/{name}/{version}/{MODEL_FILE}")
}

/// Which version of a model a reference asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// A bare name: the `production` alias, else the highest version.
    Default,
    /// `name@x`: alias `x` if the model has one, else version `x`.
    Named(String),
}

/// A parsed model reference: `digits`, `digits@3`, `digits@production`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The model name.
    pub name: String,
    /// The version or alias.
    pub selector: Selector,
}

impl ModelRef {
    /// Parses `name` or `name@version-or-alias`. Code `BAD_REF` when malformed.
    pub fn parse(text: &str) -> Result<ModelRef, RegistryError> {
        let bad = |reason: &str| RegistryError::BadRef {
            reference: text.chars().take(200).collect(),
            reason: reason.to_string(),
        };
        let (name, selector) = match text.split_once('@') {
            Some((n, s)) => {
                if !valid_alias(s) && !valid_version(s) {
                    return Err(bad(
                        "after `@` comes a version or an alias ([0-9A-Za-z._-])",
                    ));
                }
                (n, Selector::Named(s.to_string()))
            }
            None => (text, Selector::Default),
        };
        if !valid_name(name) {
            return Err(bad(
                "a model name is [a-z0-9][a-z0-9._-]*, at most 64 characters",
            ));
        }
        Ok(ModelRef {
            name: name.to_string(),
            selector,
        })
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.selector {
            Selector::Default => f.write_str(&self.name),
            Selector::Named(s) => write!(f, "{}@{s}", self.name),
        }
    }
}

/// One version of a model, as the trusted metadata signs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: String,
    /// The signed target of `model.onnx` (length, hashes, card in `custom`, signing role).
    pub target: TargetInfo,
    /// Where it is downloaded from.
    pub url: String,
    /// Other files of this version (evaluation sets, profiles), by file name: the signed
    /// target and where it is downloaded from.
    pub files: BTreeMap<String, (TargetInfo, String)>,
}

impl ModelVersion {
    /// The model card (the target's signed `custom` field), if any.
    pub fn card(&self) -> Option<&Value> {
        self.target.custom.as_ref()
    }

    /// The signed SHA-256 (lower-case hex), if the target lists one.
    pub fn sha256(&self) -> Option<String> {
        self.target
            .hashes
            .get("sha256")
            .map(|h| h.to_ascii_lowercase())
    }
}

/// The state of a model's aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aliases {
    /// The model has no aliases document.
    None,
    /// The verified document's aliases (alias to version).
    Known(BTreeMap<String, String>),
    /// The document exists but could not be obtained or is malformed; alias references (and
    /// bare names) fail rather than guess.
    Unavailable(String),
}

/// A model and its versions.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    /// Model name.
    pub name: String,
    /// Versions, lowest first in the registry's version order.
    pub versions: Vec<ModelVersion>,
    /// Its aliases.
    pub aliases: Aliases,
    /// The signed target of its aliases document and where it is downloaded from, if there
    /// is one.
    pub aliases_target: Option<(TargetInfo, String)>,
}

impl ModelEntry {
    /// The highest version.
    pub fn latest(&self) -> Option<&ModelVersion> {
        self.versions.last()
    }

    /// A version by its exact name.
    pub fn version(&self, version: &str) -> Option<&ModelVersion> {
        self.versions.iter().find(|v| v.version == version)
    }
}

/// A reference resolved to one signed version.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The version.
    pub model: ModelVersion,
    /// The alias it was reached through, if any.
    pub alias: Option<String>,
}

/// Parses an aliases document (`{"name": ..., "aliases": {alias: version}}`): the name must be
/// the model's, every alias and version well formed. Unknown fields are ignored.
pub fn parse_aliases(model: &str, bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    match obj.get("name").and_then(Value::as_str) {
        Some(n) if n == model => {}
        Some(n) => return Err(format!("names model {n:?}, not {model:?}")),
        None => return Err("has no \"name\"".into()),
    }
    let aliases = obj
        .get("aliases")
        .and_then(Value::as_object)
        .ok_or("has no \"aliases\" object")?;
    let mut out = BTreeMap::new();
    for (alias, version) in aliases {
        let version = version
            .as_str()
            .ok_or_else(|| format!("alias {alias:?} is not a string"))?;
        if !valid_alias(alias) || !valid_version(version) {
            return Err(format!("malformed alias {alias:?} -> {version:?}"));
        }
        out.insert(alias.clone(), version.to_string());
    }
    Ok(out)
}

/// Checks a card's `name` and `version`, when present, against the target path.
pub fn check_card(card: Option<&Value>, name: &str, version: &str) -> Result<(), String> {
    let Some(card) = card else { return Ok(()) };
    let Some(obj) = card.as_object() else {
        return Err("the model card is not a JSON object".into());
    };
    if let Some(n) = obj.get("name") {
        if n.as_str() != Some(name) {
            return Err(format!("the card names model {n}, the path {name:?}"));
        }
    }
    if let Some(v) = obj.get("version") {
        // Publishers may write numeric versions as numbers.
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        if text != version {
            return Err(format!("the card says version {v}, the path {version:?}"));
        }
    }
    Ok(())
}

/// Every model the trusted metadata signs, with aliases, as one immutable value.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    /// Models by name.
    pub models: BTreeMap<String, ModelEntry>,
    /// Targets and roles left out, with the reason.
    pub problems: Vec<String>,
    /// The role that expires first and when (Unix seconds, and as written).
    pub expires: (String, i64, String),
    /// Whether it comes from stored metadata because the network failed.
    pub offline: bool,
    /// Whether it was accepted although expired (the explicit offline opt-in).
    pub expired: bool,
}

impl Catalogue {
    /// Builds the catalogue from resolved targets (each with its download URL). Targets that
    /// do not follow the naming convention are ignored; a model whose card contradicts its path
    /// is left out and reported.
    pub fn from_targets(targets: Vec<(TargetInfo, String)>) -> Catalogue {
        let mut models: BTreeMap<String, ModelEntry> = BTreeMap::new();
        let mut files: Vec<(String, String, String, TargetInfo, String)> = Vec::new();
        let mut problems = Vec::new();
        let entry = |models: &mut BTreeMap<String, ModelEntry>, name: &str| {
            models
                .entry(name.to_string())
                .or_insert_with(|| ModelEntry {
                    name: name.to_string(),
                    versions: Vec::new(),
                    aliases: Aliases::None,
                    aliases_target: None,
                });
        };
        for (info, url) in targets {
            match parse_path(&info.path) {
                Some(CatalogPath::Model { name, version }) => {
                    if let Err(e) = check_card(info.custom.as_ref(), &name, &version) {
                        problems.push(format!("{}: {e}", info.path));
                        continue;
                    }
                    entry(&mut models, &name);
                    if let Some(m) = models.get_mut(&name) {
                        m.versions.push(ModelVersion {
                            name: name.clone(),
                            version,
                            target: info,
                            url,
                            files: BTreeMap::new(),
                        });
                    }
                }
                Some(CatalogPath::Aliases { name }) => {
                    entry(&mut models, &name);
                    if let Some(m) = models.get_mut(&name) {
                        m.aliases_target = Some((info, url));
                        m.aliases = Aliases::Unavailable("not loaded yet".into());
                    }
                }
                Some(CatalogPath::File {
                    name,
                    version,
                    file,
                }) => files.push((name, version, file, info, url)),
                None => {}
            }
        }
        for (name, version, file, info, url) in files {
            if let Some(v) = models
                .get_mut(&name)
                .and_then(|m| m.versions.iter_mut().find(|v| v.version == version))
            {
                v.files.insert(file, (info, url));
            }
        }
        for m in models.values_mut() {
            m.versions
                .sort_by(|a, b| compare_versions(&a.version, &b.version));
        }
        Catalogue {
            models,
            problems,
            expires: (String::new(), i64::MAX, String::new()),
            offline: false,
            expired: false,
        }
    }

    /// Resolves a reference (`docs/registry-format.md`, "Aliases"): `name@x` is alias `x` when
    /// the model's signed aliases document has one, else version `x`; a bare name is the
    /// `production` alias, else the highest version. Codes `MODEL_NOT_FOUND`,
    /// `ALIASES_UNAVAILABLE`.
    pub fn resolve(&self, r: &ModelRef) -> Result<Resolved, RegistryError> {
        let not_found = |reason: String| RegistryError::ModelNotFound {
            reference: r.to_string(),
            reason,
        };
        let entry = self
            .models
            .get(&r.name)
            .ok_or_else(|| not_found("no such model in the registry".into()))?;
        let via_alias = |alias: &str, aliases: &BTreeMap<String, String>| {
            aliases.get(alias).map(|version| {
                entry
                    .version(version)
                    .map(|m| Resolved {
                        model: m.clone(),
                        alias: Some(alias.to_string()),
                    })
                    .ok_or_else(|| {
                        not_found(format!(
                            "alias {alias:?} points to version {version:?}, which is not signed"
                        ))
                    })
            })
        };
        let unavailable = |reason: &str| RegistryError::AliasesUnavailable {
            model: r.name.clone(),
            reason: reason.to_string(),
        };
        match &r.selector {
            Selector::Named(x) => {
                let direct = || {
                    entry.version(x).map(|m| Resolved {
                        model: m.clone(),
                        alias: None,
                    })
                };
                match &entry.aliases {
                    Aliases::Known(a) => via_alias(x, a)
                        .or_else(|| direct().map(Ok))
                        .unwrap_or_else(|| Err(not_found(format!("no alias or version {x:?}")))),
                    // Aliases cannot be named like versions (the publisher refuses it), so an
                    // existing version is unambiguous even when the aliases are unknown.
                    Aliases::Unavailable(why) => direct().ok_or_else(|| unavailable(why)),
                    Aliases::None => direct().ok_or_else(|| not_found(format!("no version {x:?}"))),
                }
            }
            Selector::Default => {
                let by_alias = match &entry.aliases {
                    Aliases::Known(a) => via_alias(DEFAULT_ALIAS, a),
                    Aliases::Unavailable(why) => return Err(unavailable(why)),
                    Aliases::None => None,
                };
                match by_alias {
                    Some(r) => r,
                    None => entry
                        .latest()
                        .map(|m| Resolved {
                            model: m.clone(),
                            alias: None,
                        })
                        .ok_or_else(|| not_found("the model has no versions".into())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_order_follows_the_format_doc() {
        let mut v = vec![
            "10", "9", "1.10", "1.9", "1.a", "1.0", "2", "01", "1", "b", "a",
        ];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            vec!["01", "1", "1.0", "1.9", "1.10", "1.a", "2", "9", "10", "a", "b"]
        );
        assert_eq!(
            compare_versions("99999999999999999999999", "100000000000000000000000"),
            std::cmp::Ordering::Less
        );
    }

    #[test]
    fn names_versions_and_refs() {
        assert!(valid_name("digits") && valid_name("a.b-c_d") && valid_name("0"));
        for bad in ["", "Digits", "-a", ".a", "a/b", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_version("1.0-rc1") && valid_version("V2"));
        assert!(valid_alias("production") && valid_alias("canary-2"));
        for bad in ["Prod", "1", "a.b", "", &"a".repeat(33)] {
            assert!(!valid_alias(bad), "{bad}");
        }
        assert!(!valid_version("..") && !valid_version("") && !valid_version(&"1".repeat(33)));
        assert_eq!(
            ModelRef::parse("digits@production").unwrap().selector,
            Selector::Named("production".into())
        );
        assert_eq!(
            ModelRef::parse("digits").unwrap().selector,
            Selector::Default
        );
        assert_eq!(
            ModelRef::parse("digits@1.0-rc").unwrap().selector,
            Selector::Named("1.0-rc".into())
        );
        for bad in ["", "@1", "digits@", "digits@../x", "Digits", "a@b@c", "a b"] {
            assert_eq!(ModelRef::parse(bad).unwrap_err().code(), "BAD_REF", "{bad}");
        }
    }

    #[test]
    fn aliases_documents() {
        let ok = br#"{"name":"digits","aliases":{"production":"1","staging":"2"},"x":1}"#;
        assert_eq!(parse_aliases("digits", ok).unwrap().len(), 2);
        for bad in [
            &br#"{"name":"other","aliases":{}}"#[..],
            br#"{"aliases":{}}"#,
            br#"{"name":"digits","aliases":{"p":1}}"#,
            br#"{"name":"digits","aliases":{"p":"../1"}}"#,
            br#"[]"#,
            b"\xff",
        ] {
            assert!(parse_aliases("digits", bad).is_err());
        }
    }

    use crate::error::ErrorCode;

    fn target(path: &str, custom: Option<Value>) -> (TargetInfo, String) {
        (
            TargetInfo {
                path: path.into(),
                length: 1,
                hashes: BTreeMap::from([("sha256".to_string(), "00".repeat(32))]),
                custom,
                role: "targets".into(),
            },
            format!("u/{path}"),
        )
    }

    #[test]
    fn resolution_rules() {
        let mut c = Catalogue::from_targets(vec![
            target("models/digits/1/model.onnx", None),
            target("models/digits/10/model.onnx", None),
            target("models/digits/9/model.onnx", None),
            target("models/digits/9/eval.csv", None),
            target("models/digits/aliases.json", None),
            target(
                "models/iris/1/model.onnx",
                Some(serde_json::json!({"name": "iris", "version": 1})),
            ),
            target(
                "models/bad/1/model.onnx",
                Some(serde_json::json!({"name": "other"})),
            ),
            target("README.txt", None),
        ]);
        assert_eq!(c.problems.len(), 1);
        assert!(!c.models.contains_key("bad"));
        let r = |s: &str| ModelRef::parse(s).unwrap();
        // Aliases document not loaded: alias and bare references fail closed.
        assert_eq!(
            c.resolve(&r("digits")).unwrap_err().code(),
            "ALIASES_UNAVAILABLE"
        );
        assert_eq!(c.resolve(&r("digits@9")).unwrap().model.version, "9");
        if let Some(m) = c.models.get_mut("digits") {
            m.aliases = Aliases::Known(BTreeMap::from([
                ("production".into(), "9".into()),
                ("old".into(), "3".into()),
            ]));
        }
        let p = c.resolve(&r("digits")).unwrap();
        assert_eq!(
            (p.model.version.as_str(), p.alias.as_deref()),
            ("9", Some("production"))
        );
        assert_eq!(
            c.resolve(&r("digits@production")).unwrap().model.version,
            "9"
        );
        assert_eq!(
            c.resolve(&r("digits@old")).unwrap_err().code(),
            "MODEL_NOT_FOUND"
        );
        assert_eq!(
            c.resolve(&r("digits@7")).unwrap_err().code(),
            "MODEL_NOT_FOUND"
        );
        assert_eq!(c.resolve(&r("nope")).unwrap_err().code(), "MODEL_NOT_FOUND");
        // No aliases document: a bare name is the highest version.
        assert_eq!(c.resolve(&r("iris")).unwrap().model.version, "1");
        let digits = &c.models["digits"];
        assert_eq!(
            digits
                .versions
                .iter()
                .map(|v| v.version.as_str())
                .collect::<Vec<_>>(),
            vec!["1", "9", "10"]
        );
        assert!(digits.version("9").unwrap().files.contains_key("eval.csv"));
    }
}
