// A CommonJS TypeScript consumer (require through the "require" condition and index.d.cts).
import edgeJwt = require("edge-jwt");
import hono = require("edge-jwt/hono");

export async function check(token: string): Promise<string> {
  const validator = new edgeJwt.Validator({ algorithms: ["HS256"], secret: "a-32-byte-or-longer-hmac-secret!!" });
  const result = await validator.verify(token);
  const middleware = hono.edgeJwt(validator);
  void middleware;
  // @ts-expect-error: ttlCeiling is a number
  const wrong: string = result.ok ? result.ttlCeiling : "";
  void wrong;
  return result.ok ? String(result.claims.sub) : result.error.code;
}
