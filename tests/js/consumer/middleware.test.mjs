// The gateway middleware over real HTTP: a Hono app on Node (@hono/node-server) and an Express
// app, each in front of a handler that echoes what it was given. Both must answer exactly as
// the edge-jwt Worker does — status, RFC 6750 JSON body, WWW-Authenticate, cache-control — for
// every outcome: valid, missing, invalid, revoked, store down, and the route policy (disabled,
// optional, scopes, tracks). When a fresh build of the Worker is present (build/worker, made by
// scripts/build-worker.sh), the same requests also go to the real Worker in workerd (Miniflare)
// and the three answers are compared byte for byte.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

import { Hono } from "hono";
import { serve } from "@hono/node-server";
import express from "express";
import * as E from "edge-jwt";
import { edgeJwt as honoEdgeJwt } from "edge-jwt/hono";
import { edgeJwt as expressEdgeJwt } from "edge-jwt/express";

import * as h from "./helpers.mjs";

const policy = {
  algorithms: ["HS256"],
  issuer: h.ISSUER,
  audience: h.AUDIENCE,
  gateway: { cookie: "sid" },
  routes: [
    { path: "/health", mode: "disabled" },
    { path: "/catalog/*", methods: ["GET", "HEAD"], mode: "optional" },
    { path: "/ops/*", scopes: ["ops.write"], tracks: [4] },
  ],
};
const config = { ...policy, secret: h.SECRET };

function claims(overrides = {}) {
  return h.standardClaims({ iss: h.ISSUER, aud: h.AUDIENCE, ...overrides });
}
const sign = (overrides, header = { alg: "HS256", typ: "JWT" }) => h.signHmac(header, claims(overrides));

async function listen(server) {
  if (!server.listening) await new Promise((r) => server.once("listening", r));
  return `http://127.0.0.1:${server.address().port}`;
}

function startHono(validator, options) {
  const app = new Hono();
  app.use("*", honoEdgeJwt(validator, options));
  app.all("*", (c) => c.json({ handler: "hono", verified: c.get("edgeJwt") }));
  return serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
}

function startExpress(validator, options) {
  const app = express();
  app.use(expressEdgeJwt(validator, options));
  app.use((req, res) => {
    const identity = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith("x-edge-jwt-")));
    res.json({ handler: "express", verified: req.edgeJwt, identity });
  });
  return app.listen(0, "127.0.0.1");
}

async function call(base, p, { token, headers = {}, method = "GET" } = {}) {
  const res = await fetch(base + p, { method, headers: token ? { authorization: `Bearer ${token}`, ...headers } : headers });
  const text = await res.text();
  const body = h.jsonOrText(text);
  return {
    status: res.status,
    text,
    body,
    challenge: res.headers.get("www-authenticate"),
    cacheControl: res.headers.get("cache-control"),
    contentType: res.headers.get("content-type"),
  };
}

/** The rejection both middlewares must produce, from the core's errorResponse(). */
function expectRejection(r, code, status = 401) {
  const ctx = `expected ${status} ${code}, got ${r.status} ${r.text}`;
  assert.equal(r.status, status, ctx);
  assert.equal(r.body.code, code, ctx);
  const expected = E.errorResponse({ code, message: r.body.error_description, scope: /scope="([^"]*)"/.exec(r.challenge ?? "")?.[1] });
  assert.equal(r.text, expected.body, "body byte for byte");
  assert.equal(r.challenge, expected.headers["www-authenticate"] ?? null, "WWW-Authenticate");
  assert.equal(r.cacheControl, "no-store");
  assert.match(r.contentType, /^application\/json/);
  if (code === "missing_token") assert.equal(r.challenge, "Bearer");
  else if (status === 401) assert.match(r.challenge, /^Bearer error="invalid_token", error_description="[^"\\]+"$/);
  else if (status === 403) assert.match(r.challenge, /^Bearer error="insufficient_scope", /);
  else assert.equal(r.challenge, null);
}

const store = new E.MemoryStore();
const validator = new E.Validator(config, { store });
const events = { hono: [], express: [] };
const apps = {};
const servers = [];

before(async () => {
  const honoServer = startHono(validator, { log: (e) => events.hono.push(e) });
  const expressServer = startExpress(validator, { log: (e) => events.express.push(e), identityHeaders: true });
  servers.push(honoServer, expressServer);
  apps.hono = await listen(honoServer);
  apps.express = await listen(expressServer);
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

for (const name of ["hono", "express"]) {
  describe(`${name} middleware`, () => {
    test("a valid token reaches the handler with the verified result", async () => {
      const t = sign({ scope: "read" });
      const r = await call(apps[name], "/api/items", { token: t });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.handler, name);
      assert.equal(r.body.verified.ok, true);
      assert.equal(r.body.verified.claims.sub, "alice");
      assert.equal(r.body.verified.track, "4");
      assert.equal(r.body.verified.ttlCeiling, 3600);
    });

    test("the token may come from the policy's cookie", async () => {
      const r = await call(apps[name], "/api/items", { headers: { cookie: `theme=dark; sid=${sign()}` } });
      assert.equal(r.status, 200, r.text);
    });

    test("missing_token: no header, or another scheme → 401 with a bare Bearer challenge", async () => {
      expectRejection(await call(apps[name], "/api/items"), "missing_token");
      expectRejection(await call(apps[name], "/api/items", { headers: { authorization: "Basic YWxpY2U6cHc=" } }), "missing_token");
    });

    test("invalid tokens → 401 invalid_token with the edge-jwt code", async () => {
      const now = h.nowS();
      const cases = {
        malformed: "not.a.jwt",
        expired: sign({ iat: now - 700, exp: now - 60 }),
        bad_signature: h.signHmac({ alg: "HS256" }, claims(), "another-secret-another-secret-123456"),
        alg_not_allowed: `${h.b64json({ alg: "none" })}.${h.b64json(claims())}.`,
        bad_audience: sign({ aud: "elsewhere" }),
        ttl_exceeds_track: sign({ iat: now, exp: now + 7200 }),
      };
      for (const [code, token] of Object.entries(cases)) expectRejection(await call(apps[name], `/r/${code}`, { token }), code);
      expectRejection(await call(apps[name], "/r/empty", { headers: { authorization: "Bearer " } }), "malformed");
    });

    test("revoked → 401, through the validator's store", async () => {
      const t = sign({ sub: `revoked-${name}` });
      assert.equal((await call(apps[name], "/api", { token: t })).status, 200);
      await validator.revoke({ jti: h.decode(t).claims.jti, exp: h.decode(t).claims.exp });
      expectRejection(await call(apps[name], "/api", { token: t }), "revoked");
    });

    test("routes: disabled skips the check, optional admits anonymous requests but not bad tokens", async () => {
      const health = await call(apps[name], "/health");
      assert.equal(health.status, 200);
      assert.equal(health.body.verified, null);
      const anonymous = await call(apps[name], "/catalog/books");
      assert.equal(anonymous.status, 200);
      assert.equal(anonymous.body.verified, null);
      const known = await call(apps[name], "/catalog/books", { token: sign() });
      assert.equal(known.body.verified.claims.sub, "alice");
      expectRejection(await call(apps[name], "/catalog/books", { token: "bad" }), "malformed");
      // The optional route is for GET/HEAD only: a POST falls to the default (required).
      expectRejection(await call(apps[name], "/catalog/books", { method: "POST" }), "missing_token");
      // Doubled slashes cannot slip past a stricter route.
      expectRejection(await call(apps[name], "//ops//deploy", { token: sign({ scope: "read" }) }), "insufficient_scope", 403);
    });

    test("routes: scopes and tracks → 403 insufficient_scope / track_not_allowed", async () => {
      const noScope = await call(apps[name], "/ops/deploy", { token: sign({ scope: "ops.read" }) });
      expectRejection(noScope, "insufficient_scope", 403);
      assert.equal(noScope.challenge, 'Bearer error="insufficient_scope", error_description="scope ops.write is required", scope="ops.write"');
      expectRejection(await call(apps[name], "/ops/deploy", { token: sign({ scope: "ops.write", track: 1, exp: h.nowS() + 600 }) }), "track_not_allowed", 403);
      const ok = await call(apps[name], "/ops/deploy", { token: sign({ scp: ["ops.write"] }) });
      assert.equal(ok.status, 200, ok.text);
    });

    test("one rejection event per refused request: code, status, path, track and jti prefix, never the token", async () => {
      const before = events[name].length;
      const t = sign({ iat: h.nowS() - 700, exp: h.nowS() - 60 });
      await call(apps[name], "/logged/path?q=1", { token: t });
      const event = events[name].at(-1);
      assert.equal(events[name].length, before + 1);
      assert.deepEqual(
        { ...event, kid: event.kid },
        { event: "edge_jwt_reject", code: "expired", status: 401, path: "/logged/path", kid: null, track: null, jti_prefix: null },
      );
      assert.ok(!JSON.stringify(event).includes(t));
      // A scope refusal carries what is known of the authentic token.
      const scoped = sign({ scope: "nope" });
      await call(apps[name], "/ops/x", { token: scoped });
      const e2 = events[name].at(-1);
      assert.equal(e2.code, "insufficient_scope");
      assert.equal(e2.status, 403);
      assert.equal(e2.track, "4");
      assert.equal(e2.jti_prefix, h.decode(scoped).claims.jti.slice(0, 8));
    });
  });
}

test("express identityHeaders: client-sent x-edge-jwt-* headers are replaced by the verified identity", async () => {
  const t = sign({ sub: "real", scope: "a b" });
  const r = await call(apps.express, "/api", { token: t, headers: { "x-edge-jwt-sub": "spoofed", "x-edge-jwt-admin": "1" } });
  assert.equal(r.status, 200);
  const { jti, exp } = h.decode(t).claims;
  assert.deepEqual(r.body.identity, {
    "x-edge-jwt-sub": "real",
    "x-edge-jwt-jti": jti,
    "x-edge-jwt-track": "4",
    "x-edge-jwt-scope": "a b",
    "x-edge-jwt-exp": String(exp),
  });
  const anonymous = await call(apps.express, "/health", { headers: { "x-edge-jwt-sub": "spoofed" } });
  assert.deepEqual(anonymous.body.identity, {}, "stripped on unchecked routes too");
});

test("a revocation store that is down → 503 temporarily_unavailable, no challenge (both frameworks)", async () => {
  const down = { get: () => Promise.reject(new Error("down")), put: () => Promise.reject(new Error("down")) };
  const v = new E.Validator({ ...config, revocation: { timeout_ms: 100 } }, { store: down });
  const s1 = startHono(v);
  const s2 = startExpress(v);
  try {
    for (const base of [await listen(s1), await listen(s2)]) {
      const r = await call(base, "/api", { token: sign() });
      expectRejection(r, "revocation_unavailable", 503);
      assert.equal(r.body.error, "temporarily_unavailable");
    }
  } finally {
    for (const s of [s1, s2]) await new Promise((r) => s.close(r));
  }
});

test("the middleware accepts a config instead of a validator (and rejects a bad one at setup)", async () => {
  assert.throws(() => honoEdgeJwt({ algorithms: ["HS256"], secret: "short" }), E.ConfigError);
  assert.throws(() => expressEdgeJwt({ algorithms: ["HS256"], secret: "short" }), E.ConfigError);
  const s = startHono(config);
  try {
    const r = await call(await listen(s), "/api", { token: sign() });
    assert.equal(r.status, 200);
  } finally {
    await new Promise((r) => s.close(r));
  }
});

// ---------------------------------------------------------------------------------------------
// Byte-for-byte parity with the real Worker (when its build is present and fresh)

const ROOT = process.env.EDGE_JWT_ROOT ?? path.resolve(path.dirname(h.CLI), "../..");
function workerBuildState() {
  const wasm = path.join(ROOT, "build/worker/pkg/edge_jwt_bg.wasm");
  if (!fs.existsSync(wasm) || !fs.existsSync(path.join(ROOT, "tests/worker/harness.mjs"))) return "the Worker is not built (scripts/build-worker.sh)";
  let newest = 0;
  const walk = (p) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const q = path.join(p, e.name);
      if (e.isDirectory()) walk(q);
      // src/wasm/ is the npm package's surface, not part of the Worker.
      else if (q.endsWith(".rs") && !q.includes(`${path.sep}src${path.sep}wasm${path.sep}`)) newest = Math.max(newest, fs.statSync(q).mtimeMs);
    }
  };
  walk(path.join(ROOT, "src"));
  return fs.statSync(wasm).mtimeMs >= newest ? null : "the Worker build is older than src/";
}
const skipWorker = workerBuildState();

describe("parity with the edge-jwt Worker (workerd)", { skip: skipWorker ?? false }, () => {
  let worker;
  let brokenKv;
  before(async () => {
    process.env.EDGE_JWT_NO_BUILD = "1";
    const harness = await import(path.join(ROOT, "tests/worker/harness.mjs"));
    worker = await harness.startWorker({ policy, secret: h.SECRET });
    // Per-key mode (no authority), as the npm store below: the same failure, the same answer.
    brokenKv = await harness.startWorker({ policy, secret: h.SECRET, kv: "throw", authority: false });
  });
  after(async () => {
    await worker?.dispose();
    await brokenKv?.dispose();
  });

  async function viaWorker(w, p, { token, headers = {}, method = "GET" } = {}) {
    const res = await w.fetch(p, { method, headers: token ? { authorization: `Bearer ${token}`, ...headers } : headers });
    const text = await res.text();
    return { status: res.status, text, challenge: res.headers.get("www-authenticate"), cacheControl: res.headers.get("cache-control") };
  }

  test("every rejection: same status, body bytes, WWW-Authenticate and cache-control as the Worker", async () => {
    const now = h.nowS();
    const cases = [
      ["/api", {}],
      ["/api", { headers: { authorization: "Basic YWxpY2U6cHc=" } }],
      ["/api", { headers: { authorization: "Bearer " } }],
      ["/api", { token: "not.a.jwt" }],
      ["/api", { token: sign({ iat: now - 700, exp: now - 60 }) }],
      ["/api", { token: h.signHmac({ alg: "HS256" }, claims(), "another-secret-another-secret-123456") }],
      ["/api", { token: `${h.b64json({ alg: "none" })}.${h.b64json(claims())}.` }],
      ["/api", { token: sign({ iss: "https://evil.test" }) }],
      ["/api", { token: sign({ iat: now, exp: now + 7200 }) }],
      ["/api", { token: sign({ nbf: now + 600 }) }],
      ["/catalog/x", { token: "bad" }],
      ["/catalog/x", { method: "POST" }],
      ["/ops/deploy", { token: sign({ scope: "ops.read" }) }],
      ["/ops/deploy", { token: sign({ scope: "ops.write", track: 1 }) }],
    ];
    for (const [p, init] of cases) {
      const edge = await viaWorker(worker, p, init);
      assert.ok(edge.status >= 400, `the Worker refuses ${p} ${JSON.stringify(init)}: ${edge.text}`);
      for (const name of ["hono", "express"]) {
        const r = await call(apps[name], p, init);
        const ctx = `${name} vs Worker on ${p} ${JSON.stringify(init)}`;
        assert.equal(r.status, edge.status, ctx);
        assert.equal(r.text, edge.text, ctx);
        assert.equal(r.challenge, edge.challenge, ctx);
        assert.equal(r.cacheControl, edge.cacheControl, ctx);
      }
    }
  });

  test("revoked and revocation_unavailable answer as the Worker's", async () => {
    const t = sign({ sub: "parity" });
    const { jti, exp } = h.decode(t).claims;
    await validator.revoke({ jti, exp });
    assert.equal((await worker.admin("/v1/revoke", { jti, exp })).status, 200);
    const edge = await viaWorker(worker, "/api", { token: t });
    assert.equal(edge.status, 401);
    const hono = await call(apps.hono, "/api", { token: t });
    assert.equal(hono.text, edge.text);
    assert.equal(hono.challenge, edge.challenge);
    const down = { get: () => Promise.reject(new Error("down")), put: () => Promise.reject(new Error("down")) };
    const s = startExpress(new E.Validator(config, { store: down }));
    try {
      const mine = await call(await listen(s), "/api", { token: sign() });
      const theirs = await viaWorker(brokenKv, "/api", { token: sign() });
      assert.equal(theirs.status, 503);
      assert.equal(mine.status, theirs.status);
      assert.equal(mine.text, theirs.text);
      assert.equal(mine.challenge, theirs.challenge);
    } finally {
      await new Promise((r) => s.close(r));
    }
  });
});
