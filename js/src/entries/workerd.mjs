// Cloudflare Workers (workerd, wrangler): the bundler turns the .wasm import into a compiled
// WebAssembly.Module, instantiated synchronously on first use.
import wasmModule from "./edge_jwt_bg.wasm";

import initAsync, { initSync } from "#glue";
import { setLoader } from "../loader.mjs";

setLoader({
  loadSync() {
    initSync({ module: wasmModule });
  },
  async load(input) {
    await initAsync({ module_or_path: input ?? wasmModule });
  },
});

export * from "../api.mjs";
