# workerd running the shared verification vectors (verification-worker.js) over pkg/.
# BASE is the URL of `edge-registry serve` over the registry fixtures with /vectors mounted.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "verify", worker = .verify),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8788", http = (), service = "verify") ],
);

const verify :Workerd.Worker = (
  modules = [
    (name = "verification-worker.js", esModule = embed "verification-worker.js"),
    (name = "verification.mjs", esModule = embed "../shared/verification.mjs"),
    (name = "edge-registry", esModule = embed "../../pkg/workerd.js"),
    (name = "edge_registry.js", esModule = embed "../../pkg/edge_registry.js"),
    (name = "tensor.js", esModule = embed "../../pkg/tensor.js"),
    (name = "errors.js", esModule = embed "../../pkg/errors.js"),
    (name = "report.js", esModule = embed "../../pkg/report.js"),
    (name = "resilient.js", esModule = embed "../../pkg/resilient.js"),
    (name = "cache-api-store.js", esModule = embed "../../pkg/cache-api-store.js"),
    (name = "edge_registry_bg.wasm", wasm = embed "../../pkg/edge_registry_bg.wasm"),
  ],
  bindings = [ (name = "BASE", fromEnvironment = "BASE") ],
  compatibilityDate = "2025-09-01",
  globalOutbound = "internet",
);
