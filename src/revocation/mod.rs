//! Revocation: the facts a check needs, the pure check, and revocation requests.
//!
//! Storage lives in the hosts (Workers KV, Redis, memory); the decision lives here so that every
//! host revokes the same tokens. Three kinds of entry: a revoked `jti`; a subject revoked before
//! a time T (log out everywhere); a global time G (kill switch).

pub mod cache;
mod list;
pub mod replica;
pub mod snapshot;
pub mod store;

pub use cache::RevocationCache;
pub use list::RevocationList;
pub use store::{KeyValueStore, RevocationChecker, Written};

use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};

/// What a revocation check needs to know about a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationFacts {
    /// `jti`, if any.
    pub jti: Option<String>,
    /// `sub`, if any.
    pub sub: Option<String>,
    /// `iat`, if any.
    pub iat: Option<u64>,
    /// When the token's session began ([`crate::claims::RegisteredClaims::session_start`]):
    /// the earlier of `auth_time` and `iat`. Subject and global times compare against it.
    pub session_start: Option<u64>,
    /// `exp` (always present on a verified token).
    pub exp: u64,
    /// The token's track.
    pub track: Option<String>,
}

/// What a store said about one token's facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RevocationStatus {
    /// The token's `jti` is on the denylist.
    pub jti_revoked: bool,
    /// The token's subject was revoked for tokens issued before this time.
    pub subject_revoked_before: Option<u64>,
    /// Every token issued before this time is revoked.
    pub global_revoked_before: Option<u64>,
}

/// Revoked when the jti is listed, or when the session start (`auth_time`, else `iat`) is
/// strictly before the subject's or the global time, so a token refreshed after T from a
/// session begun before T is still revoked. A session started *at* T survives, so a user can
/// log in again within the same second; a token with neither claim cannot prove it is newer,
/// so it is revoked by either time.
pub fn check(facts: &RevocationFacts, status: &RevocationStatus) -> Result<()> {
    let issued_before = |t: u64| facts.session_start.is_none_or(|start| start < t);
    let reason = if status.jti_revoked {
        "token has been revoked"
    } else if status.subject_revoked_before.is_some_and(issued_before) {
        "all tokens of this subject issued before the revocation time are revoked"
    } else if status.global_revoked_before.is_some_and(issued_before) {
        "all tokens issued before the global revocation time are revoked"
    } else {
        return Ok(());
    };
    Err(Error::new(ErrorCode::Revoked, reason))
}

/// A request to revoke something, as the Worker's admin API and the CLI express it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum RevocationRequest {
    /// Revoke one token by `jti` until its `exp`.
    Jti {
        /// The token id.
        jti: String,
        /// The token's subject, recorded with the entry when known.
        sub: Option<String>,
        /// When the token expires anyway (the entry may be dropped then).
        exp: Option<u64>,
        /// Why (free text, e.g. `logout`, `refresh`).
        reason: Option<String>,
    },
    /// Revoke every token of `sub` issued before `before`.
    Subject {
        /// The subject.
        sub: String,
        /// Tokens with `iat < before` are revoked.
        before: u64,
    },
    /// Revoke every token issued before `before`.
    Global {
        /// Tokens with `iat < before` are revoked.
        before: u64,
    },
}

/// The JSON forms hosts accept for a revocation (the Worker's admin API, the npm `revoke()`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestForm {
    jti: Option<String>,
    sub: Option<String>,
    exp: Option<u64>,
    before: Option<u64>,
    reason: Option<String>,
}

/// Largest `before` taken as seconds (10^11 s is the year 5138; a millisecond timestamp of
/// today is about 1.8 × 10^12).
pub const MAX_BEFORE_SECONDS: u64 = 100_000_000_000;

/// What [`RevocationRequest::from_json_form`] accepts, for error messages.
pub const REQUEST_FORMS: &str =
    "expected {\"jti\", \"exp\"?, \"reason\"?, \"sub\"?}, {\"sub\", \"before\"?} or {\"before\"}";

impl RevocationRequest {
    /// Reads one of the three JSON forms: `{"jti","exp"?,"reason"?,"sub"?}`,
    /// `{"sub","before"?}` (default: `now`) or `{"before"}` (global). Anything else — unknown
    /// fields, mixed forms, empty strings — is refused with [`REQUEST_FORMS`].
    ///
    /// A `before` later than `now + leeway_s` is refused: it would revoke tokens not issued
    /// yet, and a value past [`MAX_BEFORE_SECONDS`] is almost surely milliseconds (year 5138
    /// in seconds) that would revoke everything for millennia.
    pub fn from_json_form(
        value: serde_json::Value,
        now: u64,
        leeway_s: u64,
        default_reason: &str,
    ) -> Result<RevocationRequest> {
        let refused = || Error::new(ErrorCode::InvalidClaim, REQUEST_FORMS);
        let form: RequestForm = serde_json::from_value(value).map_err(|_| refused())?;
        if let Some(before) = form.before {
            if before > MAX_BEFORE_SECONDS {
                return Err(Error::new(
                    ErrorCode::InvalidClaim,
                    "before must be in seconds since the epoch, not milliseconds",
                ));
            }
            if before > now.saturating_add(leeway_s) {
                return Err(Error::new(
                    ErrorCode::InvalidClaim,
                    "before must not be in the future",
                ));
            }
        }
        match form {
            RequestForm {
                jti: Some(jti),
                sub,
                exp,
                reason,
                before: None,
            } if !jti.is_empty() => Ok(RevocationRequest::Jti {
                jti,
                sub,
                exp,
                reason: Some(reason.unwrap_or_else(|| default_reason.into())),
            }),
            RequestForm {
                jti: None,
                sub: Some(sub),
                before,
                exp: None,
                reason: None,
            } if !sub.is_empty() => Ok(RevocationRequest::Subject {
                sub,
                before: before.unwrap_or(now),
            }),
            RequestForm {
                jti: None,
                sub: None,
                exp: None,
                reason: None,
                before: Some(before),
            } => Ok(RevocationRequest::Global { before }),
            _ => Err(refused()),
        }
    }

    /// Revokes one presented token. A token without `jti` cannot be revoked on its own; that is
    /// refused rather than silently ignored (revoke its subject instead).
    pub fn for_token(facts: &RevocationFacts, reason: &str) -> Result<RevocationRequest> {
        let jti = facts.jti.clone().ok_or_else(|| {
            Error::new(
                ErrorCode::MissingClaim,
                "this token has no jti and cannot be revoked by itself; revoke its subject instead",
            )
        })?;
        Ok(RevocationRequest::Jti {
            jti,
            sub: facts.sub.clone(),
            exp: Some(facts.exp),
            reason: Some(reason.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(iat: Option<u64>) -> RevocationFacts {
        RevocationFacts {
            jti: Some("j1".into()),
            sub: Some("alice".into()),
            iat,
            session_start: iat,
            exp: 2000,
            track: None,
        }
    }

    #[test]
    fn jti_listed_is_revoked() {
        let status = RevocationStatus {
            jti_revoked: true,
            ..Default::default()
        };
        assert_eq!(
            check(&facts(Some(1)), &status).unwrap_err().code(),
            ErrorCode::Revoked
        );
        assert!(check(&facts(Some(1)), &RevocationStatus::default()).is_ok());
    }

    #[test]
    fn subject_and_global_times_are_strict() {
        for status in [
            RevocationStatus {
                subject_revoked_before: Some(1000),
                ..Default::default()
            },
            RevocationStatus {
                global_revoked_before: Some(1000),
                ..Default::default()
            },
        ] {
            assert!(check(&facts(Some(999)), &status).is_err());
            assert!(check(&facts(Some(1000)), &status).is_ok());
            assert!(check(&facts(Some(1001)), &status).is_ok());
            assert!(check(&facts(None), &status).is_err());
        }
    }

    #[test]
    fn json_forms() {
        use serde_json::json;
        let form = |v| RevocationRequest::from_json_form(v, 500, 30, "admin");
        assert_eq!(
            form(json!({"jti": "a", "exp": 9})).unwrap(),
            RevocationRequest::Jti {
                jti: "a".into(),
                sub: None,
                exp: Some(9),
                reason: Some("admin".into())
            }
        );
        assert_eq!(
            form(json!({"sub": "s"})).unwrap(),
            RevocationRequest::Subject {
                sub: "s".into(),
                before: 500
            }
        );
        assert_eq!(
            form(json!({"before": 7})).unwrap(),
            RevocationRequest::Global { before: 7 }
        );
        assert!(form(json!({"before": 530})).is_ok(), "within the leeway");
        for bad in [
            json!({"before": 531}),
            json!({"sub": "s", "before": 531}),
            json!({"before": 1_765_000_000_000_u64}),
            json!({}),
            json!({"jti": ""}),
            json!({"jti": "a", "before": 1}),
            json!({"sub": "s", "exp": 1}),
            json!({"x": 1}),
            json!([1]),
        ] {
            assert!(form(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn revoking_a_token_without_jti_is_refused() {
        let mut f = facts(Some(1));
        f.jti = None;
        assert_eq!(
            RevocationRequest::for_token(&f, "logout")
                .unwrap_err()
                .code(),
            ErrorCode::MissingClaim
        );
        assert!(RevocationRequest::for_token(&facts(Some(1)), "logout").is_ok());
    }
}
