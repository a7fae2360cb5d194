// Cloudflare Workers (workerd, wrangler): the bundler turns the .wasm import into a compiled
// WebAssembly.Module, instantiated synchronously on first use. Asymmetric signatures of the
// asynchronous methods go to workerd's WebCrypto (../webcrypto.mjs), as in the edge Worker.
import wasmModule from "./edge_jwt_bg.wasm";

import initAsync, { initSync } from "#glue";
import { setLoader } from "../loader.mjs";
import { prepareWebCryptoVerifier } from "../webcrypto.mjs";

setLoader({
  prepareWebCryptoVerifier,
  loadSync() {
    initSync({ module: wasmModule });
  },
  async load(input) {
    await initAsync({ module_or_path: input ?? wasmModule });
  },
});

export * from "../api.mjs";
