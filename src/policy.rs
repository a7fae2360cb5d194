//! The validator: size → structure → header → key choice → signature → claims → track.

use serde_json::{Map, Value};

use crate::alg::Alg;
use crate::claims::RegisteredClaims;
use crate::config::Policy;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::KeySet;
use crate::revocation::{self, RevocationFacts, RevocationStatus};
use crate::track::{TrackTable, TrackVerdict};
use crate::{json, token, verify};

/// A token whose signature, claims and track all passed. Built only by [`Validator::verify`].
#[derive(Debug, Clone)]
pub struct Verified {
    /// The header as sent.
    pub header: Map<String, Value>,
    /// The authenticated claims.
    pub claims: Map<String, Value>,
    /// Registered claims after type checks.
    pub registered: RegisteredClaims,
    /// The algorithm that verified.
    pub alg: Alg,
    /// The kid of the key that verified, if it has one.
    pub kid: Option<String>,
    /// The token's track and ceiling.
    pub track: TrackVerdict,
}

impl Verified {
    /// What a revocation check needs to know about this token.
    pub fn revocation_facts(&self) -> RevocationFacts {
        RevocationFacts {
            jti: self.registered.jti.clone(),
            sub: self.registered.sub.clone(),
            iat: self.registered.iat,
            // `verify` refuses tokens without exp, so this default is never used.
            exp: self.registered.exp.unwrap_or_default(),
            track: self.track.track.clone(),
        }
    }
}

/// Checks tokens against one validated [`Policy`]. Pure: the caller passes `now`.
#[derive(Debug)]
pub struct Validator {
    policy: Policy,
}

/// `typ` values compare case-insensitively, and `application/` may be omitted (RFC 7515 §4.1.9).
fn same_media_type(a: &str, b: &str) -> bool {
    fn short(t: &str) -> &str {
        t.get(..12)
            .filter(|p| p.eq_ignore_ascii_case("application/"))
            .map_or(t, |_| &t[12..])
    }
    short(a).eq_ignore_ascii_case(short(b))
}

impl Validator {
    /// Wraps a validated policy.
    pub fn new(policy: Policy) -> Self {
        Self { policy }
    }

    /// Parses and validates a config, reporting any problem now rather than at a request.
    pub fn from_json(config_json: &str) -> Result<Self> {
        Policy::from_json(config_json).map(Self::new)
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks a compact JWS at time `now` (seconds since the epoch), without revocation.
    pub fn verify(&self, token: &str, now: u64) -> Result<Verified> {
        self.verify_with_keys(token, now, &self.policy.keys)
    }

    /// As [`Validator::verify`], with a key set other than the policy's own (the policy's keys
    /// merged with a remote JWKS, see [`crate::jwks`]).
    pub fn verify_with_keys(&self, token: &str, now: u64, keys: &KeySet) -> Result<Verified> {
        let policy = &self.policy;
        let untrusted = token::parse(token, policy.max_token_bytes)?;
        let alg = untrusted
            .alg()
            .filter(|alg| policy.algorithms.contains(alg))
            .ok_or_else(|| {
                Error::new(ErrorCode::AlgNotAllowed, "the token's alg is not allowed")
            })?;
        if let Some(expected) = &policy.typ {
            if !untrusted
                .typ
                .as_deref()
                .is_some_and(|t| same_media_type(t, expected))
            {
                return Err(Error::new(
                    ErrorCode::InvalidClaim,
                    format!("header typ must be {expected:?}"),
                ));
            }
        }
        let candidates = keys.candidates(alg, untrusted.kid.as_deref())?;
        let key = candidates
            .into_iter()
            .find(|key| {
                verify::verify_signature(
                    alg,
                    key,
                    untrusted.signing_input.as_bytes(),
                    &untrusted.signature,
                )
            })
            .ok_or_else(|| Error::new(ErrorCode::BadSignature, "signature verification failed"))?;

        // From here on the payload is authenticated; only now does a JSON parser see it.
        let claims = json::parse_object(&untrusted.payload).map_err(|e| {
            Error::new(
                ErrorCode::Malformed,
                format!("payload is not a valid JSON object ({e})"),
            )
        })?;
        let track = policy.tracks.resolve(&claims)?;
        let registered = self.time_checks(&claims, &track, now)?;
        Ok(Verified {
            header: untrusted.header,
            claims,
            registered,
            alg,
            kid: key.kid.clone(),
            track,
        })
    }

    /// The claim and lifetime checks that depend on `now`: what [`Validator::recheck`] repeats
    /// for a token verified earlier.
    fn time_checks(
        &self,
        claims: &Map<String, Value>,
        track: &TrackVerdict,
        now: u64,
    ) -> Result<RegisteredClaims> {
        let policy = &self.policy;
        let registered = policy.claims.check(claims, now)?;
        let exp = registered.exp.ok_or_else(|| {
            Error::new(
                ErrorCode::MissingClaim,
                "required claim exp is missing (every track has a maximum lifetime)",
            )
        })?;
        TrackTable::check_lifetime(track, exp, registered.iat, now, policy.claims.leeway_s)?;
        Ok(registered)
    }

    /// Repeats the time-dependent checks (registered claims, track lifetime) at `now` for a
    /// token this validator verified earlier: hosts that cache verified tokens call this on a
    /// hit instead of verifying the signature again.
    pub fn recheck(&self, verified: &Verified, now: u64) -> Result<()> {
        self.time_checks(&verified.claims, &verified.track, now)
            .map(|_| ())
    }

    /// Checks a token, then its revocation status as looked up by `lookup` from its facts.
    /// A lookup that fails yields `revocation_unavailable`: the check fails closed.
    pub fn verify_with_revocation(
        &self,
        token: &str,
        now: u64,
        lookup: impl FnOnce(&RevocationFacts) -> Result<RevocationStatus>,
    ) -> Result<Verified> {
        let verified = self.verify(token, now)?;
        let facts = verified.revocation_facts();
        let status = lookup(&facts).map_err(|e| {
            if e.code() == ErrorCode::Revoked {
                e
            } else {
                Error::new(
                    ErrorCode::RevocationUnavailable,
                    "revocation status could not be checked",
                )
            }
        })?;
        revocation::check(&facts, &status)?;
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::same_media_type;

    #[test]
    fn typ_comparison() {
        assert!(same_media_type("JWT", "jwt"));
        assert!(same_media_type("application/at+jwt", "at+JWT"));
        assert!(!same_media_type("JWS", "JWT"));
        assert!(!same_media_type("application/", "JWT"));
    }
}
