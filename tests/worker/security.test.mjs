// Issue 14's holes, each closed and shown closed in workerd: the route checked is the route the
// origin serves (one canonical path, forwarded), identity headers cannot be spoofed in any
// spelling, forward_authorization: false drops the token cookie, refresh never revives, widens
// or duplicates a session, cookie-authenticated refresh refuses other sites, and revocation
// times in the future or in milliseconds are refused.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const policy = h.basePolicy({
  gateway: { cookie: "session" },
  routes: [
    { path: "/health", mode: "disabled" },
    { path: "/ops/*", scopes: ["operator.write"] },
  ],
  default_route: { mode: "required" },
});
const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });

describe("one canonical path, decided on and forwarded", () => {
  let origin, worker;
  before(async () => {
    origin = await h.startOrigin();
    worker = await h.startWorker({ policy, origin: origin.url });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
  });

  test("an encoded unreserved character cannot dodge a stricter route", async () => {
    const reader = mint({ claims: { scope: "read" } });
    // Before: /%6Fps/deploy matched no /ops literal and fell to the default route.
    h.assertRejected(await worker.get("/%6Fps/deploy", reader.token), "insufficient_scope", 403);
    h.assertRejected(await worker.get("/o%70s//./deploy", reader.token), "insufficient_scope", 403);
    const operator = mint({ claims: { scope: "operator.write" } });
    const before = origin.requests.length;
    assert.equal((await worker.get("/%6Fps/x/../deploy?q=%2F", operator.token)).status, 200);
    assert.equal(origin.requests.length, before + 1);
    assert.equal(origin.requests.at(-1).url, "/ops/deploy?q=%2F", "the origin gets the canonical path, the query as sent");
  });

  test("paths the gateway cannot decide on are 400 malformed_request", async () => {
    const operator = mint({ claims: { scope: "operator.write" } });
    const before = origin.requests.length;
    for (const p of ["/ops%2Fdeploy", "/health%2F..%2Fops", "/ops%5cdeploy", "/ops/deploy;jsessionid=1", "/a%00", "/a%zz", "/%2e%2e%2fops"]) {
      const r = await worker.get(p, operator.token);
      assert.equal(r.status, 400, `${p}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, "malformed_request", p);
      assert.equal(r.headers.get("www-authenticate"), null, "not a token problem");
    }
    assert.equal(origin.requests.length, before, "nothing reached the origin");
  });

  test("client identity headers are stripped in every spelling", async () => {
    const t = mint({ sub: "ada" });
    const r = await worker.fetch("/whoami", {
      headers: {
        authorization: `Bearer ${t.token}`,
        "x-edge-jwt_sub": "mallory",
        "X_EDGE_JWT_SCOPE": "operator.write",
        "x-edge-jwt-track_": "4",
      },
    });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const seen = origin.requests.at(-1).headers;
    for (const name of Object.keys(seen)) {
      if (/^x[-_]edge[-_]jwt[-_]/i.test(name)) assert.ok(name.startsWith("x-edge-jwt-") && !name.includes("_"), `${name} reached the origin`);
    }
    assert.equal(seen["x-edge-jwt-sub"], "ada");
    // A disabled route strips them too (anonymous: nothing is set).
    await (await worker.fetch("/health", { headers: { "x-edge-jwt_sub": "mallory" } })).arrayBuffer();
    assert.ok(!Object.keys(origin.requests.at(-1).headers).some((n) => /^x[-_]edge[-_]jwt/i.test(n)));
  });
});

describe("forward_authorization: false", () => {
  let origin, worker;
  before(async () => {
    origin = await h.startOrigin();
    worker = await h.startWorker({ policy: { ...policy, gateway: { cookie: "session", forward_authorization: false } }, origin: origin.url });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
  });

  test("removes the cookie that carried the token, keeps the others", async () => {
    const t = mint();
    const r = await worker.fetch("/api", { headers: { cookie: `theme=dark; session=${t.token}; lang=en` } });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    const seen = origin.requests.at(-1).headers;
    assert.equal(seen.cookie, "theme=dark; lang=en");
    assert.ok(!JSON.stringify(seen).includes(t.token), "the token never reaches the origin");
  });
});

describe("refresh never revives, widens or duplicates a session", () => {
  const wide = h.basePolicy({ audience: [h.AUDIENCE, "ops-api"], gateway: { cookie: "session" }, tracks: { max_session_s: { 3: 40 } } });
  const mintNarrow = (opts = {}) => h.issue({ config: h.mintConfig(h.basePolicy()), ...opts });
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy: wide });
  });
  after(() => worker?.dispose());
  const refresh = (token, headers = {}) =>
    worker.json("/v1/refresh", { method: "POST", headers: { authorization: `Bearer ${token}`, ...headers } });

  test("a subject revoked in the store is not refreshed while this isolate caches 'not revoked'", async () => {
    const t = mintNarrow({ sub: "rev-sub", at: h.now() - 5 });
    assert.equal((await worker.get("/api", t.token)).status, 200, "the isolate now caches the token as not revoked");
    // Another isolate logs the subject out everywhere, through the authority.
    assert.ok((await worker.authorityWrite({ sub: "rev-sub", before: h.now() })).Written);
    assert.equal((await worker.get("/api", t.token)).status, 200, "the gateway's snapshot is still the older one (by design, snapshot_ttl_s)");
    h.assertRejected(await refresh(t.token), "revoked");
  });

  test("a token refreshed from a session begun before a subject revocation is revoked too", async () => {
    const t = mintNarrow({ sub: "sess-sub", at: h.now() - 10 });
    const r = await refresh(t.token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const fresh = h.decodeJwt(r.body.token).claims;
    assert.equal(fresh.auth_time, t.iat);
    // Log out everywhere before now - 5: after the login, before the refresh.
    assert.equal((await worker.admin("/v1/revoke", { sub: "sess-sub", before: h.now() - 5 })).status, 200);
    h.assertRejected(await worker.get("/api", r.body.token), "revoked");
  });

  test("refresh keeps aud exactly: a token for one audience never comes back valid for all", async () => {
    const t = mintNarrow({ sub: "aud-sub" });
    assert.equal(h.decodeJwt(t.token).claims.aud, h.AUDIENCE);
    const r = await refresh(t.token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const claims = h.decodeJwt(r.body.token).claims;
    assert.equal(claims.aud, h.AUDIENCE);
    assert.equal(claims.iss, h.ISSUER);
  });

  test("two concurrent refreshes of one token: exactly one succeeds", async () => {
    const t = mintNarrow({ sub: "race-sub" });
    const results = await Promise.all([refresh(t.token), refresh(t.token), refresh(t.token)]);
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, JSON.stringify(results.map((r) => [r.status, r.body.code])));
    for (const r of results.filter((r) => r.status !== 200)) h.assertRejected(r, "revoked");
    // Reusing the rotated token later is refused and logged.
    h.assertRejected(await refresh(t.token), "revoked");
    assert.ok(worker.logs.some((line) => line.includes("edge_jwt_refresh_reuse")), "the reuse is logged");
  });

  test("a chain of refreshes ends at the track's max_session_s", async () => {
    const t = mintNarrow({ sub: "long-sub", track: "3", at: h.now() - 41 });
    h.assertRejected(await refresh(t.token), "session_expired");
    const young = mintNarrow({ sub: "young-sub", track: "3", at: h.now() - 10 });
    const r = await refresh(young.token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.expires_at <= young.iat + 40, "the successor never outlives the session");
  });

  test("a cookie-authenticated refresh from another site is 403; same-site and bearer pass", async () => {
    const t = mintNarrow({ sub: "csrf-sub" });
    const cross = await worker.json("/v1/refresh", { method: "POST", headers: { cookie: `session=${t.token}`, "sec-fetch-site": "cross-site" } });
    assert.equal(cross.status, 403, JSON.stringify(cross.body));
    assert.equal(cross.body.code, "cross_site_request");
    const otherOrigin = await worker.json("/v1/logout", { method: "POST", headers: { cookie: `session=${t.token}`, origin: "https://evil.test" } });
    assert.equal(otherOrigin.body.code, "cross_site_request");
    const same = await worker.json("/v1/refresh", { method: "POST", headers: { cookie: `session=${t.token}`, "sec-fetch-site": "same-origin" } });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    const u = mintNarrow({ sub: "csrf-sub" });
    assert.equal((await refresh(u.token, { "sec-fetch-site": "cross-site" })).status, 200, "a bearer header is never sent by a browser on its own");
  });

  test("a revocation before in the future or in milliseconds is refused with 400", async () => {
    for (const body of [{ before: h.now() + 3600 }, { sub: "x", before: h.now() + 3600 }, { before: Date.now() }]) {
      const r = await worker.admin("/v1/revoke", body);
      assert.equal(r.status, 400, JSON.stringify([body, r.body]));
    }
    assert.equal((await worker.admin("/v1/revoke", { before: h.now() - 3600 })).status, 200);
  });
});

describe("introspection cannot decide: 503, never active: false", () => {
  test("the remote JWKS is down and no copy is held: 503 jwks_unavailable", async () => {
    const http = await import("node:http");
    const server = http.createServer((req, res) => {
      res.writeHead(500);
      res.end("down");
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const key = h.keygen("ES256", "k-down");
    const jwksPolicy = {
      algorithms: ["ES256"],
      issuer: h.ISSUER,
      audience: h.AUDIENCE,
      jwks_url: `http://127.0.0.1:${server.address().port}/jwks.json`,
      jwks: { allow_http: true, timeout_ms: 1000 },
    };
    const worker = await h.startWorker({ policy: jwksPolicy, secret: null });
    try {
      const token = h.issue({ config: { ...jwksPolicy, keys: key.jwks.keys }, key: key.private_jwk }).token;
      const r = await worker.admin("/v1/introspect", { token });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.code, "jwks_unavailable");
      assert.equal(r.body.active, undefined, "no verdict about the token");
    } finally {
      await worker.dispose();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    }
  });
});
