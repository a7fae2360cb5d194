//! An isolate's view of the revocation authority: the latest snapshot it published, read at
//! most once per `snapshot_ttl_s`, checked in memory; exact answers from the authority for
//! what the snapshot cannot settle (a filter hit, a track that allows no staleness); and the
//! writes this isolate made itself, enforced here at once until a snapshot carries them.
//!
//! A view older than a token's track allows is refused (`revocation_unavailable`), per track:
//! tracks with a looser bound keep serving. A snapshot never replaces a newer one (a replayed
//! old copy cannot un-revoke), and one whose MAC does not verify is ignored.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use serde::Serialize;
use zeroize::Zeroizing;

use super::snapshot::{JtiAnswer, Snapshot, MIN_KEY_BYTES};
use super::store::{jti_key, sub_key, GLOBAL_KEY};
use super::{RevocationFacts, RevocationStatus};
use crate::error::{Error, ErrorCode, Result};

/// Where a replica gets the snapshot and exact answers.
pub trait ReplicaHost {
    /// The published snapshot's bytes: the replicated copy (Workers KV, an HTTP endpoint), or
    /// with `from_authority` the authority's own (asked when the copy is missing or old).
    fn snapshot(&self, from_authority: bool) -> impl Future<Output = Result<Option<Vec<u8>>>>;
    /// The authority's exact status for a token (one round trip).
    fn exact_status(
        &self,
        facts: &RevocationFacts,
    ) -> impl Future<Output = Result<RevocationStatus>>;
    /// Waits `ms` milliseconds (a request arriving while the first snapshot loads waits).
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;
}

/// No replica host (a host without a revocation authority): every call fails closed.
impl<H: ReplicaHost> ReplicaHost for Option<H> {
    async fn snapshot(&self, from_authority: bool) -> Result<Option<Vec<u8>>> {
        match self {
            Some(host) => host.snapshot(from_authority).await,
            None => Err(unavailable("no revocation authority".into())),
        }
    }
    async fn exact_status(&self, facts: &RevocationFacts) -> Result<RevocationStatus> {
        match self {
            Some(host) => host.exact_status(facts).await,
            None => Err(unavailable("no revocation authority".into())),
        }
    }
    async fn sleep(&self, ms: u64) {
        if let Some(host) = self {
            host.sleep(ms).await;
        }
    }
}

/// A write made by this isolate, enforced here until a snapshot of its epoch arrives.
#[derive(Debug, Clone)]
struct Learned {
    key: String,
    time: u64,
    epoch: u64,
}

/// Most writes remembered locally (more than a snapshot interval of one isolate's writes; the
/// oldest go first and are in a snapshot by then).
const MAX_LEARNED: usize = 1_024;
/// Most confirmed filter hits remembered per snapshot.
const MAX_CONFIRMED: usize = 10_000;
/// How late a replicated copy may be before the authority is asked for its own: a
/// publication missed, plus Workers KV's propagation (up to 60 s, Cloudflare's docs).
const KV_PROPAGATION_S: u64 = 60;

/// What `GET /v1/revocation/status` shows of an isolate's view.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaStatus {
    /// The snapshot's epoch (`null`: none held).
    pub epoch: Option<u64>,
    /// When it was published.
    pub published_at: Option<u64>,
    /// Its age in seconds at the time asked.
    pub age_s: Option<u64>,
    /// Revoked jtis and subjects it covers.
    pub jtis: Option<u32>,
    /// See `jtis`.
    pub subjects: Option<usize>,
    /// Whether its jti set is a filter.
    pub filter: Option<bool>,
    /// Its size in bytes.
    pub bytes: Option<usize>,
    /// Snapshots taken, refused (bad MAC, older than held), reads made, exact lookups made.
    pub loads: u64,
    /// See `loads`.
    pub refused: u64,
    /// See `loads`.
    pub reads: u64,
    /// See `loads`.
    pub exact_lookups: u64,
    /// Writes of this isolate not yet in a snapshot.
    pub pending_writes: usize,
}

/// One isolate's revocation view.
pub struct Replica {
    key: Zeroizing<Vec<u8>>,
    snapshot_ttl_s: u64,
    publish_interval_s: u64,
    held: RefCell<Option<Rc<Snapshot>>>,
    /// The held snapshot as published, for hosts that serve it on.
    held_bytes: RefCell<Option<Rc<Vec<u8>>>>,
    next_load: Cell<u64>,
    loading: Cell<bool>,
    learned: RefCell<Vec<Learned>>,
    /// Filter hits confirmed exactly: jti key → revoked, valid while the snapshot's epoch is.
    confirmed: RefCell<(u64, HashMap<String, bool>)>,
    loads: Cell<u64>,
    refused: Cell<u64>,
    reads: Cell<u64>,
    exact_lookups: Cell<u64>,
}

fn unavailable(why: String) -> Error {
    Error::new(ErrorCode::RevocationUnavailable, why)
}

/// Clears the loading flag however the load ends.
struct LoadingGuard<'a>(&'a Cell<bool>);

impl Drop for LoadingGuard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl Replica {
    /// A view that verifies snapshots with `key` (the authority's MAC key).
    pub fn new(key: &[u8], snapshot_ttl_s: u64, publish_interval_s: u64) -> Result<Replica> {
        if key.len() < MIN_KEY_BYTES {
            return Err(Error::config(
                "SNAPSHOT_KEY",
                format!("must be at least {MIN_KEY_BYTES} bytes"),
            ));
        }
        Ok(Replica {
            key: Zeroizing::new(key.to_vec()),
            snapshot_ttl_s,
            publish_interval_s,
            held: RefCell::new(None),
            held_bytes: RefCell::new(None),
            next_load: Cell::new(0),
            loading: Cell::new(false),
            learned: RefCell::new(Vec::new()),
            confirmed: RefCell::new((0, HashMap::new())),
            loads: Cell::new(0),
            refused: Cell::new(0),
            reads: Cell::new(0),
            exact_lookups: Cell::new(0),
        })
    }

    /// The snapshot held now.
    pub fn held(&self) -> Option<Rc<Snapshot>> {
        self.held.borrow().clone()
    }

    /// Takes `bytes` if they verify and are not older than what is held; true when taken.
    pub fn offer(&self, bytes: &[u8]) -> bool {
        let Ok(snapshot) = Snapshot::decode(bytes, &self.key) else {
            self.refused.set(self.refused.get() + 1);
            return false;
        };
        let newer = self.held.borrow().as_ref().is_none_or(|held| {
            (snapshot.epoch(), snapshot.published_at()) >= (held.epoch(), held.published_at())
        });
        if !newer {
            self.refused.set(self.refused.get() + 1);
            return false;
        }
        self.loads.set(self.loads.get() + 1);
        let epoch = snapshot.epoch();
        self.learned.borrow_mut().retain(|l| l.epoch > epoch);
        *self.held.borrow_mut() = Some(Rc::new(snapshot));
        *self.held_bytes.borrow_mut() = Some(Rc::new(bytes.to_vec()));
        true
    }

    /// The held snapshot's bytes and an ETag naming it (epoch and publication time).
    pub fn published(&self) -> Option<(String, Rc<Vec<u8>>)> {
        let held = self.held()?;
        let bytes = self.held_bytes.borrow().clone()?;
        Some((
            format!("\"{}-{}\"", held.epoch(), held.published_at()),
            bytes,
        ))
    }

    /// Reads the snapshot when due; `revocation_unavailable` when none can be held.
    pub async fn refresh(&self, host: &impl ReplicaHost, now: u64) -> Result<()> {
        if now >= self.next_load.get() || self.held.borrow().is_none() {
            self.load(host, now).await;
        }
        match self.held.borrow().is_some() {
            true => Ok(()),
            false => Err(unavailable("no revocation snapshot could be read".into())),
        }
    }

    /// Reads the snapshot when this isolate's copy is due (at most once per
    /// `snapshot_ttl_s`); asks the authority itself when the replicated copy is missing,
    /// refused, or older than publishing and KV propagation explain.
    async fn load(&self, host: &impl ReplicaHost, now: u64) {
        if self.loading.replace(true) {
            // Another request is loading: wait for it only when nothing is held.
            let mut waited = 0;
            while self.loading.get() && self.held.borrow().is_none() && waited < 5_000 {
                host.sleep(10).await;
                waited += 10;
            }
            return;
        }
        let _guard = LoadingGuard(&self.loading);
        self.next_load.set(now.saturating_add(self.snapshot_ttl_s));
        self.reads.set(self.reads.get() + 1);
        let replicated = match host.snapshot(false).await {
            Ok(Some(bytes)) => self.offer(&bytes),
            Ok(None) | Err(_) => false,
        };
        let late = self.publish_interval_s.saturating_add(KV_PROPAGATION_S);
        let current = self
            .held
            .borrow()
            .as_ref()
            .is_some_and(|s| now.saturating_sub(s.published_at()) <= late);
        if !replicated || !current {
            self.reads.set(self.reads.get() + 1);
            if let Ok(Some(bytes)) = host.snapshot(true).await {
                self.offer(&bytes);
            }
        }
    }

    /// The revocation status of a token whose track allows a view `max_staleness_s` old.
    pub async fn status(
        &self,
        host: &impl ReplicaHost,
        facts: &RevocationFacts,
        now: u64,
        max_staleness_s: u64,
    ) -> Result<RevocationStatus> {
        if max_staleness_s == 0 {
            return self.exact(host, facts).await;
        }
        if now >= self.next_load.get() || (self.held.borrow().is_none() && self.loading.get()) {
            self.load(host, now).await;
        }
        let Some(snapshot) = self.held() else {
            return Err(unavailable("no revocation snapshot could be read".into()));
        };
        let age = now.saturating_sub(snapshot.published_at());
        if age > max_staleness_s {
            return Err(unavailable(format!(
                "the revocation view is {age} s old; this token's track allows {max_staleness_s} s"
            )));
        }
        let (mut status, answer) = snapshot.status(facts);
        if answer == JtiAnswer::Unconfirmed {
            status.jti_revoked = self.confirm(host, facts, &snapshot).await?;
        }
        Ok(self.with_learned(facts, status))
    }

    /// The authority's exact answer (with this isolate's own writes, which it has too).
    pub async fn exact(
        &self,
        host: &impl ReplicaHost,
        facts: &RevocationFacts,
    ) -> Result<RevocationStatus> {
        self.exact_lookups.set(self.exact_lookups.get() + 1);
        let status = host.exact_status(facts).await?;
        Ok(self.with_learned(facts, status))
    }

    /// A filter hit, settled by the authority once per snapshot epoch.
    async fn confirm(
        &self,
        host: &impl ReplicaHost,
        facts: &RevocationFacts,
        snapshot: &Snapshot,
    ) -> Result<bool> {
        let Some(key) = facts.jti.as_deref().map(jti_key) else {
            return Ok(false);
        };
        {
            let confirmed = self.confirmed.borrow();
            if confirmed.0 == snapshot.epoch() {
                if let Some(revoked) = confirmed.1.get(&key) {
                    return Ok(*revoked);
                }
            }
        }
        let revoked = self.exact(host, facts).await?.jti_revoked;
        let mut confirmed = self.confirmed.borrow_mut();
        if confirmed.0 != snapshot.epoch() || confirmed.1.len() >= MAX_CONFIRMED {
            *confirmed = (snapshot.epoch(), HashMap::new());
        }
        confirmed.1.insert(key, revoked);
        Ok(revoked)
    }

    /// Adds this isolate's own writes the snapshot does not carry yet.
    fn with_learned(
        &self,
        facts: &RevocationFacts,
        mut status: RevocationStatus,
    ) -> RevocationStatus {
        let learned = self.learned.borrow();
        if learned.is_empty() {
            return status;
        }
        let jti = facts.jti.as_deref().map(jti_key);
        let sub = facts.sub.as_deref().map(sub_key);
        let later = |held: Option<u64>, time: u64| Some(held.map_or(time, |h| h.max(time)));
        for entry in learned.iter() {
            if Some(&entry.key) == jti.as_ref() {
                status.jti_revoked = true;
            } else if Some(&entry.key) == sub.as_ref() {
                status.subject_revoked_before = later(status.subject_revoked_before, entry.time);
            } else if entry.key == GLOBAL_KEY {
                status.global_revoked_before = later(status.global_revoked_before, entry.time);
            }
        }
        status
    }

    /// Enforces a write this isolate made (key, time, the authority's epoch for it) at once.
    pub fn learn(&self, key: &str, time: u64, epoch: u64) {
        if self
            .held
            .borrow()
            .as_ref()
            .is_some_and(|s| s.epoch() >= epoch)
        {
            return;
        }
        let mut learned = self.learned.borrow_mut();
        if learned.len() >= MAX_LEARNED {
            learned.remove(0);
        }
        learned.push(Learned {
            key: key.to_owned(),
            time,
            epoch,
        });
    }

    /// The view, for `GET /v1/revocation/status`.
    pub fn describe(&self, now: u64) -> ReplicaStatus {
        let held = self.held();
        let held = held.as_deref();
        ReplicaStatus {
            epoch: held.map(Snapshot::epoch),
            published_at: held.map(Snapshot::published_at),
            age_s: held.map(|s| now.saturating_sub(s.published_at())),
            jtis: held.map(Snapshot::jti_count),
            subjects: held.map(Snapshot::subject_count),
            filter: held.map(Snapshot::is_filter),
            bytes: held.map(Snapshot::bytes),
            loads: self.loads.get(),
            refused: self.refused.get(),
            reads: self.reads.get(),
            exact_lookups: self.exact_lookups.get(),
            pending_writes: self.learned.borrow().len(),
        }
    }

    /// Snapshot reads (replicated copy or authority) plus exact lookups: this view's share of
    /// the store traffic.
    pub fn requests_made(&self) -> u64 {
        self.reads.get() + self.exact_lookups.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation::snapshot::{fingerprint, SnapshotContents, EXACT_LIMIT};
    use futures_util::FutureExt;

    const KEY: &[u8] = b"replica-tests-key-0123456789abcdef";

    /// A host whose replicated copy and authority copy are set by the test; exact lookups
    /// answer from `revoked_jtis` and are counted.
    #[derive(Default)]
    struct FakeHost {
        replicated: RefCell<Option<Vec<u8>>>,
        authority: RefCell<Option<Vec<u8>>>,
        revoked_jtis: RefCell<Vec<String>>,
        snapshot_reads: Cell<u32>,
        exact_reads: Cell<u32>,
    }

    impl ReplicaHost for FakeHost {
        async fn snapshot(&self, from_authority: bool) -> Result<Option<Vec<u8>>> {
            self.snapshot_reads.set(self.snapshot_reads.get() + 1);
            Ok(match from_authority {
                true => self.authority.borrow().clone(),
                false => self.replicated.borrow().clone(),
            })
        }
        async fn exact_status(&self, facts: &RevocationFacts) -> Result<RevocationStatus> {
            self.exact_reads.set(self.exact_reads.get() + 1);
            Ok(RevocationStatus {
                jti_revoked: facts
                    .jti
                    .as_ref()
                    .is_some_and(|j| self.revoked_jtis.borrow().contains(j)),
                ..RevocationStatus::default()
            })
        }
        async fn sleep(&self, _ms: u64) {}
    }

    fn published(epoch: u64, at: u64, jtis: &[&str]) -> Vec<u8> {
        SnapshotContents {
            epoch,
            published_at: at,
            jtis: jtis.iter().map(|j| fingerprint(&jti_key(j))).collect(),
            ..SnapshotContents::default()
        }
        .encode(KEY)
        .unwrap()
    }

    fn facts(jti: &str) -> RevocationFacts {
        RevocationFacts {
            jti: Some(jti.into()),
            sub: Some("ada".into()),
            iat: Some(1),
            session_start: Some(1),
            exp: 10_000,
            track: None,
        }
    }

    fn status(
        r: &Replica,
        host: &FakeHost,
        jti: &str,
        now: u64,
        bound: u64,
    ) -> Result<RevocationStatus> {
        r.status(host, &facts(jti), now, bound)
            .now_or_never()
            .expect("the fake host never waits")
    }

    #[test]
    fn one_read_per_interval_and_revoked_jtis_refused_in_memory() {
        let host = FakeHost::default();
        *host.replicated.borrow_mut() = Some(published(1, 1000, &["gone"]));
        let r = Replica::new(KEY, 20, 30).unwrap();
        for now in 1000..1020 {
            assert!(status(&r, &host, "gone", now, 300).unwrap().jti_revoked);
            assert!(!status(&r, &host, "kept", now, 300).unwrap().jti_revoked);
        }
        assert_eq!(
            host.snapshot_reads.get(),
            1,
            "one read for 40 checks in 20 s"
        );
        status(&r, &host, "kept", 1020, 300).unwrap();
        assert_eq!(host.snapshot_reads.get(), 2);
        assert_eq!(host.exact_reads.get(), 0);
    }

    #[test]
    fn a_view_older_than_the_track_allows_fails_closed_for_that_track_only() {
        let host = FakeHost::default();
        *host.replicated.borrow_mut() = Some(published(1, 1000, &[]));
        let r = Replica::new(KEY, 20, 30).unwrap();
        assert!(status(&r, &host, "a", 1100, 300).is_ok());
        let e = status(&r, &host, "a", 1100, 60).unwrap_err();
        assert_eq!(e.code(), ErrorCode::RevocationUnavailable);
        assert!(e.message().contains("100 s old"), "{e}");
        // A track with bound 0 asks the authority every time.
        for _ in 0..3 {
            assert!(status(&r, &host, "a", 1100, 0).is_ok());
        }
        assert_eq!(host.exact_reads.get(), 3);
    }

    #[test]
    fn nothing_readable_is_revocation_unavailable() {
        let host = FakeHost::default();
        let r = Replica::new(KEY, 20, 30).unwrap();
        let e = status(&r, &host, "a", 1000, 300).unwrap_err();
        assert_eq!(e.code(), ErrorCode::RevocationUnavailable);
        assert_eq!(host.snapshot_reads.get(), 2, "KV, then the authority");
    }

    #[test]
    fn a_forged_or_older_copy_is_ignored_and_the_authority_asked() {
        let host = FakeHost::default();
        let r = Replica::new(KEY, 20, 30).unwrap();
        *host.replicated.borrow_mut() = Some(published(5, 1000, &["gone"]));
        assert!(status(&r, &host, "gone", 1000, 300).unwrap().jti_revoked);
        // Someone with write access to KV replays an older copy, and forges a newer one.
        *host.replicated.borrow_mut() = Some(published(4, 990, &[]));
        assert!(status(&r, &host, "gone", 1020, 300).unwrap().jti_revoked);
        let mut forged = published(9, 1040, &[]);
        forged[20] ^= 1;
        *host.replicated.borrow_mut() = Some(forged);
        *host.authority.borrow_mut() = Some(published(6, 1040, &["gone", "also"]));
        assert!(status(&r, &host, "also", 1040, 300).unwrap().jti_revoked);
        let view = r.describe(1040);
        assert_eq!((view.epoch, view.refused), (Some(6), 2));
    }

    #[test]
    fn a_filter_hit_is_confirmed_once_per_epoch_and_never_refuses_alone() {
        let host = FakeHost::default();
        let revoked: Vec<String> = (0..=EXACT_LIMIT).map(|i| format!("r{i}")).collect();
        let names: Vec<&str> = revoked.iter().map(String::as_str).collect();
        *host.replicated.borrow_mut() = Some(published(1, 1000, &names));
        *host.revoked_jtis.borrow_mut() = vec!["r7".into()];
        let r = Replica::new(KEY, 20, 30).unwrap();
        // "r8" is in the filter but the authority says it is not revoked: a false positive
        // as far as this isolate can tell, and it must pass.
        assert!(!status(&r, &host, "r8", 1000, 300).unwrap().jti_revoked);
        assert!(status(&r, &host, "r7", 1000, 300).unwrap().jti_revoked);
        assert!(!status(&r, &host, "r8", 1001, 300).unwrap().jti_revoked);
        assert!(status(&r, &host, "r7", 1001, 300).unwrap().jti_revoked);
        assert_eq!(host.exact_reads.get(), 2, "each hit confirmed once");
        // Absent jtis mostly miss the filter: about 1 in 256 needs a confirmation.
        let before = host.exact_reads.get();
        for i in 0..2_560 {
            status(&r, &host, &format!("absent-{i}"), 1002, 300).unwrap();
        }
        let confirmations = host.exact_reads.get() - before;
        assert!((1..40).contains(&confirmations), "{confirmations}");
    }

    #[test]
    fn own_writes_hold_until_a_snapshot_of_their_epoch() {
        let host = FakeHost::default();
        *host.replicated.borrow_mut() = Some(published(1, 1000, &[]));
        let r = Replica::new(KEY, 20, 30).unwrap();
        assert!(!status(&r, &host, "mine", 1000, 300).unwrap().jti_revoked);
        r.learn(&jti_key("mine"), 1000, 2);
        r.learn(&sub_key("ada"), 900, 3);
        let s = status(&r, &host, "mine", 1001, 300).unwrap();
        assert!(s.jti_revoked);
        assert_eq!(s.subject_revoked_before, Some(900));
        // Epoch 2 arrives (carrying the jti): the subject write of epoch 3 is still held.
        *host.replicated.borrow_mut() = Some(published(2, 1020, &["mine"]));
        let s = status(&r, &host, "other", 1020, 300).unwrap();
        assert_eq!(s.subject_revoked_before, Some(900));
        assert_eq!(r.describe(1020).pending_writes, 1);
    }
}
