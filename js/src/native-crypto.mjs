// Native signature checks for hosts with `node:crypto` (Node, Deno, Bun): OpenSSL verifies
// ES256, EdDSA and RSA 3 to 30 times faster than the same code compiled to WebAssembly. The
// wasm core still parses the token, chooses the key and matches the algorithm to it, refuses
// signatures of the wrong length, and checks every claim; this function only answers "does
// this signature verify under this public key?". Anything it cannot answer (an exception, an
// algorithm it does not know) goes back to the core's own implementation (jwt-compact).
import { constants, createPublicKey, verify } from "node:crypto";

const HASH = { RS256: "sha256", RS384: "sha384", RS512: "sha512", PS256: "sha256", PS384: "sha384", PS512: "sha512", ES256: "sha256" };
// RFC 7518 §3.5: the PSS salt is as long as the hash output.
const PSS_SALT = { PS256: 32, PS384: 48, PS512: 64 };
// Imported keys by public JWK; a key set rarely holds more than a handful, rotation adds a few.
const MAX_IMPORTED_KEYS = 256;
const imported = new Map();

function publicKey(jwkJson) {
  let key = imported.get(jwkJson);
  if (key === undefined) {
    if (imported.size >= MAX_IMPORTED_KEYS) imported.clear();
    key = createPublicKey({ key: JSON.parse(jwkJson), format: "jwk" });
    imported.set(jwkJson, key);
  }
  return key;
}

/** `(alg, publicJwkJson, message, signature) → boolean | undefined`, as the core calls it. */
export function verifyNative(alg, jwkJson, message, signature) {
  const key = publicKey(jwkJson);
  switch (alg) {
    case "EdDSA":
      return verify(null, message, key, signature);
    case "ES256":
      return verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
    case "RS256":
    case "RS384":
    case "RS512":
      return verify(HASH[alg], message, key, signature);
    case "PS256":
    case "PS384":
    case "PS512":
      return verify(HASH[alg], message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT[alg] }, signature);
    default:
      return undefined;
  }
}
