// One corpus of asymmetric tokens for every host's signature check, so that the host's crypto
// (node:crypto in native-crypto.test.mjs, WebCrypto in workerd in webcrypto-workerd.test.mjs
// and in Chromium in tests/page/webcrypto.test.mjs) is held to the core's own (jwt-compact in
// wasm), code for code: a valid token and hostile signatures — a flipped bit, wrong lengths,
// zeros, another key under the same kid, ECDSA r = n / s = 0 (CVE-2022-21449's family) and
// high-s, Ed25519 S + L, PSS with a 0-byte salt, RSA s + n and s = n (RFC 8017 §5.2.2: the rsa
// crate once accepted s + n for PSS) — and an expired token, whose flipped signature must still
// be bad_signature (the signature is checked before any claim). Keys and signatures come from
// node:crypto (OpenSSL) only, so the corpus does not depend on the package under test.

import crypto from "node:crypto";

export const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
// The group order n and the size of r and s, per ECDSA algorithm.
const ECDSA = {
  ES256: { n: BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"), bytes: 32, curve: "P-256" },
  ES384: {
    n: BigInt("0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"),
    bytes: 48,
    curve: "P-384",
  },
};
const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;

const b64url = (data) => Buffer.from(data).toString("base64url");
const hex = (n, bytes) => Buffer.from(n.toString(16).padStart(bytes * 2, "0"), "hex");
const withSignature = (token, sig) => `${token.split(".").slice(0, 2).join(".")}.${b64url(sig)}`;
const signatureOf = (token) => Buffer.from(token.split(".")[2], "base64url");

function keyPair(alg) {
  if (alg in ECDSA) return crypto.generateKeyPairSync("ec", { namedCurve: ECDSA[alg].curve });
  if (alg === "EdDSA") return crypto.generateKeyPairSync("ed25519");
  return crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
}

/** The signature of `input` under `alg`, as JWS has it (ES256: r || s; PSS: `saltLength` bytes of salt). */
function sign(alg, input, privateKey, saltLength) {
  const data = Buffer.from(input);
  if (alg === "EdDSA") return crypto.sign(null, data, privateKey);
  const hash = `sha${alg.slice(2)}`;
  if (alg in ECDSA) return crypto.sign(hash, data, { key: privateKey, dsaEncoding: "ieee-p1363" });
  if (alg.startsWith("PS")) {
    return crypto.sign(hash, data, { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLength ?? Number(alg.slice(2)) / 8 });
  }
  return crypto.sign(hash, data, privateKey);
}

function mint(alg, privateKey, claims) {
  const input = `${b64url(JSON.stringify({ alg, kid: `k-${alg}`, typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign(alg, input, privateKey))}`;
}

/**
 * `{ alg, config, cases: { name: token }, expected: { name: "ok" | code }, distinct: [{ jti, exp,
 * token }] }` for `alg`: the policy (one public JWK with kid, alg and use), the tokens, the
 * verdict the core gives each, and 8 valid tokens with a jti each
 * (`ok` for valid and high-s, which JOSE accepts; `expired` for the intact expired token;
 * `bad_signature` for every other case).
 */
export function signatureCorpus(alg) {
  const keys = keyPair(alg);
  const other = keyPair(alg);
  const jwk = { ...keys.publicKey.export({ format: "jwk" }), kid: `k-${alg}`, alg, use: "sig" };
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: "alice", iat: now, exp: now + 3600, jti: crypto.randomUUID(), track: 2 };
  const token = mint(alg, keys.privateKey, claims);
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
    other_key: mint(alg, other.privateKey, claims),
  };
  // The order of checks: a bad signature is reported before any claim is looked at.
  const expired = mint(alg, keys.privateKey, { ...claims, iat: now - 7200, exp: now - 3600 });
  const expiredSig = signatureOf(expired);
  expiredSig[expiredSig.length >> 1] ^= 1;
  cases.expired = expired;
  cases.expired_flipped_bit = withSignature(expired, expiredSig);
  const expected = Object.fromEntries(Object.keys(cases).map((name) => [name, name === "valid" ? "ok" : name === "expired" ? "expired" : "bad_signature"]));
  if (alg in ECDSA) {
    const { n, bytes } = ECDSA[alg];
    const r = BigInt(`0x${sig.subarray(0, bytes).toString("hex")}`);
    const s = BigInt(`0x${sig.subarray(bytes).toString("hex")}`);
    cases.r_equals_n = withSignature(token, Buffer.concat([hex(n, bytes), hex(s, bytes)]));
    cases.s_zero = withSignature(token, Buffer.concat([hex(r, bytes), Buffer.alloc(bytes)]));
    cases.r_s_zero = withSignature(token, Buffer.alloc(2 * bytes));
    cases.high_s = withSignature(token, Buffer.concat([hex(r, bytes), hex(n - s, bytes)]));
    Object.assign(expected, { r_equals_n: "bad_signature", s_zero: "bad_signature", r_s_zero: "bad_signature", high_s: "ok" });
  }
  if (alg === "EdDSA") {
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString("hex")}`);
    cases.s_plus_l = withSignature(token, Buffer.concat([sig.subarray(0, 32), hex(s + ED25519_L, 32).reverse()]));
    expected.s_plus_l = "bad_signature";
  }
  if (alg.startsWith("RS") || alg.startsWith("PS")) {
    // s + n: the same number modulo n. Tokens are signed until s + n fits the modulus length.
    const n = BigInt(`0x${Buffer.from(jwk.n, "base64url").toString("hex")}`);
    const size = sig.length;
    for (let i = 0; i < 64; i++) {
      const candidate = i === 0 ? token : mint(alg, keys.privateKey, { ...claims, jti: `${claims.jti}-${i}` });
      const twin = BigInt(`0x${signatureOf(candidate).toString("hex")}`) + n;
      if (twin < 1n << BigInt(8 * size)) {
        cases.s_plus_n = withSignature(candidate, hex(twin, size));
        break;
      }
    }
    cases.s_equals_n = withSignature(token, hex(n, size));
    Object.assign(expected, { s_plus_n: "bad_signature", s_equals_n: "bad_signature" });
    if (!cases.s_plus_n) delete expected.s_plus_n;
  }
  if (alg.startsWith("PS")) {
    // The same signing input with a 0-byte salt (RFC 7518 §3.5 wants the hash's length).
    const input = token.split(".").slice(0, 2).join(".");
    cases.pss_salt_0 = withSignature(token, sign(alg, input, keys.privateKey, 0));
    expected.pss_salt_0 = "bad_signature";
  }
  // Distinct valid tokens (one jti each), for many verifications at once with revocation.
  const distinct = Array.from({ length: 8 }, (_, i) => {
    const jti = `${alg}-${i}-${crypto.randomUUID()}`;
    return { jti, exp: claims.exp, token: mint(alg, keys.privateKey, { ...claims, sub: `user-${i}`, jti }) };
  });
  return { alg, config: { algorithms: [alg], keys: { keys: [jwk] } }, cases, expected, distinct };
}

/** A verification result as one word: `ok` or its error code. */
export const verdictOf = (result) => (result.ok ? "ok" : result.error.code);
