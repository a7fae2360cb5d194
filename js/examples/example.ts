// A TypeScript consumer of every part of the edge-jwt API (ESM). Type-checked by the package
// tests (tests/js/consumer/types.test.mjs: tsc --noEmit, strict) against the installed tarball,
// and a readable tour of the API. The `@ts-expect-error` lines prove the types are not `any`.
import {
  ConfigError,
  EdgeJwtError,
  Issuer,
  KvStore,
  MemoryStore,
  RedisStore,
  Validator,
  errorCodes,
  errorFetchResponse,
  errorResponse,
  generateKey,
  humanDuration,
  identityHeaders,
  init,
  inspect,
  isIdentityHeader,
  issue,
  rejectionEvent,
  type Config,
  type ErrorCode,
  type RevocationStore,
  type VerifyResult,
} from "edge-jwt";
import { edgeJwt as honoEdgeJwt } from "edge-jwt/hono";
import { edgeJwt as expressEdgeJwt } from "edge-jwt/express";
import { Hono } from "hono";
import express from "express";

export async function tour(token: string, kvBinding: { get(k: string, o?: { cacheTtl?: number }): Promise<string | null>; put(k: string, v: string, o?: { expirationTtl?: number }): Promise<void> }): Promise<void> {
  await init(); // optional in Node, Deno and workerd; once in browsers

  const config: Config = {
    algorithms: ["ES256", "HS256"],
    secret: "a-32-byte-or-longer-hmac-secret!!",
    issuer: "https://id.example.com",
    audience: "api",
    tracks: { unknown: "reject", ttl_s: { "1": 43200, "4": 3600 } },
    revocation: { cache_ttl_s: 30, timeout_ms: 500 },
    routes: [{ path: "/ops/*", scopes: ["ops.write"], tracks: [4] }],
  };

  // Validation, revocation through a store
  const store: RevocationStore = new MemoryStore();
  const validator = new Validator(config, { store, tokenCache: 1000 });
  const result: VerifyResult = await validator.verify(token, { now: new Date() });
  if (result.ok) {
    const sub: string | undefined = result.claims.sub;
    const ceiling: number = result.ttlCeiling;
    const track: string | null = result.track;
    const headers: Record<string, string> = identityHeaders(result);
    console.log(sub, ceiling, track, headers, result.header.alg);
  } else {
    const code: ErrorCode = result.error.code;
    const status: number = result.error.status;
    const response = errorResponse(result.error);
    console.log(code, status, response.status, response.headers["www-authenticate"], response.body);
    console.log(errorFetchResponse(result.error), rejectionEvent(result.error, { path: "/x", result }).code);
  }
  try {
    const ok = await validator.verifyOrThrow(token);
    console.log(ok.claims.jti);
  } catch (e) {
    if (e instanceof ConfigError) console.log("never: config errors come from constructors");
    if (e instanceof EdgeJwtError) console.log(e.code, e.status);
  }
  const fromRequest = await validator.verifyRequest(new Request("https://api.example.com/x"));
  const gate = await validator.checkRequest({ headers: { authorization: `Bearer ${token}` } }, { method: "POST", path: "/ops/deploy" });
  console.log(fromRequest.ok, gate.ok ? gate.verified?.claims.sub : gate.error.code, gate.route?.mode);
  await validator.revoke({ jti: "4f1c…", exp: 1_900_000_000, reason: "stolen" });
  await validator.revoke({ sub: "alice" });
  await validator.revoke({ before: Math.floor(Date.now() / 1000) });
  await validator.revokeToken(token, { reason: "logout" });
  console.log(validator.settings.revocation.cacheTtl, validator.stats().storeReads, validator.publicJwks().keys.length);

  // Stores for the edge (Workers KV) and for Node (Redis)
  new Validator(config, { store: new KvStore(kvBinding, { cacheTtl: 60 }) });
  const redisLike = { isOpen: true, sendCommand: async (args: string[]) => args.length };
  new Validator(config, { store: new RedisStore(redisLike, { prefix: "edge:" }) });

  // Inspection, minting, keys
  const report = inspect(token, { tracks: config.tracks });
  console.log(report.warning, report.track.verdict, report.timeLeft, report.times.map((t) => t.utc), report.text);
  const key = generateKey("ES256", { kid: "2026-11" });
  const issuer = new Issuer({ ...config, keys: key.jwks ?? [] }, key.privateJwk);
  const minted = issuer.issue({ sub: "alice", track: 4, ttl: "30m", claims: { scope: "read" } });
  console.log(minted.token, minted.exp - minted.iat, issuer.alg, issuer.publicJwk());
  console.log(issue(config, { sub: "bob", track: "1", ttl: 3600 }).jti);
  console.log(errorCodes().map((c) => `${c.code}:${c.status}`), humanDuration(3723), isIdentityHeader("x-edge-jwt-sub"));

  // Middleware
  const app = new Hono();
  app.use("/api/*", honoEdgeJwt(validator, { log: true }));
  app.get("/api/me", (c) => {
    const verified = c.get("edgeJwt");
    return c.json({ sub: verified?.claims.sub ?? null });
  });
  const server = express();
  server.use(expressEdgeJwt(config, { identityHeaders: true, log: (event) => console.log(event.code, event.path) }));
  server.get("/me", (req, res) => {
    res.json({ sub: req.edgeJwt?.claims.sub });
  });

  // @ts-expect-error: a token is a string
  await validator.verify(42);
  // @ts-expect-error: not an algorithm this build implements
  new Validator({ algorithms: ["ES384"] });
  // @ts-expect-error: revoke takes one of the three request forms
  await validator.revoke({ jti: 7 });
  // @ts-expect-error: a successful result has no error member
  if (result.ok) console.log(result.error);
}
