//! The refresh benchmark of `benches/tuf_refresh.rs`, runnable in wasm (Node) where there is no
//! `Instant`: `cargo test --release --target wasm32-unknown-unknown --test integration tuf_timing
//! -- --include-ignored --nocapture`. Ignored by default (timing, not correctness); the
//! correctness of the same pass is asserted whenever it runs.

#[path = "common/tuf_bench_repo.rs"]
mod repo;

#[cfg(target_arch = "wasm32")]
fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> f64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn report(line: String) {
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::console_log!("{line}");
    #[cfg(not(target_arch = "wasm32"))]
    println!("{line}");
}

async fn measure(label: &str, n: usize, roles: usize, runs: usize) {
    let (b, p) = repo::build(n, roles);
    let paths = repo::lookups(n, roles);
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..runs {
        let mut u = repo::client(&b, &p);
        let t = now_ms();
        assert_eq!(repo::pass(&mut u, &paths).await, 256);
        cold.push(now_ms() - t);
        let t = now_ms();
        repo::pass(&mut u, &paths).await;
        warm.push(now_ms() - t);
    }
    for (what, mut s) in [
        ("fresh client, full refresh + lookups", cold),
        ("second refresh from stored state", warm),
    ] {
        s.sort_by(|a, b| a.total_cmp(b));
        report(format!(
            "{label}: {what}: median {:.1} ms, min {:.1}, max {:.1} (n={runs}, Date.now resolution 1 ms)",
            s[s.len() / 2], s[0], s[s.len() - 1]
        ));
    }
}

async fn run() {
    measure("1,000 targets in targets.json", 1000, 0, 15).await;
    measure("1,000 targets in 10 delegated roles", 1000, 10, 15).await;
}

// Spelled out instead of `everywhere_async!`: wasm-bindgen-test only sees an `#[ignore]` that
// comes after its own attribute.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
#[ignore]
async fn refresh_timing_with_1000_targets() {
    run().await
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
#[ignore]
fn refresh_timing_with_1000_targets() {
    pollster::block_on(run())
}
