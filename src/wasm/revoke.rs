//! `CoreValidator`'s revocation methods: the cached, fail-closed checker's verdict for a token
//! just verified, and revocations written through the host's store ([`crate::wasm::js_store`]).

use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::Promise;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::convert::{error_value, js_number, promise, seconds, to_json, type_error, BoxedAnswer};
use super::validator::{CoreValidator, Inner};
use crate::error::{Error, ErrorCode};
use crate::revocation::{self, RevocationRequest};

#[wasm_bindgen(js_class = CoreValidator)]
impl CoreValidator {
    /// Whether a revocation store is configured.
    #[wasm_bindgen(js_name = hasStore)]
    pub fn has_store(&self) -> bool {
        self.inner.core.revocations.is_some()
    }

    /// The revocation verdict for the token just verified as `id` (its facts from the cache of
    /// verified tokens), through the cached, fail-closed checker: `undefined` when the token
    /// stands, an error object (`revoked`, `revocation_unavailable`) when it does not, or — when
    /// neither the checker's cache nor the store can answer at once — a Promise of one of those.
    /// `null` when `id` is stale (the caller verifies again).
    #[wasm_bindgen(js_name = revocationStatus)]
    pub fn revocation_status(&self, id: f64, now: f64) -> JsValue {
        let facts = match self.inner.cache.borrow().get(seconds(id)) {
            Some(verified) => verified.revocation_facts(),
            None => return JsValue::NULL,
        };
        let verdict_value = |outcome: crate::Result<()>| match outcome {
            Ok(()) => JsValue::UNDEFINED,
            Err(e) => error_value(&e),
        };
        let now = seconds(now);
        // The common case: the checker's cache knows every key, answered without a future.
        let Some(checker) = &self.inner.core.revocations else {
            return JsValue::UNDEFINED;
        };
        if let Some(status) = checker.cached_status(&facts, now) {
            return verdict_value(revocation::check(&facts, &status));
        }
        // Otherwise the store is read. A store that answers at once (MemoryStore) completes
        // the lookup on the first poll, and the answer goes back without a Promise.
        let inner = Rc::clone(&self.inner);
        let mut lookup: BoxedAnswer = Box::pin(async move {
            let Some(checker) = &inner.core.revocations else {
                return Ok(JsValue::UNDEFINED);
            };
            let outcome = checker.status(&facts, now).await;
            Ok(verdict_value(
                outcome.and_then(|status| revocation::check(&facts, &status)),
            ))
        });
        match lookup
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(verdict) => verdict.unwrap_or_else(|error| error),
            Poll::Pending => promise(lookup).into(),
        }
    }

    /// Applies a revocation (`{jti,…}`, `{sub,before?}`, `{before}`) through the store; resolves
    /// with the request as written, rejects with `revocation_unavailable` when the store fails.
    pub fn revoke(&self, request_json: &str, now: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        let now = seconds(now);
        // The core's reading of the three forms (the Worker's admin API uses the same); a bad
        // argument is a TypeError in JS.
        let request = serde_json::from_str::<Value>(request_json)
            .map_err(|_| Error::new(ErrorCode::InvalidClaim, revocation::REQUEST_FORMS))
            .and_then(|value| {
                let leeway_s = inner.policy().claims.leeway_s;
                RevocationRequest::from_json_form(value, now, leeway_s, "revoked")
            })
            .map_err(|e| type_error(&format!("revoke(): {}", e.message())));
        apply(inner, request, now, "revoke()")
    }

    /// Revokes a presented token by its `jti` (logout): verifies it first (without revocation)
    /// and rejects with the verification error, or `missing_claim` when it has no `jti`.
    #[wasm_bindgen(js_name = revokeToken)]
    pub fn revoke_token(&self, token: &str, reason: &str, now: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        let now = seconds(now);
        let request = self
            .inner
            .verify_token(token, now)
            .0
            .and_then(|verified| RevocationRequest::for_token(&verified.revocation_facts(), reason))
            .map_err(|e| error_value(&e));
        apply(inner, request, now, "revokeToken()")
    }

    /// Store reads made by this validator's revocation checker.
    #[wasm_bindgen(js_name = storeReads)]
    pub fn store_reads(&self) -> f64 {
        js_number(self.inner.core.store_reads())
    }
}

/// Applies a revocation through the store: resolves with the request as written, rejects with
/// the request's error, a TypeError without a store, or `revocation_unavailable`.
fn apply(
    inner: Rc<Inner>,
    request: Result<RevocationRequest, JsValue>,
    now: u64,
    what: &'static str,
) -> Promise {
    promise(Box::pin(async move {
        let request = request?;
        if inner.core.revocations.is_none() {
            return Err(type_error(&format!(
                "{what} needs a revocation store (new Validator(config, {{ store }}))"
            )));
        }
        inner
            .core
            .revoke(&request, now)
            .await
            .map_err(|e| error_value(&e))?;
        Ok(to_json(&request).into())
    }))
}
