//! Tracks: the per-track lifetime ceiling, unknown and mistyped tracks, and a configured track
//! claim and table.

mod common;

use common::*;
use serde_json::{json, Value};

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
