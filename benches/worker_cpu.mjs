// CPU per request of the BUILT Worker in workerd, per algorithm, against a WebCrypto floor.
// Not part of the test suite.
//
//   node benches/worker_cpu.mjs [--tokens 400] [--repeat 1000] [--algs RS256,ES256,EdDSA,HS256]
//                               [--runs 3] [--baseline DIR] [--dpop N] [--origin] [--out F]
//
// Each scenario runs in its own workerd process (its own Miniflare), and what is measured is
// that process's CPU time (utime + stime from /proc/<pid>/stat) across a sequential batch of
// requests, divided by the number of requests: workerd's own request handling is in every
// figure, as it is in production.
//   edge-jwt     the Worker (no ORIGIN: it answers the verified claims as JSON), a policy with
//                one key per algorithm; revocation through the authority's snapshot
//   floor        benches/fixtures/webcrypto-floor.mjs: a minimal JS Worker that splits the token,
//                imports the key once per kid, checks the signature with crypto.subtle.verify,
//                parses the payload and answers it as JSON (HMAC through crypto.subtle too)
//   js gateway   benches/fixtures/js-gateway.mjs: the floor plus what a caching gateway must do
//                on every request (token cache, exp, an in-memory revocation set, identity
//                headers stripped and the subject set, forwarding), by hand in plain JS
//   pass-through a Worker that answers a constant JSON body (the floor of any Worker)
//   baseline     with --baseline DIR: another build of the Worker (DIR holds its shim.mjs and
//                pkg/, as scripts/build-worker.sh writes build/worker), same policy, same tokens
// Rows: `distinct` = --tokens different tokens, each once (no cache can help); `repeated` = one
// token --repeat times (edge-jwt's verified-token cache). Ratios are taken within one run;
// scenarios are interleaved per algorithm and the median of --runs runs is reported.
// `--origin` measures the production shape: every Worker forwards to an origin on loopback (a
// Node server answering a constant JSON body, outside the measured process) instead of
// answering itself: edge-jwt with `ORIGIN`, the floor forwarding after its check, and the
// pass-through a plain proxy (`fetch(origin + path, request)`), as a Worker in front of an API is.
// `--dpop N` adds the cost of a DPoP check (RFC 9449): N requests with one DPoP-bound ES256 token
// (cached after the first) and a fresh proof each (ES256, then EdDSA; made beforehand with
// node:crypto, tests/support/dpop.mjs) on a `dpop: "required"` route, against N requests with
// one plain bearer token, in the same Worker.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { Miniflare, Log, LogLevel } from "miniflare";

import * as h from "../tests/worker/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]?.startsWith("--") ? "" : all[i + 1]]] : pairs), []),
);
const TOKENS = Number(args.tokens ?? 400);
const REPEAT = Number(args.repeat ?? 1000);
const RUNS = Number(args.runs ?? 3);
const ALGS = (args.algs ?? "HS256,RS256,ES256,EdDSA").split(",");
const SECRET = "worker-cpu-bench-secret-0123456789abcdef";
const b64 = (buf) => Buffer.from(buf).toString("base64url");

function keyPair(alg) {
  if (alg === "HS256") return { secret: Buffer.from(SECRET), jwk: { kty: "oct", k: b64(SECRET), kid: "k-HS256", alg } };
  const curve = { ES256: "P-256", ES384: "P-384" }[alg];
  const { privateKey, publicKey } =
    curve
      ? crypto.generateKeyPairSync("ec", { namedCurve: curve })
      : alg === "EdDSA"
        ? crypto.generateKeyPairSync("ed25519")
        : crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid: `k-${alg}`, alg } };
}

function sign(alg, key, input) {
  if (alg === "HS256") return crypto.createHmac("sha256", key.secret).update(input).digest();
  if (alg === "EdDSA") return crypto.sign(null, Buffer.from(input), key.privateKey);
  if (alg.startsWith("ES")) {
    return crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  }
  return crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), key.privateKey);
}

function mint(alg, key, i) {
  return mintWith(alg, key, { sub: `user-${i}` });
}

function mintWith(alg, key, extra) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg, kid: `k-${alg}`, typ: "JWT" }));
  const claims = { iss: h.ISSUER, aud: h.AUDIENCE, track: 2, iat: now, exp: now + 3600, jti: crypto.randomUUID(), ...extra };
  const input = `${header}.${b64(JSON.stringify(claims))}`;
  return `${input}.${b64(sign(alg, key, input))}`;
}

function children() {
  try {
    return new Set(execFileSync("ps", ["-o", "pid=", "--ppid", String(process.pid)]).toString().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return new Set();
  }
}

function cpuTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
}
const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

/** Starts a Miniflare and finds its workerd process. */
async function start(options) {
  const before = children();
  const mf = new Miniflare({ log: new Log(LogLevel.WARN), cf: false, ...options });
  await mf.ready;
  const pid = [...children()].find((p) => !before.has(p));
  if (!pid) throw new Error("workerd process not found");
  return { mf, pid };
}

/** CPU ms per request of `tokens` sent in sequence. */
function measure(target, tokens) {
  return measureRequests(target, tokens.map((token) => ({ path: "/api", headers: { authorization: `Bearer ${token}` } })));
}

/** CPU ms per request of `requests` (`{ path, headers }`) sent in sequence. */
async function measureRequests({ mf, pid }, requests) {
  const t0 = cpuTicks(pid);
  for (const { path: p, headers } of requests) {
    const res = await mf.dispatchFetch(`http://worker.test${p}`, { headers });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`status ${res.status}: ${body}`);
  }
  return ((cpuTicks(pid) - t0) * TICK_MS) / requests.length;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const keys = Object.fromEntries(ALGS.map((alg) => [alg, keyPair(alg)]));
const DPOP = Number(args.dpop ?? 0);
const policy = h.basePolicy({ algorithms: ALGS, keys: ALGS.map((a) => keys[a].jwk) });
if (DPOP) policy.routes = [{ path: "/dpop/*", dpop: "required" }];
// --origin: the API behind every Worker, on loopback in this process (not measured).
let originServer = null;
let ORIGIN;
if ("origin" in args) {
  originServer = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  await new Promise((resolve) => originServer.listen(0, "127.0.0.1", resolve));
  ORIGIN = `http://127.0.0.1:${originServer.address().port}`;
}
const originBinding = ORIGIN ? { ORIGIN } : {};
const edgeOptions = () => h.workerOptions({ policy, secret: null, origin: ORIGIN });
const edge = await start(edgeOptions());
const floor = await start({
  modules: true,
  scriptPath: path.join(here, "fixtures", "webcrypto-floor.mjs"),
  compatibilityDate: "2026-04-01",
  bindings: { KEYS: JSON.stringify(ALGS.map((a) => keys[a].jwk)), ...originBinding },
});
const jsGateway = await start({
  modules: true,
  scriptPath: path.join(here, "fixtures", "js-gateway.mjs"),
  compatibilityDate: "2026-04-01",
  bindings: { KEYS: JSON.stringify(ALGS.map((a) => keys[a].jwk)), ...originBinding },
});
// An older build (e.g. `git worktree add /tmp/old c33d743`, its scripts/build-worker.sh), copied
// so that a rebuild there cannot change it under the run.
let baseline = null;
if (args.baseline) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "edge-jwt-baseline-"));
  fs.cpSync(args.baseline, copy, { recursive: true });
  const options = edgeOptions();
  const main = options.workers[0];
  Object.assign(main, { scriptPath: path.join(copy, "shim.mjs"), modulesRoot: copy });
  baseline = await start(options);
}
const passThrough = await start({
  modules: true,
  script: ORIGIN
    ? `export default { fetch(request, env) { const url = new URL(request.url); return fetch(env.ORIGIN + url.pathname + url.search, request); } };`
    : `export default { fetch() { return Response.json({ ok: true }); } };`,
  compatibilityDate: "2026-04-01",
  bindings: originBinding,
});

const rows = [];
const dpopRows = [];
try {
  // Warm-up: every isolate and every key, outside measurement.
  for (const alg of ALGS) {
    const warm = Array.from({ length: 20 }, (_, i) => mint(alg, keys[alg], `warm-${i}`));
    await measure(edge, warm);
    await measure(floor, warm);
    await measure(jsGateway, warm);
    if (baseline) await measure(baseline, warm);
  }
  await measure(passThrough, ["x".repeat(20)]);
  if (DPOP) await measureDpop();
  for (const alg of ALGS) {
    const runs = { edge: [], floor: [], pass: [], edgeRepeated: [], baseline: [], baselineRepeated: [], js: [], jsRepeated: [] };
    for (let run = 0; run < RUNS; run++) {
      const distinct = Array.from({ length: TOKENS }, (_, i) => mint(alg, keys[alg], `${run}-${i}`));
      runs.edge.push(await measure(edge, distinct));
      if (baseline) runs.baseline.push(await measure(baseline, distinct));
      runs.floor.push(await measure(floor, distinct));
      runs.js.push(await measure(jsGateway, distinct));
      runs.pass.push(await measure(passThrough, distinct));
      const one = mint(alg, keys[alg], `repeat-${run}`);
      runs.edgeRepeated.push(await measure(edge, Array(REPEAT).fill(one)));
      runs.jsRepeated.push(await measure(jsGateway, Array(REPEAT).fill(one)));
      if (baseline) runs.baselineRepeated.push(await measure(baseline, Array(REPEAT).fill(one)));
    }
    const row = {
      alg,
      edge_ms: median(runs.edge),
      floor_ms: median(runs.floor),
      pass_ms: median(runs.pass),
      edge_repeated_ms: median(runs.edgeRepeated),
      js_ms: median(runs.js),
      js_repeated_ms: median(runs.jsRepeated),
      baseline_ms: baseline ? median(runs.baseline) : null,
      baseline_repeated_ms: baseline ? median(runs.baselineRepeated) : null,
    };
    row.edge_over_floor = row.edge_ms / row.floor_ms;
    row.repeated_over_pass = row.edge_repeated_ms / row.pass_ms;
    rows.push(row);
    console.error(JSON.stringify({ ...row, runs }));
  }
} finally {
  await Promise.all([edge.mf.dispose(), floor.mf.dispose(), jsGateway.mf.dispose(), passThrough.mf.dispose(), baseline?.mf.dispose()]);
  originServer?.close();
}

/** The DPoP rows: bearer vs DPoP-bound token with a fresh proof per request, per proof alg. */
async function measureDpop() {
  const { clientKey, makeProof, thumbprint } = await import("../tests/support/dpop.mjs");
  const alg = ALGS.includes("ES256") ? "ES256" : ALGS[0];
  const plain = mint(alg, keys[alg], "dpop-plain");
  for (const proofAlg of ["ES256", "EdDSA"]) {
    const client = clientKey(proofAlg);
    const bound = mintWith(alg, keys[alg], { sub: "dpop-client", cnf: { jkt: thumbprint(client.jwk) } });
    const runs = { bearer: [], dpop: [] };
    for (let run = 0; run < RUNS; run++) {
      const bearer = Array.from({ length: DPOP }, () => ({ path: "/api", headers: { authorization: `Bearer ${plain}` } }));
      const htu = "http://worker.test/dpop/orders";
      const proofs = Array.from({ length: DPOP }, () => ({
        path: "/dpop/orders",
        headers: { authorization: `DPoP ${bound}`, dpop: makeProof(client, { htu, accessToken: bound }) },
      }));
      runs.bearer.push(await measureRequests(edge, bearer));
      runs.dpop.push(await measureRequests(edge, proofs));
    }
    const row = { proof_alg: proofAlg, bearer_ms: median(runs.bearer), dpop_ms: median(runs.dpop) };
    row.added_ms = row.dpop_ms - row.bearer_ms;
    row.ratio = row.dpop_ms / row.bearer_ms;
    dpopRows.push(row);
    console.error(JSON.stringify({ ...row, runs }));
  }
}

const f = (x) => x.toFixed(3);
if (dpopRows.length) {
  console.log(`\nDPoP: CPU ms per request (workerd process), median of ${RUNS} runs of ${DPOP} requests; the token cached, a fresh proof each`);
  console.log("| proof alg | bearer (same Worker) | DPoP-bound + proof | added | ratio |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of dpopRows) console.log(`| ${r.proof_alg} | ${f(r.bearer_ms)} | ${f(r.dpop_ms)} | ${f(r.added_ms)} | ${r.ratio.toFixed(2)} |`);
}
console.log(`\nCPU ms per request (workerd process), median of ${RUNS} runs; ${TOKENS} distinct tokens, ${REPEAT} repeats${ORIGIN ? "; every Worker forwards to a loopback origin" : ""}`);
const b = (x) => (x === null ? "–" : f(x));
const ratio = (x, y) => (x === null ? "–" : (x / y).toFixed(2));
console.log("| alg | edge-jwt (distinct) | WebCrypto floor | ratio | baseline build | ratio | js gateway | ratio | edge-jwt (repeated token) | baseline (repeated) | js gateway (repeated) | pass-through | ratio | js gateway ratio |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(`| ${r.alg} | ${f(r.edge_ms)} | ${f(r.floor_ms)} | ${r.edge_over_floor.toFixed(2)} | ${b(r.baseline_ms)} | ${ratio(r.baseline_ms, r.floor_ms)} | ${f(r.js_ms)} | ${ratio(r.js_ms, r.floor_ms)} | ${f(r.edge_repeated_ms)} | ${b(r.baseline_repeated_ms)} | ${f(r.js_repeated_ms)} | ${f(r.pass_ms)} | ${r.repeated_over_pass.toFixed(2)} | ${ratio(r.js_repeated_ms, r.pass_ms)} |`);
}
if (args.out) fs.writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), origin: Boolean(ORIGIN), loadavg: fs.readFileSync("/proc/loadavg", "utf8").trim(), tokens: TOKENS, repeat: REPEAT, runs: RUNS, rows, dpop: dpopRows }, null, 2));
