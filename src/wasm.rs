//! The npm package's wasm-bindgen surface (js/): a thin host around the core, like
//! `src/worker/`. Every decision about a token is the core's; this module only moves strings and
//! JSON across the boundary, holds per-instance state (the policy, the revocation checker over a
//! JS store, a bounded cache of verified tokens) and reports every failure as a JS error object
//! with `code`, `message` and `status`. Nothing here unwraps JS input: bad input becomes an error,
//! never a trap, so the instance stays usable.
//!
//! The JS side (js/src/api.mjs) wraps these exports into the public API.

use std::cell::{Ref, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::{Array, Function, Promise, Reflect};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::alg::Alg;
use crate::config::{Config, Policy, Secret, TracksConfig};
use crate::error::{Error, ErrorCode};
use crate::gateway::decision::{Pass, Plan, Refusal, RequestParts};
use crate::gateway::routes::Route;
use crate::gateway::edge::{Attempt, EdgeValidator, JwksHost};
use crate::gateway::{self, EdgePolicy};
use crate::inspect::{self, Inspection};
use crate::keygen;
use crate::keys::VerificationKey;
use crate::mint::{issue, IssueRequest, Signer};
use crate::policy::Verified;
use crate::revocation::{self, KeyValueStore, RevocationRequest};
use crate::token;
use crate::track::{TrackTable, TrackVerdict};
use crate::verify::{self, JwtCompact, SignatureBackend};

// ---------------------------------------------------------------------------------------------
// Errors across the boundary

/// A JS `Error` carrying the core's code and HTTP status.
fn error_value(error: &Error) -> JsValue {
    let value = js_sys::Error::new(error.message());
    let _ = Reflect::set(&value, &"code".into(), &error.code().code().into());
    let _ = Reflect::set(&value, &"status".into(), &error.status().into());
    if let Some(path) = error.path() {
        let _ = Reflect::set(&value, &"path".into(), &path.into());
    }
    value.into()
}

/// An edge-jwt error back from its JS form (`{code, message}`); `None` for `undefined`.
fn error_from_value(value: &JsValue) -> Option<Error> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    let text = |name: &str| {
        Reflect::get(value, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    Some(Error::new(code_from_name(&text("code")), text("message")))
}

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
    out.push(&route.index.map_or(-1.0, |i| i as f64).into());
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
    out
}

fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

fn code_from_name(name: &str) -> ErrorCode {
    ErrorCode::ALL
        .into_iter()
        .find(|code| code.code() == name)
        .unwrap_or(ErrorCode::ConfigError)
}

/// Seconds since the epoch from a JS number (the JS side checks it; this only saturates).
fn seconds(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value as u64
    } else {
        0
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing maps of strings and serde_json values cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// The module's memory, where the host writes tokens ([`CoreValidator::token_input`]).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Every code with its status, in documentation order: `[["malformed",401],…]`.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> String {
    let table: Vec<(&str, u16)> = ErrorCode::ALL
        .into_iter()
        .map(|code| (code.code(), code.status()))
        .collect();
    to_json(&table)
}

/// The response every edge-jwt host answers an error with: `[status, body, www-authenticate]`
/// (the last is `undefined` where RFC 6750 asks for none). Same bytes as the Worker's; `scope`
/// names a route's scopes in an `insufficient_scope` challenge.
#[wasm_bindgen(js_name = errorResponse)]
pub fn error_response(code: &str, message: &str, scope: Option<String>) -> Array {
    let error = Error::new(code_from_name(code), message);
    let out = Array::new();
    out.push(&error.status().into());
    out.push(&to_json(&gateway::error_body(&error)).into());
    out.push(
        &gateway::www_authenticate_with_scope(&error, scope.as_deref())
            .map(JsValue::from)
            .unwrap_or(JsValue::UNDEFINED),
    );
    out
}

/// The Worker's rejection log line (`{"event":"edge_jwt_reject",…}`), never the token itself.
/// `track` and `jti` come from an authenticated token refused later (revocation).
#[wasm_bindgen(js_name = rejectionLog)]
pub fn rejection_log(
    code: &str,
    message: &str,
    token: Option<String>,
    path: &str,
    track: Option<String>,
    jti: Option<String>,
) -> String {
    let error = Error::new(code_from_name(code), message);
    let verified = (track.is_some() || jti.is_some()).then(|| Verified {
        header: Default::default(),
        claims: Default::default(),
        claims_json: Vec::new(),
        registered: crate::claims::RegisteredClaims {
            jti,
            ..Default::default()
        },
        alg: Alg::HS256,
        kid: None,
        track: TrackVerdict {
            track,
            ttl_ceiling_s: 0,
        },
    });
    gateway::rejection_log(&error, token.as_deref(), verified.as_ref(), path).to_string()
}

/// The identity headers of a verified result, from its claims (JSON) and resolved track:
/// `[[name, value], …]`, as the Worker forwards them.
#[wasm_bindgen(js_name = identityHeaders)]
pub fn identity_headers(claims_json: &str, track: Option<String>) -> String {
    let claims: Map<String, Value> = serde_json::from_str(claims_json).unwrap_or_default();
    to_json(&gateway::identity_headers_of(&claims, track.as_deref()))
}

/// Whether a request header belongs to edge-jwt's identity namespace in any spelling
/// (`x-edge-jwt-…`, any case, `_` read as `-`): clients may not send one.
#[wasm_bindgen(js_name = isIdentityHeader)]
pub fn is_identity_header(name: &str) -> bool {
    gateway::is_identity_header(name)
}

/// `1h 02m 03s`, as the CLI prints durations.
#[wasm_bindgen(js_name = humanDuration)]
pub fn human_duration(seconds_value: f64) -> String {
    inspect::human_duration(seconds(seconds_value))
}

// ---------------------------------------------------------------------------------------------
// Revocation store over a JS object

/// Any JS object with `get(key) -> string|null` (or a Promise of one) and `put(key, value,
/// ttlSeconds)`. The JS side wraps user stores with the policy's timeout, and hands a plain
/// MemoryStore over with a `get` that answers at once; every failure here fails closed.
struct JsStore {
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
    fn new(target: JsValue) -> Result<JsStore, JsValue> {
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
            &(ttl_s as f64).into(),
        ))
        .await
        .map(|_| ())
        .map_err(|_| store_error("write failed"))
    }
}

// ---------------------------------------------------------------------------------------------
// The remote JWKS's I/O

/// The host's I/O for the remote JWKS ([`JwksHost`]): the fetch function it set
/// (`setJwksFetch`), `setTimeout`, and the last failure kept for `stats()`. No store is shared
/// between processes, so there is no shared copy.
#[derive(Default)]
struct JsJwksHost {
    fetch: RefCell<Option<Function>>,
    last_error: RefCell<Option<String>>,
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

impl JwksHost for JsJwksHost {
    async fn fetch(&self, url: &str, timeout_ms: u64) -> Result<(String, Option<String>), String> {
        let fetch = self.fetch.borrow().clone().ok_or("no fetch for the JWKS")?;
        let promise = fetch
            .call2(&JsValue::NULL, &url.into(), &(timeout_ms as f64).into())
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
        let wait = Promise::new(&mut |resolve, _| {
            let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into())
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok());
            if let Some(set_timeout) = set_timeout {
                let _ = set_timeout.call2(&JsValue::NULL, &resolve, &(ms as f64).into());
            } else {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        let _ = JsFuture::from(wait).await;
    }

    fn log(&self, event: &Value) {
        if let Some(why) = event.get("why").and_then(Value::as_str) {
            *self.last_error.borrow_mut() = Some(why.to_owned());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Verified-token cache

/// A bounded ring of verified tokens, so that a repeated token skips parsing and signature
/// checks. Only the time-independent part is remembered: [`Inner::recheck`] runs the core's
/// time checks again at every use. Ids never repeat; a slot reused for a newer token makes the
/// old id stale and the JS side verifies from scratch.
struct VerifiedCache {
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
        let index = (id % self.slots.len() as u64) as usize;
        (id, &self.slots[index].insert((id, verified)).1)
    }

    fn get(&self, id: u64) -> Option<&Verified> {
        match &self.slots[(id % self.slots.len() as u64) as usize] {
            Some((slot_id, verified)) if *slot_id == id => Some(verified),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The validator

struct Inner {
    /// The policies, the remote JWKS and the revocation checker: the Worker's edge validator.
    core: EdgeValidator<JsStore>,
    /// The host's I/O for the remote JWKS.
    jwks_host: JsJwksHost,
    cache: RefCell<VerifiedCache>,
    /// The host's native signature check, when it has one.
    host_crypto: RefCell<Option<HostCrypto>>,
    token_input: TokenInput,
    result: VerifyResult,
}

/// Signature checks by the host's native crypto ([`SignatureBackend`]): on Node and Deno,
/// OpenSSL through `node:crypto`. HMAC stays here (the call out would cost more than the MAC);
/// for the others the core has already chosen the key and matched the algorithm to it, and
/// refused a signature of the wrong length. The host's `prepare(alg, publicJwkJson)` imports a
/// key once and returns a [`HostVerifier`] (an object), kept here per key and algorithm. Any
/// other answer, or an exception (a key the host cannot import, say), leaves that key to
/// jwt-compact; so does a verifier that throws.
struct HostCrypto {
    prepare: Function,
    /// The host's verifier per (algorithm, [`VerificationKey::id`]); `None` where the host has
    /// none. Keys rebuilt from a refetched JWKS get new ids and are imported again; entries of
    /// dropped keys go when the list is cleared at [`MAX_HOST_VERIFIERS`].
    verifiers: RefCell<Vec<(Alg, u64, Option<HostVerifier>)>>,
}

#[wasm_bindgen]
extern "C" {
    /// `{ verify(messageAt, messageLength, signatureAt, signatureLength) → boolean }`: the
    /// host reads message and signature where they lie in wasm memory (the message is part of
    /// the token in [`TokenInput`], the signature was decoded here), so nothing is copied.
    type HostVerifier;

    #[wasm_bindgen(method, catch)]
    fn verify(
        this: &HostVerifier,
        message_at: u32,
        message_length: u32,
        signature_at: u32,
        signature_length: u32,
    ) -> Result<bool, JsValue>;
}

/// Most verifiers kept by [`HostCrypto`]; a key set rarely holds more than a handful.
const MAX_HOST_VERIFIERS: usize = 64;

/// Where `items` lie in wasm memory (a wasm32 address fits `u32`).
fn address_of<T>(items: &[T]) -> u32 {
    items.as_ptr() as usize as u32
}

impl HostCrypto {
    fn new(prepare: Function) -> Self {
        Self {
            prepare,
            verifiers: RefCell::new(Vec::new()),
        }
    }

    /// Runs `check` with the host's verifier for `alg` and `key` (prepared from its public JWK
    /// on first use); `None` when the host has none, as for an HMAC secret (no public JWK: it
    /// is always checked here). The JS verifier only reads wasm memory and never calls back
    /// into this validator, so the list stays borrowed while it runs (no clone of the JS
    /// object per check).
    fn with_verifier<R>(
        &self,
        alg: Alg,
        key: &VerificationKey,
        check: impl FnOnce(&HostVerifier) -> R,
    ) -> Option<R> {
        let found = self
            .verifiers
            .borrow()
            .iter()
            .position(|(known_alg, known_key, _)| *known_alg == alg && *known_key == key.id());
        let index = match found {
            Some(index) => index,
            None => {
                let jwk = key.public_jwk_json()?;
                let verifier = self
                    .prepare
                    .call2(
                        &JsValue::NULL,
                        &JsValue::from_str(alg.name()),
                        &JsValue::from_str(jwk),
                    )
                    .ok()
                    .filter(JsValue::is_object)
                    .map(JsCast::unchecked_into::<HostVerifier>);
                let mut verifiers = self.verifiers.borrow_mut();
                if verifiers.len() >= MAX_HOST_VERIFIERS {
                    verifiers.clear();
                }
                verifiers.push((alg, key.id(), verifier));
                verifiers.len() - 1
            }
        };
        self.verifiers.borrow()[index].2.as_ref().map(check)
    }
}

impl SignatureBackend for HostCrypto {
    fn verify(&self, alg: Alg, key: &VerificationKey, message: &[u8], signature: &[u8]) -> bool {
        let verdict = self.with_verifier(alg, key, |verifier| {
            if !verify::has_expected_length(alg, key, signature) {
                return Ok(false);
            }
            verifier.verify(
                address_of(message),
                message.len() as u32,
                address_of(signature),
                signature.len() as u32,
            )
        });
        match verdict {
            Some(Ok(verdict)) => verdict,
            // No host verifier for this key, or it threw: jwt-compact decides.
            None | Some(Err(_)) => JwtCompact.verify(alg, key, message, signature),
        }
    }
}

/// Where the host writes a token to verify, straight into wasm memory: `TextEncoder.encodeInto`
/// copies a string there in one native call (0.3 µs for a 435-character token here), where a
/// `&str` argument is copied by wasm-bindgen's glue one character at a time in JavaScript
/// (1.9 µs). Sized `max_token_bytes + 4`: `encodeInto` stops at most 3 bytes short of a full
/// buffer, so a token that did not fit still reads as longer than the limit (`too_large`).
/// The host writes the bytes only before it calls [`CoreValidator::verify_input`], when no
/// Rust reference to them is live; the core reads them only through a borrow taken in that
/// call (the `RefCell` keeps the core's own borrows apart; the JS calls made while it is held,
/// the host verifiers, only read).
struct TokenInput {
    bytes: RefCell<Box<[u8]>>,
}

impl TokenInput {
    fn new(max_token_bytes: usize) -> Self {
        Self {
            bytes: RefCell::new(vec![0; max_token_bytes + 4].into_boxed_slice()),
        }
    }

    /// `[address in wasm memory, length]`: the address is fixed (the buffer never grows).
    fn location(&self) -> Vec<u32> {
        let bytes = self.bytes.borrow();
        vec![address_of(&bytes), bytes.len() as u32]
    }

    /// The token in the first `len` bytes, after the size check [`token::parse`] starts with
    /// (bytes past the limit may end mid-character).
    fn read(&self, len: usize, max_token_bytes: usize) -> crate::Result<Ref<'_, str>> {
        token::check_size(len, max_token_bytes)?;
        Ref::filter_map(self.bytes.borrow(), |bytes| {
            std::str::from_utf8(bytes.get(..len)?).ok()
        })
        .map_err(|_| Error::new(ErrorCode::Malformed, "the token is not UTF-8 text"))
    }
}

/// The outcome of [`CoreValidator::verify_input`]; details are in its [`VerifyResult`]. The
/// JS side (js/src/api.mjs, `#check`) reads these values and the numbers' layout below.
const VERIFIED: u32 = 0;
/// Refused: the result's text is `{"code","message","status"}`.
const REFUSED: u32 = 1;
/// Refused with an unknown kid while a JWKS refetch is due: fetch, then verify again.
const REFUSED_REFETCH: u32 = 2;

/// How many numbers a [`VerifyResult`] holds.
const RESULT_NUMBERS: usize = 7;

/// Where [`CoreValidator::verify_input`] leaves its result for the host to read in place: a
/// fixed block of numbers and one reused text buffer, in wasm memory. A returned string cost
/// an allocation, a copy, a free and a JSON wrapper to parse around the claims. Numbers:
/// 0. id of the verified token in the cache (verified only);
/// 1. its ttl ceiling in seconds;
/// 2. the text's address;
/// 3. length of the claims' JSON text (refused: of the error's JSON text), first in the text;
/// 4. length of the header's JSON text, next; -1 when left out (the host holds that header);
/// 5. the header's serial ([`crate::token::Header::serial`]);
/// 6. length of the track's name, last; -1 when the token has none.
struct VerifyResult {
    numbers: RefCell<Box<[f64; RESULT_NUMBERS]>>,
    text: RefCell<Vec<u8>>,
}

impl VerifyResult {
    fn new() -> Self {
        Self {
            numbers: RefCell::new(Box::new([0.0; RESULT_NUMBERS])),
            text: RefCell::new(Vec::new()),
        }
    }

    /// The address of the numbers (fixed: the block never moves).
    fn location(&self) -> u32 {
        address_of(&self.numbers.borrow()[..])
    }

    /// Claims and header go out as the token's own JSON text rather than re-serialized: the
    /// strict parser accepted exactly those bytes (valid UTF-8, no duplicate names, bounded
    /// depth), so `JSON.parse` reads the same object and verification skips a serialization.
    fn verified(&self, id: u64, verified: &Verified, known_header: u64) {
        let header = &verified.header;
        let mut text = self.text.borrow_mut();
        text.clear();
        text.extend_from_slice(&verified.claims_json);
        let claims_length = text.len();
        let header_length = if header.serial != 0 && header.serial == known_header {
            -1.0
        } else {
            text.extend_from_slice(&header.json);
            header.json.len() as f64
        };
        let track_length = verified.track.track.as_ref().map_or(-1.0, |track| {
            text.extend_from_slice(track.as_bytes());
            track.len() as f64
        });
        **self.numbers.borrow_mut() = [
            id as f64,
            verified.track.ttl_ceiling_s as f64,
            f64::from(address_of(&text)),
            claims_length as f64,
            header_length,
            header.serial as f64,
            track_length,
        ];
    }

    fn refused(&self, error: &Error) {
        let mut text = self.text.borrow_mut();
        text.clear();
        text.extend_from_slice(error_json(error).as_bytes());
        let mut numbers = self.numbers.borrow_mut();
        numbers[2] = f64::from(address_of(&text));
        numbers[3] = text.len() as f64;
    }
}

fn error_json(error: &Error) -> String {
    to_json(&json!({
        "code": error.code().code(), "message": error.message(), "status": error.status()
    }))
}

fn inspection_json(inspection: &Inspection) -> String {
    let track = &inspection.track;
    to_json(&json!({
        "verified": inspection.verified,
        "warning": inspection.warning,
        "header": inspection.header,
        "claims": inspection.claims,
        "times": inspection.times,
        "timeLeft": inspection.time_left_s,
        "track": {
            "track": track.track,
            "ttlCeiling": track.ttl_ceiling_s,
            "lifetime": track.lifetime_s,
            "verdict": track.verdict,
        },
        "text": inspection.to_text(),
    }))
}

impl Inner {
    /// The edge validator's verification with the keys held now (see [`Attempt`]). The flag
    /// asks the host to refresh the remote set and verify again (an unknown kid, within the
    /// refetch budget).
    fn verify_token(&self, token: &str, now: u64) -> (crate::Result<Verified>, bool) {
        let host = self.host_crypto.borrow();
        let backend: &dyn SignatureBackend = match &*host {
            Some(host) => host,
            None => &JwtCompact,
        };
        match self.core.attempt(token, now, backend) {
            Attempt::Verified(verified) => (Ok(verified), false),
            Attempt::Refused(e) => (Err(e), false),
            Attempt::RefetchDue(e) => (Err(e), true),
        }
    }

    /// Whether a token verified earlier still stands (its times, a remote set still usable).
    fn recheck(&self, verified: &Verified, now: u64) -> bool {
        self.core.recheck(verified, now)
    }

    fn policy(&self) -> &crate::config::Policy {
        self.core.validator.policy()
    }

    fn edge(&self) -> &EdgePolicy {
        &self.core.edge
    }
}

/// The policy, the revocation checker and the verified-token cache of one `Validator`.
#[wasm_bindgen(js_name = CoreValidator)]
pub struct CoreValidator {
    inner: Rc<Inner>,
}

#[wasm_bindgen(js_class = CoreValidator)]
impl CoreValidator {
    /// Validates `config_json` (the core's schema). `store` is a store object or `undefined`;
    /// `token_cache_size` bounds the verified-token cache (0 still keeps the one slot the token
    /// just verified needs for its route and revocation checks).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config_json: &str,
        store: JsValue,
        token_cache_size: u32,
    ) -> Result<CoreValidator, JsValue> {
        let (validator, edge) = gateway::policy::load(config_json).map_err(|e| error_value(&e))?;
        let store = if store.is_undefined() || store.is_null() {
            None
        } else {
            Some(JsStore::new(store)?)
        };
        let max_token_bytes = validator.policy().max_token_bytes;
        Ok(CoreValidator {
            inner: Rc::new(Inner {
                core: EdgeValidator::new(validator, edge, store),
                jwks_host: JsJwksHost::default(),
                token_input: TokenInput::new(max_token_bytes),
                result: VerifyResult::new(),
                cache: RefCell::new(VerifiedCache::new(token_cache_size.min(1 << 20) as usize)),
                host_crypto: RefCell::new(None),
            }),
        })
    }

    /// Hands the asymmetric signature checks to the verifiers `prepare(alg, publicJwkJson)`
    /// makes (see [`HostCrypto`]); `undefined` returns them to jwt-compact.
    #[wasm_bindgen(js_name = setHostCrypto)]
    pub fn set_host_crypto(&self, prepare: Option<Function>) {
        *self.inner.host_crypto.borrow_mut() = prepare.map(HostCrypto::new);
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
            "jwks": edge.jwks.as_ref().map(|(url, settings)| json!({
                "url": url, "timeoutMs": settings.timeout_ms,
            })),
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
        vec![self.inner.result.location(), RESULT_NUMBERS as u32]
    }

    /// Full verification (no revocation) at `now` of the token the host has written into
    /// [`Self::token_input`] (its first `len` bytes): [`VERIFIED`], [`REFUSED`] or
    /// [`REFUSED_REFETCH`], details in the [`VerifyResult`]. The header's text is left out when
    /// its serial is `known_header` (the host holds that header already).
    #[wasm_bindgen(js_name = verifyInput)]
    pub fn verify_input(&self, len: u32, now: f64, known_header: f64) -> u32 {
        let max_token_bytes = self.inner.policy().max_token_bytes;
        let verified = match self.inner.token_input.read(len as usize, max_token_bytes) {
            Ok(token) => self.inner.verify_token(&token, seconds(now)),
            Err(error) => (Err(error), false),
        };
        let result = &self.inner.result;
        match verified {
            (Ok(verified), _) => {
                let mut cache = self.inner.cache.borrow_mut();
                let (id, verified) = cache.insert(verified);
                result.verified(id, verified, seconds(known_header));
                VERIFIED
            }
            (Err(error), refetch) => {
                result.refused(&error);
                if refetch {
                    REFUSED_REFETCH
                } else {
                    REFUSED
                }
            }
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
        let request = RequestParts {
            method,
            path: raw_path,
            headers: &headers,
            host_folds_case: fold_case,
        };
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
    /// revocation (with `id`, for the log line). Answers `["pass", path, edits]` or
    /// `["refuse", …]`; `null` when `id` is stale (the caller verifies again).
    #[wasm_bindgen(js_name = gatewayConclude)]
    pub fn gateway_conclude(
        &self,
        method: &str,
        raw_path: &str,
        headers_json: &str,
        fold_case: bool,
        id: Option<f64>,
        error: JsValue,
    ) -> Result<JsValue, JsValue> {
        let headers = header_pairs(headers_json)?;
        let request = RequestParts {
            method,
            path: raw_path,
            headers: &headers,
            host_folds_case: fold_case,
        };
        let edge = self.inner.edge();
        let Plan::Verify(pending) = edge.plan(&request) else {
            return Err(type_error(
                "gatewayConclude() follows a plan that asked to verify",
            ));
        };
        let cache = self.inner.cache.borrow();
        let verified = match id {
            Some(id) => match cache.get(seconds(id)) {
                Some(verified) => Some(verified),
                None => return Ok(JsValue::NULL),
            },
            None => None,
        };
        let outcome = match (error_from_value(&error), verified) {
            (Some(error), verified) => Err((error, verified)),
            (None, Some(verified)) => Ok(verified),
            (None, None) => return Err(type_error("gatewayConclude() needs an id or an error")),
        };
        Ok(match edge.conclude(&request, &pending, outcome) {
            Ok(pass) => pass_array(&pass, pending.route),
            Err(refusal) => refusal_array(&refusal),
        }
        .into())
    }

    /// Whether the host should call `jwksRefresh` before verifying ([`RemoteKeySet::needs_refresh`]:
    /// a refresh is due, or one is under way while no set is held). `false` without `jwks_url`.
    ///
    /// [`RemoteKeySet::needs_refresh`]: crate::gateway::edge::RemoteKeySet::needs_refresh
    #[wasm_bindgen(js_name = jwksNeedsRefresh)]
    pub fn jwks_needs_refresh(&self, now: f64) -> bool {
        self.inner
            .core
            .jwks
            .as_ref()
            .is_some_and(|j| j.needs_refresh(seconds(now)))
    }

    /// Sets how the host fetches the JWKS: `fetch(url, timeoutMs)` resolves `[body,
    /// cacheControl]` (redirects refused, body size bounded) or rejects with why.
    #[wasm_bindgen(js_name = setJwksFetch)]
    pub fn set_jwks_fetch(&self, fetch: Function) {
        *self.inner.jwks_host.fetch.borrow_mut() = Some(fetch);
    }

    /// Refreshes the remote JWKS through the host's fetch, one refresh at a time (the edge
    /// validator's rules, as in the Worker). Resolves `true` when a new set came into force
    /// (the host's cache of verified tokens must go); never rejects (a failure leaves the last
    /// good set, and its reason in `jwksLastError`).
    #[wasm_bindgen(js_name = jwksRefresh)]
    pub fn jwks_refresh(&self, now: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let renewed = match &inner.core.jwks {
                Some(jwks) => jwks.refresh(&inner.jwks_host, seconds(now)).await,
                None => false,
            };
            if renewed {
                inner.jwks_host.last_error.borrow_mut().take();
            }
            Ok(renewed.into())
        })
    }

    /// Remote JWKS fetches made so far.
    #[wasm_bindgen(js_name = jwksFetches)]
    pub fn jwks_fetches(&self) -> f64 {
        self.inner
            .core
            .jwks
            .as_ref()
            .map_or(0.0, |j| j.fetches() as f64)
    }

    /// Why the last remote JWKS fetch failed or was refused, if it did.
    #[wasm_bindgen(js_name = jwksLastError)]
    pub fn jwks_last_error(&self) -> Option<String> {
        self.inner.jwks_host.last_error.borrow().clone()
    }

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
        let mut lookup = Box::pin(async move {
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
            Poll::Pending => future_to_promise(lookup).into(),
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
        future_to_promise(async move {
            let request = request?;
            if inner.core.revocations.is_none() {
                return Err(type_error(
                    "revoke() needs a revocation store (new Validator(config, { store }))",
                ));
            }
            inner
                .core
                .revoke(&request, now)
                .await
                .map_err(|e| error_value(&e))?;
            Ok(to_json(&request).into())
        })
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
        future_to_promise(async move {
            let request = request?;
            if inner.core.revocations.is_none() {
                return Err(type_error(
                    "revokeToken() needs a revocation store (new Validator(config, { store }))",
                ));
            }
            inner
                .core
                .revoke(&request, now)
                .await
                .map_err(|e| error_value(&e))?;
            Ok(to_json(&request).into())
        })
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

    /// Store reads made by this validator's revocation checker.
    #[wasm_bindgen(js_name = storeReads)]
    pub fn store_reads(&self) -> f64 {
        self.inner.core.store_reads() as f64
    }
}

// ---------------------------------------------------------------------------------------------
// Inspection without a validator

/// A throwaway policy carrying only a track table (its secret never verifies anything), so the
/// `tracks` section is validated by the core's own rules and error paths.
fn tracks_only(tracks_json: Option<String>) -> Result<TrackTable, Error> {
    let tracks = match tracks_json {
        None => None,
        Some(text) => {
            let value: Value =
                serde_json::from_str(&text).map_err(|e| Error::config("tracks", e))?;
            Some(
                serde_path_to_error::deserialize::<_, TracksConfig>(value).map_err(|e| {
                    let path = e.path().to_string();
                    let path = if path == "." {
                        "tracks".to_owned()
                    } else {
                        format!("tracks.{path}")
                    };
                    Error::config(&path, e.into_inner())
                })?,
            )
        }
    };
    let config = Config {
        algorithms: vec!["HS256".to_owned()],
        secret: Some(Secret::new("inspect-only-policy-secret-never-used!")),
        tracks,
        ..Config::default()
    };
    Ok(Policy::new(config)?.tracks)
}

/// UNVERIFIED decode; `tracks_json` is a config's `tracks` section (default table when absent).
#[wasm_bindgen(js_name = inspectToken)]
pub fn inspect_token(
    token: &str,
    now: f64,
    tracks_json: Option<String>,
) -> Result<String, JsValue> {
    let tracks = tracks_only(tracks_json).map_err(|e| error_value(&e))?;
    inspect::inspect(token, &tracks, seconds(now))
        .map(|i| inspection_json(&i))
        .map_err(|e| error_value(&e))
}

// ---------------------------------------------------------------------------------------------
// Minting and keys

/// What `issue()` takes (`ttl` in seconds; the JS side converts `"30m"`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    sub: Option<String>,
    track: Option<Value>,
    ttl: Option<u64>,
    #[serde(default)]
    claims: Map<String, Value>,
}

/// A policy and a signing key, for hosts that mint tokens.
#[wasm_bindgen(js_name = CoreIssuer)]
pub struct CoreIssuer {
    policy: Policy,
    signer: Signer,
}

fn parse_alg(name: Option<String>) -> Result<Option<Alg>, Error> {
    name.map(|name| {
        Alg::from_name(&name).ok_or_else(|| {
            Error::config("alg", format!("{name:?} is not implemented by this build"))
        })
    })
    .transpose()
}

#[wasm_bindgen(js_class = CoreIssuer)]
impl CoreIssuer {
    /// `key_json` is a private JWK; without it the config's `secret` signs with `alg`, or with
    /// the first HMAC algorithm the policy allows (as the Worker's refresh does).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config_json: &str,
        key_json: Option<String>,
        alg: Option<String>,
    ) -> Result<CoreIssuer, JsValue> {
        Self::build(config_json, key_json, alg).map_err(|e| error_value(&e))
    }

    fn build(
        config_json: &str,
        key_json: Option<String>,
        alg: Option<String>,
    ) -> Result<CoreIssuer, Error> {
        let (config, edge) = gateway::policy::split(config_json)?;
        let secret = config.secret.clone();
        let (policy, _) = gateway::policy::build(config, edge)?;
        let alg = parse_alg(alg)?;
        let signer = Signer::for_policy(
            &policy,
            key_json.as_deref(),
            secret.as_ref().map(Secret::expose),
            alg,
        )?
        .ok_or_else(|| match secret {
            Some(_) => Error::config(
                "algorithms",
                "no HMAC algorithm is allowed: pass a private JWK to sign",
            ),
            None => Error::config(
                "key",
                "a private JWK is required unless the config has an HMAC secret",
            ),
        })?;
        Ok(CoreIssuer { policy, signer })
    }

    /// Mints a token: `{"token","jti","iat","exp","track"}`.
    pub fn issue(&self, request_json: &str, now: f64) -> Result<String, JsValue> {
        let body: IssueBody = serde_json::from_str(request_json).map_err(|e| {
            type_error(&format!(
                "issue() takes {{ sub?, track?, ttl?, claims? }}: {e}"
            ))
        })?;
        let track = match body.track {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
            Some(_) => {
                return Err(type_error(
                    "track must be a non-negative integer or a string",
                ))
            }
        };
        let issued = issue(
            &self.policy,
            &self.signer,
            IssueRequest {
                sub: body.sub,
                track,
                ttl_s: body.ttl,
                claims: body.claims,
            },
            seconds(now),
            &mut OsRng,
        )
        .map_err(|e| error_value(&e))?;
        Ok(to_json(&issued))
    }

    /// The signing algorithm.
    pub fn alg(&self) -> String {
        self.signer.alg().name().to_owned()
    }

    /// The public JWK of the signing key (`undefined` for HMAC).
    #[wasm_bindgen(js_name = publicJwk)]
    pub fn public_jwk(&self) -> Option<String> {
        self.signer.public_jwk().map(|jwk| to_json(&jwk))
    }
}

/// A new key: `{"privateJwk":…, "jwks":{"keys":[…]}|null}`.
#[wasm_bindgen(js_name = generateKey)]
pub fn generate_key(alg: &str, kid: Option<String>) -> Result<String, JsValue> {
    let alg = parse_alg(Some(alg.to_owned()))
        .and_then(|a| a.ok_or_else(|| Error::config("alg", "required")))
        .map_err(|e| error_value(&e))?;
    let key = keygen::generate(alg, kid.as_deref(), &mut OsRng).map_err(|e| error_value(&e))?;
    Ok(to_json(
        &json!({ "privateJwk": key.private_jwk, "jwks": key.public_jwks }),
    ))
}
