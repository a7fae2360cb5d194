//! Signature checks by the host's WebCrypto (`crypto.subtle`: browsers, workerd), which runs
//! RSA, ECDSA and Ed25519 natively, several times faster than the same code compiled to wasm;
//! the npm package's counterpart of the Worker's `src/worker/webcrypto.rs`. WebCrypto answers
//! with promises, so this is a [`SignatureCheck`] for the async verification (`verify()` and
//! the middleware); `verifySync()` stays on jwt-compact.

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::host_crypto::{InWasm, SignatureCounts};
use crate::alg::{Alg, Family};
use crate::keys::VerificationKey;
use crate::verify::{self, PreparedKeys, SignatureBackend, SignatureCheck};

/// WebCrypto as a [`SignatureCheck`]. The core has chosen the key, matched the algorithm to it
/// and refused a signature of the wrong shape ([`verify::is_well_formed`]: length, ECDSA r and
/// s in range, Ed25519 S below L) before WebCrypto sees it; WebCrypto only answers "does this
/// signature verify under this public key?". HMAC stays here (a call out costs more than the
/// MAC). The host's `prepare(alg, jwkJson)` (js/src/webcrypto.mjs) starts the key's import
/// and returns a [`WebVerifier`], kept here per key and algorithm; no verifier (an algorithm
/// the host does not check, no `crypto.subtle`, an exception) leaves that key to jwt-compact,
/// and so does a verification that rejects (a key WebCrypto would not import) or answers
/// anything but a boolean.
pub(super) struct WebCrypto {
    prepare: Function,
    counts: Rc<SignatureCounts>,
    /// The host's verifier per (algorithm, key); `None` where it has none.
    verifiers: PreparedKeys<WebVerifier>,
}

#[wasm_bindgen]
extern "C" {
    /// `{ verify(message, signature) → Promise<boolean> }`. Message and signature arrive as
    /// views of wasm memory, valid during the call only: WebCrypto copies its arguments when
    /// called, and the verifier copies them itself while its key is still being imported.
    pub(super) type WebVerifier;

    #[wasm_bindgen(method, catch)]
    fn verify(this: &WebVerifier, message: &[u8], signature: &[u8]) -> Result<Promise, JsValue>;
}

impl WebCrypto {
    pub(super) fn new(prepare: Function, counts: Rc<SignatureCounts>) -> Self {
        Self {
            prepare,
            counts,
            verifiers: PreparedKeys::default(),
        }
    }

    /// Starts the verification of `signature` over `message` with the host's verifier for
    /// `alg` and `key` (prepared on first use); `None` when there is none or it threw. The
    /// list is borrowed only for the call, never across an await.
    fn start(
        &self,
        alg: Alg,
        key: &VerificationKey,
        message: &[u8],
        signature: &[u8],
    ) -> Option<Promise> {
        let verifier = self.verifiers.get_or_prepare(alg, key, || {
            key.importable_jwk_json().and_then(|jwk| {
                self.prepare
                    .call2(
                        &JsValue::NULL,
                        &JsValue::from_str(alg.name()),
                        &JsValue::from_str(&jwk),
                    )
                    .ok()
                    .filter(JsValue::is_object)
                    .map(JsCast::unchecked_into::<WebVerifier>)
            })
        })?;
        let verifier = verifier.as_ref()?;
        verifier.verify(message, signature).ok()
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
        let in_wasm = InWasm(&self.counts);
        if alg.family() == Family::Hmac {
            return in_wasm.verify(alg, key, message, signature);
        }
        if !verify::is_well_formed(alg, key, signature) {
            return false;
        }
        let verdict = match self.start(alg, key, message, signature) {
            Some(promise) => JsFuture::from(promise).await.ok(),
            None => None,
        };
        match verdict.and_then(|verdict| verdict.as_bool()) {
            Some(verdict) => {
                self.counts.host();
                verdict
            }
            None => in_wasm.verify(alg, key, message, signature),
        }
    }
}
