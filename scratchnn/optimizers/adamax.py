"""Adamax, Keras's form (keras/src/optimizers/adamax.py)."""

from __future__ import annotations

import numpy as np

from .base import LearningRate, Optimizer, check_number


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, section 7.1): Adam with the infinity norm in place of the
    second moment.

        t = iterations + 1
        m <- m + (g - m)(1 - beta_1)
        u <- max(beta_2 u, |g|)
        w <- w - (lr m) / ((1 - beta_1^t)(u + epsilon))

    Keras's arithmetic: beta_1^t uses ops.cast(beta_1) (a float32 first); 1 - beta_1 is a
    Python float64, then cast; beta_2 and epsilon meet tensors as Python floats (exact).
    The bias correction divides (not a folded step size as in Adam).
    """

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "adamax") -> None:
        super().__init__(learning_rate, name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)
        self.beta_1 = check_number("Adamax", "beta_1", beta_1, minimum=0, maximum=1)
        self.beta_2 = check_number("Adamax", "beta_2", beta_2, minimum=0, maximum=1)
        self.epsilon = check_number("Adamax", "epsilon", epsilon, minimum=0)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentums", "norms")]

    def step_constants(self, dtype) -> dict:
        scalar = np.dtype(dtype).type
        t = scalar(self.iterations + 1)
        return {"lr": scalar(self.learning_rate),
                "one_minus_beta_1": scalar(1 - self.beta_1),
                "beta_2": scalar(self.beta_2),
                "one_minus_beta_1_power": scalar(1) - scalar(np.float32(self.beta_1)) ** t,
                "epsilon": scalar(self.epsilon)}

    elementwise = True                 # (Optimizer.updates_in_pieces)

    def update_step(self, g, w, step, scratch, *slots) -> None:
        m, u = slots
        a, b = scratch
        np.subtract(g, m, out=a)
        a *= step["one_minus_beta_1"]
        m += a                                         # m <- m + (g - m)(1 - beta_1)
        u *= step["beta_2"]
        np.abs(g, out=a)
        np.maximum(u, a, out=u)                        # u <- max(beta_2 u, |g|)
        np.multiply(m, step["lr"], out=a)              # lr m
        np.add(u, step["epsilon"], out=b)
        b *= step["one_minus_beta_1_power"]            # (1 - beta_1^t)(u + epsilon)
        a /= b
        w -= a

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
