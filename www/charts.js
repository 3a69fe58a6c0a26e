// SVG charts for evaluation reports: a confusion-matrix heatmap and a reliability diagram.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** Rows are true classes, columns predicted classes; cells shaded by row-normalised share. */
export function confusionHeatmap(matrix, labels) {
  const n = matrix.length;
  const cell = Math.max(18, Math.min(42, Math.floor(360 / Math.max(1, n))));
  const pad = 64;
  const size = pad + n * cell + 8;
  const root = svg("svg", { width: size, height: size + 18, viewBox: `0 0 ${size} ${size + 18}`, role: "img",
    "aria-label": "confusion matrix" });
  root.append(svg("text", { x: pad + (n * cell) / 2, y: 12, "text-anchor": "middle", class: "axis" }, "predicted"));
  root.append(svg("text", { x: 10, y: pad + (n * cell) / 2, "text-anchor": "middle", class: "axis",
    transform: `rotate(-90 10 ${pad + (n * cell) / 2})` }, "true"));
  for (let i = 0; i < n; i++) {
    const rowTotal = matrix[i].reduce((a, b) => a + b, 0) || 1;
    root.append(svg("text", { x: pad - 6, y: pad + i * cell + cell / 2 + 4, "text-anchor": "end", class: "tick" }, labels[i] ?? i));
    root.append(svg("text", { x: pad + i * cell + cell / 2, y: pad - 8, "text-anchor": "middle", class: "tick" }, labels[i] ?? i));
    for (let j = 0; j < n; j++) {
      const v = matrix[i][j];
      const share = v / rowTotal;
      const color = i === j ? `rgba(26,127,55,${0.12 + 0.88 * share})` : `rgba(207,34,46,${share === 0 ? 0.03 : 0.15 + 0.85 * share})`;
      const g = svg("g", {});
      g.append(svg("rect", { x: pad + j * cell, y: pad + i * cell, width: cell - 1, height: cell - 1, fill: color }));
      if (v > 0) {
        g.append(svg("text", { x: pad + j * cell + cell / 2, y: pad + i * cell + cell / 2 + 4, "text-anchor": "middle",
          class: share > 0.55 ? "cell light" : "cell" }, v));
      }
      g.append(svg("title", {}, `true ${labels[i] ?? i}, predicted ${labels[j] ?? j}: ${v}`));
      root.append(g);
    }
  }
  return root;
}

/** Accuracy against mean confidence per bin, with the diagonal of perfect calibration. */
export function reliabilityDiagram(bins) {
  const w = 320, h = 260, pad = 36;
  const x = (v) => pad + v * (w - pad - 10);
  const y = (v) => h - pad - v * (h - pad - 10);
  const root = svg("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "reliability diagram" });
  root.append(svg("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(1), class: "diag" }));
  root.append(svg("line", { x1: x(0), y1: y(0), x2: x(1), y2: y(0), class: "axisline" }));
  root.append(svg("line", { x1: x(0), y1: y(0), x2: x(0), y2: y(1), class: "axisline" }));
  for (const t of [0, 0.5, 1]) {
    root.append(svg("text", { x: x(t), y: h - pad + 14, "text-anchor": "middle", class: "tick" }, t));
    root.append(svg("text", { x: pad - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, t));
  }
  root.append(svg("text", { x: (w + pad) / 2, y: h - 4, "text-anchor": "middle", class: "axis" }, "confidence"));
  root.append(svg("text", { x: 10, y: h / 2, "text-anchor": "middle", class: "axis", transform: `rotate(-90 10 ${h / 2})` }, "accuracy"));
  const total = bins.reduce((a, b) => a + (b.count || 0), 0) || 1;
  for (const b of bins) {
    if (!b.count) continue;
    const lo = b.lower ?? b.low ?? 0, hi = b.upper ?? b.high ?? 1;
    const acc = b.accuracy ?? 0;
    const rect = svg("rect", { x: x(lo) + 1, y: y(acc), width: Math.max(1, x(hi) - x(lo) - 2), height: y(0) - y(acc),
      class: "bar", opacity: 0.35 + 0.65 * Math.min(1, (b.count / total) * 5) });
    rect.append(svg("title", {}, `confidence ${lo.toFixed(2)}–${hi.toFixed(2)}: ${b.count} rows, accuracy ${acc.toFixed(3)}, mean confidence ${(b.confidence ?? 0).toFixed(3)}`));
    root.append(rect);
    if (b.confidence !== undefined) root.append(svg("circle", { cx: x(b.confidence), cy: y(acc), r: 2.5, class: "dot" }));
  }
  return root;
}
