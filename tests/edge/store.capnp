# workerd running tests/edge/store-worker.js over pkg/, with caches.default backed by the
# in-memory colo-cache stand-in of the example edge worker (examples/edge-worker/local-cache.js).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "store", worker = .store),
    (name = "local-cache", worker = .localCache),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8789", http = (), service = "store") ],
);

const store :Workerd.Worker = (
  modules = [
    (name = "store-worker.js", esModule = embed "store-worker.js"),
    (name = "edge-registry", esModule = embed "../../pkg/workerd.js"),
    (name = "edge_registry.js", esModule = embed "../../pkg/edge_registry.js"),
    (name = "tensor.js", esModule = embed "../../pkg/tensor.js"),
    (name = "errors.js", esModule = embed "../../pkg/errors.js"),
    (name = "report.js", esModule = embed "../../pkg/report.js"),
    (name = "resilient.js", esModule = embed "../../pkg/resilient.js"),
    (name = "cache-api-store.js", esModule = embed "../../pkg/cache-api-store.js"),
    (name = "edge_registry_bg.wasm", wasm = embed "../../pkg/edge_registry_bg.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
  cacheApiOutbound = "local-cache",
);

const localCache :Workerd.Worker = (
  modules = [ (name = "local-cache.js", esModule = embed "../../examples/edge-worker/local-cache.js") ],
  compatibilityDate = "2025-09-01",
);
