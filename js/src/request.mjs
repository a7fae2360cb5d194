// What the package reads from a request: a Fetch API Request or Headers, a Node request, or a
// plain headers object.

function headerValue(source, name) {
  if (!source) return undefined;
  // A Headers (Fetch API) or a plain / Node headers object (lower-case names, arrays allowed).
  const value = typeof source.get === "function" ? source.get(name) : source[name];
  if (Array.isArray(value)) return name === "cookie" ? value.filter((v) => typeof v === "string").join("; ") : value[0];
  return typeof value === "string" ? value : undefined;
}

/** Authorization and Cookie headers of a Fetch Request, a Headers, a Node request or a plain object. */
export function requestHeaders(request) {
  if (!request || typeof request !== "object") throw new TypeError("verifyRequest() needs a request or its headers");
  const headers = request.headers && typeof request.headers === "object" ? request.headers : request;
  const authorization = headerValue(headers, "authorization");
  return {
    authorization: typeof authorization === "string" ? authorization : undefined,
    cookie: headerValue(headers, "cookie"),
  };
}

/** Every header of a request (or of its headers) as `[name, value]` pairs, repeated names kept. */
export function headerPairs(request) {
  const source = request?.headers && typeof request.headers === "object" ? request.headers : request;
  const pairs = [];
  if (typeof source?.forEach === "function" && typeof source.get === "function") {
    source.forEach((value, name) => pairs.push([name, value]));
  } else {
    for (const [name, value] of Object.entries(source ?? {})) {
      if (Array.isArray(value)) for (const v of value) pairs.push([name, String(v)]);
      else if (value !== undefined) pairs.push([name, String(value)]);
    }
  }
  return pairs;
}

/**
 * Method, path and query of a Fetch Request or a Node request, the path as the Worker's
 * runtime would see it: parsed as a WHATWG URL (dot segments resolved, `\` read as `/`), so
 * that every host decides on the same path. A Node request's target is the one its framework
 * routes now: Express routes `req.baseUrl + req.url` (an earlier middleware may have rewritten
 * `req.url`; `originalUrl` keeps what the client sent). `rawPath` is that target's path as it
 * stands, which Express routes unless the middleware rewrites `req.url` to the canonical path.
 */
export function requestTarget(request, options) {
  const method = String(options?.method ?? request?.method ?? "GET").toUpperCase();
  if (options?.path !== undefined) return { method, path: String(options.path), rawPath: String(options.path), query: "" };
  const fetchRequest = typeof Request === "function" && request instanceof Request;
  const base = !fetchRequest && typeof request?.baseUrl === "string" ? request.baseUrl : "";
  const url = typeof request?.url === "string" ? base + request.url : undefined;
  if (typeof url !== "string") {
    throw new TypeError("checkRequest() needs a request with a url, or options.path");
  }
  const end = url.search(/[?#]/);
  const rawPath = end < 0 ? url : url.slice(0, end);
  try {
    // A Node request's url is the request target ("/a//b?q"): parsed after an origin, so that
    // a leading "//" stays a path.
    const parsed = new URL(url.startsWith("/") ? `http://edge-jwt.invalid${url}` : url);
    return { method, path: parsed.pathname, rawPath, query: parsed.search };
  } catch {
    return { method, path: rawPath, rawPath, query: "" };
  }
}

/**
 * The absolute URI of a request, for a DPoP proof's `htu`: `options.uri` when given; a Fetch
 * Request's `url`; for a Node request, `options.origin` (the public origin, e.g.
 * `https://api.example.com`: set it, or a client chooses the host part of `htu` through `Host`
 * or an absolute-form target) or its own scheme and `Host` header, then `originalUrl` (what
 * the client sent, before any rewrite). `undefined` when it cannot tell.
 */
export function requestUri(request, options) {
  if (typeof options?.uri === "string") return options.uri;
  if (typeof Request === "function" && request instanceof Request) return request.url;
  let target = typeof request?.originalUrl === "string" ? request.originalUrl : request?.url;
  if (typeof target !== "string") return undefined;
  let origin = typeof options?.origin === "string" ? options.origin.replace(/\/+$/, "") : undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    // An absolute-form target (`GET https://other.example/x HTTP/1.1`) names a host of the
    // client's choosing: under a configured origin only its path and query count.
    if (origin === undefined) return target;
    try {
      const parsed = new URL(target);
      target = parsed.pathname + parsed.search;
    } catch {
      return undefined;
    }
  }
  if (origin === undefined) {
    const host = headerValue(request.headers, "host");
    if (typeof host !== "string" || host === "") return undefined;
    const scheme = request.socket?.encrypted ? "https" : "http";
    origin = `${scheme}://${host}`;
  }
  return origin + target;
}

/**
 * What a Node request's TLS socket knows of the client certificate (RFC 8705): `{ presented,
 * verified, der }` (`verified`: `socket.authorized`, the chain checked against the server's
 * `ca`), or `undefined` for a request without a TLS socket.
 */
export function clientCertificate(request) {
  const socket = request?.socket;
  if (!socket || typeof socket.getPeerCertificate !== "function") return undefined;
  let peer;
  try {
    peer = socket.getPeerCertificate();
  } catch {
    return undefined;
  }
  const der = peer?.raw;
  const presented = der instanceof Uint8Array && der.length > 0;
  return { presented, verified: presented && socket.authorized === true, der: presented ? new Uint8Array(der) : undefined };
}
