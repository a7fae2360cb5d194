// The Express (and Connect / node:http) middleware (exported as `edgeJwt` from edge-jwt/express).

import { requestTarget } from "../request.mjs";
import { errorResponse, refusalHeaders } from "../responses.mjs";
import { refusalOf } from "../validator.mjs";
import { reporter, validatorOf, wireValue } from "./options.mjs";

/**
 * Applies header edits to a Node request: `headers`, `rawHeaders` and `headersDistinct`. Node
 * builds `headersDistinct` once, from the raw headers as they arrived; it becomes an own
 * property here, made from the edited headers, so no view of the request keeps a spoofed one.
 */
function editNodeHeaders(req, edits) {
  const removed = new Set([...edits.remove, ...edits.set.map(([name]) => name)].map((name) => name.toLowerCase()));
  for (const name of Object.keys(req.headers)) if (removed.has(name.toLowerCase())) delete req.headers[name];
  for (const [name, value] of edits.set) req.headers[name] = wireValue(value);
  if (Array.isArray(req.rawHeaders)) {
    const raw = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (!removed.has(String(req.rawHeaders[i]).toLowerCase())) raw.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    for (const [name, value] of edits.set) raw.push(name, wireValue(value));
    req.rawHeaders.splice(0, req.rawHeaders.length, ...raw);
  }
  const distinct = Object.create(null);
  for (const [name, value] of Object.entries(req.headers)) distinct[name] = Array.isArray(value) ? [...value] : [String(value)];
  Object.defineProperty(req, "headersDistinct", { value: distinct, configurable: true, enumerable: true, writable: true });
}

/**
 * Express (and Connect / node:http) middleware: decides each request like the Worker's gateway
 * and sets `req.edgeJwt` (null for an anonymous or unchecked request; `options.requestKey`
 * renames it), or answers 400 / 401 / 403 / 503 with the Worker's response. Express routes the
 * request target as it stands (`req.baseUrl + req.url`), and its routers ignore case unless each
 * is told otherwise: the decision is made on that target, ignoring case (`options.
 * caseInsensitive: false` when every router is case-sensitive), and `req.url` is rewritten to
 * the canonical path it was made on, so the handler that runs is the one the policy authorised. The Worker's header
 * edits apply to `req.headers` (spoofed `x-edge-jwt-*` headers in any spelling removed, the
 * verified identity set). DPoP proofs are checked against `options.origin` (the public origin,
 * e.g. `https://api.example.com`; default: the request's scheme and `Host`) and `originalUrl`;
 * certificate-bound tokens against the TLS socket's client certificate (`https.createServer`
 * with `requestCert: true` and the client CAs as `ca`).
 */
export function expressMiddleware(validatorOrConfig, options = {}) {
  const validator = validatorOf(validatorOrConfig, options);
  const key = options.requestKey ?? "edgeJwt";
  const report = reporter(options);
  return function edgeJwt(req, res, next) {
    // Express routers and mounted apps ignore case unless each is told otherwise, whatever the
    // app's own setting: the decision folds case unless the caller says every router doesn't.
    const caseInsensitive = options.caseInsensitive ?? true;
    // Inside a promise callback: a throw here (Node refuses a header value it cannot send)
    // would be an unhandled rejection, which ends the process. Express's error handling gets it.
    const respond = (status, headers, body) => {
      try {
        res.statusCode = status;
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.end(body);
      } catch (error) {
        next(error);
      }
    };
    validator.checkRequest(req, { caseInsensitive, origin: options.origin }).then((outcome) => {
      if (!outcome.ok) {
        report?.(outcome);
        const refusal = refusalOf(outcome);
        return respond(refusal.status, refusalHeaders(refusal.challenge, refusal.dpopNonce), refusal.body);
      }
      const { rawPath, query } = requestTarget(req);
      if (outcome.path !== rawPath) {
        // Express routes `baseUrl + url`: hand back the canonical path under the same prefix.
        const base = typeof req.baseUrl === "string" ? req.baseUrl : "";
        if (base !== "" && outcome.path !== base && !outcome.path.startsWith(`${base}/`)) {
          const { status, headers, body } = errorResponse({ code: "malformed_request", message: "request path is not in canonical form" });
          return respond(status, headers, body);
        }
        req.url = (outcome.path.slice(base.length) || "/") + query;
      }
      editNodeHeaders(req, outcome.edits);
      req[key] = outcome.verified;
      next();
    }, next);
  };
}
