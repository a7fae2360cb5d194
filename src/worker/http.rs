//! Responses and logs: every error becomes a response in one place.

use serde_json::Value;
use worker::{console_log, Response};

use crate::error::{Error, ErrorCode};
use crate::gateway::decision::Refusal;
use crate::gateway::{error_body, rejection_log, www_authenticate_with_scope};
use crate::policy::Verified;

/// The path and query of a URL as the runtime serialized it (`https://h/p?q#f` → `/p?q`):
/// the first `/` after the host starts the path, and `?` and `#` only ever appear as the
/// query and fragment delimiters (the WHATWG serializer percent-encodes them elsewhere).
pub fn path_and_query(url: &str) -> &str {
    let after_host = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_query = after_host.find('/').map_or("/", |i| &after_host[i..]);
    path_and_query.split('#').next().unwrap_or("/")
}

/// The origin of a URL as the runtime serialized it (`https://h:8443/p` → `https://h:8443`).
pub fn origin(url: &str) -> &str {
    let host_start = url.find("://").map_or(0, |i| i + 3);
    let end = url[host_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| host_start + i);
    &url[..end]
}

/// The path alone (`https://h/p?q` → `/p`).
pub fn path(url: &str) -> &str {
    path_and_query(url).split('?').next().unwrap_or("/")
}

/// A JSON response with a status.
pub fn json(value: &Value, status: u16) -> worker::Result<Response> {
    let response = Response::from_json(value)?.with_status(status);
    response.headers().set("cache-control", "no-store")?;
    Ok(response)
}

/// The RFC 6750 response for an edge-jwt error: status from the code, JSON body with the code,
/// `WWW-Authenticate` where the RFC asks for it.
pub fn error(error: &Error) -> worker::Result<Response> {
    error_with_scope(error, None)
}

fn error_with_scope(error: &Error, scope: Option<&str>) -> worker::Result<Response> {
    let response = json(&error_body(error), error.status())?;
    if let Some(challenge) = www_authenticate_with_scope(error, scope) {
        response.headers().set("www-authenticate", &challenge)?;
    }
    Ok(response)
}

/// Logs one structured line for a rejected request, then answers it.
pub fn reject(
    error: &Error,
    token: Option<&str>,
    verified: Option<&Verified>,
    path: &str,
) -> worker::Result<Response> {
    console_log!("{}", rejection_log(error, token, verified, path));
    self::error(error)
}

/// Logs and answers the gateway's refusal, as the core shaped it.
pub fn refuse(refusal: &Refusal) -> worker::Result<Response> {
    console_log!("{}", refusal.log);
    let response = Response::ok(refusal.body.clone())?.with_status(refusal.status);
    let headers = response.headers();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    if let Some(challenge) = &refusal.challenge {
        headers.set("www-authenticate", challenge)?;
    }
    if let Some(nonce) = &refusal.dpop_nonce {
        headers.set("dpop-nonce", nonce)?;
    }
    Ok(response)
}

/// 403 for an admin endpoint called without the admin credential.
pub fn forbidden() -> worker::Result<Response> {
    json(
        &serde_json::json!({"error": "forbidden", "error_description": "admin credential required"}),
        403,
    )
}

/// 400 for a request body the endpoint cannot use.
pub fn bad_request(message: &str) -> worker::Result<Response> {
    json(
        &serde_json::json!({"error": "invalid_request", "error_description": message}),
        400,
    )
}

/// A config error: logged with its field path, answered as 500 `config_error`.
pub fn config_failure(error: &Error) -> worker::Result<Response> {
    console_log!(
        "{}",
        serde_json::json!({"event": "edge_jwt_config_error", "message": error.message()})
    );
    // Clients learn only that the gateway is misconfigured; the field path is in the log.
    self::error(&Error::new(
        ErrorCode::ConfigError,
        "the gateway is misconfigured; its log names the field",
    ))
}
