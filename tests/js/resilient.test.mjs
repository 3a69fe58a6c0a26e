// Crash recovery in Node (js/resilient.js over the test package built with FEATURES=test-hooks,
// whose __testTrap / __testTrapAsync exports crash the instance on purpose): the call that
// crashed rejects with INTERNAL_PANIC and the panic message, the instance is re-created, models
// are reloaded transparently on their next use, stateful objects say INSTANCE_RESET, pending
// async calls reject, and the raw module without the wrapper is shown to be dead after a trap.
import { mapStore } from "../shared/verification.mjs";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { readJson, root, startServer } from "./helpers.mjs";

const dir = new URL(`file://${(process.env.PKG_TEST_DIR || new URL("target/pkg-test/", root).pathname).replace(/\/?$/, "/")}`);
const { resilientSync } = await import(new URL("resilient.js", dir));
const wasmBytes = readFileSync(new URL("edge_registry_bg.wasm", dir));
const lib = resilientSync({ module: wasmBytes });

const irisBytes = readFileSync(new URL("tests/fixtures/models/iris/model.onnx", root));
const irisCard = readJson("tests/fixtures/models/iris/card.json");
const feeds = () => ({ input: { data: new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]), shape: [2, 4] } });

function expectCode(code, pattern) {
  return (e) => {
    assert.equal(e.code, code, `${e.code}: ${e.message}`);
    assert.ok(e instanceof Error);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

test("the test package has the hooks and the recovery machinery; the release package has neither hook", () => {
  assert.equal(typeof lib.__testTrap, "function");
  assert.equal(typeof lib.raw.__wbg_reset_state, "function");
  const release = readFileSync(new URL("pkg/edge_registry.js", root), "utf8");
  assert.ok(!release.includes("__testTrap"), "pkg/ must not export the test hooks");
});

test("a panic rejects the call with INTERNAL_PANIC and its message; the next call works", () => {
  const before = lib.resets;
  assert.throws(() => lib.__testTrap("panic", "tract exploded"), expectCode("INTERNAL_PANIC", /tract exploded/));
  assert.equal(lib.resets, before + 1);
  assert.match(lib.version(), /^\d+\.\d+\.\d+$/);
  assert.equal(lib.sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("a model is reloaded transparently after a crash and gives the same outputs", () => {
  const model = lib.Model.fromBytes(irisBytes, irisCard);
  const first = model.runSync(feeds());
  assert.throws(() => lib.__testTrap("panic", "boom"), expectCode("INTERNAL_PANIC", /boom/));
  const again = model.runSync(feeds());
  assert.deepEqual(Array.from(again.probabilities.data), Array.from(first.probabilities.data));
  assert.deepEqual(Array.from(again.label.data), Array.from(first.label.data));
  assert.deepEqual(model.inputs, irisCard.inputs);
  // Errors keep their codes after a reset.
  assert.throws(() => model.runSync({ input: { data: new Float32Array(3), shape: [1, 3] } }), expectCode("SCHEMA_MISMATCH"));
  model.free();
});

test("a model made by the async Model.create is reloaded synchronously after a crash", async () => {
  const model = await lib.Model.create(irisBytes, irisCard);
  const first = model.runSync(feeds());
  assert.throws(() => lib.__testTrap("panic", "boom"), expectCode("INTERNAL_PANIC", /boom/));
  const again = model.runSync(feeds());
  assert.deepEqual(Array.from(again.probabilities.data), Array.from(first.probabilities.data));
  assert.equal(model.sha256, lib.sha256Hex(irisBytes));
  // An ArrayBuffer argument is re-made the same way.
  const fromBuffer = await lib.Model.create(irisBytes.buffer.slice(irisBytes.byteOffset, irisBytes.byteOffset + irisBytes.length), irisCard);
  assert.throws(() => lib.__testTrap("panic", "again"), expectCode("INTERNAL_PANIC"));
  assert.deepEqual(Array.from(fromBuffer.runSync(feeds()).probabilities.data), Array.from(first.probabilities.data));
  model.free();
  fromBuffer.free();
});

test("memory and stack exhaustion are recovered from too", () => {
  for (const kind of ["oom", "stack"]) {
    const before = lib.resets;
    assert.throws(() => lib.__testTrap(kind, ""), expectCode("INTERNAL_PANIC"), kind);
    assert.equal(lib.resets, before + 1, kind);
    assert.match(lib.version(), /^\d+\./);
  }
});

test("stateful objects of a crashed instance say INSTANCE_RESET; new ones work", () => {
  const v = new lib.Sha256Verifier("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3);
  v.update(new TextEncoder().encode("a"));
  assert.throws(() => lib.__testTrap("panic", "x"), expectCode("INTERNAL_PANIC"));
  assert.throws(() => v.update(new TextEncoder().encode("b")), expectCode("INSTANCE_RESET"));
  const w = new lib.Sha256Verifier("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3);
  w.update(new TextEncoder().encode("abc"));
  assert.equal(w.finish(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("a panic inside an async call rejects it and every other pending async call", () => {
  // A trap inside a future surfaces as an uncaught exception of the event loop. The wrapper
  // installs nothing on \`process\` (its policy is the application's): the application's own
  // handler hands traps to recoverFrom. node:test would also count the uncaught exception as a
  // failure of this file, so the scenario runs in a child Node process without a test runner.
  const script = `
    import { readFileSync } from "node:fs";
    const { resilientSync } = await import(${JSON.stringify(new URL("resilient.js", dir).href)});
    if (process.listenerCount("uncaughtException") !== 0) throw new Error("a listener was installed at import");
    const lib = resilientSync({ module: readFileSync(new URL(${JSON.stringify(new URL("edge_registry_bg.wasm", dir).href)})) });
    if (process.listenerCount("uncaughtException") !== 0) throw new Error("the wrapper installed a process listener");
    process.on("uncaughtException", (e) => { if (!lib.recoverFrom(e)) { console.error(e); process.exit(1); } });
    const settled = await Promise.allSettled([lib.__testTrapAsync("panic", "async boom"), lib.__testTrapAsync("none", "")]);
    const resets = lib.resets;
    await lib.__testTrapAsync("none", ""); // a healthy async call resolves again
    console.log(JSON.stringify({ resets, after: lib.resets, version: lib.version(),
      settled: settled.map((r) => ({ status: r.status, code: r.reason?.code, message: r.reason?.message })) }));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const r = JSON.parse(out.trim().split("\n").at(-1));
  assert.equal(r.settled.length, 2);
  for (const s of r.settled) {
    assert.equal(s.status, "rejected");
    assert.equal(s.code, "INTERNAL_PANIC", s.message);
    assert.match(s.message, /async boom/);
  }
  assert.equal(r.resets, 1);
  assert.equal(r.after, 1);
  assert.match(r.version, /^\d+\.\d+\.\d+$/);
});

test("without the wrapper, a crash is an uncoded RuntimeError and the instance must be replaced", async () => {
  // A second, separate copy of the glue module (its own instance, no wrapper).
  const raw = await import(new URL("edge_registry.js?raw-copy", dir));
  raw.initSync({ module: wasmBytes });
  assert.throws(() => raw.__testTrap("panic", "raw"), (e) => e instanceof WebAssembly.RuntimeError && e.code === undefined);
  raw.__wbg_reset_state(); // what the wrapper does after a trap
  assert.match(raw.version(), /^\d+\./);
  // The wrapper's own instance was not affected by the other copy's crash.
  assert.match(lib.version(), /^\d+\./);
});

test("a registry with the caller's store keeps its cache across a crash: no second download", async () => {
  // The registry test server of scripts/test, else one over target/registry-fixtures.
  const fixtures = new URL(`${process.env.REGISTRY_FIXTURES || "target/registry-fixtures"}/`, root);
  let base = process.env.EDGE_REGISTRY_TEST_SERVER;
  let server;
  if (!base) {
    server = await startServer([fixtures.pathname, "--stats", "--quiet"]);
    base = server.url;
  }
  after(() => server?.stop());
  const stats = async () => (await fetch(`${base}/_stats`)).json();
  const downloads = (s) => Object.entries(s.requests)
    .filter(([path]) => path.startsWith("/good/targets/models/digits/1/"))
    .reduce((n, [, count]) => n + count, 0);
  const store = mapStore();
  const m = store.map;
  const trustedRoot = readFileSync(new URL("root.json", fixtures));
  const reg = await lib.Registry.open({ url: `${base}/good`, trustedRoot, cache: store });
  await reg.refresh();
  const first = await reg.fetchModel("digits@production");
  assert.equal(first.source, "network");
  const before = downloads(await stats());
  const keys = [...m.keys()].sort();

  assert.throws(() => lib.__testTrap("panic", "during a registry session"), expectCode("INTERNAL_PANIC"));
  // The registry is re-opened by its recipe on the new instance (asynchronously).
  await assert.rejects(async () => reg.refresh(), expectCode("INSTANCE_RESET"));
  await reg.ready();
  await reg.refresh();
  const again = await reg.fetchModel("digits@production");
  assert.equal(again.source, "cache");
  assert.deepEqual(again.bytes, first.bytes);
  assert.equal(downloads(await stats()), before, "the model was downloaded again");
  assert.deepEqual([...m.keys()].sort(), keys, "the store lost or gained entries");
  const model = await reg.load("digits@production");
  assert.ok(model.inputs.length > 0);
});
