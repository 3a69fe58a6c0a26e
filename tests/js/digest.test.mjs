// The built package (pkg/, release + SIMD) in Node: the same SHA-256 vectors as the Rust tiers,
// through the JS API exactly as a caller uses it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadPkg, readJson, root, xorshiftBytes, unevenChunks } from "./helpers.mjs";

const pkg = await loadPkg();
const vectors = readJson("tests/vectors/sha256.json");

function stream() {
  const s = vectors.stream;
  const data = xorshiftBytes(s.seed, s.length);
  assert.equal(Buffer.from(data.subarray(0, 8)).toString("hex"), s.first8_hex);
  return { data, s };
}

test("version() is the crate version", () => {
  const toml = readFileSync(new URL("Cargo.toml", root), "utf8");
  assert.equal(pkg.version(), toml.match(/^version = "([^"]+)"/m)[1]);
});

test("NIST vectors, one shot and streamed", () => {
  for (const v of vectors.nist) {
    const msg = new TextEncoder().encode(v.message.repeat(v.repeat));
    assert.equal(pkg.sha256Hex(msg), v.sha256);
    const ver = new pkg.Sha256Verifier(v.sha256, msg.length);
    const step = msg.length > 1000 ? 999 : 1;
    for (let i = 0; i < msg.length; i += step) ver.update(msg.subarray(i, i + step));
    assert.equal(ver.finish(), v.sha256);
  }
});

test("multi-MiB stream in uneven chunks agrees with node:crypto", () => {
  const { data, s } = stream();
  assert.equal(createHash("sha256").update(data).digest("hex"), s.sha256);
  const ver = new pkg.Sha256Verifier(s.sha256, s.length);
  for (const c of unevenChunks(data, s.chunk_sizes)) ver.update(c);
  assert.equal(ver.bytesSeen, s.length);
  assert.equal(ver.finish(), s.sha256);
});

test("errors are Error instances with stable codes", () => {
  const { data, s } = stream();
  const over = new pkg.Sha256Verifier(s.sha256, s.length - 1);
  assert.throws(() => { for (const c of unevenChunks(data, s.chunk_sizes)) over.update(c); },
    (e) => e instanceof Error && e.code === "LENGTH_EXCEEDED" && e.name === "EdgeRegistryError");
  const short = new pkg.Sha256Verifier(s.sha256, s.length);
  short.update(data.subarray(0, 10));
  assert.throws(() => short.finish(), (e) => e instanceof Error && e.code === "TRUNCATED");
  const bad = data.slice();
  bad[0] ^= 1;
  const mism = new pkg.Sha256Verifier(s.sha256, s.length);
  mism.update(bad);
  assert.throws(() => mism.finish(), (e) => e.code === "HASH_MISMATCH" && e.message.includes(s.sha256));
  assert.throws(() => new pkg.Sha256Verifier("zz", 1), (e) => e.code === "INVALID_DIGEST");
  assert.throws(() => new pkg.Sha256Verifier(s.sha256, -1), (e) => e.code === "INVALID_ARGUMENT");
  assert.throws(() => new pkg.Sha256Verifier(s.sha256, 2 ** 60), (e) => e.code === "INVALID_ARGUMENT");
});
