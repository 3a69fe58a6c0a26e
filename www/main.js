// The edge-registry demo page. The library runs in the package's Web Worker; this file only
// draws. Everything stays in the browser: the registry is fetched and verified here, models run
// here, and evaluation data is read from the file you pick without being uploaded.
import { ModelWorker } from "/pkg/model-worker.js";
import { $, el, explain, fmtBytes, fmtNum, fmtTime, table } from "./ui.js";
import { confusionHeatmap, reliabilityDiagram } from "./charts.js";
import { DrawPad } from "./draw.js";

const params = new URLSearchParams(location.search);
const state = {
  worker: null,
  registry: null,
  catalogue: [],
  model: null, // { ref, name, version, worker model }
  evalData: null, // { kind: "file" | "bytes", data, name, header }
  report: null,
};

const setState = (node, s, text) => {
  node.dataset.state = s;
  if (text !== undefined) node.textContent = text;
};

// ---------------------------------------------------------------- registry

async function connect(url) {
  const trust = $("trust");
  setState(trust, "busy", "Fetching and verifying the signed metadata…");
  $("roles").hidden = true;
  $("model-list").replaceChildren(el("p", { class: "muted" }, "Verifying…"));
  try {
    const rootUrl = `${url.replace(/\/$/, "")}/trusted-root.json`;
    $("root-url").textContent = rootUrl;
    const rootResp = await fetch(rootUrl);
    if (!rootResp.ok) throw Object.assign(new Error(`the pinned root ${rootUrl} answered HTTP ${rootResp.status}`), { code: "NETWORK" });
    const trustedRoot = new Uint8Array(await rootResp.arrayBuffer());
    const rootDoc = JSON.parse(new TextDecoder().decode(trustedRoot));
    state.registry = await state.worker.openRegistry({ url: new URL(url, location.href).href, trustedRoot });
    const r = await state.registry.refresh();
    showTrust(r, rootDoc);
    state.catalogue = await state.registry.models();
    showModels();
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
  const rootKeys = rootDoc?.signed?.roles?.root?.keyids ?? [];
  $("root-keys").textContent = `Root keys: ${rootKeys.map((k) => k.slice(0, 12) + "…").join(", ")} (threshold ${rootDoc?.signed?.roles?.root?.threshold ?? "?"}). ${r.rootRotations ? `Rotated ${r.rootRotations} time(s) during this refresh.` : ""}`;
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
        " ", el("span", { class: "muted" }, `${fmtBytes(v.length)}, signed by ${v.role}`)))),
      cardDetails(card));
  }));
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
  $("load-ref").textContent = `Loading ${ref}…`;
  const bar = $("load-progress");
  bar.value = 0;
  $("load-info").replaceChildren();
  try {
    const model = await state.registry.load(ref, {
      onProgress: (p) => {
        bar.max = p.total || 1;
        bar.value = p.loaded;
        const pct = p.total ? Math.round((100 * p.loaded) / p.total) : 100;
        $("load-text").textContent = `${fmtBytes(p.loaded)} of ${fmtBytes(p.total)} (${pct}%) from ${p.source}`;
      },
    });
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
      el("dt", {}, "Engine load"), el("dd", {}, `${i.loadMs.toFixed(1)} ms (parse + optimise)`),
      ...(i.offline ? [el("dt", {}, "Offline"), el("dd", {}, "served from the cache while the registry is unreachable")] : []));
    setupTry();
    setupEvaluate();
    await showCache();
  } catch (err) {
    $("load-ref").textContent = `Could not load ${ref}.`;
    $("load-text").replaceChildren(el("span", { class: "error", id: "load-error" }, explain(err)));
  }
}

// ---------------------------------------------------------------- cache

async function showCache() {
  if (!state.registry) return;
  try {
    const [entries, usage] = await Promise.all([state.registry.cache.list(), state.registry.cache.usage()]);
    const rows = entries.filter((e) => e.cached).map((e) => ({
      cells: [`${e.model}@${e.version}`, fmtBytes(e.bytes), fmtTime(e.lastUsed),
        el("span", { class: "actions" },
          el("button", { type: "button", onclick: () => cacheOp(e.pinned ? "unpin" : "pin", `${e.model}@${e.version}`) }, e.pinned ? "Unpin" : "Pin"),
          el("button", { type: "button", onclick: () => cacheOp("evict", `${e.model}@${e.version}`) }, "Evict"))],
      attrs: { "data-entry": `${e.model}@${e.version}`, class: e.pinned ? "pinned" : "" },
    }));
    $("cache-table").querySelector("tbody").replaceChildren(...(rows.length ? rows.map((r) =>
      el("tr", r.attrs, r.cells.map((c) => el("td", {}, c)))) : [el("tr", {}, el("td", { colspan: 4, class: "muted" }, "Nothing cached yet."))]));
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
    const text = new TextDecoder().decode(bytes);
    const [header, first] = text.split(/\r?\n/);
    const names = header.split(",");
    const values = first.split(",");
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

async function chooseData(kind, data, name) {
  const head = kind === "file" ? await data.slice(0, 65536).text() : new TextDecoder().decode(data.slice(0, 65536));
  const header = head.split(/\r?\n/)[0].split(",").map((s) => s.trim().replace(/^"|"$/g, ""));
  state.evalData = { kind, data, name, header };
  $("eval-source").textContent = `${name}: ${header.length} columns. It stays on this device.`;
  showColumns(header);
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
  const bar = $("eval-progress");
  bar.hidden = false;
  bar.value = 0;
  $("eval-status").textContent = "Evaluating on this device…";
  $("eval-results").hidden = true;
  const options = {
    label: $("eval-label").value,
    slices: [...$("eval-slices").querySelectorAll("input:checked")].map((i) => i.value),
    onProgress: (p) => {
      if (p.total) { bar.max = p.total; bar.value = p.bytes; }
      $("eval-status").textContent = `Evaluating on this device… ${p.rowsRead} rows`;
    },
  };
  try {
    // Drift needs the version's signed reference profile.
    try {
      const profile = await state.registry.fetchFile(m.ref, "profile.json");
      options.profile = new TextDecoder().decode(profile);
    } catch { /* no profile: no drift section */ }
    const data = d.kind === "file" ? d.data : d.data.slice();
    const againstRef = $("eval-against").value;
    let report;
    if (againstRef) {
      const challenger = await state.registry.load(againstRef);
      report = await m.compare(challenger, data, options);
      challenger.dispose();
    } else {
      report = await m.evaluate(data, options);
    }
    bar.value = bar.max;
    state.report = report;
    showReport(report);
    $("eval-status").textContent = `Done: ${report.data.rows_used} rows evaluated, ${report.data.rows_skipped} skipped.`;
  } catch (err) {
    $("eval-status").replaceChildren(el("span", { class: "error" }, explain(err)));
  }
});

function showReport(r) {
  const c = r.results.classification;
  const g = r.results.regression;
  const rows = [];
  if (c) {
    rows.push(["accuracy", fmtNum(c.accuracy)], ["balanced accuracy", fmtNum(c.balanced_accuracy)],
      ["F1 (macro)", fmtNum(c.macro.f1)], ["precision (macro)", fmtNum(c.macro.precision)], ["recall (macro)", fmtNum(c.macro.recall)]);
    if (c.log_loss !== null && c.log_loss !== undefined) rows.push(["log loss", fmtNum(c.log_loss)], ["Brier", fmtNum(c.brier)]);
    if (c.roc_auc) rows.push(["ROC AUC", fmtNum(c.roc_auc.binary ?? c.roc_auc.ovr_macro)]);
    for (const t of c.top_k ?? []) rows.push([`top-${t.k} accuracy`, fmtNum(t.accuracy)]);
  }
  if (g) rows.push(["MAE", fmtNum(g.mae)], ["RMSE", fmtNum(g.rmse)], ["R²", fmtNum(g.r2)], ["median AE", fmtNum(g.median_ae)], ["MAPE", fmtNum(g.mape)]);
  const lat = r.runtime?.latency;
  if (lat) rows.push(["latency p50 / p99 (ms per batch)", `${fmtNum(lat.p50_ms, 2)} / ${fmtNum(lat.p99_ms, 2)}`], ["rows per second", fmtNum(lat.rows_per_second, 0)]);
  $("metrics").replaceChildren(...rows.map(([k, v]) => el("tr", { "data-metric": k }, el("th", {}, k), el("td", {}, v))));
  $("confusion").replaceChildren(c ? confusionHeatmap(c.confusion_matrix, r.classes ?? []) : el("p", { class: "muted" }, "Regression: no confusion matrix."));
  const cal = r.results.calibration?.top_label;
  $("reliability").replaceChildren(cal ? reliabilityDiagram(cal.bins) : el("p", { class: "muted" }, "No probabilities: no calibration."));
  $("calibration-note").textContent = cal ? `ECE ${fmtNum(cal.ece)}, MCE ${fmtNum(cal.mce)} over ${cal.n_bins} bins.` : "";
  $("slices").replaceChildren(...(r.slices?.length ? r.slices.map((s) => el("div", {},
    el("p", {}, `${s.column}: ${s.metric} overall ${fmtNum(s.overall)}; flagged when worse by more than ${s.margin}`),
    table(["slice", "rows", s.metric, "delta", ""], s.slices.map((x) => ({
      cells: [x.value, x.count, fmtNum(x.metric_value), fmtNum(x.delta), x.flagged ? "flagged" : ""],
      attrs: { class: x.flagged ? "flagged" : "" },
    }))))) : [el("p", { class: "muted" }, "Choose slice columns to see every metric per slice.")]));
  const dr = r.drift;
  $("drift").replaceChildren(...(dr ? [
    el("p", { class: dr.dataset_drift ? "error" : "" }, `${dr.drifted_columns} of ${dr.columns.length} columns drifted (${(dr.share_drifted * 100).toFixed(0)}%; dataset drift at ${(dr.drift_share * 100).toFixed(0)}%): ${dr.dataset_drift ? "dataset drift" : "no dataset drift"}.`),
    table(["column", "method", "score", "threshold", ""], [...dr.columns, ...(dr.prediction ? [dr.prediction] : [])].map((x) => ({
      cells: [x.column, x.method, fmtNum(x.score), fmtNum(x.threshold), x.drifted ? "drifted" : ""],
      attrs: { class: x.drifted ? "flagged" : "" },
    })))] : [el("p", { class: "muted" }, "No reference profile for this version.")]));
  const cmp = r.comparison;
  $("comparison-box").hidden = !cmp;
  if (cmp) {
    $("comparison").replaceChildren(
      el("p", {}, `${cmp.champion?.target_path ?? "champion"} vs ${cmp.challenger?.target_path ?? "challenger"} on the same ${cmp.n} rows; ${Math.round(cmp.confidence * 100)}% paired bootstrap intervals (${cmp.resamples} resamples, seed ${cmp.seed}).`),
      table(["metric", "champion", "challenger", "delta", "interval", "verdict"], cmp.metrics.map((x) => [
        x.metric, fmtNum(x.champion), fmtNum(x.challenger), fmtNum(x.delta), `[${fmtNum(x.ci_low)}, ${fmtNum(x.ci_high)}]`, x.verdict.replaceAll("_", " ")])),
      cmp.mcnemar ? el("p", {}, `McNemar's exact test: ${cmp.mcnemar.champion_only} rows only the champion got right, ${cmp.mcnemar.challenger_only} only the challenger; p = ${fmtNum(cmp.mcnemar.p_value)}.`) : null);
  }
  $("eval-digest").textContent = `data sha256 ${r.data.sha256.slice(0, 16)}…, model ${r.model?.sha256?.slice(0, 16) ?? "–"}…`;
  $("eval-results").hidden = false;
}

$("eval-download").addEventListener("click", () => {
  if (!state.report) return;
  const blob = new Blob([JSON.stringify(state.report, null, 2)], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: "evaluation-report.json" });
  document.body.append(a);
  a.click();
  a.remove();
});

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
    state.worker = new ModelWorker();
    $("version").textContent = await state.worker.version();
    setState(status, "ok", "WebAssembly module loaded (in a Web Worker)");
  } catch (err) {
    setState(status, "error", `could not load the WebAssembly module: ${explain(err)}`);
    return;
  }
  const url = params.get("registry") ?? "/registry";
  $("registry-url").value = url;
  await connect(url);
}

main();
