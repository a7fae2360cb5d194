// What overhead.mjs and real-vs-stubbed.mjs share: options, the peer benchmark's fixtures and
// fast-jwt (../shared/bench/peers, after `npm ci` there), the package build (js/dist/, or
// EDGE_JWT_DIST) with the adapter's policy, and timing in one process: interleaved rounds, so
// that load from elsewhere lands on every row alike, and medians. Import it after any stub of
// node:crypto is in place: fast-jwt binds node:crypto's functions when it is loaded.

import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

export const options = parseArgs({
  options: { algs: { type: "string", default: "ES256,EdDSA" }, rounds: { type: "string", default: "11" }, "round-ms": { type: "string", default: "300" } },
}).values;

const PEERS = new URL("../../../shared/bench/peers/", import.meta.url);
const { createVerifier } = createRequire(PEERS)("fast-jwt");
const { loadFixtures } = await import(new URL("fixtures.mjs", PEERS).href);
const DIST = process.env.EDGE_JWT_DIST ? pathToFileURL(`${process.env.EDGE_JWT_DIST.replace(/\/$/, "")}/`) : new URL("../../js/dist/", import.meta.url);
/** The package as built (its Node ESM entry). */
export const edgeJwt = await import(new URL("node.mjs", DIST).href);
// The peer benchmark's policy and result check for edge-jwt (it loads the same build).
export const { claimsOf, config } = await import("./edge-jwt-adapter.mjs");
/** The peer benchmark's fixtures, by algorithm. */
export const { algs: fixtures } = (await loadFixtures()).data;

/** fast-jwt without its cache, checking what the edge-jwt policy checks. */
export function fastJwtVerifier(fx) {
  const key = fx.alg === "HS256" ? fx.secret : fx.publicPem;
  return createVerifier({ key, algorithms: [fx.alg], allowedIss: fx.issuer, allowedAud: fx.audience, cache: false });
}

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

/**
 * Times `rows` (name → verify) over `tokens` in interleaved rounds and prints each row's median
 * and its ratio to the row named `base`; `beforeRow(name)` runs before each row's round.
 */
export async function timeRows(label, rows, tokens, { base, beforeRow = () => {} }) {
  const times = {};
  for (let round = 0; round < Number(options.rounds); round++) {
    for (const [name, verify] of Object.entries(rows)) {
      beforeRow(name);
      (times[name] ??= []).push(await usPerOp(verify, tokens, Number(options["round-ms"])));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const baseline = median(times[base]);
  for (const [name, xs] of Object.entries(times)) {
    console.log(`${label.padEnd(6)} ${name.padEnd(36)} ${median(xs).toFixed(2).padStart(7)} µs  ${(median(xs) / baseline).toFixed(3)}× ${base}`);
  }
}
