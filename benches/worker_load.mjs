#!/usr/bin/env node
// Load test of the BUILT Worker under workerd (Miniflare) on loopback. Not part of the test
// suite; bounded in time (see "Bounded" below).
//
//   node benches/worker_load.mjs [--duration 10] [--rounds 2] [--warmup 3] [--connections 10]
//                                [--tokens 1000] [--revocation snapshot,per-key]
//                                [--strict-share F] [--rate R] [--cache-ttl-s N]
//                                [--snapshot-ttl-s N] [--kv-window S] [--prime N] [--skip-dev]
//                                [--alg HS256|RS256|PS256|ES256|ES384|EdDSA] [--keys inline|remote]
//                                [--out F]
//
// Algorithms (`--alg`, default HS256): the tokens are signed with a key made for the run
// (node:crypto), the policy allows that algorithm only. `--keys inline` puts the public key in
// the policy; `--keys remote` serves it as a JWKS from the loopback origin's process
// (`/.well-known/jwks.json`, max-age 3600) and the policy names it as `jwks_url`: the remote-JWKS
// shape of the identity providers (fetched once per isolate, then shared through KV).
//
// Revocation designs (`--revocation`, a comma list; default both, measured in ONE run):
//   snapshot  the Worker with the REVOCATION_AUTHORITY Durable Object bound (as wrangler.toml
//             does): the authority publishes a MAC'd snapshot of the revocation set to KV, the
//             isolate reads it at most once per revocation.snapshot_ttl_s (default 20) and checks
//             tokens in memory; exact Durable Object lookups only for tracks with
//             tracks.max_staleness_s 0 and for filter hits;
//   per-key   the Worker without the binding: per-key KV reads (`jti:`, `sub:`, `global`) cached
//             per isolate for revocation.cache_ttl_s (default 30).
// Scenarios, each in its own workerd process, all started up front:
//   gateway-<design>  the edge-jwt Worker validating `--tokens` distinct valid HS256 tokens
//                     (round-robin over the whole set, each scenario's cursor carrying on from
//                     window to window; one subject each: the most keys; with 100,000 tokens or
//                     more a run never uses a token twice) and forwarding to a loopback
//                     origin (a tiny Node HTTP server, own process); one per design;
//   pass-through      a few lines of JS forwarding every request to the same origin (the baseline);
//   dev-<design>      the edge-jwt Worker without ORIGIN (answers the verified claims as JSON), for
//                     the first design only (`--skip-dev` leaves it out).
// Tokens: the CLI (`edge-jwt issue`) mints one template per track; the rest are signed in this
// process with node:crypto HMAC-SHA256 (same header, same claims in the same order, a fresh
// `sub` and `jti` each), after checking that re-signing the CLI's claims gives the CLI's token
// byte for byte. 1,000,000 tokens take a few seconds and about 0.5 GB of memory.
// `--strict-share F` mints that share of the tokens (every round(1/F)-th) on track 4 and gives
// the policy `tracks.max_staleness_s: {"4": 0}`: in the snapshot design each of those requests
// is one exact Durable Object lookup.
// Preparation per scenario: the first `--prime` tokens (default 10,000) are sent once each, 10 at
// a time (every one must pass; beyond 10,000 distinct tokens the per-key cache cannot hold them
// anyway), then `--warmup` seconds of load. Measurement: `--duration` seconds per scenario, split
// into `--rounds` windows taken in turn (gateway-snapshot, gateway-per-key, pass-through, dev,
// gateway-snapshot, …) so that a change in machine load hits every scenario alike. Reported:
// requests/s, p50/p99 latency (exact, from per-response timings over all windows; autocannon's
// own histogram has 1 ms resolution), non-2xx count, each gateway's p50 over the pass-through's
// (pooled, per round, and the median of the rounds: on a shared machine one disturbed window
// moves the pooled figure, so run many short rounds and quote the median), and for the edge-jwt scenarios the store requests per request from
// the isolate counters (`/v1/health` isolate.kv_reads: KV reads in per-key mode; snapshot reads
// (KV, or the authority when KV's copy is missing or old) plus exact Durable Object lookups in
// snapshot mode; `/v1/revocation/status` splits the two) read before and after each window.
// `--rate R` caps the load at R requests/s overall (autocannon overallRate), e.g. 10 for the
// issue's "10 req/s per isolate" shape; without it the load is closed-loop (as fast as it goes).
//
// Steady state: a short window shows 0 store reads or a whole refill burst, depending on luck,
// and a window after a pause is biased (every per-key entry that expired during the pause is
// re-read at its start, and the cache's per-key spread makes many expire again within one TTL).
// So after the rounds, each gateway in turn runs under continuous load for one of its cache
// lifetimes (cache_ttl_s or snapshot_ttl_s) to settle (unmeasured), then for `--kv-window`
// seconds (default 60; 0 skips both) measured: reads / requests over that window is the
// steady-state figure (warm-up excluded), next to a model:
//   per-key:  (2·tokens + 1) / (rps · mean entry lifetime), the mean lifetime being
//             ttl − ⌊ttl/4⌋/2 − 0.5 s (the spread, and whole-second clock reads); meaningful only
//             while 2·tokens + 1 ≤ cache_size (10,000) and a token comes back within its entry's
//             lifetime; otherwise about 2 (jti + sub miss on every request);
//   snapshot: window / snapshot_ttl_s reads, i.e. 1 / (rps · snapshot_ttl_s) per request, plus
//             one exact lookup per strict request.
// With `--strict-share`, a probe follows: 200 sequential requests with distinct strict tokens
// and 200 with ordinary ones per gateway, counting exact lookups and timing each request.
// Bounded: about (scenarios) × (duration + warm-up) + Σ(settle + kv-window) seconds plus
// start-up, minting and priming.
// Nothing here needs the internet.

import { fork } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import autocannon from "autocannon";
import { Log, LogLevel, Miniflare } from "miniflare";

import * as h from "../tests/worker/harness.mjs";

const DESIGNS = ["snapshot", "per-key"];
const DEFAULT_CACHE_TTL_S = 30; // RevocationSettings::default (src/gateway/edge_policy.rs)
const DEFAULT_SNAPSHOT_TTL_S = 20;
const DEFAULT_PUBLISH_INTERVAL_S = 30;
const CACHE_SIZE = 10_000;
const STRICT_TRACK = "4";
const PROBE_REQUESTS = 200;
/** How node:crypto signs each algorithm (JOSE's raw r||s for ECDSA). */
const SIGNERS = {
  HS256: null,
  RS256: (data, key) => crypto.sign("sha256", data, key),
  PS256: (data, key) => crypto.sign("sha256", data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
  ES256: (data, key) => crypto.sign("sha256", data, { key, dsaEncoding: "ieee-p1363" }),
  ES384: (data, key) => crypto.sign("sha384", data, { key, dsaEncoding: "ieee-p1363" }),
  EdDSA: (data, key) => crypto.sign(null, data, key),
};


// ------------------------------------------------------------------------------------------
// Child mode: the loopback origin, in its own process so it does not share the load
// generator's event loop; it also serves the run's JWKS (`--keys remote`), given in BENCH_JWKS.
if (process.argv[2] === "--origin-child") {
  const body = '{"origin":"ok"}';
  const jwks = process.env.BENCH_JWKS ?? '{"keys":[]}';
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/.well-known/jwks.json") {
        res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600" });
        res.end(jwks);
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
  process.on("disconnect", () => process.exit(0));
} else {
  await main();
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      duration: { type: "string", default: "10" },
      rounds: { type: "string", default: "2" },
      warmup: { type: "string", default: "3" },
      connections: { type: "string", default: "10" },
      tokens: { type: "string", default: "1000" },
      revocation: { type: "string", default: DESIGNS.join(",") },
      "strict-share": { type: "string", default: "0" },
      rate: { type: "string" },
      "cache-ttl-s": { type: "string" },
      "snapshot-ttl-s": { type: "string" },
      "kv-window": { type: "string", default: "60" },
      prime: { type: "string", default: "10000" },
      "skip-dev": { type: "boolean", default: false },
      alg: { type: "string", default: "HS256" },
      keys: { type: "string", default: "inline" },
      out: { type: "string" },
    },
  });
  const duration = Number(args.duration);
  const warmup = Number(args.warmup);
  const connections = Number(args.connections);
  const tokenCount = Number(args.tokens);
  const rounds = Number(args.rounds);
  const strictShare = Number(args["strict-share"]);
  const rate = args.rate === undefined ? undefined : Number(args.rate);
  const primeLimit = Number(args.prime);
  const designs = args.revocation.split(",").map((d) => d.trim()).filter(Boolean);
  if (!(designs.length >= 1 && designs.every((d) => DESIGNS.includes(d)) && new Set(designs).size === designs.length)) {
    throw new Error(`--revocation must be a comma list of ${DESIGNS.join(", ")}`);
  }
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 10)) throw new Error("--rounds must be 1..10");
  if (!(duration > 0 && duration <= 300 && warmup >= 0 && warmup <= 60 && connections > 0 && connections <= 256)) {
    throw new Error("bounded run: 0 < duration <= 300 s, warmup <= 60 s, 1..256 connections");
  }
  if (!(Number.isInteger(tokenCount) && tokenCount >= 1 && tokenCount <= 1_000_000)) throw new Error("--tokens must be 1..1000000");
  if (!(strictShare >= 0 && strictShare <= 0.5)) throw new Error("--strict-share must be 0..0.5");
  if (!(rate === undefined || (rate > 0 && rate <= 100_000))) throw new Error("--rate must be 0 < R <= 100000");
  if (!(Number.isInteger(primeLimit) && primeLimit >= 1)) throw new Error("--prime must be a positive integer");
  if (!Object.hasOwn(SIGNERS, args.alg)) throw new Error(`--alg must be one of ${Object.keys(SIGNERS).join(", ")}`);
  if (!["inline", "remote"].includes(args.keys)) throw new Error("--keys must be inline or remote");
  if (args.alg === "HS256" && args.keys === "remote") throw new Error("--keys remote needs an asymmetric --alg");

  h.ensureBuilt();
  const log = (msg) => process.stderr.write(`[worker_load] ${new Date().toISOString().slice(11, 19)} ${msg}\n`);

  const policy = h.basePolicy();
  const revocation = {};
  if (args["cache-ttl-s"] !== undefined) revocation.cache_ttl_s = Number(args["cache-ttl-s"]);
  if (args["snapshot-ttl-s"] !== undefined) revocation.snapshot_ttl_s = Number(args["snapshot-ttl-s"]);
  if (Object.keys(revocation).length) policy.revocation = revocation;
  if (strictShare > 0) policy.tracks = { max_staleness_s: { [STRICT_TRACK]: 0 } };
  const cacheTtl = revocation.cache_ttl_s ?? DEFAULT_CACHE_TTL_S;
  const snapshotTtl = revocation.snapshot_ttl_s ?? DEFAULT_SNAPSHOT_TTL_S;
  const kvWindow = Number(args["kv-window"]);
  if (!(kvWindow >= 0 && kvWindow <= 620)) throw new Error("--kv-window must be 0..620 s");
  const meanEntryLifetime = cacheTtl - Math.floor(cacheTtl / 4) / 2 - 0.5;

  const strictEvery = strictShare > 0 ? Math.max(2, Math.round(1 / strictShare)) : 0;
  log(`minting ${tokenCount} ${args.alg} tokens (templates from ${h.CLI}, the rest signed in-process)${strictEvery ? `, every ${strictEvery}th on track ${STRICT_TRACK}` : ""} …`);
  const mintStart = performance.now();
  const signing = args.alg === "HS256" ? null : signingKey(args.alg);
  const set = mintTokens(policy, tokenCount, strictEvery, signing);
  let secret = h.SECRET;
  if (signing) {
    // The run's key only: the HMAC secret is left out, so every token needs the asymmetric key.
    policy.algorithms = [args.alg];
    secret = null;
    if (args.keys === "inline") policy.keys = signing.jwks;
  }
  const mintSeconds = (performance.now() - mintStart) / 1000;
  log(`minted in ${mintSeconds.toFixed(1)} s (heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB)`);

  // Origin in a child process.
  const originChild = fork(new URL(import.meta.url).pathname, ["--origin-child"], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, BENCH_JWKS: JSON.stringify(signing?.jwks ?? { keys: [] }) },
  });
  const { port } = await new Promise((resolve, reject) => {
    originChild.once("message", resolve);
    originChild.once("error", reject);
  });
  const origin = `http://127.0.0.1:${port}`;
  if (signing && args.keys === "remote") {
    policy.jwks_url = `${origin}/.well-known/jwks.json`;
    policy.jwks = { allow_http: true };
  }

  const results = {
    machine: machineInfo(),
    settings: {
      duration,
      rounds,
      warmup,
      connections,
      tokens: tokenCount,
      alg: args.alg,
      keys: args.alg === "HS256" ? "secret" : args.keys,
      designs,
      strict_share: strictEvery ? 1 / strictEvery : 0,
      strict_tokens: set.strictCount,
      rate: rate ?? null,
      cache_ttl_s: cacheTtl,
      cache_size: CACHE_SIZE,
      snapshot_ttl_s: snapshotTtl,
      publish_interval_s: DEFAULT_PUBLISH_INTERVAL_S,
      kv_window_s: kvWindow,
      primed_tokens: Math.min(tokenCount, primeLimit),
      mint_seconds: round(mintSeconds, 2),
      policy,
    },
    scenarios: {},
    rounds: [],
  };
  const PASS_THROUGH = `export default { fetch(req, env) { return fetch(new Request(env.ORIGIN + new URL(req.url).pathname, req)) } }`;

  const scenarios = [];
  for (const design of designs) scenarios.push({ name: `gateway-${design}`, design, edgeJwt: true, gateway: true, origin });
  scenarios.push({ name: "pass-through", script: PASS_THROUGH, edgeJwt: false, origin });
  if (!args["skip-dev"]) scenarios.push({ name: `dev-${designs[0]}`, design: designs[0], edgeJwt: true });
  const gateways = scenarios.filter((s) => s.gateway);
  const load = { connections, rate, set };
  const running = [];
  try {
    // Prepared in reverse, so the first gateway's cache is the freshest when the rounds start.
    for (const sc of scenarios.slice().reverse()) {
      log(`scenario ${sc.name}: starting workerd, sending ${Math.min(tokenCount, primeLimit)} tokens once, ${warmup} s warm-up`);
      const mf = new Miniflare(miniflareOptions(policy, sc, secret));
      running.push(mf);
      sc.url = (await mf.ready).href.replace(/\/$/, "");
      sc.cursor = { next: Math.min(tokenCount, primeLimit) % tokenCount };
      await prepare(sc.name, sc.url, set.tokens.slice(0, primeLimit), { warmup, load, cursor: sc.cursor });
      sc.windows = [];
    }
    const window = duration / rounds;
    for (let r = 0; r < rounds; r++) {
      const round_ = {};
      for (const sc of scenarios) {
        log(`round ${r + 1}/${rounds}: ${sc.name}, ${window} s, ${connections} connections${rate ? `, ${rate} req/s` : ""} (load average ${os.loadavg()[0].toFixed(2)})`);
        const w = await measureWindow(sc.url, { duration: window, load, edgeJwt: sc.edgeJwt, cursor: sc.cursor });
        sc.windows.push(w);
        round_[sc.name] = { requests_per_s: w.requests_per_s, p50_ms: round3(percentile(w.latencies, 0.5)) };
        if (sc.edgeJwt) round_[sc.name].store_reads = w.store_reads;
      }
      for (const g of gateways) round_[`ratio_p50_${g.design}`] = round3(round_[g.name].p50_ms / round_["pass-through"].p50_ms);
      results.rounds.push(round_);
    }
    for (const sc of scenarios) results.scenarios[sc.name] = summarize(sc.windows, sc.edgeJwt);

    if (kvWindow > 0) {
      results.steady_state = {};
      for (const g of gateways) {
        const settle = g.design === "snapshot" ? snapshotTtl : cacheTtl;
        log(`steady state ${g.name}: under load for one cache lifetime (${settle} s) to settle, then ${kvWindow} s measured`);
        await cannon(g.url, { duration: settle, load, record: false, cursor: g.cursor });
        const w = await measureWindow(g.url, { duration: kvWindow, load, edgeJwt: true, cursor: g.cursor });
        const s = {
          window_s: w.seconds,
          requests: w.isolate_requests,
          requests_per_s: w.requests_per_s,
          store_reads: w.store_reads,
          store_reads_per_request: round(w.store_reads / w.isolate_requests, 6),
          non_2xx: w.non_2xx + w.errors,
          loadavg_1m: w.loadavg_1m,
          p50_ms: round3(percentile(w.latencies, 0.5)),
        };
        if (g.design === "snapshot") {
          s.snapshot_reads = w.snapshot_reads;
          s.exact_lookups = w.exact_lookups;
          s.snapshot_loads = w.snapshot_loads;
          s.snapshot_reads_per_request = round(w.snapshot_reads / w.isolate_requests, 6);
          s.model_snapshot_reads = round(w.seconds / snapshotTtl, 2);
          s.model_store_reads_per_request = round(1 / (w.requests_per_s * snapshotTtl) + (strictEvery ? 1 / strictEvery : 0), 6);
          if (strictEvery) {
            s.strict_requests_sent = w.strict_sent;
            s.nonstrict_requests = w.isolate_requests - w.strict_sent;
            s.exact_lookups_per_strict_request = round(w.exact_lookups / w.strict_sent, 4);
            s.snapshot_reads_per_nonstrict_request = round(w.snapshot_reads / (w.isolate_requests - w.strict_sent), 6);
          }
        } else {
          const fits = 2 * tokenCount + 1 <= CACHE_SIZE;
          s.mean_entry_lifetime_s = meanEntryLifetime;
          s.model_store_reads_per_request = fits
            ? round(Math.min(2, (2 * tokenCount + 1) / (w.requests_per_s * meanEntryLifetime)), 5)
            : null;
          s.model_note = fits ? "(2·tokens+1)/(rps·lifetime)" : `2·tokens+1 > cache_size ${CACHE_SIZE}: FIFO evicts before reuse, about 2`;
        }
        results.steady_state[g.design] = s;
      }
    }

    if (strictEvery) {
      results.strict_probe = {};
      const strictTokens = set.tokens.filter((_, i) => set.strict[i]).slice(-PROBE_REQUESTS);
      const plainTokens = set.tokens.filter((_, i) => !set.strict[i]).slice(-PROBE_REQUESTS);
      for (const g of gateways) {
        log(`strict probe ${g.name}: ${strictTokens.length} strict + ${plainTokens.length} track-1 requests, sequential`);
        results.strict_probe[g.design] = {
          strict: await probe(g.url, strictTokens),
          track1: await probe(g.url, plainTokens),
        };
      }
    }
  } finally {
    for (const mf of running) await mf.dispose();
    originChild.kill();
  }

  const p = results.scenarios["pass-through"];
  results.comparison = {};
  for (const g of gateways) {
    const x = results.scenarios[g.name];
    results.comparison[g.design] = {
      ratio_p50_over_pass_through: round3(x.latency_ms.p50 / p.latency_ms.p50),
      ratio_p50_per_round: results.rounds.map((r) => r[`ratio_p50_${g.design}`]),
      ratio_p50_median_of_rounds: median(results.rounds.map((r) => r[`ratio_p50_${g.design}`])),
      ratio_p99_over_pass_through: round3(x.latency_ms.p99 / p.latency_ms.p99),
      ratio_rps_over_pass_through: round3(x.requests_per_s / p.requests_per_s),
      store_reads_per_request_windows: x.store_reads_per_request,
      store_reads_per_request_steady_state: results.steady_state?.[g.design]?.store_reads_per_request ?? null,
    };
  }
  results.machine.loadavg_end = os.loadavg().map((x) => round(x, 2));

  printTable(results);
  if (args.out) {
    fs.writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${args.out}`);
  }
}

function miniflareOptions(policy, sc, secret) {
  const workers = sc.script
    ? [{ name: "pass-through", modules: true, script: sc.script, compatibilityDate: h.COMPATIBILITY_DATE, bindings: { ORIGIN: sc.origin } }]
    : h.workerOptions({ policy, secret, authority: sc.design === "snapshot", ...(sc.origin ? { origin: sc.origin } : {}) }).workers;
  return { workers, cf: false, log: new Log(LogLevel.WARN), handleRuntimeStdio(out, err) { out.resume(); err.pipe(process.stderr); } };
}

/** A key pair for `alg`: the private key, a signing function and the public JWKS. */
function signingKey(alg) {
  const kinds = {
    RS256: ["rsa", { modulusLength: 2048 }], PS256: ["rsa", { modulusLength: 2048 }],
    ES256: ["ec", { namedCurve: "P-256" }], ES384: ["ec", { namedCurve: "P-384" }], EdDSA: ["ed25519", {}],
  };
  const { privateKey, publicKey } = crypto.generateKeyPairSync(...kinds[alg]);
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "bench-1", alg, use: "sig" };
  return { alg, sign: (data) => SIGNERS[alg](data, privateKey), jwks: { keys: [jwk] } };
}

/**
 * `n` distinct tokens, one subject each: a template per track from the CLI, the rest signed
 * here (a fresh sub and jti, every other claim and the claim order the CLI's) with HMAC, or
 * with `signing`'s key (its alg and kid in the header). Every `strictEvery`-th token (0: none)
 * is on the strict track.
 */
function mintTokens(policy, n, strictEvery, signing) {
  const templates = {};
  for (const track of strictEvery ? ["1", STRICT_TRACK] : ["1"]) {
    const minted = h.issue({ config: h.mintConfig(policy), sub: "user-0000000", track, claims: { scope: "read" } });
    const { header, claims } = h.decodeJwt(minted.token);
    const headerB64 = h.b64json(header);
    if (h.signSegments(headerB64, h.b64json(claims)) !== minted.token) {
      throw new Error("re-signing the CLI's claims does not reproduce its token: the in-process minting would differ");
    }
    templates[track] = signing
      ? { headerB64: h.b64json({ alg: signing.alg, typ: "JWT", kid: "bench-1" }), claims }
      : { headerB64, claims };
  }
  const ids = crypto.randomBytes(16 * n);
  const tokens = new Array(n);
  const strict = new Uint8Array(n);
  let strictCount = 0;
  for (let i = 0; i < n; i++) {
    const isStrict = strictEvery > 0 && i % strictEvery === 0;
    const t = templates[isStrict ? STRICT_TRACK : "1"];
    const claims = { ...t.claims, jti: ids.toString("hex", 16 * i, 16 * i + 16), sub: `user-${String(i).padStart(7, "0")}` };
    const payloadB64 = h.b64json(claims);
    tokens[i] = signing
      ? `${t.headerB64}.${payloadB64}.${signing.sign(Buffer.from(`${t.headerB64}.${payloadB64}`)).toString("base64url")}`
      : h.signSegments(t.headerB64, payloadB64);
    if (isStrict) {
      strict[i] = 1;
      strictCount++;
    }
  }
  return { tokens, strict, strictCount };
}

async function getJson(url, path) {
  const res = await fetch(`${url}${path}`);
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

/** The isolate counters: requests, store reads, and the snapshot view's split (if any). */
async function counters(url) {
  const health = (await getJson(url, "/v1/health")).isolate;
  const status = await getJson(url, "/v1/revocation/status");
  return { health, status };
}

/**
 * One autocannon run, round-robin over the tokens (shared by all connections), continuing where
 * the scenario's previous run stopped (`cursor`), so that every token of the set is used in turn
 * however short the windows; exact latencies from the response events; counts the strict
 * tokens sent.
 */
function cannon(url, { duration, load, record, cursor }) {
  const { tokens, strict } = load.set;
  let i = cursor.next;
  let strictSent = 0;
  const latencies = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: load.connections,
        duration,
        ...(load.rate ? { overallRate: load.rate } : {}),
        requests: [
          {
            method: "GET",
            path: "/api/resource?x=1",
            setupRequest(req) {
              const k = i++ % tokens.length;
              strictSent += strict[k];
              req.headers = { ...req.headers, authorization: `Bearer ${tokens[k]}` };
              return req;
            },
          },
        ],
      },
      (err, result) => {
        cursor.next = i % tokens.length;
        if (err) reject(err);
        else resolve({ result, latencies, strictSent });
      },
    );
    if (record) instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

/** Sends each of `tokens` once (10 at a time; all must pass), then `warmup` seconds of load. */
async function prepare(name, url, tokens, { warmup, load, cursor }) {
  let next = 0;
  let bad = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < tokens.length) {
        const t = tokens[next++];
        const res = await fetch(`${url}/api/warm`, { headers: { authorization: `Bearer ${t}` } });
        await res.arrayBuffer();
        if (res.status !== 200) bad++;
      }
    }),
  );
  if (bad) throw new Error(`${name}: ${bad} priming requests were not 200`);
  if (warmup > 0) await cannon(url, { duration: warmup, load, record: false, cursor });
}

/** One measured window; for edge-jwt, the isolate counters around it. */
async function measureWindow(url, { duration, load, edgeJwt, cursor }) {
  const before = edgeJwt ? await counters(url) : null;
  const loadavg = os.loadavg()[0];
  const { result, latencies, strictSent } = await cannon(url, { duration, load, record: true, cursor });
  const after = edgeJwt ? await counters(url) : null;
  const w = {
    latencies,
    seconds: result.duration || duration,
    total: result.requests.total,
    requests_per_s: round(result.requests.total / (result.duration || duration), 1),
    non_2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    loadavg_1m: round(loadavg, 2),
  };
  if (edgeJwt) {
    // Between the two health reads: the status request before, the window, and the `after`
    // health request (which counts itself).
    w.isolate_requests = after.health.requests - before.health.requests - 2;
    w.store_reads = after.health.kv_reads - before.health.kv_reads;
    w.strict_sent = strictSent;
    if (after.status.mode === "snapshot") {
      w.snapshot_reads = after.status.reads - before.status.reads;
      w.exact_lookups = after.status.exact_lookups - before.status.exact_lookups;
      w.snapshot_loads = after.status.loads - before.status.loads;
    }
  }
  return w;
}

/** Sequential requests, one per token: latencies, statuses, store reads and exact lookups. */
async function probe(url, tokens) {
  const before = await counters(url);
  const times = [];
  let ok = 0;
  for (const t of tokens) {
    const start = performance.now();
    const res = await fetch(`${url}/api/probe`, { headers: { authorization: `Bearer ${t}` } });
    await res.arrayBuffer();
    times.push(performance.now() - start);
    if (res.status === 200) ok++;
  }
  const after = await counters(url);
  const requests = after.health.requests - before.health.requests - 2;
  const out = {
    requests,
    ok,
    store_reads: after.health.kv_reads - before.health.kv_reads,
    p50_ms: round3(percentile(times, 0.5)),
    p90_ms: round3(percentile(times, 0.9)),
  };
  out.store_reads_per_request = round(out.store_reads / requests, 4);
  if (after.status.mode === "snapshot") {
    out.exact_lookups = after.status.exact_lookups - before.status.exact_lookups;
    out.exact_lookups_per_request = round(out.exact_lookups / requests, 4);
  }
  return out;
}

function percentile(sorted, q) {
  if (!sorted.sorted) {
    sorted.sort((a, b) => a - b);
    sorted.sorted = true;
  }
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summarize(windows, edgeJwt) {
  const all = windows.flatMap((w) => w.latencies);
  const total = windows.reduce((a, w) => a + w.total, 0);
  const seconds = windows.reduce((a, w) => a + w.seconds, 0);
  const out = {
    requests_per_s: round(total / seconds, 1),
    requests_total: total,
    non_2xx: windows.reduce((a, w) => a + w.non_2xx, 0),
    errors: windows.reduce((a, w) => a + w.errors, 0),
    timeouts: windows.reduce((a, w) => a + w.timeouts, 0),
    latency_ms: {
      p50: round3(percentile(all, 0.5)),
      p90: round3(percentile(all, 0.9)),
      p99: round3(percentile(all, 0.99)),
      max: round3(percentile(all, 1)),
      mean: round3(all.reduce((a, b) => a + b, 0) / all.length),
    },
    windows: windows.map(({ latencies, ...w }) => ({ ...w, p50_ms: round3(percentile(latencies, 0.5)), p99_ms: round3(percentile(latencies, 0.99)) })),
  };
  if (edgeJwt) {
    const requests = windows.reduce((a, w) => a + w.isolate_requests, 0);
    const reads = windows.reduce((a, w) => a + w.store_reads, 0);
    out.isolate = { requests, store_reads: reads };
    out.store_reads_per_request = requests > 0 ? round(reads / requests, 6) : null;
    if (requests < total) out.isolate.warning = "isolate counters cover fewer requests than were sent (another isolate?)";
  }
  return out;
}

function printTable(r) {
  const s = r.settings;
  const lines = [
    `Worker load test: ${s.tokens} distinct ${s.alg} tokens (keys: ${s.keys})${s.strict_tokens ? ` (${s.strict_tokens} strict, track ${STRICT_TRACK} with max_staleness_s 0)` : ""}, ${s.connections} connections${s.rate ? `, capped at ${s.rate} req/s` : ""}, ${s.duration} s per scenario in ${s.rounds} interleaved window(s), after ${s.warmup} s warm-up; designs ${s.designs.join(", ")}; cache_ttl_s ${s.cache_ttl_s}, snapshot_ttl_s ${s.snapshot_ttl_s}`,
    `machine: ${r.machine.cpus} × ${r.machine.cpu_model}; load average at start ${r.machine.loadavg_start.join(" ")}, at end ${r.machine.loadavg_end.join(" ")}; minting ${s.mint_seconds} s`,
    "",
    "| scenario | requests/s | p50 ms | p99 ms | non-2xx | store reads/request (windows) |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const [name, x] of Object.entries(r.scenarios)) {
    lines.push(`| ${name} | ${x.requests_per_s} | ${x.latency_ms.p50} | ${x.latency_ms.p99} | ${x.non_2xx + x.errors} | ${x.store_reads_per_request ?? "–"} |`);
  }
  lines.push("");
  for (const [design, c] of Object.entries(r.comparison)) {
    lines.push(
      `gateway-${design} p50 / pass-through p50 = ${c.ratio_p50_over_pass_through} pooled, median of rounds ${c.ratio_p50_median_of_rounds} (per round: ${c.ratio_p50_per_round.join(", ")}); p99 ratio ${c.ratio_p99_over_pass_through}; requests/s ratio ${c.ratio_rps_over_pass_through}`,
    );
  }
  if (r.steady_state) {
    lines.push(
      "",
      "Steady state (continuous load after one cache lifetime of it; store reads = KV reads, + snapshot reads and Durable Object lookups in snapshot mode):",
      "",
      "| design | window s | requests/s | requests | store reads | of which snapshot reads | exact DO lookups | reads/request | model | p50 ms | non-2xx |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const [design, k] of Object.entries(r.steady_state)) {
      lines.push(
        `| ${design} | ${k.window_s} | ${k.requests_per_s} | ${k.requests} | ${k.store_reads} | ${k.snapshot_reads ?? "–"} | ${k.exact_lookups ?? "–"} | ${k.store_reads_per_request} | ${k.model_store_reads_per_request ?? k.model_note} | ${k.p50_ms} | ${k.non_2xx} |`,
      );
    }
    const snap = r.steady_state.snapshot;
    if (snap?.strict_requests_sent !== undefined) {
      lines.push(
        "",
        `snapshot, strict share: ${snap.exact_lookups} exact lookups / ${snap.strict_requests_sent} strict requests sent = ${snap.exact_lookups_per_strict_request} per strict request; ${snap.snapshot_reads} snapshot reads / ${snap.nonstrict_requests} other requests = ${snap.snapshot_reads_per_nonstrict_request}`,
      );
    }
  }
  if (r.strict_probe) {
    lines.push("", "| probe (sequential) | requests | 200 | store reads/request | exact lookups/request | p50 ms | p90 ms |", "|---|---:|---:|---:|---:|---:|---:|");
    for (const [design, p] of Object.entries(r.strict_probe)) {
      for (const [kind, x] of Object.entries(p)) {
        lines.push(`| ${design}, ${kind} | ${x.requests} | ${x.ok} | ${x.store_reads_per_request} | ${x.exact_lookups_per_request ?? "–"} | ${x.p50_ms} | ${x.p90_ms} |`);
      }
    }
  }
  console.log(lines.join("\n"));
}

function machineInfo() {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? "?",
    node: process.version,
    loadavg_start: os.loadavg().map((x) => round(x, 2)),
  };
}

function median(xs) {
  const v = xs.slice().sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : round3((v[v.length / 2 - 1] + v[v.length / 2]) / 2);
}

function round3(x) {
  return round(x, 3);
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
