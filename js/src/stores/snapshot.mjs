// A read replica of the edge's revocation set: the snapshot the edge-jwt Worker's revocation
// authority publishes, read over the Worker's admin API, checked in memory by the core.

/** Shortest MAC key the core accepts (the Worker's `SNAPSHOT_KEY`, src/revocation/snapshot.rs). */
const MIN_KEY_BYTES = 32;
/** Largest snapshot read (the core's `MAX_SNAPSHOT_BYTES`). */
const MAX_SNAPSHOT_BYTES = 24 << 20;
/** The policy's default `revocation.timeout_ms`, for calls made outside a Validator. */
const DEFAULT_TIMEOUT_MS = 1000;

/** `(store)` → a fresh copy of a store's key (set by the class; the core zeroes it once read). */
let keyCopy;

/** Hosts a plain `http:` URL may name: the admin token must not cross a network in clear. */
function isLoopback(hostname) {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

function baseUrl(url) {
  let parsed;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new TypeError("SnapshotStore url must be the edge-jwt Worker's base URL (https://…)");
  }
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && isLoopback(parsed.hostname))) {
    throw new TypeError("SnapshotStore url must be https (http only for a loopback host): it carries the admin token");
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw new TypeError("SnapshotStore url must be a base URL without credentials, query or fragment");
  }
  return parsed.origin + parsed.pathname.replace(/\/+$/, "");
}

function keyBytes(key) {
  let bytes;
  if (typeof key === "string") bytes = new TextEncoder().encode(key);
  else if (key instanceof Uint8Array) bytes = new Uint8Array(key);
  else if (key instanceof ArrayBuffer) bytes = new Uint8Array(key.slice(0));
  else throw new TypeError("SnapshotStore key must be the Worker's SNAPSHOT_KEY, as a string or bytes");
  // Never the key itself in the message: it is a secret.
  if (bytes.length < MIN_KEY_BYTES) {
    bytes.fill(0);
    throw new TypeError(`SnapshotStore key must be at least ${MIN_KEY_BYTES} bytes (the Worker's SNAPSHOT_KEY)`);
  }
  return bytes;
}

/** Why a call failed, in a line: the HTTP status and the Worker's error code when it gave one. */
async function httpFailure(what, response) {
  let code = "";
  try {
    const body = JSON.parse(await response.text());
    if (typeof body?.code === "string") code = ` ${body.code}`;
    else if (typeof body?.error === "string") code = ` ${body.error}`;
    if (typeof body?.error_description === "string") code += `: ${body.error_description}`;
  } catch {
    // not JSON: the status says enough
  }
  return new Error(`${what} answered HTTP ${response.status}${code}`);
}

/**
 * The revocation set of an edge-jwt Worker with a revocation authority, for a Node (or any
 * other) gateway behind it: `new Validator(config, { store: new SnapshotStore({ url,
 * adminToken, key }) })` checks tokens against the snapshot the edge publishes, read with one
 * conditional GET per `revocation.snapshot_ttl_s`, and enforces exactly the edge's revocations.
 * `url` is the Worker's base URL (https, or http to a loopback host), `adminToken` its
 * `ADMIN_TOKEN` (or a token with `gateway.admin_scope`), `key` its `SNAPSHOT_KEY` (at least 32
 * bytes: a snapshot whose MAC does not verify is never used), `fetch` replaces
 * `globalThis.fetch`. Its methods are the I/O the core's replica asks for; each call is bounded
 * by `timeoutMs` (a Validator passes its policy's `revocation.timeout_ms`) and a non-2xx answer
 * rejects. Revocations (`validator.revoke()`) are applied at the edge (`POST /v1/revoke`).
 */
export class SnapshotStore {
  #base;
  #authorization;
  #key;
  #fetch;
  /** The last snapshot read and its ETag, for conditional GETs. */
  #etag = null;
  #bytes = null;

  constructor({ url, adminToken, key, fetch: fetchImpl } = {}) {
    this.#base = baseUrl(url);
    if (typeof adminToken !== "string" || adminToken.length === 0 || /[\r\n]/.test(adminToken)) {
      throw new TypeError("SnapshotStore adminToken must be the Worker's ADMIN_TOKEN (a non-empty string)");
    }
    this.#authorization = `Bearer ${adminToken}`;
    if (fetchImpl !== undefined && typeof fetchImpl !== "function") {
      throw new TypeError("SnapshotStore fetch must be a function like globalThis.fetch");
    }
    const chosen = fetchImpl ?? globalThis.fetch;
    if (typeof chosen !== "function") throw new TypeError("SnapshotStore needs a fetch function (none is global here)");
    this.#fetch = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
    this.#key = keyBytes(key);
  }

  static {
    keyCopy = (store) => new Uint8Array(store.#key);
  }

  /** The Worker's base URL. */
  get url() {
    return this.#base;
  }

  /**
   * One request to the Worker within `timeoutMs` (answer and body): `read(response)` gives the
   * result; the request is aborted when time runs out.
   */
  async #call(what, path, init, timeoutMs, read) {
    const abort = new AbortController();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new Error(`${what} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const exchange = (async () => {
      const headers = { authorization: this.#authorization, ...init.headers };
      const response = await this.#fetch(this.#base + path, { ...init, headers, redirect: "error", signal: abort.signal });
      return read(response);
    })();
    try {
      return await Promise.race([exchange, timeout]);
    } finally {
      clearTimeout(timer);
      exchange.catch(() => {}); // settled after a timeout: already reported
    }
  }

  /**
   * The published snapshot's bytes (`GET /v1/revocation/snapshot`, conditional on the last
   * ETag: a 304 gives the bytes already held). `fromAuthority` is the replica asking again
   * because the first copy was missing or old: the Worker already serves the freshest copy the
   * edge has (its own view falls back to the authority), so asking again would bring the same
   * bytes and spend a second request per interval; it answers `null` without a request.
   */
  async snapshot(fromAuthority = false, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    if (fromAuthority) return null;
    const what = "GET /v1/revocation/snapshot";
    const held = this.#bytes;
    const etag = this.#etag;
    const headers = { accept: "application/octet-stream" };
    if (held && etag) headers["if-none-match"] = etag;
    return this.#call(what, "/v1/revocation/snapshot", { method: "GET", headers }, timeoutMs, async (response) => {
      if (response.status === 304 && held) {
        await response.body?.cancel();
        return held;
      }
      if (response.status !== 200) throw await httpFailure(what, response);
      const length = Number(response.headers.get("content-length"));
      if (length > MAX_SNAPSHOT_BYTES) {
        await response.body?.cancel();
        throw new Error(`${what}: ${length} bytes is more than a snapshot can be`);
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (bytes.length > MAX_SNAPSHOT_BYTES) throw new Error(`${what}: more bytes than a snapshot can be`);
      this.#bytes = bytes;
      this.#etag = response.headers.get("etag");
      return bytes;
    });
  }

  /**
   * The authority's exact answer for a token (`POST /v1/revocation/check`): `{ jti_revoked,
   * subject_revoked_before, global_revoked_before }`. Asked for a filter hit or a track that
   * allows no staleness.
   */
  async exactStatus({ jti, sub } = {}, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const what = "POST /v1/revocation/check";
    const body = {};
    if (typeof jti === "string" && jti) body.jti = jti;
    if (typeof sub === "string" && sub) body.sub = sub;
    const init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    return this.#call(what, "/v1/revocation/check", init, timeoutMs, async (response) => {
      if (response.status !== 200) throw await httpFailure(what, response);
      return response.json();
    });
  }

  /**
   * Applies a revocation at the edge (`POST /v1/revoke`: `{ jti, exp?, reason?, sub? }`,
   * `{ sub, before? }` or `{ before }`); resolves with the Worker's answer (`{ status, revoked,
   * epoch, published_by, enforced_by }`).
   */
  async revoke(request, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const what = "POST /v1/revoke";
    const body = typeof request === "string" ? request : JSON.stringify(request);
    const init = { method: "POST", headers: { "content-type": "application/json" }, body };
    return this.#call(what, "/v1/revoke", init, timeoutMs, async (response) => {
      if (response.status !== 200) throw await httpFailure(what, response);
      return response.json();
    });
  }
}

/**
 * For a SnapshotStore, what the core reads (src/wasm/replica_host.rs): the key (a copy, zeroed
 * by the core once read) and the store's calls bounded by the policy's `timeout_ms`.
 * `undefined` for any other store.
 */
export function snapshotAdapter(store, settings) {
  if (!(store instanceof SnapshotStore)) return undefined;
  const bound = () => ({ timeoutMs: settings.timeoutMs });
  return {
    key: () => keyCopy(store),
    snapshot: (fromAuthority) => store.snapshot(fromAuthority, bound()),
    exactStatus: (jti, sub) => store.exactStatus({ jti, sub }, bound()),
    // A write crosses the Worker and then its authority, which bounds its own write at four
    // times the timeout (src/worker/authority_client.rs): allowed five.
    revoke: (requestJson) => store.revoke(requestJson, { timeoutMs: settings.timeoutMs * 5 }),
  };
}
