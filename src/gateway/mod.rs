//! What every HTTP host of edge-jwt does the same way: the canonical path ([`path`]), the
//! bearer token, the identity headers forwarded upstream and the client headers removed
//! ([`forward`]), RFC 6750 error responses and rejection log lines. Pure functions over
//! strings, shared by the Worker and the npm middleware, which only translate I/O.

pub mod claim_rules;
pub mod decision;
pub mod edge;
pub mod edge_policy;
pub mod forward;
pub mod jwks;
pub mod path;
pub mod routes;
pub mod sender;
pub mod token_cache;

pub use edge_policy::{EdgePolicy, RevocationSettings};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{quoted_string_safe, Error, ErrorCode};
use crate::policy::Verified;
use crate::token;

/// Prefix of every identity header edge-jwt sets; client-sent headers with it are removed.
pub const IDENTITY_HEADER_PREFIX: &str = "x-edge-jwt-";
/// `sub` of the verified token.
pub const HEADER_SUB: &str = "x-edge-jwt-sub";
/// `jti` of the verified token.
pub const HEADER_JTI: &str = "x-edge-jwt-jti";
/// Track of the verified token.
pub const HEADER_TRACK: &str = "x-edge-jwt-track";
/// Granted scopes, space-separated (from `scope` or `scp`).
pub const HEADER_SCOPE: &str = "x-edge-jwt-scope";
/// `exp` of the verified token.
pub const HEADER_EXP: &str = "x-edge-jwt-exp";

/// The `gateway` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// Also accept the token from this cookie when there is no `Authorization` header.
    pub cookie: Option<String>,
    /// Forward the client's `Authorization` header upstream (default `true`).
    pub forward_authorization: bool,
    /// A JWT granting this scope may call the admin endpoints (besides `ADMIN_TOKEN`).
    pub admin_scope: Option<String>,
    /// Route literals match ignoring ASCII case unless a route says otherwise, for origins that
    /// route case-insensitively (default `false`).
    pub case_insensitive_routes: bool,
    /// Verified tokens kept per isolate, so a repeated token skips its signature check
    /// (default 4096; `0` turns the cache off).
    pub token_cache_size: usize,
    /// Add `Server-Timing` to gateway responses (default `false`).
    pub server_timing: bool,
    /// With a `METRICS` Analytics Engine binding: one data point per rejection and one per
    /// this many accepted requests (default 100).
    pub metrics_sample_every: u64,
    /// Where a token's roles are, for routes' `roles` (see [`claim_rules`]).
    pub roles_claim: claim_rules::RolesClaimConfig,
    /// Claims forwarded as headers: header name → claim path (see [`claim_rules`]).
    pub claim_headers: std::collections::BTreeMap<String, String>,
    /// Sender-constrained tokens: DPoP proofs, replay memory, nonces (see [`sender`]).
    pub dpop: sender::DpopConfig,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            cookie: None,
            forward_authorization: true,
            admin_scope: None,
            case_insensitive_routes: false,
            token_cache_size: 4096,
            server_timing: false,
            metrics_sample_every: 100,
            roles_claim: claim_rules::RolesClaimConfig::Unset,
            claim_headers: std::collections::BTreeMap::new(),
            dpop: sender::DpopConfig::default(),
        }
    }
}

fn missing_token() -> Error {
    Error::new(ErrorCode::MissingToken, "no bearer token in the request")
}

/// Finds the token: `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1),
/// else the configured cookie. A non-Bearer `Authorization` header is `missing_token`; an empty
/// bearer value is `malformed`.
pub fn bearer_token(
    authorization: Option<&str>,
    cookie_header: Option<&str>,
    cookie_name: Option<&str>,
) -> Result<String, Error> {
    if let Some(header) = authorization {
        let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(missing_token());
        }
        let token = rest.trim();
        if token.is_empty() {
            return Err(Error::new(ErrorCode::Malformed, "empty bearer token"));
        }
        return Ok(token.to_owned());
    }
    let (Some(cookies), Some(name)) = (cookie_header, cookie_name) else {
        return Err(missing_token());
    };
    cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
        .ok_or_else(missing_token)
}

/// The token of a request and how it was presented: `Authorization: Bearer <token>` or
/// `Authorization: DPoP <token>` (RFC 9449 §7.1; either scheme in any case), else the
/// configured cookie (a bearer presentation). Another scheme is `missing_token`; an empty
/// token `malformed`.
pub fn presented_token(
    authorization: Option<&str>,
    cookie_header: Option<&str>,
    cookie_name: Option<&str>,
) -> Result<(crate::dpop::Scheme, String), Error> {
    if let Some(header) = authorization {
        if let Some((scheme, token)) = crate::dpop::Scheme::parse(header) {
            return Ok((scheme, token.to_owned()));
        }
        let scheme = header.trim().split(' ').next().unwrap_or("");
        if scheme.eq_ignore_ascii_case("dpop") {
            return Err(Error::new(ErrorCode::Malformed, "empty DPoP token"));
        }
    }
    bearer_token(authorization, cookie_header, cookie_name)
        .map(|token| (crate::dpop::Scheme::Bearer, token))
}

/// Whether a request header is one edge-jwt owns (and so must strip from clients), in any
/// spelling an origin may fold into the same name: case-insensitive, and `_` read as `-`
/// (CGI, WSGI, Rack/Puma and PHP turn both into `HTTP_X_EDGE_JWT_…`).
pub fn is_identity_header(name: &str) -> bool {
    let prefix = IDENTITY_HEADER_PREFIX.as_bytes();
    name.len() >= prefix.len()
        && name.as_bytes()[..prefix.len()]
            .iter()
            .zip(prefix)
            .all(|(&got, &want)| {
                let got = if got == b'_' { b'-' } else { got };
                got.eq_ignore_ascii_case(&want)
            })
}

/// Granted scopes: the `scope` claim (space-separated string, RFC 8693 §4.2) or `scp` (array).
pub fn granted_scopes(verified: &Verified) -> Vec<String> {
    granted_scopes_in(verified.claims())
}

/// [`granted_scopes`] of a verified token's claims.
pub fn granted_scopes_in(claims: &Map<String, Value>) -> Vec<String> {
    // RFC 6749 §3.3: scope tokens are separated by spaces (U+0020) only, so a no-break or
    // other Unicode space cannot split one token into two; an array item that holds a space
    // is not a scope token and grants nothing (nor is it forwarded, where it would read as two).
    let split = |s: &str| -> Vec<String> {
        s.split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => split(s),
        (_, Some(Value::Array(items))) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| !t.is_empty() && !t.contains(' '))
            .map(str::to_owned)
            .collect(),
        (_, Some(Value::String(s))) => split(s),
        _ => Vec::new(),
    }
}

/// The identity headers to add upstream for a verified token.
pub fn identity_headers(verified: &Verified) -> Vec<(&'static str, String)> {
    identity_headers_of(verified.claims(), verified.track.track.as_deref())
}

/// [`identity_headers`] from a verified token's claims and resolved track (hosts that keep the
/// claims rather than the [`Verified`] compute them on demand). The claims passed verification,
/// so `sub` and `jti` are strings and `exp` a NumericDate whenever present.
pub fn identity_headers_of(
    claims: &Map<String, Value>,
    track: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut headers = Vec::with_capacity(5);
    if let Some(sub) = claims.get("sub").and_then(Value::as_str) {
        headers.push((HEADER_SUB, sub.to_owned()));
    }
    if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
        headers.push((HEADER_JTI, jti.to_owned()));
    }
    if let Some(track) = track {
        headers.push((HEADER_TRACK, track.to_owned()));
    }
    let scopes = granted_scopes_in(claims);
    if !scopes.is_empty() {
        headers.push((HEADER_SCOPE, scopes.join(" ")));
    }
    if let Ok(Some(exp)) = crate::claims::numeric_date(claims, "exp") {
        headers.push((HEADER_EXP, exp.to_string()));
    }
    headers
}

/// Refuses a verified token whose identity cannot travel in a header: a control character
/// (NUL, CR, LF, …) in `sub`, `jti`, the track or a scope would be rejected by the runtime or,
/// worse, split a header. Non-ASCII UTF-8 is forwarded as is. Every host refuses such a token,
/// whether or not it forwards headers, so that all of them admit the same tokens.
pub fn check_forwardable(verified: &Verified) -> Result<(), Error> {
    for (name, value) in identity_headers(verified) {
        if value.chars().any(|c| c.is_control()) {
            return Err(Error::new(
                ErrorCode::InvalidClaim,
                format!(
                    "{} contains a control character and cannot be forwarded",
                    &name[IDENTITY_HEADER_PREFIX.len()..]
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a cookie-authenticated state change sent from another site (CSRF): the browser's
/// `Sec-Fetch-Site` must be `same-origin` (or `none`, a user's own navigation), else `Origin`
/// must be the request's own origin. A request with neither header comes from no browser, and a
/// bearer token in `Authorization` is never sent by a browser on its own, so both pass.
pub fn check_same_origin(
    request_origin: &str,
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
) -> Result<(), Error> {
    let same = match (sec_fetch_site, origin) {
        (Some(site), _) => {
            site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")
        }
        (None, Some(origin)) => origin.eq_ignore_ascii_case(request_origin),
        (None, None) => true,
    };
    if same {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::CrossSiteRequest,
            "a cookie-authenticated request from another site is refused",
        ))
    }
}

/// RFC 6750 §3 `WWW-Authenticate` value. No token at all gets the bare challenge (§3.1: no
/// error code when the request lacked authentication information).
pub fn www_authenticate(error: &Error) -> Option<String> {
    www_authenticate_with_scope(error, None)
}

/// As [`www_authenticate`], naming the scopes a route needs in an `insufficient_scope`
/// challenge (RFC 6750 §3: `Bearer error="insufficient_scope", scope="…"`).
pub fn www_authenticate_with_scope(error: &Error, scope: Option<&str>) -> Option<String> {
    match error.code() {
        ErrorCode::MissingToken => Some("Bearer".to_owned()),
        ErrorCode::RevocationUnavailable
        | ErrorCode::ConfigError
        | ErrorCode::JwksUnavailable
        | ErrorCode::MalformedRequest
        | ErrorCode::CrossSiteRequest => None,
        ErrorCode::InsufficientScope
        | ErrorCode::TrackNotAllowed
        | ErrorCode::InsufficientRole
        | ErrorCode::ClaimMismatch => {
            let mut challenge = format!(
                "Bearer error=\"insufficient_scope\", error_description=\"{}\"",
                quoted_string_safe(error.message())
            );
            if let Some(scope) = scope.filter(|s| !s.is_empty()) {
                challenge += &format!(", scope=\"{}\"", quoted_string_safe(scope));
            }
            Some(challenge)
        }
        _ => Some(format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            quoted_string_safe(error.message())
        )),
    }
}

/// The JSON body of an error response.
pub fn error_body(error: &Error) -> Value {
    let kind = match error.code() {
        // RFC 6750 §3.1: a request without credentials gets no error code of the scheme.
        ErrorCode::MissingToken => "unauthorized",
        ErrorCode::RevocationUnavailable | ErrorCode::JwksUnavailable => "temporarily_unavailable",
        ErrorCode::ConfigError => "server_error",
        ErrorCode::MalformedRequest => "invalid_request",
        ErrorCode::CrossSiteRequest => "forbidden",
        // RFC 6750 §3.1: the token is fine, the request needs more privileges than it carries.
        ErrorCode::InsufficientScope
        | ErrorCode::TrackNotAllowed
        | ErrorCode::InsufficientRole
        | ErrorCode::ClaimMismatch => "insufficient_scope",
        _ => "invalid_token",
    };
    json!({ "error": kind, "code": error.code().code(), "error_description": error.message() })
}

/// One structured log line for a rejection: code, kid, track, jti prefix; never the token or a
/// secret. `kid` comes from the (unverified) header and is truncated; `jti`/`track` only from
/// authenticated claims.
pub fn rejection_log(
    error: &Error,
    raw_token: Option<&str>,
    verified: Option<&Verified>,
    path: &str,
) -> Value {
    let kid = raw_token
        .and_then(|t| token::parse(t, usize::MAX, &token::HeaderCache::default()).ok())
        .and_then(|t| t.header.kid.clone())
        .map(|kid| kid.chars().take(64).collect::<String>());
    json!({
        "event": "edge_jwt_reject",
        "code": error.code().code(),
        "status": error.status(),
        "path": path.chars().take(200).collect::<String>(),
        "kid": kid,
        "track": verified.and_then(|v| v.track.track.clone()),
        "jti_prefix": verified.and_then(|v| v.registered.jti.as_ref()).map(|j| j.chars().take(8).collect::<String>()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_from_header_or_cookie() {
        assert_eq!(bearer_token(Some("Bearer abc"), None, None).unwrap(), "abc");
        assert_eq!(
            bearer_token(Some("bearer  abc "), None, None).unwrap(),
            "abc"
        );
        assert_eq!(
            bearer_token(Some("Basic xyz"), None, None)
                .unwrap_err()
                .code(),
            ErrorCode::MissingToken
        );
        assert_eq!(
            bearer_token(Some("Bearer "), None, None)
                .unwrap_err()
                .code(),
            ErrorCode::Malformed
        );
        assert_eq!(
            bearer_token(None, None, None).unwrap_err().code(),
            ErrorCode::MissingToken
        );
        assert_eq!(
            bearer_token(None, Some("a=1; session=tok"), Some("session")).unwrap(),
            "tok"
        );
        assert_eq!(
            bearer_token(None, Some("a=1"), Some("session"))
                .unwrap_err()
                .code(),
            ErrorCode::MissingToken
        );
    }

    #[test]
    fn identity_header_prefix_in_every_spelling() {
        assert!(is_identity_header("X-Edge-JWT-Sub"));
        assert!(is_identity_header("x-edge-jwt-anything"));
        assert!(is_identity_header("x-edge-jwt_sub"));
        assert!(is_identity_header("X_EDGE_JWT_SUB"));
        assert!(is_identity_header("x_edge-jwt-track"));
        assert!(!is_identity_header("x-edge"));
        assert!(!is_identity_header("x-edge-jwtsub"));
        assert!(!is_identity_header("authorization"));
    }

    #[test]
    fn rfc6750_challenges() {
        let missing = Error::new(ErrorCode::MissingToken, "x");
        assert_eq!(www_authenticate(&missing).unwrap(), "Bearer");
        let expired = Error::new(ErrorCode::Expired, "token \"has\" expired");
        assert_eq!(
            www_authenticate(&expired).unwrap(),
            "Bearer error=\"invalid_token\", error_description=\"token 'has' expired\""
        );
        assert_eq!(error_body(&expired)["code"], "expired");
        let scope = Error::new(ErrorCode::InsufficientScope, "scope b is required");
        assert_eq!(
            www_authenticate_with_scope(&scope, Some("a b")).unwrap(),
            "Bearer error=\"insufficient_scope\", error_description=\"scope b is required\", scope=\"a b\""
        );
        assert_eq!(error_body(&scope)["error"], "insufficient_scope");
    }
}
