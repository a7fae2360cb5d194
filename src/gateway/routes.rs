//! Per-route policy: which paths need a token, which scopes and tracks may use them.
//!
//! Pure and shared by every gateway host (the Worker, the npm middleware). Routes are tried in
//! order and the first match wins; unmatched requests get `default_route`.
//!
//! Path patterns are `/`-separated segments: a literal, `:name` or `*` for exactly one segment,
//! and a final `*` for any remainder (zero or more segments). Requests are matched on their
//! canonical path ([`crate::gateway::path`]), and literals are written in the same canonical
//! form at load, so `/%6Fps` meets the `/ops` route. Literals are case-sensitive unless the
//! route (or `gateway.case_insensitive_routes`) says otherwise, or the host routes
//! case-insensitively itself (Express by default).

use serde::Deserialize;
use serde_json::Value;

use super::claim_rules::{check_matches, check_roles, ClaimMatch, ClaimPath, MatchConfig};
use crate::claims::check_audience;
use crate::dpop::{BindingRequirement, DpopMode, ReplayScope};
use crate::error::{Error, ErrorCode, Result};
use crate::gateway::granted_scopes;
use crate::gateway::path::canonical_segment;
use crate::policy::Verified;

/// What a route asks of a request's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A valid token is required (the default).
    #[default]
    Required,
    /// A valid token is verified and forwarded; no token passes as anonymous; an invalid token
    /// is still refused.
    Optional,
    /// No check at all; client-sent identity headers are still stripped.
    Disabled,
}

/// A route as written in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Path pattern, e.g. `/ops/*`, `/users/:id`, `/health`.
    pub path: String,
    /// HTTP methods (any when absent).
    pub methods: Option<Vec<String>>,
    /// `required` (default), `optional` or `disabled`.
    #[serde(default)]
    pub mode: Mode,
    /// Scopes that must all be granted.
    #[serde(default)]
    pub scopes: Vec<Value>,
    /// Tracks allowed to use the route (any when absent).
    pub tracks: Option<Vec<Value>>,
    /// Audience(s) the token must also carry on this route.
    pub audience: Option<crate::config::OneOrMany>,
    /// Match literals ignoring ASCII case (default: `gateway.case_insensitive_routes`).
    pub case_insensitive: Option<bool>,
    /// Roles that must all be held (from `gateway.roles_claim`).
    #[serde(default)]
    pub roles: Vec<Value>,
    /// Rules on claims, all required: claim path → `{"equals"|"one_of"|"prefix": …}`.
    #[serde(default)]
    pub claims: std::collections::BTreeMap<String, MatchConfig>,
    /// `required`, `optional` or `off` (default): DPoP proofs on this route (RFC 9449).
    #[serde(default)]
    pub dpop: DpopMode,
    /// `dpop`, `mtls` or `any`: the sender constraint the route's tokens must carry.
    pub binding: Option<BindingRequirement>,
    /// `isolate` or `global`: how far a proof's single use is enforced on this route
    /// (default: `gateway.dpop.replay`).
    pub dpop_replay: Option<ReplayScope>,
}

/// The `default_route` section: what unmatched requests get.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultRouteConfig {
    /// Mode for unmatched requests (default `required`).
    #[serde(default)]
    pub mode: Mode,
    /// DPoP for unmatched requests (default `off`).
    #[serde(default)]
    pub dpop: DpopMode,
    /// The sender constraint unmatched requests' tokens must carry (default none).
    pub binding: Option<BindingRequirement>,
    /// How far a proof's single use is enforced for them (default: `gateway.dpop.replay`).
    pub dpop_replay: Option<ReplayScope>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

/// A checked route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Index in `routes` (`None` for the default route), for logs and errors.
    pub index: Option<usize>,
    pattern: Vec<Segment>,
    methods: Option<Vec<String>>,
    case_insensitive: bool,
    /// The route's mode.
    pub mode: Mode,
    /// Scopes that must all be granted.
    pub scopes: Vec<String>,
    tracks: Option<Vec<String>>,
    audiences: Option<Vec<String>>,
    /// Roles that must all be held.
    pub roles: Vec<String>,
    claim_rules: Vec<ClaimMatch>,
    /// DPoP on this route.
    pub dpop: DpopMode,
    /// The sender constraint its tokens must carry.
    pub binding: BindingRequirement,
    /// How far a proof's single use is enforced here (`None`: `gateway.dpop.replay`).
    pub dpop_replay: Option<ReplayScope>,
}

/// The ordered routes of a policy.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
    default: Route,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn parse_pattern(pattern: &str, path: &str) -> Result<Vec<Segment>> {
    if !pattern.starts_with('/') {
        return Err(Error::config(path, "a route path must start with /"));
    }
    let parts: Vec<&str> = segments(pattern).collect();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| match *part {
            "*" if i + 1 == parts.len() => Ok(Segment::Rest),
            "*" => Ok(Segment::One),
            p if p.starts_with(':') && p.len() > 1 => Ok(Segment::One),
            p if p.contains('*') || p.contains(':') => Err(Error::config(
                path,
                format!("segment {p:?}: use a whole-segment `*` or `:name`"),
            )),
            "." | ".." => Err(Error::config(path, "dot segments never reach a route")),
            p => match canonical_segment(p) {
                Ok(literal) => Ok(Segment::Literal(literal)),
                Err(e) => Err(Error::config(path, e.message())),
            },
        })
        .collect()
}

fn same_literal(a: &str, b: &str, fold_case: bool) -> bool {
    if fold_case {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn matches(pattern: &[Segment], path: &str, fold_case: bool) -> bool {
    let mut parts = segments(path);
    for segment in pattern {
        match segment {
            Segment::Rest => return true,
            Segment::One => {
                if parts.next().is_none() {
                    return false;
                }
            }
            Segment::Literal(literal) => {
                if !parts
                    .next()
                    .is_some_and(|part| same_literal(part, literal, fold_case))
                {
                    return false;
                }
            }
        }
    }
    parts.next().is_none()
}

/// Whether every path `narrow` matches is also matched by `wide` (which folds case or not).
fn covers(wide: &[Segment], narrow: &[Segment], fold_case: bool) -> bool {
    for (i, w) in wide.iter().enumerate() {
        match (w, narrow.get(i)) {
            (Segment::Rest, _) => return true,
            (_, None | Some(Segment::Rest)) => return false,
            (Segment::One, Some(_)) => {}
            (Segment::Literal(a), Some(Segment::Literal(b))) if same_literal(a, b, fold_case) => {}
            (Segment::Literal(_), Some(_)) => return false,
        }
    }
    narrow.len() == wide.len()
}

fn strings(values: &[Value], path: &str, what: &str) -> Result<Vec<String>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => Ok(s.clone()),
            // Tracks may be written as numbers, like the claim.
            Value::Number(n) if what == "tracks" && n.is_u64() => Ok(n.to_string()),
            _ => Err(Error::config(
                &format!("{path}.{what}[{i}]"),
                format!("{what} must be non-empty strings without spaces"),
            )),
        })
        .collect()
}

/// A route's `dpop` and `binding` must be ones its mode can enforce: a `disabled` route checks
/// no token, and anonymous requests pass an `optional` one, so neither can require a binding.
fn check_sender(
    mode: Mode,
    dpop: DpopMode,
    binding: Option<BindingRequirement>,
    replay: Option<ReplayScope>,
    path: &str,
) -> Result<()> {
    if mode == Mode::Disabled && replay.is_some() {
        return Err(Error::config(
            &format!("{path}.dpop_replay"),
            "a disabled route checks no token, and so no proof",
        ));
    }
    if mode == Mode::Disabled && dpop != DpopMode::Off {
        return Err(Error::config(
            &format!("{path}.dpop"),
            "a disabled route checks no token: leave dpop off",
        ));
    }
    let requires = |b: Option<BindingRequirement>| b.is_some_and(|b| b != BindingRequirement::None);
    if mode != Mode::Required && requires(binding) {
        return Err(Error::config(
            &format!("{path}.binding"),
            "only a required route can demand this: anonymous requests pass optional and disabled routes",
        ));
    }
    if mode == Mode::Optional && dpop == DpopMode::Required {
        return Err(Error::config(
            &format!("{path}.dpop"),
            "only a required route can demand this: anonymous requests pass optional and disabled routes",
        ));
    }
    Ok(())
}

impl Route {
    fn from_config(config: RouteConfig, index: usize, fold_case_default: bool) -> Result<Route> {
        let path = format!("routes[{index}]");
        // An anonymous request passes an optional route, so anything it would demand of a
        // token is a policy that does not hold: refuse it rather than let it mislead.
        check_sender(
            config.mode,
            config.dpop,
            config.binding,
            config.dpop_replay,
            &path,
        )?;
        if config.mode != Mode::Required {
            let demands = [
                ("scopes", !config.scopes.is_empty()),
                ("tracks", config.tracks.is_some()),
                ("audience", config.audience.is_some()),
                ("roles", !config.roles.is_empty()),
                ("claims", !config.claims.is_empty()),
            ];
            if let Some((field, _)) = demands.iter().find(|(_, set)| *set) {
                return Err(Error::config(
                    &format!("{path}.{field}"),
                    "only a required route can demand this: anonymous requests pass optional and disabled routes",
                ));
            }
        }
        let methods = config
            .methods
            .map(|methods| {
                if methods.is_empty() {
                    return Err(Error::config(
                        &format!("{path}.methods"),
                        "must not be empty",
                    ));
                }
                // An HTTP method is a token (RFC 9110 §9.1): "POST " would never match, and the
                // requests it meant would fall through to a weaker route.
                let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
                if let Some(i) = methods
                    .iter()
                    .position(|m| m.is_empty() || !m.chars().all(tchar))
                {
                    return Err(Error::config(
                        &format!("{path}.methods[{i}]"),
                        "must be an HTTP method name",
                    ));
                }
                Ok(methods
                    .into_iter()
                    .map(|m| m.to_ascii_uppercase())
                    .collect())
            })
            .transpose()?;
        Ok(Route {
            index: Some(index),
            pattern: parse_pattern(&config.path, &format!("{path}.path"))?,
            methods,
            case_insensitive: config.case_insensitive.unwrap_or(fold_case_default),
            mode: config.mode,
            scopes: strings(&config.scopes, &path, "scopes")?,
            tracks: config
                .tracks
                .map(|t| strings(&t, &path, "tracks"))
                .transpose()?,
            audiences: config
                .audience
                .map(|a| a.into_checked(&format!("{path}.audience")))
                .transpose()?,
            roles: strings(&config.roles, &path, "roles")?,
            claim_rules: config
                .claims
                .into_iter()
                .map(|(claim, rule)| {
                    ClaimMatch::new(&claim, rule, &format!("{path}.claims.{claim}"))
                })
                .collect::<Result<_>>()?,
            dpop: config.dpop,
            binding: config.binding.unwrap_or_default(),
            dpop_replay: config.dpop_replay,
        })
    }

    fn applies_to(&self, method: &str, path: &str, host_folds_case: bool) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|m| m.iter().any(|m| m.eq_ignore_ascii_case(method)))
            && matches(
                &self.pattern,
                path,
                self.case_insensitive || host_folds_case,
            )
    }

    /// Whether `self` matches every request `later` would.
    fn shadows(&self, later: &Route) -> bool {
        let methods_cover = match (&self.methods, &later.methods) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(wide), Some(narrow)) => narrow.iter().all(|m| wide.contains(m)),
        };
        methods_cover && covers(&self.pattern, &later.pattern, self.case_insensitive)
    }

    /// Checks a verified token against the route: audience, track, scopes, roles (found at
    /// `role_paths`), then claim rules.
    pub fn authorize(&self, verified: &Verified, role_paths: &[ClaimPath]) -> Result<()> {
        if let Some(audiences) = &self.audiences {
            check_audience(verified.claims(), "aud", audiences)?;
        }
        if let Some(tracks) = &self.tracks {
            if !verified
                .track
                .track
                .as_ref()
                .is_some_and(|t| tracks.contains(t))
            {
                return Err(Error::new(
                    ErrorCode::TrackNotAllowed,
                    "the token's track may not use this route",
                ));
            }
        }
        let granted = granted_scopes(verified);
        if let Some(missing) = self.scopes.iter().find(|s| !granted.contains(s)) {
            return Err(Error::new(
                ErrorCode::InsufficientScope,
                format!("scope {missing} is required"),
            ));
        }
        if !self.roles.is_empty() {
            check_roles(&self.roles, role_paths, verified.claims())?;
        }
        check_matches(&self.claim_rules, verified.claims())
    }

    /// The mode's name as written in the config.
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Required => "required",
            Mode::Optional => "optional",
            Mode::Disabled => "disabled",
        }
    }

    /// The scopes to name in an `insufficient_scope` challenge.
    pub fn scope_challenge(&self) -> String {
        self.scopes.join(" ")
    }
}

impl RouteTable {
    /// Routes that name roles (which need `gateway.roles_claim`), by index.
    pub fn with_roles(&self) -> impl Iterator<Item = usize> + '_ {
        self.routes
            .iter()
            .filter(|r| !r.roles.is_empty())
            .filter_map(|r| r.index)
    }

    /// Checks the routes: patterns, modes, scopes, tracks, and routes that an earlier one
    /// shadows entirely (they could never match).
    pub fn new(
        routes: Vec<RouteConfig>,
        default: DefaultRouteConfig,
        fold_case_default: bool,
    ) -> Result<RouteTable> {
        check_sender(
            default.mode,
            default.dpop,
            default.binding,
            default.dpop_replay,
            "default_route",
        )?;
        let routes = routes
            .into_iter()
            .enumerate()
            .map(|(i, config)| Route::from_config(config, i, fold_case_default))
            .collect::<Result<Vec<_>>>()?;
        for (j, later) in routes.iter().enumerate() {
            if let Some(i) = routes[..j]
                .iter()
                .position(|earlier| earlier.shadows(later))
            {
                return Err(Error::config(
                    &format!("routes[{j}]"),
                    format!("can never match: routes[{i}] matches every request it would"),
                ));
            }
        }
        Ok(RouteTable {
            routes,
            default: Route {
                index: None,
                pattern: vec![Segment::Rest],
                methods: None,
                case_insensitive: false,
                mode: default.mode,
                scopes: Vec::new(),
                tracks: None,
                audiences: None,
                roles: Vec::new(),
                claim_rules: Vec::new(),
                dpop: default.dpop,
                binding: default.binding.unwrap_or_default(),
                dpop_replay: default.dpop_replay,
            },
        })
    }

    /// Every route, the default one last.
    pub fn all(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().chain(std::iter::once(&self.default))
    }

    /// The route at `index` in `routes` (`None`, or an index past the end: the default route).
    pub fn get(&self, index: Option<usize>) -> &Route {
        index
            .and_then(|i| self.routes.get(i))
            .unwrap_or(&self.default)
    }

    /// The first route matching a canonical path, or the default route. `host_folds_case`:
    /// the host itself routes ignoring case (Express by default), so every literal must too.
    pub fn find(&self, method: &str, canonical_path: &str, host_folds_case: bool) -> &Route {
        self.routes
            .iter()
            .find(|r| r.applies_to(method, canonical_path, host_folds_case))
            .unwrap_or(&self.default)
    }
}

impl Default for RouteTable {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            default: Route {
                index: None,
                pattern: vec![Segment::Rest],
                methods: None,
                case_insensitive: false,
                mode: Mode::Required,
                scopes: Vec::new(),
                tracks: None,
                audiences: None,
                roles: Vec::new(),
                claim_rules: Vec::new(),
                dpop: DpopMode::Off,
                binding: BindingRequirement::None,
                dpop_replay: None,
            },
        }
    }
}
