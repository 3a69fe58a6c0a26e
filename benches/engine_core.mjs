// Engine benchmark body shared by Node and Chromium: load (parse + optimise) time and
// per-inference latency at batch 1 and batch 64 for each model. `lib` is an initialised
// edge-registry module; `models` is [{ name, bytes, card, input }] where `input` holds 64 rows.
export function quantile(sorted, q) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p95: quantile(s, 0.95), n: s.length };
}

function rows(input, n) {
  const perRow = input.data.length / input.shape[0];
  const data = new Float32Array(n * perRow);
  for (let i = 0; i < n; i++) data.set(input.data.subarray((i % input.shape[0]) * perRow, ((i % input.shape[0]) + 1) * perRow), i * perRow);
  return { data, shape: [n, ...input.shape.slice(1)] };
}

/** Times `f` until `minMs` have passed and at least `minRuns` runs, after `warmup` runs. */
function timeRuns(f, { warmup = 5, minRuns = 30, minMs = 300, maxRuns = 2000 } = {}) {
  for (let i = 0; i < warmup; i++) f();
  const times = [];
  const start = performance.now();
  while (times.length < maxRuns && (times.length < minRuns || performance.now() - start < minMs)) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return stats(times);
}

export function benchModels(lib, models, opts = {}) {
  const results = [];
  for (const m of models) {
    const loads = [];
    let model;
    for (let i = 0; i < (opts.loads ?? 7); i++) {
      model?.free();
      const t0 = performance.now();
      model = lib.Model.fromBytes(m.bytes, m.card);
      loads.push(performance.now() - t0);
    }
    const name = m.card.inputs[0].name;
    const b1 = rows(m.input, 1);
    const b64 = rows(m.input, 64);
    const r1 = timeRuns(() => model.run({ [name]: b1 }), opts);
    const r64 = timeRuns(() => model.run({ [name]: b64 }), opts);
    model.free();
    results.push({ model: m.name, load: stats(loads), batch1: r1, batch64: r64 });
  }
  return results;
}
