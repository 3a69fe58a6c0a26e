//! Times `Model::load` of ONNX files natively (a profiling aid): `cargo run --profile fast
//! --example load_profile -- MODEL.onnx... [--runs N]` prints the median and fastest load.
use std::time::Instant;

fn main() {
    let mut runs = 10;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(10)
                .max(1);
        } else {
            files.push(a);
        }
    }
    for f in files {
        let bytes = match std::fs::read(&f) {
            Ok(b) => b,
            Err(e) => {
                println!("{f}: {e}");
                continue;
            }
        };
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let m = edge_registry::engine::Model::load(&bytes, None);
            times.push(t.elapsed().as_secs_f64() * 1e3);
            if let Err(e) = m {
                println!("{f}: {e}");
                break;
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{f}: {} bytes, load p50 {:.2} ms (min {:.2})",
            bytes.len(),
            times[times.len() / 2],
            times[0]
        );
    }
}
