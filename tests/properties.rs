//! Property tests of the validator (proptest): arbitrary input never panics and never passes,
//! issue → verify round trips inside the time window and fails outside it, no single-byte
//! mutation of a valid token is accepted, NumericDate and track-claim typing follow the
//! documented rules.
//!
//! Case counts are kept moderate so the whole file runs in well under 20 s in a debug build.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use edge_jwt::claims::MAX_NUMERIC_DATE;
use edge_jwt::keygen::generate;
use edge_jwt::{issue, Alg, ErrorCode, IssueRequest, Signer, Validator};
use proptest::prelude::*;
use rand_core::OsRng;
use serde_json::{json, Map, Value};

/// A 32-byte HMAC secret (the HS256 minimum).
const SECRET: &str = "0123456789abcdef0123456789abcdef";
/// The documented default leeway.
const LEEWAY: u64 = 30;
/// The documented default ceilings of tracks 1..=4.
const CEILINGS: [u64; 4] = [12 * 3600, 8 * 3600, 4 * 3600, 3600];
/// Claims `issue` sets itself (and refuses as extras).
const RESERVED: [&str; 8] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "track"];

/// Codes a token can get before its signature verified: the only ones an unauthenticated or
/// tampered token may ever see (no claim error may leak what a forged payload says).
const PRE_SIGNATURE: [ErrorCode; 6] = [
    ErrorCode::Malformed,
    ErrorCode::TooLarge,
    ErrorCode::UnsupportedHeader,
    ErrorCode::AlgNotAllowed,
    ErrorCode::UnknownKid,
    ErrorCode::BadSignature,
];

/// A validator and a signer whose tokens it accepts.
struct Setup {
    validator: Validator,
    signer: Signer,
}

fn hs256_setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| Setup {
        validator: Validator::from_json(
            &json!({"algorithms": ["HS256"], "secret": SECRET}).to_string(),
        )
        .expect("HS256 config"),
        signer: Signer::from_secret(SECRET, Alg::HS256).expect("HS256 signer"),
    })
}

fn eddsa_setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let key = generate(Alg::EdDSA, Some("ed-1"), &mut OsRng).expect("keygen");
        Setup {
            validator: Validator::from_json(
                &json!({"algorithms": ["EdDSA"], "keys": key.public_jwks}).to_string(),
            )
            .expect("EdDSA config"),
            signer: Signer::from_jwk(&key.private_jwk.to_string(), None).expect("EdDSA signer"),
        }
    })
}

fn setup(alg: Alg) -> &'static Setup {
    match alg {
        Alg::HS256 => hs256_setup(),
        Alg::EdDSA => eddsa_setup(),
        other => unreachable!("no setup for {other}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Signs a payload written as raw JSON text (so numbers keep the exact form under test).
fn hs256_raw(payload_json: &str) -> String {
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256"}"#),
        b64(payload_json.as_bytes())
    );
    let sig = hs256_setup().signer.sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// A token issued at `T0` on track 4 by `alg`'s signer.
fn valid_token(alg: Alg) -> &'static str {
    static HS: OnceLock<String> = OnceLock::new();
    static ED: OnceLock<String> = OnceLock::new();
    let cell = if alg == Alg::HS256 { &HS } else { &ED };
    cell.get_or_init(|| {
        let s = setup(alg);
        let mut claims = Map::new();
        claims.insert("scope".into(), json!("read write"));
        issue(
            s.validator.policy(),
            &s.signer,
            IssueRequest {
                sub: Some("alice".into()),
                track: Some("4".into()),
                ttl_s: None,
                claims,
            },
            T0,
            &mut OsRng,
        )
        .expect("issue")
        .token
    })
}

const T0: u64 = 1_700_000_000;

fn assert_pre_signature_rejection(token: &str, now: u64) -> Result<(), TestCaseError> {
    for alg in [Alg::HS256, Alg::EdDSA] {
        match setup(alg).validator.verify(token, now) {
            Ok(v) => {
                return Err(TestCaseError::fail(format!(
                    "{alg} accepted {token:?}: {:?}",
                    v.claims()
                )))
            }
            Err(e) => prop_assert!(
                PRE_SIGNATURE.contains(&e.code()),
                "{alg}: {token:?} got {} ({})",
                e.code(),
                e.message()
            ),
        }
    }
    Ok(())
}

/// A header object drawn from plausible and hostile members.
fn header_strategy() -> impl Strategy<Value = Value> {
    let alg = prop_oneof![
        Just(json!("HS256")),
        Just(json!("EdDSA")),
        Just(json!("none")),
        Just(json!("NoNe")),
        Just(json!("ES512")),
        Just(json!(5)),
        "[A-Za-z0-9]{0,6}".prop_map(Value::from),
    ];
    (
        proptest::option::of(alg),
        proptest::option::of(prop_oneof![
            Just(json!("ed-1")),
            Just(json!("../../etc/passwd")),
            "\\PC{0,8}".prop_map(Value::from),
            Just(json!(1)),
        ]),
        proptest::option::of(prop_oneof![Just(json!([])), Just(json!(["exp"]))]),
        proptest::option::of(prop_oneof![
            Just(json!(false)),
            Just(json!(true)),
            Just(json!("x"))
        ]),
        proptest::option::of(Just(json!({"kty": "oct", "k": "AAAA"}))),
    )
        .prop_map(|(alg, kid, crit, b64, jwk)| {
            let mut h = Map::new();
            for (name, value) in [
                ("alg", alg),
                ("kid", kid),
                ("crit", crit),
                ("b64", b64),
                ("jwk", jwk),
            ] {
                if let Some(v) = value {
                    h.insert(name.into(), v);
                }
            }
            Value::Object(h)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// (a) Arbitrary bytes (as the lossy UTF-8 a host would hand over) never verify and never panic.
    #[test]
    fn arbitrary_bytes_are_rejected_with_a_pre_signature_code(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        assert_pre_signature_rejection(&String::from_utf8_lossy(&bytes), T0)?;
    }

    /// (a) Arbitrary ASCII, biased towards the base64url alphabet and dots.
    #[test]
    fn arbitrary_ascii_is_rejected_with_a_pre_signature_code(
        s in prop_oneof!["[\\x00-\\x7f]{0,400}", "[A-Za-z0-9_.=+/ -]{0,400}"]
    ) {
        assert_pre_signature_rejection(&s, T0)?;
    }

    /// (a) Well-formed segments with hostile headers and random payload and signature bytes.
    #[test]
    fn structured_garbage_is_rejected_with_a_pre_signature_code(
        header in header_strategy(),
        payload in proptest::collection::vec(any::<u8>(), 0..200),
        signature in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let token = format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(&payload), b64(&signature));
        assert_pre_signature_rejection(&token, T0)?;
    }
}

/// Extra claims: names outside the reserved set, arbitrary string values.
fn extras_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map(
        "[a-z][a-z0-9_]{0,10}".prop_filter("reserved claim", |n| !RESERVED.contains(&n.as_str())),
        "\\PC{0,20}",
        0..4,
    )
}

/// Picks a value in `lo..hi` from a random `u64`.
fn pick(lo: u64, hi: u64, r: u64) -> u64 {
    assert!(lo < hi);
    lo + r % (hi - lo)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// (b) issue → verify: accepted with the same claims inside [iat - leeway, exp + leeway),
    /// `expired` at or after exp + leeway, `iat_in_future` before iat - leeway.
    #[test]
    fn issued_tokens_verify_inside_their_window_only(
        alg in prop_oneof![Just(Alg::HS256), Just(Alg::EdDSA)],
        sub in "\\PC{1,30}",
        track in 1_usize..=4,
        ttl_r in any::<u64>(),
        extras in extras_strategy(),
        iat in 1_000_000_u64..4_000_000_000,
        r_in in any::<u64>(),
        r_late in any::<u64>(),
        r_early in any::<u64>(),
    ) {
        let s = setup(alg);
        let ceiling = CEILINGS[track - 1];
        let ttl = pick(1, ceiling + 1, ttl_r);
        let claims: Map<String, Value> = extras.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let issued = issue(
            s.validator.policy(),
            &s.signer,
            IssueRequest { sub: Some(sub.clone()), track: Some(track.to_string()), ttl_s: Some(ttl), claims: claims.clone() },
            iat,
            &mut OsRng,
        ).expect("issue");
        prop_assert_eq!(issued.iat, iat);
        prop_assert_eq!(issued.exp, iat + ttl);
        let exp = issued.exp;

        let mut expected = claims;
        expected.insert("sub".into(), json!(sub));
        expected.insert("track".into(), json!(track));
        expected.insert("iat".into(), json!(iat));
        expected.insert("exp".into(), json!(exp));
        expected.insert("jti".into(), json!(issued.jti));

        let now = pick(iat - LEEWAY, exp + LEEWAY, r_in);
        let verified = s.validator.verify(&issued.token, now)
            .map_err(|e| TestCaseError::fail(format!("rejected at {now} (iat {iat}, exp {exp}): {e}")))?;
        prop_assert_eq!(verified.claims(), &expected);
        prop_assert_eq!(verified.alg, alg);
        prop_assert_eq!(verified.track.track.clone(), Some(track.to_string()));
        prop_assert_eq!(verified.track.ttl_ceiling_s, ceiling);
        prop_assert_eq!(verified.registered.exp, Some(exp));

        let late = pick(exp + LEEWAY, exp + LEEWAY + 10_000_000, r_late);
        prop_assert_eq!(s.validator.verify(&issued.token, late).unwrap_err().code(), ErrorCode::Expired);
        let early = pick(0, iat - LEEWAY, r_early);
        prop_assert_eq!(s.validator.verify(&issued.token, early).unwrap_err().code(), ErrorCode::IatInFuture);
    }
}

/// The token with byte `index` replaced by `byte`.
fn mutate(token: &str, index: usize, byte: u8) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[index] = byte;
    String::from_utf8(bytes).expect("ASCII replacement keeps UTF-8")
}

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn check_mutation(alg: Alg, index: usize, byte: u8) -> Result<(), String> {
    let token = valid_token(alg);
    if token.as_bytes()[index] == byte {
        return Ok(());
    }
    let mutated = mutate(token, index, byte);
    match setup(alg).validator.verify(&mutated, T0) {
        Ok(_) => Err(format!(
            "{alg}: byte {index} {:?} -> {:?} still verifies",
            char::from(token.as_bytes()[index]),
            char::from(byte)
        )),
        Err(e) if PRE_SIGNATURE.contains(&e.code()) => Ok(()),
        Err(e) => Err(format!(
            "{alg}: byte {index} -> {:?} got {} ({}), a code that needs an authenticated payload",
            char::from(byte),
            e.code(),
            e.message()
        )),
    }
}

#[test]
fn valid_tokens_used_for_mutation_verify_unmodified() {
    for alg in [Alg::HS256, Alg::EdDSA] {
        let v = setup(alg)
            .validator
            .verify(valid_token(alg), T0)
            .expect("untampered token verifies");
        assert_eq!(v.claims()["sub"], json!("alice"));
    }
}

/// (c) Exhaustive for HS256: every position, every base64url character and the dot.
#[test]
fn no_single_character_substitution_of_an_hs256_token_verifies() {
    let token = valid_token(Alg::HS256);
    let mut failures = Vec::new();
    for index in 0..token.len() {
        for &byte in B64URL.iter().chain(b".=+/ ") {
            if let Err(e) = check_mutation(Alg::HS256, index, byte) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// (c) Every position of an EdDSA token, replaced by a neighbouring alphabet character.
#[test]
fn no_single_character_substitution_of_an_eddsa_token_verifies() {
    let token = valid_token(Alg::EdDSA);
    for (index, &original) in token.as_bytes().iter().enumerate() {
        let replacement = match B64URL.iter().position(|&c| c == original) {
            Some(i) => B64URL[(i + 1) % B64URL.len()],
            None => b'A', // the dots
        };
        check_mutation(Alg::EdDSA, index, replacement).unwrap();
    }
}

/// (c) The last character of a segment whose length leaves spare bits: a replacement that
/// differs only in those trailing bits decodes to the same bytes under a lax decoder, so strict
/// decoding must refuse it as `malformed`.
#[test]
fn changing_only_trailing_bits_is_malformed() {
    for alg in [Alg::HS256, Alg::EdDSA] {
        let token = valid_token(alg);
        let mut offset = 0;
        let mut checked = 0;
        for segment in token.split('.') {
            let spare_bits = match segment.len() % 4 {
                2 => 4,
                3 => 2,
                _ => 0,
            };
            if spare_bits > 0 {
                let last = offset + segment.len() - 1;
                let value = B64URL
                    .iter()
                    .position(|&c| c == token.as_bytes()[last])
                    .unwrap();
                for low in 1..(1 << spare_bits) {
                    let byte = B64URL[value ^ low];
                    let mutated = mutate(token, last, byte);
                    let err = setup(alg).validator.verify(&mutated, T0).unwrap_err();
                    assert_eq!(err.code(), ErrorCode::Malformed, "{alg} {mutated}");
                    checked += 1;
                }
            }
            offset += segment.len() + 1;
        }
        assert!(checked > 0, "{alg}: no segment with spare bits in {token}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// (c) Random single-byte substitutions (any ASCII) of HS256 and EdDSA tokens.
    #[test]
    fn random_single_byte_substitutions_never_verify(
        alg in prop_oneof![Just(Alg::HS256), Just(Alg::EdDSA)],
        index in any::<prop::sample::Index>(),
        byte in 0_u8..0x80,
    ) {
        let token = valid_token(alg);
        check_mutation(alg, index.index(token.len()), byte).map_err(TestCaseError::fail)?;
    }
}

/// A policy under which nothing but the NumericDate typing of `exp` can fail at `now = 0`:
/// only `exp` required, and a ceiling no lifetime exceeds.
fn numeric_date_validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        Validator::from_json(
            &json!({
                "algorithms": ["HS256"],
                "secret": SECRET,
                "required_claims": ["exp"],
                "tracks": {"default_ttl_s": u64::MAX}
            })
            .to_string(),
        )
        .expect("config")
    })
}

/// `MAX_NUMERIC_DATE + 1` as an f64 (exact: below 2^53); `numeric_date_end_is_max_plus_one`
/// ties the literal to the constant.
const NUMERIC_DATE_END: f64 = 253_402_300_800.0;

#[test]
fn numeric_date_end_is_max_plus_one() {
    assert_eq!(
        NUMERIC_DATE_END.to_string(),
        (MAX_NUMERIC_DATE + 1).to_string()
    );
}

/// The documented rule: a JSON number x with 0 <= x < 253402300800 is accepted as trunc(x).
fn documented_numeric_date(x: f64) -> Option<u64> {
    #[allow(
        clippy::as_conversions,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "converted only when 0 <= x < 2^38, where trunc(x) fits a u64 exactly"
    )]
    let truncate = |x: f64| x.trunc() as u64;
    (0.0..NUMERIC_DATE_END).contains(&x).then(|| truncate(x))
}

fn check_exp_text(text: &str, expected: Option<u64>) -> Result<(), TestCaseError> {
    let token = hs256_raw(&format!(r#"{{"exp":{text}}}"#));
    let result = numeric_date_validator().verify(&token, 0);
    match (expected, result) {
        (Some(want), Ok(v)) => prop_assert_eq!(v.registered.exp, Some(want), "exp {}", text),
        (None, Err(e)) => prop_assert_eq!(e.code(), ErrorCode::InvalidClaim, "exp {}: {}", text, e),
        (Some(want), Err(e)) => {
            prop_assert!(false, "exp {} should be accepted as {}: {}", text, want, e)
        }
        (None, Ok(v)) => prop_assert!(false, "exp {} accepted as {:?}", text, v.registered.exp),
    }
    Ok(())
}

/// Integers written as JSON integers, with a bias towards the boundaries.
fn integer_strategy() -> impl Strategy<Value = i128> {
    let max = i128::from(MAX_NUMERIC_DATE);
    prop_oneof![
        any::<u64>().prop_map(i128::from),
        any::<i64>().prop_map(i128::from),
        (max - 1000..max + 1000),
        (-1000_i128..1000),
    ]
}

/// Finite floats, biased towards the boundaries.
fn float_strategy() -> impl Strategy<Value = f64> {
    let max = NUMERIC_DATE_END;
    prop_oneof![
        any::<f64>().prop_filter("JSON has no NaN or infinity", |x| x.is_finite()),
        (max - 2.0..max + 2.0),
        (-2.0..2.0_f64),
        (0.0..max),
        Just(1e300),
        Just(-1e300),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    /// (d) exp as a JSON integer (any u64 or i64): accepted iff 0 <= x <= 253402300799.
    #[test]
    fn integer_exp_follows_the_numeric_date_rule(x in integer_strategy()) {
        let expected = u64::try_from(x).ok().filter(|x| *x <= MAX_NUMERIC_DATE);
        check_exp_text(&x.to_string(), expected)?;
    }

    /// (d) exp as a JSON float, in plain and exponent notation: accepted iff
    /// 0 <= x < 253402300800, truncated.
    #[test]
    fn float_exp_follows_the_numeric_date_rule(x in float_strategy(), exponent_form in any::<bool>()) {
        let text = if exponent_form { format!("{x:e}") } else { format!("{x:?}") };
        // The value the text denotes (correctly rounded), which the rule is about.
        let denoted: f64 = text.parse().unwrap();
        check_exp_text(&text, documented_numeric_date(denoted))?;
    }

    /// (d) exp of any other JSON type is invalid_claim.
    #[test]
    fn non_number_exp_is_invalid_claim(v in json_strategy().prop_filter("numbers are tested above", |v| !v.is_number())) {
        check_exp_text(&v.to_string(), None)?;
    }
}

/// Arbitrary JSON values, a few levels deep.
fn json_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0_u64..10).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        (0_u32..10).prop_map(|n| Value::from(f64::from(n))),
        "\\PC{0,12}".prop_map(Value::from),
        (0_u64..10).prop_map(|n| Value::from(n.to_string())),
        Just(json!("04")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    /// (e) The track claim: a non-negative integer or a string names a track (`4` and `"4"`
    /// alike); every other JSON type, floats included, is invalid_claim.
    #[test]
    fn track_claim_of_any_json_type(track in json_strategy()) {
        let payload = json!({"iat": T0, "exp": T0 + 60, "jti": "j", "track": track});
        let token = hs256_raw(&payload.to_string());
        let result = hs256_setup().validator.verify(&token, T0);
        let expected_name = match &track {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) if n.is_u64() => Some(n.to_string()),
            _ => None,
        };
        match (expected_name, result) {
            (Some(name), Ok(v)) => {
                let ceiling = match name.as_str() {
                    "1" => CEILINGS[0],
                    "2" => CEILINGS[1],
                    "3" => CEILINGS[2],
                    "4" => CEILINGS[3],
                    _ => 12 * 3600, // the documented default for unknown tracks
                };
                prop_assert_eq!(v.track.track, Some(name));
                prop_assert_eq!(v.track.ttl_ceiling_s, ceiling);
            }
            (None, Err(e)) => prop_assert_eq!(e.code(), ErrorCode::InvalidClaim, "{}: {}", track, e),
            (Some(name), Err(e)) => prop_assert!(false, "track {} ({}) rejected: {}", track, name, e),
            (None, Ok(v)) => prop_assert!(false, "track {} accepted as {:?}", track, v.track),
        }
    }
}
