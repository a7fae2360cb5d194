//! A bounded, per-isolate cache of revocation lookups.
//!
//! Positive and negative answers are both cached, so a steady stream of valid tokens costs few
//! store reads. An entry lives at most `ttl_s`, and an entry about one token never outlives
//! that token's `exp` (after which the token is refused anyway). When full, expired entries
//! go first, then the oldest insertions: memory stays bounded whatever the traffic.

use std::collections::{HashMap, VecDeque};

/// A cached store answer: `None` = no entry, `Some(t)` = the entry's time (revoked-at for a
/// jti, "revoked before" for a subject or the global switch).
pub type CachedValue = Option<u64>;

#[derive(Debug, Clone, Copy)]
struct Slot {
    value: CachedValue,
    expires_at: u64,
    generation: u64,
}

/// Bounded TTL cache keyed by store key (`jti:…`, `sub:…`, `global`).
#[derive(Debug)]
pub struct RevocationCache {
    capacity: usize,
    ttl_s: u64,
    slots: HashMap<String, Slot>,
    /// Insertion order with the generation each key had then, for FIFO eviction.
    order: VecDeque<(String, u64)>,
    next_generation: u64,
}

impl RevocationCache {
    /// A cache holding at most `capacity` entries for at most `ttl_s` seconds each.
    pub fn new(capacity: usize, ttl_s: u64) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl_s,
            slots: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
        }
    }

    /// The cached answer for `key`, if present and fresh at `now`.
    pub fn get(&self, key: &str, now: u64) -> Option<CachedValue> {
        self.slots
            .get(key)
            .filter(|slot| now < slot.expires_at)
            .map(|slot| slot.value)
    }

    /// Caches `value` for `key` until `now + ttl` less a per-key spread of up to a quarter of the
    /// TTL (so entries cached together are not all re-read together), or until `not_after` if
    /// that is sooner.
    pub fn insert(&mut self, key: &str, value: CachedValue, now: u64, not_after: Option<u64>) {
        let mut expires_at = now.saturating_add(self.ttl_s - spread(key, self.ttl_s / 4));
        if let Some(limit) = not_after {
            expires_at = expires_at.min(limit);
        }
        if expires_at <= now {
            self.slots.remove(key);
            return;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.slots.insert(
            key.to_owned(),
            Slot {
                value,
                expires_at,
                generation,
            },
        );
        self.order.push_back((key.to_owned(), generation));
        self.evict(now);
    }

    /// Keeps the cache within its capacity in amortised constant time: expired entries are swept
    /// only when the order queue is compacted (every `capacity` insertions or so); otherwise the
    /// oldest insertions go first.
    fn evict(&mut self, now: u64) {
        if self.order.len() > self.capacity * 2 {
            self.slots.retain(|_, slot| now < slot.expires_at);
            let slots = &self.slots;
            self.order.retain(|(key, generation)| {
                slots.get(key).is_some_and(|s| s.generation == *generation)
            });
        }
        while self.slots.len() > self.capacity {
            let Some((key, generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .slots
                .get(&key)
                .is_some_and(|s| s.generation == generation)
            {
                self.slots.remove(&key);
            }
        }
    }

    /// Number of cached entries (fresh or not yet evicted).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// A stable per-key number in `0..=max` (FNV-1a), to spread expiries without randomness.
fn spread(key: &str, max: u64) -> u64 {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % (max + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_positive_and_negative_answers_until_ttl() {
        let mut cache = RevocationCache::new(10, 30);
        cache.insert("jti:a", None, 100, None);
        cache.insert("sub:b", Some(90), 100, None);
        // Fresh for at least three quarters of the TTL, gone after the TTL.
        assert_eq!(cache.get("jti:a", 122), Some(None));
        assert_eq!(cache.get("sub:b", 122), Some(Some(90)));
        assert_eq!(cache.get("jti:a", 130), None);
        assert_eq!(cache.get("sub:b", 130), None);
        assert_eq!(cache.get("jti:zz", 100), None);
    }

    #[test]
    fn expiries_are_spread_across_keys() {
        let lifetimes: std::collections::BTreeSet<u64> = (0..100)
            .map(|i| 30 - spread(&format!("jti:{i}"), 30 / 4))
            .collect();
        assert!(lifetimes.len() > 3, "{lifetimes:?}");
        assert!(lifetimes.iter().all(|t| (23..=30).contains(t)));
    }

    #[test]
    fn entries_never_outlive_the_token() {
        let mut cache = RevocationCache::new(10, 30);
        cache.insert("jti:a", None, 100, Some(110));
        assert_eq!(cache.get("jti:a", 109), Some(None));
        assert_eq!(cache.get("jti:a", 110), None);
        cache.insert("jti:b", None, 100, Some(100));
        assert!(cache.get("jti:b", 100).is_none());
    }

    #[test]
    fn stays_bounded_and_evicts_oldest_first() {
        let mut cache = RevocationCache::new(3, 1000);
        for i in 0..10 {
            cache.insert(&format!("jti:{i}"), None, 1, None);
            assert!(cache.len() <= 3);
        }
        assert!(cache.get("jti:9", 1).is_some());
        assert!(cache.get("jti:0", 1).is_none());
        // Re-inserting a key refreshes it rather than duplicating it.
        for _ in 0..100 {
            cache.insert("jti:9", Some(5), 2, None);
        }
        assert!(cache.order.len() <= 7);
        assert_eq!(cache.get("jti:9", 2), Some(Some(5)));
    }
}
