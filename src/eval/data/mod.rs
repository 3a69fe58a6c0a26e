//! Tabular data in: CSV and JSON, pushed in chunks of any size.
//!
//! This module owns the shared types (cells, limits, bad rows, the column selection) and the
//! [`TableReader`] front (hashing, row numbering, limits, dispatch); the format parsers are its
//! children `csv` (the csv-core push parser) and `json` (the JSON framer), which extend
//! `TableReader` and use nothing but this module, `eval::error` and their parser crates.
//!
//! [`TableReader`] parses as bytes arrive and hands every complete row to a callback, so the
//! raw file is never held in memory: only the bytes of the row being parsed are buffered (at
//! most [`Limits::max_record_bytes`]). It also hashes every byte it is given
//! ([`crate::digest::Sha256Hasher`]) for the report's data digest.
//!
//! - **CSV**: a header row, then records (RFC 4180 quoting, `""` escapes, CRLF or LF, a UTF-8
//!   BOM is skipped, blank lines are skipped), parsed by `csv-core`, the `csv` crate's push
//!   parser. A record with a different number of fields than the header is a bad row.
//! - **JSON**: either an array of row objects (`[{"x": 1, "y": "a"}, ...]`, streamed one row at a
//!   time) or an object of columns (`{"x": [1, 2], "y": ["a", "b"]}`). The object-of-columns form
//!   cannot produce a row before every column has been read, so its selected columns are kept
//!   (parsed, not as text) until [`TableReader::finish`]; unselected columns are scanned and
//!   dropped. In the array-of-rows form the first row fixes the column set: a selected column
//!   missing from it is a schema mismatch; later rows may omit keys (read as missing).
//!
//! Missing values: an empty field, or one of [`Limits::missing_tokens`] (by default `NA`,
//! `N/A`, `NaN`, `nan`, `null`, `None`), or JSON `null`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::error::EvalError;
use crate::digest::{Sha256Digest, Sha256Hasher};

mod csv;
mod json;

use csv::CsvState;
use json::JsonState;

/// One cell as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Empty, a missing-value token, or JSON `null`.
    Missing,
    /// A JSON number.
    Number(f64),
    /// Text (every CSV field; JSON strings and booleans; nested JSON as its source text).
    Text(String),
}

impl Value {
    /// The value as a number: JSON numbers as they are, text parsed as `f64` after trimming
    /// spaces (`inf`, `-inf` and exponents accepted). `None` when missing, `Err` when text is
    /// not a number.
    pub fn number(&self) -> Option<Result<f64, String>> {
        match self {
            Value::Missing => None,
            Value::Number(x) => Some(Ok(*x)),
            Value::Text(t) => Some(
                t.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("not a number: {:?}", truncate(t, 40))),
            ),
        }
    }

    /// The value as a category key: text as it is, numbers in Rust's shortest form (`1`, `2.5`).
    /// `None` when missing.
    pub fn key(&self) -> Option<String> {
        match self {
            Value::Missing => None,
            Value::Number(x) => Some(format!("{x}")),
            Value::Text(t) => Some(t.clone()),
        }
    }

    /// Whether the value is missing.
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of row objects, or an object of column arrays.
    Json,
}

/// Limits on untrusted input. Every one is checked before memory is committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Data rows (header excluded). Default 50,000,000.
    pub max_rows: u64,
    /// Columns in the header (or keys in a JSON row). Default 10,000.
    pub max_columns: usize,
    /// Bytes in one field. Default 1 MiB.
    pub max_field_bytes: usize,
    /// Bytes in one record (CSV row, JSON row object or JSON array element). Default 16 MiB.
    pub max_record_bytes: usize,
    /// JSON nesting depth inside a row. Default 32.
    pub max_depth: usize,
    /// Text that means "missing" (compared after trimming spaces), besides the empty string.
    pub missing_tokens: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 50_000_000,
            max_columns: 10_000,
            max_field_bytes: 1 << 20,
            max_record_bytes: 16 << 20,
            max_depth: 32,
            missing_tokens: ["NA", "N/A", "NaN", "nan", "null", "None"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// A row that could not be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRow {
    /// 1-based data row number (the header is row 0).
    pub row: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// Why.
    pub reason: String,
}

/// What to do with a bad row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadRowPolicy {
    /// Skip it, count it and list it in the report (up to a cap).
    #[default]
    Skip,
    /// Stop with [`EvalError::BadRow`].
    Fail,
}

/// Which columns a reader hands out.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnSelection {
    /// Every column, in header order (CSV) or key order (JSON: sorted by name).
    All,
    /// These columns, in this order; a missing one is [`EvalError::SchemaMismatch`].
    Named(Vec<String>),
}

/// A parsed row: cells aligned with [`TableReader::columns`].
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// 1-based data row number.
    pub number: u64,
    /// The selected cells.
    pub cells: Vec<Value>,
}

/// What the reader hands to the callback for each data row.
pub type RowResult = Result<RawRow, BadRow>;

/// Digest and size of everything pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDigest {
    /// SHA-256 of the bytes.
    pub sha256: Sha256Digest,
    /// Number of bytes.
    pub bytes: u64,
}

/// A push parser for CSV or JSON tables. See the module documentation.
pub struct TableReader {
    format: DataFormat,
    limits: Limits,
    selection: ColumnSelection,
    hasher: Sha256Hasher,
    columns: Option<Vec<String>>,
    rows: u64,
    finished: bool,
    csv: CsvState,
    json: JsonState,
}

impl TableReader {
    /// A reader for `format` that hands out `selection`, within `limits`.
    pub fn new(format: DataFormat, selection: ColumnSelection, limits: Limits) -> Self {
        let out_len = 4096.min(limits.max_record_bytes.max(1));
        TableReader {
            format,
            limits,
            selection,
            hasher: Sha256Hasher::new(),
            columns: None,
            rows: 0,
            finished: false,
            csv: CsvState::new(out_len),
            json: JsonState::default(),
        }
    }

    /// The selected column names, once known (after the CSV header or first JSON row).
    pub fn columns(&self) -> Option<&[String]> {
        self.columns.as_deref()
    }

    /// Data rows seen so far (good and bad).
    pub fn rows_seen(&self) -> u64 {
        self.rows
    }

    /// Bytes pushed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.hasher.len()
    }

    /// Feeds the next chunk; complete rows go to `sink`. An error from `sink` stops the reader
    /// and is returned.
    pub fn push(
        &mut self,
        chunk: &[u8],
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        if self.finished {
            return Err(EvalError::InvalidState {
                reason: "data pushed after finish".into(),
            });
        }
        self.hasher.update(chunk);
        if chunk.is_empty() {
            return Ok(());
        }
        match self.format {
            DataFormat::Csv => self.csv_push(chunk, sink),
            DataFormat::Json => self.json_push(chunk, sink),
        }
    }

    /// Ends the input: flushes the last row and returns the digest of all bytes pushed.
    pub fn finish(
        &mut self,
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<DataDigest, EvalError> {
        if self.finished {
            return Err(EvalError::InvalidState {
                reason: "finish called twice".into(),
            });
        }
        match self.format {
            DataFormat::Csv => self.csv_finish(sink)?,
            DataFormat::Json => self.json_finish(sink)?,
        }
        self.finished = true;
        let hasher = std::mem::take(&mut self.hasher);
        let bytes = hasher.len();
        Ok(DataDigest {
            sha256: hasher.finish(),
            bytes,
        })
    }

    fn next_row_number(&mut self) -> Result<u64, EvalError> {
        if self.rows >= self.limits.max_rows {
            return Err(EvalError::LimitExceeded {
                what: "data rows".into(),
                limit: self.limits.max_rows,
            });
        }
        self.rows += 1;
        Ok(self.rows)
    }

    fn text_value(&self, s: &str) -> Value {
        let t = s.trim();
        if t.is_empty() || self.limits.missing_tokens.iter().any(|m| m == t) {
            Value::Missing
        } else {
            Value::Text(s.to_string())
        }
    }
}

/// Resolves a selection against available names: (index of each selected column, names).
fn resolve(
    selection: &ColumnSelection,
    names: &[String],
) -> Result<(Vec<usize>, Vec<String>), EvalError> {
    match selection {
        ColumnSelection::All => Ok(((0..names.len()).collect(), names.to_vec())),
        ColumnSelection::Named(wanted) => {
            let index: HashMap<&str, usize> = names
                .iter()
                .enumerate()
                .rev()
                .map(|(i, n)| (n.as_str(), i))
                .collect();
            let mut map = Vec::with_capacity(wanted.len());
            let mut missing = Vec::new();
            for w in wanted {
                match index.get(w.as_str()) {
                    Some(&i) => map.push(i),
                    None => missing.push(w.clone()),
                }
            }
            if !missing.is_empty() {
                return Err(EvalError::SchemaMismatch {
                    reason: format!(
                        "column(s) {missing:?} not in the data (has {:?})",
                        names.iter().take(20).collect::<Vec<_>>()
                    ),
                });
            }
            Ok((map, wanted.clone()))
        }
    }
}

/// A whole table read into memory: the selected columns' names and every row (a malformed
/// row is its error, the rest are read on).
#[derive(Debug)]
pub struct Table {
    /// Column names, in selection order.
    pub columns: Vec<String>,
    /// The rows, in order.
    pub rows: Vec<RowResult>,
}

/// Reads a whole table from bytes (a convenience over [`TableReader`]).
pub fn read_all(
    format: DataFormat,
    selection: ColumnSelection,
    limits: Limits,
    bytes: &[u8],
) -> Result<Table, EvalError> {
    let mut r = TableReader::new(format, selection, limits);
    let mut rows = Vec::new();
    r.push(bytes, &mut |row| {
        rows.push(row);
        Ok(())
    })?;
    r.finish(&mut |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok(Table {
        columns: r.columns().map(|c| c.to_vec()).unwrap_or_default(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_chunked(
        format: DataFormat,
        data: &[u8],
        chunk: usize,
    ) -> (Vec<String>, Vec<RowResult>) {
        let mut r = TableReader::new(format, ColumnSelection::All, Limits::default());
        let mut rows = Vec::new();
        for c in data.chunks(chunk.max(1)) {
            r.push(c, &mut |row| {
                rows.push(row);
                Ok(())
            })
            .unwrap();
        }
        r.finish(&mut |row| {
            rows.push(row);
            Ok(())
        })
        .unwrap();
        (r.columns().unwrap().to_vec(), rows)
    }

    #[test]
    fn csv_quoting_bom_missing_and_chunking() {
        let data = "\u{feff}a,b,c\n1,\"x, \"\"q\"\"\",NA\r\n2,,3\n\n4,y";
        for chunk in [1, 2, 3, 7, 1000] {
            let (cols, rows) = rows_chunked(DataFormat::Csv, data.as_bytes(), chunk);
            assert_eq!(cols, ["a", "b", "c"], "chunk {chunk}");
            assert_eq!(rows.len(), 3);
            let r0 = rows[0].as_ref().unwrap();
            assert_eq!(r0.cells[1], Value::Text("x, \"q\"".into()));
            assert_eq!(r0.cells[2], Value::Missing);
            assert_eq!(rows[1].as_ref().unwrap().cells[1], Value::Missing);
            let bad = rows[2].as_ref().unwrap_err();
            assert_eq!(bad.row, 3);
            assert!(bad.reason.contains("expected 3 fields"), "{}", bad.reason);
        }
    }

    #[test]
    fn json_rows_and_columns_agree() {
        let rows_doc = br#"[{"a": 1, "b": "x"}, {"a": 2.5, "b": null}, {"b": "z", "a": -3e2}]"#;
        let cols_doc =
            br#"{"b": ["x", null, "z"], "skip": [[1, 2], {"q": "]"}, "s,t"], "a": [1, 2.5, -3e2]}"#;
        for chunk in [1, 2, 5, 1000] {
            let sel = ColumnSelection::Named(vec!["a".into(), "b".into()]);
            let mut out = Vec::new();
            for doc in [&rows_doc[..], &cols_doc[..]] {
                let mut r = TableReader::new(DataFormat::Json, sel.clone(), Limits::default());
                let mut rows = Vec::new();
                for c in doc.chunks(chunk) {
                    r.push(c, &mut |row| {
                        rows.push(row);
                        Ok(())
                    })
                    .unwrap();
                }
                r.finish(&mut |row| {
                    rows.push(row);
                    Ok(())
                })
                .unwrap();
                out.push(rows);
            }
            assert_eq!(out[0], out[1], "chunk {chunk}");
            let r = out[0][2].as_ref().unwrap();
            assert_eq!(
                r.cells,
                vec![Value::Number(-300.0), Value::Text("z".into())]
            );
            assert_eq!(out[0][1].as_ref().unwrap().cells[1], Value::Missing);
        }
    }

    #[test]
    fn limits_are_typed_errors() {
        let mut l = Limits {
            max_record_bytes: 8,
            ..Limits::default()
        };
        let e = read_all(
            DataFormat::Csv,
            ColumnSelection::All,
            l.clone(),
            b"a\n123456789012\n",
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::LimitExceeded { .. }), "{e:?}");
        l.max_rows = 1;
        l.max_record_bytes = 1000;
        let e = read_all(
            DataFormat::Csv,
            ColumnSelection::All,
            l.clone(),
            b"a\n1\n2\n",
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::LimitExceeded { .. }), "{e:?}");
        l.max_depth = 2;
        let e = read_all(
            DataFormat::Json,
            ColumnSelection::All,
            l,
            b"[{\"a\": [[[1]]]}]",
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::LimitExceeded { .. }), "{e:?}");
    }

    #[test]
    fn schema_and_shape_errors() {
        let sel = ColumnSelection::Named(vec!["zz".into()]);
        let e = read_all(
            DataFormat::Csv,
            sel.clone(),
            Limits::default(),
            b"a,b\n1,2\n",
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::SchemaMismatch { .. }));
        let e = read_all(
            DataFormat::Json,
            ColumnSelection::All,
            Limits::default(),
            b"42",
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::BadData { .. }));
        let e = read_all(
            DataFormat::Json,
            ColumnSelection::All,
            Limits::default(),
            b"[{\"a\":1}",
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::BadData { .. }));
        let e = read_all(
            DataFormat::Json,
            ColumnSelection::All,
            Limits::default(),
            br#"{"a":[1,2],"b":[1]}"#,
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::BadData { .. }));
        let e = read_all(
            DataFormat::Csv,
            ColumnSelection::All,
            Limits::default(),
            b"",
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::BadData { .. }));
    }
}
