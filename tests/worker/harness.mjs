// Shared helpers for the Worker integration tests (tests/worker/*.test.mjs) and the load test
// (benches/worker_load.mjs): the BUILT Worker (build/worker/shim.mjs + pkg/) runs inside real
// workerd through Miniflare, with a real (in-memory) KV namespace; tokens are minted by the real
// CLI (target/debug/edge-jwt); a loopback Node HTTP origin records what the Worker forwards.
//
// Building: `ensureBuilt()` rebuilds what is stale, once per machine at a time (a lock directory
// keeps parallel test files from building together):
//   - the Worker (`bash scripts/build-worker.sh`) when build/worker/pkg/edge_jwt_bg.wasm is
//     missing or older than anything under src/ (src/bin/ excluded), worker/, Cargo.toml,
//     Cargo.lock or the build script;
//   - the CLI (`cargo build --bin edge-jwt`) when target/debug/edge-jwt is missing or older
//     than src/ (src/worker/ excluded) or Cargo.toml/Cargo.lock.
// Set EDGE_JWT_NO_BUILD=1 to never build (then a missing artefact is an error, a stale one a
// warning). Each process then runs a private copy of build/worker (see ensureBuilt). Nothing
// here needs the internet.

import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

import { Log, LogLevel, Miniflare } from "miniflare";

import { jsonOrText } from "../support/body.mjs";
import { runCli, tempFiles } from "../support/cli.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BUILD_DIR = path.join(ROOT, "build/worker");
export const WASM = path.join(BUILD_DIR, "pkg/edge_jwt_bg.wasm");
export const SHIM = path.join(BUILD_DIR, "shim.mjs");
export const CLI = path.join(ROOT, "target/debug/edge-jwt");
/** Same as wrangler.toml. */
export const COMPATIBILITY_DATE = "2026-04-01";

/** A 36-byte HMAC secret (HS256 needs at least 32). */
export const SECRET = "worker-tests-hmac-secret-0123456789ab";
export const ADMIN_TOKEN = "admin-token-for-worker-tests-0123";
/** The revocation snapshot's MAC key the tests' authority and isolates share. */
export const SNAPSHOT_KEY = "snapshot-key-for-worker-tests-0123456789";
export const ISSUER = "https://issuer.test";
export const AUDIENCE = "api.test";
export const LEEWAY_S = 30;

export const now = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// Build freshness

function newestMtime(target, skip = () => false) {
  let newest = 0;
  const walk = (p) => {
    if (skip(p)) return;
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  walk(target);
  return newest;
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

function workerStale() {
  const binDir = path.join(ROOT, "src/bin"); // the CLI is not part of the Worker
  const inputs = Math.max(
    ...["src", "worker", "Cargo.toml", "Cargo.lock", "scripts/build-worker.sh"].map((p) =>
      newestMtime(path.join(ROOT, p), (q) => q === binDir),
    ),
  );
  const built = Math.min(mtime(WASM), mtime(SHIM));
  return { missing: built < 0, stale: built < inputs };
}

// cargo leaves the binary untouched when a changed source does not affect it, so a successful
// `cargo build` records the sources' newest mtime here and counts as up to date for them.
const CLI_STAMP = path.join(os.tmpdir(), `edge-jwt-worker-tests-cli-${crypto.createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}.stamp`);

function cliInputs() {
  const workerDir = path.join(ROOT, "src/worker");
  return Math.max(
    newestMtime(path.join(ROOT, "src"), (p) => p === workerDir),
    newestMtime(path.join(ROOT, "Cargo.toml")),
    newestMtime(path.join(ROOT, "Cargo.lock")),
  );
}

function cliStale() {
  const inputs = cliInputs();
  const built = mtime(CLI);
  let stamped = -1;
  try {
    const stamp = JSON.parse(fs.readFileSync(CLI_STAMP, "utf8"));
    if (stamp.binary === built) stamped = stamp.inputs;
  } catch {
    // no stamp yet
  }
  return { missing: built < 0, stale: built < inputs && stamped < inputs };
}

function buildCli() {
  const inputs = cliInputs();
  run("cargo", ["build", "--bin", "edge-jwt"]);
  fs.writeFileSync(CLI_STAMP, JSON.stringify({ inputs, binary: mtime(CLI) }));
}

function withBuildLock(fn) {
  const lock = path.join(os.tmpdir(), "edge-jwt-worker-tests.build.lock");
  const deadline = Date.now() + 15 * 60 * 1000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      // A lock older than 20 minutes belongs to a build that died.
      if (Date.now() - mtime(lock) > 20 * 60 * 1000) fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function run(cmd, args) {
  process.stderr.write(`[worker tests] ${cmd} ${args.join(" ")}\n`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status})`);
}

let built = false;
let snapshot;
/**
 * Builds the Worker and the CLI if they are missing or older than their sources, then copies
 * build/worker into this process's temporary directory, so that a rebuild running meanwhile
 * (scripts/build-worker.sh starts with `rm -rf build/worker`) cannot pull the files from under
 * a running test. Returns the path of the copied shim.
 */
export function ensureBuilt() {
  if (!built) buildIfStale();
  built = true;
  if (!snapshot) snapshot = snapshotBuild();
  return snapshot;
}

function snapshotBuild() {
  const dest = path.join(tempDir(), "worker-build");
  const deadline = Date.now() + 5 * 60 * 1000;
  for (;;) {
    try {
      fs.rmSync(dest, { recursive: true, force: true });
      fs.cpSync(BUILD_DIR, dest, { recursive: true });
      const shim = path.join(dest, "shim.mjs");
      if (fs.existsSync(shim) && fs.statSync(path.join(dest, "pkg/edge_jwt_bg.wasm")).size > 0 && fs.existsSync(path.join(dest, "pkg/edge_jwt.js"))) {
        return shim;
      }
    } catch {
      // a build is replacing build/worker right now
    }
    if (Date.now() > deadline) throw new Error(`${BUILD_DIR} stayed incomplete; run bash scripts/build-worker.sh`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
}

function buildIfStale() {
  const noBuild = process.env.EDGE_JWT_NO_BUILD === "1";
  for (const [what, check, build] of [
    ["Worker (build/worker)", workerStale, () => run("bash", ["scripts/build-worker.sh"])],
    ["CLI (target/debug/edge-jwt)", cliStale, buildCli],
  ]) {
    let state = check();
    if (!state.stale) continue;
    if (noBuild) {
      if (state.missing) throw new Error(`${what} is missing and EDGE_JWT_NO_BUILD=1`);
      process.stderr.write(`[worker tests] warning: ${what} is older than its sources\n`);
      continue;
    }
    withBuildLock(() => {
      state = check(); // another process may have built it meanwhile
      if (state.stale) build();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Temporary files, CLI

export const { tempDir, writeTemp } = tempFiles("worker");

/** Runs the CLI (built first if stale); returns {status, json, stdout, stderr}. */
export function cli(args) {
  ensureBuilt();
  return runCli(CLI, args, { cwd: ROOT });
}

/**
 * Mints a token with `edge-jwt issue`. `config` is the policy object (its `secret` signs HS*
 * tokens) or a path; `key` a private JWK object for asymmetric tokens.
 */
export function issue({ config, key, alg, sub = "alice", track = "4", ttl, claims = {}, at }) {
  const args = ["issue", "--config", typeof config === "string" ? config : writeTemp("policy.json", config)];
  if (key) args.push("--key", writeTemp("key.json", key));
  if (alg) args.push("--alg", alg);
  args.push("--sub", sub, "--track", String(track));
  if (ttl) args.push("--ttl", ttl);
  for (const [k, v] of Object.entries(claims)) args.push("--claim", `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  if (at !== undefined) args.push("--now", String(at));
  const r = cli(args);
  if (r.status !== 0) throw new Error(`edge-jwt issue failed: ${r.stdout}${r.stderr}`);
  return r.json;
}

/** `edge-jwt keygen`: {private_jwk, jwks}. */
export function keygen(alg, kid) {
  const args = ["keygen", "--alg", alg];
  if (kid) args.push("--kid", kid);
  const r = cli(args);
  if (r.status !== 0) throw new Error(`edge-jwt keygen failed: ${r.stdout}${r.stderr}`);
  return r.json;
}

/** The core's verdict on a token (`edge-jwt verify`), for parity checks with the Worker. */
export function cliVerify(config, token, at) {
  const args = ["verify", "--config", typeof config === "string" ? config : writeTemp("policy.json", config)];
  if (at !== undefined) args.push("--now", String(at));
  args.push(token);
  return cli(args).json;
}

// ---------------------------------------------------------------------------------------------
// Hand-made tokens (for rejections the CLI cannot mint on purpose)

export const b64url = (data) => Buffer.from(data).toString("base64url");
export const b64json = (value) => b64url(JSON.stringify(value));

/** An HMAC-signed compact JWS from raw header/payload segments (strings, already encoded). */
export function signSegments(headerB64, payloadB64, secret = SECRET, hash = "sha256") {
  const input = `${headerB64}.${payloadB64}`;
  return `${input}.${crypto.createHmac(hash, secret).update(input).digest("base64url")}`;
}

/** An HMAC-signed JWT from header and claims objects. */
export function signHmac(header, claims, secret = SECRET) {
  const hash = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[header.alg] ?? "sha256";
  return signSegments(b64json(header), b64json(claims), secret, hash);
}

/** Claims as the CLI would mint them under the standard test policy, overridable. */
export function standardClaims(overrides = {}) {
  const t = now();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: "alice",
    track: 4,
    iat: t,
    exp: t + 600,
    jti: crypto.randomBytes(16).toString("hex"),
    ...overrides,
  };
}

/** Decodes a compact JWS without verifying it. */
export function decodeJwt(token) {
  const [h, p] = token.split(".");
  return {
    header: JSON.parse(Buffer.from(h, "base64url").toString("utf8")),
    claims: JSON.parse(Buffer.from(p, "base64url").toString("utf8")),
  };
}

// ---------------------------------------------------------------------------------------------
// Loopback origin

/**
 * A Node HTTP server on 127.0.0.1 that records every request ({method, url, headers, body}) and
 * answers 200 JSON `{"origin":"ok"}`, unless `respond(req, res)` answers first (returns true).
 * `quiet` skips recording (load test).
 */
export async function startOrigin({ quiet = false, respond } = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      if (!quiet) {
        requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      }
      if (respond?.(req, res)) return;
      const body = '{"origin":"ok"}';
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-from-origin": "1" });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The Worker under Miniflare

/** A REVOCATIONS stand-in for fail-closed tests: every method fails (`throw`: the promise
 * rejects; `sync-throw`: the call itself throws) or never settles (`hang`). */
const BROKEN_KV_SCRIPT = `
export default function (env) {
  const fail = () => {
    if (env.MODE === "hang") return new Promise(() => {});
    if (env.MODE === "sync-throw") throw new Error("KV is down (sync)");
    return Promise.reject(new Error("KV is down"));
  };
  return { get: fail, getWithMetadata: fail, put: fail, list: fail, delete: fail };
}
`;

/** An Analytics Engine dataset that prints every data point as one log line. */
const METRICS_RECORDER_SCRIPT = `
export default function () {
  return {
    writeDataPoint(point) {
      console.log(JSON.stringify({ event: "test_metrics_point", ...point }));
    },
  };
}
`;

/** A revocation authority that cannot answer (503 to every call). */
const BROKEN_AUTHORITY_SCRIPT = `
export class BrokenAuthority {
  fetch() { return new Response("authority unavailable", { status: 503 }); }
}
export default { fetch() { return new Response("", { status: 404 }); } };
`;

/**
 * Miniflare options for the built Worker.
 * - `policy`: POLICY object (or raw string) — required unless `bindings.POLICY` is given;
 * - `secret`: JWT_SECRET (default SECRET; null for none); `jwks`, `signingKey`: objects;
 * - `admin`: ADMIN_TOKEN (default ADMIN_TOKEN; null for none); `origin`: ORIGIN;
 * - `kv`: "kv" (real namespace, default), "none" (no binding), "throw" | "sync-throw" | "hang";
 * - `authority`: bind the revocation authority (Durable Object) as wrangler.toml does (default
 *   true; false: the Worker writes KV itself);
 * - `instances`: how many Worker instances (separate isolates) share the KV namespace and the
 *   authority (default 1); `perInstance`: {n: {policy?, authority?: "broken"}} for instance n;
 * - `metrics`: bind METRICS to Miniflare's Analytics Engine ("miniflare") or to a recorder that
 *   logs each data point ("recorder");
 * - `bindings`: extra/overriding bindings.
 */
export function workerOptions({ policy, secret = SECRET, jwks, signingKey, admin = ADMIN_TOKEN, origin, kv = "kv", authority = true, instances = 1, perInstance = {}, metrics, bindings = {} } = {}) {
  const scriptPath = ensureBuilt();
  const b = {};
  if (policy !== undefined) b.POLICY = typeof policy === "string" ? policy : JSON.stringify(policy);
  if (secret) b.JWT_SECRET = secret;
  if (jwks) b.JWKS = JSON.stringify(jwks);
  if (signingKey) b.SIGNING_KEY = JSON.stringify(signingKey);
  if (admin) b.ADMIN_TOKEN = admin;
  if (origin) b.ORIGIN = origin;
  if (authority) b.SNAPSHOT_KEY = SNAPSHOT_KEY;
  Object.assign(b, bindings);
  const main = {
    name: "edge-jwt",
    modules: true,
    scriptPath,
    modulesRoot: path.dirname(scriptPath),
    modulesRules: [
      { type: "CompiledWasm", include: ["**/*.wasm"] },
      { type: "ESModule", include: ["**/*.js"] },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: b,
  };
  const workers = [main];
  if (kv === "kv") main.kvNamespaces = { REVOCATIONS: "REVOCATIONS" };
  else if (kv !== "none") {
    main.wrappedBindings = { REVOCATIONS: { scriptName: "broken-kv", bindings: { MODE: kv } } };
    workers.push({ name: "broken-kv", modules: true, script: BROKEN_KV_SCRIPT });
  }
  if (authority) main.durableObjects = { REVOCATION_AUTHORITY: "RevocationAuthority" };
  // METRICS: Miniflare's own Analytics Engine binding (its local simulator keeps nothing), or a
  // recorder with the same `writeDataPoint` that prints each point to the log for the test.
  if (metrics === "miniflare") main.analyticsEngineDatasets = { METRICS: { dataset: "edge_jwt" } };
  if (metrics === "recorder") {
    main.wrappedBindings = { ...main.wrappedBindings, METRICS: { scriptName: "metrics-recorder" } };
    workers.push({ name: "metrics-recorder", modules: true, script: METRICS_RECORDER_SCRIPT });
  }
  // Further instances: the same script in isolates of their own, sharing KV and the authority;
  // `perInstance[n]` may give one its own `policy`, or `authority: "broken"` (an authority
  // that answers every call with 503, as when it cannot be reached).
  let broken = false;
  for (let i = 2; i <= instances; i++) {
    const own = perInstance[i] ?? {};
    const other = { ...main, name: `edge-jwt-${i}`, bindings: { ...b } };
    if (own.policy) other.bindings.POLICY = JSON.stringify(own.policy);
    if (own.authority === "broken") {
      broken = true;
      other.durableObjects = { REVOCATION_AUTHORITY: { className: "BrokenAuthority", scriptName: "broken-authority" } };
    } else if (authority) {
      other.durableObjects = { REVOCATION_AUTHORITY: { className: "RevocationAuthority", scriptName: "edge-jwt" } };
    }
    workers.push(other);
  }
  if (broken) {
    workers.push({
      name: "broken-authority",
      modules: true,
      script: BROKEN_AUTHORITY_SCRIPT,
      compatibilityDate: COMPATIBILITY_DATE,
      durableObjects: { SELF: "BrokenAuthority" },
    });
  }
  return { workers };
}

/**
 * Starts the built Worker. Returns helpers: `fetch(path, init)` (dispatchFetch), `logs` (lines
 * the isolate printed), `waitForLog(pred)`, `kv()` (the REVOCATIONS namespace), `health()`,
 * `reconfigure(opts)` (setOptions with the same option shape: restarts the isolate, keeps KV),
 * `dispose()`.
 */
export async function startWorker(opts = {}) {
  const logs = [];
  const capture = (stream) => {
    let buf = "";
    stream.on("data", (chunk) => {
      buf += chunk.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        logs.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  };
  const shared = {
    log: new Log(LogLevel.WARN),
    // Never fetch the `Request.cf` object from the internet; use Miniflare's placeholder.
    cf: false,
    handleRuntimeStdio(stdout, stderr) {
      capture(stdout);
      capture(stderr);
    },
  };
  const mf = new Miniflare({ ...shared, ...workerOptions(opts) });
  const url = await mf.ready;
  const worker = client((p, init = {}) => mf.dispatchFetch(new URL(p, "http://worker.test").href, init));
  Object.assign(worker, {
    mf,
    url,
    logs,
    /** Instance `n` (2, 3, …; see `instances`): the same helpers on its own isolate. */
    async instance(n) {
      const fetcher = await mf.getWorker(`edge-jwt-${n}`);
      return client((p, init = {}) => fetcher.fetch(new URL(p, "http://worker.test").href, init));
    },
    kv: () => mf.getKVNamespace("REVOCATIONS"),
    /** The revocation authority's own API (`/write`, `/status`, `/entry`, `/snapshot`). */
    async authority(p, init = {}) {
      const namespace = await mf.getDurableObjectNamespace("REVOCATION_AUTHORITY");
      return namespace.get(namespace.idFromName("revocations")).fetch(`https://authority${p}`, init);
    },
    /** A write straight to the authority, as another isolate makes it. */
    async authorityWrite(request, { consume = false, at = now() } = {}) {
      const body = { request, consume, now: at, longest_lifetime_s: 7 * 86400 + LEEWAY_S, leeway_s: LEEWAY_S };
      const r = await worker.authority("/write", { method: "POST", body: JSON.stringify(body) });
      return r.json();
    },
    /**
     * A revocation entry (`jti:…`, `sub:…`, `global`) as the store of record holds it: the
     * authority's storage when it is bound, else KV. `null` when absent.
     */
    async storeEntry(key) {
      if (opts.authority === false) {
        const raw = await (await mf.getKVNamespace("REVOCATIONS")).get(key);
        return raw === null ? null : JSON.parse(raw);
      }
      const r = await worker.authority(`/entry?key=${encodeURIComponent(key)}`);
      assert.equal(r.status, 200, `authority /entry: ${r.status}`);
      return r.json();
    },
    async waitForLog(pred, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = logs.find((line) => pred(line));
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) return undefined;
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    /** Parsed JSON log lines with the given `event`. */
    events(event) {
      return logs
        .map((l) => {
          try {
            return JSON.parse(l.slice(l.indexOf("{")));
          } catch {
            return null;
          }
        })
        .filter((e) => e && e.event === event);
    },
    async reconfigure(next) {
      await mf.setOptions({ ...shared, ...workerOptions(next) });
    },
    dispose: () => mf.dispose(),
  });
  return worker;
}

/** Request helpers over one instance's fetch. */
function client(fetchFn) {
  const worker = {
    fetch: fetchFn,
    async json(p, init) {
      const res = await worker.fetch(p, init);
      const text = await res.text();
      const body = jsonOrText(text);
      return { res, status: res.status, body, headers: res.headers };
    },
    get: (p, token, headers = {}) =>
      worker.json(p, { headers: token ? { authorization: `Bearer ${token}`, ...headers } : headers }),
    /** POST to an admin endpoint with a JSON or form body. */
    admin(p, body, { auth = ADMIN_TOKEN, form = false } = {}) {
      const headers = {};
      if (auth) headers.authorization = `Bearer ${auth}`;
      if (form) headers["content-type"] = "application/x-www-form-urlencoded";
      else headers["content-type"] = "application/json";
      return worker.json(p, {
        method: "POST",
        headers,
        body: form ? new URLSearchParams(body).toString() : JSON.stringify(body),
      });
    },
    async health() {
      const r = await worker.json("/v1/health");
      assert.equal(r.status, 200, `health: ${JSON.stringify(r.body)}`);
      return r.body;
    },
  };
  return worker;
}

// ---------------------------------------------------------------------------------------------
// Assertions

/**
 * An RFC 6750 rejection: status, JSON body {error, code, error_description} and the
 * `WWW-Authenticate` challenge carrying the same description.
 */
export function assertRejected(r, code, status = 401) {
  const ctx = `expected ${status} ${code}, got ${r.status} ${JSON.stringify(r.body)}`;
  assert.equal(r.status, status, ctx);
  assert.equal(r.body.code, code, ctx);
  assert.equal(typeof r.body.error_description, "string", ctx);
  assert.ok(r.body.error_description.length > 0, ctx);
  const challenge = r.headers.get("www-authenticate");
  if (code === "missing_token") {
    // RFC 6750 §3.1: no authentication information at all gets the bare challenge.
    assert.equal(challenge, "Bearer", ctx);
  } else if (status === 401) {
    assert.equal(r.body.error, "invalid_token", ctx);
    const m = /^Bearer error="invalid_token", error_description="([^"\\]*)"$/.exec(challenge ?? "");
    assert.ok(m, `WWW-Authenticate for ${code}: ${challenge}`);
    // The description is the body's, with quoted-string-unsafe characters replaced.
    assert.equal(m[1], r.body.error_description.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/gu, "'"));
  }
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
}

/** The HMAC test policy (no secret: the Worker takes it from JWT_SECRET). */
export function basePolicy(extra = {}) {
  return { algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE, ...extra };
}

/** The policy plus the secret, as the CLI needs it to mint HS256 tokens. */
export function mintConfig(policy, secret = SECRET) {
  return { ...policy, secret };
}
