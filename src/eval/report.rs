//! The evaluation report: one JSON document that names the model (target path and sha256), the
//! data (sha256), the rows used and skipped, every result, the library version and the time.
//!
//! Field names are snake_case and stable. Everything that legitimately differs between two
//! runs of the same evaluation on different runtimes (the time, the runtime's name, latency) is
//! inside `runtime`; dropping that object leaves a document that is byte-for-byte identical
//! natively and in WebAssembly for the same input (floats are printed by `serde_json`'s
//! shortest round-trip form and computed with the same operations and `libm` on every target).

use serde::{Deserialize, Serialize};

use super::compare::Comparison;
use super::data::{BadRow, DataFormat};
use super::drift::DriftReport;
use super::gates::GateReport;
use super::latency::LatencyReport;
use super::quality::QualityReport;
use super::slices::SliceGroup;

// Plain types a report holds, defined below the modules that compute them; re-exported so
// `crate::eval::report::{Results, TaskKind, ...}` keep working.
pub use super::results::{metric_direction, ModelIdentity, Results, TaskKind, METRIC_NAMES};

/// `report_format` of every report.
pub const REPORT_FORMAT: &str = "edge-registry-eval-report";
/// Version of the report layout.
pub const REPORT_VERSION: u32 = 1;

/// What was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// SHA-256 (hex) of the bytes given.
    pub sha256: String,
    /// Byte count.
    pub bytes: u64,
    /// CSV or JSON.
    pub format: DataFormat,
    /// Data rows read (header excluded).
    pub rows_read: u64,
    /// Rows that went into the results.
    pub rows_used: u64,
    /// Rows skipped as bad.
    pub rows_skipped: u64,
    /// The first bad rows (up to the configured cap).
    pub bad_rows: Vec<BadRow>,
    /// Whether more bad rows exist than are listed.
    pub bad_rows_truncated: bool,
}

/// The columns used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ColumnMapping {
    /// Feature columns in the model's input order (empty when scoring predictions).
    pub features: Vec<String>,
    /// The label (ground truth) column.
    pub label: String,
    /// Slice columns.
    pub slices: Vec<String>,
    /// An id column (kept only in bad-row reports; never used as a feature).
    pub id: Option<String>,
}

/// Fields that differ between runtimes; drop them to compare reports across runtimes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// When the evaluation ran (given by the caller, e.g. RFC 3339; the core reads no clock).
    pub time: String,
    /// Where it ran (e.g. `native`, `node`, `chromium`).
    pub runtime: String,
    /// Inference latency (model evaluations only).
    pub latency: Option<LatencyReport>,
    /// The challenger's latency in a comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger_latency: Option<LatencyReport>,
}

/// An evaluation report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_FORMAT`].
    pub report_format: String,
    /// Always [`REPORT_VERSION`].
    pub report_version: u32,
    /// `crate::VERSION` of the library that computed it.
    pub library_version: String,
    /// The model (None when scoring predictions made elsewhere).
    pub model: Option<ModelIdentity>,
    /// The data.
    pub data: DataInfo,
    /// Classification or regression.
    pub task: TaskKind,
    /// Class labels in index order (classification).
    pub classes: Option<Vec<String>>,
    /// Columns used.
    pub columns: ColumnMapping,
    /// Results over all used rows.
    pub results: Results,
    /// Results per slice.
    pub slices: Vec<SliceGroup>,
    /// Data quality.
    pub quality: QualityReport,
    /// Drift against the reference profile, when one was given.
    pub drift: Option<DriftReport>,
    /// Champion vs challenger, when a challenger was given.
    pub comparison: Option<Comparison>,
    /// Gates, when some were given.
    pub gates: Option<GateReport>,
    /// Time, runtime and latency.
    pub runtime: RuntimeInfo,
}

impl Report {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// JSON without the `runtime` object: the part that must be identical across runtimes.
    pub fn portable_json(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("runtime");
        }
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}
