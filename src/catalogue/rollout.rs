//! Signed staged rollouts (`docs/registry-format.md`, "Rollouts"): an alias of the signed
//! aliases document can carry a rollout that splits its clients between the alias's version
//! (the baseline, where every client falls back) and a candidate, in stages that start at
//! signed times. Owns [`Rollout`] and the one bucketing rule every client (browser, worker,
//! edge, CLI) applies; imports only the catalogue's name and version rules and the TUF time
//! format.
//!
//! The bucketing rule: `h` = the first 8 bytes (big-endian) of SHA-256 of `salt ":" client-id`;
//! the active stage's weights, with the baseline first and the other versions in version order,
//! cover `[0, total)`; the client takes the version whose range holds `h * total / 2^64`. The
//! same id always lands on the same point, so a device keeps its version across reloads, and
//! as the candidate's weight grows the clients already on it stay on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{check_version, compare_versions};
use crate::tuf::time::parse_expires;

/// Seconds since the Unix epoch, UTC (`crate::clock::UnixSeconds`; the catalogue does not
/// import the clock).
type UnixSeconds = i64;

/// Most stages of a rollout.
pub const MAX_STAGES: usize = 64;
/// Most versions one stage splits between.
pub const MAX_STAGE_VERSIONS: usize = 16;
/// Largest weight of one version in a stage (weights are integers: canonical JSON has no
/// floating-point numbers; the CLI writes basis points, 10 000 = 100 %).
pub const MAX_WEIGHT: u64 = 1_000_000;

/// One stage: from `start` on, the alias's clients split by `weights`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// When the stage starts (`YYYY-MM-DDTHH:MM:SSZ`); `None`: not scheduled, it starts when
    /// the publisher advances the rollout (only trailing stages may be unscheduled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Version to integer weight.
    pub weights: BTreeMap<String, u64>,
}

/// A staged rollout of one alias to version `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    /// The candidate: the version the alias moves to when the rollout completes.
    pub to: String,
    /// Mixed into every client's hash, so two rollouts bucket independently.
    pub salt: String,
    /// The stages, by start time.
    pub stages: Vec<Stage>,
    /// Paused at this time: clients stay in the stage active then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<String>,
    /// Clients check the candidate's signed evaluation gates on the device before using it,
    /// and fall back to the baseline when it fails them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gate: bool,
    /// Clients whose app version (compared like model versions) is lower, or unknown, stay on
    /// the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_client: Option<String>,
    /// Rules this client does not know: it does not take part (it stays on the baseline)
    /// rather than ignore a rule.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

/// Who asks, for bucketing.
#[derive(Debug, Clone, Copy)]
pub struct RolloutClient<'a> {
    /// The stable client id (`None`: the client takes no part and gets the baseline).
    pub id: Option<&'a str>,
    /// The app's version, for `min_client`.
    pub version: Option<&'a str>,
    /// The time the stages are read at.
    pub now: UnixSeconds,
}

/// Why a client got the version it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceReason {
    /// Its bucket in the active stage.
    Bucket,
    /// No stage has started yet: the baseline.
    NotStarted,
    /// No client id: the baseline.
    NoClientId,
    /// The app version is below `min_client` (or unknown): the baseline.
    ClientTooOld,
    /// The rollout has rules this client does not know: the baseline.
    UnknownRules,
    /// The bucket's version is not a signed version: the baseline.
    NotSigned,
}

/// A client's place in a rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutChoice {
    /// The alias.
    pub alias: String,
    /// The alias's version (where every fallback goes).
    pub baseline: String,
    /// The candidate.
    pub to: String,
    /// The version this client uses.
    pub chosen: String,
    /// Why.
    pub reason: ChoiceReason,
    /// The active stage (0-based), if one has started.
    pub stage: Option<usize>,
    /// How many stages there are.
    pub stages: usize,
    /// The active stage's weights.
    pub weights: BTreeMap<String, u64>,
    /// This client's point in `[0, 1)` (`None` without a client id).
    pub bucket: Option<String>,
    /// Whether the candidate must pass its gates on the device.
    pub gate: bool,
    /// Whether the rollout is paused.
    pub paused: bool,
    /// Set when the candidate failed on this device and the client fell back to the
    /// baseline (then `chosen` is the baseline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RolledBack>,
}

/// Why a client left a rollout's candidate for the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledBack {
    /// The version it left.
    pub from: String,
    /// Its signed SHA-256.
    pub sha256: String,
    /// The error's code (`GATE_FAILED`, `SCHEMA_MISMATCH`, ...).
    pub code: String,
    /// The error's message (for a gate: the measured numbers).
    pub reason: String,
    /// When it failed (Unix seconds).
    pub at: i64,
    /// Whether this is the record of an earlier check on this device (the candidate was not
    /// tried again).
    pub remembered: bool,
}

/// The hash of `salt:id` as a point in `[0, 2^64)`.
pub fn bucket_hash(salt: &str, id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(id.as_bytes());
    let d: [u8; 32] = h.finalize().into();
    let [a, b, c, e, f, g, i, j, ..] = d;
    u64::from_be_bytes([a, b, c, e, f, g, i, j])
}

fn salt_ok(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

impl Rollout {
    /// Checks the rules of `docs/registry-format.md` for a rollout of an alias whose version is
    /// `baseline`; the reason when broken.
    pub fn check(&self, baseline: &str) -> Result<(), String> {
        check_version(&self.to).map_err(|e| e.to_string())?;
        if self.to == baseline {
            return Err(format!(
                "the rollout's version {} is already the alias's",
                self.to
            ));
        }
        if !salt_ok(&self.salt) {
            return Err("salt must be 1 to 64 characters of [A-Za-z0-9_-]".into());
        }
        if self.stages.is_empty() || self.stages.len() > MAX_STAGES {
            return Err(format!("a rollout has 1 to {MAX_STAGES} stages"));
        }
        let mut last: Option<UnixSeconds> = None;
        let mut unscheduled = false;
        for (i, s) in self.stages.iter().enumerate() {
            match &s.start {
                Some(t) => {
                    let t = parse_expires(t).ok_or_else(|| {
                        format!("stage {i}: start {t:?} is not YYYY-MM-DDTHH:MM:SSZ")
                    })?;
                    if unscheduled || last.is_some_and(|l| t < l) {
                        return Err(format!("stage {i} starts before an earlier stage"));
                    }
                    last = Some(t);
                }
                None => unscheduled = true,
            }
            if s.weights.is_empty() || s.weights.len() > MAX_STAGE_VERSIONS {
                return Err(format!(
                    "stage {i}: weights name 1 to {MAX_STAGE_VERSIONS} versions"
                ));
            }
            for (v, w) in &s.weights {
                check_version(v).map_err(|e| format!("stage {i}: {e}"))?;
                if *w > MAX_WEIGHT {
                    return Err(format!("stage {i}: weight {w} is above {MAX_WEIGHT}"));
                }
            }
            if s.weights.values().sum::<u64>() == 0 {
                return Err(format!("stage {i}: the weights sum to 0"));
            }
        }
        if let Some(p) = &self.paused_at {
            parse_expires(p)
                .ok_or_else(|| format!("paused_at {p:?} is not YYYY-MM-DDTHH:MM:SSZ"))?;
        }
        if let Some(v) = &self.min_client {
            check_version(v).map_err(|e| format!("min_client: {e}"))?;
        }
        Ok(())
    }

    /// The stage active at `now` (the pause time when paused): the last scheduled stage that
    /// has started.
    pub fn active_stage(&self, now: UnixSeconds) -> Option<usize> {
        let at = self
            .paused_at
            .as_deref()
            .and_then(parse_expires)
            .map_or(now, |p| p.min(now));
        self.stages
            .iter()
            .take_while(|s| {
                s.start
                    .as_deref()
                    .and_then(parse_expires)
                    .is_some_and(|t| t <= at)
            })
            .count()
            .checked_sub(1)
    }

    /// The version `client` uses (see the module documentation); `baseline` is the alias's
    /// version. `signed` says whether a version is signed: a bucket on an unsigned version gets
    /// the baseline.
    pub fn choose(
        &self,
        alias: &str,
        baseline: &str,
        client: &RolloutClient<'_>,
        signed: impl Fn(&str) -> bool,
    ) -> RolloutChoice {
        let stage = self.active_stage(client.now);
        let weights = stage
            .and_then(|i| self.stages.get(i))
            .map(|s| s.weights.clone())
            .unwrap_or_default();
        let point = client.id.map(|id| bucket_hash(&self.salt, id));
        let mut choice = RolloutChoice {
            alias: alias.to_string(),
            baseline: baseline.to_string(),
            to: self.to.clone(),
            chosen: baseline.to_string(),
            reason: ChoiceReason::Bucket,
            stage,
            stages: self.stages.len(),
            weights,
            bucket: point.map(|h| format!("{:.6}", h as f64 / 18_446_744_073_709_551_616.0)),
            gate: self.gate,
            paused: self.paused_at.is_some(),
            rollback: None,
        };
        let too_old = self.min_client.as_deref().is_some_and(|min| {
            client
                .version
                .is_none_or(|v| compare_versions(v, min).is_lt())
        });
        choice.reason = if !self.unknown.is_empty() {
            ChoiceReason::UnknownRules
        } else if stage.is_none() {
            ChoiceReason::NotStarted
        } else if too_old {
            ChoiceReason::ClientTooOld
        } else if let Some(h) = point {
            let v = pick(&choice.weights, baseline, h);
            if signed(&v) {
                choice.chosen = v;
                ChoiceReason::Bucket
            } else {
                ChoiceReason::NotSigned
            }
        } else {
            ChoiceReason::NoClientId
        };
        choice
    }
}

/// The version whose range of `weights` (baseline first, then version order) holds point `h`.
fn pick(weights: &BTreeMap<String, u64>, baseline: &str, h: u64) -> String {
    let mut order: Vec<(&String, u64)> = weights.iter().map(|(v, w)| (v, *w)).collect();
    order.sort_by(|a, b| {
        (a.0 != baseline)
            .cmp(&(b.0 != baseline))
            .then_with(|| compare_versions(a.0, b.0))
    });
    let total: u64 = order.iter().map(|(_, w)| w).sum();
    let x = ((u128::from(h) * u128::from(total)) >> 64) as u64;
    let mut end = 0u64;
    for (v, w) in &order {
        end += w;
        if x < end {
            return v.to_string();
        }
    }
    baseline.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuf::time::format_expires;

    const DAY: i64 = 86_400;
    const T0: i64 = 1_796_083_200; // 2026-12-01T00:00:00Z

    fn rollout(stages: &[(Option<i64>, u64)]) -> Rollout {
        Rollout {
            to: "2".into(),
            salt: "s1".into(),
            stages: stages
                .iter()
                .map(|(t, pct)| Stage {
                    start: t.map(format_expires),
                    weights: BTreeMap::from([("1".into(), 100 - pct), ("2".into(), *pct)]),
                })
                .collect(),
            paused_at: None,
            gate: false,
            min_client: None,
            unknown: BTreeMap::new(),
        }
    }

    fn client(id: &str, now: i64) -> RolloutClient<'_> {
        RolloutClient {
            id: Some(id),
            version: None,
            now,
        }
    }

    fn share(r: &Rollout, now: i64, n: usize) -> f64 {
        let on = (0..n)
            .filter(|i| {
                let id = format!("device-{i}");
                r.choose("production", "1", &client(&id, now), |_| true)
                    .chosen
                    == "2"
            })
            .count();
        on as f64 / n as f64
    }

    #[test]
    fn the_distribution_over_many_ids_matches_the_weights() {
        let r = rollout(&[
            (Some(T0), 1),
            (Some(T0 + DAY), 10),
            (Some(T0 + 2 * DAY), 50),
        ]);
        // 20 000 ids: a binomial share p has standard deviation sqrt(p(1-p)/n); allow 5 of them
        // (a false failure has probability below 1e-6, and the ids are fixed, so it is stable).
        let n = 20_000;
        for (day, p) in [(0, 0.01), (1, 0.10), (2, 0.50), (9, 0.50)] {
            let got = share(&r, T0 + day * DAY + 5, n);
            let sd = (p * (1.0 - p) / n as f64).sqrt();
            eprintln!("day {day}: share {got:.4} on the candidate (weight {p}, sd {sd:.4})");
            assert!((got - p).abs() < 5.0 * sd, "day {day}: {got} vs {p}");
        }
        assert_eq!(share(&r, T0 - 1, 1000), 0.0);
    }

    #[test]
    fn a_client_keeps_its_choice_and_candidates_stay_candidates_as_the_share_grows() {
        let r = rollout(&[
            (Some(T0), 5),
            (Some(T0 + DAY), 30),
            (Some(T0 + 2 * DAY), 100),
        ]);
        for i in 0..2000 {
            let id = format!("d{i}");
            let at = |t| r.choose("production", "1", &client(&id, t), |_| true);
            let first = at(T0 + 10);
            assert_eq!(first, at(T0 + 20), "sticky within a stage");
            let later = at(T0 + DAY + 1);
            if first.chosen == "2" {
                assert_eq!(
                    later.chosen, "2",
                    "{id} left the candidate as its share grew"
                );
            }
            assert_eq!(at(T0 + 2 * DAY).chosen, "2");
        }
        // Another salt buckets independently.
        let mut other = r.clone();
        other.salt = "s2".into();
        let differ = (0..2000)
            .filter(|i| {
                let id = format!("d{i}");
                let c = client(&id, T0 + DAY + 1);
                r.choose("p", "1", &c, |_| true).chosen
                    != other.choose("p", "1", &c, |_| true).chosen
            })
            .count();
        assert!(differ > 200, "{differ}");
    }

    #[test]
    fn stages_pause_rules_and_fallbacks() {
        let mut r = rollout(&[(Some(T0), 100), (None, 100)]);
        assert_eq!(r.active_stage(T0 - 1), None);
        assert_eq!(r.active_stage(T0), Some(0));
        assert_eq!(r.active_stage(T0 + 99 * DAY), Some(0));
        let c = client("x", T0 + 1);
        assert_eq!(r.choose("p", "1", &c, |_| true).chosen, "2");
        let none = RolloutClient { id: None, ..c };
        let got = r.choose("p", "1", &none, |_| true);
        assert_eq!(
            (got.chosen.as_str(), got.reason),
            ("1", ChoiceReason::NoClientId)
        );
        let got = r.choose("p", "1", &c, |v| v != "2");
        assert_eq!(
            (got.chosen.as_str(), got.reason),
            ("1", ChoiceReason::NotSigned)
        );
        r.min_client = Some("2.0".into());
        assert_eq!(
            r.choose("p", "1", &c, |_| true).reason,
            ChoiceReason::ClientTooOld
        );
        let new = RolloutClient {
            version: Some("2.1"),
            ..c
        };
        assert_eq!(r.choose("p", "1", &new, |_| true).chosen, "2");
        r.min_client = None;
        r.unknown.insert("region".into(), Value::from("eu"));
        assert_eq!(
            r.choose("p", "1", &c, |_| true).reason,
            ChoiceReason::UnknownRules
        );
        r.unknown.clear();
        let mut p = rollout(&[(Some(T0), 10), (Some(T0 + DAY), 100)]);
        p.paused_at = Some(format_expires(T0 + 60));
        assert_eq!(p.active_stage(T0 + 2 * DAY), Some(0));
        assert!(p.check("1").is_ok());
    }

    #[test]
    fn malformed_rollouts_are_refused() {
        let good = rollout(&[(Some(T0), 10), (Some(T0 + DAY), 50), (None, 100)]);
        assert_eq!(good.check("1"), Ok(()));
        assert!(good.check("2").is_err(), "to == baseline");
        let mut cases: Vec<Rollout> = Vec::new();
        let mut r = good.clone();
        r.salt = "a b".into();
        cases.push(r);
        let mut r = good.clone();
        r.stages.clear();
        cases.push(r);
        let mut r = good.clone();
        r.stages[1].start = Some(format_expires(T0 - 1));
        cases.push(r);
        let mut r = good.clone();
        r.stages[0].start = None;
        cases.push(r);
        let mut r = good.clone();
        r.stages[0].start = Some("tomorrow".into());
        cases.push(r);
        let mut r = good.clone();
        r.stages[0].weights = BTreeMap::from([("1".into(), 0)]);
        cases.push(r);
        let mut r = good.clone();
        r.stages[0].weights.insert("../x".into(), 1);
        cases.push(r);
        let mut r = good.clone();
        r.stages[0].weights.insert("3".into(), MAX_WEIGHT + 1);
        cases.push(r);
        let mut r = good.clone();
        r.paused_at = Some("x".into());
        cases.push(r);
        for (i, r) in cases.iter().enumerate() {
            assert!(r.check("1").is_err(), "case {i}");
        }
    }

    #[test]
    fn weights_split_in_version_order_after_the_baseline() {
        let w = BTreeMap::from([("1".into(), 1), ("10".into(), 1), ("9".into(), 2)]);
        let q = |f: f64| pick(&w, "10", (f * 18_446_744_073_709_551_615.0) as u64);
        assert_eq!(q(0.0), "10");
        assert_eq!(q(0.26), "1");
        assert_eq!(q(0.51), "9");
        assert_eq!(q(0.999), "9");
    }
}
