// Revocation through the Worker's admin API with a real KV namespace in workerd, in the per-key
// mode (no REVOCATION_AUTHORITY binding: the Worker writes and reads `jti:`/`sub:`/`global`
// entries itself): by jti (admin JSON and RFC 7009 form), by subject ("issued before"), the
// global kill switch, idempotence, the documented KV key layout and entry expiry, and how a
// revocation written elsewhere reaches an isolate (within revocation.cache_ttl_s). The
// authority's snapshot mode has its own suite (snapshot.test.mjs).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const policy = h.basePolicy();
const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
// Default track table: a token covered by "before T" lives at most the longest of the track
// ceilings (43200 s) and the session lengths (7 days for track 1 and unlisted tracks, since a
// refreshed token keeps its session's start), plus the leeway.
const LONGEST_LIFETIME_S = 7 * 86400 + h.LEEWAY_S;

/** The KV entries as {name: {value, expiration}}. */
async function kvEntries(worker) {
  const kv = await worker.kv();
  const out = {};
  let cursor;
  do {
    const page = await kv.list({ cursor });
    for (const k of page.keys) out[k.name] = { value: JSON.parse(await kv.get(k.name)), expiration: k.expiration };
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return out;
}

/** |a - b| <= slack, with a readable message. */
function near(actual, expected, slack, what) {
  assert.ok(Math.abs(actual - expected) <= slack, `${what}: ${actual} not within ${slack} of ${expected}`);
}

describe("revocation by jti", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, authority: false });
  });
  after(() => worker?.dispose());

  test("admin JSON {jti, exp, reason}: the next request is 401 revoked", async () => {
    const t = mint({ sub: "dora" });
    assert.equal((await worker.get("/api", t.token)).status, 200, "valid before");
    const r = await worker.admin("/v1/revoke", { jti: t.jti, exp: t.exp, reason: "stolen laptop" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, "ok");
    h.assertRejected(await worker.get("/api", t.token), "revoked");
    // Another token of the same subject is untouched.
    assert.equal((await worker.get("/api", mint({ sub: "dora" }).token)).status, 200);
  });

  test("the jti entry has the documented key and value and expires with the token", async () => {
    const t = mint({ sub: "erin", track: "4" });
    const before = h.now();
    const r = await worker.admin("/v1/revoke", { jti: t.jti, exp: t.exp, reason: "admin says so", sub: "erin" });
    assert.equal(r.status, 200);
    const entry = (await kvEntries(worker))[`jti:${t.jti}`];
    assert.ok(entry, "jti:<jti> exists");
    assert.deepEqual(Object.keys(entry.value).sort(), ["exp", "reason", "revoked_at", "sub"]);
    assert.equal(entry.value.reason, "admin says so");
    assert.equal(entry.value.sub, "erin");
    assert.equal(entry.value.exp, t.exp);
    near(entry.value.revoked_at, before, 2, "revoked_at");
    // KV's expirationTtl: the entry lives until the token would have expired (exp + leeway).
    near(entry.expiration, t.exp + h.LEEWAY_S, 3, "jti entry expiration");
  });

  test("RFC 7009 form token=…: 200, the token is refused, the entry records sub and exp", async () => {
    const t = mint({ sub: "frank" });
    const r = await worker.admin("/v1/revoke", { token: t.token, token_type_hint: "access_token" }, { form: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    h.assertRejected(await worker.get("/api", t.token), "revoked");
    const entry = (await kvEntries(worker))[`jti:${t.jti}`];
    assert.equal(entry.value.sub, "frank");
    assert.equal(entry.value.exp, t.exp);
    near(entry.expiration, t.exp + h.LEEWAY_S, 3, "jti entry expiration");
  });

  test("revoking an invalid token answers 200 and stores nothing", async () => {
    const keysBefore = Object.keys(await kvEntries(worker)).length;
    const expired = mint({ at: h.now() - 7200 });
    const forged = h.issue({ config: h.mintConfig(policy, "a-different-secret-of-32-bytes-or-more") });
    for (const token of ["garbage", expired.token, forged.token]) {
      const r = await worker.admin("/v1/revoke", { token }, { form: true });
      assert.equal(r.status, 200, `${token.slice(0, 20)}: ${JSON.stringify(r.body)}`);
    }
    assert.equal(Object.keys(await kvEntries(worker)).length, keysBefore);
  });

  test("revoking twice is idempotent; an expired token's jti gets KV's minimum lifetime", async () => {
    const t = mint({ sub: "gina" });
    for (let i = 0; i < 2; i++) {
      const r = await worker.admin("/v1/revoke", { jti: t.jti, exp: t.exp });
      assert.equal(r.status, 200, `revoke #${i + 1}`);
    }
    h.assertRejected(await worker.get("/api", t.token), "revoked");
    const form = await worker.admin("/v1/revoke", { token: t.token }, { form: true });
    assert.equal(form.status, 200, "revoking an already revoked token by form");
    h.assertRejected(await worker.get("/api", t.token), "revoked");

    const gone = "already-expired-jti";
    const r = await worker.admin("/v1/revoke", { jti: gone, exp: h.now() - 1000 });
    assert.equal(r.status, 200);
    const entry = (await kvEntries(worker))[`jti:${gone}`];
    assert.ok(entry, "stored anyway");
    near(entry.expiration, h.now() + 60, 3, "minimum expirationTtl of 60 s");
  });
});

describe("revocation by subject", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, authority: false });
  });
  after(() => worker?.dispose());

  test("{sub, before} revokes tokens with iat < before, not one issued at or after", async () => {
    const t0 = h.now();
    const older = mint({ sub: "hank", at: t0 - 100 });
    const atBefore = mint({ sub: "hank", at: t0 - 50 });
    const newer = mint({ sub: "hank", at: t0 - 10 });
    const otherSub = mint({ sub: "ivy", at: t0 - 100 });
    for (const t of [older, atBefore, newer, otherSub]) assert.equal((await worker.get("/api", t.token)).status, 200);

    const r = await worker.admin("/v1/revoke", { sub: "hank", before: t0 - 50 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    h.assertRejected(await worker.get("/api", older.token), "revoked");
    assert.equal((await worker.get("/api", atBefore.token)).status, 200, "iat == before survives");
    assert.equal((await worker.get("/api", newer.token)).status, 200, "iat > before survives");
    assert.equal((await worker.get("/api", otherSub.token)).status, 200, "another subject survives");

    const entry = (await kvEntries(worker))["sub:hank"];
    assert.deepEqual(Object.keys(entry.value).sort(), ["before", "revoked_at"]);
    assert.equal(entry.value.before, t0 - 50);
    near(entry.value.revoked_at, t0, 3, "revoked_at");
    // Lives as long as the longest session (every token it covers has expired by then).
    near(entry.expiration, Math.max(t0 - 50, h.now()) + LONGEST_LIFETIME_S, 3, "sub entry expiration");
  });

  test("{sub} without before means now: earlier tokens out, a new login works", async () => {
    const old = mint({ sub: "jack", at: h.now() - 5 });
    const r = await worker.admin("/v1/revoke", { sub: "jack" });
    assert.equal(r.status, 200);
    h.assertRejected(await worker.get("/api", old.token), "revoked");
    const fresh = mint({ sub: "jack", at: h.now() + 1 });
    assert.equal((await worker.get("/api", fresh.token)).status, 200);
  });

  test("an earlier before never undoes a later one (idempotent, later wins)", async () => {
    const t0 = h.now();
    const mid = mint({ sub: "kate", at: t0 - 30 });
    assert.equal((await worker.admin("/v1/revoke", { sub: "kate", before: t0 - 20 })).status, 200);
    assert.equal((await worker.admin("/v1/revoke", { sub: "kate", before: t0 - 20 })).status, 200, "twice");
    assert.equal((await worker.admin("/v1/revoke", { sub: "kate", before: t0 - 60 })).status, 200, "earlier");
    h.assertRejected(await worker.get("/api", mid.token), "revoked");
    assert.equal((await kvEntries(worker))["sub:kate"].value.before, t0 - 20);
  });
});

describe("global kill switch", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, authority: false });
  });
  after(() => worker?.dispose());

  test("{before} revokes every token issued before it, of every subject", async () => {
    const t0 = h.now();
    const a = mint({ sub: "liam", at: t0 - 100 });
    const b = mint({ sub: "mona", at: t0 - 61 });
    const survivor = mint({ sub: "nina", at: t0 - 60 });
    for (const t of [a, b, survivor]) assert.equal((await worker.get("/api", t.token)).status, 200);
    const r = await worker.admin("/v1/revoke", { before: t0 - 60 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    h.assertRejected(await worker.get("/api", a.token), "revoked");
    h.assertRejected(await worker.get("/api", b.token), "revoked");
    assert.equal((await worker.get("/api", survivor.token)).status, 200);
    const entry = (await kvEntries(worker)).global;
    assert.equal(entry.value.before, t0 - 60);
    near(entry.expiration, h.now() + LONGEST_LIFETIME_S, 3, "global entry expiration");
    // A fresh isolate (restart, same KV) reads the switch from KV.
    await worker.reconfigure({ policy });
    h.assertRejected(await worker.get("/api", a.token), "revoked");
    assert.equal((await worker.get("/api", survivor.token)).status, 200);
  });
});

describe("revocations written elsewhere (another isolate or the CLI)", () => {
  let worker;
  const quick = { ...policy, revocation: { cache_ttl_s: 1 } };
  before(async () => {
    worker = await h.startWorker({ policy: quick, authority: false });
  });
  after(() => worker?.dispose());

  test("an entry already in KV is honoured at once; a cached answer only until cache_ttl_s", async () => {
    const kv = await worker.kv();
    const unseen = mint({ sub: "olga" });
    await kv.put(`jti:${unseen.jti}`, JSON.stringify({ reason: "elsewhere", revoked_at: h.now(), sub: "olga", exp: unseen.exp }), { expirationTtl: 3600 });
    h.assertRejected(await worker.get("/api", unseen.token), "revoked");

    const seen = mint({ sub: "olga" });
    assert.equal((await worker.get("/api", seen.token)).status, 200, "cached as not revoked");
    await kv.put(`jti:${seen.jti}`, JSON.stringify({ reason: "elsewhere", revoked_at: h.now(), exp: seen.exp }), { expirationTtl: 3600 });
    // Within 1 s (+ clock granularity) the isolate consults KV again.
    const deadline = Date.now() + 3500;
    let r;
    do {
      await new Promise((res) => setTimeout(res, 200));
      r = await worker.get("/api", seen.token);
    } while (r.status === 200 && Date.now() < deadline);
    h.assertRejected(r, "revoked");
  });

  test("a corrupt KV entry fails closed (503 revocation_unavailable)", async () => {
    const kv = await worker.kv();
    const t = mint({ sub: "pete" });
    await kv.put(`jti:${t.jti}`, "not json", { expirationTtl: 3600 });
    h.assertRejected(await worker.get("/api", t.token), "revocation_unavailable", 503);
  });
});
