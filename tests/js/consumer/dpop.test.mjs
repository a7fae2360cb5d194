// Sender-constrained tokens through the installed package's Hono and Express middlewares, over
// real HTTP (issue 18). Proofs come from independent implementations: panva's `dpop` package
// and a hand-built one with `jose`'s SignJWT; the package's own `createDpopProof` must make
// proofs the middlewares accept. Both hosts get the same cases, the attacker's first. mTLS:
// a real https server asking for a client certificate made with openssl.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";

import * as DPoP from "dpop";
import * as jose from "jose";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import express from "express";
import * as E from "edge-jwt";
import { edgeJwt as honoEdgeJwt } from "edge-jwt/hono";
import { edgeJwt as expressEdgeJwt } from "edge-jwt/express";

import * as h from "./helpers.mjs";

const NONCE_KEY = "consumer-dpop-nonce-key-0123456789abcdef";
const ALGS = 'algs="ES256 EdDSA PS256 RS256"';
const policy = {
  algorithms: ["HS256"],
  issuer: h.ISSUER,
  audience: h.AUDIENCE,
  secret: h.SECRET,
  routes: [
    { path: "/orders/*", dpop: "required" },
    { path: "/mtls/*", binding: "mtls" },
  ],
};
const noncePolicy = { ...policy, gateway: { forward_authorization: false, dpop: { nonce: { window_s: 300 } } } };

const token = (cnf, overrides = {}) =>
  h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims({ iss: h.ISSUER, aud: h.AUDIENCE, ...(cnf ? { cnf } : {}), ...overrides }));

function startHono(config, options, serverOptions) {
  const app = new Hono();
  app.use("*", honoEdgeJwt(config, options));
  app.all("*", (c) => c.json({ handler: "hono", sub: c.get("edgeJwt")?.claims.sub ?? null, dpop: c.req.header("dpop") ?? null, authorization: c.req.header("authorization") ?? null }));
  return serverOptions
    ? serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", createServer: https.createServer, serverOptions })
    : serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
}

function startExpress(config, options, serverOptions) {
  const app = express();
  app.use(expressEdgeJwt(config, options));
  app.use((req, res) => res.json({ handler: "express", sub: req.edgeJwt?.claims.sub ?? null, dpop: req.headers.dpop ?? null, authorization: req.headers.authorization ?? null }));
  return serverOptions ? https.createServer(serverOptions, app).listen(0, "127.0.0.1") : app.listen(0, "127.0.0.1");
}

async function listen(server) {
  if (!server.listening) await new Promise((r) => server.once("listening", r));
  return server.address().port;
}

async function call(url, headers = {}, method = "GET") {
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  const body = h.jsonOrText(text);
  return { status: res.status, body, challenge: res.headers.get("www-authenticate"), nonce: res.headers.get("dpop-nonce") };
}

function assertDpopRefusal(r, code, error, what = code) {
  assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.code, code, what);
  assert.ok(r.challenge?.startsWith(`DPoP error="${error}"`), `${what}: ${r.challenge}`);
  assert.ok(r.challenge?.endsWith(ALGS), `${what}: ${r.challenge}`);
}

/** A proof built by hand with jose (EdDSA), independent of both `dpop` and the core. */
async function joseProof({ privateKey, jwk }, htu, htm, accessToken, nonce) {
  const claims = { htm, htu, jti: crypto.randomUUID() };
  if (accessToken) claims.ath = crypto.createHash("sha256").update(accessToken).digest("base64url");
  if (nonce) claims.nonce = nonce;
  return new jose.SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ: "dpop+jwt", jwk }).setIssuedAt().sign(privateKey);
}

for (const [host, start] of [
  ["hono", startHono],
  ["express", startExpress],
]) {
  describe(`DPoP through the ${host} middleware`, () => {
    let server, nonceServer, base, nonceBase, client, attacker, edClient;
    before(async () => {
      server = start(policy);
      nonceServer = start(noncePolicy, { dpopNonceKey: NONCE_KEY });
      base = `http://127.0.0.1:${await listen(server)}`;
      nonceBase = `http://127.0.0.1:${await listen(nonceServer)}`;
      client = await DPoP.generateKeyPair("ES256");
      attacker = await DPoP.generateKeyPair("ES256");
      const ed = await jose.generateKeyPair("EdDSA", { crv: "Ed25519" });
      edClient = { privateKey: ed.privateKey, jwk: await jose.exportJWK(ed.publicKey) };
    });
    after(() => {
      server?.close();
      nonceServer?.close();
    });
    const bound = async (keypair = client) => token({ jkt: await DPoP.calculateThumbprint(keypair.publicKey) });
    const dpopHeaders = (t, proof) => ({ authorization: `DPoP ${t}`, dpop: proof });

    test("with options.origin, htu is the public origin's: an absolute-form target or Host cannot choose it", async () => {
      const origin = "https://api.example.com";
      const pinned = start(policy, { origin });
      const port = await listen(pinned);
      try {
        const t = await bound();
        const send = (target, proof, host = `127.0.0.1:${port}`) =>
          new Promise((resolve, reject) => {
            const req = http.request({ host: "127.0.0.1", port, path: target, headers: { host, authorization: `DPoP ${t}`, dpop: proof } }, (res) => {
              let text = "";
              res.on("data", (c) => (text += c));
              res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
            });
            req.on("error", reject);
            req.end();
          });
        const forOther = await DPoP.generateProof(client, "https://other.example/orders/1", "GET", undefined, t);
        const absolute = await send("https://other.example/orders/1", forOther);
        assert.equal(absolute.body.code, "invalid_dpop_proof", JSON.stringify(absolute.body));
        const hosted = await send("/orders/1", await DPoP.generateProof(client, "http://other.example/orders/1", "GET", undefined, t), "other.example");
        assert.equal(hosted.body.code, "invalid_dpop_proof", JSON.stringify(hosted.body));
        const ours = await send("/orders/1", await DPoP.generateProof(client, `${origin}/orders/1`, "GET", undefined, t));
        assert.equal(ours.status, 200, JSON.stringify(ours.body));
      } finally {
        pinned.close();
      }
    });

    test("a proof whose key names a non-ASCII alg is refused with an ASCII challenge; the server keeps serving", async () => {
      const t = await bound();
      const jwk = { ...(await jose.exportJWK(client.publicKey)), alg: "\u{1F600}\u00e9" };
      const part = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
      const htu = `${base}/orders/1`;
      const proof = `${part({ typ: "dpop+jwt", alg: "ES256", jwk })}.${part({ jti: crypto.randomUUID(), htm: "GET", htu, iat: h.nowS() })}.${Buffer.alloc(64, 7).toString("base64url")}`;
      const r = await call(htu, dpopHeaders(t, proof));
      assertDpopRefusal(r, "invalid_dpop_proof", "invalid_dpop_proof");
      assert.match(r.challenge, /^[\x20-\x7e]+$/);
      const after = await call(htu, { authorization: `Bearer ${t}` });
      assert.equal(after.body.code, "dpop_required", "the process is still serving");
    });

    test("a stolen DPoP-bound token as a bearer token is refused on every route", async () => {
      const t = await bound();
      for (const p of ["/orders/1", "/elsewhere"]) {
        assertDpopRefusal(await call(base + p, { authorization: `Bearer ${t}` }), "dpop_required", "invalid_token", p);
      }
    });

    test("a stolen token with the attacker's own proof is refused", async () => {
      const t = await bound();
      const proof = await DPoP.generateProof(attacker, `${base}/orders/1`, "GET", undefined, t);
      assertDpopRefusal(await call(`${base}/orders/1`, dpopHeaders(t, proof)), "dpop_binding_mismatch", "invalid_token");
    });

    test("a proof from panva's dpop passes once; its replay is refused", async () => {
      const t = await bound();
      const proof = await DPoP.generateProof(client, `${base}/orders/1`, "GET", undefined, t);
      const r = await call(`${base}/orders/1?x=1`, dpopHeaders(t, proof));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.sub, "alice");
      assert.equal(r.body.dpop, proof, "forward_authorization (default true) keeps the proof");
      assertDpopRefusal(await call(`${base}/orders/1`, dpopHeaders(t, proof)), "dpop_replayed", "invalid_dpop_proof");
    });

    test("proofs hand-built with jose (EdDSA) and made by createDpopProof pass", async () => {
      const t = token({ jkt: await jose.calculateJwkThumbprint(edClient.jwk) });
      const proof = await joseProof(edClient, `${base}/orders/2`, "GET", t);
      const r = await call(`${base}/orders/2`, dpopHeaders(t, proof));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const { privateJwk } = E.generateKey("ES256");
      const { d: _d, ...publicJwk } = privateJwk;
      const own = token({ jkt: await jose.calculateJwkThumbprint({ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y }) });
      const ownProof = await E.createDpopProof(privateJwk, "GET", `${base}/orders/3?q=1`, own);
      assert.equal((await call(`${base}/orders/3`, dpopHeaders(own, ownProof))).status, 200);
    });

    test("a proof for another method or URI, or without ath, is refused", async () => {
      const t = await bound();
      const cases = {
        "wrong htm": await DPoP.generateProof(client, `${base}/orders/4`, "POST", undefined, t),
        "wrong htu": await DPoP.generateProof(client, `${base}/orders/5`, "GET", undefined, t),
        "wrong htu scheme": await DPoP.generateProof(client, `${base.replace("http:", "https:")}/orders/4`, "GET", undefined, t),
        "missing ath": await DPoP.generateProof(client, `${base}/orders/4`, "GET"),
      };
      for (const [what, proof] of Object.entries(cases)) {
        assertDpopRefusal(await call(`${base}/orders/4`, dpopHeaders(t, proof)), "invalid_dpop_proof", "invalid_dpop_proof", what);
      }
    });

    test("nonce challenge round trip; forward_authorization false strips the proof too", async () => {
      const t = await bound();
      const first = await call(`${nonceBase}/orders/6`, dpopHeaders(t, await DPoP.generateProof(client, `${nonceBase}/orders/6`, "GET", undefined, t)));
      assertDpopRefusal(first, "use_dpop_nonce", "use_dpop_nonce");
      assert.ok(first.nonce, "DPoP-Nonce header");
      const retry = await DPoP.generateProof(client, `${nonceBase}/orders/6`, "GET", first.nonce, t);
      const r = await call(`${nonceBase}/orders/6`, dpopHeaders(t, retry));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.dpop, null);
      assert.equal(r.body.authorization, null);
    });

    test("a certificate-bound token over plain HTTP has no certificate: refused", async () => {
      const t = token({ "x5t#S256": crypto.randomBytes(32).toString("base64url") });
      const r = await call(`${base}/mtls/a`, { authorization: `Bearer ${t}` });
      assert.equal(r.status, 401);
      assert.equal(r.body.code, "mtls_binding_mismatch");
    });
  });
}

test("a config with gateway.dpop.nonce and no dpopNonceKey is refused at construction", () => {
  assert.throws(() => new E.Validator(noncePolicy), (e) => e instanceof E.ConfigError && /dpopNonceKey/.test(e.message));
});

test("global proof replay needs the Worker's authority: refused at construction, with the field", () => {
  const global = { algorithms: ["HS256"], secret: h.SECRET, routes: [{ path: "/pay/*", dpop: "required", dpop_replay: "global" }] };
  assert.throws(() => new E.Validator(global), (e) => e instanceof E.ConfigError && /^routes\[0\]\.dpop_replay: a global replay check needs/.test(e.message));
  const gatewayWide = { algorithms: ["HS256"], secret: h.SECRET, gateway: { dpop: { replay: "global" } } };
  assert.throws(() => new E.Validator(gatewayWide), (e) => e instanceof E.ConfigError && /^gateway\.dpop\.replay: /.test(e.message));
});

// ---------------------------------------------------------------------------------------------
// mTLS over a real TLS connection: a CA, a server certificate and two client certificates
// (one from the CA, one self-signed) made with openssl.

function makePki(dir) {
  const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=edge-jwt test CA");
  const leaf = (name, ext) => {
    ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
  };
  leaf("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  leaf("client", "extendedKeyUsage=clientAuth\n");
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2", "-subj", "/CN=client");
  const read = (f) => fs.readFileSync(path.join(dir, f));
  return { ca: read("ca.pem"), server: { key: read("server.key"), cert: read("server.pem") }, client: { key: read("client.key"), cert: read("client.pem") }, rogue: { key: read("rogue.key"), cert: read("rogue.pem") } };
}

function tlsCall(port, p, { headers, ca, identity }) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path: p, headers, ca, ...(identity ?? {}) }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const x5t = (pem) => crypto.createHash("sha256").update(new crypto.X509Certificate(pem).raw).digest("base64url");

for (const [host, start] of [
  ["express", startExpress],
  ["hono", startHono],
]) {
  describe(`mTLS through the ${host} middleware on an https server`, () => {
    let server, port, pki;
    before(async () => {
      pki = makePki(h.tempDir());
      // rejectUnauthorized false: the handshake admits any certificate and the middleware
      // decides, so an unverified one reaches the check (and must be refused there).
      server = start(policy, {}, { ...pki.server, ca: pki.ca, requestCert: true, rejectUnauthorized: false });
      port = await listen(server);
    });
    after(() => server?.close());

    test("a certificate-bound token passes with its verified certificate only", async () => {
      const t = token({ "x5t#S256": x5t(pki.client.cert) });
      const headers = { authorization: `Bearer ${t}` };
      for (const p of ["/mtls/a", "/elsewhere"]) {
        const ok = await tlsCall(port, p, { headers, ca: pki.ca, identity: pki.client });
        assert.equal(ok.status, 200, `${p}: ${JSON.stringify(ok.body)}`);
        assert.equal(ok.body.sub, "alice");
        const none = await tlsCall(port, p, { headers, ca: pki.ca });
        assert.equal(none.body.code, "mtls_binding_mismatch", `${p} without a certificate`);
      }
      // A self-signed certificate bound into the token is still not verified by the server's CA.
      const rogue = token({ "x5t#S256": x5t(pki.rogue.cert) });
      const r = await tlsCall(port, "/mtls/a", { headers: { authorization: `Bearer ${rogue}` }, ca: pki.ca, identity: pki.rogue });
      assert.equal(r.body.code, "mtls_binding_mismatch");
      // Another verified certificate than the token's.
      const other = token({ "x5t#S256": x5t(pki.rogue.cert) });
      const mismatch = await tlsCall(port, "/mtls/a", { headers: { authorization: `Bearer ${other}` }, ca: pki.ca, identity: pki.client });
      assert.equal(mismatch.body.code, "mtls_binding_mismatch");
      // A binding route refuses an unbound token.
      const plain = await tlsCall(port, "/mtls/a", { headers: { authorization: `Bearer ${token(null)}` }, ca: pki.ca, identity: pki.client });
      assert.equal(plain.body.code, "binding_required");
    });
  });
}
