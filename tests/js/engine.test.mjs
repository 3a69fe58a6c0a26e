// The Model class of the built package (release, SIMD) in Node: every committed model's
// outputs equal onnxruntime's at batch 1 and 64, typed arrays in and out, errors with codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
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

test("every committed model matches onnxruntime (max abs error 1e-5) at batch 1 and 64", () => {
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
      for (const [name, t] of Object.entries(expected[batch].inputs)) feeds[name] = { data: typed(t), shape: t.shape };
      const out = model.run(feeds);
      for (const [name, want] of Object.entries(expected[batch].outputs)) {
        const got = out[name];
        assert.deepEqual(got.shape, want.shape, `${m.dir} ${name}`);
        assert.equal(got.dtype, want.dtype);
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
  const out = model.run({ input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } });
  assert.equal(out.label.data[0], 0n);
  assert.ok(Math.abs(out.probabilities.data.reduce((a, b) => a + b, 0) - 1) < 1e-5);
});

test("errors are Error objects with stable codes", () => {
  const bytes = readFileSync(new URL("tests/fixtures/models/digits-v1/model.onnx", root));
  assert.throws(() => pkg.Model.fromBytes(new Uint8Array([1, 2, 3])), (e) => e instanceof Error && e.code === "BAD_MODEL");
  assert.throws(() => pkg.Model.fromBytes(readFileSync(new URL("tests/fixtures/engine/unsupported.onnx", root))),
    (e) => e.code === "UNSUPPORTED_MODEL" && /Imputer/.test(e.message));
  const model = pkg.Model.fromBytes(bytes);
  assert.throws(() => model.run({ input: { data: new Float64Array(64), shape: [1, 64] } }),
    (e) => e.code === "SCHEMA_MISMATCH" && /expected input: float32\[N, 64\]/.test(e.message));
  assert.throws(() => model.run({ input: { data: new Float32Array(64), shape: [1, -64] } }), (e) => e.code === "INVALID_ARGUMENT");
  assert.throws(() => model.run({ nope: { data: new Float32Array(64), shape: [1, 64] } }), (e) => e.code === "SCHEMA_MISMATCH");
  assert.throws(() => model.run("not an object"), (e) => e.code === "INVALID_ARGUMENT");
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
  const a = model.run(feeds()), b = sync.run(feeds());
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
    const out = model.run({ image: { data: Float32Array.from(t.data), shape: t.shape } });
    const want = c.expected.features;
    assert.deepEqual(out.features.shape, want.shape);
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
  assert.throws(() => pkg.Model.check(bytes, { inputs: { image: { data: [1], shape: [1], dtype: "float16" } } }),
    (e) => e.code === "INVALID_ARGUMENT");
});
