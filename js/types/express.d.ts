// edge-jwt/express: Express (4 and 5), Connect and node:http middleware.
import type { Config, MiddlewareOptions, Validator, VerifyOk } from "./index.js";

export interface ExpressEdgeJwtOptions extends MiddlewareOptions {
  /** Request property holding the verified result (default "edgeJwt"). */
  requestKey?: string;
  /** Kept for compatibility: client-sent `x-edge-jwt-*` headers are always replaced by the verified identity now. */
  identityHeaders?: boolean;
  /** Match route literals ignoring case (default true: Express routers and mounted apps ignore case unless each is configured otherwise; pass false only when every router is case-sensitive). */
  caseInsensitive?: boolean;
}

/** The request as the middleware reads it. */
export interface NodeRequestLike {
  headers: Record<string, string | string[] | undefined>;
  url?: string;
  originalUrl?: string;
}

/** The response as the middleware writes it. */
export interface NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/**
 * Verifies each request like the edge-jwt Worker and sets `req.edgeJwt` to the verified result,
 * or answers 400 / 401 / 403 / 503 with the Worker's response; `req.url` becomes the canonical path.
 */
export declare function edgeJwt(
  validatorOrConfig: Validator | Config | string,
  options?: ExpressEdgeJwtOptions,
): (req: any, res: any, next: (error?: unknown) => void) => void;

declare global {
  namespace Express {
    interface Request {
      /** Set by edge-jwt's middleware: the verified token, or null (unchecked or anonymous request). */
      edgeJwt?: VerifyOk | null;
    }
  }
}
