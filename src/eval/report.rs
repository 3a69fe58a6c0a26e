//! The evaluation report: one JSON document that names the model (target path and sha256), the
//! data (sha256), the rows used and skipped, every result, the library version and the time.
//!
//! Field names are snake_case and stable (the JavaScript API returns the same document with
//! camelCase keys, [`camel_case_keys`], and converts it back with [`snake_case_keys`]). A report
//! has data (column names, labels, slice values) only in values, never in keys, so the key
//! conversion renames fields alone. Everything that legitimately differs between two
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
    /// Mergeable sufficient statistics, when asked for ([`super::fleet`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<super::fleet::Summary>,
}

impl Report {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The JSON of [`Self::to_json`] with camelCase keys ([`camel_case_keys`]): the form the
    /// JavaScript API returns.
    pub fn to_json_camel(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or_default();
        camel_case_keys(v).to_string()
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

/// `key` in camelCase when it is a snake_case name (`roc_auc` to `rocAuc`, `p50_ms` to
/// `p50Ms`); a part that starts with a digit keeps its underscore (`top_1`), so
/// [`snake_case_key`] undoes it. Other keys are left as they are.
pub fn camel_case_key(key: &str) -> Option<String> {
    let mut parts = key.split('_');
    let first = parts.next()?;
    let snake = first.starts_with(|c: char| c.is_ascii_lowercase())
        && key.split('_').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !snake || !key.contains('_') {
        return None;
    }
    let mut out = first.to_string();
    for p in parts {
        if p.starts_with(|c: char| c.is_ascii_digit()) {
            out.push('_');
            out.push_str(p);
        } else {
            let mut cs = p.chars();
            if let Some(c) = cs.next() {
                out.push(c.to_ascii_uppercase());
                out.extend(cs);
            }
        }
    }
    Some(out)
}

/// The inverse of [`camel_case_key`]: `rocAuc` to `roc_auc`. Keys without an ASCII capital, or
/// not of the form [`camel_case_key`] makes, are left as they are.
pub fn snake_case_key(key: &str) -> Option<String> {
    let camel = key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.bytes().any(|b| b.is_ascii_uppercase())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !camel {
        return None;
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn map_keys(v: serde_json::Value, f: &dyn Fn(&str) -> Option<String>) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (f(&k).unwrap_or(k), map_keys(v, f)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| map_keys(v, f)).collect()),
        other => other,
    }
}

/// Every key of a report document in camelCase ([`camel_case_key`]); values are untouched.
pub fn camel_case_keys(v: serde_json::Value) -> serde_json::Value {
    map_keys(v, &camel_case_key)
}

/// Every key back in snake_case ([`snake_case_key`]): the document `edge-registry eval --out`
/// writes.
pub fn snake_case_keys(v: serde_json::Value) -> serde_json::Value {
    map_keys(v, &snake_case_key)
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn report_keys_convert_to_camel_case_and_back() {
        for (snake, camel) in [
            ("roc_auc", "rocAuc"),
            ("p50_ms", "p50Ms"),
            ("rows_per_second", "rowsPerSecond"),
            ("top_k", "topK"),
            ("n_bins", "nBins"),
            ("top_1", "top_1"),
            ("report_format", "reportFormat"),
        ] {
            assert_eq!(camel_case_key(snake).as_deref().unwrap_or(snake), camel);
            assert_eq!(snake_case_key(camel).as_deref().unwrap_or(camel), snake);
        }
        for kept in [
            "accuracy",
            "r2",
            "mean radius",
            "Label",
            "a__b",
            "_x",
            "x_",
            "already_Camel",
        ] {
            assert_eq!(camel_case_key(kept), None, "{kept}");
        }
        let doc = serde_json::json!({"data": {"rows_used": 3, "bad_rows": [{"row": 1}]},
            "slices": [{"column": "mean_radius", "metric_value": 0.5}]});
        let camel = camel_case_keys(doc.clone());
        assert_eq!(camel["data"]["rowsUsed"], 3);
        assert_eq!(
            camel["slices"][0]["column"], "mean_radius",
            "values are untouched"
        );
        assert_eq!(snake_case_keys(camel), doc);
    }
}
