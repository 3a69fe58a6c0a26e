//! Sigstore's trusted root (`trusted_root.json`: the Fulcio certificate authorities, Rekor and
//! CT log keys, timestamp authorities), the trust anchor of the Sigstore method of model
//! signatures ([`crate::modelsig`]). It is a target of Sigstore's public TUF repository, read
//! here with this crate's own TUF client ([`Updater`]): the chain starts at a root the package
//! pins ([`SIGSTORE_ROOT_JSON`], Sigstore's production root), follows every root rotation the
//! repository publishes, checks timestamp, snapshot and targets (signatures and thresholds,
//! versions, lengths, hashes, expiry at the clock's time) and returns the target's bytes only
//! once its signed length and hashes match.
//!
//! The verified metadata and the target are kept in the caller's store under a prefix of their
//! own (`sigstore/<id>/`, one per pinned root and repository URL), so the next call fetches only
//! what changed and a store shared with a registry never mixes the two.

use crate::clock::Clock;
use crate::digest::Sha256Digest;
use crate::fetch::Fetch;
use crate::store::{Namespaced, Store};
use crate::tuf::{TufError, Updater, UpdaterConfig};

use super::AppError;

/// Sigstore's production TUF root (version 15, expires 2026-11-20), pinned in the package: the
/// trust anchor [`fetch_trusted_root`] starts from when the caller has no newer one.
pub const SIGSTORE_ROOT_JSON: &[u8] = include_bytes!("sigstore-root.json");

/// Sigstore's production TUF repository: metadata at its top, targets under `targets/`.
pub const SIGSTORE_TUF_URL: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The target holding Sigstore's trusted root.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// The largest `trusted_root.json` accepted, whatever length the targets metadata signs
/// (Sigstore's is about 7 KB).
pub const TRUSTED_ROOT_MAX_LENGTH: u64 = 1 << 20;

/// The store key of the verified target, under the repository's prefix (a role's metadata is
/// `<role>.json` with `/` encoded, so no role's key can be this one).
const TARGET_KEY: &str = "targets/trusted_root.json";

/// The store prefix of one repository seen from one pinned root.
fn store_prefix(base_url: &str, pinned_root: &[u8]) -> String {
    let mut id = b"edge-registry sigstore tuf 1\n".to_vec();
    id.extend_from_slice(Sha256Digest::of(pinned_root).to_hex().as_bytes());
    id.push(b'\n');
    id.extend_from_slice(base_url.trim_end_matches('/').as_bytes());
    let hex = Sha256Digest::of(&id).to_hex();
    format!("sigstore/{}/", hex.get(..32).unwrap_or(&hex))
}

/// Sigstore's `trusted_root.json`, verified: refreshes the TUF repository at `base_url`
/// (metadata at `<base_url>/`, targets at `<base_url>/targets/`, as [`SIGSTORE_TUF_URL`]
/// publishes them) starting from `pinned_root` (usually [`SIGSTORE_ROOT_JSON`]), looks up
/// [`TRUSTED_ROOT_TARGET`] and returns its bytes once they match the signed length and hashes.
/// A copy kept in `store` by an earlier call is returned without a download when it still
/// matches what the targets metadata signs now; a download is kept there after it verifies.
///
/// Errors are the TUF client's, with their codes: `EXPIRED` (metadata expired at the clock's
/// time), `HASH_MISMATCH` / `LENGTH_MISMATCH` (the target), `SIGNATURE_THRESHOLD`,
/// `TARGET_NOT_FOUND`, `LIMIT_EXCEEDED` (a target larger than [`TRUSTED_ROOT_MAX_LENGTH`]),
/// `NOT_FOUND` / `NETWORK` (fetching), and the store's.
pub async fn fetch_trusted_root<F: Fetch, S: Store, C: Clock>(
    fetch: F,
    store: S,
    clock: C,
    base_url: &str,
    pinned_root: &[u8],
) -> Result<Vec<u8>, AppError> {
    let base = base_url.trim_end_matches('/');
    let mut config = UpdaterConfig::new(base, format!("{base}/targets"));
    config.max_target_length = TRUSTED_ROOT_MAX_LENGTH;
    let store = Namespaced::new(store, store_prefix(base, pinned_root));
    let mut updater =
        Updater::new(config, fetch, store, clock).with_trusted_root(pinned_root.to_vec());
    updater.refresh().await?;
    let info = updater.target_info(TRUSTED_ROOT_TARGET).await?;
    if info.length > TRUSTED_ROOT_MAX_LENGTH {
        return Err(TufError::LimitExceeded {
            role: info.role,
            file: info.path,
            length: info.length,
            limit: TRUSTED_ROOT_MAX_LENGTH,
        }
        .into());
    }
    if let Some(kept) = updater
        .store()
        .get(TARGET_KEY)
        .await
        .map_err(TufError::from)?
    {
        if updater.check_cached_target(&info, &kept).is_ok() {
            return Ok(kept);
        }
    }
    let mut body = Vec::new();
    updater
        .download_target(&info, &mut |chunk| {
            body.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
    updater
        .store()
        .put(TARGET_KEY, &body)
        .await
        .map_err(TufError::from)?;
    Ok(body)
}
