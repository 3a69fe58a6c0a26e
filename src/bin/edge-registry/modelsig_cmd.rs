//! `edge-registry verify-model-signature MODEL --bundle B`: an OpenSSF model-signing bundle
//! (what `model_signing sign` writes) checked against the model's files on disk (see
//! `edge_registry::modelsig`).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::Args;
use edge_registry::error::ErrorCode;
use edge_registry::modelsig::{
    self, is_git_path, sigstore::TrustedRoot, x509, Bundle, ModelSigError, Policy, PublicKey,
    VerifiedModel,
};

/// Options of `verify-model-signature`.
#[derive(Args, Debug)]
pub struct VerifyModelSignatureArgs {
    /// The model: one file, or a directory of files.
    model: PathBuf,
    /// The signature bundle (model_signing's `model.sig`, a Sigstore bundle JSON).
    #[arg(long, value_name = "BUNDLE")]
    bundle: PathBuf,
    /// Key method: the signer's public key (PEM or DER SubjectPublicKeyInfo; ECDSA P-256 or
    /// P-384, or Ed25519).
    #[arg(long, value_name = "PEM", conflicts_with_all = ["ca", "identity"])]
    key: Option<PathBuf>,
    /// Certificate method: the CA certificates (PEM) the bundle's chain must lead to
    /// (repeatable).
    #[arg(long, value_name = "PEM", conflicts_with = "identity")]
    ca: Vec<PathBuf>,
    /// Sigstore method: the signer's identity (the certificate's email or URI).
    #[arg(long, value_name = "IDENTITY", requires = "issuer")]
    identity: Option<String>,
    /// Sigstore method: the OIDC issuer of that identity.
    #[arg(long, value_name = "URL", requires = "identity")]
    issuer: Option<String>,
    /// Sigstore method: Sigstore's trusted root (trusted_root.json) instead of the one built
    /// into this tool.
    #[arg(long, value_name = "JSON", requires = "identity")]
    trusted_root: Option<PathBuf>,
    /// More paths of the model directory to leave out (besides the manifest's own and git's).
    #[arg(long = "ignore-path", value_name = "PATH")]
    ignore_paths: Vec<String>,
}

fn fail(e: &ModelSigError) -> String {
    format!("{}: {e}", e.code())
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("NOT_FOUND: cannot read {}: {e}", path.display()))
}

/// The policy the arguments name.
fn policy(args: &VerifyModelSignatureArgs) -> Result<Policy, String> {
    policy_from(
        args.key.as_deref(),
        &args.ca,
        args.identity.as_deref().zip(args.issuer.as_deref()),
        args.trusted_root.as_deref(),
    )?
    .ok_or_else(|| "INVALID_ARGUMENT: give --key, --ca, or --identity with --issuer".into())
}

/// A policy from a key file, CA files, or a Sigstore identity and issuer (with an optional
/// trusted root file); `None` when none is given.
pub fn policy_from(
    key: Option<&Path>,
    ca: &[PathBuf],
    identity: Option<(&str, &str)>,
    trusted_root: Option<&Path>,
) -> Result<Option<Policy>, String> {
    if let Some(key) = key {
        return PublicKey::from_spki(&read(key)?)
            .map(|k| Some(Policy::Key(k)))
            .map_err(|e| fail(&e));
    }
    if !ca.is_empty() {
        let mut anchors = Vec::new();
        for path in ca {
            let text = String::from_utf8(read(path)?)
                .map_err(|_| format!("INVALID_ARGUMENT: {} is not PEM text", path.display()))?;
            anchors.extend(x509::anchors_from_pem(&text).map_err(|e| fail(&e))?);
        }
        if anchors.is_empty() {
            return Err("INVALID_ARGUMENT: the CA files name no certificate".into());
        }
        return Ok(Some(Policy::Certificate { anchors }));
    }
    if let Some((identity, issuer)) = identity {
        let root = match trusted_root {
            Some(path) => read(path)?,
            None => modelsig::SIGSTORE_TRUSTED_ROOT.to_vec(),
        };
        let trusted_root = TrustedRoot::from_json(&root).map_err(|e| fail(&e))?;
        return Ok(Some(Policy::Sigstore {
            trusted_root: Box::new(trusted_root),
            identity: identity.to_string(),
            issuer: issuer.to_string(),
        }));
    }
    Ok(None)
}

/// Feeds every file of `dir` (sorted, relative `/` paths) to the checker, leaving out ignored
/// paths and the bundle itself.
fn walk(
    dir: &Path,
    rel: &str,
    skip: &dyn Fn(&str) -> bool,
    allow_symlinks: bool,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("NOT_FOUND: cannot read {}: {e}", dir.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("STORE: cannot list {}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| format!("BAD_NAME: a file name in {} is not UTF-8", dir.display()))?;
        let path_rel = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        if skip(&path_rel) {
            continue;
        }
        let ft = entry
            .file_type()
            .map_err(|e| format!("STORE: {}: {e}", entry.path().display()))?;
        if ft.is_symlink() && !allow_symlinks {
            return Err(format!(
                "MODEL_SIGNATURE_MISMATCH: {path_rel} is a symbolic link and the signature does \
                 not allow them"
            ));
        }
        let meta = std::fs::metadata(entry.path())
            .map_err(|e| format!("STORE: {}: {e}", entry.path().display()))?;
        if meta.is_dir() {
            walk(&entry.path(), &path_rel, skip, allow_symlinks, out)?;
        } else {
            if out.len() >= modelsig::limits::RESOURCES {
                return Err(format!(
                    "LIMIT_EXCEEDED: more than {} files",
                    modelsig::limits::RESOURCES
                ));
            }
            out.push((path_rel, entry.path()));
        }
    }
    Ok(())
}

/// Verifies the bundle and the model on disk.
pub fn verify_on_disk(args: &VerifyModelSignatureArgs) -> Result<VerifiedModel, String> {
    let policy = policy(args)?;
    let bundle = Bundle::from_json(&read(&args.bundle)?).map_err(|e| fail(&e))?;
    let signature = modelsig::verify_signature(&bundle, &policy).map_err(|e| fail(&e))?;
    let manifest = &signature.manifest;
    let meta = std::fs::metadata(&args.model)
        .map_err(|e| format!("NOT_FOUND: cannot read {}: {e}", args.model.display()))?;
    let files: Vec<(String, PathBuf)> = if meta.is_dir() {
        let bundle_abs = std::fs::canonicalize(&args.bundle).ok();
        let model_abs = std::fs::canonicalize(&args.model).ok();
        let bundle_rel = match (&bundle_abs, &model_abs) {
            (Some(b), Some(m)) => b
                .strip_prefix(m)
                .ok()
                .and_then(|p| p.to_str())
                .map(|p| p.replace('\\', "/")),
            _ => None,
        };
        let extra = &args.ignore_paths;
        let skip = |p: &str| {
            manifest.ignores(p)
                || is_git_path(p)
                || bundle_rel.as_deref() == Some(p)
                || extra.iter().any(|x| {
                    let x = x.trim_end_matches('/');
                    p == x || p.strip_prefix(x).is_some_and(|r| r.starts_with('/'))
                })
        };
        let mut out = Vec::new();
        walk(
            &args.model,
            "",
            &skip,
            manifest.serialization.allow_symlinks,
            &mut out,
        )?;
        out
    } else {
        vec![(".".to_string(), args.model.clone())]
    };
    let mut checker = manifest.checker();
    let mut buf = vec![0u8; 1 << 20];
    for (rel, path) in &files {
        let mut f = std::fs::File::open(path)
            .map_err(|e| format!("NOT_FOUND: cannot read {}: {e}", path.display()))?;
        let mut h = checker.file(rel);
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| format!("STORE: cannot read {}: {e}", path.display()))?;
            let Some(chunk) = buf.get(..n) else { break };
            if chunk.is_empty() {
                break;
            }
            h.update(chunk);
        }
        checker.add(h).map_err(|e| fail(&e))?;
    }
    let resources = checker.finish().map_err(|e| fail(&e))?;
    Ok(VerifiedModel {
        signature,
        resources,
    })
}

/// `verify-model-signature`: prints the verified signer and manifest as JSON; exit 1 with the
/// error code on refusal.
pub fn run(args: VerifyModelSignatureArgs) -> Result<(), String> {
    let verified = verify_on_disk(&args)?;
    let text =
        serde_json::to_string_pretty(&verified.to_json()).map_err(|e| format!("INTERNAL: {e}"))?;
    println!("{text}");
    Ok(())
}
