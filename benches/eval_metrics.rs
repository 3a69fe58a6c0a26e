//! Rows per second for the full classification metric set on 1,000,000 rows, 10 classes, with
//! probabilities: accuracy, balanced accuracy, precision/recall/F1 per class and micro / macro /
//! weighted, confusion matrix, log loss, ROC AUC OvR macro + weighted (and per class), Brier,
//! top-2 and top-5 accuracy, and ECE/MCE with the reliability table.
//!
//! `cargo bench --bench eval_metrics` (or `make bench`, which then runs
//! `scripts/bench_eval_sklearn.py` on the same rows and prints both with the ratio). The rows
//! are generated with xoshiro256** and written to `target/eval-bench/rows.bin` (per row: the
//! label as one byte, then 10 little-endian f64 probabilities) so scikit-learn reads exactly the
//! same numbers; the timing result goes to `target/eval-bench/rust.json`.
//!
//! Timed: storing the rows (`ClassificationData::push`, what the evaluator does per row) plus
//! computing every metric from them. Not timed: generating the rows. Best and median of 5 runs.

use std::io::Write;
use std::time::Instant;

use edge_registry::eval::calibration;
use edge_registry::eval::classification::{argmax, ClassificationData};
use edge_registry::eval::num::Xoshiro256;

const N: usize = 1_000_000;
const C: usize = 10;
const RUNS: usize = 5;

fn generate() -> (Vec<u8>, Vec<f64>) {
    let mut r = Xoshiro256::new(2026);
    let mut labels = Vec::with_capacity(N);
    let mut proba = Vec::with_capacity(N * C);
    let mut row = [0.0f64; C];
    for _ in 0..N {
        let mut s = 0.0;
        for v in row.iter_mut() {
            *v = ((r.next_u64() >> 11) as f64 + 1.0) * (1.0 / (1u64 << 53) as f64);
            s += *v;
        }
        // Make the model informative: the true class usually gets a boost.
        let y = r.below(C as u64) as usize;
        if r.below(10) < 7 {
            s += 1.5;
            row[y] += 1.5;
        }
        for v in row.iter_mut() {
            *v /= s;
        }
        labels.push(y as u8);
        proba.extend_from_slice(&row);
    }
    (labels, proba)
}

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/eval-bench");
    let dir = std::env::var("EVAL_BENCH_DIR").unwrap_or_else(|_| {
        std::env::var("CARGO_TARGET_DIR")
            .map(|t| format!("{t}/eval-bench"))
            .unwrap_or_else(|_| dir.to_string())
    });
    std::fs::create_dir_all(&dir).expect("create bench dir");
    let (labels, proba) = generate();
    {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(format!("{dir}/rows.bin")).expect("create rows.bin"),
        );
        for i in 0..N {
            f.write_all(&[labels[i]]).expect("write");
            for p in &proba[i * C..(i + 1) * C] {
                f.write_all(&p.to_le_bytes()).expect("write");
            }
        }
    }
    let classes: Vec<String> = (0..C).map(|k| k.to_string()).collect();
    let mut times = Vec::new();
    let mut checksum = 0.0;
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let mut data = ClassificationData::new(C, true);
        for i in 0..N {
            let p = &proba[i * C..(i + 1) * C];
            data.push(u32::from(labels[i]), argmax(p) as u32, Some(p));
        }
        let m = data.metrics(&classes, None, &[2, 5]);
        let cal = calibration::of_data(&data, None, 15).expect("calibration");
        let dt = t0.elapsed().as_secs_f64();
        checksum = m.accuracy
            + m.log_loss.unwrap_or(0.0)
            + m.roc_auc.as_ref().and_then(|r| r.ovr_macro).unwrap_or(0.0)
            + cal.top_label.ece;
        times.push(dt);
        eprintln!(
            "run: {dt:.3} s  accuracy {:.6} log_loss {:.6} auc_macro {:.6} ece {:.6}",
            m.accuracy,
            m.log_loss.unwrap_or(f64::NAN),
            m.roc_auc
                .as_ref()
                .and_then(|r| r.ovr_macro)
                .unwrap_or(f64::NAN),
            cal.top_label.ece
        );
    }
    let runs = format!("{times:?}");
    times.sort_by(f64::total_cmp);
    let best = times[0];
    let median = times[RUNS / 2];
    println!(
        "native: {N} rows x {C} classes, full metric set: best {best:.3} s, median {median:.3} s → {:.0} rows/s (median)",
        N as f64 / median
    );
    let json = format!(
        "{{\"rows\": {N}, \"classes\": {C}, \"best_s\": {best}, \"median_s\": {median}, \"times_s\": {runs}, \"rows_per_s\": {}, \"checksum\": {checksum}}}\n",
        N as f64 / median
    );
    std::fs::write(format!("{dir}/rust.json"), json).expect("write rust.json");
}
