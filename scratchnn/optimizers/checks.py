"""Argument checks shared by the optimizers and the learning-rate schedules: a bad
value is refused with the owner, the argument and the rule,
`SGD: momentum must be in [0, 1], got 1.5`."""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_number(owner: str, name: str, value, *, minimum: float | None = None,
                 maximum: float | None = None, above: float | None = None,
                 none_ok: bool = False) -> float | None:
    """`value` as a float, or a ValueError naming `owner`, the argument and the rule:
    `SGD: momentum must be in [0, 1], got 1.5`."""
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{owner}: {name} must be a finite number"
                         f"{' or None' if none_ok else ''}, got {value!r}")
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{owner}: {name} must be in [{minimum:g}, {maximum:g}], got {value!r}")
    if minimum is not None and maximum is None and value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum:g}, got {value!r}")
    if above is not None and value <= above:
        raise ValueError(f"{owner}: {name} must be > {above:g}, got {value!r}")
    return float(value)


def check_bool(owner: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)
