// Reads the JSON lines of the engine benchmark runners on stdin and prints a Markdown table.
import { readFileSync } from "node:fs";

const runs = readFileSync(0, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
const f = (x) => (x < 0.1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));
const models = [...new Set(runs.flatMap((r) => r.results.map((x) => x.model)))];
console.log("| model | runtime | load p50 (ms) | batch 1 p50 / p95 (ms) | batch 64 p50 / p95 (ms) | vs native (b64 p50) |");
console.log("|---|---|---|---|---|---|");
for (const m of models) {
  const native = runs.find((r) => r.runtime === "native")?.results.find((x) => x.model === m);
  for (const r of runs) {
    const x = r.results.find((y) => y.model === m);
    if (!x) continue;
    const ratio = native ? (x.batch64.p50 / native.batch64.p50).toFixed(2) + "x" : "";
    console.log(`| ${m} | ${r.runtime} | ${f(x.load.p50)} | ${f(x.batch1.p50)} / ${f(x.batch1.p95)} | ${f(x.batch64.p50)} / ${f(x.batch64.p95)} | ${ratio} |`);
  }
}
