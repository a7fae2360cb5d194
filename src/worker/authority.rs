//! The revocation authority: one Durable Object that every revocation write goes through when
//! the Worker has the `REVOCATION_AUTHORITY` binding.
//!
//! - Writes run one at a time (`blockConcurrencyWhile`): "later wins" is exact however many
//!   isolates revoke at once, and a refresh consumes its token's jti exactly once. Presenting
//!   a rotated refresh token again revokes its subject's sessions (reuse detection).
//! - Its transactional storage is authoritative; the live set is also held in memory, loaded
//!   once per object start, and every change bumps a persisted, monotonic epoch.
//! - It publishes the set as a MAC'd snapshot ([`crate::revocation::snapshot`]) to Workers KV
//!   at most once per second after a change (an alarm batches the writes of that second) and
//!   at least every `revocation.publish_interval_s`, so a snapshot's age tells an isolate how
//!   far behind it is. It answers exact lookups for filter hits and strict tracks.
//! - Entries leave when every token they cover has expired (an expiry index, swept by writes
//!   and publications). On first start it imports the per-key entries an older deployment
//!   wrote to KV (README "Upgrading").

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use worker::kv::KvStore;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State, Storage};

use super::env::{env_string, snapshot_key};
use super::kv::BINDING as KV_BINDING;
use crate::error::{Error, ErrorCode, Result};
use crate::gateway::{edge_policy, RevocationSettings};
use crate::revocation::snapshot::{fingerprint, SnapshotContents};
use crate::revocation::store::{jti_key, sub_key, BeforeEntry, JtiEntry, GLOBAL_KEY};
use crate::revocation::{
    KeyValueStore, RevocationCache, RevocationChecker, RevocationRequest, RevocationStatus, Written,
};

/// Binding name of the authority's namespace.
pub const BINDING: &str = "REVOCATION_AUTHORITY";
/// The one object every write goes to.
pub const OBJECT_NAME: &str = "revocations";
/// DPoP proofs recorded for a global replay check (`gateway.dpop.replay: "global"`) go to
/// objects of the same class under their own names, `dpop-proofs-<n>`, one per shard of
/// proof keys: the revocation authority's one writer never waits behind proof traffic, and
/// proof traffic spreads over [`PROOF_SHARDS`] writers.
pub const PROOF_SHARDS: u32 = 16;

/// The object recording proof `key` ([`crate::dpop::ledger_key`]).
pub fn proof_shard(key: &str) -> String {
    let shard = key
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % PROOF_SHARDS;
    format!("dpop-proofs-{shard}")
}

/// A proof to record: its ledger key and the last second it is accepted.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProofRecord {
    /// [`crate::dpop::ledger_key`] of the proof.
    pub key: String,
    /// Until when a replay of it must be refused.
    pub expires: u64,
}

/// The answer to a [`ProofRecord`]: whether no isolate had recorded it before.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProofAnswer {
    /// `true` the first time, `false` for a replay.
    pub first: bool,
}
/// The KV key the snapshot is published under.
pub const SNAPSHOT_KV_KEY: &str = "revocation-snapshot";
/// Publications are at least this far apart (Workers KV takes one write per second per key).
const MIN_PUBLISH_GAP_MS: u64 = 1_000;

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

/// What the authority did with a write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Receipt {
    /// The entry written (its key and decisive time).
    pub written: Written,
    /// The epoch that carries it: a snapshot of this epoch or later enforces it.
    pub epoch: u64,
    /// When the snapshot carrying it is published (seconds; at most one second away).
    pub published_by: u64,
}

/// The authority's answer to a write.
#[derive(Debug, Serialize, Deserialize)]
pub enum WriteOutcome {
    /// Written.
    Written(Receipt),
    /// `consume` found the jti already rotated: a reused refresh token. The subject's
    /// sessions were revoked (the receipt of that revocation).
    Reused(Receipt),
    /// `consume` found the jti revoked for another reason (logout, admin): refused, nothing
    /// more revoked.
    Revoked,
    /// The write failed (the storage could not be written).
    Failed(String),
}

/// An exact lookup: a token's store keys.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatusRequest {
    /// `sub:` key of the token's subject.
    pub sub: Option<String>,
    /// `jti:` key of the token's id.
    pub jti: Option<String>,
}

/// The live set as the object holds it in memory: entries by fingerprint with their expiry.
#[derive(Default)]
struct LiveSet {
    loaded: bool,
    epoch: u64,
    jtis: HashMap<u128, u64>,
    /// Subject → (before, expires).
    subjects: HashMap<u128, (u64, u64)>,
    global: Option<(u64, u64)>,
    /// The last snapshot published, its epoch and when (milliseconds).
    published: Option<(Rc<Vec<u8>>, u64, u64)>,
}

impl LiveSet {
    /// Records an entry written to storage (`key`, its decisive time, its expiry).
    fn apply(&mut self, key: &str, time: u64, expires: u64) {
        let fp = fingerprint(key);
        if key.starts_with("jti") {
            self.jtis.insert(fp, expires);
        } else if key.starts_with("sub") {
            self.subjects.insert(fp, (time, expires));
        } else if key == GLOBAL_KEY {
            self.global = Some((time, expires));
        }
    }

    fn drop_expired(&mut self, now: u64) {
        self.jtis.retain(|_, expires| *expires > now);
        self.subjects.retain(|_, (_, expires)| *expires > now);
        self.global = self.global.filter(|(_, expires)| *expires > now);
    }

    fn status(&self, request: &StatusRequest, now: u64) -> RevocationStatus {
        let live = |expires: u64| expires > now;
        RevocationStatus {
            jti_revoked: request
                .jti
                .as_deref()
                .and_then(|k| self.jtis.get(&fingerprint(k)))
                .is_some_and(|e| live(*e)),
            subject_revoked_before: request
                .sub
                .as_deref()
                .and_then(|k| self.subjects.get(&fingerprint(k)))
                .filter(|(_, e)| live(*e))
                .map(|(before, _)| *before),
            global_revoked_before: self.global.filter(|(_, e)| live(*e)).map(|(b, _)| b),
        }
    }

    fn contents(&self, published_at: u64) -> SnapshotContents {
        SnapshotContents {
            epoch: self.epoch,
            published_at,
            global_before: self.global.map(|(before, _)| before),
            subjects: self
                .subjects
                .iter()
                .map(|(fp, (before, _))| (*fp, *before))
                .collect(),
            jtis: self.jtis.keys().copied().collect(),
        }
    }
}

/// The object's storage as the store a [`RevocationChecker`] writes. Each entry also gets an
/// expiry index (`exp:<time>:<key>`, and `ttl:<key>` holding the time) so that entries leave
/// when their tokens have expired; every entry written is recorded for the in-memory set.
struct AuthorityStore<'a> {
    storage: &'a Storage,
    now: u64,
    written: RefCell<Vec<(String, u64)>>,
}

/// Most expired entries one sweep deletes (the rest go with the next ones).
const SWEEP_LIMIT: usize = 128;
const EPOCH_KEY: &str = "meta:epoch";
const IMPORTED_KEY: &str = "meta:imported";

fn expiry_index(expires: u64, key: &str) -> String {
    format!("exp:{expires:020}:{key}")
}

fn storage_failed(_: worker::Error) -> Error {
    Error::new(ErrorCode::RevocationUnavailable, "authority storage failed")
}

/// Records a proof unless a record of it is still in force: `true` the first time.
async fn record_once(storage: &Storage, record: &ProofRecord, now: u64) -> Result<bool> {
    let key = format!("proof:{}", record.key);
    let seen = storage.get::<u64>(&key).await.map_err(storage_failed)?;
    if seen.is_some_and(|expires| expires >= now) {
        return Ok(false);
    }
    storage
        .put(&key, record.expires)
        .await
        .map_err(storage_failed)?;
    storage
        .put(&expiry_index(record.expires, &key), "")
        .await
        .map_err(storage_failed)?;
    // Expired proofs go with the records that follow them.
    let _ = sweep(storage, now).await;
    Ok(true)
}

/// Deletes entries whose expiry has passed, oldest first, at most [`SWEEP_LIMIT`].
async fn sweep(storage: &Storage, now: u64) -> Result<()> {
    let end = format!("exp:{now:020};");
    let options = worker::ListOptions::new()
        .start("exp:")
        .end(&end)
        .limit(SWEEP_LIMIT);
    let expired = storage
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
        storage
            .delete_multiple(doomed)
            .await
            .map_err(storage_failed)?;
    }
    Ok(())
}

impl KeyValueStore for AuthorityStore<'_> {
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
        self.written.borrow_mut().push((key.to_owned(), expires));
        Ok(())
    }
}

/// The entry's decisive time as stored (a jti's revocation time, a subject's "before").
fn stored_time(key: &str, value: &str) -> Option<u64> {
    if key.starts_with("jti") {
        serde_json::from_str::<JtiEntry>(value)
            .ok()
            .map(|e| e.revoked_at)
    } else {
        serde_json::from_str::<BeforeEntry>(value)
            .ok()
            .map(|e| e.before)
    }
}

/// The Durable Object class (`RevocationAuthority` in wrangler.toml).
#[durable_object]
pub struct RevocationAuthority {
    state: State,
    env: Env,
    live: Rc<RefCell<LiveSet>>,
}

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// The authority's settings, read from the same environment as the isolates'.
struct Settings {
    key: zeroize::Zeroizing<Vec<u8>>,
    revocation: RevocationSettings,
}

fn settings(env: &Env) -> Result<Settings> {
    let policy = env_string(env, "POLICY")
        .ok_or_else(|| Error::config("POLICY", "the POLICY var is not set"))?;
    let (_, edge) = edge_policy::split(&policy).map_err(|e| e.within("POLICY"))?;
    let key = snapshot_key(env)?.ok_or_else(|| {
        Error::config(
            "SNAPSHOT_KEY",
            "required with the REVOCATION_AUTHORITY binding",
        )
    })?;
    Ok(Settings {
        key,
        revocation: edge.revocation,
    })
}

impl RevocationAuthority {
    /// Loads the live set from storage once per object start (importing an older deployment's
    /// KV entries the first time ever). Runs inside `blockConcurrencyWhile`.
    async fn ensure_loaded(storage: &Storage, kv: &KvStore, live: &RefCell<LiveSet>) -> Result<()> {
        if live.borrow().loaded {
            return Ok(());
        }
        let now = super::now();
        if storage
            .get::<bool>(IMPORTED_KEY)
            .await
            .map_err(storage_failed)?
            .is_none()
        {
            import_from_kv(storage, kv, now).await?;
        }
        let mut set = LiveSet {
            epoch: storage
                .get::<u64>(EPOCH_KEY)
                .await
                .map_err(storage_failed)?
                .unwrap_or(0),
            ..LiveSet::default()
        };
        let mut start = "exp:".to_owned();
        loop {
            let page = storage
                .list_with_options(
                    worker::ListOptions::new()
                        .start(&start)
                        .end("exp;")
                        .limit(1_000),
                )
                .await
                .map_err(storage_failed)?;
            let keys: Vec<String> = page
                .keys()
                .into_iter()
                .filter_map(|k| k.ok()?.as_string())
                .collect();
            let Some(last) = keys.last() else { break };
            start = format!("{last}\0");
            let mut befores = Vec::new();
            for index in &keys {
                let (Some(expires), Some(key)) = (
                    index.get(4..24).and_then(|t| t.parse::<u64>().ok()),
                    index.get(25..),
                ) else {
                    continue;
                };
                if key.starts_with("jti") {
                    set.apply(key, 0, expires);
                } else {
                    befores.push((key.to_owned(), expires));
                }
            }
            for (key, expires) in befores {
                let value = storage.get::<String>(&key).await.map_err(storage_failed)?;
                if let Some(time) = value.as_deref().and_then(|v| stored_time(&key, v)) {
                    set.apply(&key, time, expires);
                }
            }
        }
        set.drop_expired(now);
        set.loaded = true;
        *live.borrow_mut() = set;
        Ok(())
    }

    /// Applies one write, alone (inside `blockConcurrencyWhile`).
    async fn apply(
        storage: Storage,
        live: Rc<RefCell<LiveSet>>,
        write: WriteRequest,
    ) -> Result<WriteOutcome> {
        let store = AuthorityStore {
            storage: &storage,
            now: write.now,
            written: RefCell::new(Vec::new()),
        };
        let checker = RevocationChecker::new(
            store,
            RevocationCache::new(1, 0),
            write.longest_lifetime_s,
            write.leeway_s,
        );
        let mut request = write.request;
        let mut reused = false;
        if let (true, RevocationRequest::Jti { jti, sub, .. }) = (write.consume, &request) {
            if let Some(raw) = checker.store().get(&jti_key(jti)).await? {
                let rotated = serde_json::from_str::<JtiEntry>(&raw)
                    .is_ok_and(|entry| entry.reason == "refresh");
                match (rotated, sub) {
                    // A rotated token presented again: someone holds a copy. Every session of
                    // its subject begun before now is revoked (OAuth 2.0 Security BCP §4.14.2).
                    (true, Some(sub)) => {
                        reused = true;
                        request = RevocationRequest::Subject {
                            sub: sub.clone(),
                            before: write.now,
                        };
                    }
                    _ => return Ok(WriteOutcome::Revoked),
                }
            }
        }
        let written = checker.write(&request, write.now).await?;
        let epoch = live.borrow().epoch + 1;
        storage
            .put(EPOCH_KEY, epoch)
            .await
            .map_err(storage_failed)?;
        {
            let mut set = live.borrow_mut();
            set.epoch = epoch;
            for (key, expires) in checker.store().written.borrow().iter() {
                let time = if *key == written.key { written.time } else { 0 };
                set.apply(key, time, *expires);
            }
        }
        // Expired entries go with the writes that follow them; a failed sweep costs nothing but
        // space, and is retried by the next write.
        let _ = sweep(&storage, write.now).await;
        let receipt = Receipt {
            written,
            epoch,
            published_by: 0,
        };
        Ok(if reused {
            WriteOutcome::Reused(receipt)
        } else {
            WriteOutcome::Written(receipt)
        })
    }

    /// Builds and publishes the snapshot now; the bytes.
    async fn publish(&self) -> Result<Rc<Vec<u8>>> {
        let settings = settings(&self.env)?;
        let now = now_ms();
        let bytes = {
            let mut set = self.live.borrow_mut();
            set.drop_expired(now / 1000);
            let bytes = Rc::new(set.contents(now / 1000).encode(&settings.key)?);
            set.published = Some((Rc::clone(&bytes), set.epoch, now));
            bytes
        };
        let kv = self.env.kv(KV_BINDING).map_err(storage_failed)?;
        kv.put_bytes(SNAPSHOT_KV_KEY, &bytes)
            .map_err(|_| Error::new(ErrorCode::RevocationUnavailable, "snapshot not written"))?
            .execute()
            .await
            .map_err(|_| Error::new(ErrorCode::RevocationUnavailable, "snapshot not written"))?;
        self.schedule(now + settings.revocation.publish_interval_s * 1000)
            .await;
        Ok(bytes)
    }

    /// The next publication: `at` (ms) unless one is due sooner.
    async fn schedule(&self, at: u64) {
        let storage = self.state.storage();
        let current = storage
            .get_alarm()
            .await
            .ok()
            .flatten()
            .and_then(|ms| u64::try_from(ms).ok());
        if current.is_none_or(|current| current > at) {
            let offset = i64::try_from(at.saturating_sub(now_ms())).unwrap_or(i64::MAX);
            // A failure leaves the snapshot to the next write or to an isolate's fallback read.
            let _ = storage.set_alarm(offset).await;
        }
    }

    /// When the change just made will be published: now, or one second after the last one.
    fn publish_time(&self) -> u64 {
        let last = self.live.borrow().published.as_ref().map(|(_, _, at)| *at);
        last.map_or(now_ms(), |at| (at + MIN_PUBLISH_GAP_MS).max(now_ms()))
    }

    async fn write(&self, mut req: Request) -> Result<Response> {
        let write: WriteRequest = req.json().await.map_err(|_| {
            Error::new(
                ErrorCode::MalformedRequest,
                "a revocation write is expected",
            )
        })?;
        let (storage, live) = (self.state.storage(), Rc::clone(&self.live));
        let outcome = self
            .state
            .block_concurrency_while(async move { Ok(Self::apply(storage, live, write).await) })
            .await
            .map_err(storage_failed)?;
        let mut outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => WriteOutcome::Failed(e.message().to_owned()),
        };
        if let WriteOutcome::Written(receipt) | WriteOutcome::Reused(receipt) = &mut outcome {
            let at = self.publish_time();
            receipt.published_by = at.div_ceil(1000);
            self.schedule(at).await;
        }
        Response::from_json(&outcome).map_err(storage_failed)
    }

    /// The snapshot for an isolate that found KV's copy missing or old: the last one when it
    /// is current, else a new publication (at most one per second).
    async fn snapshot(&self) -> Result<Response> {
        let current = {
            let set = self.live.borrow();
            set.published.as_ref().and_then(|(bytes, epoch, at)| {
                let fresh = *epoch == set.epoch && now_ms().saturating_sub(*at) < 1_000;
                fresh.then(|| Rc::clone(bytes))
            })
        };
        let bytes = match current {
            Some(bytes) => bytes,
            None => self.publish().await?,
        };
        Response::from_bytes(bytes.to_vec()).map_err(storage_failed)
    }

    /// Records a DPoP proof once (`POST /proof`, on a proof shard): the read and the write in
    /// one `blockConcurrencyWhile`, so two isolates sending the same proof get one `first`.
    async fn record_proof(&self, mut req: Request) -> Result<Response> {
        let record: ProofRecord = req
            .json()
            .await
            .map_err(|_| Error::new(ErrorCode::MalformedRequest, "a proof record is expected"))?;
        let storage = self.state.storage();
        let now = super::now();
        let first = self
            .state
            .block_concurrency_while(async move { Ok(record_once(&storage, &record, now).await) })
            .await
            .map_err(storage_failed)??;
        Response::from_json(&ProofAnswer { first }).map_err(storage_failed)
    }

    async fn route(&self, mut req: Request) -> Result<Response> {
        // A proof shard holds no revocation set: nothing to load.
        if (req.method(), req.path().as_str()) == (Method::Post, "/proof") {
            return self.record_proof(req).await;
        }
        let kv = self.env.kv(KV_BINDING).map_err(storage_failed)?;
        let (storage, live) = (self.state.storage(), Rc::clone(&self.live));
        self.state
            .block_concurrency_while(
                async move { Ok(Self::ensure_loaded(&storage, &kv, &live).await) },
            )
            .await
            .map_err(storage_failed)??;
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/write") => self.write(req).await,
            (Method::Post, "/status") => {
                let lookup: StatusRequest = req.json().await.map_err(|_| {
                    Error::new(ErrorCode::MalformedRequest, "a status lookup is expected")
                })?;
                let status = self.live.borrow().status(&lookup, super::now());
                Response::from_json(&status).map_err(storage_failed)
            }
            (Method::Get, "/snapshot") => self.snapshot().await,
            // One entry as stored (operators and tests; the object is reachable only through
            // its binding).
            (Method::Get, "/entry") => {
                let url = req.inner().url();
                let query = url.split_once('?').map_or("", |(_, q)| q);
                let query = query.split_once('#').map_or(query, |(q, _)| q);
                let key = worker::url::form_urlencoded::parse(query.as_bytes())
                    .find(|(name, _)| name == "key")
                    .map(|(_, key)| key.into_owned())
                    .unwrap_or_default();
                let raw = self
                    .state
                    .storage()
                    .get::<String>(&key)
                    .await
                    .map_err(storage_failed)?;
                let entry: Option<serde_json::Value> =
                    raw.and_then(|raw| serde_json::from_str(&raw).ok());
                Response::from_json(&entry).map_err(storage_failed)
            }
            _ => Response::error("not found", 404).map_err(storage_failed),
        }
    }
}

impl DurableObject for RevocationAuthority {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            live: Rc::default(),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        match self.route(req).await {
            Ok(response) => Ok(response),
            Err(e) => Response::error(e.message(), 503),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let kv = self.env.kv(KV_BINDING)?;
        let (storage, live) = (self.state.storage(), Rc::clone(&self.live));
        let loaded = self
            .state
            .block_concurrency_while(
                async move { Ok(Self::ensure_loaded(&storage, &kv, &live).await) },
            )
            .await?;
        if loaded.is_ok() && self.publish().await.is_ok() {
            let _ = sweep(&self.state.storage(), super::now()).await;
            return Response::ok("published");
        }
        // Retried by the runtime; the next heartbeat is set by the next success.
        Err(worker::Error::RustError("snapshot not published".into()))
    }
}

/// Copies the per-key entries an older deployment wrote to KV into the authority's storage,
/// once (`meta:imported`); each keeps its KV expiry.
async fn import_from_kv(storage: &Storage, kv: &KvStore, now: u64) -> Result<()> {
    let unavailable = |_| Error::new(ErrorCode::RevocationUnavailable, "KV import failed");
    for prefix in ["jti:", "jtih:", "sub:", "subh:", GLOBAL_KEY] {
        let mut cursor = None;
        loop {
            let mut list = kv.list().prefix(prefix.to_owned());
            if let Some(cursor) = cursor.take() {
                list = list.cursor(cursor);
            }
            let page = list.execute().await.map_err(unavailable)?;
            for key in page.keys {
                if prefix == GLOBAL_KEY && key.name != GLOBAL_KEY {
                    continue;
                }
                let Some(value) = kv.get(&key.name).text().await.map_err(unavailable)? else {
                    continue;
                };
                let expires = key.expiration.unwrap_or(now + 86_400);
                if expires <= now || stored_time(&key.name, &value).is_none() {
                    continue;
                }
                let store = AuthorityStore {
                    storage,
                    now,
                    written: RefCell::new(Vec::new()),
                };
                store.put(&key.name, &value, expires - now).await?;
            }
            if page.list_complete {
                break;
            }
            cursor = page.cursor;
        }
    }
    storage
        .put(IMPORTED_KEY, true)
        .await
        .map_err(storage_failed)
}

/// The authority's namespace, when the Worker has the binding.
pub fn namespace(env: &Env) -> Option<worker::ObjectNamespace> {
    env.durable_object(BINDING).ok()
}

/// The sub and jti keys of a token's facts, for an exact lookup.
pub fn status_request(facts: &crate::revocation::RevocationFacts) -> StatusRequest {
    StatusRequest {
        sub: facts.sub.as_deref().map(sub_key),
        jti: facts.jti.as_deref().map(jti_key),
    }
}
