// Remote JWKS in workerd (issue 5): a JWKS server on loopback counts every fetch. Rotation is
// picked up on the first token with the new kid; a burst of random kids costs at most one fetch
// per interval; a restarted Worker reads the set from KV without fetching; when the server goes
// down the cached set keeps serving, then validation fails closed with 503 jwks_unavailable.
// Hardening (issue 14): redirects are not followed, `oct` keys in the set are skipped, and the
// body is read with the size limit (and timeout_ms) enforced while it streams in.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";

import * as h from "./harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A JWKS endpoint whose keys, status and Cache-Control the test controls. */
async function startJwksServer() {
  const state = { keys: [], status: 200, maxAge: 60, fetches: 0 };
  const server = http.createServer((req, res) => {
    state.fetches += 1;
    if (state.status !== 200) {
      res.writeHead(state.status);
      res.end("down");
      return;
    }
    const body = JSON.stringify({ keys: state.keys });
    res.writeHead(200, { "content-type": "application/json", "cache-control": `public, max-age=${state.maxAge}` });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    state,
    url: `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

const k1 = h.keygen("ES256", "k1");
const k2 = h.keygen("ES256", "k2");
const publicOf = (k) => k.jwks.keys[0];

function jwksPolicy(url, jwks = {}) {
  return {
    algorithms: ["ES256"],
    issuer: h.ISSUER,
    audience: h.AUDIENCE,
    jwks_url: url,
    // Loopback is plain http: allowed only because the test says so (development mode).
    jwks: { allow_http: true, min_ttl_s: 1, refetch_interval_s: 2, timeout_ms: 1000, ...jwks },
  };
}

const mint = (policy, key) => h.issue({ config: { ...policy, keys: [publicOf(key)] }, key: key.private_jwk }).token;

describe("remote JWKS", () => {
  let jwks, worker, policy;
  before(async () => {
    jwks = await startJwksServer();
    jwks.state.keys = [publicOf(k1)];
    policy = jwksPolicy(jwks.url);
    worker = await h.startWorker({ policy, secret: null });
  });
  after(async () => {
    await worker?.dispose();
    await jwks?.close();
  });

  test("the first token fetches the set once; later tokens use the cache", async () => {
    const r = await worker.get("/api", mint(policy, k1));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(jwks.state.fetches, 1);
    for (let i = 0; i < 5; i++) assert.equal((await worker.get("/api", mint(policy, k1))).status, 200);
    assert.equal(jwks.state.fetches, 1);
  });

  test("the set is shared through KV under jwks:<sha256(url)>, sealed with SNAPSHOT_KEY", async () => {
    const key = `jwks:${crypto.createHash("sha256").update(jwks.url).digest("hex")}`;
    const raw = await (await worker.kv()).get(key);
    const dot = raw.indexOf(".");
    assert.match(raw.slice(0, dot), /^[A-Za-z0-9_-]{43}$/, "an HMAC-SHA256 seal");
    const stored = JSON.parse(raw.slice(dot + 1));
    assert.deepEqual(JSON.parse(stored.body).keys.map((k) => k.kid), ["k1"]);
    assert.ok(stored.fresh_until > stored.fetched_at);
  });

  test("a copy written to KV by someone without SNAPSHOT_KEY adds no key", async () => {
    const key = `jwks:${crypto.createHash("sha256").update(jwks.url).digest("hex")}`;
    const raw = await (await worker.kv()).get(key);
    const stored = JSON.parse(raw.slice(raw.indexOf(".") + 1));
    const evil = h.keygen("ES256", "evil");
    const planted = { ...stored, body: JSON.stringify({ keys: [publicOf(evil)] }), fresh_until: h.now() + 3600 };
    for (const value of [JSON.stringify(planted), `${"A".repeat(43)}.${JSON.stringify(planted)}`]) {
      await (await worker.kv()).put(key, value);
      await worker.reconfigure({ policy, secret: null }); // a fresh isolate reads the shared copy first
      const r = await worker.get("/api", mint(policy, evil));
      h.assertRejected(r, "unknown_kid");
      assert.equal((await worker.get("/api", mint(policy, k1))).status, 200, "the provider's own set serves");
    }
  });

  test("rotation at the provider is picked up on the first token with the new kid", async () => {
    jwks.state.keys = [publicOf(k1), publicOf(k2)];
    await sleep(2100); // past the refetch interval of the first fetch
    const before = jwks.state.fetches;
    const r = await worker.get("/api", mint(policy, k2));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(jwks.state.fetches, before + 1);
  });

  test("a burst of 1,000 random kids costs at most one fetch per interval", async () => {
    await sleep(2100);
    const before = jwks.state.fetches;
    const started = Date.now();
    const token = mint(policy, k1);
    const [, payload, signature] = token.split(".");
    const codes = new Map();
    for (let i = 0; i < 1000; i += 50) {
      const batch = Array.from({ length: 50 }, () => {
        const header = h.b64json({ alg: "ES256", kid: crypto.randomBytes(8).toString("hex") });
        return worker.get("/api", `${header}.${payload}.${signature}`);
      });
      for (const r of await Promise.all(batch)) codes.set(r.body.code, (codes.get(r.body.code) ?? 0) + 1);
    }
    const elapsed = (Date.now() - started) / 1000;
    const fetched = jwks.state.fetches - before;
    assert.deepEqual([...codes.keys()], ["unknown_kid"]);
    assert.ok(fetched >= 1, "the first unknown kid may refetch");
    assert.ok(fetched <= Math.ceil(elapsed / 2) + 1, `${fetched} fetches in ${elapsed.toFixed(1)} s`);
  });

  test("a restarted Worker reads the set from KV without fetching", async () => {
    const before = jwks.state.fetches;
    await worker.reconfigure({ policy, secret: null });
    const r = await worker.get("/api", mint(policy, k1));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(jwks.state.fetches, before);
  });
});

describe("remote JWKS outage", () => {
  test("the cached set keeps serving within max_stale_s, then 503 jwks_unavailable", async () => {
    const jwks = await startJwksServer();
    jwks.state.keys = [publicOf(k1)];
    jwks.state.maxAge = 1;
    const policy = jwksPolicy(jwks.url, { max_stale_s: 3, refetch_interval_s: 1 });
    const worker = await h.startWorker({ policy, secret: null });
    try {
      const token = mint(policy, k1);
      assert.equal((await worker.get("/api", token)).status, 200);
      jwks.state.status = 500;
      await sleep(2100); // stale, refetches fail, still within the staleness bound
      const stale = await worker.get("/api", token);
      assert.equal(stale.status, 200, JSON.stringify(stale.body));
      assert.ok(jwks.state.fetches >= 2, "a refresh was attempted");
      await sleep(3500); // past fresh_until + max_stale_s
      const down = await worker.get("/api", token);
      assert.equal(down.status, 503);
      assert.equal(down.body.code, "jwks_unavailable");
      assert.equal(down.body.error, "temporarily_unavailable");
      // The provider comes back: the next refresh restores service.
      jwks.state.status = 200;
      await sleep(1100);
      assert.equal((await worker.get("/api", token)).status, 200);
    } finally {
      await worker.dispose();
      await jwks.close();
    }
  });

  test("an http:// jwks_url without allow_http is a config error", async () => {
    const worker = await h.startWorker({
      policy: { algorithms: ["ES256"], jwks_url: "http://127.0.0.1:9/jwks" },
      secret: null,
    });
    try {
      const r = await worker.get("/api", "x.y.z");
      assert.equal(r.status, 500);
      assert.equal(r.body.code, "config_error");
    } finally {
      await worker.dispose();
    }
  });
});

// Issue 14, item 12: a redirect is never followed, symmetric keys in the remote set are never
// HMAC secrets, and the body is read with the size limit enforced as it streams in.

/** A loopback server answering every request with `handler(req, res)`; counts requests. */
async function startServer(handler) {
  const server = http.createServer((req, res) => {
    served.hits += 1;
    handler(req, res);
  });
  const served = { hits: 0 };
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(served, {
    url: `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  });
}

/** Largest JWKS document accepted (`jwks::MAX_DOCUMENT_BYTES`). */
const MAX_JWKS_BYTES = 256 * 1024;

describe("remote JWKS hardening", () => {
  test("a redirect is not followed: the set it points to is never fetched, the token is refused", async () => {
    const elsewhere = await startJwksServer();
    elsewhere.state.keys = [publicOf(k1)];
    const redirecting = await startServer((req, res) => {
      res.writeHead(302, { location: elsewhere.url });
      res.end();
    });
    const policy = jwksPolicy(redirecting.url);
    const worker = await h.startWorker({ policy, secret: null });
    try {
      const r = await worker.get("/api", mint(policy, k1));
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.code, "jwks_unavailable");
      assert.ok(redirecting.hits >= 1);
      assert.equal(elsewhere.state.fetches, 0, "the redirect target was never fetched");
      const failed = worker.events("edge_jwt_jwks_fetch_failed");
      assert.ok(failed.some((e) => /HTTP 302: redirect not followed/.test(e.why)), JSON.stringify(failed));
    } finally {
      await worker.dispose();
      await redirecting.close();
      await elsewhere.close();
    }
  });

  test("an oct key in the remote set is skipped: it cannot verify an HS256 token", async () => {
    const secret = crypto.randomBytes(32);
    const jwks = await startJwksServer();
    jwks.state.keys = [publicOf(k1), { kty: "oct", kid: "sym", alg: "HS256", use: "sig", k: h.b64url(secret) }];
    const policy = jwksPolicy(jwks.url);
    policy.algorithms = ["ES256", "HS256"];
    const worker = await h.startWorker({ policy, secret: null });
    try {
      const ok = await worker.get("/api", mint(policy, k1));
      assert.equal(ok.status, 200, "the set was accepted: its EC key verifies");
      const named = h.signHmac({ alg: "HS256", typ: "JWT", kid: "sym" }, h.standardClaims(), secret);
      h.assertRejected(await worker.get("/api", named), "unknown_kid");
      const kidless = h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims(), secret);
      h.assertRejected(await worker.get("/api", kidless), "alg_not_allowed");
    } finally {
      await worker.dispose();
      await jwks.close();
    }
  });

  /**
   * A server that sends `bytes` of body (chunked unless `contentLength` is given) and then holds
   * the response open for `holdMs` before ending it; records when the client went away.
   */
  async function startOversized({ bytes, contentLength, holdMs = 8000 }) {
    const state = { closedAt: null };
    const server = await startServer((req, res) => {
      const headers = { "content-type": "application/json" };
      if (contentLength !== undefined) headers["content-length"] = String(contentLength);
      res.writeHead(200, headers);
      res.write('{"keys":[');
      const chunk = " ".repeat(16 * 1024);
      for (let sent = 0; sent < bytes; sent += chunk.length) res.write(chunk);
      const timer = setTimeout(() => res.destroy(), holdMs);
      res.on("close", () => {
        clearTimeout(timer);
        state.closedAt ??= Date.now();
      });
    });
    return Object.assign(server, { state });
  }

  for (const { name, serve, why, waited } of [
    {
      name: "an oversized body streamed without Content-Length is refused as soon as the limit is passed",
      serve: { bytes: MAX_JWKS_BYTES + 64 * 1024 },
      why: /document too large \(more than 262144 bytes\)/,
      waited: "the body was read to its end",
    },
    {
      name: "a Content-Length over the limit fails before the body is read",
      serve: { bytes: 1024, contentLength: 4 * MAX_JWKS_BYTES },
      why: /Content-Length 1048576 > 262144 bytes/,
      waited: "the body was waited for",
    },
  ]) {
    test(name, async () => {
      const big = await startOversized(serve);
      const policy = jwksPolicy(big.url, { timeout_ms: 20000 });
      const worker = await h.startWorker({ policy, secret: null });
      try {
        const started = Date.now();
        const r = await worker.get("/api", mint(policy, k1));
        const elapsed = Date.now() - started;
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.code, "jwks_unavailable");
        assert.ok(elapsed < 4000, `refused after ${elapsed} ms: ${waited}`);
        const failed = worker.events("edge_jwt_jwks_fetch_failed");
        assert.ok(failed.some((e) => why.test(e.why)), JSON.stringify(failed));
      } finally {
        await worker.dispose();
        await big.close();
      }
    });
  }

  test("a body that never ends is cut off by timeout_ms", async () => {
    const slow = await startOversized({ bytes: 1024, holdMs: 15000 });
    const policy = jwksPolicy(slow.url, { timeout_ms: 1000 });
    const worker = await h.startWorker({ policy, secret: null });
    try {
      const started = Date.now();
      const r = await worker.get("/api", mint(policy, k1));
      const elapsed = Date.now() - started;
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.code, "jwks_unavailable");
      assert.ok(elapsed < 5000, `refused after ${elapsed} ms`);
      const failed = worker.events("edge_jwt_jwks_fetch_failed");
      assert.ok(failed.some((e) => e.why === "timed out"), JSON.stringify(failed));
    } finally {
      await worker.dispose();
      await slow.close();
    }
  });
});
