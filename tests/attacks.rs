//! Attack and rejection tests: at least one test per error code, and every attack listed in
//! issue 3 ("How it is shown to work"). Tokens are assembled by hand (tests/common) so that
//! headers and payloads the minting API would never produce can be signed.

mod common;

use std::cell::Cell;
use std::time::{Duration, Instant};

use common::*;
use edge_jwt::keys::MAX_KEYS_WITHOUT_KID;
use edge_jwt::verify::verify_signature;
use edge_jwt::{Alg, Error, ErrorCode, RevocationList, RevocationStatus, Validator};
use serde_json::{json, Value};

fn ec_validator(extra: Value) -> Validator {
    validator(&policy_json(
        &["ES256"],
        None,
        &[public_jwk(P256_PRIVATE_JWK)],
        extra,
    ))
}

fn es256() -> edge_jwt::Signer {
    signer(P256_PRIVATE_JWK, Alg::ES256)
}

fn assert_code(v: &Validator, token: &str, expected: &str, what: &str) {
    let result = v.verify(token, NOW);
    assert_eq!(
        code(&result),
        expected,
        "{what}: {:?}",
        result.as_ref().err().map(Error::message)
    );
}

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
// ECDSA signature values (CVE-2022-21449 and friends).

fn es256_parts(token: &str) -> ([u8; 32], [u8; 32]) {
    let sig = unb64(segments(token)[2]);
    assert_eq!(sig.len(), 64);
    (sig[..32].try_into().unwrap(), sig[32..].try_into().unwrap())
}

fn rs(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    [r.as_slice(), s.as_slice()].concat()
}

#[test]
fn ecdsa_zero_and_out_of_range_scalars_are_bad_signature() {
    let v = ec_validator(Value::Null);
    let good = token(&es256(), &claims());
    assert_code(&v, &good, "ok", "control");
    let (r, s) = es256_parts(&good);
    let zero = [0_u8; 32];
    let mut n_plus_1 = P256_ORDER;
    n_plus_1[31] += 1;
    let max = [0xFF_u8; 32];
    let cases: [(&str, Vec<u8>); 9] = [
        ("r = s = 0 (psychic signature)", vec![0; 64]),
        ("r = 0", rs(&zero, &s)),
        ("s = 0", rs(&r, &zero)),
        ("r = n", rs(&P256_ORDER, &s)),
        ("s = n", rs(&r, &P256_ORDER)),
        ("r = s = n", rs(&P256_ORDER, &P256_ORDER)),
        ("r = n + 1", rs(&n_plus_1, &s)),
        ("s = 2^256 - 1", rs(&r, &max)),
        ("r = s = 2^256 - 1", rs(&max, &max)),
    ];
    let key = &v.policy().keys.keys()[0];
    let input = good.rsplit_once('.').unwrap().0;
    for (what, sig) in cases {
        assert_code(&v, &with_signature(&good, &sig), "bad_signature", what);
        assert!(
            !verify_signature(Alg::ES256, key, input.as_bytes(), &sig),
            "{what}"
        );
    }
}

#[test]
fn ecdsa_signatures_of_the_wrong_length_or_der_form_are_bad_signature() {
    let v = ec_validator(Value::Null);
    let good = token(&es256(), &claims());
    let sig = unb64(segments(&good)[2]);
    // ASN.1 DER form of the same (r, s): what a non-JOSE library would emit.
    let der = |x: &[u8]| {
        let mut v = x.to_vec();
        while v.len() > 1 && v[0] == 0 && v[1] < 0x80 {
            v.remove(0);
        }
        if v[0] >= 0x80 {
            v.insert(0, 0);
        }
        v
    };
    let (r, s) = (der(&sig[..32]), der(&sig[32..]));
    let mut der_sig = vec![0x30, (r.len() + s.len() + 4) as u8, 0x02, r.len() as u8];
    der_sig.extend(&r);
    der_sig.extend([0x02, s.len() as u8]);
    der_sig.extend(&s);
    let cases: [(&str, Vec<u8>); 5] = [
        ("63 bytes", sig[..63].to_vec()),
        ("65 bytes", [sig.as_slice(), &[0]].concat()),
        ("r only", sig[..32].to_vec()),
        ("1 byte", vec![1]),
        ("DER", der_sig),
    ];
    for (what, bad) in cases {
        assert_code(&v, &with_signature(&good, &bad), "bad_signature", what);
    }
    // Ed25519 and HMAC with truncated or extended signatures: no panic, bad_signature.
    let ed = validator(&policy_json(
        &["EdDSA"],
        None,
        &[public_jwk(ED25519_PRIVATE_JWK)],
        Value::Null,
    ));
    let ed_good = token(&signer(ED25519_PRIVATE_JWK, Alg::EdDSA), &claims());
    let ed_sig = unb64(segments(&ed_good)[2]);
    for len in [1, 32, 63, 65, 128] {
        let mut bad = ed_sig.clone();
        bad.resize(len, 0);
        assert_code(
            &ed,
            &with_signature(&ed_good, &bad),
            "bad_signature",
            "Ed25519 length",
        );
    }
    let hs = hs256_validator(Value::Null);
    let hs_good = token(&hs256(), &claims());
    let hs_sig = unb64(segments(&hs_good)[2]);
    for len in [1, 16, 31, 33, 64] {
        let mut bad = hs_sig.clone();
        bad.resize(len, 0);
        assert_code(
            &hs,
            &with_signature(&hs_good, &bad),
            "bad_signature",
            "HMAC length",
        );
    }
}

/// JOSE (RFC 7518 3.4) does not require low-s, and neither does edge-jwt: the p256 backend
/// accepts both (r, s) and (r, n - s). jwt-compact's signer does not normalize s, so either
/// form may come out of `issue`. Accepting the high-s twin is not a forgery (it needs a valid
/// signature first) but it makes signatures malleable: never use a token's signature bytes as
/// its identity (use `jti`). If this ever starts to fail, the backend began enforcing low-s.
#[test]
fn ecdsa_high_s_twin_of_a_valid_signature_is_accepted() {
    let v = ec_validator(Value::Null);
    for i in 0..4 {
        let t = token(
            &es256(),
            &claims_with(json!({"jti": format!("high-s-{i}")})),
        );
        let (r, s) = es256_parts(&t);
        let twin = with_signature(&t, &rs(&r, &sub_be32(&P256_ORDER, &s)));
        assert_ne!(twin, t);
        assert_code(&v, &t, "ok", "original");
        assert_code(&v, &twin, "ok", "(r, n - s) twin");
    }
}

/// RFC 8032 5.1.7 requires S < L: the twin (R, S + L) of a valid Ed25519 signature satisfies the
/// group equation but is non-canonical, and must be refused (no signature malleability).
#[test]
fn ed25519_non_canonical_s_is_bad_signature() {
    let v = validator(&policy_json(
        &["EdDSA"],
        None,
        &[public_jwk(ED25519_PRIVATE_JWK)],
        Value::Null,
    ));
    let t = token(&signer(ED25519_PRIVATE_JWK, Alg::EdDSA), &claims());
    assert_code(&v, &t, "ok", "control");
    let sig = unb64(segments(&t)[2]);
    let twin = [&sig[..32], &add_le32(&sig[32..], &ED25519_ORDER_LE)[..]].concat();
    assert_code(&v, &with_signature(&t, &twin), "bad_signature", "S + L");
    let s_is_l = [&sig[..32], &ED25519_ORDER_LE[..]].concat();
    assert_code(&v, &with_signature(&t, &s_is_l), "bad_signature", "S = L");
}

/// A small-order Ed25519 public key (here the identity point) would let (R = identity, S = 0)
/// verify for every message under cofactorless verification. Such a key is either refused at
/// load or never verifies the forgery.
#[test]
fn ed25519_small_order_public_key_never_accepts_the_trivial_forgery() {
    let mut identity = [0_u8; 32];
    identity[0] = 1;
    let key = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(identity)});
    match Validator::from_json(&policy_json(&["EdDSA"], None, &[key], Value::Null)) {
        Err(e) => assert_eq!(e.code(), ErrorCode::ConfigError, "{e}"),
        Ok(v) => {
            let input = format!(
                "{}.{}",
                b64(r#"{"alg":"EdDSA"}"#),
                b64(claims().to_string())
            );
            let forged = format!("{input}.{}", b64([&identity[..], &[0_u8; 32][..]].concat()));
            assert_code(
                &v,
                &forged,
                "bad_signature",
                "identity key, trivial signature",
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stripped, foreign and tampered signatures.

#[test]
fn stripped_signature_is_never_accepted() {
    let v = hs256_validator(Value::Null);
    let t = token(&hs256(), &claims());
    let stripped = format!("{}.", t.rsplit_once('.').unwrap().0);
    let result = v.verify(&stripped, NOW);
    assert!(
        ["bad_signature", "malformed"].contains(&code(&result)),
        "{}",
        code(&result)
    );
}

#[test]
fn stripped_signature_is_bad_signature() {
    let v = hs256_validator(Value::Null);
    let t = token(&hs256(), &claims());
    let stripped = format!("{}.", t.rsplit_once('.').unwrap().0);
    assert_code(&v, &stripped, "bad_signature", "empty third segment");
}

#[test]
fn foreign_signatures_are_bad_signature() {
    let cases = [
        (
            hs256_validator(Value::Null),
            hmac_signer(ATTACKER_HMAC_SECRET.as_bytes(), Alg::HS256),
        ),
        (
            ec_validator(Value::Null),
            signer(ATTACKER_P256_PRIVATE_JWK, Alg::ES256),
        ),
        (
            validator(&policy_json(
                &["EdDSA"],
                None,
                &[public_jwk(ED25519_PRIVATE_JWK)],
                Value::Null,
            )),
            signer(ATTACKER_ED25519_PRIVATE_JWK, Alg::EdDSA),
        ),
        (
            validator(&policy_json(
                &["RS256"],
                None,
                &[public_jwk(RSA_PRIVATE_JWK)],
                Value::Null,
            )),
            signer(ATTACKER_RSA_PRIVATE_JWK, Alg::RS256),
        ),
    ];
    for (v, attacker) in &cases {
        let t = token(attacker, &claims());
        assert_code(v, &t, "bad_signature", attacker.alg().name());
    }
    // A genuine signature moved onto another genuine token's input.
    let v = hs256_validator(Value::Null);
    let a = token(&hs256(), &claims());
    let b = token(&hs256(), &claims_with(json!({"sub": "bob"})));
    let moved = with_signature(&a, &unb64(segments(&b)[2]));
    assert_code(&v, &moved, "bad_signature", "signature of another token");
}

#[test]
fn tampered_payload_or_header_is_bad_signature() {
    let v = hs256_validator(Value::Null);
    let t = token(&hs256(), &claims());
    let promoted = claims_with(json!({"sub": "admin"}));
    assert_code(
        &v,
        &with_payload(&t, &promoted.to_string()),
        "bad_signature",
        "payload",
    );
    let [_, p, s] = segments(&t);
    let header = b64(json!({"alg": "HS256", "typ": "JWT", "kid": "x"}).to_string());
    assert_code(&v, &format!("{header}.{p}.{s}"), "bad_signature", "header");
}

/// The order of checks: a tampered or forged token reports bad_signature whatever its claims
/// say, so the answer never reveals claim checks on unauthenticated data.
#[test]
fn tampered_tokens_report_bad_signature_before_any_claim_problem() {
    let v = hs256_validator(json!({"issuer": "https://issuer", "audience": "api"}));
    let good = claims_with(json!({"iss": "https://issuer", "aud": "api"}));
    let t = token(&hs256(), &good);
    assert_code(&v, &t, "ok", "control");
    let bad_claims = [
        ("expired", json!({"exp": NOW - 3600, "iat": NOW - 7200})),
        ("not yet valid", json!({"nbf": NOW + 3600})),
        (
            "iat in future",
            json!({"iat": NOW + 3600, "exp": NOW + 4000}),
        ),
        ("bad issuer", json!({"iss": "https://evil"})),
        ("bad audience", json!({"aud": "other"})),
        ("missing jti", json!({"jti": null})),
        ("exp as string", json!({"exp": "soon"})),
        (
            "ttl exceeds track",
            json!({"track": 4, "exp": NOW + 86_400}),
        ),
        ("invalid track", json!({"track": true})),
    ];
    let attacker = hmac_signer(ATTACKER_HMAC_SECRET.as_bytes(), Alg::HS256);
    for (what, change) in bad_claims {
        let mut payload = good.clone();
        for (k, val) in change.as_object().unwrap() {
            if val.is_null() {
                payload.as_object_mut().unwrap().remove(k);
            } else {
                payload[k] = val.clone();
            }
        }
        // Signed properly, the claim problem is reported…
        let honest = code(&v.verify(&token(&hs256(), &payload), NOW));
        assert!(
            !["ok", "bad_signature"].contains(&honest),
            "{what}: {honest}"
        );
        // …tampered in place or signed by another key, only bad_signature.
        assert_code(
            &v,
            &with_payload(&t, &payload.to_string()),
            "bad_signature",
            what,
        );
        assert_code(&v, &token(&attacker, &payload), "bad_signature", what);
        // Payload that is not even JSON, under a tampered signature: still bad_signature.
        assert_code(
            &v,
            &with_payload(&t, "not json at all"),
            "bad_signature",
            "non-JSON payload",
        );
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
// Structure: segments, padding, whitespace, alphabet.

#[test]
fn wrong_number_of_segments_is_malformed() {
    let v = hs256_validator(Value::Null);
    let t = token(&hs256(), &claims());
    let [h, p, s] = segments(&t);
    let cases = [
        ("1 segment", h.to_owned()),
        ("2 segments", format!("{h}.{p}")),
        ("4 segments", format!("{h}.{p}.{s}.{s}")),
        ("4 segments, empty last", format!("{t}.")),
        ("5 segments (JWE-like)", format!("{h}.{p}.{s}.{p}.{s}")),
        ("empty", String::new()),
        ("dots only", "..".to_owned()),
        ("four dots", "....".to_owned()),
        ("leading dot", format!(".{t}")),
    ];
    for (what, bad) in cases {
        assert_code(&v, &bad, "malformed", what);
    }
}

#[test]
fn padding_whitespace_and_foreign_characters_are_malformed() {
    let v = hs256_validator(Value::Null);
    let t = token(&hs256(), &claims());
    assert_code(&v, &t, "ok", "control");
    let [h, p, s] = segments(&t);
    let mut cases: Vec<(String, String)> = Vec::new();
    // "=" padding: as standard base64 would add it, and stray ones.
    let pad = |seg: &str| format!("{seg}{}", "=".repeat((4 - seg.len() % 4) % 4));
    cases.push(("padded signature".into(), format!("{h}.{p}.{}", pad(s))));
    cases.push((
        "padded everything".into(),
        format!("{}.{}.{}", pad(h), pad(p), pad(s)),
    ));
    for (i, seg) in ["header", "payload", "signature"].iter().enumerate() {
        let mut parts = [h.to_owned(), p.to_owned(), s.to_owned()];
        parts[i].push('=');
        cases.push((format!("= after {seg}"), parts.join(".")));
        parts[i].push('=');
        cases.push((format!("== after {seg}"), parts.join(".")));
        let mut parts = [h.to_owned(), p.to_owned(), s.to_owned()];
        parts[i].insert(4, '=');
        cases.push((format!("= inside {seg}"), parts.join(".")));
    }
    // Whitespace around and inside.
    for ws in [" ", "\n", "\t", "\r\n", "\r", "\u{a0}", "\u{2028}"] {
        let name = format!("{ws:?}");
        cases.push((format!("leading {name}"), format!("{ws}{t}")));
        cases.push((format!("trailing {name}"), format!("{t}{ws}")));
        cases.push((format!("{name} after dots"), format!("{h}.{ws}{p}.{ws}{s}")));
        cases.push((
            format!("{name} before dots"),
            format!("{h}{ws}.{p}{ws}.{s}"),
        ));
        for (i, seg) in ["header", "payload", "signature"].iter().enumerate() {
            let mut parts = [h.to_owned(), p.to_owned(), s.to_owned()];
            parts[i].insert_str(8, ws);
            cases.push((format!("{name} inside {seg}"), parts.join(".")));
        }
    }
    // Other characters.
    for c in ["\u{0}", "!", "*", "~", "%3D", "é", "\u{feff}"] {
        cases.push((format!("{c:?} inside payload"), format!("{h}.{c}{p}.{s}")));
    }
    for (what, bad) in cases {
        assert_ne!(bad, t);
        assert_code(&v, &bad, "malformed", &what);
    }
}

#[test]
fn standard_base64_alphabet_is_malformed() {
    let v = hs256_validator(Value::Null);
    // Find (deterministically) a token whose segments use both '-' and '_'.
    let t = (0..1000)
        .map(|i| token(&hs256(), &claims_with(json!({"n": "~~~??>>>", "i": i}))))
        .find(|t| t.contains('-') && t.contains('_'))
        .expect("a token using both url-safe characters");
    assert_code(&v, &t, "ok", "control");
    let standard = t.replace('-', "+").replace('_', "/");
    assert_code(&v, &standard, "malformed", "+ and / alphabet");
    for (i, c) in t
        .char_indices()
        .filter(|(_, c)| *c == '-' || *c == '_')
        .take(3)
    {
        let mut one = t.clone();
        one.replace_range(i..i + 1, if c == '-' { "+" } else { "/" });
        assert_code(&v, &one, "malformed", "one standard-alphabet character");
    }
}

#[test]
fn non_canonical_trailing_bits_are_malformed() {
    // A 32-byte HMAC signature is 43 characters: the last one carries 2 unused bits, which a
    // strict decoder requires to be zero. Setting one gives the same bytes in another spelling.
    let v = hs256_validator(Value::Null);
    let t = token(&hs256(), &claims());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = *t.as_bytes().last().unwrap();
    let index = alphabet.iter().position(|c| *c == last).unwrap();
    assert_eq!(index & 0b11, 0, "canonical encoding has zero trailing bits");
    let mut bad = t.clone();
    bad.pop();
    bad.push(alphabet[index | 1] as char);
    assert_code(&v, &bad, "malformed", "non-zero trailing bits");
}

// ---------------------------------------------------------------------------------------------
// Size limits.

#[test]
fn one_mebibyte_token_is_too_large_before_any_decoding() {
    let v = hs256_validator(Value::Null);
    let t = token(&hs256(), &claims());
    let [h, _, s] = segments(&t);
    let big = format!("{h}.{}.{s}", "A".repeat(1 << 20));
    // Garbage that is not even a JWS: still too_large, because size is checked first.
    let garbage = "!".repeat(1 << 20);
    for (what, bad) in [("1 MiB payload", &big), ("1 MiB garbage", &garbage)] {
        let start = Instant::now();
        for _ in 0..100 {
            assert_code(&v, bad, "too_large", what);
        }
        // 100 rejections of a 1 MiB token: a length check, not a decode of 100 MiB.
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{what}: {:?} for 100 rejections",
            start.elapsed()
        );
    }
}

/// A token of exactly `len` bytes: the standard claims padded by a filler claim, and a filler
/// header member to reach lengths that base64url cannot hit with the payload alone.
fn token_of_length(len: usize) -> String {
    for header_filler in 0..4 {
        let header = json!({"alg": "HS256", "f": "h".repeat(header_filler)});
        let base = sign_json(&hs256(), &header, &claims_with(json!({"pad": ""}))).len();
        if base > len {
            break;
        }
        let estimate = ((len - base) * 3 / 4).saturating_sub(4);
        for pad in estimate..estimate + 12 {
            let t = sign_json(
                &hs256(),
                &header,
                &claims_with(json!({"pad": "p".repeat(pad)})),
            );
            if t.len() == len {
                return t;
            }
        }
    }
    panic!("no token of length {len}");
}

#[test]
fn token_of_exactly_max_token_bytes_is_accepted_and_one_more_is_too_large() {
    for (max, extra) in [
        (8192, Value::Null),
        (1024, json!({"max_token_bytes": 1024})),
        (65_536, json!({"max_token_bytes": 65_536})),
    ] {
        let v = hs256_validator(extra);
        let exact = token_of_length(max);
        assert_eq!(exact.len(), max);
        assert_code(&v, &exact, "ok", &format!("{max} bytes"));
        let over = token_of_length(max + 1);
        assert_code(&v, &over, "too_large", &format!("{} bytes", max + 1));
    }
}

// ---------------------------------------------------------------------------------------------
// Deeply nested JSON.

/// `{"alg":"HS256","n":[[…]]}` / `{…claims…,"n":[[…]]}` with `levels` levels in all (the
/// enclosing object is level 1).
fn nested(levels: usize) -> String {
    let inner = levels - 1;
    format!("{}{}", "[".repeat(inner), "]".repeat(inner))
}

#[test]
fn json_nested_beyond_the_limit_is_malformed_in_header_and_payload() {
    let v = hs256_validator(Value::Null);
    let max = edge_jwt::json::MAX_JSON_DEPTH;
    assert_eq!(max, 16);
    let payload = |levels: usize| {
        let mut text = claims().to_string();
        text.pop();
        format!("{text},\"n\":{}}}", nested(levels))
    };
    let header = |levels: usize| format!(r#"{{"alg":"HS256","n":{}}}"#, nested(levels));
    let ok_header = r#"{"alg":"HS256"}"#;
    let ok_payload = claims().to_string();
    assert_code(
        &v,
        &sign_text(&hs256(), &header(max), &ok_payload),
        "ok",
        "16-level header",
    );
    assert_code(
        &v,
        &sign_text(&hs256(), ok_header, &payload(max)),
        "ok",
        "16-level payload",
    );
    for levels in [max + 1, max + 2, 64, 129, 1000] {
        assert_code(
            &v,
            &sign_text(&hs256(), &header(levels), &ok_payload),
            "malformed",
            &format!("{levels}-level header"),
        );
        assert_code(
            &v,
            &sign_text(&hs256(), ok_header, &payload(levels)),
            "malformed",
            &format!("{levels}-level payload"),
        );
    }
    // Objects rather than arrays.
    let objects = format!(
        r#"{{"alg":"HS256","n":{}1{}}}"#,
        r#"{"a":"#.repeat(max),
        "}".repeat(max)
    );
    assert_code(
        &v,
        &sign_text(&hs256(), &objects, &ok_payload),
        "malformed",
        "nested objects",
    );
}

#[test]
fn json_nested_100000_levels_is_refused_without_stack_overflow() {
    let deep = nested(100_000);
    let header = format!(r#"{{"alg":"HS256","n":{deep}}}"#);
    let mut payload = claims().to_string();
    payload.pop();
    let payload = format!("{payload},\"n\":{deep}}}");
    let ok_payload = claims().to_string();

    // Past the size limit through verify (largest allowed limit)…
    let v = hs256_validator(json!({"max_token_bytes": 65_536}));
    assert_code(
        &v,
        &sign_text(&hs256(), &header, &ok_payload),
        "too_large",
        "100000-level header",
    );
    // …so the parser is driven directly with no size limit.
    let err = edge_jwt::token::parse(
        &sign_text(&hs256(), &header, &ok_payload),
        usize::MAX,
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed, "{err}");
    assert!(edge_jwt::json::parse_object(payload.as_bytes()).is_err());
    // Unbalanced: 100000 openings and no closing.
    let open = format!(r#"{{"n":{}"#, "[".repeat(100_000));
    assert!(edge_jwt::json::parse_object(open.as_bytes()).is_err());

    // The deepest signed payload that fits the largest limit, through verify.
    let fits = nested(24_000);
    let mut payload = claims().to_string();
    payload.pop();
    let payload = format!("{payload},\"n\":{fits}}}");
    let t = sign_text(&hs256(), r#"{"alg":"HS256"}"#, &payload);
    assert!(t.len() <= 65_536, "{}", t.len());
    assert_code(&v, &t, "malformed", "24000-level payload");
}

// ---------------------------------------------------------------------------------------------
// Duplicate member names.

#[test]
fn duplicate_claim_names_are_malformed() {
    let v = hs256_validator(Value::Null);
    let base = claims().to_string();
    let body = &base[1..base.len() - 1];
    let payloads = [
        format!(r#"{{{body},"sub":"admin"}}"#),
        format!(r#"{{"sub":"admin",{body}}}"#),
        format!(r#"{{{body},"exp":{}}}"#, NOW + 999_999),
        format!(r#"{{{body},"track":4}}"#),
        format!(r#"{{{body},"\u0065xp":{}}}"#, NOW + 1),
        format!(r#"{{{body},"x":{{"a":1,"a":2}}}}"#),
        format!(r#"{{{body},"x":[{{"a":1,"a":1}}]}}"#),
        // Names the validator does not read are checked all the same.
        format!(r#"{{{body},"name":"a","name":"b"}}"#),
        format!(r#"{{{body},"name":1,"name":2}}"#),
    ];
    for payload in &payloads {
        let t = sign_text(&hs256(), r#"{"alg":"HS256"}"#, payload);
        assert_code(&v, &t, "malformed", payload);
    }
    // Control: the same payload without duplicates verifies.
    assert_code(
        &v,
        &sign_text(&hs256(), r#"{"alg":"HS256"}"#, &base),
        "ok",
        "control",
    );
}

#[test]
fn escaped_claim_names_are_read_as_the_claims_they_spell() {
    let v = hs256_validator(Value::Null);
    // `exp` spelled with an escape, and already past: the validator must read it as exp.
    let expired = claims_with(json!({"iat": NOW - 600, "exp": NOW - 300}))
        .to_string()
        .replace(r#""exp":"#, r#""\u0065xp":"#);
    assert!(expired.contains(r#""\u0065xp":"#), "{expired}");
    let t = sign_text(&hs256(), r#"{"alg":"HS256"}"#, &expired);
    assert_code(&v, &t, "expired", &expired);
}

#[test]
fn a_required_claim_spelled_with_an_escape_is_present() {
    let v = hs256_validator(json!({"required_claims": ["exp", "jti", "scope"]}));
    let with_scope = claims_with(json!({"scope": "read"}))
        .to_string()
        .replace(r#""scope":"#, r#""sc\u006fpe":"#);
    assert!(with_scope.contains(r#""sc\u006fpe":"#), "{with_scope}");
    let t = sign_text(&hs256(), r#"{"alg":"HS256"}"#, &with_scope);
    assert_code(&v, &t, "ok", &with_scope);
    let t = sign_text(&hs256(), r#"{"alg":"HS256"}"#, &claims().to_string());
    assert_code(&v, &t, "missing_claim", "no scope");
}

#[test]
fn duplicate_header_names_are_malformed() {
    let v = hs256_validator(Value::Null);
    let payload = claims().to_string();
    for header in [
        r#"{"alg":"HS256","alg":"none"}"#,
        r#"{"alg":"none","alg":"HS256"}"#,
        r#"{"alg":"HS256","alg":"HS256"}"#,
        r#"{"alg":"HS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#,
        r#"{"alg":"HS256","\u0061lg":"HS256"}"#,
        r#"{"alg":"HS256","crit":["x"],"crit":["x"]}"#,
    ] {
        assert_code(
            &v,
            &sign_text(&hs256(), header, &payload),
            "malformed",
            header,
        );
    }
}

#[test]
fn header_and_payload_must_be_json_objects() {
    let v = hs256_validator(Value::Null);
    let payload = claims().to_string();
    for header in [
        "[]",
        "\"HS256\"",
        "null",
        "",
        "{",
        "{\"alg\":\"HS256\"} {}",
        "{\"alg\":\"HS256\"}x",
    ] {
        assert_code(
            &v,
            &sign_text(&hs256(), header, &payload),
            "malformed",
            header,
        );
    }
    for payload in ["[]", "1", "null", "", "{", "{} {}", "\u{feff}{}"] {
        assert_code(
            &v,
            &sign_text(&hs256(), r#"{"alg":"HS256"}"#, payload),
            "malformed",
            payload,
        );
    }
    // Invalid UTF-8 in a signed header or payload.
    let t = sign_bytes(
        &hs256(),
        b"{\"alg\":\"HS256\",\"x\":\"\xff\"}",
        payload.as_bytes(),
    );
    assert_code(&v, &t, "malformed", "invalid UTF-8 header");
    let t = sign_bytes(&hs256(), br#"{"alg":"HS256"}"#, b"{\"x\":\"\xc3\x28\"}");
    assert_code(&v, &t, "malformed", "invalid UTF-8 payload");
}

// ---------------------------------------------------------------------------------------------
// NumericDate claims.

fn signed_raw_payload(payload: &str) -> String {
    sign_text(&hs256(), r#"{"alg":"HS256","typ":"JWT"}"#, payload)
}

#[test]
fn exp_of_the_wrong_type_or_range_is_invalid_claim() {
    let v = hs256_validator(Value::Null);
    for exp in [
        "\"1700000600\"",
        "-1",
        "-0.5",
        "1e300",
        "253402300800",
        "18446744073709551616",
        "true",
        "null",
        "[1700000600]",
        "{}",
    ] {
        let payload = format!(r#"{{"sub":"alice","jti":"j","iat":{NOW},"exp":{exp}}}"#);
        assert_code(&v, &signed_raw_payload(&payload), "invalid_claim", exp);
    }
    // Without iat in the payload below: a policy that does not require it.
    let v = hs256_validator(json!({"required_claims": ["exp", "jti"]}));
    for (name, value) in [
        ("iat", "\"now\""),
        ("nbf", "-5"),
        ("nbf", "1e300"),
        ("iat", "false"),
    ] {
        let payload = format!(
            r#"{{"sub":"alice","jti":"j","exp":{},"{name}":{value}}}"#,
            NOW + 600
        );
        assert_code(&v, &signed_raw_payload(&payload), "invalid_claim", name);
    }
}

#[test]
fn fractional_exp_is_accepted_and_truncated() {
    let v = hs256_validator(json!({"leeway_s": 0}));
    let payload = format!(r#"{{"jti":"j","iat":{NOW},"exp":{}.9}}"#, NOW + 600);
    let verified = v.verify(&signed_raw_payload(&payload), NOW).unwrap();
    assert_eq!(verified.registered.exp, Some(NOW + 600));
    // Truncation, not rounding: exp = now + 0.9 is already expired at now with no leeway.
    let payload = format!(r#"{{"jti":"j","iat":{NOW},"exp":{NOW}.9}}"#);
    assert_code(
        &v,
        &signed_raw_payload(&payload),
        "expired",
        "exp = now + 0.9",
    );
    // 1.7e9 written in exponent form is a number too.
    let payload = format!(r#"{{"jti":"j","iat":{NOW},"exp":1.7000006e9}}"#);
    let verified = v.verify(&signed_raw_payload(&payload), NOW).unwrap();
    assert_eq!(verified.registered.exp, Some(NOW + 600));
}

#[test]
fn expired_not_yet_valid_and_iat_in_future_boundaries_with_default_leeway() {
    let v = hs256_validator(Value::Null); // leeway 30
    let iat = NOW - 600;
    let at = |changes: Value| token(&hs256(), &claims_with(changes));
    assert_code(
        &v,
        &at(json!({"iat": iat, "exp": NOW - 29})),
        "ok",
        "exp = now - 29",
    );
    assert_code(
        &v,
        &at(json!({"iat": iat, "exp": NOW - 30})),
        "expired",
        "exp = now - 30",
    );
    assert_code(
        &v,
        &at(json!({"iat": iat, "exp": NOW - 3600})),
        "expired",
        "long expired",
    );
    assert_code(&v, &at(json!({"nbf": NOW + 30})), "ok", "nbf = now + 30");
    assert_code(
        &v,
        &at(json!({"nbf": NOW + 31})),
        "not_yet_valid",
        "nbf = now + 31",
    );
    assert_code(
        &v,
        &at(json!({"iat": NOW + 30, "exp": NOW + 630})),
        "ok",
        "iat = now + 30",
    );
    assert_code(
        &v,
        &at(json!({"iat": NOW + 31, "exp": NOW + 631})),
        "iat_in_future",
        "iat = now + 31",
    );
}

// ---------------------------------------------------------------------------------------------
// iss, aud, required claims, typ.

#[test]
fn issuer_checks() {
    let v = hs256_validator(json!({"issuer": ["https://a.example", "https://b.example"]}));
    let at = |iss: Value| token(&hs256(), &claims_with(json!({ "iss": iss })));
    assert_code(&v, &at(json!("https://b.example")), "ok", "listed issuer");
    assert_code(
        &v,
        &at(json!("https://c.example")),
        "bad_issuer",
        "other issuer",
    );
    assert_code(
        &v,
        &at(json!("https://A.example")),
        "bad_issuer",
        "case differs",
    );
    assert_code(
        &v,
        &at(json!("https://a.example/")),
        "bad_issuer",
        "trailing slash",
    );
    assert_code(&v, &token(&hs256(), &claims()), "missing_claim", "no iss");
    assert_code(
        &v,
        &at(json!(["https://a.example"])),
        "invalid_claim",
        "iss array",
    );
}

#[test]
fn audience_checks() {
    let v = hs256_validator(json!({"audience": "api"}));
    let at = |aud: Value| token(&hs256(), &claims_with(json!({ "aud": aud })));
    assert_code(&v, &at(json!("api")), "ok", "string");
    assert_code(&v, &at(json!(["web", "api"])), "ok", "array containing it");
    assert_code(
        &v,
        &at(json!(["web", "mobile"])),
        "bad_audience",
        "array mismatch",
    );
    assert_code(&v, &at(json!([])), "bad_audience", "empty array");
    assert_code(&v, &at(json!("API")), "bad_audience", "case differs");
    assert_code(&v, &at(json!("web")), "bad_audience", "other string");
    assert_code(&v, &at(json!(5)), "invalid_claim", "number");
    assert_code(&v, &at(json!({"aud": "api"})), "invalid_claim", "object");
    assert_code(
        &v,
        &at(json!(["api", 5])),
        "invalid_claim",
        "array with a number",
    );
    assert_code(&v, &token(&hs256(), &claims()), "missing_claim", "absent");
}

#[test]
fn required_claims_are_enforced() {
    let v = hs256_validator(Value::Null); // exp, jti
    let without = |name: &str| token(&hs256(), &claims_with(json!({ name: null })));
    assert_code(&v, &without("jti"), "missing_claim", "jti");
    assert_code(&v, &without("exp"), "missing_claim", "exp");
    let v = hs256_validator(json!({"required_claims": ["scope"]}));
    assert_code(&v, &token(&hs256(), &claims()), "missing_claim", "scope");
    assert_code(&v, &without("jti"), "missing_claim", "scope still missing");
    // exp is required whatever the list says: every track has a ceiling.
    let v = hs256_validator(json!({"required_claims": []}));
    assert_code(&v, &without("jti"), "ok", "jti optional");
    assert_code(&v, &without("exp"), "missing_claim", "exp always required");
}

#[test]
fn wrongly_typed_string_claims_are_invalid_claim() {
    let v = hs256_validator(Value::Null);
    for changes in [
        json!({"jti": 5}),
        json!({"sub": 5}),
        json!({"sub": ["alice"]}),
    ] {
        assert_code(
            &v,
            &token(&hs256(), &claims_with(changes.clone())),
            "invalid_claim",
            &changes.to_string(),
        );
    }
}

#[test]
fn typ_header_is_checked_when_configured() {
    let v = hs256_validator(json!({"typ": "at+jwt"}));
    let with_typ = |typ: Value| {
        let mut header = json!({"alg": "HS256"});
        if !typ.is_null() {
            header["typ"] = typ;
        }
        sign_json(&hs256(), &header, &claims())
    };
    assert_code(&v, &with_typ(json!("at+jwt")), "ok", "exact");
    assert_code(
        &v,
        &with_typ(json!("application/AT+JWT")),
        "ok",
        "media type form",
    );
    assert_code(&v, &with_typ(json!("JWT")), "invalid_claim", "other typ");
    assert_code(&v, &with_typ(Value::Null), "invalid_claim", "absent typ");
    assert_code(&v, &with_typ(json!(1)), "malformed", "non-string typ");
}

// ---------------------------------------------------------------------------------------------
// Tracks.

fn lifetime_token(track: Value, lifetime: u64) -> String {
    token(
        &hs256(),
        &claims_with(json!({"track": track, "iat": NOW, "exp": NOW + lifetime})),
    )
}

#[test]
fn track_4_ceiling_is_one_hour_for_integer_and_string() {
    let v = hs256_validator(Value::Null);
    for track in [json!(4), json!("4")] {
        let verified = v.verify(&lifetime_token(track.clone(), 3600), NOW).unwrap();
        assert_eq!(verified.track.track.as_deref(), Some("4"), "{track}");
        assert_eq!(verified.track.ttl_ceiling_s, 3600, "{track}");
        assert_code(
            &v,
            &lifetime_token(track.clone(), 3601),
            "ttl_exceeds_track",
            "3601 s",
        );
        assert_code(
            &v,
            &lifetime_token(track.clone(), 7200),
            "ttl_exceeds_track",
            "2 h",
        );
    }
}

#[test]
fn zero_padded_track_string_is_an_unknown_track() {
    let v = hs256_validator(Value::Null);
    let verified = v.verify(&lifetime_token(json!("04"), 7200), NOW).unwrap();
    assert_eq!(verified.track.track.as_deref(), Some("04"));
    assert_eq!(verified.track.ttl_ceiling_s, 43_200);
    assert_code(
        &v,
        &lifetime_token(json!("04"), 43_200),
        "ok",
        "default ceiling",
    );
    assert_code(
        &v,
        &lifetime_token(json!("04"), 43_201),
        "ttl_exceeds_track",
        "past it",
    );
    let strict = hs256_validator(json!({"tracks": {"unknown": "reject"}}));
    assert_code(
        &strict,
        &lifetime_token(json!("04"), 60),
        "unknown_track",
        "\"04\"",
    );
    assert_code(&strict, &lifetime_token(json!(9), 60), "unknown_track", "9");
    assert_code(&strict, &lifetime_token(json!(4), 60), "ok", "4");
    let no_track = token(&hs256(), &claims_with(json!({"track": null})));
    assert_code(&strict, &no_track, "unknown_track", "absent");
}

#[test]
fn track_of_the_wrong_type_is_invalid_claim() {
    let v = hs256_validator(Value::Null);
    for track in ["4.0", "true", "{}", "-4", "[4]", "null", "4.5", "4e0"] {
        let payload = format!(
            r#"{{"jti":"j","iat":{NOW},"exp":{},"track":{track}}}"#,
            NOW + 60
        );
        assert_code(&v, &signed_raw_payload(&payload), "invalid_claim", track);
    }
}

#[test]
fn track_claim_name_and_table_are_configurable() {
    let v = hs256_validator(
        json!({"tracks": {"claim": "cls", "ttl_s": {"ops": 600}, "unknown": "reject"}}),
    );
    let at = |changes: Value| token(&hs256(), &claims_with(changes));
    assert_code(
        &v,
        &at(json!({"cls": "ops", "exp": NOW + 600})),
        "ok",
        "ops 600",
    );
    assert_code(
        &v,
        &at(json!({"cls": "ops", "exp": NOW + 601})),
        "ttl_exceeds_track",
        "ops 601",
    );
    // `track` is now an ordinary claim, and the default table is gone.
    assert_code(&v, &at(json!({"track": 4})), "unknown_track", "no cls");
    assert_code(
        &v,
        &at(json!({"cls": 4})),
        "unknown_track",
        "4 not in the table",
    );
}

// ---------------------------------------------------------------------------------------------
// Revocation.

fn revocation_token(changes: Value) -> String {
    token(&hs256(), &claims_with(changes))
}

#[test]
fn revoked_tokens_are_refused_through_the_revocation_list() {
    // iat is optional here, to show how a token without one is treated.
    let v = hs256_validator(json!({"required_claims": ["exp", "jti"]}));
    let check = |list: &RevocationList, token: &str| {
        code(&v.verify_with_revocation(token, NOW, |facts| Ok(list.status_for(facts))))
    };
    let t = revocation_token(json!({}));
    assert_eq!(check(&RevocationList::default(), &t), "ok");

    let list = RevocationList::from_json(r#"{"jti":["jti-0001"]}"#).unwrap();
    assert_eq!(check(&list, &t), "revoked");
    assert_eq!(
        check(&list, &revocation_token(json!({"jti": "jti-0002"}))),
        "ok"
    );

    // Subject revoked before T: iat < T revoked, iat == T survives, no iat revoked.
    let list = RevocationList::from_json(&format!(r#"{{"sub":{{"alice":{}}}}}"#, NOW)).unwrap();
    assert_eq!(
        check(&list, &revocation_token(json!({"iat": NOW - 1}))),
        "revoked"
    );
    assert_eq!(check(&list, &revocation_token(json!({"iat": NOW}))), "ok");
    assert_eq!(
        check(&list, &revocation_token(json!({"iat": null}))),
        "revoked"
    );
    assert_eq!(
        check(
            &list,
            &revocation_token(json!({"sub": "bob", "iat": NOW - 1}))
        ),
        "ok"
    );

    // Global time.
    let list = RevocationList::from_json(&format!(r#"{{"before":{}}}"#, NOW)).unwrap();
    assert_eq!(
        check(&list, &revocation_token(json!({"iat": NOW - 1}))),
        "revoked"
    );
    assert_eq!(check(&list, &revocation_token(json!({"iat": NOW}))), "ok");
}

#[test]
fn failing_revocation_lookup_is_revocation_unavailable() {
    let v = hs256_validator(Value::Null);
    let t = revocation_token(json!({}));
    let result = v.verify_with_revocation(&t, NOW, |_| {
        Err(Error::new(ErrorCode::ConfigError, "store timed out"))
    });
    assert_eq!(code(&result), "revocation_unavailable");
    assert_eq!(result.unwrap_err().status(), 503);
    // A lookup that itself answers `revoked` keeps that answer.
    let result =
        v.verify_with_revocation(&t, NOW, |_| Err(Error::new(ErrorCode::Revoked, "listed")));
    assert_eq!(code(&result), "revoked");
    // A forged token never reaches the lookup.
    let called = Cell::new(false);
    let forged = with_payload(&t, &claims_with(json!({"sub": "admin"})).to_string());
    let result = v.verify_with_revocation(&forged, NOW, |_| {
        called.set(true);
        Ok(RevocationStatus::default())
    });
    assert_eq!(code(&result), "bad_signature");
    assert!(!called.get());
}

// ---------------------------------------------------------------------------------------------
// Config errors.

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
// Messages never carry the token, secrets or key material.

fn assert_clean(what: &str, text: &str, forbidden: &[String]) {
    for needle in forbidden {
        assert!(
            !text.contains(needle.as_str()),
            "{what}: message {text:?} contains {needle:?}"
        );
    }
}

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

// ---------------------------------------------------------------------------------------------
// No-panic sweep.

const MUTATION_CHARS: &[&str] = &[
    "A", "z", "0", "9", "-", "_", ".", "=", "+", "/", " ", "\n", "\t", "\u{0}", "é", "{", "}",
    "\"", "\\", "%", "\u{feff}",
];

fn mutate(rng: &mut XorShift, token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    let at = rng.below(chars.len().max(1));
    let c = rng.pick(MUTATION_CHARS).to_string();
    let mut out: String;
    match rng.below(8) {
        0 => {
            out = chars[..at].iter().collect();
            out.push_str(&c);
            out.extend(&chars[(at + 1).min(chars.len())..]);
        }
        1 => {
            out = chars[..at].iter().collect();
            out.extend(&chars[(at + 1).min(chars.len())..]);
        }
        2 => {
            out = chars[..at].iter().collect();
            out.push_str(&c);
            out.extend(&chars[at..]);
        }
        3 => out = chars[..at].iter().collect(),
        4 => {
            let parts: Vec<&str> = token.split('.').collect();
            let mut parts: Vec<&str> = parts.clone();
            let (i, j) = (rng.below(parts.len()), rng.below(parts.len()));
            parts.swap(i, j);
            out = parts.join(".");
        }
        5 => {
            let len = rng.below(32);
            let end = (at + len).min(chars.len());
            out = chars[..end].iter().collect();
            out.extend(&chars[at..]);
        }
        6 => {
            // Flip one bit of one decoded segment and re-encode it strictly.
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            let i = rng.below(parts.len());
            if let Ok(mut bytes) =
                <base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(&parts[i])
            {
                if !bytes.is_empty() {
                    let k = rng.below(bytes.len());
                    bytes[k] ^= 1 << rng.below(8);
                }
                parts[i] = b64(bytes);
            }
            out = parts.join(".");
        }
        _ => {
            let len = rng.below(200);
            out = (0..len).map(|_| *rng.pick(MUTATION_CHARS)).collect();
        }
    }
    out
}

const JSON_CHARS: &[&str] = &[
    "{", "}", "[", "]", "\"", ":", ",", "0", "1", "9", "-", ".", "e", "E", "+", "true", "null",
    "\\u0000", "\\", " ", "alg", "none", "crit", "exp", "track", "é",
];

fn mutate_json(rng: &mut XorShift, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = rng.below(chars.len());
    let mut out: String = chars[..at].iter().collect();
    out.push_str(JSON_CHARS[rng.below(JSON_CHARS.len())]);
    let skip = rng.below(3);
    out.extend(&chars[(at + skip).min(chars.len())..]);
    out
}

#[test]
fn mutated_and_random_tokens_never_panic_and_get_documented_codes() {
    let v = validator(&policy_json(
        &["HS256", "ES256", "EdDSA"],
        Some(HMAC_SECRET),
        &[
            public_jwk(P256_PRIVATE_JWK),
            public_jwk(ED25519_PRIVATE_JWK),
        ],
        Value::Null,
    ));
    let ed = signer(ED25519_PRIVATE_JWK, Alg::EdDSA);
    let signers = [hs256(), es256(), ed];
    let bases: Vec<String> = signers.iter().map(|s| token(s, &claims())).collect();
    for base in &bases {
        assert_code(&v, base, "ok", "base token");
    }
    let mut rng = XorShift::new(0x5EED_CAFE_F00D_0001);
    let mut unsigned = 0;
    for round in 0..4000 {
        // Mostly HS256 bases: the asymmetric verifiers are slow in debug builds.
        let base = &bases[if round % 10 < 8 { 0 } else { 1 + round % 2 }];
        let mut bad = mutate(&mut rng, base);
        if rng.below(4) == 0 {
            bad = mutate(&mut rng, &bad);
        }
        if &bad == base {
            continue;
        }
        unsigned += 1;
        let result = v.verify(&bad, NOW);
        assert!(
            PRE_SIGNATURE_CODES.contains(&code(&result)),
            "round {round}: {:?} -> {}",
            bad,
            code(&result)
        );
    }
    assert!(unsigned > 3500, "{unsigned}");

    // Mutated header and payload JSON, then signed properly: any documented verify outcome.
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let payload = claims().to_string();
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..1500 {
        let (h, p) = if round % 2 == 0 {
            (mutate_json(&mut rng, header), payload.clone())
        } else {
            (header.to_owned(), mutate_json(&mut rng, &payload))
        };
        let t = sign_text(&hs256(), &h, &p);
        let result = v.verify(&t, NOW);
        let c = code(&result);
        assert!(
            c == "ok" || VERIFY_CODES.contains(&c),
            "round {round}: {h} / {p} -> {c}"
        );
        assert!(ErrorCode::ALL.iter().any(|e| e.code() == c) || c == "ok");
        seen.insert(c);
    }
    assert!(seen.contains("malformed") && seen.len() >= 3, "{seen:?}");
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
    let routed = Validator::from_json(&format!(
        r#"{{"algorithms":["HS256"],"secret":{},"required_claims":[],
            "routes":[{{"path":"/ops/*","scopes":["operator.write"]}},{{"path":"/t4/*","tracks":[4]}}]}}"#,
        json!(HMAC_SECRET)
    ))
    .unwrap();
    let verified = routed.verify(&ok, NOW).unwrap();
    let route = |path: &str| {
        routed
            .policy()
            .routes
            .find("GET", path, false)
            .authorize(&verified)
    };
    produced.push(("insufficient_scope", code(&route("/ops/x"))));
    produced.push(("track_not_allowed", code(&route("/t4/x"))));
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
