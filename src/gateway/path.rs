//! The one canonical request path: decided on once, matched against the routes, and forwarded
//! as is, so the origin serves exactly the path that was authorised.
//!
//! RFC 3986 §6.2.2: percent-encoded unreserved characters are decoded, every other escape is
//! written with upper-case hex, characters outside `pchar` are percent-encoded, dot segments
//! are resolved (§5.2.4) and empty segments collapsed (a trailing `/` is kept: origins often
//! tell `/dir/` from `/dir`, and route matching ignores it). A path the gateway cannot decide
//! on safely is refused with `malformed_request` rather than guessed at: an encoded `/` or `\`
//! (an origin may decode it into a separator the routes never saw), a raw `\` (WHATWG URLs
//! read it as `/`, Node does not), a NUL or other control character, a `;` path parameter
//! (Tomcat and Spring strip `;…` before routing), a malformed escape, or a `..` above the root.

use crate::error::{Error, ErrorCode, Result};

fn refused(why: &str) -> Error {
    Error::new(ErrorCode::MalformedRequest, format!("request path {why}"))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters a path segment may carry unencoded besides the unreserved ones (RFC 3986 `pchar`
/// minus `;`, which is refused, and `%`, which starts an escape).
fn is_plain_pchar(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'=' | b':' | b'@'
    )
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_escaped(out: &mut String, byte: u8) {
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

/// One segment in canonical form.
pub(crate) fn canonical_segment(segment: &str) -> Result<String> {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let byte = if b == b'%' {
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) else {
                return Err(refused("holds a malformed percent escape"));
            };
            i += 3;
            let decoded = (hi << 4) | lo;
            match decoded {
                b'/' | b'\\' => return Err(refused("holds an encoded / or \\")),
                0 => return Err(refused("holds an encoded NUL")),
                _ if is_unreserved(decoded) => out.push(char::from(decoded)),
                _ => push_escaped(&mut out, decoded),
            }
            continue;
        } else {
            i += 1;
            b
        };
        match byte {
            b'\\' => return Err(refused("holds a \\")),
            b';' => return Err(refused("holds a ; path parameter")),
            _ if byte.is_ascii_control() => return Err(refused("holds a control character")),
            _ if is_unreserved(byte) || is_plain_pchar(byte) => out.push(char::from(byte)),
            _ => push_escaped(&mut out, byte),
        }
    }
    Ok(out)
}

/// The canonical form of a request path (no query, no fragment). Idempotent: the canonical
/// form of a canonical path is itself.
pub fn canonical_path(raw: &str) -> Result<String> {
    if !raw.starts_with('/') {
        return Err(refused("must start with /"));
    }
    let mut kept: Vec<String> = Vec::new();
    let mut trailing_slash = false;
    for segment in raw.split('/').skip(1) {
        let segment = canonical_segment(segment)?;
        trailing_slash = false;
        match segment.as_str() {
            "" => trailing_slash = true,
            "." => trailing_slash = true,
            ".." => {
                if kept.pop().is_none() {
                    return Err(refused("climbs above the root"));
                }
                trailing_slash = true;
            }
            _ => kept.push(segment),
        }
    }
    let mut path = String::with_capacity(raw.len());
    for segment in &kept {
        path.push('/');
        path.push_str(segment);
    }
    if path.is_empty() || trailing_slash {
        path.push('/');
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        canonical_path(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn refused(raw: &str) {
        let e = canonical_path(raw).expect_err(raw);
        assert_eq!(e.code(), ErrorCode::MalformedRequest, "{raw}");
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn unreserved_escapes_decode_and_the_rest_upper_case() {
        assert_eq!(ok("/%6Fps/deploy"), "/ops/deploy");
        assert_eq!(ok("/%6fps/%7e%2D"), "/ops/~-");
        assert_eq!(ok("/a%3ab"), "/a%3Ab");
        // An encoded `;` is data, not a path parameter: kept encoded.
        assert_eq!(ok("/a%3bb"), "/a%3Bb");
        assert_eq!(ok("/caf%c3%a9"), "/caf%C3%A9");
        assert_eq!(ok("/café"), "/caf%C3%A9");
        assert_eq!(ok("/a b"), "/a%20b");
        assert_eq!(ok("/a:b@c!$&'()*+,="), "/a:b@c!$&'()*+,=");
    }

    #[test]
    fn dot_and_empty_segments_resolve() {
        assert_eq!(ok("/"), "/");
        assert_eq!(ok("//"), "/");
        assert_eq!(ok("//ops///deploy"), "/ops/deploy");
        assert_eq!(ok("/ops/x/../../health"), "/health");
        assert_eq!(ok("/ops/./deploy"), "/ops/deploy");
        assert_eq!(ok("/ops/%2e%2E/health"), "/health");
        assert_eq!(ok("/ops/.%2e/health"), "/health");
        assert_eq!(ok("/ops/"), "/ops/");
        assert_eq!(ok("/ops/x/.."), "/ops/");
        assert_eq!(ok("/ops/."), "/ops/");
        assert_eq!(ok("/a/.."), "/");
        assert_eq!(ok("/a..b/.c/..."), "/a..b/.c/...");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for raw in [
            "",
            "ops",
            "/..",
            "/a/../..",
            "/%2e%2e",
            "/ops%2fdeploy",
            "/ops%2Fdeploy",
            "/ops%5cdeploy",
            "/ops\\deploy",
            "/a%00",
            "/a\0",
            "/a\r\nb",
            "/a;jsessionid=1",
            "/a;b",
            "/a%",
            "/a%2",
            "/a%zz",
            "/a%%32f",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for raw in [
            "/%6Fps//./x/../deploy/",
            "/caf%c3%a9",
            "/a b/%7E",
            "/A%2a",
            "/x/y/z/../..",
        ] {
            let once = ok(raw);
            assert_eq!(ok(&once), once, "{raw}");
        }
    }
}
