// Evaluation benchmark in headless Chromium and natively on the same CSV (part of `make bench`):
// the 1,000,000 rows benches/eval_metrics.rs generates (target/eval-bench/rows.bin: per row
// the label byte and 10 little-endian f64 probabilities) written as CSV with 9 significant
// digits, then scored end to end (CSV parsing + the full classification metric set):
//   - in Chromium by evaluatePredictions (pkg/, release + SIMD), best and median of RUNS;
//   - natively by `edge-registry eval --predictions` (release CLI), best and median of RUNS.
// scripts/bench_eval_sklearn.py times scikit-learn on the same rows (metrics only, no parsing).
// Writes target/eval-bench/browser.json.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { chromium } from "playwright-core";
import { root, startServer } from "../tests/js/helpers.mjs";
import { launchOptions } from "../tests/e2e/browser.mjs";

const RUNS = Number(process.env.RUNS || 3);
const dir = new URL(`${process.env.EVAL_BENCH_DIR || "target/eval-bench"}/`, root);
const bin = new URL("rows.bin", dir);
if (!existsSync(bin)) throw new Error("no target/eval-bench/rows.bin: run cargo bench --bench eval_metrics first");
const csv = new URL("rows.csv", dir);
const C = 10;
{
  const raw = readFileSync(bin);
  const row = 1 + 8 * C;
  const n = raw.length / row;
  const fd = openSync(csv, "w");
  writeSync(fd, `y,${Array.from({ length: C }, (_, i) => `p_${i}`).join(",")}\n`);
  let buf = [];
  for (let r = 0; r < n; r++) {
    const at = r * row;
    const cells = [raw[at]];
    for (let k = 0; k < C; k++) cells.push(raw.readDoubleLE(at + 1 + 8 * k).toPrecision(9));
    buf.push(cells.join(","));
    if (buf.length === 10000) { writeSync(fd, buf.join("\n") + "\n"); buf = []; }
  }
  if (buf.length) writeSync(fd, buf.join("\n") + "\n");
  closeSync(fd);
}

const stat = (times) => {
  const s = [...times].sort((a, b) => a - b);
  return { best: s[0], median: s[Math.floor(s.length / 2)] };
};

// Native: the release CLI on the same file.
const cli = process.env.EDGE_REGISTRY_BIN || new URL("target/release/edge-registry", root).pathname;
const native = [];
let nativeReport;
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  const out = execFileSync(cli, ["eval", "--predictions", csv.pathname, "--label", "y",
    "--proba", Array.from({ length: C }, (_, i) => `p_${i}`).join(","), "--top-k", "2", "--top-k", "5", "--json"],
  { maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] });
  native.push(performance.now() - t0);
  nativeReport = JSON.parse(out);
}

const server = await startServer(["benches", "--mount", "/pkg=pkg", "--mount", `/data=${dir.pathname}`, "--quiet"]);
const browser = await chromium.launch(launchOptions());
let result;
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/eval_bench.html`);
  await page.waitForFunction(() => typeof window.runEval === "function");
  result = await page.evaluate(([u, n]) => window.runEval(u, n), ["/data/rows.csv", RUNS]);
  result.chromium = browser.version();
} finally {
  await browser.close();
  server.stop();
}
const nc = nativeReport.results.classification;
if (Math.abs(nc.accuracy - result.accuracy) > 0 || Math.abs(nc.log_loss - result.log_loss) > 1e-12) {
  throw new Error(`native and Chromium reports differ: ${nc.accuracy} ${nc.log_loss} vs ${result.accuracy} ${result.log_loss}`);
}
const b = stat(result.times);
const nn = stat(native);
const out = {
  rows: result.rows, csv_bytes: result.bytes, runs: RUNS, chromium: result.chromium,
  chromium_ms: b, native_cli_ms: nn, chromium_times_ms: result.times, native_cli_times_ms: native,
  chromium_rows_per_s: result.rows / (b.median / 1e3),
  native_cli_rows_per_s: result.rows / (nn.median / 1e3),
};
writeFileSync(new URL("browser.json", dir), JSON.stringify(out, null, 2));
console.log(`CSV -> full report, ${result.rows} rows (${(result.bytes / 1e6).toFixed(1)} MB CSV), median of ${RUNS}:`);
console.log(`  Chromium (wasm SIMD)  ${b.median.toFixed(0)} ms (best ${b.best.toFixed(0)})  ${Math.round(out.chromium_rows_per_s)} rows/s`);
console.log(`  native CLI (process)  ${nn.median.toFixed(0)} ms (best ${nn.best.toFixed(0)})  ${Math.round(out.native_cli_rows_per_s)} rows/s`);
