// Revocation at scale in workerd: the authority (a real Durable Object) publishes a MAC'd
// snapshot to a real KV namespace; every isolate checks tokens against it in memory, reads it
// at most once per snapshot_ttl_s, and fails closed per track when its view is older than the
// track allows. Two Worker instances (separate isolates) share KV and the authority, as two
// locations of the edge do; a third kind of instance reaches only a broken authority.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns true (every 100 ms, at most `ms`); the time it took. */
async function within(ms, probe) {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) return null;
    await sleep(100);
  }
  return Date.now() - start;
}

describe("the snapshot: one read per interval, enforced everywhere within its bound", () => {
  // Isolates reread the snapshot every second; track 4 (operators) is checked against the
  // authority on every request.
  const policy = h.basePolicy({
    revocation: { snapshot_ttl_s: 1, publish_interval_s: 30 },
    tracks: { max_staleness_s: { 4: 0 } },
  });
  const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
  let worker, a, b;
  before(async () => {
    worker = await h.startWorker({ policy, instances: 2 });
    a = worker;
    b = await worker.instance(2);
  });
  after(() => worker?.dispose());

  test("a revocation through one isolate: at once there, in the other within snapshot_ttl_s", async () => {
    const t = mint({ sub: "spread", track: 1 });
    assert.equal((await b.get("/api", t.token)).status, 200, "b holds a snapshot without it");
    const r = await a.admin("/v1/revoke", { jti: t.jti, exp: t.exp });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.epoch >= 1, "the answer carries the epoch");
    assert.equal(r.body.enforced_by, r.body.published_by + 1, "published_by + snapshot_ttl_s");
    h.assertRejected(await a.get("/api", t.token), "revoked");
    const took = await within(5000, async () => (await b.get("/api", t.token)).status === 401);
    assert.notEqual(took, null, "b refuses it within the bound");
    assert.ok(Date.now() / 1000 <= r.body.enforced_by + 2, "by the time the answer promised");
    const status = await b.json("/v1/revocation/status");
    assert.equal(status.status, 200);
    assert.equal(status.body.mode, "snapshot");
    assert.ok(status.body.epoch >= r.body.epoch, JSON.stringify(status.body));
    assert.ok(status.body.age_s <= 2, JSON.stringify(status.body));
  });

  test("a strict track (max_staleness_s 0) is refused by the other isolate on the next request", async () => {
    const op = mint({ sub: "operator", track: 4 });
    assert.equal((await b.get("/api", op.token)).status, 200);
    assert.equal((await a.admin("/v1/revoke", { jti: op.jti, exp: op.exp })).status, 200);
    h.assertRejected(await b.get("/api", op.token), "revoked");
  });

  test("many requests cost no reads between snapshot intervals", async () => {
    const tokens = Array.from({ length: 40 }, (_, i) => mint({ sub: `many-${i}`, track: 1 }).token);
    await b.get("/api", tokens[0]);
    const before = (await b.health()).isolate.kv_reads;
    for (const t of tokens) assert.equal((await b.get("/api", t)).status, 200);
    const after = (await b.health()).isolate.kv_reads;
    assert.ok(after - before <= 2, `${after - before} reads for 40 distinct tokens`);
  });

  test("a forged snapshot in KV is ignored: the isolate asks the authority for the real one", async () => {
    const t = mint({ sub: "forge", track: 1 });
    assert.equal((await a.admin("/v1/revoke", { jti: t.jti, exp: t.exp })).status, 200);
    await sleep(1200); // the publication
    const kv = await worker.kv();
    const real = new Uint8Array(await kv.get("revocation-snapshot", "arrayBuffer"));
    // Someone with write access to the namespace publishes an empty set with a made-up MAC.
    const forged = real.slice();
    forged[8] ^= 0xff;
    await kv.put("revocation-snapshot", forged);
    await sleep(1100);
    h.assertRejected(await b.get("/api", t.token), "revoked");
    const view = (await b.json("/v1/revocation/status")).body;
    assert.ok(view.refused >= 1, JSON.stringify(view));
  });

  test("the snapshot endpoint: admin only, ETag and 304", async () => {
    assert.equal((await b.json("/v1/revocation/snapshot")).status, 403);
    const auth = { authorization: `Bearer ${h.ADMIN_TOKEN}` };
    const r = await b.fetch("/v1/revocation/snapshot", { headers: auth });
    assert.equal(r.status, 200);
    const etag = r.headers.get("etag");
    assert.match(etag, /^"\d+-\d+"$/);
    const bytes = new Uint8Array(await r.arrayBuffer());
    assert.deepEqual([...bytes.slice(0, 4)], [...Buffer.from("EJRS")]);
    const again = await b.fetch("/v1/revocation/snapshot", { headers: { ...auth, "if-none-match": etag } });
    assert.equal(again.status, 304);
    await again.arrayBuffer();
  });

  test("the exact check endpoint: admin only, the authority's answer", async () => {
    const t = mint({ sub: "checked", track: 1 });
    assert.equal((await a.admin("/v1/revoke", { jti: t.jti, exp: t.exp })).status, 200);
    const r = await b.admin("/v1/revocation/check", { jti: t.jti, sub: "checked" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.jti_revoked, true);
    assert.equal(r.body.subject_revoked_before, null);
    assert.equal((await b.admin("/v1/revocation/check", { jti: "never-revoked" })).body.jti_revoked, false);
    assert.equal((await b.admin("/v1/revocation/check", { jti: t.jti }, { auth: null })).status, 403);
    for (const bad of [{ jti: "" }, { sub: 7 }, { jti: "x", exp: 1 }]) {
      assert.equal((await b.admin("/v1/revocation/check", bad)).status, 400, JSON.stringify(bad));
    }
    const globalOnly = await b.admin("/v1/revocation/check", {});
    assert.deepEqual([globalOnly.status, globalOnly.body.jti_revoked], [200, false], "{}: the global time alone");
  });

  test("entries leave the set when their tokens have expired", async () => {
    const t = h.now();
    // Revoked long ago, for a token that expired long ago; and one live entry.
    assert.ok((await worker.authorityWrite({ jti: "long-gone", sub: null, exp: t - 9000, reason: "admin" }, { at: t - 10000 })).Written);
    const live = mint({ sub: "live", track: 1 });
    assert.equal((await a.admin("/v1/revoke", { jti: live.jti, exp: live.exp })).status, 200);
    const snapshot = new DataView(await (await worker.authority("/snapshot")).arrayBuffer());
    const lookup = async (jti) =>
      (await worker.authority("/status", { method: "POST", body: JSON.stringify({ jti: `jti:${jti}`, sub: null }) })).json();
    assert.equal((await lookup("long-gone")).jti_revoked, false, "expired: no longer in the set");
    assert.equal((await lookup(live.jti)).jti_revoked, true);
    // The published set counts the live entries only (the jti count sits at byte 36).
    const published = snapshot.getUint32(36, true);
    assert.ok(published >= 1, `${published}`);
  });
});

describe("refresh reuse revokes the session family", () => {
  const policy = h.basePolicy({ revocation: { snapshot_ttl_s: 1 } });
  const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
  let worker, b;
  before(async () => {
    worker = await h.startWorker({ policy, instances: 2 });
    b = await worker.instance(2);
  });
  after(() => worker?.dispose());
  const refresh = (instance, token) =>
    instance.json("/v1/refresh", { method: "POST", headers: { authorization: `Bearer ${token}` } });

  test("presenting a rotated token again revokes its successor, everywhere", async () => {
    const first = mint({ sub: "family", track: 1 });
    const r = await refresh(worker, first.token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const successor = r.body.token;
    assert.equal((await worker.get("/api", successor)).status, 200);
    // The stolen copy of the first token is replayed, at the other isolate.
    await sleep(1100);
    h.assertRejected(await refresh(b, first.token), "revoked");
    assert.ok(worker.logs.some((l) => l.includes("edge_jwt_refresh_reuse")), "logged as reuse");
    // The legitimate holder's successor dies with it (the subject's sessions are revoked).
    h.assertRejected(await b.get("/api", successor), "revoked");
    const took = await within(5000, async () => (await worker.get("/api", successor)).status === 401);
    assert.notEqual(took, null, "and in the first isolate within the bound");
    const entry = await worker.storeEntry("sub:family");
    assert.ok(entry.before >= first.iat, JSON.stringify(entry));
  });

  test("a logged-out token presented to refresh is refused without revoking the subject", async () => {
    const t = mint({ sub: "logged-out", track: 1 });
    const other = mint({ sub: "logged-out", track: 1 });
    const out = await worker.json("/v1/logout", { method: "POST", headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(out.status, 200);
    const logsBefore = worker.logs.length;
    h.assertRejected(await refresh(worker, t.token), "revoked");
    assert.ok(!worker.logs.slice(logsBefore).some((l) => l.includes("edge_jwt_refresh_reuse")), "not a reuse");
    assert.equal(await worker.storeEntry("sub:logged-out"), null);
    assert.equal((await worker.get("/api", other.token)).status, 200);
  });
});

describe("the authority unreachable", () => {
  // Instance 1 reaches the authority (which publishes rarely: every 60 s); instance 2 reaches
  // only a broken one, reads the same KV, and allows track 4 a view 3 s old.
  const policy = h.basePolicy({ revocation: { snapshot_ttl_s: 1, publish_interval_s: 60 } });
  const cut = h.basePolicy({
    revocation: { snapshot_ttl_s: 1, publish_interval_s: 1 },
    tracks: { max_staleness_s: { 4: 3 } },
  });
  const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
  let worker, cutOff;
  before(async () => {
    worker = await h.startWorker({ policy, instances: 2, perInstance: { 2: { policy: cut, authority: "broken" } } });
    cutOff = await worker.instance(2);
  });
  after(() => worker?.dispose());

  test("reads serve from the snapshot, writes fail 503, then each track fails closed at its bound", async () => {
    const revoked = mint({ sub: "r", track: 1 });
    assert.equal((await worker.admin("/v1/revoke", { jti: revoked.jti, exp: revoked.exp })).status, 200);
    await sleep(1200);
    const operator = mint({ sub: "op", track: 4 });
    const user = mint({ sub: "u", track: 1 });
    h.assertRejected(await cutOff.get("/api", revoked.token), "revoked");
    assert.equal((await cutOff.get("/api", operator.token)).status, 200);
    // Writes need the authority.
    const w = await cutOff.admin("/v1/revoke", { jti: user.jti, exp: user.exp });
    assert.equal(w.status, 503, JSON.stringify(w.body));
    assert.equal(w.body.code, "revocation_unavailable");
    // KV's copy is replaced by garbage: the cut-off isolate keeps its last good view…
    await (await worker.kv()).put("revocation-snapshot", new Uint8Array([1, 2, 3]));
    // …until it is older than track 4 allows (3 s): then track 4 fails closed, track 1 serves.
    const took = await within(8000, async () => (await cutOff.get("/api", operator.token)).status === 503);
    assert.notEqual(took, null, "track 4 fails closed");
    h.assertRejected(await cutOff.get("/api", operator.token), "revocation_unavailable", 503);
    assert.equal((await cutOff.get("/api", user.token)).status, 200, "track 1 (300 s) still serves");
    h.assertRejected(await cutOff.get("/api", revoked.token), "revoked");
  });
});

describe("staleness bounds are checked at start-up", () => {
  test("a bound below publish_interval_s + snapshot_ttl_s is a config error naming the field", async () => {
    const bad = h.basePolicy({ revocation: { snapshot_ttl_s: 20, publish_interval_s: 30 }, tracks: { max_staleness_s: { 4: 10 } } });
    const worker = await h.startWorker({ policy: bad });
    try {
      const r = await worker.json("/api");
      assert.equal(r.status, 500);
      assert.equal(r.body.code, "config_error");
      assert.ok(await worker.waitForLog((l) => l.includes("tracks.max_staleness_s.4")), "the log names the field");
    } finally {
      await worker.dispose();
    }
  });

  test("the authority without SNAPSHOT_KEY is a config error", async () => {
    const worker = await h.startWorker({ policy: h.basePolicy(), bindings: { SNAPSHOT_KEY: "" } });
    try {
      const r = await worker.json("/api");
      assert.equal(r.status, 500);
      assert.ok(await worker.waitForLog((l) => l.includes("SNAPSHOT_KEY")), "the log names the secret");
    } finally {
      await worker.dispose();
    }
  });
});

describe("upgrading from per-key KV entries", () => {
  const policy = h.basePolicy({ revocation: { snapshot_ttl_s: 1 } });
  const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  test("entries an older deployment wrote to KV are imported by the authority on its first start", async () => {
    const byJti = mint({ sub: "old-jti" });
    const bySub = mint({ sub: "old-sub", at: h.now() - 60 });
    const kept = mint({ sub: "untouched" });
    const kv = await worker.kv();
    // What the per-key Worker wrote before the authority was bound (README "Revocation").
    await kv.put(`jti:${byJti.jti}`, JSON.stringify({ reason: "admin", revoked_at: h.now() - 5, sub: "old-jti", exp: byJti.exp }), { expirationTtl: 3600 });
    await kv.put("sub:old-sub", JSON.stringify({ before: h.now() - 10, revoked_at: h.now() - 10 }), { expirationTtl: 3600 });
    // The first request starts the authority, which imports them before publishing.
    h.assertRejected(await worker.get("/api", byJti.token), "revoked");
    h.assertRejected(await worker.get("/api", bySub.token), "revoked");
    assert.equal((await worker.get("/api", kept.token)).status, 200);
    assert.equal((await worker.storeEntry(`jti:${byJti.jti}`)).reason, "admin", "now in the authority's storage");
  });
});
