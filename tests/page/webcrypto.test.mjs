// The package's browser build in real headless Chromium: asymmetric signatures of `verify()` and
// `checkRequest()` go to the browser's WebCrypto, `verifySync()` and a validator with
// `nativeCrypto: false` stay on the core's jwt-compact, and on the shared corpus of valid and
// hostile signatures (tests/js/consumer/signature-corpus.mjs, as for node:crypto and workerd)
// every path gives the same verdict, code for code. The page's origin serves the build
// (`node js/page/serve.mjs`); the corpus is made here with node:crypto and checked in the page
// by tests/js/consumer/signature-probe.mjs. Run: tests/page/run.sh.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { ASYMMETRIC, signatureCorpus } from "../js/consumer/signature-corpus.mjs";
import { probeBackends } from "../js/consumer/signature-probe.mjs";
import { CHROMIUM, launchChromium, servePage } from "./chromium.mjs";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edge-jwt-webcrypto-"));
let server;
let context;
let page;

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  server = await servePage();
  context = await launchChromium(fs.mkdtempSync(path.join(tmp, "profile-")));
  page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(error.message));
  // The introspection page: a secure context (loopback) whose CSP allows only its own origin.
  await page.goto(`${server.origin}/page/`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
});

after(async () => {
  await context?.close();
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs `probeBackends` in the page on the package's browser build (the page's own instance). */
function probe(corpus) {
  const arg = JSON.stringify({ config: corpus.config, cases: corpus.cases, distinct: corpus.distinct });
  return page.evaluate(`import("/dist/browser.mjs").then(async (E) => {
    await E.init();
    return (${probeBackends.toString()})(E, ${arg});
  })`);
}

describe("WebCrypto in Chromium and the core's own signature checks agree", () => {
  for (const alg of ASYMMETRIC) {
    test(alg, async () => {
      const corpus = signatureCorpus(alg);
      const out = await probe(corpus);
      assert.deepEqual(out.backends, ["webcrypto", "wasm"]);
      assert.deepEqual(Object.keys(out.verdicts), Object.keys(corpus.expected));
      for (const [name, seen] of Object.entries(out.verdicts)) {
        const want = corpus.expected[name];
        assert.deepEqual(seen, { webcrypto: want, sync: want, wasm: want, request: want }, `${alg} ${name}`);
      }
      // WebCrypto really checked them (verify() and checkRequest()), jwt-compact never did on
      // that path; verifySync() and the nativeCrypto: false validator never asked WebCrypto.
      assert.ok(out.signatures.web.host >= 2 * 3, JSON.stringify(out.signatures));
      assert.equal(out.signatures.wasm.host, 0);
      assert.deepEqual(out.oneEach, { verify: { host: 1, wasm: 0 }, verifySync: { host: 0, wasm: 1 } });
      assert.deepEqual(out.concurrent, corpus.expected, "verified all at once");
      assert.deepEqual(out.revocation, [["ok", true], ["revoked", null], ["ok", true], ["revoked", null], ["ok", true], ["revoked", null], ["ok", true], ["revoked", null]]);
      assert.deepEqual(page.errors, []);
    });
  }

  test("HMAC stays in WebAssembly; without WebCrypto, or with a key it will not import, the core answers", async () => {
    const out = await page.evaluate(`import("/dist/browser.mjs").then(async (E) => {
      const secret = "a-secret-of-more-than-thirty-two-bytes!";
      const config = { algorithms: ["HS256"], secret };
      const token = E.issue(config, { sub: "alice", track: 1, ttl: 60 }).token;
      const v = new E.Validator(config, { tokenCache: 0 });
      const hmac = [v.signatureBackend, (await v.verify(token)).ok, v.stats().signatures];
      const es = E.generateKey("ES256", { kid: "e" });
      const esConfig = { algorithms: ["ES256"], keys: es.jwks };
      const esToken = new E.Issuer(esConfig, es.privateJwk).issue({ track: 1, ttl: 60 }).token;
      const run = async () => {
        const w = new E.Validator(esConfig, { tokenCache: 0 });
        return [w.signatureBackend, (await w.verify(esToken)).ok, w.stats().signatures];
      };
      // No crypto.subtle, as on a page served over plain http: the core's own from the start.
      const subtle = Object.getOwnPropertyDescriptor(Crypto.prototype, "subtle");
      Object.defineProperty(Crypto.prototype, "subtle", { get: () => undefined, configurable: true });
      let noSubtle;
      try {
        noSubtle = await run();
      } finally {
        Object.defineProperty(Crypto.prototype, "subtle", subtle);
      }
      // An import WebCrypto refuses: that key goes back to jwt-compact.
      const importKey = SubtleCrypto.prototype.importKey;
      SubtleCrypto.prototype.importKey = () => Promise.reject(new DOMException("refused", "DataError"));
      let refused;
      try {
        refused = await run();
      } finally {
        SubtleCrypto.prototype.importKey = importKey;
      }
      return { hmac, noSubtle, refused, again: await run() };
    })`);
    assert.deepEqual(out.hmac, ["webcrypto", true, { host: 0, wasm: 1 }]);
    assert.deepEqual(out.noSubtle, ["wasm", true, { host: 0, wasm: 1 }]);
    assert.deepEqual(out.refused, ["webcrypto", true, { host: 0, wasm: 1 }]);
    assert.deepEqual(out.again, ["webcrypto", true, { host: 1, wasm: 0 }]);
    assert.deepEqual(page.errors, []);
  });
});
