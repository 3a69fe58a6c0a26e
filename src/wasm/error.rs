//! Turning core errors into JavaScript `Error` objects with a stable `code`.

use wasm_bindgen::prelude::*;

use crate::error::{Code, ErrorCode};

/// The result type of every fallible export: the error is a JS `Error` with a `code`.
pub type JsResult<T> = Result<T, JsValue>;

/// A JS `Error` named `EdgeRegistryError` with `message` and a `code` property.
pub fn coded_error(code: Code, message: &str) -> JsValue {
    error_object(code.as_str(), message)
}

fn error_object(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("EdgeRegistryError");
    // Setting a plain data property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

/// Converts a core error into a JS `Error` carrying its code.
pub fn js_error<E: ErrorCode>(err: &E) -> JsValue {
    error_object(err.code(), &err.to_string())
}

/// The error thrown when a consumed object (a finished verifier or hasher) is used again.
pub(crate) fn finished() -> JsValue {
    coded_error(
        Code::InvalidState,
        "this object has finished; create a new one for another stream",
    )
}

/// Validates a byte length passed from JS as a number: a non-negative integer no larger than
/// `Number.MAX_SAFE_INTEGER`.
pub(crate) fn length_from_js(value: f64, name: &str) -> JsResult<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if !value.is_finite() || value < 0.0 || value.fract() != 0.0 || value > MAX_SAFE {
        return Err(coded_error(
            Code::InvalidArgument,
            &format!("{name} must be a non-negative safe integer, got {value}"),
        ));
    }
    // Exact: checked above to be an integer in [0, 2^53).
    Ok(value as u64)
}

/// A JS value as JSON, through `JSON.stringify`: a cyclic or too deeply nested object, or a
/// BigInt, is refused by the JS engine (`INVALID_ARGUMENT`) instead of recursing without bound
/// in Rust, and the text then goes through serde_json's recursion limit (128).
pub(crate) fn json_from_js<T: serde::de::DeserializeOwned>(
    value: &JsValue,
    what: &str,
) -> JsResult<T> {
    let text = js_sys::JSON::stringify(value).map_err(|e| {
        let reason = js_sys::Error::from(e).message();
        coded_error(
            Code::InvalidArgument,
            &format!("{what}: not JSON-serialisable ({})", String::from(reason)),
        )
    })?;
    let text = text.as_string().unwrap_or_else(|| "null".to_string());
    serde_json::from_str(&text)
        .map_err(|e| coded_error(Code::InvalidArgument, &format!("{what}: {e}")))
}

/// The bytes of a `Uint8Array` or `ArrayBuffer` (copied into wasm memory), else `None`.
pub(crate) fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    use wasm_bindgen::JsCast;
    if let Some(a) = value.dyn_ref::<js_sys::Uint8Array>() {
        return Some(a.to_vec());
    }
    value
        .dyn_ref::<js_sys::ArrayBuffer>()
        .map(|b| js_sys::Uint8Array::new(b).to_vec())
}

/// A value as plain JSON-like JavaScript (maps as objects, 64-bit integers as numbers).
pub(crate) fn to_js<T: serde::Serialize + ?Sized>(v: &T) -> JsResult<JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| coded_error(Code::Internal, &e.to_string()))
}

/// The `code` of a thrown value, if it has a string one.
pub(crate) fn code_of(error: &JsValue) -> Option<String> {
    if !error.is_object() {
        return None;
    }
    js_sys::Reflect::get(error, &JsValue::from_str("code"))
        .ok()?
        .as_string()
}
