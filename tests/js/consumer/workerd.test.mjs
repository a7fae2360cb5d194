// Cloudflare Workers: a Worker importing the installed package is bundled by wrangler (the
// repository's devDependency) as a user would deploy it — the "workerd" export condition, the
// .wasm import as a compiled module — and run in workerd through Miniflare with a real KV
// namespace behind KvStore; asymmetric signatures of verify() and the middleware go to workerd's
// WebCrypto and must agree with the core's own on the signature corpus. Skipped when the
// repository's wrangler/miniflare are not installed.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import * as h from "./helpers.mjs";
import { ASYMMETRIC, signatureCorpus } from "./signature-corpus.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = process.env.EDGE_JWT_ROOT ?? path.resolve(path.dirname(h.CLI), "../..");
const wrangler = path.join(ROOT, "node_modules/.bin/wrangler");
const skip = fs.existsSync(wrangler) ? false : "the repository's wrangler/miniflare are not installed (npm ci at the root)";

const SECRET = h.SECRET;
const policy = { algorithms: ["HS256"], secret: SECRET, routes: [{ path: "/public", mode: "disabled" }] };
let mf;
let bundle;

before(async () => {
  if (skip) return;
  const out = fs.mkdtempSync(path.join(h.tempDir(), "workerd-"));
  const r = spawnSync(wrangler, ["deploy", "--dry-run", "--outdir", out], {
    cwd: path.join(here, "workerd"),
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NODE_PATH: path.join(here, "node_modules") },
  });
  assert.equal(r.status, 0, `wrangler failed:\n${r.stdout}\n${r.stderr}`);
  bundle = out;
  const { Miniflare, Log, LogLevel } = await import(pathToFileURL(createRequire(path.join(ROOT, "package.json")).resolve("miniflare")).href);
  mf = new Miniflare({
    log: new Log(LogLevel.WARN),
    cf: false,
    modules: true,
    scriptPath: path.join(out, "worker.js"),
    modulesRoot: out,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-01",
    bindings: { POLICY: JSON.stringify(policy) },
    kvNamespaces: ["REVOCATIONS"],
  });
  await mf.ready;
});
after(() => mf?.dispose());

test("wrangler bundles the workerd build: the .wasm is a module of its own, not fetched", { skip }, () => {
  const files = fs.readdirSync(bundle);
  assert.ok(files.some((f) => f.endsWith(".wasm")), files.join(","));
  const js = fs.readFileSync(path.join(bundle, "worker.js"), "utf8");
  assert.match(js, /import \w+ from "\.\/[\w-]+\.wasm"/);
  assert.doesNotMatch(js, /readFileSync/, "not the Node build");
});

test("in workerd: Hono middleware verifies, refuses like the Worker, and revokes through KV", { skip }, async () => {
  const get = async (p, token) => {
    const res = await mf.dispatchFetch(`http://worker.test${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: await res.json(), challenge: res.headers.get("www-authenticate") };
  };
  const minted = h.cliIssue({ config: policy, sub: "edge-user" });
  assert.deepEqual(await get("/me", minted.token), { status: 200, body: { sub: "edge-user" }, challenge: null });
  const missing = await get("/me");
  assert.equal(missing.status, 401);
  assert.equal(missing.challenge, "Bearer");
  assert.equal(missing.body.code, "missing_token");
  assert.equal((await get("/public")).status, 200);
  const inspected = await get(`/inspect?token=${minted.token}`);
  assert.equal(inspected.body.claims.sub, "edge-user");
  const logout = await mf.dispatchFetch("http://worker.test/logout", { method: "POST", headers: { authorization: `Bearer ${minted.token}` } });
  assert.deepEqual(await logout.json(), { jti: minted.jti, sub: "edge-user", exp: minted.exp, reason: "logout" });
  const kv = await mf.getKVNamespace("REVOCATIONS");
  assert.equal(JSON.parse(await kv.get(`jti:${minted.jti}`)).reason, "logout", "the Worker's KV layout");
  const revoked = await get("/me", minted.token);
  assert.equal(revoked.status, 401);
  assert.equal(revoked.body.code, "revoked");
});

for (const alg of ASYMMETRIC) {
  test(`in workerd: ${alg} through WebCrypto agrees with the core's own, code for code`, { skip }, async () => {
    const { config, cases, expected, distinct } = signatureCorpus(alg);
    const res = await mf.dispatchFetch("http://worker.test/signatures", { method: "POST", body: JSON.stringify({ config, cases, distinct }) });
    assert.equal(res.status, 200);
    const out = await res.json();
    assert.deepEqual(out.backends, ["webcrypto", "wasm"]);
    for (const [name, seen] of Object.entries(out.verdicts)) {
      const want = expected[name];
      assert.deepEqual(seen, { webcrypto: want, sync: want, wasm: want, request: want }, `${alg} ${name}`);
    }
    assert.deepEqual(Object.keys(out.verdicts), Object.keys(expected));
    // WebCrypto really checked them: verify() and checkRequest() asked it, never jwt-compact;
    // verifySync() and the nativeCrypto: false validator never asked it.
    assert.ok(out.signatures.web.host >= 2 * 3, JSON.stringify(out.signatures));
    assert.equal(out.signatures.wasm.host, 0);
    assert.deepEqual(out.oneEach, { verify: { host: 1, wasm: 0 }, verifySync: { host: 0, wasm: 1 } });
    assert.deepEqual(out.concurrent, expected, "verified all at once");
    assert.deepEqual(out.revocation, [["ok", true], ["revoked", null], ["ok", true], ["revoked", null], ["ok", true], ["revoked", null], ["ok", true], ["revoked", null]]);
  });
}
