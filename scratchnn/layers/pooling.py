"""MaxPooling2D and AveragePooling2D for images in channels_last layout (N, H, W, C).

Both reduce each (ph, pw) window with a running elementwise operation over the ph*pw window
offsets: offset (i, j) contributes, for all windows at once, the strided slice of the input
it covers. No window is ever gathered into an array of its own.

MaxPooling2D: the gradient of each window goes to its FIRST maximum in row-major order (as
TensorFlow). When windows do not overlap (strides == pool_size, 'valid', the case of every
tutorial), the forward pass in training records, per offset, a mask of the windows that
offset won first; the backward pass is then one multiply per offset, written straight into
dL/dx:

    dx[offset k of every window] = dy * won_k        (non-overlapping: nothing to add up)

Otherwise (overlapping windows, 'same' padding) the backward pass visits the offsets in
row-major order, lets each window be claimed once, and ADDS into dx where windows overlap.

AveragePooling2D: the sum over the offsets divided by how many input values the window
covers (with 'same' padding a window at the border covers fewer: TensorFlow divides by
that count, not by ph*pw); every covered input gets dy / count back.
`max_pool2d_naive`, `avg_pool2d_naive` and their backward passes (conv_naive.py) are the
loop twins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer, _fmt_shape, normalize_tuple
from .im2col import crop, output_length, pad, pads_for

Array = np.ndarray


def check_padding(padding: str, owner: Layer) -> str:
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{type(owner).__name__} '{owner.name}': padding must be 'valid' or "
                         f"'same', got {padding!r}")
    return padding


class Pooling2D(Layer):
    """What max and average pooling share: window geometry, shapes, the offsets."""

    KERAS_ONLY_ARGUMENTS = {"data_format": (None, "channels_last")}

    def __init__(self, pool_size: int | tuple[int, int], strides: int | tuple[int, int] | None,
                 padding: str, name: str | None, input_shape: tuple | None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", self)
        self.strides = normalize_tuple(strides if strides is not None else self.pool_size, 2,
                                       "strides", self)
        self.padding = check_padding(padding, self)

    @property
    def tiles(self) -> bool:
        """True when the windows tile the input without overlap (the fast case)."""
        return self.strides == self.pool_size and self.padding == "valid"

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        kind = type(self).__name__
        if len(input_shape) != 4:
            raise ValueError(f"{kind} '{self.name}' expects inputs (N, H, W, C), got "
                             f"{_fmt_shape(tuple(input_shape))}")
        out_hw = tuple(output_length(size, p, s, self.padding) for size, p, s in
                       zip(input_shape[1:3], self.pool_size, self.strides))
        if any(d is not None and d <= 0 for d in out_hw):
            raise ValueError(f"{kind} '{self.name}': pool {self.pool_size} does not fit "
                             f"inputs {_fmt_shape(tuple(input_shape))}")
        return (input_shape[0], *out_hw, input_shape[3])

    def check_input(self, x: Array) -> None:
        if x.ndim != 4 or (self.input_shape and x.shape[-1] != self.input_shape[-1]):
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs "
                             f"{_fmt_shape(self.input_shape)}, got {x.shape}")
        self.compute_output_shape((None, *x.shape[1:]))

    def _offsets(self, xp: Array, out_hw: tuple[int, int]) -> list[Array]:
        """For each pool offset (i, j), in row-major order, the strided slice of the
        (padded) input it covers for every window at once: each (N, Ho, Wo, C)."""
        (ph, pw), (sh, sw), (ho, wo) = self.pool_size, self.strides, out_hw
        return [xp[:, i: i + sh * ho: sh, j: j + sw * wo: sw, :]
                for i in range(ph) for j in range(pw)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


class MaxPooling2D(Pooling2D):
    """Max over (ph, pw) windows moved by `strides` (default: the pool size).

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, C). The gradient of each window goes to its
    FIRST maximum in row-major order (as TensorFlow); overlapping windows accumulate.
    'same' padding pads with -inf, so padding never wins a max.
    """

    def __init__(self, pool_size: int | tuple[int, int] = (2, 2),
                 strides: int | tuple[int, int] | None = None, padding: str = "valid",
                 name: str | None = None, input_shape: tuple | None = None,
                 **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, name, input_shape, **kwargs)

    def forward(self, x: Array, training: bool = False) -> Array:
        n, h, w, c = x.shape
        self.x_shape = x.shape
        self.pads = pads_for((h, w), self.pool_size, self.strides, self.padding)
        self.xp = pad(x, self.pads, value=-np.inf)             # (N, Hp, Wp, C)
        _, ho, wo, _ = self.compute_output_shape((None, h, w, c))
        offsets = self._offsets(self.xp, (ho, wo))
        out = offsets[0].copy() if len(offsets) == 1 else np.maximum(offsets[0], offsets[1])
        for offset in offsets[2:]:                             # out: (N, Ho, Wo, C)
            np.maximum(out, offset, out=out)
        self.out = out
        self.won = self._first_wins(offsets, out) if training and self.tiles else None
        return out

    @staticmethod
    def _first_wins(offsets: list[Array], out: Array) -> list[Array]:
        """Per offset, where it holds its window's FIRST maximum (row-major order)."""
        taken = np.zeros(out.shape, dtype=bool)
        won = []
        for offset in offsets:
            first = offset == out
            first &= ~taken                                    # an earlier offset won it
            taken |= first
            won.append(first)
        return won

    def backward(self, dy: Array) -> Array:
        if not self.tiles:
            return self._backward_overlapping(dy)
        # Non-overlapping windows: each input pixel is in at most one window, so dL/dx at
        # offset k of every window is dy where offset k won, else 0. One multiply each.
        won = self.won or self._first_wins(self._offsets(self.xp, dy.shape[1:3]), self.out)
        n, h, w, c = self.x_shape
        ho, wo = dy.shape[1:3]
        covered = (ho * self.pool_size[0], wo * self.pool_size[1])
        # Rows/columns past the last whole window (7x7 pooled 2x2) get no gradient.
        dx = (np.empty if covered == (h, w) else np.zeros)(self.x_shape, dtype=dy.dtype)
        for target, first in zip(self._offsets(dx, (ho, wo)), won):
            np.multiply(dy, first, out=target)
        return dx

    def _backward_overlapping(self, dy: Array) -> Array:
        # Visit the offsets in row-major order and let each window be claimed once; where
        # windows overlap, an input collects from every window it won.
        won = self._first_wins(self._offsets(self.xp, dy.shape[1:3]), self.out)
        dxp = np.zeros(self.xp.shape, dtype=dy.dtype)
        # Add in TensorFlow's order: window by window, row-major. An input reached from
        # windows w1 < w2 (row-major) sits at offset o1 > o2 in them, so the offsets taken
        # in REVERSE order add its window shares in window order (the same bits as TF).
        for target, wins in reversed(list(zip(self._offsets(dxp, dy.shape[1:3]), won))):
            target += dy * wins
        return crop(dxp, self.pads)

class AveragePooling2D(Pooling2D):
    """Mean over (ph, pw) windows moved by `strides` (default: the pool size); Keras
    requires pool_size.

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, C). With 'same' padding each window is divided
    by the number of real inputs it covers (padding is not averaged in), as TensorFlow.
    """

    def __init__(self, pool_size: int | tuple[int, int],
                 strides: int | tuple[int, int] | None = None, padding: str = "valid",
                 name: str | None = None, input_shape: tuple | None = None,
                 **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, name, input_shape, **kwargs)

    def _counts(self, hw: tuple[int, int], out_hw: tuple[int, int], dtype) -> Array:
        """How many real inputs each window covers: (1, Ho, Wo, 1), or a scalar when
        every window is whole ('valid' padding)."""
        if self.padding == "valid":
            return dtype.type(self.pool_size[0] * self.pool_size[1])
        ones = pad(np.ones((1, *hw, 1), dtype), self.pads)           # 1 where real, 0 pad
        offsets = self._offsets(ones, out_hw)
        return sum(offsets[1:], offsets[0].copy())

    def forward(self, x: Array, training: bool = False) -> Array:
        n, h, w, c = x.shape
        self.x_shape = x.shape
        self.pads = pads_for((h, w), self.pool_size, self.strides, self.padding)
        out_hw = self.compute_output_shape((None, h, w, c))[1:3]
        offsets = self._offsets(pad(x, self.pads), out_hw)
        total = offsets[0].copy()                                    # (N, Ho, Wo, C)
        for offset in offsets[1:]:                                   # row-major, as TF
            total += offset
        self.count = self._counts((h, w), out_hw, x.dtype)
        total /= self.count
        return total

    def backward(self, dy: Array) -> Array:
        # y = sum over the window / count, so every input the window covers gets
        # dL/dy / count; an input in several (overlapping) windows adds them up.
        share = dy / self.count                                      # (N, Ho, Wo, C)
        padded = (self.x_shape[0], self.x_shape[1] + sum(self.pads[0]),
                  self.x_shape[2] + sum(self.pads[1]), self.x_shape[3])
        dxp = np.zeros(padded, dtype=dy.dtype)
        for target in self._offsets(dxp, dy.shape[1:3]):
            target += share
        return crop(dxp, self.pads)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D

__all__ = ["MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D", "Pooling2D",
           "check_padding"]
