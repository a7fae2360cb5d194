// Browsers and bundlers: `await init()` once fetches the module next to this file (bundlers
// recognise the `new URL(…, import.meta.url)` asset), or takes a URL, Response, bytes or Module.
import initAsync from "#glue";
import { setLoader } from "../loader.mjs";

setLoader({
  async load(input) {
    await initAsync({ module_or_path: input ?? new URL("./edge_jwt_bg.wasm", import.meta.url) });
  },
});

export * from "../api.mjs";
