// Tensors shaped as onnxruntime-web shapes them: `{ type, data, dims }`, and a `Tensor` class
// with that shape. `Model.run` takes them (or plain `{ type, data, dims }` objects, or the older
// `{ data, shape, dtype }`) and returns `Tensor`s. Imported by edge_registry.js (the glue), which
// re-exports `Tensor`: one class for every entry (page, worker, Node, Deno, workerd), so
// `instanceof Tensor` holds across them.
import { EdgeRegistryError } from "./errors.js";

/** Element type -> the typed array that holds it. float16 is a Float16Array where the host has
 * one, else a Uint16Array of its IEEE 754 bits; bool is a Uint8Array of 0 and 1. */
const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
};
const float16Array = () => globalThis.Float16Array;

function fail(message) {
  return new EdgeRegistryError("INVALID_ARGUMENT", message);
}

function checkDims(dims) {
  if (!Array.isArray(dims)) throw fail("Tensor dims must be an array of non-negative integers");
  let size = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw fail(`Tensor dims must be non-negative integers; got ${JSON.stringify(d)}`);
    }
    size *= d;
  }
  return size;
}

/** A tensor: element `type`, flat row-major `data` and `dims`, as onnxruntime-web's `Tensor`. */
export class Tensor {
  /**
   * `new Tensor(type, data, dims)`, or `new Tensor(data, dims)` for a typed array whose type it
   * names (Float32Array "float32", ...). `data` may be a plain array of numbers (bigints or
   * numbers for int64, booleans for bool), converted here; each entry must be a finite value of
   * the type, else this throws naming the index. `dims` defaults to `[data.length]`.
   */
  constructor(type, data, dims) {
    if (typeof type !== "string") {
      [type, data, dims] = [typeOfArray(type), type, data];
      if (type === undefined) throw fail("new Tensor(data, dims) needs a typed array; give the type first for anything else");
    }
    const Array_ = type === "float16" ? (float16Array() ?? Uint16Array) : Object.hasOwn(ARRAYS, type) ? ARRAYS[type] : undefined;
    if (!Array_) {
      throw fail(`Tensor type ${JSON.stringify(type)} is not supported; supported: ${Object.keys(ARRAYS).join(", ")}, float16`);
    }
    if (Array.isArray(data)) data = fromPlain(type, data, Array_);
    else if (!isArrayFor(type, data)) {
      throw fail(`Tensor data for type ${type} must be a ${Array_.name}${type === "float16" ? " or Uint16Array" : ""} or a plain array; got ${describe(data)}`);
    }
    dims ??= [data.length];
    const size = checkDims(dims);
    if (size !== data.length) {
      throw fail(`Tensor dims ${JSON.stringify(dims)} hold ${size} elements, but data has ${data.length}`);
    }
    this.type = type;
    this.data = data;
    this.dims = Object.freeze([...dims]);
  }

  /** Number of elements. */
  get size() {
    return this.data.length;
  }
  /** Where the data lives: always "cpu" (a typed array in JS memory). */
  get location() {
    return "cpu";
  }
  /** The data (onnxruntime-web's `getData`; here it is already in JS memory). */
  async getData() {
    return this.data;
  }
  /** Nothing to release: the data is an ordinary typed array. */
  dispose() {}
  /** The same data under other dims with the same number of elements (no copy). */
  reshape(dims) {
    return new Tensor(this.type, this.data, dims);
  }
  /** @deprecated Use `dims` (onnxruntime-web's name). */
  get shape() {
    return this.dims;
  }
  /** @deprecated Use `type` (onnxruntime-web's name). */
  get dtype() {
    return this.type;
  }
}

function typeOfArray(data) {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Uint8Array) return "uint8";
  if (data instanceof Int8Array) return "int8";
  const F16 = float16Array();
  if (F16 && data instanceof F16) return "float16";
  return undefined;
}

function isArrayFor(type, data) {
  if (type === "float16") {
    const F16 = float16Array();
    return data instanceof Uint16Array || (F16 !== undefined && data instanceof F16);
  }
  return data instanceof ARRAYS[type];
}

function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === "string") return `${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v)} (a string)`;
  if (typeof v === "object") return "an object";
  return `${String(v)} (${typeof v === "bigint" ? "a bigint" : typeof v})`;
}

const INT_RANGE = { int32: [-(2 ** 31), 2 ** 31 - 1], uint8: [0, 255], int8: [-128, 127] };

/** A plain array converted to `Array_`, each entry checked to be a value of `type`. */
function fromPlain(type, values, Array_) {
  const out = new Array_(values.length);
  const bad = (i, v, what) => fail(`element ${i} is ${describe(v)}, not ${what}`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (type === "bool") {
      if (typeof v === "boolean") out[i] = v ? 1 : 0;
      else if (v === 0 || v === 1) out[i] = v;
      else throw bad(i, v, "a boolean (true, false, 0 or 1)");
    } else if (type === "int64") {
      if (typeof v === "bigint" && v >= -(2n ** 63n) && v < 2n ** 63n) out[i] = v;
      else if (Number.isSafeInteger(v)) out[i] = BigInt(v);
      else throw bad(i, v, "an int64 (a bigint, or an integer number within 2^53)");
    } else if (Object.hasOwn(INT_RANGE, type)) {
      const [lo, hi] = INT_RANGE[type];
      if (Number.isInteger(v) && v >= lo && v <= hi) out[i] = v;
      else throw bad(i, v, `an ${type} (an integer from ${lo} to ${hi})`);
    } else if (typeof v === "number" && Number.isFinite(v)) {
      out[i] = v;
    } else {
      throw bad(i, v, `a finite ${type} number`);
    }
  }
  if (type === "float16" && Array_ === Uint16Array) return toHalfBits(out, values);
  return out;
}

/** float16 bits (round to nearest even) of each value, for hosts without Float16Array. */
function toHalfBits(out, values) {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i];
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    let h;
    if (exp - 127 + 15 >= 0x1f) h = sign | 0x7c00; // overflow to infinity
    else if (exp - 127 + 15 <= 0) {
      // subnormal or zero
      if (exp - 127 + 15 < -10) h = sign;
      else {
        mant |= 0x800000;
        const shift = 14 - (exp - 127 + 15);
        let half = mant >>> shift;
        const rest = mant & ((1 << shift) - 1);
        const mid = 1 << (shift - 1);
        if (rest > mid || (rest === mid && (half & 1))) half++;
        h = sign | half;
      }
    } else {
      h = sign | ((exp - 127 + 15) << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
    }
    out[i] = h;
  }
  return out;
}

/**
 * The feeds `run` hands to the module, read here first: a plain object of plain
 * `{ type, data, dims }` entries, plain arrays copied. Whatever the caller's objects do when
 * read (getters that throw, proxies) happens in JS, before the call enters the module, where an
 * exception thrown half-way would leave the model object borrowed. Typed arrays are passed on
 * as they are (not copied).
 */
export function snapshotFeeds(feeds) {
  if (feeds === null || typeof feeds !== "object") return feeds; // the module names the error
  const out = {};
  for (const [name, t] of Object.entries(feeds)) {
    if (t === null || typeof t !== "object") {
      out[name] = t;
      continue;
    }
    const plain = (v) => (Array.isArray(v) ? Array.from(v) : v);
    out[name] = { type: t.type ?? t.dtype, data: plain(t.data), dims: plain(t.dims ?? t.shape) };
  }
  return out;
}

/**
 * The engine's outputs (`{ name: { type, data, dims } }`, plain objects from the module or from
 * a worker's message) as `Tensor`s, without copying their data. float16 data arrives as
 * Uint16Array bits and becomes a Float16Array view where the host has one.
 */
export function adoptOutputs(outputs) {
  for (const key of Object.keys(outputs)) {
    const o = outputs[key];
    if (o instanceof Tensor) continue;
    let data = o.data;
    const F16 = float16Array();
    if (o.type === "float16" && F16 && data instanceof Uint16Array) {
      data = new F16(data.buffer, data.byteOffset, data.length);
    }
    const t = Object.create(Tensor.prototype);
    t.type = o.type;
    t.data = data;
    t.dims = Object.freeze([...o.dims]);
    outputs[key] = t;
  }
  return outputs;
}
