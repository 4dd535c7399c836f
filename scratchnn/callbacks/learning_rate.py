"""LearningRateScheduler (Keras's `learning_rate_scheduler.py`)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .base import Callback


class LearningRateScheduler(Callback):
    """At the start of every epoch (epoch 0 too): lr = schedule(epoch, lr), or
    schedule(epoch) for one-argument schedules. Logs the rate as "learning_rate".

    The rate moves once per epoch. For a rate that moves every step, give the optimizer
    a learning-rate schedule instead (optimizers.schedules): the two do not mix. As in
    Keras 3.15, with such an optimizer the callback fails at the start of the first
    epoch, when it assigns its float: the optimizer's TypeError ("This optimizer was
    created with a `LearningRateSchedule` object as its `learning_rate` constructor
    argument, hence its learning rate is not settable. ..."), before any step."""

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:                      # a one-argument schedule, as Keras allows
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
