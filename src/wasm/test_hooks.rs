//! Exports that crash the instance on purpose, so the recovery of `js/resilient.js` and
//! `js/worker.js` can be tested end to end. Compiled only with the `test-hooks` feature, which
//! only the test package (`scripts/build-pkg` with `FEATURES=test-hooks`) enables: the release
//! package never has them.

use wasm_bindgen::prelude::*;

/// The ways an instance can die.
fn crash(kind: &str, message: &str) {
    use std::hint::black_box;
    match kind {
        // What a dependency does on input it did not expect.
        #[allow(clippy::panic)] // the purpose of this test hook
        "panic" => panic!("{message}"),
        // Allocation failure: `handle_alloc_error` aborts without running the panic hook.
        "oom" => {
            let mut hog: Vec<Vec<u8>> = Vec::new();
            while black_box(hog.len()) < usize::MAX {
                let mut block = Vec::with_capacity(256 << 20);
                block.push(1u8);
                hog.push(black_box(block));
            }
        }
        // Unbounded recursion: the shadow stack runs out of linear memory.
        "stack" => {
            fn deep(n: u64) -> u64 {
                let frame = black_box([n as u8; 4096]);
                if black_box(n) == u64::MAX {
                    return 0;
                }
                deep(n + 1).wrapping_add(u64::from(frame.iter().fold(0u8, |a, b| a ^ b)))
            }
            black_box(deep(0));
        }
        _ => {}
    }
}

/// Crashes the instance: `kind` is `"panic"` (a Rust panic with `message`), `"oom"` (memory
/// exhausted) or `"stack"` (stack exhausted). Test builds only.
#[wasm_bindgen(js_name = __testTrap)]
pub fn test_trap(kind: &str, message: &str) {
    crash(kind, message);
}

/// Like `__testTrap`, but after an `await`, inside the future that wasm-bindgen polls from a
/// microtask: the promise it returns never settles on its own. Test builds only.
#[wasm_bindgen(js_name = __testTrapAsync)]
pub async fn test_trap_async(kind: String, message: String) -> Result<JsValue, JsValue> {
    let resolved = js_sys::Promise::resolve(&JsValue::from_str("tick"));
    wasm_bindgen_futures::JsFuture::from(resolved).await?;
    crash(&kind, &message);
    Ok(JsValue::UNDEFINED)
}
