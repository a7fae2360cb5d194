//! Attacks on signatures: ECDSA scalars (CVE-2022-21449), DER and wrong lengths, high-s and
//! non-canonical Ed25519 twins, small-order keys, stripped, foreign and tampered signatures, and
//! the order of checks that keeps claim verdicts away from unauthenticated tokens.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

mod common;

use common::*;
use edge_jwt::verify::verify_signature;
use edge_jwt::{Alg, ErrorCode, Validator};
use serde_json::{json, Value};

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
    let byte = |n: usize| u8::try_from(n).unwrap();
    let mut der_sig = vec![0x30, byte(r.len() + s.len() + 4), 0x02, byte(r.len())];
    der_sig.extend(&r);
    der_sig.extend([0x02, byte(s.len())]);
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
// RSA signature representatives out of range (RFC 8017 §5.2.2).

/// `s + n`, big-endian, in `len` bytes; `None` when it does not fit.
fn plus_modulus(signature: &[u8], modulus: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = vec![0_u8; len];
    let mut carry = 0_u16;
    for i in (0..len).rev() {
        let s = u16::from(signature.get(i).copied().unwrap_or(0));
        let offset = len - modulus.len();
        let n = if i >= offset {
            u16::from(modulus[i - offset])
        } else {
            0
        };
        let sum = s + n + carry;
        out[i] = (sum & 0xff).to_le_bytes()[0];
        carry = sum >> 8;
    }
    (carry == 0).then_some(out)
}

#[test]
fn rsa_signatures_at_or_above_the_modulus_are_bad_signature_for_pkcs1_and_pss() {
    let modulus = unb64(public_jwk(RSA_PRIVATE_JWK)["n"].as_str().unwrap());
    let v = validator(&policy_json(
        &["RS256", "PS256"],
        None,
        &[public_jwk(RSA_PRIVATE_JWK)],
        Value::Null,
    ));
    for alg in [Alg::RS256, Alg::PS256] {
        // Sign distinct payloads until s + n still fits the modulus length (about one in six
        // for this modulus, whose top byte is 0xd9).
        let (good, twin) = (0..60)
            .find_map(|i| {
                let mut payload = claims();
                payload["jti"] = json!(format!("twin-{i}"));
                let good = token(&signer(RSA_PRIVATE_JWK, alg), &payload);
                let sig = unb64(segments(&good)[2]);
                let twin = plus_modulus(&sig, &modulus, sig.len())?;
                Some((good, twin))
            })
            .expect("a signature with room for s + n");
        assert_code(&v, &good, "ok", "control");
        let parts = segments(&good);
        let forged = format!("{}.{}.{}", parts[0], parts[1], b64(&twin));
        assert_code(&v, &forged, "bad_signature", &format!("{alg}: s + n"));
        let exactly_n = format!("{}.{}.{}", parts[0], parts[1], b64(&modulus));
        assert_code(&v, &exactly_n, "bad_signature", &format!("{alg}: s = n"));
    }
}
