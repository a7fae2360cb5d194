// The work around the signature, per verification: node:crypto's `verify` (and `createVerify`,
// which fast-jwt uses) replaced by a stub that accepts, so what is timed is parsing, key choice,
// claims, the result and the boundary, for edge-jwt and for fast-jwt on the same fixtures. This
// is how the gap to the peer benchmark's floor is split (benches/npm/README.md). Not a peer
// benchmark: the stub changes what OpenSSL would have done to the caches.
//
//   node benches/npm/overhead.mjs [--algs ES256,EdDSA] [--rounds 11] [--round-ms 300]
// Needs js/dist/ (or EDGE_JWT_DIST, another build of it) and `npm ci` in ../shared/bench/peers
// (fixtures and fast-jwt come from there).

import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";

// Before anything imports node:crypto's functions: ESM named imports follow this sync.
crypto.verify = (_alg, message, _key, signature) => message.length > 0 && signature.length > 0;
crypto.createVerify = () => ({ update() { return this; }, verify: () => true });
syncBuiltinESMExports();

const { claimsOf, config, edgeJwt, fastJwtVerifier, fixtures, options, timeRows } = await import("./in-process.mjs");
const { MemoryStore, Validator } = edgeJwt;

for (const alg of options.algs.split(",")) {
  const fx = fixtures[alg];
  const sync = new Validator(config(fx), { tokenCache: 0 });
  const withStore = new Validator(config(fx), { tokenCache: 0, store: new MemoryStore() });
  const fastJwt = fastJwtVerifier(fx);
  const rows = {
    "fast-jwt (no cache)": (token) => fastJwt(token),
    "edge-jwt verifySync, no store": (token) => claimsOf(sync.verifySync(token)),
    "edge-jwt await verify, MemoryStore": async (token) => claimsOf(await withStore.verify(token)),
  };
  await timeRows(alg, rows, fx.tokens, { base: "fast-jwt (no cache)" });
}
