# workerd configuration of the edge worker (examples/edge-worker/worker.js) over the package
# built into pkg/ (`make pkg`). Run from the repository root:
#
#   REGISTRY_URL=http://127.0.0.1:8080/registry TRUSTED_ROOT="$(cat root.json)" \
#     node_modules/.bin/workerd serve examples/edge-worker/config.capnp --experimental \
#     --socket-addr http=127.0.0.1:8787
#
# REFRESH_SECONDS (default 60), CACHE ("memory" or "cache-api"), MAX_MODELS and MAX_BODY_BYTES
# are read from the environment too. With Wrangler instead, bundle worker.js (the package's
# "workerd" export condition picks workerd.js) and set the same variables.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge-worker", worker = .edgeWorker),
    (name = "local-cache", worker = .localCache),
    # Outbound fetches (the registry). Loopback and private addresses are allowed so the
    # example runs against a local `edge-registry serve`.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "edge-worker") ],
);

const edgeWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    # The package, as Wrangler would bundle it: "edge-registry" is its workerd entry, which
    # imports the .wasm as a compiled module (workerd cannot compile bytes at run time).
    (name = "edge-registry", esModule = embed "../../pkg/workerd.js"),
    (name = "edge_registry.js", esModule = embed "../../pkg/edge_registry.js"),
    (name = "tensor.js", esModule = embed "../../pkg/tensor.js"),
    (name = "errors.js", esModule = embed "../../pkg/errors.js"),
    (name = "report.js", esModule = embed "../../pkg/report.js"),
    (name = "resilient.js", esModule = embed "../../pkg/resilient.js"),
    (name = "cache-api-store.js", esModule = embed "../../pkg/cache-api-store.js"),
    (name = "edge_registry_bg.wasm", wasm = embed "../../pkg/edge_registry_bg.wasm"),
  ],
  bindings = [
    (name = "REGISTRY_URL", fromEnvironment = "REGISTRY_URL"),
    (name = "TRUSTED_ROOT", fromEnvironment = "TRUSTED_ROOT"),
    (name = "REFRESH_SECONDS", fromEnvironment = "REFRESH_SECONDS"),
    (name = "CACHE", fromEnvironment = "CACHE"),
    (name = "MAX_MODELS", fromEnvironment = "MAX_MODELS"),
    (name = "MAX_BODY_BYTES", fromEnvironment = "MAX_BODY_BYTES"),
  ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
  # caches.default goes to the in-memory stand-in for the colo cache.
  cacheApiOutbound = "local-cache",
);

const localCache :Workerd.Worker = (
  modules = [ (name = "local-cache.js", esModule = embed "local-cache.js") ],
  compatibilityDate = "2025-09-01",
);
