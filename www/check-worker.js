// The compatibility check of an ONNX file the user picks (`Model.check`), off the page's main
// thread: a second instance of the package, made on the first check, under resilient.js (a
// panic inside the engine on a hostile file rejects that check with INTERNAL_PANIC and the next
// one runs on a fresh instance). The file never leaves this worker.
import { loadResilient } from "./pkg/resilient.js";

let lib = null;

self.onmessage = async ({ data }) => {
  const { id, bytes, options } = data ?? {};
  try {
    lib ??= loadResilient().catch((e) => {
      lib = null;
      throw e;
    });
    const { Model } = await lib;
    const report = Model.check(new Uint8Array(bytes), options);
    self.postMessage({ id, ok: true, report });
  } catch (e) {
    self.postMessage({ id, ok: false, error: { code: e?.code ?? "INTERNAL", message: String(e?.message ?? e) } });
  }
};
