//! DPoP proofs (RFC 9449 §4.3), one test per rule with its exact code; the binding decision
//! end to end; the RFC's own examples; replay, nonces and mTLS through the public API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

mod common;

use common::*;
use edge_jwt::dpop::{
    access_token_hash, check_certificate_binding, create_proof, decide, jwk_thumbprint,
    BindingRequirement, CertificateFingerprint, CheckedProof, ClientCertificate, Confirmation,
    DpopMode, NonceKey, NonceRequirement, ProofChecker, ProofFor, ProofRequest, ProofSettings,
    ReplayMemory, Scheme,
};
use edge_jwt::{Alg, ErrorCode, Signer};
use proptest::prelude::*;
use rand_core::OsRng;
use serde_json::{json, Value};

const URL: &str = "https://api.example.com/orders/42";
const TOKEN: &str = "an.access.token";
const NONCE_SECRET: &[u8] = b"dpop nonce secret 0123456789abcdefgh";

fn es256_client() -> Signer {
    signer(P256_PRIVATE_JWK, Alg::ES256)
}

fn thumbprint_of(private_jwk: &str) -> String {
    jwk_thumbprint(public_jwk(private_jwk).as_object().unwrap()).unwrap()
}

/// A good proof for `GET URL` with [`TOKEN`].
fn good_proof() -> String {
    dpop_proof(&es256_client(), "GET", URL, Some(TOKEN), None)
}

/// The request a good proof is for, bound to the client's key.
fn request<'a>(headers: &'a [&'a str], jkt: &'a str) -> ProofRequest<'a> {
    ProofRequest {
        dpop_headers: headers,
        method: "GET",
        uri: URL,
        access_token: Some(TOKEN),
        jkt: Some(jkt),
        nonce: None,
    }
}

fn check_at(request: &ProofRequest<'_>, now: u64) -> Result<CheckedProof, edge_jwt::Error> {
    ProofChecker::default().check(request, now)
}

fn code_of(request: &ProofRequest<'_>) -> &'static str {
    code(&check_at(request, NOW))
}

/// A proof from raw header and claims, signed by `signer`.
fn raw_proof(signer: &Signer, header: &Value, claims: &Value) -> String {
    sign_json(signer, header, claims)
}

fn header_for(private_jwk: &str, alg: &str) -> Value {
    json!({"typ": "dpop+jwt", "alg": alg, "jwk": public_jwk(private_jwk)})
}

fn claims() -> Value {
    json!({"jti": "j-1", "htm": "GET", "htu": URL, "iat": NOW, "ath": access_token_hash(TOKEN)})
}

fn with(mut value: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            value.as_object_mut().unwrap().remove(k);
        } else {
            value[k] = v.clone();
        }
    }
    value
}

/// The code of a raw ES256 proof with `header` and `claims` changed.
fn raw_code(header_changes: Value, claim_changes: Value) -> &'static str {
    let header = with(header_for(P256_PRIVATE_JWK, "ES256"), header_changes);
    let proof = raw_proof(&es256_client(), &header, &with(claims(), claim_changes));
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    code_of(&request(&[&proof], &jkt))
}

#[test]
fn a_good_proof_passes_and_reports_what_replay_needs() {
    let proof = good_proof();
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let checked = check_at(&request(&[&proof], &jkt), NOW).unwrap();
    assert_eq!(checked.jkt, jkt);
    assert_eq!(checked.iat, NOW);
    assert_eq!(checked.alg, Alg::ES256);
    assert_eq!(checked.jti.len(), 32, "128 bits as hex");
    assert_eq!(checked.expires_at, NOW + 60);
    // Each proof gets a fresh jti.
    let again = check_at(&request(&[&good_proof()], &jkt), NOW).unwrap();
    assert_ne!(again.jti, checked.jti);
}

#[test]
fn every_built_in_asymmetric_algorithm_makes_and_checks_proofs() {
    let settings = ProofSettings::new(
        &[Alg::ES256, Alg::ES384, Alg::EdDSA, Alg::RS256, Alg::PS256],
        60,
        30,
        4096,
    )
    .unwrap();
    let checker = ProofChecker::new(settings);
    for (private, alg) in [
        (P256_PRIVATE_JWK, Alg::ES256),
        (ED25519_PRIVATE_JWK, Alg::EdDSA),
        (RSA_PRIVATE_JWK, Alg::RS256),
        (RSA_PRIVATE_JWK, Alg::PS256),
    ] {
        let client = signer(private, alg);
        let proof = dpop_proof(&client, "GET", URL, Some(TOKEN), None);
        let jkt = thumbprint_of(private);
        let checked = checker.check(&request(&[&proof], &jkt), NOW);
        assert_eq!(code(&checked), "ok", "{alg}");
    }
    let p384 = edge_jwt::keygen::generate(Alg::ES384, None, &mut OsRng).unwrap();
    let client = Signer::from_jwk(&p384.private_jwk.to_string(), None).unwrap();
    let proof = dpop_proof(&client, "GET", URL, Some(TOKEN), None);
    let jkt = jwk_thumbprint(p384.public_jwks.unwrap()["keys"][0].as_object().unwrap()).unwrap();
    assert_eq!(code(&checker.check(&request(&[&proof], &jkt), NOW)), "ok");
}

#[test]
fn rfc9449_section_4_1_proof_verifies() {
    //! The proof of https://www.rfc-editor.org/rfc/rfc9449#section-4.1 (Figure 3), checked at
    //! its own iat against its htm and htu; its key's thumbprint is the §6.1 `jkt`.
    let proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
    let request = ProofRequest {
        dpop_headers: &[proof],
        method: "POST",
        uri: "https://server.example.com/token",
        access_token: None,
        jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        nonce: None,
    };
    let checked = check_at(&request, 1_562_262_616).unwrap();
    assert_eq!(checked.jti, "-BwC3ESc6acc2lTc");
    assert_eq!(checked.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    // The same proof a day later, or for another method, is refused.
    assert_eq!(
        code(&check_at(&request, 1_562_262_616 + 86_400)),
        "invalid_dpop_proof"
    );
    let get = ProofRequest {
        method: "GET",
        ..request
    };
    assert_eq!(code(&check_at(&get, 1_562_262_616)), "invalid_dpop_proof");
}

#[test]
fn header_count_rules() {
    let proof = good_proof();
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    assert_eq!(code_of(&request(&[], &jkt)), "invalid_dpop_proof");
    assert_eq!(
        code_of(&request(&[&proof, &proof], &jkt)),
        "invalid_dpop_proof"
    );
    // Two values joined by a host's header API.
    let joined = format!("{proof}, {proof}");
    assert_eq!(code_of(&request(&[&joined], &jkt)), "invalid_dpop_proof");
    assert_eq!(code_of(&request(&[""], &jkt)), "invalid_dpop_proof");
}

#[test]
fn htm_must_be_the_request_method_exactly() {
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let post = dpop_proof(&es256_client(), "POST", URL, Some(TOKEN), None);
    assert_eq!(code_of(&request(&[&post], &jkt)), "invalid_dpop_proof");
    let lower = dpop_proof(&es256_client(), "get", URL, Some(TOKEN), None);
    assert_eq!(code_of(&request(&[&lower], &jkt)), "invalid_dpop_proof");
    assert_eq!(
        raw_code(json!({}), json!({"htm": null})),
        "invalid_dpop_proof"
    );
    assert_eq!(raw_code(json!({}), json!({"htm": 1})), "invalid_dpop_proof");
}

#[test]
fn htu_must_name_the_request_uri() {
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let client = es256_client();
    for (htu, expected) in [
        ("https://api.example.com/orders/43", "invalid_dpop_proof"),
        ("https://api.example.com/orders", "invalid_dpop_proof"),
        ("http://api.example.com/orders/42", "invalid_dpop_proof"),
        ("https://evil.example.com/orders/42", "invalid_dpop_proof"),
        (
            "https://api.example.com:8443/orders/42",
            "invalid_dpop_proof",
        ),
        ("/orders/42", "invalid_dpop_proof"),
        // Query and fragment are ignored; spelling variants meet after normalisation.
        ("https://api.example.com/orders/42?page=2", "ok"),
        ("https://api.example.com/orders/42#top", "ok"),
        ("HTTPS://API.Example.com/orders/42", "ok"),
        ("https://api.example.com:443/orders/42", "ok"),
        ("https://api.example.com/orders/./x/../42", "ok"),
        ("https://api.example.com//orders/%34%32", "ok"),
    ] {
        // Raw proofs, so that the htu is exactly the text under test.
        let header = header_for(P256_PRIVATE_JWK, "ES256");
        let proof = raw_proof(&client, &header, &with(claims(), json!({"htu": htu})));
        assert_eq!(code_of(&request(&[&proof], &jkt)), expected, "{htu}");
    }
    // The request side is normalised too.
    let proof = good_proof();
    let headers = [proof.as_str()];
    for uri in [
        "https://api.example.com:443/orders/42?x=1",
        "https://API.EXAMPLE.COM/orders/42#f",
    ] {
        let request = ProofRequest {
            uri,
            ..request(&headers, &jkt)
        };
        assert_eq!(code_of(&request), "ok", "{uri}");
    }
    let http = ProofRequest {
        uri: "http://api.example.com:80/orders/42",
        ..request(&headers, &jkt)
    };
    assert_eq!(code_of(&http), "invalid_dpop_proof");
    let bad = ProofRequest {
        uri: "https://api.example.com/a%2Fb",
        ..request(&headers, &jkt)
    };
    assert_eq!(code_of(&bad), "malformed_request");
}

#[test]
fn iat_must_be_within_the_window() {
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let proof = good_proof();
    let headers = [proof.as_str()];
    let request = request(&headers, &jkt);
    // Accepted from 30 s before its iat until 60 s after it (the defaults).
    assert_eq!(code(&check_at(&request, NOW - 30)), "ok");
    assert_eq!(code(&check_at(&request, NOW - 31)), "invalid_dpop_proof");
    assert_eq!(code(&check_at(&request, NOW + 60)), "ok");
    assert_eq!(code(&check_at(&request, NOW + 61)), "invalid_dpop_proof");
    let strict = ProofChecker::new(ProofSettings::new(&[Alg::ES256], 10, 0, 4096).unwrap());
    assert_eq!(
        code(&strict.check(&request, NOW + 11)),
        "invalid_dpop_proof"
    );
    assert_eq!(code(&strict.check(&request, NOW - 1)), "invalid_dpop_proof");
    for bad in [json!(null), json!("1700000000"), json!(-1), json!(1e300)] {
        assert_eq!(
            raw_code(json!({}), json!({ "iat": bad })),
            "invalid_dpop_proof",
            "{bad}"
        );
    }
}

#[test]
fn ath_must_hash_the_access_token() {
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let no_ath = dpop_proof(&es256_client(), "GET", URL, None, None);
    assert_eq!(code_of(&request(&[&no_ath], &jkt)), "invalid_dpop_proof");
    let other = dpop_proof(&es256_client(), "GET", URL, Some("another.token"), None);
    assert_eq!(code_of(&request(&[&other], &jkt)), "invalid_dpop_proof");
    assert_eq!(raw_code(json!({}), json!({"ath": 5})), "invalid_dpop_proof");
    // Without an access token (a token request), ath is not asked for.
    let headers = [no_ath.as_str()];
    let token_request = ProofRequest {
        access_token: None,
        jkt: None,
        ..request(&headers, &jkt)
    };
    assert_eq!(code_of(&token_request), "ok");
}

#[test]
fn the_key_must_be_the_one_the_token_is_bound_to() {
    let proof = good_proof();
    let attacker = thumbprint_of(ATTACKER_P256_PRIVATE_JWK);
    assert_eq!(
        code_of(&request(&[&proof], &attacker)),
        "dpop_binding_mismatch"
    );
    // A stolen token with the attacker's own proof.
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let theirs = proof_by(ATTACKER_P256_PRIVATE_JWK);
    assert_eq!(code_of(&request(&[&theirs], &jkt)), "dpop_binding_mismatch");
}

fn proof_by(private_jwk: &str) -> String {
    dpop_proof(
        &signer(private_jwk, Alg::ES256),
        "GET",
        URL,
        Some(TOKEN),
        None,
    )
}

#[test]
fn the_jwk_must_be_public_and_verify_the_signature() {
    for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        let mut jwk = public_jwk(P256_PRIVATE_JWK);
        jwk[member] = json!("AAAA");
        assert_eq!(
            raw_code(json!({ "jwk": jwk }), json!({})),
            "invalid_dpop_proof",
            "{member}"
        );
    }
    let private = jwk(P256_PRIVATE_JWK);
    assert_eq!(
        raw_code(json!({ "jwk": private }), json!({})),
        "invalid_dpop_proof"
    );
    assert_eq!(
        raw_code(json!({ "jwk": null }), json!({})),
        "invalid_dpop_proof"
    );
    assert_eq!(
        raw_code(json!({ "jwk": "key" }), json!({})),
        "invalid_dpop_proof"
    );
    // Another key in the header than the one that signed.
    let other = public_jwk(ATTACKER_P256_PRIVATE_JWK);
    assert_eq!(
        raw_code(json!({ "jwk": other }), json!({})),
        "invalid_dpop_proof"
    );
    // A key of another family than alg.
    let ed = public_jwk(ED25519_PRIVATE_JWK);
    assert_eq!(
        raw_code(json!({ "jwk": ed }), json!({})),
        "invalid_dpop_proof"
    );
    // A tampered payload.
    let proof = good_proof();
    let [h, _, s] = segments(&proof);
    let forged = format!(
        "{h}.{}.{s}",
        b64(with(claims(), json!({"htm": "POST"})).to_string())
    );
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    assert_eq!(code_of(&request(&[&forged], &jkt)), "invalid_dpop_proof");
    assert_eq!(
        code_of(&request(&[&flip_signature_bit(&proof, 5)], &jkt)),
        "invalid_dpop_proof"
    );
}

#[test]
fn symmetric_and_unsigned_proofs_are_refused() {
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    // HS256 with the key sent as an oct jwk: anyone could sign with it.
    let secret = HMAC_SECRET.as_bytes();
    let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": oct_jwk(secret)});
    let hs = raw_proof(&hmac_signer(secret, Alg::HS256), &header, &claims());
    assert_eq!(code_of(&request(&[&hs], &jkt)), "invalid_dpop_proof");
    // Even when a host's settings were to allow it: the settings refuse HMAC.
    assert_eq!(
        ProofSettings::new(&[Alg::HS256], 60, 30, 4096)
            .unwrap_err()
            .code(),
        ErrorCode::ConfigError
    );
    assert!(ProofSettings::new(&[], 60, 30, 4096).is_err());
    // alg none, in any spelling, with an empty signature.
    for none in ["none", "None", "NONE"] {
        let header = json!({"typ": "dpop+jwt", "alg": none, "jwk": public_jwk(P256_PRIVATE_JWK)});
        let unsigned = format!("{}.{}.", b64(header.to_string()), b64(claims().to_string()));
        assert_eq!(
            code_of(&request(&[&unsigned], &jkt)),
            "invalid_dpop_proof",
            "{none}"
        );
    }
    // A creator refuses to sign a proof with a shared secret.
    let hmac = hmac_signer(secret, Alg::HS256);
    let request = ProofFor {
        method: "GET",
        url: URL,
        access_token: None,
        nonce: None,
    };
    assert_eq!(
        create_proof(&hmac, &request, NOW, &mut OsRng)
            .unwrap_err()
            .code(),
        ErrorCode::ConfigError
    );
}

#[test]
fn alg_must_be_allowed() {
    let only_eddsa = ProofChecker::new(ProofSettings::new(&[Alg::EdDSA], 60, 30, 4096).unwrap());
    let proof = good_proof();
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    assert_eq!(
        code(&only_eddsa.check(&request(&[&proof], &jkt), NOW)),
        "invalid_dpop_proof"
    );
    assert_eq!(
        raw_code(json!({"alg": "ES512"}), json!({})),
        "invalid_dpop_proof"
    );
    assert_eq!(
        raw_code(json!({"alg": "es256"}), json!({})),
        "invalid_dpop_proof"
    );
}

#[test]
fn typ_must_be_dpop_jwt() {
    assert_eq!(
        raw_code(json!({"typ": "JWT"}), json!({})),
        "invalid_dpop_proof"
    );
    assert_eq!(
        raw_code(json!({"typ": null}), json!({})),
        "invalid_dpop_proof"
    );
    assert_eq!(
        raw_code(json!({"typ": "at+jwt"}), json!({})),
        "invalid_dpop_proof"
    );
    assert_eq!(raw_code(json!({"typ": "DPoP+JWT"}), json!({})), "ok");
    assert_eq!(
        raw_code(json!({"typ": "application/dpop+jwt"}), json!({})),
        "ok"
    );
}

#[test]
fn jti_and_structure_rules() {
    assert_eq!(
        raw_code(json!({}), json!({"jti": null})),
        "invalid_dpop_proof"
    );
    assert_eq!(
        raw_code(json!({}), json!({"jti": ""})),
        "invalid_dpop_proof"
    );
    assert_eq!(raw_code(json!({}), json!({"jti": 7})), "invalid_dpop_proof");
    assert_eq!(
        raw_code(json!({}), json!({"jti": "x".repeat(257)})),
        "invalid_dpop_proof"
    );
    assert_eq!(raw_code(json!({}), json!({"jti": "x".repeat(256)})), "ok");
    assert_eq!(
        raw_code(json!({"crit": ["x"]}), json!({})),
        "invalid_dpop_proof"
    );
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let long = format!("{}{}", good_proof(), "A".repeat(4096));
    assert_eq!(code_of(&request(&[&long], &jkt)), "invalid_dpop_proof");
    for junk in ["a.b", "a.b.c.d", "...", "not a jwt", "eyJ.eyJ.e"] {
        assert_eq!(
            code_of(&request(&[junk], &jkt)),
            "invalid_dpop_proof",
            "{junk}"
        );
    }
}

#[test]
fn replayed_proofs_are_refused() {
    let memory = ReplayMemory::new(100);
    let proof = good_proof();
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let checked = check_at(&request(&[&proof], &jkt), NOW).unwrap();
    assert!(memory.check_and_remember(&checked, NOW).is_ok());
    let again = check_at(&request(&[&proof], &jkt), NOW + 1).unwrap();
    assert_eq!(
        code(&memory.check_and_remember(&again, NOW + 1)),
        "dpop_replayed"
    );
    // A fresh proof by the same key is fine.
    let fresh = check_at(&request(&[&good_proof()], &jkt), NOW + 1).unwrap();
    assert!(memory.check_and_remember(&fresh, NOW + 1).is_ok());
}

#[test]
fn nonce_flow() {
    let key = NonceKey::new(NONCE_SECRET, 300).unwrap();
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let with_nonce = |proof: &str, now: u64| {
        let headers = [proof];
        let request = ProofRequest {
            nonce: Some(NonceRequirement {
                key: &key,
                binding: None,
            }),
            ..request(&headers, &jkt)
        };
        code(&check_at(&request, now))
    };
    // No nonce: use_dpop_nonce, and the challenge says so.
    let missing = good_proof();
    assert_eq!(with_nonce(&missing, NOW), "use_dpop_nonce");
    let error = ProofChecker::default()
        .check(
            &ProofRequest {
                nonce: Some(NonceRequirement {
                    key: &key,
                    binding: None,
                }),
                ..request(&[&missing], &jkt)
            },
            NOW,
        )
        .unwrap_err();
    let challenge = edge_jwt::dpop::www_authenticate(&error, &[Alg::ES256]).unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    // The client retries with the server's DPoP-Nonce.
    let issued = key.issue(NOW, None);
    let retry = dpop_proof(&es256_client(), "GET", URL, Some(TOKEN), Some(&issued));
    assert_eq!(with_nonce(&retry, NOW), "ok");
    // A nonce of the previous window still works (the proof itself is fresh).
    let old = key.issue(NOW - 300, None);
    let previous = dpop_proof(&es256_client(), "GET", URL, Some(TOKEN), Some(&old));
    assert_eq!(with_nonce(&previous, NOW), "ok");
    // Two windows back: stale.
    let stale = key.issue(NOW - 600, None);
    let stale = dpop_proof(&es256_client(), "GET", URL, Some(TOKEN), Some(&stale));
    assert_eq!(with_nonce(&stale, NOW), "use_dpop_nonce");
    // Forged: a nonce made with another secret, or made up.
    let foreign = NonceKey::new(b"some other secret 0123456789abcdefgh", 300).unwrap();
    let forged = dpop_proof(
        &es256_client(),
        "GET",
        URL,
        Some(TOKEN),
        Some(&foreign.issue(NOW, None)),
    );
    assert_eq!(with_nonce(&forged, NOW), "use_dpop_nonce");
    let made_up = dpop_proof(
        &es256_client(),
        "GET",
        URL,
        Some(TOKEN),
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    assert_eq!(with_nonce(&made_up, NOW), "use_dpop_nonce");
    let typed = raw_proof(
        &es256_client(),
        &header_for(P256_PRIVATE_JWK, "ES256"),
        &with(claims(), json!({"nonce": 1})),
    );
    assert_eq!(with_nonce(&typed, NOW), "invalid_dpop_proof");
    // Without a nonce requirement, a nonce in the proof is not checked.
    assert_eq!(code_of(&request(&[&forged], &jkt)), "ok");
}

#[test]
fn bearer_downgrade_of_a_bound_token_is_refused() {
    let cnf = Confirmation::from_claims(
        json!({"cnf": {"jkt": thumbprint_of(P256_PRIVATE_JWK)}})
            .as_object()
            .unwrap(),
    )
    .unwrap();
    let authorization = format!("Bearer {TOKEN}");
    let (scheme, token) = Scheme::parse(&authorization).unwrap();
    assert_eq!(token, TOKEN);
    for mode in [DpopMode::Off, DpopMode::Optional, DpopMode::Required] {
        let refused = decide(mode, BindingRequirement::None, scheme, 1, &cnf).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::DpopRequired);
        let challenge = edge_jwt::dpop::www_authenticate(&refused, &[Alg::ES256]).unwrap();
        assert!(
            challenge.starts_with("DPoP error=\"invalid_token\""),
            "{challenge}"
        );
    }
    // The DPoP scheme: a proof check against cnf.jkt.
    let (scheme, _) = Scheme::parse(&format!("dpop {TOKEN}")).unwrap();
    let checks = decide(DpopMode::Off, BindingRequirement::None, scheme, 1, &cnf).unwrap();
    assert!(checks.proof);
    let proof = good_proof();
    let jkt = checks.jkt.unwrap();
    assert_eq!(code_of(&request(&[&proof], &jkt)), "ok");
    // A DPoP scheme without a proof.
    let missing = decide(
        DpopMode::Optional,
        BindingRequirement::None,
        scheme,
        0,
        &cnf,
    );
    assert_eq!(code(&missing), "invalid_dpop_proof");
}

#[test]
fn certificate_bound_tokens_need_their_certificate() {
    use sha2::{Digest, Sha256};
    let der = b"client certificate DER bytes";
    let digest = Sha256::digest(der);
    let x5t = b64(digest);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let upper = hex.to_ascii_uppercase();
    let cnf =
        Confirmation::from_claims(json!({"cnf": {"x5t#S256": x5t}}).as_object().unwrap()).unwrap();
    let checks = decide(
        DpopMode::Off,
        BindingRequirement::Mtls,
        Scheme::Bearer,
        0,
        &cnf,
    )
    .unwrap();
    let bound = checks.x5t_s256.unwrap();
    let cert = |presented, verified, fingerprint| ClientCertificate {
        presented,
        verified,
        fingerprint,
    };
    for fingerprint in [
        CertificateFingerprint::Sha256Hex(&hex),
        CertificateFingerprint::Sha256Hex(&upper),
        CertificateFingerprint::Der(der),
    ] {
        assert_eq!(
            code(&check_certificate_binding(
                &bound,
                &cert(true, true, Some(fingerprint))
            )),
            "ok"
        );
        assert_eq!(
            code(&check_certificate_binding(
                &bound,
                &cert(true, false, Some(fingerprint))
            )),
            "mtls_binding_mismatch"
        );
    }
    assert_eq!(
        code(&check_certificate_binding(
            &bound,
            &cert(false, false, None)
        )),
        "mtls_binding_mismatch"
    );
    let other = CertificateFingerprint::Der(b"another client certificate");
    assert_eq!(
        code(&check_certificate_binding(
            &bound,
            &cert(true, true, Some(other))
        )),
        "mtls_binding_mismatch"
    );
    // A route that needs a certificate-bound token, with an unbound one.
    let unbound = decide(
        DpopMode::Off,
        BindingRequirement::Mtls,
        Scheme::Bearer,
        0,
        &Confirmation::default(),
    );
    assert_eq!(code(&unbound), "binding_required");
}

#[test]
fn async_check_gives_the_same_answers() {
    use futures_util::FutureExt;
    struct Refuse;
    impl edge_jwt::verify::SignatureCheck for Refuse {
        async fn check(
            &self,
            _: Alg,
            _: &edge_jwt::keys::VerificationKey,
            _: &[u8],
            _: &[u8],
        ) -> bool {
            false
        }
    }
    let proof = good_proof();
    let jkt = thumbprint_of(P256_PRIVATE_JWK);
    let checker = ProofChecker::default();
    let refused = checker
        .check_checked(&request(&[&proof], &jkt), NOW, &Refuse)
        .now_or_never()
        .unwrap();
    assert_eq!(code(&refused), "invalid_dpop_proof");
    let ok = checker
        .check_checked(
            &request(&[&proof], &jkt),
            NOW,
            &edge_jwt::verify::Ready(&edge_jwt::verify::JwtCompact),
        )
        .now_or_never()
        .unwrap();
    assert_eq!(code(&ok), "ok");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary header values never panic and never pass.
    #[test]
    fn arbitrary_proofs_are_refused_without_panic(text in "\\PC{0,300}", dots in "[A-Za-z0-9_.-]{0,200}") {
        let jkt = thumbprint_of(P256_PRIVATE_JWK);
        for value in [text.as_str(), dots.as_str()] {
            let got = code_of(&request(&[value], &jkt));
            prop_assert_eq!(got, "invalid_dpop_proof");
        }
    }

    /// Arbitrary claims signed by the right key never panic, and pass only when every rule
    /// holds.
    #[test]
    fn arbitrary_signed_claims_never_panic(
        jti in proptest::option::of("[ -~]{0,300}"),
        htm in proptest::option::of("[A-Za-z]{0,8}"),
        htu in proptest::option::of("[ -~]{0,80}"),
        iat in proptest::option::of(any::<i64>()),
    ) {
        let mut claims = claims();
        let object = claims.as_object_mut().unwrap();
        for (name, value) in [
            ("jti", jti.map(Value::from)),
            ("htm", htm.map(Value::from)),
            ("htu", htu.map(Value::from)),
            ("iat", iat.map(Value::from)),
        ] {
            match value {
                Some(v) => { object.insert(name.into(), v); }
                None => { object.remove(name); }
            }
        }
        let proof = raw_proof(&es256_client(), &header_for(P256_PRIVATE_JWK, "ES256"), &claims);
        let jkt = thumbprint_of(P256_PRIVATE_JWK);
        let got = code_of(&request(&[&proof], &jkt));
        prop_assert!(got == "ok" || got == "invalid_dpop_proof" || got == "malformed_request", "{}", got);
    }

    /// Arbitrary certificate fingerprints and nonces never panic.
    #[test]
    fn arbitrary_fingerprints_and_nonces_never_panic(hex in "\\PC{0,80}", x5t in "\\PC{0,60}", nonce in "\\PC{0,60}") {
        let cert = ClientCertificate {
            presented: true,
            verified: true,
            fingerprint: Some(CertificateFingerprint::Sha256Hex(&hex)),
        };
        prop_assert!(check_certificate_binding(&x5t, &cert).is_err());
        let key = NonceKey::new(NONCE_SECRET, 300).unwrap();
        prop_assert!(key.check(&nonce, NOW, None).is_err());
    }
}
