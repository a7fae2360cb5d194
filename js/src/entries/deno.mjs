// Deno: the module sits next to this file (in node_modules or Deno's npm cache) and is read
// synchronously on first use (needs read permission for it).
import initAsync, { initSync } from "#glue";
import { setLoader } from "../loader.mjs";
import { prepareNativeVerifier } from "../native-crypto.mjs";

const WASM = new URL("./edge_jwt_bg.wasm", import.meta.url);

setLoader({
  prepareNativeVerifier,
  loadSync() {
    initSync({ module: Deno.readFileSync(WASM) });
  },
  async load(input) {
    const source = input ?? WASM;
    const module = source instanceof URL && source.protocol === "file:" ? await Deno.readFile(source) : source;
    await initAsync({ module_or_path: module });
  },
});

export * from "../api.mjs";
