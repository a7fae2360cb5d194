//! The one error type of edge-jwt and its stable codes.
//!
//! Every rejection carries an [`ErrorCode`]: a stable snake_case string (the contract with the
//! Worker, the npm package and API clients) and an HTTP status. The human message says what
//! was wrong in terms of the policy; it never contains the token, a key or a secret.

use std::fmt;

/// Stable, documented reason for a rejection. The `code()` strings never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not a compact JWS: segments, base64url, JSON, or a header member of the wrong type.
    Malformed,
    /// The token is longer than `max_token_bytes`.
    TooLarge,
    /// A header member this validator refuses to process (`crit`, `b64: false`).
    UnsupportedHeader,
    /// `alg` is `none`, outside the allow-list, not built in, or not servable by the chosen key.
    AlgNotAllowed,
    /// The header names a `kid` that no configured key has.
    UnknownKid,
    /// No tried key verifies the signature.
    BadSignature,
    /// `now >= exp + leeway`.
    Expired,
    /// `now < nbf - leeway`.
    NotYetValid,
    /// `iat > now + leeway`.
    IatInFuture,
    /// `iss` is not an accepted issuer.
    BadIssuer,
    /// `aud` holds no accepted audience.
    BadAudience,
    /// A required claim (or `iss`/`aud` when configured) is absent.
    MissingClaim,
    /// A claim or the `typ` header has the wrong type or value.
    InvalidClaim,
    /// `exp - iat` is longer than the track's ceiling.
    TtlExceedsTrack,
    /// The track is not in the table and the policy rejects unknown tracks.
    UnknownTrack,
    /// The token's jti, subject or issue time is revoked.
    Revoked,
    /// The revocation store could not be consulted; the validator fails closed.
    RevocationUnavailable,
    /// The configuration (policy, keys, revocation file) is invalid.
    ConfigError,
    /// A gateway request carried no bearer token at all.
    MissingToken,
    /// The route requires a scope the token does not grant (HTTP 403).
    InsufficientScope,
    /// The token's track may not use the route (HTTP 403).
    TrackNotAllowed,
    /// The remote JWKS could not be fetched and the last good copy is too old (HTTP 503).
    JwksUnavailable,
    /// (gateways) The request path cannot be decided on safely: an encoded `/` or `\\`, a NUL,
    /// a `;` path parameter, a bad escape, or a dot segment above the root (HTTP 400).
    MalformedRequest,
    /// A refresh of a session older than its track's `max_session_s`.
    SessionExpired,
    /// (gateways) A cookie-authenticated refresh or logout sent from another site (HTTP 403).
    CrossSiteRequest,
    /// (gateways) The route needs a role the token does not hold (HTTP 403).
    InsufficientRole,
    /// (gateways) A claim does not satisfy the route's `claims` rule (HTTP 403).
    ClaimMismatch,
    /// (DPoP) The DPoP proof is missing, duplicated or fails an RFC 9449 §4.3 check.
    InvalidDpopProof,
    /// (DPoP) The proof carries no server nonce, or a stale or unknown one (RFC 9449 §8).
    UseDpopNonce,
    /// (DPoP) The token is DPoP-bound or the route requires DPoP, and the request did not use
    /// the `DPoP` scheme (the bearer downgrade).
    DpopRequired,
    /// (DPoP) The proof's key is not the key the token is bound to (`cnf.jkt`).
    DpopBindingMismatch,
    /// (mTLS) The client certificate is absent, unverified, or not the one the token is bound
    /// to (`cnf["x5t#S256"]`, RFC 8705 §3).
    MtlsBindingMismatch,
    /// The route requires a sender-constrained token and the token carries no such binding.
    BindingRequired,
    /// (DPoP) The proof's `jti` was already used with this key within its window.
    DpopReplayed,
    /// (DPoP) The replay memory is full of proofs still inside their window: new proofs are
    /// refused rather than old ones forgotten (HTTP 503).
    DpopReplayUnavailable,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 35] = [
        ErrorCode::Malformed,
        ErrorCode::TooLarge,
        ErrorCode::UnsupportedHeader,
        ErrorCode::AlgNotAllowed,
        ErrorCode::UnknownKid,
        ErrorCode::BadSignature,
        ErrorCode::Expired,
        ErrorCode::NotYetValid,
        ErrorCode::IatInFuture,
        ErrorCode::BadIssuer,
        ErrorCode::BadAudience,
        ErrorCode::MissingClaim,
        ErrorCode::InvalidClaim,
        ErrorCode::TtlExceedsTrack,
        ErrorCode::UnknownTrack,
        ErrorCode::Revoked,
        ErrorCode::RevocationUnavailable,
        ErrorCode::ConfigError,
        ErrorCode::MissingToken,
        ErrorCode::InsufficientScope,
        ErrorCode::TrackNotAllowed,
        ErrorCode::JwksUnavailable,
        ErrorCode::MalformedRequest,
        ErrorCode::SessionExpired,
        ErrorCode::CrossSiteRequest,
        ErrorCode::InsufficientRole,
        ErrorCode::ClaimMismatch,
        ErrorCode::InvalidDpopProof,
        ErrorCode::UseDpopNonce,
        ErrorCode::DpopRequired,
        ErrorCode::DpopBindingMismatch,
        ErrorCode::MtlsBindingMismatch,
        ErrorCode::BindingRequired,
        ErrorCode::DpopReplayed,
        ErrorCode::DpopReplayUnavailable,
    ];

    /// The stable machine-readable code.
    pub const fn code(self) -> &'static str {
        self.describe().0
    }

    /// The HTTP status a host answers with.
    pub const fn status(self) -> u16 {
        self.describe().1
    }

    /// Code and status in one table, so they cannot drift apart.
    const fn describe(self) -> (&'static str, u16) {
        match self {
            ErrorCode::Malformed => ("malformed", 401),
            ErrorCode::TooLarge => ("too_large", 401),
            ErrorCode::UnsupportedHeader => ("unsupported_header", 401),
            ErrorCode::AlgNotAllowed => ("alg_not_allowed", 401),
            ErrorCode::UnknownKid => ("unknown_kid", 401),
            ErrorCode::BadSignature => ("bad_signature", 401),
            ErrorCode::Expired => ("expired", 401),
            ErrorCode::NotYetValid => ("not_yet_valid", 401),
            ErrorCode::IatInFuture => ("iat_in_future", 401),
            ErrorCode::BadIssuer => ("bad_issuer", 401),
            ErrorCode::BadAudience => ("bad_audience", 401),
            ErrorCode::MissingClaim => ("missing_claim", 401),
            ErrorCode::InvalidClaim => ("invalid_claim", 401),
            ErrorCode::TtlExceedsTrack => ("ttl_exceeds_track", 401),
            ErrorCode::UnknownTrack => ("unknown_track", 401),
            ErrorCode::Revoked => ("revoked", 401),
            ErrorCode::RevocationUnavailable => ("revocation_unavailable", 503),
            ErrorCode::ConfigError => ("config_error", 500),
            ErrorCode::MissingToken => ("missing_token", 401),
            ErrorCode::InsufficientScope => ("insufficient_scope", 403),
            ErrorCode::TrackNotAllowed => ("track_not_allowed", 403),
            ErrorCode::JwksUnavailable => ("jwks_unavailable", 503),
            ErrorCode::MalformedRequest => ("malformed_request", 400),
            ErrorCode::SessionExpired => ("session_expired", 401),
            ErrorCode::CrossSiteRequest => ("cross_site_request", 403),
            ErrorCode::InsufficientRole => ("insufficient_role", 403),
            ErrorCode::ClaimMismatch => ("claim_mismatch", 403),
            ErrorCode::InvalidDpopProof => ("invalid_dpop_proof", 401),
            ErrorCode::UseDpopNonce => ("use_dpop_nonce", 401),
            ErrorCode::DpopRequired => ("dpop_required", 401),
            ErrorCode::DpopBindingMismatch => ("dpop_binding_mismatch", 401),
            ErrorCode::MtlsBindingMismatch => ("mtls_binding_mismatch", 401),
            ErrorCode::BindingRequired => ("binding_required", 401),
            ErrorCode::DpopReplayed => ("dpop_replayed", 401),
            ErrorCode::DpopReplayUnavailable => ("dpop_replay_unavailable", 503),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejection or a configuration failure: a stable code plus a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
    /// For a config error, the path of the field at fault (`keys[1].crv`), as data: hosts read
    /// it here rather than parse it back out of the message.
    path: Option<String>,
}

impl Error {
    /// Builds an error. Callers pass messages made of policy facts, never token or key bytes.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            path: None,
        }
    }

    /// A configuration error naming the field path (`keys[1].alg`) that is wrong.
    pub fn config(path: &str, message: impl fmt::Display) -> Self {
        if path.is_empty() || path == "." {
            return Self::new(ErrorCode::ConfigError, message.to_string());
        }
        Self {
            path: Some(path.to_owned()),
            ..Self::new(ErrorCode::ConfigError, format!("{path}: {message}"))
        }
    }

    /// The path of the field at fault, for a config error that names one.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// This error as part of an outer document (`POLICY`, `tracks`): the path and the message
    /// are both rooted there (`POLICY: keys[1].crv: …`, path `POLICY.keys[1].crv`).
    pub fn within(self, outer: &str) -> Self {
        let path = match &self.path {
            Some(inner) if inner.starts_with('[') => format!("{outer}{inner}"),
            Some(inner) => format!("{outer}.{inner}"),
            None => outer.to_owned(),
        };
        Self {
            message: format!("{outer}: {}", self.message),
            path: Some(path),
            code: self.code,
        }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The human-readable message (no secrets, no token bytes).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.code(), self.message)
    }
}

impl std::error::Error for Error {}

/// serde quotes the offending value (`invalid type: string "…"`), which may be secret material
/// (a key's `k` or `d`, a secret typed into the wrong field): everything between the first and
/// the last double quote is dropped before the message reaches a log or a caller.
pub(crate) fn redact_quoted(message: &str) -> String {
    match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if first < last => {
            format!(
                "{}(value redacted){}",
                &message[..first],
                &message[last + 1..]
            )
        }
        _ => message.to_owned(),
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `text` as the content of an HTTP `quoted-string` (`WWW-Authenticate`'s `error_description`):
/// `"`, `\`, control characters and anything outside printable ASCII become `'`. A message may
/// carry what a client sent (a proof's `alg`), and a header value with a non-ASCII character
/// makes runtimes throw (Node's `setHeader`, the Fetch API's `Headers`).
pub fn quoted_string_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '\'',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.code()), "duplicate {}", code.code());
            assert!(code
                .code()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        assert_eq!(ErrorCode::RevocationUnavailable.status(), 503);
        assert_eq!(ErrorCode::ConfigError.status(), 500);
        assert_eq!(ErrorCode::Expired.status(), 401);
    }

    #[test]
    fn readme_documents_every_code_with_its_status() {
        let readme = include_str!("../README.md");
        for code in ErrorCode::ALL {
            let row = format!("| `{}` | {} |", code.code(), code.status());
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }

    #[test]
    fn quoted_strings_keep_printable_ascii_only() {
        assert_eq!(super::quoted_string_safe("a \"b\" \\ c"), "a 'b' ' c");
        assert_eq!(
            super::quoted_string_safe("alg \"\u{1F600}\"\r\n\u{e9}"),
            "alg ''''''"
        );
        assert_eq!(
            super::quoted_string_safe("token_use ~ ok"),
            "token_use ~ ok"
        );
    }
}
