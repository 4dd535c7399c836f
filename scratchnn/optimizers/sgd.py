"""SGD, Keras's form (keras/src/optimizers/sgd.py)."""

from __future__ import annotations

import numpy as np

from .base import LearningRate, Optimizer, check_bool, check_number, keras_cast


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

        plain:     w <- w - lr g
        momentum:  m <- mu m - lr g;   w <- w + m
        nesterov:  m <- mu m - lr g;   w <- w + mu m - lr g

    mu is Keras's ops.cast(momentum) (a float32 first: see keras_cast).
    """

    def __init__(self, learning_rate: LearningRate = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "sgd") -> None:
        super().__init__(learning_rate, name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)
        self.momentum = check_number("SGD", "momentum", momentum, minimum=0, maximum=1)
        self.nesterov = check_bool("SGD", "nesterov", nesterov)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentums",)] if self.momentum else []

    elementwise = True                 # (Optimizer.updates_in_pieces)

    def update_step(self, g, w, step, scratch, *slots) -> None:
        lr_g = np.multiply(g, step["lr"], out=scratch[0])          # lr g
        if not self.momentum:
            w -= lr_g
            return
        (m,) = slots
        mu = keras_cast(self.momentum, w.dtype)
        m *= mu
        m -= lr_g                                      # m <- mu m - lr g
        if self.nesterov:
            nesterov = np.multiply(m, mu, out=scratch[1])
            nesterov -= lr_g                           # mu m - lr g
            w += nesterov
        else:
            w += m

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
