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
   * worker that has since been replaced (their `generation`) reject with INSTANCE_RESET. An
   * aborted `signal` rejects the call with its reason at once and tells the worker to stop. */
  call(method, args = {}, transfer = [], onProgress = undefined, generation = this.generation, signal = undefined) {
    if (generation !== this.generation) {
      return Promise.reject(new EdgeRegistryError("INSTANCE_RESET", "this object lived in a worker that failed; load it again"));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const done = () => signal?.removeEventListener("abort", onAbort);
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        done();
        try {
          this.worker.postMessage({ cancel: id, reason: signal.reason });
        } catch {
          this.worker.postMessage({ cancel: id });
        }
        reject(signal.reason);
      };
      this.pending.set(id, {
        resolve: (v) => { done(); resolve(v); },
        reject: (e) => { done(); reject(e); },
        onProgress,
      });
      signal?.addEventListener("abort", onAbort, { once: true });
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

  /** Signs an evaluation report as an attestation in the worker (`createAttestation` of
   * attest.js) with a WebCrypto ECDSA P-256 CryptoKeyPair (`generateAttestationKey()`; it is
   * structured-cloned, and a non-extractable key stays non-extractable). */
  createAttestation(report, keyPair, options) {
    return this.call("createAttestation", { report, keyPair, options });
  }

  /** `verifyAttestation` of attest.js in the worker; `{ registry }` (a WorkerRegistry of this
   * worker) also checks that the model subjects are versions the registry signs. */
  verifyAttestation(envelope, keys, options = {}) {
    const { registry, ...rest } = options ?? {};
    return this.call("verifyAttestation", { handle: registry?.handle, envelope, keys, options: rest });
  }

  /** `verifyModelSignature` in the worker: an OpenSSF model-signing bundle checked against the
   * model's bytes (or `{ path: bytes }` for a directory) under `policy` (`{ key }`, `{ ca }` or
   * `{ identity, issuer, trustedRoot? }`). */
  verifyModelSignature(model, bundle, policy) {
    return this.call("verifyModelSignature", { model, bundle, policy });
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

/** The options of a call, split into what crosses to the worker and what stays here
 * (`onProgress`, `signal`: functions and signals cannot be posted). */
function split(options = {}) {
  const { onProgress, signal, ...rest } = options ?? {};
  return { onProgress, signal, rest };
}

/** A registry living in the worker: the `Registry` API (the same calls, options and shapes;
 * `models` and `resolve` are asynchronous here). */
export class WorkerRegistry {
  constructor(worker, { handle, cacheKind, clientId }) {
    this.worker = worker;
    this.handle = handle;
    this.cacheKind = cacheKind;
    /** The id staged rollouts bucket this client by (as `Registry.clientId`). */
    this.clientId = clientId;
    const generation = worker.generation;
    this.generation = generation;
    const op = (name) => (reference, options) => {
      const { onProgress, signal, rest } = split(options);
      return worker.call("cache", { handle, op: name, reference, options: rest }, [], onProgress, generation, signal);
    };
    this.cache = {
      list: () => op("list")(), usage: () => op("usage")(), persist: () => op("persist")(),
      has: op("has"), pin: op("pin"), unpin: op("unpin"), evict: op("evict"),
      prefetch: op("prefetch"),
      clear: (options) => op("clear")(undefined, options),
    };
  }

  #call(method, args, options) {
    const { onProgress, signal, rest } = split(options);
    return this.worker.call(method, { handle: this.handle, ...args, ...rest }, [], onProgress, this.generation, signal);
  }

  /** As `Registry.refresh`: `{ onProgress, signal }`. */
  refresh(options) {
    return this.#call("refresh", {}, options);
  }

  models() {
    return this.#call("models", {});
  }

  /** As `Registry.resolve` (`{ clientId }`). */
  resolve(reference, options) {
    return this.#call("resolve", { reference }, options);
  }

  /** As `Registry.fetchModel`: the verified bytes (moved from the worker) and where they came from. */
  fetchModel(reference, options) {
    return this.#call("fetchModel", { reference }, options);
  }

  /** Another verified file of a model version (for example `eval.csv` or `profile.json`). */
  fetchFile(reference, file, options) {
    return this.#call("fetchFile", { reference, file }, options);
  }

  /** As `Registry.load` (`{ onProgress, signal, verifyGate, clientId, requireModelSignature }`): resolves to a
   * WorkerModel whose `info` says where the bytes came from (`source`, `sha256`, `offline`,
   * `expired`), the engine's `loadMs`, `gates` when checked, and `rollout` (with `rollback`
   * when a gated rollout's candidate failed here; `onRollback` does not cross to the worker). */
  async load(reference, options) {
    const info = await this.#call("loadFromRegistry", { reference }, options);
    return new WorkerModel(this.worker, info);
  }

  /** As `Registry.compare`: champion vs challenger on the same rows, evaluated in the worker. */
  compare(champion, challenger, data, options) {
    const { onProgress, signal, rest } = split(options);
    return this.worker.call("compareInRegistry", { handle: this.handle, champion, challenger, data, options: rest },
      [], onProgress, this.generation, signal);
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
  async run(feeds, { transfer = false, signal } = {}) {
    const { outputs, ms } = await this.worker.call("run", { handle: this.handle, feeds }, transfer ? buffersOf(feeds) : [], undefined, this.generation, signal);
    this.lastRunMs = ms;
    return adoptOutputs(outputs);
  }

  /** Evaluates on labelled data: a File/Blob (streamed in the worker), bytes or text.
   * `{ onProgress, signal }` as `Model.evaluate`. */
  evaluate(data, options = {}) {
    const { onProgress, signal, rest } = split(options);
    return this.worker.call("evaluate", { handle: this.handle, data, options: rest }, [], onProgress, this.generation, signal);
  }

  /** Champion (this) vs challenger on the same rows. */
  compare(challenger, data, options = {}) {
    const { onProgress, signal, rest } = split(options);
    return this.worker.call("evaluate", { handle: this.handle, challenger: challenger.handle, data, options: rest }, [], onProgress, this.generation, signal);
  }

  /** The gate check that admitted this model (`load(ref, { verifyGate: true })`), else null. */
  get gates() {
    return this.info.gates ?? null;
  }

  /** Frees the model in the worker. */
  dispose() {
    return this.worker.call("dispose", { handle: this.handle }, [], undefined, this.generation);
  }
}
