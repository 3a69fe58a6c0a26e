// Registry benchmark in headless Chromium (`make bench-registry`): for a 5 MB and a 50 MB
// artifact, the cold load (IndexedDB empty: download, streaming verification, caching), the
// warm load (a new client on the same database: read back and re-hashed), the verification
// overhead (the same streamed fetch of the artifact into one buffer with and without SHA-256
// verification), and the peak memory during the 50 MB cold load, measured two ways:
//   - in the page, sampled at every progress event: performance.memory.usedJSHeapSize
//     (Chromium with --enable-precise-memory-info; it counts ArrayBuffer backing stores, which
//     this script checks by allocating 32 MiB first) plus the wasm linear memory size;
//   - the renderer process's peak resident set (VmHWM after resetting it through
//     /proc/PID/clear_refs), minus its resident set before the load.
// Needs pkg/ (scripts/build-pkg), the CLI (release), and the bench registry:
//   cargo run --release --example registry_fixtures -- target/registry-bench --bench
// Writes target/bench-registry.json and prints a table. Each timing is the median of RUNS.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, readdirSync, existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { root, startServer } from "../tests/js/helpers.mjs";

const RUNS = Number(process.env.RUNS || 5);
const bench = process.env.REGISTRY_BENCH || "target/registry-bench";
if (!existsSync(new URL(`${bench}/root.json`, root))) {
  throw new Error(`no ${bench}/root.json: run cargo run --release --example registry_fixtures -- ${bench} --bench`);
}
process.env.EDGE_REGISTRY_BIN ||= process.env.CARGO_TARGET_DIR
  ? `${process.env.CARGO_TARGET_DIR}/release/edge-registry`
  : new URL("target/release/edge-registry", root).pathname;
const server = await startServer([".", "--quiet", "--threads", "8"]);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--enable-precise-memory-info", "--js-flags=--expose-gc"],
});

function renderers() {
  const out = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (cmd.includes("--type=renderer") && cmd.includes("chrom")) out.push(Number(pid));
    } catch { /* gone */ }
  }
  return out;
}
function status(pid, field) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) * 1024 : 0;
}

const page = await browser.newPage();
page.on("console", (m) => {
  // 404s are expected: the TUF client probes N+1.root.json for a root rotation.
  if (!m.text().startsWith("Failed to load resource")) process.stderr.write(`page: ${m.text()}\n`);
});
await page.goto(`${server.url}/benches/registry_bench.html`);
await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });

const results = { runs: RUNS, chromium: browser.version(), sizes: {} };
const heapCountsArrayBuffers = await page.evaluate(() => window.checkHeapCountsArrayBuffers());
results.heapCountsArrayBuffers = heapCountsArrayBuffers;

for (const [name, bytes] of [["bench-5mb", 5_000_000], ["bench-50mb", 50_000_000]]) {
  const r = { bytes, cold: [], warm: [], raw: [], verified: [] };
  for (let i = 0; i < RUNS; i++) {
    const measureMemory = name === "bench-50mb" && i === 0;
    let pids = [], before = new Map();
    if (measureMemory) {
      await page.evaluate(() => window.gcNow());
      pids = renderers();
      for (const pid of pids) {
        writeFileSync(`/proc/${pid}/clear_refs`, "5");
        before.set(pid, status(pid, "VmRSS"));
      }
    }
    const cold = await page.evaluate(([n, run]) => window.coldLoad(n, run), [name, i]);
    if (measureMemory) {
      let peak = 0;
      for (const pid of pids) peak = Math.max(peak, status(pid, "VmHWM") - before.get(pid));
      r.rendererPeakDelta = peak;
      r.pagePeak = cold.memory;
    }
    r.cold.push(cold.ms);
    r.warm.push(await page.evaluate(([n, run]) => window.warmLoad(n, run), [name, i]));
    r.raw.push(await page.evaluate((n) => window.streamedFetch(n, false), name));
    r.verified.push(await page.evaluate((n) => window.streamedFetch(n, true), name));
  }
  results.sizes[name] = r;
}
await browser.close();
server.stop();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (n) => (n / 1e6).toFixed(1);
const ms = (x) => `${x.toFixed(0)}`.padStart(5);
const rows = [`median (min) of ${RUNS} runs, Chromium ${results.chromium}`];
for (const [name, r] of Object.entries(results.sizes)) {
  for (const [stat, f] of [["median", median], ["min", (xs) => Math.min(...xs)]]) {
    r[stat] = { cold: f(r.cold), warm: f(r.warm), raw: f(r.raw), verified: f(r.verified) };
  }
  const [m, n] = [r.median, r.min];
  rows.push(`${name.padEnd(11)} cold ${ms(m.cold)} (${ms(n.cold)}) ms  warm ${ms(m.warm)} (${ms(n.warm)}) ms  ` +
    `fetch ${ms(m.raw)} (${ms(n.raw)}) ms  fetch+verify ${ms(m.verified)} (${ms(n.verified)}) ms  ` +
    `overhead ${(m.verified - m.raw).toFixed(0)} (${(n.verified - n.raw).toFixed(0)}) ms; ` +
    `verified ${(r.bytes / 1e6 / (n.verified / 1000)).toFixed(0)} MB/s at best`);
}
const big = results.sizes["bench-50mb"];
rows.push(`50 MB cold load peak memory: page (JS heap incl. ArrayBuffers + wasm memory) +${mb(big.pagePeak.peakDelta)} MB ` +
  `(JS heap +${mb(big.pagePeak.heapDelta)} MB, wasm memory ${mb(big.pagePeak.wasmBefore)} -> ${mb(big.pagePeak.wasmAfter)} MB); ` +
  `renderer peak RSS +${mb(big.rendererPeakDelta)} MB; limit 2x = 100 MB`);
rows.push(`performance.memory counts ArrayBuffers: ${heapCountsArrayBuffers}`);
writeFileSync(new URL("target/bench-registry.json", root), JSON.stringify(results, null, 2));
console.log(rows.join("\n"));
