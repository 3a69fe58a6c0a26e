import assert from "node:assert/strict";
// Shared helpers for the Node tests of the built package (pkg/).
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createServer } from "node:net";

export const root = new URL("../../", import.meta.url);

/** Loads pkg/ (the release build) synchronously, as Node, Deno and workers can. */
export async function loadPkg() {
  // PKG_DIR points the tests at another build of the package (for example a debug build).
  const dir = process.env.PKG_DIR ? new URL(`file://${process.env.PKG_DIR.replace(/\/?$/, "/")}`) : new URL("pkg/", root);
  const mod = await import(new URL("edge_registry.js", dir));
  // The build the package picks for this Node (pkg/'s glue runs either module).
  mod.initSync({ module: readFileSync(new URL(mod.wasmFile ?? "edge_registry_bg.wasm", dir)) });
  return mod;
}

export function readJson(rel) {
  return JSON.parse(readFileSync(new URL(rel, root), "utf8"));
}

// The digest-vector generator and chunker, shared with the runtime-neutral vectors.
export { xorshiftBytes, unevenChunks } from "../shared/verification.mjs";

/**
 * Starts `edge-registry serve` on a free port; resolves to { url, stop }.
 * The binary is target/debug/edge-registry unless EDGE_REGISTRY_BIN says otherwise.
 */
export function startServer(args) {
  const bin = process.env.EDGE_REGISTRY_BIN || new URL("target/debug/edge-registry", root).pathname;
  const child = spawn(bin, ["serve", "--addr", "127.0.0.1:0", ...args], {
    cwd: root.pathname,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const log = [];
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${buf}`)), 15000);
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${buf}`)); });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d) => {
      buf += d;
      for (const line of d.split("\n")) if (line) log.push(line);
      const m = buf.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({ url: m[1], log, stop: () => child.kill() });
      }
    });
  });
}

/** A TCP port free on 127.0.0.1 right now (for servers that cannot report the one they got). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts workerd (node_modules/.bin/workerd) on a config with extra environment variables, and
 * resolves once it answers HTTP (GET /__ready, a path the workers answer cheaply) to
 * { url, log, child, readyMs, stop }: readyMs from spawning to the first answer.
 */
export async function startWorkerd(config, env = {}) {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(new URL("node_modules/.bin/workerd", root).pathname,
    ["serve", config, "--experimental", "--socket-addr", `http=127.0.0.1:${port}`], {
      cwd: root.pathname,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  const log = [];
  for (const s of [child.stdout, child.stderr]) s.on("data", (d) => log.push(String(d)));
  let exited = null;
  child.on("exit", (code) => { exited = code; });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (exited !== null) throw new Error(`workerd exited ${exited}:\n${log.join("")}`);
    try {
      await fetch(`${url}/__ready`);
      break;
    } catch {
      if (performance.now() - t0 > 60000) { child.kill(); throw new Error(`workerd did not start:\n${log.join("")}`); }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return { url, log, child, readyMs: performance.now() - t0, stop: () => child.kill() };
}

/**
 * Deep comparison: numbers within `tol` (relative), everything else exact. Calibration bins are
 * the one place a last-bit difference in a model output can move a row: a confidence on a bin
 * edge may land in the neighbouring bin, so bin counts may differ by one row (totals may not)
 * and the bins' means and ECE/MCE by what one row changes.
 */
export function assertClose(got, want, tol, path = "report") {
  if (typeof want === "number" && typeof got === "number") {
    const inBins = /\.bins\[\d+\]\./.test(path);
    if (inBins && path.endsWith(".count")) {
      assert.ok(Math.abs(got - want) <= 1, `${path}: ${got} vs ${want}`);
      return;
    }
    const t = inBins || /\.(ece|mce)$/.test(path) ? Math.max(tol, 1e-2) : tol;
    const scale = Math.max(1, Math.abs(want));
    assert.ok(Math.abs(got - want) <= t * scale, `${path}: ${got} vs ${want}`);
    return;
  }
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, `${path}: length`);
    want.forEach((w, i) => assertClose(got[i], w, tol, `${path}[${i}]`));
    return;
  }
  if (want && typeof want === "object") {
    assert.deepEqual(Object.keys(got ?? {}).sort(), Object.keys(want).sort(), `${path}: keys`);
    for (const k of Object.keys(want)) assertClose(got[k], want[k], tol, `${path}.${k}`);
    return;
  }
  assert.equal(got, want, path);
}
