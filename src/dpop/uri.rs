//! The `htu` comparison (RFC 9449 §4.3, check 9): the request URI and the proof's `htu`, both
//! without query and fragment, compared after one normalisation: scheme and host lower-cased,
//! the scheme's default port dropped, the path through the gateway's canonical path (the form
//! routes are matched on), so a proof for `/a/../api` is a proof for `/api`.

use crate::error::{Error, ErrorCode, Result};
use crate::gateway::path::canonical_path;

/// `scheme://host[:port]/path` in normal form, from an absolute `http` or `https` URI.
/// Refused (with `code`): another scheme, no host, user information (`user@host`), a port that
/// is not a number below 65536, or a path the canonical form refuses.
pub(crate) fn normalize(uri: &str, code: ErrorCode, what: &str) -> Result<String> {
    let refuse = |why: &str| Error::new(code, format!("{what} {why}"));
    let without_fragment = uri.split_once('#').map_or(uri, |(before, _)| before);
    let without_query = without_fragment
        .split_once('?')
        .map_or(without_fragment, |(before, _)| before);
    let (scheme, rest) = without_query
        .split_once("://")
        .ok_or_else(|| refuse("is not an absolute URI"))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return Err(refuse("is not an http or https URI")),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err(refuse("carries user information"));
    }
    // An IPv6 literal holds colons: the port is after its closing bracket.
    let port_colon = match authority.rfind(']') {
        Some(bracket) => authority[bracket..].find(':').map(|i| bracket + i),
        None => authority.rfind(':'),
    };
    let (host, port) = match port_colon {
        Some(colon) => (&authority[..colon], &authority[colon + 1..]),
        None => (authority, ""),
    };
    if host.is_empty() || host.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return Err(refuse("has no usable host"));
    }
    // RFC 3986 §6.2.3: an empty port is the default port.
    let port = if port.is_empty() {
        default_port
    } else if port.bytes().all(|b| b.is_ascii_digit()) {
        port.parse::<u16>()
            .map_err(|_| refuse("has a port above 65535"))?
    } else {
        return Err(refuse("has a port that is not a number"));
    };
    let path = canonical_path(path).map_err(|e| Error::new(code, format!("{what}: {e}")))?;
    let host = host.to_ascii_lowercase();
    Ok(if port == default_port {
        format!("{scheme}://{host}{path}")
    } else {
        format!("{scheme}://{host}:{port}{path}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(uri: &str) -> String {
        normalize(uri, ErrorCode::InvalidDpopProof, "htu").unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    #[test]
    fn equivalent_spellings_meet() {
        assert_eq!(
            norm("https://server.example.com/token"),
            "https://server.example.com/token"
        );
        for same in [
            "HTTPS://Server.Example.COM/token",
            "https://server.example.com:443/token",
            "https://server.example.com:/token",
            "https://server.example.com/token?x=1",
            "https://server.example.com/token#frag",
            "https://server.example.com/a/../token",
            "https://server.example.com//token",
            "https://server.example.com/%74oken",
        ] {
            assert_eq!(norm(same), "https://server.example.com/token", "{same}");
        }
        assert_eq!(norm("http://a.test:80"), "http://a.test/");
        assert_eq!(norm("http://a.test:443/x"), "http://a.test:443/x");
        assert_eq!(norm("https://a.test:8443/x"), "https://a.test:8443/x");
        assert_eq!(norm("https://[::1]:443/x"), "https://[::1]/x");
        assert_eq!(norm("https://[::1]:8443/x"), "https://[::1]:8443/x");
        // The path's case matters; the host's does not.
        assert_ne!(norm("https://a.test/X"), norm("https://a.test/x"));
    }

    #[test]
    fn unusable_uris_are_refused() {
        for uri in [
            "/token",
            "ftp://a.test/x",
            "https:///x",
            "https://user@a.test/x",
            "https://a.test:99999/x",
            "https://a.test:8x/x",
            "https://a.test/a%2Fb",
            "https://a.test/..",
            "",
        ] {
            let e = normalize(uri, ErrorCode::InvalidDpopProof, "htu").unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidDpopProof, "{uri}");
        }
    }
}
