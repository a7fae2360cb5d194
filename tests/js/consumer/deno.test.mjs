// Deno: the `deno` npm package ships the Deno binary; it runs deno/check.mjs in this project,
// where `edge-jwt` resolves through the "deno" export condition (dist/deno.mjs, which reads the
// wasm with Deno.readFileSync), verifies tokens minted by the CLI, mints its own (checked here
// by the CLI), and runs the Hono middleware in Deno.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import * as h from "./helpers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const deno = path.join(here, "node_modules/.bin/deno");

test("Deno imports edge-jwt through the deno condition and gets the core's verdicts", () => {
  const version = spawnSync(deno, ["--version"], { encoding: "utf8" });
  assert.equal(version.status, 0, `the deno binary runs here: ${version.stderr}`);
  const config = { algorithms: ["HS256"], secret: h.SECRET };
  const now = h.nowS();
  const tokens = {
    valid: h.cliIssue({ config, sub: "from-cli", track: 3 }).token,
    expired: h.cliIssue({ config, at: now - 7200, ttl: "1h" }).token,
    forged: h.signHmac({ alg: "HS256" }, h.standardClaims(), "not-the-secret-not-the-secret-000000"),
    garbage: "a.b",
  };
  // One algorithm per native path: EdDSA (one-shot verify), ES256 and PS256 (a Verify object,
  // with the P1363 signature encoding and the PSS options).
  const asymmetric = {};
  for (const alg of ["EdDSA", "ES256", "PS256"]) {
    const key = h.cliKeygen(alg, `deno-${alg}`);
    const algConfig = { algorithms: [alg], keys: key.jwks };
    const token = h.cliIssue({ config: algConfig, key: key.private_jwk, sub: "asym", track: 2 }).token;
    asymmetric[alg] = { config: algConfig, tokens: { valid: token, tampered: `${token.slice(0, -6)}AAAAAA` } };
  }
  const r = spawnSync(deno, ["run", "--allow-read", "--allow-env", "--no-prompt", "deno/check.mjs", JSON.stringify([config, tokens, asymmetric])], {
    cwd: here,
    encoding: "utf8",
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, `deno failed:\n${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1));
  assert.match(out.resolved, /edge-jwt\/dist\/deno\.mjs$/);
  assert.match(out.honoResolved, /edge-jwt\/dist\/hono\.deno\.mjs$/);
  assert.deepEqual(out.results, {
    valid: { ok: true, sub: "from-cli", track: "3" },
    expired: { ok: false, code: "expired", status: 401 },
    forged: { ok: false, code: "bad_signature", status: 401 },
    garbage: { ok: false, code: "malformed", status: 401 },
  });
  for (const alg of ["EdDSA", "ES256", "PS256"]) {
    assert.deepEqual(out.asymmetric[alg].backends, ["native", "wasm"], `${alg}: Deno's node:crypto takes the asymmetric checks`);
    assert.deepEqual(out.asymmetric[alg].results, { valid: ["ok", "ok"], tampered: ["bad_signature", "bad_signature"] }, alg);
  }
  assert.equal(out.configError.name, "ConfigError");
  assert.equal(out.configError.code, "config_error");
  assert.equal(out.configError.isClass, true);
  assert.match(out.configError.message, /^secret: /);
  assert.equal(out.inspect, "deno-user");
  assert.equal(h.cliVerify(config, out.minted).ok, true, "a token minted in Deno verifies natively");
  assert.deepEqual(out.hono.ok, [200, { sub: "deno-user" }]);
  assert.equal(out.hono.denied[0], 401);
  assert.equal(out.hono.denied[1], "Bearer");
  assert.equal(out.hono.denied[2].code, "missing_token");
});
