// Writes BENCHMARKS.md from the results scripts/bench-peers collected (target/bench-peers/,
// target/eval-bench/): every figure in it comes from that run. node benches/peers_report.mjs
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { root } from "../tests/js/helpers.mjs";
import { stats } from "./engine_core.mjs";

const read = (p) => readFileSync(new URL(p, root));
const json = (p) => JSON.parse(read(p));
const dir = "target/bench-peers";
const machine = json(`${dir}/machine.json`);
const native = JSON.parse(read(`${dir}/native.jsonl`).toString().trim().split("\n").pop());
const python = json(`${dir}/ort-python.json`);
const node = json(`${dir}/node.json`);
const browser = json(`${dir}/browser.json`);
const evalRust = json("target/eval-bench/rust.json");
const evalBrowser = json("target/eval-bench/browser.json");
const sklearn = json(`${dir}/sklearn.json`);
const version = (pkg) => json(`${pkg.startsWith("onnxruntime") ? "benches/peers/" : ""}node_modules/${pkg}/package.json`).version;
const lockVersion = (name) => read("Cargo.lock").toString().match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`))?.[1];
const ourVersion = read("Cargo.toml").toString().match(/^version = "([^"]+)"/m)[1];

// Formatting: milliseconds with 2-3 significant digits, ratios with 2 decimals.
const ms = (x) => (x < 0.1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const ratio = (x) => `${x.toFixed(2)}x`;
const int = (n) => n.toLocaleString("en-US");
const median = (xs) => stats(xs).p50;
const spread = (xs) => `${ms(median(xs))} (${ms(Math.min(...xs))}–${ms(Math.max(...xs))})`;
const gzip = (path) => execFileSync("gzip", ["-9c", path], { cwd: root, maxBuffer: 1 << 28 }).length;
const table = (head, rows) => [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`,
  ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

// ------------------------------------------------------------------------------- inference
// Chromium loads pkg/'s relaxed-SIMD module where it validates relaxed SIMD (the startup runs
// record which file it fetched); Node 20 loads the SIMD one.
const relaxedInChromium = browser.files.ours.some((f) => f.endsWith("relaxed_bg.wasm"));
const chromiumWasm = relaxedInChromium ? "wasm relaxed SIMD" : "wasm SIMD";
const runtimes = [
  [`Chromium: edge-registry (${chromiumWasm})`, browser.inference.ours],
  ["Chromium: onnxruntime-web (wasm SIMD, 1 thread)", browser.inference.ort],
  ["Node: edge-registry (wasm SIMD)", node.inference.ours],
  ["Node: onnxruntime-node (native, 1 thread)", node.inference.ort],
  ["native: edge-registry (tract, Rust)", native.results],
  ["native: onnxruntime (Python, 1 thread)", python.results],
];
const models = browser.inference.ours.map((r) => r.model);
// The runners check their outputs before timing; the native engine bench only reports the error.
for (const [label, results] of runtimes) {
  for (const r of results) if (!(r.max_err <= 1e-4)) throw new Error(`${label} ${r.model}: outputs off by ${r.max_err}`);
}
const demo = models.filter((m) => m !== "convnet");
const find = (results, model) => results.find((r) => r.model === model);
const cli = Object.fromEntries(node.cli.map((c) => [c.model, c]));

const inferenceRows = [];
for (const m of models) {
  for (const [label, results] of runtimes) {
    const r = find(results, m);
    inferenceRows.push([m, label, `${ms(r.first.p50)} / ${ms(r.first.p95)}`, `${ms(r.batch1.p50)} / ${ms(r.batch1.p95)}`,
      `${ms(r.batch64.p50)} / ${ms(r.batch64.p95)}`, r.max_err.toExponential(1)]);
  }
  inferenceRows.push([m, "native: `edge-registry run` (whole process)", `${spread(cli[m].ms)}`, "", "", cli[m].max_err.toExponential(1)]);
}

// Ours / theirs, p50 of steady-state latency (and of the first run), per model and batch.
const ratios = models.map((m) => {
  const [o, w] = [find(browser.inference.ours, m), find(browser.inference.ort, m)];
  const [no, nw] = [find(native.results, m), find(python.results, m)];
  const [zo, zw] = [find(node.inference.ours, m), find(node.inference.ort, m)];
  return {
    model: m,
    b1: o.batch1.p50 / w.batch1.p50, b64: o.batch64.p50 / w.batch64.p50, first: o.first.p50 / w.first.p50,
    node1: zo.batch1.p50 / zw.batch1.p50, node64: zo.batch64.p50 / zw.batch64.p50,
    native1: no.batch1.p50 / nw.batch1.p50, native64: no.batch64.p50 / nw.batch64.p50,
  };
});
const worst = (list) => list.reduce((a, b) => (b.value > a.value ? b : a));
const chromiumRatios = (names) => ratios.filter((r) => names.includes(r.model))
  .flatMap((r) => [{ value: r.b1, where: `${r.model} batch 1` }, { value: r.b64, where: `${r.model} batch 64` }]);

// ------------------------------------------------------------------------------- download size
const sizeRows = [];
const sizes = {};
for (const [which, label] of [["ours", "edge-registry"], ["ort", "onnxruntime-web"]]) {
  const files = browser.files[which].map((f) => ({ f, raw: read(f).length, gz: gzip(f) }));
  for (const { f, raw, gz } of files) sizeRows.push([label, `\`${f.split("/").pop()}\``, int(raw), int(gz)]);
  const sum = (pred, k) => files.filter(pred).reduce((s, x) => s + x[k], 0);
  const isWasm = (x) => x.f.endsWith(".wasm");
  sizes[which] = { raw: sum(() => true, "raw"), gz: sum(() => true, "gz"), wasmGz: sum(isWasm, "gz"), wasmRaw: sum(isWasm, "raw") };
  sizeRows.push([label, "**total**", `**${int(sizes[which].raw)}**`, `**${int(sizes[which].gz)}**`]);
}
const sizeRatio = sizes.ours.gz / sizes.ort.gz;
const wasmRatio = sizes.ours.wasmGz / sizes.ort.wasmGz;

// ------------------------------------------------------------------------------- hashing
const h = browser.hashing;
const mbps = (bytes, t) => (bytes / 1e6 / (t / 1e3)).toFixed(0);
const hashRows = [
  ["Chromium: `crypto.subtle.digest(\"SHA-256\")` (whole buffer; no streaming API)", h.ms.webcrypto],
  ["Chromium: edge-registry `verifyBytes` (whole buffer; the registry's check: WebCrypto where present)", h.ms.verifyBytes],
  [`Chromium: edge-registry \`Sha256Verifier\`, ${h.chunk / 1024} KiB chunks (sha2 in wasm)`, h.ms.stream],
  ["Chromium: edge-registry `sha256Hex` (whole buffer; sha2 in wasm)", h.ms.oneShot],
].map(([l, t]) => [l, spread(t), mbps(h.bytes, median(t))]);
const nh = node.hashing;
hashRows.push(
  ["native: `edge-registry verify --no-load` (whole process: TUF metadata + the 50 MB target's SHA-256, from disk)", spread(nh.verify), mbps(nh.bytes, median(nh.verify))],
  ["native reference: coreutils `sha256sum` (whole process, from disk)", spread(nh.sha256sum), mbps(nh.bytes, median(nh.sha256sum))],
);
const hashRatio = median(h.ms.webcrypto) / median(h.ms.verifyBytes);

// ------------------------------------------------------------------------------- end to end
const e = browser.e2e;
const bigBytes = read(`${dir}/models/mlp-50mb/model.onnx`).length;
const e2eRows = [
  ["edge-registry cold load: open + refresh + download and verify + engine load (the model is ready; chunks are written to IndexedDB while the download arrives, the rest after `load` resolves)", e.cold],
  ...(e.coldCached ? [["the same cold load until its IndexedDB cache write has committed (the client's next cache call waits for it)", e.coldCached]] : []),
  ["edge-registry warm load: open + refresh + read back from IndexedDB and re-hash + engine load", e.warm],
  ["streamed fetch of the artifact into one buffer (the registry's network path, no cache write)", e.fetch],
  ["the same streamed fetch, verified as the registry verifies (signed length on every chunk, `verifyBytes` on the whole)", e.fetchVerify],
  ["plain `fetch` + onnxruntime-web `InferenceSession.create` (no verification, no cache)", e.ortPlain],
  ["plain `fetch` + edge-registry `await Model.create` (no verification, no cache; WebCrypto names the model)", e.oursPlain],
  ...(e.oursSync ? [["plain `fetch` + edge-registry `Model.fromBytes` (no verification, no cache; sha2 in wasm names the model)", e.oursSync]] : []),
].map(([l, t]) => [l, spread(t)]);
const overhead = (median(e.fetchVerify) - median(e.fetch)) / median(e.cold);
const warmRatio = median(e.warm) / median(e.cold);
const coldRatio = median(e.cold) / median(e.ortPlain);
// The cold and warm loads by phase (benches/registry_bench.html's engineLoad).
const phaseTable = (e) => {
  const names = { open: "`Registry.open`", refresh: "`refresh`", bytes: "the artifact's bytes (to the last chunk)",
    rest: "the rest of `load` (digest check, engine load; a cold load's remaining cache write continues after it)" };
  const cell = (list, k) => ms(median(list.map((p) => p[k])));
  return "\n\n" + table(["phase", "cold", "warm"], Object.entries(names).map(([k, label]) => [label, cell(e.coldPhases, k), cell(e.warmPhases, k)]));
};
const plainRatio = median(e.oursPlain) / median(e.ortPlain);

// ------------------------------------------------------------------------------- evaluation
const evalRows = [
  ["native: edge-registry (Rust, 1 thread), metrics on rows in memory", evalRust.times_s ?? [evalRust.median_s], evalRust.rows],
  ["native: scikit-learn, metrics on arrays in memory", sklearn.times_s, sklearn.rows],
  [`Chromium: edge-registry \`evaluatePredictions\` (${chromiumWasm}), CSV parsing + metrics`, evalBrowser.chromium_times_ms.map((t) => t / 1e3), evalBrowser.rows],
  ["native: `edge-registry eval --predictions` (whole process), CSV parsing + metrics", evalBrowser.native_cli_times_ms.map((t) => t / 1e3), evalBrowser.rows],
].map(([l, t, n]) => [l, `${median(t).toFixed(3)} (${Math.min(...t).toFixed(3)}–${Math.max(...t).toFixed(3)})`, int(Math.round(n / median(t)))]);
const evalRatio = median(sklearn.times_s) / median(evalRust.times_s ?? [evalRust.median_s]);

// ------------------------------------------------------------------------------------- zoo
// The real-model zoo (benches/peers_zoo.mjs): Chromium and Node from the runners above, native
// from scripts/zoo/run.mjs's `edge-registry check` (target/zoo/results.json) and zoo.py's
// onnxruntime (Python) timings (target/zoo/cases/<name>/meta.json).
const zooNames = (browser.zoo?.ours ?? []).map((r) => r.name);
const zooNative = (() => {
  try {
    return Object.fromEntries(json("target/zoo/results.json").results.filter((r) => r.suffix === "").map((r) => [r.name, r.native]));
  } catch { return {}; }
})();
const zooMeta = (name) => { try { return json(`target/zoo/cases/${name}/meta.json`); } catch { return null; } };
const zooMb = Object.fromEntries(json("scripts/zoo/models.json").models.map((m) => [m.name, m.model_bytes / 1e6]));
const zooFind = (side, name) => side?.find((r) => r.name === name);
// Load from bytes plus the first run: the wait for a first result.
const firstResult = (r) => r.load.p50 + r.firstMs;
// ours / theirs of one measure where both ran; null otherwise.
const zooRatio = (o, w, f) => (o && w && !o.error && !w.error ? f(o) / f(w) : null);
const zooRows = zooNames.map((name) => {
  const [bo, bw] = [zooFind(browser.zoo.ours, name), zooFind(browser.zoo.ort, name)];
  const [no, nw] = [zooFind(node.zoo?.ours, name), zooFind(node.zoo?.ort, name)];
  const nat = zooNative[name], meta = zooMeta(name);
  return {
    name, bo, bw, no, nw, nat, meta,
    load: zooRatio(bo, bw, (r) => r.load.p50), run: zooRatio(bo, bw, (r) => r.run.p50),
    // Time to a first result: a per-shape model plans its graph on the first run, not at load.
    first: zooRatio(bo, bw, firstResult),
    nodeRun: zooRatio(no, nw, (r) => r.run.p50),
    nativeRun: nat?.ok && nat.runMs != null && meta?.ort_run_ms_median ? nat.runMs / meta.ort_run_ms_median : null,
  };
});
const cellOf = (r, f) => (!r ? "–" : r.error ? "fails" : f(r));
const ratioOr = (x) => (x == null ? "–" : ratio(x));
const zooTable = table(
  ["model", "MB", "Chromium load ours / ort", "ratio", "Chromium load + first run ours / ort", "ratio", "Chromium run p50 ours / ort", "ratio", "Node run p50 ours / ort", "ratio", "native run ours / ort", "ratio", "max rel. err (Chromium)"],
  zooRows.map((z) => [z.name, zooMb[z.name]?.toFixed(2) ?? "–",
    `${cellOf(z.bo, (r) => ms(r.load.p50))} / ${cellOf(z.bw, (r) => ms(r.load.p50))}`, ratioOr(z.load),
    `${cellOf(z.bo, (r) => ms(firstResult(r)))} / ${cellOf(z.bw, (r) => ms(firstResult(r)))}`, ratioOr(z.first),
    `${cellOf(z.bo, (r) => ms(r.run.p50))} / ${cellOf(z.bw, (r) => ms(r.run.p50))}`, ratioOr(z.run),
    `${cellOf(z.no, (r) => ms(r.run.p50))} / ${cellOf(z.nw, (r) => ms(r.run.p50))}`, ratioOr(z.nodeRun),
    `${z.nat?.ok && z.nat.runMs != null ? ms(z.nat.runMs) : z.nat ? "fails" : "–"} / ${z.meta?.ort_run_ms_median != null ? ms(z.meta.ort_run_ms_median) : "–"}`, ratioOr(z.nativeRun),
    z.bo && !z.bo.error ? z.bo.maxRel.toExponential(1) : "–"]));
const zooFailures = zooRows.filter((z) => z.bo?.error).map((z) => `\`${z.name}\` (ours in Chromium: ${z.bo.error})`);
const zooWorst = (key) => {
  const xs = zooRows.filter((z) => z[key] != null);
  const w = xs.reduce((a, b) => (b[key] > a[key] ? b : a), xs[0]);
  return { value: w ? w[key] : NaN, where: w?.name, within: xs.filter((z) => z[key] <= 1).length, of: xs.length };
};
const geomean = (key) => {
  const xs = zooRows.map((z) => z[key]).filter((x) => x != null);
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
};

// ------------------------------------------------------------------------------- targets
const demoWorst = worst(chromiumRatios(demo));
const cnnWorst = worst(chromiumRatios(["convnet"]));
const zooRun = zooWorst("run"), zooLoad = zooWorst("load"), zooFirst = zooWorst("first");
const zooFailed = zooRows.filter((z) => z.bo?.error).length;
const targets = [
  ...(zooRows.length ? [
    ["Inference in Chromium, real models (the zoo): ours / onnxruntime-web p50, every model", "≤ 1.0x",
      zooRun.value <= 1 && !zooFailed, `worst ${ratio(zooRun.value)} (${zooRun.where}); ${zooRun.within} of ${zooRun.of} within, geometric mean ${ratio(geomean("run"))}; ${zooFailed} fail in ours`, zooRun.value],
    ["Load from bytes in Chromium, real models: ours (\`Model.create\`) / \`InferenceSession.create\` p50", "≤ 1.0x",
      zooLoad.value <= 1 && !zooFailed, `worst ${ratio(zooLoad.value)} (${zooLoad.where}); ${zooLoad.within} of ${zooLoad.of} within, geometric mean ${ratio(geomean("load"))}`, zooLoad.value],
    ["Time to a first result in Chromium, real models: ours / onnxruntime-web (load from bytes + first run; a per-shape model plans on its first run)", "≤ 1.0x",
      zooFirst.value <= 1 && !zooFailed, `worst ${ratio(zooFirst.value)} (${zooFirst.where}); ${zooFirst.within} of ${zooFirst.of} within, geometric mean ${ratio(geomean("first"))}`, zooFirst.value],
  ] : []),
  ["Inference in Chromium, demo models: ours / onnxruntime-web p50, every model at batch 1 and 64", "≤ 1.0x",
    demoWorst.value <= 1.0, `worst ${ratio(demoWorst.value)} (${demoWorst.where}); ${chromiumRatios(demo).filter((r) => r.value <= 1).length} of ${chromiumRatios(demo).length} cases within`, demoWorst.value / 1.0],
  ["Inference in Chromium, convnet: ours / onnxruntime-web p50, batch 1 and 64", "≤ 1.5x",
    cnnWorst.value <= 1.5, `worst ${ratio(cnnWorst.value)} (${cnnWorst.where})`, cnnWorst.value / 1.5],
  ["Download, gzip -9: ours (.wasm + JS glue) / onnxruntime-web's (.wasm + JS it loads)", "≤ 0.8x",
    sizeRatio <= 0.8, `${ratio(sizeRatio)} (${int(sizes.ours.gz)} / ${int(sizes.ort.gz)} bytes; .wasm alone ${ratio(wasmRatio)})`, sizeRatio / 0.8],
  ["SHA-256 in Chromium as the registry verifies (`verifyBytes`): our throughput / WebCrypto's", "≥ 0.9x",
    hashRatio >= 0.9, `${ratio(hashRatio)} (${mbps(h.bytes, median(h.ms.verifyBytes))} vs ${mbps(h.bytes, median(h.ms.webcrypto))} MB/s)`, 0.9 / hashRatio],
  ["Verification overhead on the cold load: (streamed fetch with verification − without) / cold load", "≤ 5%",
    overhead <= 0.05, `${(overhead * 100).toFixed(1)}% (${ms(median(e.fetchVerify) - median(e.fetch))} ms of ${ms(median(e.cold))} ms)`, overhead / 0.05],
  ["Verified cold load / plain `fetch` + `InferenceSession.create` (50 MB model)", "≤ 1.1x",
    coldRatio <= 1.1, `${ratio(coldRatio)} (${ms(median(e.cold))} / ${ms(median(e.ortPlain))} ms)`, coldRatio / 1.1],
  ["Plain `fetch` + `Model.create` / plain `fetch` + `InferenceSession.create` (50 MB model)", "≤ 1.0x",
    plainRatio <= 1.0, `${ratio(plainRatio)} (${ms(median(e.oursPlain))} / ${ms(median(e.ortPlain))} ms)`, plainRatio / 1.0],
  ["Warm load / cold load (50 MB model, engine load included)", "≤ 0.3x",
    warmRatio <= 0.3, `${ratio(warmRatio)} (${ms(median(e.warm))} / ${ms(median(e.cold))} ms)`, warmRatio / 0.3],
  ["Evaluation natively: scikit-learn's time / ours (1,000,000 rows, full classification metric set)", "≥ 3x",
    evalRatio >= 3, `${evalRatio.toFixed(1)}x (${median(sklearn.times_s).toFixed(2)} s vs ${median(evalRust.times_s ?? [evalRust.median_s]).toFixed(3)} s)`, 3 / evalRatio],
];
const gap = targets.reduce((a, b) => (b[4] > a[4] ? b : a));

// ------------------------------------------------------------------------------- machine
const top = (snap) => snap.top.filter((p) => p.cpu >= 5 && !/^(ps|node)$/.test(p.command))
  .map((p) => `${p.command} ${p.cpu.toFixed(0)}%`).join(", ") || "none above 5%";
const shared = Math.max(machine.start.loadavg[0], machine.end.loadavg[0]) > 0.5;

const md = `# Benchmarks against the peers

Written by \`make bench-peers\` (\`scripts/bench-peers\`, then \`benches/peers_report.mjs\`) on
${machine.start.date.slice(0, 16).replace("T", " ")} UTC; regenerate it rather than editing it.
Every figure below comes from that one run.${machine.quick ? "\n\n**QUICK=1 run: too few repetitions to mean anything.**" : ""}

## Machine and versions

- ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb.toFixed(0)} GB, Linux ${machine.kernel}.
- ${shared ? "**Shared machine: other processes were running during the run**, so every figure is an upper bound and ratios carry noise." : "The machine was otherwise idle."}
  Load average (1, 5, 15 min) at the start ${machine.start.loadavg.map((x) => x.toFixed(2)).join(", ")}, at the end ${machine.end.loadavg.map((x) => x.toFixed(2)).join(", ")};
  busiest other processes at the start: ${top(machine.start)}; at the end: ${top(machine.end)}.
- edge-registry ${ourVersion} (commit ${machine.commit}${machine.dirty ? ", uncommitted changes" : ""}), tract ${lockVersion("tract-onnx")}, ${machine.wasm_bindgen}, ${machine.rustc}; \`pkg/\` is the release build: Chromium ran its ${relaxedInChromium ? "relaxed-SIMD module (the file it fetched)" : "SIMD module (it did not fetch the relaxed-SIMD one)"}, Node the relaxed-SIMD module only where it validates relaxed SIMD (not Node 20).
- Chromium ${browser.chromium} (headless, through playwright-core), Node ${node.node}, Python ${python.python}.
- onnxruntime-web ${version("onnxruntime-web")}, onnxruntime-node ${version("onnxruntime-node")}, onnxruntime (Python) ${python.onnxruntime}, scikit-learn ${sklearn.sklearn}, numpy ${sklearn.numpy}.

## Targets

${table(["target", "bound", "measured", "met"], targets.map(([t, b, ok, m]) => [t, b, m, ok ? "**met**" : "**not met**"]))}

Furthest from its bound: ${gap[0][0].toLowerCase()}${gap[0].slice(1)} (${gap[3]}).

## Inference

Models: the demo models of \`tests/fixtures/models/\` and \`convnet\`, a VGG-style network on
3×80×80 images (\`scripts/gen_bench_models.py\`, committed in \`benches/models/convnet/\`). Each
runtime gets the same bytes and inputs; before anything is timed its outputs at batch 1 and 64 are
compared with onnxruntime's (\`expected.json\`; the last column, max abs difference; more than 1e-4
aborts the run). onnxruntime-web runs its wasm backend with \`numThreads = ${browser.ortWeb.numThreads}\`, \`simd = ${browser.ortWeb.simd}\`
and \`proxy = ${browser.ortWeb.proxy}\` (crossOriginIsolated ${browser.ortWeb.crossOriginIsolated}), on the main thread of the same page as our package; onnxruntime natively with one intra-op and one inter-op thread; tract
runs on one thread. First run: load from bytes in memory + the first batch-1 inference on a new
session, 5 times (p50 / the slowest); the runtime's own start is the startup table below.
Steady state: p50 / p95 after warm-up, at least 30 samples and 0.3 s (convnet: 10 samples); a
sample of a sub-millisecond call is the mean of enough back-to-back calls to last 2 ms, because
Chromium rounds \`performance.now()\` to 0.1 ms without cross-origin isolation. All in ms.

${table(["model", "runtime", "first run p50 / max", "batch 1 p50 / p95", "batch 64 p50 / p95", "max abs diff"], inferenceRows)}

Ratios of p50 latencies, ours / theirs (below 1.00x: ours is faster):

${table(["model", "Chromium batch 1", "Chromium batch 64", "Chromium first run", "Node batch 1", "Node batch 64", "native batch 1", "native batch 64"],
  ratios.map((r) => [r.model, ratio(r.b1), ratio(r.b64), ratio(r.first), ratio(r.node1), ratio(r.node64), ratio(r.native1), ratio(r.native64)]))}

${zooRows.length ? `### Real models (the zoo)

The open real-model zoo of \`scripts/zoo/models.json\` (third-party models from pinned package
artefacts, fetched and given deterministic inputs and onnxruntime's outputs by \`zoo.py\`), each
model's main case. In Chromium (the same page as above) and Node: load from bytes in memory
(\`Model.create\` / \`InferenceSession.create\`, p50 of 3); load + first run: that p50 plus the
first inference on the last loaded session (a model whose inputs leave a dimension open plans
its graph for the concrete shape there, so its load alone understates the wait); then
steady-state p50 after that warm-up run (at least 5 samples and 1 s); natively: \`edge-registry check --repeat 5\` (release CLI)
against onnxruntime (Python, 1 thread) as \`zoo.py expected\` timed it (median of 5). Ratios are
ours / theirs; "fails": the runtime could not load or run the model. The last column is our
largest error relative to each output's largest magnitude. ms:

${zooTable}
${zooFailures.length ? `\nFailing in ours: ${zooFailures.join("; ")}.\n` : ""}
` : ""}Startup in a fresh browser context (empty HTTP and code caches; the JS modules already imported):
fetching, compiling and instantiating the runtime's \`.wasm\`, then loading iris and its first
inference, median (min–max) of ${browser.startup.ours.length} runs, ms:

${table(["runtime", "startup"], [["edge-registry (`await init()` + `Model.create` + `run`)", spread(browser.startup.ours)],
  ["onnxruntime-web (first `InferenceSession.create` + `run`)", spread(browser.startup.ort)]])}

## Download size

The files each runtime fetched in the startup runs above (served uncompressed; gzip -9 of each), bytes:

${table(["runtime", "file", "raw", "gzip -9"], sizeRows)}

Ours / onnxruntime-web: ${ratio(sizes.ours.raw / sizes.ort.raw)} raw, ${ratio(sizeRatio)} gzip (the \`.wasm\` alone: ${ratio(sizes.ours.wasmRaw / sizes.ort.wasmRaw)} raw, ${ratio(wasmRatio)} gzip).
Our \`.wasm\` also holds the TUF client, the registry client, the cache and the evaluator;
onnxruntime-web's is inference only.

## Hashing

SHA-256 of ${int(h.bytes)} random bytes in the page (${h.runs} runs, each digest checked against
WebCrypto's), and of the ${int(nh.bytes)}-byte model file natively (${nh.verify.length} runs):

${table(["implementation", "ms, median (min–max)", "MB/s (median)"], hashRows)}

## End to end: a verified ${(bigBytes / 1e6).toFixed(1)} MB model

\`mlp-50mb\` (a multilayer perceptron with ${(bigBytes / 1e6).toFixed(1)} MB of weights) published
with the CLI into a registry served by \`edge-registry serve\` on 127.0.0.1; our side through
\`benches/registry_bench.html\` (\`Registry.open\`, \`refresh\`, \`load\`) on an empty IndexedDB
database (cold) and again on the same one (warm); ${e.cold.length} runs, ms, median (min–max):

${table(["path", "ms"], e2eRows)}

${e.coldPhases ? `Where the loads go, median ms of each phase:${phaseTable(e)}

` : ""}Verification overhead ${(overhead * 100).toFixed(1)}% of the cold load; warm / cold ${ratio(warmRatio)};
our cold load / plain fetch + onnxruntime-web session ${ratio(median(e.cold) / median(e.ortPlain))};
plain fetch + session, ours / onnxruntime-web ${ratio(median(e.oursPlain) / median(e.ortPlain))}.

## Evaluation

The full classification metric set (accuracy, balanced accuracy, precision / recall / F1 per
class and averaged, confusion matrix, log loss, ROC AUC one-vs-rest macro and weighted, Brier,
top-2 and top-5 accuracy, ECE / MCE) on ${int(evalRust.rows)} rows × 10 classes
(\`cargo bench --bench eval_metrics\`, \`benches/eval_browser.mjs\`,
\`scripts/bench_eval_sklearn.py\`; results agree with scikit-learn's: ${sklearn.agrees_with_rust}), seconds, median (min–max):

${table(["implementation", "s", "rows/s (median)"], evalRows)}

scikit-learn / ours natively: ${evalRatio.toFixed(1)}x; scikit-learn's metrics alone / our
Chromium run including CSV parsing: ${(median(sklearn.times_s) / median(evalBrowser.chromium_times_ms.map((t) => t / 1e3))).toFixed(1)}x.

## Reading these numbers

- Latency ratios take p50s; the p95s and the min–max ranges show the spread of the same run.
  On a shared machine a ratio can move by tens of percent between runs, most for the
  sub-millisecond cases.
- First runs: only the first of the 5 is cold (JIT, allocator); the p50 is mostly warm code, the
  max column the cold case. Each runtime was started once in the page before (startup table).
- The Node rows compare our wasm with onnxruntime-node's native code; the native rows compare
  tract with onnxruntime, both on one thread.
- The end-to-end runs fetch from 127.0.0.1, faster than any real network: hashing, which can
  overlap with waiting for bytes on a slower link, shows here at its full cost.
- WebCrypto has no streaming digest: it hashes the whole buffer in one call. The registry checks
  the signed length on every chunk as it arrives and, where the host has WebCrypto, the SHA-256
  of the whole buffer once it is complete (\`verifyBytes\` is that check); \`Sha256Verifier\`
  hashes the chunks as they arrive with sha2 compiled to wasm (hosts without WebCrypto).
- The convnet's and the 50 MB model's weights are seeded random numbers: these runs check that
  the runtimes agree and time them, nothing reads the predictions.
`;
// The real-model zoo section belongs to `make zoo` (scripts/zoo/run.mjs): carried over as is.
let zoo = "";
try {
  const old = readFileSync(new URL("BENCHMARKS.md", root), "utf8");
  const m = old.match(/<!-- zoo:start -->[\s\S]*<!-- zoo:end -->\n?/);
  if (m) zoo = `\n${m[0]}`;
} catch {}
writeFileSync(new URL("BENCHMARKS.md", root), md + zoo);
