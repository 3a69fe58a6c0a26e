#!/usr/bin/env python3
"""Hand-made ONNX models for tests/fixtures/regressions/onnx_model/: inputs that crashed (or
would crash) tract 0.23 before the engine's pre-scan refused them. Written with a minimal
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


def model(graph):
    return vint(1, 8) + ld(7, graph) + ld(8, ld(1, "") + vint(2, 17))


FLOAT, STRING = 1, 8


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
                     ("string-raw-constant.onnx", string_constant_with_raw_data)]:
        (OUT / name).write_bytes(fn())
        print(OUT / name)


if __name__ == "__main__":
    main()
