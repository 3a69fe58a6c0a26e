// Edge runtimes (the "edge" tier of scripts/test): the built package (pkg/) in workerd and Deno.
//
// 1. The shared verification vectors (tests/shared/verification.mjs) give identical verdicts in
//    Node (pkg/node.js), Deno (pkg/deno.js) and workerd (pkg/workerd.js).
// 2. The Cache API store (tests/edge/store-worker.js): another registry's state written into the
//    shared caches.default is never trusted; a genuine rotation chain is followed offline.
// 3. The example edge worker (examples/edge-worker/, its committed workerd config) against a
//    registry our publisher builds and `edge-registry serve` serves: /predict answers equal the
//    native CLI's, a tampered artifact answers error JSON while other models keep working, and
//    after the registry moves `production` the worker answers from the new version once the
//    refresh interval has passed; concurrent first requests on a cold isolate all succeed.
//
// Needs pkg/ (scripts/build-pkg), the CLI (EDGE_REGISTRY_BIN, else target/debug/edge-registry),
// the registry fixtures (REGISTRY_FIXTURES, else target/registry-fixtures) and the npm packages
// workerd and deno (package.json).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, root, startServer, startWorkerd } from "../js/helpers.mjs";
import { EXPECTED, runVerification } from "../shared/verification.mjs";

const bin = process.env.EDGE_REGISTRY_BIN || new URL("target/debug/edge-registry", root).pathname;
const denoBin = new URL("node_modules/.bin/deno", root).pathname;
const pkgDir = process.env.PKG_DIR ? `${process.env.PKG_DIR.replace(/\/?$/, "/")}` : new URL("pkg/", root).pathname;
const fixtures = new URL(`${process.env.REGISTRY_FIXTURES || "target/registry-fixtures"}/`, root).pathname;
const models = new URL("tests/fixtures/models/", root).pathname;

let fixtureServer;
after(() => fixtureServer?.stop());

before(async () => {
  fixtureServer = await startServer([fixtures, "--mount", `/vectors=${new URL("tests/vectors", root).pathname}`, "--quiet"]);
});

const er = (...args) => execFileSync(bin, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

// ---- 1. The same verdicts in Node, Deno and workerd ----

test("shared verification vectors: identical verdicts in Node, Deno and workerd", async () => {
  const base = fixtureServer.url;
  const node = await import(join(pkgDir, "node.js"));
  const inNode = await runVerification(node, base);
  assert.deepEqual(inNode, EXPECTED, "Node");

  const deno = JSON.parse(execFileSync(denoBin, ["run", "--allow-read", "--allow-net", "--allow-env",
    new URL("tests/edge/deno-verify.mjs", root).pathname, base], {
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  }).toString().trim().split("\n").at(-1));
  assert.match(deno.runtime, /^deno 2\./);
  assert.deepEqual(deno.verdicts, EXPECTED, "Deno");

  const wd = await startWorkerd("tests/edge/verification.capnp", { BASE: base });
  try {
    const r = await fetch(`${wd.url}/`);
    const inWorkerd = await r.json();
    assert.equal(r.status, 200, JSON.stringify(inWorkerd));
    assert.deepEqual(inWorkerd, EXPECTED, "workerd");
  } finally {
    wd.stop();
  }
});

test("fileStore in Deno: a second client on the same directory serves the model offline", () => {
  const dir = mkdtempSync(join(tmpdir(), "er-deno-files-"));
  const out = JSON.parse(execFileSync(denoBin, ["run", "--allow-read", "--allow-write", "--allow-net", "--allow-env",
    new URL("tests/edge/deno-files.mjs", root).pathname, fixtureServer.url, dir], {
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  }).toString().trim().split("\n").at(-1));
  assert.match(out.runtime, /^deno 2\./);
  assert.deepEqual({ ...out, runtime: undefined }, { runtime: undefined, first: "network", offline: true, second: "cache", same: true });
  assert.ok(readdirSync(dir).length > 0);
});

// ---- 2. The Cache API store: only the pinned root's chain is trusted ----

test("Cache API store in workerd: another registry's state in caches.default is never trusted", async () => {
  const base = fixtureServer.url;
  const genuineRoot = readFileSync(join(fixtures, "root.json"), "utf8");
  const attackerRoot = readFileSync(join(fixtures, "attacker/metadata/1.root.json"), "utf8");
  // Nothing listens there: the network is down for the clients that use it.
  const offline = `http://127.0.0.1:${await freePort()}`;
  const registryId = "the-registry";
  const wd = await startWorkerd("tests/edge/store.capnp");
  const call = async (path, body) => {
    const r = await fetch(`${wd.url}${path}`, body ? { method: "POST", body: JSON.stringify(body) } : {});
    const json = await r.json();
    assert.equal(r.status, 200, JSON.stringify(json));
    return json;
  };
  try {
    // Each /fetch is a new isolate: a fresh client over the one shared caches.default.
    const genuine = { url: `${base}/good`, root: genuineRoot, ref: "digits@production", registryId };
    const first = await call("/fetch", genuine);
    assert.deepEqual(first.refresh, { offline: false, rootVersion: 1 });
    assert.equal(first.model.source, "network");
    const [ours, ...none] = await call("/namespaces");
    assert.deepEqual(none, []);
    // Another worker of the zone runs the attacker's registry (own keys, root version 3) over
    // the same cache, then writes its state over the genuine client's.
    const att = await call("/fetch", { url: `${base}/attacker`, root: attackerRoot, ref: "digits@production", registryId });
    assert.deepEqual(att.refresh, { offline: false, rootVersion: 3 });
    assert.notEqual(att.model.sha256, first.model.sha256);
    const theirs = (await call("/namespaces")).find((n) => n !== ours);
    assert.ok(theirs, "the attacker's state has its own namespace");
    assert.ok((await call("/copy", { from: theirs, to: ours })).copied > 0);
    // Offline, the forged state is refused; nothing is served.
    const off = await call("/fetch", { ...genuine, url: offline });
    assert.deepEqual(off.refresh, { error: "SIGNATURE_THRESHOLD" });
    assert.ok(off.model.error, JSON.stringify(off));
    // Online, the genuine model; then offline again, the genuine model from the cache.
    const on = await call("/fetch", genuine);
    assert.deepEqual(on.refresh, { offline: false, rootVersion: 1 });
    assert.equal(on.model.sha256, first.model.sha256);
    const again = await call("/fetch", { ...genuine, url: offline });
    assert.deepEqual(again.refresh, { offline: true, rootVersion: 1 });
    assert.deepEqual(again.model, { sha256: first.model.sha256, source: "cache" });
    // A genuine root rotation chain 1 -> 2 -> 3 is followed offline from the pinned root.
    const rotated = { url: `${base}/rotated`, root: genuineRoot, ref: "digits@production", registryId: "rotated" };
    assert.deepEqual((await call("/fetch", rotated)).refresh, { offline: false, rootVersion: 3 });
    const rotatedOff = await call("/fetch", { ...rotated, url: offline });
    assert.deepEqual(rotatedOff.refresh, { offline: true, rootVersion: 3 });
    assert.equal(rotatedOff.model.source, "cache");
  } catch (e) {
    e.message += `\nworkerd log:\n${wd.log.join("")}`;
    throw e;
  } finally {
    wd.stop();
  }
});

// ---- 3. The example edge worker ----

/** The first `n` rows of a model's test set: features as a [n, 64] batch, and the CSV text. */
function digitsRows(n) {
  const lines = readFileSync(join(models, "digits-v1/test.csv"), "utf8").trim().split("\n");
  const header = lines[0].split(",");
  const label = header.indexOf("target");
  const rows = lines.slice(1, n + 1).map((l) => l.split(",").map(Number));
  const data = rows.flatMap((r) => r.filter((_, i) => i !== label));
  return { data, shape: [n, data.length / n], csv: [lines[0], ...lines.slice(1, n + 1)].join("\n") + "\n" };
}

async function post(url, body, type = "application/json") {
  const r = await fetch(url, { method: "POST", headers: { "content-type": type }, body });
  return { status: r.status, type: r.headers.get("content-type"), body: await r.json() };
}

function assertOutputsEqual(got, want) {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    assert.deepEqual(g.shape, w.shape, `${name}: shape`);
    assert.equal(g.dtype, w.dtype, `${name}: dtype`);
    assert.equal(g.data.length, w.data.length, `${name}: length`);
    for (let i = 0; i < w.data.length; i++) {
      assert.ok(Math.abs(Number(g.data[i]) - Number(w.data[i])) <= 1e-5, `${name}[${i}]: ${g.data[i]} vs ${w.data[i]}`);
    }
  }
}

test("edge worker in workerd: predict equals the CLI, tampering is contained, alias moves are picked up", async () => {
  const work = mkdtempSync(join(tmpdir(), "er-edge-"));
  const repo = join(work, "repo");
  const keys = join(work, "keys");
  er("init", repo, "--keys", keys);
  er("publish", repo, join(models, "digits-v1/model.onnx"), "--keys", keys, "--name", "digits", "--version", "1",
    "--alias", "production", "--card", join(models, "digits-v1/card.json"));
  er("publish", repo, join(models, "iris/model.onnx"), "--keys", keys, "--name", "iris", "--version", "1",
    "--alias", "production", "--card", join(models, "iris/card.json"));
  const rootFile = join(repo, "metadata/1.root.json");
  const server = await startServer([work, "--quiet"]);
  const registryUrl = `${server.url}/repo`;
  const wd = await startWorkerd("examples/edge-worker/config.capnp", {
    REGISTRY_URL: registryUrl,
    TRUSTED_ROOT: readFileSync(rootFile, "utf8"),
    REFRESH_SECONDS: "2",
    CACHE: "cache-api",
  });
  try {
    // A cold isolate under concurrent first requests: one request opens, refreshes and loads
    // while the others wait their turn (in workerd a request awaiting another's promise would
    // be cancelled as hung).
    const rows = digitsRows(5);
    const input = { input: { data: rows.data, shape: rows.shape } };
    const burst = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 4 === 3
      ? fetch(`${wd.url}/models`)
      : fetch(`${wd.url}/predict/digits@production`, { method: "POST", body: JSON.stringify({ inputs: input }) }))
      .then((r) => r.status)));
    assert.deepEqual(burst, Array(16).fill(200));

    // The catalogue.
    const cat = await (await fetch(`${wd.url}/models`)).json();
    assert.deepEqual(cat.models.map((m) => m.name), ["digits", "iris"]);
    assert.deepEqual(cat.models[0].aliases, { production: "1" });

    // /predict equals `edge-registry run` on the same inputs, through the same registry.
    const cli = (ref) => {
      const file = join(work, "input.json");
      writeFileSync(file, JSON.stringify({ input: { ...input.input, dtype: "float32" } }));
      return JSON.parse(er("run", "--model", ref, "--registry", registryUrl, "--root", rootFile,
        "--cache-dir", join(work, "cli-cache"), "--input", file));
    };
    const p1 = await post(`${wd.url}/predict/digits@production`, JSON.stringify({ inputs: input }));
    assert.equal(p1.status, 200, JSON.stringify(p1.body));
    assert.equal(p1.body.model, "digits");
    assert.equal(p1.body.version, "1");
    assert.equal(p1.body.sha256, execFileSync("sha256sum", [join(models, "digits-v1/model.onnx")]).toString().split(" ")[0]);
    assertOutputsEqual(p1.body.outputs, cli("digits@production"));

    // /evaluate: the report of a labelled batch, equal to the CLI's on the same rows.
    const batch = digitsRows(200);
    const ev = await post(`${wd.url}/evaluate/digits@production`, batch.csv, "text/csv");
    assert.equal(ev.status, 200, JSON.stringify(ev.body));
    const csvFile = join(work, "batch.csv");
    writeFileSync(csvFile, batch.csv);
    const cliReport = JSON.parse(er("eval", "--model", "digits@production", "--registry", registryUrl, "--root", rootFile,
      "--cache-dir", join(work, "cli-cache"), "--data", csvFile, "--json"));
    assert.equal(ev.body.report.data.rowsUsed, 200);
    assert.equal(ev.body.report.data.sha256, cliReport.data.sha256, "the same bytes were evaluated");
    assert.equal(ev.body.report.data.rowsUsed, cliReport.data.rows_used);
    assert.deepEqual(ev.body.report.results.classification.confusionMatrix, cliReport.results.classification.confusion_matrix);
    assert.equal(ev.body.report.results.classification.accuracy, cliReport.results.classification.accuracy);

    // Errors are JSON with a code and a fitting status; the worker keeps serving.
    const bad = await post(`${wd.url}/predict/digits`, "{");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "BAD_REQUEST");
    const shape = await post(`${wd.url}/predict/digits`, JSON.stringify({ inputs: { input: { data: [1, 2, 3], shape: [1, 3] } } }));
    assert.equal(shape.status, 400, JSON.stringify(shape.body));
    assert.match(shape.body.error.code, /SCHEMA_MISMATCH|INVALID_ARGUMENT/);
    const missing = await post(`${wd.url}/predict/no-such-model`, JSON.stringify({ inputs: input }));
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "MODEL_NOT_FOUND");
    const method = await fetch(`${wd.url}/predict/digits`);
    assert.equal(method.status, 405);
    assert.equal((await method.json()).error.code, "METHOD_NOT_ALLOWED");

    // A tampered artifact: iris's bytes changed on the server after signing.
    const irisDir = join(repo, "targets/models/iris/1");
    const irisFile = join(irisDir, readdirSync(irisDir).find((f) => f.endsWith(".model.onnx")));
    const irisBytes = readFileSync(irisFile);
    irisBytes[irisBytes.length >> 1] ^= 0x01;
    writeFileSync(irisFile, irisBytes);
    const tampered = await post(`${wd.url}/predict/iris`, JSON.stringify({ inputs: { input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } } }));
    assert.equal(tampered.status, 502, JSON.stringify(tampered.body));
    assert.equal(tampered.body.error.code, "HASH_MISMATCH");
    assert.match(tampered.type, /^application\/json/);
    const still = await post(`${wd.url}/predict/digits@production`, JSON.stringify({ inputs: input }));
    assert.equal(still.status, 200);
    assert.equal(still.body.version, "1");

    // The registry moves production to version 2; after the refresh interval the worker follows.
    er("publish", repo, join(models, "digits-v2/model.onnx"), "--keys", keys, "--name", "digits", "--version", "2",
      "--card", join(models, "digits-v2/card.json"));
    // A staged rollout of production to version 2 for half the callers: each caller (the
    // x-client-id header, else the er_client cookie, else a new id set as that cookie) keeps
    // its version, and the worker's choice for each id is the CLI's.
    er("rollout", "start", repo, "digits@production", "--to", "2", "--stages", "50", "--salt", "edge", "--keys", keys);
    const as = async (headers) => {
      const r = await fetch(`${wd.url}/predict/digits@production`, { method: "POST", body: JSON.stringify({ inputs: input }),
        headers: { "content-type": "application/json", ...headers } });
      return { status: r.status, cookie: r.headers.get("set-cookie"), body: await r.json() };
    };
    const started = Date.now();
    let probe;
    do {
      await new Promise((r) => setTimeout(r, 250));
      probe = await as({ "x-client-id": "probe" });
      assert.equal(probe.status, 200, JSON.stringify(probe.body));
    } while (!probe.body.rollout && Date.now() - started < 20000);
    assert.equal(probe.body.rollout?.stage, 0, "the worker never picked up the rollout");
    const ids = Array.from({ length: 40 }, (_, i) => `caller-${i}`);
    const status = er("rollout", "status", repo, "digits@production", ...ids.flatMap((id) => ["--client", id]));
    const split = {};
    for (const id of ids) {
      const a = await as({ "x-client-id": id });
      const b = await as({ "x-client-id": id });
      assert.equal(a.body.version, b.body.version, `${id} is sticky`);
      assert.equal(a.body.rollout.chosen, a.body.version);
      assert.equal(a.cookie, null, "an id in the header sets no cookie");
      assert.match(status, new RegExp(`client ${id}: version ${a.body.version} \\(bucket ${a.body.rollout.bucket}`));
      split[a.body.version] = (split[a.body.version] ?? 0) + 1;
    }
    assert.ok(split["1"] >= 8 && split["2"] >= 8, JSON.stringify(split));
    const fresh = await as({});
    const cookie = fresh.cookie?.match(/^er_client=([0-9a-f-]{36});/)?.[1];
    assert.ok(cookie, fresh.cookie);
    for (let i = 0; i < 3; i++) {
      const again = await as({ cookie: `er_client=${cookie}` });
      assert.equal(again.body.version, fresh.body.version, "the cookie keeps the caller's version");
      assert.equal(again.cookie, null);
    }
    // The last stage has started: advancing completes the rollout (production -> 2).
    assert.match(er("rollout", "advance", repo, "digits@production", "--keys", keys), /rollout complete/);
    const moved = Date.now();
    let p2;
    do {
      await new Promise((r) => setTimeout(r, 250));
      p2 = await post(`${wd.url}/predict/digits@production`, JSON.stringify({ inputs: input }));
      assert.equal(p2.status, 200, JSON.stringify(p2.body));
    } while (p2.body.version !== "2" && Date.now() - moved < 20000);
    assert.equal(p2.body.version, "2", "the worker never picked up the alias move");
    assert.equal(p2.body.sha256, execFileSync("sha256sum", [join(models, "digits-v2/model.onnx")]).toString().split(" ")[0]);
    assertOutputsEqual(p2.body.outputs, cli("digits@production"));
    // The pinned version still answers from version 1.
    const pinned = await post(`${wd.url}/predict/digits@1`, JSON.stringify({ inputs: input }));
    assert.equal(pinned.body.version, "1");
    assertOutputsEqual(pinned.body.outputs, p1.body.outputs);

    const health = await (await fetch(`${wd.url}/health`)).json();
    assert.ok(health.refreshes >= 2, JSON.stringify(health));
  } catch (e) {
    e.message += `\nworkerd log:\n${wd.log.join("")}`;
    throw e;
  } finally {
    wd.stop();
    server.stop();
  }
});
