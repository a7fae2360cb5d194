//! Configuration errors: invalid policies are `config_error` (HTTP 500) naming the field, and their
//! messages never carry secrets or key values.

mod common;

use common::*;
use edge_jwt::{ErrorCode, Validator};
use serde_json::{json, Value};

#[test]
fn invalid_configs_are_config_errors() {
    let rsa = public_jwk(RSA_PRIVATE_JWK);
    let short_rsa = json!({"kty": "RSA", "e": "AQAB", "n": b64([0xC5_u8; 128])});
    let configs = [
        (
            "ES512 not built in",
            policy_json(&["ES512"], Some(HMAC_SECRET), &[], Value::Null),
        ),
        (
            "no algorithm",
            policy_json(&[], Some(HMAC_SECRET), &[], Value::Null),
        ),
        ("no key", policy_json(&["HS256"], None, &[], Value::Null)),
        (
            "short secret",
            policy_json(
                &["HS256"],
                Some("0123456789012345678901234567890"),
                &[],
                Value::Null,
            ),
        ),
        (
            "HS512 with a 48-byte secret",
            policy_json(&["HS512"], Some(&HMAC_SECRET[..48]), &[], Value::Null),
        ),
        (
            "HS256 allowed, RSA key only",
            policy_json(
                &["RS256", "HS256"],
                None,
                std::slice::from_ref(&rsa),
                Value::Null,
            ),
        ),
        (
            "key serving nothing allowed",
            policy_json(
                &["HS256"],
                Some(HMAC_SECRET),
                std::slice::from_ref(&rsa),
                Value::Null,
            ),
        ),
        (
            "1024-bit RSA",
            policy_json(&["RS256"], None, &[short_rsa], Value::Null),
        ),
        (
            "key alg of another family",
            policy_json(
                &["RS256"],
                None,
                &[with_params(rsa.clone(), None, Some("ES256"))],
                Value::Null,
            ),
        ),
        (
            "duplicate kid",
            policy_json(
                &["RS256"],
                None,
                &[
                    with_params(rsa.clone(), Some("a"), None),
                    with_params(rsa, Some("a"), None),
                ],
                Value::Null,
            ),
        ),
        (
            "unknown field",
            policy_json(
                &["HS256"],
                Some(HMAC_SECRET),
                &[],
                json!({"audiance": "api"}),
            ),
        ),
        (
            "leeway too large",
            policy_json(&["HS256"], Some(HMAC_SECRET), &[], json!({"leeway_s": 301})),
        ),
        (
            "max_token_bytes too small",
            policy_json(
                &["HS256"],
                Some(HMAC_SECRET),
                &[],
                json!({"max_token_bytes": 255}),
            ),
        ),
        (
            "max_token_bytes too large",
            policy_json(
                &["HS256"],
                Some(HMAC_SECRET),
                &[],
                json!({"max_token_bytes": 65_537}),
            ),
        ),
        (
            "unknown tracks mode",
            policy_json(
                &["HS256"],
                Some(HMAC_SECRET),
                &[],
                json!({"tracks": {"unknown": "allow"}}),
            ),
        ),
        ("not JSON", "{".to_owned()),
    ];
    for (what, config) in configs {
        let err = Validator::from_json(&config)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(err.code(), ErrorCode::ConfigError, "{what}: {err}");
        assert_eq!(err.status(), 500, "{what}");
    }
    let err = Validator::from_json(&policy_json(
        &["HS256"],
        Some(HMAC_SECRET),
        &[],
        json!({"audiance": "api"}),
    ))
    .unwrap_err();
    assert!(
        err.message().contains("audiance"),
        "the error names the field: {err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Config error messages never carry secrets or key material.

#[test]
fn config_error_messages_never_contain_secrets_or_key_values() {
    let short = "short-secret-of-31-bytes-ABCDEF";
    assert_eq!(short.len(), 31);
    let err =
        Validator::from_json(&policy_json(&["HS256"], Some(short), &[], Value::Null)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert_clean(
        "short secret",
        err.message(),
        &[short.to_owned(), short[..10].to_owned()],
    );

    // A well-formed but unusable key (off the curve): the path is named, the values are not.
    let mut bad_ec = public_jwk(P256_PRIVATE_JWK);
    let x = bad_ec["x"].as_str().unwrap().to_owned();
    bad_ec["y"] = json!(x.clone());
    let err =
        Validator::from_json(&policy_json(&["ES256"], None, &[bad_ec], Value::Null)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigError);
    assert!(err.message().starts_with("keys[0]"), "{err}");
    assert_clean("off-curve EC key", err.message(), &[x[..16].to_owned()]);

    // A short RSA modulus.
    let short_rsa = json!({"kty": "RSA", "e": "AQAB", "n": b64([0xC5_u8; 128])});
    let n = short_rsa["n"].as_str().unwrap()[..16].to_owned();
    let err = Validator::from_json(&policy_json(&["RS256"], None, &[short_rsa], Value::Null))
        .unwrap_err();
    assert_clean("1024-bit RSA key", err.message(), &[n]);
}

/// A secret `k` or private `d` that is not valid base64url (a typo, a pasted secret with a
/// space) must not be echoed into the config error, which the CLI prints and hosts log.
#[test]
fn config_error_messages_never_echo_a_malformed_secret_key_value() {
    let typo_secret = "my-real-hmac-secret-with-a-space inside-0123456789";
    let typo_d = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9L!";
    let cases = [
        (
            "oct k",
            json!({"kty": "oct", "k": typo_secret}),
            "HS256",
            typo_secret,
        ),
        (
            "EC d",
            with_params(public_jwk(P256_PRIVATE_JWK), None, None)
                .as_object()
                .cloned()
                .map(|mut o| {
                    o.insert("d".into(), typo_d.into());
                    Value::Object(o)
                })
                .unwrap(),
            "ES256",
            typo_d,
        ),
    ];
    for (what, key, alg, value) in cases {
        // Written by hand: policy_json would strip the private member this case is about.
        let config = json!({"algorithms": [alg], "keys": [key]}).to_string();
        let err = Validator::from_json(&config).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigError, "{what}");
        assert_clean(
            what,
            err.message(),
            &[value.to_owned(), value[..12].to_owned()],
        );
        let err = edge_jwt::Signer::from_jwk(&key.to_string(), None).unwrap_err();
        assert_clean(
            what,
            err.message(),
            &[value.to_owned(), value[..12].to_owned()],
        );
    }
}

#[test]
fn a_private_key_among_the_verification_keys_is_a_config_error() {
    // A validator needs only public keys; a private one there is a leak waiting to happen.
    for (private, alg) in [
        (RSA_PRIVATE_JWK, "RS256"),
        (P256_PRIVATE_JWK, "ES256"),
        (ED25519_PRIVATE_JWK, "EdDSA"),
    ] {
        let config = json!({"algorithms": [alg], "keys": [jwk(private)]}).to_string();
        let err = Validator::from_json(&config).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigError, "{alg}");
        assert!(err.message().starts_with("keys[0].d: "), "{alg}: {err}");
        assert!(err.message().contains("private key"), "{alg}: {err}");
        // Its public part is fine.
        let config = json!({"algorithms": [alg], "keys": [public_jwk(private)]}).to_string();
        assert!(Validator::from_json(&config).is_ok(), "{alg}");
    }
    // RSA's CRT members alone give the key away as well.
    let mut crt_only = public_jwk(RSA_PRIVATE_JWK);
    crt_only["p"] = jwk(RSA_PRIVATE_JWK)["p"].clone();
    let config = json!({"algorithms": ["RS256"], "keys": {"keys": [crt_only]}}).to_string();
    let err = Validator::from_json(&config).unwrap_err();
    assert!(err.message().starts_with("keys.keys[0].p: "), "{err}");
}
