// Inspection, minting and keys: what a host that holds a key, or a person debugging a token,
// asks of the core outside verification.

import * as core from "#glue";

import { configJson, configTracks, jsonArg, nowOf, ttlSeconds } from "./args.mjs";
import { callCore, EdgeJwtError } from "./errors.mjs";
import { ensureReady } from "./loader.mjs";

/**
 * UNVERIFIED decode, for people and debugging: header, claims, times (unix and UTC), time left,
 * and the track verdict under `options.tracks` (a config's `tracks` section), `options.config`'s
 * tracks, or the default table. Throws `EdgeJwtError` (`malformed`) when it is not a JWS at all.
 */
export function inspect(token, options) {
  ensureReady();
  if (typeof token !== "string") throw new EdgeJwtError("malformed", "the token must be a string", 401);
  const now = nowOf(options);
  let tracks = options?.tracks;
  if (tracks === undefined && options?.config !== undefined) tracks = configTracks(options.config);
  const tracksJson = tracks === undefined || tracks === null ? undefined : JSON.stringify(tracks);
  return JSON.parse(callCore(() => core.inspectToken(token, now, tracksJson)));
}

/** Seconds as the CLI prints them: `45s`, `3m 07s`, `1h 02m 03s`, `2d 03h 04m`. */
export function humanDuration(seconds) {
  ensureReady();
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) throw new TypeError("humanDuration() takes a number of seconds");
  return core.humanDuration(Math.abs(seconds));
}

/**
 * A minter for hosts that hold a key: `signingKey` is a private JWK (object or JSON), or
 * omitted to sign with the config's `secret` (with `options.alg`, else the first HMAC algorithm
 * the policy allows). Throws `ConfigError` for a bad config or key.
 */
export class Issuer {
  #core;

  constructor(config, signingKey, options = {}) {
    ensureReady();
    const json = configJson(config);
    const key = signingKey === undefined || signingKey === null ? undefined : jsonArg(signingKey, "the signing key");
    const alg = options?.alg;
    if (alg !== undefined && typeof alg !== "string") throw new TypeError("options.alg must be an algorithm name");
    this.#core = callCore(() => new core.CoreIssuer(json, key, alg));
  }

  /** The signing algorithm. */
  get alg() {
    return this.#core.alg();
  }

  /** The public JWK to publish, or `null` for HMAC. */
  publicJwk() {
    const jwk = this.#core.publicJwk();
    return jwk === undefined ? null : JSON.parse(jwk);
  }

  /**
   * Mints `{ token, jti, iat, exp, track }`: fresh 128-bit jti, `iat = now`, `exp` from `ttl`
   * (seconds or `"30m"`; default and maximum: the track's ceiling).
   */
  issue({ sub, track, ttl, claims } = {}, options) {
    const now = nowOf(options);
    const body = JSON.stringify({ sub, track, ttl: ttlSeconds(ttl), claims });
    return JSON.parse(callCore(() => this.#core.issue(body, now)));
  }
}

/** One-shot `new Issuer(config, signingKey, options).issue(request, options)`. */
export function issue(config, request, signingKey, options) {
  return new Issuer(config, signingKey, options).issue(request, options);
}

/**
 * A new key for `alg` (`ES256`, `EdDSA`, `RS256`, `PS256`, `HS256`, …): `{ privateJwk, jwks }`,
 * `jwks` being `null` for HMAC. Without `kid`, the RFC 7638 thumbprint.
 */
export function generateKey(alg, { kid } = {}) {
  ensureReady();
  if (typeof alg !== "string") throw new TypeError("generateKey() takes an algorithm name");
  return JSON.parse(callCore(() => core.generateKey(alg, kid === undefined ? undefined : String(kid))));
}

/**
 * A DPoP proof (RFC 9449 §4.2) for a request to `method url`, signed with `privateJwk` (a
 * private EC P-256, Ed25519 or RSA JWK, object or JSON): `typ` `dpop+jwt`, the public key as
 * `jwk`, a fresh `jti`, `htm`, `htu` (the URL without query and fragment), `iat`, and `ath`
 * for `accessToken` and the server's `nonce` (its last `DPoP-Nonce`) when given. Made by the
 * core's `create_proof`. Async so that a future host crypto path keeps the same signature.
 */
export async function createDpopProof(privateJwk, method, url, accessToken, nonce, options) {
  ensureReady();
  const jwk = jsonArg(privateJwk, "createDpopProof() key");
  if (typeof method !== "string" || typeof url !== "string") throw new TypeError("createDpopProof() takes (privateJwk, method, url, accessToken?, nonce?)");
  if (accessToken !== undefined && accessToken !== null && typeof accessToken !== "string") throw new TypeError("accessToken must be a string");
  if (nonce !== undefined && nonce !== null && typeof nonce !== "string") throw new TypeError("nonce must be a string");
  const now = nowOf(options);
  return callCore(() => core.createDpopProof(jwk, method, url, accessToken ?? undefined, nonce ?? undefined, now));
}
