#!/usr/bin/env python3
"""scikit-learn's time for the classification metric set of benches/eval_metrics.rs, on the same
1,000,000 rows (read from the file the Rust bench writes), and the comparison table.

Usage: ``make bench`` (runs the Rust bench first), or after ``cargo bench --bench eval_metrics``::

    python3 scripts/bench_eval_sklearn.py [--dir target/eval-bench]

Timed, best and median of 3 runs: the predicted labels (argmax), accuracy_score,
balanced_accuracy_score, precision_recall_fscore_support with average=None / micro / macro /
weighted, confusion_matrix, log_loss, roc_auc_score(multi_class="ovr") macro and weighted,
brier_score_loss, top_k_accuracy_score for k=2 and k=5, and the 15-bin ECE/MCE (torchmetrics'
definition written in numpy: torch is not installed). Also checks that the Rust numbers agree.
"""

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn import metrics as M

warnings.filterwarnings("ignore")
C = 10


def ece(proba, y, n_bins=15):
    steps = n_bins + 1
    step = np.float32(1.0) / np.float32(n_bins)
    b = np.array([float(np.float32(step * np.float32(i))) if i < steps // 2
                  else float(np.float32(np.float32(1.0) - step * np.float32(steps - i - 1))) for i in range(steps)])
    conf = proba.max(axis=1)
    acc = (proba.argmax(axis=1) == y).astype(np.float64)
    idx = np.clip(np.searchsorted(b, conf, side="right") - 1, 0, steps - 1)
    count = np.bincount(idx, minlength=steps).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cm = np.nan_to_num(np.bincount(idx, weights=conf, minlength=steps) / count)
        am = np.nan_to_num(np.bincount(idx, weights=acc, minlength=steps) / count)
    gap = np.abs(am - cm)
    return float(np.sum(gap * count / count.sum())), float(gap.max())


def metric_set(y, proba):
    labels = list(range(C))
    pred = proba.argmax(axis=1)
    out = {
        "accuracy": M.accuracy_score(y, pred),
        "balanced_accuracy": M.balanced_accuracy_score(y, pred),
        "prf_none": M.precision_recall_fscore_support(y, pred, labels=labels, average=None),
        "confusion": M.confusion_matrix(y, pred, labels=labels),
        "log_loss": M.log_loss(y, proba, labels=labels),
        "auc_macro": M.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels),
        "auc_weighted": M.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=labels),
        "brier": M.brier_score_loss(y, proba, labels=labels),
        "top2": M.top_k_accuracy_score(y, proba, k=2, labels=labels),
        "top5": M.top_k_accuracy_score(y, proba, k=5, labels=labels),
        "ece": ece(proba, y),
    }
    for avg in ("micro", "macro", "weighted"):
        out["prf_" + avg] = M.precision_recall_fscore_support(y, pred, average=avg)
    return out


def main():
    ap = argparse.ArgumentParser()
    default = Path(os.environ.get("CARGO_TARGET_DIR", Path(__file__).resolve().parent.parent / "target")) / "eval-bench"
    ap.add_argument("--dir", default=str(default))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="also write the timings here (scripts/bench-peers reads them)")
    args = ap.parse_args()
    d = Path(args.dir)
    raw = np.fromfile(d / "rows.bin", dtype=np.uint8)
    n = raw.size // (1 + 8 * C)
    rows = raw.reshape(n, 1 + 8 * C)
    y = rows[:, 0].astype(np.int64)
    proba = rows[:, 1:].copy().view("<f8").reshape(n, C)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = metric_set(y, proba)
        times.append(time.perf_counter() - t0)
    times.sort()
    best, median = times[0], times[len(times) // 2]
    rust = json.loads((d / "rust.json").read_text())
    check = out["accuracy"] + out["log_loss"] + out["auc_macro"] + out["ece"][0]
    agree = abs(check - rust["checksum"]) <= 1e-9 * abs(check)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "sklearn": sklearn.__version__, "numpy": np.__version__, "rows": int(n), "runs": args.runs,
            "times_s": times, "best_s": best, "median_s": median, "agrees_with_rust": agree}, indent=2))
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}: {n} rows x {C} classes")
    print()
    print("| implementation | best (s) | median (s) | rows/s (median) |")
    print("|---|---|---|---|")
    print(f"| edge-registry native (Rust, 1 thread) | {rust['best_s']:.3f} | {rust['median_s']:.3f} | {n / rust['median_s']:,.0f} |")
    print(f"| scikit-learn (metrics only, arrays in memory) | {best:.3f} | {median:.3f} | {n / median:,.0f} |")
    browser = d / "browser.json"
    if browser.exists():
        b = json.loads(browser.read_text())
        print(f"| edge-registry in Chromium {b['chromium']} (wasm SIMD), CSV parsing + metrics "
              f"| {b['chromium_ms']['best'] / 1e3:.3f} | {b['chromium_ms']['median'] / 1e3:.3f} "
              f"| {b['chromium_rows_per_s']:,.0f} |")
        print(f"| edge-registry native CLI (whole process), CSV parsing + metrics "
              f"| {b['native_cli_ms']['best'] / 1e3:.3f} | {b['native_cli_ms']['median'] / 1e3:.3f} "
              f"| {b['native_cli_rows_per_s']:,.0f} |")
    print()
    print(f"native is {median / rust['median_s']:.1f}x faster than scikit-learn (medians; target >= 3x)")
    if browser.exists():
        print(f"Chromium, parsing the CSV too, is {median / (b['chromium_ms']['median'] / 1e3):.1f}x "
              "faster than scikit-learn's metrics alone (medians; target > 1x)")
    print(f"results agree (accuracy + log loss + ROC AUC macro + ECE): {agree} "
          f"(rust {rust['checksum']!r}, sklearn {check!r})")


if __name__ == "__main__":
    main()
