// Browsers and bundlers: `await init()` once fetches the module next to this file (bundlers
// recognise the `new URL(…, import.meta.url)` asset), or takes a URL, Response, bytes or Module.
// Asymmetric signatures of the asynchronous methods go to WebCrypto (../webcrypto.mjs).
import initAsync from "#glue";
import { setLoader } from "../loader.mjs";
import { prepareWebCryptoVerifier } from "../webcrypto.mjs";

setLoader({
  prepareWebCryptoVerifier,
  async load(input) {
    await initAsync({ module_or_path: input ?? new URL("./edge_jwt_bg.wasm", import.meta.url) });
  },
});

export * from "../api.mjs";
