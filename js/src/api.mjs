// The public API of the edge-jwt npm package, over the Rust core compiled to wasm (src/wasm/).
// Every decision about a token — parsing, keys, signatures, claims, tracks, revocation, the
// RFC 6750 responses — is the core's; the modules re-exported here move values across the
// boundary (abi.mjs), keep a bounded cache of verified tokens (validator.mjs), adapt revocation
// stores (stores/), and shape results for JS.
//
// Each host entry (src/entries/*.mjs) installs its loader (src/loader.mjs) and re-exports this
// module; the wasm instance is created once, lazily, on first use (or by `await init()`).

export { init } from "./loader.mjs";
export { ConfigError, EdgeJwtError, errorCodes } from "./errors.mjs";
export { KvStore } from "./stores/kv.mjs";
export { MemoryStore } from "./stores/memory.mjs";
export { RedisStore } from "./stores/redis.mjs";
export { SnapshotStore } from "./stores/snapshot.mjs";
export { Validator } from "./validator.mjs";
export { identityHeaders, isIdentityHeader } from "./verified.mjs";
export { errorFetchResponse, errorResponse, rejectionEvent } from "./responses.mjs";
export { createDpopProof, generateKey, humanDuration, inspect, issue, Issuer } from "./issuer.mjs";
export { honoMiddleware } from "./middleware/hono.mjs";
export { expressMiddleware } from "./middleware/express.mjs";
