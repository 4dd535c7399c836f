"""Adagrad, Keras's form (keras/src/optimizers/adagrad.py)."""

from __future__ import annotations

import numpy as np

from .base import LearningRate, Optimizer, check_number, keras_cast


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): each weight's step shrinks with the squared
    gradients it has seen.

        acc <- acc + g^2                          (acc starts at initial_accumulator_value)
        w   <- w - lr g / sqrt(acc + epsilon)

    Keras's order: the accumulator is updated first, so the step already uses this g.
    Epsilon sits inside the square root (as in RMSprop). The accumulators start from
    Keras's Constant initializer: ops.cast(initial_accumulator_value), a float32 first.
    """

    def __init__(self, learning_rate: LearningRate = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "adagrad") -> None:
        super().__init__(learning_rate, name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)
        self.initial_accumulator_value = check_number(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, minimum=0)
        self.epsilon = check_number("Adagrad", "epsilon", epsilon, minimum=0)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("accumulators",)]

    def slot_initial_value(self, name: str, dtype) -> np.ndarray:
        return keras_cast(self.initial_accumulator_value, dtype)

    def step_constants(self, dtype) -> dict:
        scalar = np.dtype(dtype).type
        return {"lr": scalar(self.learning_rate), "epsilon": scalar(self.epsilon)}

    elementwise = True                 # (Optimizer.updates_in_pieces)

    def update_step(self, g, w, step, scratch, *slots) -> None:
        (acc,) = slots
        a, b = scratch
        np.multiply(g, g, out=a)
        acc += a                                       # acc <- acc + g^2
        np.add(acc, step["epsilon"], out=b)
        np.sqrt(b, out=b)                              # sqrt(acc + epsilon)
        np.multiply(g, step["lr"], out=a)              # lr g
        a /= b
        w -= a                                         # w <- w - lr g / sqrt(acc + eps)

    def get_config(self) -> dict:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
