//! `CoreValidator`: one `Validator` of the npm package — the policies and the edge validator,
//! the bounded cache of verified tokens, verification through the buffers of
//! [`crate::wasm::abi`], and the gateway's decision for a request in two halves around the host's
//! verification. Its revocation methods are in [`crate::wasm::revoke`], its remote JWKS methods
//! in [`crate::wasm::jwks_refresh`].

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::{Array, Function};
use serde_json::json;
use wasm_bindgen::prelude::*;

use super::abi::{TokenInput, VerifyResult, REFUSED, REFUSED_REFETCH, RESULT_NUMBERS, VERIFIED};
use super::convert::{
    error_from_value, error_value, js_length, js_number, promise, seconds, to_json, type_error,
    wasm_u32,
};
use super::functions::inspection_json;
use super::host_crypto::{HostCrypto, InWasm, SignatureCounts};
use super::js_store::JsStore;
use super::jwks_host::JsJwksHost;
use super::replica_host::JsReplicaHost;
use super::web_crypto::WebCrypto;
use crate::dpop::{CertificateFingerprint, ClientCertificate, Scheme};
use crate::gateway::decision::{borrowed_pairs, Pass, Pending, Plan, Refusal, RequestParts};
use crate::gateway::edge::{Attempt, EdgeValidator};
use crate::gateway::routes::Route;
use crate::gateway::{self, EdgePolicy};
use crate::inspect;
use crate::policy::Verified;
use crate::verify::SignatureBackend;

// ---------------------------------------------------------------------------------------------
// Verified-token cache

/// A bounded ring of verified tokens, so that a repeated token skips parsing and signature
/// checks. Only the time-independent part is remembered: [`Inner::recheck`] runs the core's
/// time checks again at every use. Ids never repeat; a slot reused for a newer token makes the
/// old id stale and the JS side verifies from scratch.
pub(super) struct VerifiedCache {
    slots: Vec<Option<(u64, Verified)>>,
    next_id: u64,
}

impl VerifiedCache {
    /// A ring of `capacity` slots (at least one: the token just verified must be found again
    /// for its route and revocation checks).
    fn new(capacity: usize) -> Self {
        Self {
            slots: (0..capacity.max(1)).map(|_| None).collect(),
            next_id: 0,
        }
    }

    /// Stores `verified` under a fresh id, replacing the oldest entry.
    fn insert(&mut self, verified: Verified) -> (u64, &Verified) {
        let id = self.next_id;
        self.next_id += 1;
        let index = self.slot(id);
        (id, &self.slots[index].insert((id, verified)).1)
    }

    /// The slot of `id`. A wasm32 `usize` fits `u64`, and the remainder is below the number of
    /// slots, so neither fallback is ever taken.
    fn slot(&self, id: u64) -> usize {
        let slots = u64::try_from(self.slots.len()).unwrap_or(u64::MAX);
        usize::try_from(id % slots).unwrap_or(0)
    }

    pub(super) fn get(&self, id: u64) -> Option<&Verified> {
        match &self.slots[self.slot(id)] {
            Some((slot_id, verified)) if *slot_id == id => Some(verified),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The validator

pub(super) struct Inner {
    /// The policies, the remote JWKS and the revocation checker (or the replica of the edge's
    /// revocation authority): the Worker's edge validator.
    pub(super) core: EdgeValidator<JsStore>,
    /// The replica's I/O, when the store is a `SnapshotStore`.
    pub(super) replica_host: Option<JsReplicaHost>,
    /// The host's I/O for the remote JWKS.
    pub(super) jwks_host: JsJwksHost,
    pub(super) cache: RefCell<VerifiedCache>,
    /// The host's native signature check, when it has one (synchronous: node:crypto).
    host_crypto: RefCell<Option<HostCrypto>>,
    /// The same for DPoP proofs, keeping no proof key ([`HostCrypto::for_proofs`]).
    proof_crypto: RefCell<Option<HostCrypto>>,
    /// The host's WebCrypto, when it has it and no native check: used by the asynchronous
    /// verification only ([`Inner::verify_token_async`]).
    web_crypto: RefCell<Option<Rc<WebCrypto>>>,
    /// Signatures checked by the host's crypto and by jwt-compact.
    pub(super) signatures: Rc<SignatureCounts>,
    token_input: TokenInput,
    result: VerifyResult,
}

/// A verification under way: the outcome [`Inner::publish`] gives.
type PendingOutcome = Pin<Box<dyn Future<Output = u32>>>;

/// An [`Attempt`] as a result and the refetch flag.
fn attempted(attempt: Attempt) -> (crate::Result<Verified>, bool) {
    match attempt {
        Attempt::Verified(verified) => (Ok(verified), false),
        Attempt::Refused(e) => (Err(e), false),
        Attempt::RefetchDue(e) => (Err(e), true),
    }
}

impl Inner {
    /// The edge validator's verification with the keys held now (see [`Attempt`]), signatures
    /// checked synchronously (the host's native crypto, else jwt-compact). The flag asks the
    /// host to refresh the remote set and verify again (an unknown kid, within the refetch
    /// budget).
    pub(super) fn verify_token(&self, token: &str, now: u64) -> (crate::Result<Verified>, bool) {
        let host = self.host_crypto.borrow();
        let in_wasm = InWasm(&self.signatures);
        let backend: &dyn SignatureBackend = match &*host {
            Some(host) => host,
            None => &in_wasm,
        };
        attempted(self.core.attempt(token, now, backend))
    }

    /// [`Self::verify_token`] with the signature checked by the host's WebCrypto when it has
    /// it: the same steps in the same order, the signature awaited per candidate key.
    pub(super) async fn verify_token_async(
        &self,
        token: &str,
        now: u64,
    ) -> (crate::Result<Verified>, bool) {
        // Cloned out, so no borrow of the cell is held across the await.
        let web_crypto = self.web_crypto.borrow().clone();
        match web_crypto {
            Some(check) => attempted(self.core.attempt_with(token, now, &*check).await),
            None => self.verify_token(token, now),
        }
    }

    /// [`Self::verify_token_async`], refreshing the remote sets it asks for and verifying once
    /// more, as `verify()` does on the JS side (for the calls that verify inside the core:
    /// `revokeToken`).
    pub(super) async fn verify_token_refreshing(
        &self,
        token: &str,
        now: u64,
    ) -> crate::Result<Verified> {
        match self.verify_token_async(token, now).await {
            (Err(_), true) => {
                self.core.refresh_wanted_sets(&self.jwks_host, now).await;
                self.verify_token_async(token, now).await.0
            }
            (verified, _) => verified,
        }
    }

    /// Leaves a verification's result in the [`VerifyResult`] (a verified token goes into the
    /// cache of verified tokens first) and returns its outcome for the host.
    fn publish(&self, verified: (crate::Result<Verified>, bool), known_header: u64) -> u32 {
        match verified {
            (Ok(verified), _) => {
                let mut cache = self.cache.borrow_mut();
                let (id, verified) = cache.insert(verified);
                self.result.verified(id, verified, known_header);
                VERIFIED
            }
            (Err(error), refetch) => {
                self.result.refused(&error);
                if refetch {
                    REFUSED_REFETCH
                } else {
                    REFUSED
                }
            }
        }
    }

    /// Whether a token verified earlier still stands (its times, a remote set still usable).
    fn recheck(&self, verified: &Verified, now: u64) -> bool {
        self.core.recheck(verified, now)
    }

    pub(super) fn policy(&self) -> &crate::config::Policy {
        self.core.validator.policy()
    }

    fn edge(&self) -> &EdgePolicy {
        &self.core.edge
    }
}

/// The policy, the revocation checker and the verified-token cache of one `Validator`.
#[wasm_bindgen(js_name = CoreValidator)]
pub struct CoreValidator {
    pub(super) inner: Rc<Inner>,
}

#[wasm_bindgen(js_class = CoreValidator)]
impl CoreValidator {
    /// Validates `config_json` (the core's schema). `store` is a key-value store object, a
    /// `SnapshotStore`'s adapter (see [`JsReplicaHost`]: revocations are then checked against
    /// the edge's snapshot) or `undefined`; `token_cache_size` bounds the verified-token cache
    /// (0 still keeps the one slot the token just verified needs for its route and revocation
    /// checks).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config_json: &str,
        store: JsValue,
        token_cache_size: u32,
        dpop_nonce_key: Option<String>,
    ) -> Result<CoreValidator, JsValue> {
        let (validator, mut edge) =
            gateway::edge_policy::load(config_json).map_err(|e| error_value(&e))?;
        // The DPoP nonce secret (the `dpopNonceKey` option), for `gateway.dpop.nonce`.
        if let Some(secret) = dpop_nonce_key {
            let secret = zeroize::Zeroizing::new(secret.into_bytes());
            edge.sender
                .set_nonce_secret("dpopNonceKey", &secret)
                .map_err(|e| error_value(&e))?;
        }
        edge.sender
            .check_ready("dpopNonceKey")
            .and_then(|()| {
                edge.sender.check_ledger(
                    &edge.routes,
                    false,
                    "the Worker's revocation authority: the package checks proofs per validator",
                )
            })
            .map_err(|e| error_value(&e))?;
        let (store, replica) = if store.is_undefined() || store.is_null() {
            (None, None)
        } else if JsReplicaHost::is_replica_store(&store) {
            let r = &edge.revocation;
            let replica = JsReplicaHost::new(store, r.snapshot_ttl_s, r.publish_interval_s)?;
            (None, Some(replica))
        } else {
            (Some(JsStore::new(store)?), None)
        };
        let max_token_bytes = validator.policy().max_token_bytes;
        let core = EdgeValidator::new(validator, edge, store);
        let (core, replica_host) = match replica {
            Some((host, replica)) => (core.with_replica(replica), Some(host)),
            None => (core, None),
        };
        Ok(CoreValidator {
            inner: Rc::new(Inner {
                core,
                replica_host,
                jwks_host: JsJwksHost::default(),
                token_input: TokenInput::new(max_token_bytes),
                result: VerifyResult::new(),
                cache: RefCell::new(VerifiedCache::new(
                    usize::try_from(token_cache_size.min(1 << 20)).unwrap_or(1 << 20),
                )),
                host_crypto: RefCell::new(None),
                proof_crypto: RefCell::new(None),
                web_crypto: RefCell::new(None),
                signatures: Rc::default(),
            }),
        })
    }

    /// Hands the asymmetric signature checks to the verifiers `prepare(alg, publicJwkJson)`
    /// makes (see [`HostCrypto`]); `undefined` returns them to jwt-compact.
    #[wasm_bindgen(js_name = setHostCrypto)]
    pub fn set_host_crypto(&self, prepare: Option<Function>) {
        let counts = &self.inner.signatures;
        *self.inner.proof_crypto.borrow_mut() = prepare
            .clone()
            .map(|prepare| HostCrypto::for_proofs(prepare, Rc::clone(counts)));
        *self.inner.host_crypto.borrow_mut() =
            prepare.map(|prepare| HostCrypto::new(prepare, Rc::clone(counts)));
    }

    /// Hands the asymmetric signature checks of [`Self::verify_input_async`] to the host's
    /// WebCrypto through the verifiers `prepare(alg, jwkJson)` makes (see [`WebCrypto`]);
    /// `undefined` returns them to jwt-compact. [`Self::verify_input`] is not affected.
    #[wasm_bindgen(js_name = setWebCrypto)]
    pub fn set_web_crypto(&self, prepare: Option<Function>) {
        let counts = &self.inner.signatures;
        *self.inner.web_crypto.borrow_mut() =
            prepare.map(|prepare| Rc::new(WebCrypto::new(prepare, Rc::clone(counts))));
    }

    /// Signatures checked so far: `[by the host's crypto, by jwt-compact in wasm]`.
    #[wasm_bindgen(js_name = signatureCounts)]
    pub fn signature_counts(&self) -> Vec<f64> {
        let (host, wasm) = self.inner.signatures.get();
        vec![js_number(host), js_number(wasm)]
    }

    /// The settings hosts need: `{leeway, cookie, revocation: {cacheSize, cacheTtl, kvCacheTtl,
    /// timeoutMs}, algorithms}`.
    pub fn settings(&self) -> String {
        let policy = self.inner.policy();
        let edge = self.inner.edge();
        let r = &edge.revocation;
        to_json(&json!({
            "algorithms": policy.algorithms.iter().map(|a| a.name()).collect::<Vec<_>>(),
            "leeway": policy.claims.leeway_s,
            "cookie": edge.gateway.cookie,
            "forwardAuthorization": edge.gateway.forward_authorization,
            "adminScope": edge.gateway.admin_scope,
            "revocation": {
                "cacheSize": r.cache_size, "cacheTtl": r.cache_ttl_s,
                "kvCacheTtl": r.kv_cache_ttl_s, "timeoutMs": r.timeout_ms,
            },
            "jwks": edge.remote_sources.iter().any(Option::is_some),
        }))
    }

    /// Where the host writes a token for [`Self::verify_input`]: `[address in wasm memory,
    /// length in bytes]`, fixed for the validator's life.
    #[wasm_bindgen(js_name = tokenInput)]
    pub fn token_input(&self) -> Vec<u32> {
        self.inner.token_input.location()
    }

    /// Where [`Self::verify_input`] leaves its results: `[address, count]` of the numbers of
    /// a [`VerifyResult`], fixed for the validator's life.
    #[wasm_bindgen(js_name = resultNumbers)]
    pub fn result_numbers(&self) -> Vec<u32> {
        vec![self.inner.result.location(), wasm_u32(RESULT_NUMBERS)]
    }

    /// Full verification (no revocation) at `now` of the token the host has written into
    /// [`Self::token_input`] (its first `len` bytes): [`VERIFIED`], [`REFUSED`] or
    /// [`REFUSED_REFETCH`], details in the [`VerifyResult`]. The header's text is left out when
    /// its serial is `known_header` (the host holds that header already).
    #[wasm_bindgen(js_name = verifyInput)]
    pub fn verify_input(&self, len: u32, now: f64, known_header: f64) -> u32 {
        let max_token_bytes = self.inner.policy().max_token_bytes;
        let verified = match self
            .inner
            .token_input
            .read(usize::try_from(len).unwrap_or(usize::MAX), max_token_bytes)
        {
            Ok(token) => self.inner.verify_token(&token, seconds(now)),
            Err(error) => (Err(error), false),
        };
        self.inner.publish(verified, seconds(known_header))
    }

    /// [`Self::verify_input`] with the signature checked by the host's WebCrypto (see
    /// [`Self::set_web_crypto`]). Answers the outcome at once when nothing had to be awaited
    /// (HMAC, a token refused before its signature); otherwise a Promise that resolves with
    /// what `read(outcome)` returns, `read` being called the moment the result is in the
    /// [`VerifyResult`], so that no other verification can overwrite it before the host has
    /// read it. The token is copied out of the [`TokenInput`] first: the host may write the
    /// next one while this one awaits.
    #[wasm_bindgen(js_name = verifyInputAsync)]
    pub fn verify_input_async(
        &self,
        len: u32,
        now: f64,
        known_header: f64,
        read: Function,
    ) -> JsValue {
        let max_token_bytes = self.inner.policy().max_token_bytes;
        let known_header = seconds(known_header);
        let token = match self
            .inner
            .token_input
            .read(usize::try_from(len).unwrap_or(usize::MAX), max_token_bytes)
        {
            Ok(token) => token.to_owned(),
            Err(error) => return self.inner.publish((Err(error), false), known_header).into(),
        };
        let inner = Rc::clone(&self.inner);
        let now = seconds(now);
        let mut pending: PendingOutcome = Box::pin(async move {
            let verified = inner.verify_token_async(&token, now).await;
            inner.publish(verified, known_header)
        });
        match pending
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(outcome) => outcome.into(),
            Poll::Pending => promise(Box::pin(async move {
                let outcome = pending.await;
                read.call1(&JsValue::NULL, &outcome.into())
            }))
            .into(),
        }
    }

    /// Whether the cached token `id` still passes every time-dependent check at `now`. `false`
    /// when it does not or when the id is stale: the caller then verifies from scratch.
    pub fn recheck(&self, id: f64, now: f64) -> bool {
        let cache = self.inner.cache.borrow();
        cache
            .get(seconds(id))
            .is_some_and(|verified| self.inner.recheck(verified, seconds(now)))
    }

    /// The first half of the gateway's decision ([`EdgePolicy::plan`]) for a request:
    /// `headers_json` is a JSON list of `[name, value]` pairs as received, `fold_case` says the
    /// host routes ignoring case (Express by default). Answers `["pass", path, edits, …route]`,
    /// `["verify", path, token, …route]` or `["refuse", …refusal]` (see [`refusal_array`]);
    /// `edits` is `{"remove": [names], "set": [[name, value]]}` as JSON text, and the route is
    /// `index | -1 for the default route, mode, scopes`.
    #[wasm_bindgen(js_name = gatewayPlan)]
    pub fn gateway_plan(
        &self,
        method: &str,
        raw_path: &str,
        headers_json: &str,
        fold_case: bool,
    ) -> Result<Array, JsValue> {
        let headers = header_pairs(headers_json)?;
        let headers = borrowed_pairs(&headers);
        let request = RequestParts::new(method, raw_path, &headers, fold_case);
        let edge = self.inner.edge();
        Ok(match edge.plan(&request) {
            Plan::Pass(pass) => pass_array(&pass, edge.routes.get(pass.route)),
            Plan::Refuse(refusal) => refusal_array(&refusal),
            Plan::Verify(pending) => with_route(
                Array::of3(
                    &"verify".into(),
                    &pending.path.as_str().into(),
                    &pending.token.as_str().into(),
                ),
                pending.route,
            ),
        })
    }

    /// The second half ([`EdgePolicy::conclude`]) for the same request, after the host
    /// verified its token: `id` the verified token (in the cache of verified tokens), and
    /// `error` (`{code, message}`) when it was refused — by verification (no `id`) or by
    /// revocation (with `id`, for the log line). `path`, `token` and `route` are the plan's
    /// (its `["verify", path, token, route index, …]`), so the request is not planned twice.
    /// `method`, `uri` (absolute) and `certificate` (`{presented, verified, der?}` or
    /// `undefined`) are what the sender-constraint step reads; a DPoP proof's signature is
    /// checked by the host's native crypto when set, else jwt-compact.
    /// Answers `["pass", path, edits]` or `["refuse", …]`. When `id` is stale (its slot reused
    /// by other requests while this one awaited its store), the plan's token is verified again
    /// here at `now`, so the answer never depends on how many requests were in flight.
    #[wasm_bindgen(js_name = gatewayConclude)]
    #[allow(
        clippy::too_many_arguments,
        reason = "the JS boundary takes plain values, not a struct"
    )]
    pub fn gateway_conclude(
        &self,
        headers_json: &str,
        path: String,
        token: String,
        route: f64,
        id: Option<f64>,
        error: JsValue,
        now: f64,
        method: &str,
        uri: Option<String>,
        certificate: JsValue,
    ) -> Result<JsValue, JsValue> {
        let headers = header_pairs(headers_json)?;
        let headers = borrowed_pairs(&headers);
        // Headers, method, URI and certificate matter from here on (the edits, the sender
        // constraints); the route was planned.
        let der = certificate_field(&certificate, "der")
            .filter(|v| v.is_object())
            .map(|v| js_sys::Uint8Array::new(&v).to_vec());
        let client_certificate =
            (!certificate.is_undefined() && !certificate.is_null()).then(|| ClientCertificate {
                presented: certificate_field(&certificate, "presented")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                verified: certificate_field(&certificate, "verified")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                fingerprint: der.as_deref().map(CertificateFingerprint::Der),
            });
        let mut request = RequestParts::new(method, &path, &headers, false);
        if let Some(uri) = uri.as_deref() {
            request = request.with_uri(uri);
        }
        if let Some(certificate) = client_certificate {
            request = request.with_certificate(certificate);
        }
        let edge = self.inner.edge();
        let route = (route >= 0.0).then(|| usize::try_from(seconds(route)).unwrap_or(usize::MAX));
        // The scheme the plan found the token under, from the same headers.
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|&(_, v)| v)
        };
        let scheme = gateway::presented_token(
            header("authorization"),
            header("cookie"),
            edge.gateway.cookie.as_deref(),
        )
        .map_or(Scheme::Bearer, |(scheme, _)| scheme);
        let pending = Pending {
            token,
            path: path.clone(),
            route: edge.routes.get(route),
            scheme,
        };
        let cache = self.inner.cache.borrow();
        let reverified;
        let outcome = match (
            error_from_value(&error),
            id.map(|id| cache.get(seconds(id))),
        ) {
            (error, Some(None)) => match self.inner.verify_token(&pending.token, seconds(now)).0 {
                Ok(verified) => {
                    reverified = verified;
                    match error {
                        Some(error) => Err((error, Some(&reverified))),
                        None => Ok(&reverified),
                    }
                }
                Err(e) => Err((e, None)),
            },
            (Some(error), Some(Some(verified))) => Err((error, Some(verified))),
            (Some(error), None) => Err((error, None)),
            (None, Some(Some(verified))) => Ok(verified),
            (None, None) => return Err(type_error("gatewayConclude() needs an id or an error")),
        };
        let proof_crypto = self.inner.proof_crypto.borrow();
        let in_wasm = InWasm(&self.inner.signatures);
        let backend: &dyn SignatureBackend = match &*proof_crypto {
            Some(host) => host,
            None => &in_wasm,
        };
        Ok(
            match edge.conclude_using(&request, &pending, outcome, seconds(now), backend) {
                Ok(pass) => pass_array(&pass, pending.route),
                Err(refusal) => refusal_array(&refusal),
            }
            .into(),
        )
    }

    /// The request's token: `Authorization: Bearer …`, else the policy's cookie; throws
    /// `missing_token` or `malformed` (empty bearer) like the Worker.
    pub fn bearer(
        &self,
        authorization: Option<String>,
        cookie: Option<String>,
    ) -> Result<String, JsValue> {
        let cookie_name = self.inner.edge().gateway.cookie.as_deref();
        gateway::bearer_token(authorization.as_deref(), cookie.as_deref(), cookie_name)
            .map_err(|e| error_value(&e))
    }

    /// UNVERIFIED decode under this policy's track table.
    pub fn inspect(&self, token: &str, now: f64) -> Result<String, JsValue> {
        inspect::inspect(token, &self.inner.policy().tracks, seconds(now))
            .map(|i| inspection_json(&i))
            .map_err(|e| error_value(&e))
    }

    /// The policy's public keys as a JWKS (`{"keys":[]}` when it has only secrets).
    #[wasm_bindgen(js_name = publicJwks)]
    pub fn public_jwks(&self) -> String {
        let keys = self.inner.policy().keys.public_jwks();
        to_json(&json!({ "keys": keys }))
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway's answers as JS arrays

/// Request headers from their JSON form, a list of `[name, value]` pairs.
fn header_pairs(headers_json: &str) -> Result<Vec<(String, String)>, JsValue> {
    serde_json::from_str(headers_json)
        .map_err(|_| type_error("headers must be a JSON list of [name, value] pairs"))
}

/// `["pass", canonical path, edits as JSON text, …route]`.
fn pass_array(pass: &Pass, route: &Route) -> Array {
    let edits = to_json(&json!({"remove": pass.edits.remove, "set": pass.edits.set}));
    with_route(
        Array::of3(&"pass".into(), &pass.path.as_str().into(), &edits.into()),
        route,
    )
}

/// Appends a route's `index | -1 for the default route, mode, scopes`.
fn with_route(out: Array, route: &Route) -> Array {
    out.push(&route.index.map_or(-1.0, js_length).into());
    out.push(&route.mode_name().into());
    out.push(&route.scope_challenge().into());
    out
}

/// `["refuse", status, code, message, body, challenge | undefined, log line as JSON text]`.
fn refusal_array(refusal: &Refusal) -> Array {
    let out = Array::of4(
        &"refuse".into(),
        &refusal.status.into(),
        &refusal.error.code().code().into(),
        &refusal.error.message().into(),
    );
    out.push(&refusal.body.as_str().into());
    out.push(
        &refusal
            .challenge
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from),
    );
    out.push(&refusal.log.to_string().into());
    out.push(
        &refusal
            .dpop_nonce
            .as_deref()
            .map_or(JsValue::UNDEFINED, JsValue::from),
    );
    out
}

/// A member of the certificate object the host gave, when it has it.
fn certificate_field(certificate: &JsValue, name: &str) -> Option<JsValue> {
    if !certificate.is_object() {
        return None;
    }
    js_sys::Reflect::get(certificate, &name.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}
