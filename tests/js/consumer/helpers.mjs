// Shared helpers of the consumer tests (tests/js/consumer/*.test.*). These run inside a scratch
// project where tests/js/run.sh installed the packed edge-jwt tarball, so `edge-jwt` resolves
// exactly as it does for a user. EDGE_JWT names the native CLI (target/debug/edge-jwt), used to
// mint tokens and to give the core's own verdict for parity checks.

import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const CLI = process.env.EDGE_JWT;
if (!CLI || !fs.existsSync(CLI)) {
  throw new Error("EDGE_JWT must name the edge-jwt CLI binary (tests/js/run.sh sets it)");
}
if (!process.env.EDGE_JWT_ROOT) throw new Error("EDGE_JWT_ROOT must name the repository (tests/js/run.sh sets it)");
// The repository's test support, shared with the Worker tests (this project is a scratch copy).
const { runCli, tempFiles } = await import(pathToFileURL(path.join(process.env.EDGE_JWT_ROOT, "tests/support/cli.mjs")).href);
export const { jsonOrText } = await import(pathToFileURL(path.join(process.env.EDGE_JWT_ROOT, "tests/support/body.mjs")).href);

/** A 36-byte HMAC secret (HS256 needs at least 32 bytes). */
export const SECRET = "consumer-tests-hmac-secret-0123456789";
/** 64 bytes: enough for HS512. */
export const LONG_SECRET = "consumer-tests-hmac-secret-for-hs512-0123456789abcdef0123456789ab";
export const ISSUER = "https://issuer.test";
export const AUDIENCE = "api.test";

export const nowS = () => Math.floor(Date.now() / 1000);

export const { tempDir, writeTemp } = tempFiles("consumer");

/** Runs the CLI: { status, json, stdout, stderr }. */
export function cli(args, input) {
  return runCli(CLI, args, { input });
}

/** `edge-jwt keygen`: { private_jwk, jwks }. */
export function cliKeygen(alg, kid) {
  const r = cli(["keygen", "--alg", alg, ...(kid ? ["--kid", kid] : [])]);
  if (r.status !== 0) throw new Error(`edge-jwt keygen failed: ${r.stdout}${r.stderr}`);
  return r.json;
}

/** `edge-jwt issue` with a policy object (its secret signs HS*) and optionally a private JWK. */
export function cliIssue({ config, key, alg, sub = "alice", track = "4", ttl, claims = {}, at }) {
  const args = ["issue", "--config", writeTemp("policy.json", config)];
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

/** The core's verdict through the CLI: { ok, error? }. */
export function cliVerify(config, token, at, revocations) {
  const args = ["verify", "--config", writeTemp("policy.json", config)];
  if (at !== undefined) args.push("--now", String(at));
  if (revocations) args.push("--revocations", writeTemp("revocations.json", revocations));
  args.push("-");
  return cli(args, token).json;
}

export const b64url = (data) => Buffer.from(data).toString("base64url");
export const b64json = (value) => b64url(JSON.stringify(value));

export function signSegments(headerB64, payloadB64, secret = SECRET, hash = "sha256") {
  const input = `${headerB64}.${payloadB64}`;
  return `${input}.${crypto.createHmac(hash, secret).update(input).digest("base64url")}`;
}

/** An HS256 token over exactly these header and claims (for hostile and edge cases). */
export function signHmac(header, claims, secret = SECRET) {
  return signSegments(b64json(header), b64json(claims), secret);
}

export function standardClaims(overrides = {}) {
  const now = nowS();
  return { sub: "alice", iat: now, exp: now + 600, jti: crypto.randomUUID(), track: 4, ...overrides };
}

/** A free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function connects(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts Debian's redis-server on a loopback port, without persistence; `stop()` ends it (and
 * only it). tests/js/run.sh installs the package when it is missing.
 */
export async function startRedis() {
  const bin = ["redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server"].find(
    (b) => spawnSync(b, ["--version"]).status === 0,
  );
  if (!bin) throw new Error("redis-server is not installed (tests/js/run.sh installs Debian's redis-server)");
  const port = await freePort();
  const child = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 10_000;
  while (!(await connects(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not start on ${port}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A fake Workers KV namespace: records every call's options, honours expirationTtl. */
export class FakeKv {
  constructor() {
    this.data = new Map();
    this.calls = [];
    this.down = false;
  }
  async get(key, options) {
    this.calls.push({ op: "get", key, options });
    if (this.down) throw new Error("KV is down");
    const e = this.data.get(key);
    if (!e || e.expiresAt <= Date.now()) return null;
    return e.value;
  }
  async put(key, value, options) {
    this.calls.push({ op: "put", key, value, options });
    if (this.down) throw new Error("KV is down");
    if (options?.expirationTtl !== undefined && options.expirationTtl < 60) throw new Error("KV: expirationTtl below 60");
    this.data.set(key, { value, expiresAt: Date.now() + (options?.expirationTtl ?? 1e9) * 1000 });
  }
}

/** Parses a compact JWS without verifying it (for assertions). */
export function decode(token) {
  const [h, p] = token.split(".");
  return { header: JSON.parse(Buffer.from(h, "base64url")), claims: JSON.parse(Buffer.from(p, "base64url")) };
}
