// The edge-registry Web Worker: loads the WebAssembly module off the main thread and serves
// requests from ModelWorker (model-worker.js). Typed arrays travel in transfer lists, so
// tensors move between threads without being copied.
import init, * as lib from "./edge_registry.js";

const ready = init();
const objects = new Map();
let nextHandle = 1;

function keep(obj) {
  const handle = nextHandle++;
  objects.set(handle, obj);
  return handle;
}

function get(handle) {
  const obj = objects.get(handle);
  if (!obj) {
    const err = new Error(`no object with handle ${handle} (disposed?)`);
    err.code = "INVALID_STATE";
    throw err;
  }
  return obj;
}

/** The buffers of every typed array in a { name: { data } } map, for a transfer list. */
export function buffersOf(tensors) {
  const out = [];
  for (const t of Object.values(tensors || {})) {
    if (t && ArrayBuffer.isView(t.data) && !out.includes(t.data.buffer)) out.push(t.data.buffer);
  }
  return out;
}

const handlers = {
  version: () => [lib.version()],
  loadModel: ({ bytes, card }) => {
    const model = lib.Model.fromBytes(new Uint8Array(bytes), card);
    return [{ handle: keep(model), inputs: model.inputs, outputs: model.outputs }];
  },
  run: ({ handle, feeds }) => {
    const outputs = get(handle).run(feeds);
    return [outputs, buffersOf(outputs)];
  },
  dispose: ({ handle }) => {
    const obj = objects.get(handle);
    objects.delete(handle);
    obj?.free?.();
    return [true];
  },
};

self.onmessage = async (event) => {
  const { id, method, args } = event.data || {};
  try {
    await ready;
    const handler = handlers[method];
    if (!handler) {
      const err = new Error(`unknown method ${method}`);
      err.code = "INVALID_ARGUMENT";
      throw err;
    }
    const [result, transfer = []] = await handler(args || {});
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    self.postMessage({
      id,
      ok: false,
      error: { message: String(e?.message ?? e), code: e?.code ?? "INTERNAL", name: e?.name ?? "Error" },
    });
  }
};
