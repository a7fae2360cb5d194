//! Verification keys: an HMAC `secret`, JWKs and JWKS, and the choice among them.
//!
//! A key's type fixes the algorithm family it serves (oct → HS*, RSA → RS*/PS*, EC P-256 →
//! ES256, OKP Ed25519 → EdDSA) and its own `alg`, when given, narrows it to one algorithm. The
//! token header only ever picks among configured keys: `jku`, `x5u`, `jwk` and `x5c` are never
//! consulted.

use std::fmt;

use jwt_compact::jwk::JsonWebKey;
use rsa::traits::PublicKeyParts;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::alg::{Alg, Family};
use crate::error::{redact_quoted, Error, ErrorCode, Result};

/// Most keys tried for a token without a usable `kid`. Bounds the signature checks an attacker
/// can make us do per token (the same idea as webpki's signature budget).
pub const MAX_KEYS_WITHOUT_KID: usize = 4;

/// Smallest RSA modulus accepted (RFC 7518 §3.3: "a key of size 2048 bits or larger MUST be used").
pub const MIN_RSA_BITS: usize = 2048;

/// Public (or shared) key material, one variant per family.
#[derive(Clone)]
pub(crate) enum KeyMaterial {
    Hmac(Zeroizing<Vec<u8>>),
    Rsa(rsa::RsaPublicKey),
    EcP256(p256::ecdsa::VerifyingKey),
    EcP384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_compact::PublicKey),
}

impl KeyMaterial {
    fn family(&self) -> Family {
        match self {
            KeyMaterial::Hmac(_) => Family::Hmac,
            KeyMaterial::Rsa(_) => Family::Rsa,
            KeyMaterial::EcP256(_) => Family::EcP256,
            KeyMaterial::EcP384(_) => Family::EcP384,
            KeyMaterial::Ed25519(_) => Family::Ed25519,
        }
    }
}

/// One configured verification key.
#[derive(Clone)]
pub struct VerificationKey {
    /// The JWK `kid`, if any.
    pub kid: Option<String>,
    /// The JWK `alg`, if any: then the key serves that algorithm only.
    pub alg: Option<Alg>,
    pub(crate) material: KeyMaterial,
    /// The public JWK as JSON, made on first use: how a host crypto backend imports the key.
    public_jwk_json: std::sync::OnceLock<Option<String>>,
    /// Names this key without comparing its material (see [`VerificationKey::id`]).
    id: u64,
}

/// The next [`VerificationKey::id`].
static NEXT_KEY_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl fmt::Debug for VerificationKey {
    // Secrets never reach logs: only the key's identity is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("family", &self.material.family())
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    fn new(kid: Option<String>, alg: Option<Alg>, material: KeyMaterial) -> Self {
        Self {
            kid,
            alg,
            material,
            public_jwk_json: std::sync::OnceLock::new(),
            id: NEXT_KEY_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// A key from a public JWK that arrives with a message rather than from a configuration
    /// (a DPoP proof's `jwk` header, RFC 9449 §4.2): refused when it has a private member,
    /// is symmetric (`oct`: a secret sent in the clear is no key), is published for another
    /// use than `sig`, or fails the checks configured keys get (RSA modulus size, curve,
    /// point on the curve). Errors name the member, never a key value.
    pub fn from_public_jwk(value: &Value) -> Result<VerificationKey> {
        if let Some(member) = private_member(value) {
            return Err(Error::config(
                &format!("jwk.{member}"),
                "holds a private key member: only the public key may be sent",
            ));
        }
        let kty = value.get("kty").and_then(Value::as_str);
        if kty == Some("oct") || value.get("k").is_some() {
            return Err(Error::config(
                "jwk.kty",
                "a symmetric key (oct) is never a public key",
            ));
        }
        let parsed = parse_jwk(value, "jwk")?;
        if parsed.key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err(Error::config("jwk.use", "the key is not for signatures"));
        }
        let material = material_from_jwk(&parsed.jwk, "jwk")?;
        if matches!(material, KeyMaterial::Hmac(_)) {
            return Err(Error::config(
                "jwk.kty",
                "a symmetric key is never a public key",
            ));
        }
        Ok(VerificationKey::new(parsed.kid, parsed.alg, material))
    }

    /// A number no other key built in this process has (its clones share it): what a host
    /// crypto backend keeps its imported key under, cheaper to compare than the JWK.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The public JWK to publish (`/.well-known/jwks.json`); `None` for HMAC secrets.
    pub fn public_jwk(&self) -> Option<Value> {
        let jwk = match &self.material {
            KeyMaterial::Hmac(_) => return None,
            KeyMaterial::Rsa(key) => JsonWebKey::from(key),
            KeyMaterial::EcP256(key) => JsonWebKey::from(key),
            KeyMaterial::EcP384(key) => crate::es384::public_jwk(key),
            KeyMaterial::Ed25519(key) => JsonWebKey::from(key),
        };
        Some(jwk_value(&jwk, self.kid.as_deref(), self.alg))
    }

    /// The public JWK as WebCrypto's `importKey("jwk", …)` takes it: without `kid`, and without
    /// the members WebCrypto would check against the import algorithm (`alg`, `use`,
    /// `key_ops`), since the core has matched the key to the algorithm already (an RS256-only
    /// key is never asked for PS256). `None` for HMAC secrets.
    pub fn importable_jwk_json(&self) -> Option<String> {
        let mut jwk = self.public_jwk()?;
        if let Value::Object(members) = &mut jwk {
            for name in ["alg", "use", "key_ops", "kid"] {
                members.remove(name);
            }
        }
        Some(jwk.to_string())
    }

    /// [`VerificationKey::public_jwk`] as JSON, computed once per key: a host that verifies
    /// with its own crypto imports the key from it (and caches the import under it).
    pub fn public_jwk_json(&self) -> Option<&str> {
        self.public_jwk_json
            .get_or_init(|| self.public_jwk().map(|jwk| jwk.to_string()))
            .as_deref()
    }

    /// Whether this key may verify a token signed with `alg`: same family, no contrary own
    /// `alg`, and for HMAC a secret at least as long as the hash output.
    pub fn serves(&self, alg: Alg) -> bool {
        if self.material.family() != alg.family() || self.alg.is_some_and(|own| own != alg) {
            return false;
        }
        match &self.material {
            KeyMaterial::Hmac(secret) => secret.len() >= alg.min_hmac_key_bytes(),
            _ => true,
        }
    }
}

/// A JWK as JSON with its `kid`, `alg` and `use: "sig"` parameters.
pub(crate) fn jwk_value(jwk: &JsonWebKey<'_>, kid: Option<&str>, alg: Option<Alg>) -> Value {
    let mut value = serde_json::to_value(jwk).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        if let Some(kid) = kid {
            object.insert("kid".into(), kid.into());
        }
        if let Some(alg) = alg {
            object.insert("alg".into(), alg.name().into());
        }
        object.insert("use".into(), "sig".into());
    }
    value
}

/// A JWK as written in a config, its parameters split from the key itself.
pub(crate) struct ParsedJwk {
    pub kid: Option<String>,
    pub alg: Option<Alg>,
    pub key_use: Option<String>,
    pub jwk: JsonWebKey<'static>,
}

fn optional_member(
    object: &serde_json::Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<Option<String>> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::config(&format!("{path}.{name}"), "must be a string")),
    }
}

/// Splits a JWK into its parameters and its key (RFC 7517 §4). Error messages name the path and
/// the member, never a key value.
pub(crate) fn parse_jwk(value: &Value, path: &str) -> Result<ParsedJwk> {
    let Value::Object(object) = value else {
        return Err(Error::config(path, "a JWK must be a JSON object"));
    };
    let kid = optional_member(object, "kid", path)?;
    let key_use = optional_member(object, "use", path)?;
    // A key published for another use (Keycloak's `"use":"enc","alg":"RSA-OAEP"` beside its
    // signing key) is skipped by every caller, whatever its alg names.
    let for_signatures = key_use.as_deref().is_none_or(|u| u == "sig");
    let alg = match optional_member(object, "alg", path)? {
        None => None,
        Some(_) if !for_signatures => None,
        Some(name) => Some(Alg::from_name(&name).ok_or_else(|| {
            Error::config(
                &format!("{path}.alg"),
                format!("algorithm {name:?} is not implemented by this build"),
            )
        })?),
    };
    let kty = optional_member(object, "kty", path)?
        .ok_or_else(|| Error::config(&format!("{path}.kty"), "missing"))?;
    if !matches!(kty.as_str(), "oct" | "RSA" | "EC" | "OKP") {
        return Err(Error::config(
            &format!("{path}.kty"),
            format!("key type {kty:?} is not supported (oct, RSA, EC, OKP)"),
        ));
    }
    let jwk: JsonWebKey<'static> = serde_json::from_value(value.clone()).map_err(|e| {
        Error::config(
            path,
            format!("invalid {kty} JWK: {}", redact_quoted(&e.to_string())),
        )
    })?;
    Ok(ParsedJwk {
        kid,
        alg,
        key_use,
        jwk,
    })
}

/// The first private member of an asymmetric JWK (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2), if any.
fn private_member(value: &Value) -> Option<&'static str> {
    let object = value.as_object()?;
    if object.get("kty").and_then(Value::as_str) == Some("oct") {
        return None;
    }
    ["d", "p", "q", "dp", "dq", "qi", "oth"]
        .into_iter()
        .find(|member| object.contains_key(*member))
}

fn jwk_error(path: &str, e: impl fmt::Display) -> Error {
    Error::config(path, format!("unusable key: {e}"))
}

fn material_from_jwk(jwk: &JsonWebKey<'_>, path: &str) -> Result<KeyMaterial> {
    Ok(match jwk {
        JsonWebKey::Symmetric { secret } => KeyMaterial::Hmac(Zeroizing::new(secret.to_vec())),
        JsonWebKey::Rsa { .. } => {
            let key = rsa::RsaPublicKey::try_from(jwk).map_err(|e| jwk_error(path, e))?;
            let bits = key.n().bits();
            if bits < MIN_RSA_BITS {
                return Err(Error::config(
                    path,
                    format!("RSA modulus has {bits} bits; at least {MIN_RSA_BITS} are required"),
                ));
            }
            KeyMaterial::Rsa(key)
        }
        JsonWebKey::EllipticCurve { curve, .. } if curve == crate::es384::CURVE => {
            KeyMaterial::EcP384(
                crate::es384::verifying_key(jwk)
                    .ok_or_else(|| jwk_error(path, "not a point on P-384"))?,
            )
        }
        JsonWebKey::EllipticCurve { curve, .. } => {
            if curve != "P-256" {
                return Err(Error::config(
                    &format!("{path}.crv"),
                    format!("curve {curve:?} is not supported by this build (P-256, P-384)"),
                ));
            }
            KeyMaterial::EcP256(
                p256::ecdsa::VerifyingKey::try_from(jwk).map_err(|e| jwk_error(path, e))?,
            )
        }
        JsonWebKey::KeyPair { curve, .. } => {
            if curve != "Ed25519" {
                return Err(Error::config(
                    &format!("{path}.crv"),
                    format!("curve {curve:?} is not supported by this build (Ed25519 only)"),
                ));
            }
            KeyMaterial::Ed25519(
                ed25519_compact::PublicKey::try_from(jwk).map_err(|e| jwk_error(path, e))?,
            )
        }
        _ => return Err(Error::config(path, "unsupported key type")),
    })
}

/// The configured keys, checked against the algorithm allow-list.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
    /// Whether any key has a `kid`; if none does, a token's `kid` is ignored.
    any_kid: bool,
}

/// Where the keys of a config come from, before checking.
pub(crate) struct KeySources<'a> {
    pub secret: Option<&'a str>,
    /// JWK values with their config paths (`keys[0]`, `keys.keys[2]`).
    pub jwks: Vec<(String, &'a Value)>,
    /// Keys will also come from a remote JWKS: no inline key is then required, and an allowed
    /// algorithm may be served by remote keys only.
    pub remote: bool,
}

impl KeySet {
    /// Builds the key set and refuses, with the field path, every key that cannot be used:
    /// weak HMAC secrets, short RSA moduli, unsupported curves, keys serving no allowed
    /// algorithm, duplicate kids, and allowed algorithms that no key serves.
    pub(crate) fn build(sources: KeySources<'_>, algorithms: &[Alg]) -> Result<KeySet> {
        let mut keys = Vec::new();
        if let Some(secret) = sources.secret {
            let key = VerificationKey::new(
                None,
                None,
                KeyMaterial::Hmac(Zeroizing::new(secret.as_bytes().to_vec())),
            );
            check_serves_something(&key, algorithms, "secret")?;
            keys.push(key);
        }
        for (path, value) in sources.jwks {
            if let Some(member) = private_member(value) {
                return Err(Error::config(
                    &format!("{path}.{member}"),
                    "this is a private key: a validator needs only the public part, so configure \
                     that and keep the private key with the issuer",
                ));
            }
            let parsed = parse_jwk(value, &path)?;
            // A key published for encryption is never used to verify (RFC 7517 §4.2).
            if parsed.key_use.as_deref().is_some_and(|u| u != "sig") {
                continue;
            }
            let material = material_from_jwk(&parsed.jwk, &path)?;
            if let Some(alg) = parsed.alg {
                if alg.family() != material.family() {
                    return Err(Error::config(
                        &format!("{path}.alg"),
                        format!("{alg} cannot be used with this key type"),
                    ));
                }
            }
            if let Some(kid) = &parsed.kid {
                if keys
                    .iter()
                    .any(|k: &VerificationKey| k.kid.as_ref() == Some(kid))
                {
                    return Err(Error::config(
                        &format!("{path}.kid"),
                        format!("duplicate kid {kid:?}"),
                    ));
                }
            }
            let key = VerificationKey::new(parsed.kid, parsed.alg, material);
            check_serves_something(&key, algorithms, &path)?;
            keys.push(key);
        }
        if keys.is_empty() && !sources.remote {
            return Err(Error::config(
                "keys",
                "no verification key configured (set secret, keys, jwks_url or a JWKS)",
            ));
        }
        for alg in algorithms {
            if !sources.remote && !keys.iter().any(|k| k.serves(*alg)) {
                return Err(Error::config(
                    "algorithms",
                    format!("{alg} is allowed but no configured key can serve it"),
                ));
            }
            // A kid-less key past the budget could never be tried: refuse the dead key now.
            let unreachable = keys
                .iter()
                .filter(|k| k.serves(*alg))
                .skip(MAX_KEYS_WITHOUT_KID)
                .any(|k| k.kid.is_none());
            if unreachable {
                return Err(Error::config(
                    "keys",
                    format!(
                        "more than {MAX_KEYS_WITHOUT_KID} keys serve {alg}; keys past the {MAX_KEYS_WITHOUT_KID}th need a kid to ever be used"
                    ),
                ));
            }
        }
        let any_kid = keys.iter().any(|k| k.kid.is_some());
        Ok(KeySet { keys, any_kid })
    }

    /// A fetched JWKS, leniently: keys that are not for signatures, of an unsupported type or
    /// curve, too weak, or serving no allowed algorithm are skipped (an identity provider's set
    /// also holds keys for other uses), and so are symmetric (`oct`) keys and private keys.
    /// `None` when no key is usable.
    pub(crate) fn build_remote(values: &[Value], algorithms: &[Alg]) -> Option<KeySet> {
        let keys: Vec<VerificationKey> = values
            .iter()
            .filter_map(|value| {
                // A published private key is a compromised key: never trusted, even its public half.
                if private_member(value).is_some() {
                    return None;
                }
                // A symmetric key in a public document is a secret anyone can read: never an
                // HMAC key (else whoever reads the set could mint HS* tokens).
                if value.get("kty").and_then(Value::as_str) == Some("oct") {
                    return None;
                }
                let parsed = parse_jwk(value, "jwks").ok()?;
                if parsed.key_use.as_deref().is_some_and(|u| u != "sig") {
                    return None;
                }
                let material = material_from_jwk(&parsed.jwk, "jwks").ok()?;
                if matches!(material, KeyMaterial::Hmac(_)) {
                    return None;
                }
                let key = VerificationKey::new(parsed.kid, parsed.alg, material);
                algorithms.iter().any(|alg| key.serves(*alg)).then_some(key)
            })
            .collect();
        if keys.is_empty() {
            return None;
        }
        let any_kid = keys.iter().any(|k| k.kid.is_some());
        Some(KeySet { keys, any_kid })
    }

    /// These keys followed by `other`'s (inline keys first, then remote ones).
    pub fn merged(&self, other: &KeySet) -> KeySet {
        let keys: Vec<VerificationKey> = self.keys.iter().chain(&other.keys).cloned().collect();
        KeySet {
            any_kid: self.any_kid || other.any_kid,
            keys,
        }
    }

    /// The keys to try for a token, at most [`MAX_KEYS_WITHOUT_KID`] of them.
    pub fn candidates(&self, alg: Alg, kid: Option<&str>) -> Result<Vec<&VerificationKey>> {
        if let (Some(kid), true) = (kid, self.any_kid) {
            let named = self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::UnknownKid,
                        "no configured key has the token's kid",
                    )
                })?;
            if !named.serves(alg) {
                return Err(Error::new(
                    ErrorCode::AlgNotAllowed,
                    format!("the key named by kid cannot be used with {alg}"),
                ));
            }
            return Ok(vec![named]);
        }
        let keys: Vec<_> = self
            .keys
            .iter()
            .filter(|k| k.serves(alg))
            .take(MAX_KEYS_WITHOUT_KID)
            .collect();
        if keys.is_empty() {
            return Err(Error::new(
                ErrorCode::AlgNotAllowed,
                format!("no configured key can be used with {alg}"),
            ));
        }
        Ok(keys)
    }

    /// All configured keys.
    pub fn keys(&self) -> &[VerificationKey] {
        &self.keys
    }

    /// The public JWKs of the asymmetric keys (what a `jwks.json` publishes).
    pub fn public_jwks(&self) -> Vec<Value> {
        self.keys
            .iter()
            .filter_map(VerificationKey::public_jwk)
            .collect()
    }
}

fn check_serves_something(key: &VerificationKey, algorithms: &[Alg], path: &str) -> Result<()> {
    if algorithms.iter().any(|alg| key.serves(*alg)) {
        return Ok(());
    }
    if let KeyMaterial::Hmac(secret) = &key.material {
        let weakest = algorithms
            .iter()
            .filter(|a| a.family() == Family::Hmac && key.alg.is_none_or(|own| own == **a))
            .map(|a| a.min_hmac_key_bytes())
            .min();
        if let Some(needed) = weakest {
            return Err(Error::config(
                path,
                format!(
                    "HMAC secret is {} bytes; at least {needed} are required (the hash output size)",
                    secret.len()
                ),
            ));
        }
    }
    Err(Error::config(
        path,
        "this key serves none of the allowed algorithms",
    ))
}
