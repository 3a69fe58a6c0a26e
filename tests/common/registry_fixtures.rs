//! The test registries, built with `RepoBuilder` following `docs/registry-format.md`. Keys and
//! Ed25519 signatures are deterministic, so every target builds byte-identical files: the
//! native helper (`cargo run --example registry_fixtures -- DIR`) writes them to disk for the
//! HTTP server of the browser tests, and the tests rebuild them in memory to know the trusted
//! root and the expected bytes.
//!
//! Every variant shares the keys and the root:
//! - `good`: metadata version 2. `digits` 1 and 2 (sklearn ONNX models, aliases production -> 1,
//!   staging -> 2), `iris` 1 (no aliases document), `pad` 1-4 (100 000 random bytes each, for
//!   quota tests), `big` 1 (2 MiB, for aborts), and a delegated role `acme` trusted for
//!   `models/acme-*/...` that signs `acme-iris` 1 and also lists `models/digits/9/model.onnx`,
//!   which it is not trusted for.
//! - `rollback`: the same repository at metadata version 1 (an older, validly signed state).
//! - `tampered`: `good` with one byte of `digits` 2 changed on the server.
//! - `oversized`: `good` with `pad` 1 served as 16 MiB (signed: 100 000 bytes).
//! - `expired`: `good` whose timestamp expired in 2020.
//! - `rotated`: the same repository after two genuine root rotations (1 -> 2 -> 3, a new root
//!   key each time, and a new timestamp key at 3); a client pinned to [`trusted_root`]
//!   (version 1) follows them.
//! - `attacker`: another publisher's registry under its own keys ([`ATTACKER_LABEL`]), its root
//!   rotated to version 3 and every metadata version at 5, whose `digits@production` is
//!   [`ATTACKER_MODEL`] (the digits MLP posing as version 1). Written into a store, it must
//!   never be trusted by a client pinned to the genuine root.

#![allow(dead_code)]

use std::collections::BTreeMap;

use edge_registry::tuf::repo::{Published, RepoBuilder};
use serde_json::{json, Value};

/// The key label of every test registry.
pub const LABEL: &str = "edge-registry-test-registry";
/// The key label of the `attacker` registry.
pub const ATTACKER_LABEL: &str = "edge-registry-test-attacker";
/// What the `attacker` registry serves as `digits@production` (`digits` 1): the digits MLP,
/// which answers differently from the genuine version 1.
pub const ATTACKER_MODEL: &[u8] = DIGITS_2;
/// 2100-01-01T00:00:00Z: when the good metadata expires.
pub const EXPIRES: i64 = 4_102_444_800;
/// 2027-01-15T08:00:00Z: a "now" for tests with a fixed clock.
pub const NOW: i64 = 1_800_000_000;
/// After every expiry.
pub const AFTER_EXPIRY: i64 = EXPIRES + 86_400;
/// 2020-09-13: when the `expired` variant's timestamp expired.
pub const PAST: i64 = 1_600_000_000;
/// Length of each `pad` artifact.
pub const PAD_LEN: usize = 100_000;
/// Length of the `big` artifact.
pub const BIG_LEN: usize = 2 << 20;
/// Length the `oversized` variant serves for `pad` 1.
pub const OVERSIZED_LEN: usize = 16 << 20;

/// digits version 1 (sklearn logistic regression).
pub const DIGITS_1: &[u8] = include_bytes!("../fixtures/models/digits-v1/model.onnx");
/// digits version 2 (sklearn MLP).
pub const DIGITS_2: &[u8] = include_bytes!("../fixtures/models/digits-v2/model.onnx");
/// iris version 1.
pub const IRIS: &[u8] = include_bytes!("../fixtures/models/iris/model.onnx");
const DIGITS_1_CARD: &str = include_str!("../fixtures/models/digits-v1/card.json");
const DIGITS_2_CARD: &str = include_str!("../fixtures/models/digits-v2/card.json");
const IRIS_CARD: &str = include_str!("../fixtures/models/iris/card.json");

/// xorshift32 (13, 17, 5) bytes, as `common::xorshift_bytes`.
pub fn noise(seed: u32, len: usize) -> Vec<u8> {
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

/// A fixture card, signable.
pub fn card(text: &str) -> Value {
    edge_registry::catalogue::without_floats(
        serde_json::from_str(text).expect("fixture card is JSON"),
    )
}

/// A card for a non-ONNX test artifact.
pub fn blob_card(name: &str, version: &str) -> Value {
    json!({"name": name, "version": version, "format": "bin", "description": "test bytes"})
}

/// The `pad` artifact of `version`.
pub fn pad(version: u32) -> Vec<u8> {
    noise(1000 + version, PAD_LEN)
}

/// The `big` artifact.
pub fn big() -> Vec<u8> {
    noise(77, BIG_LEN)
}

/// The acme-iris card: iris's, renamed.
pub fn acme_iris_card() -> Value {
    let mut c = card(IRIS_CARD);
    c["name"] = json!("acme-iris");
    c
}

/// The held-out digits rows, signed beside both digits versions as their evaluation set.
pub const EVAL_CSV: &[u8] = include_bytes!("../fixtures/models/digits-v1/test.csv");

/// A digits card with a gate on its signed evaluation set (accuracy at least `min`) and that
/// set listed in `files`.
fn gated(card_text: &str, version: &str, min: &str) -> Value {
    let mut c = card(card_text);
    c["files"] = json!({"evaluation_set": format!("models/digits/{version}/eval.csv")});
    c["gates"] = json!([{"metric": "accuracy", "min": min}]);
    c
}

/// The repository at metadata version 1 (what `rollback` serves).
pub fn builder() -> RepoBuilder {
    let mut b = RepoBuilder::new(LABEL, EXPIRES);
    // Gates: digits 1 (accuracy 0.962 on the set) passes 0.9; digits 2 (0.984) fails 0.99.
    b.add_target(
        "models/digits/1/model.onnx",
        DIGITS_1,
        Some(gated(DIGITS_1_CARD, "1", "0.9")),
    );
    b.add_target("models/digits/1/eval.csv", EVAL_CSV, None);
    b.add_target(
        "models/digits/2/model.onnx",
        DIGITS_2,
        Some(gated(DIGITS_2_CARD, "2", "0.99")),
    );
    b.add_target("models/digits/2/eval.csv", EVAL_CSV, None);
    b.add_target(
        "models/digits/aliases.json",
        br#"{"name": "digits", "aliases": {"production": "1", "staging": "2"}}"#,
        None,
    );
    b.add_target("models/iris/1/model.onnx", IRIS, Some(card(IRIS_CARD)));
    for v in 1..=4u32 {
        b.add_target(
            &format!("models/pad/{v}/model.onnx"),
            &pad(v),
            Some(blob_card("pad", &v.to_string())),
        );
    }
    b.add_target(
        "models/big/1/model.onnx",
        &big(),
        Some(blob_card("big", "1")),
    );
    b.delegate(
        "targets",
        "acme",
        &["models/acme-*/aliases.json", "models/acme-*/*/*"],
        true,
    );
    b.add_delegated_target(
        "acme",
        "models/acme-iris/1/model.onnx",
        IRIS,
        Some(acme_iris_card()),
    );
    // Not delegated to acme: must never enter the catalogue.
    b.add_delegated_target(
        "acme",
        "models/digits/9/model.onnx",
        DIGITS_2,
        Some(json!({"name": "digits", "version": "9"})),
    );
    b
}

/// The good repository: [`builder`] with every metadata version bumped to 2.
pub fn good_builder() -> RepoBuilder {
    let mut b = builder();
    b.timestamp.version = 2;
    b.snapshot.version = 2;
    b.targets.version = 2;
    if let Some(d) = b.delegation_mut("acme") {
        d.role.version = 2;
    }
    b
}

/// The trusted root every variant is signed under.
pub fn trusted_root() -> Vec<u8> {
    builder().trusted_root().to_vec()
}

fn hashed_name(path: &str, content: &[u8]) -> String {
    let hash = edge_registry::digest::Sha256Digest::of(content).to_hex();
    match path.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/{hash}.{base}"),
        None => format!("{hash}.{path}"),
    }
}

/// Replaces the served bytes of target `path` (signed as `signed`) in both of its names.
pub fn replace_served(p: &mut Published, path: &str, signed: &[u8], served: Vec<u8>) {
    p.targets.insert(hashed_name(path, signed), served.clone());
    p.targets.insert(path.to_string(), served);
}

/// `good`.
pub fn good() -> Published {
    good_builder().publish().expect("publish good")
}

/// `rollback`: the same targets at metadata version 1.
pub fn rollback() -> Published {
    builder().publish().expect("publish rollback")
}

/// The aliases document of the `rollout` variant: `production` (gated) and `canary` (not
/// gated) both roll out from `digits` 1 to 2, half the clients from [`ROLLOUT_STAGE_1`], every
/// client from [`ROLLOUT_STAGE_2`]. Digits 2 fails its gate (accuracy 0.984 < 0.99).
pub const ROLLOUT_ALIASES: &str = r#"{"name": "digits", "aliases": {"canary": "1", "production": "1", "staging": "2"},
 "rollouts": {
  "production": {"to": "2", "salt": "fixture", "gate": true, "stages": [
    {"start": "2026-01-01T00:00:00Z", "weights": {"1": 50, "2": 50}},
    {"start": "2027-02-01T00:00:00Z", "weights": {"2": 100}}]},
  "canary": {"to": "2", "salt": "fixture", "stages": [
    {"start": "2026-01-01T00:00:00Z", "weights": {"1": 50, "2": 50}},
    {"start": "2027-02-01T00:00:00Z", "weights": {"2": 100}}]}}}"#;
/// 2026-01-01T00:00:00Z: the rollouts' first stage.
pub const ROLLOUT_STAGE_1: i64 = 1_767_225_600;
/// 2027-02-01T00:00:00Z: the rollouts' second stage (after [`NOW`]).
pub const ROLLOUT_STAGE_2: i64 = 1_801_440_000;

/// `rollout`: `good` whose digits aliases carry two staged rollouts ([`ROLLOUT_ALIASES`]).
pub fn rollout() -> Published {
    let mut b = good_builder();
    b.add_target(
        "models/digits/aliases.json",
        ROLLOUT_ALIASES.as_bytes(),
        None,
    );
    b.publish().expect("publish rollout")
}

/// `tampered`: one byte of `digits` 2 changed on the server.
pub fn tampered() -> Published {
    let mut p = good();
    let mut bad = DIGITS_2.to_vec();
    bad[100] ^= 0x01;
    replace_served(&mut p, "models/digits/2/model.onnx", DIGITS_2, bad);
    p
}

/// `oversized`: `pad` 1 served as [`OVERSIZED_LEN`] bytes.
pub fn oversized() -> Published {
    let mut p = good();
    replace_served(
        &mut p,
        "models/pad/1/model.onnx",
        &pad(1),
        noise(5, OVERSIZED_LEN),
    );
    p
}

/// `expired`: the timestamp expired at [`PAST`].
pub fn expired() -> Published {
    let mut e = good_builder();
    e.timestamp.expires = PAST;
    e.publish().expect("publish expired")
}

/// `rotated`: `good` after two root rotations, each to a new root key (signed by the old and
/// the new one). Its metadata lists `1.root.json`, `2.root.json` and `3.root.json`.
pub fn rotated() -> Published {
    let mut b = good_builder();
    let key = |name: String| {
        edge_registry::tuf::keys::Ed25519Signer::from_seed(
            &edge_registry::tuf::repo::seed_from_label(&name),
        )
    };
    for v in 2..=3u32 {
        b.root.signers = vec![key(format!("{LABEL}/root-{v}"))];
        if v == 3 {
            // Version 3 also moves the timestamp role to a new key, so nothing signed under
            // version 3 verifies with version 1's keys alone.
            b.timestamp.signers = vec![key(format!("{LABEL}/timestamp-{v}"))];
        }
        b.commit_root().expect("sign rotated root");
    }
    b.publish().expect("publish rotated")
}

/// `attacker`: see the module documentation.
pub fn attacker() -> Published {
    let mut b = RepoBuilder::new(ATTACKER_LABEL, EXPIRES);
    b.commit_root().expect("sign attacker root 2");
    b.commit_root().expect("sign attacker root 3");
    let mut c = card(DIGITS_2_CARD);
    c["version"] = json!("1");
    b.add_target("models/digits/1/model.onnx", ATTACKER_MODEL, Some(c));
    b.add_target(
        "models/digits/aliases.json",
        br#"{"name": "digits", "aliases": {"production": "1"}}"#,
        None,
    );
    b.timestamp.version = 5;
    b.snapshot.version = 5;
    b.targets.version = 5;
    b.publish().expect("publish attacker")
}

/// The attacker's own version-1 root (what a client of the attacker's registry pins).
pub fn attacker_root() -> Vec<u8> {
    RepoBuilder::new(ATTACKER_LABEL, EXPIRES)
        .trusted_root()
        .to_vec()
}

/// Every variant by directory name.
pub fn all() -> BTreeMap<&'static str, Published> {
    BTreeMap::from([
        ("good", good()),
        ("rollback", rollback()),
        ("tampered", tampered()),
        ("oversized", oversized()),
        ("expired", expired()),
        ("rotated", rotated()),
        ("attacker", attacker()),
        ("rollout", rollout()),
    ])
}

/// The benchmark registry: `bench-5mb` 1 and `bench-50mb` 1 (random bytes).
pub fn bench() -> Published {
    let mut b = RepoBuilder::new(LABEL, EXPIRES);
    for (name, len, seed) in [
        ("bench-5mb", 5_000_000, 5u32),
        ("bench-50mb", 50_000_000, 50),
    ] {
        b.add_target(
            &format!("models/{name}/1/model.onnx"),
            &noise(seed, len),
            Some(blob_card(name, "1")),
        );
    }
    b.publish().expect("publish bench")
}

/// Writes a published repository under `dir` (`metadata/`, `targets/`).
#[cfg(not(target_arch = "wasm32"))]
pub fn write(dir: &std::path::Path, p: &Published) -> std::io::Result<()> {
    for (sub, files) in [("metadata", &p.metadata), ("targets", &p.targets)] {
        for (name, bytes) in files.iter() {
            let path = dir.join(sub).join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, bytes)?;
        }
    }
    Ok(())
}
