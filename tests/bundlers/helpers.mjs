// Shared by the bundler tests: the package packed (`npm pack` of pkg/) and installed into a
// temporary project beside a test app, the sample registry's digits model as reference, and the
// sizes of a bundler's output.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { root, startServer } from "../js/helpers.mjs";

export const pkgDir = fileURLToPath(process.env.PKG_DIR
  ? new URL(`file://${process.env.PKG_DIR.replace(/\/?$/, "/")}`) : new URL("pkg/", root));
const registryDir = fileURLToPath(new URL("target/sample-registry/", root));

const npm = (args, cwd) => execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8" });

/**
 * A temporary project holding the files of tests/bundlers/<app>/ and the package installed from
 * its `npm pack` tarball (offline: it has no dependencies), as an app depending on `edge-registry`
 * would have it. The bundlers themselves come from the repository's node_modules. `remove()`
 * deletes it (kept when KEEP_BUNDLER_APPS is set).
 */
export function installApp(app) {
  const dir = mkdtempSync(join(tmpdir(), `edge-registry-${app}-`));
  const remove = () => { if (!process.env.KEEP_BUNDLER_APPS) rmSync(dir, { recursive: true, force: true }); };
  const [packed] = JSON.parse(npm(["pack", pkgDir, "--pack-destination", dir, "--json"], dir));
  const project = join(dir, "app");
  cpSync(fileURLToPath(new URL(`${app}/`, import.meta.url)), project, { recursive: true });
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: `bundler-${app}`, private: true, type: "module" }));
  npm(["install", "--offline", join(dir, packed.filename)], project);
  return { project, remove };
}

/** `edge-registry serve` on the sample registry (scripts/build-sample-registry), with CORS for
 * the Vite dev server's origin. */
export function startRegistry() {
  assert.ok(statSync(join(registryDir, "trusted-root.json"), { throwIfNoEntry: false }),
    "no sample registry: run scripts/build-sample-registry");
  return startServer([registryDir, "--cors"]);
}

/** The digit every app runs (tests/fixtures/models/digits-v1/expected.json, batch1), the outputs
 * onnxruntime gave for it, and the same model (the registry's digits@production file) run in
 * Node through pkg/node.js. */
export async function digitsReference() {
  const expected = JSON.parse(readFileSync(new URL("tests/fixtures/models/digits-v1/expected.json", root), "utf8")).batch1;
  const aliases = JSON.parse(readFileSync(join(registryDir, "targets/models/digits/aliases.json"), "utf8"));
  const version = aliases.aliases?.production;
  assert.ok(version, `no production alias in ${JSON.stringify(aliases)}`);
  const bytes = readFileSync(join(registryDir, `targets/models/digits/${version}/model.onnx`));
  const lib = await import(join(pkgDir, "node.js"));
  const model = await lib.Model.create(bytes);
  const out = await model.run({ input: new lib.Tensor("float32", Float32Array.from(expected.inputs.input.data), [1, 64]) });
  return {
    sha256: lib.sha256Hex(bytes),
    version: lib.version(),
    wasmVariant: lib.wasmVariant,
    label: Array.from(out.label.data, Number),
    probabilities: Array.from(out.probabilities.data),
    expected: { label: expected.outputs.label.data, probabilities: expected.outputs.probabilities.data },
  };
}

/** Asserts an app's result is the digits model's run on the reference digit: the same model
 * (sha256), label, and probabilities within `tol` of both Node's run and onnxruntime's (1e-5
 * covers the relaxed-SIMD build's fused multiply-adds in Chromium). */
export function assertDigits(result, ref, tol = 1e-5) {
  assert.equal(result.ok, true, `the app failed: ${JSON.stringify(result)}`);
  assert.equal(result.sha256, ref.sha256);
  assert.equal(result.version, ref.version);
  assert.deepEqual(result.label, ref.label);
  assert.deepEqual(result.label, ref.expected.label);
  assert.deepEqual(result.dims, [1, 10]);
  assert.equal(result.tensor, true, "outputs are the package's Tensor class");
  for (const [name, want] of [["node", ref.probabilities], ["onnxruntime", ref.expected.probabilities]]) {
    assert.equal(result.probabilities.length, want.length);
    const err = Math.max(...want.map((w, i) => Math.abs(result.probabilities[i] - w)));
    assert.ok(err <= tol, `max abs error against ${name}: ${err}`);
  }
}

/** Bytes of a bundler's output directory by kind: JavaScript, WebAssembly (with the file names),
 * and JavaScript gzipped. */
export function outputSizes(dir) {
  const sizes = { js: 0, jsGzip: 0, wasm: 0, wasmFiles: [], other: 0 };
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) { walk(p); continue; }
      const bytes = statSync(p).size;
      const ext = extname(e.name);
      if ([".js", ".mjs", ".cjs"].includes(ext)) {
        sizes.js += bytes;
        sizes.jsGzip += gzipSync(readFileSync(p), { level: 9 }).length;
      } else if (ext === ".wasm") {
        sizes.wasm += bytes;
        sizes.wasmFiles.push(`${relative(dir, p)} ${bytes}`);
      } else if (ext !== ".map") {
        sizes.other += bytes;
      }
    }
  };
  walk(dir);
  return sizes;
}

export function sizeLine(name, s) {
  return `${name}: JS ${s.js} bytes (${s.jsGzip} gzip -9), wasm ${s.wasm} bytes in ${s.wasmFiles.length} files (${s.wasmFiles.join(", ")})`;
}
