// webpack 5, a server bundle: target node. The Node entry's literal
// `new URL("./edge_registry_bg.wasm", import.meta.url)` (and the relaxed-SIMD one) make webpack
// emit both files beside server.cjs and point the URLs there.
import { fileURLToPath } from "node:url";

export default {
  mode: "production",
  target: "node",
  context: fileURLToPath(new URL(".", import.meta.url)),
  entry: "./server.js",
  // CommonJS output (webpack's default for node), named .cjs as the project is "type": "module".
  output: { path: fileURLToPath(new URL("dist-webpack/", import.meta.url)), filename: "server.cjs", clean: true },
  performance: { hints: false },
};
