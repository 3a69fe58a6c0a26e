//! What happens when Rust panics in WebAssembly.
//!
//! `wasm32-unknown-unknown` has no unwinding: a panic (in this crate or in a dependency such as
//! tract, on some hostile model) runs the panic hook and then aborts, which executes an
//! `unreachable` instruction. JavaScript sees a `WebAssembly.RuntimeError` thrown out of the
//! export that was running, and the instance is left in an unknown state (locks held, a
//! half-updated allocator), so it must not be used again. Out-of-memory and stack exhaustion
//! trap the same way, without running the hook.
//!
//! The hook installed here logs the panic on the console (with `console_error_panic_hook`'s
//! stack trace) and calls `globalThis.__edgeRegistryPanic(message)` when that function exists.
//! `js/resilient.js` defines it: it records the message, and when the trap reaches it, it
//! rejects the call with an `Error` whose `code` is `INTERNAL_PANIC`, discards the instance and
//! makes a fresh one from the same compiled module (wasm-bindgen's `__wbg_reset_state`, which
//! `scripts/build-pkg` asks for), then re-creates the objects it knows how to reload.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `globalThis.__edgeRegistryPanic(message)`; throws (caught) when it is not defined.
    #[wasm_bindgen(js_namespace = globalThis, js_name = __edgeRegistryPanic, catch)]
    fn notify_panic(message: &str) -> Result<(), JsValue>;
}

/// Installs the hook (again after every re-instantiation: `start` runs on each).
pub(crate) fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // Nothing can be done if the notification fails: the trap follows either way.
        let _ = notify_panic(&info.to_string());
    }));
}
