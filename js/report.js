// Evaluation reports: the JS API returns the document `edge-registry eval --out` writes with
// camelCase keys (`data.rowsUsed`, `results.classification.balancedAccuracy`); reportDocument
// gives the document itself back (snake_case keys), to save it or compare it with the CLI's.
// A report holds data (column names, labels, slice values) only in values, never in keys, so
// only field names change. The glue (edge_registry.js) re-exports it; it needs no WebAssembly.
//
//   import { reportDocument } from "edge-registry";
//   writeFileSync("report.json", JSON.stringify(reportDocument(await model.evaluate(csv)), null, 2));

/** `rocAuc` -> `roc_auc`, `p50Ms` -> `p50_ms`; other keys unchanged (the inverse of the
 * library's camelCase conversion, src/eval/report.rs `camel_case_key`). */
function snakeKey(key) {
  if (!/^[a-z][A-Za-z0-9_]*$/.test(key) || !/[A-Z]/.test(key)) return key;
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function convert(value) {
  if (Array.isArray(value)) return value.map(convert);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[snakeKey(k)] = convert(v);
    return out;
  }
  return value;
}

/** The report as the versioned document the CLI writes (snake_case keys). */
export function reportDocument(report) {
  if (report === null || typeof report !== "object" || Array.isArray(report)) {
    throw new TypeError("reportDocument(report): report must be an evaluation report object");
  }
  return convert(report);
}
