//! The delegation walk of the TUF specification (5.6.7), written once: a pre-order depth-first
//! walk of the targets roles from the top-level `targets` role, each role visited at most once
//! (delegation cycles, "diamonds"), at most `max_roles` roles (`DELEGATION_LIMIT`), and, when
//! searching for one target path, only through the delegations whose path patterns or
//! `path_hash_prefixes` match it, nothing queued outside a matching terminating delegation.
//!
//! It owns only the order and these rules. It does no I/O and verifies nothing: the caller
//! makes each role the walk names trusted (the updater loads it into a
//! [`super::TrustedMetadataSet`] through the named delegator; an I/O-free caller checks that
//! it is already trusted) and then hands the verified metadata back with
//! [`DelegationWalk::visit`]. Imports [`super::metadata`] and [`super::TufError`] only.

use std::collections::BTreeSet;

use super::metadata::{TargetFile, Targets};
use super::TufError;

/// A role the walk names next, and the role that delegates to it (`root` for `targets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleToVisit {
    /// The role.
    pub role: String,
    /// The role that delegates to it.
    pub delegator: String,
}

/// A walk of the targets roles. See the module documentation.
#[derive(Debug, Clone)]
pub struct DelegationWalk {
    /// `Some(path)`: the search for one target path; `None`: every reachable role.
    path: Option<String>,
    /// Roles still to visit, each with its delegator; the next one is last.
    to_visit: Vec<RoleToVisit>,
    visited: BTreeSet<String>,
    max_roles: u32,
}

impl DelegationWalk {
    fn start(path: Option<&str>, max_roles: u32) -> Self {
        DelegationWalk {
            path: path.map(str::to_string),
            to_visit: vec![RoleToVisit {
                role: "targets".into(),
                delegator: "root".into(),
            }],
            visited: BTreeSet::new(),
            max_roles,
        }
    }

    /// The search for target `path` (spec 5.6.7): only delegations that match the path are
    /// followed, and a matching terminating delegation drops every role still queued.
    pub fn search(path: &str, max_roles: u32) -> Self {
        Self::start(Some(path), max_roles)
    }

    /// Every role reachable from `targets` through any delegation (a succinct hash delegation
    /// contributes all its bins); `terminating` prunes nothing, as no path is searched.
    pub fn every_role(max_roles: u32) -> Self {
        Self::start(None, max_roles)
    }

    /// The next role to visit and the role that delegates to it (`root` for `targets`), or
    /// `None` when the walk is over. Roles already named are skipped; naming more than
    /// `max_roles` roles fails with `DELEGATION_LIMIT`. The caller then makes the role trusted
    /// through that delegator and calls [`Self::visit`]; a role it cannot (or need not) load is
    /// simply not visited, and nothing below it is walked.
    pub fn next_role(&mut self) -> Result<Option<RoleToVisit>, TufError> {
        while let Some(next) = self.to_visit.pop() {
            if self.visited.contains(&next.role) {
                continue;
            }
            if self.visited.len() >= self.max_roles as usize {
                return Err(TufError::DelegationLimit {
                    role: next.role,
                    limit: self.max_roles,
                });
            }
            self.visited.insert(next.role.clone());
            return Ok(Some(next));
        }
        Ok(None)
    }

    /// How many roles [`Self::next_role`] has named.
    pub fn named(&self) -> usize {
        self.visited.len()
    }

    /// Visits `role`, whose verified metadata is `targets`. In a search, its entry for the
    /// path when it lists one (the search is over); otherwise the delegations that apply are
    /// queued in their order, so they are visited next (pre-order). Listing every role, more
    /// succinct hash bins than `max_roles` fail with `DELEGATION_LIMIT`.
    pub fn visit<'t>(
        &mut self,
        role: &str,
        targets: &'t Targets,
    ) -> Result<Option<&'t TargetFile>, TufError> {
        if let Some(entry) = self.path.as_ref().and_then(|p| targets.targets.get(p)) {
            return Ok(Some(entry));
        }
        let Some(d) = &targets.delegations else {
            return Ok(None);
        };
        let mut children: Vec<String> = Vec::new();
        match &self.path {
            Some(path) => {
                for m in d.roles_for_target(path) {
                    children.push(m.name);
                    if m.terminating {
                        self.to_visit.clear();
                        break;
                    }
                }
            }
            None => {
                if let Some(s) = &d.succinct_roles {
                    if s.bin_count() > u64::from(self.max_roles) {
                        return Err(TufError::DelegationLimit {
                            role: role.to_string(),
                            limit: self.max_roles,
                        });
                    }
                    children.extend((0..s.bin_count()).map(|i| s.bin_name(i)));
                }
                children.extend(d.roles.iter().map(|r| r.name.clone()));
            }
        }
        let delegator = role.to_string();
        self.to_visit
            .extend(children.into_iter().rev().map(|role| RoleToVisit {
                role,
                delegator: delegator.clone(),
            }));
        Ok(None)
    }
}
