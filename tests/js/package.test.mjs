// The package as npm would publish it: `npm pack` of pkg/, installed from the tarball into an
// empty project (no network: the tarball has no dependencies), imported there by its name in
// Node (the "node" export condition) and type-checked with `tsc --strict` through every entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { root } from "./helpers.mjs";

const pkgDir = fileURLToPath(process.env.PKG_DIR ? new URL(`file://${process.env.PKG_DIR.replace(/\/?$/, "/")}`) : new URL("pkg/", root));
const npm = (args, cwd) => execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd, encoding: "utf8" });

test("npm pack of pkg/ installs into an empty project, runs a model there and type-checks every entry", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "edge-registry-pack-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [packed] = JSON.parse(npm(["pack", pkgDir, "--pack-destination", dir, "--json"], dir));
  const files = packed.files.map((f) => f.path).sort();
  // Every entry, its types and both modules; nothing else (no snippets, no stray build files).
  const want = ["README.md", "package.json", "edge_registry.js", "edge_registry.d.ts", "edge_registry_bg.wasm",
    "edge_registry_bg.wasm.d.ts", "edge_registry_relaxed_bg.wasm", "node.js", "node.d.ts", "deno.js", "deno.d.ts",
    "workerd.js", "workerd.d.ts", "model-worker.js", "model-worker.d.ts", "worker.js", "resilient.js", "resilient.d.ts",
    "cache-api-store.js", "cache-api-store.d.ts", "tensor.js", "tensor.d.ts", "errors.js", "errors.d.ts",
    "adapters.js", "adapters.d.ts", "file-store.js", "file-store.d.ts", "report.js", "report.d.ts",
    "attest.js", "attest.d.ts"].sort();
  assert.deepEqual(files, want);
  const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  for (const [entry, target] of Object.entries(manifest.exports)) {
    if (typeof target === "string") continue;
    const conditions = entry === "." ? Object.values(target) : [target];
    for (const c of conditions) {
      assert.ok(files.includes(c.types.slice(2)) && files.includes(c.default.slice(2)), `${entry}: ${JSON.stringify(c)}`);
    }
  }
  assert.equal(manifest.license, "MIT OR Apache-2.0");
  assert.ok(manifest.engines.node && manifest.repository.url && manifest.sideEffects.includes("./edge_registry.js"));

  const app = join(dir, "app");
  execFileSync("mkdir", [app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  npm(["install", "--offline", join(dir, packed.filename)], app);
  copyFileSync(fileURLToPath(new URL("tests/fixtures/models/iris/model.onnx", root)), join(app, "iris.onnx"));
  writeFileSync(join(app, "main.js"), `
    import { Model, Tensor, EdgeRegistryError, version, wasmVariant } from "edge-registry";
    import { readFileSync } from "node:fs";
    const model = await Model.create(readFileSync("iris.onnx"));
    const out = await model.run({ input: new Tensor("float32", [5.1, 3.5, 1.4, 0.2], [1, 4]) });
    let code = null;
    try { await model.run({ input: new Tensor("float32", [1, 2], [1, 2]) }); } catch (e) { code = e instanceof EdgeRegistryError && e.code; }
    console.log(JSON.stringify({ version: version(), wasmVariant, label: Number(out.label.data[0]), tensor: out.probabilities instanceof Tensor, code }));
  `);
  const ran = JSON.parse(execFileSync(process.execPath, ["main.js"], { cwd: app, encoding: "utf8" }));
  assert.deepEqual(ran, { version: manifest.version, wasmVariant: "simd", label: 0, tensor: true, code: "SCHEMA_MISMATCH" });

  // Types: a strict TypeScript program using every entry, resolved through the package's exports.
  writeFileSync(join(app, "typed.ts"), `
    import init, { Model, Tensor, EdgeRegistryError, Registry, verifyModelSignature, fetchSigstoreTrustedRoot, type ErrorCode } from "edge-registry";
    import * as nodeEntry from "edge-registry/node.js";
    import * as denoEntry from "edge-registry/deno.js";
    import { cacheApiStore, resilient } from "edge-registry/workerd.js";
    import { ModelWorker, type WorkerModel } from "edge-registry/model-worker.js";
    import { loadResilient } from "edge-registry/resilient.js";
    import { Tensor as T2 } from "edge-registry/tensor.js";
    import { EdgeRegistryError as E2 } from "edge-registry/errors.js";
    import { verifiedBytes, registryCache } from "edge-registry/adapters.js";
    import { fileStore } from "edge-registry/file-store.js";
    import type { ProgressInfo, EvalProgress, CatalogueChanges, TensorData } from "edge-registry";
    import { reportDocument } from "edge-registry";
    import { reportDocument as doc2 } from "edge-registry/report.js";
    import { generateAttestationKey, createAttestation, verifyAttestation as verifyAtt } from "edge-registry/attest.js";
    export async function main(bytes: Uint8Array, cache: Cache): Promise<number> {
      await init();
      const model: Model = await Model.create(bytes);
      const out = await model.run({ input: new Tensor("float32", new Float32Array(4), [1, 4]) });
      const dims: readonly number[] = out.probabilities.dims;
      const half: TensorData = new Float16Array([1.5, 0.1]);
      const halfOut = await model.run({ h: new Tensor("float16", half, [1, 2]) });
      const sync = model.runSync({ input: { type: "float32", data: [1, 2, 3, 4], dims: [1, 4] } });
      const registry = await Registry.open({ url: "https://example.invalid/r", trustedRoot: "{}", cache: cacheApiStore(cache),
        retry: { retries: 2, stallTimeoutMs: 10000 }, signal: AbortSignal.timeout(60000) });
      const ctl = new AbortController();
      const onProgress = (p: ProgressInfo) => console.log(p.phase, p.status, p.file, p.loaded, p.total, p.attempt);
      const { changes } = await registry.refresh({ onProgress, signal: ctl.signal });
      const moved: CatalogueChanges["aliases"] = changes.aliases;
      const ready: boolean = await registry.cache.has("digits@production");
      const pre = await registry.cache.prefetch("digits@production", { onProgress, signal: ctl.signal });
      const loaded = await registry.load("digits", { verifyGate: true, onProgress, signal: ctl.signal });
      const report = await loaded.evaluate("a,b\\n1,2\\n", { signal: ctl.signal, onProgress: (p) => console.log(p.phase, (p as EvalProgress).rowsRead) });
      const fromSync = loaded.evaluateSync("a,b\\n1,2\\n");
      const doc: Record<string, any> = reportDocument(fromSync);
      const ortBytes: Uint8Array = await verifiedBytes(registry, "digits");
      const hub = registryCache(registry, { "https://hub.invalid/m.onnx": "digits" });
      const hit: Response | undefined = await hub.match("https://hub.invalid/m.onnx");
      const files = await Registry.open({ url: "https://example.invalid/r", trustedRoot: "{}", cache: nodeEntry.fileStore("/tmp/x") });
      const fs2 = fileStore(new URL("file:///tmp/y"), { private: true });
      console.log(moved, ready, pre.source, report, fromSync, doc, doc2, ortBytes.length, hit?.status, files, fs2.dir, loaded.fetched?.source);
      const attKeys: CryptoKeyPair = await generateAttestationKey();
      const envelope = await createAttestation(fromSync, attKeys, { dataName: "a.csv" });
      const attested = await verifyAtt(envelope, attKeys, { registry, threshold: 1 });
      console.log(envelope.signatures[0].keyid, attested.keyids, attested.models?.[0]?.signedBy, attested.statement.subject[0].digest.sha256);
      const worker = new ModelWorker();
      const wreg = await worker.openRegistry({ url: "https://example.invalid/r", trustedRoot: "{}" });
      const wmodel = await wreg.load("digits", { verifyGate: true, onProgress, signal: ctl.signal, requireModelSignature: { key: "pem" } });
      const signedBy = verifyModelSignature(new Uint8Array(1), "{}", { identity: "a@example.com", issuer: "https://example.com" });
      const wsigned = await worker.verifyModelSignature({ "a.onnx": new Uint8Array(1) }, new Uint8Array(1), { ca: ["pem"] });
      const strict = await Registry.open({ url: "https://example.invalid/r", trustedRoot: "{}", requireModelSignature: { key: new Uint8Array(1) } });
      const sigLoad = await strict.load("digits", { requireModelSignature: { ca: "pem" } });
      const sigRoot: Uint8Array = await fetchSigstoreTrustedRoot({ url: "https://example.invalid", now: new Date() });
      verifyModelSignature(new Uint8Array(1), "{}", { identity: "a", issuer: "b", trustedRoot: sigRoot });
      console.log(signedBy.manifest.resources[0].sha256, signedBy.logIndex, wsigned.method, sigLoad.fetched?.modelSignature?.identity);
      const wbytes = (await wreg.fetchModel("digits", { signal: ctl.signal })).bytes;
      const duel = await wreg.compare("digits@1", "digits@2", new Blob(["a"]), { signal: ctl.signal });
      console.log(wmodel.gates, wbytes.length, duel, await wreg.cache.has("digits"), (await wreg.cache.prefetch("digits")).length);
      const remote: WorkerModel = await worker.loadModel(bytes);
      const outputs: Record<string, T2> = await remote.run({ input: new T2("float32", [1, 2, 3, 4], [1, 4]) }, { transfer: true });
      const ms = remote.lastRunMs ?? 0;
      const lib = await loadResilient();
      const wrapped = resilient(nodeEntry);
      const recovered: boolean = lib.recoverFrom(new Error("x"));
      console.log(recovered);
      try { model.runSync({}); } catch (e) {
        if (e instanceof EdgeRegistryError || e instanceof E2) { const code: ErrorCode = e.code; console.log(code); }
      }
      console.log(registry, sync, outputs, lib.resets, wrapped.resets, denoEntry.version(), halfOut);
      return dims.length + ms;
    }
  `);
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "esnext", moduleResolution: "bundler", lib: ["esnext", "dom"], skipLibCheck: false },
    files: ["typed.ts"],
  }));
  const tsc = fileURLToPath(new URL("node_modules/typescript/bin/tsc", root));
  try {
    execFileSync(process.execPath, [tsc, "-p", app], { encoding: "utf8" });
  } catch (e) {
    assert.fail(`tsc --strict failed:\n${e.stdout}${e.stderr}`);
  }
  console.log(`npm pack: ${packed.filename}, ${files.length} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`);
});
