// Engine benchmark in headless Chromium: node benches/engine_browser.mjs
// Runs benches/engine_bench.html against pkg/ (SIMD) and target/pkg-nosimd/ (if built).
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { startServer } from "../tests/js/helpers.mjs";
import { launchOptions } from "../tests/e2e/browser.mjs";

const mounts = ["benches", "--mount", "/pkg=pkg", "--mount", "/fixtures=tests/fixtures", "--quiet"];
const variants = [["/pkg", "chromium-simd"]];
if (existsSync("target/pkg-nosimd/edge_registry_bg.wasm")) {
  mounts.push("--mount", "/pkg-nosimd=target/pkg-nosimd");
  variants.push(["/pkg-nosimd", "chromium-nosimd"]);
}
const server = await startServer(mounts);
const browser = await chromium.launch(launchOptions());
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/engine_bench.html`);
  await page.waitForFunction(() => typeof window.runBench === "function");
  for (const [pkg, label] of variants) {
    const results = await page.evaluate((p) => window.runBench(p), pkg);
    console.log(JSON.stringify({ runtime: label, results }));
  }
} finally {
  await browser.close();
  server.stop();
}
