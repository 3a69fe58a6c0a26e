//! The publisher commands: `init`, `publish`, `alias`, `delegate`, `rotate-root`,
//! `refresh-timestamp`. Thin over `edge_registry::publish`: this file reads and writes files,
//! draws keys from the operating system's random number generator and parses arguments.
//!
//! Layout of a repository directory `REPO`:
//!
//! ```text
//! REPO/metadata/        served: TUF metadata (consistent snapshots)
//! REPO/targets/         served: models/<name>/<version>/..., models/<name>/aliases.json
//! REPO/publisher.json   not served: expiry periods
//! REPO/keys/            not served (or --keys DIR): <role>/<keyid>.json, teams/<team>/...,
//!                       retired/...; files 0600, directories 0700
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use edge_registry::clock::{Clock, SystemClock, UnixSeconds};
use edge_registry::error::ErrorCode;
use edge_registry::eval::DataFormat;
use edge_registry::publish::{
    parse_duration, profile_from_table, Changes, Expiries, FileBytes, KeyFile, Keyring,
    PublishError, PublishOutcome, Release, RepoFiles, Repository, RoleVersion,
};
use edge_registry::store::fs::FsStore;
use edge_registry::store::{Op, Store};
use edge_registry::tuf::keys::Ed25519Signer;
use edge_registry::tuf::time::format_expires;

const LOCK_FILE: &str = ".edge-registry.lock";
const CONFIG_FILE: &str = "publisher.json";

fn fail(e: &dyn ErrorCode) -> String {
    format!("{}: {e}", e.code())
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("STORE: cannot {what} {}: {e}", path.display())
}

/// Where the repository and its keys are.
#[derive(Args, Debug, Clone)]
pub struct RepoArgs {
    /// The repository directory (serve its metadata/ and targets/).
    #[arg(value_name = "REPO")]
    pub repo: PathBuf,
    /// Directory of the private keys (default REPO/keys; never inside metadata/ or targets/).
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
}

impl RepoArgs {
    fn keys_dir(&self) -> PathBuf {
        self.keys.clone().unwrap_or_else(|| self.repo.join("keys"))
    }

    /// Refuses a keys directory inside the served directories.
    fn check_keys_dir(&self) -> Result<(), String> {
        let abs = |p: &Path| -> PathBuf {
            let p = if p.is_absolute() {
                p.to_path_buf()
            } else {
                std::env::current_dir().unwrap_or_default().join(p)
            };
            // Canonicalise the longest existing ancestor, keep the rest as written.
            let mut existing = p.clone();
            let mut rest = Vec::new();
            while !existing.exists() {
                match (existing.file_name(), existing.parent()) {
                    (Some(n), Some(parent)) => {
                        rest.push(n.to_os_string());
                        existing = parent.to_path_buf();
                    }
                    _ => break,
                }
            }
            let mut out = existing.canonicalize().unwrap_or(existing);
            for n in rest.iter().rev() {
                out.push(n);
            }
            out
        };
        let keys = abs(&self.keys_dir());
        for served in ["metadata", "targets"] {
            let dir = abs(&self.repo.join(served));
            if keys.starts_with(&dir) {
                return Err(format!(
                    "INVALID_ARGUMENT: the keys directory {} is inside the served {}",
                    keys.display(),
                    dir.display()
                ));
            }
        }
        Ok(())
    }
}

/// A repository opened for editing: holds the lock until dropped.
struct OpenRepo {
    dir: PathBuf,
    keys_dir: PathBuf,
    store: FsStore,
    lock: PathBuf,
}

impl Drop for OpenRepo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

struct DirFiles<'a>(&'a FsStore);

impl RepoFiles for DirFiles<'_> {
    fn read(&mut self, path: &str) -> Result<Option<Vec<u8>>, PublishError> {
        pollster::block_on(self.0.get(path)).map_err(|e| PublishError::BadRepository {
            file: path.to_string(),
            reason: e.to_string(),
            source: None,
        })
    }
}

impl OpenRepo {
    fn open(args: &RepoArgs, create: bool) -> Result<OpenRepo, String> {
        args.check_keys_dir()?;
        if create {
            std::fs::create_dir_all(&args.repo).map_err(|e| io_err("create", &args.repo, e))?;
        } else if !args.repo.join("metadata/root.json").is_file() {
            return Err(format!(
                "NOT_FOUND: {} is not a repository (no metadata/root.json; run `edge-registry init`)",
                args.repo.display()
            ));
        }
        let lock = args.repo.join(LOCK_FILE);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    format!(
                        "LOCKED: another publisher command is running on {} (if none is, remove {})",
                        args.repo.display(),
                        lock.display()
                    )
                } else {
                    io_err("create", &lock, e)
                }
            })?;
        let store = FsStore::new(&args.repo).map_err(|e| fail(&e))?;
        Ok(OpenRepo {
            dir: args.repo.clone(),
            keys_dir: args.keys_dir(),
            store,
            lock,
        })
    }

    fn load(&self) -> Result<Repository, String> {
        Repository::load(&mut DirFiles(&self.store)).map_err(|e| fail(&e))
    }

    fn expiries(&self) -> Result<Expiries, String> {
        match std::fs::read(self.dir.join(CONFIG_FILE)) {
            Ok(b) => Expiries::from_config_json(&b).map_err(|e| fail(&e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Expiries::default()),
            Err(e) => Err(io_err("read", &self.dir.join(CONFIG_FILE), e)),
        }
    }

    /// Every key under the keys directory except `retired/`.
    fn keyring(&self) -> Result<Keyring, String> {
        let mut ring = Keyring::new();
        for (path, key) in read_keys(&self.keys_dir)? {
            if path
                .strip_prefix(&self.keys_dir)
                .is_ok_and(|p| p.starts_with("retired"))
            {
                continue;
            }
            ring.add(key.signer);
        }
        Ok(ring)
    }

    fn write(&self, changes: &Changes) -> Result<(), String> {
        let ops: Vec<Op<'_>> = changes
            .files
            .iter()
            .map(|f| Op::Put(f.path.as_str(), f.bytes.as_slice()))
            .collect();
        pollster::block_on(self.store.commit(&ops)).map_err(|e| fail(&e))
    }
}

fn read_keys(dir: &Path) -> Result<Vec<(PathBuf, KeyFile)>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("list", &d, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_err("list", &d, e))?;
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).map_err(|e| io_err("read", &path, e))?;
                let key = KeyFile::from_bytes(&path.display().to_string(), &bytes)
                    .map_err(|e| fail(&e))?;
                out.push((path, key));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A new Ed25519 key from the operating system's random number generator.
fn new_key() -> Result<Ed25519Signer, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| format!("RANDOM: no operating system randomness: {e}"))?;
    Ok(Ed25519Signer::from_seed(&seed))
}

fn new_keys(n: u32) -> Result<Vec<Ed25519Signer>, String> {
    (0..n).map(|_| new_key()).collect()
}

fn create_private_dir(dir: &Path) -> Result<(), String> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| io_err("create", dir, e))
}

/// Writes a key file (mode 0600) under `dir/<sub>/<keyid>.json`.
fn write_key(dir: &Path, sub: &str, key: &KeyFile) -> Result<PathBuf, String> {
    let d = dir.join(sub);
    create_private_dir(dir)?;
    create_private_dir(&d)?;
    let path = d.join(format!("{}.json", key.signer.keyid()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path).map_err(|e| io_err("create", &path, e))?;
    use std::io::Write;
    f.write_all(&key.to_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err("write", &path, e))?;
    Ok(path)
}

fn now() -> UnixSeconds {
    SystemClock.now()
}

fn print_signed(changes: &Changes) {
    for s in &changes.signed {
        println!("  signed {s}");
    }
}

// ---------------------------------------------------------------------------------------------
// init

/// Options of `init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Number of root keys (k-of-n root signing: with --root-threshold).
    #[arg(long, default_value_t = 1, value_name = "N")]
    root_keys: u32,
    /// Root keys that must sign a new root.
    #[arg(long, default_value_t = 1, value_name = "K")]
    root_threshold: u64,
    /// Root metadata validity.
    #[arg(long, default_value = "365d", value_name = "DURATION")]
    expires_root: String,
    /// Targets (and team) metadata validity.
    #[arg(long, default_value = "90d", value_name = "DURATION")]
    expires_targets: String,
    /// Snapshot metadata validity.
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    expires_snapshot: String,
    /// Timestamp metadata validity (re-sign it with `refresh-timestamp` before it lapses).
    #[arg(long, default_value = "1d", value_name = "DURATION")]
    expires_timestamp: String,
}

/// `edge-registry init`.
pub fn init(a: InitArgs) -> Result<(), String> {
    let expiries = Expiries {
        root: parse_duration(&a.expires_root).map_err(|e| fail(&e))?,
        targets: parse_duration(&a.expires_targets).map_err(|e| fail(&e))?,
        snapshot: parse_duration(&a.expires_snapshot).map_err(|e| fail(&e))?,
        timestamp: parse_duration(&a.expires_timestamp).map_err(|e| fail(&e))?,
    };
    if a.repo.repo.join("metadata/root.json").exists() {
        return Err(format!(
            "ALREADY_EXISTS: {} already holds a repository",
            a.repo.repo.display()
        ));
    }
    let open = OpenRepo::open(&a.repo, true)?;
    if !read_keys(&open.keys_dir)?.is_empty() {
        return Err(format!(
            "ALREADY_EXISTS: {} already holds keys",
            open.keys_dir.display()
        ));
    }
    let root_keys = new_keys(a.root_keys)?;
    let [targets, snapshot, timestamp] = [new_key()?, new_key()?, new_key()?];
    let mut repo = Repository::create(
        &root_keys,
        a.root_threshold,
        &targets,
        &snapshot,
        &timestamp,
    )
    .map_err(|e| fail(&e))?;
    let mut ring = Keyring::new();
    let mut files: Vec<(String, Ed25519Signer)> = Vec::new();
    for k in &root_keys {
        files.push(("root".into(), k.clone()));
    }
    files.push(("targets".into(), targets));
    files.push(("snapshot".into(), snapshot));
    files.push(("timestamp".into(), timestamp));
    for (_, s) in &files {
        ring.add(s.clone());
    }
    let changes = repo.commit(&ring, now(), &expiries).map_err(|e| fail(&e))?;
    for (role, signer) in files {
        write_key(
            &open.keys_dir,
            &role,
            &KeyFile {
                role: role.clone(),
                signer,
            },
        )?;
    }
    let config = open.dir.join(CONFIG_FILE);
    std::fs::write(&config, expiries.to_config_json()).map_err(|e| io_err("write", &config, e))?;
    open.write(&changes)?;
    println!("created registry {}", open.dir.display());
    print_signed(&changes);
    println!(
        "  root keys: {} (threshold {}), keys in {} (keep them private; never serve them)",
        a.root_keys,
        a.root_threshold,
        open.keys_dir.display()
    );
    println!(
        "  trusted root for clients: {}",
        open.dir.join("metadata/1.root.json").display()
    );
    println!(
        "  serve {0}/metadata and {0}/targets as is",
        open.dir.display()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// publish

/// Options of `publish`.
#[derive(Args, Debug)]
pub struct PublishArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// The ONNX model file.
    #[arg(value_name = "MODEL.onnx")]
    model: PathBuf,
    /// Model name ([a-z0-9][a-z0-9._-]*).
    #[arg(long)]
    name: String,
    /// Version ([0-9A-Za-z][0-9A-Za-z._-]*); published versions are immutable.
    #[arg(long)]
    version: String,
    /// Point this alias at the new version (repeatable).
    #[arg(long = "alias", value_name = "ALIAS")]
    aliases: Vec<String>,
    /// Model card fields (JSON object: task, labels, metrics, dataset, license, ...). Inputs and
    /// outputs are read from the ONNX graph (and checked against the card's, if given).
    #[arg(long, value_name = "card.json")]
    card: Option<PathBuf>,
    /// Extra file of the version (repeatable), published under its file name.
    #[arg(long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The model's author signature: an OpenSSF model-signing bundle of the model file
    /// (`model_signing sign model.onnx`), checked against the model and published as model.sig,
    /// so clients can require it (`requireModelSignature`).
    #[arg(long, value_name = "BUNDLE")]
    model_signature: Option<PathBuf>,
    /// Training data (CSV or JSON): its reference profile is published as profile.json.
    #[arg(long, value_name = "train.csv")]
    profile: Option<PathBuf>,
    /// Evaluation set (CSV), published as eval.csv.
    #[arg(long, value_name = "FILE")]
    eval_set: Option<PathBuf>,
    /// The team role that signs the model (models/TEAM-*); default: the top-level targets role.
    #[arg(long, value_name = "TEAM")]
    role: Option<String>,
    /// Replace a version already published with other content.
    #[arg(long)]
    force: bool,
    /// Publish even when the engine cannot load the model (see `edge-registry check`); the
    /// card records it under `compatibility`.
    #[arg(long)]
    force_unloadable: bool,
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("NOT_FOUND: cannot read {}: {e}", path.display()))
}

fn file_name(path: &Path) -> Result<String, String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| format!("INVALID_ARGUMENT: {} has no file name", path.display()))
}

/// `edge-registry publish`.
pub fn publish(a: PublishArgs) -> Result<(), String> {
    let t0 = Instant::now();
    let open = OpenRepo::open(&a.repo, false)?;
    let mut repo = open.load()?;
    let expiries = open.expiries()?;
    let card = match &a.card {
        Some(p) => Some(
            serde_json::from_slice(&read_file(p)?)
                .map_err(|e| format!("BAD_CARD: {}: {e}", p.display()))?,
        ),
        None => None,
    };
    let mut files: Vec<FileBytes> = Vec::new();
    if let Some(p) = &a.profile {
        let format = if p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            DataFormat::Json
        } else {
            DataFormat::Csv
        };
        let table = profile_from_table(format, &read_file(p)?).map_err(|e| fail(&e))?;
        if table.skipped > 0 {
            eprintln!(
                "warning: {}: {} malformed rows left out of the profile",
                p.display(),
                table.skipped
            );
        }
        files.push(FileBytes::new(
            "profile.json",
            (table.profile.to_json() + "\n").into_bytes(),
        ));
    }
    if let Some(p) = &a.eval_set {
        files.push(FileBytes::new("eval.csv", read_file(p)?));
    }
    for p in &a.files {
        files.push(FileBytes::new(file_name(p)?, read_file(p)?));
    }
    let model = read_file(&a.model)?;
    if let Some(p) = &a.model_signature {
        let bundle = read_file(p)?;
        edge_registry::app::model_signature::verify_model_file(&bundle, None, &model)
            .map_err(|e| format!("{}: {}: {e}", e.code(), p.display()))?;
        files.push(FileBytes::new(
            edge_registry::app::model_signature::MODEL_SIGNATURE_FILE,
            bundle,
        ));
    }
    let release = Release {
        name: a.name.clone(),
        version: a.version.clone(),
        model,
        card,
        files,
        aliases: a.aliases.clone(),
        role: a.role.clone(),
        force: a.force,
        force_unloadable: a.force_unloadable,
    };
    let when = now();
    let outcome = repo.publish(&release, when).map_err(|e| fail(&e))?;
    let changes = repo
        .commit(&open.keyring()?, when, &expiries)
        .map_err(|e| fail(&e))?;
    open.write(&changes)?;
    let verb = match outcome {
        PublishOutcome::Published => "published",
        PublishOutcome::Replaced => "replaced",
        PublishOutcome::Unchanged => "already published (same content)",
    };
    let role = repo.model_role(&a.name).unwrap_or_else(|| "targets".into());
    println!("{verb} {}@{} (role {role})", a.name, a.version);
    let dir = format!("models/{}/{}/", a.name, a.version);
    for t in repo.all_targets().filter(|t| t.path.starts_with(&dir)) {
        let (path, entry) = (t.path, t.entry);
        println!(
            "  {path}  {} bytes  sha256 {}",
            entry.get("length").and_then(|l| l.as_u64()).unwrap_or(0),
            entry
                .get("hashes")
                .and_then(|h| h.get("sha256"))
                .and_then(|h| h.as_str())
                .unwrap_or("")
        );
    }
    if let Some(doc) = repo.aliases(&a.name) {
        let list: Vec<String> = doc
            .aliases
            .iter()
            .map(|(k, v)| format!("{k} -> {v}"))
            .collect();
        if !list.is_empty() {
            println!("  aliases: {}", list.join(", "));
        }
    }
    print_signed(&changes);
    if changes.is_empty() {
        println!("  nothing to sign");
    }
    println!("  took {} ms", t0.elapsed().as_millis());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// alias

/// Options of `alias`.
#[derive(Args, Debug)]
pub struct AliasArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// The model.
    name: String,
    /// The alias ([a-z][a-z0-9_-]*), e.g. production.
    alias: String,
    /// The version it points to (omit with --remove).
    #[arg(required_unless_present = "remove")]
    version: Option<String>,
    /// Remove the alias instead.
    #[arg(long, conflicts_with = "version")]
    remove: bool,
}

/// `edge-registry alias`.
pub fn alias(a: AliasArgs) -> Result<(), String> {
    let open = OpenRepo::open(&a.repo, false)?;
    let mut repo = open.load()?;
    let changed = match (&a.version, a.remove) {
        (Some(v), false) => repo.set_alias(&a.name, &a.alias, v),
        _ => repo.remove_alias(&a.name, &a.alias),
    }
    .map_err(|e| fail(&e))?;
    let changes = repo
        .commit(&open.keyring()?, now(), &open.expiries()?)
        .map_err(|e| fail(&e))?;
    open.write(&changes)?;
    match (&a.version, changed) {
        (_, false) => println!("{}@{}: unchanged", a.name, a.alias),
        (Some(v), true) => println!("{}@{} -> {v}", a.name, a.alias),
        (None, true) => println!("{}@{} removed", a.name, a.alias),
    }
    print_signed(&changes);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// delegate

/// Options of `delegate`.
#[derive(Args, Debug)]
pub struct DelegateArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Team name ([a-z0-9]+): the role may sign only models/TEAM-*.
    team: String,
    /// Number of team keys.
    #[arg(long, default_value_t = 1, value_name = "N")]
    team_keys: u32,
    /// Team keys that must sign.
    #[arg(long, default_value_t = 1, value_name = "K")]
    threshold: u64,
}

/// `edge-registry delegate`.
pub fn delegate(a: DelegateArgs) -> Result<(), String> {
    let open = OpenRepo::open(&a.repo, false)?;
    let mut repo = open.load()?;
    let keys = new_keys(a.team_keys)?;
    repo.delegate(&a.team, &keys, a.threshold)
        .map_err(|e| fail(&e))?;
    let mut ring = open.keyring()?;
    for k in &keys {
        ring.add(k.clone());
    }
    let changes = repo
        .commit(&ring, now(), &open.expiries()?)
        .map_err(|e| fail(&e))?;
    let mut written = Vec::new();
    for k in keys {
        written.push(write_key(
            &open.keys_dir,
            &format!("teams/{}", a.team),
            &KeyFile {
                role: a.team.clone(),
                signer: k,
            },
        )?);
    }
    open.write(&changes)?;
    println!(
        "delegated models/{0}-* to role {0} ({1} key(s), threshold {2})",
        a.team, a.team_keys, a.threshold
    );
    for p in written {
        println!("  team key: {} (give it to the team)", p.display());
    }
    print_signed(&changes);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// rotate-root

/// Options of `rotate-root`.
#[derive(Args, Debug)]
pub struct RotateRootArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Number of new root keys.
    #[arg(long, default_value_t = 1, value_name = "N")]
    root_keys: u32,
    /// New root keys that must sign.
    #[arg(long, default_value_t = 1, value_name = "K")]
    root_threshold: u64,
    /// Also give these top-level roles new keys (timestamp, snapshot, targets; repeatable).
    #[arg(long = "rotate", value_name = "ROLE")]
    rotate: Vec<String>,
}

/// `edge-registry rotate-root`.
pub fn rotate_root(a: RotateRootArgs) -> Result<(), String> {
    let open = OpenRepo::open(&a.repo, false)?;
    let mut repo = open.load()?;
    let mut ring = open.keyring()?;
    let mut new: Vec<(String, Ed25519Signer)> = Vec::new();
    let mut retire: Vec<String> = vec!["root".into()];
    let root_keys = new_keys(a.root_keys)?;
    repo.rotate_keys("root", &root_keys, a.root_threshold)
        .map_err(|e| fail(&e))?;
    for k in root_keys {
        new.push(("root".into(), k));
    }
    for role in &a.rotate {
        if !["timestamp", "snapshot", "targets"].contains(&role.as_str()) {
            return Err(format!(
                "INVALID_ARGUMENT: --rotate takes timestamp, snapshot or targets, not {role:?}"
            ));
        }
        let k = new_key()?;
        repo.rotate_keys(role, std::slice::from_ref(&k), 1)
            .map_err(|e| fail(&e))?;
        new.push((role.clone(), k));
        retire.push(role.clone());
    }
    for (_, k) in &new {
        ring.add(k.clone());
    }
    let changes = repo
        .commit(&ring, now(), &open.expiries()?)
        .map_err(|e| fail(&e))?;
    // New keys first (a failure after this leaves unused keys, never a root we cannot sign
    // for), then the metadata, then the old keys of the rotated roles go to retired/.
    let keep: std::collections::BTreeSet<String> =
        new.iter().map(|(_, k)| k.keyid().to_string()).collect();
    let old_keys = read_keys(&open.keys_dir)?;
    for (role, signer) in new {
        write_key(
            &open.keys_dir,
            &role,
            &KeyFile {
                role: role.clone(),
                signer,
            },
        )?;
    }
    open.write(&changes)?;
    for (path, key) in old_keys {
        let rel = path.strip_prefix(&open.keys_dir).unwrap_or(&path);
        if rel.starts_with("retired")
            || !retire.contains(&key.role)
            || keep.contains(key.signer.keyid())
        {
            continue;
        }
        let dest_dir = open.keys_dir.join("retired").join(&key.role);
        create_private_dir(&dest_dir)?;
        let dest = dest_dir.join(path.file_name().unwrap_or_default());
        std::fs::rename(&path, &dest).map_err(|e| io_err("move", &path, e))?;
    }
    println!(
        "rotated root to {} new key(s), threshold {} (old keys in {})",
        a.root_keys,
        a.root_threshold,
        open.keys_dir.join("retired").display()
    );
    print_signed(&changes);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// refresh-timestamp

/// Options of `refresh-timestamp`.
#[derive(Args, Debug)]
pub struct RefreshTimestampArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Validity of the new timestamp (default: the repository's timestamp period).
    #[arg(long, value_name = "DURATION")]
    expires: Option<String>,
    /// Re-sign the snapshot too (done anyway when it would expire before the new timestamp).
    #[arg(long)]
    snapshot: bool,
}

/// `edge-registry refresh-timestamp` (for cron).
pub fn refresh_timestamp(a: RefreshTimestampArgs) -> Result<(), String> {
    let open = OpenRepo::open(&a.repo, false)?;
    let mut repo = open.load()?;
    let expiries = open.expiries()?;
    let when = now();
    let period = match &a.expires {
        Some(d) => parse_duration(d).map_err(|e| fail(&e))?,
        None => expiries.timestamp,
    };
    let until = when.saturating_add(period);
    repo.resign("timestamp", Some(until))
        .map_err(|e| fail(&e))?;
    let snapshot_lapses = repo.expires_of("snapshot").is_none_or(|t| t < until);
    if a.snapshot || snapshot_lapses {
        let at = when.saturating_add(expiries.snapshot.max(period));
        repo.resign("snapshot", Some(at)).map_err(|e| fail(&e))?;
    }
    let changes = repo
        .commit(&open.keyring()?, when, &expiries)
        .map_err(|e| fail(&e))?;
    open.write(&changes)?;
    println!("refreshed {}", open.dir.display());
    print_signed(&changes);
    for RoleVersion { role, status } in repo.role_status() {
        let exp = status.expires;
        if let Some(t) = edge_registry::tuf::time::parse_expires(&exp) {
            if t < when.saturating_add(14 * 86_400) && role != "timestamp" && role != "snapshot" {
                eprintln!(
                    "warning: {role} expires {exp} (within 14 days of {}): re-sign it",
                    format_expires(when)
                );
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// prune

/// Options of `prune`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Versions of each role's metadata to keep (the current one included).
    #[arg(long, default_value_t = 10, value_name = "N")]
    keep: u64,
}

/// `edge-registry prune`: deletes old consistent-snapshot metadata versions
/// (`N.snapshot.json`, `N.<role>.json`) no client needs; root versions always stay.
pub fn prune(a: PruneArgs) -> Result<(), String> {
    let open = OpenRepo::open(&a.repo, false)?;
    let repo = open.load()?;
    let dir = open.dir.join("metadata");
    let mut names = Vec::new();
    for e in std::fs::read_dir(&dir).map_err(|e| io_err("list", &dir, e))? {
        let e = e.map_err(|e| io_err("list", &dir, e))?;
        if let Some(n) = e.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    let gone = repo.prunable(&names, a.keep);
    let keys: Vec<String> = gone.iter().map(|n| format!("metadata/{n}")).collect();
    let ops: Vec<Op<'_>> = keys.iter().map(|k| Op::Delete(k.as_str())).collect();
    pollster::block_on(open.store.commit(&ops)).map_err(|e| fail(&e))?;
    println!(
        "pruned {} old metadata file(s) from {}, keeping {} version(s) of each role",
        gone.len(),
        dir.display(),
        a.keep.max(1)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// rollout

/// Options of `rollout`.
#[derive(Args, Debug)]
pub struct RolloutArgs {
    #[command(subcommand)]
    action: RolloutAction,
}

/// What `rollout` does to `NAME@ALIAS`.
#[derive(clap::Subcommand, Debug)]
enum RolloutAction {
    /// Start a staged rollout of NAME@ALIAS to a version: the alias keeps its version for
    /// everyone outside the candidate's share, and for every fallback.
    Start(RolloutStartArgs),
    /// Start the next stage now; after the last stage, complete the rollout (the alias moves
    /// to the candidate).
    Advance(RolloutTarget),
    /// Pause: clients stay in the current stage, scheduled stages wait.
    Pause(RolloutTarget),
    /// Resume a paused rollout (stages not started yet move later by the pause's length).
    Resume(RolloutTarget),
    /// End the rollout without moving the alias: every client goes back to its version.
    Abort(RolloutTarget),
    /// Show the rollout: stages, shares, dates, where it stands now, and with --client the
    /// version each client id gets now (the rule every client applies).
    Status(RolloutStatusArgs),
}

/// Options of `rollout status`.
#[derive(Args, Debug)]
struct RolloutStatusArgs {
    #[command(flatten)]
    at: RolloutTarget,
    /// Also show the version, bucket and reason for this client id (repeatable).
    #[arg(long = "client", value_name = "ID")]
    clients: Vec<String>,
    /// The app version those clients report (for a --min-client rule).
    #[arg(long, value_name = "VERSION")]
    client_version: Option<String>,
}

/// A repository and `NAME@ALIAS`.
#[derive(Args, Debug)]
struct RolloutTarget {
    #[command(flatten)]
    repo: RepoArgs,
    /// The model and alias, e.g. digits@production.
    #[arg(value_name = "NAME@ALIAS")]
    target: String,
}

/// Options of `rollout start`.
#[derive(Args, Debug)]
struct RolloutStartArgs {
    #[command(flatten)]
    at: RolloutTarget,
    /// The candidate version.
    #[arg(long, value_name = "VERSION")]
    to: String,
    /// The candidate's share at each stage, in percent (up to 2 decimals), e.g. 1,10,50,100.
    #[arg(long, value_delimiter = ',', default_value = "1,10,50,100")]
    stages: Vec<String>,
    /// Time between stages (e.g. 1d, 12h, 30m): every stage gets a signed start date. Without
    /// it only the first stage is scheduled, and `rollout advance` starts the others.
    #[arg(long, value_name = "DURATION")]
    every: Option<String>,
    /// When the first stage starts (YYYY-MM-DDTHH:MM:SSZ; default now).
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// The salt of the clients' hashes (default: random).
    #[arg(long)]
    salt: Option<String>,
    /// Clients check the candidate's signed evaluation gates on the device and fall back to the
    /// alias's version when it fails them.
    #[arg(long)]
    gate: bool,
    /// Lowest app version that takes part (clients that do not say theirs stay out).
    #[arg(long, value_name = "VERSION")]
    min_client: Option<String>,
}

fn split_target(t: &str) -> Result<(String, String), String> {
    let bad = || format!("INVALID_ARGUMENT: {t:?} is not NAME@ALIAS");
    let (name, alias) = t.split_once('@').ok_or_else(bad)?;
    edge_registry::catalogue::check_model_name(name).map_err(|e| fail(&e))?;
    edge_registry::catalogue::check_alias(alias).map_err(|e| fail(&e))?;
    Ok((name.to_string(), alias.to_string()))
}

/// `1`, `0.5`, `12.25` percent to basis points.
fn basis_points(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "INVALID_ARGUMENT: stage share {text:?} is not a percentage with at most 2 decimals"
        )
    };
    let (whole, frac) = text
        .trim()
        .trim_end_matches('%')
        .split_once('.')
        .unwrap_or((text.trim().trim_end_matches('%'), ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let w: u64 = whole.parse().map_err(|_| bad())?;
    let f: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    w.checked_mul(100)
        .and_then(|x| x.checked_add(f))
        .ok_or_else(bad)
}

/// `30m`, `12h`, `1d`, `2w`, or seconds.
fn duration_secs(text: &str) -> Result<i64, String> {
    let bad = || format!("INVALID_ARGUMENT: duration {text:?} is not like 30m, 12h, 1d or 2w");
    let (n, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = n.parse().map_err(|_| bad())?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).filter(|s| *s > 0).ok_or_else(bad)
}

fn random_salt() -> Result<String, String> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| format!("INTERNAL: no randomness for the salt: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Prints a rollout and where it stands at `now`.
pub fn print_rollout(
    indent: &str,
    alias: &str,
    baseline: &str,
    r: &edge_registry::catalogue::Rollout,
    now: UnixSeconds,
) {
    let active = r.active_stage(now);
    let state = if r.paused_at.is_some() {
        format!("paused at {}", r.paused_at.as_deref().unwrap_or(""))
    } else {
        match active {
            None => "not started".to_string(),
            Some(i) => format!("stage {} of {}", i + 1, r.stages.len()),
        }
    };
    let mut rules = Vec::new();
    if r.gate {
        rules.push("gated".to_string());
    }
    if let Some(m) = &r.min_client {
        rules.push(format!("min client {m}"));
    }
    let rules = if rules.is_empty() {
        String::new()
    } else {
        format!(", {}", rules.join(", "))
    };
    println!(
        "{indent}rollout {alias}: {baseline} -> {} ({state}{rules}; salt {})",
        r.to, r.salt
    );
    for (i, s) in r.stages.iter().enumerate() {
        let total: u64 = s.weights.values().sum();
        let share = s.weights.get(&r.to).copied().unwrap_or(0) as f64 * 100.0 / total.max(1) as f64;
        let mark = if active == Some(i) { "*" } else { " " };
        println!(
            "{indent}  {mark} stage {}: {share:.2}% on {} from {}",
            i + 1,
            r.to,
            s.start.as_deref().unwrap_or("(when advanced)")
        );
    }
}

/// `edge-registry rollout`.
pub fn rollout(a: RolloutArgs) -> Result<(), String> {
    let target = match &a.action {
        RolloutAction::Start(s) => &s.at,
        RolloutAction::Advance(t)
        | RolloutAction::Pause(t)
        | RolloutAction::Resume(t)
        | RolloutAction::Abort(t) => t,
        RolloutAction::Status(s) => &s.at,
    };
    let (name, alias) = split_target(&target.target)?;
    let open = OpenRepo::open(&target.repo, false)?;
    let mut repo = open.load()?;
    let t = now();
    let message = match &a.action {
        RolloutAction::Status(st) => {
            let doc = repo.aliases(&name).cloned();
            let baseline = doc.as_ref().and_then(|d| d.aliases.get(&alias)).cloned();
            match (repo.rollout(&name, &alias), baseline) {
                (Some(r), Some(b)) => {
                    print_rollout("", &alias, &b, r, t);
                    let versions = repo.versions(&name);
                    for id in &st.clients {
                        let client = edge_registry::catalogue::RolloutClient {
                            id: Some(id),
                            version: st.client_version.as_deref(),
                            now: t,
                        };
                        let c = r.choose(&alias, &b, &client, |v| versions.iter().any(|x| x == v));
                        println!(
                            "client {id}: version {} (bucket {}, {})",
                            c.chosen,
                            c.bucket.as_deref().unwrap_or("-"),
                            serde_json::to_value(&c.reason)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        );
                    }
                }
                (None, Some(b)) => println!("{name}@{alias} -> {b} (no rollout)"),
                _ => return Err(format!("NOT_FOUND: no alias {name}@{alias}")),
            }
            return Ok(());
        }
        RolloutAction::Start(s) => {
            let stages = s
                .stages
                .iter()
                .map(|x| basis_points(x))
                .collect::<Result<Vec<_>, _>>()?;
            let start = match &s.start {
                None => t,
                Some(x) => edge_registry::tuf::time::parse_expires(x).ok_or_else(|| {
                    format!("INVALID_ARGUMENT: --start {x:?} is not YYYY-MM-DDTHH:MM:SSZ")
                })?,
            };
            let plan = edge_registry::publish::RolloutPlan {
                to: s.to.clone(),
                stages,
                start,
                every: s.every.as_deref().map(duration_secs).transpose()?,
                salt: match &s.salt {
                    Some(x) => x.clone(),
                    None => random_salt()?,
                },
                gate: s.gate,
                min_client: s.min_client.clone(),
            };
            repo.start_rollout(&name, &alias, &plan)
                .map_err(|e| fail(&e))?;
            format!("{name}@{alias}: rollout to {} started", s.to)
        }
        RolloutAction::Advance(_) => match repo
            .advance_rollout(&name, &alias, t)
            .map_err(|e| fail(&e))?
        {
            edge_registry::publish::Advanced::Stage(i) => {
                format!("{name}@{alias}: stage {} starts now", i + 1)
            }
            edge_registry::publish::Advanced::Completed(v) => {
                format!("{name}@{alias}: rollout complete, {name}@{alias} -> {v}")
            }
        },
        RolloutAction::Pause(_) => {
            let changed = repo.pause_rollout(&name, &alias, t).map_err(|e| fail(&e))?;
            format!(
                "{name}@{alias}: {}",
                if changed { "paused" } else { "already paused" }
            )
        }
        RolloutAction::Resume(_) => {
            let changed = repo
                .resume_rollout(&name, &alias, t)
                .map_err(|e| fail(&e))?;
            format!(
                "{name}@{alias}: {}",
                if changed { "resumed" } else { "not paused" }
            )
        }
        RolloutAction::Abort(_) => {
            repo.abort_rollout(&name, &alias).map_err(|e| fail(&e))?;
            format!("{name}@{alias}: rollout aborted, every client back on the alias's version")
        }
    };
    let changes = repo
        .commit(&open.keyring()?, t, &open.expiries()?)
        .map_err(|e| fail(&e))?;
    open.write(&changes)?;
    println!("{message}");
    if let (Some(r), Some(b)) = (
        repo.rollout(&name, &alias),
        repo.aliases(&name).and_then(|d| d.aliases.get(&alias)),
    ) {
        print_rollout("  ", &alias, b, r, t);
    }
    print_signed(&changes);
    Ok(())
}
