//! The revocation authority: one Durable Object that every revocation write goes through when
//! the Worker has the `REVOCATION_AUTHORITY` binding. Writes run one at a time inside it
//! (`blockConcurrencyWhile`), so "later wins" for subject and global times is exact however
//! many isolates revoke at once, and a refresh consumes its token's jti exactly once across
//! isolates. Its own transactional storage is the authority; each write is also published to
//! the KV namespace the isolates read. Without the binding, isolates write KV themselves (a
//! read-then-write race between isolates; see the README). Entries leave the authority when
//! every token they cover has expired (the same lifetimes as KV's copies), swept by the writes.

use serde::{Deserialize, Serialize};
use worker::kv::KvStore;
use worker::{
    durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State, Storage,
};

use super::kv::{KvRevocations, BINDING as KV_BINDING};
use crate::error::{Error, ErrorCode, Result};
use crate::gateway::RevocationSettings;
use crate::revocation::store::jti_key;
use crate::revocation::{
    KeyValueStore, RevocationCache, RevocationChecker, RevocationRequest, Written,
};

/// Binding name of the authority's namespace.
pub const BINDING: &str = "REVOCATION_AUTHORITY";
/// The one object every write goes to.
const OBJECT_NAME: &str = "revocations";

/// A write sent to the authority.
#[derive(Debug, Serialize, Deserialize)]
pub struct WriteRequest {
    /// What to revoke.
    pub request: RevocationRequest,
    /// Refresh rotation: revoke the jti only if it was not revoked before (else `reused`).
    pub consume: bool,
    /// The time of the write.
    pub now: u64,
    /// The policy's longest token lifetime and leeway (how long entries live).
    pub longest_lifetime_s: u64,
    /// See `longest_lifetime_s`.
    pub leeway_s: u64,
}

/// The authority's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum WriteOutcome {
    /// Written (the entry's key and time, for the isolate's cache).
    Written(Written),
    /// `consume` found the jti already revoked: a reused refresh token.
    Reused,
    /// The write failed (the storage or KV could not be written).
    Failed(String),
}

/// The authority's storage as the store a [`RevocationChecker`] writes: reads come from the
/// object's own storage (the authority), writes go to it and to KV (the replica). Each entry
/// also gets an expiry index (`exp:<time>:<key>`, and `ttl:<key>` holding the time), so that
/// entries leave the authority when their tokens have expired, as KV's copies do.
struct AuthorityStore {
    storage: Storage,
    kv: KvRevocations,
    now: u64,
}

/// Most expired entries one write sweeps (the rest go with the next writes).
const SWEEP_LIMIT: usize = 128;

fn expiry_index(expires: u64, key: &str) -> String {
    format!("exp:{expires:020}:{key}")
}

fn storage_failed(_: worker::Error) -> Error {
    Error::new(ErrorCode::RevocationUnavailable, "authority write failed")
}

impl AuthorityStore {
    /// Deletes entries whose expiry has passed, oldest first, at most [`SWEEP_LIMIT`].
    async fn sweep(&self) -> Result<()> {
        let end = format!("exp:{:020};", self.now);
        let options = worker::ListOptions::new()
            .start("exp:")
            .end(&end)
            .limit(SWEEP_LIMIT);
        let expired = self
            .storage
            .list_with_options(options)
            .await
            .map_err(storage_failed)?;
        let mut doomed = Vec::new();
        for index in expired
            .keys()
            .into_iter()
            .filter_map(|k| k.ok()?.as_string())
        {
            // `exp:` + 20 digits + `:` precede the entry's key.
            if let Some(key) = index.get(25..) {
                doomed.push(key.to_owned());
                doomed.push(format!("ttl:{key}"));
            }
            doomed.push(index);
        }
        if !doomed.is_empty() {
            self.storage
                .delete_multiple(doomed)
                .await
                .map_err(storage_failed)?;
        }
        Ok(())
    }
}

impl KeyValueStore for AuthorityStore {
    async fn get(&self, key: &str) -> Result<Option<String>> {
        self.storage
            .get::<String>(key)
            .await
            .map_err(|_| Error::new(ErrorCode::RevocationUnavailable, "authority read failed"))
    }

    async fn put(&self, key: &str, value: &str, ttl_s: u64) -> Result<()> {
        let expires = self.now.saturating_add(ttl_s);
        let ttl_key = format!("ttl:{key}");
        // A rewritten entry (a later "before") drops its earlier expiry index.
        if let Ok(Some(earlier)) = self.storage.get::<u64>(&ttl_key).await {
            self.storage
                .delete(&expiry_index(earlier, key))
                .await
                .map_err(storage_failed)?;
        }
        self.storage.put(key, value).await.map_err(storage_failed)?;
        self.storage
            .put(&ttl_key, expires)
            .await
            .map_err(storage_failed)?;
        self.storage
            .put(&expiry_index(expires, key), "")
            .await
            .map_err(storage_failed)?;
        self.kv.put(key, value, ttl_s).await
    }
}

/// Applies one write, alone: called inside `blockConcurrencyWhile`.
async fn apply(storage: Storage, kv: KvStore, write: WriteRequest) -> WriteOutcome {
    let store = AuthorityStore {
        storage,
        kv: KvRevocations::new(kv, &RevocationSettings::default()),
        now: write.now,
    };
    let checker = RevocationChecker::new(
        store,
        RevocationCache::new(1, 0),
        write.longest_lifetime_s,
        write.leeway_s,
    );
    if let (true, RevocationRequest::Jti { jti, .. }) = (write.consume, &write.request) {
        match checker.store().get(&jti_key(jti)).await {
            Ok(Some(_)) => return WriteOutcome::Reused,
            Ok(None) => {}
            Err(e) => return WriteOutcome::Failed(e.message().to_owned()),
        }
    }
    let written = match checker.write(&write.request, write.now).await {
        Ok(written) => written,
        Err(e) => return WriteOutcome::Failed(e.message().to_owned()),
    };
    // Expired entries go with the writes that follow them; a failed sweep costs nothing but
    // space, and is retried by the next write.
    let _ = checker.store().sweep().await;
    WriteOutcome::Written(written)
}

/// The Durable Object class (`RevocationAuthority` in wrangler.toml).
#[durable_object]
pub struct RevocationAuthority {
    state: State,
    env: Env,
}

impl DurableObject for RevocationAuthority {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let write: WriteRequest = match req.json().await {
            Ok(write) => write,
            Err(_) => return Response::error("a revocation write is expected", 400),
        };
        let kv = self.env.kv(KV_BINDING)?;
        let storage = self.state.storage();
        let outcome = self
            .state
            .block_concurrency_while(async move { Ok(apply(storage, kv, write).await) })
            .await?;
        Response::from_json(&outcome)
    }
}

fn unavailable(why: &str) -> Error {
    Error::new(
        ErrorCode::RevocationUnavailable,
        format!("revocation authority {why}"),
    )
}

/// The authority's namespace, when the Worker has the binding.
pub fn namespace(env: &Env) -> Option<ObjectNamespace> {
    env.durable_object(BINDING).ok()
}

/// Sends a write to the authority and reads its answer.
pub async fn send(namespace: &ObjectNamespace, write: &WriteRequest) -> Result<WriteOutcome> {
    let stub = namespace
        .id_from_name(OBJECT_NAME)
        .and_then(|id| id.get_stub())
        .map_err(|_| unavailable("unreachable"))?;
    let body = serde_json::to_string(write).map_err(|_| unavailable("request not encodable"))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(body.into()));
    let request = Request::new_with_init("https://authority/write", &init)
        .map_err(|_| unavailable("request not buildable"))?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(|_| unavailable("unreachable"))?;
    response
        .json::<WriteOutcome>()
        .await
        .map_err(|_| unavailable("answered something else"))
}
