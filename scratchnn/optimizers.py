"""SGD, Adam and RMSprop with Keras 3's exact update rules, updating weights in place.

    opt.apply(grads, params)   # params: the live arrays of model.weights; updated in place

State ("slots": momenta, velocities) is created on the first `apply`, one slot per
parameter, matched by POSITION in the list, as Keras matches variables by index.
Arithmetic happens in the parameters' dtype (float32 by default), like Keras.
"""

from __future__ import annotations

import numpy as np

from . import config

Array = np.ndarray


def keras_cast(value: float, dtype) -> np.ndarray:
    """A Python-float hyper-parameter as Keras's `ops.cast(value, dtype)` gives it: the
    float becomes a float32 tensor first, so in float64 momentum 0.9 is 0.8999999761581421.
    (Matters only in float64; in float32 it is a plain cast.)"""
    return np.asarray(np.float32(value), dtype=dtype)


class Optimizer:
    """Base class: learning_rate (assignable, kept in floatx), iterations, apply()."""

    def __init__(self, learning_rate: float, name: str) -> None:
        self.name = name
        self.learning_rate = learning_rate
        self.iterations = 0                       # number of apply() calls (batches)
        self._slot_shapes: list[tuple] | None = None

    @property
    def learning_rate(self) -> np.floating:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if isinstance(value, bool) or not np.isscalar(value) or not np.isreal(value):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a float, got {value!r}")
        self._learning_rate = np.asarray(value, dtype=config.floatx())[()]

    def apply(self, grads: list[Array], params: list[Array]) -> None:
        """One step: update every parameter in place from its gradient."""
        if len(grads) != len(params):
            raise ValueError(f"{type(self).__name__}.apply got {len(grads)} gradients for "
                             f"{len(params)} parameters")
        for i, (g, w) in enumerate(zip(grads, params)):
            if g.shape != w.shape:
                raise ValueError(f"{type(self).__name__}.apply: gradient {i} has shape {g.shape}, "
                                 f"parameter has {w.shape}")
        if self._slot_shapes is None:
            self.build(params)
            self._slot_shapes = [w.shape for w in params]
        elif [w.shape for w in params] != self._slot_shapes:
            raise ValueError(f"{type(self).__name__} was built for parameters "
                             f"{self._slot_shapes}, got {[w.shape for w in params]}")
        for i, (g, w) in enumerate(zip(grads, params)):
            self.update_step(i, g.astype(w.dtype, copy=False), w)
        self.iterations += 1

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras's spelling: apply_gradients(zip(grads, params))."""
        grads, params = zip(*grads_and_vars)
        self.apply(list(grads), list(params))

    def build(self, params: list[Array]) -> None:
        """Create the per-parameter state."""

    def update_step(self, index: int, g: Array, w: Array) -> None:
        raise NotImplementedError

    slot_names: tuple[str, ...] = ()     # the per-parameter state lists build() creates

    def variables_count(self) -> int:
        """Scalars of optimizer state (for summary's 'Optimizer params')."""
        return int(sum(slot.size for name in self.slot_names
                       for slot in getattr(self, name, [])))

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": float(self.learning_rate)}


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

        plain:     w <- w - lr g
        momentum:  m <- mu m - lr g;   w <- w + m
        nesterov:  m <- mu m - lr g;   w <- w + mu m - lr g
    """

    slot_names = ("momentums",)

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, name: str = "SGD") -> None:
        super().__init__(learning_rate, name)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, params: list[Array]) -> None:
        self.momentums = [np.zeros_like(w) for w in params] if self.momentum else []

    def update_step(self, index: int, g: Array, w: Array) -> None:
        lr = self.learning_rate.astype(w.dtype)
        if not self.momentum:
            w -= g * lr
            return
        mu = keras_cast(self.momentum, w.dtype)
        m = self.momentums[index]
        m *= mu
        m -= g * lr                                    # m <- mu m - lr g
        if self.nesterov:
            w += m * mu - g * lr
        else:
            w += m


    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam, in Keras's form (bias correction folded into the step size):

        t = iterations + 1
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        m <- m + (g - m)(1 - beta_1)
        v <- v + (g^2 - v)(1 - beta_2)          (amsgrad: vhat <- max(vhat, v), used for v)
        w <- w - m alpha / (sqrt(v) + epsilon)

    epsilon is added to sqrt of the UNcorrected v; the textbook form (epsilon on
    sqrt(v_hat)) drifts from Keras by about 7e-4 after 20 steps.
    """

    slot_names = ("momentums", "velocities", "velocity_hats")

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, name: str = "adam") -> None:
        super().__init__(learning_rate, name)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = amsgrad

    def build(self, params: list[Array]) -> None:
        self.momentums = [np.zeros_like(w) for w in params]
        self.velocities = [np.zeros_like(w) for w in params]
        self.velocity_hats = [np.zeros_like(w) for w in params] if self.amsgrad else []

    def update_step(self, index: int, g: Array, w: Array) -> None:
        dtype = w.dtype
        lr = self.learning_rate.astype(dtype)
        t = np.asarray(self.iterations + 1, dtype)
        beta_1_power = keras_cast(self.beta_1, dtype) ** t
        beta_2_power = keras_cast(self.beta_2, dtype) ** t
        alpha = lr * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m, v = self.momentums[index], self.velocities[index]
        # 1 - beta is formed in Python float64, then cast: bit-exact with Keras in float32.
        m += (g - m) * np.asarray(1 - self.beta_1, dtype)
        v += (g * g - v) * np.asarray(1 - self.beta_2, dtype)
        if self.amsgrad:
            v_hat = self.velocity_hats[index]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        w -= (m * alpha) / (np.sqrt(v) + np.asarray(self.epsilon, dtype))


    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop, Keras's form (and compile()'s default optimizer):

        v <- rho v + (1 - rho) g^2                 (centered: a <- rho a + (1 - rho) g)
        step = lr g / sqrt(v + epsilon)            (centered: sqrt(v - a^2 + epsilon))
        w <- w - step                              (momentum: s <- mu s + step; w <- w - s)

    Note epsilon sits INSIDE the square root here, unlike Adam.
    """

    slot_names = ("velocities", "momentums", "average_gradients")

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, name: str = "rmsprop") -> None:
        super().__init__(learning_rate, name)
        self.rho, self.momentum = float(rho), float(momentum)
        self.epsilon, self.centered = float(epsilon), centered

    def build(self, params: list[Array]) -> None:
        self.velocities = [np.zeros_like(w) for w in params]
        self.momentums = [np.zeros_like(w) for w in params] if self.momentum > 0 else []
        self.average_gradients = [np.zeros_like(w) for w in params] if self.centered else []

    def update_step(self, index: int, g: Array, w: Array) -> None:
        dtype = w.dtype
        lr = self.learning_rate.astype(dtype)
        rho, one_minus_rho = np.asarray(self.rho, dtype), np.asarray(1 - self.rho, dtype)
        v = self.velocities[index]
        v *= rho
        v += one_minus_rho * (g * g)                 # v <- rho v + (1 - rho) g^2
        if self.centered:
            a = self.average_gradients[index]
            a *= rho
            a += one_minus_rho * g
            denominator = v - a * a + np.asarray(self.epsilon, dtype)
        else:
            denominator = v + np.asarray(self.epsilon, dtype)
        step = (lr * g) / np.sqrt(denominator)
        if self.momentum > 0:
            s = self.momentums[index]
            s *= np.asarray(self.momentum, dtype)
            s += step
            w -= s
        else:
            w -= step


    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimizer from a Keras name ("sgd", "adam", "rmsprop") with defaults, or an
    instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(_BY_NAME)} "
                     "or a scratchnn.optimizers.Optimizer instance")
