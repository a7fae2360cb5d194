//! Properties of the revocation snapshot (`edge_jwt::revocation::snapshot`).
//!
//! - Membership: every revoked jti is found (`Revoked` in an exact set, `Unconfirmed` in a
//!   filter), never a false negative; an exact set answers `Clear` for everything else; subjects
//!   and the global time round-trip with their times. Many random sets below `EXACT_LIMIT`, a few
//!   fixed and random ones above it (a filter build per case is slow in a debug build).
//! - Decoding never panics: arbitrary bytes, a valid snapshot with one byte flipped or cut
//!   short anywhere (all refused), and bodies that carry a correct MAC (built here as the
//!   authority would: HMAC-SHA256 over the domain string and the body): arbitrary, structured
//!   with random header and filter descriptor fields, and a valid filter snapshot with its
//!   fields mutated. Whatever decodes must then answer `jti`, `subject` and `status` for any key
//!   without panicking: nothing but the layout checks stands between a MAC'd body and the
//!   filter's indexing.
//! - The filter's false-positive rate at 1,000,000 entries over 1,000,000 absent jtis, within a
//!   band around 1/256 (0.25 %–0.55 %); about 15 s in a debug build. benches/snapshot.rs prints
//!   the same measurement from a release build.
//!
//! Run: `cargo test --test snapshot` (`-- --nocapture` to see the measured rate).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use edge_jwt::revocation::snapshot::{
    fingerprint, JtiAnswer, Snapshot, SnapshotContents, EXACT_LIMIT,
};
use edge_jwt::revocation::store::{jti_key, sub_key};
use edge_jwt::revocation::RevocationFacts;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::Sha256;

const KEY: &[u8] = b"snapshot-properties-key-0123456789abcdef";
const MAC_CONTEXT: &[u8] = b"edge-jwt revocation snapshot v1\0";
const MAC_BYTES: usize = 32;
/// Magic, version, kind, has-global, reserved; epoch, published_at, global_before; two counts.
const HEADER_BYTES: usize = 8 + 8 + 8 + 8 + 4 + 4;
const SUBJECT_BYTES: usize = 24;
/// The filter descriptor: seed u64, segment_length, mask, segment_count_length, byte count.
const DESCRIPTOR_BYTES: usize = 8 + 4 + 4 + 4 + 4;

/// A body signed as the authority signs it.
fn sign(body: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(KEY).unwrap();
    mac.update(MAC_CONTEXT);
    mac.update(body);
    let mut out = body.to_vec();
    out.extend_from_slice(&mac.finalize().into_bytes());
    out
}

fn body(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len() - MAC_BYTES]
}

fn contents(
    jtis: impl IntoIterator<Item = impl AsRef<str>>,
    subjects: &BTreeMap<String, u64>,
    global_before: Option<u64>,
) -> SnapshotContents {
    SnapshotContents {
        epoch: 9,
        published_at: 1_800_000_000,
        global_before,
        subjects: subjects
            .iter()
            .map(|(s, t)| (fingerprint(&sub_key(s)), *t))
            .collect(),
        jtis: jtis
            .into_iter()
            .map(|j| fingerprint(&jti_key(j.as_ref())))
            .collect(),
    }
}

fn facts(jti: Option<&str>, sub: Option<&str>) -> RevocationFacts {
    RevocationFacts {
        jti: jti.map(str::to_owned),
        sub: sub.map(str::to_owned),
        iat: Some(1_799_999_000),
        session_start: Some(1_799_999_000),
        exp: 1_800_000_600,
        track: None,
    }
}

/// Asks a decoded snapshot about each key as a jti and as a subject; a panic is reported with
/// the key that caused it.
fn probe(snapshot: &Snapshot, keys: &[String]) -> Result<(), String> {
    for key in keys {
        catch_unwind(AssertUnwindSafe(|| {
            let answer = snapshot.jti(&jti_key(key));
            let _ = snapshot.subject(&sub_key(key));
            let (status, jti) = snapshot.status(&facts(Some(key), Some(key)));
            assert_eq!(jti, answer);
            assert_eq!(status.jti_revoked, answer == JtiAnswer::Revoked);
            let _ = snapshot.status(&facts(None, None));
        }))
        .map_err(|_| {
            format!(
                "looking up {key:?} panicked (filter: {}, jtis: {})",
                snapshot.is_filter(),
                snapshot.jti_count()
            )
        })?;
    }
    Ok(())
}

fn probe_keys() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[ -~]{0,24}", 1..96)
}

/// A jti: mostly short printable ones; sometimes one longer than the store's literal limit,
/// whose store key is a hash.
fn jti_strategy() -> impl Strategy<Value = String> {
    prop_oneof![8 => "[ -~]{0,40}", 1 => "[a-z0-9]{201,240}"]
}

fn subjects_strategy() -> impl Strategy<Value = BTreeMap<String, u64>> {
    prop::collection::btree_map("[ -~]{0,32}", any::<u64>(), 0..40)
}

/// Checks every member and every subject of a decoded snapshot.
fn assert_members(
    snapshot: &Snapshot,
    jtis: &[String],
    subjects: &BTreeMap<String, u64>,
    global_before: Option<u64>,
) {
    let hit = if snapshot.is_filter() {
        JtiAnswer::Unconfirmed
    } else {
        JtiAnswer::Revoked
    };
    for jti in jtis {
        let (status, answer) = snapshot.status(&facts(Some(jti), None));
        assert_eq!(answer, hit, "jti {jti:?}");
        assert_eq!(status.jti_revoked, hit == JtiAnswer::Revoked, "jti {jti:?}");
        assert_eq!(status.global_revoked_before, global_before);
    }
    assert_eq!(snapshot.subject_count(), subjects.len());
    for (sub, before) in subjects {
        assert_eq!(
            snapshot.subject(&sub_key(sub)),
            Some(*before),
            "sub {sub:?}"
        );
        let (status, answer) = snapshot.status(&facts(None, Some(sub)));
        assert_eq!(answer, JtiAnswer::Clear);
        assert_eq!(status.subject_revoked_before, Some(*before), "sub {sub:?}");
    }
    assert_eq!(snapshot.global_before(), global_before);
}

/// A snapshot's jtis, subjects and bytes.
type Fixture = (Vec<String>, BTreeMap<String, u64>, Vec<u8>);

/// A valid filter snapshot (just above the exact limit), built once.
fn filter_fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let jtis: Vec<String> = (0..=EXACT_LIMIT).map(|i| format!("fixture-{i}")).collect();
        let subjects: BTreeMap<String, u64> = (0..3u64)
            .map(|i| (format!("user-{i}"), 1_700_000_000 + i))
            .collect();
        let bytes = contents(&jtis, &subjects, Some(1_600_000_000))
            .encode(KEY)
            .unwrap();
        (jtis, subjects, bytes)
    })
}

/// A small valid exact snapshot.
fn exact_fixture() -> &'static Vec<u8> {
    static FIXTURE: OnceLock<Vec<u8>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let subjects: BTreeMap<String, u64> = [("alice".to_owned(), 5), ("bob".to_owned(), 6)]
            .into_iter()
            .collect();
        contents((0..40).map(|i| format!("j{i}")), &subjects, None)
            .encode(KEY)
            .unwrap()
    })
}

/// Where the filter descriptor starts in a body with `subjects` subjects.
fn descriptor_at(subjects: usize) -> usize {
    HEADER_BYTES + SUBJECT_BYTES * subjects
}

fn put_u32(body: &mut [u8], at: usize, value: u32) {
    body[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn get_u32(body: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(body[at..at + 4].try_into().unwrap())
}

fn usize_of(value: u32) -> usize {
    usize::try_from(value).unwrap()
}

/// `cases` cases, and no regression file written next to the tests: a failure prints its
/// minimal input, which belongs in a named test.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- (a) membership ----

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn exact_sets_find_every_member_and_nothing_else(
        jtis in prop::collection::btree_set(jti_strategy(), 0..600),
        repeats in 0usize..50,
        subjects in subjects_strategy(),
        global_before in any::<Option<u64>>(),
        epoch in any::<u64>(),
        published_at in any::<u64>(),
        absent in prop::collection::vec("[ -~]{0,40}", 0..40),
    ) {
        let jtis: Vec<String> = jtis.into_iter().collect();
        // Duplicates in the input are dropped by encode.
        let mut input = contents(
            jtis.iter().chain(jtis.iter().take(repeats)),
            &subjects,
            global_before,
        );
        input.epoch = epoch;
        input.published_at = published_at;
        let bytes = input.encode(KEY).unwrap();
        let snapshot = Snapshot::decode(&bytes, KEY).unwrap();
        prop_assert!(!snapshot.is_filter());
        prop_assert_eq!(usize_of(snapshot.jti_count()), jtis.len());
        prop_assert_eq!(snapshot.epoch(), epoch);
        prop_assert_eq!(snapshot.published_at(), published_at);
        prop_assert_eq!(snapshot.bytes(), bytes.len());
        assert_members(&snapshot, &jtis, &subjects, global_before);
        // An exact set has no false positives.
        let members: BTreeSet<&String> = jtis.iter().collect();
        for jti in absent.iter().filter(|j| !members.contains(j)) {
            prop_assert_eq!(snapshot.jti(&jti_key(jti)), JtiAnswer::Clear, "{:?}", jti);
        }
        prop_assert_eq!(snapshot.status(&facts(None, None)).1, JtiAnswer::Clear);
    }
}

proptest! {
    // Each case builds a filter of 65k+ entries: slow in a debug build.
    #![proptest_config(config(2))]

    #[test]
    fn filter_sets_have_no_false_negatives(
        extra in 1usize..20_000,
        prefix in "[a-z]{1,8}",
        subjects in subjects_strategy(),
        global_before in any::<Option<u64>>(),
    ) {
        let jtis: Vec<String> = (0..EXACT_LIMIT + extra).map(|i| format!("{prefix}/{i}")).collect();
        let bytes = contents(&jtis, &subjects, global_before).encode(KEY).unwrap();
        let snapshot = Snapshot::decode(&bytes, KEY).unwrap();
        prop_assert!(snapshot.is_filter());
        prop_assert_eq!(usize_of(snapshot.jti_count()), jtis.len());
        assert_members(&snapshot, &jtis, &subjects, global_before);
    }
}

#[test]
fn fixed_sets_at_and_above_the_exact_limit() {
    let subjects: BTreeMap<String, u64> = (0..100u64)
        .map(|i| (format!("subject-{i}"), 1_000 * i))
        .collect();
    for (n, filter) in [
        (EXACT_LIMIT, false),
        (EXACT_LIMIT + 1, true),
        (100_000, true),
    ] {
        let jtis: Vec<String> = (0..n).map(|i| format!("fixed-{n}-{i}")).collect();
        let bytes = contents(&jtis, &subjects, Some(77)).encode(KEY).unwrap();
        let snapshot = Snapshot::decode(&bytes, KEY).unwrap();
        assert_eq!(snapshot.is_filter(), filter, "n = {n}");
        assert_eq!(usize_of(snapshot.jti_count()), n);
        assert_members(&snapshot, &jtis, &subjects, Some(77));
        if filter {
            // About 9 bits per entry, against 128 exact.
            assert!(bytes.len() * 8 < n * 10, "{} bytes for {n}", bytes.len());
        }
    }
}

// ---- (b) decoding never panics ----

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_are_refused(
        bytes in prop::collection::vec(any::<u8>(), 0..700),
        magic in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if magic && bytes.len() >= 5 {
            bytes[..5].copy_from_slice(b"EJRS\x01");
        }
        prop_assert!(Snapshot::decode(&bytes, KEY).is_err());
    }

    #[test]
    fn a_flipped_byte_or_a_cut_anywhere_is_refused(
        filter in any::<bool>(),
        at in any::<Index>(),
        flip in 1u8..=255,
        cut in any::<Index>(),
    ) {
        let bytes = if filter { &filter_fixture().2 } else { exact_fixture() };
        let mut tampered = bytes.clone();
        let i = at.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert!(Snapshot::decode(&tampered, KEY).is_err(), "byte {} ^ {}", i, flip);
        let cut = cut.index(bytes.len());
        prop_assert!(Snapshot::decode(&bytes[..cut], KEY).is_err(), "cut at {}", cut);
    }

    #[test]
    fn maced_arbitrary_bodies_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..700),
        keys in probe_keys(),
    ) {
        if let Ok(snapshot) = Snapshot::decode(&sign(&body), KEY) {
            probe(&snapshot, &keys).map_err(TestCaseError::fail)?;
        }
    }
}

/// The filter descriptor of a structured body: each field either plausible or arbitrary.
#[derive(Debug, Clone)]
struct RawFilter {
    seed: u64,
    segment_length: u32,
    mask: u32,
    segment_count_length: u32,
    len: u32,
    fill: Vec<u8>,
}

fn raw_filter() -> impl Strategy<Value = RawFilter> {
    let segment_length = prop_oneof![4 => (0u32..14).prop_map(|e| 1 << e), 1 => any::<u32>()];
    (
        any::<u64>(),
        segment_length,
        prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(Some)],
        prop_oneof![4 => 0u32..3_000, 1 => any::<u32>()],
        prop_oneof![4 => Just(None), 1 => (0u32..4_096).prop_map(Some)],
        -3i64..8,
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(seed, sl, mask, scl, len, slack, fill)| {
            let reach = i64::from(scl) + 2 * i64::from(sl);
            RawFilter {
                seed,
                segment_length: sl,
                mask: mask.unwrap_or(sl.wrapping_sub(1)),
                segment_count_length: scl,
                // By default as long as the layout check asks, give or take a few bytes.
                len: len.unwrap_or_else(|| u32::try_from((reach + slack).max(0)).unwrap_or(0)),
                fill,
            }
        })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn maced_structured_bodies_never_panic(
        kind in prop_oneof![3 => Just(1u8), 2 => Just(0u8), 1 => any::<u8>()],
        flags in any::<[u8; 2]>(),
        times in any::<[u64; 3]>(),
        subjects in prop::collection::vec(any::<(u128, u64)>(), 0..6),
        sort_subjects in any::<bool>(),
        subject_count in prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(Some)],
        jti_count in any::<u32>(),
        exact in prop::collection::vec(any::<u128>(), 0..20),
        filter in raw_filter(),
        trailing in prop::collection::vec(any::<u8>(), 0..3),
        keys in probe_keys(),
    ) {
        let mut subjects = subjects;
        if sort_subjects {
            subjects.sort_unstable();
            subjects.dedup_by_key(|(fp, _)| *fp);
        }
        let mut body = b"EJRS\x01".to_vec();
        body.push(kind);
        body.extend_from_slice(&flags);
        for t in times {
            body.extend_from_slice(&t.to_le_bytes());
        }
        let count = subject_count.unwrap_or_else(|| u32::try_from(subjects.len()).unwrap());
        body.extend_from_slice(&count.to_le_bytes());
        if kind == 0 {
            body.extend_from_slice(&u32::try_from(exact.len()).unwrap().to_le_bytes());
        } else {
            body.extend_from_slice(&jti_count.to_le_bytes());
        }
        for (fp, before) in &subjects {
            body.extend_from_slice(&fp.to_le_bytes());
            body.extend_from_slice(&before.to_le_bytes());
        }
        if kind == 0 {
            let mut exact = exact;
            exact.sort_unstable();
            for fp in exact {
                body.extend_from_slice(&fp.to_le_bytes());
            }
        } else {
            body.extend_from_slice(&filter.seed.to_le_bytes());
            body.extend_from_slice(&filter.segment_length.to_le_bytes());
            body.extend_from_slice(&filter.mask.to_le_bytes());
            body.extend_from_slice(&filter.segment_count_length.to_le_bytes());
            body.extend_from_slice(&filter.len.to_le_bytes());
            // The fingerprints: `len` bytes when that is small enough to write, else the fill.
            let len = usize_of(filter.len);
            if len <= 1 << 16 && !filter.fill.is_empty() {
                body.extend(filter.fill.iter().cycle().take(len));
            } else if len <= 1 << 16 {
                body.resize(body.len() + len, 0);
            } else {
                body.extend_from_slice(&filter.fill);
            }
        }
        body.extend_from_slice(&trailing);
        if let Ok(snapshot) = Snapshot::decode(&sign(&body), KEY) {
            probe(&snapshot, &keys).map_err(TestCaseError::fail)?;
        }
    }
}

/// Changes to a valid filter snapshot's body: header bytes, descriptor fields (kept mutually
/// consistent or not), and the fingerprint bytes cut or padded to the new reach.
#[derive(Debug, Clone)]
struct Mutation {
    header: Vec<(Index, u8)>,
    seed: Option<u64>,
    /// Segment length scaled by 2^shift (negative halves), or replaced.
    segment_length: Option<Result<i8, u32>>,
    /// `None`: kept at segment_length - 1.
    mask: Option<u32>,
    /// A fraction (in 1/1024) of the original segment_count_length, plus an offset.
    segment_count_length: Option<(u16, u32)>,
    /// Cut or pad the fingerprint bytes (and their count) to exactly the reach the layout
    /// check asks for, plus this many bytes.
    fit: Option<i8>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<Index>(), any::<u8>()), 0..3),
        prop::option::of(any::<u64>()),
        prop::option::of(prop_oneof![
            4 => (-6i8..4).prop_map(Ok),
            1 => any::<u32>().prop_map(Err)
        ]),
        prop_oneof![6 => Just(None), 1 => any::<u32>().prop_map(Some)],
        prop::option::weighted(0.8, (0u16..=1024, 0u32..5_000)),
        prop::option::weighted(0.7, -2i8..4),
    )
        .prop_map(
            |(header, seed, segment_length, mask, segment_count_length, fit)| Mutation {
                header,
                seed,
                segment_length,
                mask,
                segment_count_length,
                fit,
            },
        )
}

fn mutate(good: &[u8], subjects: usize, m: &Mutation) -> Vec<u8> {
    let mut body = good.to_vec();
    for (at, value) in &m.header {
        let at = at.index(HEADER_BYTES);
        // Keep the magic: a body without it is refused before the descriptor is read.
        if at >= 4 {
            body[at] = *value;
        }
    }
    let d = descriptor_at(subjects);
    if let Some(seed) = m.seed {
        body[d..d + 8].copy_from_slice(&seed.to_le_bytes());
    }
    let mut sl = get_u32(&body, d + 8);
    match m.segment_length {
        Some(Ok(shift)) if shift < 0 => sl >>= shift.unsigned_abs(),
        Some(Ok(shift)) => sl = sl.checked_shl(u32::from(shift.unsigned_abs())).unwrap_or(0),
        Some(Err(any)) => sl = any,
        None => {}
    }
    put_u32(&mut body, d + 8, sl);
    put_u32(&mut body, d + 12, m.mask.unwrap_or(sl.wrapping_sub(1)));
    let mut scl = get_u32(&body, d + 16);
    if let Some((fraction, offset)) = m.segment_count_length {
        let scaled = u64::from(scl) * u64::from(fraction) / 1024;
        scl = u32::try_from(scaled)
            .unwrap()
            .saturating_add(offset % sl.max(1));
    }
    put_u32(&mut body, d + 16, scl);
    if let Some(slack) = m.fit {
        let reach = i64::from(scl) + 2 * i64::from(sl) + i64::from(slack);
        if let Ok(len) = u32::try_from(reach.max(0)) {
            let len_bytes = usize_of(len);
            if len_bytes <= 4 << 20 {
                put_u32(&mut body, d + 20, len);
                body.resize(d + DESCRIPTOR_BYTES + len_bytes, 0x5a);
            }
        }
    }
    body
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn maced_mutations_of_a_filter_never_panic(m in mutation(), keys in probe_keys()) {
        let (jtis, subjects, bytes) = filter_fixture();
        let body = mutate(body(bytes), subjects.len(), &m);
        if let Ok(snapshot) = Snapshot::decode(&sign(&body), KEY) {
            probe(&snapshot, &keys).map_err(TestCaseError::fail)?;
            // And the real members, a few of them.
            probe(&snapshot, &jtis[..32]).map_err(TestCaseError::fail)?;
        }
    }
}

/// The smallest cases the properties above find: a MAC'd filter whose `segment_count_length`
/// is 0 or not a multiple of `segment_length`. The layout check allows both
/// (`segment_count_length + 2 * segment_length <= len`), but `contains` reads up to the end of
/// the second segment after the one `h0` falls in: past the fingerprints when the last segment
/// is partial, and always when there is none (`h0` is then 0, not below 0).
#[test]
fn a_filter_whose_segments_do_not_tile_is_refused_or_safe() {
    for (segment_length, segment_count_length) in [(4u32, 5u32), (4, 0), (256, 0), (4, 6)] {
        let mask = segment_length - 1;
        let len = segment_count_length + 2 * segment_length;
        let mut body = b"EJRS\x01\x01\x00\x00".to_vec();
        body.extend_from_slice(&[0; 24]); // epoch, published_at, global_before
        body.extend_from_slice(&[0; 8]); // no subjects, jti count 0
        body.extend_from_slice(&0u64.to_le_bytes()); // seed
        for field in [segment_length, mask, segment_count_length, len] {
            body.extend_from_slice(&field.to_le_bytes());
        }
        body.resize(body.len() + usize_of(len), 0);
        if let Ok(snapshot) = Snapshot::decode(&sign(&body), KEY) {
            let keys: Vec<String> = (0..1_000).map(|i| format!("probe-{i}")).collect();
            if let Err(why) = probe(&snapshot, &keys) {
                panic!(
                    "segment_length {segment_length}, segment_count_length \
                     {segment_count_length}, {len} fingerprint bytes: {why}"
                );
            }
        }
    }
}

// ---- (c) the filter's false-positive rate ----

#[test]
fn false_positive_rate_at_a_million_entries() {
    const N: usize = 1_000_000;
    let jtis = (0..N).map(|i| format!("member-{i}"));
    let bytes = contents(jtis, &BTreeMap::new(), None).encode(KEY).unwrap();
    let snapshot = Snapshot::decode(&bytes, KEY).unwrap();
    assert!(snapshot.is_filter());
    let hits = (0..N)
        .filter(|i| snapshot.jti(&jti_key(&format!("absent-{i}"))) != JtiAnswer::Clear)
        .count();
    let rate = f64::from(u32::try_from(hits).unwrap()) / f64::from(u32::try_from(N).unwrap());
    println!(
        "false positives: {hits} of {N} absent jtis = {:.4} % (1/256 = 0.3906 %); {} bytes, \
         {:.2} bits per entry",
        rate * 100.0,
        bytes.len(),
        f64::from(u32::try_from(bytes.len() * 8).unwrap()) / f64::from(u32::try_from(N).unwrap()),
    );
    assert!(
        (0.0025..0.0055).contains(&rate),
        "false-positive rate {rate}"
    );
}
