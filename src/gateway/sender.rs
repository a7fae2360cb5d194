//! The gateway's sender-constraint step (`gateway.dpop`, `routes[].dpop`, `routes[].binding`):
//! after a token verified, [`crate::dpop`]'s checks run here, once for every host. Hosts hand
//! over the `DPoP` headers (with the others), the method, the absolute request URI and the
//! client certificate they know; the proof's signature goes through the host's
//! [`SignatureCheck`] like a token's.
//!
//! The replay memory lives here, in the edge policy, so it is per isolate in the Worker and
//! per `Validator` in the npm package. Nonces need a secret from the environment (the
//! Worker's `DPOP_NONCE_KEY`, the npm option `dpopNonceKey`): a policy with `gateway.dpop.nonce`
//! is refused at start-up without it, rather than run without the nonces it asks for.

use serde::Deserialize;

use crate::alg::{Alg, Family};
use crate::dpop::{
    check_certificate_binding, decide, BindingRequirement, ClientCertificate, Confirmation,
    DpopMode, NonceKey, NonceRequirement, ProofChecker, ProofLedger, ProofRequest, ProofSettings,
    ReplayMemory, ReplayScope, Scheme, DEFAULT_ALGORITHMS, DEFAULT_FUTURE_S, DEFAULT_MAX_AGE_S,
    DEFAULT_MAX_PROOF_BYTES, DEFAULT_NONCE_WINDOW_S, DEFAULT_REPLAY_CAPACITY, MAX_WINDOW_S,
    MIN_NONCE_SECRET_BYTES,
};
use crate::error::{Error, ErrorCode, Result};
use crate::policy::Verified;
use crate::verify::SignatureCheck;

/// Largest `replay_cache_size`: about 100 MB of entries in one isolate.
pub const MAX_REPLAY_CACHE_SIZE: usize = 1_000_000;

/// The `gateway.dpop` section as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpopConfig {
    /// Proof algorithms accepted (asymmetric only; default ES256, EdDSA, PS256, RS256).
    pub algorithms: Vec<String>,
    /// Seconds after its `iat` a proof is accepted (default 60).
    pub max_age_s: u64,
    /// Seconds before its `iat` a proof is accepted: client clock skew (default 30).
    pub future_s: u64,
    /// Longest proof accepted, in bytes (default 4096).
    pub max_proof_bytes: usize,
    /// Proofs remembered per isolate against replay (default 65 536).
    pub replay_cache_size: usize,
    /// Server nonces (RFC 9449 §8), with the secret from the host's environment.
    pub nonce: Option<NonceConfig>,
    /// `isolate` (default) or `global`: how far a proof's single use is enforced, unless a
    /// route says otherwise (`routes[].dpop_replay`). `global` needs the Worker's revocation
    /// authority.
    pub replay: ReplayScope,
}

impl Default for DpopConfig {
    fn default() -> Self {
        Self {
            algorithms: DEFAULT_ALGORITHMS
                .iter()
                .map(|a| a.name().to_owned())
                .collect(),
            max_age_s: DEFAULT_MAX_AGE_S,
            future_s: DEFAULT_FUTURE_S,
            max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
            replay_cache_size: DEFAULT_REPLAY_CAPACITY,
            nonce: None,
            replay: ReplayScope::Isolate,
        }
    }
}

/// The `gateway.dpop.nonce` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonceConfig {
    /// Seconds per nonce window; a nonce is good for its window and the next (default 300).
    #[serde(default = "default_window")]
    pub window_s: u64,
}

fn default_window() -> u64 {
    DEFAULT_NONCE_WINDOW_S
}

/// What the sender-constraint step reads of a request whose token verified.
#[derive(Debug, Clone, Copy)]
pub struct Presentation<'a> {
    /// The request method (a proof's `htm`).
    pub method: &'a str,
    /// The absolute request URI (a proof's `htu`), when the host gave it.
    pub uri: Option<&'a str>,
    /// The request headers (the `DPoP` ones are read).
    pub headers: &'a [(&'a str, &'a str)],
    /// The client certificate, when the host knows it.
    pub certificate: Option<ClientCertificate<'a>>,
    /// The access token as presented (a proof's `ath`).
    pub token: &'a str,
    /// How it was presented.
    pub scheme: Scheme,
    /// The route's `dpop`.
    pub dpop: DpopMode,
    /// The route's `binding`.
    pub binding: BindingRequirement,
    /// The route's `dpop_replay`, if it sets one.
    pub replay: Option<ReplayScope>,
}

/// The checked `gateway.dpop` section, with the per-isolate replay memory and, once the host
/// gave its secret, the nonce key.
#[derive(Debug, Default)]
pub struct SenderConstraints {
    proofs: ProofChecker,
    replay: ReplayMemory,
    replay_scope: ReplayScope,
    nonce_window_s: Option<u64>,
    nonce: Option<NonceKey>,
}

fn field(name: &str) -> String {
    format!("gateway.dpop.{name}")
}

impl SenderConstraints {
    /// Checks the section; every error names its field under `gateway.dpop`.
    pub fn new(config: &DpopConfig) -> Result<Self> {
        if config.algorithms.is_empty() {
            return Err(Error::config(
                &field("algorithms"),
                "must name at least one",
            ));
        }
        let mut algorithms = Vec::with_capacity(config.algorithms.len());
        for (i, name) in config.algorithms.iter().enumerate() {
            let path = field(&format!("algorithms[{i}]"));
            let alg = Alg::from_name(name)
                .ok_or_else(|| Error::config(&path, format!("unknown algorithm {name:?}")))?;
            if alg.family() == Family::Hmac {
                return Err(Error::config(
                    &path,
                    format!("{name} is symmetric: a DPoP proof is signed with a private key"),
                ));
            }
            if algorithms.contains(&alg) {
                return Err(Error::config(&path, format!("{name} is listed twice")));
            }
            algorithms.push(alg);
        }
        if !(1..=MAX_WINDOW_S).contains(&config.max_age_s) {
            return Err(Error::config(
                &field("max_age_s"),
                format!("must be within 1..={MAX_WINDOW_S}"),
            ));
        }
        if config.future_s > MAX_WINDOW_S {
            return Err(Error::config(
                &field("future_s"),
                format!("must be at most {MAX_WINDOW_S}"),
            ));
        }
        if !(512..=65_536).contains(&config.max_proof_bytes) {
            return Err(Error::config(
                &field("max_proof_bytes"),
                "must be within 512..=65536",
            ));
        }
        if !(1..=MAX_REPLAY_CACHE_SIZE).contains(&config.replay_cache_size) {
            return Err(Error::config(
                &field("replay_cache_size"),
                format!("must be within 1..={MAX_REPLAY_CACHE_SIZE}: replay memory cannot be off"),
            ));
        }
        if let Some(nonce) = &config.nonce {
            if !(1..=86_400).contains(&nonce.window_s) {
                return Err(Error::config(
                    &field("nonce.window_s"),
                    "must be within 1..=86400",
                ));
            }
        }
        let settings = ProofSettings::new(
            &algorithms,
            config.max_age_s,
            config.future_s,
            config.max_proof_bytes,
        )
        .map_err(|e| e.within("gateway"))?;
        Ok(Self {
            proofs: ProofChecker::new(settings),
            replay: ReplayMemory::new(config.replay_cache_size),
            replay_scope: config.replay,
            nonce_window_s: config.nonce.as_ref().map(|n| n.window_s),
            nonce: None,
        })
    }

    /// Refuses to start a policy whose routes check proofs globally (`replay: "global"`)
    /// on a host without a [`ProofLedger`]; `what` says what the host would need.
    pub fn check_ledger(
        &self,
        routes: &super::routes::RouteTable,
        has_ledger: bool,
        what: &str,
    ) -> Result<()> {
        let global =
            |scope: Option<ReplayScope>| scope.unwrap_or(self.replay_scope) == ReplayScope::Global;
        if has_ledger || !routes.all().any(|r| global(r.dpop_replay)) {
            return Ok(());
        }
        let at = match routes.all().find(|r| global(r.dpop_replay)) {
            Some(r) if r.dpop_replay.is_some() => match r.index {
                Some(i) => format!("routes[{i}].dpop_replay"),
                None => "default_route.dpop_replay".to_owned(),
            },
            _ => field("replay"),
        };
        Err(Error::config(
            &at,
            format!("a global replay check needs {what}"),
        ))
    }

    /// Whether the policy asks for server nonces (`gateway.dpop.nonce`), so the host must
    /// give the secret ([`Self::set_nonce_secret`]) before serving requests.
    pub fn wants_nonce_secret(&self) -> bool {
        self.nonce_window_s.is_some()
    }

    /// Whether nonces are in force (the policy asks for them and the host gave the secret).
    pub fn has_nonces(&self) -> bool {
        self.nonce.is_some()
    }

    /// Sets the nonce secret from the host's environment (at least
    /// [`MIN_NONCE_SECRET_BYTES`]). `name` is what the host calls it, for the error.
    pub fn set_nonce_secret(&mut self, name: &str, secret: &[u8]) -> Result<()> {
        let Some(window_s) = self.nonce_window_s else {
            return Err(Error::config(
                name,
                "is set but the policy has no gateway.dpop.nonce section",
            ));
        };
        if secret.len() < MIN_NONCE_SECRET_BYTES {
            return Err(Error::config(
                name,
                format!("must be at least {MIN_NONCE_SECRET_BYTES} bytes"),
            ));
        }
        self.nonce = Some(NonceKey::new(secret, window_s).map_err(|e| Error::config(name, e))?);
        Ok(())
    }

    /// Refuses to start a policy that asks for nonces without their secret.
    pub fn check_ready(&self, name: &str) -> Result<()> {
        if self.wants_nonce_secret() && self.nonce.is_none() {
            return Err(Error::config(
                name,
                "required by gateway.dpop.nonce (the DPoP nonce secret)",
            ));
        }
        Ok(())
    }

    /// The proof algorithms accepted (a challenge's `algs`).
    pub fn algorithms(&self) -> &[Alg] {
        self.proofs.settings().algorithms()
    }

    /// Proofs remembered now (for health and tests).
    pub fn remembered(&self) -> usize {
        self.replay.len()
    }

    /// The `DPoP-Nonce` to send with a `use_dpop_nonce` refusal.
    pub fn nonce_for(&self, error: &Error, now: u64) -> Option<String> {
        if error.code() != ErrorCode::UseDpopNonce {
            return None;
        }
        self.nonce.as_ref().map(|key| key.issue(now, None))
    }

    /// The sender-constraint step for a verified token (see [`crate::dpop`]'s "How a host
    /// uses it"): the token's `cnf` and the route decide what to check; a proof is checked
    /// (signature by `check`), then remembered against replay in this isolate and, on routes
    /// with global replay, recorded once in `ledger`; a certificate binding is checked
    /// against the client certificate the host gave (none: refused).
    pub async fn check(
        &self,
        request: &Presentation<'_>,
        verified: &Verified,
        now: u64,
        check: &impl SignatureCheck,
        ledger: &impl ProofLedger,
    ) -> Result<()> {
        let cnf = Confirmation::from_claims(verified.claims())?;
        let proofs: Vec<&str> = request
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("dpop"))
            .map(|&(_, value)| value)
            .collect();
        let checks = decide(
            request.dpop,
            request.binding,
            request.scheme,
            proofs.len(),
            &cnf,
        )?;
        if checks.proof {
            let uri = request.uri.ok_or_else(|| {
                Error::new(
                    ErrorCode::ConfigError,
                    "the host gave no request URI to check the DPoP proof's htu against",
                )
            })?;
            let proof_request = ProofRequest {
                dpop_headers: &proofs,
                method: request.method,
                uri,
                access_token: Some(request.token),
                jkt: checks.jkt.as_deref(),
                nonce: self
                    .nonce
                    .as_ref()
                    .map(|key| NonceRequirement { key, binding: None }),
            };
            let proof = self
                .proofs
                .check_checked(&proof_request, now, check)
                .await?;
            self.replay.check_and_remember(&proof, now)?;
            // Then, where the route asks, once across every isolate.
            if request.replay.unwrap_or(self.replay_scope) == ReplayScope::Global
                && !ledger.first_use(&proof).await?
            {
                return Err(Error::new(
                    ErrorCode::DpopReplayed,
                    "this DPoP proof was already used",
                ));
            }
        }
        if let Some(x5t) = &checks.x5t_s256 {
            let none = ClientCertificate {
                presented: false,
                verified: false,
                fingerprint: None,
            };
            check_certificate_binding(x5t, &request.certificate.unwrap_or(none))?;
        }
        Ok(())
    }

    /// The challenge for a refusal of a request: the DPoP module's for its codes; for a
    /// request that used the DPoP scheme, the RFC 6750 challenge under the `DPoP` scheme with
    /// `algs` (RFC 9449 §7.1); else `bearer` as it is.
    pub fn challenge(
        &self,
        error: &Error,
        scheme: Option<Scheme>,
        bearer: Option<String>,
    ) -> Option<String> {
        if let Some(challenge) = crate::dpop::www_authenticate(error, self.algorithms()) {
            return Some(challenge);
        }
        match (scheme, bearer) {
            (Some(Scheme::Dpop), Some(bearer)) => {
                let params = bearer.strip_prefix("Bearer").unwrap_or(&bearer);
                Some(self.dpop_challenge(params.trim_start()))
            }
            (_, bearer) => bearer,
        }
    }

    /// `DPoP <params>, algs="…"`, or `DPoP algs="…"` without other parameters.
    pub fn dpop_challenge(&self, params: &str) -> String {
        let algs: Vec<&str> = self.algorithms().iter().map(|a| a.name()).collect();
        let algs = format!("algs=\"{}\"", algs.join(" "));
        if params.is_empty() {
            format!("DPoP {algs}")
        } else {
            format!("DPoP {params}, {algs}")
        }
    }
}

/// Refuses a sender-constrained token at an endpoint that checks no proof or certificate (the
/// Worker's `/v1/refresh` and `/v1/logout`): a stolen bound token must stay useless without its
/// key, there as on every route (it could otherwise be rotated, consuming the owner's token,
/// or logged out).
pub fn require_unbound(verified: &Verified) -> Result<()> {
    let cnf = Confirmation::from_claims(verified.claims())?;
    if cnf.jkt.is_some() {
        return Err(Error::new(
            ErrorCode::DpopRequired,
            "a DPoP-bound token is not accepted here: this endpoint checks no proof",
        ));
    }
    if cnf.x5t_s256.is_some() {
        return Err(Error::new(
            ErrorCode::MtlsBindingMismatch,
            "a certificate-bound token is not accepted here: this endpoint checks no certificate",
        ));
    }
    Ok(())
}
