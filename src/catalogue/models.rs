//! The models of a repository, built from its trusted targets: versions in [`compare_versions`]
//! order, each with its card and other files, and each model's aliases; and how a reference
//! resolves to one signed version. Owns [`Catalogue`]; imports the rest of `catalogue` and the
//! `tuf` target type. The publisher's checks, the CLI's `models`/`verify`, the registry client
//! and the bindings all read this one value.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    aliases_path, compare_versions, parse_path, Aliases, CatalogueError, CataloguePath, ModelCard,
    ModelRef, Rollout, RolloutChoice, RolloutClient, Selector, DEFAULT_ALIAS,
};
pub use crate::tuf::Expiry;
use crate::tuf::TargetInfo;

/// A signed target of the catalogue and where it is downloaded from.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedFile {
    /// The signed target (length, hashes, `custom`, signing role).
    pub target: TargetInfo,
    /// Its download URL (empty when the catalogue was built without one, as the publisher's
    /// checks do).
    pub url: String,
}

impl SignedFile {
    /// A target without a download URL (a catalogue read only for its content).
    pub fn unlocated(target: TargetInfo) -> Self {
        SignedFile {
            target,
            url: String::new(),
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
    /// The model card read from `custom` ([`ModelCard::from_custom`]); `None` when the target
    /// carries none (a repository another tool wrote).
    pub model_card: Option<ModelCard>,
    /// Other files of this version (evaluation sets, profiles), by file name.
    pub files: BTreeMap<String, SignedFile>,
}

impl ModelVersion {
    /// The model card as signed (the target's `custom` value), if any.
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

/// What is known of a model's aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasState {
    /// The model has no aliases document.
    None,
    /// The verified document's aliases (alias to version).
    Known(BTreeMap<String, String>),
    /// The document exists but could not be obtained or is malformed (or is not read yet);
    /// alias references (and bare names) fail rather than guess.
    Unavailable(String),
}

/// A model, its versions and aliases.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    /// Model name.
    pub name: String,
    /// Versions, lowest first ([`compare_versions`]).
    pub versions: Vec<ModelVersion>,
    /// Its aliases.
    pub aliases: AliasState,
    /// The staged rollouts of its aliases (alias to rollout), from the verified document.
    pub rollouts: BTreeMap<String, Rollout>,
    /// The signed target of its aliases document, if there is one.
    pub aliases_target: Option<SignedFile>,
}

impl ModelEntry {
    fn new(name: &str) -> Self {
        ModelEntry {
            name: name.to_string(),
            versions: Vec::new(),
            aliases: AliasState::None,
            rollouts: BTreeMap::new(),
            aliases_target: None,
        }
    }

    /// The highest version.
    pub fn latest(&self) -> Option<&ModelVersion> {
        self.versions.last()
    }

    /// A version by its exact name.
    pub fn version(&self, version: &str) -> Option<&ModelVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The aliases, when the verified document is known (empty otherwise).
    pub fn known_aliases(&self) -> BTreeMap<String, String> {
        match &self.aliases {
            AliasState::Known(a) => a.clone(),
            _ => BTreeMap::new(),
        }
    }

    /// Resolves a selector (`docs/registry-format.md`, "Aliases"): `x` is alias `x` when the
    /// signed aliases document has one, else version `x`; the default selector is the
    /// `production` alias, else the highest version. Codes `MODEL_NOT_FOUND`,
    /// `ALIASES_UNAVAILABLE`.
    pub fn resolve(&self, selector: &Selector) -> Result<Resolved, CatalogueError> {
        self.resolve_for(selector, None)
    }

    /// [`Self::resolve`] for a client of the alias's rollouts: when the reference goes through
    /// an alias with a rollout ([`Rollout::choose`]), `client` gets the version of its bucket
    /// and [`Resolved::rollout`] says why. Without a client (and for exact versions) a rollout
    /// changes nothing: the alias's own version.
    pub fn resolve_for(
        &self,
        selector: &Selector,
        client: Option<&RolloutClient<'_>>,
    ) -> Result<Resolved, CatalogueError> {
        let mut resolved = self.resolve_plain(selector)?;
        if let (Some(alias), Some(client)) = (resolved.alias.clone(), client) {
            if let Some(rollout) = self.rollouts.get(&alias) {
                let choice = rollout.choose(&alias, &resolved.model.version, client, |v| {
                    self.version(v).is_some()
                });
                if let Some(m) = self.version(&choice.chosen) {
                    resolved.model = m.clone();
                }
                resolved.rollout = Some(choice);
            }
        }
        Ok(resolved)
    }

    fn resolve_plain(&self, selector: &Selector) -> Result<Resolved, CatalogueError> {
        let r = ModelRef {
            name: self.name.clone(),
            selector: selector.clone(),
        };
        let not_found = |reason: String| CatalogueError::ModelNotFound {
            reference: r.to_string(),
            reason,
        };
        let unavailable = |reason: &str| CatalogueError::AliasesUnavailable {
            model: self.name.clone(),
            reason: reason.to_string(),
        };
        let via_alias = |alias: &str, aliases: &BTreeMap<String, String>| {
            aliases.get(alias).map(|version| {
                self.version(version)
                    .map(|m| Resolved::new(m, Some(alias)))
                    .ok_or_else(|| {
                        not_found(format!(
                            "alias {alias:?} points to version {version:?}, which is not signed"
                        ))
                    })
            })
        };
        match selector {
            Selector::Named(x) => {
                let direct = || self.version(x).map(|m| Resolved::new(m, None));
                match &self.aliases {
                    AliasState::Known(a) => via_alias(x, a)
                        .or_else(|| direct().map(Ok))
                        .unwrap_or_else(|| Err(not_found(format!("no alias or version {x:?}")))),
                    // Aliases cannot be named like versions (the publisher refuses it), so an
                    // existing version is unambiguous even when the aliases are unknown.
                    AliasState::Unavailable(why) => direct().ok_or_else(|| unavailable(why)),
                    AliasState::None => {
                        direct().ok_or_else(|| not_found(format!("no version {x:?}")))
                    }
                }
            }
            Selector::Default => {
                let by_alias = match &self.aliases {
                    AliasState::Known(a) => via_alias(DEFAULT_ALIAS, a),
                    AliasState::Unavailable(why) => return Err(unavailable(why)),
                    AliasState::None => None,
                };
                by_alias.unwrap_or_else(|| {
                    self.latest()
                        .map(|m| Resolved::new(m, None))
                        .ok_or_else(|| not_found("the model has no versions".into()))
                })
            }
        }
    }
}

/// A reference resolved to one signed version.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The version.
    pub model: ModelVersion,
    /// The alias it was reached through, if any.
    pub alias: Option<String>,
    /// The alias's rollout and this client's place in it, when the alias has one.
    pub rollout: Option<RolloutChoice>,
}

impl Resolved {
    fn new(model: &ModelVersion, alias: Option<&str>) -> Self {
        Resolved {
            model: model.clone(),
            alias: alias.map(str::to_string),
            rollout: None,
        }
    }
}

/// Every model the trusted metadata signs, with aliases, as one immutable value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalogue {
    /// Models by name.
    pub models: BTreeMap<String, ModelEntry>,
    /// Targets outside the naming convention (ignored).
    pub other_targets: Vec<String>,
    /// Targets, roles and aliases left out or dropped, with the reason (a bad card, a file
    /// without its model, an alias to a version that is not signed).
    pub problems: Vec<String>,
    /// The role that expires first.
    pub expires: Expiry,
    /// Whether it comes from stored metadata because the network failed.
    pub offline: bool,
    /// Whether it was accepted although expired (the explicit offline opt-in).
    pub expired: bool,
}

impl Catalogue {
    /// Builds the catalogue from trusted targets. Targets outside the naming convention are
    /// listed in `other_targets`; a version whose card is malformed or contradicts its path is
    /// left out, and a file of a version that has no `model.onnx` is dropped, both reported in
    /// `problems`. Aliases documents are read later ([`Catalogue::set_aliases`]): until then a
    /// model that has one has [`AliasState::Unavailable`].
    pub fn from_targets(targets: impl IntoIterator<Item = SignedFile>) -> Catalogue {
        let mut cat = Catalogue::default();
        let mut files: Vec<(SignedFile, String, String, String)> = Vec::new();
        for t in targets {
            match parse_path(&t.target.path) {
                Some(CataloguePath::Model { name, version }) => {
                    let card = match t.target.custom {
                        None => None,
                        Some(_) => {
                            match ModelCard::from_custom(&t.target.path, t.target.custom.as_ref()) {
                                Ok(card) => Some(card),
                                Err(e) => {
                                    cat.problems.push(e.to_string());
                                    continue;
                                }
                            }
                        }
                    };
                    cat.entry(&name).versions.push(ModelVersion {
                        name,
                        version,
                        target: t.target,
                        url: t.url,
                        model_card: card,
                        files: BTreeMap::new(),
                    });
                }
                Some(CataloguePath::File {
                    name,
                    version,
                    file,
                }) => files.push((t, name, version, file)),
                Some(CataloguePath::Aliases { name }) => {
                    let m = cat.entry(&name);
                    m.aliases_target = Some(t);
                    m.aliases = AliasState::Unavailable("not loaded yet".into());
                }
                None => cat.other_targets.push(t.target.path),
            }
        }
        cat.attach_files(files);
        for m in cat.models.values_mut() {
            m.versions
                .sort_by(|a, b| compare_versions(&a.version, &b.version));
        }
        cat.check_card_files();
        cat
    }

    fn entry(&mut self, name: &str) -> &mut ModelEntry {
        self.models
            .entry(name.to_string())
            .or_insert_with(|| ModelEntry::new(name))
    }

    fn attach_files(&mut self, files: Vec<(SignedFile, String, String, String)>) {
        for (t, name, version, file) in files {
            let v = self
                .models
                .get_mut(&name)
                .and_then(|m| m.versions.iter_mut().find(|v| v.version == version));
            match v {
                Some(v) => {
                    v.files.insert(file, t);
                }
                None => self
                    .problems
                    .push(format!("{}: no model.onnx for this version", t.target.path)),
            }
        }
    }

    /// Reports card `files` entries that name no signed target, and aliases documents of
    /// models without a version.
    fn check_card_files(&mut self) {
        for m in self.models.values() {
            if m.versions.is_empty() {
                self.problems.push(format!(
                    "{}: aliases for a model with no version",
                    aliases_path(&m.name)
                ));
            }
            for v in &m.versions {
                let Some(card) = &v.model_card else { continue };
                for (role, path) in &card.files {
                    let listed = path
                        .rsplit_once('/')
                        .is_some_and(|(_, f)| v.files.contains_key(f));
                    if !listed {
                        self.problems.push(format!(
                            "{}: card files.{role} names {path}, which is not a signed target",
                            v.target.path
                        ));
                    }
                }
            }
        }
    }

    /// Sets a model's aliases from its verified aliases document ([`Aliases::from_bytes`]). An
    /// alias to a version that is not signed is kept (resolving it fails with
    /// `MODEL_NOT_FOUND`, naming the version) and reported.
    pub fn set_aliases(&mut self, doc: Aliases) {
        let Some(m) = self.models.get_mut(&doc.name) else {
            return;
        };
        for (alias, version) in &doc.aliases {
            if m.version(version).is_none() {
                self.problems.push(format!(
                    "{}: alias {alias} names version {version}, which is not published",
                    aliases_path(&doc.name)
                ));
            }
        }
        for (alias, rollout) in &doc.rollouts {
            for stage in &rollout.stages {
                for version in stage.weights.keys() {
                    if m.version(version).is_none() {
                        self.problems.push(format!(
                            "{}: the rollout of {alias} names version {version}, which is not \
                             published (its clients stay on the alias's version)",
                            aliases_path(&doc.name)
                        ));
                    }
                }
            }
        }
        m.aliases = AliasState::Known(doc.aliases);
        m.rollouts = doc.rollouts;
    }

    /// The publisher's rule, for registries it wrote: every version has a model card. Versions
    /// without one are dropped and reported (code `BAD_CARD` in the message's words).
    pub fn require_cards(&mut self) {
        for m in self.models.values_mut() {
            let problems = &mut self.problems;
            m.versions.retain(|v| {
                let keep = v.model_card.is_some();
                if !keep {
                    let e = CatalogueError::BadCard {
                        path: v.target.path.clone(),
                        reason: "the target has no custom field".into(),
                    };
                    problems.push(e.to_string());
                }
                keep
            });
        }
    }

    /// Marks a model's aliases as unavailable (the document could not be read or verified),
    /// and reports why.
    pub fn aliases_unavailable(&mut self, name: &str, why: String) {
        if let Some(m) = self.models.get_mut(name) {
            self.problems.push(format!("{}: {why}", aliases_path(name)));
            m.aliases = AliasState::Unavailable(why);
        }
    }

    /// Resolves a reference ([`ModelEntry::resolve`]). Codes `MODEL_NOT_FOUND`,
    /// `ALIASES_UNAVAILABLE`.
    pub fn resolve(&self, r: &ModelRef) -> Result<Resolved, CatalogueError> {
        self.resolve_for(r, None)
    }

    /// Resolves a reference for a client of the rollouts ([`ModelEntry::resolve_for`]).
    pub fn resolve_for(
        &self,
        r: &ModelRef,
        client: Option<&RolloutClient<'_>>,
    ) -> Result<Resolved, CatalogueError> {
        self.models
            .get(&r.name)
            .ok_or_else(|| CatalogueError::ModelNotFound {
                reference: r.to_string(),
                reason: "no such model in the registry".into(),
            })?
            .resolve_for(&r.selector, client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn target(path: &str, custom: Option<Value>) -> SignedFile {
        SignedFile {
            target: TargetInfo {
                path: path.into(),
                length: 1,
                hashes: BTreeMap::from([("sha256".to_string(), "00".repeat(32))]),
                custom,
                role: "targets".into(),
            },
            url: format!("u/{path}"),
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
    fn changes_name_added_removed_resigned_versions_and_moved_aliases() {
        let aliases = |pairs: &[(&str, &str)]| Aliases {
            name: "iris".into(),
            aliases: pairs
                .iter()
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .collect(),
            rollouts: BTreeMap::new(),
        };
        let mut before = Catalogue::from_targets(vec![
            target("models/iris/1/model.onnx", Some(card("iris", "1"))),
            target("models/iris/2/model.onnx", Some(card("iris", "2"))),
        ]);
        before.set_aliases(aliases(&[("production", "1"), ("staging", "2")]));
        let mut resigned = target("models/iris/2/model.onnx", Some(card("iris", "2")));
        resigned.target.length = 2;
        let mut after = Catalogue::from_targets(vec![
            resigned,
            target("models/iris/3/model.onnx", Some(card("iris", "3"))),
            target("models/num/1/model.onnx", Some(card("num", "1"))),
        ]);
        after.set_aliases(aliases(&[("production", "3"), ("canary", "2")]));
        let c = after.changes(&before);
        let ids = |v: &[VersionChange]| -> Vec<String> {
            v.iter()
                .map(|c| format!("{}@{}", c.model, c.version))
                .collect()
        };
        assert_eq!(ids(&c.added), ["iris@3", "num@1"]);
        assert_eq!(ids(&c.removed), ["iris@1"]);
        assert_eq!(ids(&c.changed), ["iris@2"]);
        let moved: Vec<String> = c
            .aliases
            .iter()
            .map(|a| format!("{} {:?}->{:?}", a.alias, a.from, a.to))
            .collect();
        assert_eq!(
            moved,
            [
                "canary None->Some(\"2\")",
                "production Some(\"1\")->Some(\"3\")",
                "staging Some(\"2\")->None"
            ]
        );
        assert!(after.changes(&after).is_empty());
    }

    #[test]
    fn building_keeps_good_versions_and_reports_the_rest() {
        let cat = Catalogue::from_targets(vec![
            target("models/iris/10/model.onnx", Some(card("iris", "10"))),
            target("models/iris/9/model.onnx", Some(card("iris", "9"))),
            target("models/iris/9/profile.json", None),
            target("models/iris/8/eval.csv", None),
            target("models/iris/2.0.0-rc1/model.onnx", None),
            target("models/iris/2.0.0/model.onnx", None),
            target(
                "models/num/1/model.onnx",
                Some(json!({"name": "num", "version": 1})),
            ),
            target("models/bad/1/model.onnx", Some(card("other", "1"))),
            target("models/worse/1/model.onnx", Some(json!({"inputs": 3}))),
            target("README.txt", None),
        ]);
        let iris = &cat.models["iris"];
        let versions: Vec<&str> = iris.versions.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(versions, ["2.0.0-rc1", "2.0.0", "9", "10"]);
        let v9 = iris.version("9").unwrap();
        assert_eq!(v9.model_card.as_ref().unwrap().metrics["accuracy"], 0.9);
        assert_eq!(v9.files["profile.json"].url, "u/models/iris/9/profile.json");
        assert!(iris.version("2.0.0").unwrap().model_card.is_none());
        assert_eq!(
            cat.models["num"].versions[0]
                .model_card
                .as_ref()
                .unwrap()
                .version,
            "1"
        );
        assert!(!cat.models.contains_key("bad") && !cat.models.contains_key("worse"));
        assert_eq!(cat.other_targets, ["README.txt"]);
        let problem = |s: &str| cat.problems.iter().any(|p| p.contains(s));
        assert!(problem("other@1") && problem("models/worse/1/model.onnx"));
        assert!(problem("models/iris/8/eval.csv: no model.onnx"));
        assert!(problem("models/iris/10/model.onnx: card files.profile"));
        assert_eq!(cat.problems.len(), 4, "{:?}", cat.problems);
    }

    #[test]
    fn resolution_rules() {
        let mut c = Catalogue::from_targets(vec![
            target("models/digits/1/model.onnx", None),
            target("models/digits/10/model.onnx", None),
            target("models/digits/9/model.onnx", None),
            target("models/digits/9/eval.csv", None),
            target("models/digits/aliases.json", None),
            target("models/iris/1/model.onnx", None),
        ]);
        let r = |s: &str| ModelRef::parse(s).unwrap();
        // Aliases document not loaded: alias and bare references fail closed.
        assert_eq!(
            c.resolve(&r("digits")).unwrap_err().code(),
            "ALIASES_UNAVAILABLE"
        );
        assert_eq!(c.resolve(&r("digits@9")).unwrap().model.version, "9");
        let doc = Aliases {
            name: "digits".into(),
            aliases: BTreeMap::from([
                ("production".into(), "9".into()),
                ("old".into(), "3".into()),
            ]),
            rollouts: BTreeMap::new(),
        };
        c.set_aliases(doc);
        assert!(c.problems.iter().any(|p| p.contains("alias old")));
        let p = c.resolve(&r("digits")).unwrap();
        assert_eq!(
            (p.model.version.as_str(), p.alias.as_deref()),
            ("9", Some("production"))
        );
        assert_eq!(
            c.resolve(&r("digits@production")).unwrap().model.version,
            "9"
        );
        for missing in ["digits@old", "digits@7", "nope"] {
            assert_eq!(
                c.resolve(&r(missing)).unwrap_err().code(),
                "MODEL_NOT_FOUND"
            );
        }
        // No aliases document: a bare name is the highest version.
        assert_eq!(c.resolve(&r("iris")).unwrap().model.version, "1");
        c.aliases_unavailable("digits", "network".into());
        assert_eq!(
            c.resolve(&r("digits@production")).unwrap_err().code(),
            "ALIASES_UNAVAILABLE"
        );
        assert_eq!(c.resolve(&r("digits@10")).unwrap().model.version, "10");
    }

    #[test]
    fn an_alias_with_a_rollout_resolves_per_client_and_exact_versions_never_roll_out() {
        let mut c = Catalogue::from_targets(vec![
            target("models/iris/1/model.onnx", Some(card("iris", "1"))),
            target("models/iris/2/model.onnx", Some(card("iris", "2"))),
            target("models/iris/aliases.json", None),
        ]);
        let text = r#"{"name": "iris", "aliases": {"production": "1"},
            "rollouts": {"production": {"to": "2", "salt": "abc", "gate": true,
              "stages": [{"start": "2026-12-01T00:00:00Z", "weights": {"1": 50, "2": 50}}]}}}"#;
        let doc = Aliases::from_bytes("models/iris/aliases.json", text.as_bytes()).unwrap();
        // The document survives its own serialisation (what the publisher signs).
        assert_eq!(
            Aliases::from_bytes("models/iris/aliases.json", &doc.to_bytes()).unwrap(),
            doc
        );
        c.set_aliases(doc);
        let at = |id: &str, r: &str| {
            let client = RolloutClient {
                id: Some(id),
                version: None,
                now: 1_796_083_300,
            };
            c.resolve_for(&ModelRef::parse(r).unwrap(), Some(&client))
                .unwrap()
        };
        let chosen: std::collections::BTreeSet<String> = (0..64)
            .map(|i| at(&format!("d{i}"), "iris@production").model.version)
            .collect();
        assert_eq!(chosen.len(), 2, "both versions are served");
        let one = at("d1", "iris");
        let choice = one.rollout.clone().unwrap();
        assert_eq!(choice.chosen, one.model.version);
        assert_eq!((choice.baseline.as_str(), choice.gate), ("1", true));
        assert_eq!(at("d1", "iris@1").rollout, None);
        assert_eq!(at("d1", "iris@1").model.version, "1");
        // Without a client, the alias's own version.
        assert_eq!(
            c.resolve(&ModelRef::parse("iris").unwrap())
                .unwrap()
                .model
                .version,
            "1"
        );
        // A rollout of an alias the document does not define, or a broken one, is refused.
        for bad in [
            r#"{"name": "iris", "aliases": {}, "rollouts": {"production":
               {"to": "2", "salt": "a", "stages": [{"weights": {"2": 1}}]}}}"#,
            r#"{"name": "iris", "aliases": {"production": "1"}, "rollouts": {"production":
               {"to": "2", "salt": "a", "stages": []}}}"#,
            r#"{"name": "iris", "aliases": {"production": "1"}, "rollouts": {"production":
               {"to": "2", "salt": "a", "stages": [{"weights": {"2": -1}}]}}}"#,
        ] {
            let e = Aliases::from_bytes("models/iris/aliases.json", bad.as_bytes()).unwrap_err();
            assert_eq!(e.code(), "BAD_ALIASES", "{bad}");
        }
    }
}

/// A version added, removed or re-signed with other bytes between two catalogues.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VersionChange {
    /// The model.
    pub model: String,
    /// The version.
    pub version: String,
}

/// An alias that points elsewhere between two catalogues (`None`: it did not exist, or no
/// longer does).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AliasChange {
    /// The model.
    pub model: String,
    /// The alias.
    pub alias: String,
    /// The version it pointed to before.
    pub from: Option<String>,
    /// The version it points to now.
    pub to: Option<String>,
}

/// A rollout started, changed (advanced, paused, resumed) or ended between two catalogues.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RolloutChange {
    /// The model.
    pub model: String,
    /// The alias.
    pub alias: String,
    /// The rollout before (`None`: there was none).
    pub from: Option<Rollout>,
    /// The rollout now (`None`: it ended: completed or aborted).
    pub to: Option<Rollout>,
}

/// What changed from one catalogue to the next ([`Catalogue::changes`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CatalogueChanges {
    /// Versions signed now that were not before.
    pub added: Vec<VersionChange>,
    /// Versions no longer signed.
    pub removed: Vec<VersionChange>,
    /// Versions signed before and now with other bytes (another digest or length).
    pub changed: Vec<VersionChange>,
    /// Aliases that moved, appeared or disappeared (aliases that could not be read on
    /// either side are left out).
    pub aliases: Vec<AliasChange>,
    /// Rollouts that started, changed or ended (same rule as `aliases`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rollouts: Vec<RolloutChange>,
}

impl CatalogueChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.aliases.is_empty()
            && self.rollouts.is_empty()
    }
}

impl Catalogue {
    /// What changed from `before` to `self`, model by model in name order.
    pub fn changes(&self, before: &Catalogue) -> CatalogueChanges {
        let mut out = CatalogueChanges::default();
        let id = |m: &str, v: &str| VersionChange {
            model: m.to_string(),
            version: v.to_string(),
        };
        let empty = BTreeMap::new();
        fn known<'a>(
            m: Option<&'a ModelEntry>,
            empty: &'a BTreeMap<String, String>,
        ) -> Option<&'a BTreeMap<String, String>> {
            match m.map(|m| &m.aliases) {
                Some(AliasState::Known(a)) => Some(a),
                Some(AliasState::None) | None => Some(empty),
                Some(AliasState::Unavailable(_)) => None,
            }
        }
        let names: std::collections::BTreeSet<&String> =
            self.models.keys().chain(before.models.keys()).collect();
        for name in names {
            let (old, new) = (before.models.get(name), self.models.get(name));
            let versions = |m: Option<&ModelEntry>| -> BTreeMap<String, (Option<String>, u64)> {
                m.map(|m| {
                    m.versions
                        .iter()
                        .map(|v| (v.version.clone(), (v.sha256(), v.target.length)))
                        .collect()
                })
                .unwrap_or_default()
            };
            let (was, now) = (versions(old), versions(new));
            for (v, signed) in &now {
                match was.get(v) {
                    None => out.added.push(id(name, v)),
                    Some(s) if s != signed => out.changed.push(id(name, v)),
                    Some(_) => {}
                }
            }
            for v in was.keys().filter(|v| !now.contains_key(*v)) {
                out.removed.push(id(name, v));
            }
            if let (Some(a), Some(b)) = (known(old, &empty), known(new, &empty)) {
                let aliases: std::collections::BTreeSet<&String> =
                    a.keys().chain(b.keys()).collect();
                for alias in aliases {
                    let (from, to) = (a.get(alias), b.get(alias));
                    if from != to {
                        out.aliases.push(AliasChange {
                            model: name.clone(),
                            alias: alias.clone(),
                            from: from.cloned(),
                            to: to.cloned(),
                        });
                    }
                }
                let none = BTreeMap::new();
                let ra = old.map_or(&none, |m| &m.rollouts);
                let rb = new.map_or(&none, |m| &m.rollouts);
                let aliases: std::collections::BTreeSet<&String> =
                    ra.keys().chain(rb.keys()).collect();
                for alias in aliases {
                    let (from, to) = (ra.get(alias), rb.get(alias));
                    if from != to {
                        out.rollouts.push(RolloutChange {
                            model: name.clone(),
                            alias: alias.clone(),
                            from: from.cloned(),
                            to: to.cloned(),
                        });
                    }
                }
            }
        }
        out
    }
}
