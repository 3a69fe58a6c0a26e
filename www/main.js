// The edge-registry demo page. The library runs in the package's Web Worker; this file only
// draws. Everything stays in the browser: the registry is fetched and verified here, models run
// here, and evaluation data is read from the file you pick without being uploaded.
//
// Every URL is relative to this module (the package at ./pkg/, the sample registry at
// ./registry/ unless ?registry= says otherwise), so the page works under any base path.
import { ModelWorker } from "./pkg/model-worker.js";
import { EdgeRegistryError } from "./pkg/errors.js";
import { reportDocument } from "./pkg/report.js";
import { generateAttestationKey } from "./pkg/attest.js";
import { wasmFile } from "./pkg/edge_registry.js";
import { $, el, explain, fmtBytes, fmtNum, fmtTime, table } from "./ui.js";
import { confusionHeatmap, reliabilityDiagram } from "./charts.js";
import { DrawPad } from "./draw.js";
import { readCsv } from "./csv.js";
import { describeData } from "./data.js";

const params = new URLSearchParams(location.search);
const here = (path) => new URL(path, import.meta.url);
const state = {
  worker: null,
  registry: null,
  rootUrl: null,
  catalogue: [],
  model: null, // { ref, name, version, worker model }
  evalData: null, // { kind: "file" | "bytes" | "text", data, name, format, header }
  report: null,
};

// ---------------------------------------------------------------- cancelling
//
// Long calls (loading a model, fetching signed files, evaluating, comparing) run under an
// AbortController, and its signal goes to each call as `{ signal }`: ModelWorker passes it into
// its worker, where the download or the evaluation stops, and the call rejects at once with
// the signal's reason. A result that arrives after a cancel anyway is dropped.

const aborted = () => new EdgeRegistryError("ABORTED", "cancelled on this page");

/** `call(signal)`; `late(result)` disposes of a result that arrives after a cancel. */
async function cancellable(signal, call, { late } = {}) {
  if (signal.aborted) throw aborted();
  const value = await call(signal);
  if (signal.aborted) {
    late?.(value);
    throw aborted();
  }
  return value;
}

/** An AbortController whose Cancel button shows until `done()`; starting another task on the
 * same button cancels this one, which then leaves the page to its successor (`superseded`). */
function task(button) {
  button.task?.abort(aborted());
  const ctl = new AbortController();
  button.task = ctl;
  button.hidden = false;
  button.disabled = false;
  button.onclick = () => {
    button.disabled = true;
    ctl.abort(aborted());
  };
  ctl.superseded = () => button.task !== ctl;
  ctl.done = () => {
    if (ctl.superseded()) return;
    button.task = null;
    button.hidden = true;
    button.onclick = null;
  };
  return ctl;
}

// ---------------------------------------------------------------- the demo worker's hooks

const hooked = new WeakSet();

/** Posts a message to the demo worker's own hooks (demo-hooks.js), not to the package. */
function demoWorker(message) {
  const w = state.worker?.worker;
  if (!w) return;
  if (!hooked.has(w)) {
    hooked.add(w);
    w.addEventListener("message", (ev) => {
      if (ev.data?.demo === "tampered") {
        const { path, at, length } = ev.data;
        // The served name of a target is `<sha256>.<name>` (consistent snapshots): show the target.
        const target = path.replace(/^.*\/targets\//, "").replace(/(^|\/)[0-9a-f]{64}\./, "$1");
        $("tamper-note").textContent = `Tampered in transit: byte ${at.toLocaleString("en")} of ${length ? length.toLocaleString("en") : "?"} of ${target} was flipped.`;
      }
    });
  }
  w.postMessage(message);
}

const tampering = () => $("tamper").checked;

$("tamper").addEventListener("change", () => {
  const on = tampering();
  demoWorker({ demo: "tamper", on });
  setState($("tamper-note"), on ? "warn" : "idle", on
    ? "On: the next model you load is evicted from the cache and downloaded again with one byte flipped, and the verification refuses it."
    : "Off: downloads arrive as the server sends them, and verify.");
});

const setState = (node, s, text) => {
  node.dataset.state = s;
  if (text !== undefined) node.textContent = text;
};

// ---------------------------------------------------------------- registry

async function connect(input) {
  const trust = $("trust");
  setState(trust, "busy", "Fetching and verifying the signed metadata…");
  $("roles").hidden = true;
  $("model-list").replaceChildren(el("p", { class: "muted" }, "Verifying…"));
  try {
    // Relative to the page: "registry" is ./registry/ wherever the page is served.
    const url = new URL(input, location.href).href.replace(/\/+$/, "");
    const rootUrl = `${url}/trusted-root.json`;
    state.rootUrl = rootUrl;
    $("root-url").textContent = rootUrl;
    const rootResp = await fetch(rootUrl);
    if (!rootResp.ok) throw Object.assign(new Error(`the pinned root ${rootUrl} answered HTTP ${rootResp.status}`), { code: "NETWORK" });
    const trustedRoot = new Uint8Array(await rootResp.arrayBuffer());
    const rootDoc = JSON.parse(new TextDecoder().decode(trustedRoot));
    state.registry = await state.worker.openRegistry({ url, trustedRoot });
    const r = await state.registry.refresh();
    showTrust(r, rootDoc);
    state.catalogue = await state.registry.models();
    showModels();
    await showRollouts();
    await showCache();
  } catch (err) {
    setState(trust, "error", `Not verified: ${explain(err)}`);
    $("model-list").replaceChildren(el("p", { class: "error" }, "No trusted catalogue: nothing from this registry is used."));
  }
}

function showTrust(r, rootDoc) {
  const trust = $("trust");
  const words = r.offline
    ? `Offline: using the last verified metadata (${r.networkError?.message ?? "network unavailable"}).`
    : "Verified: every role's signatures, versions and expiry check out against the pinned root.";
  setState(trust, r.expired ? "error" : r.offline ? "warn" : "ok", `${words} ${r.models} models.`);
  if (r.expired) trust.textContent += " The metadata has expired.";
  const body = $("roles").querySelector("tbody");
  body.replaceChildren(...["root", "timestamp", "snapshot", "targets"].map((role) =>
    el("tr", {}, el("td", {}, role), el("td", {}, r.roles[role].version), el("td", {}, r.roles[role].expires))));
  $("roles").hidden = false;
  const roles = rootDoc?.signed?.roles ?? {};
  const rootKeys = roles.root?.keyids ?? [];
  const thresholds = ["root", "timestamp", "snapshot", "targets"].map((role) =>
    `${role} ${roles[role]?.threshold ?? "?"} of ${roles[role]?.keyids?.length ?? "?"}`).join(", ");
  $("root-keys").textContent = `Root keys: ${rootKeys.map((k) => k.slice(0, 12) + "…").join(", ")} (threshold ${roles.root?.threshold ?? "?"}). ` +
    `Signature thresholds the pinned root sets (signatures needed of keys named): ${thresholds}. ` +
    `${r.rootRotations ? `Rotated ${r.rootRotations} time(s) during this refresh.` : ""}`;
}

function showModels() {
  const list = $("model-list");
  if (!state.catalogue.length) {
    list.replaceChildren(el("p", { class: "muted" }, "The registry lists no models."));
    return;
  }
  list.replaceChildren(...state.catalogue.map((m) => {
    const aliasOf = {};
    for (const [a, v] of Object.entries(m.aliases ?? {})) (aliasOf[v] ??= []).push(a);
    const latest = m.versions[m.versions.length - 1];
    const card = latest?.card ?? {};
    return el("article", { class: "card", "data-model": m.name },
      el("h3", {}, m.name),
      el("p", { class: "muted" }, card.description ?? ""),
      el("ul", { class: "versions" }, m.versions.map((v) => el("li", {},
        el("button", { type: "button", class: "load", "data-ref": `${m.name}@${v.version}`, onclick: () => loadModel(`${m.name}@${v.version}`) },
          `Load v${v.version}`),
        " ", (aliasOf[v.version] ?? []).map((a) => el("span", { class: "badge" }, a)),
        " ", el("span", { class: "muted" }, `${fmtBytes(v.length)}, signed by ${v.role}`),
        v.files?.["model.sig"]
          ? el("span", { class: "badge author", title: "carries its author's OpenSSF model-signing bundle (model.sig), verified at load" }, "author-signed")
          : null))),
      cardDetails(card));
  }));
}

/** The catalogue entry of the version `ref` names (exact versions; aliases through the catalogue). */
function versionOf(ref) {
  const [name, v] = ref.split("@");
  const m = state.catalogue?.find((x) => x.name === name);
  const version = m?.aliases?.[v] ?? v;
  return m?.versions.find((x) => x.version === version);
}

/** The author's public key for model signatures, published beside the pinned root. */
async function authorKey() {
  if (!state.authorKey) {
    const url = state.rootUrl.replace(/trusted-root\.json$/, "author-key.pem");
    const resp = await fetch(url);
    if (!resp.ok) throw Object.assign(new Error(`the author's key ${url} answered HTTP ${resp.status}`), { code: "NETWORK" });
    state.authorKey = await resp.text();
  }
  return state.authorKey;
}

const REASONS = {
  bucket: "by its bucket", not_started: "the rollout has not started", no_client_id: "no client id",
  client_too_old: "this app is older than the rollout's minimum", unknown_rules: "the rollout has rules this client does not know",
  not_signed: "the bucket's version is not signed",
};

/** Each alias under a staged rollout: its stages, and this device's bucket and version. */
async function showRollouts() {
  const list = $("rollout-list");
  $("client-id").textContent = `This browser's client id: ${state.registry.clientId ?? "none"} (random, kept in its cache store).`;
  const cards = [];
  for (const m of state.catalogue) {
    for (const [alias, r] of Object.entries(m.rollouts ?? {})) {
      const ref = `${m.name}@${alias}`;
      const c = (await state.registry.resolve(ref)).rollout;
      const share = (w) => {
        const total = Object.values(w).reduce((a, b) => a + b, 0);
        return `${fmtNum((100 * (w[r.to] ?? 0)) / total)} %`;
      };
      cards.push(el("article", { class: "card", "data-rollout": ref },
        el("h3", {}, ref),
        el("p", {}, `${c.baseline} → ${c.to}: ${c.stage === null ? "not started" : `stage ${c.stage + 1} of ${c.stages}`}` +
          `${c.paused ? ", paused" : ""}${c.gate ? ", gated on the device" : ""}`),
        el("p", { class: "rollout-choice" }, "This device: bucket ", el("code", {}, c.bucket ?? "–"),
          ` → version ${c.chosen} (${REASONS[c.reason] ?? c.reason})`),
        el("ol", { class: "stages" }, r.stages.map((s, i) => el("li", i === c.stage ? { class: "active" } : {},
          `${share(s.weights)} on ${r.to} from ${s.start ?? "when the publisher advances it"}`))),
        el("button", { type: "button", class: "load", "data-ref": ref, onclick: () => loadModel(ref) }, `Load ${ref}`)));
    }
  }
  list.replaceChildren(...(cards.length ? cards : [el("p", { class: "muted" }, "No alias of this registry is under a staged rollout.")]));
}

function cardDetails(card) {
  const io = (specs) => (specs ?? []).map((s) => `${s.name}: ${s.dtype}[${s.shape.join(", ")}]`).join("; ");
  const metrics = Object.entries(card.metrics ?? {}).map(([k, v]) => `${k} ${fmtNum(v)}`).join(", ");
  return el("details", {}, el("summary", {}, "Model card"),
    el("dl", { class: "kv" },
      el("dt", {}, "Task"), el("dd", {}, card.task ?? "–"),
      el("dt", {}, "Inputs"), el("dd", {}, io(card.inputs)),
      el("dt", {}, "Outputs"), el("dd", {}, io(card.outputs)),
      card.labels ? [el("dt", {}, "Labels"), el("dd", {}, card.labels.join(", "))] : null,
      el("dt", {}, "Training metrics"), el("dd", {}, metrics || "–"),
      card.dataset ? [el("dt", {}, "Data set"), el("dd", {}, `${card.dataset.name} (${card.dataset.rows} rows, sha256 ${String(card.dataset.sha256).slice(0, 12)}…)`)] : null,
      el("dt", {}, "Licence"), el("dd", {}, card.license ?? "–")));
}

// ---------------------------------------------------------------- loading

async function loadModel(ref) {
  const ctl = task($("load-cancel"));
  const { signal } = ctl;
  $("load-ref").textContent = `Loading ${ref}…`;
  const bar = $("load-progress");
  bar.value = 0;
  $("load-text").textContent = "";
  $("load-info").replaceChildren();
  try {
    const tamper = tampering();
    // Sent before every load, so a worker re-started after a crash gets it too.
    demoWorker({ demo: "tamper", on: tamper });
    if (tamper) {
      // A verified copy in the cache would be served without a download: evict it first.
      try {
        if (await state.registry.cache.evict(ref)) await showCache();
      } catch (err) {
        if (err.code !== "PINNED") throw err;
        throw new EdgeRegistryError("PINNED", `${ref} is pinned in the cache, so it would not be downloaded: unpin it to see the tampered download refused`);
      }
      $("tamper-note").textContent = `On: ${ref} was evicted from the cache and is being downloaded with one byte flipped…`;
    }
    const onProgress = (p) => {
      if (signal.aborted) return;
      // Bytes for the download and a cache read, words for the other phases and retries.
      if (p.status === "retry") {
        $("load-text").textContent = `attempt ${p.attempt} failed; trying again in ${(p.delayMs / 1000).toFixed(1)} s, from byte ${fmtBytes(bar.value || 0)}…`;
        return;
      }
      const reading = p.phase === "cache" && p.source === "cache";
      if (p.phase !== "download" && !(reading && p.status === "progress")) {
        const words = { metadata: "checking the signed metadata", verify: "verifying length and SHA-256",
          cache: reading ? "reading the cached copy, hashing it again" : "writing the verified copy to the cache",
          compile: "loading into the engine" }[p.phase];
        if (words && p.status === "initiate") $("load-text").textContent = `${words}…`;
        return;
      }
      bar.max = p.total || 1;
      bar.value = p.loaded;
      const pct = p.total ? Math.round((100 * p.loaded) / p.total) : 100;
      $("load-text").textContent = `${fmtBytes(p.loaded)} of ${fmtBytes(p.total)} (${pct}%) from ${p.source}`;
    };
    // A version that carries its author's model-signing bundle (model.sig) must also be signed
    // by that author: the worker verifies the bundle against the verified bytes before the
    // engine loads them (the author's public key is published beside the pinned root).
    // (The version this device gets: an alias under a staged rollout resolves per device.)
    const resolved = await state.registry.resolve(ref);
    const authorSigned = versionOf(`${resolved.name}@${resolved.version}`)?.files?.["model.sig"];
    const requireModelSignature = authorSigned ? { key: await authorKey() } : undefined;
    const model = await cancellable(signal, (s) => state.registry.load(ref, { onProgress, signal: s, requireModelSignature }),
      { late: (m) => m.dispose() });
    if (ctl.superseded()) {
      model.dispose();
      return;
    }
    bar.max = 1;
    bar.value = 1;
    state.model?.dispose?.();
    state.model = model;
    state.model.ref = ref;
    const i = model.info;
    $("load-ref").textContent = `${i.name} version ${i.version}${i.alias ? ` (${i.alias})` : ""} is loaded and verified.`;
    $("load-text").textContent = `${fmtBytes(i.length)} (100%) from ${i.source}${i.cacheRepaired ? " (a corrupted cached copy was replaced)" : ""}`;
    $("load-info").replaceChildren(
      el("dt", {}, "Source"), el("dd", { id: "load-source" }, i.source === "cache" ? "cache (re-verified on read)" : "network (verified while downloading)"),
      el("dt", {}, "Verified sha256"), el("dd", { id: "load-sha" }, el("code", {}, i.sha256)),
      el("dt", {}, "Target"), el("dd", {}, el("code", {}, i.path)),
      el("dt", {}, "Registry signature"), el("dd", { id: "load-registry-signature" },
        `TUF role ${versionOf(`${i.name}@${i.version}`)?.role ?? "targets"} (threshold of its keys, under the pinned root)`),
      ...(i.modelSignature ? [el("dt", {}, "Author signature"), el("dd", { id: "load-author-signature" },
        `verified: OpenSSF model-signing bundle, ${i.modelSignature.method} ${i.modelSignature.identity.slice(0, 16)}…, ` +
        `${i.modelSignature.resources} file (${i.modelSignature.manifest.modelName})`)] : []),
      el("dt", {}, "Engine load"), el("dd", {}, `${i.loadMs.toFixed(1)} ms (parse + optimise)`),
      ...(i.rollout ? [el("dt", {}, "Rollout"), el("dd", { id: "load-rollout" }, i.rollout.rollback
        ? `${i.rollout.alias}: version ${i.rollout.rollback.from} failed on this device (${i.rollout.rollback.code}); fell back to ${i.rollout.baseline}`
        : `${i.rollout.alias}: version ${i.rollout.chosen} for this device (bucket ${i.rollout.bucket ?? "–"})`)] : []),
      ...(i.offline ? [el("dt", {}, "Offline"), el("dd", {}, "served from the cache while the registry is unreachable")] : []));
    setupTry();
    setupEvaluate();
    ctl.done();
    await showCache();
  } catch (err) {
    if (ctl.superseded()) return; // another load took over the panel
    if (err?.code === "ABORTED" || signal.aborted) {
      $("load-ref").textContent = `Loading ${ref} was cancelled.`;
      $("load-text").replaceChildren(el("span", { id: "load-cancelled" }, "Cancelled. A download still running stopped, and nothing of it was cached."));
    } else {
      $("load-ref").textContent = `Could not load ${ref}.`;
      $("load-text").replaceChildren(el("span", { class: "error", id: "load-error" }, explain(err),
        err?.code ? el("code", { class: "code" }, err.code) : null));
    }
    // The outcome is shown: the Cancel button goes with it, before the cache table is read.
    ctl.done();
    await showCache();
  } finally {
    ctl.done();
  }
}

// ---------------------------------------------------------------- cache

async function showCache() {
  if (!state.registry) return;
  try {
    const [entries, usage] = await Promise.all([state.registry.cache.list(), state.registry.cache.usage()]);
    const rows = entries.filter((e) => e.cached).map((e) => ({
      cells: [`${e.model}@${e.version}`, fmtBytes(e.bytes), fmtTime(e.lastUsed),
        e.verified ? "✓ verified" : el("span", { class: "error", title: "the current signed catalogue does not name this model, version, sha256 and length" }, "not in the signed catalogue"),
        el("span", { class: "actions" },
          el("button", { type: "button", onclick: () => cacheOp(e.pinned ? "unpin" : "pin", `${e.model}@${e.version}`) }, e.pinned ? "Unpin" : "Pin"),
          el("button", { type: "button", onclick: () => cacheOp("evict", `${e.model}@${e.version}`) }, "Evict"))],
      attrs: { "data-entry": `${e.model}@${e.version}`, class: e.pinned ? "pinned" : "" },
    }));
    $("cache-table").querySelector("tbody").replaceChildren(...(rows.length ? rows.map((r) =>
      el("tr", r.attrs, r.cells.map((c) => el("td", {}, c)))) : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "Nothing cached yet."))]));
    const browser = usage.browser ? ` The browser reports ${fmtBytes(usage.browser.usage)} used of a ${fmtBytes(usage.browser.quota)} quota for this site.` : "";
    $("cache-usage").textContent = `${fmtBytes(usage.bytes)} in ${usage.versions} verified version(s), kept in ${state.registry.cacheKind}.${browser}`;
  } catch (err) {
    $("cache-usage").textContent = explain(err);
  }
}

async function cacheOp(op, ref) {
  try {
    const r = await state.registry.cache[op](ref);
    if (op === "persist") $("cache-note").textContent = r ? "Storage is persistent: the browser will not evict it under pressure." : "The browser did not grant persistent storage (it may ask, or decide from site engagement).";
  } catch (err) {
    $("cache-note").textContent = explain(err);
  }
  await showCache();
}

// ---------------------------------------------------------------- try it

let pad = null;

function setupTry() {
  const m = state.model;
  const input = m.inputs[0];
  const card = m.card ?? {};
  const dims = input.shape.slice(1);
  const isDigits = dims.reduce((a, b) => a * b, 1) === 64 && (card.labels?.length === 10);
  const isFileType = card.input_features?.kind === "magika-bytes";
  $("try-hint").textContent = isDigits ? `Draw a digit for ${m.ref}.`
    : isFileType ? `Find the content type of a file with ${m.ref}.` : `Edit the features and predict with ${m.ref}.`;
  $("try-digits").hidden = !isDigits;
  $("try-file").hidden = !isFileType;
  $("try-form").hidden = isDigits || isFileType;
  if (isFileType) {
    $("file-licence").textContent = `${card.description ?? ""} Licence: ${card.license ?? "see the card"}. Source: ${card.source ?? "–"}.`;
    $("file-prediction").textContent = "";
    $("file-bars").replaceChildren();
  } else if (isDigits) {
    pad ??= new DrawPad($("pad"), $("pad-small"), (pixels) => predictDigit(pixels));
    pad.clear();
    showBars(new Float32Array(10));
  } else {
    buildForm();
  }
}

async function run(features) {
  const m = state.model;
  const input = m.inputs[0];
  const shape = [1, ...input.shape.slice(1)];
  const outputs = await m.run({ [input.name]: { type: "float32", data: Float32Array.from(features), dims: shape } }, { transfer: true });
  $("try-latency").textContent = `Inference: ${m.lastRunMs.toFixed(2)} ms in the worker.`;
  return outputs;
}

let pendingDigit = null;
let digitBusy = false;
async function predictDigit(pixels) {
  pendingDigit = pixels;
  if (digitBusy) return;
  digitBusy = true;
  try {
    while (pendingDigit) {
      const p = pendingDigit;
      pendingDigit = null;
      const out = await run(p);
      const probs = out.probabilities?.data ?? new Float32Array(10);
      showBars(probs);
    }
  } catch (err) {
    $("try-latency").textContent = explain(err);
  } finally {
    digitBusy = false;
  }
}

function showBars(probs) {
  const labels = state.model?.card?.labels ?? [...Array(10).keys()].map(String);
  let best = 0;
  probs.forEach((p, i) => { if (p > probs[best]) best = i; });
  $("digit-bars").replaceChildren(el("p", { id: "digit-prediction", class: "prediction" },
    probs.some((p) => p > 0) ? `Prediction: ${labels[best]}` : "Draw to predict"),
  ...Array.from(probs, (p, i) => el("div", { class: `bar${i === best && p > 0 ? " best" : ""}` },
    el("span", { class: "label" }, labels[i]),
    el("span", { class: "track" }, el("span", { class: "fill", style: `width:${(p * 100).toFixed(1)}%` })),
    el("span", { class: "value" }, `${(p * 100).toFixed(1)}%`))));
}

async function sampleRow() {
  // The first row of the version's signed evaluation set, fetched and verified like the model.
  try {
    const bytes = await state.registry.fetchFile(state.model.ref, "eval.csv");
    const [names, values = []] = readCsv(new TextDecoder().decode(bytes), { maxRecords: 2 }).records;
    return Object.fromEntries(names.map((n, i) => [n, values[i]]));
  } catch {
    return {};
  }
}

async function buildForm() {
  const m = state.model;
  const names = m.card?.feature_names ?? [...Array(m.inputs[0].shape.slice(1).reduce((a, b) => a * b, 1)).keys()].map((i) => `x${i}`);
  const row = await sampleRow();
  $("try-fields").replaceChildren(...names.map((n, i) => el("label", {}, el("span", {}, n),
    el("input", { name: n, "data-index": i, type: "number", step: "any", value: row[n] ?? "0" }))));
  $("try-out").textContent = "";
}

$("try-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const values = [...$("try-fields").querySelectorAll("input")].map((i) => Number(i.value));
  try {
    const out = await run(values);
    const card = state.model.card ?? {};
    if (out.probabilities) {
      const probs = out.probabilities.data;
      let best = 0;
      probs.forEach((p, i) => { if (p > probs[best]) best = i; });
      $("try-out").textContent = `${card.labels?.[best] ?? best} (${(probs[best] * 100).toFixed(1)}%)`;
    } else {
      const first = Object.values(out)[0];
      $("try-out").textContent = `${first.data[0].toFixed(3)}`;
    }
  } catch (err) {
    $("try-out").textContent = explain(err);
  }
});

// Magika's byte features (as its Python package computes them): the first and the last
// `block_size` bytes, whitespace stripped (both ends when the file fits one block), the first
// `beg_size` and the last `end_size` of them as integers, padded with `padding_token`.
const isSpace = (b) => b === 0x20 || (b >= 0x09 && b <= 0x0d);
export function magikaFeatures(head, tail, size, cfg) {
  let [b0, b1] = [0, head.length];
  while (b0 < b1 && isSpace(head[b0])) b0++;
  if (size <= cfg.block_size) while (b1 > b0 && isSpace(head[b1 - 1])) b1--;
  let [e0, e1] = [0, tail.length];
  while (e1 > e0 && isSpace(tail[e1 - 1])) e1--;
  if (size <= cfg.block_size) while (e0 < e1 && isSpace(tail[e0])) e0++;
  const out = new Int32Array(cfg.beg_size + cfg.end_size).fill(cfg.padding_token);
  const beg = head.subarray(b0, Math.min(b1, b0 + cfg.beg_size));
  out.set(beg, 0);
  const end = tail.subarray(Math.max(e0, e1 - cfg.end_size), e1);
  out.set(end, cfg.beg_size + cfg.end_size - end.length);
  return { features: out, stripped: Math.max(b1 - b0, e1 - e0) };
}

async function detectFileType(file) {
  const m = state.model;
  const cfg = m.card.input_features;
  const n = Math.min(cfg.block_size, file.size);
  const [head, tail] = await Promise.all([file.slice(0, n), file.slice(file.size - n)].map(async (b) => new Uint8Array(await b.arrayBuffer())));
  const { features, stripped } = magikaFeatures(head, tail, file.size, cfg);
  $("file-source").textContent = `${file.name}: ${fmtBytes(file.size)}. It stays on this device.`;
  if (stripped < cfg.min_file_size_for_dl) {
    $("file-prediction").textContent = "Too little content for the model (Magika reports such files without it).";
    $("file-bars").replaceChildren();
    return;
  }
  try {
    const input = m.inputs[0];
    const outputs = await m.run({ [input.name]: { type: input.dtype, data: features, dims: [1, features.length] } }, { transfer: true });
    const probs = Object.values(outputs)[0].data;
    const labels = m.card.labels ?? [];
    const top = [...probs.keys()].sort((a, b) => probs[b] - probs[a]).slice(0, 5);
    const best = top[0];
    $("file-prediction").textContent = `Content type: ${labels[best] ?? best} (${(probs[best] * 100).toFixed(1)}%)` +
      (probs[best] < cfg.medium_confidence_threshold ? ", low confidence" : "");
    $("file-bars").replaceChildren(...top.map((i) => el("div", { class: `bar${i === best ? " best" : ""}` },
      el("span", { class: "label" }, labels[i] ?? String(i)),
      el("span", { class: "track" }, el("span", { class: "fill", style: `width:${(probs[i] * 100).toFixed(1)}%` })),
      el("span", { class: "value" }, `${(probs[i] * 100).toFixed(1)}%`))));
    $("try-latency").textContent = `Inference: ${m.lastRunMs.toFixed(2)} ms in the worker.`;
  } catch (err) {
    $("file-prediction").textContent = explain(err);
  }
}

$("file-input").addEventListener("change", (ev) => {
  const f = ev.target.files?.[0];
  if (f) detectFileType(f);
});
$("file-drop").addEventListener("dragover", (ev) => ev.preventDefault());
$("file-drop").addEventListener("drop", (ev) => {
  ev.preventDefault();
  const f = ev.dataTransfer?.files?.[0];
  if (f) detectFileType(f);
});

// ---------------------------------------------------------------- evaluate

function setupEvaluate() {
  const m = state.model;
  const info = state.catalogue.find((x) => x.name === m.info.name);
  const against = $("eval-against");
  against.replaceChildren(el("option", { value: "" }, "(none)"),
    ...(info?.versions ?? []).filter((v) => v.version !== m.info.version).map((v) =>
      el("option", { value: `${m.info.name}@${v.version}` }, `${m.info.name}@${v.version}`)));
  if (state.evalData) showColumns(state.evalData.header);
}

/** Data to evaluate: a File ("file"), bytes ("bytes") or pasted text ("text"). Its format
 * (CSV or JSON) goes to `evaluate` as the `format` option; its column names come from its
 * start (an RFC 4180 header, or the keys of the first JSON row or of the columns object). */
async function chooseData(kind, data, name) {
  try {
    const { format, columns } = await describeData(data, { name, type: kind === "file" ? data.type : "" });
    state.evalData = { kind, data, name, format, header: columns };
    $("eval-source").textContent = `${name}: ${format.toUpperCase()}, ${columns.length} columns. It stays on this device.`;
    $("eval-source").dataset.format = format;
    showColumns(columns);
  } catch (err) {
    state.evalData = null;
    $("eval-options").hidden = true;
    $("eval-source").replaceChildren(el("span", { class: "error" }, `${name}: ${explain(err)}`));
  }
}

function showColumns(header) {
  const card = state.model?.card ?? {};
  const label = $("eval-label");
  label.replaceChildren(...header.map((h) => el("option", { value: h, selected: h === (card.label_column ?? "target") }, h)));
  const features = new Set(card.feature_names ?? []);
  const slices = $("eval-slices");
  slices.replaceChildren(el("legend", {}, "Slice by"), ...header.filter((h) => h !== label.value).slice(0, 80).map((h) =>
    el("label", { class: features.has(h) ? "feature" : "" }, el("input", { type: "checkbox", value: h }), h)));
  $("eval-options").hidden = !state.model;
}

$("eval-file").addEventListener("change", (ev) => {
  const f = ev.target.files[0];
  if (f) chooseData("file", f, f.name);
});
const drop = $("drop");
drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  drop.classList.remove("over");
  const f = ev.dataTransfer.files[0];
  if (f) chooseData("file", f, f.name);
});
$("eval-paste-use").addEventListener("click", () => {
  const text = $("eval-paste").value;
  if (text.trim()) chooseData("text", text, "Pasted data");
});
$("eval-sample").addEventListener("click", async () => {
  if (!state.model) {
    $("eval-source").textContent = "Load a model first.";
    return;
  }
  try {
    const bytes = await state.registry.fetchFile(state.model.ref, "eval.csv");
    await chooseData("bytes", bytes, `${state.model.ref} evaluation set (signed, verified)`);
  } catch (err) {
    $("eval-source").textContent = explain(err);
  }
});

$("eval-run").addEventListener("click", async () => {
  const m = state.model;
  const d = state.evalData;
  if (!m || !d) return;
  const ctl = task($("eval-cancel"));
  const { signal } = ctl;
  const bar = $("eval-progress");
  bar.hidden = false;
  bar.value = 0;
  $("eval-status").textContent = "Evaluating on this device…";
  $("eval-results").hidden = true;
  const options = {
    label: $("eval-label").value,
    slices: [...$("eval-slices").querySelectorAll("input:checked")].map((i) => i.value),
    format: d.format,
    onProgress: (p) => {
      if (signal.aborted) return;
      if (p.total) { bar.max = p.total; bar.value = p.bytes; }
      $("eval-status").textContent = `Evaluating on this device… ${p.rowsRead} rows`;
    },
  };
  const withSignal = (s) => (s ? { ...options, signal: s } : options);
  let challenger = null;
  try {
    // Drift needs the version's signed reference profile.
    try {
      const profile = await cancellable(signal, (s) => state.registry.fetchFile(m.ref, "profile.json", { signal: s }));
      options.profile = new TextDecoder().decode(profile);
    } catch (err) {
      if (err?.code === "ABORTED" || signal.aborted) throw err;
      /* no profile: no drift section */
    }
    const data = d.kind === "bytes" ? d.data.slice() : d.data;
    const againstRef = $("eval-against").value;
    let report;
    if (againstRef) {
      challenger = await cancellable(signal, (s) => state.registry.load(againstRef, { signal: s }),
        { late: (c) => c.dispose() });
      report = await cancellable(signal, (s) => m.compare(challenger, data, withSignal(s)));
    } else {
      report = await cancellable(signal, (s) => m.evaluate(data, withSignal(s)));
    }
    if (ctl.superseded()) return;
    bar.value = bar.max;
    state.report = report;
    showReport(report);
    $("eval-status").textContent = `Done: ${report.data.rowsUsed} rows evaluated, ${report.data.rowsSkipped} skipped.`;
  } catch (err) {
    if (ctl.superseded()) return; // another evaluation took over the panel
    if (err?.code === "ABORTED" || signal.aborted) {
      bar.hidden = true;
      $("eval-status").replaceChildren(el("span", { id: "eval-cancelled" }, "Cancelled: no report."));
    } else {
      $("eval-status").replaceChildren(el("span", { class: "error" }, explain(err)));
    }
  } finally {
    challenger?.dispose();
    ctl.done();
  }
});

function showReport(r) {
  const c = r.results.classification;
  const g = r.results.regression;
  const rows = [];
  if (c) {
    rows.push(["accuracy", fmtNum(c.accuracy)], ["balanced accuracy", fmtNum(c.balancedAccuracy)],
      ["F1 (macro)", fmtNum(c.macro.f1)], ["precision (macro)", fmtNum(c.macro.precision)], ["recall (macro)", fmtNum(c.macro.recall)]);
    if (c.logLoss !== null && c.logLoss !== undefined) rows.push(["log loss", fmtNum(c.logLoss)], ["Brier", fmtNum(c.brier)]);
    if (c.rocAuc) rows.push(["ROC AUC", fmtNum(c.rocAuc.binary ?? c.rocAuc.ovrMacro)]);
    for (const t of c.topK ?? []) rows.push([`top-${t.k} accuracy`, fmtNum(t.accuracy)]);
  }
  if (g) rows.push(["MAE", fmtNum(g.mae)], ["RMSE", fmtNum(g.rmse)], ["R²", fmtNum(g.r2)], ["median AE", fmtNum(g.medianAe)], ["MAPE", fmtNum(g.mape)]);
  const lat = r.runtime?.latency;
  if (lat) rows.push(["latency p50 / p99 (ms per batch)", `${fmtNum(lat.p50Ms, 2)} / ${fmtNum(lat.p99Ms, 2)}`], ["rows per second", fmtNum(lat.rowsPerSecond, 0)]);
  $("metrics").replaceChildren(...rows.map(([k, v]) => el("tr", { "data-metric": k }, el("th", {}, k), el("td", {}, v))));
  $("confusion").replaceChildren(c ? confusionHeatmap(c.confusionMatrix, r.classes ?? []) : el("p", { class: "muted" }, "Regression: no confusion matrix."));
  const cal = r.results.calibration?.topLabel;
  $("reliability").replaceChildren(cal ? reliabilityDiagram(cal.bins) : el("p", { class: "muted" }, "No probabilities: no calibration."));
  $("calibration-note").textContent = cal ? `ECE ${fmtNum(cal.ece)}, MCE ${fmtNum(cal.mce)} over ${cal.nBins} bins.` : "";
  $("slices").replaceChildren(...(r.slices?.length ? r.slices.map((s) => el("div", {},
    el("p", {}, `${s.column}: ${s.metric} overall ${fmtNum(s.overall)}; flagged when worse by more than ${s.margin}`),
    table(["slice", "rows", s.metric, "delta", ""], s.slices.map((x) => ({
      cells: [x.value, x.count, fmtNum(x.metricValue), fmtNum(x.delta), x.flagged ? "flagged" : ""],
      attrs: { class: x.flagged ? "flagged" : "" },
    }))))) : [el("p", { class: "muted" }, "Choose slice columns to see every metric per slice.")]));
  const dr = r.drift;
  $("drift").replaceChildren(...(dr ? [
    el("p", { class: dr.datasetDrift ? "error" : "" }, `${dr.driftedColumns} of ${dr.columns.length} columns drifted (${(dr.shareDrifted * 100).toFixed(0)}%; dataset drift at ${(dr.driftShare * 100).toFixed(0)}%): ${dr.datasetDrift ? "dataset drift" : "no dataset drift"}.`),
    table(["column", "method", "score", "threshold", ""], [...dr.columns, ...(dr.prediction ? [dr.prediction] : [])].map((x) => ({
      cells: [x.column, x.method, fmtNum(x.score), fmtNum(x.threshold), x.drifted ? "drifted" : ""],
      attrs: { class: x.drifted ? "flagged" : "" },
    })))] : [el("p", { class: "muted" }, "No reference profile for this version.")]));
  const cmp = r.comparison;
  $("comparison-box").hidden = !cmp;
  if (cmp) {
    $("comparison").replaceChildren(
      el("p", {}, `${cmp.champion?.targetPath ?? "champion"} vs ${cmp.challenger?.targetPath ?? "challenger"} on the same ${cmp.n} rows; ${Math.round(cmp.confidence * 100)}% paired bootstrap intervals (${cmp.resamples} resamples, seed ${cmp.seed}).`),
      table(["metric", "champion", "challenger", "delta", "interval", "verdict"], cmp.metrics.map((x) => [
        x.metric, fmtNum(x.champion), fmtNum(x.challenger), fmtNum(x.delta), `[${fmtNum(x.ciLow)}, ${fmtNum(x.ciHigh)}]`, x.verdict.replaceAll("_", " ")])),
      cmp.mcnemar ? el("p", {}, `McNemar's exact test: ${cmp.mcnemar.championOnly} rows only the champion got right, ${cmp.mcnemar.challengerOnly} only the challenger; p = ${fmtNum(cmp.mcnemar.pValue)}.`) : null);
  }
  $("eval-digest").textContent = `data sha256 ${r.data.sha256.slice(0, 16)}…, model ${r.model?.sha256?.slice(0, 16) ?? "–"}…`;
  $("eval-results").hidden = false;
}

$("eval-download").addEventListener("click", () => {
  if (!state.report) return;
  // The CLI's document (snake_case keys), the same file `edge-registry eval --out` writes.
  const blob = new Blob([JSON.stringify(reportDocument(state.report), null, 2)], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: "evaluation-report.json" });
  document.body.append(a);
  a.click();
  a.remove();
});

// ---------------------------------------------------------------- attestations

/** This page's attestation key: made once per visit, non-extractable (only its public half
 * can be exported, for whoever verifies). */
let attestationKey = null;

$("eval-attest").addEventListener("click", async () => {
  if (!state.report) return;
  const out = $("attestation");
  out.replaceChildren(el("dt", {}, "Status"), el("dd", {}, "signing…"));
  try {
    attestationKey ??= await generateAttestationKey();
    const envelope = await state.worker.createAttestation(state.report, attestationKey);
    const verified = await state.worker.verifyAttestation(envelope, attestationKey.publicKey, { registry: state.registry });
    const jwk = await crypto.subtle.exportKey("jwk", attestationKey.publicKey);
    const subject = (s) => `${s.role ?? "subject"} ${s.name}: sha256 ${String(s.sha256 ?? "").slice(0, 16)}…`;
    out.replaceChildren(
      el("dt", {}, "Status"), el("dd", { id: "attest-status" }, `verified: the signature of key ${verified.keyids[0].slice(0, 16)}…, and ` +
        `${verified.models?.length ? `${verified.models.map((m) => `${m.name}@${m.version}`).join(", ")} is signed by the registry` : "no model subject"}`),
      el("dt", {}, "Subjects"), el("dd", {}, verified.subjects.map((s) => el("div", {}, subject(s)))),
      el("dt", {}, "Predicate"), el("dd", {}, el("code", {}, verified.predicateType)),
      el("dt", {}, "Envelope"), el("dd", {}, `${envelope.payloadType}, ${envelope.signatures.length} signature, ${fmtBytes(envelope.payload.length)} of base64`));
    const link = (id, body) => {
      const a = $(id);
      if (a.href) URL.revokeObjectURL(a.href);
      a.href = URL.createObjectURL(new Blob([JSON.stringify(body, null, 2)], { type: "application/json" }));
      a.hidden = false;
    };
    link("attest-download", envelope);
    link("attest-key-download", jwk);
  } catch (err) {
    out.replaceChildren(el("dt", {}, "Status"), el("dd", { class: "error", id: "attest-status" }, explain(err)));
  }
});

// ---------------------------------------------------------------- check an ONNX file

let checker = null;
let checkSeq = 0;
const checks = new Map();

/** Model.check in check-worker.js (made on first use). */
function checkInWorker(bytes, options) {
  if (!checker) {
    checker = new Worker(here("./check-worker.js"), { type: "module" });
    checker.onmessage = ({ data }) => {
      const p = checks.get(data.id);
      checks.delete(data.id);
      if (data.ok) p?.resolve(data.report);
      else p?.reject(new EdgeRegistryError(data.error.code, data.error.message));
    };
    checker.onerror = (ev) => {
      for (const p of checks.values()) p.reject(new EdgeRegistryError("WORKER_FAILED", ev.message || "the check worker failed"));
      checks.clear();
      checker.terminate();
      checker = null;
    };
  }
  const id = ++checkSeq;
  return new Promise((resolve, reject) => {
    checks.set(id, { resolve, reject });
    checker.postMessage({ id, bytes, options });
  });
}

const ZEROS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, int8: Int8Array, bool: Uint8Array,
};

/** Zero-filled inputs of the declared shapes (an open or symbolic dim as 1), or null when a
 * type is unknown or the inputs would be large. */
function zeroInputs(specs) {
  const feeds = {};
  let total = 0;
  for (const s of specs) {
    const Array_ = ZEROS[s.dtype];
    if (!Array_) return null;
    const dims = s.shape.map((d) => (typeof d === "number" && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    total += n;
    if (total > 1 << 24) return null;
    feeds[s.name] = { type: s.dtype, data: new Array_(n), dims };
  }
  return feeds;
}

async function sha256Hex(bytes) {
  if (!globalThis.crypto?.subtle) return null;
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function checkOnnx(file) {
  const verdict = $("check-verdict");
  $("check-report").hidden = true;
  $("check-source").textContent = `${file.name}: ${fmtBytes(file.size)}. It stays on this device.`;
  setState(verdict, "busy", "Checking…");
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const digest = await sha256Hex(bytes);
    let report = await checkInWorker(bytes);
    // A model that loads is run once on zero-filled inputs (timed, three more runs for the
    // steady state); the inputs are only known from the first report.
    const feeds = report.loaded && report.inputs.length ? zeroInputs(report.inputs) : null;
    if (feeds) report = await checkInWorker(bytes, { inputs: feeds, repeat: 3 });
    showCheck(file, digest, report, Boolean(feeds));
  } catch (err) {
    setState(verdict, "error", `The check failed: ${explain(err)}`);
  }
}

function showCheck(file, digest, r, ran) {
  const io = (specs) => specs.length ? specs.map((s) => `${s.name}: ${s.dtype}[${s.shape.join(", ")}]`).join("; ") : "–";
  const unsupported = r.operators.filter((o) => !o.supported);
  const words = r.ok
    ? `The engine loads and runs this model (${r.plan?.kind ?? "?"} plan).`
    : r.loaded
      ? `The engine loads this model, but its test run failed: ${r.run?.error ? `${r.run.error.code}: ${r.run.error.message}` : "see below"}.`
      : `The engine cannot run this model: ${r.error ? `${r.error.code}: ${r.error.message}` : "it does not load"}.`;
  setState($("check-verdict"), r.ok ? "ok" : "error", words);
  const run = r.run;
  $("check-info").replaceChildren(...[
    el("dt", {}, "File"), el("dd", {}, `${file.name}, ${fmtBytes(r.bytes)}`),
    digest ? [el("dt", {}, "sha256"), el("dd", {}, el("code", {}, digest))] : null,
    el("dt", {}, "IR version"), el("dd", {}, r.irVersion),
    el("dt", {}, "Producer"), el("dd", {}, r.producer || "–"),
    el("dt", {}, "Opsets"), el("dd", {}, Object.entries(r.opsets).map(([d, v]) => `${d} ${v}`).join(", ") || "–"),
    el("dt", {}, "Inputs"), el("dd", {}, io(r.inputs)),
    el("dt", {}, "Outputs"), el("dd", {}, io(r.outputs)),
    el("dt", {}, "Loads"), el("dd", { id: "check-loads" }, r.loaded ? `yes, in ${r.loadMs.toFixed(1)} ms` : `no${r.error ? ` (${r.error.code})` : ""}`),
    r.plan ? [el("dt", {}, "Plan"), el("dd", {}, `${r.plan.kind}${r.plan.reason ? `: ${r.plan.reason}` : ""}`)] : null,
    el("dt", {}, "Test run"), el("dd", { id: "check-run" }, run
      ? run.error ? `failed: ${run.error.code}: ${run.error.message}`
        : `${run.ms.toFixed(2)} ms on zero-filled inputs${run.steadyMs !== undefined ? `, then ${run.steadyMs.toFixed(3)} ms (median of 3)` : ""}; outputs ${run.outputs.map((o) => `${o.name} [${o.shape.join(", ")}]`).join(", ")}`
      : ran ? "–" : "not run (the model does not load, or its inputs cannot be made up)"),
  ].flat().filter(Boolean));
  $("check-ops").replaceChildren(
    ...(unsupported.length ? [el("p", { class: "error" }, `Unsupported: ${unsupported.map((o) => o.op).join(", ")}`)] : []),
    table(["operator", "count", "supported"], r.operators.map((o) => ({
      cells: [o.op, o.count, o.supported ? "yes" : `no${o.nodes?.length ? ` (nodes: ${o.nodes.map((n) => n || "unnamed").join(", ")})` : ""}`],
      attrs: { class: o.supported ? "" : "flagged", "data-op": o.op },
    }))));
  $("check-report").hidden = false;
}

$("check-file").addEventListener("change", (ev) => {
  const f = ev.target.files?.[0];
  if (f) checkOnnx(f);
});
$("check-drop").addEventListener("dragover", (ev) => ev.preventDefault());
$("check-drop").addEventListener("drop", (ev) => {
  ev.preventDefault();
  const f = ev.dataTransfer?.files?.[0];
  if (f) checkOnnx(f);
});

// ---------------------------------------------------------------- offline

/** Asks the service worker to keep `urls`; resolves to its answer { cached, failed }. */
function askServiceWorker(sw, message) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (ev) => resolve(ev.data);
    sw.postMessage(message, [channel.port2]);
  });
}

/** Registers sw.js (beside this module), which keeps the page itself for offline visits. */
async function offlineShell() {
  const out = $("offline");
  if (!("serviceWorker" in navigator)) {
    setState(out, "warn", "unavailable: this browser (or an insecure origin) has no service workers");
    return;
  }
  const controlled = Boolean(navigator.serviceWorker.controller);
  let installing = null;
  try {
    const reg = await navigator.serviceWorker.register(here("./sw.js"));
    installing = reg.installing;
  } catch (err) {
    // Offline, the update check of an installed service worker fails: it still serves.
    if (!controlled) {
      setState(out, "warn", `unavailable: ${err.message}`);
      return;
    }
  }
  try {
    const reg = await new Promise((resolve, reject) => {
      navigator.serviceWorker.ready.then(resolve);
      // An install that fails (a file of the page missing) would leave `ready` pending.
      installing?.addEventListener("statechange", () => {
        if (installing.state === "redundant") reject(new Error("the service worker could not keep the page (a file missing?)"));
      });
    });
    // The shell list cannot know which WebAssembly build this browser runs, the root, or the
    // key of the models' author (both are the app's configuration, which it ships).
    const urls = [here(`./pkg/${wasmFile}`).href,
      ...(state.rootUrl ? [state.rootUrl, state.rootUrl.replace(/trusted-root\.json$/, "author-key.pem")] : [])];
    const { failed } = await askServiceWorker(reg.active, { type: "cache", urls });
    if (failed.length) setState(out, "warn", `partly ready: ${failed.join("; ")}`);
    else setState(out, "ok", "ready: a service worker keeps this page, so it opens without a network; cached models run offline");
  } catch (err) {
    setState(out, "warn", `unavailable: ${err.message}`);
  }
}

// ---------------------------------------------------------------- start

$("cache-refresh").addEventListener("click", showCache);
$("cache-clear").addEventListener("click", () => cacheOp("clear"));
$("cache-persist").addEventListener("click", () => cacheOp("persist"));
$("pad-clear").addEventListener("click", () => { pad?.clear(); showBars(new Float32Array(10)); });
$("registry-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  connect($("registry-url").value);
});

async function main() {
  const status = $("status");
  try {
    // The package's worker with the demo's hook (tampering).
    state.worker = new ModelWorker(here("./demo-worker.js"));
    $("version").textContent = await state.worker.version();
    setState(status, "ok", "WebAssembly module loaded (in a Web Worker)");
  } catch (err) {
    setState(status, "error", `could not load the WebAssembly module: ${explain(err)}`);
    return;
  }
  const url = params.get("registry") ?? new URL("registry", location.href).href;
  $("registry-url").value = url;
  await connect(url);
  await offlineShell();
}

main();
