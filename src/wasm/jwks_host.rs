//! The remote JWKS's I/O through the host: its fetch function and `setTimeout` (each set's
//! last failure is the core's, [`crate::gateway::edge::RemoteKeySet::last_error`]).

use std::cell::RefCell;

use js_sys::{Array, Function, Promise, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::convert::js_number;
use crate::gateway::edge::JwksHost;

/// The host's I/O for the remote JWKS ([`JwksHost`]): the fetch function it set
/// (`setJwksFetch`) and `setTimeout`. No store is shared between processes, so there is no
/// shared copy.
#[derive(Default)]
pub(super) struct JsJwksHost {
    pub(super) fetch: RefCell<Option<Function>>,
}

fn js_text(value: &JsValue) -> String {
    value
        .as_string()
        .or_else(|| {
            Reflect::get(value, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "fetch failed".to_owned())
}

/// Waits `ms` milliseconds on the host's `setTimeout` (at once where it has none).
pub(super) async fn js_sleep(ms: u64) {
    let wait = Promise::new(&mut |resolve, _| {
        let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(set_timeout) = set_timeout {
            let _ = set_timeout.call2(&JsValue::NULL, &resolve, &js_number(ms).into());
        } else {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(wait).await;
}

impl JwksHost for JsJwksHost {
    async fn fetch(&self, url: &str, timeout_ms: u64) -> Result<(String, Option<String>), String> {
        let fetch = self.fetch.borrow().clone().ok_or("no fetch for the JWKS")?;
        let promise = fetch
            .call2(&JsValue::NULL, &url.into(), &js_number(timeout_ms).into())
            .map_err(|e| js_text(&e))?;
        let answer = JsFuture::from(Promise::resolve(&promise))
            .await
            .map_err(|e| js_text(&e))?;
        let answer: Array = answer
            .dyn_into()
            .map_err(|_| "fetch answered no [body, cacheControl]")?;
        let body = answer.get(0).as_string().ok_or("the body is not text")?;
        Ok((body, answer.get(1).as_string()))
    }

    async fn shared_get(&self, _key: &str, _timeout_ms: u64) -> Option<String> {
        None
    }

    async fn shared_put(&self, _key: &str, _value: String, _ttl_s: u64, _timeout_ms: u64) {}

    async fn sleep(&self, ms: u64) {
        js_sleep(ms).await;
    }

    /// Nothing to do: the core keeps each set's last failure for `stats()`, and the package
    /// logs nothing on its users' behalf.
    fn log(&self, _event: &Value) {}
}
