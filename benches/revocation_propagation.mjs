#!/usr/bin/env node
// How long a revocation takes to be enforced, measured in workerd (Miniflare): two Worker
// instances (separate isolates, `instances: 2` of tests/worker/harness.mjs) share one KV
// namespace and the revocation authority (Durable Object). Not part of the test suite.
//
//   node benches/revocation_propagation.mjs [--settings 20,5] [--revocations 10] [--strict 5]
//                                           [--poll-ms 100] [--per-key] [--seed 1] [--out F]
//
// Per setting (`--settings`: a comma list of revocation.snapshot_ttl_s values; 20 is the
// default policy, so for it the policy has no `revocation` section at all; publish_interval_s
// stays at its default of 30), one fresh pair of instances, then:
//   - `--revocations` times: mint a track-1 token (own subject), check that instance 2 serves it
//     (200, so its snapshot is one without it), revoke its jti through instance 1
//     (`POST /v1/revoke`), then ask instance 1 once (it should refuse at once: the writer
//     enforces its own writes) and poll instance 2 every `--poll-ms` ms with the token until it
//     is refused (401 `revoked`). Reported: revoke→enforced in instance 1 and in instance 2
//     (from the moment the revoke answer arrived to the moment the first refused request was
//     sent; resolution one poll), and the answer's `enforced_by` (published_by +
//     snapshot_ttl_s, whole seconds) against the wall-clock time instance 2 first refused it:
//     slack = enforced_by − that time (negative = the promise was broken).
//     Between two revocations a random pause (uniform in [0.5, snapshot_ttl_s + 0.5] s, seeded)
//     shifts the phase of the revocation against instance 2's read schedule.
//   - Meanwhile a background loop sends instance 2 a never-revoked token every `--poll-ms` ms
//     (a busy isolate: it rereads the snapshot on the first request after each interval) and
//     reads its `/v1/revocation/status` (reads, loads, epoch): the times of its snapshot reads,
//     hence the phase of each revocation (time since instance 2's last read, ±1 poll).
//   - `--strict` times: the same with a track-4 token under `tracks.max_staleness_s: {"4": 0}`:
//     instance 2 must refuse it on the very next request (an exact lookup at the authority).
// `--per-key` adds a setting without the authority (per-key KV reads cached per isolate for
// revocation.cache_ttl_s = 30): the earlier design, for comparison.
// Miniflare's KV is local and immediately consistent: Workers KV's propagation to other
// locations (Cloudflare: "up to 60 seconds or more") comes on top of every instance-2 figure.
// Bounded: per setting about revocations × (snapshot_ttl_s + the pause) seconds, plus start-up.
// Nothing here needs the internet.

import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";

import * as h from "../tests/worker/harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`[propagation] ${new Date().toISOString().slice(11, 23)} ${msg}\n`);
const DEFAULT_SNAPSHOT_TTL_S = 20;
const DEFAULT_PUBLISH_INTERVAL_S = 30;
const DEFAULT_CACHE_TTL_S = 30;

const { values: args } = parseArgs({
  options: {
    settings: { type: "string", default: "20,5" },
    revocations: { type: "string", default: "10" },
    strict: { type: "string", default: "5" },
    "poll-ms": { type: "string", default: "100" },
    "per-key": { type: "boolean", default: false },
    seed: { type: "string", default: "1" },
    out: { type: "string" },
  },
});
const ttls = args.settings.split(",").filter(Boolean).map(Number);
const revocations = Number(args.revocations);
const strictCount = Number(args.strict);
const pollMs = Number(args["poll-ms"]);
if (!ttls.every((t) => Number.isInteger(t) && t >= 1 && t <= 60)) throw new Error("--settings: snapshot_ttl_s values 1..60");
if (!(Number.isInteger(revocations) && revocations >= 0 && revocations <= 50)) throw new Error("--revocations must be 0..50");
if (!(Number.isInteger(strictCount) && strictCount >= 0 && strictCount <= 50)) throw new Error("--strict must be 0..50");
if (!(pollMs >= 10 && pollMs <= 1000)) throw new Error("--poll-ms must be 10..1000");

// sfc32, seeded: the pauses are the same from run to run.
function prng(seed) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}
const random = prng(Number(args.seed));

const settings = ttls.map((ttl) => ({ name: `snapshot_ttl_s ${ttl}`, design: "snapshot", ttl }));
if (args["per-key"]) settings.push({ name: `per-key cache_ttl_s ${DEFAULT_CACHE_TTL_S}`, design: "per-key", ttl: DEFAULT_CACHE_TTL_S });

const results = {
  machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? "?", node: process.version, loadavg_start: os.loadavg().map((x) => +x.toFixed(2)) },
  settings: { poll_ms: pollMs, revocations, strict: strictCount, seed: Number(args.seed), publish_interval_s: DEFAULT_PUBLISH_INTERVAL_S },
  runs: [],
};

h.ensureBuilt();
for (const setting of settings) results.runs.push(await runSetting(setting));
results.machine.loadavg_end = os.loadavg().map((x) => +x.toFixed(2));
printTables(results);
if (args.out) {
  fs.writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${args.out}`);
}

async function runSetting(setting) {
  const policy = h.basePolicy({ tracks: { max_staleness_s: { 4: 0 } } });
  if (setting.design === "snapshot" && setting.ttl !== DEFAULT_SNAPSHOT_TTL_S) policy.revocation = { snapshot_ttl_s: setting.ttl };
  const config = h.writeTemp("propagation-policy.json", h.mintConfig(policy));
  const mint = (sub, track) => h.issue({ config, sub, track, claims: { scope: "read" } });
  log(`${setting.name}: starting two instances (policy ${JSON.stringify(policy)})`);
  const worker = await h.startWorker({ policy, instances: 2, authority: setting.design === "snapshot" });
  const a = worker;
  const b = await worker.instance(2);
  const out = { setting: setting.name, design: setting.design, ttl_s: setting.ttl, policy, revocations: [], strict: [], b_reads: [] };
  const t0 = Date.now();

  // Background: instance 2 is a busy isolate; its snapshot reads are timed from its counters.
  const benign = mint("benign", "1").token;
  let running = true;
  const background = (async () => {
    let last = null;
    while (running) {
      const start = Date.now();
      const r = await b.get("/api/benign", benign);
      if (r.status !== 200) log(`warning: the never-revoked token got ${r.status} at instance 2`);
      const s = (await b.json("/v1/revocation/status")).body;
      const reads = s.mode === "snapshot" ? s.reads : s.kv_reads;
      if (last !== null && reads > last) out.b_reads.push({ t: (Date.now() - t0) / 1000, reads: reads - last, epoch: s.epoch ?? null, age_s: s.age_s ?? null });
      last = reads;
      await sleep(Math.max(0, pollMs - (Date.now() - start)));
    }
  })();
  try {
    await sleep(1500); // the first snapshot (or the first per-key reads) in both instances
    for (let i = 0; i < revocations; i++) {
      out.revocations.push(await oneRevocation({ a, b, mint, i, setting, t0, out, track: "1" }));
      const pause = 500 + random() * setting.ttl * 1000;
      await sleep(pause);
    }
    for (let i = 0; i < strictCount; i++) {
      out.strict.push(await oneRevocation({ a, b, mint, i, setting, t0, out, track: "4" }));
      await sleep(200 + random() * 1000);
    }
  } finally {
    running = false;
    await background;
    await worker.dispose();
  }
  out.summary = summarize(out);
  return out;
}

async function oneRevocation({ a, b, mint, i, setting, t0, out, track }) {
  const t = mint(`revoked-${track}-${i}-${Date.now()}`, track);
  const warm = await b.get("/api/before", t.token);
  if (warm.status !== 200) throw new Error(`instance 2 refused a fresh token: ${warm.status} ${JSON.stringify(warm.body)}`);
  const sent = Date.now();
  const r = await a.admin("/v1/revoke", { jti: t.jti, exp: t.exp });
  const answered = Date.now();
  if (r.status !== 200) throw new Error(`revoke: ${r.status} ${JSON.stringify(r.body)}`);
  // Instance 1, once.
  const aStart = Date.now();
  const aRes = await a.get("/api/after", t.token);
  const aRefused = aRes.status === 401 && aRes.body.code === "revoked";
  // Instance 2, every poll until refused (at most 3 × the interval + 10 s).
  const deadline = answered + (3 * setting.ttl + 10) * 1000;
  let polls = 0;
  let refusedAt = null;
  let lastOkAt = null;
  for (;;) {
    const start = Date.now();
    const res = await b.get("/api/poll", t.token);
    polls++;
    if (res.status === 401 && res.body.code === "revoked") {
      refusedAt = start;
      break;
    }
    if (res.status !== 200) throw new Error(`instance 2 answered ${res.status} ${JSON.stringify(res.body)}`);
    lastOkAt = start;
    if (Date.now() > deadline) break;
    await sleep(Math.max(0, pollMs - (Date.now() - start)));
  }
  const readsBefore = out.b_reads.filter((x) => x.t * 1000 + t0 <= answered);
  const lastRead = readsBefore.length ? readsBefore[readsBefore.length - 1].t : null;
  const row = {
    track,
    at_s: +((answered - t0) / 1000).toFixed(3),
    revoke_ms: answered - sent,
    epoch: r.body.epoch ?? null,
    published_by: r.body.published_by ?? null,
    enforced_by: r.body.enforced_by ?? null,
    a_refused_first_request: aRefused,
    a_enforced_s: aRefused ? +((aStart - answered) / 1000).toFixed(3) : null,
    b_polls: polls,
    b_enforced_s: refusedAt === null ? null : +((refusedAt - answered) / 1000).toFixed(3),
    b_last_ok_s: lastOkAt === null ? null : +((lastOkAt - answered) / 1000).toFixed(3),
    b_phase_s: lastRead === null ? null : +((answered - t0) / 1000 - lastRead).toFixed(3),
    // The promise against the wall clock of the first refused request (whole seconds promised).
    slack_s: r.body.enforced_by && refusedAt !== null ? +(r.body.enforced_by - refusedAt / 1000).toFixed(3) : null,
  };
  // Per-key mode has no snapshot reads to time (its counter counts every key read).
  if (setting.design !== "snapshot") row.b_phase_s = null;
  log(
    `${setting.name} track ${track} #${i + 1}: revoke ${row.revoke_ms} ms; instance 1 ${aRefused ? "refused at once" : `SERVED (${aRes.status})`}; instance 2 refused after ${row.b_enforced_s} s (${polls} polls; phase ${row.b_phase_s} s)${row.slack_s !== null ? `; enforced_by slack ${row.slack_s} s` : ""}`,
  );
  return row;
}

function stats(xs) {
  const v = xs.filter((x) => x !== null && x !== undefined).sort((p, q) => p - q);
  if (!v.length) return null;
  const med = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return { n: v.length, min: v[0], median: +med.toFixed(3), max: v[v.length - 1] };
}

function summarize(out) {
  const s = {};
  for (const [kind, rows] of [["track1", out.revocations], ["strict", out.strict]]) {
    if (!rows.length) continue;
    s[kind] = {
      count: rows.length,
      a_refused_first_request: rows.filter((r) => r.a_refused_first_request).length,
      a_enforced_s: stats(rows.map((r) => r.a_enforced_s)),
      b_enforced_s: stats(rows.map((r) => r.b_enforced_s)),
      b_polls: stats(rows.map((r) => r.b_polls)),
      b_never: rows.filter((r) => r.b_enforced_s === null).length,
      slack_s: stats(rows.map((r) => r.slack_s)),
      broken_promises: rows.filter((r) => r.slack_s !== null && r.slack_s < 0).length,
      revoke_ms: stats(rows.map((r) => r.revoke_ms)),
    };
  }
  const gaps = out.b_reads.slice(1).map((x, i) => +(x.t - out.b_reads[i].t).toFixed(2));
  s.b_read_interval_s = out.design === "snapshot" ? stats(gaps) : null;
  return s;
}

function fmt(st) {
  return st ? `${st.min} / ${st.median} / ${st.max}` : "–";
}

function printTables(r) {
  const lines = [
    `Revocation propagation in workerd: two instances sharing KV and the authority; instance 2 polled every ${r.settings.poll_ms} ms; publish_interval_s ${r.settings.publish_interval_s}`,
    `machine: ${r.machine.cpus} × ${r.machine.cpu_model}; load average at start ${r.machine.loadavg_start.join(" ")}, at end ${r.machine.loadavg_end.join(" ")}`,
    "",
    "| setting | tokens | instance 1 refused on the first request | instance 1 s | instance 2 s (min / median / max) | polls (min / median / max) | enforced_by − refusal s (min / median / max) | broken | instance 2 read interval s |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const run of r.runs) {
    for (const [kind, x] of Object.entries(run.summary)) {
      if (kind === "b_read_interval_s") continue;
      lines.push(
        `| ${run.setting} | ${kind === "strict" ? `${x.count} × track 4 (max_staleness_s 0)` : `${x.count} × track 1`} | ${x.a_refused_first_request}/${x.count} | ${fmt(x.a_enforced_s)} | ${fmt(x.b_enforced_s)}${x.b_never ? ` (${x.b_never} never)` : ""} | ${fmt(x.b_polls)} | ${fmt(x.slack_s)} | ${x.broken_promises} | ${fmt(run.summary.b_read_interval_s)} |`,
      );
    }
  }
  lines.push("", "Per revocation (instance 2): phase = time since its last snapshot read when the revoke answer came; enforced = answer → first refused request.", "");
  for (const run of r.runs) {
    const show = (x) => (run.design === "snapshot" ? `${x.b_phase_s ?? "?"}→${x.b_enforced_s}` : `${x.b_enforced_s}`);
    lines.push(`${run.setting}: ` + run.revocations.map(show).join(", "));
  }
  console.log(lines.join("\n"));
}
