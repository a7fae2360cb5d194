//! Several issuers in one policy (issue 17), through the edge validator every wasm host runs:
//! the unverified `iss` selects an entry before any key is fetched, each entry's remote set is
//! fetched (and refetched) on its own, discovery documents must name their issuer, and nothing
//! an entry decides leaks into another's.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test fixtures: one that cannot be built must stop the test at that line"
)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use edge_jwt::gateway::edge::{EdgeValidator, JwksHost};
use edge_jwt::gateway::edge_policy::load;
use edge_jwt::revocation::KeyValueStore;
use edge_jwt::verify::{JwtCompact, Ready};
use edge_jwt::{Alg, ErrorCode, Result, Signer, Verified};
use futures_util::FutureExt;
use serde_json::{json, Value};

mod common;
use common::b64;

const NOW: u64 = 1_800_000_000;

/// Documents by URL; every fetch is recorded.
#[derive(Default)]
struct Documents {
    bodies: RefCell<BTreeMap<String, String>>,
    fetched: RefCell<Vec<String>>,
    logged: RefCell<Vec<Value>>,
}

impl Documents {
    fn serve(&self, url: &str, body: Value) {
        self.bodies
            .borrow_mut()
            .insert(url.into(), body.to_string());
    }
    fn fetches_of(&self, prefix: &str) -> usize {
        self.fetched
            .borrow()
            .iter()
            .filter(|u| u.starts_with(prefix))
            .count()
    }
}

impl JwksHost for Documents {
    async fn fetch(
        &self,
        url: &str,
        _timeout_ms: u64,
    ) -> std::result::Result<(String, Option<String>), String> {
        self.fetched.borrow_mut().push(url.into());
        let body = self.bodies.borrow().get(url).cloned();
        body.map(|b| (b, Some("max-age=600".into())))
            .ok_or_else(|| "HTTP 404".into())
    }
    async fn shared_get(&self, _key: &str, _timeout_ms: u64) -> Option<String> {
        None
    }
    async fn shared_put(&self, _key: &str, _value: String, _ttl_s: u64, _timeout_ms: u64) {}
    async fn sleep(&self, _ms: u64) {}
    fn log(&self, event: &Value) {
        self.logged.borrow_mut().push(event.clone());
    }
}

struct NoStore;

impl KeyValueStore for NoStore {
    async fn get(&self, _key: &str) -> Result<Option<String>> {
        Ok(None)
    }
    async fn put(&self, _key: &str, _value: &str, _ttl_s: u64) -> Result<()> {
        Ok(())
    }
}

/// A provider: its signing key and published JWKS.
struct Provider {
    signer: Signer,
    jwks: Value,
}

fn provider(alg: Alg, kid: &str) -> Provider {
    let key = edge_jwt::keygen::generate(alg, Some(kid), &mut rand_core::OsRng).unwrap();
    Provider {
        signer: Signer::from_jwk(&key.private_jwk.to_string(), None).unwrap(),
        jwks: key.public_jwks.unwrap(),
    }
}

fn token(signer: &Signer, claims: Value) -> String {
    let mut header = json!({"alg": signer.alg().name()});
    if let Some(kid) = signer.kid() {
        header["kid"] = kid.into();
    }
    let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = signer.sign(input.as_bytes());
    format!("{input}.{}", b64(signature))
}

fn claims(iss: &str, aud: &str) -> Value {
    json!({"iss": iss, "aud": aud, "sub": "ada", "iat": NOW, "exp": NOW + 600, "jti": "j1"})
}

const A: &str = "https://a.example/";
const B: &str = "https://b.example/tenant/";

fn edge(policy: Value) -> EdgeValidator<NoStore> {
    let (validator, edge) = load(&policy.to_string()).unwrap();
    EdgeValidator::new(validator, edge, None)
}

fn verify(v: &EdgeValidator<NoStore>, host: &Documents, token: &str, now: u64) -> Result<Verified> {
    v.verify(host, token, now, &Ready(&JwtCompact))
        .now_or_never()
        .expect("the documents answer at once")
}

/// A by jwks_url, B by discovery; both ES256, their keys under the same kid.
fn two_providers() -> (EdgeValidator<NoStore>, Documents, Provider, Provider) {
    let a = provider(Alg::ES256, "same-kid");
    let b = provider(Alg::ES256, "same-kid");
    let host = Documents::default();
    host.serve("https://a.example/keys", a.jwks.clone());
    host.serve(
        "https://b.example/tenant/.well-known/openid-configuration",
        json!({"issuer": B, "jwks_uri": "https://b.example/tenant/keys",
               "id_token_signing_alg_values_supported": ["ES256", "RS256"]}),
    );
    host.serve("https://b.example/tenant/keys", b.jwks.clone());
    let v = edge(json!({
        "algorithms": ["ES256"],
        "issuers": [
            {"issuer": A, "jwks_url": "https://a.example/keys", "audience": "api-a", "algorithms": ["ES256"]},
            {"issuer": B, "discovery": "https://b.example/tenant/", "audience": "api-b",
             "algorithms": ["ES256"], "leeway_s": 0},
        ],
    }));
    (v, host, a, b)
}

#[test]
fn each_issuer_verifies_with_its_own_keys_only() {
    let (v, host, a, b) = two_providers();
    let ta = token(&a.signer, claims(A, "api-a"));
    let tb = token(&b.signer, claims(B, "api-b"));
    assert_eq!(verify(&v, &host, &ta, NOW).unwrap().profile, 1);
    assert_eq!(verify(&v, &host, &tb, NOW).unwrap().profile, 2);
    // A's key, B's iss (and the same kid at both): B's key decides, and refuses.
    let forged = token(&a.signer, claims(B, "api-b"));
    let e = verify(&v, &host, &forged, NOW).unwrap_err();
    assert_eq!(e.code(), ErrorCode::BadSignature);
    // Each entry's audience is its own.
    let crossed = token(&a.signer, claims(A, "api-b"));
    assert_eq!(
        verify(&v, &host, &crossed, NOW).unwrap_err().code(),
        ErrorCode::BadAudience
    );
    assert_eq!(host.fetches_of("https://a.example/"), 1);
    assert_eq!(
        host.fetches_of("https://b.example/"),
        2,
        "discovery, then keys"
    );
}

#[test]
fn an_unknown_or_malformed_iss_is_refused_before_any_fetch() {
    let (v, host, a, _) = two_providers();
    let stranger = token(&a.signer, claims("https://a.example", "api-a"));
    assert_eq!(
        verify(&v, &host, &stranger, NOW).unwrap_err().code(),
        ErrorCode::BadIssuer
    );
    let no_iss = token(&a.signer, json!({"aud": "api-a", "exp": NOW + 60}));
    assert_eq!(
        verify(&v, &host, &no_iss, NOW).unwrap_err().code(),
        ErrorCode::BadIssuer
    );
    let numeric = token(&a.signer, json!({"iss": 7, "exp": NOW + 60}));
    assert_eq!(
        verify(&v, &host, &numeric, NOW).unwrap_err().code(),
        ErrorCode::InvalidClaim
    );
    let duplicated = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"ES256"}"#),
        b64(format!(r#"{{"iss":"{B}","iss":"{A}"}}"#)),
        b64([0u8; 64])
    );
    assert_eq!(
        verify(&v, &host, &duplicated, NOW).unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert!(host.fetched.borrow().is_empty(), "{:?}", host.fetched);
}

#[test]
fn a_rotation_refetches_the_rotating_issuer_only() {
    let (v, host, a, b) = two_providers();
    verify(&v, &host, &token(&a.signer, claims(A, "api-a")), NOW).unwrap();
    verify(&v, &host, &token(&b.signer, claims(B, "api-b")), NOW).unwrap();
    let rotated = provider(Alg::ES256, "a-2");
    host.serve("https://a.example/keys", rotated.jwks.clone());
    let later = NOW + 120;
    let t = token(&rotated.signer, claims(A, "api-a"));
    assert!(verify(&v, &host, &t, later).is_ok());
    assert_eq!(host.fetches_of("https://a.example/"), 2);
    assert_eq!(host.fetches_of("https://b.example/"), 2, "B untouched");
    // B's tokens still verify without a fetch; A's old key is gone (cached verdicts too).
    verify(&v, &host, &token(&b.signer, claims(B, "api-b")), later).unwrap();
    assert_eq!(host.fetches_of("https://b.example/"), 2);
}

#[test]
fn a_discovery_document_must_name_its_issuer_exactly_and_narrows_the_algorithms() {
    let b = provider(Alg::ES256, "k");
    let host = Documents::default();
    let document = "https://b.example/tenant/.well-known/openid-configuration";
    host.serve(
        document,
        json!({"issuer": "https://b.example/other/", "jwks_uri": "https://b.example/tenant/keys"}),
    );
    host.serve("https://b.example/tenant/keys", b.jwks.clone());
    let policy = json!({"algorithms": ["ES256"], "issuers": [{"issuer": B,
        "discovery": "https://b.example/tenant/", "audience": "api-b", "algorithms": ["ES256", "EdDSA"]}]});
    let v = edge(policy.clone());
    let t = token(&b.signer, claims(B, "api-b"));
    let e = verify(&v, &host, &t, NOW).unwrap_err();
    assert_eq!(e.code(), ErrorCode::JwksUnavailable);
    assert_eq!(
        host.logged.borrow()[0]["event"],
        "edge_jwt_discovery_rejected"
    );
    let report = v.remote_key_set_report();
    assert!(report[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("is not the configured"));
    assert_eq!(host.fetches_of("https://b.example/tenant/keys"), 0);
    // The provider advertises EdDSA only: its ES256 key is not taken.
    host.serve(
        document,
        json!({"issuer": B, "jwks_uri": "https://b.example/tenant/keys",
               "id_token_signing_alg_values_supported": ["EdDSA"]}),
    );
    let v = edge(policy);
    let e = verify(&v, &host, &t, NOW).unwrap_err();
    assert_eq!(e.code(), ErrorCode::JwksUnavailable, "{e}");
}

#[test]
fn each_entry_keeps_its_own_leeway_and_claim_rules() {
    let (v, host, a, b) = two_providers();
    // Expired 10 s ago: within A's default leeway (30 s), not within B's (0).
    let mut late = claims(A, "api-a");
    late["exp"] = json!(NOW - 10);
    assert!(verify(&v, &host, &token(&a.signer, late.clone()), NOW).is_ok());
    late["iss"] = json!(B);
    late["aud"] = json!("api-b");
    assert_eq!(
        verify(&v, &host, &token(&b.signer, late), NOW)
            .unwrap_err()
            .code(),
        ErrorCode::Expired
    );
    // Cognito-style: client_id instead of aud, token_use must say access.
    let c = provider(Alg::ES256, "c");
    let v = edge(
        json!({"algorithms": ["ES256"], "issuers": [{"issuer": A, "keys": c.jwks,
        "audience": "client-1", "audience_claim": "client_id", "algorithms": ["ES256"],
        "claims": {"token_use": {"equals": "access"}}}]}),
    );
    let access = json!({"iss": A, "client_id": "client-1", "token_use": "access", "sub": "s",
        "iat": NOW, "exp": NOW + 60, "jti": "j"});
    assert!(verify(&v, &host, &token(&c.signer, access.clone()), NOW).is_ok());
    let mut id = access.clone();
    id["token_use"] = json!("id");
    let e = verify(&v, &host, &token(&c.signer, id), NOW).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidClaim);
    assert!(e.message().contains("token_use"), "{e}");
    let mut other = access;
    other["client_id"] = json!("client-2");
    assert_eq!(
        verify(&v, &host, &token(&c.signer, other), NOW)
            .unwrap_err()
            .code(),
        ErrorCode::BadAudience
    );
}

#[test]
fn the_top_level_keys_serve_their_own_issuer_beside_the_entries() {
    let a = provider(Alg::ES256, "a");
    let own = "edge-jwt issuers test secret 0123456789abcdef";
    let v = edge(
        json!({"algorithms": ["HS256"], "secret": own, "issuer": "https://edge.example",
        "issuers": [{"issuer": A, "keys": a.jwks, "audience": "api-a", "algorithms": ["ES256"]}]}),
    );
    let host = Documents::default();
    let hmac = Signer::from_secret(own, Alg::HS256).unwrap();
    let mine = token(&hmac, claims("https://edge.example", "x"));
    assert_eq!(verify(&v, &host, &mine, NOW).unwrap().profile, 0);
    // An HS256 token under A's iss: A's rules allow ES256 only, and its keys are A's.
    let forged = token(&hmac, claims(A, "api-a"));
    assert_eq!(
        verify(&v, &host, &forged, NOW).unwrap_err().code(),
        ErrorCode::AlgNotAllowed
    );
    // The gateway's refresh never renews a provider's token.
    let theirs = verify(&v, &host, &token(&a.signer, claims(A, "api-a")), NOW).unwrap();
    let e = edge_jwt::mint::reissue(
        v.validator.policy(),
        &hmac,
        &theirs,
        NOW,
        &mut rand_core::OsRng,
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidClaim);
}
