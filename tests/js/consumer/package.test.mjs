// The package as a consumer installs it: what `import "edge-jwt"` resolves to in Node, the files
// shipped, the API surface, construction errors, inspection and minting, and that no input —
// however hostile — breaks the wasm instance.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

import * as E from "edge-jwt";
import { edgeJwt as honoEdgeJwt } from "edge-jwt/hono";
import { edgeJwt as expressEdgeJwt } from "edge-jwt/express";

import * as h from "./helpers.mjs";

const require = createRequire(import.meta.url);
const hsConfig = { algorithms: ["HS256"], secret: h.SECRET };

const EXPORTS = [
  "ConfigError",
  "EdgeJwtError",
  "Issuer",
  "KvStore",
  "MemoryStore",
  "RedisStore",
  "SnapshotStore",
  "Validator",
  "createDpopProof",
  "errorCodes",
  "errorFetchResponse",
  "errorResponse",
  "expressMiddleware",
  "generateKey",
  "honoMiddleware",
  "humanDuration",
  "identityHeaders",
  "init",
  "inspect",
  "isIdentityHeader",
  "issue",
  "rejectionEvent",
];

describe("resolution and files", () => {
  test("Node ESM resolves the node entry, CommonJS the .cjs build, subpaths their node variants", () => {
    assert.match(fileURLToPath(import.meta.resolve("edge-jwt")), /edge-jwt[/\\]dist[/\\]node\.mjs$/);
    assert.match(require.resolve("edge-jwt"), /edge-jwt[/\\]dist[/\\]node\.cjs$/);
    assert.match(fileURLToPath(import.meta.resolve("edge-jwt/hono")), /dist[/\\]hono\.node\.mjs$/);
    assert.match(require.resolve("edge-jwt/express"), /dist[/\\]express\.node\.cjs$/);
  });

  test("the tarball ships the wasm, every host bundle and the declarations, and no sources", () => {
    const root = path.dirname(require.resolve("edge-jwt/package.json"));
    const files = fs.readdirSync(path.join(root, "dist")).sort();
    for (const f of ["edge_jwt_bg.wasm", "node.mjs", "node.cjs", "deno.mjs", "workerd.mjs", "browser.mjs", "index.d.ts", "index.d.cts", "hono.d.ts", "express.d.ts"]) {
      assert.ok(files.includes(f), `dist/${f} is shipped`);
    }
    assert.ok(!fs.existsSync(path.join(root, "src")), "sources are not shipped");
    const wasm = fs.readFileSync(path.join(root, "dist/edge_jwt_bg.wasm"));
    assert.ok(WebAssembly.validate(wasm), "a valid WebAssembly module");
    // The workerd bundle imports the module for the Worker's bundler; the browser one fetches it
    // relative to itself (the pattern bundlers turn into an asset).
    assert.match(fs.readFileSync(path.join(root, "dist/workerd.mjs"), "utf8"), /import \w+ from "\.\/edge_jwt_bg\.wasm"/);
    assert.match(fs.readFileSync(path.join(root, "dist/browser.mjs"), "utf8"), /new URL\("\.\/edge_jwt_bg\.wasm", import\.meta\.url\)/);
  });

  test("the API surface is the documented one, in ESM and CommonJS alike", () => {
    assert.deepEqual(Object.keys(E).sort(), EXPORTS);
    const cjs = require("edge-jwt");
    assert.deepEqual(Object.keys(cjs).sort(), EXPORTS);
    assert.equal(typeof honoEdgeJwt, "function");
    assert.equal(typeof expressEdgeJwt, "function");
    assert.equal(require("edge-jwt/hono").edgeJwt.name, "honoMiddleware");
    assert.equal(require("edge-jwt/express").edgeJwt.name, "expressMiddleware");
  });

  test("init() is optional in Node and idempotent", async () => {
    await E.init();
    await E.init();
    assert.equal(new E.Validator(hsConfig).verifySync("x").error.code, "malformed");
  });

  test("the browser build needs `await init()` once, then works; a failed init can be retried", async () => {
    const root = path.dirname(require.resolve("edge-jwt/package.json"));
    const B = await import(pathToFileURL(path.join(root, "dist/browser.mjs")).href);
    assert.throws(() => new B.Validator(hsConfig), /call `await init\(\)` once/);
    // Node's fetch cannot read file: URLs, so the default location fails here (in a browser it
    // is fetched next to the module); the instance stays uninitialised and init can be retried.
    await assert.rejects(B.init());
    const bytes = fs.readFileSync(path.join(root, "dist/edge_jwt_bg.wasm"));
    await B.init(await WebAssembly.compile(bytes));
    await B.init();
    const t = h.cliIssue({ config: hsConfig }).token;
    assert.equal((await new B.Validator(hsConfig).verify(t)).ok, true);
    assert.equal(B.inspect(t).claims.sub, "alice");
  });

  test("errorCodes() is the core's table: the CLI and the package agree on every code", () => {
    const codes = E.errorCodes();
    assert.ok(codes.length >= 19);
    assert.ok(Object.isFrozen(codes));
    for (const { code, status } of codes) {
      assert.match(code, /^[a-z_]+$/);
      assert.ok([400, 401, 403, 500, 503].includes(status), `${code}: ${status}`);
    }
    const byCode = Object.fromEntries(codes.map((c) => [c.code, c.status]));
    assert.equal(byCode.revocation_unavailable, 503);
    assert.equal(byCode.config_error, 500);
    assert.equal(byCode.expired, 401);
    assert.equal(byCode.missing_token, 401);
  });
});

describe("construction", () => {
  test("a bad config throws ConfigError naming the field path, like the CLI", () => {
    const cases = [
      [{ algorithms: ["HS256"], secret: "short" }, /^secret: /],
      [{ algorithms: ["HS256"], secret: h.SECRET, tracks: { ttl_s: { 4: 0 } } }, /^tracks\.ttl_s\.4: /],
      [{ algorithms: ["HS256"], secret: h.SECRET, leeway_s: 301 }, /^leeway_s: /],
      [{ algorithms: ["HS256"], secret: h.SECRET, issuer: [] }, /^issuer: /],
      [{ algorithms: ["ES512"], secret: h.SECRET }, /^algorithms\[0\]: /],
      [{ algorithms: ["HS256"], secret: h.SECRET, tracks: { unknwon: "reject" } }, /^tracks\.unknwon: unknown field `unknwon`/],
      [{ algorithms: ["HS256"], secret: h.SECRET, revocation: { cache_ttl_s: 301 } }, /^revocation\.cache_ttl_s: /],
      [{ algorithms: ["HS256"] }, /key/],
      // A private key where only public ones belong.
      [{ algorithms: ["EdDSA"], keys: [h.cliKeygen("EdDSA", "p").private_jwk] }, /^keys\[0\]\.d: this is a private key/],
    ];
    for (const [config, pattern] of cases) {
      let thrown;
      try {
        new E.Validator(config);
      } catch (e) {
        thrown = e;
      }
      assert.ok(thrown instanceof E.ConfigError, `${JSON.stringify(config)} throws ConfigError`);
      assert.ok(thrown instanceof E.EdgeJwtError);
      assert.equal(thrown.code, "config_error");
      assert.equal(thrown.status, 500);
      assert.match(thrown.message, pattern);
      const core = h.cli(["verify", "--config", h.writeTemp("bad.json", config), "x"]);
      assert.equal(core.status, 2, "the CLI refuses the same config");
      assert.equal(core.json.error.message, thrown.message, "with the same message");
    }
  });

  test("the config may be given as JSON text; anything else is a ConfigError", () => {
    assert.equal(new E.Validator(JSON.stringify(hsConfig)).settings.leeway, 30);
    for (const bad of [null, 42, [], "not json", "{}"]) {
      assert.throws(() => new E.Validator(bad), E.ConfigError);
    }
    assert.throws(() => new E.Validator({ algorithms: ["HS256"], secret: h.SECRET, big: 1n }), E.ConfigError);
  });

  test("options are checked: tokenCache range, store shape", () => {
    assert.throws(() => new E.Validator(hsConfig, { tokenCache: -1 }), TypeError);
    assert.throws(() => new E.Validator(hsConfig, { tokenCache: 1.5 }), TypeError);
    assert.throws(() => new E.Validator(hsConfig, { store: {} }), TypeError);
    assert.throws(() => new E.Validator(hsConfig, { store: { get() {} } }), TypeError);
    assert.equal(new E.Validator(hsConfig, { store: { get() {}, put() {} } }).hasStore, true);
  });

  test("settings reflect the policy", () => {
    const v = new E.Validator({ ...hsConfig, leeway_s: 5, gateway: { cookie: "sid" }, revocation: { cache_ttl_s: 7, timeout_ms: 250 } });
    assert.equal(v.settings.leeway, 5);
    assert.equal(v.settings.cookie, "sid");
    assert.equal(v.settings.revocation.cacheTtl, 7);
    assert.equal(v.settings.revocation.timeoutMs, 250);
    assert.deepEqual(v.settings.algorithms, ["HS256"]);
  });
});

describe("verification results", () => {
  test("a valid token: claims, header, track and ceiling; frozen claims; the same answer as the CLI", async () => {
    const minted = h.cliIssue({ config: hsConfig, sub: "alice", track: 2, claims: { scope: "read write" } });
    const v = new E.Validator(hsConfig);
    const r = await v.verify(minted.token);
    assert.equal(r.ok, true);
    assert.equal(r.track, "2");
    assert.equal(r.ttlCeiling, 28800);
    assert.equal(r.header.alg, "HS256");
    assert.equal(r.claims.sub, "alice");
    assert.equal(r.claims.jti, minted.jti);
    assert.ok(Object.isFrozen(r.claims) && Object.isFrozen(r.header));
    const core = h.cliVerify(hsConfig, minted.token);
    assert.deepEqual({ ...r.claims }, core.claims);
    assert.deepEqual({ ...r.header }, core.header);
    assert.equal(r.ttlCeiling, core.ttl_ceiling_s);
    assert.deepEqual(JSON.parse(JSON.stringify(r)), { ok: true, claims: core.claims, header: core.header, track: "2", ttlCeiling: 28800 });
  });

  test("verify, verifySync and verifyOrThrow agree; verifyOrThrow throws EdgeJwtError with code and status", async () => {
    const v = new E.Validator(hsConfig);
    const good = h.cliIssue({ config: hsConfig }).token;
    const expired = h.cliIssue({ config: hsConfig, at: h.nowS() - 7200, ttl: "1h" }).token;
    assert.deepEqual(v.verifySync(good).claims, (await v.verify(good)).claims);
    assert.equal((await v.verifyOrThrow(good)).ok, true);
    await assert.rejects(v.verifyOrThrow(expired), (e) => e instanceof E.EdgeJwtError && e.code === "expired" && e.status === 401);
    assert.deepEqual(v.verifySync(expired), await v.verify(expired));
  });

  test("`now` moves the clock: seconds or a Date; a bad `now` is a TypeError", async () => {
    const v = new E.Validator(hsConfig);
    const t = h.cliIssue({ config: hsConfig, at: 1_000_000 }).token; // track 4: exp = now + 3600
    assert.equal((await v.verify(t, { now: 1_000_000 })).ok, true);
    assert.equal((await v.verify(t, { now: new Date(1_000_000_000) })).ok, true);
    assert.equal((await v.verify(t, { now: 1_003_629 })).ok, true, "inside the 30 s leeway");
    assert.equal((await v.verify(t, { now: 1_003_630 })).error.code, "expired");
    assert.equal((await v.verify(t)).error.code, "expired");
    for (const now of [-1, NaN, "1000", Infinity]) await assert.rejects(v.verify(t, { now }), TypeError);
  });

  test("a repeated token is served from the cache, but every time check is redone at each use", async () => {
    const v = new E.Validator(hsConfig, { tokenCache: 2 });
    const at = 2_000_000;
    const t = h.cliIssue({ config: hsConfig, at }).token;
    const first = await v.verify(t, { now: at });
    const second = await v.verify(t, { now: at + 10 });
    assert.equal(first.claims, second.claims, "the cached claims object is shared");
    assert.equal(v.stats().cachedTokens, 1);
    // The cached entry never outlives the token, nor answers before nbf/iat.
    assert.equal((await v.verify(t, { now: at + 3630 })).error.code, "expired");
    assert.equal((await v.verify(t, { now: at - 31 })).error.code, "iat_in_future");
    assert.equal((await v.verify(t, { now: at + 5 })).ok, true);
    // Bounded: a third token evicts the oldest.
    for (const sub of ["b", "c", "d"]) await v.verify(h.cliIssue({ config: hsConfig, at, sub }).token, { now: at });
    assert.equal(v.stats().cachedTokens, 2);
    assert.equal((await v.verify(t, { now: at })).ok, true, "an evicted token verifies from scratch");
    const uncached = new E.Validator(hsConfig, { tokenCache: 0 });
    const a = await uncached.verify(t, { now: at });
    const b = await uncached.verify(t, { now: at });
    assert.notEqual(a.claims, b.claims, "tokenCache: 0 parses every time");
    assert.deepEqual(a.claims, b.claims);
    assert.equal(uncached.stats().cachedTokens, 0);
  });

  test("verifyRequest reads the Bearer header or the policy's cookie, from several request shapes", async () => {
    const config = { ...hsConfig, gateway: { cookie: "session" } };
    const v = new E.Validator(config);
    const t = h.cliIssue({ config }).token;
    const shapes = [
      new Request("http://x/", { headers: { authorization: `Bearer ${t}` } }),
      new Headers({ authorization: `bearer   ${t}  ` }),
      { headers: { authorization: `Bearer ${t}` } },
      { authorization: `Bearer ${t}` },
      { headers: { cookie: `a=1; session=${t}` } },
      new Request("http://x/", { headers: { cookie: `session=${t}` } }),
    ];
    for (const req of shapes) assert.equal((await v.verifyRequest(req)).ok, true);
    assert.equal((await v.verifyRequest({ headers: {} })).error.code, "missing_token");
    assert.equal((await v.verifyRequest({ authorization: "Basic YTpi" })).error.code, "missing_token");
    assert.equal((await v.verifyRequest({ authorization: "Bearer " })).error.code, "malformed");
    await assert.rejects(v.verifyRequest(null), TypeError);
  });

  test("identityHeaders gives the Worker's upstream headers for a verified result", async () => {
    const v = new E.Validator(hsConfig);
    const t = h.cliIssue({ config: hsConfig, sub: "bob", track: 3, claims: { scp: ["a", "b"] } });
    const r = await v.verify(t.token);
    assert.deepEqual(E.identityHeaders(r), {
      "x-edge-jwt-sub": "bob",
      "x-edge-jwt-jti": t.jti,
      "x-edge-jwt-track": "3",
      "x-edge-jwt-scope": "a b",
      "x-edge-jwt-exp": String(t.exp),
    });
    assert.throws(() => E.identityHeaders({ ok: true, claims: {} }), TypeError);
    assert.equal(E.isIdentityHeader("X-Edge-JWT-Sub"), true);
    assert.equal(E.isIdentityHeader("authorization"), false);
  });

  test("publicJwks lists the asymmetric keys only", () => {
    const es = h.cliKeygen("ES256", "es-1");
    const v = new E.Validator({ algorithms: ["HS256", "ES256"], secret: h.SECRET, keys: es.jwks });
    const jwks = v.publicJwks();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].kid, "es-1");
    assert.equal(jwks.keys[0].d, undefined, "no private member");
    assert.deepEqual(new E.Validator(hsConfig).publicJwks(), { keys: [] });
  });
});

describe("inspect, issue, keys", () => {
  test("inspect decodes without verifying and says so; same report as the CLI", () => {
    const at = 1_700_000_000;
    const t = h.cliIssue({ config: hsConfig, at, track: 4 }).token;
    const report = E.inspect(t, { now: at + 600 });
    assert.equal(report.verified, false);
    assert.match(report.warning, /^UNVERIFIED/);
    assert.equal(report.header.alg, "HS256");
    assert.equal(report.claims.sub, "alice");
    assert.deepEqual(report.times.map((x) => x.claim).sort(), ["exp", "iat"]);
    assert.equal(report.times.find((x) => x.claim === "iat").utc, "2023-11-14T22:13:20+00:00");
    assert.equal(report.timeLeft, 3000);
    assert.deepEqual(report.track, { track: "4", ttlCeiling: 3600, lifetime: 3600, verdict: "within_ceiling" });
    const cliText = h.cli(["inspect", "--now", String(at + 600), t]).stdout;
    assert.equal(report.text.trim(), cliText.trim());
    // A forged token is decoded all the same: inspection is not verification.
    const forged = h.signHmac({ alg: "HS256" }, { sub: "mallory", exp: at + 100 }, "another-secret-another-secret-12345");
    assert.equal(E.inspect(forged, { now: at }).claims.sub, "mallory");
  });

  test("inspect's track verdict follows the given tracks or config; bad input throws", () => {
    const at = 1_700_000_000;
    const t = h.signHmac({ alg: "HS256" }, { exp: at + 7200, iat: at, track: 4 });
    assert.equal(E.inspect(t, { now: at }).track.verdict, "exceeds_ceiling");
    assert.equal(E.inspect(t, { now: at, tracks: { ttl_s: { 4: 7200 } } }).track.verdict, "within_ceiling");
    assert.equal(E.inspect(t, { now: at, config: { algorithms: ["HS256"], tracks: { unknown: "reject", ttl_s: { 1: 60 } } } }).track.verdict, "unknown_track");
    assert.equal(new E.Validator({ ...hsConfig, tracks: { ttl_s: { 4: 7200 } } }).inspect(t, { now: at }).track.verdict, "within_ceiling");
    assert.throws(() => E.inspect(t, { tracks: { ttl_s: { 4: 0 } } }), (e) => e instanceof E.ConfigError && /^tracks\.ttl_s\.4: /.test(e.message));
    // A config that is not one is a ConfigError like everywhere else, never a bare SyntaxError.
    assert.throws(() => E.inspect(t, { config: "bad" }), (e) => e instanceof E.ConfigError && /not valid JSON/.test(e.message));
    assert.throws(() => E.inspect(t, { config: "[1]" }), (e) => e instanceof E.ConfigError && /must be an object/.test(e.message));
    assert.throws(() => E.inspect("not a token"), (e) => e instanceof E.EdgeJwtError && e.code === "malformed");
    assert.throws(() => E.inspect(42), E.EdgeJwtError);
  });

  test("issue mints what the CLI and the package verify; Issuer reuses a parsed key", async () => {
    const es = E.generateKey("ES256", { kid: "es-9" });
    assert.equal(es.privateJwk.kid, "es-9");
    assert.ok(es.privateJwk.d && !es.jwks.keys[0].d);
    const config = { algorithms: ["ES256"], keys: es.jwks, issuer: h.ISSUER, audience: h.AUDIENCE };
    const issuer = new E.Issuer(config, es.privateJwk);
    assert.equal(issuer.alg, "ES256");
    assert.deepEqual(issuer.publicJwk().x, es.jwks.keys[0].x);
    const minted = issuer.issue({ sub: "carol", track: 3, ttl: "30m", claims: { scope: "read" } });
    assert.equal(minted.exp - minted.iat, 1800);
    assert.match(minted.jti, /^[0-9a-f]{32}$/);
    const { header, claims } = h.decode(minted.token);
    assert.deepEqual(header, { alg: "ES256", kid: "es-9", typ: "JWT" });
    assert.equal(claims.iss, h.ISSUER);
    assert.equal(claims.aud, h.AUDIENCE);
    assert.equal(claims.track, 3);
    assert.equal((await new E.Validator(config).verify(minted.token)).ok, true);
    assert.equal(h.cliVerify(config, minted.token).ok, true, "the CLI accepts it");
    // One-shot form, HMAC from the config's secret, ttl as seconds or "1h30m".
    const hs = E.issue(hsConfig, { sub: "dave", track: 1, ttl: "1h30m" });
    assert.equal(hs.exp - hs.iat, 5400);
    assert.equal(h.cliVerify(hsConfig, hs.token).ok, true);
    assert.equal(E.issue(hsConfig, { track: 1, ttl: 90 }).exp - E.issue(hsConfig, { track: 1, ttl: 90 }).iat, 90);
  });

  test("issue refuses what the core refuses", () => {
    assert.throws(() => E.issue(hsConfig, { track: 4, ttl: "2h" }), (e) => e.code === "ttl_exceeds_track");
    assert.throws(() => E.issue(hsConfig, { claims: { exp: 1 } }), (e) => e.code === "invalid_claim" && /exp/.test(e.message));
    assert.throws(() => E.issue({ ...hsConfig, tracks: { unknown: "reject" } }, { track: "9" }), (e) => e.code === "unknown_track");
    assert.throws(() => E.issue({ algorithms: ["ES256"], keys: E.generateKey("ES256").jwks }, {}), E.ConfigError);
    assert.throws(() => E.issue(hsConfig, { ttl: "soon" }), TypeError);
    assert.throws(() => E.issue(hsConfig, { ttl: -5 }), TypeError);
    assert.throws(() => E.issue(hsConfig, { track: 4.5 }), TypeError);
    assert.throws(() => new E.Issuer(hsConfig, { kty: "EC", crv: "P-256" }), E.ConfigError);
    assert.throws(() => E.generateKey("ES512"), E.ConfigError);
    assert.throws(() => E.generateKey("RS256"), (e) => e instanceof E.ConfigError && /edge-jwt keygen/.test(e.message));
  });

  test("humanDuration prints like the CLI", () => {
    assert.equal(E.humanDuration(45), "45s");
    assert.equal(E.humanDuration(187), "3m 07s");
    assert.equal(E.humanDuration(3723), "1h 02m 03s");
    assert.equal(E.humanDuration(183840), "2d 03h 04m");
  });
});

describe("robustness", () => {
  function nest(depth) {
    let value = 0;
    for (let d = 0; d < depth; d++) value = [value];
    return value;
  }

  function garbage(i) {
    const r = (n) => Math.floor(Math.random() * n);
    const pieces = ["", ".", "..", "...", "eyJ", "e30", "eyJhbGciOiJIUzI1NiJ9", "\u0000", "\ud800", "💥", "%", "=", "+/", " ", "\n"];
    switch (i % 8) {
      case 0:
        return Array.from({ length: r(6) }, () => pieces[r(pieces.length)]).join(".");
      case 1:
        return String.fromCharCode(...Array.from({ length: r(64) }, () => r(0x10000)));
      case 2:
        return "a".repeat(r(70_000));
      case 3:
        return h.b64json({ alg: ["HS256", "none", "RS256", null, 1][r(5)], crit: r(2) ? ["x"] : undefined }) + "." + h.b64url(String(Math.random())) + "." + h.b64url(String(r(1e9)));
      case 4:
        return `${"e".repeat(r(40))}.${"{".repeat(r(40))}.${"x".repeat(r(40))}`;
      case 5:
        return h.b64json("[".repeat(r(3000))) + ".e30.";
      case 6:
        return [undefined, null, 42, {}, [], true, Symbol("s"), () => 1][r(8)];
      default:
        return h.signHmac({ alg: "HS256" }, { exp: [1e300, -1, "x", null, 2 ** 64][r(5)], nested: nest(r(40)) }).slice(0, r(400));
    }
  }

  test("1,000 garbage inputs to every entry point, then the same instance verifies a valid token", async () => {
    const store = new E.MemoryStore();
    const v = new E.Validator(hsConfig, { store });
    const valid = h.cliIssue({ config: hsConfig }).token;
    const seen = new Set();
    for (let i = 0; i < 1000; i++) {
      const input = garbage(i);
      const r = await v.verify(input);
      assert.equal(r.ok, false);
      seen.add(r.error.code);
      for (const call of [
        () => v.inspect(input),
        () => E.inspect(input),
        () => E.issue(hsConfig, { sub: input, claims: { x: input } }),
        () => new E.Validator(input),
        () => v.revokeToken(input),
        () => E.errorResponse({ code: input, message: input }),
      ]) {
        try {
          await call();
        } catch (e) {
          assert.ok(e instanceof E.EdgeJwtError || e instanceof TypeError || e instanceof SyntaxError, `unexpected ${e?.name}: ${e?.message}`);
          assert.ok(!(e instanceof WebAssembly.RuntimeError), "no trap");
        }
      }
      try {
        await v.verifyRequest({ authorization: typeof input === "string" ? `Bearer ${input}` : input, cookie: input });
      } catch (e) {
        assert.ok(e instanceof TypeError);
      }
    }
    assert.ok(seen.has("malformed") && seen.has("too_large"), [...seen].join(","));
    const r = await v.verify(valid);
    assert.equal(r.ok, true, "the instance is still usable");
    assert.equal(r.claims.sub, "alice");
  });

  test("the token reaches the core byte for byte: the limit counts UTF-8 bytes, inclusive; non-ASCII is malformed", () => {
    const limit = 512;
    const v = new E.Validator({ ...hsConfig, max_token_bytes: limit }, { tokenCache: 0 });
    // A valid token of exactly `length` bytes (two header spellings reach every length).
    const sized = (length) => {
      for (let pad = 0; pad < limit; pad++) {
        for (const typ of ["JWT", "JWTx"]) {
          const token = h.signHmac({ alg: "HS256", typ }, h.standardClaims({ pad: "x".repeat(pad) }));
          if (token.length === length) return token;
        }
      }
      throw new Error(`no token of ${length} bytes`);
    };
    assert.equal(v.verifySync(sized(limit)).ok, true, "exactly the limit passes");
    const over = v.verifySync(sized(limit + 1));
    assert.equal(over.error?.code, "too_large", "one byte over");
    // 200 characters but 600 bytes; 100 characters, 300 bytes: under the limit, not a JWS.
    assert.equal(v.verifySync("€".repeat(200)).error?.code, "too_large");
    assert.equal(v.verifySync("€".repeat(100)).error?.code, "malformed");
    assert.equal(v.verifySync("a".repeat(1 << 20)).error?.code, "too_large");
    const valid = sized(400);
    const dot = valid.indexOf(".");
    for (const odd of ["é", "\ud800", "\u0000", "💥"]) {
      const result = v.verifySync(valid.slice(0, dot + 5) + odd + valid.slice(dot + 5));
      assert.equal(result.error?.code, "malformed", JSON.stringify(odd));
    }
    assert.equal(v.verifySync(valid).ok, true, "then a valid token still passes");
  });

  test("consecutive tokens with one header segment share one frozen header object; others get their own", () => {
    const v = new E.Validator(hsConfig, { tokenCache: 0 });
    const jwt = () => h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims());
    const first = v.verifySync(jwt());
    const second = v.verifySync(jwt());
    assert.equal(first.header, second.header, "one object for one segment");
    assert.ok(Object.isFrozen(first.header));
    const other = v.verifySync(h.signHmac({ alg: "HS256", typ: "at+jwt" }, h.standardClaims()));
    assert.deepEqual(other.header, { alg: "HS256", typ: "at+jwt" });
    // A refused token with the remembered header changes nothing.
    const forged = h.signHmac({ alg: "HS256", typ: "at+jwt" }, h.standardClaims(), "another-secret-0123456789abcdef");
    assert.equal(v.verifySync(forged).error?.code, "bad_signature");
    assert.deepEqual(v.verifySync(jwt()).header, { alg: "HS256", typ: "JWT" });
    assert.deepEqual(v.verifySync(h.signHmac({ alg: "HS256" }, h.standardClaims())).header, { alg: "HS256" });
    // More header segments than the core keeps (4), alternating: each token still shows its own.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 6; i++) {
        const result = v.verifySync(h.signHmac({ alg: "HS256", typ: "JWT", n: i }, h.standardClaims()));
        assert.deepEqual(result.header, { alg: "HS256", typ: "JWT", n: i }, `round ${round}, header ${i}`);
      }
    }
  });

  test("a validator keeps working after the wasm memory grows under it", () => {
    const es = E.generateKey("ES256", { kid: "grow" });
    const esConfig = { algorithms: ["ES256"], keys: es.jwks };
    const issuer = new E.Issuer(esConfig, es.privateJwk);
    const early = new E.Validator(esConfig, { tokenCache: 0 });
    assert.equal(early.verifySync(issuer.issue({ track: 1, ttl: 60 }).token).ok, true);
    // Thousands of large verified tokens kept by another validator grow the memory (tens of
    // MiB), which detaches every view of it the first validator holds.
    const big = new E.Validator(hsConfig, { tokenCache: 20_000 });
    const pad = "x".repeat(2000);
    for (let i = 0; i < 8000; i++) assert.equal(big.verifySync(h.signHmac({ alg: "HS256" }, h.standardClaims({ pad, i }))).ok, true);
    const after = early.verifySync(issuer.issue({ track: 1, ttl: 60 }).token);
    assert.equal(after.ok, true, after.error?.message);
    assert.equal(early.signatureBackend, "native");
  });

  test("errors thrown by the wasm side are JS errors with codes, never traps", () => {
    let thrown;
    try {
      new E.Validator({ algorithms: "HS256" });
    } catch (e) {
      thrown = e;
    }
    assert.ok(thrown instanceof E.ConfigError);
    assert.match(thrown.message, /^algorithms: invalid type/);
    assert.ok(thrown.stack.includes("ConfigError"));
  });
});
