// Issue 14 through the real frameworks over real HTTP: the middleware decides on the path the
// framework will route (Hono: the decoded URL path; Express: the request target as sent, ignoring
// case by default), so an encoded letter, an upper-case spelling or raw dot segments all meet the
// /ops/* policy; client identity headers are stripped in every spelling by both; a claim that
// cannot travel in a header is refused invalid_claim by both, as by the Worker.

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";

import { Hono } from "hono";
import { serve } from "@hono/node-server";
import express from "express";
import * as E from "edge-jwt";
import { edgeJwt as honoEdgeJwt } from "edge-jwt/hono";
import { edgeJwt as expressEdgeJwt } from "edge-jwt/express";

import * as h from "./helpers.mjs";

const config = {
  algorithms: ["HS256"],
  secret: h.SECRET,
  issuer: h.ISSUER,
  audience: h.AUDIENCE,
  routes: [
    { path: "/health", mode: "disabled" },
    { path: "/ops/*", scopes: ["ops.write"] },
  ],
  default_route: { mode: "optional" },
};
const sign = (overrides = {}) => h.signHmac({ alg: "HS256", typ: "JWT" }, h.standardClaims({ iss: h.ISSUER, aud: h.AUDIENCE, ...overrides }));

/** Handlers that say which route the framework ran and which identity headers they saw. */
function seen(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => /^x[-_]edge[-_]jwt/i.test(k)));
}

function startHono(validator) {
  const app = new Hono();
  app.use("*", honoEdgeJwt(validator));
  app.get("/ops/*", (c) => c.json({ handler: "ops", identity: seen(Object.fromEntries(c.req.raw.headers)) }));
  app.get("/health", (c) => c.json({ handler: "health", identity: seen(Object.fromEntries(c.req.raw.headers)) }));
  app.all("*", (c) => c.json({ handler: "other", identity: seen(Object.fromEntries(c.req.raw.headers)) }));
  return serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
}

function startExpress(validator) {
  const app = express();
  app.use(expressEdgeJwt(validator));
  app.get("/ops/*splat", (req, res) => res.json({ handler: "ops", url: req.url, identity: seen(req.headers) }));
  app.get("/health", (req, res) => res.json({ handler: "health", url: req.url, identity: seen(req.headers) }));
  app.use((req, res) => res.json({ handler: "other", url: req.url, identity: seen(req.headers) }));
  return app.listen(0, "127.0.0.1");
}

async function listen(server) {
  if (!server.listening) await new Promise((r) => server.once("listening", r));
  return server.address().port;
}

/** A raw HTTP request: the target goes out exactly as written (no client normalisation). */
function raw(port, target, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: target, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        const body = h.jsonOrText(text);
        resolve({ status: res.statusCode, body });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

const validator = new E.Validator(config);
const ports = {};
const servers = [];

before(async () => {
  const hono = startHono(validator);
  const exp = startExpress(validator);
  servers.push(hono, exp);
  ports.hono = await listen(hono);
  ports.express = await listen(exp);
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

for (const name of ["hono", "express"]) {
  describe(`${name}: the policy meets the route the framework runs`, () => {
    const reader = () => ({ authorization: `Bearer ${sign({ scope: "read" })}` });

    test("an encoded letter in the path meets the /ops/* policy", async () => {
      const r = await raw(ports[name], "/%6Fps/deploy", reader());
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.code, "insufficient_scope");
    });

    test("raw dot segments: the route decided on is the route that runs", async () => {
      // Anonymous: /ops/x/../../health is /health (disabled): the health handler runs, never ops.
      const r = await raw(ports[name], "/ops/x/../../health");
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.handler, "health");
      // /health/../ops/deploy is /ops/deploy: the ops policy applies.
      const o = await raw(ports[name], "/health/../ops/deploy", reader());
      assert.equal(o.status, 403, JSON.stringify(o.body));
    });

    test("an encoded slash or a path parameter is 400 malformed_request", async () => {
      for (const target of ["/ops%2Fdeploy", "/ops/deploy;x=1", "/health/%2e%2e%2fops"]) {
        const r = await raw(ports[name], target, reader());
        assert.equal(r.status, 400, `${target}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.code, "malformed_request");
      }
    });

    test("client identity headers are stripped in every spelling, the verified identity set", async () => {
      const r = await raw(ports[name], "/api", {
        authorization: `Bearer ${sign({ sub: "ada" })}`,
        "x-edge-jwt_sub": "mallory",
        "X-EDGE-JWT-SCOPE": "ops.write",
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.identity["x-edge-jwt-sub"], "ada");
      assert.equal(r.body.identity["x-edge-jwt_sub"], undefined);
      assert.equal(r.body.identity["x-edge-jwt-scope"], undefined, "no scope granted, none forwarded");
      const anonymous = await raw(ports[name], "/health", { "x-edge-jwt_sub": "mallory", "x-edge-jwt-sub": "mallory" });
      assert.deepEqual(anonymous.body.identity, {});
    });

    test("a claim that cannot travel in a header is refused invalid_claim, as by the Worker", async () => {
      const r = await raw(ports[name], "/api", { authorization: `Bearer ${sign({ sub: "ada\r\nx-edge-jwt-scope: ops.write" })}` });
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.equal(r.body.code, "invalid_claim");
    });
  });
}

test("express ignores case by default: /OPS/deploy meets the /ops/* policy", async () => {
  const reader = { authorization: `Bearer ${sign({ scope: "read" })}` };
  const r = await raw(ports.express, "/OPS/deploy", reader);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  const operator = await raw(ports.express, "/OPS/deploy", { authorization: `Bearer ${sign({ scope: "ops.write" })}` });
  assert.equal(operator.body.handler, "ops");
});

test("express told every router is case-sensitive, and hono: /OPS/deploy is another route", async () => {
  const app = express();
  app.set("case sensitive routing", true);
  app.use(expressEdgeJwt(validator, { caseInsensitive: false }));
  app.use((req, res) => res.json({ url: req.url }));
  const server = app.listen(0, "127.0.0.1");
  try {
    const r = await raw(await listen(server), "/OPS/deploy", { authorization: `Bearer ${sign({ scope: "read" })}` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  } finally {
    await new Promise((r) => server.close(r));
  }
  const h2 = await raw(ports.hono, "/OPS/deploy", { authorization: `Bearer ${sign({ scope: "read" })}` });
  assert.equal(h2.body.handler, "other", "hono routes case-sensitively: its /ops/* handler does not run");
});

describe("express: the decision follows what Express really routes", () => {
  async function withApp(setup, run) {
    const app = express();
    setup(app);
    const server = app.listen(0, "127.0.0.1");
    try {
      return await run(await listen(server));
    } finally {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    }
  }
  const reader = () => ({ authorization: `Bearer ${sign({ scope: "read" })}` });

  test("a Router ignores case even when the app says 'case sensitive routing'", async () => {
    await withApp(
      (app) => {
        app.enable("case sensitive routing");
        app.use(expressEdgeJwt(validator));
        const router = express.Router();
        router.get("/ops/deploy", (req, res) => res.json({ handler: "ops" }));
        app.use(router);
        app.use((req, res) => res.json({ handler: "other" }));
      },
      async (port) => {
        const r = await raw(port, "/OPS/Deploy", reader());
        assert.equal(r.status, 403, JSON.stringify(r.body));
      },
    );
  });

  test("a req.url rewritten by an earlier middleware is what is decided on", async () => {
    await withApp(
      (app) => {
        app.use((req, res, next) => {
          if (req.url.startsWith("/v2/")) req.url = req.url.slice(3);
          next();
        });
        app.use(expressEdgeJwt(validator));
        app.get("/ops/*splat", (req, res) => res.json({ handler: "ops" }));
        app.use((req, res) => res.json({ handler: "other" }));
      },
      async (port) => {
        const r = await raw(port, "/v2/ops/deploy", reader());
        assert.equal(r.status, 403, JSON.stringify(r.body));
      },
    );
  });

  test("a mounted middleware hands the canonical path back under its prefix", async () => {
    await withApp(
      (app) => {
        const api = express.Router();
        api.use(expressEdgeJwt(validator));
        api.get("/ops/*splat", (req, res) => res.json({ handler: "ops", url: req.url, base: req.baseUrl }));
        api.use((req, res) => res.json({ handler: "other", url: req.url }));
        app.use("/api", api);
      },
      async (port) => {
        // /api/%6Fps/deploy is /api/ops/deploy (the policy's routes name full paths): the
        // router's /ops handler runs on the canonical path under the prefix.
        const r = await raw(port, "/api/%6Fps/deploy", reader());
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body, { handler: "ops", url: "/ops/deploy", base: "/api" });
        // A path that leaves the prefix (/api/%2e%2e/ops/deploy is /ops/deploy) is decided on as
        // /ops/deploy, and cannot be handed back under /api: 403 without the scope, 400 with it.
        assert.equal((await raw(port, "/api/%2e%2e/ops/deploy", reader())).status, 403);
        const out = await raw(port, "/api/%2e%2e/ops/deploy", { authorization: `Bearer ${sign({ scope: "ops.write" })}` });
        assert.equal(out.status, 400, JSON.stringify(out.body));
        assert.equal(out.body.code, "malformed_request");
      },
    );
  });

  test("req.headersDistinct never keeps a spoofed identity header, read before or after", async () => {
    for (const readEarly of [true, false]) {
      await withApp(
        (app) => {
          if (readEarly) {
            app.use((req, res, next) => {
              void req.headersDistinct; // a logger or tracer that reads it first
              next();
            });
          }
          app.use(expressEdgeJwt(validator));
          app.use((req, res) => res.json({ distinct: seen(req.headersDistinct), headers: seen(req.headers) }));
        },
        async (port) => {
          const r = await raw(port, "/pub", { "x-edge-jwt-sub": "mallory", "X_EDGE_JWT_SCOPE": "ops.write" });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.deepEqual(r.body.distinct, {}, `read early: ${readEarly}`);
          assert.deepEqual(r.body.headers, {});
        },
      );
    }
  });
});

test("many requests in flight with an async store and tiny caches: every one decided, none 500", async () => {
  const slowStore = {
    get: () => new Promise((r) => setTimeout(() => r(null), 2)),
    put: () => Promise.resolve(),
  };
  const v = new E.Validator({ ...config, revocation: { cache_size: 1, cache_ttl_s: 0 } }, { store: slowStore, tokenCache: 1 });
  const app = express();
  app.use(expressEdgeJwt(v));
  app.use((req, res) => res.json({ sub: req.edgeJwt?.claims.sub ?? null, identity: seen(req.headers) }));
  const server = app.listen(0, "127.0.0.1");
  try {
    const port = await listen(server);
    const subs = Array.from({ length: 24 }, (_, i) => `user-${i}`);
    const answers = await Promise.all(subs.map((sub) => raw(port, "/api", { authorization: `Bearer ${sign({ sub })}` })));
    answers.forEach((r, i) => {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.sub, subs[i]);
      assert.equal(r.body.identity["x-edge-jwt-sub"], subs[i], "each request carries its own identity");
    });
  } finally {
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  }
});

test("a sub outside Latin-1 passes both middlewares, its header value the UTF-8 bytes the Worker sends", async () => {
  for (const name of ["hono", "express"]) {
    const r = await raw(ports[name], "/api", { authorization: `Bearer ${sign({ sub: "李雷" })}` });
    assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
    const value = r.body.identity["x-edge-jwt-sub"];
    assert.equal(Buffer.from(value, "latin1").toString("utf8"), "李雷", name);
  }
});
