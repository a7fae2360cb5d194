// Sender-constrained tokens in workerd (issue 18): DPoP-bound tokens (RFC 9449) and
// certificate-bound tokens (RFC 8705) through the built Worker. Proofs are made by hand with
// node:crypto (tests/support/dpop.mjs), not by the core that checks them. The attacker's cases
// first: the stolen token as a bearer token, with the attacker's own proof, a replayed proof.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import * as h from "./harness.mjs";
import { clientKey, makeProof, thumbprint } from "../support/dpop.mjs";

const BASE = "http://worker.test";
const ALGS = 'algs="ES256 EdDSA PS256 RS256"';
const NONCE_KEY = "dpop-nonce-key-for-worker-tests-0123456789";

const policy = h.basePolicy({
  routes: [
    { path: "/orders/*", dpop: "required" },
    { path: "/mtls/*", binding: "mtls" },
  ],
});

const client = clientKey("ES256");
const attacker = clientKey("ES256");
const boundToken = (key = client, extra = {}) => h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims({ cnf: { jkt: thumbprint(key.jwk) }, ...extra }));
const dpopHeaders = (token, proof) => ({ authorization: `DPoP ${token}`, dpop: proof });

/** A 401 with the DPoP challenge for `error` and the code in the body. */
function assertDpopRefusal(r, code, error) {
  const ctx = `expected 401 ${code}, got ${r.status} ${JSON.stringify(r.body)}`;
  assert.equal(r.status, 401, ctx);
  assert.equal(r.body.code, code, ctx);
  const challenge = r.headers.get("www-authenticate") ?? "";
  assert.ok(challenge.startsWith(`DPoP error="${error}"`), `${code}: ${challenge}`);
  assert.ok(challenge.endsWith(ALGS), `${code}: ${challenge}`);
}

describe("DPoP in workerd", () => {
  let origin, worker;
  before(async () => {
    origin = await h.startOrigin();
    worker = await h.startWorker({ policy, origin: origin.url });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
  });

  test("a stolen DPoP-bound token presented as a bearer token is refused on every route", async () => {
    const token = boundToken();
    for (const path of ["/orders/1", "/anything"]) {
      const r = await worker.get(path, token);
      assertDpopRefusal(r, "dpop_required", "invalid_token");
    }
  });

  test("a stolen bound token can neither be refreshed nor logged out (those endpoints check no proof)", async () => {
    const token = boundToken();
    for (const endpoint of ["/v1/refresh", "/v1/logout"]) {
      const r = await worker.json(endpoint, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 401, `${endpoint}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, "dpop_required", endpoint);
    }
    // Nothing was consumed or revoked: the owner's next request with its proof passes.
    const proof = makeProof(client, { htu: `${BASE}/orders/9`, accessToken: token });
    const r = await worker.json("/orders/9", { headers: dpopHeaders(token, proof) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  test("a stolen DPoP-bound token with the attacker's own proof is refused", async () => {
    const token = boundToken();
    const proof = makeProof(attacker, { htu: `${BASE}/orders/1`, accessToken: token });
    const r = await worker.json("/orders/1", { headers: dpopHeaders(token, proof) });
    assertDpopRefusal(r, "dpop_binding_mismatch", "invalid_token");
  });

  test("a replayed proof is refused", async () => {
    const token = boundToken();
    const proof = makeProof(client, { htu: `${BASE}/orders/7`, accessToken: token });
    const first = await worker.json("/orders/7", { headers: dpopHeaders(token, proof) });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await worker.json("/orders/7", { headers: dpopHeaders(token, proof) });
    assertDpopRefusal(again, "dpop_replayed", "invalid_dpop_proof");
  });

  test("a proof for another method or URI, or without ath, is refused", async () => {
    const token = boundToken();
    const cases = {
      "wrong htm": { htm: "POST", htu: `${BASE}/orders/2`, accessToken: token },
      "wrong htu path": { htu: `${BASE}/orders/3`, accessToken: token },
      "wrong htu scheme": { htu: "https://worker.test/orders/2", accessToken: token },
      "missing ath": { htu: `${BASE}/orders/2` },
      "stale iat": { htu: `${BASE}/orders/2`, accessToken: token, iat: h.now() - 600 },
    };
    for (const [what, spec] of Object.entries(cases)) {
      const r = await worker.json("/orders/2", { headers: dpopHeaders(token, makeProof(client, spec)) });
      assertDpopRefusal(r, "invalid_dpop_proof", "invalid_dpop_proof");
      assert.ok(r.body.error_description.length > 0, what);
    }
  });

  test("DPoP-bound tokens pass a required route with ES256 and EdDSA proofs; the query is no part of htu", async () => {
    for (const alg of ["ES256", "EdDSA"]) {
      const key = alg === "ES256" ? client : clientKey("EdDSA");
      const token = boundToken(key);
      const proof = makeProof(key, { htu: `${BASE}/orders/9`, accessToken: token });
      const r = await worker.json("/orders/9?page=2", { headers: dpopHeaders(token, proof) });
      assert.equal(r.status, 200, `${alg}: ${JSON.stringify(r.body)}`);
      const seen = origin.requests.at(-1);
      assert.equal(seen.url, "/orders/9?page=2");
      assert.equal(seen.headers["x-edge-jwt-sub"], "alice");
      // forward_authorization is true by default: the proof travels with the token.
      assert.equal(seen.headers.dpop, proof);
    }
  });

  test("a required route refuses an unbound bearer token and names DPoP in its challenges", async () => {
    const plain = h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims());
    assertDpopRefusal(await worker.get("/orders/1", plain), "dpop_required", "invalid_token");
    const anonymous = await worker.json("/orders/1");
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("www-authenticate"), `DPoP ${ALGS}`);
    // Routes without dpop keep taking bearer tokens.
    assert.equal((await worker.get("/anything", plain)).status, 200);
  });

  test("mTLS: a certificate-bound token needs request.cf.tlsClientAuth with its verified certificate", async () => {
    const der = Buffer.from("a client certificate's DER bytes");
    const sha256 = (await import("node:crypto")).createHash("sha256").update(der).digest();
    const token = h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims({ cnf: { "x5t#S256": sha256.toString("base64url") } }));
    const auth = (over = {}) => ({ certPresented: "1", certVerified: "SUCCESS", certFingerprintSHA256: sha256.toString("hex"), ...over });
    const call = (path, tlsClientAuth) =>
      worker.json(path, { headers: { authorization: `Bearer ${token}` }, ...(tlsClientAuth ? { cf: { tlsClientAuth } } : {}) });
    for (const path of ["/mtls/a", "/elsewhere"]) {
      assert.equal((await call(path, auth())).status, 200, path);
      const other = "ab".repeat(32);
      for (const [what, tls] of [
        ["another certificate", auth({ certFingerprintSHA256: other })],
        ["not verified", auth({ certVerified: "FAILED:self signed certificate" })],
        ["not presented", auth({ certPresented: "0", certFingerprintSHA256: "" })],
        ["no tlsClientAuth", undefined],
      ]) {
        const r = await call(path, tls);
        assert.equal(r.status, 401, `${path} ${what}`);
        assert.equal(r.body.code, "mtls_binding_mismatch", `${path} ${what}`);
      }
    }
    // A binding route refuses an unbound token, certificate or not.
    const plain = h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims());
    const r = await worker.json("/mtls/a", { headers: { authorization: `Bearer ${plain}` }, cf: { tlsClientAuth: auth() } });
    assert.equal(r.body.code, "binding_required");
  });
});

describe("DPoP nonces and forwarding in workerd", () => {
  let origin, worker;
  const noncePolicy = h.basePolicy({
    routes: [{ path: "/orders/*", dpop: "required" }],
    gateway: { forward_authorization: false, dpop: { nonce: { window_s: 300 } } },
  });
  before(async () => {
    origin = await h.startOrigin();
    worker = await h.startWorker({ policy: noncePolicy, origin: origin.url, bindings: { DPOP_NONCE_KEY: NONCE_KEY } });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
  });

  test("nonce challenge round trip: use_dpop_nonce with DPoP-Nonce, then the retry passes", async () => {
    const token = boundToken();
    const first = await worker.json("/orders/5", { headers: dpopHeaders(token, makeProof(client, { htu: `${BASE}/orders/5`, accessToken: token })) });
    assertDpopRefusal(first, "use_dpop_nonce", "use_dpop_nonce");
    const nonce = first.headers.get("dpop-nonce");
    assert.ok(nonce, "a DPoP-Nonce header");
    const forged = makeProof(client, { htu: `${BASE}/orders/5`, accessToken: token, nonce: "A".repeat(32) });
    assertDpopRefusal(await worker.json("/orders/5", { headers: dpopHeaders(token, forged) }), "use_dpop_nonce", "use_dpop_nonce");
    const retry = makeProof(client, { htu: `${BASE}/orders/5`, accessToken: token, nonce });
    const r = await worker.json("/orders/5", { headers: dpopHeaders(token, retry) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // forward_authorization: false keeps both halves of the credential from the origin.
    const seen = origin.requests.at(-1);
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers.dpop, undefined);
    assert.equal(seen.headers["x-edge-jwt-sub"], "alice");
  });

  test("a policy with nonces and no DPOP_NONCE_KEY does not start", async () => {
    const broken = await h.startWorker({ policy: noncePolicy, origin: origin.url });
    try {
      const r = await broken.json("/orders/1");
      assert.equal(r.status, 500);
      assert.equal(r.body.code, "config_error");
      assert.ok(await broken.waitForLog((l) => l.includes("DPOP_NONCE_KEY")), "the log names DPOP_NONCE_KEY");
    } finally {
      await broken.dispose();
    }
  });
});

// Exactly once across isolates (routes[].dpop_replay / gateway.dpop.replay "global"): the
// proof is recorded in a Durable Object shard of the revocation authority's class, so a proof
// used at one instance is refused at another, where the per-isolate memory never saw it.
describe("DPoP proofs used once everywhere", () => {
  let worker;
  const globalPolicy = h.basePolicy({
    routes: [
      { path: "/payments/*", dpop: "required", dpop_replay: "global" },
      { path: "/orders/*", dpop: "required" },
    ],
  });
  before(async () => {
    worker = await h.startWorker({ policy: globalPolicy, instances: 2 });
  });
  after(async () => {
    await worker?.dispose();
  });

  test("a proof used at one instance is refused at another on a global route, not on an isolate one", async () => {
    const other = await worker.instance(2);
    const token = boundToken();
    const pay = makeProof(client, { htu: `${BASE}/payments/1`, accessToken: token });
    const first = await worker.json("/payments/1", { headers: dpopHeaders(token, pay) });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assertDpopRefusal(await other.json("/payments/1", { headers: dpopHeaders(token, pay) }), "dpop_replayed", "invalid_dpop_proof");
    // The per-isolate route only remembers proofs in the isolate that saw them.
    const order = makeProof(client, { htu: `${BASE}/orders/1`, accessToken: token });
    assert.equal((await worker.json("/orders/1", { headers: dpopHeaders(token, order) })).status, 200);
    assert.equal((await other.json("/orders/1", { headers: dpopHeaders(token, order) })).status, 200, "isolate scope: another isolate does not know it");
  });

  test("concurrent uses of one proof at two instances: exactly one passes", async () => {
    const other = await worker.instance(2);
    for (let round = 0; round < 6; round++) {
      const token = boundToken();
      const proof = makeProof(client, { htu: `${BASE}/payments/${round}`, accessToken: token });
      const answers = await Promise.all([
        worker.json(`/payments/${round}`, { headers: dpopHeaders(token, proof) }),
        other.json(`/payments/${round}`, { headers: dpopHeaders(token, proof) }),
      ]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 401], `round ${round}: ${answers.map((a) => JSON.stringify(a.body))}`);
    }
  });

  test("a global route without the authority binding is a config error at start-up", async () => {
    const bare = await h.startWorker({ policy: globalPolicy, authority: false });
    try {
      const r = await bare.get("/payments/1", boundToken());
      assert.equal(r.status, 500);
      assert.equal(r.body.code, "config_error");
      await bare.waitForLog((line) => line.includes("routes[0].dpop_replay: a global replay check needs the REVOCATION_AUTHORITY binding"));
    } finally {
      await bare.dispose();
    }
  });
});
