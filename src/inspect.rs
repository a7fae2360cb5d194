//! UNVERIFIED decoding for people: what a token says, not whether it is true.
//!
//! Nothing here checks a signature. The report says so in its `verified: false` field and its
//! warning, and hosts must show that warning next to anything they print from it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::claims::numeric_date;
use crate::error::{Error, ErrorCode, Result};
use crate::json;
use crate::token::decode_segment;
use crate::track::TrackTable;

/// The warning every inspection carries.
pub const UNVERIFIED_WARNING: &str =
    "UNVERIFIED: decoded without checking the signature; anyone can write these claims";

/// A time claim in machine and human form.
#[derive(Debug, Clone, Serialize)]
pub struct TimeClaim {
    /// Claim name (`exp`, `nbf`, `iat`).
    pub claim: &'static str,
    /// Seconds since the epoch.
    pub unix: u64,
    /// RFC 3339 in UTC.
    pub utc: String,
}

/// The track and whether the token's lifetime fits its ceiling.
#[derive(Debug, Clone, Serialize)]
pub struct TrackReport {
    /// The track's name, if the claim is present and well-typed.
    pub track: Option<String>,
    /// Ceiling under the given table, or `None` when the track would be rejected.
    pub ttl_ceiling_s: Option<u64>,
    /// `exp - iat`, or `exp - now` without `iat`.
    pub lifetime_s: Option<u64>,
    /// `within_ceiling`, `exceeds_ceiling`, `unknown_track`, `invalid_claim` or `no_exp`.
    pub verdict: &'static str,
}

/// The sender constraint a token's `cnf` claims (RFC 7800), as written: shown, never checked
/// here (the gateway checks it, `crate::dpop`).
#[derive(Debug, Clone, Serialize)]
pub struct BindingReport {
    /// `dpop` (`cnf.jkt`, RFC 9449), `mtls` (`cnf["x5t#S256"]`, RFC 8705), `dpop+mtls`,
    /// `none` (no `cnf`, or neither member: a bearer token), or `invalid` (a `cnf` the
    /// gateway refuses, `invalid_claim`).
    pub kind: &'static str,
    /// Whether the token is sender-constrained (`dpop`, `mtls` or both).
    pub sender_constrained: bool,
    /// `cnf.jkt`: the DPoP key's RFC 7638 thumbprint.
    pub jkt: Option<String>,
    /// `cnf["x5t#S256"]`: the client certificate's SHA-256 thumbprint.
    pub x5t_s256: Option<String>,
}

fn binding_report(claims: &Map<String, Value>) -> BindingReport {
    let mut report = BindingReport {
        kind: "none",
        sender_constrained: false,
        jkt: None,
        x5t_s256: None,
    };
    let cnf = match claims.get("cnf") {
        None => return report,
        Some(Value::Object(cnf)) => cnf,
        Some(_) => {
            report.kind = "invalid";
            return report;
        }
    };
    let member = |name: &str| match cnf.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(()),
    };
    match (member("jkt"), member("x5t#S256")) {
        (Ok(jkt), Ok(x5t)) => {
            report.kind = match (&jkt, &x5t) {
                (Some(_), Some(_)) => "dpop+mtls",
                (Some(_), None) => "dpop",
                (None, Some(_)) => "mtls",
                (None, None) => "none",
            };
            report.sender_constrained = jkt.is_some() || x5t.is_some();
            report.jkt = jkt;
            report.x5t_s256 = x5t;
        }
        _ => report.kind = "invalid",
    }
    report
}

/// What an unverified token says.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// Always `false`.
    pub verified: bool,
    /// [`UNVERIFIED_WARNING`].
    pub warning: &'static str,
    /// The decoded header.
    pub header: Map<String, Value>,
    /// The decoded claims (`None` when the payload is not a JSON object).
    pub claims: Option<Map<String, Value>>,
    /// `exp`, `nbf`, `iat` in readable form.
    pub times: Vec<TimeClaim>,
    /// `exp - now` (negative once expired).
    pub time_left_s: Option<i64>,
    /// Track ceiling verdict.
    pub track: TrackReport,
    /// The sender constraint (`cnf`) the token claims.
    pub binding: BindingReport,
}

fn utc(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map_or_else(|| "out of range".into(), |t| t.to_rfc3339())
}

fn track_report(claims: &Map<String, Value>, tracks: &TrackTable, now: u64) -> TrackReport {
    let exp = numeric_date(claims, "exp").ok().flatten();
    let iat = numeric_date(claims, "iat").ok().flatten();
    let lifetime_s = exp.map(|exp| exp.saturating_sub(iat.unwrap_or(now)));
    let mut report = TrackReport {
        track: None,
        ttl_ceiling_s: None,
        lifetime_s,
        verdict: "no_exp",
    };
    match tracks.resolve(claims) {
        Err(e) => {
            report.track = crate::track::track_name(claims, &tracks.claim)
                .ok()
                .flatten();
            report.verdict = if e.code() == ErrorCode::UnknownTrack {
                "unknown_track"
            } else {
                "invalid_claim"
            };
        }
        Ok(verdict) => {
            report.track = verdict.track.clone();
            report.ttl_ceiling_s = Some(verdict.ttl_ceiling_s);
            if let Some(exp) = exp {
                report.verdict = match TrackTable::check_lifetime(&verdict, exp, iat, now, 0) {
                    Ok(()) => "within_ceiling",
                    Err(_) => "exceeds_ceiling",
                };
            }
        }
    }
    report
}

/// Decodes a token without verifying it. Only the structure must be sound (two or three
/// base64url segments, a JSON header); `alg: none` and other refused headers are shown as is.
pub fn inspect(token: &str, tracks: &TrackTable, now: u64) -> Result<Inspection> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64)) = (parts.next(), parts.next()) else {
        return Err(Error::new(
            ErrorCode::Malformed,
            "a JWS has dot-separated segments",
        ));
    };
    if parts.count() > 1 {
        return Err(Error::new(
            ErrorCode::Malformed,
            "a compact JWS has exactly three segments",
        ));
    }
    let header = json::parse_object(&decode_segment(header_b64, "header")?).map_err(|e| {
        Error::new(
            ErrorCode::Malformed,
            format!("header is not a JSON object ({e})"),
        )
    })?;
    let claims = json::parse_object(&decode_segment(payload_b64, "payload")?).ok();
    let empty = Map::new();
    let claim_map = claims.as_ref().unwrap_or(&empty);
    let times = ["exp", "nbf", "iat"]
        .into_iter()
        .filter_map(|claim| {
            let unix = numeric_date(claim_map, claim).ok().flatten()?;
            Some(TimeClaim {
                claim,
                unix,
                utc: utc(unix),
            })
        })
        .collect();
    let time_left_s = numeric_date(claim_map, "exp")
        .ok()
        .flatten()
        .map(|exp| i64::try_from(exp).unwrap_or(i64::MAX) - i64::try_from(now).unwrap_or(i64::MAX));
    Ok(Inspection {
        verified: false,
        warning: UNVERIFIED_WARNING,
        header,
        track: track_report(claim_map, tracks, now),
        binding: binding_report(claim_map),
        claims,
        times,
        time_left_s,
    })
}

/// Renders seconds as `1h 02m 03s` for people.
pub fn human_duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s:02}s"),
        (0, _, _) => format!("{h}h {m:02}m {s:02}s"),
        _ => format!("{d}d {h:02}h {m:02}m"),
    }
}

impl Inspection {
    /// A readable multi-line report for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "!! {} !!\n\nheader: {}\n",
            self.warning,
            Value::Object(self.header.clone())
        );
        match &self.claims {
            Some(c) => {
                out += &format!(
                    "claims: {}\n",
                    serde_json::to_string_pretty(&Value::Object(c.clone())).unwrap_or_default()
                )
            }
            None => out += "claims: (payload is not a JSON object)\n",
        }
        for t in &self.times {
            out += &format!("{:<4} {} ({})\n", t.claim, t.utc, t.unix);
        }
        match self.time_left_s {
            Some(left) if left > 0 => {
                out += &format!("time left: {}\n", human_duration(left.unsigned_abs()))
            }
            Some(left) => out += &format!("expired {} ago\n", human_duration(left.unsigned_abs())),
            None => out += "time left: no exp claim\n",
        }
        let t = &self.track;
        out += &format!(
            "track: {}  ceiling: {}  lifetime: {}  verdict: {}\n",
            t.track.as_deref().unwrap_or("(none)"),
            t.ttl_ceiling_s.map_or("-".into(), human_duration),
            t.lifetime_s.map_or("-".into(), human_duration),
            t.verdict
        );
        let b = &self.binding;
        out += &match (b.kind, &b.jkt, &b.x5t_s256) {
            ("none", _, _) => "binding: none (a bearer token)\n".to_owned(),
            ("invalid", _, _) => "binding: invalid cnf (refused: invalid_claim)\n".to_owned(),
            (kind, jkt, x5t) => {
                let mut line = format!("binding: {kind} (sender-constrained)");
                if let Some(jkt) = jkt {
                    line += &format!("  cnf.jkt: {jkt}");
                }
                if let Some(x5t) = x5t {
                    line += &format!("  cnf.x5t#S256: {x5t}");
                }
                line + "\n"
            }
        };
        out
    }
}
