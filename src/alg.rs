//! The JWS algorithms this build implements, and the key family each belongs to.

use std::fmt;

/// A JWS `alg` this build can verify and sign (RFC 7518 §3, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alg {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519 (the only EdDSA curve built in).
    EdDSA,
}

/// The kind of key an algorithm needs. A key serves only its own family, which is what makes
/// key confusion (an RSA public key used as an HMAC secret) impossible by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Shared secret (`kty: oct`).
    Hmac,
    /// RSA key pair (`kty: RSA`).
    Rsa,
    /// P-256 key pair (`kty: EC`, `crv: P-256`).
    EcP256,
    /// P-384 key pair (`kty: EC`, `crv: P-384`).
    EcP384,
    /// Ed25519 key pair (`kty: OKP`, `crv: Ed25519`).
    Ed25519,
}

impl Alg {
    /// Every built-in algorithm.
    pub const ALL: [Alg; 12] = [
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::EdDSA,
    ];

    /// Exact, case-sensitive lookup of a header or config `alg` (RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The registered name.
    pub const fn name(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The key family that serves this algorithm.
    pub const fn family(self) -> Family {
        match self {
            Alg::HS256 | Alg::HS384 | Alg::HS512 => Family::Hmac,
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                Family::Rsa
            }
            Alg::ES256 => Family::EcP256,
            Alg::ES384 => Family::EcP384,
            Alg::EdDSA => Family::Ed25519,
        }
    }

    /// For HMAC: the hash output size, which is also the shortest secret accepted
    /// (RFC 7518 §3.2: "a key of the same size as the hash output … or larger MUST be used").
    pub const fn min_hmac_key_bytes(self) -> usize {
        match self {
            Alg::HS384 => 48,
            Alg::HS512 => 64,
            _ => 32,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in Alg::ALL {
            assert_eq!(Alg::from_name(alg.name()), Some(alg));
        }
        assert_eq!(Alg::from_name("hs256"), None);
        assert_eq!(Alg::from_name("none"), None);
        assert_eq!(Alg::from_name("ES512"), None);
    }
}
