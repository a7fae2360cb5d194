// Identity-provider fixtures (issue 17): tokens, JWKS documents and discovery documents in the
// shapes Auth0, Okta, Amazon Cognito, Microsoft Entra ID (v1 and v2), Google, Firebase Auth,
// Keycloak and GitHub Actions publish, signed with keys made here (keys.json, from
// make-keys.mjs). The issuers are the providers' own spellings; the documents are served from a
// loopback server (`startProviderServer`), which is what `discovery`/`jwks_url` point at.
// Shared by the Worker tests (tests/worker/providers.test.mjs, which also run the CLI) and the
// npm package's tests (tests/js/consumer/providers.test.mjs). Node built-ins only.

import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const KEYS = JSON.parse(fs.readFileSync(path.join(here, "keys.json"), "utf8"));

const b64json = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const publicOf = ({ kty, n, e }) => ({ kty, n, e });
const TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";
const POOL = "us-east-1_Ab12CdEfG";

/** The JWK of fixture key `name` as providers publish it: `extra` members after n/e. */
function publishedJwk(name, kid, extra = {}) {
  return { ...publicOf(KEYS[name].private_jwk), kid, ...extra };
}

/** x5c/x5t/x5t#S256 of fixture key `name` (Auth0, Entra, Keycloak, GitHub publish them). */
function certificateMembers(name, { s256 = false } = {}) {
  const k = KEYS[name];
  return { x5t: k.x5t, x5c: k.x5c, ...(s256 ? { "x5t#S256": k["x5t#S256"] } : {}) };
}

/**
 * Each provider: its issuer; how the policy finds its keys (`discovery`, or `jwks_url`); the
 * `issuers` entry it needs (README "Identity providers"); its JWKS document; a token's header and
 * claims; and what a gateway forwards for it (`gateway.claim_headers` below).
 */
export const PROVIDERS = [
  {
    name: "auth0",
    issuer: "https://example-tenant.us.auth0.com/",
    source: "discovery",
    // Auth0 access tokens live 24 h by default: longer than the default track ceiling (12 h).
    entry: { audience: "https://api.example.com", algorithms: ["RS256"], required_claims: ["exp", "iat"], tracks: { default_ttl_s: 86400 } },
    jwks: () => [publishedJwk("auth0", "auth0-kid-1", { use: "sig", alg: "RS256", ...certificateMembers("auth0") })],
    header: { alg: "RS256", typ: "JWT", kid: "auth0-kid-1" },
    claims: (iss, now) => ({
      iss, sub: "auth0|64f1c2d3e4", aud: ["https://api.example.com", `${iss}userinfo`], iat: now, exp: now + 86400,
      azp: "QmFzZTY0Q2xpZW50SWQ", scope: "openid profile email read:orders", email: "ada@example.com",
      "https://example.com/roles": ["admin"],
    }),
    forwarded: { "x-user-email": "ada@example.com", "x-user-roles": "admin" },
  },
  {
    name: "okta",
    issuer: "https://dev-12345678.okta.com/oauth2/default",
    source: "discovery",
    entry: { audience: "api://default", algorithms: ["RS256"] },
    jwks: () => [publishedJwk("okta", "okta-kid-1", { alg: "RS256", use: "sig" })],
    header: { kid: "okta-kid-1", alg: "RS256" },
    claims: (iss, now) => ({
      ver: 1, jti: "AT.9dz4yW4p7rE2d1XrI0QbVbRZ3kEN0Vw3pM4", iss, aud: "api://default", iat: now, exp: now + 3600,
      cid: "0oa1b2c3d4e5f6g7h8i9", uid: "00u1a2b3c4d5e6f7g8h9", scp: ["openid", "email"], auth_time: now - 60,
      sub: "ada@example.com", email: "ada@example.com", groups: ["Everyone", "admin"],
    }),
    forwarded: { "x-user-email": "ada@example.com" },
  },
  {
    name: "cognito",
    issuer: `https://cognito-idp.us-east-1.amazonaws.com/${POOL}`,
    source: "jwks_url",
    // Access tokens carry client_id, not aud (AWS: "Verifying a JSON Web Token"); token_use says
    // which kind of token it is, and an API accepts access tokens only.
    entry: {
      audience: "5r8kq3l1m2n3o4p5q6r7s8t9u0", audience_claim: "client_id", algorithms: ["RS256"],
      claims: { token_use: { equals: "access" } },
    },
    jwks: () => [publishedJwk("cognito", "cognito-kid-1", { alg: "RS256", use: "sig" })],
    header: { kid: "cognito-kid-1", alg: "RS256" },
    claims: (iss, now) => ({
      sub: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["admin"], iss, version: 2,
      client_id: "5r8kq3l1m2n3o4p5q6r7s8t9u0", origin_jti: "f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f",
      event_id: "12345678-90ab-cdef-1234-567890abcdef", token_use: "access", scope: "aws.cognito.signin.user.admin",
      auth_time: now - 60, exp: now + 3600, iat: now, jti: "0a1b2c3d-4e5f-6789-abcd-ef0123456789", username: "ada",
    }),
    forwarded: {},
  },
  {
    name: "entra-v2",
    key: "entra",
    issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
    source: "discovery",
    // Entra's tokens have no jti (uti instead).
    entry: { audience: "api://edge-jwt-demo", algorithms: ["RS256"], required_claims: ["exp", "iat"] },
    jwks: () => [publishedJwk("entra", "entra-kid-1", {
      kty: "RSA", use: "sig", ...certificateMembers("entra"), issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
    })],
    header: { typ: "JWT", alg: "RS256", kid: "entra-kid-1" },
    claims: (iss, now) => ({
      aud: "api://edge-jwt-demo", iss, iat: now, nbf: now, exp: now + 3600, aio: "E2ZgYJg...", azp: "c0ffee00-0000-4000-8000-000000000001",
      azpacr: "0", name: "Ada Lovelace", oid: "00000000-0000-0000-66f3-3332eca7ea81", preferred_username: "ada@contoso.com",
      rh: "0.AXwAq...", roles: ["admin", "Orders.Read"], scp: "User.Read Orders.Write", sub: "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
      tid: TENANT, uti: "fqiBqXLPj0eQa82S-IYFAA", ver: "2.0", email: "ada@contoso.com",
    }),
    forwarded: { "x-user-email": "ada@contoso.com", "x-tenant": TENANT },
  },
  {
    name: "entra-v1",
    key: "entra",
    issuer: `https://sts.windows.net/${TENANT}/`,
    // v1 tokens come from the same tenant keys; the v1 issuer has no discovery document of its
    // own at that address, so the JWKS URL is given.
    source: "jwks_url",
    jwksPath: "/entra-v2/keys",
    entry: { audience: "api://edge-jwt-demo", algorithms: ["RS256"], required_claims: ["exp", "iat"] },
    // v1 headers carry x5t beside kid (the same value).
    header: { typ: "JWT", alg: "RS256", x5t: "entra-kid-1", kid: "entra-kid-1" },
    claims: (iss, now) => ({
      aud: "api://edge-jwt-demo", iss, iat: now, nbf: now, exp: now + 3600, acr: "1", appid: "c0ffee00-0000-4000-8000-000000000001",
      appidacr: "1", ipaddr: "203.0.113.7", name: "Ada Lovelace", oid: "00000000-0000-0000-66f3-3332eca7ea81",
      roles: ["admin"], scp: "User.Read", sub: "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA", tid: TENANT,
      unique_name: "ada@contoso.com", upn: "ada@contoso.com", uti: "fqiBqXLPj0eQa82S-IYFAA", ver: "1.0",
    }),
    forwarded: { "x-tenant": TENANT },
  },
  {
    name: "google",
    issuer: "https://accounts.google.com",
    source: "discovery",
    entry: { audience: "1234567890-abc123def456.apps.googleusercontent.com", algorithms: ["RS256"], required_claims: ["exp", "iat"] },
    jwks: () => [publishedJwk("google", "google-kid-1", { use: "sig", alg: "RS256" })],
    header: { alg: "RS256", kid: "google-kid-1", typ: "JWT" },
    claims: (iss, now) => ({
      iss, azp: "1234567890-abc123def456.apps.googleusercontent.com", aud: "1234567890-abc123def456.apps.googleusercontent.com",
      sub: "110169484474386276334", hd: "example.com", email: "ada@example.com", email_verified: true,
      at_hash: "X_B3Z3Fi4udZ2mf75RWo3w", name: "Ada Lovelace", iat: now, exp: now + 3600,
    }),
    forwarded: { "x-user-email": "ada@example.com" },
  },
  {
    name: "firebase",
    issuer: "https://securetoken.google.com/edge-jwt-demo",
    source: "jwks_url",
    entry: { audience: "edge-jwt-demo", algorithms: ["RS256"], required_claims: ["exp", "iat", "sub"] },
    jwks: () => [publishedJwk("firebase", "firebase-kid-1", { alg: "RS256", use: "sig" })],
    header: { alg: "RS256", kid: "firebase-kid-1", typ: "JWT" },
    claims: (iss, now) => ({
      name: "Ada Lovelace", iss, aud: "edge-jwt-demo", auth_time: now - 60, user_id: "Xy1AbCdEfGhIjKlMnOpQrStUvW2",
      sub: "Xy1AbCdEfGhIjKlMnOpQrStUvW2", iat: now, exp: now + 3600, email: "ada@example.com", email_verified: true,
      firebase: { identities: { email: ["ada@example.com"] }, sign_in_provider: "password" },
    }),
    forwarded: { "x-user-email": "ada@example.com" },
  },
  {
    name: "keycloak",
    issuer: "https://keycloak.example.com/realms/edge",
    source: "discovery",
    entry: { audience: "edge-api", algorithms: ["RS256"] },
    // Keycloak publishes its encryption key beside the signing key: never used to verify.
    jwks: () => [
      publishedJwk("keycloak-enc", "keycloak-enc-1", { use: "enc", alg: "RSA-OAEP", ...certificateMembers("keycloak-enc", { s256: true }) }),
      publishedJwk("keycloak", "keycloak-kid-1", { use: "sig", alg: "RS256", ...certificateMembers("keycloak", { s256: true }) }),
    ],
    header: { alg: "RS256", typ: "JWT", kid: "keycloak-kid-1" },
    claims: (iss, now) => ({
      exp: now + 300, iat: now, auth_time: now - 30, jti: "onrtac:6f1d3c1e-2b2a-4c1e-9b1e-0b8f5a6c7d8e", iss,
      aud: ["edge-api", "account"], sub: "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9", typ: "Bearer", azp: "edge-web",
      sid: "2c4e6f8a-1b3d-4f5e-8a7b-9c0d1e2f3a4b", acr: "1", "allowed-origins": ["https://app.example.com"],
      realm_access: { roles: ["offline_access", "admin"] }, resource_access: { "edge-api": { roles: ["orders:write"] } },
      scope: "openid email profile", email_verified: true, preferred_username: "ada", email: "ada@example.com",
    }),
    forwarded: { "x-user-email": "ada@example.com", "x-client-roles": "orders:write" },
  },
  {
    name: "github",
    issuer: "https://token.actions.githubusercontent.com",
    source: "discovery",
    entry: { audience: "https://github.com/octo-org", algorithms: ["RS256"] },
    jwks: () => [publishedJwk("github", "github-kid-1", { kty: "RSA", alg: "RS256", use: "sig", ...certificateMembers("github") })],
    header: { typ: "JWT", alg: "RS256", x5t: KEYS.github.x5t, kid: "github-kid-1" },
    claims: (iss, now) => ({
      jti: "example-id", sub: "repo:octo-org/octo-repo:ref:refs/heads/main", aud: "https://github.com/octo-org",
      ref: "refs/heads/main", sha: "example-sha", repository: "octo-org/octo-repo", repository_owner: "octo-org",
      actor_id: "12", repository_visibility: "private", repository_id: "74", repository_owner_id: "65",
      run_id: "example-run-id", run_number: "10", run_attempt: "2", runner_environment: "github-hosted",
      actor: "octocat", workflow: "example-workflow", head_ref: "", base_ref: "", event_name: "workflow_dispatch",
      ref_type: "branch", job_workflow_ref: "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
      iss, nbf: now - 5, exp: now + 300, iat: now,
    }),
    forwarded: { "x-repository": "octo-org/octo-repo" },
  },
];

/** The gateway settings every provider test uses: where roles are, which claims travel. */
export const GATEWAY = {
  roles_claim: ["/https:~1~1example.com~1roles", "groups", "cognito:groups", "roles", "realm_access.roles"],
  claim_headers: {
    "x-user-email": "email", "x-user-roles": "/https:~1~1example.com~1roles", "x-tenant": "tid",
    "x-client-roles": "resource_access.edge-api.roles", "x-repository": "repository",
  },
};

/**
 * Routes exercising authorisation beyond scopes: an admin role, and GitHub Actions' deploy rule
 * (repository and ref).
 */
export const ROUTES = [
  { path: "/admin/*", roles: ["admin"] },
  { path: "/deploy", claims: { repository: { equals: "octo-org/octo-repo" }, ref: { equals: "refs/heads/main" } } },
];

/** The JWKS document of a provider, as served. */
export function jwksOf(provider) {
  const owner = provider.jwks ? provider : PROVIDERS.find((p) => `/${p.name}/keys` === provider.jwksPath);
  return { keys: owner.jwks() };
}

/** A discovery document as providers serve it (OpenID Connect Discovery 1.0 §3). */
export function discoveryOf(provider, base, issuer = provider.issuer) {
  return {
    issuer,
    authorization_endpoint: `${issuer.replace(/\/$/, "")}/authorize`,
    token_endpoint: `${issuer.replace(/\/$/, "")}/token`,
    jwks_uri: `${base}/${provider.name}/keys`,
    response_types_supported: ["code", "id_token", "token id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
  };
}

/** The `issuers` entry of a provider: keys from the server at `base`, or inline (`keys`). */
export function entryOf(provider, { base, inline = false, jwks = {} } = {}) {
  const entry = { issuer: provider.issuer, ...provider.entry };
  if (inline) return { ...entry, keys: jwksOf(provider) };
  const settings = { allow_http: true, min_ttl_s: 1, refetch_interval_s: 1, timeout_ms: 2000, ...jwks };
  if (provider.source === "discovery") return { ...entry, discovery: `${base}/${provider.name}/`, jwks: settings };
  return { ...entry, jwks_url: `${base}${provider.jwksPath ?? `/${provider.name}/keys`}`, jwks: settings };
}

/** A policy with every provider, keys from `base` (or inline), plus the gateway settings and routes. */
export function providersPolicy({ base, inline = false, extra = [] } = {}) {
  return {
    // The top level only sets defaults here: the issuers entries hold every key.
    algorithms: ["RS256"],
    issuers: [...PROVIDERS.map((p) => entryOf(p, { base, inline })), ...extra],
    gateway: GATEWAY,
    routes: ROUTES,
  };
}

/** A token of `provider` at `now`, its claims changed by `edit`, signed with `signWith`'s key. */
export function tokenOf(provider, { now = Math.floor(Date.now() / 1000), edit = (c) => c, header = {}, signWith } = {}) {
  const key = KEYS[signWith ?? provider.key ?? provider.name].private_jwk;
  const input = `${b64json({ ...provider.header, ...header })}.${b64json(edit(provider.claims(provider.issuer, now)))}`;
  const signature = crypto.sign("sha256", Buffer.from(input), crypto.createPrivateKey({ key, format: "jwk" }));
  return `${input}.${signature.toString("base64url")}`;
}

/**
 * Serves every provider's discovery document and JWKS on loopback, counting requests per path.
 * `state.issuerOverride[name]` makes a discovery document name another issuer; `state.down`
 * (a set of names) answers 500 for a provider.
 */
export async function startProviderServer() {
  const state = { hits: new Map(), issuerOverride: {}, down: new Set(), jwksOverride: {} };
  let base;
  const server = http.createServer((req, res) => {
    const url = req.url.split("?")[0];
    state.hits.set(url, (state.hits.get(url) ?? 0) + 1);
    const [, name, ...rest] = url.split("/");
    const provider = PROVIDERS.find((p) => p.name === name) ?? state.extra?.[name];
    if (!provider || state.down.has(name)) {
      res.writeHead(provider ? 500 : 404);
      res.end();
      return;
    }
    let body;
    if (rest.join("/") === ".well-known/openid-configuration") {
      body = discoveryOf(provider, base, state.issuerOverride[name] ?? provider.issuer);
    } else if (rest.join("/") === "keys") {
      body = state.jwksOverride[name] ?? jwksOf(provider);
    } else {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=3600" });
    res.end(JSON.stringify(body));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    state,
    /** Requests so far whose path starts with `/${name}/`. */
    hitsOf: (name) => [...state.hits].filter(([p]) => p.startsWith(`/${name}/`)).reduce((n, [, c]) => n + c, 0),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}
