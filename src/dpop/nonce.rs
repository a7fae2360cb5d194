//! Stateless server nonces (RFC 9449 §8): `DPoP-Nonce` values that need no store.
//!
//! A nonce is `base64url(counter || tag)`: `counter` is the number of the time window
//! (`now / window_s`, 8 bytes big-endian) and `tag` the first 16 bytes of
//! HMAC-SHA256(secret, "edge-jwt dpop nonce v1" || 0 || counter || binding). It is accepted
//! in its own window and the next, so a nonce lives between one and two windows, and every
//! isolate holding the secret agrees without asking anyone. The label keeps these MACs apart
//! from anything else the same secret might sign; `binding` (for example the client's key
//! thumbprint) ties a nonce to one client when the host wants that. A 128-bit tag makes a
//! forgery as likely as guessing a random 128-bit value.

use std::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, ErrorCode, Result};

/// Domain separation for the nonce MAC.
const LABEL: &[u8] = b"edge-jwt dpop nonce v1\0";
/// Bytes of the MAC kept in a nonce.
const TAG_BYTES: usize = 16;
/// Bytes of a decoded nonce.
const NONCE_BYTES: usize = 8 + TAG_BYTES;
/// Shortest secret accepted: the HMAC-SHA256 output size (RFC 2104 §3).
pub const MIN_NONCE_SECRET_BYTES: usize = 32;
/// Default window: a nonce is good for 5 to 10 minutes.
pub const DEFAULT_NONCE_WINDOW_S: u64 = 300;

/// The secret and window nonces are made and checked with.
pub struct NonceKey {
    /// HMAC-SHA256 keyed with the secret, before any input.
    keyed: Hmac<Sha256>,
    window_s: u64,
}

impl fmt::Debug for NonceKey {
    // The secret never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceKey")
            .field("secret", &"_")
            .field("window_s", &self.window_s)
            .finish()
    }
}

fn use_nonce(message: &str) -> Error {
    Error::new(ErrorCode::UseDpopNonce, message)
}

impl NonceKey {
    /// A key from a secret of at least [`MIN_NONCE_SECRET_BYTES`] and a window of 1 to
    /// 86 400 seconds.
    pub fn new(secret: &[u8], window_s: u64) -> Result<Self> {
        if secret.len() < MIN_NONCE_SECRET_BYTES {
            return Err(Error::config(
                "dpop.nonce_secret",
                format!("must be at least {MIN_NONCE_SECRET_BYTES} bytes"),
            ));
        }
        if window_s == 0 || window_s > 86_400 {
            return Err(Error::config(
                "dpop.nonce_window_s",
                "must be within 1..=86400",
            ));
        }
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .map_err(|_| Error::config("dpop.nonce_secret", "unusable secret"))?;
        Ok(Self { keyed, window_s })
    }

    /// The window length in seconds.
    pub fn window_s(&self) -> u64 {
        self.window_s
    }

    fn mac(&self, counter: u64, binding: Option<&str>) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(LABEL);
        mac.update(&counter.to_be_bytes());
        if let Some(binding) = binding {
            mac.update(binding.as_bytes());
        }
        mac
    }

    /// The nonce for the window holding `now` (the `DPoP-Nonce` to send), bound to
    /// `binding` when given.
    pub fn issue(&self, now: u64, binding: Option<&str>) -> String {
        let counter = now / self.window_s;
        let tag = self.mac(counter, binding).finalize().into_bytes();
        let mut bytes = [0_u8; NONCE_BYTES];
        bytes[..8].copy_from_slice(&counter.to_be_bytes());
        bytes[8..].copy_from_slice(&tag[..TAG_BYTES]);
        Base64UrlUnpadded::encode_string(&bytes)
    }

    /// Accepts a nonce this key issued in the window of `now` or the one before, with the
    /// same `binding`; anything else is `use_dpop_nonce`, so the client retries with the
    /// `DPoP-Nonce` of the answer (a nonce from a rotated secret recovers the same way).
    pub fn check(&self, nonce: &str, now: u64, binding: Option<&str>) -> Result<()> {
        let mut bytes = [0_u8; NONCE_BYTES];
        let decoded = Base64UrlUnpadded::decode(nonce, &mut bytes)
            .map_err(|_| use_nonce("the proof's nonce is not one this server issued"))?;
        if decoded.len() != NONCE_BYTES {
            return Err(use_nonce("the proof's nonce is not one this server issued"));
        }
        let mut counter_bytes = [0_u8; 8];
        counter_bytes.copy_from_slice(&bytes[..8]);
        let counter = u64::from_be_bytes(counter_bytes);
        self.mac(counter, binding)
            .verify_truncated_left(&bytes[8..])
            .map_err(|_| use_nonce("the proof's nonce is not one this server issued"))?;
        let current = now / self.window_s;
        if counter == current || counter.checked_add(1) == Some(current) {
            Ok(())
        } else {
            Err(use_nonce("the proof's nonce is stale"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"nonce-test-secret-0123456789abcdef";

    fn code(result: Result<()>) -> ErrorCode {
        result.unwrap_err().code()
    }

    #[test]
    fn nonces_last_their_window_and_the_next() {
        let key = NonceKey::new(SECRET, 300).unwrap();
        let nonce = key.issue(3_000, None);
        assert_eq!(nonce.len(), 32);
        assert!(key.check(&nonce, 3_000, None).is_ok());
        assert!(key.check(&nonce, 3_299, None).is_ok());
        assert!(key.check(&nonce, 3_599, None).is_ok());
        assert_eq!(
            code(key.check(&nonce, 3_600, None)),
            ErrorCode::UseDpopNonce
        );
        // From a later window than now: not issued yet, so not accepted.
        assert_eq!(
            code(key.check(&nonce, 2_999, None)),
            ErrorCode::UseDpopNonce
        );
    }

    #[test]
    fn forged_rebound_and_foreign_nonces_are_refused() {
        let key = NonceKey::new(SECRET, 300).unwrap();
        let nonce = key.issue(3_000, Some("jkt-a"));
        assert!(key.check(&nonce, 3_000, Some("jkt-a")).is_ok());
        assert_eq!(
            code(key.check(&nonce, 3_000, Some("jkt-b"))),
            ErrorCode::UseDpopNonce
        );
        assert_eq!(
            code(key.check(&nonce, 3_000, None)),
            ErrorCode::UseDpopNonce
        );
        let other = NonceKey::new(b"another-secret-0123456789abcdefgh", 300).unwrap();
        assert_eq!(
            code(other.check(&nonce, 3_000, Some("jkt-a"))),
            ErrorCode::UseDpopNonce
        );
        // A changed counter with the old tag.
        let mut bytes = Base64UrlUnpadded::decode_vec(&nonce).unwrap();
        bytes[7] ^= 1;
        let moved = Base64UrlUnpadded::encode_string(&bytes);
        assert_eq!(
            code(key.check(&moved, 3_000, Some("jkt-a"))),
            ErrorCode::UseDpopNonce
        );
        for junk in ["", "x", "!!!!", &"A".repeat(32), &format!("{nonce}A")] {
            assert_eq!(code(key.check(junk, 3_000, None)), ErrorCode::UseDpopNonce);
        }
    }

    #[test]
    fn weak_settings_are_refused() {
        assert!(NonceKey::new(&SECRET[..31], 300).is_err());
        assert!(NonceKey::new(SECRET, 0).is_err());
        assert!(NonceKey::new(SECRET, 86_401).is_err());
        assert_eq!(
            format!("{:?}", NonceKey::new(SECRET, 60).unwrap()),
            "NonceKey { secret: \"_\", window_s: 60 }"
        );
    }
}
