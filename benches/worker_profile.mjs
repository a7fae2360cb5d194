// Where the Worker's CPU goes, from inside workerd: V8's sampling profiler through the
// isolate's inspector, while a batch of requests runs. Not part of the test suite; for finding
// hot spots (benches/worker_cpu.mjs gives the figures to quote: the profiler's own overhead
// inflates every time here roughly 2×, so read shares, not microseconds).
//
//   node benches/worker_profile.mjs [--build DIR] [--mode repeated|distinct] [--requests 4000]
//                                   [--interval-us 100] [--top 40] [--out F.cpuprofile] [--origin 1]
//
// --origin 1: the Worker forwards to a loopback origin (as worker_cpu.mjs --origin) instead of
// answering in development mode.
//
// DIR: a build with function names kept (the default build strips them), made by
//   scripts/build-worker.sh, then
//   wasm-bindgen --target web --no-typescript --keep-debug --out-dir DIR/pkg \
//     target/wasm32-unknown-unknown/wasm-release/edge_jwt.wasm
//   (and wasm-opt as the script runs it, with -g instead of --strip-debug).
// Prints self time per request by function, by kind (wasm, JS glue, runtime), and by the
// nearest edge_jwt function above each wasm sample. The .cpuprofile opens in Chrome DevTools.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import http from "node:http";
import WebSocket from "ws";
import { Miniflare, Log, LogLevel } from "miniflare";

import * as h from "../tests/worker/harness.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const dir = path.resolve(args.build ?? "build/worker");
const MODE = args.mode ?? "repeated";
const N = Number(args.requests ?? 4000);
const TOP = Number(args.top ?? 40);
const alg = "ES256";
const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = { ...publicKey.export({ format: "jwk" }), kid: "k", alg };
const b64 = (b) => Buffer.from(b).toString("base64url");
function mint(i) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: h.ISSUER, aud: h.AUDIENCE, track: 2, iat: now, exp: now + 3600, jti: crypto.randomUUID(), sub: `u-${i}` };
  const input = `${b64(JSON.stringify({ alg, kid: "k", typ: "JWT" }))}.${b64(JSON.stringify(claims))}`;
  return `${input}.${b64(crypto.sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }))}`;
}

let origin;
let originServer;
if (args.origin) {
  originServer = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
  });
  await new Promise((resolve) => originServer.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${originServer.address().port}`;
}
const options = h.workerOptions({ policy: h.basePolicy({ algorithms: [alg], keys: [jwk] }), secret: null, origin });
Object.assign(options.workers[0], { scriptPath: path.join(dir, "shim.mjs"), modulesRoot: dir });
const port = 9300 + Math.floor(Math.random() * 500);
const mf = new Miniflare({ log: new Log(LogLevel.WARN), cf: false, inspectorPort: port, ...options });
await mf.ready;
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const target = targets.find((t) => t.title?.endsWith("core:user:edge-jwt"));
if (!target) throw new Error(`no edge-jwt isolate among ${targets.map((t) => t.title)}`);
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve) => ws.on("open", resolve));
let nextId = 0;
const pending = new Map();
ws.on("message", (m) => {
  const msg = JSON.parse(m);
  pending.get(msg.id)?.(msg);
  pending.delete(msg.id);
});
const send = (method, params = {}) =>
  new Promise((resolve) => {
    const id = ++nextId;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });

const tokens = MODE === "repeated" ? Array(N).fill(mint(0)) : Array.from({ length: N }, (_, i) => mint(i));
const run = async (list) => {
  for (const token of list) {
    const res = await mf.dispatchFetch("http://worker.test/api", { headers: { authorization: `Bearer ${token}` } });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`status ${res.status}: ${body}`);
  }
};
await run(tokens.slice(0, 200)); // warm-up: tier-up, key import, snapshot
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: Number(args["interval-us"] ?? 100) });
await send("Profiler.start");
await run(tokens);
const { result } = await send("Profiler.stop");
ws.close();
await mf.dispose();
originServer?.close();
const profile = result.profile;
if (args.out) fs.writeFileSync(args.out, JSON.stringify(profile));

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => n.callFrame.functionName.replace(/::h[0-9a-f]{16}/, "").replace(/\[[0-9a-f]+\]/g, "") || `(anonymous ${n.callFrame.url.split("/").pop()})`;
const kind = (n) => {
  const url = n.callFrame.url ?? "";
  if (url.includes(".wasm")) return "wasm";
  if (url.includes("edge_jwt.js")) return "wasm-bindgen JS glue";
  if (url.includes("snippets") || url.includes("inline")) return "inline JS";
  if (url.includes("shim")) return "shim";
  return n.callFrame.functionName.startsWith("(") ? n.callFrame.functionName : "runtime";
};
const bySelf = new Map();
const byKind = new Map();
const byRust = new Map();
let busy = 0;
// The first sample's delta spans the time before the profiler started: left out.
profile.samples.forEach((id, i) => {
  const n = nodes.get(id);
  const dt = profile.timeDeltas[i];
  if (i === 0 || n.callFrame.functionName === "(idle)") return;
  busy += dt;
  const add = (map, key) => map.set(key, (map.get(key) ?? 0) + dt);
  add(bySelf, name(n));
  add(byKind, kind(n));
  if (kind(n) === "wasm") {
    let up = n;
    while (up && !name(up).includes("edge_jwt::")) up = nodes.get(parent.get(up.id));
    add(byRust, up ? name(up) : "(outside edge_jwt)");
  }
});
const table = (title, map, rows) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`${(v / N).toFixed(1).padStart(8)} µs ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k.slice(0, 150)}`);
  }
};
console.log(`${MODE}: ${N} requests, busy ${(busy / N).toFixed(0)} µs/request (profiler overhead included)`);
table("by kind", byKind, 10);
table("wasm, by the nearest edge_jwt function", byRust, TOP);
table("self time by function", bySelf, TOP);
