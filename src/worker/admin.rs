//! The API endpoints: health, JWKS, introspection, revocation, refresh and logout.

use serde_json::{json, Map, Value};
use worker::{Request, Response};

use super::proxy::{authenticate, request_token, verify_and_check_revocation, Rejection};
use super::state::{Applied, State};
use super::{http, now};
use crate::error::{Error, ErrorCode};
use crate::gateway::{bearer_token, check_same_origin, granted_scopes};
use crate::mint::reissue_unsigned;
use crate::policy::Verified;
use crate::revocation::RevocationRequest;

pub fn health(state: &State, requests: u64) -> worker::Result<Response> {
    http::json(
        &json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "refresh": state.signer.is_some(),
            "revocation_authority": state.has_authority(),
            "revocation": state.core.replica.as_ref().map(|r| r.describe(now())),
            "isolate": {
                "requests": requests,
                "kv_reads": state.core.store_reads(),
                "signatures": {
                    "webcrypto": state.crypto.counts().0,
                    "wasm": state.crypto.counts().1,
                },
                "outcomes": state.metrics.describe(),
                "token_cache": {
                    "hits": state.core.token_cache_counts().0,
                    "misses": state.core.token_cache_counts().1,
                },
                "jwks_fetches": state.jwks_fetches(),
                "jwks": state.core.remote_key_set_report(),
            },
        }),
        200,
    )
}

/// `GET /v1/revocation/status`: this isolate's revocation view (epoch, snapshot age, size).
pub fn revocation_status(state: &State) -> worker::Result<Response> {
    let Some(replica) = &state.core.replica else {
        return http::json(
            &json!({"mode": "per_key", "kv_reads": state.core.store_reads()}),
            200,
        );
    };
    let mut view = serde_json::to_value(replica.describe(now())).unwrap_or_default();
    view["mode"] = "snapshot".into();
    view["snapshot_ttl_s"] = state.core.edge.revocation.snapshot_ttl_s.into();
    http::json(&view, 200)
}

/// `GET /v1/revocation/snapshot` (admin): the snapshot this isolate holds, for gateways
/// outside Cloudflare (the npm package's `SnapshotStore`). Its ETag is the epoch and
/// publication time; `If-None-Match` with it answers 304.
pub async fn revocation_snapshot(state: &State, req: Request) -> worker::Result<Response> {
    if !is_admin(state, &req).await {
        return http::forbidden();
    }
    let Some(replica) = &state.core.replica else {
        return http::json(
            &json!({"error": "not_found", "error_description": "no revocation authority is bound"}),
            404,
        );
    };
    if let Err(e) = replica.refresh(&state.authority, now()).await {
        return http::error(&e);
    }
    let Some((etag, bytes)) = replica.published() else {
        return http::error(&Error::new(
            ErrorCode::RevocationUnavailable,
            "no revocation snapshot could be read",
        ));
    };
    let matches = req
        .headers()
        .get("if-none-match")
        .ok()
        .flatten()
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let response = if matches {
        Response::empty()?.with_status(304)
    } else {
        Response::from_bytes(bytes.to_vec())?
    };
    let headers = response.headers();
    headers.set("etag", &etag)?;
    headers.set("content-type", "application/octet-stream")?;
    headers.set("cache-control", "no-store")?;
    Ok(response)
}

/// `POST /v1/revocation/check` (admin), `{"jti"?, "sub"?}`: the authority's exact answer, for
/// gateways outside Cloudflare confirming a filter hit or checking a strict track (`{}`: the
/// global time alone).
pub async fn revocation_check(state: &State, mut req: Request) -> worker::Result<Response> {
    if !is_admin(state, &req).await {
        return http::forbidden();
    }
    let Some(client) = &state.authority else {
        return http::json(
            &json!({"error": "not_found", "error_description": "no revocation authority is bound"}),
            404,
        );
    };
    let fields = match body_fields(&mut req).await {
        Ok(fields) => fields,
        Err(message) => return http::bad_request(message),
    };
    let text = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    // `{}` asks for the global time alone (a token with neither jti nor sub).
    let unusable = |name: &str| fields.contains_key(name) && text(name).is_none();
    if fields.keys().any(|k| k != "jti" && k != "sub") || unusable("jti") || unusable("sub") {
        return http::bad_request("expected {\"jti\"?, \"sub\"?}, each a non-empty string");
    }
    let facts = crate::revocation::RevocationFacts {
        jti: text("jti"),
        sub: text("sub"),
        iat: None,
        session_start: None,
        exp: 0,
        track: None,
    };
    match crate::revocation::replica::ReplicaHost::exact_status(client, &facts).await {
        Ok(status) => http::json(&serde_json::to_value(status).unwrap_or_default(), 200),
        Err(e) => http::error(&e),
    }
}

/// Public keys of the policy and of the signing key, when they are asymmetric.
pub fn jwks(state: &State) -> worker::Result<Response> {
    let mut keys = state.core.validator.policy().keys.public_jwks();
    if let Some(public) = state.signer.as_ref().and_then(|s| s.public_jwk()) {
        if !keys
            .iter()
            .any(|k| k.get("kid").is_some() && k.get("kid") == public.get("kid"))
        {
            keys.push(public);
        }
    }
    if keys.is_empty() {
        return http::json(
            &json!({"error": "not_found", "error_description": "no asymmetric keys configured"}),
            404,
        );
    }
    let response = http::json(&json!({ "keys": keys }), 200)?;
    response
        .headers()
        .set("cache-control", "public, max-age=300")?;
    Ok(response)
}

/// `ADMIN_TOKEN`, or a valid token granting the configured admin scope.
async fn is_admin(state: &State, req: &Request) -> bool {
    let header = req.headers().get("authorization").ok().flatten();
    let Ok(presented) = bearer_token(header.as_deref(), None, None) else {
        return false;
    };
    if state.is_admin_token(&presented) {
        return true;
    }
    let Some(scope) = &state.core.edge.gateway.admin_scope else {
        return false;
    };
    match verify_and_check_revocation(state, &presented).await {
        Ok(verified) => granted_scopes(&verified).iter().any(|s| s == scope),
        Err(_) => false,
    }
}

/// The body of introspect/revoke: a form (RFC 7662 / 7009) or JSON.
async fn body_fields(req: &mut Request) -> Result<Map<String, Value>, &'static str> {
    let content_type = req
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    let text = req.text().await.map_err(|_| "unreadable body")?;
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return Ok(worker::url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect());
    }
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err("body must be a form or a JSON object"),
    }
}

fn token_field(fields: &Map<String, Value>) -> Option<&str> {
    fields
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
}

pub async fn introspect(state: &State, mut req: Request) -> worker::Result<Response> {
    if !is_admin(state, &req).await {
        return http::forbidden();
    }
    let fields = match body_fields(&mut req).await {
        Ok(fields) => fields,
        Err(message) => return http::bad_request(message),
    };
    let Some(token) = token_field(&fields) else {
        return http::bad_request("token is required");
    };
    match verify_and_check_revocation(state, token).await {
        Ok(verified) => {
            let claims = verified.claims();
            let scope = granted_scopes(&verified).join(" ");
            http::json(
                &json!({
                    "active": true,
                    "sub": claims.get("sub"), "exp": claims.get("exp"), "iat": claims.get("iat"),
                    "jti": claims.get("jti"), "iss": claims.get("iss"), "aud": claims.get("aud"),
                    "scope": (!scope.is_empty()).then_some(scope),
                    "track": verified.track.track, "ttl_ceiling_s": verified.track.ttl_ceiling_s,
                    "token_type": "Bearer",
                }),
                200,
            )
        }
        // An outage (store or remote JWKS) is not an answer about the token: fail closed,
        // visibly, rather than call a good token inactive.
        Err((e, _))
            if matches!(
                e.code(),
                ErrorCode::RevocationUnavailable | ErrorCode::JwksUnavailable
            ) =>
        {
            http::error(&e)
        }
        Err((e, _)) => http::json(&json!({"active": false, "code": e.code().code()}), 200),
    }
}

pub async fn revoke(state: &State, mut req: Request) -> worker::Result<Response> {
    if !is_admin(state, &req).await {
        return http::forbidden();
    }
    let fields = match body_fields(&mut req).await {
        Ok(fields) => fields,
        Err(message) => return http::bad_request(message),
    };
    let now = now();
    let request = if let Some(token) = token_field(&fields) {
        // RFC 7009: revoke the presented token; an already invalid token is answered 200 too.
        match state.verify_token(token, now).await {
            Ok(verified) => {
                match RevocationRequest::for_token(&verified.revocation_facts(), "revoked") {
                    Ok(request) => request,
                    Err(e) => {
                        return http::json(
                            &json!({"error": "unsupported_token_type", "code": e.code().code(), "error_description": e.message()}),
                            400,
                        )
                    }
                }
            }
            Err(_) => return http::json(&json!({"status": "ok", "revoked": false}), 200),
        }
    } else {
        let leeway_s = state.core.validator.policy().claims.leeway_s;
        match RevocationRequest::from_json_form(Value::Object(fields), now, leeway_s, "admin") {
            Ok(request) => request,
            Err(e) => return http::bad_request(e.message()),
        }
    };
    match state.revoke(&request, now, false).await {
        Ok(Applied::Written(Some(receipt))) => {
            // Enforced at once in this isolate; in every other one once it has read the
            // snapshot published by `published_by` (plus Workers KV's propagation, README).
            let ttl = state.core.edge.revocation.snapshot_ttl_s;
            http::json(
                &json!({
                    "status": "ok", "revoked": request, "epoch": receipt.epoch,
                    "published_by": receipt.published_by,
                    "enforced_by": receipt.published_by + ttl,
                }),
                200,
            )
        }
        Ok(_) => http::json(&json!({"status": "ok", "revoked": request}), 200),
        Err(e) => http::error(&e),
    }
}

/// A cookie-authenticated refresh or logout must come from this site (CSRF); a bearer token
/// in `Authorization` is never attached by a browser on its own.
fn check_cookie_request(req: &Request) -> Result<(), Error> {
    let headers = req.headers();
    if headers.has("authorization").unwrap_or(false) {
        return Ok(());
    }
    let url = req.inner().url();
    let get = |name: &str| headers.get(name).ok().flatten();
    check_same_origin(
        http::origin(&url),
        get("sec-fetch-site").as_deref(),
        get("origin").as_deref(),
    )
}

/// The presented token's revocation state read from the store itself, not this isolate's
/// cache: a session another isolate revoked a moment ago must not be refreshed or outlive a
/// logout here.
async fn check_not_revoked(state: &State, verified: &Verified, now: u64) -> Result<(), Error> {
    state.check_revocation_uncached(verified, now).await
}

/// Clears a jti from the in-flight set when the refresh ends, however it ends.
struct InFlight<'a> {
    state: &'a State,
    jti: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.state.refreshing.borrow_mut().remove(&self.jti);
    }
}

/// Rotates the presented token: verified, checked against the store uncached, its jti consumed
/// (revoked), then its successor minted with every claim kept ([`crate::mint::reissue`]).
pub async fn refresh(state: &State, req: Request) -> worker::Result<Response> {
    let path = req.path();
    if let Err(e) = check_cookie_request(&req) {
        return http::reject(&e, None, None, &path);
    }
    let (token, verified) = match authenticate(state, &req.headers().0).await {
        Ok(found) => found,
        // An authentic token already revoked: a rotated refresh token presented again.
        Err(Rejection {
            error,
            token: Some(token),
            verified: Some(verified),
        }) if error.code() == ErrorCode::Revoked => {
            return refresh_of_revoked(state, &token, &verified, &path).await
        }
        Err(rejection) => return rejection.respond(&path),
    };
    if let Err(e) = crate::gateway::sender::require_unbound(&verified) {
        return http::reject(&e, Some(&token), Some(&verified), &path);
    }
    let Some(signer) = &state.signer else {
        return http::error(&Error::new(
            ErrorCode::ConfigError,
            "refresh needs SIGNING_KEY or JWT_SECRET",
        ));
    };
    let now = now();
    let facts = verified.revocation_facts();
    let Some(jti) = facts.jti.clone() else {
        let e = Error::new(
            ErrorCode::MissingClaim,
            "a token without jti cannot be refreshed",
        );
        return http::reject(&e, Some(&token), Some(&verified), &path);
    };
    // One successor per token in this isolate: a concurrent second refresh is a reuse.
    if !state.refreshing.borrow_mut().insert(jti.clone()) {
        return refresh_reused(&token, &verified, &path);
    }
    let _in_flight = InFlight { state, jti };
    match check_not_revoked(state, &verified, now).await {
        Ok(()) => {}
        Err(e) if e.code() == ErrorCode::Revoked => {
            return refresh_reused(&token, &verified, &path)
        }
        Err(e) => return http::reject(&e, Some(&token), Some(&verified), &path),
    }
    let unsigned = match reissue_unsigned(
        state.core.validator.policy(),
        signer,
        &verified,
        now,
        &mut rand_core::OsRng,
    ) {
        Ok(unsigned) => unsigned,
        Err(e) => return http::reject(&e, Some(&token), Some(&verified), &path),
    };
    // Signed before the jti is consumed: a signing key WebCrypto refuses revokes nothing.
    let issued = match state.crypto.sign(signer, unsigned.signing_input()).await {
        Ok(signature) => unsigned.with_signature(&signature),
        Err(e) => return http::error(&e),
    };
    // Consumed exactly once: through the authority, a reuse from any isolate is caught here.
    let consumed = match RevocationRequest::for_token(&facts, "refresh") {
        Ok(request) => request,
        Err(e) => return http::reject(&e, Some(&token), Some(&verified), &path),
    };
    match state.revoke(&consumed, now, true).await {
        Ok(Applied::Written(_)) => {}
        Ok(Applied::Reused) => return refresh_reused(&token, &verified, &path),
        Ok(Applied::Revoked) => return refused_revoked(&token, &verified, &path),
        Err(e) => return http::reject(&e, Some(&token), Some(&verified), &path),
    }
    // The same answer as every host's mint (`Issued`); `expires_at` is kept for clients of the
    // Worker's earlier answer.
    let mut answer = serde_json::to_value(&issued).unwrap_or_default();
    answer["expires_at"] = issued.exp.into();
    http::json(&answer, 200)
}

/// A refresh of a token this isolate sees revoked. With the authority, the consuming write
/// tells a rotated token (reuse: its subject's sessions are revoked, logged) from one revoked
/// otherwise; without it, every such refresh is logged as a possible reuse.
async fn refresh_of_revoked(
    state: &State,
    token: &str,
    verified: &Verified,
    path: &str,
) -> worker::Result<Response> {
    if !state.has_authority() {
        return refresh_reused(token, verified, path);
    }
    let consumed = RevocationRequest::for_token(&verified.revocation_facts(), "refresh");
    match consumed {
        Ok(request) => match state.revoke(&request, now(), true).await {
            Ok(Applied::Reused) => refresh_reused(token, verified, path),
            Ok(_) => refused_revoked(token, verified, path),
            Err(e) => http::reject(&e, Some(token), Some(verified), path),
        },
        Err(_) => refused_revoked(token, verified, path),
    }
}

fn refused_revoked(token: &str, verified: &Verified, path: &str) -> worker::Result<Response> {
    let e = Error::new(ErrorCode::Revoked, "token has been revoked");
    http::reject(&e, Some(token), Some(verified), path)
}

/// A refresh of a token that was already rotated (or is being rotated right now): refused as
/// `revoked`, and logged as a possible theft (OAuth 2.0 Security BCP §4.14).
fn refresh_reused(token: &str, verified: &Verified, path: &str) -> worker::Result<Response> {
    let jti_prefix = verified
        .registered
        .jti
        .as_deref()
        .map(|j| j.chars().take(8).collect::<String>());
    worker::console_log!(
        "{}",
        json!({"event": "edge_jwt_refresh_reuse", "jti_prefix": jti_prefix, "track": verified.track.track})
    );
    refused_revoked(token, verified, path)
}

async fn logout_token(state: &State, verified: &Verified, now: u64) -> Result<(), Error> {
    let request = RevocationRequest::for_token(&verified.revocation_facts(), "logout")?;
    state.revoke(&request, now, false).await.map(|_| ())
}

/// Logs a token out unless it is sender-constrained (this endpoint checks no proof).
async fn logout_checked(state: &State, verified: &Verified, now: u64) -> Result<(), Error> {
    crate::gateway::sender::require_unbound(verified)?;
    logout_token(state, verified, now).await
}

pub async fn logout(state: &State, req: Request) -> worker::Result<Response> {
    let path = req.path();
    if let Err(e) = check_cookie_request(&req) {
        return http::reject(&e, None, None, &path);
    }
    let token = match request_token(state, &req.headers().0) {
        Ok(token) => token,
        Err(e) => return http::reject(&e, None, None, &path),
    };
    let now = now();
    match state.verify_token(&token, now).await {
        Ok(verified) => match logout_checked(state, &verified, now).await {
            Ok(()) => http::json(&json!({"status": "ok"}), 200),
            Err(e) => http::reject(&e, Some(&token), Some(&verified), &path),
        },
        // An expired token is logged out already; revoked ones pass verify and are re-revoked.
        Err(e) if e.code() == ErrorCode::Expired => http::json(&json!({"status": "ok"}), 200),
        Err(e) => http::reject(&e, Some(&token), None, &path),
    }
}
