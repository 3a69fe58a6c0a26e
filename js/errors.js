// EdgeRegistryError: the one error class of the package. Every error the library throws or
// rejects with is an `EdgeRegistryError` with a stable `code` (the `ErrorCode` union of
// edge_registry.d.ts). Imported by edge_registry.js (the glue), which re-exports it, so every
// entry (page, worker, Node, Deno, workerd) has the same class.
//
// The errors made inside the WebAssembly module, and those rebuilt from a worker's message, are
// plain `Error`s named "EdgeRegistryError" with a string `code`: `instanceof EdgeRegistryError`
// recognises those too (Symbol.hasInstance), across entries and after a worker hop.
export class EdgeRegistryError extends Error {
  /** `new EdgeRegistryError(code, message, { cause })`. */
  constructor(code, message, options) {
    super(message, options);
    this.name = "EdgeRegistryError";
    this.code = code;
  }

  static [Symbol.hasInstance](value) {
    return value instanceof Error && value.name === "EdgeRegistryError" && typeof value.code === "string";
  }
}
