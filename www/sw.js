// The demo page's service worker: it keeps the page itself (HTML, JS, CSS and the package's
// JS and WebAssembly) so the page opens without a network once it has been visited. It does not
// keep registry metadata or models: the library caches those in IndexedDB and verifies them
// again from the pinned root whenever it reads them, so registry requests go to the network
// untouched. The registry files kept here are the pinned root (trusted-root.json) and the key of
// the models' author (author-key.pem), which a real application would ship with its code, as it
// ships this page.
//
// Network first: while online every file comes from the server (a rebuilt package is picked
// up at once) and the copy here is refreshed; offline the copy here answers.
"use strict";

const CACHE = "edge-registry-demo-shell-v1";
const scope = new URL(self.registration.scope);

// Relative to the scope (the directory of this file): everything the page loads up front.
const SHELL = [
  "./", "index.html", "style.css", "main.js", "ui.js", "charts.js", "draw.js", "csv.js", "data.js",
  "demo-worker.js", "demo-hooks.js", "check-worker.js",
  "pkg/edge_registry.js", "pkg/model-worker.js", "pkg/worker.js", "pkg/resilient.js", "pkg/tensor.js",
  "pkg/errors.js", "pkg/report.js", "pkg/attest.js",
];
const shellPaths = new Set(SHELL.map((p) => new URL(p, scope).pathname));
const index = new URL("./", scope).href;

/** The cache key of a request the shell answers, or null for requests that pass through. */
function keyOf(request) {
  if (request.method !== "GET") return null;
  const url = new URL(request.url);
  if (request.mode === "navigate") {
    const page = url.origin === scope.origin
      && (url.pathname === scope.pathname || url.pathname === `${scope.pathname}index.html`);
    return page ? index : null;
  }
  const plain = `${url.origin}${url.pathname}`;
  if (url.pathname.endsWith("/trusted-root.json") || url.pathname.endsWith("/author-key.pem")) return plain;
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return null;
  const rel = url.pathname.slice(scope.pathname.length);
  return shellPaths.has(url.pathname) || /^pkg\/[^/]+\.(js|wasm)$/.test(rel) ? plain : null;
}

async function networkFirst(event, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(event.request);
    if (response.status === 200) event.waitUntil(cache.put(key, response.clone()).catch(() => {}));
    return response;
  } catch (err) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((p) => new Request(new URL(p, scope), { cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("edge-registry-demo-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const key = keyOf(event.request);
  if (key) event.respondWith(networkFirst(event, key));
});

// The page names the files it loads that the shell list cannot know in advance: the
// WebAssembly build this browser runs (pkg/edge_registry_bg.wasm or the relaxed-SIMD one) and
// the pinned root of the registry it opened. The answer goes back on the message's port.
self.addEventListener("message", (event) => {
  const { type, urls } = event.data ?? {};
  if (type !== "cache" || !Array.isArray(urls)) return;
  const port = event.ports[0];
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const cached = [];
    const failed = [];
    for (const u of urls) {
      const key = keyOf(new Request(u));
      if (!key) {
        failed.push(`${u}: not part of the page`);
        continue;
      }
      try {
        if (await cache.match(key)) {
          cached.push(u);
          continue;
        }
        const response = await fetch(u, { cache: "no-cache" });
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
        await cache.put(key, response);
        cached.push(u);
      } catch (err) {
        failed.push(`${u}: ${err.message ?? err}`);
      }
    }
    port?.postMessage({ cached, failed });
  })());
});
