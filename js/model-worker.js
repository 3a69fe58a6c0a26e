// ModelWorker: edge-registry in a dedicated Web Worker, off the main thread.
//
//   import { ModelWorker } from "edge-registry/model-worker.js";
//   const worker = new ModelWorker();
//   const registry = await worker.openRegistry({ url, trustedRoot });
//   await registry.refresh();
//   const model = await registry.load("digits@production", { onProgress: (p) => ... });
//   const outputs = await model.run({ input: new Tensor("float32", f32, [1, 64]) });  // as Model.run
//   const report = await model.evaluate(file, { onProgress: (p) => ... });
//
// The calls take and return what the main-thread API does (Tensors in and out, EdgeRegistryError
// with a `code`). Inputs and model bytes are copied to the worker unless `{ transfer: true }`
// asks to move their buffers (the caller's are then detached); outputs are always moved back.
//
// Crashes: a crash of the WebAssembly instance inside the worker (a panic in tract on a hostile
// model, memory exhaustion) rejects the call with code INTERNAL_PANIC; the worker re-creates its
// instance and reloads models on their next use (see resilient.js), and `onReset` is told. If
// the worker itself dies, pending calls reject with WORKER_FAILED, a fresh worker is started,
// and objects of the old one reject with INSTANCE_RESET (load them again).

import { adoptOutputs } from "./tensor.js";
import { EdgeRegistryError } from "./errors.js";

/** The worker's error, rebuilt on this side (an error without a code is INTERNAL). */
function errorFrom(e) {
  return new EdgeRegistryError(typeof e?.code === "string" ? e.code : "INTERNAL", e?.message ?? String(e));
}

function buffersOf(tensors) {
  const out = [];
  for (const t of Object.values(tensors || {})) {
    if (t && ArrayBuffer.isView(t.data) && !out.includes(t.data.buffer)) out.push(t.data.buffer);
  }
  return out;
}

export class ModelWorker {
  /** Starts the worker (module worker next to this file unless `url` says otherwise).
   * `onReset({ resets, message })` is called when the worker re-created its WebAssembly
   * instance after a crash. */
  constructor(url = undefined, { onReset } = {}) {
    this.url = url;
    this.onReset = onReset;
    this.pending = new Map();
    this.nextId = 1;
    this.generation = 0;
    this.start();
  }

  /** (Re)starts the worker thread. */
  start() {
    this.generation++;
    // The default URL is written as bundlers (Vite, webpack 5, Rollup, esbuild, Parcel) look
    // for it, `new Worker(new URL("./worker.js", import.meta.url), { type: "module" })`, so a
    // bundle carries worker.js with it.
    this.worker = this.url === undefined
      ? new Worker(new URL("./worker.js", import.meta.url), { type: "module" })
      : new Worker(this.url, { type: "module" });
    this.worker.onmessage = (ev) => {
      const { id, ok, result, error, progress, reset } = ev.data;
      if (reset) {
        this.onReset?.(reset);
        return;
      }
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
      const err = new EdgeRegistryError("WORKER_FAILED", `worker failed: ${ev.message || "unknown error"}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      // A worker that died cannot be trusted with more calls: start a fresh one.
      this.worker.terminate();
      if (!this.terminated) this.start();
    };
  }

  /** Calls a worker method; `transfer` lists buffers to move instead of copy. Objects of a
   * worker that has since been replaced (their `generation`) reject with INSTANCE_RESET. */
  call(method, args = {}, transfer = [], onProgress = undefined, generation = this.generation) {
    if (generation !== this.generation) {
      return Promise.reject(new EdgeRegistryError("INSTANCE_RESET", "this object lived in a worker that failed; load it again"));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  /** How many times the worker re-created its WebAssembly instance after a crash. */
  resets() {
    return this.call("resets");
  }

  /** Test builds only (feature test-hooks): crashes the instance in the worker on purpose. */
  testTrap(kind, message = "test", { async = false } = {}) {
    return this.call("testTrap", { kind, message, async });
  }

  /** The library version inside the worker. */
  version() {
    return this.call("version");
  }

  /** Loads a model from bytes (an ArrayBuffer or typed array), copied to the worker; with
   * `{ transfer: true }` a whole buffer is moved instead (the caller's is detached). */
  async loadModel(bytes, card, { transfer = false } = {}) {
    const whole = ArrayBuffer.isView(bytes)
      ? (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : null)
      : bytes;
    const payload = transfer && whole ? whole : ArrayBuffer.isView(bytes) ? bytes.slice().buffer : bytes.slice(0);
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
    this.terminated = true;
    this.worker.terminate();
    const err = new EdgeRegistryError("WORKER_FAILED", "worker terminated");
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
    const generation = worker.generation;
    this.generation = generation;
    const op = (name) => (reference) => worker.call("cache", { handle, op: name, reference }, [], undefined, generation);
    this.cache = {
      list: op("list"), usage: op("usage"), pin: op("pin"), unpin: op("unpin"),
      evict: op("evict"), clear: op("clear"), persist: op("persist"),
    };
  }

  refresh() {
    return this.worker.call("refresh", { handle: this.handle }, [], undefined, this.generation);
  }

  models() {
    return this.worker.call("models", { handle: this.handle }, [], undefined, this.generation);
  }

  resolve(reference) {
    return this.worker.call("resolve", { handle: this.handle, reference }, [], undefined, this.generation);
  }

  /** Another verified file of a model version (for example `eval.csv` or `profile.json`). */
  fetchFile(reference, file) {
    return this.worker.call("fetchFile", { handle: this.handle, reference, file }, [], undefined, this.generation);
  }

  /** Fetches (cache or network, verified) and loads a model; resolves to a WorkerModel whose
   * `info` says where the bytes came from (`source`), their `sha256`, `offline`, `expired`. */
  async load(reference, { onProgress } = {}) {
    const info = await this.worker.call("loadFromRegistry", { handle: this.handle, reference }, [], onProgress, this.generation);
    return new WorkerModel(this.worker, info);
  }
}

/** A model living in the worker. */
export class WorkerModel {
  constructor(worker, info) {
    this.worker = worker;
    this.generation = worker.generation;
    this.handle = info.handle;
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.card = info.card;
    this.sha256 = info.sha256;
    this.info = info;
  }

  /** Runs the model; resolves to named output `Tensor`s, as `Model.run` does. The inputs are
   * copied to the worker; `{ transfer: true }` moves their buffers instead (the caller's are
   * detached). `lastRunMs` is then the run's time inside the worker. */
  async run(feeds, { transfer = false } = {}) {
    const { outputs, ms } = await this.worker.call("run", { handle: this.handle, feeds }, transfer ? buffersOf(feeds) : [], undefined, this.generation);
    this.lastRunMs = ms;
    return adoptOutputs(outputs);
  }

  /** Evaluates on labelled data: a File/Blob (streamed in the worker), bytes or text. */
  evaluate(data, options = {}) {
    const { onProgress, ...rest } = options;
    return this.worker.call("evaluate", { handle: this.handle, data, options: rest }, [], onProgress, this.generation);
  }

  /** Champion (this) vs challenger on the same rows. */
  compare(challenger, data, options = {}) {
    const { onProgress, ...rest } = options;
    return this.worker.call("evaluate", { handle: this.handle, challenger: challenger.handle, data, options: rest }, [], onProgress, this.generation);
  }

  /** Frees the model in the worker. */
  dispose() {
    return this.worker.call("dispose", { handle: this.handle }, [], undefined, this.generation);
  }
}
