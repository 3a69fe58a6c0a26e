// The server-side (SSR) test app (tests/bundlers/ssr.test.mjs): imports the installed package
// by name, which resolves to its Node entry (ready at import), loads `digits@production` from
// the registry at argv[2] and runs it once; prints the result as one JSON line. Bundled with
// esbuild (platform node) and webpack 5 (target node) and run from the bundle's directory.
import { Registry, Tensor, version, wasmVariant } from "edge-registry";

// The same digit as the browser app's (tests/bundlers/app/main.js): an 8.
const PIXELS = [0, 0, 8, 16, 15, 8, 0, 0, 0, 1, 16, 16, 16, 2, 0, 0, 0, 2, 16, 16, 10, 0, 0, 0, 0, 2, 16, 16,
  12, 0, 0, 0, 0, 6, 16, 16, 13, 0, 0, 0, 0, 1, 16, 16, 11, 0, 0, 0, 0, 0, 16, 16, 10, 0, 0, 0, 0, 0, 7, 15, 15,
  0, 0, 0];

const registryUrl = process.argv[2];
const trustedRoot = await (await fetch(`${registryUrl}/trusted-root.json`)).text();
const registry = await Registry.open({ url: registryUrl, trustedRoot });
await registry.refresh();
const model = await registry.load("digits@production");
const outputs = await model.run({ input: new Tensor("float32", Float32Array.from(PIXELS), [1, 64]) });
console.log(JSON.stringify({
  ok: true,
  version: version(),
  wasmVariant,
  sha256: model.sha256,
  label: Array.from(outputs.label.data, Number),
  probabilities: Array.from(outputs.probabilities.data),
  dims: Array.from(outputs.probabilities.dims),
  tensor: outputs.probabilities instanceof Tensor,
}));
