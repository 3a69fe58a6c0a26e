//! Model-level edits: publishing a version (model, card, extra files, aliases) and moving
//! aliases, following `docs/registry-format.md`.

use crate::error::ErrorCode as _;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{FileBytes, PublishError, Repository};
use crate::catalogue::{self, Aliases, CataloguePath, ModelCard};
use crate::clock::UnixSeconds;
use crate::engine::{self, Model, ModelSchema};
use crate::eval::data::{read_all, ColumnSelection, DataFormat, Limits};
use crate::eval::{Profile, ProfileBuilder, ProfileConfig};
use crate::tuf::time::format_expires;

/// A model version to publish.
#[derive(Debug, Clone, Default)]
pub struct Release {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: String,
    /// The ONNX model bytes.
    pub model: Vec<u8>,
    /// The card fields given by the publisher (`--card card.json`); inputs and outputs, name,
    /// version and format are filled in (and checked when given).
    pub card: Option<Value>,
    /// Other files of the version, by file name (`profile.json`, `eval.csv`, ...).
    pub files: Vec<FileBytes>,
    /// Aliases to point at this version.
    pub aliases: Vec<String>,
    /// The team role that signs it (`None`: the top-level targets role).
    pub role: Option<String>,
    /// Replace a version already published with other content.
    pub force: bool,
    /// Publish a model the engine cannot load (unsupported operators, failed analysis); the
    /// card records it under `compatibility` (`forced: true` and the error). A model that
    /// disagrees with its card is refused regardless.
    pub force_unloadable: bool,
}

/// What [`Repository::publish`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// A new version.
    Published,
    /// The version was already published with the same content (aliases may have moved).
    Unchanged,
    /// An existing version was replaced (`force`).
    Replaced,
}

/// The card key of an extra file: `profile.json` is `profile`, `eval.csv` is
/// `evaluation_set`, anything else its own name.
fn file_role(file: &str) -> String {
    match file {
        catalogue::PROFILE_FILE => "profile".into(),
        catalogue::EVAL_SET_FILE => "evaluation_set".into(),
        other => other.to_string(),
    }
}

/// A table's reference data profile and how many malformed rows it left out.
#[derive(Debug, Clone)]
pub struct TableProfile {
    /// The profile.
    pub profile: Profile,
    /// Malformed rows skipped.
    pub skipped: u64,
}

/// The reference data profile of a table (CSV or JSON), as `edge-registry profile` computes it
/// ([`ProfileBuilder`] with default settings).
pub fn profile_from_table(format: DataFormat, bytes: &[u8]) -> Result<TableProfile, PublishError> {
    let table = read_all(format, ColumnSelection::All, Limits::default(), bytes)?;
    let mut builder = ProfileBuilder::new(table.columns, ProfileConfig::default())?;
    let mut skipped = 0u64;
    for row in table.rows {
        match row {
            Ok(r) => builder.add_row(&r.cells),
            Err(_) => skipped += 1,
        }
    }
    Ok(TableProfile {
        profile: builder.finish(),
        skipped,
    })
}

/// What the engine made of a release's model: the schema clients check against and the
/// card's `compatibility` record.
struct CheckedModel {
    schema: ModelSchema,
    compatibility: Value,
}

/// The model must load (unless forced), and match the schema a card declares. The card's
/// inputs and outputs are those of the loaded model (the schema clients check against).
fn check_model(r: &Release) -> Result<CheckedModel, PublishError> {
    let declared = match &r.card {
        Some(c) if c.get("inputs").is_some() || c.get("outputs").is_some() => {
            let s: ModelSchema = serde_json::from_value(serde_json::json!({
                "inputs": c.get("inputs").cloned().unwrap_or(Value::Array(vec![])),
                "outputs": c.get("outputs").cloned().unwrap_or(Value::Array(vec![])),
            }))
            .map_err(|e| PublishError::BadCard(format!("inputs/outputs: {e}")))?;
            Some(s)
        }
        _ => None,
    };
    match Model::load(&r.model, declared.as_ref()) {
        Ok(model) => Ok(CheckedModel {
            schema: model.schema().clone(),
            compatibility: serde_json::json!({
                "loaded": true,
                "plan": model.plan_info().kind.name(),
            }),
        }),
        Err(e)
            if r.force_unloadable && !matches!(e, engine::EngineError::SchemaMismatch { .. }) =>
        {
            let schema =
                engine::read_schema(&r.model).or_else(|_| engine::declared_schema(&r.model))?;
            Ok(CheckedModel {
                schema,
                compatibility: serde_json::json!({
                    "loaded": false,
                    "forced": true,
                    "error": { "code": e.code(), "message": e.to_string() },
                }),
            })
        }
        Err(e) => Err(e.into()),
    }
}

impl Repository {
    /// The role that signs model `name` (where its versions are), if it is published.
    pub fn model_role(&self, name: &str) -> Option<String> {
        self.all_targets()
            .find(|t| match catalogue::parse_path(t.path) {
                Some(CataloguePath::Model { name: n, .. }) => n == name,
                _ => false,
            })
            .map(|t| t.role.to_string())
    }

    /// The published versions of model `name`, in version order.
    pub fn versions(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .all_targets()
            .filter_map(|t| match catalogue::parse_path(t.path) {
                Some(CataloguePath::Model { name: n, version }) if n == name => Some(version),
                _ => None,
            })
            .collect();
        v.sort_by(|a, b| catalogue::compare_versions(a, b));
        v
    }

    /// Checks a release's names against the repository (file names, aliases, the role that
    /// publishes the model) and returns the role it goes to.
    fn check_release(&self, r: &Release) -> Result<String, PublishError> {
        catalogue::check_model_name(&r.name)?;
        catalogue::check_version(&r.version)?;
        let mut seen = std::collections::BTreeSet::new();
        for f in &r.files {
            let file = &f.path;
            catalogue::check_file_name(file)?;
            if !seen.insert(file.as_str()) {
                return Err(PublishError::InvalidArgument(format!(
                    "file {file} is given twice"
                )));
            }
        }
        if let Some(doc) = self.aliases(&r.name) {
            if doc.aliases.contains_key(&r.version) {
                return Err(PublishError::Conflict(format!(
                    "{} has an alias named {}: a version cannot have an alias's name",
                    r.name, r.version
                )));
            }
        }
        let role = self.release_role(&r.name, r.role.as_deref())?;
        if let Some(existing) = self.model_role(&r.name) {
            if existing != role {
                return Err(PublishError::Conflict(format!(
                    "{} is published by role {existing}, not {role}",
                    r.name
                )));
            }
        }
        Ok(role)
    }

    /// Replaces the targets of the release's version (`old_files`) with the model (and its
    /// card) and the release's files, signed by `role`.
    fn put_version(
        &mut self,
        role: &str,
        r: &Release,
        card: &Value,
        old_files: &[(String, Value)],
    ) -> Result<(), PublishError> {
        for (p, _) in old_files {
            self.remove_target(role, p)?;
        }
        let model_path = catalogue::model_path(&r.name, &r.version);
        self.add_target(role, &model_path, &r.model, Some(card.clone()))?;
        for f in &r.files {
            let path = catalogue::file_path(&r.name, &r.version, &f.path);
            self.add_target(role, &path, &f.bytes, None)?;
        }
        Ok(())
    }

    /// The targets under `dir` (a version's directory) and their entries, in path order.
    fn version_files(&self, dir: &str) -> Vec<(String, Value)> {
        self.all_targets()
            .filter(|t| t.path.starts_with(dir))
            .map(|t| (t.path.to_string(), t.entry.clone()))
            .collect()
    }

    /// The role a release goes to, after checking that it may hold the model: a team role
    /// only for `models/TEAM-*`, and the top-level role never inside a team's namespace (it
    /// would shadow the team's targets).
    fn release_role(&self, name: &str, role: Option<&str>) -> Result<String, PublishError> {
        let path = catalogue::model_path(name, "1");
        match role {
            Some(team) => {
                catalogue::check_team(team)?;
                if !self.delegated_roles().iter().any(|r| r == team) {
                    return Err(PublishError::Role {
                        role: team.to_string(),
                        reason: "does not exist (create it with `edge-registry delegate`)".into(),
                        exists: false,
                    });
                }
                if !self.role_may_sign(team, &path) {
                    return Err(PublishError::NotDelegated {
                        role: team.to_string(),
                        path: format!("models/{name}/..."),
                        patterns: catalogue::team_patterns(team).join(", "),
                    });
                }
                Ok(team.to_string())
            }
            None => {
                if let Some(team) = self
                    .delegated_roles()
                    .into_iter()
                    .find(|t| self.role_may_sign(t, &path))
                {
                    return Err(PublishError::Conflict(format!(
                        "models/{name} is in team {team}'s namespace: publish it with --role {team}"
                    )));
                }
                Ok("targets".into())
            }
        }
    }

    /// Builds the card of a release: the publisher's fields, then name, version, format, the
    /// graph's inputs and outputs, `files` and `created`; floats become strings.
    fn build_card(
        r: &Release,
        schema: &ModelSchema,
        created: String,
    ) -> Result<Value, PublishError> {
        let mut card: Map<String, Value> = match &r.card {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(PublishError::BadCard(
                    "the card is not a JSON object".into(),
                ))
            }
        };
        for (key, want) in [("name", &r.name), ("version", &r.version)] {
            match card.get(key) {
                None => {}
                Some(Value::String(s)) if s == want => {}
                Some(other) => {
                    return Err(PublishError::BadCard(format!(
                        "the card's {key} is {other}, the command line says {want:?}"
                    )))
                }
            }
            card.insert(key.into(), Value::String(want.clone()));
        }
        match card.get("format") {
            None => {}
            Some(Value::String(f)) if f == catalogue::FORMAT_ONNX => {}
            Some(other) => {
                return Err(PublishError::BadCard(format!(
                    "format {other} (only onnx models are published)"
                )))
            }
        }
        card.insert("format".into(), catalogue::FORMAT_ONNX.into());
        let to_value = |v: &[engine::TensorSpec]| serde_json::to_value(v).unwrap_or_default();
        card.insert("inputs".into(), to_value(&schema.inputs));
        card.insert("outputs".into(), to_value(&schema.outputs));
        let mut files: BTreeMap<String, Value> = match card.get("files") {
            None => BTreeMap::new(),
            Some(Value::Object(m)) => m.clone().into_iter().collect(),
            Some(_) => return Err(PublishError::BadCard("\"files\" is not an object".into())),
        };
        for f in &r.files {
            files.insert(
                file_role(&f.path),
                Value::String(catalogue::file_path(&r.name, &r.version, &f.path)),
            );
        }
        if !files.is_empty() {
            card.insert("files".into(), Value::Object(files.into_iter().collect()));
        }
        card.entry("created").or_insert(Value::String(created));
        let card = catalogue::without_floats(Value::Object(card));
        let path = catalogue::model_path(&r.name, &r.version);
        let parsed = ModelCard::from_custom(&path, Some(&card))?;
        for (role, file) in &parsed.files {
            let listed = r
                .files
                .iter()
                .any(|f| catalogue::file_path(&r.name, &r.version, &f.path) == *file);
            if !listed {
                return Err(PublishError::BadCard(format!(
                    "files.{role} names {file}, which this release does not publish"
                )));
            }
        }
        Ok(card)
    }

    /// Publishes a model version: checks the names, loads the model with the engine (a model
    /// that does not load is refused), checks a declared schema against the graph, writes the
    /// card into the `model.onnx` target's `custom`, adds the extra files and points the
    /// aliases at the version. Publishing identical content again changes nothing; other
    /// content for a published version is refused unless `force`.
    pub fn publish(
        &mut self,
        r: &Release,
        now: UnixSeconds,
    ) -> Result<PublishOutcome, PublishError> {
        let role = self.check_release(r)?;
        let checked = check_model(r)?;
        let model_path = catalogue::model_path(&r.name, &r.version);
        let existing = self.target(&model_path).map(|t| t.entry.clone());
        // Reuse the published `created` so republishing the same release is a no-op.
        let created = existing
            .as_ref()
            .and_then(|e| e.get("custom"))
            .and_then(|c| c.get("created"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format_expires(now));
        let mut card = Self::build_card(r, &checked.schema, created)?;
        if let Some(obj) = card.as_object_mut() {
            obj.insert("compatibility".into(), checked.compatibility);
        }

        let dir = format!("{}/{}/{}/", catalogue::MODELS_DIR, r.name, r.version);
        let old_files = self.version_files(&dir);
        // A version already (partly) published is put on a copy first: the same content is
        // no change, other content needs `force`, and then the copy is kept (the model is
        // hashed once).
        let outcome = if existing.is_some() || !old_files.is_empty() {
            let mut trial = self.clone();
            trial.put_version(&role, r, &card, &old_files)?;
            if trial.version_files(&dir) == old_files {
                PublishOutcome::Unchanged
            } else if !r.force {
                return Err(PublishError::VersionExists {
                    name: r.name.clone(),
                    version: r.version.clone(),
                });
            } else {
                *self = trial;
                PublishOutcome::Replaced
            }
        } else {
            self.put_version(&role, r, &card, &old_files)?;
            PublishOutcome::Published
        };
        for alias in &r.aliases {
            self.set_alias(&r.name, alias, &r.version)?;
        }
        Ok(outcome)
    }

    /// Points `alias` of model `name` at `version` (a published version) by rewriting the
    /// model's aliases document, signed by the role that signs the model. Returns whether
    /// anything changed.
    pub fn set_alias(
        &mut self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<bool, PublishError> {
        catalogue::check_model_name(name)?;
        catalogue::check_alias(alias)?;
        catalogue::check_version(version)?;
        let role = self.signing_role(name)?;
        let versions = self.versions(name);
        if !versions.iter().any(|v| v == version) {
            return Err(PublishError::NotFound {
                what: "version",
                name: format!("{name}@{version}"),
            });
        }
        if versions.iter().any(|v| v == alias) {
            return Err(PublishError::Conflict(format!(
                "{name} has a version named {alias}: an alias cannot have a version's name"
            )));
        }
        let mut doc = self
            .aliases(name)
            .cloned()
            .unwrap_or_else(|| Aliases::new(name));
        if doc.aliases.get(alias).map(String::as_str) == Some(version) {
            return Ok(false);
        }
        refuse_during_rollout(&doc, alias)?;
        doc.aliases.insert(alias.to_string(), version.to_string());
        self.write_aliases(&role, doc)
    }

    /// Removes `alias` of model `name`. Returns whether it existed.
    pub fn remove_alias(&mut self, name: &str, alias: &str) -> Result<bool, PublishError> {
        let role = self.signing_role(name)?;
        let mut doc = match self.aliases(name) {
            Some(d) => d.clone(),
            None => return Ok(false),
        };
        if !doc.aliases.contains_key(alias) {
            return Ok(false);
        }
        refuse_during_rollout(&doc, alias)?;
        doc.aliases.remove(alias);
        self.write_aliases(&role, doc)
    }

    /// The role that signs model `name` (`NOT_FOUND` when it is not published).
    pub(super) fn signing_role(&self, name: &str) -> Result<String, PublishError> {
        self.model_role(name).ok_or_else(|| PublishError::NotFound {
            what: "model",
            name: name.to_string(),
        })
    }

    pub(super) fn write_aliases(&mut self, role: &str, doc: Aliases) -> Result<bool, PublishError> {
        let path = catalogue::aliases_path(&doc.name);
        let changed = self.add_target(role, &path, &doc.to_bytes(), None)?;
        self.set_aliases_doc(doc);
        Ok(changed)
    }
}

/// An alias under a staged rollout moves only through the rollout (advance or abort).
fn refuse_during_rollout(doc: &Aliases, alias: &str) -> Result<(), PublishError> {
    if doc.rollouts.contains_key(alias) {
        return Err(PublishError::Conflict(format!(
            "{}@{alias} has a staged rollout: advance it to the end or abort it first",
            doc.name
        )));
    }
    Ok(())
}
