//! Signature checks by the Workers runtime's WebCrypto (`crypto.subtle.verify`), which runs
//! RSA, ECDSA and Ed25519 natively, several times faster than the same code compiled to wasm.
//! The core still parses, chooses the key, matches the algorithm to it, refuses a signature of
//! the wrong shape ([`verify::is_well_formed`]: length, ECDSA r and s in range, Ed25519 S below
//! L) and checks every claim, in its order; WebCrypto only answers "does this signature
//! verify under this public key?". HMAC stays in the core (a call out costs more than the
//! MAC). The Worker's build carries no RustCrypto RSA, ECDSA or Ed25519 (feature `rust-asym`
//! off): a key WebCrypto cannot import verifies nothing, and a refresh signed with an
//! asymmetric `SIGNING_KEY` is made here too (`crypto.subtle.sign`, [`WebCrypto::sign`]).
//! Built with `rust-asym`, jwt-compact would take over keys WebCrypto cannot import.

use std::cell::RefCell;
use std::collections::VecDeque;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::alg::{Alg, Family};
use crate::error::{Error, Result};
use crate::keys::{KeySet, VerificationKey};
use crate::mint::Signer;
use crate::verify::{self, PreparedKeys, SignatureCheck};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn import_key(
        format: &str,
        key: &JsValue,
        algorithm: &JsValue,
        extractable: bool,
        usages: &Array,
    ) -> std::result::Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = verify, catch)]
    fn subtle_verify(
        algorithm: &JsValue,
        key: &JsValue,
        signature: &Uint8Array,
        data: &Uint8Array,
    ) -> std::result::Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = sign, catch)]
    fn subtle_sign(
        algorithm: &JsValue,
        key: &JsValue,
        data: &Uint8Array,
    ) -> std::result::Result<Promise, JsValue>;
}

/// Most DPoP proof keys kept: a client signs every proof with one key, so its second request
/// finds it imported; beyond this many clients the oldest import goes.
const MAX_PROOF_KEYS: usize = 256;

/// WebCrypto as the Worker's [`SignatureCheck`], with each key imported once per isolate.
#[derive(Default)]
pub struct WebCrypto {
    /// Keep keys by their JWK's text rather than their [`VerificationKey::id`], in
    /// `proof_keys`: DPoP proofs bring their key anew with every request (a new id each time),
    /// and would otherwise push the policy's own keys out of `keys` (see
    /// [`WebCrypto::for_proofs`]).
    for_proofs: bool,
    /// Proof keys imported, by (algorithm, public JWK text): compared whole, so one key never
    /// stands for another; oldest first out past [`MAX_PROOF_KEYS`].
    proof_keys: RefCell<VecDeque<(Alg, String, Option<JsValue>)>>,
    /// The imported `CryptoKey` per (algorithm, key); `None` where the import failed (then
    /// the signature does not verify).
    keys: PreparedKeys<JsValue>,
    /// The import and verify parameters per algorithm, built once (JS objects).
    parameters: RefCell<Vec<(Alg, JsValue, JsValue)>>,
    /// Signatures checked by WebCrypto and by jwt-compact (for `/v1/health`).
    counts: RefCell<(u64, u64)>,
    /// The signer's private key, imported and checked against its public half once.
    signing_key: RefCell<Option<JsValue>>,
}

/// What the signing key signs once, to check that its `d` belongs to its public members.
const PROBE: &[u8] = b"edge-jwt: does this private key match its public JWK?";

fn object(members: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (name, value) in members {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

fn hash_name(alg: Alg) -> &'static str {
    match alg {
        Alg::RS384 | Alg::PS384 | Alg::ES384 => "SHA-384",
        Alg::RS512 | Alg::PS512 => "SHA-512",
        _ => "SHA-256",
    }
}

/// The WebCrypto algorithm to import a key for `alg` with, and to verify with; `None` for
/// what stays in the core (HMAC).
fn algorithms(alg: Alg) -> Option<(JsValue, JsValue)> {
    let hash = || JsValue::from_str(hash_name(alg));
    let named = |name: &str| JsValue::from_str(name);
    match alg {
        Alg::RS256 | Alg::RS384 | Alg::RS512 => {
            let params = object(&[("name", named("RSASSA-PKCS1-v1_5")), ("hash", hash())]);
            Some((params.clone(), params))
        }
        Alg::PS256 | Alg::PS384 | Alg::PS512 => {
            // RFC 7518 §3.5: the salt is as long as the hash output.
            let salt = match alg {
                Alg::PS384 => 48,
                Alg::PS512 => 64,
                _ => 32,
            };
            Some((
                object(&[("name", named("RSA-PSS")), ("hash", hash())]),
                object(&[
                    ("name", named("RSA-PSS")),
                    ("saltLength", JsValue::from(salt)),
                ]),
            ))
        }
        Alg::ES256 | Alg::ES384 => {
            let curve = if alg == Alg::ES384 { "P-384" } else { "P-256" };
            Some((
                object(&[("name", named("ECDSA")), ("namedCurve", named(curve))]),
                object(&[("name", named("ECDSA")), ("hash", hash())]),
            ))
        }
        Alg::EdDSA => {
            let params = object(&[("name", named("Ed25519"))]);
            Some((params.clone(), params))
        }
        _ => None,
    }
}

impl WebCrypto {
    /// A check for DPoP proofs: proof keys are kept apart from the token keys, by their JWK's
    /// text (a client's next proof reuses its import), so per-client keys neither fill nor
    /// evict the cache of the policy's keys.
    pub fn for_proofs() -> Self {
        Self {
            for_proofs: true,
            ..Self::default()
        }
    }

    /// The imported key for `alg` and `key`, importing it on first use.
    async fn crypto_key(
        &self,
        alg: Alg,
        key: &VerificationKey,
        import: &JsValue,
    ) -> Option<JsValue> {
        // Proof keys are found by their JWK's text; the policy's own keys by their id, so the
        // text is built only when one is imported (not on every request).
        let mut text = self.for_proofs.then(|| key.importable_jwk_json()).flatten();
        let known = match (&text, self.for_proofs) {
            (Some(text), true) => self
                .proof_keys
                .borrow()
                .iter()
                .find(|(a, jwk, _)| *a == alg && jwk == text)
                .map(|(_, _, imported)| imported.clone()),
            _ => self.keys.get(alg, key).map(|imported| imported.clone()),
        };
        if let Some(imported) = known {
            return imported;
        }
        if text.is_none() {
            text = key.importable_jwk_json();
        }
        let jwk = text
            .as_deref()
            .and_then(|json| js_sys::JSON::parse(json).ok());
        let imported = match jwk {
            Some(jwk) => {
                let usages = Array::of1(&JsValue::from_str("verify"));
                match import_key("jwk", &jwk, import, false, &usages) {
                    Ok(promise) => JsFuture::from(promise).await.ok(),
                    Err(_) => None,
                }
            }
            None => None,
        };
        if self.for_proofs {
            if let Some(text) = text {
                let mut keys = self.proof_keys.borrow_mut();
                if keys.len() >= MAX_PROOF_KEYS {
                    keys.pop_front();
                }
                keys.push_back((alg, text, imported.clone()));
            }
            return imported;
        }
        self.keys.insert(alg, key, imported.clone());
        imported
    }

    /// [`algorithms`] for `alg`, built on first use; `None` for HMAC (checked in the core).
    fn parameters(&self, alg: Alg) -> Option<(JsValue, JsValue)> {
        if alg.family() == Family::Hmac {
            return None;
        }
        let mut known = self.parameters.borrow_mut();
        if let Some((_, import, verify)) = known.iter().find(|(a, _, _)| *a == alg) {
            return Some((import.clone(), verify.clone()));
        }
        let (import, verify) = algorithms(alg)?;
        known.push((alg, import.clone(), verify.clone()));
        Some((import, verify))
    }

    /// Signatures checked by WebCrypto, and by jwt-compact in wasm.
    pub fn counts(&self) -> (u64, u64) {
        *self.counts.borrow()
    }

    fn count(&self, host: bool) {
        let mut counts = self.counts.borrow_mut();
        match host {
            true => counts.0 += 1,
            false => counts.1 += 1,
        }
    }
}

impl SignatureCheck for WebCrypto {
    async fn check(
        &self,
        alg: Alg,
        key: &VerificationKey,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let Some((import, params)) = self.parameters(alg) else {
            self.count(false);
            return verify::verify_signature(alg, key, message, signature);
        };
        if !verify::is_well_formed(alg, key, signature) {
            return false;
        }
        let Some(crypto_key) = self.crypto_key(alg, key, &import).await else {
            if !verify::CARRIES_ASYMMETRIC {
                // No RustCrypto in this build: what WebCrypto cannot import verifies nothing.
                return false;
            }
            self.count(false);
            return verify::verify_signature(alg, key, message, signature);
        };
        self.count(true);
        let verdict = subtle_verify(
            &params,
            &crypto_key,
            &Uint8Array::from(signature),
            &Uint8Array::from(message),
        );
        match verdict {
            Ok(promise) => JsFuture::from(promise)
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            Err(_) => false,
        }
    }
}

/// `usages` as a JS array of one string.
fn usage(name: &str) -> Array {
    Array::of1(&JsValue::from_str(name))
}

async fn settle(promise: std::result::Result<Promise, JsValue>) -> Option<JsValue> {
    JsFuture::from(promise.ok()?).await.ok()
}

impl WebCrypto {
    /// Signs `message` for a minted token: HMAC in the core, an asymmetric `SIGNING_KEY` with
    /// `crypto.subtle.sign` (where the core carries no RustCrypto). The private key is imported
    /// on first use, and kept only once a signature it made verifies under its public half,
    /// which the core cannot check without RustCrypto: a `d` of another key is a
    /// `config_error` naming `SIGNING_KEY`, never a token nobody can verify.
    pub async fn sign(&self, signer: &Signer, message: &[u8]) -> Result<Vec<u8>> {
        if let Some(signature) = signer.try_sign(message) {
            return Ok(signature);
        }
        let alg = signer.alg();
        let unusable = |why: &str| Error::config("SIGNING_KEY", format!("{alg}: {why}"));
        let (import, params) = algorithms(alg).ok_or_else(|| unusable("not signed here"))?;
        let known = self.signing_key.borrow().clone();
        let key = match known {
            Some(key) => key,
            None => {
                let jwk = signer
                    .host_signing_jwk()
                    .and_then(|json| js_sys::JSON::parse(json).ok())
                    .ok_or_else(|| unusable("no private key to sign with"))?;
                let key = settle(import_key("jwk", &jwk, &import, false, &usage("sign")))
                    .await
                    .ok_or_else(|| unusable("WebCrypto cannot import this private key"))?;
                let probe = raw_sign(&params, &key, PROBE).await;
                let public = signer
                    .public_jwk()
                    .and_then(|jwk| KeySet::build_remote(&[jwk], &[alg]));
                let matches = match (probe, public) {
                    (Some(signature), Some(public)) => match public.keys().first() {
                        Some(public) => self.check(alg, public, PROBE, &signature).await,
                        None => false,
                    },
                    _ => false,
                };
                if !matches {
                    return Err(unusable(
                        "the private key does not match its public members (x, y, n or e)",
                    ));
                }
                *self.signing_key.borrow_mut() = Some(key.clone());
                key
            }
        };
        raw_sign(&params, &key, message)
            .await
            .ok_or_else(|| unusable("WebCrypto could not sign"))
    }
}

/// `crypto.subtle.sign`, its ArrayBuffer as bytes.
async fn raw_sign(params: &JsValue, key: &JsValue, message: &[u8]) -> Option<Vec<u8>> {
    let buffer = settle(subtle_sign(params, key, &Uint8Array::from(message))).await?;
    Some(Uint8Array::new(&buffer).to_vec())
}
