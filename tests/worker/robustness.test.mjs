// Malformed input never crashes the isolate: a few hundred garbage inputs (random bytes, random
// base64url segments decoding to invalid UTF-8, deep JSON, tokens at and over the size limit,
// huge headers, signed tokens with garbage claims, garbage admin bodies) each get a 4xx answer
// with a known code, and afterwards a valid request still succeeds in the SAME isolate (its
// request counter kept counting).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";

import * as h from "./harness.mjs";

const MAX = 8192;
const policy = h.basePolicy({ gateway: { cookie: "session" }, max_token_bytes: MAX });
const mint = (opts = {}) => h.issue({ config: h.mintConfig(policy), ...opts });
const KNOWN = new Set([
  "malformed", "too_large", "unsupported_header", "alg_not_allowed", "unknown_kid", "bad_signature",
  "expired", "not_yet_valid", "iat_in_future", "bad_issuer", "bad_audience", "missing_claim",
  "invalid_claim", "ttl_exceeds_track", "unknown_track", "revoked", "missing_token",
]);

// Deterministic randomness, so a failure can be reproduced (seed printed on failure).
const SEED = Number(process.env.EDGE_JWT_FUZZ_SEED ?? 20260401);
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (n) => Math.floor(rand() * n);
const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
/** A header-safe value: visible Latin-1 and spaces, no leading/trailing space. */
const headerSafe = (n) =>
  Array.from({ length: n }, () => {
    const c = int(0xff - 0x20) + 0x21;
    return c === 0x7f ? "~" : String.fromCharCode(c);
  }).join("");

const HS = { alg: "HS256", typ: "JWT" };
const INVALID_UTF8 = [
  [0xc3, 0x28], [0xa0, 0xa1], [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0xbc], [0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf],
];

function garbageTokens() {
  const out = [];
  // Random bytes as the whole credential (Latin-1 visible characters).
  for (let i = 0; i < 80; i++) out.push(["random-bytes", headerSafe(1 + int(300))]);
  // Three random base64url segments.
  for (let i = 0; i < 60; i++) out.push(["random-segments", [0, 1, 2].map(() => bytes(int(120)).toString("base64url")).join(".")]);
  // Wrong segment counts and separators.
  for (const s of ["", ".", "..", "...", "a..b", ".a.b", "a.b.", "a.b.c.d", "a.b.c.d.e", "a b c", "a.b.c\t"]) out.push(["segments", s || "x"]);
  // Invalid UTF-8 inside otherwise fine JSON, signed with the real secret (so it reaches the parser).
  for (const seq of INVALID_UTF8) {
    const bad = Buffer.concat([Buffer.from('{"alg":"HS256","typ":"JWT","kid":"'), Buffer.from(seq), Buffer.from('"}')]);
    out.push(["utf8-header", h.signSegments(h.b64url(bad), h.b64json(h.standardClaims()))]);
    const claims = Buffer.from(JSON.stringify(h.standardClaims({ sub: "@@" })).replace('"@@"', '"\u0000"'));
    const badClaims = Buffer.concat([claims.subarray(0, claims.indexOf(0)), Buffer.from(seq), claims.subarray(claims.indexOf(0) + 1)]);
    out.push(["utf8-claims", h.signSegments(h.b64json(HS), h.b64url(badClaims))]);
  }
  // Deep JSON, as deep as fits under the size limit, in the header and in the (signed) payload.
  for (const depth of [64, 512, 2000, 3000]) {
    out.push(["deep-header-array", h.signSegments(h.b64url("[".repeat(depth) + "]".repeat(depth)), h.b64json(h.standardClaims()))]);
    out.push(["deep-header-object", h.signSegments(h.b64url('{"a":'.repeat(depth / 4) + "1" + "}".repeat(depth / 4)), h.b64json(h.standardClaims()))]);
    const deepClaims = JSON.stringify(h.standardClaims()).replace(/}$/, `,"x":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    out.push(["deep-claims", h.signSegments(h.b64json(HS), h.b64url(deepClaims))]);
  }
  // Sizes around the limit.
  const filler = (n) => "A".repeat(n);
  out.push(["size-limit", `${filler(MAX - 2 - 20)}.${filler(10)}.${filler(10)}`]);
  out.push(["size-limit+1", `${filler(MAX - 2 - 20 + 1)}.${filler(10)}.${filler(10)}`]);
  out.push(["size-4x", `${filler(MAX * 4)}.a.b`]);
  // Signed tokens whose claims are garbage: they pass the signature and exercise claim checks.
  const weird = [
    { exp: 1e309 }, { exp: -1 }, { exp: 1.5e300 }, { exp: "soon" }, { exp: null }, { exp: [1] }, { exp: { n: 1 } },
    { iat: -5 }, { iat: 1e30 }, { nbf: "x" }, { nbf: 1e30 }, { sub: { a: 1 } }, { sub: "x".repeat(400) },
    { aud: [] }, { aud: [1, 2] }, { aud: { a: 1 } }, { iss: 5 }, { jti: 7 }, { jti: "" }, { track: { t: 1 } },
    { track: 1e300 }, { track: -1 }, { track: "" }, { track: "4".repeat(3000) }, { scope: 5 }, { scp: { a: 1 } },
  ];
  for (const w of weird) out.push(["weird-claims", h.signHmac(HS, h.standardClaims(w))]);
  for (const header of [
    { alg: "HS256", typ: 5 }, { alg: 5 }, { alg: null }, { alg: ["HS256"] }, { alg: "HS256", kid: { a: 1 } },
    { alg: "HS256", kid: "k".repeat(6000) }, { alg: "HS256", crit: "exp" }, { alg: "HS256", crit: [] }, { alg: "HS256\u0000" },
    { alg: "RS256", jku: "http://127.0.0.1:1/jwks" }, { alg: "ES256", jwk: { kty: "EC" } }, {},
  ]) {
    out.push(["weird-header", h.signHmac(header.alg === "HS256" ? header : { ...header }, h.standardClaims())]);
  }
  // Duplicate keys (the second alg would be "none").
  out.push(["duplicate-keys", h.signSegments(h.b64url('{"alg":"HS256","alg":"none"}'), h.b64json(h.standardClaims()))]);
  return out;
}

describe("garbage never crashes the isolate", () => {
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy });
  });
  after(() => worker?.dispose());

  test(`a few hundred garbage inputs, then a valid request (seed ${SEED})`, async (t) => {
    const startRequests = (await worker.health()).isolate.requests;
    const tokens = garbageTokens();
    const sends = [];
    for (const [kind, token] of tokens) {
      sends.push([kind, () => worker.get(`/g/${kind}`, token)]);
      if (token.length < 4096) sends.push([`${kind}:cookie`, () => worker.get(`/g/${kind}`, null, { cookie: `session=${token}` })]);
    }
    // Huge and odd Authorization headers.
    for (const size of [16_384, 32_768]) sends.push(["huge-header", () => worker.get("/g/huge", "A".repeat(size))]);
    sends.push(["many-spaces", () => worker.json("/g/s", { headers: { authorization: `Bearer${" ".repeat(2000)}x` } })]);
    sends.push(["many-cookies", () => worker.get("/g/c", null, { cookie: Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join("; ") })]);
    // Garbage on the API endpoints.
    for (let i = 0; i < 20; i++) {
      const body = bytes(int(500));
      sends.push(["introspect-body", () => worker.json("/v1/introspect", { method: "POST", headers: { authorization: `Bearer ${h.ADMIN_TOKEN}`, "content-type": i % 2 ? "application/json" : "application/x-www-form-urlencoded" }, body })]);
      sends.push(["revoke-body", () => worker.json("/v1/revoke", { method: "POST", headers: { authorization: `Bearer ${h.ADMIN_TOKEN}`, "content-type": "application/json" }, body })]);
      sends.push(["refresh-token", () => worker.json("/v1/refresh", { method: "POST", headers: { authorization: `Bearer ${headerSafe(1 + int(200))}` } })]);
      sends.push(["logout-token", () => worker.json("/v1/logout", { method: "POST", headers: { authorization: `Bearer ${tokens[int(tokens.length)][1]}` } })]);
    }
    for (const json of ['{"jti":' + "[".repeat(5000) + "]".repeat(5000) + "}", '{"token":{"a":1}}', '{"before":1e400}', '{"sub":null}', "[]", "null", '"x"']) {
      sends.push(["revoke-json", () => worker.json("/v1/revoke", { method: "POST", headers: { authorization: `Bearer ${h.ADMIN_TOKEN}`, "content-type": "application/json" }, body: json })]);
      sends.push(["introspect-json", () => worker.json("/v1/introspect", { method: "POST", headers: { authorization: `Bearer ${h.ADMIN_TOKEN}`, "content-type": "application/json" }, body: json })]);
    }
    assert.ok(sends.length >= 300, `${sends.length} inputs`);
    t.diagnostic(`${sends.length} garbage requests`);

    const failures = [];
    let sent = 0;
    const BATCH = 16;
    for (let i = 0; i < sends.length; i += BATCH) {
      const batch = sends.slice(i, i + BATCH);
      const results = await Promise.all(batch.map(([, send]) => send()));
      sent += batch.length;
      results.forEach((r, j) => {
        const kind = batch[j][0];
        const gateway = !/^(introspect|revoke|refresh|logout)-/.test(kind);
        // Signed tokens with odd but permitted claims (scope: 5, track: "") may be accepted.
        const mayPass = kind.startsWith("weird-claims") && r.status === 200 && r.body?.ok === true;
        const ok = gateway
          ? mayPass || (r.status === 401 && KNOWN.has(r.body?.code))
          : r.status < 500 && typeof r.body === "object";
        if (!ok) failures.push(`${kind}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      });
    }
    assert.deepEqual(failures, [], `unexpected answers (seed ${SEED})`);

    // A valid request still succeeds, in the same isolate: its request counter kept counting.
    const valid = mint();
    const ok = await worker.get("/after/garbage", valid.token);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const health = await worker.health();
    assert.ok(
      health.isolate.requests >= startRequests + sent + 1,
      `the isolate restarted: ${health.isolate.requests} requests counted, ${startRequests + sent + 2} sent`,
    );
    assert.ok(!worker.logs.some((l) => /panicked|RuntimeError|unreachable/i.test(l)), "no panic in the log");
  });

  test("the rejection codes cover what the inputs were designed to hit", async () => {
    // A sample of the designed inputs, one request each, with the expected code.
    const expect = [
      ["size-limit+1", `${"A".repeat(MAX - 2 - 20 + 1)}.${"A".repeat(10)}.${"A".repeat(10)}`, "too_large"],
      ["deep-claims", h.signSegments(h.b64json(HS), h.b64url(JSON.stringify(h.standardClaims()).replace(/}$/, `,"x":${"[".repeat(2000)}${"]".repeat(2000)}}`))), "malformed"],
      ["utf8", h.signSegments(h.b64url(Buffer.concat([Buffer.from('{"alg":"HS256","kid":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), h.b64json(h.standardClaims())), "malformed"],
      ["exp-string", h.signHmac(HS, h.standardClaims({ exp: "soon" })), null],
    ];
    for (const [name, token, code] of expect) {
      const r = await worker.get(`/d/${name}`, token);
      assert.equal(r.status, 401, name);
      const core = h.cliVerify(h.mintConfig(policy), token);
      assert.equal(r.body.code, code ?? core.error.code, `${name}: Worker and CLI agree`);
      assert.equal(core.error.code, r.body.code, `${name}: CLI verdict`);
    }
  });

  test(
    "a validly signed token whose sub or jti is longer than a KV key allows is answered, not 503",
    async () => {
      for (const claims of [{ sub: "x".repeat(600) }, { jti: "j".repeat(600) }]) {
        const token = h.signHmac(HS, h.standardClaims(claims));
        const r = await worker.get("/long-id", token);
        assert.ok([200, 401].includes(r.status), `${Object.keys(claims)[0]}: ${r.status} ${JSON.stringify(r.body)}`);
        if (r.status === 401) {
          assert.equal(r.body.code, "invalid_claim");
          continue;
        }
        // Accepted, so it must also be revocable.
        const out = await worker.json("/v1/logout", { method: "POST", headers: { authorization: `Bearer ${token}` } });
        assert.equal(out.status, 200, JSON.stringify(out.body));
        h.assertRejected(await worker.get("/long-id", token), "revoked");
      }
    },
  );
});
