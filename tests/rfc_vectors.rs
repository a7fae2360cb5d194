//! Published JWS vectors (tests/vectors/*.json, provenance in tests/vectors/README.md):
//! RFC 7515 Appendix A.1 (HS256), A.2 (RS256), A.3 (ES256), A.4 (ES512); RFC 8037 Appendix A.4
//! (Ed25519, key from A.1); RFC 7520 sections 4.1 (RS256), 4.2 (PS384), 4.3 (ES512) and
//! 4.4 (HS256), keys from sections 3.2, 3.4 and 3.5. Keys and tokens are used exactly as
//! published; nothing here is re-signed.
//!
//! Every file in the directory is loaded (a new file without an entry in [`EXPECTED`] fails the
//! suite) and every failure message names the vector.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

mod common;

use std::path::Path;

use common::*;
use edge_jwt::verify::verify_signature;
use edge_jwt::{Alg, Validator};
use serde::Deserialize;
use serde_json::{json, Value};

/// `exp` of the RFC 7515 A.1–A.3 payload: 2011-03-22T18:43:00Z.
const RFC7515_EXP: u64 = 1_300_819_380;

/// What each published vector must show under edge-jwt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A JWT claims set: verifies fully with the clock pinned before `exp`.
    Claims,
    /// Plain-text payload: the signature verifies, full verification says `malformed`.
    SignatureOnly,
    /// An algorithm this build lacks (ES512): `alg_not_allowed`.
    NotBuiltIn,
}

const EXPECTED: [(&str, Expect); 9] = [
    ("rfc7515-a1-hs256.json", Expect::Claims),
    ("rfc7515-a2-rs256.json", Expect::Claims),
    ("rfc7515-a3-es256.json", Expect::Claims),
    ("rfc7515-a4-es512.json", Expect::NotBuiltIn),
    ("rfc7520-4-1-rs256.json", Expect::SignatureOnly),
    ("rfc7520-4-2-ps384.json", Expect::SignatureOnly),
    ("rfc7520-4-3-es512.json", Expect::NotBuiltIn),
    ("rfc7520-4-4-hs256.json", Expect::SignatureOnly),
    ("rfc8037-a4-ed25519.json", Expect::SignatureOnly),
];

#[derive(Debug, Deserialize)]
struct Vector {
    source: String,
    alg: String,
    key: Value,
    token: String,
    payload_text: String,
    expect: String,
}

struct Case {
    name: String,
    expect: Expect,
    vector: Vector,
}

fn load(name: &str) -> Case {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let vector: Vector =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not a vector: {e}"));
    let expect = EXPECTED
        .iter()
        .find(|(file, _)| *file == name)
        .unwrap_or_else(|| panic!("{name}: vector file has no entry in EXPECTED"))
        .1;
    Case {
        name: name.to_owned(),
        expect,
        vector,
    }
}

/// Every `*.json` in tests/vectors, sorted by name.
fn all_cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/vectors exists")
        .map(|entry| entry.expect("dir entry").file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    names.iter().map(|name| load(name)).collect()
}

fn cases(expect: Expect) -> Vec<Case> {
    all_cases()
        .into_iter()
        .filter(|c| c.expect == expect)
        .collect()
}

/// The policy a vector is checked under: its own key and alg, no required claim but `exp` for
/// claims vectors, leeway 0 so the boundaries are exact.
fn vector_config(case: &Case) -> String {
    let required = match case.expect {
        Expect::Claims => json!(["exp"]),
        _ => json!([]),
    };
    policy_json(
        &[&case.vector.alg],
        None,
        std::slice::from_ref(&case.vector.key),
        json!({"required_claims": required, "leeway_s": 0}),
    )
}

fn vector_validator(case: &Case) -> Validator {
    Validator::from_json(&vector_config(case))
        .unwrap_or_else(|e| panic!("{}: policy from the published key rejected: {e}", case.name))
}

/// A time at which the claims vectors are valid: one minute before their `exp`.
const CLAIMS_NOW: u64 = RFC7515_EXP - 60;

#[test]
fn every_vector_file_is_listed_and_self_consistent() {
    let cases = all_cases();
    assert_eq!(
        cases.len(),
        EXPECTED.len(),
        "tests/vectors holds {} files, EXPECTED lists {}",
        cases.len(),
        EXPECTED.len()
    );
    for case in &cases {
        let v = &case.vector;
        assert!(
            v.source.contains("RFC"),
            "{}: source cites an RFC",
            case.name
        );
        let published = match case.expect {
            Expect::Claims | Expect::SignatureOnly => "valid",
            Expect::NotBuiltIn => "alg_not_allowed",
        };
        assert_eq!(v.expect, published, "{}: expect field", case.name);
        let [header, payload, _] = segments(&v.token);
        let header: Value = serde_json::from_slice(&unb64(header))
            .unwrap_or_else(|e| panic!("{}: header JSON: {e}", case.name));
        assert_eq!(header["alg"], v.alg.as_str(), "{}: header alg", case.name);
        assert_eq!(
            unb64(payload),
            v.payload_text.as_bytes(),
            "{}: payload_text is the decoded payload",
            case.name
        );
        let is_json = serde_json::from_str::<Value>(&v.payload_text).is_ok();
        assert_eq!(
            is_json,
            case.expect == Expect::Claims,
            "{}: only the RFC 7515 A.1-A.3 payload is a JSON claims set",
            case.name
        );
    }
}

/// RFC 7515 A.1 (HS256), A.2 (RS256), A.3 (ES256): the published tokens verify fully, and the
/// claims come out as published.
#[test]
fn rfc7515_claims_vectors_verify_fully_before_exp() {
    let cases = cases(Expect::Claims);
    assert_eq!(cases.len(), 3);
    for case in &cases {
        let v = vector_validator(case);
        let verified = v
            .verify(&case.vector.token, CLAIMS_NOW)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(verified.alg.name(), case.vector.alg, "{}", case.name);
        assert_eq!(verified.claims()["iss"], "joe", "{}", case.name);
        assert_eq!(verified.claims()["exp"], RFC7515_EXP, "{}", case.name);
        assert_eq!(
            verified.claims()["http://example.com/is_root"],
            true,
            "{}",
            case.name
        );
        assert_eq!(verified.registered.exp, Some(RFC7515_EXP), "{}", case.name);
        assert_eq!(verified.registered.iat, None, "{}", case.name);
        // No track claim: the unknown-track default ceiling (12 h) applies.
        assert_eq!(verified.track.track, None, "{}", case.name);
        assert_eq!(verified.track.ttl_ceiling_s, 43_200, "{}", case.name);
    }
}

/// `now < exp + leeway` is the validity window (RFC 7519 4.1.4), checked on the published tokens.
#[test]
fn rfc7515_claims_vectors_expire_exactly_at_exp_plus_leeway() {
    for case in &cases(Expect::Claims) {
        let strict = vector_validator(case);
        assert_eq!(
            code(&strict.verify(&case.vector.token, RFC7515_EXP - 1)),
            "ok",
            "{}",
            case.name
        );
        assert_eq!(
            code(&strict.verify(&case.vector.token, RFC7515_EXP)),
            "expired",
            "{}",
            case.name
        );
        let lenient = validator(&policy_json(
            &[&case.vector.alg],
            None,
            std::slice::from_ref(&case.vector.key),
            json!({"required_claims": ["exp"], "leeway_s": 30}),
        ));
        assert_eq!(
            code(&lenient.verify(&case.vector.token, RFC7515_EXP + 29)),
            "ok",
            "{}",
            case.name
        );
        assert_eq!(
            code(&lenient.verify(&case.vector.token, RFC7515_EXP + 30)),
            "expired",
            "{}",
            case.name
        );
        // Checked against the real clock the published tokens are long expired.
        assert_eq!(
            code(&strict.verify(&case.vector.token, NOW)),
            "expired",
            "{}",
            case.name
        );
    }
}

/// The A.1-A.3 payload has no `iat`, so the remaining lifetime `exp - now` is held against the
/// ceiling (12 h for the absent track) plus the leeway.
#[test]
fn rfc7515_claims_vectors_without_iat_hold_remaining_lifetime_to_the_ceiling() {
    for case in &cases(Expect::Claims) {
        let v = vector_validator(case); // leeway 0
        let at_ceiling = RFC7515_EXP - 43_200;
        assert_eq!(
            code(&v.verify(&case.vector.token, at_ceiling)),
            "ok",
            "{}",
            case.name
        );
        assert_eq!(
            code(&v.verify(&case.vector.token, at_ceiling - 1)),
            "ttl_exceeds_track",
            "{}",
            case.name
        );
        let strict_tracks = validator(&policy_json(
            &[&case.vector.alg],
            None,
            std::slice::from_ref(&case.vector.key),
            json!({"required_claims": ["exp"], "leeway_s": 0, "tracks": {"unknown": "reject"}}),
        ));
        assert_eq!(
            code(&strict_tracks.verify(&case.vector.token, CLAIMS_NOW)),
            "unknown_track",
            "{}",
            case.name
        );
    }
}

/// Under the default policy (`exp`, `iat` and `jti` required) the published payload (`iss`,
/// `exp` and a custom claim) lacks `iat`, the first required claim it misses.
#[test]
fn rfc7515_claims_vectors_miss_iat_under_the_default_required_claims() {
    for case in &cases(Expect::Claims) {
        let v = validator(&policy_json(
            &[&case.vector.alg],
            None,
            std::slice::from_ref(&case.vector.key),
            Value::Null,
        ));
        let err = v.verify(&case.vector.token, CLAIMS_NOW).unwrap_err();
        assert_eq!(err.code().code(), "missing_claim", "{}", case.name);
        assert!(err.message().contains("iat"), "{}: {}", case.name, err);
    }
}

/// RFC 8037 A.4 (Ed25519) and RFC 7520 4.1 (RS256), 4.2 (PS384), 4.4 (HS256): the raw signature
/// check succeeds with the configured published key, and full verification then says
/// `malformed` because the payload is plain text — never `bad_signature`, which shows that the
/// signature is checked before the payload is parsed.
#[test]
fn plain_text_vectors_verify_their_signature_then_fail_as_malformed_payload() {
    let cases = cases(Expect::SignatureOnly);
    assert_eq!(cases.len(), 4);
    for case in &cases {
        let v = vector_validator(case);
        let policy = v.policy();
        let alg = Alg::from_name(&case.vector.alg).expect("built-in alg");
        let parsed = edge_jwt::token::parse(
            &case.vector.token,
            policy.max_token_bytes,
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("{}: parse: {e}", case.name));
        assert_eq!(parsed.header.alg(), Some(alg), "{}", case.name);
        assert_eq!(
            parsed.payload,
            case.vector.payload_text.as_bytes(),
            "{}",
            case.name
        );
        let keys = policy.keys.keys();
        assert_eq!(keys.len(), 1, "{}", case.name);
        assert!(
            verify_signature(
                alg,
                &keys[0],
                parsed.signing_input.as_bytes(),
                &parsed.signature
            ),
            "{}: published signature verifies with the published key",
            case.name
        );
        // The key chosen for the token (by kid where the vector has one) is that key.
        let candidates = policy
            .keys
            .candidates(alg, parsed.header.kid.as_deref())
            .unwrap_or_else(|e| panic!("{}: key choice: {e}", case.name));
        assert_eq!(candidates.len(), 1, "{}", case.name);
        let err = v.verify(&case.vector.token, NOW).unwrap_err();
        assert_eq!(
            err.code().code(),
            "malformed",
            "{}: {}",
            case.name,
            err.message()
        );
        assert!(
            err.message().contains("payload"),
            "{}: the payload is what is malformed: {err}",
            case.name
        );
    }
}

/// The raw check answers true only for the vector's own algorithm: the same key never verifies
/// the published signature under another algorithm, even of the same family (RS256 vs PS256).
#[test]
fn published_signatures_verify_only_under_their_own_algorithm() {
    for case in all_cases()
        .into_iter()
        .filter(|c| c.expect != Expect::NotBuiltIn)
    {
        let v = vector_validator(&case);
        let parsed = edge_jwt::token::parse(&case.vector.token, 8192, &Default::default()).unwrap();
        let key = &v.policy().keys.keys()[0];
        for alg in Alg::ALL {
            assert_eq!(
                verify_signature(alg, key, parsed.signing_input.as_bytes(), &parsed.signature),
                alg.name() == case.vector.alg,
                "{}: under {alg}",
                case.name
            );
        }
    }
}

/// RFC 7515 A.4 and RFC 7520 4.3 are genuine P-521 (ES512) signatures; this build has no ES512.
#[test]
fn es512_vectors_are_alg_not_allowed() {
    let cases = cases(Expect::NotBuiltIn);
    assert_eq!(cases.len(), 2);
    let p256 = public_jwk(P256_PRIVATE_JWK);
    for case in &cases {
        // The published P-521 key cannot even be configured…
        let err = Validator::from_json(&vector_config(case)).unwrap_err();
        assert_eq!(err.code().code(), "config_error", "{}: {err}", case.name);
        let err = Validator::from_json(&policy_json(
            &["ES256"],
            None,
            std::slice::from_ref(&case.vector.key),
            Value::Null,
        ))
        .unwrap_err();
        assert_eq!(err.code().code(), "config_error", "{}: {err}", case.name);
        assert!(err.message().contains("P-521"), "{}: {err}", case.name);
        // …nor can ES512 be allowed.
        let err = Validator::from_json(&policy_json(
            &["ES512"],
            None,
            std::slice::from_ref(&p256),
            Value::Null,
        ))
        .unwrap_err();
        assert_eq!(err.code().code(), "config_error", "{}: {err}", case.name);

        // The token is refused as alg_not_allowed by an EC policy, an HMAC policy, and a policy
        // holding a key with the token's kid (the alg is refused before any key is chosen).
        let ec = validator(&policy_json(
            &["ES256"],
            None,
            std::slice::from_ref(&p256),
            Value::Null,
        ));
        assert_eq!(
            code(&ec.verify(&case.vector.token, NOW)),
            "alg_not_allowed",
            "{}",
            case.name
        );
        let hmac = hs256_validator(Value::Null);
        assert_eq!(
            code(&hmac.verify(&case.vector.token, NOW)),
            "alg_not_allowed",
            "{}",
            case.name
        );
        let same_kid = validator(&policy_json(
            &["ES256"],
            None,
            &[with_params(
                p256.clone(),
                Some("bilbo.baggins@hobbiton.example"),
                None,
            )],
            Value::Null,
        ));
        assert_eq!(
            code(&same_kid.verify(&case.vector.token, NOW)),
            "alg_not_allowed",
            "{}",
            case.name
        );
    }
}

/// One flipped bit anywhere in a published signature is `bad_signature` — also for the
/// plain-text vectors, whose payload would otherwise be `malformed`.
#[test]
fn published_tokens_with_one_flipped_signature_bit_are_bad_signature() {
    for case in all_cases()
        .into_iter()
        .filter(|c| c.expect != Expect::NotBuiltIn)
    {
        let v = vector_validator(&case);
        let now = match case.expect {
            Expect::Claims => CLAIMS_NOW,
            _ => NOW,
        };
        let bits = unb64(segments(&case.vector.token)[2]).len() * 8;
        for bit in [0, 7, bits / 2, bits - 8, bits - 1] {
            let forged = flip_signature_bit(&case.vector.token, bit);
            assert_eq!(
                code(&v.verify(&forged, now)),
                "bad_signature",
                "{}: bit {bit}",
                case.name
            );
        }
    }
}

/// A payload swapped under a published signature is `bad_signature`, not a claim error and not
/// `malformed`: a JSON payload for the plain-text vectors, a longer-lived one for A.1-A.3.
#[test]
fn published_signatures_over_a_swapped_payload_are_bad_signature() {
    let forged_claims = format!(
        r#"{{"iss":"joe","exp":{},"http://example.com/is_root":true}}"#,
        NOW + 600
    );
    for case in all_cases()
        .into_iter()
        .filter(|c| c.expect != Expect::NotBuiltIn)
    {
        let v = vector_validator(&case);
        let forged = with_payload(&case.vector.token, &forged_claims);
        assert_eq!(
            code(&v.verify(&forged, NOW)),
            "bad_signature",
            "{}",
            case.name
        );
        // Expired as well as tampered: still bad_signature.
        let expired = with_payload(&case.vector.token, r#"{"iss":"joe","exp":1}"#);
        assert_eq!(
            code(&v.verify(&expired, NOW)),
            "bad_signature",
            "{}",
            case.name
        );
    }
}

fn key_of(name: &str) -> Value {
    load(name).vector.key
}

fn token_of(name: &str) -> String {
    load(name).vector.token
}

/// A vector token under a policy whose keys are of another family: the alg is outside the
/// allow-list (`alg_not_allowed`), and a key is never reinterpreted across families.
#[test]
fn vector_tokens_under_a_wrong_family_policy_are_alg_not_allowed() {
    let a1_oct = key_of("rfc7515-a1-hs256.json");
    let a2_rsa = key_of("rfc7515-a2-rs256.json");
    let a3_ec = key_of("rfc7515-a3-es256.json");
    let ed = key_of("rfc8037-a4-ed25519.json");
    let pairs = [
        ("rfc7515-a1-hs256.json", "RS256", &a2_rsa),
        ("rfc7515-a2-rs256.json", "HS256", &a1_oct),
        ("rfc7515-a3-es256.json", "EdDSA", &ed),
        ("rfc8037-a4-ed25519.json", "ES256", &a3_ec),
        ("rfc7520-4-1-rs256.json", "ES256", &a3_ec),
        ("rfc7520-4-4-hs256.json", "RS256", &a2_rsa),
    ];
    for (name, other_alg, other_key) in pairs {
        let v = validator(&policy_json(
            &[other_alg],
            None,
            std::slice::from_ref(other_key),
            json!({"required_claims": []}),
        ));
        assert_eq!(
            code(&v.verify(&token_of(name), CLAIMS_NOW)),
            "alg_not_allowed",
            "{name} under a {other_alg} policy"
        );
    }
    // Same RSA key, other RSA algorithm allowed: RS256 is still outside the allow-list.
    let v = validator(&policy_json(
        &["PS256"],
        None,
        std::slice::from_ref(&a2_rsa),
        json!({"required_claims": []}),
    ));
    assert_eq!(
        code(&v.verify(&token_of("rfc7515-a2-rs256.json"), CLAIMS_NOW)),
        "alg_not_allowed"
    );
}

/// Two families in one policy: each token finds the key of its own family and verifies.
#[test]
fn hmac_and_rsa_vectors_verify_side_by_side_in_one_policy() {
    let v = validator(&policy_json(
        &["HS256", "RS256"],
        None,
        &[
            key_of("rfc7515-a1-hs256.json"),
            key_of("rfc7515-a2-rs256.json"),
        ],
        json!({"required_claims": ["exp"]}),
    ));
    for name in ["rfc7515-a1-hs256.json", "rfc7515-a2-rs256.json"] {
        assert_eq!(code(&v.verify(&token_of(name), CLAIMS_NOW)), "ok", "{name}");
    }
}

/// The kid of RFC 7520 4.4 (HS256) names an RSA key in this policy: the named key cannot serve
/// HS256, so the answer is `alg_not_allowed` — the HMAC secret is not tried instead, and the
/// RSA key is never used as an HMAC secret.
#[test]
fn kid_naming_a_key_of_another_family_is_alg_not_allowed() {
    let rsa_with_hs_kid = with_params(
        public_jwk(RSA_PRIVATE_JWK),
        Some("018c0ae5-4d9b-471b-bfd6-eef314bc7037"),
        None,
    );
    let v = validator(&policy_json(
        &["HS256", "RS256"],
        Some(HMAC_SECRET),
        &[rsa_with_hs_kid],
        json!({"required_claims": []}),
    ));
    assert_eq!(
        code(&v.verify(&token_of("rfc7520-4-4-hs256.json"), NOW)),
        "alg_not_allowed"
    );

    // RFC 7520 4.2 (PS384, kid bilbo) where bilbo's key is restricted to RS256 by its own alg.
    let bilbo_rs256_only = with_params(key_of("rfc7520-4-2-ps384.json"), None, Some("RS256"));
    let v = validator(&policy_json(
        &["RS256", "PS384"],
        None,
        &[bilbo_rs256_only, public_jwk(RSA_PRIVATE_JWK)],
        json!({"required_claims": []}),
    ));
    assert_eq!(
        code(&v.verify(&token_of("rfc7520-4-2-ps384.json"), NOW)),
        "alg_not_allowed"
    );
}

/// Right family, wrong key: `bad_signature`; a kid no key has: `unknown_kid`; a kid while no
/// configured key has one: ignored, so the signature decides.
#[test]
fn vector_tokens_under_another_key_of_the_right_family() {
    let a1 = token_of("rfc7515-a1-hs256.json");
    let v = validator(&policy_json(
        &["HS256"],
        Some(HMAC_SECRET),
        &[],
        json!({"required_claims": []}),
    ));
    assert_eq!(code(&v.verify(&a1, CLAIMS_NOW)), "bad_signature");

    let a2 = token_of("rfc7515-a2-rs256.json");
    let other_rsa = public_jwk(RSA_PRIVATE_JWK);
    let v = validator(&policy_json(
        &["RS256"],
        None,
        std::slice::from_ref(&other_rsa),
        json!({"required_claims": []}),
    ));
    assert_eq!(code(&v.verify(&a2, CLAIMS_NOW)), "bad_signature");

    let bilbo = token_of("rfc7520-4-1-rs256.json");
    let impostor = with_params(
        other_rsa.clone(),
        Some("bilbo.baggins@hobbiton.example"),
        None,
    );
    let v = validator(&policy_json(
        &["RS256"],
        None,
        &[impostor],
        json!({"required_claims": []}),
    ));
    assert_eq!(code(&v.verify(&bilbo, NOW)), "bad_signature");

    let v = validator(&policy_json(
        &["RS256"],
        None,
        &[with_params(other_rsa.clone(), Some("frodo"), None)],
        json!({"required_claims": []}),
    ));
    assert_eq!(code(&v.verify(&bilbo, NOW)), "unknown_kid");

    // No configured key has a kid: the token's kid is ignored and the published key, listed
    // after another RSA key, is found by trying both.
    let mut bilbo_key_without_kid = public_jwk(&key_of("rfc7520-4-1-rs256.json").to_string());
    bilbo_key_without_kid.as_object_mut().unwrap().remove("kid");
    let v = validator(&policy_json(
        &["RS256"],
        None,
        &[other_rsa, bilbo_key_without_kid],
        json!({"required_claims": []}),
    ));
    assert_eq!(
        code(&v.verify(&bilbo, NOW)),
        "malformed",
        "signature verified with the second key, then the plain-text payload is malformed"
    );
}
