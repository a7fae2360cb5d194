// Native signature checks for hosts with `node:crypto` (Node, Deno, Bun): OpenSSL verifies
// ES256, EdDSA and RSA 3 to 30 times faster than the same code compiled to WebAssembly. The
// wasm core still parses the token, chooses the key and matches the algorithm to it, refuses
// signatures of the wrong length, and checks every claim; the functions made here only answer
// "does this signature verify under this public key?". Anything they cannot answer (an
// exception, an algorithm not listed) goes back to the core's own implementation (jwt-compact).
import { constants, createPublicKey, verify } from "node:crypto";

const HASH = { RS256: "sha256", RS384: "sha384", RS512: "sha512", PS256: "sha256", PS384: "sha384", PS512: "sha512", ES256: "sha256" };
// RFC 7518 §3.5: the PSS salt is as long as the hash output.
const PSS_SALT = { PS256: 32, PS384: 48, PS512: 64 };

/** The third argument of `crypto.verify` for `alg` with the imported `key`. */
function verifyKey(alg, key) {
  if (alg === "ES256") return { key, dsaEncoding: "ieee-p1363" };
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
  const hash = alg === "EdDSA" ? null : HASH[alg];
  return (message, signature) => verify(hash, message, key, signature);
}
