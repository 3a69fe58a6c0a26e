// Engine benchmark body shared by Node and Chromium: load (parse + optimise) time and
// per-inference latency at batch 1 and batch 64 for each model. `lib` is an initialised
// edge-registry module; `models` is [{ name, bytes, card, input }] where `input` holds 64 rows.
// The timing helpers also serve the peer benchmarks (benches/peers_core.mjs), whose runtimes
// may return promises (onnxruntime): those are awaited, synchronous calls are not.
export function quantile(sorted, q) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p95: quantile(s, 0.95), n: s.length };
}

export function rows(input, n) {
  const perRow = input.data.length / input.shape[0];
  const data = new Float32Array(n * perRow);
  for (let i = 0; i < n; i++) data.set(input.data.subarray((i % input.shape[0]) * perRow, ((i % input.shape[0]) + 1) * perRow), i * perRow);
  return { data, shape: [n, ...input.shape.slice(1)] };
}

/**
 * Times `f` until `minMs` have passed and at least `minRuns` samples, after `warmup` runs. A
 * sample is the mean of `reps` back-to-back runs, with `reps` chosen so a sample lasts at least
 * `sampleMs`: browsers without cross-origin isolation round performance.now() to 0.1 ms, which
 * would quantise sub-millisecond runs to 0 or 0.1 ms. p95 is then over such means.
 */
async function repeat(f, n) {
  for (let i = 0; i < n; i++) {
    const p = f();
    if (p instanceof Promise) await p;
  }
}

export async function timeRuns(f, { warmup = 5, minRuns = 30, minMs = 300, maxRuns = 2000, sampleMs = 2 } = {}) {
  await repeat(f, warmup);
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    await repeat(f, reps);
    if (performance.now() - t0 >= sampleMs || reps >= 1 << 16) break;
    reps *= 2;
  }
  const times = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < minRuns || performance.now() - start < minMs)) {
    const t0 = performance.now();
    await repeat(f, reps);
    times.push((performance.now() - t0) / reps);
  }
  return { ...stats(times), reps };
}

export async function benchModels(lib, models, opts = {}) {
  const results = [];
  for (const m of models) {
    const loads = [];
    let model;
    for (let i = 0; i < (opts.loads ?? 7); i++) {
      model?.free();
      const t0 = performance.now();
      model = await lib.Model.create(m.bytes, m.card);
      loads.push(performance.now() - t0);
    }
    const name = m.card.inputs[0].name;
    const b1 = rows(m.input, 1);
    const b64 = rows(m.input, 64);
    const r1 = await timeRuns(() => model.run({ [name]: b1 }), opts);
    const r64 = await timeRuns(() => model.run({ [name]: b64 }), opts);
    model.free();
    results.push({ model: m.name, load: stats(loads), batch1: r1, batch64: r64 });
  }
  return results;
}
