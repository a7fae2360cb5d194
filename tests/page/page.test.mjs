// The introspection page (js/page/) in real headless Chromium: Debian's /usr/bin/chromium driven
// by playwright-core (no browser is downloaded). The page is served by its own documented command
// (`node js/page/serve.mjs`) and loads the package's browser build from js/dist/. Tokens are
// minted by the CLI (`target/debug/edge-jwt issue`), and for each case the CLI's own `verify`
// verdict is taken next to what the page shows, so the page is held to the core's answer.
// Screenshots: /tmp/page-*.png. Run: tests/page/run.sh (or `node --test tests/page/`).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { CHROMIUM, launchChromium, ROOT, servePage } from "./chromium.mjs";

const CLI = path.join(ROOT, "target/debug/edge-jwt");
const TIMEZONE = "Asia/Kolkata"; // UTC+05:30 all year: local and UTC columns must differ

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "edge-jwt-page-"));
const SECRET = randomBytes(24).toString("hex"); // 48 bytes of UTF-8
const ISSUER = "https://issuer.example";
const AUDIENCE = "api";

function writeJson(name, value) {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
}

function cli(args) {
  return JSON.parse(execFileSync(CLI, args, { encoding: "utf8" }));
}

/** The CLI's verdict for a token under a config: "valid" or the error code. */
function cliVerdict(config, token) {
  const file = writeJson(`verify-${randomBytes(4).toString("hex")}.json`, config);
  try {
    const out = JSON.parse(execFileSync(CLI, ["verify", "--config", file, token], { encoding: "utf8" }));
    return out.ok ? "valid" : out.error.code;
  } catch (error) {
    if (error.status === 1) return JSON.parse(error.stdout).error.code;
    throw error;
  }
}

const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const segments = (token) => token.split(".");
const decodePart = (part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));

let server;
let origin;
let context;
const requests = [];
const hsPolicy = { algorithms: ["HS256"], secret: SECRET, issuer: ISSUER, audience: AUDIENCE };
let hs; // minted HS256 token: { token, jti, iat, exp, track }
let es; // minted ES256 token
let esJwks;
let otherEsJwks; // a different P-256 key under the same kid
let esPrivateJwk;

before(async () => {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: cargo build`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);

  const hsConfig = writeJson("hs.json", hsPolicy);
  hs = cli(["issue", "--config", hsConfig, "--sub", "alice", "--track", "4", "--ttl", "30m", "--claim", "scope=read write"]);

  const key = cli(["keygen", "--alg", "ES256", "--kid", "k1"]);
  const other = cli(["keygen", "--alg", "ES256", "--kid", "k1"]);
  esJwks = key.jwks;
  esPrivateJwk = key.private_jwk;
  otherEsJwks = other.jwks;
  const privateFile = writeJson("es-private.json", key.private_jwk);
  const esConfig = writeJson("es.json", { algorithms: ["ES256"], keys: esJwks, issuer: ISSUER, audience: AUDIENCE });
  es = cli(["issue", "--config", esConfig, "--key", privateFile, "--sub", "bob", "--track", "2", "--ttl", "2h"]);

  server = await servePage();
  origin = server.origin;
  context = await launchChromium(fs.mkdtempSync(path.join(tmp, "profile-")), { timezoneId: TIMEZONE, locale: "en-GB" });
  context.on("request", (request) => requests.push(request.url()));
});

after(async () => {
  await context?.close();
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh tab on the page, once the wasm module is ready. */
async function openPage() {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.goto(`${origin}/page/`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20_000 });
  page.errors = errors;
  return page;
}

/** Waits for the render that follows the last input, then returns what the verdict shows. */
async function verdict(page) {
  await page.waitForFunction(() => document.body.dataset.pending === undefined, null, { timeout: 5_000 });
  return page.$eval("#verdict", (node) => ({
    hidden: node.hidden,
    state: node.dataset.state,
    code: node.dataset.code,
    text: node.textContent.replace(/\s+/g, " ").trim(),
  }));
}

async function fillVerify(page, { token, key, algs = [], issuer = "", audience = "" }) {
  await page.fill("#token", token);
  await page.fill("#key", key);
  for (const alg of algs) await page.check(`#alg-${alg}`);
  await page.fill("#issuer", issuer);
  await page.fill("#audience", audience);
}

describe("introspection page in headless Chromium", () => {
  test("decodes a pasted token before any key: claims, header, times, track verdict and the unverified warning", async () => {
    const page = await openPage();
    await page.fill("#token", `Bearer ${hs.token}`);
    const v = await verdict(page);
    assert.equal(v.code, "not verified");
    assert.equal(v.state, "unchecked");

    assert.ok(await page.isVisible("#warning"), "the decoded-is-not-verified warning is shown");
    assert.match(await page.textContent("#warning"), /Decoded, not verified/);

    const claims = JSON.parse(await page.textContent("#claims"));
    assert.equal(claims.sub, "alice");
    assert.equal(claims.jti, hs.jti);
    assert.equal(claims.scope, "read write");
    assert.deepEqual(JSON.parse(await page.textContent("#header")), decodePart(segments(hs.token)[0]));

    assert.equal(await page.getAttribute("#track-verdict", "data-verdict"), "within_ceiling");
    const track = await page.textContent("#track");
    assert.match(track, /track\s*4/);
    assert.match(track, /1h 00m 00s \(3600 s\)/, "track 4's default ceiling");
    assert.match(track, /30m 00s \(1800 s\)/, "the token's lifetime");
    assert.equal(await page.getAttribute("#binding-kind", "data-kind"), "none", "a bearer token");

    const exp = await page.$eval('#times tr[data-claim="exp"]', (row) => [...row.children].map((c) => c.textContent));
    assert.equal(exp[0], "exp");
    assert.equal(exp[2], new Date(hs.exp * 1000).toISOString().replace(".000Z", "+00:00"), "UTC column");
    assert.equal(exp[3], String(hs.exp));
    assert.match(exp[1], /GMT\+5:30|IST/, `local column in ${TIMEZONE}: ${exp[1]}`);
    assert.match(exp[4], /^in (29m|30m)/);
    assert.match(await page.textContent("#time-left"), /^Time left: (29m|30m) /);
    assert.match(await page.textContent("#token-info"), /"Bearer " prefix removed/);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("a DPoP-bound token is shown as sender-constrained with its cnf.jkt", async () => {
    const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    const bound = cli(["issue", "--config", writeJson("hs.json", hsPolicy), "--sub", "alice", "--track", "4", "--ttl", "30m", "--claim", `cnf=${JSON.stringify({ jkt })}`]);
    const page = await openPage();
    await page.fill("#token", bound.token);
    await verdict(page);
    assert.equal(await page.getAttribute("#binding-kind", "data-kind"), "dpop");
    const text = await page.textContent("#binding");
    assert.match(text, /sender-constrained/);
    assert.ok(text.includes(jkt), text);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("a valid token with its secret and HS256 allowed shows the verdict valid with the track", async () => {
    const page = await openPage();
    await fillVerify(page, { token: hs.token, key: SECRET, algs: ["HS256"], issuer: ISSUER, audience: AUDIENCE });
    const v = await verdict(page);
    assert.equal(cliVerdict(hsPolicy, hs.token), "valid");
    assert.equal(v.code, "valid");
    assert.equal(v.state, "valid");
    assert.match(v.text, /track 4, ceiling 1h 00m 00s/);
    assert.match(v.text, /issuer and audience matched/);
    assert.match(v.text, /Signature checked in WebAssembly\./, "HMAC stays in the core");
    assert.match(await page.textContent("#key-info"), /HMAC secret of 48 bytes/);
    assert.equal(JSON.parse(await page.textContent("#claims")).jti, hs.jti);
    assert.equal(await page.getAttribute("#track-verdict", "data-verdict"), "within_ceiling");
    await page.screenshot({ path: "/tmp/page-valid.png", fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("the token's alg is allowed by one click, never by default", async () => {
    const page = await openPage();
    await page.fill("#token", hs.token);
    await page.fill("#key", SECRET);
    const v = await verdict(page);
    assert.equal(v.code, "not verified");
    assert.match(v.text, /Choose the algorithms you allow/);
    assert.equal(await page.isChecked("#alg-HS256"), false);
    assert.equal((await page.textContent("#use-header-alg")).trim(), "Allow HS256 (the token's alg)");
    await page.click("#use-header-alg");
    assert.equal((await verdict(page)).code, "valid");
    assert.equal(await page.isChecked("#alg-HS256"), true);
    assert.equal(await page.isHidden("#use-header-alg"), true);
    await page.close();
  });

  test("a tampered payload under the original signature shows bad_signature", async () => {
    const [header, payload, signature] = segments(hs.token);
    const claims = { ...decodePart(payload), sub: "mallory", scope: "admin" };
    const tampered = [header, b64url(claims), signature].join(".");
    const page = await openPage();
    await fillVerify(page, { token: tampered, key: SECRET, algs: ["HS256"], issuer: ISSUER, audience: AUDIENCE });
    const v = await verdict(page);
    assert.equal(cliVerdict(hsPolicy, tampered), "bad_signature");
    assert.equal(v.code, "bad_signature");
    assert.equal(v.state, "invalid");
    assert.match(v.text, /HTTP 401/);
    assert.doesNotMatch(v.text, /signature verified/i);
    // The forged claims are still shown, under the warning.
    assert.equal(JSON.parse(await page.textContent("#claims")).sub, "mallory");
    assert.ok(await page.isVisible("#warning"));
    await page.screenshot({ path: "/tmp/page-tampered.png", fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test("an alg none token shows alg_not_allowed even with its claims decoded", async () => {
    const payload = segments(hs.token)[1];
    const none = `${b64url({ alg: "none", typ: "JWT" })}.${payload}.`;
    const page = await openPage();
    await fillVerify(page, { token: none, key: SECRET, algs: ["HS256"], issuer: ISSUER, audience: AUDIENCE });
    const v = await verdict(page);
    assert.equal(cliVerdict(hsPolicy, none), "alg_not_allowed");
    assert.equal(v.code, "alg_not_allowed");
    assert.equal(JSON.parse(await page.textContent("#header")).alg, "none");
    assert.equal(JSON.parse(await page.textContent("#claims")).jti, hs.jti);
    assert.equal(await page.isHidden("#use-header-alg"), true, "no button offers to allow alg none");
    await page.screenshot({ path: "/tmp/page-alg-none.png", fullPage: true });
    await page.close();
  });

  test("an ES256 token verifies with a pasted JWKS through WebCrypto; another key under the same kid is bad_signature", async () => {
    const page = await openPage();
    await fillVerify(page, { token: es.token, key: JSON.stringify(esJwks), algs: ["ES256"] });
    const ok = await verdict(page);
    assert.equal(ok.code, "valid");
    assert.match(ok.text, /ES256, kid k1; track 2, ceiling 8h 00m 00s/);
    assert.match(ok.text, /issuer and audience not checked/);
    assert.match(ok.text, /Signature checked by the browser's WebCrypto\./);
    assert.match(await page.textContent("#key-info"), /a JWKS with 1 key/);

    // A single JWK works the same.
    await page.fill("#key", JSON.stringify(esJwks.keys[0]));
    assert.equal((await verdict(page)).code, "valid");
    assert.match(await page.textContent("#key-info"), /a JWK \(kty EC, kid k1\)/);
    assert.doesNotMatch(await page.textContent("#key-info"), /private/);

    // A private JWK verifies too (its public part), with a note that only the public key is needed.
    await page.fill("#key", JSON.stringify(esPrivateJwk));
    assert.equal((await verdict(page)).code, "valid");
    assert.match(await page.textContent("#key-info"), /holds private key members \(d\)/);

    await page.fill("#key", JSON.stringify(otherEsJwks));
    const bad = await verdict(page);
    assert.equal(cliVerdict({ algorithms: ["ES256"], keys: otherEsJwks, required_claims: [] }, es.token), "bad_signature");
    assert.equal(bad.code, "bad_signature");
    assert.match(bad.text, /Signature checked by the browser's WebCrypto\./);

    // The same key under another kid is not chosen at all.
    await page.fill("#key", JSON.stringify({ keys: [{ ...esJwks.keys[0], kid: "k2" }] }));
    assert.equal((await verdict(page)).code, "unknown_kid");
    await page.close();
  });

  test("a wrong issuer is reported after the signature verified", async () => {
    const page = await openPage();
    await fillVerify(page, { token: hs.token, key: SECRET, algs: ["HS256"], issuer: "https://other.example" });
    const v = await verdict(page);
    assert.equal(cliVerdict({ ...hsPolicy, issuer: "https://other.example", audience: undefined }, hs.token), "bad_issuer");
    assert.equal(v.code, "bad_issuer");
    assert.match(v.text, /The signature verified; then: iss is not the expected issuer/);
    await page.close();
  });

  test("a check time after exp shows expired and a negative time left", async () => {
    const page = await openPage();
    await fillVerify(page, { token: hs.token, key: SECRET, algs: ["HS256"] });
    await page.fill("#now", String(hs.exp + 3600));
    const v = await verdict(page);
    assert.equal(v.code, "expired");
    assert.match(await page.textContent("#time-left"), /^Expired 1h 00m 00s ago at the check time/);
    // An ISO date is taken too.
    await page.fill("#now", new Date((hs.iat + 60) * 1000).toISOString());
    assert.equal((await verdict(page)).code, "valid");
    assert.match(await page.textContent("#time-left"), /^Time left: 29m 00s at the check time/);
    await page.close();
  });

  test("a tracks section lowers the ceiling: exceeds_ceiling decoded, ttl_exceeds_track verified", async () => {
    const tracks = { ttl_s: { 4: 600 } };
    const page = await openPage();
    await fillVerify(page, { token: hs.token, key: SECRET, algs: ["HS256"] });
    await page.click("#advanced summary");
    await page.fill("#tracks", JSON.stringify(tracks));
    const v = await verdict(page);
    assert.equal(cliVerdict({ algorithms: ["HS256"], secret: SECRET, required_claims: [], tracks }, hs.token), "ttl_exceeds_track");
    assert.equal(v.code, "ttl_exceeds_track");
    assert.equal(await page.getAttribute("#track-verdict", "data-verdict"), "exceeds_ceiling");
    assert.match(await page.textContent("#track"), /10m 00s \(600 s\)/);
    await page.close();
  });

  test("a short secret is a config_error naming the field; bad JSON is reported as such", async () => {
    const page = await openPage();
    await fillVerify(page, { token: hs.token, key: "too short", algs: ["HS256"] });
    const v = await verdict(page);
    assert.equal(v.code, "config_error");
    assert.match(v.text, /secret: HMAC secret is 9 bytes/);
    await page.fill("#key", '{"keys": [');
    const json = await verdict(page);
    assert.match(json.text, /Not valid JSON/);
    assert.match(await page.textContent("#key-info"), /Not valid JSON/);
    await page.close();
  });

  test("a token that is not a JWS shows malformed instead of a decode", async () => {
    const page = await openPage();
    await page.fill("#token", "not-a-token");
    await verdict(page);
    assert.match(await page.textContent("#status"), /malformed/);
    assert.equal(await page.isHidden("#decoded"), true);
    await page.close();
  });

  test("the page fetched nothing but its own files from its own origin", () => {
    assert.ok(requests.length > 0);
    const foreign = requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith("data:"));
    assert.deepEqual(foreign, []);
    for (const file of ["/page/", "/page/page.mjs", "/page/page.css", "/dist/browser.mjs", "/dist/edge_jwt_bg.wasm"]) {
      assert.ok(requests.includes(`${origin}${file}`), `${file} was loaded`);
    }
  });
});
