//! The npm package's wasm-bindgen surface (js/): a thin host around the core, like
//! `src/worker/`. Every decision about a token is the core's; this module only moves strings and
//! JSON across the boundary, holds per-instance state (the policy, the revocation checker over a
//! JS store or the replica of the edge's revocation authority, a bounded cache of verified
//! tokens) and reports every failure as a JS error object with `code`, `message` and `status`.
//! Nothing here unwraps JS input: bad input becomes an error, never a trap, so the instance
//! stays usable.
//!
//! The JS side wraps these exports into the public API: js/src/validator.mjs (the
//! `CoreValidator`), js/src/abi.mjs (the buffers in wasm memory and the host's verifiers),
//! js/src/native-crypto.mjs and js/src/webcrypto.mjs (the host's signature checks: node:crypto,
//! WebCrypto), js/src/jwks.mjs, js/src/issuer.mjs, js/src/errors.mjs, js/src/responses.mjs and
//! js/src/verified.mjs, re-exported by js/src/api.mjs.

/// The buffers the host reads and writes in wasm memory: the token input and the verify result.
mod abi;
/// Values across the boundary: errors as JS objects, JSON text, JS numbers.
mod convert;
/// The exports that need no instance: error codes and responses, identity headers, inspection.
mod functions;
/// Signature checks by the host's native crypto.
mod host_crypto;
/// `CoreIssuer` and `generateKey`: minting tokens and making keys.
mod issuer;
/// The revocation store over a JS object.
mod js_store;
/// The remote JWKS's I/O through the host.
mod jwks_host;
/// `CoreValidator`'s remote JWKS methods.
mod jwks_refresh;
/// The revocation authority's read replica over a JS `SnapshotStore`.
mod replica_host;
/// `CoreValidator`'s revocation methods.
mod revoke;
/// `CoreValidator`: the policies, the verified-token cache, verification, the gateway's decision.
mod validator;
/// Signature checks by the host's WebCrypto, for the asynchronous verification.
mod web_crypto;
