//! The remote JWKS on Workers: fetched with the Worker's fetch, shared across isolates through
//! KV, one refresh at a time per isolate. The decisions (freshness, refetch budget, staleness)
//! are the core's (`crate::jwks`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use worker::kv::KvStore;
use worker::{
    console_log, AbortController, AbortSignal, Delay, Fetch, Method, Request, RequestInit,
    RequestRedirect, Response, ResponseBody,
};

use crate::error::Result;
use crate::gateway::jwks::{CachedJwks, JwksSettings, RemoteJwks, MAX_DOCUMENT_BYTES};
use crate::keys::KeySet;
use crate::Alg;

/// One identity provider's JWKS for this isolate.
pub struct JwksClient {
    url: String,
    kv: KvStore,
    kv_key: String,
    remote: RefCell<RemoteJwks>,
    /// Inline keys merged with the remote set, rebuilt when a new set arrives.
    merged: RefCell<Option<(u64, Rc<KeySet>)>>,
    refreshing: Cell<bool>,
    fetches: Cell<u64>,
}

/// Clears the refresh flag however the refresh ends.
struct RefreshGuard<'a>(&'a Cell<bool>);

impl Drop for RefreshGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl JwksClient {
    /// A client for `url`, sharing its copy under `jwks:<sha256(url)>` in `kv`.
    pub fn new(url: String, settings: JwksSettings, algorithms: Vec<Alg>, kv: KvStore) -> Self {
        let digest = Sha256::digest(url.as_bytes());
        let kv_key = format!(
            "jwks:{}",
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Self {
            url,
            kv,
            kv_key,
            remote: RefCell::new(RemoteJwks::new(settings, algorithms)),
            merged: RefCell::new(None),
            refreshing: Cell::new(false),
            fetches: Cell::new(0),
        }
    }

    /// Fetches made by this isolate so far.
    pub fn fetches(&self) -> u64 {
        self.fetches.get()
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.remote.borrow().settings().timeout_ms)
    }

    /// The inline keys merged with the remote set usable at `now` (refreshing first if due).
    pub async fn keys(&self, inline: &KeySet, now: u64) -> Result<Rc<KeySet>> {
        if self.remote.borrow().needs_refresh(now) {
            self.refresh(now).await;
        }
        self.merged_keys(inline, now)
    }

    /// After an unknown kid: refetch if the budget allows (once per interval), and say so.
    pub async fn refetch_for_unknown_kid(&self, now: u64) -> bool {
        if !self.remote.borrow_mut().may_refetch_for_unknown_kid(now) {
            return false;
        }
        self.refresh(now).await;
        true
    }

    fn merged_keys(&self, inline: &KeySet, now: u64) -> Result<Rc<KeySet>> {
        let remote = self.remote.borrow();
        let keys = remote.keys(now)?;
        let fetched_at = remote.fetched_at().unwrap_or_default();
        let mut merged = self.merged.borrow_mut();
        match merged.as_ref() {
            Some((at, keys)) if *at == fetched_at => Ok(keys.clone()),
            _ => {
                let keys = Rc::new(inline.merged(keys));
                *merged = Some((fetched_at, keys.clone()));
                Ok(keys)
            }
        }
    }

    /// One refresh at a time: a request arriving during a refresh waits for it only if there is
    /// no set at all, else it goes on with the current one.
    async fn refresh(&self, now: u64) {
        if self.refreshing.replace(true) {
            let deadline = self.timeout() * 2;
            let mut waited = Duration::ZERO;
            while self.refreshing.get() && !self.remote.borrow().has_keys() && waited < deadline {
                Delay::from(Duration::from_millis(10)).await;
                waited += Duration::from_millis(10);
            }
            return;
        }
        let _guard = RefreshGuard(&self.refreshing);
        self.remote.borrow_mut().fetch_started(now);
        // Another isolate may already have fetched a newer set: take it from KV first.
        if self.read_shared().await && !self.remote.borrow().needs_refresh_ignoring_attempts(now) {
            return;
        }
        self.fetches.set(self.fetches.get() + 1);
        match self.fetch().await {
            Ok((body, cache_control)) => {
                let accepted = self
                    .remote
                    .borrow_mut()
                    .accept(&body, cache_control.as_deref(), now)
                    .is_ok();
                if accepted {
                    self.write_shared(now).await;
                } else {
                    console_log!(
                        "{}",
                        serde_json::json!({"event": "edge_jwt_jwks_rejected", "url": self.url})
                    );
                }
            }
            Err(why) => {
                console_log!(
                    "{}",
                    serde_json::json!({"event": "edge_jwt_jwks_fetch_failed", "url": self.url, "why": why})
                );
            }
        }
    }

    /// Reads the copy other isolates stored; true when it replaced what this isolate held.
    async fn read_shared(&self) -> bool {
        let read = Box::pin(self.kv.get(&self.kv_key).text());
        let Either::Left((Ok(Some(text)), _)) = select(read, Delay::from(self.timeout())).await
        else {
            return false;
        };
        let Ok(cached) = serde_json::from_str::<CachedJwks>(&text) else {
            return false;
        };
        let before = self.remote.borrow().fetched_at();
        let _ = self.remote.borrow_mut().accept_shared(cached);
        self.remote.borrow().fetched_at() != before
    }

    async fn write_shared(&self, now: u64) {
        let Some((value, ttl)) = self.remote.borrow().shared_copy(now) else {
            return;
        };
        // KV's minimum expiration is 60 s; a failed write only costs other isolates a fetch.
        if let Ok(put) = self.kv.put(&self.kv_key, value) {
            let _ = select(
                Box::pin(put.expiration_ttl(ttl.max(60)).execute()),
                Delay::from(self.timeout()),
            )
            .await;
        }
    }

    /// Fetches the set within `timeout_ms` (body included): redirects are not followed, and the
    /// body is read with the size limit enforced as it streams in.
    async fn fetch(&self) -> std::result::Result<(String, Option<String>), String> {
        let controller = AbortController::default();
        let work = Box::pin(fetch_document(&self.url, controller.signal()));
        match select(work, Delay::from(self.timeout())).await {
            Either::Left((Ok(fetched), _)) => Ok(fetched),
            Either::Left((Err(why), _)) => {
                controller.abort();
                Err(why)
            }
            Either::Right((_, work)) => {
                drop(work);
                controller.abort();
                Err("timed out".into())
            }
        }
    }
}

async fn fetch_document(
    url: &str,
    signal: AbortSignal,
) -> std::result::Result<(String, Option<String>), String> {
    let mut init = RequestInit::new();
    // A redirect is a failure: the set comes from the configured URL or not at all (it could
    // otherwise lead to another host, or from https to http).
    init.with_method(Method::Get)
        .with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let mut response = Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status_code();
    if (300..400).contains(&status) {
        return Err(format!(
            "HTTP {status}: redirect not followed (jwks_url must serve the set itself)"
        ));
    }
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let cache_control = response.headers().get("cache-control").ok().flatten();
    let body = read_limited(&mut response).await?;
    Ok((body, cache_control))
}

/// The body as text, failing before reading when `Content-Length` is over
/// [`MAX_DOCUMENT_BYTES`] and as soon as more than that has arrived (the stream is then
/// cancelled).
async fn read_limited(response: &mut Response) -> std::result::Result<String, String> {
    let declared = response.headers().get("content-length").ok().flatten();
    if let Some(length) = declared.and_then(|v| v.trim().parse::<u64>().ok()) {
        if length > MAX_DOCUMENT_BYTES as u64 {
            return Err(format!(
                "document too large (Content-Length {length} > {MAX_DOCUMENT_BYTES} bytes)"
            ));
        }
    }
    let mut body = Vec::new();
    if let ResponseBody::Stream(_) = response.body() {
        let mut stream = response.stream().map_err(|e| e.to_string())?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!(
                    "document too large (more than {MAX_DOCUMENT_BYTES} bytes)"
                ));
            }
            body.extend_from_slice(&chunk);
        }
    }
    String::from_utf8(body).map_err(|_| "document is not UTF-8".into())
}
