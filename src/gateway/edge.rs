//! The edge validator both wasm hosts run (the Worker's isolate state and the npm package's
//! `Validator`): the token policy, the edge policy, the remote JWKS state (merged with the
//! inline keys, the fallback when it is unusable, one refresh at a time, the refetch budget)
//! and the revocation checker. Hosts supply I/O through two small traits: [`JwksHost`] here,
//! [`KeyValueStore`] for revocations; the decisions are made once, here.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::edge_policy::EdgePolicy;
use super::jwks::{
    discovery_document_url, parse_discovery, CachedJwks, Discovered, RemoteJwks, RemoteSource,
    SourceKind,
};
use super::token_cache::TokenCache;
use crate::alg::Alg;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::KeySet;
use crate::policy::{Selected, Validator, Verified};
use crate::revocation::replica::{Replica, ReplicaHost};
use crate::revocation::{
    self, KeyValueStore, RevocationCache, RevocationChecker, RevocationFacts, RevocationRequest,
    RevocationStatus,
};
use crate::verify::{Ready, SignatureBackend, SignatureCheck};
use futures_util::FutureExt;

/// What a host does for the remote JWKS: fetch it, share a copy across isolates (when it has
/// somewhere to), wait, and log. Fetching follows no redirect and bounds the body's size and
/// the whole exchange's time ([`super::jwks::MAX_DOCUMENT_BYTES`], `jwks.timeout_ms`).
pub trait JwksHost {
    /// GETs `url`: the body and its `Cache-Control`, or why it failed.
    fn fetch(
        &self,
        url: &str,
        timeout_ms: u64,
    ) -> impl Future<Output = std::result::Result<(String, Option<String>), String>>;
    /// The copy another isolate shared under `key` (`None`: none, or no shared store).
    fn shared_get(&self, key: &str, timeout_ms: u64) -> impl Future<Output = Option<String>>;
    /// Shares a copy under `key` for `ttl_s` seconds; a failure only costs others a fetch.
    fn shared_put(
        &self,
        key: &str,
        value: String,
        ttl_s: u64,
        timeout_ms: u64,
    ) -> impl Future<Output = ()>;
    /// Waits `ms` milliseconds.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;
    /// Writes one structured log line.
    fn log(&self, event: &Value);
}

/// Clears the refresh flag however the refresh ends.
struct RefreshGuard<'a>(&'a Cell<bool>);

impl Drop for RefreshGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// One identity provider's JWKS as an isolate holds it: fetched from its `jwks_url`, or from
/// the `jwks_uri` its discovery document names.
pub struct RemoteKeySet {
    source: RemoteSource,
    /// Where the copy is shared (`jwks:<sha256(configured url)>`).
    shared_key: String,
    remote: RefCell<RemoteJwks>,
    /// Inline keys merged with the remote set, rebuilt when a new set arrives.
    merged: RefCell<Option<(u64, Rc<KeySet>)>>,
    refreshing: Cell<bool>,
    fetches: Cell<u64>,
    /// A token of this provider found the set due, or named an unknown kid within the refetch
    /// budget: the host refreshes it ([`EdgeValidator::refresh_wanted`]) and verifies again.
    wanted: Cell<bool>,
    /// Why the last refresh failed, until one succeeds.
    last_error: RefCell<Option<String>>,
}

/// The keys to verify a token with now.
pub enum KeyChoice {
    /// The inline keys merged with a usable remote set.
    Merged(Rc<KeySet>),
    /// The remote set is unusable: a token the inline keys verify is still accepted, any other
    /// gets this error (`jwks_unavailable`).
    InlineOnly(Error),
}

impl RemoteKeySet {
    fn new(source: RemoteSource, algorithms: Vec<Alg>) -> Self {
        // A JWKS URL's copy is the document itself, whoever configured it; a discovery copy
        // also holds what was judged for one issuer (its document named that issuer), so two
        // entries with one discovery base and different issuers never share it.
        let mut hash = Sha256::new();
        hash.update(source.url().as_bytes());
        if let SourceKind::Discovery(_) = source.kind {
            hash.update(b"\0discovery\0");
            hash.update(source.issuer.as_deref().unwrap_or_default().as_bytes());
        }
        let digest = hash.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            shared_key: format!("jwks:{hex}"),
            remote: RefCell::new(RemoteJwks::new(source.settings.clone(), algorithms)),
            source,
            merged: RefCell::new(None),
            refreshing: Cell::new(false),
            fetches: Cell::new(0),
            wanted: Cell::new(false),
            last_error: RefCell::new(None),
        }
    }

    /// The configured URL (`jwks_url`, or the discovery base).
    pub fn url(&self) -> &str {
        self.source.url()
    }

    /// The issuer whose keys these are (an `issuers` entry's), if configured.
    pub fn issuer(&self) -> Option<&str> {
        self.source.issuer.as_deref()
    }

    /// Fetches made by this isolate so far (a discovery document counts as one).
    pub fn fetches(&self) -> u64 {
        self.fetches.get()
    }

    /// When the held set was fetched.
    pub fn fetched_at(&self) -> Option<u64> {
        self.remote.borrow().fetched_at()
    }

    /// Why the last refresh failed, until one succeeds.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.borrow().clone()
    }

    /// Whether a set is held at all.
    pub fn has_keys(&self) -> bool {
        self.remote.borrow().has_keys()
    }

    /// Whether a caller should go through [`Self::refresh`] before verifying: a refresh is
    /// due (nothing held, or past its freshness, and no attempt within the refetch interval),
    /// or one is under way while no set is held at all (then the caller waits for it).
    pub fn needs_refresh(&self, now: u64) -> bool {
        self.remote.borrow().needs_refresh(now) || (self.refreshing.get() && !self.has_keys())
    }

    /// The keys usable at `now` ([`KeyChoice`]).
    pub fn choose(&self, inline: &KeySet, now: u64) -> KeyChoice {
        let remote = self.remote.borrow();
        let keys = match remote.keys(now) {
            Ok(keys) => keys,
            Err(unavailable) => return KeyChoice::InlineOnly(unavailable),
        };
        let fetched_at = remote.fetched_at().unwrap_or_default();
        let mut merged = self.merged.borrow_mut();
        match merged.as_ref() {
            Some((at, keys)) if *at == fetched_at => KeyChoice::Merged(Rc::clone(keys)),
            _ => {
                let keys = Rc::new(inline.merged(keys));
                *merged = Some((fetched_at, Rc::clone(&keys)));
                KeyChoice::Merged(keys)
            }
        }
    }

    /// Refreshes the set; true when a new set came into force (verdicts cached under the old
    /// one may rest on a key it dropped). One refresh at a time: a caller arriving during one
    /// waits for it only when no set is held at all, else goes on with the current set.
    /// Another isolate's newer shared copy is taken before fetching. With discovery, the
    /// configuration document is fetched first and names the JWKS URL and the algorithms.
    pub async fn refresh(&self, host: &impl JwksHost, now: u64) -> bool {
        let timeout_ms = self.remote.borrow().settings().timeout_ms;
        if self.refreshing.replace(true) {
            let mut waited = 0;
            while self.refreshing.get() && !self.has_keys() && waited < 2 * timeout_ms {
                host.sleep(10).await;
                waited += 10;
            }
            return false;
        }
        let _guard = RefreshGuard(&self.refreshing);
        let before = self.remote.borrow().fetched_at();
        self.remote.borrow_mut().fetch_started(now);
        if self.read_shared(host, timeout_ms).await
            && !self.remote.borrow().needs_refresh_ignoring_attempts(now)
        {
            return true;
        }
        match self.fetch_set(host, now, timeout_ms).await {
            Ok(()) => {
                self.last_error.borrow_mut().take();
                self.write_shared(host, now, timeout_ms).await;
            }
            Err((event, why)) => {
                host.log(&json!({ "event": event, "url": self.url(), "why": why }));
                *self.last_error.borrow_mut() = Some(why);
            }
        }
        self.remote.borrow().fetched_at() != before
    }

    /// Fetches (with discovery: the document, then) the set and takes it; the failure's log
    /// event and reason otherwise.
    async fn fetch_set(
        &self,
        host: &impl JwksHost,
        now: u64,
        timeout_ms: u64,
    ) -> std::result::Result<(), (&'static str, String)> {
        let (url, advertised) = match &self.source.kind {
            SourceKind::JwksUrl(url) => (url.clone(), None),
            SourceKind::Discovery(base) => {
                let found = self.discover(host, base, timeout_ms).await?;
                (found.jwks_uri, Some(found.algorithms))
            }
        };
        self.fetches.set(self.fetches.get() + 1);
        let (body, cache_control) = host
            .fetch(&url, timeout_ms)
            .await
            .map_err(|why| ("edge_jwt_jwks_fetch_failed", why))?;
        self.remote
            .borrow_mut()
            .accept(&body, cache_control.as_deref(), now, advertised.as_deref())
            .map(|_| ())
            .map_err(|e| ("edge_jwt_jwks_rejected", e.message().to_owned()))
    }

    /// Fetches and reads the discovery document (see [`parse_discovery`]).
    async fn discover(
        &self,
        host: &impl JwksHost,
        base: &str,
        timeout_ms: u64,
    ) -> std::result::Result<Discovered, (&'static str, String)> {
        self.fetches.set(self.fetches.get() + 1);
        let (body, _) = host
            .fetch(&discovery_document_url(base), timeout_ms)
            .await
            .map_err(|why| ("edge_jwt_discovery_failed", why))?;
        let remote = self.remote.borrow();
        parse_discovery(
            &body,
            self.issuer().unwrap_or_default(),
            remote.algorithms(),
            remote.settings().allow_http,
        )
        .map_err(|why| ("edge_jwt_discovery_rejected", why))
    }

    /// After an unknown kid: whether the budget allows a refetch now (once per interval).
    pub fn may_refetch_for_unknown_kid(&self, now: u64) -> bool {
        self.remote.borrow_mut().may_refetch_for_unknown_kid(now)
    }

    /// Whether the set can still serve at `now` (a cached verdict is only as good as its key).
    pub fn usable(&self, now: u64) -> bool {
        self.remote.borrow().keys(now).is_ok()
    }

    /// Reads the copy other isolates shared; true when it replaced what this isolate held.
    async fn read_shared(&self, host: &impl JwksHost, timeout_ms: u64) -> bool {
        let Some(text) = host.shared_get(&self.shared_key, timeout_ms).await else {
            return false;
        };
        let Ok(cached) = serde_json::from_str::<CachedJwks>(&text) else {
            return false;
        };
        let before = self.remote.borrow().fetched_at();
        let _ = self.remote.borrow_mut().accept_shared(cached);
        self.remote.borrow().fetched_at() != before
    }

    async fn write_shared(&self, host: &impl JwksHost, now: u64, timeout_ms: u64) {
        let Some((value, ttl)) = self.remote.borrow().shared_copy(now) else {
            return;
        };
        host.shared_put(&self.shared_key, value, ttl, timeout_ms)
            .await;
    }
}

/// The outcome of a synchronous verification with the keys held now.
pub enum Attempt {
    /// Verified (no revocation yet).
    Verified(Verified),
    /// Refused for good.
    Refused(Error),
    /// The token's remote set is due for a refresh, or it named an unknown kid while a refetch
    /// is allowed: refresh the wanted sets ([`EdgeValidator::refresh_wanted`]), then try again
    /// (once). The error is the answer should the host not refresh.
    RefetchDue(Error),
}

/// The validator both wasm hosts share: token policy, edge policy, remote JWKS, revocation.
pub struct EdgeValidator<S> {
    /// The token policy's validator.
    pub validator: Validator,
    /// The edge policy.
    pub edge: EdgePolicy,
    /// Each profile's remote key set, when it has one (index as
    /// [`crate::config::Policy::rules`]).
    remote_sets: Vec<Option<RemoteKeySet>>,
    /// The revocation checker, when the host has a store.
    pub revocations: Option<RevocationChecker<S>>,
    /// The view of a revocation authority's snapshot, when the host has one: it then decides
    /// every revocation check instead of `revocations`.
    pub replica: Option<Replica>,
    /// Tokens verified by [`Self::verify`] (`gateway.token_cache_size`).
    tokens: RefCell<TokenCache>,
}

impl<S: KeyValueStore> EdgeValidator<S> {
    /// Builds the JWKS state and the revocation checker the policies ask for.
    pub fn new(validator: Validator, edge: EdgePolicy, store: Option<S>) -> Self {
        let policy = validator.policy();
        let remote_sets = edge
            .remote_sources
            .iter()
            .enumerate()
            .map(|(profile, source)| {
                let algorithms = policy.rules(profile).algorithms.to_vec();
                source
                    .clone()
                    .map(|source| RemoteKeySet::new(source, algorithms))
            })
            .collect();
        let revocations = store.map(|store| {
            RevocationChecker::new(
                store,
                RevocationCache::new(edge.revocation.cache_size, edge.revocation.cache_ttl_s),
                policy.longest_lifetime_s(),
                policy.longest_leeway_s(),
            )
        });
        let tokens = RefCell::new(TokenCache::new(edge.gateway.token_cache_size));
        Self {
            validator,
            edge,
            remote_sets,
            revocations,
            replica: None,
            tokens,
        }
    }

    /// Checks revocations against a revocation authority's snapshot (see [`Replica`]).
    pub fn with_replica(mut self, replica: Replica) -> Self {
        self.replica = Some(replica);
        self
    }

    /// The status of a token: from the snapshot when there is a replica (exact when `exact`
    /// or when its track allows no staleness), else through the store.
    async fn status(
        &self,
        host: &impl ReplicaHost,
        facts: &RevocationFacts,
        now: u64,
        exact: bool,
    ) -> Result<RevocationStatus> {
        let bound = self
            .validator
            .policy()
            .tracks
            .max_staleness(facts.track.as_deref());
        if let Some(replica) = &self.replica {
            return match exact {
                true => replica.exact(host, facts).await,
                false => replica.status(host, facts, now, bound).await,
            };
        }
        // Without an authority, a track that allows no staleness reads the store every time
        // rather than this isolate's cache (KV's own propagation still applies: README
        // "Revocation").
        let checker = self.checker()?;
        match exact || bound == 0 {
            true => checker.status_uncached(facts, now).await,
            false => checker.status(facts, now).await,
        }
    }

    /// Profile `profile`'s remote key set, if it has one.
    fn remote(&self, profile: usize) -> Option<&RemoteKeySet> {
        self.remote_sets.get(profile)?.as_ref()
    }

    /// Every remote key set (the top level's `jwks_url` first, then the issuers' in order).
    pub fn remote_key_sets(&self) -> impl Iterator<Item = &RemoteKeySet> {
        self.remote_sets.iter().flatten()
    }

    /// Remote fetches made by this isolate, when the policy has any remote key set.
    pub fn jwks_fetches(&self) -> Option<u64> {
        let mut sets = self.remote_key_sets().peekable();
        sets.peek()?;
        Some(sets.map(RemoteKeySet::fetches).sum())
    }

    /// What each remote set holds, for health pages and `stats()`: `[{url, issuer,
    /// fetched_at, fetches, last_error}]`.
    pub fn remote_key_set_report(&self) -> Value {
        self.remote_key_sets()
            .map(|set| {
                json!({
                    "url": set.url(),
                    "issuer": set.issuer(),
                    "fetched_at": set.fetched_at(),
                    "fetches": set.fetches(),
                    "last_error": set.last_error(),
                })
            })
            .collect()
    }

    /// Whether a verification asked for a refresh ([`Attempt::RefetchDue`]).
    pub fn refresh_wanted(&self) -> bool {
        self.remote_key_sets().any(|set| set.wanted.get())
    }

    /// Refreshes the sets verifications asked for, and only those (a provider's rotation or
    /// outage never costs another's tokens a fetch or a wait); true when a new set came into
    /// force in any of them. A set whose first fetch is under way is waited for, whoever asked
    /// for it: concurrent first requests share that one fetch.
    pub async fn refresh_wanted_sets(&self, host: &impl JwksHost, now: u64) -> bool {
        let refreshes = self
            .remote_key_sets()
            .filter(|set| set.wanted.replace(false) || (set.refreshing.get() && !set.has_keys()))
            .map(|set| set.refresh(host, now));
        futures_util::future::join_all(refreshes)
            .await
            .into_iter()
            .any(|renewed| renewed)
    }

    /// Verifies `token` (no revocation) with the keys held now: its profile's inline keys
    /// merged with its remote set, or the inline keys alone when the remote set is unusable
    /// (then any other refusal is `jwks_unavailable`). Synchronous: `backend` answers at once.
    pub fn attempt(&self, token: &str, now: u64, backend: &dyn SignatureBackend) -> Attempt {
        self.attempt_with(token, now, &Ready(backend))
            .now_or_never()
            .unwrap_or_else(|| {
                // `Ready` never waits, so this is unreachable; refuse rather than panic.
                Attempt::Refused(Error::new(
                    ErrorCode::BadSignature,
                    "signature check did not complete",
                ))
            })
    }

    /// [`Self::attempt`] with a signature check that may wait (the Worker's WebCrypto).
    pub async fn attempt_with(
        &self,
        token: &str,
        now: u64,
        check: &impl SignatureCheck,
    ) -> Attempt {
        match self.validator.select(token) {
            Ok(selected) => self.attempt_selected(selected, now, check).await,
            Err(e) => Attempt::Refused(e),
        }
    }

    async fn attempt_selected(
        &self,
        selected: Selected<'_>,
        now: u64,
        check: &impl SignatureCheck,
    ) -> Attempt {
        let validator = &self.validator;
        let profile = selected.profile();
        let inline = validator.policy().rules(profile).keys;
        let Some(jwks) = self.remote(profile) else {
            return match validator.finish(selected, now, inline, check).await {
                Ok(verified) => Attempt::Verified(verified),
                Err(e) => Attempt::Refused(e),
            };
        };
        if jwks.needs_refresh(now) {
            jwks.wanted.set(true);
            return Attempt::RefetchDue(Error::new(
                ErrorCode::JwksUnavailable,
                "the remote JWKS is being refreshed",
            ));
        }
        match jwks.choose(inline, now) {
            KeyChoice::InlineOnly(unavailable) => {
                match validator.finish(selected, now, inline, check).await {
                    Ok(verified) => Attempt::Verified(verified),
                    Err(_) => Attempt::Refused(unavailable),
                }
            }
            KeyChoice::Merged(keys) => match validator.finish(selected, now, &keys, check).await {
                Ok(verified) => Attempt::Verified(verified),
                Err(e)
                    if e.code() == ErrorCode::UnknownKid
                        && jwks.may_refetch_for_unknown_kid(now) =>
                {
                    jwks.wanted.set(true);
                    Attempt::RefetchDue(e)
                }
                Err(e) => Attempt::Refused(e),
            },
        }
    }

    /// Verifies `token` (no revocation), refreshing its remote set first when it is due and
    /// once more for an unknown kid when the refetch budget allows. A token verified before
    /// under the same key sets is answered from the token cache after its time checks.
    pub async fn verify(
        &self,
        host: &impl JwksHost,
        token: &str,
        now: u64,
        check: &impl SignatureCheck,
    ) -> Result<Verified> {
        if let Some(cached) = self.cached(token, now) {
            return cached;
        }
        // The key sets a verification starts under: another request may replace them while
        // this one waits (WebCrypto, a refresh), and a verdict reached under the old ones must
        // not be cached under the new.
        let mut generation = self.keys_generation();
        let verified = match self.attempt_with(token, now, check).await {
            Attempt::Verified(verified) => verified,
            Attempt::Refused(e) => return Err(e),
            Attempt::RefetchDue(_) => {
                self.refresh_wanted_sets(host, now).await;
                generation = self.keys_generation();
                match self.attempt_with(token, now, check).await {
                    Attempt::Verified(verified) => verified,
                    Attempt::Refused(e) | Attempt::RefetchDue(e) => return Err(e),
                }
            }
        };
        if self.keys_generation() == generation {
            self.tokens
                .borrow_mut()
                .insert(token, &verified, generation);
        }
        Ok(verified)
    }

    /// Which key sets verifications are made under now: the sum of the remote sets' fetch
    /// times, which grows whenever any set is replaced (the inline keys never change within an
    /// isolate).
    fn keys_generation(&self) -> u64 {
        self.remote_key_sets()
            .filter_map(RemoteKeySet::fetched_at)
            .fold(0, u64::wrapping_add)
    }

    /// Whether a verification of profile `profile` made earlier still stands on its keys at
    /// `now`: its remote set (if any) is usable and not due for a refresh. A due set is marked
    /// wanted, so the token is verified again after the refresh.
    fn keys_stand(&self, profile: usize, now: u64) -> bool {
        let Some(jwks) = self.remote(profile) else {
            return true;
        };
        if jwks.needs_refresh(now) {
            jwks.wanted.set(true);
            return false;
        }
        jwks.usable(now)
    }

    /// The cached verification of `token`, when there is one under the current key sets and
    /// its keys still stand: `Ok` when its time checks pass at `now`, their error when not.
    fn cached(&self, token: &str, now: u64) -> Option<Result<Verified>> {
        let mut tokens = self.tokens.borrow_mut();
        let verified = tokens.get(token, self.keys_generation())?;
        if !self.keys_stand(verified.profile, now) {
            tokens.remove(token);
            return None;
        }
        match self.validator.recheck(verified, now) {
            Ok(()) => Some(Ok(verified.clone())),
            Err(e) => {
                tokens.remove(token);
                Some(Err(e))
            }
        }
    }

    /// Token-cache hits and misses of this isolate.
    pub fn token_cache_counts(&self) -> (u64, u64) {
        self.tokens.borrow().counts()
    }

    /// Whether a token verified earlier still stands at `now` without verifying it again: its
    /// times, and a remote set still usable. Revocation is checked apart, every time.
    pub fn recheck(&self, verified: &Verified, now: u64) -> bool {
        self.keys_stand(verified.profile, now) && self.validator.recheck(verified, now).is_ok()
    }

    /// The revocation verdict for a verified token (the snapshot, or the checker's cache);
    /// without a store or an authority nothing is revoked.
    pub async fn check_revocation(
        &self,
        host: &impl ReplicaHost,
        verified: &Verified,
        now: u64,
    ) -> Result<()> {
        self.revocation_verdict(host, &verified.revocation_facts(), now)
            .await
    }

    /// [`Self::check_revocation`] from a token's facts (their track sets the staleness bound),
    /// for hosts that keep the facts rather than the verified token across the wait.
    pub async fn revocation_verdict(
        &self,
        host: &impl ReplicaHost,
        facts: &RevocationFacts,
        now: u64,
    ) -> Result<()> {
        if self.revocations.is_none() && self.replica.is_none() {
            return Ok(());
        }
        let status = self.status(host, facts, now, false).await?;
        revocation::check(facts, &status)
    }

    /// The revocation checker, or `config_error` when the host gave no store.
    pub fn checker(&self) -> Result<&RevocationChecker<S>> {
        self.revocations
            .as_ref()
            .ok_or_else(|| Error::new(ErrorCode::ConfigError, "no revocation store is configured"))
    }

    /// Applies a revocation through the store (see [`RevocationChecker::revoke`]).
    pub async fn revoke(&self, request: &RevocationRequest, now: u64) -> Result<()> {
        self.checker()?.revoke(request, now).await
    }

    /// Revokes one token by its jti, with its subject recorded (logout, refresh).
    pub async fn revoke_token(&self, verified: &Verified, reason: &str, now: u64) -> Result<()> {
        self.checker()?
            .revoke_token(&verified.revocation_facts(), reason, now)
            .await
    }

    /// The revocation verdict read from the store or the authority itself, not this
    /// isolate's view: for decisions that must not rest on a stale one (minting a refresh
    /// token, logging out).
    pub async fn check_revocation_uncached(
        &self,
        host: &impl ReplicaHost,
        verified: &Verified,
        now: u64,
    ) -> Result<()> {
        let facts = verified.revocation_facts();
        let status = self.status(host, &facts, now, true).await?;
        revocation::check(&facts, &status)
    }

    /// Store reads (or snapshot reads and authority lookups) made so far.
    pub fn store_reads(&self) -> u64 {
        let checker = self
            .revocations
            .as_ref()
            .map_or(0, RevocationChecker::store_reads);
        checker + self.replica.as_ref().map_or(0, Replica::requests_made)
    }

    /// [`Self::verify`], then [`Self::check_revocation`]: the gateway's check of one token. A
    /// token refused by revocation comes back with the error, for the log line.
    pub async fn check(
        &self,
        host: &impl JwksHost,
        replica_host: &impl ReplicaHost,
        token: &str,
        now: u64,
        check: &impl SignatureCheck,
    ) -> std::result::Result<Verified, (Error, Option<Verified>)> {
        let verified = self
            .verify(host, token, now, check)
            .await
            .map_err(|e| (e, None))?;
        match self.check_revocation(replica_host, &verified, now).await {
            Ok(()) => Ok(verified),
            Err(e) => Err((e, Some(verified))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::Alg;
    use crate::gateway::edge_policy::load;
    use crate::mint::{issue, IssueRequest, Signer};
    use futures_util::FutureExt;

    /// A host whose fetch answers at once with `body` (or fails), and counts.
    struct FakeHost {
        body: RefCell<Option<String>>,
        fetches: Cell<u32>,
        logged: RefCell<Vec<Value>>,
    }

    impl JwksHost for FakeHost {
        async fn fetch(
            &self,
            _url: &str,
            _timeout_ms: u64,
        ) -> std::result::Result<(String, Option<String>), String> {
            self.fetches.set(self.fetches.get() + 1);
            self.body
                .borrow()
                .clone()
                .map(|b| (b, Some("max-age=300".to_owned())))
                .ok_or_else(|| "HTTP 500".to_owned())
        }
        async fn shared_get(&self, _key: &str, _timeout_ms: u64) -> Option<String> {
            None
        }
        async fn shared_put(&self, _key: &str, _value: String, _ttl_s: u64, _timeout_ms: u64) {}
        async fn sleep(&self, _ms: u64) {}
        fn log(&self, event: &Value) {
            self.logged.borrow_mut().push(event.clone());
        }
    }

    /// A store that is never read here (no revocation in these tests).
    struct NoStore;

    impl KeyValueStore for NoStore {
        async fn get(&self, _key: &str) -> Result<Option<String>> {
            Ok(None)
        }
        async fn put(&self, _key: &str, _value: &str, _ttl_s: u64) -> Result<()> {
            Ok(())
        }
    }

    const NOW: u64 = 1_800_000_000;
    const SECRET: &str = "edge-validator-tests-secret-0123456789";

    fn key(kid: &str) -> (Signer, Value) {
        let generated =
            crate::keygen::generate(Alg::ES256, Some(kid), &mut rand_core::OsRng).unwrap();
        let signer = Signer::from_jwk(&generated.private_jwk.to_string(), None).unwrap();
        (signer, generated.public_jwks.unwrap())
    }

    fn token(validator: &EdgeValidator<NoStore>, signer: &Signer) -> String {
        let request = IssueRequest {
            sub: Some("ada".into()),
            ..IssueRequest::default()
        };
        issue(
            validator.validator.policy(),
            signer,
            request,
            NOW,
            &mut rand_core::OsRng,
        )
        .unwrap()
        .token
    }

    fn validator(with_secret: bool) -> EdgeValidator<NoStore> {
        let secret = if with_secret {
            format!(r#","secret":"{SECRET}""#)
        } else {
            String::new()
        };
        let (validator, edge) = load(&format!(
            r#"{{"algorithms":["ES256","HS256"],"jwks_url":"https://id.example/jwks"{secret}}}"#
        ))
        .unwrap();
        EdgeValidator::new(validator, edge, None)
    }

    fn host(body: Option<String>) -> FakeHost {
        FakeHost {
            body: RefCell::new(body),
            fetches: Cell::new(0),
            logged: RefCell::new(Vec::new()),
        }
    }

    fn verify(v: &EdgeValidator<NoStore>, host: &FakeHost, token: &str) -> Result<Verified> {
        verify_at(v, host, token, NOW)
    }

    fn verify_at(
        v: &EdgeValidator<NoStore>,
        host: &FakeHost,
        token: &str,
        now: u64,
    ) -> Result<Verified> {
        v.verify(host, token, now, &Ready(&crate::verify::JwtCompact))
            .now_or_never()
            .expect("the fake host never waits")
    }

    #[test]
    fn the_remote_set_is_fetched_once_and_verifies() {
        let (signer, jwks) = key("k1");
        let v = validator(false);
        let host = host(Some(jwks.to_string()));
        let t = token(&v, &signer);
        assert!(verify(&v, &host, &t).is_ok());
        assert!(verify(&v, &host, &t).is_ok());
        assert_eq!(host.fetches.get(), 1, "fresh for max-age: one fetch");
    }

    #[test]
    fn an_unknown_kid_refetches_once_per_interval_then_the_rotated_key_verifies() {
        let (old_signer, old_jwks) = key("old");
        let (new_signer, new_jwks) = key("new");
        let v = validator(false);
        let host = host(Some(old_jwks.to_string()));
        assert!(verify(&v, &host, &token(&v, &old_signer)).is_ok());
        // The provider rotates: within the refetch interval an unknown kid waits…
        *host.body.borrow_mut() = Some(new_jwks.to_string());
        let rotated = token(&v, &new_signer);
        assert_eq!(
            verify(&v, &host, &rotated).unwrap_err().code(),
            ErrorCode::UnknownKid
        );
        assert_eq!(host.fetches.get(), 1);
        // …after it, the token with the new kid refetches once and verifies.
        let later = NOW + 120;
        assert!(verify_at(&v, &host, &rotated, later).is_ok());
        assert_eq!(host.fetches.get(), 2);
        // A burst of unknown kids within the next interval costs no further fetch.
        let (stranger, _) = key("stranger");
        for _ in 0..5 {
            let e = verify_at(&v, &host, &token(&v, &stranger), later).unwrap_err();
            assert_eq!(e.code(), ErrorCode::UnknownKid);
        }
        assert_eq!(host.fetches.get(), 2);
    }

    #[test]
    fn without_a_usable_set_inline_keys_still_verify_and_others_are_jwks_unavailable() {
        let (signer, _) = key("k1");
        let v = validator(true);
        let host = host(None);
        let e = verify(&v, &host, &token(&v, &signer)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::JwksUnavailable);
        assert_eq!(
            host.logged.borrow()[0]["event"],
            "edge_jwt_jwks_fetch_failed"
        );
        let hmac = Signer::from_secret(SECRET, Alg::HS256).unwrap();
        assert!(
            verify(&v, &host, &token(&v, &hmac)).is_ok(),
            "the inline secret still serves"
        );
    }

    /// jwt-compact, counting the signatures it checks.
    #[derive(Default)]
    struct Counting(Cell<u32>);

    impl SignatureCheck for Counting {
        async fn check(
            &self,
            alg: Alg,
            key: &crate::keys::VerificationKey,
            message: &[u8],
            signature: &[u8],
        ) -> bool {
            self.0.set(self.0.get() + 1);
            crate::verify::verify_signature(alg, key, message, signature)
        }
    }

    fn verify_counted(
        v: &EdgeValidator<NoStore>,
        host: &FakeHost,
        token: &str,
        now: u64,
        check: &Counting,
    ) -> Result<Verified> {
        v.verify(host, token, now, check)
            .now_or_never()
            .expect("the fake host never waits")
    }

    #[test]
    fn a_repeated_token_skips_its_signature_check_but_never_its_expiry() {
        let (signer, jwks) = key("k1");
        let v = validator(false);
        let host = host(Some(jwks.to_string()));
        let t = token(&v, &signer);
        let check = Counting::default();
        for _ in 0..5 {
            assert!(verify_counted(&v, &host, &t, NOW, &check).is_ok());
        }
        assert_eq!(check.0.get(), 1, "one signature check for five requests");
        assert_eq!(v.token_cache_counts(), (4, 1));
        // Past exp + leeway the cached entry refuses, as a full verification would.
        let late = NOW + 12 * 3600 + 31;
        let e = verify_counted(&v, &host, &t, late, &check).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Expired);
    }

    #[test]
    fn a_rotation_drops_cached_verifications_under_the_old_set() {
        let (old_signer, old_jwks) = key("old");
        let (_, new_jwks) = key("new");
        let v = validator(false);
        let host = host(Some(old_jwks.to_string()));
        let t = token(&v, &old_signer);
        let check = Counting::default();
        assert!(verify_counted(&v, &host, &t, NOW, &check).is_ok());
        // The provider drops the old key; after the set's max-age the next request refetches.
        *host.body.borrow_mut() = Some(new_jwks.to_string());
        let later = NOW + 301;
        let e = verify_counted(&v, &host, &t, later, &check).unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnknownKid, "not served from the cache");
        assert_eq!(host.fetches.get(), 2);
    }

    /// A store counting its reads.
    #[derive(Default)]
    struct CountingStore(Cell<u32>);

    impl KeyValueStore for &CountingStore {
        async fn get(&self, _key: &str) -> Result<Option<String>> {
            self.0.set(self.0.get() + 1);
            Ok(None)
        }
        async fn put(&self, _key: &str, _value: &str, _ttl_s: u64) -> Result<()> {
            Ok(())
        }
    }

    /// No revocation authority.
    struct NoAuthority;

    impl ReplicaHost for NoAuthority {
        async fn snapshot(&self, _from_authority: bool) -> Result<Option<Vec<u8>>> {
            Err(Error::new(ErrorCode::RevocationUnavailable, "none"))
        }
        async fn exact_status(&self, _facts: &RevocationFacts) -> Result<RevocationStatus> {
            Err(Error::new(ErrorCode::RevocationUnavailable, "none"))
        }
        async fn sleep(&self, _ms: u64) {}
    }

    #[test]
    fn a_track_allowing_no_staleness_reads_the_store_every_time_without_an_authority() {
        let store = CountingStore::default();
        let (validator, edge) = load(&format!(
            r#"{{"algorithms":["HS256"],"secret":"{SECRET}","tracks":{{"max_staleness_s":{{"4":0}}}}}}"#
        ))
        .unwrap();
        let v = EdgeValidator::new(validator, edge, Some(&store));
        let hmac = Signer::from_secret(SECRET, Alg::HS256).unwrap();
        let mint = |track: &str| {
            let request = IssueRequest {
                sub: Some("ada".into()),
                track: Some(track.into()),
                ..IssueRequest::default()
            };
            let policy = v.validator.policy();
            issue(policy, &hmac, request, NOW, &mut rand_core::OsRng)
                .unwrap()
                .token
        };
        let reads_of = |token: &str| {
            let verified = v.validator.verify(token, NOW).unwrap();
            let before = store.0.get();
            v.check_revocation(&NoAuthority, &verified, NOW)
                .now_or_never()
                .unwrap()
                .unwrap();
            store.0.get() - before
        };
        let (strict, lenient) = (mint("4"), mint("1"));
        let first = reads_of(&strict);
        assert!(first > 0);
        assert_eq!(reads_of(&strict), first, "read again, not from the cache");
        assert!(reads_of(&lenient) > 0);
        assert_eq!(reads_of(&lenient), 0, "a track with a bound uses the cache");
    }
}
