// Any revocation store ({ get, put }, or a SnapshotStore) as the core reads it.

import { immediateMemoryStore } from "./memory.mjs";
import { snapshotAdapter } from "./snapshot.mjs";

/**
 * Wraps a store so that a read or write slower than the policy's `timeout_ms` fails (closed).
 * A SnapshotStore becomes the I/O of the core's replica of the edge's revocation set.
 */
export function storeAdapter(store, settings) {
  const replica = snapshotAdapter(store, settings);
  if (replica) return replica;
  if (typeof store.get !== "function" || typeof store.put !== "function") {
    throw new TypeError("a revocation store needs get(key) and put(key, value, ttlSeconds) methods");
  }
  const immediate = immediateMemoryStore(store);
  if (immediate) return immediate;
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
