//! The exports that need no instance: the module's memory, error codes and the error response,
//! the rejection log line, identity headers, durations and inspection without a validator.

use js_sys::Array;
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;

use super::convert::{code_from_name, error_value, seconds, to_json};
use crate::alg::Alg;
use crate::config::{Config, Policy};
use crate::dpop;
use crate::error::{Error, ErrorCode};
use crate::gateway;
use crate::inspect::{self, Inspection};
use crate::mint::Signer;
use crate::policy::Verified;
use crate::track::{TrackTable, TrackVerdict};

/// The module's memory, where the host writes tokens
/// ([`CoreValidator::token_input`](super::validator::CoreValidator::token_input)).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Every code with its status, in documentation order: `[["malformed",401],…]`.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> String {
    let table: Vec<(&str, u16)> = ErrorCode::ALL
        .into_iter()
        .map(|code| (code.code(), code.status()))
        .collect();
    to_json(&table)
}

/// The response every edge-jwt host answers an error with: `[status, body, www-authenticate]`
/// (the last is `undefined` where RFC 6750 asks for none). Same bytes as the Worker's; `scope`
/// names a route's scopes in an `insufficient_scope` challenge.
#[wasm_bindgen(js_name = errorResponse)]
pub fn error_response(code: &str, message: &str, scope: Option<String>) -> Array {
    let error = Error::new(code_from_name(code), message);
    let out = Array::new();
    out.push(&error.status().into());
    out.push(&to_json(&gateway::error_body(&error)).into());
    out.push(
        &gateway::www_authenticate_with_scope(&error, scope.as_deref())
            .map(JsValue::from)
            .unwrap_or(JsValue::UNDEFINED),
    );
    out
}

/// The Worker's rejection log line (`{"event":"edge_jwt_reject",…}`), never the token itself.
/// `track` and `jti` come from an authenticated token refused later (revocation).
#[wasm_bindgen(js_name = rejectionLog)]
pub fn rejection_log(
    code: &str,
    message: &str,
    token: Option<String>,
    path: &str,
    track: Option<String>,
    jti: Option<String>,
) -> String {
    let error = Error::new(code_from_name(code), message);
    let verified = (track.is_some() || jti.is_some()).then(|| Verified {
        header: Default::default(),
        claims: Default::default(),
        claims_json: Default::default(),
        registered: crate::claims::RegisteredClaims {
            jti,
            ..Default::default()
        },
        alg: Alg::HS256,
        kid: None,
        track: TrackVerdict {
            track,
            ttl_ceiling_s: 0,
        },
        profile: 0,
    });
    gateway::rejection_log(&error, token.as_deref(), verified.as_ref(), path).to_string()
}

/// The identity headers of a verified result, from its claims (JSON) and resolved track:
/// `[[name, value], …]`, as the Worker forwards them.
#[wasm_bindgen(js_name = identityHeaders)]
pub fn identity_headers(claims_json: &str, track: Option<String>) -> String {
    let claims: Map<String, Value> = serde_json::from_str(claims_json).unwrap_or_default();
    to_json(&gateway::identity_headers_of(&claims, track.as_deref()))
}

/// Whether a request header belongs to edge-jwt's identity namespace in any spelling
/// (`x-edge-jwt-…`, any case, `_` read as `-`): clients may not send one.
#[wasm_bindgen(js_name = isIdentityHeader)]
pub fn is_identity_header(name: &str) -> bool {
    gateway::is_identity_header(name)
}

/// `1h 02m 03s`, as the CLI prints durations.
#[wasm_bindgen(js_name = humanDuration)]
pub fn human_duration(seconds_value: f64) -> String {
    inspect::human_duration(seconds(seconds_value))
}

// ---------------------------------------------------------------------------------------------
// Inspection without a validator

/// A throwaway policy carrying only a track table (its secret never verifies anything), so the
/// `tracks` section is validated by the core's own rules and error paths.
fn tracks_only(tracks_json: Option<String>) -> Result<TrackTable, Error> {
    // The section inside a throwaway document, read by the one config parser (its paths
    // come out as `tracks.…`); first checked to be one JSON value, so it cannot add members.
    let tracks = tracks_json.unwrap_or_else(|| "null".to_owned());
    serde_json::from_str::<serde::de::IgnoredAny>(&tracks)
        .map_err(|e| Error::config("tracks", e))?;
    let document = format!(
        r#"{{"algorithms":["HS256"],"secret":"inspect-only-policy-secret-never-used!","tracks":{tracks}}}"#
    );
    Ok(Policy::new(Config::from_json(&document)?)?.tracks)
}

/// UNVERIFIED decode; `tracks_json` is a config's `tracks` section (default table when absent).
#[wasm_bindgen(js_name = inspectToken)]
pub fn inspect_token(
    token: &str,
    now: f64,
    tracks_json: Option<String>,
) -> Result<String, JsValue> {
    let tracks = tracks_only(tracks_json).map_err(|e| error_value(&e))?;
    inspect::inspect(token, &tracks, seconds(now))
        .map(|i| inspection_json(&i))
        .map_err(|e| error_value(&e))
}

/// An inspection as the JS side's object, with the CLI's text.
pub(super) fn inspection_json(inspection: &Inspection) -> String {
    let track = &inspection.track;
    to_json(&json!({
        "verified": inspection.verified,
        "warning": inspection.warning,
        "header": inspection.header,
        "claims": inspection.claims,
        "times": inspection.times,
        "timeLeft": inspection.time_left_s,
        "track": {
            "track": track.track,
            "ttlCeiling": track.ttl_ceiling_s,
            "lifetime": track.lifetime_s,
            "verdict": track.verdict,
        },
        "binding": {
            "kind": inspection.binding.kind,
            "senderConstrained": inspection.binding.sender_constrained,
            "jkt": inspection.binding.jkt,
            "x5tS256": inspection.binding.x5t_s256,
        },
        "text": inspection.to_text(),
    }))
}

/// A DPoP proof (RFC 9449 §4.2) signed with `private_jwk_json` (EC P-256, Ed25519 or RSA; its
/// `alg`, else the key type's usual one) for `method url`, with `ath` for `access_token` and
/// the server's `nonce` when given, `iat` = `now`.
#[wasm_bindgen(js_name = createDpopProof)]
pub fn create_dpop_proof(
    private_jwk_json: &str,
    method: &str,
    url: &str,
    access_token: Option<String>,
    nonce: Option<String>,
    now: f64,
) -> Result<String, JsValue> {
    let signer = Signer::from_jwk(private_jwk_json, None).map_err(|e| error_value(&e))?;
    let request = dpop::ProofFor {
        method,
        url,
        access_token: access_token.as_deref(),
        nonce: nonce.as_deref(),
    };
    dpop::create_proof(&signer, &request, seconds(now), &mut rand_core::OsRng)
        .map_err(|e| error_value(&e))
}
