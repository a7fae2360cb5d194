//! `CoreValidator`'s revocation methods: the verdict for a token just verified — from the
//! replica of the edge's revocation authority when the store is a `SnapshotStore`
//! ([`crate::wasm::replica_host`]), else from the cached, fail-closed checker over the host's
//! store ([`crate::wasm::js_store`]) — and revocations written through either.

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
    /// Whether a revocation store is configured (a key-value store or a `SnapshotStore`).
    #[wasm_bindgen(js_name = hasStore)]
    pub fn has_store(&self) -> bool {
        self.inner.core.revocations.is_some() || self.inner.core.replica.is_some()
    }

    /// The revocation verdict for the token just verified as `id` (its facts from the cache of
    /// verified tokens): `undefined` when the token stands, an error object (`revoked`,
    /// `revocation_unavailable`) when it does not, or — when it cannot be answered at once — a
    /// Promise of one of those. `null` when `id` is stale (the caller verifies again).
    ///
    /// With a `SnapshotStore`, the replica decides: the held snapshot when it is as fresh as
    /// the token's track allows, an exact lookup for a filter hit or a track that allows no
    /// staleness, `revocation_unavailable` when neither can be had. Otherwise the checker's
    /// cache, then the store.
    #[wasm_bindgen(js_name = revocationStatus)]
    pub fn revocation_status(&self, id: f64, now: f64) -> JsValue {
        let facts = match self.inner.cache.borrow().get(seconds(id)) {
            Some(verified) => verified.revocation_facts(),
            None => return JsValue::NULL,
        };
        let now = seconds(now);
        let inner = Rc::clone(&self.inner);
        let lookup: BoxedAnswer = if self.inner.core.replica.is_some() {
            // The core's decision: per-track staleness, filter-hit confirmation, fail closed.
            Box::pin(async move {
                let host = &inner.replica_host;
                Ok(verdict(
                    inner.core.revocation_verdict(host, &facts, now).await,
                ))
            })
        } else {
            let Some(checker) = &self.inner.core.revocations else {
                return JsValue::UNDEFINED;
            };
            // The common case: the checker's cache knows every key, answered without a future.
            if let Some(status) = checker.cached_status(&facts, now) {
                return verdict(revocation::check(&facts, &status));
            }
            Box::pin(async move {
                let Some(checker) = &inner.core.revocations else {
                    return Ok(JsValue::UNDEFINED);
                };
                let status = checker.status(&facts, now).await;
                Ok(verdict(status.and_then(|s| revocation::check(&facts, &s))))
            })
        };
        answer_now_or_later(lookup)
    }

    /// Applies a revocation (`{jti,…}`, `{sub,before?}`, `{before}`) through the store (at the
    /// edge, for a `SnapshotStore`); resolves with the request as written, rejects with
    /// `revocation_unavailable` when the store fails.
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
        promise(Box::pin(apply(inner, request, now, "revoke()")))
    }

    /// Revokes a presented token by its `jti` (logout): verifies it first (without revocation,
    /// the signature through the host's WebCrypto where it is used) and rejects with the
    /// verification error, or `missing_claim` when it has no `jti`.
    #[wasm_bindgen(js_name = revokeToken)]
    pub fn revoke_token(&self, token: String, reason: String, now: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        let now = seconds(now);
        promise(Box::pin(async move {
            let request = inner
                .verify_token_refreshing(&token, now)
                .await
                .and_then(|verified| {
                    RevocationRequest::for_token(&verified.revocation_facts(), &reason)
                })
                .map_err(|e| error_value(&e));
            apply(inner, request, now, "revokeToken()").await
        }))
    }

    /// Store reads made by this validator's revocation checker (with a `SnapshotStore`:
    /// snapshot reads and exact lookups).
    #[wasm_bindgen(js_name = storeReads)]
    pub fn store_reads(&self) -> f64 {
        js_number(self.inner.core.store_reads())
    }

    /// The replica's view at `now` as JSON (epoch, age, loads, refused snapshots, …), or
    /// `undefined` without a `SnapshotStore`.
    #[wasm_bindgen(js_name = snapshotView)]
    pub fn snapshot_view(&self, now: f64) -> Option<String> {
        let replica = self.inner.core.replica.as_ref()?;
        Some(to_json(&replica.describe(seconds(now))))
    }
}

/// `undefined` when the token stands, else the error as a JS object.
fn verdict(outcome: crate::Result<()>) -> JsValue {
    match outcome {
        Ok(()) => JsValue::UNDEFINED,
        Err(e) => error_value(&e),
    }
}

/// The answer itself when the lookup completes on its first poll (a snapshot held and fresh,
/// a store that answers at once: nothing was awaited), else a Promise of it.
fn answer_now_or_later(mut lookup: BoxedAnswer) -> JsValue {
    match lookup
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(answer) => answer.unwrap_or_else(|error| error),
        Poll::Pending => promise(lookup).into(),
    }
}

/// Applies a revocation through the store, or at the edge for a `SnapshotStore`: resolves with
/// the request as written, rejects with the request's error, a TypeError without a store, or
/// `revocation_unavailable`.
async fn apply(
    inner: Rc<Inner>,
    request: Result<RevocationRequest, JsValue>,
    now: u64,
    what: &'static str,
) -> Result<JsValue, JsValue> {
    let request = request?;
    let applied = match (&inner.core.replica, &inner.replica_host) {
        // A read replica writes at the edge: its authority applies the write.
        (Some(replica), Some(host)) => host.revoke(replica, &request, now).await,
        _ if inner.core.revocations.is_some() => inner.core.revoke(&request, now).await,
        _ => {
            return Err(type_error(&format!(
                "{what} needs a revocation store (new Validator(config, {{ store }}))"
            )))
        }
    };
    applied.map_err(|e| error_value(&e))?;
    Ok(to_json(&request).into())
}
