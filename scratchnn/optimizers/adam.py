"""Adam and AdamW, Keras's forms (keras/src/optimizers/adam.py, adamw.py)."""

from __future__ import annotations

import numpy as np

from .base import LearningRate, Optimizer, check_bool, check_number

Array = np.ndarray


def update_moments(g: Array, m: Array, v: Array, a: Array, step: dict) -> None:
    """Adam's (and Nadam's) moment estimates, in place, in Keras's order; `a` is scratch:

        m <- m + (g - m)(1 - beta_1)        v <- v + (g^2 - v)(1 - beta_2)"""
    np.subtract(g, m, out=a)
    a *= step["one_minus_beta_1"]
    m += a
    np.multiply(g, g, out=a)
    a -= v
    a *= step["one_minus_beta_2"]
    v += a


class Adam(Optimizer):
    """Adam, in Keras's form (bias correction folded into the step size):

        t = iterations + 1
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        m <- m + (g - m)(1 - beta_1)
        v <- v + (g^2 - v)(1 - beta_2)          (amsgrad: vhat <- max(vhat, v), used for v)
        w <- w - m alpha / (sqrt(v) + epsilon)

    epsilon is added to sqrt of the UNcorrected v; the textbook form (epsilon on
    sqrt(v_hat)) drifts from Keras: 2.2e-3 after 20 steps at lr 0.1 on the gradients of
    tests/test_optimizers.py (7e-4 already after 3), a gap that grows with lr and as the
    gradients come closer to epsilon (notebooks/04_optimizers.ipynb measures it). beta^t uses
    ops.cast(beta) (a float32 first); 1 - beta is a Python float64, then cast.
    """

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "adam") -> None:
        super().__init__(learning_rate, name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)
        kind = type(self).__name__
        self.beta_1 = check_number(kind, "beta_1", beta_1, minimum=0, maximum=1)
        self.beta_2 = check_number(kind, "beta_2", beta_2, minimum=0, maximum=1)
        self.epsilon = check_number(kind, "epsilon", epsilon, minimum=0)
        self.amsgrad = check_bool(kind, "amsgrad", amsgrad)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentums", "velocities")] + ([("velocity_hats",)] if self.amsgrad else [])

    def step_constants(self, dtype) -> dict:
        # NumPy scalars of `dtype` (the same arithmetic as 0-d arrays, a tenth of the cost).
        scalar = np.dtype(dtype).type
        lr = scalar(self.learning_rate)
        t = scalar(self.iterations + 1)
        beta_1_power = scalar(np.float32(self.beta_1)) ** t        # keras_cast, as a scalar
        beta_2_power = scalar(np.float32(self.beta_2)) ** t
        return {"alpha": lr * np.sqrt(scalar(1) - beta_2_power) / (scalar(1) - beta_1_power),
                # 1 - beta is formed in Python float64, then cast: bit-exact with Keras.
                "one_minus_beta_1": scalar(1 - self.beta_1),
                "one_minus_beta_2": scalar(1 - self.beta_2),
                "epsilon": scalar(self.epsilon)}

    elementwise = True                 # (Optimizer.updates_in_pieces)

    def update_step(self, g, w, step, scratch, *slots) -> None:
        m, v = slots[0], slots[1]
        a, b = scratch                                 # two buffers shaped like w
        update_moments(g, m, v, a, step)
        if self.amsgrad:
            v_hat = slots[2]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.multiply(m, step["alpha"], out=a)           # m alpha
        np.sqrt(v, out=b)
        b += step["epsilon"]                           # sqrt(v) + epsilon
        a /= b
        w -= a                                         # w <- w - m alpha / (sqrt(v) + eps)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter): Adam plus decoupled weight decay, which in Keras 3 is
    nothing but Adam with the base option weight_decay set (default 0.004). Each step:

        w <- w - (w * weight_decay) * lr          (before the Adam update, on the
                                                   weights as they were)
        then Adam's update, from the same gradient.

    The decay is not scaled by Adam's bias correction nor by the gradient: it shrinks
    every weight by the same factor weight_decay * lr (weights left out with
    `exclude_from_weight_decay` keep theirs). Keras names it "adam_w".
    """

    def __init__(self, learning_rate: LearningRate = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "adam_w") -> None:
        if weight_decay is None:                       # Keras's own check
            raise ValueError("AdamW: weight_decay must be a float, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name)
