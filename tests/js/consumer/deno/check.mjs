// Run by deno.test.mjs under the `deno` npm package's binary, in the scratch project whose
// node_modules holds the packed edge-jwt: imports resolve through the "deno" export condition.
// Prints one JSON line with what it observed; the Node test asserts on it.
import * as E from "edge-jwt";
import { edgeJwt } from "edge-jwt/hono";
import { Hono } from "hono";

const [config, tokens, asymmetric] = JSON.parse(Deno.args[0]);
const out = { resolved: import.meta.resolve("edge-jwt"), honoResolved: import.meta.resolve("edge-jwt/hono"), results: {} };
const v = new E.Validator(config);
for (const [name, token] of Object.entries(tokens)) {
  const r = await v.verify(token);
  out.results[name] = r.ok ? { ok: true, sub: r.claims.sub, track: r.track } : { ok: false, code: r.error.code, status: r.error.status };
}
// Asymmetric signatures go to Deno's node:crypto; the verdicts must not change.
out.asymmetric = {};
for (const [alg, { config: algConfig, tokens: algTokens }] of Object.entries(asymmetric)) {
  const native = new E.Validator(algConfig);
  const wasm = new E.Validator(algConfig, { nativeCrypto: false });
  const seen = (out.asymmetric[alg] = { backends: [native.signatureBackend, wasm.signatureBackend], results: {} });
  for (const [name, token] of Object.entries(algTokens)) {
    seen.results[name] = [await native.verify(token), await wasm.verify(token)].map((r) => (r.ok ? "ok" : r.error.code));
  }
}
try {
  new E.Validator({ algorithms: ["HS256"], secret: "short" });
} catch (e) {
  out.configError = { name: e.name, code: e.code, isClass: e instanceof E.ConfigError, message: e.message };
}
const minted = E.issue(config, { sub: "deno-user", track: 2 });
out.minted = minted.token;
out.inspect = E.inspect(minted.token).claims.sub;
const app = new Hono();
app.use("*", edgeJwt(v));
app.get("*", (c) => c.json({ sub: c.get("edgeJwt").claims.sub }));
const ok = await app.request("/x", { headers: { authorization: `Bearer ${minted.token}` } });
const denied = await app.request("/x");
out.hono = { ok: [ok.status, await ok.json()], denied: [denied.status, denied.headers.get("www-authenticate"), await denied.json()] };
console.log(JSON.stringify(out));
