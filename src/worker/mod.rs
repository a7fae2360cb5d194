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

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};

use wasm_bindgen::prelude::*;
use worker::{console_error, web_sys, Env, Method, Request};

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

/// The Worker's fetch handler: the JS shim hands it every request and returns what it gives,
/// a `Response` or a `Promise` of one.
///
/// Not `#[event(fetch)]`, which makes every request a spawned task behind a new Promise. Most
/// requests are decided without waiting (a cached token, the revocation snapshot in memory)
/// and forwarded by handing back the origin fetch's own Promise, so the handler is polled
/// once here; only a request that must wait inside Rust (KV, the authority, a JWKS fetch,
/// WebCrypto) becomes a task, resumed where it stopped.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, _ctx: JsValue) -> JsValue {
    let mut handling = Box::pin(respond(req, env));
    let relay = Arc::new(WakeRelay::default());
    let first_waker = Waker::from(relay.clone());
    match handling
        .as_mut()
        .poll(&mut std::task::Context::from_waker(&first_waker))
    {
        Poll::Ready(reply) => reply,
        Poll::Pending => {
            let resumed = std::future::poll_fn(move |cx| {
                relay.follow(cx.waker());
                handling.as_mut().poll(cx)
            });
            wasm_bindgen_futures::future_to_promise(async move { Ok(resumed.await) }).into()
        }
    }
}

/// The waker of the handler's first poll. Some futures keep the waker of their first poll
/// only (workers-rs's `Delay` does), so this one must reach the task that takes the handler
/// over: it wakes whatever waker that task polled with last.
#[derive(Default)]
struct WakeRelay(Mutex<Option<Waker>>);

impl WakeRelay {
    fn follow(&self, waker: &Waker) {
        if let Ok(mut current) = self.0.lock() {
            match current.as_ref() {
                Some(known) if known.will_wake(waker) => {}
                _ => *current = Some(waker.clone()),
            }
        }
    }
}

impl Wake for WakeRelay {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Before the task's first poll there is no one to wake, and nothing is lost: that
        // poll comes anyway.
        let waker = self.0.lock().ok().and_then(|current| current.clone());
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A `Response`, or a `Promise` of one (the origin's answer); an internal failure is logged
/// and answered 500, as workers-rs does.
async fn respond(req: web_sys::Request, env: Env) -> JsValue {
    match route(req, &env).await {
        Ok(reply) => reply,
        Err(error) => {
            console_error!("{error}");
            worker::Response::error("INTERNAL SERVER ERROR", 500)
                .map(|r| web_sys::Response::from(r).into())
                .unwrap_or(JsValue::UNDEFINED)
        }
    }
}

async fn route(req: web_sys::Request, env: &Env) -> worker::Result<JsValue> {
    REQUESTS.with(|n| n.set(n.get() + 1));
    let state = match state(env) {
        Ok(state) => state,
        Err(error) => return Ok(web_sys::Response::from(http::config_failure(&error)?).into()),
    };
    let url = req.url();
    let path = http::path(&url);
    if !(path.starts_with("/v1/") || path.starts_with("/.well-known/")) {
        return proxy::handle(&state, &req, &url, path).await;
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
    Ok(web_sys::Response::from(response?).into())
}
