// Types of model-worker.js: edge-registry in a dedicated Web Worker.
import type {
  CacheEntry, CacheUsage, CallOptions, ClearOptions, EvalOptions, EvalReport, FetchModelResult,
  GateReport, LoadOptions, ModelCard, ModelCardSchema, ModelInfo, PrefetchResult, RefreshResult,
  RegistryOptions, Resolution, ResolveOptions, Tensor, TensorInput, TensorSpec,
} from "./edge_registry.js";
import type {
  AttestationStatementOptions, DsseEnvelope, ModelSignaturePolicy, VerifiedAttestation, VerifiedModelSignature,
} from "./edge_registry.js";
import type { AttestationVerifyKeys } from "./attest.js";

/** What a model in the worker is: its schema, card and digest; for a registry load also where
 * its bytes came from and the load time. */
export interface WorkerModelInfo {
  handle: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  card?: ModelCard | ModelCardSchema;
  sha256: string;
  loadMs?: number;
  /** Registry loads: the fields of `fetchModel`'s result, without the bytes. */
  name?: string; version?: string; alias?: string | null; path?: string; length?: number;
  source?: FetchModelResult["source"]; offline?: boolean; expired?: boolean; cacheRepaired?: boolean;
  /** The alias's staged rollout and this client's place in it (with `rollback` when a gated
   * candidate failed on this device). */
  rollout?: FetchModelResult["rollout"];
  /** The gate check of `load(ref, { verifyGate: true })`. */
  gates?: GateReport | null;
}

/** The worker thread: its registries and models live there. */
export declare class ModelWorker {
  /** Starts the worker (worker.js beside this file unless `url` says otherwise). `onReset` is
   * told when the worker re-created its WebAssembly instance after a crash. */
  constructor(url?: string | URL, options?: { onReset?: (info: { resets: number; message: string }) => void });
  /** Opens a registry in the worker (options as `Registry.open`; a custom store cannot cross). */
  openRegistry(options: RegistryOptions): Promise<WorkerRegistry>;
  /** Loads a model from bytes, copied to the worker (`{ transfer: true }` moves the buffer). */
  loadModel(bytes: Uint8Array | ArrayBuffer, card?: ModelCardSchema | ModelCard, options?: { transfer?: boolean }): Promise<WorkerModel>;
  /** The library version inside the worker. */
  version(): Promise<string>;
  /** How many times the worker re-created its WebAssembly instance. */
  resets(): Promise<number>;
  /** Signs an evaluation report as an attestation (attest.js `createAttestation`) in the worker. */
  createAttestation(report: EvalReport | object, keyPair: CryptoKeyPair, options?: AttestationStatementOptions): Promise<DsseEnvelope>;
  /** Verifies an attestation (attest.js `verifyAttestation`) in the worker; `registry` checks
   * the model subjects against that registry's signed versions. */
  verifyAttestation(envelope: DsseEnvelope | string | Uint8Array, keys: AttestationVerifyKeys,
    options?: { threshold?: number; registry?: WorkerRegistry }): Promise<VerifiedAttestation>;
  /** Verifies an OpenSSF model-signing bundle (`verifyModelSignature`) in the worker. */
  verifyModelSignature(model: Uint8Array | Record<string, Uint8Array>, bundle: string | Uint8Array | object,
    policy: ModelSignaturePolicy): Promise<VerifiedModelSignature>;
  /** Stops the worker; pending calls reject with WORKER_FAILED. */
  terminate(): void;
}

/** A registry living in the worker: `Registry`'s calls, options and results (an aborted
 * `signal` rejects at once with its reason and stops the work in the worker). */
export declare class WorkerRegistry {
  readonly cacheKind: string;
  /** The id staged rollouts bucket this client by. */
  readonly clientId: string | null;
  refresh(options?: CallOptions): Promise<RefreshResult>;
  models(): Promise<ModelInfo[]>;
  resolve(reference: string, options?: ResolveOptions): Promise<Resolution>;
  /** The verified bytes (moved from the worker) and where they came from. */
  fetchModel(reference: string, options?: CallOptions): Promise<FetchModelResult>;
  /** Another verified file of a model version (for example `eval.csv`). */
  fetchFile(reference: string, file: string, options?: CallOptions): Promise<Uint8Array>;
  /** Fetches (cache or network, verified) and loads a model. */
  load(reference: string, options?: LoadOptions): Promise<WorkerModel>;
  /** Champion vs challenger on the same rows. */
  compare(champion: string, challenger: string, data: Blob | Uint8Array | ArrayBuffer | string, options?: EvalOptions): Promise<EvalReport>;
  readonly cache: {
    list(): Promise<CacheEntry[]>;
    usage(): Promise<CacheUsage>;
    has(reference: string): Promise<boolean>;
    prefetch(reference: string, options?: CallOptions): Promise<PrefetchResult>;
    pin(reference: string): Promise<{ model: string; version: string }>;
    unpin(reference: string): Promise<boolean>;
    evict(reference: string): Promise<boolean>;
    clear(options?: ClearOptions): Promise<void>;
    persist(): Promise<boolean>;
  };
}

/** A model living in the worker. */
export declare class WorkerModel {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly card?: ModelCard | ModelCardSchema;
  readonly sha256: string;
  readonly info: WorkerModelInfo;
  /** Runs the model; resolves to named output `Tensor`s, as `Model.run`. Inputs are copied to
   * the worker unless `{ transfer: true }` (their buffers are then moved and detached here). */
  run(feeds: Record<string, TensorInput>, options?: { transfer?: boolean; signal?: AbortSignal }): Promise<Record<string, Tensor>>;
  /** The last run's time inside the worker, in ms. */
  readonly lastRunMs?: number;
  /** Evaluates on labelled data: a File/Blob (streamed in the worker), bytes or text. */
  evaluate(data: Blob | Uint8Array | ArrayBuffer | string, options?: EvalOptions): Promise<EvalReport>;
  /** Champion (this) against challenger on the same rows. */
  compare(challenger: WorkerModel, data: Blob | Uint8Array | ArrayBuffer | string, options?: EvalOptions): Promise<EvalReport>;
  /** The gate check that admitted this model, else null. */
  readonly gates: GateReport | null;
  /** Frees the model in the worker. */
  dispose(): Promise<void>;
}
