// The browser half of the peer benchmarks (scripts/bench-peers), in headless Chromium:
//   - startup: in a fresh browser context (empty HTTP and code caches), fetching and
//     instantiating the runtime's .wasm, loading iris and its first inference; the files each
//     runtime fetched are recorded for the download sizes;
//   - inference: our package and onnxruntime-web (wasm, 1 thread, SIMD) in the same page, one
//     model at a time, alternating (benches/peers_core.mjs); then the real-model zoo the same way
//     (benches/peers_zoo.mjs: load, first run, steady state, error against onnxruntime's);
//   - hashing: 50 MB through our Sha256Verifier (64 KiB chunks) and sha256Hex vs WebCrypto;
//   - end to end, 50 MB model: our cold load (open, refresh, download + verify + store, engine
//     load; benches/registry_bench.html) and warm load (from IndexedDB), the streamed fetch with
//     and without verification, and a plain fetch + InferenceSession.create / Model.create / Model.fromBytes.
// Needs pkg/, the release CLI, and what scripts/bench-peers prepares in target/bench-peers/.
// Writes target/bench-peers/browser.json. RUNS (default 5) repeats of each cold/warm/hash
// measurement; QUICK=1 for a short development run.
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { root, startServer } from "../tests/js/helpers.mjs";
import { launchOptions } from "../tests/e2e/browser.mjs";
import { zooCases } from "./peers_zoo.mjs";

const QUICK = process.env.QUICK === "1";
const RUNS = Number(process.env.RUNS || (QUICK ? 2 : 5));
const out = "target/bench-peers";
const models = JSON.parse(process.env.PEERS_MODELS);
const big = { name: "mlp-50mb", dir: `${out}/models/mlp-50mb` };
const registry = `registry=${out}/registry&root=${out}/registry/metadata/1.root.json`;
const timing = QUICK ? { warmup: 1, minRuns: 3, minMs: 0 } : {};
const log = (...a) => console.error("bench-peers:", ...a);

process.env.EDGE_REGISTRY_BIN ||= new URL("target/release/edge-registry", root).pathname;
const server = await startServer([".", "--quiet", "--threads", "8"]);
const browser = await chromium.launch(launchOptions());
const results = { chromium: browser.version(), runs: RUNS, quick: QUICK };

async function open(context, path) {
  const page = await context.newPage();
  page.on("console", (m) => {
    // 404s are expected: the TUF client probes N+1.root.json for a root rotation.
    if (!m.text().startsWith("Failed to load resource")) process.stderr.write(`page: ${m.text()}\n`);
  });
  await page.goto(`${server.url}/${path}`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });
  return page;
}

try {
  log("startup");
  results.startup = { ours: [], ort: [] };
  results.files = { ours: new Set(), ort: new Set() };
  const prefix = { ours: "/pkg/", ort: "/benches/peers/node_modules/onnxruntime-web/" };
  for (let r = 0; r < RUNS; r++) {
    for (const which of ["ours", "ort"]) {
      const context = await browser.newContext();
      context.on("response", (resp) => {
        const path = new URL(resp.url()).pathname;
        if (path.startsWith(prefix[which])) results.files[which].add(path.slice(1));
      });
      const page = await open(context, "benches/peers_bench.html");
      results.startup[which].push(await page.evaluate(([w, m]) => window.startup(w, m), [which, models[0]]));
      await context.close();
    }
  }
  results.files = { ours: [...results.files.ours], ort: [...results.files.ort] };

  const context = await browser.newContext();
  const page = await open(context, "benches/peers_bench.html");
  results.inference = { ours: [], ort: [] };
  results.ortWeb = await page.evaluate(() => window.ortInfo());
  for (const m of models) {
    for (const which of ["ours", "ort"]) {
      log("inference", m.name, which);
      const [res] = await page.evaluate(([w, l, o]) => window.inference(w, l, o), [which, [m], { timing }]);
      results.inference[which].push(res);
    }
  }

  // The zoo, one case at a time, our runtime then onnxruntime-web's, in one page of their own
  // (a fresh one after a wasm trap, which leaves an instance unusable).
  results.zoo = { ours: [], ort: [] };
  let zooPage = null;
  for (const c of zooCases()) {
    for (const which of ["ours", "ort"]) {
      log("zoo", c.name, which);
      zooPage ??= await open(context, "benches/peers_bench.html");
      const [r] = await zooPage.evaluate(([w, zc]) => window.zoo(w, zc), [which, c]);
      results.zoo[which].push(r);
      if (r.error && /unreachable|RuntimeError|Aborted/i.test(r.error)) {
        await zooPage.close();
        zooPage = null;
      }
    }
  }
  await zooPage?.close();

  log("hashing");
  results.hashing = await page.evaluate(([n, c]) => window.hashing(50, n, c), [RUNS, 65536]);

  log("end to end");
  const reg = await open(context, `benches/registry_bench.html?${registry}`);
  const e2e = { cold: [], coldCached: [], warm: [], fetch: [], fetchVerify: [], ortPlain: [], oursPlain: [], oursSync: [], coldPhases: [], warmPhases: [] };
  for (let r = 0; r < RUNS; r++) {
    const db = `bench-peers-${r}`;
    await reg.evaluate((d) => window.deleteDatabase(d), db);
    const cold = await reg.evaluate(([m, d]) => window.engineLoad(m, d), [`${big.name}@1`, db]);
    const warm = await reg.evaluate(([m, d]) => window.engineLoad(m, d), [`${big.name}@1`, db]);
    if (cold.source !== "network" || warm.source !== "cache") throw new Error(`cold from ${cold.source}, warm from ${warm.source}`);
    e2e.cold.push(cold.ms);
    e2e.coldCached.push(cold.cachedMs);
    e2e.warm.push(warm.ms);
    e2e.coldPhases.push(cold.phases);
    e2e.warmPhases.push(warm.phases);
    await reg.evaluate((d) => window.deleteDatabase(d), db);
    e2e.fetch.push(await reg.evaluate((n) => window.streamedFetch(n, false), big.name));
    e2e.fetchVerify.push(await reg.evaluate((n) => window.streamedFetch(n, true), big.name));
    e2e.ortPlain.push(await page.evaluate((d) => window.plainLoad("ort", d), big.dir));
    e2e.oursPlain.push(await page.evaluate((d) => window.plainLoad("ours", d), big.dir));
    e2e.oursSync.push(await page.evaluate((d) => window.plainLoad("ours-sync", d), big.dir));
  }
  results.e2e = e2e;
} finally {
  await browser.close();
  server.stop();
}
writeFileSync(new URL(`${out}/browser.json`, root), JSON.stringify(results, null, 2));
log(`wrote ${out}/browser.json`);
