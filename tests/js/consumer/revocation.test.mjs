// Revocation through the package's stores: the Worker's key layout (`jti:…`, `sub:…`, `global`),
// entry values and lifetimes, the bounded per-instance cache, and fail-closed reads — in memory,
// over a (fake) Workers KV binding, and through a real redis-server shared by validators using
// node-redis and ioredis, as separate gateway hosts would.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";

import { createClient } from "redis";
import { Redis } from "ioredis";
import * as E from "edge-jwt";

import * as h from "./helpers.mjs";

const config = { algorithms: ["HS256"], secret: h.SECRET };
const LEEWAY = 30;
// How long a subject or global entry lives past its time: the longest of the default track
// ceilings (12 h) and session lengths (7 days: a refreshed token keeps its session's start),
// plus the leeway.
const LONGEST = 7 * 86400 + LEEWAY;

function token(at, overrides = {}) {
  return h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims({ iat: at, exp: at + 3600, track: 4, ...overrides }));
}

/** Wraps a store and records every write. */
function recording(store) {
  const puts = [];
  return {
    puts,
    get: (key) => store.get(key),
    put: (key, value, ttl) => {
      puts.push({ key, value: JSON.parse(value), ttl });
      return store.put(key, value, ttl);
    },
  };
}

describe("MemoryStore: layout, lifetimes, cache, propagation", () => {
  test("revoking a jti writes jti:<jti> until the token's exp plus the leeway; the revoking instance refuses at once", async () => {
    const store = recording(new E.MemoryStore());
    const v = new E.Validator(config, { store });
    const at = h.nowS();
    const t = token(at);
    const { jti, exp } = h.decode(t).claims;
    assert.equal((await v.verify(t, { now: at })).ok, true);
    const applied = await v.revoke({ jti, exp, reason: "stolen" }, { now: at + 5 });
    assert.deepEqual(applied, { jti, sub: null, exp, reason: "stolen" });
    assert.deepEqual(store.puts, [{ key: `jti:${jti}`, value: { reason: "stolen", revoked_at: at + 5, sub: null, exp }, ttl: exp + LEEWAY - (at + 5) }]);
    const r = await v.verify(t, { now: at + 6 });
    assert.equal(r.error.code, "revoked");
    assert.equal(r.error.status, 401);
  });

  test("another instance sharing the store refuses after its cache TTL, a fresh one at once", async () => {
    const shared = new E.MemoryStore();
    const policy = { ...config, revocation: { cache_ttl_s: 20 } };
    const edge = new E.Validator(policy, { store: shared });
    const other = new E.Validator(policy, { store: shared });
    const at = h.nowS();
    const t = token(at);
    const { jti, exp } = h.decode(t).claims;
    assert.equal((await other.verify(t, { now: at })).ok, true, "caches 'not revoked'");
    await edge.revoke({ jti, exp }, { now: at + 1 });
    // Cached answers live between three quarters of the TTL and the TTL (expiries are spread).
    assert.equal((await other.verify(t, { now: at + 14 })).ok, true, "still within its cache TTL");
    assert.equal((await other.verify(t, { now: at + 20 })).error.code, "revoked", "re-read after the TTL");
    const fresh = new E.Validator(policy, { store: shared });
    assert.equal((await fresh.verify(t, { now: at + 2 })).error.code, "revoked");
  });

  test("subject and global revocations: entries, strict 'before', later times win, a token issued at T survives", async () => {
    const store = recording(new E.MemoryStore());
    const v = new E.Validator(config, { store });
    const at = h.nowS();
    const old = token(at - 100, { sub: "alice" });
    const same = token(at, { sub: "alice" });
    const bob = token(at - 100, { sub: "bob" });
    assert.deepEqual(await v.revoke({ sub: "alice", before: at }, { now: at }), { sub: "alice", before: at });
    assert.deepEqual(store.puts.at(-1), { key: "sub:alice", value: { before: at, revoked_at: at }, ttl: LONGEST });
    assert.equal((await v.verify(old, { now: at })).error.code, "revoked");
    assert.equal((await v.verify(same, { now: at })).ok, true, "iat == before survives");
    assert.equal((await v.verify(bob, { now: at })).ok, true);
    // An earlier time never replaces a later one.
    await v.revoke({ sub: "alice", before: at - 1000 }, { now: at + 1 });
    assert.equal(store.puts.at(-1).value.before, at);
    // `sub` alone means "before now".
    await v.revoke({ sub: "carol" }, { now: at + 2 });
    assert.equal(store.puts.at(-1).value.before, at + 2);
    // Global kill switch.
    await v.revoke({ before: at }, { now: at + 3 });
    assert.deepEqual(store.puts.at(-1), { key: "global", value: { before: at, revoked_at: at + 3 }, ttl: LONGEST });
    assert.equal((await v.verify(bob, { now: at + 3 })).error.code, "revoked");
  });

  test("revokeToken revokes a presented token by jti (logout); bad requests are TypeErrors", async () => {
    const store = new E.MemoryStore();
    const v = new E.Validator(config, { store });
    const minted = h.cliIssue({ config });
    const applied = await v.revokeToken(minted.token);
    assert.deepEqual(applied, { jti: minted.jti, sub: "alice", exp: minted.exp, reason: "logout" });
    assert.equal((await v.verify(minted.token)).error.code, "revoked");
    const noJti = h.signHmac({ alg: "HS256" }, { sub: "x", exp: h.nowS() + 60 });
    const lenient = new E.Validator({ ...config, required_claims: ["exp"] }, { store });
    await assert.rejects(lenient.revokeToken(noJti), (e) => e.code === "missing_claim");
    await assert.rejects(v.revokeToken("garbage"), (e) => e.code === "malformed");
    for (const bad of [{}, { jti: "" }, { jti: "a", before: 1 }, { sub: "a", exp: 1 }, { foo: 1 }, "x", null]) {
      await assert.rejects(v.revoke(bad), TypeError, JSON.stringify(bad));
    }
    await assert.rejects(new E.Validator(config).revoke({ before: 1 }), TypeError, "no store");
  });

  test("the per-instance cache bounds store reads: one global read per TTL, one per new subject or jti", async () => {
    const store = new E.MemoryStore();
    let reads = 0;
    const counting = { get: (k) => (reads++, store.get(k)), put: (k, v, t) => store.put(k, v, t) };
    const v = new E.Validator(config, { store: counting });
    const at = h.nowS();
    const t = token(at);
    for (let i = 0; i < 50; i++) assert.equal((await v.verify(t, { now: at })).ok, true);
    assert.equal(reads, 3, "global, sub:alice, jti:… once");
    assert.equal(v.stats().storeReads, 3);
    await v.verify(token(at, { sub: "alice" }), { now: at + 1 });
    assert.equal(reads, 4, "a new jti of a known subject: one read");
    await v.verify(t, { now: at + 30 });
    assert.equal(reads, 7, "after the cache TTL everything is read again");
  });
});

describe("MemoryStore subclasses", () => {
  test("a subclass's own get is what the validator reads (a revocation only it knows is honoured)", async () => {
    const elsewhere = new Map();
    class Layered extends E.MemoryStore {
      async get(key) {
        return (await super.get(key)) ?? elsewhere.get(key) ?? null;
      }
    }
    const at = h.nowS();
    const t = token(at);
    const { jti } = h.decode(t).claims;
    elsewhere.set(`jti:${jti}`, JSON.stringify({ reason: "admin", revoked_at: at }));
    assert.equal((await new E.Validator(config, { store: new Layered() }).verify(t, { now: at })).error?.code, "revoked");
    assert.equal((await new E.Validator(config, { store: new E.MemoryStore() }).verify(t, { now: at })).ok, true, "control");
  });

  test("a subclass whose get fails still fails closed", async () => {
    class Down extends E.MemoryStore {
      async get() {
        throw new Error("down");
      }
    }
    const at = h.nowS();
    const r = await new E.Validator(config, { store: new Down() }).verify(token(at), { now: at });
    assert.equal(r.error?.code, "revocation_unavailable");
  });
});

describe("concurrency and key layout details", () => {
  test("concurrent verifications and revocations over a slow store neither fail nor mix answers", async () => {
    const memory = new E.MemoryStore();
    const slow = {
      get: (k) => new Promise((r) => setTimeout(() => r(memory.get(k)), Math.random() * 5)),
      put: (k, v, t) => new Promise((r) => setTimeout(() => r(memory.put(k, v, t)), Math.random() * 5)),
    };
    const v = new E.Validator({ ...config, revocation: { cache_size: 16 } }, { store: slow });
    const at = h.nowS();
    const tokens = Array.from({ length: 60 }, (_, i) => token(at, { sub: `user-${i % 7}` }));
    const revoked = new Set(tokens.filter((_, i) => i % 3 === 0).map((t) => h.decode(t).claims.jti));
    await Promise.all([
      ...tokens.map((t) => v.verify(t, { now: at })),
      ...[...revoked].map((jti) => v.revoke({ jti, exp: at + 3600 }, { now: at })),
    ]);
    const results = await Promise.all(tokens.map((t) => v.verify(t, { now: at })));
    results.forEach((r, i) => {
      const jti = h.decode(tokens[i]).claims.jti;
      if (revoked.has(jti)) assert.equal(r.error?.code, "revoked", `token ${i}`);
      else assert.equal(r.ok, true, `token ${i}: ${JSON.stringify(r.error)}`);
    });
  });

  test("a jti longer than 200 bytes is keyed by its SHA-256 (jtih:), as the Worker keys it", async () => {
    const store = recording(new E.MemoryStore());
    const v = new E.Validator(config, { store });
    const at = h.nowS();
    const jti = "j".repeat(300);
    const t = token(at, { jti });
    await v.revoke({ jti, exp: at + 3600 }, { now: at });
    const digest = (await import("node:crypto")).createHash("sha256").update(jti).digest("hex");
    assert.equal(store.puts[0].key, `jtih:${digest}`);
    assert.equal((await new E.Validator(config, { store }).verify(t, { now: at })).error.code, "revoked");
  });
});

describe("KvStore over a Workers KV binding", () => {
  test("reads with the policy's kv_cache_ttl_s, writes with expirationTtl ≥ 60, same keys as the Worker", async () => {
    const kv = new h.FakeKv();
    const v = new E.Validator({ ...config, revocation: { kv_cache_ttl_s: 120 } }, { store: new E.KvStore(kv) });
    const at = h.nowS();
    const t = token(at);
    const { jti } = h.decode(t).claims;
    assert.equal((await v.verify(t, { now: at })).ok, true);
    assert.deepEqual(kv.calls.map((c) => [c.op, c.key, c.options]), [
      ["get", "global", { cacheTtl: 120 }],
      ["get", "sub:alice", { cacheTtl: 120 }],
      ["get", `jti:${jti}`, { cacheTtl: 120 }],
    ]);
    // An expired token's entry still gets KV's minimum lifetime.
    await v.revoke({ jti: "gone", exp: at - 1000 }, { now: at });
    assert.deepEqual(kv.calls.at(-1).options, { expirationTtl: 60 });
    // cacheTtl 0 leaves KV's default; an explicit cacheTtl wins over the policy.
    const kv0 = new h.FakeKv();
    await new E.Validator({ ...config, revocation: { kv_cache_ttl_s: 0 } }, { store: new E.KvStore(kv0) }).verify(t);
    assert.equal(kv0.calls[0].options, undefined);
    const kv3 = new h.FakeKv();
    await new E.Validator(config, { store: new E.KvStore(kv3, { cacheTtl: 300 }) }).verify(t);
    assert.deepEqual(kv3.calls[0].options, { cacheTtl: 300 });
    assert.throws(() => new E.KvStore(kv, { cacheTtl: 30 }), TypeError);
    assert.throws(() => new E.KvStore({}), TypeError);
  });

  test("a KV outage fails closed with 503", async () => {
    const kv = new h.FakeKv();
    kv.down = true;
    const r = await new E.Validator(config, { store: new E.KvStore(kv) }).verify(token(h.nowS()));
    assert.equal(r.error.code, "revocation_unavailable");
    assert.equal(r.error.status, 503);
  });
});

describe("Redis (a real redis-server) shared by validators on node-redis and ioredis", () => {
  let redis;
  let nodeRedis;
  let ioredis;
  const policy = { ...config, revocation: { cache_ttl_s: 30, timeout_ms: 500 } };

  before(async () => {
    redis = await h.startRedis();
    nodeRedis = createClient({ url: redis.url });
    nodeRedis.on("error", () => {});
    await nodeRedis.connect();
    ioredis = new Redis({ host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: 1 });
    ioredis.on("error", () => {});
    await ioredis.ping();
  });

  after(async () => {
    nodeRedis?.destroy();
    ioredis?.disconnect();
    await redis?.stop();
  });

  test("RedisStore recognises both clients and round-trips values with SET EX", async () => {
    for (const [name, client] of [["node-redis", nodeRedis], ["ioredis", ioredis]]) {
      const store = new E.RedisStore(client, { prefix: `t-${name}:` });
      assert.equal(await store.get("missing"), null);
      await store.put("k", "v", 100);
      assert.equal(await store.get("k"), "v");
      const ttl = await ioredis.ttl(`t-${name}:k`);
      assert.ok(ttl > 95 && ttl <= 100, `${name} TTL ${ttl}`);
    }
    assert.throws(() => new E.RedisStore({}), TypeError);
    assert.throws(() => new E.RedisStore(ioredis, { kind: "memcached" }), TypeError);
  });

  test("revoke through the node-redis host; the ioredis host refuses after its cache TTL, a fresh one at once", async () => {
    const hostA = new E.Validator(policy, { store: new E.RedisStore(nodeRedis) });
    const hostB = new E.Validator(policy, { store: new E.RedisStore(ioredis) });
    const at = h.nowS();
    const t = token(at, { sub: "redis-user" });
    const { jti, exp } = h.decode(t).claims;
    assert.equal((await hostB.verify(t, { now: at })).ok, true, "host B caches 'not revoked'");
    await hostA.revoke({ jti, exp, reason: "logout" }, { now: at });
    assert.equal((await hostA.verify(t, { now: at })).error.code, "revoked", "host A's cache learned it");
    assert.equal((await hostB.verify(t, { now: at + 22 })).ok, true, "host B within its cache TTL (at least 3/4 of it)");
    assert.equal((await hostB.verify(t, { now: at + 30 })).error.code, "revoked", "host B after its cache TTL");
    const hostC = new E.Validator(policy, { store: new E.RedisStore(ioredis) });
    assert.equal((await hostC.verify(t, { now: at })).error.code, "revoked", "a host that never cached refuses at once");
    // The entry in Redis is the Worker's KV entry: key, value, lifetime.
    const raw = JSON.parse(await nodeRedis.get(`jti:${jti}`));
    assert.deepEqual(raw, { reason: "logout", revoked_at: at, sub: null, exp });
    const ttl = await ioredis.ttl(`jti:${jti}`);
    assert.ok(ttl > exp + LEEWAY - at - 5 && ttl <= exp + LEEWAY - at, `ttl ${ttl}`);
  });

  test("subject and global revocations through Redis, read by the other client", async () => {
    const hostA = new E.Validator(policy, { store: new E.RedisStore(ioredis) });
    const hostB = new E.Validator(policy, { store: new E.RedisStore(nodeRedis) });
    const at = h.nowS();
    const t = token(at - 60, { sub: "dora" });
    await hostA.revoke({ sub: "dora", before: at - 30 }, { now: at });
    assert.equal((await hostB.verify(t, { now: at })).error.code, "revoked");
    assert.deepEqual(JSON.parse(await nodeRedis.get("sub:dora")), { before: at - 30, revoked_at: at });
    const ttl = await nodeRedis.ttl("sub:dora");
    assert.ok(ttl > LONGEST - 5 && ttl <= LONGEST, `ttl ${ttl}`);
    const other = token(at - 60, { sub: "erin" });
    assert.equal((await new E.Validator(policy, { store: new E.RedisStore(nodeRedis) }).verify(other, { now: at })).ok, true);
    await hostB.revoke({ before: at - 10 }, { now: at });
    assert.equal((await new E.Validator(policy, { store: new E.RedisStore(ioredis) }).verify(other, { now: at })).error.code, "revoked");
    await nodeRedis.del("global");
  });

  test("an entry written by another host (the Worker's layout) is honoured", async () => {
    const at = h.nowS();
    const t = token(at, { sub: "frank" });
    const { jti } = h.decode(t).claims;
    await ioredis.set(`jti:${jti}`, JSON.stringify({ reason: "admin", revoked_at: at }), "EX", 600);
    const r = await new E.Validator(policy, { store: new E.RedisStore(nodeRedis) }).verify(t, { now: at });
    assert.equal(r.error.code, "revoked");
    await ioredis.set("sub:frank", "{corrupt", "EX", 600);
    const corrupt = await new E.Validator(policy, { store: new E.RedisStore(nodeRedis) }).verify(token(at, { sub: "frank" }), { now: at });
    assert.equal(corrupt.error.code, "revocation_unavailable", "an unreadable entry fails closed");
  });

  test("Redis down: every read fails closed (503) within timeout_ms, with either client", async () => {
    const t = token(h.nowS(), { sub: "gina" });
    await redis.stop();
    for (const client of [nodeRedis, ioredis]) {
      const v = new E.Validator(policy, { store: new E.RedisStore(client) });
      const started = Date.now();
      const r = await v.verify(t);
      assert.equal(r.error.code, "revocation_unavailable");
      assert.equal(r.error.status, 503);
      assert.ok(Date.now() - started < 3000, "bounded by the store timeout");
      await assert.rejects(v.revoke({ sub: "gina" }), (e) => e.code === "revocation_unavailable");
    }
  });
});
