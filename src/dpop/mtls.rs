//! Certificate-bound tokens (RFC 8705 §3): a token with `cnf["x5t#S256"]` is accepted only
//! over a connection whose verified client certificate has that SHA-256 thumbprint.
//!
//! Hosts give the certificate as they have it: the Worker as `request.cf.tlsClientAuth`
//! (`certFingerprintSHA256`, lower-case hex of the DER's SHA-256; `certPresented` "1";
//! `certVerified` "SUCCESS"), Node as the peer certificate's `raw` DER bytes and
//! `socket.authorized`. The thumbprint in the token is base64url; both sides are compared as
//! the 32 bytes they encode, in constant time.

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, ErrorCode, Result};

/// The client certificate as the host knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateFingerprint<'a> {
    /// The SHA-256 of the certificate's DER as 64 hex digits, either case (Cloudflare's
    /// `certFingerprintSHA256`).
    Sha256Hex(&'a str),
    /// The certificate's DER bytes (Node's `getPeerCertificate().raw`).
    Der(&'a [u8]),
}

/// What the host knows of the connection's client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCertificate<'a> {
    /// A certificate was presented in the TLS handshake.
    pub presented: bool,
    /// The host (or the TLS terminator) verified it against the trusted CAs (RFC 8705 §2.1),
    /// or, for self-signed binding (§2.2), accepted it as presented.
    pub verified: bool,
    /// The certificate itself, when presented.
    pub fingerprint: Option<CertificateFingerprint<'a>>,
}

fn mismatch(message: &str) -> Error {
    Error::new(ErrorCode::MtlsBindingMismatch, message)
}

fn hex_digest(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut digest = [0_u8; 32];
    for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *out = u8::try_from(high * 16 + low).ok()?;
    }
    Some(digest)
}

/// Checks a token's `cnf["x5t#S256"]` against the connection's client certificate:
/// `mtls_binding_mismatch` unless a certificate was presented and verified and its SHA-256
/// thumbprint is the token's.
pub fn check_certificate_binding(
    x5t_s256: &str,
    certificate: &ClientCertificate<'_>,
) -> Result<()> {
    if !certificate.presented {
        return Err(mismatch(
            "the token is bound to a client certificate and none was presented",
        ));
    }
    if !certificate.verified {
        return Err(mismatch("the client certificate was not verified"));
    }
    let presented: [u8; 32] = match certificate.fingerprint {
        Some(CertificateFingerprint::Sha256Hex(hex)) => hex_digest(hex)
            .ok_or_else(|| mismatch("the certificate fingerprint is not 64 hex digits"))?,
        Some(CertificateFingerprint::Der(der)) => Sha256::digest(der).into(),
        None => return Err(mismatch("the host passed no client certificate")),
    };
    let mut bound = [0_u8; 32];
    match Base64UrlUnpadded::decode(x5t_s256, &mut bound) {
        Ok(decoded) if decoded.len() == 32 => {}
        _ => {
            return Err(mismatch(
                "the token's cnf x5t#S256 is not a base64url SHA-256 thumbprint",
            ))
        }
    }
    if bool::from(presented.ct_eq(&bound)) {
        Ok(())
    } else {
        Err(mismatch(
            "the client certificate is not the one the token is bound to",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DER: &[u8] = b"not really DER, but any bytes hash the same way";

    fn thumbprint() -> String {
        Base64UrlUnpadded::encode_string(&Sha256::digest(DER))
    }

    fn hex() -> String {
        Sha256::digest(DER)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn verified(fingerprint: CertificateFingerprint<'_>) -> ClientCertificate<'_> {
        ClientCertificate {
            presented: true,
            verified: true,
            fingerprint: Some(fingerprint),
        }
    }

    fn code(result: Result<()>) -> ErrorCode {
        result.unwrap_err().code()
    }

    #[test]
    fn hex_of_either_case_and_der_match_the_thumbprint() {
        let lower = hex();
        let upper = lower.to_ascii_uppercase();
        for cert in [
            verified(CertificateFingerprint::Sha256Hex(&lower)),
            verified(CertificateFingerprint::Sha256Hex(&upper)),
            verified(CertificateFingerprint::Der(DER)),
        ] {
            assert!(
                check_certificate_binding(&thumbprint(), &cert).is_ok(),
                "{cert:?}"
            );
        }
    }

    #[test]
    fn absent_unverified_and_other_certificates_are_refused() {
        let lower = hex();
        let mut cert = verified(CertificateFingerprint::Sha256Hex(&lower));
        cert.verified = false;
        assert_eq!(
            code(check_certificate_binding(&thumbprint(), &cert)),
            ErrorCode::MtlsBindingMismatch
        );
        let absent = ClientCertificate {
            presented: false,
            verified: false,
            fingerprint: None,
        };
        assert_eq!(
            code(check_certificate_binding(&thumbprint(), &absent)),
            ErrorCode::MtlsBindingMismatch
        );
        let other = verified(CertificateFingerprint::Der(b"another certificate"));
        assert_eq!(
            code(check_certificate_binding(&thumbprint(), &other)),
            ErrorCode::MtlsBindingMismatch
        );
        let mut flipped = lower.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        let cert = verified(CertificateFingerprint::Sha256Hex(&flipped));
        assert_eq!(
            code(check_certificate_binding(&thumbprint(), &cert)),
            ErrorCode::MtlsBindingMismatch
        );
        for junk in ["", "zz", &"g".repeat(64), &lower[..62]] {
            let cert = verified(CertificateFingerprint::Sha256Hex(junk));
            assert_eq!(
                code(check_certificate_binding(&thumbprint(), &cert)),
                ErrorCode::MtlsBindingMismatch
            );
        }
        let cert = verified(CertificateFingerprint::Der(DER));
        for bad in ["", "AAAA", &format!("{}=", thumbprint()), &lower] {
            assert_eq!(
                code(check_certificate_binding(bad, &cert)),
                ErrorCode::MtlsBindingMismatch
            );
        }
    }
}
