#!/usr/bin/env node
// The npm package's size and cold start in Node: `node benches/npm/cold-start.mjs [--runs 10]`.
//
// - wasm size: js/dist/edge_jwt_bg.wasm raw and gzip -9 (what a CDN or a Worker upload carries);
//   and the Node ESM entry (js/dist/node.mjs) raw and gzip.
// - cold instantiation: RUNS fresh `node --input-type=module -e` processes, each timing (with
//   performance.now()) the import of js/dist/node.mjs, then `new Validator(config)` (the first use,
//   which reads, compiles and instantiates the wasm module synchronously), then the first
//   `verifySync` of an HS256 token. Medians (and min/max) over the runs. The process's own start-up
//   (node itself, before the script runs) is not included.
//
// Prints a JSON object and a markdown table; `--out FILE` writes the JSON too. EDGE_JWT_DIST
// points at another copy of js/dist/.

import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import zlib from "node:zlib";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = process.env.EDGE_JWT_DIST ? path.resolve(process.env.EDGE_JWT_DIST) : path.join(ROOT, "js/dist");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const RUNS = Number(arg("--runs", "10"));
const OUT = arg("--out");

function size(file) {
  const bytes = fs.readFileSync(file);
  return { raw: bytes.length, gzip: zlib.gzipSync(bytes, { level: 9 }).length };
}

const wasm = size(path.join(DIST, "edge_jwt_bg.wasm"));
const entry = size(path.join(DIST, "node.mjs"));

// One HS256 token to verify on first use (valid until 2100).
const secret = "cold-start-secret-0123456789abcdef";
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "a", iat: 1700000000, exp: 4102444800, jti: "j1", track: 1 })}`;
const token = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
const config = { algorithms: ["HS256"], secret, tracks: { ttl_s: { 1: 4102444800 } }, required_claims: ["exp", "jti"] };

const script = `
const t0 = performance.now();
const { Validator } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, "node.mjs")).href)});
const t1 = performance.now();
const v = new Validator(${JSON.stringify(config)});
const t2 = performance.now();
const r = v.verifySync(${JSON.stringify(token)});
const t3 = performance.now();
if (!r.ok) throw new Error(JSON.stringify(r.error));
console.log(JSON.stringify({ importMs: t1 - t0, validatorMs: t2 - t1, coldMs: t2 - t0, firstVerifyMs: t3 - t2, totalMs: t3 - t0 }));
`;

const runs = [];
for (let i = 0; i < RUNS; i++) {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`run ${i} failed: ${r.stderr}`);
  runs.push(JSON.parse(r.stdout));
}

const stats = (key) => {
  const xs = runs.map((r) => r[key]).sort((a, b) => a - b);
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median: +median.toFixed(2), min: +xs[0].toFixed(2), max: +xs.at(-1).toFixed(2) };
};
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: `${os.cpus()[0]?.model} × ${os.cpus().length}`,
  loadavg: os.loadavg().map((x) => +x.toFixed(2)),
  wasm,
  nodeEntry: entry,
  runs: RUNS,
  coldMs: {
    import: stats("importMs"),
    newValidator: stats("validatorMs"),
    importAndNewValidator: stats("coldMs"),
    firstVerify: stats("firstVerifyMs"),
    total: stats("totalMs"),
  },
};

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(JSON.stringify(result, null, 2));
console.log(`
| what | value |
|---|--:|
| wasm raw | ${result.wasm.raw} B (${kib(result.wasm.raw)}) |
| wasm gzip -9 | ${result.wasm.gzip} B (${kib(result.wasm.gzip)}) |
| dist/node.mjs raw / gzip | ${kib(result.nodeEntry.raw)} / ${kib(result.nodeEntry.gzip)} |
| cold: import (median of ${RUNS}) | ${result.coldMs.import.median} ms |
| cold: first new Validator (read + compile + instantiate wasm) | ${result.coldMs.newValidator.median} ms (min ${result.coldMs.newValidator.min}, max ${result.coldMs.newValidator.max}) |
| **cold: import + new Validator** | **${result.coldMs.importAndNewValidator.median} ms** (min ${result.coldMs.importAndNewValidator.min}, max ${result.coldMs.importAndNewValidator.max}) |
| cold: first verifySync | ${result.coldMs.firstVerify.median} ms |
| cold: import + new Validator + first verify | ${result.coldMs.total.median} ms (min ${result.coldMs.total.min}, max ${result.coldMs.total.max}) |

load average ${result.loadavg.join(" ")}`);
if (OUT) fs.writeFileSync(OUT, JSON.stringify(result, null, 2));
