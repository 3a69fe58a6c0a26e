// Types of deno.js (the "deno" entry): the package's API, ready at import.
export * from "./edge_registry.js";
export { default } from "./edge_registry.js";
export { fileStore } from "./file-store.js";
