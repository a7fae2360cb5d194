// Native signature checks (node:crypto, OpenSSL) against the core's own (jwt-compact in wasm):
// the two backends must give the same verdict, code for code, on every asymmetric algorithm
// for valid tokens and for hostile signatures (signature-corpus.mjs: flipped bits, wrong
// lengths, another key, ECDSA r = 0 / s = 0 / r = n (CVE-2022-21449), high-s, Ed25519 s ≥ L,
// PSS with a salt of the wrong length). The core refuses wrong shapes before a host ever sees
// them. The same corpus holds WebCrypto to the core in workerd and in Chromium.

import { test, describe } from "node:test";
import assert from "node:assert/strict";

import * as E from "edge-jwt";

import * as h from "./helpers.mjs";
import { ASYMMETRIC, signatureCorpus, verdictOf } from "./signature-corpus.mjs";

describe("native (node:crypto) and wasm (jwt-compact) signature checks agree", () => {
  for (const alg of ASYMMETRIC) {
    test(alg, async () => {
      const { config, cases, expected } = signatureCorpus(alg);
      const native = new E.Validator(config, { tokenCache: 0 });
      const wasm = new E.Validator(config, { tokenCache: 0, nativeCrypto: false });
      assert.equal(native.signatureBackend, "native");
      assert.equal(wasm.signatureBackend, "wasm");
      const verdicts = {};
      for (const [name, t] of Object.entries(cases)) {
        const [n, w] = [verdictOf(await native.verify(t)), verdictOf(await wasm.verify(t))];
        assert.equal(n, w, `${alg} ${name}: native says ${n}, wasm says ${w}`);
        verdicts[name] = n;
      }
      assert.deepEqual(verdicts, expected, alg);
      // And after all that, the instance is still fine.
      assert.equal(verdictOf(await native.verify(cases.valid)), "ok");
      // Every well-formed signature went to node:crypto; none to jwt-compact.
      assert.equal(native.stats().signatures.wasm, 0);
      assert.ok(native.stats().signatures.host >= 5, JSON.stringify(native.stats().signatures));
      assert.equal(wasm.stats().signatures.host, 0);
    });
  }

  test("HMAC tokens verify with the native backend selected (their MAC stays in WebAssembly)", async () => {
    const config = { algorithms: ["HS256"], secret: h.SECRET };
    const v = new E.Validator(config);
    assert.equal(v.signatureBackend, "native");
    assert.equal(verdictOf(await v.verify(h.cliIssue({ config, track: 1 }).token)), "ok");
    assert.deepEqual(v.stats().signatures, { host: 0, wasm: 1 });
    assert.throws(() => new E.Validator(config, { nativeCrypto: "yes" }), TypeError);
  });
});
