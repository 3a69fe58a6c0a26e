//! Throughput of the evaluation data reader ([`TableReader`]) on about 50 MB of JSON records
//! (an array of row objects) built in memory, pushed in 64 KiB chunks as the CLI and the JS
//! bindings do, with the evaluator's kind of selection (six of eight keys). CSV of the same
//! rows for comparison. Best and median of 5 runs, in MB/s.
//!
//! For reference it also times `serde_json` pulling the same array from one in-memory slice
//! (a `Visitor` whose `SeqAccess` yields one row map at a time): what a pull parser costs when
//! the whole document is in memory, which `TableReader` does not require.
//!
//! `cargo bench --bench eval_read` (`EVAL_READ_MB=200` for a larger input).

use std::time::Instant;

use edge_registry::eval::data::{ColumnSelection, DataFormat, Limits, TableReader};
use edge_registry::eval::num::Xoshiro256;

const RUNS: usize = 5;
const CHUNK: usize = 64 << 10;

fn build(target: usize) -> (Vec<u8>, Vec<u8>, usize) {
    let mut r = Xoshiro256::new(7);
    let mut json = Vec::with_capacity(target + 1024);
    let mut csv = Vec::with_capacity(target);
    csv.extend_from_slice(b"id,f0,f1,f2,f3,label,region,note\n");
    json.push(b'[');
    let mut rows = 0;
    while json.len() < target {
        let f: Vec<f64> = (0..4)
            .map(|_| (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 100.0 - 50.0)
            .collect();
        let label = r.below(10);
        let region = ["eu", "us", "apac"][r.below(3) as usize];
        if rows > 0 {
            json.extend_from_slice(b",\n");
        }
        json.extend_from_slice(
            format!(
                r#"{{"id": {rows}, "f0": {}, "f1": {}, "f2": {}, "f3": {}, "label": "{label}", "region": "{region}", "note": "a \"quoted\" note, with {{braces}}"}}"#,
                f[0], f[1], f[2], f[3]
            )
            .as_bytes(),
        );
        csv.extend_from_slice(
            format!(
                "{rows},{},{},{},{},{label},{region},\"a \"\"quoted\"\" note, with {{braces}}\"\n",
                f[0], f[1], f[2], f[3]
            )
            .as_bytes(),
        );
        rows += 1;
    }
    json.extend_from_slice(b"]\n");
    (json, csv, rows)
}

fn time(format: DataFormat, data: &[u8], rows: usize) -> (f64, f64) {
    let sel: Vec<String> = ["f0", "f1", "f2", "f3", "label", "region"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut secs = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut r = TableReader::new(
            format,
            ColumnSelection::Named(sel.clone()),
            Limits::default(),
        );
        let mut n = 0usize;
        let mut sink = |row: edge_registry::eval::data::RowResult| {
            assert!(row.is_ok(), "{row:?}");
            n += 1;
            Ok(())
        };
        for c in data.chunks(CHUNK) {
            r.push(c, &mut sink).expect("push");
        }
        r.finish(&mut sink).expect("finish");
        secs.push(t.elapsed().as_secs_f64());
        assert_eq!(n, rows);
    }
    secs.sort_by(f64::total_cmp);
    let mb = data.len() as f64 / 1e6;
    (mb / secs[0], mb / secs[RUNS / 2])
}

/// Counts the rows of a JSON array, each read as a map, one at a time.
struct CountRows;

impl<'de> serde::de::Visitor<'de> for CountRows {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of row objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(row) = seq.next_element::<serde_json::Map<String, serde_json::Value>>()? {
            std::hint::black_box(row);
            n += 1;
        }
        Ok(n)
    }
}

fn time_serde_slice(data: &[u8], rows: usize) -> (f64, f64) {
    use serde::Deserializer as _;
    let mut secs = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut de = serde_json::Deserializer::from_slice(data);
        let n = (&mut de).deserialize_seq(CountRows).expect("serde_json");
        de.end().expect("end");
        secs.push(t.elapsed().as_secs_f64());
        assert_eq!(n, rows);
    }
    secs.sort_by(f64::total_cmp);
    let mb = data.len() as f64 / 1e6;
    (mb / secs[0], mb / secs[RUNS / 2])
}

fn main() {
    let mb: usize = std::env::var("EVAL_READ_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let (json, csv, rows) = build(mb << 20);
    for (name, format, data) in [
        ("json", DataFormat::Json, &json),
        ("csv", DataFormat::Csv, &csv),
    ] {
        let (best, median) = time(format, data, rows);
        println!(
            "{name}: {:.1} MB, {rows} rows: best {best:.1} MB/s, median {median:.1} MB/s",
            data.len() as f64 / 1e6
        );
    }
    let (best, median) = time_serde_slice(&json, rows);
    println!(
        "json, serde_json pull from one slice (reference): best {best:.1} MB/s, median {median:.1} MB/s"
    );
}
