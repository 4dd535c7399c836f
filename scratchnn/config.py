"""Global settings: the float type every array is kept in, epsilon, and the threads.

These are the only global settings in scratchnn besides the seeded random
generator in `scratchnn.utils`. Like `keras.config`, floatx and epsilon are read when
layers are built and when losses are computed, so set them before building a model.
`threads` is read at every batch (parallel.py).
"""

from __future__ import annotations

import os

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_ALLOWED_FLOATX = ("float32", "float64")
_THREADS: int | None = None          # None: the CPUs this process may run on


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


def threads() -> int:
    """The most threads fit, evaluate and predict split a batch over (parallel.py): the
    value given to `set_threads`, else the CPUs this process may run on
    (`os.sched_getaffinity` as scratchnn is imported, which `taskset` and container
    limits narrow down). The
    engine uses fewer when the machine is busy or the batch too small to share."""
    if _THREADS is not None:
        return _THREADS
    return _CPUS


# The CPUs this process may run on, read once as scratchnn is imported (a system call per
# batch would cost more than the circles model's whole step saves).
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
    os.cpu_count() or 1)


def set_threads(value: int | None) -> None:
    """Cap the threads a batch is split over; 1 runs the plain one-thread step of step.py
    (today's arithmetic exactly, with NumPy's BLAS left as it is), None goes back to the
    default (every CPU this process may use). The same seed and the same number of shards
    give the same bits; a different number of shards changes the last bits of the
    gradients' sums (docs/parallel.md)."""
    global _THREADS
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 1):
        raise ValueError(f"set_threads expects a positive int (or None for every CPU this "
                         f"process may use), got {value!r}")
    _THREADS = None if value is None else int(value)
