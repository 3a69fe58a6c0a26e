// The bundler test app (tests/bundlers/browser.test.mjs): imports the installed package by
// name, loads `digits@production` from the sample registry through ModelWorker (the package's
// Web Worker) and runs it once; it also initialises the package on the main thread (`init()`
// loads the WebAssembly module the bundler emitted). The result (or the error) is written into
// the page (#result, with `data-done` set) and kept in `window.__edgeResult`. The registry's URL
// comes from the query string (`?registry=URL`).
import init, { version, wasmVariant } from "edge-registry";
import { ModelWorker } from "edge-registry/model-worker.js";
import { Tensor } from "edge-registry/tensor.js";

// One 8x8 digit of scikit-learn's test set (tests/fixtures/models/digits-v1/expected.json,
// batch1): an 8.
const PIXELS = [0, 0, 8, 16, 15, 8, 0, 0, 0, 1, 16, 16, 16, 2, 0, 0, 0, 2, 16, 16, 10, 0, 0, 0, 0, 2, 16, 16,
  12, 0, 0, 0, 0, 6, 16, 16, 13, 0, 0, 0, 0, 1, 16, 16, 11, 0, 0, 0, 0, 0, 16, 16, 10, 0, 0, 0, 0, 0, 7, 15, 15,
  0, 0, 0];

async function main() {
  await init();
  const mainThread = { version: version(), wasmVariant };
  const registryUrl = new URL(new URLSearchParams(location.search).get("registry") ?? "/registry", location.href).href;
  // A real app ships its trusted root; the test app reads the sample registry's copy.
  const trustedRoot = await (await fetch(`${registryUrl}/trusted-root.json`)).text();
  const worker = new ModelWorker();
  try {
    const registry = await worker.openRegistry({ url: registryUrl, trustedRoot, cache: "memory" });
    await registry.refresh();
    const model = await registry.load("digits@production");
    const outputs = await model.run({ input: new Tensor("float32", Float32Array.from(PIXELS), [1, 64]) });
    return {
      ok: true,
      mainThread,
      version: await worker.version(),
      lastRunMs: model.lastRunMs,
      sha256: model.sha256,
      label: Array.from(outputs.label.data, Number),
      probabilities: Array.from(outputs.probabilities.data),
      dims: Array.from(outputs.probabilities.dims),
      tensor: outputs.probabilities instanceof Tensor,
    };
  } finally {
    worker.terminate();
  }
}

window.__edgeResult = main().catch((e) => ({ ok: false, code: e?.code ?? null, message: String(e?.message ?? e) }));
window.__edgeResult.then((r) => {
  const out = document.getElementById("result");
  out.textContent = JSON.stringify(r);
  out.dataset.done = "true";
});
