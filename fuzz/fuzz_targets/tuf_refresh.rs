//! The whole client workflow over an in-memory repository whose files the fuzzer controls:
//! root rotation, timestamp, snapshot, targets, delegation search, target listing and
//! downloads, with stored (possibly tampered) trusted state, then a second refresh from what
//! was persisted; and the publisher's repository loading over the same files.
//!
//! The repository starts as a valid one (see `BaseRepo`), so an empty input is a full
//! successful workflow; each record of the input then replaces, patches and re-signs, removes
//! or re-hashes a file, tampers with the store, adds a root version or asks for a target path.
//!
//! Properties checked for every input: no panic; with batch persistence a failed refresh
//! leaves the store byte-for-byte unchanged; a successful download has the signed length and
//! sha256; a successful lookup's bytes pass the cached-target check.
#![no_main]

use std::collections::BTreeMap;
use std::rc::Rc;

use edge_registry::catalogue::{Aliases, Catalogue};
use edge_registry::clock::FixedClock;
use edge_registry::digest::Sha256Digest;
use edge_registry::fetch::MemoryFetch;
use edge_registry::publish::Repository;
use edge_registry::store::{MemoryStore, Store as _};
use edge_registry::tuf::updater::metadata_key;
use edge_registry::tuf::{TargetInfo, Updater, UpdaterConfig};
use edge_registry_fuzz::{merge_patch, signed_of, BaseRepo, Input, SharedStore, NOW};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

type Client = Updater<MemoryFetch, SharedStore, FixedClock>;

/// Re-computes the snapshot's entries for every targets role file and the timestamp's entry for
/// the snapshot, then re-signs both: lets a fuzzed targets or snapshot file reach the checks
/// after the parent's length and hash check.
fn rehash(base: &BaseRepo, meta: &mut BTreeMap<String, Vec<u8>>, all: bool) {
    let consistent = base.builder.consistent_snapshot;
    let snap_name = meta
        .keys()
        .filter(|n| BaseRepo::role_of(n) == "snapshot")
        .max_by_key(|n| (n.len(), (*n).clone()))
        .cloned()
        .unwrap_or_else(|| "snapshot.json".into());
    let Some(mut snap) = meta.get(&snap_name).and_then(|b| signed_of(b)) else {
        return;
    };
    if let Some(entries) = snap.get_mut("meta").and_then(Value::as_object_mut) {
        for (file, entry) in entries.iter_mut() {
            let Some(role) = file.strip_suffix(".json") else {
                continue;
            };
            let version = entry.get("version").and_then(Value::as_u64).unwrap_or(1);
            let name = if consistent {
                format!("{version}.{role}.json")
            } else {
                format!("{role}.json")
            };
            if let Some(bytes) = meta.get(&name) {
                *entry = json!({"version": version, "length": bytes.len(),
                    "hashes": {"sha256": hex::encode(Sha256::digest(bytes))}});
            }
        }
    }
    let snap_bytes = base.sign("snapshot", &snap, all);
    let version = snap.get("version").and_then(Value::as_u64).unwrap_or(1);
    meta.insert(snap_name.clone(), snap_bytes.clone());
    if consistent {
        meta.insert(format!("{version}.snapshot.json"), snap_bytes.clone());
    }
    if let Some(mut ts) = meta.get("timestamp.json").and_then(|b| signed_of(b)) {
        merge_patch(
            &mut ts,
            &json!({"meta": {"snapshot.json": {"version": version, "length": snap_bytes.len(),
                "hashes": {"sha256": hex::encode(Sha256::digest(&snap_bytes))}}}}),
        );
        meta.insert("timestamp.json".into(), base.sign("timestamp", &ts, all));
    }
}

async fn exercise(u: &mut Client, paths: &[String]) {
    let listing = match u.list_targets().await {
        Ok(l) => l,
        Err(_) => return,
    };
    let _ = Catalogue::from_targets(listing.targets.iter().map(|t| edge_registry::catalogue::SignedFile {
        target: t.clone(),
        url: String::new(),
    }));
    for info in listing.targets.iter().take(8) {
        download(u, info).await;
    }
    for path in paths {
        if let Ok(info) = u.target_info(path).await {
            assert_eq!(&info.path, path);
            download(u, &info).await;
        }
    }
}

async fn download(u: &Client, info: &TargetInfo) {
    let mut got = Vec::new();
    let r = u
        .download_target(info, &mut |c| {
            got.extend_from_slice(c);
            Ok(())
        })
        .await;
    assert!(
        got.len() as u64 <= info.length,
        "the sink got bytes past the signed length"
    );
    if r.is_ok() {
        assert_eq!(got.len() as u64, info.length);
        if let Some(h) = info.hashes.get("sha256") {
            assert!(h.eq_ignore_ascii_case(&Sha256Digest::of(&got).to_hex()));
        }
        assert!(u.check_cached_target(info, &got).is_ok());
        if info.path.ends_with("/aliases.json") {
            let _ = Aliases::from_bytes(&info.path, &got);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let flags = input.u8();
    let chunk = input.u8();
    let base = BaseRepo::get(flags & 1 != 0, flags & 2 != 0);
    let each_step = flags & 4 != 0;
    let all = flags & 8 != 0;
    let mut meta = base.published.metadata.clone();
    let mut targets = base.published.targets.clone();
    let store = SharedStore(Rc::new(MemoryStore::new()));
    let mut paths: Vec<String> = Vec::new();
    let mut names: Vec<String> = meta.keys().cloned().collect();
    let latest_root = base.builder.roots().len() as u64;
    names.push(format!("{}.root.json", latest_root + 1));
    names.push(format!("{}.root.json", latest_root + 2));
    let target_names: Vec<String> = targets.keys().cloned().collect();
    let mut records = 0;
    while !input.is_empty() && records < 16 {
        records += 1;
        let op = input.u8();
        let which = usize::from(input.u8());
        let blob = input.blob();
        let name = names[which % names.len()].clone();
        match op % 8 {
            0 => {
                meta.insert(name, blob.to_vec());
            }
            1 => {
                let Ok(patch) = serde_json::from_slice::<Value>(blob) else {
                    continue;
                };
                let mut signed = meta
                    .get(&name)
                    .and_then(|b| signed_of(b))
                    .unwrap_or(Value::Null);
                merge_patch(&mut signed, &patch);
                let bytes = base.sign(&BaseRepo::role_of(&name), &signed, all);
                meta.insert(name, bytes);
            }
            2 => {
                meta.remove(&name);
            }
            3 => {
                let key = metadata_key("", &BaseRepo::role_of(&name));
                let _ = pollster::block_on(store.put(&key, blob));
            }
            4 => {
                if let Some(bytes) = meta.get(&name) {
                    let key = metadata_key("", &BaseRepo::role_of(&name));
                    let _ = pollster::block_on(store.put(&key, bytes));
                }
            }
            5 => paths.push(String::from_utf8_lossy(blob).into_owned()),
            6 => {
                let t = target_names[which % target_names.len()].clone();
                if op & 0x80 != 0 {
                    targets.remove(&t);
                } else {
                    targets.insert(t, blob.to_vec());
                }
            }
            _ => {
                // A new root version: the latest root's `signed`, patched, next version, signed
                // by the root key (and every key with `all`).
                let latest = (1..=latest_root + 2)
                    .rev()
                    .find(|v| meta.contains_key(&format!("{v}.root.json")))
                    .unwrap_or(latest_root);
                let mut signed = meta
                    .get(&format!("{latest}.root.json"))
                    .and_then(|b| signed_of(b))
                    .unwrap_or(Value::Null);
                if let Ok(patch) = serde_json::from_slice::<Value>(blob) {
                    merge_patch(&mut signed, &patch);
                }
                merge_patch(&mut signed, &json!({"version": latest + 1}));
                let bytes = base.sign("root", &signed, all);
                meta.insert(format!("{}.root.json", latest + 1), bytes);
            }
        }
        if op & 0x40 != 0 {
            rehash(base, &mut meta, all);
        }
    }

    let fetch = MemoryFetch::new().with_chunk_size(match chunk {
        0 => 64 * 1024,
        c => usize::from(c),
    });
    for (name, bytes) in &meta {
        fetch.insert(format!("meta/{name}"), bytes.clone());
    }
    for (name, bytes) in &targets {
        fetch.insert(format!("targets/{name}"), bytes.clone());
    }
    let mut config = UpdaterConfig::new("meta", "targets");
    config.persist_each_step = each_step;
    config.prefix_targets_with_hash = flags & 0x10 == 0;
    config.max_delegations = [32, 8, 3, 1][usize::from(flags >> 6)];
    config.max_root_rotations = 4;
    let mut u: Client = Updater::new(config.clone(), fetch, store.clone(), FixedClock::new(NOW))
        .with_trusted_root(base.trusted_root().to_vec());

    pollster::block_on(async {
        let before = store.dump();
        match u.refresh().await {
            Ok(report) => {
                assert!(report.root.version >= 1);
                exercise(&mut u, &paths).await;
            }
            Err(e) => {
                if !each_step {
                    assert!(
                        store.dump() == before,
                        "a failed refresh changed the store: {e}"
                    );
                }
                assert!(u.trusted().is_none());
            }
        }
        // A second client from what was persisted (and no pinned root when flag 0x20 is set).
        let fetch = MemoryFetch::new();
        for (name, bytes) in &meta {
            fetch.insert(format!("meta/{name}"), bytes.clone());
        }
        let mut again: Client = Updater::new(config, fetch, store.clone(), FixedClock::new(NOW));
        if flags & 0x20 == 0 {
            again = again.with_trusted_root(base.trusted_root().to_vec());
        }
        if again.refresh().await.is_ok() {
            let _ = again.list_targets().await;
        }
    });

    // The publisher loads the same files (a repository checked out of a bucket).
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, bytes) in meta {
        files.insert(format!("metadata/{name}"), bytes);
    }
    for (name, bytes) in targets {
        files.insert(format!("targets/{name}"), bytes);
    }
    if let Ok(repo) = Repository::load(&mut files) {
        let _ = repo.role_status();
        let _ = repo.delegated_roles();
    }
});
