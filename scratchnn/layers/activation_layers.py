"""LeakyReLU and ELU as layers, each with its own parameter (keras.layers.LeakyReLU,
keras.layers.ELU). Note the defaults: the LeakyReLU LAYER's negative_slope is 0.3, the
`leaky_relu` activation function's (activation="leaky_relu") is 0.2, as in Keras."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations
from .base import Layer

Array = np.ndarray


class LeakyReLU(Layer):
    """y = x where x > 0, else negative_slope * x. Shapes: any; y like x."""

    def __init__(self, negative_slope: float = 0.3, name: str | None = None,
                 input_shape: tuple | None = None, **kwargs: Any) -> None:
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


__all__ = ["LeakyReLU", "ELU"]
