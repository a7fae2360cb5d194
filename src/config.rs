//! The token policy: what makes a token valid (algorithms, keys, claims, tracks, limits, `typ`).
//!
//! One config document holds it and the edge policy (gateway, routes, revocation cache, remote
//! JWKS), which the gateway layer reads ([`crate::gateway::policy`]) and hands the rest to
//! [`Config`]: the core never reads, or imports, the edge's sections. Unknown fields are errors
//! (a typo must never weaken a policy), and every error carries the path of the field at fault
//! ([`Error::path`]). The schema and defaults are documented in the README.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::alg::Alg;
use crate::claim_match::{ClaimMatch, MatchConfig};
use crate::claims::{ClaimRules, DEFAULT_LEEWAY_S};
use crate::error::{redact_quoted, Error, ErrorCode, Result};
use crate::keys::{KeySet, KeySources};
use crate::token::DEFAULT_MAX_TOKEN_BYTES;
use crate::track::{TrackTable, UnknownTrack};

/// Largest leeway accepted: beyond five minutes `exp` stops meaning much.
pub const MAX_LEEWAY_S: u64 = 300;
/// Claims a token must carry unless the policy says otherwise: `exp` (every track has a
/// ceiling), `iat` (without it the ceiling can only be approximated and a subject revocation
/// cannot tell a new session from an old one) and `jti` (what logout and refresh revoke).
pub const DEFAULT_REQUIRED_CLAIMS: [&str; 3] = ["exp", "iat", "jti"];
/// Bounds for `max_token_bytes`.
pub const TOKEN_BYTES_RANGE: std::ops::RangeInclusive<usize> = 256..=65_536;

/// A secret string whose bytes are wiped on drop and never printed.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(_)")
    }
}

/// One value or a list of them (`"iss"` or `["iss1","iss2"]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// A list of values.
    Many(Vec<String>),
}

impl OneOrMany {
    pub(crate) fn into_checked(self, path: &str) -> Result<Vec<String>> {
        let list = match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        };
        if list.is_empty() || list.iter().any(String::is_empty) {
            return Err(Error::config(
                path,
                "must be a non-empty string or a non-empty list of them",
            ));
        }
        Ok(list)
    }
}

/// `tracks.unknown`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnknownTrackMode {
    /// Refuse unknown or absent tracks (`unknown_track`).
    Reject,
    /// Hold them against `default_ttl_s`.
    Default,
}

/// The `tracks` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracksConfig {
    /// Claim naming the track (default `track`).
    pub claim: Option<String>,
    /// Ceiling in seconds per track; replaces the default table when given.
    pub ttl_s: Option<BTreeMap<String, u64>>,
    /// `reject` or `default` (default `default`).
    pub unknown: Option<UnknownTrackMode>,
    /// Ceiling for unknown tracks (default 43200 = 12 h).
    pub default_ttl_s: Option<u64>,
    /// Longest session per track (first login to the end of the last refresh), merged over
    /// the defaults (7 d, 3 d, 1 d, 12 h for tracks 1–4).
    pub max_session_s: Option<BTreeMap<String, u64>>,
    /// Longest session of a track not listed in `max_session_s` (default 7 days).
    pub default_max_session_s: Option<u64>,
    /// How old a gateway's revocation view may be per track, in seconds; `0` checks the
    /// revocation authority on every request (see the README's revocation section).
    pub max_staleness_s: Option<BTreeMap<String, u64>>,
    /// The bound of a track not listed in `max_staleness_s` (default 300).
    pub default_max_staleness_s: Option<u64>,
}

/// The top-level fields of the token policy, as [`Config`] spells them (a unit test checks the
/// list against serde's).
pub const FIELDS: [&str; 11] = [
    "algorithms",
    "secret",
    "keys",
    "issuer",
    "audience",
    "leeway_s",
    "required_claims",
    "tracks",
    "max_token_bytes",
    "typ",
    "issuers",
];

/// The config file as written, before validation. No `Debug`: `keys` may hold private members.
/// Unknown top-level fields are refused by [`Config::from_json_allowing`] (which knows the
/// other layers' fields) rather than by serde; nested sections refuse theirs themselves.
#[derive(Clone, Default, Deserialize)]
pub struct Config {
    /// Algorithms accepted, e.g. `["ES256", "EdDSA"]`. Required.
    pub algorithms: Vec<String>,
    /// HMAC secret (its UTF-8 bytes are the key).
    pub secret: Option<Secret>,
    /// A list of JWKs or a JWKS object `{"keys":[…]}`.
    pub keys: Option<Value>,
    /// Accepted issuer(s).
    pub issuer: Option<OneOrMany>,
    /// Accepted audience(s).
    pub audience: Option<OneOrMany>,
    /// Clock skew tolerance in seconds (default 30).
    pub leeway_s: Option<u64>,
    /// Claims that must be present (default `["exp", "iat", "jti"]`).
    pub required_claims: Option<Vec<String>>,
    /// Per-track lifetime ceilings.
    pub tracks: Option<TracksConfig>,
    /// Longest token accepted, in bytes (default 8192).
    pub max_token_bytes: Option<usize>,
    /// Required `typ` header, e.g. `"JWT"` or `"at+jwt"`.
    pub typ: Option<String>,
    /// Further identity providers, each with its own keys and rules.
    pub issuers: Option<Vec<IssuerConfig>>,
    /// Keys may also come from a remote JWKS (set by the edge policy's `jwks_url`, never read
    /// from the document itself): then a policy without inline keys is not an error.
    #[serde(skip)]
    pub remote_keys: bool,
}

impl Config {
    /// Parses config JSON; a syntax or type error names the path (`tracks.ttl_s.4`), and an
    /// unknown field is an error.
    pub fn from_json(json: &str) -> Result<Config> {
        Config::from_json_allowing(json, &[])
    }

    /// [`Config::from_json`] of a document that also holds another layer's sections (`others`:
    /// their top-level names, which are then skipped here). The document is read by the strict
    /// parser first, so a name given twice is an error rather than a silent "last one wins".
    pub fn from_json_allowing(json: &str, others: &[&str]) -> Result<Config> {
        let document = crate::json::parse_object(json.as_bytes())
            .map_err(|why| Error::config("", format!("the config is not a JSON object: {why}")))?;
        if let Some(unknown) = document
            .keys()
            .find(|k| !FIELDS.contains(&k.as_str()) && !others.contains(&k.as_str()))
        {
            return Err(Error::config(
                unknown,
                "unknown field (a typo would weaken the policy)",
            ));
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        parse_with_paths(de)
    }
}

/// One entry of `issuers`: an identity provider whose tokens the policy accepts, with its own
/// keys and rules. A token's (unverified) `iss` selects the entry; nothing else in the token is
/// trusted until that entry's key verifies it. Rules an entry leaves out (`leeway_s`,
/// `required_claims`, `tracks`, `typ`) are the top level's; `audience` and `algorithms` are
/// always its own.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` of the provider's tokens.
    pub issuer: String,
    /// Inline keys: a list of JWKs or a JWKS object.
    pub keys: Option<Value>,
    /// The provider's JWKS URL: fetched by the host (read by the gateway layer).
    pub jwks_url: Option<String>,
    /// The provider's OpenID Connect discovery base (read by the gateway layer).
    pub discovery: Option<String>,
    /// Remote JWKS settings of this provider (read by the gateway layer).
    pub jwks: Option<serde::de::IgnoredAny>,
    /// Accepted audience(s). Required: without it any of the provider's tokens would pass.
    pub audience: Option<OneOrMany>,
    /// The claim holding the audience when the provider does not use `aud` (Cognito access
    /// tokens: `client_id`).
    pub audience_claim: Option<String>,
    /// Algorithms this provider signs with. Required.
    pub algorithms: Option<Vec<String>>,
    /// Claims its tokens must carry (default: the top level's).
    pub required_claims: Option<Vec<String>>,
    /// Clock skew for its tokens (default: the top level's).
    pub leeway_s: Option<u64>,
    /// Track ceilings of its tokens (default: the top level's table).
    pub tracks: Option<TracksConfig>,
    /// Required `typ` header (default: the top level's).
    pub typ: Option<String>,
    /// Rules on its tokens' claims (`token_use`, `repository`, ...), all required; a token
    /// breaking one is `invalid_claim`.
    pub claims: Option<BTreeMap<String, MatchConfig>>,
}

impl IssuerConfig {
    /// Whether keys come from the host (a JWKS URL or discovery).
    fn remote(&self) -> bool {
        self.jwks_url.is_some() || self.discovery.is_some()
    }
}

/// Deserializes a config section; an error carries the path of the field at fault.
pub fn parse_with_paths<'de, T: Deserialize<'de>>(de: impl serde::Deserializer<'de>) -> Result<T> {
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::config(&path, redact_quoted(&e.into_inner().to_string()))
    })
}

/// A validated token policy, ready to check tokens. Built only through [`Policy::new`].
#[derive(Debug)]
pub struct Policy {
    /// Allowed algorithms.
    pub algorithms: Vec<Alg>,
    /// Verification keys.
    pub keys: KeySet,
    /// Claim rules.
    pub claims: ClaimRules,
    /// Track ceilings.
    pub tracks: TrackTable,
    /// Longest token accepted.
    pub max_token_bytes: usize,
    /// Required `typ` header.
    pub typ: Option<String>,
    /// Whether the top-level rules have keys (inline or remote) and so accept tokens of their
    /// own; a policy of `issuers` alone has none.
    pub own_keys: bool,
    /// The `issuers` entries, in config order.
    pub issuers: Vec<IssuerProfile>,
}

/// One checked `issuers` entry.
#[derive(Debug)]
pub struct IssuerProfile {
    /// The exact `iss` that selects it.
    pub issuer: String,
    /// Its algorithms.
    pub algorithms: Vec<Alg>,
    /// Its inline keys (a remote set is merged in by the host).
    pub keys: KeySet,
    /// Its claim rules (issuer fixed, audience required).
    pub claims: ClaimRules,
    /// Its track table.
    pub tracks: TrackTable,
    /// Its required `typ`.
    pub typ: Option<String>,
    /// Its rules on claims.
    pub matches: Vec<ClaimMatch>,
}

/// The rules a token is checked under: the top level's or an issuer entry's.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// Allowed algorithms.
    pub algorithms: &'a [Alg],
    /// Inline keys.
    pub keys: &'a KeySet,
    /// Claim rules.
    pub claims: &'a ClaimRules,
    /// Track table.
    pub tracks: &'a TrackTable,
    /// Required `typ`.
    pub typ: Option<&'a str>,
    /// Rules on claims (`invalid_claim` when broken).
    pub matches: &'a [ClaimMatch],
}

fn parse_algorithms(names: &[String]) -> Result<Vec<Alg>> {
    if names.is_empty() {
        return Err(Error::config(
            "algorithms",
            "must list at least one algorithm",
        ));
    }
    let mut algs = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let alg = Alg::from_name(name).ok_or_else(|| {
            Error::config(
                &format!("algorithms[{i}]"),
                format!("{name:?} is not implemented by this build"),
            )
        })?;
        if !algs.contains(&alg) {
            algs.push(alg);
        }
    }
    Ok(algs)
}

fn key_sources(keys: Option<&Value>) -> Result<Vec<(String, &Value)>> {
    match keys {
        None => Ok(Vec::new()),
        Some(Value::Array(list)) => Ok(list
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("keys[{i}]"), v))
            .collect()),
        Some(Value::Object(set)) => match set.get("keys") {
            Some(Value::Array(list)) => Ok(list
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("keys.keys[{i}]"), v))
                .collect()),
            _ => Err(Error::config(
                "keys",
                "a JWKS object must have a \"keys\" array",
            )),
        },
        Some(_) => Err(Error::config(
            "keys",
            "must be a list of JWKs or a JWKS object",
        )),
    }
}

fn tracks_from(config: Option<TracksConfig>) -> Result<TrackTable> {
    let mut table = TrackTable::default();
    let Some(config) = config else {
        return Ok(table);
    };
    if let Some(claim) = config.claim {
        if claim.is_empty() {
            return Err(Error::config("tracks.claim", "must not be empty"));
        }
        table.claim = claim;
    }
    if let Some(ceilings) = config.ttl_s {
        if let Some((track, _)) = ceilings.iter().find(|(_, ttl)| **ttl == 0) {
            return Err(Error::config(
                &format!("tracks.ttl_s.{track}"),
                "a ceiling must be positive",
            ));
        }
        if ceilings.keys().any(String::is_empty) {
            return Err(Error::config(
                "tracks.ttl_s",
                "track names must not be empty",
            ));
        }
        table.ceilings = ceilings;
    }
    if let Some(mode) = config.unknown {
        table.unknown = match mode {
            UnknownTrackMode::Reject => UnknownTrack::Reject,
            UnknownTrackMode::Default => UnknownTrack::Default,
        };
    }
    if let Some(ttl) = config.default_ttl_s {
        if ttl == 0 {
            return Err(Error::config("tracks.default_ttl_s", "must be positive"));
        }
        table.default_ttl_s = ttl;
    }
    for (track, session) in config.max_session_s.into_iter().flatten() {
        if session == 0 || track.is_empty() {
            return Err(Error::config(
                &format!("tracks.max_session_s.{track}"),
                "a session length must be positive, for a named track",
            ));
        }
        table.max_session_s.insert(track, session);
    }
    if let Some(session) = config.default_max_session_s {
        if session == 0 {
            return Err(Error::config(
                "tracks.default_max_session_s",
                "must be positive",
            ));
        }
        table.default_max_session_s = session;
    }
    for (track, bound) in config.max_staleness_s.into_iter().flatten() {
        if track.is_empty() {
            return Err(Error::config(
                "tracks.max_staleness_s",
                "a staleness bound is for a named track",
            ));
        }
        table.max_staleness_s.insert(track, bound);
    }
    if let Some(bound) = config.default_max_staleness_s {
        table.default_max_staleness_s = bound;
    }
    Ok(table)
}

fn checked_leeway(leeway_s: u64) -> Result<u64> {
    if leeway_s > MAX_LEEWAY_S {
        return Err(Error::config(
            "leeway_s",
            format!("must be at most {MAX_LEEWAY_S} seconds"),
        ));
    }
    Ok(leeway_s)
}

fn checked_required(required: Vec<String>) -> Result<Vec<String>> {
    if let Some(i) = required.iter().position(String::is_empty) {
        return Err(Error::config(
            &format!("required_claims[{i}]"),
            "must not be empty",
        ));
    }
    Ok(required)
}

fn checked_typ(typ: Option<String>) -> Result<Option<String>> {
    if typ.as_deref() == Some("") {
        return Err(Error::config("typ", "must not be empty"));
    }
    Ok(typ)
}

impl Policy {
    /// Whether `name` is a claim the issuer sets itself: a registered claim or the track claim
    /// (minting refuses them from callers; a refresh does not copy them).
    pub fn is_issuer_claim(&self, name: &str) -> bool {
        crate::claims::REGISTERED.contains(&name) || name == self.tracks.claim
    }

    /// Validates a config into a policy; every problem is reported here, never at a request.
    pub fn new(config: Config) -> Result<Policy> {
        let algorithms = parse_algorithms(&config.algorithms)?;
        if config.issuers.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::config("issuers", "must list at least one issuer"));
        }
        let entries = config.issuers.unwrap_or_default();
        let own_keys = config.secret.is_some() || config.keys.is_some() || config.remote_keys;
        let keys = KeySet::build(
            KeySources {
                secret: config.secret.as_ref().map(Secret::expose),
                jwks: key_sources(config.keys.as_ref())?,
                // A policy of `issuers` alone has no keys of its own, and needs none.
                remote: config.remote_keys || !entries.is_empty(),
            },
            &algorithms,
        )?;
        let leeway_s = checked_leeway(config.leeway_s.unwrap_or(DEFAULT_LEEWAY_S))?;
        let required = checked_required(
            config
                .required_claims
                .unwrap_or_else(|| DEFAULT_REQUIRED_CLAIMS.map(str::to_owned).to_vec()),
        )?;
        let max_token_bytes = config.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES);
        if !TOKEN_BYTES_RANGE.contains(&max_token_bytes) {
            return Err(Error::config(
                "max_token_bytes",
                format!(
                    "must be between {} and {}",
                    TOKEN_BYTES_RANGE.start(),
                    TOKEN_BYTES_RANGE.end()
                ),
            ));
        }
        let mut policy = Policy {
            algorithms,
            keys,
            claims: ClaimRules {
                leeway_s,
                issuers: config
                    .issuer
                    .map(|i| i.into_checked("issuer"))
                    .transpose()?,
                audiences: config
                    .audience
                    .map(|a| a.into_checked("audience"))
                    .transpose()?,
                audience_claim: "aud".to_owned(),
                required,
            },
            tracks: tracks_from(config.tracks)?,
            max_token_bytes,
            typ: checked_typ(config.typ)?,
            own_keys,
            issuers: Vec::with_capacity(entries.len()),
        };
        if own_keys && !entries.is_empty() && policy.claims.issuers.is_none() {
            return Err(Error::config(
                "issuer",
                "with issuers, the top-level keys need an issuer too, so that every token's iss \
                 selects one set of keys",
            ));
        }
        for (i, entry) in entries.into_iter().enumerate() {
            let at = format!("issuers[{i}]");
            let profile = policy.issuer_profile(entry).map_err(|e| e.within(&at))?;
            let top = policy.claims.issuers.iter().flatten();
            let earlier = policy.issuers.iter().map(|p| &p.issuer);
            if top.chain(earlier).any(|name| *name == profile.issuer) {
                return Err(Error::config(
                    &format!("{at}.issuer"),
                    "this issuer is already configured",
                ));
            }
            policy.issuers.push(profile);
        }
        Ok(policy)
    }

    /// Checks one `issuers` entry; what it leaves out is the top level's (`self`).
    fn issuer_profile(&self, entry: IssuerConfig) -> Result<IssuerProfile> {
        if entry.issuer.is_empty() {
            return Err(Error::config("issuer", "must not be empty"));
        }
        let names = entry.algorithms.as_deref().ok_or_else(|| {
            Error::config(
                "algorithms",
                "required: the algorithms this issuer signs with",
            )
        })?;
        let algorithms = parse_algorithms(names)?;
        if entry.keys.is_none() && !entry.remote() {
            return Err(Error::config("", "needs keys, jwks_url or discovery"));
        }
        let keys = KeySet::build(
            KeySources {
                secret: None,
                jwks: key_sources(entry.keys.as_ref())?,
                remote: entry.remote(),
            },
            &algorithms,
        )?;
        let audiences = entry
            .audience
            .ok_or_else(|| {
                Error::config(
                    "audience",
                    "required: without it any token of this issuer, for any application, passes",
                )
            })?
            .into_checked("audience")?;
        let audience_claim = entry.audience_claim.unwrap_or_else(|| "aud".to_owned());
        if audience_claim.is_empty() {
            return Err(Error::config("audience_claim", "must not be empty"));
        }
        let tracks = match entry.tracks {
            None => self.tracks.clone(),
            Some(t) if t.max_staleness_s.is_some() || t.default_max_staleness_s.is_some() => {
                return Err(Error::config(
                    "tracks.max_staleness_s",
                    "staleness bounds are set at the top level (the revocation view's, per track)",
                ))
            }
            Some(t) => tracks_from(Some(t))?,
        };
        let matches = entry
            .claims
            .unwrap_or_default()
            .into_iter()
            .map(|(path, rule)| ClaimMatch::new(&path, rule, &format!("claims.{path}")))
            .collect::<Result<Vec<_>>>()?;
        Ok(IssuerProfile {
            claims: ClaimRules {
                leeway_s: entry
                    .leeway_s
                    .map_or(Ok(self.claims.leeway_s), checked_leeway)?,
                issuers: Some(vec![entry.issuer.clone()]),
                audiences: Some(audiences),
                audience_claim,
                required: entry
                    .required_claims
                    .map_or_else(|| Ok(self.claims.required.clone()), checked_required)?,
            },
            issuer: entry.issuer,
            algorithms,
            keys,
            tracks,
            typ: match entry.typ {
                Some(typ) => checked_typ(Some(typ))?,
                None => self.typ.clone(),
            },
            matches,
        })
    }

    /// The rules of profile `index`: 0 is the top level, `i` the `issuers` entry `i - 1`.
    pub fn rules(&self, index: usize) -> Rules<'_> {
        match index.checked_sub(1).and_then(|i| self.issuers.get(i)) {
            Some(p) => Rules {
                algorithms: &p.algorithms,
                keys: &p.keys,
                claims: &p.claims,
                tracks: &p.tracks,
                typ: p.typ.as_deref(),
                matches: &p.matches,
            },
            None => Rules {
                algorithms: &self.algorithms,
                keys: &self.keys,
                claims: &self.claims,
                tracks: &self.tracks,
                typ: self.typ.as_deref(),
                matches: &[],
            },
        }
    }

    /// Every profile's rules, the top level's first.
    pub fn all_rules(&self) -> impl Iterator<Item = Rules<'_>> {
        (0..=self.issuers.len()).map(|i| self.rules(i))
    }

    /// The profile a token's unverified `iss` selects: an `issuers` entry naming it exactly,
    /// else the top level when it has keys and accepts that issuer (or checks none, in a
    /// policy without entries); any other `iss` is `bad_issuer`, before any key is fetched.
    pub fn select(&self, iss: Option<&str>) -> Result<usize> {
        if let Some(i) = iss.and_then(|iss| self.issuers.iter().position(|p| p.issuer == iss)) {
            return Ok(i + 1);
        }
        let top_accepts = match (&self.claims.issuers, iss) {
            _ if !self.own_keys => false,
            (None, _) => true,
            (Some(accepted), Some(iss)) => accepted.iter().any(|a| a == iss),
            (Some(_), None) => true, // refused as a missing iss by the claim checks
        };
        if top_accepts {
            return Ok(0);
        }
        Err(Error::new(
            ErrorCode::BadIssuer,
            "issuer (iss) is not one this policy accepts",
        ))
    }

    /// The largest leeway of any profile.
    pub fn longest_leeway_s(&self) -> u64 {
        self.all_rules()
            .map(|r| r.claims.leeway_s)
            .max()
            .unwrap_or_default()
    }

    /// The longest any accepted token may live, leeway included (revocation entries must
    /// outlive every token they cover).
    pub fn longest_lifetime_s(&self) -> u64 {
        self.all_rules()
            .map(|r| r.tracks.longest_lifetime_s(r.claims.leeway_s))
            .max()
            .unwrap_or_default()
    }

    /// Parses and validates config JSON in one step.
    pub fn from_json(json: &str) -> Result<Policy> {
        Policy::new(Config::from_json(json)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deserializer that only records the field names a struct asks for.
    struct FieldNames(Vec<&'static str>);

    impl<'de> serde::Deserializer<'de> for &mut FieldNames {
        type Error = serde::de::value::Error;

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            self.0.extend(fields);
            Err(serde::de::Error::custom("recorded"))
        }

        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _visitor: V,
        ) -> std::result::Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    #[test]
    fn the_field_list_is_serdes() {
        let mut names = FieldNames(Vec::new());
        let _ = Config::deserialize(&mut names);
        assert_eq!(names.0, FIELDS);
    }

    #[test]
    fn a_value_in_the_wrong_field_is_not_echoed() {
        let e = Config::from_json(r#"{"algorithms":["HS256"],"leeway_s":"hunter2-secret"}"#)
            .err()
            .expect("refused");
        assert_eq!(e.path(), Some("leeway_s"));
        assert!(!e.message().contains("hunter2"), "{e}");
    }

    #[test]
    fn unknown_and_repeated_fields_are_errors() {
        let refused = |json: &str| Config::from_json(json).err().expect("refused");
        let e = refused(r#"{"algorithms":["HS256"],"secrt":"x"}"#);
        assert_eq!(e.path(), Some("secrt"));
        let e = refused(r#"{"algorithms":["HS256"],"routes":[]}"#);
        assert_eq!(
            e.path(),
            Some("routes"),
            "the core alone knows no edge section"
        );
        assert!(
            Config::from_json_allowing(r#"{"algorithms":["HS256"],"routes":[]}"#, &["routes"])
                .is_ok()
        );
        let e = refused(r#"{"algorithms":["HS256"],"algorithms":["none"]}"#);
        assert!(e.message().contains("duplicate"), "{e}");
    }
}
