//! The JavaScript API. This is the only module with `#[wasm_bindgen]` code; each export converts
//! its arguments, calls one core function and converts the result. Errors become real `Error`
//! objects with a stable `code` property (see [`crate::error::ErrorCode`]).
//!
//! A leaf: it may import every module of the crate, and nothing imports it. The use cases it
//! exposes are written once in [`crate::app`] and shared with the CLI.

mod attest;
mod engine;
mod error;
mod eval;
mod fleet;
pub(crate) mod modelsig;
mod panic;
mod registry;
#[cfg(feature = "test-hooks")]
mod test_hooks;

use wasm_bindgen::prelude::*;

use js_sys::Uint8Array;

use crate::digest::{check_digest, LengthCheck, Sha256Digest, Sha256Hasher, StreamingVerifier};
pub use attest::{
    assemble_envelope, attestation_key, attestation_statement, pae, verify_attestation,
};
pub use engine::JsModel;
pub use error::{js_error, JsResult};
pub use eval::evaluate_predictions;
pub use fleet::merge_reports;
pub use modelsig::verify_model_signature;
pub use registry::{JsRegistry, JsRegistryCache};

/// Installs the panic hook: a Rust panic is reported on the console with its message and
/// handed to `globalThis.__edgeRegistryPanic` (set by `resilient.js`) before the instance
/// traps, so the JS layer can reject the call with `INTERNAL_PANIC` and re-create the instance.
/// It also runs the static constructors once ([`crate::engine::run_static_constructors`]),
/// which stops wasm-ld from re-running them at the start of every export.
#[wasm_bindgen(start)]
pub fn start() {
    crate::engine::run_static_constructors();
    panic::install_hook();
}

/// The library version.
///
/// ```js
/// import init, { version } from "edge-registry";
/// await init();
/// console.log(version()); // "0.1.0"
/// ```
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}

/// The SHA-256 of `bytes`, as 64 lower-case hex characters.
///
/// ```js
/// sha256Hex(new TextEncoder().encode("abc"));
/// // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// ```
#[wasm_bindgen(js_name = sha256Hex)]
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256Digest::of(bytes).to_hex()
}

/// Checks bytes that are all in memory against a signed length and SHA-256 with the host's
/// fastest SHA-256: WebCrypto where the host has it (about three times this package's own in
/// Chromium), this package's otherwise; the registry checks the artifacts it loads the same
/// way. Resolves to the digest (hex); rejects with `LENGTH_EXCEEDED`, `TRUNCATED`,
/// `HASH_MISMATCH` or `INVALID_DIGEST`.
///
/// ```js
/// const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
/// await verifyBytes(bytes, expectedSha256, expectedLength);
/// ```
#[wasm_bindgen(js_name = verifyBytes)]
pub async fn verify_bytes(
    bytes: Uint8Array,
    expected_sha256: String,
    expected_length: f64,
) -> JsResult<String> {
    let digest = Sha256Digest::from_hex(&expected_sha256).map_err(|e| js_error(&e))?;
    let mut length = LengthCheck::new(error::length_from_js(expected_length, "expectedLength")?);
    length
        .count(u64::from(bytes.length()))
        .and_then(|()| length.finish())
        .map_err(|e| js_error(&e))?;
    let actual = crate::digest::web::sha256_of_array(&bytes).await;
    check_digest(digest, actual)
        .map(|d| d.to_hex())
        .map_err(|e| js_error(&e))
}

/// Checks a stream of chunks against a signed length and SHA-256.
///
/// It throws (an `Error` with `code` `LENGTH_EXCEEDED`) the moment more bytes arrive than
/// `expectedLength`; `finish()` throws `TRUNCATED` if fewer arrived and `HASH_MISMATCH` if the
/// digest differs. After an error the verifier stays failed.
///
/// ```js
/// const v = new Sha256Verifier(expectedHex, expectedLength);
/// for await (const chunk of response.body) v.update(chunk);
/// const hex = v.finish(); // throws on a bad stream
/// ```
#[wasm_bindgen(js_name = Sha256Verifier)]
pub struct JsSha256Verifier {
    inner: Option<StreamingVerifier>,
}

#[wasm_bindgen(js_class = Sha256Verifier)]
impl JsSha256Verifier {
    /// A verifier for exactly `expectedLength` bytes whose SHA-256 is `expectedSha256` (hex).
    #[wasm_bindgen(constructor)]
    pub fn new(expected_sha256: &str, expected_length: f64) -> JsResult<JsSha256Verifier> {
        let digest = Sha256Digest::from_hex(expected_sha256).map_err(|e| js_error(&e))?;
        let len = error::length_from_js(expected_length, "expectedLength")?;
        Ok(JsSha256Verifier {
            inner: Some(StreamingVerifier::new(digest, len)),
        })
    }

    /// Feeds the next chunk of the stream.
    pub fn update(&mut self, chunk: &[u8]) -> JsResult<()> {
        self.verifier()?.update(chunk).map_err(|e| js_error(&e))
    }

    /// Bytes accepted so far.
    #[wasm_bindgen(getter, js_name = bytesSeen)]
    pub fn bytes_seen(&self) -> f64 {
        // Lengths stay below 2^53 in any real stream; the cast is exact there.
        self.inner.as_ref().map_or(0.0, |v| v.bytes_seen() as f64)
    }

    /// Ends the stream and returns the verified digest (hex). The verifier cannot be used again.
    pub fn finish(&mut self) -> JsResult<String> {
        let verifier = self.inner.take().ok_or_else(error::finished)?;
        verifier
            .finish()
            .map(|d| d.to_hex())
            .map_err(|e| js_error(&e))
    }

    fn verifier(&mut self) -> JsResult<&mut StreamingVerifier> {
        self.inner.as_mut().ok_or_else(error::finished)
    }
}

/// An incremental SHA-256 of bytes the caller supplies, with no expected value.
///
/// ```js
/// const h = new Sha256Hasher();
/// h.update(part1); h.update(part2);
/// h.finish(); // hex
/// ```
#[wasm_bindgen(js_name = Sha256Hasher)]
pub struct JsSha256Hasher {
    inner: Option<Sha256Hasher>,
}

#[wasm_bindgen(js_class = Sha256Hasher)]
impl JsSha256Hasher {
    /// A fresh hasher.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> JsSha256Hasher {
        JsSha256Hasher {
            inner: Some(Sha256Hasher::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, chunk: &[u8]) -> JsResult<()> {
        self.inner
            .as_mut()
            .ok_or_else(error::finished)?
            .update(chunk);
        Ok(())
    }

    /// The digest (hex) of everything fed. The hasher cannot be used again.
    pub fn finish(&mut self) -> JsResult<String> {
        let h = self.inner.take().ok_or_else(error::finished)?;
        Ok(h.finish().to_hex())
    }
}
