"""Callbacks: hooks into fit/evaluate/predict, with Keras's protocol and behaviour.

The hooks a callback may define (all optional):
    on_train_begin/end(logs), on_epoch_begin/end(epoch, logs),
    on_train_batch_begin/end(batch, logs), on_test_begin/end(logs),
    on_predict_begin/end(logs)
A callback stops training by setting `self.model.stop_training = True`.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from typing import Callable

import numpy as np


class Callback:
    """Base class; `self.model` is set by fit, `self.params` holds epochs/steps/verbose."""

    def __init__(self) -> None:
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class CallbackList:
    """The callbacks of one fit/evaluate call; `call(hook, *args)` runs a hook on each, in order."""

    def __init__(self, callbacks, model, params: dict) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be scratchnn.callbacks.Callback instances, "
                                f"got {cb!r}")
            cb.set_model(model)
            cb.set_params(params)

    def call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def hooked(self, hook: str) -> bool:
        """True when some callback overrides `hook` (the base class's hooks do nothing),
        so fit can skip per-batch calls, and the logs they take, when nobody listens."""
        return any(getattr(type(cb), hook, None) is not getattr(Callback, hook)
                   or hook in vars(cb) for cb in self.callbacks)


class History(Callback):
    """Records the epoch logs: `history.history["loss"]` is one float per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class LearningRateScheduler(Callback):
    """At the start of every epoch (epoch 0 too): lr = schedule(epoch, lr), or
    schedule(epoch) for one-argument schedules. Logs the rate as "learning_rate"."""

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


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs (Keras 3.15's rules).

    Each epoch: wait += 1; an improvement (current + |min_delta| < best in min mode)
    records best (and best weights) and, if baseline is None or beaten, resets wait
    to 0; otherwise training stops once wait >= patience (never at epoch 0).
    With restore_best_weights, the best weights are restored at the end of training,
    whether or not it stopped early (Keras 3.15 does the same).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        self.monitor, self.mode = monitor, mode
        self.min_delta = abs(min_delta)
        self.patience, self.verbose = patience, verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait, self.stopped_epoch = 0, 0
        self.best, self.best_weights, self.best_epoch = None, None, 0
        self._higher_is_better: bool | None = None

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch = 0, 0
        self.best, self.best_weights, self.best_epoch = None, None, 0

    def _direction_is_up(self) -> bool:
        if self.mode != "auto":
            return self.mode == "max"
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            return False
        for metric in getattr(self.model, "compiled_metrics", []):
            if metric.name == name:
                return metric.direction == "up"
        raise ValueError(f"EarlyStopping callback received monitor={self.monitor}, but scratchnn "
                         "isn't able to automatically determine whether that metric should be "
                         "maximized or minimized. Pass `mode='max'` or `mode='min'`.")

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self._higher_is_better:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_epoch_end(self, epoch, logs=None):
        if self._higher_is_better is None:
            self._higher_is_better = self._direction_is_up()
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}",
                          stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class LambdaCallback(Callback):
    """A callback from plain functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    def __init__(self, **hooks: Callable) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)


# -- progress output ---------------------------------------------------------------------
def _format_value(value: float) -> str:
    return f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"


def _format_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_per_step(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class Progbar:
    """Keras's progress line: `1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - loss: 0.5071`.

    verbose=1 redraws one line in a terminal (only the final line elsewhere);
    verbose=2 prints one summary line per epoch."""

    WIDTH = 20

    def __init__(self, target: int, verbose: int = 1, stream=None) -> None:
        self.target, self.verbose = target, verbose
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, step: int, values: dict[str, float], finalize: bool = False) -> None:
        now = time.perf_counter()
        elapsed = now - self.start
        metrics = "".join(f" - {k}: {_format_value(v)}" for k, v in values.items())
        if self.verbose == 2:
            if finalize:
                self.stream.write(f"{step}/{self.target} - {_format_time(elapsed)} - "
                                  f"{_format_per_step(elapsed / max(step, 1))}{metrics}\n")
            return
        if not finalize and (not self.interactive or now - self.last_draw < 0.1):
            return
        self.last_draw = now
        done = int(self.WIDTH * step / self.target) if self.target else self.WIDTH
        bar = "━" * done + " " * (self.WIDTH - done)
        if finalize:
            timing = f"{_format_time(elapsed)} {_format_per_step(elapsed / max(step, 1))}"
        else:
            eta = elapsed / max(step, 1) * (self.target - step)
            timing = f"{_format_time(eta)} ETA"
        line = f"{step}/{self.target} {bar} {timing}{metrics}"
        self.stream.write(("\r" if self.interactive else "") + line + ("\n" if finalize else ""))
        self.stream.flush()


class ProgbarLogger(Callback):
    """Prints `Epoch e/E` and a progress bar for fit (added by fit when verbose > 0)."""

    def __init__(self, verbose: int = 1) -> None:
        super().__init__()
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.params['epochs']}")
        self.bar = Progbar(self.params["steps"], self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(self.params["steps"], logs or {}, finalize=True)


def steps_for(n_samples: int, batch_size: int) -> int:
    """ceil(N / batch): the last partial batch is kept."""
    return math.ceil(n_samples / batch_size)
