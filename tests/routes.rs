//! Route policy: first-match order, patterns, modes, scopes (both claim forms), tracks,
//! per-route audience, and config errors caught at load.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

use edge_jwt::gateway::edge_policy::{build, split};
use edge_jwt::routes::Mode;
use edge_jwt::routes::RouteTable;
use edge_jwt::{issue, Alg, ErrorCode, IssueRequest, Policy, Signer, Validator};
use serde_json::{json, Map, Value};

const SECRET: &str = "route-tests-secret-0123456789abcdef";
const NOW: u64 = 1_800_000_000;

/// The token policy and the edge's routes of one config document.
#[derive(Debug)]
struct Loaded {
    policy: Policy,
    routes: RouteTable,
}

fn policy(routes: Value, extra: Value) -> Result<Loaded, edge_jwt::Error> {
    let mut config = json!({"algorithms": ["HS256"], "secret": SECRET, "routes": routes});
    if let (Value::Object(c), Value::Object(e)) = (&mut config, extra) {
        c.extend(e);
    }
    let (config, edge) = split(&config.to_string())?;
    let (policy, edge) = build(config, edge)?;
    Ok(Loaded {
        policy,
        routes: edge.routes,
    })
}

fn table() -> Loaded {
    policy(
        json!([
            {"path": "/health", "mode": "disabled"},
            {"path": "/catalog/*", "methods": ["GET", "head"], "mode": "optional"},
            {"path": "/ops/*", "scopes": ["operator.write"], "tracks": [4]},
            {"path": "/users/:id/profile", "scopes": ["profile"], "audience": "users-api"},
            {"path": "/catalog/*", "mode": "required"}
        ]),
        json!({}),
    )
    .unwrap()
}

fn mint_and_verify(
    Loaded { policy, routes }: Loaded,
    track: &str,
    claims: Value,
) -> (RouteTable, edge_jwt::Verified) {
    let signer = Signer::from_secret(SECRET, Alg::HS256).unwrap();
    let claims: Map<String, Value> = claims.as_object().cloned().unwrap_or_default();
    let request = IssueRequest {
        sub: Some("alice".into()),
        track: Some(track.into()),
        ttl_s: None,
        claims,
    };
    let token = issue(&policy, &signer, request, NOW, &mut rand_core::OsRng)
        .unwrap()
        .token;
    let verified = Validator::new(policy).verify(&token, NOW).unwrap();
    (routes, verified)
}

#[test]
fn first_match_wins_and_methods_narrow_a_route() {
    let p = table();
    assert_eq!(p.routes.find("GET", "/health", false).mode, Mode::Disabled);
    assert_eq!(
        p.routes.find("GET", "/catalog/books/1", false).mode,
        Mode::Optional
    );
    assert_eq!(
        p.routes.find("HEAD", "/catalog", false).mode,
        Mode::Optional
    );
    // POST is not in the optional route's methods: the later required route catches it.
    let post = p.routes.find("POST", "/catalog/books", false);
    assert_eq!((post.mode, post.index), (Mode::Required, Some(4)));
    // Unmatched paths get the default route, `required` unless configured otherwise.
    let other = p.routes.find("GET", "/elsewhere", false);
    assert_eq!((other.mode, other.index), (Mode::Required, None));
    let relaxed = policy(json!([]), json!({"default_route": {"mode": "optional"}})).unwrap();
    assert_eq!(relaxed.routes.find("GET", "/x", false).mode, Mode::Optional);
}

#[test]
fn patterns_match_whole_segments() {
    let p = table();
    assert_eq!(
        p.routes.find("GET", "/users/42/profile", false).index,
        Some(3)
    );
    assert_eq!(
        p.routes.find("GET", "/users/42/profile/x", false).index,
        None
    );
    assert_eq!(
        p.routes.find("GET", "/users//profile", false).index,
        None,
        "one segment is required"
    );
    assert_eq!(
        p.routes.find("GET", "/healthz", false).index,
        None,
        "a literal is a whole segment"
    );
    assert_eq!(
        p.routes.find("GET", "/health/", false).index,
        Some(0),
        "trailing slash is the same path"
    );
    // Doubled slashes cannot escape a stricter route.
    assert_eq!(p.routes.find("GET", "//ops//deploy", false).index, Some(2));
    assert_eq!(
        p.routes.find("GET", "/OPS/deploy", false).index,
        None,
        "literals are case-sensitive"
    );
}

#[test]
fn scopes_from_the_scope_string_or_the_scp_array() {
    let ops = |claims| {
        let (routes, verified) = mint_and_verify(table(), "4", claims);
        let route = routes.find("POST", "/ops/deploy", false).clone();
        route.authorize(&verified, &[]).map_err(|e| e.code())
    };
    assert_eq!(ops(json!({"scope": "read operator.write"})), Ok(()));
    assert_eq!(ops(json!({"scp": ["read", "operator.write"]})), Ok(()));
    assert_eq!(
        ops(json!({"scope": "read"})),
        Err(ErrorCode::InsufficientScope)
    );
    assert_eq!(
        ops(json!({"scp": ["operator.read"]})),
        Err(ErrorCode::InsufficientScope)
    );
    assert_eq!(ops(json!({})), Err(ErrorCode::InsufficientScope));
    let p = table();
    assert_eq!(
        p.routes
            .find("POST", "/ops/deploy", false)
            .scope_challenge(),
        "operator.write"
    );
}

#[test]
fn tracks_limit_who_may_use_a_route() {
    let check = |track: &str| {
        let (routes, verified) =
            mint_and_verify(table(), track, json!({"scope": "operator.write"}));
        let route = routes.find("GET", "/ops/x", false).clone();
        route.authorize(&verified, &[]).map_err(|e| e.code())
    };
    assert_eq!(check("4"), Ok(()));
    assert_eq!(check("1"), Err(ErrorCode::TrackNotAllowed));
    assert_eq!(check("04"), Err(ErrorCode::TrackNotAllowed));
}

#[test]
fn per_route_audience() {
    let check = |claims| {
        let (routes, verified) = mint_and_verify(table(), "1", claims);
        let route = routes.find("GET", "/users/7/profile", false).clone();
        route.authorize(&verified, &[]).map_err(|e| e.code())
    };
    assert_eq!(
        check(json!({"scope": "profile"})),
        Err(ErrorCode::MissingClaim)
    );
    // `aud` is set by the issuer from the policy, so route-level audiences come from there.
    let with_aud = policy(
        json!([{"path": "/users/:id/profile", "scopes": ["profile"], "audience": "users-api"}]),
        json!({"audience": ["users-api", "web"]}),
    )
    .unwrap();
    let (routes, verified) = mint_and_verify(with_aud, "1", json!({"scope": "profile"}));
    assert_eq!(
        routes
            .find("GET", "/users/7/profile", false)
            .authorize(&verified, &[])
            .map_err(|e| e.code()),
        Ok(())
    );
    let other = policy(
        json!([{"path": "/users/:id/profile", "audience": "users-api"}]),
        json!({"audience": "web"}),
    )
    .unwrap();
    let (routes, verified) = mint_and_verify(other, "1", json!({}));
    assert_eq!(
        routes
            .find("GET", "/users/7/profile", false)
            .authorize(&verified, &[])
            .map_err(|e| e.code()),
        Err(ErrorCode::BadAudience)
    );
}

#[test]
fn config_errors_are_caught_at_load() {
    let err = |routes: Value| policy(routes, json!({})).unwrap_err().to_string();
    assert!(err(json!([{"path": "/a/*"}, {"path": "/a/b"}]))
        .contains("routes[1]: can never match: routes[0]"));
    assert!(err(json!([{"path": "/*"}, {"path": "/x", "methods": ["GET"]}])).contains("routes[1]"));
    assert!(err(json!([{"path": "/a/:id"}, {"path": "/a/7"}])).contains("can never match"));
    assert!(err(json!([{"path": "/a", "mode": "sometimes"}])).contains("routes[0].mode"));
    assert!(err(json!([{"path": "/a", "scopes": [5]}])).contains("routes[0].scopes[0]"));
    assert!(err(json!([{"path": "/a", "scopes": ["a b"]}])).contains("routes[0].scopes[0]"));
    assert!(err(json!([{"path": "a"}])).contains("routes[0].path"));
    assert!(err(json!([{"path": "/a*"}])).contains("routes[0].path"));
    assert!(err(json!([{"path": "/a", "method": ["GET"]}])).contains("unknown field"));
    assert!(err(json!([{"path": "/a", "methods": []}])).contains("routes[0].methods"));
    // Narrower first is fine, and a method-limited route does not shadow an all-methods one.
    assert!(policy(json!([{"path": "/a/b"}, {"path": "/a/*"}]), json!({})).is_ok());
    assert!(policy(
        json!([{"path": "/a/*", "methods": ["GET"]}, {"path": "/a/*"}]),
        json!({})
    )
    .is_ok());
}

#[test]
fn case_insensitive_routes_per_route_policy_wide_or_by_the_host() {
    let p = table();
    assert_eq!(
        p.routes.find("GET", "/OPS/deploy", true).index,
        Some(2),
        "a host that routes ignoring case (Express) matches literals so too"
    );
    let per_route = policy(
        json!([{"path": "/ops/*", "scopes": ["x"], "case_insensitive": true}]),
        json!({}),
    )
    .unwrap();
    assert_eq!(per_route.routes.find("GET", "/Ops/x", false).index, Some(0));
    let wide = policy(
        json!([{"path": "/ops/*", "scopes": ["x"]}]),
        json!({"gateway": {"case_insensitive_routes": true}}),
    )
    .unwrap();
    assert_eq!(wide.routes.find("GET", "/oPs/x", false).index, Some(0));
    // A case-insensitive route shadows a later literal that differs only in case.
    let shadowed = policy(
        json!([
            {"path": "/ops/*", "case_insensitive": true},
            {"path": "/OPS/x", "mode": "disabled"}
        ]),
        json!({}),
    )
    .unwrap_err();
    assert!(shadowed.message().starts_with("routes[1]"), "{shadowed}");
}

#[test]
fn route_literals_are_written_in_canonical_form() {
    let p = policy(
        json!([{"path": "/caf%c3%a9/%6Fps", "scopes": ["x"]}, {"path": "/café/x", "mode": "disabled"}]),
        json!({}),
    )
    .unwrap();
    assert_eq!(p.routes.find("GET", "/caf%C3%A9/ops", false).index, Some(0));
    assert_eq!(p.routes.find("GET", "/caf%C3%A9/x", false).index, Some(1));
    for bad in ["/a%2Fb", "/a;b", "/a/../b", "/a%zz"] {
        let e = policy(json!([{"path": bad}]), json!({})).unwrap_err();
        assert!(e.message().starts_with("routes[0].path"), "{bad}: {e}");
    }
}

#[test]
fn only_required_routes_may_demand_scopes_tracks_or_audiences() {
    for mode in ["optional", "disabled"] {
        for (field, value) in [
            ("scopes", json!(["x"])),
            ("tracks", json!([4])),
            ("audience", json!("api")),
        ] {
            let mut route = json!({"path": "/x/*", "mode": mode});
            route[field] = value;
            let e = policy(json!([route]), json!({})).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ConfigError);
            assert!(
                e.message().starts_with(&format!("routes[0].{field}")),
                "{mode} {field}: {e}"
            );
        }
    }
}

#[test]
fn a_route_method_must_be_a_method_name() {
    for bad in ["POST ", "", "GE T", "GET\n"] {
        let e = policy(json!([{"path": "/x", "methods": [bad]}]), json!({})).unwrap_err();
        assert!(
            e.message().starts_with("routes[0].methods[0]"),
            "{bad:?}: {e}"
        );
    }
    assert!(policy(
        json!([{"path": "/x", "methods": ["get", "PROPFIND"]}]),
        json!({})
    )
    .is_ok());
}

#[test]
fn scopes_split_on_spaces_only() {
    let check = |claims: Value| {
        let (routes, verified) = mint_and_verify(table(), "4", claims);
        routes
            .find("POST", "/ops/deploy", false)
            .clone()
            .authorize(&verified, &[])
            .map_err(|e| e.code())
    };
    // A no-break space does not separate scope tokens (RFC 6749 §3.3).
    assert_eq!(
        check(json!({"scope": "read\u{a0}operator.write"})),
        Err(ErrorCode::InsufficientScope)
    );
    assert_eq!(
        check(json!({"scope": "read\u{2003}operator.write"})),
        Err(ErrorCode::InsufficientScope)
    );
    // An scp item holding a space is no scope token.
    assert_eq!(
        check(json!({"scp": ["read operator.write"]})),
        Err(ErrorCode::InsufficientScope)
    );
    assert_eq!(check(json!({"scope": "read  operator.write"})), Ok(()));
}
