// The demo page end to end in Debian's Chromium (playwright-core), against `edge-registry serve`
// with the sample registry the publisher builds (scripts/build-sample-registry). Screenshots of
// each step go to target/e2e/. The steps share one browser profile, so the reload step sees the
// IndexedDB cache the first load filled; the sub-path and offline steps use profiles of their own.
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
import { readCsv } from "../../www/csv.js";
import { describeData, jsonColumns, sniffFormat } from "../../www/data.js";

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
const shot = (name, p = page) => p.screenshot({ path: `${shots}${name}.png`, fullPage: true });
const scratch = mkdtempSync(join(tmpdir(), "er-e2e-"));
const digitsDir = new URL("tests/fixtures/models/digits-v1/", root).pathname;

/** The CLI's report on the committed digits v1 model and test set (what the page must match). */
let cliReport = null;
function cliDigits() {
  if (!cliReport) {
    const out = join(scratch, "report.json");
    execFileSync(bin, ["eval", "--model", `${digitsDir}model.onnx`, "--card", `${digitsDir}card.json`, "--data", `${digitsDir}test.csv`, "--out", out], { stdio: "ignore" });
    cliReport = JSON.parse(readFileSync(out, "utf8"));
  }
  return cliReport;
}

/** The digits test set as a header and rows of numbers. */
function digitsRows() {
  const { records } = readCsv(readFileSync(`${digitsDir}test.csv`, "utf8"));
  const [header, ...rows] = records.filter((r) => r.length > 1);
  return { header, rows: rows.map((r) => r.map(Number)) };
}

/** Draws a vertical stroke on the digit pad and waits for the prediction. */
async function drawOne(p) {
  await p.locator("#pad").scrollIntoViewIfNeeded();
  const box = await p.locator("#pad").boundingBox();
  await p.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.15);
  await p.mouse.down();
  for (let i = 1; i <= 12; i++) await p.mouse.move(box.x + box.width * 0.5, box.y + box.height * (0.15 + 0.06 * i));
  await p.mouse.up();
  await p.locator("#digit-prediction", { hasText: /Prediction: \d/ }).waitFor({ timeout: 15000 });
}

/** Evaluates what the page has chosen, without a challenger; resolves to the shown accuracy. */
async function evaluateShown() {
  await page.locator("#eval-options").waitFor({ state: "visible" });
  await page.locator("#eval-against").selectOption("");
  await page.locator("#eval-run").click();
  await page.locator("#eval-status", { hasText: /^Done: / }).waitFor({ timeout: 60000 });
  return (await page.locator('tr[data-metric="accuracy"] td').textContent()).trim();
}

const sampleMounts = (prefix) => ["--mount", `${prefix}=www`, "--mount", `${prefix}/pkg=pkg`, "--mount", `${prefix}/registry=${sample}`];

before(async () => {
  assert.ok(existsSync(join(sample, "trusted-root.json")), "run scripts/build-sample-registry first");
  // A copy of the registry whose digits v1 model file was changed after signing.
  rmSync(tampered, { recursive: true, force: true });
  cpSync(sample, tampered, { recursive: true });
  const victim = targetFile(tampered, "models/digits/1", "model.onnx");
  const bytes = readFileSync(victim);
  bytes[bytes.length >> 1] ^= 0xff;
  writeFileSync(victim, bytes);
  // The page at / (and the same page under /demo/, for the relative-URL test).
  server = await startServer(["www", "--mount", "/pkg=pkg", "--mount", `/registry=${sample}`,
    "--mount", `/tampered=${tampered}`, ...sampleMounts("/demo")]);
  browser = await chromium.launch(launchOptions());
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
});

after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test("the page's CSV reader follows RFC 4180 (quotes, commas and line breaks in fields, CRLF, a BOM), and JSON data is told from CSV", async () => {
  const text = '\ufeffid,"note, with ""quotes""",target\r\n1,"two\r\nlines",3\r\n2,,4\r\n';
  assert.deepEqual(readCsv(text).records, [["id", 'note, with "quotes"', "target"], ["1", "two\r\nlines", "3"], ["2", "", "4"]]);
  assert.deepEqual(readCsv("a,b\nc,d").records, [["a", "b"], ["c", "d"]]);
  // The start of a file: an unfinished record is left for later.
  assert.deepEqual(readCsv('a,"b\r\n', { partial: true }), { records: [], complete: false });
  assert.deepEqual((await describeData(new Blob([text]), { name: "x.csv" })).columns, ["id", 'note, with "quotes"', "target"]);
  assert.equal(sniffFormat("  [{\"a\": 1}]"), "json");
  assert.equal(sniffFormat("a,b", { name: "data.json" }), "json");
  assert.equal(sniffFormat("[not json]", { name: "data.csv" }), "csv");
  assert.deepEqual(jsonColumns('[{"x": 1, "y, z": "}"}, {"x": 2}]'), ["x", "y, z"]);
  assert.deepEqual(jsonColumns('{"x": [1, 2], "target": [0, 1]}'), ["x", "target"]);
  assert.equal(jsonColumns('[{"x": ', { partial: true }), null);
  assert.deepEqual(await describeData('{"x": [1], "target": [0]}'), { format: "json", columns: ["x", "target"] });
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

test("every panel says what is verified and how", async () => {
  const how = async (id) => {
    const box = page.locator(`#${id} .how`);
    assert.ok(await box.isVisible(), `#${id} has no explanation`);
    return (await box.textContent()).replace(/\s+/g, " ");
  };
  const registry = await how("registry");
  for (const w of [/pinned/, /threshold/, /timestamp/, /snapshot/, /targets/, /expiry/, /rollback/]) assert.match(registry, w);
  // The thresholds of this registry's pinned root, per role.
  assert.match(await page.locator("#root-keys").textContent(), /root 1 of 1, timestamp 1 of 1, snapshot 1 of 1, targets 1 of 1/);
  assert.match(await how("models"), /length and SHA-256/);
  for (const w of [/signed aliases document/, /bucket/, /gated/]) assert.match(await how("rollouts"), w);
  const loading = await how("loading");
  for (const w of [/streamed through SHA-256/, /signed length/, /LENGTH_EXCEEDED/, /HASH_MISMATCH/, /re-verified on read/, /SCHEMA_MISMATCH/]) assert.match(loading, w);
  const cache = await how("cache");
  for (const w of [/content-addressed by SHA-256/, /re-verified/, /service worker/]) assert.match(cache, w);
  assert.match(await how("try"), /declared names, element types and shapes/);
  assert.match(await how("evaluate"), /signed length and SHA-256/);
  assert.match(await how("check"), /not signed/);
});

test("loading a model shows progress to 100% and the verified sha256", async () => {
  await page.locator('button[data-ref="digits@1"]').click();
  await page.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 30000 });
  const [value, max] = await page.locator("#load-progress").evaluate((p) => [p.value, p.max]);
  assert.equal(value, max);
  assert.match(await page.locator("#load-text").textContent(), /\(100%\) from network/);
  const want = createHash("sha256").update(readFileSync(targetFile(sample, "models/digits/1", "model.onnx"))).digest("hex");
  assert.equal((await page.locator("#load-sha").textContent()).trim(), want);
  // digits@1 carries its author's model-signing bundle: verified in the worker beside the
  // registry's signature (the bundle's key hint is the SHA-256 of the author's PEM).
  assert.match(await page.locator("#load-registry-signature").textContent(), /TUF role targets/);
  const hint = createHash("sha256").update(readFileSync(join(sample, "author-key.pem"))).digest("hex");
  assert.equal(await page.locator("#load-author-signature").textContent(),
    `verified: OpenSSF model-signing bundle, key ${hint.slice(0, 16)}…, 1 file (single.onnx)`);
  assert.equal(await page.locator('article[data-model="digits"] .badge.author').count(), 1);
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
  const cli = cliDigits();
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

test("the report is signed as an attestation in the browser (non-extractable key) and the CLI verifies it against the registry", async () => {
  await page.locator("#eval-attest").click();
  await page.locator("#attest-status", { hasText: /verified|[A-Z_]{6,}/ }).waitFor({ timeout: 30000 });
  const status = await page.locator("#attest-status").textContent();
  assert.match(status, /^verified: the signature of key [0-9a-f]{16}…, and digits@1 is signed by the registry$/, status);
  const [envelope, jwk] = await page.evaluate(async () => Promise.all(["#attest-download", "#attest-key-download"]
    .map(async (id) => (await fetch(document.querySelector(id).href)).text())));
  assert.equal(JSON.parse(jwk).d, undefined, "only the public key leaves the page");
  const env = join(scratch, "page.dsse.json");
  const key = join(scratch, "page-key.jwk");
  writeFileSync(env, envelope);
  writeFileSync(key, jwk);
  const verify = (file) => execFileSync(bin, ["attest", "verify", file, "--pubkey", key, "--registry", `${server.url}/registry`,
    "--root", join(sample, "trusted-root.json")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.match(verify(env), /digits/);
  // One changed byte of the statement: refused.
  const doc = JSON.parse(envelope);
  const text = Buffer.from(doc.payload, "base64").toString("utf8");
  const payload = text.replace("in-toto.io", "in-totO.io");
  assert.notEqual(payload, text);
  writeFileSync(env, JSON.stringify({ ...doc, payload: Buffer.from(payload).toString("base64") }));
  assert.throws(() => verify(env), (e) => /ATTESTATION_/.test(String(e.stderr)));
  await shot("04b-attestation");
});

test("champion vs challenger shows intervals", async () => {
  await page.locator("#eval-against").selectOption("digits@2");
  await page.locator("#eval-run").click();
  await page.locator("#comparison-box").waitFor({ state: "visible", timeout: 60000 });
  assert.match(await page.locator("#comparison").textContent(), /challenger better|no difference|champion better/);
  await shot("05-compare");
});

test("a CSV with a BOM, CRLF line ends and quoted fields holding commas, quotes and line breaks is read by its columns", async () => {
  const { header, rows } = digitsRows();
  const q = (f) => `"${f.replaceAll('"', '""')}"`;
  const lines = [[q('note, with "quotes"'), ...header.slice(0, -1), q("target")].join(",")];
  rows.forEach((r, i) => lines.push([q(i === 0 ? "first row,\r\non two lines" : `row ${i}, ok`), ...r].join(",")));
  const file = join(scratch, "digits-quoted.csv");
  writeFileSync(file, `\ufeff${lines.join("\r\n")}\r\n`);
  await page.locator("#eval-file").setInputFiles(file);
  await page.locator("#eval-source", { hasText: "digits-quoted.csv: CSV, 66 columns" }).waitFor();
  const options = await page.locator("#eval-label option").evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(options, ['note, with "quotes"', ...header]);
  assert.equal(await page.locator("#eval-label").inputValue(), "target");
  assert.equal(await page.locator(`#eval-slices input[value='note, with "quotes"']`).count(), 1);
  assert.equal(await evaluateShown(), cliDigits().results.classification.accuracy.toFixed(4));
});

test("JSON evaluation data (a file of row objects, pasted columns) is evaluated as JSON", async () => {
  const cli = cliDigits().results.classification.accuracy.toFixed(4);
  const { header, rows } = digitsRows();
  const file = join(scratch, "digits-rows.json");
  writeFileSync(file, JSON.stringify(rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])))));
  await page.locator("#eval-file").setInputFiles(file);
  await page.locator("#eval-source", { hasText: "digits-rows.json: JSON, 65 columns" }).waitFor();
  assert.equal(await page.locator("#eval-label").inputValue(), "target");
  assert.equal(await evaluateShown(), cli);
  const columns = Object.fromEntries(header.map((h, i) => [h, rows.map((r) => r[i])]));
  await page.locator("#eval-paste-box summary").click();
  await page.locator("#eval-paste").fill(JSON.stringify(columns));
  await page.locator("#eval-paste-use").click();
  await page.locator("#eval-source", { hasText: "Pasted data: JSON, 65 columns" }).waitFor();
  assert.equal(await evaluateShown(), cli);
  await shot("05b-json");
});

test("Cancel stops an evaluation: no report, and the page evaluates again", async () => {
  const { header, rows } = digitsRows();
  const body = rows.map((r) => r.join(",")).join("\n") + "\n";
  const file = join(scratch, "digits-large.csv");
  writeFileSync(file, `${header.join(",")}\n${body.repeat(250)}`); // 112,250 rows, 16 MB
  await page.locator("#eval-file").setInputFiles(file);
  await page.locator("#eval-source", { hasText: "digits-large.csv: CSV, 65 columns" }).waitFor();
  await page.locator("#eval-against").selectOption("");
  await page.locator("#eval-run").click();
  await page.locator("#eval-status", { hasText: /Evaluating on this device… \d+ rows/ }).waitFor({ timeout: 30000 });
  await page.locator("#eval-cancel").click();
  await page.locator("#eval-cancelled").waitFor({ timeout: 5000 });
  assert.equal(await page.locator("#eval-cancel").isVisible(), false);
  // A result that arrives after the cancel is dropped.
  await page.waitForTimeout(1000);
  assert.equal(await page.locator("#eval-results").isVisible(), false);
  assert.match(await page.locator("#eval-status").textContent(), /Cancelled/);
  await page.locator("#eval-sample").click();
  await page.locator("#eval-source", { hasText: "evaluation set (signed, verified): CSV" }).waitFor();
  assert.equal(await evaluateShown(), cliDigits().results.classification.accuracy.toFixed(4));
});

test("Cancel stops a model download (3 MB at 100 kB/s): nothing is cached, and the next load works", async () => {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: 100_000, uploadThroughput: -1 });
  const failed = [];
  const onFailed = (r) => failed.push({ url: r.url(), error: r.failure()?.errorText });
  context.on("requestfailed", onFailed);
  try {
    await page.locator('button[data-ref="magika@3.3"]').click();
    await page.locator("#load-text", { hasText: /\(\d+%\) from network/ }).waitFor({ timeout: 30000 });
    assert.ok(await page.locator("#load-cancel").isVisible());
    await page.locator("#load-cancel").click();
    await page.locator("#load-cancelled").waitFor({ timeout: 5000 });
    assert.match(await page.locator("#load-ref").textContent(), /magika@3\.3 was cancelled/);
    assert.equal(await page.locator("#load-cancel").isVisible(), false);
    // The download itself was aborted in the worker, not only abandoned by the page.
    const deadline = Date.now() + 5000;
    while (!failed.some((f) => f.url.includes("/targets/models/magika/")) && Date.now() < deadline) await page.waitForTimeout(100);
    const model = failed.find((f) => f.url.includes("/targets/models/magika/"));
    assert.ok(model, `the model request did not fail: ${JSON.stringify(failed)}`);
    assert.match(model.error, /ABORTED/);
  } finally {
    context.off("requestfailed", onFailed);
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();
  }
  await page.locator("#cache-refresh").click();
  await page.waitForTimeout(300);
  assert.equal(await page.locator('#cache-table tr[data-entry="magika@3.3"]').count(), 0);
  await shot("05c-cancelled");
  await page.locator('button[data-ref="digits@1"]').click();
  await page.locator("#load-ref", { hasText: "digits version 1 is loaded and verified" }).waitFor({ timeout: 30000 });
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

test("the rollout panel shows this device's bucket and version, the same after a reload, and loads that version", async () => {
  const card = page.locator('article[data-rollout="digits@canary"]');
  await card.waitFor({ timeout: 30000 });
  assert.match(await card.textContent(), /1 → 2: stage 1 of 2/);
  const choice = (await card.locator(".rollout-choice").textContent()).trim();
  assert.match(choice, /^This device: bucket 0\.\d{6} → version [12] \(by its bucket\)$/);
  const id = await page.locator("#client-id").textContent();
  assert.match(id, /[0-9a-f]{32}/);
  await page.reload({ waitUntil: "domcontentloaded", timeout: 60000 });
  await page.locator('#trust[data-state="ok"]').waitFor({ timeout: 30000 });
  await card.waitFor({ timeout: 30000 });
  assert.equal((await card.locator(".rollout-choice").textContent()).trim(), choice, "sticky across reloads");
  assert.equal(await page.locator("#client-id").textContent(), id);
  const version = choice.match(/version (\d)/)[1];
  await card.locator("button.load").click();
  await page.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 30000 });
  assert.match(await page.locator("#load-ref").textContent(), new RegExp(`digits version ${version} \\(canary\\)`));
  assert.match(await page.locator("#load-rollout").textContent(), new RegExp(`version ${version} for this device`));
  await shot("06b-rollout");
});

test("the tamper toggle flips one byte of the download: verification refuses it (HASH_MISMATCH); off, the model verifies again", async () => {
  // digits@1 is cached (previous step): the toggle evicts it, so it is downloaded.
  await page.locator("#tamper").check();
  await page.locator('button[data-ref="digits@1"]').click();
  const err = page.locator("#load-error");
  await err.waitFor({ timeout: 30000 });
  const text = await err.textContent();
  assert.match(text, /does not match what the registry signed/);
  assert.match(text, /HASH_MISMATCH/);
  assert.match(await page.locator("#tamper-note").textContent(), /byte 1,477 of 2,955 of models\/digits\/1\/model\.onnx was flipped/);
  assert.equal(await page.locator('#cache-table tr[data-entry="digits@1"]').count(), 0, "nothing tampered is cached");
  await shot("06b-tamper-on");
  await page.locator("#tamper").uncheck();
  await page.locator('button[data-ref="digits@1"]').click();
  await page.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 30000 });
  assert.match(await page.locator("#load-source").textContent(), /network/);
  const want = createHash("sha256").update(readFileSync(targetFile(sample, "models/digits/1", "model.onnx"))).digest("hex");
  assert.equal((await page.locator("#load-sha").textContent()).trim(), want);
  await page.locator('#cache-table tr[data-entry="digits@1"]').waitFor({ timeout: 10000 });
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

test("an uploaded .onnx file gets the engine's compatibility report (Model.check)", async () => {
  await page.locator("#check-file").setInputFiles(new URL("tests/fixtures/models/iris/model.onnx", root).pathname);
  const verdict = page.locator("#check-verdict");
  await page.locator('#check-verdict[data-state="ok"]').waitFor({ timeout: 30000 });
  assert.match(await verdict.textContent(), /loads and runs this model \(static plan\)/);
  assert.match(await page.locator("#check-loads").textContent(), /^yes, in [\d.]+ ms/);
  assert.match(await page.locator("#check-run").textContent(), /[\d.]+ ms on zero-filled inputs/);
  assert.equal(await page.locator('#check-ops tr[data-op="MatMul"]').count(), 1);
  assert.match(await page.locator("#check-info").textContent(), /input: float32\[N, 4\]/);
  await shot("09b-check");
  await page.locator("#check-file").setInputFiles(new URL("tests/fixtures/engine/unsupported.onnx", root).pathname);
  await page.locator('#check-verdict[data-state="error"]').waitFor({ timeout: 30000 });
  assert.match(await verdict.textContent(), /cannot run this model: UNSUPPORTED_MODEL.*ai\.onnx\.ml:Imputer/);
  assert.equal(await page.locator('#check-ops tr.flagged[data-op="ai.onnx.ml:Imputer"]').count(), 1);
  await page.locator("#check-file").setInputFiles(new URL("README.md", root).pathname);
  await page.locator("#check-verdict", { hasText: "BAD_MODEL" }).waitFor({ timeout: 30000 });
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

test("the page works under a sub path (/demo/): every URL it asks for is relative to it", async () => {
  // No absolute /pkg/ or /registry/ URL in the page's sources.
  for (const f of readdirSync(new URL("www/", root))) {
    const text = readFileSync(new URL(`www/${f}`, root), "utf8");
    assert.doesNotMatch(text, /["'`(]\/(pkg|registry)\b/, `www/${f} names an absolute URL`);
  }
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const paths = [];
    ctx.on("request", (r) => paths.push(new URL(r.url()).pathname));
    const p = await ctx.newPage();
    p.on("pageerror", (e) => console.error("page error (sub path):", e.message));
    await p.goto(`${server.url}/demo/`, { waitUntil: "domcontentloaded", timeout: 60000 });
    await p.locator('#trust[data-state="ok"]').waitFor({ timeout: 30000 });
    assert.equal(await p.locator("#registry-url").inputValue(), `${server.url}/demo/registry`);
    await p.locator('button[data-ref="digits@1"]').click();
    await p.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 30000 });
    await drawOne(p);
    await p.locator('#offline[data-state="ok"]').waitFor({ timeout: 30000 });
    assert.match(await p.evaluate(async () => (await navigator.serviceWorker.ready).scope), /\/demo\/$/);
    assert.ok(paths.some((x) => x.endsWith(".wasm")) && paths.some((x) => x.includes("/targets/")));
    const outside = paths.filter((x) => !x.startsWith("/demo/"));
    assert.deepEqual(outside, [], "requests outside /demo/");
    await shot("11-sub-path", p);
  } finally {
    await ctx.close();
  }
});

test("once visited, the page opens and runs its cached model offline (service worker for the page, IndexedDB for the model)", async () => {
  const own = await startServer(["www", "--mount", "/pkg=pkg", "--mount", `/registry=${sample}`]);
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const p = await ctx.newPage();
    p.on("pageerror", (e) => console.error("page error (offline):", e.message));
    await p.goto(`${own.url}/`, { waitUntil: "domcontentloaded", timeout: 60000 });
    await p.locator('#trust[data-state="ok"]').waitFor({ timeout: 30000 });
    await p.locator('#offline[data-state="ok"]').waitFor({ timeout: 30000 });
    await p.locator('button[data-ref="digits@1"]').click();
    await p.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 30000 });
    // No network: the browser context is offline, and the server is gone too.
    await ctx.setOffline(true);
    own.stop();
    const resp = await p.reload({ waitUntil: "domcontentloaded", timeout: 60000 });
    assert.ok(resp.fromServiceWorker(), "the page came from the service worker");
    await p.locator('#status[data-state="ok"]').waitFor({ timeout: 30000 });
    await p.locator('#trust[data-state="warn"]').waitFor({ timeout: 30000 });
    assert.match(await p.locator("#trust").textContent(), /Offline: using the last verified metadata/);
    await p.locator('button[data-ref="digits@1"]').click();
    await p.locator("#load-ref", { hasText: "is loaded and verified" }).waitFor({ timeout: 30000 });
    assert.match(await p.locator("#load-source").textContent(), /cache \(re-verified on read\)/);
    await drawOne(p);
    await shot("12-offline", p);
  } finally {
    await ctx.close();
    own.stop();
  }
});
