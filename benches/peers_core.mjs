// Inference benchmark body of the peer benchmarks (scripts/bench-peers), shared by Chromium
// (benches/peers_bench.html: our package and onnxruntime-web in one page) and Node
// (benches/peers_node.mjs: our package and onnxruntime-node). For each model and runtime: the
// first run (load from bytes in memory + the first batch-1 inference, on a fresh session, FIRST
// times), the outputs at batch 1 and 64 compared with expected.json's (onnxruntime's, from the
// fixture generators; more than 1e-4 apart is an error, before anything is timed), then
// steady-state latency p50/p95 at batch 1 and 64 (benches/engine_core.mjs's timeRuns).
import { rows, stats, timeRuns } from "./engine_core.mjs";
import { feeds as zooFeeds, num } from "../scripts/zoo/zoo_core.mjs";

export const TOLERANCE = 1e-4;

/** Our package: `lib` is an initialised edge-registry module; `sync` loads with the
 * synchronous `Model.fromBytes` (which hashes in wasm) instead of `Model.create`. */
export function oursRuntime(lib, { sync = false } = {}) {
  return {
    load: (m) => (sync ? lib.Model.fromBytes(m.bytes, m.card) : lib.Model.create(m.bytes, m.card)),
    feeds: (t) => ({ input: t }),
    tensors: (named) => named,
    run: (model, feeds) => model.run(feeds),
    free: (model) => model.free(),
  };
}

/** onnxruntime (web or node): `ort` is its module, `options` the session options. */
export function ortRuntime(ort, options) {
  return {
    load: (m) => ort.InferenceSession.create(m.bytes, options),
    feeds: (t) => ({ input: new ort.Tensor("float32", t.data, t.shape) }),
    // The zoo's named inputs of any dtype (scripts/zoo/zoo_core.mjs's { data, shape, dtype }).
    tensors: (named) => Object.fromEntries(Object.entries(named).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, t.shape)])),
    run: (session, feeds) => session.run(feeds),
    free: (session) => session.release(),
  };
}

function maxErr(outputs, expected) {
  let err = 0;
  for (const [name, want] of Object.entries(expected)) {
    const got = outputs[name];
    if (!got) throw new Error(`no output ${name}`);
    const data = got.data;
    if (data.length !== want.data.length) throw new Error(`${name}: ${data.length} values, expected ${want.data.length}`);
    for (let i = 0; i < data.length; i++) err = Math.max(err, Math.abs(Number(data[i]) - want.data[i]));
  }
  return err;
}

const tensor = (t) => ({ data: Float32Array.from(t.data), shape: t.shape });

/**
 * `models`: [{ name, bytes, card, expected }] with expected.json's content. `timing` overrides
 * timeRuns's options (short development runs); `timingOptions` adapts them per model.
 * Resolves to one result per model.
 */
export async function benchRuntime(rt, models, { first = 5, timing = {} } = {}) {
  const results = [];
  for (const m of models) {
    const b1 = rt.feeds(tensor(m.expected.batch1.inputs.input));
    const firsts = [];
    let s;
    for (let i = 0; i < first; i++) {
      if (s) await rt.free(s);
      const t0 = performance.now();
      s = await rt.load(m);
      await rt.run(s, b1);
      firsts.push(performance.now() - t0);
    }
    let err = 0;
    for (const c of ["batch1", "batch64"]) {
      const out = await rt.run(s, rt.feeds(tensor(m.expected[c].inputs.input)));
      err = Math.max(err, maxErr(out, m.expected[c].outputs));
    }
    if (!(err <= TOLERANCE)) throw new Error(`${m.name}: outputs differ from onnxruntime's by ${err}`);
    const b64 = rt.feeds(rows(tensor(m.expected.batch64.inputs.input), 64));
    const opts = { ...timingOptions(m.name), ...timing };
    const batch1 = await timeRuns(() => rt.run(s, b1), opts);
    const batch64 = await timeRuns(() => rt.run(s, b64), opts);
    await rt.free(s);
    results.push({ model: m.name, first: stats(firsts), max_err: err, batch1, batch64 });
  }
  return results;
}

/** Fixed timing options for the models that take long per run (batch 64 of the convnet: seconds). */
export function timingOptions(name) {
  return name === "convnet" ? { warmup: 1, minRuns: 10, minMs: 0, sampleMs: 0 } : {};
}

// ------------------------------------------------------------------------------------ zoo
// The open real-model zoo (scripts/zoo: third-party models, deterministic inputs, onnxruntime's
// outputs): the same load, first run and steady-state timing for both runtimes.

/** The largest error of any output, relative to that output's largest expected magnitude. */
export function relativeError(outputs, expected) {
  let worst = 0;
  for (const [name, want] of Object.entries(expected)) {
    const got = outputs[name];
    if (!got) throw new Error(`no output ${name}`);
    if (got.data.length !== want.data.length) throw new Error(`${name}: ${got.data.length} values, expected ${want.data.length}`);
    let err = 0, scale = 0;
    for (let i = 0; i < want.data.length; i++) {
      const w = Number(num(want.data[i])), g = Number(got.data[i]);
      if (Number.isNaN(w) && Number.isNaN(g)) continue;
      if (Number.isFinite(w)) scale = Math.max(scale, Math.abs(w));
      err = Math.max(err, w === g ? 0 : Math.abs(g - w));
    }
    worst = Math.max(worst, scale > 0 ? err / scale : err);
  }
  return worst;
}

/** Timing for zoo models: some take hundreds of milliseconds per run. */
export const ZOO_TIMING = { warmup: 1, minRuns: 5, maxRuns: 200, minMs: 1000, sampleMs: 2 };

/**
 * `cases`: [{ name, bytes, input, expected }] (the zoo's JSON tensors). For each: `loads`
 * loads from bytes in memory, the first run (planning included), the relative error against
 * onnxruntime's outputs, and steady-state p50/p95. A runtime that cannot load or run a model
 * gets `{ name, error }` for it.
 */
export async function benchZoo(rt, cases, { loads = 3, timing = ZOO_TIMING } = {}) {
  const results = [];
  for (const c of cases) {
    let s;
    try {
      const loadTimes = [];
      for (let i = 0; i < loads; i++) {
        if (s) await rt.free(s);
        s = undefined;
        const t0 = performance.now();
        s = await rt.load({ bytes: c.bytes });
        loadTimes.push(performance.now() - t0);
      }
      const feeds = rt.tensors(zooFeeds(c.input));
      const t0 = performance.now();
      const out = await rt.run(s, feeds);
      const firstMs = performance.now() - t0;
      const maxRel = relativeError(out, c.expected);
      const run = await timeRuns(() => rt.run(s, feeds), timing);
      results.push({ name: c.name, load: stats(loadTimes), firstMs, run, maxRel });
    } catch (e) {
      results.push({ name: c.name, error: `${e.code ?? e.name ?? "Error"}: ${String(e.message ?? e).slice(0, 300)}` });
    } finally {
      if (s) await rt.free(s);
    }
  }
  return results;
}
