// The Worker's entry: instantiate the Rust core once per isolate and hand it every request.
// Everything else (routing, validation, KV, responses) is in src/worker/.
import * as edgeJwt from "./pkg/edge_jwt.js";
import wasmModule from "./pkg/edge_jwt_bg.wasm";

edgeJwt.initSync({ module: wasmModule });

export default {
  // A Response, or a Promise of one: most requests are answered without a task (src/worker/mod.rs).
  fetch(request, env, ctx) {
    return edgeJwt.fetch(request, env, ctx);
  },
};

// The revocation authority (a Durable Object, `REVOCATION_AUTHORITY` in wrangler.toml): the
// class is the Rust core's (src/worker/authority.rs); this only hands it the runtime's calls.
export class RevocationAuthority {
  constructor(state, env) {
    this.inner = new edgeJwt.RevocationAuthority(state, env);
  }

  fetch(request) {
    return this.inner.fetch(request);
  }

  // Publishes the revocation snapshot (scheduled after writes, and as a heartbeat).
  alarm() {
    return this.inner.alarm();
  }
}
