// The per-runtime entry points and the Cache API store, in Node:
// - pkg/node.js is ready at import (no init call), and `await init()` after it is harmless;
// - it loads the relaxed-SIMD build where Node has relaxed SIMD, else the SIMD build;
// - package.json routes each runtime's export condition to its entry;
// - cacheApiStore over a Cache (here a small in-memory implementation of the Cache interface,
//   as workerd's caches.default and browsers' caches.open() provide it): verified models and
//   trusted metadata outlive the Registry, an evicted entry is fetched again, a corrupted one is
//   detected on read and repaired.
// The same store runs against workerd's real Cache API in the edge tier (tests/edge/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { root, startServer } from "./helpers.mjs";

const pkgDir = process.env.PKG_DIR ? new URL(`file://${process.env.PKG_DIR.replace(/\/?$/, "/")}`) : new URL("pkg/", root);
const fixtures = new URL(`${process.env.REGISTRY_FIXTURES || "target/registry-fixtures"}/`, root);
const trustedRoot = readFileSync(new URL("root.json", fixtures));
let server;
let base = process.env.EDGE_REGISTRY_TEST_SERVER;
before(async () => {
  if (!base) {
    server = await startServer([fixtures.pathname, "--quiet"]);
    base = server.url;
  }
});
after(() => server?.stop());

/** The Cache interface (match, put, delete keyed by GET requests), in memory. */
class MemoryCache {
  constructor() { this.entries = new Map(); this.puts = 0; }
  async match(req) {
    const hit = this.entries.get(new Request(req).url);
    return hit ? new Response(hit.body.slice(), { headers: hit.headers }) : undefined;
  }
  async put(req, res) {
    const r = new Request(req);
    if (r.method !== "GET") throw new TypeError("Cache.put: only GET requests");
    this.puts++;
    this.entries.set(r.url, { body: new Uint8Array(await res.arrayBuffer()), headers: [...res.headers] });
  }
  async delete(req) { return this.entries.delete(new Request(req).url); }
}

test("pkg/node.js is ready at import; init() after it is harmless", async () => {
  const node = await import(new URL("node.js", pkgDir));
  assert.equal(node.sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  await node.default();
  assert.equal(typeof node.Registry.open, "function");
});

test("pkg/ has a relaxed-SIMD build beside the SIMD one: each Node loads the one it runs, and their outputs agree", () => {
  // The same model and batch in two Node processes, one with relaxed SIMD and one without: each
  // reports the build it loaded, and the relaxed-SIMD module (fused multiply-add) gives the SIMD
  // module's predictions to within float rounding.
  const script = `
    import * as lib from ${JSON.stringify(new URL("node.js", pkgDir).href)};
    import { readFileSync } from "node:fs";
    const model = lib.Model.fromBytes(readFileSync(${JSON.stringify(new URL("tests/fixtures/models/digits-cnn/model.onnx", root).pathname)}));
    const data = Float32Array.from({ length: 8 * 64 }, (_, i) => ((i * 37) % 17) / 16);
    const out = model.runSync({ [model.inputs[0].name]: { data, shape: [8, 1, 8, 8] } });
    const scores = Object.values(out).find((t) => t.data instanceof Float32Array);
    console.log(JSON.stringify({ variant: lib.wasmVariant, file: lib.wasmFile, data: Array.from(scores.data) }));`;
  const run = (flag) => JSON.parse(execFileSync(process.execPath, [flag, "--input-type=module", "-e", script], { encoding: "utf8" }));
  const relaxed = run("--experimental-wasm-relaxed-simd");
  const plain = run("--no-experimental-wasm-relaxed-simd");
  assert.deepEqual([relaxed.variant, relaxed.file], ["relaxed-simd", "edge_registry_relaxed_bg.wasm"]);
  assert.deepEqual([plain.variant, plain.file], ["simd", "edge_registry_bg.wasm"]);
  assert.equal(relaxed.data.length, plain.data.length);
  assert.ok(plain.data.length >= 8);
  const scale = Math.max(...plain.data.map(Math.abs));
  const worst = Math.max(...plain.data.map((v, i) => Math.abs(v - relaxed.data[i])));
  assert.ok(worst <= 1e-5 * scale, `largest difference ${worst} of ${scale}`);
});

test("package.json routes each runtime's export condition to its entry", () => {
  const pj = JSON.parse(readFileSync(new URL("package.json", pkgDir), "utf8"));
  const dot = pj.exports["."];
  // Each condition with its entry and that entry's types.
  assert.deepEqual(dot.node, { types: "./node.d.ts", default: "./node.js" });
  assert.deepEqual(dot.deno, { types: "./deno.d.ts", default: "./deno.js" });
  assert.deepEqual(dot.workerd, { types: "./workerd.d.ts", default: "./workerd.js" });
  assert.deepEqual(dot.default, { types: "./edge_registry.d.ts", default: "./edge_registry.js" });
  // Conditions are matched in order: the browser default last.
  assert.deepEqual(Object.keys(dot), ["workerd", "deno", "node", "default"]);
  for (const f of ["node.js", "deno.js", "workerd.js", "cache-api-store.js"]) {
    assert.deepEqual(pj.exports[`./${f}`], { types: `./${f.replace(/\.js$/, ".d.ts")}`, default: `./${f}` });
    assert.ok(readFileSync(new URL(f, pkgDir)).length > 0, f);
  }
  assert.equal(pj.exports["./edge_registry_relaxed_bg.wasm"], "./edge_registry_relaxed_bg.wasm");
  assert.ok(readFileSync(new URL("edge_registry_relaxed_bg.wasm", pkgDir)).length > 0);
});

test("cacheApiStore: verified models outlive the Registry; eviction and corruption are repaired", async () => {
  const pkg = await import(new URL("node.js", pkgDir));
  const { cacheApiStore } = await import(new URL("cache-api-store.js", pkgDir));
  assert.throws(() => cacheApiStore({}), TypeError);
  assert.throws(() => cacheApiStore(new MemoryCache(), { prefix: "ftp://x/" }), TypeError);
  const cache = new MemoryCache();
  const open = () => pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: cacheApiStore(cache, { maxAgeSeconds: 60 }) });

  const first = await open();
  assert.equal(first.cacheKind, "custom");
  await first.refresh();
  const a = await first.fetchModel("digits@production");
  assert.equal(a.source, "network");
  const urls = [...cache.entries.keys()];
  assert.ok(urls.every((u) => u.startsWith("https://edge-registry.invalid/store/")), urls[0]);
  assert.ok(urls.some((u) => u.includes(encodeURIComponent("tuf/timestamp.json"))), "trusted metadata stored");
  assert.equal(cache.entries.values().next().value.headers.find(([k]) => k === "cache-control")[1], "public, max-age=60");

  // A new isolate: the trusted metadata and the model come from the cache, verified again.
  const second = await open();
  const hit = await second.fetchModel("digits@production");
  assert.equal(hit.source, "cache");
  assert.deepEqual(hit.bytes, a.bytes);

  // The cache evicts a piece of the model: fetched again from the registry.
  const chunk = urls.find((u) => u.includes(encodeURIComponent("chunk/")));
  assert.ok(chunk, `a chunk entry among ${urls.length}`);
  cache.entries.delete(chunk);
  const third = await open();
  await third.refresh();
  const again = await third.fetchModel("digits@production");
  assert.deepEqual(again.bytes, a.bytes);
  assert.ok(again.source === "network" || again.cacheRepaired, JSON.stringify({ source: again.source, repaired: again.cacheRepaired }));

  // A corrupted entry is caught on read (the chunk's SHA-256) and replaced.
  const c2 = [...cache.entries.keys()].find((u) => u.includes(encodeURIComponent("chunk/")));
  const e = cache.entries.get(c2);
  e.body[e.body.length >> 1] ^= 0xff;
  const fourth = await open();
  await fourth.refresh();
  const repaired = await fourth.fetchModel("digits@production");
  assert.deepEqual(repaired.bytes, a.bytes);
  assert.equal(repaired.cacheRepaired, true);
  assert.equal(repaired.sha256, pkg.sha256Hex(a.bytes));
});
