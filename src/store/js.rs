//! [`Store`] over an object the JavaScript caller provides, for runtimes with neither
//! IndexedDB nor a reason to keep everything in memory (workerd with KV, Deno with files,
//! Node with a directory):
//!
//! ```ts
//! interface RegistryStore {
//!   get(key: string): Uint8Array | ArrayBuffer | undefined | null | Promise<...>;
//!   put(key: string, bytes: Uint8Array): void | Promise<void>;
//!   delete(key: string): void | Promise<void>;
//!   keys?(prefix: string): string[] | Promise<string[]>;   // optional
//! }
//! ```
//!
//! Each method may return a value or a promise. Without `keys`, the list of keys is kept under
//! the reserved key `__edge_registry_keys__`. A caller store has no transactions: a batch is
//! applied op by op in order (the registry orders its batches so any prefix is safe, see
//! `registry::cache`), and [`Store::commit_if`] is a read-compare-write that is atomic only if
//! nothing else writes to the same store meanwhile. A thrown error whose `name` is
//! `QuotaExceededError` or whose `code` is `QUOTA` becomes [`StoreError::Quota`].

use std::collections::BTreeSet;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{Op, Store, StoreError};
use crate::fetch::web::describe;

/// The reserved key that lists the keys of a store without `keys()`.
pub const MANIFEST_KEY: &str = "__edge_registry_keys__";

/// A caller-provided JS store. See the module documentation.
#[derive(Debug, Clone)]
pub struct JsObjectStore {
    obj: Object,
    has_keys: bool,
}

fn thrown(method: &str, e: &JsValue) -> StoreError {
    let prop = |k: &str| {
        Reflect::get(e, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_string())
    };
    let text = format!("store.{method}() failed: {}", describe(e));
    if prop("name").as_deref() == Some("QuotaExceededError")
        || prop("code").as_deref() == Some("QUOTA")
    {
        StoreError::Quota(text)
    } else {
        StoreError::Backend(text)
    }
}

impl JsObjectStore {
    /// Wraps `obj`, which must have `get`, `put` and `delete` functions.
    pub fn new(obj: Object) -> Result<Self, StoreError> {
        for m in ["get", "put", "delete"] {
            let f = Reflect::get(&obj, &JsValue::from_str(m)).unwrap_or(JsValue::UNDEFINED);
            if !f.is_function() {
                return Err(StoreError::Backend(format!(
                    "the store object has no {m}() method"
                )));
            }
        }
        let has_keys = Reflect::get(&obj, &JsValue::from_str("keys"))
            .map(|f| f.is_function())
            .unwrap_or(false);
        Ok(JsObjectStore { obj, has_keys })
    }

    async fn call(&self, method: &str, args: &[JsValue]) -> Result<JsValue, StoreError> {
        let f: Function = Reflect::get(&self.obj, &JsValue::from_str(method))
            .map_err(|e| thrown(method, &e))?
            .dyn_into()
            .map_err(|_| StoreError::Backend(format!("store.{method} is not a function")))?;
        let list: Array = args.iter().collect();
        let r = f.apply(&self.obj, &list).map_err(|e| thrown(method, &e))?;
        if r.has_type::<Promise>()
            || Reflect::get(&r, &"then".into()).is_ok_and(|t| t.is_function())
        {
            JsFuture::from(Promise::resolve(&r))
                .await
                .map_err(|e| thrown(method, &e))
        } else {
            Ok(r)
        }
    }

    async fn raw_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let v = self.call("get", &[JsValue::from_str(key)]).await?;
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        if let Some(a) = v.dyn_ref::<Uint8Array>() {
            return Ok(Some(a.to_vec()));
        }
        if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
            return Ok(Some(Uint8Array::new(b).to_vec()));
        }
        Err(StoreError::Backend(format!(
            "store.get({key:?}) returned something that is not a Uint8Array"
        )))
    }

    async fn manifest(&self) -> Result<BTreeSet<String>, StoreError> {
        Ok(match self.raw_get(MANIFEST_KEY).await? {
            Some(b) => serde_json::from_slice(&b).unwrap_or_default(),
            None => BTreeSet::new(),
        })
    }
}

impl Store for JsObjectStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.raw_get(key).await
    }

    async fn commit(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        for op in ops {
            match *op {
                Op::Put(k, v) => {
                    let bytes: JsValue = Uint8Array::from(v).into();
                    self.call("put", &[JsValue::from_str(k), bytes]).await?;
                }
                Op::Delete(k) => {
                    self.call("delete", &[JsValue::from_str(k)]).await?;
                }
            }
        }
        if !self.has_keys {
            let mut keys = self.manifest().await?;
            for op in ops {
                match *op {
                    Op::Put(k, _) => keys.insert(k.to_string()),
                    Op::Delete(k) => keys.remove(k),
                };
            }
            let bytes = serde_json::to_vec(&keys).unwrap_or_default();
            let value: JsValue = Uint8Array::from(bytes.as_slice()).into();
            self.call("put", &[JsValue::from_str(MANIFEST_KEY), value])
                .await?;
        }
        Ok(())
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = if self.has_keys {
            let v = self.call("keys", &[JsValue::from_str(prefix)]).await?;
            let arr: Array = v
                .dyn_into()
                .map_err(|_| StoreError::Backend("store.keys() did not return an array".into()))?;
            arr.iter().filter_map(|k| k.as_string()).collect()
        } else {
            self.manifest().await?.into_iter().collect()
        };
        out.retain(|k| k.starts_with(prefix) && k != MANIFEST_KEY);
        out.sort();
        out.dedup();
        Ok(out)
    }
}
