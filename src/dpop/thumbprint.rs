//! RFC 7638 JWK thumbprints, the `ath` hash (RFC 9449 §4.2) and constant-time comparison.

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, ErrorCode, Result};

/// The members RFC 7638 §3.2 hashes for each key type, in lexicographic order.
fn required_members(kty: &str) -> Option<&'static [&'static str]> {
    match kty {
        "EC" => Some(&["crv", "kty", "x", "y"]),
        "RSA" => Some(&["e", "kty", "n"]),
        "OKP" => Some(&["crv", "kty", "x"]),
        _ => None,
    }
}

/// The base64url SHA-256 JWK thumbprint (RFC 7638 §3) of a public `EC`, `RSA` or `OKP` key:
/// the hash of the JSON object of its required members only, in lexicographic order, without
/// whitespace. Other members (`kid`, `alg`, `use`) do not change it. `oct` keys are refused:
/// a DPoP key is never symmetric.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String> {
    let refuse = |why: &str| Error::new(ErrorCode::InvalidDpopProof, format!("header jwk {why}"));
    let kty = jwk
        .get("kty")
        .and_then(Value::as_str)
        .ok_or_else(|| refuse("has no kty string"))?;
    let members = required_members(kty).ok_or_else(|| refuse("has an unsupported kty"))?;
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk
            .get(*name)
            .and_then(Value::as_str)
            .ok_or_else(|| refuse(&format!("lacks the string member {name}")))?;
        if i > 0 {
            canonical.push(',');
        }
        // serde_json writes a string as RFC 8259 JSON with the minimal escapes, which is
        // what RFC 7638 §3.3 asks for (these values are base64url and names in practice).
        canonical.push('"');
        canonical.push_str(name);
        canonical.push_str("\":");
        canonical.push_str(&Value::from(value).to_string());
    }
    canonical.push('}');
    Ok(Base64UrlUnpadded::encode_string(&Sha256::digest(
        canonical.as_bytes(),
    )))
}

/// `ath`: base64url(SHA-256(ASCII(access token))) (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(access_token.as_bytes()))
}

/// Whether two strings are equal, in time that depends on their lengths only (the lengths of
/// a thumbprint or a hash are public).
pub(crate) fn same_secret_text(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn thumbprint(value: Value) -> Result<String> {
        jwk_thumbprint(value.as_object().unwrap())
    }

    #[test]
    fn rfc7638_section_3_1_example() {
        //! https://www.rfc-editor.org/rfc/rfc7638#section-3.1
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rfc9449_proof_key_thumbprint() {
        //! The key of the proof in https://www.rfc-editor.org/rfc/rfc9449#section-4.1 and its
        //! thumbprint as the `jkt` of §6.1.
        let jwk = json!({
            "kty": "EC",
            "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
            "crv": "P-256"
        });
        assert_eq!(
            thumbprint(jwk).unwrap(),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
    }

    #[test]
    fn rfc9449_ath_example() {
        //! The access token and `ath` of https://www.rfc-editor.org/rfc/rfc9449#section-7.1
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn refuses_keys_without_their_required_members() {
        for jwk in [
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!({"kty": "EC", "crv": "P-256", "x": "AA"}),
            json!({"kty": "RSA", "n": "AA", "e": 3}),
            json!({"x": "AA"}),
        ] {
            assert_eq!(
                thumbprint(jwk).unwrap_err().code(),
                ErrorCode::InvalidDpopProof
            );
        }
    }

    #[test]
    fn constant_time_comparison_is_equality() {
        assert!(same_secret_text("abc", "abc"));
        assert!(!same_secret_text("abc", "abd"));
        assert!(!same_secret_text("abc", "abcd"));
    }
}
