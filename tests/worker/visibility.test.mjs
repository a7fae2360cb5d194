// Visibility: per-isolate counters by outcome code and track in /v1/health, data points to a
// METRICS Analytics Engine binding (every rejection, a sample of accepted requests, never a
// token, subject or path), and Server-Timing when gateway.server_timing is on.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

describe("outcome counters and Analytics Engine data points", () => {
  const policy = h.basePolicy({ gateway: { metrics_sample_every: 3, server_timing: true } });
  const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, metrics: "recorder" });
  });
  after(() => worker?.dispose());

  test("counts by code and track; one point per rejection, one per 3 accepted, weighted", async () => {
    const before = (await worker.health()).isolate.outcomes;
    for (let i = 0; i < 6; i++) assert.equal((await worker.get("/api", mint({ sub: `ok-${i}`, track: 4 }).token)).status, 200);
    h.assertRejected(await worker.get("/api", mint({ sub: "old", track: 4, at: h.now() - 7200 }).token), "expired");
    h.assertRejected(await worker.get("/api"), "missing_token");
    assert.equal((await worker.get("/api", mint({ sub: "odd", track: "zz-unlisted" }).token)).status, 200);
    const outcomes = (await worker.health()).isolate.outcomes;
    const delta = (code, track) => (outcomes[code]?.[track] ?? 0) - (before[code]?.[track] ?? 0);
    assert.equal(delta("ok", "4"), 6, JSON.stringify(outcomes));
    assert.equal(delta("missing_token", "none"), 1);
    assert.equal(delta("ok", "other"), 1, "a track outside the table is counted as other");
    assert.ok(!JSON.stringify(outcomes).includes("zz-unlisted"));
    // An expired token never verifies: no track is trusted for it.
    assert.equal(delta("expired", "none"), 1);

    const points = worker.events("test_metrics_point");
    const rejected = points.filter((p) => p.doubles[0] >= 400);
    const accepted = points.filter((p) => p.doubles[0] < 400);
    assert.equal(rejected.length, 2, JSON.stringify(points));
    assert.ok(rejected.every((p) => p.doubles[1] === 1));
    assert.equal(accepted.length, 2, "7 accepted, every 3rd written");
    for (const p of accepted) {
      assert.equal(p.doubles[1], 3, "weighted by the sampling");
      assert.equal(p.blobs[0], "ok");
      assert.equal(p.blobs[2], "HS256");
      assert.deepEqual(p.indexes, [p.blobs[1]]);
    }
    assert.deepEqual(rejected.map((p) => p.blobs[0]).sort(), ["expired", "missing_token"]);
    // Nothing that identifies a user or a request.
    assert.ok(!JSON.stringify(points).match(/ok-\d|alice|\/api|eyJ/), JSON.stringify(points));
  });

  test("Server-Timing names the outcome", async () => {
    const ok = await worker.get("/api", mint({ sub: "timed" }).token);
    assert.match(ok.headers.get("server-timing"), /^edge-jwt;dur=\d+;desc="pass"$/);
    const refused = await worker.get("/api");
    assert.match(refused.headers.get("server-timing"), /^edge-jwt;dur=\d+;desc="missing_token"$/);
  });
});

describe("with Miniflare's own Analytics Engine binding and Server-Timing off", () => {
  const policy = h.basePolicy();
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, metrics: "miniflare" });
  });
  after(() => worker?.dispose());

  test("the binding takes the points; responses carry no Server-Timing", async () => {
    const t = h.issue({ config: h.mintConfig(policy), sub: "mf" });
    for (let i = 0; i < 3; i++) {
      const r = await worker.get("/api", t.token);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("server-timing"), null);
    }
    h.assertRejected(await worker.get("/api"), "missing_token");
  });
});

describe("Server-Timing on a forwarded response", () => {
  const policy = h.basePolicy({ gateway: { server_timing: true } });
  let worker, origin;
  before(async () => {
    origin = await h.startOrigin({
      respond(req, res) {
        res.writeHead(201, { "content-type": "text/plain", "server-timing": "db;dur=7", "x-from-origin": "1" });
        res.end("made");
        return true;
      },
    });
    worker = await h.startWorker({ policy, origin: origin.url });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
  });

  test("the origin's status, headers, body and Server-Timing are kept, edge-jwt's appended", async () => {
    const t = h.issue({ config: h.mintConfig(policy), sub: "fwd" });
    const res = await worker.fetch("/api", { headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(res.status, 201);
    assert.equal(await res.text(), "made");
    assert.equal(res.headers.get("x-from-origin"), "1");
    assert.match(res.headers.get("server-timing"), /^db;dur=7, edge-jwt;dur=\d+;desc="pass"$/);
  });
});
