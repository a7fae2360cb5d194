// Token lifecycle endpoints in workerd: /v1/refresh rotates (HMAC via JWT_SECRET, and ES256 via
// SIGNING_KEY whose public key is in JWKS), /v1/logout is idempotent, /.well-known/jwks.json
// publishes the public keys (404 with HMAC only).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

/** POST with a bearer token. */
const post = (worker, path, token) =>
  worker.json(path, { method: "POST", headers: token ? { authorization: `Bearer ${token}` } : {} });

/** Checks one rotation of `old` (minted by the CLI) and returns the refreshed token. */
async function rotates(worker, old, { ttl, alg, kid }) {
  const t0 = h.now();
  const r = await post(worker, "/v1/refresh", old.token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // One shape for every host's mint (token, jti, iat, exp, track), plus the Worker's earlier
  // expires_at.
  assert.deepEqual(Object.keys(r.body).sort(), ["exp", "expires_at", "iat", "jti", "token", "track"]);
  assert.equal(r.body.jti, h.decodeJwt(r.body.token).claims.jti);
  const fresh = h.decodeJwt(r.body.token);
  const prev = h.decodeJwt(old.token);
  assert.equal(fresh.header.alg, alg);
  assert.equal(fresh.header.kid, kid);
  // Same subject, track, issuer, audience and custom claims; fresh jti, iat and exp; the
  // session's start carried as auth_time.
  const { jti, iat, exp, auth_time: authTime, ...same } = fresh.claims;
  const { jti: oldJti, iat: oldIat, exp: oldExp, auth_time: oldAuthTime, ...prevSame } = prev.claims;
  assert.deepEqual(same, prevSame);
  assert.equal(authTime, Math.min(oldAuthTime ?? oldIat, oldIat), "auth_time is the session's start");
  assert.notEqual(jti, oldJti);
  assert.match(jti, /^[0-9a-f]{32}$/);
  assert.ok(iat >= t0 && iat <= h.now(), `iat ${iat} is the refresh time`);
  assert.equal(exp, iat + ttl, "exp = now + the track's TTL");
  assert.equal(r.body.expires_at, exp);
  assert.equal(r.body.track, String(prev.claims.track));

  // The new token is accepted, the old one refused from now on.
  const ok = await worker.get("/api", r.body.token);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  h.assertRejected(await worker.get("/api", old.token), "revoked");
  // The old jti is in the store of record with reason "refresh".
  const entry = await worker.storeEntry(`jti:${old.jti}`);
  assert.equal(entry.reason, "refresh");
  assert.equal(entry.exp, old.exp);
  return r.body.token;
}

describe("refresh and logout with HMAC (JWT_SECRET)", () => {
  const policy = h.basePolicy();
  const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  test("health says refresh is available", async () => {
    assert.equal((await worker.health()).refresh, true);
  });

  test("refresh rotates: new token accepted, old refused, same sub/track/claims, fresh jti", async () => {
    const old = mint({ sub: "quinn", track: "3", claims: { scope: "read", tenant: "acme", roles: ["a", "b"] } });
    const next = await rotates(worker, old, { ttl: 14400, alg: "HS256", kid: undefined });
    // The core agrees the new token is valid under the same policy.
    assert.equal(h.cliVerify(h.mintConfig(policy), next).ok, true);
    // And it can itself be refreshed.
    const again = await post(worker, "/v1/refresh", next);
    assert.equal(again.status, 200);
    h.assertRejected(await worker.get("/api", next), "revoked");
  });

  test("a revoked token cannot refresh", async () => {
    const t = mint({ sub: "rita" });
    assert.equal((await post(worker, "/v1/logout", t.token)).status, 200);
    h.assertRejected(await post(worker, "/v1/refresh", t.token), "revoked");
    // Refreshing the same token twice: the second attempt is refused.
    const u = mint({ sub: "rita" });
    assert.equal((await post(worker, "/v1/refresh", u.token)).status, 200);
    h.assertRejected(await post(worker, "/v1/refresh", u.token), "revoked");
  });

  test("refresh without a token or with an invalid one is refused like the gateway", async () => {
    h.assertRejected(await post(worker, "/v1/refresh"), "missing_token");
    h.assertRejected(await post(worker, "/v1/refresh", "x.y.z"), "malformed");
    h.assertRejected(await post(worker, "/v1/refresh", mint({ at: h.now() - 7200 }).token), "expired");
  });

  test("logout twice answers {status: ok} both times and the token is refused after", async () => {
    const t = mint({ sub: "sam" });
    assert.equal((await worker.get("/api", t.token)).status, 200);
    for (let i = 0; i < 2; i++) {
      const r = await post(worker, "/v1/logout", t.token);
      assert.equal(r.status, 200, `logout #${i + 1}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(r.body, { status: "ok" });
    }
    h.assertRejected(await worker.get("/api", t.token), "revoked");
    const entry = await worker.storeEntry(`jti:${t.jti}`);
    assert.equal(entry.reason, "logout");
    assert.equal(entry.sub, "sam");
  });

  test("logout of an expired token is ok; of no token or a forged one is refused", async () => {
    const r = await post(worker, "/v1/logout", mint({ at: h.now() - 7200 }).token);
    assert.deepEqual([r.status, r.body], [200, { status: "ok" }]);
    h.assertRejected(await post(worker, "/v1/logout"), "missing_token");
    const forged = h.issue({ config: h.mintConfig(policy, "another-secret-with-32-bytes-at-least!") });
    h.assertRejected(await post(worker, "/v1/logout", forged.token), "bad_signature");
  });

  test("/.well-known/jwks.json is 404 with an HMAC secret only", async () => {
    const r = await worker.json("/.well-known/jwks.json");
    assert.equal(r.status, 404);
    assert.ok(!JSON.stringify(r.body).includes(h.SECRET));
  });
});

describe("refresh with an ES256 SIGNING_KEY and JWKS", () => {
  const signing = h.keygen("ES256", "sig-1");
  const other = h.keygen("EdDSA", "ver-2");
  const jwks = { keys: [...signing.jwks.keys, ...other.jwks.keys] };
  const policy = h.basePolicy({ algorithms: ["ES256", "EdDSA"] });
  const coreConfig = { ...policy, keys: jwks };
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, secret: null, jwks, signingKey: signing.private_jwk });
  });
  after(() => worker?.dispose());

  test("refresh mints ES256 with the signing key's kid; rotation as with HMAC", async () => {
    const old = h.issue({ config: coreConfig, key: signing.private_jwk, sub: "tess", track: "2", claims: { scope: "s1 s2" } });
    const next = await rotates(worker, old, { ttl: 28800, alg: "ES256", kid: "sig-1" });
    assert.equal(h.cliVerify(coreConfig, next).ok, true, "the new token verifies against the published JWKS");
  });

  test("a token of the other key (EdDSA) refreshes into an ES256 token", async () => {
    const old = h.issue({ config: coreConfig, key: other.private_jwk, sub: "uma", track: "4" });
    assert.equal(h.decodeJwt(old.token).header.alg, "EdDSA");
    await rotates(worker, old, { ttl: 3600, alg: "ES256", kid: "sig-1" });
  });

  test("/.well-known/jwks.json publishes the public keys, never private members", async () => {
    const r = await worker.json("/.well-known/jwks.json");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("cache-control"), /max-age/);
    const byKid = Object.fromEntries(r.body.keys.map((k) => [k.kid, k]));
    assert.deepEqual(Object.keys(byKid).sort(), ["sig-1", "ver-2"]);
    for (const expected of jwks.keys) {
      const got = byKid[expected.kid];
      for (const member of ["kty", "crv", "x", "y"]) assert.equal(got[member], expected[member], `${expected.kid}.${member}`);
    }
    for (const k of r.body.keys) assert.equal(k.d, undefined, "no private member");
    assert.ok(!JSON.stringify(r.body).includes(signing.private_jwk.d));
  });

  test("without SIGNING_KEY or JWT_SECRET, refresh is a config_error and revokes nothing", async () => {
    await worker.reconfigure({ policy, secret: null, jwks });
    assert.equal((await worker.health()).refresh, false);
    const t = h.issue({ config: coreConfig, key: signing.private_jwk, sub: "vic" });
    const r = await post(worker, "/v1/refresh", t.token);
    assert.equal(r.status, 500);
    assert.equal(r.body.code, "config_error");
    assert.equal((await worker.get("/api", t.token)).status, 200, "the token was not revoked");
  });
});
