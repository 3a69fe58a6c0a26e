// Types of adapters.js: registry verification for onnxruntime-web and transformers.js.
import type { CallOptions, FetchModelResult } from "./edge_registry.js";

/** Anything with `fetchModel` (a `Registry` or a `WorkerRegistry`). */
export interface ModelSource {
  fetchModel(reference: string, options?: CallOptions): Promise<FetchModelResult>;
}

/** The verified bytes of `reference`, for `InferenceSession.create(bytes)`. */
export declare function verifiedBytes(registry: ModelSource, reference: string, options?: CallOptions): Promise<Uint8Array>;

/** A Cache-API-like object for transformers.js's `env.customCache`. */
export interface RegistryCache {
  match(request: string | URL | Request): Promise<Response | undefined>;
  put(request: string | URL | Request, response: Response): Promise<void>;
}

/** `files`: URL -> registry reference (or a function from URL to reference or undefined). */
export declare function registryCache(
  registry: ModelSource,
  files: Record<string, string> | ((url: string) => string | undefined | null),
  options?: CallOptions & { fallback?: { match(r: any): Promise<Response | undefined>; put(r: any, res: Response): Promise<void> } },
): RegistryCache;
