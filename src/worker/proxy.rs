//! The gateway: validate the bearer token, then forward with the verified identity.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys;
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys;

use super::metrics::Outcome;
use super::state::State;
use super::{http, now};
use crate::dpop::{BindingRequirement, CertificateFingerprint, ClientCertificate};
use crate::error::Error;
use crate::gateway::decision::{Pass, Plan, Refusal, RequestParts};
use crate::gateway::{bearer_token, check_forwardable};
use crate::policy::Verified;

/// Why a request was refused, with what is known of its token for the log line.
pub struct Rejection {
    pub error: Error,
    pub token: Option<String>,
    /// Set when the token itself verified and a later check (revocation) refused it.
    pub verified: Option<Verified>,
}

impl Rejection {
    /// Logs the rejection and answers it.
    pub fn respond(&self, path: &str) -> worker::Result<worker::Response> {
        http::reject(
            &self.error,
            self.token.as_deref(),
            self.verified.as_ref(),
            path,
        )
    }
}

/// The request's bearer token (header, or the configured cookie).
pub fn request_token(state: &State, headers: &web_sys::Headers) -> Result<String, Error> {
    let authorization = headers.get("authorization").ok().flatten();
    let cookies = headers.get("cookie").ok().flatten();
    let cookie_name = state.core.edge.gateway.cookie.as_deref();
    bearer_token(authorization.as_deref(), cookies.as_deref(), cookie_name)
}

/// Finds the request's token and checks it fully, revocation included.
pub async fn authenticate(
    state: &State,
    headers: &web_sys::Headers,
) -> Result<(String, Verified), Rejection> {
    let token = request_token(state, headers).map_err(|error| Rejection {
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
    state.check_token(token, now()).await
}

/// The gateway: the core's decision ([`EdgePolicy::plan`], the token verified here with its
/// revocation, then [`EdgePolicy::conclude`]), translated into a forwarded request or an
/// answer. The canonical path the decision was made on is the path forwarded.
///
/// Works on the runtime's own Request and Response objects: the gateway path is the hot one,
/// and `worker::Request`/`worker::Response` would copy what is forwarded unchanged (and read
/// the request's `cf` object, which workerd builds on first access).
///
/// [`EdgePolicy::plan`]: crate::gateway::EdgePolicy::plan
/// [`EdgePolicy::conclude`]: crate::gateway::EdgePolicy::conclude
///
/// Answers a `Response`, or the origin fetch's `Promise` of one (not awaited here: see
/// [`super::fetch`]).
pub async fn handle(
    state: &State,
    req: &web_sys::Request,
    url: &str,
    raw_path: &str,
) -> worker::Result<JsValue> {
    // Read only for `Server-Timing` (a clock read is a call into JS on every request).
    let started = match state.core.edge.gateway.server_timing {
        true => worker::Date::now().as_millis(),
        false => 0,
    };
    let headers = req.headers();
    let lines = header_lines(&headers);
    let pairs = header_pairs(&lines);
    let method = req.method();
    let request = RequestParts::new(&method, raw_path, &pairs, false).with_uri(url);
    let (pass, verified) = match state.core.edge.plan(&request) {
        Plan::Pass(pass) => (pass, None),
        Plan::Refuse(refusal) => {
            return refused(state, &refusal, None, None, started).map(Into::into)
        }
        Plan::Verify(pending) => {
            let now = now();
            let outcome = state.check_token(&pending.token, now).await;
            // `request.cf` is built on first access: read it only when a certificate can
            // matter (the token has a `cnf`, or the route asks for a binding).
            let client_auth = match &outcome {
                Ok(verified)
                    if verified.claims().contains_key("cnf")
                        || pending.route.binding != BindingRequirement::None =>
                {
                    Some(TlsClientAuth::of(req))
                }
                _ => None,
            };
            let request = match &client_auth {
                Some(auth) => request.with_certificate(auth.certificate()),
                None => request,
            };
            let edge = &state.core.edge;
            let check = &state.proof_crypto;
            let concluded = match &outcome {
                Ok(verified) => {
                    edge.conclude_checked(
                        &request,
                        &pending,
                        Ok(verified),
                        now,
                        check,
                        &state.authority,
                    )
                    .await
                }
                Err((error, verified)) => {
                    edge.conclude_checked(
                        &request,
                        &pending,
                        Err((error.clone(), verified.as_ref())),
                        now,
                        check,
                        &state.authority,
                    )
                    .await
                }
            };
            match concluded {
                Ok(pass) => (pass, outcome.ok()),
                Err(refusal) => {
                    let verified = outcome
                        .as_ref()
                        .ok()
                        .or_else(|| outcome.as_ref().err().and_then(|(_, v)| v.as_ref()));
                    return refused(state, &refusal, verified, pending.route.index, started)
                        .map(Into::into);
                }
            }
        }
    };
    state.metrics.record(&Outcome {
        code: if verified.is_some() {
            "ok"
        } else {
            "anonymous"
        },
        status: 200,
        verified: verified.as_ref(),
        route: pass.route,
    });
    let response = match &state.origin {
        Some(origin) => {
            let upstream = forward(url, req, &pass, origin)?;
            if !state.core.edge.gateway.server_timing {
                return Ok(upstream.into());
            }
            JsFuture::from(upstream).await?.unchecked_into()
        }
        // Development default: no upstream, answer with what was verified.
        None => development_answer(verified.as_ref())?,
    };
    with_server_timing(state, response, "pass", started).map(Into::into)
}

/// The development default's answer (no `ORIGIN`): what was verified, as JSON. The claims and
/// header go out as the token carried them (text that passed the strict parser), and the body
/// reaches the runtime as one string: nothing is rebuilt or copied per request.
fn development_answer(verified: Option<&Verified>) -> worker::Result<web_sys::Response> {
    let body = match verified {
        Some(verified) => {
            let text = String::from_utf8_lossy;
            format!(
                r#"{{"ok":true,"claims":{},"header":{},"track":{},"ttl_ceiling_s":{}}}"#,
                text(&verified.claims_json),
                text(&verified.header.json),
                serde_json::to_string(&verified.track.track)?,
                verified.track.ttl_ceiling_s,
            )
        }
        None => r#"{"ok":true,"anonymous":true}"#.to_owned(),
    };
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    let init = web_sys::ResponseInit::new();
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_str_and_init(
        Some(&body),
        &init,
    )?)
}

/// Counts, logs and answers a refusal.
fn refused(
    state: &State,
    refusal: &Refusal,
    verified: Option<&Verified>,
    route: Option<usize>,
    started: u64,
) -> worker::Result<web_sys::Response> {
    state.metrics.record(&Outcome {
        code: refusal.error.code().code(),
        status: refusal.status,
        verified,
        route,
    });
    let response = http::refuse(refusal)?.into();
    with_server_timing(state, response, refusal.error.code().code(), started)
}

/// With `gateway.server_timing`: `Server-Timing: edge-jwt;dur=…;desc="<outcome>"`. Workers
/// clocks advance only across I/O, so `dur` is the time spent waiting (KV, the authority, a
/// JWKS fetch, the origin), not CPU. An upstream response's headers are immutable: it is
/// rewrapped (same status and body stream).
fn with_server_timing(
    state: &State,
    response: web_sys::Response,
    outcome: &str,
    started: u64,
) -> worker::Result<web_sys::Response> {
    if !state.core.edge.gateway.server_timing {
        return Ok(response);
    }
    let elapsed = worker::Date::now().as_millis().saturating_sub(started);
    let value = format!("edge-jwt;dur={elapsed};desc=\"{outcome}\"");
    if response.headers().append("server-timing", &value).is_ok() {
        return Ok(response);
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status());
    init.set_status_text(&response.status_text());
    let headers = web_sys::Headers::new_with_headers(&response.headers())?;
    headers.append("server-timing", &value)?;
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(
        response.body().as_ref(),
        &init,
    )?)
}

/// Forwards to `ORIGIN` with the same method, query and body, the canonical path and the
/// core's header edits: the origin fetch's Promise, whose response goes back as it came. The
/// edits cross to JS as one JSON text and are applied there in one call (see
/// [`forward_request`]).
fn forward(
    url: &str,
    req: &web_sys::Request,
    pass: &Pass,
    origin: &str,
) -> worker::Result<js_sys::Promise> {
    let query = http::path_and_query(url)
        .split_once('?')
        .map_or(String::new(), |(_, q)| format!("?{q}"));
    let target = format!("{origin}{}{query}", pass.path);
    let edits = serde_json::to_string(&(&pass.edits.remove, &pass.edits.set))?;
    Ok(forward_request(req, &target, &edits)?)
}

/// `request.cf.tlsClientAuth` (Cloudflare's mTLS fields), as strings.
struct TlsClientAuth {
    presented: bool,
    verified: bool,
    fingerprint: Option<String>,
}

impl TlsClientAuth {
    fn of(req: &web_sys::Request) -> Self {
        let field = |object: &wasm_bindgen::JsValue, name: &str| {
            js_sys::Reflect::get(object, &name.into())
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_null())
        };
        let auth = field(req.as_ref(), "cf").and_then(|cf| field(&cf, "tlsClientAuth"));
        let text = |name: &str| auth.as_ref().and_then(|a| field(a, name)?.as_string());
        Self {
            presented: text("certPresented").as_deref() == Some("1"),
            verified: text("certVerified").as_deref() == Some("SUCCESS"),
            fingerprint: text("certFingerprintSHA256").filter(|f| !f.is_empty()),
        }
    }

    fn certificate(&self) -> ClientCertificate<'_> {
        ClientCertificate {
            presented: self.presented,
            verified: self.verified,
            fingerprint: self
                .fingerprint
                .as_deref()
                .map(CertificateFingerprint::Sha256Hex),
        }
    }
}

#[wasm_bindgen(inline_js = "export function header_lines(headers) {
  let lines = '';
  for (const [name, value] of headers) lines += name + ':' + value + '\\n';
  return lines;
}
export function forward_request(request, target, edits) {
  const [remove, set] = JSON.parse(edits);
  const headers = new Headers(request.headers);
  for (const name of remove) headers.delete(name);
  for (const [name, value] of set) headers.set(name, value);
  return fetch(target, { method: request.method, headers, body: request.body, redirect: 'manual' });
}")]
extern "C" {
    /// Every header as `name:value\n` in one string: one crossing into wasm instead of four
    /// per header. The Fetch API's names are tokens (no `:`) and its values never hold a line
    /// feed (`Headers` refuses them), so the text splits back exactly.
    fn header_lines(headers: &web_sys::Headers) -> String;

    /// `fetch(target)` with `request`'s method and body, its headers less `remove` and then
    /// with `set` (`edits` = `[remove, set]` as JSON), redirects not followed: they go back
    /// to the client, since following them would send the verified identity headers to
    /// whatever host the origin names. One crossing instead of one per header edit and
    /// request field.
    #[wasm_bindgen(catch)]
    fn forward_request(
        request: &web_sys::Request,
        target: &str,
        edits: &str,
    ) -> std::result::Result<js_sys::Promise, JsValue>;
}

/// The client's headers as name/value pairs (names lower-case, as the Fetch API gives them),
/// borrowed from [`header_lines`]'s text.
fn header_pairs(lines: &str) -> Vec<(&str, &str)> {
    lines
        .split_terminator('\n')
        .filter_map(|line| line.split_once(':'))
        .collect()
}
