//! The JSON half of [`TableReader`]: a framer that finds each row object (array of rows) or each
//! cell (object of columns) in the pushed chunks and hands its bytes, at most
//! [`super::Limits::max_record_bytes`], to `serde_json`.
//!
//! Why a framer and not `serde_json`'s streaming deserializer over the whole document: the
//! reader is pushed chunks (`push(chunk)`, from JS streams and the CLI) and must not hold the
//! file, while `serde_json::Deserializer` pulls from a slice or a blocking `io::Read`; the
//! framer also lets a malformed row be a bad row (skipped or fatal per policy) rather than the
//! end of the document, and applies the depth and size limits as typed errors. Inside a row
//! object the framer takes bytes in runs (`json_scan_row`), and after the first row a row is
//! read by a `serde_json` [`DeserializeSeed`] that keeps only the selected keys, with the same
//! grammar and errors as reading it into a map (`benches/eval_read.rs`: 38 → 85 MB/s).
//!
//! Imports only its parent (`data`), [`crate::eval::error`], `serde` and `serde_json`.

use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

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
            if self.json.state == JState::RowsElem {
                // Inside a row object: take its bytes in one run rather than byte by byte.
                let (used, closed) = self.json_scan_row(chunk.get(i..).unwrap_or_default())?;
                i += used;
                if closed {
                    self.json.state = JState::RowsBetween;
                    self.json_row(sink)?;
                }
                continue;
            }
            let consumed = self.json_byte(b, sink)?;
            if consumed {
                i += 1;
            }
        }
        Ok(())
    }

    /// The run version of capturing and tracking a row object's bytes (`json_capture` then
    /// `json_track` per byte, with the same limits and errors): returns how many bytes of
    /// `input` it took and whether the row closed.
    fn json_scan_row(&mut self, input: &[u8]) -> Result<(usize, bool), EvalError> {
        let room = self
            .limits
            .max_record_bytes
            .saturating_sub(self.json.buf.len());
        let j = &mut self.json;
        let mut taken = input.len().min(room);
        let mut closed = false;
        let mut too_deep = false;
        for (k, &b) in input.iter().take(room).enumerate() {
            if j.in_str {
                if j.esc {
                    j.esc = false;
                } else if b == b'\\' {
                    j.esc = true;
                } else if b == b'"' {
                    j.in_str = false;
                }
                continue;
            }
            match b {
                b'"' => j.in_str = true,
                b'{' | b'[' => {
                    j.depth += 1;
                    if j.depth > self.limits.max_depth {
                        taken = k + 1;
                        too_deep = true;
                        break;
                    }
                }
                b'}' | b']' => {
                    j.depth = j.depth.saturating_sub(1);
                    if j.depth == 0 {
                        taken = k + 1;
                        closed = true;
                        break;
                    }
                }
                _ => {}
            }
        }
        j.buf
            .extend_from_slice(input.get(..taken).unwrap_or_default());
        if too_deep {
            return Err(EvalError::LimitExceeded {
                what: "JSON nesting depth".into(),
                limit: self.limits.max_depth as u64,
            });
        }
        if !closed && taken < input.len() {
            // The next byte would not fit.
            return Err(EvalError::LimitExceeded {
                what: format!("bytes in one JSON value (row {})", self.rows + 1),
                limit: self.limits.max_record_bytes as u64,
            });
        }
        Ok((taken, closed))
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

    /// A complete row object in `self.json.buf`.
    fn json_row(
        &mut self,
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
        let number = self.next_row_number()?;
        if self.columns.is_some() {
            // The usual case: pick the selected keys straight out of the bytes.
            match self.json_pick_row() {
                Err(e) => {
                    return sink(Err(BadRow {
                        row: number,
                        column: None,
                        reason: format!("invalid JSON row: {e}"),
                    }))
                }
                Ok(row) if row.keys <= self.limits.max_columns => {
                    return sink(Ok(RawRow {
                        number,
                        cells: row.cells,
                    }))
                }
                // More keys than the limit, some perhaps repeated: count them exactly below.
                Ok(_) => {}
            }
        }
        // The first row (it fixes the columns), or too many keys: the row as a map.
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
            self.json.index = first_positions(&cols);
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

    /// Parses the row object in `self.json.buf` with `serde_json`, keeping only the selected
    /// keys (the same grammar and errors as parsing it into a map, without building one).
    fn json_pick_row(&self) -> Result<PickedRow, serde_json::Error> {
        let seed = RowSeed {
            reader: self,
            n_cells: self.columns.as_ref().map_or(0, Vec::len),
        };
        let mut de = serde_json::Deserializer::from_slice(&self.json.buf);
        let row = seed.deserialize(&mut de)?;
        de.end()?;
        Ok(row)
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
    /// Array of rows: the selected position of each column name (its first, if repeated).
    index: HashMap<String, usize>,
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
            index: HashMap::new(),
        }
    }
}

/// The selected position of each name: the first, if a name is selected twice (the later ones
/// stay missing, as when each is removed from the row's map in turn).
fn first_positions(cols: &[String]) -> HashMap<String, usize> {
    let mut index = HashMap::with_capacity(cols.len());
    for (i, c) in cols.iter().enumerate() {
        index.entry(c.clone()).or_insert(i);
    }
    index
}

/// The cells of one row object and how many keys it had (repeats included).
struct PickedRow {
    cells: Vec<Value>,
    keys: usize,
}

/// Reads a row object keeping the selected keys as cells (a repeated key: the last value, as in
/// a map) and checking, not keeping, the rest.
struct RowSeed<'r> {
    reader: &'r TableReader,
    n_cells: usize,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = PickedRow;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<PickedRow, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = PickedRow;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PickedRow, A::Error> {
        let mut cells = vec![Value::Missing; self.n_cells];
        let mut keys = 0usize;
        let index = &self.reader.json.index;
        while let Some(slot) = map.next_key_seed(KeySeed(index))? {
            keys += 1;
            match slot.and_then(|i| cells.get_mut(i)) {
                Some(cell) => {
                    let v: serde_json::Value = map.next_value()?;
                    *cell = self.reader.json_value(v);
                }
                None => {
                    map.next_value::<Checked>()?;
                }
            }
        }
        Ok(PickedRow { cells, keys })
    }
}

/// A row key: its selected position, if selected.
struct KeySeed<'a>(&'a HashMap<String, usize>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_string(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.get(v).copied())
    }
}

/// An unselected value: parsed as fully as a `serde_json::Value` (numbers in range, strings
/// valid), then dropped. Unlike [`serde::de::IgnoredAny`], which only skips over the syntax.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_none<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Checked, D::Error> {
        serde::Deserialize::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<IgnoredKey>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

/// A nested object's key, checked as a string (as `serde_json::Value` reads keys) and dropped.
struct IgnoredKey;

impl<'de> serde::Deserialize<'de> for IgnoredKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IgnoredKey, D::Error> {
        d.deserialize_string(CheckedVisitor).map(|_| IgnoredKey)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DataFormat, Limits};
    use super::*;

    /// The old per-row path: the row as a map, then each selected column removed in turn.
    fn via_map(r: &TableReader, bytes: &[u8]) -> Result<(Vec<Value>, usize), String> {
        let mut obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let keys = obj.len();
        let cells = r
            .columns
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|c| obj.remove(c).map_or(Value::Missing, |v| r.json_value(v)))
            .collect();
        Ok((cells, keys))
    }

    #[test]
    fn picking_a_row_matches_reading_it_as_a_map() {
        let sel = vec![
            "a".to_string(),
            "b".to_string(),
            "a".to_string(),
            "é\"".to_string(),
        ];
        let mut r = TableReader::new(
            DataFormat::Json,
            ColumnSelection::Named(sel.clone()),
            Limits::default(),
        );
        r.json.index = first_positions(&sel);
        r.columns = Some(sel);
        let rows: &[&[u8]] = &[
            br#"{"a": 1, "b": "x"}"#,
            br#"{"a": 1, "a": 2, "b": null}"#,
            br#"{"b": [1, {"z": 2, "y": [true]}], "a": -0.0}"#,
            br#"{"skip": 1e999, "a": 1}"#,
            br#"{"a": 1e999}"#,
            br#"{"skip": "\ud800", "a": 1}"#,
            br#"{"skip": {"k": 1e999}, "a": 1}"#,
            br#"{"\u00e9\"": "NA", "a": " 2 "}"#,
            br#"{"a": 1,}"#,
            br#"{"a" 1}"#,
            br#"{"a": tru}"#,
            br#"{1: 2}"#,
            br#"{"a": 18446744073709551616, "b": -9223372036854775809}"#,
            br#"{}"#,
        ];
        for bytes in rows {
            r.json.buf = bytes.to_vec();
            let fast = r
                .json_pick_row()
                .map(|p| (p.cells, p.keys))
                .map_err(|e| e.to_string());
            let slow = via_map(&r, bytes);
            match (&fast, &slow) {
                (Ok((fc, fk)), Ok((sc, sk))) => {
                    assert_eq!(fc, sc, "{}", String::from_utf8_lossy(bytes));
                    assert!(fk >= sk);
                }
                _ => assert_eq!(
                    fast.as_ref().err(),
                    slow.as_ref().err(),
                    "{}",
                    String::from_utf8_lossy(bytes)
                ),
            }
        }
    }
}
