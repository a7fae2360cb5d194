//! Revocation over a key-value store (Workers KV, Redis, memory): key layout, entry values,
//! entry lifetimes, and the cached, fail-closed lookup every host shares.
//!
//! Key layout (documented in the README):
//! - `jti:<jti>` → `{"reason","revoked_at","sub","exp"}`, expiring when the token would have;
//! - `sub:<sub>` → `{"before","revoked_at"}`, expiring once every token it covers has expired;
//! - `global`    → `{"before","revoked_at"}`, likewise.

use std::borrow::Cow;
use std::cell::RefCell;
use std::future::Future;

use futures_util::future::join3;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::cache::RevocationCache;
use super::{RevocationFacts, RevocationRequest, RevocationStatus};
use crate::error::{Error, ErrorCode, Result};

/// Key of the global "revoked before" entry.
pub const GLOBAL_KEY: &str = "global";
/// Shortest expiry a store entry gets (Workers KV refuses `expirationTtl` below 60 s).
pub const MIN_ENTRY_TTL_S: u64 = 60;

/// Longest id written into a key as is. Workers KV keys are at most 512 bytes; a longer `jti` or
/// `sub` is keyed by its SHA-256 under its own prefix (`jtih:`, `subh:`), so it cannot collide with
/// a literal id.
pub const MAX_LITERAL_ID_BYTES: usize = 200;

fn id_key(prefix: &str, id: &str) -> String {
    if id.len() <= MAX_LITERAL_ID_BYTES {
        // Concatenated, not format!: this runs twice per checked token, and the formatting
        // machinery cost more than the revocation cache lookups themselves.
        return [prefix, ":", id].concat();
    }
    let digest = sha2::Sha256::digest(id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}h:{hex}")
}

/// Store key of a revoked jti.
pub fn jti_key(jti: &str) -> String {
    id_key("jti", jti)
}

/// Store key of a revoked subject.
pub fn sub_key(sub: &str) -> String {
    id_key("sub", sub)
}

/// Value of a `jti:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JtiEntry {
    /// Why (`logout`, `refresh`, `admin`, …).
    pub reason: String,
    /// When it was revoked.
    pub revoked_at: u64,
    /// The token's subject, when known.
    #[serde(default)]
    pub sub: Option<String>,
    /// The token's expiry, when known.
    #[serde(default)]
    pub exp: Option<u64>,
}

/// Value of a `sub:` or `global` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeforeEntry {
    /// Tokens with `iat < before` are revoked.
    pub before: u64,
    /// When the entry was written.
    pub revoked_at: u64,
}

/// The few operations a revocation store needs. Implementations report failures as errors;
/// the checker turns any of them into `revocation_unavailable`.
pub trait KeyValueStore {
    /// Reads a key; `Ok(None)` when absent.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<String>>>;
    /// Writes a key that expires by itself after `ttl_s` seconds.
    fn put(&self, key: &str, value: &str, ttl_s: u64) -> impl Future<Output = Result<()>>;
}

fn unavailable() -> Error {
    Error::new(
        ErrorCode::RevocationUnavailable,
        "revocation status could not be checked",
    )
}

/// Reads an entry's decisive time; an unreadable value fails closed.
fn entry_time(key: &str, raw: &str) -> Result<u64> {
    let time = if key.starts_with("jti") {
        serde_json::from_str::<JtiEntry>(raw).map(|e| e.revoked_at)
    } else {
        serde_json::from_str::<BeforeEntry>(raw).map(|e| e.before)
    };
    time.map_err(|_| unavailable())
}

/// The status from what the global, subject and jti keys hold.
fn status_of(global: Option<u64>, subject: Option<u64>, jti: Option<u64>) -> RevocationStatus {
    RevocationStatus {
        jti_revoked: jti.is_some(),
        subject_revoked_before: subject,
        global_revoked_before: global,
    }
}

/// One entry a revocation wrote: its key and decisive time (see [`RevocationChecker::write`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// The store key (`jti:…`, `sub:…`, `global`).
    pub key: String,
    /// The jti's revocation time, or the subject's or global "before" in force.
    pub time: u64,
}

/// Revocation lookups and writes through a store, with a bounded per-isolate cache.
pub struct RevocationChecker<S> {
    store: S,
    cache: RefCell<RevocationCache>,
    /// Longest lifetime any token can have under the policy (ceilings + leeway): how long a
    /// subject or global entry must live.
    longest_lifetime_s: u64,
    leeway_s: u64,
    reads: std::cell::Cell<u64>,
}

impl<S: KeyValueStore> RevocationChecker<S> {
    /// A checker over `store`; `longest_lifetime_s` comes from the policy's track table.
    pub fn new(store: S, cache: RevocationCache, longest_lifetime_s: u64, leeway_s: u64) -> Self {
        Self {
            store,
            cache: RefCell::new(cache),
            longest_lifetime_s,
            leeway_s,
            reads: std::cell::Cell::new(0),
        }
    }

    /// The store written and read.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Store reads made so far (for the KV-reads-per-request figure).
    pub fn store_reads(&self) -> u64 {
        self.reads.get()
    }

    async fn lookup(&self, key: &str, now: u64, not_after: Option<u64>) -> Result<Option<u64>> {
        if let Some(cached) = self.cache.borrow().get(key, now) {
            return Ok(cached);
        }
        self.read(key, now, not_after).await
    }

    /// Reads one key from the store and caches the answer.
    async fn read(&self, key: &str, now: u64, not_after: Option<u64>) -> Result<Option<u64>> {
        self.reads.set(self.reads.get() + 1);
        let raw = self.store.get(key).await.map_err(|_| unavailable())?;
        let value = raw.map(|raw| entry_time(key, &raw)).transpose()?;
        self.cache.borrow_mut().insert(key, value, now, not_after);
        Ok(value)
    }

    /// The keys a token's status is read from (global, subject, jti), each with the latest time
    /// a cached answer for it may live to (`None`: the cache's own TTL). One list for the
    /// cached and the full path, so that neither can skip a key the other reads.
    fn status_keys(
        &self,
        facts: &RevocationFacts,
    ) -> [Option<(Cow<'static, str>, Option<u64>)>; 3] {
        [
            Some((Cow::Borrowed(GLOBAL_KEY), None)),
            facts
                .sub
                .as_deref()
                .map(|sub| (Cow::Owned(sub_key(sub)), None)),
            facts.jti.as_deref().map(|jti| {
                let not_after = facts.exp.saturating_add(self.leeway_s);
                (Cow::Owned(jti_key(jti)), Some(not_after))
            }),
        ]
    }

    /// What the cache alone says about a token, when it knows every key it needs; `None`
    /// otherwise (then [`Self::status`] reads the rest). Hosts ask this first to answer without
    /// a future in the common case.
    pub fn cached_status(&self, facts: &RevocationFacts, now: u64) -> Option<RevocationStatus> {
        let cache = self.cache.borrow();
        let [global, subject, jti] = self.status_keys(facts).map(|key| match key {
            Some((key, _)) => cache.get(&key, now),
            None => Some(None), // no such claim: nothing to look up
        });
        Some(status_of(global?, subject?, jti?))
    }

    /// What the store says about a token, reading only what the cache does not know; the
    /// (at most three) reads run concurrently.
    pub async fn status(&self, facts: &RevocationFacts, now: u64) -> Result<RevocationStatus> {
        let [global, subject, jti] = self.status_keys(facts).map(|key| async move {
            match key {
                Some((key, not_after)) => self.lookup(&key, now, not_after).await,
                None => Ok(None),
            }
        });
        let (global, subject, jti) = join3(global, subject, jti).await;
        Ok(status_of(global?, subject?, jti?))
    }

    /// What the store itself says about a token now, ignoring the cache (which learns the
    /// answers): for decisions that must not rest on an isolate's possibly stale view, such as
    /// minting a refresh token or logging out.
    pub async fn status_uncached(
        &self,
        facts: &RevocationFacts,
        now: u64,
    ) -> Result<RevocationStatus> {
        let [global, subject, jti] = self.status_keys(facts).map(|key| async move {
            match key {
                Some((key, not_after)) => self.read(&key, now, not_after).await,
                None => Ok(None),
            }
        });
        let (global, subject, jti) = join3(global, subject, jti).await;
        Ok(status_of(global?, subject?, jti?))
    }

    /// Applies a revocation. Idempotent: revoking twice, or an expired token, succeeds; a later
    /// "before" never gives way to an earlier one. The local cache learns it at once.
    pub async fn revoke(&self, request: &RevocationRequest, now: u64) -> Result<()> {
        let written = self.write(request, now).await?;
        self.learn(&written, now);
        Ok(())
    }

    /// Teaches this isolate's cache a write made elsewhere (through the revocation authority).
    pub fn learn(&self, written: &Written, now: u64) {
        self.cache
            .borrow_mut()
            .insert(&written.key, Some(written.time), now, None);
    }

    /// The store part of [`Self::revoke`]: the entry written, its time (the jti's revocation
    /// time, or the "before" now in force), without touching the cache. "Later wins" is a read
    /// then a write: exact when one writer at a time runs it (the revocation authority), a
    /// race between writers otherwise.
    pub async fn write(&self, request: &RevocationRequest, now: u64) -> Result<Written> {
        let (key, value, ttl, cached) = match request {
            RevocationRequest::Jti {
                jti,
                sub,
                exp,
                reason,
            } => {
                let entry = JtiEntry {
                    reason: reason.clone().unwrap_or_else(|| "revoked".into()),
                    revoked_at: now,
                    sub: sub.clone(),
                    exp: *exp,
                };
                let lives_until = exp.map_or(now.saturating_add(self.longest_lifetime_s), |e| {
                    e.saturating_add(self.leeway_s)
                });
                (
                    jti_key(jti),
                    serde_json::to_string(&entry),
                    lives_until.saturating_sub(now),
                    now,
                )
            }
            RevocationRequest::Subject { sub, before } => {
                let key = sub_key(sub);
                let before = self.latest_before(&key, *before).await?;
                let entry = BeforeEntry {
                    before,
                    revoked_at: now,
                };
                let ttl = (before.max(now) - now).saturating_add(self.longest_lifetime_s);
                (key, serde_json::to_string(&entry), ttl, before)
            }
            RevocationRequest::Global { before } => {
                let before = self.latest_before(GLOBAL_KEY, *before).await?;
                let entry = BeforeEntry {
                    before,
                    revoked_at: now,
                };
                let ttl = (before.max(now) - now).saturating_add(self.longest_lifetime_s);
                (
                    GLOBAL_KEY.to_owned(),
                    serde_json::to_string(&entry),
                    ttl,
                    before,
                )
            }
        };
        let value =
            value.map_err(|e| Error::new(ErrorCode::RevocationUnavailable, e.to_string()))?;
        self.store
            .put(&key, &value, ttl.max(MIN_ENTRY_TTL_S))
            .await
            .map_err(|_| {
                Error::new(
                    ErrorCode::RevocationUnavailable,
                    "revocation could not be stored",
                )
            })?;
        Ok(Written { key, time: cached })
    }

    /// Revokes one jti with the token's subject recorded (logout, refresh).
    pub async fn revoke_token(
        &self,
        facts: &RevocationFacts,
        reason: &str,
        now: u64,
    ) -> Result<()> {
        let request = RevocationRequest::for_token(facts, reason)?;
        self.revoke(&request, now).await
    }

    async fn latest_before(&self, key: &str, before: u64) -> Result<u64> {
        self.reads.set(self.reads.get() + 1);
        let existing = self.store.get(key).await.map_err(|_| unavailable())?;
        let existing = existing.map(|raw| entry_time(key, &raw)).transpose()?;
        Ok(existing.map_or(before, |e| e.max(before)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::task::{Context, Poll, Waker};

    /// An in-memory store with an off switch; futures complete immediately.
    #[derive(Default)]
    struct MemoryStore {
        data: RefCell<HashMap<String, (String, u64)>>,
        down: std::cell::Cell<bool>,
    }

    impl KeyValueStore for &MemoryStore {
        async fn get(&self, key: &str) -> Result<Option<String>> {
            if self.down.get() {
                return Err(Error::new(ErrorCode::RevocationUnavailable, "down"));
            }
            Ok(self.data.borrow().get(key).map(|(v, _)| v.clone()))
        }
        async fn put(&self, key: &str, value: &str, ttl_s: u64) -> Result<()> {
            self.data
                .borrow_mut()
                .insert(key.to_owned(), (value.to_owned(), ttl_s));
            Ok(())
        }
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("memory store futures never wait"),
        }
    }

    fn facts(jti: &str, iat: u64) -> RevocationFacts {
        RevocationFacts {
            jti: Some(jti.into()),
            sub: Some("alice".into()),
            iat: Some(iat),
            session_start: Some(iat),
            exp: iat + 3600,
            track: None,
        }
    }

    #[test]
    fn revoke_then_refuse_and_cache_reads() {
        let store = MemoryStore::default();
        let checker = RevocationChecker::new(&store, RevocationCache::new(100, 30), 43_230, 30);
        let f = facts("j1", 1000);
        assert_eq!(checker.cached_status(&f, 1000), None, "nothing cached yet");
        assert_eq!(
            block_on(checker.status(&f, 1000)).unwrap(),
            RevocationStatus::default()
        );
        let reads = checker.store_reads();
        assert_eq!(reads, 3);
        assert_eq!(
            checker.cached_status(&f, 1001),
            Some(RevocationStatus::default())
        );
        let other_jti = facts("j2", 1000);
        assert_eq!(
            checker.cached_status(&other_jti, 1001),
            None,
            "one key unknown is enough to read"
        );
        block_on(checker.status(&f, 1001)).unwrap();
        assert_eq!(
            checker.store_reads(),
            reads,
            "second lookup is served by the cache"
        );
        // Another writer revokes behind this isolate's back: the cache does not know, the
        // store does.
        block_on((&store).put("jti:j1", r#"{"reason":"admin","revoked_at":1}"#, 60)).unwrap();
        assert!(!block_on(checker.status(&f, 1001)).unwrap().jti_revoked);
        assert!(
            block_on(checker.status_uncached(&f, 1001))
                .unwrap()
                .jti_revoked
        );
        store.data.borrow_mut().remove("jti:j1");
        // The uncached read goes to the store even when the cache knows every key (and the
        // cache learns from it).
        assert!(
            !block_on(checker.status_uncached(&f, 1001))
                .unwrap()
                .jti_revoked
        );
        assert_eq!(checker.store_reads(), reads + 6);
        assert_eq!(
            checker.cached_status(&f, 1001),
            Some(RevocationStatus::default())
        );
        block_on(checker.revoke_token(&f, "logout", 1002)).unwrap();
        assert!(block_on(checker.status(&f, 1002)).unwrap().jti_revoked);
        assert!(checker.cached_status(&f, 1002).unwrap().jti_revoked);
        let (_, ttl) = store.data.borrow()["jti:j1"].clone();
        assert_eq!(
            ttl,
            4600 + 30 - 1002,
            "jti entry expires when the token would have"
        );
        // Idempotent, and an expired token's entry still gets KV's minimum lifetime.
        block_on(checker.revoke_token(&f, "logout", 1003)).unwrap();
        block_on(checker.revoke_token(&f, "logout", 99_999)).unwrap();
        assert_eq!(store.data.borrow()["jti:j1"].1, MIN_ENTRY_TTL_S);
    }

    #[test]
    fn later_before_wins_and_store_failures_fail_closed() {
        let store = MemoryStore::default();
        let checker = RevocationChecker::new(&store, RevocationCache::new(100, 30), 43_230, 30);
        block_on(checker.revoke(
            &RevocationRequest::Subject {
                sub: "alice".into(),
                before: 2000,
            },
            1500,
        ))
        .unwrap();
        block_on(checker.revoke(
            &RevocationRequest::Subject {
                sub: "alice".into(),
                before: 1000,
            },
            1500,
        ))
        .unwrap();
        assert_eq!(
            block_on(checker.status(&facts("j2", 1200), 1500))
                .unwrap()
                .subject_revoked_before,
            Some(2000)
        );
        store.down.set(true);
        let fresh = RevocationChecker::new(&store, RevocationCache::new(100, 30), 43_230, 30);
        assert_eq!(
            block_on(fresh.status(&facts("j3", 1200), 1500))
                .unwrap_err()
                .code(),
            ErrorCode::RevocationUnavailable
        );
    }

    #[test]
    fn long_ids_are_hashed_into_short_keys() {
        assert_eq!(jti_key("abc"), "jti:abc");
        let long = "x".repeat(600);
        let key = jti_key(&long);
        assert!(key.starts_with("jtih:") && key.len() == 5 + 64, "{key}");
        assert!(sub_key(&long).starts_with("subh:"));
        assert_ne!(jti_key(&long), jti_key(&"y".repeat(600)));
    }

    #[test]
    fn corrupt_entries_fail_closed() {
        let store = MemoryStore::default();
        store
            .data
            .borrow_mut()
            .insert("global".into(), ("not json".into(), 60));
        let checker = RevocationChecker::new(&store, RevocationCache::new(100, 30), 43_230, 30);
        assert_eq!(
            block_on(checker.status(&facts("j", 1), 1))
                .unwrap_err()
                .code(),
            ErrorCode::RevocationUnavailable
        );
    }
}
