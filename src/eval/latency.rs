//! Inference latency: per-batch wall time through an injected timer (the core never reads a
//! clock: wasm has no `std` clock, and tests need fixed times).

use serde::{Deserialize, Serialize};

use super::num;

/// A source of "now" in milliseconds (any origin; only differences are used). Natively the
/// caller wraps `Instant`, in JS `performance.now()`.
pub trait Timer {
    /// Milliseconds since an arbitrary fixed origin.
    fn now_ms(&mut self) -> f64;
}

impl<F: FnMut() -> f64> Timer for F {
    fn now_ms(&mut self) -> f64 {
        self()
    }
}

/// Latency distribution of the batches of one evaluation. Percentiles are `np.percentile`
/// (linear) of the per-batch times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyReport {
    /// Batches run.
    pub batches: u64,
    /// Rows predicted.
    pub rows: u64,
    /// Sum of batch times.
    pub total_ms: f64,
    /// Mean batch time.
    pub mean_ms: f64,
    /// Median batch time.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest batch time.
    pub max_ms: f64,
    /// `rows / (total_ms / 1000)`; `None` when no time was measured.
    pub rows_per_second: Option<f64>,
}

/// Collects batch times.
#[derive(Debug, Clone, Default)]
pub struct LatencyRecorder {
    batch_ms: Vec<f64>,
    rows: u64,
}

impl LatencyRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one batch of `rows` rows that took `ms` milliseconds (negative or non-finite
    /// readings, from a clock that went backwards, count as 0).
    pub fn record(&mut self, rows: usize, ms: f64) {
        let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
        self.batch_ms.push(ms);
        self.rows += rows as u64;
    }

    /// The distribution; `None` when nothing was recorded.
    pub fn report(&self) -> Option<LatencyReport> {
        if self.batch_ms.is_empty() {
            return None;
        }
        let mut s = self.batch_ms.clone();
        num::sort_f64(&mut s);
        let total = num::sum(s.iter().copied());
        Some(from_sorted(&s, self.rows, total))
    }

    /// The batch times recorded, in order.
    pub fn batch_ms(&self) -> &[f64] {
        &self.batch_ms
    }
}

/// The distribution of sorted batch times (`total` is their sum, `rows` the rows predicted).
pub(crate) fn from_sorted(s: &[f64], rows: u64, total: f64) -> LatencyReport {
    report(
        s.len() as u64,
        |p| num::quantile_sorted(s, p),
        s.last().copied(),
        rows,
        total,
    )
}

/// [`from_sorted`] of batch times given as counts (a merged fleet summary's sketch).
pub(crate) fn from_counted(s: &num::Counted<'_>, rows: u64, total: f64) -> LatencyReport {
    report(s.len(), |p| s.quantile(p), s.last(), rows, total)
}

fn report(
    batches: u64,
    quantile: impl Fn(f64) -> Option<f64>,
    max: Option<f64>,
    rows: u64,
    total: f64,
) -> LatencyReport {
    let q = |p: f64| quantile(p).unwrap_or(0.0);
    LatencyReport {
        batches,
        rows,
        total_ms: total,
        mean_ms: total / batches.max(1) as f64,
        p50_ms: q(0.5),
        p90_ms: q(0.9),
        p99_ms: q(0.99),
        max_ms: max.unwrap_or(0.0),
        rows_per_second: (total > 0.0).then(|| rows as f64 / (total / 1000.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_throughput() {
        let mut r = LatencyRecorder::new();
        for ms in [4.0, 1.0, 3.0, 2.0] {
            r.record(100, ms);
        }
        r.record(10, -5.0);
        let rep = r.report().unwrap();
        assert_eq!(rep.batches, 5);
        assert_eq!(rep.p50_ms, 2.0);
        assert_eq!(rep.total_ms, 10.0);
        assert_eq!(rep.rows_per_second, Some(41_000.0));
        assert!(LatencyRecorder::new().report().is_none());
    }
}
