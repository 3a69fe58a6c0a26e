// The verification test vectors every JavaScript runtime must agree on: the streaming SHA-256
// verifier (NIST vectors, a multi-MiB stream in uneven chunks, every error code) and the TUF
// attack fixtures (examples/registry_fixtures.rs: rollback, tampered artifact, oversized
// response, expired timestamp) fetched over HTTP from `edge-registry serve`.
//
// Runtime-neutral on purpose: only the package's API, fetch, TextEncoder and Uint8Array. Node
// (tests/js/shared.test.mjs), Deno (tests/edge/deno.test.mjs) and workerd
// (tests/edge/verification-worker.js) each call `runVerification` with their own initialised
// package and compare the verdicts with `EXPECTED`: identical verdicts in every runtime.
//
// `base` serves the registry fixtures (one directory per variant, root.json) and the vectors
// under /vectors/ (tests/vectors).

/** xorshift32 (13, 17, 5), little-endian words: the generator of scripts/gen_digest_vectors.py. */
export function xorshiftBytes(seed, length) {
  const out = new Uint8Array(length + 4);
  const view = new DataView(out.buffer);
  let x = seed >>> 0;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    view.setUint32(i, x, true);
  }
  return out.subarray(0, length);
}

export function* unevenChunks(data, sizes) {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - at);
    yield data.subarray(at, at + n);
    at += n;
  }
}

/** The verdict of every case: "ok", or the error code the case must end with. */
export const EXPECTED = {
  "sha256: NIST vectors one shot and streamed": "ok",
  "sha256: multi-MiB stream in uneven chunks": "ok",
  "sha256: more bytes than declared": "LENGTH_EXCEEDED",
  "sha256: fewer bytes than declared": "TRUNCATED",
  "sha256: one flipped bit": "HASH_MISMATCH",
  "sha256: malformed digest": "INVALID_DIGEST",
  "sha256: negative length": "INVALID_ARGUMENT",
  "sha256: verifyBytes (the host's fastest digest) of the whole stream": "ok",
  "sha256: verifyBytes of a buffer with one flipped bit": "HASH_MISMATCH",
  "sha256: verifyBytes of a buffer one byte short": "TRUNCATED",
  "sha256: verifyBytes of a buffer one byte long": "LENGTH_EXCEEDED",
  "tuf: good repository refreshes and verifies a model": "ok",
  "tuf: bad trusted root": "BAD_METADATA",
  "tuf: tampered artifact": "HASH_MISMATCH",
  "tuf: tampered artifact leaves the cache empty": "ok",
  "tuf: oversized artifact response": "LENGTH_EXCEEDED",
  "tuf: expired timestamp": "EXPIRED",
  "tuf: rollback of the timestamp": "ROLLBACK",
  "tuf: rollback refusal leaves the stored timestamp unchanged": "ok",
  "tuf: unknown model": "MODEL_NOT_FOUND",
};

class Mismatch extends Error {
  constructor(message) {
    super(message);
    this.code = "WRONG_RESULT";
  }
}

function check(cond, message) {
  if (!cond) throw new Mismatch(message);
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A caller store over a Map, as a runtime without IndexedDB would pass. */
export function mapStore() {
  const m = new Map();
  return {
    map: m,
    get: (k) => m.get(k),
    put: (k, v) => { m.set(k, v.slice()); },
    delete: (k) => { m.delete(k); },
    keys: (p) => [...m.keys()].filter((k) => k.startsWith(p)),
  };
}

/**
 * Runs every case; resolves to `{ name: verdict }` for every name of `EXPECTED`. A verdict is
 * "ok", an error's code, or "WRONG_RESULT: ..." / "THREW: ..." when something else happened.
 */
export async function runVerification(pkg, base) {
  const get = async (path) => {
    const r = await fetch(`${base}/${path}`);
    if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status}`);
    return r;
  };
  const vectors = await (await get("vectors/sha256.json")).json();
  const trustedRoot = new Uint8Array(await (await get("root.json")).arrayBuffer());
  const s = vectors.stream;
  const data = xorshiftBytes(s.seed, s.length);
  const cases = {
    "sha256: NIST vectors one shot and streamed": () => {
      for (const v of vectors.nist) {
        const msg = new TextEncoder().encode(v.message.repeat(v.repeat));
        check(pkg.sha256Hex(msg) === v.sha256, `sha256Hex of ${v.message.slice(0, 8)}…`);
        const ver = new pkg.Sha256Verifier(v.sha256, msg.length);
        const step = msg.length > 1000 ? 999 : 1;
        for (let i = 0; i < msg.length; i += step) ver.update(msg.subarray(i, i + step));
        check(ver.finish() === v.sha256, "streamed NIST vector");
      }
    },
    "sha256: multi-MiB stream in uneven chunks": () => {
      check(hex(data.subarray(0, 8)) === s.first8_hex, "generator output");
      const ver = new pkg.Sha256Verifier(s.sha256, s.length);
      for (const c of unevenChunks(data, s.chunk_sizes)) ver.update(c);
      check(ver.bytesSeen === s.length, "bytesSeen");
      check(ver.finish() === s.sha256, "digest");
    },
    "sha256: more bytes than declared": () => {
      const ver = new pkg.Sha256Verifier(s.sha256, s.length - 1);
      for (const c of unevenChunks(data, s.chunk_sizes)) ver.update(c);
    },
    "sha256: fewer bytes than declared": () => {
      const ver = new pkg.Sha256Verifier(s.sha256, s.length);
      ver.update(data.subarray(0, 10));
      ver.finish();
    },
    "sha256: one flipped bit": () => {
      const bad = data.slice();
      bad[0] ^= 1;
      const ver = new pkg.Sha256Verifier(s.sha256, s.length);
      ver.update(bad);
      ver.finish();
    },
    "sha256: malformed digest": () => new pkg.Sha256Verifier("zz", 1),
    "sha256: negative length": () => new pkg.Sha256Verifier(s.sha256, -1),
    "sha256: verifyBytes (the host's fastest digest) of the whole stream": async () => {
      check((await pkg.verifyBytes(data, s.sha256, s.length)) === s.sha256, "digest");
      for (const v of vectors.nist) {
        const msg = new TextEncoder().encode(v.message.repeat(v.repeat));
        check((await pkg.verifyBytes(msg, v.sha256, msg.length)) === v.sha256, "NIST vector");
      }
    },
    "sha256: verifyBytes of a buffer with one flipped bit": async () => {
      const bad = data.slice();
      bad[bad.length - 1] ^= 0x80;
      await pkg.verifyBytes(bad, s.sha256, s.length);
    },
    "sha256: verifyBytes of a buffer one byte short": () =>
      pkg.verifyBytes(data.subarray(1), s.sha256, s.length),
    "sha256: verifyBytes of a buffer one byte long": () =>
      pkg.verifyBytes(data, s.sha256, s.length - 1),
    "tuf: good repository refreshes and verifies a model": async () => {
      const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: "memory" });
      const r = await reg.refresh();
      check(r.offline === false && r.roles.timestamp.version === 2, "timestamp version 2 online");
      const names = reg.models().map((m) => m.name).join(",");
      check(names === "acme-iris,big,digits,iris,pad", `models ${names}`);
      const f = await reg.fetchModel("digits@production");
      check(f.version === "1" && f.sha256 === pkg.sha256Hex(f.bytes) && f.bytes.length === f.length, "digits@production bytes");
    },
    "tuf: bad trusted root": () => pkg.Registry.open({ url: `${base}/good`, trustedRoot: "{}", cache: "memory" }),
    "tuf: tampered artifact": async () => {
      const reg = await pkg.Registry.open({ url: `${base}/tampered`, trustedRoot, cache: "memory" });
      await reg.refresh();
      await reg.fetchModel("digits@2");
    },
    "tuf: tampered artifact leaves the cache empty": async () => {
      const store = mapStore();
      const reg = await pkg.Registry.open({ url: `${base}/tampered`, trustedRoot, cache: store });
      await reg.refresh();
      const code = await reg.fetchModel("digits@2").then(() => "ok", (e) => e.code);
      check(code === "HASH_MISMATCH", `fetch ended with ${code}`);
      check((await reg.cache.list()).length === 0, "nothing cached");
      const kept = [...store.map.keys()].filter((k) => /^(blob|chunk|ver)\//.test(k));
      check(kept.length === 0, `artifact keys stored: ${kept.join(", ")}`);
    },
    "tuf: oversized artifact response": async () => {
      const reg = await pkg.Registry.open({ url: `${base}/oversized`, trustedRoot, cache: "memory" });
      await reg.refresh();
      await reg.fetchModel("pad@1");
    },
    "tuf: expired timestamp": async () => {
      const reg = await pkg.Registry.open({ url: `${base}/expired`, trustedRoot, cache: "memory" });
      await reg.refresh();
    },
    // `good` and `rollback` play one registry (one registryId) whose server went back in time.
    "tuf: rollback of the timestamp": async () => {
      const store = mapStore();
      const registryId = "one-registry";
      await (await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: store, registryId })).refresh();
      const later = await pkg.Registry.open({ url: `${base}/rollback`, trustedRoot, cache: store, registryId });
      await later.refresh();
    },
    "tuf: rollback refusal leaves the stored timestamp unchanged": async () => {
      const store = mapStore();
      const registryId = "one-registry";
      await (await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: store, registryId })).refresh();
      const before = [...store.map.entries()].map(([k, v]) => `${k}:${hex(v)}`).sort().join("|");
      const later = await pkg.Registry.open({ url: `${base}/rollback`, trustedRoot, cache: store, registryId });
      const code = await later.refresh().then(() => "ok", (e) => e.code);
      check(code === "ROLLBACK", `refresh ended with ${code}`);
      const after = [...store.map.entries()].map(([k, v]) => `${k}:${hex(v)}`).sort().join("|");
      check(before === after, "stored state changed");
      // Without that stored state the same metadata is accepted: the refusal came from the store.
      const fresh = await pkg.Registry.open({ url: `${base}/rollback`, trustedRoot, cache: "memory" });
      check((await fresh.refresh()).roles.timestamp.version === 1, "fresh client accepts version 1");
    },
    "tuf: unknown model": async () => {
      const reg = await pkg.Registry.open({ url: `${base}/good`, trustedRoot, cache: "memory" });
      await reg.refresh();
      reg.resolve("no-such-model");
    },
  };
  const verdicts = {};
  for (const name of Object.keys(EXPECTED)) {
    try {
      await cases[name]();
      verdicts[name] = "ok";
    } catch (e) {
      if (e instanceof Mismatch) verdicts[name] = `WRONG_RESULT: ${e.message}`;
      else verdicts[name] = typeof e?.code === "string" && e.name === "EdgeRegistryError" ? e.code : `THREW: ${e}`;
    }
  }
  return verdicts;
}
