//! Key generation for operators: a private JWK and the JWKS to publish.

use base64ct::{Base64UrlUnpadded, Encoding};
use jwt_compact::jwk::JsonWebKey;
use rand_core::{CryptoRng, RngCore};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::alg::{Alg, Family};
use crate::error::{Error, Result};
use crate::keys::jwk_value;

/// RSA keys are generated at 2048 bits, the RFC 7518 minimum and the common default.
pub const RSA_KEYGEN_BITS: usize = 2048;

/// A generated key pair (or secret) as JWKs.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The private JWK (keep secret).
    pub private_jwk: Value,
    /// `{"keys":[public JWK]}`, or `None` for HMAC, which has nothing public.
    pub public_jwks: Option<Value>,
}

/// Generates a key for `alg`. Without `kid`, the RFC 7638 thumbprint of the public key is used.
pub fn generate(
    alg: Alg,
    kid: Option<&str>,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<GeneratedKey> {
    let (private, public): (JsonWebKey<'static>, Option<JsonWebKey<'static>>) = match alg.family() {
        Family::Hmac => {
            let mut secret = vec![0_u8; alg.min_hmac_key_bytes()];
            rng.fill_bytes(&mut secret);
            (
                JsonWebKey::Symmetric {
                    secret: jwt_compact::alg::SecretBytes::owned(secret),
                },
                None,
            )
        }
        #[cfg(feature = "rust-asym")]
        Family::EcP256 => {
            let key = p256::ecdsa::SigningKey::random(rng);
            let private = JsonWebKey::from(&key).into_owned_key()?;
            (
                private,
                Some(JsonWebKey::from(key.verifying_key()).into_owned_key()?),
            )
        }
        #[cfg(feature = "rust-asym")]
        Family::EcP384 => {
            let key = p384::ecdsa::SigningKey::random(rng);
            (
                crate::es384::private_jwk(&key),
                Some(crate::es384::public_jwk(key.verifying_key())),
            )
        }
        #[cfg(feature = "rust-asym")]
        Family::Ed25519 => {
            let (secret, public) = jwt_compact::alg::Ed25519::generate(rng);
            (
                JsonWebKey::from(&secret).into_owned_key()?,
                Some(JsonWebKey::from(&public).into_owned_key()?),
            )
        }
        #[cfg(feature = "rsa-keygen")]
        Family::Rsa => {
            let key = rsa::RsaPrivateKey::new(rng, RSA_KEYGEN_BITS)
                .map_err(|e| Error::config("key", e))?;
            let public = key.to_public_key();
            (
                JsonWebKey::from(&key).into_owned_key()?,
                Some(JsonWebKey::from(&public).into_owned_key()?),
            )
        }
        // The Worker's build carries no asymmetric RustCrypto (feature `rust-asym`).
        #[cfg(not(feature = "rust-asym"))]
        Family::EcP256 | Family::EcP384 | Family::Ed25519 => {
            return Err(Error::config(
                "alg",
                "asymmetric keys are not generated in this build: use `edge-jwt keygen`, or \
                 WebCrypto's generateKey and export the JWK",
            ))
        }
        // Prime generation is a fifth of the package's wasm and takes seconds there.
        #[cfg(not(feature = "rsa-keygen"))]
        Family::Rsa => {
            return Err(Error::config(
                "alg",
                "RSA keys are not generated in this build: use `edge-jwt keygen --alg RS256`, \
                 or WebCrypto's generateKey and export the JWK",
            ))
        }
    };
    let thumbprint_source = public.as_ref().unwrap_or(&private);
    let kid = kid.map_or_else(
        || Base64UrlUnpadded::encode_string(&thumbprint_source.thumbprint::<Sha256>()),
        str::to_owned,
    );
    Ok(GeneratedKey {
        private_jwk: jwk_value(&private, Some(&kid), Some(alg)),
        public_jwks: public.map(|p| json!({ "keys": [jwk_value(&p, Some(&kid), Some(alg))] })),
    })
}

/// jwt-compact's JWKs borrow from the key; generation hands out owned copies.
#[cfg(feature = "rust-asym")]
trait IntoOwnedKey {
    fn into_owned_key(self) -> Result<JsonWebKey<'static>>;
}

#[cfg(feature = "rust-asym")]
impl IntoOwnedKey for JsonWebKey<'_> {
    fn into_owned_key(self) -> Result<JsonWebKey<'static>> {
        // Round-tripping through JSON is the crate's own owned form. It does not fail for a JWK
        // the crate itself produced, but a failure is an error to report, not a panic.
        serde_json::to_value(&self)
            .and_then(serde_json::from_value)
            .map_err(|e| {
                Error::config("key", format_args!("generated JWK did not round-trip: {e}"))
            })
    }
}
