// The long calls of the package in Node: progress events, cancellation with an AbortSignal,
// retries with backoff and resumption, stall timeouts, and the cache calls (has, prefetch,
// what a refresh changed). The registry is the "good" test registry
// (examples/registry_fixtures.rs, target/registry-fixtures) served by a small server in this
// file that can fail, cut, stall or ignore ranges on the requests a test plans.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { readFileSync, existsSync, statSync } from "node:fs";
import { loadPkg, root, readJson } from "./helpers.mjs";

const pkg = await loadPkg();
const fixtures = new URL(`${process.env.REGISTRY_FIXTURES || "target/registry-fixtures"}/`, root);
const trustedRoot = readFileSync(new URL("root.json", fixtures));
const digits1 = readFileSync(new URL("tests/fixtures/models/digits-v1/model.onnx", root));
const fast = { retries: 3, baseDelayMs: 5, maxDelayMs: 20, stallTimeoutMs: 400 };

// Planned faults: path suffix -> actions taken by the next requests of that path, in order:
//   "503"           answer 503
//   "drop:N"        send the headers of the whole body, N bytes, then cut the connection
//   "stall"         send the headers, then nothing (until the client gives up)
//   "hang"          send nothing at all
//   "norange"       answer 200 with the whole body, ignoring a Range header
// With no action left, a request is served normally (206 for a range).
const plans = new Map();
const log = [];
let server, base;

function serve(req, res) {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const file = new URL(`.${path}`, fixtures);
  const key = [...plans.keys()].find((k) => path.endsWith(k));
  const action = key ? plans.get(key).shift() : undefined;
  const range = req.headers.range;
  log.push({ path, range, action });
  if (action === "hang") return;
  if (action === "503") { res.writeHead(503); res.end(); return; }
  if (!existsSync(file) || !statSync(file).isFile()) { res.writeHead(404); res.end(); return; }
  const body = readFileSync(file);
  if (action === "drop" || action?.startsWith("drop:")) {
    res.writeHead(200, { "content-length": body.length });
    res.write(body.subarray(0, Number(action.split(":")[1])), () => setTimeout(() => res.socket.destroy(), 20));
    return;
  }
  if (action === "stall") { res.writeHead(200, { "content-length": body.length }); res.flushHeaders(); return; }
  const m = /^bytes=(\d+)-$/.exec(range ?? "");
  if (m && action !== "norange") {
    const from = Number(m[1]);
    res.writeHead(206, { "content-range": `bytes ${from}-${body.length - 1}/${body.length}`, "content-length": body.length - from });
    res.end(body.subarray(from));
    return;
  }
  res.writeHead(200, { "content-length": body.length });
  res.end(body);
}

before(async () => {
  server = createServer(serve);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

async function open(extra = {}) {
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, retry: fast, ...extra });
  await reg.refresh();
  return reg;
}

const modelFile = (reg, ref) => reg.resolve(ref).path.split("/").pop();
const sha = (b) => createHash("sha256").update(b).digest("hex");

test("progress: refresh names each metadata file; load reports download, verify, compile, then the cache", async () => {
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot });
  const meta = [];
  await reg.refresh({ onProgress: (e) => meta.push(e) });
  const done = meta.filter((e) => e.status === "done").map((e) => e.file);
  assert.ok(["timestamp.json", "snapshot.json", "targets.json"].every((f) => done.some((d) => d.endsWith(f))), done.join());
  assert.ok(meta.every((e) => e.phase === "metadata" && e.source === "network"));
  const ts = meta.find((e) => e.status === "done" && e.file.endsWith("timestamp.json"));
  assert.ok(ts.loaded > 0 && ts.total === ts.loaded);

  const events = [];
  const model = await reg.load("digits@production", { onProgress: (e) => events.push(e) });
  const steps = events.filter((e) => e.status !== "progress").map((e) => `${e.phase}:${e.status}`);
  assert.deepEqual(steps, ["download:initiate", "download:done", "verify:initiate", "verify:done", "compile:initiate", "compile:done"]);
  assert.ok(events.every((e) => e.file === reg.resolve("digits@production").path));
  assert.equal(model.fetched.source, "network");
  assert.equal(model.fetched.sha256, sha(digits1));

  const again = [];
  const cached = await reg.load("digits@production", { onProgress: (e) => again.push(e) });
  assert.equal(cached.fetched.source, "cache");
  assert.deepEqual(again.filter((e) => e.status !== "progress").map((e) => `${e.phase}:${e.status}`),
    ["cache:initiate", "cache:done", "compile:initiate", "compile:done"]);
});

test("retries: a 503, a cut connection and a stall are retried with backoff; the download resumes with a range", async () => {
  const reg = await open();
  const file = modelFile(reg, "digits@1");
  plans.set(file, ["503", "drop:1000", "stall"]);
  log.length = 0;
  const events = [];
  const got = await reg.fetchModel("digits@1", { onProgress: (e) => events.push(e) });
  assert.deepEqual(Buffer.from(got.bytes), digits1);
  assert.equal(got.sha256, sha(digits1));
  const retries = events.filter((e) => e.status === "retry");
  assert.deepEqual(retries.map((e) => e.attempt), [1, 2, 3]);
  assert.ok(retries.every((e) => e.phase === "download" && e.delayMs >= 2 && e.delayMs <= 20), JSON.stringify(retries));
  const tries = log.filter((r) => r.path.endsWith(file));
  assert.deepEqual(tries.map((r) => [r.action ?? "ok", r.range ?? null]),
    [["503", null], ["drop:1000", null], ["stall", "bytes=1000-"], ["ok", "bytes=1000-"]]);
  assert.equal(events.filter((e) => e.status === "progress").at(-1).loaded, digits1.length);
});

test("retries: a server that ignores the range sends everything again and the prefix is skipped", async () => {
  const reg = await open();
  const file = modelFile(reg, "digits@1");
  plans.set(file, ["drop:777", "norange"]);
  const got = await reg.fetchModel("digits@1");
  assert.deepEqual(Buffer.from(got.bytes), digits1);
  assert.equal(plans.get(file).length, 0);
});

test("retries: give up after the configured number; no retry for a 404 or with retry: false", async () => {
  const reg = await open({ retry: { ...fast, retries: 1 } });
  const file = modelFile(reg, "digits@1");
  plans.set(file, ["503", "503", "503"]);
  const events = [];
  await assert.rejects(reg.fetchModel("digits@1", { onProgress: (e) => events.push(e) }), (e) => e.code === "HTTP_STATUS" || e.code === "NETWORK");
  assert.equal(events.filter((e) => e.status === "retry").length, 1);
  assert.equal(plans.get(file).length, 1, "two requests: the first and one retry");
  plans.set(file, []);
  assert.deepEqual(await reg.cache.list(), []);

  const none = await open({ retry: false });
  plans.set(file, ["503"]);
  await assert.rejects(none.fetchModel("digits@1"));
  plans.set(file, []);
  assert.equal((await none.fetchModel("digits@1")).source, "network");
  await assert.rejects(pkg.Registry.open({ url: base, trustedRoot, retry: { retries: -1 } }), (e) => e.code === "INVALID_ARGUMENT");
});

test("cancel: open, refresh, fetchModel and load reject with the signal's reason, promptly, and the cache stays usable", async () => {
  const pre = AbortSignal.abort(new Error("not now"));
  await assert.rejects(pkg.Registry.open({ url: `${base}/good`, trustedRoot, signal: pre }), /not now/);

  const reg = await open({ retry: false });
  plans.set("timestamp.json", ["hang"]);
  const ctl = new AbortController();
  const t0 = performance.now();
  setTimeout(() => ctl.abort(), 100);
  await assert.rejects(reg.refresh({ signal: ctl.signal }), (e) => e.name === "AbortError");
  assert.ok(performance.now() - t0 < 1500, `refresh stopped after ${performance.now() - t0} ms`);
  plans.set("timestamp.json", []);
  // The catalogue of the first refresh is still in use, and a new refresh works.
  assert.equal(reg.resolve("digits@production").version, "1");
  assert.equal((await reg.refresh()).offline, false);

  const file = modelFile(reg, "digits@1");
  plans.set(file, ["stall"]);
  const c2 = new AbortController();
  setTimeout(() => c2.abort(new Error("user cancelled")), 100);
  await assert.rejects(reg.load("digits@1", { signal: c2.signal }), /user cancelled/);
  plans.set(file, []);
  assert.equal(await reg.cache.has("digits@1"), false);
  const model = await reg.load("digits@1");
  assert.equal(model.fetched.source, "network");
  assert.equal(await reg.cache.has("digits@1"), true);
});

test("cancel: evaluate and compare stop their CPU work within a chunk and reject with the reason", async () => {
  const fixture = (p) => new URL(`tests/fixtures/models/${p}`, root);
  const card = readJson("tests/fixtures/models/digits-v1/card.json");
  const v1 = pkg.Model.fromBytes(readFileSync(fixture("digits-v1/model.onnx")), card);
  const v2 = pkg.Model.fromBytes(readFileSync(fixture("digits-v2/model.onnx")), readJson("tests/fixtures/models/digits-v2/card.json"));
  const csv = readFileSync(fixture("digits-v1/test.csv"), "utf8");
  const [head, ...rows] = csv.trimEnd().split("\n");
  const big = [head, ...Array.from({ length: 40 }, () => rows).flat()].join("\n"); // 18,000 rows
  // async and sync agree.
  const asyncReport = await v1.evaluate(csv);
  const syncReport = v1.evaluateSync(csv);
  for (const r of [asyncReport, syncReport]) { delete r.runtime; delete r.time; delete r.latency; }
  assert.deepEqual(asyncReport, syncReport);

  for (const run of [(o) => v1.evaluate(big, o), (o) => v1.compare(v2, big, o)]) {
    const ctl = new AbortController();
    const seen = [];
    let abortedAt;
    const onProgress = (p) => {
      seen.push(p);
      if (p.status === "progress" && abortedAt === undefined) {
        setTimeout(() => { abortedAt = performance.now(); ctl.abort(); }, 0);
      }
    };
    await assert.rejects(run({ signal: ctl.signal, onProgress }), (e) => e.name === "AbortError");
    const after = performance.now() - abortedAt;
    assert.ok(after < 500, `stopped ${after} ms after the abort`);
    assert.ok(seen.at(-1).bytes < big.length, "stopped before the end of the data");
    assert.ok(seen.every((p) => p.phase === "evaluate"));
  }
  await assert.rejects(v1.evaluate(csv, { signal: AbortSignal.abort() }), (e) => e.name === "AbortError");
});

test("cache: has, prefetch (download and verify without loading), and what a refresh changed", async () => {
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, retry: fast });
  const first = await reg.refresh();
  const added = first.changes.added.map((v) => `${v.model}@${v.version}`);
  assert.ok(added.includes("digits@1") && added.includes("digits@2"), added.join());
  assert.ok(first.changes.aliases.some((a) => a.model === "digits" && a.alias === "production" && a.from === null && a.to === "1"));
  const second = await reg.refresh();
  assert.deepEqual(second.changes, { added: [], removed: [], changed: [], aliases: [] });

  assert.equal(await reg.cache.has("digits@2"), false);
  const events = [];
  const p = await reg.cache.prefetch("digits@2", { onProgress: (e) => events.push(e) });
  assert.equal(p.source, "network");
  assert.equal(p.version, "2");
  assert.ok(events.some((e) => e.phase === "verify" && e.status === "done"));
  assert.equal(await reg.cache.has("digits@2"), true);
  assert.equal((await reg.cache.prefetch("digits@2")).source, "cache");
  await assert.rejects(reg.cache.has("nope@1"), (e) => e.code === "MODEL_NOT_FOUND");
});

test("fileStore: a new process starts warm and offline from the directory; a byte another process changed is refused and repaired", async () => {
  const { mkdtempSync, readdirSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { execFileSync } = await import("node:child_process");
  const { fileStore } = await import(new URL("file-store.js", pkgDir()));
  const dir = mkdtempSync(join(tmpdir(), "er-files-"));
  // One registryId: the same registry served from another URL shares the stored state.
  const registryId = "calls-test";
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: fileStore(dir), retry: false, registryId });
  await reg.refresh();
  assert.equal((await reg.fetchModel("digits@1")).source, "network");

  // Another Node process, the package's node entry, the registry unreachable.
  const script = `
    import { Registry, fileStore } from ${JSON.stringify(new URL("node.js", pkgDir()).href)};
    const reg = await Registry.open({ url: "http://127.0.0.1:9/good", trustedRoot: process.env.ROOT, cache: fileStore(process.env.DIR), retry: false, registryId: "calls-test" });
    const r = await reg.refresh();
    const f = await reg.fetchModel("digits@production");
    console.log(JSON.stringify({ offline: r.offline, source: f.source, sha256: f.sha256 }));`;
  const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script],
    { env: { ...process.env, DIR: dir, ROOT: trustedRoot.toString() } }).toString());
  assert.deepEqual(out, { offline: true, source: "cache", sha256: sha(digits1) });

  // A foreign writer flips a byte of every stored chunk.
  const files = [];
  const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { const p = join(d, e.name); if (e.isDirectory()) walk(p); else files.push(p); } };
  walk(dir);
  const chunks = files.filter((f) => readFileSync(f).length > 1000 && !f.endsWith(".json"));
  assert.ok(chunks.length >= 1, files.join("\n"));
  for (const f of chunks) { const b = readFileSync(f); b[b.length >> 1] ^= 1; writeFileSync(f, b); }
  const again = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: fileStore(dir), retry: false, registryId });
  await again.refresh();
  const f = await again.fetchModel("digits@1");
  assert.deepEqual(Buffer.from(f.bytes), digits1);
  assert.equal(f.cacheRepaired, true);
  assert.equal(f.source, "network");
  // Keys cannot leave the directory.
  const store = fileStore(dir);
  await assert.rejects(store.put("../escape", new Uint8Array(1)), /bad store key/);
  await assert.rejects(store.get("a/../../etc/passwd"), /bad store key/);
});

test("adapters: verifiedBytes feeds onnxruntime; registryCache answers transformers.js with verified bytes and refuses tampered ones", async () => {
  const { verifiedBytes, registryCache } = await import(new URL("adapters.js", pkgDir()));
  const reg = await open();
  const bytes = await verifiedBytes(reg, "digits@1");
  assert.deepEqual(Buffer.from(bytes), digits1);
  const hub = "https://hub.invalid/org/digits/resolve/main/onnx/model.onnx";
  const cache = registryCache(reg, { [hub]: "digits@production" });
  const hit = await cache.match(hub);
  assert.equal(hit.status, 200);
  assert.equal(hit.headers.get("x-edge-registry-sha256"), sha(digits1));
  assert.deepEqual(Buffer.from(await hit.arrayBuffer()), digits1);
  assert.equal(await cache.match("https://hub.invalid/other.onnx"), undefined);
  await cache.put(hub, new Response("not stored"));
  const tampered = await pkg.Registry.open({ url: `${base}/tampered`, trustedRoot, retry: false });
  await tampered.refresh();
  await assert.rejects(registryCache(tampered, () => "digits@2").match(hub), (e) => e.code === "HASH_MISMATCH");

  // onnxruntime-web, where `make bench-peers` installed it (benches/peers): a session from the
  // verified bytes gives the outputs our engine gives.
  const ortPath = new URL("benches/peers/node_modules/onnxruntime-web/dist/ort.node.min.mjs", root);
  if (!existsSync(ortPath)) return;
  const ort = await import(ortPath.href);
  const session = await ort.InferenceSession.create(bytes);
  const x = new Float32Array(64).map((_, i) => (i * 7) % 16);
  const name = session.inputNames[0];
  const theirs = await session.run({ [name]: new ort.Tensor("float32", x, [1, 64]) });
  const ours = await pkg.Model.fromBytes(bytes).run({ [name]: new pkg.Tensor("float32", x, [1, 64]) });
  for (const k of Object.keys(ours)) {
    if (ours[k].type !== "float32") continue;
    assert.ok(ours[k].data.every((v, i) => Math.abs(v - theirs[k].data[i]) < 1e-4), k);
  }
});

function pkgDir() {
  return process.env.PKG_DIR ? new URL(`file://${process.env.PKG_DIR.replace(/\/?$/, "/")}`) : new URL("pkg/", root);
}
