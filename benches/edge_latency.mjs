// Latency of the example edge worker (examples/edge-worker) in workerd, served by the committed
// workerd config against a registry our publisher builds and `edge-registry serve` serves.
//
//   node benches/edge_latency.mjs [--cold 10] [--warm 1000] [--concurrency 8] [--model digits]
//
// Cold: a fresh workerd process per run; the time from starting it to its first answer on
// any path (the isolate and the 10 MB WebAssembly module ready), then the first
// POST /predict (Registry.open, refresh of the TUF metadata, download, SHA-256 verification,
// engine load, inference). Warm: POST /predict on one process, one request at a time, then
// with `--concurrency` requests in flight (throughput). The load generator is Node's fetch
// with keep-alive, on the same machine. Writes target/bench-edge.json.
//
// Needs pkg/ (make pkg), the CLI (EDGE_REGISTRY_BIN, else target/release/edge-registry, else
// target/debug/edge-registry) and node_modules/.bin/workerd (npm ci).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { startServer, startWorkerd as startWorkerdOn } from "../tests/js/helpers.mjs";

const root = new URL("../", import.meta.url);
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const coldRuns = Number(arg("cold", 10));
const warmRuns = Number(arg("warm", 1000));
const concurrency = Number(arg("concurrency", 8));
const modelName = arg("model", "digits");

const bin = process.env.EDGE_REGISTRY_BIN
  || [new URL("target/release/edge-registry", root).pathname, new URL("target/debug/edge-registry", root).pathname].find(existsSync);
const models = new URL("tests/fixtures/models/", root).pathname;
const er = (...a) => execFileSync(bin, a, { stdio: ["ignore", "pipe", "pipe"] }).toString();

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
function summary(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), min: s[0], max: s.at(-1) };
}

// The registry: one model (digits by default, or digits-cnn), published with the CLI and served.
const work = mkdtempSync(join(tmpdir(), "er-edge-bench-"));
const repo = join(work, "repo");
const dir = { digits: "digits-v1", "digits-cnn": "digits-cnn" }[modelName];
if (!dir) throw new Error(`--model digits or digits-cnn, not ${modelName}`);
er("init", repo, "--keys", join(work, "keys"));
er("publish", repo, join(models, dir, "model.onnx"), "--keys", join(work, "keys"), "--name", modelName,
  "--version", "1", "--alias", "production", "--card", join(models, dir, "card.json"));
const expected = JSON.parse(readFileSync(join(models, dir, "expected.json"), "utf8"));
const feeds = Object.fromEntries(Object.entries(expected.batch1.inputs).map(([k, v]) => [k, { data: v.data, shape: v.shape }]));
const body = JSON.stringify({ inputs: feeds });

process.env.EDGE_REGISTRY_BIN = bin; // startServer's binary
const server = await startServer([work, "--quiet", "--threads", "4"]);
const registryUrl = `${server.url}/repo`;

function startWorkerd() {
  return startWorkerdOn("examples/edge-worker/config.capnp", {
    REGISTRY_URL: registryUrl,
    TRUSTED_ROOT: readFileSync(join(repo, "metadata/1.root.json"), "utf8"),
    REFRESH_SECONDS: "60",
    CACHE: "memory",
  });
}

async function predict(url) {
  const t0 = performance.now();
  const r = await fetch(`${url}/predict/${modelName}@production`, { method: "POST", headers: { "content-type": "application/json" }, body });
  const j = await r.json();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`predict: ${r.status} ${JSON.stringify(j)}`);
  return { ms, j };
}

// Cold.
const ready = [];
const first = [];
for (let i = 0; i < coldRuns; i++) {
  const w = await startWorkerd();
  ready.push(w.readyMs);
  const { ms, j } = await predict(w.url);
  first.push(ms);
  const want = expected.batch1.outputs;
  for (const [name, o] of Object.entries(want)) {
    const got = j.outputs[name].data;
    o.data.forEach((v, k) => { if (Math.abs(Number(got[k]) - Number(v)) > 1e-4) throw new Error(`${name}[${k}] ${got[k]} vs ${v}`); });
  }
  const exited = new Promise((r) => w.child.on("exit", r));
  w.stop();
  await exited;
}

// Warm: sequential, then concurrent.
const w = await startWorkerd();
await predict(w.url);
for (let i = 0; i < 50; i++) await predict(w.url); // warm-up
const seq = [];
for (let i = 0; i < warmRuns; i++) seq.push((await predict(w.url)).ms);
const conc = [];
const tc = performance.now();
let next = 0;
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < warmRuns) { next++; conc.push((await predict(w.url)).ms); }
}));
const concWall = performance.now() - tc;
w.stop();
server.stop();

const result = {
  date: new Date().toISOString(),
  machine: `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}`,
  workerd: execFileSync(new URL("node_modules/.bin/workerd", root).pathname, ["--version"]).toString().trim(),
  model: modelName,
  wasmBytes: readFileSync(new URL("pkg/edge_registry_bg.wasm", root)).length,
  coldReadyMs: summary(ready),
  coldFirstPredictMs: summary(first),
  warmSequentialMs: summary(seq),
  warmConcurrent: { concurrency, ...summary(conc), requestsPerSecond: (conc.length / concWall) * 1000 },
};
writeFileSync(new URL("target/bench-edge.json", root), JSON.stringify(result, null, 2));
const f = (s) => `p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms (n=${s.n})`;
console.log(`workerd ${result.workerd}, model ${modelName}, ${result.machine}`);
console.log(`cold: workerd start to ready ${f(result.coldReadyMs)}`);
console.log(`cold: first /predict (open, refresh, download, verify, load, run) ${f(result.coldFirstPredictMs)}`);
console.log(`warm: /predict one at a time ${f(result.warmSequentialMs)}`);
console.log(`warm: /predict ${concurrency} in flight ${f(result.warmConcurrent)}, ${result.warmConcurrent.requestsPerSecond.toFixed(0)} req/s`);
