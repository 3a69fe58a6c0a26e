//! [`Store`] on IndexedDB (pages and workers), through the `idb` crate.
//!
//! One object store, `kv`, maps string keys to `Uint8Array` values. Every [`Store::commit`] is
//! one `readwrite` transaction, so a batch is applied entirely or not at all, even if the tab
//! closes mid-way; [`Store::commit_if`] reads the guard key and applies the batch inside the
//! same transaction, and IndexedDB serialises overlapping `readwrite` transactions across
//! every connection (tabs, workers), which makes it a true compare-and-set.
//! [`Store::estimate`] is `navigator.storage.estimate()`.
//!
//! Why `idb` and not `indexed_db_futures`: both are maintained, future-based wrappers over
//! `web-sys`. `idb` 0.6 adds 31 crates to the wasm32 tree (its own, `web-sys`, `tokio`'s
//! `sync` channels, `indexmap`, `num-traits`), `indexed_db_futures` 0.6 adds 58 (mostly its
//! derive and attribute macros), and `idb` reaches `indexedDB` through `globalThis`, so the
//! same code runs in windows and workers. Measured with `cargo tree --target
//! wasm32-unknown-unknown -e normal` on a fresh crate depending on each.

use idb::event::VersionChangeEvent;
use idb::TransactionResult;
use idb::{Database, Factory, KeyRange, ObjectStoreParams, Query, TransactionMode};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{Op, PendingCommit, StorageEstimate, Store, StoreError};

const OBJECT_STORE: &str = "kv";

fn err(what: &str, e: impl std::fmt::Display) -> StoreError {
    let text = format!("IndexedDB {what}: {e}");
    if text.contains("QuotaExceeded") {
        StoreError::Quota(text)
    } else {
        StoreError::Backend(text)
    }
}

fn bytes_of(value: JsValue) -> Result<Vec<u8>, StoreError> {
    if let Some(a) = value.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    if let Some(b) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(Uint8Array::new(b).to_vec());
    }
    Err(StoreError::Backend(
        "IndexedDB holds a value that is not bytes".into(),
    ))
}

/// The global object's property `name`, when it is set.
pub(crate) fn global_property(name: &str) -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

async fn call_storage(method: &str) -> Option<JsValue> {
    let storage = global_property("navigator")
        .and_then(|n| Reflect::get(&n, &JsValue::from_str("storage")).ok())
        .filter(|s| !s.is_undefined() && !s.is_null())?;
    let f: Function = Reflect::get(&storage, &JsValue::from_str(method))
        .ok()?
        .dyn_into()
        .ok()?;
    let p: Promise = f.call0(&storage).ok()?.dyn_into().ok()?;
    JsFuture::from(p).await.ok()
}

/// `navigator.storage.estimate()`, where the runtime has it.
pub async fn storage_estimate() -> Option<StorageEstimate> {
    let r = call_storage("estimate").await?;
    let num = |k: &str| {
        Reflect::get(&r, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_f64())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    // Byte counts below 2^53 convert exactly.
    Some(StorageEstimate {
        usage: num("usage")? as u64,
        quota: num("quota")? as u64,
    })
}

/// `navigator.storage.persist()` (windows only): whether storage is now persistent; `None`
/// where the runtime cannot say (workers, Node).
pub async fn storage_persist() -> Option<bool> {
    call_storage("persist").await.and_then(|v| v.as_bool())
}

/// Values at least this large are copied into one reused JS buffer before `put` (IndexedDB
/// clones the value synchronously inside `put`, so the buffer is free again right after):
/// writing an artifact's chunks leaves no garbage the size of the artifact.
const REUSE_AT: usize = 1 << 20;

/// Reads [`Store::get_each`] keeps in flight: 4 of the cache's 4 MiB chunks (16 MiB of JS
/// memory) overlap IndexedDB's reads with the copies and checks of the chunk before.
const READS_IN_FLIGHT: usize = 4;

/// An IndexedDB database used as a [`Store`]. See the module documentation.
#[derive(Debug)]
pub struct IndexedDbStore {
    db: Database,
    name: String,
    scratch: std::cell::RefCell<Option<Uint8Array>>,
}

impl IndexedDbStore {
    /// Whether this runtime has IndexedDB (`globalThis.indexedDB`).
    pub fn available() -> bool {
        global_property("indexedDB").is_some()
    }

    /// Opens (creating if needed) the database `name`.
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let factory = Factory::new().map_err(|e| err("unavailable", e))?;
        let mut req = factory.open(name, Some(1)).map_err(|e| err("open", e))?;
        req.on_upgrade_needed(|event: VersionChangeEvent| {
            use idb::Event as _;
            let Ok(db) = event.target().and_then(|t| t.database()) else {
                return;
            };
            if !db.store_names().iter().any(|n| n == OBJECT_STORE) {
                // A failure here fails the open request itself, which reports it.
                let _ = db.create_object_store(OBJECT_STORE, ObjectStoreParams::new());
            }
        });
        let db = req.await.map_err(|e| err("open", e))?;
        Ok(IndexedDbStore {
            db,
            name: name.to_string(),
            scratch: std::cell::RefCell::new(None),
        })
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the connection (pending transactions finish first).
    pub fn close(&self) {
        self.db.close();
    }

    /// Deletes the database `name` (tests; a page's "forget everything").
    pub async fn delete_database(name: &str) -> Result<(), StoreError> {
        let factory = Factory::new().map_err(|e| err("unavailable", e))?;
        factory
            .delete(name)
            .map_err(|e| err("delete", e))?
            .await
            .map_err(|e| err("delete", e))
    }

    fn value(&self, v: &[u8]) -> JsValue {
        if v.len() < REUSE_AT {
            return Uint8Array::from(v).into();
        }
        let mut scratch = self.scratch.borrow_mut();
        let fits = scratch
            .as_ref()
            .is_some_and(|s| s.length() as usize == v.len());
        if !fits {
            *scratch = u32::try_from(v.len()).ok().map(Uint8Array::new_with_length);
        }
        match scratch.as_ref() {
            Some(s) => {
                s.copy_from(v);
                s.clone().into()
            }
            None => Uint8Array::from(v).into(),
        }
    }

    fn write_ops(&self, store: &idb::ObjectStore, ops: &[Op<'_>]) -> Result<(), StoreError> {
        for op in ops {
            match *op {
                Op::Put(k, v) => {
                    // `put` clones the value before it returns.
                    let value = self.value(v);
                    store
                        .put(&value, Some(&JsValue::from_str(k)))
                        .map_err(|e| err("put", e))?;
                }
                Op::Delete(k) => {
                    store
                        .delete(Query::Key(JsValue::from_str(k)))
                        .map_err(|e| err("delete", e))?;
                }
            }
        }
        Ok(())
    }

    /// A transaction on the key-value object store, and the store.
    fn begin(
        &self,
        mode: TransactionMode,
    ) -> Result<(idb::Transaction, idb::ObjectStore), StoreError> {
        let tx = self
            .db
            .transaction(&[OBJECT_STORE], mode)
            .map_err(|e| err("transaction", e))?;
        let store = tx
            .object_store(OBJECT_STORE)
            .map_err(|e| err("object store", e))?;
        Ok((tx, store))
    }

    async fn finish(tx: idb::Transaction) -> Result<(), StoreError> {
        Self::outcome(std::future::IntoFuture::into_future(tx)).await
    }

    async fn outcome(done: idb::TransactionFuture) -> Result<(), StoreError> {
        match done.await.map_err(|e| err("transaction", e))? {
            TransactionResult::Committed => Ok(()),
            TransactionResult::Aborted => {
                Err(StoreError::Backend("IndexedDB transaction aborted".into()))
            }
        }
    }
}

impl Store for IndexedDbStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (_tx, store) = self.begin(TransactionMode::ReadOnly)?;
        let value = store
            .get(Query::Key(JsValue::from_str(key)))
            .map_err(|e| err("get", e))?
            .await
            .map_err(|e| err("get", e))?;
        value.map(bytes_of).transpose()
    }

    /// Keeps [`READS_IN_FLIGHT`] requests of one `readonly` transaction in flight: IndexedDB
    /// reads a large value from its blob file and copies it across processes, which overlaps
    /// with the caller's work on the value before. Each request is made in the success
    /// event's microtask checkpoint of the one before, while the transaction is active; if a
    /// host refuses one, the rest are read one transaction each.
    async fn get_each(
        &self,
        keys: &[String],
        visit: &mut dyn FnMut(Option<Vec<u8>>) -> bool,
    ) -> Result<(), StoreError> {
        let (_tx, store) = self.begin(TransactionMode::ReadOnly)?;
        let request = |key: &String| {
            store
                .get(Query::Key(JsValue::from_str(key)))
                .ok()
                .map(std::future::IntoFuture::into_future)
        };
        let mut in_flight = std::collections::VecDeque::new();
        let mut next = 0;
        while next < keys.len() && in_flight.len() < READS_IN_FLIGHT {
            match keys.get(next).and_then(request) {
                Some(r) => in_flight.push_back(r),
                None => break,
            }
            next += 1;
        }
        let mut refused = in_flight.is_empty();
        while let Some(pending) = in_flight.pop_front() {
            let value = pending.await.map_err(|e| err("get", e))?;
            if !refused && next < keys.len() {
                match keys.get(next).and_then(request) {
                    Some(r) => {
                        in_flight.push_back(r);
                        next += 1;
                    }
                    None => refused = true,
                }
            }
            if !visit(value.map(bytes_of).transpose()?) {
                return Ok(());
            }
        }
        for key in keys.get(next..).unwrap_or_default() {
            if !visit(self.get(key).await?) {
                break;
            }
        }
        Ok(())
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let (tx, store) = self.begin(TransactionMode::ReadWrite)?;
        if let Err(e) = self.write_ops(&store, ops) {
            // Nothing of a failed batch may commit.
            let _ = tx.abort();
            return Err(e);
        }
        Self::finish(tx).await
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let (_tx, store) = self.begin(TransactionMode::ReadOnly)?;
        let query = if prefix.is_empty() {
            None
        } else {
            // Keys are ASCII: every key with the prefix sorts below prefix + U+FFFF.
            let upper = format!("{prefix}\u{ffff}");
            Some(Query::KeyRange(
                KeyRange::bound(
                    &JsValue::from_str(prefix),
                    &JsValue::from_str(&upper),
                    Some(false),
                    Some(true),
                )
                .map_err(|e| err("key range", e))?,
            ))
        };
        let keys = store
            .get_all_keys(query, None)
            .map_err(|e| err("keys", e))?
            .await
            .map_err(|e| err("keys", e))?;
        let mut out: Vec<String> = keys
            .into_iter()
            .filter_map(|k| k.as_string())
            .filter(|k| k.starts_with(prefix))
            .collect();
        out.sort();
        Ok(out)
    }

    async fn commit_if(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        ops: &[Op<'_>],
    ) -> Result<bool, StoreError> {
        let (tx, store) = self.begin(TransactionMode::ReadWrite)?;
        // The continuation runs in the success event's microtask checkpoint, while the
        // transaction is still active, so the writes below join the same transaction.
        let current = store
            .get(Query::Key(JsValue::from_str(key)))
            .map_err(|e| err("get", e))?
            .await
            .map_err(|e| err("get", e))?
            .map(bytes_of)
            .transpose()?;
        if current.as_deref() != expected {
            Self::finish(tx).await?;
            return Ok(false);
        }
        if let Err(e) = self.write_ops(&store, ops) {
            let _ = tx.abort();
            return Err(e);
        }
        Self::finish(tx).await?;
        Ok(true)
    }

    async fn estimate(&self) -> Result<Option<StorageEstimate>, StoreError> {
        Ok(storage_estimate().await)
    }

    /// One `readwrite` transaction with every op made (`put` copies the value) before this
    /// returns; the browser commits it without being polled, and the future (listening from
    /// the start, so no event is missed) reports how it ended.
    fn start_commit(&self, ops: &[Op<'_>]) -> Option<PendingCommit> {
        if ops.is_empty() {
            return Some(Box::pin(std::future::ready(Ok(()))));
        }
        let started = self
            .begin(TransactionMode::ReadWrite)
            .and_then(|(tx, store)| {
                if let Err(e) = self.write_ops(&store, ops) {
                    let _ = tx.abort();
                    return Err(e);
                }
                Ok(tx)
            });
        Some(match started {
            Ok(tx) => Box::pin(Self::outcome(std::future::IntoFuture::into_future(tx))),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        })
    }
}
