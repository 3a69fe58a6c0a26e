//! The store a JavaScript client runs on, chosen in one place: IndexedDB where it exists and
//! opens (private modes may refuse it), else memory; or what the caller asked for (IndexedDB,
//! memory, or its own store object). Owns [`AnyStore`] and [`StoreChoice`]; imports only the
//! store implementations beside it (the bindings parse the JS option into a [`StoreChoice`]).

use super::indexeddb::IndexedDbStore;
use super::js::JsObjectStore;
use super::{MemoryStore, Op, PendingCommit, StorageEstimate, Store, StoreError};

/// Which store a client asked for.
#[derive(Debug)]
pub enum StoreChoice {
    /// IndexedDB where it exists and opens, else memory.
    Default,
    /// IndexedDB, failing if it cannot be opened.
    IndexedDb,
    /// Memory (nothing survives the page).
    Memory,
    /// The caller's store object.
    Custom(JsObjectStore),
}

/// The store behind a JS registry.
#[derive(Debug)]
pub enum AnyStore {
    /// IndexedDB.
    IndexedDb(IndexedDbStore),
    /// Memory.
    Memory(MemoryStore),
    /// The caller's object.
    Js(JsObjectStore),
}

impl AnyStore {
    /// Opens the store `choice` names; IndexedDB databases are named `db_name`.
    pub async fn open(choice: StoreChoice, db_name: &str) -> Result<AnyStore, StoreError> {
        Ok(match choice {
            StoreChoice::Default => {
                if IndexedDbStore::available() {
                    if let Ok(s) = IndexedDbStore::open(db_name).await {
                        return Ok(AnyStore::IndexedDb(s));
                    }
                }
                AnyStore::Memory(MemoryStore::new())
            }
            StoreChoice::IndexedDb => AnyStore::IndexedDb(IndexedDbStore::open(db_name).await?),
            StoreChoice::Memory => AnyStore::Memory(MemoryStore::new()),
            StoreChoice::Custom(s) => AnyStore::Js(s),
        })
    }

    /// `"indexeddb"`, `"memory"` or `"custom"`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::IndexedDb(_) => "indexeddb",
            AnyStore::Memory(_) => "memory",
            AnyStore::Js(_) => "custom",
        }
    }

    /// Closes an IndexedDB connection (nothing to do for the others).
    pub fn close(&self) {
        if let AnyStore::IndexedDb(s) = self {
            s.close();
        }
    }
}

impl Store for AnyStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.get(key).await,
            AnyStore::Memory(s) => s.get(key).await,
            AnyStore::Js(s) => s.get(key).await,
        }
    }

    async fn get_each(
        &self,
        keys: &[String],
        visit: &mut dyn FnMut(Option<Vec<u8>>) -> bool,
    ) -> Result<(), StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.get_each(keys, visit).await,
            AnyStore::Memory(s) => s.get_each(keys, visit).await,
            AnyStore::Js(s) => s.get_each(keys, visit).await,
        }
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.commit(ops).await,
            AnyStore::Memory(s) => s.commit(ops).await,
            AnyStore::Js(s) => s.commit(ops).await,
        }
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.keys(prefix).await,
            AnyStore::Memory(s) => s.keys(prefix).await,
            AnyStore::Js(s) => s.keys(prefix).await,
        }
    }

    async fn commit_if(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        ops: &[Op<'_>],
    ) -> Result<bool, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.commit_if(key, expected, ops).await,
            AnyStore::Memory(s) => s.commit_if(key, expected, ops).await,
            AnyStore::Js(s) => s.commit_if(key, expected, ops).await,
        }
    }

    async fn estimate(&self) -> Result<Option<StorageEstimate>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.estimate().await,
            // The memory and caller stores do not live in the origin's storage.
            AnyStore::Memory(_) | AnyStore::Js(_) => Ok(None),
        }
    }

    fn start_commit(&self, ops: &[Op<'_>]) -> Option<PendingCommit> {
        match self {
            AnyStore::IndexedDb(s) => s.start_commit(ops),
            AnyStore::Memory(s) => s.start_commit(ops),
            AnyStore::Js(s) => s.start_commit(ops),
        }
    }
}
