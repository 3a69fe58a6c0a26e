// The Model class of the built package (release, SIMD) in Node: every committed model's
// outputs equal onnxruntime's at batch 1 and 64, typed arrays in and out, errors with codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { loadPkg, readJson, root } from "./helpers.mjs";

const pkg = await loadPkg();
const models = readJson("tests/fixtures/models/index.json").models;

function typed(t) {
  switch (t.dtype) {
    case "float32": return Float32Array.from(t.data);
    case "int64": return BigInt64Array.from(t.data.map(BigInt));
    default: throw new Error(t.dtype);
  }
}

test("every committed model matches onnxruntime (max abs error 1e-5) at batch 1 and 64", async () => {
  assert.ok(models.length >= 6);
  for (const m of models) {
    const dir = `tests/fixtures/models/${m.dir}`;
    const bytes = readFileSync(new URL(`${dir}/model.onnx`, root));
    const card = readJson(`${dir}/card.json`);
    const model = pkg.Model.fromBytes(bytes, card);
    assert.deepEqual(model.inputs, card.inputs, m.dir);
    const expected = readJson(`${dir}/expected.json`);
    for (const batch of ["batch1", "batch64"]) {
      const feeds = {};
      for (const [name, t] of Object.entries(expected[batch].inputs)) feeds[name] = new pkg.Tensor(t.dtype, typed(t), t.shape);
      const out = await model.run(feeds);
      for (const [name, want] of Object.entries(expected[batch].outputs)) {
        const got = out[name];
        assert.ok(got instanceof pkg.Tensor);
        assert.deepEqual(got.dims, want.shape, `${m.dir} ${name}`);
        assert.equal(got.type, want.dtype);
        const w = typed(want);
        assert.equal(got.data.constructor, w.constructor);
        for (let i = 0; i < w.length; i++) {
          const err = Math.abs(Number(got.data[i]) - Number(w[i]));
          assert.ok(err <= 1e-5, `${m.dir} ${batch} ${name}[${i}] off by ${err}`);
        }
      }
    }
    model.free();
  }
});

test("plain number arrays follow the declared input type", () => {
  const dir = "tests/fixtures/models/iris";
  const model = pkg.Model.fromBytes(readFileSync(new URL(`${dir}/model.onnx`, root)));
  const out = model.runSync({ input: { data: [5.1, 3.5, 1.4, 0.2], dims: [1, 4] } });
  assert.equal(out.label.data[0], 0n);
  assert.ok(Math.abs(out.probabilities.data.reduce((a, b) => a + b, 0) - 1) < 1e-5);
});

const dtypesModel = () => pkg.Model.fromBytes(readFileSync(new URL("tests/fixtures/engine/dtypes.onnx", root)));
/** float16 data as this host gives it back: a Float16Array where it has one (Node 20 has not). */
const F16 = globalThis.Float16Array ?? Uint16Array;
const halfBits = (data) => Array.from(new Uint16Array(data.buffer, data.byteOffset, data.length));

test("run takes onnxruntime-web's { type, data, dims } and resolves to Tensors of every element type", async () => {
  const model = dtypesModel();
  assert.deepEqual(model.inputs.map((i) => i.dtype),
    ["float32", "float64", "int32", "int64", "uint8", "bool", "float16", "int8"]);
  const f16 = new Uint16Array([15872, 46080, 31743, 2, 0, 49152]); // 1.5, -0.25, 65504, 2^-23, 0, -2
  const feeds = {
    f32: new pkg.Tensor("float32", new Float32Array([0.5, 1, 1.5, 2, -1, 0]), [3, 2]),
    f64: new pkg.Tensor(new Float64Array([0.25, 1e300, -2, 3, 4, 5]), [3, 2]),
    i32: { type: "int32", data: new Int32Array([1, -2, 1 << 20]), dims: [3] },
    i64: new pkg.Tensor("int64", [2n ** 40n, 0, -1], [3]),
    u8: new pkg.Tensor("uint8", new Uint8Array([0, 1, 2, 3, 4, 5, 253, 254, 255]), [3, 3]),
    b: new pkg.Tensor("bool", [true, false, 1], [3]),
    f16: new pkg.Tensor("float16", f16, [3, 2]),
    i8: new pkg.Tensor("int8", new Int8Array([-100, 127, -128]), [3]),
  };
  const pending = model.run(feeds);
  assert.ok(pending instanceof Promise);
  // The inputs were read before run returned: changing them now changes nothing.
  feeds.f32.data.fill(9);
  const out = await pending;
  for (const t of Object.values(out)) assert.ok(t instanceof pkg.Tensor);
  assert.deepEqual(Object.fromEntries(Object.entries(out).map(([k, t]) => [k, [t.type, t.dims, t.data.constructor.name]])), {
    f32_out: ["float32", [3, 2], "Float32Array"], f64_out: ["float64", [3, 2], "Float64Array"],
    i32_out: ["int32", [3], "Int32Array"], i64_out: ["int64", [3], "BigInt64Array"],
    u8_out: ["uint8", [3, 3], "Uint8Array"], b_out: ["bool", [3], "Uint8Array"],
    f16_out: ["float16", [3, 2], F16.name], i8_out: ["int8", [3], "Int8Array"],
  });
  assert.deepEqual(Array.from(out.f32_out.data), [1, 2, 3, 4, -2, 0]);
  assert.deepEqual(Array.from(out.i64_out.data), [2n ** 40n - 7n, -7n, -8n]);
  assert.deepEqual(Array.from(out.b_out.data), [0, 1, 0]);
  // onnxruntime's float16 results: 3, -0.5, infinity (65504 * 2 overflows), 2^-22, 0, -4.
  assert.deepEqual(halfBits(out.f16_out.data), [16896, 47104, 31744, 4, 0, 50176]);
  // Neg wraps in int8 as in onnxruntime: -(-128) is -128.
  assert.deepEqual(Array.from(out.i8_out.data), [100, -127, -128]);
  // The older names still answer (deprecated): shape, dtype.
  assert.deepEqual(out.u8_out.shape, [3, 3]);
  assert.equal(out.u8_out.dtype, "uint8");
  assert.equal(out.u8_out.size, 9);
  assert.deepEqual(await out.u8_out.getData(), out.u8_out.data);
  assert.deepEqual(out.u8_out.reshape([9]).dims, [9]);
  // The older input shape { data, shape, dtype } runs the same.
  const legacy = model.runSync({ ...feeds, f32: { data: new Float32Array([0.5, 1, 1.5, 2, -1, 0]), shape: [3, 2], dtype: "float32" } });
  assert.deepEqual(Array.from(legacy.f32_out.data), [1, 2, 3, 4, -2, 0]);
  // Errors reject (run) or throw (runSync) with codes.
  await assert.rejects(model.run({ ...feeds, f32: { type: "float32", data: new Float32Array(5), dims: [3, 2] } }),
    (e) => e.code === "SCHEMA_MISMATCH");
  model.free();
});

test("plain arrays are checked entry by entry: the error names the input and the index", () => {
  const model = dtypesModel();
  const run = (input, data, dims = [data.length]) => model.runSync({ [input]: { data, dims } });
  const refused = (input, data, pattern) => assert.throws(() => run(input, data),
    (e) => e.name === "EdgeRegistryError" && e.code === "INVALID_ARGUMENT" && pattern.test(e.message) && e.message.includes(`input \`${input}\``),
    `${input} ${JSON.stringify(data, (k, v) => (typeof v === "bigint" ? String(v) : v))}`);
  refused("f32", [1, "2"], /element 1 is "2" \(a string\), not a finite float32 number/);
  refused("f32", [1, undefined], /element 1 is undefined/);
  refused("f32", [[1, 2]], /element 0 is an array/);
  refused("f32", [0, NaN], /element 1 is NaN/);
  refused("f64", [Infinity], /element 0 is inf/);
  refused("i32", [1.5], /element 0 is 1.5 \(a number\), not an int32/);
  refused("i32", [2 ** 31], /not an int32/);
  refused("u8", [256], /not a uint8/);
  refused("i8", [-129], /not an int8/);
  refused("i64", [2 ** 60], /not an int64/);
  refused("b", [2], /not a boolean/);
  refused("f16", [null], /element 0 is null/);
  // What is a value of the type passes: bigints for int64, booleans or 0/1 for bool.
  assert.throws(() => run("i64", [2n ** 62n, -5]), (e) => e.code !== "INVALID_ARGUMENT"); // the other inputs are missing
  // A typed array must be the type's own.
  assert.throws(() => model.runSync({ i64: { type: "int64", data: new Float32Array(3), dims: [3] } }),
    (e) => e.code === "INVALID_ARGUMENT" && /input `i64` has type `int64` but its data is a Float32Array/.test(e.message));
  assert.throws(() => model.runSync({ f32: { data: new Uint16Array(6), dims: [3, 2] } }),
    (e) => e.code === "INVALID_ARGUMENT" && /float16 bits only/.test(e.message));
  assert.throws(() => model.runSync({ f32: { type: "string", data: ["a"], dims: [1] } }),
    (e) => e.code === "INVALID_ARGUMENT" && /type `string`, which the engine does not run; supported: float32, float64, float16/.test(e.message));
  assert.throws(() => model.runSync({ f32: [1, 2] }), (e) => e.code === "INVALID_ARGUMENT" && /no `data`|must be a tensor/.test(e.message));
  model.free();
});

test("hostile feed objects are refused without leaving the model unusable", async () => {
  const model = pkg.Model.fromBytes(readFileSync(new URL("tests/fixtures/models/iris/model.onnx", root)));
  const good = () => ({ input: new pkg.Tensor("float32", [5.1, 3.5, 1.4, 0.2], [1, 4]) });
  const want = Array.from(model.runSync(good()).probabilities.data);
  const boom = () => { throw new Error("getter ran"); };
  const dims = [1, 4];
  Object.defineProperty(dims, 1, { get: boom });
  const hostile = [
    // Reading these throws in JS, before the call enters the module.
    [{ input: { type: "float32", data: new Float32Array(4), get dims() { return boom(); } } }, /getter ran/],
    [{ input: { type: "float32", data: new Float32Array(4), dims } }, /getter ran/],
    [new Proxy({}, { ownKeys: boom }), /getter ran/],
    // An object that borrows Float32Array's prototype is not a typed array.
    [{ input: { data: Object.create(Float32Array.prototype), dims: [1, 4] } }, /must be a typed array/],
    // A Float16Array look-alike whose extent lies.
    [{ input: { type: "float16", data: Object.assign(new DataView(new ArrayBuffer(8), 1), { constructor: { name: "Float16Array" } }), dims: [1, 4] } },
      /not a plain view of an ArrayBuffer/],
  ];
  for (const [feeds, pattern] of hostile) {
    await assert.rejects(model.run(feeds), (e) => pattern.test(e.message), String(pattern));
    assert.throws(() => model.runSync(feeds), (e) => pattern.test(e.message), String(pattern));
  }
  // The model still runs, with the same outputs.
  assert.deepEqual(Array.from((await model.run(good())).probabilities.data), want);
  model.free();
});

test("the Tensor class checks what it is given, as onnxruntime-web's does", () => {
  const { Tensor } = pkg;
  const t = new Tensor("float32", [1, 2, 3, 4], [2, 2]);
  assert.ok(t.data instanceof Float32Array);
  assert.deepEqual([t.type, t.dims, t.size, t.location], ["float32", [2, 2], 4, "cpu"]);
  assert.deepEqual(new Tensor(new Int32Array(3)).dims, [3]);
  assert.equal(new Tensor(new Int8Array(2)).type, "int8");
  assert.equal(new Tensor("bool", [true, false]).data.constructor, Uint8Array);
  assert.equal(new Tensor("int64", [1, 2n]).data.constructor, BigInt64Array);
  // float16 from numbers rounds to nearest (0.1 -> 0x2e66), as a Float16Array where the host has one.
  const h = new Tensor("float16", [0.1, 1, -2, 65520, 1e-8]);
  assert.equal(h.data.constructor, F16);
  assert.deepEqual(halfBits(h.data), [0x2e66, 0x3c00, 0xc000, 0x7c00, 0]);
  const bad = (f, pattern) => assert.throws(f, (e) => e.name === "EdgeRegistryError" && e.code === "INVALID_ARGUMENT" && pattern.test(e.message));
  bad(() => new Tensor("float32", [1, 2], [3]), /dims \[3\] hold 3 elements, but data has 2/);
  bad(() => new Tensor("float32", new Int32Array(2)), /must be a Float32Array/);
  bad(() => new Tensor("string", ["a"]), /not supported/);
  bad(() => new Tensor("toString", [1]), /not supported/);
  bad(() => new Tensor("int32", [1, "x"]), /element 1 is "x" \(a string\), not an int32/);
  bad(() => new Tensor("float32", [1], [-1]), /non-negative integers/);
  bad(() => new Tensor([1, 2]), /needs a typed array/);
  assert.ok(Object.isFrozen(t.dims));
});

test("errors are Error objects with stable codes", () => {
  const bytes = readFileSync(new URL("tests/fixtures/models/digits-v1/model.onnx", root));
  assert.throws(() => pkg.Model.fromBytes(new Uint8Array([1, 2, 3])), (e) => e instanceof Error && e.code === "BAD_MODEL");
  assert.throws(() => pkg.Model.fromBytes(readFileSync(new URL("tests/fixtures/engine/unsupported.onnx", root))),
    (e) => e.code === "UNSUPPORTED_MODEL" && /Imputer/.test(e.message));
  const model = pkg.Model.fromBytes(bytes);
  assert.throws(() => model.runSync({ input: { data: new Float64Array(64), shape: [1, 64] } }),
    (e) => e.code === "SCHEMA_MISMATCH" && /expected input: float32\[N, 64\]/.test(e.message));
  assert.throws(() => model.runSync({ input: { data: new Float32Array(64), shape: [1, -64] } }), (e) => e.code === "INVALID_ARGUMENT");
  assert.throws(() => model.runSync({ nope: { data: new Float32Array(64), shape: [1, 64] } }), (e) => e.code === "SCHEMA_MISMATCH");
  assert.throws(() => model.runSync("not an object"), (e) => e.code === "INVALID_ARGUMENT");
  assert.throws(() => pkg.Model.fromBytes(bytes, { inputs: "nope" }), (e) => e.code === "INVALID_ARGUMENT");
});

test("Model.create loads like fromBytes, names the model by the digest of the bytes it was given, and rejects with codes", async () => {
  const dir = "tests/fixtures/models/breast-cancer";
  const bytes = readFileSync(new URL(`${dir}/model.onnx`, root));
  const card = readJson(`${dir}/card.json`);
  const want = pkg.sha256Hex(bytes);
  const expected = readJson(`${dir}/expected.json`).batch64;
  const feeds = () => Object.fromEntries(Object.entries(expected.inputs).map(([k, t]) => [k, { data: typed(t), shape: t.shape }]));
  const sync = pkg.Model.fromBytes(bytes, card);
  // The caller's buffer is copied before create returns: overwriting it at once changes nothing.
  const mine = new Uint8Array(bytes);
  const pending = pkg.Model.create(mine, card);
  assert.ok(pending instanceof Promise);
  mine.fill(0);
  const model = await pending;
  assert.equal(model.sha256, want);
  assert.equal(sync.sha256, want);
  assert.deepEqual(model.inputs, card.inputs);
  const a = await model.run(feeds()), b = sync.runSync(feeds());
  for (const name of Object.keys(expected.outputs)) assert.deepEqual(Array.from(a[name].data), Array.from(b[name].data), name);
  // An ArrayBuffer works too.
  const fromBuffer = await pkg.Model.create(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  assert.equal(fromBuffer.sha256, want);
  // A host without WebCrypto: the digest is sha2's, the same.
  const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
  Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true, writable: true });
  let noCrypto;
  try {
    noCrypto = await pkg.Model.create(bytes, card);
  } finally {
    Object.defineProperty(globalThis, "crypto", saved);
  }
  assert.equal(noCrypto.sha256, want);
  for (const m of [model, sync, fromBuffer, noCrypto]) m.free();
  await assert.rejects(pkg.Model.create(new Uint8Array([1, 2, 3])), (e) => e instanceof Error && e.code === "BAD_MODEL");
  await assert.rejects(pkg.Model.create("model.onnx"), (e) => e.code === "INVALID_ARGUMENT" && /Uint8Array/.test(e.message));
  await assert.rejects(pkg.Model.create(bytes, { inputs: "nope" }), (e) => e.code === "INVALID_ARGUMENT");
  await assert.rejects(pkg.Model.create(readFileSync(new URL("tests/fixtures/engine/unsupported.onnx", root))),
    (e) => e.code === "UNSUPPORTED_MODEL" && /Imputer/.test(e.message));
});

test("a model with open input dims runs at two sizes from one load; model.plan shows the cache", () => {
  const bytes = readFileSync(new URL("tests/fixtures/engine/dynamic.onnx", root));
  const cases = readJson("tests/fixtures/engine/dynamic.json");
  const model = pkg.Model.fromBytes(bytes);
  assert.deepEqual(model.inputs[0].shape, ["batch", 3, "?", "?"]);
  assert.equal(model.plan.kind, "per-shape");
  for (const c of cases) {
    const t = c.input.image;
    const out = model.runSync({ image: { data: Float32Array.from(t.data), shape: t.shape } });
    const want = c.expected.features;
    assert.deepEqual(out.features.dims, want.shape);
    for (let i = 0; i < want.data.length; i++) {
      assert.ok(Math.abs(out.features.data[i] - want.data[i]) <= 1e-4, `features[${i}]`);
    }
  }
  const plan = model.plan;
  assert.equal(plan.cached, 2);
  assert.equal(plan.built, 2);
  assert.deepEqual(plan.shapes, cases.map((c) => [c.input.image.shape]));
  assert.equal(pkg.Model.fromBytes(readFileSync(new URL("tests/fixtures/models/iris/model.onnx", root))).plan.kind, "static");
  model.free();
});

test("Model.check reports operators, the plan and a run compared to expected outputs", () => {
  const bytes = readFileSync(new URL("tests/fixtures/engine/dynamic.onnx", root));
  const [c] = readJson("tests/fixtures/engine/dynamic.json");
  const inputs = { image: { data: c.input.image.data, shape: c.input.image.shape, dtype: "float32" } };
  const expected = { features: { data: Float32Array.from(c.expected.features.data), shape: c.expected.features.shape } };
  const report = pkg.Model.check(bytes, { inputs, expected });
  assert.equal(report.ok, true, JSON.stringify(report));
  assert.equal(report.opsets["ai.onnx"], 13);
  assert.deepEqual(report.operators[0], { op: "Slice", count: 4, supported: true });
  assert.equal(report.plan.kind, "per-shape");
  assert.equal(report.run.outputs[0].matches, true);
  assert.ok(report.run.outputs[0].relativeError < 1e-5);
  const bad = pkg.Model.check(readFileSync(new URL("tests/fixtures/engine/unsupported.onnx", root)));
  assert.equal(bad.ok, false);
  assert.equal(bad.loaded, false);
  assert.equal(bad.error.code, "UNSUPPORTED_MODEL");
  assert.deepEqual(bad.operators.filter((o) => !o.supported).map((o) => o.op).sort(), ["ai.onnx.ml:Imputer"]);
  assert.equal(pkg.Model.check(new Uint8Array([1, 2, 3])).error.code, "BAD_MODEL");
  assert.throws(() => pkg.Model.check(bytes, { inputs: { image: { data: [1], shape: [1], dtype: "bfloat16" } } }),
    (e) => e.code === "INVALID_ARGUMENT");
});

test("every error is an EdgeRegistryError with a code of the ErrorCode union, in every entry", async () => {
  const { EdgeRegistryError, Tensor } = pkg;
  const caught = (f) => { try { f(); } catch (e) { return e; } return null; };
  const fromWasm = caught(() => pkg.Model.fromBytes(new Uint8Array([1, 2, 3])));
  const fromTensor = caught(() => new Tensor("float32", ["x"]));
  for (const [e, code] of [[fromWasm, "BAD_MODEL"], [fromTensor, "INVALID_ARGUMENT"]]) {
    assert.ok(e instanceof EdgeRegistryError, String(e));
    assert.ok(e instanceof Error);
    assert.equal(e.name, "EdgeRegistryError");
    assert.equal(e.code, code);
  }
  // The class made by JS code: name, code, cause.
  const made = new EdgeRegistryError("ABORTED", "stopped", { cause: fromWasm });
  assert.deepEqual([made.name, made.code, made.message, made.cause], ["EdgeRegistryError", "ABORTED", "stopped", fromWasm]);
  // Errors rebuilt from a worker's message (plain Errors with the name and a code) count too;
  // other errors do not.
  const rebuilt = Object.assign(new Error("m"), { name: "EdgeRegistryError", code: "WORKER_FAILED" });
  assert.ok(rebuilt instanceof EdgeRegistryError);
  assert.ok(!(new Error("m") instanceof EdgeRegistryError));
  assert.ok(!(new TypeError("m") instanceof EdgeRegistryError));
  assert.ok(!(Object.assign(new Error("m"), { name: "EdgeRegistryError" }) instanceof EdgeRegistryError));
  // The Node entry and the resilient wrapper export the same classes as the glue.
  const dir = process.env.PKG_DIR ? new URL(`file://${process.env.PKG_DIR.replace(/\/?$/, "/")}`) : new URL("pkg/", root);
  const node = await import(new URL("node.js", dir));
  assert.equal(node.EdgeRegistryError, EdgeRegistryError);
  assert.equal(node.Tensor, Tensor);
  // resilient.js passes the plain JS classes through (it wraps only the module's classes); in a
  // child process, as it takes over the glue's instance.
  const script = `
    import { readFileSync } from "node:fs";
    import { resilientSync } from ${JSON.stringify(new URL("resilient.js", dir).href)};
    import * as glue from ${JSON.stringify(new URL("edge_registry.js", dir).href)};
    const lib = resilientSync({ module: readFileSync(new URL(glue.wasmFile, ${JSON.stringify(dir.href)})) });
    let e = null;
    try { lib.Model.fromBytes(new Uint8Array(3)); } catch (err) { e = err; }
    const t = new lib.Tensor("int8", [1, -1]);
    console.log(JSON.stringify([lib.Tensor === glue.Tensor, lib.EdgeRegistryError === glue.EdgeRegistryError,
      e instanceof lib.EdgeRegistryError, e?.code, t instanceof glue.Tensor]));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.deepEqual(JSON.parse(out), [true, true, true, "BAD_MODEL", true]);
  // The d.ts names every code: the core's (src/error.rs) and every code the JS wrappers raise.
  const dts = readFileSync(new URL("edge_registry.d.ts", dir), "utf8");
  const union = new Set([...dts.match(/export type ErrorCode =([^;]*);/)[1].matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]));
  const rust = [...readFileSync(new URL("src/error.rs", root), "utf8").matchAll(/^\s+[A-Z][A-Za-z]+ => "([A-Z][A-Z_]+)",$/gm)].map((m) => m[1]);
  assert.ok(rust.length > 40);
  const js = ["errors.js", "tensor.js", "resilient.js", "worker.js", "model-worker.js", "cache-api-store.js", "node.js", "deno.js", "workerd.js"]
    .flatMap((f) => [...readFileSync(new URL(`js/${f}`, root), "utf8").matchAll(/(?:coded\(|EdgeRegistryError\(|code = |code: |, )"([A-Z][A-Z_]{3,})"/g)].map((m) => m[1]));
  assert.ok(js.includes("INSTANCE_RESET") && js.includes("WORKER_FAILED"), js.join());
  for (const code of [...rust, ...js]) assert.ok(union.has(code), `${code} is missing from ErrorCode`);
  assert.match(dts, /export declare class EdgeRegistryError extends Error/);
});
