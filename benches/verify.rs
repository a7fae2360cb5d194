//! Full verification per algorithm against the raw signature check of the same backend.
//!
//! For every algorithm: one generated key, 1,000 distinct tokens (distinct `sub` and `jti`,
//! tracks 1–4, `iss`/`aud`/`typ` set) and a policy with issuer, audience, `typ` and required
//! claims, so every check of `Validator::verify` runs. All of that is set up outside timing.
//! Each iteration handles the next token in turn, never the same one twice in a row.
//!
//! Benchmarks, per algorithm (`<ALG>/<name>`):
//! - `full_verify`: `Validator::verify(token, now)`, everything included.
//! - `raw_signature`: `edge_jwt::verify::verify_signature` on the pre-split, pre-decoded signing
//!   input and signature: jwt-compact's backend alone, the floor for `full_verify`.
//! - `parse_only`: `edge_jwt::token::parse`: size, structure, base64url and header checks.
//! - `ring`: ring 0.17 verifying the same signing inputs and signatures (baseline backend).
//!
//! Run: `cargo bench --bench verify` (`EDGE_JWT_BENCH_ALGS=HS256,EdDSA` for a subset). Results
//! and machine facts: benches/README.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark's set-up that fails must stop the run, not be measured"
)]

use std::hint::black_box;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use edge_jwt::keygen;
use edge_jwt::token::{self, HeaderCache, DEFAULT_MAX_TOKEN_BYTES};
use edge_jwt::verify::verify_signature;
use edge_jwt::{issue, Alg, IssueRequest, Signer, Validator};
use rand_core::OsRng;
use ring::signature::{self as ring_sig, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{json, Map, Value};

/// Distinct tokens per algorithm.
const TOKENS: usize = 1_000;
const ISSUER: &str = "https://issuer.bench.example";
const AUDIENCE: &str = "bench-api";
/// All tokens are minted at this time and verified a minute later (inside every track ceiling).
const ISSUED_AT: u64 = 1_700_000_000;
const NOW: u64 = ISSUED_AT + 60;

const ALGS: [Alg; 12] = Alg::ALL;

/// The same key as ring sees it, parsed once outside timing.
enum RingVerifier {
    Hmac(ring::hmac::Key),
    Rsa(
        RsaPublicKeyComponents<Vec<u8>>,
        &'static ring_sig::RsaParameters,
    ),
    /// ECDSA P-256 (uncompressed point `04||x||y`) or Ed25519 (`x`).
    Public(UnparsedPublicKey<Vec<u8>>),
}

impl RingVerifier {
    fn new(alg: Alg, private_jwk: &Value, public_jwk: &Value) -> Self {
        let member = |jwk: &Value, name: &str| -> Vec<u8> {
            let text = jwk[name]
                .as_str()
                .unwrap_or_else(|| panic!("JWK member {name} missing"));
            Base64UrlUnpadded::decode_vec(text).expect("JWK members are base64url")
        };
        let rsa = |params: &'static ring_sig::RsaParameters| {
            RingVerifier::Rsa(
                RsaPublicKeyComponents {
                    n: member(public_jwk, "n"),
                    e: member(public_jwk, "e"),
                },
                params,
            )
        };
        let hmac = |hash| RingVerifier::Hmac(ring::hmac::Key::new(hash, &member(private_jwk, "k")));
        match alg {
            Alg::HS256 => hmac(ring::hmac::HMAC_SHA256),
            Alg::HS384 => hmac(ring::hmac::HMAC_SHA384),
            Alg::HS512 => hmac(ring::hmac::HMAC_SHA512),
            Alg::RS256 => rsa(&ring_sig::RSA_PKCS1_2048_8192_SHA256),
            Alg::RS384 => rsa(&ring_sig::RSA_PKCS1_2048_8192_SHA384),
            Alg::RS512 => rsa(&ring_sig::RSA_PKCS1_2048_8192_SHA512),
            Alg::PS256 => rsa(&ring_sig::RSA_PSS_2048_8192_SHA256),
            Alg::PS384 => rsa(&ring_sig::RSA_PSS_2048_8192_SHA384),
            Alg::PS512 => rsa(&ring_sig::RSA_PSS_2048_8192_SHA512),
            Alg::ES256 | Alg::ES384 => {
                let mut point = vec![0x04];
                point.extend(member(public_jwk, "x"));
                point.extend(member(public_jwk, "y"));
                let params = match alg {
                    Alg::ES384 => &ring_sig::ECDSA_P384_SHA384_FIXED,
                    _ => &ring_sig::ECDSA_P256_SHA256_FIXED,
                };
                RingVerifier::Public(UnparsedPublicKey::new(params, point))
            }
            Alg::EdDSA => RingVerifier::Public(UnparsedPublicKey::new(
                &ring_sig::ED25519,
                member(public_jwk, "x"),
            )),
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            RingVerifier::Hmac(key) => ring::hmac::verify(key, message, signature).is_ok(),
            RingVerifier::Rsa(components, params) => {
                components.verify(params, message, signature).is_ok()
            }
            RingVerifier::Public(key) => key.verify(message, signature).is_ok(),
        }
    }
}

/// Everything one algorithm's benchmarks need, built outside timing.
struct Fixture {
    alg: Alg,
    validator: Validator,
    tokens: Vec<String>,
    /// Per token: the signing input and the decoded signature.
    split: Vec<(Vec<u8>, Vec<u8>)>,
    ring: RingVerifier,
}

impl Fixture {
    fn new(alg: Alg) -> Self {
        let kid = format!("bench-{}", alg.name().to_ascii_lowercase());
        let key = keygen::generate(alg, Some(&kid), &mut OsRng).expect("key generation");
        // HMAC has no public half: the verifier is configured with the oct JWK itself.
        let public_jwk = match &key.public_jwks {
            Some(jwks) => jwks["keys"][0].clone(),
            None => key.private_jwk.clone(),
        };
        let config = json!({
            "algorithms": [alg.name()],
            "keys": [public_jwk],
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "typ": "JWT",
            "required_claims": ["exp", "jti", "sub", "iat", "iss", "aud"],
        });
        let validator = Validator::from_json(&config.to_string()).expect("bench config is valid");
        let signer = Signer::from_jwk(&key.private_jwk.to_string(), Some(alg)).expect("signer");

        let tokens: Vec<String> = (0..TOKENS)
            .map(|i| {
                let mut claims = Map::new();
                claims.insert("scope".into(), "read write".into());
                let request = IssueRequest {
                    sub: Some(format!("user-{i:04}")),
                    track: Some((i % 4 + 1).to_string()),
                    ttl_s: None,
                    claims,
                };
                issue(validator.policy(), &signer, request, ISSUED_AT, &mut OsRng)
                    .expect("issue")
                    .token
            })
            .collect();
        let mut distinct = tokens.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), TOKENS, "tokens must be distinct");

        let split: Vec<(Vec<u8>, Vec<u8>)> = tokens
            .iter()
            .map(|t| {
                let parsed = token::parse(t, DEFAULT_MAX_TOKEN_BYTES, &HeaderCache::default())
                    .expect("parse");
                (parsed.signing_input.as_bytes().to_vec(), parsed.signature)
            })
            .collect();
        let ring = RingVerifier::new(alg, &key.private_jwk, &public_jwk);

        let fixture = Fixture {
            alg,
            validator,
            tokens,
            split,
            ring,
        };
        fixture.check();
        fixture
    }

    /// Every path being timed must accept every token: a benchmark of a rejection would measure
    /// the wrong thing.
    fn check(&self) {
        let key = self.key();
        for (token, (input, sig)) in self.tokens.iter().zip(&self.split) {
            let verified = self
                .validator
                .verify(token, NOW)
                .unwrap_or_else(|e| panic!("{}: {:?} {}", self.alg, e.code(), e.message()));
            assert!(verified.track.track.is_some());
            assert!(verify_signature(self.alg, key, input, sig));
            assert!(self.ring.verify(input, sig), "{}: ring rejects", self.alg);
        }
        // And the floors are real checks: a flipped signature bit fails both backends.
        let (input, sig) = &self.split[0];
        let mut bad = sig.clone();
        bad[sig.len() / 2] ^= 1;
        assert!(!verify_signature(self.alg, key, input, &bad));
        assert!(!self.ring.verify(input, &bad));
    }

    fn key(&self) -> &edge_jwt::keys::VerificationKey {
        &self.validator.policy().keys.keys()[0]
    }
}

/// Runs `f` on item 0, 1, …, 999, 0, 1, … — one item per iteration.
fn cycle<T, R>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    items: &[T],
    mut f: impl FnMut(&T) -> R,
) {
    group.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            let item = &items[i];
            i += 1;
            if i == items.len() {
                i = 0;
            }
            black_box(f(black_box(item)))
        });
    });
}

/// `EDGE_JWT_BENCH_ALGS=HS256,ES256` restricts the run (and the key generation and minting,
/// which criterion's name filter does not skip) to those algorithms.
fn selected_algs() -> Vec<Alg> {
    match std::env::var("EDGE_JWT_BENCH_ALGS") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|name| {
                Alg::from_name(name.trim())
                    .unwrap_or_else(|| panic!("EDGE_JWT_BENCH_ALGS: unknown alg {name:?}"))
            })
            .collect(),
        _ => ALGS.to_vec(),
    }
}

fn bench_verify(c: &mut Criterion) {
    for alg in selected_algs() {
        let fx = Fixture::new(alg);
        let key = fx.key();
        let mut group = c.benchmark_group(alg.name());
        group
            .sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));

        cycle(&mut group, "full_verify", &fx.tokens, |t| {
            fx.validator.verify(t, NOW)
        });
        cycle(&mut group, "raw_signature", &fx.split, |(input, sig)| {
            verify_signature(alg, key, input, sig)
        });
        // One header cache, as a validator keeps: the tokens share their header segment.
        let headers = HeaderCache::default();
        cycle(&mut group, "parse_only", &fx.tokens, |t| {
            token::parse(t, DEFAULT_MAX_TOKEN_BYTES, &headers).map(|u| u.signature.len())
        });
        cycle(&mut group, "ring", &fx.split, |(input, sig)| {
            fx.ring.verify(input, sig)
        });
        group.finish();
    }
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
