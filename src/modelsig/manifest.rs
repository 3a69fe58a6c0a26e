//! The statement a model signature signs, and the check of a model's bytes against it.
//!
//! model_signing 1.x (`predicateType` `https://model_signing/signature/v1.0`):
//!
//! - `predicate.serialization`: `method` `files` (one digest per file) or `shards` (one per
//!   `shard_size` bytes of each file, named `path:start:end`), `hash_type` (`sha256`),
//!   `allow_symlinks`, `ignore_paths`;
//! - `predicate.resources`: `{name, algorithm, digest}` per file or shard, sorted by name. A file
//!   is named by its path relative to the model directory with `/`; a model that is one file
//!   names it `.`;
//! - the one subject: the model's name and the SHA-256 over the resources' digests in the listed
//!   order, which must agree (else the statement is inconsistent).
//!
//! model_signing 0.2 (`https://model_signing/Digests/v0.1`): each file is a subject.
//!
//! A check ([`Checker`]) hashes the model's files as they stream (whole files or shards) and then
//! compares with the manifest: a missing file, an extra file or a different digest is
//! `MODEL_SIGNATURE_MISMATCH`, as with the reference verifier.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::keys::hex;
use super::{invalid, limits, over_limit, ModelSigError, PREDICATE_TYPE};

/// The predicate type of model_signing 0.2.
pub const PREDICATE_TYPE_V0_2: &str = "https://model_signing/Digests/v0.1";
const STATEMENT_TYPES: &[&str] = &[
    "https://in-toto.io/Statement/v1",
    "https://in-toto.io/Statement/v0.1",
];

/// How a model was cut into resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serialization {
    /// `files` or `shards`.
    pub method: String,
    /// The shard size in bytes (`shards` only).
    pub shard_size: Option<u64>,
    /// `sha256`.
    pub hash_type: String,
    /// Whether symlinks were followed when signing.
    pub allow_symlinks: bool,
    /// Paths left out of the signature (relative to the model directory).
    pub ignore_paths: Vec<String>,
}

/// One file or shard and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `path` (files) or `path:start:end` (shards); `.` for a one-file model.
    pub name: String,
    /// SHA-256.
    pub digest: [u8; 32],
}

/// A signed model manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The model's name (the subject's name).
    pub model_name: String,
    /// The subject's digest: SHA-256 over the resources' digests (v1.0 only).
    pub root_digest: Option<[u8; 32]>,
    /// How the model was serialized.
    pub serialization: Serialization,
    /// The resources, in the statement's order.
    pub resources: Vec<Resource>,
    /// The predicate type read.
    pub predicate_type: String,
}

fn get<'a>(obj: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a Value, ModelSigError> {
    obj.get(key)
        .ok_or_else(|| invalid(format!("the statement's {what} has no `{key}`")))
}

fn as_str<'a>(v: &'a Value, what: &str) -> Result<&'a str, ModelSigError> {
    v.as_str()
        .ok_or_else(|| invalid(format!("the statement's {what} is not a string")))
}

fn digest32(text: &str, what: &str) -> Result<[u8; 32], ModelSigError> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return Err(invalid(format!("{what} is not 64 hex digits")));
    }
    for (i, slot) in out.iter_mut().enumerate() {
        let pair = text
            .get(i * 2..i * 2 + 2)
            .ok_or_else(|| invalid(format!("{what} is not hex")))?;
        *slot = u8::from_str_radix(pair, 16).map_err(|_| invalid(format!("{what} is not hex")))?;
    }
    Ok(out)
}

fn name(v: &Value, what: &str) -> Result<String, ModelSigError> {
    let n = as_str(v, what)?;
    if n.len() > limits::NAME_BYTES {
        return Err(over_limit("a resource name", limits::NAME_BYTES));
    }
    Ok(n.to_string())
}

impl Manifest {
    /// Reads a statement (the envelope's payload).
    pub fn from_statement(payload: &[u8]) -> Result<Manifest, ModelSigError> {
        let v: Value = serde_json::from_slice(payload)
            .map_err(|e| invalid(format!("the statement is not JSON: {e}")))?;
        let top = v
            .as_object()
            .ok_or_else(|| invalid("the statement is not a JSON object"))?;
        let st = as_str(get(top, "_type", "top level")?, "_type")?;
        if !STATEMENT_TYPES.contains(&st) {
            return Err(invalid("the payload is not an in-toto statement"));
        }
        let ptype = as_str(get(top, "predicateType", "top level")?, "predicateType")?;
        let subjects = get(top, "subject", "top level")?
            .as_array()
            .ok_or_else(|| invalid("the statement's subject is not a list"))?;
        if subjects.len() > limits::RESOURCES {
            return Err(over_limit("subjects", limits::RESOURCES));
        }
        match ptype {
            PREDICATE_TYPE => Self::v1(top, subjects),
            PREDICATE_TYPE_V0_2 => Self::v0_2(subjects),
            other => Err(invalid(format!(
                "the statement's predicate type is `{}`, not a model signature",
                other.chars().take(100).collect::<String>()
            ))),
        }
    }

    fn v1(top: &Map<String, Value>, subjects: &[Value]) -> Result<Manifest, ModelSigError> {
        let [subject] = subjects else {
            return Err(invalid(
                "a model signature statement has exactly one subject",
            ));
        };
        let subject = subject
            .as_object()
            .ok_or_else(|| invalid("the statement's subject is not an object"))?;
        let model_name = name(get(subject, "name", "subject")?, "subject name")?;
        let digests = get(subject, "digest", "subject")?
            .as_object()
            .ok_or_else(|| invalid("the subject's digest is not an object"))?;
        let root = digest32(
            as_str(get(digests, "sha256", "subject digest")?, "subject sha256")?,
            "the subject's sha256",
        )?;
        let predicate = get(top, "predicate", "top level")?
            .as_object()
            .ok_or_else(|| invalid("the predicate is not an object"))?;
        let ser = get(predicate, "serialization", "predicate")?
            .as_object()
            .ok_or_else(|| invalid("the serialization is not an object"))?;
        let method = as_str(get(ser, "method", "serialization")?, "method")?;
        let hash_type = as_str(get(ser, "hash_type", "serialization")?, "hash_type")?;
        if hash_type != "sha256" {
            return Err(invalid(format!(
                "the model was hashed with `{}`; this verifier reads sha256 manifests",
                hash_type.chars().take(40).collect::<String>()
            )));
        }
        let shard_size = match method {
            "files" => None,
            "shards" => {
                // model_signing writes it as a JSON float (`1024.0`).
                let v = get(ser, "shard_size", "serialization")?;
                let size = v
                    .as_u64()
                    .or_else(|| {
                        v.as_f64()
                            .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f < 9.0e15)
                            .map(|f| f as u64)
                    })
                    .filter(|&s| s > 0)
                    .ok_or_else(|| invalid("shard_size is not a positive integer"))?;
                Some(size)
            }
            other => {
                return Err(invalid(format!(
                    "serialization method `{}` is not files or shards",
                    other.chars().take(40).collect::<String>()
                )))
            }
        };
        let allow_symlinks = match ser.get("allow_symlinks") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        let mut ignore_paths = Vec::new();
        if let Some(list) = ser.get("ignore_paths") {
            let list = list
                .as_array()
                .ok_or_else(|| invalid("ignore_paths is not a list"))?;
            if list.len() > limits::IGNORE_PATHS {
                return Err(over_limit("ignore_paths", limits::IGNORE_PATHS));
            }
            for p in list {
                ignore_paths.push(name(p, "ignore path")?);
            }
        }
        let list = get(predicate, "resources", "predicate")?
            .as_array()
            .ok_or_else(|| invalid("the resources are not a list"))?;
        if list.len() > limits::RESOURCES {
            return Err(over_limit("resources", limits::RESOURCES));
        }
        let mut resources = Vec::with_capacity(list.len());
        let mut hasher = Sha256::new();
        for r in list {
            let r = r
                .as_object()
                .ok_or_else(|| invalid("a resource is not an object"))?;
            let rname = name(get(r, "name", "resource")?, "resource name")?;
            let alg = as_str(get(r, "algorithm", "resource")?, "algorithm")?;
            // Shards name theirs `sha256-sharded-<shard size>`.
            let sharded = shard_size.map(|n| format!("sha256-sharded-{n}"));
            if alg != "sha256" && Some(alg) != sharded.as_deref() {
                return Err(invalid(format!(
                    "resource {rname}: algorithm `{}` is not sha256",
                    alg.chars().take(40).collect::<String>()
                )));
            }
            let digest = digest32(
                as_str(get(r, "digest", "resource")?, "digest")?,
                "a resource digest",
            )?;
            hasher.update(digest);
            resources.push(Resource {
                name: rname,
                digest,
            });
        }
        let computed: [u8; 32] = hasher.finalize().into();
        if computed != root {
            return Err(invalid(format!(
                "the manifest is inconsistent: the subject's digest is {}, the resources hash to \
                 {}",
                hex(&root),
                hex(&computed)
            )));
        }
        Ok(Manifest {
            model_name,
            root_digest: Some(root),
            serialization: Serialization {
                method: method.to_string(),
                shard_size,
                hash_type: hash_type.to_string(),
                allow_symlinks,
                ignore_paths,
            },
            resources,
            predicate_type: PREDICATE_TYPE.to_string(),
        })
    }

    fn v0_2(subjects: &[Value]) -> Result<Manifest, ModelSigError> {
        let mut resources = Vec::with_capacity(subjects.len());
        for s in subjects {
            let s = s
                .as_object()
                .ok_or_else(|| invalid("a subject is not an object"))?;
            let rname = name(get(s, "name", "subject")?, "subject name")?;
            let digests = get(s, "digest", "subject")?
                .as_object()
                .ok_or_else(|| invalid("a subject's digest is not an object"))?;
            let digest = digest32(
                as_str(get(digests, "sha256", "subject digest")?, "sha256")?,
                "a subject digest",
            )?;
            resources.push(Resource {
                name: rname,
                digest,
            });
        }
        Ok(Manifest {
            model_name: "compat-undefined-not-present".into(),
            root_digest: None,
            serialization: Serialization {
                method: "files".into(),
                shard_size: None,
                hash_type: "sha256".into(),
                allow_symlinks: false,
                ignore_paths: Vec::new(),
            },
            resources,
            predicate_type: PREDICATE_TYPE_V0_2.to_string(),
        })
    }

    /// Whether the model is one file (its one resource is named `.`, or `.:start:end` shards).
    pub fn is_single_file(&self) -> bool {
        !self.resources.is_empty()
            && self
                .resources
                .iter()
                .all(|r| r.name == "." || r.name.starts_with(".:"))
    }

    /// Whether `path` (relative, `/`-separated) is left out of the signature by an ignored path
    /// (the path itself or a directory above it).
    pub fn ignores(&self, path: &str) -> bool {
        self.serialization.ignore_paths.iter().any(|p| {
            let p = p.trim_end_matches('/');
            path == p
                || path
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }

    /// A checker to feed the model's files to.
    pub fn checker(&self) -> Checker<'_> {
        Checker {
            manifest: self,
            actual: BTreeMap::new(),
        }
    }

    /// The JSON summary of the manifest (for the CLI and JS).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "modelName": self.model_name,
            "rootDigest": self.root_digest.map(|d| hex(&d)),
            "predicateType": self.predicate_type,
            "serialization": {
                "method": self.serialization.method,
                "shardSize": self.serialization.shard_size,
                "hashType": self.serialization.hash_type,
                "allowSymlinks": self.serialization.allow_symlinks,
                "ignorePaths": self.serialization.ignore_paths,
            },
            "resources": self.resources.iter().map(|r| serde_json::json!({
                "name": r.name, "sha256": hex(&r.digest)
            })).collect::<Vec<_>>(),
        })
    }
}

/// Hashes one file as it streams: whole (files) or cut into shards.
#[derive(Debug)]
pub struct FileHasher {
    path: String,
    shard_size: Option<u64>,
    hasher: Sha256,
    /// Bytes fed so far.
    offset: u64,
    /// Where the current shard starts.
    shard_start: u64,
    done: Vec<(String, [u8; 32])>,
}

impl FileHasher {
    /// Feeds the next bytes of the file.
    pub fn update(&mut self, mut bytes: &[u8]) {
        if let Some(size) = self.shard_size {
            while !bytes.is_empty() {
                let room = self.shard_start.saturating_add(size) - self.offset;
                let take = usize::try_from(room).map_or(bytes.len(), |r| r.min(bytes.len()));
                let (now, rest) = bytes.split_at(take);
                self.hasher.update(now);
                self.offset += now.len() as u64;
                bytes = rest;
                if self.offset == self.shard_start.saturating_add(size) {
                    self.close_shard();
                }
            }
        } else {
            self.hasher.update(bytes);
            self.offset += bytes.len() as u64;
        }
    }

    fn close_shard(&mut self) {
        let digest: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        self.done.push((
            format!("{}:{}:{}", self.path, self.shard_start, self.offset),
            digest,
        ));
        self.shard_start = self.offset;
    }

    /// The digests of the file (one) or of its shards (`path:start:end`; an empty file is one
    /// empty shard `path:0:0`, as model_signing writes it).
    pub fn finish(mut self) -> Vec<(String, [u8; 32])> {
        match self.shard_size {
            None => {
                let digest: [u8; 32] = self.hasher.finalize().into();
                vec![(self.path, digest)]
            }
            Some(_) => {
                if self.offset > self.shard_start || self.offset == 0 {
                    self.close_shard();
                }
                self.done
            }
        }
    }
}

/// Compares a model's files with a manifest.
#[derive(Debug)]
pub struct Checker<'m> {
    manifest: &'m Manifest,
    actual: BTreeMap<String, [u8; 32]>,
}

impl Checker<'_> {
    /// A hasher for the file at `path` (relative to the model directory, `/`-separated; `.` for
    /// a one-file model). Feed it, then give it back with [`Checker::add`].
    pub fn file(&self, path: &str) -> FileHasher {
        FileHasher {
            path: path.to_string(),
            shard_size: self.manifest.serialization.shard_size,
            hasher: Sha256::new(),
            offset: 0,
            shard_start: 0,
            done: Vec::new(),
        }
    }

    /// Records a hashed file.
    pub fn add(&mut self, hashed: FileHasher) -> Result<(), ModelSigError> {
        for (name, digest) in hashed.finish() {
            if self.actual.len() >= limits::RESOURCES {
                return Err(over_limit("model files", limits::RESOURCES));
            }
            self.actual.insert(name, digest);
        }
        Ok(())
    }

    /// Hashes a file held in memory.
    pub fn add_bytes(&mut self, path: &str, bytes: &[u8]) -> Result<(), ModelSigError> {
        let mut h = self.file(path);
        h.update(bytes);
        self.add(h)
    }

    /// The comparison: every listed resource present with its digest and nothing else.
    pub fn finish(self) -> Result<usize, ModelSigError> {
        let expected: BTreeMap<&str, &[u8; 32]> = self
            .manifest
            .resources
            .iter()
            .map(|r| (r.name.as_str(), &r.digest))
            .collect();
        let mut problems = Vec::new();
        let extra: Vec<&str> = self
            .actual
            .keys()
            .map(String::as_str)
            .filter(|k| !expected.contains_key(k))
            .collect();
        if !extra.is_empty() {
            problems.push(format!("extra files: {}", list(&extra)));
        }
        let missing: Vec<&str> = expected
            .keys()
            .copied()
            .filter(|k| !self.actual.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            problems.push(format!("missing files: {}", list(&missing)));
        }
        for (k, want) in &expected {
            if let Some(got) = self.actual.get(*k) {
                if got != *want {
                    problems.push(format!(
                        "hash mismatch for '{k}': expected {}, actual {}",
                        hex(*want),
                        hex(got)
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(expected.len())
        } else {
            Err(ModelSigError::Mismatch(problems.join("; ")))
        }
    }
}

fn list(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().copied().take(10).collect();
    let more = names.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}
