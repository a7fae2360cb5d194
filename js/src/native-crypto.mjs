// Native signature checks for hosts with `node:crypto` (Node, Deno, Bun): OpenSSL verifies
// ES256, EdDSA and RSA many times faster than the same code compiled to WebAssembly. The
// wasm core still parses the token, chooses the key and matches the algorithm to it, refuses
// signatures of the wrong length, and checks every claim; the functions made here only answer
// "does this signature verify under this public key?". Anything they cannot answer (an
// exception, an algorithm not listed) goes back to the core's own implementation (jwt-compact).
import { constants, createPublicKey, createVerify, verify } from "node:crypto";

const HASH = { RS256: "sha256", RS384: "sha384", RS512: "sha512", PS256: "sha256", PS384: "sha384", PS512: "sha512", ES256: "sha256", ES384: "sha384" };
// RFC 7518 §3.5: the PSS salt is as long as the hash output.
const PSS_SALT = { PS256: 32, PS384: 48, PS512: 64 };

/** The key argument of a verification under `alg` with the imported `key`. */
function verifyKey(alg, key) {
  if (alg === "ES256" || alg === "ES384") return { key, dsaEncoding: "ieee-p1363" };
  if (alg in PSS_SALT) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT[alg] };
  return key;
}

/**
 * `(alg, publicJwkJson) → ((message, signature) → boolean) | undefined`, as the core calls it
 * once per key and algorithm (it keeps the function): the key is imported and the options are
 * built here, once, so that a verification is one call into OpenSSL. `undefined` for an
 * algorithm this host does not check (HMAC stays in the core).
 */
export function prepareNativeVerifier(alg, jwkJson) {
  if (alg !== "EdDSA" && !(alg in HASH)) return undefined;
  const key = verifyKey(alg, createPublicKey({ key: JSON.parse(jwkJson), format: "jwk" }));
  if (alg === "EdDSA") return (message, signature) => verify(null, message, key, signature);
  // A Verify object rather than one-shot `verify`: in Node 20 the one-shot call runs as a
  // crypto job, which costs more per token (benches/npm/README.md). EdDSA has only the
  // one-shot form.
  const hash = HASH[alg];
  return (message, signature) => createVerify(hash).update(message).verify(key, signature);
}
