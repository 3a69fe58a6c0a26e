// An edge worker (Cloudflare Workers / workerd) that serves verified predictions from a signed
// model registry. One Registry per isolate, refreshed at most every REFRESH_SECONDS; models are
// loaded once (verified, then kept in memory) and answered synchronously after that.
//
//   GET  /models                         the catalogue: versions, aliases, cards
//   POST /predict/<name>[@alias|version] {"inputs": {"input": {"data": [...], "shape": [1, 64]}}}
//                                        -> {"model", "version", "sha256", "rollout", "outputs"}
//   POST /evaluate/<ref>                 a labelled batch: CSV (text/csv), a JSON array of rows,
//                                        or {"rows": [...], "options": {"slices": [...], ...}}
//                                        -> the evaluation report
//   GET  /health                         the registry's state (last refresh, errors)
//
// Every error is JSON, {"error": {"code", "message"}}, with a status that fits the code: 400 for
// a bad request or a schema mismatch, 404 for an unknown model, 502 when the registry cannot be
// trusted (bad signature, rollback, hash mismatch, expired metadata), 503 while it is
// unreachable with nothing verified to serve, 500 for a crash (the WebAssembly instance is
// re-created and the next request works).
//
// Staged rollouts: an alias under a signed rollout sends each caller to the version of its
// bucket, by the same rule as every client of the library: the caller's id is the
// `x-client-id` header, else the `er_client` cookie, else a new random id set as that cookie,
// so a browser keeps its version from request to request. `rollout` in the answer says which
// stage and bucket.
//
// Bindings (see config.capnp): REGISTRY_URL, TRUSTED_ROOT (the pinned root.json, text),
// REFRESH_SECONDS (default 60), CACHE ("memory", default, or "cache-api": verified artifacts in
// caches.default survive isolate restarts), MAX_MODELS (default 8), MAX_BODY_BYTES (default 1 MiB).
import * as edge from "edge-registry";

// Crash recovery: a panic inside the engine rejects only its call (INTERNAL_PANIC) and the
// instance is re-created. Models are loaded and run synchronously, which is where tract runs.
const lib = edge.resilient(edge, { asyncTraps: false });

/** An error with the HTTP status and code it answers with. */
class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Error codes of the library, by the status they answer with.
const STATUS = new Map();
for (const [status, codes] of [
  [400, ["INVALID_ARGUMENT", "SCHEMA_MISMATCH", "BAD_REF", "BAD_ROW", "BAD_DATA", "NO_ROWS", "BAD_PROFILE",
    "INVALID_DIGEST", "LIMIT_EXCEEDED"]],
  [404, ["MODEL_NOT_FOUND", "TARGET_NOT_FOUND", "NOT_FOUND"]],
  [502, ["HASH_MISMATCH", "LENGTH_EXCEEDED", "TRUNCATED", "SIGNATURE_THRESHOLD", "ROLLBACK", "EXPIRED",
    "BAD_METADATA", "SPEC_VERSION", "MISSING_META", "UNKNOWN_ROLE", "NOT_DELEGATED", "DELEGATION_LIMIT",
    "BAD_TARGET_PATH", "UNSUPPORTED_HASH", "BAD_CARD", "BAD_MODEL", "UNSUPPORTED_MODEL", "BAD_ALIASES",
    "ALIASES_UNAVAILABLE", "HTTP_STATUS", "GATE_FAILED"]],
  [503, ["NETWORK", "INVALID_STATE"]],
  [507, ["QUOTA"]],
]) {
  for (const code of codes) STATUS.set(code, status);
}

function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

function errorResponse(e) {
  const code = typeof e?.code === "string" ? e.code : "INTERNAL";
  const status = e instanceof HttpError ? e.status : (STATUS.get(code) ?? 500);
  const message = String(e?.message ?? e);
  if (status >= 500) console.error(`${status} ${code}: ${message}`);
  return json({ error: { code, message } }, status);
}

function settings(env) {
  const num = (name, fallback, min) => {
    const raw = env[name];
    if (raw === undefined || raw === null || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new HttpError(500, "BAD_CONFIG", `${name} must be a number >= ${min}, not ${JSON.stringify(raw)}`);
    return n;
  };
  if (!env.REGISTRY_URL) throw new HttpError(500, "BAD_CONFIG", "the REGISTRY_URL binding is missing");
  if (!env.TRUSTED_ROOT) throw new HttpError(500, "BAD_CONFIG", "the TRUSTED_ROOT binding (root.json) is missing");
  const cache = env.CACHE || "memory";
  if (cache !== "memory" && cache !== "cache-api") {
    throw new HttpError(500, "BAD_CONFIG", `CACHE must be "memory" or "cache-api", not ${JSON.stringify(cache)}`);
  }
  return {
    url: String(env.REGISTRY_URL),
    trustedRoot: typeof env.TRUSTED_ROOT === "string" ? env.TRUSTED_ROOT : JSON.stringify(env.TRUSTED_ROOT),
    refreshMs: num("REFRESH_SECONDS", 60, 0) * 1000,
    cache,
    maxModels: num("MAX_MODELS", 8, 1),
    maxBody: num("MAX_BODY_BYTES", 1 << 20, 1),
  };
}

// The isolate's state: survives between requests, lost when the isolate is recycled.
let state = null;

function isolateState(env) {
  if (state === null) {
    state = {
      config: settings(env),
      registry: null,
      lastRefresh: 0, // Date.now() of the last refresh attempt that finished
      refreshed: false, // a refresh has succeeded (the catalogue is usable)
      busy: false, // a request is running registry I/O (see exclusive)
      lastError: null,
      refreshes: 0,
      models: new Map(), // "name@version" -> { model, version, sha256, name, lastUsed }
    };
  }
  return state;
}

/**
 * Runs `fn` (an async registry operation) while no other request runs one.
 *
 * workerd ties every promise and I/O object to the request that created it: a request that
 * awaits work started by another request never resumes (the runtime cancels it as hung), and the
 * registry's async calls share one executor and one lock inside the WebAssembly instance. So at
 * most one request at a time runs registry I/O (open, refresh, download); the others wait on
 * their own timers, never on another request's promise. The operation is also handed to
 * `waitUntil`, so a client that disconnects does not cancel it half-way.
 */
async function exclusive(s, ctx, fn) {
  const t0 = Date.now();
  while (s.busy) {
    if (Date.now() - t0 > 30000) {
      throw new HttpError(503, "BUSY", "the registry has been busy for 30 s (a refresh or a download); try again");
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  s.busy = true;
  const run = (async () => {
    try {
      return await fn();
    } finally {
      s.busy = false;
    }
  })();
  ctx?.waitUntil?.(run.catch(() => {}));
  return run;
}

async function registryFor(s) {
  if (s.registry === null) {
    const cache = s.config.cache === "cache-api" ? edge.cacheApiStore(caches.default) : "memory";
    s.registry = await lib.Registry.open({ url: s.config.url, trustedRoot: s.config.trustedRoot, cache });
  }
  return s.registry;
}

const fresh = (s) => s.refreshed && Date.now() - s.lastRefresh < s.config.refreshMs;

/**
 * Refreshes the trusted metadata when it is older than the interval. One request refreshes;
 * the others keep answering from the current metadata meanwhile (before the first successful
 * refresh they wait for it). A failed refresh keeps the last trusted state and is retried
 * after the interval; before any success its error is the answer.
 */
async function ensureFresh(s, ctx) {
  if (fresh(s) || (s.refreshed && s.busy)) return s.registry;
  return exclusive(s, ctx, async () => {
    const reg = await registryFor(s);
    if (fresh(s)) return reg; // refreshed while this request waited
    try {
      const r = await reg.refresh();
      s.refreshed = true;
      s.refreshes++;
      s.lastError = r.offline ? { code: r.networkError?.code ?? "NETWORK", message: r.networkError?.message ?? "offline" } : null;
    } catch (e) {
      s.lastError = { code: e?.code ?? "INTERNAL", message: String(e?.message ?? e) };
      if (!s.refreshed) throw e;
    } finally {
      s.lastRefresh = Date.now();
    }
    return reg;
  });
}

const CLIENT_COOKIE = "er_client";

/** Who asks, for staged rollouts: the `x-client-id` header, the cookie, or a new id. */
function clientOf(request) {
  const header = request.headers.get("x-client-id");
  if (header !== null) return { id: header, fresh: false }; // checked by resolve (INVALID_ARGUMENT)
  const cookie = request.headers.get("cookie") ?? "";
  const m = cookie.match(/(?:^|;\s*)er_client=([A-Za-z0-9_-]{1,128})(?:;|$)/);
  if (m) return { id: m[1], fresh: false };
  return { id: crypto.randomUUID(), fresh: true };
}

function clientCookie(client) {
  return client.fresh
    ? { "set-cookie": `${CLIENT_COOKIE}=${client.id}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax` }
    : {};
}

/** The verified model `ref` resolves to for `clientId`, from memory or loaded (fetched,
 * verified, built) once. */
async function modelFor(s, ctx, ref, clientId) {
  const reg = await ensureFresh(s, ctx);
  const r = reg.resolve(ref, { clientId }); // throws MODEL_NOT_FOUND / BAD_REF
  const key = `${r.name}@${r.version}`;
  const held = () => {
    const m = s.models.get(key);
    if (m && m.sha256 === r.sha256) {
      m.lastUsed = Date.now();
      return m;
    }
    return null;
  };
  const entry = held() ?? await exclusive(s, ctx, async () => {
    const again = held(); // loaded while this request waited
    if (again) return again;
    const file = await reg.fetchModel(key);
    // Built synchronously, so a crash of the engine on this model is caught (INTERNAL_PANIC).
    const model = lib.Model.fromBytes(file.bytes, file.card ?? undefined);
    const entry = { model, name: r.name, version: file.version, sha256: file.sha256, lastUsed: Date.now() };
    s.models.set(key, entry);
    while (s.models.size > s.config.maxModels) {
      let oldest = null;
      for (const [k, v] of s.models) if (oldest === null || v.lastUsed < s.models.get(oldest).lastUsed) oldest = k;
      s.models.get(oldest).model.free?.();
      s.models.delete(oldest);
    }
    return entry;
  });
  return { ...entry, rollout: r.rollout };
}

async function readBody(request, s) {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > s.config.maxBody) {
    throw new HttpError(413, "PAYLOAD_TOO_LARGE", `the body is ${declared} bytes; the limit is ${s.config.maxBody}`);
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > s.config.maxBody) {
    throw new HttpError(413, "PAYLOAD_TOO_LARGE", `the body is ${bytes.length} bytes; the limit is ${s.config.maxBody}`);
  }
  return bytes;
}

function parseJson(bytes) {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new HttpError(400, "BAD_REQUEST", `the body is not JSON: ${e.message}`);
  }
}

/** A tensor as JSON: int64 values as numbers while they are exact, else as strings. */
function tensorJson(t) {
  let data;
  if (t.data instanceof BigInt64Array) {
    data = Array.from(t.data, (v) => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : String(v)));
  } else {
    data = Array.from(t.data);
  }
  return { dtype: t.type, shape: t.dims, data };
}

async function predict(request, s, ctx, ref) {
  const body = parseJson(await readBody(request, s));
  const inputs = body?.inputs;
  if (inputs === null || typeof inputs !== "object" || Array.isArray(inputs)) {
    throw new HttpError(400, "BAD_REQUEST", 'the body must be {"inputs": {"<input name>": {"data": [...], "shape": [...]}}}');
  }
  const client = clientOf(request);
  const m = await modelFor(s, ctx, ref, client.id);
  const t0 = performance.now();
  const outputs = m.model.runSync(inputs);
  const out = {};
  for (const [name, t] of Object.entries(outputs)) out[name] = tensorJson(t);
  return json({ model: m.name, version: m.version, sha256: m.sha256, rollout: m.rollout, outputs: out }, 200, {
    "server-timing": `run;dur=${(performance.now() - t0).toFixed(3)}`,
    ...clientCookie(client),
  });
}

// Evaluation options a caller may set (the rest come from the signed model card).
const EVAL_OPTIONS = ["task", "label", "features", "slices", "id", "classes", "gates", "driftColumns", "profile"];

async function evaluate(request, s, ctx, ref) {
  const bytes = await readBody(request, s);
  const type = (request.headers.get("content-type") ?? "").toLowerCase();
  let data;
  let options = {};
  if (type.startsWith("text/csv")) {
    data = bytes;
  } else {
    const body = parseJson(bytes);
    const rows = Array.isArray(body) ? body : body?.rows;
    if (!Array.isArray(rows)) {
      throw new HttpError(400, "BAD_REQUEST", 'the body must be CSV (content-type text/csv), a JSON array of rows, or {"rows": [...], "options": {...}}');
    }
    data = JSON.stringify(rows);
    options.format = "json";
    for (const k of EVAL_OPTIONS) if (body?.options?.[k] !== undefined) options[k] = body.options[k];
  }
  const client = clientOf(request);
  const m = await modelFor(s, ctx, ref, client.id);
  const report = await m.model.evaluate(data, options);
  return json({ model: m.name, version: m.version, sha256: m.sha256, rollout: m.rollout, report }, 200, clientCookie(client));
}

async function models(s, ctx) {
  const reg = await ensureFresh(s, ctx);
  return json({ models: reg.models() });
}

function health(s) {
  return json({
    refreshed: s.refreshed,
    lastRefresh: s.lastRefresh ? new Date(s.lastRefresh).toISOString() : null,
    refreshes: s.refreshes,
    lastError: s.lastError,
    loaded: [...s.models.keys()],
  });
}

async function route(request, env, ctx) {
  const s = isolateState(env);
  const url = new URL(request.url);
  const path = url.pathname;
  const method = request.method;
  const only = (m) => {
    if (method !== m) throw new HttpError(405, "METHOD_NOT_ALLOWED", `${path} takes ${m}, not ${method}`);
  };
  const refOf = (prefix) => {
    let ref;
    try {
      ref = decodeURIComponent(path.slice(prefix.length));
    } catch {
      throw new HttpError(400, "BAD_REF", "the model reference is not valid percent-encoding");
    }
    if (!ref) throw new HttpError(400, "BAD_REF", `give a model: ${prefix}<name>[@alias or version]`);
    return ref;
  };
  if (path === "/models") { only("GET"); return models(s, ctx); }
  if (path === "/health") { only("GET"); return health(s); }
  if (path.startsWith("/predict/")) { only("POST"); return predict(request, s, ctx, refOf("/predict/")); }
  if (path.startsWith("/evaluate/")) { only("POST"); return evaluate(request, s, ctx, refOf("/evaluate/")); }
  throw new HttpError(404, "ROUTE_NOT_FOUND", `no route ${method} ${path} (GET /models, POST /predict/<ref>, POST /evaluate/<ref>, GET /health)`);
}

export default {
  async fetch(request, env, ctx) {
    try {
      return await route(request, env, ctx);
    } catch (e) {
      if (e?.code === "INTERNAL_PANIC" && state) {
        // The instance was re-created: models held by the old one are rebuilt on use, and the
        // registry (re-opened by the wrapper) refreshes again before it answers.
        state.models.clear();
        state.refreshed = false;
        state.lastRefresh = 0;
      }
      return errorResponse(e);
    }
  },
};
