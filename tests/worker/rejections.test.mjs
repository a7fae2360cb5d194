// Every rejection the gateway can produce, end to end in workerd: 401 with the RFC 6750 JSON body
// {error, code, error_description} and `WWW-Authenticate: Bearer error="invalid_token",
// error_description="…"` (bare `Bearer` for missing_token), one structured log line per
// rejection that never carries the token, and the same verdict as the core's CLI on the same
// token. (revocation_unavailable, the 503, is in failures.test.mjs.) The rejections every host
// shares (missing, malformed, too large, unsupported header, algorithm, issuer and audience,
// missing and invalid claims, unknown track, …) are rows of tests/cases/*.json, which
// tests/js/consumer/cases.test.mjs runs through this Worker, Hono and Express and
// tests/cases.rs through the core and the CLI; this file keeps what the table cannot say (ES256
// keys, kids, revocation through the Worker's own endpoints, minted tokens).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";

const esKey = h.keygen("ES256", "es-1");
const policy = h.basePolicy({
  algorithms: ["HS256", "ES256"],
  tracks: { unknown: "reject" },
});
// What the CLI needs to verify/mint like the Worker: the policy, the secret and the public keys.
const coreConfig = { ...h.mintConfig(policy), keys: esKey.jwks };
const mint = (opts = {}) => h.issue({ config: coreConfig, ...opts });

describe("gateway rejections", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, jwks: esKey.jwks });
  });
  after(() => worker?.dispose());

  /**
   * Sends `token` to a path unique to the case, checks the response, the CLI parity and the
   * rejection log line; returns the log event.
   */
  async function rejects(name, token, code, { parity = true } = {}) {
    const path = `/r/${name}`;
    const r = await worker.get(path, token);
    h.assertRejected(r, code);
    if (parity) {
      const core = h.cliVerify(coreConfig, token);
      assert.equal(core?.ok, false, `the CLI accepts the ${name} token`);
      assert.equal(core.error.code, code, `CLI verdict for ${name}`);
    }
    const line = await worker.waitForLog((l) => l.includes('"edge_jwt_reject"') && l.includes(`"path":"${path}"`));
    assert.ok(line, `a rejection log line for ${path}`);
    const event = JSON.parse(line.slice(line.indexOf("{")));
    assert.equal(event.code, code);
    assert.equal(event.status, 401);
    assert.ok(!line.includes(token), "the log line never carries the token");
    assert.ok(!line.includes(h.SECRET), "the log line never carries the secret");
    return event;
  }

  test("a valid HS256 and a valid ES256 token pass (control)", async () => {
    for (const t of [mint(), mint({ key: esKey.private_jwk })]) {
      const r = await worker.get("/ok", t.token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });

  test("unknown_kid: an ES256 token whose kid no configured key has (kid is logged)", async () => {
    const other = h.keygen("ES256", "other-kid");
    const t = mint({ key: other.private_jwk });
    const event = await rejects("unknown-kid", t.token, "unknown_kid");
    assert.equal(event.kid, "other-kid");
  });

  test("bad_signature: HS256 with another secret; ES256 with the right kid but another key", async () => {
    const wrongSecret = h.issue({ config: { ...coreConfig, secret: "another-secret-of-enough-length-0123456" } });
    await rejects("bad-sig-hs", wrongSecret.token, "bad_signature");
    const impostor = h.keygen("ES256", "es-1");
    await rejects("bad-sig-es", mint({ key: impostor.private_jwk }).token, "bad_signature");
    // A valid token with one signature byte flipped.
    const t = mint().token;
    const sig = Buffer.from(t.split(".")[2], "base64url");
    sig[0] ^= 1;
    await rejects("bad-sig-flip", `${t.split(".").slice(0, 2).join(".")}.${sig.toString("base64url")}`, "bad_signature");
  });

  test("expired: exp more than the leeway in the past", async () => {
    const t = mint({ at: h.now() - 3600 - h.LEEWAY_S - 60, track: "4" });
    await rejects("expired", t.token, "expired");
  });

  test("not_yet_valid: nbf beyond the leeway", async () => {
    await rejects("nbf", h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims({ nbf: h.now() + 600 })), "not_yet_valid");
  });

  test("iat_in_future: iat beyond the leeway", async () => {
    const t = mint({ at: h.now() + 600 });
    await rejects("iat-future", t.token, "iat_in_future");
  });

  test("ttl_exceeds_track: exp - iat longer than the track's ceiling", async () => {
    const t = h.now();
    // track 4's ceiling is 3600 s.
    const claims = h.standardClaims({ track: 4, iat: t, exp: t + 7200 });
    await rejects("ttl", h.signHmac({ alg: "HS256", typ: "JWT" }, claims), "ttl_exceeds_track");
  });

  test("revoked: a logged-out token; the log line has its track and jti prefix", async () => {
    const t = mint({ track: "3" });
    const out = await worker.json("/v1/logout", { method: "POST", headers: { authorization: `Bearer ${t.token}` } });
    assert.equal(out.status, 200);
    const event = await rejects("revoked", t.token, "revoked", { parity: false });
    assert.equal(event.track, "3");
    assert.equal(event.jti_prefix, t.jti.slice(0, 8));
  });

  test("no log line ever contains a token or the secret", () => {
    assert.ok(worker.events("edge_jwt_reject").length >= 9, "the cases above were logged");
    for (const line of worker.logs) {
      assert.ok(!line.includes(h.SECRET));
      assert.doesNotMatch(line, /eyJ[\w-]+\.eyJ[\w-]+\./, `a token in the log: ${line.slice(0, 200)}`);
    }
  });
});
