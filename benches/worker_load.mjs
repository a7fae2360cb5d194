#!/usr/bin/env node
// Load test of the BUILT Worker under workerd (Miniflare) on loopback. Not part of the test
// suite; bounded in time (about 3 × (warm-up + duration) seconds plus start-up and minting).
//
//   node benches/worker_load.mjs [--duration 10] [--rounds 2] [--warmup 3] [--connections 10]
//                                [--tokens 1000] [--cache-ttl-s N] [--kv-window S] [--out F]
//
// Scenarios, measured in one run, each in its own workerd process, all three started up front:
//   gateway      the edge-jwt Worker validating 1,000 distinct valid HS256 tokens (round-robin)
//                and forwarding to a loopback origin (a tiny Node HTTP server, own process);
//   pass-through a few lines of JS forwarding every request to the same origin (the baseline);
//   dev          the edge-jwt Worker without ORIGIN (answers the verified claims as JSON).
// Preparation per scenario: every token is sent once (so the revocation cache knows all of
// them), then `--warmup` seconds of load. Measurement: `--duration` seconds per scenario, split
// into `--rounds` windows taken in turn (gateway, pass-through, dev, gateway, …) so that a
// change in machine load hits every scenario alike. Reported: requests/s, p50/p99 latency
// (exact, from per-response timings over all windows; autocannon's own histogram has 1 ms
// resolution), non-2xx count, the gateway/pass-through p50 ratio (pooled, and per round), and
// for the edge-jwt scenarios KV reads per request from /v1/health's isolate counters read
// before and after each window.
// KV reads at steady state: every key (jti + sub per token, plus `global`) is read about once
// per cache lifetime, so a short window shows 0 or a whole refill burst, depending on luck.
// A window that follows a pause in traffic is biased too: every entry that expired during the
// pause is re-read at its start, and the cache's per-key spread (lifetimes of 3/4 to 4/4 of
// the TTL) makes many of them expire and be re-read again before one TTL has passed. So after
// the rounds the gateway runs under continuous load for one cache TTL to settle (unmeasured),
// then for `--kv-window` seconds (default 2 × revocation.cache_ttl_s; 0 skips both) measured:
// reads / requests over that window is the steady-state figure, next to the model
// (2·tokens + 1) / (rps · mean entry lifetime), the mean lifetime being
// ttl − ⌊ttl/4⌋/2 − 0.5 s (the spread, and whole-second clock reads).
// `--cache-ttl-s` overrides revocation.cache_ttl_s (default 30).
// Bounded: about 3 × (duration + warm-up) + cache TTL + kv-window seconds plus start-up and
// minting.
// Nothing here needs the internet.

import { fork, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import { parseArgs } from "node:util";

import autocannon from "autocannon";
import { Log, LogLevel, Miniflare } from "miniflare";

import * as h from "../tests/worker/harness.mjs";

// ------------------------------------------------------------------------------------------
// Child mode: the loopback origin, in its own process so it does not share the load
// generator's event loop.
if (process.argv[2] === "--origin-child") {
  const body = '{"origin":"ok"}';
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
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
      "cache-ttl-s": { type: "string" },
      "kv-window": { type: "string" },
      out: { type: "string" },
    },
  });
  const duration = Number(args.duration);
  const warmup = Number(args.warmup);
  const connections = Number(args.connections);
  const tokenCount = Number(args.tokens);
  const rounds = Number(args.rounds);
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 10)) throw new Error("--rounds must be 1..10");
  if (!(duration > 0 && duration <= 120 && warmup >= 0 && warmup <= 60 && connections > 0 && connections <= 256)) {
    throw new Error("bounded run: 0 < duration <= 120 s, warmup <= 60 s, 1..256 connections");
  }
  if (!(tokenCount >= 1 && tokenCount <= 10_000)) throw new Error("--tokens must be 1..10000");

  h.ensureBuilt();
  const log = (msg) => process.stderr.write(`[worker_load] ${msg}\n`);

  // Origin in a child process.
  const originChild = fork(new URL(import.meta.url).pathname, ["--origin-child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port } = await new Promise((resolve, reject) => {
    originChild.once("message", resolve);
    originChild.once("error", reject);
  });
  const origin = `http://127.0.0.1:${port}`;

  const policy = h.basePolicy();
  if (args["cache-ttl-s"] !== undefined) policy.revocation = { cache_ttl_s: Number(args["cache-ttl-s"]) };
  const cacheTtl = policy.revocation?.cache_ttl_s ?? 30;
  const kvWindow = args["kv-window"] === undefined ? 2 * cacheTtl : Number(args["kv-window"]);
  if (!(kvWindow >= 0 && kvWindow <= 620)) throw new Error("--kv-window must be 0..620 s");
  const meanEntryLifetime = cacheTtl - Math.floor(cacheTtl / 4) / 2 - 0.5;

  // 1,000 distinct tokens from the real CLI, one subject each (the most KV keys: jti + sub per token).
  log(`minting ${tokenCount} tokens with ${h.CLI} …`);
  const configFile = h.writeTemp("load-policy.json", h.mintConfig(policy));
  const tokens = await mintMany(configFile, tokenCount, 4);

  const results = {
    machine: machineInfo(),
    settings: { duration, rounds, warmup, connections, tokens: tokenCount, cache_ttl_s: cacheTtl, kv_window_s: kvWindow },
    scenarios: {},
    rounds: [],
  };
  const PASS_THROUGH = `export default { fetch(req, env) { return fetch(new Request(env.ORIGIN + new URL(req.url).pathname, req)) } }`;

  const scenarios = [
    ["gateway", { script: null, bindings: { ORIGIN: origin }, edgeJwt: true }],
    ["pass-through", { script: PASS_THROUGH, bindings: { ORIGIN: origin }, edgeJwt: false }],
    ["dev", { script: null, bindings: {}, edgeJwt: true }],
  ];
  const running = [];
  try {
    // Prepared in reverse, so the gateway's cache is the freshest when the rounds start with it:
    // with the default durations all its latency windows fall within one cache TTL (warm cache).
    for (const [name, sc] of scenarios.slice().reverse()) {
      log(`scenario ${name}: starting workerd, sending every token once, ${warmup} s warm-up`);
      const mf = new Miniflare(minflareOptions(policy, sc));
      running.push(mf);
      const url = (await mf.ready).href.replace(/\/$/, "");
      await prepare(name, url, tokens, { warmup, connections });
      sc.url = url;
      sc.windows = [];
    }
    const window = duration / rounds;
    for (let r = 0; r < rounds; r++) {
      const round = {};
      for (const [name, sc] of scenarios) {
        log(`round ${r + 1}/${rounds}: ${name}, ${window} s, ${connections} connections (load average ${os.loadavg()[0].toFixed(2)})`);
        const w = await measureWindow(sc.url, tokens, { duration: window, connections, edgeJwt: sc.edgeJwt });
        sc.windows.push(w);
        round[name] = { requests_per_s: w.requests_per_s, p50_ms: round3(percentile(w.latencies, 0.5)) };
        if (sc.edgeJwt) round[name].kv_reads = w.kv_reads;
      }
      // A window without KV reads ran entirely on the warm revocation cache.
      round.gateway_warm = round.gateway.kv_reads === 0;
      round.ratio_p50 = round3(round.gateway.p50_ms / round["pass-through"].p50_ms);
      results.rounds.push(round);
    }
    for (const [name, sc] of scenarios) results.scenarios[name] = summarize(sc.windows, sc.edgeJwt);
    if (kvWindow > 0) {
      const [, gw] = scenarios[0];
      log(`steady-state KV reads: gateway under load for one cache TTL (${cacheTtl} s) to settle, then ${kvWindow} s measured`);
      await cannon(gw.url, tokens, { duration: cacheTtl, connections, record: false });
      const w = await measureWindow(gw.url, tokens, { duration: kvWindow, connections, edgeJwt: true });
      results.kv_steady_state = {
        window_s: kvWindow,
        requests: w.isolate_requests,
        kv_reads: w.kv_reads,
        requests_per_s: w.requests_per_s,
        kv_reads_per_request: round(w.kv_reads / w.isolate_requests, 5),
        mean_entry_lifetime_s: meanEntryLifetime,
        expected_kv_reads_per_request: round((2 * tokenCount + 1) / (w.requests_per_s * meanEntryLifetime), 5),
        non_2xx: w.non_2xx,
        loadavg_1m: w.loadavg_1m,
      };
    }
  } finally {
    for (const mf of running) await mf.dispose();
    originChild.kill();
  }

  const g = results.scenarios.gateway;
  const p = results.scenarios["pass-through"];
  results.ratio_gateway_p50_over_pass_through_p50 = round3(g.latency_ms.p50 / p.latency_ms.p50);
  results.ratio_p50_per_round = results.rounds.map((r) => r.ratio_p50);
  results.gateway_windows_warm = results.rounds.map((r) => r.gateway_warm);
  results.ratio_gateway_p99_over_pass_through_p99 = round3(g.latency_ms.p99 / p.latency_ms.p99);
  results.ratio_gateway_rps_over_pass_through_rps = round3(g.requests_per_s / p.requests_per_s);
  results.kv_reads_per_request_gateway_windows = g.kv_reads_per_request;
  results.kv_reads_per_request_gateway_steady_state = results.kv_steady_state?.kv_reads_per_request ?? null;
  results.machine.loadavg_end = os.loadavg().map((x) => round(x, 2));

  printTable(results);
  if (args.out) {
    fs.writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${args.out}`);
  }
}

function minflareOptions(policy, { script, bindings }) {
  const worker = script
    ? { name: "pass-through", modules: true, script, compatibilityDate: h.COMPATIBILITY_DATE, bindings }
    : h.workerOptions({ policy, ...("ORIGIN" in bindings ? { origin: bindings.ORIGIN } : {}) }).workers[0];
  return { workers: [worker], cf: false, log: new Log(LogLevel.WARN), handleRuntimeStdio(out, err) { out.resume(); err.pipe(process.stderr); } };
}

/** Mints `n` tokens with `edge-jwt issue`, `parallel` processes at a time. */
async function mintMany(configFile, n, parallel) {
  const tokens = new Array(n);
  let next = 0;
  const one = (i) =>
    new Promise((resolve, reject) => {
      const child = spawn(h.CLI, ["issue", "--config", configFile, "--sub", `user-${String(i).padStart(5, "0")}`, "--track", "1", "--claim", "scope=read"]);
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out).token) : reject(new Error(`edge-jwt issue exit ${code}`))));
    });
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        const i = next++;
        tokens[i] = await one(i);
      }
    }),
  );
  return tokens;
}

async function health(url) {
  const res = await fetch(`${url}/v1/health`);
  if (res.status !== 200) throw new Error(`health: ${res.status}`);
  return (await res.json()).isolate;
}

/** One autocannon run, round-robin over the tokens; exact latencies from the response events. */
function cannon(url, tokens, { duration, connections, record }) {
  let i = 0;
  const latencies = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration,
        requests: [
          {
            method: "GET",
            path: "/api/resource?x=1",
            setupRequest(req) {
              req.headers = { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` };
              return req;
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve({ result, latencies, sent: i })),
    );
    if (record) instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

/** Sends every token once (10 at a time), then `warmup` seconds of load. */
async function prepare(name, url, tokens, { warmup, connections }) {
  const queue = tokens.slice();
  let bad = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (queue.length) {
        const t = queue.pop();
        const res = await fetch(`${url}/api/warm`, { headers: { authorization: `Bearer ${t}` } });
        await res.arrayBuffer();
        if (res.status !== 200) bad++;
      }
    }),
  );
  if (bad) throw new Error(`${name}: ${bad} warm-up requests were not 200`);
  if (warmup > 0) await cannon(url, tokens, { duration: warmup, connections, record: false });
}

/** One measured window; for edge-jwt, the isolate counters around it. */
async function measureWindow(url, tokens, { duration, connections, edgeJwt }) {
  const before = edgeJwt ? await health(url) : null;
  const load = os.loadavg()[0];
  const { result, latencies } = await cannon(url, tokens, { duration, connections, record: true });
  const after = edgeJwt ? await health(url) : null;
  const w = {
    latencies,
    seconds: result.duration || duration,
    total: result.requests.total,
    requests_per_s: round(result.requests.total / (result.duration || duration), 1),
    non_2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    loadavg_1m: round(load, 2),
  };
  if (edgeJwt) {
    // The `after` health request counted itself; the window is everything in between.
    w.isolate_requests = after.requests - before.requests - 1;
    w.kv_reads = after.kv_reads - before.kv_reads;
  }
  return w;
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
    const reads = windows.reduce((a, w) => a + w.kv_reads, 0);
    out.isolate = { requests, kv_reads: reads };
    out.kv_reads_per_request = requests > 0 ? round(reads / requests, 5) : null;
    if (requests < total) out.isolate.warning = "isolate counters cover fewer requests than were sent (another isolate?)";
  }
  return out;
}

function printTable(r) {
  const s = r.settings;
  const lines = [
    `Worker load test: ${s.tokens} distinct tokens, ${s.connections} connections, ${s.duration} s per scenario in ${s.rounds} interleaved window(s), after ${s.warmup} s warm-up; revocation.cache_ttl_s = ${s.cache_ttl_s}`,
    `machine: ${r.machine.cpus} × ${r.machine.cpu_model}; load average at start ${r.machine.loadavg_start.join(" ")}, at end ${r.machine.loadavg_end.join(" ")}`,
    "",
    "| scenario | requests/s | p50 ms | p99 ms | non-2xx | KV reads/request |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const [name, x] of Object.entries(r.scenarios)) {
    lines.push(`| ${name} | ${x.requests_per_s} | ${x.latency_ms.p50} | ${x.latency_ms.p99} | ${x.non_2xx + x.errors} | ${x.kv_reads_per_request ?? "–"} |`);
  }
  lines.push(
    "",
    `gateway p50 / pass-through p50 = ${r.ratio_gateway_p50_over_pass_through_p50} (target ≤ 1.3 with a warm cache; per round: ${r.rounds.map((x) => `${x.ratio_p50}${x.gateway_warm ? "" : " (cache refill in window)"}`).join(", ")}); p99 ratio ${r.ratio_gateway_p99_over_pass_through_p99}; requests/s ratio ${r.ratio_gateway_rps_over_pass_through_rps}`,
    `KV reads/request column: isolate counters over the measured windows above (a window may or may not contain the cache refill after ${s.cache_ttl_s} s)`,
  );
  const k = r.kv_steady_state;
  if (k) {
    lines.push(
      `gateway KV reads per request at steady state (${k.window_s} s of continuous load after one cache TTL of it, ${k.requests_per_s} req/s): ${k.kv_reads} reads / ${k.requests} requests = ${k.kv_reads_per_request} (target ≤ 0.05; model (2·${s.tokens}+1)/(rps·${k.mean_entry_lifetime_s} s) = ${k.expected_kv_reads_per_request})`,
    );
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

function round3(x) {
  return round(x, 3);
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
