// A few zoo models side by side, ours then onnxruntime-web (1 thread), in one Chromium page:
// the zoo step of the peer benchmarks (benches/peers_bench.html's window.zoo, peers_core.mjs's
// benchZoo) without the rest of `make bench-peers`, for checking an engine change in minutes.
//   ONLY=smart-turn-v3,slanet ROUNDS=2 node benches/zoo_quick.mjs
// Needs pkg/ (any profile), benches/peers/node_modules (scripts/bench-peers installs it) and the
// zoo cases (scripts/zoo/zoo.py fetch + expected); the page is served by the CLI that
// EDGE_REGISTRY_BIN names (default target/debug/edge-registry). Prints load, first run and
// steady run (p50 ms) per model and round, and the largest relative error against onnxruntime's
// outputs (Python, the zoo's expected.json).
import { chromium } from "playwright-core";
import { startServer } from "../tests/js/helpers.mjs";
import { launchOptions } from "../tests/e2e/browser.mjs";
import { zooCases } from "./peers_zoo.mjs";
const only = (process.env.ONLY || "").split(",").filter(Boolean);
const rounds = Number(process.env.ROUNDS || 2);
const server = await startServer([".", "--quiet", "--threads", "8"]);
const browser = await chromium.launch(launchOptions());
const page = await (await browser.newContext()).newPage();
await page.goto(`${server.url}/benches/peers_bench.html`);
await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });
const cases = zooCases().filter((c) => !only.length || only.includes(c.name));
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const row = [c.name];
    for (const which of ["ours", "ort"]) {
      const [x] = await page.evaluate(([w, zc]) => window.zoo(w, zc), [which, c]);
      row.push(x.error ? `${which} ERROR ${x.error.slice(0, 80)}` :
        `${which} load ${x.load.p50.toFixed(1)} first ${x.firstMs.toFixed(1)} run ${x.run.p50.toFixed(2)} rel.err ${x.maxRel.toExponential(1)}`);
    }
    console.log(row.join(" | "));
  }
}
await browser.close();
await server.stop();
process.exit(0);
