// verifyModelSignature timings through pkg/ in Node, on the committed model-signing fixtures
// (BENCHMARKS.md, "Model signatures"): node benches/modelsig_node.mjs
import { readFileSync, readdirSync, statSync } from "node:fs";
const dir = new URL("../pkg/", import.meta.url).pathname;
const mod = await import(dir + "edge_registry.js");
mod.initSync({ module: readFileSync(dir + (mod.wasmFile ?? "edge_registry_bg.wasm")) });
const fx = new URL("../tests/fixtures/model-signing/", import.meta.url).pathname;
const cases = JSON.parse(readFileSync(fx + "cases.json", "utf8"));
function files(model) {
  const p = fx + model;
  if (statSync(p).isFile()) return readFileSync(p);
  const out = {};
  const walk = (d, rel) => { for (const n of readdirSync(d)) { const f = `${d}/${n}`; const r = rel ? `${rel}/${n}` : n; if (statSync(f).isDirectory()) walk(f, r); else out[r] = readFileSync(f); } };
  walk(p, ""); return out;
}
for (const name of ["key-p256-dir", "key-p384-dir", "cert-good-dir", "sigstore-v1.1.0"]) {
  const c = cases.find((x) => x.name === name);
  const policy = c.method === "key" ? { key: readFileSync(fx + c.key, "utf8") } : c.method === "certificate" ? { ca: readFileSync(fx + c.ca, "utf8") } : { identity: c.identity, issuer: c.issuer };
  const model = files(c.model); const bundle = readFileSync(fx + c.bundle, "utf8");
  for (let i = 0; i < 20; i++) mod.verifyModelSignature(model, bundle, policy);
  const n = 200, t = [];
  for (let i = 0; i < n; i++) { const s = performance.now(); mod.verifyModelSignature(model, bundle, policy); t.push(performance.now() - s); }
  t.sort((a, b) => a - b);
  console.log(`${name}: median ${t[n / 2].toFixed(3)} ms, p90 ${t[Math.floor(n * 0.9)].toFixed(3)} ms`);
}
