// Responses and logs for failed verifications, as the Worker answers and logs them.

import * as core from "#glue";

import { ensureReady } from "./loader.mjs";
import { Verified } from "./verified.mjs";

const responses = new Map();

/**
 * The headers of a refusal, as the Worker sends them: JSON, never cached, the challenge if any,
 * and the `DPoP-Nonce` of a `use_dpop_nonce` refusal.
 */
export function refusalHeaders(challenge, dpopNonce) {
  const headers = { "content-type": "application/json", "cache-control": "no-store" };
  if (challenge !== undefined) headers["www-authenticate"] = challenge;
  if (dpopNonce !== undefined) headers["dpop-nonce"] = dpopNonce;
  return headers;
}

/**
 * The HTTP answer to a failed verification, byte for byte the Worker's: status (401, or 503 for
 * `revocation_unavailable`), `{"error","code","error_description"}` JSON body, `cache-control:
 * no-store` and the RFC 6750 `WWW-Authenticate` challenge (bare `Bearer` for `missing_token`;
 * `insufficient_scope` naming `error.scope` for a route's 403).
 */
export function errorResponse(error) {
  ensureReady();
  const { code, message, scope } = error ?? {};
  if (typeof code !== "string" || typeof message !== "string") {
    throw new TypeError("errorResponse() takes { code, message, scope? } (the error of a failed result)");
  }
  const challengeScope = typeof scope === "string" ? scope : undefined;
  const key = `${code}\u0000${message}\u0000${challengeScope ?? ""}`;
  let response = responses.get(key);
  if (!response) {
    const [status, body, challenge] = core.errorResponse(code, message, challengeScope);
    response = Object.freeze({ status, headers: Object.freeze(refusalHeaders(challenge)), body });
    if (responses.size > 256) responses.clear();
    responses.set(key, response);
  }
  return { status: response.status, headers: { ...response.headers }, body: response.body };
}

/** A Fetch API `Response` for a failed verification (see `errorResponse`). */
export function errorFetchResponse(error) {
  const { status, headers, body } = errorResponse(error);
  return new Response(body, { status, headers });
}

/**
 * The Worker's rejection log event: `{ event: "edge_jwt_reject", code, status, path, kid, track,
 * jti_prefix }`, never the token or a secret. `result` (the failed result) supplies track and
 * jti when an authentic token was refused by revocation.
 */
export function rejectionEvent(error, { token, path = "", result } = {}) {
  ensureReady();
  const entry = Verified.entryOf(result);
  return JSON.parse(
    core.rejectionLog(
      String(error.code),
      String(error.message),
      typeof token === "string" ? token : undefined,
      String(path),
      entry?.track ?? undefined,
      typeof entry?.claims.jti === "string" ? entry.claims.jti : undefined,
    ),
  );
}
