// The admin endpoints in workerd: /v1/introspect and /v1/revoke refuse a missing or wrong
// credential (403) and accept ADMIN_TOKEN or a JWT carrying gateway.admin_scope; introspection
// (RFC 7662) of active and inactive tokens; malformed admin requests are 400.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const ADMIN_SCOPE = "edge-jwt:admin";
const policy = h.basePolicy({ gateway: { admin_scope: ADMIN_SCOPE } });
const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });

describe("admin credential", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  test("a missing or wrong credential is 403 on introspect and revoke, and changes nothing", async () => {
    const victim = mint({ sub: "victim" });
    const plain = mint({ sub: "user", claims: { scope: "read write edge-jwt:admin2" } });
    const wrongs = {
      none: null,
      wrong: "not-the-admin-token-at-all-0000",
      prefix: h.ADMIN_TOKEN.slice(0, -1),
      longer: `${h.ADMIN_TOKEN}x`,
      "jwt-without-scope": plain.token,
    };
    for (const [name, auth] of Object.entries(wrongs)) {
      for (const [p, body] of [
        ["/v1/revoke", { jti: victim.jti, exp: victim.exp }],
        ["/v1/revoke", { sub: "victim" }],
        ["/v1/revoke", { before: h.now() + 10 }],
        ["/v1/introspect", { token: victim.token }],
      ]) {
        const r = await worker.admin(p, body, { auth });
        assert.equal(r.status, 403, `${name} ${p} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error, "forbidden");
      }
    }
    // Basic auth carrying the admin token is not the bearer credential either.
    const basic = await worker.json("/v1/revoke", {
      method: "POST",
      headers: { authorization: `Basic ${h.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ jti: victim.jti }),
    });
    assert.equal(basic.status, 403);
    assert.equal((await worker.get("/api", victim.token)).status, 200, "nothing was revoked");
    assert.equal(await worker.storeEntry("global"), null);
  });

  test("ADMIN_TOKEN is accepted", async () => {
    const t = mint();
    const r = await worker.admin("/v1/introspect", { token: t.token });
    assert.equal(r.status, 200);
    assert.equal(r.body.active, true);
  });

  test("a JWT carrying the admin scope (scope or scp) is accepted", async () => {
    const victim = mint({ sub: "victim2" });
    const viaScope = mint({ sub: "ops", claims: { scope: `read ${ADMIN_SCOPE}` } });
    const viaScp = mint({ sub: "ops2", claims: { scp: ["x", ADMIN_SCOPE] } });
    const i = await worker.admin("/v1/introspect", { token: victim.token }, { auth: viaScp.token });
    assert.equal(i.status, 200);
    assert.equal(i.body.active, true);
    const r = await worker.admin("/v1/revoke", { jti: victim.jti, exp: victim.exp }, { auth: viaScope.token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    h.assertRejected(await worker.get("/api", victim.token), "revoked");
  });

  test("an admin JWT that is revoked, expired or forged is refused", async () => {
    const admin = mint({ sub: "ops3", claims: { scope: ADMIN_SCOPE } });
    const probe = mint();
    assert.equal((await worker.admin("/v1/introspect", { token: probe.token }, { auth: admin.token })).status, 200);
    assert.equal((await worker.json("/v1/logout", { method: "POST", headers: { authorization: `Bearer ${admin.token}` } })).status, 200);
    assert.equal((await worker.admin("/v1/introspect", { token: probe.token }, { auth: admin.token })).status, 403, "revoked");
    const expired = mint({ claims: { scope: ADMIN_SCOPE }, at: h.now() - 7200 });
    assert.equal((await worker.admin("/v1/introspect", { token: probe.token }, { auth: expired.token })).status, 403, "expired");
    const forged = h.issue({ config: h.mintConfig(policy, "attacker-secret-attacker-secret-attacker"), claims: { scope: ADMIN_SCOPE } });
    assert.equal((await worker.admin("/v1/introspect", { token: probe.token }, { auth: forged.token })).status, 403, "forged");
  });

  test("without ADMIN_TOKEN and admin_scope no credential works", async () => {
    await worker.reconfigure({ policy: h.basePolicy(), admin: null });
    const t = mint({ claims: { scope: ADMIN_SCOPE } });
    for (const auth of [h.ADMIN_TOKEN, t.token, null]) {
      const r = await worker.admin("/v1/introspect", { token: t.token }, { auth });
      assert.equal(r.status, 403);
    }
    await worker.reconfigure({ policy });
  });
});

describe("introspection (RFC 7662)", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  test("an active token: active, sub, exp, iat, jti, track, scope, iss, aud", async () => {
    const t = mint({ sub: "wendy", track: "2", claims: { scope: "read write" } });
    for (const form of [false, true]) {
      const r = await worker.admin("/v1/introspect", { token: t.token }, { form });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const c = h.decodeJwt(t.token).claims;
      assert.equal(r.body.active, true);
      assert.equal(r.body.sub, "wendy");
      assert.equal(r.body.exp, t.exp);
      assert.equal(r.body.iat, t.iat);
      assert.equal(r.body.jti, t.jti);
      assert.equal(r.body.track, "2");
      assert.equal(r.body.scope, "read write");
      assert.equal(r.body.iss, c.iss);
      assert.equal(r.body.aud, c.aud);
      assert.equal(r.headers.get("cache-control"), "no-store");
    }
  });

  test("inactive tokens: {active: false, code} for expired, revoked, forged and garbage", async () => {
    const revoked = mint({ sub: "xena" });
    await worker.json("/v1/logout", { method: "POST", headers: { authorization: `Bearer ${revoked.token}` } });
    const cases = {
      expired: mint({ at: h.now() - 7200 }).token,
      revoked: revoked.token,
      bad_signature: h.issue({ config: h.mintConfig(policy, "attacker-secret-attacker-secret-attacker") }).token,
      malformed: "garbage",
      bad_audience: h.issue({ config: { ...h.mintConfig(policy), audience: "elsewhere" } }).token,
    };
    for (const [code, token] of Object.entries(cases)) {
      const r = await worker.admin("/v1/introspect", { token });
      assert.equal(r.status, 200, code);
      assert.deepEqual(r.body, { active: false, code }, code);
    }
  });

  test("introspect without a token, or with an unreadable body, is 400", async () => {
    for (const [body, form] of [[{}, false], [{ token: "" }, false], [{ other: "x" }, true]]) {
      const r = await worker.admin("/v1/introspect", body, { form });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error, "invalid_request");
    }
    const r = await worker.json("/v1/introspect", {
      method: "POST",
      headers: { authorization: `Bearer ${h.ADMIN_TOKEN}`, "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(r.status, 400);
  });

  test("malformed revoke requests are 400 and store nothing", async () => {
    const bodies = [
      {},
      { jti: "j", before: 5 },
      { sub: "s", exp: 5 },
      { jti: 5 },
      { jti: "" },
      { sub: "" },
      { before: "yesterday" },
      { jti: "j", unknown: true },
    ];
    for (const body of bodies) {
      const r = await worker.admin("/v1/revoke", body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, "invalid_request");
    }
    for (const key of ["jti:j", "sub:s", "global"]) assert.equal(await worker.storeEntry(key), null, key);
  });
});
