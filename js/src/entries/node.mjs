// Node (ESM) and Bun: the module sits next to this file and is read synchronously on first use.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

import initAsync, { initSync } from "#glue";
import { setLoader } from "../loader.mjs";
import { prepareNativeVerifier } from "../native-crypto.mjs";

const WASM = new URL("./edge_jwt_bg.wasm", import.meta.url);

setLoader({
  prepareNativeVerifier,
  loadSync() {
    initSync({ module: readFileSync(WASM) });
  },
  async load(input) {
    const source = input ?? WASM;
    const module = source instanceof URL && source.protocol === "file:" ? await readFile(source) : source;
    await initAsync({ module_or_path: module });
  },
});

export * from "../api.mjs";
