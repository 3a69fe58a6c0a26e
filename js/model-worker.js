// ModelWorker: run edge-registry models in a dedicated Web Worker, off the main thread.
//
//   import { ModelWorker } from "edge-registry/model-worker.js";
//   const worker = new ModelWorker();
//   const model = await worker.loadModel(bytes, card);          // bytes are transferred
//   const out = await model.run({ input: { data: f32, shape: [1, 64] } });
//   out.probabilities.data;                                     // Float32Array, transferred
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
      const { id, ok, result, error } = ev.data;
      const p = this.pending.get(id);
      if (!p) return;
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
  call(method, args = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
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

  /** Stops the worker; pending calls reject. */
  terminate() {
    this.worker.terminate();
    const err = new Error("worker terminated");
    err.code = "WORKER_FAILED";
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** A model living in the worker. */
export class WorkerModel {
  constructor(worker, { handle, inputs, outputs }) {
    this.worker = worker;
    this.handle = handle;
    this.inputs = inputs;
    this.outputs = outputs;
  }

  /** Runs the model; input buffers are transferred unless { copy: true }. */
  run(feeds, { copy = false } = {}) {
    return this.worker.call("run", { handle: this.handle, feeds }, copy ? [] : buffersOf(feeds));
  }

  /** Frees the model in the worker. */
  dispose() {
    return this.worker.call("dispose", { handle: this.handle });
  }
}
