//! Sender-constrained tokens: DPoP (RFC 9449) and certificate-bound tokens (RFC 8705 §3).
//!
//! Pure and host-independent, like the core: hosts pass the method, the URI, the header
//! values, the client certificate they know and `now`, and apply the answer.
//!
//! # How a host uses it
//!
//! 1. After the token verified: [`Confirmation::from_claims`], then [`decide`] with the
//!    route's [`DpopMode`] and [`BindingRequirement`], the [`Scheme`] of `Authorization` and
//!    the number of `DPoP` headers. It refuses, or says what to check ([`BindingChecks`]).
//! 2. With `proof`: [`ProofChecker::check_checked`] (or `check`) on a [`ProofRequest`] with
//!    the access token and the `jkt` to match, then [`ReplayMemory::check_and_remember`].
//! 3. With `x5t_s256`: [`check_certificate_binding`] with the [`ClientCertificate`].
//! 4. On a refusal, [`www_authenticate`] gives the challenge; for `use_dpop_nonce` the host
//!    also sends `DPoP-Nonce: ` [`NonceKey::issue`].
//!
//! # Design choices
//!
//! - **What a proof must satisfy** (RFC 9449 §4.3), in this order: exactly one `DPoP` header;
//!   at most [`ProofSettings::max_proof_bytes`] and a strict compact JWS (the token parser:
//!   strict base64url, no duplicate JSON names, bounded depth, no `crit`, never `alg: none`);
//!   `typ` `dpop+jwt`; `alg` in an allow-list that can hold no HMAC algorithm; a `jwk` header
//!   that is public (any private member or an `oct` key is refused) and serves `alg`; the
//!   signature, by that key, through the same [`crate::verify::SignatureCheck`] hosts plug
//!   WebCrypto into; then, authenticated, `jti` (1 to 256 bytes), `htm` (exact), `htu`,
//!   `iat` from `future_s` ahead to `max_age_s` behind `now`, `ath` (whenever an access token
//!   is presented), the key's RFC 7638 thumbprint against `cnf.jkt`, and the server nonce
//!   when the route asks for one. Every refusal is `invalid_dpop_proof`, except a thumbprint
//!   that is not the token's (`dpop_binding_mismatch`) and a missing or stale nonce
//!   (`use_dpop_nonce`). Hashes and thumbprints are compared in constant time.
//! - **`htu`** is compared after one normalisation of both sides: query and fragment dropped,
//!   scheme and host lower-cased, the default port removed, and the path in the canonical
//!   form routes are matched on ([`crate::gateway::path::canonical_path`]): what the proof
//!   names is what the route check saw. `dpop/` is therefore part of the edge layer.
//! - **The downgrade is closed**: a `cnf.jkt` token is refused with the `Bearer` scheme on
//!   every route, and a `cnf["x5t#S256"]` token without its verified certificate, whatever
//!   the route's settings; the route can only ask for more ([`decide`]).
//! - **Replay** ([`ReplayMemory`]): per isolate, a `(thumbprint, jti)` pair is refused until
//!   its proof's window ends. A full memory refuses new proofs (`dpop_replay_unavailable`,
//!   503) rather than forget one that could still be replayed. Exactly-once across isolates
//!   needs a global store (the revocation authority) on top.
//! - **Nonces** ([`NonceKey`]) are stateless: a window counter and a truncated HMAC of it,
//!   good for the current and the previous window, so no isolate stores or shares them.
//! - **mTLS** compares the token's base64url thumbprint with the certificate's SHA-256 given
//!   as hex (Cloudflare) or DER (Node) as 32 bytes, in constant time, and only for a
//!   certificate that was presented and verified.

mod binding;
#[cfg(feature = "rust-asym")]
mod create;
mod mtls;
mod nonce;
mod proof;
mod replay;
mod thumbprint;
mod uri;

pub use binding::{decide, BindingChecks, BindingRequirement, Confirmation, DpopMode, Scheme};
#[cfg(feature = "rust-asym")]
pub use create::{create_proof, ProofFor};
pub use mtls::{check_certificate_binding, CertificateFingerprint, ClientCertificate};
pub use nonce::{NonceKey, DEFAULT_NONCE_WINDOW_S, MIN_NONCE_SECRET_BYTES};
pub use proof::{
    CheckedProof, NonceRequirement, ProofChecker, ProofRequest, ProofSettings, DEFAULT_ALGORITHMS,
    DEFAULT_FUTURE_S, DEFAULT_MAX_AGE_S, DEFAULT_MAX_PROOF_BYTES, MAX_JTI_BYTES, MAX_WINDOW_S,
    PROOF_TYP,
};
pub use replay::{
    ledger_key, NoLedger, ProofLedger, ReplayMemory, ReplayScope, DEFAULT_REPLAY_CAPACITY,
};
pub use thumbprint::{access_token_hash, jwk_thumbprint};

use crate::alg::Alg;
use crate::error::{quoted_string_safe, Error, ErrorCode};

/// The `WWW-Authenticate` value for a sender-constraint refusal, `None` for codes this module
/// does not produce (the gateway's RFC 6750 challenge covers those) and for the 503:
/// - `invalid_dpop_proof` and `dpop_replayed`: `DPoP error="invalid_dpop_proof"` (RFC 9449
///   §7.1);
/// - `use_dpop_nonce`: `DPoP error="use_dpop_nonce"` (§8; the host adds `DPoP-Nonce`);
/// - `dpop_required`, `dpop_binding_mismatch`, `binding_required`: `DPoP
///   error="invalid_token"` (the token cannot be used as it was presented);
/// - `mtls_binding_mismatch`: `Bearer error="invalid_token"` (RFC 8705 §3).
///
/// DPoP challenges list `algs`, the proof algorithms accepted (§7.1).
pub fn www_authenticate(error: &Error, algs: &[Alg]) -> Option<String> {
    let (scheme, kind) = match error.code() {
        ErrorCode::InvalidDpopProof | ErrorCode::DpopReplayed => ("DPoP", "invalid_dpop_proof"),
        ErrorCode::UseDpopNonce => ("DPoP", "use_dpop_nonce"),
        ErrorCode::DpopRequired | ErrorCode::DpopBindingMismatch | ErrorCode::BindingRequired => {
            ("DPoP", "invalid_token")
        }
        ErrorCode::MtlsBindingMismatch => ("Bearer", "invalid_token"),
        _ => return None,
    };
    let mut challenge = format!(
        "{scheme} error=\"{kind}\", error_description=\"{}\"",
        quoted_string_safe(error.message())
    );
    if scheme == "DPoP" && !algs.is_empty() {
        let names: Vec<&str> = algs.iter().map(|a| a.name()).collect();
        challenge.push_str(&format!(", algs=\"{}\"", names.join(" ")));
    }
    Some(challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_follow_rfc_9449_section_7_1() {
        let algs = [Alg::ES256, Alg::EdDSA];
        let challenge =
            |code: ErrorCode, message: &str| www_authenticate(&Error::new(code, message), &algs);
        assert_eq!(
            challenge(ErrorCode::InvalidDpopProof, "bad \"htu\"").as_deref(),
            Some(
                r#"DPoP error="invalid_dpop_proof", error_description="bad 'htu'", algs="ES256 EdDSA""#
            )
        );
        assert_eq!(
            challenge(ErrorCode::UseDpopNonce, "nonce").as_deref(),
            Some(r#"DPoP error="use_dpop_nonce", error_description="nonce", algs="ES256 EdDSA""#)
        );
        assert_eq!(
            challenge(ErrorCode::DpopRequired, "d").as_deref(),
            Some(r#"DPoP error="invalid_token", error_description="d", algs="ES256 EdDSA""#)
        );
        assert_eq!(
            challenge(ErrorCode::MtlsBindingMismatch, "m").as_deref(),
            Some(r#"Bearer error="invalid_token", error_description="m""#)
        );
        assert_eq!(challenge(ErrorCode::DpopReplayUnavailable, "x"), None);
        assert_eq!(challenge(ErrorCode::Expired, "x"), None);
    }
}
