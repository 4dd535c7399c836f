"""RMSprop, Keras's form (keras/src/optimizers/rmsprop.py)."""

from __future__ import annotations

import numpy as np

from .base import LearningRate, Optimizer, check_bool, check_number


class RMSprop(Optimizer):
    """RMSprop, Keras's form (and compile()'s default optimizer):

        v <- rho v + (1 - rho) g^2                 (centered: a <- rho a + (1 - rho) g)
        step = lr g / sqrt(v + epsilon)            (centered: sqrt(v - a^2 + epsilon))
        w <- w - step                              (momentum: s <- mu s + step; w <- w - s)

    Note epsilon sits INSIDE the square root here, unlike Adam. Keras's default name
    is "rm_sprop" (its automatic snake_case of the class name).
    """

    def __init__(self, learning_rate: LearningRate = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str = "rm_sprop") -> None:
        super().__init__(learning_rate, name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)
        self.rho = check_number("RMSprop", "rho", rho, minimum=0, maximum=1)
        self.momentum = check_number("RMSprop", "momentum", momentum, minimum=0, maximum=1)
        self.epsilon = check_number("RMSprop", "epsilon", epsilon, minimum=0)
        self.centered = check_bool("RMSprop", "centered", centered)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return ([("velocities",)] + ([("momentums",)] if self.momentum > 0 else [])
                + ([("average_gradients",)] if self.centered else []))

    def step_constants(self, dtype) -> dict:
        return {"lr": self.learning_rate.astype(dtype), "rho": np.asarray(self.rho, dtype),
                "one_minus_rho": np.asarray(1 - self.rho, dtype),
                "epsilon": np.asarray(self.epsilon, dtype),
                "momentum": np.asarray(self.momentum, dtype)}

    elementwise = True                 # (Optimizer.updates_in_pieces)

    def update_step(self, g, w, step, scratch, *slots) -> None:
        a, b = scratch
        names = self.slot_names
        v = slots[names.index("velocities")]
        v *= step["rho"]
        np.multiply(g, g, out=a)
        a *= step["one_minus_rho"]
        v += a                                       # v <- rho v + (1 - rho) g^2
        if self.centered:
            avg = slots[names.index("average_gradients")]
            avg *= step["rho"]
            np.multiply(g, step["one_minus_rho"], out=a)
            avg += a                                 # a <- rho a + (1 - rho) g
            np.multiply(avg, avg, out=b)
            np.subtract(v, b, out=b)
            b += step["epsilon"]                     # v - a^2 + epsilon
        else:
            np.add(v, step["epsilon"], out=b)        # v + epsilon
        np.sqrt(b, out=b)
        np.multiply(g, step["lr"], out=a)
        a /= b                                       # step = lr g / sqrt(...)
        if self.momentum > 0:
            s = slots[names.index("momentums")]
            s *= step["momentum"]
            s += a
            w -= s
        else:
            w -= a

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
