// WebCrypto signature checks for hosts without node:crypto (browsers, workerd): `crypto.subtle`
// verifies ES256, EdDSA and RSA natively, many times faster than the same code compiled to
// WebAssembly. The wasm core (src/wasm/web_crypto.rs) still parses the token, chooses the key,
// matches the algorithm to it, refuses signatures of the wrong shape and checks every claim;
// the verifiers made here only answer "does this signature verify under this public key?".
// WebCrypto answers with promises, so they serve the asynchronous `verify()` (and the
// middleware); `verifySync()` stays in WebAssembly. Anything they cannot answer (no
// `crypto.subtle`, as on a page served over plain http; an algorithm not listed; a key
// WebCrypto will not import) goes back to the core's own implementation (jwt-compact).

// RFC 7518 §3.3–3.5 and RFC 8037 as WebCrypto names them: [import algorithm, verify algorithm].
// PSS: the salt is as long as the hash output. ECDSA: WebCrypto's signature is r || s, as in JWS.
const rsa = (hash) => [{ name: "RSASSA-PKCS1-v1_5", hash }, { name: "RSASSA-PKCS1-v1_5" }];
const pss = (hash, saltLength) => [{ name: "RSA-PSS", hash }, { name: "RSA-PSS", saltLength }];
const ALGORITHMS = {
  RS256: rsa("SHA-256"),
  RS384: rsa("SHA-384"),
  RS512: rsa("SHA-512"),
  PS256: pss("SHA-256", 32),
  PS384: pss("SHA-384", 48),
  PS512: pss("SHA-512", 64),
  ES256: [
    { name: "ECDSA", namedCurve: "P-256" },
    { name: "ECDSA", hash: "SHA-256" },
  ],
  ES384: [
    { name: "ECDSA", namedCurve: "P-384" },
    { name: "ECDSA", hash: "SHA-384" },
  ],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
};

/**
 * `(alg, jwkJson) → { verify(message, signature) → Promise<boolean> } | undefined`, as the core
 * calls it once per key and algorithm (it keeps the verifier). The key's import starts here;
 * `jwkJson` is the public JWK without `alg`, `use`, `key_ops` and `kid` (the core matched key
 * and algorithm already). `message` and `signature` are views of wasm memory, valid during the
 * call only: `subtle.verify` copies its arguments when called, and until the key is imported
 * they are copied here. A key that does not import makes every verification reject, which
 * sends that key back to the core.
 */
export function prepareWebCryptoVerifier(alg, jwkJson) {
  const subtle = globalThis.crypto?.subtle;
  const algorithms = ALGORITHMS[alg];
  if (subtle === undefined || algorithms === undefined) return undefined;
  const [importAlgorithm, verifyAlgorithm] = algorithms;
  let key = null;
  const imported = subtle.importKey("jwk", JSON.parse(jwkJson), importAlgorithm, false, ["verify"]).then((k) => (key = k));
  imported.catch(() => {}); // reported through verify(), not as an unhandled rejection
  return {
    verify(message, signature) {
      if (key !== null) return subtle.verify(verifyAlgorithm, key, signature, message);
      const [m, s] = [message.slice(), signature.slice()];
      return imported.then((k) => subtle.verify(verifyAlgorithm, k, s, m));
    },
  };
}
