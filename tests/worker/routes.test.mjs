// Route policy in workerd (issue 5): disabled / optional / required routes, 403 insufficient_scope
// and track_not_allowed with the RFC 6750 challenge, first-match order, and config errors.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const policy = h.basePolicy({
  routes: [
    { path: "/health", mode: "disabled" },
    { path: "/catalog/*", methods: ["GET"], mode: "optional" },
    { path: "/ops/*", scopes: ["operator.write"], tracks: [4] },
  ],
});
const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts }).token;

describe("route policy", () => {
  let origin, worker;
  before(async () => {
    origin = await h.startOrigin();
    worker = await h.startWorker({ policy, origin: origin.url });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
  });
  const lastForwarded = () => origin.requests.at(-1);

  test("a disabled route needs no token and still strips spoofed identity headers", async () => {
    const r = await worker.get("/health", null, { "x-edge-jwt-sub": "mallory", "X-Edge-JWT-Track": "4" });
    assert.equal(r.status, 200);
    const seen = lastForwarded();
    assert.equal(seen.url, "/health");
    assert.equal(seen.headers["x-edge-jwt-sub"], undefined);
    assert.equal(seen.headers["x-edge-jwt-track"], undefined);
  });

  test("an optional route lets an anonymous request through, without identity headers", async () => {
    const r = await worker.get("/catalog/books?page=2", null, { "x-edge-jwt-sub": "mallory" });
    assert.equal(r.status, 200);
    assert.equal(lastForwarded().url, "/catalog/books?page=2");
    assert.equal(lastForwarded().headers["x-edge-jwt-sub"], undefined);
  });

  test("an optional route verifies and forwards a valid token", async () => {
    const r = await worker.get("/catalog/books", mint({ sub: "bob", track: "2" }));
    assert.equal(r.status, 200);
    assert.equal(lastForwarded().headers["x-edge-jwt-sub"], "bob");
    assert.equal(lastForwarded().headers["x-edge-jwt-track"], "2");
  });

  test("an optional route still refuses an invalid token", async () => {
    const token = mint();
    const tampered = token.slice(0, -6) + (token.endsWith("AAAAAA") ? "BBBBBB" : "AAAAAA");
    const r = await worker.get("/catalog/books", tampered);
    h.assertRejected(r, "bad_signature");
  });

  test("methods narrow a route: POST /catalog falls through to the default (required)", async () => {
    const r = await worker.json("/catalog/books", { method: "POST", body: "{}" });
    h.assertRejected(r, "missing_token");
  });

  test("a required route with scope and track: track 4 with operator.write passes", async () => {
    const r = await worker.get("/ops/deploy", mint({ track: "4", claims: { scope: "read operator.write" } }));
    assert.equal(r.status, 200);
    assert.equal(lastForwarded().headers["x-edge-jwt-scope"], "read operator.write");
  });

  test("the scp array form grants scopes too", async () => {
    const r = await worker.get("/ops/deploy", mint({ track: "4", claims: { scp: ["operator.write"] } }));
    assert.equal(r.status, 200);
  });

  test("a missing scope answers 403 insufficient_scope naming the scope (RFC 6750)", async () => {
    const r = await worker.get("/ops/deploy", mint({ track: "4", claims: { scope: "read" } }));
    assert.equal(r.status, 403);
    assert.equal(r.body.code, "insufficient_scope");
    assert.equal(r.body.error, "insufficient_scope");
    assert.match(
      r.headers.get("www-authenticate"),
      /^Bearer error="insufficient_scope", error_description="[^"]+", scope="operator\.write"$/,
    );
  });

  test("a track that may not use the route answers 403 track_not_allowed", async () => {
    const r = await worker.get("/ops/deploy", mint({ track: "1", claims: { scope: "operator.write" } }));
    assert.equal(r.status, 403);
    assert.equal(r.body.code, "track_not_allowed");
    assert.match(r.headers.get("www-authenticate"), /^Bearer error="insufficient_scope"/);
    const line = await worker.waitForLog((l) => l.includes('"track_not_allowed"'));
    assert.ok(line, "a rejection log line is written");
    assert.ok(!line.includes(mint().split(".")[2]), "the log never holds a token");
  });

  test("doubled slashes cannot slip past the stricter route", async () => {
    const r = await worker.get("http://worker.test//ops//deploy", mint({ track: "1", claims: { scope: "operator.write" } }));
    assert.equal(r.status, 403);
    assert.equal(r.body.code, "track_not_allowed");
  });

  test("unmatched paths are required by default", async () => {
    h.assertRejected(await worker.get("/elsewhere"), "missing_token");
  });
});

describe("route config errors are reported at start", () => {
  for (const [name, routes] of [
    ["a shadowed route", [{ path: "/a/*" }, { path: "/a/b" }]],
    ["an unknown mode", [{ path: "/a", mode: "sometimes" }]],
    ["a scope that is not a string", [{ path: "/a", scopes: [5] }]],
  ]) {
    test(`${name} answers 500 config_error with the field path logged`, async () => {
      const worker = await h.startWorker({ policy: h.basePolicy({ routes }) });
      try {
        const r = await worker.get("/a");
        assert.equal(r.status, 500);
        assert.equal(r.body.code, "config_error");
        const line = await worker.waitForLog((l) => l.includes("edge_jwt_config_error"));
        assert.match(line, /routes\[\d\]/);
      } finally {
        await worker.dispose();
      }
    });
  }
});
