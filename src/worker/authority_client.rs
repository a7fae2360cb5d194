//! An isolate's side of the revocation authority: writes sent to it, and the [`ReplicaHost`]
//! its revocation view reads through (the snapshot from KV, or from the authority when KV's
//! copy is missing or old; exact lookups for filter hits and strict tracks). Every read has a
//! deadline (`revocation.timeout_ms`): a slow answer fails closed.

use std::time::Duration;

use futures_util::future::{select, Either};
use serde::de::DeserializeOwned;
use worker::kv::KvStore;
use worker::wasm_bindgen::JsValue;
use worker::{web_sys, Delay, Method, ObjectNamespace, Request, Stub};

use super::authority::{
    proof_shard, status_request, ProofAnswer, ProofRecord, WriteOutcome, WriteRequest, OBJECT_NAME,
    SNAPSHOT_KV_KEY,
};
use crate::dpop::{ledger_key, CheckedProof, ProofLedger};
use crate::error::{Error, ErrorCode, Result};
use crate::revocation::replica::ReplicaHost;
use crate::revocation::{RevocationFacts, RevocationStatus};

/// The authority as an isolate reaches it.
pub struct AuthorityClient {
    namespace: ObjectNamespace,
    kv: KvStore,
    timeout: Duration,
}

fn unavailable(why: &str) -> Error {
    Error::new(
        ErrorCode::RevocationUnavailable,
        format!("revocation authority {why}"),
    )
}

/// Runs `work` within `timeout`.
async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match select(Box::pin(work), Delay::from(timeout)).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(_) => Err(unavailable("timed out")),
    }
}

impl AuthorityClient {
    /// A client of the object in `namespace`, reading the published snapshot from `kv`.
    pub fn new(namespace: ObjectNamespace, kv: KvStore, timeout_ms: u64) -> Self {
        Self {
            namespace,
            kv,
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    fn stub(&self, name: &str) -> Result<Stub> {
        self.namespace
            .id_from_name(name)
            .and_then(|id| id.get_stub())
            .map_err(|_| unavailable("unreachable"))
    }

    /// Sends `body` to `path` of the authority and returns the answer's bytes.
    async fn call(&self, method: Method, path: &str, body: Option<String>) -> Result<Vec<u8>> {
        self.call_object(OBJECT_NAME, method, path, body).await
    }

    /// Sends `body` to `path` of the object `name` and returns the answer's bytes (a non-2xx
    /// answer is a failure).
    async fn call_object(
        &self,
        name: &str,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Vec<u8>> {
        let init = web_sys::RequestInit::new();
        init.set_method(if method == Method::Get { "GET" } else { "POST" });
        if let Some(body) = body {
            init.set_body(&JsValue::from_str(&body));
        }
        let request =
            web_sys::Request::new_with_str_and_init(&format!("https://authority{path}"), &init)
                .map(Request::from)
                .map_err(|_| unavailable("request not buildable"))?;
        let mut response = self
            .stub(name)?
            .fetch_with_request(request)
            .await
            .map_err(|_| unavailable("unreachable"))?;
        if !(200..300).contains(&response.status_code()) {
            return Err(unavailable("failed"));
        }
        response
            .bytes()
            .await
            .map_err(|_| unavailable("answer unreadable"))
    }

    async fn call_json<T: DeserializeOwned>(&self, path: &str, body: String) -> Result<T> {
        let bytes = within(self.timeout, self.call(Method::Post, path, Some(body))).await?;
        serde_json::from_slice(&bytes).map_err(|_| unavailable("answered something else"))
    }

    /// Sends a write and reads the authority's answer. Writes get four times the read
    /// deadline: they wait their turn behind the writes of other isolates.
    pub async fn send(&self, write: &WriteRequest) -> Result<WriteOutcome> {
        let body =
            serde_json::to_string(write).map_err(|_| unavailable("request not encodable"))?;
        let bytes = within(
            self.timeout * 4,
            self.call(Method::Post, "/write", Some(body)),
        )
        .await?;
        serde_json::from_slice(&bytes).map_err(|_| unavailable("answered something else"))
    }
}

/// The global replay check of DPoP proofs: each proof recorded once in its shard object.
impl ProofLedger for AuthorityClient {
    async fn first_use(&self, proof: &CheckedProof) -> Result<bool> {
        let key = ledger_key(proof);
        let body = serde_json::to_string(&ProofRecord {
            key: key.clone(),
            expires: proof.expires_at,
        })
        .map_err(|_| unavailable("request not encodable"))?;
        let shard = proof_shard(&key);
        let call = self.call_object(&shard, Method::Post, "/proof", Some(body));
        let bytes = within(self.timeout, call).await.map_err(|_| {
            Error::new(
                ErrorCode::DpopReplayUnavailable,
                "the proof ledger did not answer",
            )
        })?;
        let answer: ProofAnswer = serde_json::from_slice(&bytes).map_err(|_| {
            Error::new(
                ErrorCode::DpopReplayUnavailable,
                "the proof ledger answered something else",
            )
        })?;
        Ok(answer.first)
    }
}

impl ReplicaHost for AuthorityClient {
    async fn snapshot(&self, from_authority: bool) -> Result<Option<Vec<u8>>> {
        if from_authority {
            return within(self.timeout, self.call(Method::Get, "/snapshot", None))
                .await
                .map(Some);
        }
        let read = async {
            self.kv
                .get(SNAPSHOT_KV_KEY)
                .bytes()
                .await
                .map_err(|_| unavailable("snapshot unreadable"))
        };
        within(self.timeout, read).await
    }

    async fn exact_status(&self, facts: &RevocationFacts) -> Result<RevocationStatus> {
        let body = serde_json::to_string(&status_request(facts))
            .map_err(|_| unavailable("request not encodable"))?;
        self.call_json("/status", body).await
    }

    async fn sleep(&self, ms: u64) {
        Delay::from(Duration::from_millis(ms)).await;
    }
}
