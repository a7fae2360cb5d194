// edge-jwt (the npm package, Node ESM entry, built in js/dist/) as a contender of the team's peer
// benchmark (../shared/bench/peers): see README.md here for the command.
//
// Policy, the same work as the peers' rows plus edge-jwt's own checks:
//   - the algorithm under test only; HS256 from the fixture's secret, the others from its public JWK
//   - issuer and audience required (the fixture's), exp checked (always, in edge-jwt)
//   - required_claims ["exp", "jti"] (the default)
//   - tracks: every ceiling (1–4 and unknown tracks) set to fx.maxLifetimeS, as the fixtures' tokens
//     live until 2100; the track lifetime check still runs on every token
//   - revocation through an empty MemoryStore (jti denylist, subject and global cut-offs): the
//     package's `verify` takes a store, and a gateway uses one. The core's bounded revocation cache
//     (default 10 000 entries, 30 s) answers repeated jtis; a first lookup awaits the store.
//
// Rows (one per variant, as for fast-jwt):
//   - `tokenCache: 0`       no cache of verified tokens: every call parses and checks the signature.
//                           The distinct-token figure.
//   - `token cache`         the default tokenCache (1000 verified tokens, time checks redone on every
//                           hit). With 1000 distinct tokens every one fits, so its distinct column
//                           is cache hits (like fast-jwt cache: true): marked `caches`.
//   - `token cache, miss path`  tokenCache N/2 while cycling N tokens: every call misses (FIFO
//                           eviction), i.e. the cache's cost when it cannot help. Distinct only.
//   - `verifySync, no store, tokenCache: 0`  the synchronous call without revocation: what the
//                           awaited store read (a resolved promise per call) costs on top.
//   - `tokenCache: 0, nativeCrypto: false`  as the first row with every signature checked in
//                           WebAssembly (jwt-compact), as in browsers and workerd. Every other row
//                           uses the package's default in Node: RS*, PS*, ES256 and EdDSA
//                           signatures checked by node:crypto (OpenSSL), the rest in WebAssembly.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// The package build: js/dist/ (by relative path), or EDGE_JWT_DIST (a copy of it, so that a
// rebuild during a run cannot mix two builds across rows).
const DIST = process.env.EDGE_JWT_DIST ? pathToFileURL(`${process.env.EDGE_JWT_DIST.replace(/\/$/, "")}/`) : new URL("../../js/dist/", import.meta.url);
const { MemoryStore, Validator } = await import(new URL("node.mjs", DIST).href);
const pkg = JSON.parse(readFileSync(new URL("../../js/package.json", import.meta.url), "utf8"));
const wasmSha = createHash("sha256").update(readFileSync(new URL("edge_jwt_bg.wasm", DIST))).digest("hex").slice(0, 12);

/** The policy of every row (see above); benches/npm/overhead.mjs uses it too. */
export function config(fx) {
  const ceiling = fx.maxLifetimeS;
  return {
    algorithms: [fx.alg],
    ...(fx.alg.startsWith("HS") ? { secret: fx.secret } : { keys: [fx.publicJwk] }),
    issuer: fx.issuer,
    audience: fx.audience,
    required_claims: ["exp", "jti"],
    tracks: { ttl_s: { 1: ceiling, 2: ceiling, 3: ceiling, 4: ceiling }, unknown: "default", default_ttl_s: ceiling },
  };
}

/** The harness wants the claims back, or a throw: `{ ok: false }` becomes a throw with the code. */
export function claimsOf(result) {
  if (!result.ok) throw new Error(result.error.code);
  return result.claims;
}

function variant(label, { tokenCache, store = true, sync = false, caches = false, nativeCrypto = true, modes, note }) {
  return {
    name: `edge-jwt (${label})`,
    version: `${pkg.version} (wasm ${wasmSha})`,
    caches,
    modes,
    note,
    async setup(fx) {
      const validator = new Validator(config(fx), {
        tokenCache: typeof tokenCache === "function" ? tokenCache(fx) : tokenCache,
        ...(store ? { store: new MemoryStore() } : {}),
        nativeCrypto,
      });
      if (sync) return { verify: (token) => claimsOf(validator.verifySync(token)), async: false };
      return { verify: async (token) => claimsOf(await validator.verify(token)), async: true };
    },
  };
}

export const variants = [
  variant("tokenCache: 0", {
    tokenCache: 0,
    note: "await verify() with an empty MemoryStore (revocation checked, answers cached by the core), no cache of verified tokens; track ceilings set to fx.maxLifetimeS, required_claims exp and jti",
  }),
  variant("token cache", {
    tokenCache: 1000,
    caches: true,
    note: "the default tokenCache of 1000 verified tokens (signature and claims remembered, time and revocation checks redone per call): with 1000 distinct tokens every token fits, so its distinct column is cache hits too",
  }),
  variant("token cache, miss path", {
    tokenCache: (fx) => Math.floor(fx.tokens.length / 2),
    modes: ["distinct"],
    note: "tokenCache of N/2 while cycling N tokens: every call misses (verify + insert + FIFO eviction)",
  }),
  variant("verifySync, no store, tokenCache: 0", {
    tokenCache: 0,
    store: false,
    sync: true,
    note: "synchronous verifySync() without a revocation store: the gap to the tokenCache: 0 row is the awaited revocation lookup",
  }),
  variant("tokenCache: 0, nativeCrypto: false", {
    tokenCache: 0,
    nativeCrypto: false,
    note: "as tokenCache: 0 with every signature checked in WebAssembly (jwt-compact), as in browsers and workerd",
  }),
];
