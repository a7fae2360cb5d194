//! The revocation authority's read replica over a JS object: the npm package's `SnapshotStore`
//! (js/src/stores/snapshot.mjs), which reads the edge Worker's published snapshot and asks it
//! for exact answers over HTTP. The replica ([`Replica`]) decides; this only moves bytes and
//! answers across the boundary, and every failure fails closed.

use js_sys::{Function, Promise, Reflect, Uint8Array, JSON};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::convert::type_error;
use super::jwks_host::js_sleep;
use crate::error::{Error, ErrorCode, Result};
use crate::revocation::replica::{Replica, ReplicaHost};
use crate::revocation::snapshot::MAX_SNAPSHOT_BYTES;
use crate::revocation::store::{jti_key, sub_key, GLOBAL_KEY};
use crate::revocation::{RevocationFacts, RevocationRequest, RevocationStatus};

/// The adapter js/src/stores/snapshot.mjs hands the core for a `SnapshotStore`: `key()` (a
/// fresh copy of the MAC key, zeroed here once read), `snapshot(fromAuthority)` → bytes or
/// null, `exactStatus(jti, sub)` → `{jti_revoked, subject_revoked_before,
/// global_revoked_before}`, `revoke(requestJson)` → the Worker's answer (`{epoch, …}`). Each
/// call is bounded by the policy's `revocation.timeout_ms` on the JS side.
pub(super) struct JsReplicaHost {
    target: JsValue,
    snapshot: Function,
    exact_status: Function,
    revoke: Function,
}

fn method(target: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(target, &name.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
}

fn unavailable(why: &str) -> Error {
    Error::new(ErrorCode::RevocationUnavailable, why)
}

/// The value a call resolved with, or the message it failed with.
async fn settle(
    result: std::result::Result<JsValue, JsValue>,
) -> std::result::Result<JsValue, String> {
    let outcome = match result {
        Ok(value) => JsFuture::from(Promise::resolve(&value)).await,
        Err(thrown) => Err(thrown),
    };
    outcome.map_err(|e| {
        Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .or_else(|| e.as_string())
            .unwrap_or_default()
    })
}

impl JsReplicaHost {
    /// Whether `store` is a snapshot store's adapter (it reads snapshots) rather than a
    /// key-value store.
    pub(super) fn is_replica_store(store: &JsValue) -> bool {
        method(store, "snapshot").is_some()
    }

    /// The host over `target`, and the replica its key verifies snapshots with (`ttl_s` and
    /// `interval_s`: the policy's `revocation.snapshot_ttl_s` and `publish_interval_s`).
    pub(super) fn new(
        target: JsValue,
        ttl_s: u64,
        interval_s: u64,
    ) -> std::result::Result<(JsReplicaHost, Replica), JsValue> {
        let needs = |name: &str| {
            method(&target, name).ok_or_else(|| {
                type_error(&format!(
                    "a snapshot store needs a {name}() method (use edge-jwt's SnapshotStore)"
                ))
            })
        };
        let key_of = needs("key")?;
        let key = key_of
            .call0(&target)
            .ok()
            .and_then(|k| k.dyn_into::<Uint8Array>().ok())
            .ok_or_else(|| type_error("a snapshot store's key() must give its key's bytes"))?;
        let bytes = Zeroizing::new(key.to_vec());
        key.fill(0, 0, key.length());
        let replica = Replica::new(&bytes, ttl_s, interval_s)
            .map_err(|e| type_error(&format!("SnapshotStore key: {}", e.message())))?;
        let host = JsReplicaHost {
            snapshot: needs("snapshot")?,
            exact_status: needs("exactStatus")?,
            revoke: needs("revoke")?,
            target,
        };
        Ok((host, replica))
    }

    /// Applies `request` at the edge (the Worker's `POST /v1/revoke`, through its authority)
    /// and has `replica` enforce it at once, until a snapshot of the write's epoch arrives.
    pub(super) async fn revoke(
        &self,
        replica: &Replica,
        request: &RevocationRequest,
        now: u64,
    ) -> Result<()> {
        let json = serde_json::to_string(request)
            .map_err(|_| unavailable("revocation request not encodable"))?;
        // The reason goes back to the caller of `revoke()` (an operator): the HTTP status and
        // the Worker's error, never a secret.
        let answer = settle(self.revoke.call1(&self.target, &json.into()))
            .await
            .map_err(|why| {
                unavailable(&format!("the edge did not confirm the revocation: {why}"))
            })?;
        let answer: Value = JSON::stringify(&answer)
            .ok()
            .and_then(|text| text.as_string())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        // An answer without an epoch comes from a Worker without an authority, which serves
        // no snapshot either; nothing to enforce ahead of one then.
        if let Some(epoch) = answer.get("epoch").and_then(Value::as_u64) {
            let (key, time) = match request {
                RevocationRequest::Jti { jti, .. } => (jti_key(jti), now),
                RevocationRequest::Subject { sub, before } => (sub_key(sub), *before),
                RevocationRequest::Global { before } => (GLOBAL_KEY.to_owned(), *before),
            };
            replica.learn(&key, time, epoch);
        }
        Ok(())
    }
}

impl ReplicaHost for JsReplicaHost {
    async fn snapshot(&self, from_authority: bool) -> Result<Option<Vec<u8>>> {
        let value = settle(self.snapshot.call1(&self.target, &from_authority.into()))
            .await
            .map_err(|_| unavailable("the revocation snapshot could not be read"))?;
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        let bytes = value
            .dyn_into::<Uint8Array>()
            .map_err(|_| unavailable("the revocation snapshot is not bytes"))?;
        if !usize::try_from(bytes.length()).is_ok_and(|n| n <= MAX_SNAPSHOT_BYTES) {
            return Err(unavailable("the revocation snapshot is too large"));
        }
        Ok(Some(bytes.to_vec()))
    }

    async fn exact_status(&self, facts: &RevocationFacts) -> Result<RevocationStatus> {
        let text = |v: &Option<String>| v.as_deref().map_or(JsValue::UNDEFINED, JsValue::from);
        let answer = settle(self.exact_status.call2(
            &self.target,
            &text(&facts.jti),
            &text(&facts.sub),
        ))
        .await
        .map_err(|_| unavailable("the revocation authority could not be asked"))?;
        JSON::stringify(&answer)
            .ok()
            .and_then(|text| text.as_string())
            .and_then(|text| serde_json::from_str::<RevocationStatus>(&text).ok())
            .ok_or_else(|| unavailable("the revocation authority's answer is unreadable"))
    }

    async fn sleep(&self, ms: u64) {
        js_sleep(ms).await;
    }
}
