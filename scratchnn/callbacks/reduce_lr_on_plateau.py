"""ReduceLROnPlateau (Keras's `reduce_lr_on_plateau.py`): divide the learning rate when
the monitored quantity stops improving.

    reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
    model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[reduce_lr])
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .monitor import MonitorCallback


def _check_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"ReduceLROnPlateau: {name} must be an int >= 0, got {value!r}")


def _check_real(value, name: str, low: float, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) \
            or value < low or (high is not None and value >= high):
        expected = f"a number >= {low}" + ("" if high is None else f" and < {high}")
        raise ValueError(f"ReduceLROnPlateau: {name} must be {expected}, got {value!r}")


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by `factor` once `monitor` has not improved for
    `patience` epochs, never going below `min_lr` (Keras 3.15's rules, step by step).

    At every epoch end:
      1. logs["learning_rate"] = the optimizer's current rate (before any reduction), so
         History (and a CSVLogger placed after this callback) records it, as in Keras;
      2. if `monitor` is missing from the logs: warn and do nothing else;
      3. in cooldown (cooldown_counter > 0): cooldown_counter -= 1 and wait = 0;
      4. an improvement (`current + min_delta < best` in min mode, `current - min_delta
         > best` in max mode; any value improves on no best) records best and resets
         wait = 0;
      5. otherwise, unless still in cooldown: wait += 1, and when wait >= patience the
         rate becomes max(lr * factor, min_lr), provided lr > float32(min_lr). A
         reduction starts a cooldown of `cooldown` epochs and resets wait; at min_lr
         nothing is reduced, and wait keeps counting.
    best, wait and the cooldown start afresh at every fit (on_train_begin).

    As Keras does, the comparison in 4 is made in float32 for the Python floats fit
    logs (see monitor.compare_as_keras), and the new rate is computed in Python float64
    from the float32 rate, then stored by the optimizer in its own float type: with
    SGD(0.01) and factor=0.5, verbose=1 prints (blank line first)

        Epoch 5: ReduceLROnPlateau reducing learning rate to 0.004999999888241291.

    With an optimizer whose learning_rate is a schedule (optimizers.schedules), as in
    Keras 3.15: step 1 logs the schedule's rate for the next step (its value at the
    optimizer's `iterations`), and the first reduction raises the optimizer's TypeError
    ("This optimizer was created with a `LearningRateSchedule` object as its
    `learning_rate` constructor argument, hence its learning rate is not settable. ...")
    at that epoch's end, after the epochs before it trained normally.

    monitor: a key of the epoch logs ("val_loss", "loss", "val_accuracy", ...).
    factor: new_lr = lr * factor; 0 <= factor < 1 (Keras refuses factor >= 1.0).
    patience: epochs with no improvement after which the rate is reduced.
    verbose: 0 quiet, > 0 prints the message above at each reduction.
    mode: "min", "max" or "auto" (from the name; see MonitorCallback). An unknown mode
        warns and falls back to "auto", as in Keras.
    min_delta: the smallest change that counts as an improvement (its absolute value).
    cooldown: epochs to wait after a reduction before counting `wait` again.
    min_lr: the lower bound of the rate (>= 0).

    Differences from Keras, all in refusing bad options early, each by its name:
    factor < 0 or NaN, a negative or non-integer patience or cooldown, a negative or NaN
    min_lr or min_delta, a monitor that is not a string, and unknown keyword arguments
    (Keras 3.15 takes **kwargs and silently ignores them, so a misspelt `min_lr` would
    do nothing).
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        if not isinstance(monitor, str):
            raise ValueError(f"ReduceLROnPlateau: monitor must be the name of a logged "
                             f"quantity (a str such as 'val_loss'), got {monitor!r}")
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool) \
                and factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")       # Keras's own message
        _check_real(factor, "factor", 0.0, 1.0)
        _check_int(patience, "patience")
        _check_int(cooldown, "cooldown")
        _check_real(min_lr, "min_lr", 0.0)
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) \
                or math.isnan(min_delta):
            raise ValueError(f"ReduceLROnPlateau: min_delta must be a number, got "
                             f"{min_delta!r}")
        if isinstance(verbose, bool) or not isinstance(verbose, numbers.Integral):
            raise ValueError(f"ReduceLROnPlateau: verbose must be an int (0 quiet, 1 "
                             f"messages), got {verbose!r}")
        super().__init__(monitor, mode, min_delta=min_delta)
        self.factor, self.min_lr = factor, min_lr
        self.patience, self.verbose, self.cooldown = patience, verbose, cooldown
        self.cooldown_counter = 0                  # epochs of cooldown left
        self.wait = 0                              # epochs without improvement

    def _reset(self) -> None:
        self.best, self.cooldown_counter, self.wait = None, 0, 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self._higher_is_better is None:
            self._set_monitor_op()                 # now: the model's metrics are known
        logs = logs or {}                          # (as Keras: an empty dict is not filled)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            raise ValueError("ReduceLROnPlateau needs a compiled model: the model has no "
                             "optimizer whose learning rate it could reduce")
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          "which is not available. Available metrics are: "
                          f"{','.join(logs)}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce_lr(self, optimizer, epoch: int) -> bool:
        """lr <- max(lr * factor, min_lr), if lr is above min_lr; True when it did."""
        old_lr = float(optimizer.learning_rate)
        # Keras compares with np.float32(min_lr); NumPy 2 then compares in float32 (NEP 50).
        if not old_lr > np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True
