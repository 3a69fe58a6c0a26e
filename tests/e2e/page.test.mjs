// Browser end-to-end tests of www/ served by `edge-registry serve`, in Debian's Chromium driven
// by playwright-core. Screenshots go to target/e2e/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { root, startServer } from "../js/helpers.mjs";
import { launchOptions } from "./browser.mjs";

const shots = new URL("target/e2e/", root).pathname;
mkdirSync(shots, { recursive: true });
const cargoVersion = readFileSync(new URL("Cargo.toml", root), "utf8").match(/^version = "([^"]+)"/m)[1];

let server, browser;
before(async () => {
  server = await startServer(["www", "--mount", "/pkg=pkg"]);
  browser = await chromium.launch(launchOptions());
});
after(async () => {
  await browser?.close();
  server?.stop();
});

test("the page loads the wasm module and shows the library version", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const wasmResponse = page.waitForResponse((r) => r.url().endsWith(".wasm"));
  await page.goto(`${server.url}/`, { waitUntil: "domcontentloaded", timeout: 60000 });
  const resp = await wasmResponse;
  assert.equal(resp.headers()["content-type"], "application/wasm");
  await page.locator('#status[data-state="ok"]').waitFor({ timeout: 15000 });
  assert.equal(await page.locator("#version").textContent(), cargoVersion);
  await page.screenshot({ path: `${shots}01-loaded.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the server refuses directory traversal", async () => {
  for (const path of ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/pkg/..%2f..%2fCargo.toml"]) {
    const r = await fetch(`${server.url}${path}`);
    assert.ok(r.status === 403 || r.status === 404, `${path} gave ${r.status}`);
    assert.ok(!(await r.text()).includes("[package]"), path);
  }
});
