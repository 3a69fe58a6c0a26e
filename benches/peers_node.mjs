// The Node and native-process half of the peer benchmarks (scripts/bench-peers):
//   - inference in Node: our package (pkg/, wasm SIMD) and onnxruntime-node (native, one
//     intra-op and one inter-op thread), benches/peers_core.mjs; then the real-model zoo;
//   - our native CLI's first run: `edge-registry run` of each model on its batch-1 input (the
//     whole process: start, load, one inference, JSON out), outputs checked within 1e-4;
//   - native SHA-256 of the 50 MB model: `edge-registry verify --no-load` of the bench registry
//     (the whole process: TUF metadata, then the target's length and SHA-256 from disk) and
//     coreutils `sha256sum` of the same file, as a reference.
// Writes target/bench-peers/node.json. RUNS (default 5) process runs each; QUICK=1 is short.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { loadPkg, root } from "../tests/js/helpers.mjs";
import { TOLERANCE, benchRuntime, benchZoo, oursRuntime, ortRuntime } from "./peers_core.mjs";
import { readZooCase, zooCases } from "./peers_zoo.mjs";

// The peers live in benches/peers/node_modules (scripts/bench-peers installs them there).
const ort = createRequire(new URL("./peers/package.json", import.meta.url))("onnxruntime-node");

const QUICK = process.env.QUICK === "1";
const RUNS = Number(process.env.RUNS || (QUICK ? 2 : 5));
const out = "target/bench-peers";
const cli = process.env.EDGE_REGISTRY_BIN || "target/release/edge-registry";
const read = (path) => readFileSync(new URL(path, root));
const models = JSON.parse(process.env.PEERS_MODELS).map(({ name, dir }) => ({
  name,
  dir,
  bytes: read(`${dir}/model.onnx`),
  card: JSON.parse(read(`${dir}/card.json`)),
  expected: JSON.parse(read(`${dir}/expected.json`)),
}));
const timing = QUICK ? { warmup: 1, minRuns: 3, minMs: 0 } : {};
const log = (...a) => console.error("bench-peers:", ...a);

/** Wall time of a process, RUNS times; the last run's standard output. */
function processRuns(cmd, args) {
  const ms = [];
  let stdout;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    stdout = execFileSync(cmd, args, { cwd: root, maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "ignore"] });
    ms.push(performance.now() - t0);
  }
  return { ms, stdout: stdout.toString() };
}

const results = { node: process.version, onnxruntimeNode: ort.env.versions?.node ?? null, runs: RUNS };
const lib = await loadPkg();
const runtimes = {
  ours: oursRuntime(lib),
  ort: ortRuntime(ort, { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" }),
};
results.inference = { ours: [], ort: [] };
for (const m of models) {
  for (const [which, rt] of Object.entries(runtimes)) {
    log("node inference", m.name, which);
    results.inference[which].push(...await benchRuntime(rt, [m], { timing }));
  }
}

results.zoo = { ours: [], ort: [] };
for (const c of zooCases()) {
  const zooCase = readZooCase(c);
  for (const [which, rt] of Object.entries(runtimes)) {
    log("node zoo", c.name, which);
    results.zoo[which].push(...await benchZoo(rt, [zooCase]));
  }
}

log("CLI first runs");
mkdirSync(new URL(`${out}/inputs/`, root), { recursive: true });
results.cli = [];
for (const m of models) {
  const input = `${out}/inputs/${m.name}.json`;
  writeFileSync(new URL(input, root), JSON.stringify(m.expected.batch1.inputs));
  const { ms, stdout } = processRuns(cli, ["run", "--model", `${m.dir}/model.onnx`, "--card", `${m.dir}/card.json`, "--input", input]);
  const got = JSON.parse(stdout);
  let err = 0;
  for (const [name, want] of Object.entries(m.expected.batch1.outputs)) {
    want.data.forEach((w, i) => { err = Math.max(err, Math.abs(got[name].data[i] - w)); });
  }
  if (!(err <= TOLERANCE)) throw new Error(`${m.name}: the CLI's outputs differ from onnxruntime's by ${err}`);
  results.cli.push({ model: m.name, ms, max_err: err });
}

log("native hashing");
const reg = `${out}/registry`;
const file = `${out}/models/mlp-50mb/model.onnx`;
results.hashing = {
  bytes: read(file).length,
  verify: processRuns(cli, ["verify", "--no-load", "--root", `${reg}/metadata/1.root.json`, reg]).ms,
  sha256sum: processRuns("sha256sum", [file]).ms,
};
writeFileSync(new URL(`${out}/node.json`, root), JSON.stringify(results, null, 2));
log(`wrote ${out}/node.json`);
