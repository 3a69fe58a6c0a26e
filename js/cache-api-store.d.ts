// Types of cache-api-store.js: a Registry store over a Cache API cache (Cloudflare Workers,
// workerd, browsers).
import type { RegistryStore } from "./edge_registry.js";

export interface CacheApiStoreOptions {
  /** The URL prefix of the cache's keys (an http(s) URL; default one under edge-registry.invalid). */
  prefix?: string;
  /** Time to live written into each entry (default 30 days). */
  maxAgeSeconds?: number;
}
/** A store for `Registry.open({ cache })`; what it returns is verified again on read. */
export declare function cacheApiStore(cache: Cache | Promise<Cache>, options?: CacheApiStoreOptions): RegistryStore;
