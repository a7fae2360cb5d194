// Makes the provider fixtures' keys once (committed as keys.json; test keys only, never used
// anywhere else): per provider an RSA-2048 key and a self-signed certificate from openssl, so
// that the JWKS documents carry x5c/x5t/x5t#S256 as the providers publish them.
// Run: node tests/providers/make-keys.mjs > tests/providers/keys.json
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const names = ["auth0", "okta", "cognito", "entra", "google", "firebase", "keycloak", "github", "keycloak-enc"];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "provider-keys-"));
const out = {};
for (const name of names) {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
    "-days", "36500", "-subj", `/CN=edge-jwt ${name} fixture`], { stdio: "ignore" });
  const der = new crypto.X509Certificate(fs.readFileSync(cert)).raw;
  out[name] = {
    private_jwk: crypto.createPrivateKey(fs.readFileSync(key)).export({ format: "jwk" }),
    x5c: [der.toString("base64")],
    x5t: crypto.createHash("sha1").update(der).digest("base64url"),
    "x5t#S256": crypto.createHash("sha256").update(der).digest("base64url"),
  };
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(out, null, 1));
