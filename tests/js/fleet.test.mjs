// Fleet evaluation through the built package in Node: a committed test set split into parts
// ("devices"), each evaluated with `summary: true`, merged with `mergeReports`: every metric
// equals the single evaluation of the whole set within 1e-9. Mismatches throw typed errors;
// `epsilon` adds privacy noise and is recorded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadPkg, readJson, root } from "./helpers.mjs";

const pkg = await loadPkg();
const fixture = (p) => new URL(`tests/fixtures/models/${p}`, root).pathname;

function split(csv, k) {
  const [header, ...rows] = csv.trim().split("\n");
  const parts = [];
  let at = 0;
  const total = (k * (k + 1)) / 2;
  for (let j = 1; j <= k; j++) {
    const end = j === k ? rows.length : at + Math.floor((rows.length * j) / total);
    parts.push([header, ...rows.slice(at, end)].join("\n") + "\n");
    at = end;
  }
  return parts;
}

function withRegion(csv) {
  return csv.trim().split("\n").map((line, i) =>
    `${line},${i === 0 ? "region" : i % 7 === 0 ? "" : ["north", "south", "east"][i % 3]}`).join("\n") + "\n";
}

function close(got, want, path) {
  if (typeof want === "number" && typeof got === "number") {
    assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(got)), `${path}: merged ${got} vs pooled ${want}`);
  } else if (Array.isArray(want)) {
    assert.equal(got.length, want.length, `${path}: length`);
    want.forEach((w, i) => close(got[i], w, `${path}[${i}]`));
  } else if (want && typeof want === "object") {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${path}: keys`);
    for (const k of Object.keys(want)) close(got[k], want[k], `${path}.${k}`);
  } else {
    assert.equal(got, want, path);
  }
}

for (const dir of ["iris", "breast-cancer", "diabetes"]) {
  test(`${dir}: merged fleet report equals the pooled evaluation`, async () => {
    const card = readJson(`tests/fixtures/models/${dir}/card.json`);
    const model = pkg.Model.fromBytes(readFileSync(fixture(`${dir}/model.onnx`)), card);
    const data = withRegion(readFileSync(fixture(`${dir}/test.csv`), "utf8"));
    // One row per inference, so the devices' model outputs are bit for bit the pooled run's.
    const options = { summary: true, batchSize: 1, topK: [1, 2], slices: ["region", card.feature_names[0]] };
    const pooled = await model.evaluate(data, options);
    const parts = await Promise.all(split(data, 4).map((p) => model.evaluate(p, options)));
    const fleet = pkg.mergeReports(parts);
    assert.equal(fleet.reportFormat, "edge-registry-fleet-report");
    assert.equal(fleet.devices, 4);
    assert.equal(fleet.data.rowsUsed, pooled.data.rowsUsed);
    assert.deepEqual(fleet.approximate, []);
    close(fleet.results, pooled.results, "results");
    close(fleet.slices, pooled.slices, "slices");
    // Fleet reports merge again.
    assert.equal(pkg.mergeReports([fleet, fleet]).devices, 8);
  });
}

test("mergeReports refuses mismatched reports and reports without a summary", () => {
  const csv = "y,p_0,p_1\n0,0.8,0.2\n1,0.3,0.7\n1,0.6,0.4\n0,0.1,0.9\n";
  const opts = { label: "y", proba: ["p_0", "p_1"] };
  const a = pkg.evaluatePredictions(csv, { ...opts, summary: true });
  const b = pkg.evaluatePredictions(csv, { ...opts, summary: true, topK: [1] });
  const plain = pkg.evaluatePredictions(csv, opts);
  assert.equal(plain.summary, undefined);
  assert.throws(() => pkg.mergeReports([a, b]), (e) => e instanceof Error && e.code === "SUMMARY_MISMATCH");
  assert.throws(() => pkg.mergeReports([a, plain]), (e) => e.code === "BAD_SUMMARY");
  const noised = pkg.evaluatePredictions(csv, { ...opts, epsilon: 2 });
  assert.deepEqual(
    { mechanism: noised.summary.privacy.mechanism, epsilon: noised.summary.privacy.epsilon, perDevice: noised.summary.privacy.perDevice },
    { mechanism: "geometric+laplace", epsilon: 2, perDevice: true });
  const fleet = pkg.mergeReports([noised, pkg.evaluatePredictions(csv, { ...opts, epsilon: 2 })]);
  assert.equal(fleet.privacy.epsilon, 2);
  assert.throws(() => pkg.mergeReports([noised, a]), (e) => e.code === "SUMMARY_MISMATCH");
});
