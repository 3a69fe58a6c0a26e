// The package in a server bundle (SSR): the app in tests/bundlers/ssr/ (installed with the
// `npm pack` tarball of pkg/) imports `edge-registry`, which resolves to the Node entry, and is
// bundled with esbuild (platform node) and webpack 5 (target node), each with the config beside
// it. The output directory alone is copied elsewhere (no node_modules within reach) and run
// there with Node: it opens the sample registry, loads digits@production and runs it; the
// outputs must be Node's for the same model through pkg/node.js, bit for bit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import webpack from "webpack";
import * as esbuild from "esbuild";
import { assertDigits, digitsReference, installApp, outputSizes, sizeLine, startRegistry } from "./helpers.mjs";

let app, registry, ref;
before(async () => {
  app = installApp("ssr");
  registry = await startRegistry();
  ref = await digitsReference();
});
after(() => {
  registry?.stop();
  app?.remove();
});

/** Copies the bundle's directory out of the project and runs `file` there; resolves to the JSON
 * line it printed. */
async function runMoved(dist, file) {
  const away = mkdtempSync(join(tmpdir(), "edge-registry-ssr-run-"));
  try {
    cpSync(dist, away, { recursive: true });
    const { stdout } = await promisify(execFile)(process.execPath, [file, registry.url], { cwd: away, encoding: "utf8", timeout: 60000 });
    return JSON.parse(stdout.trim().split("\n").at(-1));
  } finally {
    rmSync(away, { recursive: true, force: true });
  }
}

function assertServerRun(result) {
  assertDigits(result, ref);
  // Bit for bit: the same build of the module (Node picks the same one) on the same input.
  assert.deepEqual(result.probabilities, ref.probabilities);
  assert.equal(result.wasmVariant, ref.wasmVariant);
}

test("esbuild server bundle (platform node, format esm) runs from its output directory", async (t) => {
  const { default: config } = await import(pathToFileURL(join(app.project, "esbuild.config.js")).href);
  const t0 = performance.now();
  const result = await esbuild.build({ ...config, logLevel: "silent" });
  const ms = Math.round(performance.now() - t0);
  assert.deepEqual([result.errors, result.warnings], [[], []]);
  const dist = join(app.project, config.outdir);
  assertServerRun(await runMoved(dist, "server.mjs"));
  t.diagnostic(`${sizeLine("esbuild (node)", outputSizes(dist))}; built in ${ms} ms`);
});

test("webpack 5 server bundle (target node) runs from its output directory", async (t) => {
  const { default: config } = await import(pathToFileURL(join(app.project, "webpack.config.js")).href);
  const t0 = performance.now();
  const stats = await new Promise((resolve, reject) => webpack(config, (err, s) => (err ? reject(err) : resolve(s))));
  const ms = Math.round(performance.now() - t0);
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  assert.deepEqual([info.errors, info.warnings].map((l) => l.map((e) => e.message)), [[], []], "webpack errors and warnings");
  const sizes = outputSizes(config.output.path);
  assert.equal(sizes.wasmFiles.length, 2, "webpack emitted both WebAssembly builds");
  assertServerRun(await runMoved(config.output.path, "server.cjs"));
  t.diagnostic(`${sizeLine("webpack (node)", sizes)}; built in ${ms} ms`);
});
