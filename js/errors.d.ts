// Types of errors.js: the EdgeRegistryError class and its codes (declared in edge_registry.d.ts).
export { EdgeRegistryError, type ErrorCode } from "./edge_registry.js";
