// Where the gap to fast-jwt comes from once real signatures are checked: in one process, the
// node:crypto floor, fast-jwt (no cache) and edge-jwt `verifySync`, then edge-jwt with its
// signature check stubbed (the work around the signature) and that stubbed path followed by the
// floor's own check (the same work, the check made outside wasm). If the last row costs what
// edge-jwt does, calling the check from inside wasm is not what costs; what both libraries lose
// against "floor + stubbed path" is the price of sharing the CPU with OpenSSL. Not a peer
// benchmark: one process, one policy.
//
//   node benches/npm/real-vs-stubbed.mjs [--algs ES256,EdDSA,RS256] [--rounds 11] [--round-ms 300]
// Needs js/dist/ (or EDGE_JWT_DIST) and `npm ci` in ../shared/bench/peers (fixtures, fast-jwt).

import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";

// A switchable stub, in place before anything imports node:crypto's functions.
const realVerify = crypto.verify;
const realCreateVerify = crypto.createVerify;
const acceptingVerify = { update() { return this; }, verify: () => true };
let stubbed = false;
crypto.verify = (...args) => (stubbed ? args[1].length > 0 && args[3].length > 0 : realVerify(...args));
// edge-jwt checks RS*, PS* and ES256 through a Verify object (js/src/native-crypto.mjs).
crypto.createVerify = (...args) => (stubbed ? acceptingVerify : realCreateVerify(...args));
syncBuiltinESMExports();

const { claimsOf, config, edgeJwt, fastJwtVerifier, fixtures, options, timeRows } = await import("./in-process.mjs");

const STUBBED_ROWS = new Set(["edge-jwt, check stubbed", "… then the floor's check"]);

for (const alg of options.algs.split(",")) {
  const fx = fixtures[alg];
  // The floor row's check (as in the peer benchmark), never stubbed, on inputs split once.
  const key = crypto.createPublicKey(fx.publicPem);
  const keyOptions = alg === "ES256" ? { key, dsaEncoding: "ieee-p1363" } : key;
  const hash = alg === "EdDSA" ? null : "sha256";
  const split = new Map(fx.tokens.map((t) => { const dot = t.lastIndexOf("."); return [t, [Buffer.from(t.slice(0, dot)), Buffer.from(t.slice(dot + 1), "base64url")]]; }));
  const floor = (token) => {
    const [message, signature] = split.get(token);
    return realVerify(hash, message, keyOptions, signature);
  };
  const edge = new edgeJwt.Validator(config(fx), { tokenCache: 0 });
  const fastJwt = fastJwtVerifier(fx);
  const rows = {
    "floor: node:crypto": floor,
    "fast-jwt (no cache)": (token) => fastJwt(token),
    "edge-jwt verifySync": (token) => claimsOf(edge.verifySync(token)),
    "edge-jwt, check stubbed": (token) => claimsOf(edge.verifySync(token)),
    "… then the floor's check": (token) => claimsOf(edge.verifySync(token)) && floor(token),
  };
  await timeRows(alg, rows, fx.tokens, { base: "fast-jwt (no cache)", beforeRow: (name) => (stubbed = STUBBED_ROWS.has(name)) });
  stubbed = false;
}
