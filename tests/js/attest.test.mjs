// Signed evaluation attestations through the built package in Node: a report made here signed
// with a non-extractable WebCrypto P-256 key (js/attest.js), verified here, by the native CLI
// (`edge-registry attest verify`) and against a served registry; a CLI-signed (Ed25519)
// envelope verified here; every tampering refused with its code. The registry part uses the
// test registries (examples/registry_fixtures.rs) as registry.test.mjs does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPkg, readJson, root, startServer } from "./helpers.mjs";

const pkg = await loadPkg();
const pkgDir = process.env.PKG_DIR ? new URL(`file://${process.env.PKG_DIR.replace(/\/?$/, "/")}`) : new URL("pkg/", root);
const attest = await import(new URL("attest.js", pkgDir));
const bin = process.env.EDGE_REGISTRY_BIN || new URL("target/debug/edge-registry", root).pathname;
const fixture = (p) => new URL(`tests/fixtures/models/${p}`, root).pathname;
const fixtures = new URL(`${process.env.REGISTRY_FIXTURES || "target/registry-fixtures"}/`, root);
let server;
let base = process.env.EDGE_REGISTRY_TEST_SERVER;

before(async () => {
  if (!base) {
    server = await startServer([fixtures.pathname, "--quiet"]);
    base = server.url;
  }
});
after(() => server?.stop());

const rejectsWith = (promise, code) => assert.rejects(promise, (e) => {
  assert.equal(e.code, code, e.message);
  assert.equal(e.name, "EdgeRegistryError");
  return true;
});

async function digitsReport() {
  const model = pkg.Model.fromBytes(readFileSync(fixture("digits-v1/model.onnx")), readJson("tests/fixtures/models/digits-v1/card.json"));
  return model.evaluate(readFileSync(fixture("digits-v1/test.csv")));
}

/** The envelope with `edit` applied to its decoded payload text, re-encoded (not re-signed). */
function withPayload(envelope, edit) {
  const text = Buffer.from(envelope.payload, "base64").toString("utf8");
  return { ...envelope, payload: Buffer.from(edit(text), "utf8").toString("base64") };
}

/** Signs `statement` with the key pair as createAttestation does (for forged statements). */
async function signStatement(statement, keyPair) {
  const payload = new TextEncoder().encode(JSON.stringify(statement));
  const { keyid } = await attest.attestationPublicKey(keyPair);
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keyPair.privateKey, pkg.pae(attest.PAYLOAD_TYPE, payload));
  return pkg.assembleEnvelope(payload, [{ keyid, sig: new Uint8Array(sig) }]);
}

test("createAttestation -> verifyAttestation round trip with a non-extractable WebCrypto key", async () => {
  const report = await digitsReport();
  const keyPair = await attest.generateAttestationKey();
  assert.equal(keyPair.privateKey.extractable, false);
  assert.equal(keyPair.privateKey.algorithm.namedCurve, "P-256");
  const envelope = await attest.createAttestation(report, keyPair, { dataName: "test.csv" });
  assert.equal(envelope.payloadType, "application/vnd.in-toto+json");
  assert.match(envelope.signatures[0].sig, /^[A-Za-z0-9+/]+=*$/);
  assert.equal(Buffer.from(envelope.signatures[0].sig, "base64").length, 64, "P1363 r || s");
  const { keyid, key } = await attest.attestationPublicKey(keyPair);
  assert.equal(envelope.signatures[0].keyid, keyid);
  assert.equal(key.keytype, "ecdsa");
  assert.match(key.keyval.public, /^-----BEGIN PUBLIC KEY-----\n/);

  const verified = await attest.verifyAttestation(envelope, keyPair.publicKey);
  assert.deepEqual(verified.keyids, [keyid]);
  const st = verified.statement;
  assert.equal(st._type, "https://in-toto.io/Statement/v1");
  assert.equal(st.predicateType, "https://edge-registry.dev/attestation/evaluation/v1");
  assert.deepEqual(verified.subjects.map((s) => s.role), ["model", "data"]);
  assert.equal(st.subject[0].name, "models/digits/1/model.onnx");
  assert.equal(st.subject[0].digest.sha256, report.model.sha256);
  assert.equal(st.subject[1].name, "test.csv");
  assert.equal(st.subject[1].digest.sha256, report.data.sha256);
  // The predicate is the report document (snake_case) plus engine and environment.
  assert.deepEqual(st.predicate.results, pkg.reportDocument(report).results);
  assert.equal(st.predicate.engine.name, "edge-registry");
  assert.equal(st.predicate.environment.runtime, "node");

  // Every key form and envelope form verifies: JWK, TUF key, key pair, JSON text, bytes,
  // URL-safe unpadded base64; the free wasm function too.
  const jwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
  for (const keys of [jwk, key, keyPair, [jwk], { [keyid]: key }]) {
    assert.deepEqual((await attest.verifyAttestation(envelope, keys)).keyids, [keyid]);
  }
  const text = JSON.stringify(envelope);
  assert.ok(await attest.verifyAttestation(text, jwk));
  assert.ok(await attest.verifyAttestation(new TextEncoder().encode(text), jwk));
  const url = (b64) => b64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const urlSafe = { ...envelope, payload: url(envelope.payload),
    signatures: envelope.signatures.map((s) => ({ ...s, sig: url(s.sig) })) };
  assert.ok(await attest.verifyAttestation(urlSafe, jwk));
  assert.deepEqual(pkg.verifyAttestation(envelope, jwk, { threshold: 1 }).keyids, [keyid]);
});

test("a changed byte in the statement, the signature or the model digest is refused", async () => {
  const report = await digitsReport();
  const keyPair = await attest.generateAttestationKey();
  const envelope = await attest.createAttestation(report, keyPair);
  const keys = keyPair.publicKey;
  // The statement: the model digest's first hex digit, re-encoded without signing.
  const sha = report.model.sha256;
  const other = (sha[0] === "0" ? "1" : "0") + sha.slice(1);
  await rejectsWith(attest.verifyAttestation(withPayload(envelope, (t) => t.replace(sha, other)), keys), "ATTESTATION_SIGNATURE");
  await rejectsWith(attest.verifyAttestation(withPayload(envelope, (t) => t.replace('"accuracy":', '"accuracy": ')), keys), "ATTESTATION_SIGNATURE");
  // The signature.
  const sig = Buffer.from(envelope.signatures[0].sig, "base64");
  sig[7] ^= 1;
  await rejectsWith(attest.verifyAttestation({ ...envelope, signatures: [{ ...envelope.signatures[0], sig: sig.toString("base64") }] }, keys), "ATTESTATION_SIGNATURE");
  // Another key; two keys required of one.
  const stranger = await attest.generateAttestationKey();
  await rejectsWith(attest.verifyAttestation(envelope, stranger.publicKey), "ATTESTATION_SIGNATURE");
  await rejectsWith(attest.verifyAttestation(envelope, [keys, stranger.publicKey], { threshold: 2 }), "ATTESTATION_SIGNATURE");
  // Not an in-toto envelope; malformed; a bad threshold; a bad key.
  await rejectsWith(attest.verifyAttestation({ ...envelope, payloadType: "text/plain" }, keys), "ATTESTATION_INVALID");
  await rejectsWith(attest.verifyAttestation("{", keys), "ATTESTATION_INVALID");
  await rejectsWith(attest.verifyAttestation({ payloadType: envelope.payloadType }, keys), "ATTESTATION_INVALID");
  await rejectsWith(attest.verifyAttestation(envelope, keys, { threshold: 0 }), "INVALID_ARGUMENT");
  await rejectsWith(attest.verifyAttestation(envelope, { kty: "RSA", n: "AQAB", e: "AQAB" }), "INVALID_ARGUMENT");
  assert.throws(() => pkg.attestationStatement({ reportFormat: "x" }), (e) => e.code === "INVALID_ARGUMENT");
  await assert.rejects(attest.createAttestation(report, { privateKey: "x" }), TypeError);
});

test("against a served registry: the model must be a signed version", async () => {
  const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot: readFileSync(new URL("root.json", fixtures)) });
  await reg.refresh();
  const keyPair = await attest.generateAttestationKey();
  const model = await reg.load("digits@1");
  const report = await model.evaluate(readFileSync(fixture("digits-v1/test.csv")));
  const envelope = await attest.createAttestation(report, keyPair, { registry: { url: `${base}/good` } });
  const verified = await attest.verifyAttestation(envelope, keyPair.publicKey, { registry: reg });
  assert.equal(verified.models.length, 1);
  assert.deepEqual({ ...verified.models[0], sha256: undefined }, {
    role: "model", subject: "models/digits/1/model.onnx", name: "digits", version: "1",
    path: "models/digits/1/model.onnx", sha256: undefined, signedBy: "targets",
  });
  assert.equal(verified.statement.predicate.registry.url, `${base}/good`);
  // Signed by the evaluator but naming other model bytes: refused by the registry check only.
  const statement = pkg.attestationStatement(report);
  const sha = statement.subject[0].digest.sha256;
  statement.subject[0].digest.sha256 = (sha[0] === "0" ? "1" : "0") + sha.slice(1);
  const forged = await signStatement(statement, keyPair);
  assert.ok(await attest.verifyAttestation(forged, keyPair));
  await rejectsWith(attest.verifyAttestation(forged, keyPair, { registry: reg }), "ATTESTATION_SUBJECT");
  // Predictions scored elsewhere name no model.
  const scored = pkg.evaluatePredictions("y,p\n1,1\n0,0\n", { label: "y", pred: "p" });
  const noModel = await attest.createAttestation(scored, keyPair);
  await rejectsWith(attest.verifyAttestation(noModel, keyPair, { registry: reg }), "ATTESTATION_SUBJECT");
  // Before refresh() there is no catalogue.
  const fresh = await pkg.Registry.open({ url: `${base}/good`, trustedRoot: readFileSync(new URL("root.json", fixtures)) });
  await rejectsWith(attest.verifyAttestation(envelope, keyPair, { registry: fresh }), "INVALID_STATE");
});

test("the CLI verifies Node's envelopes and Node verifies the CLI's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "er-attest-"));
  const keyPair = await attest.generateAttestationKey();
  const envelope = await attest.createAttestation(await digitsReport(), keyPair, { dataName: "test.csv" });
  writeFileSync(join(dir, "node.dsse.json"), JSON.stringify(envelope));
  writeFileSync(join(dir, "node.jwk"), JSON.stringify(await crypto.subtle.exportKey("jwk", keyPair.publicKey)));
  const out = execFileSync(bin, ["attest", "verify", join(dir, "node.dsse.json"), "--pubkey", join(dir, "node.jwk")], { encoding: "utf8" });
  assert.match(out, /verified attestation/);
  assert.match(out, /on node by edge-registry/);
  writeFileSync(join(dir, "tampered.dsse.json"), JSON.stringify(withPayload(envelope, (t) => t.replace("test.csv", "test.cvs"))));
  const refused = spawnSync(bin, ["attest", "verify", join(dir, "tampered.dsse.json"), "--pubkey", join(dir, "node.jwk")], { encoding: "utf8" });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /ATTESTATION_SIGNATURE/);

  // The CLI's Ed25519 envelope of its own report, verified here with its KEY.pub.
  const report = join(dir, "report.json");
  execFileSync(bin, ["eval", "--model", fixture("digits-v1/model.onnx"), "--card", fixture("digits-v1/card.json"),
    "--data", fixture("digits-v1/test.csv"), "--out", report], { stdio: "ignore" });
  execFileSync(bin, ["attest", "keygen", "--out", join(dir, "cli.key")], { stdio: "ignore" });
  execFileSync(bin, ["attest", "sign", report, "--key", join(dir, "cli.key"), "--out", join(dir, "cli.dsse.json")], { stdio: "ignore" });
  const cliKey = JSON.parse(readFileSync(join(dir, "cli.key.pub"), "utf8"));
  const cliEnvelope = readFileSync(join(dir, "cli.dsse.json"), "utf8");
  const verified = await attest.verifyAttestation(cliEnvelope, cliKey);
  assert.equal(verified.statement.predicate.environment.runtime, "native");
  assert.equal(verified.keyids[0], JSON.parse(cliEnvelope).signatures[0].keyid);
  await rejectsWith(attest.verifyAttestation(cliEnvelope, keyPair.publicKey), "ATTESTATION_SIGNATURE");
});
