//! The registry client through its public API, over the in-memory hosts: catalogue and
//! resolution, verified downloads and cache hits, tampering (cache and server), oversized and
//! truncated responses, aborts, quota and LRU eviction with pins, offline use and expiry,
//! rollback refused from stored state, two clients of one store, crash leftovers, and loading
//! into the engine. Runs natively and in wasm (Node, Chromium, worker); the same behaviour
//! over the real global fetch and IndexedDB is in `registry_web.rs`.

use crate::common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use common::registry_fixtures as fx;
use edge_registry::app::{self, LoadOptions};
use edge_registry::clock::FixedClock;
use edge_registry::error::ErrorCode;
use edge_registry::fetch::{Fetch, FetchError, MemoryFetch, Sink};
use edge_registry::registry::{
    AbortFlag, FetchOptions, Progress, Registry, RegistryConfig, Source, Status,
};
use edge_registry::store::{MemoryStore, Namespaced, Op, StorageEstimate, Store, StoreError};
use edge_registry::tuf::repo::{Published, RepoBuilder};

const BASE: &str = "http://registry.test";

type Reg<F, S> = Registry<F, S, Rc<FixedClock>>;

fn serve(f: &MemoryFetch, dir: &str, p: &Published) {
    for (name, bytes) in &p.metadata {
        f.insert(format!("{BASE}/{dir}/metadata/{name}"), bytes.clone());
    }
    for (name, bytes) in &p.targets {
        f.insert(format!("{BASE}/{dir}/targets/{name}"), bytes.clone());
    }
}

fn server(dir: &str, p: &Published) -> Rc<MemoryFetch> {
    let f = MemoryFetch::new().with_chunk_size(16 * 1024);
    serve(&f, dir, p);
    Rc::new(f)
}

fn good() -> Published {
    fx::good()
}

fn config(dir: &str) -> RegistryConfig {
    let mut c = RegistryConfig::new(&format!("{BASE}/{dir}"));
    c.cache.instance_id = "test".into();
    c
}

async fn open<F: Fetch, S: Store>(
    config: RegistryConfig,
    fetch: F,
    store: S,
    clock: &Rc<FixedClock>,
) -> Reg<F, S> {
    Registry::open(config, fetch, store, Rc::clone(clock), &fx::trusted_root())
        .await
        .unwrap()
}

fn clock() -> Rc<FixedClock> {
    Rc::new(FixedClock::new(fx::NOW))
}

fn code<T: std::fmt::Debug, E: ErrorCode + std::fmt::Debug>(r: Result<T, E>) -> &'static str {
    r.expect_err("must fail").code()
}

/// A key without its registry namespace (`r/<anchor>/`).
fn unscoped(k: &str) -> &str {
    k.strip_prefix("r/")
        .and_then(|r| r.split_once('/'))
        .map_or(k, |(_, rest)| rest)
}

/// Keys of the cache proper (not trusted metadata or aliases documents), in any namespace.
async fn cache_keys<S: Store>(s: &S) -> Vec<String> {
    let cache = ["blob/", "chunk/", "stage/", "ver/"];
    let mut out = s.keys("").await.unwrap();
    out.retain(|k| cache.iter().any(|p| unscoped(k).starts_with(p)));
    out
}

/// What a first visit to the `good` registry leaves: a client that refreshed and fetched
/// `digits@production` (version 1), its server, store and clock.
async fn first_visit() -> (
    Rc<MemoryFetch>,
    Rc<MemoryStore>,
    Rc<FixedClock>,
    Reg<Rc<MemoryFetch>, Rc<MemoryStore>>,
) {
    let fetch = server("good", &good());
    let store = Rc::new(MemoryStore::new());
    let clock = clock();
    let reg = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
    reg.refresh().await.unwrap();
    let (bytes, _) = reg
        .fetch_model("digits@production", FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(bytes, fx::DIGITS_1);
    (fetch, store, clock, reg)
}

/// Copies every key of `from` (the state another client left in its own store) into `to`,
/// at the top level and under each registry namespace `to` holds (`r/<anchor>/`): a writer of
/// the store putting its trusted metadata wherever a client might read it.
async fn plant(from: &MemoryStore, to: &MemoryStore) {
    let mut prefixes: BTreeSet<String> = to
        .keys("r/")
        .await
        .unwrap()
        .iter()
        .filter_map(|k| {
            k.strip_prefix("r/")?
                .split_once('/')
                .map(|(ns, _)| format!("r/{ns}/"))
        })
        .collect();
    prefixes.insert(String::new());
    for key in from.keys("").await.unwrap() {
        let value = from.get(&key).await.unwrap().unwrap();
        for p in &prefixes {
            to.put(&format!("{p}{}", unscoped(&key)), &value)
                .await
                .unwrap();
        }
    }
}

/// The store as a client of `dir` pinned to the genuine root sees it: its namespace.
fn view<S: Store>(store: S, dir: &str) -> Namespaced<S> {
    let ns = edge_registry::registry::namespace(&fx::trusted_root(), &config(dir)).unwrap();
    Namespaced::new(store, ns)
}

fn target_requests(f: &MemoryFetch) -> Vec<String> {
    f.requests()
        .into_iter()
        .filter(|u| u.contains("/targets/"))
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    edge_registry::digest::Sha256Digest::of(bytes).to_hex()
}

/// A fetch that yields to the executor before and after each transfer, so two futures joined
/// together really interleave.
struct Yielding(Rc<MemoryFetch>);

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl Fetch for Yielding {
    async fn fetch(&self, url: &str, limit: u64, sink: &mut Sink<'_>) -> Result<(), FetchError> {
        YieldOnce(false).await;
        let r = self.0.fetch(url, limit, sink).await;
        YieldOnce(false).await;
        r
    }
}

/// A store whose platform estimate says only `available` bytes are left.
struct Tight {
    inner: MemoryStore,
    available: u64,
}

impl Store for Tight {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        self.inner.commit(ops).await
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.keys(prefix).await
    }
    async fn estimate(&self) -> Result<Option<StorageEstimate>, StoreError> {
        Ok(Some(StorageEstimate {
            usage: 1_000,
            quota: 1_000 + self.available,
        }))
    }
}

everywhere_async! {
    async fn fetch_file_verifies_a_signed_file_of_a_version() {
        let mut p = good();
        let fetch = server("good", &p);
        let reg = open(config("good"), Rc::clone(&fetch), Rc::new(MemoryStore::new()), &clock()).await;
        reg.refresh().await.unwrap();
        let mut out = Vec::new();
        let t = reg.fetch_file_into("digits@production", "eval.csv", &mut out, FetchOptions::default()).await.unwrap();
        assert_eq!(out, fx::EVAL_CSV);
        assert_eq!(t.path, "models/digits/1/eval.csv");
        // A file the version does not sign, and one of a version that has none.
        let mut out = Vec::new();
        let r = reg.fetch_file_into("digits@1", "profile.json", &mut out, FetchOptions::default()).await;
        assert_eq!(code(r), "MODEL_NOT_FOUND");
        let r = reg.fetch_file_into("iris@1", "eval.csv", &mut out, FetchOptions::default()).await;
        assert_eq!(code(r), "MODEL_NOT_FOUND");
        // Changed on the server after signing: refused.
        let mut bad = fx::EVAL_CSV.to_vec();
        bad[1000] ^= 1;
        fx::replace_served(&mut p, "models/digits/1/eval.csv", fx::EVAL_CSV, bad);
        let fetch = server("good", &p);
        let reg = open(config("good"), fetch, Rc::new(MemoryStore::new()), &clock()).await;
        reg.refresh().await.unwrap();
        let mut out = Vec::new();
        let r = reg.fetch_file_into("digits@1", "eval.csv", &mut out, FetchOptions::default()).await;
        assert_eq!(code(r), "HASH_MISMATCH");
    }

    async fn catalogue_lists_models_aliases_and_delegated_roles() {
        let fetch = server("good", &good());
        let reg = open(config("good"), Rc::clone(&fetch), MemoryStore::new(), &clock()).await;
        let out = reg.refresh().await.unwrap();
        assert!(!out.offline && !out.expired);
        assert_eq!(out.report.targets.version, 2);
        assert_eq!(out.report.timestamp.version, 2);
        assert_eq!(out.models, 5, "{:?}", reg.catalogue().unwrap().models.keys());
        // acme lists models/digits/9 but is only trusted for models/acme-*: reported, left out.
        assert_eq!(out.problems.len(), 1, "{:?}", out.problems);
        assert!(out.problems[0].contains("models/digits/9/model.onnx") && out.problems[0].contains("acme"));
        let cat = reg.catalogue().unwrap();
        let digits = &cat.models["digits"];
        let versions: Vec<&str> = digits.versions.iter().map(|v| v.version.as_str()).collect();
        assert_eq!(versions, vec!["1", "2"]);
        let r = reg.resolve("digits").unwrap();
        assert_eq!((r.model.version.as_str(), r.alias.as_deref()), ("1", Some("production")));
        assert_eq!(r.model.sha256().unwrap(), sha(fx::DIGITS_1));
        assert_eq!(reg.resolve("digits@staging").unwrap().model.version, "2");
        assert_eq!(reg.resolve("digits@2").unwrap().alias, None);
        assert_eq!(reg.resolve("iris").unwrap().model.version, "1");
        let acme = reg.resolve("acme-iris").unwrap();
        assert_eq!(acme.model.target.role, "acme");
        assert_eq!(acme.model.card().unwrap()["name"], "acme-iris");
        // acme lists models/digits/9 but is only trusted for models/acme-*: not in the catalogue.
        assert_eq!(code(reg.resolve("digits@9")), "MODEL_NOT_FOUND");
        assert_eq!(code(reg.resolve("nope")), "MODEL_NOT_FOUND");
        assert_eq!(code(reg.resolve("Bad Name")), "BAD_REF");
        assert_eq!(code(reg.resolve("digits@")), "BAD_REF");
    }

    async fn a_role_that_fails_to_load_never_lets_a_later_role_answer_for_its_paths() {
        // Roles a (terminating) and b are both trusted for models/x-*; a comes first.
        let mut b = fx::good_builder();
        b.delegate("targets", "a", &["models/x-*/*/*"], true);
        b.delegate("targets", "b", &["models/x-*/*/*"], false);
        b.add_delegated_target("a", "models/x-m/1/model.onnx", fx::DIGITS_1, None);
        b.add_delegated_target("b", "models/x-m/1/model.onnx", fx::DIGITS_2, None);
        b.add_delegated_target("b", "models/x-n/1/model.onnx", fx::DIGITS_2, None);
        let p = b.publish().unwrap();
        let fetch = server("good", &p);
        let reg = open(config("good"), Rc::clone(&fetch), MemoryStore::new(), &clock()).await;
        reg.refresh().await.unwrap();
        let m = reg.resolve("x-m@1").unwrap();
        assert_eq!((m.model.target.role.as_str(), m.model.sha256().unwrap()), ("a", sha(fx::DIGITS_1)));
        // The terminating role a stops the search: b's x-n is not reachable either.
        assert_eq!(code(reg.resolve("x-n@1")), "MODEL_NOT_FOUND");
        // a's metadata is tampered on the server: its paths drop out, b does not stand in.
        let name = "1.a.json";
        let mut bad = p.metadata[name].clone();
        let at = bad.len() / 2;
        bad[at] ^= 0x20;
        fetch.insert(format!("{BASE}/good/metadata/{name}"), bad);
        let reg = open(config("good"), Rc::clone(&fetch), MemoryStore::new(), &clock()).await;
        let out = reg.refresh().await.unwrap();
        assert!(out.problems.iter().any(|p| p.starts_with("a: ")), "{:?}", out.problems);
        assert_eq!(code(reg.resolve("x-m@1")), "MODEL_NOT_FOUND");
        assert_eq!(reg.resolve("digits@2").unwrap().model.version, "2", "the rest still works");
    }

    async fn nothing_works_before_a_refresh_and_bad_roots_are_refused() {
        let fetch = server("good", &good());
        let reg = open(config("good"), Rc::clone(&fetch), MemoryStore::new(), &clock()).await;
        assert!(reg.catalogue().is_none());
        assert_eq!(code(reg.resolve("digits")), "INVALID_STATE");
        assert_eq!(code(reg.fetch_model("digits", FetchOptions::default()).await), "INVALID_STATE");
        assert!(fetch.requests().is_empty(), "open must not fetch");
        let bad = Registry::open(config("good"), Rc::clone(&fetch), MemoryStore::new(), clock(), b"{}").await;
        assert_eq!(code(bad.map(|_| ())), "BAD_METADATA");
        let mut small = config("good");
        small.max_roles = 1;
        let reg = open(small, Rc::clone(&fetch), MemoryStore::new(), &clock()).await;
        assert_eq!(code(reg.refresh().await), "LIMIT_EXCEEDED");
    }

    async fn first_load_downloads_then_the_cache_serves_with_no_requests() {
        let fetch = server("good", &good());
        let store = Rc::new(MemoryStore::new());
        let clock = clock();
        let reg = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        reg.refresh().await.unwrap();
        let events: RefCell<Vec<Progress>> = RefCell::new(Vec::new());
        let record = |p: &Progress| events.borrow_mut().push(*p);
        let opts = FetchOptions { progress: Some(&record), abort: None };
        let (bytes, f) = reg.fetch_model("digits@production", opts).await.unwrap();
        assert_eq!(bytes, fx::DIGITS_1);
        assert_eq!((f.source, f.version.as_str(), f.alias.as_deref()), (Source::Network, "1", Some("production")));
        assert_eq!(f.card.as_ref().unwrap()["name"], "digits");
        assert!(!f.offline && !f.expired && !f.cache_repaired);
        let ev = events.take();
        assert!(ev.iter().all(|p| p.source == Source::Network && p.total == fx::DIGITS_1.len() as u64));
        let chunks: Vec<_> = ev.iter().filter(|p| p.status == Status::Progress).collect();
        assert!(chunks.windows(2).all(|w| w[0].loaded < w[1].loaded));
        assert_eq!(ev.last().unwrap().loaded, fx::DIGITS_1.len() as u64);
        let model_url = format!("{BASE}/good/targets/models/digits/1/{}.model.onnx", sha(fx::DIGITS_1));
        assert_eq!(target_requests(&fetch), vec![
            format!("{BASE}/good/targets/models/digits/{}.aliases.json", sha(br#"{"name": "digits", "aliases": {"production": "1", "staging": "2"}}"#)),
            model_url,
        ]);

        // A second visit: a new client on the same store, no refresh, no network at all.
        fetch.clear_requests();
        let again = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        let record = |p: &Progress| events.borrow_mut().push(*p);
        let opts = FetchOptions { progress: Some(&record), abort: None };
        let (bytes, f) = again.fetch_model("digits@production", opts).await.unwrap();
        assert_eq!(bytes, fx::DIGITS_1);
        assert_eq!(f.source, Source::Cache);
        assert!(f.offline, "the catalogue came from stored metadata");
        assert!(fetch.requests().is_empty(), "{:?}", fetch.requests());
        let ev = events.take();
        assert!(!ev.is_empty() && ev.iter().all(|p| p.source == Source::Cache));
        assert_eq!(ev.last().unwrap().loaded, fx::DIGITS_1.len() as u64);
        // After a refresh: metadata requests only, no target requests.
        again.refresh().await.unwrap();
        let (_, f) = again.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!(f.source, Source::Cache);
        assert!(target_requests(&fetch).is_empty(), "{:?}", fetch.requests());
        let list = again.cache().list().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].name.as_str(), list[0].version.as_str(), list[0].bytes), ("digits", "1", fx::DIGITS_1.len() as u64));
    }

    async fn a_tampered_cached_blob_is_detected_and_downloaded_again() {
        let fetch = server("good", &good());
        let store = Rc::new(MemoryStore::new());
        let ns = view(Rc::clone(&store), "good");
        let mut c = config("good");
        c.cache.chunk_bytes = 4096;
        let reg = open(c, Rc::clone(&fetch), Rc::clone(&store), &clock()).await;
        reg.refresh().await.unwrap();
        reg.fetch_model("digits@2", FetchOptions::default()).await.unwrap();
        let chunks = ns.keys("chunk/").await.unwrap();
        assert_eq!(chunks.len(), fx::DIGITS_2.len().div_ceil(4096));
        // Flip one byte of one chunk.
        let mut bad = ns.get(&chunks[2]).await.unwrap().unwrap();
        bad[7] ^= 0x80;
        ns.put(&chunks[2], &bad).await.unwrap();
        fetch.clear_requests();
        let (bytes, f) = reg.fetch_model("digits@2", FetchOptions::default()).await.unwrap();
        assert_eq!(bytes, fx::DIGITS_2);
        assert_eq!(f.source, Source::Network);
        assert!(f.cache_repaired);
        assert_eq!(target_requests(&fetch).len(), 1);
        let (_, f) = reg.fetch_model("digits@2", FetchOptions::default()).await.unwrap();
        assert_eq!(f.source, Source::Cache);
        // A missing chunk is caught the same way.
        let chunks = ns.keys("chunk/").await.unwrap();
        ns.delete(&chunks[1]).await.unwrap();
        let (bytes, f) = reg.fetch_model("digits@2", FetchOptions::default()).await.unwrap();
        assert_eq!((bytes.as_slice(), f.source, f.cache_repaired), (fx::DIGITS_2, Source::Network, true));
        // A blob record naming more chunks than its length needs is refused before any is read,
        // however many it names; one naming tiny chunks stops at the first missing one.
        let key = format!("blob/{}", sha(fx::DIGITS_2));
        for (chunk_size, chunks) in [(1u64, u64::MAX), (1, fx::DIGITS_2.len() as u64)] {
            let mut record: serde_json::Value = serde_json::from_slice(&ns.get(&key).await.unwrap().unwrap()).unwrap();
            record["chunk_size"] = chunk_size.into();
            record["chunks"] = chunks.into();
            ns.put(&key, &serde_json::to_vec(&record).unwrap()).await.unwrap();
            let (bytes, f) = reg.fetch_model("digits@2", FetchOptions::default()).await.unwrap();
            assert_eq!((bytes.as_slice(), f.source, f.cache_repaired), (fx::DIGITS_2, Source::Network, true), "{chunks}");
        }
    }

    async fn an_artifact_of_many_chunks_reads_back_from_the_cache_a_batch_at_a_time() {
        let fetch = server("good", &good());
        let store = Rc::new(MemoryStore::new());
        let ns = view(Rc::clone(&store), "good");
        let mut c = config("good");
        c.cache.chunk_bytes = 8 << 10;
        let reg = open(c, Rc::clone(&fetch), Rc::clone(&store), &clock()).await;
        reg.refresh().await.unwrap();
        reg.fetch_model("big@1", FetchOptions::default()).await.unwrap();
        let big = fx::big();
        let chunks = ns.keys("chunk/").await.unwrap();
        assert_eq!(chunks.len(), big.len().div_ceil(8 << 10));
        assert!(chunks.len() > 3 * 64, "several read batches: {}", chunks.len());
        fetch.clear_requests();
        let seen = Cell::new(0u64);
        let progress = |p: &Progress| seen.set(p.loaded);
        let opts = FetchOptions { progress: Some(&progress), ..FetchOptions::default() };
        let (bytes, f) = reg.fetch_model("big@1", opts).await.unwrap();
        assert!(bytes == big);
        assert_eq!((f.source, f.cache_repaired), (Source::Cache, false));
        assert_eq!(seen.get(), big.len() as u64);
        assert!(target_requests(&fetch).is_empty());
        // The last chunk missing: found at the end of the last batch.
        let last = chunks.iter().max_by_key(|k| k.rsplit('/').next().and_then(|n| n.parse::<u64>().ok())).unwrap();
        ns.delete(last).await.unwrap();
        let (bytes, f) = reg.fetch_model("big@1", FetchOptions::default()).await.unwrap();
        assert!(bytes == big);
        assert_eq!((f.source, f.cache_repaired), (Source::Network, true));
    }

    async fn chunks_are_written_while_the_download_arrives_and_kept_only_once_verified() {
        // The memory store starts writes at once, as IndexedDB does: the cache writes each
        // chunk while the rest of the download still arrives, under a staging id nothing
        // reads; the blob record that makes them servable commits only after verification,
        // and a download that fails verification leaves nothing behind.
        let big = fx::big();
        let mut tampered = good();
        let mut bad = big.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        fx::replace_served(&mut tampered, "models/big/1/model.onnx", &big, bad);
        for (served, ok) in [(good(), true), (tampered, false)] {
            let fetch = server("good", &served);
            let store = Rc::new(MemoryStore::new());
            let mut c = config("good");
            c.cache.chunk_bytes = 8 << 10;
            let reg = open(c, Rc::clone(&fetch), Rc::clone(&store), &clock()).await;
            reg.refresh().await.unwrap();
            let before = store.total_bytes();
            let midway = Cell::new(None);
            let look = |p: &Progress| {
                if midway.get().is_none() && p.loaded >= p.total / 2 {
                    let keys = futures_util::FutureExt::now_or_never(store.keys(""))
                        .expect("the memory store answers at once")
                        .unwrap();
                    let blobs = keys.iter().filter(|k| unscoped(k).starts_with("blob/")).count();
                    midway.set(Some((store.total_bytes() - before, blobs)));
                }
            };
            let opts = FetchOptions { progress: Some(&look), abort: None };
            let r = reg.fetch_model("big@1", opts).await;
            let (written, blobs) = midway.get().expect("progress reached half way");
            assert!(written >= (big.len() / 2) - (8 << 10), "{written} bytes written half way");
            assert_eq!(blobs, 0, "nothing servable before verification");
            if ok {
                assert_eq!(r.unwrap().1.source, Source::Network);
                fetch.clear_requests();
                let (bytes, f) = reg.fetch_model("big@1", FetchOptions::default()).await.unwrap();
                assert!(bytes == big);
                assert_eq!(f.source, Source::Cache);
                assert!(target_requests(&fetch).is_empty());
            } else {
                assert_eq!(code(r), "HASH_MISMATCH");
                assert!(cache_keys(&*store).await.is_empty(), "{:?}", cache_keys(&*store).await);
            }
        }
    }

    async fn a_tampered_artifact_on_the_server_is_refused_and_nothing_cached() {
        let fetch = server("tampered", &fx::tampered());
        let store = Rc::new(MemoryStore::new());
        let reg = open(config("tampered"), Rc::clone(&fetch), Rc::clone(&store), &clock()).await;
        reg.refresh().await.unwrap();
        let r = reg.fetch_model("digits@2", FetchOptions::default()).await;
        assert_eq!(code(r), "HASH_MISMATCH");
        assert!(cache_keys(&*store).await.is_empty(), "{:?}", cache_keys(&*store).await);
        // The untampered model still loads.
        let (bytes, _) = reg.fetch_model("digits@1", FetchOptions::default()).await.unwrap();
        assert_eq!(bytes, fx::DIGITS_1);
    }

    async fn an_oversized_response_is_cut_at_the_signed_length() {
        let fetch = server("oversized", &fx::oversized());
        let store = Rc::new(MemoryStore::new());
        let reg = open(config("oversized"), Rc::clone(&fetch), Rc::clone(&store), &clock()).await;
        reg.refresh().await.unwrap();
        let max = Cell::new(0u64);
        let record = |p: &Progress| max.set(max.get().max(p.loaded));
        let opts = FetchOptions { progress: Some(&record), abort: None };
        let r = reg.fetch_model("pad@1", opts).await;
        assert_eq!(code(r), "LENGTH_EXCEEDED");
        assert!(max.get() <= fx::PAD_LEN as u64, "{} bytes reached the output", max.get());
        assert!(cache_keys(&*store).await.is_empty());
    }

    async fn a_truncated_response_is_refused() {
        let mut p = good();
        fx::replace_served(&mut p, "models/pad/2/model.onnx", &fx::pad(2), fx::pad(2)[..1000].to_vec());
        let fetch = server("good", &p);
        let store = Rc::new(MemoryStore::new());
        let reg = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock()).await;
        reg.refresh().await.unwrap();
        assert_eq!(code(reg.fetch_model("pad@2", FetchOptions::default()).await), "TRUNCATED");
        assert!(cache_keys(&*store).await.is_empty());
    }

    async fn an_abort_mid_download_leaves_nothing() {
        let fetch = server("good", &good());
        let store = Rc::new(MemoryStore::new());
        let reg = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock()).await;
        reg.refresh().await.unwrap();
        let flag = AbortFlag::new();
        let seen = Cell::new(0u64);
        let stop = |p: &Progress| {
            if p.status == Status::Progress {
                seen.set(p.loaded);
                flag.abort();
            }
        };
        let opts = FetchOptions { progress: Some(&stop), abort: Some(&flag) };
        assert_eq!(code(reg.fetch_model("big@1", opts).await), "ABORTED");
        assert!(seen.get() > 0 && seen.get() < fx::BIG_LEN as u64);
        assert!(cache_keys(&*store).await.is_empty());
        // An already aborted flag fetches nothing.
        fetch.clear_requests();
        let opts = FetchOptions { progress: None, abort: Some(&flag) };
        assert_eq!(code(reg.fetch_model("big@1", opts).await), "ABORTED");
        assert!(fetch.requests().is_empty());
        // Without the flag it downloads.
        let (bytes, _) = reg.fetch_model("big@1", FetchOptions::default()).await.unwrap();
        assert_eq!(bytes.len(), fx::BIG_LEN);
    }

    async fn quota_evicts_least_recently_used_unpinned_versions() {
        let fetch = server("good", &good());
        let store = Rc::new(MemoryStore::new());
        let ns = view(Rc::clone(&store), "good");
        let clock = clock();
        let mut c = config("good");
        c.cache.max_bytes = Some(250_000);
        let reg = open(c, Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        reg.refresh().await.unwrap();
        let get = |v: &'static str| {
            let reg = &reg;
            let clock = &clock;
            async move {
                clock.set(clock.now_plus(10));
                reg.fetch_model(v, FetchOptions::default()).await.map(|(_, f)| f.source)
            }
        };
        let versions = |list: Vec<edge_registry::registry::CacheEntry>| -> Vec<(String, bool)> {
            list.into_iter().filter(|e| e.cached).map(|e| (format!("{}@{}", e.name, e.version), e.pinned)).collect()
        };
        assert_eq!(get("pad@1").await.unwrap(), Source::Network);
        assert_eq!(get("pad@2").await.unwrap(), Source::Network);
        assert_eq!(get("pad@1").await.unwrap(), Source::Cache); // pad@1 is now the most recent
        assert_eq!(get("pad@3").await.unwrap(), Source::Network); // evicts pad@2
        assert_eq!(versions(reg.cache().list().await.unwrap()), vec![("pad@3".into(), false), ("pad@1".into(), false)]);
        reg.pin("pad@1").await.unwrap();
        assert_eq!(get("pad@4").await.unwrap(), Source::Network); // evicts pad@3, never pinned pad@1
        assert_eq!(versions(reg.cache().list().await.unwrap()), vec![("pad@4".into(), false), ("pad@1".into(), true)]);
        let usage = reg.cache().usage().await.unwrap();
        assert_eq!((usage.bytes, usage.blobs, usage.versions, usage.limit), (2 * fx::PAD_LEN as u64, 2, 2, Some(250_000)));
        // Too large even after evicting everything unpinned: QUOTA, nothing changed or written.
        let before = cache_keys(&*store).await;
        fetch.clear_requests();
        let r = reg.fetch_model("big@1", FetchOptions::default()).await;
        assert_eq!(code(r), "QUOTA");
        assert_eq!(cache_keys(&*store).await, before);
        assert!(fetch.requests().is_empty(), "nothing is downloaded: {:?}", fetch.requests());
        // Pins, evictions, clear.
        assert_eq!(code(reg.evict("pad@1").await), "PINNED");
        assert!(reg.unpin("pad@1").await.unwrap());
        assert!(reg.evict("pad@1").await.unwrap());
        assert!(!reg.evict("pad@1").await.unwrap());
        reg.pin("digits@production").await.unwrap();
        let list = reg.cache().list().await.unwrap();
        assert!(list.iter().any(|e| e.name == "digits" && e.version == "1" && e.pinned && !e.cached));
        reg.clear_cache(true).await.unwrap();
        assert!(reg.cache().list().await.unwrap().is_empty());
        assert!(cache_keys(&*store).await.is_empty());
        assert!(!ns.keys("tuf/").await.unwrap().is_empty(), "keepTrust: trusted metadata stays");
        // Without keepTrust, the trust state goes too: nothing of this registry is left.
        reg.clear_cache(false).await.unwrap();
        assert!(ns.keys("").await.unwrap().is_empty(), "{:?}", ns.keys("").await.unwrap());
        // This session's catalogue stays usable; a new start trusts the pinned root alone.
        assert_eq!(reg.fetch_model("pad@2", FetchOptions::default()).await.unwrap().1.source, Source::Network);
        fetch.set_offline(true);
        let reopened = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        assert!(reopened.catalogue().is_none());
        assert_eq!(code(reopened.refresh().await), "NETWORK");
    }

    async fn the_platform_estimate_limits_the_cache_too() {
        let fetch = server("good", &good());
        let store = Tight { inner: MemoryStore::new(), available: 150_000 };
        let reg = open(config("good"), Rc::clone(&fetch), store, &clock()).await;
        reg.refresh().await.unwrap();
        reg.fetch_model("pad@1", FetchOptions::default()).await.unwrap();
        let err = reg.fetch_model("big@1", FetchOptions::default()).await.unwrap_err();
        assert_eq!(err.code(), "QUOTA");
        assert!(err.to_string().contains("platform"), "{err}");
    }

    async fn offline_the_stored_metadata_serves_cached_versions_until_it_expires() {
        let (fetch, store, clock, reg) = first_visit().await;
        fetch.set_offline(true);
        let out = reg.refresh().await.unwrap();
        assert!(out.offline && !out.expired);
        assert_eq!(out.network_error.as_ref().unwrap().code, "NETWORK");
        assert_eq!(out.report.timestamp.version, 2);
        let (bytes, f) = reg.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!((bytes.as_slice(), f.source, f.offline), (fx::DIGITS_1, Source::Cache, true));
        assert_eq!(code(reg.fetch_model("digits@2", FetchOptions::default()).await), "NETWORK");
        // Time passes beyond every expiry: refused, online or not.
        clock.set(fx::AFTER_EXPIRY);
        assert_eq!(code(reg.fetch_model("digits@production", FetchOptions::default()).await), "EXPIRED");
        assert_eq!(code(reg.refresh().await), "EXPIRED");
        let reopened = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        assert_eq!(code(reopened.fetch_model("digits@production", FetchOptions::default()).await), "EXPIRED");
        // The explicit opt-in: cached versions only, reported as expired.
        let mut c = config("good");
        c.allow_expired_offline = true;
        let lenient = open(c, Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        let out = lenient.refresh().await.unwrap();
        assert!(out.offline && out.expired);
        let (bytes, f) = lenient.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!((bytes.as_slice(), f.source, f.expired), (fx::DIGITS_1, Source::Cache, true));
        assert_eq!(code(lenient.fetch_model("digits@2", FetchOptions::default()).await), "EXPIRED");
        // With no stored metadata at all, an unreachable repository is just a network error.
        let fresh = open(config("good"), Rc::clone(&fetch), MemoryStore::new(), &clock).await;
        assert_eq!(code(fresh.refresh().await), "NETWORK");
    }

    async fn expired_metadata_from_the_server_is_refused() {
        let fetch = server("expired", &fx::expired());
        let reg = open(config("expired"), Rc::clone(&fetch), MemoryStore::new(), &clock()).await;
        assert_eq!(code(reg.refresh().await), "EXPIRED");
        assert_eq!(code(reg.fetch_model("digits", FetchOptions::default()).await), "EXPIRED");
    }

    async fn a_rollback_is_refused_from_the_stored_state() {
        let fetch = MemoryFetch::new();
        serve(&fetch, "good", &fx::good());
        serve(&fetch, "rollback", &fx::rollback());
        let fetch = Rc::new(fetch);
        let store = Rc::new(MemoryStore::new());
        let ns = view(Rc::clone(&store), "good");
        let clock = clock();
        let reg = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        reg.refresh().await.unwrap();
        let stored = ns.get("tuf/timestamp.json").await.unwrap();
        // A later visit whose server (at the same URL) serves older, validly signed metadata.
        serve(&fetch, "good", &fx::rollback());
        let later = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        assert_eq!(code(later.refresh().await), "ROLLBACK");
        assert_eq!(ns.get("tuf/timestamp.json").await.unwrap(), stored);
        // A fresh client without that state accepts version 1: the refusal came from the store.
        let fresh = open(config("rollback"), Rc::clone(&fetch), MemoryStore::new(), &clock).await;
        assert_eq!(fresh.refresh().await.unwrap().report.timestamp.version, 1);
    }

    async fn two_clients_of_one_store_loading_one_model_end_with_one_entry() {
        let fetch = server("good", &good());
        let store = Rc::new(MemoryStore::new());
        let ns = view(Rc::clone(&store), "good");
        let clock = clock();
        let mut a_cfg = config("good");
        a_cfg.cache.instance_id = "a".into();
        let mut b_cfg = config("good");
        b_cfg.cache.instance_id = "b".into();
        let a = open(a_cfg, Yielding(Rc::clone(&fetch)), Rc::clone(&store), &clock).await;
        let b = open(b_cfg, Yielding(Rc::clone(&fetch)), Rc::clone(&store), &clock).await;
        a.refresh().await.unwrap();
        b.refresh().await.unwrap();
        fetch.clear_requests();
        let (ra, rb) = futures_util::future::join(
            a.fetch_model("big@1", FetchOptions::default()),
            b.fetch_model("big@1", FetchOptions::default()),
        )
        .await;
        let ((ba, fa), (bb, fb)) = (ra.unwrap(), rb.unwrap());
        assert_eq!((fa.source, fb.source), (Source::Network, Source::Network), "both downloaded");
        assert!(ba == fx::big() && bb == fx::big());
        let big_sha = sha(&fx::big());
        assert_eq!(ns.keys("blob/").await.unwrap(), vec![format!("blob/{big_sha}")]);
        let record: serde_json::Value = serde_json::from_slice(&ns.get(&format!("blob/{big_sha}")).await.unwrap().unwrap()).unwrap();
        let id = record["id"].as_str().unwrap();
        let chunks = ns.keys("chunk/").await.unwrap();
        assert!(!chunks.is_empty());
        assert!(chunks.iter().all(|k| k.starts_with(&format!("chunk/{big_sha}/{id}/"))), "{chunks:?}");
        assert!(ns.keys("stage/").await.unwrap().is_empty());
        assert_eq!(ns.keys("ver/").await.unwrap(), vec!["ver/big/1"]);
        let (_, f) = b.fetch_model("big@1", FetchOptions::default()).await.unwrap();
        assert_eq!(f.source, Source::Cache);
    }

    async fn an_interrupted_download_is_never_served_and_is_collected() {
        let fetch = server("good", &good());
        let store = Rc::new(MemoryStore::new());
        let ns = view(Rc::clone(&store), "good");
        let clock = clock();
        let digest = sha(fx::DIGITS_2);
        // What a tab closed mid-way leaves: a staging record and some chunks, no blob record;
        // and chunks of a download whose staging record was lost.
        let stage = format!(r#"{{"sha256":"{digest}","length":{},"started":{}}}"#, fx::DIGITS_2.len(), fx::NOW);
        ns.put("stage/dead-1", stage.as_bytes()).await.unwrap();
        ns.put(&format!("chunk/{digest}/dead-1/00000000"), &fx::DIGITS_2[..1000]).await.unwrap();
        ns.put(&format!("chunk/{digest}/lost-2/00000000"), &fx::DIGITS_2[..1000]).await.unwrap();
        let reg = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        // The fresh staging record is kept (its download may still be running elsewhere), the
        // orphan chunks are not.
        assert_eq!(ns.keys("stage/").await.unwrap(), vec!["stage/dead-1"]);
        assert_eq!(ns.keys("chunk/").await.unwrap(), vec![format!("chunk/{digest}/dead-1/00000000")]);
        reg.refresh().await.unwrap();
        let (bytes, f) = reg.fetch_model("digits@2", FetchOptions::default()).await.unwrap();
        assert_eq!((bytes.as_slice(), f.source), (fx::DIGITS_2, Source::Network), "partial chunks are never served");
        // An hour and more later the dead download is collected; the committed one stays.
        clock.set(fx::NOW + 2 * 3600);
        let later = open(config("good"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        assert!(ns.keys("stage/").await.unwrap().is_empty());
        assert!(ns.keys(&format!("chunk/{digest}/dead-1/")).await.unwrap().is_empty());
        let (_, f) = later.fetch_model("digits@2", FetchOptions::default()).await.unwrap();
        assert_eq!(f.source, Source::Cache);
    }

    async fn gates_are_checked_on_the_signed_evaluation_set() {
        let eval = include_bytes!("fixtures/models/iris/test.csv");
        let mut b = fx::good_builder();
        for (name, min) in [("iris-ok", "0.9"), ("iris-strict", "0.99"), ("iris-nogate", "")] {
            let mut card = fx::card(include_str!("fixtures/models/iris/card.json"));
            card["name"] = name.into();
            card["files"] = serde_json::json!({"evaluation_set": format!("models/{name}/1/eval.csv")});
            if !min.is_empty() {
                card["gates"] = serde_json::json!([{"metric": "accuracy", "min": min}, {"metric": "log_loss", "max": "1"}]);
            }
            b.add_target(&format!("models/{name}/1/model.onnx"), fx::IRIS, Some(card));
            b.add_target(&format!("models/{name}/1/eval.csv"), eval, None);
        }
        let fetch = server("good", &b.publish().unwrap());
        let reg = open(config("good"), Rc::clone(&fetch), MemoryStore::new(), &clock()).await;
        reg.refresh().await.unwrap();

        let l = app::load(&reg, "iris-ok", LoadOptions::default()).await.unwrap();
        let gates = app::verify_gates(&reg, &l, FetchOptions::default()).await.unwrap();
        assert!(gates.passed);
        let acc = gates.results[0].value.unwrap();
        // 36 of 38 held-out rows: the accuracy the publisher measured with scikit-learn.
        assert!((acc - 0.9473684210526315).abs() < 1e-12, "{acc}");

        let l = app::load(&reg, "iris-strict", LoadOptions::default()).await.unwrap();
        let err = app::verify_gates(&reg, &l, FetchOptions::default()).await.unwrap_err();
        assert_eq!(err.code(), "GATE_FAILED");
        let text = err.to_string();
        assert!(text.contains("accuracy = 0.947") && text.contains("min 0.99"), "{text}");
        assert!(!text.contains("log_loss"), "only failing gates are listed: {text}");

        let l = app::load(&reg, "iris-nogate", LoadOptions::default()).await.unwrap();
        assert_eq!(code(app::verify_gates(&reg, &l, FetchOptions::default()).await), "BAD_CARD");
    }

    async fn a_foreign_registry_written_into_the_store_is_never_trusted() {
        // The genuine registry, used once: its state is in the store.
        let (genuine, store, clock, _) = first_visit().await;
        // The attacker's registry (own keys, root rotated to version 3), fetched through the
        // same URL by a client pinned to the attacker's root, leaves its own trusted state...
        let evil = server("good", &fx::attacker());
        let theirs = Rc::new(MemoryStore::new());
        let att = Registry::open(config("good"), evil, Rc::clone(&theirs), Rc::clone(&clock), &fx::attacker_root())
            .await
            .unwrap();
        assert_eq!(att.refresh().await.unwrap().report.root.version, 3);
        let (bytes, _) = att.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!(bytes, fx::ATTACKER_MODEL);
        // ...which a writer of the store copies wherever a client could read it: into the
        // genuine client's namespace and at the top level.
        plant(&theirs, &store).await;

        // Offline, the genuine client refuses the forged state (it never serves its bytes).
        genuine.set_offline(true);
        let reg = open(config("good"), Rc::clone(&genuine), Rc::clone(&store), &clock).await;
        if let Ok((bytes, _)) = reg.fetch_model("digits@production", FetchOptions::default()).await {
            assert!(bytes == fx::DIGITS_1, "only the genuine bytes, never the attacker's: got sha256 {}", sha(&bytes));
        }
        assert!(reg.catalogue().is_none(), "nothing verifies from the forged state");
        let r = reg.refresh().await;
        assert_eq!(code(r), "SIGNATURE_THRESHOLD");
        // Online, it trusts the pinned root's chain alone and serves the genuine model.
        genuine.set_offline(false);
        let out = reg.refresh().await.unwrap();
        assert_eq!((out.report.root.version, out.report.timestamp.version), (1, 2));
        let (bytes, _) = reg.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!(bytes, fx::DIGITS_1);
        // The refresh replaced the forged metadata: offline again, the genuine state serves.
        genuine.set_offline(true);
        let again = open(config("good"), Rc::clone(&genuine), Rc::clone(&store), &clock).await;
        let (bytes, f) = again.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!((bytes.as_slice(), f.source, f.offline), (fx::DIGITS_1, Source::Cache, true));
        assert_eq!(code(again.fetch_model("digits@9", FetchOptions::default()).await), "MODEL_NOT_FOUND");
    }

    async fn two_pinned_roots_at_one_url_keep_separate_state() {
        // A client of the genuine registry and one of another at the same URL (the server
        // changed hands, or a second registry was fetched through the same URL into the same
        // store): each finds only its own state, online and offline.
        let (genuine, store, clock, _) = first_visit().await;
        let evil = server("good", &fx::attacker());
        let att = Registry::open(config("good"), Rc::clone(&evil), Rc::clone(&store), Rc::clone(&clock), &fx::attacker_root())
            .await
            .unwrap();
        att.refresh().await.unwrap();
        att.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        genuine.set_offline(true);
        evil.set_offline(true);
        let reg = open(config("good"), Rc::clone(&genuine), Rc::clone(&store), &clock).await;
        let out = reg.refresh().await.unwrap();
        assert!(out.offline);
        assert_eq!(out.report.root.version, 1);
        let (bytes, _) = reg.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!(bytes, fx::DIGITS_1);
        let att = Registry::open(config("good"), Rc::clone(&evil), Rc::clone(&store), Rc::clone(&clock), &fx::attacker_root())
            .await
            .unwrap();
        let (bytes, _) = att.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!(bytes, fx::ATTACKER_MODEL);
    }

    async fn a_genuine_root_rotation_chain_is_followed_offline_from_the_pinned_root() {
        let fetch = server("rotated", &fx::rotated());
        let store = Rc::new(MemoryStore::new());
        let clock = clock();
        // Pinned to version 1; the repository rotated 1 -> 2 -> 3 with a new root key each time.
        let reg = open(config("rotated"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        let out = reg.refresh().await.unwrap();
        assert_eq!((out.report.root.version, out.report.root_rotations), (3, 2));
        reg.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        let ns = view(Rc::clone(&store), "rotated");
        assert_eq!(ns.keys("tuf/root/").await.unwrap(), vec!["tuf/root/2.json", "tuf/root/3.json"]);
        // Offline, a new start walks the stored chain 1 -> 2 -> 3 and serves from the cache.
        fetch.set_offline(true);
        let again = open(config("rotated"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        let (bytes, f) = again.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!((bytes.as_slice(), f.source, f.offline), (fx::DIGITS_1, Source::Cache, true));
        let out = again.refresh().await.unwrap();
        assert!(out.offline);
        assert_eq!(out.report.root.version, 3);
        // A link of the chain replaced by anyone else breaks it there: version 2 signed by a
        // key version 1 never named is not followed, and the state signed under 3 is refused.
        let forged = RepoBuilder::new("someone-else", fx::EXPIRES);
        let mut forged = forged;
        forged.commit_root().unwrap();
        ns.put("tuf/root/2.json", &forged.roots()[1]).await.unwrap();
        let broken = open(config("rotated"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        assert!(broken.catalogue().is_none());
        assert_eq!(code(broken.refresh().await), "SIGNATURE_THRESHOLD");
        // Online, the chain is fetched again and repaired.
        fetch.set_offline(false);
        assert_eq!(broken.refresh().await.unwrap().report.root.version, 3);
        assert_eq!(ns.get("tuf/root/2.json").await.unwrap().as_deref(), Some(&fx::rotated().metadata["2.root.json"][..]));
    }

    async fn expired_offline_metadata_is_dated_by_its_own_expiry_not_by_the_store() {
        let (fetch, store, clock, _) = first_visit().await;
        // A writer of the store records a "last refresh" in 2020, where the earlier layout
        // kept one (reg/state.json) and used it as the offline reference time.
        let theirs = MemoryStore::new();
        let state = format!(r#"{{"last_refresh":{}}}"#, fx::PAST);
        theirs.put("reg/state.json", state.as_bytes()).await.unwrap();
        plant(&theirs, &store).await;
        clock.set(fx::AFTER_EXPIRY);
        fetch.set_offline(true);
        let mut c = config("good");
        c.allow_expired_offline = true;
        let lenient = open(c, Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        let out = lenient.refresh().await.unwrap();
        assert!(out.offline && out.expired);
        // Verified as of the last second all of it was valid, from the metadata itself.
        assert_eq!(out.report.reference_time, fx::EXPIRES - 1);
        let (bytes, f) = lenient.fetch_model("digits@production", FetchOptions::default()).await.unwrap();
        assert_eq!((bytes.as_slice(), f.expired), (fx::DIGITS_1, true));
    }

    async fn the_cache_index_is_checked_against_the_verified_catalogue() {
        let (_, store, _, reg) = first_visit().await;
        reg.fetch_model("iris@1", FetchOptions::default()).await.unwrap();
        // Entries a writer of the store adds: a version the registry never signed, and a
        // signed version recorded with another artifact's digest (whose blob is present).
        let ns = view(Rc::clone(&store), "good");
        let iris = sha(fx::IRIS);
        for (key, sha) in [("ver/digits/9", &iris), ("ver/digits/2", &iris)] {
            let rec = format!(r#"{{"sha256":"{sha}","length":{},"path":"x","last_used":{},"seq":99}}"#, fx::IRIS.len(), fx::NOW);
            ns.put(key, rec.as_bytes()).await.unwrap();
        }
        let list = reg.cache_list().await.unwrap();
        let flags: Vec<(String, bool)> = list.iter().map(|e| (format!("{}@{}", e.name, e.version), e.verified)).collect();
        for (entry, verified) in [("digits@1", true), ("iris@1", true), ("digits@9", false), ("digits@2", false)] {
            assert!(flags.contains(&(entry.to_string(), verified)), "{entry}: {flags:?}");
        }
        // What is served is decided by the catalogue, never by the index.
        let (bytes, f) = reg.fetch_model("digits@2", FetchOptions::default()).await.unwrap();
        assert_eq!((bytes.as_slice(), f.source), (fx::DIGITS_2, Source::Network));
    }

    async fn a_rollout_buckets_clients_stickily_and_advances_by_date() {
        let fetch = server("rollout", &fx::rollout());
        let store = Rc::new(MemoryStore::new());
        let clock = clock();
        let mut cfg = config("rollout");
        cfg.new_client_id = Some("device-a".into());
        let reg = open(cfg.clone(), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        reg.refresh().await.unwrap();
        assert_eq!(reg.client_id(), Some("device-a"));
        // The id is kept: a later session with another fresh id keeps the first.
        cfg.new_client_id = Some("device-b".into());
        let again = open(cfg.clone(), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        assert_eq!(again.client_id(), Some("device-a"));
        let mine = reg.resolve("digits@canary").unwrap();
        assert_eq!(again.resolve("digits@canary").unwrap().model.version, mine.model.version);
        // The app's id wins over the stored one.
        cfg.client_id = Some("user-42".into());
        let app_id = open(cfg, Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        assert_eq!(app_id.client_id(), Some("user-42"));
        // A malformed id another writer left in the store is replaced by a fresh one.
        let foreign = Rc::new(MemoryStore::new());
        view(Rc::clone(&foreign), "rollout").put("client-id", b"bad\x00id").await.unwrap();
        let mut cfg = config("rollout");
        cfg.new_client_id = Some("device-c".into());
        let fixed = open(cfg, Rc::clone(&fetch), Rc::clone(&foreign), &clock).await;
        assert_eq!(fixed.client_id(), Some("device-c"));
        assert_eq!(view(foreign, "rollout").get("client-id").await.unwrap().as_deref(), Some(&b"device-c"[..]));

        // Stage 1 (50 %): 400 ids split near half and half (5 standard deviations: 0.125).
        let share = |reg: &Reg<Rc<MemoryFetch>, Rc<MemoryStore>>| {
            (0..400)
                .filter(|i| {
                    let r = reg.resolve_as("digits@canary", Some(&format!("id-{i}"))).unwrap();
                    let c = r.rollout.unwrap();
                    assert_eq!(c.chosen, r.model.version);
                    r.model.version == "2"
                })
                .count() as f64
                / 400.0
        };
        let half = share(&reg);
        assert!((half - 0.5).abs() < 0.125, "{half}");
        // Sticky: the same ids, the same versions.
        assert_eq!(share(&reg), half);
        // Exact versions never go through a rollout; nor does a client without an id.
        assert_eq!(reg.resolve_as("digits@1", Some("id-1")).unwrap().rollout, None);
        // Stage 2 by date: everyone on 2. Before stage 1: everyone on 1.
        clock.set(fx::ROLLOUT_STAGE_2);
        assert_eq!(share(&reg), 1.0);
        clock.set(fx::ROLLOUT_STAGE_1 - 1);
        assert_eq!(share(&reg), 0.0);
        let r = reg.resolve_as("digits@canary", Some("x")).unwrap();
        assert_eq!(r.rollout.unwrap().stage, None);
        clock.set(fx::NOW);
        // What the registry without a rollout gives is the alias's version, unchanged.
        let plain = server("good", &good());
        let old = open(config("good"), plain, MemoryStore::new(), &clock).await;
        old.refresh().await.unwrap();
        assert_eq!(old.resolve("digits@production").unwrap().rollout, None);
    }

    async fn a_gated_candidate_that_fails_on_the_device_rolls_back_to_the_baseline() {
        let fetch = server("rollout", &fx::rollout());
        let store = Rc::new(MemoryStore::new());
        let clock = clock();
        let reg = open(config("rollout"), Rc::clone(&fetch), Rc::clone(&store), &clock).await;
        reg.refresh().await.unwrap();
        // A client the rollout sends to the candidate.
        let id = (0..100)
            .map(|i| format!("id-{i}"))
            .find(|id| reg.resolve_as("digits@production", Some(id)).unwrap().model.version == "2")
            .unwrap();
        let heard = RefCell::new(Vec::new());
        let on_rollback = |c: &edge_registry::catalogue::RolloutChoice| heard.borrow_mut().push(c.clone());
        let opts = LoadOptions { client_id: Some(&id), on_rollback: Some(&on_rollback), ..LoadOptions::default() };
        let l = app::load(&reg, "digits@production", opts).await.unwrap();
        assert_eq!(l.fetched.version, "1", "back on the baseline");
        assert_eq!(l.fetched.sha256, sha(fx::DIGITS_1));
        let choice = l.fetched.rollout.clone().unwrap();
        let rb = choice.rollback.clone().unwrap();
        assert_eq!((choice.chosen.as_str(), rb.from.as_str(), rb.code.as_str()), ("1", "2", "GATE_FAILED"));
        assert!(rb.reason.contains("accuracy") && !rb.remembered, "{rb:?}");
        assert_eq!(heard.borrow().len(), 1);
        // Remembered: the candidate is not downloaded or checked again.
        fetch.clear_requests();
        let l = app::load(&reg, "digits@production", opts).await.unwrap();
        assert_eq!(l.fetched.version, "1");
        assert!(l.fetched.rollout.unwrap().rollback.unwrap().remembered);
        assert!(!target_requests(&fetch).iter().any(|u| u.contains("/2/")), "{:?}", fetch.requests());
        // Without a gate the same client runs the candidate.
        let l = app::load(&reg, "digits@canary", opts).await.unwrap();
        assert_eq!(l.fetched.version, "2");
        assert_eq!(l.fetched.rollout.unwrap().rollback, None);
        assert_eq!(heard.borrow().len(), 2);
        // A record another writer put in the store can only keep a client on the baseline; a
        // malformed one is ignored (the candidate is checked, fails and is recorded anew).
        let other = (0..200)
            .map(|i| format!("other-{i}"))
            .find(|id| reg.resolve_as("digits@production", Some(id)).unwrap().model.version == "2")
            .unwrap();
        let ns = view(Rc::clone(&store), "rollout");
        ns.put(&format!("rollback/{}", sha(fx::DIGITS_2)), b"{not json").await.unwrap();
        let opts = LoadOptions { client_id: Some(&other), ..LoadOptions::default() };
        let l = app::load(&reg, "digits@production", opts).await.unwrap();
        let rb = l.fetched.rollout.unwrap().rollback.unwrap();
        assert_eq!((l.fetched.version.as_str(), rb.remembered), ("1", false));
        // A client on the baseline by its bucket loads it with no gate check and no rollback.
        let base = (0..100)
            .map(|i| format!("id-{i}"))
            .find(|id| reg.resolve_as("digits@production", Some(id)).unwrap().model.version == "1")
            .unwrap();
        let opts = LoadOptions { client_id: Some(&base), ..LoadOptions::default() };
        let l = app::load(&reg, "digits@production", opts).await.unwrap();
        assert_eq!((l.fetched.version.as_str(), l.gates.is_none()), ("1", true));
        assert_eq!(l.fetched.rollout.unwrap().rollback, None);
    }

    async fn a_tampered_rollout_document_is_refused_like_any_target() {
        let mut p = fx::rollout();
        let forged = fx::ROLLOUT_ALIASES.replace(r#""1": 50, "2": 50"#, r#""2": 100"#);
        fx::replace_served(&mut p, "models/digits/aliases.json", fx::ROLLOUT_ALIASES.as_bytes(), forged.into_bytes());
        let fetch = server("rollout", &p);
        let reg = open(config("rollout"), fetch, MemoryStore::new(), &clock()).await;
        reg.refresh().await.unwrap();
        assert_eq!(code(reg.resolve_as("digits@canary", Some("x"))), "ALIASES_UNAVAILABLE");
        assert_eq!(code(reg.resolve("digits")), "ALIASES_UNAVAILABLE");
        assert_eq!(reg.resolve("digits@2").unwrap().model.version, "2");
        let cat = reg.catalogue().unwrap();
        assert!(cat.problems.iter().any(|p| p.contains("aliases.json")), "{:?}", cat.problems);
    }

    async fn load_checks_the_model_against_its_card() {
        let mut b = fx::good_builder();
        let mut wrong = fx::card(include_str!("fixtures/models/digits-v1/card.json"));
        wrong["name"] = "liar".into();
        b.add_target("models/liar/1/model.onnx", fx::IRIS, Some(wrong));
        let fetch = server("good", &b.publish().unwrap());
        let reg = open(config("good"), Rc::clone(&fetch), MemoryStore::new(), &clock()).await;
        reg.refresh().await.unwrap();
        let app::LoadedModel { model, fetched: f, .. } =
            app::load(&reg, "iris", LoadOptions::default()).await.unwrap();
        assert_eq!(f.version, "1");
        assert_eq!(model.schema().inputs[0].name, "input");
        let out = model
            .run(vec![edge_registry::engine::NamedTensor {
                name: "input".into(),
                tensor: edge_registry::engine::Tensor::new(
                    vec![1, 4],
                    edge_registry::engine::TensorData::F32(vec![5.1, 3.5, 1.4, 0.2]),
                ),
            }])
            .unwrap();
        assert!(!out.is_empty());
        assert_eq!(code(app::load(&reg, "liar", LoadOptions::default()).await.map(|_| ())), "SCHEMA_MISMATCH");
        assert_eq!(code(app::load(&reg, "pad@1", LoadOptions::default()).await.map(|_| ())), "BAD_CARD");
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_file_store_keeps_verified_models_across_clients() {
    use edge_registry::store::fs::FsStore;
    let dir = tempfile::tempdir().unwrap();
    let fetch = server("good", &good());
    let clock = clock();
    pollster::block_on(async {
        let reg = open(
            config("good"),
            Rc::clone(&fetch),
            FsStore::new(dir.path()).unwrap(),
            &clock,
        )
        .await;
        reg.refresh().await.unwrap();
        let (_, f) = reg
            .fetch_model("digits@2", FetchOptions::default())
            .await
            .unwrap();
        assert_eq!(f.source, Source::Network);
        fetch.clear_requests();
        let again = open(
            config("good"),
            Rc::clone(&fetch),
            FsStore::new(dir.path()).unwrap(),
            &clock,
        )
        .await;
        let (bytes, f) = again
            .fetch_model("digits@2", FetchOptions::default())
            .await
            .unwrap();
        assert_eq!((bytes.as_slice(), f.source), (fx::DIGITS_2, Source::Cache));
        assert!(fetch.requests().is_empty());
    });
}

/// `FixedClock` plus seconds (the tests move time forward between uses for a clear LRU order).
trait NowPlus {
    fn now_plus(&self, secs: i64) -> i64;
}

impl NowPlus for FixedClock {
    fn now_plus(&self, secs: i64) -> i64 {
        use edge_registry::clock::Clock;
        self.now() + secs
    }
}
