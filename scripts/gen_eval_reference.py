#!/usr/bin/env python3
"""Reference values for edge-registry's evaluation core (``src/eval``), computed with the
libraries whose definitions it follows, written to ``tests/fixtures/eval/reference.json`` for
``tests/eval_reference.rs`` (which runs natively and in wasm).

Usage (from the repository root)::

    pip install -r scripts/requirements-eval.txt
    python3 scripts/gen_eval_reference.py            # rewrites tests/fixtures/eval/reference.json

What is computed with what:

* classification: scikit-learn (``accuracy_score``, ``balanced_accuracy_score``,
  ``precision_recall_fscore_support`` with ``average=None`` / micro / macro / weighted,
  ``confusion_matrix``, ``log_loss``, ``roc_auc_score`` binary and OvR macro/weighted,
  ``brier_score_loss``, ``top_k_accuracy_score``);
* regression: scikit-learn (MAE, MSE, RMSE, R^2, median absolute error, MAPE);
* calibration: torchmetrics' ``multiclass_calibration_error`` / ``binary_calibration_error``
  (15 bins, l1 and max norms), re-implemented here in numpy (``tm_calibration``) because
  installing torch costs ~1 GB: float32 ``torch.linspace`` boundaries computed as torch's CPU
  kernel does, ``bucketize(right=True) - 1`` binning (n_bins + 1 bins, confidence 1.0 alone in
  the last), bin means, then sum(|acc - conf| * share) and max |acc - conf|, in float64;
* statistics: scipy (``ks_2samp``, ``kstwobign``, ``chisquare``, ``wasserstein_distance``,
  ``distance.jensenshannon``, ``norm``), statsmodels (``mcnemar(exact=True)``), Evidently's
  PSI / z-test / chi-square formulas written out with numpy and scipy as Evidently writes them;
* bootstrap: the xoshiro256** generator of ``src/eval/num.rs`` re-implemented in Python, with
  scikit-learn metrics on each resample and ``np.percentile`` for the interval.

Inputs are stored compactly: class probabilities as small integer weights per row (a string of
digits, one per class) that both sides turn into ``w / w.sum()`` in float64 -- this also makes
plenty of exact ties -- and real values as integers with a decimal scale. Cases cover random
labels and probabilities with ties, absent classes, a single class, perfect and worst
predictions, all-equal scores, probabilities of exactly 0 and 1 (log-loss clipping), tiny
(n = 1, 2) and large (n = 20,000) inputs, binary and multi-class, labels-only scoring with
string labels, regression with zeros in y_true, and a CSV with missing, NaN and invalid values
that the evaluator must skip as bad rows.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path

import numpy as np
import scipy
import sklearn
import statsmodels
from scipy import stats
from scipy.spatial import distance
from sklearn import metrics as M
from statsmodels.stats.contingency_tables import mcnemar

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parent.parent
MASK = (1 << 64) - 1


def fnum(x):
    """JSON number, or None for nan (scikit-learn's 'undefined')."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    return x


# --------------------------------------------------------------------------- inputs


def weights_to_proba(w: np.ndarray) -> np.ndarray:
    w = w.astype(np.float64)
    return w / w.sum(axis=1, keepdims=True)


def encode_weights(w: np.ndarray) -> str:
    assert w.max() <= 9 and w.min() >= 0
    return "".join("".join(str(int(v)) for v in row) for row in w)


def random_weights(rng, n, c, high=10):
    w = rng.integers(0, high, size=(n, c))
    zero = w.sum(axis=1) == 0
    w[zero, rng.integers(0, c, size=zero.sum())] = 1
    return w


# --------------------------------------------------------------------------- generated inputs
# Large inputs are not stored: both sides generate them with xoshiro256** (Xoshiro256 below and
# edge_registry::eval::num::Xoshiro256), so they are identical by construction.


def xo_ints(seed, n, bound):
    r = Xoshiro256(seed)
    return np.array([r.below(bound) for _ in range(n)], dtype=np.int64)


def xo_classification(seed, n, c):
    y = xo_ints(seed, n, c)
    w = xo_ints(seed + 1, n * c, 10).reshape(n, c)
    for i in np.nonzero(w.sum(axis=1) == 0)[0]:
        w[i, i % c] = 1
    return y, w


def xo_regression(seed, n):
    yt = xo_ints(seed, n, 10**6)
    yp = yt + xo_ints(seed + 1, n, 2 * 10**5) - 10**5
    return yt, yp


def xo_ks(seed, n1, n2):
    a = np.sort(xo_ints(seed, n1, 400)) / 100.0
    b = np.sort(xo_ints(seed + 1, n2, 390) + 30) / 100.0
    return a, b


# --------------------------------------------------------------------------- calibration


def torch_linspace_f32(n_bins):
    steps = n_bins + 1
    step = np.float32(1.0) / np.float32(n_bins)
    half = steps // 2
    out = []
    for i in range(steps):
        if i < half:
            v = np.float32(step * np.float32(i))
        else:
            v = np.float32(np.float32(1.0) - step * np.float32(steps - i - 1))
        out.append(float(v))
    return np.array(out, dtype=np.float64)


def tm_calibration(conf, acc, n_bins=15):
    b = torch_linspace_f32(n_bins)
    idx = np.searchsorted(b, conf, side="right") - 1
    idx = np.clip(idx, 0, len(b) - 1)
    nb = len(b)
    count = np.bincount(idx, minlength=nb).astype(np.float64)
    csum = np.bincount(idx, weights=conf, minlength=nb)
    asum = np.bincount(idx, weights=acc, minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        cm = np.nan_to_num(csum / count)
        am = np.nan_to_num(asum / count)
    prop = count / count.sum()
    gap = np.abs(am - cm)
    return {
        "ece": float(np.sum(gap * prop)),
        "mce": float(np.max(gap)),
        "counts": [int(c) for c in count],
    }


# --------------------------------------------------------------------------- classification


def classification_expected(y, proba, c, pred=None, top_k=(1, 2, 3)):
    labels = list(range(c))
    if pred is None:
        pred = np.argmax(proba, axis=1) if proba is not None else None
    out = {
        "accuracy": M.accuracy_score(y, pred),
        "balanced_accuracy": M.balanced_accuracy_score(y, pred),
        "confusion_matrix": M.confusion_matrix(y, pred, labels=labels).tolist(),
    }
    p, r, f, s = M.precision_recall_fscore_support(y, pred, labels=labels, average=None, zero_division="warn")
    out["per_class"] = {"precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist()}
    for avg in ("micro", "macro", "weighted"):
        p, r, f, _ = M.precision_recall_fscore_support(y, pred, average=avg, zero_division="warn")
        out[avg] = {"precision": fnum(p), "recall": fnum(r), "f1": fnum(f)}
    if proba is not None:
        out["log_loss"] = M.log_loss(y, proba, labels=labels)
        out["brier"] = M.brier_score_loss(y, proba, labels=labels)
        out["top_k"] = {}
        for k in top_k:
            if c == 2:
                out["top_k"][str(k)] = M.top_k_accuracy_score(y, proba[:, 1], k=k, labels=labels)
            else:
                out["top_k"][str(k)] = M.top_k_accuracy_score(y, proba, k=k, labels=labels)
        per = []
        for k in range(c):
            yk = (np.asarray(y) == k).astype(int)
            per.append(fnum(M.roc_auc_score(yk, proba[:, k])) if 0 < yk.sum() < len(yk) else None)
        out["roc_auc_per_class"] = per
        if c == 2:
            out["roc_auc_binary"] = fnum(M.roc_auc_score(y, proba[:, 1])) if len(set(y)) == 2 else None
        else:
            for avg in ("macro", "weighted"):
                try:
                    v = M.roc_auc_score(y, proba, multi_class="ovr", average=avg, labels=labels)
                except ValueError:
                    v = float("nan")
                out[f"roc_auc_ovr_{avg}"] = fnum(v)
        conf = proba.max(axis=1)
        am = (np.argmax(proba, axis=1) == np.asarray(y)).astype(np.float64)
        out["calibration_top_label"] = tm_calibration(conf, am)
        if c == 2:
            out["calibration_binary"] = tm_calibration(proba[:, 1], np.asarray(y, dtype=np.float64))
    return {k: (fnum(v) if isinstance(v, (float, np.floating)) else v) for k, v in out.items()}


def classification_cases(rng):
    cases = []

    def add(name, y, w=None, c=None, floats=None, pred=None):
        y = np.asarray(y)
        case = {"name": name, "n_classes": c, "y_true": y.tolist()}
        proba = None
        if w is not None:
            case["weights"] = encode_weights(w)
            proba = weights_to_proba(w)
        if floats is not None:
            case["proba"] = floats.ravel().tolist()
            proba = floats
        if pred is not None:
            case["y_pred"] = np.asarray(pred).tolist()
        case["expected"] = classification_expected(y, proba, c, pred=pred)
        cases.append(case)

    add("binary_random_ties", rng.integers(0, 2, 50), random_weights(rng, 50, 2), 2)
    add("binary_n1", [1], np.array([[3, 7]]), 2)
    add("binary_n2", [0, 1], np.array([[5, 5], [2, 8]]), 2)
    add("binary_half_threshold", [0, 1, 1, 0, 1, 0], np.array([[5, 5], [5, 5], [4, 6], [6, 4], [1, 1], [9, 1]]), 2)
    add("multiclass3_random", rng.integers(0, 3, 200), random_weights(rng, 200, 3), 3)
    y5 = rng.choice([0, 1, 2, 4], 150)
    add("multiclass5_absent_class", y5, random_weights(rng, 150, 5), 5)
    add("multiclass4_single_class", np.full(40, 2), random_weights(rng, 40, 4), 4)
    yp = rng.integers(0, 3, 60)
    add("perfect_onehot", yp, np.eye(3, dtype=int)[yp], 3)
    add("worst_onehot", yp, np.eye(3, dtype=int)[(yp + 1) % 3], 3)
    add("all_ties", rng.integers(0, 3, 30), np.ones((30, 3), dtype=int), 3)
    for name, c, seed in [("large_multiclass3", 3, 101), ("large_binary", 2, 202)]:
        y, w = xo_classification(seed, 20000, c)
        case = {"name": name, "n_classes": c, "generated": {"seed": seed, "n": 20000}}
        case["expected"] = classification_expected(y, weights_to_proba(w), c)
        cases.append(case)
    yd = rng.integers(0, 4, 300)
    add("dirichlet_floats", yd, None, 4, floats=rng.dirichlet(np.ones(4) * 0.7, 300))
    add("tiny_multiclass_n1", [2], np.array([[1, 2, 3]]), 3)
    # Labels only (no probabilities): predicted label column, classes discovered from both.
    add("labels_only", rng.integers(0, 4, 80), None, 4, pred=rng.integers(0, 4, 80))
    return cases


def labels_only_strings(rng):
    names = np.array(["cat", "dog", "emu"])
    y = names[rng.integers(0, 2, 40)]  # emu never true
    p = names[rng.integers(0, 3, 40)]
    classes = sorted(set(y) | set(p))
    yi = np.array([classes.index(v) for v in y])
    pi = np.array([classes.index(v) for v in p])
    exp = classification_expected(yi, None, len(classes), pred=pi)
    exp["accuracy"] = M.accuracy_score(y, p)
    exp["macro_f1_strings"] = M.f1_score(y, p, average="macro")
    return {"y_true": y.tolist(), "y_pred": p.tolist(), "classes": classes, "expected": exp}


# --------------------------------------------------------------------------- regression


def regression_cases(rng):
    cases = []

    def add(name, yt_int, yp_int, scale):
        yt = np.asarray(yt_int, dtype=np.float64) / scale
        yp = np.asarray(yp_int, dtype=np.float64) / scale
        n = len(yt)
        exp = {
            "mae": M.mean_absolute_error(yt, yp),
            "mse": M.mean_squared_error(yt, yp),
            "rmse": M.root_mean_squared_error(yt, yp),
            "r2": fnum(M.r2_score(yt, yp)) if n >= 2 else None,
            "median_ae": M.median_absolute_error(yt, yp),
            "mape": M.mean_absolute_percentage_error(yt, yp),
        }
        cases.append({"name": name, "scale": scale, "y_true": [int(v) for v in yt_int], "y_pred": [int(v) for v in yp_int],
                      "expected": {k: fnum(v) for k, v in exp.items()}})

    t = rng.integers(-5000, 5000, 100)
    add("random", t, t + rng.integers(-800, 800, 100), 1000)
    t = rng.integers(-3, 4, 50)
    add("zeros_in_truth", t, t + rng.integers(-2, 3, 50), 1)
    add("constant_truth_imperfect", [7] * 10, [7] * 9 + [8], 1)
    add("constant_truth_perfect", [7] * 10, [7] * 10, 1)
    add("n1", [25], [30], 10)
    add("n2", [1, 3], [2, 2], 1)
    yt, yp = xo_regression(303, 20000)
    add("large", yt, yp, 100)
    cases[-1].pop("y_true")
    cases[-1].pop("y_pred")
    cases[-1]["generated"] = {"seed": 303, "n": 20000}
    return cases


# --------------------------------------------------------------------------- statistics


def stats_cases(rng):
    out = {"ks": [], "chisquare": [], "wasserstein": [], "jensenshannon": [], "mcnemar": [], "psi": [], "ztest": []}
    for i, (n1, n2) in enumerate([(10, 10), (30, 50), (200, 150), (1000, 3000), (500, 500), (40, 9000), (800, 12000)]):
        seed = 400 + 2 * i
        a, b = xo_ks(seed, n1, n2)
        r = stats.ks_2samp(a, b)
        entry = {"generated": {"seed": seed, "n1": n1, "n2": n2}, "statistic": float(r.statistic)}
        if max(n1, n2) <= 10000:
            entry["p_value"] = float(r.pvalue)
            entry["method"] = "exact"
        else:
            en = n1 * n2 / (n1 + n2)
            entry["p_value"] = float(stats.kstwobign.sf(math.sqrt(en) * r.statistic))
            entry["method"] = "asymptotic"
            entry["scipy_asymp_p_value"] = float(r.pvalue)
        entry["wasserstein"] = float(stats.wasserstein_distance(a, b))
        out["ks"].append(entry)
    for k in [2, 3, 7, 20]:
        obs = rng.integers(0, 50, k).astype(float)
        obs[0] += 1
        ref = rng.integers(1, 50, k).astype(float)
        exp = ref * obs.sum() / ref.sum()
        r = stats.chisquare(obs, exp)
        out["chisquare"].append({"observed": obs.tolist(), "expected": exp.tolist(),
                                 "statistic": float(r.statistic), "p_value": float(r.pvalue)})
        p = rng.integers(0, 30, k).astype(float)
        q = rng.integers(0, 30, k).astype(float)
        p[0] += 1
        q[-1] += 1
        out["jensenshannon"].append({"p": p.tolist(), "q": q.tolist(), "value": float(distance.jensenshannon(p, q))})
        # Evidently psi: shares, zeros -> 0.0001.
        rp, cp = p / p.sum(), q / q.sum()
        rp = np.where(rp == 0, 0.0001, rp)
        cp = np.where(cp == 0, 0.0001, cp)
        out["psi"].append({"reference": p.tolist(), "current": q.tolist(),
                           "value": float(np.sum((rp - cp) * np.log(rp / cp)))})
    for _ in range(3):
        u = rng.normal(0, 1, 57)
        v = rng.normal(0.3, 1.4, 91)
        out["wasserstein"].append({"u": u.tolist(), "v": v.tolist(), "value": float(stats.wasserstein_distance(u, v))})
    for b, c in [(0, 0), (1, 0), (0, 3), (5, 7), (10, 30), (200, 250), (1000, 1100), (3, 3)]:
        r = mcnemar([[10, b], [c, 12]], exact=True)
        out["mcnemar"].append({"b": b, "c": c, "statistic": float(r.statistic), "p_value": float(r.pvalue)})
    for h1, n1, h2, n2 in [(30, 100, 45, 120), (5, 1000, 9, 900), (500, 1000, 480, 1000)]:
        p1, p2 = h1 / n1, h2 / n2
        P = (p1 * n1 + p2 * n2) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
        out["ztest"].append({"h1": h1, "n1": n1, "h2": h2, "n2": n2, "p_value": float(2 * (1 - stats.norm.cdf(abs(z))))})
    return out


# --------------------------------------------------------------------------- drift


def order_stat_sample(sorted_vals, m):
    n = len(sorted_vals)
    if n <= m:
        return sorted_vals
    idx = [((2 * i + 1) * n) // (2 * m) for i in range(m)]
    return sorted_vals[idx]


def drift_case(rng):
    """Reference and current tables; expected per-column drift with the profile-based rules."""
    n_small, n_big, n_cur = 800, 3000, 1500
    cols = {}
    # small reference (<= 1000 rows): numeric -> KS, categorical (3 values) -> chi-square,
    # binary categorical -> z-test, numeric with 3 values -> chi-square.
    ref_num = rng.integers(0, 1000, n_small) / 10.0
    cur_num = rng.integers(50, 1100, n_cur) / 10.0
    ref_cat = rng.choice(["a", "b", "c"], n_small, p=[0.5, 0.3, 0.2])
    cur_cat = rng.choice(["a", "b", "c"], n_cur, p=[0.3, 0.3, 0.4])
    ref_bin = rng.choice(["yes", "no"], n_small, p=[0.6, 0.4])
    cur_bin = rng.choice(["yes", "no"], n_cur, p=[0.58, 0.42])
    ref_few = rng.integers(0, 3, n_small).astype(float)
    cur_few = rng.integers(0, 3, n_cur).astype(float)
    small = {"num": (ref_num, cur_num), "cat": (ref_cat, cur_cat), "bin": (ref_bin, cur_bin), "few": (ref_few, cur_few)}
    # big reference (> 1000 rows): numeric -> Wasserstein (normed), categorical -> JS.
    big_num_r = rng.integers(0, 5000, n_big) / 100.0
    big_num_c = rng.integers(0, 5000, n_cur) / 100.0 * 1.1
    big_cat_r = rng.choice(["x", "y", "z", "w"], n_big)
    big_cat_c = rng.choice(["x", "y", "z", "v"], n_cur)
    big = {"bnum": (big_num_r, np.round(big_num_c, 3)), "bcat": (big_cat_r, big_cat_c)}

    def expected(name, r, c, numeric, nref):
        e = {"column": name}
        if numeric:
            rs, cs = np.sort(r), np.sort(c)
            uniq = np.unique(np.concatenate([rs, cs]))
            sample = order_stat_sample(rs, 1000)
            ks = stats.ks_2samp(sample, cs)
            e["ks_statistic"] = float(ks.statistic)
            e["ks_p_value"] = float(ks.pvalue)
            std = float(np.std(rs))
            e["wasserstein_normed"] = float(stats.wasserstein_distance(sample, cs) / max(std, 0.001))
            edges = np.histogram_bin_edges(rs, bins=10)
            rc = np.histogram(rs, bins=edges)[0]
            cc = np.histogram(cs, bins=edges)[0]
            below = int((cs < edges[0]).sum())
            above = int((cs > edges[-1]).sum())
            rb = np.concatenate([[0], rc, [0]]).astype(float)
            cb = np.concatenate([[below], cc, [above]]).astype(float)
            rp, cp = rb / rb.sum(), cb / cb.sum()
            rp = np.where(rp == 0, 0.0001, rp)
            cp = np.where(cp == 0, 0.0001, cp)
            e["psi"] = float(np.sum((rp - cp) * np.log(rp / cp)))
            if len(uniq) <= 5:
                keys = uniq
                rcount = np.array([(rs == k).sum() for k in keys], dtype=float)
                ccount = np.array([(cs == k).sum() for k in keys], dtype=float)
                e["chi_square_p_value"] = float(stats.chisquare(ccount, rcount * len(cs) / len(rs)).pvalue)
                e["jensen_shannon"] = float(distance.jensenshannon(rcount / len(rs), ccount / len(cs)))
                e["method"] = "chi_square" if nref <= 1000 else "jensen_shannon"
                e["score"] = e["chi_square_p_value"] if nref <= 1000 else e["jensen_shannon"]
                e["drifted"] = bool(e["score"] < 0.05) if nref <= 1000 else bool(e["score"] >= 0.1)
                # The categorical treatment replaces the binned PSI? No: PSI stays binned.
            else:
                e["jensen_shannon"] = float(distance.jensenshannon(rb, cb))
                if nref <= 1000:
                    e["method"], e["score"] = "ks", e["ks_p_value"]
                    e["drifted"] = bool(e["score"] <= 0.05)
                else:
                    e["method"], e["score"] = "wasserstein", e["wasserstein_normed"]
                    e["drifted"] = bool(e["score"] >= 0.1)
        else:
            keys = sorted(set(r) | set(c))
            rcount = np.array([(r == k).sum() for k in keys], dtype=float)
            ccount = np.array([(c == k).sum() for k in keys], dtype=float)
            e["jensen_shannon"] = float(distance.jensenshannon(rcount / len(r), ccount / len(c)))
            with np.errstate(divide="ignore", invalid="ignore"):
                chi = stats.chisquare(ccount, rcount * len(c) / len(r))
            e["chi_square_p_value"] = fnum(chi.pvalue)
            rp, cp = rcount / rcount.sum(), ccount / ccount.sum()
            rp = np.where(rp == 0, 0.0001, rp)
            cp = np.where(cp == 0, 0.0001, cp)
            e["psi"] = float(np.sum((rp - cp) * np.log(rp / cp)))
            if nref <= 1000:
                if len(keys) > 2:
                    e["method"], e["score"] = "chi_square", e["chi_square_p_value"]
                    e["drifted"] = bool(e["score"] < 0.05)
                else:
                    k0 = keys[0]
                    h1, h2 = float((r == k0).sum()), float((c == k0).sum())
                    n1, n2 = float(len(r)), float(len(c))
                    p1, p2 = h1 / n1, h2 / n2
                    P = (p1 * n1 + p2 * n2) / (n1 + n2)
                    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
                    e["method"], e["score"] = "z_test", float(2 * (1 - stats.norm.cdf(abs(z))))
                    e["drifted"] = bool(e["score"] < 0.05)
            else:
                e["method"], e["score"] = "jensen_shannon", e["jensen_shannon"]
                e["drifted"] = bool(e["score"] >= 0.1)
        return e

    def table(pairs, which):
        names = list(pairs)
        lines = [",".join(names)]
        n = len(pairs[names[0]][which])
        for i in range(n):
            lines.append(",".join(fmt(pairs[k][which][i]) for k in names))
        return "\n".join(lines) + "\n"

    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return repr(float(v))
        return str(v)

    out = []
    for group, nref in [(small, n_small), (big, n_big)]:
        exp = [expected(k, r, c, k in ("num", "few", "bnum"), nref) for k, (r, c) in group.items()]
        drifted = sum(e["drifted"] for e in exp)
        out.append({
            "reference_csv": table(group, 0),
            "current_csv": table(group, 1),
            "columns": exp,
            "share_drifted": drifted / len(exp),
            "dataset_drift": drifted / len(exp) >= 0.5,
        })
    return out


# --------------------------------------------------------------------------- bootstrap


class Xoshiro256:
    def __init__(self, seed):
        x = seed & MASK
        s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            s.append(z ^ (z >> 31))
        self.s = s

    def next(self):
        s = self.s
        rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & MASK  # noqa: E731
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        return (self.next() * n) >> 64


def bootstrap_case(rng):
    n, c, resamples, seed = 60, 3, 200, 7
    y = rng.integers(0, c, n)
    wa = random_weights(rng, n, c)
    wb = wa.copy()
    # The challenger is sharper on the true class.
    wb[np.arange(n), y] = np.minimum(wb[np.arange(n), y] + 3, 9)
    pa, pb = weights_to_proba(wa), weights_to_proba(wb)
    preda, predb = pa.argmax(axis=1), pb.argmax(axis=1)
    labels = list(range(c))
    metrics = {
        "accuracy": lambda yy, p, pr: M.accuracy_score(yy, pr),
        "f1_macro": lambda yy, p, pr: M.f1_score(yy, pr, average="macro"),
        "log_loss": lambda yy, p, pr: M.log_loss(yy, p, labels=labels),
    }
    r = Xoshiro256(seed)
    deltas = {k: [] for k in metrics}
    for _ in range(resamples):
        idx = np.array([r.below(n) for _ in range(n)])
        for k, f in metrics.items():
            deltas[k].append(f(y[idx], pb[idx], predb[idx]) - f(y[idx], pa[idx], preda[idx]))
    exp = {}
    for k, f in metrics.items():
        d = np.array(deltas[k])
        lo, hi = np.percentile(d, [2.5, 97.5])
        exp[k] = {"champion": f(y, pa, preda), "challenger": f(y, pb, predb), "ci_low": float(lo), "ci_high": float(hi)}
    ca, cb = preda == y, predb == y
    b, cc = int((ca & ~cb).sum()), int((~ca & cb).sum())
    mc = mcnemar([[int((ca & cb).sum()), b], [cc, int((~ca & ~cb).sum())]], exact=True)
    r0 = Xoshiro256(0)
    first = [str(r0.next()) for _ in range(3)]
    return {
        "n_classes": c, "resamples": resamples, "seed": seed, "y_true": y.tolist(),
        "champion_weights": encode_weights(wa), "challenger_weights": encode_weights(wb),
        "metrics": exp, "mcnemar": {"b": b, "c": cc, "statistic": float(mc.statistic), "p_value": float(mc.pvalue)},
        "xoshiro_seed0_first3": first,
    }


# --------------------------------------------------------------------------- CSV end to end


def csv_case():
    """A predictions CSV with bad rows; expected metrics on the good rows."""
    rows = [
        ("y", "p_0", "p_1", "p_2", "group"),
        ("0", "0.7", "0.2", "0.1", "a"),
        ("1", "0.1", "0.8", "0.1", "b"),
        ("2", "0.2", "0.2", "0.6", "a"),
        ("", "0.3", "0.3", "0.4", "a"),          # missing label
        ("1", "NaN", "0.5", "0.5", "b"),         # missing probability
        ("2", "0.3", "x", "0.4", "b"),           # not a number
        ("0", "1.5", "0.0", "0.0", "a"),         # outside [0, 1]
        ("1", "0.25", "0.25", "0.5", "NA"),      # missing slice value is fine
        ("0", "0.4", "0.35", "0.25", "b"),
        ("7", "0.4", "0.35", "0.25", "b"),       # unknown class
        ("2", "\"0.1\"", "0.1", "0.8", "a"),     # quoted number
        ("1", "0.3", "0.4"),                      # short row
    ]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    good = [1, 2, 3, 8, 9, 11]
    y = np.array([int(rows[i][0]) for i in good])
    p = np.array([[float(rows[i][k].strip('"')) for k in (1, 2, 3)] for i in good])
    exp = classification_expected(y, p, 3)
    return {"csv": text, "rows_read": len(rows) - 1, "rows_used": len(good), "rows_skipped": len(rows) - 1 - len(good),
            "bad_rows": [4, 5, 6, 7, 10, 12], "expected": exp}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "tests/fixtures/eval/reference.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(20261126)
    doc = {
        "generator": "scripts/gen_eval_reference.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
                     "statsmodels": statsmodels.__version__},
        "classification": classification_cases(rng),
        "labels_only_strings": labels_only_strings(rng),
        "regression": regression_cases(rng),
        "stats": stats_cases(rng),
        "drift": drift_case(rng),
        "bootstrap": bootstrap_case(rng),
        "csv": csv_case(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
