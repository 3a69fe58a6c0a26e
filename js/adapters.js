// Registry verification for apps that run models with another engine: onnxruntime-web (or
// -node) and transformers.js get verified bytes from a signed registry, so users of those
// libraries keep their engine and gain the registry's checks (pinned root, signatures,
// expiry, rollback protection, the signed length and SHA-256 of every byte, a cache that is
// re-verified when read).
//
//   import { verifiedBytes, registryCache } from "edge-registry/adapters.js";
//   const session = await ort.InferenceSession.create(await verifiedBytes(registry, "digits@production"));
//
//   env.useBrowserCache = false;
//   env.useCustomCache = true;
//   env.customCache = registryCache(registry, {
//     "https://huggingface.co/Xenova/model/resolve/main/onnx/model.onnx": "model@production",
//   });
//
// `registry` is a `Registry` (main thread, Node, Deno, workerd) or a `WorkerRegistry`
// (ModelWorker): anything with `fetchModel(reference, options)`.

/** The verified bytes of the model `reference` names (cache or network, verified as they
 * arrive), for `InferenceSession.create(bytes)`. `options`: `{ onProgress, signal }`. */
export async function verifiedBytes(registry, reference, options) {
  return (await registry.fetchModel(reference, options)).bytes;
}

function urlOf(request) {
  if (typeof request === "string") return request;
  if (request instanceof URL) return request.href;
  if (request && typeof request.url === "string") return request.url;
  return String(request);
}

/** A Cache-API-like object (`match`, `put`) for transformers.js's `env.customCache`: the URLs
 * in `files` (URL -> registry reference, or a function from URL to reference or undefined) are
 * answered with the registry's verified bytes; a verification failure rejects (it never falls
 * back to the unverified URL). Other URLs go to `fallback` (a Cache, e.g. `await
 * caches.open("transformers-cache")`) when given, else are reported missing so the library
 * downloads them itself. `options.onProgress` and `options.signal` go to each fetch. */
export function registryCache(registry, files, { fallback, onProgress, signal } = {}) {
  const lookup = typeof files === "function" ? files : (url) => files?.[url];
  return {
    async match(request) {
      const url = urlOf(request);
      const reference = lookup(url);
      if (reference === undefined || reference === null) return fallback?.match(request);
      const { bytes, sha256, length } = await registry.fetchModel(reference, { onProgress, signal });
      return new Response(bytes, {
        status: 200,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(length),
          "x-edge-registry-sha256": sha256,
          "x-edge-registry-reference": reference,
        },
      });
    },
    async put(request, response) {
      // Registry files are cached (verified) by the registry itself.
      if (lookup(urlOf(request)) !== undefined) return;
      await fallback?.put(request, response);
    },
  };
}
