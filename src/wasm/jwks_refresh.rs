//! `CoreValidator`'s remote JWKS methods: whether a refresh is due, the refresh itself through
//! the host's fetch ([`crate::wasm::jwks_host`]), and what `stats()` reports of it.

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::convert::{js_number, promise, seconds, to_json};
use super::validator::CoreValidator;

#[wasm_bindgen(js_class = CoreValidator)]
impl CoreValidator {
    /// Whether the host should call `jwksRefresh` before verifying: a verification found its
    /// provider's set due, or named an unknown kid within the refetch budget
    /// ([`EdgeValidator::refresh_wanted`]). `false` without remote keys.
    ///
    /// [`EdgeValidator::refresh_wanted`]: crate::gateway::edge::EdgeValidator::refresh_wanted
    #[wasm_bindgen(js_name = jwksNeedsRefresh)]
    pub fn jwks_needs_refresh(&self) -> bool {
        self.inner.core.refresh_wanted()
    }

    /// Sets how the host fetches the JWKS: `fetch(url, timeoutMs)` resolves `[body,
    /// cacheControl]` (redirects refused, body size bounded) or rejects with why.
    #[wasm_bindgen(js_name = setJwksFetch)]
    pub fn set_jwks_fetch(&self, fetch: Function) {
        *self.inner.jwks_host.fetch.borrow_mut() = Some(fetch);
    }

    /// Refreshes the remote sets verifications asked for through the host's fetch, one refresh
    /// at a time per set (the edge validator's rules, as in the Worker). Resolves `true` when a
    /// new set came into force (the host's cache of verified tokens must go); never rejects (a
    /// failure leaves the last good set, and its reason in `jwksLastError`).
    #[wasm_bindgen(js_name = jwksRefresh)]
    pub fn jwks_refresh(&self, now: f64) -> Promise {
        let inner = Rc::clone(&self.inner);
        promise(Box::pin(async move {
            let renewed = inner
                .core
                .refresh_wanted_sets(&inner.jwks_host, seconds(now))
                .await;
            Ok(renewed.into())
        }))
    }

    /// Remote fetches (JWKS and discovery documents) made so far.
    #[wasm_bindgen(js_name = jwksFetches)]
    pub fn jwks_fetches(&self) -> f64 {
        js_number(self.inner.core.jwks_fetches().unwrap_or(0))
    }

    /// Why the last refresh of a remote set failed or was refused, if one did and has not
    /// succeeded since (the first such set's reason).
    #[wasm_bindgen(js_name = jwksLastError)]
    pub fn jwks_last_error(&self) -> Option<String> {
        self.inner
            .core
            .remote_key_sets()
            .find_map(|set| set.last_error())
    }

    /// Each remote key set: `[{url, issuer, fetchedAt, fetches, lastError}]`.
    #[wasm_bindgen(js_name = jwksSets)]
    pub fn jwks_sets(&self) -> String {
        to_json(&self.inner.core.remote_key_set_report())
    }
}
