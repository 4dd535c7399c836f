"""Checks and splits of the arrays handed to fit / evaluate / predict.

Bad input is refused here, at the door, with a message naming the argument, what was
expected and what was given, before any layer sees it.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def check_positive_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def unpack_validation(data) -> tuple:
    """(x_val, y_val) or (x_val, y_val, sample_weight) -> a 3-tuple."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                         f"(x_val, y_val, sample_weight), got {type(data).__name__}")
    return tuple(data) if len(data) == 3 else (data[0], data[1], None)


def check_data(x, y, sample_weight, where: str) -> tuple[Array, Array, Array | None]:
    """x, y (and sample_weight) as arrays with the same number of samples."""
    if x is None or y is None:
        raise ValueError(f"{where} needs both x and y (got x={type(x).__name__}, "
                         f"y={type(y).__name__})")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: x and y must be arrays with a batch axis, got shapes "
                         f"{x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"{where}: x and y must have the same number of samples, got "
                         f"{len(x)} and {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{where}: got no samples")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
        if len(sample_weight) != len(x):
            raise ValueError(f"{where}: sample_weight has {len(sample_weight)} entries for "
                             f"{len(x)} samples")
    return x, y, sample_weight


def split_validation(x: Array, y: Array, sample_weight: Array | None,
                     validation_split: float) -> tuple[tuple, tuple]:
    """((x, y, w) to train on, (x, y, w) to validate on): the LAST fraction validates,
    taken before any shuffling (Keras's rule: split_at = floor(N * (1 - split)))."""
    if not 0 < validation_split < 1:
        raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
    split_at = int(np.floor(len(x) * (1.0 - validation_split)))
    weights = (None, None) if sample_weight is None else (sample_weight[:split_at],
                                                           sample_weight[split_at:])
    return (x[:split_at], y[:split_at], weights[0]), (x[split_at:], y[split_at:], weights[1])
