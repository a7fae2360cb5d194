// The native checks really run in node:crypto: a silent fall-back to the core's own crypto would
// give the same verdicts (native-crypto.test.mjs), so here node:crypto's two verification entry
// points are wrapped before the package loads, and each algorithm must reach the one it uses.

import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";

const seen = [];
const { createVerify, verify } = crypto;
crypto.createVerify = (hash, ...rest) => (seen.push(`createVerify ${hash}`), createVerify(hash, ...rest));
crypto.verify = (hash, ...rest) => (seen.push(`verify ${hash}`), verify(hash, ...rest));
syncBuiltinESMExports();

const jose = await import("jose");
const E = await import("edge-jwt");

const EXPECTED = { RS256: "createVerify sha256", PS256: "createVerify sha256", ES256: "createVerify sha256", EdDSA: "verify null" };

for (const [alg, call] of Object.entries(EXPECTED)) {
  test(`${alg} signatures are checked by node:crypto (${call})`, async () => {
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: "k", alg };
    const token = await new jose.SignJWT({ track: 1, jti: "j-1" }).setProtectedHeader({ alg, kid: "k" }).setSubject("alice").setIssuedAt().setExpirationTime("10m").sign(privateKey);
    const v = new E.Validator({ algorithms: [alg], keys: { keys: [jwk] } }, { tokenCache: 0 });
    seen.length = 0;
    assert.equal(v.verifySync(token).ok, true);
    assert.deepEqual(seen, [call]);
    const [header, payload, signature] = token.split(".");
    const flipped = Buffer.from(signature, "base64url");
    flipped[3] ^= 1;
    seen.length = 0;
    assert.equal(v.verifySync(`${header}.${payload}.${flipped.toString("base64url")}`).error.code, "bad_signature");
    assert.deepEqual(seen, [call], "a bad signature is refused by node:crypto too");
  });
}
