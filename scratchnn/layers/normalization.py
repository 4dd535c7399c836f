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

Frozen (`trainable=False`), the layer runs in inference mode even in training, as Keras 3
does (its call normalizes with the batch's statistics only when `training and
self.trainable`): the moving statistics are used and not updated, gamma and beta get no
gradients, and dL/dx = dy * inv.
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
    with center=True); the last two are non-trainable. The attributes `gamma`, `beta`,
    `moving_mean` and `moving_variance` are the live arrays (None before build, and gamma
    or beta None without scale or center), as in Keras.
    """

    KERAS_ONLY_ARGUMENTS = {"beta_constraint": (None,), "gamma_constraint": (None,),
                            "renorm": (False,), "renorm_clipping": (None,),
                            "renorm_momentum": (0.99,), "synchronized": (False,)}

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
        self._ones: Array | None = None          # the ones vector of _column_sums

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

    @property
    def gamma(self) -> Array | None:
        return self.params.get("gamma")

    @property
    def beta(self) -> Array | None:
        return self.params.get("beta")

    @property
    def moving_mean(self) -> Array | None:
        return self.state.get("moving_mean")

    @property
    def moving_variance(self) -> Array | None:
        return self.state.get("moving_variance")

    def check_input(self, x: Array) -> None:
        expected = self.input_shape
        if x.ndim != len(expected) or x.shape[self.feature_axis] != expected[self.feature_axis]:
            raise ValueError(f"BatchNormalization '{self.name}' expects inputs "
                             f"{_fmt_shape(expected)}, got {x.shape}")

    # -- the (M, C) layout: one row per normalised position, one column per feature ----
    def _rows(self, a: Array) -> Array:
        """a as (M, C): a view when the features are the last axis (the usual case), a
        copy with that axis moved last otherwise."""
        if self.feature_axis != a.ndim - 1:
            a = np.moveaxis(a, self.feature_axis, -1)
        return a.reshape(-1, a.shape[-1])

    def _unrows(self, a2: Array, shape: tuple) -> Array:
        """The inverse of _rows: (M, C) back to `shape`."""
        if self.feature_axis == len(shape) - 1:
            return a2.reshape(shape)
        moved = (*shape[:self.feature_axis], *shape[self.feature_axis + 1:],
                 shape[self.feature_axis])
        return np.moveaxis(a2.reshape(moved), -1, self.feature_axis)

    def _column_sums(self, a2: Array) -> Array:
        """sum over the M rows of a2, per feature (C,): the matrix-vector product
        ones(M) @ a2, one BLAS call (np.sum over the first axis adds the M rows one
        after another, measured 20x slower for a batch of 32 28x28x16 images)."""
        if self._ones is None or self._ones.size != a2.shape[0] or self._ones.dtype != a2.dtype:
            self._ones = np.ones(a2.shape[0], a2.dtype)
        return self._ones @ a2

    def forward(self, x: Array, training: bool = False) -> Array:
        training = training and self.trainable        # frozen: inference mode, as Keras
        dtype = x.dtype.type
        gamma = self.params.get("gamma")
        beta = self.params.get("beta")
        x2 = self._rows(x)                                            # (M, C)
        if training:
            m = dtype(x2.shape[0])                                   # values per feature
            mean = self._column_sums(x2) / m                         # (C,)
            centered = x2 - mean                                     # (M, C)
            y2 = np.multiply(centered, centered)                     # (M, C), reused below
            var = self._column_sums(y2) / m                          # (C,) biased, as TF
            momentum, keep = dtype(self.momentum), dtype(1.0 - self.momentum)
            self.state_updates = {
                "moving_mean": self.state["moving_mean"] * momentum + mean * keep,
                "moving_variance": self.state["moving_variance"] * momentum + var * keep}
        else:
            mean, var = self.state["moving_mean"], self.state["moving_variance"]
            centered, y2 = None, np.empty_like(x2)
        rstd = 1 / np.sqrt(var + dtype(self.epsilon))                # (C,) 1 / sqrt(var + eps)
        inv = rstd * gamma if gamma is not None else rstd            # (C,) gamma / sqrt(...)
        if training:                           # y = (x - mu) * inv + beta
            np.multiply(centered, inv, out=y2)
        else:                                  # y = x * inv + (beta - mu * inv), as TF
            np.multiply(x2, inv, out=y2)
            y2 -= mean * inv
        if beta is not None:
            y2 += beta
        # Kept for backward: x - mu in training; in inference the input itself (a view).
        self.training_pass, self.x_shape = training, x.shape
        self.centered, self.x2 = centered, (None if training else x2)
        self.rstd, self.inv = rstd, inv
        return self._unrows(y2, x.shape)

    def backward(self, dy: Array) -> Array:
        dy2 = self._rows(dy)                                          # (M, C)
        learns = self.trainable               # frozen: no gradients for gamma and beta
        if not self.training_pass:
            sum_dy = self._column_sums(dy2) if self.params and learns else None
            if "beta" in self.grads and learns:
                self.grads["beta"][...] = sum_dy                      # dL/dbeta = sum(dy)
            if "gamma" in self.grads and learns:
                x_hat = (self.x2 - self.state["moving_mean"]) * self.rstd
                self.grads["gamma"][...] = self._column_sums(dy2 * x_hat)
            if not self.input_grad_needed:
                return None
            return self._unrows(dy2 * self.inv, self.x_shape)          # mu, var: constants
        # Training. x_hat = c * rstd with c = x - mu; S = sum(dy * c):
        #   dL/dbeta = sum(dy),  dL/dgamma = sum(dy * x_hat) = rstd * S
        #   dL/dx = inv / m * (m dy - sum(dy) - x_hat * sum(dy * x_hat))
        #         = inv * dy - c * (inv * rstd^2 * S / m) - inv * sum(dy) / m
        c = self.centered
        sum_dy = self._column_sums(dy2)                               # (C,)
        scratch = np.multiply(dy2, c)                                 # (M, C)
        s = self._column_sums(scratch)                                # (C,) sum(dy * c)
        if "beta" in self.grads:
            self.grads["beta"][...] = sum_dy
        if "gamma" in self.grads:
            self.grads["gamma"][...] = s * self.rstd
        if not self.input_grad_needed:
            return None
        m = dy.dtype.type(dy2.shape[0])
        dx2 = np.multiply(dy2, self.inv)
        dx2 -= np.multiply(c, self.inv * self.rstd * self.rstd * s / m, out=scratch)
        dx2 -= self.inv * sum_dy / m
        return self._unrows(dx2, self.x_shape)

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
