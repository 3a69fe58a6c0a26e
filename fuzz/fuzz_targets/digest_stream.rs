//! The streaming verifier (and the chunked delivery every `Fetch` shares) with arbitrary
//! chunking and arbitrary expectations: it must accept exactly the signed bytes, never accept
//! a byte past the signed length, and report truncation and mismatches with typed errors.
#![no_main]

use edge_registry::digest::{DigestError, Sha256Digest, Sha256Hasher, StreamingVerifier};
use edge_registry::fetch::{deliver, FetchError};
use edge_registry_fuzz::{chunks, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let mode = input.u8();
    let delta = u64::from(input.u8());
    let pattern_len = usize::from(input.u8() % 16);
    let pattern = input.bytes(pattern_len).to_vec();
    let body = input.rest();
    let len = body.len() as u64;
    let digest = Sha256Digest::of(body);
    let (expected_len, expected_digest) = match mode % 6 {
        0 => (len, digest),
        1 => (len.saturating_sub(delta + 1), digest),
        2 => (len + delta + 1, digest),
        3 => (u64::MAX, digest),
        4 => (len, Sha256Digest::of(&pattern)),
        _ => (0, digest),
    };
    let mut v = StreamingVerifier::new(expected_digest, expected_len);
    let mut failed: Option<DigestError> = None;
    for chunk in chunks(body, &pattern) {
        match v.update(chunk) {
            Ok(()) => assert!(failed.is_none(), "accepted a chunk after failing"),
            Err(e) => {
                assert!(matches!(e, DigestError::LengthExceeded { .. }), "{e:?}");
                if let Some(f) = &failed {
                    assert_eq!(f, &e, "the failure is not sticky");
                }
                failed = Some(e);
            }
        }
        assert!(
            v.bytes_seen() <= expected_len,
            "accepted bytes past the signed length"
        );
    }
    let result = v.finish();
    if len > expected_len {
        assert!(
            matches!(result, Err(DigestError::LengthExceeded { .. })),
            "{result:?}"
        );
    } else if len < expected_len {
        assert!(
            matches!(result, Err(DigestError::Truncated { .. })),
            "{result:?}"
        );
    } else if expected_digest != digest {
        assert!(
            matches!(result, Err(DigestError::Mismatch { .. })),
            "{result:?}"
        );
    } else {
        assert_eq!(result, Ok(digest));
    }

    let mut h = Sha256Hasher::new();
    for chunk in chunks(body, &pattern) {
        h.update(chunk);
    }
    assert_eq!(h.len(), len);
    assert_eq!(h.finish(), digest);

    // Hex round trip and parsing of arbitrary text as a digest.
    assert_eq!(Sha256Digest::from_hex(&digest.to_hex()), Ok(digest));
    if let Ok(text) = std::str::from_utf8(&pattern) {
        let _ = Sha256Digest::from_hex(text);
    }

    // The chunked delivery of in-memory fetches enforces its limit the same way.
    let chunk_size = usize::from(pattern.first().copied().unwrap_or(1));
    let mut got = Vec::new();
    let r = deliver("fuzz", body, expected_len, chunk_size, &mut |c| {
        got.extend_from_slice(c);
        Ok(())
    });
    assert!(
        got.len() as u64 <= expected_len,
        "a sink got bytes past the limit"
    );
    if len <= expected_len {
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(got, body);
    } else {
        assert!(matches!(r, Err(FetchError::TooLarge { .. })), "{r:?}");
    }
});
