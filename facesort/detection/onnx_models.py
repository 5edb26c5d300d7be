"""ONNX models as protobuf bytes, and onnxruntime sessions to run them.

``Graph`` writes a small model: only what a feed-forward network of float32 tensors needs
(nodes with integer, integer-list and string attributes, float32 and int64 initialisers, one
named input and output). ``any_input_size`` edits a model so that it takes images of any size.
Both work on the protobuf wire format directly, so running a model needs onnxruntime and not
the ``onnx`` package (~0.4 s to import, in every worker process). The field numbers are those
of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
ValueInfoProto); the tests check the output with ``onnx.checker``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

IR_VERSION = 7     # ONNX 1.7: what opset 13 needs
OPSET = 13
_WIRE_VARINT, _WIRE_BYTES = 0, 2
_ATTRIBUTE_INT, _ATTRIBUTE_STRING, _ATTRIBUTE_INTS = 2, 3, 7
_TENSOR_TYPES = {np.dtype(np.float32): 1, np.dtype(np.int64): 7}
_MODEL_GRAPH, _GRAPH_INPUT, _GRAPH_OUTPUT, _GRAPH_VALUE_INFO = 7, 11, 12, 13


def new_session(model: bytes):
    """An onnxruntime session on the CPU for a serialised model. Its threads: $OMP_NUM_THREADS
    when set (the worker processes set 1: they are one per core), else onnxruntime's choice."""
    import onnxruntime  # imported by the processes that run models, once

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3           # errors only
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit():
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


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


def _fields(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """The fields of one protobuf message: (field number, its bytes as written, the payload of
    a length-delimited field or b"")."""
    position = 0
    while position < len(data):
        start = position
        key, position = _read_varint(data, position)
        wire, payload = key & 7, b""
        if wire == _WIRE_VARINT:
            _, position = _read_varint(data, position)
        elif wire == _WIRE_BYTES:
            length, position = _read_varint(data, position)
            payload, position = data[position:position + length], position + length
        elif wire in (1, 5):                    # fixed 64 and 32 bits
            position += 8 if wire == 1 else 4
        else:
            raise ValueError(f"not an ONNX model: protobuf wire type {wire} at byte {start}")
        if position > len(data):
            raise ValueError("not an ONNX model: it ends inside a field")
        yield key >> 3, data[start:position], payload


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if position >= len(data):
            raise ValueError("not an ONNX model: it ends inside a number")
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position, shift = position + 1, shift + 7
        if not byte & 0x80:
            return value, position


def any_input_size(model: bytes) -> bytes:
    """The model with every size of its inputs and outputs made a named free dimension, and
    the shapes of its inner values dropped: onnxruntime otherwise refuses inputs of another
    size than the one written in the file (YuNet's: 640x640), though its layers take any.
    Inputs and outputs are declared float32, as YuNet's are."""
    def field(message: bytes, wanted: int) -> bytes:
        return next((payload for number, _, payload in _fields(message) if number == wanted),
                    b"")

    def free(value_info: bytes) -> bytes:
        name = field(value_info, 1).decode()
        shape = field(field(field(value_info, 2), 1), 2)      # type, tensor_type, shape
        rank = sum(1 for number, _, _ in _fields(shape) if number == 1)
        return _value_info(name, tuple(f"{name}_{axis}" for axis in range(rank)))

    def edit_graph(graph: bytes) -> bytes:
        out = []
        for number, written, payload in _fields(graph):
            if number in (_GRAPH_INPUT, _GRAPH_OUTPUT):
                written = _message(number, free(payload))
            elif number == _GRAPH_VALUE_INFO:
                continue
            out.append(written)
        return b"".join(out)

    return b"".join(_message(number, edit_graph(payload)) if number == _MODEL_GRAPH else written
                    for number, written, payload in _fields(model))


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
