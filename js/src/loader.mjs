// One wasm instance per module instance of the package, created once: synchronously on first
// use where the host can read the module synchronously (Node, Deno, Bun, workerd), or by
// `await init()` (browsers, or any host, to load it ahead of time or from elsewhere).

let loader = null;
let nativeVerifier = null;
let ready = false;
let pending = null;

/**
 * Called once by the host entry: `{ loadSync?(): void, load(input?): Promise<void>,
 * prepareNativeVerifier?(alg, jwkJson) }`; the last makes the host's native signature checks
 * (./native-crypto.mjs), where it has them.
 */
export function setLoader(hostLoader) {
  loader = hostLoader;
  nativeVerifier = hostLoader.prepareNativeVerifier ?? null;
}

/** The maker of the host's native signature checks, or null (browsers, workerd: the core's own). */
export function hostSignatureCheck() {
  return nativeVerifier;
}

export function ensureReady() {
  if (ready) return;
  if (!loader?.loadSync) {
    throw new Error(
      "edge-jwt: the WebAssembly module loads asynchronously in this host; call `await init()` once before using the API",
    );
  }
  loader.loadSync();
  ready = true;
}

/**
 * Loads and instantiates the WebAssembly module once; later calls resolve at once. Optional in
 * Node, Deno, Bun and workerd (the module loads itself on first use), required once in browsers.
 * `input` overrides where the module comes from: a URL, a Response, bytes or a
 * WebAssembly.Module.
 */
export function init(input) {
  if (ready) return Promise.resolve();
  if (!pending) {
    pending = Promise.resolve()
      .then(() => (input === undefined && loader.loadSync ? loader.loadSync() : loader.load(input)))
      .then(
        () => {
          ready = true;
        },
        (error) => {
          pending = null;
          throw error;
        },
      );
  }
  return pending;
}
