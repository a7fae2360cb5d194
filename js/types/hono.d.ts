// edge-jwt/hono: Hono middleware (Node, Deno, Bun, Workers, browsers' service workers).
import type { MiddlewareHandler } from "hono";
import type { Config, MiddlewareOptions, Validator, VerifyOk } from "./index.js";

export interface HonoEdgeJwtOptions extends MiddlewareOptions {
  /** Context variable holding the verified result (default "edgeJwt"). */
  contextKey?: string;
}

/**
 * Verifies each request like the edge-jwt Worker (Bearer header, else the policy's cookie;
 * revocation through the validator's store) and sets `c.get("edgeJwt")` to the verified result,
 * or answers 401 / 503 with the Worker's RFC 6750 response.
 */
export declare function edgeJwt(
  validatorOrConfig: Validator | Config | string,
  options?: HonoEdgeJwtOptions,
): MiddlewareHandler<{ Variables: { edgeJwt: VerifyOk | null } }>;

declare module "hono" {
  interface ContextVariableMap {
    /** The verified token; null on a `disabled` route or for an anonymous request on an `optional` one. */
    edgeJwt: VerifyOk | null;
  }
}
