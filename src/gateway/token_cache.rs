//! A bounded, per-isolate cache of verified tokens, so that a token sent again skips parsing
//! and its signature check. Keyed by the whole token (a different token can never hit another's
//! entry). Only what does not depend on time is remembered: every hit repeats the time checks
//! ([`crate::policy::Validator::recheck`]: `exp` with the leeway, `nbf`, `iat`, the track
//! lifetime), so an entry never outlives its token. An entry remembers the key set it was
//! verified under and is dropped when that set is replaced (a remote JWKS rotation). Revocation
//! is never cached here: the caller checks it on every request.

use std::collections::{HashMap, VecDeque};

use crate::policy::Verified;

/// Bounded FIFO map from token to its verification.
pub struct TokenCache {
    capacity: usize,
    entries: HashMap<String, (Verified, u64)>,
    order: VecDeque<String>,
    hits: u64,
    misses: u64,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens (`0`: nothing is cached).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
            order: VecDeque::new(),
            hits: 0,
            misses: 0,
        }
    }

    /// The verification of `token` made under key set `generation`, if cached; an entry of
    /// another generation is dropped.
    pub fn get(&mut self, token: &str, generation: u64) -> Option<&Verified> {
        match self.entries.get(token) {
            Some((_, made_under)) if *made_under != generation => {
                self.entries.remove(token);
                self.misses += 1;
                None
            }
            Some(_) => {
                self.hits += 1;
                self.entries.get(token).map(|(verified, _)| verified)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Forgets `token` (its time checks failed).
    pub fn remove(&mut self, token: &str) {
        self.entries.remove(token);
    }

    /// Remembers a verification made under key set `generation`; the oldest entry goes first.
    pub fn insert(&mut self, token: &str, verified: &Verified, generation: u64) {
        if self.capacity == 0 {
            return;
        }
        if self
            .entries
            .insert(token.to_owned(), (verified.clone(), generation))
            .is_none()
        {
            self.order.push_back(token.to_owned());
        }
        while self.entries.len() > self.capacity {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
        // Removed entries leave their names in `order`; compact it now and then.
        if self.order.len() > self.capacity * 2 {
            let entries = &self.entries;
            self.order.retain(|t| entries.contains_key(t));
        }
    }

    /// Hits and misses so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}
