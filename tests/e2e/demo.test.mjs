// The demo page end to end in Debian's Chromium (playwright-core), against `edge-registry serve`
// with the sample registry the publisher builds (scripts/build-sample-registry). Screenshots of
// each step go to target/e2e/. The steps share one browser profile, so the reload step sees the
// IndexedDB cache the first load filled.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { root, startServer } from "../js/helpers.mjs";
import { launchOptions } from "./browser.mjs";

const shots = new URL("target/e2e/", root).pathname;
const sample = new URL("target/sample-registry/", root).pathname;
const tampered = new URL("target/e2e-registries/tampered/", root).pathname;
const bin = process.env.EDGE_REGISTRY_BIN || new URL("target/debug/edge-registry", root).pathname;
mkdirSync(shots, { recursive: true });

/** The served file of a target: consistent snapshots name it `<sha256>.<name>`. */
function targetFile(registry, dir, name) {
  const d = join(registry, "targets", dir);
  const f = readdirSync(d).find((x) => x.endsWith(`.${name}`));
  assert.ok(f, `no ${name} in ${d}`);
  return join(d, f);
}

let server, browser, context, page;
const shot = (name) => page.screenshot({ path: `${shots}${name}.png`, fullPage: true });

before(async () => {
  assert.ok(existsSync(join(sample, "trusted-root.json")), "run scripts/build-sample-registry first");
  // A copy of the registry whose digits v1 model file was changed after signing.
  rmSync(tampered, { recursive: true, force: true });
  cpSync(sample, tampered, { recursive: true });
  const victim = targetFile(tampered, "models/digits/1", "model.onnx");
  const bytes = readFileSync(victim);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(victim, bytes);
  server = await startServer(["www", "--mount", "/pkg=pkg", "--mount", `/registry=${sample}`,
    "--mount", `/tampered=${tampered}`]);
  browser = await chromium.launch(launchOptions());
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test("the page verifies the sample registry and lists its models", async () => {
  // The first navigation also starts the browser's caches: give it time on a loaded machine.
  await page.goto(`${server.url}/`, { waitUntil: "domcontentloaded", timeout: 60000 });
  await page.locator('#trust[data-state="ok"]').waitFor({ timeout: 30000 });
  assert.match(await page.locator("#trust").textContent(), /Verified/);
  assert.ok(await page.locator("#roles").isVisible());
  for (const name of ["digits", "iris", "breast-cancer", "diabetes", "digits-cnn", "magika"]) {
    await page.locator(`article[data-model="${name}"]`).waitFor();
  }
  assert.match(await page.locator('article[data-model="digits"]').textContent(), /production/);
  assert.match(await page.locator('article[data-model="digits"]').textContent(), /staging/);
  await shot("01-registry");
});

test("loading a model shows progress to 100% and the verified sha256", async () => {
  await page.locator('button[data-ref="digits@1"]').click();
  await page.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 30000 });
  const [value, max] = await page.locator("#load-progress").evaluate((p) => [p.value, p.max]);
  assert.equal(value, max);
  assert.match(await page.locator("#load-text").textContent(), /\(100%\) from network/);
  const want = createHash("sha256").update(readFileSync(targetFile(sample, "models/digits/1", "model.onnx"))).digest("hex");
  assert.equal((await page.locator("#load-sha").textContent()).trim(), want);
  await shot("02-loaded");
});

test("drawing a digit stroke gives a live prediction", async () => {
  await page.locator("#pad").scrollIntoViewIfNeeded();
  const box = await page.locator("#pad").boundingBox();
  // A vertical stroke down the middle: a "1".
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.15);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * (0.15 + 0.06 * i));
  await page.mouse.up();
  await page.locator("#digit-prediction", { hasText: /Prediction: \d/ }).waitFor({ timeout: 15000 });
  assert.match(await page.locator("#try-latency").textContent(), /Inference: [\d.]+ ms/);
  await shot("03-draw");
});

test("evaluating the bundled digits test set shows the CLI's accuracy, and no request carries the data", async () => {
  const dir = mkdtempSync(join(tmpdir(), "er-e2e-"));
  const out = join(dir, "report.json");
  const m = new URL("tests/fixtures/models/digits-v1/", root).pathname;
  execFileSync(bin, ["eval", "--model", `${m}model.onnx`, "--card", `${m}card.json`, "--data", `${m}test.csv`, "--out", out], { stdio: "ignore" });
  const cli = JSON.parse(readFileSync(out, "utf8"));
  const requests = [];
  const onRequest = (r) => requests.push({ url: r.url(), method: r.method(), body: r.postData() });
  page.on("request", onRequest);
  await page.locator("#eval-sample").click();
  await page.locator("#eval-options").waitFor({ state: "visible" });
  await page.locator("#eval-run").click();
  await page.locator("#eval-results").waitFor({ state: "visible", timeout: 60000 });
  page.off("request", onRequest);
  const shown = (await page.locator('tr[data-metric="accuracy"] td').textContent()).trim();
  assert.equal(shown, cli.results.classification.accuracy.toFixed(4));
  assert.ok(await page.locator("#confusion svg").isVisible());
  assert.ok(await page.locator("#reliability svg").isVisible());
  // Evaluation fetched only signed registry files (the evaluation set, the profile), with GET
  // and no body; nothing else left the page.
  for (const r of requests) {
    assert.equal(r.method, "GET", `${r.method} ${r.url}`);
    assert.equal(r.body ?? null, null, r.url);
    assert.ok(r.url.startsWith(server.url), r.url);
    assert.ok(!/pixel_|target=/.test(r.url), r.url);
  }
  await shot("04-evaluate");
});

test("champion vs challenger shows intervals", async () => {
  await page.locator("#eval-against").selectOption("digits@2");
  await page.locator("#eval-run").click();
  await page.locator("#comparison-box").waitFor({ state: "visible", timeout: 60000 });
  assert.match(await page.locator("#comparison").textContent(), /challenger better|no difference|champion better/);
  await shot("05-compare");
});

test("after a reload the model comes from the cache", async () => {
  await page.reload({ waitUntil: "domcontentloaded", timeout: 60000 });
  await page.locator('#trust[data-state="ok"]').waitFor({ timeout: 30000 });
  await page.locator('button[data-ref="digits@1"]').click();
  await page.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 30000 });
  assert.match(await page.locator("#load-source").textContent(), /cache/);
  assert.ok(await page.locator('#cache-table tr[data-entry="digits@1"]').count() === 1);
  await shot("06-cache");
});

test("load() returns before its IndexedDB cache write ends; the client's next calls and close() wait for it", async () => {
  const r = await page.evaluate(async () => {
    const { default: init, Registry } = await import("/pkg/edge_registry.js");
    await init();
    const url = `${location.origin}/registry`;
    const trustedRoot = new Uint8Array(await (await fetch(`${url}/trusted-root.json`)).arrayBuffer());
    const dbName = "e2e-background-cache-write";
    await Registry.deleteDatabase(dbName);
    const open = async () => { const reg = await Registry.open({ url, trustedRoot, dbName }); await reg.refresh(); return reg; };
    const sources = [];
    let reg = await open();
    let model = await reg.load("digits@2", { onProgress: (p) => sources.push(p.source) });
    const listed = (await reg.cache.list()).filter((e) => e.cached).map((e) => `${e.model}@${e.version}`);
    model.free();
    // close() right after a load: the connection closes once the write has committed, so a
    // new client of the same database finds the model cached.
    model = await reg.load("digits@1");
    model.free();
    reg.close();
    await new Promise((ok) => setTimeout(ok, 500));
    reg = await open();
    const again = [];
    (await reg.load("digits@1", { onProgress: (p) => again.push(p.source) })).free();
    reg.close();
    await Registry.deleteDatabase(dbName);
    return { first: sources.at(-1), listed, again: again.at(-1) };
  });
  assert.equal(r.first, "network");
  assert.deepEqual(r.listed, ["digits@2"]);
  assert.equal(r.again, "cache");
});

test("Chromium runs the package's relaxed-SIMD build: the page (which loaded digits@1 since its reload) fetched only that module", async () => {
  const r = await page.evaluate(async () => {
    const lib = await import("/pkg/edge_registry.js");
    await lib.default();
    const bytes = new Uint8Array(await (await fetch("/registry/trusted-root.json")).arrayBuffer());
    const fetched = performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname)
      .filter((p) => p.endsWith(".wasm"));
    return { variant: lib.wasmVariant, file: lib.wasmFile, fetched, hash: lib.sha256Hex(bytes).length };
  });
  assert.equal(r.variant, "relaxed-simd");
  assert.equal(r.file, "edge_registry_relaxed_bg.wasm");
  assert.deepEqual([...new Set(r.fetched)], ["/pkg/edge_registry_relaxed_bg.wasm"]);
  assert.equal(r.hash, 64);
});

test("a real third-party model (Magika, from its pinned PyPI wheel) names the type of a chosen file", async () => {
  await page.locator('button[data-ref="magika@3.3"]').click();
  await page.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 60000 });
  await page.locator("#try-file").waitFor({ state: "visible" });
  assert.equal(await page.locator("#try-digits").isVisible(), false, "the digit pad of the previous model is hidden");
  assert.match(await page.locator("#file-licence").textContent(), /Licence: Apache-2\.0/);
  for (const [file, type] of [["scripts/zoo/zoo.py", "python"], ["tests/fixtures/models/iris/card.json", "json"]]) {
    await page.locator("#file-input").setInputFiles(new URL(file, root).pathname);
    await page.locator("#file-prediction", { hasText: `Content type: ${type} ` }).waitFor({ timeout: 30000 });
  }
  assert.equal(await page.locator("#file-bars .bar").count(), 5);
  await shot("07-file-type");
});

test("a tampered artifact is refused with an explanation in words", async () => {
  await page.goto(`${server.url}/?registry=/tampered`, { waitUntil: "domcontentloaded", timeout: 60000 });
  await page.locator('#trust[data-state="ok"]').waitFor({ timeout: 30000 });
  await page.locator('button[data-ref="digits@1"]').click();
  const err = page.locator("#load-error");
  await err.waitFor({ timeout: 30000 });
  const text = await err.textContent();
  assert.match(text, /does not match what the registry signed/);
  assert.doesNotMatch(text, /at .*\.js:\d+/); // words, not a stack trace
  await shot("08-tampered");
});
