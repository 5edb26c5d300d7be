"""Write a small ONNX model (a graph of operators and constant tensors) as protobuf bytes.

Only what a feed-forward network of float32 tensors needs: nodes with integer, integer-list
and string attributes, float32 and int64 initialisers, and one named input and output. It
writes the protobuf wire format directly, so running a model needs onnxruntime and not the
``onnx`` package (~0.4 s to import, in every worker process). The field numbers are those of
onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto);
the tests check the output with ``onnx.checker``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

IR_VERSION = 7     # ONNX 1.7: what opset 13 needs
OPSET = 13
_WIRE_VARINT, _WIRE_BYTES = 0, 2
_ATTRIBUTE_INT, _ATTRIBUTE_STRING, _ATTRIBUTE_INTS = 2, 3, 7
_TENSOR_TYPES = {np.dtype(np.float32): 1, np.dtype(np.int64): 7}


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1    # negative numbers as 64-bit two's complement, as protobuf does
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _number(field_number: int, value: int) -> bytes:
    return _varint(field_number << 3 | _WIRE_VARINT) + _varint(value)


def _message(field_number: int, payload: bytes | str) -> bytes:
    """A length-delimited field: a string, bytes or an embedded message."""
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(field_number << 3 | _WIRE_BYTES) + _varint(len(payload)) + payload


def _attribute(name: str, value: int | str | list[int]) -> bytes:
    if isinstance(value, str):
        return _message(1, name) + _number(20, _ATTRIBUTE_STRING) + _message(4, value)
    if isinstance(value, list):
        return (_message(1, name) + _number(20, _ATTRIBUTE_INTS)
                + b"".join(_number(8, item) for item in value))
    return _message(1, name) + _number(20, _ATTRIBUTE_INT) + _number(3, value)


def _tensor(name: str, values: np.ndarray) -> bytes:
    values = np.ascontiguousarray(values)
    return (b"".join(_number(1, size) for size in values.shape)
            + _number(2, _TENSOR_TYPES[values.dtype]) + _message(8, name)
            + _message(9, values.astype(values.dtype.newbyteorder("<")).tobytes()))


def _value_info(name: str, shape: tuple[int | str, ...]) -> bytes:
    """A float32 tensor of ``shape``; a str size is a named free dimension (the batch)."""
    dimensions = b"".join(_message(1, _message(2, size) if isinstance(size, str)
                                   else _number(1, size)) for size in shape)
    tensor_type = _number(1, _TENSOR_TYPES[np.dtype(np.float32)]) + _message(2, dimensions)
    return _message(1, name) + _message(2, _message(1, tensor_type))


@dataclass
class Graph:
    """Operators added in the order they run; each output is named after a running count."""

    name: str
    nodes: list[bytes] = field(default_factory=list)
    constants: list[bytes] = field(default_factory=list)
    count: int = 0

    def _fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def constant(self, values: np.ndarray) -> str:
        """A tensor stored in the model (float32 or int64); returns its name."""
        name = self._fresh("constant")
        self.constants.append(_tensor(name, values))
        return name

    def add(self, operator: str, *inputs: str, **attributes: int | str | list[int]) -> str:
        """One operator of the default ONNX domain; returns the name of its output."""
        output = self._fresh(operator.lower())
        self.nodes.append(b"".join(_message(1, name) for name in inputs)
                          + _message(2, output) + _message(3, output) + _message(4, operator)
                          + b"".join(_message(5, _attribute(key, value))
                                     for key, value in attributes.items()))
        return output

    def model(self, inputs: tuple[str, tuple], outputs: tuple[str, tuple],
              producer: str = "facesort") -> bytes:
        """The serialised ModelProto: ``inputs``/``outputs`` are (name, shape) of float32."""
        graph = (b"".join(_message(1, node) for node in self.nodes) + _message(2, self.name)
                 + b"".join(_message(5, tensor) for tensor in self.constants)
                 + _message(11, _value_info(*inputs)) + _message(12, _value_info(*outputs)))
        opset = _message(1, "") + _number(2, OPSET)
        return (_number(1, IR_VERSION) + _message(2, producer) + _message(7, graph)
                + _message(8, opset))
