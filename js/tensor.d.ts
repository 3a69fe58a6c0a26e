// Types of tensor.js: the Tensor class (edge_registry.d.ts declares it; the glue re-exports it).
export { Tensor } from "./edge_registry.js";
