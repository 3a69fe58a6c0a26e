#!/usr/bin/env python3
"""The two networks of the peer benchmarks (make bench-peers), built with the onnx helper API the
way scripts/gen_models.py builds digits-cnn, from seeded random weights (they are not trained:
the benchmarks time them and compare runtimes' outputs, nothing reads their predictions):

- convnet: a VGG-style convolutional network on [N, 3, 80, 80] images: Conv 3->32, Conv 32->64,
  MaxPool, Conv 64->128, MaxPool, Conv 128->256 (each 3x3, pad 1, ReLU), GlobalAveragePool,
  Gemm 256->10, Softmax, ArgMax. About 360 M multiply-adds per image, 1.6 MB of weights; more than
  5 ms per image natively. The committed copy is benches/models/convnet/ (model.onnx, card.json);
  this script checks that it writes the same bytes.
- mlp-50mb: a multilayer perceptron with 50 MB of float32 weights ([N, 256] -> 2048 -> 4096 ->
  896 -> 10; gen_models.py's MLP graph), the "verified 50 MB model" of the end-to-end load
  benchmark. Not committed.

For each, DIR/NAME/ gets model.onnx, card.json (inputs and outputs, what Model.fromBytes needs)
and expected.json (onnxruntime's outputs on seeded inputs, batch 1 and 64, in the format of
tests/fixtures/models/*/expected.json).

Usage: target/py-bench/bin/python scripts/gen_bench_models.py [--out target/bench-peers/models]
(pip install -r scripts/requirements-bench.txt)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from onnx import helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_models import (  # noqa: E402
    REPO,
    argmax_label,
    classifier_outputs,
    f32,
    finish_model,
    input_info,
    mlp_graph,
    model_io,
    ort_session,
    tensor_json,
    write_json,
)

SEED = 2026


def he(rng, shape, fan_in):
    return rng.standard_normal(shape).astype(np.float32) * np.float32(np.sqrt(2.0 / fan_in))


def convnet():
    rng = np.random.default_rng(SEED)
    inits, nodes, x = [], [], "input"
    channels = [3, 32, 64, 128, 256]
    for i, (cin, cout) in enumerate(zip(channels, channels[1:])):
        inits += [f32(f"conv{i}_W", he(rng, (cout, cin, 3, 3), cin * 9)),
                  f32(f"conv{i}_B", rng.uniform(-0.05, 0.05, cout))]
        nodes += [
            helper.make_node("Conv", [x, f"conv{i}_W", f"conv{i}_B"], [f"conv{i}"],
                             kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], name=f"conv{i}"),
            helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}"),
        ]
        x = f"relu{i}"
        if i in (1, 2):
            nodes.append(helper.make_node("MaxPool", [x], [f"pool{i}"], kernel_shape=[2, 2],
                                          strides=[2, 2], name=f"pool{i}"))
            x = f"pool{i}"
    inits += [f32("fc_W", he(rng, (256, 10), 256) * np.float32(0.5)), f32("fc_B", np.zeros(10))]
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_W", "fc_B"], ["logits"], name="fc"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1, name="softmax"),
        argmax_label(),
    ]
    model = finish_model("convnet", nodes, [input_info([3, 80, 80])], classifier_outputs(10), inits)
    return model, (3, 80, 80)


def mlp_50mb():
    """gen_models.py's MLP graph (Div, then MatMul + Add + Relu per layer) with seeded weights."""
    rng = np.random.default_rng(SEED + 1)
    sizes = [256, 2048, 4096, 896, 10]
    coefs = [he(rng, (a, b), a) for a, b in zip(sizes, sizes[1:])]
    coefs[-1] *= np.float32(0.5)
    intercepts = [np.zeros(b, dtype=np.float32) for b in sizes[1:]]
    return mlp_graph("mlp-50mb", sizes[0], coefs, intercepts, 1.0), (sizes[0],)


def write(out: Path, name: str, model, tail) -> bytes:
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    (d / "model.onnx").write_bytes(data)
    card = {"name": name, "version": "1", "format": "onnx", "task": "classification",
            "labels": [str(k) for k in range(10)],
            "inputs": model_io(model, model.graph.input), "outputs": model_io(model, model.graph.output),
            "description": "Seeded random weights, for benchmarks (scripts/gen_bench_models.py)."}
    write_json(d / "card.json", card)
    sess = ort_session(model)
    names = [o.name for o in sess.get_outputs()]
    rng = np.random.default_rng(SEED + 2)
    x64 = rng.uniform(0.0, 1.0, (64, *tail)).astype(np.float32)
    expected = {}
    for key, n in (("batch1", 1), ("batch64", 64)):
        res = sess.run(names, {"input": x64[:n]})
        expected[key] = {"inputs": {"input": tensor_json(x64[:n])},
                         "outputs": {k: tensor_json(v) for k, v in zip(names, res)}}
    write_json(d / "expected.json", expected, compact=True)
    print(f"wrote {d}: model.onnx {len(data):,} bytes")
    return data


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=REPO / "target" / "bench-peers" / "models")
    ap.add_argument("--update-committed", action="store_true",
                    help="write benches/models/convnet/ (model.onnx, card.json) instead of checking it")
    args = ap.parse_args(argv)
    data = write(args.out, "convnet", *convnet())
    committed = REPO / "benches" / "models" / "convnet"
    if args.update_committed:
        committed.mkdir(parents=True, exist_ok=True)
        (committed / "model.onnx").write_bytes(data)
        (committed / "card.json").write_bytes((args.out / "convnet" / "card.json").read_bytes())
    elif (committed / "model.onnx").read_bytes() != data:
        sys.exit(f"{committed}/model.onnx differs from what this script builds (--update-committed)")
    write(args.out, "mlp-50mb", *mlp_50mb())


if __name__ == "__main__":
    main()
