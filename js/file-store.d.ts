// Types of file-store.js: a registry store on the file system (Node, Deno).
import type { RegistryStore } from "./edge_registry.js";

export interface FileStore extends RegistryStore {
  keys(prefix: string): Promise<string[]>;
  /** The directory. */
  readonly dir: string;
}

/** A store object for `Registry.open({ cache })` over the directory `dir` (created if missing);
 * `{ private: true }`: mode 0700, refused when writable by others or a symbolic link. */
export declare function fileStore(dir: string | URL, options?: { private?: boolean }): FileStore;
