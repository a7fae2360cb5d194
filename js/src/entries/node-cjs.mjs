// Node (CommonJS, `require("edge-jwt")`): bundled to dist/node.cjs; the module is next to it.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

import initAsync, { initSync } from "#glue";
import { setLoader } from "../loader.mjs";
import { prepareNativeVerifier } from "../native-crypto.mjs";

const WASM = join(__dirname, "edge_jwt_bg.wasm");

setLoader({
  prepareNativeVerifier,
  loadSync() {
    initSync({ module: readFileSync(WASM) });
  },
  async load(input) {
    const source = input ?? pathToFileURL(WASM);
    const module = source instanceof URL && source.protocol === "file:" ? await readFile(source) : source;
    await initAsync({ module_or_path: module });
  },
});

export * from "../api.mjs";
