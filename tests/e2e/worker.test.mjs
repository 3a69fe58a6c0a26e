// The package's Web Worker wrapper in Chromium: a model loaded and run off the main thread,
// outputs equal to onnxruntime's, typed arrays moved with transfer lists, errors with codes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { readJson, startServer } from "../js/helpers.mjs";
import { launchOptions } from "./browser.mjs";

let server, browser, page;
before(async () => {
  server = await startServer(["www", "--mount", "/pkg=pkg", "--mount", "/fixtures=tests/fixtures"]);
  browser = await chromium.launch(launchOptions());
  page = await browser.newPage();
  await page.goto(`${server.url}/`, { waitUntil: "domcontentloaded", timeout: 60000 });
});
after(async () => {
  await browser?.close();
  server?.stop();
});

test("ModelWorker loads and runs digits-cnn off the main thread with transferred buffers", async () => {
  const expected = readJson("tests/fixtures/models/digits-cnn/expected.json").batch64;
  const result = await page.evaluate(async (expected) => {
    const { ModelWorker } = await import("/pkg/model-worker.js");
    const worker = new ModelWorker();
    const bytes = new Uint8Array(await (await fetch("/fixtures/models/digits-cnn/model.onnx")).arrayBuffer());
    const card = await (await fetch("/fixtures/models/digits-cnn/card.json")).json();
    // Copied unless asked: the caller's bytes and inputs stay usable; { transfer: true } moves them.
    const copied = await worker.loadModel(bytes, card);
    const bytesKept = bytes.byteLength > 0;
    const input = expected.inputs.input;
    const kept = Float32Array.from(input.data);
    const again = await copied.run({ input: { data: kept, shape: input.shape } });
    const inputKept = kept.byteLength > 0 && again.probabilities instanceof Object;
    const model = await worker.loadModel(bytes, card, { transfer: true });
    const data = Float32Array.from(input.data);
    const out = await model.run({ input: { data, shape: input.shape } }, { transfer: true });
    const ms = model.lastRunMs;
    const probs = out.probabilities;
    let maxErr = 0;
    for (let i = 0; i < probs.data.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(probs.data[i] - expected.outputs.probabilities.data[i]));
    }
    const labels = Array.from(out.label.data, Number);
    let code = null;
    try { await model.run({ input: { data: new Float32Array(3), shape: [1, 3] } }); } catch (e) { code = e.code; }
    // onnxruntime-web's shapes through the worker: Tensor in, Tensors out, errors of the one class.
    const { Tensor, EdgeRegistryError } = await import("/pkg/edge_registry.js");
    const viaTensor = { outputs: await model.run({ input: new Tensor("float32", Float32Array.from(input.data), input.shape) }) };
    let err = null;
    try { await model.run({ input: { type: "float32", data: [1, "x"], dims: [1, 2] } }); } catch (e) { err = e; }
    // float16 and int8 in Chromium, which has Float16Array.
    const dtypes = await worker.loadModel(new Uint8Array(await (await fetch("/fixtures/engine/dtypes.onnx")).arrayBuffer()));
    const typed = await dtypes.run({
      f32: new Tensor("float32", [1, 2], [1, 2]), f64: new Tensor("float64", [1, 2], [1, 2]),
      i32: new Tensor("int32", [1], [1]), i64: new Tensor("int64", [1], [1]), u8: new Tensor("uint8", [1, 2, 3], [1, 3]),
      b: new Tensor("bool", [true], [1]), f16: new Tensor("float16", [1.5, 0.1], [1, 2]), i8: new Tensor("int8", [-100], [1]),
    });
    const version = await worker.version();
    worker.terminate();
    return {
      maxErr, labels, shape: probs.shape, dtype: probs.dtype, isF32: probs.data instanceof Float32Array,
      inputDetached: data.byteLength === 0, bytesDetached: bytes.byteLength === 0, code, version,
      bytesKept, inputKept, ms, sameAsCopied: Array.from(again.probabilities.data).join() === Array.from(probs.data).join(),
      inputs: model.inputs,
      tensorOut: viaTensor.outputs.probabilities instanceof Tensor && Array.from(viaTensor.outputs.probabilities.data).join() === Array.from(probs.data).join(),
      error: { isClass: err instanceof EdgeRegistryError, code: err?.code, message: err?.message },
      f16: { cls: typed.f16_out.data.constructor.name, values: Array.from(typed.f16_out.data), type: typed.f16_out.type },
      i8: Array.from(typed.i8_out.data),
    };
  }, expected);
  assert.ok(result.maxErr <= 1e-5, `max abs error ${result.maxErr}`);
  assert.deepEqual(result.labels, expected.outputs.label.data);
  assert.deepEqual(result.shape, [64, 10]);
  assert.ok(result.tensorOut, "a Tensor input gives Tensor outputs equal to the older input shape's");
  assert.deepEqual(result.error, { isClass: true, code: "INVALID_ARGUMENT",
    message: 'input `input` element 1 is "x" (a string), not a finite float32 number' });
  // 0.1 is the float16 0.0999755859375, doubled exactly.
  assert.deepEqual(result.f16, { cls: "Float16Array", values: [3, 0.199951171875], type: "float16" });
  assert.deepEqual(result.i8, [100]);
  assert.equal(result.dtype, "float32");
  assert.ok(result.isF32);
  assert.ok(result.bytesKept && result.inputKept, "without { transfer: true } the caller's buffers are copied, not detached");
  assert.ok(result.sameAsCopied);
  assert.ok(result.inputDetached, "with { transfer: true } the input buffer was transferred, not copied");
  assert.ok(result.bytesDetached, "with { transfer: true } the model bytes were transferred, not copied");
  assert.ok(typeof result.ms === "number" && result.ms >= 0, `lastRunMs ${result.ms}`);
  assert.equal(result.code, "SCHEMA_MISMATCH");
  assert.match(result.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(result.inputs, [{ name: "input", dtype: "float32", shape: ["N", 1, 8, 8] }]);
});

test("ModelWorker: an aborted evaluation rejects at once and stops its work in the worker", async () => {
  const r = await page.evaluate(async () => {
    const { ModelWorker } = await import("/pkg/model-worker.js");
    const worker = new ModelWorker();
    const bytes = new Uint8Array(await (await fetch("/fixtures/models/digits-v1/model.onnx")).arrayBuffer());
    const card = await (await fetch("/fixtures/models/digits-v1/card.json")).json();
    const model = await worker.loadModel(bytes, card);
    const csv = await (await fetch("/fixtures/models/digits-v1/test.csv")).text();
    const [head, ...rows] = csv.trimEnd().split("\n");
    const big = [head, ...Array.from({ length: 200 }, () => rows).flat()].join("\n"); // 90,000 rows
    // The whole evaluation, for scale.
    let t0 = performance.now();
    const full = await model.evaluate(big);
    const fullMs = performance.now() - t0;
    const results = [];
    for (const data of [big, new Blob([big])]) {
      const ctl = new AbortController();
      let progress = 0;
      t0 = performance.now();
      const call = model.evaluate(data, { signal: ctl.signal, onProgress: () => { if (++progress === 1) ctl.abort(); } });
      let reason = null;
      try { await call; } catch (e) { reason = e.name; }
      const rejectedMs = performance.now() - t0;
      // The worker's evaluation yields to its event loop, so a cancelled one that went on would
      // share the worker with the next call: a second whole evaluation would then take about
      // twice as long.
      t0 = performance.now();
      await model.evaluate(big);
      results.push({ reason, rejectedMs, nextMs: performance.now() - t0, progress });
    }
    // A registry call aborted before it starts rejects at once with the reason.
    let pre = null;
    try { await model.evaluate(big, { signal: AbortSignal.abort(new Error("early")) }); } catch (e) { pre = e.message; }
    worker.terminate();
    return { fullMs, rows: full.data.rowsUsed, results, pre };
  });
  assert.equal(r.rows, 90000);
  assert.equal(r.pre, "early");
  for (const x of r.results) {
    assert.equal(x.reason, "AbortError");
    assert.ok(x.rejectedMs < r.fullMs / 2, `rejected ${x.rejectedMs} ms after the call (whole evaluation ${r.fullMs} ms)`);
    assert.ok(x.nextMs < 1.5 * r.fullMs, `the next evaluation took ${x.nextMs} ms (alone ${r.fullMs} ms)`);
  }
  console.log(`# worker cancel: whole evaluation ${r.fullMs.toFixed(0)} ms; aborted ones rejected after ${r.results.map((x) => x.rejectedMs.toFixed(0)).join(" / ")} ms, the next whole evaluation took ${r.results.map((x) => x.nextMs.toFixed(0)).join(" / ")} ms (string / Blob)`);
});
