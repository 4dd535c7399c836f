"""Keras 3's optimizers with their exact update rules, updating weights in place.

    opt.apply(grads, params)   # params: the live arrays of model.weights; updated in place

    sgd.py      SGD (momentum, Nesterov)        adagrad.py  Adagrad
    adam.py     Adam (amsgrad), AdamW           adamax.py   Adamax
    rmsprop.py  RMSprop (centered, momentum)    nadam.py    Nadam
    base.py     Optimizer: one step in Keras's order (clip, weight decay, update), and
                the options every optimizer takes: weight_decay, clipnorm,
                global_clipnorm, clipvalue
    clipping.py Keras's three clipping rules, with TensorFlow's order of summation
    saved_state.py  restoring `variables` from a file
    schedules.py    learning-rate schedules (ExponentialDecay, CosineDecay, ...): any
                optimizer's learning_rate may be one; the rate then moves every step
    tf_scalar_math.py  the float32 pow/cos/log TensorFlow computes them with (glibc's)
    checks.py   argument checks shared by the optimizers and schedules

State ("slots": momenta, velocities) is created on the first `apply`, one slot per
parameter, matched by POSITION in the list, as Keras matches variables by index.
Arithmetic happens in the parameters' dtype (float32 by default), like Keras.

One flat buffer per kind of slot
--------------------------------
Each kind of slot (e.g. Adam's momentums) lives in ONE flat array holding every
parameter's slot end to end; `opt.momentums[i]` is a view of parameter i's part.
The update rules are elementwise, so they can run per parameter (`apply`, the plain
form) or over all parameters at once (`apply_flat`, used by fit: Sequential keeps
its weights and gradients in flat buffers laid out the same way). Both give the same
bits; the flat form runs each NumPy operation once per step instead of once per
parameter, and writes into scratch buffers instead of allocating temporaries. What is
not elementwise (a gradient's norm for clipnorm) runs on the per-parameter views.
"""

from __future__ import annotations

from . import schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .base import Optimizer, keras_cast
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam",
           "get", "keras_cast", "schedules"]

# Keras resolves a name by its class name, in any case: "adam", "AdamW", "nadam", ...
_BY_NAME = {cls.__name__.lower(): cls
            for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, Nadam)}


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimizer from a Keras name ("sgd", "adam", "adamw", "rmsprop", "adagrad",
    "adamax", "nadam", in any case) with its defaults, or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(_BY_NAME)} "
                     "or a scratchnn.optimizers.Optimizer instance")
