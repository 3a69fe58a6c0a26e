// Types of workerd.js (the "workerd" entry: Cloudflare Workers, workerd): the package's API,
// ready at import, with the Cache API store and the crash-recovery wrapper.
export * from "./edge_registry.js";
export { default } from "./edge_registry.js";
export { cacheApiStore, type CacheApiStoreOptions } from "./cache-api-store.js";
export { resilient } from "./resilient.js";
