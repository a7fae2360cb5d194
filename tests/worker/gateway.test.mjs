// The gateway path end to end in workerd: a valid token is forwarded to a loopback origin with
// the request intact and the verified identity added; spoofed identity headers never reach the
// origin; Authorization is forwarded unless the policy says not to; without ORIGIN the Worker
// answers with the verified claims; a token may come from the configured cookie.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const policy = h.basePolicy({ gateway: { cookie: "session" } });
const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });

describe("gateway forwarding to ORIGIN", () => {
  let origin, elsewhere, worker;
  before(async () => {
    // A second server standing for any other host the origin might redirect to.
    elsewhere = await h.startOrigin();
    origin = await h.startOrigin({
      respond(req, res) {
        if (req.url.endsWith("/teapot")) {
          res.writeHead(418, { "x-up": "yes", "set-cookie": ["a=1; Path=/", "b=2; Path=/"], "content-type": "text/plain" });
          res.end("short and stout");
          return true;
        }
        if (req.url.endsWith("/redirect")) {
          res.writeHead(302, { location: `${elsewhere.url}/landing` });
          res.end();
          return true;
        }
        return false;
      },
    });
    worker = await h.startWorker({ policy, origin: origin.url });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
    await elsewhere?.close();
  });

  test("a valid token is forwarded with method, path, query and body preserved", async () => {
    const t = mint({ claims: { scope: "read write" } });
    const body = Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13, 0x22]);
    const before = origin.requests.length;
    const res = await worker.fetch("/api/items/42%2cx?a=1&b=%20two&a=3", {
      method: "PUT",
      headers: { authorization: `Bearer ${t.token}`, "content-type": "application/octet-stream", "x-custom": "kept" },
      body,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { origin: "ok" }, "the origin's answer is returned");
    assert.equal(res.headers.get("x-from-origin"), "1");
    assert.equal(origin.requests.length, before + 1, "exactly one upstream request");
    const seen = origin.requests.at(-1);
    assert.equal(seen.method, "PUT");
    // The canonical path (escapes in upper case), the query exactly as sent.
    assert.equal(seen.url, "/api/items/42%2Cx?a=1&b=%20two&a=3");
    assert.deepEqual(seen.body, body);
    assert.equal(seen.headers["content-type"], "application/octet-stream");
    assert.equal(seen.headers["x-custom"], "kept");
  });

  test("identity headers carry the verified sub, jti, track, scope and exp", async () => {
    const t = mint({ sub: "bob@example.com", track: "2", claims: { scope: "orders:read orders:write" } });
    const res = await worker.fetch("/whoami", { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const seen = origin.requests.at(-1).headers;
    assert.equal(seen["x-edge-jwt-sub"], "bob@example.com");
    assert.equal(seen["x-edge-jwt-jti"], t.jti);
    assert.equal(seen["x-edge-jwt-track"], "2");
    assert.equal(seen["x-edge-jwt-scope"], "orders:read orders:write");
    assert.equal(seen["x-edge-jwt-exp"], String(t.exp));
  });

  test("scp array claims become the space-separated scope header; no scope, no header", async () => {
    const withScp = mint({ claims: { scp: ["a", "b"] } });
    let res = await worker.fetch("/s", { headers: { authorization: `Bearer ${withScp.token}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(origin.requests.at(-1).headers["x-edge-jwt-scope"], "a b");
    const bare = mint();
    res = await worker.fetch("/s", { headers: { authorization: `Bearer ${bare.token}`, "x-edge-jwt-scope": "admin" } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(origin.requests.at(-1).headers["x-edge-jwt-scope"], undefined, "a spoofed scope is dropped, none added");
  });

  test("client-sent x-edge-jwt-* headers are stripped, whatever their case", async () => {
    const t = mint({ sub: "alice" });
    const res = await worker.fetch("/spoof", {
      headers: {
        authorization: `Bearer ${t.token}`,
        "x-edge-jwt-sub": "mallory",
        "X-Edge-JWT-Track": "1",
        "x-edge-jwt-admin": "true",
        "x-EDGE-jwt-jti": "forged",
      },
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const seen = origin.requests.at(-1).headers;
    assert.equal(seen["x-edge-jwt-sub"], "alice");
    assert.equal(seen["x-edge-jwt-track"], "4");
    assert.equal(seen["x-edge-jwt-jti"], t.jti);
    assert.equal(seen["x-edge-jwt-admin"], undefined);
    const ours = Object.keys(seen).filter((k) => k.startsWith("x-edge-jwt-")).sort();
    assert.deepEqual(ours, ["x-edge-jwt-exp", "x-edge-jwt-jti", "x-edge-jwt-sub", "x-edge-jwt-track"]);
  });

  test("Authorization is forwarded by default", async () => {
    const t = mint();
    const res = await worker.fetch("/auth", { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(origin.requests.at(-1).headers.authorization, `Bearer ${t.token}`);
  });

  test("the origin's status, headers and body come back as they are", async () => {
    const t = mint();
    const res = await worker.fetch("/teapot", { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 418);
    assert.equal(res.headers.get("x-up"), "yes");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1; Path=/", "b=2; Path=/"]);
    assert.equal(await res.text(), "short and stout");
  });

  test("a 1 MiB request body reaches the origin intact", async () => {
    const t = mint();
    const body = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) & 0xff));
    const res = await worker.fetch("/upload", { method: "POST", headers: { authorization: `Bearer ${t.token}` }, body });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(Buffer.compare(origin.requests.at(-1).body, body), 0);
  });

  test(
    "an upstream redirect is handed to the client, never followed with the identity headers",
    async () => {
      const t = mint({ sub: "redirected" });
      const before = elsewhere.requests.length;
      const res = await worker.fetch("/redirect", { headers: { authorization: `Bearer ${t.token}` }, redirect: "manual" });
      await res.arrayBuffer();
      assert.equal(elsewhere.requests.length, before, `the other host received ${JSON.stringify(elsewhere.requests.at(-1)?.headers)}`);
      assert.equal(res.status, 302);
      assert.equal(res.headers.get("location"), `${elsewhere.url}/landing`);
    },
  );

  test(
    "a verified sub that cannot be a header value gets a JSON answer, not an unhandled 500",
    async () => {
      const token = h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims({ sub: "a\u0000b\r\nx-edge-jwt-admin: 1" }));
      const r = await worker.get("/ctl", token);
      assert.notEqual(r.status, 500, `${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body, "object", "a JSON body");
      if (r.status === 401) assert.equal(r.body.code, "invalid_claim");
      else assert.equal(origin.requests.at(-1).headers["x-edge-jwt-admin"], undefined);
    },
  );

  test("a rejected request never reaches the origin", async () => {
    const before = origin.requests.length;
    const r = await worker.get("/secret", "not.a.token");
    h.assertRejected(r, "malformed");
    const r2 = await worker.get("/secret");
    h.assertRejected(r2, "missing_token");
    assert.equal(origin.requests.length, before);
  });

  test("the token may come from the configured cookie", async () => {
    const t = mint({ sub: "cookie-user" });
    const res = await worker.fetch("/c", { headers: { cookie: `theme=dark; session=${t.token}; other=1` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(origin.requests.at(-1).headers["x-edge-jwt-sub"], "cookie-user");
    // Another cookie name is not a token.
    const r = await worker.get("/c", null, { cookie: `edge_jwt=${t.token}` });
    h.assertRejected(r, "missing_token");
    // A bad token in the cookie is refused like one in the header.
    const bad = await worker.get("/c", null, { cookie: "session=abc.def" });
    h.assertRejected(bad, "malformed");
  });

  test("gateway.forward_authorization=false removes Authorization upstream", async () => {
    await worker.reconfigure({
      policy: { ...policy, gateway: { ...policy.gateway, forward_authorization: false } },
      origin: origin.url,
    });
    const t = mint({ sub: "carol" });
    const res = await worker.fetch("/na", { headers: { authorization: `Bearer ${t.token}`, "x-keep": "yes" } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const seen = origin.requests.at(-1).headers;
    assert.equal(seen.authorization, undefined);
    assert.equal(seen["x-keep"], "yes");
    assert.equal(seen["x-edge-jwt-sub"], "carol");
  });
});

describe("ORIGIN with a base path", () => {
  let origin, worker;
  before(async () => {
    origin = await h.startOrigin();
    worker = await h.startWorker({ policy, origin: `${origin.url}/base/` });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
  });

  test("the request path and query are appended to ORIGIN's path", async () => {
    const t = mint();
    const res = await worker.fetch("/api/x?q=1", { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(origin.requests.at(-1).url, "/base/api/x?q=1");
  });
});

describe("gateway without ORIGIN (development default)", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  test("answers 200 with the verified claims, header and track as JSON", async () => {
    const t = mint({ sub: "dev", track: "3", claims: { scope: "x", tenant: "acme" } });
    const r = await worker.get("/anything/here?q=1", t.token);
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, true);
    assert.deepEqual(r.body.claims, h.decodeJwt(t.token).claims);
    assert.equal(r.body.claims.tenant, "acme");
    assert.deepEqual(r.body.header, { alg: "HS256", typ: "JWT" });
    assert.equal(r.body.track, "3");
    assert.equal(r.body.ttl_ceiling_s, 14400);
    // Same verdict as the core's CLI on the same token.
    const cli = h.cliVerify(h.mintConfig(policy), t.token);
    assert.equal(cli.ok, true);
    assert.deepEqual(r.body.claims, cli.claims);
    assert.equal(r.body.ttl_ceiling_s, cli.ttl_ceiling_s);
  });

  test("the bearer scheme is case-insensitive (RFC 6750 §2.1)", async () => {
    const t = mint();
    const r = await worker.json("/x", { headers: { authorization: `bEaReR ${t.token}` } });
    assert.equal(r.status, 200);
  });

  test("unknown API paths are 404, not the gateway", async () => {
    const t = mint();
    for (const p of ["/v1/nope", "/.well-known/other"]) {
      const r = await worker.get(p, t.token);
      assert.equal(r.status, 404, p);
      assert.equal(r.body.error, "not_found");
    }
  });
});
