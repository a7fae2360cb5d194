// Arguments from JS callers, checked and put in the form the core takes: configs and requests
// as JSON text, times in seconds since the epoch, lifetimes in seconds.

import { ConfigError } from "./errors.mjs";

function checkConfigObject(config) {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError("the config must be an object (or its JSON text)");
  }
  return config;
}

/** The `tracks` section of a config (object or JSON text), for `inspect`. */
export function configTracks(config) {
  if (typeof config !== "string") return checkConfigObject(config).tracks;
  let parsed;
  try {
    parsed = JSON.parse(config);
  } catch (error) {
    throw new ConfigError(`the config is not valid JSON: ${error.message}`);
  }
  return checkConfigObject(parsed).tracks;
}

/** A config (object or JSON text) as JSON text; the core validates it. */
export function configJson(config) {
  if (typeof config === "string") return config;
  checkConfigObject(config);
  try {
    return JSON.stringify(config);
  } catch (error) {
    throw new ConfigError(`the config cannot be written as JSON: ${error.message}`);
  }
}

/** An object argument (or its JSON text) as JSON text; `what` names it in the TypeError. */
export function jsonArg(value, what) {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") throw new TypeError(`${what} must be an object or its JSON text`);
  return JSON.stringify(value);
}

/** `now` in seconds since the epoch: a number, a Date, or (default) the current time. */
export function nowOf(options) {
  const now = options?.now;
  if (now === undefined || now === null) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  if (typeof now === "number" && Number.isFinite(now) && now >= 0) return Math.floor(now);
  throw new TypeError("options.now must be seconds since the epoch (a non-negative number) or a Date");
}

const UNITS = { s: 1, sec: 1, secs: 1, m: 60, min: 60, mins: 60, h: 3600, hr: 3600, hrs: 3600, d: 86400, day: 86400, days: 86400 };

/** A lifetime: seconds, or a string such as `"30m"`, `"1h30m"`, `"90s"`, `"2d"`. */
export function ttlSeconds(ttl) {
  if (ttl === undefined || ttl === null) return undefined;
  if (typeof ttl === "number" && Number.isInteger(ttl) && ttl > 0) return ttl;
  if (typeof ttl === "string") {
    const parts = [...ttl.trim().matchAll(/(\d+)\s*([a-z]+)\s*/gy)];
    const consumed = parts.reduce((n, m) => n + m[0].length, 0);
    if (parts.length > 0 && consumed === ttl.trim().length && parts.every((m) => m[2] in UNITS)) {
      const total = parts.reduce((sum, m) => sum + Number(m[1]) * UNITS[m[2]], 0);
      if (total > 0 && Number.isSafeInteger(total)) return total;
    }
  }
  throw new TypeError(`ttl must be a positive number of seconds or a duration such as "30m" or "1h30m" (got ${JSON.stringify(ttl)})`);
}
