//! `--registry` for `run` and `eval`: models named by reference (`digits@production`) come from
//! a registry through the same verifying client the browser uses (`edge_registry::registry`),
//! with a file cache, so a second run needs no network and works offline while the stored
//! metadata is unexpired.

use std::path::PathBuf;

use clap::Args;
use edge_registry::app::{self, LoadOptions, LoadedModel};
use edge_registry::clock::SystemClock;
use edge_registry::error::ErrorCode;
use edge_registry::fetch::native::NativeFetch;
use edge_registry::fetch::Fetch;
use edge_registry::registry::{FetchOptions, Registry, RegistryConfig};
use edge_registry::store::fs::FsStore;

/// Where models named by reference come from.
#[derive(Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// A registry (a directory, or a URL serving its metadata/ and targets/): --model (and
    /// --against) are then references such as digits@production, digits@2 or digits.
    #[arg(long, value_name = "URL_OR_DIR")]
    pub registry: Option<String>,
    /// The root metadata to pin (as a browser client pins one). Without it the registry's own
    /// first root (metadata/1.root.json) is used: integrity, not authenticity.
    #[arg(long, value_name = "FILE", requires = "registry")]
    pub root: Option<PathBuf>,
    /// The verified-model cache (default: the platform's cache directory, e.g.
    /// $XDG_CACHE_HOME/edge-registry or ~/.cache/edge-registry; created 0700, refused when
    /// writable by others; one namespace per pinned root and registry URL inside).
    #[arg(long, value_name = "DIR", requires = "registry")]
    pub cache_dir: Option<PathBuf>,
    /// The id staged rollouts bucket this run by (default: a random id kept in the cache
    /// directory, so this machine keeps its version from run to run).
    #[arg(long, value_name = "ID", requires = "registry")]
    pub client_id: Option<String>,
    /// Require the model's author signature (its OpenSSF model-signing bundle, model.sig)
    /// from this public key (PEM; ECDSA P-256/P-384 or Ed25519).
    #[arg(long, value_name = "PEM", requires = "registry")]
    pub require_signature_key: Option<PathBuf>,
    /// Require the author signature from a certificate issued under this CA (PEM,
    /// repeatable).
    #[arg(long, value_name = "PEM", requires = "registry")]
    pub require_signature_ca: Vec<PathBuf>,
    /// Require a Sigstore author signature by this identity (with
    /// --require-signature-issuer).
    #[arg(long, value_name = "IDENTITY", requires = "require_signature_issuer")]
    pub require_signature_identity: Option<String>,
    /// The OIDC issuer of --require-signature-identity.
    #[arg(long, value_name = "URL", requires = "require_signature_identity")]
    pub require_signature_issuer: Option<String>,
}

/// 128 random bits as hex (the CLI's fresh client id).
fn random_client_id() -> Option<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).ok()?;
    Some(b.iter().map(|x| format!("{x:02x}")).collect())
}

type Client = Registry<NativeFetch, FsStore, SystemClock>;

/// A refreshed registry client.
pub struct Remote {
    reg: Client,
    model_signature: Option<edge_registry::modelsig::Policy>,
}

fn coded(e: &dyn ErrorCode) -> String {
    format!("{e} ({})", e.code())
}

/// The cache directory: `--cache-dir`, else `edge-registry` in the platform's cache directory.
/// Never a shared temporary directory: with neither, the user is asked for `--cache-dir`.
fn cache_root(a: &RegistryArgs) -> Result<PathBuf, String> {
    match &a.cache_dir {
        Some(d) => Ok(d.clone()),
        None => dirs::cache_dir()
            .map(|d| d.join("edge-registry"))
            .ok_or_else(|| {
                "no cache directory on this platform (no $XDG_CACHE_HOME or $HOME): pass \
                 --cache-dir DIR"
                    .to_string()
            }),
    }
}

impl Remote {
    /// Opens and refreshes the registry `a` names, or `None` without `--registry`. A failed
    /// network leaves the client on its stored metadata (said on stderr) while it is unexpired.
    pub fn open(a: &RegistryArgs) -> Result<Option<Remote>, String> {
        let Some(source) = &a.registry else {
            return Ok(None);
        };
        let fetch = NativeFetch::new();
        let base = source.trim_end_matches('/');
        let root = match &a.root {
            Some(p) => std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
            None => {
                eprintln!(
                    "WARNING: no --root given: trusting {base}/metadata/1.root.json as it is served \
                     now (trust on first use). Whoever controls that server or the network path \
                     to it chooses what this run trusts; this checks integrity, not who signed. \
                     Pin the publisher's root with --root ROOT.json."
                );
                pollster::block_on(
                    fetch.fetch_bytes(&format!("{base}/metadata/1.root.json"), 1 << 20),
                )
                .map_err(|e| coded(&e))?
            }
        };
        let store = FsStore::private(cache_root(a)?).map_err(|e| coded(&e))?;
        let mut config = RegistryConfig::new(source);
        config.client_id = a.client_id.clone();
        config.new_client_id = random_client_id();
        let reg = pollster::block_on(Registry::open(config, fetch, store, SystemClock, &root))
            .map_err(|e| coded(&e))?;
        let outcome = pollster::block_on(reg.refresh()).map_err(|e| coded(&e))?;
        if let Some(n) = &outcome.network_error {
            eprintln!(
                "warning: {source} is unreachable ({}: {}); using the stored trusted metadata",
                n.code, n.message
            );
        }
        let model_signature = crate::modelsig_cmd::policy_from(
            a.require_signature_key.as_deref(),
            &a.require_signature_ca,
            a.require_signature_identity
                .as_deref()
                .zip(a.require_signature_issuer.as_deref()),
            None,
        )?;
        Ok(Some(Remote {
            reg,
            model_signature,
        }))
    }

    /// Fetches (cache or network, verified) and loads the model `reference` names, checked
    /// against its signed card ([`app::load()`]); says on stderr what was loaded from where.
    pub fn load(&self, reference: &str) -> Result<LoadedModel, String> {
        let opts = LoadOptions {
            model_signature: self.model_signature.as_ref(),
            ..LoadOptions::default()
        };
        let loaded = pollster::block_on(app::load(&self.reg, reference, opts))
            .map_err(|e| format!("{reference}: {}", coded(&e)))?;
        if let Some(v) = &loaded.model_signature {
            let s = &v.signature.signer;
            eprintln!(
                "{reference}: author signature ({}) by {}{}",
                s.method,
                s.identity,
                s.issuer
                    .as_deref()
                    .map(|i| format!(" from {i}"))
                    .unwrap_or_default()
            );
        }
        let f = &loaded.fetched;
        eprintln!(
            "{reference}: {}@{} ({} bytes from {}, sha256 {})",
            f.name,
            f.version,
            f.length,
            f.source.as_str(),
            f.sha256
        );
        if let Some(c) = &f.rollout {
            match &c.rollback {
                Some(rb) => eprintln!(
                    "{reference}: rollout of {}: version {} failed here ({}: {}); using {}",
                    c.alias, rb.from, rb.code, rb.reason, c.baseline
                ),
                None => eprintln!(
                    "{reference}: rollout of {}: version {} for client {} (bucket {})",
                    c.alias,
                    c.chosen,
                    self.reg.client_id().unwrap_or("-"),
                    c.bucket.as_deref().unwrap_or("-")
                ),
            }
        }
        Ok(loaded)
    }

    /// Another signed file of the version `reference` names (for example `profile.json`),
    /// verified while it streams.
    pub fn file(&self, reference: &str, file: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        pollster::block_on(self.reg.fetch_file_into(
            reference,
            file,
            &mut out,
            FetchOptions::default(),
        ))
        .map_err(|e| format!("{reference} {file}: {}", coded(&e)))?;
        Ok(out)
    }
}
