//! Which sender-constraint checks a request needs: one pure function of the route's `dpop`
//! mode and `binding`, the `Authorization` scheme, the number of `DPoP` headers and the
//! token's `cnf`.
//!
//! A token's own binding is always enforced, whatever the route says: a `cnf.jkt` token must
//! come with the `DPoP` scheme and a proof by that key (the bearer downgrade is closed), and a
//! `cnf["x5t#S256"]` token with its client certificate. The route can only ask for more.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};

/// A route's `dpop` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpopMode {
    /// Only DPoP-bound tokens, with the `DPoP` scheme and a valid proof.
    Required,
    /// DPoP-bound tokens with DPoP; unbound tokens as `Bearer`, or with the `DPoP` scheme and
    /// a valid proof (a client that always sends proofs).
    Optional,
    /// DPoP-bound tokens with DPoP; unbound tokens as `Bearer` only (the default).
    #[default]
    Off,
}

/// A route's `binding` setting: the sender constraint its tokens must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingRequirement {
    /// `cnf.jkt` (DPoP).
    Dpop,
    /// `cnf["x5t#S256"]` (mutual TLS).
    Mtls,
    /// Either.
    Any,
    /// Nothing beyond what the token carries (the default).
    #[default]
    None,
}

/// The `Authorization` scheme of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

impl Scheme {
    /// The scheme and the token of an `Authorization` value (`Bearer x` or `DPoP x`, the
    /// scheme in any case, RFC 9110 §11.1); `None` for another scheme or no token.
    pub fn parse(authorization: &str) -> Option<(Scheme, &str)> {
        let (scheme, token) = authorization.trim().split_once(' ')?;
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            Some((Scheme::Bearer, token))
        } else if scheme.eq_ignore_ascii_case("dpop") {
            Some((Scheme::Dpop, token))
        } else {
            None
        }
    }
}

/// A token's confirmation (`cnf`, RFC 7800) members that bind it to a sender.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// `cnf.jkt`: the RFC 7638 thumbprint of the DPoP key (RFC 9449 §6.1).
    pub jkt: Option<String>,
    /// `cnf["x5t#S256"]`: the client certificate's SHA-256 thumbprint (RFC 8705 §3.1).
    pub x5t_s256: Option<String>,
}

impl Confirmation {
    /// The `cnf` of verified claims. A `cnf` that is not an object, or a `jkt` or `x5t#S256`
    /// that is not a non-empty string, is `invalid_claim`: a binding the gateway cannot read
    /// must not turn into no binding.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Confirmation> {
        let invalid = |what: &str| {
            Error::new(
                ErrorCode::InvalidClaim,
                format!("claim {what} must be a non-empty string"),
            )
        };
        let cnf = match claims.get("cnf") {
            None => return Ok(Confirmation::default()),
            Some(Value::Object(cnf)) => cnf,
            Some(_) => {
                return Err(Error::new(
                    ErrorCode::InvalidClaim,
                    "claim cnf must be an object",
                ))
            }
        };
        let member = |name: &str| match cnf.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(invalid(&format!("cnf.{name}"))),
        };
        Ok(Confirmation {
            jkt: member("jkt")?,
            x5t_s256: member("x5t#S256")?,
        })
    }

    /// Whether the token is bound to a sender at all.
    pub fn is_bound(&self) -> bool {
        self.jkt.is_some() || self.x5t_s256.is_some()
    }
}

/// What a host must check for a request, once [`decide`] let it through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingChecks {
    /// Check the request's DPoP proof ([`super::ProofChecker`]) and its replay.
    pub proof: bool,
    /// The thumbprint the proof's key must have (`cnf.jkt`), for the proof check.
    pub jkt: Option<String>,
    /// The certificate thumbprint to check ([`super::check_certificate_binding`]).
    pub x5t_s256: Option<String>,
}

fn refuse(code: ErrorCode, message: &str) -> Error {
    Error::new(code, message)
}

/// Decides, before any proof is parsed, what the request must prove, or refuses it:
/// - `dpop_required`: a `cnf.jkt` token as `Bearer` (the downgrade), or a `required` route
///   reached with `Bearer`;
/// - `binding_required`: the route's `binding` (or `dpop: required`) asks for a `cnf` member
///   the token lacks;
/// - `dpop_binding_mismatch`: an unbound token with the `DPoP` scheme on a route whose `dpop`
///   is `off`;
/// - `invalid_dpop_proof`: the `DPoP` scheme without exactly one `DPoP` header.
pub fn decide(
    mode: DpopMode,
    binding: BindingRequirement,
    scheme: Scheme,
    dpop_headers: usize,
    cnf: &Confirmation,
) -> Result<BindingChecks> {
    let dpop_bound = cnf.jkt.is_some();
    if scheme == Scheme::Bearer {
        if dpop_bound {
            return Err(refuse(
                ErrorCode::DpopRequired,
                "the token is DPoP-bound: present it with the DPoP scheme and a proof",
            ));
        }
        if mode == DpopMode::Required {
            return Err(refuse(
                ErrorCode::DpopRequired,
                "this route requires the DPoP scheme and a proof",
            ));
        }
    }
    let has_required = match binding {
        BindingRequirement::Dpop => dpop_bound,
        BindingRequirement::Mtls => cnf.x5t_s256.is_some(),
        BindingRequirement::Any => cnf.is_bound(),
        BindingRequirement::None => true,
    };
    if !has_required || (mode == DpopMode::Required && !dpop_bound) {
        return Err(refuse(
            ErrorCode::BindingRequired,
            "this route requires a sender-constrained token",
        ));
    }
    if scheme == Scheme::Dpop {
        if !dpop_bound && mode == DpopMode::Off {
            return Err(refuse(
                ErrorCode::DpopBindingMismatch,
                "the token is not DPoP-bound, and this route takes the DPoP scheme only for bound tokens",
            ));
        }
        match dpop_headers {
            0 => {
                return Err(refuse(
                    ErrorCode::InvalidDpopProof,
                    "the DPoP scheme was used without a DPoP header",
                ))
            }
            1 => {}
            _ => {
                return Err(refuse(
                    ErrorCode::InvalidDpopProof,
                    "the request carries more than one DPoP header",
                ))
            }
        }
    }
    Ok(BindingChecks {
        proof: scheme == Scheme::Dpop,
        jkt: cnf.jkt.clone(),
        x5t_s256: cnf.x5t_s256.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use BindingRequirement as B;
    use DpopMode as M;
    use Scheme as S;

    fn cnf(jkt: bool, x5t: bool) -> Confirmation {
        Confirmation {
            jkt: jkt.then(|| "JKT".to_owned()),
            x5t_s256: x5t.then(|| "X5T".to_owned()),
        }
    }

    /// `(mode, binding, scheme, DPoP headers, cnf.jkt, cnf.x5t#S256) → Ok(proof) or code`.
    #[test]
    fn decision_table() {
        type Row = (
            M,
            B,
            S,
            usize,
            bool,
            bool,
            std::result::Result<bool, ErrorCode>,
        );
        let rows: &[Row] = &[
            // Plain bearer tokens where nothing is asked.
            (M::Off, B::None, S::Bearer, 0, false, false, Ok(false)),
            (M::Optional, B::None, S::Bearer, 0, false, false, Ok(false)),
            // A stray DPoP header with Bearer and an unbound token is ignored.
            (M::Optional, B::None, S::Bearer, 1, false, false, Ok(false)),
            // The downgrade: a cnf.jkt token as Bearer, on every kind of route.
            (
                M::Off,
                B::None,
                S::Bearer,
                0,
                true,
                false,
                Err(ErrorCode::DpopRequired),
            ),
            (
                M::Optional,
                B::None,
                S::Bearer,
                1,
                true,
                false,
                Err(ErrorCode::DpopRequired),
            ),
            (
                M::Required,
                B::Dpop,
                S::Bearer,
                1,
                true,
                false,
                Err(ErrorCode::DpopRequired),
            ),
            // A required route reached with Bearer.
            (
                M::Required,
                B::None,
                S::Bearer,
                0,
                false,
                false,
                Err(ErrorCode::DpopRequired),
            ),
            // DPoP-bound tokens with DPoP: a proof is checked.
            (M::Off, B::None, S::Dpop, 1, true, false, Ok(true)),
            (M::Optional, B::None, S::Dpop, 1, true, false, Ok(true)),
            (M::Required, B::Dpop, S::Dpop, 1, true, false, Ok(true)),
            (M::Required, B::Any, S::Dpop, 1, true, true, Ok(true)),
            // The DPoP scheme without exactly one proof.
            (
                M::Required,
                B::None,
                S::Dpop,
                0,
                true,
                false,
                Err(ErrorCode::InvalidDpopProof),
            ),
            (
                M::Optional,
                B::None,
                S::Dpop,
                2,
                true,
                false,
                Err(ErrorCode::InvalidDpopProof),
            ),
            // Unbound tokens with the DPoP scheme.
            (M::Optional, B::None, S::Dpop, 1, false, false, Ok(true)),
            (
                M::Off,
                B::None,
                S::Dpop,
                1,
                false,
                false,
                Err(ErrorCode::DpopBindingMismatch),
            ),
            (
                M::Required,
                B::None,
                S::Dpop,
                1,
                false,
                false,
                Err(ErrorCode::BindingRequired),
            ),
            // Route bindings.
            (M::Off, B::Mtls, S::Bearer, 0, false, true, Ok(false)),
            (
                M::Off,
                B::Mtls,
                S::Bearer,
                0,
                false,
                false,
                Err(ErrorCode::BindingRequired),
            ),
            (
                M::Off,
                B::Mtls,
                S::Dpop,
                1,
                true,
                false,
                Err(ErrorCode::BindingRequired),
            ),
            (
                M::Off,
                B::Dpop,
                S::Bearer,
                0,
                false,
                true,
                Err(ErrorCode::BindingRequired),
            ),
            (M::Off, B::Any, S::Bearer, 0, false, true, Ok(false)),
            (M::Off, B::Any, S::Dpop, 1, true, false, Ok(true)),
            (
                M::Optional,
                B::Any,
                S::Bearer,
                0,
                false,
                false,
                Err(ErrorCode::BindingRequired),
            ),
        ];
        for (i, &(mode, binding, scheme, headers, jkt, x5t, expected)) in rows.iter().enumerate() {
            let got = decide(mode, binding, scheme, headers, &cnf(jkt, x5t));
            match (got, expected) {
                (Ok(checks), Ok(proof)) => {
                    assert_eq!(checks.proof, proof, "row {i}");
                    assert_eq!(checks.jkt.is_some(), jkt, "row {i}");
                    assert_eq!(checks.x5t_s256.is_some(), x5t, "row {i}");
                }
                (Err(e), Err(code)) => assert_eq!(e.code(), code, "row {i}: {e}"),
                (got, _) => panic!("row {i}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn schemes_parse_in_any_case() {
        assert_eq!(Scheme::parse("DPoP abc"), Some((S::Dpop, "abc")));
        assert_eq!(Scheme::parse("dpop  abc "), Some((S::Dpop, "abc")));
        assert_eq!(Scheme::parse("BEARER abc"), Some((S::Bearer, "abc")));
        assert_eq!(Scheme::parse("Basic abc"), None);
        assert_eq!(Scheme::parse("DPoP"), None);
        assert_eq!(Scheme::parse("DPoP "), None);
    }

    #[test]
    fn confirmation_is_read_strictly() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            Confirmation::from_claims(&claims(json!({}))).unwrap(),
            Confirmation::default()
        );
        let both = Confirmation::from_claims(&claims(
            json!({"cnf": {"jkt": "a", "x5t#S256": "b", "other": 1}}),
        ))
        .unwrap();
        assert_eq!(
            both,
            Confirmation {
                jkt: Some("a".into()),
                x5t_s256: Some("b".into())
            }
        );
        for bad in [
            json!({"cnf": "a"}),
            json!({"cnf": {"jkt": 1}}),
            json!({"cnf": {"jkt": ""}}),
            json!({"cnf": {"x5t#S256": null}}),
        ] {
            assert_eq!(
                Confirmation::from_claims(&claims(bad)).unwrap_err().code(),
                ErrorCode::InvalidClaim
            );
        }
    }
}
