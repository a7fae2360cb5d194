//! Compact JWS parsing with hard limits, up to (not including) the signature check.
//!
//! [`parse`] yields an [`UntrustedToken`]: its header has been checked, its payload is still raw
//! bytes. Only [`crate::Validator::verify`] turns it into something trusted, and the payload is
//! parsed as JSON only after its signature has verified.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::alg::Alg;
use crate::error::{Error, ErrorCode, Result};
use crate::json;

/// Default for `max_token_bytes`. Real access tokens are well under 2 KiB; 8 KiB matches the
/// header-size limits of common proxies, so a longer token would not reach us intact anyway.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8192;

/// A JOSE header that passed every check.
#[derive(Debug, Default)]
pub struct Header {
    /// The decoded header object.
    pub fields: Map<String, Value>,
    /// The decoded header bytes (the JSON text of `fields`).
    pub json: Vec<u8>,
    /// The header's `alg`, as written (known to be neither absent nor `none`).
    pub alg_name: String,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// The header's `typ`, if any.
    pub typ: Option<String>,
    /// Tells apart the headers one [`HeaderCache`] has parsed (from 1; 0 for a header parsed
    /// without one), so that a host can keep its own copy of a header by this number.
    pub serial: u64,
}

impl Header {
    /// The header `alg` as a built-in algorithm, if it is one.
    pub fn alg(&self) -> Option<Alg> {
        Alg::from_name(&self.alg_name)
    }
}

/// A compact JWS whose structure and header passed every check, not yet authenticated.
#[derive(Debug)]
pub struct UntrustedToken<'a> {
    /// `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers.
    pub signing_input: &'a str,
    /// The header, shared with other tokens that have the same header segment.
    pub header: Arc<Header>,
    /// The decoded payload bytes: NOT authenticated, never parsed before verification.
    pub payload: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Most header segments a [`HeaderCache`] holds.
const CACHED_HEADERS: usize = 4;

/// The headers parsed last, by their segment. Tokens from one issuer and key carry the same
/// header segment, so most tokens skip decoding, parsing and checking it again; the same bytes
/// always give the same header, so a hit answers exactly as a parse would. Only headers that
/// passed are kept. A few entries cover rotation and a handful of issuers; a miss costs only
/// the parse it would have done anyway.
#[derive(Debug, Default)]
pub struct HeaderCache {
    recent: Mutex<RecentHeaders>,
}

#[derive(Debug, Default)]
struct RecentHeaders {
    /// `(segment, header)`, at most [`CACHED_HEADERS`].
    entries: Vec<(Box<str>, Arc<Header>)>,
    /// The entry replaced next once full.
    next: usize,
    /// The last [`Header::serial`] given.
    serial: u64,
}

impl HeaderCache {
    fn recent(&self) -> std::sync::MutexGuard<'_, RecentHeaders> {
        // A poisoned lock only means another thread panicked mid-update: the entries are
        // still whole (each push or replacement is one assignment).
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, segment: &str) -> Option<Arc<Header>> {
        let recent = self.recent();
        let (_, header) = recent
            .entries
            .iter()
            .find(|(known, _)| **known == *segment)?;
        Some(Arc::clone(header))
    }

    fn insert(&self, segment: &str, mut header: Header) -> Arc<Header> {
        let mut recent = self.recent();
        recent.serial += 1;
        header.serial = recent.serial;
        let header = Arc::new(header);
        let entry = (segment.into(), Arc::clone(&header));
        if recent.entries.len() < CACHED_HEADERS {
            recent.entries.push(entry);
        } else {
            let next = recent.next;
            recent.entries[next] = entry;
            recent.next = (next + 1) % CACHED_HEADERS;
        }
        header
    }
}

fn malformed(message: &str) -> Error {
    Error::new(ErrorCode::Malformed, message)
}

/// Strict base64url without padding (RFC 7515 §2): no `=`, no whitespace, no `+` or `/`, and
/// no non-zero trailing bits (`URL_SAFE_NO_PAD` requires canonical encodings). Token bytes are
/// public, so the fast table-driven decoder is used rather than a constant-time one (base64ct
/// stays for key material), on a path every token takes.
pub(crate) fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| malformed(&format!("{what} is not strict base64url")))
}

/// `too_large` for a token of `len` bytes over the limit.
pub fn check_size(len: usize, max_token_bytes: usize) -> Result<()> {
    if len > max_token_bytes {
        return Err(Error::new(
            ErrorCode::TooLarge,
            format!("token is longer than {max_token_bytes} bytes"),
        ));
    }
    Ok(())
}

/// Checks size, structure and header, in that order (see the README, "Order of checks"); the
/// header comes from `headers` when its segment was seen before.
pub fn parse<'a>(
    token: &'a str,
    max_token_bytes: usize,
    headers: &HeaderCache,
) -> Result<UntrustedToken<'a>> {
    // Size first, before any decoding work: the bound on attacker-controlled effort.
    check_size(token.len(), max_token_bytes)?;
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
    // Every segment's base64 before the header's JSON (README, "Order of checks"); a cached
    // header segment was valid base64 when it was parsed.
    let cached = headers.get(header_b64);
    let header_json = match cached {
        Some(_) => Vec::new(),
        None => decode_segment(header_b64, "header")?,
    };
    let payload = decode_segment(payload_b64, "payload")?;
    let signature = decode_segment(signature_b64, "signature")?;
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    let header = match cached {
        Some(header) => header,
        None => headers.insert(header_b64, parse_header(header_json)?),
    };
    Ok(UntrustedToken {
        signing_input,
        header,
        payload,
        signature,
    })
}

fn parse_header(json: Vec<u8>) -> Result<Header> {
    let fields = json::parse_object(&json)
        .map_err(|e| malformed(&format!("header is not a valid JSON object ({e})")))?;
    let checked = check_header(&fields)?;
    Ok(Header {
        json,
        fields,
        ..checked
    })
}

fn optional_string(header: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(&format!("header {name} must be a string"))),
    }
}

/// `alg`, `kid` and `typ` of a header that passes (the rest of the returned header is empty).
fn check_header(header: &Map<String, Value>) -> Result<Header> {
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
    Ok(Header {
        alg_name,
        kid: optional_string(header, "kid")?,
        typ: optional_string(header, "typ")?,
        ..Header::default()
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
        code_with(token, &HeaderCache::default())
    }

    #[test]
    fn parses_a_simple_token() {
        let t = token(r#"{"alg":"HS256","kid":"k1","typ":"JWT"}"#, "{}");
        let parsed = parse(&t, DEFAULT_MAX_TOKEN_BYTES, &HeaderCache::default()).unwrap();
        assert_eq!(parsed.header.alg(), Some(Alg::HS256));
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.signature, b"sig");
        assert_eq!(parsed.payload, b"{}");
    }

    #[test]
    fn header_cache_shares_a_segment_and_keeps_only_headers_that_passed() {
        let headers = HeaderCache::default();
        let parse_kid = |t: &str| parse(t, DEFAULT_MAX_TOKEN_BYTES, &headers).map(|u| u.header);
        let first = parse_kid(&token(r#"{"alg":"ES256","kid":"a"}"#, r#"{"n":1}"#)).unwrap();
        let second = parse_kid(&token(r#"{"alg":"ES256","kid":"a"}"#, r#"{"n":2}"#)).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(first.serial, 1);
        // More segments than entries: each still parses to its own header.
        for round in 0..2 {
            for kid in 0..CACHED_HEADERS + 2 {
                let header =
                    parse_kid(&token(&format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#), "{}"));
                let header = header.unwrap();
                assert_eq!(header.kid, Some(kid.to_string()), "round {round}");
                assert!(header.serial > 1, "a new serial for each new segment");
            }
        }
        // A refused header is refused again, not remembered.
        let none = token(r#"{"alg":"none"}"#, "{}");
        for _ in 0..2 {
            let err = parse(&none, DEFAULT_MAX_TOKEN_BYTES, &headers).unwrap_err();
            assert_eq!(err.code(), ErrorCode::AlgNotAllowed);
        }
        // A cached header segment does not excuse a bad payload segment.
        let bad_payload = format!("{}.@@.c2ln", b64(r#"{"alg":"ES256","kid":"a"}"#));
        assert_eq!(code_with(&bad_payload, &headers), ErrorCode::Malformed);
    }

    fn code_with(token: &str, headers: &HeaderCache) -> ErrorCode {
        parse(token, DEFAULT_MAX_TOKEN_BYTES, headers)
            .unwrap_err()
            .code()
    }

    #[test]
    fn size_limit_is_inclusive() {
        let t = token(r#"{"alg":"HS256"}"#, "{}");
        let headers = HeaderCache::default();
        assert!(parse(&t, t.len(), &headers).is_ok());
        assert_eq!(
            parse(&t, t.len() - 1, &headers).unwrap_err().code(),
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
        let headers = HeaderCache::default();
        assert!(parse(
            &good.replace("c2ln", "c2lnZQ"),
            DEFAULT_MAX_TOKEN_BYTES,
            &headers
        )
        .is_ok());
        assert_eq!(code(&good.replace("c2ln", "c2lnZR")), ErrorCode::Malformed);
        assert_eq!(
            code(&good.replace("c2ln", "c2lnZQ==")),
            ErrorCode::Malformed
        );
    }
}
