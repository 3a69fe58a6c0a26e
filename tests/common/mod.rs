//! Helpers shared by the integration tests. The same tests run natively (`cargo test`) and in
//! WebAssembly under Node, headless Chromium and a dedicated worker (wasm-bindgen-test).

#![allow(dead_code)]

#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod cli;
pub mod registry_fixtures;
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod server;

/// Declares tests that run on every target: natively as `#[test]`, in wasm as
/// `#[wasm_bindgen_test]`.
#[macro_export]
macro_rules! everywhere {
    ($( $(#[$m:meta])* fn $name:ident() $body:block )*) => {
        $(
            $(#[$m])*
            #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
            #[cfg_attr(not(target_arch = "wasm32"), test)]
            fn $name() $body
        )*
    };
}

/// Declares async tests that run on every target: natively through `pollster::block_on`, in
/// wasm as async `#[wasm_bindgen_test]`s on the JS event loop.
#[macro_export]
macro_rules! everywhere_async {
    ($( $(#[$m:meta])* async fn $name:ident() $body:block )*) => {
        $(
            #[cfg(target_arch = "wasm32")]
            $(#[$m])*
            #[wasm_bindgen_test::wasm_bindgen_test]
            async fn $name() $body

            #[cfg(not(target_arch = "wasm32"))]
            $(#[$m])*
            #[test]
            fn $name() {
                pollster::block_on(async $body)
            }
        )*
    };
}

/// The xorshift32 (13, 17, 5) byte stream of `scripts/gen_digest_vectors.py`: each state word
/// is emitted little-endian.
pub fn xorshift_bytes(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Splits `data` into chunks whose sizes cycle through `sizes` (zero-length chunks included).
pub fn uneven_chunks<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let n = sizes[i % sizes.len()].min(data.len() - at);
        chunks.push(&data[at..at + n]);
        at += n;
        i += 1;
    }
    chunks
}
