//! The request headers the gateway changes before the origin (or the next handler) sees them:
//! one list for the Worker and both npm middlewares, so none of them forwards a header another
//! would strip.

use serde_json::{Map, Value};

use super::claim_rules::ClaimPath;
use super::{identity_headers_of, is_identity_header, GatewaySettings};

/// Edits to a request's headers, applied in order: removals, then sets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeaderEdits {
    /// Client headers to delete, by the name the client sent.
    pub remove: Vec<String>,
    /// Headers to set after the removals.
    pub set: Vec<(String, String)>,
}

fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            (
                pair.split_once('=').map_or(pair, |(key, _)| key.trim()),
                pair,
            )
        })
}

/// The `Cookie` header without the cookie named `name` (`None`: nothing else is left).
fn cookies_without(header: &str, name: &str) -> Option<String> {
    let rest: Vec<&str> = cookie_pairs(header)
        .filter(|(key, _)| *key != name)
        .map(|(_, pair)| pair)
        .collect();
    (!rest.is_empty()).then(|| rest.join("; "))
}

/// The verified identity a request passes with: the token's claims, its track, and the claim
/// headers already computed ([`super::claim_rules::claim_header_values`]).
pub type Identity<'a> = (
    &'a Map<String, Value>,
    Option<&'a str>,
    &'a [(String, String)],
);

/// Whether `name` is one of the configured claim headers, in any case and with `_` read as `-`
/// (as CGI-style servers fold them).
fn is_claim_header(name: &str, claim_headers: &[(String, ClaimPath)]) -> bool {
    // Compared byte by byte: this runs for every header of every request.
    let folded = |b: u8| {
        if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        }
    };
    claim_headers.iter().any(|(configured, _)| {
        configured.len() == name.len()
            && configured
                .bytes()
                .zip(name.bytes())
                .all(|(a, b)| folded(a) == folded(b))
    })
}

/// What to remove and set for a request with `headers` (name/value pairs as received):
/// every client header in the identity namespace ([`is_identity_header`], any spelling) or
/// named like a configured claim header is removed; with `forward_authorization: false`, so
/// are `Authorization`, `DPoP` and the configured token cookie (the rest of `Cookie` stays); then the
/// verified identity is set (`None` for an anonymous request).
pub fn header_edits<'h>(
    settings: &GatewaySettings,
    claim_headers: &[(String, ClaimPath)],
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    identity: Option<Identity<'_>>,
) -> HeaderEdits {
    let mut edits = HeaderEdits::default();
    for (name, value) in headers {
        if is_identity_header(name) || is_claim_header(name, claim_headers) {
            edits.remove.push(name.to_owned());
        } else if !settings.forward_authorization {
            // The DPoP proof is the credential's other half (RFC 9449): it goes where the
            // token goes.
            if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("dpop") {
                edits.remove.push(name.to_owned());
            } else if name.eq_ignore_ascii_case("cookie") {
                if let Some(cookie) = settings.cookie.as_deref() {
                    if cookie_pairs(value).any(|(key, _)| key == cookie) {
                        edits.remove.push(name.to_owned());
                        if let Some(rest) = cookies_without(value, cookie) {
                            edits.set.push(("cookie".to_owned(), rest));
                        }
                    }
                }
            }
        }
    }
    if let Some((claims, track, claim_values)) = identity {
        edits.set.extend(
            identity_headers_of(claims, track)
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value)),
        );
        edits.set.extend(claim_values.iter().cloned());
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(forward_authorization: bool) -> GatewaySettings {
        GatewaySettings {
            cookie: Some("session".into()),
            forward_authorization,
            ..GatewaySettings::default()
        }
    }

    #[test]
    fn identity_headers_are_stripped_in_any_spelling_then_set() {
        let claims = json!({"sub": "ada", "jti": "j1"});
        let edits = header_edits(
            &settings(true),
            &[],
            [
                ("X-Edge-JWT-Sub", "mallory"),
                ("x-edge-jwt_sub", "mallory"),
                ("X_EDGE_JWT_SCOPE", "admin"),
                ("authorization", "Bearer t"),
                ("cookie", "session=t; a=1"),
            ],
            Some((claims.as_object().unwrap(), Some("2"), &[])),
        );
        assert_eq!(
            edits.remove,
            ["X-Edge-JWT-Sub", "x-edge-jwt_sub", "X_EDGE_JWT_SCOPE"]
        );
        assert_eq!(
            edits.set,
            [
                ("x-edge-jwt-sub".to_owned(), "ada".to_owned()),
                ("x-edge-jwt-jti".to_owned(), "j1".to_owned()),
                ("x-edge-jwt-track".to_owned(), "2".to_owned()),
            ]
        );
    }

    #[test]
    fn without_forward_authorization_the_token_cookie_goes_too() {
        let edits = header_edits(
            &settings(false),
            &[],
            [
                ("authorization", "Bearer t"),
                ("cookie", "a=1; session=t;b=2"),
            ],
            None,
        );
        assert_eq!(edits.remove, ["authorization", "cookie"]);
        assert_eq!(edits.set, [("cookie".to_owned(), "a=1; b=2".to_owned())]);
        let only = header_edits(&settings(false), &[], [("Cookie", "session=t")], None);
        assert_eq!(only.remove, ["Cookie"]);
        assert!(only.set.is_empty());
        let other = header_edits(&settings(false), &[], [("cookie", "a=1; sessionx=2")], None);
        assert_eq!(other, HeaderEdits::default());
    }
}
