//! Revocation through `Validator::verify_with_revocation`: the list's three kinds of entry, and
//! a failing lookup (fail closed, `revocation_unavailable`).

mod common;

use std::cell::Cell;

use common::*;
use edge_jwt::{Error, ErrorCode, RevocationList, RevocationStatus};
use serde_json::{json, Value};

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
