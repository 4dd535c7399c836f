"""Loop twins of the merge layers (merging.py): every output element computed on its own,
the slow obvious way, and every gradient element added up one path at a time. The tests
check the layers against them; nothing else uses them.

`kind` names the layer: "add", "subtract", "multiply", "average", "maximum", "minimum".
Inputs carry a batch axis and have passed the layer's shape checks.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Array = np.ndarray


def _padded(x: Array, rank: int) -> Array:
    """x with size-1 axes inserted after the batch axis up to `rank` (Keras's expand_dims)."""
    return x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:])


def _source(index: tuple, shape: tuple) -> tuple:
    """The element of an input of `shape` that output element `index` reads: along an axis of
    size 1 the input was broadcast, so it is read at 0 there."""
    return tuple(0 if size == 1 else i for i, size in zip(index, shape))


def _winner(kind: str, values: list[float]) -> int:
    """Which input Maximum/Minimum takes at one element: a running comparison that keeps the
    result so far on a tie, so the EARLIEST of equal values wins."""
    best = 0
    for k in range(1, len(values)):
        keeps = values[best] >= values[k] if kind == "maximum" else values[best] <= values[k]
        if not keeps:
            best = k
    return best


def _value(kind: str, values: list[float]) -> float:
    """The layer's output at one element, from its inputs' values there (left to right)."""
    if kind in ("add", "average"):
        total = values[0]
        for v in values[1:]:
            total = total + v
        return total / len(values) if kind == "average" else total
    if kind == "subtract":
        return values[0] - values[1]
    if kind == "multiply":
        product = values[0]
        for v in values[1:]:
            product = product * v
        return product
    return values[_winner(kind, values)]                # maximum, minimum


def _partial(kind: str, values: list[float], k: int) -> float:
    """d(output)/d(input k) at one element."""
    if kind == "add":
        return 1.0
    if kind == "average":
        return 1.0 / len(values)
    if kind == "subtract":
        return 1.0 if k == 0 else -1.0
    if kind == "multiply":                             # the product of all the others
        return math.prod(v for j, v in enumerate(values) if j != k)
    return 1.0 if k == _winner(kind, values) else 0.0  # maximum, minimum


def _output_shape(xs: list[Array]) -> tuple:
    # After padding every axis has sizes 1 or one common size: the output takes the largest.
    return tuple(max(x.shape[d] for x in xs) for d in range(xs[0].ndim))


def elementwise_forward(kind: str, xs: Sequence[Array]) -> Array:
    """y[i] = x1[i] (op) x2[i] (op) ..., one element i at a time."""
    rank = max(x.ndim for x in xs)
    xs = [_padded(x, rank) for x in xs]
    out = np.zeros(_output_shape(xs), dtype=xs[0].dtype)
    for index in np.ndindex(out.shape):
        out[index] = _value(kind, [x[_source(index, x.shape)] for x in xs])
    return out


def elementwise_backward(kind: str, xs: Sequence[Array], dy: Array) -> list[Array]:
    """dL/dx_k[j] = sum over the output elements i that read x_k[j] of dy[i] dy[i]/dx_k[j]:
    a broadcast input element is read by several outputs, and collects from each."""
    rank = max(x.ndim for x in xs)
    padded = [_padded(x, rank) for x in xs]
    grads = [np.zeros(x.shape, dtype=dy.dtype) for x in padded]
    for index in np.ndindex(dy.shape):
        values = [x[_source(index, x.shape)] for x in padded]
        for k, x in enumerate(padded):
            grads[k][_source(index, x.shape)] += dy[index] * _partial(kind, values, k)
    return [g.reshape(x.shape) for g, x in zip(grads, xs)]


def _origin(position: int, sizes: list[int]) -> tuple[int, int]:
    """Which input, and where in it, position `position` along the joined axis came from."""
    for k, size in enumerate(sizes):
        if position < size:
            return k, position
        position -= size
    raise IndexError(position)


def concatenate_forward(xs: Sequence[Array], axis: int = -1) -> Array:
    """y[..., p, ...] = x_k[..., p - (sizes of x_1..x_(k-1)), ...], element by element."""
    axis = axis % xs[0].ndim
    sizes = [x.shape[axis] for x in xs]
    shape = list(xs[0].shape)
    shape[axis] = sum(sizes)
    out = np.zeros(shape, dtype=xs[0].dtype)
    for index in np.ndindex(out.shape):
        k, p = _origin(index[axis], sizes)
        out[index] = xs[k][index[:axis] + (p,) + index[axis + 1:]]
    return out


def concatenate_backward(xs: Sequence[Array], dy: Array, axis: int = -1) -> list[Array]:
    """Each dy element goes back to the one input element it was copied from."""
    axis = axis % xs[0].ndim
    sizes = [x.shape[axis] for x in xs]
    grads = [np.zeros(x.shape, dtype=dy.dtype) for x in xs]
    for index in np.ndindex(dy.shape):
        k, p = _origin(index[axis], sizes)
        grads[k][index[:axis] + (p,) + index[axis + 1:]] += dy[index]
    return grads
