"""Weight penalties (Keras's `regularizers/regularizers.py`): L1, L2 and L1L2.

A regularizer is called on a weight array and returns the penalty that training adds to
the loss; `gradient` returns d(penalty)/d(weight), what the backward pass adds to that
weight's gradient:

    reg = L2(0.01)
    penalty = reg(W)              # 0.01 * sum(W**2), a NumPy scalar of W's dtype
    dW += reg.gradient(W)         # 0.01 * (2 * W), same shape and dtype as W

    L1(l1)        l1 * sum(|x|)                     gradient  l1 * sign(x)
    L2(l2)        l2 * sum(x^2)                     gradient  l2 * (2 x)
    L1L2(l1, l2)  l1 * sum(|x|) + l2 * sum(x^2)     gradient  l1 * sign(x) + l2 * (2 x)

sign(0) = 0: at x = 0, where |x| has no derivative, the L1 gradient is 0, TensorFlow's
choice (its Abs gradient is sign(x)).

Exactly Keras's arithmetic, in x's dtype: Keras's `ops.cast(factor, x.dtype)` first makes
the Python factor a float32 tensor, so the factor used is float32(factor) EVEN IN FLOAT64
(L2(0.01) multiplies float64 weights by 0.009999999776482582); the penalty is
`factor * sum(op(x))`, and L1L2 adds its terms to a 0 in that order. Values agree with
Keras to the summation order of the sum (NumPy's pairwise sum, TensorFlow's Eigen
reduction): bit for bit below one SIMD packet of TensorFlow's build (fewer than 8 float32
or 4 float64 entries), otherwise within a few ulp of the sum (measured: 2 float32 ulp,
2 float64 ulp; parity_tests/test_callbacks_keras_more.py); the gradients are bit for bit
TensorFlow's.

Names (`get`): "l1", "l2", "L1", "L2", "L1L2", "l1l2" (Keras makes its snake_case names
from the class names, and "L1L2" becomes "l1l2": Keras 3.15 REFUSES "l1_l2", its own
docstring notwithstanding), and a base "regularizer"/"Regularizer" whose penalty is 0.
A name builds the default object: "l1" is L1(0.01), "l2" L2(0.01), "l1l2" L1L2() with both
factors 0.0. `keras.regularizers.l1_l2` is the class L1L2 (defaults 0.0) in Keras 3; so
it is here. Serialized form (`serialize`), as in a .keras file's config.json:
    {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
     "registered_name": None}
"""

from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Callable

import numpy as np

from . import keras_objects


def _validate_factor(value, name: str) -> float:
    """Keras's `validate_float_arg`: a finite number >= 0, returned as a Python float.
    Stricter on booleans (Keras takes True as 1.0), kinder to NumPy scalars (Keras
    refuses np.float32(0.1) and np.int64(1), as they are not Python floats or ints)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or math.isinf(value) or math.isnan(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative "
                         f"float. Received: {name}={value!r}")
    return float(value)


def _as_weights(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"A regularizer expects a floating-point array (a layer's weights), "
                        f"got dtype {x.dtype}")
    return x


def _factor(value: float, dtype: np.dtype) -> np.floating:
    """The factor as Keras's `ops.cast(factor, x.dtype)` delivers it: TensorFlow makes the
    Python float a float32 tensor first, then casts it, so it is float32(value) in x's dtype."""
    return dtype.type(np.float32(value))


class Regularizer:
    """Base class: `reg(x)` is the penalty (a scalar of x's dtype), `reg.gradient(x)` its
    gradient (an array like x). The base penalty is 0, as Keras's base class returns."""

    def __call__(self, x) -> np.floating:
        return _as_weights(x).dtype.type(0.0)

    def gradient(self, x) -> np.ndarray:
        return np.zeros_like(_as_weights(x))

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """penalty = l1 * sum(|x|); gradient = l1 * sign(x).

    As in Keras, the factor is kept as a float32 number from the start (Keras stores it
    in a float32 tensor): L1(0.01).l1 and its config hold 0.009999999776482582.
    l1=None means the default 0.01."""

    def __init__(self, l1: float | None = 0.01) -> None:
        l1 = 0.01 if l1 is None else l1
        self.l1 = float(np.float32(_validate_factor(l1, "l1")))

    def __call__(self, x) -> np.floating:
        x = _as_weights(x)
        return _factor(self.l1, x.dtype) * np.sum(np.abs(x))

    def gradient(self, x) -> np.ndarray:
        # d|x|/dx = sign(x), with sign(0) = 0 as TensorFlow's Abs gradient
        x = _as_weights(x)
        return _factor(self.l1, x.dtype) * np.sign(x)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """penalty = l2 * sum(x^2); gradient = l2 * (2 x) (TensorFlow's Square gradient is
    upstream * (2 x), the upstream here being l2). l2=None means the default 0.01."""

    def __init__(self, l2: float | None = 0.01) -> None:
        l2 = 0.01 if l2 is None else l2
        self.l2 = _validate_factor(l2, "l2")

    def __call__(self, x) -> np.floating:
        x = _as_weights(x)
        return _factor(self.l2, x.dtype) * np.sum(np.square(x))

    def gradient(self, x) -> np.ndarray:
        x = _as_weights(x)
        return _factor(self.l2, x.dtype) * (2 * x)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """penalty = l1 * sum(|x|) + l2 * sum(x^2), a term left out when its factor is 0;
    gradient = l1 * sign(x) + l2 * (2 x).

    The defaults are 0.0 and 0.0 (so L1L2() and get("l1l2") penalize nothing, and
    L1L2(l2=0.1) is a pure L2 penalty), as in Keras 3.15; None means 0.0."""

    def __init__(self, l1: float | None = 0.0, l2: float | None = 0.0) -> None:
        l1 = 0.0 if l1 is None else l1
        l2 = 0.0 if l2 is None else l2
        self.l1 = _validate_factor(l1, "l1")
        self.l2 = _validate_factor(l2, "l2")

    def __call__(self, x) -> np.floating:
        x = _as_weights(x)
        penalty = x.dtype.type(0.0)             # Keras starts from a 0 tensor and adds
        if self.l1 != 0.0:
            penalty = penalty + _factor(self.l1, x.dtype) * np.sum(np.abs(x))
        if self.l2 != 0.0:
            penalty = penalty + _factor(self.l2, x.dtype) * np.sum(np.square(x))
        return penalty

    def gradient(self, x) -> np.ndarray:
        # (TensorFlow gives no gradient at all when both factors are 0; here: zeros.)
        x = _as_weights(x)
        grad = np.zeros_like(x)
        if self.l1 != 0.0:
            grad = grad + _factor(self.l1, x.dtype) * np.sign(x)
        if self.l2 != 0.0:
            grad = grad + _factor(self.l2, x.dtype) * (2 * x)
        return grad

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


# Keras's lower-case spellings are the classes themselves (keras.regularizers.l1_l2 is
# L1L2, with defaults 0.0; Keras 2's l1_l2 function defaulted to 0.01).
l1, l2, l1_l2 = L1, L2, L1L2

_CLASSES = [Regularizer, L1, L2, L1L2]
# The names keras.regularizers.get knows: class names and Keras's to_snake_case of them.
_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({"regularizer": Regularizer, "l1": L1, "l2": L2, "l1l2": L1L2})


# -- names, configs, objects ----------------------------------------------------------------
def serialize(regularizer: Regularizer | Callable | None) -> dict[str, Any] | None:
    """Keras's serialized form: {"module": "keras.regularizers", "class_name": "L2",
    "config": {"l2": 0.01}, "registered_name": None}; None for None. A user's subclass
    gets its own module and registered_name, a plain function the class_name "function"."""
    if regularizer is None:
        return None
    return keras_objects.serialize(regularizer, Regularizer, _CLASSES, "keras.regularizers",
                                   "regularizer")


def deserialize(config: dict | str, custom_objects: dict | None = None) -> Regularizer | Callable:
    """The regularizer a `serialize` dict (or a name, see `get`) describes. Keras 2's
    {"class_name": "L2", "config": {...}} without "module" is read too. Unlike Keras (whose
    deserialize returns an unknown name unchanged), an unknown name is an error here."""
    return keras_objects.deserialize(config, _BY_NAME, custom_objects, "regularizer",
                                     _unknown_message)


def _unknown_message(identifier) -> str:
    message = f"Could not interpret regularizer identifier: {identifier}"
    if identifier == "l1_l2":
        message += (" (Keras 3.15 knows L1L2 as 'L1L2' or 'l1l2', which mean L1L2(l1=0.0, "
                    "l2=0.0); for both penalties at 0.01 pass L1L2(l1=0.01, l2=0.01))")
    elif isinstance(identifier, str):
        message += f"; expected one of {sorted(_BY_NAME)}"
    return message


def get(identifier) -> Regularizer | Callable | None:
    """Resolve what a layer was given as kernel_regularizer / bias_regularizer /
    activity_regularizer, as `keras.regularizers.get`: None stays None; a name
    ("l2" -> L2(0.01), "l1" -> L1(0.01), "l1l2" -> L1L2(0.0, 0.0)) or a config dict builds
    a new object; a class is constructed with its defaults; a regularizer object or any
    callable `f(weights) -> penalty` is kept as given (a plain function has no
    `gradient`: the caller must handle that, or ask for a Regularizer)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(_unknown_message(identifier))
        return cls()
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(_unknown_message(identifier))
