//! `CoreValidator`'s remote JWKS methods: whether a refresh is due, the refresh itself through
//! the host's fetch ([`crate::wasm::jwks_host`]), and what `stats()` reports of it.

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::convert::{js_number, promise, seconds};
use super::validator::CoreValidator;

#[wasm_bindgen(js_class = CoreValidator)]
impl CoreValidator {
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
        promise(Box::pin(async move {
            let renewed = match &inner.core.jwks {
                Some(jwks) => jwks.refresh(&inner.jwks_host, seconds(now)).await,
                None => false,
            };
            if renewed {
                inner.jwks_host.last_error.borrow_mut().take();
            }
            Ok(renewed.into())
        }))
    }

    /// Remote JWKS fetches made so far.
    #[wasm_bindgen(js_name = jwksFetches)]
    pub fn jwks_fetches(&self) -> f64 {
        self.inner
            .core
            .jwks
            .as_ref()
            .map_or(0.0, |j| js_number(j.fetches()))
    }

    /// Why the last remote JWKS fetch failed or was refused, if it did.
    #[wasm_bindgen(js_name = jwksLastError)]
    pub fn jwks_last_error(&self) -> Option<String> {
        self.inner.jwks_host.last_error.borrow().clone()
    }
}
