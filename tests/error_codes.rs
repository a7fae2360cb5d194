//! One source for error codes: `src/error.rs` (`ErrorCode::ALL`, `code()`, `status()`). Every
//! other list of codes — the TypeScript union, the introspection page's explanations, the
//! fixtures of the Rust, Worker and npm tests — is read here and checked against it, and every
//! code is produced by some input through the public API. (The README's table is checked by a
//! unit test in src/error.rs.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

mod common;

use std::collections::BTreeSet;

use common::*;
use edge_jwt::{Alg, Error, ErrorCode, RevocationStatus, Validator};
use serde_json::{json, Value};

/// A file of the repository, as text.
fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The text between `start` (which must occur once) and the first `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str, path: &str) -> &'a str {
    assert_eq!(text.matches(start).count(), 1, "{path}: `{start}` once");
    let from = text.find(start).unwrap() + start.len();
    let len = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("{path}: no `{end}` after `{start}`"));
    &text[from..from + len]
}

/// The double-quoted strings of `text`, refusing duplicates.
fn quoted(text: &str, what: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for (i, piece) in text.split('"').enumerate() {
        if i % 2 == 1 {
            assert!(set.insert(piece.to_owned()), "{what}: {piece} twice");
        }
    }
    set
}

/// The member names of a JavaScript object literal written one `name: value,` per line.
fn object_keys(text: &str, what: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{what}: cannot read the line {line:?}"
        );
        assert!(set.insert(name.to_owned()), "{what}: {name} twice");
    }
    set
}

fn all_codes() -> BTreeSet<String> {
    ErrorCode::ALL.iter().map(|c| c.code().to_owned()).collect()
}

fn status_of(code: &str) -> u16 {
    ErrorCode::ALL
        .iter()
        .find(|c| c.code() == code)
        .unwrap_or_else(|| panic!("{code} is not a code of src/error.rs"))
        .status()
}

fn assert_same(what: &str, found: &BTreeSet<String>) {
    let all = all_codes();
    let missing: Vec<&String> = all.difference(found).collect();
    let unknown: Vec<&String> = found.difference(&all).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{what} differs from ErrorCode::ALL: missing {missing:?}, not a code {unknown:?}"
    );
}

fn assert_subset(what: &str, found: &BTreeSet<String>) {
    let all = all_codes();
    let unknown: Vec<&String> = found.difference(&all).collect();
    assert!(
        unknown.is_empty(),
        "{what}: not codes of src/error.rs: {unknown:?}"
    );
}

#[test]
fn typescript_error_code_union_is_every_code() {
    let path = "js/types/index.d.ts";
    let text = read(path);
    let union = between(&text, "export type ErrorCode =", ";", path);
    assert_same(
        "the ErrorCode union of js/types/index.d.ts",
        &quoted(union, path),
    );
}

#[test]
fn introspection_page_explains_every_code() {
    let path = "js/page/page.mjs";
    let text = read(path);
    let explain = between(&text, "const EXPLAIN = {", "\n};", path);
    assert_same("EXPLAIN in js/page/page.mjs", &object_keys(explain, path));
    // The codes the page says are reached only after the signature verified.
    let after = quoted(
        between(&text, "const AFTER_SIGNATURE = new Set([", "]);", path),
        path,
    );
    assert_subset("AFTER_SIGNATURE in js/page/page.mjs", &after);
    let pre: BTreeSet<String> = PRE_SIGNATURE_CODES.iter().map(|c| c.to_string()).collect();
    assert!(after.is_disjoint(&pre), "{after:?} / {pre:?}");
}

#[test]
fn rust_test_fixtures_list_only_codes_with_their_statuses() {
    let verify: BTreeSet<String> = VERIFY_CODES.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        verify.len(),
        VERIFY_CODES.len(),
        "VERIFY_CODES has a duplicate"
    );
    assert_subset("VERIFY_CODES (tests/common)", &verify);
    for code in &verify {
        assert_eq!(status_of(code), 401, "{code}: a token rejection is 401");
    }
    let pre: BTreeSet<String> = PRE_SIGNATURE_CODES.iter().map(|c| c.to_string()).collect();
    assert!(pre.is_subset(&verify), "PRE_SIGNATURE_CODES ⊄ VERIFY_CODES");
}

#[test]
fn worker_and_npm_test_fixtures_list_only_codes_with_their_statuses() {
    // The Worker's robustness test accepts a garbage request only as a 401 with one of these.
    let path = "tests/worker/robustness.test.mjs";
    let text = read(path);
    let known = quoted(between(&text, "const KNOWN = new Set([", "]);", path), path);
    assert_subset(path, &known);
    for code in &known {
        assert_eq!(
            status_of(code),
            401,
            "{path}: {code} is expected with status 401"
        );
    }
    // The npm tests skip the codes only the Worker's endpoints produce.
    let path = "tests/js/consumer/errors.test.mjs";
    let text = read(path);
    let worker_only = quoted(
        between(
            &text,
            "const WORKER_ENDPOINT_CODES = new Set([",
            "]);",
            path,
        ),
        path,
    );
    assert_subset(path, &worker_only);
    assert!(!worker_only.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Every documented code is reachable through the public API.

#[test]
fn every_error_code_is_produced_by_some_input() {
    let v = hs256_validator(json!({"issuer": "iss", "audience": "aud"}));
    let strict = hs256_validator(json!({"tracks": {"unknown": "reject"}}));
    let good = claims_with(json!({"iss": "iss", "aud": "aud"}));
    let signed = |changes: Value| {
        let mut payload = good.clone();
        for (k, val) in changes.as_object().unwrap() {
            if val.is_null() {
                payload.as_object_mut().unwrap().remove(k);
            } else {
                payload[k] = val.clone();
            }
        }
        token(&hs256(), &payload)
    };
    let kid_v = validator(&policy_json(
        &["HS256"],
        None,
        &[with_params(
            oct_jwk(HMAC_SECRET.as_bytes()),
            Some("k1"),
            None,
        )],
        Value::Null,
    ));
    let ok = signed(json!({}));
    let mut produced: Vec<(&str, &'static str)> = vec![
        ("ok", code(&v.verify(&ok, NOW))),
        ("malformed", code(&v.verify("a.b", NOW))),
        ("too_large", code(&v.verify(&"a".repeat(9000), NOW))),
        (
            "unsupported_header",
            code(&v.verify(
                &sign_json(&hs256(), &json!({"alg": "HS256", "crit": ["x"]}), &good),
                NOW,
            )),
        ),
        (
            "alg_not_allowed",
            code(&v.verify(&sign_json(&hs256(), &json!({"alg": "HS384"}), &good), NOW)),
        ),
        (
            "unknown_kid",
            code(&kid_v.verify(
                &sign_json(&hs256(), &json!({"alg": "HS256", "kid": "k2"}), &claims()),
                NOW,
            )),
        ),
        (
            "bad_signature",
            code(&v.verify(&flip_signature_bit(&ok, 3), NOW)),
        ),
        (
            "expired",
            code(&v.verify(&signed(json!({"iat": NOW - 900, "exp": NOW - 300})), NOW)),
        ),
        (
            "not_yet_valid",
            code(&v.verify(&signed(json!({"nbf": NOW + 300})), NOW)),
        ),
        (
            "iat_in_future",
            code(&v.verify(&signed(json!({"iat": NOW + 300, "exp": NOW + 900})), NOW)),
        ),
        (
            "bad_issuer",
            code(&v.verify(&signed(json!({"iss": "x"})), NOW)),
        ),
        (
            "bad_audience",
            code(&v.verify(&signed(json!({"aud": "x"})), NOW)),
        ),
        (
            "missing_claim",
            code(&v.verify(&signed(json!({"jti": null})), NOW)),
        ),
        (
            "invalid_claim",
            code(&v.verify(&signed(json!({"exp": "x"})), NOW)),
        ),
        (
            "ttl_exceeds_track",
            code(&v.verify(&signed(json!({"track": 4, "exp": NOW + 7200})), NOW)),
        ),
        (
            "unknown_track",
            code(&strict.verify(&token(&hs256(), &claims_with(json!({"track": 9}))), NOW)),
        ),
        (
            "revoked",
            code(&v.verify_with_revocation(&ok, NOW, |_| {
                Ok(RevocationStatus {
                    jti_revoked: true,
                    ..RevocationStatus::default()
                })
            })),
        ),
        (
            "revocation_unavailable",
            code(&v.verify_with_revocation(&ok, NOW, |_| {
                Err(Error::new(ErrorCode::Malformed, "store down"))
            })),
        ),
        ("config_error", code(&Validator::from_json("{}"))),
        (
            "missing_token",
            code(&edge_jwt::gateway::bearer_token(
                Some("Basic YTpi"),
                None,
                None,
            )),
        ),
    ];
    // Route refusals (gateways) and the remote JWKS state machine.
    let (routed, edge) = edge_jwt::gateway::edge_policy::load(&format!(
        r#"{{"algorithms":["HS256"],"secret":{},"required_claims":[],
            "gateway":{{"roles_claim":"realm_access.roles"}},
            "routes":[{{"path":"/ops/*","scopes":["operator.write"]}},{{"path":"/t4/*","tracks":[4]}},
                      {{"path":"/admin/*","roles":["admin"]}},
                      {{"path":"/ci/*","claims":{{"repository":{{"equals":"org/app"}}}}}}]}}"#,
        json!(HMAC_SECRET)
    ))
    .unwrap();
    let verified = routed.verify(&ok, NOW).unwrap();
    let route = |path: &str| {
        edge.routes
            .find("GET", path, false)
            .authorize(&verified, &edge.role_paths)
    };
    produced.push(("insufficient_scope", code(&route("/ops/x"))));
    produced.push(("track_not_allowed", code(&route("/t4/x"))));
    produced.push(("insufficient_role", code(&route("/admin/x"))));
    produced.push(("claim_mismatch", code(&route("/ci/x"))));
    let remote = edge_jwt::jwks::RemoteJwks::new(Default::default(), vec![Alg::ES256]);
    produced.push(("jwks_unavailable", code(&remote.keys(NOW))));
    // The gateway's own refusals: the request path, refresh past the session, CSRF.
    produced.push((
        "malformed_request",
        code(&edge_jwt::gateway::path::canonical_path("/a%2Fb")),
    ));
    let signer = edge_jwt::Signer::from_secret(HMAC_SECRET, Alg::HS256).unwrap();
    let old_session = signed(json!({"auth_time": NOW - 8 * 86_400}));
    let old_session = v.verify(&old_session, NOW).unwrap();
    produced.push((
        "session_expired",
        code(&edge_jwt::mint::reissue(
            v.policy(),
            &signer,
            &old_session,
            NOW,
            &mut rand_core::OsRng,
        )),
    ));
    produced.push((
        "cross_site_request",
        code(&edge_jwt::gateway::check_same_origin(
            "https://api.test",
            Some("cross-site"),
            None,
        )),
    ));
    // Sender-constrained tokens (src/dpop/).
    produced.extend(dpop_refusals());
    for (expected, got) in &produced {
        assert_eq!(got, expected);
    }
    produced.retain(|(c, _)| *c != "ok");
    let mut documented: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
    let mut seen: Vec<&str> = produced.iter().map(|(c, _)| *c).collect();
    documented.sort_unstable();
    seen.sort_unstable();
    assert_eq!(seen, documented, "a documented code has no test input here");
}

/// One input per code of `edge_jwt::dpop`.
fn dpop_refusals() -> Vec<(&'static str, &'static str)> {
    use edge_jwt::dpop::{
        check_certificate_binding, create_proof, decide, BindingRequirement, ClientCertificate,
        Confirmation, DpopMode, NonceKey, NonceRequirement, ProofChecker, ProofFor, ProofRequest,
        ReplayMemory, Scheme,
    };
    let client = signer(P256_PRIVATE_JWK, Alg::ES256);
    let url = "https://api.test/x";
    let proof = create_proof(
        &client,
        &ProofFor {
            method: "GET",
            url,
            access_token: None,
            nonce: None,
        },
        NOW,
        &mut rand_core::OsRng,
    )
    .unwrap();
    let headers = [proof.as_str()];
    let request = ProofRequest {
        dpop_headers: &headers,
        method: "GET",
        uri: url,
        access_token: None,
        jkt: None,
        nonce: None,
    };
    let checker = ProofChecker::default();
    let nonces = NonceKey::new(&[7; 32], 300).unwrap();
    let bound = Confirmation {
        jkt: Some("jkt".into()),
        x5t_s256: None,
    };
    let checked = checker.check(&request, NOW).unwrap();
    let full = ReplayMemory::new(1);
    full.check_and_remember(&checked, NOW).unwrap();
    let mut other = checked.clone();
    other.jti.push('2');
    let absent = ClientCertificate {
        presented: false,
        verified: false,
        fingerprint: None,
    };
    let none = BindingRequirement::None;
    vec![
        (
            "invalid_dpop_proof",
            code(&checker.check(
                &ProofRequest {
                    method: "POST",
                    ..request
                },
                NOW,
            )),
        ),
        (
            "use_dpop_nonce",
            code(&checker.check(
                &ProofRequest {
                    nonce: Some(NonceRequirement {
                        key: &nonces,
                        binding: None,
                    }),
                    ..request
                },
                NOW,
            )),
        ),
        (
            "dpop_binding_mismatch",
            code(&checker.check(
                &ProofRequest {
                    jkt: Some("other"),
                    ..request
                },
                NOW,
            )),
        ),
        (
            "dpop_required",
            code(&decide(DpopMode::Off, none, Scheme::Bearer, 0, &bound)),
        ),
        (
            "binding_required",
            code(&decide(
                DpopMode::Off,
                BindingRequirement::Any,
                Scheme::Bearer,
                0,
                &Confirmation::default(),
            )),
        ),
        (
            "mtls_binding_mismatch",
            code(&check_certificate_binding("x5t", &absent)),
        ),
        (
            "dpop_replayed",
            code(&full.check_and_remember(&checked, NOW)),
        ),
        (
            "dpop_replay_unavailable",
            code(&full.check_and_remember(&other, NOW)),
        ),
    ]
}
