//! Refresh rotation in the core (`mint::reissue`): what the issuer said is kept exactly, the
//! session's start survives every refresh, the session ends at its track's `max_session_s`, and
//! "revoked before T" covers tokens refreshed from a session begun before T.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

use edge_jwt::mint::reissue;
use edge_jwt::revocation::{check, RevocationStatus};
use edge_jwt::{issue, Alg, ErrorCode, IssueRequest, Policy, Signer, Validator};
use serde_json::{json, Value};

const SECRET: &str = "refresh-tests-secret-0123456789abcdef";
const T0: u64 = 1_800_000_000;

fn validator(extra: Value) -> Validator {
    let mut config = json!({
        "algorithms": ["HS256"], "secret": SECRET,
        "issuer": ["https://a.test", "https://b.test"], "audience": ["api", "ops-api"],
    });
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    Validator::new(Policy::from_json(&config.to_string()).unwrap())
}

fn signer() -> Signer {
    Signer::from_secret(SECRET, Alg::HS256).unwrap()
}

/// A token as an identity provider would write it, signed with the policy's secret.
fn provider_token(v: &Validator, track: &str, at: u64, extra: Value) -> String {
    let mut claims = json!({"iss": "https://b.test", "aud": "api", "scope": "read", "tenant": "acme", "roles": ["x"]});
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap_or_default());
    // issue() stamps the policy's iss/aud: build the provider's token by hand instead.
    let minted = issue(
        v.policy(),
        &signer(),
        IssueRequest {
            sub: Some("ada".into()),
            track: Some(track.into()),
            ttl_s: None,
            claims: json!({"tenant": "acme"}).as_object().cloned().unwrap(),
        },
        at,
        &mut rand_core::OsRng,
    )
    .unwrap();
    let verified = v.verify(&minted.token, at).unwrap();
    let mut all = verified.claims().clone();
    all.extend(claims.as_object().cloned().unwrap());
    sign(&all)
}

fn sign(claims: &serde_json::Map<String, Value>) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let header = Base64UrlUnpadded::encode_string(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload =
        Base64UrlUnpadded::encode_string(Value::Object(claims.clone()).to_string().as_bytes());
    let input = format!("{header}.{payload}");
    let signature = Base64UrlUnpadded::encode_string(&signer().sign(input.as_bytes()));
    format!("{input}.{signature}")
}

#[test]
fn refresh_keeps_every_claim_the_issuer_wrote() {
    let v = validator(json!({}));
    let old = provider_token(&v, "2", T0, json!({}));
    let before = v.verify(&old, T0 + 60).unwrap();
    let next = reissue(
        v.policy(),
        &signer(),
        &before,
        T0 + 60,
        &mut rand_core::OsRng,
    )
    .unwrap();
    let after = v.verify(&next.token, T0 + 60).unwrap();
    let (mut a, mut b) = (before.claims().clone(), after.claims().clone());
    for changed in ["jti", "iat", "exp", "auth_time"] {
        a.remove(changed);
        b.remove(changed);
    }
    assert_eq!(
        a, b,
        "iss, aud, sub, scope, track and custom claims are kept exactly"
    );
    assert_eq!(
        after.claims()["iss"],
        "https://b.test",
        "never re-stamped with issuers[0]"
    );
    assert_eq!(
        after.claims()["aud"],
        "api",
        "never widened to every configured audience"
    );
    assert_eq!(
        after.claims()["auth_time"],
        T0,
        "the session's start is the first iat"
    );
    assert_eq!(after.registered.iat, Some(T0 + 60));
    assert_eq!(after.registered.exp, Some(T0 + 60 + 8 * 3600));
    assert_ne!(after.registered.jti, before.registered.jti);
}

#[test]
fn the_session_start_survives_refreshes_and_the_session_ends() {
    let v = validator(json!({"tracks": {"max_session_s": {"4": 10_000}}}));
    let mut token = provider_token(&v, "4", T0, json!({}));
    let mut now = T0;
    let mut refreshes = 0;
    loop {
        now += 2500;
        let verified = v.verify(&token, now).unwrap();
        match reissue(v.policy(), &signer(), &verified, now, &mut rand_core::OsRng) {
            Ok(next) => {
                let claims = v.verify(&next.token, now).unwrap();
                assert_eq!(claims.claims()["auth_time"], T0);
                assert!(next.exp <= T0 + 10_000, "never past the session's end");
                token = next.token;
                refreshes += 1;
            }
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::SessionExpired);
                break;
            }
        }
    }
    assert_eq!(refreshes, 3, "at 2500, 5000 and 7500 s; refused at 10000 s");
    // The last token was clamped: exp = T0 + 10000, not T0 + 7500 + 3600.
    assert_eq!(
        v.verify(&token, T0 + 8000).unwrap().registered.exp,
        Some(T0 + 10_000)
    );
}

#[test]
fn revoked_before_t_covers_tokens_refreshed_from_an_older_session() {
    let v = validator(json!({}));
    let old = provider_token(&v, "3", T0, json!({}));
    let verified = v.verify(&old, T0 + 100).unwrap();
    let next = reissue(
        v.policy(),
        &signer(),
        &verified,
        T0 + 100,
        &mut rand_core::OsRng,
    )
    .unwrap();
    let refreshed = v.verify(&next.token, T0 + 100).unwrap();
    // "Log out everywhere" at T0 + 50: after the first login, before the refresh.
    let status = RevocationStatus {
        subject_revoked_before: Some(T0 + 50),
        ..RevocationStatus::default()
    };
    assert_eq!(
        check(&refreshed.revocation_facts(), &status)
            .unwrap_err()
            .code(),
        ErrorCode::Revoked,
        "iat is after T but the session began before it"
    );
    // A new login after T (no auth_time, iat after T) stands.
    let fresh = provider_token(&v, "3", T0 + 60, json!({}));
    assert!(check(
        &v.verify(&fresh, T0 + 100).unwrap().revocation_facts(),
        &status
    )
    .is_ok());
    // An auth_time later than iat cannot push the session start past iat.
    let odd = provider_token(&v, "3", T0, json!({"auth_time": T0 + 1000}));
    let facts = v.verify(&odd, T0 + 100).unwrap().revocation_facts();
    assert_eq!(facts.session_start, Some(T0));
}

#[test]
fn auth_time_must_be_a_numeric_date() {
    let v = validator(json!({}));
    let bad = provider_token(&v, "3", T0, json!({"auth_time": "yesterday"}));
    assert_eq!(
        v.verify(&bad, T0).unwrap_err().code(),
        ErrorCode::InvalidClaim
    );
}

#[test]
fn one_signer_choice_for_every_host() {
    let policy = Policy::from_json(&format!(
        r#"{{"algorithms":["HS384","HS256"],"secret":"{SECRET}0123456789abcdef"}}"#
    ))
    .unwrap();
    let secret = format!("{SECRET}0123456789abcdef");
    let chosen = Signer::for_policy(&policy, None, Some(&secret), None)
        .unwrap()
        .unwrap();
    assert_eq!(
        chosen.alg(),
        Alg::HS384,
        "the first HMAC algorithm the policy allows"
    );
    assert!(Signer::for_policy(&policy, None, None, None)
        .unwrap()
        .is_none());
    let ed = r#"{"crv":"Ed25519","d":"_m16a_HWaMNUVmA-STDvqa51QXlcuKc4Eh3V6OiYDjM","kty":"OKP","x":"Tnv0XRFZ4aEGa0XYzDWDXNzwMKkkfb2oC5W0bx9oBOA"}"#;
    let e = Signer::for_policy(&policy, Some(ed), Some(&secret), None).unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::ConfigError,
        "EdDSA is not allowed: {e}"
    );
}
