#!/usr/bin/env node
// Revocation-store simulation: many Worker isolates checking bearer tokens, TODAY's per-key
// cache against the NEW signed snapshot in KV. Plain ESM, Node >= 20, no dependencies,
// deterministic (seeded sfc32 PRNG; the same flags give the same figures).
//
//   node benches/revocation_sim.mjs                      every shape + cost table (markdown)
//   node benches/revocation_sim.mjs --users 100000 --rps-per-isolate 10 --revoked-live 10000
//   node benches/revocation_sim.mjs --json               the same figures as JSON
//   node benches/revocation_sim.mjs --calibrate          today's cache against the load-test
//                                                        figures (one isolate, round-robin)
//   --help lists every flag. --users, --rps-per-isolate and --revoked-live take comma lists.
//
// WHAT IT MODELS
// Traffic. locations x isolates-per-location isolates, each receiving a Poisson stream of
// rps-per-isolate requests; each request is one user's token, the user drawn from a Zipf law
// (exponent --zipf) over --users users. Requests go to a uniformly random location and isolate,
// so every isolate's stream is the global Zipf stream thinned: i.i.d. draws at its own rate.
// An isolate's counters depend only on its own stream, so only --sample-isolates isolates are
// simulated (spread evenly over the locations; default "auto": every isolate, or as many as
// fit in --request-budget simulated requests, at least 50); per-request figures are the
// sample's, the global write path (publishes, revocations) is divided by the full traffic. Isolates
// are replaced by a cold one every --isolate-lifetime-s (each at its own phase). Each user
// holds one token; it is renewed every --token-lifetime-s (new jti, per-user phase). A fraction
// --revoked-presented of requests carries a revoked jti (uniform over the live revoked set).
// Simulated time, event by event; figures count what happens in [warmup, duration).
// Revocations: Poisson, --revoke-rate-per-s jti and --subject-revoke-rate-per-s subject
// revocations globally, of a Zipf-drawn user (a token in use). --revoked-live is the size of
// the live revoked-jti set (steady state, given); live subjects = subject rate x token lifetime.
//
// TODAY (src/revocation/cache.rs, store.rs): per request 3 keys, `global`, `sub:<sub>`,
// `jti:<jti>`. Per-isolate cache, capacity --cache-capacity entries, positive and negative
// answers, entry lifetime cache_ttl - spread(key) (stable per key, 0..floor(ttl/4)), whole-
// second clock, a jti entry capped at the token's exp, FIFO eviction with the same compaction
// rule as cache.rs. Every key not fresh in the cache is one billed KV read; bytes = value size
// (--value-bytes for a revoked entry, 0 for a miss). A location sees a KV write after a uniform
// 0..kv-cache-ttl delay (independent per location and write).
//
// NEW: one authority Durable Object takes every write; after a change it publishes the whole
// snapshot to KV at most once per --publish-min-interval-s, and at least every
// --publish-interval-s (heartbeat); each publish = 1 KV write + 1 DO request (the alarm).
// Snapshot = 64 B header + 24 B per live subject + jti set (16 B per entry while
// <= --exact-max entries, else a binary fuse filter of --filter-bits-per-entry bits, FP rate
// --fp-rate) + 32 B MAC. A location's KV cache refetches the (hot) snapshot key every
// kv-cache-ttl at its own phase, so it serves the newest publish as of its last refetch (a
// publish shows after a uniform 0..kv-cache-ttl delay). An isolate reloads the snapshot on the
// first request after --snapshot-ttl-s (1 KV read, snapshot bytes); a cold isolate at its first
// request. Filter mode: a filter hit (revoked jti, or a false positive: decided per (jti,
// snapshot version), rate --fp-rate) costs 1 DO request, then is cached until the isolate loads
// a different version. Strict tracks (1 DO request per request) are reported as a mix row:
// (1 - f) x the non-strict confirmation rate + f.
//
// A revocation re-issues the user's token (the client logs in again or refreshes): from R on
// the user presents a new jti, so revoked tokens reach isolates only as --revoked-presented.
//
// STALENESS of a revocation at an isolate = time from the revocation until the isolate would
// refuse the token if it were presented: the first moment its answer (a fresh cached entry, or
// a fresh snapshot, else a read from its location's KV) reflects the revocation. TODAY: the
// location sees it at V = R + U(0, kv-cache-ttl); if the isolate holds a fresh entry for the
// key read before V, the answer changes when that entry expires or is evicted (or the isolate
// is replaced), else at V. Two TODAY columns: the revoked token is not presented again, or a
// copy of it keeps being presented at its user's former rate (each miss before V re-caches the
// stale answer; for that copy's entry, eviction and isolate replacement are ignored, which can
// only overstate). A revoked subject's key keeps being read by the user's new token. NEW:
// publish P (<= 1 s after R), location refetch V >= P, then the end of the isolate's current
// snapshot TTL if it loaded one before V. Sampled: revocations in [warmup, duration - 120 s] x
// every simulated isolate.
//
// WHAT IT LEAVES OUT
// Latency and KV/DO failures; KV's cold-read path (a value never read at a location is visible
// at once there; the model always applies the delay); global (kill-switch) revocations;
// refusal side effects (a revoked user logging in again); expiry of revoked jtis as an extra
// publish trigger (revoked-live is held constant); Worker isolates sharing a process; diurnal
// or bursty traffic (Poisson, constant rate); the per-key KV value sizes beyond a constant;
// DO storage layout (rows per revocation is a cost-model parameter). Costs ignore free
// allowances and the $5/month subscription.

import { parseArgs } from "node:util";

// ------------------------------------------------------------------------------------------
// Options

const OPTIONS = {
  locations: { type: "string", default: "300", help: "locations" },
  "isolates-per-location": { type: "string", default: "4", help: "isolates per location" },
  "isolate-lifetime-s": { type: "string", default: "600", help: "isolate lifetime before a cold one replaces it" },
  "rps-per-isolate": { type: "string", default: "1,10,100", help: "requests/s per isolate (list)" },
  users: { type: "string", default: "1000,10000,100000,1000000", help: "distinct users = tokens (list)" },
  zipf: { type: "string", default: "1.0", help: "Zipf exponent of user popularity" },
  "duration-s": { type: "string", default: "600", help: "simulated seconds" },
  "warmup-s": { type: "string", default: "120", help: "seconds excluded from the figures" },
  "revoke-rate-per-s": { type: "string", default: "0.5", help: "jti revocations/s, global" },
  "subject-revoke-rate-per-s": { type: "string", default: "0.05", help: "subject revocations/s, global" },
  "revoked-live": { type: "string", default: "10000,1000000", help: "live revoked jtis (list)" },
  "subject-live": { type: "string", default: "", help: "live revoked subjects (default: subject rate x token lifetime)" },
  "revoked-presented": { type: "string", default: "0.001", help: "fraction of requests carrying a revoked jti" },
  "token-lifetime-s": { type: "string", default: "900", help: "token lifetime; a new jti per user each period" },
  "cache-capacity": { type: "string", default: "10000", help: "TODAY: per-isolate cache entries" },
  "cache-ttl-s": { type: "string", default: "30", help: "TODAY: cache entry lifetime (minus spread 0..ttl/4)" },
  "value-bytes": { type: "string", default: "80", help: "TODAY: bytes of a revoked entry's value" },
  "kv-cache-ttl-s": { type: "string", default: "60", help: "KV visibility window at a location" },
  "publish-min-interval-s": { type: "string", default: "1", help: "NEW: at most one publish per this" },
  "publish-interval-s": { type: "string", default: "60", help: "NEW: heartbeat publish interval" },
  "snapshot-ttl-s": { type: "string", default: "20", help: "NEW: isolate reloads the snapshot after this" },
  "exact-max": { type: "string", default: "65536", help: "NEW: exact jti set up to this many entries" },
  "filter-bits-per-entry": { type: "string", default: "9.0", help: "NEW: binary fuse filter size" },
  "fp-rate": { type: "string", default: "0.00390625", help: "NEW: filter false-positive rate (1/256)" },
  "strict-fraction": { type: "string", default: "0.01", help: "NEW: strict-track share for the mix row" },
  "sample-isolates": { type: "string", default: "auto", help: "isolates simulated per shape: N, 0 = all, auto = all up to --request-budget requests" },
  "request-budget": { type: "string", default: "4000000", help: "auto sampling: simulated requests per shape" },
  seed: { type: "string", default: "1", help: "PRNG seed" },
  cost: { type: "boolean", default: false, help: "also print the cost table (default on when no shape flag is given)" },
  "no-cost": { type: "boolean", default: false, help: "skip the cost table" },
  "cpu-ms-per-request": { type: "string", default: "1.0", help: "COST: gateway CPU per request" },
  "load-cpu-ms": { type: "string", default: "0.05", help: "COST: fixed CPU per snapshot load" },
  "load-cpu-ms-per-mb": { type: "string", default: "0.8", help: "COST: CPU per MB of snapshot loaded (MAC)" },
  "do-rows-written-per-revocation": { type: "string", default: "2", help: "COST: SQLite rows per revocation (row + index)" },
  "do-rows-read-per-publish": { type: "string", default: "0", help: "COST: SQLite rows read per publish (0 = set held in memory)" },
  json: { type: "boolean", default: false, help: "print JSON instead of markdown" },
  calibrate: { type: "boolean", default: false, help: "run today's cache against the load-test figures" },
  help: { type: "boolean", default: false, help: "this text" },
};

function parseOptions(argv) {
  const spec = {};
  for (const [k, v] of Object.entries(OPTIONS)) spec[k] = { type: v.type, default: v.default };
  const { values } = parseArgs({ args: argv, options: spec, strict: true });
  const given = new Set(argv.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")[0]));
  const num = (k) => {
    const x = Number(values[k]);
    if (!Number.isFinite(x)) throw new Error(`--${k}: not a number: ${values[k]}`);
    return x;
  };
  const list = (k) => values[k].split(",").map((s) => {
    const x = Number(s.trim());
    if (!Number.isFinite(x) || x <= 0) throw new Error(`--${k}: bad value ${s}`);
    return x;
  });
  const tokenLifetime = num("token-lifetime-s");
  const subjRate = num("subject-revoke-rate-per-s");
  const o = {
    help: values.help,
    json: values.json,
    calibrate: values.calibrate,
    locations: num("locations"),
    isolatesPerLocation: num("isolates-per-location"),
    isolateLifetime: num("isolate-lifetime-s"),
    rpsList: list("rps-per-isolate"),
    usersList: list("users"),
    zipf: num("zipf"),
    duration: num("duration-s"),
    warmup: num("warmup-s"),
    jtiRate: num("revoke-rate-per-s"),
    subjRate,
    revokedLiveList: list("revoked-live"),
    subjectLive: values["subject-live"] === "" ? Math.round(subjRate * tokenLifetime) : num("subject-live"),
    revokedPresented: num("revoked-presented"),
    tokenLifetime,
    cacheCapacity: num("cache-capacity"),
    cacheTtl: num("cache-ttl-s"),
    valueBytes: num("value-bytes"),
    kvTtl: num("kv-cache-ttl-s"),
    pubMin: num("publish-min-interval-s"),
    pubHeartbeat: num("publish-interval-s"),
    snapTtl: num("snapshot-ttl-s"),
    exactMax: num("exact-max"),
    filterBits: num("filter-bits-per-entry"),
    fpRate: num("fp-rate"),
    strictFraction: num("strict-fraction"),
    sampleIsolates: values["sample-isolates"] === "auto" ? -1 : num("sample-isolates"),
    requestBudget: num("request-budget"),
    seed: num("seed"),
    cpuMsPerRequest: num("cpu-ms-per-request"),
    loadCpuMs: num("load-cpu-ms"),
    loadCpuMsPerMb: num("load-cpu-ms-per-mb"),
    rowsPerRevocation: num("do-rows-written-per-revocation"),
    rowsReadPerPublish: num("do-rows-read-per-publish"),
  };
  const shapeFlags = ["users", "rps-per-isolate", "revoked-live", "locations", "isolates-per-location"];
  o.cost = !values["no-cost"] && (values.cost || !shapeFlags.some((f) => given.has(f)));
  if (o.duration - 120 <= o.warmup) throw new Error("--duration-s must exceed --warmup-s + 120");
  return o;
}

function usage() {
  const lines = ["node benches/revocation_sim.mjs [flags]", ""];
  for (const [k, v] of Object.entries(OPTIONS)) {
    lines.push(`  --${k}${v.type === "string" ? ` (${v.default || "-"})` : ""}  ${v.help}`);
  }
  return lines.join("\n");
}

// ------------------------------------------------------------------------------------------
// Deterministic randomness

function splitmix32(x) {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** sfc32 seeded from (seed, stream): uniform doubles in [0, 1). */
function makeRng(seed, stream) {
  let a = splitmix32(seed * 7919 + stream);
  let b = splitmix32(a ^ 0x1234567);
  let c = splitmix32(b ^ (stream * 31 + 17));
  let d = splitmix32(c ^ 0x7654321);
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return () => (next() * 4294967296 + (next() >>> 11) * 2097152) / 18446744073709551616;
}

/** A stable 32-bit hash of two numbers (each may exceed 2^32). */
function hash2(x, y) {
  const xl = x >>> 0, xh = Math.floor(x / 4294967296) >>> 0;
  const yl = y >>> 0, yh = Math.floor(y / 4294967296) >>> 0;
  let h = 0x811c9dc5;
  for (const w of [xl, xh, yl, yh]) {
    h = Math.imul(h ^ w, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
const U32 = 4294967296;

/** Zipf(s) over ranks 1..n: cumulative weights, drawn by binary search. Rank r = user r-1. */
const zipfCache = new Map();
function zipf(n, s) {
  const key = `${n}/${s}`;
  if (zipfCache.has(key)) return zipfCache.get(key);
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 1; r <= n; r++) {
    acc += Math.pow(r, -s);
    cdf[r - 1] = acc;
  }
  const total = acc;
  const draw = (u) => {
    const x = u * total;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] <= x) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  draw.prob = (u) => Math.pow(u + 1, -s) / total;
  zipfCache.set(key, draw);
  return draw;
}

// ------------------------------------------------------------------------------------------
// Keys: global = 0, sub(u) = 1 + 4u, jti(u, epoch) = 2 + 4(u * 4096 + epoch), revoked jti
// presented by an attacker: 3 + 4 * id.

const GLOBAL_KEY = 0;
const subKey = (u) => 1 + 4 * u;
const jtiKey = (u, e) => 2 + 4 * (u * 4096 + (e & 4095));
const revokedKey = (id) => 3 + 4 * id;

function tokenOf(u, t, lifetime) {
  const off = (hash2(u, 0x70ce) / U32) * lifetime;
  const e = Math.floor((t + off) / lifetime);
  return { epoch: e, exp: (e + 1) * lifetime - off };
}

// ------------------------------------------------------------------------------------------
// TODAY's per-isolate cache: a transcription of src/revocation/cache.rs.

class FifoCache {
  constructor(capacity, ttl) {
    this.capacity = Math.max(1, capacity);
    this.ttl = ttl;
    this.spreadMax = Math.floor(ttl / 4);
    this.slots = new Map();
    this.okeys = [];
    this.ogens = [];
    this.head = 0;
    this.gen = 0;
  }
  spread(key) {
    return hash2(key, 0x5bd1) % (this.spreadMax + 1);
  }
  /** Fresh slot for key at whole second `now`, or undefined. */
  get(key, now) {
    const s = this.slots.get(key);
    return s !== undefined && now < s.exp ? s : undefined;
  }
  insert(key, now, notAfter, t) {
    let exp = now + this.ttl - this.spread(key);
    if (notAfter !== undefined && notAfter < exp) exp = notAfter;
    const old = this.slots.get(key);
    if (old !== undefined && old.gone > t) old.gone = t;
    if (exp <= now) {
      this.slots.delete(key);
      return;
    }
    const gen = this.gen++;
    this.slots.set(key, { exp, gen, gone: Infinity });
    this.okeys.push(key);
    this.ogens.push(gen);
    this.evict(now, t);
  }
  evict(now, t) {
    if (this.okeys.length - this.head > this.capacity * 2) {
      for (const [k, s] of this.slots) {
        if (!(now < s.exp)) {
          if (s.gone > t) s.gone = t;
          this.slots.delete(k);
        }
      }
      const nk = [], ng = [];
      for (let i = this.head; i < this.okeys.length; i++) {
        const s = this.slots.get(this.okeys[i]);
        if (s !== undefined && s.gen === this.ogens[i]) {
          nk.push(this.okeys[i]);
          ng.push(this.ogens[i]);
        }
      }
      this.okeys = nk;
      this.ogens = ng;
      this.head = 0;
    }
    while (this.slots.size > this.capacity && this.head < this.okeys.length) {
      const k = this.okeys[this.head], g = this.ogens[this.head];
      this.head++;
      const s = this.slots.get(k);
      if (s !== undefined && s.gen === g) {
        if (s.gone > t) s.gone = t;
        this.slots.delete(k);
      }
    }
    if (this.head > 1 << 20) {
      this.okeys = this.okeys.slice(this.head);
      this.ogens = this.ogens.slice(this.head);
      this.head = 0;
    }
  }
}

// ------------------------------------------------------------------------------------------
// Global events: revocations and the authority's publishes.

function globalEvents(o, users, seed) {
  const rng = makeRng(seed, 1);
  const draw = zipf(users, o.zipf);
  const end = o.duration + 200;
  const revs = [];
  const rate = o.jtiRate + o.subjRate;
  for (let t = -Math.log(1 - rng()) / rate; t < end; t += -Math.log(1 - rng()) / rate) {
    const kind = rng() < o.jtiRate / rate ? "jti" : "sub";
    revs.push({ t, kind, user: draw(rng()), P: Infinity, id: revs.length });
  }
  // Publishes: a snapshot exists at t = 0 (version 0). After a change, an alarm at
  // max(now, lastPublish + min interval); otherwise a heartbeat alarm lastPublish + interval.
  const pubs = [];
  let last = 0;
  let alarm = o.pubHeartbeat;
  let pending = [];
  const fire = (until) => {
    while (alarm <= until) {
      pubs.push(alarm);
      for (const r of pending) r.P = alarm;
      pending = [];
      last = alarm;
      alarm = last + o.pubHeartbeat;
    }
  };
  for (const r of revs) {
    fire(r.t);
    pending.push(r);
    const at = Math.max(r.t, last + o.pubMin);
    if (at < alarm) alarm = at;
  }
  fire(end + o.pubHeartbeat);
  return { revs, pubs };
}

function upperBound(arr, x) {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function snapshotShape(o, revokedLive) {
  const exact = revokedLive <= o.exactMax;
  const jtiBytes = exact ? 16 * revokedLive : Math.ceil((o.filterBits * revokedLive) / 8);
  return { revokedLive, mode: exact ? "exact" : "filter", bytes: 64 + 24 * o.subjectLive + jtiBytes + 32 };
}

// ------------------------------------------------------------------------------------------
// One pass: one (users, rps, isolates) shape, TODAY and NEW (every revoked-live variant) on the
// same request streams.

function runPass(o, { users, rps, locations, ipl, revokedLiveList }) {
  const total = locations * ipl;
  const S =
    o.sampleIsolates === 0 ? total
      : o.sampleIsolates > 0 ? Math.min(o.sampleIsolates, total)
        : Math.min(total, Math.max(50, Math.floor(o.requestBudget / (rps * o.duration))));
  const draw = zipf(users, o.zipf);
  const { revs, pubs } = globalEvents(o, users, o.seed);
  const variants = revokedLiveList.map((n) => snapshotShape(o, n));
  const lo = o.warmup, hi = o.duration;
  // A revocation re-issues the user's token (logout/refresh, or a new login after a subject
  // revocation): from R on, the user presents a new jti.
  const reissues = new Map();
  for (const r of revs) {
    if (!reissues.has(r.user)) reissues.set(r.user, []);
    reissues.get(r.user).push(r.t);
  }
  for (const r of revs) {
    const tok = tokenOf(r.user, r.t, o.tokenLifetime);
    const before = reissues.get(r.user).filter((x) => x < r.t).length;
    r.key = r.kind === "sub" ? subKey(r.user) : jtiKey(r.user, tok.epoch + before);
    r.exp = tok.exp;
  }
  const probeRevs = revs.filter((r) => r.t >= lo && r.t <= hi - 120);

  const acc = {
    requests: 0,
    today: { kvReads: 0, kvBytes: 0, stale: [], staleKept: [] },
    snapStale: [],
    snapLoads: 0,
    variants: variants.map(() => ({ doConfirm: 0 })),
  };

  for (let i = 0; i < S; i++) {
    const slotIdx = Math.floor((i * total) / S);
    const loc = Math.floor(slotIdx / ipl);
    simIsolate(o, i, loc, rps, draw, { revs, probeRevs, pubs, variants, reissues }, acc);
  }

  // Global, per second (window), and per request.
  const win = hi - lo;
  const alarms = pubs.filter((p) => p >= lo && p < hi).length;
  const revsInWin = revs.filter((r) => r.t >= lo && r.t < hi).length;
  const G = total * rps;
  const req = acc.requests;
  const alarmsPerReq = alarms / win / G;
  const revWritesPerReq = revsInWin / win / G;
  const loadsPerReq = acc.snapLoads / req;
  const pct = (arr) => {
    const a = Float64Array.from(arr).sort();
    const q = (p) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : NaN);
    return { n: a.length, p50: q(0.5), p99: q(0.99), max: a.length ? a[a.length - 1] : NaN };
  };
  const snapStale = pct(acc.snapStale);
  return {
    shape: { users, rps, locations, isolatesPerLocation: ipl, isolates: total, sampled: S, globalRps: G },
    requests: req,
    publishesPerS: alarms / win,
    revocationsPerS: revsInWin / win,
    today: {
      kvReadsPerReq: acc.today.kvReads / req,
      opsPerReq: acc.today.kvReads / req,
      kvBytesPerReq: acc.today.kvBytes / req,
      kvWritesPerReq: revWritesPerReq,
      staleness: pct(acc.today.stale),
      stalenessKeptPresented: pct(acc.today.staleKept),
    },
    new: variants.map((v, k) => {
      const confirm = acc.variants[k].doConfirm / req;
      const kvReads = loadsPerReq;
      return {
        revokedLive: v.revokedLive,
        mode: v.mode,
        snapshotBytes: v.bytes,
        kvReadsPerReq: kvReads,
        doConfirmPerReq: confirm,
        doAlarmPerReq: alarmsPerReq,
        opsPerReq: kvReads + confirm + alarmsPerReq,
        opsPerReqStrictMix: kvReads + (1 - o.strictFraction) * confirm + alarmsPerReq + o.strictFraction,
        kvBytesPerReq: loadsPerReq * v.bytes,
        kvWritesPerReq: alarmsPerReq,
        doWritePerReq: revWritesPerReq,
        loadsPerReq,
        staleness: snapStale,
      };
    }),
  };
}

function simIsolate(o, i, loc, rps, draw, ctx, acc) {
  const { revs, probeRevs, pubs, variants, reissues } = ctx;
  const rng = makeRng(o.seed, 1000 + i);
  const prng = makeRng(o.seed, 500000 + i); // phantom presentations (kept-presented probes)
  const lo = o.warmup, hi = o.duration;
  const life = o.isolateLifetime;
  let nextRep = rng() * life;
  const locPhase = (hash2(loc, 0x10c) / U32) * o.kvTtl; // this location's refetch phase
  const locVersion = (t) => {
    const f = locPhase + Math.floor((t - locPhase) / o.kvTtl) * o.kvTtl;
    return upperBound(pubs, f); // publishes <= last refetch (0 = the initial snapshot)
  };

  // Probes, in time order. TODAY: at R (state for the kept-presented variant) and at
  // V = R + U(0, kvTtl), drawn per (location, revocation). NEW: at the location's first
  // refetch at or after the publish.
  const probes = [];
  for (const r of probeRevs) {
    const vToday = r.t + (hash2(loc * 1000003 + 7, r.id) / U32) * o.kvTtl;
    probes.push({ V: vToday, kind: 0, r, vToday });
    if (r.kind === "jti") probes.push({ V: r.t, kind: 1, r, vToday });
    const vSnap = locPhase + Math.ceil((r.P - locPhase) / o.kvTtl) * o.kvTtl;
    probes.push({ V: vSnap, kind: 2, r });
  }
  probes.sort((a, b) => a.V - b.V);
  let pi = 0;

  // State.
  let cache = new FifoCache(o.cacheCapacity, o.cacheTtl);
  let pendingSlots = []; // TODAY probes answered at V by an entry read before V
  let loadedAt = -Infinity;
  let ver = -1;
  const filterVariants = variants.map((v, k) => (v.mode === "filter" ? k : -1)).filter((k) => k >= 0);
  let confirm = filterVariants.map(() => new Set());
  const revokedSubs = new Set(); // sub keys holding a value (TODAY's value bytes)
  let ri = 0;

  const replace = (t) => {
    for (const p of pendingSlots) if (p.slot.gone > t) p.slot.gone = t;
    cache = new FifoCache(o.cacheCapacity, o.cacheTtl);
    loadedAt = -Infinity;
    ver = -1;
    confirm = filterVariants.map(() => new Set());
  };
  const probe = (p) => {
    const r = p.r;
    if (p.kind === 0) {
      // TODAY, revoked token no longer presented (the client got a new one); for a subject
      // the user keeps using the service, so the sub key keeps being read by the main stream.
      const s = cache.get(r.key, Math.floor(p.V));
      if (s === undefined) {
        acc.today.stale.push(p.V - r.t);
        if (r.kind === "sub") acc.today.staleKept.push(p.V - r.t);
      } else pendingSlots.push({ slot: s, R: r.t, V: p.V, both: r.kind === "sub" });
    } else if (p.kind === 1) {
      // TODAY, revoked jti kept presented (a stolen copy) at its user's rate at this isolate:
      // each presentation that misses re-reads KV, stale before V. Replacement and eviction of
      // that entry are ignored (both would only shorten the staleness).
      const V = p.vToday;
      const s = cache.get(r.key, Math.floor(r.t));
      let end = s === undefined ? -Infinity : s.exp;
      const lambda = rps * draw.prob(r.user);
      const spread = cache.spread(r.key);
      let x = r.t;
      let E;
      for (;;) {
        if (Math.floor(V) < end) { E = end; break; }
        x += -Math.log(1 - prng()) / lambda;
        if (x >= V) { E = V; break; }
        if (Math.floor(x) >= end) end = Math.min(Math.floor(x) + o.cacheTtl - spread, Math.floor(r.exp));
      }
      acc.today.staleKept.push(Math.max(E, V) - r.t);
    } else {
      let E = p.V;
      if (loadedAt + o.snapTtl > p.V) E = Math.min(loadedAt + o.snapTtl, nextRep);
      acc.snapStale.push(Math.max(E, p.V) - r.t);
    }
  };
  const advance = (t) => {
    for (;;) {
      const pv = pi < probes.length ? probes[pi].V : Infinity;
      if (nextRep <= t && nextRep <= pv) {
        replace(nextRep);
        nextRep += life;
      } else if (pv <= t) {
        probe(probes[pi++]);
      } else break;
    }
  };

  const valueBytes = o.valueBytes;
  for (let t = -Math.log(1 - rng()) / rps; t < hi; t += -Math.log(1 - rng()) / rps) {
    advance(t);
    while (ri < revs.length && revs[ri].t <= t) {
      const r = revs[ri++];
      if (r.kind === "sub") revokedSubs.add(subKey(r.user));
    }
    const inWin = t >= lo;
    const now = Math.floor(t);
    const u = draw(rng());
    const uRev = rng();
    const revokedPresented = uRev < o.revokedPresented;
    let jKey, jExp;
    if (!revokedPresented) {
      const tok = tokenOf(u, t, o.tokenLifetime);
      const re = reissues.get(u);
      jKey = jtiKey(u, tok.epoch + (re === undefined ? 0 : upperBound(re, t)));
      jExp = Math.floor(tok.exp);
    }
    if (inWin) acc.requests++;

    // TODAY: global, sub, jti; a miss is one KV read (+ the value's bytes if there is one).
    const sKey = subKey(u);
    const tjKey = revokedPresented ? revokedKey(Math.floor((uRev / o.revokedPresented) * 1e6)) : jKey;
    if (cache.get(GLOBAL_KEY, now) === undefined) {
      if (inWin) acc.today.kvReads++;
      cache.insert(GLOBAL_KEY, now, undefined, t);
    }
    if (cache.get(sKey, now) === undefined) {
      if (inWin) {
        acc.today.kvReads++;
        if (revokedSubs.has(sKey)) acc.today.kvBytes += valueBytes;
      }
      cache.insert(sKey, now, undefined, t);
    }
    if (cache.get(tjKey, now) === undefined) {
      if (inWin) {
        acc.today.kvReads++;
        if (revokedPresented) acc.today.kvBytes += valueBytes;
      }
      cache.insert(tjKey, now, revokedPresented ? undefined : jExp, t);
    }

    // NEW: snapshot reload when stale, then in-memory checks; a filter hit is confirmed at the
    // DO once per (jti, loaded snapshot version).
    if (t >= loadedAt + o.snapTtl) {
      loadedAt = t;
      if (inWin) acc.snapLoads++;
      const v = locVersion(t);
      if (v !== ver) {
        ver = v;
        for (const s of confirm) s.clear();
      }
    }
    for (let f = 0; f < filterVariants.length; f++) {
      const k = filterVariants[f];
      let key, hit;
      if (revokedPresented) {
        key = revokedKey(Math.floor((uRev / o.revokedPresented) * variants[k].revokedLive));
        hit = true;
      } else {
        key = jKey;
        hit = hash2(key, ver * 2654435761 + 0xf11e) / U32 < o.fpRate;
      }
      if (hit && !confirm[f].has(key)) {
        confirm[f].add(key);
        if (inWin) acc.variants[k].doConfirm++;
      }
    }
  }
  advance(hi);
  for (const p of pendingSlots) {
    const E = Math.max(Math.min(p.slot.exp, p.slot.gone), p.V) - p.R;
    acc.today.stale.push(E);
    if (p.both) acc.today.staleKept.push(E);
  }
}

// ------------------------------------------------------------------------------------------
// Calibration against the load-test figures (benches/README.md): one isolate, tokens sent
// round-robin (not Zipf), no renewal, TODAY's cache only.

function calibrate(o) {
  const rows = [];
  for (const [tokens, rate] of [[10000, 5400], [1000, 5400], [1000, 2014], [1000, 1764]]) {
    const cache = new FifoCache(o.cacheCapacity, o.cacheTtl);
    let reads = 0, reqs = 0, n = 0;
    const dur = 180, from = 120;
    for (let t = 0; t < dur; t += 1 / rate) {
      const u = n++ % tokens;
      const now = Math.floor(t);
      const keys = [GLOBAL_KEY, subKey(u), jtiKey(u, 0)];
      for (const key of keys) {
        if (cache.get(key, now) === undefined) {
          if (t >= from) reads++;
          cache.insert(key, now, undefined, t);
        }
      }
      if (t >= from) reqs++;
    }
    const life = o.cacheTtl - Math.floor(o.cacheTtl / 4) / 2 - 0.5;
    // The model holds while every key fits; past capacity, round-robin FIFO misses every key.
    const model = 2 * tokens + 1 <= o.cacheCapacity ? (2 * tokens + 1) / (rate * life) : NaN;
    rows.push({ tokens, rps: rate, readsPerReq: reads / reqs, model });
  }
  return rows;
}

// ------------------------------------------------------------------------------------------
// Cost model. Prices: Workers Paid, USD per million units, free allowances ignored.
//   Workers requests $0.30/M, CPU $0.02/M CPU-ms  https://developers.cloudflare.com/workers/platform/pricing/
//   KV reads $0.50/M, writes $5.00/M              https://developers.cloudflare.com/kv/platform/pricing/
//   DO requests $0.15/M (alarms included), duration $12.50/M GB-s at 128 MB
//                                                 https://developers.cloudflare.com/durable-objects/platform/pricing/
//   SQLite-backed DO rows read $0.001/M, rows written $1.00/M, setAlarm = 1 row written (same page)

const PRICE = { req: 0.3, cpuMs: 0.02, kvRead: 0.5, kvWrite: 5.0, doReq: 0.15, doGbS: 12.5, rowRead: 0.001, rowWrite: 1.0 };

function costs(o, pass, variantIdx, strict) {
  const t = pass.today;
  const n = pass.new[variantIdx];
  const G = pass.shape.globalRps;
  const today = {
    requests: PRICE.req,
    cpu: o.cpuMsPerRequest * PRICE.cpuMs,
    kvReads: t.kvReadsPerReq * PRICE.kvRead,
    kvWrites: t.kvWritesPerReq * PRICE.kvWrite,
    doRequests: 0,
    doDuration: 0,
    doRows: 0,
  };
  const loadMs = o.loadCpuMs + (o.loadCpuMsPerMb * n.snapshotBytes) / 1e6;
  const confirm = strict ? (1 - o.strictFraction) * n.doConfirmPerReq + o.strictFraction : n.doConfirmPerReq;
  const doReqs = confirm + n.doAlarmPerReq + n.doWritePerReq;
  const fresh = {
    requests: PRICE.req,
    cpu: (o.cpuMsPerRequest + n.loadsPerReq * loadMs) * PRICE.cpuMs,
    kvReads: n.kvReadsPerReq * PRICE.kvRead,
    kvWrites: n.kvWritesPerReq * PRICE.kvWrite,
    doRequests: doReqs * PRICE.doReq,
    // Upper bound: the authority active all the time, 128 MB: 0.125 GB-s per second of traffic.
    doDuration: ((0.125 * 1e6) / G) * (PRICE.doGbS / 1e6),
    doRows:
      (n.doWritePerReq * o.rowsPerRevocation + n.doAlarmPerReq) * PRICE.rowWrite +
      (confirm * 1 + n.doAlarmPerReq * o.rowsReadPerPublish) * PRICE.rowRead,
  };
  const sum = (c) => Object.values(c).reduce((a, b) => a + b, 0);
  return { today, new: fresh, todayTotal: sum(today), newTotal: sum(fresh), loadCpuMs: loadMs };
}

const COST_SHAPES = [
  { name: "small", users: 1000, rps: 1, locations: 50, ipl: 1 },
  { name: "medium", users: 100000, rps: 10, locations: 300, ipl: 4 },
  { name: "large", users: 1000000, rps: 100, locations: 300, ipl: 4 },
];

// ------------------------------------------------------------------------------------------
// Output

const f = (x, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : "–");
const fi = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const fs = (s) => `${f(s.p50, 1)} / ${f(s.p99, 1)} / ${f(s.max, 1)}`;

function markdown(o, passes, costRows, cpuS) {
  const out = [];
  const sampling = o.sampleIsolates === 0 ? "all" : o.sampleIsolates > 0 ? `${o.sampleIsolates}` : `auto, <= ${fi(o.requestBudget)} requests`;
  out.push(`Parameters: ${o.locations} locations x ${o.isolatesPerLocation} isolates (simulated per shape: ${sampling}), ` +
    `lifetime ${o.isolateLifetime} s, Zipf ${o.zipf}, ${o.duration} s simulated, warm-up ${o.warmup} s, ` +
    `revocations ${o.jtiRate} jti/s + ${o.subjRate} sub/s, live subjects ${o.subjectLive}, revoked presented ${o.revokedPresented}, ` +
    `cache ${o.cacheCapacity} x ${o.cacheTtl} s, KV window ${o.kvTtl} s, snapshot TTL ${o.snapTtl} s, ` +
    `publish >= ${o.pubMin} s apart, heartbeat ${o.pubHeartbeat} s, FP ${f(o.fpRate, 5)}, seed ${o.seed}.`);
  out.push("");
  const rl = passes[0].new.map((v) => `${fi(v.revokedLive)} revoked (${v.mode}, ${fi(v.snapshotBytes)} B)`);
  out.push("### (KV reads + DO requests) per request, and KV bytes read per request");
  out.push("");
  let head = "| users | req/s/isolate | TODAY ops/req | TODAY B/req |";
  let sep = "|---:|---:|---:|---:|";
  for (const r of rl) {
    head += ` NEW ${r}: ops/req | of which DO | 1 % strict | B/req |`;
    sep += "---:|---:|---:|---:|";
  }
  out.push(head, sep);
  for (const p of passes) {
    let row = `| ${fi(p.shape.users)} | ${p.shape.rps} | ${f(p.today.opsPerReq)} | ${f(p.today.kvBytesPerReq, 2)} |`;
    for (const v of p.new) {
      row += ` ${f(v.opsPerReq)} | ${f(v.doConfirmPerReq + v.doAlarmPerReq)} | ${f(v.opsPerReqStrictMix)} | ${fi(v.kvBytesPerReq)} |`;
    }
    out.push(row);
  }
  out.push("");
  out.push("### Staleness, revocation to enforcement at an isolate, seconds (p50 / p99 / max)");
  out.push("");
  out.push("| users | req/s/isolate | TODAY, revoked token not presented again | TODAY, revoked jti kept presented | NEW (any revoked-live) | isolates simulated | samples |",
    "|---:|---:|---:|---:|---:|---:|---:|");
  for (const p of passes) {
    out.push(`| ${fi(p.shape.users)} | ${p.shape.rps} | ${fs(p.today.staleness)} | ${fs(p.today.stalenessKeptPresented)} | ${fs(p.new[0].staleness)} | ${fi(p.shape.sampled)} | ${fi(p.today.staleness.n)} |`);
  }
  out.push("");
  out.push("### Write path (per request, global)");
  out.push("");
  out.push("| users | req/s/isolate | global req/s | revocations/s | publishes/s | TODAY KV writes/req | NEW KV writes/req | NEW DO writes/req |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const p of passes) {
    out.push(`| ${fi(p.shape.users)} | ${p.shape.rps} | ${fi(p.shape.globalRps)} | ${f(p.revocationsPerS, 3)} | ${f(p.publishesPerS, 3)} | ` +
      `${f(p.today.kvWritesPerReq, 6)} | ${f(p.new[0].kvWritesPerReq, 6)} | ${f(p.new[0].doWritePerReq, 6)} |`);
  }
  if (costRows.length) {
    out.push("");
    out.push("### Cost per million requests, USD (Workers Paid, no free allowances)");
    out.push("");
    out.push("| shape | design | requests | CPU | KV reads | KV writes | DO requests | DO duration | DO rows | total | $/month |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const c of costRows) {
      const perMonth = (x) => `${fi(x * (c.globalRps * 2592000) / 1e6)}`;
      const line = (label, k, total) =>
        `| ${c.label} | ${label} | ${f(k.requests)} | ${f(k.cpu)} | ${f(k.kvReads)} | ${f(k.kvWrites)} | ${f(k.doRequests)} | ${f(k.doDuration)} | ${f(k.doRows)} | **${f(total)}** | ${perMonth(total)} |`;
      out.push(line("TODAY", c.cost.today, c.cost.todayTotal));
      for (const v of c.variants) out.push(line(v.label, v.cost.new, v.cost.newTotal));
    }
  }
  out.push("");
  out.push(`CPU time of this run: ${cpuS.toFixed(1)} s.`);
  return out.join("\n");
}

// ------------------------------------------------------------------------------------------

function main() {
  const o = parseOptions(process.argv.slice(2));
  if (o.help) {
    console.log(usage());
    return;
  }
  const cpu0 = process.cpuUsage();
  if (o.calibrate) {
    const rows = calibrate(o);
    if (o.json) console.log(JSON.stringify(rows, null, 2));
    else {
      console.log("| tokens (round-robin) | req/s | simulated reads/req | model (2·tokens+1)/(rps·26 s), keys ≤ capacity |\n|---:|---:|---:|---:|");
      for (const r of rows) console.log(`| ${fi(r.tokens)} | ${fi(r.rps)} | ${f(r.readsPerReq)} | ${f(r.model)} |`);
    }
    return;
  }
  const passes = [];
  for (const users of o.usersList) {
    for (const rps of o.rpsList) {
      passes.push(runPass(o, { users, rps, locations: o.locations, ipl: o.isolatesPerLocation, revokedLiveList: o.revokedLiveList }));
    }
  }
  const costRows = [];
  if (o.cost) {
    for (const cs of COST_SHAPES) {
      const p = runPass(o, { users: cs.users, rps: cs.rps, locations: cs.locations, ipl: cs.ipl, revokedLiveList: o.revokedLiveList });
      const variants = [];
      p.new.forEach((v, k) => {
        variants.push({ label: `NEW ${fi(v.revokedLive)} revoked (${v.mode})`, cost: costs(o, p, k, false) });
        variants.push({ label: `NEW ${fi(v.revokedLive)}, 1 % strict`, cost: costs(o, p, k, true) });
      });
      costRows.push({
        label: `${cs.name}: ${fi(cs.users)} users, ${cs.rps} req/s x ${cs.locations * cs.ipl} isolates`,
        globalRps: p.shape.globalRps,
        pass: p,
        cost: costs(o, p, 0, false),
        variants,
      });
    }
  }
  const u = process.cpuUsage(cpu0);
  const cpuS = (u.user + u.system) / 1e6;
  if (o.json) {
    console.log(JSON.stringify({ options: o, passes, costs: costRows, cpuSeconds: cpuS }, null, 2));
  } else {
    console.log(markdown(o, passes, costRows, cpuS));
  }
}

try {
  main();
} catch (e) {
  console.error(`revocation_sim: ${e.message}\n\n${usage()}`);
  process.exit(2);
}
