//! TUF metadata parsing and verification, one role at a time, against a fixed trusted root:
//! the fuzzer's bytes are given to `TrustedMetadataSet` as the root (version N+1), timestamp,
//! snapshot, top-level targets or a delegated targets role, after the roles before it were
//! loaded from the fixed repository. In "sign" mode the bytes are the `signed` object and the
//! harness signs it with the role's key, so the checks after the signature are reached too.
//! Also: canonical JSON of arbitrary JSON is stable (re-canonicalising its output changes
//! nothing) and every role type parses without panicking.
#![no_main]

use edge_registry::error::ErrorCode;
use edge_registry::tuf::canonical::to_canonical;
use edge_registry::tuf::metadata::{Envelope, Root, Snapshot, Targets, Timestamp};
use edge_registry::tuf::trusted::TrustedMetadataSet;
use edge_registry_fuzz::{BaseRepo, Input, NOW};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn file<'a>(base: &'a BaseRepo, name: &str) -> &'a [u8] {
    base.published
        .metadata
        .get(name)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let selector = input.u8();
    let body = input.rest();
    // Variant without meta lengths and hashes, so a fuzzed snapshot or targets file only has
    // to carry the version the parent lists.
    let base = BaseRepo::get(false, selector & 0x40 != 0);
    let sign = selector & 0x80 != 0;
    let role = match selector % 5 {
        0 => "root",
        1 => "timestamp",
        2 => "snapshot",
        3 => "targets",
        _ => "team-a",
    };
    let bytes = if sign {
        match serde_json::from_slice::<Value>(body) {
            Ok(signed) => base.sign(role, &signed, selector & 0x20 != 0),
            Err(_) => return,
        }
    } else {
        body.to_vec()
    };

    // Each role type parses (or fails with a typed error) whatever the bytes.
    for r in [
        Envelope::parse::<Root>("root", &bytes).err(),
        Envelope::parse::<Timestamp>("timestamp", &bytes).err(),
        Envelope::parse::<Snapshot>("snapshot", &bytes).err(),
        Envelope::parse::<Targets>("targets", &bytes).err(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(!r.code().is_empty());
    }

    // Canonical JSON is stable: canonicalising its own output gives the same bytes (when the
    // output is JSON at all: canonical JSON writes control characters raw).
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Ok(c1) = to_canonical(&v) {
            if let Ok(v2) = serde_json::from_slice::<Value>(&c1) {
                assert_eq!(v2, v, "canonical JSON changed the value");
                assert_eq!(to_canonical(&v2).ok().as_deref(), Some(c1.as_slice()));
            }
        }
    }

    // The trusted set, loaded up to the fuzzed role.
    let Ok(mut set) = TrustedMetadataSet::new(base.trusted_root(), NOW) else {
        panic!("the fixed root must load");
    };
    if role == "root" {
        let before = set.root().version();
        match set.update_root(&bytes) {
            Ok(new) => {
                assert_eq!(new.version(), before + 1);
                let _ = set.check_final_root();
                // A rotated root still drives the rest of the workflow without panicking.
                let _ = set.update_timestamp(file(base, "timestamp.json"));
            }
            Err(e) => assert_eq!(set.root().version(), before, "{e}"),
        }
        return;
    }
    set.update_timestamp(file(base, "timestamp.json"))
        .expect("fixed timestamp");
    if role == "timestamp" {
        let before = set.timestamp().map(|t| t.version());
        match set.update_timestamp(&bytes) {
            Ok(_) => {
                let _ = set.check_final_timestamp();
            }
            Err(e) => {
                // A refused timestamp that was not merely expired leaves the trusted one.
                if e.code() != "EXPIRED" {
                    assert_eq!(set.timestamp().map(|t| t.version()), before, "{e}");
                }
            }
        }
        return;
    }
    let snapshot_name = if base.builder.consistent_snapshot {
        "1.snapshot.json"
    } else {
        "snapshot.json"
    };
    if role == "snapshot" {
        if set.update_snapshot(&bytes, selector & 0x20 != 0).is_ok() {
            let _ = set.check_final_snapshot();
            let targets_name = if base.builder.consistent_snapshot {
                "1.targets.json"
            } else {
                "targets.json"
            };
            let _ = set.update_targets(file(base, targets_name));
        }
        return;
    }
    set.update_snapshot(file(base, snapshot_name), false)
        .expect("fixed snapshot");
    if role == "targets" {
        if let Ok(t) = set.update_targets(&bytes) {
            // Whatever the delegations say, resolving roles for a path never panics.
            if let Some(d) = &t.signed().delegations {
                let _ = d.roles_for_target("models/team-a-x/1/model.onnx");
                let _ = d.role_keys("team-a");
            }
            let _ = set.update_delegated_targets(&bytes, "team-a", "targets");
        }
        return;
    }
    let targets_name = if base.builder.consistent_snapshot {
        "1.targets.json"
    } else {
        "targets.json"
    };
    set.update_targets(file(base, targets_name))
        .expect("fixed targets");
    if let Ok(t) = set.update_delegated_targets(&bytes, role, "targets") {
        if let Some(d) = &t.signed().delegations {
            let _ = d.roles_for_target("models/team-a-x/1/model.onnx");
        }
        let _ = set.check_cached_delegation(role, "team-a");
    }
});
