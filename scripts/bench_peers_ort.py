#!/usr/bin/env python3
"""onnxruntime natively (Python, CPU, one intra-op and one inter-op thread) on the models of the
peer benchmarks (scripts/bench-peers), timed like benches/peers_core.mjs times the other
runtimes: the first run (a session from the model's bytes + one batch-1 inference, 5 times),
the outputs at batch 1 and 64 checked against expected.json within 1e-4, then steady-state
latency p50/p95 at batch 1 and 64 (5 warm-up runs, then at least 30 runs and 0.3 s; the convnet
1 warm-up and 10 runs).

Usage: PEERS_MODELS='[{"name": ..., "dir": ...}]' python scripts/bench_peers_ort.py OUT.json
(pip install -r scripts/requirements-bench.txt; QUICK=1 for a short development run)
"""

import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
QUICK = os.environ.get("QUICK") == "1"
TOLERANCE = 1e-4


def stats(times):
    s = sorted(times)

    def q(p):
        return s[min(len(s) - 1, max(0, math.ceil(p * len(s)) - 1))]

    return {"p50": q(0.5), "p95": q(0.95), "n": len(s)}


def time_runs(f, warmup=5, min_runs=30, min_s=0.3):
    if QUICK:
        warmup, min_runs, min_s = 1, 3, 0.0
    for _ in range(warmup):
        f()
    times = []
    start = time.perf_counter()
    while len(times) < 2000 and (len(times) < min_runs or time.perf_counter() - start < min_s):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    return stats(times)


def array(t):
    return np.asarray(t["data"], dtype=np.float32 if t["dtype"] == "float32" else np.int64).reshape(t["shape"])


def session(data):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def bench(name, d):
    data = (d / "model.onnx").read_bytes()
    expected = json.loads((d / "expected.json").read_text())
    x1 = array(expected["batch1"]["inputs"]["input"])
    x = array(expected["batch64"]["inputs"]["input"])
    x64 = np.concatenate([x] * math.ceil(64 / len(x)))[:64]
    firsts = []
    for _ in range(5):
        t0 = time.perf_counter()
        s = session(data)
        s.run(None, {"input": x1})
        firsts.append((time.perf_counter() - t0) * 1e3)
    names = [o.name for o in s.get_outputs()]
    err = 0.0
    for case in ("batch1", "batch64"):
        got = s.run(names, {"input": array(expected[case]["inputs"]["input"])})
        for n, g in zip(names, got):
            want = array(expected[case]["outputs"][n])
            err = max(err, float(np.max(np.abs(g.astype(np.float64) - want.astype(np.float64)))))
    if not err <= TOLERANCE:
        sys.exit(f"{name}: onnxruntime's outputs differ from expected.json by {err}")
    opts = {"warmup": 1, "min_runs": 10, "min_s": 0.0} if name == "convnet" else {}
    return {
        "model": name, "first": stats(firsts), "max_err": err,
        "batch1": time_runs(lambda: s.run(None, {"input": x1}), **opts),
        "batch64": time_runs(lambda: s.run(None, {"input": x64}), **opts),
    }


def main():
    models = json.loads(os.environ["PEERS_MODELS"])
    results = []
    for m in models:
        print(f"bench-peers: onnxruntime (Python) {m['name']}", file=sys.stderr)
        results.append(bench(m["name"], REPO / m["dir"]))
    out = {"onnxruntime": ort.__version__, "numpy": np.__version__,
           "python": sys.version.split()[0], "results": results}
    Path(sys.argv[1]).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
