//! Signature checks, dispatched to jwt-compact's algorithm implementations.
//!
//! This module answers one question: does `signature` over `signing_input` verify under this key
//! with this algorithm? Claims are none of its business.

use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{Algorithm, AlgorithmSignature};

use crate::alg::Alg;
use crate::keys::{KeyMaterial, VerificationKey};

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
/// family does not match the algorithm: keys are never reinterpreted across families.
pub fn verify_signature(alg: Alg, key: &VerificationKey, message: &[u8], signature: &[u8]) -> bool {
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
        (KeyMaterial::Rsa(public), Alg::RS256) => check(&Rsa::rs256(), public, message, signature),
        (KeyMaterial::Rsa(public), Alg::RS384) => check(&Rsa::rs384(), public, message, signature),
        (KeyMaterial::Rsa(public), Alg::RS512) => check(&Rsa::rs512(), public, message, signature),
        (KeyMaterial::Rsa(public), Alg::PS256) => check(&Rsa::ps256(), public, message, signature),
        (KeyMaterial::Rsa(public), Alg::PS384) => check(&Rsa::ps384(), public, message, signature),
        (KeyMaterial::Rsa(public), Alg::PS512) => check(&Rsa::ps512(), public, message, signature),
        (KeyMaterial::EcP256(public), Alg::ES256) => check(&Es256, public, message, signature),
        (KeyMaterial::Ed25519(public), Alg::EdDSA) => check(&Ed25519, public, message, signature),
        _ => false,
    }
}
