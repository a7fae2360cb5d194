//! NumericDate claims (`exp`, `nbf`, `iat`): types and ranges, fractions, and the boundaries of
//! the clock leeway.

mod common;

use common::*;
use serde_json::{json, Value};

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
