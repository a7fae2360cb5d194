// The Validator: one policy in the core, a bounded cache of verified tokens, the revocation
// store and the remote JWKS driven for it, and the gateway's decision for a request.

import * as core from "#glue";

import { hostVerifiers, VerifyBuffers, VERIFIED } from "./abi.mjs";
import { configJson, jsonArg, nowOf } from "./args.mjs";
import { callCore, EdgeJwtError, failure, fromCore } from "./errors.mjs";
import { jwksFetcher } from "./jwks.mjs";
import { ensureReady, hostSignatureCheck } from "./loader.mjs";
import { clientCertificate, headerPairs, requestHeaders, requestTarget, requestUri } from "./request.mjs";
import { storeAdapter } from "./stores/adapter.mjs";
import { setPolicyCacheTtl } from "./stores/kv.mjs";
import { markRefused, Verified } from "./verified.mjs";

function deepFreeze(value) {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Own keys only (for…in would reach whatever a polluted prototype makes enumerable);
    // members that are not objects are skipped here rather than by a call each.
    for (const key of Object.keys(value)) {
      const member = value[key];
      if (member !== null && typeof member === "object") deepFreeze(member);
    }
  }
  return value;
}

/** The route of a plan array from `start`: `index | -1, mode, scopes` (see gatewayPlan). */
function routeOf(array, start) {
  const index = array[start];
  return { index: index < 0 ? null : index, mode: array[start + 1], scopes: array[start + 2] ? array[start + 2].split(" ") : [] };
}

/** What the middlewares need of a decision beyond its public fields: the edits, the refusal. */
const decisions = new WeakMap();

/** The public decision of a plan or conclusion array (see gatewayPlan, gatewayConclude). */
function decision(array, token, planRoute, result) {
  if (array[0] === "pass") {
    const out = { ok: true, verified: result ?? null, route: planRoute ?? routeOf(array, 3), token, path: array[1] };
    out.edits = JSON.parse(array[2]);
    decisions.set(out, { edits: out.edits });
    return out;
  }
  const [, status, code, message, body, challenge, log, dpopNonce] = array;
  const out = { ok: false, ...failure(code, message, status), route: planRoute, token, path: JSON.parse(log).path };
  if (challenge !== undefined) {
    const scope = /scope="([^"]*)"/.exec(challenge);
    if (scope) out.error.scope = scope[1];
  }
  const entry = Verified.entryOf(result);
  if (entry) markRefused(out, entry);
  if (dpopNonce !== undefined) out.dpopNonce = dpopNonce;
  decisions.set(out, { refusal: { status, body, challenge, log, dpopNonce } });
  return out;
}

/** The refusal of a failed decision: `{ status, body, challenge, log, dpopNonce }` as the core shaped it. */
export function refusalOf(outcome) {
  return decisions.get(outcome)?.refusal;
}

export class Validator {
  #core;
  #settings;
  #hasStore;
  #cache;
  #cacheSize;
  /** Whether the policy has a remote JWKS (`jwks_url`). */
  #jwks = false;
  /** Counts the remote key sets that came into force (see `#entry`). */
  #keysEpoch = 0;
  #signatureBackend;
  /** Whether `verify()` checks signatures through WebCrypto (asynchronously). */
  #webCrypto = false;
  /** The core's token input and result buffers. */
  #buffers;
  /** The last header read, by its serial in the core (0: none). */
  #lastHeader = { serial: 0, header: null };
  /** Reads the result of a verification the moment the core has written it (see #checkAsync). */
  #read = (outcome) => (outcome === VERIFIED ? this.#buffers.verified() : this.#buffers.refusal(outcome));

  /**
   * Who checks asymmetric signatures: `"native"` (the host's OpenSSL through node:crypto: Node,
   * Deno, Bun), `"webcrypto"` (the host's WebCrypto, browsers and workerd: in `verify()` and
   * the other asynchronous methods; `verifySync()` uses the core's) or `"wasm"` (the core's
   * jwt-compact). HMAC is always checked in WebAssembly.
   */
  get signatureBackend() {
    return this.#signatureBackend;
  }

  /**
   * `config` is the core's policy config (object or JSON text); a bad one throws `ConfigError`
   * naming the field. `options.store` is a revocation store (a `SnapshotStore`: the edge
   * Worker's revocation set, checked in memory); `options.tokenCache` bounds the
   * cache of verified tokens (default 1000, 0 turns it off); `options.fetch` replaces
   * `globalThis.fetch` for a `jwks_url`; `options.nativeCrypto: false` keeps the asymmetric
   * signature checks in WebAssembly where the host offers its own (node:crypto in Node, Deno
   * and Bun; WebCrypto in browsers and workerd). `options.dpopNonceKey` is the DPoP nonce
   * secret (at least 32 bytes), required by a config with `gateway.dpop.nonce`.
   */
  constructor(config, options = {}) {
    ensureReady();
    const json = configJson(config);
    const { store, tokenCache = 1000, fetch: fetchImpl, nativeCrypto = true, dpopNonceKey } = options ?? {};
    if (dpopNonceKey !== undefined && typeof dpopNonceKey !== "string") throw new TypeError("options.dpopNonceKey must be a string");
    if (!Number.isInteger(tokenCache) || tokenCache < 0 || tokenCache > 1_000_000) {
      throw new TypeError("options.tokenCache must be an integer from 0 to 1000000");
    }
    if (typeof nativeCrypto !== "boolean") throw new TypeError("options.nativeCrypto must be a boolean");
    const settings = { timeoutMs: 1000 };
    const adapter = store === undefined || store === null ? undefined : storeAdapter(store, settings);
    this.#core = callCore(() => new core.CoreValidator(json, adapter, tokenCache, dpopNonceKey));
    this.#settings = Object.freeze(JSON.parse(this.#core.settings()));
    this.#buffers = new VerifyBuffers(this.#core);
    const host = nativeCrypto ? hostSignatureCheck() : null;
    if (host?.kind === "native") this.#core.setHostCrypto(hostVerifiers(host.prepare));
    if (host?.kind === "webcrypto") this.#core.setWebCrypto(host.prepare);
    this.#webCrypto = host?.kind === "webcrypto";
    this.#signatureBackend = host?.kind ?? "wasm";
    settings.timeoutMs = this.#settings.revocation.timeoutMs;
    setPolicyCacheTtl(store, this.#settings.revocation.kvCacheTtl);
    this.#hasStore = adapter !== undefined;
    this.#cacheSize = tokenCache;
    this.#cache = tokenCache > 0 ? new Map() : null;
    if (this.#settings.jwks) {
      this.#core.setJwksFetch(jwksFetcher(fetchImpl));
      this.#jwks = true;
    }
  }

  /** The policy settings hosts use (algorithms, leeway, cookie, revocation cache and timeout). */
  get settings() {
    return this.#settings;
  }

  /** Whether revocation is checked (a store was given). */
  get hasStore() {
    return this.#hasStore;
  }

  /** A verification this validator already holds: the cached entry when it still stands. */
  #cached(token, now) {
    const hit = this.#cache?.get(token);
    if (hit === undefined) return undefined;
    if (this.#core.recheck(hit.id, now)) return hit;
    this.#cache.delete(token);
    return undefined;
  }

  /** Signature, claims and track, from the cache when the token was verified before. */
  #check(token, now) {
    if (typeof token !== "string") return failure("malformed", "the token must be a string");
    const hit = this.#cached(token, now);
    if (hit !== undefined) return hit;
    const known = this.#lastHeader;
    const outcome = this.#core.verifyInput(this.#buffers.writeToken(token), now, known.serial);
    return this.#entry(token, this.#read(outcome), known);
  }

  /**
   * `#check` with the signature checked through WebCrypto where this validator uses it: the
   * entry, or a promise of it when the core had to wait for WebCrypto. The core hands the
   * result to `#read` the moment it is written, before any other verification can overwrite
   * it; `known`, the header held when this one started, stands for a header the core left out
   * (others may have replaced `#lastHeader` meanwhile).
   */
  #checkAsync(token, now) {
    if (!this.#webCrypto) return this.#check(token, now);
    if (typeof token !== "string") return failure("malformed", "the token must be a string");
    const hit = this.#cached(token, now);
    if (hit !== undefined) return hit;
    const known = this.#lastHeader;
    // A refresh that lands while WebCrypto works may drop the key this verdict rests on: such a
    // verdict answers its own request but is not cached.
    const epoch = this.#keysEpoch;
    const outcome = this.#core.verifyInputAsync(this.#buffers.writeToken(token), now, known.serial, this.#read);
    if (typeof outcome === "number") return this.#entry(token, this.#read(outcome), known);
    return outcome.then((result) => this.#entry(token, result, known, epoch));
  }

  /**
   * The entry of a verification's result as `#read` took it (a refusal as it is); cached unless
   * the remote keys changed since `epoch` (when the verification started).
   */
  #entry(token, result, known, epoch = this.#keysEpoch) {
    if (result.ok === false) return result;
    const { id, ttlCeiling, headerSerial, claimsText, headerText, track } = result;
    const claims = deepFreeze(JSON.parse(claimsText));
    // The core leaves the header's text out when it is the one this side holds (by serial):
    // one JSON.parse and one freeze less per token of the same issuer and key.
    let header = known.header;
    if (headerText !== null) {
      header = deepFreeze(JSON.parse(headerText));
      this.#lastHeader = { serial: headerSerial, header };
    }
    const cache = this.#cache;
    const entry = {
      ok: true,
      id,
      claims,
      header,
      track,
      ttlCeiling,
      identity: null, // computed on first use (identityHeaders)
    };
    if (cache && epoch === this.#keysEpoch) {
      if (cache.size >= this.#cacheSize) cache.delete(cache.keys().next().value);
      cache.set(token, entry);
    }
    return entry;
  }

  /**
   * Verifies a token at `options.now` (seconds or a Date; default: now), including revocation
   * when a store is configured. Resolves `{ ok: true, claims, header, track, ttlCeiling }` or
   * `{ ok: false, error: { code, message, status } }`; never rejects for a bad token.
   */
  verify(token, options) {
    let now;
    try {
      now = nowOf(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#verify(token, now);
  }

  /**
   * The full check in the Worker's order: token (signature, claims, track), the route's own
   * checks when `route` is given (decided now, reported after revocation), then revocation.
   */
  /** Refreshes the remote JWKS through the core; a new set voids the verified-token cache. */
  async #refreshJwks(now) {
    if (await this.#core.jwksRefresh(now)) {
      this.#keysEpoch++;
      this.#cache?.clear();
    }
  }

  /** The full check in the Worker's order: token (signature, claims, track), then revocation. */
  async #verify(token, now) {
    if (this.#jwks && this.#core.jwksNeedsRefresh()) await this.#refreshJwks(now);
    // Awaited only when it is a promise (a WebCrypto check): a token answered at once costs
    // no extra turn of the event loop.
    let entry = this.#checkAsync(token, now);
    if (entry instanceof Promise) entry = await entry;
    if (entry.refetch) {
      await this.#refreshJwks(now);
      entry = await this.#checkAsync(token, now);
      if (entry.refetch) entry = { ok: false, error: entry.error };
    }
    if (!entry.ok) return entry;
    let refusal;
    if (this.#hasStore) {
      let refused;
      try {
        refused = this.#core.revocationStatus(entry.id, now);
        if (refused === null) {
          // The cached entry was replaced meanwhile: verify again (same answer, fresh id).
          // Synchronously (the core's own signature check where WebCrypto would be awaited):
          // an await here would let other verifications replace the new entry too.
          this.#cache?.delete(token);
          entry = this.#check(token, now);
          if (!entry.ok) return entry;
          refused = this.#core.revocationStatus(entry.id, now);
          if (refused === null) throw new Error("a fresh entry is never stale");
        }
        // Usually answered at once (from the revocation cache, a MemoryStore, or a fresh
        // snapshot of a SnapshotStore); a read from any other store makes it a promise.
        if (refused instanceof Promise) refused = await refused;
      } catch {
        // Never expected; if it happens the answer is still "cannot tell": fail closed.
        refused = { code: "revocation_unavailable", message: "revocation status could not be checked" };
      }
      if (refused) refusal = refused;
    }
    if (refusal) {
      const result = failure(refusal.code, refusal.message, refusal.status);
      markRefused(result, entry);
      return result;
    }
    return new Verified(entry);
  }

  /**
   * The synchronous form of `verify` for validators without a store (throws a TypeError when a
   * store is configured: revocation needs a read).
   */
  verifySync(token, options) {
    if (this.#hasStore) throw new TypeError("verifySync() cannot check revocation: use await verify() with a store");
    if (this.#jwks) throw new TypeError("verifySync() cannot fetch the remote JWKS: use await verify() with jwks_url");
    const entry = this.#check(token, nowOf(options));
    return entry.ok ? new Verified(entry) : entry;
  }

  /** `verify`, throwing `EdgeJwtError` (with `.code` and `.status`) instead of `{ ok: false }`. */
  async verifyOrThrow(token, options) {
    const result = await this.verify(token, options);
    if (!result.ok) throw new EdgeJwtError(result.error.code, result.error.message, result.error.status);
    return result;
  }

  /**
   * Finds the request's token (`Authorization: Bearer …`, else the policy's `gateway.cookie`)
   * and verifies it like the Worker: no token is `missing_token`, an empty bearer `malformed`.
   * Takes a Fetch Request, a Headers, a Node request or `{ authorization, cookie }`. Routes are
   * not consulted (see `checkRequest`).
   */
  async verifyRequest(request, options) {
    const now = nowOf(options);
    const found = this.#requestToken(request);
    if (!found.ok) return found;
    return this.#verify(found.token, now);
  }

  /**
   * What the Worker's gateway decides for a request — the core's one decision (`gateway::
   * decision`), with this validator's verification and revocation in between: `{ ok: true,
   * verified, route, token, path, edits }` with `verified` null for a `disabled` route or an
   * anonymous request on an `optional` one, or `{ ok: false, error, route, token, path }`
   * (400 `malformed_request`, 401, 403 `insufficient_scope` / `track_not_allowed`, 503).
   * `path` is the canonical path the decision was made on (the path to route and forward) and
   * `edits` the header edits (`{ remove, set }`) the Worker makes before forwarding. Method and
   * path come from the request (a Fetch Request or a Node request) or `options.method` /
   * `options.path`; `options.caseInsensitive` matches route literals ignoring case, for a
   * framework that routes so (Express by default). Sender-constrained tokens (DPoP, RFC 9449;
   * certificate-bound, RFC 8705) are checked here too: `options.uri` is the absolute request
   * URI a proof's `htu` must name (default: a Fetch Request's `url`, or a Node request's
   * `options.origin` — else its scheme and `Host` — and `originalUrl`), and
   * `options.clientCertificate` (`{ presented, verified, der }`) the TLS client certificate
   * (default: a Node request's TLS socket's, when it has one).
   */
  async checkRequest(request, options) {
    const now = nowOf(options);
    const { method, path: rawPath } = requestTarget(request, options);
    const foldCase = options?.caseInsensitive === true;
    const headers = JSON.stringify(headerPairs(request));
    const plan = this.#core.gatewayPlan(method, rawPath, headers, foldCase);
    if (plan[0] !== "verify") return decision(plan, undefined, null, undefined);
    const token = plan[2];
    const result = await this.#verify(token, now);
    const entry = Verified.entryOf(result);
    const error = result.ok ? undefined : result.error;
    // The plan's path, token and route index: the core does not plan the request again.
    const uri = requestUri(request, options);
    const certificate = options?.clientCertificate ?? clientCertificate(request);
    const concluded = this.#core.gatewayConclude(headers, plan[1], token, plan[3], entry?.id, error, now, method, uri, certificate);
    return decision(concluded, token, routeOf(plan, 3), result);
  }

  /**
   * The header edits the gateway makes for a passed request (`checkRequest`'s `ok` outcome
   * carries them as `edits`): `{ remove: [names], set: [[name, value]] }`.
   */
  headerEdits(outcome) {
    const edits = decisions.get(outcome)?.edits;
    if (!edits) throw new TypeError("headerEdits() takes a passed outcome of checkRequest()");
    return edits;
  }

  #requestToken(request) {
    const { authorization, cookie } = requestHeaders(request);
    try {
      return { ok: true, token: this.#core.bearer(authorization, cookie) };
    } catch (error) {
      const e = fromCore(error);
      if (e instanceof EdgeJwtError) return failure(e.code, e.message, e.status);
      throw e;
    }
  }

  /**
   * Revokes through the store: `{ jti, exp?, reason?, sub? }`, `{ sub, before? }` (default now)
   * or `{ before }` (every token issued before). Same key layout and entry lifetimes as the
   * Worker; this validator's cache learns it at once. With a `SnapshotStore` the edge applies
   * it (`POST /v1/revoke`) and this validator enforces it at once, before the snapshot that
   * carries it arrives. Resolves with the request as written.
   */
  async revoke(request, options) {
    const now = nowOf(options);
    const json = jsonArg(request, "revoke() request");
    try {
      return JSON.parse(await this.#core.revoke(json, now));
    } catch (error) {
      throw fromCore(error);
    }
  }

  /**
   * Revokes a presented token by its `jti` (logout). Throws the verification error for a token
   * that does not verify, `missing_claim` for one without `jti`.
   */
  async revokeToken(token, options) {
    if (typeof token !== "string") throw new EdgeJwtError("malformed", "the token must be a string", 401);
    const now = nowOf(options);
    const reason = options?.reason ?? "logout";
    try {
      return JSON.parse(await this.#core.revokeToken(token, String(reason), now));
    } catch (error) {
      throw fromCore(error);
    }
  }

  /** UNVERIFIED decode under this policy's tracks (see the top-level `inspect`). */
  inspect(token, options) {
    if (typeof token !== "string") throw new EdgeJwtError("malformed", "the token must be a string", 401);
    const now = nowOf(options);
    return JSON.parse(callCore(() => this.#core.inspect(token, now)));
  }

  /** The policy's public keys as a JWKS (`{ keys: [] }` when it holds only secrets). */
  publicJwks() {
    return JSON.parse(this.#core.publicJwks());
  }

  /**
   * Counters: revocation store reads, verified tokens cached, remote JWKS fetches (and, per
   * remote set, `jwksSets`: `[{ url, issuer, fetched_at, fetches, last_error }]`); with a
   * `SnapshotStore`, `snapshot` is the view of the edge's revocation set (`epoch`,
   * `published_at`, `age_s`, `loads`, `refused`, `reads`, `exact_lookups`, `pending_writes`, …),
   * else null; `signatures`: `{ host, wasm }`, the signatures checked so far by the host's
   * crypto (node:crypto or WebCrypto) and by the core's jwt-compact (HMAC, and every signature
   * without host crypto).
   */
  stats(options) {
    const view = this.#core.snapshotView(nowOf(options));
    const [host, wasm] = this.#core.signatureCounts();
    return {
      storeReads: this.#core.storeReads(),
      cachedTokens: this.#cache?.size ?? 0,
      jwksFetches: this.#core.jwksFetches(),
      jwksLastError: this.#core.jwksLastError() ?? null,
      jwksSets: JSON.parse(this.#core.jwksSets()),
      snapshot: view === undefined ? null : JSON.parse(view),
      signatures: { host, wasm },
    };
  }
}
