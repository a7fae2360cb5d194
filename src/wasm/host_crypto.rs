//! Signature checks by the host's native crypto: the host's verifiers, prepared per key, read
//! message and signature in place in wasm memory.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::abi::address_of;
use super::convert::wasm_u32;
use crate::alg::Alg;
use crate::keys::VerificationKey;
use crate::verify::{self, JwtCompact, PreparedKeys, SignatureBackend};

/// Signature checks by the host's native crypto ([`SignatureBackend`]): on Node and Deno,
/// OpenSSL through `node:crypto`. HMAC stays here (the call out would cost more than the MAC);
/// for the others the core has already chosen the key and matched the algorithm to it, and
/// refused a signature of the wrong shape (`verify::is_well_formed`). The host's
/// `prepare(alg, publicJwkJson)` imports a key once and returns a [`HostVerifier`] (an
/// object), kept here per key and algorithm. Any other answer, or an exception (a key the host
/// cannot import, say), leaves that key to jwt-compact; so does a verifier that throws.
pub(super) struct HostCrypto {
    prepare: Function,
    counts: Rc<SignatureCounts>,
    /// The host's verifier per (algorithm, key); `None` where the host has none.
    verifiers: PreparedKeys<HostVerifier>,
    /// Prepare each key for its one check and keep none: DPoP proofs bring a fresh key (a new
    /// [`VerificationKey::id`]) with every request and would push the token keys out.
    uncached: bool,
}

#[wasm_bindgen]
extern "C" {
    /// `{ verify(messageAt, messageLength, signatureAt, signatureLength) → boolean }`: the
    /// host reads message and signature where they lie in wasm memory (the message is part of
    /// the token in [`TokenInput`], the signature was decoded here), so nothing is copied.
    ///
    /// [`TokenInput`]: super::abi::TokenInput
    type HostVerifier;

    #[wasm_bindgen(method, catch)]
    fn verify(
        this: &HostVerifier,
        message_at: u32,
        message_length: u32,
        signature_at: u32,
        signature_length: u32,
    ) -> Result<bool, JsValue>;
}

impl HostCrypto {
    pub(super) fn new(prepare: Function, counts: Rc<SignatureCounts>) -> Self {
        Self {
            prepare,
            counts,
            verifiers: PreparedKeys::default(),
            uncached: false,
        }
    }

    /// The host's crypto for DPoP proofs: every proof key is prepared for its one check and
    /// not kept ([`Self::new`]'s cache holds the token keys).
    pub(super) fn for_proofs(prepare: Function, counts: Rc<SignatureCounts>) -> Self {
        Self {
            uncached: true,
            ..Self::new(prepare, counts)
        }
    }

    /// Runs `check` with the host's verifier for `alg` and `key` (prepared from its public JWK
    /// on first use); `None` when the host has none, as for an HMAC secret (no public JWK: it
    /// is always checked here). The JS verifier only reads wasm memory and never calls back
    /// into this validator, so the list stays borrowed while it runs (no clone of the JS
    /// object per check).
    fn with_verifier<R>(
        &self,
        alg: Alg,
        key: &VerificationKey,
        check: impl FnOnce(&HostVerifier) -> R,
    ) -> Option<R> {
        if self.uncached {
            return self.prepare(alg, key).as_ref().map(check);
        }
        // An HMAC secret has no public JWK: nothing to prepare, nothing to keep.
        key.public_jwk_json()?;
        let verifier = self
            .verifiers
            .get_or_prepare(alg, key, || self.prepare(alg, key))?;
        verifier.as_ref().map(check)
    }
}

impl HostCrypto {
    /// The host's verifier for `key` under `alg`, `None` when it has none.
    fn prepare(&self, alg: Alg, key: &VerificationKey) -> Option<HostVerifier> {
        let jwk = key.public_jwk_json()?;
        self.prepare
            .call2(
                &JsValue::NULL,
                &JsValue::from_str(alg.name()),
                &JsValue::from_str(jwk),
            )
            .ok()
            .filter(JsValue::is_object)
            .map(JsCast::unchecked_into::<HostVerifier>)
    }
}

impl SignatureBackend for HostCrypto {
    fn verify(&self, alg: Alg, key: &VerificationKey, message: &[u8], signature: &[u8]) -> bool {
        let verdict = self.with_verifier(alg, key, |verifier| {
            if !verify::is_well_formed(alg, key, signature) {
                return Ok(None);
            }
            verifier
                .verify(
                    address_of(message),
                    wasm_u32(message.len()),
                    address_of(signature),
                    wasm_u32(signature.len()),
                )
                .map(Some)
        });
        match verdict {
            Some(Ok(Some(verdict))) => {
                self.counts.host();
                verdict
            }
            // Refused by its shape: no backend is asked.
            Some(Ok(None)) => false,
            // No host verifier for this key, or it threw: jwt-compact decides.
            None | Some(Err(_)) => InWasm(&self.counts).verify(alg, key, message, signature),
        }
    }
}

/// Signatures checked so far by the host's crypto and by jwt-compact in wasm (HMAC included),
/// for `stats().signatures`; a signature refused by its shape ([`verify::is_well_formed`]) is
/// checked by neither.
#[derive(Default)]
pub(super) struct SignatureCounts {
    host: Cell<u64>,
    wasm: Cell<u64>,
}

impl SignatureCounts {
    pub(super) fn host(&self) {
        self.host.set(self.host.get() + 1);
    }

    pub(super) fn wasm(&self) {
        self.wasm.set(self.wasm.get() + 1);
    }

    /// `(host, wasm)`.
    pub(super) fn get(&self) -> (u64, u64) {
        (self.host.get(), self.wasm.get())
    }
}

/// jwt-compact, counted: the backend of a validator without host crypto, and every backend's
/// fallback.
pub(super) struct InWasm<'a>(pub(super) &'a SignatureCounts);

impl SignatureBackend for InWasm<'_> {
    fn verify(&self, alg: Alg, key: &VerificationKey, message: &[u8], signature: &[u8]) -> bool {
        self.0.wasm();
        JwtCompact.verify(alg, key, message, signature)
    }
}
