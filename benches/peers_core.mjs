// Inference benchmark body of the peer benchmarks (scripts/bench-peers), shared by Chromium
// (benches/peers_bench.html: our package and onnxruntime-web in one page) and Node
// (benches/peers_node.mjs: our package and onnxruntime-node). For each model and runtime: the
// first run (load from bytes in memory + the first batch-1 inference, on a fresh session, FIRST
// times), the outputs at batch 1 and 64 compared with expected.json's (onnxruntime's, from the
// fixture generators; more than 1e-4 apart is an error, before anything is timed), then
// steady-state latency p50/p95 at batch 1 and 64 (benches/engine_core.mjs's timeRuns).
import { rows, stats, timeRuns } from "./engine_core.mjs";

export const TOLERANCE = 1e-4;

/** Our package: `lib` is an initialised edge-registry module. */
export function oursRuntime(lib) {
  return {
    load: (m) => lib.Model.fromBytes(m.bytes, m.card),
    feeds: (t) => ({ input: t }),
    run: (model, feeds) => model.run(feeds),
    free: (model) => model.free(),
  };
}

/** onnxruntime (web or node): `ort` is its module, `options` the session options. */
export function ortRuntime(ort, options) {
  return {
    load: (m) => ort.InferenceSession.create(m.bytes, options),
    feeds: (t) => ({ input: new ort.Tensor("float32", t.data, t.shape) }),
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
