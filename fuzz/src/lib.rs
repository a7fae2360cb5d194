//! Shared set-up for the edge-jwt fuzz targets: fixed keys, the validators under test, the
//! signers that mint and re-sign tokens, and an independent model of the documented policy
//! semantics ([`model`]) that the `structured` target compares `Validator::verify` against.
//!
//! Everything is deterministic: keys are constants, `now` is [`NOW`], and tokens are minted with a
//! fixed-seed RNG, so a reproducer means the same thing on every run.

pub mod keys;
pub mod model;

use std::sync::OnceLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use edge_jwt::{Alg, IssueRequest, Signer, Validator};
use rand_core::{CryptoRng, RngCore};
use serde_json::{json, Map, Value};

pub use model::{KeyLabel, KeyModel, PolicyModel};

/// The fixed clock of every verification (2023-11-14T22:13:20Z).
pub const NOW: u64 = 1_700_000_000;

/// One policy under test: its model, the validator built from the model's config, and the token
/// minted under it at [`NOW`].
pub struct Case {
    /// Short name, for messages.
    pub name: &'static str,
    /// What the policy should do, as the documentation says.
    pub model: PolicyModel,
    /// The validator built from `model.config_json()`.
    pub validator: Validator,
    /// Index into [`signers`] of the signer that minted `token`.
    pub minted_by: usize,
    /// A token valid at [`NOW`] under this case's policy.
    pub token: String,
}

/// A signer and the key label the models know it by.
pub struct SignerEntry {
    /// Which key signs (models compare labels, never key bytes).
    pub label: KeyLabel,
    /// The signer itself.
    pub signer: Signer,
}

/// splitmix64 behind the `CryptoRng` marker. Only for minting fuzz tokens reproducibly (the `jti`
/// is its sole use); never use it for anything real.
pub struct FixedRng(u64);

impl FixedRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
}

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for FixedRng {}

/// Every signer the targets use: the five real keys, then three that must never be accepted
/// anywhere (HS256 keyed with the RSA or EC public JWK text — key confusion — and a wrong secret).
pub fn signers() -> &'static [SignerEntry] {
    static SIGNERS: OnceLock<Vec<SignerEntry>> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        let jwk = |label, text| SignerEntry {
            label,
            signer: Signer::from_jwk(text, None).expect("fixed private JWK"),
        };
        let secret = |label, text| SignerEntry {
            label,
            signer: Signer::from_secret(text, Alg::HS256).expect("fixed secret"),
        };
        vec![
            secret(KeyLabel::Hs, keys::HS256_SECRET),
            jwk(KeyLabel::Es, keys::ES256_PRIVATE),
            jwk(KeyLabel::Ed, keys::EDDSA_PRIVATE),
            jwk(KeyLabel::Rs, keys::RS256_PRIVATE),
            jwk(KeyLabel::Ps, keys::PS256_PRIVATE),
            secret(KeyLabel::ConfusedRsa, keys::RS256_PUBLIC),
            secret(KeyLabel::ConfusedEc, keys::ES256_PUBLIC),
            secret(KeyLabel::WrongSecret, keys::WRONG_SECRET),
        ]
    })
}

fn key(label: KeyLabel, kid: Option<&'static str>, own_alg: Option<Alg>) -> KeyModel {
    KeyModel {
        label,
        kid,
        own_alg,
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn models() -> Vec<(&'static str, PolicyModel, usize, IssueRequest)> {
    let es = || key(KeyLabel::Es, Some("fuzz-es256"), Some(Alg::ES256));
    let ed = || key(KeyLabel::Ed, Some("fuzz-eddsa"), Some(Alg::EdDSA));
    let rs = || key(KeyLabel::Rs, Some("fuzz-rs256"), Some(Alg::RS256));
    let ps = || key(KeyLabel::Ps, Some("fuzz-ps256"), Some(Alg::PS256));
    let hs = || key(KeyLabel::Hs, None, None);
    let rsa_policy = || PolicyModel {
        algorithms: vec![Alg::RS256, Alg::PS256],
        keys: vec![rs(), ps()],
        audiences: Some(strings(&["api"])),
        leeway_s: 300,
        required: strings(&["exp"]),
        ..PolicyModel::default()
    };
    let request =
        |sub: &str, track: Option<&str>, ttl_s: Option<u64>, claims: Value| IssueRequest {
            sub: Some(sub.to_owned()),
            track: track.map(str::to_owned),
            ttl_s,
            claims: match claims {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        };
    vec![
        (
            // Defaults everywhere: secret only (token kids ignored), default track table.
            "hs256",
            PolicyModel {
                algorithms: vec![Alg::HS256],
                keys: vec![hs()],
                ..PolicyModel::default()
            },
            0,
            request("alice", Some("4"), None, json!({})),
        ),
        (
            // Issuer, audiences, typ, extra required claims, a renamed track claim, unknown tracks
            // rejected, a smaller size limit.
            "es256",
            PolicyModel {
                algorithms: vec![Alg::ES256],
                keys: vec![es()],
                issuers: Some(strings(&["https://issuer.fuzz"])),
                audiences: Some(strings(&["api", "web"])),
                required: strings(&["exp", "jti", "sub", "iat"]),
                typ: Some("at+jwt".into()),
                track_claim: "lvl".into(),
                unknown_reject: true,
                max_token_bytes: 4096,
                ..PolicyModel::default()
            },
            1,
            request("bob", Some("2"), Some(600), json!({"scope": "read"})),
        ),
        (
            // No leeway, two issuers, a JWKS object, no track: the default ceiling (100 s) applies.
            "eddsa",
            PolicyModel {
                algorithms: vec![Alg::EdDSA],
                keys: vec![ed()],
                jwks_object: true,
                leeway_s: 0,
                issuers: Some(strings(&["a", "b"])),
                default_ttl_s: 100,
                ..PolicyModel::default()
            },
            2,
            request("carol", None, None, json!({"role": "admin", "n": [1, 2]})),
        ),
        (
            // Two RSA keys (RS256 and PS256), one audience, maximum leeway, only exp required.
            "rsa",
            rsa_policy(),
            3,
            request("dave", Some("1"), Some(3600), json!({})),
        ),
        (
            // The same RSA policy, with a PS256 token (PS256 signing is randomised).
            "rsa",
            rsa_policy(),
            4,
            request("dave", Some("1"), Some(3600), json!({})),
        ),
        (
            // Rotation / mixed families: a secret without kid next to three JWKs with kids; and
            // the RSA policy's claim settings, so that they are explored with cheap re-signing.
            "mixed",
            PolicyModel {
                algorithms: vec![Alg::HS256, Alg::ES256, Alg::EdDSA, Alg::RS256],
                keys: vec![hs(), es(), ed(), rs()],
                audiences: Some(strings(&["api"])),
                leeway_s: 300,
                required: strings(&["exp"]),
                ..PolicyModel::default()
            },
            0,
            request("erin", Some("3"), Some(7200), json!({})),
        ),
    ]
}

/// The policies under test, built once, each with a token minted at [`NOW`].
pub fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let mut rng = FixedRng::new(0x5eed);
        models()
            .into_iter()
            .map(|(name, model, minted_by, request)| {
                let validator = Validator::from_json(&model.config_json().to_string())
                    .unwrap_or_else(|e| panic!("{name}: config refused: {e}"));
                let issued = edge_jwt::issue(
                    validator.policy(),
                    &signers()[minted_by].signer,
                    request,
                    NOW,
                    &mut rng,
                )
                .unwrap_or_else(|e| panic!("{name}: cannot mint: {e}"));
                if let Err(e) = validator.verify(&issued.token, NOW) {
                    panic!("{name}: freshly minted token refused: {e}");
                }
                Case {
                    name,
                    model,
                    validator,
                    minted_by,
                    token: issued.token,
                }
            })
            .collect()
    })
}

/// One case per distinct policy (several cases may share a policy, with different tokens).
pub fn policies() -> impl Iterator<Item = &'static Case> {
    let all = cases();
    all.iter()
        .enumerate()
        .filter(move |(i, case)| all[..*i].iter().all(|c| c.name != case.name))
        .map(|(_, case)| case)
}

/// Strict base64url without padding, as JWS uses.
pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes strict base64url; `None` when it is not.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text).ok()
}
