// Real identity providers through the npm package (issue 17): every provider of
// tests/providers/providers.mjs as an `issuers` entry of one policy, its discovery document and
// JWKS on a loopback server, checked by Validator.verify and by the Hono and Express middleware
// over real HTTP: the token passes and the mapped claim headers reach the handler; another
// provider's key never verifies; an unknown iss is bad_issuer before any fetch; a discovery
// document naming another issuer is refused; one provider's rotation refetches its set only.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { pathToFileURL } from "node:url";

import * as E from "edge-jwt";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import express from "express";
import { edgeJwt as honoEdgeJwt } from "edge-jwt/hono";
import { edgeJwt as expressEdgeJwt } from "edge-jwt/express";

import "./helpers.mjs";

const fixtures = pathToFileURL(path.join(process.env.EDGE_JWT_ROOT, "tests/providers/providers.mjs")).href;
const { PROVIDERS, providersPolicy, startProviderServer, tokenOf } = await import(fixtures);
const byName = (name) => PROVIDERS.find((p) => p.name === name);

const CLAIM_HEADERS = ["x-user-email", "x-user-roles", "x-tenant", "x-client-roles", "x-repository", "x-edge-jwt-sub"];
const pick = (headers) => Object.fromEntries(CLAIM_HEADERS.filter((n) => headers[n] !== undefined).map((n) => [n, headers[n]]));

async function listen(server) {
  if (!server.listening) await new Promise((r) => server.once("listening", r));
  return `http://127.0.0.1:${server.address().port}`;
}

describe("identity providers through the package", () => {
  let idp, validator, servers = [], apps = {};
  before(async () => {
    idp = await startProviderServer();
    validator = new E.Validator(providersPolicy({ base: idp.base }));
    const hono = new Hono();
    hono.use("*", honoEdgeJwt(validator));
    hono.all("*", (c) => c.json(pick(Object.fromEntries(c.req.raw.headers))));
    const ex = express();
    ex.use(expressEdgeJwt(validator));
    ex.use((req, res) => res.json(pick(req.headers)));
    servers = [serve({ fetch: hono.fetch, port: 0, hostname: "127.0.0.1" }), ex.listen(0, "127.0.0.1")];
    apps.hono = await listen(servers[0]);
    apps.express = await listen(servers[1]);
  });
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    await idp?.close();
  });

  const call = async (app, p, token) => {
    const res = await fetch(apps[app] + p, { headers: { authorization: `Bearer ${token}`, "x-user-email": "spoofed@example.com" } });
    return { status: res.status, body: await res.json() };
  };

  for (const provider of PROVIDERS) {
    test(`${provider.name}: verify(), Hono and Express accept the token and forward its claims`, async () => {
      const token = tokenOf(provider);
      const r = await validator.verify(token);
      assert.equal(r.ok, true, JSON.stringify(r.error));
      assert.equal(r.claims.iss, provider.issuer);
      for (const app of ["hono", "express"]) {
        const answer = await call(app, "/api/orders", token);
        assert.equal(answer.status, 200, `${app}: ${JSON.stringify(answer.body)}`);
        const expected = { ...provider.forwarded, "x-edge-jwt-sub": provider.claims(provider.issuer, 0).sub };
        assert.deepEqual(answer.body, expected, `${app}: the mapped claims, and no client-sent copy`);
      }
    });
  }

  test("another provider's key, an unknown iss, a foreign audience: refused as the Worker refuses them", async () => {
    const auth0 = byName("auth0");
    const forged = tokenOf(auth0, { edit: (c) => ({ ...c, iss: byName("google").issuer, aud: byName("google").entry.audience }) });
    assert.equal((await validator.verify(forged)).error.code, "unknown_kid");
    const fetchesBefore = validator.stats().jwksFetches;
    const stranger = tokenOf(auth0, { edit: (c) => ({ ...c, iss: "https://evil.example.com/" }) });
    for (const app of ["hono", "express"]) {
      const r = await call(app, "/api/orders", stranger);
      assert.equal(r.status, 401);
      assert.equal(r.body.code, "bad_issuer");
    }
    assert.equal(validator.stats().jwksFetches, fetchesBefore, "no fetch for an issuer no entry names");
    const otherClient = tokenOf(byName("cognito"), { edit: (c) => ({ ...c, client_id: "another-app-client" }) });
    assert.equal((await validator.verify(otherClient)).error.code, "bad_audience");
    const fork = tokenOf(byName("github"), { edit: (c) => ({ ...c, repository: "evil-org/octo-repo" }) });
    for (const app of ["hono", "express"]) {
      assert.equal((await call(app, "/deploy", tokenOf(byName("github")))).status, 200);
      const r = await call(app, "/deploy", fork);
      assert.equal(r.status, 403);
      assert.equal(r.body.code, "claim_mismatch");
    }
  });

  test("stats() reports each provider's set; rotation at one provider refetches its set only", async () => {
    const sets = validator.stats().jwksSets;
    assert.equal(sets.length, PROVIDERS.length);
    assert.ok(sets.every((s) => s.fetched_at !== null && s.last_error === null), JSON.stringify(sets));
    await new Promise((r) => setTimeout(r, 1100)); // past the refetch interval
    const keycloak = byName("keycloak");
    const before = { keycloak: idp.hitsOf("keycloak"), others: PROVIDERS.filter((p) => p.name !== "keycloak").map((p) => idp.hitsOf(p.name)) };
    const next = { ...keycloak.jwks()[1], kid: "keycloak-kid-2", n: byName("okta").jwks()[0].n };
    idp.state.jwksOverride.keycloak = { keys: [...keycloak.jwks(), next] };
    const r = await validator.verify(tokenOf(keycloak, { header: { kid: "keycloak-kid-2" }, signWith: "okta" }));
    assert.equal(r.ok, true, JSON.stringify(r.error));
    assert.equal(idp.hitsOf("keycloak") - before.keycloak, 2, "Keycloak's discovery document and JWKS");
    assert.deepEqual(PROVIDERS.filter((p) => p.name !== "keycloak").map((p) => idp.hitsOf(p.name)), before.others);
  });

  test("a discovery document naming another issuer is refused with the reason in stats()", async () => {
    idp.state.extra = { tenant: { name: "tenant", issuer: "https://login.example.com/tenant-a/" } };
    idp.state.issuerOverride.tenant = "https://login.example.com/tenant-b/";
    const v = new E.Validator({
      algorithms: ["RS256"],
      issuers: [{ issuer: "https://login.example.com/tenant-a/", discovery: `${idp.base}/tenant/`, audience: "api",
        algorithms: ["RS256"], jwks: { allow_http: true } }],
    });
    const provider = { ...byName("okta"), name: "tenant", issuer: "https://login.example.com/tenant-a/", key: "okta" };
    const r = await v.verify(tokenOf(provider));
    assert.equal(r.error.code, "jwks_unavailable");
    assert.match(v.stats().jwksLastError, /is not the configured "https:\/\/login\.example\.com\/tenant-a\/"/);
    assert.throws(
      () => new E.Validator({ algorithms: ["RS256"], issuers: [{ issuer: "https://x.example/", discovery: "https://x.example/", algorithms: ["RS256"] }] }),
      (e) => e.code === "config_error" && /issuers\[0\]: audience: required/.test(e.message),
    );
  });
});
