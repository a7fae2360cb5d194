//! Minting: fresh 128-bit `jti`, `iat = now`, `exp` from the track's ceiling.
//!
//! Used by the Worker's refresh endpoint and by operators through `edge-jwt issue`.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
#[cfg(feature = "rust-asym")]
use jwt_compact::alg::{Ed25519, Es256, Rsa};
use jwt_compact::alg::{Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmSignature};
use rand_core::{CryptoRng, RngCore};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::alg::{Alg, Family};
use crate::config::Policy;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::{jwk_value, parse_jwk};
use crate::policy::Verified;
use crate::track::TrackTable;

enum SigningMaterial {
    Hmac(Zeroizing<Vec<u8>>),
    #[cfg(feature = "rust-asym")]
    Rsa(Box<rsa::RsaPrivateKey>),
    #[cfg(feature = "rust-asym")]
    EcP256(p256::ecdsa::SigningKey),
    #[cfg(feature = "rust-asym")]
    EcP384(p384::ecdsa::SigningKey),
    #[cfg(feature = "rust-asym")]
    Ed25519(ed25519_compact::SecretKey),
    /// Without RustCrypto (the Worker): a private JWK that the host's crypto signs with
    /// ([`Signer::host_signing_jwk`]), its public half, and its family.
    #[cfg(not(feature = "rust-asym"))]
    Host {
        family: Family,
        public: JsonWebKey<'static>,
        private_jwk: Zeroizing<String>,
    },
}

impl SigningMaterial {
    fn family(&self) -> Family {
        match self {
            SigningMaterial::Hmac(_) => Family::Hmac,
            #[cfg(feature = "rust-asym")]
            SigningMaterial::Rsa(_) => Family::Rsa,
            #[cfg(feature = "rust-asym")]
            SigningMaterial::EcP256(_) => Family::EcP256,
            #[cfg(feature = "rust-asym")]
            SigningMaterial::EcP384(_) => Family::EcP384,
            #[cfg(feature = "rust-asym")]
            SigningMaterial::Ed25519(_) => Family::Ed25519,
            #[cfg(not(feature = "rust-asym"))]
            SigningMaterial::Host { family, .. } => *family,
        }
    }
}

/// A private key (or HMAC secret) with the one algorithm it signs with.
pub struct Signer {
    alg: Alg,
    kid: Option<String>,
    material: SigningMaterial,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn default_alg(family: Family) -> Alg {
    match family {
        Family::Hmac => Alg::HS256,
        Family::Rsa => Alg::RS256,
        Family::EcP256 => Alg::ES256,
        Family::EcP384 => Alg::ES384,
        Family::Ed25519 => Alg::EdDSA,
    }
}

fn key_error(e: impl fmt::Display) -> Error {
    Error::config("key", format!("unusable private key: {e}"))
}

fn sign_with<A: Algorithm>(alg: &A, key: &A::SigningKey, message: &[u8]) -> Vec<u8> {
    alg.sign(key, message).as_bytes().into_owned()
}

impl Signer {
    /// An HMAC signer; the secret must be at least as long as the hash output.
    pub fn from_secret(secret: &str, alg: Alg) -> Result<Signer> {
        if alg.family() != Family::Hmac {
            return Err(Error::config(
                "alg",
                format!("{alg} does not sign with a shared secret"),
            ));
        }
        if secret.len() < alg.min_hmac_key_bytes() {
            return Err(Error::config(
                "secret",
                format!(
                    "HMAC secret must be at least {} bytes for {alg}",
                    alg.min_hmac_key_bytes()
                ),
            ));
        }
        Ok(Signer {
            alg,
            kid: None,
            material: SigningMaterial::Hmac(Zeroizing::new(secret.as_bytes().to_vec())),
        })
    }

    /// A signer from a private JWK. The algorithm is the JWK's `alg`, else `alg`, else the
    /// family's usual one (HS256, RS256, ES256, EdDSA).
    pub fn from_jwk(jwk_json: &str, alg: Option<Alg>) -> Result<Signer> {
        let value: Value = serde_json::from_str(jwk_json)
            .map_err(|e| Error::config("key", format!("not JSON: {e}")))?;
        let parsed = parse_jwk(&value, "key")?;
        let material = match &parsed.jwk {
            JsonWebKey::Symmetric { secret } => {
                SigningMaterial::Hmac(Zeroizing::new(secret.to_vec()))
            }
            #[cfg(not(feature = "rust-asym"))]
            jwk => host_material(&value, jwk)?,
            #[cfg(feature = "rust-asym")]
            JsonWebKey::Rsa { .. } => SigningMaterial::Rsa(Box::new(
                rsa::RsaPrivateKey::try_from(&parsed.jwk).map_err(key_error)?,
            )),
            #[cfg(feature = "rust-asym")]
            JsonWebKey::EllipticCurve { curve, .. } if curve == crate::es384::CURVE => {
                SigningMaterial::EcP384(
                    crate::es384::signing_key(&parsed.jwk)
                        .ok_or_else(|| key_error("not a P-384 key whose d matches x and y"))?,
                )
            }
            #[cfg(feature = "rust-asym")]
            JsonWebKey::EllipticCurve { curve, secret, .. } => {
                if curve != "P-256" {
                    return Err(Error::config(
                        "key.crv",
                        "only P-256 (ES256) and P-384 (ES384) sign",
                    ));
                }
                let d = secret.as_deref().ok_or_else(|| key_error("missing d"))?;
                let key = p256::ecdsa::SigningKey::from_slice(d).map_err(key_error)?;
                let public = p256::ecdsa::VerifyingKey::try_from(&parsed.jwk).map_err(key_error)?;
                if *key.verifying_key() != public {
                    return Err(key_error("d does not match x and y"));
                }
                SigningMaterial::EcP256(key)
            }
            #[cfg(feature = "rust-asym")]
            JsonWebKey::KeyPair { .. } => SigningMaterial::Ed25519(
                ed25519_compact::SecretKey::try_from(&parsed.jwk).map_err(key_error)?,
            ),
            #[cfg(feature = "rust-asym")]
            _ => return Err(key_error("unsupported key type")),
        };
        let family = material.family();
        let alg = parsed.alg.or(alg).unwrap_or_else(|| default_alg(family));
        if alg.family() != family {
            return Err(Error::config(
                "key.alg",
                format!("{alg} cannot sign with this key type"),
            ));
        }
        if let SigningMaterial::Hmac(secret) = &material {
            if secret.len() < alg.min_hmac_key_bytes() {
                return Err(key_error(format!(
                    "HMAC key must be at least {} bytes",
                    alg.min_hmac_key_bytes()
                )));
            }
        }
        Ok(Signer {
            alg,
            kid: parsed.kid,
            material,
        })
    }

    /// The signer a host mints with, from what it holds: a private JWK (`SIGNING_KEY`, the
    /// CLI's `--key`, the npm `Issuer`'s key) wins; else the HMAC secret. The algorithm is
    /// `alg` when the caller names one, else the JWK's own, else (for a secret) the first HMAC
    /// algorithm the policy allows. One choice for the CLI, the Worker and the npm package.
    /// `Ok(None)` when neither key nor secret is given, or a secret has no HMAC algorithm to
    /// sign with; a signer the policy does not allow is a config error.
    pub fn for_policy(
        policy: &Policy,
        private_jwk: Option<&str>,
        secret: Option<&str>,
        alg: Option<Alg>,
    ) -> Result<Option<Signer>> {
        let signer = match (private_jwk, secret) {
            (Some(jwk), _) => Some(Signer::from_jwk(jwk, alg)?),
            (None, Some(secret)) => alg
                .or_else(|| {
                    policy
                        .algorithms
                        .iter()
                        .copied()
                        .find(|a| a.family() == Family::Hmac)
                })
                .map(|alg| Signer::from_secret(secret, alg))
                .transpose()?,
            (None, None) => None,
        };
        if let Some(signer) = &signer {
            check_signer_allowed(policy, signer)?;
        }
        Ok(signer)
    }

    /// The signing algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The key id written into minted headers.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Signs `message` (the JWS signing input) in-process; `None` for a key this build leaves
    /// to the host's crypto ([`Signer::host_signing_jwk`]).
    pub fn try_sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        match &self.material {
            #[cfg(not(feature = "rust-asym"))]
            SigningMaterial::Host { .. } => None,
            #[cfg(not(feature = "rust-asym"))]
            SigningMaterial::Hmac(k) => Some(hmac_sign(self.alg, k, message)),
            #[cfg(feature = "rust-asym")]
            _ => Some(self.sign(message)),
        }
    }

    /// In a build without RustCrypto's asymmetric algorithms (the Worker): the private JWK to
    /// sign with through the host (WebCrypto's `importKey("jwk", …)`: key members only, no
    /// `kid`, `alg`, `use` or `key_ops`). `None` for HMAC and wherever the core signs itself.
    pub fn host_signing_jwk(&self) -> Option<&str> {
        match &self.material {
            #[cfg(not(feature = "rust-asym"))]
            SigningMaterial::Host { private_jwk, .. } => Some(private_jwk.as_str()),
            _ => None,
        }
    }

    /// Signs `message` (the JWS signing input).
    #[cfg(feature = "rust-asym")]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match (&self.material, self.alg) {
            (SigningMaterial::Hmac(k), alg) => hmac_sign(alg, k, message),
            (SigningMaterial::Rsa(k), alg) => sign_with(&Rsa::with_name(alg.name()), k, message),
            (SigningMaterial::EcP256(k), _) => sign_with(&Es256, k, message),
            (SigningMaterial::EcP384(k), _) => crate::es384::sign(k, message),
            (SigningMaterial::Ed25519(k), _) => sign_with(&Ed25519, k, message),
        }
    }

    /// The public half as a JWK (with `kid`, `alg`, `use`), for publishing; `None` for HMAC.
    pub fn public_jwk(&self) -> Option<Value> {
        let (kid, alg) = (self.kid.as_deref(), Some(self.alg));
        Some(match &self.material {
            SigningMaterial::Hmac(_) => return None,
            #[cfg(feature = "rust-asym")]
            SigningMaterial::Rsa(k) => jwk_value(&JsonWebKey::from(&k.to_public_key()), kid, alg),
            #[cfg(feature = "rust-asym")]
            SigningMaterial::EcP256(k) => jwk_value(&JsonWebKey::from(k.verifying_key()), kid, alg),
            #[cfg(feature = "rust-asym")]
            SigningMaterial::EcP384(k) => {
                jwk_value(&crate::es384::public_jwk(k.verifying_key()), kid, alg)
            }
            #[cfg(feature = "rust-asym")]
            SigningMaterial::Ed25519(k) => jwk_value(&JsonWebKey::from(&k.public_key()), kid, alg),
            #[cfg(not(feature = "rust-asym"))]
            SigningMaterial::Host { public, .. } => jwk_value(public, kid, alg),
        })
    }
}

/// HS256 unless `alg` names HS384 or HS512.
fn hmac_sign(alg: Alg, secret: &[u8], message: &[u8]) -> Vec<u8> {
    match alg {
        Alg::HS384 => sign_with(&Hs384, &Hs384Key::new(secret), message),
        Alg::HS512 => sign_with(&Hs512, &Hs512Key::new(secret), message),
        _ => sign_with(&Hs256, &Hs256Key::new(secret), message),
    }
}

/// The members WebCrypto imports from a private JWK: the key's own, nothing that names a use.
#[cfg(not(feature = "rust-asym"))]
const KEY_MEMBERS: [&str; 12] = [
    "kty", "crv", "x", "y", "d", "n", "e", "p", "q", "dp", "dq", "qi",
];

/// Without RustCrypto: what can be checked of a private JWK before the host imports it (the
/// public half as a verification key is checked, `d` has the curve's length, an RSA key has
/// its CRT members, which WebCrypto requires); whether `d` belongs to the public half is
/// checked by the host on first use (the Worker signs and verifies once).
#[cfg(not(feature = "rust-asym"))]
fn host_material(value: &Value, jwk: &JsonWebKey<'_>) -> Result<SigningMaterial> {
    let public =
        crate::keys::public_components(jwk).ok_or_else(|| key_error("unsupported key type"))?;
    let family = crate::keys::checked_family(&public, "key")?;
    let object = value.as_object();
    let has = |name: &str| object.is_some_and(|o| o.contains_key(name));
    let d_len = match jwk {
        JsonWebKey::EllipticCurve { secret, .. } | JsonWebKey::KeyPair { secret, .. } => {
            secret.as_ref().map(|d| d.len())
        }
        _ => None,
    };
    match family {
        Family::Rsa => {
            if has("oth") || !["dp", "dq", "qi"].into_iter().all(has) {
                return Err(key_error(
                    "an RSA signing key needs dp, dq and qi and no oth here (WebCrypto signs)",
                ));
            }
        }
        Family::EcP256 | Family::EcP384 | Family::Ed25519 => {
            let size = match family {
                Family::EcP384 => crate::es384::COORDINATE_BYTES,
                _ => 32,
            };
            match d_len {
                None => return Err(key_error("missing d")),
                Some(len) if len != size => {
                    return Err(key_error(format!(
                        "field `d` has unexpected length (expected: {size}, got: {len})"
                    )))
                }
                Some(_) => {}
            }
        }
        Family::Hmac => return Err(key_error("unsupported key type")),
    }
    let mut importable = serde_json::Map::new();
    if let Some(object) = object {
        for name in KEY_MEMBERS {
            if let Some(member) = object.get(name) {
                importable.insert(name.into(), member.clone());
            }
        }
    }
    Ok(SigningMaterial::Host {
        family,
        public,
        private_jwk: Zeroizing::new(Value::Object(importable).to_string()),
    })
}

/// What to mint.
#[derive(Debug, Clone, Default)]
pub struct IssueRequest {
    /// Subject.
    pub sub: Option<String>,
    /// Track name (`"4"` is written as the number 4).
    pub track: Option<String>,
    /// Lifetime; defaults to the track's ceiling, and may not exceed it.
    pub ttl_s: Option<u64>,
    /// Further claims. Registered and track claims are set by the issuer and refused here.
    pub claims: Map<String, Value>,
}

/// A minted token and its main facts; serialized as every host answers a mint or a refresh
/// (`{"token","jti","iat","exp","track"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issued {
    /// The compact JWS.
    pub token: String,
    /// Its fresh `jti` (32 lowercase hex digits).
    pub jti: String,
    /// `iat`.
    pub iat: u64,
    /// `exp`.
    pub exp: u64,
    /// Track name, if any.
    pub track: Option<String>,
}

/// 128 random bits as 32 lowercase hex digits.
pub fn new_jti(rng: &mut (impl RngCore + CryptoRng)) -> String {
    let mut bytes = [0_u8; 16];
    rng.fill_bytes(&mut bytes);
    format!("{:032x}", u128::from_be_bytes(bytes))
}

fn track_value(track: &str) -> Value {
    // A canonical decimal (no leading zero) becomes a number, as most issuers write it.
    match track.parse::<u64>() {
        Ok(n) if n.to_string() == track => Value::from(n),
        _ => Value::from(track),
    }
}

fn b64_json(value: &Value) -> String {
    Base64UrlUnpadded::encode_string(value.to_string().as_bytes())
}

/// Mints a token under `policy` at `now`.
pub fn issue(
    policy: &Policy,
    signer: &Signer,
    request: IssueRequest,
    now: u64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Issued> {
    check_signer_allowed(policy, signer)?;
    if let Some(name) = request.claims.keys().find(|k| policy.is_issuer_claim(k)) {
        return Err(Error::new(
            ErrorCode::InvalidClaim,
            format!("claim {name} is set by the issuer"),
        ));
    }
    if request.sub.as_deref() == Some("") {
        return Err(Error::new(
            ErrorCode::InvalidClaim,
            "claim sub must not be empty",
        ));
    }
    let mut claims = request.claims;
    if let Some(track) = &request.track {
        claims.insert(policy.tracks.claim.clone(), track_value(track));
    }
    let verdict = policy.tracks.resolve(&claims)?;
    let ttl = request.ttl_s.unwrap_or(verdict.ttl_ceiling_s);
    if ttl == 0 {
        return Err(Error::new(ErrorCode::InvalidClaim, "ttl must be positive"));
    }
    let exp = now.saturating_add(ttl);
    TrackTable::check_lifetime(&verdict, exp, Some(now), now, 0)?;

    if let Some(sub) = request.sub {
        claims.insert("sub".into(), sub.into());
    }
    if let Some(issuers) = &policy.claims.issuers {
        claims.insert("iss".into(), issuers[0].clone().into());
    }
    if let Some(audiences) = &policy.claims.audiences {
        let aud = match audiences.as_slice() {
            [one] => Value::from(one.clone()),
            many => Value::from(many.to_vec()),
        };
        claims.insert("aud".into(), aud);
    }
    prepare(policy, signer, claims, (now, exp), verdict.track, rng).signed_by(signer)
}

/// Mints the successor of a verified token (refresh rotation). Every claim the issuer wrote is
/// kept exactly — `iss`, `aud`, `sub`, `scope`/`scp`, the track and custom claims — so a refresh
/// can never widen a token; only `jti`, `iat` and `exp` are new, and `auth_time` carries the
/// session's start forward ([`crate::claims::RegisteredClaims::session_start`]). The session
/// ends at its start plus the track's `max_session_s`: the new `exp` never passes that, and a
/// refresh at or after it is `session_expired`, so a chain of refreshes ends.
pub fn reissue(
    policy: &Policy,
    signer: &Signer,
    verified: &Verified,
    now: u64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Issued> {
    reissue_unsigned(policy, signer, verified, now, rng)?.signed_by(signer)
}

/// [`reissue`] up to the signature: for a host that signs with its own crypto
/// ([`Signer::host_signing_jwk`]), then finishes with [`Unsigned::with_signature`].
pub fn reissue_unsigned(
    policy: &Policy,
    signer: &Signer,
    verified: &Verified,
    now: u64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Unsigned> {
    check_signer_allowed(policy, signer)?;
    if verified.profile != 0 {
        // The successor would carry the provider's iss under this gateway's key: a token no
        // one could verify, and not this gateway's to extend.
        return Err(Error::new(
            ErrorCode::InvalidClaim,
            "only tokens this gateway issued can be refreshed; an identity provider's tokens are \
             renewed by that provider",
        ));
    }
    let ceiling = verified.track.ttl_ceiling_s;
    // Without auth_time or iat the token can still not be older than its ceiling allows.
    let exp_before = verified.registered.exp.unwrap_or(now);
    let start = verified
        .registered
        .session_start()
        .unwrap_or_else(|| exp_before.saturating_sub(ceiling));
    let session_end =
        start.saturating_add(policy.tracks.max_session(verified.track.track.as_deref()));
    if now >= session_end {
        return Err(Error::new(
            ErrorCode::SessionExpired,
            "the session is older than its track's max_session_s: log in again",
        ));
    }
    let exp = now.saturating_add(ceiling).min(session_end);
    let mut claims = verified.claims().clone();
    claims.insert("auth_time".into(), start.into());
    let track = verified.track.track.clone();
    Ok(prepare(policy, signer, claims, (now, exp), track, rng))
}

fn check_signer_allowed(policy: &Policy, signer: &Signer) -> Result<()> {
    if policy.algorithms.contains(&signer.alg) {
        Ok(())
    } else {
        Err(Error::config(
            "algorithms",
            format!("{} is not allowed by the policy", signer.alg),
        ))
    }
}

/// A token before its signature: the JWS signing input and the facts of [`Issued`].
#[derive(Debug)]
pub struct Unsigned {
    signing_input: String,
    jti: String,
    iat: u64,
    exp: u64,
    track: Option<String>,
}

impl Unsigned {
    /// The bytes to sign.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The token with `signature` (made by the host over [`Unsigned::signing_input`]).
    pub fn with_signature(self, signature: &[u8]) -> Issued {
        let signature = Base64UrlUnpadded::encode_string(signature);
        Issued {
            token: format!("{}.{signature}", self.signing_input),
            jti: self.jti,
            iat: self.iat,
            exp: self.exp,
            track: self.track,
        }
    }

    /// Signed in-process; a config error for a key this build leaves to the host.
    fn signed_by(self, signer: &Signer) -> Result<Issued> {
        let signature = signer.try_sign(self.signing_input()).ok_or_else(|| {
            Error::config(
                "key",
                format!(
                    "{} signing is left to the host's crypto in this build",
                    signer.alg
                ),
            )
        })?;
        Ok(self.with_signature(&signature))
    }
}

/// Sets `iat`, `exp` (`times`) and a fresh `jti`: the token up to its signature.
fn prepare(
    policy: &Policy,
    signer: &Signer,
    mut claims: Map<String, Value>,
    (now, exp): (u64, u64),
    track: Option<String>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Unsigned {
    let jti = new_jti(rng);
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), exp.into());
    claims.insert("jti".into(), jti.clone().into());

    let mut header = Map::new();
    header.insert("alg".into(), signer.alg.name().into());
    header.insert(
        "typ".into(),
        policy.typ.clone().unwrap_or_else(|| "JWT".into()).into(),
    );
    if let Some(kid) = &signer.kid {
        header.insert("kid".into(), kid.clone().into());
    }
    let signing_input = format!(
        "{}.{}",
        b64_json(&Value::Object(header)),
        b64_json(&Value::Object(claims))
    );
    Unsigned {
        signing_input,
        jti,
        iat: now,
        exp,
        track,
    }
}
