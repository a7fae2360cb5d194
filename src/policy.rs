//! The validator: size → structure → header → key choice → signature → claims → track.

use std::sync::{Arc, OnceLock};

use futures_util::FutureExt;
use serde_json::{Map, Value};

use crate::alg::Alg;
use crate::claims::{ClaimRules, RegisteredClaims};
use crate::config::Policy;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::KeySet;
use crate::revocation::{self, RevocationFacts, RevocationStatus};
use crate::token::{Header, HeaderCache};
use crate::track::{TrackTable, TrackVerdict};
use crate::{json, token, verify};

/// A token whose signature, claims and track all passed. Built only by [`Validator::verify`].
#[derive(Debug, Clone)]
pub struct Verified {
    /// The header as sent (shared by tokens with the same header segment).
    pub header: Arc<Header>,
    /// The authenticated claims, built from `claims_json` when a host first asks for them
    /// ([`Verified::claims`]): verification itself builds only the claims it checks. Shared by
    /// clones, so a token served from a host's verified-token cache is parsed once, not once
    /// per request.
    pub(crate) claims: Arc<OnceLock<Map<String, Value>>>,
    /// The payload's JSON text as sent: hosts may hand it on instead of serializing the claims
    /// again.
    pub claims_json: Arc<[u8]>,
    /// Registered claims after type checks.
    pub registered: RegisteredClaims,
    /// The algorithm that verified.
    pub alg: Alg,
    /// The kid of the key that verified, if it has one.
    pub kid: Option<String>,
    /// The token's track and ceiling.
    pub track: TrackVerdict,
    /// The rules it was checked under ([`Policy::rules`]): 0 for the top level, `i` for the
    /// `issuers` entry `i - 1`.
    pub profile: usize,
}

impl Verified {
    /// Every claim of the token.
    pub fn claims(&self) -> &Map<String, Value> {
        // The text passed the same strict checks in `verify`, so this parse cannot fail (were
        // it to, the token would show no claims beyond the registered ones kept).
        self.claims
            .get_or_init(|| json::parse_object(&self.claims_json).unwrap_or_default())
    }

    /// What a revocation check needs to know about this token.
    pub fn revocation_facts(&self) -> RevocationFacts {
        RevocationFacts {
            jti: self.registered.jti.clone(),
            sub: self.registered.sub.clone(),
            iat: self.registered.iat,
            session_start: self.registered.session_start(),
            // `verify` refuses tokens without exp, so this default is never used.
            exp: self.registered.exp.unwrap_or_default(),
            track: self.track.track.clone(),
        }
    }
}

/// Checks tokens against one validated [`Policy`]. Pure: the caller passes `now` (the header
/// cache only saves work: a hit answers as a parse would).
#[derive(Debug)]
pub struct Validator {
    policy: Policy,
    headers: HeaderCache,
    /// The claims verification reads, of every profile ([`Validator::reads`]): gathered once,
    /// as the payload parser asks about every member of every token.
    read_claims: Vec<String>,
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

/// A token past [`Validator::select`]: structure and header checked, its rules chosen; not
/// yet authenticated.
#[derive(Debug)]
pub struct Selected<'t> {
    untrusted: token::UntrustedToken<'t>,
    alg: Alg,
    profile: usize,
}

impl Selected<'_> {
    /// The rules chosen ([`Policy::rules`]).
    pub fn profile(&self) -> usize {
        self.profile
    }
}

/// The `iss` of a payload not yet authenticated, read by the strict parser (which bounds
/// depth and refuses duplicate names, so the claims checked later are the ones read here). It
/// only selects an issuer's keys and rules: the selected rules check `iss` again once the
/// signature holds.
fn unverified_issuer(payload: &[u8]) -> Result<Option<String>> {
    let members = json::parse_members(payload, &|name| name == "iss").map_err(|e| {
        Error::new(
            ErrorCode::Malformed,
            format!("payload is not a valid JSON object ({e})"),
        )
    })?;
    match json::Object::member(&members, "iss") {
        None => Ok(None),
        Some(Value::String(iss)) => Ok(Some(iss.clone())),
        Some(_) => Err(Error::new(
            ErrorCode::InvalidClaim,
            "claim iss must be a string",
        )),
    }
}

/// Registered and required claims at `now`; `exp` is mandatory because every track has a
/// ceiling.
fn claim_checks(
    rules: &ClaimRules,
    claims: &dyn json::Object,
    now: u64,
) -> Result<RegisteredClaims> {
    let registered = rules.check(claims, now)?;
    if registered.exp.is_none() {
        return Err(Error::new(
            ErrorCode::MissingClaim,
            "required claim exp is missing (every track has a maximum lifetime)",
        ));
    }
    Ok(registered)
}

impl Validator {
    /// Wraps a validated policy.
    pub fn new(policy: Policy) -> Self {
        let mut read_claims: Vec<String> = crate::claims::REGISTERED
            .iter()
            .map(|&name| name.to_owned())
            .collect();
        for rules in policy.all_rules() {
            read_claims.extend(rules.claims.required.iter().cloned());
            read_claims.push(rules.tracks.claim.clone());
            read_claims.push(rules.claims.audience_claim.clone());
            read_claims.extend(rules.matches.iter().map(|m| m.claim().to_owned()));
        }
        read_claims.sort_unstable();
        read_claims.dedup();
        Self {
            policy,
            headers: HeaderCache::default(),
            read_claims,
        }
    }

    /// Parses and validates a config, reporting any problem now rather than at a request.
    pub fn from_json(config_json: &str) -> Result<Self> {
        Policy::from_json(config_json).map(Self::new)
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks a compact JWS at time `now` (seconds since the epoch), without revocation, with
    /// the inline keys of the rules its `iss` selects.
    pub fn verify(&self, token: &str, now: u64) -> Result<Verified> {
        let selected = self.select(token)?;
        let keys = self.policy.rules(selected.profile).keys;
        self.finish(selected, now, keys, &verify::Ready(&verify::JwtCompact))
            .now_or_never()
            .unwrap_or_else(|| {
                // `Ready` never waits, so this is unreachable; refuse rather than panic.
                Err(Error::new(
                    ErrorCode::BadSignature,
                    "signature check did not complete",
                ))
            })
    }

    /// The first steps of a verification: size, structure and header, then the rules the
    /// token's `iss` selects (with `issuers` entries; unverified, it only chooses which keys
    /// and rules apply) and their `alg` and `typ`. The host then finds that profile's keys
    /// (its remote JWKS) and calls [`Validator::finish`].
    pub fn select<'t>(&self, token: &'t str) -> Result<Selected<'t>> {
        let policy = &self.policy;
        let untrusted = token::parse(token, policy.max_token_bytes, &self.headers)?;
        let profile = match policy.issuers.is_empty() {
            true => 0,
            false => policy.select(unverified_issuer(&untrusted.payload)?.as_deref())?,
        };
        let rules = policy.rules(profile);
        let header = &untrusted.header;
        let alg = header
            .alg()
            .filter(|alg| rules.algorithms.contains(alg))
            .ok_or_else(|| {
                Error::new(ErrorCode::AlgNotAllowed, "the token's alg is not allowed")
            })?;
        if let Some(expected) = rules.typ {
            if !header
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
        Ok(Selected {
            untrusted,
            alg,
            profile,
        })
    }

    /// The rest of a verification: key choice among `keys` (the selected profile's inline keys,
    /// merged with its remote set by the host), the signature (checked by `check`, which may
    /// wait: WebCrypto), then the claims, the issuer's claim rules and the track.
    pub async fn finish(
        &self,
        selected: Selected<'_>,
        now: u64,
        keys: &KeySet,
        check: &impl verify::SignatureCheck,
    ) -> Result<Verified> {
        let Selected {
            untrusted,
            alg,
            profile,
        } = selected;
        let rules = self.policy.rules(profile);
        let header = untrusted.header;
        let mut chosen = None;
        for key in keys.candidates(alg, header.kid.as_deref())? {
            let message = untrusted.signing_input.as_bytes();
            if check.check(alg, key, message, &untrusted.signature).await {
                chosen = Some(key);
                break;
            }
        }
        let key = chosen
            .ok_or_else(|| Error::new(ErrorCode::BadSignature, "signature verification failed"))?;

        // From here on the payload is authenticated; only now are its claims read.
        let claims =
            json::parse_members(&untrusted.payload, &|name| self.reads(name)).map_err(|e| {
                Error::new(
                    ErrorCode::Malformed,
                    format!("payload is not a valid JSON object ({e})"),
                )
            })?;
        // Claims before the track (README "Order of checks", steps 7 and 8).
        let registered = claim_checks(rules.claims, &claims, now)?;
        if let Some(broken) = rules.matches.iter().find(|m| !m.holds(&claims)) {
            return Err(Error::new(
                ErrorCode::InvalidClaim,
                format!("claim {} does not satisfy the issuer's rule", broken.path()),
            ));
        }
        let track = rules.tracks.resolve(&claims)?;
        TrackTable::check_lifetime(
            &track,
            registered.exp.unwrap_or_default(),
            registered.iat,
            now,
            rules.claims.leeway_s,
        )?;
        drop(claims); // it borrows the payload, which moves into the result
        Ok(Verified {
            header,
            claims: Arc::default(),
            claims_json: untrusted.payload.into(),
            registered,
            alg,
            kid: key.kid.clone(),
            track,
            profile,
        })
    }

    /// Whether verification reads the claim `name` (the rest of the payload is only checked):
    /// the registered claims, and each profile's track, audience, required and rule claims.
    fn reads(&self, name: &str) -> bool {
        self.read_claims
            .binary_search_by(|claim| claim.as_str().cmp(name))
            .is_ok()
    }

    /// Repeats the time-dependent checks (exp, nbf, iat and the track lifetime) at `now` for a
    /// token this same validator verified earlier (the rest of its checks give the same answer
    /// at any time): hosts that cache verified tokens call this on a hit instead of verifying
    /// the signature again.
    pub fn recheck(&self, verified: &Verified, now: u64) -> Result<()> {
        let rules = self.policy.rules(verified.profile);
        let registered = &verified.registered;
        rules.claims.check_times(registered, now)?;
        TrackTable::check_lifetime(
            &verified.track,
            registered.exp.unwrap_or_default(),
            registered.iat,
            now,
            rules.claims.leeway_s,
        )
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
    use super::{same_media_type, Validator};
    use crate::{issue, Alg, ErrorCode, IssueRequest, Signer};

    /// A token for subject `a` on `track`, issued at `at` under `validator`'s policy with the
    /// HS256 `secret`.
    fn issued(validator: &Validator, secret: &str, track: &str, at: u64) -> String {
        let signer = Signer::from_secret(secret, Alg::HS256).unwrap();
        let request = IssueRequest {
            sub: Some("a".into()),
            track: Some(track.into()),
            ..IssueRequest::default()
        };
        issue(
            validator.policy(),
            &signer,
            request,
            at,
            &mut rand_core::OsRng,
        )
        .unwrap()
        .token
    }

    #[test]
    fn claims_are_checked_before_the_track() {
        let secret = "policy-order-test-secret-0123456789";
        let config = format!(
            r#"{{"algorithms":["HS256"],"secret":"{secret}","tracks":{{"unknown":"reject","ttl_s":{{"9":60}}}}}}"#
        );
        let validator = Validator::from_json(&config).unwrap();
        let token = issued(&validator, secret, "9", 1_000);
        // Under a policy that rejects track 9, an expired token still reports `expired`.
        let strict =
            Validator::from_json(&config.replace(r#""ttl_s":{"9":60}"#, r#""ttl_s":{"1":60}"#))
                .unwrap();
        assert_eq!(
            strict.verify(&token, 1_000).unwrap_err().code(),
            ErrorCode::UnknownTrack
        );
        assert_eq!(
            strict.verify(&token, 2_000).unwrap_err().code(),
            ErrorCode::Expired
        );
    }

    /// Claims the checks ask for are recorded: verification builds only the claims `reads`
    /// accepts, so a check reading any other would see it as absent (and could fail open).
    #[test]
    fn verification_reads_every_claim_its_checks_ask_for() {
        use std::cell::RefCell;

        use serde_json::{json, Map, Value};

        use crate::json::Object;

        struct Recording(Map<String, Value>, RefCell<Vec<String>>);
        impl Object for Recording {
            fn member(&self, name: &str) -> Option<&Value> {
                self.1.borrow_mut().push(name.to_owned());
                self.0.get(name)
            }
        }
        let validator = Validator::from_json(
            r#"{"algorithms":["HS256"],"secret":"policy-reads-test-secret-0123456789",
                "issuer":"https://issuer.test","audience":"api","required_claims":["exp","scope"],
                "tracks":{"claim":"tier","ttl_s":{"1":600}}}"#,
        )
        .unwrap();
        let claims = json!({"iss":"https://issuer.test","aud":"api","sub":"a","jti":"j",
            "iat":1000,"nbf":1000,"exp":1500,"scope":"read","tier":1});
        let recording = Recording(claims.as_object().unwrap().clone(), RefCell::default());
        let registered = super::claim_checks(&validator.policy.claims, &recording, 1_000).unwrap();
        let track = validator.policy.tracks.resolve(&recording).unwrap();
        let exp = registered.exp.unwrap();
        crate::track::TrackTable::check_lifetime(&track, exp, registered.iat, 1_000, 30).unwrap();
        let asked = recording.1.into_inner();
        for name in [
            "exp", "nbf", "iat", "jti", "sub", "iss", "aud", "scope", "tier",
        ] {
            assert!(asked.iter().any(|a| a == name), "{name} was not asked for");
        }
        for name in &asked {
            assert!(validator.reads(name), "{name} is checked but not read");
        }
    }

    #[test]
    fn recheck_repeats_the_time_checks() {
        let secret = "policy-recheck-test-secret-0123456789";
        let validator = Validator::from_json(&format!(
            r#"{{"algorithms":["HS256"],"secret":"{secret}","leeway_s":0}}"#
        ))
        .unwrap();
        let token = issued(&validator, secret, "4", 10_000);
        let verified = validator.verify(&token, 10_000).unwrap();
        let exp = verified.registered.exp.unwrap();
        assert!(validator.recheck(&verified, exp - 1).is_ok());
        assert_eq!(
            validator.recheck(&verified, exp).unwrap_err().code(),
            ErrorCode::Expired
        );
        assert_eq!(
            validator.recheck(&verified, 9_999).unwrap_err().code(),
            ErrorCode::IatInFuture
        );
    }

    #[test]
    fn typ_comparison() {
        assert!(same_media_type("JWT", "jwt"));
        assert!(same_media_type("application/at+jwt", "at+JWT"));
        assert!(!same_media_type("JWS", "JWT"));
        assert!(!same_media_type("application/", "JWT"));
    }
}
