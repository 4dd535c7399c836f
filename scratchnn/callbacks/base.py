"""The Callback protocol and the list fit calls it through (Keras's `callback.py`,
`callback_list.py`, `lambda_callback.py`).

The hooks a callback may define (all optional):
    on_train_begin/end(logs), on_epoch_begin/end(epoch, logs),
    on_train_batch_begin/end(batch, logs), on_test_begin/end(logs),
    on_predict_begin/end(logs)
(`on_batch_begin/end` are Keras's older names for the train-batch hooks and still work.)
A callback stops training by setting `self.model.stop_training = True`.
"""

from __future__ import annotations

from typing import Callable


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


class CallbackList:
    """The callbacks of one fit/evaluate call; `call(hook, *args)` runs a hook on each, in order.

    As in Keras, a History among them becomes `model.history` at once, so after an
    interrupted fit `model.history` holds exactly the epochs that were completed."""

    def __init__(self, callbacks, model, params: dict) -> None:
        from .history import History

        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be scratchnn.callbacks.Callback instances, "
                                f"got {cb!r}")
            cb.set_model(model)
            cb.set_params(params)
        for cb in self.callbacks:
            if isinstance(cb, History):
                model.history = cb

    def call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

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
