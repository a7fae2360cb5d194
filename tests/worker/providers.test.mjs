// Real identity providers in one Worker (issue 17): Auth0, Okta, Cognito, Entra ID v1 and v2,
// Google, Firebase, Keycloak and GitHub Actions as `issuers` entries, their discovery documents
// and JWKS on a loopback server (tests/providers/providers.mjs). Each provider's token passes
// and forwards its mapped claims; the same token is checked by the CLI with the provider's JWKS
// inline. A token's `iss` only selects whose keys apply: another provider's key never verifies,
// an unknown `iss` is bad_issuer before any fetch, a discovery document naming another issuer is
// refused, and one provider's rotation or outage costs the others nothing. The CLI fetches
// the same documents (`edge-jwt verify` with discovery / jwks_url) and gives the same verdicts.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { execFile } from "node:child_process";

import * as h from "./harness.mjs";
import { PROVIDERS, providersPolicy, startProviderServer, tokenOf } from "../providers/providers.mjs";

const byName = (name) => PROVIDERS.find((p) => p.name === name);

/**
 * `edge-jwt verify` run without blocking this process, whose loopback server the CLI fetches
 * from: `{ json, stderr }`.
 */
function cliFetching(config, token) {
  const args = ["verify", "--config", h.writeTemp("policy.json", config), token];
  return new Promise((resolve) => {
    execFile(h.CLI, args, (_error, stdout, stderr) => resolve({ json: JSON.parse(stdout), stderr }));
  });
}

describe("identity providers as issuers entries", () => {
  let server, origin, worker, policy;
  before(async () => {
    server = await startProviderServer();
    origin = await h.startOrigin();
    // A provider whose discovery document names another issuer (another tenant's document).
    server.state.extra = { impostor: { name: "impostor", issuer: "https://impostor.example.com/" } };
    server.state.issuerOverride.impostor = "https://someone-else.example.com/";
    const impostor = {
      issuer: "https://impostor.example.com/", discovery: `${server.base}/impostor/`, audience: "x",
      algorithms: ["RS256"], jwks: { allow_http: true },
    };
    policy = providersPolicy({ base: server.base, extra: [impostor] });
    worker = await h.startWorker({ policy, secret: null, origin: origin.url });
  });
  after(async () => {
    await worker?.dispose();
    await origin?.close();
    await server?.close();
  });

  for (const provider of PROVIDERS) {
    test(`${provider.name}: a token passes the Worker and the CLI and forwards its claims`, async () => {
      const token = tokenOf(provider);
      const before = origin.requests.length;
      const r = await worker.get("/api/orders", token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const forwarded = origin.requests.at(-1).headers;
      assert.equal(origin.requests.length, before + 1);
      for (const [name, value] of Object.entries(provider.forwarded)) {
        assert.equal(forwarded[name], value, `${name} for ${provider.name}`);
      }
      assert.equal(forwarded["x-edge-jwt-sub"], provider.claims(provider.issuer, 0).sub);
      // The CLI: with the provider's JWKS inline, and fetching it as the Worker does.
      for (const cli of [h.cliVerify(providersPolicy({ inline: true }), token), (await cliFetching(policy, token)).json]) {
        assert.equal(cli.ok, true, JSON.stringify(cli));
        assert.equal(cli.claims.iss, provider.issuer);
      }
    });
  }

  test("a provider's key never verifies a token naming another provider's iss", async () => {
    const auth0 = byName("auth0");
    for (const other of PROVIDERS.filter((p) => p.name !== "auth0" && p.key !== "auth0")) {
      const forged = tokenOf(auth0, { edit: (c) => ({ ...c, iss: other.issuer, aud: other.entry.audience }), signWith: "auth0" });
      const r = await worker.get("/api/orders", forged);
      assert.equal(r.status, 401, `${other.name}: ${JSON.stringify(r.body)}`);
      assert.ok(["unknown_kid", "bad_signature"].includes(r.body.code), `${other.name}: ${r.body.code}`);
      const cli = h.cliVerify(providersPolicy({ inline: true }), forged);
      assert.equal(cli.error.code, r.body.code, `${other.name}: the CLI agrees`);
    }
    // The same kid at two providers is harmless: the token's iss chooses the set.
    const okta = byName("okta");
    const sameKid = tokenOf(okta, { header: { kid: "auth0-kid-1" } });
    h.assertRejected(await worker.get("/api/orders", sameKid), "unknown_kid");
  });

  test("an iss no entry names is bad_issuer, and costs no fetch", async () => {
    const hitsBefore = [...server.state.hits.values()].reduce((a, b) => a + b, 0);
    const stranger = tokenOf(byName("okta"), { edit: (c) => ({ ...c, iss: "https://evil.example.com/" }) });
    for (let i = 0; i < 5; i++) h.assertRejected(await worker.get("/api/orders", stranger), "bad_issuer");
    const trailing = tokenOf(byName("auth0"), { edit: (c) => ({ ...c, iss: "https://example-tenant.us.auth0.com" }) });
    h.assertRejected(await worker.get("/api/orders", trailing), "bad_issuer");
    const hitsAfter = [...server.state.hits.values()].reduce((a, b) => a + b, 0);
    assert.equal(hitsAfter, hitsBefore);
    assert.equal(h.cliVerify(providersPolicy({ inline: true }), stranger).error.code, "bad_issuer");
  });

  test("provider rules: Cognito id tokens and foreign client_ids, Auth0 audiences", async () => {
    const cognito = byName("cognito");
    const idToken = tokenOf(cognito, { edit: (c) => ({ ...c, token_use: "id", aud: c.client_id, client_id: undefined }) });
    const r = await worker.get("/api/orders", idToken);
    h.assertRejected(r, "missing_claim");
    const idWithClient = tokenOf(cognito, { edit: (c) => ({ ...c, token_use: "id" }) });
    h.assertRejected(await worker.get("/api/orders", idWithClient), "invalid_claim");
    // A policy for Cognito ID tokens (a web app's own session, not an API's): aud is the client.
    const idPolicy = { algorithms: ["RS256"], issuers: [{ issuer: cognito.issuer, keys: { keys: cognito.jwks() },
      audience: cognito.entry.audience, algorithms: ["RS256"], claims: { token_use: { equals: "id" } } }] };
    const idShaped = tokenOf(cognito, { edit: (c) => ({
      sub: c.sub, aud: c.client_id, "cognito:groups": c["cognito:groups"], email_verified: true, iss: c.iss,
      "cognito:username": "ada", origin_jti: c.origin_jti, event_id: c.event_id, token_use: "id",
      auth_time: c.auth_time, exp: c.exp, iat: c.iat, jti: c.jti, email: "ada@example.com" }) });
    assert.equal(h.cliVerify(idPolicy, idShaped).ok, true);
    assert.equal(h.cliVerify(idPolicy, tokenOf(cognito)).error.code, "missing_claim", "an access token has no aud");
    h.assertRejected(await worker.get("/api/orders", idShaped), "missing_claim");
    const otherClient = tokenOf(cognito, { edit: (c) => ({ ...c, client_id: "another-app-client" }) });
    h.assertRejected(await worker.get("/api/orders", otherClient), "bad_audience");
    const otherApi = tokenOf(byName("auth0"), { edit: (c) => ({ ...c, aud: "https://other-api.example.com" }) });
    h.assertRejected(await worker.get("/api/orders", otherApi), "bad_audience");
  });

  test("routes authorise on roles (Keycloak realm roles, Entra roles) and claims (GitHub repository and ref)", async () => {
    assert.equal((await worker.get("/admin/users", tokenOf(byName("keycloak")))).status, 200);
    assert.equal((await worker.get("/admin/users", tokenOf(byName("entra-v2")))).status, 200);
    const noAdmin = tokenOf(byName("keycloak"), { edit: (c) => ({ ...c, realm_access: { roles: ["offline_access"] } }) });
    h.assertRejected(await worker.get("/admin/users", noAdmin), "insufficient_role", 403);
    h.assertRejected(await worker.get("/admin/users", tokenOf(byName("google"))), "insufficient_role", 403);
    const github = byName("github");
    assert.equal((await worker.get("/deploy", tokenOf(github))).status, 200);
    const fork = tokenOf(github, { edit: (c) => ({ ...c, repository: "evil-org/octo-repo" }) });
    h.assertRejected(await worker.get("/deploy", fork), "claim_mismatch", 403);
    const branch = tokenOf(github, { edit: (c) => ({ ...c, ref: "refs/heads/feature" }) });
    h.assertRejected(await worker.get("/deploy", branch), "claim_mismatch", 403);
  });

  test("a discovery document naming another issuer is refused, clearly, and others still serve", async () => {
    const impostor = { name: "impostor", issuer: "https://impostor.example.com/", key: "auth0",
      header: byName("auth0").header, claims: (iss, now) => ({ iss, aud: "x", sub: "s", iat: now, exp: now + 60, jti: "j" }) };
    const r = await worker.get("/api/orders", tokenOf(impostor));
    h.assertRejected(r, "jwks_unavailable", 503);
    const cli = await cliFetching(policy, tokenOf(impostor));
    assert.equal(cli.json.error.code, "jwks_unavailable");
    assert.match(cli.stderr, /edge_jwt_discovery_rejected/);
    const health = await worker.health();
    const set = health.isolate.jwks.find((s) => s.issuer === "https://impostor.example.com/");
    assert.match(set.last_error, /is not the configured "https:\/\/impostor\.example\.com\/"/);
    assert.ok(worker.logs.some((l) => l.includes("edge_jwt_discovery_rejected")), "logged");
    assert.equal((await worker.get("/api/orders", tokenOf(byName("okta")))).status, 200);
  });

  test("rotation at one provider refetches its set only; another's outage costs the others nothing", async () => {
    const okta = byName("okta");
    const google = byName("google");
    await new Promise((r) => setTimeout(r, 1100)); // past the refetch interval
    const oktaBefore = server.hitsOf("okta");
    const googleBefore = server.hitsOf("google");
    // Okta rotates to a key the Worker has not seen: Google's key, under a new kid.
    const rotated = { ...okta.jwks()[0], kid: "okta-kid-2" };
    server.state.jwksOverride.okta = { keys: [okta.jwks()[0], { ...rotated, n: google.jwks()[0].n, e: google.jwks()[0].e }] };
    const r = await worker.get("/api/orders", tokenOf(okta, { header: { kid: "okta-kid-2" }, signWith: "google" }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(server.hitsOf("okta") - oktaBefore, 2, "Okta's discovery document and JWKS");
    assert.equal(server.hitsOf("google"), googleBefore, "Google's set was not fetched");
    // Google goes down; its cached set keeps serving, and Okta's tokens never wait for it.
    server.state.down.add("google");
    assert.equal((await worker.get("/api/orders", tokenOf(google))).status, 200);
    assert.equal((await worker.get("/api/orders", tokenOf(okta))).status, 200);
    server.state.down.delete("google");
  });

  test("config errors name the entry and the field", async () => {
    const base = { algorithms: ["RS256"] };
    const entry = { issuer: "https://id.example/", jwks_url: "https://id.example/keys", audience: "api", algorithms: ["RS256"] };
    const cases = [
      [{ ...base, issuers: [{ ...entry, audience: undefined }] }, "issuers[0]: audience: required"],
      [{ ...base, issuers: [{ ...entry, algorithms: undefined }] }, "issuers[0]: algorithms: required"],
      [{ ...base, issuers: [{ ...entry, discovery: "https://id.example/" }] }, "issuers[0]: discovery: jwks_url and discovery are alternatives"],
      [{ ...base, issuers: [entry, { ...entry }] }, "issuers[1].issuer: this issuer is already configured"],
      [{ ...base, issuers: [{ ...entry, jwks_url: "http://id.example/keys" }] }, "issuers[0]: jwks_url: must be an https URL"],
      [{ ...base, issuers: [{ ...entry, claims: { repository: { equals: {} } } }] }, "issuers[0]: claims.repository: equals takes"],
      [{ ...base, issuers: [{ ...entry, tracks: { max_staleness_s: { 1: 0 } } }] }, "issuers[0]: tracks.max_staleness_s: staleness bounds are set at the top level"],
      [{ ...base, issuers: [{ ...entry, jwks: { refetch_interval_s: 0 } }] }, "issuers[0]: jwks.refetch_interval_s: must be at least 1"],
      [{ ...base, issuers: [{ ...entry, colour: "blue" }] }, "issuers[0]"],
      [{ ...base, issuers: [] }, "issuers: must list at least one issuer"],
      [{ algorithms: ["RS256", "HS256"], secret: h.SECRET, issuers: [entry] }, "issuer: with issuers, the top-level keys need an issuer too"],
    ];
    for (const [bad, expected] of cases) {
      const r = h.cliVerify(bad, "x.y.z");
      assert.equal(r.error.code, "config_error", JSON.stringify(bad));
      assert.ok(r.error.message.startsWith(expected), `${expected}: ${r.error.message}`);
    }
    const broken = await h.startWorker({ policy: { ...base, issuers: [{ ...entry, audience: undefined }] }, secret: null });
    try {
      const r = await broken.get("/api", "x.y.z");
      assert.equal(r.status, 500);
      assert.equal(r.body.code, "config_error");
      // The response names no field; the log does.
      await broken.waitForLog((line) => line.includes("issuers[0]: audience: required"));
    } finally {
      await broken.dispose();
    }
  });
});
