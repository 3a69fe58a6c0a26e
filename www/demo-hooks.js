// The demo worker's hooks (see demo-worker.js): installed before the package's worker module
// runs, so this message listener comes first and keeps the `demo` messages to itself.

const pkgFetch = globalThis.fetch.bind(globalThis);
let tamper = false;

const pathOf = (input) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  return new URL(url, self.location.href).pathname;
};
const isTarget = (path) => /\/targets\//.test(path);
const isModel = (path) => isTarget(path) && /\.onnx$/i.test(path);

/** The response with the byte at half its length flipped as it streams through. */
function flipOneByte(resp, path) {
  const length = Number(resp.headers.get("content-length")) || 0;
  const at = length > 1 ? Math.floor(length / 2) : 0;
  let offset = 0;
  let flipped = false;
  const body = resp.body.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      if (!flipped && offset + chunk.byteLength > at) {
        chunk = chunk.slice();
        chunk[at - offset] ^= 0xff;
        flipped = true;
        self.postMessage({ demo: "tampered", path, at, length });
      }
      offset += chunk.byteLength;
      controller.enqueue(chunk);
    },
  }));
  return new Response(body, { status: resp.status, statusText: resp.statusText, headers: resp.headers });
}

globalThis.fetch = async (input, init = undefined) => {
  const path = pathOf(input);
  if (!isTarget(path)) return pkgFetch(input, init);
  const resp = await pkgFetch(input, init);
  return tamper && isModel(path) && resp.ok && resp.body ? flipOneByte(resp, path) : resp;
};

self.addEventListener("message", (event) => {
  const d = event.data;
  if (!d || typeof d.demo !== "string") return; // the package's worker handles it
  event.stopImmediatePropagation();
  if (d.demo === "tamper") tamper = Boolean(d.on);
});
