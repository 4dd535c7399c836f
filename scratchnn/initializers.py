"""Weight initializers, drawn from scratchnn's seeded NumPy generator.

Keras's formulas (`keras/src/initializers/random_initializers.py`), not its
random streams: TensorFlow's Philox generator cannot be matched from NumPy, so
parity with Keras always goes through `set_weights`.

Fans of a kernel shape: Dense (in, out) -> fan_in=in, fan_out=out; Conv2D
(kh, kw, cin, cout) -> fan_in = kh*kw*cin, fan_out = kh*kw*cout.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import config, utils

Initializer = Callable[[tuple], np.ndarray]


def compute_fans(shape: tuple) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as Keras computes them."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def zeros(shape: tuple) -> np.ndarray:
    return np.zeros(shape, dtype=config.floatx())


def ones(shape: tuple) -> np.ndarray:
    return np.ones(shape, dtype=config.floatx())


def _uniform(shape: tuple, limit: float) -> np.ndarray:
    return utils.rng().uniform(-limit, limit, size=shape).astype(config.floatx())


def _truncated_normal(shape: tuple, stddev: float) -> np.ndarray:
    # Normal draws outside two standard deviations are redrawn, like TF's truncated_normal.
    values = utils.rng().standard_normal(size=shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = utils.rng().standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2
    return (values * stddev).astype(config.floatx())


# 0.879... is the stddev of a unit normal truncated at +-2; dividing by it keeps the
# requested variance after truncation (Keras's VarianceScaling does the same).
_TRUNCATION_STDDEV = 0.87962566103423978


def glorot_uniform(shape: tuple) -> np.ndarray:
    """U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)) (Keras's default)."""
    fan_in, fan_out = compute_fans(shape)
    return _uniform(shape, math.sqrt(6.0 / (fan_in + fan_out)))


def glorot_normal(shape: tuple) -> np.ndarray:
    fan_in, fan_out = compute_fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATION_STDDEV)


def he_uniform(shape: tuple) -> np.ndarray:
    fan_in, _ = compute_fans(shape)
    return _uniform(shape, math.sqrt(6.0 / fan_in))


def he_normal(shape: tuple) -> np.ndarray:
    fan_in, _ = compute_fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / fan_in) / _TRUNCATION_STDDEV)


_INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros, "ones": ones, "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal, "he_uniform": he_uniform, "he_normal": he_normal,
}


def get(identifier: str | Initializer) -> Initializer:
    """Resolve an initializer by Keras name, or accept any callable shape -> array."""
    if isinstance(identifier, str):
        if identifier not in _INITIALIZERS:
            raise ValueError(
                f"Unknown initializer {identifier!r}; expected one of {sorted(_INITIALIZERS)}")
        return _INITIALIZERS[identifier]
    if callable(identifier):
        return identifier
    raise ValueError(f"Initializer must be a name or a callable, got {identifier!r}")


def serialize(initializer: Initializer) -> str:
    return getattr(initializer, "__name__", type(initializer).__name__)
