//! The gateway's decision for one request, made once for every host (the Worker, the Hono and
//! Express middlewares): hosts hand over the method, the raw path and the headers, verify the
//! token the plan names (signature, claims, revocation: the I/O is theirs), and translate the
//! outcome — a [`Pass`] with the canonical path and the exact header edits, or a [`Refusal`]
//! with status, code, challenge, body and log line — back into their own request and response.

use futures_util::FutureExt;
use serde_json::Value;

use super::claim_rules::claim_header_values;
use super::edge_policy::EdgePolicy;
use super::forward::{header_edits, HeaderEdits};
use super::path::canonical_path;
use super::routes::{Mode, Route};
use super::sender::Presentation;
use super::{
    check_forwardable, error_body, presented_token, rejection_log, www_authenticate_with_scope,
};
use crate::dpop::{ClientCertificate, DpopMode, NoLedger, ProofLedger, Scheme};
use crate::error::{Error, ErrorCode};
use crate::policy::Verified;
use crate::verify::{self, SignatureBackend, SignatureCheck};

/// A request as the gateway sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path as received (no query), before any normalisation.
    pub path: &'a str,
    /// The headers as name/value pairs, as received (borrowed: a host hands over what it
    /// read without copying each one).
    pub headers: &'a [(&'a str, &'a str)],
    /// The host routes ignoring case (Express by default): route literals must too.
    pub host_folds_case: bool,
    /// The absolute request URI (scheme, host, path; a query is ignored), what a DPoP
    /// proof's `htu` must name. Hosts that check DPoP give it ([`RequestParts::with_uri`]).
    pub uri: Option<&'a str>,
    /// The connection's client certificate, where the host knows it (RFC 8705).
    pub certificate: Option<ClientCertificate<'a>>,
}

impl<'a> RequestParts<'a> {
    /// The parts of one request.
    pub fn new(
        method: &'a str,
        path: &'a str,
        headers: &'a [(&'a str, &'a str)],
        host_folds_case: bool,
    ) -> Self {
        Self {
            method,
            path,
            headers,
            host_folds_case,
            uri: None,
            certificate: None,
        }
    }

    /// With the absolute request URI (for a DPoP proof's `htu`).
    #[must_use]
    pub fn with_uri(mut self, uri: &'a str) -> Self {
        self.uri = Some(uri);
        self
    }

    /// With what the host knows of the client certificate (for certificate-bound tokens).
    #[must_use]
    pub fn with_certificate(mut self, certificate: ClientCertificate<'a>) -> Self {
        self.certificate = Some(certificate);
        self
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }
}

/// What to do with a request before any token is verified.
#[derive(Debug)]
pub enum Plan<'e> {
    /// Nothing to verify (a `disabled` route, or an `optional` one without a token): pass.
    Pass(Pass),
    /// Verify this token (revocation included), then call [`EdgePolicy::conclude`].
    Verify(Pending<'e>),
    /// Refused before any token check (an unsafe path, no or an empty bearer token).
    Refuse(Refusal),
}

/// A request waiting for its token's verification.
#[derive(Debug)]
pub struct Pending<'e> {
    /// The bearer token to verify.
    pub token: String,
    /// The canonical path the decision is made on.
    pub path: String,
    /// The route that matched.
    pub route: &'e Route,
    /// How the token was presented (`Bearer`, the cookie included, or `DPoP`).
    pub scheme: Scheme,
}

/// A request the gateway lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// The canonical path: the one to route and to forward.
    pub path: String,
    /// Index of the route that matched (`None`: the default route).
    pub route: Option<usize>,
    /// Header edits to apply before the origin or the next handler sees the request.
    pub edits: HeaderEdits,
}

/// A request the gateway refuses, ready to answer and to log.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The error (stable code, message).
    pub error: Error,
    /// HTTP status.
    pub status: u16,
    /// The RFC 6750 `WWW-Authenticate` value, where the RFC asks for one.
    pub challenge: Option<String>,
    /// The JSON body (`{"error","code","error_description"}`).
    pub body: String,
    /// The structured log line (`edge_jwt_reject`): never the token or a secret.
    pub log: Value,
    /// A `DPoP-Nonce` header to send with the refusal (`use_dpop_nonce`, RFC 9449 §8).
    pub dpop_nonce: Option<String>,
}

impl Refusal {
    fn new(
        error: Error,
        scope: Option<&str>,
        token: Option<&str>,
        verified: Option<&Verified>,
        path: &str,
    ) -> Refusal {
        Refusal {
            status: error.status(),
            challenge: www_authenticate_with_scope(&error, scope),
            body: error_body(&error).to_string(),
            log: rejection_log(&error, token, verified, path),
            error,
            dpop_nonce: None,
        }
    }

    /// A refusal for an error found outside the plan (a host's own check), logged on `path`.
    pub fn of(error: Error, token: Option<&str>, verified: Option<&Verified>, path: &str) -> Self {
        Refusal::new(error, None, token, verified, path)
    }
}

impl EdgePolicy {
    /// The first half of the decision: the canonical path (an unsafe one is 400
    /// `malformed_request`), the route, and the token the route needs (`Authorization: Bearer`
    /// or `DPoP`, else the policy's cookie). A `disabled` route, or an `optional` one with no token, passes
    /// with the client's identity headers stripped.
    pub fn plan<'e>(&'e self, request: &RequestParts<'_>) -> Plan<'e> {
        let path = match canonical_path(request.path) {
            Ok(path) => path,
            Err(error) => return Plan::Refuse(Refusal::of(error, None, None, request.path)),
        };
        let route = self
            .routes
            .find(request.method, &path, request.host_folds_case);
        let anonymous = |path: String| {
            Plan::Pass(Pass {
                edits: header_edits(
                    &self.gateway,
                    &self.claim_headers,
                    pairs(request.headers),
                    None,
                ),
                route: route.index,
                path,
            })
        };
        if route.mode == Mode::Disabled {
            return anonymous(path);
        }
        match presented_token(
            request.header("authorization"),
            request.header("cookie"),
            self.gateway.cookie.as_deref(),
        ) {
            Ok((scheme, token)) => Plan::Verify(Pending {
                token,
                path,
                route,
                scheme,
            }),
            Err(e) if e.code() == ErrorCode::MissingToken && route.mode == Mode::Optional => {
                anonymous(path)
            }
            Err(error) => {
                let mut refusal = Refusal::of(error, None, None, &path);
                // A route that takes DPoP tokens only says so in its challenge (RFC 9449 §7.1).
                if route.dpop == DpopMode::Required
                    && refusal.error.code() == ErrorCode::MissingToken
                {
                    refusal.challenge = Some(self.sender.dpop_challenge(""));
                }
                Plan::Refuse(refusal)
            }
        }
    }

    /// The second half: the host's verification outcome (`Err` with the verified token when an
    /// authentic token was refused later, by revocation) becomes a refusal, or the token must
    /// still carry an identity that can travel in headers, prove its sender where its `cnf` or
    /// the route asks ([`super::sender`]: a DPoP proof checked by `check`, a client
    /// certificate), and meet the route's audience, tracks and scopes; then the request passes
    /// with the identity set.
    pub async fn conclude_checked(
        &self,
        request: &RequestParts<'_>,
        pending: &Pending<'_>,
        outcome: Result<&Verified, (Error, Option<&Verified>)>,
        now: u64,
        check: &impl SignatureCheck,
        ledger: &impl ProofLedger,
    ) -> Result<Pass, Box<Refusal>> {
        let refuse = |error: Error, scope: Option<&str>, verified: Option<&Verified>| {
            let mut refusal =
                Refusal::new(error, scope, Some(&pending.token), verified, &pending.path);
            refusal.challenge = self.sender.challenge(
                &refusal.error,
                Some(pending.scheme),
                refusal.challenge.take(),
            );
            refusal.dpop_nonce = self.sender.nonce_for(&refusal.error, now);
            Box::new(refusal)
        };
        let verified = match outcome {
            Ok(verified) => verified,
            Err((error, verified)) => return Err(refuse(error, None, verified)),
        };
        let claim_values = check_forwardable(verified)
            .and_then(|()| claim_header_values(&self.claim_headers, verified.claims()));
        let claim_values = match claim_values {
            Ok(values) => values,
            Err(error) => return Err(refuse(error, None, Some(verified))),
        };
        let presentation = Presentation {
            method: request.method,
            uri: request.uri,
            headers: request.headers,
            certificate: request.certificate,
            token: &pending.token,
            scheme: pending.scheme,
            dpop: pending.route.dpop,
            binding: pending.route.binding,
            replay: pending.route.dpop_replay,
        };
        if let Err(error) = self
            .sender
            .check(&presentation, verified, now, check, ledger)
            .await
        {
            return Err(refuse(error, None, Some(verified)));
        }
        if let Err(error) = pending.route.authorize(verified, &self.role_paths) {
            let scopes = pending.route.scope_challenge();
            return Err(refuse(error, Some(&scopes), Some(verified)));
        }
        let identity = (
            verified.claims(),
            verified.track.track.as_deref(),
            claim_values.as_slice(),
        );
        Ok(Pass {
            path: pending.path.clone(),
            route: pending.route.index,
            edits: header_edits(
                &self.gateway,
                &self.claim_headers,
                pairs(request.headers),
                Some(identity),
            ),
        })
    }

    /// [`Self::conclude_checked`] with a proof signature checked synchronously by `backend`
    /// (a host's native crypto, or jwt-compact).
    pub fn conclude_using(
        &self,
        request: &RequestParts<'_>,
        pending: &Pending<'_>,
        outcome: Result<&Verified, (Error, Option<&Verified>)>,
        now: u64,
        backend: &dyn SignatureBackend,
    ) -> Result<Pass, Box<Refusal>> {
        // No proof ledger here: a route with global replay fails closed (hosts that serve one
        // are refused at start-up, see `SenderConstraints::wants_ledger`).
        self.conclude_checked(
            request,
            pending,
            outcome,
            now,
            &verify::Ready(backend),
            &NoLedger,
        )
        .now_or_never()
        .unwrap_or_else(|| {
            // `Ready` never waits, so this is unreachable; refuse rather than panic.
            let error = Error::new(
                ErrorCode::InvalidDpopProof,
                "the proof's signature check did not complete",
            );
            Err(Box::new(Refusal::of(
                error,
                Some(&pending.token),
                None,
                &pending.path,
            )))
        })
    }

    /// [`Self::conclude_using`] with jwt-compact's signature checks (the CLI, tests).
    pub fn conclude(
        &self,
        request: &RequestParts<'_>,
        pending: &Pending<'_>,
        outcome: Result<&Verified, (Error, Option<&Verified>)>,
        now: u64,
    ) -> Result<Pass, Box<Refusal>> {
        self.conclude_using(request, pending, outcome, now, &verify::JwtCompact)
    }
}

fn pairs<'a>(headers: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    headers.iter().copied()
}

/// `headers` as the borrowed pairs [`RequestParts`] takes.
pub fn borrowed_pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::edge_policy::load;

    const CONFIG: &str = r#"{"algorithms":["HS256"],"secret":"decision-tests-secret-0123456789ab",
        "required_claims":["exp"],"gateway":{"cookie":"sid"},
        "routes":[{"path":"/health","mode":"disabled"},{"path":"/pub/*","mode":"optional"},
                  {"path":"/ops/*","scopes":["ops"]}]}"#;

    fn headers<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        pairs.to_vec()
    }

    fn request<'a>(path: &'a str, headers: &'a [(&'a str, &'a str)]) -> RequestParts<'a> {
        RequestParts::new("GET", path, headers, false)
    }

    #[test]
    fn plans_for_each_kind_of_request() {
        let (_, edge) = load(CONFIG).unwrap();
        let spoofed = headers(&[("x-edge-jwt_sub", "mallory")]);
        match edge.plan(&request("/health/../health", &spoofed)) {
            Plan::Pass(pass) => {
                assert_eq!(pass.path, "/health");
                assert_eq!(pass.edits.remove, ["x-edge-jwt_sub"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(edge.plan(&request("/pub/x", &[])), Plan::Pass(_)));
        let Plan::Refuse(missing) = edge.plan(&request("/api", &[])) else {
            panic!("no token on a required route")
        };
        assert_eq!(missing.status, 401);
        assert_eq!(missing.challenge.as_deref(), Some("Bearer"));
        let Plan::Refuse(bad_path) = edge.plan(&request("/a%2Fb", &[])) else {
            panic!("unsafe path")
        };
        assert_eq!(bad_path.status, 400);
        assert_eq!(bad_path.log["code"], "malformed_request");
        let cookie = headers(&[("cookie", "a=1; sid=tok")]);
        let Plan::Verify(pending) = edge.plan(&request("/%6Fps/x", &cookie)) else {
            panic!("a token to verify")
        };
        assert_eq!(pending.token, "tok");
        assert_eq!(pending.path, "/ops/x");
    }

    #[test]
    fn conclusions_refuse_in_one_order_and_pass_with_edits() {
        let (validator, edge) = load(CONFIG).unwrap();
        let signer =
            crate::Signer::from_secret("decision-tests-secret-0123456789ab", crate::Alg::HS256)
                .unwrap();
        let mint_as = |sub: &str, claims: serde_json::Value| {
            let request = crate::IssueRequest {
                sub: Some(sub.into()),
                claims: claims.as_object().cloned().unwrap_or_default(),
                ..Default::default()
            };
            crate::issue(
                validator.policy(),
                &signer,
                request,
                1000,
                &mut rand_core::OsRng,
            )
            .unwrap()
            .token
        };
        let mint = |claims| mint_as("ada", claims);
        let reader = mint(serde_json::json!({"scope": "read"}));
        let bearer = format!("Bearer {reader}");
        let h = headers(&[("authorization", &bearer)]);
        let req = request("/ops/x", &h);
        let Plan::Verify(pending) = edge.plan(&req) else {
            panic!()
        };
        let verified = validator.verify(&pending.token, 1000).unwrap();
        let refusal = edge
            .conclude(&req, &pending, Ok(&verified), 1000)
            .unwrap_err();
        assert_eq!(refusal.status, 403);
        assert!(refusal.challenge.unwrap().ends_with("scope=\"ops\""));
        // Revocation (reported by the host) comes before the route's own refusal.
        let revoked = Error::new(ErrorCode::Revoked, "token has been revoked");
        let refusal = edge
            .conclude(&req, &pending, Err((revoked, Some(&verified))), 1000)
            .unwrap_err();
        assert_eq!(refusal.error.code(), ErrorCode::Revoked);
        assert_eq!(refusal.log["jti_prefix"].as_str().map(str::len), Some(8));
        // An identity that cannot travel in a header, before the route's checks.
        let split = mint_as(
            "ada\r\nx-edge-jwt-admin: 1",
            serde_json::json!({"scope": "ops"}),
        );
        let verified = validator.verify(&split, 1000).unwrap();
        let refusal = edge
            .conclude(&req, &pending, Ok(&verified), 1000)
            .unwrap_err();
        assert_eq!(refusal.error.code(), ErrorCode::InvalidClaim);
        // An operator passes, with the identity set.
        let operator = validator
            .verify(&mint(serde_json::json!({"scope": "ops"})), 1000)
            .unwrap();
        let pass = edge.conclude(&req, &pending, Ok(&operator), 1000).unwrap();
        assert_eq!(pass.path, "/ops/x");
        assert!(pass
            .edits
            .set
            .contains(&("x-edge-jwt-sub".to_owned(), "ada".to_owned())));
    }
}
