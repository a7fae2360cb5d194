//! Writes the seed corpus `fuzz/seeds/`: valid tokens of every algorithm (minted at the harness's
//! fixed `NOW` with its fixed keys, so they verify inside the fuzz targets) and attack tokens.
//!
//! `cargo run --example make_seeds` from `fuzz/` (stable is fine). Tokens minted with the
//! randomised signers (EdDSA noise, PS256 salt) differ between runs; the others are reproducible.

use std::path::Path;

use edge_jwt_fuzz::{b64, cases, policies, signers, unb64, NOW};
use serde_json::{json, Value};

/// Indices into `signers()`.
const HS: usize = 0;
const CONFUSED_RSA: usize = 5;
const CONFUSED_EC: usize = 6;
const WRONG: usize = 7;

fn segment(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

/// `header.payload` signed by signer `by`.
fn signed(header: &str, payload: &str, by: usize) -> String {
    let input = format!("{header}.{payload}");
    let sig = signers()[by].signer.sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn claims(extra: Value) -> Value {
    let mut claims = json!({"sub": "mallory", "jti": "00000000000000000000000000000001",
        "iat": NOW, "exp": NOW + 600, "track": 4});
    if let (Some(base), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        base.extend(extra);
    }
    claims
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    std::fs::create_dir_all(&dir).expect("create seeds/");
    let mut seeds: Vec<(String, String)> = Vec::new();

    // Valid tokens: every token minted at start-up (RS256 and PS256 under the RSA policy).
    for case in cases() {
        let alg = signers()[case.minted_by].signer.alg();
        seeds.push((format!("valid-{}-{alg}", case.name), case.token.clone()));
    }
    let hs_header = segment(&json!({"alg": "HS256", "typ": "JWT"}));
    let good = segment(&claims(json!({})));
    let es_token = &cases()
        .iter()
        .find(|c| c.name == "es256")
        .expect("es256")
        .token;
    let (es_input, _) = es_token.rsplit_once('.').expect("three segments");

    // alg none, in two spellings, with and without an empty signature.
    for (name, alg) in [("none", "none"), ("NoNe", "NoNe")] {
        let header = segment(&json!({"alg": alg, "typ": "JWT"}));
        seeds.push((format!("attack-alg-{name}"), format!("{header}.{good}.")));
    }
    seeds.push((
        "attack-alg-none-sig".into(),
        format!("{}.{good}.c2ln", segment(&json!({"alg": "none"}))),
    ));
    // Key confusion: HS256 keyed with the RSA / EC public JWK text, naming those keys' kids.
    for (name, by, kid) in [
        ("rsa", CONFUSED_RSA, "fuzz-rs256"),
        ("ec", CONFUSED_EC, "fuzz-es256"),
    ] {
        let header = segment(&json!({"alg": "HS256", "kid": kid}));
        seeds.push((
            format!("attack-key-confusion-{name}"),
            signed(&header, &good, by),
        ));
    }
    // CVE-2022-21449: r = s = 0.
    seeds.push((
        "attack-es256-zero-signature".into(),
        format!("{es_input}.{}", b64(&[0_u8; 64])),
    ));
    // Embedded attacker key (jwk, jku) with a signature by that key.
    let jwk_header = segment(&json!({"alg": "HS256",
        "jwk": {"kty": "oct", "k": b64(edge_jwt_fuzz::keys::WRONG_SECRET.as_bytes())},
        "jku": "https://attacker.example/jwks.json"}));
    seeds.push((
        "attack-embedded-jwk".into(),
        signed(&jwk_header, &good, WRONG),
    ));
    // Header rules, correctly signed so that only the rule rejects.
    for (name, header) in [
        ("crit", json!({"alg": "HS256", "crit": ["exp"], "exp": 1})),
        ("b64-false", json!({"alg": "HS256", "b64": false})),
        (
            "kid-traversal",
            json!({"alg": "HS256", "kid": "../../../../etc/passwd"}),
        ),
        ("kid-number", json!({"alg": "HS256", "kid": 5})),
    ] {
        seeds.push((
            format!("attack-{name}"),
            signed(&segment(&header), &good, HS),
        ));
    }
    let nested = format!(
        r#"{{"alg":"HS256","x":{}{}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    seeds.push((
        "attack-nested-header".into(),
        signed(&b64(nested.as_bytes()), &good, HS),
    ));
    // Claims, correctly signed: each must fail on its own rule.
    for (name, extra) in [
        ("expired", json!({"exp": NOW - 3600, "iat": NOW - 3700})),
        ("exp-string", json!({"exp": (NOW + 60).to_string()})),
        ("exp-float", json!({"exp": NOW as f64 + 60.75})),
        ("exp-negative", json!({"exp": -1})),
        ("exp-1e300", json!({"exp": 1e300})),
        ("nbf-future", json!({"nbf": NOW + 3600})),
        ("iat-future", json!({"iat": NOW + 3600, "exp": NOW + 3700})),
        ("track4-2h", json!({"exp": NOW + 7200})),
        ("track4-exactly-3600", json!({"exp": NOW + 3600})),
        ("track-string-4", json!({"track": "4"})),
        ("track-04", json!({"track": "04"})),
        ("track-float", json!({"track": 4.0})),
        ("aud-array-mismatch", json!({"aud": ["x", "y"]})),
        ("aud-empty-array", json!({"aud": []})),
    ] {
        seeds.push((
            format!("claims-{name}"),
            signed(&hs_header, &segment(&claims(extra)), HS),
        ));
    }
    let duplicate = format!(
        r#"{{"exp":{},"exp":{},"jti":"x"}}"#,
        NOW + 60,
        NOW + 999_999
    );
    seeds.push((
        "attack-duplicate-exp".into(),
        signed(&hs_header, &b64(duplicate.as_bytes()), HS),
    ));
    // Expired and tampered: must say bad_signature, never expired.
    let valid_hs = &cases()[0].token;
    let (hs_input, hs_sig) = valid_hs.rsplit_once('.').expect("three segments");
    let (hs_head, _) = hs_input.split_once('.').expect("three segments");
    let expired = segment(&claims(json!({"exp": NOW - 10})));
    seeds.push((
        "attack-expired-and-tampered".into(),
        format!("{hs_head}.{expired}.{hs_sig}"),
    ));
    // Structure: 2, 4, 5 segments, padding, whitespace, a signature with one bit flipped.
    seeds.push(("struct-two-segments".into(), hs_input.to_owned()));
    seeds.push(("struct-four-segments".into(), format!("{valid_hs}.e30")));
    seeds.push(("struct-five-segments".into(), format!("{valid_hs}.e30.e30")));
    seeds.push(("struct-padding".into(), format!("{valid_hs}==")));
    seeds.push(("struct-whitespace".into(), format!(" {valid_hs}\n")));
    let mut flipped = unb64(hs_sig).expect("base64url");
    flipped[0] ^= 1;
    seeds.push((
        "struct-flipped-signature".into(),
        format!("{hs_input}.{}", b64(&flipped)),
    ));
    // One byte over the default 8192-byte limit.
    let pad = "A".repeat(8193 - hs_input.len() - 1 - hs_sig.len() - 1);
    let big = segment(&claims(json!({ "pad": pad })));
    let mut large = signed(&hs_header, &big, HS);
    large.truncate(8193);
    seeds.push(("struct-too-large".into(), large));

    let names: Vec<&str> = policies().map(|c| c.name).collect();
    println!("{:<32} {}", "seed", names.join(" / "));
    for (name, token) in &seeds {
        std::fs::write(dir.join(format!("{name}.jwt")), token).expect("write seed");
        let verdicts: Vec<String> = policies()
            .map(|c| match c.validator.verify(token, NOW) {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.code().code().to_owned(),
            })
            .collect();
        println!("{name:<32} {}", verdicts.join(" / "));
    }
    println!("{} seeds in {}", seeds.len(), dir.display());
}
