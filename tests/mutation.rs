//! No-panic sweep: mutated and random tokens, and mutated header and payload JSON signed
//! properly, only ever get documented codes.

mod common;

use common::*;
use edge_jwt::{Alg, ErrorCode};
use serde_json::Value;

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
