#!/usr/bin/env python3
"""Writes small ONNX graphs for the engine's tests (tests/fixtures/engine/), built with the onnx
helper API (pip install -r scripts/requirements-models.txt):

- dtypes.onnx: one input and one output per supported element type (float32, float64, int32,
  int64, uint8, bool, float16, int8), each with a symbolic batch dimension N, so tests can check
  that every type crosses the boundary by name: f32*2, f64+1, i32*3, i64-7, identity(u8),
  not(bool), f16*2, -i8.
- unsupported.onnx: a graph using ai.onnx.ml operators tract does not implement (Imputer and
  Scaler), to check the UNSUPPORTED_MODEL error names them.
- dynamic.onnx: an image model as exporters write them with dynamic axes: input
  float32[batch, 3, height, width] with the spatial sizes left open (`?`), a convolution, then a
  Resize to half the input's own size computed from Shape/Slice/Div/Concat, and `value_info`
  annotations with symbolic intermediate shapes. tract cannot type it once for all sizes; the
  engine plans it per input shape. dynamic.json holds inputs and onnxruntime's outputs
  (one thread) at two sizes.
- loop.onnx: ONNX Loop (see loop()).
- loop_slice.onnx: a Loop body that slices with bounds it carries and expands to that slice's
  shape (see loop_slice()).
- if.onnx: an If on a condition known only at run time (see if_runtime()).
"""
import json
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "engine"


def save(model, name):
    onnx.checker.check_model(model)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(model.SerializeToString())
    print("wrote", OUT / name)


def dtypes():
    specs = [
        ("f32", TensorProto.FLOAT, ["N", 2], "Mul", np.array(2, dtype=np.float32)),
        ("f64", TensorProto.DOUBLE, ["N", 2], "Add", np.array(1, dtype=np.float64)),
        ("i32", TensorProto.INT32, ["N"], "Mul", np.array(3, dtype=np.int32)),
        ("i64", TensorProto.INT64, ["N"], "Sub", np.array(7, dtype=np.int64)),
        ("u8", TensorProto.UINT8, ["N", 3], "Identity", None),
        ("b", TensorProto.BOOL, ["N"], "Not", None),
        ("f16", TensorProto.FLOAT16, ["N", 2], "Mul", np.array(2, dtype=np.float16)),
        ("i8", TensorProto.INT8, ["N"], "Neg", None),
    ]
    inputs, outputs, nodes, inits = [], [], [], []
    for name, ty, shape, op, const in specs:
        inputs.append(helper.make_tensor_value_info(name, ty, shape))
        outputs.append(helper.make_tensor_value_info(f"{name}_out", ty, shape))
        args = [name]
        if const is not None:
            inits.append(numpy_helper.from_array(const, name=f"{name}_k"))
            args.append(f"{name}_k")
        nodes.append(helper.make_node(op, args, [f"{name}_out"], name=f"{op}_{name}"))
    graph = helper.make_graph(nodes, "dtypes", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="edge-registry tests")
    model.ir_version = 7
    save(model, "dtypes.onnx")


def unsupported():
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("Imputer", ["input"], ["imputed"], domain="ai.onnx.ml",
                         imputed_value_floats=[0.0], replaced_value_float=float("nan")),
        helper.make_node("Scaler", ["imputed"], ["output"], domain="ai.onnx.ml",
                         offset=[0.0, 0.0, 0.0], scale=[1.0, 1.0, 1.0]),
    ]
    graph = helper.make_graph(nodes, "unsupported", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 7
    save(model, "unsupported.onnx")


def dynamic():
    rng = np.random.default_rng(17)
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, "?", None])
    y = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4, "h2", "w2"])
    w = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b")
    consts = [
        numpy_helper.from_array(np.array(v, dtype=np.int64), n)
        for n, v in [("s0", [0]), ("s2", [2]), ("s4", [4]), ("two", [2]), ("chan", [4])]
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w", "b"], ["conv"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("Shape", ["image"], ["shape"], name="shape"),
        helper.make_node("Slice", ["shape", "s0", "s0"], ["n_empty"], name="n_empty"),
        helper.make_node("Slice", ["shape", "s0", "s2"], ["nc"], name="nc"),
        helper.make_node("Slice", ["nc", "s0", "two"], ["nc2"], name="nc2"),
        helper.make_node("Gather", ["nc2", "s0"], ["n"], axis=0, name="n"),
        helper.make_node("Slice", ["shape", "s2", "s4"], ["hw"], name="hw"),
        helper.make_node("Div", ["hw", "two"], ["hw2"], name="hw2"),
        helper.make_node("Concat", ["n", "chan", "hw2"], ["sizes"], axis=0, name="sizes"),
        helper.make_node("Resize", ["relu", "", "", "sizes"], ["features"], mode="nearest",
                         name="resize"),
    ]
    graph = helper.make_graph(nodes, "dynamic", [x], [y], initializer=[w, b, *consts])
    graph.value_info.extend([
        helper.make_tensor_value_info("relu", TensorProto.FLOAT, ["batch", 4, "height", "width"]),
        helper.make_tensor_value_info("hw2", TensorProto.INT64, [2]),
    ])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="edge-registry tests")
    model.ir_version = 7
    save(model, "dynamic.onnx")

    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), opts)
    cases = []
    for shape in [(1, 3, 8, 12), (2, 3, 6, 4)]:
        image = rng.normal(size=shape).astype(np.float32)
        (out,) = session.run(None, {"image": image})
        cases.append({
            "input": {"image": {"dtype": "float32", "shape": list(shape),
                                "data": [float(v) for v in image.ravel()]}},
            "expected": {"features": {"dtype": "float32", "shape": list(out.shape),
                                      "data": [float(v) for v in out.ravel()]}},
        })
    (OUT / "dynamic.json").write_text(json.dumps(cases) + "\n")
    print("wrote", OUT / "dynamic.json")


def loop():
    """loop.onnx: ONNX Loop (tract 0.23 has none; the engine implements it): a trip count input
    M, a carried accumulator and a scan output, the body reading the outer input x:
    acc <- acc + x * i for i in 0..M, every acc stacked. loop.json: onnxruntime at M = 4 and 0."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    m = helper.make_tensor_value_info("M", TensorProto.INT64, [])
    acc = helper.make_tensor_value_info("acc", TensorProto.FLOAT, [3])
    steps = helper.make_tensor_value_info("steps", TensorProto.FLOAT, ["T", 3])
    body = helper.make_graph(
        [
            helper.make_node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["x", "fi"], ["xi"]),
            helper.make_node("Add", ["acc_in", "xi"], ["acc_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["acc_out"], ["step"]),
        ],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("step", TensorProto.FLOAT, [3])],
    )
    zeros = numpy_helper.from_array(np.zeros(3, dtype=np.float32), "zeros")
    true = numpy_helper.from_array(np.array(True), "true")
    graph = helper.make_graph(
        [helper.make_node("Loop", ["M", "true", "zeros"], ["acc", "steps"], body=body, name="loop")],
        "loop", [x, m], [acc, steps], initializer=[zeros, true])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="edge-registry tests")
    model.ir_version = 7
    save(model, "loop.onnx")

    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), opts)
    xs = np.array([1.5, -2.0, 0.25], dtype=np.float32)
    cases = []
    for trips in [4, 0]:
        acc_v, steps_v = session.run(None, {"x": xs, "M": np.array(trips, dtype=np.int64)})
        cases.append({
            "input": {"x": {"dtype": "float32", "shape": [3], "data": [float(v) for v in xs]},
                      "M": {"dtype": "int64", "shape": [], "data": [trips]}},
            "expected": {
                "acc": {"dtype": "float32", "shape": list(acc_v.shape), "data": [float(v) for v in acc_v.ravel()]},
                "steps": {"dtype": "float32", "shape": list(steps_v.shape),
                          "data": [float(v) for v in steps_v.ravel()]}},
        })
    (OUT / "loop.json").write_text(json.dumps(cases) + "\n")
    print("wrote", OUT / "loop.json")


def loop_slice():
    """loop_slice.onnx: the pattern of PaddleOCR's table recogniser (SLANet) that failed at run
    time: a Loop carrying an index k; the body slices the outer table [2, 5, 3] along axis 1
    from k to Min(k + 1, 5) (bounds known only while it runs), and broadcasts
    w = v * (i + 1) ([2, 1, 3]) to that slice's shape with Expand(w, Shape(slice)), the slice
    itself read by nothing else; k <- k + 1, each expansion stacked. loop_slice.json:
    onnxruntime at M = 3 and 5."""
    rng = np.random.default_rng(5)
    table = numpy_helper.from_array(rng.normal(size=(2, 5, 3)).astype(np.float32), "table")
    m = helper.make_tensor_value_info("M", TensorProto.INT64, [])
    v = helper.make_tensor_value_info("v", TensorProto.FLOAT, [2, 1, 3])
    k_final = helper.make_tensor_value_info("k_final", TensorProto.INT64, [1])
    steps = helper.make_tensor_value_info("steps", TensorProto.FLOAT, ["T", 2, None, 3])
    c = lambda name, value: numpy_helper.from_array(np.array(value, dtype=np.int64), name)
    body = helper.make_graph(
        [
            helper.make_node("Add", ["k_in", "one"], ["k_next"]),
            helper.make_node("Shape", ["table"], ["table_shape"]),
            helper.make_node("Gather", ["table_shape", "axis1"], ["rows"]),
            helper.make_node("Min", ["k_next", "rows"], ["end"]),
            helper.make_node("Slice", ["table", "k_in", "end", "axis1"], ["sliced"]),
            helper.make_node("Shape", ["sliced"], ["sliced_shape"]),
            helper.make_node("Add", ["i", "one_scalar"], ["i1"]),
            helper.make_node("Cast", ["i1"], ["fi"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["v", "fi"], ["w"]),
            helper.make_node("Expand", ["w", "sliced_shape"], ["step"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["k_next"], ["k_out"]),
        ],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("k_in", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("k_out", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("step", TensorProto.FLOAT, [2, None, 3])],
        initializer=[c("one", [1]), c("one_scalar", 1), c("axis1", [1])],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["M", "true", "k0"], ["k_final", "steps"], body=body, name="loop")],
        "loop_slice", [m, v], [k_final, steps],
        initializer=[table, c("k0", [0]), numpy_helper.from_array(np.array(True), "true")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="edge-registry tests")
    model.ir_version = 7
    save(model, "loop_slice.onnx")

    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), opts)
    vs = rng.normal(size=(2, 1, 3)).astype(np.float32)
    cases = []
    for trips in [3, 5]:
        k_v, steps_v = session.run(None, {"v": vs, "M": np.array(trips, dtype=np.int64)})
        cases.append({
            "input": {"v": {"dtype": "float32", "shape": [2, 1, 3], "data": [float(x) for x in vs.ravel()]},
                      "M": {"dtype": "int64", "shape": [], "data": [trips]}},
            "expected": {
                "k_final": {"dtype": "int64", "shape": list(k_v.shape), "data": [int(x) for x in k_v.ravel()]},
                "steps": {"dtype": "float32", "shape": list(steps_v.shape),
                          "data": [float(x) for x in steps_v.ravel()]}},
        })
    (OUT / "loop_slice.json").write_text(json.dumps(cases) + "\n")
    print("wrote", OUT / "loop_slice.json")


def if_runtime():
    """if.onnx: an If whose condition is an input (known only at run time), its branches reading
    outer values: then y = relu(x @ W + b), else y = sigmoid(x @ W) * 2, x float32[N, 4] with a
    symbolic N. if.json: onnxruntime with each condition, at N = 3 and 5."""
    rng = np.random.default_rng(11)
    cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])
    w = numpy_helper.from_array(rng.normal(size=(4, 2)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.normal(size=(2,)).astype(np.float32), "b")
    two = numpy_helper.from_array(np.array(2, dtype=np.float32), "two")
    out = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 2])
    then_body = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["t0"]),
         helper.make_node("Add", ["t0", "b"], ["t1"]),
         helper.make_node("Relu", ["t1"], ["then_y"])],
        "then", [], [out("then_y")])
    else_body = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["e0"]),
         helper.make_node("Sigmoid", ["e0"], ["e1"]),
         helper.make_node("Mul", ["e1", "two"], ["else_y"])],
        "else", [], [out("else_y")])
    graph = helper.make_graph(
        [helper.make_node("If", ["cond"], ["y"], then_branch=then_body, else_branch=else_body, name="if")],
        "if", [cond, x], [y], initializer=[w, b, two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="edge-registry tests")
    model.ir_version = 7
    save(model, "if.onnx")

    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), opts)
    cases = []
    for flag, n in [(True, 3), (False, 3), (True, 5), (False, 5), (True, 3)]:
        xs = rng.normal(size=(n, 4)).astype(np.float32)
        (ys,) = session.run(None, {"cond": np.array(flag), "x": xs})
        cases.append({
            "input": {"cond": {"dtype": "bool", "shape": [], "data": [flag]},
                      "x": {"dtype": "float32", "shape": [n, 4], "data": [float(v) for v in xs.ravel()]}},
            "expected": {"y": {"dtype": "float32", "shape": list(ys.shape), "data": [float(v) for v in ys.ravel()]}},
        })
    (OUT / "if.json").write_text(json.dumps(cases) + "\n")
    print("wrote", OUT / "if.json")


if __name__ == "__main__":
    dtypes()
    unsupported()
    dynamic()
    loop()
    loop_slice()
    if_runtime()
