//! An independent model of what a policy must decide, written from the README's "Order of checks"
//! and the rules — not from `src/`. The `structured` target compares it with
//! `Validator::verify` on every token whose segments it can reason about exactly.
//!
//! The model needs no cryptography: the fuzz target records every signature it produced (with
//! which key and algorithm), and the model treats a signature as valid exactly when it was
//! recorded for this signing input by a key the policy holds, under the token's `alg`.

use edge_jwt::alg::Family;
use edge_jwt::{Alg, ErrorCode};
use serde_json::{json, Map, Value};

use crate::keys;

/// Which key material signed or verifies: the models compare labels, never bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLabel {
    /// `keys::HS256_SECRET` (the config's `secret`).
    Hs,
    /// The ES256 key pair.
    Es,
    /// The Ed25519 key pair.
    Ed,
    /// The RS256 key pair.
    Rs,
    /// The PS256 key pair.
    Ps,
    /// HS256 keyed with the RSA public JWK text (key confusion); no policy holds it.
    ConfusedRsa,
    /// HS256 keyed with the EC public JWK text (key confusion); no policy holds it.
    ConfusedEc,
    /// HS256 with a wrong secret; no policy holds it.
    WrongSecret,
}

impl KeyLabel {
    fn family(self) -> Family {
        match self {
            KeyLabel::Hs | KeyLabel::ConfusedRsa | KeyLabel::ConfusedEc | KeyLabel::WrongSecret => {
                Family::Hmac
            }
            KeyLabel::Es => Family::EcP256,
            KeyLabel::Ed => Family::Ed25519,
            KeyLabel::Rs | KeyLabel::Ps => Family::Rsa,
        }
    }

    fn hmac_len(self) -> usize {
        match self {
            KeyLabel::Hs => keys::HS256_SECRET.len(),
            _ => 0,
        }
    }
}

/// A configured verification key as the model sees it.
#[derive(Clone, Debug)]
pub struct KeyModel {
    /// Which key.
    pub label: KeyLabel,
    /// Its `kid`.
    pub kid: Option<&'static str>,
    /// Its own JWK `alg`, if any.
    pub own_alg: Option<Alg>,
}

impl KeyModel {
    /// Issue rule 3: same family, no contrary own `alg`, HMAC secrets at least the hash size.
    fn serves(&self, alg: Alg) -> bool {
        let hmac_ok = match alg {
            Alg::HS256 => self.label.hmac_len() >= 32,
            Alg::HS384 => self.label.hmac_len() >= 48,
            Alg::HS512 => self.label.hmac_len() >= 64,
            _ => true,
        };
        self.label.family() == alg.family() && self.own_alg.is_none_or(|a| a == alg) && hmac_ok
    }

    fn jwk(&self) -> Option<Value> {
        let text = match self.label {
            KeyLabel::Es => keys::ES256_PUBLIC,
            KeyLabel::Ed => keys::EDDSA_PUBLIC,
            KeyLabel::Rs => keys::RS256_PUBLIC,
            KeyLabel::Ps => keys::PS256_PUBLIC,
            _ => return None,
        };
        let mut jwk: Value = serde_json::from_str(text).expect("fixed JWK");
        let object = jwk.as_object_mut().expect("JWK object");
        match self.kid {
            Some(kid) => object.insert("kid".into(), kid.into()),
            None => object.remove("kid"),
        };
        match self.own_alg {
            Some(alg) => object.insert("alg".into(), alg.name().into()),
            None => object.remove("alg"),
        };
        Some(jwk)
    }
}

/// A policy: its config (generated from these fields) and the decisions it must make.
#[derive(Clone, Debug)]
pub struct PolicyModel {
    /// `algorithms`.
    pub algorithms: Vec<Alg>,
    /// `secret` (for [`KeyLabel::Hs`]) and `keys`.
    pub keys: Vec<KeyModel>,
    /// Write `keys` as a JWKS object rather than a list.
    pub jwks_object: bool,
    /// `leeway_s`.
    pub leeway_s: u64,
    /// `issuer`.
    pub issuers: Option<Vec<String>>,
    /// `audience`.
    pub audiences: Option<Vec<String>>,
    /// `required_claims`.
    pub required: Vec<String>,
    /// `typ`.
    pub typ: Option<String>,
    /// `tracks.claim`.
    pub track_claim: String,
    /// `tracks.ttl_s`.
    pub ceilings: Vec<(String, u64)>,
    /// `tracks.unknown == "reject"`.
    pub unknown_reject: bool,
    /// `tracks.default_ttl_s`.
    pub default_ttl_s: u64,
    /// `max_token_bytes`.
    pub max_token_bytes: usize,
}

impl Default for PolicyModel {
    /// The documented defaults (README "Config").
    fn default() -> Self {
        Self {
            algorithms: Vec::new(),
            keys: Vec::new(),
            jwks_object: false,
            leeway_s: 30,
            issuers: None,
            audiences: None,
            required: vec!["exp".into(), "jti".into()],
            typ: None,
            track_claim: "track".into(),
            ceilings: vec![
                ("1".into(), 43_200),
                ("2".into(), 28_800),
                ("3".into(), 14_400),
                ("4".into(), 3_600),
            ],
            unknown_reject: false,
            default_ttl_s: 43_200,
            max_token_bytes: 8192,
        }
    }
}

/// Largest NumericDate: 9999-12-31T23:59:59Z (issue rule 5).
const MAX_DATE: u64 = 253_402_300_799;
/// Deepest JSON nesting of a header or payload (README: "nesting ≤ 16").
const MAX_DEPTH: usize = 16;

fn one_or_many(list: &[String]) -> Value {
    match list {
        [one] => json!(one),
        many => json!(many),
    }
}

/// Nesting depth of containers: a scalar is 0, `{}` is 1, `{"a":[]}` is 2.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, ErrorCode> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let Value::Number(n) = value else {
        return Err(ErrorCode::InvalidClaim);
    };
    if n.is_i64() && !n.is_u64() {
        return Err(ErrorCode::InvalidClaim); // negative
    }
    if let Some(u) = n.as_u64() {
        return if u <= MAX_DATE {
            Ok(Some(u))
        } else {
            Err(ErrorCode::InvalidClaim)
        };
    }
    let f = n.as_f64().ok_or(ErrorCode::InvalidClaim)?;
    if f >= 0.0 && f.trunc() <= MAX_DATE as f64 {
        Ok(Some(f.trunc() as u64))
    } else {
        Err(ErrorCode::InvalidClaim)
    }
}

fn string_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, ErrorCode> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ErrorCode::InvalidClaim),
    }
}

/// `typ` compares case-insensitively and `application/` may be omitted (RFC 7515 §4.1.9).
fn media_type_eq(a: &str, b: &str) -> bool {
    fn strip(t: &str) -> String {
        let lower = t.to_ascii_lowercase();
        match lower.strip_prefix("application/") {
            Some(rest) => rest.to_owned(),
            None => lower,
        }
    }
    strip(a) == strip(b)
}

/// Who produced a token's signature over its exact signing input, if anyone we know did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedBy {
    /// The key.
    pub label: KeyLabel,
    /// The algorithm it signed with.
    pub alg: Alg,
}

impl PolicyModel {
    /// The config JSON this model describes.
    pub fn config_json(&self) -> Value {
        let mut config = Map::new();
        config.insert(
            "algorithms".into(),
            json!(self.algorithms.iter().map(|a| a.name()).collect::<Vec<_>>()),
        );
        if self.keys.iter().any(|k| k.label == KeyLabel::Hs) {
            config.insert("secret".into(), json!(keys::HS256_SECRET));
        }
        let jwks: Vec<Value> = self.keys.iter().filter_map(KeyModel::jwk).collect();
        if !jwks.is_empty() {
            let keys = if self.jwks_object {
                json!({ "keys": jwks })
            } else {
                json!(jwks)
            };
            config.insert("keys".into(), keys);
        }
        if let Some(issuers) = &self.issuers {
            config.insert("issuer".into(), one_or_many(issuers));
        }
        if let Some(audiences) = &self.audiences {
            config.insert("audience".into(), one_or_many(audiences));
        }
        config.insert("leeway_s".into(), json!(self.leeway_s));
        config.insert("required_claims".into(), json!(self.required));
        let ceilings: Map<String, Value> = self
            .ceilings
            .iter()
            .map(|(t, s)| (t.clone(), json!(s)))
            .collect();
        config.insert(
            "tracks".into(),
            json!({
                "claim": self.track_claim,
                "ttl_s": ceilings,
                "unknown": if self.unknown_reject { "reject" } else { "default" },
                "default_ttl_s": self.default_ttl_s,
            }),
        );
        config.insert("max_token_bytes".into(), json!(self.max_token_bytes));
        if let Some(typ) = &self.typ {
            config.insert("typ".into(), json!(typ));
        }
        Value::Object(config)
    }

    /// Whether the policy holds the key with this label.
    pub fn holds(&self, label: KeyLabel) -> bool {
        self.keys.iter().any(|k| k.label == label)
    }

    /// Steps 7 and 8 of the order of checks on an authenticated claims object.
    pub fn check_claims(&self, claims: &Map<String, Value>, now: u64) -> Result<(), ErrorCode> {
        if self.required.iter().any(|name| !claims.contains_key(name)) {
            return Err(ErrorCode::MissingClaim);
        }
        let exp = numeric_date(claims, "exp")?;
        let nbf = numeric_date(claims, "nbf")?;
        let iat = numeric_date(claims, "iat")?;
        // `jti` and `sub` are non-empty strings (empty ones refused since commit 8f7d2fd: an
        // empty jti would make one revocation key cover every token with an empty jti).
        for name in ["jti", "sub"] {
            if string_claim(claims, name)?.is_some_and(|s| s.is_empty()) {
                return Err(ErrorCode::InvalidClaim);
            }
        }
        let (now_w, leeway) = (u128::from(now), u128::from(self.leeway_s));
        if exp.is_some_and(|exp| now_w >= u128::from(exp) + leeway) {
            return Err(ErrorCode::Expired);
        }
        if nbf.is_some_and(|nbf| now_w + leeway < u128::from(nbf)) {
            return Err(ErrorCode::NotYetValid);
        }
        if iat.is_some_and(|iat| u128::from(iat) > now_w + leeway) {
            return Err(ErrorCode::IatInFuture);
        }
        if let Some(issuers) = &self.issuers {
            let iss = string_claim(claims, "iss")?.ok_or(ErrorCode::MissingClaim)?;
            if !issuers.contains(&iss) {
                return Err(ErrorCode::BadIssuer);
            }
        }
        if let Some(audiences) = &self.audiences {
            let found = match claims.get("aud") {
                None => return Err(ErrorCode::MissingClaim),
                Some(Value::String(one)) => audiences.contains(one),
                Some(Value::Array(many)) => {
                    if many.iter().any(|v| !v.is_string()) {
                        return Err(ErrorCode::InvalidClaim);
                    }
                    many.iter()
                        .any(|v| audiences.iter().any(|a| v.as_str() == Some(a.as_str())))
                }
                Some(_) => return Err(ErrorCode::InvalidClaim),
            };
            if !found {
                return Err(ErrorCode::BadAudience);
            }
        }
        // Every track has a ceiling, so exp is always required.
        let exp = exp.ok_or(ErrorCode::MissingClaim)?;
        let track = match claims.get(&self.track_claim) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.to_string()),
            Some(_) => return Err(ErrorCode::InvalidClaim),
        };
        let listed = track
            .as_ref()
            .and_then(|t| self.ceilings.iter().find(|(name, _)| name == t))
            .map(|(_, ceiling)| *ceiling);
        let ceiling = match listed {
            Some(c) => c,
            None if self.unknown_reject => return Err(ErrorCode::UnknownTrack),
            None => self.default_ttl_s,
        };
        // With iat: exp - iat against the ceiling (equal is fine). Without: exp - now against the
        // ceiling plus leeway.
        let (lifetime, allowed) = match iat {
            Some(iat) => (exp.saturating_sub(iat), u128::from(ceiling)),
            None => (exp.saturating_sub(now), u128::from(ceiling) + leeway),
        };
        if u128::from(lifetime) > allowed {
            return Err(ErrorCode::TtlExceedsTrack);
        }
        Ok(())
    }

    /// The full decision for a token whose header and payload are JSON objects this harness
    /// serialised itself (so with unique member names), given who signed its signing input.
    pub fn decide(
        &self,
        token: &str,
        signed_by: Option<SignedBy>,
        now: u64,
    ) -> Result<(), ErrorCode> {
        use ErrorCode::*;
        // 1. size
        if token.len() > self.max_token_bytes {
            return Err(TooLarge);
        }
        // 2. structure
        let parts: Vec<&str> = token.split('.').collect();
        let [h, p, s] = parts.as_slice() else {
            return Err(Malformed);
        };
        // An empty header is malformed; an empty signature goes on (so that `alg: none` with
        // no signature says alg_not_allowed) and fails at the signature step.
        if h.is_empty() {
            return Err(Malformed);
        }
        let (Some(header), Some(payload), Some(_)) =
            (crate::unb64(h), crate::unb64(p), crate::unb64(s))
        else {
            return Err(Malformed);
        };
        // 3. header
        let header: Value = serde_json::from_slice(&header).map_err(|_| Malformed)?;
        if depth(&header) > MAX_DEPTH {
            return Err(Malformed);
        }
        let Value::Object(header) = header else {
            return Err(Malformed);
        };
        let alg_name = match header.get("alg") {
            Some(Value::String(name)) => name.clone(),
            _ => return Err(Malformed),
        };
        if alg_name.eq_ignore_ascii_case("none") {
            return Err(AlgNotAllowed);
        }
        if header.contains_key("crit") {
            return Err(UnsupportedHeader);
        }
        match header.get("b64") {
            None | Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err(UnsupportedHeader),
            Some(_) => return Err(Malformed),
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(Malformed),
        };
        let typ = match header.get("typ") {
            None => None,
            Some(Value::String(t)) => Some(t.as_str()),
            Some(_) => return Err(Malformed),
        };
        let alg = edge_jwt::Alg::ALL
            .into_iter()
            .find(|a| a.name() == alg_name)
            .filter(|a| self.algorithms.contains(a))
            .ok_or(AlgNotAllowed)?;
        if let Some(expected) = &self.typ {
            if !typ.is_some_and(|t| media_type_eq(t, expected)) {
                return Err(InvalidClaim);
            }
        }
        // 4. key choice
        let any_kid = self.keys.iter().any(|k| k.kid.is_some());
        let candidates: Vec<&KeyModel> = match kid {
            Some(kid) if any_kid => {
                let named = self
                    .keys
                    .iter()
                    .find(|k| k.kid == Some(kid))
                    .ok_or(UnknownKid)?;
                if !named.serves(alg) {
                    return Err(AlgNotAllowed);
                }
                vec![named]
            }
            _ => self.keys.iter().filter(|k| k.serves(alg)).take(4).collect(),
        };
        if candidates.is_empty() {
            return Err(AlgNotAllowed);
        }
        // 5. signature
        let verifies = signed_by
            .is_some_and(|by| by.alg == alg && candidates.iter().any(|k| k.label == by.label));
        if !verifies {
            return Err(BadSignature);
        }
        // 6. payload
        let payload: Value = serde_json::from_slice(&payload).map_err(|_| Malformed)?;
        if depth(&payload) > MAX_DEPTH {
            return Err(Malformed);
        }
        let Value::Object(claims) = payload else {
            return Err(Malformed);
        };
        // 7, 8. claims and track
        self.check_claims(&claims, now)
    }
}
