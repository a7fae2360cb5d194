//! The added cost of a DPoP check per request: the gateway's whole decision
//! (`EdgePolicy::plan`, the token verified, `EdgePolicy::conclude`) for a plain bearer request
//! against the same request with the DPoP scheme and a proof (ES256, EdDSA), natively.
//!
//! - `gateway/bearer`: an HS256 token with `Authorization: Bearer`, on a route with `dpop` off.
//! - `gateway/dpop_es256`, `gateway/dpop_eddsa`: a `cnf.jkt` token of the same size class with
//!   `Authorization: DPoP` and a fresh proof on a `dpop: required` route: decide, proof parse,
//!   `jwk` import, signature, claims, `ath`, thumbprint, replay memory.
//! - `proof/es256`, `proof/eddsa`: the proof check alone (`ProofChecker::check`).
//!
//! Every proof is made outside timing (`iter_batched`), a new one per iteration (a proof
//! passes once). The token is HMAC so that the difference is the DPoP step's.
//!
//! Run: `cargo bench --bench dpop`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark's set-up that fails must stop the run, not be measured"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use edge_jwt::dpop::{create_proof, jwk_thumbprint, ProofChecker, ProofFor, ProofRequest};
use edge_jwt::gateway::decision::{borrowed_pairs, Plan, RequestParts};
use edge_jwt::gateway::edge_policy::load;
use edge_jwt::gateway::EdgePolicy;
use edge_jwt::{Alg, IssueRequest, Signer, Validator};
use rand_core::OsRng;
use serde_json::{json, Value};

const SECRET: &str = "bench-dpop-hmac-secret-0123456789abcdef";
const NOW: u64 = 1_700_000_000;
const URL: &str = "https://api.example.com/orders/42";
const P256: &str = r#"{"crv":"P-256","d":"ulkDFAtejtI3dbW4NRR_TQ_F6uInBmsXOHRLv-rdwkI","kty":"EC","x":"NFSdXYJ4Y7uFOtuK9thX_mXUFCfrZMyPFGIkd3R-UbI","y":"dx9R5ZcdYKY_zYzn7dtXPAqPG-Eefc6jj7PA3MfZkHc"}"#;
const ED25519: &str = r#"{"crv":"Ed25519","d":"_m16a_HWaMNUVmA-STDvqa51QXlcuKc4Eh3V6OiYDjM","kty":"OKP","x":"Tnv0XRFZ4aEGa0XYzDWDXNzwMKkkfb2oC5W0bx9oBOA"}"#;

fn gateway() -> (Validator, EdgePolicy) {
    let config = json!({
        "algorithms": ["HS256"], "secret": SECRET,
        "routes": [{"path": "/orders/*", "dpop": "required"}, {"path": "/plain/*"}],
        // Every iteration's proof stays remembered (the clock stands still): room for all.
        "gateway": {"dpop": {"replay_cache_size": 1_000_000}}
    });
    load(&config.to_string()).unwrap()
}

fn mint(validator: &Validator, claims: Value) -> String {
    let signer = Signer::from_secret(SECRET, Alg::HS256).unwrap();
    let request = IssueRequest {
        sub: Some("alice".into()),
        claims: claims.as_object().cloned().unwrap_or_default(),
        ..Default::default()
    };
    edge_jwt::issue(validator.policy(), &signer, request, NOW, &mut OsRng)
        .unwrap()
        .token
}

fn jkt(private_jwk: &str) -> String {
    let mut jwk: Value = serde_json::from_str(private_jwk).unwrap();
    jwk.as_object_mut().unwrap().remove("d");
    jwk_thumbprint(jwk.as_object().unwrap()).unwrap()
}

fn proof(signer: &Signer, url: &str, token: &str) -> String {
    let request = ProofFor {
        method: "GET",
        url,
        access_token: Some(token),
        nonce: None,
    };
    create_proof(signer, &request, NOW, &mut OsRng).unwrap()
}

fn decide(gw: &(Validator, EdgePolicy), path: &str, headers: &[(String, String)]) -> bool {
    let url = format!("https://api.example.com{path}");
    let headers = borrowed_pairs(headers);
    let request = RequestParts::new("GET", path, &headers, false).with_uri(&url);
    match gw.1.plan(&request) {
        Plan::Verify(pending) => {
            let verified = gw.0.verify(&pending.token, NOW).unwrap();
            gw.1.conclude(&request, &pending, Ok(&verified), NOW)
                .is_ok()
        }
        _ => false,
    }
}

fn benches(c: &mut Criterion) {
    let gw = gateway();
    let plain = mint(&gw.0, json!({}));
    let bearer = vec![("authorization".to_owned(), format!("Bearer {plain}"))];
    assert!(decide(&gw, "/plain/42", &bearer));

    let mut group = c.benchmark_group("gateway");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("bearer", |b| {
        b.iter(|| assert!(decide(&gw, black_box("/plain/42"), black_box(&bearer))));
    });
    for (name, jwk, alg) in [
        ("dpop_es256", P256, Alg::ES256),
        ("dpop_eddsa", ED25519, Alg::EdDSA),
    ] {
        let signer = Signer::from_jwk(jwk, Some(alg)).unwrap();
        let token = mint(&gw.0, json!({"cnf": {"jkt": jkt(jwk)}}));
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    vec![
                        ("authorization".to_owned(), format!("DPoP {token}")),
                        ("dpop".to_owned(), proof(&signer, URL, &token)),
                    ]
                },
                |headers| assert!(decide(&gw, "/orders/42", &headers)),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();

    let mut group = c.benchmark_group("proof");
    let checker = ProofChecker::default();
    for (name, jwk, alg) in [("es256", P256, Alg::ES256), ("eddsa", ED25519, Alg::EdDSA)] {
        let signer = Signer::from_jwk(jwk, Some(alg)).unwrap();
        let bound = jkt(jwk);
        let one = proof(&signer, URL, "an.access.token");
        group.bench_function(name, |b| {
            b.iter(|| {
                let headers = [one.as_str()];
                let request = ProofRequest {
                    dpop_headers: &headers,
                    method: "GET",
                    uri: URL,
                    access_token: Some("an.access.token"),
                    jkt: Some(&bound),
                    nonce: None,
                };
                black_box(checker.check(&request, NOW).unwrap())
            });
        });
    }
    group.finish();
}

criterion_group!(dpop, benches);
criterion_main!(dpop);
