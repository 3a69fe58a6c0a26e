//! Every client-side attack of the TUF specification (section 1.5.2 "Goals to protect against
//! specific attacks") that applies to a client, plus the rules tough's 2025-26 advisories showed
//! are easy to get wrong. Each attack must end in a typed error that names the role and the
//! rule (the code is asserted), never a panic, and a failed refresh must leave the stored
//! trusted state byte-for-byte unchanged. Runs natively and in wasm.

use crate::common;

use edge_registry::clock::FixedClock;
use edge_registry::error::ErrorCode;
use edge_registry::fetch::MemoryFetch;
use edge_registry::store::{MemoryStore, Store};
use edge_registry::tuf::keys::Ed25519Signer;
use edge_registry::tuf::repo::{seed_from_label, sign_metadata, Published, RepoBuilder};
use edge_registry::tuf::{TargetInfo, TufError, Updater, UpdaterConfig};
use serde_json::{json, Value};

/// 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;
const FAR: i64 = NOW + 365 * DAY;

type Client = Updater<MemoryFetch, MemoryStore, FixedClock>;

fn key(label: &str) -> Ed25519Signer {
    Ed25519Signer::from_seed(&seed_from_label(label))
}

fn repo() -> RepoBuilder {
    let mut b = RepoBuilder::new("attacks", FAR);
    b.add_target(
        "models/iris/1/model.onnx",
        &common::xorshift_bytes(7, 3000),
        Some(json!({"name": "iris", "version": "1"})),
    );
    b.add_target("README.txt", b"hello\n", None);
    b
}

fn serve(f: &MemoryFetch, p: &Published) {
    for (name, bytes) in &p.metadata {
        f.insert(format!("meta/{name}"), bytes.clone());
    }
    for (name, bytes) in &p.targets {
        f.insert(format!("targets/{name}"), bytes.clone());
    }
}

fn client_with(b: &RepoBuilder, config: UpdaterConfig) -> Client {
    let f = MemoryFetch::new().with_chunk_size(512);
    serve(&f, &b.publish().unwrap());
    Updater::new(config, f, MemoryStore::new(), FixedClock::new(NOW))
        .with_trusted_root(b.roots()[0].clone())
}

fn client(b: &RepoBuilder) -> Client {
    client_with(b, UpdaterConfig::new("meta", "targets"))
}

/// A refreshed client of [`repo`] whose targets metadata signs `README.txt` with `hashes`, and
/// that target as it resolves.
async fn readme_signed_with(hashes: Value) -> (Client, TargetInfo) {
    let b = repo();
    let p = b
        .publish_with(&|role, v| {
            if role == "targets" {
                v["targets"]["README.txt"]["hashes"] = hashes.clone();
            }
        })
        .unwrap();
    let mut u = client(&b);
    serve(u.fetcher(), &p);
    u.refresh().await.unwrap();
    let info = u.target_info("README.txt").await.unwrap();
    (u, info)
}

fn bump(b: &mut RepoBuilder) {
    b.timestamp.version += 1;
    b.snapshot.version += 1;
    b.targets.version += 1;
}

async fn stored(u: &Client) -> Vec<(String, Vec<u8>)> {
    let s = u.store();
    let mut out = Vec::new();
    for k in s.keys("").await.unwrap() {
        let v = s.get(&k).await.unwrap().unwrap();
        out.push((k, v));
    }
    out
}

/// Refreshes, expecting failure with `code` naming `role`, and checks that the stored trusted
/// state did not change and no in-memory trust is left.
async fn refused(u: &mut Client, code: &str, role: &str) -> TufError {
    let before = stored(u).await;
    let err = u.refresh().await.expect_err("the refresh must fail");
    assert_eq!(err.code(), code, "{err}");
    assert_eq!(err.role(), Some(role), "{err}");
    assert_eq!(stored(u).await, before, "stored state changed after: {err}");
    assert!(u.trusted().is_none());
    err
}

fn with_signed(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut v);
    serde_json::to_vec_pretty(&v).unwrap()
}

async fn download(u: &Client, info: &TargetInfo) -> (Result<(), TufError>, Vec<u8>) {
    let mut got = Vec::new();
    let r = u
        .download_target(info, &mut |c| {
            got.extend_from_slice(c);
            Ok(())
        })
        .await;
    (r, got)
}

everywhere_async! {
    // ---- arbitrary software installation, endless data on targets ----

    async fn arbitrary_target_content_is_refused() {
        let b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        let info = u.target_info("README.txt").await.unwrap();
        let url = u.target_url(&info).unwrap();
        u.fetcher().insert(url.clone(), b"HELLO\n".to_vec());
        let (r, _) = download(&u, &info).await;
        let err = r.unwrap_err();
        assert_eq!(err.code(), "HASH_MISMATCH", "{err}");
        assert_eq!(err.role(), Some("targets"));
        assert_eq!(u.check_cached_target(&info, b"HELLO\n").unwrap_err().code(), "HASH_MISMATCH");
        u.fetcher().insert(url, b"hell".to_vec());
        assert_eq!(download(&u, &info).await.0.unwrap_err().code(), "TRUNCATED");
        assert_eq!(u.check_cached_target(&info, b"hell").unwrap_err().code(), "TRUNCATED");
        u.check_cached_target(&info, b"hello\n").unwrap();
    }

    async fn endless_target_is_cut_off_at_its_signed_length() {
        let b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        let info = u.target_info("models/iris/1/model.onnx").await.unwrap();
        let url = u.target_url(&info).unwrap();
        assert!(url.starts_with("targets/models/iris/1/"), "{url}");
        u.fetcher().insert(url, common::xorshift_bytes(7, 1_000_000));
        let (r, got) = download(&u, &info).await;
        assert_eq!(r.unwrap_err().code(), "LENGTH_EXCEEDED");
        assert!(got.len() as u64 <= info.length, "{} bytes reached the sink", got.len());
    }

    async fn target_without_a_supported_hash_is_refused() {
        let b = repo();
        let p = b.publish_with(&|role, v| {
            if role == "targets" {
                v["targets"]["README.txt"]["hashes"] = json!({"md5": "b1946ac92492d2347c6235b4d2611184"});
            }
        }).unwrap();
        let mut u = client(&b);
        serve(u.fetcher(), &p);
        u.refresh().await.unwrap();
        let info = u.target_info("README.txt").await.unwrap();
        let err = u.check_cached_target(&info, b"hello\n").unwrap_err();
        assert_eq!(err.code(), "UNSUPPORTED_HASH", "{err}");
        u.fetcher().insert("targets/README.txt", b"hello\n".to_vec());
        assert_eq!(download(&u, &info).await.0.unwrap_err().code(), "UNSUPPORTED_HASH");
    }

    async fn every_listed_supported_hash_is_checked() {
        let b = repo();
        let p = b.publish_with(&|role, v| {
            if role == "targets" {
                v["targets"]["README.txt"]["hashes"]["sha512"] = json!("00".repeat(64));
            }
        }).unwrap();
        let mut u = client(&b);
        serve(u.fetcher(), &p);
        u.refresh().await.unwrap();
        let info = u.target_info("README.txt").await.unwrap();
        let err = download(&u, &info).await.0.unwrap_err();
        assert_eq!(err.code(), "HASH_MISMATCH");
        assert!(err.to_string().contains("sha512"), "{err}");
    }

    async fn a_hash_that_would_name_another_file_is_refused_before_any_request() {
        // Consistent snapshots put the signed hash into the file name: it must be lower-case
        // hex of its algorithm's length, never a path, a query or another case.
        for bad in ["../../../../secret", "AB".repeat(32).as_str(), "ab?x=1#", &"a".repeat(63), ""] {
            let (u, info) = readme_signed_with(json!({"sha256": bad})).await;
            let err = u.target_url(&info).unwrap_err();
            assert_eq!(err.code(), "UNSUPPORTED_HASH", "{bad:?}: {err}");
            u.fetcher().clear_requests();
            assert_eq!(download(&u, &info).await.0.unwrap_err().code(), "UNSUPPORTED_HASH");
            assert!(u.fetcher().requests().is_empty(), "{bad:?}: {:?}", u.fetcher().requests());
        }
        // sha512 alone names the file by its sha512.
        let (u, info) = readme_signed_with(json!({"sha512": "ab".repeat(64)})).await;
        assert_eq!(u.target_url(&info).unwrap(), format!("targets/{}.README.txt", "ab".repeat(64)));
    }

    async fn role_names_that_differ_only_in_case_have_distinct_stored_files() {
        // TUF role names are case-sensitive; file systems on macOS and Windows are not. A
        // delegated role named "Targets" must not land in the file of "targets".
        let mut b = repo();
        b.delegate("targets", "Targets", &["team/*"], false);
        b.add_delegated_target("Targets", "team/x", b"x", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        u.target_info("team/x").await.unwrap();
        let keys = u.store().keys("").await.unwrap();
        assert!(keys.contains(&"targets.json".to_string()), "{keys:?}");
        assert!(keys.contains(&"%54argets.json".to_string()), "{keys:?}");
        let folded: std::collections::BTreeSet<String> = keys.iter().map(|k| k.to_lowercase()).collect();
        assert_eq!(folded.len(), keys.len(), "two stored files fold to one name: {keys:?}");
    }

    async fn a_stored_root_counts_only_if_it_chains_from_the_pinned_root() {
        // Another party's root (own keys, a higher version) in the store, as root.json and
        // in the root history: a client pinned to the genuine root ignores it.
        let b = repo();
        let mut other = RepoBuilder::new("not-the-publisher", FAR);
        other.commit_root().unwrap();
        other.commit_root().unwrap();
        let mut u = client(&b);
        u.store().put("root.json", other.trusted_root()).await.unwrap();
        for (i, r) in other.roots().iter().enumerate() {
            u.store().put(&format!("root/{}.json", i + 1), r).await.unwrap();
        }
        let r = u.refresh().await.unwrap();
        assert_eq!(r.root.version, 1);
        assert_eq!(u.trusted().unwrap().root().bytes(), &b.roots()[0][..]);
        // A genuine rotation in the store is followed: version 2 signed by version 1's keys.
        let mut b = repo();
        b.root.signers = vec![key("attacks/root-2")];
        let v2 = b.commit_root().unwrap();
        let mut u = client(&repo());
        u.store().put("root/2.json", &v2).await.unwrap();
        serve(u.fetcher(), &b.publish().unwrap());
        let r = u.refresh().await.unwrap();
        assert_eq!((r.root.version, r.root_rotations), (2, 0), "walked from the store, not fetched");
    }

    // ---- rollback ----

    async fn timestamp_rollback_is_refused() {
        let mut b = repo();
        let old = b.clone();
        bump(&mut b);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        serve(u.fetcher(), &old.publish().unwrap());
        let err = refused(&mut u, "ROLLBACK", "timestamp").await;
        assert_eq!(err.to_string(), "timestamp: rollback refused (version 1 is lower than the trusted version 2)");
    }

    async fn snapshot_version_rollback_in_a_new_timestamp_is_refused() {
        let mut b = repo();
        bump(&mut b);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        b.timestamp.version = 3;
        b.snapshot.version = 1;
        serve(u.fetcher(), &b.publish().unwrap());
        let err = refused(&mut u, "ROLLBACK", "timestamp").await;
        assert!(err.to_string().contains("snapshot version 1"), "{err}");
    }

    async fn targets_version_rollback_in_a_new_snapshot_is_refused() {
        let mut b = repo();
        bump(&mut b);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        b.timestamp.version = 3;
        b.snapshot.version = 3;
        b.targets.version = 1;
        serve(u.fetcher(), &b.publish().unwrap());
        let err = refused(&mut u, "ROLLBACK", "snapshot").await;
        assert!(err.to_string().contains("targets.json version 1"), "{err}");
    }

    async fn snapshot_dropping_a_targets_file_is_refused() {
        let mut b = repo();
        b.delegate("targets", "team", &["models/team-*/*/*"], false);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        bump(&mut b);
        let p = b.publish_with(&|role, v| {
            if role == "snapshot" {
                v["meta"].as_object_mut().unwrap().remove("team.json");
            }
        }).unwrap();
        serve(u.fetcher(), &p);
        let err = refused(&mut u, "MISSING_META", "snapshot").await;
        assert!(err.to_string().contains("team.json"), "{err}");
    }

    // ---- indefinite freeze ----

    async fn frozen_metadata_is_refused_once_the_timestamp_expires() {
        let mut b = repo();
        b.timestamp.expires = NOW + DAY;
        let mut u = client(&b);
        u.refresh().await.unwrap();
        // Two days later the mirror still serves the same, once valid, metadata: a new
        // updater over the same stored state, with the later clock.
        let files = stored(&u).await;
        let store = MemoryStore::new();
        for (k, v) in &files {
            store.put(k, v).await.unwrap();
        }
        let f = MemoryFetch::new();
        serve(&f, &b.publish().unwrap());
        let mut later = Updater::new(UpdaterConfig::new("meta", "targets"), f, store, FixedClock::new(NOW + 2 * DAY));
        let err = refused(&mut later, "EXPIRED", "timestamp").await;
        assert!(err.to_string().starts_with("timestamp: metadata expired at "), "{err}");
    }

    async fn expired_timestamp_is_refused() {
        let mut b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        bump(&mut b);
        b.timestamp.expires = NOW - 1;
        serve(u.fetcher(), &b.publish().unwrap());
        refused(&mut u, "EXPIRED", "timestamp").await;
    }

    async fn expired_snapshot_is_refused() {
        let mut b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        bump(&mut b);
        b.snapshot.expires = NOW;
        serve(u.fetcher(), &b.publish().unwrap());
        refused(&mut u, "EXPIRED", "snapshot").await;
    }

    async fn expired_targets_is_refused() {
        let mut b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        bump(&mut b);
        b.targets.expires = NOW - DAY;
        serve(u.fetcher(), &b.publish().unwrap());
        refused(&mut u, "EXPIRED", "targets").await;
    }

    async fn expired_final_root_is_refused() {
        let mut b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        b.root.expires = NOW - 1;
        b.commit_root().unwrap();
        serve(u.fetcher(), &b.publish().unwrap());
        refused(&mut u, "EXPIRED", "root").await;
    }

    async fn expired_intermediate_root_is_allowed_during_rotation() {
        let mut b = repo();
        b.root.expires = NOW - DAY;
        b.root.signers = vec![key("root-2")];
        b.commit_root().unwrap();
        b.root.expires = FAR;
        b.root.signers = vec![key("root-3")];
        b.commit_root().unwrap();
        let mut u = client(&b);
        let r = u.refresh().await.unwrap();
        assert_eq!((r.root.version, r.root_rotations), (3, 2));
        assert_eq!(u.store().get("root.json").await.unwrap().unwrap(), b.roots()[2]);
    }

    async fn expired_delegated_targets_are_refused() {
        let mut b = repo();
        b.delegate("targets", "team", &["models/team-*/*/*"], false);
        b.delegation_mut("team").unwrap().role.expires = NOW - 1;
        b.add_delegated_target("team", "models/team-a/1/model.onnx", b"team model", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        let before = stored(&u).await;
        let err = u.target_info("models/team-a/1/model.onnx").await.unwrap_err();
        assert_eq!(err.code(), "EXPIRED");
        assert_eq!(err.role(), Some("team"));
        assert_eq!(stored(&u).await, before, "unverified delegated metadata was stored");
    }

    // ---- endless data on metadata ----

    async fn oversized_timestamp_is_cut_off() {
        let b = repo();
        let p = b.publish_with(&|role, v| {
            if role == "timestamp" {
                v["padding"] = json!("x".repeat(20_000));
            }
        }).unwrap();
        let mut u = client(&b);
        serve(u.fetcher(), &p);
        let err = refused(&mut u, "LENGTH_EXCEEDED", "timestamp").await;
        assert!(err.to_string().contains("16384"), "{err}");
    }

    async fn oversized_root_is_cut_off() {
        let mut b = repo();
        let mut v = b.root_signed();
        v["padding"] = json!("x".repeat(600_000));
        let k = b.root.signers[0].clone();
        b.push_root(sign_metadata(&v, &[&k]).unwrap());
        let mut u = client(&b);
        refused(&mut u, "LENGTH_EXCEEDED", "root").await;
    }

    async fn snapshot_longer_than_the_timestamp_lists_is_cut_off() {
        let b = repo();
        let mut u = client(&b);
        let mut padded = u.fetcher().get("meta/1.snapshot.json").unwrap();
        padded.extend_from_slice(&[b' '; 10]);
        u.fetcher().insert("meta/1.snapshot.json", padded);
        refused(&mut u, "LENGTH_EXCEEDED", "snapshot").await;
    }

    async fn targets_metadata_without_a_listed_length_is_capped() {
        let mut b = repo();
        b.meta_lengths_and_hashes = false;
        for i in 0..50 {
            b.add_target(&format!("files/{i}.txt"), format!("{i}").as_bytes(), None);
        }
        let mut config = UpdaterConfig::new("meta", "targets");
        config.targets_max_length = 4_000;
        let mut u = client_with(&b, config);
        let err = refused(&mut u, "LENGTH_EXCEEDED", "targets").await;
        assert!(err.to_string().contains("4000"), "{err}");
    }

    // ---- extraneous dependencies, mix-and-match, malicious mirrors ----

    async fn extraneous_dependency_in_a_target_cannot_be_added_without_a_signature() {
        let mut b = repo();
        b.meta_lengths_and_hashes = false;
        let mut u = client(&b);
        let tampered = with_signed(&u.fetcher().get("meta/1.targets.json").unwrap(), |v| {
            v["signed"]["targets"]["models/iris/1/model.onnx"]["custom"]["depends"] = json!(["evil/1/payload"]);
        });
        u.fetcher().insert("meta/1.targets.json", tampered);
        let err = refused(&mut u, "SIGNATURE_THRESHOLD", "targets").await;
        assert_eq!(err.to_string(), "targets: signature threshold not met (0 of 1 valid signatures)");
    }

    async fn mix_and_match_of_targets_versions_is_refused() {
        for with_hashes in [true, false] {
            let mut b = repo();
            b.meta_lengths_and_hashes = with_hashes;
            let v1 = b.publish().unwrap();
            bump(&mut b);
            let mut u = client(&b);
            // The mirror mixes the new timestamp and snapshot with the old targets.
            u.fetcher().insert("meta/2.targets.json", v1.metadata["1.targets.json"].clone());
            if with_hashes {
                refused(&mut u, "HASH_MISMATCH", "snapshot").await;
            } else {
                let err = refused(&mut u, "BAD_VERSION", "targets").await;
                assert_eq!(err.to_string(), "targets: wrong version (expected 2, got 1)");
            }
        }
    }

    async fn snapshot_version_other_than_the_timestamp_lists_is_refused() {
        let mut b = repo();
        b.meta_lengths_and_hashes = false;
        let mut u = client(&b);
        let mut other = b.clone();
        other.snapshot.version = 5;
        let p = other.publish().unwrap();
        u.fetcher().insert("meta/1.snapshot.json", p.metadata["5.snapshot.json"].clone());
        refused(&mut u, "BAD_VERSION", "snapshot").await;
    }

    async fn targets_version_other_than_the_snapshot_lists_is_refused() {
        let b = repo();
        let p = b.publish_with(&|role, v| {
            if role == "targets" {
                v["version"] = json!(7);
            }
        }).unwrap();
        let mut u = client(&b);
        serve(u.fetcher(), &p);
        refused(&mut u, "BAD_VERSION", "targets").await;
    }

    async fn mirror_serving_another_repositorys_metadata_is_refused() {
        let b = repo();
        let other = RepoBuilder::new("another repository", FAR).publish().unwrap();
        let mut u = client(&b);
        u.fetcher().insert("meta/timestamp.json", other.metadata["timestamp.json"].clone());
        refused(&mut u, "SIGNATURE_THRESHOLD", "timestamp").await;
    }

    async fn wrong_metadata_type_is_refused() {
        let b = repo();
        let mut u = client(&b);
        let snap = u.fetcher().get("meta/1.snapshot.json").unwrap();
        u.fetcher().insert("meta/timestamp.json", snap);
        let err = refused(&mut u, "WRONG_TYPE", "timestamp").await;
        assert_eq!(err.to_string(), "timestamp: wrong metadata type (expected \"timestamp\", got \"snapshot\")");
    }

    async fn spec_version_major_mismatch_is_refused() {
        let b = repo();
        let p = b.publish_with(&|role, v| {
            if role == "timestamp" {
                v["spec_version"] = json!("2.0.0");
            }
        }).unwrap();
        let mut u = client(&b);
        serve(u.fetcher(), &p);
        refused(&mut u, "SPEC_VERSION", "timestamp").await;
    }

    async fn malformed_metadata_is_refused_without_panicking() {
        let b = repo();
        let mut u = client(&b);
        for body in [
            &b"not json"[..],
            b"[]",
            b"{\"signed\": {}, \"signatures\": []}",
            b"{\"signed\": {\"_type\": \"timestamp\"}, \"signatures\": [{}]}",
            b"\xff\xfe",
        ] {
            u.fetcher().insert("meta/timestamp.json", body.to_vec());
            refused(&mut u, "BAD_METADATA", "timestamp").await;
        }
        // Parsing comes before signature checks, so these need no valid signature.
        let good = b.publish().unwrap().metadata["timestamp.json"].clone();
        for (field, value) in [("version", json!(1.5)), ("version", json!(0)), ("expires", json!("2030-02-30T00:00:00Z")), ("padding", json!(0.25)), ("meta", json!({}))] {
            let bad = with_signed(&good, |v| v["signed"][field] = value.clone());
            u.fetcher().insert("meta/timestamp.json", bad);
            let code = if field == "meta" { "MISSING_META" } else { "BAD_METADATA" };
            refused(&mut u, code, "timestamp").await;
        }
    }

    // ---- fast-forward and recovery ----

    async fn fast_forward_timestamp_is_recovered_after_timestamp_key_rotation() {
        let mut b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        // An attacker with the timestamp key pushes the version far ahead.
        let mut attacker = b.clone();
        attacker.timestamp.version = 1000;
        serve(u.fetcher(), &attacker.publish().unwrap());
        u.refresh().await.unwrap();
        // The repository's next honest timestamp looks like a rollback...
        b.timestamp.version = 2;
        serve(u.fetcher(), &b.publish().unwrap());
        refused(&mut u, "ROLLBACK", "timestamp").await;
        // ...until the timestamp key is rotated in root (spec 5.3.11).
        b.timestamp.signers = vec![key("timestamp-recovered")];
        b.commit_root().unwrap();
        serve(u.fetcher(), &b.publish().unwrap());
        let r = u.refresh().await.unwrap();
        assert!(r.timestamp_snapshot_keys_rotated);
        assert_eq!((r.root.version, r.timestamp.version), (2, 2));
        assert_eq!(u.store().get("timestamp.json").await.unwrap().unwrap(), b.publish().unwrap().metadata["timestamp.json"]);
    }

    async fn fast_forward_targets_version_is_recovered_after_snapshot_key_rotation() {
        let mut b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        let mut attacker = b.clone();
        bump(&mut attacker);
        attacker.targets.version = 1000;
        serve(u.fetcher(), &attacker.publish().unwrap());
        assert_eq!(u.refresh().await.unwrap().targets.version, 1000);
        b.timestamp.version = 3;
        b.snapshot.version = 3;
        b.targets.version = 2;
        serve(u.fetcher(), &b.publish().unwrap());
        refused(&mut u, "ROLLBACK", "snapshot").await;
        b.snapshot.signers = vec![key("snapshot-recovered")];
        b.commit_root().unwrap();
        serve(u.fetcher(), &b.publish().unwrap());
        let r = u.refresh().await.unwrap();
        assert_eq!((r.snapshot.version, r.targets.version), (3, 2));
    }

    async fn fast_forward_that_does_not_verify_fully_is_never_persisted() {
        let mut b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        // Timestamp and snapshot keys alone: a snapshot naming targets v1000 that does not exist.
        bump(&mut b);
        let p = b.publish_with(&|role, v| {
            if role == "snapshot" {
                v["meta"]["targets.json"] = json!({"version": 1000});
            }
        }).unwrap();
        serve(u.fetcher(), &p);
        refused(&mut u, "NOT_FOUND", "targets").await;
    }

    // ---- thresholds, duplicates, revoked keys ----

    async fn targets_below_threshold_are_refused() {
        let mut b = repo();
        b.targets.signers = vec![key("t1"), key("t2")];
        b.targets.threshold = 2;
        b.commit_root().unwrap();
        b.targets.signers.truncate(1);
        let mut u = client(&b);
        let err = refused(&mut u, "SIGNATURE_THRESHOLD", "targets").await;
        assert_eq!(err.to_string(), "targets: signature threshold not met (1 of 2 valid signatures)");
    }

    async fn duplicate_signature_key_ids_are_refused() {
        // Spec 4.2: "The keyid MUST be unique in the signatures array".
        let mut b = repo();
        b.targets.signers = vec![key("t1"), key("t2")];
        b.targets.threshold = 2;
        b.commit_root().unwrap();
        b.meta_lengths_and_hashes = false;
        let mut u = client(&b);
        let doubled = with_signed(&u.fetcher().get("meta/1.targets.json").unwrap(), |v| {
            let first = v["signatures"][0].clone();
            v["signatures"] = json!([first.clone(), first]);
        });
        u.fetcher().insert("meta/1.targets.json", doubled);
        let err = refused(&mut u, "BAD_METADATA", "targets").await;
        assert!(err.to_string().contains("two signatures with key id"), "{err}");
    }

    async fn duplicate_keyids_in_a_role_count_once() {
        let mut b = repo();
        let k = key("t1");
        // Root lists the key id twice with threshold 2; targets carries one signature.
        b.targets.signers = vec![k.clone(), k];
        b.targets.threshold = 2;
        b.commit_root().unwrap();
        b.targets.signers.truncate(1);
        let mut u = client(&b);
        let err = refused(&mut u, "SIGNATURE_THRESHOLD", "targets").await;
        assert!(err.to_string().contains("(1 of 2"), "{err}");
    }

    async fn duplicate_key_entries_for_one_public_key_count_once() {
        let mut b = repo();
        let k = key("t1");
        b.targets.signers = vec![k.clone()];
        let mut v = b.root_signed();
        v["keys"]["alias-of-t1"] = k.public_value();
        v["roles"]["targets"] = json!({"keyids": [k.keyid(), "alias-of-t1"], "threshold": 2});
        let old_root = b.root.signers[0].clone();
        b.push_root(sign_metadata(&v, &[&old_root]).unwrap());
        b.meta_lengths_and_hashes = false;
        let mut u = client(&b);
        let aliased = with_signed(&u.fetcher().get("meta/1.targets.json").unwrap(), |v| {
            let mut second = v["signatures"][0].clone();
            second["keyid"] = json!("alias-of-t1");
            v["signatures"].as_array_mut().unwrap().push(second);
        });
        u.fetcher().insert("meta/1.targets.json", aliased);
        let err = refused(&mut u, "SIGNATURE_THRESHOLD", "targets").await;
        assert!(err.to_string().contains("(1 of 2"), "{err}");
    }

    async fn zero_threshold_is_malformed() {
        let mut b = repo();
        b.targets.threshold = 0;
        b.commit_root().unwrap();
        let mut u = client(&b);
        refused(&mut u, "BAD_METADATA", "root").await;
    }

    async fn unknown_key_types_are_ignored_not_fatal() {
        let mut b = repo();
        let mut v = b.root_signed();
        v["keys"]["future-key"] = json!({"keytype": "sphincs-plus", "scheme": "sphincs-shake-256f", "keyval": {"public": "abcd"}});
        let tk = b.targets.signers[0].keyid().to_string();
        v["roles"]["targets"] = json!({"keyids": ["future-key", tk], "threshold": 1});
        let k = b.root.signers[0].clone();
        b.push_root(sign_metadata(&v, &[&k]).unwrap());
        let mut u = client(&b);
        u.refresh().await.unwrap();
        // With threshold 2 the unknown key can never make up the second signature.
        v["version"] = json!(3);
        v["roles"]["targets"]["threshold"] = json!(2);
        b.push_root(sign_metadata(&v, &[&k]).unwrap());
        serve(u.fetcher(), &b.publish().unwrap());
        let err = refused(&mut u, "SIGNATURE_THRESHOLD", "targets").await;
        assert!(err.to_string().contains("(1 of 2"), "{err}");
    }

    async fn revoked_targets_key_cannot_sign_after_root_rotation() {
        let mut b = repo();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        let revoked = b.targets.signers[0].clone();
        b.targets.signers = vec![key("targets-new")];
        b.commit_root().unwrap();
        bump(&mut b);
        let honest = b.clone();
        b.targets.signers = vec![revoked];
        serve(u.fetcher(), &b.publish().unwrap());
        refused(&mut u, "SIGNATURE_THRESHOLD", "targets").await;
        serve(u.fetcher(), &honest.publish().unwrap());
        assert_eq!(u.refresh().await.unwrap().targets.version, 2);
    }

    async fn revoked_root_key_cannot_sign_the_next_root() {
        let mut b = repo();
        let revoked = b.root.signers[0].clone();
        b.root.signers = vec![key("root-2")];
        b.commit_root().unwrap();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        // The holder of the revoked key makes a root 3 that trusts only itself.
        b.root.signers = vec![revoked.clone()];
        let v = b.root_signed();
        u.fetcher().insert("meta/3.root.json", sign_metadata(&v, &[&revoked]).unwrap());
        let err = refused(&mut u, "SIGNATURE_THRESHOLD", "root").await;
        assert_eq!(err.to_string(), "root: signature threshold not met (0 of 1 valid signatures)");
    }

    // ---- root rotation rules ----

    async fn non_sequential_root_version_is_refused() {
        let mut b = repo();
        let mut v = b.root_signed();
        v["version"] = json!(3);
        let k = b.root.signers[0].clone();
        b.push_root(sign_metadata(&v, &[&k]).unwrap());
        let mut u = client(&b);
        let err = refused(&mut u, "BAD_VERSION", "root").await;
        assert_eq!(err.to_string(), "root: wrong version (expected 2, got 3)");
    }

    async fn root_not_signed_by_the_previous_root_is_refused() {
        let mut b = repo();
        let new = key("root-new");
        b.root.signers = vec![new.clone()];
        let v = b.root_signed();
        b.push_root(sign_metadata(&v, &[&new]).unwrap());
        let mut u = client(&b);
        refused(&mut u, "SIGNATURE_THRESHOLD", "root").await;
    }

    async fn root_not_signed_by_its_own_new_threshold_is_refused() {
        let mut b = repo();
        let old = b.root.signers[0].clone();
        let (n1, n2) = (key("root-n1"), key("root-n2"));
        b.root.signers = vec![n1.clone(), n2];
        b.root.threshold = 2;
        let v = b.root_signed();
        b.push_root(sign_metadata(&v, &[&old, &n1]).unwrap());
        let mut u = client(&b);
        let err = refused(&mut u, "SIGNATURE_THRESHOLD", "root").await;
        assert!(err.to_string().contains("(1 of 2"), "{err}");
    }

    async fn root_rotations_per_refresh_are_bounded() {
        let mut b = repo();
        for i in 2..=6 {
            b.root.signers = vec![key(&format!("root-{i}"))];
            b.commit_root().unwrap();
        }
        let mut config = UpdaterConfig::new("meta", "targets");
        config.max_root_rotations = 3;
        let mut u = client_with(&b, config);
        let r = u.refresh().await.unwrap();
        assert_eq!((r.root.version, r.root_rotations), (4, 3));
        let r = u.refresh().await.unwrap();
        assert_eq!((r.root.version, r.root_rotations), (6, 2));
    }

    // ---- delegations ----

    async fn delegated_role_cannot_sign_outside_its_paths() {
        let mut b = repo();
        b.delegate("targets", "team", &["models/team-*/*/*"], false);
        b.add_delegated_target("team", "models/iris/2/model.onnx", b"not theirs", None);
        b.add_delegated_target("team", "models/team-a/1/model.onnx", b"theirs", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        assert_eq!(u.target_info("models/iris/2/model.onnx").await.unwrap_err().code(), "TARGET_NOT_FOUND");
        assert_eq!(u.target_info("models/team-a/1/model.onnx").await.unwrap().role, "team");
    }

    async fn delegated_metadata_is_checked_against_the_snapshot() {
        let mut b = repo();
        b.delegate("targets", "team", &["models/team-*/*/*"], false);
        b.add_delegated_target("team", "models/team-a/1/model.onnx", b"theirs", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        // Same length, other bytes: the snapshot's hash catches it.
        let mut bytes = u.fetcher().get("meta/1.team.json").unwrap();
        let at = bytes.iter().rposition(|c| c.is_ascii_hexdigit()).unwrap();
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        u.fetcher().insert("meta/1.team.json", bytes);
        let err = u.target_info("models/team-a/1/model.onnx").await.unwrap_err();
        assert_eq!(err.code(), "HASH_MISMATCH", "{err}");
        assert_eq!(err.role(), Some("snapshot"));
        assert_eq!(u.store().get("team.json").await.unwrap(), None);
        // A delegated role whose version is not the snapshot's.
        let p = b.publish_with(&|role, v| if role == "team" { v["version"] = json!(9) }).unwrap();
        let mut u = client(&b);
        serve(u.fetcher(), &p);
        u.refresh().await.unwrap();
        let err = u.target_info("models/team-a/1/model.onnx").await.unwrap_err();
        assert_eq!(err.code(), "BAD_VERSION");
        assert_eq!(err.role(), Some("team"));
    }

    async fn delegated_role_signed_by_the_wrong_key_is_refused() {
        let mut b = repo();
        b.delegate("targets", "team", &["models/team-*/*/*"], false);
        b.add_delegated_target("team", "models/team-a/1/model.onnx", b"theirs", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        let mut forged = b.clone();
        forged.delegation_mut("team").unwrap().role.signers = vec![key("not the team")];
        let p = forged.publish().unwrap();
        u.fetcher().insert("meta/1.team.json", p.metadata["1.team.json"].clone());
        let mut b2 = b.clone();
        b2.meta_lengths_and_hashes = false;
        let mut u = client(&b2);
        u.fetcher().insert("meta/1.team.json", p.metadata["1.team.json"].clone());
        u.refresh().await.unwrap();
        let err = u.target_info("models/team-a/1/model.onnx").await.unwrap_err();
        assert_eq!(err.code(), "SIGNATURE_THRESHOLD");
        assert_eq!(err.to_string(), "team: signature threshold not met (0 of 1 valid signatures)");
    }

    async fn delegation_cycles_terminate_without_revisiting_roles() {
        let mut b = repo();
        b.delegate("targets", "a", &["x/*"], false);
        b.delegate("a", "b", &["x/*"], false);
        let a_key = b.delegation_mut("a").unwrap().role.signers[0].clone();
        let p = b.publish_with(&|role, v| {
            if role == "b" {
                v["delegations"] = json!({
                    "keys": {a_key.keyid(): a_key.public_value()},
                    "roles": [{"name": "a", "keyids": [a_key.keyid()], "threshold": 1, "terminating": false, "paths": ["x/*"]}],
                });
            }
        }).unwrap();
        let mut u = client(&b);
        serve(u.fetcher(), &p);
        u.refresh().await.unwrap();
        u.fetcher().clear_requests();
        let err = u.target_info("x/missing").await.unwrap_err();
        assert_eq!(err.code(), "TARGET_NOT_FOUND");
        assert_eq!(u.fetcher().requests(), vec!["meta/1.a.json", "meta/1.b.json"]);
    }

    async fn over_deep_delegation_hits_the_visit_limit() {
        let mut b = repo();
        let mut parent = "targets".to_string();
        for i in 0..40 {
            let name = format!("d{i}");
            b.delegate(&parent, &name, &["deep/*"], false);
            parent = name;
        }
        b.add_delegated_target("d39", "deep/file", b"deep", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        let before = u.fetcher().requests().len();
        let err = u.target_info("deep/file").await.unwrap_err();
        assert_eq!(err.code(), "DELEGATION_LIMIT");
        assert_eq!(err.to_string(), "d31: delegation search stopped after visiting 32 roles");
        assert_eq!(u.fetcher().requests().len() - before, 31, "roles fetched beyond the bound");
        let mut config = UpdaterConfig::new("meta", "targets");
        config.max_delegations = 64;
        let mut u = client_with(&b, config);
        u.refresh().await.unwrap();
        assert_eq!(u.target_info("deep/file").await.unwrap().role, "d39");
    }

    async fn terminating_delegation_stops_the_search() {
        let mut b = repo();
        b.delegate("targets", "first", &["shared/*"], true);
        b.delegate("targets", "second", &["shared/*"], false);
        b.add_delegated_target("second", "shared/file", b"from second", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        assert_eq!(u.target_info("shared/file").await.unwrap_err().code(), "TARGET_NOT_FOUND");
        b.delegation_mut("first").unwrap().terminating = false;
        let mut u = client(&b);
        u.refresh().await.unwrap();
        assert_eq!(u.target_info("shared/file").await.unwrap().role, "second");
    }

    async fn delegated_role_names_cannot_form_paths() {
        let mut b = repo();
        b.delegate("targets", "../../escape", &["esc/*"], false);
        b.add_delegated_target("../../escape", "esc/file", b"x", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        assert_eq!(u.target_info("esc/file").await.unwrap().role, "../../escape");
        assert!(u.fetcher().requests().contains(&"meta/1...%2F..%2Fescape.json".to_string()), "{:?}", u.fetcher().requests());
        assert!(u.store().get("..%2F..%2Fescape.json").await.unwrap().is_some());
    }

    async fn role_reached_through_another_delegator_is_verified_again() {
        // "Diamond": parent-a and parent-b both delegate to "release", each with its own key;
        // release is signed by parent-a's key only, so it is trusted for team-a/* only.
        let mut b = repo();
        b.delegate("targets", "parent-a", &["team-a/*"], false);
        b.delegate("targets", "parent-b", &["team-b/*"], false);
        b.delegate("parent-a", "release", &["team-a/*"], false);
        b.add_delegated_target("release", "team-a/file", b"trusted A", None);
        b.add_delegated_target("release", "team-b/file", b"malicious B", None);
        let other = key("release key of parent-b");
        let p = b.publish_with(&|role, v| {
            if role == "parent-b" {
                v["delegations"] = json!({
                    "keys": {other.keyid(): other.public_value()},
                    "roles": [{"name": "release", "keyids": [other.keyid()], "threshold": 1, "terminating": false, "paths": ["team-b/*"]}],
                });
            }
        }).unwrap();
        let mut u = client(&b);
        serve(u.fetcher(), &p);
        u.refresh().await.unwrap();
        assert_eq!(u.target_info("team-a/file").await.unwrap().role, "release");
        let err = u.target_info("team-b/file").await.unwrap_err();
        assert_eq!(err.code(), "SIGNATURE_THRESHOLD");
        assert_eq!(err.to_string(), "release: signature threshold not met (0 of 1 valid signatures)");
    }

    async fn each_step_mode_persists_only_what_verified() {
        let mut b = repo();
        let mut config = UpdaterConfig::new("meta", "targets");
        config.persist_each_step = true;
        let mut u = client_with(&b, config);
        u.refresh().await.unwrap();
        // Root 2 and timestamp 2 are good; snapshot 2 is expired.
        b.root.signers = vec![key("root-2")];
        b.commit_root().unwrap();
        bump(&mut b);
        b.snapshot.expires = NOW - 1;
        let p = b.publish().unwrap();
        serve(u.fetcher(), &p);
        let before = stored(&u).await;
        let err = u.refresh().await.unwrap_err();
        assert_eq!((err.code(), err.role()), ("EXPIRED", Some("snapshot")));
        let after: std::collections::BTreeMap<String, Vec<u8>> = stored(&u).await.into_iter().collect();
        assert_eq!(after["root.json"], p.metadata["2.root.json"]);
        assert_eq!(after["timestamp.json"], p.metadata["timestamp.json"]);
        let before: std::collections::BTreeMap<String, Vec<u8>> = before.into_iter().collect();
        assert_eq!(after["snapshot.json"], before["snapshot.json"], "an expired snapshot was persisted");
        assert_eq!(after["targets.json"], before["targets.json"]);
    }

    // ---- path traversal ----

    async fn path_traversal_target_names_are_refused() {
        let mut b = repo();
        b.add_target("../evil.sh", b"#!/bin/sh", None);
        let mut u = client(&b);
        u.refresh().await.unwrap();
        for bad in ["../evil.sh", "/etc/passwd", "a/../../b", "a\\b", "a//b", "./x"] {
            let err = u.target_info(bad).await.unwrap_err();
            assert_eq!(err.code(), "BAD_TARGET_PATH", "{bad}");
        }
        let forged = TargetInfo {
            path: "../evil.sh".into(),
            length: 9,
            hashes: [("sha256".to_string(), "00".repeat(32))].into_iter().collect(),
            custom: None,
            role: "targets".into(),
        };
        assert_eq!(download(&u, &forged).await.0.unwrap_err().code(), "BAD_TARGET_PATH");
        assert_eq!(u.check_cached_target(&forged, b"#!/bin/sh").unwrap_err().code(), "BAD_TARGET_PATH");
    }

    async fn mutated_metadata_never_panics() {
        // Deterministic mutations (truncate, flip, insert, delete) of every role's bytes, fed
        // to the verifier: each must end in Ok or a typed error, never a panic.
        use edge_registry::tuf::TrustedMetadataSet;
        let mut b = repo();
        b.delegate("targets", "team", &["models/team-*/*/*"], false);
        b.add_delegated_target("team", "models/team-a/1/m.onnx", b"m", None);
        b.root.signers = vec![key("root-2")];
        b.commit_root().unwrap();
        let p = b.publish().unwrap();
        let root1 = b.roots()[0].clone();
        let files = ["2.root.json", "timestamp.json", "1.snapshot.json", "1.targets.json", "1.team.json"];
        let mut x: u32 = 0x9e37_79b9;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut errors = 0;
        let mut total = 0;
        for (step, name) in files.iter().enumerate() {
            let good = p.metadata[*name].clone();
            for _ in 0..120 {
                let mut m = good.clone();
                let at = next() as usize % m.len();
                match next() % 4 {
                    0 => m.truncate(at),
                    1 => m[at] ^= 1 << (next() % 8),
                    2 => m.insert(at, (next() % 256) as u8),
                    _ => {
                        m.remove(at);
                    }
                }
                // Bring a set to the step before `name` with the good files, then feed the
                // mutated one.
                let mut set = TrustedMetadataSet::new(&root1, NOW).unwrap();
                let good_of = |n: &str| p.metadata[n].clone();
                let feed = |set: &mut TrustedMetadataSet, i: usize, bytes: &[u8]| -> Result<(), TufError> {
                    match i {
                        0 => set.update_root(bytes).map(|_| ()),
                        1 => set.update_timestamp(bytes).map(|_| ()),
                        2 => set.update_snapshot(bytes, false),
                        3 => set.update_targets(bytes).map(|_| ()),
                        _ => set.update_delegated_targets(bytes, "team", "targets").map(|_| ()),
                    }
                };
                for (i, prior) in files.iter().enumerate().take(step) {
                    feed(&mut set, i, &good_of(prior)).unwrap();
                }
                total += 1;
                if let Err(e) = feed(&mut set, step, &m) {
                    assert!(!e.code().is_empty());
                    errors += 1;
                }
            }
        }
        // Most mutations break something; a few (inside JSON whitespace) are harmless.
        assert!(errors * 10 >= total * 8, "{errors} of {total} mutations refused");
    }

    // ---- state handling ----

    async fn lookups_need_a_successful_refresh() {
        let b = repo();
        let mut u = client(&b);
        assert_eq!(u.target_info("README.txt").await.unwrap_err().code(), "INVALID_STATE");
        u.refresh().await.unwrap();
        u.target_info("README.txt").await.unwrap();
        u.fetcher().insert("meta/timestamp.json", b"garbage".to_vec());
        refused(&mut u, "BAD_METADATA", "timestamp").await;
        assert_eq!(u.target_info("README.txt").await.unwrap_err().code(), "INVALID_STATE");
    }

    async fn stored_root_newer_than_the_pinned_one_is_kept() {
        let mut b = repo();
        b.root.signers = vec![key("root-2")];
        b.commit_root().unwrap();
        let mut u = client(&b);
        u.refresh().await.unwrap();
        u.fetcher().clear_requests();
        // Same store, same pinned v1: the refresh starts from the stored v2.
        u.refresh().await.unwrap();
        assert_eq!(u.fetcher().requests()[0], "meta/3.root.json");
        let no_root = Updater::new(UpdaterConfig::new("meta", "targets"), MemoryFetch::new(), MemoryStore::new(), FixedClock::new(NOW));
        let mut no_root = no_root;
        assert_eq!(no_root.refresh().await.unwrap_err().code(), "INVALID_STATE");
    }
}
