//! The Cloudflare Worker: a thin host around the core.
//!
//! Routes: `/v1/health`, `/v1/introspect`, `/v1/revoke`, `/v1/refresh`, `/v1/logout`,
//! `/v1/revocation/{status,snapshot,check}`, `/.well-known/jwks.json`; every other path is the gateway (validate, then forward to
//! `ORIGIN`). Request parsing, KV and responses live here; every decision about a token is the
//! core's.

mod admin;
mod authority;
mod authority_client;
mod env;
mod http;
mod jwks_fetch;
mod kv;
mod metrics;
mod proxy;
mod state;
mod webcrypto;

use std::cell::{Cell, OnceCell};
use std::rc::Rc;

use worker::{event, web_sys, Context, Env, Method, Request};

use crate::error::Error;
use state::State;

thread_local! {
    /// Built once per isolate from the environment; a bad environment is remembered and every
    /// request answers `config_error` rather than running on a partial policy.
    static STATE: OnceCell<Result<Rc<State>, Error>> = const { OnceCell::new() };
    static REQUESTS: Cell<u64> = const { Cell::new(0) };
}

fn state(env: &Env) -> Result<Rc<State>, Error> {
    STATE.with(|cell| {
        cell.get_or_init(|| State::from_env(env).map(Rc::new))
            .clone()
    })
}

/// Seconds since the epoch, from the Workers clock.
pub(crate) fn now() -> u64 {
    worker::Date::now().as_millis() / 1000
}

#[event(fetch)]
async fn fetch(
    req: web_sys::Request,
    env: Env,
    _ctx: Context,
) -> worker::Result<web_sys::Response> {
    REQUESTS.with(|n| n.set(n.get() + 1));
    let state = match state(&env) {
        Ok(state) => state,
        Err(error) => return http::config_failure(&error).map(Into::into),
    };
    let url = req.url();
    let path = http::path(&url);
    let method = req.method();
    if !(path.starts_with("/v1/") || path.starts_with("/.well-known/")) {
        return proxy::handle(&state, req, &method, path).await;
    }
    // The API endpoints are few and rare: the convenient worker::Request will do.
    let req = Request::from(req);
    let response = match (req.method(), path) {
        (Method::Get, "/v1/health") => admin::health(&state, REQUESTS.with(Cell::get)),
        (Method::Get, "/.well-known/jwks.json") => admin::jwks(&state),
        (Method::Get, "/v1/revocation/status") => admin::revocation_status(&state),
        (Method::Get, "/v1/revocation/snapshot") => admin::revocation_snapshot(&state, req).await,
        (Method::Post, "/v1/revocation/check") => admin::revocation_check(&state, req).await,
        (Method::Post, "/v1/introspect") => admin::introspect(&state, req).await,
        (Method::Post, "/v1/revoke") => admin::revoke(&state, req).await,
        (Method::Post, "/v1/refresh") => admin::refresh(&state, req).await,
        (Method::Post, "/v1/logout") => admin::logout(&state, req).await,
        _ => http::json(&serde_json::json!({"error": "not_found"}), 404),
    };
    response.map(Into::into)
}
