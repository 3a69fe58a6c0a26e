//! Typed TUF metadata (spec 1.0.x section 4) and the signed envelope it arrives in.
//!
//! Parsing keeps the `signed` object exactly as received (as a `serde_json::Value`), because
//! signatures cover the canonical form of what the repository signed, not of what this client
//! understands: unknown fields are tolerated and covered by the signature check.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::canonical::to_canonical;
use super::keys::{verify_threshold, KeyMap, Signature};
use super::time::parse_expires;
use super::TufError;
use crate::clock::UnixSeconds;

/// The major version of the TUF specification this client implements.
pub const SPEC_MAJOR: &str = "1";

/// The four top-level role names.
pub const TOP_LEVEL_ROLES: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];

/// A metadata file split into its parts: the `signed` object as received, its canonical bytes,
/// the signatures, and the typed view of `signed`.
#[derive(Debug, Clone)]
pub struct Envelope<T> {
    /// The typed view.
    pub signed: T,
    /// Canonical JSON of `signed`, the bytes the signatures cover.
    pub canonical: Vec<u8>,
    /// The signatures.
    pub signatures: Vec<Signature>,
}

/// Fields every role's `signed` object has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// `_type`.
    pub type_: String,
    /// `spec_version`.
    pub spec_version: String,
    /// `version` (at least 1).
    pub version: u64,
    /// `expires` as written.
    pub expires: String,
    /// `expires` in Unix seconds.
    pub expires_at: UnixSeconds,
}

/// What a delegating role says about the role it delegates to: its keys and threshold.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleKeys {
    /// Key ids allowed to sign.
    pub keyids: Vec<String>,
    /// How many distinct keys must sign (at least 1).
    pub threshold: u64,
}

/// Root metadata (spec 4.3).
#[derive(Debug, Clone)]
pub struct Root {
    /// Common fields.
    pub common: Common,
    /// `consistent_snapshot` (false when absent).
    pub consistent_snapshot: bool,
    /// The keys by id.
    pub keys: KeyMap,
    /// The top-level roles.
    pub roles: BTreeMap<String, RoleKeys>,
}

/// A file's entry in timestamp or snapshot `meta` (spec 4.4, 4.5).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MetaFile {
    /// The file's version.
    pub version: u64,
    /// Its length in bytes, when listed.
    #[serde(default)]
    pub length: Option<u64>,
    /// Its hashes (algorithm to hex), when listed.
    #[serde(default)]
    pub hashes: Option<BTreeMap<String, String>>,
}

/// Timestamp metadata (spec 4.6).
#[derive(Debug, Clone)]
pub struct Timestamp {
    /// Common fields.
    pub common: Common,
    /// The entry for `snapshot.json`.
    pub snapshot_meta: MetaFile,
}

/// Snapshot metadata (spec 4.4).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Common fields.
    pub common: Common,
    /// `<role>.json` to its entry.
    pub meta: BTreeMap<String, MetaFile>,
}

/// A target file's entry (spec 4.5 "targets").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TargetFile {
    /// Length in bytes.
    pub length: u64,
    /// Hashes, algorithm to hex (at least one).
    pub hashes: BTreeMap<String, String>,
    /// Application data (the model card rides here), as signed.
    #[serde(default)]
    pub custom: Option<Value>,
}

/// A delegated role (spec 4.5 "delegations").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DelegatedRole {
    /// Role name.
    pub name: String,
    /// Key ids allowed to sign.
    pub keyids: Vec<String>,
    /// Distinct keys required.
    pub threshold: u64,
    /// Whether the search stops here when the role matches.
    #[serde(default)]
    pub terminating: bool,
    /// Path patterns (fnmatch, segment by segment).
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    /// Prefixes of the hex SHA-256 of the target path.
    #[serde(default)]
    pub path_hash_prefixes: Option<Vec<String>>,
}

/// Succinct hash bin delegations (TAP 15): `2^bit_length` roles named
/// `<name_prefix>-<bin in hex>`, all with the same keys, each terminating.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuccinctRoles {
    /// Key ids allowed to sign every bin.
    pub keyids: Vec<String>,
    /// Distinct keys required.
    pub threshold: u64,
    /// Bits of the path hash that choose the bin (1 to 32).
    pub bit_length: u32,
    /// Role name prefix.
    pub name_prefix: String,
}

/// A targets role's `delegations`.
#[derive(Debug, Clone)]
pub struct Delegations {
    /// Keys by id.
    pub keys: KeyMap,
    /// Delegated roles, in order (the order is the search order).
    pub roles: Vec<DelegatedRole>,
    /// Succinct hash bin delegation, instead of `roles`.
    pub succinct_roles: Option<SuccinctRoles>,
}

/// Targets or delegated targets metadata (spec 4.5).
#[derive(Debug, Clone)]
pub struct Targets {
    /// Common fields.
    pub common: Common,
    /// Target path to entry.
    pub targets: BTreeMap<String, TargetFile>,
    /// Delegations, if any.
    pub delegations: Option<Delegations>,
}

/// Typed roles know their `_type` and how to read themselves from a `signed` object.
pub trait RoleType: Sized {
    /// The `_type` value.
    const TYPE: &'static str;
    /// Reads the typed view (the common fields are already checked).
    fn from_signed(role: &str, common: Common, signed: &Value) -> Result<Self, TufError>;
    /// The common fields.
    fn common(&self) -> &Common;
}

fn field<'a>(
    role: &str,
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<&'a Value, TufError> {
    obj.get(name)
        .ok_or_else(|| TufError::bad(role, format!("missing field \"{name}\"")))
}

fn typed<T: serde::de::DeserializeOwned>(role: &str, what: &str, v: &Value) -> Result<T, TufError> {
    T::deserialize(v).map_err(|e| TufError::bad(role, format!("{what}: {e}")))
}

impl Envelope<()> {
    /// Splits `bytes` into `signed` and `signatures`, checks `_type`, `spec_version`, `version`
    /// and `expires`, and reads the typed view `T`. No signature is checked here.
    pub fn parse<T: RoleType>(role: &str, bytes: &[u8]) -> Result<Envelope<T>, TufError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| TufError::bad(role, format!("not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| TufError::bad(role, "not a JSON object"))?;
        let signed = field(role, obj, "signed")?;
        let sigs = field(role, obj, "signatures")?
            .as_array()
            .ok_or_else(|| TufError::bad(role, "\"signatures\" is not a list"))?;
        let mut signatures = Vec::with_capacity(sigs.len());
        let mut seen = BTreeSet::new();
        for s in sigs {
            let keyid = s.get("keyid").and_then(Value::as_str);
            let sig = s.get("sig").and_then(Value::as_str);
            // Spec 4.2: "The keyid MUST be unique in the signatures array" (python-tuf refuses
            // such metadata too). Thresholds also count each key once, as a second line.
            if let Some(k) = keyid {
                if !seen.insert(k) {
                    return Err(TufError::bad(
                        role,
                        format!("two signatures with key id {k}"),
                    ));
                }
            }
            match (keyid, sig) {
                (Some(keyid), Some(sig)) => signatures.push(Signature {
                    keyid: keyid.to_string(),
                    sig: hex::decode(sig).unwrap_or_default(),
                }),
                _ => {
                    return Err(TufError::bad(
                        role,
                        "a signature lacks \"keyid\" or \"sig\"",
                    ))
                }
            }
        }
        let sobj = signed
            .as_object()
            .ok_or_else(|| TufError::bad(role, "\"signed\" is not an object"))?;
        let type_ = field(role, sobj, "_type")?
            .as_str()
            .ok_or_else(|| TufError::bad(role, "\"_type\" is not a string"))?;
        if type_ != T::TYPE {
            return Err(TufError::WrongType {
                role: role.to_string(),
                expected: T::TYPE.to_string(),
                got: type_.to_string(),
            });
        }
        let spec_version = field(role, sobj, "spec_version")?
            .as_str()
            .ok_or_else(|| TufError::bad(role, "\"spec_version\" is not a string"))?;
        check_spec_version(role, spec_version)?;
        let version = field(role, sobj, "version")?
            .as_u64()
            .filter(|v| *v >= 1)
            .ok_or_else(|| TufError::bad(role, "\"version\" is not an integer >= 1"))?;
        let expires = field(role, sobj, "expires")?
            .as_str()
            .ok_or_else(|| TufError::bad(role, "\"expires\" is not a string"))?;
        let expires_at = parse_expires(expires).ok_or_else(|| {
            TufError::bad(
                role,
                format!("\"expires\" {expires:?} is not YYYY-MM-DDTHH:MM:SSZ"),
            )
        })?;
        let canonical = to_canonical(signed).map_err(|e| TufError::bad(role, e.to_string()))?;
        let common = Common {
            type_: type_.to_string(),
            spec_version: spec_version.to_string(),
            version,
            expires: expires.to_string(),
            expires_at,
        };
        Ok(Envelope {
            signed: T::from_signed(role, common, signed)?,
            canonical,
            signatures,
        })
    }
}

/// `spec_version` must be `MAJOR.MINOR[.PATCH]`, digits only, with major 1 (python-tuf
/// `Signed.__init__`).
fn check_spec_version(role: &str, v: &str) -> Result<(), TufError> {
    let parts: Vec<&str> = v.split('.').collect();
    let well_formed = (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed || parts.first() != Some(&SPEC_MAJOR) {
        return Err(TufError::SpecVersion {
            role: role.to_string(),
            got: v.to_string(),
        });
    }
    Ok(())
}

impl<T: RoleType> Envelope<T> {
    /// Checks the signatures against a delegating role's keys and threshold.
    pub fn verify_by(
        &self,
        role: &str,
        keys: &KeyMap,
        role_keys: &RoleKeys,
    ) -> Result<u64, TufError> {
        verify_threshold(
            role,
            keys,
            &role_keys.keyids,
            role_keys.threshold,
            &self.canonical,
            &self.signatures,
        )
    }
}

fn check_threshold(role: &str, what: &str, threshold: u64) -> Result<(), TufError> {
    if threshold < 1 {
        return Err(TufError::bad(
            role,
            format!("{what}: threshold must be at least 1"),
        ));
    }
    Ok(())
}

impl RoleType for Root {
    const TYPE: &'static str = "root";
    fn from_signed(role: &str, common: Common, signed: &Value) -> Result<Self, TufError> {
        let consistent_snapshot = match signed.get("consistent_snapshot") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| TufError::bad(role, "\"consistent_snapshot\" is not a boolean"))?,
        };
        let keys = KeyMap::from_value(role, signed.get("keys").unwrap_or(&Value::Null))?;
        let roles: BTreeMap<String, RoleKeys> = typed(
            role,
            "roles",
            signed
                .get("roles")
                .ok_or_else(|| TufError::bad(role, "missing field \"roles\""))?,
        )?;
        for name in TOP_LEVEL_ROLES {
            let r = roles
                .get(name)
                .ok_or_else(|| TufError::bad(role, format!("role \"{name}\" is not defined")))?;
            check_threshold(role, name, r.threshold)?;
        }
        Ok(Root {
            common,
            consistent_snapshot,
            keys,
            roles,
        })
    }
    fn common(&self) -> &Common {
        &self.common
    }
}

impl Root {
    /// The keys and threshold of a top-level role (always defined: checked when parsed).
    pub fn role(&self, name: &str) -> Result<&RoleKeys, TufError> {
        self.roles
            .get(name)
            .ok_or_else(|| TufError::bad("root", format!("role \"{name}\" is not defined")))
    }
}

fn check_meta_file(role: &str, name: &str, m: &MetaFile) -> Result<(), TufError> {
    if m.version < 1 {
        return Err(TufError::bad(
            role,
            format!("meta {name}: version must be at least 1"),
        ));
    }
    if let Some(h) = &m.hashes {
        if h.is_empty() {
            return Err(TufError::bad(role, format!("meta {name}: empty hashes")));
        }
    }
    Ok(())
}

impl RoleType for Timestamp {
    const TYPE: &'static str = "timestamp";
    fn from_signed(role: &str, common: Common, signed: &Value) -> Result<Self, TufError> {
        let meta: BTreeMap<String, MetaFile> = typed(
            role,
            "meta",
            signed
                .get("meta")
                .ok_or_else(|| TufError::bad(role, "missing field \"meta\""))?,
        )?;
        let snapshot_meta =
            meta.get("snapshot.json")
                .cloned()
                .ok_or_else(|| TufError::MissingMeta {
                    role: role.to_string(),
                    file: "snapshot.json".into(),
                    detail: "timestamp meta must list it".into(),
                })?;
        check_meta_file(role, "snapshot.json", &snapshot_meta)?;
        Ok(Timestamp {
            common,
            snapshot_meta,
        })
    }
    fn common(&self) -> &Common {
        &self.common
    }
}

impl RoleType for Snapshot {
    const TYPE: &'static str = "snapshot";
    fn from_signed(role: &str, common: Common, signed: &Value) -> Result<Self, TufError> {
        let meta: BTreeMap<String, MetaFile> = typed(
            role,
            "meta",
            signed
                .get("meta")
                .ok_or_else(|| TufError::bad(role, "missing field \"meta\""))?,
        )?;
        for (name, m) in &meta {
            check_meta_file(role, name, m)?;
        }
        Ok(Snapshot { common, meta })
    }
    fn common(&self) -> &Common {
        &self.common
    }
}

impl RoleType for Targets {
    const TYPE: &'static str = "targets";
    fn from_signed(role: &str, common: Common, signed: &Value) -> Result<Self, TufError> {
        let targets: BTreeMap<String, TargetFile> = typed(
            role,
            "targets",
            signed
                .get("targets")
                .ok_or_else(|| TufError::bad(role, "missing field \"targets\""))?,
        )?;
        for (path, t) in &targets {
            if t.hashes.is_empty() {
                return Err(TufError::bad(
                    role,
                    format!("target {path:?} lists no hashes"),
                ));
            }
        }
        let delegations = match signed.get("delegations") {
            None | Some(Value::Null) => None,
            Some(d) => Some(parse_delegations(role, d)?),
        };
        Ok(Targets {
            common,
            targets,
            delegations,
        })
    }
    fn common(&self) -> &Common {
        &self.common
    }
}

pub(crate) fn parse_delegations(role: &str, d: &Value) -> Result<Delegations, TufError> {
    let keys = KeyMap::from_value(role, d.get("keys").unwrap_or(&Value::Null))?;
    let roles: Option<Vec<DelegatedRole>> = match d.get("roles") {
        None | Some(Value::Null) => None,
        Some(v) => Some(typed(role, "delegations.roles", v)?),
    };
    let succinct: Option<SuccinctRoles> = match d.get("succinct_roles") {
        None | Some(Value::Null) => None,
        Some(v) => Some(typed(role, "delegations.succinct_roles", v)?),
    };
    match (&roles, &succinct) {
        (Some(_), Some(_)) => {
            return Err(TufError::bad(
                role,
                "delegations: both \"roles\" and \"succinct_roles\" are set",
            ))
        }
        (None, None) => {
            return Err(TufError::bad(
                role,
                "delegations: neither \"roles\" nor \"succinct_roles\" is set",
            ))
        }
        _ => {}
    }
    let roles = roles.unwrap_or_default();
    let mut names = BTreeSet::new();
    for r in &roles {
        if TOP_LEVEL_ROLES.contains(&r.name.as_str()) {
            return Err(TufError::bad(
                role,
                format!(
                    "delegations: a delegated role may not be named \"{}\"",
                    r.name
                ),
            ));
        }
        if !names.insert(r.name.as_str()) {
            return Err(TufError::bad(
                role,
                format!("delegations: role \"{}\" is delegated twice", r.name),
            ));
        }
        check_threshold(role, &r.name, r.threshold)?;
        if r.paths.is_some() && r.path_hash_prefixes.is_some() {
            return Err(TufError::bad(
                role,
                format!(
                    "delegations: role \"{}\" sets both paths and path_hash_prefixes",
                    r.name
                ),
            ));
        }
    }
    if let Some(s) = &succinct {
        check_threshold(role, "succinct_roles", s.threshold)?;
        if !(1..=32).contains(&s.bit_length) {
            return Err(TufError::bad(
                role,
                "delegations: succinct_roles.bit_length must be 1 to 32",
            ));
        }
    }
    Ok(Delegations {
        keys,
        roles,
        succinct_roles: succinct,
    })
}

/// A delegated role that may sign a target path ([`Delegations::roles_for_target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleForTarget {
    /// The role's name.
    pub name: String,
    /// Whether the search stops at this delegation.
    pub terminating: bool,
    /// The keys and threshold the delegation gives it.
    pub keys: RoleKeys,
}

impl Delegations {
    /// The roles that may sign `target_path`, in search order, each with its terminating flag
    /// and keys (spec 5.6.7.2; python-tuf `Delegations.get_roles_for_target`).
    pub fn roles_for_target(&self, target_path: &str) -> Vec<RoleForTarget> {
        if let Some(s) = &self.succinct_roles {
            return vec![RoleForTarget {
                name: s.role_for_target(target_path),
                terminating: true,
                keys: RoleKeys {
                    keyids: s.keyids.clone(),
                    threshold: s.threshold,
                },
            }];
        }
        self.roles
            .iter()
            .filter(|r| r.matches(target_path))
            .map(|r| RoleForTarget {
                name: r.name.clone(),
                terminating: r.terminating,
                keys: RoleKeys {
                    keyids: r.keyids.clone(),
                    threshold: r.threshold,
                },
            })
            .collect()
    }

    /// The keys and threshold for delegated role `name`, when this role delegates to it.
    pub fn role_keys(&self, name: &str) -> Option<RoleKeys> {
        if let Some(s) = &self.succinct_roles {
            return s.is_bin(name).then(|| RoleKeys {
                keyids: s.keyids.clone(),
                threshold: s.threshold,
            });
        }
        self.roles
            .iter()
            .find(|r| r.name == name)
            .map(|r| RoleKeys {
                keyids: r.keyids.clone(),
                threshold: r.threshold,
            })
    }
}

impl DelegatedRole {
    /// Whether this role is trusted for `target_path`: a `paths` pattern matches it segment by
    /// segment (fnmatch), or its SHA-256 hex starts with a `path_hash_prefixes` entry.
    pub fn matches(&self, target_path: &str) -> bool {
        if let Some(patterns) = &self.paths {
            return patterns
                .iter()
                .any(|p| super::path::path_matches(p, target_path));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let h = crate::digest::Sha256Digest::of(target_path.as_bytes()).to_hex();
            return prefixes.iter().any(|p| h.starts_with(p.as_str()));
        }
        false
    }
}

impl SuccinctRoles {
    fn suffix_len(&self) -> usize {
        // Hex digits of 2^bit_length - 1.
        (self.bit_length as usize).div_ceil(4)
    }

    /// The bin role for a target: the first `bit_length` bits of SHA-256(path) (python-tuf
    /// `SuccinctRoles.get_role_for_target`).
    pub fn role_for_target(&self, target_path: &str) -> String {
        let h = crate::digest::Sha256Digest::of(target_path.as_bytes()).0;
        let first = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        // bit_length is 1..=32 when parsed; stay panic-free for hand-made values too.
        let bin = first
            .checked_shr(32u32.saturating_sub(self.bit_length))
            .unwrap_or(0);
        format!(
            "{}-{:0width$x}",
            self.name_prefix,
            bin,
            width = self.suffix_len()
        )
    }

    /// How many bins there are: `2^bit_length` (saturating).
    pub fn bin_count(&self) -> u64 {
        1u64.checked_shl(self.bit_length).unwrap_or(u64::MAX)
    }

    /// The name of bin `index` (python-tuf `SuccinctRoles.get_roles`).
    pub fn bin_name(&self, index: u64) -> String {
        format!(
            "{}-{:0width$x}",
            self.name_prefix,
            index,
            width = self.suffix_len()
        )
    }

    /// Whether `name` is one of the bins.
    pub fn is_bin(&self, name: &str) -> bool {
        let Some(suffix) = name
            .strip_prefix(self.name_prefix.as_str())
            .and_then(|s| s.strip_prefix('-'))
        else {
            return false;
        };
        if suffix.len() != self.suffix_len() || !suffix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        u64::from_str_radix(suffix, 16)
            .map(|n| n < 1u64.checked_shl(self.bit_length).unwrap_or(u64::MAX))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_version_rules() {
        assert!(check_spec_version("root", "1.0.31").is_ok());
        assert!(check_spec_version("root", "1.0").is_ok());
        for bad in ["2.0.0", "1", "1.0.0.0", "1.x.0", "", "01.0.0", "1..0"] {
            assert!(check_spec_version("root", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn succinct_bins_follow_python_tuf() {
        let s = SuccinctRoles {
            keyids: vec![],
            threshold: 1,
            bit_length: 5,
            name_prefix: "bin".into(),
        };
        // python-tuf: SuccinctRoles([], 1, 5, "bin").get_role_for_target("a.txt")
        let h = crate::digest::Sha256Digest::of(b"a.txt").0;
        let expected = format!("bin-{:02x}", h[0] >> 3);
        assert_eq!(s.role_for_target("a.txt"), expected);
        assert!(s.is_bin("bin-1f"));
        assert!(!s.is_bin("bin-20"));
        assert!(!s.is_bin("bin-1"));
        assert!(!s.is_bin("bins-01"));
    }
}
