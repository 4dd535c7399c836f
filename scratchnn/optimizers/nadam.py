"""Nadam, Keras's form (keras/src/optimizers/nadam.py)."""

from __future__ import annotations

import numpy as np

from .adam import update_moments
from .base import LearningRate, Optimizer, check_number


class Nadam(Optimizer):
    """Nadam (Dozat, 2015): Adam with Nesterov momentum, and a momentum schedule.

    Once per step, before any weight is updated (Keras's `_backend_update_step`):

        t = iterations + 1
        u_t = beta_1 (1 - 0.5 * 0.96^t)            the scheduled momentum of step t
        u_product <- u_product * u_t               (starts at 1: the product u_1 ... u_t)

    then for every weight:

        m <- m + (g - m)(1 - beta_1)
        v <- v + (g^2 - v)(1 - beta_2)
        m_hat = u_{t+1} m / (1 - u_product u_{t+1}) + (1 - u_t) g / (1 - u_product)
        v_hat = v / (1 - beta_2^t)
        w <- w - m_hat lr / (sqrt(v_hat) + epsilon)

    u_product is a scalar of state: Keras lists it LAST in `optimizer.variables`, after
    the momentums and velocities, and saves it with them.

    Keras's arithmetic, which differs in the last bit from Adam's: in the update, beta_1,
    beta_2 and 0.96 are ops.cast (a float32 first) and 1 - beta_1 is computed in the
    weights' dtype; in u_product's update beta_1 and 0.96 are Python floats (exact).
    """

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str = "nadam") -> None:
        super().__init__(learning_rate, name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)
        self.beta_1 = check_number("Nadam", "beta_1", beta_1, minimum=0, maximum=1)
        self.beta_2 = check_number("Nadam", "beta_2", beta_2, minimum=0, maximum=1)
        self.epsilon = check_number("Nadam", "epsilon", epsilon, minimum=0)

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentums", "velocities")]

    def scalar_slots(self) -> dict[str, float]:
        return {"u_product": 1.0}

    @property
    def u_product(self) -> np.ndarray | None:
        """The product of the scheduled momentums so far (None before the first step)."""
        return self._scalars.get("u_product")

    def step_constants(self, dtype) -> dict:
        scalar = np.dtype(dtype).type
        # u_product advances first, in its own dtype, with Python-float constants.
        u_product = self._scalars["u_product"]
        p = u_product.dtype.type
        t_p = p(self.iterations + 1)
        u_product[...] = u_product * p(self.beta_1) * (p(1.0) - p(0.5) * p(0.96) ** t_p)
        # Then the per-weight constants, with ops.cast constants.
        t, t_next = scalar(self.iterations + 1), scalar(self.iterations + 2)
        beta_1, beta_2 = scalar(np.float32(self.beta_1)), scalar(np.float32(self.beta_2))
        decay = scalar(np.float32(0.96))
        u_t = beta_1 * (scalar(1.0) - scalar(0.5) * decay ** t)
        u_t_1 = beta_1 * (scalar(1.0) - scalar(0.5) * decay ** t_next)
        u_product_t = scalar(u_product)
        u_product_t_1 = u_product_t * u_t_1
        one = scalar(1)
        return {"lr": scalar(self.learning_rate), "epsilon": scalar(self.epsilon),
                "one_minus_beta_1": one - beta_1, "one_minus_beta_2": one - beta_2,
                "u_t_1": u_t_1, "one_minus_u_product_t_1": one - u_product_t_1,
                "one_minus_u_t": one - u_t, "one_minus_u_product_t": one - u_product_t,
                "one_minus_beta_2_power": one - beta_2 ** t}

    elementwise = True                 # (Optimizer.updates_in_pieces)

    def update_step(self, g, w, step, scratch, *slots) -> None:
        m, v = slots
        a, b = scratch
        update_moments(g, m, v, a, step)               # m, v as Adam's
        np.multiply(m, step["u_t_1"], out=a)
        a /= step["one_minus_u_product_t_1"]           # u_{t+1} m / (1 - u_product u_{t+1})
        np.multiply(g, step["one_minus_u_t"], out=b)
        b /= step["one_minus_u_product_t"]             # (1 - u_t) g / (1 - u_product)
        a += b                                         # m_hat
        a *= step["lr"]                                # m_hat lr
        np.divide(v, step["one_minus_beta_2_power"], out=b)
        np.sqrt(b, out=b)
        b += step["epsilon"]                           # sqrt(v_hat) + epsilon
        a /= b
        w -= a

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
