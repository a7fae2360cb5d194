//! Sender-constrained tokens through the gateway's one decision (`EdgePolicy::plan`, the
//! token verified, `EdgePolicy::conclude`): what every host (Worker, Hono, Express) answers.
//! The attacker's cases first: a stolen DPoP-bound token used as a bearer token, with the
//! attacker's own proof, or with a proof replayed; then the client's, and the config.
#![allow(
    clippy::result_large_err,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line; \
              a decision is compared whole"
)]

mod common;

use common::*;
use edge_jwt::dpop::{jwk_thumbprint, CertificateFingerprint, ClientCertificate};
use edge_jwt::gateway::decision::{borrowed_pairs, Pass, Plan, Refusal, RequestParts};
use edge_jwt::gateway::edge_policy::load;
use edge_jwt::gateway::EdgePolicy;
use edge_jwt::{Alg, Signer, Validator};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const URL: &str = "https://api.example.com/orders/42";
const NONCE_SECRET: &[u8] = b"gateway dpop nonce secret 0123456789ab";
/// A certificate's DER stand-in: the binding is to its SHA-256, whatever the bytes.
const CERT_DER: &[u8] = b"0\x82\x01\x0a a client certificate's DER bytes";
const OTHER_CERT_DER: &[u8] = b"0\x82\x01\x0a another client certificate";

fn policy(extra: Value) -> (Validator, EdgePolicy) {
    let mut config = json!({"algorithms": ["HS256"], "secret": HMAC_SECRET});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    load(&config.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// Routes: `/orders/*` requires DPoP, `/mixed/*` takes it optionally, `/mtls/*` needs a
/// certificate-bound token, everything else is a plain route (`dpop` off).
fn gateway() -> (Validator, EdgePolicy) {
    policy(json!({"routes": [
        {"path": "/orders/*", "dpop": "required"},
        {"path": "/mixed/*", "dpop": "optional"},
        {"path": "/mtls/*", "binding": "mtls"},
        {"path": "/pub/*", "mode": "optional"}
    ]}))
}

fn client() -> Signer {
    signer(P256_PRIVATE_JWK, Alg::ES256)
}

fn attacker() -> Signer {
    signer(ATTACKER_P256_PRIVATE_JWK, Alg::ES256)
}

fn jkt_of(private_jwk: &str) -> String {
    jwk_thumbprint(public_jwk(private_jwk).as_object().unwrap()).unwrap()
}

fn bound_token(cnf: Value) -> String {
    token(&hs256(), &claims_with(json!({ "cnf": cnf })))
}

fn dpop_token() -> String {
    bound_token(json!({ "jkt": jkt_of(P256_PRIVATE_JWK) }))
}

fn x5t_of(der: &[u8]) -> String {
    b64(Sha256::digest(der))
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

/// The whole decision for `method url` with `headers` and, optionally, a client certificate.
fn decide_with(
    (validator, edge): &(Validator, EdgePolicy),
    method: &str,
    url: &str,
    headers: &[(String, String)],
    certificate: Option<ClientCertificate<'_>>,
) -> Result<Pass, Refusal> {
    let path = url
        .split_once("://")
        .map(|(_, rest)| &rest[rest.find('/').unwrap_or(rest.len())..])
        .unwrap_or(url);
    let path = path.split('?').next().unwrap();
    let headers = borrowed_pairs(headers);
    let mut request = RequestParts::new(method, path, &headers, false).with_uri(url);
    if let Some(certificate) = certificate {
        request = request.with_certificate(certificate);
    }
    match edge.plan(&request) {
        Plan::Pass(pass) => Ok(pass),
        Plan::Refuse(refusal) => Err(refusal),
        Plan::Verify(pending) => {
            let verified = validator.verify(&pending.token, NOW);
            let outcome = match &verified {
                Ok(v) => Ok(v),
                Err(e) => Err((e.clone(), None)),
            };
            edge.conclude(&request, &pending, outcome, NOW)
                .map_err(|refusal| *refusal)
        }
    }
}

fn decide(
    gw: &(Validator, EdgePolicy),
    method: &str,
    url: &str,
    headers: &[(String, String)],
) -> Result<Pass, Refusal> {
    decide_with(gw, method, url, headers, None)
}

fn refused(result: Result<Pass, Refusal>) -> Refusal {
    match result {
        Ok(pass) => panic!("passed: {pass:?}"),
        Err(refusal) => refusal,
    }
}

fn code_of(result: Result<Pass, Refusal>) -> String {
    refused(result).log["code"].as_str().unwrap().to_owned()
}

fn dpop_request(token: &str, proof: &str) -> Vec<(String, String)> {
    headers(&[("authorization", &format!("DPoP {token}")), ("dpop", proof)])
}

const ALGS: &str = r#"algs="ES256 EdDSA PS256 RS256""#;

#[test]
fn a_stolen_dpop_token_used_as_a_bearer_token_is_refused_on_every_route() {
    let gw = gateway();
    let token = dpop_token();
    let bearer = headers(&[("authorization", &format!("Bearer {token}"))]);
    for url in [
        URL,
        "https://api.example.com/mixed/1",
        "https://api.example.com/anything",
        "https://api.example.com/pub/x",
    ] {
        let refusal = refused(decide(&gw, "GET", url, &bearer));
        assert_eq!(refusal.log["code"], "dpop_required", "{url}");
        assert_eq!(refusal.status, 401);
        let challenge = refusal.challenge.unwrap();
        assert!(
            challenge.starts_with("DPoP error=\"invalid_token\""),
            "{challenge}"
        );
        assert!(challenge.ends_with(ALGS), "{challenge}");
    }
    // The cookie is a bearer presentation too.
    let (validator, edge) = policy(json!({"gateway": {"cookie": "sid"}}));
    let cookie = headers(&[("cookie", &format!("sid={token}"))]);
    assert_eq!(
        code_of(decide(&(validator, edge), "GET", URL, &cookie)),
        "dpop_required"
    );
}

#[test]
fn a_stolen_dpop_token_with_the_attackers_own_proof_is_refused() {
    let gw = gateway();
    let token = dpop_token();
    let proof = dpop_proof(&attacker(), "GET", URL, Some(&token), None);
    let refusal = refused(decide(&gw, "GET", URL, &dpop_request(&token, &proof)));
    assert_eq!(refusal.log["code"], "dpop_binding_mismatch");
    assert_eq!(refusal.status, 401);
}

#[test]
fn a_proof_is_accepted_once_and_its_replay_refused() {
    let gw = gateway();
    let token = dpop_token();
    let proof = dpop_proof(&client(), "GET", URL, Some(&token), None);
    let pass = decide(&gw, "GET", URL, &dpop_request(&token, &proof)).unwrap();
    assert_eq!(pass.path, "/orders/42");
    assert!(pass
        .edits
        .set
        .contains(&("x-edge-jwt-sub".to_owned(), "alice".to_owned())));
    let refusal = refused(decide(&gw, "GET", URL, &dpop_request(&token, &proof)));
    assert_eq!(refusal.log["code"], "dpop_replayed");
    assert_eq!(
        refusal.challenge.unwrap(),
        format!(
            "DPoP error=\"invalid_dpop_proof\", error_description=\"{}\", {ALGS}",
            refusal.error.message()
        )
    );
    assert_eq!(gw.1.sender.remembered(), 1);
}

#[test]
fn a_proof_for_another_request_or_another_token_is_refused() {
    let gw = gateway();
    let token = dpop_token();
    let cases = [
        (
            "wrong htm",
            dpop_proof(&client(), "POST", URL, Some(&token), None),
        ),
        (
            "htu with another path",
            dpop_proof(
                &client(),
                "GET",
                "https://api.example.com/orders/43",
                Some(&token),
                None,
            ),
        ),
        (
            "htu with another scheme",
            dpop_proof(
                &client(),
                "GET",
                "http://api.example.com/orders/42",
                Some(&token),
                None,
            ),
        ),
        ("no ath", dpop_proof(&client(), "GET", URL, None, None)),
        (
            "ath of another token",
            dpop_proof(&client(), "GET", URL, Some("other.token.x"), None),
        ),
    ];
    for (what, proof) in cases {
        let refusal = refused(decide(&gw, "GET", URL, &dpop_request(&token, &proof)));
        assert_eq!(refusal.log["code"], "invalid_dpop_proof", "{what}");
        let challenge = refusal.challenge.unwrap();
        assert!(
            challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
            "{what}: {challenge}"
        );
        assert!(challenge.ends_with(ALGS), "{what}: {challenge}");
    }
    // The query is no part of htu (RFC 9449 §4.3), and the path is compared canonically.
    let proof = dpop_proof(
        &client(),
        "GET",
        "https://api.example.com/orders/42?x=1",
        Some(&token),
        None,
    );
    decide(
        &gw,
        "GET",
        "https://API.example.com:443/orders/%34%32?y=2",
        &dpop_request(&token, &proof),
    )
    .unwrap();
    // Two DPoP headers.
    let a = dpop_proof(&client(), "GET", URL, Some(&token), None);
    let b = dpop_proof(&client(), "GET", URL, Some(&token), None);
    let two = headers(&[
        ("authorization", &format!("DPoP {token}")),
        ("dpop", &a),
        ("dpop", &b),
    ]);
    assert_eq!(code_of(decide(&gw, "GET", URL, &two)), "invalid_dpop_proof");
    // The DPoP scheme without a proof.
    let none = headers(&[("authorization", &format!("DPoP {token}"))]);
    assert_eq!(
        code_of(decide(&gw, "GET", URL, &none)),
        "invalid_dpop_proof"
    );
}

#[test]
fn routes_decide_what_unbound_tokens_may_do() {
    let gw = gateway();
    let plain = token(&hs256(), &claims());
    let bearer = headers(&[("authorization", &format!("Bearer {plain}"))]);
    // A required route refuses a bearer token, and says DPoP in its challenge.
    let refusal = refused(decide(&gw, "GET", URL, &bearer));
    assert_eq!(refusal.log["code"], "dpop_required");
    let missing = refused(decide(&gw, "GET", URL, &[]));
    assert_eq!(missing.log["code"], "missing_token");
    assert_eq!(missing.challenge.unwrap(), format!("DPoP {ALGS}"));
    // ... and an unbound token sent with the DPoP scheme and a good proof.
    let proof = dpop_proof(&client(), "GET", URL, Some(&plain), None);
    assert_eq!(
        code_of(decide(&gw, "GET", URL, &dpop_request(&plain, &proof))),
        "binding_required"
    );
    // An optional route takes the same unbound token either way.
    let mixed = "https://api.example.com/mixed/1";
    decide(&gw, "GET", mixed, &bearer).unwrap();
    let proof = dpop_proof(&client(), "GET", mixed, Some(&plain), None);
    decide(&gw, "GET", mixed, &dpop_request(&plain, &proof)).unwrap();
    // A route with dpop off refuses the DPoP scheme for an unbound token.
    let other = "https://api.example.com/other";
    let proof = dpop_proof(&client(), "GET", other, Some(&plain), None);
    assert_eq!(
        code_of(decide(&gw, "GET", other, &dpop_request(&plain, &proof))),
        "dpop_binding_mismatch"
    );
    // A bound token with its proof passes a route with dpop off.
    let token = dpop_token();
    let proof = dpop_proof(&client(), "GET", other, Some(&token), None);
    decide(&gw, "GET", other, &dpop_request(&token, &proof)).unwrap();
    // A token verification error on a DPoP request is challenged with the DPoP scheme.
    let mut expired_claims = claims_with(json!({"exp": NOW - 600, "iat": NOW - 1200}));
    expired_claims["cnf"] = json!({"jkt": jkt_of(P256_PRIVATE_JWK)});
    let expired = common::token(&hs256(), &expired_claims);
    let proof = dpop_proof(&client(), "GET", URL, Some(&expired), None);
    let refusal = refused(decide(&gw, "GET", URL, &dpop_request(&expired, &proof)));
    assert_eq!(refusal.log["code"], "expired");
    assert!(refusal
        .challenge
        .unwrap()
        .starts_with("DPoP error=\"invalid_token\""));
}

#[test]
fn nonce_challenge_round_trip() {
    let (validator, mut edge) = policy(json!({
        "routes": [{"path": "/orders/*", "dpop": "required"}],
        "gateway": {"dpop": {"nonce": {"window_s": 60}}}
    }));
    assert!(edge.sender.check_ready("DPOP_NONCE_KEY").is_err());
    edge.sender
        .set_nonce_secret("DPOP_NONCE_KEY", NONCE_SECRET)
        .unwrap();
    edge.sender.check_ready("DPOP_NONCE_KEY").unwrap();
    let gw = (validator, edge);
    let token = dpop_token();
    let first = dpop_proof(&client(), "GET", URL, Some(&token), None);
    let refusal = refused(decide(&gw, "GET", URL, &dpop_request(&token, &first)));
    assert_eq!(refusal.log["code"], "use_dpop_nonce");
    assert_eq!(refusal.status, 401);
    assert!(refusal
        .challenge
        .unwrap()
        .starts_with("DPoP error=\"use_dpop_nonce\""));
    let nonce = refusal.dpop_nonce.expect("a DPoP-Nonce header");
    // A made-up nonce is refused the same way.
    let forged = dpop_proof(
        &client(),
        "GET",
        URL,
        Some(&token),
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    assert_eq!(
        code_of(decide(&gw, "GET", URL, &dpop_request(&token, &forged))),
        "use_dpop_nonce"
    );
    let retry = dpop_proof(&client(), "GET", URL, Some(&token), Some(&nonce));
    decide(&gw, "GET", URL, &dpop_request(&token, &retry)).unwrap();
}

#[test]
fn certificate_bound_tokens_need_their_verified_certificate() {
    let gw = gateway();
    let token = bound_token(json!({ "x5t#S256": x5t_of(CERT_DER) }));
    let bearer = headers(&[("authorization", &format!("Bearer {token}"))]);
    let cert = |presented, verified, der| ClientCertificate {
        presented,
        verified,
        fingerprint: Some(CertificateFingerprint::Der(der)),
    };
    // On any route, the token's own binding holds.
    for url in [
        "https://api.example.com/mtls/a",
        "https://api.example.com/other",
    ] {
        decide_with(&gw, "GET", url, &bearer, Some(cert(true, true, CERT_DER))).unwrap();
        let refusal = refused(decide_with(&gw, "GET", url, &bearer, None));
        assert_eq!(refusal.log["code"], "mtls_binding_mismatch");
        assert!(refusal
            .challenge
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\""));
        for (what, c) in [
            ("another certificate", cert(true, true, OTHER_CERT_DER)),
            ("not verified", cert(true, false, CERT_DER)),
        ] {
            assert_eq!(
                code_of(decide_with(&gw, "GET", url, &bearer, Some(c))),
                "mtls_binding_mismatch",
                "{what}"
            );
        }
    }
    // Cloudflare's hex fingerprint, either case.
    let hex: String = Sha256::digest(CERT_DER)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let cf = ClientCertificate {
        presented: true,
        verified: true,
        fingerprint: Some(CertificateFingerprint::Sha256Hex(&hex)),
    };
    decide_with(
        &gw,
        "GET",
        "https://api.example.com/mtls/a",
        &bearer,
        Some(cf),
    )
    .unwrap();
    // A binding route refuses an unbound token, even with a certificate.
    let plain = common::token(&hs256(), &claims());
    let plain = headers(&[("authorization", &format!("Bearer {plain}"))]);
    assert_eq!(
        code_of(decide_with(
            &gw,
            "GET",
            "https://api.example.com/mtls/a",
            &plain,
            Some(cert(true, true, CERT_DER))
        )),
        "binding_required"
    );
}

#[test]
fn the_proof_goes_where_the_token_goes() {
    let token = dpop_token();
    for (forward, kept) in [(true, true), (false, false)] {
        let gw = policy(json!({"gateway": {"forward_authorization": forward}}));
        let proof = dpop_proof(&client(), "GET", URL, Some(&token), None);
        let pass = decide(&gw, "GET", URL, &dpop_request(&token, &proof)).unwrap();
        let removed = |name: &str| pass.edits.remove.iter().any(|n| n == name);
        assert_eq!(!removed("dpop"), kept);
        assert_eq!(!removed("authorization"), kept);
    }
}

#[test]
fn eddsa_and_rsa_proofs_are_accepted_and_algorithms_are_the_policys() {
    let token_for = |jwk: &str| bound_token(json!({ "jkt": jkt_of(jwk) }));
    let gw = gateway();
    for (jwk, alg) in [
        (ED25519_PRIVATE_JWK, Alg::EdDSA),
        (RSA_PRIVATE_JWK, Alg::RS256),
    ] {
        let token = token_for(jwk);
        let proof = dpop_proof(&signer(jwk, alg), "GET", URL, Some(&token), None);
        decide(&gw, "GET", URL, &dpop_request(&token, &proof)).unwrap();
    }
    let only_es256 = policy(json!({"gateway": {"dpop": {"algorithms": ["ES256"]}}}));
    let token = token_for(ED25519_PRIVATE_JWK);
    let proof = dpop_proof(
        &signer(ED25519_PRIVATE_JWK, Alg::EdDSA),
        "GET",
        URL,
        Some(&token),
        None,
    );
    let refusal = refused(decide(
        &only_es256,
        "GET",
        URL,
        &dpop_request(&token, &proof),
    ));
    assert_eq!(refusal.log["code"], "invalid_dpop_proof");
    assert!(refusal.challenge.unwrap().ends_with("algs=\"ES256\""));
}

#[test]
fn every_dpop_setting_is_checked_at_load_with_its_path() {
    let cases = [
        (
            json!({"gateway": {"dpop": {"algorithms": ["HS256"]}}}),
            "gateway.dpop.algorithms[0]",
        ),
        (
            json!({"gateway": {"dpop": {"algorithms": ["ES256", "none"]}}}),
            "gateway.dpop.algorithms[1]",
        ),
        (
            json!({"gateway": {"dpop": {"algorithms": []}}}),
            "gateway.dpop.algorithms",
        ),
        (
            json!({"gateway": {"dpop": {"max_age_s": 0}}}),
            "gateway.dpop.max_age_s",
        ),
        (
            json!({"gateway": {"dpop": {"future_s": 7200}}}),
            "gateway.dpop.future_s",
        ),
        (
            json!({"gateway": {"dpop": {"max_proof_bytes": 100}}}),
            "gateway.dpop.max_proof_bytes",
        ),
        (
            json!({"gateway": {"dpop": {"replay_cache_size": 0}}}),
            "gateway.dpop.replay_cache_size",
        ),
        (
            json!({"gateway": {"dpop": {"nonce": {"window_s": 0}}}}),
            "gateway.dpop.nonce.window_s",
        ),
        (
            json!({"gateway": {"dpop": {"nonce": {"secret": "x"}}}}),
            "gateway.dpop.nonce.secret",
        ),
        (
            json!({"gateway": {"dpop": {"replay": "everywhere"}}}),
            "gateway.dpop.replay",
        ),
        (
            json!({"routes": [{"path": "/a", "dpop": "sometimes"}]}),
            "routes[0].dpop",
        ),
        (
            json!({"routes": [{"path": "/a", "binding": "tls"}]}),
            "routes[0].binding",
        ),
        (
            json!({"routes": [{"path": "/a", "mode": "disabled", "dpop": "optional"}]}),
            "routes[0].dpop",
        ),
        (
            json!({"routes": [{"path": "/a", "mode": "optional", "dpop": "required"}]}),
            "routes[0].dpop",
        ),
        (
            json!({"routes": [{"path": "/a", "mode": "optional", "binding": "any"}]}),
            "routes[0].binding",
        ),
        (
            json!({"default_route": {"mode": "disabled", "dpop": "required"}}),
            "default_route.dpop",
        ),
    ];
    for (extra, path) in cases {
        let mut config = json!({"algorithms": ["HS256"], "secret": HMAC_SECRET});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let error = load(&config.to_string()).unwrap_err();
        assert_eq!(error.path(), Some(path), "{extra}: {error}");
    }
    // The secret's rules.
    let (_, mut edge) = policy(json!({"gateway": {"dpop": {"nonce": {}}}}));
    let short = edge
        .sender
        .set_nonce_secret("DPOP_NONCE_KEY", b"short")
        .unwrap_err();
    assert_eq!(short.path(), Some("DPOP_NONCE_KEY"));
    let (_, mut no_nonces) = policy(json!({}));
    let unused = no_nonces
        .sender
        .set_nonce_secret("DPOP_NONCE_KEY", NONCE_SECRET)
        .unwrap_err();
    assert_eq!(unused.path(), Some("DPOP_NONCE_KEY"));
}

/// A ledger shared by two isolates (the Worker's proof shards stand-in): a set of keys.
#[derive(Default)]
struct SharedLedger(std::cell::RefCell<std::collections::HashSet<String>>);

impl edge_jwt::dpop::ProofLedger for &SharedLedger {
    async fn first_use(&self, proof: &edge_jwt::dpop::CheckedProof) -> edge_jwt::Result<bool> {
        Ok(self
            .0
            .borrow_mut()
            .insert(edge_jwt::dpop::ledger_key(proof)))
    }
}

/// [`decide`] through `conclude_checked` with `ledger`.
fn decide_in_isolate(
    (validator, edge): &(Validator, EdgePolicy),
    url: &str,
    headers: &[(String, String)],
    ledger: &SharedLedger,
) -> Result<Pass, Refusal> {
    use futures_util::FutureExt;
    let path = &url["https://api.example.com".len()..];
    let headers = borrowed_pairs(headers);
    let request = RequestParts::new("GET", path, &headers, false).with_uri(url);
    let Plan::Verify(pending) = edge.plan(&request) else {
        panic!("a token is presented")
    };
    let verified = validator.verify(&pending.token, NOW).unwrap();
    let check = edge_jwt::verify::Ready(&edge_jwt::verify::JwtCompact);
    edge.conclude_checked(&request, &pending, Ok(&verified), NOW, &check, &ledger)
        .now_or_never()
        .unwrap()
        .map_err(|refusal| *refusal)
}

#[test]
fn global_replay_refuses_a_proof_another_isolate_accepted() {
    let routes = json!({"routes": [
        {"path": "/payments/*", "dpop": "required", "dpop_replay": "global"},
        {"path": "/orders/*", "dpop": "required"}
    ]});
    // Two isolates: their own replay memories, one ledger.
    let (one, two) = (policy(routes.clone()), policy(routes));
    let ledger = SharedLedger::default();
    let token = dpop_token();
    let pay = "https://api.example.com/payments/1";
    let proof = dpop_proof(&client(), "GET", pay, Some(&token), None);
    decide_in_isolate(&one, pay, &dpop_request(&token, &proof), &ledger).unwrap();
    let again = decide_in_isolate(&two, pay, &dpop_request(&token, &proof), &ledger);
    assert_eq!(code_of(again), "dpop_replayed");
    // On a route with isolate scope the other isolate does not know the proof.
    let order = "https://api.example.com/orders/1";
    let proof = dpop_proof(&client(), "GET", order, Some(&token), None);
    decide_in_isolate(&one, order, &dpop_request(&token, &proof), &ledger).unwrap();
    decide_in_isolate(&two, order, &dpop_request(&token, &proof), &ledger).unwrap();
    // Without a ledger (the npm package, the CLI), a global route fails closed.
    let gw = policy(json!({"gateway": {"dpop": {"replay": "global"}}}));
    let proof = dpop_proof(&client(), "GET", URL, Some(&token), None);
    let refusal = refused(decide(&gw, "GET", URL, &dpop_request(&token, &proof)));
    assert_eq!(refusal.log["code"], "dpop_replay_unavailable");
}

/// A client's text in a refusal (its proof key's `alg`) never makes the challenge header
/// unsendable: runtimes throw on a non-ASCII header value (Node's `setHeader` crashed an Express
/// process from an unhandled rejection before the middleware caught it).
#[test]
fn a_proof_with_a_non_ascii_key_alg_gets_an_ascii_challenge() {
    let gw = policy(json!({"routes": [{"path": "/mixed/*", "dpop": "optional"}]}));
    let token = token(&hs256(), &claims_with(json!({})));
    let url = "https://api.example.com/mixed/1";
    let mut jwk = public_jwk(P256_PRIVATE_JWK);
    jwk["alg"] = json!("\u{1F600}\u{e9}");
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    let claims = json!({"jti": "j-1", "htm": "GET", "htu": url, "iat": NOW});
    let proof = format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(claims.to_string()),
        b64([7u8; 64])
    );
    let refusal = refused(decide(&gw, "GET", url, &dpop_request(&token, &proof)));
    assert_eq!(refusal.log["code"], "invalid_dpop_proof");
    let challenge = refusal.challenge.expect("a DPoP challenge");
    assert!(
        challenge.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "{challenge}"
    );
}
