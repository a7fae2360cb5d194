// The Hono middleware (exported as `edgeJwt` from edge-jwt/hono).

import { clientCertificate as certificateOf } from "../request.mjs";
import { refusalHeaders } from "../responses.mjs";
import { refusalOf } from "../validator.mjs";
import { reporter, validatorOf, wireValue } from "./options.mjs";

/** The request's URL under the public `origin` (behind a proxy). */
function originUri(origin, url) {
  const parsed = new URL(url);
  return origin.replace(/\/+$/, "") + parsed.pathname + parsed.search;
}

/**
 * Hono middleware: decides each request like the Worker's gateway (the canonical path, routes,
 * Bearer header or the policy's cookie, revocation through the validator's store) and sets
 * `c.set("edgeJwt", verified)` (null for an anonymous or unchecked request;
 * `options.contextKey` renames it), or answers 400 / 401 / 403 / 503 with the Worker's
 * response. The request the next handlers see carries the Worker's header edits: spoofed
 * `x-edge-jwt-*` headers (any spelling) removed, the verified identity set. DPoP proofs are
 * checked against the request's URL (`options.origin` replaces its origin, behind a proxy);
 * certificate-bound tokens against the client certificate of the TLS socket on Node
 * (`c.env.incoming.socket`, @hono/node-server over `https.createServer`); on other runtimes
 * Hono has no client certificate, so such tokens are refused (`mtls_binding_mismatch`).
 */

export function honoMiddleware(validatorOrConfig, options = {}) {
  const validator = validatorOf(validatorOrConfig, options);
  const key = options.contextKey ?? "edgeJwt";
  const report = reporter(options);
  return async function edgeJwt(c, next) {
    // On Node (@hono/node-server) the TLS socket is reachable through c.env.incoming: its
    // client certificate binds certificate-bound tokens. Elsewhere there is none to give.
    const incoming = c.env?.incoming;
    const clientCertificate = incoming?.socket ? certificateOf(incoming) : undefined;
    const uri = options.origin === undefined ? undefined : originUri(options.origin, c.req.raw.url);
    const outcome = await validator.checkRequest(c.req.raw, { clientCertificate, uri });
    if (!outcome.ok) {
      report?.(outcome);
      const refusal = refusalOf(outcome);
      return new Response(refusal.body, { status: refusal.status, headers: refusalHeaders(refusal.challenge, refusal.dpopNonce) });
    }
    const { edits } = outcome;
    if (edits.remove.length > 0 || edits.set.length > 0) {
      const headers = new Headers(c.req.raw.headers);
      for (const name of edits.remove) headers.delete(name);
      for (const [name, value] of edits.set) headers.set(name, wireValue(value));
      // Hono reads headers through c.req.raw: the next handlers see only the edited set.
      c.req.raw = new Request(c.req.raw, { headers });
    }
    c.set(key, outcome.verified);
    await next();
  };
}
