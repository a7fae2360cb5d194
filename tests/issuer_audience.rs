//! `iss` and `aud` checks, required claims, string-typed claims and the `typ` header.

mod common;

use common::*;
use serde_json::{json, Value};

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
