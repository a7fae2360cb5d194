//! DPoP proof creation (RFC 9449 §4.2), for tests, the CLI and the npm client helper. Not in
//! the Worker build, which carries no asymmetric signing code of its own (feature `rust-asym`).

use base64ct::{Base64UrlUnpadded, Encoding};
use rand_core::{CryptoRng, RngCore};
use serde_json::{Map, Value};

use super::proof::PROOF_TYP;
use super::thumbprint::access_token_hash;
use crate::error::{Error, Result};
use crate::mint::{new_jti, Signer};

/// The public members of a signer's key, as a proof's `jwk` header carries it: no `kid`,
/// `alg`, `use` or `key_ops` (RFC 9449 §4.2 needs only the key itself).
fn proof_jwk(signer: &Signer) -> Result<Value> {
    let mut jwk = signer.public_jwk().ok_or_else(|| {
        Error::config(
            "key",
            "a DPoP proof is signed with a private key, never a shared secret",
        )
    })?;
    if let Value::Object(members) = &mut jwk {
        for name in ["kid", "alg", "use", "key_ops"] {
            members.remove(name);
        }
    }
    Ok(jwk)
}

/// What a proof is made for.
#[derive(Debug, Clone, Copy)]
pub struct ProofFor<'a> {
    /// The request method (`htm`).
    pub method: &'a str,
    /// The request URL; its query and fragment are left out of `htu`.
    pub url: &'a str,
    /// The access token sent with the request, hashed into `ath`.
    pub access_token: Option<&'a str>,
    /// The server's latest `DPoP-Nonce`, if it gave one.
    pub nonce: Option<&'a str>,
}

/// Makes a DPoP proof (RFC 9449 §4.2) with `signer`'s private key: `typ` `dpop+jwt`, its
/// `alg`, its public key as `jwk`; a fresh 128-bit `jti`, `htm`, `htu`, `iat` = `now`, and
/// `ath` and `nonce` when given. For tests, the CLI and the npm client helper (not in the
/// Worker build, which carries no asymmetric signing code of its own).
pub fn create_proof(
    signer: &Signer,
    request: &ProofFor<'_>,
    now: u64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<String> {
    let jwk = proof_jwk(signer)?;
    let mut header = Map::new();
    header.insert("typ".into(), PROOF_TYP.into());
    header.insert("alg".into(), signer.alg().name().into());
    header.insert("jwk".into(), jwk);
    let url = request.url;
    let htu = url.split_once('#').map_or(url, |(before, _)| before);
    let htu = htu.split_once('?').map_or(htu, |(before, _)| before);
    let mut claims = Map::new();
    claims.insert("jti".into(), new_jti(rng).into());
    claims.insert("htm".into(), request.method.into());
    claims.insert("htu".into(), htu.into());
    claims.insert("iat".into(), now.into());
    if let Some(token) = request.access_token {
        claims.insert("ath".into(), access_token_hash(token).into());
    }
    if let Some(nonce) = request.nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    let signing_input = format!(
        "{}.{}",
        Base64UrlUnpadded::encode_string(Value::Object(header).to_string().as_bytes()),
        Base64UrlUnpadded::encode_string(Value::Object(claims).to_string().as_bytes())
    );
    let signature = Base64UrlUnpadded::encode_string(&signer.sign(signing_input.as_bytes()));
    Ok(format!("{signing_input}.{signature}"))
}
