#!/usr/bin/env node
// Size and cold start of the built package (js/dist/), for the README and the benchmark:
// - the wasm module's size, raw and gzip -9;
// - cold instantiation in Node: N fresh processes each import the Node entry, create the first
//   Validator (which compiles and instantiates the wasm synchronously) and verify one token;
//   medians of each step are printed (milliseconds).
//
// Usage: node js/scripts/measure.mjs [--runs 9] [--json]

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(JS, "dist");
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1] || 9) || 9;

const wasm = fs.readFileSync(path.join(DIST, "edge_jwt_bg.wasm"));
const size = { raw: wasm.length, gzip: zlib.gzipSync(wasm, { level: 9 }).length };

// One fresh process: the timings of its first use of the package.
const probe = `
const t0 = performance.now();
const E = await import(${JSON.stringify(path.join(DIST, "node.mjs"))});
const t1 = performance.now();
const config = { algorithms: ["HS256"], secret: "a-32-byte-or-longer-hmac-secret!!" };
const v = new E.Validator(config);
const t2 = performance.now();
const token = E.issue(config, { sub: "cold", track: 4 }).token;
const t3 = performance.now();
const r = v.verifySync(token);
const t4 = performance.now();
if (!r.ok) throw new Error("verify failed");
console.log(JSON.stringify({ import: t1 - t0, instantiate: t2 - t1, firstVerify: t4 - t3, total: t2 - t0 + (t4 - t3) }));
`;

const samples = [];
for (let i = 0; i < runs; i++) {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  samples.push(JSON.parse(r.stdout));
}
const median = (key) => {
  const sorted = samples.map((s) => s[key]).sort((a, b) => a - b);
  return Number(sorted[sorted.length >> 1].toFixed(2));
};
const result = {
  wasm: size,
  node: process.version,
  runs,
  coldStartMs: { import: median("import"), instantiate: median("instantiate"), firstVerify: median("firstVerify"), total: median("total") },
};
if (args.includes("--json")) {
  console.log(JSON.stringify(result));
} else {
  console.log(`wasm: ${size.raw} bytes raw (${(size.raw / 1024).toFixed(1)} KiB), ${size.gzip} bytes gzip -9 (${(size.gzip / 1024).toFixed(1)} KiB)`);
  const c = result.coldStartMs;
  console.log(
    `cold start in Node ${process.version}, median of ${runs} fresh processes: import ${c.import} ms, ` +
      `first Validator (compile + instantiate) ${c.instantiate} ms, first verify ${c.firstVerify} ms, total ${c.total} ms`,
  );
}
