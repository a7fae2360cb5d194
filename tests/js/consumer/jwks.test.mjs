// Remote JWKS (`jwks_url`) in the package: the core's state machine decides (freshness from
// Cache-Control, one refetch per interval for an unknown kid, staleness bound, fail closed with
// jwks_unavailable) and the package fetches with `fetch`, as the Worker does. A loopback HTTP
// server plays the identity provider; `now` moves the validator's clock.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
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

// Issue 14, item 12: as the Worker, the package never follows a redirect, never takes an `oct`
// key from the remote set as an HMAC secret, and reads the body with the size limit enforced
// while it streams in.
describe("remote JWKS hardening", () => {
  /** Largest JWKS document accepted (the core's `jwks::MAX_DOCUMENT_BYTES`). */
  const MAX_JWKS_BYTES = 256 * 1024;
  const servers = [];
  after(() => Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections?.(); s.close(r); }))));

  async function serve(handler) {
    const served = { hits: 0 };
    const s = http.createServer((req, res) => {
      served.hits++;
      handler(req, res);
    });
    servers.push(s);
    await new Promise((r) => s.listen(0, "127.0.0.1", r));
    return Object.assign(served, { url: `http://127.0.0.1:${s.address().port}/.well-known/jwks.json` });
  }

  /** Sends `bytes` of body (chunked unless `contentLength` is given), then holds the response open. */
  const oversized = ({ bytes, contentLength, holdMs = 8000 }) =>
    serve((req, res) => {
      const headers = { "content-type": "application/json" };
      if (contentLength !== undefined) headers["content-length"] = String(contentLength);
      res.writeHead(200, headers);
      res.write('{"keys":[');
      const chunk = " ".repeat(16 * 1024);
      for (let sent = 0; sent < bytes; sent += chunk.length) res.write(chunk);
      const timer = setTimeout(() => res.destroy(), holdMs);
      res.on("close", () => clearTimeout(timer));
    });

  test("a redirect is not followed: the set it points to is never fetched", async () => {
    reset();
    const redirecting = await serve((req, res) => {
      res.writeHead(302, { location: url });
      res.end();
    });
    const v = new E.Validator({ ...policy(), jwks_url: redirecting.url });
    const at = h.nowS();
    const r = await v.verify(mint(k1, at), { now: at });
    assert.equal(r.ok, false);
    assert.equal(r.error.code, "jwks_unavailable");
    assert.equal(redirecting.hits, 1);
    assert.equal(idp.requests, 0, "the redirect target was never fetched");
    assert.match(v.stats().jwksLastError, /^HTTP 302: redirect not followed/);
    assert.equal((await v.verify(mint(inline, at), { now: at })).ok, true, "inline keys still verify");
  });

  test("fetch is asked not to follow redirects, and a followed one is refused anyway", async () => {
    reset();
    const seen = [];
    const v = new E.Validator(policy(), {
      fetch: async (u, init) => {
        seen.push(init.redirect);
        // A fetch that ignores `redirect: "manual"` and followed the redirect itself.
        return { status: 200, redirected: true, headers: new Headers(), body: null, text: async () => JSON.stringify({ keys: [k1.jwks.keys[0]] }) };
      },
    });
    const at = h.nowS();
    assert.equal((await v.verify(mint(k1, at), { now: at })).error.code, "jwks_unavailable");
    assert.deepEqual(seen, ["manual"]);
    assert.match(v.stats().jwksLastError, /redirect not followed/);
  });

  test("an oct key in the remote set is skipped: it cannot verify an HS256 token", async () => {
    const secret = crypto.randomBytes(32);
    reset([k1.jwks.keys[0], { kty: "oct", kid: "sym", alg: "HS256", use: "sig", k: h.b64url(secret) }]);
    const v = new E.Validator({ ...policy(), algorithms: ["ES256", "EdDSA", "HS256"] });
    const at = h.nowS();
    assert.equal((await v.verify(mint(k1, at), { now: at })).ok, true, "the set was accepted: its EC key verifies");
    const claims = { sub: "alice", track: 4, iat: at, exp: at + 600, jti: crypto.randomUUID() };
    const named = h.signHmac({ alg: "HS256", typ: "JWT", kid: "sym" }, claims, secret);
    assert.equal((await v.verify(named, { now: at })).error.code, "unknown_kid");
    const kidless = h.signHmac({ alg: "HS256", typ: "JWT" }, claims, secret);
    assert.equal((await v.verify(kidless, { now: at })).error.code, "alg_not_allowed");
  });

  for (const { name, serve, lastError, waited } of [
    {
      name: "an oversized body streamed without Content-Length is refused as soon as the limit is passed",
      serve: { bytes: MAX_JWKS_BYTES + 64 * 1024 },
      lastError: `document too large (more than ${MAX_JWKS_BYTES} bytes)`,
      waited: "the body was read to its end",
    },
    {
      name: "a Content-Length over the limit fails before the body is read",
      serve: { bytes: 1024, contentLength: 4 * MAX_JWKS_BYTES },
      lastError: `document too large (Content-Length ${4 * MAX_JWKS_BYTES} > ${MAX_JWKS_BYTES} bytes)`,
      waited: "the body was waited for",
    },
  ]) {
    test(name, async () => {
      const big = await oversized(serve);
      const v = new E.Validator({ ...policy(), jwks_url: big.url, jwks: { ...policy().jwks, timeout_ms: 20000 } });
      const at = h.nowS();
      const started = Date.now();
      const r = await v.verify(mint(k1, at), { now: at });
      const elapsed = Date.now() - started;
      assert.equal(r.error.code, "jwks_unavailable");
      assert.ok(elapsed < 4000, `refused after ${elapsed} ms: ${waited}`);
      assert.equal(v.stats().jwksLastError, lastError);
    });
  }
});
