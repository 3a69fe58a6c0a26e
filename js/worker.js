// The edge-registry Web Worker: loads the WebAssembly module off the main thread and serves
// requests from ModelWorker (model-worker.js): registries (refresh, catalogue, verified
// loading, cache), models (run, evaluate, compare). Typed arrays travel in transfer lists, so
// tensors and model bytes move between threads without being copied. Long calls post progress
// messages before their result.
//
// The module runs under resilient.js: if the WebAssembly instance crashes (a panic inside
// tract on a hostile model, memory exhaustion), the call that crashed rejects with code
// INTERNAL_PANIC, the instance is re-created in place, and models are re-loaded from their bytes
// on their next use; the worker itself, its handles and IndexedDB caches carry on.
import { loadResilient } from "./resilient.js";
import { EdgeRegistryError } from "./errors.js";

let lib;
const ready = loadResilient().then((l) => {
  lib = l;
  lib.onReset(({ resets, message }) => self.postMessage({ id: 0, reset: { resets, message } }));
});
const objects = new Map();
let nextHandle = 1;

function keep(obj) {
  const handle = nextHandle++;
  objects.set(handle, obj);
  return handle;
}

function coded(message, code) {
  return new EdgeRegistryError(code, message);
}

function get(handle) {
  const obj = objects.get(handle);
  if (!obj) throw coded(`no object with handle ${handle} (disposed?)`, "INVALID_STATE");
  return obj;
}

/** The buffers of every typed array in a { name: { data } } map, for a transfer list. */
function buffersOf(tensors) {
  const out = [];
  for (const t of Object.values(tensors || {})) {
    if (t && ArrayBuffer.isView(t.data) && !out.includes(t.data.buffer)) out.push(t.data.buffer);
  }
  return out;
}

function modelInfo(model, extra = {}) {
  return { handle: keep(model), inputs: model.inputs, outputs: model.outputs, card: model.card, sha256: model.sha256, ...extra };
}

/** Feeds `data` (a File/Blob, bytes or text) into a streaming evaluation, reporting progress. */
async function feed(evaluation, data, progress) {
  if (typeof Blob !== "undefined" && data instanceof Blob) {
    const total = data.size;
    const reader = data.stream().getReader();
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const p = evaluation.push(value);
      bytes += value.byteLength;
      progress({ ...p, bytes, total });
    }
    return;
  }
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
  const step = 1 << 20;
  for (let at = 0; at < bytes.length; at += step) {
    const p = evaluation.push(bytes.subarray(at, at + step));
    progress({ ...p, bytes: Math.min(at + step, bytes.length), total: bytes.length });
  }
}

const handlers = {
  version: () => [lib.version()],
  // How often the instance was re-created after a crash.
  resets: () => [lib.resets],
  // Test builds only (feature test-hooks): crash the instance on purpose.
  testTrap: ({ kind, message, async: isAsync }) => {
    if (!lib.__testTrap) throw coded("this build has no test hooks", "INVALID_ARGUMENT");
    return isAsync ? lib.__testTrapAsync(kind, message).then((v) => [v]) : [lib.__testTrap(kind, message)];
  },

  // Models from bytes.
  loadModel: async ({ bytes, card }) => [modelInfo(await lib.Model.create(bytes, card))],
  run: ({ handle, feeds }) => {
    const t0 = performance.now();
    const outputs = get(handle).runSync(feeds);
    const ms = performance.now() - t0;
    return [{ outputs, ms }, buffersOf(outputs)];
  },
  evaluate: async ({ handle, challenger, data, options }, progress) => {
    const model = get(handle);
    let report;
    if (challenger) {
      const bytes = data instanceof Blob ? new Uint8Array(await data.arrayBuffer()) : data;
      report = model.compare(get(challenger), bytes, { ...options, onProgress: progress });
    } else {
      const evaluation = model.evaluation(options);
      await feed(evaluation, data, progress);
      report = evaluation.finish();
    }
    return [report];
  },
  dispose: ({ handle }) => {
    const obj = objects.get(handle);
    objects.delete(handle);
    obj?.free?.();
    return [true];
  },

  // Registries.
  openRegistry: async ({ options }) => {
    const registry = await lib.Registry.open(options);
    return [{ handle: keep(registry), cacheKind: registry.cacheKind }];
  },
  refresh: async ({ handle }) => [await get(handle).refresh()],
  models: ({ handle }) => [get(handle).models()],
  resolve: ({ handle, reference }) => [get(handle).resolve(reference)],
  loadFromRegistry: async ({ handle, reference }, progress) => {
    const registry = get(handle);
    const fetched = await registry.fetchModel(reference, { onProgress: progress });
    const t0 = performance.now();
    const model = await lib.Model.create(fetched.bytes, fetched.card ?? undefined);
    const loadMs = performance.now() - t0;
    const { bytes, ...meta } = fetched;
    return [modelInfo(model, { ...meta, loadMs })];
  },
  fetchFile: async ({ handle, reference, file }) => {
    const bytes = await get(handle).fetchFile(reference, file);
    return [bytes, [bytes.buffer]];
  },
  cache: async ({ handle, op, reference }) => {
    const cache = get(handle).cache;
    if (!["list", "usage", "pin", "unpin", "evict", "clear", "persist"].includes(op)) {
      throw coded(`unknown cache operation ${op}`, "INVALID_ARGUMENT");
    }
    return [await cache[op](reference)];
  },
};

self.onmessage = async (event) => {
  const { id, method, args } = event.data || {};
  const progress = (p) => self.postMessage({ id, progress: p });
  try {
    await ready;
    const handler = handlers[method];
    if (!handler) throw coded(`unknown method ${method}`, "INVALID_ARGUMENT");
    const [result, transfer = []] = await handler(args || {}, progress);
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    self.postMessage({
      id,
      ok: false,
      error: { message: String(e?.message ?? e), code: e?.code ?? "INTERNAL", name: e?.name ?? "Error" },
    });
  }
};
