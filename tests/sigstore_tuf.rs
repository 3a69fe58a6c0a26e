//! Sigstore's trusted root read from a real snapshot of Sigstore's production TUF repository
//! (`tests/fixtures/sigstore-tuf/`, see its README: the repository as published on 2023-04-01,
//! root version 6) with our TUF client, through [`fetch_trusted_root`] as the package calls it
//! but starting from the snapshot's own root instead of the one the package pins
//! ([`SIGSTORE_ROOT_JSON`], production root version 15, checked on its own here): Sigstore's
//! metadata (ECDSA P-256 keys in PEM, keytype `ecdsa-sha2-nistp256`, consistent snapshots,
//! sha256 and sha512 hashes, `custom` fields) verifies unchanged, and a changed target byte or a
//! clock past the timestamp's expiry is refused. The same tests run natively and in wasm.

use std::rc::Rc;

use edge_registry::app::sigstore_root::{
    fetch_trusted_root, SIGSTORE_ROOT_JSON, TRUSTED_ROOT_TARGET,
};
use edge_registry::app::AppError;
use edge_registry::clock::FixedClock;
use edge_registry::error::ErrorCode;
use edge_registry::fetch::MemoryFetch;
use edge_registry::store::{MemoryStore, Store};
use edge_registry::tuf::{TrustedMetadataSet, TufError, Updater, UpdaterConfig};

const BASE: &str = "https://sigstore-tuf.test";

/// 2023-04-02T12:00:00Z: timestamp v78 (published 2023-04-01, expires 2023-04-15T00:07:05Z) and
/// every other role of the snapshot are valid.
const NOW: i64 = 1_680_436_800;

/// 2023-04-16T00:00:00Z: the timestamp has expired (the snapshot, targets and root have not).
const AFTER_TIMESTAMP_EXPIRY: i64 = 1_681_603_200;

/// 2026-08-22T12:00:00Z: the package's pinned root (version 15, expires 2026-11-20) is valid.
const PINNED_ROOT_VALID_AT: i64 = 1_787_400_000;

const TRUSTED_ROOT_SHA256: &str =
    "cec894ad77f79b1cb324150f6363012bcef7492954f3ab9134f932e6aa2e2e20";

/// Sigstore's production root version 15, as also kept by the model-signing fixtures.
const PRODUCTION_ROOT_V15: &[u8] =
    include_bytes!("fixtures/model-signing/sigstore/production/root.json");

const METADATA: &[(&str, &[u8])] = &[
    (
        "5.root.json",
        include_bytes!("fixtures/sigstore-tuf/metadata/5.root.json"),
    ),
    (
        "6.root.json",
        include_bytes!("fixtures/sigstore-tuf/metadata/6.root.json"),
    ),
    (
        "timestamp.json",
        include_bytes!("fixtures/sigstore-tuf/metadata/timestamp.json"),
    ),
    (
        "78.snapshot.json",
        include_bytes!("fixtures/sigstore-tuf/metadata/78.snapshot.json"),
    ),
    (
        "6.targets.json",
        include_bytes!("fixtures/sigstore-tuf/metadata/6.targets.json"),
    ),
];

const TRUSTED_ROOT: &[u8] = include_bytes!(
    "fixtures/sigstore-tuf/targets/cec894ad77f79b1cb324150f6363012bcef7492954f3ab9134f932e6aa2e2e20.trusted_root.json"
);

fn metadata(name: &str) -> &'static [u8] {
    METADATA
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// The snapshot's root (version 6): what the tests pin where the package pins
/// [`SIGSTORE_ROOT_JSON`].
fn pinned_root() -> &'static [u8] {
    metadata("6.root.json")
}

fn target_url() -> String {
    format!("{BASE}/targets/{TRUSTED_ROOT_SHA256}.{TRUSTED_ROOT_TARGET}")
}

/// The fixture repository as Sigstore's CDN lays it out: metadata at the top, targets under
/// `targets/` by their consistent-snapshot names.
fn serve(trusted_root: &[u8]) -> Rc<MemoryFetch> {
    let f = MemoryFetch::new().with_chunk_size(1000);
    for (name, bytes) in METADATA {
        f.insert(format!("{BASE}/{name}"), bytes.to_vec());
    }
    f.insert(target_url(), trusted_root.to_vec());
    Rc::new(f)
}

fn tuf_error(e: AppError) -> TufError {
    match e {
        AppError::Tuf(e) => e,
        other => panic!("not a TUF error: {other}"),
    }
}

everywhere_async! {
    async fn sigstore_pinned_root_is_sigstores_production_root_v15() {
        assert_eq!(SIGSTORE_ROOT_JSON, PRODUCTION_ROOT_V15);
        // A TUF root signed by a threshold of its own root keys (spec 5.2).
        let set = TrustedMetadataSet::new(SIGSTORE_ROOT_JSON, PINNED_ROOT_VALID_AT).unwrap();
        let root = set.root().signed();
        assert_eq!(root.common.type_, "root");
        assert_eq!(root.common.version, 15);
        assert_eq!(root.common.expires, "2026-11-20T13:58:18Z");
        assert!(root.consistent_snapshot);
        let root_role = &root.roles["root"];
        assert_eq!(root_role.threshold, 3);
        let mut root_keys = root_role.keyids.clone();
        root_keys.sort();
        assert_eq!(
            root_keys,
            [
                "183e64f37670dc13ca0d28995a3053f3740954ddce44321a41e46534cf44e632",
                "22f4caec6d8e6f9555af66b3d4c3cb06a3bb23fdc7e39c916c61f462e6f52b06",
                "61643838125b440b40db6942f5cb5a31c0dc04368316eb2aaa58b95904a58222",
                "a687e5bf4fab82b0ee58d46e05c9535145a2c9afb458f43d42b45ca0fdce2a70",
                "e71a54d543835ba86adad9460379c7641fb8726d164ea766801a1c522aba7ea2",
            ]
        );
        assert_eq!(root.roles["targets"].keyids.len(), 5);
        assert_eq!(root.roles["timestamp"].threshold, 1);
    }

    async fn sigstore_trusted_root_verifies_from_the_pinned_root() {
        let fetch = serve(TRUSTED_ROOT);
        let store = Rc::new(MemoryStore::new());
        let got = fetch_trusted_root(
            fetch.clone(),
            store.clone(),
            FixedClock::new(NOW),
            BASE,
            pinned_root(),
        )
        .await
        .unwrap();
        assert_eq!(got, TRUSTED_ROOT);
        assert_eq!(
            fetch.requests(),
            vec![
                format!("{BASE}/7.root.json"),
                format!("{BASE}/timestamp.json"),
                format!("{BASE}/78.snapshot.json"),
                format!("{BASE}/6.targets.json"),
                target_url(),
            ]
        );
        // Kept under the repository's own prefix: metadata and the verified target.
        let keys = store.keys("sigstore/").await.unwrap();
        for want in ["/root.json", "/timestamp.json", "/snapshot.json", "/targets.json", "/targets/trusted_root.json"] {
            assert!(keys.iter().any(|k| k.ends_with(want)), "{want} not in {keys:?}");
        }

        // Again with the same store: only the root probe and the timestamp are fetched, and the
        // kept target is checked against the signed hashes instead of downloaded.
        fetch.clear_requests();
        let again = fetch_trusted_root(
            fetch.clone(),
            store.clone(),
            FixedClock::new(NOW),
            &format!("{BASE}/"),
            pinned_root(),
        )
        .await
        .unwrap();
        assert_eq!(again, TRUSTED_ROOT);
        assert_eq!(
            fetch.requests(),
            vec![format!("{BASE}/7.root.json"), format!("{BASE}/timestamp.json")]
        );
    }

    async fn sigstore_root_rotation_from_an_older_pinned_root_verifies() {
        // Root 6 is signed by a threshold of root 5's root keys and of its own (spec
        // 5.3.4-5.3.5); root 5 expires on 2023-04-18, after the clock.
        let fetch = serve(TRUSTED_ROOT);
        let mut u = Updater::new(
            UpdaterConfig::new(BASE, format!("{BASE}/targets")),
            fetch.clone(),
            MemoryStore::new(),
            FixedClock::new(NOW),
        )
        .with_trusted_root(metadata("5.root.json"));
        let report = u.refresh().await.unwrap();
        assert_eq!(report.root_rotations, 1);
        assert_eq!(report.root.version, 6);
        assert_eq!(report.timestamp.version, 78);
        assert_eq!(report.snapshot.version, 78);
        assert_eq!(report.targets.version, 6);

        // Targets carry Sigstore's `custom` fields unchanged.
        let ctfe = u.target_info("ctfe.pub").await.unwrap();
        assert_eq!(ctfe.role, "targets");
        assert_eq!(ctfe.custom.unwrap()["sigstore"]["usage"], "CTFE");
        let info = u.target_info(TRUSTED_ROOT_TARGET).await.unwrap();
        assert_eq!(info.length, 4567);
        assert_eq!(u.target_url(&info).unwrap(), target_url());
        u.check_cached_target(&info, TRUSTED_ROOT).unwrap();

        let got = fetch_trusted_root(
            fetch,
            MemoryStore::new(),
            FixedClock::new(NOW),
            BASE,
            metadata("5.root.json"),
        )
        .await
        .unwrap();
        assert_eq!(got, TRUSTED_ROOT);
    }

    async fn sigstore_trusted_root_with_a_changed_byte_is_a_hash_mismatch() {
        let mut changed = TRUSTED_ROOT.to_vec();
        changed[100] ^= 0x01;
        let store = Rc::new(MemoryStore::new());
        let err = fetch_trusted_root(
            serve(&changed),
            store.clone(),
            FixedClock::new(NOW),
            BASE,
            pinned_root(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "HASH_MISMATCH", "{err}");
        match tuf_error(err) {
            TufError::HashMismatch { file, algorithm, expected, .. } => {
                assert_eq!(file, TRUSTED_ROOT_TARGET);
                assert_eq!(algorithm, "sha256");
                assert_eq!(expected, TRUSTED_ROOT_SHA256);
            }
            other => panic!("{other}"),
        }
        // Nothing that failed is kept.
        let keys = store.keys("sigstore/").await.unwrap();
        assert!(!keys.iter().any(|k| k.ends_with("/targets/trusted_root.json")), "{keys:?}");

        // A tampered kept copy is not returned: it is downloaded again and checked.
        let prefix = keys[0].split_once("/root").map(|(p, _)| p.to_string()).unwrap();
        store.put(&format!("{prefix}/targets/trusted_root.json"), &changed).await.unwrap();
        let got = fetch_trusted_root(
            serve(TRUSTED_ROOT),
            store.clone(),
            FixedClock::new(NOW),
            BASE,
            pinned_root(),
        )
        .await
        .unwrap();
        assert_eq!(got, TRUSTED_ROOT);
    }

    async fn sigstore_timestamp_past_its_expiry_is_refused() {
        let err = fetch_trusted_root(
            serve(TRUSTED_ROOT),
            MemoryStore::new(),
            FixedClock::new(AFTER_TIMESTAMP_EXPIRY),
            BASE,
            pinned_root(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), "EXPIRED", "{err}");
        match tuf_error(err) {
            TufError::Expired { role, expires, .. } => {
                assert_eq!(role, "timestamp");
                assert_eq!(expires, "2023-04-15T00:07:05Z");
            }
            other => panic!("{other}"),
        }
    }

    async fn sigstore_timestamp_with_a_changed_signature_fails_its_threshold() {
        let fetch = serve(TRUSTED_ROOT);
        let ts = String::from_utf8(metadata("timestamp.json").to_vec()).unwrap();
        // The last hex digit of the (DER, hex) ECDSA signature.
        let sig_start = ts.find("\"sig\": \"").unwrap() + 8;
        let sig_end = sig_start + ts[sig_start..].find('"').unwrap();
        let mut bytes = ts.into_bytes();
        let last = &mut bytes[sig_end - 1];
        *last = if *last == b'0' { b'1' } else { b'0' };
        fetch.insert(format!("{BASE}/timestamp.json"), bytes);
        let err = fetch_trusted_root(fetch, MemoryStore::new(), FixedClock::new(NOW), BASE, pinned_root())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "SIGNATURE_THRESHOLD", "{err}");
    }
}
