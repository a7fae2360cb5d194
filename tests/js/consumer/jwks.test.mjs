// Remote JWKS (`jwks_url`) in the package: the core's state machine decides (freshness from
// Cache-Control, one refetch per interval for an unknown kid, staleness bound, fail closed with
// jwks_unavailable) and the package fetches with `fetch`, as the Worker does. A loopback HTTP
// server plays the identity provider; `now` moves the validator's clock.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";

import * as E from "edge-jwt";

import * as h from "./helpers.mjs";

const k1 = h.cliKeygen("ES256", "k1");
const k2 = h.cliKeygen("ES256", "k2");
const inline = h.cliKeygen("EdDSA", "inline");

const idp = { keys: [k1.jwks.keys[0]], cacheControl: "public, max-age=300", status: 200, requests: 0, delayMs: 0 };
let server;
let url;

before(async () => {
  server = http.createServer((req, res) => {
    idp.requests++;
    setTimeout(() => {
      res.writeHead(idp.status, { "content-type": "application/json", "cache-control": idp.cacheControl });
      res.end(JSON.stringify({ keys: idp.keys }));
    }, idp.delayMs);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`;
});
after(() => new Promise((r) => server.close(r)));

function reset(keys = [k1.jwks.keys[0]]) {
  Object.assign(idp, { keys, cacheControl: "public, max-age=300", status: 200, requests: 0, delayMs: 0 });
}

const policy = () => ({
  algorithms: ["ES256", "EdDSA"],
  keys: inline.jwks,
  jwks_url: url,
  jwks: { allow_http: true, refetch_interval_s: 60, max_stale_s: 3600, timeout_ms: 2000 },
});
const mint = (key, at) => h.cliIssue({ config: { algorithms: [key.private_jwk.alg], keys: key.jwks }, key: key.private_jwk, at }).token;

describe("remote JWKS", () => {
  test("a token signed by the provider's key verifies; the set is fetched once while fresh", async () => {
    reset();
    const v = new E.Validator(policy());
    const at = h.nowS();
    const t = mint(k1, at);
    assert.equal((await v.verify(t, { now: at })).ok, true);
    assert.equal((await v.verify(mint(k1, at), { now: at + 100 })).ok, true);
    assert.equal(idp.requests, 1);
    assert.equal(v.stats().jwksFetches, 1);
    // Past max-age (300 s) the next request refreshes.
    assert.equal((await v.verify(mint(k1, at), { now: at + 301 })).ok, true);
    assert.equal(idp.requests, 2);
  });

  test("concurrent first requests share one fetch", async () => {
    reset();
    idp.delayMs = 100;
    const v = new E.Validator(policy());
    const at = h.nowS();
    const t = mint(k1, at);
    const results = await Promise.all(Array.from({ length: 10 }, () => v.verify(t, { now: at })));
    assert.ok(results.every((r) => r.ok));
    assert.equal(idp.requests, 1);
  });

  test("rotation: an unknown kid triggers one refetch, at most once per refetch_interval_s", async () => {
    reset();
    const v = new E.Validator(policy());
    const at = h.nowS();
    assert.equal((await v.verify(mint(k1, at), { now: at })).ok, true);
    idp.keys = [k1.jwks.keys[0], k2.jwks.keys[0]];
    assert.equal((await v.verify(mint(k2, at), { now: at + 61 })).ok, true, "the new kid is picked up at once");
    assert.equal(idp.requests, 2);
    const stranger = h.cliKeygen("ES256", "k3");
    assert.equal((await v.verify(mint(stranger, at), { now: at + 62 })).error.code, "unknown_kid");
    assert.equal((await v.verify(mint(stranger, at), { now: at + 63 })).error.code, "unknown_kid");
    assert.equal(idp.requests, 2, "a flood of random kids is not a flood of fetches");
  });

  test("a key the provider dropped stops verifying once the new set arrives (the token cache is cleared)", async () => {
    reset();
    const v = new E.Validator(policy());
    const at = h.nowS();
    const t = mint(k1, at);
    assert.equal((await v.verify(t, { now: at })).ok, true);
    assert.equal(v.stats().cachedTokens, 1);
    idp.keys = [k2.jwks.keys[0]];
    const r = await v.verify(t, { now: at + 301 });
    assert.equal(r.error.code, "unknown_kid");
    assert.equal(v.stats().cachedTokens, 0);
  });

  test("provider down: the last good set serves until max_stale_s, then jwks_unavailable; inline keys still verify", async () => {
    reset();
    const v = new E.Validator(policy());
    const at = h.nowS();
    assert.equal((await v.verify(mint(k1, at), { now: at })).ok, true);
    idp.status = 503;
    const stale = at + 300 + 3600; // freshness + max_stale_s
    assert.equal((await v.verify(mint(k1, stale - 10), { now: stale })).ok, true, "within the staleness bound");
    assert.match(v.stats().jwksLastError, /HTTP 503/);
    const r = await v.verify(mint(k1, stale), { now: stale + 1 });
    assert.equal(r.error.code, "jwks_unavailable");
    assert.equal(r.error.status, 503);
    assert.equal((await v.verify(mint(inline, stale), { now: stale + 1 })).ok, true, "inline keys do not depend on the provider");
  });

  test("an unusable document keeps the last good set; a provider never reached fails closed", async () => {
    reset();
    const v = new E.Validator(policy());
    const at = h.nowS();
    assert.equal((await v.verify(mint(k1, at), { now: at })).ok, true);
    idp.keys = [{ kty: "RSA", n: "AQAB", e: "AQAB", kid: "weak" }];
    assert.equal((await v.verify(mint(k1, at), { now: at + 301 })).ok, true, "a set with no usable key is ignored");
    const nowhere = new E.Validator({ ...policy(), jwks_url: "http://127.0.0.1:9/jwks.json" });
    assert.equal((await nowhere.verify(mint(k1, at), { now: at })).error.code, "jwks_unavailable");
  });

  test("jwks_url is checked at load; verifySync refuses; a custom fetch is used", async () => {
    assert.throws(() => new E.Validator({ algorithms: ["ES256"], jwks_url: "http://idp.test/jwks" }), (e) => e instanceof E.ConfigError && /^jwks_url: /.test(e.message));
    assert.throws(() => new E.Validator(policy()).verifySync("x"), TypeError);
    reset();
    const seen = [];
    const v = new E.Validator(policy(), {
      fetch: async (u, init) => {
        seen.push([u, init.headers.accept]);
        return new Response(JSON.stringify({ keys: [k2.jwks.keys[0]] }), { headers: { "cache-control": "max-age=60" } });
      },
    });
    assert.equal((await v.verify(mint(k2, h.nowS()))).ok, true);
    assert.deepEqual(seen, [[url, "application/json"]]);
    assert.equal(idp.requests, 0);
  });
});
