//! The verified-artifact cache over a [`Store`] (`DESIGN.md` section 3).
//!
//! Layout (all keys chosen here, never by the network; names and versions are checked by the
//! catalogue, digests are 64 lower-case hex characters). Every key is under the registry's
//! namespace (`r/<anchor>/`, see [`crate::registry::namespace`]), which the store view the
//! cache is given adds:
//!
//! ```text
//! tuf/<role>.json                 trusted metadata, byte for byte (written by the TUF updater)
//! tuf/root/<N>.json               every trusted root version, walked from the pinned root
//! alias/<sha256>                  verified aliases documents, content-addressed
//! blob/<sha256>                   a complete, verified artifact: length, chunk size, chunk count,
//!                                 and the download id its chunks were written under
//! chunk/<sha256>/<id>/<n>         the artifact's bytes, in chunks of `chunk_bytes` (4 MiB)
//! stage/<id>                      a download being written (its chunks are not visible yet)
//! ver/<name>/<version>            a cached version: its digest, length, last use
//! pin/<name>/<version>            a pinned version (never evicted)
//! ```
//!
//! Guarantees:
//! - **Content-addressed, re-checked on read.** A blob is found by the signed SHA-256 and
//!   every read checks its chunks against the signed length as they are read and the bytes
//!   against the signed digest (hashed as they stream, or as a whole where the host's
//!   WebCrypto is faster); a blob that fails is discarded and the caller downloads again.
//! - **Nothing partial is ever servable.** Chunks are written under a per-download id that only
//!   a `blob/<sha256>` record makes visible, and that record is committed (with the version
//!   entry and the removal of the staging record) in one [`Store::commit_if`] after every chunk
//!   is written, and only for bytes already verified (chunks themselves may be written while
//!   the download still arrives, [`Cache::write_behind`], so they are not verified until that
//!   record commits). A crash, a closed tab or an abort leaves at most a staging record and
//!   chunks nothing points to, which [`Cache::gc`] removes.
//! - **One entry per digest, whoever wins.** The record is written only if absent
//!   (compare-and-set), so two clients of one database downloading the same artifact end with
//!   one record; the loser deletes its own chunks. A concurrent download can never replace a
//!   verified blob.
//! - **Quota before download.** [`Cache::ensure_space`] compares the signed length with the
//!   configured limit and the platform's estimate, evicts least-recently-used unpinned versions
//!   only if that makes it fit, and otherwise fails with `QUOTA` having changed nothing.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::abort::AbortFlag;
use super::output::ArtifactOut;
use super::RegistryError;
use crate::catalogue::VersionId;
use crate::clock::{Clock, UnixSeconds};
use crate::digest::{check_digest, LengthCheck, Sha256Digest, Sha256Hasher};
use crate::store::{Op, StorageEstimate, Store, StoreError};

/// Prefix of the trusted TUF metadata.
pub const TUF_PREFIX: &str = "tuf/";
const ALIAS: &str = "alias/";
/// Small signed files kept for offline use (a model's author-signature bundle), by SHA-256.
const FILE: &str = "file/";
const BLOB: &str = "blob/";
const CHUNK: &str = "chunk/";
/// Bytes of chunks written per store transaction.
const WRITE_BATCH_BYTES: u64 = 16 << 20;
/// Bytes of chunks per transaction written while a download still arrives.
const WRITE_BEHIND_BATCH_BYTES: u64 = 4 << 20;
const STAGE: &str = "stage/";
const VER: &str = "ver/";
const PIN: &str = "pin/";

/// Cache settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Size of the chunks artifacts are stored in (default 4 MiB).
    pub chunk_bytes: u64,
    /// Most bytes of artifacts the cache may hold (`None`: only the platform's estimate
    /// limits it).
    pub max_bytes: Option<u64>,
    /// A staging record older than this (seconds) belongs to a download that died; its chunks
    /// are removed by [`Cache::gc`] (default one hour).
    pub stale_staging_secs: i64,
    /// Distinguishes this client's download ids from other clients' of the same database
    /// (a random string from the host; uniqueness is enforced by compare-and-set anyway).
    pub instance_id: String,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            chunk_bytes: 4 << 20,
            max_bytes: None,
            stale_staging_secs: 3600,
            instance_id: "client".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct BlobRecord {
    length: u64,
    chunk_size: u64,
    chunks: u64,
    id: String,
    created: UnixSeconds,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StageRecord {
    sha256: String,
    length: u64,
    started: UnixSeconds,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VersionRecord {
    sha256: String,
    length: u64,
    path: String,
    last_used: UnixSeconds,
    seq: u64,
}

/// One version as [`Cache::list`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheEntry {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: String,
    /// The artifact's SHA-256 (empty for a pin of a version not cached).
    pub sha256: String,
    /// Its length in bytes (0 when not cached).
    pub bytes: u64,
    /// Last use, Unix seconds (0 when not cached).
    pub last_used: UnixSeconds,
    /// Whether it is pinned.
    pub pinned: bool,
    /// Whether its bytes are in the cache (a pin may name a version not downloaded yet).
    pub cached: bool,
    /// Whether the current verified catalogue signs this `name@version` with this SHA-256
    /// and length ([`crate::registry::Registry::cache_list`] decides; [`Cache::list`], which
    /// sees only the store, always says `false`). The index is written by this client but
    /// readable and writable by anyone who can write the store, so only this flag, derived
    /// from verified metadata, says an entry is what it claims.
    pub verified: bool,
}

/// How much the cache holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheUsage {
    /// Bytes of artifacts held (each distinct digest once).
    pub bytes: u64,
    /// Distinct artifacts.
    pub blobs: usize,
    /// Cached versions.
    pub versions: usize,
    /// The configured limit.
    pub limit: Option<u64>,
    /// The platform's estimate (all storage of the origin), where there is one.
    pub estimate: Option<StorageEstimate>,
}

/// What [`Cache::gc`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Chunks of dead or lost downloads.
    pub chunks: usize,
    /// Staging records of dead downloads.
    pub stages: usize,
    /// Version entries whose artifact is gone.
    pub versions: usize,
    /// Artifacts no version uses.
    pub blobs: usize,
}

/// The outcome of reading a cached artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobRead {
    /// Read and verified.
    Hit,
    /// Not cached.
    Miss,
    /// Cached but wrong (tampered, truncated, a chunk missing): discarded. The reason.
    Corrupt(String),
}

/// How a verified download was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Its chunks became the artifact's blob.
    New,
    /// Another client committed the same digest first; that blob is used and this download's
    /// chunks were deleted.
    Existing,
}

fn blob_key(sha: &str) -> String {
    format!("{BLOB}{sha}")
}

fn chunk_prefix(sha: &str, id: &str) -> String {
    format!("{CHUNK}{sha}/{id}/")
}

fn chunk_key(sha: &str, id: &str, n: u64) -> String {
    format!("{CHUNK}{sha}/{id}/{n:08}")
}

fn ver_key(name: &str, version: &str) -> String {
    format!("{VER}{name}/{version}")
}

fn pin_key(name: &str, version: &str) -> String {
    format!("{PIN}{name}/{version}")
}

fn split_pair(rest: &str) -> Option<(String, String)> {
    let (a, b) = rest.split_once('/')?;
    Some((a.to_string(), b.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

/// Bytes of chunk `i` (of `chunk` bytes; the last one shorter) of an artifact of `length` bytes
/// in `out`.
fn chunk_bytes<'a>(
    out: &'a dyn ArtifactOut,
    i: u64,
    chunk: u64,
    length: u64,
    scratch: &'a mut Vec<u8>,
) -> Result<&'a [u8], RegistryError> {
    let start = i.saturating_mul(chunk);
    let end = start.saturating_add(chunk).min(length);
    let (Ok(s), Ok(e)) = (usize::try_from(start), usize::try_from(end)) else {
        return Err(RegistryError::TooLarge {
            what: "artifact".into(),
            length,
            limit: usize::MAX as u64,
        });
    };
    let bytes = out.slice(s, e, scratch);
    if bytes.len() != e.saturating_sub(s) {
        return Err(RegistryError::NotReady {
            reason: "the output buffer lost bytes".into(),
        });
    }
    Ok(bytes)
}

/// A download whose chunks are written while it arrives ([`Cache::stage_behind`]).
pub struct StagedWrites {
    id: String,
    sha: String,
    length: u64,
    chunk: u64,
    /// Chunks per store transaction.
    batch: u64,
    /// The first chunk not handed to the store yet.
    next: u64,
    pending: Vec<crate::store::PendingCommit>,
    failed: Option<RegistryError>,
    scratch: Vec<Vec<u8>>,
}

impl std::fmt::Debug for StagedWrites {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedWrites")
            .field("id", &self.id)
            .field("next", &self.next)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serialising plain structs of strings and integers cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

/// The cache. See the module documentation.
#[derive(Debug)]
pub struct Cache<S: Store, C: Clock> {
    store: Rc<S>,
    clock: Rc<C>,
    config: CacheConfig,
    seq: Cell<u64>,
    counter: Cell<u64>,
}

impl<S: Store, C: Clock> Cache<S, C> {
    /// A cache over `store`.
    pub fn new(store: Rc<S>, clock: Rc<C>, config: CacheConfig) -> Self {
        Cache {
            store,
            clock,
            config,
            seq: Cell::new(0),
            counter: Cell::new(0),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Reads the use counter from the stored entries (call once after opening).
    pub async fn init(&self) -> Result<(), StoreError> {
        let max = self
            .versions()
            .await?
            .iter()
            .map(|(_, _, r, _)| r.seq)
            .max()
            .unwrap_or(0);
        self.seq.set(self.seq.get().max(max));
        Ok(())
    }

    fn next_seq(&self) -> u64 {
        let s = self.seq.get().saturating_add(1);
        self.seq.set(s);
        s
    }

    /// A stored aliases document with this digest and length, re-hashed.
    pub async fn get_alias_doc(
        &self,
        sha: &str,
        length: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_hashed(ALIAS, sha, length).await
    }

    /// The bytes under `prefix` + `sha` if they have this length and digest (the store is
    /// untrusted: anything else is as good as absent).
    async fn get_hashed(
        &self,
        prefix: &str,
        sha: &str,
        length: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(bytes) = self.store.get(&format!("{prefix}{sha}")).await? else {
            return Ok(None);
        };
        let ok = u64::try_from(bytes.len()).ok() == Some(length)
            && Sha256Digest::of(&bytes).to_hex() == sha;
        Ok(ok.then_some(bytes))
    }

    /// A stored small signed file (a model's author-signature bundle) with this digest and
    /// length, re-hashed.
    pub async fn get_signed_file(
        &self,
        sha: &str,
        length: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_hashed(FILE, sha, length).await
    }

    /// Stores a small signed file that verified against its signed hash.
    pub async fn put_signed_file(&self, sha: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.store.put(&format!("{FILE}{sha}"), bytes).await
    }

    /// Stores a verified aliases document.
    pub async fn put_alias_doc(&self, sha: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.store.put(&format!("{ALIAS}{sha}"), bytes).await
    }

    /// Deletes stored aliases documents not in `keep`.
    pub async fn prune_alias_docs(&self, keep: &BTreeSet<String>) -> Result<(), StoreError> {
        let old: Vec<String> = self
            .store
            .keys(ALIAS)
            .await?
            .into_iter()
            .filter(|k| !keep.contains(&k[ALIAS.len()..]))
            .collect();
        if old.is_empty() {
            return Ok(());
        }
        let ops: Vec<Op<'_>> = old.iter().map(|k| Op::Delete(k)).collect();
        self.store.commit(&ops).await
    }

    async fn versions(&self) -> Result<Vec<(String, String, VersionRecord, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for key in self.store.keys(VER).await? {
            let Some((name, version)) = split_pair(&key[VER.len()..]) else {
                continue;
            };
            let Some(bytes) = self.store.get(&key).await? else {
                continue;
            };
            if let Some(r) = parse::<VersionRecord>(&bytes) {
                out.push((name, version, r, bytes));
            }
        }
        Ok(out)
    }

    async fn pins(&self) -> Result<BTreeSet<(String, String)>, StoreError> {
        Ok(self
            .store
            .keys(PIN)
            .await?
            .iter()
            .filter_map(|k| split_pair(&k[PIN.len()..]))
            .collect())
    }

    async fn blobs(&self) -> Result<BTreeMap<String, (BlobRecord, Vec<u8>)>, StoreError> {
        let mut out = BTreeMap::new();
        for key in self.store.keys(BLOB).await? {
            let Some(bytes) = self.store.get(&key).await? else {
                continue;
            };
            let sha = key[BLOB.len()..].to_string();
            match parse::<BlobRecord>(&bytes) {
                Some(r) => {
                    out.insert(sha, (r, bytes));
                }
                None => {
                    // An unreadable record serves nothing; remove it (only if unchanged).
                    let _ = self
                        .store
                        .commit_if(&key, Some(&bytes), &[Op::Delete(&key)])
                        .await?;
                }
            }
        }
        Ok(out)
    }

    /// Reads the cached artifact `sha` (exactly `length` bytes) into `out`, reporting the bytes
    /// read so far, and verifies the length and digest: the chunks' hash as they are read, or,
    /// where `out` digests a whole buffer faster ([`ArtifactOut::digests_whole`]), the length
    /// as they are read and the digest of the whole. On [`BlobRead::Corrupt`] the blob has
    /// been discarded and whatever `out` received must be thrown away.
    pub async fn read_blob(
        &self,
        sha: &str,
        length: u64,
        out: &mut dyn ArtifactOut,
        progress: &dyn Fn(u64),
    ) -> Result<BlobRead, StoreError> {
        let key = blob_key(sha);
        let Some(rec_bytes) = self.store.get(&key).await? else {
            return Ok(BlobRead::Miss);
        };
        let reason = match self
            .verify_chunks(sha, length, &rec_bytes, out, progress)
            .await?
        {
            None => return Ok(BlobRead::Hit),
            Some(reason) => reason,
        };
        self.discard_blob(sha, &rec_bytes).await?;
        Ok(BlobRead::Corrupt(reason))
    }

    async fn verify_chunks(
        &self,
        sha: &str,
        length: u64,
        rec_bytes: &[u8],
        out: &mut dyn ArtifactOut,
        progress: &dyn Fn(u64),
    ) -> Result<Option<String>, StoreError> {
        let Some(rec) = parse::<BlobRecord>(rec_bytes) else {
            return Ok(Some("unreadable blob record".into()));
        };
        if rec.length != length {
            return Ok(Some(format!(
                "record says {} bytes, the signed length is {length}",
                rec.length
            )));
        }
        let Ok(digest) = Sha256Digest::from_hex(sha) else {
            return Ok(Some("not a sha256 digest".into()));
        };
        let mut len = LengthCheck::new(length);
        let mut hasher = (!out.digests_whole()).then(Sha256Hasher::new);
        // A record's chunk count is untrusted: no more keys than the signed length can fill.
        let most = length.div_ceil(rec.chunk_size.max(1)).max(1);
        if rec.chunks > most {
            return Ok(Some(format!(
                "record names {} chunks, more than {most} of {} bytes",
                rec.chunks, rec.chunk_size
            )));
        }
        let mut n = 0;
        let mut problem = None;
        // The keys a batch at a time: a record may name many small chunks.
        while n < rec.chunks && problem.is_none() {
            let to = n.saturating_add(64).min(rec.chunks);
            let keys: Vec<String> = (n..to).map(|i| chunk_key(sha, &rec.id, i)).collect();
            let mut visit = |chunk: Option<Vec<u8>>| {
                let Some(chunk) = chunk else {
                    problem = Some(format!("chunk {n} of {} is missing", rec.chunks));
                    return false;
                };
                if let Err(e) = len.update(&chunk) {
                    problem = Some(e.to_string());
                    return false;
                }
                if let Some(h) = &mut hasher {
                    h.update(&chunk);
                }
                out.push(&chunk);
                progress(len.bytes_seen());
                n += 1;
                true
            };
            self.store.get_each(&keys, &mut visit).await?;
            if problem.is_none() && n < to {
                problem = Some(format!("chunk {n} of {} was not read", rec.chunks));
            }
        }
        if problem.is_some() {
            return Ok(problem);
        }
        if let Err(e) = len.finish() {
            return Ok(Some(e.to_string()));
        }
        let actual = match hasher {
            Some(h) => h.finish(),
            None => out.sha256().await,
        };
        Ok(check_digest(digest, actual).err().map(|e| e.to_string()))
    }

    /// Removes a blob whose record is still `rec_bytes`, and its chunks.
    async fn discard_blob(&self, sha: &str, rec_bytes: &[u8]) -> Result<bool, StoreError> {
        let key = blob_key(sha);
        let chunks = match parse::<BlobRecord>(rec_bytes) {
            Some(r) => self.store.keys(&chunk_prefix(sha, &r.id)).await?,
            None => Vec::new(),
        };
        let mut ops: Vec<Op<'_>> = vec![Op::Delete(&key)];
        ops.extend(chunks.iter().map(|k| Op::Delete(k)));
        self.store.commit_if(&key, Some(rec_bytes), &ops).await
    }

    /// Marks `name@version` (artifact `sha`) as used now, creating its entry if needed.
    pub async fn touch(
        &self,
        name: &str,
        version: &str,
        sha: &str,
        length: u64,
        path: &str,
    ) -> Result<(), StoreError> {
        let key = ver_key(name, version);
        let old = self.store.get(&key).await?;
        let rec = VersionRecord {
            sha256: sha.to_string(),
            length,
            path: path.to_string(),
            last_used: self.clock.now(),
            seq: self.next_seq(),
        };
        let bytes = json(&rec);
        // Lost races (another client touched or evicted it meanwhile) are harmless.
        if self
            .store
            .commit_if(&key, old.as_deref(), &[Op::Put(&key, &bytes)])
            .await?
        {
            if let Some(prev) = old.as_deref().and_then(parse::<VersionRecord>) {
                if prev.sha256 != sha {
                    self.release_blob(&prev.sha256).await?;
                }
            }
        }
        Ok(())
    }

    /// Deletes the blob `sha` when no version entry refers to it any more.
    async fn release_blob(&self, sha: &str) -> Result<(), StoreError> {
        if self
            .versions()
            .await?
            .iter()
            .any(|(_, _, r, _)| r.sha256 == sha)
        {
            return Ok(());
        }
        if let Some(rec) = self.store.get(&blob_key(sha)).await? {
            self.discard_blob(sha, &rec).await?;
        }
        Ok(())
    }

    /// Makes room for `needed` bytes before a download (see the module documentation). Never
    /// evicts pinned versions or versions of `keep_sha`. Returns the evicted versions.
    pub async fn ensure_space(
        &self,
        needed: u64,
        keep_sha: &str,
    ) -> Result<Vec<VersionId>, RegistryError> {
        let blobs = self.blobs().await?;
        let ours: u64 = blobs.values().map(|(r, _)| r.length).sum();
        let estimate = self.store.estimate().await.ok().flatten();
        let limit_room = self.config.max_bytes.map(|m| m.saturating_sub(ours));
        let platform_room = estimate.map(|e: StorageEstimate| e.available());
        let fits = |freed: u64| {
            limit_room.is_none_or(|r| needed <= r.saturating_add(freed))
                && platform_room.is_none_or(|r| needed <= r.saturating_add(freed))
        };
        if fits(0) {
            return Ok(Vec::new());
        }
        let versions = self.versions().await?;
        let pins = self.pins().await?;
        let mut refs: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, _, r, _) in &versions {
            *refs.entry(r.sha256.as_str()).or_default() += 1;
        }
        // Blobs no version uses are freed first, then versions from least recently used.
        let mut freed: u64 = blobs
            .iter()
            .filter(|(sha, _)| !refs.contains_key(sha.as_str()) && sha.as_str() != keep_sha)
            .map(|(_, (r, _))| r.length)
            .sum();
        let mut candidates: Vec<&(String, String, VersionRecord, Vec<u8>)> = versions
            .iter()
            .filter(|(n, v, r, _)| !pins.contains(&(n.clone(), v.clone())) && r.sha256 != keep_sha)
            .collect();
        candidates.sort_by_key(|(_, _, r, _)| (r.last_used, r.seq));
        let mut chosen = Vec::new();
        for c in candidates {
            if fits(freed) {
                break;
            }
            let (_, _, r, _) = c;
            if let Some(count) = refs.get_mut(r.sha256.as_str()) {
                *count -= 1;
                if *count == 0 {
                    freed += blobs.get(&r.sha256).map_or(0, |(b, _)| b.length);
                }
            }
            chosen.push(c);
        }
        if !fits(freed) {
            let available = [limit_room, platform_room]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(u64::MAX)
                .saturating_add(freed);
            let detail = match (self.config.max_bytes, estimate) {
                (Some(m), _) if limit_room.is_some_and(|r| needed > r.saturating_add(freed)) => {
                    format!("cache limit {m} bytes, {ours} in use")
                }
                (_, Some(e)) => format!(
                    "the platform estimates {} bytes left of {}",
                    e.available(),
                    e.quota
                ),
                _ => "no room".into(),
            };
            return Err(RegistryError::Quota {
                needed,
                available,
                detail,
            });
        }
        let mut evicted = Vec::new();
        for (sha, (_, rec_bytes)) in &blobs {
            if !refs.contains_key(sha.as_str()) && sha.as_str() != keep_sha {
                self.discard_blob(sha, rec_bytes).await?;
            }
        }
        for (name, version, r, bytes) in chosen {
            let key = ver_key(name, version);
            if self
                .store
                .commit_if(&key, Some(bytes), &[Op::Delete(&key)])
                .await?
            {
                self.release_blob(&r.sha256).await?;
                evicted.push(VersionId {
                    name: name.clone(),
                    version: version.clone(),
                });
            }
        }
        Ok(evicted)
    }

    async fn new_stage(&self, sha: &str, length: u64) -> Result<String, StoreError> {
        let rec = json(&StageRecord {
            sha256: sha.to_string(),
            length,
            started: self.clock.now(),
        });
        loop {
            let n = self.counter.get().saturating_add(1);
            self.counter.set(n);
            let id = format!("{}-{}-{n}", self.config.instance_id, self.clock.now());
            let key = format!("{STAGE}{id}");
            if self
                .store
                .commit_if(&key, None, &[Op::Put(&key, &rec)])
                .await?
            {
                return Ok(id);
            }
        }
    }

    /// Writes verified bytes (`out`, exactly `length` bytes with digest `sha`) as the cached
    /// artifact of `name@version`: chunks under a fresh staging id, then one compare-and-set
    /// commit of the blob record, the version entry and the end of staging. On any error
    /// (including `abort`) the chunks written so far are deleted.
    #[allow(clippy::too_many_arguments)]
    pub async fn stage_and_commit(
        &self,
        sha: &str,
        length: u64,
        name: &str,
        version: &str,
        path: &str,
        out: &dyn ArtifactOut,
        abort: Option<&AbortFlag>,
    ) -> Result<Committed, RegistryError> {
        let staged = self.open_stage(sha, length).await?;
        self.commit_staged(staged, out, name, version, path, abort)
            .await
    }

    /// Where the store starts writes without being polled ([`Store::start_commit`]: IndexedDB,
    /// memory), opens a staging id for a download of `sha` that is about to start, so its
    /// chunks are written while the rest still arrives ([`Cache::write_behind`]) instead of
    /// after the last byte. `None`: the store cannot; use [`Cache::stage_and_commit`].
    pub async fn stage_behind(
        &self,
        sha: &str,
        length: u64,
    ) -> Result<Option<StagedWrites>, RegistryError> {
        if self.store.start_commit(&[]).is_none() {
            return Ok(None);
        }
        Ok(Some(self.open_stage(sha, length).await?))
    }

    /// A fresh staging id for a download of `sha`, nothing written under it yet.
    async fn open_stage(&self, sha: &str, length: u64) -> Result<StagedWrites, RegistryError> {
        let id = self.new_stage(sha, length).await?;
        let chunk = self.config.chunk_bytes.max(1);
        Ok(StagedWrites {
            id,
            sha: sha.to_string(),
            length,
            chunk,
            // A small first batch starts the store's work early; later ones amortise its
            // per-transaction cost.
            batch: (WRITE_BEHIND_BATCH_BYTES / chunk).clamp(1, 64),
            next: 0,
            pending: Vec::new(),
            failed: None,
            scratch: Vec::new(),
        })
    }

    /// Hands the store the next batch of whole chunks among the first `have` bytes of `out`,
    /// unless its previous batch is still being written (where bytes arrive faster than the
    /// store writes, as from a nearby server, the rest waits for [`Cache::commit_staged`]
    /// rather than competing with the download for the thread). The bytes are not verified
    /// yet: they go under the staging id, which nothing reads until the blob record commits.
    pub fn write_behind(&self, staged: &mut StagedWrites, out: &dyn ArtifactOut, have: u64) {
        let s = staged;
        let whole = (have / s.chunk).min(s.length / s.chunk);
        loop {
            // Collect the batches the store has finished.
            let mut i = 0;
            while let Some(p) = s.pending.get_mut(i) {
                match futures_util::FutureExt::now_or_never(p) {
                    None => i += 1,
                    Some(r) => {
                        if let (Err(e), None) = (r, &s.failed) {
                            s.failed = Some(e.into());
                        }
                        drop(s.pending.swap_remove(i));
                    }
                }
            }
            if s.failed.is_some() || !s.pending.is_empty() || s.next.saturating_add(s.batch) > whole
            {
                return;
            }
            let to = s.next.saturating_add(s.batch);
            let keys: Vec<String> = (s.next..to).map(|i| chunk_key(&s.sha, &s.id, i)).collect();
            s.scratch.resize_with(keys.len(), Vec::new);
            let mut ops = Vec::with_capacity(keys.len());
            for ((i, key), buf) in (s.next..to).zip(&keys).zip(s.scratch.iter_mut()) {
                match chunk_bytes(out, i, s.chunk, s.length, buf) {
                    Ok(bytes) => ops.push(Op::Put(key, bytes)),
                    Err(e) => {
                        s.failed = Some(e);
                        return;
                    }
                }
            }
            match self.store.start_commit(&ops) {
                Some(pending) => s.pending.push(pending),
                None => {
                    s.failed = Some(RegistryError::NotReady {
                        reason: "the store stopped starting writes".into(),
                    });
                    return;
                }
            }
            s.next = to;
        }
    }

    /// Ends a staged download whose bytes (in `out`) are verified: waits for the chunk
    /// writes started during the download, writes the rest, then commits the blob record,
    /// the version entry and the end of staging as [`Cache::stage_and_commit`] does. On any
    /// error (including `abort`) the staged chunks are deleted.
    pub async fn commit_staged(
        &self,
        staged: StagedWrites,
        out: &dyn ArtifactOut,
        name: &str,
        version: &str,
        path: &str,
        abort: Option<&AbortFlag>,
    ) -> Result<Committed, RegistryError> {
        let StagedWrites {
            id,
            sha,
            length,
            next,
            pending,
            failed,
            ..
        } = staged;
        let mut result = failed.map_or(Ok(()), Err);
        for p in pending {
            // Every started write is awaited, also after an error: its listeners live in the
            // future until the transaction ends.
            if let (Err(e), true) = (p.await, result.is_ok()) {
                result = Err(e.into());
            }
        }
        if result.is_ok() {
            result = self.write_chunks(&sha, length, out, abort, &id, next).await;
        }
        let result = match result {
            Ok(()) => {
                self.commit_record(&sha, length, name, version, path, &id)
                    .await
            }
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.discard(&sha, &id).await;
        }
        result
    }

    /// Drops a staged download that failed: waits for its started writes, then deletes what
    /// they wrote and the staging record.
    pub async fn discard_staged(&self, staged: StagedWrites) {
        for p in staged.pending {
            let _ = p.await;
        }
        self.discard(&staged.sha, &staged.id).await;
    }

    /// Deletes the chunks of download `id` and its staging record. Best effort: what is left
    /// is garbage [`Cache::gc`] collects.
    async fn discard(&self, sha: &str, id: &str) {
        let mut keys = self
            .store
            .keys(&chunk_prefix(sha, id))
            .await
            .unwrap_or_default();
        keys.push(format!("{STAGE}{id}"));
        let ops: Vec<Op<'_>> = keys.iter().map(|k| Op::Delete(k)).collect();
        let _ = self.store.commit(&ops).await;
    }

    /// Writes the chunks of `out` from chunk `from` on under the staging id `id`.
    async fn write_chunks(
        &self,
        sha: &str,
        length: u64,
        out: &dyn ArtifactOut,
        abort: Option<&AbortFlag>,
        id: &str,
        from: u64,
    ) -> Result<(), RegistryError> {
        let cs = self.config.chunk_bytes.max(1);
        let chunks = length.div_ceil(cs);
        // Several chunks per transaction: IndexedDB commits a batch of them in about the time
        // it takes for one. One copy buffer per chunk of a batch where `out` copies.
        let per_batch = (WRITE_BATCH_BYTES / cs).clamp(1, 64);
        let mut scratch: Vec<Vec<u8>> = Vec::new();
        let mut n = from;
        while n < chunks {
            if abort.is_some_and(AbortFlag::is_aborted) {
                return Err(RegistryError::Aborted);
            }
            let to = n.saturating_add(per_batch).min(chunks);
            let keys: Vec<String> = (n..to).map(|i| chunk_key(sha, id, i)).collect();
            scratch.resize_with(keys.len(), Vec::new);
            let mut ops = Vec::with_capacity(keys.len());
            for ((i, key), buf) in (n..to).zip(&keys).zip(scratch.iter_mut()) {
                ops.push(Op::Put(key, chunk_bytes(out, i, cs, length, buf)?));
            }
            self.store.commit(&ops).await?;
            n = to;
        }
        Ok(())
    }

    /// Makes the chunks of download `id` the cached artifact `sha` (if no other download
    /// committed it first) and `name@version` a cached version of it.
    #[allow(clippy::too_many_arguments)]
    async fn commit_record(
        &self,
        sha: &str,
        length: u64,
        name: &str,
        version: &str,
        path: &str,
        id: &str,
    ) -> Result<Committed, RegistryError> {
        let cs = self.config.chunk_bytes.max(1);
        let blob = json(&BlobRecord {
            length,
            chunk_size: cs,
            chunks: length.div_ceil(cs),
            id: id.to_string(),
            created: self.clock.now(),
        });
        let vkey = ver_key(name, version);
        let old_ver = self.store.get(&vkey).await?;
        let ver = json(&VersionRecord {
            sha256: sha.to_string(),
            length,
            path: path.to_string(),
            last_used: self.clock.now(),
            seq: self.next_seq(),
        });
        let bkey = blob_key(sha);
        let skey = format!("{STAGE}{id}");
        let committed = if self
            .store
            .commit_if(
                &bkey,
                None,
                &[
                    Op::Put(&bkey, &blob),
                    Op::Put(&vkey, &ver),
                    Op::Delete(&skey),
                ],
            )
            .await?
        {
            Committed::New
        } else {
            let mine = self.store.keys(&chunk_prefix(sha, id)).await?;
            let mut ops: Vec<Op<'_>> = vec![Op::Put(&vkey, &ver), Op::Delete(&skey)];
            ops.extend(mine.iter().map(|k| Op::Delete(k)));
            self.store.commit(&ops).await?;
            Committed::Existing
        };
        if let Some(prev) = old_ver.as_deref().and_then(parse::<VersionRecord>) {
            if prev.sha256 != sha {
                self.release_blob(&prev.sha256).await?;
            }
        }
        Ok(committed)
    }

    /// Every cached or pinned version, most recently used first.
    pub async fn list(&self) -> Result<Vec<CacheEntry>, StoreError> {
        let blobs = self.blobs().await?;
        let mut pins = self.pins().await?;
        let mut versions = self.versions().await?;
        versions.sort_by_key(|(_, _, r, _)| std::cmp::Reverse((r.last_used, r.seq)));
        let mut out = Vec::new();
        for (name, version, r, _) in versions {
            if !blobs.contains_key(&r.sha256) {
                continue;
            }
            let pinned = pins.remove(&(name.clone(), version.clone()));
            out.push(CacheEntry {
                name,
                version,
                sha256: r.sha256,
                bytes: r.length,
                last_used: r.last_used,
                pinned,
                cached: true,
                verified: false,
            });
        }
        for (name, version) in pins {
            out.push(CacheEntry {
                name,
                version,
                sha256: String::new(),
                bytes: 0,
                last_used: 0,
                pinned: true,
                cached: false,
                verified: false,
            });
        }
        Ok(out)
    }

    /// How much the cache holds, and the platform's estimate.
    pub async fn usage(&self) -> Result<CacheUsage, StoreError> {
        let blobs = self.blobs().await?;
        let versions = self.versions().await?;
        let estimate = self.store.estimate().await.ok().flatten();
        Ok(CacheUsage {
            bytes: blobs.values().map(|(r, _)| r.length).sum(),
            blobs: blobs.len(),
            versions: versions
                .iter()
                .filter(|(_, _, r, _)| blobs.contains_key(&r.sha256))
                .count(),
            limit: self.config.max_bytes,
            estimate,
        })
    }

    /// Pins `name@version`: it is never evicted to make room (it may be pinned before it is
    /// downloaded).
    pub async fn pin(&self, name: &str, version: &str) -> Result<(), StoreError> {
        self.store.put(&pin_key(name, version), b"1").await
    }

    /// Unpins `name@version`. Returns whether it was pinned.
    pub async fn unpin(&self, name: &str, version: &str) -> Result<bool, StoreError> {
        let key = pin_key(name, version);
        let was = self.store.get(&key).await?.is_some();
        self.store.delete(&key).await?;
        Ok(was)
    }

    /// Removes `name@version` from the cache (and its artifact when no other version uses it).
    /// A pinned version is refused with `PINNED`. Returns whether it was cached.
    pub async fn evict(&self, name: &str, version: &str) -> Result<bool, RegistryError> {
        if self.store.get(&pin_key(name, version)).await?.is_some() {
            return Err(RegistryError::Pinned {
                model: format!("{name}@{version}"),
            });
        }
        let key = ver_key(name, version);
        let Some(bytes) = self.store.get(&key).await? else {
            return Ok(false);
        };
        if !self
            .store
            .commit_if(&key, Some(&bytes), &[Op::Delete(&key)])
            .await?
        {
            return Ok(false);
        }
        if let Some(r) = parse::<VersionRecord>(&bytes) {
            self.release_blob(&r.sha256).await?;
        }
        Ok(true)
    }

    /// Removes everything this registry keeps in the store: cached artifacts, version
    /// entries, pins, staged downloads, aliases documents, and the trusted metadata with the
    /// root history. The next start trusts the pinned root alone, as on a first visit (and
    /// loses the stored rollback reference: the next refresh accepts any version the
    /// repository signs). [`Self::clear_artifacts`] keeps the trust state.
    pub async fn clear(&self) -> Result<(), StoreError> {
        let keys = self.store.keys("").await?;
        self.delete_blob_records_first(keys).await
    }

    /// Removes every cached artifact, version entry, pin and staged download, and keeps the
    /// trusted metadata (the rollback reference) and aliases documents.
    pub async fn clear_artifacts(&self) -> Result<(), StoreError> {
        let mut keys = Vec::new();
        for prefix in [BLOB, VER, PIN, STAGE, CHUNK, FILE] {
            keys.extend(self.store.keys(prefix).await?);
        }
        self.delete_blob_records_first(keys).await
    }

    /// Deletes `keys` in one batch, blob records first, so a store without transactions never
    /// shows a partial blob.
    async fn delete_blob_records_first(&self, keys: Vec<String>) -> Result<(), StoreError> {
        let (mut keys, rest): (Vec<String>, Vec<String>) =
            keys.into_iter().partition(|k| k.starts_with(BLOB));
        keys.extend(rest);
        let ops: Vec<Op<'_>> = keys.iter().map(|k| Op::Delete(k)).collect();
        if ops.is_empty() {
            return Ok(());
        }
        self.store.commit(&ops).await
    }

    /// Collects garbage: chunks of downloads that died (a staging record older than
    /// `stale_staging_secs`, or no staging record and no blob using them), version entries
    /// whose artifact is gone, and artifacts no version uses. Every deletion is conditional on
    /// the blob record it was judged against, so a download another client commits meanwhile
    /// is never touched.
    pub async fn gc(&self) -> Result<GcReport, StoreError> {
        let now = self.clock.now();
        let mut report = GcReport::default();
        let mut live: BTreeSet<String> = BTreeSet::new();
        let mut dead: Vec<String> = Vec::new();
        for key in self.store.keys(STAGE).await? {
            let id = key[STAGE.len()..].to_string();
            let fresh = match self.store.get(&key).await? {
                Some(b) => parse::<StageRecord>(&b).is_some_and(|r| {
                    now.saturating_sub(r.started) <= self.config.stale_staging_secs
                }),
                None => continue,
            };
            if fresh {
                live.insert(id);
            } else {
                dead.push(id);
            }
        }
        let blobs = self.blobs().await?;
        let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for key in self.store.keys(CHUNK).await? {
            let mut parts = key[CHUNK.len()..].splitn(3, '/');
            if let (Some(sha), Some(id)) = (parts.next(), parts.next()) {
                groups
                    .entry((sha.to_string(), id.to_string()))
                    .or_default()
                    .push(key.clone());
            }
        }
        for ((sha, id), keys) in &groups {
            let current = blobs.get(sha);
            if current.is_some_and(|(r, _)| &r.id == id) || live.contains(id) {
                continue;
            }
            let bkey = blob_key(sha);
            let ops: Vec<Op<'_>> = keys.iter().map(|k| Op::Delete(k)).collect();
            if self
                .store
                .commit_if(&bkey, current.map(|(_, b)| b.as_slice()), &ops)
                .await?
            {
                report.chunks += keys.len();
            }
        }
        for id in dead {
            self.store.delete(&format!("{STAGE}{id}")).await?;
            report.stages += 1;
        }
        let versions = self.versions().await?;
        let mut used: BTreeSet<&str> = BTreeSet::new();
        for (name, version, r, bytes) in &versions {
            if blobs.contains_key(&r.sha256) {
                used.insert(r.sha256.as_str());
                continue;
            }
            let key = ver_key(name, version);
            if self
                .store
                .commit_if(&key, Some(bytes), &[Op::Delete(&key)])
                .await?
            {
                report.versions += 1;
            }
        }
        for (sha, (_, rec)) in &blobs {
            if !used.contains(sha.as_str()) && self.discard_blob(sha, rec).await? {
                report.blobs += 1;
            }
        }
        Ok(report)
    }
}
