//! `edge-registry tuf-client`: the TUF client behind the standard client interoperability
//! protocol (tuf-conformance `CLIENT-CLI.md`), so any TUF client test harness can drive it:
//!
//! ```text
//! edge-registry tuf-client --metadata-dir DIR init TRUSTED_ROOT_FILE
//! edge-registry tuf-client --metadata-dir DIR --metadata-url URL refresh
//! edge-registry tuf-client --metadata-dir DIR --metadata-url URL --target-name PATH \
//!     --target-base-url URL --target-dir DIR download
//! ```
//!
//! Exit 0 on full success, 1 on any failure (the error and its code on standard error).
//! Verified metadata is persisted role by role as the specification orders it
//! ([`UpdaterConfig::persist_each_step`]). The metadata directory holds non-versioned names (`root.json`, `timestamp.json`,
//! `snapshot.json`, `targets.json`, `<percent-encoded role>.json`); a downloaded target is
//! stored as its percent-encoded path in the target directory, as python-tuf's ngclient does.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args as ClapArgs, Subcommand};
use edge_registry::clock::{Clock, SystemClock};
use edge_registry::error::ErrorCode;
use edge_registry::fetch::native::NativeFetch;
use edge_registry::store::fs::FsStore;
use edge_registry::store::Store;
use edge_registry::tuf::path::{check_target_path, quote};
use edge_registry::tuf::{TrustedMetadataSet, TufError, Updater, UpdaterConfig};

/// Options of `tuf-client`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Directory of trusted metadata (created by `init`).
    #[arg(long, value_name = "DIR")]
    metadata_dir: PathBuf,
    /// Base URL (or directory) of the repository's metadata.
    #[arg(long, value_name = "URL")]
    metadata_url: Option<String>,
    /// Target path to download (repeatable: processed in order by one updater; the first
    /// failure stops the command).
    #[arg(long, value_name = "PATH")]
    target_name: Vec<String>,
    /// Base URL (or directory) of the repository's targets.
    #[arg(long, value_name = "URL")]
    target_base_url: Option<String>,
    /// Directory downloaded targets are written to.
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Trust TRUSTED_ROOT_FILE (no network): it must be a root signed by its own threshold.
    Init {
        /// The root metadata to trust.
        trusted_root: PathBuf,
    },
    /// Run the TUF client workflow and update the trusted metadata.
    Refresh,
    /// Refresh, then download and verify `--target-name` into `--target-dir`.
    Download,
}

fn fail(e: &dyn ErrorCode) -> String {
    format!("{}: {e}", e.code())
}

fn need<'a, T>(v: &'a Option<T>, flag: &str) -> Result<&'a T, String> {
    v.as_ref()
        .ok_or_else(|| format!("INVALID_ARGUMENT: {flag} is required for this command"))
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<(), String> {
    match &args.action {
        Action::Init { trusted_root } => init(&args.metadata_dir, trusted_root),
        Action::Refresh => {
            let mut u = updater(&args, "")?;
            let r = pollster::block_on(u.refresh()).map_err(|e| fail(&e))?;
            println!(
                "refreshed: root v{} (expires {}), timestamp v{}, snapshot v{}, targets v{}",
                r.root.version,
                r.root.expires,
                r.timestamp.version,
                r.snapshot.version,
                r.targets.version
            );
            Ok(())
        }
        Action::Download => download(&args),
    }
}

fn init(metadata_dir: &Path, trusted_root: &Path) -> Result<(), String> {
    let bytes = std::fs::read(trusted_root)
        .map_err(|e| format!("NOT_FOUND: cannot read {}: {e}", trusted_root.display()))?;
    // Structure and self-signature only; expiry is checked by the next refresh (spec 5.2).
    TrustedMetadataSet::new(&bytes, SystemClock.now()).map_err(|e| fail(&e))?;
    let store = FsStore::new(metadata_dir).map_err(|e| fail(&e))?;
    pollster::block_on(store.put("root.json", &bytes)).map_err(|e| fail(&e))?;
    println!(
        "initialized {} with {}",
        metadata_dir.display(),
        trusted_root.display()
    );
    Ok(())
}

fn updater(
    args: &Args,
    targets_base: &str,
) -> Result<Updater<NativeFetch, FsStore, SystemClock>, String> {
    let url = need(&args.metadata_url, "--metadata-url")?;
    let store = FsStore::new(&args.metadata_dir).map_err(|e| fail(&e))?;
    // The specification's order: persist each role as soon as it verifies (5.3.8, 5.4.5,
    // 5.5.7, 5.6.6), which is what TUF conformance harnesses measure.
    let mut config = UpdaterConfig::new(url.clone(), targets_base.to_string());
    config.persist_each_step = true;
    Ok(Updater::new(config, NativeFetch::new(), store, SystemClock))
}

fn download(args: &Args) -> Result<(), String> {
    if args.target_name.is_empty() {
        return Err("INVALID_ARGUMENT: --target-name is required for this command".into());
    }
    let base = need(&args.target_base_url, "--target-base-url")?;
    let dir = need(&args.target_dir, "--target-dir")?;
    let mut u = updater(args, base)?;
    pollster::block_on(u.refresh()).map_err(|e| fail(&e))?;
    for name in &args.target_name {
        download_one(&mut u, name, dir)?;
    }
    Ok(())
}

fn download_one(
    u: &mut Updater<NativeFetch, FsStore, SystemClock>,
    name: &str,
    dir: &Path,
) -> Result<(), String> {
    let info = pollster::block_on(u.target_info(name)).map_err(|e| fail(&e))?;
    check_target_path(&info.role, &info.path).map_err(|e| fail(&e))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("STORE: cannot create {}: {e}", dir.display()))?;
    // One file name per target: the percent-encoded path never contains a separator.
    let local = dir.join(quote(&info.path));
    if let Ok(existing) = std::fs::read(&local) {
        if u.check_cached_target(&info, &existing).is_ok() {
            println!("{} is up to date at {}", info.path, local.display());
            return Ok(());
        }
    }
    let tmp = dir.join(format!(".{}.download", quote(&info.path)));
    let result = (|| -> Result<(), String> {
        let mut file = std::fs::File::create(&tmp)
            .map_err(|e| format!("STORE: cannot create {}: {e}", tmp.display()))?;
        let mut write_error = None;
        let fetched = pollster::block_on(u.download_target(&info, &mut |chunk| {
            file.write_all(chunk).map_err(|e| {
                write_error = Some(e);
            })
        }));
        if let Some(e) = write_error {
            return Err(format!("STORE: cannot write {}: {e}", tmp.display()));
        }
        fetched.map_err(|e: TufError| fail(&e))?;
        file.sync_all()
            .map_err(|e| format!("STORE: cannot sync {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &local)
            .map_err(|e| format!("STORE: cannot move to {}: {e}", local.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result?;
    println!("downloaded {} to {}", info.path, local.display());
    Ok(())
}
