// One wasm instance per module instance of the package, created once: synchronously on first
// use where the host can read the module synchronously (Node, Deno, Bun, workerd), or by
// `await init()` (browsers, or any host, to load it ahead of time or from elsewhere).

let loader = null;
let signatureCheck = null;
let ready = false;
let pending = null;

/**
 * Called once by the host entry: `{ loadSync?(): void, load(input?): Promise<void>,
 * prepareNativeVerifier?(alg, jwkJson), prepareWebCryptoVerifier?(alg, jwkJson) }`; the last
 * two make the host's signature checks: synchronous ones through node:crypto
 * (./native-crypto.mjs: Node, Deno, Bun) or asynchronous ones through WebCrypto
 * (./webcrypto.mjs: browsers, workerd).
 */
export function setLoader(hostLoader) {
  loader = hostLoader;
  if (hostLoader.prepareNativeVerifier) signatureCheck = { kind: "native", prepare: hostLoader.prepareNativeVerifier };
  else if (hostLoader.prepareWebCryptoVerifier) signatureCheck = { kind: "webcrypto", prepare: hostLoader.prepareWebCryptoVerifier };
  else signatureCheck = null;
}

/**
 * The host's signature checks, `{ kind: "native" | "webcrypto", prepare(alg, jwkJson) }`, or
 * null (the core's own everywhere). WebCrypto only where `crypto.subtle` is: browsers leave it
 * out of pages that are not secure contexts (plain http other than loopback).
 */
export function hostSignatureCheck() {
  if (signatureCheck?.kind === "webcrypto" && globalThis.crypto?.subtle === undefined) return null;
  return signatureCheck;
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
