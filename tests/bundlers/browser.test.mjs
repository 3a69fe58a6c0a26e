// The package as an app's dependency, bundled for the browser: the app in tests/bundlers/app/
// (installed with the `npm pack` tarball of pkg/) is built with Vite (dev server and `vite
// build`), webpack 5 and esbuild, each with the config beside it, and opened in headless
// Chromium. The app loads digits@production from the sample registry through ModelWorker and
// runs it once in the worker, and initialises the package on the main thread; the outputs must
// be the model's (Node's run of the same file and onnxruntime's reference). The output sizes of
// each bundler are printed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { createServer as viteServer, build as viteBuild } from "vite";
import webpack from "webpack";
import * as esbuild from "esbuild";
import { launchOptions } from "../e2e/browser.mjs";
import { freePort, startServer } from "../js/helpers.mjs";
import { assertDigits, digitsReference, installApp, outputSizes, pkgDir, sizeLine, startRegistry } from "./helpers.mjs";

let app, registry, browser, ref;
before(async () => {
  app = installApp("app");
  registry = await startRegistry();
  browser = await chromium.launch(launchOptions());
  ref = await digitsReference();
});
after(async () => {
  await browser?.close();
  registry?.stop();
  app?.remove();
});

const wasmBytes = {
  simd: statSync(join(pkgDir, "edge_registry_bg.wasm")).size,
  "relaxed-simd": statSync(join(pkgDir, "edge_registry_relaxed_bg.wasm")).size,
};

/** Opens the app at `base` in a fresh browser context; resolves to its result, the workers the
 * page started and the requests made (the page's and its workers'). */
async function openApp(base) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const workers = [];
    const requests = [];
    const errors = [];
    page.on("worker", (w) => workers.push(w.url()));
    page.on("pageerror", (e) => errors.push(e.message));
    const bodies = [];
    page.on("response", (r) => {
      const entry = { url: r.url(), status: r.status(), length: null };
      requests.push(entry);
      // The size of each WebAssembly module the page or a worker loaded.
      if (/\.wasm$/.test(new URL(entry.url).pathname)) bodies.push(r.body().then((b) => { entry.length = b.length; }, () => {}));
    });
    await page.goto(`${base}?registry=${encodeURIComponent(registry.url)}`);
    // The Vite dev server may reload the page once while it pre-bundles; a locator waits across that.
    const done = page.locator("#result[data-done]");
    await done.waitFor({ timeout: 60000 });
    const result = JSON.parse(await done.textContent());
    await Promise.all(bodies);
    return { result, workers, requests, errors };
  } finally {
    await context.close();
  }
}

/** The app's run: the model's outputs, computed in a worker of the app's origin, from the module
 * the bundle emitted; and the package initialised on the main thread. */
function assertApp(run, origin) {
  assertDigits(run.result, ref);
  assert.deepEqual(run.errors, []);
  assert.ok(typeof run.result.lastRunMs === "number" && run.result.lastRunMs >= 0, `lastRunMs ${run.result.lastRunMs} (set by the worker)`);
  assert.ok(run.workers.some((u) => u.startsWith(origin)), `a worker of ${origin}: ${JSON.stringify(run.workers)}`);
  // The model came from the registry (verified in the worker), not from somewhere else.
  assert.ok(run.requests.some((r) => r.url.startsWith(registry.url) && /\.model\.onnx$/.test(r.url) && r.status === 200),
    "the model file was downloaded from the registry");
  // The main thread's module is the build its wasmVariant names, served by the app's server.
  const { version, wasmVariant } = run.result.mainThread;
  assert.equal(version, ref.version);
  const wasm = run.requests.filter((r) => r.url.startsWith(origin) && /\.wasm$/.test(new URL(r.url).pathname));
  assert.ok(wasm.length >= 1 && wasm.every((r) => r.status === 200), `wasm requests ${JSON.stringify(wasm)}`);
  assert.ok(wasm.every((r) => r.length === wasmBytes[wasmVariant]), `${wasmVariant}: ${JSON.stringify(wasm)}`);
  return `${wasmVariant} from ${wasm.map((r) => `${new URL(r.url).pathname} (${r.length} bytes)`).join(", ")}`;
}

/** Serves a bundler's output directory with `edge-registry serve` and opens the app there. */
async function openBuilt(dir) {
  const server = await startServer([dir]);
  try {
    const run = await openApp(`${server.url}/`);
    run.loaded = assertApp(run, server.url);
    return run;
  } finally {
    server.stop();
  }
}

test("Vite dev server: the app runs the model in the worker, with no optimizeDeps.exclude", async (t) => {
  const port = await freePort();
  const server = await viteServer({
    root: app.project, configFile: join(app.project, "vite.config.js"), logLevel: "error",
    server: { host: "127.0.0.1", port, strictPort: true },
  });
  try {
    await server.listen();
    const origin = `http://127.0.0.1:${port}`;
    const run = await openApp(`${origin}/`);
    const loaded = assertApp(run, origin);
    // The package went through Vite's dependency pre-bundling (the case optimizeDeps.exclude
    // would avoid), and the worker and the .wasm files still came from the package's files.
    assert.ok(run.requests.some((r) => r.url.includes("/node_modules/.vite/deps/edge-registry")), "edge-registry was pre-bundled");
    assert.ok(run.workers.some((u) => u.includes("/node_modules/edge-registry/worker.js")), JSON.stringify(run.workers));
    t.diagnostic(`vite dev: worker ${run.workers.join(", ")}; wasm ${loaded}`);
  } finally {
    await server.close();
  }
});

test("Vite production build (vite build, served from dist/)", async (t) => {
  const t0 = performance.now();
  await viteBuild({ root: app.project, configFile: join(app.project, "vite.config.js"), logLevel: "error" });
  const ms = Math.round(performance.now() - t0);
  const dist = join(app.project, "dist");
  const sizes = outputSizes(dist);
  assert.equal(sizes.wasmFiles.length, 2, "Vite emitted both WebAssembly builds");
  const run = await openBuilt(dist);
  t.diagnostic(`${sizeLine("vite", sizes)}; built in ${ms} ms; worker ${run.workers.join(", ")}; wasm ${run.loaded}`);
});

test("webpack 5 production build", async (t) => {
  const { default: config } = await import(pathToFileURL(join(app.project, "webpack.config.js")).href);
  const t0 = performance.now();
  const stats = await new Promise((resolve, reject) => webpack(config, (err, s) => (err ? reject(err) : resolve(s))));
  const ms = Math.round(performance.now() - t0);
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  assert.deepEqual([info.errors, info.warnings].map((l) => l.map((e) => e.message)), [[], []], "webpack errors and warnings");
  const dist = config.output.path;
  copyFileSync(join(app.project, "index.html"), join(dist, "index.html"));
  const sizes = outputSizes(dist);
  assert.equal(sizes.wasmFiles.length, 2, "webpack emitted both WebAssembly builds");
  const run = await openBuilt(dist);
  t.diagnostic(`${sizeLine("webpack", sizes)}; built in ${ms} ms; worker ${run.workers.join(", ")}; wasm ${run.loaded}`);
});

test("esbuild bundle", async (t) => {
  const { default: config } = await import(pathToFileURL(join(app.project, "esbuild.config.js")).href);
  const t0 = performance.now();
  const result = await esbuild.build({ ...config, logLevel: "silent" });
  const ms = Math.round(performance.now() - t0);
  assert.deepEqual([result.errors, result.warnings], [[], []]);
  const dist = join(app.project, config.outdir);
  const sizes = outputSizes(dist);
  assert.equal(sizes.wasmFiles.length, 2);
  const run = await openBuilt(dist);
  t.diagnostic(`${sizeLine("esbuild", sizes)}; built in ${ms} ms; worker ${run.workers.join(", ")}; wasm ${run.loaded}`);
});
