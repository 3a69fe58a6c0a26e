// Small DOM helpers for the demo page.

export const $ = (id) => document.getElementById(id);

/** el("td", { class: "x", title: "y" }, child, "text", ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

export function fmtBytes(n) {
  if (n == null) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function fmtNum(x, digits = 4) {
  if (x === null || x === undefined) return "–";
  if (typeof x !== "number") return String(x);
  if (Number.isInteger(x)) return String(x);
  return x.toFixed(digits);
}

export function fmtTime(ms) {
  if (!ms) return "never";
  return new Date(ms).toLocaleString();
}

/** What an error means, in words for people; the library's message names the role and rule. */
export function explain(err) {
  const code = err?.code;
  const message = err?.message ?? String(err);
  const hints = {
    HASH_MISMATCH: "The file the server sent does not match what the registry signed. It was refused and nothing was cached.",
    LENGTH_EXCEEDED: "The server sent more bytes than the registry signed. The download was stopped and nothing was cached.",
    TRUNCATED: "The download ended before the signed length. Nothing was cached.",
    SIGNATURE_THRESHOLD: "The registry's metadata is not signed by enough trusted keys.",
    EXPIRED: "The registry's signed metadata has expired, so it can no longer be trusted.",
    ROLLBACK: "The server offered older metadata than this device has already seen (a rollback attempt).",
    NETWORK: "The registry could not be reached.",
    QUOTA: "There is not enough storage space for this model.",
    SCHEMA_MISMATCH: "The model or the data does not have the inputs the card declares.",
    UNSUPPORTED_MODEL: "The model uses operators the engine does not implement.",
    BAD_MODEL: "The file is not a usable ONNX model.",
    MODEL_NOT_FOUND: "The registry has no such model or version.",
    ABORTED: "Cancelled.",
  };
  const hint = hints[code];
  return hint ? `${hint} (${message})` : message;
}

/** A table from header labels and rows of cells. */
export function table(headers, rows, attrs = {}) {
  return el("table", { class: "compact", ...attrs },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", r.attrs ?? {}, (r.cells ?? r).map((c) => el("td", {}, c))))));
}
