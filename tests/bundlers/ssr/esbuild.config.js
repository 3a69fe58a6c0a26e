// esbuild, a server bundle: platform node, format esm (with format cjs `import.meta.url` is empty
// and the Node entry cannot name its .wasm files). esbuild emits no file a `new URL` names, so the
// two .wasm files are entry points copied beside server.mjs under their own names.
import { fileURLToPath } from "node:url";

export default {
  absWorkingDir: fileURLToPath(new URL(".", import.meta.url)),
  entryPoints: {
    server: "./server.js",
    edge_registry_bg: "edge-registry/edge_registry_bg.wasm",
    edge_registry_relaxed_bg: "edge-registry/edge_registry_relaxed_bg.wasm",
  },
  loader: { ".wasm": "copy" },
  bundle: true,
  platform: "node",
  format: "esm",
  outdir: "dist-esbuild",
  outExtension: { ".js": ".mjs" },
};
