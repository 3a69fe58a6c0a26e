// ModelWorker: edge-registry in a dedicated Web Worker, off the main thread.
//
//   import { ModelWorker } from "edge-registry/model-worker.js";
//   const worker = new ModelWorker();
//   const registry = await worker.openRegistry({ url, trustedRoot });
//   await registry.refresh();
//   const model = await registry.load("digits@production", { onProgress: (p) => ... });
//   const { outputs, ms } = await model.run({ input: { data: f32, shape: [1, 64] } });
//   const report = await model.evaluate(file, { onProgress: (p) => ... });
//
// Inputs are moved with transfer lists (the caller's typed arrays are detached afterwards);
// pass { copy: true } to keep them. Errors are Error objects with the library's `code`.

function errorFrom(e) {
  const err = new Error(e.message);
  err.name = e.name || "EdgeRegistryError";
  err.code = e.code;
  return err;
}

function buffersOf(tensors) {
  const out = [];
  for (const t of Object.values(tensors || {})) {
    if (t && ArrayBuffer.isView(t.data) && !out.includes(t.data.buffer)) out.push(t.data.buffer);
  }
  return out;
}

export class ModelWorker {
  /** Starts the worker (module worker next to this file unless `url` says otherwise). */
  constructor(url = new URL("./worker.js", import.meta.url)) {
    this.worker = new Worker(url, { type: "module" });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = (ev) => {
      const { id, ok, result, error, progress } = ev.data;
      const p = this.pending.get(id);
      if (!p) return;
      if (progress !== undefined) {
        p.onProgress?.(progress);
        return;
      }
      this.pending.delete(id);
      if (ok) p.resolve(result);
      else p.reject(errorFrom(error));
    };
    this.worker.onerror = (ev) => {
      const err = new Error(`worker failed: ${ev.message || "unknown error"}`);
      err.code = "WORKER_FAILED";
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  /** Calls a worker method; `transfer` lists buffers to move instead of copy. */
  call(method, args = {}, transfer = [], onProgress = undefined) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  /** The library version inside the worker. */
  version() {
    return this.call("version");
  }

  /** Loads a model from bytes (an ArrayBuffer or typed array; its buffer is transferred). */
  async loadModel(bytes, card, { copy = false } = {}) {
    const buf = ArrayBuffer.isView(bytes)
      ? (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer)
      : bytes;
    const payload = copy ? buf.slice(0) : buf;
    const info = await this.call("loadModel", { bytes: payload, card }, [payload]);
    return new WorkerModel(this, info);
  }

  /** Opens a registry in the worker (options as `Registry.open`; a custom store cannot cross). */
  async openRegistry(options) {
    const info = await this.call("openRegistry", { options });
    return new WorkerRegistry(this, info);
  }

  /** Stops the worker; pending calls reject. */
  terminate() {
    this.worker.terminate();
    const err = new Error("worker terminated");
    err.code = "WORKER_FAILED";
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** A registry living in the worker: the `Registry` API, asynchronous. */
export class WorkerRegistry {
  constructor(worker, { handle, cacheKind }) {
    this.worker = worker;
    this.handle = handle;
    this.cacheKind = cacheKind;
    const op = (name) => (reference) => worker.call("cache", { handle, op: name, reference });
    this.cache = {
      list: op("list"), usage: op("usage"), pin: op("pin"), unpin: op("unpin"),
      evict: op("evict"), clear: op("clear"), persist: op("persist"),
    };
  }

  refresh() {
    return this.worker.call("refresh", { handle: this.handle });
  }

  models() {
    return this.worker.call("models", { handle: this.handle });
  }

  resolve(reference) {
    return this.worker.call("resolve", { handle: this.handle, reference });
  }

  /** Another verified file of a model version (for example `eval.csv` or `profile.json`). */
  fetchFile(reference, file) {
    return this.worker.call("fetchFile", { handle: this.handle, reference, file });
  }

  /** Fetches (cache or network, verified) and loads a model; resolves to a WorkerModel whose
   * `info` says where the bytes came from (`source`), their `sha256`, `offline`, `expired`. */
  async load(reference, { onProgress } = {}) {
    const info = await this.worker.call("loadFromRegistry", { handle: this.handle, reference }, [], onProgress);
    return new WorkerModel(this.worker, info);
  }
}

/** A model living in the worker. */
export class WorkerModel {
  constructor(worker, info) {
    this.worker = worker;
    this.handle = info.handle;
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.card = info.card;
    this.sha256 = info.sha256;
    this.info = info;
  }

  /** Runs the model; resolves to { outputs, ms }. Input buffers are transferred unless
   * { copy: true }. */
  run(feeds, { copy = false } = {}) {
    return this.worker.call("run", { handle: this.handle, feeds }, copy ? [] : buffersOf(feeds));
  }

  /** Evaluates on labelled data: a File/Blob (streamed in the worker), bytes or text. */
  evaluate(data, options = {}) {
    const { onProgress, ...rest } = options;
    return this.worker.call("evaluate", { handle: this.handle, data, options: rest }, [], onProgress);
  }

  /** Champion (this) vs challenger on the same rows. */
  compare(challenger, data, options = {}) {
    const { onProgress, ...rest } = options;
    return this.worker.call("evaluate", { handle: this.handle, challenger: challenger.handle, data, options: rest }, [], onProgress);
  }

  /** Frees the model in the worker. */
  dispose() {
    return this.worker.call("dispose", { handle: this.handle });
  }
}
