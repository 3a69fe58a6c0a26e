// esbuild: it leaves `new URL("./file", import.meta.url)` as it is (it neither bundles the worker
// nor emits the .wasm files it names), so the worker and both WebAssembly modules are entry
// points of their own, written beside main.js under the names those URLs use (the .wasm files
// and the page with the `copy` loader).
import { fileURLToPath } from "node:url";

export default {
  absWorkingDir: fileURLToPath(new URL(".", import.meta.url)),
  entryPoints: {
    main: "./main.js",
    worker: "edge-registry/worker.js",
    edge_registry_bg: "edge-registry/edge_registry_bg.wasm",
    edge_registry_relaxed_bg: "edge-registry/edge_registry_relaxed_bg.wasm",
    index: "./index.html",
  },
  loader: { ".wasm": "copy", ".html": "copy" },
  bundle: true,
  format: "esm",
  minify: true,
  outdir: "dist-esbuild",
};
