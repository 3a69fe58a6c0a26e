#!/usr/bin/env python3
"""Train small real models on scikit-learn's bundled data sets and write tract-compatible ONNX
fixtures for edge-registry's engine and evaluation tests.

Usage (from the repository root)::

    pip install -r scripts/requirements-models.txt
    python3 scripts/gen_models.py                 # writes tests/fixtures/models/
    python3 scripts/gen_models.py --out DIR       # somewhere else
    python3 scripts/gen_models.py --audit-skl2onnx  # print skl2onnx's ops; writes nothing

Models (every split: ``train_test_split(test_size=0.25, random_state=42, stratify=y)`` for
classifiers, the same without ``stratify`` for the regressor):

==============  ==========================================================================
directory       model
==============  ==========================================================================
digits-v1       multinomial LogisticRegression on raw 8x8 digit pixels (64 features, 0..16)
digits-v2       MLPClassifier (64 hidden ReLU units) on pixels / 16; the "challenger"
digits-cnn      Conv(8 filters 3x3, pad 1) + ReLU + MaxPool 2x2 + Gemm(32) + ReLU + Gemm(10),
                trained here in plain numpy (Adam), input [N,1,8,8]
iris            multinomial LogisticRegression on the 4 raw iris features
breast-cancer   StandardScaler + LogisticRegression; the scaler is in the graph (Sub, Div)
diabetes        LinearRegression on the 10 (already scaled) diabetes features
==============  ==========================================================================

Every graph is built by hand with ``onnx.helper`` from the fitted coefficients, with standard
``ai.onnx`` operators only (opset 13, IR version 7): MatMul, Gemm, Add, Sub, Div, Relu, Sigmoid,
Softmax, ArgMax, Concat, Conv, MaxPool, Flatten, Cast.  Input ``input`` (float32, batch dimension
``dim_param: "N"``); classifiers output ``label`` (int64, [N], ArgMax of ``probabilities``) and
``probabilities`` (float32, [N, C]); the regressor outputs ``variable`` (float32, [N, 1]).
Class indices are the data sets' targets (0..C-1), so ArgMax needs no label mapping.

The diabetes graph casts its input to float64, does MatMul/Add in float64 with the exact
float64 coefficients and casts the result back to float32.  Its outputs are in the hundreds,
where one float32 ulp is 1.5e-5 to 3e-5, so a float32 dot product summed in a different order by
another runtime (or tract's wasm kernels rather than its x86 ones) could differ from onnxruntime
by more than the 1e-5 the tests allow; rounding a float64 result once makes every runtime give the
same float32.  (A float32 MatMul/Add version happened to match onnxruntime exactly in native
tract 0.23.9 on x86-64; the float64 graph does not depend on that.)

Why not skl2onnx?  Its converters emit ``ai.onnx.ml`` operators for most of these estimators
(see ``--audit-skl2onnx``; with skl2onnx 1.20.0 and ``zipmap=False`` where the option exists):

* LogisticRegression -> LinearClassifier (+ Normalizer for the multinomial case), plus ZipMap
  unless ``zipmap=False``.
* LinearRegression -> LinearRegressor.
* StandardScaler -> Scaler.
* MLPClassifier -> standard MatMul/Add/Relu/Softmax (Sigmoid/Sub/Concat when binary), Cast and
  Reshape, but the class-label mapping uses ArrayFeatureExtractor (and ZipMap unless
  ``zipmap=False``).
* Any classifier's default ``output_probability`` is a ZipMap (a sequence of maps), which no
  tensor runtime such as tract can return.

tract-onnx 0.23.9 (onnx/src/ops/ml/) implements only a handful of ``ai.onnx.ml`` operators:
LinearClassifier, LinearRegressor, Normalizer, CategoryMapper, TreeEnsembleClassifier (and
ArrayFeatureExtractor); it has no ZipMap, Scaler, Imputer, OneHotEncoder, LabelEncoder,
Binarizer, SVMClassifier/SVMRegressor or TreeEnsembleRegressor.  Building the graphs by hand keeps
the fixtures inside the standard operator set that every ONNX runtime has.

Files per model directory: ``model.onnx``, ``test.csv`` (held-out split), ``card.json``,
``expected.json`` (onnxruntime CPU outputs for the first test row and the first 64 test rows),
and ``train.csv`` for digits-v1 (shared by digits-v2 and digits-cnn: same split), iris,
breast-cancer and diabetes.  ``index.json`` lists the models.

CSV layout: a header row with sklearn's ``feature_names`` then ``target``; features are written
as the shortest repr that round-trips the float64 value (integral values without ``.0``), the
target as an integer class index or, for the regressor, a float repr.  The model's float32 input
is the float32 rounding of these values (the numbers in expected.json are exactly those float32
values).

Metrics in card.json are computed with ``sklearn.metrics`` from onnxruntime's outputs on the
whole test split (and ``train_*`` on the training split); ``log_loss`` is computed on the
float32 probabilities cast to float64.  The script checks that these agree with the fitted
scikit-learn estimator (same predicted labels; probabilities within 1e-4).

Determinism: fixed seeds, BLAS limited to one thread, fixed ``created`` time, sorted JSON keys;
two runs give byte-identical files (checked with sha256sum).  A different numpy/scipy/BLAS build
may change the last bits of fitted coefficients, so regenerate with the pinned versions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

CREATED = "2026-11-26T00:00:00Z"
LICENSE = "BSD-3-Clause"
OPSET = 13
IR_VERSION = 7
SPLIT_SEED = 42
TEST_SIZE = 0.25
PRODUCER = "edge-registry scripts/gen_models.py"

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "fixtures" / "models"


# ----------------------------------------------------------------------------- formatting


def fmt_feature(x: float) -> str:
    """Shortest round-trip repr of a float64; integral values lose their trailing ``.0``."""
    s = repr(float(x))
    if s.endswith(".0"):
        s = s[:-2]
    return s


def write_csv(path: Path, feature_names, X, y, regression: bool) -> bytes:
    for name in feature_names:
        assert "," not in name and '"' not in name and "\n" not in name, name
    lines = [",".join(list(feature_names) + ["target"])]
    for row, t in zip(X, y):
        cells = [fmt_feature(v) for v in row]
        cells.append(repr(float(t)) if regression else str(int(t)))
        lines.append(",".join(cells))
    data = ("\n".join(lines) + "\n").encode("ascii")
    path.write_bytes(data)
    # The file must give back exactly the values we trained and evaluated on.
    back = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    assert np.array_equal(back[:, :-1], X) and np.array_equal(back[:, -1], y), path
    return data


def write_json(path: Path, obj, compact: bool = False) -> None:
    if compact:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    else:
        text = json.dumps(obj, sort_keys=True, indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="ascii")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- ONNX building


def f32(name: str, a) -> TensorProto:
    return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)


def f64(name: str, a) -> TensorProto:
    return numpy_helper.from_array(np.asarray(a, dtype=np.float64), name)


def input_info(shape_tail):
    return helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *shape_tail])


def classifier_outputs(n_classes: int):
    return [
        helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_classes]),
    ]


def argmax_label(probs: str = "probabilities"):
    return helper.make_node("ArgMax", [probs], ["label"], axis=1, keepdims=0, name="label")


def finish_model(name: str, nodes, inputs, outputs, initializers) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    for node in model.graph.node:
        assert node.domain in ("", "ai.onnx"), (name, node.op_type, node.domain)
    return model


def softmax_linear_graph(name, n_features, W, b, pre_div=None):
    """[optional Div] -> MatMul -> Add -> Softmax -> ArgMax."""
    nodes, inits = [], [f32("W", W), f32("B", b)]
    x = "input"
    if pre_div is not None:
        inits.append(f32("div", np.asarray(pre_div)))
        nodes.append(helper.make_node("Div", [x, "div"], ["scaled"], name="scale"))
        x = "scaled"
    nodes += [
        helper.make_node("MatMul", [x, "W"], ["xw"], name="matmul"),
        helper.make_node("Add", ["xw", "B"], ["logits"], name="bias"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1, name="softmax"),
        argmax_label(),
    ]
    return finish_model(
        name, nodes, [input_info([n_features])], classifier_outputs(W.shape[1]), inits
    )


def mlp_graph(name, n_features, coefs, intercepts, pre_div):
    nodes = [helper.make_node("Div", ["input", "div"], ["h0"], name="scale")]
    inits = [f32("div", np.asarray(pre_div))]
    h = "h0"
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        inits += [f32(f"W{i}", W), f32(f"B{i}", b)]
        nodes.append(helper.make_node("MatMul", [h, f"W{i}"], [f"mm{i}"], name=f"matmul{i}"))
        last = i == len(coefs) - 1
        out = "logits" if last else f"z{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"B{i}"], [out], name=f"bias{i}"))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"h{i + 1}"], name=f"relu{i}"))
            h = f"h{i + 1}"
    nodes += [
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1, name="softmax"),
        argmax_label(),
    ]
    n_classes = coefs[-1].shape[1]
    outputs = classifier_outputs(n_classes)
    return finish_model(name, nodes, [input_info([n_features])], outputs, inits)


def binary_standardized_graph(name, mean, scale, w, b):
    """Sub(mean) -> Div(scale) -> MatMul -> Add -> Sigmoid -> [1-p, p] -> ArgMax."""
    inits = [
        f32("mean", mean),
        f32("scale", scale),
        f32("W", np.asarray(w).reshape(-1, 1)),
        f32("B", np.asarray(b).reshape(1)),
        f32("one", np.asarray(1.0)),
    ]
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["centered"], name="center"),
        helper.make_node("Div", ["centered", "scale"], ["standardized"], name="standardize"),
        helper.make_node("MatMul", ["standardized", "W"], ["xw"], name="matmul"),
        helper.make_node("Add", ["xw", "B"], ["decision"], name="bias"),
        helper.make_node("Sigmoid", ["decision"], ["p1"], name="sigmoid"),
        helper.make_node("Sub", ["one", "p1"], ["p0"], name="complement"),
        helper.make_node("Concat", ["p0", "p1"], ["probabilities"], axis=1, name="concat"),
        argmax_label(),
    ]
    return finish_model(name, nodes, [input_info([len(mean)])], classifier_outputs(2), inits)


def linear_regression_graph(name, coef, intercept):
    """Cast(double) -> MatMul -> Add -> Cast(float): one rounding to float32 at the end."""
    inits = [f64("W", np.asarray(coef).reshape(-1, 1)), f64("B", np.asarray(intercept).reshape(1))]
    nodes = [
        helper.make_node("Cast", ["input"], ["input64"], to=TensorProto.DOUBLE, name="to_f64"),
        helper.make_node("MatMul", ["input64", "W"], ["xw"], name="matmul"),
        helper.make_node("Add", ["xw", "B"], ["y64"], name="bias"),
        helper.make_node("Cast", ["y64"], ["variable"], to=TensorProto.FLOAT, name="to_f32"),
    ]
    out = [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])]
    return finish_model(name, nodes, [input_info([len(coef)])], out, inits)


def cnn_graph(name, p):
    inits = [
        f32("div", np.asarray(16.0)),
        f32("conv_W", p["Wc"].reshape(8, 1, 3, 3)),
        f32("conv_B", p["bc"]),
        f32("fc1_W", p["W2"]),
        f32("fc1_B", p["b2"]),
        f32("fc2_W", p["W3"]),
        f32("fc2_B", p["b3"]),
    ]
    nodes = [
        helper.make_node("Div", ["input", "div"], ["scaled"], name="scale"),
        helper.make_node(
            "Conv", ["scaled", "conv_W", "conv_B"], ["conv"], kernel_shape=[3, 3],
            pads=[1, 1, 1, 1], strides=[1, 1], name="conv",
        ),
        helper.make_node("Relu", ["conv"], ["conv_relu"], name="conv_relu"),
        helper.make_node(
            "MaxPool", ["conv_relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2], name="pool"
        ),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["flat", "fc1_W", "fc1_B"], ["fc1"], name="fc1"),
        helper.make_node("Relu", ["fc1"], ["fc1_relu"], name="fc1_relu"),
        helper.make_node("Gemm", ["fc1_relu", "fc2_W", "fc2_B"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1, name="softmax"),
        argmax_label(),
    ]
    return finish_model(name, nodes, [input_info([1, 8, 8])], classifier_outputs(10), inits)


# ----------------------------------------------------------------------------- numpy CNN


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _patches(X):
    """[B, 64] raw pixels -> 3x3 patches [B, 8, 8, 9] of pixels/16, zero padded."""
    img = np.pad((X / 16.0).reshape(-1, 8, 8), ((0, 0), (1, 1), (1, 1)))
    cols = [img[:, ki : ki + 8, kj : kj + 8] for ki in range(3) for kj in range(3)]
    return np.stack(cols, axis=-1)


def cnn_forward(p, X, keep=False):
    P = _patches(X)
    Z1 = P @ p["Wc"].T + p["bc"]  # [B, 8, 8, 8] (i, j, filter)
    A1 = np.maximum(Z1, 0.0)
    B = X.shape[0]
    M = A1.reshape(B, 4, 2, 4, 2, 8).max(axis=(2, 4))  # [B, 4, 4, 8]
    F = M.transpose(0, 3, 1, 2).reshape(B, 128)  # ONNX Flatten order of [B, 8, 4, 4]
    Z2 = F @ p["W2"] + p["b2"]
    H = np.maximum(Z2, 0.0)
    probs = _softmax(H @ p["W3"] + p["b3"])
    if keep:
        return probs, (P, Z1, A1, M, F, H)
    return probs


def train_cnn(X, y, seed=0, epochs=60, batch=32, lr=3e-3, l2=1e-4):
    rng = np.random.default_rng(seed)
    p = {
        "Wc": rng.normal(0.0, np.sqrt(2.0 / 9), (8, 9)),
        "bc": np.zeros(8),
        "W2": rng.normal(0.0, np.sqrt(2.0 / 128), (128, 32)),
        "b2": np.zeros(32),
        "W3": rng.normal(0.0, np.sqrt(2.0 / 32), (32, 10)),
        "b3": np.zeros(10),
    }
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps, t = 0.9, 0.999, 1e-8, 0
    onehot = np.eye(10)[y]
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for s in range(0, len(X), batch):
            idx = order[s : s + batch]
            xb, yb = X[idx], onehot[idx]
            B = len(idx)
            probs, (P, Z1, A1, M, F, H) = cnn_forward(p, xb, keep=True)
            d3 = (probs - yb) / B
            g = {"W3": H.T @ d3, "b3": d3.sum(0)}
            dZ2 = (d3 @ p["W3"].T) * (H > 0)
            g["W2"], g["b2"] = F.T @ dZ2, dZ2.sum(0)
            dM = (dZ2 @ p["W2"].T).reshape(B, 8, 4, 4).transpose(0, 2, 3, 1)
            A1r = A1.reshape(B, 4, 2, 4, 2, 8)
            mask = A1r == M[:, :, None, :, None, :]
            dA1 = (mask * dM[:, :, None, :, None, :]).reshape(B, 8, 8, 8)
            dZ1 = dA1 * (Z1 > 0)
            g["Wc"] = np.einsum("bijk,bijm->mk", P, dZ1)
            g["bc"] = dZ1.sum(axis=(0, 1, 2))
            t += 1
            for k in p:
                gk = g[k] + (l2 * p[k] if k.startswith("W") else 0.0)
                m[k] = b1 * m[k] + (1 - b1) * gk
                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                mh = m[k] / (1 - b1**t)
                vh = v[k] / (1 - b2**t)
                p[k] = p[k] - lr * mh / (np.sqrt(vh) + eps)
    return p


# ----------------------------------------------------------------------------- running


def ort_session(model: onnx.ModelProto) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), so, providers=["CPUExecutionProvider"]
    )


def tensor_json(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a)
    if a.dtype == np.float32:
        data = [float(x) for x in a.ravel()]
    elif a.dtype == np.int64:
        data = [int(x) for x in a.ravel()]
    else:
        raise TypeError(a.dtype)
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": data}


def shape_json(dims):
    return [d if isinstance(d, str) else int(d) for d in dims]


def log_loss_f64(y, probs64, labels) -> float:
    """sklearn's log_loss on float32 probabilities widened to float64.

    Rows of float32 softmax outputs sum to 1 only within ~1e-7, which trips sklearn's float64
    "do not sum to one" warning (rtol 1.5e-8); the value is still sklearn's definition
    (clip to [eps, 1-eps] with float64 eps, no renormalisation).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The y_prob values do not sum to one")
        return float(log_loss(y, probs64, labels=labels))


def classification_metrics(y, probs, labels):
    probs64 = probs.astype(np.float64)
    pred = probs.argmax(axis=1)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "f1_macro": float(f1_score(y, pred, average="macro", labels=labels)),
        "log_loss": log_loss_f64(y, probs64, labels),
    }


def regression_metrics(y, pred):
    pred = pred.astype(np.float64).ravel()
    return {
        "r2": float(r2_score(y, pred)),
        "mae": float(mean_absolute_error(y, pred)),
        "rmse": float(np.sqrt(mean_squared_error(y, pred))),
    }


class Spec:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def load(name):
    loader = {
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "breast_cancer": datasets.load_breast_cancer,
        "diabetes": datasets.load_diabetes,
    }[name]
    d = loader()
    return d, [str(n) for n in d.feature_names]


def split(X, y, stratify):
    return train_test_split(
        X, y, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y if stratify else None
    )


def build_all():
    """Fit every model; return a list of Spec with everything needed to write the fixtures."""
    specs = []

    digits, digit_names = load("digits")
    Xtr, Xte, ytr, yte = split(digits.data, digits.target, True)
    digit_labels = [str(c) for c in digits.target_names]

    lr = LogisticRegression(max_iter=10000, C=1.0)
    lr.fit(Xtr, ytr)
    specs.append(Spec(
        dir="digits-v1", name="digits", version="1", task="classification",
        dataset="sklearn.datasets.load_digits", feature_names=digit_names, labels=digit_labels,
        Xtr=Xtr, ytr=ytr, Xte=Xte, yte=yte, write_train=True, input_tail=[64],
        model=softmax_linear_graph("digits_v1", 64, lr.coef_.T, lr.intercept_),
        sk_proba=lr.predict_proba,
        description="Multinomial logistic regression on raw 8x8 digit pixel intensities (0-16) "
        "from scikit-learn's digits data set.",
    ))

    mlp = MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-4, max_iter=500, random_state=0)
    mlp.fit(Xtr / 16.0, ytr)
    specs.append(Spec(
        dir="digits-v2", name="digits", version="2", task="classification",
        dataset="sklearn.datasets.load_digits", feature_names=digit_names, labels=digit_labels,
        Xtr=Xtr, ytr=ytr, Xte=Xte, yte=yte, write_train=False, train_dir="digits-v1",
        input_tail=[64],
        model=mlp_graph("digits_v2", 64, mlp.coefs_, mlp.intercepts_, 16.0),
        sk_proba=lambda X: mlp.predict_proba(X / 16.0),
        description="Multi-layer perceptron (one hidden layer of 64 ReLU units) on 8x8 digit "
        "pixels scaled by 1/16 inside the graph; the challenger to digits version 1.",
    ))

    cnn = train_cnn(Xtr, ytr)
    specs.append(Spec(
        dir="digits-cnn", name="digits-cnn", version="1", task="classification",
        dataset="sklearn.datasets.load_digits", feature_names=digit_names, labels=digit_labels,
        Xtr=Xtr, ytr=ytr, Xte=Xte, yte=yte, write_train=False, train_dir="digits-v1",
        input_tail=[1, 8, 8],
        model=cnn_graph("digits_cnn", cnn),
        sk_proba=lambda X: cnn_forward(cnn, X),
        description="Small convolutional network (8 3x3 filters, 2x2 max-pool, 32 hidden units) "
        "trained with numpy on 8x8 digit images given as [N,1,8,8] raw pixels.",
    ))

    iris, iris_names = load("iris")
    Xtr, Xte, ytr, yte = split(iris.data, iris.target, True)
    lr = LogisticRegression(max_iter=10000, C=1.0)
    lr.fit(Xtr, ytr)
    specs.append(Spec(
        dir="iris", name="iris", version="1", task="classification",
        dataset="sklearn.datasets.load_iris", feature_names=iris_names,
        labels=[str(c) for c in iris.target_names],
        Xtr=Xtr, ytr=ytr, Xte=Xte, yte=yte, write_train=True, input_tail=[4],
        model=softmax_linear_graph("iris", 4, lr.coef_.T, lr.intercept_),
        sk_proba=lr.predict_proba,
        description="Multinomial logistic regression on the four iris flower measurements in "
        "centimetres.",
    ))

    bc, bc_names = load("breast_cancer")
    Xtr, Xte, ytr, yte = split(bc.data, bc.target, True)
    scaler = StandardScaler().fit(Xtr)
    lr = LogisticRegression(max_iter=10000, C=1.0)
    lr.fit(scaler.transform(Xtr), ytr)
    specs.append(Spec(
        dir="breast-cancer", name="breast-cancer", version="1", task="classification",
        dataset="sklearn.datasets.load_breast_cancer", feature_names=bc_names,
        labels=[str(c) for c in bc.target_names],
        Xtr=Xtr, ytr=ytr, Xte=Xte, yte=yte, write_train=True, input_tail=[30],
        model=binary_standardized_graph(
            "breast_cancer", scaler.mean_, scaler.scale_, lr.coef_[0], lr.intercept_[0]
        ),
        sk_proba=lambda X: lr.predict_proba(scaler.transform(X)),
        description="Logistic regression on the 30 raw Wisconsin breast cancer features, "
        "standardised inside the graph; class 1 is benign.",
    ))

    diab, diab_names = load("diabetes")
    Xtr, Xte, ytr, yte = split(diab.data, diab.target, False)
    reg = LinearRegression().fit(Xtr, ytr)
    specs.append(Spec(
        dir="diabetes", name="diabetes", version="1", task="regression",
        dataset="sklearn.datasets.load_diabetes", feature_names=diab_names, labels=None,
        Xtr=Xtr, ytr=ytr, Xte=Xte, yte=yte, write_train=True, input_tail=[10],
        model=linear_regression_graph("diabetes", reg.coef_, reg.intercept_),
        sk_predict=reg.predict,
        description="Ordinary least squares linear regression of one-year diabetes progression "
        "on the 10 scaled baseline variables.",
    ))
    return specs


def model_io(model: onnx.ModelProto, values):
    out = []
    for vi in values:
        t = vi.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
        out.append({
            "name": vi.name,
            "dtype": np.dtype(helper.tensor_dtype_to_np_dtype(t.elem_type)).name,
            "shape": shape_json(dims),
        })
    return out


def write_all(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    specs = build_all()
    train_sha = {}
    index, summary = [], []
    for s in specs:
        d = out / s.dir
        d.mkdir(parents=True, exist_ok=True)
        regression = s.task == "regression"
        if s.write_train:
            data = write_csv(d / "train.csv", s.feature_names, s.Xtr, s.ytr, regression)
            assert len(data) < 320_000, (s.dir, len(data))
            train_sha[s.dir] = sha256(data)
        else:
            stale = d / "train.csv"
            if stale.exists():
                stale.unlink()
        write_csv(d / "test.csv", s.feature_names, s.Xte, s.yte, regression)
        model_bytes = s.model.SerializeToString()
        (d / "model.onnx").write_bytes(model_bytes)

        sess = ort_session(s.model)
        out_names = [o.name for o in s.model.graph.output]

        def run(X):
            x32 = X.astype(np.float32).reshape(-1, *s.input_tail)
            res = sess.run(out_names, {"input": x32})
            return x32, dict(zip(out_names, res))

        _, full_te = run(s.Xte)
        _, full_tr = run(s.Xtr)
        if regression:
            pred_te, pred_tr = full_te["variable"], full_tr["variable"]
            assert pred_te.dtype == np.float32 and pred_te.shape == (len(s.Xte), 1)
            sk = s.sk_predict(s.Xte)
            # One float32 rounding of the float64 result: within half an ulp of sklearn's
            # prediction up to the float32 rounding of the input.
            x32 = s.Xte.astype(np.float32).astype(np.float64)
            exact = s.sk_predict(x32).astype(np.float32)
            assert np.array_equal(pred_te.ravel(), exact), s.dir
            assert np.max(np.abs(pred_te.ravel() - sk)) < 1e-3
            metrics = regression_metrics(s.yte, pred_te)
            metrics["train_r2"] = float(r2_score(s.ytr, pred_tr.astype(np.float64).ravel()))
            sk_metrics = regression_metrics(s.yte, sk)
            for k in metrics:
                if k in sk_metrics:
                    assert abs(metrics[k] - sk_metrics[k]) < 1e-4, (s.dir, k)
            headline = ("r2", metrics["r2"])
        else:
            labels_idx = list(range(len(s.labels)))
            for full in (full_te, full_tr):
                probs, lab = full["probabilities"], full["label"]
                assert probs.dtype == np.float32 and lab.dtype == np.int64
                assert np.array_equal(lab, probs.argmax(axis=1)), s.dir
                assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
            sk_probs = s.sk_proba(s.Xte)
            assert np.max(np.abs(sk_probs - full_te["probabilities"])) < 1e-4, s.dir
            assert np.array_equal(sk_probs.argmax(axis=1), full_te["label"]), s.dir
            metrics = classification_metrics(s.yte, full_te["probabilities"], labels_idx)
            metrics["train_accuracy"] = float(accuracy_score(s.ytr, full_tr["label"]))
            headline = ("accuracy", metrics["accuracy"])

        expected = {}
        for key, n in (("batch1", 1), ("batch64", min(64, len(s.Xte)))):
            x32, res = run(s.Xte[:n])
            expected[key] = {
                "inputs": {"input": tensor_json(x32)},
                "outputs": {k: tensor_json(v) for k, v in res.items()},
            }
        write_json(d / "expected.json", expected, compact=True)

        train_key = s.dir if s.write_train else s.train_dir
        card = {
            "name": s.name,
            "version": s.version,
            "format": "onnx",
            "task": s.task,
            "inputs": model_io(s.model, s.model.graph.input),
            "outputs": model_io(s.model, s.model.graph.output),
            "feature_names": s.feature_names,
            "label_column": "target",
            "metrics": metrics,
            "dataset": {"name": s.dataset, "sha256": train_sha[train_key], "rows": len(s.Xtr)},
            "created": CREATED,
            "license": LICENSE,
            "description": s.description,
        }
        if not regression:
            card["labels"] = s.labels
        write_json(d / "card.json", card)

        ops = sorted({n.op_type for n in s.model.graph.node})
        index.append({
            "dir": s.dir,
            "name": s.name,
            "version": s.version,
            "task": s.task,
            "n_train": len(s.Xtr),
            "n_test": len(s.Xte),
            "metric": {headline[0]: headline[1]},
            "model_sha256": sha256(model_bytes),
            "operators": ops,
        })
        summary.append((s.dir, s.task, len(s.Xtr), len(s.Xte), headline, len(model_bytes), ops))

    write_json(out / "index.json", {"models": index})

    acc = {r[0]: r[4][1] for r in summary}
    assert acc["digits-v2"] > acc["digits-v1"], "challenger should beat digits-v1"
    assert acc["digits-v1"] > 0.93 and acc["digits-cnn"] > 0.9 and acc["iris"] > 0.85
    assert acc["breast-cancer"] > 0.93 and acc["diabetes"] > 0.3

    print(f"{'model':<14} {'task':<15} {'train':>5} {'test':>5} {'metric':<18} {'onnx B':>7}  ops")
    for name, task, ntr, nte, (mk, mv), size, ops in summary:
        print(f"{name:<14} {task:<15} {ntr:>5} {nte:>5} {mk + '=' + format(mv, '.4f'):<18} "
              f"{size:>7}  {','.join(ops)}")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"total fixture size: {total} bytes")


def audit_skl2onnx():
    """Print the (domain, op) pairs that skl2onnx emits for the estimators used here."""
    import warnings

    from skl2onnx import to_onnx

    digits = datasets.load_digits()
    X, y = digits.data.astype(np.float32), digits.target
    bc = datasets.load_breast_cancer()
    Xb, yb = bc.data.astype(np.float32), bc.target
    diab = datasets.load_diabetes()
    Xd, yd = diab.data.astype(np.float32), diab.target
    cases = [
        ("LogisticRegression (10 classes)", LogisticRegression(max_iter=200), X, y),
        ("LogisticRegression (binary)", LogisticRegression(max_iter=200), Xb, yb),
        ("MLPClassifier (10 classes)", MLPClassifier((16,), max_iter=50, random_state=0), X, y),
        ("MLPClassifier (binary)", MLPClassifier((16,), max_iter=50, random_state=0), Xb, yb),
        ("StandardScaler", StandardScaler(), Xb, None),
        ("LinearRegression", LinearRegression(), Xd, yd),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, est, Xa, ya in cases:
            est.fit(Xa, ya) if ya is not None else est.fit(Xa)
            for options in ({}, {"zipmap": False}):
                if options and ya is None or options and isinstance(est, LinearRegression):
                    continue
                onx = to_onnx(est, Xa[:1], options=options or None, target_opset=OPSET)
                ops = sorted({(n.domain or "ai.onnx", n.op_type) for n in onx.graph.node})
                ml = [op for dom, op in ops if dom == "ai.onnx.ml"]
                print(f"{label:<34} {str(options):<18} ai.onnx.ml: {ml or '-'}; "
                      f"standard: {[op for dom, op in ops if dom != 'ai.onnx.ml']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--audit-skl2onnx", action="store_true")
    args = ap.parse_args(argv)
    import warnings

    warnings.simplefilter("error", ConvergenceWarning)
    np.seterr(over="raise", invalid="raise")
    with threadpool_limits(limits=1):
        if args.audit_skl2onnx:
            audit_skl2onnx()
        else:
            write_all(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
