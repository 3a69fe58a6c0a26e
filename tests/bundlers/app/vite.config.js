// Vite (dev server and `vite build`): nothing to configure. ModelWorker's
// `new Worker(new URL("./worker.js", import.meta.url), { type: "module" })` and the glue's literal
// `new URL("./edge_registry_bg.wasm", import.meta.url)` (and the relaxed-SIMD one) are what Vite
// follows: `vite build` emits the worker and both .wasm files; the dev server's dependency
// pre-bundling rewrites those URLs to the package's files, so `optimizeDeps.exclude:
// ["edge-registry"]` is not needed (it was, for the main thread's `init()`, while the glue named
// the file with a variable).
export default {};
