//! edge-jwt: a JWT validator for the edge.
//!
//! The core is pure (no I/O, no clock): hosts — the CLI, the Cloudflare Worker, the npm
//! package — pass `now` and look revocations up themselves.
//!
//! # Design choices
//!
//! - **Order of checks:** size → structure (three strict base64url segments) → header (JSON
//!   object, `alg`, `crit`, `b64`, `typ`) → key choice → signature → payload JSON → claims →
//!   track ceiling → revocation. A tampered token therefore always reports `bad_signature`, and
//!   the JSON parser only ever sees authenticated payload bytes, except for one member: with
//!   several issuers (`issuers`), the unverified `iss` selects whose keys and rules apply.
//! - **The header picks among configured keys; it never picks the algorithm family.** A key's
//!   type fixes what it can verify, so an RSA public key can never act as an HMAC secret.
//! - **One error enum** ([`ErrorCode`]) with stable codes and HTTP statuses for every host.
//! - **Bad config fails at construction** ([`Validator::from_json`]), naming the field path.
//! - **Attacker-controlled work is bounded:** token bytes ([`token::DEFAULT_MAX_TOKEN_BYTES`]),
//!   JSON depth ([`json::MAX_JSON_DEPTH`]) and keys tried without a `kid`
//!   ([`keys::MAX_KEYS_WITHOUT_KID`]).
//! - Signatures go through `jwt-compact` 0.8's algorithm implementations (RustCrypto `rsa`,
//!   `p256`, `hmac`, and `ed25519-compact`).

#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::all)]

pub mod alg;
pub mod claim_match;
pub mod claims;
pub mod config;
pub mod dpop;
pub mod error;
pub mod es384;
pub mod gateway;
pub mod inspect;
pub mod json;
pub mod keygen;
pub mod keys;
pub mod mint;
pub mod policy;
pub mod revocation;
pub mod token;
pub mod track;
pub mod verify;
#[cfg(all(feature = "wasm", target_arch = "wasm32"))]
mod wasm;
#[cfg(all(feature = "worker", target_arch = "wasm32"))]
mod worker;

// The edge layer's modules under their former paths.
pub use gateway::{jwks, routes};

pub use alg::Alg;
pub use config::{Config, Policy};
pub use error::{Error, ErrorCode, Result};
pub use mint::{issue, IssueRequest, Issued, Signer};
pub use policy::{Validator, Verified};
pub use revocation::{RevocationFacts, RevocationList, RevocationRequest, RevocationStatus};
