// The smallest models of the real-model zoo through the package in Node: each loaded once and
// run at both committed input sizes, matching onnxruntime (tests/fixtures/zoo/) within 1e-3 of
// each output's scale; and Model.check on one of them. scripts/test fetches the models
// (scripts/zoo/zoo.py fetch --only ...) into target/zoo/models/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadPkg, readJson, root } from "./helpers.mjs";
import { feeds } from "../../scripts/zoo/zoo_core.mjs";

const pkg = await loadPkg();
const models = ["surfaces-tree-classifier", "surfaces-mlp-regressor", "magika-v3-3", "silero-vad-v5-npm"];
const bytes = (name) => readFileSync(new URL(`target/zoo/models/${name}.onnx`, root));

function relativeError(got, want) {
  const w = Array.from(want.data, Number);
  const g = Array.from(got.data, Number);
  assert.deepEqual(got.shape, want.shape);
  const scale = Math.max(1, ...w.map(Math.abs));
  return Math.max(0, ...g.map((x, i) => Math.abs(x - w[i]))) / scale;
}

test("the smallest zoo models match onnxruntime at two sizes from one load", () => {
  for (const name of models) {
    const model = pkg.Model.fromBytes(bytes(name));
    for (const c of ["", "_alt"]) {
      const out = model.runSync(feeds(readJson(`tests/fixtures/zoo/${name}/input${c}.json`)));
      const expected = feeds(readJson(`tests/fixtures/zoo/${name}/expected${c}.json`));
      for (const [k, want] of Object.entries(expected)) {
        const rel = relativeError(out[k], want);
        assert.ok(rel <= 1e-3, `${name}${c} ${k}: relative error ${rel}`);
      }
    }
    model.free();
  }
});

test("Model.check on a real voice-activity model: per-shape plan, If on the sample rate", () => {
  const name = "silero-vad-v5-npm";
  const report = pkg.Model.check(bytes(name), {
    inputs: feeds(readJson(`tests/fixtures/zoo/${name}/input.json`)),
    expected: feeds(readJson(`tests/fixtures/zoo/${name}/expected.json`)),
    repeat: 2,
  });
  assert.equal(report.ok, true, JSON.stringify(report.run));
  assert.equal(report.plan.kind, "per-shape");
  assert.ok(report.operators.some((o) => o.op === "If" && o.count > 1));
  assert.ok(report.run.steadyMs > 0);
});
