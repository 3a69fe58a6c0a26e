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
import * as attest from "./attest.js";

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

/** Lets the event loop run (a cancel message, timers) during long work. */
const yieldNow = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Streams a File/Blob into a streaming evaluation, reporting progress, yielding to the event
 * loop between chunks so a cancel message is heard, and stopping when `signal` aborts. */
async function feedBlob(evaluation, blob, progress, signal) {
  const total = blob.size;
  const reader = blob.stream().getReader();
  let bytes = 0;
  let since = performance.now();
  try {
    for (;;) {
      signal.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      const p = evaluation.push(value);
      bytes += value.byteLength;
      progress({ ...p, phase: "evaluate", status: "progress", loaded: bytes, bytes, total });
      if (performance.now() - since > 40) {
        await yieldNow();
        since = performance.now();
      }
    }
  } finally {
    reader.releaseLock();
  }
}

const isBlob = (d) => typeof Blob !== "undefined" && d instanceof Blob;

/** A model's info for the caller, with its new handle. */
function loaded(model, extra) {
  return modelInfo(model, { gates: model.gates ?? null, ...extra });
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
  loadModel: async ({ bytes, card }) => [loaded(await lib.Model.create(bytes, card))],
  run: ({ handle, feeds }) => {
    const t0 = performance.now();
    const outputs = get(handle).runSync(feeds);
    const ms = performance.now() - t0;
    return [{ outputs, ms }, buffersOf(outputs)];
  },
  evaluate: async ({ handle, challenger, data, options }, progress, signal) => {
    const model = get(handle);
    const opts = { ...options, onProgress: progress, signal };
    if (challenger) {
      const bytes = isBlob(data) ? new Uint8Array(await data.arrayBuffer()) : data;
      return [await model.compare(get(challenger), bytes, opts)];
    }
    if (!isBlob(data)) return [await model.evaluate(data, opts)];
    const evaluation = model.evaluation(options);
    try {
      await feedBlob(evaluation, data, progress, signal);
      return [evaluation.finish()];
    } finally {
      evaluation.free?.();
    }
  },
  dispose: ({ handle }) => {
    const obj = objects.get(handle);
    objects.delete(handle);
    obj?.free?.();
    return [true];
  },

  // Attestations (attest.js): the key pair is structured-cloned in (a non-extractable key
  // stays non-extractable), and a registry handle checks the model subjects.
  createAttestation: async ({ report, keyPair, options }) => [await attest.createAttestation(report, keyPair, options)],
  verifyAttestation: async ({ handle, envelope, keys, options }) =>
    [await attest.verifyAttestation(envelope, keys, { ...options, registry: handle === undefined ? undefined : get(handle) })],

  // OpenSSF model-signing bundles: the model's bytes (or { path: bytes }) come in, the
  // verified signer and manifest go out.
  verifyModelSignature: ({ model, bundle, policy }) => [lib.verifyModelSignature(model, bundle, policy)],

  // Registries.
  openRegistry: async ({ options }) => {
    const registry = await lib.Registry.open(options);
    return [{ handle: keep(registry), cacheKind: registry.cacheKind, clientId: registry.clientId }];
  },
  refresh: async ({ handle }, progress, signal) => [await get(handle).refresh({ onProgress: progress, signal })],
  models: ({ handle }) => [get(handle).models()],
  resolve: ({ handle, reference, clientId }) => [get(handle).resolve(reference, clientId === undefined ? undefined : { clientId })],
  fetchModel: async ({ handle, reference }, progress, signal) => {
    const fetched = await get(handle).fetchModel(reference, { onProgress: progress, signal });
    return [fetched, [fetched.bytes.buffer]];
  },
  loadFromRegistry: async ({ handle, reference, verifyGate, clientId, requireModelSignature }, progress, signal) => {
    const registry = get(handle);
    // The engine's load time, from the compile phase's events.
    let compileStart, loadMs;
    const onProgress = (p) => {
      if (p.phase === "compile" && p.status === "initiate") compileStart = performance.now();
      if (p.phase === "compile" && p.status === "done") loadMs = performance.now() - compileStart;
      progress(p);
    };
    const model = await registry.load(reference, { onProgress, signal, verifyGate, clientId, requireModelSignature });
    return [loaded(model, { ...model.fetched, loadMs })];
  },
  compareInRegistry: async ({ handle, champion, challenger, data, options }, progress, signal) => {
    const bytes = isBlob(data) ? new Uint8Array(await data.arrayBuffer()) : data;
    return [await get(handle).compare(champion, challenger, bytes, { ...options, onProgress: progress, signal })];
  },
  fetchFile: async ({ handle, reference, file }, progress, signal) => {
    const bytes = await get(handle).fetchFile(reference, file, { onProgress: progress, signal });
    return [bytes, [bytes.buffer]];
  },
  cache: async ({ handle, op, reference, options }, progress, signal) => {
    const cache = get(handle).cache;
    switch (op) {
      case "list": case "usage": case "persist": return [await cache[op]()];
      case "has": case "pin": case "unpin": case "evict": return [await cache[op](reference)];
      case "clear": return [await cache.clear(options)];
      case "prefetch": return [await cache.prefetch(reference, { onProgress: progress, signal })];
      default: throw coded(`unknown cache operation ${op}`, "INVALID_ARGUMENT");
    }
  },
};

// Calls in flight, by id: their AbortControllers (a `cancel` message aborts one).
const running = new Map();

self.onmessage = async (event) => {
  const { id, method, args, cancel, reason } = event.data || {};
  if (cancel !== undefined) {
    running.get(cancel)?.abort(reason);
    return;
  }
  const progress = (p) => self.postMessage({ id, progress: p });
  const controller = new AbortController();
  running.set(id, controller);
  try {
    await ready;
    const handler = handlers[method];
    if (!handler) throw coded(`unknown method ${method}`, "INVALID_ARGUMENT");
    const [result, transfer = []] = await handler(args || {}, progress, controller.signal);
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    self.postMessage({
      id,
      ok: false,
      error: { message: String(e?.message ?? e), code: e?.code ?? (e?.name === "AbortError" ? "ABORTED" : "INTERNAL"), name: e?.name ?? "Error" },
    });
  } finally {
    running.delete(id);
  }
};
