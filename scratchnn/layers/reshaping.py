"""Layers that move values without computing new ones: ZeroPadding2D and Reshape.
Their backward passes move the gradients back: crop the padding, reshape back."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Layer, _fmt_shape
from .im2col import crop, pad

Array = np.ndarray


def _nonnegative_pair(value, what: str, owner: Layer) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and v >= 0 for v in pair):
        raise ValueError(f"ZeroPadding2D '{owner.name}': the {what} of padding must be an int "
                         f">= 0 or a tuple of 2 ints >= 0, got {value!r}")
    return int(pair[0]), int(pair[1])


class ZeroPadding2D(Layer):
    """Zeros around each image: x (N, H, W, C) -> (N, top + H + bottom, left + W + right, C).

    padding: an int p (p on every side), (ph, pw) (ph above and below, pw left and right),
    or ((top, bottom), (left, right)), as Keras.
    """

    def __init__(self, padding: int | tuple = (1, 1), data_format: str | None = None,
                 name: str | None = None, input_shape: tuple | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"ZeroPadding2D '{self.name}': data_format must be "
                             f"'channels_last' (scratchnn's only layout), got {data_format!r}")
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
            padding = ((padding, padding), (padding, padding))
        if isinstance(padding, (str, bytes)) or not hasattr(padding, "__len__") \
                or len(padding) != 2:
            raise ValueError(f"ZeroPadding2D '{self.name}': padding must be an int, a tuple of "
                             "2 ints (height, width) or a tuple of 2 tuples of 2 ints "
                             f"((top, bottom), (left, right)), got {padding!r}")
        self.padding = (_nonnegative_pair(padding[0], "1st entry", self),
                        _nonnegative_pair(padding[1], "2nd entry", self))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 4:
            raise ValueError(f"ZeroPadding2D '{self.name}' expects inputs (N, H, W, C), got "
                             f"{_fmt_shape(tuple(input_shape))}")
        n, h, w, c = input_shape
        (top, bottom), (left, right) = self.padding
        return (n, None if h is None else h + top + bottom,
                None if w is None else w + left + right, c)

    def check_input(self, x: Array) -> None:
        if x.ndim != 4 or x.shape[-1] != self.input_shape[-1]:
            raise ValueError(f"ZeroPadding2D '{self.name}' expects inputs "
                             f"{_fmt_shape(self.input_shape)}, got {x.shape}")

    def forward(self, x: Array, training: bool = False) -> Array:
        return pad(x, self.padding)

    def backward(self, dy: Array) -> Array:
        # The padding was constant: only the middle came from x. dL/dx = dL/dy cropped.
        return crop(dy, self.padding)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding,
                "data_format": "channels_last"}


class Reshape(Layer):
    """Each sample reshaped to `target_shape` (C order; one entry may be -1: inferred).

    Shapes: x (N, *s) -> y (N, *target_shape), with prod(s) == prod(target_shape).
    """

    def __init__(self, target_shape: tuple, name: str | None = None,
                 input_shape: tuple | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        try:
            target = tuple(target_shape)
        except TypeError:
            target = None
        if not target or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                                 and (d > 0 or d == -1) for d in target) \
                or target.count(-1) > 1:
            raise ValueError(f"Reshape '{self.name}': target_shape must be a tuple of positive "
                             f"ints with at most one -1, got {target_shape!r}")
        self.target_shape = tuple(int(d) for d in target)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        sample = tuple(input_shape[1:])
        if any(d is None for d in sample):
            return (input_shape[0], *(None if d == -1 else d for d in self.target_shape))
        size, known = math.prod(sample), math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape and size % known == 0:
            return (input_shape[0], *(size // known if d == -1 else d for d in self.target_shape))
        if -1 not in self.target_shape and size == known:
            return (input_shape[0], *self.target_shape)
        raise ValueError(f"Reshape '{self.name}': cannot reshape inputs "
                         f"{_fmt_shape(tuple(input_shape))} ({size} values per sample) to "
                         f"target_shape {self.target_shape}")

    def check_input(self, x: Array) -> None:
        self.compute_output_shape((None, *x.shape[1:]))

    def forward(self, x: Array, training: bool = False) -> Array:
        self.x_shape = x.shape
        return x.reshape(self.compute_output_shape(x.shape))    # -1 resolved (even for N=0)

    def backward(self, dy: Array) -> Array:
        return dy.reshape(self.x_shape)                 # a reshape moves no numbers

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}


__all__ = ["ZeroPadding2D", "Reshape"]
