//! The revocation snapshot: the whole live revocation set in one compact, MAC'd document that
//! the revocation authority publishes and every isolate checks in memory.
//!
//! Entries are named by the fingerprint of their store key ([`fingerprint`]: the first 128
//! bits of SHA-256 of `jti:…` / `sub:…`), so a snapshot never holds a token id or a subject in
//! clear and every entry has the same size. The jti set is exact (sorted fingerprints, 16 bytes
//! each) up to [`EXACT_LIMIT`] entries; above it, a binary fuse filter (8-bit fingerprints,
//! about 9 bits per entry, false-positive rate 1/256), whose hits the host confirms exactly
//! before answering `revoked` ([`JtiAnswer::Unconfirmed`]). Subjects and the global time are
//! always exact.
//!
//! Layout (little-endian), then a 32-byte HMAC-SHA256 of everything before it:
//! `"EJRS"`, version 1, jti kind (0 exact, 1 filter), has-global flag, 0,
//! epoch u64, published_at u64, global_before u64, subject count u32, jti count u32,
//! subjects (fingerprint u128, before u64) sorted, then the jti set: exact fingerprints sorted,
//! or the filter's seed u64, segment_length u32, mask u32, segment_count_length u32,
//! fingerprint bytes u32 and the bytes.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use xorf::{BinaryFuse8, Descriptor, Filter};

use super::store::{jti_key, sub_key};
use super::{RevocationFacts, RevocationStatus};
use crate::error::{Error, ErrorCode, Result};

/// Most jtis kept exact; a larger set becomes a filter (16 bytes per entry → ~1.13 bytes).
/// 65,536 exact entries take 1 MiB, about what a filter of a million entries takes (1.08 MiB).
pub const EXACT_LIMIT: usize = 65_536;
/// Shortest MAC key accepted (the Worker's `SNAPSHOT_KEY` secret).
pub const MIN_KEY_BYTES: usize = 32;
/// Largest snapshot read (a filter of 10^7 jtis is ~11 MiB; KV values stop at 25 MiB).
pub const MAX_SNAPSHOT_BYTES: usize = 24 << 20;

const MAGIC: &[u8; 4] = b"EJRS";
const VERSION: u8 = 1;
const HEADER_BYTES: usize = 8 + 8 + 8 + 8 + 4 + 4;
const MAC_BYTES: usize = 32;
/// MAC domain: a snapshot's key cannot be confused with any other use of the same bytes.
const MAC_CONTEXT: &[u8] = b"edge-jwt revocation snapshot v1\0";

/// An entry's name in a snapshot: the first 128 bits of SHA-256 of its store key.
pub fn fingerprint(store_key: &str) -> u128 {
    let digest = Sha256::digest(store_key.as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

/// The filter's key for a fingerprint (its high 64 bits; the filter rehashes with its seed).
fn filter_key(fingerprint: u128) -> u64 {
    let [high, _] = split(fingerprint);
    high
}

fn split(value: u128) -> [u64; 2] {
    let bytes = value.to_be_bytes();
    let mut high = [0u8; 8];
    let mut low = [0u8; 8];
    high.copy_from_slice(&bytes[..8]);
    low.copy_from_slice(&bytes[8..]);
    [u64::from_be_bytes(high), u64::from_be_bytes(low)]
}

/// What the authority publishes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotContents {
    /// Bumped by every change the authority applies.
    pub epoch: u64,
    /// When it was published (seconds): isolates measure their view's age from it.
    pub published_at: u64,
    /// Every token whose session began before this is revoked.
    pub global_before: Option<u64>,
    /// Subjects revoked before a time, by [`fingerprint`] of their `sub:` key.
    pub subjects: Vec<(u128, u64)>,
    /// Revoked jtis, by [`fingerprint`] of their `jti:` key.
    pub jtis: Vec<u128>,
}

fn mac(key: &[u8]) -> Result<Hmac<Sha256>> {
    if key.len() < MIN_KEY_BYTES {
        return Err(Error::new(
            ErrorCode::ConfigError,
            format!("the snapshot key must be at least {MIN_KEY_BYTES} bytes"),
        ));
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| Error::new(ErrorCode::ConfigError, "unusable snapshot key"))?;
    mac.update(MAC_CONTEXT);
    Ok(mac)
}

fn count(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::new(ErrorCode::RevocationUnavailable, "set too large"))
}

impl SnapshotContents {
    /// The signed document: exact jtis up to [`EXACT_LIMIT`], a filter above.
    pub fn encode(mut self, key: &[u8]) -> Result<Vec<u8>> {
        let mut mac = mac(key)?;
        // Later wins: of two times for one subject, the latest stays.
        self.subjects
            .sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        self.subjects.dedup_by_key(|(fp, _)| *fp);
        self.jtis.sort_unstable();
        self.jtis.dedup();
        let exact = self.jtis.len() <= EXACT_LIMIT;
        let mut out = Vec::with_capacity(
            HEADER_BYTES
                + MAC_BYTES
                + self.subjects.len() * 24
                + if exact {
                    self.jtis.len() * 16
                } else {
                    self.jtis.len() * 5 / 4 + 32
                },
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[
            VERSION,
            u8::from(!exact),
            u8::from(self.global_before.is_some()),
            0,
        ]);
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.published_at.to_le_bytes());
        out.extend_from_slice(&self.global_before.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&count(self.subjects.len())?.to_le_bytes());
        out.extend_from_slice(&count(self.jtis.len())?.to_le_bytes());
        for (fp, before) in &self.subjects {
            out.extend_from_slice(&fp.to_le_bytes());
            out.extend_from_slice(&before.to_le_bytes());
        }
        if exact {
            for fp in &self.jtis {
                out.extend_from_slice(&fp.to_le_bytes());
            }
        } else {
            let keys: Vec<u64> = self.jtis.iter().copied().map(filter_key).collect();
            let filter = BinaryFuse8::try_from(&keys).map_err(|why| {
                Error::new(
                    ErrorCode::RevocationUnavailable,
                    format!("filter not built: {why}"),
                )
            })?;
            let d = &filter.descriptor;
            out.extend_from_slice(&d.seed.to_le_bytes());
            out.extend_from_slice(&d.segment_length.to_le_bytes());
            out.extend_from_slice(&d.segment_length_mask.to_le_bytes());
            out.extend_from_slice(&d.segment_count_length.to_le_bytes());
            out.extend_from_slice(&count(filter.fingerprints.len())?.to_le_bytes());
            out.extend_from_slice(&filter.fingerprints);
        }
        mac.update(&out);
        out.extend_from_slice(&mac.finalize().into_bytes());
        Ok(out)
    }
}

/// The jti set as published.
#[derive(Debug, Clone)]
enum JtiSet {
    Exact(Vec<u128>),
    Filter(BinaryFuse8),
}

/// What a snapshot says about a token's jti.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JtiAnswer {
    /// Not revoked (no jti, or not in the set: neither form has false negatives).
    Clear,
    /// In the exact set: revoked.
    Revoked,
    /// A filter hit: revoked, or a false positive; confirm exactly before refusing.
    Unconfirmed,
}

/// A verified, decoded snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    epoch: u64,
    published_at: u64,
    global_before: Option<u64>,
    subjects: Vec<(u128, u64)>,
    jti_count: u32,
    jtis: JtiSet,
    bytes: usize,
}

fn malformed(why: &str) -> Error {
    Error::new(
        ErrorCode::RevocationUnavailable,
        format!("revocation snapshot refused: {why}"),
    )
}

/// Reads fixed-size fields off the front of the body.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.array()?))
    }
    fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.u32()?).map_err(|_| malformed("count too large"))
    }
}

impl Snapshot {
    /// Checks the MAC (constant time) before reading anything, then the layout: a document
    /// that is not exactly what the authority wrote with `key` is refused as a whole.
    pub fn decode(bytes: &[u8], key: &[u8]) -> Result<Snapshot> {
        if bytes.len() > MAX_SNAPSHOT_BYTES {
            return Err(malformed("too large"));
        }
        let Some(body_len) = bytes.len().checked_sub(MAC_BYTES) else {
            return Err(malformed("truncated"));
        };
        let (body, tag) = bytes.split_at(body_len);
        let mut mac = mac(key)?;
        mac.update(body);
        mac.verify_slice(tag)
            .map_err(|_| malformed("its MAC does not verify"))?;
        Self::parse(body)
    }

    fn parse(body: &[u8]) -> Result<Snapshot> {
        let mut at = Cursor(body);
        let [version, kind, has_global, _] = {
            if at.take(4)? != MAGIC {
                return Err(malformed("not a snapshot"));
            }
            at.array::<4>()?
        };
        if version != VERSION {
            return Err(malformed("unknown version"));
        }
        let epoch = at.u64()?;
        let published_at = at.u64()?;
        let global = at.u64()?;
        let subject_count = at.usize()?;
        let jti_count = at.u32()?;
        // Each count is checked against the bytes left before anything is allocated for it.
        if subject_count > at.0.len() / 24 {
            return Err(malformed("truncated"));
        }
        let mut subjects = Vec::with_capacity(subject_count);
        for _ in 0..subject_count {
            subjects.push((at.u128()?, at.u64()?));
        }
        if !subjects.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(malformed("subjects out of order"));
        }
        let jtis = match kind {
            0 => {
                let n = usize::try_from(jti_count).map_err(|_| malformed("count too large"))?;
                if n > at.0.len() / 16 {
                    return Err(malformed("truncated"));
                }
                let mut jtis = Vec::with_capacity(n);
                for _ in 0..n {
                    jtis.push(at.u128()?);
                }
                if !jtis.windows(2).all(|w| w[0] < w[1]) {
                    return Err(malformed("jtis out of order"));
                }
                JtiSet::Exact(jtis)
            }
            1 => JtiSet::Filter(Self::parse_filter(&mut at)?),
            _ => return Err(malformed("unknown jti set")),
        };
        if !at.0.is_empty() {
            return Err(malformed("trailing bytes"));
        }
        Ok(Snapshot {
            epoch,
            published_at,
            global_before: (has_global != 0).then_some(global),
            subjects,
            jti_count,
            jtis,
            bytes: body.len() + MAC_BYTES,
        })
    }

    /// The filter, with the bounds `contains` indexes within checked here: it reads three
    /// fingerprints below `segment_count_length + 2 * segment_length`, which holds only when
    /// the segments tile (`segment_count_length` a positive multiple of `segment_length`).
    fn parse_filter(at: &mut Cursor<'_>) -> Result<BinaryFuse8> {
        let seed = at.u64()?;
        let segment_length = at.u32()?;
        let segment_length_mask = at.u32()?;
        let segment_count_length = at.u32()?;
        let len = at.usize()?;
        let fingerprints: Box<[u8]> = at.take(len)?.into();
        let reach = u64::from(segment_count_length) + 2 * u64::from(segment_length);
        let sound = segment_length.is_power_of_two()
            && segment_length_mask == segment_length - 1
            && segment_count_length != 0
            && segment_count_length % segment_length == 0
            && u64::try_from(len).is_ok_and(|len| reach <= len)
            && u32::try_from(reach).is_ok();
        if !sound {
            return Err(malformed("inconsistent filter"));
        }
        Ok(BinaryFuse8 {
            descriptor: Descriptor {
                seed,
                segment_length,
                segment_length_mask,
                segment_count_length,
            },
            fingerprints,
        })
    }

    /// The authority's epoch when it was published.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// When it was published.
    pub fn published_at(&self) -> u64 {
        self.published_at
    }

    /// Its size as published, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Revoked jtis it covers.
    pub fn jti_count(&self) -> u32 {
        self.jti_count
    }

    /// Subjects it covers.
    pub fn subject_count(&self) -> usize {
        self.subjects.len()
    }

    /// Whether its jti set is a filter (hits need confirming).
    pub fn is_filter(&self) -> bool {
        matches!(self.jtis, JtiSet::Filter(_))
    }

    /// Looks a jti's store key up.
    pub fn jti(&self, store_key: &str) -> JtiAnswer {
        let fp = fingerprint(store_key);
        match &self.jtis {
            JtiSet::Exact(set) if set.binary_search(&fp).is_ok() => JtiAnswer::Revoked,
            JtiSet::Filter(filter) if filter.contains(&filter_key(fp)) => JtiAnswer::Unconfirmed,
            _ => JtiAnswer::Clear,
        }
    }

    /// A subject's "revoked before" time, by its store key.
    pub fn subject(&self, store_key: &str) -> Option<u64> {
        let fp = fingerprint(store_key);
        self.subjects
            .binary_search_by_key(&fp, |(f, _)| *f)
            .ok()
            .and_then(|i| self.subjects.get(i))
            .map(|(_, before)| *before)
    }

    /// The global "revoked before" time.
    pub fn global_before(&self) -> Option<u64> {
        self.global_before
    }

    /// Everything it says about a token: the status (jti revoked only when certain) and the
    /// jti's answer (the host confirms [`JtiAnswer::Unconfirmed`]).
    pub fn status(&self, facts: &RevocationFacts) -> (RevocationStatus, JtiAnswer) {
        let jti = facts
            .jti
            .as_deref()
            .map_or(JtiAnswer::Clear, |jti| self.jti(&jti_key(jti)));
        let status = RevocationStatus {
            jti_revoked: jti == JtiAnswer::Revoked,
            subject_revoked_before: facts.sub.as_deref().and_then(|s| self.subject(&sub_key(s))),
            global_revoked_before: self.global_before,
        };
        (status, jti)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"snapshot-tests-key-0123456789abcdef";

    fn contents(jtis: usize) -> SnapshotContents {
        SnapshotContents {
            epoch: 7,
            published_at: 1_800_000_000,
            global_before: Some(1_700_000_000),
            subjects: vec![(fingerprint("sub:alice"), 1_799_000_000)],
            jtis: (0..jtis)
                .map(|i| fingerprint(&jti_key(&format!("j{i}"))))
                .collect(),
        }
    }

    fn facts(jti: &str, sub: &str) -> RevocationFacts {
        RevocationFacts {
            jti: Some(jti.into()),
            sub: Some(sub.into()),
            iat: Some(1),
            session_start: Some(1),
            exp: 2,
            track: None,
        }
    }

    #[test]
    fn exact_round_trip() {
        let bytes = contents(100).encode(KEY).unwrap();
        let snapshot = Snapshot::decode(&bytes, KEY).unwrap();
        assert!(!snapshot.is_filter());
        assert_eq!(
            (
                snapshot.epoch(),
                snapshot.published_at(),
                snapshot.jti_count()
            ),
            (7, 1_800_000_000, 100)
        );
        assert_eq!(snapshot.bytes(), bytes.len());
        let (status, answer) = snapshot.status(&facts("j5", "alice"));
        assert_eq!(answer, JtiAnswer::Revoked);
        assert!(status.jti_revoked);
        assert_eq!(status.subject_revoked_before, Some(1_799_000_000));
        assert_eq!(status.global_revoked_before, Some(1_700_000_000));
        let (status, answer) = snapshot.status(&facts("j100", "bob"));
        assert_eq!(answer, JtiAnswer::Clear);
        assert_eq!(status.subject_revoked_before, None);
    }

    #[test]
    fn above_the_exact_limit_a_filter_without_false_negatives() {
        let n = EXACT_LIMIT + 1;
        let bytes = contents(n).encode(KEY).unwrap();
        assert!(
            bytes.len() < n * 2,
            "about 9 bits per entry: {}",
            bytes.len()
        );
        let snapshot = Snapshot::decode(&bytes, KEY).unwrap();
        assert!(snapshot.is_filter());
        for i in (0..n).step_by(97) {
            let (status, answer) = snapshot.status(&facts(&format!("j{i}"), "x"));
            assert_eq!(answer, JtiAnswer::Unconfirmed, "j{i}");
            assert!(!status.jti_revoked, "a filter hit alone never revokes");
        }
        // The false-positive rate against the design's 1/256 (0.39 %).
        let trials = 200_000;
        let hits = (0..trials)
            .filter(|i| snapshot.jti(&jti_key(&format!("absent-{i}"))) != JtiAnswer::Clear)
            .count();
        let rate = f64::from(u32::try_from(hits).unwrap()) / f64::from(trials);
        assert!((0.002..0.006).contains(&rate), "false-positive rate {rate}");
    }

    #[test]
    fn anything_but_the_authority_s_bytes_is_refused() {
        let bytes = contents(3).encode(KEY).unwrap();
        assert!(Snapshot::decode(&bytes, b"another-key-0123456789abcdef-0123").is_err());
        for i in [0, 5, 12, 40, bytes.len() - 40, bytes.len() - 1] {
            let mut tampered = bytes.clone();
            tampered[i] ^= 1;
            assert!(Snapshot::decode(&tampered, KEY).is_err(), "byte {i}");
        }
        for cut in [0, 1, 31, 32, bytes.len() - 1] {
            assert!(
                Snapshot::decode(&bytes[..cut], KEY).is_err(),
                "cut at {cut}"
            );
        }
        // An empty set is a valid snapshot (nothing revoked), not an error.
        let empty = SnapshotContents::default().encode(KEY).unwrap();
        assert!(Snapshot::decode(&empty, KEY).is_ok());
        assert!(SnapshotContents::default().encode(b"short").is_err());
    }

    #[test]
    fn a_correctly_maced_but_inconsistent_body_is_refused_not_trusted() {
        // Bodies a bug could produce: every one is MAC'd with the right key, so only the
        // layout checks stand between them and an out-of-bounds read.
        let sign = |body: Vec<u8>| {
            let mut m = mac(KEY).unwrap();
            m.update(&body);
            let mut out = body;
            out.extend_from_slice(&m.finalize().into_bytes());
            out
        };
        let good = contents(EXACT_LIMIT + 1).encode(KEY).unwrap();
        let body = &good[..good.len() - MAC_BYTES];
        let filter_at = HEADER_BYTES + 24;
        // Shrink segment_count_length's reach past the fingerprints: mask not length - 1.
        let mut bad = body.to_vec();
        bad[filter_at + 12] ^= 0x10;
        assert!(Snapshot::decode(&sign(bad), KEY).is_err());
        // A subject count larger than the body.
        let mut bad = body.to_vec();
        bad[4 + 4 + 24..4 + 4 + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Snapshot::decode(&sign(bad), KEY).is_err());
        // Trailing bytes.
        let mut bad = body.to_vec();
        bad.push(0);
        assert!(Snapshot::decode(&sign(bad), KEY).is_err());
    }
}
