// edge-registry for Node 18+ (the "node" export condition): the WebAssembly module is read from
// the package directory and instantiated synchronously at import, so the API is ready to use:
//
//   import { Registry, Model } from "edge-registry";   // resolves here in Node
//
// `await init()` (the default export) is still accepted and does nothing more. The module is the
// relaxed-SIMD build where this Node has relaxed SIMD (`wasmFile`), else the SIMD build.
import { readFileSync } from "node:fs";
import { initSync, wasmFile } from "./edge_registry.js";

initSync({ module: readFileSync(new URL(wasmFile, import.meta.url)) });

export * from "./edge_registry.js";
export { default } from "./edge_registry.js";
