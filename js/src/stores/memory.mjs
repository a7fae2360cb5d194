// The in-process revocation store, and the adapter that answers its reads at once.

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
 * For a MemoryStore, the store the core reads: in-process and never slow, so no timer per read,
 * and reads answered at once (the core takes a string or null without awaiting it). A subclass
 * with its own `get` is read through it. `undefined` for any other store.
 */
export function immediateMemoryStore(store) {
  if (!(store instanceof MemoryStore)) return undefined;
  if (store.get !== MemoryStore.prototype.get) return store;
  return { get: (key) => readMemoryNow(store, key), put: (key, value, ttl) => store.put(key, value, ttl) };
}
