// The registry client of the built package (pkg/, release + SIMD) in Node, exactly as a Node
// script uses it: the global fetch, the memory cache or a caller's store object, against the
// test registries (examples/registry_fixtures.rs) served by `edge-registry serve --stats`.
// scripts/test starts that server (EDGE_REGISTRY_TEST_SERVER); otherwise this file starts one
// over target/registry-fixtures (write it with `cargo run --example registry_fixtures --
// target/registry-fixtures`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertClose, loadPkg, root, startServer } from "./helpers.mjs";
import { mapStore } from "../shared/verification.mjs";

const pkg = await loadPkg();
const fixtures = new URL(`${process.env.REGISTRY_FIXTURES || "target/registry-fixtures"}/`, root);
const trustedRoot = readFileSync(new URL("root.json", fixtures));
const digits1 = readFileSync(new URL("tests/fixtures/models/digits-v1/model.onnx", root));
let server;
let base = process.env.EDGE_REGISTRY_TEST_SERVER;

before(async () => {
  if (!base) {
    server = await startServer([fixtures.pathname, "--stats", "--quiet"]);
    base = server.url;
  }
});
after(() => server?.stop());

async function stats() {
  return (await fetch(`${base}/_stats`)).json();
}
function targetRequests(before, after, prefix) {
  let n = 0;
  for (const [path, count] of Object.entries(after.requests)) {
    if (path.startsWith(prefix)) n += count - (before.requests[path] ?? 0);
  }
  return n;
}

test("Node: memory cache by default; refresh, models, resolve, fetchModel, cache hit", async () => {
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot });
  assert.equal(reg.cacheKind, "memory");
  const r = await reg.refresh();
  assert.equal(r.offline, false);
  assert.equal(r.roles.timestamp.version, 2);
  assert.match(r.roles.targets.expires, /^2100-01-01/);
  assert.deepEqual(reg.models().map((m) => m.name), ["acme-iris", "big", "digits", "iris", "pad"]);
  assert.deepEqual(reg.resolve("digits"), {
    ...reg.resolve("digits@1"),
    alias: "production",
  });
  const events = [];
  const s0 = await stats();
  const first = await reg.fetchModel("digits", { onProgress: (p) => events.push(p) });
  assert.equal(first.source, "network");
  assert.ok(first.bytes instanceof Uint8Array);
  assert.deepEqual(Buffer.from(first.bytes), digits1);
  assert.equal(first.sha256, createHash("sha256").update(digits1).digest("hex"));
  assert.equal(first.card.name, "digits");
  // transformers.js-like events: download, verify, cache write, each initiate ... done.
  const n = digits1.length;
  const file = reg.resolve("digits").path;
  assert.deepEqual(events.map((e) => `${e.phase}:${e.status}`).filter((s) => !s.endsWith(":progress")),
    ["download:initiate", "download:done", "verify:initiate", "verify:done", "cache:initiate", "cache:done"]);
  assert.ok(events.every((e) => e.file === file && e.total === n && e.source === "network"));
  assert.deepEqual(events.at(-1), { phase: "cache", status: "done", file, loaded: n, total: n, progress: 100, source: "network" });
  const chunks = events.filter((e) => e.status === "progress");
  assert.ok(chunks.length >= 1 && chunks.at(-1).loaded === n && chunks.every((e, i) => i === 0 || e.loaded > chunks[i - 1].loaded));
  const second = await reg.fetchModel("digits@production");
  assert.equal(second.source, "cache");
  assert.deepEqual(second.bytes, first.bytes);
  const s1 = await stats();
  assert.equal(targetRequests(s0, s1, "/good/targets/models/digits/1/"), 1);
  const [entry] = await reg.cache.list();
  assert.equal(entry.model, "digits");
  assert.equal(entry.bytes, digits1.length);
  const usage = await reg.cache.usage();
  assert.equal(usage.bytes, digits1.length);
  assert.equal(usage.browser, null, "Node has no navigator.storage.estimate");
  assert.equal(await reg.cache.persist(), false);
});

test("Node: load() returns a Model checked against its card", async () => {
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot });
  await reg.refresh();
  const model = await reg.load("iris");
  assert.equal(model.inputs[0].name, "input");
  const out = await model.run({ input: { type: "float32", data: [5.1, 3.5, 1.4, 0.2], dims: [1, 4] } });
  assert.ok(Object.keys(out).length > 0);
  await assert.rejects(reg.load("pad@1"), (e) => e.code === "BAD_CARD");
});

test("Node: coded errors for tampering, oversize, abort and quota", async () => {
  const tampered = await pkg.Registry.open({ url: `${base}/tampered`, trustedRoot });
  await tampered.refresh();
  await assert.rejects(tampered.fetchModel("digits@2"),
    (e) => e instanceof Error && e.name === "EdgeRegistryError" && e.code === "HASH_MISMATCH");
  assert.deepEqual(await tampered.cache.list(), []);
  const oversized = await pkg.Registry.open({ url: `${base}/oversized`, trustedRoot });
  await oversized.refresh();
  await assert.rejects(oversized.fetchModel("pad@1"), (e) => e.code === "LENGTH_EXCEEDED");
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot });
  await reg.refresh();
  const ctl = new AbortController();
  let seen = 0;
  await assert.rejects(
    reg.fetchModel("big@1", { signal: ctl.signal, onProgress: (p) => { if (p.status === "progress") { seen = p.loaded; ctl.abort(); } } }),
    (e) => e.name === "AbortError", "rejects with the signal's reason");
  assert.ok(seen > 0 && seen < 2 << 20);
  assert.deepEqual(await reg.cache.list(), []);
  const small = await pkg.Registry.open({
    url: `${base}/good`, trustedRoot, limits: { maxCacheBytes: 150000 },
  });
  await small.refresh();
  await assert.rejects(small.fetchModel("big@1"), (e) => e.code === "QUOTA");
  assert.deepEqual(await small.cache.list(), []);
  await assert.rejects(pkg.Registry.open({ url: `${base}/good`, trustedRoot: "{}" }),
    (e) => e.code === "BAD_METADATA");
});

test("Node: a caller's store keeps verified models and trusted metadata across instances, offline too", async () => {
  const store = mapStore();
  // One registry reached through two URLs (the server, and an address where nothing
  // listens): one registryId, so both clients keep their state in one namespace.
  const registryId = "the-test-registry";
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: store, registryId });
  assert.equal(reg.cacheKind, "custom");
  await reg.refresh();
  await reg.fetchModel("digits@production");
  const offline = await pkg.Registry.open({
    url: process.env.EDGE_REGISTRY_TEST_OFFLINE || "http://127.0.0.1:18124", trustedRoot, cache: store,
    registryId,
  });
  const r = await offline.refresh();
  assert.equal(r.offline, true);
  assert.equal(r.networkError.code, "NETWORK");
  const hit = await offline.fetchModel("digits@production");
  assert.equal(hit.source, "cache");
  assert.equal(hit.offline, true);
  await assert.rejects(offline.fetchModel("digits@2"), (e) => e.code === "NETWORK");
  const expired = await pkg.Registry.open({
    url: "http://127.0.0.1:18124", trustedRoot, cache: store, now: new Date("2100-06-01"), registryId,
  });
  await assert.rejects(expired.refresh(), (e) => e.code === "EXPIRED");
  const optedIn = await pkg.Registry.open({
    url: "http://127.0.0.1:18124", trustedRoot, cache: store, now: new Date("2100-06-01"),
    allowExpiredOffline: true, registryId,
  });
  const late = await optedIn.refresh();
  assert.equal(late.expired, true);
  // Verified as of the last second the metadata was valid: a time from the metadata itself.
  assert.equal(late.referenceTime, "2099-12-31T23:59:59Z");
  assert.equal((await optedIn.fetchModel("digits@production")).expired, true);
  // Another URL without the shared id: its own namespace, nothing stored there.
  const other = await pkg.Registry.open({ url: "http://127.0.0.1:18124", trustedRoot, cache: store });
  await assert.rejects(other.refresh(), (e) => e.code === "NETWORK");
  await assert.rejects(pkg.Registry.open({ url: `${base}/good`, trustedRoot, registryId: 7 }),
    (e) => e.code === "INVALID_ARGUMENT");
});

test("Node: another registry's state written into the same store is never trusted", async () => {
  const store = mapStore();
  const m = store.map;
  const ns = (k) => k.split("/").slice(0, 2).join("/");
  const registryId = "one-registry";
  const offlineUrl = process.env.EDGE_REGISTRY_TEST_OFFLINE || "http://127.0.0.1:18124";
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: store, registryId });
  await reg.refresh();
  const genuine = await reg.fetchModel("digits@production");
  const ours = new Set([...m.keys()].map(ns));
  assert.equal(ours.size, 1, [...ours].join());
  // The attacker's registry (own keys, root version 3) through the same store...
  const attackerRoot = readFileSync(new URL("attacker/metadata/1.root.json", fixtures));
  const att = await pkg.Registry.open({ url: `${base}/attacker`, trustedRoot: attackerRoot, cache: store, registryId });
  assert.equal((await att.refresh()).roles.root.version, 3);
  const theirs = await att.fetchModel("digits@production");
  assert.notEqual(theirs.sha256, genuine.sha256);
  // ...copied over the genuine client's state by a writer of the store.
  for (const [k, v] of [...m]) {
    if (ours.has(ns(k))) continue;
    for (const o of ours) m.set(o + k.slice(ns(k).length), v);
  }
  const offline = await pkg.Registry.open({ url: offlineUrl, trustedRoot, cache: store, registryId });
  await assert.rejects(offline.refresh(), (e) => e.code === "SIGNATURE_THRESHOLD");
  await assert.rejects(offline.fetchModel("digits@production"));
  // Online: the pinned root's chain alone decides, and the genuine model is served.
  const online = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: store, registryId });
  assert.equal((await online.refresh()).roles.root.version, 1);
  const again = await online.fetchModel("digits@production");
  assert.equal(again.sha256, genuine.sha256);
  assert.deepEqual(Buffer.from(again.bytes), digits1);
  // Cache entries that the verified catalogue does not sign are flagged.
  const flags = Object.fromEntries((await online.cache.list()).map((e) => [`${e.model}@${e.version}`, e.verified]));
  assert.equal(flags["digits@1"], true);
  // clear() removes the trust state too; clear({ keepTrust: true }) keeps it.
  await online.cache.clear({ keepTrust: true });
  assert.ok([...m.keys()].some((k) => ours.has(ns(k)) && k.includes("/tuf/")));
  await online.cache.clear();
  assert.ok(![...m.keys()].some((k) => ours.has(ns(k))), [...m.keys()].filter((k) => ours.has(ns(k))).join());
});

test("Node: signed files, gate checks and champion vs challenger through the registry", async () => {
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot });
  await reg.refresh();
  const csv = await reg.fetchFile("digits@production", "eval.csv");
  assert.deepEqual(Buffer.from(csv), readFileSync(new URL("tests/fixtures/models/digits-v1/test.csv", root)));
  await assert.rejects(reg.fetchFile("digits@1", "nope.csv"), (e) => e.code === "MODEL_NOT_FOUND");

  // digits 1 passes its gate (accuracy >= 0.9) on the signed set; digits 2 fails its own (>= 0.99).
  const ok = await reg.load("digits@1", { verifyGate: true });
  assert.equal(ok.gates.passed, true);
  assert.ok(Math.abs(ok.gates.results[0].value - 0.9622222222222222) < 1e-12, ok.gates.results[0].value);
  assert.equal((await reg.load("digits@2")).gates, undefined);
  await assert.rejects(reg.load("digits@staging", { verifyGate: true }), (e) => {
    assert.equal(e.code, "GATE_FAILED");
    assert.match(e.message, /accuracy = 0\.98\d* \(min 0\.99\)/);
    return true;
  });
  await assert.rejects(reg.load("digits@1", { verifyGate: "yes" }), (e) => e.code === "INVALID_ARGUMENT");

  const report = await reg.compare("digits@production", "digits@staging", csv);
  assert.equal(report.model.reference, "digits@production");
  assert.equal(report.model.targetPath, "models/digits/1/model.onnx");
  assert.equal(report.comparison.challenger.targetPath, "models/digits/2/model.onnx");
  assert.equal(report.comparison.challenger.reference, "digits@staging");
  assert.ok(Math.abs(report.results.classification.accuracy - 0.9622222222222222) < 1e-12);
  const acc = report.comparison.metrics.find((m) => m.metric === "accuracy");
  assert.ok(acc.delta > 0 && acc.ciLow <= acc.delta && acc.delta <= acc.ciHigh, JSON.stringify(acc));
});

test("Node: staged rollouts: sticky per-client buckets, weights, stages by date, gated rollback", async () => {
  const url = `${base}/rollout`;
  const store = mapStore();
  const reg = await pkg.Registry.open({ url, trustedRoot, cache: store });
  await reg.refresh();
  // A random id, kept in the store: the next session (a reload) has the same one.
  assert.match(reg.clientId, /^[0-9a-f]{32}$/);
  const again = await pkg.Registry.open({ url, trustedRoot, cache: store });
  assert.equal(again.clientId, reg.clientId);
  await again.refresh();
  assert.equal(again.resolve("digits@canary").version, reg.resolve("digits@canary").version);
  const app = await pkg.Registry.open({ url, trustedRoot, clientId: "user-42" });
  assert.equal(app.clientId, "user-42");

  // Stage 1 (now, 2026 or later): half the clients; 400 ids within 5 standard deviations.
  const share = (r) => {
    let on = 0;
    for (let i = 0; i < 400; i++) {
      const res = r.resolve("digits@canary", { clientId: `id-${i}` });
      assert.equal(res.rollout.chosen, res.version);
      if (res.version === "2") on++;
    }
    return on / 400;
  };
  const half = share(reg);
  assert.ok(Math.abs(half - 0.5) < 0.125, half);
  assert.equal(share(reg), half, "sticky");
  const one = reg.resolve("digits@canary", { clientId: "id-1" });
  assert.equal(one.rollout.stage, 0);
  assert.match(one.rollout.bucket, /^0\.\d{6}$/);
  assert.deepEqual(one.rollout.weights, { 1: 50, 2: 50 });
  // The same rule natively (tests/registry.rs) and here: the CLI and every runtime agree.
  assert.equal(reg.resolve("digits@1", { clientId: "id-1" }).rollout, null);
  // Stage 2 by date: everyone on the candidate; before stage 1: everyone on the baseline.
  const later = await pkg.Registry.open({ url, trustedRoot, now: Date.UTC(2027, 1, 1) });
  await later.refresh();
  assert.equal(share(later), 1);
  const earlier = await pkg.Registry.open({ url, trustedRoot, now: Date.UTC(2025, 11, 31) });
  await earlier.refresh();
  assert.equal(share(earlier), 0);
  assert.equal(earlier.resolve("digits@canary", { clientId: "x" }).rollout.reason, "not_started");
  const info = reg.models().find((m) => m.name === "digits");
  assert.equal(info.rollouts.production.gate, true);
  assert.equal(info.rollouts.canary.stages.length, 2);
  assert.throws(() => reg.resolve("digits@canary", { clientId: "" }), (e) => e.code === "INVALID_ARGUMENT");

  // Gated: a client the rollout sends to digits 2 (which fails its gate) gets digits 1.
  let id = 0;
  while (reg.resolve("digits@production", { clientId: `id-${id}` }).version !== "2") id++;
  const heard = [];
  const m = await reg.load("digits@production", { clientId: `id-${id}`, onRollback: (c) => heard.push(c) });
  assert.equal(m.fetched.version, "1");
  assert.equal(m.fetched.rollout.rollback.code, "GATE_FAILED");
  assert.equal(m.fetched.rollout.rollback.from, "2");
  assert.equal(heard.length, 1);
  assert.equal(heard[0].chosen, "1");
  const s0 = await stats();
  const m2 = await reg.load("digits@production", { clientId: `id-${id}` });
  assert.equal(m2.fetched.rollout.rollback.remembered, true);
  assert.equal(targetRequests(s0, await stats(), "/rollout/targets/models/digits/2/"), 0);
  // Without a gate the same client runs the candidate.
  assert.equal((await reg.load("digits@canary", { clientId: `id-${id}` })).fetched.version, "2");
});

test("registry.compare in Node equals `edge-registry eval --registry` (same registry, same rows)", async () => {
  const bin = process.env.EDGE_REGISTRY_BIN || new URL("target/debug/edge-registry", root).pathname;
  const dir = mkdtempSync(join(tmpdir(), "er-cli-"));
  const data = new URL("tests/fixtures/models/digits-v1/test.csv", root).pathname;
  const args = ["eval", "--registry", `${base}/good`, "--root", new URL("root.json", fixtures).pathname,
    "--cache-dir", join(dir, "cache"), "--model", "digits@production", "--against", "digits@staging",
    "--data", data, "--json"];
  const want = JSON.parse(execFileSync(bin, args, { stdio: ["ignore", "pipe", "ignore"] }));
  // A second CLI run is served from the CLI's verified cache: no model requests at the server.
  const s0 = await stats();
  const again = execFileSync(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(targetRequests(s0, await stats(), "/good/targets/models/digits/"), 0);
  assert.deepEqual(JSON.parse(again).results, want.results);

  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot });
  await reg.refresh();
  const got = pkg.reportDocument(await reg.compare("digits@production", "digits@staging", readFileSync(data)));
  assert.equal(got.runtime.runtime, "node");
  assert.equal(want.runtime.runtime, "native");
  delete got.runtime;
  delete want.runtime;
  assert.deepEqual(got.model, want.model);
  assert.deepEqual(got.comparison.challenger, want.comparison.challenger);
  assert.deepEqual(got.results.classification.confusion_matrix, want.results.classification.confusion_matrix);
  assert.deepEqual(got.comparison.mcnemar, want.comparison.mcnemar);
  assertClose(got, want, 1e-6);
});
