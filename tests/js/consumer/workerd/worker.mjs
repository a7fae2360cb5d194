// A Worker as a package user writes it: Hono + edge-jwt's middleware, revocations in a KV
// namespace through KvStore. Bundled by wrangler (the "workerd" export condition, the .wasm
// import as a compiled module) and run in workerd by workerd.test.mjs.
import { Hono } from "hono";
import * as E from "edge-jwt";
import { KvStore, Validator, inspect } from "edge-jwt";
import { edgeJwt } from "edge-jwt/hono";

import { probeBackends } from "../signature-probe.mjs";

let app;
function build(env) {
  const validator = new Validator(JSON.parse(env.POLICY), { store: new KvStore(env.REVOCATIONS) });
  const hono = new Hono();
  hono.post("/logout", async (c) => {
    const token = (c.req.header("authorization") ?? "").replace(/^Bearer /, "");
    return c.json(await validator.revokeToken(token));
  });
  hono.get("/inspect", (c) => c.json(inspect(c.req.query("token"))));
  // The signature corpus through workerd's WebCrypto and through the core's own.
  hono.post("/signatures", async (c) => c.json(await probeBackends(E, await c.req.json())));
  hono.use("*", edgeJwt(validator));
  hono.get("*", (c) => c.json({ sub: c.get("edgeJwt")?.claims.sub ?? null }));
  return hono;
}

export default {
  fetch(request, env, ctx) {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
