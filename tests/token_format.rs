//! Attacks through the token's encoding: segment counts, padding, whitespace and alphabet,
//! non-canonical base64url, size limits, deeply nested JSON and duplicate or escaped member names.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use edge_jwt::ErrorCode;
use serde_json::{json, Value};

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
    bad.push(char::from(alphabet[index | 1]));
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
