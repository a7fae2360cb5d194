// Workers KV as a revocation store.

const KV_POLICY_CACHE_TTL = Symbol("edge-jwt.kvPolicyCacheTtl");

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

/** Gives a KvStore the policy's `revocation.kv_cache_ttl_s`, used when it has no `cacheTtl` of its own. */
export function setPolicyCacheTtl(store, seconds) {
  if (store instanceof KvStore) store[KV_POLICY_CACHE_TTL] = seconds;
}
