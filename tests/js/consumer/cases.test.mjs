// The shared case table (tests/cases/*.json, format in tests/cases/README.md) through every
// HTTP host: the edge-jwt Worker in workerd (Miniflare, in front of a loopback origin), and the
// installed npm package's Hono (@hono/node-server) and Express middlewares, each in front of a
// handler that answers what it was given. Each row's request goes to all three over raw HTTP
// (the path exactly as written, never normalised by a client); every host must give the row's
// status and code, the three answers must be byte-identical (status, body, WWW-Authenticate,
// Cache-Control, Content-Type) and so must the three rejection log events. The core and the
// CLI run the same rows in tests/cases.rs.
//
// The Worker is the built one (build/worker); like the Worker tests, the harness rebuilds it
// when it is older than its sources unless EDGE_JWT_NO_BUILD=1.
//
// Rows with `request.dpop` carry DPoP proofs made by hand with node:crypto
// (tests/support/dpop.mjs), one set per host: each host's `htu` is made from the URL that host
// is sent, and each proof has its own `jti` (Hono and Express share one Validator, so one
// replay memory). Answers are compared with each host's own proofs read as `{dpop}`.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { isDeepStrictEqual } from "node:util";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { Hono } from "hono";
import { serve } from "@hono/node-server";
import express from "express";
import * as E from "edge-jwt";
import { edgeJwt as honoEdgeJwt } from "edge-jwt/hono";
import { edgeJwt as expressEdgeJwt } from "edge-jwt/express";

import "./helpers.mjs"; // checks EDGE_JWT and EDGE_JWT_ROOT

const ROOT = process.env.EDGE_JWT_ROOT;
// EDGE_JWT_CASES: another table (a scratch one while writing rows).
const CASES = process.env.EDGE_JWT_CASES ?? path.join(ROOT, "tests/cases");
const shared = JSON.parse(fs.readFileSync(path.join(CASES, "configs.json"), "utf8"));
const rows = fs
  .readdirSync(CASES)
  .filter((f) => f.endsWith(".json") && f !== "configs.json")
  .sort()
  .flatMap((f) => JSON.parse(fs.readFileSync(path.join(CASES, f), "utf8")).map((row) => ({ file: f, ...row })));

const HOSTS = ["worker", "hono", "express"];
const nowS = () => Math.floor(Date.now() / 1000);

const dpop = await import(pathToFileURL(path.join(ROOT, "tests/support/dpop.mjs")).href);
/** The table's DPoP keys: `{ alg, privateKey, jwk }` (the public JWK's required members). */
const dpopKeys = Object.fromEntries(
  Object.entries(shared.dpop_keys ?? {}).map(([name, jwk]) => {
    const members = { EC: ["crv", "kty", "x", "y"], OKP: ["crv", "kty", "x"] }[jwk.kty];
    if (!members) throw new Error(`DPoP key ${name}: kty ${jwk.kty} is not in the table's keys`);
    const publicJwk = Object.fromEntries(members.map((m) => [m, jwk[m]]));
    const privateKey = crypto.createPrivateKey({ key: jwk, format: "jwk" });
    return [name, { alg: jwk.kty === "OKP" ? "EdDSA" : "ES256", privateKey, jwk: publicJwk }];
  }),
);
function dpopKey(name) {
  const key = dpopKeys[name];
  if (!key) throw new Error(`no DPoP key named ${name} in configs.json`);
  return key;
}

// ---------------------------------------------------------------------------------------------
// Tokens and requests from a row (the same rules as tests/cases.rs)

function expand(value, now, jti) {
  if (value === "$jti") return jti;
  if (typeof value === "string" && value.startsWith("$jkt:")) return dpop.thumbprint(dpopKey(value.slice(5)).jwk);
  if (typeof value === "string") {
    const m = /^now(?:([+-])(\d+))?$/.exec(value);
    if (!m) return value;
    return m[1] === "-" ? now - Number(m[2]) : now + Number(m[2] ?? 0);
  }
  if (Array.isArray(value)) return value.map((v) => expand(v, now, jti));
  if (value && typeof value === "object") {
    if ("$repeat" in value) return value.$repeat.repeat(value.count);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, now, jti)]));
  }
  return value;
}

const b64 = (text) => Buffer.from(text).toString("base64url");
function hmac(alg, secret, input) {
  const hash = { HS384: "sha384", HS512: "sha512" }[alg] ?? "sha256";
  return crypto.createHmac(hash, secret).update(input).digest("base64url");
}

function makeToken(spec, now) {
  if (spec.raw !== undefined) return spec.raw;
  const jti = crypto.randomBytes(16).toString("hex");
  let headerText;
  let alg;
  if (typeof spec.header === "string") {
    headerText = spec.header;
    try {
      alg = JSON.parse(spec.header)?.alg;
    } catch {
      alg = undefined;
    }
  } else {
    const header = { ...shared.header, ...(spec.header ?? {}) };
    headerText = JSON.stringify(header);
    alg = header.alg;
  }
  const claimsOf = (overrides) => {
    const claims = { ...shared.claims, ...overrides };
    for (const name of spec.omit ?? []) delete claims[name];
    return expand(claims, now, jti);
  };
  const payloadText = typeof spec.claims === "string" ? spec.claims : JSON.stringify(claimsOf(spec.claims ?? {}));
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  switch (spec.sign ?? "hmac") {
    case "hmac":
      return `${input}.${hmac(alg, shared.secret, input)}`;
    case "other-secret":
      return `${input}.${hmac(alg, shared.other_secret, input)}`;
    case "none":
      return `${input}.`;
    case "tamper": {
      const swapped = b64(JSON.stringify({ ...JSON.parse(payloadText), sub: "mallory" }));
      return `${b64(headerText)}.${swapped}.${hmac(alg, shared.secret, input)}`;
    }
    default:
      throw new Error(`unknown token.sign ${spec.sign}`);
  }
}

function requestOf(row, token) {
  const given = row.request?.headers ?? {};
  const headers = Object.fromEntries(Object.entries(given).map(([n, v]) => [n, v.replaceAll("{token}", token ?? "")]));
  if (token !== undefined && !Object.values(given).some((v) => v.includes("{token}"))) headers.authorization = `Bearer ${token}`;
  return { method: row.request?.method ?? "GET", path: row.request?.path ?? "/api/items", headers };
}

/**
 * The row's DPoP proofs for one host (`base`: the scheme and authority it is sent to), made
 * by hand (tests/support/dpop.mjs makeProof): `count` proofs (default one), each with a fresh
 * `jti`. `htu`: absent or `{url}` the request's own absolute URL, a path under `base`, else
 * the text with `{url}` and `{authority}` replaced.
 */
function proofsFor(row, token, base, now) {
  const spec = row.request?.dpop;
  if (!spec) return [];
  const key = dpopKey(spec.key);
  const request = requestOf(row, token);
  const url = base + request.path;
  const htu =
    spec.htu === undefined ? url : spec.htu.startsWith("/") ? base + spec.htu : spec.htu.replaceAll("{url}", url).replaceAll("{authority}", new URL(base).host);
  const ath = spec.ath ?? true;
  if (ath !== true && ath !== false && ath !== "other") throw new Error(`${row.name}: request.dpop.ath must be true, false or "other"`);
  const claims = { ...(ath === "other" ? { ath: dpop.ath("another access token") } : {}), ...(spec.claims ?? {}) };
  // JSON.stringify leaves undefined members out: that is how a claim is dropped.
  for (const name of spec.omit ?? []) claims[name] = undefined;
  return Array.from({ length: spec.count ?? 1 }, () =>
    dpop.makeProof(key, {
      htm: spec.htm ?? request.method,
      htu,
      accessToken: ath === true ? token : undefined,
      iat: expand(spec.iat ?? "now", now),
      header: spec.header ?? {},
      claims,
    }),
  );
}

/** A row's expected text with `{token}`, `{dpop}` (the host's proofs as one header value) and `{description}` filled in. */
function fill(text, token, proofs, description) {
  const safe = String(description ?? "").replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/gu, "'");
  return text.replaceAll("{token}", token ?? "").replaceAll("{dpop}", proofs.join(", ")).replaceAll("{description}", safe);
}

/** The row's policy without a secret (the Worker reads JWT_SECRET; the package gets `secret`). */
function policyOf(row) {
  if (typeof row.config === "string") {
    const named = shared.configs[row.config];
    if (!named) throw new Error(`${row.name}: no config named ${row.config}`);
    return named;
  }
  return row.config;
}

// ---------------------------------------------------------------------------------------------
// What a handler (or the Worker's origin) answers: the path it was given and the identity
// headers it saw (any spelling edge-jwt owns: case-insensitive, `_` read as `-`), plus every
// header a row names in `forwarded` (claim headers), as one JSON body, so a pass is
// byte-identical across hosts only if they hand on the same request.

const isIdentity = (name) => name.toLowerCase().replaceAll("_", "-").startsWith("x-edge-jwt-");
const named = new Set(rows.flatMap((row) => Object.keys(row.expect?.forwarded ?? {}).map((n) => n.toLowerCase())));
const isEchoed = (name) => isIdentity(name) || named.has(name.toLowerCase());
function echo(pathSeen, headerPairs) {
  const identity = Object.fromEntries(
    headerPairs
      .filter(([n]) => isEchoed(n))
      .map(([n, v]) => [n.toLowerCase(), v])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return JSON.stringify({ path: pathSeen, identity });
}
const pathOnly = (url) => url.split("?")[0];

async function listen(server) {
  if (!server.listening) await new Promise((r) => server.once("listening", r));
  return `http://127.0.0.1:${server.address().port}`;
}

function startHono(validator, log) {
  const app = new Hono();
  app.use("*", honoEdgeJwt(validator, { log }));
  app.all("*", (c) => c.body(echo(c.req.path, [...c.req.raw.headers]), 200, { "content-type": "application/json" }));
  return serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
}

function startExpress(validator, log) {
  const app = express();
  app.use(expressEdgeJwt(validator, { log }));
  app.use((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(echo(pathOnly(req.url), Object.entries(req.headers)));
  });
  return app.listen(0, "127.0.0.1");
}

/** Sends the request over raw HTTP (no client normalises the path). */
function send(base, { method, path: rawPath, headers }) {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: rawPath, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode,
          text: Buffer.concat(chunks).toString("utf8"),
          challenge: res.headers["www-authenticate"] ?? null,
          cacheControl: res.headers["cache-control"] ?? null,
          contentType: res.headers["content-type"] ?? null,
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// One Worker and one Hono and Express server per distinct config

let harness;
let origin;
const hosts = new Map();
const servers = [];
const workers = [];

before(async () => {
  harness = await import(pathToFileURL(path.join(ROOT, "tests/worker/harness.mjs")).href);
  origin = await harness.startOrigin({
    respond(req, res) {
      const pairs = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      const body = echo(pathOnly(req.url), pairs);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return true;
    },
  });
});

after(async () => {
  for (const w of workers) await w.dispose();
  for (const s of servers) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
  await origin?.close();
});

async function hostsFor(policy) {
  const key = JSON.stringify(policy);
  if (!hosts.has(key)) {
    const events = { hono: [], express: [] };
    const validator = new E.Validator({ ...policy, secret: shared.secret }, { store: new E.MemoryStore() });
    const hono = startHono(validator, (e) => events.hono.push(e));
    const exp = startExpress(validator, (e) => events.express.push(e));
    servers.push(hono, exp);
    const worker = await harness.startWorker({ policy, secret: shared.secret, origin: origin.url });
    workers.push(worker);
    hosts.set(key, { worker, events, urls: { worker: worker.url.href, hono: await listen(hono), express: await listen(exp) } });
  }
  return hosts.get(key);
}

/** The Worker's `edge_jwt_reject` lines printed after `from`, parsed. */
function workerEvents(worker, from) {
  return worker.logs
    .slice(from)
    .filter((l) => l.includes('"edge_jwt_reject"'))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))));
}

async function waitForWorkerEvent(worker, from) {
  const deadline = Date.now() + 3000;
  while (workerEvents(worker, from).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  // A little longer, so a second (wrong) line would be seen too.
  await new Promise((r) => setTimeout(r, 20));
  return workerEvents(worker, from);
}

// ---------------------------------------------------------------------------------------------
// The rows

test("the table is loaded", () => {
  assert.ok(rows.length >= 30, `${rows.length} rows`);
  assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, "row names are unique");
});

for (const row of rows) {
  test(`${row.file}: ${row.name}`, async () => {
    const { worker, events, urls } = await hostsFor(policyOf(row));
    const token = row.token === null || row.token === undefined ? undefined : makeToken(row.token, nowS());
    const request = requestOf(row, token);
    const want = row.expect;
    const problems = [];
    const logFrom = worker.logs.length;
    const eventsFrom = { hono: events.hono.length, express: events.express.length };
    const answers = {};
    const proofs = {};
    for (const host of HOSTS) {
      const base = urls[host].replace(/\/+$/, "");
      proofs[host] = proofsFor(row, token, base, nowS());
      const headers = proofs[host].length === 0 ? request.headers : { ...request.headers, dpop: proofs[host].length === 1 ? proofs[host][0] : proofs[host] };
      answers[host] = await send(urls[host], { ...request, headers });
    }

    for (const host of HOSTS) {
      const r = answers[host];
      let body;
      try {
        body = JSON.parse(r.text);
      } catch {
        body = undefined;
      }
      if (r.status !== want.status) problems.push(`${host}: status ${r.status}, want ${want.status}: ${r.text}`);
      if (want.code === null) {
        if (body?.code !== undefined) problems.push(`${host}: refused with ${body.code}, want a pass`);
        if (want.path !== undefined && body?.path !== want.path) problems.push(`${host}: handler saw path ${body?.path}, want ${want.path}`);
        for (const [name, expected] of Object.entries(want.forwarded ?? {})) {
          const seen = body?.identity?.[name.toLowerCase()] ?? null;
          const value = expected === null ? null : fill(expected, token, proofs[host]);
          if (seen !== value) problems.push(`${host}: handler saw ${name}: ${JSON.stringify(seen)}, want ${JSON.stringify(value)}`);
        }
      } else {
        if (body?.code !== want.code) problems.push(`${host}: code ${body?.code}, want ${want.code}: ${r.text}`);
        if (typeof body?.error_description !== "string" || body.error_description === "") problems.push(`${host}: no error_description: ${r.text}`);
        if (want.status === 401 && want.code !== "missing_token" && body?.error !== "invalid_token") problems.push(`${host}: error ${body?.error}, want invalid_token`);
        if (!/^application\/json/.test(r.contentType ?? "")) problems.push(`${host}: content-type ${r.contentType}`);
        if (r.cacheControl !== "no-store") problems.push(`${host}: cache-control ${r.cacheControl}`);
        if ("challenge" in want || want.code === "missing_token") {
          // RFC 6750 §3.1: a request with no authentication information gets the bare challenge.
          const challenge = "challenge" in want ? want.challenge && fill(want.challenge, token, proofs[host], body?.error_description) : "Bearer";
          if (r.challenge !== challenge) problems.push(`${host}: WWW-Authenticate ${JSON.stringify(r.challenge)}, want ${JSON.stringify(challenge)}`);
        } else if (want.status === 401) {
          // RFC 6750 §3: the description is the body's, with quoted-string-unsafe characters replaced.
          const m = /^Bearer error="invalid_token", error_description="([^"\\]*)"$/.exec(r.challenge ?? "");
          if (!m || m[1] !== String(body?.error_description).replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/gu, "'")) {
            problems.push(`${host}: WWW-Authenticate ${JSON.stringify(r.challenge)} for ${r.text}`);
          }
        }
      }
    }

    // Byte-identical answers, each host's own proofs read as `{dpop}`.
    const comparable = (host, part) => {
      const value = answers[host][part];
      if (typeof value !== "string" || proofs[host].length === 0) return value;
      return [proofs[host].join(", "), ...proofs[host]].reduce((text, proof) => text.replaceAll(proof, "{dpop}"), value);
    };
    for (const host of ["hono", "express"]) {
      for (const part of ["status", "text", "challenge", "cacheControl", "contentType"]) {
        if (comparable(host, part) !== comparable("worker", part)) {
          problems.push(`${host} differs from the Worker in ${part}: ${JSON.stringify(answers[host][part])} vs ${JSON.stringify(answers.worker[part])}`);
        }
      }
    }

    // One rejection event per refused request, the same from every host, never the token.
    const logged = {
      worker: want.code === null ? workerEvents(worker, logFrom) : await waitForWorkerEvent(worker, logFrom),
      hono: events.hono.slice(eventsFrom.hono),
      express: events.express.slice(eventsFrom.express),
    };
    for (const host of HOSTS) {
      const expected = want.code === null ? 0 : 1;
      if (logged[host].length !== expected) problems.push(`${host}: ${logged[host].length} rejection events, want ${expected}: ${JSON.stringify(logged[host])}`);
      const [event] = logged[host];
      if (event && (event.code !== want.code || event.status !== want.status)) problems.push(`${host}: logged ${event.code} ${event.status}`);
      if (event && token && token.length > 8 && JSON.stringify(event).includes(token)) problems.push(`${host}: the log event carries the token`);
    }
    for (const host of ["hono", "express"]) {
      if (logged[host][0] && logged.worker[0] && !isDeepStrictEqual(logged[host][0], logged.worker[0])) {
        problems.push(`${host} logs differently from the Worker: ${JSON.stringify(logged[host][0])} vs ${JSON.stringify(logged.worker[0])}`);
      }
    }

    assert.deepEqual(problems, [], `${row.name}\nrequest: ${JSON.stringify(request)}${proofs.worker.length ? `\nproofs: ${JSON.stringify(proofs)}` : ""}`);
  });
}

test("no Worker log line carries a token or the secret", () => {
  for (const { worker } of hosts.values()) {
    for (const line of worker.logs) {
      assert.ok(!line.includes(shared.secret));
      assert.doesNotMatch(line, /eyJ[\w-]+\.eyJ[\w-]+\./, `a token in the log: ${line.slice(0, 200)}`);
    }
  }
});
