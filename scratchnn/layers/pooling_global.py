"""GlobalAveragePooling2D and GlobalMaxPooling2D: one value per channel and image.

    x (N, H, W, C) -> y (N, C)    (keepdims=True: (N, 1, 1, C))

The average's gradient is spread evenly: dL/dx = dL/dy / (H W) at every position.
The maximum's goes to the position that holds it, and where several positions tie for
the maximum it is SHARED between them (TensorFlow's reduce_max gradient:
(x == max) / count * dL/dy), unlike MaxPooling2D, whose windows send all of it to the
first maximum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer, _fmt_shape

Array = np.ndarray


class GlobalPooling2D(Layer):
    """The shared part: shapes, the keepdims option, channels_last only."""

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 name: str | None = None, input_shape: tuple | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__} '{self.name}': data_format must be "
                             f"'channels_last' (scratchnn's only layout), got {data_format!r}")
        if not isinstance(keepdims, (bool, np.bool_)):
            raise ValueError(f"{type(self).__name__} '{self.name}': keepdims must be True or "
                             f"False, got {keepdims!r}")
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 4:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs "
                             f"(N, H, W, C), got {_fmt_shape(tuple(input_shape))}")
        n, _, _, c = input_shape
        return (n, 1, 1, c) if self.keepdims else (n, c)

    def check_input(self, x: Array) -> None:
        if x.ndim != 4 or x.shape[-1] != self.input_shape[-1]:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs "
                             f"{_fmt_shape(self.input_shape)}, got {x.shape}")

    def _shaped(self, y: Array) -> Array:
        """(N, 1, 1, C) -> the output shape (N, C) unless keepdims."""
        return y if self.keepdims else y.reshape(y.shape[0], y.shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": "channels_last",
                "keepdims": self.keepdims}


class GlobalAveragePooling2D(GlobalPooling2D):
    """Mean over height and width: y[n, c] = sum_{h, w} x[n, h, w, c] / (H W)."""

    def forward(self, x: Array, training: bool = False) -> Array:
        self.x_shape = x.shape
        count = x.dtype.type(x.shape[1] * x.shape[2])
        # Summed in float64: NumPy adds H*W rows of C values one after another.
        total = np.add.reduce(x, axis=(1, 2), keepdims=True, dtype=np.float64)
        return self._shaped(total.astype(x.dtype) / count)

    def backward(self, dy: Array) -> Array:
        # Every position contributed 1 / (H W) of y: dL/dx = dL/dy / (H W), broadcast.
        n, h, w, c = self.x_shape
        share = dy.reshape(n, 1, 1, c) / dy.dtype.type(h * w)
        return np.broadcast_to(share, self.x_shape).copy()


class GlobalMaxPooling2D(GlobalPooling2D):
    """Max over height and width: y[n, c] = max_{h, w} x[n, h, w, c]."""

    def forward(self, x: Array, training: bool = False) -> Array:
        self.x = x
        self.y = x.max(axis=(1, 2), keepdims=True)                  # (N, 1, 1, C)
        return self._shaped(self.y)

    def backward(self, dy: Array) -> Array:
        # dL/dx = (x == max) / (how many positions hold the max) * dL/dy, TensorFlow's
        # order of operations; ties share the gradient.
        n, _, _, c = self.x.shape
        winners = (self.x == self.y).astype(dy.dtype)                # (N, H, W, C)
        count = winners.sum(axis=(1, 2), keepdims=True)
        return winners / count * dy.reshape(n, 1, 1, c)


__all__ = ["GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalPooling2D"]
