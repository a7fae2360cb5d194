// Every error code of the core, produced through the npm package, with the status of the core's
// table — and, for each token-level code, the same verdict from the native CLI on the same token
// (the package and the CLI are one core). The last test checks that no code was left out.

import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";

import * as E from "edge-jwt";

import * as h from "./helpers.mjs";

const es = h.cliKeygen("ES256", "es-1");
const policy = {
  algorithms: ["HS256", "ES256"],
  secret: h.SECRET,
  keys: es.jwks,
  issuer: h.ISSUER,
  audience: h.AUDIENCE,
  tracks: { unknown: "reject" },
  gateway: { roles_claim: "realm_access.roles" },
  routes: [
    { path: "/ops/*", scopes: ["ops.write"] },
    { path: "/sessions/*", tracks: [4] },
    { path: "/admin/*", roles: ["admin"] },
    { path: "/ci/*", claims: { repository: { equals: "org/app" } } },
  ],
};
const validator = new E.Validator(policy);
const table = Object.fromEntries(E.errorCodes().map((c) => [c.code, c.status]));
const produced = new Set();

function claims(overrides = {}) {
  return h.standardClaims({ iss: h.ISSUER, aud: h.AUDIENCE, ...overrides });
}

function record(result, code) {
  assert.equal(result.ok, false, `expected ${code}, got a verified token`);
  assert.equal(result.error.code, code, result.error.message);
  assert.equal(result.error.status, table[code], `status of ${code}`);
  assert.equal(typeof result.error.message, "string");
  produced.add(code);
}

/** The package's verdict, the CLI's verdict on the same token, the error response's status. */
async function rejects(token, code, { parity = true } = {}) {
  record(await validator.verify(token), code);
  if (parity) {
    const core = h.cliVerify(policy, token);
    assert.equal(core?.ok, false);
    assert.equal(core.error.code, code, "the CLI gives the same code");
  }
  const response = E.errorResponse((await validator.verify(token)).error);
  assert.equal(response.status, table[code]);
  assert.equal(JSON.parse(response.body).code, code);
}

describe("token-level codes (package and CLI agree)", () => {
  test("control: a valid token passes both", async () => {
    const t = h.signHmac({ alg: "HS256", typ: "JWT" }, claims());
    assert.equal((await validator.verify(t)).ok, true);
    assert.equal(h.cliVerify(policy, t).ok, true);
  });

  test("malformed: segments, base64url, JSON, payload not an object", async () => {
    await rejects("abc", "malformed");
    await rejects("a.b", "malformed");
    await rejects(`${h.b64json({ alg: "HS256" })}.@@@.sig`, "malformed");
    await rejects(h.signSegments(h.b64json({ alg: "HS256" }), h.b64url("[1,2]")), "malformed");
    await rejects(h.signSegments(h.b64url('{"alg":"HS256","alg":"HS256"}'), h.b64json(claims())), "malformed");
  });

  test("too_large: a token over max_token_bytes (8192)", async () => {
    await rejects(h.signHmac({ alg: "HS256" }, claims({ pad: "x".repeat(9000) })), "too_large");
  });

  test("unsupported_header: crit, b64 false", async () => {
    await rejects(h.signHmac({ alg: "HS256", crit: ["exp"] }, claims()), "unsupported_header");
    await rejects(h.signHmac({ alg: "HS256", b64: false }, claims()), "unsupported_header");
  });

  test("alg_not_allowed: none, outside the allow-list", async () => {
    await rejects(`${h.b64json({ alg: "none" })}.${h.b64json(claims())}.`, "alg_not_allowed");
    await rejects(h.signSegments(h.b64json({ alg: "HS512" }), h.b64json(claims()), h.LONG_SECRET, "sha512"), "alg_not_allowed");
  });

  test("unknown_kid and bad_signature", async () => {
    const other = h.cliKeygen("ES256", "nope");
    const foreign = h.cliIssue({ config: { algorithms: ["ES256"], keys: other.jwks, issuer: h.ISSUER, audience: h.AUDIENCE }, key: other.private_jwk });
    await rejects(foreign.token, "unknown_kid");
    const t = h.signHmac({ alg: "HS256" }, claims());
    const [hd, pl, sig] = t.split(".");
    await rejects(`${hd}.${h.b64json(claims({ sub: "mallory" }))}.${sig}`, "bad_signature");
    await rejects(h.signHmac({ alg: "HS256" }, claims(), "wrong-secret-wrong-secret-wrong-secret"), "bad_signature");
    void pl;
  });

  test("expired, not_yet_valid, iat_in_future (with the 30 s leeway)", async () => {
    const now = h.nowS();
    await rejects(h.signHmac({ alg: "HS256" }, claims({ iat: now - 700, exp: now - 31 })), "expired");
    await rejects(h.signHmac({ alg: "HS256" }, claims({ nbf: now + 120 })), "not_yet_valid");
    await rejects(h.signHmac({ alg: "HS256" }, claims({ iat: now + 120, exp: now + 600 })), "iat_in_future");
  });

  test("bad_issuer, bad_audience, missing_claim, invalid_claim", async () => {
    await rejects(h.signHmac({ alg: "HS256" }, claims({ iss: "https://evil.test" })), "bad_issuer");
    await rejects(h.signHmac({ alg: "HS256" }, claims({ aud: ["other"] })), "bad_audience");
    const noJti = claims();
    delete noJti.jti;
    await rejects(h.signHmac({ alg: "HS256" }, noJti), "missing_claim");
    await rejects(h.signHmac({ alg: "HS256" }, claims({ exp: "tomorrow" })), "invalid_claim");
    await rejects(h.signHmac({ alg: "HS256" }, claims({ track: 4.5 })), "invalid_claim");
  });

  test("ttl_exceeds_track and unknown_track", async () => {
    const now = h.nowS();
    await rejects(h.signHmac({ alg: "HS256" }, claims({ iat: now, exp: now + 3601, track: 4 })), "ttl_exceeds_track");
    await rejects(h.signHmac({ alg: "HS256" }, claims({ track: "9" })), "unknown_track");
  });
});

describe("host-level codes", () => {
  test("revoked: by jti, by subject, globally (the CLI with the same revocations agrees)", async () => {
    const store = new E.MemoryStore();
    const v = new E.Validator(policy, { store });
    const now = h.nowS();
    const a = h.signHmac({ alg: "HS256" }, claims({ iat: now - 10 }));
    const b = h.signHmac({ alg: "HS256" }, claims({ sub: "bob", iat: now - 10 }));
    const c = h.signHmac({ alg: "HS256" }, claims({ sub: "carol", iat: now - 10 }));
    const jti = h.decode(a).claims.jti;
    await v.revoke({ jti, exp: now + 600 });
    record(await v.verify(a), "revoked");
    assert.equal(h.cliVerify(policy, a, undefined, { jti: [jti] }).error.code, "revoked");
    assert.equal((await v.verify(b)).ok, true);
    await v.revoke({ sub: "bob", before: now });
    record(await v.verify(b), "revoked");
    assert.equal(h.cliVerify(policy, b, undefined, { sub: { bob: now } }).error.code, "revoked");
    await v.revoke({ before: now });
    record(await v.verify(c), "revoked");
    assert.equal(h.cliVerify(policy, c, undefined, { before: now }).error.code, "revoked");
  });

  test("revocation_unavailable (503): a store that fails, or answers garbage, fails closed", async () => {
    const t = h.signHmac({ alg: "HS256" }, claims());
    const failing = [
      { get: async () => { throw new Error("down"); }, put: async () => {} },
      { get: () => { throw new Error("sync throw"); }, put: async () => {} },
      { get: async () => 42, put: async () => {} },
      { get: async () => "not json", put: async () => {} },
      { get: () => new Promise(() => {}), put: async () => {} },
    ];
    for (const store of failing) {
      const v = new E.Validator({ ...policy, revocation: { timeout_ms: 50 } }, { store });
      const r = await v.verify(t);
      record(r, "revocation_unavailable");
      const response = E.errorResponse(r.error);
      assert.equal(response.status, 503);
      assert.equal(response.headers["www-authenticate"], undefined, "no challenge: the token is not at fault");
      assert.equal(JSON.parse(response.body).error, "temporarily_unavailable");
    }
    const v = new E.Validator(policy, { store: failing[0] });
    await assert.rejects(v.revoke({ before: 1 }), (e) => e instanceof E.EdgeJwtError && e.code === "revocation_unavailable" && e.status === 503);
  });

  test("config_error (500)", () => {
    assert.throws(() => new E.Validator({ ...policy, leeway_s: 9999 }), (e) => {
      record({ ok: false, error: { code: e.code, message: e.message, status: e.status } }, "config_error");
      return e instanceof E.ConfigError;
    });
  });

  test("missing_token: no Authorization, another scheme; bare Bearer challenge", async () => {
    record(await validator.verifyRequest({ headers: {} }), "missing_token");
    const r = await validator.verifyRequest({ headers: { authorization: "Basic YWxpY2U6cHc=" } });
    record(r, "missing_token");
    assert.equal(E.errorResponse(r.error).headers["www-authenticate"], "Bearer");
  });

  test("insufficient_scope and track_not_allowed (403) from the route policy", async () => {
    const t = h.signHmac({ alg: "HS256" }, claims({ scope: "ops.read", track: 1 }));
    const scope = await validator.checkRequest({ headers: { authorization: `Bearer ${t}` } }, { method: "POST", path: "/ops/deploy" });
    record(scope, "insufficient_scope");
    assert.equal(scope.error.scope, "ops.write");
    assert.equal(
      E.errorResponse(scope.error).headers["www-authenticate"],
      'Bearer error="insufficient_scope", error_description="scope ops.write is required", scope="ops.write"',
    );
    const track = await validator.checkRequest({ headers: { authorization: `Bearer ${t}` } }, { path: "/sessions/x" });
    record(track, "track_not_allowed");
    const ok = h.signHmac({ alg: "HS256" }, claims({ scope: "ops.read ops.write" }));
    assert.equal((await validator.checkRequest({ authorization: `Bearer ${ok}` }, { path: "/ops/deploy" })).ok, true);
  });

  test("insufficient_role and claim_mismatch (403) from the route's claim rules", async () => {
    const t = h.signHmac({ alg: "HS256" }, claims({ realm_access: { roles: ["user"] }, repository: "org/fork" }));
    const role = await validator.checkRequest({ headers: { authorization: `Bearer ${t}` } }, { path: "/admin/x" });
    record(role, "insufficient_role");
    assert.equal(role.error.status, 403);
    const mismatch = await validator.checkRequest({ headers: { authorization: `Bearer ${t}` } }, { path: "/ci/x" });
    record(mismatch, "claim_mismatch");
    const good = h.signHmac({ alg: "HS256" }, claims({ realm_access: { roles: ["admin"] }, repository: "org/app" }));
    for (const p of ["/admin/x", "/ci/x"]) {
      assert.equal((await validator.checkRequest({ headers: { authorization: `Bearer ${good}` } }, { path: p })).ok, true, p);
    }
  });

  test("jwks_unavailable (503): a remote JWKS that cannot be fetched", async () => {
    const server = http.createServer((req, res) => {
      res.statusCode = 500;
      res.end("down");
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    after(() => server.close());
    const config = {
      algorithms: ["ES256"],
      jwks_url: `http://127.0.0.1:${server.address().port}/jwks.json`,
      jwks: { allow_http: true, timeout_ms: 2000 },
    };
    const v = new E.Validator(config);
    const t = h.cliIssue({ config: { algorithms: ["ES256"], keys: es.jwks }, key: es.private_jwk }).token;
    const r = await v.verify(t);
    record(r, "jwks_unavailable");
    assert.equal(E.errorResponse(r.error).status, 503);
  });
});

test("malformed_request (400): a request path the gateway cannot decide on", async () => {
  const t = h.signHmac({ alg: "HS256" }, claims());
  const r = await validator.checkRequest({ headers: { authorization: `Bearer ${t}` } }, { path: "/ops%2Fdeploy" });
  record(r, "malformed_request");
  assert.equal(E.errorResponse(r.error).headers["www-authenticate"], undefined, "not a token problem");
});

describe("sender-constrained codes (DPoP, mTLS) from checkRequest", () => {
  const URI = "https://api.test/orders/1";
  const dpopPolicy = (extra = {}) => ({
    ...policy,
    routes: [{ path: "/orders/*", dpop: "required" }, { path: "/mtls/*", binding: "mtls" }],
    ...extra,
  });
  const key = E.generateKey("ES256").privateJwk;
  const other = E.generateKey("ES256").privateJwk;
  // RFC 7638: the required members in lexicographic order.
  const jkt = (jwk) => crypto.createHash("sha256").update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest("base64url");
  const token = (cnf) => h.signHmac({ alg: "HS256" }, claims({ cnf }));
  const request = (t, proof, p = "/orders/1") => ({ method: "GET", url: p, headers: { authorization: proof ? `DPoP ${t}` : `Bearer ${t}`, ...(proof ? { dpop: proof } : {}) } });
  const check = (v, t, proof, p, options = {}) => v.checkRequest(request(t, proof, p), { uri: `https://api.test${p ?? "/orders/1"}`, ...options });

  test("every DPoP and mTLS refusal, with its status", async () => {
    const v = new E.Validator(dpopPolicy());
    const bound = token({ jkt: jkt(key) });
    record(await check(v, bound), "dpop_required");
    record(await check(v, bound, await E.createDpopProof(other, "GET", URI, bound)), "dpop_binding_mismatch");
    record(await check(v, bound, await E.createDpopProof(key, "POST", URI, bound)), "invalid_dpop_proof");
    const proof = await E.createDpopProof(key, "GET", URI, bound);
    assert.equal((await check(v, bound, proof)).ok, true);
    record(await check(v, bound, proof), "dpop_replayed");
    const x5t = token({ "x5t#S256": crypto.randomBytes(32).toString("base64url") });
    record(await check(v, x5t, undefined, "/mtls/a"), "mtls_binding_mismatch");
    record(await check(v, h.signHmac({ alg: "HS256" }, claims()), undefined, "/mtls/a"), "binding_required");
    const nonces = new E.Validator(dpopPolicy({ gateway: { dpop: { nonce: {} } } }), { dpopNonceKey: "errors-test-dpop-nonce-key-0123456789ab" });
    const asked = await check(nonces, bound, await E.createDpopProof(key, "GET", URI, bound));
    record(asked, "use_dpop_nonce");
    assert.ok(asked.dpopNonce, "the refusal carries the nonce to retry with");
    const full = new E.Validator(dpopPolicy({ gateway: { dpop: { replay_cache_size: 1 } } }));
    assert.equal((await check(full, bound, await E.createDpopProof(key, "GET", URI, bound))).ok, true);
    record(await check(full, bound, await E.createDpopProof(key, "GET", URI, bound)), "dpop_replay_unavailable");
  });
});

/** Codes only the Worker's refresh and logout endpoints produce (the package has neither). */
const WORKER_ENDPOINT_CODES = new Set(["session_expired", "cross_site_request"]);

test("every code of the core's table was produced above", () => {
  const missing = Object.keys(table).filter((code) => !produced.has(code) && !WORKER_ENDPOINT_CODES.has(code));
  assert.deepEqual(missing, [], `codes never produced: ${missing.join(", ")}`);
});
