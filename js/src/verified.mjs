// A successful verification as callers hold it, the private entry behind it, and the identity
// headers made from it.

import * as core from "#glue";

import { ensureReady } from "./loader.mjs";

/** Failed results of authentic tokens refused by revocation or a route, for the log line's track and jti. */
const refusedAfterVerification = new WeakMap();

/**
 * A successful verification: `{ ok: true, claims, header, track, ttlCeiling }`. `claims` and
 * `header` are frozen (a repeated token shares them). The private entry keeps what the
 * middleware needs (identity headers, the cache id) out of sight.
 */
export class Verified {
  #entry;

  constructor(entry) {
    this.ok = true;
    this.claims = entry.claims;
    this.header = entry.header;
    this.track = entry.track;
    this.ttlCeiling = entry.ttlCeiling;
    this.#entry = entry;
  }

  /** The entry behind a Verified, or behind a failed result marked by `markRefused`. */
  static entryOf(value) {
    if (value === null || typeof value !== "object") return undefined;
    return #entry in value ? value.#entry : refusedAfterVerification.get(value);
  }
}

/** Records that the failed `result` refused the authentic token of `entry`. */
export function markRefused(result, entry) {
  refusedAfterVerification.set(result, entry);
}

/**
 * The identity headers the Worker forwards upstream for a verified result: `x-edge-jwt-sub`,
 * `-jti`, `-track`, `-scope` (space-separated, from `scope` or `scp`) and `-exp`.
 */
export function identityHeaders(verified) {
  const entry = Verified.entryOf(verified);
  if (!entry) throw new TypeError("identityHeaders() takes a successful result of Validator.verify()");
  entry.identity ??= Object.freeze(Object.fromEntries(JSON.parse(core.identityHeaders(JSON.stringify(entry.claims), entry.track ?? undefined))));
  return { ...entry.identity };
}

/**
 * Whether a header name is one edge-jwt owns, which clients must not send: `x-edge-jwt-*` in
 * any case, with `_` read as `-` (CGI, WSGI and Rack fold both into one name).
 */
export function isIdentityHeader(name) {
  ensureReady();
  return typeof name === "string" && core.isIdentityHeader(name);
}
