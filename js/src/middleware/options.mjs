// What both middlewares share: the validator from their arguments, the rejection log, and the
// header values they hand to the next handler.

import { refusalOf, Validator } from "../validator.mjs";

/** A Validator as given, or one made from a config with `options.store`, `options.tokenCache` and `options.dpopNonceKey`. */
export function validatorOf(validatorOrConfig, options) {
  if (validatorOrConfig instanceof Validator) return validatorOrConfig;
  return new Validator(validatorOrConfig, { store: options?.store, tokenCache: options?.tokenCache, dpopNonceKey: options?.dpopNonceKey });
}

/** `(outcome)` logging the core's rejection event through `options.log`, or null without one. */
export function reporter(options) {
  const log = options?.log;
  if (!log) return null;
  return (outcome) => {
    const text = refusalOf(outcome).log;
    if (typeof log === "function") log(JSON.parse(text));
    else console.log(text);
  };
}

/**
 * A header value as it travels on the wire: the Worker sends identity values as UTF-8 bytes,
 * and Node (like the Fetch API's Headers) holds header values as one character per byte. An
 * ASCII value is itself.
 */
export function wireValue(value) {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  return String.fromCharCode(...new TextEncoder().encode(value));
}
