//! SHA-256 by the JS host's WebCrypto (`crypto.subtle.digest`): in Chromium about three times
//! the throughput of `sha2` compiled to wasm (BENCHMARKS.md, "Hashing"), and the browser hashes
//! off the calling thread. WebCrypto has no streaming digest, so it serves bytes that are all in
//! memory. Pages have `crypto.subtle` only in secure contexts (https, localhost); elsewhere, and
//! when a host rejects the call, these return `None` and the caller hashes with `sha2`.

use js_sys::{ArrayBuffer, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{Sha256Digest, Sha256Hasher};

/// `crypto.subtle` and its `digest` function, when this host has them.
fn subtle_digest() -> Option<(JsValue, Function)> {
    let present = |v: JsValue| (!v.is_undefined() && !v.is_null()).then_some(v);
    let crypto = present(Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok()?)?;
    let subtle = present(Reflect::get(&crypto, &JsValue::from_str("subtle")).ok()?)?;
    let digest = Reflect::get(&subtle, &JsValue::from_str("digest"))
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    Some((subtle, digest))
}

/// Whether this host has WebCrypto's digest.
pub fn available() -> bool {
    subtle_digest().is_some()
}

/// Awaits a digest promise and reads its 32 bytes.
async fn digest_of(pending: Promise) -> Option<Sha256Digest> {
    let buffer: ArrayBuffer = JsFuture::from(pending).await.ok()?.dyn_into().ok()?;
    let bytes = Uint8Array::new(&buffer);
    if bytes.length() != 32 {
        return None;
    }
    let mut out = [0u8; 32];
    bytes.copy_to(&mut out);
    Some(Sha256Digest(out))
}

/// A WebCrypto SHA-256 under way (see [`start`]).
pub struct PendingDigest(Promise);

/// Starts WebCrypto's SHA-256 of a JS byte array, which the host hashes off the calling
/// thread: `digest` takes "a copy of the bytes held by the data parameter" before it returns
/// (Web Cryptography API, `digest`, step 2), so later writes to `data` do not change the
/// result. `None` where the host has no WebCrypto or refuses the call.
pub fn start(data: &Uint8Array) -> Option<PendingDigest> {
    let (subtle, digest) = subtle_digest()?;
    let algorithm = JsValue::from_str("SHA-256");
    let pending = digest.call2(&subtle, &algorithm, data).ok()?;
    pending.dyn_into::<Promise>().ok().map(PendingDigest)
}

impl PendingDigest {
    /// The digest, or `None` when the host's promise rejects or resolves to something else.
    pub async fn finish(self) -> Option<Sha256Digest> {
        digest_of(self.0).await
    }
}

/// The SHA-256 of a JS byte array: WebCrypto's, or where the host has none (or it fails),
/// `sha2`'s over the bytes copied into wasm a megabyte at a time.
pub async fn sha256_of_array(data: &Uint8Array) -> Sha256Digest {
    if let Some(pending) = start(data) {
        if let Some(d) = pending.finish().await {
            return d;
        }
    }
    let mut hasher = Sha256Hasher::new();
    let mut piece = Vec::new();
    let len = data.length();
    let step = 1 << 20;
    let mut at = 0;
    while at < len {
        let end = at.saturating_add(step).min(len);
        piece.resize((end - at) as usize, 0);
        data.subarray(at, end).copy_to(&mut piece);
        hasher.update(&piece);
        at = end;
    }
    hasher.finish()
}

/// The SHA-256 of bytes in wasm memory: WebCrypto's (without copying them into a JS array
/// first), or `sha2`'s where the host has none or it fails.
pub async fn sha256_of_slice(bytes: &[u8]) -> Sha256Digest {
    match webcrypto_of_slice(bytes).await {
        Some(d) => d,
        None => Sha256Digest::of(bytes),
    }
}

async fn webcrypto_of_slice(bytes: &[u8]) -> Option<Sha256Digest> {
    let (subtle, digest) = subtle_digest()?;
    let algorithm = JsValue::from_str("SHA-256");
    let pending = {
        // SAFETY: the view must not outlive a growth of wasm memory, which only an allocation
        // can cause. It is made after every value the call needs and used by one call that
        // allocates nothing in wasm: `digest` takes "a copy of the bytes held by the data
        // parameter" before it returns its promise (Web Cryptography API, `digest`, step 2), so
        // the view is dead when this block ends.
        let view = unsafe { Uint8Array::view(bytes) };
        digest.call2(&subtle, &algorithm, &view)
    };
    digest_of(pending.ok()?.dyn_into().ok()?).await
}
