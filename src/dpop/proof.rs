//! DPoP proof validation (RFC 9449 §4.3) and creation (§4.2).

use futures_util::FutureExt;
use serde_json::{Map, Value};

use super::nonce::NonceKey;
use super::thumbprint::{access_token_hash, jwk_thumbprint, same_secret_text};
use super::uri::normalize;
use crate::alg::{Alg, Family};
use crate::error::{Error, ErrorCode, Result};
use crate::keys::VerificationKey;
use crate::token::{self, HeaderCache};
use crate::{claims, json, verify};

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYP: &str = "dpop+jwt";

/// Default [`ProofSettings::max_proof_bytes`]. An RS256 proof with a 4096-bit key and an `ath`
/// is about 2.3 KiB; ES256 and EdDSA proofs are well under 1 KiB.
pub const DEFAULT_MAX_PROOF_BYTES: usize = 4096;

/// Default [`ProofSettings::max_age_s`]: how long after its `iat` a proof is accepted. RFC 9449
/// §11.1 asks for a short window; a proof is made for one request, just before it.
pub const DEFAULT_MAX_AGE_S: u64 = 60;

/// Default [`ProofSettings::future_s`]: how far a proof's `iat` may be ahead of `now` (client
/// clock skew), the same as the tokens' default `leeway_s`.
pub const DEFAULT_FUTURE_S: u64 = 30;

/// Longest `jti` accepted, in bytes. RFC 9449 §4.2 suggests 96 bits of randomness (16
/// base64url characters); a bound keeps the replay memory's keys small.
pub const MAX_JTI_BYTES: usize = 256;

/// The proof algorithms allowed by default: the asymmetric ones every common client makes.
pub const DEFAULT_ALGORITHMS: [Alg; 4] = [Alg::ES256, Alg::EdDSA, Alg::PS256, Alg::RS256];

/// What a proof may be: its algorithms, its `iat` window and its size. Built by
/// [`ProofSettings::new`], which refuses a symmetric algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofSettings {
    algorithms: Vec<Alg>,
    max_age_s: u64,
    future_s: u64,
    max_proof_bytes: usize,
}

impl Default for ProofSettings {
    fn default() -> Self {
        Self {
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            max_age_s: DEFAULT_MAX_AGE_S,
            future_s: DEFAULT_FUTURE_S,
            max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
        }
    }
}

/// Most seconds for either side of the `iat` window: a longer window makes replay memory
/// pointless and a stolen proof long-lived.
pub const MAX_WINDOW_S: u64 = 3600;

impl ProofSettings {
    /// Settings with `algorithms` (asymmetric only: HMAC would make the proof's "public" key a
    /// shared secret that the proof itself discloses; `none` is never an [`Alg`]), a proof
    /// accepted from `future_s` before its `iat` until `max_age_s` after it (each at most
    /// [`MAX_WINDOW_S`]), and proofs of at most `max_proof_bytes` (at least 512).
    pub fn new(
        algorithms: &[Alg],
        max_age_s: u64,
        future_s: u64,
        max_proof_bytes: usize,
    ) -> Result<Self> {
        if algorithms.is_empty() {
            return Err(Error::config("dpop.algorithms", "must name at least one"));
        }
        if let Some(alg) = algorithms.iter().find(|a| a.family() == Family::Hmac) {
            return Err(Error::config(
                "dpop.algorithms",
                format!("{alg} is symmetric: a DPoP proof is signed with a private key"),
            ));
        }
        if max_age_s == 0 || max_age_s > MAX_WINDOW_S || future_s > MAX_WINDOW_S {
            return Err(Error::config(
                "dpop.max_age_s",
                format!("the iat window must be within 1..={MAX_WINDOW_S} seconds"),
            ));
        }
        if max_proof_bytes < 512 {
            return Err(Error::config(
                "dpop.max_proof_bytes",
                "must be at least 512",
            ));
        }
        Ok(Self {
            algorithms: algorithms.to_vec(),
            max_age_s,
            future_s,
            max_proof_bytes,
        })
    }

    /// The allowed proof algorithms (what the `algs` of a challenge lists).
    pub fn algorithms(&self) -> &[Alg] {
        &self.algorithms
    }

    /// Seconds after its `iat` that a proof is still accepted.
    pub fn max_age_s(&self) -> u64 {
        self.max_age_s
    }

    /// Seconds before its `iat` that a proof is already accepted.
    pub fn future_s(&self) -> u64 {
        self.future_s
    }

    /// Longest proof accepted, in bytes.
    pub fn max_proof_bytes(&self) -> usize {
        self.max_proof_bytes
    }
}

/// A server nonce the proof must carry (RFC 9449 §8).
#[derive(Debug, Clone, Copy)]
pub struct NonceRequirement<'a> {
    /// The key nonces are made and checked with.
    pub key: &'a NonceKey,
    /// What the nonce was bound to when issued, if anything (see [`NonceKey::issue`]).
    pub binding: Option<&'a str>,
}

/// One request, as the host hands it to [`ProofChecker`].
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// Every `DPoP` header value of the request, as received (exactly one is accepted; a value
    /// holding a comma is a list the host's header API joined, and so also more than one).
    pub dpop_headers: &'a [&'a str],
    /// The request method, as sent (compared exactly with `htm`).
    pub method: &'a str,
    /// The absolute request URI (`https://host[:port]/path[?query]`); query and fragment are
    /// ignored.
    pub uri: &'a str,
    /// The access token presented with the proof: then `ath` must be its hash.
    pub access_token: Option<&'a str>,
    /// The token's `cnf.jkt`: then the proof's key must have this thumbprint.
    pub jkt: Option<&'a str>,
    /// A server nonce the proof must carry, when the route asks for one.
    pub nonce: Option<NonceRequirement<'a>>,
}

/// A proof that passed every check: what the replay check and the logs need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProof {
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: u64,
    /// The RFC 7638 thumbprint of the proof's key (base64url SHA-256).
    pub jkt: String,
    /// The algorithm that verified.
    pub alg: Alg,
    /// The last second at which this proof is accepted (`iat + max_age_s`): how long the
    /// replay memory must keep its `jti`.
    pub expires_at: u64,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidDpopProof, message)
}

/// `typ` values compare case-insensitively, and `application/` may be omitted (RFC 7515
/// §4.1.9).
fn is_proof_typ(typ: &str) -> bool {
    let short = typ
        .get(..12)
        .filter(|prefix| prefix.eq_ignore_ascii_case("application/"))
        .map_or(typ, |_| &typ[12..]);
    short.eq_ignore_ascii_case(PROOF_TYP)
}

fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str> {
    match claims.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(format!("proof claim {name} must be a string"))),
        None => Err(invalid(format!("proof claim {name} is missing"))),
    }
}

/// The one proof of a request: exactly one `DPoP` header holding one value.
fn single_proof<'a>(headers: &[&'a str]) -> Result<&'a str> {
    match headers {
        [] => Err(invalid("the request carries no DPoP header")),
        [one] if one.contains(',') => Err(invalid("the request carries more than one DPoP proof")),
        [one] => Ok(one.trim()),
        _ => Err(invalid("the request carries more than one DPoP header")),
    }
}

/// Checks DPoP proofs under one [`ProofSettings`]. Pure: the caller passes `now`, and replay
/// is the [`super::ReplayMemory`]'s business, after this check.
#[derive(Debug, Default)]
pub struct ProofChecker {
    settings: ProofSettings,
    headers: HeaderCache,
    /// The keys of the headers `headers` holds, by [`token::Header::serial`]: a client signs
    /// every proof with one key in one header, so its next proof skips parsing the key again.
    keys: std::sync::Mutex<Vec<(u64, VerificationKey, String)>>,
}

/// Proof keys kept, as many as the header cache keeps headers.
const CACHED_KEYS: usize = 4;

impl ProofChecker {
    /// A checker for `settings`.
    pub fn new(settings: ProofSettings) -> Self {
        Self {
            settings,
            headers: HeaderCache::default(),
            keys: std::sync::Mutex::default(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &ProofSettings {
        &self.settings
    }

    /// The public key of a proof's header and its RFC 7638 thumbprint: parsed and checked
    /// once per header the header cache holds (the same segment always gives the same key),
    /// else now.
    fn key_of(&self, header: &token::Header) -> Result<(VerificationKey, String)> {
        let cached = |keys: &Vec<(u64, VerificationKey, String)>| {
            keys.iter()
                .find(|(serial, ..)| *serial == header.serial)
                .map(|(_, key, jkt)| (key.clone(), jkt.clone()))
        };
        if let Some(found) = self.keys.lock().ok().as_deref().and_then(cached) {
            return Ok(found);
        }
        let Some(Value::Object(jwk)) = header.fields.get("jwk") else {
            return Err(invalid("the proof's header has no jwk object"));
        };
        let key = VerificationKey::from_public_jwk(&Value::Object(jwk.clone()))
            .map_err(|e| invalid(format!("the proof's key is refused: {}", e.message())))?;
        let jkt = jwk_thumbprint(jwk)?;
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() >= CACHED_KEYS {
                keys.remove(0);
            }
            keys.push((header.serial, key.clone(), jkt.clone()));
        }
        Ok((key, jkt))
    }

    /// Checks the request's proof at `now` with jwt-compact's signature checks.
    pub fn check(&self, request: &ProofRequest<'_>, now: u64) -> Result<CheckedProof> {
        self.check_using(request, now, &verify::JwtCompact)
    }

    /// As [`ProofChecker::check`], with signatures checked by `backend` (a host's crypto).
    pub fn check_using(
        &self,
        request: &ProofRequest<'_>,
        now: u64,
        backend: &dyn verify::SignatureBackend,
    ) -> Result<CheckedProof> {
        self.check_checked(request, now, &verify::Ready(backend))
            .now_or_never()
            .unwrap_or_else(|| {
                // `Ready` never waits, so this is unreachable; refuse rather than panic.
                Err(invalid("the proof's signature check did not complete"))
            })
    }

    /// As [`ProofChecker::check_using`], with a signature check that may wait (WebCrypto).
    /// The checks, in order: one `DPoP` header; size and compact JWS structure (the strict
    /// parser of tokens); `typ`; `alg` in the allow-list; a public `jwk` that serves `alg`;
    /// the signature with that key; then the claims `jti`, `htm`, `htu`, `iat` (window),
    /// `ath` (with an access token), the key's thumbprint against `cnf.jkt`, and last the
    /// server nonce, so `use_dpop_nonce` only ever asks a client with an otherwise good proof
    /// to try again.
    pub async fn check_checked(
        &self,
        request: &ProofRequest<'_>,
        now: u64,
        check: &impl verify::SignatureCheck,
    ) -> Result<CheckedProof> {
        let settings = &self.settings;
        let proof = single_proof(request.dpop_headers)?;
        let untrusted = token::parse(proof, settings.max_proof_bytes, &self.headers)
            .map_err(|e| invalid(format!("the proof is not a usable JWS: {}", e.message())))?;
        let header = &untrusted.header;
        if !header.typ.as_deref().is_some_and(is_proof_typ) {
            return Err(invalid(format!("the proof's typ must be {PROOF_TYP}")));
        }
        let alg = header
            .alg()
            .filter(|alg| settings.algorithms.contains(alg))
            .ok_or_else(|| invalid("the proof's alg is not allowed"))?;
        let (key, jkt) = self.key_of(header)?;
        if !key.serves(alg) {
            return Err(invalid(format!(
                "the proof's jwk cannot be used with {alg}"
            )));
        }
        let message = untrusted.signing_input.as_bytes();
        let verified = verify::is_well_formed(alg, &key, &untrusted.signature)
            && check.check(alg, &key, message, &untrusted.signature).await;
        if !verified {
            return Err(invalid(
                "the proof's signature does not verify with its jwk",
            ));
        }

        // Authenticated from here on.
        let claims = json::parse_object(&untrusted.payload)
            .map_err(|e| invalid(format!("the proof's payload is not a JSON object ({e})")))?;
        let jti = string_claim(&claims, "jti")?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(invalid(format!(
                "the proof's jti must have 1 to {MAX_JTI_BYTES} bytes"
            )));
        }
        if string_claim(&claims, "htm")? != request.method {
            return Err(invalid("the proof's htm is not the request method"));
        }
        let htu = normalize(
            string_claim(&claims, "htu")?,
            ErrorCode::InvalidDpopProof,
            "htu",
        )?;
        let target = normalize(request.uri, ErrorCode::MalformedRequest, "the request URI")?;
        if htu != target {
            return Err(invalid("the proof's htu is not the request URI"));
        }
        let iat = claims::numeric_date(&claims, "iat")
            .map_err(|e| invalid(format!("the proof's {}", e.message())))?
            .ok_or_else(|| invalid("proof claim iat is missing"))?;
        if iat > now.saturating_add(settings.future_s) {
            return Err(invalid("the proof's iat is too far in the future"));
        }
        let expires_at = iat.saturating_add(settings.max_age_s);
        if now > expires_at {
            return Err(invalid("the proof's iat is too old"));
        }
        if let Some(access_token) = request.access_token {
            let ath = match claims.get("ath") {
                Some(Value::String(ath)) => ath,
                Some(_) => return Err(invalid("proof claim ath must be a string")),
                None => return Err(invalid("the proof has no ath for the access token")),
            };
            if !same_secret_text(ath, &access_token_hash(access_token)) {
                return Err(invalid(
                    "the proof's ath is not the hash of the access token",
                ));
            }
        }
        if let Some(bound) = request.jkt {
            if !same_secret_text(&jkt, bound) {
                return Err(Error::new(
                    ErrorCode::DpopBindingMismatch,
                    "the proof's key is not the key the token is bound to (cnf.jkt)",
                ));
            }
        }
        if let Some(required) = request.nonce {
            let nonce = match claims.get("nonce") {
                Some(Value::String(nonce)) => nonce,
                Some(_) => return Err(invalid("proof claim nonce must be a string")),
                None => {
                    return Err(Error::new(
                        ErrorCode::UseDpopNonce,
                        "the proof must carry a server nonce (DPoP-Nonce)",
                    ))
                }
            };
            required.key.check(nonce, now, required.binding)?;
        }
        Ok(CheckedProof {
            jti: jti.to_owned(),
            iat,
            jkt,
            alg,
            expires_at,
        })
    }
}
