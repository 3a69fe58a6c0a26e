// One zoo case through Model.check, the same in Node and in the browser: JSON tensors
// ({name: {dtype, shape, data}}, as scripts/zoo/zoo.py writes them) to typed arrays, then
// the report reduced to what the table shows.

export const num = (x) => (x === "NaN" ? NaN : x === "Infinity" ? Infinity : x === "-Infinity" ? -Infinity : x);

export function feeds(json) {
  const out = {};
  for (const [name, t] of Object.entries(json)) {
    let data;
    switch (t.dtype) {
      case "float32": data = Float32Array.from(t.data, num); break;
      case "float64": data = Float64Array.from(t.data, num); break;
      case "int32": data = Int32Array.from(t.data); break;
      case "int64": data = BigInt64Array.from(t.data.map((v) => BigInt(v))); break;
      case "uint8": data = Uint8Array.from(t.data); break;
      case "bool": data = Uint8Array.from(t.data.map((v) => (v ? 1 : 0))); break;
      default: data = Array.from(t.data, num);
    }
    out[name] = { data, shape: t.shape, dtype: t.dtype };
  }
  return out;
}

export function summary(report) {
  const run = report.run || {};
  const err = report.error || run.error;
  const rel = (run.outputs || []).map((o) => o.relativeError).filter((x) => x !== undefined && x !== null);
  return {
    ok: report.ok,
    plan: report.plan ? report.plan.kind : null,
    loadMs: report.loadMs,
    firstMs: run.ms ?? null,
    runMs: run.steadyMs ?? run.ms ?? null,
    maxRel: rel.length ? Math.max(...rel) : null,
    error: err ? `${err.code}: ${err.message}` : null,
    unsupported: report.operators.filter((o) => !o.supported).map((o) => o.op),
  };
}

export function checkCase(lib, bytes, input, expected, repeat) {
  const report = lib.Model.check(bytes, { inputs: feeds(input), expected: feeds(expected), repeat });
  return summary(report);
}
