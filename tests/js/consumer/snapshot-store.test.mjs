// SnapshotStore: a Node gateway behind the edge enforces exactly the edge's revocations. The
// edge is the real edge-jwt Worker in workerd (Miniflare, tests/worker/harness.mjs: its
// revocation authority is a real Durable Object publishing the MAC'd snapshot); the Node
// gateways are the installed package's Hono (@hono/node-server) and Express middleware over
// real HTTP, whose SnapshotStore reads the Worker's loopback URL. Requests to the Worker are
// counted through a wrapped fetch; nothing under test is replaced. The Worker is the built one
// (build/worker); like the Worker tests, the harness rebuilds it when it is older than its
// sources unless EDGE_JWT_NO_BUILD=1.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { inspect } from "node:util";
import { pathToFileURL } from "node:url";

import { Hono } from "hono";
import { serve } from "@hono/node-server";
import express from "express";
import * as E from "edge-jwt";
import { edgeJwt as honoEdgeJwt } from "edge-jwt/hono";
import { edgeJwt as expressEdgeJwt } from "edge-jwt/express";

import * as h from "./helpers.mjs"; // also checks EDGE_JWT and EDGE_JWT_ROOT

const harness = await import(pathToFileURL(path.join(process.env.EDGE_JWT_ROOT, "tests/worker/harness.mjs")).href);
const { ADMIN_TOKEN, SNAPSHOT_KEY } = harness;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowS = () => Math.floor(Date.now() / 1000);

/** Polls `probe` every 100 ms until it is true (at most `ms`); the time it took, or null. */
async function within(ms, probe) {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) return null;
    await sleep(100);
  }
  return Date.now() - start;
}

/** `globalThis.fetch`, recording each request's method, path and answer status. */
function countingFetch() {
  const calls = [];
  const fetchImpl = async (input, init) => {
    const call = { method: init?.method ?? "GET", path: new URL(input).pathname, status: null };
    calls.push(call);
    const response = await fetch(input, init);
    call.status = response.status;
    return response;
  };
  const count = (method, p) => calls.filter((c) => c.method === method && c.path === p).length;
  return { calls, fetch: fetchImpl, snapshotReads: () => count("GET", "/v1/revocation/snapshot"), exactChecks: () => count("POST", "/v1/revocation/check") };
}

async function listen(server) {
  if (!server.listening) await new Promise((r) => server.once("listening", r));
  return `http://127.0.0.1:${server.address().port}`;
}

function startHono(validator) {
  const app = new Hono();
  app.use("*", honoEdgeJwt(validator));
  app.all("*", (c) => c.json({ handler: "hono", sub: c.get("edgeJwt")?.claims.sub ?? null }));
  return serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
}

function startExpress(validator) {
  const app = express();
  app.use(expressEdgeJwt(validator));
  app.use((req, res) => res.json({ handler: "express", sub: req.edgeJwt?.claims.sub ?? null }));
  return app.listen(0, "127.0.0.1");
}

async function get(base, p, token) {
  const res = await fetch(base + p, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  const body = h.jsonOrText(text);
  return { status: res.status, body };
}

/** Starts the Node gateways over `validator`; `close()` ends them. */
async function gateways(validator) {
  const servers = [startHono(validator), startExpress(validator)];
  const [hono, exp] = await Promise.all(servers.map(listen));
  return {
    hono,
    express: exp,
    async close() {
      for (const s of servers) {
        s.closeAllConnections?.();
        await new Promise((r) => s.close(r));
      }
    },
  };
}

describe("construction: the key, the admin token and the URL are checked up front", () => {
  const url = "https://edge.example";
  test("a key shorter than 32 bytes is a TypeError that never shows the key", () => {
    const short = "short-secret-0123456789";
    for (const key of [short, new TextEncoder().encode(short), undefined, 42]) {
      assert.throws(
        () => new E.SnapshotStore({ url, adminToken: ADMIN_TOKEN, key }),
        (e) => e instanceof TypeError && /SNAPSHOT_KEY/.test(e.message) && !e.message.includes(short),
      );
    }
    const store = new E.SnapshotStore({ url, adminToken: ADMIN_TOKEN, key: new TextEncoder().encode(SNAPSHOT_KEY) });
    assert.equal(store.url, url);
    const shown = inspect(store, { showHidden: true, depth: 5 }) + JSON.stringify(store);
    assert.ok(!shown.includes(SNAPSHOT_KEY) && !shown.includes(ADMIN_TOKEN), shown);
  });

  test("the admin token is required, and never sent in clear beyond loopback", () => {
    assert.throws(() => new E.SnapshotStore({ url, key: SNAPSHOT_KEY }), TypeError);
    assert.throws(() => new E.SnapshotStore({ url, adminToken: "", key: SNAPSHOT_KEY }), TypeError);
    for (const bad of ["http://edge.example", "ftp://edge.example", "not a url", "https://edge.example/?q=1", "https://u:p@edge.example"]) {
      assert.throws(() => new E.SnapshotStore({ url: bad, adminToken: ADMIN_TOKEN, key: SNAPSHOT_KEY }), TypeError, bad);
    }
    for (const ok of ["http://127.0.0.1:8787", "http://localhost:8787/", "http://[::1]:8787"]) {
      assert.ok(new E.SnapshotStore({ url: ok, adminToken: ADMIN_TOKEN, key: SNAPSHOT_KEY }));
    }
  });

  test("a Validator with a SnapshotStore checks revocation (no verifySync), without a request yet", () => {
    const counted = countingFetch();
    const store = new E.SnapshotStore({ url, adminToken: ADMIN_TOKEN, key: SNAPSHOT_KEY, fetch: counted.fetch });
    const v = new E.Validator({ algorithms: ["HS256"], secret: harness.SECRET }, { store });
    assert.equal(v.hasStore, true);
    assert.throws(() => v.verifySync("x"), TypeError);
    assert.equal(v.stats().snapshot.epoch, null);
    assert.equal(counted.calls.length, 0);
  });
});

describe("a Node gateway behind the edge enforces the edge's revocations", () => {
  // Every isolate and the Node gateway reread the snapshot every second; track 4 (operators)
  // is checked against the authority on every request.
  const policy = harness.basePolicy({
    revocation: { snapshot_ttl_s: 1 },
    tracks: { max_staleness_s: { 4: 0 } },
  });
  const mint = (opts = {}) => harness.issue({ config: harness.mintConfig(policy), ...opts });
  let worker, counted, validator, node;
  before(async () => {
    worker = await harness.startWorker({ policy });
    counted = countingFetch();
    const store = new E.SnapshotStore({ url: worker.url.href, adminToken: ADMIN_TOKEN, key: SNAPSHOT_KEY, fetch: counted.fetch });
    validator = new E.Validator({ ...policy, secret: harness.SECRET }, { store });
    node = await gateways(validator);
  });
  after(async () => {
    await node?.close();
    await worker?.dispose();
  });

  test("a revocation at the Worker: the Node gateways refuse the token within snapshot_ttl_s", async () => {
    const t = mint({ sub: "spread", track: 1 });
    for (const base of [node.hono, node.express]) {
      const r = await get(base, "/api", t.token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.sub, "spread");
    }
    const revoked = await worker.admin("/v1/revoke", { jti: t.jti, exp: t.exp });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const took = await within(6000, async () => (await get(node.hono, "/api", t.token)).status === 401);
    assert.notEqual(took, null, "refused within the bound");
    // The edge promised `enforced_by` (its publication plus its isolates' snapshot_ttl_s); the
    // Node gateway reads the Worker's copy once more per its own snapshot_ttl_s (1 s), and the
    // seconds are whole (2 s of slack for a loaded machine).
    assert.ok(nowS() <= revoked.body.enforced_by + 1 + 2, `${nowS()} vs enforced_by ${revoked.body.enforced_by}`);
    for (const base of [node.hono, node.express]) {
      const r = await get(base, "/api", t.token);
      assert.equal(r.status, 401);
      assert.equal(r.body.code, "revoked");
    }
    const view = validator.stats().snapshot;
    assert.ok(view.epoch >= revoked.body.epoch, JSON.stringify(view));
  });

  test("a strict track (max_staleness_s 0) is refused on the next request (exact check)", async () => {
    const op = mint({ sub: "operator", track: 4 });
    assert.equal((await get(node.express, "/api", op.token)).status, 200);
    const checks = counted.exactChecks();
    assert.equal((await worker.admin("/v1/revoke", { jti: op.jti, exp: op.exp })).status, 200);
    const r = await get(node.express, "/api", op.token);
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.equal(r.body.code, "revoked");
    assert.equal(counted.exactChecks(), checks + 1, "one POST /v1/revocation/check per request");
  });

  test("one conditional GET per snapshot_ttl_s, however many requests and gateways", async () => {
    const tokens = Array.from({ length: 40 }, (_, i) => mint({ sub: `many-${i}`, track: 1 }).token);
    await get(node.hono, "/api", tokens[0]);
    const reads = counted.snapshotReads();
    const checks = counted.exactChecks();
    const start = Date.now();
    let served = 0;
    while (Date.now() - start < 3500) {
      for (const base of [node.hono, node.express]) {
        const r = await get(base, "/api", tokens[served % tokens.length]);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        served += 1;
      }
    }
    const elapsed = (Date.now() - start) / 1000;
    const made = counted.snapshotReads() - reads;
    assert.ok(served >= 40, `${served} requests`);
    assert.ok(made >= 2 && made <= Math.ceil(elapsed) + 1, `${made} snapshot reads in ${elapsed} s for ${served} requests`);
    assert.equal(counted.exactChecks(), checks, "no exact check for a track that allows staleness");
    assert.ok(counted.calls.some((c) => c.status === 304), "an unchanged snapshot comes back as 304");
    assert.equal(validator.stats().snapshot.refused, 0);
  });

  test("validator.revoke() with a SnapshotStore is applied at the edge, and enforced here at once", async () => {
    const t = mint({ sub: "from-node", track: 1 });
    assert.equal((await get(node.hono, "/api", t.token)).status, 200);
    const applied = await validator.revoke({ jti: t.jti, exp: t.exp, reason: "stolen" });
    assert.deepEqual(applied, { jti: t.jti, sub: null, exp: t.exp, reason: "stolen" });
    const entry = await worker.storeEntry(`jti:${t.jti}`);
    assert.equal(entry.reason, "stolen", JSON.stringify(entry));
    // Before any snapshot carries it: this gateway enforces its own write.
    const r = await get(node.hono, "/api", t.token);
    assert.equal(r.status, 401);
    assert.equal(r.body.code, "revoked");
    harness.assertRejected(await worker.get("/api", t.token), "revoked");
    // A subject: every session of "from-node" begun before now.
    const other = mint({ sub: "from-node", track: 1, at: nowS() - 10 });
    const cutoff = nowS();
    assert.deepEqual(await validator.revoke({ sub: "from-node", before: cutoff }), { sub: "from-node", before: cutoff });
    assert.equal((await get(node.express, "/api", other.token)).body.code, "revoked");
    // A malformed request never reaches the edge.
    const calls = counted.calls.length;
    await assert.rejects(validator.revoke({ jti: "" }), TypeError);
    assert.equal(counted.calls.length, calls);
  });

  test("the wrong key: every snapshot is refused, every request 503 revocation_unavailable, never a pass", async () => {
    const t = mint({ sub: "wrong-key", track: 1 });
    const gone = mint({ sub: "wrong-key-revoked", track: 1 });
    assert.equal((await worker.admin("/v1/revoke", { jti: gone.jti, exp: gone.exp })).status, 200);
    const store = new E.SnapshotStore({ url: worker.url.href, adminToken: ADMIN_TOKEN, key: "not-the-snapshot-key-0123456789abcdefgh" });
    const wrong = new E.Validator({ ...policy, secret: harness.SECRET }, { store });
    const other = await gateways(wrong);
    try {
      for (let i = 0; i < 3; i++) {
        for (const [base, token] of [[other.hono, t.token], [other.express, gone.token]]) {
          const r = await get(base, "/api", token);
          assert.equal(r.status, 503, JSON.stringify(r.body));
          assert.equal(r.body.code, "revocation_unavailable");
        }
        await sleep(600);
      }
      const view = wrong.stats().snapshot;
      assert.equal(view.epoch, null);
      assert.ok(view.refused >= 2, JSON.stringify(view));
      assert.equal((await wrong.verify(t.token)).error.code, "revocation_unavailable");
    } finally {
      await other.close();
    }
  });

  test("a wrong admin token: 503 for every token, and revoke() rejects with the Worker's 403", async () => {
    const t = mint({ sub: "refused-admin", track: 1 });
    const store = new E.SnapshotStore({ url: worker.url.href, adminToken: "not-the-admin-token-0123", key: SNAPSHOT_KEY });
    const v = new E.Validator({ ...policy, secret: harness.SECRET }, { store });
    const r = await v.verify(t.token);
    assert.equal(r.error.code, "revocation_unavailable");
    assert.equal(r.error.status, 503);
    await assert.rejects(v.revoke({ jti: t.jti, exp: t.exp }), (e) => e.code === "revocation_unavailable" && /HTTP 403/.test(e.message));
    assert.equal(await worker.storeEntry(`jti:${t.jti}`), null, "nothing written");
  });
});

describe("the Worker unreachable: the held snapshot serves until each track's bound", () => {
  // The authority republishes every second, so a snapshot's age says how long ago the Node
  // gateway last reached the edge. Track 3 allows a view 6 s old, track 4 none, others 300 s.
  const policy = harness.basePolicy({
    revocation: { snapshot_ttl_s: 1, publish_interval_s: 1 },
    tracks: { max_staleness_s: { 3: 6, 4: 0 } },
  });
  const mint = (opts = {}) => harness.issue({ config: harness.mintConfig(policy), ...opts });
  let worker, validator, node, counted;
  before(async () => {
    worker = await harness.startWorker({ policy });
    counted = countingFetch();
    const store = new E.SnapshotStore({ url: worker.url.href, adminToken: ADMIN_TOKEN, key: SNAPSHOT_KEY, fetch: counted.fetch });
    validator = new E.Validator({ ...policy, secret: harness.SECRET }, { store });
    node = await gateways(validator);
  });
  after(async () => {
    await node?.close();
    await worker?.dispose();
  });

  test("revoked tokens stay refused, track 3 serves until 6 s, then 503; track 4 at once 503", async () => {
    const revoked = mint({ sub: "r", track: 1 });
    const user = mint({ sub: "u", track: 1 });
    const pilot = mint({ sub: "p", track: 3 });
    const operator = mint({ sub: "op", track: 4 });
    assert.equal((await worker.admin("/v1/revoke", { jti: revoked.jti, exp: revoked.exp })).status, 200);
    assert.notEqual(await within(6000, async () => (await get(node.hono, "/api", revoked.token)).status === 401), null);
    for (const t of [user, pilot, operator]) assert.equal((await get(node.hono, "/api", t.token)).status, 200);

    await worker.dispose();
    worker = null;
    const cutAt = Date.now();
    assert.equal((await get(node.hono, "/api", pilot.token)).status, 200, "the held view is younger than 6 s");
    const op = await get(node.express, "/api", operator.token);
    assert.equal(op.status, 503, JSON.stringify(op.body));
    assert.equal(op.body.code, "revocation_unavailable");

    const took = await within(10_000, async () => (await get(node.hono, "/api", pilot.token)).status === 503);
    assert.notEqual(took, null, "track 3 fails closed at its bound");
    const age = validator.stats().snapshot.age_s;
    assert.ok(age > 6, `refused at age ${age} s`);
    assert.ok(Date.now() - cutAt < 9000, "no later than the bound allows (6 s, whole seconds, slack)");
    const r = await get(node.express, "/api", pilot.token);
    assert.equal(r.status, 503);
    assert.equal(r.body.code, "revocation_unavailable");
    assert.equal((await get(node.hono, "/api", user.token)).status, 200, "track 1 (300 s) still serves");
    assert.equal((await get(node.hono, "/api", revoked.token)).body.code, "revoked", "and still refuses what it knew");
    // While the edge is away: at most one attempt per snapshot_ttl_s, as before.
    const failed = counted.calls.filter((c) => c.status === null && c.path === "/v1/revocation/snapshot").length;
    assert.ok(failed >= 1 && failed <= Math.ceil((Date.now() - cutAt) / 1000) + 1, `${failed} failed snapshot reads`);
  });

  test("an edge that accepts but never answers fails closed after revocation.timeout_ms", async () => {
    const silent = http.createServer(() => {}); // never answers
    const base = await listen(silent.listen(0, "127.0.0.1"));
    try {
      const store = new E.SnapshotStore({ url: base, adminToken: ADMIN_TOKEN, key: SNAPSHOT_KEY });
      const v = new E.Validator({ ...policy, revocation: { ...policy.revocation, timeout_ms: 300 }, secret: harness.SECRET }, { store });
      const t = mint({ sub: "waiting", track: 1 });
      const start = Date.now();
      const r = await v.verify(t.token);
      const took = Date.now() - start;
      assert.equal(r.ok, false);
      assert.equal(r.error.code, "revocation_unavailable");
      assert.ok(took >= 250 && took < 2000, `${took} ms`);
      await assert.rejects(store.exactStatus({ jti: "x" }, { timeoutMs: 200 }), /timed out after 200 ms/);
    } finally {
      silent.closeAllConnections?.();
      await new Promise((r) => silent.close(r));
    }
  });
});
