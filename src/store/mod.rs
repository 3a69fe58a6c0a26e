//! Persistent key-value storage for trusted metadata, verified artifacts and the cache index:
//! a trait with an in-memory implementation and target-gated real ones.
//!
//! Keys are `/`-separated strings chosen by the library (never by the network). A
//! [`Store::commit`] applies a batch of writes atomically: after a crash either all of them are
//! visible or none.
//!
//! Owns the [`Store`] trait, its implementations (memory, files natively, IndexedDB and a caller
//! object in wasm) and the choice among them for JS clients (`store::any`, in wasm). Imports `error`
//! and `fetch` (to describe a JS error).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::error::{Code, ErrorCode};

#[cfg(target_arch = "wasm32")]
pub mod any;
#[cfg(not(target_arch = "wasm32"))]
pub mod fs;
#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
#[cfg(target_arch = "wasm32")]
pub mod js;

/// Errors from a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed (I/O error, IndexedDB error, a caller store that threw). Code `STORE`.
    #[error("store error: {0}")]
    Backend(String),
    /// The backend is out of space. Code `QUOTA`.
    #[error("store is out of space: {0}")]
    Quota(String),
}

impl ErrorCode for StoreError {
    fn error_code(&self) -> Code {
        match self {
            StoreError::Backend(_) => Code::Store,
            StoreError::Quota(_) => Code::Quota,
        }
    }
}

/// One write in an atomic batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// Set `key` to the bytes.
    Put(&'a str, &'a [u8]),
    /// Remove `key` (no error if absent).
    Delete(&'a str),
}

impl<'a> Op<'a> {
    /// The key the op writes.
    pub fn key(&self) -> &'a str {
        match *self {
            Op::Put(k, _) | Op::Delete(k) => k,
        }
    }

    /// The same op on another key.
    pub fn with_key<'b>(&self, key: &'b str) -> Op<'b>
    where
        'a: 'b,
    {
        match *self {
            Op::Put(_, v) => Op::Put(key, v),
            Op::Delete(_) => Op::Delete(key),
        }
    }
}

/// A batch of writes a store has started ([`Store::start_commit`]): resolves when it is
/// applied. Owns everything it needs (the values were copied when it started).
pub type PendingCommit = futures_util::future::LocalBoxFuture<'static, Result<(), StoreError>>;

/// A key-value store with atomic batches.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// The value at `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Applies every op, atomically.
    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError>;

    /// All keys starting with `prefix`, sorted.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Reads `keys` in order, handing each value (`None`: absent) to `visit` as it arrives;
    /// stops early when `visit` returns `false`. Backends that can overlap reads (IndexedDB)
    /// keep a few in flight; the default reads one at a time.
    async fn get_each(
        &self,
        keys: &[String],
        visit: &mut dyn FnMut(Option<Vec<u8>>) -> bool,
    ) -> Result<(), StoreError> {
        for key in keys {
            if !visit(self.get(key).await?) {
                break;
            }
        }
        Ok(())
    }

    /// Sets one key.
    async fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.commit(&[Op::Put(key, value)]).await
    }

    /// Removes one key.
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.commit(&[Op::Delete(key)]).await
    }

    /// Applies `ops` only if `key` currently holds `expected` (`None`: the key is absent), and
    /// says whether it did: a compare-and-set that lets several clients of one database (two
    /// browser tabs) agree on one value.
    ///
    /// Backends with transactions (IndexedDB) check and apply in one transaction. The default
    /// reads, compares and commits, which is atomic only when nothing else writes to the store
    /// in between (true of [`MemoryStore`], and of a file store used by one process).
    async fn commit_if(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        ops: &[Op<'_>],
    ) -> Result<bool, StoreError> {
        if self.get(key).await?.as_deref() != expected {
            return Ok(false);
        }
        self.commit(ops).await?;
        Ok(true)
    }

    /// What the platform says about storage space, when it says anything (browsers:
    /// `navigator.storage.estimate()`). `None` by default.
    async fn estimate(&self) -> Result<Option<StorageEstimate>, StoreError> {
        Ok(None)
    }

    /// Starts applying `ops` as one atomic batch (as [`Store::commit`]) and returns at once,
    /// with the values already copied: the returned future only reports the outcome. For
    /// backends whose writes proceed without being polled (IndexedDB transactions run in the
    /// browser; a memory map applies at once), so a caller can write the cache's chunks while
    /// the rest of a download still arrives. Such backends return `Some` for every call,
    /// an empty batch included (which is how a caller asks); the default, `None`, means the
    /// caller commits later with [`Store::commit`].
    fn start_commit(&self, _ops: &[Op<'_>]) -> Option<PendingCommit> {
        None
    }
}

/// The platform's view of storage space for this origin or device, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StorageEstimate {
    /// Bytes in use (all storage of the origin, not only this store).
    pub usage: u64,
    /// Bytes the origin may use in total.
    pub quota: u64,
}

impl StorageEstimate {
    /// Bytes left before the quota is reached.
    pub fn available(&self) -> u64 {
        self.quota.saturating_sub(self.usage)
    }
}

/// A shared store is a store: several owners (a registry and its updater, two registries in
/// one test) may hold one database.
impl<T: Store + ?Sized> Store for Rc<T> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key).await
    }

    async fn get_each(
        &self,
        keys: &[String],
        visit: &mut dyn FnMut(Option<Vec<u8>>) -> bool,
    ) -> Result<(), StoreError> {
        (**self).get_each(keys, visit).await
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        (**self).commit(ops).await
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        (**self).keys(prefix).await
    }

    async fn commit_if(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        ops: &[Op<'_>],
    ) -> Result<bool, StoreError> {
        (**self).commit_if(key, expected, ops).await
    }

    async fn estimate(&self) -> Result<Option<StorageEstimate>, StoreError> {
        (**self).estimate().await
    }

    fn start_commit(&self, ops: &[Op<'_>]) -> Option<PendingCommit> {
        (**self).start_commit(ops)
    }
}

/// A view of a store under a key prefix: every key `k` is `<prefix>k` in the inner store, and
/// [`Store::keys`] lists only (and strips) keys under the prefix. The registry keeps all its
/// state for one trust anchor under one such prefix ([`crate::registry::namespace`]), so two
/// registries or two pinned roots sharing a database, a directory or a Cache API cache never
/// read each other's state by accident. It is a naming convention, not a security boundary:
/// whoever can write the inner store can write under any prefix, which is why everything read
/// back is verified again from the pinned root.
#[derive(Debug, Clone)]
pub struct Namespaced<S> {
    inner: S,
    prefix: String,
}

impl<S: Store> Namespaced<S> {
    /// `inner` seen under `prefix` (for example `r/0123abcd/`).
    pub fn new(inner: S, prefix: impl Into<String>) -> Self {
        Namespaced {
            inner,
            prefix: prefix.into(),
        }
    }

    /// The store underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn full_keys(&self, ops: &[Op<'_>]) -> Vec<String> {
        ops.iter().map(|op| self.full(op.key())).collect()
    }
}

/// `ops` with their keys replaced, in order, by `keys`.
fn with_keys<'k>(ops: &[Op<'k>], keys: &'k [String]) -> Vec<Op<'k>> {
    ops.iter().zip(keys).map(|(op, k)| op.with_key(k)).collect()
}

impl<S: Store> Store for Namespaced<S> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(&self.full(key)).await
    }

    async fn get_each(
        &self,
        keys: &[String],
        visit: &mut dyn FnMut(Option<Vec<u8>>) -> bool,
    ) -> Result<(), StoreError> {
        let full: Vec<String> = keys.iter().map(|k| self.full(k)).collect();
        self.inner.get_each(&full, visit).await
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        let keys = self.full_keys(ops);
        let mapped = with_keys(ops, &keys);
        self.inner.commit(&mapped).await
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .inner
            .keys(&self.full(prefix))
            .await?
            .into_iter()
            .filter_map(|k| k.strip_prefix(self.prefix.as_str()).map(str::to_string))
            .collect())
    }

    async fn commit_if(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        ops: &[Op<'_>],
    ) -> Result<bool, StoreError> {
        let keys = self.full_keys(ops);
        let mapped = with_keys(ops, &keys);
        self.inner
            .commit_if(&self.full(key), expected, &mapped)
            .await
    }

    async fn estimate(&self) -> Result<Option<StorageEstimate>, StoreError> {
        self.inner.estimate().await
    }

    fn start_commit(&self, ops: &[Op<'_>]) -> Option<PendingCommit> {
        let keys = self.full_keys(ops);
        self.inner.start_commit(&with_keys(ops, &keys))
    }
}

/// A store in memory: the default where nothing persistent exists, and the one tests use.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: RefCell<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total bytes of all values.
    pub fn total_bytes(&self) -> usize {
        self.map.borrow().values().map(Vec::len).sum()
    }
}

impl MemoryStore {
    fn apply(&self, ops: &[Op<'_>]) {
        let mut map = self.map.borrow_mut();
        for op in ops {
            match *op {
                Op::Put(k, v) => {
                    map.insert(k.to_string(), v.to_vec());
                }
                Op::Delete(k) => {
                    map.remove(k);
                }
            }
        }
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.borrow().get(key).cloned())
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        self.apply(ops);
        Ok(())
    }

    /// Applies the batch at once.
    fn start_commit(&self, ops: &[Op<'_>]) -> Option<PendingCommit> {
        self.apply(ops);
        Some(Box::pin(std::future::ready(Ok(()))))
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .map
            .borrow()
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }
}
