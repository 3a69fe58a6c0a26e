// edge-registry for Cloudflare Workers and workerd (the "workerd" export condition, which
// Wrangler's bundler sets). workerd does not compile WebAssembly from bytes at run time: the module must be
// imported, which Wrangler (and a workerd config's `wasm = embed "..."` module) turns into a
// compiled WebAssembly.Module. It is instantiated synchronously at import, once per isolate.
// The SIMD build: an import cannot be chosen at run time, and importing the relaxed-SIMD build
// as well would compile two modules at every cold start.
//
//   import { Registry, Model, cacheApiStore, resilient } from "edge-registry";   // resolves here
import module from "./edge_registry_bg.wasm";
import { initSync } from "./edge_registry.js";

initSync({ module });

export * from "./edge_registry.js";
export { default } from "./edge_registry.js";
export { cacheApiStore } from "./cache-api-store.js";
export { resilient } from "./resilient.js";
