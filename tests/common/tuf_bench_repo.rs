//! Repositories for timing the TUF client, shared by `benches/tuf_refresh.rs` (native) and
//! `tests/tuf_timing.rs` (the same measurement in wasm under Node).

use edge_registry::clock::FixedClock;
use edge_registry::fetch::MemoryFetch;
use edge_registry::store::MemoryStore;
use edge_registry::tuf::repo::{Published, RepoBuilder};
use edge_registry::tuf::{Updater, UpdaterConfig};
use serde_json::json;

/// 2027-01-15.
pub const NOW: i64 = 1_800_000_000;

fn card(i: usize) -> serde_json::Value {
    json!({
        "name": format!("model-{i}"),
        "version": "1",
        "format": "onnx",
        "inputs": [{"name": "x", "dtype": "float32", "shape": ["N", 16]}],
        "outputs": [{"name": "y", "dtype": "int64", "shape": ["N"]}],
        "license": "MIT",
    })
}

/// `n` targets in the top-level targets role (each 256 bytes with a small model card), or,
/// with `roles > 0`, spread over that many delegated roles (pattern `models/team{r}-*/*/*`).
pub fn build(n: usize, roles: usize) -> (RepoBuilder, Published) {
    let mut b = RepoBuilder::new("bench", NOW + 365 * 86_400);
    for r in 0..roles {
        b.delegate(
            "targets",
            &format!("team{r}"),
            &[&format!("models/team{r}-*/*/*")],
            false,
        );
    }
    for i in 0..n {
        let content = vec![(i % 251) as u8; 256];
        if roles == 0 {
            b.add_target(
                &format!("models/model-{i}/1/model.onnx"),
                &content,
                Some(card(i)),
            );
        } else {
            let r = i % roles;
            b.add_delegated_target(
                &format!("team{r}"),
                &format!("models/team{r}-model-{i}/1/model.onnx"),
                &content,
                Some(card(i)),
            );
        }
    }
    let p = b.publish().expect("publish");
    (b, p)
}

/// The target paths a lookup pass visits: one per delegated role (so every role is loaded), or
/// the first, middle and last target.
pub fn lookups(n: usize, roles: usize) -> Vec<String> {
    if roles == 0 {
        [0, n / 2, n - 1]
            .iter()
            .map(|i| format!("models/model-{i}/1/model.onnx"))
            .collect()
    } else {
        (0..roles)
            .map(|r| format!("models/team{r}-model-{r}/1/model.onnx"))
            .collect()
    }
}

/// A fresh client (empty store) over the published files.
pub fn client(b: &RepoBuilder, p: &Published) -> Updater<MemoryFetch, MemoryStore, FixedClock> {
    let f = MemoryFetch::new();
    for (name, bytes) in &p.metadata {
        f.insert(format!("meta/{name}"), bytes.clone());
    }
    for (name, bytes) in &p.targets {
        f.insert(format!("targets/{name}"), bytes.clone());
    }
    Updater::new(
        UpdaterConfig::new("meta", "targets"),
        f,
        MemoryStore::new(),
        FixedClock::new(NOW),
    )
    .with_trusted_root(b.roots()[0].clone())
}

/// One full pass: refresh, look the targets up (loading delegated roles), download and verify
/// the first one. Returns the bytes downloaded.
pub async fn pass(
    u: &mut Updater<MemoryFetch, MemoryStore, FixedClock>,
    paths: &[String],
) -> usize {
    u.refresh().await.expect("refresh");
    let mut first = None;
    for p in paths {
        let info = u.target_info(p).await.expect("target_info");
        first.get_or_insert(info);
    }
    let info = first.expect("at least one lookup");
    let mut n = 0;
    u.download_target(&info, &mut |c| {
        n += c.len();
        Ok(())
    })
    .await
    .expect("download");
    n
}
