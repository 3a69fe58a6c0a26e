// A registry store on the Cache API, for Cloudflare Workers and workerd (`caches.default`, or a
// named cache from `caches.open(name)`), and for any runtime with `caches` (browsers, Deno).
//
//   import { Registry, cacheApiStore } from "edge-registry";
//   const registry = await Registry.open({ url, trustedRoot, cache: cacheApiStore(caches.default) });
//
// Verified artifacts and trusted metadata then outlive the isolate: a new isolate in the same
// colo finds them in the cache. Nothing read back is trusted: the registry checks every chunk's
// SHA-256 and every metadata signature again on read, as with every other store, and a missing
// or corrupt entry is fetched again from the registry (the Cache API may evict at any time).
//
// The Cache API has no way to list keys, so the registry keeps the key list in one entry of its
// own (`__edge_registry_keys__`). Its updates are read-modify-write: two isolates writing at the
// same moment can drop a key from that list, which only leaves an entry to expire on its own.
//
// Options:
// - `prefix`: the URL entries are stored under (default "https://edge-registry.invalid/store/";
//   give each registry its own prefix if one cache serves several).
// - `maxAgeSeconds`: the `Cache-Control: max-age` given to entries (default 30 days). Cloudflare
//   honours it as the entry's time to live.

const DEFAULT_PREFIX = "https://edge-registry.invalid/store/";

/** A store object for `Registry.open({ cache })` over `cache` (a Cache or a promise of one). */
export function cacheApiStore(cache, options = {}) {
  if (!cache || (typeof cache.match !== "function" && typeof cache.then !== "function")) {
    throw new TypeError("cacheApiStore(cache): cache must be a Cache (for example caches.default) or a promise of one");
  }
  const prefix = String(options.prefix ?? DEFAULT_PREFIX);
  const maxAge = Math.max(0, Math.floor(Number(options.maxAgeSeconds ?? 30 * 86400)));
  if (!/^https?:\/\//.test(prefix)) throw new TypeError("cacheApiStore: prefix must be an http(s) URL");
  const url = (key) => prefix + encodeURIComponent(key);
  const opened = Promise.resolve(cache);
  return {
    async get(key) {
      const c = await opened;
      const hit = await c.match(new Request(url(key)));
      return hit ? new Uint8Array(await hit.arrayBuffer()) : undefined;
    },
    async put(key, bytes) {
      const c = await opened;
      // The Response copies the bytes; the registry may reuse its buffer afterwards.
      await c.put(new Request(url(key)), new Response(bytes, {
        headers: {
          "content-type": "application/octet-stream",
          "cache-control": `public, max-age=${maxAge}`,
        },
      }));
    },
    async delete(key) {
      const c = await opened;
      await c.delete(new Request(url(key)));
    },
  };
}
