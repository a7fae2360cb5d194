//! Remote JWKS (an identity provider's `jwks_uri`): the pure state machine every host drives.
//!
//! The host fetches (the Worker's fetch, Node's global fetch) and hands the body here; the core
//! parses, keeps the last good set, decides when to refresh and when the set is too old to use.
//! - Fresh for `Cache-Control: max-age`, clamped to `[min_ttl_s, max_ttl_s]` (`default_ttl_s`
//!   without one).
//! - An unknown `kid` may trigger a refetch at most once per `refetch_interval_s`, so rotation
//!   is picked up at once and a flood of random kids cannot become a flood of fetches; failed
//!   fetches are retried no more often either.
//! - After a failed fetch the last good set keeps serving until `max_stale_s` past its
//!   freshness, then validation fails closed with `jwks_unavailable`.
//! - Hosts fetch without following redirects and read at most [`MAX_DOCUMENT_BYTES`], stopping
//!   as soon as more arrived; symmetric (`oct`) and private keys in the set are skipped.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alg::Alg;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::KeySet;

/// Largest JWKS document accepted, in bytes (real ones are a few KiB). Hosts enforce it while
/// reading the response (a larger `Content-Length` fails before reading); the core checks again.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// The `jwks` section of the config (used only with `jwks_url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwksSettings {
    /// Shortest freshness, whatever `max-age` says.
    pub min_ttl_s: u64,
    /// Longest freshness, whatever `max-age` says.
    pub max_ttl_s: u64,
    /// Freshness when the response has no `max-age`.
    pub default_ttl_s: u64,
    /// Least time between two refetches (unknown kid, or after a failure).
    pub refetch_interval_s: u64,
    /// How long past its freshness the last good set may still be used when fetches fail.
    pub max_stale_s: u64,
    /// A fetch slower than this fails.
    pub timeout_ms: u64,
    /// Allow an `http://` URL (development only; production JWKS must come over https).
    pub allow_http: bool,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            min_ttl_s: 60,
            max_ttl_s: 86_400,
            default_ttl_s: 600,
            refetch_interval_s: 60,
            max_stale_s: 6 * 3600,
            timeout_ms: 5_000,
            allow_http: false,
        }
    }
}

/// Checks a remote URL of the config (`field`): https, or http with `allow_http`.
pub fn check_url(field: &str, url: &str, allow_http: bool) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://").filter(|_| allow_http));
    let host = rest
        .and_then(|r| r.split(['/', '?', '#']).next())
        .unwrap_or("");
    if host.is_empty() || url.contains(char::is_whitespace) {
        let why = if url.starts_with("http://") {
            "must be an https URL (set jwks.allow_http only for local development)"
        } else {
            "must be an https URL"
        };
        return Err(Error::config(field, why));
    }
    Ok(())
}

/// Checks `jwks_url` and the `jwks` settings at load.
pub fn check_settings(url: &str, settings: &JwksSettings) -> Result<()> {
    check_url("jwks_url", url, settings.allow_http)?;
    settings.check()
}

impl JwksSettings {
    /// Checks the settings at load (error paths `jwks.*`).
    pub fn check(&self) -> Result<()> {
        let settings = self;
        if settings.min_ttl_s > settings.max_ttl_s {
            return Err(Error::config(
                "jwks.min_ttl_s",
                "must not exceed jwks.max_ttl_s",
            ));
        }
        if settings.refetch_interval_s == 0 {
            return Err(Error::config(
                "jwks.refetch_interval_s",
                "must be at least 1",
            ));
        }
        if !(1..=30_000).contains(&settings.timeout_ms) {
            return Err(Error::config(
                "jwks.timeout_ms",
                "must be between 1 and 30000",
            ));
        }
        Ok(())
    }
}

/// Where a profile's remote keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A JWKS URL (`jwks_url`).
    JwksUrl(String),
    /// An OpenID Connect discovery base (`discovery`): its configuration document names the
    /// JWKS URL and the algorithms.
    Discovery(String),
}

/// A checked remote key source: what to fetch, the issuer a discovery document must name,
/// and the caching settings.
#[derive(Debug, Clone)]
pub struct RemoteSource {
    /// JWKS URL or discovery base.
    pub kind: SourceKind,
    /// The configured issuer (an `issuers` entry's); a discovery document must name it exactly.
    pub issuer: Option<String>,
    /// Caching and refetch settings.
    pub settings: JwksSettings,
}

impl RemoteSource {
    /// Checks the URL and the settings (error paths as in the config: `jwks_url`, `discovery`,
    /// `jwks.*`).
    pub fn new(kind: SourceKind, issuer: Option<String>, settings: JwksSettings) -> Result<Self> {
        match &kind {
            SourceKind::JwksUrl(url) => check_settings(url, &settings)?,
            SourceKind::Discovery(base) => {
                check_url("discovery", base, settings.allow_http)?;
                settings.check()?;
                if issuer.as_deref().is_none_or(str::is_empty) {
                    return Err(Error::config("issuer", "discovery needs the issuer"));
                }
            }
        }
        Ok(Self {
            kind,
            issuer,
            settings,
        })
    }

    /// The configured URL (the JWKS URL, or the discovery base): names the source in logs and
    /// in the key the copy is shared under.
    pub fn url(&self) -> &str {
        match &self.kind {
            SourceKind::JwksUrl(url) | SourceKind::Discovery(url) => url,
        }
    }
}

/// The configuration document's URL of a discovery base: `/.well-known/openid-configuration`
/// appended (OpenID Connect Discovery §4), unless the base already ends with it.
pub fn discovery_document_url(base: &str) -> String {
    const WELL_KNOWN: &str = "/.well-known/openid-configuration";
    if base.ends_with(WELL_KNOWN) {
        return base.to_owned();
    }
    format!("{}{WELL_KNOWN}", base.trim_end_matches('/'))
}

/// What a discovery document says that the gateway uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// Where the signing keys are.
    pub jwks_uri: String,
    /// The advertised signing algorithms within the allow-list (all of it when the document
    /// advertises none).
    pub algorithms: Vec<Alg>,
}

/// Reads a discovery document: its `issuer` must equal `issuer` exactly (OpenID Connect
/// Discovery §4.3: otherwise the document may be another tenant's, or an attacker's), its
/// `jwks_uri` must be https (http only with `allow_http`), and the algorithms it advertises
/// (`id_token_signing_alg_values_supported`) are intersected with `allowed`.
pub fn parse_discovery(
    body: &str,
    issuer: &str,
    allowed: &[Alg],
    allow_http: bool,
) -> std::result::Result<Discovered, String> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err("discovery document too large".into());
    }
    let document: Value =
        serde_json::from_str(body).map_err(|_| "discovery document is not JSON".to_owned())?;
    let named = document.get("issuer").and_then(Value::as_str);
    if named != Some(issuer) {
        let named: String = named.unwrap_or("").chars().take(200).collect();
        return Err(format!(
            "the discovery document's issuer {named:?} is not the configured {issuer:?} \
             (OpenID Connect Discovery 4.3)"
        ));
    }
    let jwks_uri = document
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or("the discovery document has no jwks_uri")?;
    check_url("jwks_uri", jwks_uri, allow_http).map_err(|e| e.message().to_owned())?;
    let algorithms = match document.get("id_token_signing_alg_values_supported") {
        Some(Value::Array(names)) => allowed
            .iter()
            .copied()
            .filter(|alg| names.iter().any(|n| n.as_str() == Some(alg.name())))
            .collect(),
        _ => allowed.to_vec(),
    };
    if algorithms.is_empty() {
        return Err("the discovery document advertises none of the allowed algorithms".into());
    }
    Ok(Discovered {
        jwks_uri: jwks_uri.to_owned(),
        algorithms,
    })
}

/// `max-age` from a `Cache-Control` header, if any (`no-store`/`no-cache` count as 0).
pub fn max_age(cache_control: Option<&str>) -> Option<u64> {
    let header = cache_control?;
    header.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        lower
            .strip_prefix("max-age=")?
            .trim_matches('"')
            .parse()
            .ok()
    })
}

/// A fetched set in the form hosts share through KV (so a fresh isolate need not fetch).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedJwks {
    /// The JWKS document as fetched.
    pub body: String,
    /// When it was fetched.
    pub fetched_at: u64,
    /// Until when it is fresh.
    pub fresh_until: u64,
    /// With discovery: the algorithms the provider advertises within the allow-list (names);
    /// keys are taken for these only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<String>>,
}

/// The remote key set and when to refresh it.
#[derive(Debug)]
pub struct RemoteJwks {
    settings: JwksSettings,
    algorithms: Vec<Alg>,
    current: Option<(KeySet, CachedJwks)>,
    last_attempt: Option<u64>,
    last_unknown_kid_refetch: Option<u64>,
}

impl RemoteJwks {
    /// An empty state: the first request fetches (or reads the shared copy).
    pub fn new(settings: JwksSettings, algorithms: Vec<Alg>) -> Self {
        Self {
            settings,
            algorithms,
            current: None,
            last_attempt: None,
            last_unknown_kid_refetch: None,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &JwksSettings {
        &self.settings
    }

    /// The algorithms keys are taken for (the profile's allow-list).
    pub fn algorithms(&self) -> &[Alg] {
        &self.algorithms
    }

    /// When the held set was fetched.
    pub fn fetched_at(&self) -> Option<u64> {
        self.current.as_ref().map(|(_, cached)| cached.fetched_at)
    }

    /// Whether a set is held at all.
    pub fn has_keys(&self) -> bool {
        self.current.is_some()
    }

    /// Whether the host should refresh now: nothing held, or the set is past its freshness,
    /// and no attempt was made within the refetch interval.
    pub fn needs_refresh(&self, now: u64) -> bool {
        self.needs_refresh_ignoring_attempts(now) && self.interval_elapsed(self.last_attempt, now)
    }

    /// Whether the held set is missing or past its freshness, whatever the retry interval says.
    pub fn needs_refresh_ignoring_attempts(&self, now: u64) -> bool {
        self.current
            .as_ref()
            .is_none_or(|(_, cached)| now >= cached.fresh_until)
    }

    fn interval_elapsed(&self, last: Option<u64>, now: u64) -> bool {
        last.is_none_or(|t| now >= t.saturating_add(self.settings.refetch_interval_s))
    }

    /// Called when a token names an unknown kid: whether a refetch is allowed now (at most one
    /// per interval). Records the decision.
    pub fn may_refetch_for_unknown_kid(&mut self, now: u64) -> bool {
        let allowed = self.interval_elapsed(self.last_unknown_kid_refetch, now)
            && self.interval_elapsed(self.last_attempt, now);
        if allowed {
            self.last_unknown_kid_refetch = Some(now);
        }
        allowed
    }

    /// Records that a fetch is starting (for the retry interval).
    pub fn fetch_started(&mut self, now: u64) {
        self.last_attempt = Some(now);
    }

    /// Takes a fetched document. Keys that cannot serve an allowed algorithm, are not for
    /// signatures, or are of an unsupported type are skipped; a set with no usable key is an
    /// error and the last good set stays in force.
    /// `advertised`: with discovery, the algorithms the provider advertises (within the
    /// allow-list).
    pub fn accept(
        &mut self,
        body: &str,
        cache_control: Option<&str>,
        now: u64,
        advertised: Option<&[Alg]>,
    ) -> Result<&CachedJwks> {
        let ttl = max_age(cache_control)
            .unwrap_or(self.settings.default_ttl_s)
            .clamp(self.settings.min_ttl_s, self.settings.max_ttl_s);
        let cached = CachedJwks {
            body: body.to_owned(),
            fetched_at: now,
            fresh_until: now.saturating_add(ttl),
            algorithms: advertised.map(|algs| algs.iter().map(|a| a.name().to_owned()).collect()),
        };
        self.install(cached)
    }

    /// Takes a copy shared by another isolate (from KV) if it is newer than what is held.
    pub fn accept_shared(&mut self, cached: CachedJwks) -> Result<()> {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, c)| c.fetched_at >= cached.fetched_at)
        {
            return Ok(());
        }
        self.install(cached).map(|_| ())
    }

    fn install(&mut self, cached: CachedJwks) -> Result<&CachedJwks> {
        let algorithms: Vec<Alg> = match &cached.algorithms {
            Some(names) => self
                .algorithms
                .iter()
                .copied()
                .filter(|alg| names.iter().any(|n| n == alg.name()))
                .collect(),
            None => self.algorithms.clone(),
        };
        let keys = parse_remote(&cached.body, &algorithms)?;
        Ok(&self.current.insert((keys, cached)).1)
    }

    /// The keys to verify with at `now`: the last good set while it is fresh or within the
    /// staleness bound, else `jwks_unavailable`.
    pub fn keys(&self, now: u64) -> Result<&KeySet> {
        match &self.current {
            Some((keys, cached))
                if now <= cached.fresh_until.saturating_add(self.settings.max_stale_s) =>
            {
                Ok(keys)
            }
            Some(_) => Err(Error::new(
                ErrorCode::JwksUnavailable,
                "the remote JWKS could not be refreshed and the last good copy is too old",
            )),
            None => Err(Error::new(
                ErrorCode::JwksUnavailable,
                "the remote JWKS could not be fetched",
            )),
        }
    }

    /// What to store in KV for other isolates, and for how long (freshness plus staleness).
    pub fn shared_copy(&self, now: u64) -> Option<(String, u64)> {
        let (_, cached) = self.current.as_ref()?;
        let lives = cached
            .fresh_until
            .saturating_add(self.settings.max_stale_s)
            .saturating_sub(now);
        Some((serde_json::to_string(cached).ok()?, lives))
    }
}

fn unavailable(why: &str) -> Error {
    Error::new(
        ErrorCode::JwksUnavailable,
        format!("remote JWKS unusable: {why}"),
    )
}

/// Parses a fetched JWKS leniently (an identity provider's set holds keys for other uses).
fn parse_remote(body: &str, algorithms: &[Alg]) -> Result<KeySet> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(unavailable("document too large"));
    }
    let document: Value = serde_json::from_str(body).map_err(|_| unavailable("not JSON"))?;
    let Some(Value::Array(keys)) = document.get("keys") else {
        return Err(unavailable("no \"keys\" array"));
    };
    KeySet::build_remote(keys, algorithms)
        .ok_or_else(|| unavailable("no key serves an allowed algorithm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age(Some("public, max-age=300")), Some(300));
        assert_eq!(max_age(Some("Max-Age=\"20\", must-revalidate")), Some(20));
        assert_eq!(max_age(Some("no-store")), Some(0));
        assert_eq!(max_age(Some("public")), None);
        assert_eq!(max_age(None), None);
    }

    #[test]
    fn urls_must_be_https_outside_development() {
        let mut settings = JwksSettings::default();
        assert!(check_settings("https://id.example.com/.well-known/jwks.json", &settings).is_ok());
        assert!(check_settings("http://127.0.0.1:8080/jwks", &settings).is_err());
        assert!(check_settings("https:///jwks", &settings).is_err());
        assert!(check_settings("ftp://x/jwks", &settings).is_err());
        settings.allow_http = true;
        assert!(check_settings("http://127.0.0.1:8080/jwks", &settings).is_ok());
    }

    #[test]
    fn discovery_names_its_issuer_exactly_and_its_algorithms_narrow_the_allow_list() {
        assert_eq!(
            discovery_document_url("https://id.example/tenant/"),
            "https://id.example/tenant/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_document_url("https://id.example/.well-known/openid-configuration"),
            "https://id.example/.well-known/openid-configuration"
        );
        let allowed = [Alg::RS256, Alg::ES256];
        let doc = |iss: &str, uri: &str, algs: Value| {
            serde_json::json!({"issuer": iss, "jwks_uri": uri,
                "id_token_signing_alg_values_supported": algs})
            .to_string()
        };
        let iss = "https://id.example/tenant/";
        let good = doc(
            iss,
            "https://id.example/keys",
            serde_json::json!(["RS256", "HS256"]),
        );
        let found = parse_discovery(&good, iss, &allowed, false).unwrap();
        assert_eq!(found.jwks_uri, "https://id.example/keys");
        assert_eq!(found.algorithms, vec![Alg::RS256]);
        // Another tenant's document, or the issuer without its trailing slash: refused.
        for other in ["https://id.example/other/", "https://id.example/tenant"] {
            let e = parse_discovery(
                &doc(other, "https://id.example/keys", Value::Null),
                iss,
                &allowed,
                false,
            )
            .unwrap_err();
            assert!(e.contains("is not the configured"), "{e}");
        }
        let e = parse_discovery(
            &doc(iss, "http://id.example/keys", Value::Null),
            iss,
            &allowed,
            false,
        )
        .unwrap_err();
        assert!(e.contains("https"), "{e}");
        let none = doc(iss, "https://id.example/keys", serde_json::json!(["PS512"]));
        assert!(parse_discovery(&none, iss, &allowed, false).is_err());
        assert!(parse_discovery("[]", iss, &allowed, false).is_err());
    }

    /// A 32-byte HMAC secret as a JWK `k`, enough for HS256.
    const OCT_K: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY";

    fn es256_public_jwk(kid: &str) -> Value {
        let key = crate::keygen::generate(Alg::ES256, Some(kid), &mut rand_core::OsRng)
            .expect("ES256 key");
        key.public_jwks.expect("a public JWKS")["keys"][0].clone()
    }

    #[test]
    fn oct_keys_in_a_remote_set_are_skipped() {
        let mut remote = RemoteJwks::new(JwksSettings::default(), vec![Alg::HS256, Alg::ES256]);
        let oct = serde_json::json!({"kty": "oct", "k": OCT_K, "kid": "sym", "alg": "HS256", "use": "sig"});
        let only_oct = serde_json::json!({"keys": [oct]}).to_string();
        let err = remote
            .accept(&only_oct, None, 1_000, None)
            .expect_err("a set of only oct keys has no usable key");
        assert_eq!(err.code(), ErrorCode::JwksUnavailable);

        let mixed = serde_json::json!({"keys": [oct, es256_public_jwk("k1")]}).to_string();
        remote
            .accept(&mixed, None, 1_000, None)
            .expect("the EC key is usable");
        let keys = remote.keys(1_000).expect("a set is held");
        assert_eq!(keys.keys().len(), 1, "only the EC key was taken");
        assert_eq!(keys.keys()[0].kid.as_deref(), Some("k1"));
        let named = keys
            .candidates(Alg::HS256, Some("sym"))
            .expect_err("no key named sym");
        assert_eq!(named.code(), ErrorCode::UnknownKid);
        let kidless = keys
            .candidates(Alg::HS256, None)
            .expect_err("no key serves HS256");
        assert_eq!(kidless.code(), ErrorCode::AlgNotAllowed);
    }

    #[test]
    fn an_oct_key_shared_through_kv_is_skipped_too() {
        let mut remote = RemoteJwks::new(JwksSettings::default(), vec![Alg::HS256]);
        let body = serde_json::json!({"keys": [{"kty": "oct", "k": OCT_K}]}).to_string();
        let shared = CachedJwks {
            body,
            fetched_at: 1_000,
            fresh_until: 2_000,
            algorithms: None,
        };
        assert!(remote.accept_shared(shared).is_err());
        assert!(!remote.has_keys());
    }

    #[test]
    fn a_document_over_the_size_limit_is_refused() {
        let mut remote = RemoteJwks::new(JwksSettings::default(), vec![Alg::ES256]);
        let key = es256_public_jwk("k1");
        let small = serde_json::json!({"keys": [key]}).to_string();
        remote
            .accept(&small, None, 1_000, None)
            .expect("a small set");
        let padding = " ".repeat(MAX_DOCUMENT_BYTES + 1 - small.len());
        let large = format!("{small}{padding}");
        assert_eq!(large.len(), MAX_DOCUMENT_BYTES + 1);
        let err = remote
            .accept(&large, None, 2_000, None)
            .expect_err("one byte too many");
        assert_eq!(err.code(), ErrorCode::JwksUnavailable);
        assert_eq!(remote.fetched_at(), Some(1_000), "the last good set stays");
        let exact = format!("{small}{}", &padding[1..]);
        assert!(
            remote.accept(&exact, None, 3_000, None).is_ok(),
            "exactly the limit is accepted"
        );
    }
}
