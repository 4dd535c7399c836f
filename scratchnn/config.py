"""Global numeric settings: the float type every array is kept in, and epsilon.

These are the only global settings in scratchnn besides the seeded random
generator in `scratchnn.utils`. Like `keras.config`, they are read when layers
are built and when losses are computed, so set them before building a model.
"""

from __future__ import annotations

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_ALLOWED_FLOATX = ("float32", "float64")


def floatx() -> str:
    """The default float type, "float32" (Keras's default) or "float64"."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type for weights, activations and losses.

    float64 is meant for finite-difference gradient checks; float32 matches Keras.
    """
    global _FLOATX
    if value not in _ALLOWED_FLOATX:
        raise ValueError(
            f"set_floatx expects one of {_ALLOWED_FLOATX}, got {value!r}")
    _FLOATX = value


def epsilon() -> float:
    """The fuzz factor losses clip probabilities with (Keras: 1e-7)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor used to clip probabilities in crossentropy losses."""
    global _EPSILON
    _EPSILON = float(value)


def float_dtype() -> np.dtype:
    """`floatx()` as a NumPy dtype."""
    return np.dtype(_FLOATX)
