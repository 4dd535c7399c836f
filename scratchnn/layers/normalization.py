"""BatchNormalization (Ioffe and Szegedy, 2015), with Keras 3's arguments and arithmetic.

Each feature (the last axis: a Dense layer's units, an image's channels) is normalised
over every other axis (the batch, and height and width for images), then scaled and
shifted by two learned vectors:

    training:   mu = mean(x),  var = mean((x - mu)^2)          over the reduced axes, (C,)
                moving_mean     <- moving_mean * momentum + mu * (1 - momentum)
                moving_variance <- moving_variance * momentum + var * (1 - momentum)
    inference:  mu, var = moving_mean, moving_variance
    both:       y = gamma * (x - mu) / sqrt(var + epsilon) + beta

computed as TensorFlow's `tf.nn.batch_normalization` does it: inv = gamma / sqrt(var +
epsilon), y = x * inv + (beta - mu * inv). The moving statistics are Keras's
non-trainable weights: no gradient moves them, only training-mode forward passes
(`Layer.state_updates`), and `predict`/`evaluate` use them.

The backward pass in training mode is not the obvious one, because mu and var depend on
every x of the batch (docs/backprop.md derives it). With m values per feature,
x_hat = (x - mu) / sqrt(var + eps) and sums over the reduced axes:

    dL/dgamma = sum(dy * x_hat)        dL/dbeta = sum(dy)
    dL/dx = gamma / sqrt(var + eps) / m * (m dy - sum(dy) - x_hat * sum(dy * x_hat))

In inference mu and var are constants, and dL/dx = dy * inv.
`batch_norm_backward_staged` below is the teaching twin: the same gradient taken one
operation at a time through the forward graph, with loops over the features; the tests
hold the fast formula to it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import initializers, regularizers
from .base import Layer, _fmt_shape, regularizer_arg

Array = np.ndarray


def _number(value, argument: str, owner: Layer, low: float, high: float | None = None,
            low_open: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        bound = f"> {low}" if low_open else (f"in [{low}, {high}]" if high is not None
                                             else f">= {low}")
        raise ValueError(f"{type(owner).__name__} '{owner.name}': {argument} must be a number "
                         f"{bound}, got {value!r}")
    return value


class BatchNormalization(Layer):
    """Normalise each feature over the batch; see the module docstring for the math.

    Shapes: x (N, ..., C) -> y of the same shape; gamma "gamma", beta "beta",
    "moving_mean", "moving_variance" (C,), C = x.shape[axis]. Weights in Keras's order
    [gamma, beta, moving_mean, moving_variance] (gamma only with scale=True, beta only
    with center=True); the last two are non-trainable.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True,
                 beta_initializer: str | Callable = "zeros",
                 gamma_initializer: str | Callable = "ones",
                 moving_mean_initializer: str | Callable = "zeros",
                 moving_variance_initializer: str | Callable = "ones",
                 beta_regularizer=None, gamma_regularizer=None,
                 name: str | None = None, input_shape: tuple | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"BatchNormalization '{self.name}': axis must be an int (one "
                             f"axis), got {axis!r}")
        for flag, value in (("center", center), ("scale", scale)):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"BatchNormalization '{self.name}': {flag} must be True or "
                                 f"False, got {value!r}")
        self.axis = int(axis)
        self.momentum = _number(momentum, "momentum", self, 0.0, 1.0)
        self.epsilon = _number(epsilon, "epsilon", self, 0.0, low_open=True)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizer_arg(beta_regularizer, "beta_regularizer", self)
        self.gamma_regularizer = regularizer_arg(gamma_regularizer, "gamma_regularizer", self)

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        if rank < 2 or not -rank < self.axis < rank or self.axis == 0 or self.axis == -rank:
            raise ValueError(f"BatchNormalization '{self.name}': axis {self.axis} is not a "
                             f"feature axis of inputs {_fmt_shape(tuple(input_shape))} (the "
                             "batch axis 0 cannot be normalised over itself)")
        self.feature_axis = self.axis % rank
        size = input_shape[self.feature_axis]
        if size is None:
            raise ValueError(f"BatchNormalization '{self.name}' needs the size of axis "
                             f"{self.axis} known, got inputs {_fmt_shape(tuple(input_shape))}")
        self.reduced_axes = tuple(a for a in range(rank) if a != self.feature_axis)
        if self.scale:
            self.add_weight("gamma", (size,), self.gamma_initializer, self.gamma_regularizer)
        if self.center:
            self.add_weight("beta", (size,), self.beta_initializer, self.beta_regularizer)
        self.add_weight("moving_mean", (size,), self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", (size,), self.moving_variance_initializer,
                        trainable=False)
        super().build(input_shape)

    def check_input(self, x: Array) -> None:
        expected = self.input_shape
        if x.ndim != len(expected) or x.shape[self.feature_axis] != expected[self.feature_axis]:
            raise ValueError(f"BatchNormalization '{self.name}' expects inputs "
                             f"{_fmt_shape(expected)}, got {x.shape}")

    def _per_feature(self, v: Array, ndim: int) -> Array:
        """A (C,) vector shaped to broadcast along the feature axis of a rank-ndim x."""
        shape = [1] * ndim
        shape[self.feature_axis] = v.size
        return v.reshape(shape)

    def _reduce(self, a: Array) -> Array:
        """Sum over the reduced axes, accumulated in float64, as the (C,) vector in a's
        dtype (NumPy's float32 sums over a long batch axis lose digits as they go)."""
        return np.add.reduce(a, axis=self.reduced_axes, dtype=np.float64).astype(a.dtype)

    def forward(self, x: Array, training: bool = False) -> Array:
        dtype = x.dtype.type
        gamma = self.params.get("gamma")
        beta = self.params.get("beta")
        if training:
            m = x.size // x.shape[self.feature_axis]             # values per feature
            mean = self._reduce(x) / dtype(m)                    # (C,)
            centered = x - self._per_feature(mean, x.ndim)
            var = self._reduce(centered * centered) / dtype(m)   # (C,) biased, as TF
            momentum, keep = dtype(self.momentum), dtype(1.0 - self.momentum)
            self.state_updates = {
                "moving_mean": self.state["moving_mean"] * momentum + mean * keep,
                "moving_variance": self.state["moving_variance"] * momentum + var * keep}
        else:
            mean, var = self.state["moving_mean"], self.state["moving_variance"]
        rstd = 1 / np.sqrt(var + dtype(self.epsilon))            # (C,) 1 / sqrt(var + eps)
        inv = rstd * gamma if gamma is not None else rstd
        shift = (beta - mean * inv) if beta is not None else -mean * inv
        self.x, self.mean, self.rstd, self.inv, self.training = x, mean, rstd, inv, training
        return x * self._per_feature(inv, x.ndim) + self._per_feature(shift, x.ndim)

    def backward(self, dy: Array) -> Array:
        # dL/dbeta = sum(dy); dL/dgamma = sum(dy * x_hat), x_hat = (x - mu) * rstd.
        n = dy.ndim
        x_hat = (self.x - self._per_feature(self.mean, n)) * self._per_feature(self.rstd, n)
        sum_dy = self._reduce(dy)                                         # (C,)
        sum_dy_xhat = self._reduce(dy * x_hat)                            # (C,)
        if "beta" in self.grads:
            self.grads["beta"][...] = sum_dy
        if "gamma" in self.grads:
            self.grads["gamma"][...] = sum_dy_xhat
        if not self.input_grad_needed:
            return None
        inv = self._per_feature(self.inv, n)                              # gamma * rstd
        if not self.training:                 # mu, var are the moving constants
            return dy * inv
        # Training: mu and var depend on x too (docs/backprop.md):
        #   dL/dx = inv / m * (m dy - sum(dy) - x_hat * sum(dy * x_hat))
        m = dy.dtype.type(dy.size // dy.shape[self.feature_axis])
        return (inv / m) * (m * dy - self._per_feature(sum_dy, n)
                            - x_hat * self._per_feature(sum_dy_xhat, n))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(
                    self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer)}


# -- the teaching twin ------------------------------------------------------------------------
def batch_norm_backward_staged(dy: Array, x: Array, gamma: Array, epsilon: float
                               ) -> tuple[Array, Array, Array]:
    """(dL/dx, dL/dgamma, dL/dbeta) of training-mode batch normalization over axis 0 of a
    2-D x (N, C), taken one operation at a time back through the forward graph

        mu = sum_n x / N;  d = x - mu;  var = sum_n d^2 / N;  s = sqrt(var + eps)
        x_hat = d / s;  y = gamma x_hat + beta

    feature by feature, with loops. Slow and plain: the oracle for the closed form in
    BatchNormalization.backward (images reshape (N, H, W, C) to (N*H*W, C) first)."""
    n, c = x.shape
    dx, dgamma, dbeta = np.zeros_like(x), np.zeros(c), np.zeros(c)
    for j in range(c):
        col, g = x[:, j], dy[:, j]
        mu = sum(col) / n
        d = [v - mu for v in col]
        var = sum(v * v for v in d) / n
        s = (var + epsilon) ** 0.5
        x_hat = [v / s for v in d]
        dbeta[j] = sum(g)                                     # y = ... + beta
        dgamma[j] = sum(gi * xi for gi, xi in zip(g, x_hat))  # y = gamma x_hat + ...
        dx_hat = [gi * gamma[j] for gi in g]
        # x_hat = d / s: d reaches dL through x_hat directly and through s (via var).
        ds = sum(-dxh * dv / (s * s) for dxh, dv in zip(dx_hat, d))
        dvar = ds / (2 * s)                                   # s = sqrt(var + eps)
        dd = [dxh / s + dvar * 2 * dv / n for dxh, dv in zip(dx_hat, d)]
        dmu = -sum(dd)                                        # d = x - mu
        for i in range(n):
            dx[i, j] = dd[i] + dmu / n                        # mu = sum x / N
    return dx, dgamma, dbeta
