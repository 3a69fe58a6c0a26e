//! The streaming SHA-256 verifier against NIST vectors, the empty input and a multi-MiB stream
//! fed in uneven chunks, plus its failure modes. Runs natively, in Node, in headless Chromium
//! and in a dedicated worker; in wasm it also drives the JavaScript class through real JS.

use crate::common;

use edge_registry::digest::{DigestError, Sha256Digest, StreamingVerifier};
use edge_registry::error::ErrorCode;
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    nist: Vec<Nist>,
    stream: Stream,
}

#[derive(Deserialize)]
struct Nist {
    message: String,
    repeat: usize,
    sha256: String,
}

#[derive(Deserialize)]
struct Stream {
    seed: u32,
    length: usize,
    sha256: String,
    first8_hex: String,
    chunk_sizes: Vec<usize>,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("vectors/sha256.json")).unwrap()
}

fn stream() -> (Vec<u8>, Stream) {
    let s = vectors().stream;
    let data = common::xorshift_bytes(s.seed, s.length);
    assert_eq!(hex::encode(&data[..8]), s.first8_hex, "generator differs");
    (data, s)
}

everywhere! {
    fn nist_vectors_one_shot_and_streamed() {
        for v in vectors().nist {
            let msg = v.message.repeat(v.repeat).into_bytes();
            let want = Sha256Digest::from_hex(&v.sha256).unwrap();
            assert_eq!(Sha256Digest::of(&msg), want, "one-shot {:?}", v.message);
            let mut ver = StreamingVerifier::new(want, msg.len() as u64);
            // Byte-at-a-time for the short messages, odd-sized chunks for the long one.
            let step = if msg.len() > 1000 { 999 } else { 1 };
            for chunk in msg.chunks(step) {
                ver.update(chunk).unwrap();
            }
            assert_eq!(ver.finish().unwrap(), want);
        }
    }

    fn empty_input() {
        let empty = Sha256Digest::from_hex(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )
        .unwrap();
        let mut v = StreamingVerifier::new(empty, 0);
        v.update(&[]).unwrap();
        assert_eq!(v.finish().unwrap(), empty);
        // One byte into a zero-length stream is already too many.
        let mut v = StreamingVerifier::new(empty, 0);
        assert_eq!(v.update(b"x").unwrap_err().code(), "LENGTH_EXCEEDED");
    }

    fn multi_mib_stream_in_uneven_chunks() {
        let (data, s) = stream();
        let want = Sha256Digest::from_hex(&s.sha256).unwrap();
        let mut v = StreamingVerifier::new(want, s.length as u64);
        let chunks = common::uneven_chunks(&data, &s.chunk_sizes);
        assert!(chunks.len() > 10);
        for c in chunks {
            v.update(c).unwrap();
        }
        assert_eq!(v.bytes_seen(), s.length as u64);
        assert_eq!(v.finish().unwrap(), want);
    }

    fn fails_the_moment_the_length_is_exceeded() {
        let (data, s) = stream();
        let limit = s.length as u64 - 1;
        let mut v = StreamingVerifier::new(Sha256Digest::from_hex(&s.sha256).unwrap(), limit);
        let mut accepted = 0u64;
        let mut failed_at = None;
        for c in common::uneven_chunks(&data, &s.chunk_sizes) {
            match v.update(c) {
                Ok(()) => accepted += c.len() as u64,
                Err(e) => {
                    failed_at = Some(e);
                    break;
                }
            }
        }
        match failed_at {
            Some(DigestError::LengthExceeded { expected, got }) => {
                assert_eq!(expected, limit);
                assert!(got > limit);
            }
            other => panic!("expected LengthExceeded, got {other:?}"),
        }
        // Nothing past the limit was accepted, and the verifier stays failed.
        assert!(accepted <= limit);
        assert_eq!(v.bytes_seen(), accepted);
        assert_eq!(v.update(b"").unwrap_err().code(), "LENGTH_EXCEEDED");
        assert_eq!(v.finish().unwrap_err().code(), "LENGTH_EXCEEDED");
    }

    fn truncation_is_an_error() {
        let (data, s) = stream();
        let want = Sha256Digest::from_hex(&s.sha256).unwrap();
        let mut v = StreamingVerifier::new(want, s.length as u64);
        v.update(&data[..data.len() - 1]).unwrap();
        let err = v.finish().unwrap_err();
        assert_eq!(err.code(), "TRUNCATED");
        assert_eq!(
            err,
            DigestError::Truncated { expected: s.length as u64, got: s.length as u64 - 1 }
        );
    }

    fn digest_mismatch_names_both_digests() {
        let (mut data, s) = stream();
        let want = Sha256Digest::from_hex(&s.sha256).unwrap();
        data[12345] ^= 0x01;
        let mut v = StreamingVerifier::new(want, s.length as u64);
        for c in common::uneven_chunks(&data, &s.chunk_sizes) {
            v.update(c).unwrap();
        }
        let err = v.finish().unwrap_err();
        assert_eq!(err.code(), "HASH_MISMATCH");
        assert_eq!(
            err,
            DigestError::Mismatch { expected: want, actual: Sha256Digest::of(&data) }
        );
        assert!(err.to_string().contains(&s.sha256));
    }
}

/// The JavaScript class, driven from real JS code: errors are `Error` instances with a `code`.
#[cfg(target_arch = "wasm32")]
mod js {
    use super::*;
    use edge_registry::wasm::{JsSha256Hasher, JsSha256Verifier};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen(inline_js = r#"
        export function feed(verifier, chunks) {
            for (const c of chunks) verifier.update(c);
            return verifier.finish();
        }
        export function describe(f) {
            try { f(); return "no error"; }
            catch (e) {
                return JSON.stringify({
                    isError: e instanceof Error, code: e.code, name: e.name,
                    message: String(e.message), typeofErr: typeof e,
                });
            }
        }
    "#)]
    extern "C" {
        #[wasm_bindgen(catch)]
        fn feed(verifier: JsValue, chunks: js_sys::Array) -> Result<String, JsValue>;
        fn describe(f: &js_sys::Function) -> String;
    }

    fn error_info(err: &JsValue) -> (bool, String) {
        let code = js_sys::Reflect::get(err, &"code".into())
            .unwrap()
            .as_string()
            .unwrap_or_default();
        (err.is_instance_of::<js_sys::Error>(), code)
    }

    fn chunks_of(data: &[u8], sizes: &[usize]) -> js_sys::Array {
        common::uneven_chunks(data, sizes)
            .into_iter()
            .map(|c| JsValue::from(js_sys::Uint8Array::from(c)))
            .collect()
    }

    #[wasm_bindgen_test]
    fn js_class_verifies_the_stream() {
        let (data, s) = stream();
        let v = JsSha256Verifier::new(&s.sha256, s.length as f64).unwrap();
        let hex = feed(v.into(), chunks_of(&data, &s.chunk_sizes)).unwrap();
        assert_eq!(hex, s.sha256);
    }

    #[wasm_bindgen_test]
    fn js_errors_are_error_objects_with_codes() {
        let (mut data, s) = stream();
        // Length exceeded, thrown from update().
        let v = JsSha256Verifier::new(&s.sha256, (s.length - 10) as f64).unwrap();
        let err = feed(v.into(), chunks_of(&data, &s.chunk_sizes)).unwrap_err();
        assert_eq!(error_info(&err), (true, "LENGTH_EXCEEDED".to_string()));
        // Truncated, thrown from finish().
        let v = JsSha256Verifier::new(&s.sha256, s.length as f64).unwrap();
        let err = feed(v.into(), chunks_of(&data[..100], &[7])).unwrap_err();
        assert_eq!(error_info(&err), (true, "TRUNCATED".to_string()));
        // Mismatch.
        data[0] ^= 0x80;
        let v = JsSha256Verifier::new(&s.sha256, s.length as f64).unwrap();
        let err = feed(v.into(), chunks_of(&data, &s.chunk_sizes)).unwrap_err();
        assert_eq!(error_info(&err), (true, "HASH_MISMATCH".to_string()));
        // Bad arguments from JS.
        for (hex, len, code) in [
            ("nothex", 1.0, "INVALID_DIGEST"),
            (s.sha256.as_str(), -1.0, "INVALID_ARGUMENT"),
            (s.sha256.as_str(), f64::NAN, "INVALID_ARGUMENT"),
            (s.sha256.as_str(), 1.5, "INVALID_ARGUMENT"),
        ] {
            let err = JsSha256Verifier::new(hex, len).err().unwrap();
            assert_eq!(error_info(&err), (true, code.to_string()), "{hex} {len}");
        }
    }

    #[wasm_bindgen_test]
    fn thrown_value_seen_from_js_is_an_error_instance() {
        let f = Closure::<dyn Fn() -> Result<(), JsValue>>::new(|| {
            let mut v = JsSha256Verifier::new(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                0.0,
            )?;
            v.update(b"x")
        });
        let seen = describe(f.as_ref().unchecked_ref());
        let parsed: serde_json::Value = serde_json::from_str(&seen).unwrap();
        assert_eq!(parsed["isError"], true, "{seen}");
        assert_eq!(parsed["code"], "LENGTH_EXCEEDED", "{seen}");
        assert_eq!(parsed["name"], "EdgeRegistryError", "{seen}");
    }

    #[wasm_bindgen_test]
    fn finished_objects_refuse_reuse() {
        let mut h = JsSha256Hasher::new();
        h.update(b"abc").unwrap();
        assert_eq!(
            h.finish().unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let err = h.update(b"x").unwrap_err();
        assert_eq!(error_info(&err), (true, "INVALID_STATE".to_string()));
    }

    #[wasm_bindgen_test]
    fn version_matches_cargo() {
        assert_eq!(edge_registry::wasm::version(), env!("CARGO_PKG_VERSION"));
    }
}
