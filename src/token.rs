//! Compact JWS parsing with hard limits, up to (not including) the signature check.
//!
//! [`parse`] yields an [`UntrustedToken`]: its header has been checked, its payload is still raw
//! bytes. Only [`crate::Validator::verify`] turns it into something trusted, and the payload is
//! parsed as JSON only after its signature has verified.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::alg::Alg;
use crate::error::{Error, ErrorCode, Result};
use crate::json;

/// Default for `max_token_bytes`. Real access tokens are well under 2 KiB; 8 KiB matches the
/// header-size limits of common proxies, so a longer token would not reach us intact anyway.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8192;

/// A compact JWS whose structure and header passed every check, not yet authenticated.
#[derive(Debug)]
pub struct UntrustedToken<'a> {
    /// `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers.
    pub signing_input: &'a str,
    /// The decoded header object.
    pub header: Map<String, Value>,
    /// The header's `alg`, as written (known to be neither absent nor `none`).
    pub alg_name: String,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The header's `typ`, if any.
    pub typ: Option<String>,
    /// The decoded header bytes (the JSON text of `header`).
    pub header_json: Vec<u8>,
    /// The decoded payload bytes: NOT authenticated, never parsed before verification.
    pub payload: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

impl UntrustedToken<'_> {
    /// The header `alg` as a built-in algorithm, if it is one.
    pub fn alg(&self) -> Option<Alg> {
        Alg::from_name(&self.alg_name)
    }
}

fn malformed(message: &str) -> Error {
    Error::new(ErrorCode::Malformed, message)
}

/// Strict base64url without padding (RFC 7515 §2): no `=`, no whitespace, no `+` or `/`, and
/// no non-zero trailing bits (`URL_SAFE_NO_PAD` requires canonical encodings). Token bytes are
/// public, so the fast table-driven decoder is used rather than a constant-time one (base64ct
/// stays for key material); it is also about 0.4 µs faster per HS256 token.
pub(crate) fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| malformed(&format!("{what} is not strict base64url")))
}

/// Checks size, structure and header, in that order (see the README, "Order of checks").
pub fn parse(token: &str, max_token_bytes: usize) -> Result<UntrustedToken<'_>> {
    // Size first, before any decoding work: the bound on attacker-controlled effort.
    if token.len() > max_token_bytes {
        return Err(Error::new(
            ErrorCode::TooLarge,
            format!("token is longer than {max_token_bytes} bytes"),
        ));
    }
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed(
            "a compact JWS has exactly three dot-separated segments",
        ));
    };
    // An empty signature is left to the header checks (`alg: none` must say alg_not_allowed)
    // and then to verification, where no key accepts it.
    if header_b64.is_empty() {
        return Err(malformed("empty header segment"));
    }
    let header_json = decode_segment(header_b64, "header")?;
    let payload = decode_segment(payload_b64, "payload")?;
    let signature = decode_segment(signature_b64, "signature")?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];

    let header = json::parse_object(&header_json)
        .map_err(|e| malformed(&format!("header is not a valid JSON object ({e})")))?;
    let HeaderFields { alg_name, kid, typ } = check_header(&header)?;
    Ok(UntrustedToken {
        signing_input,
        header,
        alg_name,
        kid,
        typ,
        header_json,
        payload,
        signature,
    })
}

struct HeaderFields {
    alg_name: String,
    kid: Option<String>,
    typ: Option<String>,
}

fn optional_string(header: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(&format!("header {name} must be a string"))),
    }
}

fn check_header(header: &Map<String, Value>) -> Result<HeaderFields> {
    let alg_name = optional_string(header, "alg")?.ok_or_else(|| malformed("header has no alg"))?;
    // `none` in any spelling is refused outright, whatever the allow-list says.
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(Error::new(
            ErrorCode::AlgNotAllowed,
            "unsecured tokens (alg none) are never accepted",
        ));
    }
    // RFC 7515 §4.1.11: a recipient MUST reject a JWS whose `crit` names an extension it does
    // not implement. This validator implements none, so any `crit` is refused.
    if header.contains_key("crit") {
        return Err(Error::new(
            ErrorCode::UnsupportedHeader,
            "header crit names extensions this validator does not implement",
        ));
    }
    // RFC 7797 unencoded payloads change what the signature covers; never processed.
    match header.get("b64") {
        None | Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            return Err(Error::new(
                ErrorCode::UnsupportedHeader,
                "unencoded payloads (b64: false) are not supported",
            ))
        }
        Some(_) => return Err(malformed("header b64 must be a boolean")),
    }
    // `jku`, `x5u`, `jwk` and `x5c` are deliberately ignored: keys come only from the policy.
    Ok(HeaderFields {
        alg_name,
        kid: optional_string(header, "kid")?,
        typ: optional_string(header, "typ")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64ct::{Base64UrlUnpadded, Encoding};

    fn b64(s: &str) -> String {
        Base64UrlUnpadded::encode_string(s.as_bytes())
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    fn code(token: &str) -> ErrorCode {
        parse(token, DEFAULT_MAX_TOKEN_BYTES).unwrap_err().code()
    }

    #[test]
    fn parses_a_simple_token() {
        let t = token(r#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#, "{}");
        let parsed = parse(&t, DEFAULT_MAX_TOKEN_BYTES).unwrap();
        assert_eq!(parsed.alg(), Some(Alg::HS256));
        assert_eq!(parsed.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.signature, b"sig");
        assert_eq!(parsed.payload, b"{}");
    }

    #[test]
    fn size_limit_is_inclusive() {
        let t = token(r#"{"alg":"HS256"}"#, "{}");
        assert!(parse(&t, t.len()).is_ok());
        assert_eq!(
            parse(&t, t.len() - 1).unwrap_err().code(),
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn header_rules() {
        assert_eq!(
            code(&token(r#"{"alg":"nOnE"}"#, "{}")),
            ErrorCode::AlgNotAllowed
        );
        assert_eq!(code(&token(r#"{}"#, "{}")), ErrorCode::Malformed);
        assert_eq!(code(&token(r#"{"alg":1}"#, "{}")), ErrorCode::Malformed);
        assert_eq!(
            code(&token(r#"{"alg":"HS256","crit":[]}"#, "{}")),
            ErrorCode::UnsupportedHeader
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","b64":false}"#, "{}")),
            ErrorCode::UnsupportedHeader
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","alg":"none"}"#, "{}")),
            ErrorCode::Malformed
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","kid":5}"#, "{}")),
            ErrorCode::Malformed
        );
    }

    #[test]
    fn structure_rules() {
        let good = token(r#"{"alg":"HS256"}"#, "{}");
        assert_eq!(code(&format!("{good}.x")), ErrorCode::Malformed);
        assert_eq!(code(good.rsplit_once('.').unwrap().0), ErrorCode::Malformed);
        assert_eq!(code(&format!("{good}=")), ErrorCode::Malformed);
        assert_eq!(code(&format!(" {good}")), ErrorCode::Malformed);
        assert_eq!(code(&good.replace('.', ".+")), ErrorCode::Malformed);
        // A lone trailing character cannot encode a byte.
        assert_eq!(code(&good.replace("c2ln", "c2lnZ")), ErrorCode::Malformed);
        // "c2lnZQ" is "sige"; "c2lnZR" decodes to the same bytes with non-zero trailing bits,
        // a second spelling of one signature, so it is refused.
        assert!(parse(&good.replace("c2ln", "c2lnZQ"), DEFAULT_MAX_TOKEN_BYTES).is_ok());
        assert_eq!(code(&good.replace("c2ln", "c2lnZR")), ErrorCode::Malformed);
        assert_eq!(
            code(&good.replace("c2ln", "c2lnZQ==")),
            ErrorCode::Malformed
        );
    }
}
