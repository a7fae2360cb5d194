//! Claim paths and declarative rules on claims, shared by the token policy (an issuer's
//! `claims`, refused `invalid_claim`) and the gateway (a route's `claims`, refused 403
//! `claim_mismatch`; roles and claim headers in [`crate::gateway::claim_rules`]).
//!
//! - A **claim path** names a claim inside the payload: dotted (`realm_access.roles`,
//!   `cognito:groups`) or, for names that hold dots (Auth0's namespaced claims), an RFC 6901
//!   JSON Pointer (`/https:~1~1example.com~1roles`).
//! - A **match** is `{"equals": v}`, `{"one_of": [..]}` or `{"prefix": "…"}` on a path (strings,
//!   numbers or booleans; prefix on strings). A missing claim never matches.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::json::Object;

/// A path to a claim inside the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    written: String,
    segments: Vec<String>,
}

impl ClaimPath {
    /// Reads a dotted path or a JSON Pointer; `at` names the config field for errors.
    pub fn parse(written: &str, at: &str) -> Result<ClaimPath> {
        let segments: Vec<String> = if let Some(pointer) = written.strip_prefix('/') {
            pointer
                .split('/')
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect()
        } else {
            written.split('.').map(str::to_owned).collect()
        };
        if written.is_empty() || segments.iter().any(String::is_empty) {
            return Err(Error::config(
                at,
                "a claim path is dotted (realm_access.roles) or a JSON Pointer (/a~1b), with no empty segment",
            ));
        }
        Ok(ClaimPath {
            written: written.to_owned(),
            segments,
        })
    }

    /// The value at this path, if any (objects are walked; arrays are not indexed).
    pub fn resolve<'c>(&self, claims: &'c dyn Object) -> Option<&'c Value> {
        let (first, rest) = self.segments.split_first()?;
        rest.iter()
            .try_fold(claims.member(first)?, |value, segment| value.get(segment))
    }

    /// The top-level claim the path starts at (what a verifier must read for it).
    pub fn claim(&self) -> &str {
        self.segments.first().map_or("", String::as_str)
    }

    /// The path as written in the config.
    pub fn as_str(&self) -> &str {
        &self.written
    }
}

/// A route's rule on one claim, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum MatchConfig {
    /// The claim equals this value.
    Equals(Value),
    /// The claim is one of these values.
    OneOf(Vec<Value>),
    /// The claim is a string starting with this.
    Prefix(String),
}

/// A checked rule on one claim.
#[derive(Debug, Clone)]
pub struct ClaimMatch {
    path: ClaimPath,
    rule: MatchConfig,
}

/// A value a rule may compare against: no objects, arrays or nulls.
fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

impl ClaimMatch {
    /// Checks one `claims` entry of a route (`at`: its config path).
    pub fn new(path: &str, rule: MatchConfig, at: &str) -> Result<ClaimMatch> {
        let path = ClaimPath::parse(path, at)?;
        let sound = match &rule {
            MatchConfig::Equals(v) => is_scalar(v),
            MatchConfig::OneOf(values) => !values.is_empty() && values.iter().all(is_scalar),
            MatchConfig::Prefix(p) => !p.is_empty(),
        };
        if !sound {
            return Err(Error::config(
                at,
                "equals takes a string, number or boolean; one_of a non-empty list of them; prefix a non-empty string",
            ));
        }
        Ok(ClaimMatch { path, rule })
    }

    /// Whether the token's claims satisfy the rule.
    pub fn holds(&self, claims: &dyn Object) -> bool {
        let Some(value) = self.path.resolve(claims) else {
            return false;
        };
        match &self.rule {
            MatchConfig::Equals(expected) => value == expected,
            MatchConfig::OneOf(allowed) => allowed.contains(value),
            MatchConfig::Prefix(prefix) => value.as_str().is_some_and(|s| s.starts_with(prefix)),
        }
    }

    /// The claim path, for the refusal's message.
    pub fn path(&self) -> &str {
        self.path.as_str()
    }

    /// The top-level claim the rule reads.
    pub fn claim(&self) -> &str {
        self.path.claim()
    }
}
