//! Signature checks, dispatched to jwt-compact's algorithm implementations.
//!
//! This module answers one question: does `signature` over `signing_input` verify under this key
//! with this algorithm? Claims are none of its business.
//!
//! A host with native crypto may take over the asymmetric checks through [`SignatureBackend`]
//! (the npm package on Node and Deno uses OpenSSL through `node:crypto`, which verifies
//! ES256, EdDSA and RSA many times faster than the same code compiled to wasm). The core
//! still parses, picks the key and the algorithm, and checks every claim; the backend only
//! answers the question above, for a key and an algorithm the core already matched.

#[cfg(feature = "rust-asym")]
use jwt_compact::alg::{Ed25519, Es256, Rsa};
use jwt_compact::alg::{Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key};
use jwt_compact::{Algorithm, AlgorithmSignature};

use crate::alg::Alg;
use crate::keys::curve;
use crate::keys::{KeyMaterial, VerificationKey};

/// Whether this build checks RSA, ECDSA and Ed25519 signatures itself (feature `rust-asym`).
/// Without it (the Worker), [`verify_signature`] refuses them all and the host checks them.
pub const CARRIES_ASYMMETRIC: bool = cfg!(feature = "rust-asym");

/// Length check, then decoding, then the backend's verification. Any failure is `false`.
fn check<A: Algorithm>(alg: &A, key: &A::VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    // jwt-compact's `try_from_slice` assumes the length was checked (Ed25519 would panic).
    if let Some(len) = <A::Signature as AlgorithmSignature>::LENGTH {
        if signature.len() != len.get() {
            return false;
        }
    }
    // For ES256, decoding refuses r or s equal to zero or not below the group order, so the
    // "psychic signature" (CVE-2022-21449) never reaches the verification equation.
    match A::Signature::try_from_slice(signature) {
        Ok(sig) => alg.verify_signature(&sig, key, message),
        Err(_) => false,
    }
}

/// Verifies a signature with `key` under `alg`. Returns `false` (never panics) when the key's
/// family does not match the algorithm: keys are never reinterpreted across families, and
/// in a build without RustCrypto ([`CARRIES_ASYMMETRIC`]) for every asymmetric algorithm.
pub fn verify_signature(alg: Alg, key: &VerificationKey, message: &[u8], signature: &[u8]) -> bool {
    // The rsa crate checks s < n for PKCS#1 v1.5 but not for PSS: s + n (when it still fits
    // the modulus length) would pass as a second valid signature. Refused here for both.
    if let KeyMaterial::Rsa(public) = &key.material {
        if !rsa_below_modulus(public.modulus(), signature) {
            return false;
        }
    }
    match (&key.material, alg) {
        (KeyMaterial::Hmac(secret), Alg::HS256) => check(
            &Hs256,
            &Hs256Key::new(secret.as_slice()),
            message,
            signature,
        ),
        (KeyMaterial::Hmac(secret), Alg::HS384) => check(
            &Hs384,
            &Hs384Key::new(secret.as_slice()),
            message,
            signature,
        ),
        (KeyMaterial::Hmac(secret), Alg::HS512) => check(
            &Hs512,
            &Hs512Key::new(secret.as_slice()),
            message,
            signature,
        ),
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::Rsa(public), Alg::RS256) => {
            check(&Rsa::rs256(), &public.native, message, signature)
        }
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::Rsa(public), Alg::RS384) => {
            check(&Rsa::rs384(), &public.native, message, signature)
        }
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::Rsa(public), Alg::RS512) => {
            check(&Rsa::rs512(), &public.native, message, signature)
        }
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::Rsa(public), Alg::PS256) => {
            check(&Rsa::ps256(), &public.native, message, signature)
        }
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::Rsa(public), Alg::PS384) => {
            check(&Rsa::ps384(), &public.native, message, signature)
        }
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::Rsa(public), Alg::PS512) => {
            check(&Rsa::ps512(), &public.native, message, signature)
        }
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::EcP256(public), Alg::ES256) => {
            check(&Es256, &public.native, message, signature)
        }
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::EcP384(public), Alg::ES384) => {
            crate::es384::verify(&public.native, message, signature)
        }
        #[cfg(feature = "rust-asym")]
        (KeyMaterial::Ed25519(public), Alg::EdDSA) => {
            check(&Ed25519, &public.native, message, signature)
        }
        _ => false,
    }
}

/// Who answers "does this signature verify?" once the core has chosen the key and algorithm.
pub trait SignatureBackend {
    /// Verifies `signature` over `message` with `key` under `alg`; `false` for any failure.
    fn verify(&self, alg: Alg, key: &VerificationKey, message: &[u8], signature: &[u8]) -> bool;
}

/// A signature check that may wait: a host whose crypto answers with promises (WebCrypto in
/// the Worker). The core keeps every other step and its order; see [`SignatureBackend`].
pub trait SignatureCheck {
    /// Verifies `signature` over `message` with `key` under `alg`; `false` for any failure.
    fn check(
        &self,
        alg: Alg,
        key: &VerificationKey,
        message: &[u8],
        signature: &[u8],
    ) -> impl std::future::Future<Output = bool>;
}

/// Most keys a host keeps prepared; a key set rarely holds more than a handful.
const MAX_PREPARED_KEYS: usize = 64;

/// What a host's crypto prepared for each (algorithm, key) it checks with (an imported
/// `CryptoKey`, a host verifier), kept per isolate by [`VerificationKey::id`]; `None` where
/// the host has none for that key. Keys rebuilt from a refetched JWKS get new ids and are
/// prepared again; entries of dropped keys go when the list is cleared at its bound. Shared by
/// the Worker's WebCrypto and the npm package's host crypto and WebCrypto.
pub struct PreparedKeys<V> {
    entries: std::cell::RefCell<Vec<(Alg, u64, Option<V>)>>,
}

impl<V> Default for PreparedKeys<V> {
    fn default() -> Self {
        Self {
            entries: std::cell::RefCell::default(),
        }
    }
}

impl<V> PreparedKeys<V> {
    /// The entry for `alg` and `key`, if it was prepared.
    pub fn get(&self, alg: Alg, key: &VerificationKey) -> Option<std::cell::Ref<'_, Option<V>>> {
        let entries = self.entries.borrow();
        let index = Self::position(&entries, alg, key)?;
        Some(std::cell::Ref::map(entries, |e| &e[index].2))
    }

    /// Keeps what was prepared for `alg` and `key` (the list is cleared when full).
    pub fn insert(&self, alg: Alg, key: &VerificationKey, prepared: Option<V>) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= MAX_PREPARED_KEYS {
            entries.clear();
        }
        entries.push((alg, key.id(), prepared));
    }

    /// The entry for `alg` and `key`, prepared by `prepare` on first use (synchronously: the
    /// list is not borrowed while `prepare` runs). The borrow lasts as long as the caller holds
    /// it: never across an await.
    pub fn get_or_prepare(
        &self,
        alg: Alg,
        key: &VerificationKey,
        prepare: impl FnOnce() -> Option<V>,
    ) -> Option<std::cell::Ref<'_, Option<V>>> {
        if self.get(alg, key).is_none() {
            self.insert(alg, key, prepare());
        }
        self.get(alg, key)
    }

    fn position(
        entries: &[(Alg, u64, Option<V>)],
        alg: Alg,
        key: &VerificationKey,
    ) -> Option<usize> {
        entries
            .iter()
            .position(|(known_alg, known_key, _)| *known_alg == alg && *known_key == key.id())
    }
}

/// A synchronous backend as a [`SignatureCheck`] that never waits (its future is ready on the
/// first poll), so that synchronous callers run the same verification code.
pub struct Ready<'a>(pub &'a dyn SignatureBackend);

impl SignatureCheck for Ready<'_> {
    async fn check(
        &self,
        alg: Alg,
        key: &VerificationKey,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        self.0.verify(alg, key, message, signature)
    }
}

/// Whether a signature may be handed to a host at all: the one length `alg` allows with
/// `key`, for ES256 and ES384 both r and s in [1, n − 1], for EdDSA S below the group order
/// L (RFC 8032 §5.1.7), for RSA s below the modulus: what jwt-compact refuses by shape is
/// refused before any host sees it, so hosts cannot differ on it (the "psychic signature",
/// CVE-2022-21449, is r = s = 0). Byte comparisons against the constants and the key's own
/// modulus, the same in every build.
pub fn is_well_formed(alg: Alg, key: &VerificationKey, signature: &[u8]) -> bool {
    if !has_expected_length(alg, key, signature) {
        return false;
    }
    if let KeyMaterial::Rsa(public) = &key.material {
        return rsa_below_modulus(public.modulus(), signature);
    }
    let scalars = |curve: &curve::Curve| {
        let (r, s) = signature.split_at(signature.len() / 2);
        curve.is_scalar(r) && curve.is_scalar(s)
    };
    match alg {
        Alg::ES256 => scalars(&curve::P256),
        Alg::ES384 => scalars(&curve::P384),
        Alg::EdDSA => signature.get(32..).is_some_and(scalar_below_group_order),
        _ => true,
    }
}

/// Whether the big-endian `signature` is a number below the RSA modulus (RFC 8017 §5.2.2,
/// RSAVP1: "if s is not between 0 and n − 1, output 'signature representative out of range'").
/// `modulus` is big-endian without leading zero bytes.
fn rsa_below_modulus(modulus: &[u8], signature: &[u8]) -> bool {
    // Leading zero bytes of the signature do not change its value.
    let first = signature
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(signature.len());
    let value = &signature[first..];
    match value.len().cmp(&modulus.len()) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => value < modulus,
    }
}

/// Ed25519's group order L, little-endian (RFC 8032 §5.1).
const ED25519_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Whether the little-endian 32-byte `s` is below L.
fn scalar_below_group_order(s: &[u8]) -> bool {
    s.len() == 32 && s.iter().rev().cmp(ED25519_L.iter().rev()) == std::cmp::Ordering::Less
}

/// jwt-compact, in-process: the backend of every host unless one brings its own. Without
/// `rust-asym` it checks HMAC only.
pub struct JwtCompact;

impl SignatureBackend for JwtCompact {
    fn verify(&self, alg: Alg, key: &VerificationKey, message: &[u8], signature: &[u8]) -> bool {
        verify_signature(alg, key, message, signature)
    }
}

/// Whether `signature` has the one length `alg` allows with `key` (64 bytes for ES256 and
/// EdDSA, the modulus size for RSA); part of [`is_well_formed`].
fn has_expected_length(alg: Alg, key: &VerificationKey, signature: &[u8]) -> bool {
    match (&key.material, alg.family()) {
        (KeyMaterial::EcP256(_), crate::alg::Family::EcP256)
        | (KeyMaterial::Ed25519(_), crate::alg::Family::Ed25519) => signature.len() == 64,
        (KeyMaterial::EcP384(_), crate::alg::Family::EcP384) => {
            signature.len() == crate::es384::SIGNATURE_BYTES
        }
        (KeyMaterial::Rsa(public), crate::alg::Family::Rsa) => {
            signature.len() == public.modulus().len()
        }
        (KeyMaterial::Hmac(_), crate::alg::Family::Hmac) => true,
        _ => false,
    }
}
