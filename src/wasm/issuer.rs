//! `CoreIssuer` and `generateKey`: minting tokens under a policy, and making keys.

use rand_core::OsRng;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;

use super::convert::{error_value, seconds, to_json, type_error};
use crate::alg::Alg;
use crate::config::{Policy, Secret};
use crate::error::Error;
use crate::gateway;
use crate::keygen;
use crate::mint::{issue, IssueRequest, Signer};

/// What `issue()` takes (`ttl` in seconds; the JS side converts `"30m"`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    sub: Option<String>,
    track: Option<Value>,
    ttl: Option<u64>,
    #[serde(default)]
    claims: Map<String, Value>,
}

/// A policy and a signing key, for hosts that mint tokens.
#[wasm_bindgen(js_name = CoreIssuer)]
pub struct CoreIssuer {
    policy: Policy,
    signer: Signer,
}

fn parse_alg(name: Option<String>) -> Result<Option<Alg>, Error> {
    name.map(|name| {
        Alg::from_name(&name).ok_or_else(|| {
            Error::config("alg", format!("{name:?} is not implemented by this build"))
        })
    })
    .transpose()
}

#[wasm_bindgen(js_class = CoreIssuer)]
impl CoreIssuer {
    /// `key_json` is a private JWK; without it the config's `secret` signs with `alg`, or with
    /// the first HMAC algorithm the policy allows (as the Worker's refresh does).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config_json: &str,
        key_json: Option<String>,
        alg: Option<String>,
    ) -> Result<CoreIssuer, JsValue> {
        Self::build(config_json, key_json, alg).map_err(|e| error_value(&e))
    }

    fn build(
        config_json: &str,
        key_json: Option<String>,
        alg: Option<String>,
    ) -> Result<CoreIssuer, Error> {
        let (config, edge) = gateway::edge_policy::split(config_json)?;
        let secret = config.secret.clone();
        let (policy, _) = gateway::edge_policy::build(config, edge)?;
        let alg = parse_alg(alg)?;
        let signer = Signer::for_policy(
            &policy,
            key_json.as_deref(),
            secret.as_ref().map(Secret::expose),
            alg,
        )?
        .ok_or_else(|| match secret {
            Some(_) => Error::config(
                "algorithms",
                "no HMAC algorithm is allowed: pass a private JWK to sign",
            ),
            None => Error::config(
                "key",
                "a private JWK is required unless the config has an HMAC secret",
            ),
        })?;
        Ok(CoreIssuer { policy, signer })
    }

    /// Mints a token: `{"token","jti","iat","exp","track"}`.
    pub fn issue(&self, request_json: &str, now: f64) -> Result<String, JsValue> {
        let body: IssueBody = serde_json::from_str(request_json).map_err(|e| {
            type_error(&format!(
                "issue() takes {{ sub?, track?, ttl?, claims? }}: {e}"
            ))
        })?;
        let track = match body.track {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
            Some(_) => {
                return Err(type_error(
                    "track must be a non-negative integer or a string",
                ))
            }
        };
        let issued = issue(
            &self.policy,
            &self.signer,
            IssueRequest {
                sub: body.sub,
                track,
                ttl_s: body.ttl,
                claims: body.claims,
            },
            seconds(now),
            &mut OsRng,
        )
        .map_err(|e| error_value(&e))?;
        Ok(to_json(&issued))
    }

    /// The signing algorithm.
    pub fn alg(&self) -> String {
        self.signer.alg().name().to_owned()
    }

    /// The public JWK of the signing key (`undefined` for HMAC).
    #[wasm_bindgen(js_name = publicJwk)]
    pub fn public_jwk(&self) -> Option<String> {
        self.signer.public_jwk().map(|jwk| to_json(&jwk))
    }
}

/// A new key: `{"privateJwk":…, "jwks":{"keys":[…]}|null}`.
#[wasm_bindgen(js_name = generateKey)]
pub fn generate_key(alg: &str, kid: Option<String>) -> Result<String, JsValue> {
    let alg = parse_alg(Some(alg.to_owned()))
        .and_then(|a| a.ok_or_else(|| Error::config("alg", "required")))
        .map_err(|e| error_value(&e))?;
    let key = keygen::generate(alg, kid.as_deref(), &mut OsRng).map_err(|e| error_value(&e))?;
    Ok(to_json(
        &json!({ "privateJwk": key.private_jwk, "jwks": key.public_jwks }),
    ))
}
