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
import { loadPkg, root, startServer } from "./helpers.mjs";

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
  assert.deepEqual(events.at(-1), { loaded: digits1.length, total: digits1.length, source: "network" });
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
  const out = model.run({ input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } });
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
    reg.fetchModel("big@1", { signal: ctl.signal, onProgress: (p) => { seen = p.loaded; ctl.abort(); } }),
    (e) => e.code === "ABORTED");
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
  const m = new Map();
  const store = {
    get: (k) => m.get(k),
    put: (k, v) => { m.set(k, v.slice()); },
    delete: (k) => { m.delete(k); },
    keys: (p) => [...m.keys()].filter((k) => k.startsWith(p)),
  };
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: store });
  assert.equal(reg.cacheKind, "custom");
  await reg.refresh();
  await reg.fetchModel("digits@production");
  const offline = await pkg.Registry.open({
    url: process.env.EDGE_REGISTRY_TEST_OFFLINE || "http://127.0.0.1:18124", trustedRoot, cache: store,
  });
  const r = await offline.refresh();
  assert.equal(r.offline, true);
  assert.equal(r.networkError.code, "NETWORK");
  const hit = await offline.fetchModel("digits@production");
  assert.equal(hit.source, "cache");
  assert.equal(hit.offline, true);
  await assert.rejects(offline.fetchModel("digits@2"), (e) => e.code === "NETWORK");
  const expired = await pkg.Registry.open({
    url: "http://127.0.0.1:18124", trustedRoot, cache: store, now: new Date("2100-06-01"),
  });
  await assert.rejects(expired.refresh(), (e) => e.code === "EXPIRED");
  const optedIn = await pkg.Registry.open({
    url: "http://127.0.0.1:18124", trustedRoot, cache: store, now: new Date("2100-06-01"),
    allowExpiredOffline: true,
  });
  assert.equal((await optedIn.refresh()).expired, true);
  assert.equal((await optedIn.fetchModel("digits@production")).expired, true);
});
