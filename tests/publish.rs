//! The publisher library (`edge_registry::publish`) through its public API, in memory: every
//! commit is read back by the TUF client (`Updater` over `MemoryFetch`) as a browser would.
//! Runs natively and in wasm (the publisher core is I/O-free and draws no randomness).

use std::collections::BTreeMap;

use edge_registry::catalogue::{self, Aliases, Catalogue, ModelCard, Selector, SignedFile};
use edge_registry::clock::FixedClock;
use edge_registry::error::ErrorCode;
use edge_registry::fetch::MemoryFetch;
use edge_registry::publish::{
    profile_from_table, Expiries, FileBytes, Keyring, PublishOutcome, Release, Repository,
};
use edge_registry::store::MemoryStore;
use edge_registry::tuf::keys::Ed25519Signer;
use edge_registry::tuf::repo::seed_from_label;
use edge_registry::tuf::time::parse_expires;
use edge_registry::tuf::{Updater, UpdaterConfig};
use serde_json::{json, Value};

/// 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

const IRIS: &[u8] = include_bytes!("fixtures/models/iris/model.onnx");
const IRIS_CARD: &str = include_str!("fixtures/models/iris/card.json");
const IRIS_TRAIN: &[u8] = include_bytes!("fixtures/models/iris/train.csv");
const DIABETES: &[u8] = include_bytes!("fixtures/models/diabetes/model.onnx");

type Files = BTreeMap<String, Vec<u8>>;

fn key(label: &str) -> Ed25519Signer {
    Ed25519Signer::from_seed(&seed_from_label(label))
}

struct Fixture {
    files: Files,
    ring: Keyring,
    root_v1: Vec<u8>,
}

fn create() -> Fixture {
    let roots = [key("root-a"), key("root-b"), key("root-c")];
    let (t, s, ts) = (key("targets"), key("snapshot"), key("timestamp"));
    let mut repo = Repository::create(&roots, 2, &t, &s, &ts).unwrap();
    let ring: Keyring = roots.iter().cloned().chain([t, s, ts]).collect();
    let changes = repo.commit(&ring, NOW, &Expiries::default()).unwrap();
    let mut files = Files::new();
    changes.apply_to(&mut files);
    let root_v1 = files["metadata/1.root.json"].clone();
    Fixture {
        files,
        ring,
        root_v1,
    }
}

fn edit(fx: &mut Fixture, now: i64, f: impl FnOnce(&mut Repository)) -> Vec<String> {
    let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
    f(&mut repo);
    let changes = repo.commit(&fx.ring, now, &Expiries::default()).unwrap();
    changes.apply_to(&mut fx.files);
    changes.files.into_iter().map(|f| f.path).collect()
}

fn iris_release(version: &str, aliases: &[&str]) -> Release {
    let mut card: Value = serde_json::from_str(IRIS_CARD).unwrap();
    card["version"] = json!(version);
    let table = profile_from_table(edge_registry::eval::DataFormat::Csv, IRIS_TRAIN).unwrap();
    let (profile, skipped) = (table.profile, table.skipped);
    assert_eq!(skipped, 0);
    Release {
        name: "iris".into(),
        version: version.into(),
        model: IRIS.to_vec(),
        card: Some(card),
        files: vec![FileBytes::new(
            "profile.json",
            profile.to_json().into_bytes(),
        )],
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        role: None,
        force: false,
        force_unloadable: false,
    }
}

type Client = Updater<MemoryFetch, MemoryStore, FixedClock>;

fn client(fx: &Fixture, now: i64) -> Client {
    let f = MemoryFetch::new();
    for (path, bytes) in &fx.files {
        f.insert(path.clone(), bytes.clone());
    }
    Updater::new(
        UpdaterConfig::new("metadata", "targets"),
        f,
        MemoryStore::new(),
        FixedClock::new(now),
    )
    .with_trusted_root(fx.root_v1.clone())
}

fn serve(u: &Client, fx: &Fixture) {
    for (path, bytes) in &fx.files {
        u.fetcher().insert(path.clone(), bytes.clone());
    }
}

async fn catalogue(u: &mut Client) -> Catalogue {
    u.refresh().await.unwrap();
    let listing = u.list_targets().await.unwrap();
    assert!(listing.ignored.is_empty(), "{:?}", listing.ignored);
    let mut cat =
        Catalogue::from_targets(listing.targets.iter().cloned().map(SignedFile::unlocated));
    cat.require_cards();
    for t in &listing.targets {
        let mut bytes = Vec::new();
        u.download_target(t, &mut |c| {
            bytes.extend_from_slice(c);
            Ok(())
        })
        .await
        .unwrap();
        if t.path.ends_with("/aliases.json") {
            cat.set_aliases(Aliases::from_bytes(&t.path, &bytes).unwrap());
        }
    }
    assert!(cat.problems.is_empty(), "{:?}", cat.problems);
    cat
}

everywhere_async! {
    async fn a_new_repository_is_what_the_client_accepts() {
        let fx = create();
        let names: Vec<&String> = fx.files.keys().collect();
        assert_eq!(names, [
            "metadata/1.root.json", "metadata/1.snapshot.json", "metadata/1.targets.json",
            "metadata/root.json", "metadata/snapshot.json", "metadata/targets.json",
            "metadata/timestamp.json",
        ]);
        let mut u = client(&fx, NOW);
        let r = u.refresh().await.unwrap();
        assert_eq!((r.root.version, r.timestamp.version, r.snapshot.version, r.targets.version), (1, 1, 1, 1));
        let exp = |s: &str| parse_expires(s).unwrap() - NOW;
        assert_eq!(exp(&r.root.expires), 365 * DAY);
        assert_eq!(exp(&r.targets.expires), 90 * DAY);
        assert_eq!(exp(&r.snapshot.expires), 7 * DAY);
        assert_eq!(exp(&r.timestamp.expires), DAY);
        let root: Value = serde_json::from_slice(&fx.root_v1).unwrap();
        assert_eq!(root["signed"]["roles"]["root"]["threshold"], 2);
        assert_eq!(root["signed"]["roles"]["root"]["keyids"].as_array().unwrap().len(), 3);
        assert_eq!(root["signatures"].as_array().unwrap().len(), 3);
        assert_eq!(root["signed"]["consistent_snapshot"], true);
    }

    async fn publish_writes_the_card_from_the_graph_and_consistent_snapshot_files() {
        let mut fx = create();
        let written = edit(&mut fx, NOW, |r| {
            assert_eq!(r.publish(&iris_release("1", &["production"]), NOW).unwrap(), PublishOutcome::Published);
        });
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(IRIS));
        assert!(written.contains(&format!("targets/models/iris/1/{sha}.model.onnx")), "{written:?}");
        assert!(written.contains(&"targets/models/iris/1/model.onnx".to_string()));
        // Timestamp is written last, after snapshot and targets.
        assert_eq!(written.last().unwrap(), "metadata/timestamp.json");
        assert!(written.contains(&"metadata/2.targets.json".to_string()));
        assert!(written.contains(&"metadata/2.snapshot.json".to_string()));
        let mut u = client(&fx, NOW + 60);
        let cat = catalogue(&mut u).await;
        let iris = &cat.models["iris"];
        let v1 = iris.version("1").unwrap();
        let card = v1.model_card.as_ref().unwrap();
        let schema = edge_registry::engine::read_schema(IRIS).unwrap();
        assert_eq!(card.inputs, schema.inputs);
        assert_eq!(card.outputs, schema.outputs);
        assert_eq!(card.labels, ["setosa", "versicolor", "virginica"]);
        assert_eq!(card.files["profile"], "models/iris/1/profile.json");
        assert!(v1.files.contains_key("profile.json"));
        // Metrics are strings in the signed card (canonical JSON has no floats) and numbers
        // in the typed card.
        let info = u.target_info("models/iris/1/model.onnx").await.unwrap();
        assert_eq!(info.custom.unwrap()["metrics"]["accuracy"], json!("0.9473684210526315"));
        assert_eq!(card.metrics["accuracy"], 0.9473684210526315);
        assert_eq!(card.created.as_deref(), Some("2026-11-26T00:00:00Z"));
        assert_eq!(iris.known_aliases()["production"], "1");
        assert_eq!(iris.resolve(&Selector::Default).unwrap().model.version, "1");
    }

    async fn versions_are_immutable_and_republishing_the_same_is_a_no_op() {
        let mut fx = create();
        edit(&mut fx, NOW, |r| {
            r.publish(&iris_release("1", &[]), NOW).unwrap();
        });
        let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
        assert_eq!(repo.publish(&iris_release("1", &[]), NOW + 5).unwrap(), PublishOutcome::Unchanged);
        assert!(!repo.has_changes());
        let mut other = iris_release("1", &[]);
        other.model = DIABETES.to_vec();
        other.card = None;
        other.files.clear();
        let err = repo.publish(&other, NOW).unwrap_err();
        assert_eq!(err.code(), "VERSION_EXISTS", "{err}");
        assert!(!repo.has_changes(), "a refused publish must not change anything");
        other.force = true;
        assert_eq!(repo.publish(&other, NOW).unwrap(), PublishOutcome::Replaced);
        let changes = repo.commit(&fx.ring, NOW, &Expiries::default()).unwrap();
        changes.apply_to(&mut fx.files);
        let mut u = client(&fx, NOW);
        let cat = catalogue(&mut u).await;
        let v1 = cat.models["iris"].version("1").unwrap();
        assert_eq!(v1.target.length, DIABETES.len() as u64);
        assert!(v1.files.is_empty(), "the replaced version's profile is gone");
    }

    async fn a_model_that_does_not_load_or_contradicts_its_card_is_refused() {
        let fx = create();
        let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
        let mut r = iris_release("1", &[]);
        r.model = b"not onnx".to_vec();
        assert_eq!(repo.publish(&r, NOW).unwrap_err().code(), "BAD_MODEL");
        let mut r = iris_release("1", &[]);
        r.card.as_mut().unwrap()["inputs"][0]["shape"][1] = json!(5);
        assert_eq!(repo.publish(&r, NOW).unwrap_err().code(), "SCHEMA_MISMATCH");
        let mut r = iris_release("1", &[]);
        r.card.as_mut().unwrap()["name"] = json!("digits");
        assert_eq!(repo.publish(&r, NOW).unwrap_err().code(), "BAD_CARD");
        let mut r = iris_release("1", &[]);
        r.name = "Iris".into();
        assert_eq!(repo.publish(&r, NOW).unwrap_err().code(), "BAD_NAME");
        let mut r = iris_release("1", &[]);
        r.files.push(FileBytes::new("../x", vec![]));
        assert_eq!(repo.publish(&r, NOW).unwrap_err().code(), "BAD_NAME");
        assert!(!repo.has_changes());
    }

    async fn an_unloadable_model_needs_force_unloadable_and_the_card_says_so() {
        let fx = create();
        let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
        let unsupported = include_bytes!("fixtures/engine/unsupported.onnx");
        let mut r = iris_release("1", &[]);
        r.model = unsupported.to_vec();
        r.card = None;
        r.files.clear();
        assert_eq!(repo.publish(&r, NOW).unwrap_err().code(), "UNSUPPORTED_MODEL");
        assert!(!repo.has_changes());
        r.force_unloadable = true;
        repo.publish(&r, NOW).unwrap();
        let entry = repo.target("models/iris/1/model.onnx").unwrap().entry;
        let card = &entry["custom"];
        assert_eq!(card["compatibility"]["forced"], json!(true));
        assert_eq!(card["compatibility"]["error"]["code"], json!("UNSUPPORTED_MODEL"));
        assert_eq!(card["inputs"][0]["name"], json!("input"));
        // Forcing does not admit a model that contradicts its card.
        let mut r = iris_release("2", &[]);
        r.force_unloadable = true;
        r.card.as_mut().unwrap()["inputs"][0]["shape"][1] = json!(5);
        assert_eq!(repo.publish(&r, NOW).unwrap_err().code(), "SCHEMA_MISMATCH");
        // A loadable model's card records its plan.
        repo.publish(&iris_release("3", &[]), NOW).unwrap();
        let entry = repo.target("models/iris/3/model.onnx").unwrap().entry;
        assert_eq!(entry["custom"]["compatibility"], json!({"loaded": true, "plan": "static"}));
    }

    async fn moving_an_alias_is_a_signed_act_the_client_sees() {
        let mut fx = create();
        edit(&mut fx, NOW, |r| {
            r.publish(&iris_release("1", &["production"]), NOW).unwrap();
            r.publish(&iris_release("2", &["staging"]), NOW).unwrap();
        });
        let mut u = client(&fx, NOW);
        let cat = catalogue(&mut u).await;
        assert_eq!(cat.models["iris"].resolve(&Selector::Named("production".into())).unwrap().model.version, "1");
        let before = u.target_info("models/iris/aliases.json").await.unwrap();
        let written = edit(&mut fx, NOW + 10, |r| {
            assert!(r.set_alias("iris", "production", "2").unwrap());
            assert!(!r.set_alias("iris", "staging", "2").unwrap());
            assert_eq!(r.set_alias("iris", "production", "3").unwrap_err().code(), "NOT_FOUND");
            assert_eq!(r.set_alias("iris", "v", "3").unwrap_err().code(), "NOT_FOUND");
            assert_eq!(r.set_alias("nope", "production", "1").unwrap_err().code(), "NOT_FOUND");
            assert_eq!(r.set_alias("iris", "Prod", "1").unwrap_err().code(), "BAD_NAME");
        });
        assert!(written.contains(&"metadata/3.targets.json".to_string()), "{written:?}");
        serve(&u, &fx);
        let cat = catalogue(&mut u).await;
        assert_eq!(cat.models["iris"].resolve(&Selector::Named("production".into())).unwrap().model.version, "2");
        let after = u.target_info("models/iris/aliases.json").await.unwrap();
        assert_ne!(before.hashes, after.hashes);
        // A version may not be named like an alias, nor an alias like a version.
        let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
        assert_eq!(repo.publish(&iris_release("staging", &[]), NOW).unwrap_err().code(), "NAME_CONFLICT");
        repo.publish(&iris_release("v3", &[]), NOW).unwrap();
        assert_eq!(repo.set_alias("iris", "v3", "1").unwrap_err().code(), "NAME_CONFLICT");
        assert!(repo.remove_alias("iris", "staging").unwrap());
        assert!(!repo.remove_alias("iris", "staging").unwrap());
    }

    async fn a_staged_rollout_is_started_advanced_paused_and_ended_by_signed_edits() {
        use edge_registry::catalogue::{ModelRef, RolloutClient};
        use edge_registry::publish::{Advanced, RolloutPlan};
        let mut fx = create();
        edit(&mut fx, NOW, |r| {
            r.publish(&iris_release("1", &["production"]), NOW).unwrap();
            r.publish(&iris_release("2", &[]), NOW).unwrap();
        });
        let plan = RolloutPlan {
            to: "2".into(),
            stages: vec![1000, 5000, 10_000],
            start: NOW,
            every: Some(DAY),
            salt: "s".into(),
            gate: false,
            min_client: None,
        };
        edit(&mut fx, NOW, |r| {
            assert!(r.start_rollout("iris", "production", &plan).unwrap());
            assert_eq!(r.start_rollout("iris", "production", &plan).unwrap_err().code(), "NAME_CONFLICT");
            // The alias moves only through the rollout.
            assert_eq!(r.set_alias("iris", "production", "2").unwrap_err().code(), "NAME_CONFLICT");
            assert_eq!(r.remove_alias("iris", "production").unwrap_err().code(), "NAME_CONFLICT");
            let bad = |f: fn(&mut RolloutPlan)| {
                let mut p = plan.clone();
                f(&mut p);
                p
            };
            for (p, code) in [
                (bad(|p| p.to = "9".into()), "NOT_FOUND"),
                (bad(|p| p.stages = vec![5000, 1000]), "INVALID_ARGUMENT"),
                (bad(|p| p.stages = vec![0]), "INVALID_ARGUMENT"),
                (bad(|p| p.stages = vec![10_001]), "INVALID_ARGUMENT"),
                (bad(|p| p.gate = true), "INVALID_ARGUMENT"), // iris 2's card declares no gates
                (bad(|p| p.salt = "a b".into()), "INVALID_ARGUMENT"),
            ] {
                let mut other = r.clone();
                other.abort_rollout("iris", "production").unwrap();
                assert_eq!(other.start_rollout("iris", "production", &p).unwrap_err().code(), code, "{p:?}");
            }
            assert_eq!(r.start_rollout("iris", "nope", &plan).unwrap_err().code(), "NOT_FOUND");
        });
        let mut u = client(&fx, NOW);
        let cat = catalogue(&mut u).await;
        let share = |cat: &Catalogue, now: i64| {
            (0..1000)
                .filter(|i| {
                    let id = format!("c{i}");
                    let c = RolloutClient { id: Some(&id), version: None, now };
                    cat.resolve_for(&ModelRef::parse("iris").unwrap(), Some(&c)).unwrap().model.version == "2"
                })
                .count()
        };
        let day0 = share(&cat, NOW + 1);
        assert!((50..=150).contains(&day0), "{day0} of 1000 at 10 %");
        assert!((400..=600).contains(&share(&cat, NOW + DAY + 1)));
        assert_eq!(share(&cat, NOW + 2 * DAY), 1000);
        // Pause on day 0: later dates stay in stage 1; resuming a day later moves the rest.
        edit(&mut fx, NOW + 10, |r| assert!(r.pause_rollout("iris", "production", NOW + 10).unwrap()));
        serve(&u, &fx);
        let cat = catalogue(&mut u).await;
        assert_eq!(share(&cat, NOW + 5 * DAY), day0);
        assert_eq!(cat.models["iris"].rollouts["production"].paused_at.as_deref(), Some("2027-01-15T08:00:10Z"));
        edit(&mut fx, NOW + DAY + 10, |r| {
            assert_eq!(r.advance_rollout("iris", "production", NOW + DAY + 10).unwrap_err().code(), "NAME_CONFLICT");
            assert!(r.resume_rollout("iris", "production", NOW + DAY + 10).unwrap());
            assert!(!r.resume_rollout("iris", "production", NOW + DAY + 10).unwrap());
            let stages = &r.rollout("iris", "production").unwrap().stages;
            assert_eq!(stages[1].start.as_deref(), Some("2027-01-17T08:00:00Z"), "moved a day later");
            // Advance: stage 2 now, then stage 3, then the end (the alias names the candidate).
            assert_eq!(r.advance_rollout("iris", "production", NOW + DAY + 20).unwrap(), Advanced::Stage(1));
            assert_eq!(r.advance_rollout("iris", "production", NOW + DAY + 30).unwrap(), Advanced::Stage(2));
            assert_eq!(r.advance_rollout("iris", "production", NOW + DAY + 40).unwrap(), Advanced::Completed("2".into()));
            assert!(r.rollout("iris", "production").is_none());
        });
        serve(&u, &fx);
        let cat = catalogue(&mut u).await;
        assert_eq!(cat.models["iris"].resolve(&Selector::Default).unwrap().model.version, "2");
        assert!(cat.models["iris"].rollouts.is_empty());
        // Abort: the alias keeps its version.
        edit(&mut fx, NOW + 2 * DAY, |r| {
            r.publish(&iris_release("3", &[]), NOW).unwrap();
            r.start_rollout("iris", "production", &RolloutPlan { to: "3".into(), ..plan.clone() }).unwrap();
            assert!(r.abort_rollout("iris", "production").unwrap());
            assert_eq!(r.abort_rollout("iris", "production").unwrap_err().code(), "NOT_FOUND");
        });
        serve(&u, &fx);
        let cat = catalogue(&mut u).await;
        assert_eq!(cat.models["iris"].resolve(&Selector::Default).unwrap().model.version, "2");
    }

    async fn a_team_signs_only_its_namespace() {
        let mut fx = create();
        let team = key("team-vision");
        fx.ring.add(team.clone());
        edit(&mut fx, NOW, |r| {
            r.delegate("vision", std::slice::from_ref(&team), 1).unwrap();
            assert_eq!(r.delegate("vision", std::slice::from_ref(&team), 1).unwrap_err().code(), "ROLE_EXISTS");
            assert_eq!(r.delegate("a-b", std::slice::from_ref(&team), 1).unwrap_err().code(), "BAD_NAME");
        });
        assert!(fx.files.contains_key("metadata/1.vision.json"));
        let mut r = iris_release("1", &["production"]);
        r.name = "vision-iris".into();
        r.card.as_mut().unwrap()["name"] = json!("vision-iris");
        r.role = Some("vision".into());
        let written = edit(&mut fx, NOW, |repo| {
            repo.publish(&r, NOW).unwrap();
            let mut wrong = iris_release("1", &[]);
            wrong.role = Some("vision".into());
            assert_eq!(repo.publish(&wrong, NOW).unwrap_err().code(), "NOT_DELEGATED");
            let mut top = r.clone();
            top.role = None;
            top.version = "2".into();
            top.card.as_mut().unwrap()["version"] = json!("2");
            assert_eq!(repo.publish(&top, NOW).unwrap_err().code(), "NAME_CONFLICT");
            assert_eq!(
                repo.add_target("vision", "models/digits/1/model.onnx", b"x", None).unwrap_err().code(),
                "NOT_DELEGATED"
            );
        });
        // Only the team role, snapshot and timestamp are re-signed.
        assert!(written.contains(&"metadata/2.vision.json".to_string()), "{written:?}");
        assert!(!written.iter().any(|p| p.contains(".targets.json")), "{written:?}");
        let mut u = client(&fx, NOW);
        let cat = catalogue(&mut u).await;
        let m = &cat.models["vision-iris"];
        assert_eq!(m.versions[0].target.role, "vision");
        assert_eq!(m.known_aliases()["production"], "1");
        // Without the team key, nothing can be published for the team.
        let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
        let mut r2 = r.clone();
        r2.version = "2".into();
        r2.card.as_mut().unwrap()["version"] = json!("2");
        repo.publish(&r2, NOW).unwrap();
        let ring: Keyring = ["targets", "snapshot", "timestamp"].iter().map(|l| key(l)).collect();
        assert_eq!(repo.commit(&ring, NOW, &Expiries::default()).unwrap_err().code(), "MISSING_KEY");
    }

    async fn root_rotation_is_followed_by_a_client_holding_the_old_root() {
        let mut fx = create();
        edit(&mut fx, NOW, |r| {
            r.publish(&iris_release("1", &[]), NOW).unwrap();
        });
        let mut u = client(&fx, NOW);
        u.refresh().await.unwrap();
        let new_root = [key("root-d"), key("root-e")];
        let new_ts = key("timestamp-2");
        fx.ring.add(new_root[0].clone());
        fx.ring.add(new_root[1].clone());
        fx.ring.add(new_ts.clone());
        // Without a threshold of the old root keys, rotation is refused.
        let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
        repo.rotate_keys("root", &new_root, 2).unwrap();
        let only_new: Keyring = new_root.iter().cloned().collect();
        assert_eq!(repo.commit(&only_new, NOW, &Expiries::default()).unwrap_err().code(), "MISSING_KEY");
        assert_eq!(repo.rotate_keys("root", &new_root, 3).unwrap_err().code(), "INVALID_ARGUMENT");
        let written = edit(&mut fx, NOW + DAY, |r| {
            r.rotate_keys("root", &new_root, 2).unwrap();
            r.rotate_keys("timestamp", std::slice::from_ref(&new_ts), 1).unwrap();
        });
        assert!(written.contains(&"metadata/2.root.json".to_string()), "{written:?}");
        let root2: Value = serde_json::from_slice(&fx.files["metadata/2.root.json"]).unwrap();
        let sigs: Vec<&str> = root2["signatures"].as_array().unwrap().iter().map(|s| s["keyid"].as_str().unwrap()).collect();
        for k in [key("root-a"), key("root-b"), new_root[0].clone(), new_root[1].clone()] {
            assert!(sigs.contains(&k.keyid()), "2.root.json lacks a signature by {}", k.keyid());
        }
        assert!(root2["signed"]["keys"].get(key("timestamp").keyid()).is_none(), "the old timestamp key is dropped");
        serve(&u, &fx);
        let r = u.refresh().await.unwrap();
        assert_eq!(r.root.version, 2);
        assert_eq!(r.root_rotations, 1);
        assert!(r.timestamp_snapshot_keys_rotated);
        // A fresh client pinned to root v1 follows too.
        let mut fresh = client(&fx, NOW + DAY);
        assert_eq!(fresh.refresh().await.unwrap().root.version, 2);
    }

    async fn refreshing_the_timestamp_extends_its_expiry() {
        let mut fx = create();
        let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
        let until = NOW + 3 * DAY;
        repo.resign("timestamp", Some(until)).unwrap();
        let changes = repo.commit(&fx.ring, NOW + DAY / 2, &Expiries::default()).unwrap();
        let names: Vec<&str> = changes.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(names, ["metadata/timestamp.json"]);
        changes.apply_to(&mut fx.files);
        // The old timestamp would have expired; the new one has not.
        let mut u = client(&fx, NOW + 2 * DAY);
        let r = u.refresh().await.unwrap();
        assert_eq!(r.timestamp.version, 2);
        assert_eq!(parse_expires(&r.timestamp.expires), Some(until));
        // Without the refresh the same client time fails with EXPIRED.
        let stale = create();
        let err = client(&stale, NOW + 2 * DAY).refresh().await.unwrap_err();
        assert_eq!(err.code(), "EXPIRED");
        assert_eq!(err.role(), Some("timestamp"));
    }

    async fn an_expired_role_that_is_not_resigned_fails_the_self_check() {
        let mut fx = create();
        // Eight days later the snapshot (7 days) has lapsed: re-signing only the timestamp
        // would publish a repository every client refuses.
        let mut repo = Repository::load(&mut fx.files.clone()).unwrap();
        repo.resign("timestamp", None).unwrap();
        let err = repo.commit(&fx.ring, NOW + 8 * DAY, &Expiries::default()).unwrap_err();
        assert_eq!(err.code(), "EXPIRED", "{err}");
        assert!(err.to_string().starts_with("self-check"), "{err}");
        repo.resign("snapshot", None).unwrap();
        repo.commit(&fx.ring, NOW + 8 * DAY, &Expiries::default()).unwrap().apply_to(&mut fx.files);
        client(&fx, NOW + 8 * DAY).refresh().await.unwrap();
    }

    async fn a_tampered_repository_is_not_loaded() {
        let mut fx = create();
        edit(&mut fx, NOW, |r| {
            r.publish(&iris_release("1", &["production"]), NOW).unwrap();
        });
        let mut bad = fx.files.clone();
        let k = "metadata/2.targets.json";
        let mut v: Value = serde_json::from_slice(&bad[k]).unwrap();
        // Same length, other content: the snapshot's hash catches it.
        v["signed"]["targets"]["models/iris/1/model.onnx"]["hashes"]["sha256"] = json!("00".repeat(32));
        let mut edited = serde_json::to_vec_pretty(&v).unwrap();
        edited.push(b'\n');
        assert_eq!(edited.len(), bad[k].len());
        bad.insert(k.into(), edited);
        assert_eq!(Repository::load(&mut bad).unwrap_err().code(), "HASH_MISMATCH");
        let mut bad = fx.files.clone();
        let name = bad.keys().find(|k| k.contains("aliases.json") && k.len() > 40).unwrap().clone();
        bad.insert(name, b"{}".to_vec());
        assert_eq!(Repository::load(&mut bad).unwrap_err().code(), "BAD_REPOSITORY");
        let mut bad = fx.files.clone();
        bad.remove("metadata/timestamp.json");
        assert_eq!(Repository::load(&mut bad).unwrap_err().code(), "BAD_REPOSITORY");
    }

    async fn list_targets_resolves_like_lookups_and_bounds_the_roles_it_visits() {
        use edge_registry::tuf::repo::RepoBuilder;
        let mut b = RepoBuilder::new("listing", NOW + 30 * DAY);
        b.add_target("models/iris/1/model.onnx", IRIS, None);
        b.delegate("targets", "vision", &["models/vision-*/*/*"], true);
        b.add_delegated_target("vision", "models/vision-a/1/model.onnx", b"a", None);
        // Outside the role's patterns: a lookup never returns it.
        b.add_delegated_target("vision", "models/iris/2/model.onnx", b"evil", None);
        let f = MemoryFetch::new();
        let p = b.publish().unwrap();
        for (n, bytes) in &p.metadata {
            f.insert(format!("m/{n}"), bytes.clone());
        }
        let mut u = Updater::new(UpdaterConfig::new("m", "t"), f, MemoryStore::new(), FixedClock::new(NOW))
            .with_trusted_root(b.roots()[0].clone());
        u.refresh().await.unwrap();
        let l = u.list_targets().await.unwrap();
        let paths: Vec<(&str, &str)> = l.targets.iter().map(|t| (t.path.as_str(), t.role.as_str())).collect();
        assert_eq!(paths, [("models/iris/1/model.onnx", "targets"), ("models/vision-a/1/model.onnx", "vision")]);
        assert_eq!(l.roles, ["targets", "vision"]);
        assert_eq!(l.ignored.len(), 1);
        assert_eq!(l.ignored[0].path, "models/iris/2/model.onnx");
        assert_eq!(l.ignored[0].role, "vision");

        // More roles than max_delegations: a typed error, not an unbounded walk.
        let mut b = RepoBuilder::new("many", NOW + 30 * DAY);
        for i in 0..40 {
            b.delegate("targets", &format!("r{i}"), &["x/*"], false);
        }
        let f = MemoryFetch::new();
        for (n, bytes) in &b.publish().unwrap().metadata {
            f.insert(format!("m/{n}"), bytes.clone());
        }
        let mut u = Updater::new(UpdaterConfig::new("m", "t"), f, MemoryStore::new(), FixedClock::new(NOW))
            .with_trusted_root(b.roots()[0].clone());
        u.refresh().await.unwrap();
        let err = u.list_targets().await.unwrap_err();
        assert_eq!(err.code(), "DELEGATION_LIMIT", "{err}");
    }

    async fn old_metadata_versions_can_be_pruned() {
        let mut fx = create();
        for v in 1..=4 {
            edit(&mut fx, NOW, |r| {
                r.publish(&iris_release(&v.to_string(), &[]), NOW).unwrap();
            });
        }
        let repo = Repository::load(&mut fx.files.clone()).unwrap();
        let names: Vec<String> = fx.files.keys().filter_map(|k| k.strip_prefix("metadata/")).map(str::to_string).collect();
        let mut all = names.clone();
        all.push("x.json".into());
        all.push("7.unknown.json".into());
        // targets and snapshot are at version 5; keep the last 2 of each.
        assert_eq!(repo.prunable(&all, 2), [
            "1.snapshot.json", "1.targets.json", "2.snapshot.json", "2.targets.json",
            "3.snapshot.json", "3.targets.json",
        ]);
        assert_eq!(repo.prunable(&all, 0).len(), 8, "keep is at least 1");
        for n in repo.prunable(&names, 1) {
            fx.files.remove(&format!("metadata/{n}"));
        }
        assert!(fx.files.contains_key("metadata/1.root.json"));
        // Clients, old and new, still refresh; the publisher still loads it.
        let mut u = client(&fx, NOW);
        assert_eq!(u.refresh().await.unwrap().targets.version, 5);
        Repository::load(&mut fx.files.clone()).unwrap();
    }

    async fn card_fields_round_trip_through_the_catalogue_types() {
        let c: Value = serde_json::from_str(IRIS_CARD).unwrap();
        let signed = catalogue::without_floats(c);
        let card = ModelCard::from_custom("models/iris/1/model.onnx", Some(&signed)).unwrap();
        assert_eq!(card.task(), edge_registry::eval::TaskKind::Classification);
        assert_eq!(card.dataset.as_ref().unwrap().rows, 112);
        assert!(card.metrics["log_loss"] > 0.17);
        // The typed card reads what the publisher signs, and the publisher signs what it reads.
        let again = catalogue::without_floats(serde_json::to_value(&card).unwrap());
        assert_eq!(again, signed);
    }
}

everywhere! {
    fn a_repository_whose_role_names_differ_only_in_case_is_refused() {
        // Made by another tool (our publisher's team names are lower case): delegated roles
        // whose metadata files are one file on a case-insensitive file system.
        let load = |names: &[&str]| {
            let mut b = edge_registry::tuf::repo::RepoBuilder::new("case", NOW + 365 * DAY);
            for n in names {
                b.delegate("targets", n, &["models/*"], false);
            }
            let p = b.publish().unwrap();
            let mut files = Files::new();
            for (name, bytes) in p.metadata {
                files.insert(format!("metadata/{name}"), bytes);
            }
            Repository::load(&mut files)
                .map(|_| ())
                .map_err(|e| (e.code(), e.to_string()))
        };
        for names in [&["Root"][..], &["TIMESTAMP"], &["Targets"], &["acme", "Acme"]] {
            let (code, text) = load(names).expect_err("refused");
            assert_eq!(code, "BAD_REPOSITORY", "{names:?}: {text}");
            assert!(text.contains("case-insensitive"), "{text}");
        }
        load(&["acme", "beta"]).unwrap();
    }
}
