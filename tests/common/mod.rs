//! Shared fixtures for the integration tests.
//!
//! - Fixed keys, generated once with `edge-jwt keygen` (RSA-2048, P-256, Ed25519) and embedded
//!   without `kid`/`alg`/`use` so each test chooses those; plus a second "attacker" key of each
//!   type and fixed HMAC secrets. Nothing is random, so every run signs the same bytes (ECDSA
//!   signatures excepted: jwt-compact signs them with fresh randomness).
//! - Policy builders that produce config JSON.
//! - Raw JWS assembly: `base64url(header).base64url(payload).base64url(signer.sign(input))` from
//!   arbitrary header/payload *text*, so attack tests can craft what `issue` never produces
//!   (duplicate names, `crit`, `alg` spellings, deep nesting…).
//! - [`code`], which turns a verify result into its stable code string (`"ok"` on success).
//!
//! Each test crate uses a different subset, hence `allow(dead_code)`.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "fixtures for tests: one that cannot be built must stop the test at that line"
)]

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use edge_jwt::{Alg, Error, Signer, Validator};
use serde_json::{json, Map, Value};

/// The fixed "current time" of the tests (2023-11-14T22:13:20Z).
pub const NOW: u64 = 1_700_000_000;

/// HMAC secret of the tests: exactly 64 bytes, so it serves HS256, HS384 and HS512.
pub const HMAC_SECRET: &str = "edge-jwt fixed test secret 0123456789 abcdefghijklmnopqrstuvwxyz";

/// A different 64-byte HMAC secret, for foreign signatures.
pub const ATTACKER_HMAC_SECRET: &str =
    "attacker controlled secret 9876543210 ZYXWVUTSRQPONMLKJIHGFEDCBA";

/// RSA-2048 private JWK (`edge-jwt keygen --alg RS256`, kid/alg/use removed).
pub const RSA_PRIVATE_JWK: &str = r#"{"d":"caKNjIJzWxJKESDnk7pNOIHSCYM0BtSHRcXZDohkskA4tIoPxXKRcaW1fPcgTRFNoVxfZXr91v1KHPC5mNY6JNwUMBR9zB-1ZH2bPhpdCqFn5YIiwAucn9Y-0nKW7_1Rg2d4l58RHE47La1rkgIvdVCBRbNnHafc_YoaDLPhzsimytgqP8cm-mMKKd1qZOmdAaoo_7H9Pm4GlKhMsDc33kXW-wf9GB6siyzeBVQ46Kubup1WyDLT6_x3qPussfOsYdevCaZMNCEnVttmW1Sp-l0GFSt3uPjMuob-BKhddmSrQhM8Lynxc18Qr7mT4qgiimIx6_70S2YWZTFNYUWOkQ","e":"AQAB","kty":"RSA","n":"2XIUbcIQWdubW090G9mHCTWHukFx3KYh_z73IWKfXWNO4smIziOWCmnR5rmqU6dPjtGM8uKFtO7PHCIpy4qcMud37qnxdXnH_H6PI0UgeEz6ZLLyD6PEf1wlK1OGXI2kK-2ztOv-60C7-Osh8C6Ih1I34dZXoEG8sY--CNl4zZviwNdDQIFTt6An11RX6oRdlDIvnpd0YfAnAwDzvGps_sc--lymJtavoZ8GJxSG3fd8aXnQYY9Flu23n6NAvtpqlAK1m8EBfuxMqt5siYnk34__QvXrQ46FTq5D3JDP3gg2vzVq6GWzPROXQjImaPuQ4fdH_2merEYjrVDBwwmbYw","p":"7z0bdV0esWtrjLw4uNgetRkBmSnXl2d6kP33ZtC3xsZ0Mlkt4tsq215I3srCZ4rEKuxBWXYX_btLMJfay5w-xzSQ4Q6MPb5bMqtq4tfT1K-DsvY643jnc4a2uKob7JmcsbUXKTgL-tkFkfR867xx6IP-_UmNoHDzll7miqr092s","q":"6K4ZsWFYbtDKg4Yl-Mucpl8L4dMBUcCDfw1o6s5iBPccLvB3e6ZqWoJeC6h0unKZAhtBzCRX9-kGzYVJqN7D3UZ2vAwQT9Ee2u0vZ5bawvWNHuPAj__O_nETdSJtk551eoJ21FqXteoUSLgbnsIQi0tQqZ9RERKeulbPrA-XAek"}"#;

/// A second RSA-2048 private JWK, the attacker's.
pub const ATTACKER_RSA_PRIVATE_JWK: &str = r#"{"d":"iZd6Fwgv9Va6KDX8dt49i9iGjJvMxeTRb4NLpTJsE6Ic3FJtYU-H_whrS6-zAZ3TYcWshb_zh75uJT-PgDwTzzP5tiy6y8tSUYcQ1pP2G-8U3gfEdPIBHGq28Vh5E9ZoYotEzkvkzQD_pAxACCHh1vbx_xMp0FePifhEMx7TxrE7cNH7-UrMW3V4E4gbVVSBxvFvrrmGcsUqTraxhiWKUJbYbN22dtAociWzWgcH3jn2G_Gz7911vjMzBtLgJP85KEHvp79ZQ1dBaS7_uGkMOQQCmGfqMf62ErZNzqx4nr1BTuZe-domKmfnILDCs2lc_3Y6ycAJCAsZuuzYQZ_LwQ","e":"AQAB","kty":"RSA","n":"qW3Py9TlrVtvu23CPkFDvrpkF8Dv-LJGsKDTESSv_-oRjwmeX8gr3FSq_ONMCKl9zMS94N8nUNjTlSEMcBJpvZALvzEOti0SFIkxmXQqcXv1Z221sqqX2uKH1foHKKlfSp8OKJ6NyPtWXVB0ADOckibtbu9LUDCjeMd5JIrBN5EzynmSG-aVlOFWGPz0IOG12zR3Uhj-RLwtPUfIPbfve9L2OZxwryRjR217hgWJrw6smDqdB-90tsSzdgGwXgraa3X8EOfu677a62N1yoKHUq9zg-kwgURHQVgKt9_r1ciGIMjYgZLBPo97EUnbbzQvbxOZaLFLKO1_kGzgv878nQ","p":"4FlT0uju20MpQ0cszO-gNS4_-NT8DNGC41UyTgL-AMuCujmmOdnl1EEcn-Fi8lZVD98goZhviHzNLdwVxLnJEAHoCnH5O_NJuxWg13vFlSGurkrbM0buqcds_v0B_v6mEa3cDJwtEaLw9kdI-pwrT9ZZ_4vVc0QhT_KtQYnp-bU","q":"wVT5Fi1_8LNG8Y7io4Pza7TbX4BtGgazlWfS-3id5bF9uQ18qHZ-Qb694oDngBa7a04eEj8wx701iWHAGKoKrS3sh2W8d8FwEfho6CKKKxCmSSkI5bKUwtL9Gae2Q9Q173DgoK59cBfrgq3uvNgr5e6nwSukrZMabV4NGyJYqEk"}"#;

/// P-256 private JWK (`edge-jwt keygen --alg ES256`).
pub const P256_PRIVATE_JWK: &str = r#"{"crv":"P-256","d":"ulkDFAtejtI3dbW4NRR_TQ_F6uInBmsXOHRLv-rdwkI","kty":"EC","x":"NFSdXYJ4Y7uFOtuK9thX_mXUFCfrZMyPFGIkd3R-UbI","y":"dx9R5ZcdYKY_zYzn7dtXPAqPG-Eefc6jj7PA3MfZkHc"}"#;

/// A second P-256 private JWK, the attacker's.
pub const ATTACKER_P256_PRIVATE_JWK: &str = r#"{"crv":"P-256","d":"1JGgLAuPSphCVviMZ0Tpt6m9CESPb788r_1Tr0RCOmI","kty":"EC","x":"zdHxbRFRYDQ4Q9hKkHZBna4SQXQ-r18R_fcPXkPCtss","y":"75ttZ7zdHrmpL5hiRQQGj_IPIpUcU4ycwoU5BbQcdPs"}"#;

/// Ed25519 private JWK (`edge-jwt keygen --alg EdDSA`).
pub const ED25519_PRIVATE_JWK: &str = r#"{"crv":"Ed25519","d":"_m16a_HWaMNUVmA-STDvqa51QXlcuKc4Eh3V6OiYDjM","kty":"OKP","x":"Tnv0XRFZ4aEGa0XYzDWDXNzwMKkkfb2oC5W0bx9oBOA"}"#;

/// A second Ed25519 private JWK, the attacker's.
pub const ATTACKER_ED25519_PRIVATE_JWK: &str = r#"{"crv":"Ed25519","d":"mN-cKVMU8_xi7RQOsx2tnIJG-y1GFycMWIZyzqBlkh8","kty":"OKP","x":"XnrXiwmkjxVAR3Q7TKSStb5iM_QB7yjIPuwPYXaZpJU"}"#;

/// The P-256 group order n, big-endian.
pub const P256_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// Codes `Validator::verify` may return (no revocation, no config).
pub const VERIFY_CODES: [&str; 15] = [
    "malformed",
    "too_large",
    "unsupported_header",
    "alg_not_allowed",
    "unknown_kid",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "iat_in_future",
    "bad_issuer",
    "bad_audience",
    "missing_claim",
    "invalid_claim",
    "ttl_exceeds_track",
    "unknown_track",
];

/// Codes a token can get before its signature has verified (no `typ` configured). A token that
/// was altered after signing must always end with one of these, never with a claim code.
pub const PRE_SIGNATURE_CODES: [&str; 6] = [
    "malformed",
    "too_large",
    "unsupported_header",
    "alg_not_allowed",
    "unknown_kid",
    "bad_signature",
];

/// The stable code of a result: `"ok"` on success, else the error's code string.
pub fn code<T>(result: &Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.code().code(),
    }
}

/// base64url without padding.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    Base64UrlUnpadded::encode_string(bytes.as_ref())
}

/// Strict base64url decoding (panics on bad input: fixtures only).
pub fn unb64(text: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(text).expect("fixture base64url")
}

/// Parses a JWK constant.
pub fn jwk(private_jwk: &str) -> Value {
    serde_json::from_str(private_jwk).expect("fixture JWK is JSON")
}

/// The public half of a private JWK (private members removed).
pub fn public_jwk(private_jwk: &str) -> Value {
    public_part(&jwk(private_jwk))
}

/// `jwk` without its private members (a validator refuses a private key in `keys`).
pub fn public_part(jwk: &Value) -> Value {
    let mut value = jwk.clone();
    if value["kty"] != "oct" {
        let object = value.as_object_mut().expect("JWK object");
        for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            object.remove(member);
        }
    }
    value
}

/// A copy of `jwk` with `kid` and/or `alg` set.
pub fn with_params(mut jwk: Value, kid: Option<&str>, alg: Option<&str>) -> Value {
    let object = jwk.as_object_mut().expect("JWK object");
    if let Some(kid) = kid {
        object.insert("kid".into(), kid.into());
    }
    if let Some(alg) = alg {
        object.insert("alg".into(), alg.into());
    }
    jwk
}

/// An `oct` JWK holding `secret`'s bytes.
pub fn oct_jwk(secret: &[u8]) -> Value {
    json!({"kty": "oct", "k": b64(secret)})
}

/// A signer for `private_jwk` (one of the constants, without its own `alg`) using `alg`.
pub fn signer(private_jwk: &str, alg: Alg) -> Signer {
    Signer::from_jwk(private_jwk, Some(alg)).expect("fixture signer")
}

/// An HMAC signer over arbitrary secret bytes (`Signer::from_secret` takes text, and the
/// key-confusion tests need the exact bytes of a PEM or JWK).
pub fn hmac_signer(secret: &[u8], alg: Alg) -> Signer {
    Signer::from_jwk(&oct_jwk(secret).to_string(), Some(alg)).expect("fixture HMAC signer")
}

/// The PEM (SPKI, `-----BEGIN PUBLIC KEY-----`) of an RSA JWK's public half, the bytes a naive
/// library would use as an HMAC secret in the classic key-confusion attack.
pub fn rsa_public_pem(rsa_jwk: &str) -> String {
    use rsa::pkcs8::EncodePublicKey;
    let value = jwk(rsa_jwk);
    let n = unb64(value["n"].as_str().expect("n"));
    let e = unb64(value["e"].as_str().expect("e"));
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&n),
        rsa::BigUint::from_bytes_be(&e),
    )
    .expect("fixture RSA key");
    let der = key.to_public_key_der().expect("SPKI DER");
    let body = Base64::encode_string(der.as_bytes());
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

/// Config JSON: `algorithms`, optional `secret`, `keys` (omitted when empty; the public part of
/// each, as a validator's config holds), and every member of `extra` (an object) added on top.
pub fn policy_json(
    algorithms: &[&str],
    secret: Option<&str>,
    keys: &[Value],
    extra: Value,
) -> String {
    let mut config = Map::new();
    config.insert("algorithms".into(), json!(algorithms));
    if let Some(secret) = secret {
        config.insert("secret".into(), secret.into());
    }
    if !keys.is_empty() {
        config.insert("keys".into(), keys.iter().map(public_part).collect());
    }
    match extra {
        Value::Object(extra) => config.extend(extra),
        Value::Null => {}
        other => panic!("extra config must be an object, not {other}"),
    }
    Value::Object(config).to_string()
}

/// A validator for config JSON that must be valid (panics with the config error otherwise).
pub fn validator(config_json: &str) -> Validator {
    match Validator::from_json(config_json) {
        Ok(v) => v,
        Err(e) => panic!("fixture config rejected: {e}\n{config_json}"),
    }
}

/// `{"algorithms":["HS256"],"secret":HMAC_SECRET}` plus `extra`.
pub fn hs256_validator(extra: Value) -> Validator {
    validator(&policy_json(&["HS256"], Some(HMAC_SECRET), &[], extra))
}

/// HS256 signer over [`HMAC_SECRET`].
pub fn hs256() -> Signer {
    Signer::from_secret(HMAC_SECRET, Alg::HS256).expect("fixture secret")
}

/// `{"algorithms":["ES256"],"keys":[the public P-256 fixture key]}` plus `extra`.
pub fn ec_validator(extra: Value) -> Validator {
    validator(&policy_json(
        &["ES256"],
        None,
        &[public_jwk(P256_PRIVATE_JWK)],
        extra,
    ))
}

/// ES256 signer over [`P256_PRIVATE_JWK`].
pub fn es256() -> Signer {
    signer(P256_PRIVATE_JWK, Alg::ES256)
}

/// Asserts that `v` answers `token` at [`NOW`] with `expected` (a code, or `"ok"`).
pub fn assert_code(v: &Validator, token: &str, expected: &str, what: &str) {
    let result = v.verify(token, NOW);
    assert_eq!(
        code(&result),
        expected,
        "{what}: {:?}",
        result.as_ref().err().map(Error::message)
    );
}

/// An HS256 token over exactly this payload text (header `{"alg":"HS256","typ":"JWT"}`).
pub fn signed_raw_payload(payload: &str) -> String {
    sign_text(&hs256(), r#"{"alg":"HS256","typ":"JWT"}"#, payload)
}

/// Asserts that a message contains none of `forbidden` (tokens, secrets, key material).
pub fn assert_clean(what: &str, text: &str, forbidden: &[String]) {
    for needle in forbidden {
        assert!(
            !text.contains(needle.as_str()),
            "{what}: message {text:?} contains {needle:?}"
        );
    }
}

/// Claims valid at [`NOW`] under the default policy: sub, jti, iat = now, exp = now + 600,
/// track 1.
pub fn claims() -> Value {
    json!({"sub": "alice", "jti": "jti-0001", "iat": NOW, "exp": NOW + 600, "track": 1})
}

/// [`claims`] with members replaced or added (`null` removes a member).
pub fn claims_with(changes: Value) -> Value {
    let mut base = claims();
    let object = base.as_object_mut().expect("claims object");
    for (name, value) in changes.as_object().expect("changes object") {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    base
}

/// A compact JWS over exactly these header and payload texts, signed by `signer` whatever the
/// header says (the header is not parsed here).
pub fn sign_text(signer: &Signer, header: &str, payload: &str) -> String {
    sign_bytes(signer, header.as_bytes(), payload.as_bytes())
}

/// As [`sign_text`], for arbitrary bytes.
pub fn sign_bytes(signer: &Signer, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = signer.sign(input.as_bytes());
    format!("{input}.{}", b64(signature))
}

/// As [`sign_text`], serializing JSON values.
pub fn sign_json(signer: &Signer, header: &Value, payload: &Value) -> String {
    sign_text(signer, &header.to_string(), &payload.to_string())
}

/// `{"alg": signer's alg, "typ": "JWT"}` + kid when the caller gives one.
pub fn header_for(signer: &Signer, kid: Option<&str>) -> Value {
    let mut header = json!({"alg": signer.alg().name(), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = kid.into();
    }
    header
}

/// A token signed by `signer` with the standard header (no kid) and `payload`.
pub fn token(signer: &Signer, payload: &Value) -> String {
    sign_json(signer, &header_for(signer, None), payload)
}

/// The three segments of a compact token (panics unless there are exactly three).
pub fn segments(token: &str) -> [&str; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "fixture token has three segments");
    [parts[0], parts[1], parts[2]]
}

/// The same token with its signature replaced by `signature`.
pub fn with_signature(token: &str, signature: &[u8]) -> String {
    let [h, p, _] = segments(token);
    format!("{h}.{p}.{}", b64(signature))
}

/// The same token with bit `bit` of its decoded signature flipped.
pub fn flip_signature_bit(token: &str, bit: usize) -> String {
    let mut signature = unb64(segments(token)[2]);
    signature[bit / 8] ^= 1 << (bit % 8);
    with_signature(token, &signature)
}

/// The same token with its payload segment replaced by `payload` (signature kept).
pub fn with_payload(token: &str, payload: &str) -> String {
    let [h, _, s] = segments(token);
    format!("{h}.{}.{s}", b64(payload))
}

/// Big-endian 32-byte subtraction `a - b` (a >= b), for ECDSA scalar tricks.
pub fn sub_be32(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    assert_eq!(b.len(), 32);
    let mut out = [0_u8; 32];
    let mut borrow = 0_u8;
    for i in (0..32).rev() {
        let (d, under_b) = a[i].overflowing_sub(b[i]);
        let (d, under_borrow) = d.overflowing_sub(borrow);
        out[i] = d;
        borrow = u8::from(under_b || under_borrow);
    }
    assert_eq!(borrow, 0, "a >= b");
    out
}

/// A small deterministic PRNG (xorshift64*), so sweeps are reproducible without another crate.
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n).expect("usize fits in u64");
        usize::try_from(self.next_u64() % n).expect("below a usize")
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The Ed25519 group order L, little-endian (RFC 8032 5.1).
pub const ED25519_ORDER_LE: [u8; 32] = [
    0xED, 0xD3, 0xF5, 0x5C, 0x1A, 0x63, 0x12, 0x58, 0xD6, 0x9C, 0xF7, 0xA2, 0xDE, 0xF9, 0xDE, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// Little-endian 32-byte addition `a + b` (no overflow expected), for Ed25519 scalar tricks.
pub fn add_le32(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
    assert_eq!(a.len(), 32);
    let mut out = [0_u8; 32];
    let mut carry = 0_u16;
    for i in 0..32 {
        let [low, high] = (u16::from(a[i]) + u16::from(b[i]) + carry).to_le_bytes();
        out[i] = low;
        carry = u16::from(high);
    }
    assert_eq!(carry, 0, "no overflow");
    out
}

/// A DPoP proof for `method url` made by the core's `create_proof` at [`NOW`], with `ath` for
/// `token` and the server `nonce` when given.
pub fn dpop_proof(
    signer: &Signer,
    method: &str,
    url: &str,
    token: Option<&str>,
    nonce: Option<&str>,
) -> String {
    let request = edge_jwt::dpop::ProofFor {
        method,
        url,
        access_token: token,
        nonce,
    };
    edge_jwt::dpop::create_proof(signer, &request, NOW, &mut rand_core::OsRng).unwrap()
}
