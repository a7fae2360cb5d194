//! The revocation snapshot (`edge_jwt::revocation::snapshot`): build, load and check costs, and
//! its size, by number of live revoked jtis.
//!
//! For N in 1,000, 65,536 (`EXACT_LIMIT`, the largest exact set), 100,000 and 1,000,000 revoked
//! jtis, plus 10,000 revoked subjects and a global time: N distinct `jti:` fingerprints (in hash
//! order, as the authority would collect them) and the subjects' fingerprints are made outside
//! timing. Above `EXACT_LIMIT` the jti set is a binary fuse filter.
//!
//! Benchmarks, per N (`jtis_<N>/<name>`):
//! - `encode`: `SnapshotContents::encode`, the build in the authority: from the unsorted
//!   fingerprints to the signed bytes (sort, dedup, filter build, HMAC). The contents are cloned
//!   outside timing.
//! - `decode`: `Snapshot::decode`, load-and-index in an isolate: bytes to a `Snapshot`, the MAC
//!   check included.
//! - `status_clear` / `status_revoked`: `Snapshot::status(facts)` for a token whose jti is not
//!   in the set and for one whose jti is (`Revoked` exact, `Unconfirmed` filter). Both tokens
//!   carry a `sub` that is not revoked, so the subject lookup runs in full too; each is the
//!   whole per-token cost: store keys, two SHA-256 fingerprints, two searches. Iterations cycle
//!   through 1,000 different tokens.
//!
//! Printed once per N (stderr, outside timing): the snapshot's size (bytes, MiB, bits per jti),
//! the memory the decoded set holds (estimated from the element sizes: 16 bytes per exact jti or
//! the filter's fingerprint bytes, plus the subject entries), and the filter's false-positive
//! rate over 1,000,000 absent jtis (release build; tests/snapshot.rs checks it too).
//!
//! Also `fingerprint`: `fingerprint(store_key)` alone on a 40-byte `jti:` key, and with
//! `jti_key` building that key from the jti.
//!
//! Run: `cargo bench --bench snapshot` (`EDGE_JWT_BENCH_SNAPSHOT_N=1000,100000` for a subset of
//! the sizes). The whole run takes a few minutes, most of it building the sets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark's set-up that fails must stop the run, not be measured"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use edge_jwt::revocation::snapshot::{
    fingerprint, JtiAnswer, Snapshot, SnapshotContents, EXACT_LIMIT,
};
use edge_jwt::revocation::store::{jti_key, sub_key};
use edge_jwt::revocation::RevocationFacts;

const KEY: &[u8] = b"bench-snapshot-key-0123456789abcdef-0123";
const SIZES: [usize; 4] = [1_000, EXACT_LIMIT, 100_000, 1_000_000];
const SUBJECTS: usize = 10_000;
/// Different tokens each status benchmark cycles through.
const TOKENS: usize = 1_000;
/// Absent jtis the false-positive rate is measured over.
const FPR_TRIALS: usize = 1_000_000;
const PUBLISHED_AT: u64 = 1_800_000_000;

/// A jti as tokens carry them: 36 characters, UUID-like.
fn jti(i: usize) -> String {
    format!(
        "0b7c{i:08x}-5e1d-4c8a-9f3e-{:012x}",
        i.wrapping_mul(0x9e37_79b9)
    )
}

fn absent_jti(i: usize) -> String {
    format!(
        "absent{i:06x}-5e1d-4c8a-9f3e-{:012x}",
        i.wrapping_mul(0x85eb_ca6b)
    )
}

fn contents(n: usize) -> SnapshotContents {
    SnapshotContents {
        epoch: 42,
        published_at: PUBLISHED_AT,
        global_before: Some(PUBLISHED_AT - 86_400),
        subjects: (0..SUBJECTS)
            .map(|i| {
                let before = PUBLISHED_AT - u64::try_from(i).unwrap();
                (fingerprint(&sub_key(&format!("user-{i}"))), before)
            })
            .collect(),
        jtis: (0..n).map(|i| fingerprint(&jti_key(&jti(i)))).collect(),
    }
}

fn facts(jti: String, i: usize) -> RevocationFacts {
    RevocationFacts {
        jti: Some(jti),
        sub: Some(format!("active-user-{i}")),
        iat: Some(PUBLISHED_AT - 60),
        session_start: Some(PUBLISHED_AT - 60),
        exp: PUBLISHED_AT + 600,
        track: None,
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    f64::from(u32::try_from(part).unwrap()) / f64::from(u32::try_from(whole).unwrap())
}

/// The filter's fingerprint bytes, read from the layout: after the 40-byte header, the
/// subjects (24 bytes each) and the descriptor's seed, segment length, mask and count length.
fn filter_bytes(bytes: &[u8], subjects: usize) -> usize {
    let at = 40 + 24 * subjects + 8 + 4 + 4 + 4;
    let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    usize::try_from(len).unwrap()
}

/// Size, memory and false positives of one snapshot, printed outside timing.
fn report(n: usize, bytes: &[u8], snapshot: &Snapshot) {
    const MIB: f64 = 1024.0 * 1024.0;
    let size = bytes.len();
    let subjects = snapshot.subject_count() * std::mem::size_of::<(u128, u64)>();
    let jtis = if snapshot.is_filter() {
        filter_bytes(bytes, snapshot.subject_count())
    } else {
        n * std::mem::size_of::<u128>()
    };
    let absent = (0..FPR_TRIALS)
        .filter(|&i| snapshot.jti(&jti_key(&absent_jti(i))) != JtiAnswer::Clear)
        .count();
    eprintln!(
        "snapshot N={n}: {} jti set; {size} bytes = {:.3} MiB ({:.2} bits per jti incl. the \
         {SUBJECTS} subjects, {:.2} bits per jti for the jti set alone); decoded memory \
         ≈ {:.3} MiB (jtis {jtis} B + subjects {subjects} B); false positives {absent} of \
         {FPR_TRIALS} absent jtis = {:.4} %",
        if snapshot.is_filter() {
            "filter"
        } else {
            "exact"
        },
        ratio(size, 1) / MIB,
        ratio(size * 8, n),
        ratio(jtis * 8, n),
        ratio(jtis + subjects, 1) / MIB,
        100.0 * ratio(absent, FPR_TRIALS),
    );
}

/// Runs `f` on item 0, 1, …, 999, 0, 1, … — one item per iteration.
fn cycle<T, R>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    items: &[T],
    mut f: impl FnMut(&T) -> R,
) {
    group.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            let item = &items[i];
            i += 1;
            if i == items.len() {
                i = 0;
            }
            black_box(f(black_box(item)))
        });
    });
}

fn bench_snapshot(c: &mut Criterion) {
    for n in selected_sizes() {
        let contents = contents(n);
        let bytes = contents.clone().encode(KEY).unwrap();
        let snapshot = Snapshot::decode(&bytes, KEY).unwrap();
        assert_eq!(snapshot.is_filter(), n > EXACT_LIMIT);
        assert_eq!(snapshot.jti_count(), u32::try_from(n).unwrap());
        report(n, &bytes, &snapshot);

        let revoked: Vec<RevocationFacts> =
            (0..TOKENS).map(|i| facts(jti(i * n / TOKENS), i)).collect();
        let clear: Vec<RevocationFacts> = (0..TOKENS).map(|i| facts(absent_jti(i), i)).collect();
        let hit = if snapshot.is_filter() {
            JtiAnswer::Unconfirmed
        } else {
            JtiAnswer::Revoked
        };
        assert!(revoked.iter().all(|f| snapshot.status(f).1 == hit));
        // A filter may have a false positive or two among the absent ones; the cost is the same.
        let false_hits = clear
            .iter()
            .filter(|f| snapshot.status(f).1 != JtiAnswer::Clear)
            .count();
        assert!(false_hits < TOKENS / 50, "{false_hits} false positives");

        let mut group = c.benchmark_group(format!("jtis_{n}"));
        // Build and load: one iteration per sample, few samples (up to ~0.1 s an iteration).
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(if n > 100_000 { 4 } else { 2 }));
        group.bench_function("encode", |b| {
            b.iter_batched(
                || contents.clone(),
                |c| c.encode(KEY).unwrap(),
                BatchSize::LargeInput,
            );
        });
        group.bench_function("decode", |b| {
            b.iter(|| Snapshot::decode(black_box(&bytes), KEY).unwrap());
        });
        // Per-token checks.
        group
            .sampling_mode(SamplingMode::Auto)
            .sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2));
        cycle(&mut group, "status_clear", &clear, |f| snapshot.status(f));
        cycle(&mut group, "status_revoked", &revoked, |f| {
            snapshot.status(f)
        });
        group.finish();
    }
}

fn bench_fingerprint(c: &mut Criterion) {
    let jtis: Vec<String> = (0..TOKENS).map(jti).collect();
    let keys: Vec<String> = jtis.iter().map(|j| jti_key(j)).collect();
    let mut group = c.benchmark_group("fingerprint");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    cycle(&mut group, "fingerprint", &keys, |k| fingerprint(k));
    cycle(&mut group, "jti_key+fingerprint", &jtis, |j| {
        fingerprint(&jti_key(j))
    });
    group.finish();
}

/// `EDGE_JWT_BENCH_SNAPSHOT_N=1000,1000000` restricts the sizes run.
fn selected_sizes() -> Vec<usize> {
    match std::env::var("EDGE_JWT_BENCH_SNAPSHOT_N") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().replace('_', "").parse().expect("a number of jtis"))
            .collect(),
        Err(_) => SIZES.to_vec(),
    }
}

criterion_group!(benches, bench_fingerprint, bench_snapshot);
criterion_main!(benches);
