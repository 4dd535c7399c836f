"""Keras twins of scratchnn optimizers (for to_keras and the parity tests)."""

from __future__ import annotations

import keras

import scratchnn as snn


def keras_optimizer(opt: snn.optimizers.Optimizer):
    """The Keras optimizer with the same class and hyper-parameters as a scratchnn one."""
    cfg = opt.get_config()
    lr = float(opt.learning_rate)
    if isinstance(opt, snn.optimizers.Adam):
        return keras.optimizers.Adam(learning_rate=lr, beta_1=cfg["beta_1"], beta_2=cfg["beta_2"],
                                     epsilon=cfg["epsilon"], amsgrad=cfg["amsgrad"])
    if isinstance(opt, snn.optimizers.SGD):
        return keras.optimizers.SGD(learning_rate=lr, momentum=cfg["momentum"],
                                    nesterov=cfg["nesterov"])
    if isinstance(opt, snn.optimizers.RMSprop):
        return keras.optimizers.RMSprop(learning_rate=lr, rho=cfg["rho"], momentum=cfg["momentum"],
                                        epsilon=cfg["epsilon"], centered=cfg["centered"])
    raise TypeError(f"to_keras: no Keras twin for optimizer {type(opt).__name__}")
