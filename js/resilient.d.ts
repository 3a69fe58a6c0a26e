// Types of resilient.js: the package's API with crash recovery (a trap of the WebAssembly
// instance rejects only the call that crashed, with INTERNAL_PANIC, and the next call runs on a
// fresh instance).
import type * as lib from "./edge_registry.js";

export interface ResilientOptions {
  /** Classes whose factory-made objects are re-created after a reset (default Model, Registry). */
  reloadable?: string[];
  /** Called after each re-instantiation. */
  onReset?: (info: { resets: number; message: string }) => void;
  /** Also recover from traps inside async calls (default true): in browsers and workers by a
   * listener of `error` events that takes traps only; in Node by `recoverFrom` called from the
   * application's own `uncaughtException` handler (nothing is installed on `process`). */
  asyncTraps?: boolean;
}
/** The package's exports, wrapped, and the recovery controls. */
export type ResilientApi = Omit<typeof lib, "default" | "initSync" | "start"> & {
  /** How many times the instance was re-created. */
  readonly resets: number;
  /** Resolves once the instance is usable (after a crash it may be re-created asynchronously). */
  ready(): Promise<void>;
  /** Calls `listener` after each re-creation; returns an unsubscribe function. */
  onReset(listener: (info: { resets: number; message: string }) => void): () => void;
  /** Recovers from `error` if it is a trap of an async call (in Node, what reaches
   * `process.on("uncaughtException")`); returns whether it did. */
  recoverFrom(error: unknown): boolean;
  /** Stops listening for panics. */
  dispose(): void;
};
/** Whether `e` is the WebAssembly instance dying (a trap) rather than an ordinary error. */
export declare function isTrap(e: unknown): boolean;
/** Wraps an initialised module namespace (`import * as lib` after `init()`). */
export declare function resilient(lib: typeof import("./edge_registry.js"), options?: ResilientOptions): ResilientApi;
/** Initialises the package (as `init(arg)`) and returns the resilient API. */
export declare function loadResilient(initArg?: lib.InitInput | { module_or_path: lib.InitInput }, options?: ResilientOptions): Promise<ResilientApi>;
/** Initialises synchronously (as `initSync(arg)`) and returns the resilient API. */
export declare function resilientSync(initSyncArg: lib.SyncInitInput | { module: lib.SyncInitInput }, options?: ResilientOptions): ResilientApi;
