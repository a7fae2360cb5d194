//! Per-isolate replay memory for proof `jti`s (RFC 9449 §11.1).
//!
//! Each accepted proof is remembered, by a hash of its key thumbprint and `jti`, until the last
//! second it could be accepted (`iat + max_age_s`); a second proof with the same pair inside
//! that time is `dpop_replayed`. Expired entries are dropped first (oldest expiry first). When
//! the memory is still full, every entry in it is a proof that could still be replayed: the
//! new proof is refused with `dpop_replay_unavailable` (503) instead of forgetting one of
//! them, because a forgotten entry is exactly the replay this memory exists to stop. The
//! memory fills only with proofs that passed every other check (signature included), and an
//! entry leaves at most `max_age_s + future_s` seconds after it came.
//!
//! The scope is one isolate (one process): a replay sent to another isolate is not seen here.
//! Routes that need exactly-once use across isolates ask for [`ReplayScope::Global`]: after
//! this memory, the proof is recorded in a [`ProofLedger`] (the Worker's revocation authority,
//! a Durable Object: one writer per shard of thumbprints), and a proof it has seen is
//! `dpop_replayed`; a ledger that cannot answer fails closed (`dpop_replay_unavailable`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::future::Future;
use std::sync::Mutex;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::proof::CheckedProof;
use crate::error::{Error, ErrorCode, Result};

/// Default [`ReplayMemory`] capacity: about 100 bytes an entry, so some 6.5 MB when full; at
/// 60 + 30 s per entry it holds 700 accepted proofs a second per isolate.
pub const DEFAULT_REPLAY_CAPACITY: usize = 65_536;

type Key = [u8; 32];

#[derive(Debug, Default)]
struct Entries {
    keys: HashSet<Key>,
    /// `(expires_at, key)`, soonest first: one per member of `keys`.
    expiries: BinaryHeap<Reverse<(u64, Key)>>,
}

/// The `jti`s of recent proofs, at most `capacity` of them. Pure: the caller passes `now`.
#[derive(Debug)]
pub struct ReplayMemory {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl Default for ReplayMemory {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY)
    }
}

/// How far a proof's single use is enforced (`gateway.dpop.replay`, `routes[].dpop_replay`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayScope {
    /// In this isolate (the [`ReplayMemory`]).
    #[default]
    Isolate,
    /// Everywhere: also recorded in the host's [`ProofLedger`].
    Global,
}

/// Where proofs are recorded once for every isolate (the Worker's revocation authority).
pub trait ProofLedger {
    /// Records `proof` until its `expires_at`: `Ok(true)` when no isolate had recorded it
    /// before, `Ok(false)` for a replay.
    fn first_use(&self, proof: &CheckedProof) -> impl Future<Output = Result<bool>>;
}

/// No ledger (the npm package, the CLI): a global check cannot be made, and fails closed.
pub struct NoLedger;

impl ProofLedger for NoLedger {
    async fn first_use(&self, _proof: &CheckedProof) -> Result<bool> {
        Err(Error::new(
            ErrorCode::DpopReplayUnavailable,
            "no proof ledger for a global replay check",
        ))
    }
}

/// A ledger the host may lack: without one, as [`NoLedger`].
impl<L: ProofLedger> ProofLedger for Option<L> {
    async fn first_use(&self, proof: &CheckedProof) -> Result<bool> {
        match self {
            Some(ledger) => ledger.first_use(proof).await,
            None => NoLedger.first_use(proof).await,
        }
    }
}

/// The ledger's key of a proof: a hash of its key thumbprint and `jti` (base64url), so that
/// what the ledger stores is fixed-size and reveals neither.
pub fn ledger_key(proof: &CheckedProof) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    Base64UrlUnpadded::encode_string(&key(&proof.jkt, &proof.jti))
}

/// Thumbprint and `jti` as one fixed-size key; the 0 byte keeps `("ab", "c")` and `("a",
/// "bc")` apart (a thumbprint is base64url, so it holds no 0 byte).
fn key(jkt: &str, jti: &str) -> Key {
    let mut hash = Sha256::new();
    hash.update(jkt.as_bytes());
    hash.update([0]);
    hash.update(jti.as_bytes());
    hash.finalize().into()
}

impl ReplayMemory {
    /// A memory of at most `capacity` proofs (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Mutex::default(),
        }
    }

    /// The proofs remembered now (expired ones included until the next call prunes them).
    pub fn len(&self) -> usize {
        self.entries().keys.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A poisoned lock only means another thread panicked mid-update; the two
        // collections are changed together under it, never across an await.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `proof` at `now`: `dpop_replayed` if its key and `jti` were seen and are still
    /// inside their window, `dpop_replay_unavailable` if the memory is full of live entries.
    pub fn check_and_remember(&self, proof: &CheckedProof, now: u64) -> Result<()> {
        self.remember(&proof.jkt, &proof.jti, proof.expires_at, now)
    }

    /// As [`ReplayMemory::check_and_remember`], from the parts.
    pub fn remember(&self, jkt: &str, jti: &str, expires_at: u64, now: u64) -> Result<()> {
        let mut entries = self.entries();
        while let Some(Reverse((expiry, old))) = entries.expiries.peek().copied() {
            if expiry >= now {
                break;
            }
            entries.expiries.pop();
            entries.keys.remove(&old);
        }
        let key = key(jkt, jti);
        if entries.keys.contains(&key) {
            return Err(Error::new(
                ErrorCode::DpopReplayed,
                "this proof (its jti with this key) was already used",
            ));
        }
        if expires_at < now {
            // Already outside its window: nothing to remember (the proof check refuses it).
            return Ok(());
        }
        if entries.keys.len() >= self.capacity {
            return Err(Error::new(
                ErrorCode::DpopReplayUnavailable,
                "too many recent DPoP proofs to check this one for replay; retry shortly",
            ));
        }
        entries.keys.insert(key);
        entries.expiries.push(Reverse((expires_at, key)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<()>) -> ErrorCode {
        result.unwrap_err().code()
    }

    #[test]
    fn a_jti_is_refused_again_until_its_window_ends() {
        let memory = ReplayMemory::new(8);
        assert!(memory.remember("k", "j1", 160, 100).is_ok());
        assert_eq!(
            code(memory.remember("k", "j1", 160, 100)),
            ErrorCode::DpopReplayed
        );
        assert_eq!(
            code(memory.remember("k", "j1", 160, 160)),
            ErrorCode::DpopReplayed
        );
        // Another key may use the same jti; the pair is the identity.
        assert!(memory.remember("other", "j1", 160, 100).is_ok());
        assert!(memory.remember("kj", "1", 160, 100).is_ok());
        // After the window the entry is gone (and the proof check refuses such a proof).
        assert!(memory.remember("k", "j1", 220, 161).is_ok());
        assert_eq!(memory.len(), 1);
    }

    #[test]
    fn a_full_memory_refuses_rather_than_forgets() {
        let memory = ReplayMemory::new(2);
        memory.remember("k", "a", 200, 100).unwrap();
        memory.remember("k", "b", 150, 100).unwrap();
        assert_eq!(
            code(memory.remember("k", "c", 200, 100)),
            ErrorCode::DpopReplayUnavailable
        );
        // Still remembered: the refusal forgot nothing.
        assert_eq!(
            code(memory.remember("k", "a", 200, 120)),
            ErrorCode::DpopReplayed
        );
        assert_eq!(
            code(memory.remember("k", "b", 150, 120)),
            ErrorCode::DpopReplayed
        );
        // Once "b" expires, there is room again, and "a" is still remembered.
        assert!(memory.remember("k", "c", 200, 151).is_ok());
        assert_eq!(
            code(memory.remember("k", "a", 200, 151)),
            ErrorCode::DpopReplayed
        );
        assert_eq!(ErrorCode::DpopReplayUnavailable.status(), 503);
    }
}
