#!/usr/bin/env python3
"""Hand-made ONNX models for tests/fixtures/regressions/onnx_model/: inputs that crashed (or
would crash) tract 0.23 before the engine's pre-scan or checked operators refused them, and
controls that must keep working. Written with a minimal
protobuf encoder (standard library only), so the bytes are exactly what each case needs, even
where the ONNX specification forbids it and the `onnx` package would refuse to write it.

    python3 scripts/gen_regression_models.py
"""

import struct
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "regressions" / "onnx_model"


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, wire, payload):
    return varint((num << 3) | wire) + payload


def vint(num, n):
    return field(num, 0, varint(n))


def ld(num, data):
    if isinstance(data, str):
        data = data.encode()
    return field(num, 2, varint(len(data)) + data)


def tensor(name, data_type, dims, raw=b""):
    body = b"".join(vint(1, d) for d in dims) + vint(2, data_type) + ld(8, name)
    if raw:
        body += ld(9, raw)
    return body


def value_info(name, elem_type, dims):
    shape = b"".join(ld(1, vint(1, d)) for d in dims)
    tensor_type = vint(1, elem_type) + ld(2, shape)
    return ld(1, name) + ld(2, ld(1, tensor_type))


def node(op, inputs, outputs, name, attrs=b""):
    return b"".join(ld(1, i) for i in inputs) + b"".join(ld(2, o) for o in outputs) + ld(3, name) + ld(4, op) + attrs


def model(graph, opset=17):
    return vint(1, 8) + ld(7, graph) + ld(8, ld(1, "") + vint(2, opset))


FLOAT, INT64, STRING = 1, 7, 8
INT, INTS = 2, 7


def attr_int(name, n):
    return ld(5, ld(1, name) + vint(3, n) + vint(20, INT))


def attr_ints(name, ns):
    return ld(5, ld(1, name) + b"".join(vint(8, n) for n in ns) + vint(20, INTS))


def int64s(name, values):
    return tensor(name, INT64, [len(values)], raw=struct.pack(f"<{len(values)}q", *values))


def reduction(op, axes, opset, axes_as_input, dims=(2, 3), keepdims=0):
    """x (float, `dims`) -> `op` over `axes` -> y, the axes an attribute or (`axes_as_input`)
    an int64 initializer fed as the second input."""
    attrs = attr_int("keepdims", keepdims)
    inputs = ["x"]
    inits = b""
    if axes_as_input:
        inputs.append("axes")
        inits = ld(5, int64s("axes", axes))
    elif op.startswith("Arg"):
        attrs += attr_int("axis", axes[0])
    else:
        attrs += attr_ints("axes", axes)
    graph = (
        ld(1, node(op, inputs, ["y"], "reduce", attrs=attrs))
        + ld(2, "g")
        + inits
        + ld(11, value_info("x", FLOAT, dims))
        + ld(12, ld(1, "y") + ld(2, ld(1, vint(1, INT64 if op.startswith("Arg") else FLOAT))))
    )
    return model(graph, opset)


# Axes out of range for the input's rank: tract-hir 0.23.9 `Reduce::must_reduce` unwraps
# `resolve_axis` and panics during type analysis (the fuzz target found the ArgMax case).
# The engine's checked operators refuse them with BAD_MODEL. The `*-valid` models are the
# controls: the same operators with axes in range must still load and compute.
REDUCTIONS = {
    "argmax-axis-out-of-range.onnx": lambda: reduction("ArgMax", [2], 13, False),
    "argmin-negative-axis-out-of-range.onnx": lambda: reduction("ArgMin", [-3], 13, False),
    "reducemean-axes-attribute-out-of-range.onnx": lambda: reduction("ReduceMean", [0, 5], 13, False),
    "reducesum-axes-input-out-of-range.onnx": lambda: reduction("ReduceSum", [-3], 13, True),
    "reducemax-opset18-axes-input-out-of-range.onnx": lambda: reduction("ReduceMax", [2], 18, True),
    "reducesum-axes-input-valid.onnx": lambda: reduction("ReduceSum", [-1], 13, True),
    "reducemax-opset18-axes-input-valid.onnx": lambda: reduction("ReduceMax", [0], 18, True),
    "reducemean-axes-attribute-valid.onnx": lambda: reduction("ReduceMean", [-2], 13, False, keepdims=1),
    "argmax-axis-valid.onnx": lambda: reduction("ArgMax", [-1], 13, False),
}


def string_tensor_with_raw_data():
    """A STRING initializer stored in raw_data: tract-onnx 0.23.9 `create_tensor` reaches
    `unimplemented!("FIXME, raw tensor loading")` (a panic, so a trap in wasm)."""
    graph = (
        ld(1, node("Identity", ["s"], ["y"], "id"))
        + ld(2, "g")
        + ld(5, tensor("s", STRING, [1], raw=b"x"))
        + ld(12, value_info("y", STRING, [1]))
    )
    return model(graph)


def string_constant_with_raw_data():
    """The same tensor as the `value` attribute of a Constant node."""
    attr = ld(5, ld(1, "value") + ld(5, tensor("v", STRING, [1], raw=b"abc")) + vint(20, 4))
    graph = (
        ld(1, node("Constant", [], ["y"], "const", attrs=attr))
        + ld(2, "g")
        + ld(12, value_info("y", STRING, [1]))
    )
    return model(graph)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, fn in [("string-raw-initializer.onnx", string_tensor_with_raw_data),
                     ("string-raw-constant.onnx", string_constant_with_raw_data),
                     *REDUCTIONS.items()]:
        (OUT / name).write_bytes(fn())
        print(OUT / name)


if __name__ == "__main__":
    main()
