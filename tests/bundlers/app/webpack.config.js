// webpack 5: no loader or plugin. It bundles worker.js from ModelWorker's
// `new Worker(new URL("./worker.js", import.meta.url), ...)` (as a classic worker chunk) and
// emits both .wasm files as assets from the glue's literal `new URL("./....wasm", import.meta.url)`.
// A real app adds its HTML page (html-webpack-plugin); the test copies index.html beside the bundle.
import { fileURLToPath } from "node:url";

export default {
  mode: "production",
  context: fileURLToPath(new URL(".", import.meta.url)),
  entry: { main: "./main.js" },
  output: { path: fileURLToPath(new URL("dist-webpack/", import.meta.url)), clean: true },
  // The .wasm files are 12 MB each: no size warnings.
  performance: { hints: false },
};
