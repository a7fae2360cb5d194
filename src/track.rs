//! Per-track TTL ceilings: a claim names the token's class, each class has a maximum lifetime.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};
use crate::json::Object;

/// Default claim naming the track.
pub const DEFAULT_TRACK_CLAIM: &str = "track";

/// Ceiling for tokens of an unknown or absent track when the policy does not reject them (12 h).
pub const DEFAULT_UNKNOWN_TTL_S: u64 = 12 * 3600;

/// The default table, from the design this project comes from: track 1 = 12 h, 2 = 8 h,
/// 3 = 4 h, 4 = 1 h (operator sessions).
pub fn default_ceilings() -> BTreeMap<String, u64> {
    [("1", 12), ("2", 8), ("3", 4), ("4", 1)]
        .into_iter()
        .map(|(track, hours)| (track.to_owned(), hours * 3600))
        .collect()
}

/// Longest session (first login to the last refresh's expiry) of an unlisted track: 7 days.
pub const DEFAULT_MAX_SESSION_S: u64 = 7 * 86_400;

/// The default session lengths: track 1 = 7 days, 2 = 3 days, 3 = 1 day, 4 = 12 h (an
/// operator logs in again every half day however often they refresh).
pub fn default_max_sessions() -> BTreeMap<String, u64> {
    [("1", 7 * 24), ("2", 3 * 24), ("3", 24), ("4", 12)]
        .into_iter()
        .map(|(track, hours)| (track.to_owned(), hours * 3600))
        .collect()
}

/// How old a gateway's revocation view may be for a track not listed (5 minutes).
pub const DEFAULT_MAX_STALENESS_S: u64 = 300;

/// What happens to a token whose track is absent or not in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownTrack {
    /// Refuse it with `unknown_track`.
    Reject,
    /// Hold it against `default_ttl_s`.
    Default,
}

/// The track table of a policy.
#[derive(Debug, Clone)]
pub struct TrackTable {
    /// Claim naming the track.
    pub claim: String,
    /// Ceiling in seconds per track name (numbers are written in decimal: `"4"`).
    pub ceilings: BTreeMap<String, u64>,
    /// Policy for absent or unlisted tracks.
    pub unknown: UnknownTrack,
    /// Ceiling applied under [`UnknownTrack::Default`].
    pub default_ttl_s: u64,
    /// Longest session per track: refresh never extends a session past its start plus this.
    pub max_session_s: BTreeMap<String, u64>,
    /// Longest session of a track not in `max_session_s`.
    pub default_max_session_s: u64,
    /// How old a gateway's revocation view may be per track (`0`: exact on every request).
    pub max_staleness_s: BTreeMap<String, u64>,
    /// The bound of a track not in `max_staleness_s`.
    pub default_max_staleness_s: u64,
}

/// A token's track and the lifetime ceiling it is held to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackVerdict {
    /// The track's name (`"4"` for both `4` and `"4"`), `None` when the claim is absent.
    pub track: Option<String>,
    /// The ceiling in seconds.
    pub ttl_ceiling_s: u64,
}

/// Reads the track claim: a non-negative integer or a string; `4` and `"4"` name the same track,
/// `"04"` does not. Floats, booleans, objects and negatives are `invalid_claim`.
pub fn track_name(claims: &dyn Object, claim: &str) -> Result<Option<String>> {
    match claims.member(claim) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
        Some(_) => Err(Error::new(
            ErrorCode::InvalidClaim,
            format!("claim {claim} must be a non-negative integer or a string"),
        )),
    }
}

impl Default for TrackTable {
    fn default() -> Self {
        Self {
            claim: DEFAULT_TRACK_CLAIM.to_owned(),
            ceilings: default_ceilings(),
            unknown: UnknownTrack::Default,
            default_ttl_s: DEFAULT_UNKNOWN_TTL_S,
            max_session_s: default_max_sessions(),
            default_max_session_s: DEFAULT_MAX_SESSION_S,
            max_staleness_s: BTreeMap::new(),
            default_max_staleness_s: DEFAULT_MAX_STALENESS_S,
        }
    }
}

impl TrackTable {
    /// Finds the token's track and its ceiling.
    pub fn resolve(&self, claims: &dyn Object) -> Result<TrackVerdict> {
        let track = track_name(claims, &self.claim)?;
        let listed = track.as_ref().and_then(|t| self.ceilings.get(t)).copied();
        let ttl_ceiling_s = match (listed, self.unknown) {
            (Some(ceiling), _) => ceiling,
            (None, UnknownTrack::Default) => self.default_ttl_s,
            (None, UnknownTrack::Reject) => {
                return Err(Error::new(
                    ErrorCode::UnknownTrack,
                    match track {
                        Some(_) => "the token's track is not in the policy's table",
                        None => "the token has no track claim and the policy requires one",
                    },
                ))
            }
        };
        Ok(TrackVerdict {
            track,
            ttl_ceiling_s,
        })
    }

    /// The longest session a track may have ([`TrackTable::max_session_s`]).
    pub fn max_session(&self, track: Option<&str>) -> u64 {
        track
            .and_then(|t| self.max_session_s.get(t))
            .copied()
            .unwrap_or(self.default_max_session_s)
    }

    /// How old the revocation view may be for a token of `track` (`0`: exact every time).
    pub fn max_staleness(&self, track: Option<&str>) -> u64 {
        track
            .and_then(|t| self.max_staleness_s.get(t))
            .copied()
            .unwrap_or(self.default_max_staleness_s)
    }

    /// Every bound the table states (for checks against the edge's publish interval).
    pub fn staleness_bounds(&self) -> impl Iterator<Item = (Option<&str>, u64)> {
        self.max_staleness_s
            .iter()
            .map(|(t, b)| (Some(t.as_str()), *b))
            .chain([(None, self.default_max_staleness_s)])
    }

    /// The longest time a token covered by a revocation "before T" can outlive T, leeway
    /// included: a token issued just before T lives its track's ceiling, and a token refreshed
    /// from a session begun before T lives until that session's end. A subject or global entry
    /// must live this long past T.
    pub fn longest_lifetime_s(&self, leeway_s: u64) -> u64 {
        let longest = self.ceilings.values().copied().max().unwrap_or(0);
        let longest = match self.unknown {
            UnknownTrack::Default => longest.max(self.default_ttl_s),
            UnknownTrack::Reject => longest,
        };
        let longest_session = self
            .max_session_s
            .values()
            .copied()
            .chain([self.default_max_session_s])
            .max()
            .unwrap_or(0);
        longest.max(longest_session).saturating_add(leeway_s)
    }

    /// Holds a token's lifetime against its ceiling. With `iat`, the lifetime is `exp - iat`
    /// (exactly the ceiling is accepted). Without `iat`, the remaining lifetime `exp - now` is
    /// held against the ceiling plus the clock leeway, since the issuer's clock may lead ours.
    pub fn check_lifetime(
        verdict: &TrackVerdict,
        exp: u64,
        iat: Option<u64>,
        now: u64,
        leeway_s: u64,
    ) -> Result<()> {
        let (lifetime, allowed) = match iat {
            Some(iat) => (exp.saturating_sub(iat), verdict.ttl_ceiling_s),
            None => (
                exp.saturating_sub(now),
                verdict.ttl_ceiling_s.saturating_add(leeway_s),
            ),
        };
        if lifetime > allowed {
            return Err(Error::new(
                ErrorCode::TtlExceedsTrack,
                format!(
                    "token lifetime {lifetime} s exceeds the {} s ceiling of its track",
                    verdict.ttl_ceiling_s
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn integer_and_string_name_the_same_track() {
        let table = TrackTable::default();
        let a = table.resolve(&claims(json!({"track": 4}))).unwrap();
        let b = table.resolve(&claims(json!({"track": "4"}))).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.ttl_ceiling_s, 3600);
        let c = table.resolve(&claims(json!({"track": "04"}))).unwrap();
        assert_eq!(c.ttl_ceiling_s, DEFAULT_UNKNOWN_TTL_S);
    }

    #[test]
    fn wrong_types_are_invalid() {
        let table = TrackTable::default();
        for bad in [
            json!(4.0),
            json!(true),
            json!({"a": 1}),
            json!(-4),
            json!([4]),
        ] {
            let err = table.resolve(&claims(json!({"track": bad}))).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidClaim);
        }
    }

    #[test]
    fn reject_unknown() {
        let table = TrackTable {
            unknown: UnknownTrack::Reject,
            ..TrackTable::default()
        };
        assert_eq!(
            table
                .resolve(&claims(json!({"track": 9})))
                .unwrap_err()
                .code(),
            ErrorCode::UnknownTrack
        );
        assert_eq!(
            table.resolve(&claims(json!({}))).unwrap_err().code(),
            ErrorCode::UnknownTrack
        );
    }

    #[test]
    fn lifetime_boundaries() {
        let v = TrackVerdict {
            track: Some("4".into()),
            ttl_ceiling_s: 3600,
        };
        assert!(TrackTable::check_lifetime(&v, 4600, Some(1000), 1000, 30).is_ok());
        assert_eq!(
            TrackTable::check_lifetime(&v, 4601, Some(1000), 1000, 30)
                .unwrap_err()
                .code(),
            ErrorCode::TtlExceedsTrack
        );
        // Without iat: remaining lifetime, with leeway.
        assert!(TrackTable::check_lifetime(&v, 4630, None, 1000, 30).is_ok());
        assert!(TrackTable::check_lifetime(&v, 4631, None, 1000, 30).is_err());
    }
}
