// The introspection page: everything runs here, in the browser, on the edge-jwt package's browser
// build. `inspect` decodes (UNVERIFIED) and gives times and the track verdict; a `Validator` built
// from the pasted key and the chosen algorithms gives the verdict with the core's exact code
// (`verify()`: RSA, ECDSA and Ed25519 signatures are checked by the browser's WebCrypto).
// Nothing is fetched but the package's own files, nothing is stored; every value is written with
// textContent, never as HTML.

import { init, inspect, Validator, humanDuration } from "../dist/browser.mjs";

const ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "EdDSA"];

// What each code means here (README "Error codes" / "Order of checks"). Claim and track codes are
// only reached after the signature verified, so they say so. EXPLAIN has an entry for every code
// of src/error.rs (tests/error_codes.rs checks), although the page itself reaches only the
// verification codes and config_error; the others are answers of gateways, revocation and refresh.
const AFTER_SIGNATURE = new Set([
  "expired",
  "not_yet_valid",
  "iat_in_future",
  "bad_issuer",
  "bad_audience",
  "missing_claim",
  "invalid_claim",
  "ttl_exceeds_track",
  "unknown_track",
]);
const EXPLAIN = {
  malformed: "Not a well-formed compact JWS: three base64url segments holding JSON objects.",
  too_large: "The token is longer than the policy's max_token_bytes.",
  unsupported_header: "The header uses crit or b64: false, which edge-jwt refuses.",
  alg_not_allowed: "The header's alg is not among the allowed algorithms (alg none never is), or no configured key can verify it.",
  unknown_kid: "No configured key has the header's kid.",
  bad_signature: "The signature does not match: a different key signed it, or the token was altered.",
  expired: "The token has expired (exp + leeway is not after the check time).",
  not_yet_valid: "The token is not valid yet (nbf − leeway is after the check time).",
  iat_in_future: "The token says it was issued in the future (iat after check time + leeway).",
  bad_issuer: "iss is not the expected issuer.",
  bad_audience: "aud does not name the expected audience.",
  missing_claim: "A required claim is missing.",
  invalid_claim: "A claim has the wrong type or an impossible value.",
  ttl_exceeds_track: "The lifetime (exp − iat) is longer than the ceiling of the token's track.",
  unknown_track: "The track is not in the policy's table and unknown tracks are refused.",
  revoked: "The token is revoked: by its jti, by its subject, or by a global revocation time.",
  revocation_unavailable: "The revocation store could not be read, so the token is refused (fail closed).",
  config_error: "The key or the policy built from these inputs is not usable.",
  missing_token: "The request carries no bearer token.",
  insufficient_scope: "The route needs a scope the token does not grant.",
  track_not_allowed: "The token's track may not use the route.",
  jwks_unavailable: "The remote JWKS cannot be fetched and the last good copy is too old.",
  malformed_request: "The request path cannot be decided on safely (an encoded / or \\, a NUL or control character, a ; parameter, a bad escape, or .. above the root).",
  session_expired: "The session began longer ago than its track's max_session_s allows: log in again.",
  cross_site_request: "A refresh or logout authenticated by cookie was sent from another site.",
  insufficient_role: "The route needs a role the token does not hold.",
  claim_mismatch: "A claim of the token does not satisfy the route's rule (or is missing).",
  invalid_dpop_proof: "The DPoP proof is missing, duplicated, or fails a check: typ, alg, public jwk, signature, jti, htm, htu, iat window or ath.",
  use_dpop_nonce: "The route requires a server nonce in the DPoP proof: retry with the DPoP-Nonce of the answer.",
  dpop_required: "The token is DPoP-bound (cnf.jkt) or the route requires DPoP, and it was presented as a Bearer token.",
  dpop_binding_mismatch: "The DPoP proof was made with another key than the one the token is bound to (cnf.jkt).",
  mtls_binding_mismatch: "The token is bound to a client certificate (cnf x5t#S256) that was not presented, not verified, or not the same.",
  binding_required: "The route requires a sender-constrained token (DPoP or certificate-bound) and this token is not.",
  dpop_replayed: "This DPoP proof was already used: each request needs a fresh proof.",
  dpop_replay_unavailable: "Too many recent DPoP proofs to check this one for replay; retry shortly.",
};
const TRACK_VERDICT = {
  within_ceiling: "lifetime within the track's ceiling",
  exceeds_ceiling: "lifetime over the track's ceiling: edge-jwt refuses it (ttl_exceeds_track)",
  unknown_track: "track not in the table: refused (unknown_track)",
  invalid_claim: "the track claim has the wrong type: refused (invalid_claim)",
  no_exp: "no exp claim: edge-jwt refuses it (every track has a ceiling)",
};

const $ = (id) => document.getElementById(id);
const els = {
  token: $("token"),
  tokenInfo: $("token-info"),
  key: $("key"),
  keyInfo: $("key-info"),
  algs: $("algs"),
  useHeaderAlg: $("use-header-alg"),
  issuer: $("issuer"),
  audience: $("audience"),
  leeway: $("leeway"),
  required: $("required"),
  tracks: $("tracks"),
  now: $("now"),
  status: $("status"),
  verdict: $("verdict"),
  verdictCode: $("verdict-code"),
  verdictTitle: $("verdict-title"),
  verdictDetail: $("verdict-detail"),
  verdictMessage: $("verdict-message"),
  decoded: $("decoded"),
  warningText: $("warning-text"),
  track: $("track"),
  binding: $("binding"),
  timeLeft: $("time-left"),
  times: document.querySelector("#times tbody"),
  claims: $("claims"),
  header: $("header"),
};

const localTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function list(text) {
  const items = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length === 0 ? undefined : items.length === 1 ? items[0] : items;
}

function duration(seconds) {
  return humanDuration(seconds);
}

function relative(seconds) {
  if (seconds === 0) return "now";
  return seconds > 0 ? `in ${duration(seconds)}` : `${duration(-seconds)} ago`;
}

/** The check time: `{ now }` for the core (undefined = the live clock), or an error text. */
function checkTime() {
  const text = els.now.value.trim();
  if (!text) return { now: undefined, live: true };
  if (/^\d+$/.test(text)) return { now: Number(text), live: false };
  const ms = Date.parse(text);
  if (Number.isNaN(ms) || ms < 0) return { error: `"${text}" is neither Unix seconds nor a date` };
  return { now: Math.floor(ms / 1000), live: false };
}

function nowSeconds(time) {
  return time.now ?? Math.floor(Date.now() / 1000);
}

/** The token as pasted, without surrounding space and a `Bearer ` prefix. */
function tokenText() {
  const raw = els.token.value.trim();
  const m = /^bearer\s+/i.exec(raw);
  return { token: m ? raw.slice(m[0].length).trim() : raw, strippedBearer: Boolean(m) };
}

/** The pasted key: `{ secret }`, `{ keys }`, `{ error }` or null when empty. */
function keyMaterial() {
  const text = els.key.value.trim();
  if (!text) return null;
  if (text.startsWith("{") || text.startsWith("[")) {
    let value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { error: `Not valid JSON: ${error.message}` };
    }
    if (Array.isArray(value)) return { keys: value, kind: `a list of ${value.length} JWK${value.length === 1 ? "" : "s"}` };
    if (value && Array.isArray(value.keys)) {
      return { keys: value, kind: `a JWKS with ${value.keys.length} key${value.keys.length === 1 ? "" : "s"}` };
    }
    // `edge-jwt keygen` output: its public set.
    if (value && value.jwks && Array.isArray(value.jwks.keys)) return { keys: value.jwks, kind: "the jwks of a keygen output" };
    if (value && typeof value.kty === "string") {
      const kid = typeof value.kid === "string" ? `, kid ${value.kid}` : "";
      return { keys: [value], kind: `a JWK (kty ${value.kty}${kid})` };
    }
    return { error: "JSON, but not a JWK, a list of JWKs or a JWKS ({\"keys\": […]})" };
  }
  const bytes = new TextEncoder().encode(text).length;
  return { secret: text, kind: `an HMAC secret of ${bytes} bytes (UTF-8; surrounding spaces ignored)` };
}

const PRIVATE_NOTE = " It holds private key members (d): only its public part is used to verify. Nothing leaves this page, but prefer the public JWK.";
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/** The keys with asymmetric private members dropped: a validator takes public keys only. */
function publicParts(keys) {
  const strip = (jwk) => (jwk && typeof jwk === "object" && jwk.kty !== "oct" ? Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name))) : jwk);
  if (Array.isArray(keys)) return keys.map(strip);
  return Array.isArray(keys?.keys) ? { ...keys, keys: keys.keys.map(strip) } : keys;
}

/** Whether a pasted JWK set carries an asymmetric private key (`d`). */
function holdsPrivateKey(keys) {
  if (!keys) return false;
  const list = Array.isArray(keys) ? keys : keys.keys;
  return list.some((jwk) => jwk && typeof jwk === "object" && jwk.kty !== "oct" && "d" in jwk);
}

function chosenAlgorithms() {
  return [...els.algs.querySelectorAll("input:checked")].map((box) => box.value);
}

/** The advanced `tracks` section: undefined, an object, or `{ error }`. */
function tracksSection() {
  const text = els.tracks.value.trim();
  if (!text) return undefined;
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) return { error: "tracks must be a JSON object" };
    return { value };
  } catch (error) {
    return { error: `tracks: not valid JSON: ${error.message}` };
  }
}

// One validator per distinct config; the config JSON is the cache key.
let cached = { json: null, validator: null, error: null };
function validatorFor(config) {
  const json = JSON.stringify(config);
  if (cached.json !== json) {
    try {
      cached = { json, validator: new Validator(json, { tokenCache: 0 }), error: null };
    } catch (error) {
      cached = { json, validator: null, error };
    }
  }
  return cached;
}

function setVerdict(state, code, title, detail, message) {
  els.verdict.hidden = false;
  els.verdict.dataset.state = state;
  els.verdict.dataset.code = code;
  els.verdictCode.textContent = code;
  els.verdictTitle.textContent = title;
  els.verdictDetail.textContent = detail ?? "";
  els.verdictDetail.hidden = !detail;
  els.verdictMessage.textContent = message ?? "";
  els.verdictMessage.hidden = !message;
}

/** Who checked the signature of the verification just made, from the validator's counters. */
function checkedBy(before, after) {
  if (after.host > before.host) return "Signature checked by the browser's WebCrypto.";
  if (after.wasm > before.wasm) return "Signature checked in WebAssembly.";
  return "";
}

// Verifications resolve asynchronously (WebCrypto): each render starts a new run, and only the
// latest run's verdict is shown; `data-pending` stays on <body> while it is awaited.
let verdictRun = 0;

function renderVerdict(token, time) {
  const run = verdictRun;
  const key = keyMaterial();
  const tracks = tracksSection();
  if (key) els.keyInfo.textContent = key.error ? key.error : `Read as ${key.kind}.${holdsPrivateKey(key.keys) ? PRIVATE_NOTE : ""}`;
  else els.keyInfo.textContent = "Without a key the token is only decoded.";
  els.keyInfo.classList.toggle("bad", Boolean(key?.error));

  if (!key) {
    setVerdict("unchecked", "not verified", "Decoded only: paste a secret, JWK or JWKS to check the signature.");
    return;
  }
  if (key.error) {
    setVerdict("config", "config_error", "The key could not be read.", undefined, key.error);
    return;
  }
  const algorithms = chosenAlgorithms();
  if (algorithms.length === 0) {
    setVerdict("unchecked", "not verified", "Choose the algorithms you allow.",
      "The allow-list is part of the policy: edge-jwt never takes the algorithm from the token.");
    return;
  }
  if (tracks?.error) {
    setVerdict("config", "config_error", "The tracks section could not be read.", undefined, tracks.error);
    return;
  }

  const config = { algorithms, required_claims: list(els.required.value) ?? [] };
  if (!Array.isArray(config.required_claims)) config.required_claims = [config.required_claims];
  if (key.secret !== undefined) config.secret = key.secret;
  else config.keys = publicParts(key.keys);
  const issuer = list(els.issuer.value);
  const audience = list(els.audience.value);
  if (issuer !== undefined) config.issuer = issuer;
  if (audience !== undefined) config.audience = audience;
  if (els.leeway.value.trim() !== "") config.leeway_s = Number(els.leeway.value);
  if (tracks) config.tracks = tracks.value;

  const { validator, error } = validatorFor(config);
  if (!validator) {
    setVerdict("config", error?.code ?? "config_error", EXPLAIN.config_error, undefined, error?.message ?? String(error));
    return;
  }
  const before = validator.stats().signatures;
  document.body.dataset.pending = "true";
  const settle = (show) => {
    if (run !== verdictRun) return;
    if (pending === 0) delete document.body.dataset.pending;
    show();
  };
  validator.verify(token, { now: time.now }).then(
    (result) => settle(() => showResult(result, checkedBy(before, validator.stats().signatures), { issuer, audience })),
    (error) => settle(() => setVerdict("config", error?.code ?? "error", "The check could not be made.", undefined, error?.message ?? String(error))),
  );
}

function showResult(result, checked, { issuer, audience }) {
  if (result.ok) {
    const ceiling = `${duration(result.ttlCeiling)} (${result.ttlCeiling} s)`;
    const track = result.track === null ? "no track claim" : `track ${result.track}`;
    const kid = result.header.kid ? `, kid ${result.header.kid}` : "";
    const scope = [issuer && "issuer", audience && "audience"].filter(Boolean).join(" and ");
    setVerdict(
      "valid",
      "valid",
      "Signature, claims and track check out.",
      `${result.header.alg}${kid}; ${track}, ceiling ${ceiling}${scope ? `; ${scope} matched` : "; issuer and audience not checked (none given)"}. ${checked}`.trim(),
    );
    return;
  }
  const { code, message, status } = result.error;
  const after = AFTER_SIGNATURE.has(code) ? "The signature verified; then: " : "";
  setVerdict("invalid", code, `${after}${EXPLAIN[code] ?? ""}`, `A gateway would answer HTTP ${status}. ${checked}`.trim(), message);
}

function renderTrack(track) {
  els.track.replaceChildren();
  const rows = [
    ["track", track.track ?? "(no track claim)"],
    ["ceiling", track.ttlCeiling === null ? "–" : `${duration(track.ttlCeiling)} (${track.ttlCeiling} s)`],
    ["lifetime", track.lifetime === null ? "–" : `${duration(track.lifetime)} (${track.lifetime} s)`],
  ];
  for (const [name, value] of rows) els.track.append(el("dt", name), el("dd", value));
  const verdict = el("dd");
  verdict.id = "track-verdict";
  verdict.dataset.verdict = track.verdict;
  verdict.append(el("span", track.verdict, `code ${track.verdict === "within_ceiling" ? "good" : "bad"}`), ` ${TRACK_VERDICT[track.verdict] ?? ""}`);
  els.track.append(el("dt", "verdict"), verdict);
}

const BINDING = {
  dpop: "DPoP-bound (RFC 9449): a gateway accepts it only with the DPoP scheme and a proof signed by the key with this thumbprint; as a bearer token it is refused (dpop_required).",
  mtls: "certificate-bound (RFC 8705): a gateway accepts it only over a TLS connection whose verified client certificate has this thumbprint (else mtls_binding_mismatch).",
  "dpop+mtls": "bound both to a DPoP key and to a client certificate: both are checked.",
  none: "not sender-constrained: a bearer token, good for whoever holds it.",
  invalid: "the cnf claim cannot be read as a binding: a gateway refuses the token (invalid_claim).",
};

function renderBinding(binding) {
  els.binding.replaceChildren();
  if (!binding) return;
  const kind = el("dd");
  kind.id = "binding-kind";
  kind.dataset.kind = binding.kind;
  kind.append(el("span", binding.senderConstrained ? "sender-constrained" : binding.kind === "invalid" ? "invalid cnf" : "bearer", `code ${binding.kind === "invalid" ? "bad" : "good"}`), ` ${BINDING[binding.kind] ?? ""}`);
  els.binding.append(el("dt", "binding"), kind);
  if (binding.jkt) els.binding.append(el("dt", "cnf.jkt"), el("dd", binding.jkt));
  if (binding.x5tS256) els.binding.append(el("dt", "cnf.x5t#S256"), el("dd", binding.x5tS256));
}

function renderTimes(inspection, time) {
  const now = nowSeconds(time);
  els.times.replaceChildren();
  if (inspection.times.length === 0) {
    const row = el("tr");
    const cell = el("td", "no exp, nbf or iat claim");
    cell.colSpan = 5;
    row.append(cell);
    els.times.append(row);
  }
  for (const t of inspection.times) {
    const row = el("tr");
    row.dataset.claim = t.claim;
    const rel = el("td", relative(t.unix - now));
    rel.dataset.unix = String(t.unix);
    rel.className = "rel";
    row.append(el("th", t.claim), el("td", localTime.format(new Date(t.unix * 1000))), el("td", t.utc), el("td", String(t.unix)), rel);
    els.times.append(row);
  }
  renderTimeLeft(inspection, time);
}

function renderTimeLeft(inspection, time) {
  const left = inspection.timeLeft;
  els.timeLeft.dataset.left = left === null ? "" : String(left);
  if (left === null) els.timeLeft.textContent = "No exp claim: never expires by itself (edge-jwt refuses such tokens).";
  else if (left > 0) els.timeLeft.textContent = `Time left: ${duration(left)}${time.live ? "" : " at the check time"}.`;
  else els.timeLeft.textContent = `Expired ${duration(-left)} ago${time.live ? "" : " at the check time"}.`;
  els.timeLeft.classList.toggle("bad", left === null || left <= 0);
}

function renderUseHeaderAlg(inspection) {
  const alg = inspection?.header?.alg;
  const box = typeof alg === "string" ? els.algs.querySelector(`input[value="${CSS.escape(alg)}"]`) : null;
  if (box && !box.checked && keyMaterial()) {
    els.useHeaderAlg.hidden = false;
    els.useHeaderAlg.textContent = `Allow ${alg} (the token's alg)`;
    els.useHeaderAlg.dataset.alg = alg;
  } else {
    els.useHeaderAlg.hidden = true;
  }
}

let current = null; // { inspection, time } while a decoded token is shown, for the clock tick

function render() {
  current = null;
  verdictRun += 1; // a verification still under way is superseded
  if (pending === 0) delete document.body.dataset.pending;
  const { token, strippedBearer } = tokenText();
  const time = checkTime();
  els.now.classList.toggle("bad", Boolean(time.error));
  if (!token) {
    els.status.hidden = false;
    els.status.className = "status";
    els.status.textContent = "Paste a token to decode it.";
    els.tokenInfo.textContent = "";
    els.verdict.hidden = true;
    els.decoded.hidden = true;
    renderUseHeaderAlg(null);
    return;
  }
  if (time.error) {
    els.status.hidden = false;
    els.status.className = "status bad";
    els.status.textContent = `Check time: ${time.error}.`;
    els.verdict.hidden = true;
    els.decoded.hidden = true;
    return;
  }
  const bytes = new TextEncoder().encode(token).length;
  els.tokenInfo.textContent = `${token.split(".").length} segments, ${bytes} bytes${strippedBearer ? ' ("Bearer " prefix removed)' : ""}.`;

  const tracks = tracksSection();
  let inspection;
  try {
    inspection = inspect(token, { now: time.now, tracks: tracks && !tracks.error ? tracks.value : undefined });
  } catch (error) {
    els.status.hidden = false;
    els.status.className = "status bad";
    els.status.replaceChildren(el("span", error.code ?? "error", "code bad"), ` ${error.message}`);
    els.decoded.hidden = true;
    renderUseHeaderAlg(null);
    renderVerdict(token, time);
    return;
  }
  els.status.hidden = true;
  els.decoded.hidden = false;
  els.warningText.textContent =
    "The header and claims below were decoded without checking the signature: anyone can write them. Only the verdict above, with a key you trust, says who signed them.";
  els.header.textContent = JSON.stringify(inspection.header, null, 2);
  els.claims.textContent = inspection.claims === null ? "(the payload is not a JSON object)" : JSON.stringify(inspection.claims, null, 2);
  renderTrack(inspection.track);
  renderBinding(inspection.binding);
  renderTimes(inspection, time);
  renderUseHeaderAlg(inspection);
  renderVerdict(token, time);
  current = { inspection, time, token };
}

// The live clock: relative times and time left move every second; when the token crosses exp
// (or nbf) the whole verdict is redone.
function tick() {
  if (!current || !current.time.live) return;
  const now = Math.floor(Date.now() / 1000);
  for (const cell of els.times.querySelectorAll("td.rel")) cell.textContent = relative(Number(cell.dataset.unix) - now);
  const exp = current.inspection.times.find((t) => t.claim === "exp");
  if (exp) {
    const left = exp.unix - now;
    const wasAlive = current.inspection.timeLeft > 0;
    renderTimeLeft({ timeLeft: left }, current.time);
    if (wasAlive !== left > 0) render();
  }
}

// Typing re-renders after a short pause; `data-pending` on <body> marks a render still to come
// (the browser tests wait for it to go).
let pending = 0;
function schedule() {
  clearTimeout(pending);
  document.body.dataset.pending = "true";
  pending = setTimeout(() => {
    pending = 0;
    delete document.body.dataset.pending;
    render();
  }, 40);
}

function buildAlgorithmBoxes() {
  for (const alg of ALGORITHMS) {
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.value = alg;
    box.id = `alg-${alg}`;
    box.name = "alg";
    label.append(box, ` ${alg}`);
    els.algs.append(label);
  }
}

async function main() {
  buildAlgorithmBoxes();
  try {
    await init();
  } catch (error) {
    els.status.className = "status bad";
    els.status.textContent = `The WebAssembly module did not load: ${error.message}`;
    return;
  }
  for (const input of [els.token, els.key, els.issuer, els.audience, els.leeway, els.required, els.tracks, els.now]) {
    input.addEventListener("input", schedule);
  }
  els.algs.addEventListener("change", render);
  els.useHeaderAlg.addEventListener("click", () => {
    const box = els.algs.querySelector(`input[value="${CSS.escape(els.useHeaderAlg.dataset.alg)}"]`);
    if (box) box.checked = true;
    render();
  });
  setInterval(tick, 1000);
  document.body.dataset.ready = "true";
  render();
}

main();
