// Type declarations of the edge-jwt npm package (every host entry has the same API).

/** Every code of the core, with its HTTP status (see `errorCodes()`). */
export type ErrorCode =
  | "malformed"
  | "too_large"
  | "unsupported_header"
  | "alg_not_allowed"
  | "unknown_kid"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "iat_in_future"
  | "bad_issuer"
  | "bad_audience"
  | "missing_claim"
  | "invalid_claim"
  | "ttl_exceeds_track"
  | "unknown_track"
  | "revoked"
  | "revocation_unavailable"
  | "config_error"
  | "missing_token"
  | "insufficient_scope"
  | "track_not_allowed"
  | "jwks_unavailable"
  | "malformed_request"
  | "session_expired"
  | "cross_site_request"
  | "insufficient_role"
  | "claim_mismatch"
  | "invalid_dpop_proof"
  | "use_dpop_nonce"
  | "dpop_required"
  | "dpop_binding_mismatch"
  | "mtls_binding_mismatch"
  | "binding_required"
  | "dpop_replayed"
  | "dpop_replay_unavailable";

export type Algorithm =
  | "HS256"
  | "HS384"
  | "HS512"
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "EdDSA";

/** A JSON Web Key (RFC 7517); private members only where a private key is expected. */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  k?: string;
  d?: string;
  [member: string]: unknown;
}

export interface Jwks {
  keys: Jwk[];
}

/** The policy config, the same schema as the CLI's and the Worker's (README "Policy config"). */
export interface Config {
  /** The allow-list. Required. */
  algorithms: Algorithm[];
  /** HMAC key (its UTF-8 bytes): at least 32 bytes for HS256, 48 for HS384, 64 for HS512. */
  secret?: string;
  /** Verification keys: a list of JWKs or a JWKS. */
  keys?: Jwk[] | Jwks;
  issuer?: string | string[];
  audience?: string | string[];
  /** Clock skew tolerated on exp, nbf, iat (default 30, at most 300). */
  leeway_s?: number;
  /** Default `["exp", "iat", "jti"]`. */
  required_claims?: string[];
  tracks?: TracksConfig;
  /** 256–65536, default 8192. */
  max_token_bytes?: number;
  /** Required `typ` header (case-insensitive, `application/` optional). */
  typ?: string;
  gateway?: {
    /** Also read the token from this cookie. */
    cookie?: string;
    forward_authorization?: boolean;
    admin_scope?: string;
    case_insensitive_routes?: boolean;
    /** Worker: verified tokens kept per isolate (default 4096; 0: off). */
    token_cache_size?: number;
    /** Worker: add Server-Timing to gateway responses. */
    server_timing?: boolean;
    /** Worker with METRICS: one data point per this many accepted requests (default 100). */
    metrics_sample_every?: number;
    /** Where tokens carry their roles: a claim path (dotted or JSON Pointer) or several. */
    roles_claim?: string | string[];
    /** Header name → claim path: claims forwarded as headers (arrays joined with ","). */
    claim_headers?: Record<string, string>;
  };
  /** Ordered route policy for gateways (first match wins; README "Route policy"). */
  routes?: RouteConfig[];
  /** What unmatched requests get (default `required`). */
  default_route?: { mode?: RouteMode };
  /** An identity provider's JWKS (https), fetched with `fetch` (README "Remote JWKS"). */
  jwks_url?: string;
  jwks?: JwksSettings;
  /** Further identity providers, each with its own keys and rules (README "Several issuers"). */
  issuers?: IssuerConfig[];
  revocation?: {
    /** Entries in the revocation cache (1–1 000 000, default 10 000). */
    cache_size?: number;
    /** Seconds an answer is cached (≤ 300, default 30). */
    cache_ttl_s?: number;
    /** Workers KV `cacheTtl` of reads (0 or ≥ 60, default 60). */
    kv_cache_ttl_s?: number;
    /** A slower store read or write fails closed (1–30000, default 1000). */
    timeout_ms?: number;
    /** With a revocation authority: read its snapshot at most this often (1–300, default 20). */
    snapshot_ttl_s?: number;
    /** With a revocation authority: it republishes at least this often (1–3600, default 30). */
    publish_interval_s?: number;
  };
}

export interface JwksSettings {
  min_ttl_s?: number;
  max_ttl_s?: number;
  default_ttl_s?: number;
  refetch_interval_s?: number;
  max_stale_s?: number;
  timeout_ms?: number;
  /** Development only. */
  allow_http?: boolean;
}

/** A claim rule: the claim at a path equals a value, is one of several, or starts with a prefix. */
export type ClaimMatch = { equals: string | number | boolean } | { one_of: (string | number | boolean)[] } | { prefix: string };

/** One identity provider of `issuers`: the token's `iss` selects it, its key verifies the token. */
export interface IssuerConfig {
  /** The exact `iss` of its tokens. */
  issuer: string;
  /** Inline keys (a list of JWKs or a JWKS). */
  keys?: Jwk[] | Jwks;
  /** Its JWKS URL (https). */
  jwks_url?: string;
  /** Its OpenID Connect discovery base: `/.well-known/openid-configuration` is appended. */
  discovery?: string;
  /** This provider's remote JWKS settings (default: the top-level `jwks`). */
  jwks?: JwksSettings;
  /** Required. */
  audience: string | string[];
  /** The claim holding the audience when it is not `aud` (Cognito access tokens: `client_id`). */
  audience_claim?: string;
  /** Required. */
  algorithms: Algorithm[];
  required_claims?: string[];
  leeway_s?: number;
  tracks?: TracksConfig;
  typ?: string;
  /** Claim path → rule; all must hold (`invalid_claim` otherwise). */
  claims?: Record<string, ClaimMatch>;
}

export type RouteMode = "required" | "optional" | "disabled";

export interface RouteConfig {
  /** `/`-separated: literals, `:name` or `*` for one segment, a final `*` for any remainder. */
  path: string;
  methods?: string[];
  mode?: RouteMode;
  /** Every one must be granted (`scope` claim or `scp` array), else 403 insufficient_scope. */
  scopes?: string[];
  /** Tracks allowed on the route, else 403 track_not_allowed. */
  tracks?: Array<string | number>;
  audience?: string | string[];
  /** Roles that must all be held (found at `gateway.roles_claim`), else 403 insufficient_role. */
  roles?: string[];
  /** Claim path → rule, all required, else 403 claim_mismatch. */
  claims?: Record<string, ClaimMatch>;
}

export interface TracksConfig {
  /** Claim naming the track (default "track"). */
  claim?: string;
  /** Ceiling in seconds per track (default {"1":43200,"2":28800,"3":14400,"4":3600}). */
  ttl_s?: Record<string, number>;
  unknown?: "reject" | "default";
  /** Ceiling of unknown tracks under "default" (default 43200). */
  default_ttl_s?: number;
  /** Longest session per track, first login to the last refreshed token's exp. */
  max_session_s?: Record<string, number>;
  default_max_session_s?: number;
  /** How old a gateway's revocation view may be per track (0: exact on every request). */
  max_staleness_s?: Record<string, number>;
  /** The bound of tracks not listed (default 300). */
  default_max_staleness_s?: number;
}

/** A JWT claims set as verified (frozen; a repeated token shares it). */
export interface Claims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  [claim: string]: unknown;
}

export interface Header {
  alg: string;
  typ?: string;
  kid?: string;
  [member: string]: unknown;
}

export interface VerifyOk {
  ok: true;
  readonly claims: Readonly<Claims>;
  readonly header: Readonly<Header>;
  /** The token's track (`"4"` for both `4` and `"4"`), `null` without a track claim. */
  track: string | null;
  /** The lifetime ceiling (seconds) the token was held to. */
  ttlCeiling: number;
}

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** 401; 403 (insufficient_scope, track_not_allowed); 503 (revocation_unavailable, jwks_unavailable); 500 (config_error). */
  status: number;
  /** The route's scopes, for the `insufficient_scope` challenge (route refusals only). */
  scope?: string;
}

export interface VerifyFailure {
  ok: false;
  error: ErrorInfo;
}

export type VerifyResult = VerifyOk | VerifyFailure;

export interface VerifyOptions {
  /** The time to check against: seconds since the epoch or a Date (default: now). */
  now?: number | Date;
}

/** A revocation store: the Worker's KV key layout (`jti:…`, `sub:…`, `global`) on any backend. */
export interface RevocationStore {
  get(key: string): Promise<string | null | undefined> | string | null | undefined;
  put(key: string, value: string, ttlSeconds: number): Promise<unknown> | unknown;
}

export interface ValidatorOptions {
  /** Revocation store; without one, revocation is not checked. */
  store?: RevocationStore | SnapshotStore;
  /** Verified tokens remembered (time checks are redone at every use); default 1000, 0 = off. */
  tokenCache?: number;
  /**
   * Asymmetric signatures checked by the host's own crypto where it has one; default true:
   * node:crypto in Node, Deno and Bun (every verification), WebCrypto in browsers and workerd
   * (`verify()` and the other asynchronous methods; `verifySync()` stays in WebAssembly).
   * `false` keeps them all in WebAssembly (jwt-compact).
   */
  nativeCrypto?: boolean;
  /** The DPoP nonce secret (at least 32 bytes); required by a config with `gateway.dpop.nonce`. */
  dpopNonceKey?: string;
  /** Replaces `globalThis.fetch` for `jwks_url`. */
  fetch?: (url: string, init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<{
    status: number;
    text(): Promise<string>;
    headers: { get(name: string): string | null };
  }>;
}

export type RevocationRequest =
  | { jti: string; exp?: number; reason?: string; sub?: string }
  | { sub: string; before?: number }
  | { before: number };

/** What a revocation wrote (the request as stored). */
export type AppliedRevocation =
  | { jti: string; sub: string | null; exp: number | null; reason: string | null }
  | { sub: string; before: number }
  | { before: number };

export interface ValidatorSettings {
  readonly algorithms: Algorithm[];
  readonly leeway: number;
  readonly cookie: string | null;
  readonly forwardAuthorization: boolean;
  readonly adminScope: string | null;
  readonly revocation: {
    readonly cacheSize: number;
    readonly cacheTtl: number;
    readonly kvCacheTtl: number;
    readonly timeoutMs: number;
  };
  readonly jwks: { readonly url: string; readonly timeoutMs: number } | null;
}

export interface RouteInfo {
  /** Index in `routes`, null for `default_route`. */
  index: number | null;
  mode: RouteMode;
  scopes: string[];
}

/** The gateway's decision for a request (see `Validator.checkRequest`). */
export type RequestDecision =
  | { ok: true; verified: VerifyOk | null; route: RouteInfo; token: string | undefined; path: string; edits: HeaderEdits }
  | { ok: false; error: ErrorInfo; route: RouteInfo | null; token: string | undefined; path: string; dpopNonce?: string };

/** The TLS client certificate of a request (RFC 8705), as the host knows it. */
export interface ClientCertificate {
  /** A certificate was presented in the handshake. */
  presented: boolean;
  /** Its chain was verified (Node: `socket.authorized`). */
  verified: boolean;
  /** Its DER bytes (Node: `getPeerCertificate().raw`). */
  der?: Uint8Array;
}

export interface RequestOptions extends VerifyOptions {
  method?: string;
  path?: string;
  /** Match route literals ignoring case, for a framework that routes so (Express by default). */
  caseInsensitive?: boolean;
  /** The absolute request URI a DPoP proof's `htu` must name (default: from the request). */
  uri?: string;
  /** The public origin (`https://api.example.com`) of a Node request, behind a proxy. */
  origin?: string;
  /** The client certificate (default: a Node request's TLS socket's). */
  clientCertificate?: ClientCertificate;
}

/** The gateway's edits to a passed request's headers (see `Validator.headerEdits`). */
export interface HeaderEdits {
  remove: string[];
  set: [string, string][];
}

/** Anything carrying request headers: a Fetch Request, a Headers, a Node request, or the two values. */
export type RequestLike =
  | { headers: { get(name: string): string | null } }
  | { get(name: string): string | null }
  | { headers: Record<string, string | string[] | undefined> }
  | { authorization?: string | null; cookie?: string | null };

export declare class Validator {
  /** Throws `ConfigError` (naming the field path) for a bad config. */
  constructor(config: Config | string, options?: ValidatorOptions);
  readonly settings: ValidatorSettings;
  readonly hasStore: boolean;
  /**
   * Who checks asymmetric signatures: the host's node:crypto (`"native"`), its WebCrypto in
   * `verify()` (`"webcrypto"`; `verifySync()` uses the core's), or the core's WebAssembly.
   */
  readonly signatureBackend: "native" | "webcrypto" | "wasm";
  /** Never rejects for a bad token: `{ ok: false, error }`. */
  verify(token: string, options?: VerifyOptions): Promise<VerifyResult>;
  /** Without a store only (throws a TypeError otherwise). */
  verifySync(token: string, options?: VerifyOptions): VerifyResult;
  /** Throws `EdgeJwtError` with `.code` and `.status`. */
  verifyOrThrow(token: string, options?: VerifyOptions): Promise<VerifyOk>;
  /** Bearer header, else the policy's cookie; `missing_token` when there is none. */
  verifyRequest(request: RequestLike, options?: VerifyOptions): Promise<VerifyResult>;
  /**
   * What the Worker's gateway decides for a request, routes included: `verified` is null for a
   * `disabled` route or an anonymous request on an `optional` one.
   */
  checkRequest(request: RequestLike & { method?: string; url?: string; originalUrl?: string }, options?: RequestOptions): Promise<RequestDecision>;
  /** The header edits of a passed decision (its `edits`): spoofed identity headers out, the verified identity in. */
  headerEdits(outcome: RequestDecision & { ok: true }): HeaderEdits;
  /** Through the store; rejects with `EdgeJwtError` (`revocation_unavailable`) when it fails. */
  revoke(request: RevocationRequest, options?: VerifyOptions): Promise<AppliedRevocation>;
  /** Revokes a presented token by its jti (logout). */
  revokeToken(token: string, options?: VerifyOptions & { reason?: string }): Promise<AppliedRevocation>;
  inspect(token: string, options?: VerifyOptions): Inspection;
  publicJwks(): Jwks;
  /**
   * Counters; `signatures`: checked so far by the host's crypto (node:crypto or WebCrypto) and
   * by the core's jwt-compact in WebAssembly (HMAC, and every signature without host crypto).
   */
  stats(options?: VerifyOptions): {
    storeReads: number;
    cachedTokens: number;
    jwksFetches: number;
    jwksLastError: string | null;
    /** Each remote key set: where it comes from, when it was fetched, its last failure. */
    jwksSets: { url: string; issuer: string | null; fetched_at: number | null; fetches: number; last_error: string | null }[];
    snapshot: SnapshotView | null;
    signatures: { host: number; wasm: number };
  };
}

export declare class EdgeJwtError extends Error {
  constructor(code: ErrorCode, message: string, status?: number);
  readonly code: ErrorCode;
  readonly status: number;
}

export declare class ConfigError extends EdgeJwtError {
  constructor(message: string);
  readonly code: "config_error";
}

export declare class MemoryStore implements RevocationStore {
  constructor(options?: { clock?: () => number });
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
  readonly size: number;
}

/** The subset of a Workers KV namespace binding the store uses. */
export interface KvNamespaceLike {
  get(key: string, options?: { cacheTtl?: number }): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
}

export declare class KvStore implements RevocationStore {
  /** `cacheTtl` defaults to the policy's `revocation.kv_cache_ttl_s`. */
  constructor(namespace: KvNamespaceLike, options?: { cacheTtl?: number });
  cacheTtl: number | undefined;
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/** A node-redis (v4+) client (`sendCommand`) or an ioredis client (`get`/`set`), structurally. */
export type RedisClientLike =
  | { isOpen: boolean; sendCommand(args: string[]): Promise<unknown> }
  | { status: string; call(...args: unknown[]): unknown; get(key: string): Promise<string | null>; set(...args: unknown[]): Promise<unknown> };

export declare class RedisStore implements RevocationStore {
  constructor(client: RedisClientLike | object, options?: { prefix?: string; kind?: "ioredis" | "node-redis" });
  get(key: string): Promise<string | null>;
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/**
 * A read replica of an edge-jwt Worker's revocation authority: polls its signed snapshot
 * (`GET /v1/revocation/snapshot`, one conditional request per `revocation.snapshot_ttl_s`),
 * confirms what the snapshot cannot settle with `POST /v1/revocation/check`, and sends
 * `revoke()` to the Worker. `key` is the Worker's `SNAPSHOT_KEY` (≥ 32 bytes).
 */
export declare class SnapshotStore {
  constructor(options: { url: string; adminToken: string; key: string | Uint8Array | ArrayBuffer; fetch?: typeof fetch });
  readonly url: string;
  snapshot(fromAuthority?: boolean, options?: { timeoutMs?: number }): Promise<Uint8Array | null>;
  exactStatus(
    facts: { jti?: string; sub?: string },
    options?: { timeoutMs?: number },
  ): Promise<{ jti_revoked: boolean; subject_revoked_before: number | null; global_revoked_before: number | null }>;
  revoke(request: RevocationRequest | string, options?: { timeoutMs?: number }): Promise<Record<string, unknown>>;
}

/** A `SnapshotStore`'s view (`Validator.stats().snapshot`). */
export interface SnapshotView {
  epoch: number | null;
  published_at: number | null;
  age_s: number | null;
  jtis: number | null;
  subjects: number | null;
  filter: boolean | null;
  bytes: number | null;
  loads: number;
  refused: number;
  reads: number;
  exact_lookups: number;
  pending_writes: number;
}

export interface TimeClaim {
  claim: "exp" | "nbf" | "iat";
  unix: number;
  /** RFC 3339 in UTC. */
  utc: string;
}

/** An UNVERIFIED decode. Show `warning` next to anything printed from it. */
export interface Inspection {
  verified: false;
  warning: string;
  header: Header;
  /** `null` when the payload is not a JSON object. */
  claims: Claims | null;
  times: TimeClaim[];
  /** `exp - now` in seconds (negative once expired), `null` without exp. */
  timeLeft: number | null;
  track: {
    track: string | null;
    ttlCeiling: number | null;
    lifetime: number | null;
    verdict: "within_ceiling" | "exceeds_ceiling" | "unknown_track" | "invalid_claim" | "no_exp";
  };
  /** The sender constraint the token's `cnf` claims (shown, not checked: the gateway checks it). */
  binding: {
    kind: "dpop" | "mtls" | "dpop+mtls" | "none" | "invalid";
    senderConstrained: boolean;
    /** `cnf.jkt` (RFC 9449). */
    jkt: string | null;
    /** `cnf["x5t#S256"]` (RFC 8705). */
    x5tS256: string | null;
  };
  /** The CLI's text report. */
  text: string;
}

export interface InspectOptions extends VerifyOptions {
  /** A config's `tracks` section for the verdict (default table otherwise). */
  tracks?: TracksConfig;
  /** Or a whole config (object or JSON): only its `tracks` section is used. */
  config?: Config | string;
}

export interface IssueRequest {
  sub?: string;
  track?: string | number;
  /** Seconds or a duration such as "30m", "1h30m"; default and maximum: the track's ceiling. */
  ttl?: number | string;
  /** Further claims; registered claims and the track claim are set by the issuer. */
  claims?: Record<string, unknown>;
}

export interface Issued {
  token: string;
  jti: string;
  iat: number;
  exp: number;
  track: string | null;
}

export interface IssuerOptions {
  /** For RSA keys (RS256 / PS256 …) or an HMAC secret (HS256 …). */
  alg?: Algorithm;
}

export declare class Issuer {
  /** `signingKey`: a private JWK; omitted, the config's `secret` signs. */
  constructor(config: Config | string, signingKey?: Jwk | string | null, options?: IssuerOptions);
  readonly alg: Algorithm;
  publicJwk(): Jwk | null;
  issue(request?: IssueRequest, options?: VerifyOptions): Issued;
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RejectionEvent {
  event: "edge_jwt_reject";
  code: ErrorCode;
  status: number;
  path: string;
  kid: string | null;
  track: string | null;
  jti_prefix: string | null;
}

/** The Fetch API Response where the host's types declare one (DOM lib, @types/node, workers-types). */
type FetchResponse = typeof globalThis extends { Response: { prototype: infer R } } ? R : unknown;

/**
 * Loads the WebAssembly module once (required once in browsers, optional elsewhere). `input`: a
 * URL or path string to fetch, a Response (or a promise of one), the bytes, or a compiled
 * WebAssembly.Module; by default the `edge_jwt_bg.wasm` next to the entry module.
 */
export declare function init(input?: unknown): Promise<void>;
/** UNVERIFIED decode; throws `EdgeJwtError` (malformed) when it is not a JWS at all. */
export declare function inspect(token: string, options?: InspectOptions): Inspection;
export declare function issue(
  config: Config | string,
  request?: IssueRequest,
  signingKey?: Jwk | string | null,
  options?: IssuerOptions & VerifyOptions,
): Issued;
/** HS*, ES256 and EdDSA; RSA throws `ConfigError` (use `edge-jwt keygen` or WebCrypto). */
/**
 * A DPoP proof (RFC 9449) for `method url` signed with a private EC P-256, Ed25519 or RSA JWK,
 * with `ath` for `accessToken` and the server's `nonce` when given.
 */
export declare function createDpopProof(
  privateJwk: Jwk | string,
  method: string,
  url: string,
  accessToken?: string,
  nonce?: string,
  options?: VerifyOptions,
): Promise<string>;
export declare function generateKey(alg: Algorithm, options?: { kid?: string }): { privateJwk: Jwk; jwks: Jwks | null };
export declare function errorCodes(): ReadonlyArray<{ readonly code: ErrorCode; readonly status: number }>;
/** The Worker's response to a failed verification, byte for byte. */
export declare function errorResponse(error: { code: string; message: string; scope?: string }): ErrorResponse;
/** `errorResponse` as a Fetch API Response. */
export declare function errorFetchResponse(error: { code: string; message: string; scope?: string }): FetchResponse;
export declare function rejectionEvent(
  error: { code: string; message: string },
  options?: { token?: string; path?: string; result?: VerifyResult | RequestDecision },
): RejectionEvent;
/** `x-edge-jwt-sub`, `-jti`, `-track`, `-scope`, `-exp` of a verified result. */
export declare function identityHeaders(verified: VerifyOk): Record<string, string>;
export declare function isIdentityHeader(name: string): boolean;
/** `45s`, `3m 07s`, `1h 02m 03s`, `2d 03h 04m`. */
export declare function humanDuration(seconds: number): string;

export interface MiddlewareOptions extends ValidatorOptions {
  /** Log one rejection event per refused request: `true` (console.log, one JSON line) or a function. */
  log?: boolean | ((event: RejectionEvent) => void);
  /** The public origin DPoP proofs name (`https://api.example.com`), behind a proxy; default: the request's own. */
  origin?: string;
}

/** Used by `edge-jwt/hono` and `edge-jwt/express` (exported as `edgeJwt` there). */
export declare function honoMiddleware(
  validatorOrConfig: Validator | Config | string,
  options?: MiddlewareOptions & { contextKey?: string },
): (c: any, next: () => Promise<void>) => Promise<FetchResponse | void>;
export declare function expressMiddleware(
  validatorOrConfig: Validator | Config | string,
  options?: MiddlewareOptions & { requestKey?: string; identityHeaders?: boolean },
): (req: any, res: any, next: (error?: unknown) => void) => void;
