// Remote JWKS in workerd (issue 5): a JWKS server on loopback counts every fetch. Rotation is
// picked up on the first token with the new kid; a burst of random kids costs at most one fetch
// per interval; a restarted Worker reads the set from KV without fetching; when the server goes
// down the cached set keeps serving, then validation fails closed with 503 jwks_unavailable.

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

  test("the set is shared through KV under jwks:<sha256(url)>", async () => {
    const key = `jwks:${crypto.createHash("sha256").update(jwks.url).digest("hex")}`;
    const stored = JSON.parse(await (await worker.kv()).get(key));
    assert.deepEqual(JSON.parse(stored.body).keys.map((k) => k.kid), ["k1"]);
    assert.ok(stored.fresh_until > stored.fetched_at);
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
