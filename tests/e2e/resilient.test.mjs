// Crash recovery in Chromium, on the main thread (js/resilient.js) and in the Web Worker
// (js/worker.js through ModelWorker), with the test package (FEATURES=test-hooks, served at
// /pkg-test): a panic, an out-of-memory and a panic inside an async call each reject the call
// with INTERNAL_PANIC; the instance is re-created; a model keeps working (reloaded from its
// bytes); the page and the worker stay alive.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startServer } from "../js/helpers.mjs";
import { launchOptions } from "./browser.mjs";

const pkgTest = process.env.PKG_TEST_DIR || "target/pkg-test";
let server, browser, page;
const errors = [];
before(async () => {
  server = await startServer(["www", "--mount", `/pkg-test=${pkgTest}`, "--mount", "/fixtures=tests/fixtures"]);
  browser = await chromium.launch(launchOptions());
  page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.url}/`, { waitUntil: "domcontentloaded", timeout: 60000 });
});
after(async () => {
  await browser?.close();
  server?.stop();
});

test("main thread: panics, OOM and async panics reject with INTERNAL_PANIC; the model keeps working", async () => {
  const r = await page.evaluate(async () => {
    // The wrapper must not replace WebAssembly's globals, even for a moment: count attempts.
    const writes = [];
    for (const key of ["Instance", "instantiate", "instantiateStreaming"]) {
      const real = WebAssembly[key];
      Object.defineProperty(WebAssembly, key, { configurable: true, get: () => real, set: () => writes.push(key) });
    }
    const { loadResilient } = await import("/pkg-test/resilient.js");
    const lib = await loadResilient();
    const bytes = new Uint8Array(await (await fetch("/fixtures/models/iris/model.onnx")).arrayBuffer());
    const card = await (await fetch("/fixtures/models/iris/card.json")).json();
    const model = lib.Model.fromBytes(bytes, card);
    const feeds = () => ({ input: { data: new Float32Array([5.1, 3.5, 1.4, 0.2]), shape: [1, 4] } });
    const before = Array.from(model.runSync(feeds()).probabilities.data);
    const codes = [];
    for (const kind of ["panic", "oom"]) {
      try { lib.__testTrap(kind, `main ${kind}`); codes.push("no error"); } catch (e) { codes.push(`${e.code}: ${e.message}`); }
      // Crashes in a row: Chromium's main thread re-creates a large module asynchronously.
      await lib.ready();
    }
    let asyncCode = null;
    try { await lib.__testTrapAsync("panic", "main async"); } catch (e) { asyncCode = `${e.code}: ${e.message}`; }
    await lib.ready();
    const after = Array.from(model.runSync(feeds()).probabilities.data);
    return { codes, asyncCode, before, after, resets: lib.resets, version: lib.version(), writes };
  });
  assert.deepEqual(r.writes, [], "WebAssembly's globals were replaced");
  assert.match(r.codes[0], /^INTERNAL_PANIC: [^]*main panic/);
  assert.match(r.codes[1], /^INTERNAL_PANIC/);
  assert.match(r.asyncCode, /^INTERNAL_PANIC: [^]*main async/);
  assert.equal(r.resets, 3);
  assert.deepEqual(r.after, r.before);
  assert.match(r.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(errors, [], "no uncaught error reached the page");
});

test("worker: a crash rejects the call, the worker re-creates its instance and keeps its models", async () => {
  const r = await page.evaluate(async () => {
    const { ModelWorker } = await import("/pkg-test/model-worker.js");
    const resets = [];
    const worker = new ModelWorker(new URL("/pkg-test/worker.js", location.href), { onReset: (x) => resets.push(x) });
    const bytes = new Uint8Array(await (await fetch("/fixtures/models/iris/model.onnx")).arrayBuffer());
    const card = await (await fetch("/fixtures/models/iris/card.json")).json();
    const model = await worker.loadModel(bytes, card);
    const feeds = () => ({ input: { data: new Float32Array([6.7, 3.0, 5.2, 2.3]), shape: [1, 4] } });
    const first = Array.from((await model.run(feeds())).probabilities.data);
    const codes = [];
    for (const [kind, async] of [["panic", false], ["stack", false], ["panic", true]]) {
      try { await worker.testTrap(kind, `worker ${kind}`, { async }); codes.push("no error"); } catch (e) { codes.push(`${e.code}: ${e.message}`); }
    }
    const again = Array.from((await model.run(feeds())).probabilities.data);
    const count = await worker.resets();
    worker.terminate();
    return { codes, first, again, count, resets };
  });
  assert.match(r.codes[0], /^INTERNAL_PANIC: [^]*worker panic/);
  assert.match(r.codes[1], /^INTERNAL_PANIC/);
  assert.match(r.codes[2], /^INTERNAL_PANIC: [^]*worker panic/);
  assert.equal(r.count, 3);
  assert.equal(r.resets.length, 3);
  assert.deepEqual(r.again, r.first);
  assert.deepEqual(errors, []);
});
