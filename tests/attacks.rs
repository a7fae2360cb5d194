//! Attacks on the validator: alg confusion (`none`, key confusion, alg spellings), `kid` tricks,
//! embedded key headers, `crit`/`b64`, and error messages that could leak the token or keys.
//! Signature malleability is in `signatures.rs`, encoding and JSON tricks and size limits in
//! `token_format.rs`, the mutation sweep in `mutation.rs`. Tokens are assembled by hand
//! (tests/common) so that headers and payloads the minting API would never produce can be signed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

mod common;

use common::*;
use edge_jwt::keys::MAX_KEYS_WITHOUT_KID;
use edge_jwt::verify::verify_signature;
use edge_jwt::{Alg, ErrorCode, Validator};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Baseline: the fixtures produce tokens that verify, so each rejection below is due to the
// one thing the test changed.

#[test]
fn fixture_tokens_of_every_key_type_verify() {
    assert_code(
        &hs256_validator(Value::Null),
        &token(&hs256(), &claims()),
        "ok",
        "HS256",
    );
    assert_code(
        &ec_validator(Value::Null),
        &token(&es256(), &claims()),
        "ok",
        "ES256",
    );
    let ed = validator(&policy_json(
        &["EdDSA"],
        None,
        &[public_jwk(ED25519_PRIVATE_JWK)],
        Value::Null,
    ));
    assert_code(
        &ed,
        &token(&signer(ED25519_PRIVATE_JWK, Alg::EdDSA), &claims()),
        "ok",
        "EdDSA",
    );
    let rsa = validator(&policy_json(
        &["RS256", "PS256"],
        None,
        &[public_jwk(RSA_PRIVATE_JWK)],
        Value::Null,
    ));
    for alg in [Alg::RS256, Alg::PS256] {
        assert_code(
            &rsa,
            &token(&signer(RSA_PRIVATE_JWK, alg), &claims()),
            "ok",
            alg.name(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// alg none

const NONE_SPELLINGS: [&str; 4] = ["none", "None", "NONE", "nOnE"];

#[test]
fn alg_none_in_any_case_is_alg_not_allowed_even_with_a_valid_mac() {
    let v = hs256_validator(Value::Null);
    for alg in NONE_SPELLINGS {
        let header = json!({"alg": alg, "typ": "JWT"});
        // Signed with the real secret: even a correct MAC does not make `none` acceptable.
        let t = sign_json(&hs256(), &header, &claims());
        assert_code(&v, &t, "alg_not_allowed", alg);
        // Some non-empty junk signature.
        let t = with_signature(&t, b"x");
        assert_code(&v, &t, "alg_not_allowed", alg);
    }
    // Nor can a policy allow it.
    for alg in NONE_SPELLINGS {
        let err = Validator::from_json(&policy_json(&[alg], Some(HMAC_SECRET), &[], Value::Null))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigError, "{alg}");
    }
}

fn unsigned_token(alg: &str) -> String {
    format!(
        "{}.{}.",
        b64(json!({"alg": alg, "typ": "JWT"}).to_string()),
        b64(claims().to_string())
    )
}

#[test]
fn alg_none_with_an_empty_signature_segment_is_never_accepted() {
    // The classic unsecured JWS (RFC 7515 A.5 form: empty third segment).
    let v = hs256_validator(Value::Null);
    for alg in NONE_SPELLINGS {
        let result = v.verify(&unsigned_token(alg), NOW);
        assert!(
            ["alg_not_allowed", "malformed"].contains(&code(&result)),
            "{alg}: {}",
            code(&result)
        );
    }
}

#[test]
fn alg_none_with_an_empty_signature_segment_is_alg_not_allowed() {
    let v = hs256_validator(Value::Null);
    for alg in NONE_SPELLINGS {
        assert_code(&v, &unsigned_token(alg), "alg_not_allowed", alg);
    }
}

#[test]
fn alg_names_are_exact_and_case_sensitive() {
    let v = hs256_validator(Value::Null);
    for alg in [
        "hs256",
        "Hs256",
        "HS256 ",
        " HS256",
        "HS256\u{0}",
        "HS384",
        "HS512",
        "XYZ",
        "",
    ] {
        let header = json!({"alg": alg});
        let t = sign_json(&hs256(), &header, &claims());
        assert_code(&v, &t, "alg_not_allowed", alg);
    }
    // alg missing or of the wrong type is malformed.
    for header in [
        json!({"typ": "JWT"}),
        json!({"alg": 256}),
        json!({"alg": null}),
    ] {
        let t = sign_json(&hs256(), &header, &claims());
        assert_code(&v, &t, "malformed", &header.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// Key confusion: an HS256 token "signed" with the bytes of the RSA public key.

/// The SPKI PEM of the fixture RSA key as an independent implementation writes it (Python
/// `cryptography`, `PublicFormat.SubjectPublicKeyInfo`): the file a naive verifier would load.
const RSA_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2XIUbcIQWdubW090G9mH
CTWHukFx3KYh/z73IWKfXWNO4smIziOWCmnR5rmqU6dPjtGM8uKFtO7PHCIpy4qc
Mud37qnxdXnH/H6PI0UgeEz6ZLLyD6PEf1wlK1OGXI2kK+2ztOv+60C7+Osh8C6I
h1I34dZXoEG8sY++CNl4zZviwNdDQIFTt6An11RX6oRdlDIvnpd0YfAnAwDzvGps
/sc++lymJtavoZ8GJxSG3fd8aXnQYY9Flu23n6NAvtpqlAK1m8EBfuxMqt5siYnk
34//QvXrQ46FTq5D3JDP3gg2vzVq6GWzPROXQjImaPuQ4fdH/2merEYjrVDBwwmb
YwIDAQAB
-----END PUBLIC KEY-----
";

fn confusion_secrets() -> Vec<(String, Vec<u8>)> {
    let pem = rsa_public_pem(RSA_PRIVATE_JWK);
    assert_eq!(pem, RSA_PUBLIC_PEM);
    let public = public_jwk(RSA_PRIVATE_JWK);
    let public_with_kid = with_params(public.clone(), Some("rsa-1"), Some("RS256"));
    vec![
        ("PEM".into(), pem.clone().into_bytes()),
        (
            "PEM without final newline".into(),
            pem.trim_end().as_bytes().to_vec(),
        ),
        ("public JWK JSON".into(), public.to_string().into_bytes()),
        (
            "public JWK JSON with kid".into(),
            public_with_kid.to_string().into_bytes(),
        ),
        (
            "pretty public JWK JSON".into(),
            serde_json::to_vec_pretty(&public).unwrap(),
        ),
        (
            "JWKS JSON".into(),
            json!({"keys": [public_with_kid]}).to_string().into_bytes(),
        ),
    ]
}

#[test]
fn hs256_signed_with_the_rsa_public_key_bytes_is_refused_by_an_rsa_policy() {
    let rsa_key = with_params(public_jwk(RSA_PRIVATE_JWK), Some("rsa-1"), None);
    let v = validator(&policy_json(
        &["RS256"],
        None,
        std::slice::from_ref(&rsa_key),
        Value::Null,
    ));
    for (what, secret) in confusion_secrets() {
        let attacker = hmac_signer(&secret, Alg::HS256);
        let plain = sign_json(&attacker, &json!({"alg": "HS256"}), &claims());
        assert_code(&v, &plain, "alg_not_allowed", &what);
        let with_kid = sign_json(
            &attacker,
            &json!({"alg": "HS256", "kid": "rsa-1"}),
            &claims(),
        );
        assert_code(&v, &with_kid, "alg_not_allowed", &what);
    }
    // HS256 cannot even be allowed next to only an RSA key: no key could serve it.
    let err = Validator::from_json(&policy_json(
        &["RS256", "HS256"],
        None,
        &[rsa_key],
        Value::Null,
    ))
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError, "{err}");
}

#[test]
fn hs256_signed_with_the_rsa_public_key_bytes_fails_where_hs256_is_allowed_too() {
    // A policy that does allow HS256 (through its own secret) and holds the RSA key.
    let rsa_key = with_params(public_jwk(RSA_PRIVATE_JWK), Some("rsa-1"), None);
    let v = validator(&policy_json(
        &["RS256", "HS256"],
        Some(HMAC_SECRET),
        &[rsa_key],
        Value::Null,
    ));
    for (what, secret) in confusion_secrets() {
        let attacker = hmac_signer(&secret, Alg::HS256);
        // Without kid only the HMAC secret is tried.
        let plain = sign_json(&attacker, &json!({"alg": "HS256"}), &claims());
        assert_code(&v, &plain, "bad_signature", &what);
        // With the RSA key's kid: that key cannot serve HS256.
        let with_kid = sign_json(
            &attacker,
            &json!({"alg": "HS256", "kid": "rsa-1"}),
            &claims(),
        );
        assert_code(&v, &with_kid, "alg_not_allowed", &what);
    }
    // And at the lowest level, the RSA key never verifies an HMAC.
    let rsa = &v
        .policy()
        .keys
        .keys()
        .iter()
        .find(|k| k.kid.is_some())
        .unwrap();
    for (what, secret) in confusion_secrets() {
        let input = b"e30.e30";
        let mac = hmac_signer(&secret, Alg::HS256).sign(input);
        for alg in [Alg::HS256, Alg::HS384, Alg::HS512] {
            assert!(!verify_signature(alg, rsa, input, &mac), "{what} {alg}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// kid

#[test]
fn hostile_kid_strings_are_unknown_kid_without_panic() {
    let legit = with_params(public_jwk(P256_PRIVATE_JWK), Some("legit"), None);
    let v = validator(&policy_json(&["ES256"], None, &[legit], Value::Null));
    let long = "A".repeat(4096);
    let kids = [
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "/dev/random",
        "' OR 1=1 --",
        "\"; DROP TABLE keys; --",
        "\u{0}",
        "legit\u{0}",
        "legit\u{0}../../etc/passwd",
        "LEGIT",
        "legit ",
        "",
        "${jndi:ldap://x/a}",
        "%2e%2e%2fetc%2fpasswd",
        "\u{202e}tigel",
        long.as_str(),
    ];
    for kid in kids {
        let header = json!({"alg": "ES256", "kid": kid});
        // Signed by the real key: only the kid is wrong.
        let t = sign_json(&es256(), &header, &claims());
        assert_code(
            &v,
            &t,
            "unknown_kid",
            &format!("{:?}", &kid[..kid.len().min(20)]),
        );
    }
    let t = sign_json(
        &es256(),
        &json!({"alg": "ES256", "kid": "legit"}),
        &claims(),
    );
    assert_code(&v, &t, "ok", "control");
    for kid in [
        json!(1),
        json!(null),
        json!(["legit"]),
        json!({"kid": "legit"}),
    ] {
        let t = sign_json(&es256(), &json!({"alg": "ES256", "kid": kid}), &claims());
        assert_code(&v, &t, "malformed", "non-string kid");
    }
}

#[test]
fn kid_is_ignored_when_no_configured_key_has_one() {
    let v = hs256_validator(Value::Null);
    for kid in ["anything", "../../etc/passwd", ""] {
        let t = sign_json(&hs256(), &json!({"alg": "HS256", "kid": kid}), &claims());
        assert_code(&v, &t, "ok", kid);
    }
    let attacker = hmac_signer(ATTACKER_HMAC_SECRET.as_bytes(), Alg::HS256);
    let t = sign_json(&attacker, &json!({"alg": "HS256", "kid": "x"}), &claims());
    assert_code(&v, &t, "bad_signature", "ignored kid, foreign signature");
}

#[test]
fn kid_naming_a_key_whose_alg_differs_is_alg_not_allowed() {
    let rsa = public_jwk(RSA_PRIVATE_JWK);
    let v = validator(&policy_json(
        &["RS256", "PS256", "HS256", "ES256"],
        Some(HMAC_SECRET),
        &[
            with_params(rsa.clone(), Some("rs"), Some("RS256")),
            with_params(rsa, Some("ps"), Some("PS256")),
            with_params(public_jwk(P256_PRIVATE_JWK), Some("ec"), None),
        ],
        Value::Null,
    ));
    let ps256 = signer(RSA_PRIVATE_JWK, Alg::PS256);
    let t = sign_json(&ps256, &json!({"alg": "PS256", "kid": "rs"}), &claims());
    assert_code(
        &v,
        &t,
        "alg_not_allowed",
        "PS256 token naming the RS256-only key",
    );
    let t = sign_json(&ps256, &json!({"alg": "PS256", "kid": "ps"}), &claims());
    assert_code(&v, &t, "ok", "control");
    let t = sign_json(&hs256(), &json!({"alg": "HS256", "kid": "ec"}), &claims());
    assert_code(&v, &t, "alg_not_allowed", "HS256 token naming the EC key");
}

/// Without a kid at most MAX_KEYS_WITHOUT_KID compatible keys are tried. A kid-less key past
/// that bound could never verify anything, so such a config is refused at load; a fifth key
/// with a kid loads, and a kid-less token signed by it is refused (it is never tried).
#[test]
fn only_the_first_four_compatible_keys_are_tried_without_kid() {
    assert_eq!(MAX_KEYS_WITHOUT_KID, 4);
    let secrets: Vec<String> = (1..=MAX_KEYS_WITHOUT_KID + 1)
        .map(|i| format!("rotation secret number {i}, 32+ bytes long"))
        .collect();
    let kidless: Vec<Value> = secrets.iter().map(|s| oct_jwk(s.as_bytes())).collect();
    let err =
        Validator::from_json(&policy_json(&["HS256"], None, &kidless, Value::Null)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(err.message().contains("need a kid"), "{}", err.message());

    let mut keys = kidless[..MAX_KEYS_WITHOUT_KID].to_vec();
    keys.push(with_params(
        oct_jwk(secrets[4].as_bytes()),
        Some("fifth"),
        None,
    ));
    let v = validator(&policy_json(&["HS256"], None, &keys, Value::Null));
    for (i, secret) in secrets.iter().enumerate() {
        let t = token(&hmac_signer(secret.as_bytes(), Alg::HS256), &claims());
        let expected = if i < MAX_KEYS_WITHOUT_KID {
            "ok"
        } else {
            "bad_signature"
        };
        assert_code(&v, &t, expected, &format!("key {}", i + 1));
    }
    // Keys that cannot serve the token's alg do not count against the bound.
    let mut keys: Vec<Value> = (0..MAX_KEYS_WITHOUT_KID)
        .map(|i| {
            with_params(
                oct_jwk(format!("HS384-only key {i}, at least 48 bytes long .......").as_bytes()),
                None,
                Some("HS384"),
            )
        })
        .collect();
    keys.push(oct_jwk(secrets[4].as_bytes()));
    let v = validator(&policy_json(&["HS256", "HS384"], None, &keys, Value::Null));
    let t = token(&hmac_signer(secrets[4].as_bytes(), Alg::HS256), &claims());
    assert_code(&v, &t, "ok", "fifth key, first compatible one");
    // With kids, the named key is found wherever it is.
    let keys: Vec<Value> = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| with_params(oct_jwk(s.as_bytes()), Some(&format!("k{i}")), None))
        .collect();
    let v = validator(&policy_json(&["HS256"], None, &keys, Value::Null));
    let fifth = hmac_signer(secrets[4].as_bytes(), Alg::HS256);
    let t = sign_json(&fifth, &json!({"alg": "HS256", "kid": "k4"}), &claims());
    assert_code(&v, &t, "ok", "fifth key by kid");
    assert_code(
        &v,
        &token(&fifth, &claims()),
        "bad_signature",
        "fifth key without kid",
    );
}

// ---------------------------------------------------------------------------------------------
// Embedded key headers: jwk / jku / x5u / x5c are never used to find a key.

#[test]
fn embedded_key_headers_pointing_at_an_attacker_key_are_ignored() {
    let attacker = signer(ATTACKER_P256_PRIVATE_JWK, Alg::ES256);
    let attacker_jwk = attacker.public_jwk().unwrap();
    let v = ec_validator(Value::Null);
    let headers = [
        json!({"alg": "ES256", "jwk": attacker_jwk}),
        json!({"alg": "ES256", "jku": "https://attacker.example/jwks.json"}),
        json!({"alg": "ES256", "x5u": "https://attacker.example/cert.pem"}),
        json!({"alg": "ES256", "x5c": ["MIIBszCCAVmgAwIBAgIUQ3J5cHRvAAAAAAAAAAAAAAAAAAAwCgYIKoZIzj0EAwI="]}),
        json!({"alg": "ES256", "jwk": attacker_jwk, "jku": "https://attacker.example/jwks.json",
               "x5u": "https://attacker.example/cert.pem"}),
    ];
    for header in &headers {
        let forged = sign_json(&attacker, header, &claims());
        assert_code(&v, &forged, "bad_signature", &header.to_string());
        // The same headers on a token the configured key signed are harmless.
        let honest = sign_json(&es256(), header, &claims());
        assert_code(&v, &honest, "ok", "honest token with extra headers");
    }
    // With kids configured, the attacker's kid names nothing.
    let legit = with_params(public_jwk(P256_PRIVATE_JWK), Some("legit"), None);
    let v = validator(&policy_json(&["ES256"], None, &[legit], Value::Null));
    let header = json!({"alg": "ES256", "kid": "attacker-es256",
                        "jwk": with_params(attacker_jwk.clone(), Some("attacker-es256"), None)});
    assert_code(
        &v,
        &sign_json(&attacker, &header, &claims()),
        "unknown_kid",
        "attacker kid",
    );
    // An embedded oct key with an HMAC policy.
    let mac = hmac_signer(ATTACKER_HMAC_SECRET.as_bytes(), Alg::HS256);
    let header = json!({"alg": "HS256", "jwk": oct_jwk(ATTACKER_HMAC_SECRET.as_bytes())});
    assert_code(
        &hs256_validator(Value::Null),
        &sign_json(&mac, &header, &claims()),
        "bad_signature",
        "embedded oct jwk",
    );
}

// ---------------------------------------------------------------------------------------------
// crit and b64

#[test]
fn crit_is_unsupported_header_whatever_it_holds() {
    let v = hs256_validator(Value::Null);
    for crit in [
        json!(["exp"]),
        json!(["b64"]),
        json!(["http://example.com/ext"]),
        json!([]),
        json!("exp"),
        json!(null),
    ] {
        let header = json!({"alg": "HS256", "crit": crit, "exp": NOW + 600, "b64": true});
        let t = sign_json(&hs256(), &header, &claims());
        assert_code(&v, &t, "unsupported_header", &crit.to_string());
    }
}

#[test]
fn b64_false_is_unsupported_header() {
    let v = hs256_validator(Value::Null);
    let payload = claims().to_string();
    // RFC 7797 form: the payload travels unencoded (here it is still base64url in the token).
    let t = sign_text(&hs256(), r#"{"alg":"HS256","b64":false}"#, &payload);
    assert_code(&v, &t, "unsupported_header", "b64 false");
    let t = sign_text(&hs256(), r#"{"alg":"HS256","b64":true}"#, &payload);
    assert_code(&v, &t, "ok", "b64 true is the default");
    for b64_value in ["\"false\"", "0", "null"] {
        let t = sign_text(
            &hs256(),
            &format!(r#"{{"alg":"HS256","b64":{b64_value}}}"#),
            &payload,
        );
        assert_code(&v, &t, "malformed", b64_value);
    }
}

// ---------------------------------------------------------------------------------------------
// Messages never carry the token, secrets or key material.

#[test]
fn error_messages_never_contain_the_token_or_key_material() {
    let rsa = jwk(RSA_PRIVATE_JWK);
    let ec = jwk(P256_PRIVATE_JWK);
    let mut forbidden: Vec<String> = vec![
        HMAC_SECRET.to_owned(),
        HMAC_SECRET[..16].to_owned(),
        b64(HMAC_SECRET),
        ATTACKER_HMAC_SECRET[..16].to_owned(),
    ];
    for member in ["n", "d", "p", "q"] {
        forbidden.push(rsa[member].as_str().unwrap()[..16].to_owned());
    }
    for member in ["x", "y", "d"] {
        forbidden.push(ec[member].as_str().unwrap()[..16].to_owned());
    }
    let v = validator(&policy_json(
        &["HS256", "RS256", "ES256"],
        Some(HMAC_SECRET),
        &[
            with_params(public_jwk(RSA_PRIVATE_JWK), Some("rsa"), None),
            with_params(public_jwk(P256_PRIVATE_JWK), Some("ec"), None),
        ],
        json!({"issuer": "https://issuer", "audience": "api"}),
    ));
    let good = claims_with(json!({"iss": "https://issuer", "aud": "api"}));
    let valid = token(&hs256(), &good);
    let attacker = hmac_signer(ATTACKER_HMAC_SECRET.as_bytes(), Alg::HS256);
    let tokens = [
        token(&attacker, &good),
        with_payload(&valid, "{\"sub\":\"admin\"}"),
        format!("{valid}."),
        valid.replace('.', ". "),
        sign_json(
            &hs256(),
            &json!({"alg": "HS256", "kid": "../../etc/passwd"}),
            &good,
        ),
        sign_json(&hs256(), &json!({"alg": "HS256", "kid": "rsa"}), &good),
        sign_json(&hs256(), &json!({"alg": "HS256", "crit": ["x"]}), &good),
        sign_json(&hs256(), &json!({"alg": "none"}), &good),
        token(
            &hs256(),
            &claims_with(json!({"iss": "https://secret-issuer-name"})),
        ),
        token(
            &hs256(),
            &claims_with(json!({"iss": "https://issuer", "aud": "secret-aud"})),
        ),
        token(
            &hs256(),
            &claims_with(json!({"iss": "https://issuer", "aud": "api", "exp": "secret-exp"})),
        ),
        sign_text(
            &hs256(),
            r#"{"alg":"HS256"}"#,
            r#"{"secret-member":1,"secret-member":2}"#,
        ),
        sign_text(&hs256(), r#"{"alg":"HS256"}"#, "secret plain text payload"),
        "!".repeat(9000),
    ];
    for t in &tokens {
        let err = v.verify(t, NOW).unwrap_err();
        let mut forbidden = forbidden.clone();
        forbidden.push(t.clone());
        for segment in t.split('.').filter(|s| s.len() >= 12) {
            forbidden.push(segment.to_owned());
        }
        forbidden.extend(
            [
                "secret-issuer-name",
                "secret-aud",
                "secret-exp",
                "secret-member",
                "secret plain",
            ]
            .map(String::from),
        );
        forbidden.push("etc/passwd".into());
        assert_clean(err.code().code(), err.message(), &forbidden);
        assert_clean(err.code().code(), &err.to_string(), &forbidden);
    }
    // Nor does the validator's Debug form.
    assert_clean("Debug of Validator", &format!("{v:?}"), &forbidden);
}
