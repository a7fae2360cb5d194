//! Per-isolate state: the shared edge validator (policies, remote JWKS, revocation checker)
//! with the Worker's I/O, the signer and the secrets, built once from the environment. A bad
//! environment is a `config_error` naming what is wrong.

use std::cell::RefCell;
use std::collections::HashSet;

use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use worker::Env;

use super::authority::{self, Receipt, WriteOutcome, WriteRequest};
use super::authority_client::AuthorityClient;
use super::env::{env_string, snapshot_key};
use super::jwks_fetch::WorkerJwksHost;
use super::kv::{KvRevocations, BINDING};
use super::metrics::Metrics;
use super::webcrypto::WebCrypto;
use crate::config::{Config, Secret};
use crate::error::{Error, ErrorCode, Result};
use crate::gateway::edge::EdgeValidator;
use crate::gateway::edge_policy;
use crate::mint::Signer;
use crate::policy::{Validator, Verified};
use crate::revocation::replica::Replica;
use crate::revocation::RevocationRequest;

/// What a revocation did.
pub enum Applied {
    /// Written; through the authority, with its receipt (epoch, publication time).
    Written(Option<Receipt>),
    /// A consuming write found the jti rotated already: a reused refresh token (its subject's
    /// sessions are revoked with it).
    Reused,
    /// A consuming write found the jti revoked for another reason (logout, admin).
    Revoked,
}

/// Shortest `ADMIN_TOKEN` accepted.
const MIN_ADMIN_TOKEN_BYTES: usize = 16;

/// Everything a request needs, shared by the requests of one isolate.
pub struct State {
    /// The policies, the remote JWKS and the revocation checker: the same edge validator as
    /// the npm package's.
    pub core: EdgeValidator<KvRevocations>,
    /// The Worker's I/O for the remote JWKS.
    jwks_host: WorkerJwksHost,
    /// Asymmetric signatures are checked by the runtime's WebCrypto.
    pub crypto: WebCrypto,
    /// DPoP proof signatures, by WebCrypto too, their per-client keys kept apart from the
    /// token keys' cache ([`WebCrypto::for_proofs`]).
    pub proof_crypto: WebCrypto,
    /// Outcome counters and the optional Analytics Engine dataset.
    pub metrics: Metrics,
    /// The revocation authority, when bound: every write goes through it, and revocation
    /// checks read its snapshot (`core.replica`).
    pub authority: Option<AuthorityClient>,
    pub signer: Option<Signer>,
    /// `ORIGIN` without a trailing slash, e.g. `https://api.internal`.
    pub origin: Option<String>,
    /// jtis of the refreshes running in this isolate: a second refresh of the same token
    /// while the first is in flight is refused, so one token yields at most one successor
    /// here (across isolates, see the README's refresh section).
    pub refreshing: RefCell<HashSet<String>>,
    admin_token_digest: Option<[u8; 32]>,
}

/// Appends the `JWKS` secret (a JWKS object or a JWK list) to the policy's own keys.
fn merge_keys(config: &mut Config, jwks_json: &str) -> Result<()> {
    let jwks: Value = serde_json::from_str(jwks_json).map_err(|e| Error::config("JWKS", e))?;
    let mut extra = match jwks {
        Value::Object(mut set) => match set.remove("keys") {
            Some(Value::Array(keys)) => keys,
            _ => {
                return Err(Error::config(
                    "JWKS",
                    "a JWKS object must have a \"keys\" array",
                ))
            }
        },
        Value::Array(keys) => keys,
        _ => {
            return Err(Error::config(
                "JWKS",
                "must be a JWKS object or a list of JWKs",
            ))
        }
    };
    let mut keys = match config.keys.take() {
        None => Vec::new(),
        Some(Value::Array(keys)) => keys,
        Some(Value::Object(mut set)) => match set.remove("keys") {
            Some(Value::Array(keys)) => keys,
            _ => {
                return Err(Error::config(
                    "keys",
                    "a JWKS object must have a \"keys\" array",
                ))
            }
        },
        Some(_) => {
            return Err(Error::config(
                "keys",
                "must be a list of JWKs or a JWKS object",
            ))
        }
    };
    keys.append(&mut extra);
    config.keys = Some(Value::Array(keys));
    Ok(())
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl State {
    /// Reads and checks the whole environment.
    pub fn from_env(env: &Env) -> Result<State> {
        let policy_json = env_string(env, "POLICY")
            .ok_or_else(|| Error::config("POLICY", "the POLICY var is not set"))?;
        let (mut config, edge) =
            edge_policy::split(&policy_json).map_err(|e| e.within("POLICY"))?;
        if config.secret.is_some() {
            return Err(Error::config(
                "POLICY.secret",
                "secrets belong in the JWT_SECRET secret, not in POLICY",
            ));
        }
        let jwt_secret = env_string(env, "JWT_SECRET");
        config.secret = jwt_secret.as_deref().map(Secret::new);
        if let Some(jwks) = env_string(env, "JWKS") {
            merge_keys(&mut config, &jwks)?;
        }
        let (policy, mut edge) = edge_policy::build(config, edge).map_err(|e| {
            if e.path() == Some("secret") {
                // The policy's secret came from the JWT_SECRET secret: name that.
                let why = e.message().strip_prefix("secret: ").unwrap_or(e.message());
                Error::config("JWT_SECRET", why)
            } else {
                e.within("POLICY")
            }
        })?;

        // The DPoP nonce secret (RFC 9449 §8), for a policy with `gateway.dpop.nonce`.
        if let Some(secret) = env_string(env, "DPOP_NONCE_KEY") {
            let secret = zeroize::Zeroizing::new(secret.into_bytes());
            edge.sender.set_nonce_secret("DPOP_NONCE_KEY", &secret)?;
        }
        edge.sender.check_ready("DPOP_NONCE_KEY")?;

        let kv = env.kv(BINDING).map_err(|_| {
            Error::config(BINDING, "the KV namespace binding REVOCATIONS is missing")
        })?;
        // The shared JWKS copy lives in JWKS_CACHE when bound, else beside the revocations.
        let jwks_kv = env
            .kv("JWKS_CACHE")
            .or_else(|_| env.kv(BINDING))
            .map_err(|_| {
                Error::config("JWKS_CACHE", "no KV namespace to share the JWKS through")
            })?;
        let authority = match authority::namespace(env) {
            Some(namespace) => {
                let key = snapshot_key(env)?.ok_or_else(|| {
                    Error::config(
                        "SNAPSHOT_KEY",
                        "required with the REVOCATION_AUTHORITY binding (the snapshot's MAC key)",
                    )
                })?;
                let replica = Replica::new(
                    &key,
                    edge.revocation.snapshot_ttl_s,
                    edge.revocation.publish_interval_s,
                )?;
                let client =
                    AuthorityClient::new(namespace, kv.clone(), edge.revocation.timeout_ms);
                Some((client, replica))
            }
            None => None,
        };
        edge.sender.check_ledger(
            &edge.routes,
            authority.is_some(),
            "the REVOCATION_AUTHORITY binding (the proof ledger)",
        )?;
        let revocations = KvRevocations::new(kv, &edge.revocation);

        let signing_key = env_string(env, "SIGNING_KEY");
        let signer =
            Signer::for_policy(&policy, signing_key.as_deref(), jwt_secret.as_deref(), None)
                .map_err(|e| match &signing_key {
                    Some(_) => Error::config("SIGNING_KEY", e.message()),
                    None => Error::config("JWT_SECRET", e.message()),
                })?;

        let origin = env_string(env, "ORIGIN")
            .map(|o| check_origin(&o))
            .transpose()?;

        let admin_token = env_string(env, "ADMIN_TOKEN");
        if admin_token
            .as_ref()
            .is_some_and(|t| t.len() < MIN_ADMIN_TOKEN_BYTES)
        {
            return Err(Error::config(
                "ADMIN_TOKEN",
                format!("must be at least {MIN_ADMIN_TOKEN_BYTES} bytes"),
            ));
        }
        let metrics = Metrics::new(env, &policy.tracks, edge.gateway.metrics_sample_every);
        let mut core = EdgeValidator::new(Validator::new(policy), edge, Some(revocations));
        let authority = match authority {
            Some((client, replica)) => {
                core = core.with_replica(replica);
                Some(client)
            }
            None => None,
        };
        Ok(State {
            core,
            jwks_host: WorkerJwksHost::new(jwks_kv, snapshot_key(env)?),
            crypto: WebCrypto::default(),
            proof_crypto: WebCrypto::for_proofs(),
            metrics,
            authority,
            signer,
            origin,
            refreshing: RefCell::default(),
            admin_token_digest: admin_token.as_deref().map(digest),
        })
    }

    /// Verifies a token (no revocation): the edge validator's rules for the inline keys and
    /// the remote JWKS, with the Worker's I/O.
    pub async fn verify_token(&self, token: &str, now: u64) -> Result<Verified> {
        self.core
            .verify(&self.jwks_host, token, now, &self.crypto)
            .await
    }

    /// The gateway's full check of one token at `now`, revocation included; a token refused
    /// by revocation comes back with the error (for the log line).
    pub async fn check_token(
        &self,
        token: &str,
        now: u64,
    ) -> std::result::Result<Verified, (Error, Option<Verified>)> {
        self.core
            .check(&self.jwks_host, &self.authority, token, now, &self.crypto)
            .await
    }

    /// The revocation verdict from the store or the authority itself (see
    /// [`EdgeValidator::check_revocation_uncached`]).
    pub async fn check_revocation_uncached(&self, verified: &Verified, now: u64) -> Result<()> {
        self.core
            .check_revocation_uncached(&self.authority, verified, now)
            .await
    }

    /// Applies a revocation: through the revocation authority when it is bound (one writer:
    /// "later wins" exact, and with `consume` a refresh token's jti used once across isolates),
    /// else straight to KV. This isolate enforces it at once either way.
    pub async fn revoke(
        &self,
        request: &RevocationRequest,
        now: u64,
        consume: bool,
    ) -> Result<Applied> {
        let Some(client) = &self.authority else {
            self.core.checker()?.revoke(request, now).await?;
            return Ok(Applied::Written(None));
        };
        let policy = self.core.validator.policy();
        let write = WriteRequest {
            request: request.clone(),
            consume,
            now,
            longest_lifetime_s: policy.longest_lifetime_s(),
            leeway_s: policy.longest_leeway_s(),
        };
        let learn = |receipt: &Receipt| {
            if let Some(replica) = &self.core.replica {
                let written = &receipt.written;
                replica.learn(&written.key, written.time, receipt.epoch);
            }
        };
        match client.send(&write).await? {
            WriteOutcome::Written(receipt) => {
                learn(&receipt);
                Ok(Applied::Written(Some(receipt)))
            }
            WriteOutcome::Reused(receipt) => {
                learn(&receipt);
                Ok(Applied::Reused)
            }
            WriteOutcome::Revoked => Ok(Applied::Revoked),
            WriteOutcome::Failed(why) => Err(Error::new(
                ErrorCode::RevocationUnavailable,
                format!("revocation could not be stored: {why}"),
            )),
        }
    }

    /// Whether writes go through the revocation authority.
    pub fn has_authority(&self) -> bool {
        self.authority.is_some()
    }

    /// Remote fetches (JWKS and discovery) made by this isolate, when the policy has any
    /// remote key set.
    pub fn jwks_fetches(&self) -> Option<u64> {
        self.core.jwks_fetches()
    }

    /// Constant-time comparison with `ADMIN_TOKEN` (digests first, so length does not leak).
    pub fn is_admin_token(&self, presented: &str) -> bool {
        self.admin_token_digest
            .is_some_and(|expected| bool::from(expected.ct_eq(&digest(presented))))
    }
}

/// `ORIGIN` is a base URL: scheme, host, optional port and path prefix; no query or fragment.
/// Checked by hand rather than with the `url` crate, whose IDNA tables would double the bundle.
fn check_origin(origin: &str) -> Result<String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = rest.and_then(|r| r.split('/').next()).unwrap_or("");
    if host.is_empty() || origin.contains(['?', '#', ' ']) {
        return Err(Error::config(
            "ORIGIN",
            "must be an http(s) base URL without query or fragment",
        ));
    }
    Ok(origin.trim_end_matches('/').to_owned())
}
