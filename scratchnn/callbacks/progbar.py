"""Keras's progress output: the `Epoch e/E` header and the progress line.

    Epoch 1/2
    1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.8213 - loss: 0.5071

A NaN or infinite loss prints as `loss: nan` / `loss: inf`, as in Keras, so a run
that diverged shows it on the line itself.
"""

from __future__ import annotations

import math
import sys
import time

from .base import Callback


def _format_value(value: float) -> str:
    # abs(nan) > 1e-3 is False: nan (and inf) fall to the second branch and print as
    # 'nan' / 'inf', exactly as Keras's Progbar shows them.
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
    verbose=2 prints one summary line per epoch. With `target=None` (a generator without
    steps_per_epoch: the number of batches is not known yet) the running line reads
    `      3/Unknown 0s 3ms/step - loss: ...`, and the final one counts the batches seen."""

    WIDTH = 20

    def __init__(self, target: int | None, verbose: int = 1, stream=None) -> None:
        self.target, self.verbose = target, verbose
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, step: int, values: dict[str, float], finalize: bool = False) -> None:
        now = time.perf_counter()
        elapsed = now - self.start
        metrics = "".join(f" - {k}: {_format_value(v)}" for k, v in values.items())
        if finalize and self.target is None:
            self.target = step
        if self.verbose == 2:
            if finalize:
                self.stream.write(f"{step}/{self.target} - {_format_time(elapsed)} - "
                                  f"{_format_per_step(elapsed / max(step, 1))}{metrics}\n")
            return
        if not finalize and (not self.interactive or now - self.last_draw < 0.1):
            return
        self.last_draw = now
        per_step = _format_per_step(elapsed / max(step, 1))
        if self.target is None:                       # Keras's "%7d/Unknown" line
            line = f"{step:7d}/Unknown {_format_time(elapsed)} {per_step}{metrics}"
        else:
            done = int(self.WIDTH * step / self.target) if self.target else self.WIDTH
            bar = "━" * done + " " * (self.WIDTH - done)
            if finalize:
                timing = f"{_format_time(elapsed)} {per_step}"
            else:
                eta = elapsed / max(step, 1) * (self.target - step)
                timing = f"{_format_time(eta)} ETA"
            line = f"{step}/{self.target} {bar} {timing}{metrics}"
        self.stream.write(("\r" if self.interactive else "") + line + ("\n" if finalize else ""))
        self.stream.flush()


class ProgbarLogger(Callback):
    """The progress output of fit, evaluate and predict, as Keras's ProgbarLogger: fit prints
    `Epoch e/E` (only when E > 1) and a bar per epoch; its validation is silent; evaluate
    and predict draw one bar. When the number of batches is unknown (a generator without
    steps_per_epoch), the first epoch counts them and later epochs show that count, as in
    Keras. An epoch stopped early still ends on the full `steps/steps` line."""

    def __init__(self, verbose: int = 1) -> None:
        super().__init__()
        self.verbose = verbose
        self.bar: Progbar | None = None
        self.seen = 0
        self.in_fit = False

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.verbose = params.get("verbose", self.verbose)
        self.target = params.get("steps")

    def _start(self) -> None:
        self.seen = 0
        self.bar = Progbar(self.target, self.verbose)

    def _update(self, batch: int, logs: dict | None) -> None:
        self.seen = batch + 1
        self.bar.update(self.seen, logs or {})

    def _finish(self, logs: dict | None) -> None:
        if self.target is None:
            self.target = self.seen
        self.bar.update(self.target, logs or {}, finalize=True)

    def on_train_begin(self, logs=None):
        self.in_fit = True                  # fit's own validation draws no bar

    def on_epoch_begin(self, epoch, logs=None):
        self._start()
        if self.verbose and self.params["epochs"] > 1:
            print(f"Epoch {epoch + 1}/{self.params['epochs']}")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)           # predictions are not shown

    def on_predict_end(self, logs=None):
        self._finish(None)


def steps_for(n_samples: int, batch_size: int) -> int:
    """ceil(N / batch): the last partial batch is kept."""
    return math.ceil(n_samples / batch_size)
