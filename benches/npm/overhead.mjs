// The work around the signature, per verification: node:crypto's `verify` (and `createVerify`,
// which fast-jwt uses) replaced by a stub that accepts, so what is timed is parsing, key choice,
// claims, the result and the boundary, for edge-jwt and for fast-jwt on the same fixtures. This
// is how the gap to the peer benchmark's floor is split (benches/npm/README.md). Not a peer
// benchmark: the stub changes what OpenSSL would have done to the caches.
//
//   node benches/npm/overhead.mjs [--algs ES256,EdDSA] [--rounds 9] [--round-ms 300]
// Needs js/dist/ (or EDGE_JWT_DIST, another build of it) and `npm ci` in ../shared/bench/peers
// (fixtures and fast-jwt come from there).

import crypto from "node:crypto";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

// Before anything imports node:crypto's functions: ESM named imports follow this sync.
crypto.verify = (_alg, message, _key, signature) => message.length > 0 && signature.length > 0;
crypto.createVerify = () => ({ update() { return this; }, verify: () => true });
syncBuiltinESMExports();

const { values } = parseArgs({ options: { algs: { type: "string", default: "ES256,EdDSA" }, rounds: { type: "string", default: "9" }, "round-ms": { type: "string", default: "300" } } });
const PEERS = new URL("../../../shared/bench/peers/", import.meta.url);
const { createVerifier } = createRequire(PEERS)("fast-jwt");
const { loadFixtures } = await import(new URL("fixtures.mjs", PEERS).href);
const DIST = process.env.EDGE_JWT_DIST ? pathToFileURL(`${process.env.EDGE_JWT_DIST.replace(/\/$/, "")}/`) : new URL("../../js/dist/", import.meta.url);
const { Validator, MemoryStore } = await import(new URL("node.mjs", DIST).href);
// The peer benchmark's policy and result check for edge-jwt (it loads the same build).
const { claimsOf, config } = await import("./edge-jwt-adapter.mjs");
const { data } = await loadFixtures();

/** µs per call over one round of at least `roundMs`; `verify` is awaited only when it is async. */
async function usPerOp(verify, tokens, roundMs) {
  const awaited = verify.constructor.name === "AsyncFunction";
  let calls = 0;
  const start = performance.now();
  let elapsed;
  do {
    if (awaited) for (const token of tokens) await verify(token);
    else for (const token of tokens) verify(token);
    calls += tokens.length;
    elapsed = performance.now() - start;
  } while (elapsed < roundMs);
  return (elapsed * 1000) / calls;
}

for (const alg of values.algs.split(",")) {
  const fx = data.algs[alg];
  const sync = new Validator(config(fx), { tokenCache: 0 });
  const withStore = new Validator(config(fx), { tokenCache: 0, store: new MemoryStore() });
  const fastJwt = createVerifier({ key: alg === "HS256" ? fx.secret : fx.publicPem, algorithms: [alg], allowedIss: fx.issuer, allowedAud: fx.audience, cache: false });
  const rows = {
    "fast-jwt (no cache)": (token) => fastJwt(token),
    "edge-jwt verifySync, no store": (token) => claimsOf(sync.verifySync(token)),
    "edge-jwt await verify, MemoryStore": async (token) => claimsOf(await withStore.verify(token)),
  };
  const times = {};
  // Interleaved rounds, so that load from elsewhere lands on every row alike.
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [name, verify] of Object.entries(rows)) (times[name] ??= []).push(await usPerOp(verify, fx.tokens, Number(values["round-ms"])));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const base = median(times["fast-jwt (no cache)"]);
  for (const [name, xs] of Object.entries(times)) {
    console.log(`${alg.padEnd(6)} ${name.padEnd(36)} ${median(xs).toFixed(2).padStart(7)} µs  ${(median(xs) / base).toFixed(2)}×`);
  }
}
