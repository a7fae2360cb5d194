// Native signature checks (node:crypto, OpenSSL) against the core's own (jwt-compact in wasm):
// the two backends must give the same verdict, code for code, on every asymmetric algorithm
// for valid tokens and for hostile signatures — flipped bits, wrong lengths, another key,
// ECDSA r = 0 / s = 0 / r = n (CVE-2022-21449), high-s, Ed25519 s ≥ L, PSS with a salt of the
// wrong length. The core refuses wrong lengths before a host ever sees them.

import { test, describe } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";

import * as jose from "jose";
import * as E from "edge-jwt";

import * as h from "./helpers.mjs";

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "EdDSA"];
const P256_N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;

const hex = (n, bytes) => Buffer.from(n.toString(16).padStart(bytes * 2, "0"), "hex");
const withSignature = (token, sig) => `${token.split(".").slice(0, 2).join(".")}.${Buffer.from(sig).toString("base64url")}`;
const signatureOf = (token) => Buffer.from(token.split(".")[2], "base64url");

async function keyPair(alg) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, crv: alg === "EdDSA" ? "Ed25519" : undefined });
  return { publicKey, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid: `k-${alg}`, alg, use: "sig" } };
}

async function mint(alg, privateKey, claims = {}) {
  return new jose.SignJWT({ track: 2, ...claims })
    .setProtectedHeader({ alg, kid: `k-${alg}` })
    .setSubject("alice")
    .setIssuedAt()
    .setExpirationTime("1h")
    .setJti(crypto.randomUUID())
    .sign(privateKey);
}

/** Hostile variants of `token` for `alg`: name → token. */
async function corpus(alg, token, keys, other) {
  const sig = signatureOf(token);
  const flipped = Buffer.from(sig);
  flipped[flipped.length >> 1] ^= 1;
  const cases = {
    valid: token,
    flipped_bit: withSignature(token, flipped),
    truncated: withSignature(token, sig.subarray(0, sig.length - 1)),
    extended: withSignature(token, Buffer.concat([sig, Buffer.from([0])])),
    empty: withSignature(token, Buffer.alloc(0)),
    zeros: withSignature(token, Buffer.alloc(sig.length)),
    other_key: await mint(alg, other.privateKey, { jti: "x" }).then((t) => t.replace(/^[^.]+/, token.split(".")[0])),
  };
  if (alg === "ES256") {
    const r = BigInt(`0x${sig.subarray(0, 32).toString("hex")}`);
    const s = BigInt(`0x${sig.subarray(32).toString("hex")}`);
    cases.r_equals_n = withSignature(token, Buffer.concat([hex(P256_N, 32), hex(s, 32)]));
    cases.s_zero = withSignature(token, Buffer.concat([hex(r, 32), Buffer.alloc(32)]));
    cases.high_s = withSignature(token, Buffer.concat([hex(r, 32), hex(P256_N - s, 32)]));
  }
  if (alg === "EdDSA") {
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString("hex")}`);
    cases.s_plus_l = withSignature(token, Buffer.concat([sig.subarray(0, 32), hex(s + ED25519_L, 32).reverse()]));
  }
  if (alg.startsWith("PS")) {
    // The same signing input signed by OpenSSL with a 0-byte salt (RFC 7518 wants hash-length).
    const input = token.split(".").slice(0, 2).join(".");
    const hash = `sha${alg.slice(2)}`;
    const unsalted = crypto.sign(hash, Buffer.from(input), { key: crypto.createPrivateKey({ key: await jose.exportJWK(keys.privateKey), format: "jwk" }), padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 });
    cases.pss_salt_0 = withSignature(token, unsalted);
  }
  return cases;
}

const verdict = (r) => (r.ok ? "ok" : r.error.code);

describe("native (node:crypto) and wasm (jwt-compact) signature checks agree", () => {
  for (const alg of ASYMMETRIC) {
    test(alg, async () => {
      const keys = await keyPair(alg);
      const other = await keyPair(alg);
      const config = { algorithms: [alg], keys: { keys: [keys.jwk] } };
      const native = new E.Validator(config, { tokenCache: 0 });
      const wasm = new E.Validator(config, { tokenCache: 0, nativeCrypto: false });
      assert.equal(native.signatureBackend, "native");
      assert.equal(wasm.signatureBackend, "wasm");
      const token = await mint(alg, keys.privateKey);
      const cases = await corpus(alg, token, keys, other);
      const verdicts = {};
      for (const [name, t] of Object.entries(cases)) {
        const [n, w] = [verdict(await native.verify(t)), verdict(await wasm.verify(t))];
        assert.equal(n, w, `${alg} ${name}: native says ${n}, wasm says ${w}`);
        verdicts[name] = n;
      }
      assert.equal(verdicts.valid, "ok");
      for (const name of ["flipped_bit", "truncated", "extended", "empty", "zeros", "other_key"]) {
        assert.equal(verdicts[name], "bad_signature", `${alg} ${name}`);
      }
      if (alg === "ES256") {
        assert.equal(verdicts.r_equals_n, "bad_signature");
        assert.equal(verdicts.s_zero, "bad_signature");
        assert.equal(verdicts.high_s, "ok", "high-s is valid in JOSE; both backends accept it");
      }
      if (alg === "EdDSA") assert.equal(verdicts.s_plus_l, "bad_signature");
      if (alg.startsWith("PS")) assert.equal(verdicts.pss_salt_0, "bad_signature");
      // And after all that, the instance is still fine.
      assert.equal(verdict(await native.verify(token)), "ok");
    });
  }

  test("HMAC tokens verify with the native backend selected (their MAC stays in WebAssembly)", async () => {
    const config = { algorithms: ["HS256"], secret: h.SECRET };
    const v = new E.Validator(config);
    assert.equal(v.signatureBackend, "native");
    assert.equal(verdict(await v.verify(h.cliIssue({ config, track: 1 }).token)), "ok");
    assert.throws(() => new E.Validator(config, { nativeCrypto: "yes" }), TypeError);
  });
});
