//! The remote JWKS's I/O on Workers: the Worker's fetch, a copy shared across isolates through
//! KV (HMAC-sealed with `SNAPSHOT_KEY` when the Worker has it). Every decision (freshness, one
//! refresh at a time, refetch budget, staleness, the merge with inline keys) is the shared edge
//! validator's ([`crate::gateway::edge`]).

use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use worker::kv::KvStore;
use worker::{
    console_log, web_sys, AbortController, AbortSignal, Delay, Fetch, Request, Response,
    ResponseBody,
};

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::gateway::edge::JwksHost;
use crate::gateway::jwks::MAX_DOCUMENT_BYTES;

/// The Worker's I/O for the remote JWKS ([`JwksHost`]): the Worker's fetch, a copy shared
/// across isolates through KV, `Delay` and the console.
pub struct WorkerJwksHost {
    kv: KvStore,
    /// With `SNAPSHOT_KEY`: the shared copy carries an HMAC under it, so that write access to
    /// the KV namespace alone cannot add a verification key.
    seal_key: Option<Zeroizing<Vec<u8>>>,
}

impl WorkerJwksHost {
    /// A host sharing its copy in `kv`, sealed with `seal_key` when there is one.
    pub fn new(kv: KvStore, seal_key: Option<Zeroizing<Vec<u8>>>) -> Self {
        Self { kv, seal_key }
    }

    /// The HMAC of a shared copy, bound to the KV key it lives under (a copy of one provider's
    /// set cannot be moved under another's key).
    fn seal(&self, key: &str, value: &str) -> Option<String> {
        let secret = self.seal_key.as_ref()?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).ok()?;
        mac.update(b"edge-jwt shared jwks v1\0");
        mac.update(key.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        Some(Base64UrlUnpadded::encode_string(
            &mac.finalize().into_bytes(),
        ))
    }

    /// The value of a stored copy: as is without a key; with one, only when its seal verifies.
    fn unseal(&self, key: &str, stored: String) -> Option<String> {
        if self.seal_key.is_none() {
            return Some(stored);
        }
        let (tag, value) = stored.split_once('.')?;
        let expected = self.seal(key, value)?;
        bool::from(expected.as_bytes().ct_eq(tag.as_bytes())).then(|| value.to_owned())
    }
}

impl JwksHost for WorkerJwksHost {
    /// Fetches the set within `timeout_ms` (body included): redirects are not followed, and
    /// the body is read with the size limit enforced as it streams in.
    async fn fetch(
        &self,
        url: &str,
        timeout_ms: u64,
    ) -> std::result::Result<(String, Option<String>), String> {
        let controller = AbortController::default();
        let work = Box::pin(fetch_document(url, controller.signal()));
        match select(work, Delay::from(Duration::from_millis(timeout_ms))).await {
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

    async fn shared_get(&self, key: &str, timeout_ms: u64) -> Option<String> {
        let read = Box::pin(self.kv.get(key).text());
        match select(read, Delay::from(Duration::from_millis(timeout_ms))).await {
            Either::Left((Ok(text), _)) => self.unseal(key, text?),
            _ => None,
        }
    }

    async fn shared_put(&self, key: &str, value: String, ttl_s: u64, timeout_ms: u64) {
        let value = match self.seal(key, &value) {
            Some(tag) => format!("{tag}.{value}"),
            None if self.seal_key.is_some() => return,
            None => value,
        };
        // KV's minimum expiration is 60 s.
        if let Ok(put) = self.kv.put(key, value) {
            let _ = select(
                Box::pin(put.expiration_ttl(ttl_s.max(60)).execute()),
                Delay::from(Duration::from_millis(timeout_ms)),
            )
            .await;
        }
    }

    async fn sleep(&self, ms: u64) {
        Delay::from(Duration::from_millis(ms)).await;
    }

    fn log(&self, event: &serde_json::Value) {
        console_log!("{event}");
    }
}

async fn fetch_document(
    url: &str,
    signal: AbortSignal,
) -> std::result::Result<(String, Option<String>), String> {
    let init = web_sys::RequestInit::new();
    // A redirect is a failure: the set comes from the configured URL or not at all (it could
    // otherwise lead to another host, or from https to http).
    init.set_method("GET");
    init.set_redirect(web_sys::RequestRedirect::Manual);
    let request = web_sys::Request::new_with_str_and_init(url, &init)
        .map(Request::from)
        .map_err(|e| worker::Error::from(e).to_string())?;
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
    if let Some(length) = declared.and_then(|v| v.trim().parse::<usize>().ok()) {
        if length > MAX_DOCUMENT_BYTES {
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
