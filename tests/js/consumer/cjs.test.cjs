// CommonJS consumers: `require("edge-jwt")` loads dist/node.cjs (its own wasm instance) and
// behaves exactly as the ESM build; the middleware subpaths require too.

const { test } = require("node:test");
const assert = require("node:assert/strict");

const E = require("edge-jwt");
const { edgeJwt: honoEdgeJwt } = require("edge-jwt/hono");
const { edgeJwt: expressEdgeJwt } = require("edge-jwt/express");

test("require('edge-jwt') resolves the CommonJS build and verifies like the ESM one", async () => {
  const h = await import("./helpers.mjs");
  const esm = await import("edge-jwt");
  assert.match(require.resolve("edge-jwt"), /dist[/\\]node\.cjs$/);
  const config = { algorithms: ["HS256"], secret: h.SECRET };
  const minted = h.cliIssue({ config, sub: "cjs-user", track: 3 });
  const cjsResult = await new E.Validator(config).verify(minted.token);
  const esmResult = await new esm.Validator(config).verify(minted.token);
  assert.equal(cjsResult.ok, true);
  assert.deepEqual(JSON.parse(JSON.stringify(cjsResult)), JSON.parse(JSON.stringify(esmResult)));
  const [header, , signature] = minted.token.split(".");
  const tampered = `${header}.${h.b64json({ ...h.decode(minted.token).claims, sub: "mallory" })}.${signature}`;
  const bad = await new E.Validator(config).verify(tampered);
  assert.equal(bad.error.code, "bad_signature");
  assert.deepEqual(E.errorCodes(), esm.errorCodes());
});

test("CommonJS errors are the CommonJS classes, with codes", () => {
  assert.throws(
    () => new E.Validator({ algorithms: ["HS256"], secret: "short" }),
    (e) => e instanceof E.ConfigError && e instanceof E.EdgeJwtError && e.code === "config_error" && /^secret: /.test(e.message),
  );
  assert.throws(() => E.inspect("nope"), (e) => e instanceof E.EdgeJwtError && e.code === "malformed");
});

test("CommonJS middleware factories build working middleware", () => {
  const config = { algorithms: ["HS256"], secret: "a-32-byte-or-longer-hmac-secret!!" };
  assert.equal(typeof honoEdgeJwt(config), "function");
  const mw = expressEdgeJwt(new E.Validator(config));
  assert.equal(mw.length, 3, "(req, res, next)");
});

test("issue and inspect through require", async () => {
  const h = await import("./helpers.mjs");
  const config = { algorithms: ["HS256"], secret: h.SECRET };
  const minted = E.issue(config, { sub: "cjs", track: 4, ttl: 60 });
  assert.equal(h.cliVerify(config, minted.token).ok, true);
  assert.equal(E.inspect(minted.token).claims.sub, "cjs");
});
