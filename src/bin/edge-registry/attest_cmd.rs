//! `edge-registry attest keygen|sign|verify`: signed evaluation attestations (an evaluation
//! report as an in-toto Statement in a DSSE envelope; see `edge_registry::attest`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use edge_registry::attest::{
    self, check_models, tuf_key_from_spki, verified_json, ModelMatch, StatementOptions,
    TrustedKeys, VerifiedAttestation,
};
use edge_registry::catalogue::{Catalogue, SignedFile};
use edge_registry::clock::SystemClock;
use edge_registry::error::ErrorCode;
use edge_registry::fetch::native::NativeFetch;
use edge_registry::publish::KeyFile;
use edge_registry::store::MemoryStore;
use edge_registry::tuf::keys::Ed25519Signer;
use edge_registry::tuf::{Updater, UpdaterConfig};
use serde_json::{json, Value};

fn fail(e: &dyn ErrorCode) -> String {
    format!("{}: {e}", e.code())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("NOT_FOUND: cannot read {}: {e}", path.display()))
}

fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts
        .open(path)
        .map_err(|e| format!("STORE: cannot create {}: {e}", path.display()))?;
    use std::io::Write;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("STORE: cannot write {}: {e}", path.display()))
}

/// Options of `attest`.
#[derive(Args, Debug)]
pub struct AttestArgs {
    #[command(subcommand)]
    command: AttestCommand,
}

#[derive(Subcommand, Debug)]
enum AttestCommand {
    /// Create an Ed25519 attestation key: KEY (private, mode 0600) and KEY.pub (the public
    /// key as a TUF key object, for `attest verify --pubkey`).
    Keygen(KeygenArgs),
    /// Sign an evaluation report (`edge-registry eval --out`) as an in-toto Statement in a
    /// DSSE envelope.
    Sign(SignArgs),
    /// Verify an attestation: the envelope, the signatures and, with --registry, that the
    /// model it names is a model version the registry signs. Exit 1 with the error code on
    /// refusal.
    Verify(VerifyArgs),
}

/// Options of `attest keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// The private key file to create (refused if it exists); the public key goes to KEY.pub.
    #[arg(long, value_name = "KEY")]
    out: PathBuf,
}

/// Options of `attest sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// The evaluation report (JSON, as `edge-registry eval --out` writes it).
    #[arg(value_name = "REPORT")]
    report: PathBuf,
    /// The private key file (`attest keygen`, or any Ed25519 key file of `init`).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Where to write the envelope (refused if it exists).
    #[arg(long, value_name = "ENVELOPE")]
    out: PathBuf,
    /// The data subject's name (default: data.csv or data.json).
    #[arg(long, value_name = "NAME")]
    data_name: Option<String>,
    /// The registry the model came from, recorded in the predicate as registry.url.
    #[arg(long, value_name = "URL")]
    registry_url: Option<String>,
}

/// Options of `attest verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The envelope (JSON).
    #[arg(value_name = "ENVELOPE")]
    envelope: PathBuf,
    /// A trusted public key (repeatable): a TUF key object (KEY.pub of `attest keygen`), a key
    /// file, a JWK, a JSON array or map of those, or a PEM/DER SubjectPublicKeyInfo.
    #[arg(long = "pubkey", value_name = "PUB", required = true)]
    pubkeys: Vec<PathBuf>,
    /// Distinct trusted keys that must have signed.
    #[arg(long, default_value_t = 1, value_name = "N")]
    threshold: u64,
    /// The registry the model must be a signed version of: a directory or a URL serving
    /// REPO/metadata and REPO/targets.
    #[arg(long, value_name = "URL_OR_DIR", requires = "root")]
    registry: Option<String>,
    /// The registry's trusted root metadata (with --registry).
    #[arg(long, value_name = "ROOT", requires = "registry")]
    root: Option<PathBuf>,
    /// Print the verified statement and matches as JSON.
    #[arg(long)]
    json: bool,
}

/// `edge-registry attest ...`.
pub fn run(a: AttestArgs) -> Result<(), String> {
    match a.command {
        AttestCommand::Keygen(a) => keygen(a),
        AttestCommand::Sign(a) => sign(a),
        AttestCommand::Verify(a) => verify(a),
    }
}

fn pub_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn keygen(a: KeygenArgs) -> Result<(), String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| format!("RANDOM: no operating system randomness: {e}"))?;
    let file = KeyFile {
        role: "attestation".into(),
        signer: Ed25519Signer::from_seed(&seed),
    };
    let public = pub_path(&a.out);
    if public.exists() {
        return Err(format!("STORE: {} exists", public.display()));
    }
    write_new(&a.out, &file.to_bytes(), true)?;
    let mut pub_bytes =
        serde_json::to_vec_pretty(&file.signer.public_value()).map_err(|e| e.to_string())?;
    pub_bytes.push(b'\n');
    write_new(&public, &pub_bytes, false)?;
    println!("created attestation key {}", file.signer.keyid());
    println!("  private {} (keep it secret)", a.out.display());
    println!("  public  {}", public.display());
    Ok(())
}

fn sign(a: SignArgs) -> Result<(), String> {
    let key =
        KeyFile::from_bytes(&a.key.display().to_string(), &read(&a.key)?).map_err(|e| fail(&e))?;
    let report: Value = serde_json::from_slice(&read(&a.report)?)
        .map_err(|e| format!("INVALID_ARGUMENT: {} is not JSON: {e}", a.report.display()))?;
    let opts = StatementOptions {
        data_name: a.data_name,
        registry: a.registry_url.map(|u| json!({"url": u})),
    };
    let statement = attest::statement_from_json(&report, &opts).map_err(|e| fail(&e))?;
    let env = attest::sign_statement(&statement, &key.signer);
    write_new(&a.out, &env.to_bytes(), false)?;
    println!(
        "signed {} as {} with key {}",
        a.report.display(),
        a.out.display(),
        key.signer.keyid()
    );
    print_subjects(&statement);
    Ok(())
}

/// The string at `pointer` in `v`, or `or`.
fn text<'a>(v: &'a Value, pointer: &str, or: &'a str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or(or)
}

fn print_subjects(statement: &Value) {
    let subjects = statement.get("subject").and_then(Value::as_array);
    for s in subjects.into_iter().flatten() {
        println!(
            "  {:<10} {}  sha256 {}",
            text(s, "/annotations/role", "subject"),
            text(s, "/name", ""),
            text(s, "/digest/sha256", "-")
        );
    }
}

fn trusted_keys(paths: &[PathBuf]) -> Result<TrustedKeys, String> {
    let mut list = Vec::new();
    for p in paths {
        let bytes = read(p)?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(keys)) => list.extend(keys),
            Ok(v @ Value::Object(_)) if v.get("keytype").is_some() || v.get("kty").is_some() => {
                list.push(v)
            }
            // A TUF keys map or JWK Set: read on its own, so its key ids are kept.
            Ok(v @ Value::Object(_)) => {
                for k in TrustedKeys::from_value(&v).map_err(|e| fail(&e))?.iter() {
                    list.push(k.value.clone());
                }
            }
            Ok(_) => return Err(format!("INVALID_ARGUMENT: {} is not a key", p.display())),
            Err(_) => list.push(
                tuf_key_from_spki(&bytes)
                    .map_err(|e| format!("{}: {}: {e}", e.code(), p.display()))?,
            ),
        }
    }
    TrustedKeys::from_value(&Value::Array(list)).map_err(|e| fail(&e))
}

/// The catalogue of the registry at `source` verified against `root`.
fn registry_catalogue(source: &str, root: &Path) -> Result<Catalogue, String> {
    let join = |sub: &str| format!("{}/{sub}", source.trim_end_matches('/'));
    let config = UpdaterConfig::new(join("metadata"), join("targets"));
    let mut client = Updater::new(config, NativeFetch::new(), MemoryStore::new(), SystemClock)
        .with_trusted_root(read(root)?);
    pollster::block_on(client.refresh()).map_err(|e| fail(&e))?;
    let listing = pollster::block_on(client.list_targets()).map_err(|e| fail(&e))?;
    Ok(Catalogue::from_targets(
        listing.targets.into_iter().map(SignedFile::unlocated),
    ))
}

fn verify(a: VerifyArgs) -> Result<(), String> {
    let keys = trusted_keys(&a.pubkeys)?;
    let bytes = read(&a.envelope)?;
    let verified = attest::verify_envelope(&bytes, &keys, a.threshold).map_err(|e| fail(&e))?;
    let models = match (&a.registry, &a.root) {
        (Some(source), Some(root)) => {
            let cat = registry_catalogue(source, root)?;
            Some(check_models(&verified, &cat).map_err(|e| fail(&e))?)
        }
        _ => None,
    };
    if a.json {
        let out = verified_json(&verified, models.as_deref());
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| format!("INTERNAL: {e}"))?
        );
        return Ok(());
    }
    print_verified(&a, &verified, models.as_deref());
    Ok(())
}

fn print_verified(a: &VerifyArgs, v: &VerifiedAttestation, models: Option<&[ModelMatch]>) {
    println!(
        "verified attestation {}: {} of {} required signature(s) from trusted keys",
        a.envelope.display(),
        v.keyids.len(),
        a.threshold
    );
    for k in &v.keyids {
        println!("  signed by  {k}");
    }
    print_subjects(&v.statement);
    let p = &v.predicate;
    let mut facts = Vec::new();
    if let Some(rows) = p.pointer("/data/rows_used").and_then(Value::as_u64) {
        facts.push(format!("{rows} rows"));
    }
    for (path, name) in [
        ("/results/classification/accuracy", "accuracy"),
        ("/results/regression/rmse", "rmse"),
    ] {
        if let Some(x) = p.pointer(path).and_then(Value::as_f64) {
            facts.push(format!("{name} {x}"));
        }
    }
    match p.pointer("/gates/passed").and_then(Value::as_bool) {
        Some(true) => facts.push("gates passed".into()),
        Some(false) => facts.push("gates FAILED".into()),
        None => {}
    }
    println!(
        "  evaluated  {} on {} by {} {}: {}",
        text(p, "/environment/time", "?"),
        text(p, "/environment/runtime", "?"),
        text(p, "/engine/name", "?"),
        text(p, "/engine/version", "?"),
        facts.join(", ")
    );
    match models {
        Some(list) => {
            for m in list {
                println!(
                    "  registry   {} is {}@{} ({}), signed by role {}",
                    m.role, m.name, m.version, m.path, m.signed_by
                );
            }
        }
        None => println!("  (no --registry: the model digest was not checked against a registry)"),
    }
    println!("OK");
}
