// Errors: the two classes the package throws, the core's table of codes and statuses, and the
// conversion of what the wasm side throws (an object with `code` and `status`) into them.

import * as core from "#glue";

import { ensureReady } from "./loader.mjs";

/** A rejection or failure with one of the core's stable codes (`expired`, `revoked`, …). */
export class EdgeJwtError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = "EdgeJwtError";
    this.code = code;
    this.status = status ?? statusOf(code);
  }
}

/** An invalid configuration, key or argument to the core; the message names the field path. */
export class ConfigError extends EdgeJwtError {
  constructor(message) {
    super("config_error", message, 500);
    this.name = "ConfigError";
  }
}

let codeTable = null;
function codes() {
  if (!codeTable) {
    ensureReady();
    codeTable = Object.freeze(
      JSON.parse(core.errorCodes()).map(([code, status]) => Object.freeze({ code, status })),
    );
  }
  return codeTable;
}

function statusOf(code) {
  try {
    return codes().find((c) => c.code === code)?.status ?? 500;
  } catch {
    return 500;
  }
}

/** Every error code of the core with its HTTP status, in documentation order. */
export function errorCodes() {
  return codes();
}

/** Errors thrown by the wasm side carry `code` and `status`; JS TypeErrors pass through. */
export function fromCore(error) {
  if (error instanceof EdgeJwtError || !error || typeof error.code !== "string") return error;
  if (error.code === "config_error") return new ConfigError(error.message);
  return new EdgeJwtError(error.code, error.message, error.status);
}

/** `fn()`, with what the core throws converted by `fromCore`. */
export function callCore(fn) {
  try {
    return fn();
  } catch (error) {
    throw fromCore(error);
  }
}

/** A failed result: `{ ok: false, error: { code, message, status } }` (status from the code). */
export function failure(code, message, status) {
  return { ok: false, error: { code, message, status: status ?? statusOf(code) } };
}
