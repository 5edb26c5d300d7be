"""dlib's face network (resnet_encoder's FaceNetwork) run by onnxruntime: the same encodings,
~2.7x faster than numpy on one core of these machines (2.4 ms a chip against 6.5 ms).

The network's weights come from dlib's own model file, as read by resnet_encoder; this module
writes them into an ONNX graph in memory (onnx_models) with the same layers in the same order,
and hands it to onnxruntime. Encodings agree with numpy's to ~1e-6. Without onnxruntime
installed, ``fastest`` gives back the numpy network.
"""
from __future__ import annotations

import numpy as np

from facesort.detection.onnx_models import Graph, new_session
from facesort.detection.resnet_encoder import (BLOCKS, CHIP_SIZE, Convolution, FaceNetwork,
                                               network_input)

INPUT, BATCH = "chips", "faces"


def fastest(network: FaceNetwork) -> FaceNetwork | OnnxFaceNetwork:
    """``network`` run by onnxruntime when it is installed, else as it is (numpy)."""
    try:
        return OnnxFaceNetwork(network)
    except ImportError:     # not installed, or its library does not load on this machine
        return network


class OnnxFaceNetwork:
    """FaceNetwork.encode on onnxruntime (onnx_models.new_session says on how many threads)."""

    def __init__(self, network: FaceNetwork) -> None:
        self._session = new_session(onnx_model(network))

    def encode(self, chips: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) RGB uint8 face chips -> (N, 128) float64 encodings."""
        images = network_input(chips).transpose(0, 3, 1, 2)     # the graph's NCHW
        (encodings,) = self._session.run(None, {INPUT: np.ascontiguousarray(images)})
        return encodings.astype(np.float64)


def onnx_model(network: FaceNetwork) -> bytes:
    """The network as an ONNX model: input (N, 3, 150, 150) float32 chips as
    resnet_encoder.network_input gives them (channels first); output (N, 128) float32
    encodings."""
    graph = Graph("dlib_face_recognition_resnet_model_v1")
    layers = iter(network.convolutions)
    shape = (3, CHIP_SIZE, CHIP_SIZE)            # (channels, height, width) of x
    x, shape = _convolution(graph, INPUT, shape, next(layers))
    x = graph.add("MaxPool", graph.add("Relu", x), kernel_shape=[3, 3], strides=[2, 2])
    shape = (shape[0], *_pooled(shape, 3))
    for filters, count in BLOCKS:
        for block in range(count):
            halves = block == 0 and filters != BLOCKS[0][0]
            inner, inner_shape = _convolution(graph, x, shape, next(layers))
            out, out_shape = _convolution(graph, graph.add("Relu", inner), inner_shape,
                                          next(layers))
            if halves:
                skip = graph.add("AveragePool", x, kernel_shape=[2, 2], strides=[2, 2])
                skip_shape = (shape[0], *_pooled(shape, 2))
            else:
                skip, skip_shape = x, shape
            # dlib adds tensors of unequal sizes by zero-padding the smaller at the end
            shape = tuple(max(a, b) for a, b in zip(out_shape, skip_shape))
            x = graph.add("Relu", graph.add("Add", _pad_to(graph, out, out_shape, shape),
                                            _pad_to(graph, skip, skip_shape, shape)))
    pooled = graph.add("Flatten", graph.add("GlobalAveragePool", x))
    encodings = graph.add("MatMul", pooled, graph.constant(network.projection))
    return graph.model((INPUT, (BATCH, 3, CHIP_SIZE, CHIP_SIZE)), (encodings, (BATCH, 128)))


def _convolution(graph: Graph, x: str, shape: tuple[int, int, int],
                 layer: Convolution) -> tuple[str, tuple[int, int, int]]:
    """The convolution with its affine layer folded into the weights and bias."""
    channels, height, width = shape
    filters, rows, pad = layer.weights.shape[0], layer.rows, layer.padding
    weights = layer.weights.reshape(filters, rows, rows, channels).transpose(0, 3, 1, 2)
    out = graph.add("Conv", x, graph.constant(weights * layer.scale[:, None, None, None]),
                    graph.constant(layer.shift), kernel_shape=[rows, rows],
                    strides=[layer.stride] * 2, pads=[pad] * 4)
    return out, (filters, (height + 2 * pad - rows) // layer.stride + 1,
                 (width + 2 * pad - rows) // layer.stride + 1)


def _pooled(shape: tuple[int, int, int], window: int) -> tuple[int, int]:
    """Height and width after a pool of window x window, stride 2, no padding."""
    return (shape[1] - window) // 2 + 1, (shape[2] - window) // 2 + 1


def _pad_to(graph: Graph, x: str, shape: tuple, target: tuple) -> str:
    if shape == target:
        return x
    after = [0] + [goal - size for size, goal in zip(shape, target)]   # batch, C, H, W
    return graph.add("Pad", x, graph.constant(np.array([0] * 4 + after, np.int64)),
                     mode="constant")
