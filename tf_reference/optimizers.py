"""Keras twins of scratchnn optimizers (for to_keras and the parity tests)."""

from __future__ import annotations

import keras

import scratchnn as snn

# scratchnn class -> Keras class of the same name, arguments and defaults.
_TWINS = {snn.optimizers.SGD: keras.optimizers.SGD, snn.optimizers.Adam: keras.optimizers.Adam,
          snn.optimizers.AdamW: keras.optimizers.AdamW,
          snn.optimizers.RMSprop: keras.optimizers.RMSprop,
          snn.optimizers.Adagrad: keras.optimizers.Adagrad,
          snn.optimizers.Adamax: keras.optimizers.Adamax,
          snn.optimizers.Nadam: keras.optimizers.Nadam}


def keras_optimizer(opt: snn.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The Keras optimizer with the same class, hyper-parameters and options (weight_decay,
    clipnorm, global_clipnorm, clipvalue) as a scratchnn one, and the current learning
    rate. Its state starts fresh; weights excluded from weight decay are not carried
    (Keras names them by its own variables: call its exclude_from_weight_decay)."""
    if type(opt) not in _TWINS:
        raise TypeError(f"to_keras: no Keras twin for optimizer {type(opt).__name__}")
    cfg = opt.get_config()
    cfg.pop("name")
    cfg["learning_rate"] = float(opt.learning_rate)
    return _TWINS[type(opt)](**cfg)
