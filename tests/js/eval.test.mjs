// Local evaluation through the built package in Node, checked against the native CLI on the
// same input: the reports agree field for field apart from the runtime section (time, runtime
// name, latency). Model outputs are compared with a tolerance (tract's native and wasm SIMD
// kernels may round the last bit differently); everything else must be identical. Scoring
// predictions made elsewhere (no model) gives byte-identical reports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertClose, loadPkg, readJson, root } from "./helpers.mjs";

const pkg = await loadPkg();
const bin = process.env.EDGE_REGISTRY_BIN || new URL("target/debug/edge-registry", root).pathname;
const fixture = (p) => new URL(`tests/fixtures/models/${p}`, root).pathname;

function cli(args) {
  const out = join(mkdtempSync(join(tmpdir(), "er-eval-")), "report.json");
  execFileSync(bin, ["eval", ...args, "--out", out], { stdio: ["ignore", "ignore", "inherit"] });
  return JSON.parse(readFileSync(out, "utf8"));
}

test("digits v1 vs v2 on the committed test set: Node report equals the CLI report", async () => {
  const want = cli(["--model", fixture("digits-v1/model.onnx"), "--card", fixture("digits-v1/card.json"),
    "--against", fixture("digits-v2/model.onnx"), "--against-card", fixture("digits-v2/card.json"),
    "--data", fixture("digits-v1/test.csv")]);
  const load = (dir) => pkg.Model.fromBytes(readFileSync(fixture(`${dir}/model.onnx`)), readJson(`tests/fixtures/models/${dir}/card.json`));
  const v1 = load("digits-v1");
  const v2 = load("digits-v2");
  const progress = [];
  const report = await v1.compare(v2, readFileSync(fixture("digits-v1/test.csv")), { onProgress: (p) => progress.push(p) });
  // The JS report is the CLI's document with camelCase keys; reportDocument gives the document.
  assert.equal(report.reportFormat, "edge-registry-eval-report");
  assert.deepEqual(report.results.classification.confusionMatrix, want.results.classification.confusion_matrix);
  assert.ok(Object.keys(report.data).every((k) => !k.includes("_")), Object.keys(report.data).join());
  const got = pkg.reportDocument(report);
  assert.equal(got.runtime.runtime, "node");
  assert.equal(want.runtime.runtime, "native");
  delete got.runtime;
  delete want.runtime;
  // Labels, counts, digests, confusion matrices, McNemar: exact. Probability-based metrics: 1e-6.
  assert.deepEqual(got.results.classification.confusion_matrix, want.results.classification.confusion_matrix);
  assert.deepEqual(got.comparison.mcnemar, want.comparison.mcnemar);
  assert.deepEqual(got.data, want.data);
  assertClose(got, want, 1e-6);
  const bins = (r) => r.results.calibration.top_label.bins.reduce((a, b) => a + b.count, 0);
  assert.equal(bins(got), bins(want));
  assert.equal(got.results.classification.accuracy, readJson("tests/fixtures/models/digits-v1/card.json").metrics.accuracy);
  assert.ok(progress.length >= 1 && progress.at(-1).rowsUsed === 450);
});

test("streaming evaluation in uneven chunks equals the one-shot report", async () => {
  const bytes = readFileSync(fixture("breast-cancer/test.csv"));
  const model = pkg.Model.fromBytes(readFileSync(fixture("breast-cancer/model.onnx")), readJson("tests/fixtures/models/breast-cancer/card.json"));
  const whole = await model.evaluate(bytes, { slices: ["mean radius"] });
  const ev = model.evaluation({ slices: ["mean radius"] });
  for (let i = 0, step = 1; i < bytes.length; i += step, step = (step * 7) % 4093 + 1) ev.push(bytes.subarray(i, i + step));
  const streamed = ev.finish();
  delete whole.runtime;
  delete streamed.runtime;
  assert.deepEqual(streamed, whole);
  assert.equal(whole.slices[0].column, "mean radius");
  assert.throws(() => ev.finish(), (e) => e.code === "INVALID_STATE");
});

test("evaluatePredictions equals `edge-registry eval --predictions`", () => {
  const dir = mkdtempSync(join(tmpdir(), "er-preds-"));
  const rows = ["y,p_0,p_1,region"];
  for (let i = 0; i < 500; i++) {
    const p = ((i * 7919) % 1000) / 1000;
    rows.push(`${(i * 31) % 3 === 0 ? 1 : 0},${(1 - p).toFixed(3)},${p.toFixed(3)},${["north", "south"][i % 2]}`);
  }
  rows.splice(10, 0, "1,abc,0.5,north"); // a bad row
  const csv = rows.join("\n") + "\n";
  const file = join(dir, "preds.csv");
  writeFileSync(file, csv);
  const want = cli(["--predictions", file, "--label", "y", "--proba", "p_0,p_1", "--slice", "region"]);
  const got = pkg.reportDocument(pkg.evaluatePredictions(csv, { label: "y", proba: ["p_0", "p_1"], slices: ["region"] }));
  delete got.runtime;
  delete want.runtime;
  assert.deepEqual(got, want);
  assert.equal(got.data.rows_skipped, 1);
  assert.throws(() => pkg.evaluatePredictions(csv, { label: "y" }), (e) => e.code === "INVALID_ARGUMENT");
  assert.throws(() => pkg.evaluatePredictions(csv, { label: "nope", proba: ["p_0", "p_1"] }), (e) => e instanceof Error && typeof e.code === "string");
});


test("a rich report (slices, drift against a profile, gates, comparison) has field names only as keys: camelCase in JS, the CLI's document through reportDocument", async () => {
  const dir = mkdtempSync(join(tmpdir(), "er-rich-"));
  const profile = join(dir, "profile.json");
  execFileSync(bin, ["profile", fixture("digits-v1/train.csv"), "--out", profile], { stdio: ["ignore", "ignore", "inherit"] });
  const want = cli(["--model", fixture("digits-v1/model.onnx"), "--card", fixture("digits-v1/card.json"),
    "--against", fixture("digits-v2/model.onnx"), "--against-card", fixture("digits-v2/card.json"),
    "--data", fixture("digits-v1/test.csv"), "--slice", "pixel_0_2", "--profile", profile, "--gate", "accuracy>=0.5"]);
  const load = (d) => pkg.Model.fromBytes(readFileSync(fixture(`${d}/model.onnx`)), readJson(`tests/fixtures/models/${d}/card.json`));
  const report = await load("digits-v1").compare(load("digits-v2"), readFileSync(fixture("digits-v1/test.csv")), {
    slices: ["pixel_0_2"], profile: readFileSync(profile, "utf8"), gates: [{ metric: "accuracy", min: 0.5 }],
  });
  const keys = new Set();
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) { keys.add(k); walk(x); }
  };
  walk(report);
  // Column names (pixel_0_2), labels and slice values appear only as values.
  assert.ok(report.slices.length === 1 && report.drift.columns.length > 0 && report.gates && report.comparison);
  assert.deepEqual([...keys].filter((k) => !/^[a-z][a-zA-Z0-9]*(_[0-9][a-zA-Z0-9]*)*$/.test(k)), []);
  assert.ok(keys.has("rowsUsed") && keys.has("datasetDrift") && !keys.has("rows_used"));
  const got = pkg.reportDocument(report);
  delete got.runtime;
  delete want.runtime;
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  assert.deepEqual(got.drift, want.drift);
  assert.deepEqual(got.slices.map((s) => [s.column, s.slices.length]), want.slices.map((s) => [s.column, s.slices.length]));
  assertClose(got, want, 1e-6);
});

test("names from the data (columns, classes, slice values) stay values: no report key is made from them", () => {
  const dir = mkdtempSync(join(tmpdir(), "er-names-"));
  const rows = ["true_label,p_cat_a,p_cat_b,home_region,size_cm"];
  for (let i = 0; i < 300; i++) {
    const p = ((i * 7919) % 1000) / 1000;
    rows.push(`${(i * 31) % 3 === 0 ? "cat_b" : "cat_a"},${(1 - p).toFixed(3)},${p.toFixed(3)},${["north_side", "south_side"][i % 2]},${i % 17}`);
  }
  const csv = rows.join("\n") + "\n";
  const file = join(dir, "preds.csv");
  writeFileSync(file, csv);
  const profile = join(dir, "profile.json");
  execFileSync(bin, ["profile", file, "--out", profile], { stdio: ["ignore", "ignore", "inherit"] });
  const options = { label: "true_label", proba: ["p_cat_a", "p_cat_b"], classes: ["cat_a", "cat_b"], slices: ["home_region"], profile: readFileSync(profile, "utf8") };
  const report = pkg.evaluatePredictions(csv, options);
  const keys = new Set();
  const values = new Set();
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) { keys.add(k); walk(x); }
    else if (typeof v === "string") values.add(v);
  };
  walk(report);
  for (const name of ["true_label", "cat_a", "home_region", "north_side", "p_cat_a"]) {
    assert.ok(values.has(name), `${name} is in the report as a value`);
    assert.ok(!keys.has(name) && !keys.has(name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())), `${name} became a key`);
  }
  const want = cli(["--predictions", file, "--label", "true_label", "--proba", "p_cat_a,p_cat_b", "--classes", "cat_a,cat_b",
    "--slice", "home_region", "--profile", profile]);
  const got = pkg.reportDocument(report);
  delete got.runtime;
  delete want.runtime;
  assert.deepEqual(got, want);
});
