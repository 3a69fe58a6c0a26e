// A small RFC 4180 reader for the demo page, which only needs the column names (and a first
// row) of the data the user picks: the evaluation itself parses the whole file inside the
// WebAssembly module (csv-core). Fields are separated by commas and records by CRLF (a bare LF
// or CR is accepted too); a field in double quotes may hold commas, line breaks and doubled
// quotes (""); a UTF-8 byte order mark before the first field is skipped.

/**
 * The records of `text`, each an array of fields, at most `maxRecords` of them. With
 * `{ partial: true }` the text may stop in the middle of a record: that unfinished record is
 * left out, and `complete` says whether anything was left out.
 * @returns {{ records: string[][], complete: boolean }}
 */
export function readCsv(text, { maxRecords = Infinity, partial = false } = {}) {
  const records = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  let record = [];
  let field = "";
  let quoted = false; // inside a quoted field
  let sawQuote = false; // the current field started with a quote
  let atFieldStart = true;
  const endField = () => {
    record.push(field);
    field = "";
    sawQuote = false;
    atFieldStart = true;
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  while (i < n && records.length < maxRecords) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        if (i + 1 === n && partial) break; // the escape may continue in the next chunk
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && atFieldStart) {
      quoted = true;
      sawQuote = true;
      atFieldStart = false;
      i++;
      continue;
    }
    if (c === ",") {
      endField();
      i++;
      continue;
    }
    if (c === "\r" || c === "\n") {
      if (c === "\r" && i + 1 === n && partial) break; // CR LF may be split across chunks
      endRecord();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      continue;
    }
    // Text after a closing quote (`"a"b`) is kept, as most readers do.
    field += c;
    atFieldStart = false;
    i++;
  }
  if (records.length >= maxRecords) return { records, complete: true };
  const pending = field !== "" || sawQuote || record.length > 0 || quoted;
  if (partial) return { records, complete: !pending && i >= n };
  if (pending) endRecord();
  return { records, complete: true };
}

/** The header (first record) of CSV text, or null when `partial` text ends before it does. */
export function csvHeader(text, { partial = false } = {}) {
  const { records } = readCsv(text, { maxRecords: 1, partial });
  if (records.length) return records[0];
  return partial ? null : [];
}
