//! The CSV half of [`TableReader`]: a header row, then records, parsed by `csv-core` (the
//! `csv` crate's push parser) into growable record buffers bounded by [`super::Limits`].
//!
//! Imports only its parent (`data`), [`crate::eval::error`] and `csv-core`.

use super::{resolve, BadRow, RawRow, RowResult, TableReader};
use crate::eval::error::EvalError;

/// csv-core's reader and the buffers of the record being parsed.
pub(super) struct CsvState {
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

impl CsvState {
    /// Empty state with an `out_len`-byte record buffer to start with.
    pub(super) fn new(out_len: usize) -> Self {
        CsvState {
            rdr: csv_core::Reader::new(),
            out: vec![0; out_len],
            out_len: 0,
            ends: vec![0; 64],
            ends_len: 0,
            map: Vec::new(),
            header_len: 0,
            bom: Vec::new(),
            bom_done: false,
        }
    }
}

impl TableReader {
    /// End of data: the held-back BOM bytes, the last record, and the header check.
    pub(super) fn csv_finish(
        &mut self,
        sink: &mut dyn FnMut(RowResult) -> Result<(), EvalError>,
    ) -> Result<(), EvalError> {
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
        Ok(())
    }

    pub(super) fn csv_push(
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
