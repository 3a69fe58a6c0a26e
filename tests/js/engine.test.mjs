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
