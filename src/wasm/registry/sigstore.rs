//! Sigstore's trusted root, read from Sigstore's TUF repository with this library's own TUF
//! client ([`crate::app::sigstore_root`]): `fetchSigstoreTrustedRoot`, whose result is what a
//! Sigstore `ModelSignaturePolicy` takes as `trustedRoot`.

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

use super::options::{bad_arg, fixed_now, get, root_bytes};
use crate::app::sigstore_root::{fetch_trusted_root, SIGSTORE_ROOT_JSON, SIGSTORE_TUF_URL};
use crate::clock::{AnyClock, FixedClock, SystemClock};
use crate::fetch::web::WebFetch;
use crate::store::MemoryStore;
use crate::wasm::error::{js_error, JsResult};

/// Fetches Sigstore's current `trusted_root.json` from its TUF repository and verifies it with
/// this library's TUF client, from Sigstore's root metadata pinned in the package (every
/// metadata signature, version and expiry, then the target's signed length and SHA-256). Give
/// the bytes as `trustedRoot` of a Sigstore model-signature policy.
///
/// ```js
/// const trustedRoot = await fetchSigstoreTrustedRoot();
/// verifyModelSignature(bytes, bundle, { identity, issuer, trustedRoot });
/// ```
///
/// Options: `url` (default Sigstore's public repository), `pinnedRoot` (root metadata to start
/// from instead of the built-in one: bytes, text or JSON), `now` (a Date or milliseconds, for
/// tests). Errors: the TUF codes (`EXPIRED`, `SIGNATURE_THRESHOLD`, `HASH_MISMATCH`,
/// `NETWORK`, ...).
#[wasm_bindgen(js_name = fetchSigstoreTrustedRoot)]
pub async fn fetch_sigstore_trusted_root(
    #[wasm_bindgen(
        unchecked_param_type = "{ url?: string; pinnedRoot?: Uint8Array | string | object; now?: Date | number } | undefined"
    )]
    options: JsValue,
) -> JsResult<Uint8Array> {
    let object = options.is_object();
    if !object && !options.is_undefined() && !options.is_null() {
        return Err(bad_arg("options must be an object"));
    }
    let field = |k: &str| {
        if object {
            get(&options, k)
        } else {
            JsValue::UNDEFINED
        }
    };
    let url = match field("url") {
        v if v.is_undefined() || v.is_null() => SIGSTORE_TUF_URL.to_string(),
        v => v
            .as_string()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| bad_arg("options.url must be the repository URL"))?,
    };
    let pinned = match field("pinnedRoot") {
        v if v.is_undefined() || v.is_null() => SIGSTORE_ROOT_JSON.to_vec(),
        v => root_bytes(&v)?,
    };
    let clock = match fixed_now(&field("now"))? {
        Some(t) => AnyClock::Fixed(FixedClock::new(t)),
        None => AnyClock::System(SystemClock),
    };
    let bytes = fetch_trusted_root(WebFetch::new(), MemoryStore::new(), clock, &url, &pinned)
        .await
        .map_err(|e| js_error(&e))?;
    Ok(Uint8Array::from(bytes.as_slice()))
}
