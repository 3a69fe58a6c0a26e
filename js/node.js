// edge-registry for Node 18+ (the "node" export condition), with `fileStore` (a registry cache in
// a directory, file-store.js): the WebAssembly module is read from
// the package directory and instantiated synchronously at import, so the API is ready to use:
//
//   import { Registry, Model } from "edge-registry";   // resolves here in Node
//
// `await init()` (the default export) is still accepted and does nothing more. The module is the
// relaxed-SIMD build where this Node has relaxed SIMD (`wasmVariant`), else the SIMD build.
//
// Server bundles (SSR): each file is named by a literal `new URL("./file", import.meta.url)`, so
// webpack 5 (target node) emits both files beside its bundle and rewrites the URLs; esbuild
// (platform node, format esm) leaves them relative to the bundle, beside which the two .wasm
// files are then copied (tests/bundlers/ssr.test.mjs).
import { readFileSync } from "node:fs";
import { initSync, wasmVariant } from "./edge_registry.js";

const wasmUrl = wasmVariant === "relaxed-simd"
  ? new URL("./edge_registry_relaxed_bg.wasm", import.meta.url)
  : new URL("./edge_registry_bg.wasm", import.meta.url);
initSync({ module: readFileSync(wasmUrl) });

export * from "./edge_registry.js";
export { default } from "./edge_registry.js";
export { fileStore } from "./file-store.js";
