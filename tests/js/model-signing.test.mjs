// OpenSSF model-signing bundles through the built package in Node: `verifyModelSignature` on
// every case of tests/fixtures/model-signing/cases.json gives the reference verifier's verdict
// (model_signing 1.1.1; see tests/model_signing.rs for the rule), with the expected error code
// on refusal, and the CLI's `verify-model-signature` gives the same verdict on disk.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { loadPkg, root, startServer } from "./helpers.mjs";

const pkg = await loadPkg();
const dir = new URL("tests/fixtures/model-signing/", root);
const path = (p) => new URL(p, dir).pathname;
const cases = JSON.parse(readFileSync(path("cases.json"), "utf8"));

function modelFiles(model) {
  const p = path(model);
  if (statSync(p).isFile()) return readFileSync(p);
  const files = {};
  const walk = (d, rel) => {
    for (const name of readdirSync(d).sort()) {
      const full = `${d}/${name}`;
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(full).isDirectory()) walk(full, r);
      else files[r] = readFileSync(full);
    }
  };
  walk(p, "");
  return files;
}

function policy(c) {
  if (c.method === "key") return { key: readFileSync(path(c.key), "utf8") };
  if (c.method === "certificate") return { ca: readFileSync(path(c.ca), "utf8") };
  return { identity: c.identity, issuer: c.issuer, trustedRoot: readFileSync(path(c.trusted_root), "utf8") };
}

const expectedPass = (c) => c.reference_api ?? c.reference ?? c.expect_code === null;

test("verifyModelSignature agrees with the reference verifier on every fixture", () => {
  assert.ok(cases.length >= 50);
  const wrong = [];
  for (const c of cases) {
    let result, error;
    try {
      result = pkg.verifyModelSignature(modelFiles(c.model), readFileSync(path(c.bundle), "utf8"), policy(c));
    } catch (e) {
      error = e;
    }
    if (expectedPass(c)) {
      if (error) wrong.push(`${c.name}: refused (${error.code}: ${error.message})`);
      else if (result.method !== c.method) wrong.push(`${c.name}: method ${result.method}`);
    } else if (!error) {
      wrong.push(`${c.name}: accepted`);
    } else if (c.expect_code && error.code !== c.expect_code) {
      wrong.push(`${c.name}: ${error.code} instead of ${c.expect_code} (${error.message})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("a real Sigstore bundle with the built-in trusted root names its signer", () => {
  const c = cases.find((x) => x.name === "sigstore-v1.1.0");
  // Bytes and a parsed bundle object are read as well as text; no trustedRoot: the built-in one.
  const r = pkg.verifyModelSignature(modelFiles(c.model), JSON.parse(readFileSync(path(c.bundle), "utf8")),
    { identity: c.identity, issuer: c.issuer });
  assert.equal(r.identity, c.identity);
  assert.equal(r.issuer, c.issuer);
  assert.ok(r.logIndex > 100_000_000);
  assert.equal(r.manifest.serialization.method, "files");
  assert.deepEqual(r.manifest.resources.map((x) => x.name), ["signme-1", "signme-2"]);
  assert.throws(() => pkg.verifyModelSignature(modelFiles(c.model), readFileSync(path(c.bundle)),
    { identity: "mallory@example.com", issuer: c.issuer }), { code: "MODEL_SIGNATURE_IDENTITY" });
});

test("bad arguments are typed errors", () => {
  const bundle = readFileSync(path("bundles/key-p256-single.sig"), "utf8");
  const model = readFileSync(path("models/single.onnx"));
  assert.throws(() => pkg.verifyModelSignature(model, bundle, {}), { code: "INVALID_ARGUMENT" });
  assert.throws(() => pkg.verifyModelSignature(model, bundle, { key: "not a key" }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => pkg.verifyModelSignature(42, bundle, { key: readFileSync(path("keys/p256.pub.pem"), "utf8") }),
    { code: "INVALID_ARGUMENT" });
  assert.throws(() => pkg.verifyModelSignature(model, "{", { key: readFileSync(path("keys/p256.pub.pem"), "utf8") }),
    { code: "MODEL_SIGNATURE_INVALID" });
});

const bin = process.env.EDGE_REGISTRY_BIN ?? new URL("target/debug/edge-registry", root).pathname;
test("the CLI's verify-model-signature gives the same verdicts on disk", { skip: !existsSync(bin) && "no CLI" }, () => {
  const wrong = [];
  for (const c of cases) {
    const args = ["verify-model-signature", path(c.model), "--bundle", path(c.bundle)];
    if (c.method === "key") args.push("--key", path(c.key));
    else if (c.method === "certificate") args.push("--ca", path(c.ca));
    else args.push("--identity", c.identity, "--issuer", c.issuer, "--trusted-root", path(c.trusted_root));
    const r = spawnSync(bin, args, { encoding: "utf8" });
    const ok = r.status === 0;
    if (ok !== expectedPass(c)) wrong.push(`${c.name}: exit ${r.status} ${r.stderr.trim()}`);
    else if (!ok && c.expect_code && !r.stderr.includes(`error: ${c.expect_code}:`)) {
      wrong.push(`${c.name}: ${r.stderr.trim()} (expected ${c.expect_code})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("a registry client can require the author's signature on every load", { skip: !existsSync(bin) && "no CLI" }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "er-modelsig-"));
  const repo = join(dir, "repo");
  const cli = (...args) => {
    const r = spawnSync(bin, args, { encoding: "utf8" });
    assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
  };
  const models = new URL("tests/fixtures/models/", root).pathname;
  cli("init", repo);
  cli("publish", repo, `${models}digits-v1/model.onnx`, "--name", "digits", "--version", "1",
    "--card", `${models}digits-v1/card.json`, "--model-signature", path("bundles/key-p256-single.sig"));
  cli("publish", repo, `${models}digits-v2/model.onnx`, "--name", "digits", "--version", "2",
    "--card", `${models}digits-v2/card.json`);
  const server = await startServer([repo, "--quiet"]);
  try {
    const trustedRoot = readFileSync(join(repo, "metadata/1.root.json"));
    const key = readFileSync(path("keys/p256.pub.pem"), "utf8");
    const reg = await pkg.Registry.open({ url: server.url, trustedRoot, requireModelSignature: { key } });
    await reg.refresh();
    const m = await reg.load("digits@1");
    assert.equal(m.fetched.modelSignature.method, "key");
    assert.equal(m.fetched.modelSignature.identity, createHash("sha256").update(key).digest("hex"));
    assert.equal(m.fetched.modelSignature.manifest.resources[0].name, ".");
    await assert.rejects(reg.load("digits@2"), { code: "MODEL_SIGNATURE_REQUIRED" });
    // A call's own policy wins over the client's.
    await assert.rejects(reg.load("digits@1", { requireModelSignature: { key: readFileSync(path("keys/p256-other.pub.pem"), "utf8") } }),
      { code: "MODEL_SIGNATURE_IDENTITY" });
    await assert.rejects(reg.load("digits@1", { requireModelSignature: { identity: "a@example.com", issuer: "https://example.com" } }),
      { code: "MODEL_SIGNATURE_IDENTITY" });
    await assert.rejects(reg.load("digits@1", { requireModelSignature: { nothing: 1 } }), { code: "INVALID_ARGUMENT" });
    // Without a policy, an unsigned version loads as before.
    const plain = await pkg.Registry.open({ url: server.url, trustedRoot });
    await plain.refresh();
    assert.equal((await plain.load("digits@2")).fetched.modelSignature, undefined);
  } finally {
    server.stop();
  }
});

test("fetchSigstoreTrustedRoot reads Sigstore's trusted root with our TUF client (a real copy of Sigstore's repository)", async () => {
  const repo = new URL("tests/fixtures/sigstore-tuf/", root).pathname;
  // Served as Sigstore serves it: metadata at the base URL, targets under /targets.
  const server = await startServer([`${repo}metadata`, "--mount", `/targets=${repo}targets`, "--quiet"]);
  try {
    const pinnedRoot = readFileSync(`${repo}metadata/6.root.json`);
    const now = Date.UTC(2023, 3, 2, 12);
    const bytes = await pkg.fetchSigstoreTrustedRoot({ url: server.url, pinnedRoot, now });
    const target = readdirSync(`${repo}targets`).find((n) => n.endsWith(".trusted_root.json"));
    assert.deepEqual(Buffer.from(bytes), readFileSync(`${repo}targets/${target}`));
    assert.equal(createHash("sha256").update(bytes).digest("hex"), target.split(".")[0]);
    // Its timestamp expired on 2023-04-15; a pinned root that is not JSON is refused.
    await assert.rejects(pkg.fetchSigstoreTrustedRoot({ url: server.url, pinnedRoot, now: Date.UTC(2023, 3, 16) }),
      { code: "EXPIRED" });
    await assert.rejects(pkg.fetchSigstoreTrustedRoot({ url: server.url, pinnedRoot: "{", now }), (e) => typeof e.code === "string");
    // The built-in pinned root (Sigstore's production root v15) does not sign this old copy's
    // root chain forward: refused, never silently trusted.
    await assert.rejects(pkg.fetchSigstoreTrustedRoot({ url: server.url, now }), (e) => typeof e.code === "string");
  } finally {
    server.stop();
  }
});
