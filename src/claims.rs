//! Registered claims (RFC 7519 §4.1) with explicit boundaries, checked on an authenticated payload.

use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};
use crate::json::Object;

/// Largest NumericDate accepted: 9999-12-31T23:59:59Z. Anything later is a bug or an attack
/// (an `exp` of 1e300 must not mean "valid forever").
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// Default clock-skew allowance. 30 s rather than the common 60 s: edge hosts and issuers are
/// servers on NTP, whose skew is milliseconds, and a track-4 session lives only an hour, so a
/// minute of extra life would be 1.7 % of it. 30 s still absorbs a badly drifting issuer.
pub const DEFAULT_LEEWAY_S: u64 = 30;

/// The registered claims (RFC 7519 §4.1) and OpenID Connect's `auth_time` (the session's
/// start, which refresh carries forward), all of which [`ClaimRules::check`] reads.
pub const REGISTERED: [&str; 8] = ["exp", "nbf", "iat", "jti", "sub", "iss", "aud", "auth_time"];

/// The registered claims every host needs, after type checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegisteredClaims {
    /// `exp`, seconds since the epoch (fraction truncated).
    pub exp: Option<u64>,
    /// `nbf`.
    pub nbf: Option<u64>,
    /// `iat`.
    pub iat: Option<u64>,
    /// `jti`.
    pub jti: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `auth_time` (OpenID Connect Core §2): when the session this token belongs to began.
    pub auth_time: Option<u64>,
}

impl RegisteredClaims {
    /// When the token's session began, as far as the token can tell: the earlier of
    /// `auth_time` and `iat` (either alone when only one is present). Revocation "before T"
    /// and the session's maximum length both count from here, so a refreshed token (new `iat`,
    /// same `auth_time`) is still covered.
    pub fn session_start(&self) -> Option<u64> {
        match (self.auth_time, self.iat) {
            (Some(a), Some(i)) => Some(a.min(i)),
            (a, i) => a.or(i),
        }
    }
}

/// The claim policy of a validator (built from the config).
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// Seconds of clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway_s: u64,
    /// Accepted issuers; `None` means `iss` is not checked.
    pub issuers: Option<Vec<String>>,
    /// Accepted audiences; `None` means `aud` is not checked.
    pub audiences: Option<Vec<String>>,
    /// The claim holding the audience: `aud`, or an issuer's documented stand-in (Cognito
    /// access tokens carry `client_id` instead).
    pub audience_claim: String,
    /// Claims that must be present.
    pub required: Vec<String>,
}

fn missing(name: &str) -> Error {
    Error::new(
        ErrorCode::MissingClaim,
        format!("required claim {name} is missing"),
    )
}

fn invalid(name: &str, why: &str) -> Error {
    Error::new(ErrorCode::InvalidClaim, format!("claim {name} {why}"))
}

/// `MAX_NUMERIC_DATE + 1` as an f64, exact (below 2^53); `float_date_bounds` checks the two agree.
const NUMERIC_DATE_END_F64: f64 = 253_402_300_800.0;

/// A fractional NumericDate truncated to whole seconds, or `None` outside `0..=MAX_NUMERIC_DATE`
/// (NaN included).
fn float_seconds(float: f64) -> Option<u64> {
    // Compare before converting: `as` would saturate 1e300 into a plausible-looking u64.
    if !(0.0..NUMERIC_DATE_END_F64).contains(&float) {
        return None;
    }
    // Float to integer has no `From`/`TryFrom`; the range check above is what makes it exact.
    #[allow(
        clippy::as_conversions,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "0 <= float < 2^38 here, so its integer part fits a u64 exactly"
    )]
    let seconds = float.trunc() as u64;
    Some(seconds)
}

/// A NumericDate (RFC 7519 §2): a JSON number from 0 to [`MAX_NUMERIC_DATE`]; a fraction is
/// allowed and truncated. Strings, negatives, larger values and other types are refused.
pub fn numeric_date(claims: &dyn Object, name: &str) -> Result<Option<u64>> {
    let Some(value) = claims.member(name) else {
        return Ok(None);
    };
    let Value::Number(number) = value else {
        return Err(invalid(name, "must be a NumericDate (a JSON number)"));
    };
    let seconds = if let Some(int) = number.as_u64() {
        Some(int)
    } else if let Some(float) = number.as_f64() {
        float_seconds(float)
    } else {
        None // a negative integer
    };
    match seconds {
        Some(s) if s <= MAX_NUMERIC_DATE => Ok(Some(s)),
        _ => Err(invalid(
            name,
            "must be a NumericDate between 0 and 253402300799",
        )),
    }
}

fn optional_string<'a>(claims: &'a dyn Object, name: &str) -> Result<Option<&'a str>> {
    match claims.member(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(name, "must be a string")),
    }
}

/// `jti` and `sub` name things revocation acts on: a non-empty string (an empty one would make
/// `jti:` a key that revokes every other token with an empty jti).
fn identifier(claims: &dyn Object, name: &str) -> Result<Option<String>> {
    match optional_string(claims, name)? {
        Some("") => Err(invalid(name, "must not be empty")),
        other => Ok(other.map(str::to_owned)),
    }
}

impl ClaimRules {
    /// Checks presence, types, time window, issuer and audience, in that order.
    pub fn check(&self, claims: &dyn Object, now: u64) -> Result<RegisteredClaims> {
        for name in &self.required {
            if claims.member(name).is_none() {
                return Err(missing(name));
            }
        }
        let registered = RegisteredClaims {
            exp: numeric_date(claims, "exp")?,
            nbf: numeric_date(claims, "nbf")?,
            iat: numeric_date(claims, "iat")?,
            jti: identifier(claims, "jti")?,
            sub: identifier(claims, "sub")?,
            auth_time: numeric_date(claims, "auth_time")?,
        };
        self.check_times(&registered, now)?;
        if let Some(issuers) = &self.issuers {
            let iss = optional_string(claims, "iss")?.ok_or_else(|| missing("iss"))?;
            if !issuers.iter().any(|accepted| accepted == iss) {
                return Err(Error::new(
                    ErrorCode::BadIssuer,
                    "issuer (iss) is not accepted",
                ));
            }
        }
        if let Some(audiences) = &self.audiences {
            check_audience(claims, &self.audience_claim, audiences)?;
        }
        Ok(registered)
    }

    /// The time window (exp, nbf, iat with leeway) at `now`: the part of [`ClaimRules::check`]
    /// that changes with time, as hosts repeat it for tokens they verified earlier.
    pub fn check_times(&self, registered: &RegisteredClaims, now: u64) -> Result<()> {
        let leeway = self.leeway_s;
        if let Some(exp) = registered.exp {
            // Valid while now < exp + leeway (RFC 7519 §4.1.4: "on or after … MUST NOT be accepted").
            if now >= exp.saturating_add(leeway) {
                return Err(Error::new(ErrorCode::Expired, "token has expired"));
            }
        }
        if let Some(nbf) = registered.nbf {
            if now < nbf.saturating_sub(leeway) {
                return Err(Error::new(
                    ErrorCode::NotYetValid,
                    "token is not valid yet (nbf)",
                ));
            }
        }
        if let Some(iat) = registered.iat {
            if iat > now.saturating_add(leeway) {
                return Err(Error::new(
                    ErrorCode::IatInFuture,
                    "token was issued in the future (iat)",
                ));
            }
        }
        Ok(())
    }
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3); one of them must be accepted.
pub(crate) fn check_audience(claims: &dyn Object, name: &str, accepted: &[String]) -> Result<()> {
    let matches = match claims.member(name) {
        None => return Err(missing(name)),
        Some(Value::String(one)) => accepted.contains(one),
        Some(Value::Array(many)) => {
            let mut found = false;
            for item in many {
                let Value::String(s) = item else {
                    return Err(invalid(name, "must be a string or an array of strings"));
                };
                found |= accepted.contains(s);
            }
            found
        }
        Some(_) => return Err(invalid(name, "must be a string or an array of strings")),
    };
    if matches {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::BadAudience,
            format!("audience ({name}) is not accepted"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn rules() -> ClaimRules {
        ClaimRules {
            leeway_s: 0,
            issuers: None,
            audiences: None,
            audience_claim: "aud".into(),
            required: vec![],
        }
    }

    #[test]
    fn numeric_date_boundaries() {
        let c = map(
            json!({"a": 0, "b": 253402300799_u64, "c": 253402300800_u64, "d": -1,
            "e": 1e300, "f": "1", "g": 12.9, "h": null, "i": 253402300799.5}),
        );
        assert_eq!(numeric_date(&c, "a").unwrap(), Some(0));
        assert_eq!(numeric_date(&c, "b").unwrap(), Some(MAX_NUMERIC_DATE));
        assert_eq!(numeric_date(&c, "g").unwrap(), Some(12));
        assert_eq!(numeric_date(&c, "i").unwrap(), Some(MAX_NUMERIC_DATE));
        assert_eq!(numeric_date(&c, "zz").unwrap(), None);
        for bad in ["c", "d", "e", "f", "h"] {
            assert_eq!(
                numeric_date(&c, bad).unwrap_err().code(),
                ErrorCode::InvalidClaim,
                "{bad}"
            );
        }
    }

    #[test]
    fn float_date_bounds() {
        assert_eq!(
            float_seconds(NUMERIC_DATE_END_F64 - 0.5),
            Some(MAX_NUMERIC_DATE)
        );
        assert_eq!(
            float_seconds(NUMERIC_DATE_END_F64 - 1.0),
            Some(MAX_NUMERIC_DATE)
        );
        assert_eq!(float_seconds(NUMERIC_DATE_END_F64), None);
        for bad in [
            -0.5,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
        ] {
            assert_eq!(float_seconds(bad), None, "{bad}");
        }
        assert_eq!(float_seconds(-0.0), Some(0));
    }

    #[test]
    fn exp_boundary_with_and_without_leeway() {
        let c = map(json!({"exp": 1000}));
        let mut r = rules();
        assert!(r.check(&c, 999).is_ok());
        assert_eq!(r.check(&c, 1000).unwrap_err().code(), ErrorCode::Expired);
        r.leeway_s = 10;
        assert!(r.check(&c, 1009).is_ok());
        assert_eq!(r.check(&c, 1010).unwrap_err().code(), ErrorCode::Expired);
    }

    #[test]
    fn nbf_and_iat_boundaries() {
        let mut r = rules();
        r.leeway_s = 5;
        let c = map(json!({"nbf": 100}));
        assert!(r.check(&c, 95).is_ok());
        assert_eq!(r.check(&c, 94).unwrap_err().code(), ErrorCode::NotYetValid);
        let c = map(json!({"iat": 100}));
        assert!(r.check(&c, 95).is_ok());
        assert_eq!(r.check(&c, 94).unwrap_err().code(), ErrorCode::IatInFuture);
    }

    #[test]
    fn audience_forms() {
        let accepted = vec!["api".to_owned(), "web".to_owned()];
        let aud = |v: Value| check_audience(&map(json!({ "aud": v })), "aud", &accepted);
        assert!(aud(json!("api")).is_ok());
        assert!(aud(json!(["x", "web"])).is_ok());
        let code = |v: Value| aud(v).unwrap_err().code();
        assert_eq!(code(json!([])), ErrorCode::BadAudience);
        assert_eq!(code(json!(["x"])), ErrorCode::BadAudience);
        assert_eq!(code(json!("x")), ErrorCode::BadAudience);
        assert_eq!(code(json!(5)), ErrorCode::InvalidClaim);
        assert_eq!(code(json!([5])), ErrorCode::InvalidClaim);
        let none = check_audience(&map(json!({})), "aud", &accepted).unwrap_err();
        assert_eq!(none.code(), ErrorCode::MissingClaim);
        // An issuer whose tokens carry the audience in another claim (Cognito's client_id).
        let client = map(json!({ "aud": "web", "client_id": "x" }));
        let e = check_audience(&client, "client_id", &accepted).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadAudience);
        assert!(e.message().contains("client_id"), "{e}");
    }
}
