// The real-model zoo through the engine: every case of scripts/zoo/models.json (fetched and
// given expected outputs by zoo.py) natively (`edge-registry check`), in Node (pkg/, a child
// process per case, so a wasm trap cannot take the next case with it) and in headless Chromium
// (pkg/ in a page). Prints a table and writes target/zoo/results.json and target/zoo/table.md.
//
//   node scripts/zoo/run.mjs [--only a,b] [--runtimes native,node,chromium] [--repeat N]
//
// EDGE_REGISTRY_BIN picks the CLI (default target/release/edge-registry).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { checkCase } from "./zoo_core.mjs";

const root = new URL("../../", import.meta.url);
const path = (rel) => fileURLToPath(new URL(rel, root));
const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};

if (argv[0] === "--node-one") {
  // One case in this process: print its summary as JSON.
  const [, name, suffix, repeat] = argv;
  const { loadPkg } = await import("../../tests/js/helpers.mjs");
  const lib = await loadPkg();
  const read = (p) => JSON.parse(readFileSync(path(p), "utf8"));
  let out;
  try {
    out = checkCase(lib, readFileSync(path(`target/zoo/models/${name}.onnx`)),
      read(`target/zoo/cases/${name}/input${suffix}.json`),
      read(`target/zoo/cases/${name}/expected${suffix}.json`), Number(repeat));
  } catch (e) {
    out = { ok: false, error: `${e.code || "THROWN"}: ${e.message}` };
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const only = arg("--only", "") ? arg("--only").split(",") : null;
const runtimes = arg("--runtimes", "native,node,chromium").split(",");
const repeat = Number(arg("--repeat", "5"));
const bin = process.env.EDGE_REGISTRY_BIN || path("target/release/edge-registry");
if (runtimes.includes("native") && !existsSync(bin)) throw new Error(`no CLI at ${bin}: build it (make cli) or set EDGE_REGISTRY_BIN`);
const manifest = JSON.parse(readFileSync(path("scripts/zoo/models.json"), "utf8"));
const models = (manifest.models || manifest).filter((m) => !only || only.includes(m.name));

const cases = [];
for (const m of models) {
  for (const suffix of ["", "_alt"]) {
    if (existsSync(path(`target/zoo/cases/${m.name}/input${suffix}.json`))) cases.push({ m, suffix });
  }
}
if (!cases.length) throw new Error("no zoo cases: run `scripts/zoo/zoo.py fetch` and `expected` first");

function native(name, suffix) {
  const d = `target/zoo/cases/${name}`;
  let out;
  try {
    out = execFileSync(bin, ["check", path(`target/zoo/models/${name}.onnx`), "--input", path(`${d}/input${suffix}.json`),
      "--expected", path(`${d}/expected${suffix}.json`), "--repeat", String(repeat), "--json"],
    { maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    if (e.status !== 4 || !e.stdout?.length) return { ok: false, error: `exit ${e.status}: ${String(e.stderr).slice(0, 300)}` };
    out = e.stdout;
  }
  const r = JSON.parse(out);
  const run = r.run || {};
  const err = r.error || run.error;
  const rel = (run.outputs || []).map((o) => o.relativeError).filter((x) => x !== undefined && x !== null);
  return {
    ok: r.ok, plan: r.plan?.kind ?? null, loadMs: r.loadMs, firstMs: run.ms ?? null, runMs: run.steadyMs ?? run.ms ?? null,
    maxRel: rel.length ? Math.max(...rel) : null, error: err ? `${err.code}: ${err.message}` : null,
  };
}

function node(name, suffix) {
  try {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--node-one", name, suffix, String(repeat)],
      { maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"] });
    return JSON.parse(out);
  } catch (e) {
    return { ok: false, error: `node exited ${e.status}: ${String(e.stderr).split("\n").find((l) => /Error|panicked/.test(l)) || ""}` };
  }
}

const results = cases.map(({ m, suffix }) => ({ name: m.name, suffix, domain: m.domain, bytes: m.model_bytes, licence: m.licence }));
const log = (r, rt) => {
  const x = r[rt];
  console.error(`${rt.padEnd(8)} ${(r.name + r.suffix).padEnd(30)} ${x.ok ? "ok" : "FAILED"} ` +
    `load ${x.loadMs?.toFixed(1)} ms, run ${x.runMs?.toFixed(2)} ms, rel ${x.maxRel?.toExponential(1)} ${x.error || ""}`.slice(0, 300));
};
if (runtimes.includes("native")) for (const r of results) { r.native = native(r.name, r.suffix); log(r, "native"); }
if (runtimes.includes("node")) for (const r of results) { r.node = node(r.name, r.suffix); log(r, "node"); }
if (runtimes.includes("chromium")) {
  const { chromium } = await import("playwright-core");
  const { startServer } = await import("../../tests/js/helpers.mjs");
  const { launchOptions } = await import("../../tests/e2e/browser.mjs");
  const server = await startServer(["scripts/zoo", "--mount", "/pkg=pkg", "--mount", "/zoo=target/zoo", "--quiet"]);
  const browser = await chromium.launch(launchOptions());
  try {
    let page;
    for (const r of results) {
      if (!page) {
        page = await browser.newPage();
        await page.goto(`${server.url}/zoo.html`);
        await page.waitForFunction(() => typeof window.zooCase === "function");
      }
      try {
        r.chromium = await page.evaluate(([n, s, k]) => window.zooCase(n, s, k), [r.name, r.suffix, repeat]);
      } catch (e) {
        r.chromium = { ok: false, error: `page: ${e.message.split("\n")[0]}` };
      }
      // A wasm trap leaves the instance unusable: the next case gets a fresh page.
      if (!r.chromium.ok && /unreachable|RuntimeError|page:/.test(r.chromium.error || "")) {
        await page.close().catch(() => {});
        page = null;
      }
      log(r, "chromium");
    }
  } finally {
    await browser.close();
    server.stop();
  }
}

const ms = (x) => (x == null ? "–" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const cell = (x) => (!x ? "" : x.ok || x.maxRel != null ? `${ms(x.loadMs)} / ${ms(x.runMs)}` : "fails");
const header = ["model", "domain", "MB", "plan", ...runtimes.map((r) => `${r} load / run ms`), "max rel. error", "status"];
const rows = results.map((r) => {
  const xs = runtimes.map((rt) => r[rt]).filter(Boolean);
  const rels = xs.map((x) => x.maxRel).filter((v) => v != null);
  const failed = xs.find((x) => !x.ok);
  const status = !failed ? "ok" : failed.error ? failed.error.replace(/\|/g, "/").slice(0, 160)
    : `differs (max rel. error ${Math.max(...rels).toExponential(1)})`;
  return [r.name + (r.suffix ? " (alt)" : ""), r.domain, (r.bytes / 1e6).toFixed(2), xs.find((x) => x.plan)?.plan || "–",
    ...runtimes.map((rt) => cell(r[rt])), rels.length ? Math.max(...rels).toExponential(1) : "–", status];
});
const table = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
const passed = results.filter((r) => runtimes.every((rt) => r[rt]?.ok)).length;
const foot = `\n${passed} of ${results.length} cases pass on every runtime (${runtimes.join(", ")}); run ms is the median of ${repeat} runs after the first.`;
console.log(table + foot);
writeFileSync(path("target/zoo/results.json"), JSON.stringify({ runtimes, repeat, results }, null, 1));
writeFileSync(path("target/zoo/table.md"), table + "\n" + foot + "\n");

// A full run (every model, every runtime) replaces the zoo section of BENCHMARKS.md.
if (!only && runtimes.length === 3) {
  const { execFileSync: run } = await import("node:child_process");
  const commit = run("git", ["rev-parse", "--short", "HEAD"], { cwd: path("."), encoding: "utf8" }).trim();
  const meta = path(`target/zoo/cases/${results[0].name}/meta.json`);
  const failing = new Set(results.filter((r) => runtimes.some((rt) => !r[rt]?.ok)).map((r) => r.name));
  const known = manifest.models.filter((m) => failing.has(m.name))
    .map((m) => `- **${m.name}**: ${m.known_issue || "not investigated yet"}`).join("\n");
  const ortVersion = JSON.parse(readFileSync(meta, "utf8")).ort_version;
  const section = `<!-- zoo:start -->
## Real-model zoo

Written by \`make zoo\` (\`scripts/zoo/run.mjs\`) on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC at commit ${commit}; it
replaces this section. ${manifest.models.length} third-party ONNX models from public PyPI wheels and npm tarballs, each
pinned by package version and sha256 (\`scripts/zoo/models.json\`), inputs generated deterministically, expected outputs
from onnxruntime ${ortVersion} on one thread. Every case runs natively (the release CLI, \`edge-registry check\`), in Node
and in headless Chromium (\`pkg/\`, release, SIMD). Load: decode, analyse and, for a static plan, optimise;
run: median of ${repeat} runs after the first (a per-shape model plans on its first run). Max relative error: max |ours −
onnxruntime| over the output's scale (largest |expected|, at least 1), worst output and runtime; the bound is 1e-3.
The alt row of a model is a second input size (or sample rate); each row is its own load here (the test tiers run both
sizes of their models on one loaded \`Model\`).

${table}
${foot}
${known}
<!-- zoo:end -->
`;
  const file = path("BENCHMARKS.md");
  const old = readFileSync(file, "utf8");
  const next = /<!-- zoo:start -->[\s\S]*<!-- zoo:end -->\n?/.test(old)
    ? old.replace(/<!-- zoo:start -->[\s\S]*<!-- zoo:end -->\n?/, section)
    : `${old.trimEnd()}\n\n${section}`;
  writeFileSync(file, next);
  console.error("wrote the zoo section of BENCHMARKS.md");
}
