#!/usr/bin/env node
// edge-jwt's browser build against panva/jose in the same page of headless Chromium: ES256,
// RS256 (2048) and EdDSA tokens verified one after another (`await`), 1000 distinct tokens per
// algorithm, median of interleaved rounds. Rows:
//   edge-jwt verify()            — the package's default in browsers: the core parses, chooses
//                                  the key and checks every claim; WebCrypto checks the signature
//   edge-jwt verify() (wasm)     — `nativeCrypto: false`: the signature in WebAssembly too
//   edge-jwt verifySync() (wasm) — the synchronous call (always WebAssembly)
//   jose jwtVerify()             — jose 6 (WebCrypto), the key imported once (`importJWK`)
//   crypto.subtle.verify() alone — the floor: the signature check of each token on its own
//                                  (signatures and signing inputs decoded beforehand)
// Both sides cache no verified token (`tokenCache: 0`; jose has none). The page is served on
// loopback (a secure context, so `crypto.subtle` is there) by this script, with js/dist/ at
// /dist/ and jose's browser build at /jose/.
//
// Needs: js/dist/ (node js/scripts/build.mjs), Debian's /usr/bin/chromium, playwright-core
// (npm ci in tests/page/) and jose (npm ci in tests/interop/).
// Usage: node benches/npm/browser-webcrypto.mjs [--tokens 1000] [--rounds 7] [--algs ES256,RS256,EdDSA]
//        [--skip-wasm] (leaves out the two WebAssembly rows, the slow ones, for more rounds)

import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = path.join(ROOT, "js/dist");
const JOSE = path.join(ROOT, "tests/interop/node_modules/jose");
const CHROMIUM = "/usr/bin/chromium";

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const TOKENS = Number(option("--tokens", "1000"));
const ROUNDS = Number(option("--rounds", "7"));
const ALGS = option("--algs", "ES256,RS256,EdDSA").split(",");
const SKIP_WASM = process.argv.includes("--skip-wasm");

for (const [file, hint] of [
  [path.join(DIST, "browser.mjs"), "build the package: node js/scripts/build.mjs"],
  [path.join(JOSE, "dist/webapi/index.js"), "npm ci in tests/interop/"],
  [path.join(ROOT, "tests/page/node_modules/playwright-core"), "npm ci in tests/page/"],
  [CHROMIUM, "apt-get install chromium"],
]) {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: ${hint}`);
}
const { chromium } = createRequire(path.join(ROOT, "tests/page/package.json"))("playwright-core");
const joseVersion = JSON.parse(fs.readFileSync(path.join(JOSE, "package.json"), "utf8")).version;

// ---------------------------------------------------------------------------------------------
// Fixtures (node:crypto): per algorithm one key pair and TOKENS distinct tokens.

const b64url = (data) => Buffer.from(data).toString("base64url");

function fixtures(alg) {
  const { publicKey, privateKey } =
    alg === "ES256"
      ? crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
      : alg === "EdDSA"
        ? crypto.generateKeyPairSync("ed25519")
        : crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: "jwk" }), kid: "bench", alg, use: "sig" };
  const header = b64url(JSON.stringify({ alg, kid: "bench", typ: "JWT" }));
  const now = Math.floor(Date.now() / 1000);
  const tokens = [];
  for (let i = 0; i < TOKENS; i++) {
    const claims = { sub: `user-${i}`, iat: now, exp: now + 3600, jti: crypto.randomUUID(), track: 2 };
    const input = `${header}.${b64url(JSON.stringify(claims))}`;
    const data = Buffer.from(input);
    const signature =
      alg === "EdDSA"
        ? crypto.sign(null, data, privateKey)
        : alg === "ES256"
          ? crypto.sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" })
          : crypto.sign("sha256", data, privateKey);
    tokens.push(`${input}.${b64url(signature)}`);
  }
  return { alg, jwk, tokens };
}

// ---------------------------------------------------------------------------------------------
// The page: runs in Chromium, returns per row the median µs per token.

const PAGE = `<!doctype html><meta charset="utf-8"><title>edge-jwt vs jose</title>
<script type="module">
import * as E from "/dist/browser.mjs";
import * as jose from "/jose/dist/webapi/index.js";
await E.init();
const PARAMS = {
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
};
const bytes = (b64) => Uint8Array.from(atob(b64.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
window.bench = async ({ alg, jwk, tokens }, rounds, skipWasm) => {
  const config = { algorithms: [alg], keys: { keys: [jwk] } };
  const web = new E.Validator(config, { tokenCache: 0 });
  const wasm = new E.Validator(config, { tokenCache: 0, nativeCrypto: false });
  const key = await jose.importJWK(jwk, alg);
  const { alg: _a, use: _u, kid: _k, ...bare } = jwk;
  const subtleKey = await crypto.subtle.importKey("jwk", bare, PARAMS[alg][0], false, ["verify"]);
  const decoded = new Map(tokens.map((t) => [t, [new TextEncoder().encode(t.slice(0, t.lastIndexOf("."))), bytes(t.slice(t.lastIndexOf(".") + 1))]]));
  const rows = {
    "edge-jwt verify()": async (t) => { if (!(await web.verify(t)).ok) throw new Error("edge-jwt refused"); },
    "jose jwtVerify()": async (t) => { await jose.jwtVerify(t, key, { algorithms: [alg] }); },
    "crypto.subtle.verify()": async (t) => {
      const [data, signature] = decoded.get(t);
      if (!(await crypto.subtle.verify(PARAMS[alg][1], subtleKey, signature, data))) throw new Error("refused");
    },
  };
  if (!skipWasm) {
    rows["edge-jwt verify() (wasm)"] = async (t) => { if (!(await wasm.verify(t)).ok) throw new Error("edge-jwt refused"); };
    rows["edge-jwt verifySync() (wasm)"] = async (t) => { if (!web.verifySync(t).ok) throw new Error("edge-jwt refused"); };
  }
  const times = Object.fromEntries(Object.keys(rows).map((name) => [name, []]));
  const calls = Object.fromEntries(Object.keys(rows).map((name) => [name, []]));
  // Warm-up: every row over every token once (JIT, key imports), then interleaved rounds. Each
  // call is timed too (the page is cross-origin isolated: 5 µs timer resolution), for a
  // per-call median that a burst of load on a shared machine moves less than a round's mean.
  for (const run of Object.values(rows)) for (const t of tokens) await run(t);
  for (let round = 0; round < rounds; round++) {
    const order = Object.entries(rows);
    if (round % 2) order.reverse();
    for (const [name, run] of order) {
      const samples = calls[name];
      const start = performance.now();
      for (const t of tokens) {
        const t0 = performance.now();
        await run(t);
        samples.push(performance.now() - t0);
      }
      times[name].push(((performance.now() - start) * 1000) / tokens.length);
    }
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  const each = (f) => Object.fromEntries(Object.keys(rows).map((name) => [name, f(name)]));
  return {
    medians: each((name) => median(times[name])),
    spread: each((name) => [Math.min(...times[name]), Math.max(...times[name])]),
    perCall: each((name) => median(calls[name]) * 1000),
    signatures: web.stats().signatures,
    isolated: crossOriginIsolated,
  };
};
document.body.dataset.ready = "true";
</script><body></body>`;

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm" };
const server = http.createServer((req, res) => {
  const pathname = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
  // Cross-origin isolated (a finer performance.now()); every resource is same-origin.
  const isolation = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" };
  if (pathname === "/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...isolation });
    return res.end(PAGE);
  }
  const [, top, ...rest] = pathname.split("/");
  const root = { dist: DIST, jose: JOSE }[top];
  const file = root && path.resolve(root, ...rest);
  if (!file || !file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", ...isolation });
  fs.createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "edge-jwt-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.waitForSelector("body[data-ready=true]", { state: "attached", timeout: 20_000 });
  const chromiumVersion = context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
  const wasm = fs.readFileSync(path.join(DIST, "edge_jwt_bg.wasm"));
  const sha = crypto.createHash("sha256").update(wasm).digest("hex").slice(0, 12);
  console.log(`Chromium ${chromiumVersion}, jose ${joseVersion}, edge-jwt wasm sha256 ${sha}…; ${TOKENS} distinct tokens per algorithm, median of ${ROUNDS} interleaved rounds`);
  console.log(`load average before: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log("");
  const wasmColumns = SKIP_WASM ? [] : ["edge-jwt verify() (wasm)", "edge-jwt verifySync() (wasm)"];
  console.log("Per row: mean µs per token, median of the rounds (min–max of the rounds) / median µs per call.");
  console.log("");
  console.log(`| alg | edge-jwt verify() (WebCrypto) | jose jwtVerify() | ratio (rounds / calls) | crypto.subtle.verify() alone |${wasmColumns.map((c) => ` ${c} |`).join("")}`);
  console.log(`|---|---|---|---|---|${wasmColumns.map(() => "---|").join("")}`);
  for (const alg of ALGS) {
    const { medians, spread, perCall, signatures, isolated } = await page.evaluate(([fx, rounds, skip]) => window.bench(fx, rounds, skip), [fixtures(alg), ROUNDS, SKIP_WASM]);
    if (signatures.host === 0) throw new Error(`${alg}: no signature went to WebCrypto`);
    if (!isolated) throw new Error("the page is not cross-origin isolated");
    const us = (name) => `${medians[name].toFixed(1)} (${spread[name].map((x) => x.toFixed(0)).join("–")}) / ${perCall[name].toFixed(0)}`;
    const edge = "edge-jwt verify()";
    const jose = "jose jwtVerify()";
    const ratios = `${(medians[edge] / medians[jose]).toFixed(2)}× / ${(perCall[edge] / perCall[jose]).toFixed(2)}×`;
    console.log(`| ${alg} | ${us(edge)} | ${us(jose)} | ${ratios} | ${us("crypto.subtle.verify()")} |${wasmColumns.map((c) => ` ${us(c)} |`).join("")}`);
  }
  console.log("");
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
} finally {
  await context.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
