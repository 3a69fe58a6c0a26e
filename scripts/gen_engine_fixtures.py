#!/usr/bin/env python3
"""Writes small ONNX graphs for the engine's tests (tests/fixtures/engine/), built with the onnx
helper API (pip install -r scripts/requirements-models.txt):

- dtypes.onnx: one input and one output per supported element type (float32, float64, int32,
  int64, uint8, bool), each with a symbolic batch dimension N, so tests can check that every
  type crosses the boundary by name: f32*2, f64+1, i32*3, i64-7, identity(u8), not(bool).
- unsupported.onnx: a graph using ai.onnx.ml operators tract does not implement (Imputer and
  Scaler), to check the UNSUPPORTED_MODEL error names them.
"""
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


if __name__ == "__main__":
    dtypes()
    unsupported()
