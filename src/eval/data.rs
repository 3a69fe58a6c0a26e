//! Tabular data in: CSV and JSON, pushed in chunks of any size.
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

/// Field `k` of a csv-core record: `out[ends[k - 1]..ends[k]]` (empty when out of range).
fn csv_field<'a>(out: &'a [u8], ends: &[usize], k: usize) -> &'a [u8] {
    let start = match k.checked_sub(1) {
        None => 0,
        Some(j) => ends.get(j).copied().unwrap_or(0),
    };
    ends.get(k)
        .and_then(|&end| out.get(start..end))
        .unwrap_or_default()
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

struct CsvState {
    rdr: csv_core::Reader,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    /// Field index of each selected column.
    map: Vec<usize>,
    header_len: usize,
    bom: Vec<u8>,
    bom_done: bool,
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
            csv: CsvState {
                rdr: csv_core::Reader::new(),
                out: vec![0; out_len],
                out_len: 0,
                ends: vec![0; 64],
                ends_len: 0,
                map: Vec::new(),
                header_len: 0,
                bom: Vec::new(),
                bom_done: false,
            },
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
            DataFormat::Csv => {
                if !self.csv.bom_done {
                    let pending = std::mem::take(&mut self.csv.bom);
                    self.csv.bom_done = true;
                    self.csv_feed(&pending, sink)?;
                }
                self.csv_feed(&[], sink)?;
                if self.columns.is_none() {
                    return Err(EvalError::BadData {
                        row: 0,
                        reason: "empty CSV: no header row".into(),
                    });
                }
            }
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

    // ---------------------------------------------------------------- CSV

    fn csv_push(
        &mut self,
        chunk: &[u8],
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        if !self.csv.bom_done {
            // Hold back up to three bytes to strip a UTF-8 BOM split across chunks.
            self.csv.bom.extend_from_slice(chunk);
            if self.csv.bom.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.csv.bom) {
                return Ok(());
            }
            self.csv.bom_done = true;
            let pending = std::mem::take(&mut self.csv.bom);
            let rest = pending.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&pending);
            return self.csv_feed(rest, sink);
        }
        self.csv_feed(chunk, sink)
    }

    /// Runs csv-core over `input`; an empty `input` means end of data.
    fn csv_feed(
        &mut self,
        mut input: &[u8],
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let at_end = input.is_empty();
        loop {
            let c = &mut self.csv;
            // out_len ≤ out.len() and ends_len ≤ ends.len(): csv-core writes at most what it is
            // given; the buffers only grow below.
            let (res, nin, nout, nend) = c.rdr.read_record(
                input,
                c.out.get_mut(c.out_len..).unwrap_or_default(),
                c.ends.get_mut(c.ends_len..).unwrap_or_default(),
            );
            input = input.get(nin..).unwrap_or_default();
            c.out_len += nout;
            c.ends_len += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {
                    if !at_end {
                        return Ok(());
                    }
                }
                csv_core::ReadRecordResult::OutputFull => {
                    let limit = self.limits.max_record_bytes;
                    if c.out.len() >= limit {
                        return Err(EvalError::LimitExceeded {
                            what: format!("bytes in one CSV record (row {})", self.rows + 1),
                            limit: limit as u64,
                        });
                    }
                    let new_len = (c.out.len() * 2).min(limit);
                    c.out.resize(new_len, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let limit = self.limits.max_columns;
                    if c.ends.len() >= limit {
                        return Err(EvalError::LimitExceeded {
                            what: format!("fields in one CSV record (row {})", self.rows + 1),
                            limit: limit as u64,
                        });
                    }
                    let new_len = (c.ends.len() * 2).min(limit);
                    c.ends.resize(new_len, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.csv_record(sink)?;
                    let c = &mut self.csv;
                    c.out_len = 0;
                    c.ends_len = 0;
                }
                csv_core::ReadRecordResult::End => return Ok(()),
            }
        }
    }

    fn csv_record(
        &mut self,
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let c = &self.csv;
        let ends = c.ends.get(..c.ends_len).unwrap_or_default();
        let out = c.out.get(..c.out_len).unwrap_or_default();
        let field = |k: usize| csv_field(out, ends, k);
        if self.columns.is_none() {
            // Header. (The field buffer starts at 64 entries, so a narrower limit is checked
            // here.)
            if ends.len() > self.limits.max_columns {
                return Err(EvalError::LimitExceeded {
                    what: format!("columns in the CSV header ({})", ends.len()),
                    limit: self.limits.max_columns as u64,
                });
            }
            let mut names = Vec::with_capacity(ends.len());
            for k in 0..ends.len() {
                let f = field(k);
                let name = std::str::from_utf8(f).map_err(|_| EvalError::BadData {
                    row: 0,
                    reason: format!("header field {} is not UTF-8", k + 1),
                })?;
                names.push(name.trim().to_string());
            }
            let (map, cols) = resolve(&self.selection, &names)?;
            self.csv.map = map;
            self.csv.header_len = names.len();
            self.columns = Some(cols);
            return Ok(());
        }
        let number = self.next_row_number()?;
        let c = &self.csv;
        let ends = c.ends.get(..c.ends_len).unwrap_or_default();
        if ends.len() != c.header_len {
            return sink(Err(BadRow {
                row: number,
                column: None,
                reason: format!("expected {} fields, got {}", c.header_len, ends.len()),
            }));
        }
        let mut cells = Vec::with_capacity(c.map.len());
        let mut bad = None;
        for (sel, &k) in c.map.iter().enumerate() {
            let f = csv_field(&c.out, ends, k);
            let col = || self.columns.as_ref().and_then(|v| v.get(sel)).cloned();
            if f.len() > self.limits.max_field_bytes {
                bad = Some(BadRow {
                    row: number,
                    column: col(),
                    reason: format!("field longer than {} bytes", self.limits.max_field_bytes),
                });
                break;
            }
            match std::str::from_utf8(f) {
                Ok(s) => cells.push(self.text_value(s)),
                Err(_) => {
                    bad = Some(BadRow {
                        row: number,
                        column: col(),
                        reason: "field is not UTF-8".into(),
                    });
                    break;
                }
            }
        }
        match bad {
            Some(b) => sink(Err(b)),
            None => sink(Ok(RawRow { number, cells })),
        }
    }

    // ---------------------------------------------------------------- JSON

    fn json_push(
        &mut self,
        chunk: &[u8],
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let mut i = 0;
        while let Some(&b) = chunk.get(i) {
            let consumed = self.json_byte(b, sink)?;
            if consumed {
                i += 1;
            }
        }
        Ok(())
    }

    fn json_err(&self, reason: impl Into<String>) -> EvalError {
        EvalError::BadData {
            row: self.rows + 1,
            reason: reason.into(),
        }
    }

    fn json_capture(&mut self, b: u8) -> Result<(), EvalError> {
        if self.json.buf.len() >= self.limits.max_record_bytes {
            return Err(EvalError::LimitExceeded {
                what: format!("bytes in one JSON value (row {})", self.rows + 1),
                limit: self.limits.max_record_bytes as u64,
            });
        }
        self.json.buf.push(b);
        Ok(())
    }

    /// Tracks strings and nesting for a captured value; returns true when the value closed.
    fn json_track(&mut self, b: u8) -> Result<bool, EvalError> {
        let j = &mut self.json;
        if j.in_str {
            if j.esc {
                j.esc = false;
            } else if b == b'\\' {
                j.esc = true;
            } else if b == b'"' {
                j.in_str = false;
                return Ok(j.depth == 0);
            }
            return Ok(false);
        }
        match b {
            b'"' => j.in_str = true,
            b'{' | b'[' => {
                j.depth += 1;
                if j.depth > self.limits.max_depth {
                    return Err(EvalError::LimitExceeded {
                        what: "JSON nesting depth".into(),
                        limit: self.limits.max_depth as u64,
                    });
                }
            }
            b'}' | b']' => {
                j.depth = j.depth.saturating_sub(1);
                return Ok(j.depth == 0);
            }
            _ => {}
        }
        Ok(false)
    }

    /// Processes one byte; returns false when the byte must be processed again in the new
    /// state (the end of a bare scalar).
    fn json_byte(
        &mut self,
        b: u8,
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<bool, EvalError> {
        let ws = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.json.state {
            JState::Start => {
                if ws || (self.json.bom_left > 0 && matches!(b, 0xEF | 0xBB | 0xBF)) {
                    self.json.bom_left = self.json.bom_left.saturating_sub(1);
                    return Ok(true);
                }
                self.json.bom_left = 0;
                self.json.state = match b {
                    b'[' => JState::RowsBetween,
                    b'{' => JState::ColsKeyNext,
                    _ => {
                        return Err(self.json_err(
                            "JSON data must be an array of row objects or an object of columns",
                        ))
                    }
                };
            }
            JState::RowsBetween => {
                if ws || b == b',' {
                    return Ok(true);
                }
                match b {
                    b']' => self.json.state = JState::Done,
                    b'{' => {
                        self.json.buf.clear();
                        self.json.depth = 0;
                        self.json.in_str = false;
                        self.json.esc = false;
                        self.json_capture(b)?;
                        self.json_track(b)?;
                        self.json.state = JState::RowsElem;
                    }
                    _ => return Err(self.json_err("row is not a JSON object")),
                }
            }
            JState::RowsElem => {
                self.json_capture(b)?;
                if self.json_track(b)? {
                    self.json.state = JState::RowsBetween;
                    self.json_row(sink)?;
                }
            }
            JState::ColsKeyNext => {
                if ws || b == b',' {
                    return Ok(true);
                }
                match b {
                    b'}' => self.json.state = JState::Done,
                    b'"' => {
                        self.json.buf.clear();
                        self.json.depth = 0;
                        self.json.in_str = true;
                        self.json.esc = false;
                        self.json_capture(b)?;
                        self.json.state = JState::ColsKey;
                    }
                    _ => return Err(self.json_err("expected a column name")),
                }
            }
            JState::ColsKey => {
                self.json_capture(b)?;
                if self.json_track(b)? {
                    let key: String = serde_json::from_slice(&self.json.buf)
                        .map_err(|e| self.json_err(format!("bad column name: {e}")))?;
                    if self.json.columns.len() >= self.limits.max_columns {
                        return Err(EvalError::LimitExceeded {
                            what: "JSON columns".into(),
                            limit: self.limits.max_columns as u64,
                        });
                    }
                    let keep = match &self.selection {
                        ColumnSelection::All => true,
                        ColumnSelection::Named(n) => n.contains(&key),
                    };
                    self.json.current = keep.then(|| key.clone());
                    self.json.seen_columns.push(key);
                    self.json.state = JState::ColsColon;
                }
            }
            JState::ColsColon => {
                if ws {
                    return Ok(true);
                }
                if b != b':' {
                    return Err(self.json_err("expected ':' after a column name"));
                }
                self.json.state = JState::ColsArray;
            }
            JState::ColsArray => {
                if ws {
                    return Ok(true);
                }
                if b != b'[' {
                    return Err(self.json_err("a column must be a JSON array"));
                }
                if let Some(k) = &self.json.current {
                    self.json.columns.entry(k.clone()).or_default();
                }
                self.json.col_len = 0;
                self.json.state = JState::ColsBetween;
            }
            JState::ColsBetween => {
                if ws || b == b',' {
                    return Ok(true);
                }
                if b == b']' {
                    self.json.state = JState::ColsKeyNext;
                    return Ok(true);
                }
                self.json.buf.clear();
                self.json.depth = 0;
                self.json.in_str = false;
                self.json.esc = false;
                self.json_capture(b)?;
                let closed = self.json_track(b)?;
                self.json.state = JState::ColsElem;
                if closed {
                    self.json_cell()?;
                }
            }
            JState::ColsElem => {
                let j = &self.json;
                if !j.in_str && j.depth == 0 && (ws || b == b',' || b == b']') {
                    // End of a bare scalar: store it and re-process the byte.
                    self.json_cell()?;
                    return Ok(false);
                }
                self.json_capture(b)?;
                if self.json_track(b)? {
                    self.json_cell()?;
                }
            }
            JState::Done => {
                if !ws {
                    return Err(self.json_err("trailing data after the JSON document"));
                }
            }
        }
        Ok(true)
    }

    /// A complete value in an object-of-columns array.
    fn json_cell(&mut self) -> Result<(), EvalError> {
        self.json.state = JState::ColsBetween;
        self.json.col_len += 1;
        if self.json.col_len > self.limits.max_rows {
            return Err(EvalError::LimitExceeded {
                what: "data rows".into(),
                limit: self.limits.max_rows,
            });
        }
        let Some(key) = self.json.current.clone() else {
            return Ok(());
        };
        let v: serde_json::Value = serde_json::from_slice(&self.json.buf)
            .map_err(|e| self.json_err(format!("bad JSON value in column {key:?}: {e}")))?;
        let cell = self.json_value(v);
        if let Some(col) = self.json.columns.get_mut(&key) {
            col.push(cell);
        }
        Ok(())
    }

    fn json_value(&self, v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Missing,
            serde_json::Value::Number(n) => n.as_f64().map_or(Value::Missing, Value::Number),
            serde_json::Value::String(s) => self.text_value(&s),
            serde_json::Value::Bool(b) => Value::Text(b.to_string()),
            other => Value::Text(other.to_string()),
        }
    }

    fn json_row(
        &mut self,
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let number = self.next_row_number()?;
        let parsed: Result<serde_json::Map<String, serde_json::Value>, _> =
            serde_json::from_slice(&self.json.buf);
        let mut obj = match parsed {
            Ok(o) => o,
            Err(e) => {
                return sink(Err(BadRow {
                    row: number,
                    column: None,
                    reason: format!("invalid JSON row: {e}"),
                }))
            }
        };
        if obj.len() > self.limits.max_columns {
            return Err(EvalError::LimitExceeded {
                what: "keys in a JSON row".into(),
                limit: self.limits.max_columns as u64,
            });
        }
        if self.columns.is_none() {
            let names: Vec<String> = obj.keys().cloned().collect();
            let (_, cols) = resolve(&self.selection, &names)?;
            self.columns = Some(cols);
        }
        let cols = self.columns.clone().unwrap_or_default();
        let cells = cols
            .iter()
            .map(|c| match obj.remove(c) {
                Some(v) => self.json_value(v),
                None => Value::Missing,
            })
            .collect();
        sink(Ok(RawRow { number, cells }))
    }

    fn json_finish(
        &mut self,
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        match self.json.state {
            JState::Done => {}
            JState::Start => return Err(self.json_err("empty JSON data")),
            _ => return Err(self.json_err("truncated JSON data")),
        }
        if self.columns.is_some() {
            return Ok(());
        }
        if self.json.seen_columns.is_empty() && self.json.columns.is_empty() {
            // `[]` or `{}`: no rows. Resolve against nothing so a Named selection fails.
            let (_, cols) = resolve(&self.selection, &[])?;
            self.columns = Some(cols);
            return Ok(());
        }
        // Object of columns: emit rows now.
        let mut names: Vec<String> = self.json.seen_columns.clone();
        names.sort();
        names.dedup();
        let (_, cols) = resolve(&self.selection, &names)?;
        let mut data: Vec<Vec<Value>> = Vec::with_capacity(cols.len());
        for c in &cols {
            data.push(self.json.columns.remove(c).unwrap_or_default());
        }
        let n = data.first().map_or(0, |d| d.len());
        if let Some((c, d)) = cols.iter().zip(&data).find(|(_, d)| d.len() != n) {
            return Err(EvalError::BadData {
                row: 0,
                reason: format!(
                    "columns have different lengths ({c:?} has {}, {:?} has {n})",
                    d.len(),
                    cols.first().cloned().unwrap_or_default()
                ),
            });
        }
        self.columns = Some(cols);
        let mut iters: Vec<std::vec::IntoIter<Value>> =
            data.into_iter().map(|d| d.into_iter()).collect();
        for _ in 0..n {
            let number = self.next_row_number()?;
            let cells = iters
                .iter_mut()
                .map(|it| it.next().unwrap_or(Value::Missing))
                .collect();
            sink(Ok(RawRow { number, cells }))?;
        }
        Ok(())
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum JState {
    #[default]
    Start,
    RowsBetween,
    RowsElem,
    ColsKeyNext,
    ColsKey,
    ColsColon,
    ColsArray,
    ColsBetween,
    ColsElem,
    Done,
}

struct JsonState {
    state: JState,
    buf: Vec<u8>,
    depth: usize,
    in_str: bool,
    esc: bool,
    bom_left: u8,
    current: Option<String>,
    col_len: u64,
    seen_columns: Vec<String>,
    columns: HashMap<String, Vec<Value>>,
}

impl Default for JsonState {
    fn default() -> Self {
        JsonState {
            state: JState::Start,
            buf: Vec::new(),
            depth: 0,
            in_str: false,
            esc: false,
            bom_left: 3,
            current: None,
            col_len: 0,
            seen_columns: Vec::new(),
            columns: HashMap::new(),
        }
    }
}

/// Reads a whole table from bytes (a convenience over [`TableReader`]), returning the selected
/// column names and rows.
pub fn read_all(
    format: DataFormat,
    selection: ColumnSelection,
    limits: Limits,
    bytes: &[u8],
) -> Result<(Vec<String>, Vec<RowResult>), EvalError> {
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
    Ok((r.columns().map(|c| c.to_vec()).unwrap_or_default(), rows))
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
