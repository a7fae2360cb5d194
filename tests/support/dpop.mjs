// DPoP proofs (RFC 9449 §4.2) made by hand with node:crypto: an implementation independent of
// the Rust core's `create_proof`, for the Worker tests and the benchmarks. Keys are made here;
// the thumbprint is RFC 7638's (required members only, in lexicographic order, SHA-256).

import crypto from "node:crypto";

const b64url = (data) => Buffer.from(data).toString("base64url");
const b64json = (value) => b64url(JSON.stringify(value));

/** A client key pair: `{ alg, privateKey, jwk }` (`jwk` the public JWK). ES256, EdDSA or RS256. */
export function clientKey(alg = "ES256") {
  const pair =
    alg === "ES256"
      ? crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
      : alg === "EdDSA"
        ? crypto.generateKeyPairSync("ed25519")
        : crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { alg, privateKey: pair.privateKey, jwk: pair.publicKey.export({ format: "jwk" }) };
}

/** RFC 7638 thumbprint of a public JWK (what a token's `cnf.jkt` holds). */
export function thumbprint(jwk) {
  const members = { EC: ["crv", "kty", "x", "y"], OKP: ["crv", "kty", "x"], RSA: ["e", "kty", "n"] }[jwk.kty];
  const required = Object.fromEntries(members.map((m) => [m, jwk[m]]));
  return crypto.createHash("sha256").update(JSON.stringify(required)).digest("base64url");
}

/** `ath`: base64url(SHA-256(access token)). */
export const ath = (token) => crypto.createHash("sha256").update(token).digest("base64url");

/**
 * A proof for `htm htu` by `key`: `accessToken` gives `ath`, `nonce` the server nonce; `iat`
 * (default now) and `jti` (default random) may be set, `header` and `claims` merged last.
 */
export function makeProof(key, { htm = "GET", htu, accessToken, nonce, iat, jti, header = {}, claims = {} }) {
  const h = { typ: "dpop+jwt", alg: key.alg, jwk: key.jwk, ...header };
  const c = { jti: jti ?? crypto.randomBytes(16).toString("base64url"), htm, htu, iat: iat ?? Math.floor(Date.now() / 1000) };
  if (accessToken !== undefined) c.ath = ath(accessToken);
  if (nonce !== undefined) c.nonce = nonce;
  Object.assign(c, claims);
  const input = `${b64json(h)}.${b64json(c)}`;
  const hash = key.alg === "EdDSA" ? null : "sha256";
  const signature = crypto.sign(hash, Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${b64url(signature)}`;
}
