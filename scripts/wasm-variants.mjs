// The package's two WebAssembly builds behind one JS glue (run by scripts/build-pkg).
//
//   node scripts/wasm-variants.mjs OUT_DIR [RELAXED_DIR]
//
// OUT_DIR holds wasm-bindgen's output for the SIMD build (edge_registry.js and
// edge_registry_bg.wasm). RELAXED_DIR, when given, holds wasm-bindgen's output for the same crate
// built with +relaxed-simd. The two glues are the same code except for the export names of the
// closure shims, whose symbol hashes differ between the builds; this script checks that nothing
// else differs, renames those exports in the relaxed module to the SIMD build's names, checks
// that both modules now import and export exactly the same names, and writes it to
// OUT_DIR/edge_registry_relaxed_bg.wasm. Either module then runs under OUT_DIR/edge_registry.js.
//
// Then the glue picks its module: `wasmFile` (exported) is the relaxed-SIMD file where this
// host validates a relaxed-SIMD instruction and the package has that build, else the SIMD one,
// and `init()` without an argument loads it (pages and workers, js/resilient.js). Node does the
// same through `wasmVariant` (js/node.js), Deno through `wasmFile` (js/deno.js).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [outDir, relaxedDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node scripts/wasm-variants.mjs OUT_DIR [RELAXED_DIR]");
  process.exit(2);
}
const fail = (message) => {
  console.error(`wasm-variants: ${message}`);
  process.exit(1);
};

const RELAXED_FILE = "edge_registry_relaxed_bg.wasm";
const gluePath = join(outDir, "edge_registry.js");
let glue = readFileSync(gluePath, "utf8");

if (relaxedDir) {
  const relaxedGlue = readFileSync(join(relaxedDir, "edge_registry.js"), "utf8");
  const renames = shimRenames(relaxedGlue, glue);
  const simd = readFileSync(join(outDir, "edge_registry_bg.wasm"));
  const relaxed = renameExports(readFileSync(join(relaxedDir, "edge_registry_bg.wasm")), renames);
  const same = (what, a, b) => {
    const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
    if (x !== y) fail(`the relaxed-SIMD module's ${what} differ from the SIMD module's`);
  };
  same("imports", names(simd).imports, names(relaxed).imports);
  same("exports", names(simd).exports, names(relaxed).exports);
  writeFileSync(join(outDir, RELAXED_FILE), relaxed);
}

// The default module of `init()`: the file `wasmFile` names, each file as a literal
// `new URL("./file", import.meta.url)`: bundlers (Vite, webpack 5) follow only a literal, emit
// the file and rewrite its URL (with a computed name a bundle had no module to load;
// tests/bundlers). Without the relaxed build, wasm-bindgen's own literal stays.
const defaultUrl = "new URL('edge_registry_bg.wasm', import.meta.url)";
if (glue.split(defaultUrl).length !== 2) fail(`expected one ${defaultUrl} in ${gluePath}`);
if (relaxedDir) {
  glue = glue.replace(defaultUrl, `(wasmVariant === "relaxed-simd" ? new URL("./${RELAXED_FILE}", import.meta.url) : new URL("./edge_registry_bg.wasm", import.meta.url))`);
}
glue += `
// edge-registry (scripts/wasm-variants.mjs): which build of the module this host runs. The
// relaxed-SIMD build (fused multiply-add in the matrix kernels) where the host validates a
// relaxed-SIMD instruction and the package has it; else the SIMD build. Its outputs can differ
// from the SIMD build's in the last bits (a fused multiply-add rounds once).
const RELAXED_FILE = ${relaxedDir ? JSON.stringify(RELAXED_FILE) : "null"};
function relaxedSimd() {
  // (func v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd drop)
  const v = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const body = [0x00, ...v, ...v, ...v, 0xfd, 0x85, 0x02, 0x1a, 0x0b];
  const bytes = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0,
    0x0a, body.length + 2, 1, body.length, ...body];
  try {
    return WebAssembly.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}
/** The build this host runs: "relaxed-simd" or "simd". */
export const wasmVariant = RELAXED_FILE !== null && relaxedSimd() ? "relaxed-simd" : "simd";
/** The module file of that build, beside this file (what \`init()\` loads by default). */
export const wasmFile = wasmVariant === "relaxed-simd" ? RELAXED_FILE : "edge_registry_bg.wasm";
`;
// Crash recovery (js/resilient.js) re-creates the instance with wasm-bindgen's
// __wbg_reset_state, which instantiates synchronously: Chromium's main thread refuses that for
// a module over 8 MB. Two more exports let resilient.js make the new instance asynchronously,
// from the glue's own module and imports, and swap it in, without touching WebAssembly's
// globals: __wbg_spare_instance() (a Promise of an instance) and __wbg_reset_state_with(instance)
// (__wbg_reset_state with that instance in place of the synchronous one).
const resetStart = "export function __wbg_reset_state () {";
const syncInstance = "wasmInstance = new WebAssembly.Instance(wasmModule, __wbg_get_imports());";
if (glue.includes(resetStart)) {
  const at = glue.indexOf(resetStart);
  const end = glue.indexOf("\n}\n", at);
  const body = glue.slice(at + resetStart.length, end);
  if (end < 0 || body.split(syncInstance).length !== 2) fail(`unexpected __wbg_reset_state in ${gluePath}`);
  glue += `
/** edge-registry (resilient.js): a new instance of this glue's module, made asynchronously. */
export function __wbg_spare_instance() {
  return WebAssembly.instantiate(wasmModule, __wbg_get_imports());
}
/** edge-registry (resilient.js): __wbg_reset_state with an instance made beforehand. */
export function __wbg_reset_state_with(instance) {${body.replace(syncInstance, "wasmInstance = instance;")}
}
`;
}
// onnxruntime-web-shaped tensors (js/tensor.js): the glue re-exports the one Tensor class, and
// Model's run (a Promise, as onnxruntime-web's session.run) and runSync return Tensors made
// from the module's plain { type, data, dims } outputs without copying their data.
if (!/^export class Model \{/m.test(glue)) fail(`expected the class Model in ${gluePath}`);
glue += `
import { Tensor, adoptOutputs, snapshotFeeds } from "./tensor.js";
import { EdgeRegistryError } from "./errors.js";
export { Tensor, EdgeRegistryError };
export { reportDocument } from "./report.js";
Object.defineProperties(Model.prototype, {
  run: {
    value: async function run(feeds) { return adoptOutputs(this.__runSync(snapshotFeeds(feeds))); },
    writable: true, configurable: true,
  },
  runSync: {
    value: function runSync(feeds) { return adoptOutputs(this.__runSync(snapshotFeeds(feeds))); },
    writable: true, configurable: true,
  },
});
`;
writeFileSync(gluePath, glue);
const dts = join(outDir, "edge_registry.d.ts");
writeFileSync(dts, readFileSync(dts, "utf8") + errorTypes() + `
/** The build of the WebAssembly module this host runs (relaxed SIMD where the host has it). */
export const wasmVariant: "relaxed-simd" | "simd";
export { reportDocument } from "./report.js";
/** The module file of that build, beside edge_registry.js (what \`init()\` loads by default). */
export const wasmFile: string;
`);

/**
 * The d.ts of js/errors.js: the ErrorCode union (every code of the Rust core, read from
 * src/error.rs, and the codes only the JS wrappers raise) and the EdgeRegistryError class.
 */
function errorTypes() {
  const source = readFileSync("src/error.rs", "utf8");
  const rust = [...source.matchAll(/^\s+[A-Z][A-Za-z]+ => "([A-Z][A-Z_]+)",$/gm)].map((m) => m[1]);
  if (!rust.includes("BAD_MODEL") || !rust.includes("INVALID_ARGUMENT")) fail("no error codes found in src/error.rs");
  // Raised by js/resilient.js and js/model-worker.js, never by the module itself.
  const js = ["INSTANCE_RESET", "WORKER_FAILED"];
  const codes = [...new Set([...rust, ...js])].sort();
  return `
/** The \`code\` of every error the package throws or rejects with. */
export type ErrorCode =
${codes.map((c) => `  | ${JSON.stringify(c)}`).join("\n")};
/** The package's one error class: \`instanceof EdgeRegistryError\` holds for every error it
 * throws or rejects with, in every entry and after a worker hop; \`code\` says what went wrong. */
export declare class EdgeRegistryError extends Error {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
  readonly name: "EdgeRegistryError";
  readonly code: ErrorCode;
}
`;
}

/**
 * Closure-shim export names of the relaxed glue mapped to the SIMD glue's: the glues must be
 * line for line the same once those names (and the shim indices in comments) are masked.
 */
function shimRenames(from, to) {
  const shim = /__invoke__h[0-9a-f]{16}/g;
  const mask = (line) => line.replace(shim, "__invoke__H").replace(/shim_idx: \d+/g, "shim_idx: N");
  const [a, b] = [from.split("\n"), to.split("\n")];
  if (a.length !== b.length) fail(`the two glues have ${a.length} and ${b.length} lines`);
  const renames = new Map();
  const used = new Map();
  a.forEach((line, i) => {
    if (line === b[i]) return;
    if (mask(line) !== mask(b[i])) fail(`the two glues differ at line ${i + 1} beyond closure names`);
    const [x, y] = [line.match(shim) ?? [], b[i].match(shim) ?? []];
    x.forEach((name, k) => {
      const target = `wasm_bindgen__convert__closures_____invoke__${y[k].slice("__invoke__".length)}`;
      const source = `wasm_bindgen__convert__closures_____invoke__${name.slice("__invoke__".length)}`;
      if ((renames.get(source) ?? target) !== target || (used.get(target) ?? source) !== source) {
        fail(`closure name ${source} pairs with two names`);
      }
      renames.set(source, target);
      used.set(target, source);
    });
  });
  return renames;
}

/** LEB128 (unsigned) at `pos`: [value, next position]. */
function leb(bytes, pos) {
  let value = 0, shift = 0, byte;
  do {
    if (pos >= bytes.length) fail("truncated module");
    byte = bytes[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, pos];
}
function encodeLeb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** The module's sections: [{ id, start, end }] (contents, after the id and size). */
function sections(bytes) {
  if (bytes.length < 8 || bytes.readUInt32LE(0) !== 0x6d736100) fail("not a WebAssembly module");
  const out = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, start] = leb(bytes, pos + 1);
    out.push({ id, start, end: start + size, header: pos });
    pos = start + size;
  }
  return out;
}

function readName(bytes, pos) {
  const [len, start] = leb(bytes, pos);
  return [new TextDecoder().decode(bytes.subarray(start, start + len)), start + len];
}

/** Import ("module/field") and export names, in order. */
function names(bytes) {
  const imports = [], exports = [];
  for (const s of sections(bytes)) {
    if (s.id === 2) {
      let [count, pos] = leb(bytes, s.start);
      for (let i = 0; i < count; i++) {
        let module, field;
        [module, pos] = readName(bytes, pos);
        [field, pos] = readName(bytes, pos);
        imports.push(`${module}/${field}`);
        const kind = bytes[pos++];
        // The import's description: a type index, table, memory or global type.
        if (kind === 0) [, pos] = leb(bytes, pos);
        else if (kind === 1) { pos += 1; pos = limits(bytes, pos); }
        else if (kind === 2) pos = limits(bytes, pos);
        else if (kind === 3) pos += 2;
        else if (kind === 4) { pos += 1; [, pos] = leb(bytes, pos); }
        else fail(`unknown import kind ${kind}`);
      }
    } else if (s.id === 7) {
      let [count, pos] = leb(bytes, s.start);
      for (let i = 0; i < count; i++) {
        let name;
        [name, pos] = readName(bytes, pos);
        exports.push(`${name}:${bytes[pos]}`);
        [, pos] = leb(bytes, pos + 1);
      }
    }
  }
  return { imports, exports: exports.sort() };
}
function limits(bytes, pos) {
  const flags = bytes[pos++];
  [, pos] = leb(bytes, pos);
  if (flags & 1) [, pos] = leb(bytes, pos);
  return pos;
}

/** The module with its exports renamed; each name to rename must be exported exactly once. */
function renameExports(bytes, renames) {
  const exportSection = sections(bytes).find((s) => s.id === 7);
  if (!exportSection) fail("the relaxed-SIMD module exports nothing");
  let [count, pos] = leb(bytes, exportSection.start);
  const content = [...encodeLeb(count)];
  const renamed = new Set();
  for (let i = 0; i < count; i++) {
    let name;
    [name, pos] = readName(bytes, pos);
    const next = renames.get(name);
    if (next !== undefined) {
      if (renamed.has(name)) fail(`${name} is exported twice`);
      renamed.add(name);
    }
    const encoded = new TextEncoder().encode(next ?? name);
    content.push(...encodeLeb(encoded.length), ...encoded);
    const kindStart = pos;
    [, pos] = leb(bytes, pos + 1);
    content.push(...bytes.subarray(kindStart, pos));
  }
  if (pos !== exportSection.end) fail("malformed export section");
  for (const name of renames.keys()) if (!renamed.has(name)) fail(`${name} is not exported`);
  return Buffer.concat([
    bytes.subarray(0, exportSection.header),
    Buffer.from([7, ...encodeLeb(content.length), ...content]),
    bytes.subarray(exportSection.end),
  ]);
}
