// Cold start of the BUILT Worker: from a fresh workerd (Miniflare from npm) with the bundle to
// the first successful gateway response, median of --runs, this build against --baseline DIR
// (another build/worker, e.g. one built from `git archive 506af44`) in the same run.
//
//   node benches/worker_coldstart.mjs [--runs 9] [--alg RS256] [--baseline DIR] [--build DIR]
//
// Per run and per build, interleaved:
//   ready   `new Miniflare(…)` until `mf.ready`: workerd starts, loads the script, compiles the
//           wasm module (a CompiledWasm module rule, as wrangler uploads it);
//   first   the first request: the isolate evaluates the shim (wasm instantiation, `initSync`),
//           reads the environment into the policy (State::from_env), imports the key into
//           WebCrypto and verifies one token — the Worker's first-request latency;
//   total   both.
// And, since workerd's clock does not advance while a script runs (no timing from inside), the
// wasm alone in Node's V8 (the engine workerd embeds): `WebAssembly.compile` of the module and
// `initSync` (instantiation) with the wasm-bindgen glue, each in a fresh node process.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Miniflare, Log, LogLevel } from "miniflare";

import * as h from "../tests/worker/harness.mjs";


const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const RUNS = Number(args.runs ?? 9);
const ALG = args.alg ?? "RS256";
const b64 = (buf) => Buffer.from(buf).toString("base64url");
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function keyPair(alg) {
  const curve = { ES256: "P-256", ES384: "P-384" }[alg];
  const { privateKey, publicKey } = curve
    ? crypto.generateKeyPairSync("ec", { namedCurve: curve })
    : alg === "EdDSA"
      ? crypto.generateKeyPairSync("ed25519")
      : crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid: `k-${alg}`, alg } };
}

function mint(alg, key) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg, kid: `k-${alg}`, typ: "JWT" }));
  const claims = { iss: h.ISSUER, aud: h.AUDIENCE, sub: "cold", track: 2, iat: now, exp: now + 3600, jti: crypto.randomUUID() };
  const input = `${header}.${b64(JSON.stringify(claims))}`;
  const sig =
    alg === "EdDSA"
      ? crypto.sign(null, Buffer.from(input), key.privateKey)
      : alg.startsWith("ES")
        ? crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" })
        : crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), key.privateKey);
  return `${input}.${b64(sig)}`;
}

const key = keyPair(ALG);
const policy = h.basePolicy({ algorithms: [ALG], keys: [key.jwk] });

/** A private copy of a build directory (a rebuild meanwhile cannot change it). */
function copyOf(dir) {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "edge-jwt-coldstart-"));
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}

const builds = [["this build", args.build ? copyOf(args.build) : path.dirname(h.ensureBuilt())]];
if (args.baseline) builds.push(["baseline", copyOf(args.baseline)]);

function options(dir) {
  const o = h.workerOptions({ policy, secret: null });
  Object.assign(o.workers[0], { scriptPath: path.join(dir, "shim.mjs"), modulesRoot: dir });
  return o;
}

async function coldStart(dir) {
  const t0 = performance.now();
  const mf = new Miniflare({ log: new Log(LogLevel.WARN), cf: false, ...options(dir) });
  await mf.ready;
  const t1 = performance.now();
  const res = await mf.dispatchFetch("http://worker.test/api", { headers: { authorization: `Bearer ${mint(ALG, key)}` } });
  const body = await res.text();
  const t2 = performance.now();
  await mf.dispose();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${body}`);
  return { ready: t1 - t0, first: t2 - t1, total: t2 - t0 };
}

// The wasm alone, in a fresh node process each time (V8 caches compiled modules per process).
const V8_PROBE = `
const [wasm, glue] = process.argv.slice(1);
const bytes = require("node:fs").readFileSync(wasm);
(async () => {
  const { initSync } = await import(require("node:url").pathToFileURL(glue).href);
  const t0 = performance.now();
  const module = await WebAssembly.compile(bytes);
  const t1 = performance.now();
  initSync({ module });
  const t2 = performance.now();
  console.log(JSON.stringify({ compile: t1 - t0, instantiate: t2 - t1 }));
})();`;

function wasmAlone(dir) {
  const out = execFileSync(process.execPath, ["-e", V8_PROBE, path.join(dir, "pkg/edge_jwt_bg.wasm"), path.join(dir, "pkg/edge_jwt.js")]);
  return JSON.parse(out.toString());
}

const results = Object.fromEntries(builds.map(([name]) => [name, []]));
await coldStart(builds[0][1]); // warm the disk cache and Miniflare's own start-up, unmeasured
for (let run = 0; run < RUNS; run++) {
  for (const [name, dir] of run % 2 ? [...builds].reverse() : builds) {
    results[name].push({ ...(await coldStart(dir)), ...wasmAlone(dir) });
  }
}

const gzip = (file) => Number(execFileSync("sh", ["-c", `gzip -9c '${file}' | wc -c`]).toString().trim());
const rows = builds.map(([name, dir]) => {
  const runs = results[name];
  const wasm = path.join(dir, "pkg/edge_jwt_bg.wasm");
  const pick = (field) => Number(median(runs.map((r) => r[field])).toFixed(1));
  return {
    build: name,
    wasm_bytes: fs.statSync(wasm).size,
    wasm_gzip: gzip(wasm),
    ready_ms: pick("ready"),
    first_request_ms: pick("first"),
    total_ms: pick("total"),
    v8_compile_ms: pick("compile"),
    v8_instantiate_ms: pick("instantiate"),
  };
});
console.log(`cold start, ${ALG}, median of ${RUNS} runs (${os.cpus().length} cores, node ${process.version})`);
console.table(rows);
if (args.out) fs.writeFileSync(args.out, JSON.stringify({ alg: ALG, runs: RUNS, rows, results }, null, 2));

