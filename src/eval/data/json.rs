//! The JSON half of [`TableReader`]: a byte-at-a-time framer that finds each row object (array
//! of rows) or each cell (object of columns) and hands its bytes, at most
//! [`super::Limits::max_record_bytes`], to `serde_json`.
//!
//! Imports only its parent (`data`), [`crate::eval::error`] and `serde_json`.

use std::collections::HashMap;

use super::{resolve, BadRow, ColumnSelection, RawRow, RowResult, TableReader, Value};
use crate::eval::error::EvalError;

impl TableReader {
    pub(super) fn json_push(
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

    pub(super) fn json_finish(
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

/// The framer's state.
pub(super) struct JsonState {
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
