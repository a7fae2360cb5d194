//! The revocation store over a JS object: the revocation checker's reads and writes through the
//! host's store, failing closed.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::convert::{js_number, type_error};
use crate::error::{Error, ErrorCode};
use crate::revocation::KeyValueStore;

/// Any JS object with `get(key) -> string|null` (or a Promise of one) and `put(key, value,
/// ttlSeconds)`. The JS side wraps user stores with the policy's timeout, and hands a plain
/// MemoryStore over with a `get` that answers at once; every failure here fails closed.
pub(super) struct JsStore {
    target: JsValue,
    get: Function,
    put: Function,
}

fn method(target: &JsValue, name: &str) -> Result<Function, JsValue> {
    Reflect::get(target, &name.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| {
            type_error(&format!(
                "a revocation store needs a {name}() method: {{ get(key), put(key, value, ttlSeconds) }}"
            ))
        })
}

impl JsStore {
    pub(super) fn new(target: JsValue) -> Result<JsStore, JsValue> {
        Ok(JsStore {
            get: method(&target, "get")?,
            put: method(&target, "put")?,
            target,
        })
    }
}

fn store_error(what: &str) -> Error {
    Error::new(
        ErrorCode::RevocationUnavailable,
        format!("revocation store {what}"),
    )
}

async fn settle(result: Result<JsValue, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(Promise::resolve(&result?)).await
}

impl KeyValueStore for JsStore {
    async fn get(&self, key: &str) -> crate::Result<Option<String>> {
        let value = match self.get.call1(&self.target, &key.into()) {
            // An in-process store (MemoryStore's adapter) answers at once: nothing to await.
            Ok(now) if now.is_null() || now.is_string() => now,
            pending => settle(pending)
                .await
                .map_err(|_| store_error("read failed"))?,
        };
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        value
            .as_string()
            .map(Some)
            .ok_or_else(|| store_error("read returned something other than a string"))
    }

    async fn put(&self, key: &str, value: &str, ttl_s: u64) -> crate::Result<()> {
        settle(self.put.call3(
            &self.target,
            &key.into(),
            &value.into(),
            &js_number(ttl_s).into(),
        ))
        .await
        .map(|_| ())
        .map_err(|_| store_error("write failed"))
    }
}
