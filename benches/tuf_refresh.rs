//! Time to refresh and verify a TUF repository with 1,000 targets, natively: a fresh client
//! (empty store) runs the whole workflow (root, timestamp, snapshot, targets, signature and
//! hash checks), looks targets up (loading delegated roles where there are any) and downloads
//! and verifies one target. Also: a second refresh over the stored state (what a client does
//! on every start). Plain `std::time::Instant`; median and spread over repeated runs.
//!
//! `cargo bench --bench tuf_refresh` (release profile).

#[path = "../tests/common/tuf_bench_repo.rs"]
mod repo;

use std::time::{Duration, Instant};

fn stats(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = samples.len();
    println!(
        "{name:<58} median {:>8.3} ms  min {:>8.3}  p90 {:>8.3}  max {:>8.3}  (n={n})",
        ms(samples[n / 2]),
        ms(samples[0]),
        ms(samples[(n * 9) / 10]),
        ms(samples[n - 1]),
    );
}

fn main() {
    let runs = 30;
    for (label, n, roles) in [
        ("1,000 targets in targets.json", 1000, 0),
        ("1,000 targets in 10 delegated roles", 1000, 10),
    ] {
        let (b, p) = repo::build(n, roles);
        let paths = repo::lookups(n, roles);
        let meta_bytes: usize = p
            .metadata
            .iter()
            .filter(|(k, _)| !k.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(|(_, v)| v.len())
            .sum();
        println!("{label}: {} bytes of metadata", meta_bytes);
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        for _ in 0..runs {
            let mut u = repo::client(&b, &p);
            let t = Instant::now();
            let got = pollster::block_on(repo::pass(&mut u, &paths));
            cold.push(t.elapsed());
            assert_eq!(got, 256);
            let t = Instant::now();
            pollster::block_on(repo::pass(&mut u, &paths));
            warm.push(t.elapsed());
        }
        stats(
            &format!("{label}: fresh client, full refresh + lookups"),
            cold,
        );
        stats(&format!("{label}: second refresh from stored state"), warm);
    }
}
