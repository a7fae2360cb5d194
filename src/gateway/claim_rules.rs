//! Authorisation on claims beyond scopes, and claims forwarded as headers.
//!
//! - A **claim path** names a claim inside the payload: dotted (`realm_access.roles`,
//!   `cognito:groups`) or, for names that hold dots (Auth0's namespaced claims), an RFC 6901
//!   JSON Pointer (`/https:~1~1example.com~1roles`).
//! - **Roles**: `gateway.roles_claim` names where a token's roles are (one path or several, e.g.
//!   Keycloak's `realm_access.roles` and `resource_access.api.roles`); an array of strings or a
//!   space-separated string. A route's `roles` must all be held → 403 `insufficient_role`.
//! - **Claim matches**: a route's `claims` maps a path to `{"equals": v}`, `{"one_of": [..]}` or
//!   `{"prefix": "…"}` (strings, numbers or booleans; prefix on strings), all required → 403
//!   `claim_mismatch`. A missing claim never matches.
//! - **Claim headers**: `gateway.claim_headers` maps a header name to a claim path. Strings,
//!   numbers and booleans go as they are; arrays of them joined with `,` ([`ARRAY_SEPARATOR`]);
//!   a missing or null claim sends no header; an object, or a value with a control character (or
//!   an array item with a comma), cannot travel in a header and the token is refused
//!   `invalid_claim` by every host. Names are checked at load: an HTTP token, not in the identity
//!   namespace, not a hop-by-hop or credential header. Client-sent copies are removed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::IDENTITY_HEADER_PREFIX;
pub use crate::claim_match::{ClaimMatch, ClaimPath, MatchConfig};
use crate::error::{Error, ErrorCode, Result};

/// What joins the items of an array claim in a header (RFC 9110 §5.3 list syntax, without the
/// optional space so that items read back exactly).
pub const ARRAY_SEPARATOR: &str = ",";

/// Headers a claim may never be forwarded as: hop-by-hop headers (RFC 9110 §7.6.1), framing and
/// routing (`host`, `content-length`, `transfer-encoding`), and credentials.
const RESERVED_HEADERS: [&str; 14] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    "cookie",
    "forwarded",
];

/// Where a token's roles are (`gateway.roles_claim`): one path or several.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum RolesClaimConfig {
    /// One path.
    One(String),
    /// Several paths; roles are gathered from all of them.
    Many(Vec<String>),
    /// Not configured (`roles` on a route is then a config error).
    #[default]
    #[serde(skip)]
    Unset,
}

/// The checked role paths.
pub fn role_paths(config: &RolesClaimConfig) -> Result<Vec<ClaimPath>> {
    let written = match config {
        RolesClaimConfig::One(p) => vec![p.clone()],
        RolesClaimConfig::Many(ps) => ps.clone(),
        RolesClaimConfig::Unset => return Ok(Vec::new()),
    };
    if written.is_empty() {
        return Err(Error::config(
            "gateway.roles_claim",
            "must name a claim path",
        ));
    }
    written
        .iter()
        .enumerate()
        .map(|(i, p)| ClaimPath::parse(p, &format!("gateway.roles_claim[{i}]")))
        .collect()
}

/// The roles a token holds: strings of the arrays (or space-separated strings) at `paths`.
pub fn roles_of<'c>(paths: &[ClaimPath], claims: &'c Map<String, Value>) -> Vec<&'c str> {
    let mut roles = Vec::new();
    for value in paths.iter().filter_map(|p| p.resolve(claims)) {
        match value {
            Value::Array(items) => roles.extend(items.iter().filter_map(Value::as_str)),
            Value::String(s) => roles.extend(s.split(' ').filter(|r| !r.is_empty())),
            _ => {}
        }
    }
    roles
}

/// Refuses a token lacking one of `required` roles.
pub fn check_roles(
    required: &[String],
    paths: &[ClaimPath],
    claims: &Map<String, Value>,
) -> Result<()> {
    let held = roles_of(paths, claims);
    match required.iter().find(|r| !held.contains(&r.as_str())) {
        Some(missing) => Err(Error::new(
            ErrorCode::InsufficientRole,
            format!("role {missing} is required"),
        )),
        None => Ok(()),
    }
}

/// Refuses a token whose claims break one of `rules`.
pub fn check_matches(rules: &[ClaimMatch], claims: &Map<String, Value>) -> Result<()> {
    match rules.iter().find(|r| !r.holds(claims)) {
        Some(broken) => Err(Error::new(
            ErrorCode::ClaimMismatch,
            format!("claim {} does not satisfy the route's rule", broken.path()),
        )),
        None => Ok(()),
    }
}

/// The checked `gateway.claim_headers`: header name (lower-case) → claim path.
pub fn claim_headers(config: &BTreeMap<String, String>) -> Result<Vec<(String, ClaimPath)>> {
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    config
        .iter()
        .map(|(name, path)| {
            let at = format!("gateway.claim_headers.{name}");
            let lower = name.to_ascii_lowercase();
            let spelled = lower.replace('_', "-");
            if name.is_empty() || !name.chars().all(tchar) {
                return Err(Error::config(&at, "must be an HTTP header name"));
            }
            if spelled.starts_with(IDENTITY_HEADER_PREFIX) {
                return Err(Error::config(
                    &at,
                    "x-edge-jwt-* headers are the gateway's own identity headers",
                ));
            }
            if RESERVED_HEADERS.contains(&spelled.as_str()) {
                return Err(Error::config(
                    &at,
                    "a hop-by-hop, framing or credential header cannot carry a claim",
                ));
            }
            Ok((lower, ClaimPath::parse(path, &at)?))
        })
        .collect()
}

/// One claim's header value: `None` when absent or null; `invalid_claim` when it cannot travel
/// in a header.
fn header_value(path: &ClaimPath, claims: &Map<String, Value>) -> Result<Option<String>> {
    let refused = || {
        Error::new(
            ErrorCode::InvalidClaim,
            format!("claim {} cannot be forwarded in a header", path.as_str()),
        )
    };
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let value = match path.resolve(claims) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => {
            let items: Option<Vec<String>> = items.iter().map(scalar).collect();
            let items = items.ok_or_else(refused)?;
            if items.iter().any(|i| i.contains(ARRAY_SEPARATOR)) {
                return Err(refused());
            }
            items.join(ARRAY_SEPARATOR)
        }
        Some(v) => scalar(v).ok_or_else(refused)?,
    };
    if value.chars().any(char::is_control) {
        return Err(refused());
    }
    Ok(Some(value))
}

/// The claim headers to set for a token (`invalid_claim` when one cannot travel).
pub fn claim_header_values(
    headers: &[(String, ClaimPath)],
    claims: &Map<String, Value>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(headers.len());
    for (name, path) in headers {
        if let Some(value) = header_value(path, claims)? {
            out.push((name.clone(), value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn paths_dotted_and_pointer() {
        let c = claims(json!({
            "realm_access": {"roles": ["admin"]},
            "cognito:groups": ["ops"],
            "https://example.com/roles": ["x"],
            "a.b": 1
        }));
        let at = "t";
        assert_eq!(
            ClaimPath::parse("realm_access.roles", at)
                .unwrap()
                .resolve(&c),
            Some(&json!(["admin"]))
        );
        assert_eq!(
            ClaimPath::parse("cognito:groups", at).unwrap().resolve(&c),
            Some(&json!(["ops"]))
        );
        assert_eq!(
            ClaimPath::parse("/https:~1~1example.com~1roles", at)
                .unwrap()
                .resolve(&c),
            Some(&json!(["x"]))
        );
        assert_eq!(
            ClaimPath::parse("/a.b", at).unwrap().resolve(&c),
            Some(&json!(1))
        );
        assert_eq!(ClaimPath::parse("a.b", at).unwrap().resolve(&c), None);
        for bad in ["", ".", "a..b", "/", "/a//b"] {
            assert!(ClaimPath::parse(bad, at).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles_from_arrays_and_strings_all_required() {
        let paths = role_paths(&RolesClaimConfig::Many(vec![
            "realm_access.roles".into(),
            "scp_roles".into(),
        ]))
        .unwrap();
        let c = claims(json!({"realm_access": {"roles": ["admin", 7]}, "scp_roles": "ops  read"}));
        assert_eq!(roles_of(&paths, &c), ["admin", "ops", "read"]);
        assert!(check_roles(&["admin".into(), "ops".into()], &paths, &c).is_ok());
        let e = check_roles(&["root".into()], &paths, &c).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InsufficientRole);
    }

    #[test]
    fn matches_equals_one_of_prefix() {
        let m = |path: &str, rule: Value| {
            ClaimMatch::new(path, serde_json::from_value(rule).unwrap(), "t").unwrap()
        };
        let c =
            claims(json!({"repository": "org/app", "ref": "refs/heads/main", "n": 3, "ok": true}));
        assert!(m("repository", json!({"equals": "org/app"})).holds(&c));
        assert!(!m("repository", json!({"equals": "org/other"})).holds(&c));
        assert!(m("ref", json!({"prefix": "refs/heads/"})).holds(&c));
        assert!(!m("ref", json!({"prefix": "refs/tags/"})).holds(&c));
        assert!(m("n", json!({"one_of": [1, 3]})).holds(&c));
        assert!(!m("n", json!({"equals": "3"})).holds(&c), "no coercion");
        assert!(m("ok", json!({"equals": true})).holds(&c));
        assert!(!m("missing", json!({"prefix": "x"})).holds(&c));
        assert!(
            !m("n", json!({"prefix": "3"})).holds(&c),
            "prefix is for strings"
        );
        for bad in [
            json!({"equals": {"a": 1}}),
            json!({"one_of": []}),
            json!({"prefix": ""}),
        ] {
            let rule = serde_json::from_value(bad.clone()).unwrap();
            assert!(ClaimMatch::new("x", rule, "t").is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<MatchConfig>(json!({"regex": "."})).is_err());
    }

    #[test]
    fn claim_headers_checked_at_load_and_refused_when_they_cannot_travel() {
        let ok = BTreeMap::from([
            ("X-User-Email".to_owned(), "email".to_owned()),
            ("x-user-roles".to_owned(), "realm_access.roles".to_owned()),
        ]);
        let headers = claim_headers(&ok).unwrap();
        assert_eq!(headers[0].0, "x-user-email");
        for bad in [
            "x-edge-jwt-sub",
            "X_EDGE_JWT_ROLE",
            "Host",
            "transfer-encoding",
            "cookie",
            "bad name",
            "",
        ] {
            let config = BTreeMap::from([(bad.to_owned(), "sub".to_owned())]);
            assert!(claim_headers(&config).is_err(), "{bad:?}");
        }
        let c = claims(json!({"email": "a@b.test", "realm_access": {"roles": ["r1", "r2"]}}));
        assert_eq!(
            claim_header_values(&headers, &c).unwrap(),
            [
                ("x-user-email".to_owned(), "a@b.test".to_owned()),
                ("x-user-roles".to_owned(), "r1,r2".to_owned())
            ]
        );
        assert!(claim_header_values(&headers, &claims(json!({})))
            .unwrap()
            .is_empty());
        for bad in [
            json!({"email": {"a": 1}}),
            json!({"email": "a\r\nb"}),
            json!({"realm_access": {"roles": ["a,b"]}}),
            json!({"realm_access": {"roles": [["nested"]]}}),
        ] {
            let e = claim_header_values(&headers, &claims(bad.clone())).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidClaim, "{bad}");
        }
    }
}
