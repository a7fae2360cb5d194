//! The gateway: validate the bearer token, then forward with the verified identity.

use worker::{Fetch, Headers, Request, RequestInit, RequestRedirect, Response};

use super::state::State;
use super::{http, now};
use crate::error::{Error, ErrorCode};
use crate::gateway::{bearer_token, check_forwardable, identity_headers, is_identity_header};
use crate::policy::Verified;
use crate::routes::Mode;

/// Why a request was refused, with what is known of its token for the log line.
pub struct Rejection {
    pub error: Error,
    pub token: Option<String>,
    /// Set when the token itself verified and a later check (revocation) refused it.
    pub verified: Option<Verified>,
}

impl Rejection {
    /// Logs the rejection and answers it.
    pub fn respond(&self, path: &str) -> worker::Result<Response> {
        http::reject(
            &self.error,
            self.token.as_deref(),
            self.verified.as_ref(),
            path,
        )
    }
}

/// The request's bearer token (header, or the configured cookie).
pub fn request_token(state: &State, req: &Request) -> Result<String, Error> {
    let headers = req.headers();
    let authorization = headers.get("authorization").ok().flatten();
    let cookies = headers.get("cookie").ok().flatten();
    let cookie_name = state.validator.policy().gateway.cookie.as_deref();
    bearer_token(authorization.as_deref(), cookies.as_deref(), cookie_name)
}

/// Finds the request's token and checks it fully, revocation included.
pub async fn authenticate(state: &State, req: &Request) -> Result<(String, Verified), Rejection> {
    let token = request_token(state, req).map_err(|error| Rejection {
        error,
        token: None,
        verified: None,
    })?;
    match verify_and_check_revocation(state, &token).await {
        Ok(verified) => match check_forwardable(&verified) {
            Ok(()) => Ok((token, verified)),
            Err(error) => Err(Rejection {
                error,
                token: Some(token),
                verified: Some(verified),
            }),
        },
        Err((error, verified)) => Err(Rejection {
            error,
            token: Some(token),
            verified,
        }),
    }
}

/// Full validation of one token at the current time, including the revocation lookup. On a
/// revocation failure the verified token comes back with the error (for the log line).
pub async fn verify_and_check_revocation(
    state: &State,
    token: &str,
) -> Result<Verified, (Error, Option<Verified>)> {
    let now = now();
    let verified = state
        .verify_token(token, now)
        .await
        .map_err(|e| (e, None))?;
    let facts = verified.revocation_facts();
    let outcome = match state.revocations.status(&facts, now).await {
        Ok(status) => crate::revocation::check(&facts, &status),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(verified),
        Err(e) => Err((e, Some(verified))),
    }
}

/// Applies the route's policy and forwards. `disabled` routes skip the token entirely;
/// `optional` ones let a request without a token through as anonymous but refuse a bad token.
pub async fn handle(state: &State, req: Request) -> worker::Result<Response> {
    let path = req.path();
    let route = state
        .validator
        .policy()
        .routes
        .find(req.method().as_ref(), &path);
    let verified = match route.mode {
        Mode::Disabled => None,
        Mode::Optional if matches!(request_token(state, &req), Err(ref e) if e.code() == ErrorCode::MissingToken) => {
            None
        }
        Mode::Optional | Mode::Required => match authenticate(state, &req).await {
            Ok((token, verified)) => {
                if let Err(error) = route.authorize(&verified) {
                    return http::reject_for_route(
                        &error,
                        &token,
                        &verified,
                        &path,
                        &route.scope_challenge(),
                    );
                }
                Some(verified)
            }
            Err(rejection) => return rejection.respond(&path),
        },
    };
    let Some(origin) = &state.origin else {
        // Development default: no upstream, answer with what was verified.
        return http::json(
            &match &verified {
                Some(verified) => serde_json::json!({
                    "ok": true,
                    "claims": verified.claims,
                    "header": verified.header,
                    "track": verified.track.track,
                    "ttl_ceiling_s": verified.track.ttl_ceiling_s,
                }),
                None => serde_json::json!({"ok": true, "anonymous": true}),
            },
            200,
        );
    };
    forward(state, req, verified.as_ref(), origin).await
}

/// Forwards to `ORIGIN` with the same method, path, query and body; client-sent identity headers
/// are removed before edge-jwt's own are added (none for an anonymous request), so they cannot
/// be spoofed.
async fn forward(
    state: &State,
    req: Request,
    verified: Option<&Verified>,
    origin: &str,
) -> worker::Result<Response> {
    // Path and query as the client sent them (already normalised by the runtime's URL parser).
    let url = req.inner().url();
    let after_host = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let path_and_query = after_host.find('/').map_or("/", |i| &after_host[i..]);
    let path_and_query = path_and_query.split('#').next().unwrap_or("/");
    let target = format!("{origin}{path_and_query}");

    let headers = Headers::new();
    let forward_authorization = state.validator.policy().gateway.forward_authorization;
    for (name, value) in req.headers().entries() {
        let drop = is_identity_header(&name)
            || (!forward_authorization && name.eq_ignore_ascii_case("authorization"));
        if !drop {
            headers.append(&name, &value)?;
        }
    }
    for (name, value) in verified.map(identity_headers).unwrap_or_default() {
        headers.set(name, &value)?;
    }
    let mut init = RequestInit::new();
    // Redirects go back to the client: following them here would send the verified identity
    // headers to whatever host the origin names.
    init.with_method(req.method())
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if let Some(body) = req.inner().body() {
        init.with_body(Some(body.into()));
    }
    let upstream = Request::new_with_init(&target, &init)?;
    Fetch::Request(upstream).send().await
}
