"""What a layer's constructor accepts, and the small argument conventions all layers share.

`check_arguments` is the one mechanism by which every layer refuses, by name, a keyword it
does not take: Keras arguments scratchnn does not implement are accepted only at the value
that switches them off (`kernel_constraint=None`, listed per class in
`KERAS_ONLY_ARGUMENTS`) and otherwise "not supported by scratchnn"; anything else is not an
argument of the layer, in Keras's words. A learner reading a layer's math can skip this file.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import config

if TYPE_CHECKING:                      # (type hints only: base.py imports this module)
    from .base import Layer

Shape = tuple


def regularizer_arg(value, argument: str, owner: Layer):
    """A layer's kernel_regularizer / bias_regularizer / ... argument, resolved as Keras
    resolves it ("l2", a config dict, an object, None) into a scratchnn regularizer; one
    without a `gradient` (a plain function) cannot be trained here and is refused."""
    from .. import regularizers

    try:
        regularizer = regularizers.get(value)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{type(owner).__name__} '{owner.name}': {argument}: {err}") from None
    if regularizer is not None and not callable(getattr(regularizer, "gradient", None)):
        raise ValueError(f"{type(owner).__name__} '{owner.name}': {argument} must be a "
                         "scratchnn regularizer (L1, L2, L1L2, or a Regularizer subclass with "
                         f"a gradient method), got {value!r}")
    return regularizer


def _as_tuple(value, argument: str, owner: Any) -> tuple:
    if isinstance(value, (int, np.integer)):
        return (int(value),)
    try:
        out = tuple(None if v is None else int(v) for v in value)
    except TypeError:
        raise ValueError(f"{owner.__class__.__name__}: {argument} must be an int or a tuple "
                         f"of ints, got {value!r}") from None
    return out


def _fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")


def normalize_tuple(value, n: int, argument: str, owner: Any) -> tuple[int, ...]:
    """An int or an n-tuple of positive ints (Keras's kernel_size/strides convention)."""
    if isinstance(value, (int, np.integer)):
        out = (int(value),) * n
    else:
        out = _as_tuple(value, argument, owner)
    if len(out) != n or any(v is None or v < 1 for v in out):
        raise ValueError(f"{owner.__class__.__name__} '{owner.name}': {argument} must be a "
                         f"positive int or a tuple of {n} positive ints, got {value!r}")
    return out


# -- arguments ------------------------------------------------------------------------------
# Arguments every layer takes in Layer.__init__ (Keras's base Layer takes them too; input_dim
# is its older spelling of input_shape=(n,)).
BASE_ARGUMENTS = ("name", "input_shape", "input_dim", "trainable", "dtype")


def keras_only_arguments(cls: type) -> dict[str, tuple]:
    """Every KERAS_ONLY_ARGUMENTS table of `cls` and its base classes, merged."""
    table: dict[str, tuple] = {}
    for klass in reversed(cls.__mro__):
        table.update(vars(klass).get("KERAS_ONLY_ARGUMENTS", {}))
    return table


def accepted_arguments(cls: type) -> list[str]:
    """The keyword arguments a layer class takes: its constructor's named parameters,
    the base ones, then the Keras ones it accepts switched off."""
    names = [p.name for p in inspect.signature(cls.__init__).parameters.values()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]
    return list(dict.fromkeys(names + list(BASE_ARGUMENTS) + list(keras_only_arguments(cls))))


def check_arguments(cls: type, name: str | None, kwargs: dict[str, Any]) -> None:
    """Refuse, by name, the keyword arguments `kwargs` that a `cls` constructor left over:

    * a Keras argument scratchnn does not implement is accepted at the value that
      switches it off (its default) and refused at any other: "is not supported by
      scratchnn";
    * anything else is not an argument of the layer: Keras's own message, plus the
      list of what the layer takes."""
    layer = type_name = cls.__name__
    if name is not None:
        layer = f"{type_name} '{name}'"
    table = keras_only_arguments(cls)
    unknown = {}
    for key, value in kwargs.items():
        if key in BASE_ARGUMENTS:
            continue
        if key not in table:
            unknown[key] = value
        elif not any(_same(value, off) for off in table[key]):
            allowed = " or ".join(f"{key}={off!r}" for off in table[key])
            raise ValueError(f"{layer}: {key}={value!r} is not supported by scratchnn (Keras's "
                             f"{type_name} takes it; scratchnn accepts only {allowed}, "
                             "which changes nothing)")
    if unknown:
        own = [key for key in accepted_arguments(cls) if key not in table]
        raise ValueError(f"{layer}: Unrecognized keyword arguments passed to {type_name}: "
                         f"{unknown} (not arguments of {type_name}, in Keras 3.15 or "
                         f"scratchnn; it takes {', '.join(own)}, and Keras's "
                         f"{', '.join(table)} switched off)")


def _same(value: Any, off: Any) -> bool:
    """value is the switched-off `off` (None is None; False is not 0)."""
    if off is None or isinstance(off, bool):
        return value is off or (isinstance(value, np.bool_) and bool(value) is off)
    return isinstance(value, (str, int, float, np.number)) \
        and not isinstance(value, (bool, np.bool_)) and value == off


def check_dtype(dtype: Any, owner: Layer) -> None:
    """Keras's `dtype=` argument: scratchnn computes every layer in the floatx, so only
    None or the floatx itself (a name, a NumPy dtype, or Keras's DTypePolicy dict) is
    accepted; any other policy ("mixed_float16", "float64" under float32, ...) is refused."""
    if dtype is None:
        return
    name = dtype
    if isinstance(dtype, dict) and dtype.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        name = (dtype.get("config") or {}).get("name")
    try:
        ok = isinstance(name, (str, np.dtype, type)) and np.dtype(name).name == config.floatx()
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{type(owner).__name__} '{owner.name}': dtype={dtype!r} is not "
                         f"supported by scratchnn: layers compute in the floatx, now "
                         f"{config.floatx()!r} (scratchnn.config.set_floatx('float64') switches "
                         "every layer to float64)")
