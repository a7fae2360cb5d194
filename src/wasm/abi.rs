//! The buffers the host reads and writes in wasm memory, so that a verification copies no string
//! through wasm-bindgen's glue: the token input the host writes, and the result (numbers and one
//! text buffer) the core leaves in place. js/src/abi.mjs (`VerifyBuffers`) is the other side.

use std::cell::{Ref, RefCell};

use super::convert::{error_json, js_length, js_number, wasm_u32};
use crate::error::{Error, ErrorCode};
use crate::policy::Verified;
use crate::token;

/// Where `items` lie in wasm memory (a wasm32 address fits `u32`).
pub(super) fn address_of<T>(items: &[T]) -> u32 {
    wasm_u32(items.as_ptr().addr())
}

/// Where the host writes a token to verify, straight into wasm memory: `TextEncoder.encodeInto`
/// copies a string there in one native call, where a `&str` argument is copied by
/// wasm-bindgen's glue one character at a time in JavaScript (figures: benches/README.md).
/// Sized `max_token_bytes + 4`: `encodeInto` stops at most 3 bytes short of a full
/// buffer, so a token that did not fit still reads as longer than the limit (`too_large`).
/// The host writes the bytes only before it calls [`CoreValidator::verify_input`], when no
/// Rust reference to them is live; the core reads them only through a borrow taken in that
/// call (the `RefCell` keeps the core's own borrows apart; the JS calls made while it is held,
/// the host verifiers, only read).
///
/// [`CoreValidator::verify_input`]: super::validator::CoreValidator::verify_input
pub(super) struct TokenInput {
    bytes: RefCell<Box<[u8]>>,
}

impl TokenInput {
    pub(super) fn new(max_token_bytes: usize) -> Self {
        Self {
            bytes: RefCell::new(vec![0; max_token_bytes + 4].into_boxed_slice()),
        }
    }

    /// `[address in wasm memory, length]`: the address is fixed (the buffer never grows).
    pub(super) fn location(&self) -> Vec<u32> {
        let bytes = self.bytes.borrow();
        vec![address_of(&bytes), wasm_u32(bytes.len())]
    }

    /// The token in the first `len` bytes, after the size check [`token::parse`] starts with
    /// (bytes past the limit may end mid-character).
    pub(super) fn read(&self, len: usize, max_token_bytes: usize) -> crate::Result<Ref<'_, str>> {
        token::check_size(len, max_token_bytes)?;
        Ref::filter_map(self.bytes.borrow(), |bytes| {
            std::str::from_utf8(bytes.get(..len)?).ok()
        })
        .map_err(|_| Error::new(ErrorCode::Malformed, "the token is not UTF-8 text"))
    }
}

/// The outcome of [`CoreValidator::verify_input`]; details are in its [`VerifyResult`]. The
/// JS side (`VerifyBuffers` in js/src/abi.mjs, `#check` in js/src/validator.mjs) reads these
/// values and the numbers' layout below.
///
/// [`CoreValidator::verify_input`]: super::validator::CoreValidator::verify_input
pub(super) const VERIFIED: u32 = 0;
/// Refused: the result's text is `{"code","message","status"}`.
pub(super) const REFUSED: u32 = 1;
/// Refused with an unknown kid while a JWKS refetch is due: fetch, then verify again.
pub(super) const REFUSED_REFETCH: u32 = 2;

/// How many numbers a [`VerifyResult`] holds.
pub(super) const RESULT_NUMBERS: usize = 7;

/// Where [`CoreValidator::verify_input`] leaves its result for the host to read in place: a
/// fixed block of numbers and one reused text buffer, in wasm memory. A returned string cost
/// an allocation, a copy, a free and a JSON wrapper to parse around the claims. Numbers:
/// 0. id of the verified token in the cache (verified only);
/// 1. its ttl ceiling in seconds;
/// 2. the text's address;
/// 3. length of the claims' JSON text (refused: of the error's JSON text), first in the text;
/// 4. length of the header's JSON text, next; -1 when left out (the host holds that header);
/// 5. the header's serial ([`crate::token::Header::serial`]);
/// 6. length of the track's name, last; -1 when the token has none.
///
/// [`CoreValidator::verify_input`]: super::validator::CoreValidator::verify_input
pub(super) struct VerifyResult {
    numbers: RefCell<Box<[f64; RESULT_NUMBERS]>>,
    text: RefCell<Vec<u8>>,
}

impl VerifyResult {
    pub(super) fn new() -> Self {
        Self {
            numbers: RefCell::new(Box::new([0.0; RESULT_NUMBERS])),
            text: RefCell::new(Vec::new()),
        }
    }

    /// The address of the numbers (fixed: the block never moves).
    pub(super) fn location(&self) -> u32 {
        address_of(&self.numbers.borrow()[..])
    }

    /// Claims and header go out as the token's own JSON text rather than re-serialized: the
    /// strict parser accepted exactly those bytes (valid UTF-8, no duplicate names, bounded
    /// depth), so `JSON.parse` reads the same object and verification skips a serialization.
    pub(super) fn verified(&self, id: u64, verified: &Verified, known_header: u64) {
        let header = &verified.header;
        let mut text = self.text.borrow_mut();
        text.clear();
        text.extend_from_slice(&verified.claims_json);
        let claims_length = text.len();
        let header_length = if header.serial != 0 && header.serial == known_header {
            -1.0
        } else {
            text.extend_from_slice(&header.json);
            js_length(header.json.len())
        };
        let track_length = verified.track.track.as_ref().map_or(-1.0, |track| {
            text.extend_from_slice(track.as_bytes());
            js_length(track.len())
        });
        **self.numbers.borrow_mut() = [
            js_number(id),
            js_number(verified.track.ttl_ceiling_s),
            f64::from(address_of(&text)),
            js_length(claims_length),
            header_length,
            js_number(header.serial),
            track_length,
        ];
    }

    pub(super) fn refused(&self, error: &Error) {
        let mut text = self.text.borrow_mut();
        text.clear();
        text.extend_from_slice(error_json(error).as_bytes());
        let mut numbers = self.numbers.borrow_mut();
        numbers[2] = f64::from(address_of(&text));
        numbers[3] = js_length(text.len());
    }
}
