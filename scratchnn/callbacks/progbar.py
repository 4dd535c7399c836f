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
    """Prints `Epoch e/E` (only when E > 1, as Keras) and a progress bar for fit
    (added by fit when verbose > 0). An epoch stopped early still ends on the full
    `steps/steps` line, as in Keras."""

    def __init__(self, verbose: int = 1) -> None:
        super().__init__()
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.params["epochs"] > 1:
            print(f"Epoch {epoch + 1}/{self.params['epochs']}")
        self.bar = Progbar(self.params["steps"], self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(self.params["steps"], logs or {}, finalize=True)


def steps_for(n_samples: int, batch_size: int) -> int:
    """ceil(N / batch): the last partial batch is kept."""
    return math.ceil(n_samples / batch_size)
