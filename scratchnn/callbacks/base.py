"""The Callback protocol and the list fit calls it through (Keras's `callback.py`,
`callback_list.py`, `lambda_callback.py`).

The hooks a callback may define (all optional):
    on_train_begin/end(logs), on_epoch_begin/end(epoch, logs),
    on_train_batch_begin/end(batch, logs), on_test_begin/end(logs),
    on_predict_begin/end(logs)
(`on_batch_begin/end` are Keras's older names for the train-batch hooks and still work.)
A callback stops training by setting `self.model.stop_training = True`.

Every hook receives `logs` as a keyword argument and always a dict, as in Keras 3: `{}`
where Keras passes no values (the begin hooks), the running metrics at batch and epoch
ends, `{"outputs": ...}` at a predict batch's end. fit calls the test hooks around its
validation, evaluate the test hooks and predict the predict hooks (`callbacks=`).
"""

from __future__ import annotations

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
    def on_batch_begin(self, batch, logs=None): pass     # Keras's alias of on_train_batch_begin
    def on_batch_end(self, batch, logs=None): pass       # Keras's alias of on_train_batch_end
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)


# A hook counts as defined when it or its older alias is overridden.
_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def pythonify_logs(logs: dict | None) -> dict:
    """The logs a hook receives, as Keras's CallbackList hands them over
    (`python_utils.pythonify_logs`): always a dict (`{}` where nothing is passed, never
    None), keys sorted, nested dicts flattened, values made Python floats where they can be
    (NumPy scalars become floats; arrays, such as predict's `outputs`, stay as they are)."""
    result: dict = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        try:
            result[key] = float(value) if np.ndim(value) == 0 else value
        except (TypeError, ValueError):
            result[key] = value
    return result


class CallbackList:
    """The callbacks of one fit/evaluate/predict call, called as Keras's CallbackList calls
    them: `call(hook, *args, logs=...)` runs the hook on each callback in order, with the
    logs made a sorted dict of floats (`pythonify_logs`), passed by keyword to the batch
    hooks and positionally to the others (so a callback written for Keras gets the same
    calls).

    `add_history` / `add_progbar` append a History and a ProgbarLogger unless the list has
    one already, as Keras does. A History among them becomes `model.history` at once, so
    after an interrupted fit `model.history` holds exactly the epochs that were completed."""

    def __init__(self, callbacks, model, params: dict, add_history: bool = False,
                 add_progbar: bool = False) -> None:
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be scratchnn.callbacks.Callback instances, "
                                f"got {cb!r}")
        if add_history and not any(isinstance(cb, History) for cb in self.callbacks):
            self.callbacks.append(History())
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.params = params
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
            if isinstance(cb, History):
                model.history = cb

    def call(self, hook: str, *args, logs: dict | None = None) -> None:
        logs = pythonify_logs(logs)
        # As Keras: the batch hooks get `logs=` by keyword, the others positionally.
        by_keyword = "batch" in hook
        for cb in self.callbacks:
            if by_keyword:
                getattr(cb, hook)(*args, logs=logs)
            else:
                getattr(cb, hook)(*args, logs)

    def hooked(self, hook: str) -> bool:
        """True when some callback overrides `hook` (the base class's hooks do nothing),
        so fit can skip per-batch calls, and the logs they take, when nobody listens."""
        names = [hook] + ([_ALIASES[hook]] if hook in _ALIASES else [])
        return any(getattr(type(cb), name, None) is not getattr(Callback, name)
                   or name in vars(cb) for cb in self.callbacks for name in names)


class LambdaCallback(Callback):
    """A callback from plain functions: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    def __init__(self, **hooks: Callable) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)


class SaveFrequency:
    """Keras's batch count for `save_freq=N` (ModelCheckpoint, BackupAndRestore): the
    batches seen across epochs; `due(batch)` is True on every N-th one."""

    def __init__(self, every: int | str) -> None:
        self.every = every
        self.since_last_save = 0
        self.last_batch: int | None = None          # None: no batch seen since an epoch ended

    def due(self, batch: int) -> bool:
        if self.last_batch is None or batch <= self.last_batch:   # a new epoch began
            self.since_last_save += batch + 1
        else:
            self.since_last_save += batch - self.last_batch
        self.last_batch = batch
        if self.since_last_save >= self.every:
            self.since_last_save = 0
            return True
        return False


# The two callbacks CallbackList adds. They subclass Callback, so they are imported once
# it exists (here, not inside CallbackList: fit, evaluate and predict make one per call).
from .history import History  # noqa: E402
from .progbar import ProgbarLogger  # noqa: E402
