//! Verification keys: an HMAC `secret`, JWKs and JWKS, and the choice among them.
//!
//! A key's type fixes the algorithm family it serves (oct → HS*, RSA → RS*/PS*, EC P-256 →
//! ES256, OKP Ed25519 → EdDSA) and its own `alg`, when given, narrows it to one algorithm. The
//! token header only ever picks among configured keys: `jku`, `x5u`, `jwk` and `x5c` are never
//! consulted.

use std::borrow::Cow;
use std::fmt;

use jwt_compact::jwk::JsonWebKey;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::alg::{Alg, Family};
use crate::error::{redact_quoted, Error, ErrorCode, Result};

/// Most keys tried for a token without a usable `kid`. Bounds the signature checks an attacker
/// can make us do per token (the same idea as webpki's signature budget).
pub const MAX_KEYS_WITHOUT_KID: usize = 4;

/// Smallest RSA modulus accepted (RFC 7518 §3.3: "a key of size 2048 bits or larger MUST be used").
pub const MIN_RSA_BITS: usize = 2048;

/// The parsed public keys of RustCrypto, where the build carries it (feature `rust-asym`);
/// without it, nothing: the Worker's WebCrypto imports the JWK components instead.
#[cfg(feature = "rust-asym")]
pub(crate) mod native {
    pub type Rsa = rsa::RsaPublicKey;
    pub type P256 = p256::ecdsa::VerifyingKey;
    pub type P384 = p384::ecdsa::VerifyingKey;
    pub type Ed25519 = ed25519_compact::PublicKey;
}
/// See the `rust-asym` version: no parsed keys in this build.
#[cfg(not(feature = "rust-asym"))]
pub(crate) mod native {
    pub type Rsa = ();
    pub type P256 = ();
    pub type P384 = ();
    pub type Ed25519 = ();
}

/// A public key as its JWK components (RSA `n` and `e` as minimal big-endian bytes, EC `x` and
/// `y`, OKP `x`: what is published and what a host imports, and what the range checks of
/// [`crate::verify::is_well_formed`] compare against), with RustCrypto's parsed key when built.
#[derive(Clone)]
pub(crate) struct Public<K> {
    pub jwk: JsonWebKey<'static>,
    #[cfg_attr(not(feature = "rust-asym"), allow(dead_code))]
    pub native: K,
}

impl Public<native::Rsa> {
    /// The modulus n, big-endian, without leading zero bytes.
    pub fn modulus(&self) -> &[u8] {
        match &self.jwk {
            JsonWebKey::Rsa { modulus, .. } => modulus,
            _ => &[],
        }
    }
}

/// Public (or shared) key material, one variant per family.
#[derive(Clone)]
pub(crate) enum KeyMaterial {
    Hmac(Zeroizing<Vec<u8>>),
    Rsa(Public<native::Rsa>),
    EcP256(Public<native::P256>),
    EcP384(Public<native::P384>),
    Ed25519(Public<native::Ed25519>),
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

    /// The public JWK components; `None` for HMAC.
    fn public(&self) -> Option<&JsonWebKey<'static>> {
        match self {
            KeyMaterial::Hmac(_) => None,
            KeyMaterial::Rsa(key) => Some(&key.jwk),
            KeyMaterial::EcP256(key) => Some(&key.jwk),
            KeyMaterial::EcP384(key) => Some(&key.jwk),
            KeyMaterial::Ed25519(key) => Some(&key.jwk),
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
        let jwk = self.material.public()?;
        Some(jwk_value(jwk, self.kid.as_deref(), self.alg))
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

/// The public components of an asymmetric JWK, owned: `n` and `e` without leading zero bytes
/// (as RustCrypto and every host read them, and as they are published), EC and OKP members
/// as given. `None` for other JWKs.
pub(crate) fn public_components(jwk: &JsonWebKey<'_>) -> Option<JsonWebKey<'static>> {
    fn minimal(bytes: &[u8]) -> Cow<'static, [u8]> {
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        Cow::Owned(bytes[first..].to_vec())
    }
    let owned = |bytes: &[u8]| Cow::Owned(bytes.to_vec());
    Some(match jwk {
        JsonWebKey::Rsa {
            modulus,
            public_exponent,
            ..
        } => JsonWebKey::Rsa {
            modulus: minimal(modulus),
            public_exponent: minimal(public_exponent),
            private_parts: None,
        },
        JsonWebKey::EllipticCurve { curve, x, y, .. } => JsonWebKey::EllipticCurve {
            curve: Cow::Owned(curve.to_string()),
            x: owned(x),
            y: owned(y),
            secret: None,
        },
        JsonWebKey::KeyPair { curve, x, .. } => JsonWebKey::KeyPair {
            curve: Cow::Owned(curve.to_string()),
            x: owned(x),
            secret: None,
        },
        _ => return None,
    })
}

fn material_from_jwk(jwk: &JsonWebKey<'_>, path: &str) -> Result<KeyMaterial> {
    if let JsonWebKey::Symmetric { secret } = jwk {
        return Ok(KeyMaterial::Hmac(Zeroizing::new(secret.to_vec())));
    }
    let public =
        public_components(jwk).ok_or_else(|| Error::config(path, "unsupported key type"))?;
    Ok(match jwk {
        JsonWebKey::Rsa { .. } => {
            let key = Public {
                native: native_rsa(jwk).map_err(|e| jwk_error(path, e))?,
                jwk: public,
            };
            let bits = bit_length(key.modulus());
            if bits < MIN_RSA_BITS {
                return Err(Error::config(
                    path,
                    format!("RSA modulus has {bits} bits; at least {MIN_RSA_BITS} are required"),
                ));
            }
            KeyMaterial::Rsa(key)
        }
        JsonWebKey::EllipticCurve { curve, .. } if curve == crate::es384::CURVE => {
            KeyMaterial::EcP384(Public {
                native: native_p384(jwk).ok_or_else(|| jwk_error(path, "not a point on P-384"))?,
                jwk: public,
            })
        }
        JsonWebKey::EllipticCurve { curve, .. } => {
            if curve != "P-256" {
                return Err(Error::config(
                    &format!("{path}.crv"),
                    format!("curve {curve:?} is not supported by this build (P-256, P-384)"),
                ));
            }
            KeyMaterial::EcP256(Public {
                native: native_p256(jwk).map_err(|e| jwk_error(path, e))?,
                jwk: public,
            })
        }
        JsonWebKey::KeyPair { curve, .. } => {
            if curve != "Ed25519" {
                return Err(Error::config(
                    &format!("{path}.crv"),
                    format!("curve {curve:?} is not supported by this build (Ed25519 only)"),
                ));
            }
            KeyMaterial::Ed25519(Public {
                native: native_ed25519(jwk).map_err(|e| jwk_error(path, e))?,
                jwk: public,
            })
        }
        _ => return Err(Error::config(path, "unsupported key type")),
    })
}

/// The family of an asymmetric public key, after every check a configured verification key
/// gets (for a signing key's public half in builds without RustCrypto: src/mint.rs).
#[cfg(not(feature = "rust-asym"))]
pub(crate) fn checked_family(public: &JsonWebKey<'_>, path: &str) -> Result<Family> {
    material_from_jwk(public, path).map(|material| material.family())
}

/// Bits of a big-endian number without leading zero bytes.
fn bit_length(minimal: &[u8]) -> usize {
    minimal.first().map_or(0, |top| {
        let top_bits = 8 - usize::try_from(top.leading_zeros()).unwrap_or(8);
        (minimal.len() - 1) * 8 + top_bits
    })
}

#[cfg(feature = "rust-asym")]
fn native_rsa(jwk: &JsonWebKey<'_>) -> std::result::Result<native::Rsa, impl fmt::Display> {
    rsa::RsaPublicKey::try_from(jwk)
}

#[cfg(feature = "rust-asym")]
fn native_p256(jwk: &JsonWebKey<'_>) -> std::result::Result<native::P256, impl fmt::Display> {
    p256::ecdsa::VerifyingKey::try_from(jwk)
}

#[cfg(feature = "rust-asym")]
fn native_p384(jwk: &JsonWebKey<'_>) -> Option<native::P384> {
    crate::es384::verifying_key(jwk)
}

#[cfg(feature = "rust-asym")]
fn native_ed25519(jwk: &JsonWebKey<'_>) -> std::result::Result<native::Ed25519, impl fmt::Display> {
    ed25519_compact::PublicKey::try_from(jwk)
}

/// The checks of RustCrypto's `RsaPublicKey::new` (rsa 0.9, `check_public_with_max_size`), in
/// its order and with its messages, so that a key refused natively is refused here too.
#[cfg(not(feature = "rust-asym"))]
fn native_rsa(jwk: &JsonWebKey<'_>) -> std::result::Result<native::Rsa, &'static str> {
    /// rsa 0.9's `RsaPublicKey::MAX_SIZE` and `MAX_PUB_EXPONENT`.
    const MAX_BITS: usize = 4096;
    const MAX_EXPONENT: u64 = (1 << 33) - 1;
    let Some(JsonWebKey::Rsa {
        modulus: n,
        public_exponent: e,
        ..
    }) = public_components(jwk)
    else {
        return Err("unexpected key type");
    };
    if bit_length(&n) > MAX_BITS {
        return Err("modulus too large");
    }
    if e.len() > 8 {
        return Err("public exponent too large");
    }
    let exponent = e.iter().fold(0_u64, |acc, b| (acc << 8) | u64::from(*b));
    // e ≥ n compares the minimal big-endian forms: longer is larger, else bytewise.
    let e_not_below_n = (e.len(), e.as_ref()) >= (n.len(), n.as_ref());
    if e_not_below_n || n.last().is_none_or(|low| low & 1 == 0) {
        return Err("invalid modulus");
    }
    if exponent & 1 == 0 {
        return Err("invalid exponent");
    }
    if exponent < 2 {
        return Err("public exponent too small");
    }
    if exponent > MAX_EXPONENT {
        return Err("public exponent too large");
    }
    Ok(())
}

/// The length checks of jwt-compact's P-256 conversion, then the point on the curve.
#[cfg(not(feature = "rust-asym"))]
fn native_p256(jwk: &JsonWebKey<'_>) -> std::result::Result<native::P256, String> {
    let JsonWebKey::EllipticCurve { x, y, .. } = jwk else {
        return Err("unexpected key type".into());
    };
    for (field, value) in [("x", x), ("y", y)] {
        if value.len() != 32 {
            return Err(format!(
                "field `{field}` has unexpected length (expected: 32, got: {})",
                value.len()
            ));
        }
    }
    curve::P256
        .contains(x, y)
        .then_some(())
        .ok_or_else(|| "not a point on P-256".into())
}

#[cfg(not(feature = "rust-asym"))]
fn native_p384(jwk: &JsonWebKey<'_>) -> Option<native::P384> {
    let JsonWebKey::EllipticCurve { x, y, .. } = jwk else {
        return None;
    };
    let sizes = x.len() == 48 && y.len() == 48;
    (sizes && curve::P384.contains(x, y)).then_some(())
}

/// jwt-compact's Ed25519 conversion checks the length only (ed25519-compact's too).
#[cfg(not(feature = "rust-asym"))]
fn native_ed25519(jwk: &JsonWebKey<'_>) -> std::result::Result<native::Ed25519, String> {
    match jwk {
        JsonWebKey::KeyPair { x, .. } if x.len() == 32 => Ok(()),
        JsonWebKey::KeyPair { x, .. } => Err(format!(
            "field `x` has unexpected length (expected: 32, got: {})",
            x.len()
        )),
        _ => Err("unexpected key type".into()),
    }
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

/// The NIST curves' constants, big-endian, and what the core checks with them without a bigint
/// crate: signature scalars below the group order ([`crate::verify::is_well_formed`]) and, in
/// builds without RustCrypto, public points on their curve.
pub(crate) mod curve {
    /// A short Weierstrass curve y² = x³ − 3x + b over the prime field p, with group order n.
    pub struct Curve {
        #[cfg_attr(all(not(test), feature = "rust-asym"), allow(dead_code))]
        pub p: &'static [u8],
        #[cfg_attr(all(not(test), feature = "rust-asym"), allow(dead_code))]
        pub b: &'static [u8],
        pub n: &'static [u8],
    }

    /// P-256 (SEC 2 secp256r1; FIPS 186-4 D.1.2.3).
    pub const P256: Curve = Curve {
        p: &[
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff,
        ],
        b: &[
            0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55, 0x76, 0x98,
            0x86, 0xbc, 0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e,
            0x27, 0xd2, 0x60, 0x4b,
        ],
        n: &[
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2,
            0xfc, 0x63, 0x25, 0x51,
        ],
    };

    /// P-384 (SEC 2 secp384r1; FIPS 186-4 D.1.2.4).
    pub const P384: Curve = Curve {
        p: &[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
        ],
        b: &[
            0xb3, 0x31, 0x2f, 0xa7, 0xe2, 0x3e, 0xe7, 0xe4, 0x98, 0x8e, 0x05, 0x6b, 0xe3, 0xf8,
            0x2d, 0x19, 0x18, 0x1d, 0x9c, 0x6e, 0xfe, 0x81, 0x41, 0x12, 0x03, 0x14, 0x08, 0x8f,
            0x50, 0x13, 0x87, 0x5a, 0xc6, 0x56, 0x39, 0x8d, 0x8a, 0x2e, 0xd1, 0x9d, 0x2a, 0x85,
            0xc8, 0xed, 0xd3, 0xec, 0x2a, 0xef,
        ],
        n: &[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81,
            0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a, 0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec,
            0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
        ],
    };

    impl Curve {
        /// Whether the big-endian `scalar`, as long as the order, is in [1, n − 1]: what an
        /// ECDSA signature's r and s must be (SEC 1 §4.1.4 step 1).
        pub fn is_scalar(&self, scalar: &[u8]) -> bool {
            scalar.len() == self.n.len() && scalar.iter().any(|b| *b != 0) && scalar < self.n
        }

        /// Whether (x, y), big-endian coordinates as long as p, is a point of the curve: both
        /// below p and y² = x³ − 3x + b (mod p). Public data, so not constant-time.
        #[cfg(any(test, not(feature = "rust-asym")))]
        pub fn contains(&self, x: &[u8], y: &[u8]) -> bool {
            let size = self.p.len();
            if x.len() != size || y.len() != size || x >= self.p || y >= self.p {
                return false;
            }
            let field = Field::new(self.p);
            let (x, y, b) = (limbs(x), limbs(y), limbs(self.b));
            let x3 = field.mul(&field.mul(&x, &x), &x);
            let three_x = field.add(&field.add(&x, &x), &x);
            let rhs = field.add(&field.sub(&x3, &three_x), &b);
            field.mul(&y, &y) == rhs
        }
    }

    /// Big-endian bytes (a multiple of 4 long) as little-endian 32-bit limbs.
    #[cfg(any(test, not(feature = "rust-asym")))]
    fn limbs(bytes: &[u8]) -> Vec<u32> {
        bytes
            .rchunks(4)
            .map(|c| c.iter().fold(0_u32, |acc, b| (acc << 8) | u32::from(*b)))
            .collect()
    }

    /// Arithmetic modulo p on numbers below p, by double-and-add: a few thousand limb
    /// operations per product, for a check made once per configured key.
    #[cfg(any(test, not(feature = "rust-asym")))]
    struct Field {
        p: Vec<u32>,
    }

    #[cfg(any(test, not(feature = "rust-asym")))]
    impl Field {
        fn new(p: &[u8]) -> Field {
            Field { p: limbs(p) }
        }

        /// a + b (wrapping), and whether it carried out.
        fn add_raw(a: &[u32], b: &[u32]) -> (Vec<u32>, bool) {
            let mut carry = 0_u64;
            let sum = a
                .iter()
                .zip(b)
                .map(|(x, y)| {
                    let s = u64::from(*x) + u64::from(*y) + carry;
                    carry = s >> 32;
                    #[allow(clippy::cast_possible_truncation, clippy::as_conversions)]
                    let low = s as u32; // the low 32 bits, by design
                    low
                })
                .collect();
            (sum, carry != 0)
        }

        /// a − b (wrapping), and whether it borrowed.
        fn sub_raw(a: &[u32], b: &[u32]) -> (Vec<u32>, bool) {
            let mut borrow = false;
            let difference = a
                .iter()
                .zip(b)
                .map(|(x, y)| {
                    let (d, b1) = x.overflowing_sub(*y);
                    let (d, b2) = d.overflowing_sub(u32::from(borrow));
                    borrow = b1 || b2;
                    d
                })
                .collect();
            (difference, borrow)
        }

        /// Little-endian limbs compared as numbers.
        fn at_least(a: &[u32], b: &[u32]) -> bool {
            a.iter().rev().cmp(b.iter().rev()) != std::cmp::Ordering::Less
        }

        fn add(&self, a: &[u32], b: &[u32]) -> Vec<u32> {
            let (sum, carried) = Self::add_raw(a, b);
            // a + b < 2p: one subtraction of p at most (wrapping when the sum carried out).
            if carried || Self::at_least(&sum, &self.p) {
                Self::sub_raw(&sum, &self.p).0
            } else {
                sum
            }
        }

        fn sub(&self, a: &[u32], b: &[u32]) -> Vec<u32> {
            let (difference, borrowed) = Self::sub_raw(a, b);
            if borrowed {
                Self::add_raw(&difference, &self.p).0
            } else {
                difference
            }
        }

        fn mul(&self, a: &[u32], b: &[u32]) -> Vec<u32> {
            let mut product = vec![0_u32; self.p.len()];
            for limb in b.iter().rev() {
                for bit in (0..32).rev() {
                    product = self.add(&product, &product);
                    if (limb >> bit) & 1 == 1 {
                        product = self.add(&product, a);
                    }
                }
            }
            product
        }
    }

    #[cfg(all(test, feature = "rust-asym"))]
    mod tests {
        use super::*;

        #[test]
        fn points_on_the_curves_agree_with_rustcrypto() {
            for _ in 0..20 {
                let key = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
                let point = key.verifying_key().to_encoded_point(false);
                let (x, y) = (point.x().unwrap().to_vec(), point.y().unwrap().to_vec());
                assert!(P256.contains(&x, &y));
                let mut bent = y.clone();
                bent[31] ^= 1;
                assert!(!P256.contains(&x, &bent));
                let mut sec1 = vec![4];
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&bent);
                assert!(p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).is_err());

                let key = p384::ecdsa::SigningKey::random(&mut rand_core::OsRng);
                let point = key.verifying_key().to_encoded_point(false);
                let (x, y) = (point.x().unwrap().to_vec(), point.y().unwrap().to_vec());
                assert!(P384.contains(&x, &y));
                let mut bent = x.clone();
                bent[0] ^= 0x40;
                assert!(!P384.contains(&bent, &y));
            }
            // −y is on the curve too; y + p is not a field element.
            assert!(!P256.contains(&[0; 32], &[0; 32]));
            assert!(!P256.contains(P256.p, &[0; 32]));
        }

        #[test]
        fn scalars_agree_with_rustcrypto_signature_decoding() {
            let one_below = |n: &[u8]| {
                let mut v = n.to_vec();
                *v.last_mut().unwrap() -= 1;
                v
            };
            let one_above = |n: &[u8]| {
                let mut v = n.to_vec();
                *v.last_mut().unwrap() += 1;
                v
            };
            let cases = |n: &[u8]| {
                let size = n.len();
                let mut one = vec![0; size];
                one[size - 1] = 1;
                vec![
                    vec![0; size],
                    one,
                    one_below(n),
                    n.to_vec(),
                    one_above(n),
                    vec![0xff; size],
                ]
            };
            for r in cases(P256.n) {
                for s in cases(P256.n) {
                    let sig = [r.as_slice(), s.as_slice()].concat();
                    assert_eq!(
                        P256.is_scalar(&r) && P256.is_scalar(&s),
                        p256::ecdsa::Signature::from_slice(&sig).is_ok()
                    );
                }
            }
            for r in cases(P384.n) {
                for s in cases(P384.n) {
                    let sig = [r.as_slice(), s.as_slice()].concat();
                    assert_eq!(
                        P384.is_scalar(&r) && P384.is_scalar(&s),
                        p384::ecdsa::Signature::from_slice(&sig).is_ok()
                    );
                }
            }
        }
    }
}
