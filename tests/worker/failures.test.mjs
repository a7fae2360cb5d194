// Failing closed in workerd: a REVOCATIONS binding whose reads fail or hang answers 503
// revocation_unavailable (never a pass), writes that fail are never reported as done, a missing
// binding and every kind of bad environment answer 500 config_error on every request with the
// field path in the log line.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const policy = h.basePolicy({ revocation: { timeout_ms: 300 } });
const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
const post = (worker, path, token) => worker.json(path, { method: "POST", headers: { authorization: `Bearer ${token}` } });

describe("KV failures fail closed", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, kv: "throw" });
  });
  after(() => worker?.dispose());

  for (const mode of ["throw", "sync-throw"]) {
    test(`a KV read that fails (${mode}) answers 503 revocation_unavailable`, async () => {
      await worker.reconfigure({ policy, kv: mode });
      const t = mint();
      const r = await worker.get(`/api/${mode}`, t.token);
      h.assertRejected(r, "revocation_unavailable", 503);
      assert.equal(r.body.error, "temporarily_unavailable");
      // Not a token problem: no invalid_token challenge.
      assert.equal(r.headers.get("www-authenticate"), null);
      const line = await worker.waitForLog((l) => l.includes('"edge_jwt_reject"') && l.includes(`/api/${mode}`));
      assert.ok(line, "rejection logged");
      assert.equal(JSON.parse(line.slice(line.indexOf("{"))).code, "revocation_unavailable");
      // Still refused on retry: no answer was cached from the failure.
      h.assertRejected(await worker.get("/api", t.token), "revocation_unavailable", 503);
    });
  }

  test("a KV read that never settles answers 503 after revocation.timeout_ms", async () => {
    await worker.reconfigure({ policy, kv: "hang" });
    const t = mint();
    await worker.health(); // isolate up, so the timing is the request's
    const started = performance.now();
    const r = await worker.get("/api/hang", t.token);
    const elapsed = performance.now() - started;
    h.assertRejected(r, "revocation_unavailable", 503);
    assert.ok(elapsed >= 290, `answered after ${elapsed.toFixed(0)} ms, before the 300 ms deadline`);
    assert.ok(elapsed < 3000, `answered after ${elapsed.toFixed(0)} ms`);
  });

  test("with KV down, invalid tokens still get their own code (no store needed)", async () => {
    await worker.reconfigure({ policy, kv: "throw" });
    h.assertRejected(await worker.get("/api", "a.b"), "malformed");
    h.assertRejected(await worker.get("/api", mint({ at: h.now() - 7200 }).token), "expired");
    h.assertRejected(await worker.get("/api"), "missing_token");
  });

  test("with KV down, logout, refresh, revoke and introspect fail closed (503)", async () => {
    await worker.reconfigure({ policy, kv: "throw" });
    const t = mint();
    const logout = await post(worker, "/v1/logout", t.token);
    h.assertRejected(logout, "revocation_unavailable", 503);
    const refresh = await post(worker, "/v1/refresh", t.token);
    h.assertRejected(refresh, "revocation_unavailable", 503);
    assert.equal(refresh.body.token, undefined, "no new token");
    for (const body of [{ jti: t.jti, exp: t.exp }, { sub: "alice" }, { before: h.now() }]) {
      const r = await worker.admin("/v1/revoke", body);
      assert.equal(r.status, 503, `revoke ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, "revocation_unavailable");
    }
    const i = await worker.admin("/v1/introspect", { token: t.token });
    assert.equal(i.status, 503, "introspection does not answer active without the store");
    assert.equal(i.body.code, "revocation_unavailable");
  });

  test("a write that never settles is not reported as done", async () => {
    await worker.reconfigure({ policy, kv: "hang" });
    const t = mint();
    const r = await worker.admin("/v1/revoke", { jti: t.jti, exp: t.exp });
    assert.equal(r.status, 503);
    assert.equal(r.body.code, "revocation_unavailable");
  });
});

describe("configuration errors answer 500 config_error on every request", () => {
  let worker;
  const esKey = h.keygen("ES256", "k1");
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  /**
   * Restarts the Worker with `opts`, checks that every kind of request answers 500
   * config_error, and that the config error log line names `path`. Returns the log message.
   */
  async function refusesEverything(opts, path) {
    const seen = worker.logs.length;
    await worker.reconfigure(opts);
    const t = mint();
    const requests = [
      () => worker.get("/api/x", t.token),
      () => worker.get("/api/x"),
      () => worker.json("/v1/health"),
      () => worker.json("/.well-known/jwks.json"),
      () => worker.admin("/v1/revoke", { jti: t.jti }),
      () => worker.admin("/v1/introspect", { token: t.token }),
      () => post(worker, "/v1/logout", t.token),
      () => post(worker, "/v1/refresh", t.token),
    ];
    for (const send of requests) {
      const r = await send();
      assert.equal(r.status, 500, JSON.stringify(r.body));
      assert.equal(r.body.code, "config_error");
      assert.equal(r.body.error, "server_error");
    }
    const line = await worker.waitForLog((l) => l.includes("edge_jwt_config_error") && worker.logs.indexOf(l) >= seen);
    assert.ok(line, "a config error log line");
    const event = JSON.parse(line.slice(line.indexOf("{")));
    assert.ok(event.message.includes(path), `log message names ${path}: ${event.message}`);
    return event.message;
  }

  test("a missing REVOCATIONS binding is a config_error, never a silent pass", async () => {
    await refusesEverything({ policy, kv: "none" }, "REVOCATIONS");
  });

  test("POLICY with an unknown field (top level and nested) names the field", async () => {
    const top = await refusesEverything({ policy: { ...policy, algoritms: ["HS256"] } }, "POLICY: algoritms:");
    assert.match(top, /unknown field/);
    await refusesEverything({ policy: { ...policy, gateway: { cookei: "s" } } }, "gateway.cookei");
    await refusesEverything({ policy: { ...policy, tracks: { ttl_s: { 4: "one hour" } } } }, "tracks.ttl_s.4");
    await refusesEverything({ policy: { ...policy, revocation: { cache_ttl_s: 100000 } } }, "revocation.cache_ttl_s");
  });

  test("POLICY that is not JSON, or is unset", async () => {
    await refusesEverything({ policy: "{algorithms: [HS256]" }, "POLICY");
    await refusesEverything({ policy: undefined }, "POLICY");
  });

  test("a JWT_SECRET shorter than HS256 needs; the secret is not echoed", async () => {
    const short = "short-s3cr3t";
    const message = await refusesEverything({ policy, secret: short }, "JWT_SECRET:");
    assert.ok(!message.includes(short));
    assert.ok(!worker.logs.some((l) => l.includes(short)), "the secret never reaches the log");
  });

  test("a POLICY containing a secret is refused (secrets belong in JWT_SECRET)", async () => {
    const leaked = "this-secret-should-not-be-in-vars-0123456789";
    await refusesEverything({ policy: { ...policy, secret: leaked }, secret: null }, "POLICY.secret");
    assert.ok(!worker.logs.some((l) => l.includes(leaked)));
  });

  test("a short ADMIN_TOKEN, a bad ORIGIN, a bad JWKS, a SIGNING_KEY the policy does not allow", async () => {
    await refusesEverything({ policy, admin: "short-admin" }, "ADMIN_TOKEN");
    await refusesEverything({ policy, origin: "ftp://example.test" }, "ORIGIN");
    await refusesEverything({ policy, jwks: undefined, bindings: { JWKS: "{not json" } }, "JWKS");
    await refusesEverything({ policy, signingKey: esKey.private_jwk }, "SIGNING_KEY");
  });

  test("a good environment afterwards works again (the error is per isolate, not sticky in KV)", async () => {
    await worker.reconfigure({ policy });
    assert.equal((await worker.get("/api", mint().token)).status, 200);
  });
});
