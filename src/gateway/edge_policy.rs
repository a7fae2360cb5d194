//! The edge policy: what a gateway does around the token check (identity headers, routes, the
//! revocation cache, the remote JWKS). It shares one config document with the token policy
//! ([`crate::config`]): [`split`] takes the edge's sections out and leaves the rest to the core,
//! so each layer validates only its own fields, and both report errors with the field's path.

use serde::Deserialize;

use super::claim_rules::{claim_headers, role_paths, ClaimPath};
use super::jwks::{check_url, JwksSettings, RemoteSource, SourceKind};
use super::routes::{DefaultRouteConfig, RouteConfig, RouteTable};
use super::sender::SenderConstraints;
use super::GatewaySettings;
use crate::config::{parse_with_paths, Config, Policy};
use crate::error::{Error, Result};
use crate::policy::Validator;

/// The top-level fields of the config document that belong to the edge policy.
pub const EDGE_FIELDS: [&str; 6] = [
    "gateway",
    "revocation",
    "routes",
    "default_route",
    "jwks_url",
    "jwks",
];

/// The edge's sections as written (the token policy's fields beside them are the core's to
/// read; unknown top-level fields are refused by [`Config::from_json_allowing`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EdgeConfig {
    /// HTTP gateway behaviour (Worker, npm middleware).
    #[serde(default)]
    pub gateway: GatewaySettings,
    /// Revocation cache and store settings (Worker, npm package).
    #[serde(default)]
    pub revocation: RevocationSettings,
    /// Ordered route policies; first match wins.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// What requests matching no route get (default: a token is required).
    #[serde(default)]
    pub default_route: DefaultRouteConfig,
    /// An identity provider's JWKS URL (https), fetched by the host.
    pub jwks_url: Option<String>,
    /// Remote JWKS caching and refetch settings.
    #[serde(default)]
    pub jwks: JwksSettings,
    /// The remote key sources of the token policy's `issuers` entries (the core reads, and
    /// refuses unknown names in, the rest of each entry).
    #[serde(default)]
    pub issuers: Vec<IssuerSources>,
}

/// The gateway's fields of one `issuers` entry: where its keys come from.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuerSources {
    /// The entry's `issuer` (what a discovery document must name).
    #[serde(default)]
    pub issuer: String,
    /// Its JWKS URL.
    pub jwks_url: Option<String>,
    /// Its OpenID Connect discovery base.
    pub discovery: Option<String>,
    /// Its remote JWKS settings (default: the top-level `jwks` section).
    pub jwks: Option<JwksSettings>,
}

/// The `revocation` section: how hosts cache and read the revocation store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RevocationSettings {
    /// Most entries in the per-isolate cache.
    pub cache_size: usize,
    /// Seconds an answer (positive or negative) is cached in the isolate.
    pub cache_ttl_s: u64,
    /// Workers KV `cacheTtl` for reads (KV's minimum is 60); 0 leaves KV's default.
    pub kv_cache_ttl_s: u64,
    /// A store read slower than this fails closed (`revocation_unavailable`).
    pub timeout_ms: u64,
    /// With a revocation authority: an isolate reads the published snapshot at most this often.
    pub snapshot_ttl_s: u64,
    /// With a revocation authority: it republishes at least this often, changed or not, so
    /// that a snapshot's age measures how far behind an isolate is.
    pub publish_interval_s: u64,
}

impl Default for RevocationSettings {
    fn default() -> Self {
        Self {
            cache_size: 10_000,
            cache_ttl_s: 30,
            kv_cache_ttl_s: 60,
            timeout_ms: 1_000,
            snapshot_ttl_s: 20,
            publish_interval_s: 30,
        }
    }
}

impl RevocationSettings {
    fn check(&self) -> Result<()> {
        if !(1..=1_000_000).contains(&self.cache_size) {
            return Err(Error::config(
                "revocation.cache_size",
                "must be between 1 and 1000000",
            ));
        }
        if self.cache_ttl_s > 300 {
            return Err(Error::config(
                "revocation.cache_ttl_s",
                "must be at most 300: it bounds how long a revocation takes to reach every isolate",
            ));
        }
        if self.kv_cache_ttl_s != 0 && self.kv_cache_ttl_s < 60 {
            return Err(Error::config(
                "revocation.kv_cache_ttl_s",
                "Workers KV needs 0 or at least 60",
            ));
        }
        if !(1..=30_000).contains(&self.timeout_ms) {
            return Err(Error::config(
                "revocation.timeout_ms",
                "must be between 1 and 30000",
            ));
        }
        if !(1..=300).contains(&self.snapshot_ttl_s) {
            return Err(Error::config(
                "revocation.snapshot_ttl_s",
                "must be between 1 and 300",
            ));
        }
        if !(1..=3_600).contains(&self.publish_interval_s) {
            return Err(Error::config(
                "revocation.publish_interval_s",
                "must be between 1 and 3600",
            ));
        }
        Ok(())
    }

    /// The oldest a snapshot can be in an isolate when publishing and reading work: the
    /// authority republishes every `publish_interval_s` and an isolate reads every
    /// `snapshot_ttl_s` (KV's own propagation comes on top; see the README).
    pub fn normal_age_s(&self) -> u64 {
        self.publish_interval_s.saturating_add(self.snapshot_ttl_s)
    }

    /// A track's staleness bound must leave room for the normal age, or its tokens would be
    /// refused between two publications.
    fn check_bounds(&self, tracks: &crate::track::TrackTable) -> Result<()> {
        for (track, bound) in tracks.staleness_bounds() {
            if bound != 0 && bound < self.normal_age_s() {
                let path = track.map_or("tracks.default_max_staleness_s".to_owned(), |t| {
                    format!("tracks.max_staleness_s.{t}")
                });
                return Err(Error::config(
                    &path,
                    format!(
                        "must be 0 (exact) or at least revocation.publish_interval_s + \
                         revocation.snapshot_ttl_s = {} s",
                        self.normal_age_s()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl IssuerSources {
    /// The entry's checked remote source, if it has one.
    fn remote_source(&self, defaults: &JwksSettings) -> Result<Option<RemoteSource>> {
        let settings = self.jwks.clone().unwrap_or_else(|| defaults.clone());
        let kind = match (&self.jwks_url, &self.discovery) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "discovery",
                    "jwks_url and discovery are alternatives: give one",
                ))
            }
            (Some(url), None) => SourceKind::JwksUrl(url.clone()),
            (None, Some(base)) => {
                check_url("discovery", base, settings.allow_http)?;
                SourceKind::Discovery(base.clone())
            }
            (None, None) => return Ok(None),
        };
        RemoteSource::new(kind, Some(self.issuer.clone()), settings).map(Some)
    }
}

/// A validated edge policy.
#[derive(Debug)]
pub struct EdgePolicy {
    /// HTTP gateway behaviour.
    pub gateway: GatewaySettings,
    /// Revocation cache and store settings.
    pub revocation: RevocationSettings,
    /// Route policies.
    pub routes: RouteTable,
    /// Where each profile's remote keys come from (index as [`crate::config::Policy::rules`]:
    /// 0 is the top level's `jwks_url`, `i` the `issuers` entry `i - 1`), when it has any.
    pub remote_sources: Vec<Option<RemoteSource>>,
    /// Where roles are (`gateway.roles_claim`), checked.
    pub role_paths: Vec<ClaimPath>,
    /// Claims forwarded as headers (`gateway.claim_headers`), checked: name → path.
    pub claim_headers: Vec<(String, ClaimPath)>,
    /// DPoP and certificate-bound tokens (`gateway.dpop`): proof checks, the replay memory of
    /// this isolate (or validator), nonces once the host set their secret.
    pub sender: SenderConstraints,
}

impl EdgePolicy {
    /// Validates the edge's sections; every problem is reported here, never at a request.
    pub fn new(config: EdgeConfig) -> Result<EdgePolicy> {
        let mut remote_sources = Vec::with_capacity(config.issuers.len() + 1);
        remote_sources.push(match &config.jwks_url {
            Some(url) => Some(RemoteSource::new(
                SourceKind::JwksUrl(url.clone()),
                None,
                config.jwks.clone(),
            )?),
            None => None,
        });
        for (i, entry) in config.issuers.iter().enumerate() {
            let source = entry
                .remote_source(&config.jwks)
                .map_err(|e| e.within(&format!("issuers[{i}]")))?;
            remote_sources.push(source);
        }
        config.revocation.check()?;
        if config.gateway.cookie.as_deref() == Some("") {
            return Err(Error::config("gateway.cookie", "must not be empty"));
        }
        if !(1..=1_000_000).contains(&config.gateway.metrics_sample_every) {
            return Err(Error::config(
                "gateway.metrics_sample_every",
                "must be between 1 and 1000000",
            ));
        }
        if config.gateway.token_cache_size > 1_000_000 {
            return Err(Error::config(
                "gateway.token_cache_size",
                "must be at most 1000000",
            ));
        }
        let routes = RouteTable::new(
            config.routes,
            config.default_route,
            config.gateway.case_insensitive_routes,
        )?;
        let role_paths = role_paths(&config.gateway.roles_claim)?;
        if let Some(i) = routes.with_roles().next().filter(|_| role_paths.is_empty()) {
            return Err(Error::config(
                &format!("routes[{i}].roles"),
                "needs gateway.roles_claim: where the tokens' roles are",
            ));
        }
        let claim_headers = claim_headers(&config.gateway.claim_headers)?;
        let sender = SenderConstraints::new(&config.gateway.dpop)?;
        Ok(EdgePolicy {
            sender,
            gateway: config.gateway,
            revocation: config.revocation,
            routes,
            remote_sources,
            role_paths,
            claim_headers,
        })
    }
}

/// Splits one config document into the token policy's config and the edge's sections, each
/// parsed with its field paths. Hosts may adjust the token config (a secret from the
/// environment, extra keys) before building the policies with [`build`].
pub fn split(json: &str) -> Result<(Config, EdgeConfig)> {
    let mut config = Config::from_json_allowing(json, &EDGE_FIELDS)?;
    let edge: EdgeConfig = parse_with_paths(&mut serde_json::Deserializer::from_str(json))?;
    config.remote_keys = edge.jwks_url.is_some();
    Ok((config, edge))
}

/// Both policies from their configs (token policy first: its errors come first, as when the
/// document was one schema).
pub fn build(config: Config, edge: EdgeConfig) -> Result<(Policy, EdgePolicy)> {
    let policy = Policy::new(config)?;
    let edge = EdgePolicy::new(edge)?;
    edge.revocation.check_bounds(&policy.tracks)?;
    Ok((policy, edge))
}

/// A validator and the edge policy from one config document.
pub fn load(json: &str) -> Result<(Validator, EdgePolicy)> {
    let (config, edge) = split(json)?;
    let (policy, edge) = build(config, edge)?;
    Ok((Validator::new(policy), edge))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_two_policies_each_error_with_its_path() {
        let (validator, edge) = load(
            r#"{"algorithms":["HS256"],"secret":"edge-policy-tests-secret-0123456789",
                "routes":[{"path":"/ops/*","scopes":["x"]}],"gateway":{"cookie":"sid"}}"#,
        )
        .unwrap();
        assert_eq!(validator.policy().algorithms.len(), 1);
        assert_eq!(edge.gateway.cookie.as_deref(), Some("sid"));
        let e = load(r#"{"algorithms":["HS256"],"secret":"edge-policy-tests-secret-0123456789","routes":[{"path":"x"}]}"#)
            .unwrap_err();
        assert_eq!(e.path(), Some("routes[0].path"));
        let e = load(r#"{"algorithms":["HS256"],"gateway":{"cokie":"x"}}"#).unwrap_err();
        assert_eq!(e.path(), Some("gateway.cokie"), "{e}");
        assert!(e.message().contains("cokie"), "{e}");
        let e = load(r#"{"algorithms":["HS256"],"secrt":"x"}"#).unwrap_err();
        assert!(e.message().contains("secrt"), "{e}");
        let e = load(r#"{"algorithms":["HS256"],"secret":"short"}"#).unwrap_err();
        assert_eq!(e.path(), Some("secret"));
        assert_eq!(e.clone().within("POLICY").path(), Some("POLICY.secret"));
        assert!(e.within("POLICY").message().starts_with("POLICY: secret: "));
    }

    #[test]
    fn a_remote_jwks_lets_a_policy_have_no_inline_keys() {
        assert!(load(r#"{"algorithms":["ES256"],"jwks_url":"https://id.example/jwks"}"#).is_ok());
        assert!(load(r#"{"algorithms":["ES256"]}"#).is_err());
    }
}
