// The public API of the edge-jwt npm package, over the Rust core compiled to wasm (src/wasm.rs).
// Every decision about a token — parsing, keys, signatures, claims, tracks, revocation, the
// RFC 6750 responses — is the core's; this file moves values across the boundary, keeps a
// bounded cache of verified tokens, adapts revocation stores, and shapes results for JS.
//
// Each host entry (src/entries/*.mjs) installs its loader (src/loader.mjs) and re-exports this
// module; the wasm instance is created once, lazily, on first use (or by `await init()`).

import * as core from "#glue";

import { ensureReady, hostSignatureCheck } from "./loader.mjs";

export { init } from "./loader.mjs";

// ---------------------------------------------------------------------------------------------
// Errors

/** A rejection or failure with one of the core's stable codes (`expired`, `revoked`, …). */
export class EdgeJwtError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = "EdgeJwtError";
    this.code = code;
    this.status = status ?? statusOf(code);
  }
}

/** An invalid configuration, key or argument to the core; the message names the field path. */
export class ConfigError extends EdgeJwtError {
  constructor(message) {
    super("config_error", message, 500);
    this.name = "ConfigError";
  }
}

let codeTable = null;
function codes() {
  if (!codeTable) {
    ensureReady();
    codeTable = Object.freeze(
      JSON.parse(core.errorCodes()).map(([code, status]) => Object.freeze({ code, status })),
    );
  }
  return codeTable;
}

function statusOf(code) {
  try {
    return codes().find((c) => c.code === code)?.status ?? 500;
  } catch {
    return 500;
  }
}

/** Every error code of the core with its HTTP status, in documentation order. */
export function errorCodes() {
  return codes();
}

/** Errors thrown by the wasm side carry `code` and `status`; JS TypeErrors pass through. */
function fromCore(error) {
  if (error instanceof EdgeJwtError || !error || typeof error.code !== "string") return error;
  if (error.code === "config_error") return new ConfigError(error.message);
  return new EdgeJwtError(error.code, error.message, error.status);
}

function callCore(fn) {
  try {
    return fn();
  } catch (error) {
    throw fromCore(error);
  }
}

function failure(code, message, status) {
  return { ok: false, error: { code, message, status: status ?? statusOf(code) } };
}

// ---------------------------------------------------------------------------------------------
// Arguments

function checkConfigObject(config) {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError("the config must be an object (or its JSON text)");
  }
  return config;
}

/** The `tracks` section of a config (object or JSON text), for `inspect`. */
function configTracks(config) {
  if (typeof config !== "string") return checkConfigObject(config).tracks;
  let parsed;
  try {
    parsed = JSON.parse(config);
  } catch (error) {
    throw new ConfigError(`the config is not valid JSON: ${error.message}`);
  }
  return checkConfigObject(parsed).tracks;
}

function configJson(config) {
  if (typeof config === "string") return config;
  checkConfigObject(config);
  try {
    return JSON.stringify(config);
  } catch (error) {
    throw new ConfigError(`the config cannot be written as JSON: ${error.message}`);
  }
}

function jsonArg(value, what) {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") throw new TypeError(`${what} must be an object or its JSON text`);
  return JSON.stringify(value);
}

/** `now` in seconds since the epoch: a number, a Date, or (default) the current time. */
function nowOf(options) {
  const now = options?.now;
  if (now === undefined || now === null) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  if (typeof now === "number" && Number.isFinite(now) && now >= 0) return Math.floor(now);
  throw new TypeError("options.now must be seconds since the epoch (a non-negative number) or a Date");
}

const UNITS = { s: 1, sec: 1, secs: 1, m: 60, min: 60, mins: 60, h: 3600, hr: 3600, hrs: 3600, d: 86400, day: 86400, days: 86400 };

/** A lifetime: seconds, or a string such as `"30m"`, `"1h30m"`, `"90s"`, `"2d"`. */
function ttlSeconds(ttl) {
  if (ttl === undefined || ttl === null) return undefined;
  if (typeof ttl === "number" && Number.isInteger(ttl) && ttl > 0) return ttl;
  if (typeof ttl === "string") {
    const parts = [...ttl.trim().matchAll(/(\d+)\s*([a-z]+)\s*/gy)];
    const consumed = parts.reduce((n, m) => n + m[0].length, 0);
    if (parts.length > 0 && consumed === ttl.trim().length && parts.every((m) => m[2] in UNITS)) {
      const total = parts.reduce((sum, m) => sum + Number(m[1]) * UNITS[m[2]], 0);
      if (total > 0 && Number.isSafeInteger(total)) return total;
    }
  }
  throw new TypeError(`ttl must be a positive number of seconds or a duration such as "30m" or "1h30m" (got ${JSON.stringify(ttl)})`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// CoreValidator.verifyInput's outcomes (VERIFIED etc. in src/wasm.rs).
const VERIFIED = 0;
const REFUSED_REFETCH = 2;
let memory = null;
let memoryBytes = new Uint8Array(0);

/** The wasm module's memory as bytes; growing the memory detaches old views (length 0). */
function wasmBytes() {
  if (memoryBytes.byteLength === 0) memoryBytes = new Uint8Array((memory ??= core.wasmMemory()).buffer);
  return memoryBytes;
}

/** The UTF-8 text of `length` bytes at `at` in wasm memory. */
function textAt(at, length) {
  return decoder.decode(wasmBytes().subarray(at, at + length));
}

/**
 * The core's `prepare(alg, jwk)` for the host's native checks, `(message, signature) →
 * boolean` made by `prepareNative`: the core passes addresses in wasm memory (the message is
 * part of the token it was given, the signature it decoded), so the verifier reads them in
 * place instead of through copies.
 */
function hostVerifiers(prepareNative) {
  return (alg, jwkJson) => {
    const check = prepareNative(alg, jwkJson);
    if (check === undefined) return undefined;
    return {
      verify(messageAt, messageLength, signatureAt, signatureLength) {
        const bytes = wasmBytes();
        return check(bytes.subarray(messageAt, messageAt + messageLength), bytes.subarray(signatureAt, signatureAt + signatureLength));
      },
    };
  };
}

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

// ---------------------------------------------------------------------------------------------
// Revocation stores

const KV_POLICY_CACHE_TTL = Symbol("edge-jwt.kvPolicyCacheTtl");
/** `(store, key)` → a MemoryStore's entry, without the promise of `get` (set by the class). */
let readMemoryNow;

/**
 * An in-process store (tests, single-process gateways). Entries expire after their TTL; the
 * clock (milliseconds) can be replaced for tests.
 */
export class MemoryStore {
  #data = new Map();
  #clock;
  #writes = 0;

  constructor({ clock = Date.now } = {}) {
    this.#clock = clock;
  }

  static {
    readMemoryNow = (store, key) => store.#read(key);
  }

  async get(key) {
    return this.#read(key);
  }

  #read(key) {
    const entry = this.#data.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= this.#clock()) {
      this.#data.delete(key);
      return null;
    }
    return entry.value;
  }

  async put(key, value, ttlSeconds) {
    const now = this.#clock();
    this.#data.set(key, { value: String(value), expiresAt: now + Number(ttlSeconds) * 1000 });
    // Expired entries go on every 1000th write, so the map stays bounded by live entries.
    if (++this.#writes % 1000 === 0) {
      for (const [k, e] of this.#data) if (e.expiresAt <= now) this.#data.delete(k);
    }
  }

  /** Live and not yet swept entries. */
  get size() {
    return this.#data.size;
  }
}

/**
 * A Workers KV namespace binding (the Worker's own `REVOCATIONS` works): reads with `cacheTtl`
 * (the policy's `revocation.kv_cache_ttl_s` unless given), writes with `expirationTtl`.
 */
export class KvStore {
  #kv;

  constructor(namespace, { cacheTtl } = {}) {
    if (!namespace || typeof namespace.get !== "function" || typeof namespace.put !== "function") {
      throw new TypeError("KvStore needs a Workers KV namespace binding (with get and put)");
    }
    if (cacheTtl !== undefined && !(Number.isInteger(cacheTtl) && (cacheTtl === 0 || cacheTtl >= 60))) {
      throw new TypeError("KvStore cacheTtl must be 0 or at least 60 (Workers KV's minimum)");
    }
    this.#kv = namespace;
    this.cacheTtl = cacheTtl;
  }

  get(key) {
    const cacheTtl = this.cacheTtl ?? this[KV_POLICY_CACHE_TTL] ?? 60;
    return cacheTtl > 0 ? this.#kv.get(key, { cacheTtl }) : this.#kv.get(key);
  }

  put(key, value, ttlSeconds) {
    return this.#kv.put(key, value, { expirationTtl: Math.max(60, Math.ceil(ttlSeconds)) });
  }
}

function redisKind(client, kind) {
  if (kind === "ioredis" || kind === "node-redis") return kind;
  if (kind !== undefined) throw new TypeError('RedisStore kind must be "ioredis" or "node-redis"');
  // node-redis (v4 and later) clients expose isOpen and sendCommand(string[]); ioredis clients
  // expose call(command, ...args) and a status string.
  if (typeof client.isOpen === "boolean" && typeof client.sendCommand === "function") return "node-redis";
  if (typeof client.call === "function" && typeof client.status === "string") return "ioredis";
  throw new TypeError("RedisStore needs a node-redis (v4+) or an ioredis client");
}

/**
 * Redis through a node-redis (v4 and later) or ioredis client: `GET key` and
 * `SET key value EX ttl`. Keys are the Worker's (`jti:…`, `sub:…`, `global`) after `prefix`.
 */
export class RedisStore {
  #client;
  #prefix;
  #kind;

  constructor(client, { prefix = "", kind } = {}) {
    if (!client || typeof client !== "object") throw new TypeError("RedisStore needs a Redis client");
    this.#kind = redisKind(client, kind);
    this.#client = client;
    this.#prefix = String(prefix);
  }

  async get(key) {
    const k = this.#prefix + key;
    const value =
      this.#kind === "node-redis" ? await this.#client.sendCommand(["GET", k]) : await this.#client.get(k);
    return value === null || value === undefined ? null : String(value);
  }

  async put(key, value, ttlSeconds) {
    const k = this.#prefix + key;
    const ttl = String(Math.max(1, Math.ceil(ttlSeconds)));
    if (this.#kind === "node-redis") await this.#client.sendCommand(["SET", k, value, "EX", ttl]);
    else await this.#client.set(k, value, "EX", ttl);
  }
}

/** Wraps a store so that a read or write slower than the policy's `timeout_ms` fails (closed). */
function storeAdapter(store, settings) {
  if (typeof store.get !== "function" || typeof store.put !== "function") {
    throw new TypeError("a revocation store needs get(key) and put(key, value, ttlSeconds) methods");
  }
  // In-process and never slow: no timer per read, and reads answered at once (the core takes a
  // string or null without awaiting it). A subclass with its own `get` is read through it.
  if (store instanceof MemoryStore) {
    if (store.get !== MemoryStore.prototype.get) return store;
    return { get: (key) => readMemoryNow(store, key), put: (key, value, ttl) => store.put(key, value, ttl) };
  }
  const bounded = (what, run) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`revocation store ${what} timed out`)),
        settings.timeoutMs,
      );
      try {
        Promise.resolve(run()).then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (error) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      } catch (error) {
        clearTimeout(timer);
        reject(error);
      }
    });
  return {
    get: (key) => bounded("read", () => store.get(key)),
    put: (key, value, ttl) => bounded("write", () => store.put(key, value, ttl)),
  };
}

// ---------------------------------------------------------------------------------------------
// Validator

/**
 * A successful verification: `{ ok: true, claims, header, track, ttlCeiling }`. `claims` and
 * `header` are frozen (a repeated token shares them). The private entry keeps what the
 * middleware needs (identity headers, the cache id) out of sight.
 */
class Verified {
  #entry;

  constructor(entry) {
    this.ok = true;
    this.claims = entry.claims;
    this.header = entry.header;
    this.track = entry.track;
    this.ttlCeiling = entry.ttlCeiling;
    this.#entry = entry;
  }

  static entryOf(value) {
    if (value === null || typeof value !== "object") return undefined;
    return #entry in value ? value.#entry : refusedAfterVerification.get(value);
  }
}

/** Failed results of authentic tokens refused by revocation, for the log line's track and jti. */
const refusedAfterVerification = new WeakMap();

function headerValue(source, name) {
  if (!source) return undefined;
  // A Headers (Fetch API) or a plain / Node headers object (lower-case names, arrays allowed).
  const value = typeof source.get === "function" ? source.get(name) : source[name];
  if (Array.isArray(value)) return name === "cookie" ? value.filter((v) => typeof v === "string").join("; ") : value[0];
  return typeof value === "string" ? value : undefined;
}

/** Authorization and Cookie headers of a Fetch Request, a Headers, a Node request or a plain object. */
function requestHeaders(request) {
  if (!request || typeof request !== "object") throw new TypeError("verifyRequest() needs a request or its headers");
  const headers = request.headers && typeof request.headers === "object" ? request.headers : request;
  const authorization = headerValue(headers, "authorization");
  return {
    authorization: typeof authorization === "string" ? authorization : undefined,
    cookie: headerValue(headers, "cookie"),
  };
}

/**
 * Method, path and query of a Fetch Request or a Node request, as the framework will route
 * them: a Fetch Request's URL is already parsed (dot segments resolved, as Hono and the Worker
 * see it); a Node request's target is taken raw (Express routes `req.url` as sent, so
 * `/ops/x/../../health` must be decided on as sent and then rewritten, see the middleware).
 */
function requestTarget(request, options) {
  const method = String(options?.method ?? request?.method ?? "GET").toUpperCase();
  if (options?.path !== undefined) return { method, path: String(options.path), query: "" };
  const url = request?.originalUrl ?? request?.url;
  if (typeof url !== "string") {
    throw new TypeError("checkRequest() needs a request with a url, or options.path");
  }
  const fetchRequest = typeof Request === "function" && request instanceof Request;
  if (!fetchRequest && url.startsWith("/")) {
    const end = url.search(/[?#]/);
    return { method, path: end < 0 ? url : url.slice(0, end), query: end < 0 ? "" : url.slice(end).split("#")[0] };
  }
  try {
    const parsed = new URL(url);
    return { method, path: parsed.pathname, query: parsed.search };
  } catch {
    return { method, path: url.split(/[?#]/)[0], query: "" };
  }
}

/** Largest JWKS document accepted (real ones are a few KiB): the core's `jwks::MAX_DOCUMENT_BYTES`. */
const MAX_JWKS_BYTES = 256 * 1024;

/**
 * A JWKS response's body as text, as the Worker reads it: a `Content-Length` over
 * `MAX_JWKS_BYTES` fails before reading, and the stream is cancelled as soon as more than that
 * has arrived (whatever the headers said).
 */
async function readJwksBody(response) {
  const declared = response.headers.get("content-length");
  if (declared !== null && /^\s*\d+\s*$/.test(declared) && Number(declared) > MAX_JWKS_BYTES) {
    response.body?.cancel().catch(() => {});
    throw new Error(`document too large (Content-Length ${declared.trim()} > ${MAX_JWKS_BYTES} bytes)`);
  }
  // A non-standard response without a body stream (a custom options.fetch): its text, measured.
  if (!response.body) {
    const text = await response.text();
    if (new TextEncoder().encode(text).length > MAX_JWKS_BYTES) throw new Error(`document too large (more than ${MAX_JWKS_BYTES} bytes)`);
    return text;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_JWKS_BYTES) {
      reader.cancel().catch(() => {});
      throw new Error(`document too large (more than ${MAX_JWKS_BYTES} bytes)`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

export class Validator {
  #core;
  #settings;
  #hasStore;
  #cache;
  #cacheSize;
  #jwks = null;
  #fetch;
  #refreshing = null;
  #jwksStats = { fetches: 0, lastError: null };
  #signatureBackend;
  /** The core's token buffer ([address, length] in wasm memory) and a view of it. */
  #inputAt;
  #inputLength;
  #input = new Uint8Array(0);
  /** The core's result numbers (see `#check`) and their address in wasm memory. */
  #results = new Float64Array(0);
  #resultsAt;
  #resultsCount;
  /** The last header read, by its serial in the core (0: none). */
  #lastHeader = { serial: 0, header: null };

  /**
   * Who checks asymmetric signatures: `"native"` (the host's OpenSSL through node:crypto) or
   * `"wasm"` (the core's jwt-compact). HMAC is always checked in WebAssembly.
   */
  get signatureBackend() {
    return this.#signatureBackend;
  }

  /**
   * `config` is the core's policy config (object or JSON text); a bad one throws `ConfigError`
   * naming the field. `options.store` is a revocation store; `options.tokenCache` bounds the
   * cache of verified tokens (default 1000, 0 turns it off); `options.fetch` replaces
   * `globalThis.fetch` for a `jwks_url`; `options.nativeCrypto: false` keeps the asymmetric
   * signature checks in WebAssembly where the host offers native ones (Node, Deno, Bun).
   */
  constructor(config, options = {}) {
    ensureReady();
    const json = configJson(config);
    const { store, tokenCache = 1000, fetch: fetchImpl, nativeCrypto = true } = options ?? {};
    if (!Number.isInteger(tokenCache) || tokenCache < 0 || tokenCache > 1_000_000) {
      throw new TypeError("options.tokenCache must be an integer from 0 to 1000000");
    }
    if (typeof nativeCrypto !== "boolean") throw new TypeError("options.nativeCrypto must be a boolean");
    const settings = { timeoutMs: 1000 };
    const adapter = store === undefined || store === null ? undefined : storeAdapter(store, settings);
    this.#core = callCore(() => new core.CoreValidator(json, adapter, tokenCache));
    this.#settings = Object.freeze(JSON.parse(this.#core.settings()));
    [this.#inputAt, this.#inputLength] = this.#core.tokenInput();
    [this.#resultsAt, this.#resultsCount] = this.#core.resultNumbers();
    const native = nativeCrypto ? hostSignatureCheck() : null;
    if (native) this.#core.setHostCrypto(hostVerifiers(native));
    this.#signatureBackend = native ? "native" : "wasm";
    settings.timeoutMs = this.#settings.revocation.timeoutMs;
    if (store instanceof KvStore) store[KV_POLICY_CACHE_TTL] = this.#settings.revocation.kvCacheTtl;
    this.#hasStore = adapter !== undefined;
    this.#cacheSize = tokenCache;
    this.#cache = tokenCache > 0 ? new Map() : null;
    if (this.#settings.jwks) {
      this.#jwks = this.#settings.jwks;
      this.#fetch = fetchImpl ?? globalThis.fetch;
      if (typeof this.#fetch !== "function") throw new TypeError("jwks_url needs fetch(): pass options.fetch in this host");
    }
  }

  /**
   * The remote JWKS (`jwks_url`), as the Worker drives it: fetched when the core says it is due
   * (the request that finds it due waits for it; others wait only while no set is held at all),
   * one fetch at a time; an unknown kid may trigger one refetch per `jwks.refetch_interval_s`.
   */
  async #ensureKeys(now) {
    if (this.#refreshing) {
      if (!this.#core.jwksHasKeys()) await this.#refreshing;
      return;
    }
    if (this.#core.jwksNeedsRefresh(now)) await this.#refresh(now);
  }

  #refresh(now) {
    if (!this.#refreshing) {
      this.#refreshing = this.#fetchJwks(now).finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  async #fetchJwks(now) {
    this.#core.jwksFetchStarted(now);
    this.#jwksStats.fetches++;
    const { url, timeoutMs } = this.#jwks;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      // Redirects are not followed: the set comes from jwks_url itself or not at all.
      const response = await this.#fetch(url, { headers: { accept: "application/json" }, redirect: "manual", signal: controller.signal });
      if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400) || response.redirected) {
        response.body?.cancel().catch(() => {});
        throw new Error(`HTTP ${response.status || "redirect"}: redirect not followed (jwks_url must serve the set itself)`);
      }
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      const body = await readJwksBody(response);
      this.#core.jwksAccept(body, response.headers.get("cache-control") ?? undefined, now);
      // A new set may have dropped a key: tokens verified with it must be verified again.
      this.#cache?.clear();
      this.#jwksStats.lastError = null;
    } catch (error) {
      this.#jwksStats.lastError = controller.signal.aborted ? "timed out" : String(error?.message ?? error);
    } finally {
      clearTimeout(timer);
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

  /**
   * Writes `token` into the core's token buffer with one native copy (see `TokenInput` in
   * src/wasm.rs) and returns its length in bytes; a token too long for the buffer is cut there
   * and the core answers `too_large`.
   */
  #writeToken(token) {
    if (this.#input.byteLength === 0) this.#input = wasmBytes().subarray(this.#inputAt, this.#inputAt + this.#inputLength);
    return encoder.encodeInto(token, this.#input).written;
  }

  #resultNumbers() {
    if (this.#results.byteLength === 0) this.#results = new Float64Array(wasmBytes().buffer, this.#resultsAt, this.#resultsCount);
    return this.#results;
  }

  /** Signature, claims and track, from the cache when the token was verified before. */
  #check(token, now) {
    if (typeof token !== "string") return failure("malformed", "the token must be a string");
    const cache = this.#cache;
    if (cache) {
      const hit = cache.get(token);
      if (hit !== undefined) {
        if (this.#core.recheck(hit.id, now)) return hit;
        cache.delete(token);
      }
    }
    const outcome = this.#core.verifyInput(this.#writeToken(token), now, this.#lastHeader.serial);
    // The core's VerifyResult (src/wasm.rs): numbers, then texts at numbers[2]. Every text is
    // read before any JSON.parse, so nothing can run in between and reuse the core's buffer.
    const numbers = this.#resultNumbers();
    let at = numbers[2];
    if (outcome !== VERIFIED) {
      const error = JSON.parse(textAt(at, numbers[3])); // refused: the error's text
      return outcome === REFUSED_REFETCH ? { ok: false, error, refetch: true } : { ok: false, error };
    }
    // Indexed reads: destructuring a typed array goes through its iterator (3× slower here).
    const id = numbers[0];
    const ttlCeiling = numbers[1];
    const claimsLength = numbers[3];
    const headerLength = numbers[4];
    const headerSerial = numbers[5];
    const trackLength = numbers[6];
    const claimsText = textAt(at, claimsLength);
    at += claimsLength;
    // The core leaves the header's text out when it is the one this side holds (by serial):
    // one JSON.parse and one freeze less per token of the same issuer and key.
    const headerText = headerLength >= 0 ? textAt(at, headerLength) : null;
    at += Math.max(headerLength, 0);
    const track = trackLength >= 0 ? textAt(at, trackLength) : null;
    const claims = deepFreeze(JSON.parse(claimsText));
    if (headerText !== null) this.#lastHeader = { serial: headerSerial, header: deepFreeze(JSON.parse(headerText)) };
    const header = this.#lastHeader.header;
    const entry = {
      ok: true,
      id,
      claims,
      header,
      track,
      ttlCeiling,
      identity: null, // computed on first use (identityHeaders)
    };
    if (cache) {
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
  async #verify(token, now, route) {
    if (this.#jwks) await this.#ensureKeys(now);
    let entry = this.#check(token, now);
    if (entry.refetch) {
      await this.#refresh(now);
      entry = this.#check(token, now);
      if (entry.refetch) entry = { ok: false, error: entry.error };
    }
    if (!entry.ok) return entry;
    let refusal;
    if (route) {
      let verdict = this.#core.authorize(entry.id, route.method, route.path, route.foldCase);
      if (verdict === null) {
        // The cached entry was replaced meanwhile: verify again (same answer, fresh id).
        this.#cache?.delete(token);
        entry = this.#check(token, now);
        if (!entry.ok) return entry;
        verdict = this.#core.authorize(entry.id, route.method, route.path, route.foldCase);
      }
      refusal = verdict ?? undefined;
    }
    if (this.#hasStore) {
      let refused;
      try {
        refused = this.#core.revocationStatus(entry.id, now);
        if (refused === null) {
          // The cached entry was replaced meanwhile: verify again (same answer, fresh id).
          this.#cache?.delete(token);
          entry = this.#check(token, now);
          if (!entry.ok) return entry;
          refused = this.#core.revocationStatus(entry.id, now);
        }
        // Usually answered at once (from the revocation cache, or a MemoryStore); a read from
        // any other store makes it a promise.
        if (refused instanceof Promise) refused = await refused;
      } catch {
        // Never expected; if it happens the answer is still "cannot tell": fail closed.
        refused = { code: "revocation_unavailable", message: "revocation status could not be checked" };
      }
      if (refused) refusal = refused;
    }
    if (refusal) {
      const result = failure(refusal.code, refusal.message, refusal.status);
      // A route refusal names the route's scopes for the insufficient_scope challenge.
      if (refusal.scope !== undefined) result.error.scope = refusal.scope;
      refusedAfterVerification.set(result, entry);
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
   * What the Worker's gateway decides for a request, routes included (`routes`,
   * `default_route`): `{ ok: true, verified, route, token, path }` with `verified` null for a
   * `disabled` route or an anonymous request on an `optional` one, or `{ ok: false, error,
   * route, token, path }` (400 `malformed_request`, 401, 403 `insufficient_scope` /
   * `track_not_allowed`, 503). `path` is the canonical path the decision was made on (the
   * path to route and forward). Method and path come from the request (a Fetch Request or a
   * Node request) or `options.method` / `options.path`; `options.caseInsensitive` matches
   * route literals ignoring case, for a framework that routes so (Express by default).
   */
  async checkRequest(request, options) {
    const now = nowOf(options);
    const { method, path: rawPath } = requestTarget(request, options);
    const foldCase = options?.caseInsensitive === true;
    let index, mode, scopes, path;
    try {
      [index, mode, scopes, path] = this.#core.route(method, rawPath, foldCase);
    } catch (error) {
      const e = fromCore(error);
      if (!(e instanceof EdgeJwtError)) throw e;
      return { ...failure(e.code, e.message, e.status), route: null, token: undefined, path: rawPath };
    }
    const route = { index: index < 0 ? null : index, mode, scopes: scopes ? scopes.split(" ") : [] };
    if (mode === "disabled") return { ok: true, verified: null, route, token: undefined, path };
    const found = this.#requestToken(request);
    if (!found.ok) {
      if (mode === "optional" && found.error.code === "missing_token") {
        return { ok: true, verified: null, route, token: undefined, path };
      }
      return { ...found, route, token: undefined, path };
    }
    const result = await this.#verify(found.token, now, { method, path, foldCase });
    if (result.ok) return { ok: true, verified: result, route, token: found.token, path };
    const decision = { ok: false, error: result.error, route, token: found.token, path };
    const entry = refusedAfterVerification.get(result);
    if (entry) refusedAfterVerification.set(decision, entry);
    return decision;
  }

  /**
   * The header edits the gateway makes for a passed request (`checkRequest`'s `ok` outcome):
   * `{ remove: [names], set: [[name, value]] }`: client headers in the `x-edge-jwt-` namespace
   * in any spelling removed, `authorization` and the token cookie removed when
   * `gateway.forward_authorization` is false, the verified identity set.
   */
  headerEdits(request, verified) {
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
    const entry = verified ? Verified.entryOf(verified) : undefined;
    if (verified && !entry) throw new TypeError("headerEdits() takes a successful result of checkRequest()");
    let edits = this.#core.headerEdits(JSON.stringify(pairs), entry?.id);
    if (edits === null) {
      // The cached entry was replaced meanwhile: the identity comes from the claims kept.
      edits = this.#core.headerEdits(JSON.stringify(pairs), undefined);
      const parsed = JSON.parse(edits);
      parsed.set.push(...Object.entries(identityHeaders(verified)));
      return parsed;
    }
    return JSON.parse(edits);
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
   * Worker; this validator's cache learns it at once. Resolves with the request as written.
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
    if (this.#jwks) await this.#ensureKeys(now);
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

  /** Counters: revocation store reads, verified tokens cached, remote JWKS fetches. */
  stats() {
    return {
      storeReads: this.#core.storeReads(),
      cachedTokens: this.#cache?.size ?? 0,
      jwksFetches: this.#jwksStats.fetches,
      jwksLastError: this.#jwksStats.lastError,
    };
  }
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

// ---------------------------------------------------------------------------------------------
// Responses and logs, as the Worker answers

const responses = new Map();

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
    const headers = { "content-type": "application/json", "cache-control": "no-store" };
    if (challenge !== undefined) headers["www-authenticate"] = challenge;
    response = Object.freeze({ status, headers: Object.freeze(headers), body });
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

// ---------------------------------------------------------------------------------------------
// Inspection, minting, keys

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

// ---------------------------------------------------------------------------------------------
// Middleware (exported as `edgeJwt` from edge-jwt/hono and edge-jwt/express)

function validatorOf(validatorOrConfig, options) {
  if (validatorOrConfig instanceof Validator) return validatorOrConfig;
  return new Validator(validatorOrConfig, { store: options?.store, tokenCache: options?.tokenCache });
}

function reporter(options) {
  const log = options?.log;
  if (!log) return null;
  return (result, token, path) => {
    const event = rejectionEvent(result.error, { token, path, result });
    if (typeof log === "function") log(event);
    else console.log(JSON.stringify(event));
  };
}

/**
 * Hono middleware: decides each request like the Worker's gateway (the canonical path, routes,
 * Bearer header or the policy's cookie, revocation through the validator's store) and sets
 * `c.set("edgeJwt", verified)` (null for an anonymous or unchecked request;
 * `options.contextKey` renames it), or answers 400 / 401 / 403 / 503 with the Worker's
 * response. The request the next handlers see carries the Worker's header edits: spoofed
 * `x-edge-jwt-*` headers (any spelling) removed, the verified identity set.
 */
export function honoMiddleware(validatorOrConfig, options = {}) {
  const validator = validatorOf(validatorOrConfig, options);
  const key = options.contextKey ?? "edgeJwt";
  const report = reporter(options);
  return async function edgeJwt(c, next) {
    const outcome = await validator.checkRequest(c.req.raw);
    if (!outcome.ok) {
      report?.(outcome, outcome.token, outcome.path);
      return errorFetchResponse(outcome.error);
    }
    const edits = validator.headerEdits(c.req.raw, outcome.verified);
    if (edits.remove.length > 0 || edits.set.length > 0) {
      const headers = new Headers(c.req.raw.headers);
      for (const name of edits.remove) headers.delete(name);
      for (const [name, value] of edits.set) headers.set(name, value);
      // Hono reads headers through c.req.raw: the next handlers see only the edited set.
      c.req.raw = new Request(c.req.raw, { headers });
    }
    c.set(key, outcome.verified);
    await next();
  };
}

/** Applies header edits to a Node request (`headers` and `rawHeaders`). */
function editNodeHeaders(req, edits) {
  const removed = new Set([...edits.remove, ...edits.set.map(([name]) => name)].map((name) => name.toLowerCase()));
  for (const name of Object.keys(req.headers)) if (removed.has(name.toLowerCase())) delete req.headers[name];
  if (Array.isArray(req.rawHeaders)) {
    const raw = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      if (!removed.has(String(req.rawHeaders[i]).toLowerCase())) raw.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    for (const [name, value] of edits.set) raw.push(name, value);
    req.rawHeaders.splice(0, req.rawHeaders.length, ...raw);
  }
  for (const [name, value] of edits.set) req.headers[name] = value;
}

/**
 * Express (and Connect / node:http) middleware: decides each request like the Worker's gateway
 * and sets `req.edgeJwt` (null for an anonymous or unchecked request; `options.requestKey`
 * renames it), or answers 400 / 401 / 403 / 503 with the Worker's response. Express routes the
 * request target as sent, and ignores case unless the app enables "case sensitive routing":
 * the decision follows both rules, and `req.url` is rewritten to the canonical path it was
 * made on, so the handler that runs is the one the policy authorised. The Worker's header
 * edits apply to `req.headers` (spoofed `x-edge-jwt-*` headers in any spelling removed, the
 * verified identity set).
 */
export function expressMiddleware(validatorOrConfig, options = {}) {
  const validator = validatorOf(validatorOrConfig, options);
  const key = options.requestKey ?? "edgeJwt";
  const report = reporter(options);
  return function edgeJwt(req, res, next) {
    const caseInsensitive = options.caseInsensitive ?? req.app?.get?.("case sensitive routing") !== true;
    const respond = (outcome) => {
      report?.(outcome, outcome.token, outcome.path);
      const { status, headers, body } = errorResponse(outcome.error);
      res.statusCode = status;
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      res.end(body);
    };
    validator.checkRequest(req, { caseInsensitive }).then((outcome) => {
      if (!outcome.ok) return respond(outcome);
      const { path: rawPath, query } = requestTarget(req);
      if (outcome.path !== rawPath) {
        if (req.originalUrl !== undefined && req.originalUrl !== req.url) {
          // Mounted under a prefix: the canonical path cannot be handed back safely.
          return respond({ ...failure("malformed_request", "request path is not in canonical form", 400), token: outcome.token, path: rawPath });
        }
        req.url = outcome.path + query;
        if (req.originalUrl !== undefined) req.originalUrl = req.url;
      }
      editNodeHeaders(req, validator.headerEdits(req, outcome.verified));
      req[key] = outcome.verified;
      next();
    }, next);
  };
}
