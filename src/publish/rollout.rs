//! The publisher's staged rollouts: start, advance, pause, resume and abort the rollout of an
//! alias (`docs/registry-format.md`, "Rollouts"). Each is a rewrite of the model's aliases
//! document, signed by the role that signs the model, like moving an alias. Owns the rollout
//! edits of [`Repository`]; imports the catalogue's rollout type and the TUF time format.

use std::collections::BTreeMap;

use super::{PublishError, Repository};
use crate::catalogue::{self, ModelCard, Rollout, Stage};
use crate::clock::UnixSeconds;
use crate::tuf::time::{format_expires, parse_expires};

/// What [`Repository::start_rollout`] sets up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutPlan {
    /// The candidate version.
    pub to: String,
    /// The candidate's share in each stage, in basis points (10 000 = 100 %).
    pub stages: Vec<u64>,
    /// The first stage's start.
    pub start: UnixSeconds,
    /// Seconds between stages; `None`: only the first stage is scheduled, later ones start
    /// when advanced.
    pub every: Option<i64>,
    /// Mixed into the clients' hashes.
    pub salt: String,
    /// Clients check the candidate's signed gates and fall back when it fails them.
    pub gate: bool,
    /// Lowest app version that takes part.
    pub min_client: Option<String>,
}

/// What [`Repository::advance_rollout`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advanced {
    /// Stage `n` (0-based) starts now.
    Stage(usize),
    /// Every stage had started: the alias now points to the candidate and the rollout ends.
    Completed(String),
}

/// Basis points: the whole.
pub const FULL: u64 = 10_000;

impl Repository {
    fn rollout_doc(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<(String, catalogue::Aliases), PublishError> {
        let role = self.signing_role(name)?;
        let doc = self
            .aliases(name)
            .cloned()
            .filter(|d| d.aliases.contains_key(alias))
            .ok_or_else(|| PublishError::NotFound {
                what: "alias",
                name: format!("{name}@{alias}"),
            })?;
        Ok((role, doc))
    }

    /// The signing role, the aliases document and the running rollout of `name@alias`.
    fn running(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<(String, catalogue::Aliases, Rollout), PublishError> {
        let (role, doc) = self.rollout_doc(name, alias)?;
        let r = doc
            .rollouts
            .get(alias)
            .cloned()
            .ok_or_else(|| PublishError::NotFound {
                what: "rollout",
                name: format!("{name}@{alias}"),
            })?;
        Ok((role, doc, r))
    }

    /// The rollout of `name@alias`, if one runs.
    pub fn rollout(&self, name: &str, alias: &str) -> Option<&Rollout> {
        self.aliases(name).and_then(|d| d.rollouts.get(alias))
    }

    fn write_rollout(
        &mut self,
        role: &str,
        mut doc: catalogue::Aliases,
        alias: &str,
        rollout: Option<Rollout>,
    ) -> Result<bool, PublishError> {
        match rollout {
            Some(r) => {
                let baseline = doc.aliases.get(alias).cloned().unwrap_or_default();
                r.check(&baseline).map_err(PublishError::InvalidArgument)?;
                doc.rollouts.insert(alias.to_string(), r);
            }
            None => {
                doc.rollouts.remove(alias);
            }
        }
        self.write_aliases(role, doc)
    }

    /// Starts a staged rollout of `name@alias` to `plan.to`: the alias keeps its version for
    /// the clients outside the candidate's share (and for every fallback). Refused when a
    /// rollout of the alias runs, when the candidate is not published or is the alias's version,
    /// and, with a gate, when the candidate's card declares no gates.
    pub fn start_rollout(
        &mut self,
        name: &str,
        alias: &str,
        plan: &RolloutPlan,
    ) -> Result<bool, PublishError> {
        let (role, doc) = self.rollout_doc(name, alias)?;
        if doc.rollouts.contains_key(alias) {
            return Err(PublishError::Conflict(format!(
                "{name}@{alias} already has a rollout: advance, abort or finish it first"
            )));
        }
        if !self.versions(name).contains(&plan.to) {
            return Err(PublishError::NotFound {
                what: "version",
                name: format!("{name}@{}", plan.to),
            });
        }
        if plan.gate {
            let path = catalogue::model_path(name, &plan.to);
            let card = self
                .target(&path)
                .and_then(|t| t.entry.get("custom").cloned());
            let gates = ModelCard::from_custom(&path, card.as_ref())
                .map(|c| !c.gates.is_empty())
                .unwrap_or(false);
            if !gates {
                return Err(PublishError::InvalidArgument(format!(
                    "--gate: the card of {name}@{} declares no gates",
                    plan.to
                )));
            }
        }
        if plan.stages.is_empty() || plan.stages.iter().any(|p| *p == 0 || *p > FULL) {
            return Err(PublishError::InvalidArgument(
                "stages are shares above 0 and at most 100 %".into(),
            ));
        }
        if plan.stages.windows(2).any(|w| w.first() > w.get(1)) {
            return Err(PublishError::InvalidArgument(
                "stages must not shrink (pause or abort a rollout instead)".into(),
            ));
        }
        let baseline = doc.aliases.get(alias).cloned().unwrap_or_default();
        let stages = plan
            .stages
            .iter()
            .enumerate()
            .map(|(i, share)| {
                let start = match plan.every {
                    Some(every) => Some(plan.start.saturating_add(every.saturating_mul(i as i64))),
                    None => (i == 0).then_some(plan.start),
                };
                let mut weights = BTreeMap::from([(plan.to.clone(), *share)]);
                if *share < FULL {
                    weights.insert(baseline.clone(), FULL - share);
                }
                Stage {
                    start: start.map(format_expires),
                    weights,
                }
            })
            .collect();
        let rollout = Rollout {
            to: plan.to.clone(),
            salt: plan.salt.clone(),
            stages,
            paused_at: None,
            gate: plan.gate,
            min_client: plan.min_client.clone(),
            unknown: BTreeMap::new(),
        };
        self.write_rollout(&role, doc, alias, Some(rollout))
    }

    /// Starts the next stage now (a stage scheduled later is brought forward); when every
    /// stage has started, completes the rollout: the alias points to the candidate.
    pub fn advance_rollout(
        &mut self,
        name: &str,
        alias: &str,
        now: UnixSeconds,
    ) -> Result<Advanced, PublishError> {
        let (role, mut doc, mut r) = self.running(name, alias)?;
        if r.paused_at.is_some() {
            return Err(PublishError::Conflict(format!(
                "{name}@{alias}: the rollout is paused; resume it first"
            )));
        }
        let next = r.stages.iter().position(|s| {
            s.start
                .as_deref()
                .and_then(parse_expires)
                .is_none_or(|t| t > now)
        });
        match next {
            Some(i) => {
                if let Some(s) = r.stages.get_mut(i) {
                    s.start = Some(format_expires(now));
                }
                self.write_rollout(&role, doc, alias, Some(r))?;
                Ok(Advanced::Stage(i))
            }
            None => {
                doc.aliases.insert(alias.to_string(), r.to.clone());
                self.write_rollout(&role, doc, alias, None)?;
                Ok(Advanced::Completed(r.to))
            }
        }
    }

    /// Pauses the rollout: clients stay in the stage active now, and scheduled stages wait.
    pub fn pause_rollout(
        &mut self,
        name: &str,
        alias: &str,
        now: UnixSeconds,
    ) -> Result<bool, PublishError> {
        let (role, doc, mut r) = self.running(name, alias)?;
        if r.paused_at.is_some() {
            return Ok(false);
        }
        r.paused_at = Some(format_expires(now));
        self.write_rollout(&role, doc, alias, Some(r))
    }

    /// Resumes a paused rollout: the stages that had not started move later by the pause's
    /// length.
    pub fn resume_rollout(
        &mut self,
        name: &str,
        alias: &str,
        now: UnixSeconds,
    ) -> Result<bool, PublishError> {
        let (role, doc, mut r) = self.running(name, alias)?;
        let Some(paused) = r.paused_at.take().as_deref().and_then(parse_expires) else {
            return Ok(false);
        };
        let shift = now.saturating_sub(paused).max(0);
        for s in &mut r.stages {
            if let Some(t) = s.start.as_deref().and_then(parse_expires) {
                if t > paused {
                    s.start = Some(format_expires(t.saturating_add(shift)));
                }
            }
        }
        self.write_rollout(&role, doc, alias, Some(r))
    }

    /// Ends the rollout without moving the alias: every client goes back to its version.
    pub fn abort_rollout(&mut self, name: &str, alias: &str) -> Result<bool, PublishError> {
        let (role, doc, _) = self.running(name, alias)?;
        self.write_rollout(&role, doc, alias, None)
    }
}
