//! Values across the boundary: errors as JS objects (and back), JSON text, JS numbers.

use js_sys::Reflect;
use serde::Serialize;
use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::error::{Error, ErrorCode};

/// A JS `Error` carrying the core's code and HTTP status.
pub(super) fn error_value(error: &Error) -> JsValue {
    let value = js_sys::Error::new(error.message());
    let _ = Reflect::set(&value, &"code".into(), &error.code().code().into());
    let _ = Reflect::set(&value, &"status".into(), &error.status().into());
    if let Some(path) = error.path() {
        let _ = Reflect::set(&value, &"path".into(), &path.into());
    }
    value.into()
}

/// An edge-jwt error back from its JS form (`{code, message}`); `None` for `undefined`.
pub(super) fn error_from_value(value: &JsValue) -> Option<Error> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    let text = |name: &str| {
        Reflect::get(value, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    Some(Error::new(code_from_name(&text("code")), text("message")))
}

/// `{"code","message","status"}` as JSON text.
pub(super) fn error_json(error: &Error) -> String {
    to_json(&json!({
        "code": error.code().code(), "message": error.message(), "status": error.status()
    }))
}

pub(super) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

pub(super) fn code_from_name(name: &str) -> ErrorCode {
    ErrorCode::ALL
        .into_iter()
        .find(|code| code.code() == name)
        .unwrap_or(ErrorCode::ConfigError)
}

pub(super) fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing maps of strings and serde_json values cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Seconds since the epoch from a JS number (the JS side checks it; this only saturates).
#[allow(
    clippy::as_conversions,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "JS numbers cross as f64; float-to-int `as` saturates, and NaN and negatives are \
              ruled out above"
)]
pub(super) fn seconds(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value as u64
    } else {
        0
    }
}

/// A count, time or id as a JS number (exact below 2^53, which they stay under).
#[allow(
    clippy::as_conversions,
    clippy::cast_precision_loss,
    reason = "JS numbers are f64, and u64 has no lossless conversion to it"
)]
pub(super) fn js_number(value: u64) -> f64 {
    value as f64
}

/// A length or index as a JS number (a wasm32 `usize` is exact in an f64).
pub(super) fn js_length(value: usize) -> f64 {
    f64::from(wasm_u32(value))
}

/// A wasm32 `usize` (an address, a length) as the `u32` it is; the fallback is never taken there.
pub(super) fn wasm_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// A boxed future of an async export's answer.
pub(super) type BoxedAnswer =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>>;

/// The Promise of an async export. Every export goes through this one boxed type, so
/// `future_to_promise`'s glue is compiled once rather than once per export.
pub(super) fn promise(answer: BoxedAnswer) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(answer)
}
