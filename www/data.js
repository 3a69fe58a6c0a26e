// Evaluation data on the demo page: which format it is (CSV or JSON, as `evaluate`'s `format`
// option names them) and its column names, read from the start of the data only. The
// evaluation parses the whole data itself, inside the WebAssembly module.
import { readCsv } from "./csv.js";

/** A coded error, as the library's errors are. */
const bad = (message) => Object.assign(new Error(message), { code: "BAD_DATA" });

const firstSignificant = (text) => {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "\ufeff" && c !== " " && c !== "\t" && c !== "\r" && c !== "\n") return { c, i };
  }
  return { c: "", i: text.length };
};

/**
 * "json" or "csv": from the file name's extension or MIME type when they say, else from the
 * first character (`[` or `{` is JSON: an array of row objects or an object of columns).
 */
export function sniffFormat(text, { name = "", type = "" } = {}) {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (ext === "json" || /\bjson\b/i.test(type)) return "json";
  if (ext === "csv" || ext === "tsv" || /\bcsv\b/i.test(type)) return "csv";
  const { c } = firstSignificant(text);
  return c === "[" || c === "{" ? "json" : "csv";
}

/** The end (exclusive) of the JSON string starting at `i` (a `"`), or -1 if the text ends first. */
function stringEnd(text, i) {
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === "\\") j++;
    else if (c === '"') return j + 1;
  }
  return -1;
}

/** The end (exclusive) of the object or array starting at `i`, or -1 if the text ends first. */
function containerEnd(text, i) {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '"') {
      const e = stringEnd(text, j);
      if (e < 0) return -1;
      j = e - 1;
    } else if (c === "{" || c === "[") depth++;
    else if ((c === "}" || c === "]") && --depth === 0) return j + 1;
  }
  return -1;
}

/**
 * The column names of JSON evaluation data: the keys of the first row of an array of row
 * objects (`[{"a": 1, "b": 2}, ...]`), or the keys of an object of columns
 * (`{"a": [1, ...], "b": [2, ...]}`). With `partial` text (the start of a file), null when more
 * is needed: an object of columns needs the whole text, an array only its first row.
 */
export function jsonColumns(text, { partial = false } = {}) {
  const { c, i } = firstSignificant(text);
  if (c === "[") {
    const { c: c1, i: at } = firstSignificant(text.slice(i + 1));
    const start = i + 1 + at;
    if (c1 === "" && partial) return null;
    if (c1 === "]") return [];
    if (c1 !== "{") throw bad("JSON evaluation data must be an array of row objects or an object of columns");
    const end = containerEnd(text, start);
    if (end < 0) {
      if (partial) return null;
      throw bad("the JSON data ends inside its first row");
    }
    let row;
    try {
      row = JSON.parse(text.slice(start, end));
    } catch (e) {
      throw bad(`the first row is not JSON: ${e.message}`);
    }
    return Object.keys(row);
  }
  if (c === "{") {
    if (partial) return null;
    let obj;
    try {
      obj = JSON.parse(text.replace(/^\ufeff/, ""));
    } catch (e) {
      throw bad(`not JSON: ${e.message}`);
    }
    return Object.keys(obj);
  }
  if (c === "" && partial) return null;
  throw bad("JSON evaluation data must be an array of row objects or an object of columns");
}

/**
 * Format and column names of evaluation data: a Blob (a File: only its start is read, except
 * for a JSON object of columns, which is read whole), bytes or text.
 * @returns {Promise<{ format: "csv" | "json", columns: string[] }>}
 */
export async function describeData(data, { name = "", type = "" } = {}) {
  if (typeof data === "string") {
    const format = sniffFormat(data, { name, type });
    return { format, columns: format === "json" ? jsonColumns(data) : readCsv(data, { maxRecords: 1 }).records[0] ?? [] };
  }
  const blob = data instanceof Blob ? data : new Blob([data]);
  const decoder = new TextDecoder();
  let text = "";
  let format = null;
  const step = 64 << 10;
  for (let at = 0; ; at += step) {
    const end = Math.min(blob.size, at + step);
    const done = end >= blob.size;
    text += decoder.decode(new Uint8Array(await blob.slice(at, end).arrayBuffer()), { stream: !done });
    format ??= (firstSignificant(text).c || done) ? sniffFormat(text, { name, type: type || blob.type }) : null;
    if (format === "json") {
      const columns = jsonColumns(text, { partial: !done });
      if (columns) return { format, columns };
    } else if (format === "csv") {
      const { records } = readCsv(text, { maxRecords: 1, partial: !done });
      if (records.length || done) return { format, columns: records[0] ?? [] };
      if (end >= 16 << 20) throw bad("no complete CSV header in the first 16 MiB");
    }
    if (done) return { format: format ?? "csv", columns: [] };
  }
}
