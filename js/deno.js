// edge-registry for Deno (the "deno" export condition, and `import "npm:edge-registry"`): the
// WebAssembly module is read from beside this file (a file: URL, or fetched when the package is
// served over HTTP) and instantiated at import (top-level await), so the API is ready to use.
// Needs --allow-read for a local package (and --allow-net for the registry, as any fetch does).
// The module is the relaxed-SIMD build where Deno has relaxed SIMD (`wasmFile`), else the SIMD one.
import { initSync, wasmFile } from "./edge_registry.js";

const url = new URL(wasmFile, import.meta.url);
const bytes = url.protocol === "file:"
  ? await Deno.readFile(url)
  : new Uint8Array(await (await fetch(url)).arrayBuffer());
initSync({ module: bytes });

export * from "./edge_registry.js";
export { default } from "./edge_registry.js";
export { fileStore } from "./file-store.js";
