// Host crypto in the Worker: RSA, RSA-PSS, ECDSA and Ed25519 signatures are checked by
// workerd's WebCrypto, the rest stays the core's. The Worker (WebCrypto) and the CLI (the
// core natively, jwt-compact) must give the same verdict, code for code, on valid tokens and
// on hostile signatures — flipped bits, wrong lengths, another key, ECDSA r = n / s = 0 /
// r = s = 0 (CVE-2022-21449) / high-s, Ed25519 S + L, PSS with a 0-byte salt, RSA s + n and
// s = n — and the health counters show which backend checked them. The Worker's build carries
// no RustCrypto RSA, ECDSA or Ed25519 at all (Cargo feature `rust-asym` off): its module names
// none of those crates, and the range checks in front of WebCrypto (r, s in [1, n − 1], S < L,
// RSA s < n) are byte comparisons in the core.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

import * as h from "./harness.mjs";

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
// The group order n and the size of r and s, per ECDSA algorithm.
const ECDSA = {
  ES256: { n: BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"), bytes: 32, curve: "P-256", hash: "sha256" },
  ES384: {
    n: BigInt("0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"),
    bytes: 48,
    curve: "P-384",
    hash: "sha384",
  },
};
const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;
const b64 = (buf) => Buffer.from(buf).toString("base64url");
const hex = (n, bytes) => Buffer.from(n.toString(16).padStart(bytes * 2, "0"), "hex");

function keyPair(alg) {
  const { privateKey, publicKey } =
    alg in ECDSA
      ? crypto.generateKeyPairSync("ec", { namedCurve: ECDSA[alg].curve })
      : alg === "EdDSA"
        ? crypto.generateKeyPairSync("ed25519")
        : crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid: `k-${alg}`, alg } };
}

function sign(alg, privateKey, input, { saltLength } = {}) {
  const bits = alg.slice(2);
  if (alg === "EdDSA") return crypto.sign(null, Buffer.from(input), privateKey);
  if (alg in ECDSA) return crypto.sign(ECDSA[alg].hash, Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  if (alg.startsWith("PS")) {
    return crypto.sign(`sha${bits}`, Buffer.from(input), {
      key: privateKey,
      padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: saltLength ?? Number(bits) / 8,
    });
  }
  return crypto.sign(`sha${bits}`, Buffer.from(input), privateKey);
}

function mint(alg, privateKey, opts) {
  const now = h.now();
  const header = b64(JSON.stringify({ alg, kid: `k-${alg}`, typ: "JWT" }));
  const claims = { iss: h.ISSUER, aud: h.AUDIENCE, sub: "alice", track: 2, iat: now, exp: now + 600, jti: crypto.randomUUID() };
  const input = `${header}.${b64(JSON.stringify(claims))}`;
  return { input, token: `${input}.${b64(sign(alg, privateKey, input, opts))}` };
}

/** Hostile variants of a token for `alg`: name → token. */
function corpus(alg, keys, other) {
  const { input, token } = mint(alg, keys.privateKey);
  const sig = Buffer.from(token.split(".")[2], "base64url");
  const flipped = Buffer.from(sig);
  flipped[flipped.length >> 1] ^= 1;
  const cases = {
    valid: token,
    flipped_bit: `${input}.${b64(flipped)}`,
    truncated: `${input}.${b64(sig.subarray(0, sig.length - 1))}`,
    extended: `${input}.${b64(Buffer.concat([sig, Buffer.from([0])]))}`,
    zeros: `${input}.${b64(Buffer.alloc(sig.length))}`,
    other_key: `${input}.${b64(sign(alg, other.privateKey, input))}`,
  };
  if (alg in ECDSA) {
    const { n, bytes } = ECDSA[alg];
    const r = BigInt(`0x${sig.subarray(0, bytes).toString("hex")}`);
    const s = BigInt(`0x${sig.subarray(bytes).toString("hex")}`);
    cases.r_equals_n = `${input}.${b64(Buffer.concat([hex(n, bytes), hex(s, bytes)]))}`;
    cases.s_zero = `${input}.${b64(Buffer.concat([hex(r, bytes), Buffer.alloc(bytes)]))}`;
    cases.high_s = `${input}.${b64(Buffer.concat([hex(r, bytes), hex(n - s, bytes)]))}`;
    cases.s_equals_n = `${input}.${b64(Buffer.concat([hex(r, bytes), hex(n, bytes)]))}`;
    cases.r_plus_n = `${input}.${b64(Buffer.concat([hex(r + n < 1n << BigInt(8 * bytes) ? r + n : n + 1n, bytes), hex(s, bytes)]))}`;
    cases.r_all_ones = `${input}.${b64(Buffer.concat([Buffer.alloc(bytes, 0xff), hex(s, bytes)]))}`;
  }
  if (alg === "EdDSA") {
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString("hex")}`);
    cases.s_plus_l = `${input}.${b64(Buffer.concat([sig.subarray(0, 32), hex(s + ED25519_L, 32).reverse()]))}`;
    cases.s_equals_l = `${input}.${b64(Buffer.concat([sig.subarray(0, 32), hex(ED25519_L, 32).reverse()]))}`;
  }
  if (alg.startsWith("PS")) cases.pss_salt_0 = `${input}.${b64(sign(alg, keys.privateKey, input, { saltLength: 0 }))}`;
  if (alg.startsWith("RS") || alg.startsWith("PS")) {
    // s + n and s = n (RFC 8017 §5.2.2): signed until s + n fits the modulus length.
    const n = BigInt(`0x${Buffer.from(keys.jwk.n, "base64url").toString("hex")}`);
    for (let i = 0; i < 64 && !cases.s_plus_n; i++) {
      const other = mint(alg, keys.privateKey);
      const twin = BigInt(`0x${Buffer.from(other.token.split(".")[2], "base64url").toString("hex")}`) + n;
      if (twin < 1n << BigInt(8 * sig.length)) cases.s_plus_n = `${other.input}.${b64(hex(twin, sig.length))}`;
    }
    cases.s_equals_n = `${input}.${b64(hex(n, sig.length))}`;
  }
  return cases;
}

describe("WebCrypto in the Worker agrees with the core on every asymmetric algorithm", () => {
  const keys = Object.fromEntries(ASYMMETRIC.map((alg) => [alg, keyPair(alg)]));
  const others = Object.fromEntries(ASYMMETRIC.map((alg) => [alg, keyPair(alg)]));
  const policy = h.basePolicy({ algorithms: ASYMMETRIC, keys: ASYMMETRIC.map((alg) => keys[alg].jwk) });
  let worker;
  before(async () => {
    worker = await h.startWorker({ policy, secret: null });
  });
  after(() => worker?.dispose());

  for (const alg of ASYMMETRIC) {
    test(alg, async () => {
      const before = (await worker.health()).isolate.signatures;
      const cases = corpus(alg, keys[alg], others[alg]);
      for (const [name, token] of Object.entries(cases)) {
        const cli = h.cliVerify(policy, token);
        const expected = cli.ok ? "ok" : cli.error.code;
        const r = await worker.get("/api", token);
        const got = r.status === 200 ? "ok" : r.body.code;
        assert.equal(got, expected, `${alg} ${name}: Worker ${got}, core ${expected}`);
      }
      assert.equal(h.cliVerify(policy, cases.valid).ok, true, "the valid token is valid");
      // Out of range is refused by the core's byte comparisons, before WebCrypto sees it.
      for (const name of ["r_equals_n", "s_equals_n", "r_plus_n", "r_all_ones", "s_zero", "s_plus_l", "s_equals_l", "s_plus_n", "zeros"]) {
        if (!cases[name]) continue;
        const r = await worker.get("/api", cases[name]);
        assert.equal(r.status === 200 ? "ok" : r.body.code, "bad_signature", `${alg} ${name} is refused`);
      }
      const afterAll = (await worker.health()).isolate.signatures;
      assert.ok(afterAll.webcrypto > before.webcrypto, `${alg} went through WebCrypto: ${JSON.stringify(afterAll)}`);
      assert.equal(afterAll.wasm, before.wasm, `${alg}: no signature checked in wasm`);
    });
  }
});

// The crates of RustCrypto's RSA, ECDSA and Ed25519, as they appear in the mangled symbol names
// of the module cargo builds (before wasm-opt strips the names): their own items (`_ZN4p384…`)
// and their trait impls (`_$LT$p384..…`).
const RUSTCRYPTO = ["p256", "p384", "rsa", "num_bigint_dig", "ed25519_compact", "primeorder", "ecdsa", "crypto_bigint", "elliptic_curve"];

test("the Worker's module carries no RustCrypto RSA, ECDSA or Ed25519 (WebCrypto checks those)", () => {
  h.ensureBuilt();
  const raw = path.join(h.ROOT, "target/wasm32-unknown-unknown/wasm-release/edge_jwt.wasm");
  const names = fs.readFileSync(raw).toString("latin1");
  assert.ok((names.match(/_ZN8edge_jwt/g) ?? []).length > 100, "the module's names are readable");
  assert.ok(names.includes("_ZN4sha2"), "sha2 (HMAC) is found the same way");
  const pattern = new RegExp(`_ZN(?:${RUSTCRYPTO.map((c) => `${c.length}${c}`).join("|")})|\\$LT\\$(?:${RUSTCRYPTO.join("|")})\\.\\.`, "g");
  assert.deepEqual([...new Set(names.match(pattern) ?? [])], [], "no RustCrypto asymmetric code in the Worker");
});
