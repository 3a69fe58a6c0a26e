//! Persistent key-value storage for trusted metadata, verified artifacts and the cache index:
//! a trait with an in-memory implementation and target-gated real ones.
//!
//! Keys are `/`-separated strings chosen by the library (never by the network). A
//! [`Store::commit`] applies a batch of writes atomically: after a crash either all of them are
//! visible or none.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::error::ErrorCode;

#[cfg(not(target_arch = "wasm32"))]
pub mod fs;

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
    fn code(&self) -> &'static str {
        match self {
            StoreError::Backend(_) => "STORE",
            StoreError::Quota(_) => "QUOTA",
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

/// A key-value store with atomic batches.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// The value at `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Applies every op, atomically.
    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError>;

    /// All keys starting with `prefix`, sorted.
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Sets one key.
    async fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.commit(&[Op::Put(key, value)]).await
    }

    /// Removes one key.
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.commit(&[Op::Delete(key)]).await
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

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map.borrow().get(key).cloned())
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
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
        Ok(())
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
