// The revocation authority (a Durable Object) in workerd, with two Worker instances (separate
// isolates) sharing one KV namespace and the authority, as on the real edge: every write goes
// through the one object, so "later wins" is exact when isolates race, and a refresh token is
// used once whichever isolates present it. Without the binding, the Worker writes KV itself.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

// Isolates reread the revocation snapshot every second.
const policy = h.basePolicy({ revocation: { snapshot_ttl_s: 1 } });
const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
const refresh = (instance, token) =>
  instance.json("/v1/refresh", { method: "POST", headers: { authorization: `Bearer ${token}` } });

describe("two instances, one authority", () => {
  let worker, a, b;
  before(async () => {
    worker = await h.startWorker({ policy, instances: 2 });
    a = worker;
    b = await worker.instance(2);
  });
  after(() => worker?.dispose());

  test("health says writes go through the authority", async () => {
    assert.equal((await a.health()).revocation_authority, true);
    assert.equal((await b.health()).revocation_authority, true);
  });

  test("racing subject revocations from two isolates: the later time wins, every round", async () => {
    const t0 = h.now() - 1000;
    for (let round = 0; round < 12; round++) {
      const sub = `race-${round}`;
      const early = t0 + round;
      const late = t0 + 500 + round;
      // The earlier time goes through one isolate, the later through the other, at once; the
      // order alternates so that either may reach the store first.
      const [first, second] = round % 2 ? [a, b] : [b, a];
      const answers = await Promise.all([
        first.admin("/v1/revoke", { sub, before: early }),
        second.admin("/v1/revoke", { sub, before: late }),
        first.admin("/v1/revoke", { sub, before: early }),
      ]);
      for (const r of answers) assert.equal(r.status, 200, JSON.stringify(r.body));
      const entry = await worker.storeEntry(`sub:${sub}`);
      assert.equal(entry.before, late, `round ${round}: the later time is in force`);
    }
  });

  test("racing global revocations: the later time wins", async () => {
    const t0 = h.now() - 2000;
    await Promise.all([a.admin("/v1/revoke", { before: t0 + 5 }), b.admin("/v1/revoke", { before: t0 + 9 }), a.admin("/v1/revoke", { before: t0 + 1 })]);
    assert.equal((await worker.storeEntry("global")).before, t0 + 9);
  });

  test("one refresh token, presented to both isolates at once: exactly one succeeds, reuse logged", async () => {
    for (let round = 0; round < 6; round++) {
      const t = mint({ sub: `rot-${round}` });
      const results = await Promise.all([refresh(a, t.token), refresh(b, t.token)]);
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => [r.status, r.body.code]))}`);
      const refused = results.find((r) => r.status !== 200);
      h.assertRejected(refused, "revoked");
    }
    assert.ok(worker.logs.some((line) => line.includes("edge_jwt_refresh_reuse")), "the reuse is logged");
  });

  test("a revocation made through one isolate is enforced by the other within snapshot_ttl_s", async () => {
    const t = mint({ sub: "cross" });
    assert.equal((await a.admin("/v1/revoke", { jti: t.jti, exp: t.exp })).status, 200);
    await new Promise((r) => setTimeout(r, 2200));
    h.assertRejected(await b.get("/api", t.token), "revoked");
  });
});

describe("the authority's own entries expire with their tokens", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  test("a consumed jti whose token expired long ago is swept by a later write", async () => {
    const namespace = await worker.mf.getDurableObjectNamespace("REVOCATION_AUTHORITY");
    const stub = namespace.get(namespace.idFromName("revocations"));
    const write = (request, now, consume) =>
      stub
        .fetch("https://authority/write", {
          method: "POST",
          body: JSON.stringify({ request, consume, now, longest_lifetime_s: 43230, leeway_s: h.LEEWAY_S }),
        })
        .then((r) => r.json());
    const t = h.now();
    const old = { jti: "gc-old", sub: null, exp: t - 9000, reason: "refresh" };
    // Consumed at a time long past: the entry lives until exp + leeway, also long past.
    assert.ok((await write(old, t - 10000, true)).Written);
    // Any later write (and each publication) sweeps what has expired.
    assert.ok((await write({ jti: "gc-new", sub: null, exp: t + 600, reason: "refresh" }, t, true)).Written);
    assert.ok((await write(old, t, true)).Written, "the expired entry is gone from the authority");
    assert.equal(await write({ jti: "gc-new", sub: null, exp: t + 600, reason: "refresh" }, t, true), "Revoked", "a live entry stays");
  });
});

describe("without the authority binding", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, authority: false });
  });
  after(() => worker?.dispose());

  test("the Worker writes KV itself, and says so", async () => {
    assert.equal((await worker.health()).revocation_authority, false);
    const t = mint({ sub: "plain", at: h.now() - 5 });
    assert.equal((await worker.admin("/v1/revoke", { sub: "plain" })).status, 200);
    h.assertRejected(await worker.get("/api", t.token), "revoked");
    const r = await refresh(worker, mint({ sub: "plain2" }).token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
});
