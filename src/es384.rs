//! ES384 (ECDSA on P-384 with SHA-384, RFC 7518 §3.4), which jwt-compact does not implement:
//! RustCrypto's `p384` directly, with the JWK conversions the other families get from
//! jwt-compact. Signatures are the JWS form, r ‖ s, 48 bytes each. Without the `rust-asym`
//! feature only the constants remain.

#[cfg(feature = "rust-asym")]
use std::borrow::Cow;

#[cfg(feature = "rust-asym")]
use jwt_compact::alg::SecretBytes;
#[cfg(feature = "rust-asym")]
use jwt_compact::jwk::JsonWebKey;
#[cfg(feature = "rust-asym")]
use p384::ecdsa::signature::{Signer as _, Verifier as _};
#[cfg(feature = "rust-asym")]
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};

/// The JWK `crv` of P-384.
pub const CURVE: &str = "P-384";
/// Bytes of an ES384 signature (r ‖ s).
pub const SIGNATURE_BYTES: usize = 96;
/// Bytes of a coordinate (x, y) of a P-384 point.
pub const COORDINATE_BYTES: usize = 48;

/// The public key of an EC JWK on P-384; `None` when the point is not on the curve.
#[cfg(feature = "rust-asym")]
pub fn verifying_key(jwk: &JsonWebKey<'_>) -> Option<VerifyingKey> {
    let JsonWebKey::EllipticCurve { curve, x, y, .. } = jwk else {
        return None;
    };
    if curve != CURVE || x.len() != COORDINATE_BYTES || y.len() != COORDINATE_BYTES {
        return None;
    }
    let mut point = Vec::with_capacity(1 + 2 * COORDINATE_BYTES);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    VerifyingKey::from_sec1_bytes(&point).ok()
}

/// The private key of an EC JWK on P-384 whose `d` matches its `x` and `y`.
#[cfg(feature = "rust-asym")]
pub fn signing_key(jwk: &JsonWebKey<'_>) -> Option<SigningKey> {
    let JsonWebKey::EllipticCurve { secret, .. } = jwk else {
        return None;
    };
    let key = SigningKey::from_slice(secret.as_deref()?).ok()?;
    (verifying_key(jwk)? == *key.verifying_key()).then_some(key)
}

/// The public JWK of `key`.
#[cfg(feature = "rust-asym")]
pub fn public_jwk(key: &VerifyingKey) -> JsonWebKey<'static> {
    let point = key.to_encoded_point(false);
    JsonWebKey::EllipticCurve {
        curve: Cow::Borrowed(CURVE),
        x: Cow::Owned(point.x().map(|x| x.to_vec()).unwrap_or_default()),
        y: Cow::Owned(point.y().map(|y| y.to_vec()).unwrap_or_default()),
        secret: None,
    }
}

/// The private JWK of `key`.
#[cfg(feature = "rust-asym")]
pub fn private_jwk(key: &SigningKey) -> JsonWebKey<'static> {
    let mut jwk = public_jwk(key.verifying_key());
    if let JsonWebKey::EllipticCurve { secret, .. } = &mut jwk {
        *secret = Some(SecretBytes::owned(key.to_bytes().to_vec()));
    }
    jwk
}

/// Whether `signature` (r ‖ s) verifies over `message`. Decoding refuses r or s equal to zero
/// or not below the group order, as for ES256.
#[cfg(feature = "rust-asym")]
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|sig| key.verify(message, &sig).is_ok())
}

/// Whether `signature` has the ES384 shape: 96 bytes, r and s in [1, n − 1].
#[cfg(feature = "rust-asym")]
pub fn is_well_formed(signature: &[u8]) -> bool {
    signature.len() == SIGNATURE_BYTES && Signature::from_slice(signature).is_ok()
}

/// Signs `message` (RFC 6979 deterministic nonces).
#[cfg(feature = "rust-asym")]
pub fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let signature: Signature = key.sign(message);
    signature.to_bytes().to_vec()
}

#[cfg(all(test, feature = "rust-asym"))]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_jwk_round_trip() {
        let key = SigningKey::random(&mut rand_core::OsRng);
        let jwk = private_jwk(&key);
        let back = signing_key(&jwk).unwrap();
        assert_eq!(back.to_bytes(), key.to_bytes());
        let public = verifying_key(&public_jwk(key.verifying_key())).unwrap();
        let sig = sign(&key, b"message");
        assert!(verify(&public, b"message", &sig));
        assert!(!verify(&public, b"messagf", &sig));
        assert!(is_well_formed(&sig));
        assert!(!is_well_formed(&[0; SIGNATURE_BYTES]), "r = s = 0");
        assert!(!is_well_formed(&sig[..95]));
        // A d from another key does not sign for these x and y.
        let other = SigningKey::random(&mut rand_core::OsRng);
        let mut mixed = jwk;
        if let JsonWebKey::EllipticCurve { secret, .. } = &mut mixed {
            *secret = Some(SecretBytes::owned(other.to_bytes().to_vec()));
        }
        assert!(signing_key(&mixed).is_none());
    }
}
