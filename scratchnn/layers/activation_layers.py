"""ReLU, LeakyReLU and ELU as layers, each with its own parameters (keras.layers.ReLU,
keras.layers.LeakyReLU, keras.layers.ELU). Note the defaults: the LeakyReLU LAYER's
negative_slope is 0.3, the `leaky_relu` activation function's (activation="leaky_relu")
is 0.2, as in Keras."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import activations
from .base import Layer

Array = np.ndarray


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_))


class ReLU(Layer):
    """Keras's ReLU layer: max(x, 0) by default, with three options,

        y = max_value                             where x >= max_value
        y = x                                     where threshold <= x < max_value
        y = negative_slope * (x - threshold)      otherwise

    computed exactly as Keras does (`activations.relu_general`, whose backward has
    TensorFlow's values at the kinks: 0 at x == threshold and at x == 6 for relu6, 1 at
    x == max_value otherwise). Shapes: any; y like x; dL/dx like dL/dy.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, name: str | None = None,
                 input_shape: tuple | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        for key, value, none_ok in (("max_value", max_value, True),
                                    ("negative_slope", negative_slope, False),
                                    ("threshold", threshold, False)):
            if not (value is None and none_ok) and (not _is_number(value) or value < 0):
                raise ValueError(f"ReLU '{self.name}': {key} of a ReLU layer cannot be "
                                 f"{'a negative value' if none_ok else 'None or a negative value'}"
                                 f" (a number >= 0 is needed). Received: {key}={value!r}")
        # Kept as given (an int stays an int), as Keras keeps them and writes its config.
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def forward(self, x: Array, training: bool = False) -> Array:
        self.x = x                                           # cached for backward
        return activations.relu_general(x, self.negative_slope, self.max_value, self.threshold)

    def backward(self, dy: Array) -> Array:
        # dL/dx = dy * dy/dx elementwise, dy/dx in {0, 1, negative_slope} (activations.py)
        return activations.relu_general_backward(dy, self.x, self.negative_slope,
                                                 self.max_value, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """y = x where x > 0, else negative_slope * x. Shapes: any; y like x.

    `alpha=` is Keras 2's name for negative_slope: Keras 3.15 still takes it, warns
    "Argument `alpha` is deprecated. Use `negative_slope` instead." (a UserWarning), lets
    it win over negative_slope, and writes only negative_slope in the config; so here."""

    def __init__(self, negative_slope: float = 0.3, name: str | None = None,
                 input_shape: tuple | None = None, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.",
                          UserWarning, stacklevel=2)
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        if isinstance(negative_slope, bool) or not isinstance(
                negative_slope, (int, float, np.floating, np.integer)) or negative_slope < 0:
            raise ValueError(f"LeakyReLU '{self.name}': negative_slope must be a number >= 0, "
                             f"got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x: Array, training: bool = False) -> Array:
        self.x = x
        return activations.leaky_relu(x, self.negative_slope)

    def backward(self, dy: Array) -> Array:
        return activations.leaky_relu_backward(dy, self.x, None, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """y = x where x > 0, else alpha (e^x - 1). Shapes: any; y like x."""

    def __init__(self, alpha: float = 1.0, name: str | None = None,
                 input_shape: tuple | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating,
                                                             np.integer)):
            raise ValueError(f"ELU '{self.name}': alpha must be a number, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x: Array, training: bool = False) -> Array:
        self.x = x
        return activations.elu(x, self.alpha)

    def backward(self, dy: Array) -> Array:
        return activations.elu_backward(dy, self.x, None, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


__all__ = ["ReLU", "LeakyReLU", "ELU"]
