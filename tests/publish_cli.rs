//! The publisher CLI end to end (`init`, `publish`, `alias`, `delegate`, `rotate-root`,
//! `refresh-timestamp`, `verify`, `models`), read back by our `verify`/`tuf-client` and by
//! python-tuf's ngclient. Native only.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::{fixture, ok, run};
use common::server::Server;
use edge_registry::tuf::keys::Ed25519Signer;
use edge_registry::tuf::repo::sign_metadata;
use edge_registry::tuf::time::parse_expires;
use serde_json::{json, Value};

const DAY: i64 = 86_400;

/// Runs a command that must fail with exit 1; returns standard error.
fn failed(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Every file under `dir`, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_str().unwrap().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn signed_of(repo: &Path, file: &str) -> Value {
    read_json(&repo.join("metadata").join(file))["signed"].clone()
}

struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Repo {
    fn s(&self) -> &str {
        self.dir.to_str().unwrap()
    }
    fn root1(&self) -> String {
        self.dir
            .join("metadata/1.root.json")
            .to_str()
            .unwrap()
            .to_string()
    }
}

fn init(extra: &[&str]) -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    let mut args = vec!["init", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = ok(&args);
    assert!(out.contains("created registry"), "{out}");
    Repo { _tmp: tmp, dir }
}

fn publish_digits(r: &Repo, version: &str, alias: &str) -> String {
    let dir = format!("digits-v{version}");
    ok(&[
        "publish",
        r.s(),
        &fixture(&format!("{dir}/model.onnx")),
        "--name",
        "digits",
        "--version",
        version,
        "--alias",
        alias,
        "--card",
        &fixture(&format!("{dir}/card.json")),
        "--profile",
        &fixture("digits-v1/train.csv"),
        "--eval-set",
        &fixture(&format!("{dir}/test.csv")),
    ])
}

fn publish_iris(r: &Repo) -> String {
    ok(&[
        "publish",
        r.s(),
        &fixture("iris/model.onnx"),
        "--name",
        "iris",
        "--version",
        "1",
        "--card",
        &fixture("iris/card.json"),
    ])
}

fn models_json(source: &str, root: Option<&str>) -> Value {
    let mut args = vec!["models", source, "--json"];
    if let Some(r) = root {
        args.extend_from_slice(&["--root", r]);
    }
    serde_json::from_str(&ok(&args)).unwrap()
}

fn versions(models: &Value, name: &str) -> Vec<String> {
    models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no model {name}"))["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_string())
        .collect()
}

fn model<'a>(models: &'a Value, name: &str) -> &'a Value {
    models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap()
}

/// The repository's `metadata/` and `targets/` mounted over an empty directory.
fn start_server(repo: &Path, empty: &Path) -> Server {
    std::fs::create_dir_all(empty).unwrap();
    let m = format!("/metadata={}", repo.join("metadata").display());
    let t = format!("/targets={}", repo.join("targets").display());
    Server::start_with(
        &[empty.to_str().unwrap(), "--mount", &m, "--mount", &t],
        "127.0.0.1:0",
    )
}

#[test]
fn init_publish_verify_and_models_json() {
    let r = init(&["--root-keys", "3", "--root-threshold", "2"]);
    let t = now();
    // Expiries: root 1 year, targets 3 months, snapshot 1 week, timestamp 1 day.
    for (file, days) in [
        ("1.root.json", 365),
        ("1.targets.json", 90),
        ("1.snapshot.json", 7),
        ("timestamp.json", 1),
    ] {
        let exp = parse_expires(signed_of(&r.dir, file)["expires"].as_str().unwrap()).unwrap();
        assert!((exp - t - days * DAY).abs() < 300, "{file}: {exp}");
    }
    let root = signed_of(&r.dir, "1.root.json");
    assert_eq!(root["roles"]["root"]["threshold"], 2);
    assert_eq!(root["roles"]["root"]["keyids"].as_array().unwrap().len(), 3);
    assert_eq!(root["consistent_snapshot"], true);

    let out = publish_digits(&r, "1", "production");
    assert!(out.contains("published digits@1 (role targets)"), "{out}");
    assert!(out.contains("models/digits/1/profile.json"), "{out}");
    publish_digits(&r, "2", "staging");
    publish_iris(&r);
    // Consistent-snapshot files: versioned metadata and hash-prefixed targets.
    let files = tree(&r.dir);
    for f in [
        "metadata/4.targets.json",
        "metadata/4.snapshot.json",
        "metadata/1.root.json",
    ] {
        assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
    }
    let sha = "a2b0ea9a705c8ccfaa18d18ebdb04960e378e6eb95915bc41d9b4350e43005db";
    let hashed = format!("targets/models/digits/1/{sha}.model.onnx");
    assert_eq!(
        files[&hashed],
        std::fs::read(fixture("digits-v1/model.onnx")).unwrap()
    );

    let out = ok(&["verify", r.s(), "--root", &r.root1()]);
    assert!(out.contains("OK"), "{out}");
    assert!(
        out.contains("model digits: versions 1, 2; production -> 1, staging -> 2"),
        "{out}"
    );

    let m = models_json(r.s(), Some(&r.root1()));
    assert_eq!(m["verified"], true);
    assert_eq!(versions(&m, "digits"), ["1", "2"]);
    let digits = model(&m, "digits");
    assert_eq!(
        digits["aliases"],
        json!({"production": "1", "staging": "2"})
    );
    let v1 = &digits["versions"][0];
    assert_eq!(v1["target"]["sha256"], sha);
    assert_eq!(v1["target"]["role"], "targets");
    let card = &v1["card"];
    assert_eq!(
        card["inputs"],
        json!([{"name": "input", "dtype": "float32", "shape": ["N", 64]}])
    );
    assert_eq!(card["outputs"][1]["shape"], json!(["N", 10]));
    assert_eq!(card["labels"].as_array().unwrap().len(), 10);
    assert_eq!(card["metrics"]["accuracy"], 0.9622222222222222);
    assert_eq!(
        card["dataset"]["sha256"],
        "3b68611c189b063990c72c0d20f14ce8897b2cb35e1115a3f2e6feb792c45f40"
    );
    assert_eq!(card["license"], "BSD-3-Clause");
    assert_eq!(
        card["files"],
        json!({"profile": "models/digits/1/profile.json", "evaluation_set": "models/digits/1/eval.csv"})
    );
    assert!(v1["files"]["eval.csv"]["length"].as_u64().unwrap() > 60_000);
    assert!(m["roles"]["timestamp"]["expires"].is_string());
    // The published profile is the one `edge-registry profile` computes.
    let profile = std::fs::read(r.dir.join("targets/models/digits/1/profile.json")).unwrap();
    let direct = ok(&["profile", &fixture("digits-v1/train.csv")]);
    assert_eq!(String::from_utf8(profile).unwrap(), direct);
    // Without --root the listing still works, marked unverified.
    let m = models_json(r.s(), None);
    assert_eq!(m["verified"], false);
    assert_eq!(versions(&m, "iris"), ["1"]);
    let human = ok(&["models", r.s(), "--root", &r.root1()]);
    assert!(human.contains("[production]"), "{human}");
    assert!(human.contains("expires: root"), "{human}");
}

#[test]
fn alias_move_is_signed_and_visible_to_the_client() {
    let r = init(&[]);
    publish_digits(&r, "1", "production");
    publish_digits(&r, "2", "staging");
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("md");
    let dl = tmp.path().join("dl");
    let (md_s, dl_s) = (md.to_str().unwrap(), dl.to_str().unwrap());
    let meta = r.dir.join("metadata");
    let targets = r.dir.join("targets");
    ok(&["tuf-client", "--metadata-dir", md_s, "init", &r.root1()]);
    let download = || {
        ok(&[
            "tuf-client",
            "--metadata-dir",
            md_s,
            "--metadata-url",
            meta.to_str().unwrap(),
            "--target-name",
            "models/digits/aliases.json",
            "--target-base-url",
            targets.to_str().unwrap(),
            "--target-dir",
            dl_s,
            "download",
        ]);
        read_json(&dl.join("models%2Fdigits%2Faliases.json"))
    };
    assert_eq!(download()["aliases"]["production"], "1");
    let targets_before = signed_of(&r.dir, "targets.json")["version"]
        .as_u64()
        .unwrap();
    let out = ok(&["alias", r.s(), "digits", "production", "2"]);
    assert!(out.contains("digits@production -> 2"), "{out}");
    assert!(out.contains("signed targets v"), "{out}");
    assert_eq!(
        signed_of(&r.dir, "targets.json")["version"]
            .as_u64()
            .unwrap(),
        targets_before + 1
    );
    // The same client, refreshing, sees the move (signed, through its trusted targets).
    assert_eq!(
        download(),
        json!({"name": "digits", "aliases": {"production": "2", "staging": "2"}})
    );
    let m = models_json(r.s(), Some(&r.root1()));
    assert_eq!(model(&m, "digits")["aliases"]["production"], "2");
    // Unchanged alias: nothing signed.
    let ts = std::fs::read(meta.join("timestamp.json")).unwrap();
    assert!(ok(&["alias", r.s(), "digits", "staging", "2"]).contains("unchanged"));
    assert_eq!(std::fs::read(meta.join("timestamp.json")).unwrap(), ts);
    assert!(failed(&["alias", r.s(), "digits", "production", "9"]).contains("NOT_FOUND"));
    assert!(failed(&["alias", r.s(), "digits", "2", "1"]).contains("BAD_NAME"));
    ok(&["alias", r.s(), "digits", "staging", "--remove"]);
    assert_eq!(download()["aliases"], json!({"production": "2"}));
    ok(&["verify", r.s(), "--root", &r.root1()]);
    // Old metadata versions go; the client with stored state and a fresh one still refresh.
    let out = ok(&["prune", r.s(), "--keep", "1"]);
    assert!(out.contains("pruned 8 old metadata file(s)"), "{out}");
    let left: Vec<String> = tree(&meta).into_keys().collect();
    assert_eq!(
        left,
        [
            "1.root.json",
            "5.snapshot.json",
            "5.targets.json",
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );
    ok(&["alias", r.s(), "digits", "staging", "1"]);
    assert_eq!(download()["aliases"]["staging"], "1");
    ok(&["verify", r.s(), "--root", &r.root1()]);
}

/// Re-signs `role`'s metadata with an edit, using `key`, then snapshot and timestamp with the
/// repository's own keys: what a team (or a thief of its key) can do outside the publisher.
fn forge(r: &Repo, role: &str, key: &Ed25519Signer, edit: impl FnOnce(&mut Value)) {
    let keys = |sub: &str| -> Ed25519Signer {
        let dir = r.dir.join("keys").join(sub);
        let f = std::fs::read_dir(dir)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let v = read_json(&f);
        let mut seed = [0u8; 32];
        hex::decode_to_slice(v["keyval"]["private"].as_str().unwrap(), &mut seed).unwrap();
        Ed25519Signer::from_seed(&seed)
    };
    let md = r.dir.join("metadata");
    let mut signed = signed_of(&r.dir, &format!("{role}.json"));
    edit(&mut signed);
    let v = signed["version"].as_u64().unwrap() + 1;
    signed["version"] = json!(v);
    let bytes = sign_metadata(&signed, &[key]).unwrap();
    std::fs::write(md.join(format!("{v}.{role}.json")), &bytes).unwrap();
    std::fs::write(md.join(format!("{role}.json")), &bytes).unwrap();
    let sha = |b: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b));
    let mut sn = signed_of(&r.dir, "snapshot.json");
    sn["meta"][format!("{role}.json")] =
        json!({"version": v, "length": bytes.len(), "hashes": {"sha256": sha(&bytes)}});
    let sv = sn["version"].as_u64().unwrap() + 1;
    sn["version"] = json!(sv);
    let sn_bytes = sign_metadata(&sn, &[&keys("snapshot")]).unwrap();
    std::fs::write(md.join(format!("{sv}.snapshot.json")), &sn_bytes).unwrap();
    std::fs::write(md.join("snapshot.json"), &sn_bytes).unwrap();
    let mut ts = signed_of(&r.dir, "timestamp.json");
    ts["meta"]["snapshot.json"] =
        json!({"version": sv, "length": sn_bytes.len(), "hashes": {"sha256": sha(&sn_bytes)}});
    ts["version"] = json!(ts["version"].as_u64().unwrap() + 1);
    std::fs::write(
        md.join("timestamp.json"),
        sign_metadata(&ts, &[&keys("timestamp")]).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_team_role_publishes_only_inside_its_namespace() {
    let r = init(&[]);
    publish_iris(&r);
    let out = ok(&["delegate", r.s(), "vision"]);
    assert!(
        out.contains("delegated models/vision-* to role vision"),
        "{out}"
    );
    let team_keys: Vec<PathBuf> = std::fs::read_dir(r.dir.join("keys/teams/vision"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(team_keys.len(), 1);
    let deleg = &signed_of(&r.dir, "targets.json")["delegations"]["roles"][0];
    assert_eq!(
        deleg["paths"],
        json!(["models/vision-*/aliases.json", "models/vision-*/*/*"])
    );
    assert_eq!(deleg["terminating"], true);
    let publish_as = |name: &str, role: Option<&str>| {
        let mut args = vec![
            "publish".to_string(),
            r.s().to_string(),
            fixture("digits-cnn/model.onnx"),
            "--name".into(),
            name.into(),
            "--version".into(),
            "1".into(),
            "--alias".into(),
            "production".into(),
        ];
        if let Some(role) = role {
            args.extend(["--role".to_string(), role.to_string()]);
        }
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = publish_as("vision-cnn", Some("vision"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("(role vision)"));
    // The team cannot publish outside models/vision-*, and the top-level role cannot publish
    // inside it.
    let err = String::from_utf8_lossy(&publish_as("digits", Some("vision")).stderr).into_owned();
    assert!(err.contains("NOT_DELEGATED"), "{err}");
    let err = String::from_utf8_lossy(&publish_as("vision-x", None).stderr).into_owned();
    assert!(err.contains("NAME_CONFLICT"), "{err}");
    let err = String::from_utf8_lossy(&publish_as("x", Some("nope")).stderr).into_owned();
    assert!(err.contains("UNKNOWN_ROLE"), "{err}");
    let ok_out = ok(&["verify", r.s(), "--root", &r.root1()]);
    assert!(ok_out.contains("vision"), "{ok_out}");
    let m = models_json(r.s(), Some(&r.root1()));
    assert_eq!(
        model(&m, "vision-cnn")["versions"][0]["target"]["role"],
        "vision"
    );
    assert_eq!(m["roles"]["vision"]["version"], 2);

    // A team key signing a path outside its delegation: clients never resolve it.
    let team = {
        let v = read_json(&team_keys[0]);
        let mut seed = [0u8; 32];
        hex::decode_to_slice(v["keyval"]["private"].as_str().unwrap(), &mut seed).unwrap();
        Ed25519Signer::from_seed(&seed)
    };
    let iris = std::fs::read(fixture("iris/model.onnx")).unwrap();
    forge(&r, "vision", &team, |signed| {
        signed["targets"]["models/digits/9/model.onnx"] = json!({
            "length": iris.len(),
            "hashes": {"sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&iris))},
        });
    });
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("md");
    ok(&[
        "tuf-client",
        "--metadata-dir",
        md.to_str().unwrap(),
        "init",
        &r.root1(),
    ]);
    let err = failed(&[
        "tuf-client",
        "--metadata-dir",
        md.to_str().unwrap(),
        "--metadata-url",
        r.dir.join("metadata").to_str().unwrap(),
        "--target-name",
        "models/digits/9/model.onnx",
        "--target-base-url",
        r.dir.join("targets").to_str().unwrap(),
        "--target-dir",
        tmp.path().join("dl").to_str().unwrap(),
        "download",
    ]);
    assert!(err.contains("TARGET_NOT_FOUND"), "{err}");
    let err = failed(&["verify", r.s(), "--root", &r.root1()]);
    assert!(err.contains("NOT_DELEGATED"), "{err}");
    assert!(err.contains("models/digits/9/model.onnx"), "{err}");
    let m = models_json(r.s(), Some(&r.root1()));
    assert_eq!(versions(&m, "iris"), ["1"]);
    assert!(m["models"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["name"] != "digits"));
}

#[test]
fn rotate_root_and_an_old_client_follows() {
    let r = init(&[]);
    publish_iris(&r);
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("md");
    let md_s = md.to_str().unwrap();
    let meta = r.dir.join("metadata");
    let refresh = || {
        ok(&[
            "tuf-client",
            "--metadata-dir",
            md_s,
            "--metadata-url",
            meta.to_str().unwrap(),
            "refresh",
        ])
    };
    ok(&["tuf-client", "--metadata-dir", md_s, "init", &r.root1()]);
    assert!(refresh().contains("root v1"));
    let old_root_key = std::fs::read_dir(r.dir.join("keys/root"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let out = ok(&[
        "rotate-root",
        r.s(),
        "--root-keys",
        "2",
        "--root-threshold",
        "2",
        "--rotate",
        "timestamp",
    ]);
    assert!(out.contains("signed root v2"), "{out}");
    assert!(r
        .dir
        .join("keys/retired/root")
        .join(&old_root_key)
        .is_file());
    assert_eq!(
        std::fs::read_dir(r.dir.join("keys/root")).unwrap().count(),
        2
    );
    assert_eq!(
        std::fs::read_dir(r.dir.join("keys/retired/timestamp"))
            .unwrap()
            .count(),
        1
    );
    let root2 = read_json(&meta.join("2.root.json"));
    assert_eq!(
        root2["signatures"].as_array().unwrap().len(),
        3,
        "old + 2 new keys"
    );
    let old_id = old_root_key.to_str().unwrap().trim_end_matches(".json");
    assert!(root2["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["keyid"] == old_id));
    assert!(root2["signed"]["keys"].get(old_id).is_none());
    assert_eq!(
        std::fs::read(meta.join("root.json")).unwrap(),
        std::fs::read(meta.join("2.root.json")).unwrap()
    );
    // The client holding root v1 rotates to v2 (and recovers from the timestamp key change).
    assert!(refresh().contains("root v2"));
    ok(&["verify", r.s(), "--root", &r.root1()]);
    // Publishing goes on with the new keys; a second rotation needs both new root keys.
    publish_digits(&r, "1", "production");
    ok(&["rotate-root", r.s()]);
    assert!(refresh().contains("root v3"));
    ok(&["verify", r.s(), "--root", &r.root1()]);
    assert_eq!(
        std::fs::read_dir(r.dir.join("keys/retired/root"))
            .unwrap()
            .count(),
        3
    );
}

#[test]
fn refresh_timestamp_extends_the_expiry() {
    let r = init(&["--expires-timestamp", "1h"]);
    let ts = signed_of(&r.dir, "timestamp.json");
    let exp0 = parse_expires(ts["expires"].as_str().unwrap()).unwrap();
    assert!((exp0 - now() - 3600).abs() < 300);
    let out = ok(&["refresh-timestamp", r.s(), "--expires", "2d"]);
    assert!(out.contains("signed timestamp v2"), "{out}");
    assert!(
        !out.contains("snapshot"),
        "snapshot (7 days) outlives the new timestamp: {out}"
    );
    let ts = signed_of(&r.dir, "timestamp.json");
    assert_eq!(ts["version"], 2);
    let exp1 = parse_expires(ts["expires"].as_str().unwrap()).unwrap();
    assert!((exp1 - now() - 2 * DAY).abs() < 300);
    // A timestamp outliving the snapshot brings a new snapshot with it.
    let out = ok(&["refresh-timestamp", r.s(), "--expires", "10d"]);
    assert!(out.contains("signed snapshot v2"), "{out}");
    let sn = signed_of(&r.dir, "snapshot.json");
    assert!(parse_expires(sn["expires"].as_str().unwrap()).unwrap() >= now() + 10 * DAY - 300);
    // The default period comes from publisher.json (1h here).
    let out = ok(&["refresh-timestamp", r.s()]);
    assert!(out.contains("signed timestamp v4"), "{out}");
    ok(&["verify", r.s(), "--root", &r.root1()]);
}

#[test]
fn republishing_a_version_with_other_bytes_is_refused() {
    let r = init(&[]);
    publish_iris(&r);
    let before = tree(&r.dir.join("metadata"));
    let out = publish_iris(&r);
    assert!(out.contains("already published (same content)"), "{out}");
    assert!(out.contains("nothing to sign"), "{out}");
    assert_eq!(tree(&r.dir.join("metadata")), before);
    let other = [
        "publish",
        r.s(),
        &fixture("diabetes/model.onnx"),
        "--name",
        "iris",
        "--version",
        "1",
    ];
    let err = failed(&other);
    assert!(err.contains("VERSION_EXISTS"), "{err}");
    assert_eq!(
        tree(&r.dir.join("metadata")),
        before,
        "a refused publish wrote metadata"
    );
    // Other card, same bytes: also a different version.
    let err = failed(&[
        "publish",
        r.s(),
        &fixture("iris/model.onnx"),
        "--name",
        "iris",
        "--version",
        "1",
    ]);
    assert!(err.contains("VERSION_EXISTS"), "{err}");
    let mut forced = other.to_vec();
    forced.push("--force");
    assert!(ok(&forced).contains("replaced iris@1"));
    let m = models_json(r.s(), Some(&r.root1()));
    let v = &model(&m, "iris")["versions"][0];
    assert_eq!(
        v["target"]["length"].as_u64().unwrap(),
        std::fs::metadata(fixture("diabetes/model.onnx"))
            .unwrap()
            .len()
    );
    ok(&["verify", r.s(), "--root", &r.root1()]);
}

#[test]
fn bad_models_and_cards_are_refused_with_codes() {
    let r = init(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.onnx");
    std::fs::write(&junk, b"not a model").unwrap();
    let err = failed(&[
        "publish",
        r.s(),
        junk.to_str().unwrap(),
        "--name",
        "x",
        "--version",
        "1",
    ]);
    assert!(err.contains("BAD_MODEL"), "{err}");
    // The iris card against the digits model: the declared inputs contradict the graph.
    let err = failed(&[
        "publish",
        r.s(),
        &fixture("digits-v1/model.onnx"),
        "--name",
        "iris",
        "--version",
        "1",
        "--card",
        &fixture("iris/card.json"),
    ]);
    assert!(err.contains("SCHEMA_MISMATCH"), "{err}");
    let err = failed(&[
        "publish",
        r.s(),
        &fixture("iris/model.onnx"),
        "--name",
        "flowers",
        "--version",
        "1",
        "--card",
        &fixture("iris/card.json"),
    ]);
    assert!(err.contains("BAD_CARD"), "{err}");
    let err = failed(&[
        "publish",
        r.s(),
        &fixture("iris/model.onnx"),
        "--name",
        "Iris",
        "--version",
        "1",
    ]);
    assert!(err.contains("BAD_NAME"), "{err}");
    let err = failed(&[
        "publish",
        r.s(),
        &fixture("iris/model.onnx"),
        "--name",
        "iris",
        "--version",
        "1",
        "--role",
        "team",
    ]);
    assert!(err.contains("UNKNOWN_ROLE"), "{err}");
    assert_eq!(signed_of(&r.dir, "timestamp.json")["version"], 1);
    assert!(failed(&["init", r.s()]).contains("ALREADY_EXISTS"));
    assert!(failed(&[
        "publish",
        "/nonexistent/repo",
        &fixture("iris/model.onnx"),
        "--name",
        "iris",
        "--version",
        "1"
    ])
    .contains("NOT_FOUND"));
}

#[test]
fn a_tampered_repository_fails_verify_with_the_code() {
    let r = init(&[]);
    publish_iris(&r);
    let sha = "8032a98de34320f21dd73a1ebc6963903622cae0def64a9451ae3baac45cd8c8";
    let target = r
        .dir
        .join(format!("targets/models/iris/1/{sha}.model.onnx"));
    let good = std::fs::read(&target).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(&target, &bad).unwrap();
    let err = failed(&["verify", r.s(), "--root", &r.root1()]);
    assert!(err.contains("HASH_MISMATCH"), "{err}");
    std::fs::write(&target, [good.as_slice(), b"x"].concat()).unwrap();
    assert!(failed(&["verify", r.s(), "--root", &r.root1()]).contains("LENGTH_EXCEEDED"));
    std::fs::write(&target, &good).unwrap();
    ok(&["verify", r.s(), "--root", &r.root1()]);
    // Metadata edited after signing.
    let tpath = r.dir.join("metadata/2.targets.json");
    let orig = std::fs::read(&tpath).unwrap();
    let text = String::from_utf8(orig.clone())
        .unwrap()
        .replace("BSD-3-Clause", "MIT");
    std::fs::write(&tpath, text).unwrap();
    let err = failed(&["verify", r.s(), "--root", &r.root1()]);
    assert!(
        err.contains("TRUNCATED") || err.contains("HASH_MISMATCH"),
        "{err}"
    );
    // The publisher refuses to build on it.
    let err = failed(&["alias", r.s(), "iris", "production", "1"]);
    assert!(
        err.contains("TRUNCATED") || err.contains("HASH_MISMATCH"),
        "{err}"
    );
    std::fs::write(&tpath, &orig).unwrap();
    // A root signed by nobody it trusts.
    let other = init(&[]);
    let err = failed(&["verify", r.s(), "--root", &other.root1()]);
    assert!(err.contains("SIGNATURE_THRESHOLD"), "{err}");
}

#[test]
fn keys_never_land_in_the_served_directories() {
    let r = init(&["--root-keys", "2"]);
    publish_iris(&r);
    ok(&["delegate", r.s(), "vision"]);
    ok(&["rotate-root", r.s(), "--rotate", "snapshot"]);
    let keys = tree(&r.dir.join("keys"));
    assert_eq!(keys.len(), 2 + 3 + 1 + 2, "{:?}", keys.keys());
    let secrets: Vec<String> = keys
        .values()
        .map(|b| {
            serde_json::from_slice::<Value>(b).unwrap()["keyval"]["private"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for dir in ["metadata", "targets"] {
        for (name, bytes) in tree(&r.dir.join(dir)) {
            let text = String::from_utf8_lossy(&bytes);
            for s in &secrets {
                assert!(
                    !text.contains(s.as_str()),
                    "a private key is in {dir}/{name}"
                );
            }
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for name in keys.keys() {
            let mode = std::fs::metadata(r.dir.join("keys").join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let mode = std::fs::metadata(r.dir.join("keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    // A keys directory inside a served directory is refused.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("r");
    let inside = repo.join("metadata/keys");
    let err = failed(&[
        "init",
        repo.to_str().unwrap(),
        "--keys",
        inside.to_str().unwrap(),
    ]);
    assert!(err.contains("INVALID_ARGUMENT"), "{err}");
    // Keys elsewhere work, and every command finds them with --keys.
    let elsewhere = tmp.path().join("secret");
    let (repo_s, keys_s) = (repo.to_str().unwrap(), elsewhere.to_str().unwrap());
    ok(&["init", repo_s, "--keys", keys_s]);
    assert!(!repo.join("keys").exists());
    ok(&[
        "publish",
        repo_s,
        &fixture("iris/model.onnx"),
        "--name",
        "iris",
        "--version",
        "1",
        "--keys",
        keys_s,
    ]);
    let err = failed(&[
        "publish",
        repo_s,
        &fixture("iris/model.onnx"),
        "--name",
        "iris",
        "--version",
        "2",
    ]);
    assert!(err.contains("MISSING_KEY"), "{err}");
}

#[test]
fn our_clients_read_the_repository_over_http() {
    let r = init(&[]);
    publish_digits(&r, "1", "production");
    let tmp = tempfile::tempdir().unwrap();
    let server = start_server(&r.dir, &tmp.path().join("empty"));
    // keys/ and publisher.json are not reachable: only metadata/ and targets/ are mounted.
    let out = ok(&["verify", &server.url, "--root", &r.root1()]);
    assert!(out.contains("OK"), "{out}");
    let m = models_json(&server.url, Some(&r.root1()));
    assert_eq!(versions(&m, "digits"), ["1"]);
    let md = tmp.path().join("md");
    let dl = tmp.path().join("dl");
    ok(&[
        "tuf-client",
        "--metadata-dir",
        md.to_str().unwrap(),
        "init",
        &r.root1(),
    ]);
    ok(&[
        "tuf-client",
        "--metadata-dir",
        md.to_str().unwrap(),
        "--metadata-url",
        &format!("{}/metadata", server.url),
        "--target-name",
        "models/digits/1/model.onnx",
        "--target-base-url",
        &format!("{}/targets", server.url),
        "--target-dir",
        dl.to_str().unwrap(),
        "download",
    ]);
    assert_eq!(
        std::fs::read(dl.join("models%2Fdigits%2F1%2Fmodel.onnx")).unwrap(),
        std::fs::read(fixture("digits-v1/model.onnx")).unwrap()
    );
}

/// The Python that has python-tuf: `target/py-tuf` (made by `scripts/setup`) or `python3`.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/py-tuf/bin/python3");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// python-tuf's ngclient (the reference client) reads a repository the publisher CLI made:
/// root rotation, a delegated team role, aliases, consistent snapshots. Needs python-tuf
/// (`scripts/setup` installs it, pinned, into target/py-tuf); fails without it.
#[test]
fn python_tuf_ngclient_downloads_a_model_from_our_publisher() {
    let r = init(&[]);
    publish_digits(&r, "1", "production");
    ok(&["delegate", r.s(), "vision"]);
    ok(&[
        "publish",
        r.s(),
        &fixture("digits-cnn/model.onnx"),
        "--name",
        "vision-cnn",
        "--version",
        "1",
        "--role",
        "vision",
    ]);
    ok(&["rotate-root", r.s()]);
    ok(&["refresh-timestamp", r.s()]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tuf_ngclient_check.py");
    let out = Command::new(python())
        .arg(script)
        .arg(&r.dir)
        .arg(r.root1())
        .args([
            "models/digits/1/model.onnx",
            "models/digits/1/profile.json",
            "models/digits/aliases.json",
            "models/vision-cnn/1/model.onnx",
        ])
        .output()
        .expect("python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("accepted"), "{text}");
    assert!(text.contains("4 targets"), "{text}");
}
