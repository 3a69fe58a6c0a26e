//! Our client verifies repositories made by python-tuf's Metadata API
//! (`scripts/gen_tuf_fixtures.py`): every key type python-tuf signs with, a root rotation,
//! consistent snapshots, delegations (terminating, patterns, hash prefixes, nested) and
//! succinct hash bins. The same tests run natively and in wasm.

use edge_registry::clock::FixedClock;
use edge_registry::error::ErrorCode;
use edge_registry::fetch::MemoryFetch;
use edge_registry::store::{MemoryStore, Store};
use edge_registry::tuf::{TrustedMetadataSet, Updater, UpdaterConfig};
use serde_json::Value;

include!("fixtures/tuf/python-tuf/files.rs");

/// 2026-11-01: every fixture expires in 2099.
const NOW: i64 = 1_793_491_200;

fn file(repo: &str, rel: &str) -> &'static [u8] {
    let want = format!("{repo}/{rel}");
    PYTHON_TUF_FILES
        .iter()
        .find(|(p, _)| *p == want)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| panic!("no fixture {want}"))
}

/// A MemoryFetch serving the repository at `meta/` and `targets/`.
fn serve(repo: &str) -> MemoryFetch {
    let f = MemoryFetch::new().with_chunk_size(1000);
    let prefix = format!("{repo}/");
    for (path, bytes) in PYTHON_TUF_FILES {
        if let Some(rel) = path.strip_prefix(&prefix) {
            if let Some(m) = rel.strip_prefix("metadata/") {
                f.insert(format!("meta/{m}"), bytes.to_vec());
            } else if let Some(t) = rel.strip_prefix("targets/") {
                f.insert(format!("targets/{t}"), bytes.to_vec());
            }
        }
    }
    f
}

fn updater(repo: &str) -> Updater<MemoryFetch, MemoryStore, FixedClock> {
    Updater::new(
        UpdaterConfig::new("meta", "targets"),
        serve(repo),
        MemoryStore::new(),
        FixedClock::new(NOW),
    )
    .with_trusted_root(file(repo, "metadata/1.root.json"))
}

async fn check_every_expected_target(repo: &str) -> usize {
    let expected: Value = serde_json::from_slice(file(repo, "expected.json")).unwrap();
    let mut u = updater(repo);
    u.refresh().await.unwrap();
    let targets = expected["targets"].as_object().unwrap();
    for (path, want) in targets {
        let info = u
            .target_info(path)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(info.role, want["role"].as_str().unwrap(), "{path}");
        assert_eq!(info.length, want["length"].as_u64().unwrap(), "{path}");
        let hashes: std::collections::BTreeMap<String, String> =
            serde_json::from_value(want["hashes"].clone()).unwrap();
        assert_eq!(info.hashes, hashes, "{path}");
        let custom = if want["custom"].is_null() {
            None
        } else {
            Some(want["custom"].clone())
        };
        assert_eq!(info.custom, custom, "{path}");
        let mut body = Vec::new();
        u.download_target(&info, &mut |c| {
            body.extend_from_slice(c);
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(body, file(repo, &format!("targets/{path}")), "{path}");
        u.check_cached_target(&info, &body).unwrap();
    }
    targets.len()
}

everywhere_async! {
    async fn python_tuf_repository_with_rotation_and_delegations_verifies() {
        let n = check_every_expected_target("rotation-delegations").await;
        assert_eq!(n, 7);
    }

    async fn python_tuf_succinct_hash_bins_verify() {
        let n = check_every_expected_target("succinct-bins").await;
        assert_eq!(n, 6);
    }

    async fn python_tuf_root_rotation_is_followed_and_persisted_byte_for_byte() {
        let repo = "rotation-delegations";
        let mut u = updater(repo);
        let report = u.refresh().await.unwrap();
        assert_eq!(report.root_rotations, 1);
        assert_eq!(report.root.version, 2);
        assert_eq!(report.root.expires, "2099-01-01T00:00:00Z");
        assert_eq!((report.timestamp.version, report.snapshot.version, report.targets.version), (1, 1, 1));
        let s = u.store();
        assert_eq!(s.get("root.json").await.unwrap().unwrap(), file(repo, "metadata/2.root.json"));
        assert_eq!(s.get("timestamp.json").await.unwrap().unwrap(), file(repo, "metadata/timestamp.json"));
        assert_eq!(s.get("snapshot.json").await.unwrap().unwrap(), file(repo, "metadata/1.snapshot.json"));
        assert_eq!(s.get("targets.json").await.unwrap().unwrap(), file(repo, "metadata/1.targets.json"));
        // Delegated metadata is persisted once a lookup has verified it.
        assert_eq!(s.get("team-vision.json").await.unwrap(), None);
        u.target_info("models/team-vision-segmenter/1/model.onnx").await.unwrap();
        let s = u.store();
        assert_eq!(s.get("team-vision.json").await.unwrap().unwrap(), file(repo, "metadata/1.team-vision.json"));
        assert_eq!(s.get("team-vision-nested.json").await.unwrap().unwrap(), file(repo, "metadata/1.team-vision-nested.json"));
        // Consistent snapshots: versioned names were fetched.
        let reqs = u.fetcher().requests();
        assert!(reqs.contains(&"meta/1.snapshot.json".to_string()), "{reqs:?}");
        assert!(reqs.contains(&"meta/1.targets.json".to_string()), "{reqs:?}");
        // A second refresh uses the stored snapshot and targets: only root probe and timestamp.
        u.fetcher().clear_requests();
        u.refresh().await.unwrap();
        assert_eq!(u.fetcher().requests(), vec!["meta/3.root.json", "meta/timestamp.json"]);
    }

    async fn python_tuf_terminating_role_stops_the_search() {
        let mut u = updater("rotation-delegations");
        u.refresh().await.unwrap();
        // "frozen" is terminating for releases/*: a path it does not list is not searched for
        // in the roles after it ("hashed").
        let err = u.target_info("releases/2.0.txt").await.unwrap_err();
        assert_eq!(err.code(), "TARGET_NOT_FOUND");
        let reqs = u.fetcher().requests();
        assert!(reqs.iter().any(|r| r == "meta/1.frozen.json"), "{reqs:?}");
        assert!(!reqs.iter().any(|r| r == "meta/1.hashed.json"), "{reqs:?}");
    }

    async fn python_tuf_metadata_with_a_changed_byte_fails_its_threshold() {
        let repo = "rotation-delegations";
        let root1 = file(repo, "metadata/1.root.json");
        let mut set = TrustedMetadataSet::new(root1, NOW).unwrap();
        let root2 = file(repo, "metadata/2.root.json");
        // Tamper with the expiry inside `signed` of the new root: no signature covers it.
        let tampered = String::from_utf8(root2.to_vec()).unwrap().replace("2099-01-01", "2098-01-01");
        let err = set.update_root(tampered.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "SIGNATURE_THRESHOLD");
        assert_eq!(err.to_string(), "root: signature threshold not met (0 of 1 valid signatures)");
        set.update_root(root2).unwrap();
        assert_eq!(set.root().version(), 2);
    }
}

everywhere! {
    fn every_key_type_and_scheme_verifies_pyca_cryptography_signatures() {
        use edge_registry::tuf::keys::Key;
        let vectors: Value = serde_json::from_slice(
            PYTHON_TUF_FILES.iter().find(|(p, _)| *p == "key-vectors.json").unwrap().1,
        )
        .unwrap();
        let vectors = vectors.as_array().unwrap();
        assert_eq!(vectors.len(), 17);
        for v in vectors {
            let name = v["name"].as_str().unwrap();
            let key = Key::from_value("root", &v["key"]).unwrap();
            assert!(key.is_supported(), "{name}");
            let msg = v["message"].as_str().unwrap().as_bytes();
            let sig = hex::decode(v["sig"].as_str().unwrap()).unwrap();
            assert!(key.verify(msg, &sig), "{name}: a valid signature was refused");
            let mut other = msg.to_vec();
            other[2] ^= 1;
            assert!(!key.verify(&other, &sig), "{name}: a signature over other bytes verified");
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(!key.verify(msg, &bad), "{name}: a corrupted signature verified");
            assert!(!key.verify(msg, &[]), "{name}");
        }
    }
}

/// The repository's files as the publisher reads them, `metadata/root.json` being the newest
/// `N.root.json` (python-tuf writes only the versioned ones).
fn publisher_files(repo: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let prefix = format!("{repo}/");
    let mut files: std::collections::BTreeMap<String, Vec<u8>> = PYTHON_TUF_FILES
        .iter()
        .filter_map(|(p, b)| {
            p.strip_prefix(&prefix)
                .map(|rel| (rel.to_string(), b.to_vec()))
        })
        .collect();
    let newest = (1..)
        .take_while(|v| files.contains_key(&format!("metadata/{v}.root.json")))
        .last()
        .unwrap();
    let root = files[&format!("metadata/{newest}.root.json")].clone();
    files.entry("metadata/root.json".into()).or_insert(root);
    files
}

everywhere! {
    fn the_publisher_loads_python_tuf_delegations_and_hash_bins_with_the_clients_walk() {
        use edge_registry::publish::Repository;
        for (repo, roles) in [
            ("rotation-delegations", &["frozen", "hashed", "team-vision", "team-vision-nested"][..]),
            ("succinct-bins", &["bin-0", "bin-1", "bin-2", "bin-3", "bin-4", "bin-5", "bin-6", "bin-7"][..]),
        ] {
            let mut files = publisher_files(repo);
            let loaded = Repository::load(&mut files).unwrap_or_else(|e| panic!("{repo}: {e}"));
            assert_eq!(loaded.delegated_roles(), roles, "{repo}");
            // Every role is verified through its delegator: the publisher knows its keys, and
            // every target the client resolves is one its role may sign.
            for role in roles {
                let keys = loaded.role_keys(role).unwrap_or_else(|e| panic!("{repo} {role}: {e}"));
                assert!(keys.threshold >= 1 && !keys.keyids.is_empty(), "{repo} {role}");
            }
            let expected: Value = serde_json::from_slice(file(repo, "expected.json")).unwrap();
            for (path, want) in expected["targets"].as_object().unwrap() {
                let role = want["role"].as_str().unwrap();
                assert!(loaded.role_may_sign(role, path), "{repo}: {role} may sign {path}");
                assert!(loaded.target(path).is_some(), "{repo}: {path}");
            }
        }
    }
}
