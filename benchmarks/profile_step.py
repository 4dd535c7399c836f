"""Where one training step's time goes: `scratchnn bench --profile MODEL`.

Runs `fit` on the model's benchmark data: as the thread policy runs it (parallel.py: the
batch may be split over the cores), then on ONE thread (`snn.config.set_threads(1)`, the
plain step of step.py) twice: once plain (the real time per step), once with a timer
around every layer's forward and backward, the loss, the optimizer update and the metrics.
The breakdown is of the one-thread step: the timers wrap the layer objects, and a model
whose layers carry such wrappers runs on one thread anyway. The difference between the
plain step and the sum of the timed parts is the loop's own overhead (batch slicing,
callbacks, Python). Then cProfile's top functions by own time, for what the phases do
not show.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections import defaultdict

import numpy as np

from . import models


class PhaseTimer:
    """Wraps methods so that each call adds its duration to `totals[label]`. Nested timed
    calls (a layer's backward calling its backward_z) count once, in the outer label."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._depth = 0

    def wrap(self, owner, method: str, label: str) -> None:
        inner = getattr(owner, method)

        def timed(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.totals[label] += time.perf_counter() - start
        setattr(owner, method, timed)


def _fit_seconds_per_step(model, x, y, batch_size: int, repeats: int) -> float:
    steps = -(-len(x) // batch_size)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def profile(name: str, samples: int | None = None, batch_size: int = 32, repeats: int = 5,
            top: int = 15) -> dict:
    """Print and return the per-phase breakdown of one training step of seed model `name`."""
    import scratchnn as snn
    spec = models.SPECS[name]
    n = samples or spec.train_samples
    x, y = models.data(spec, n)
    snn.utils.set_random_seed(0)
    model = models.build(spec, snn)
    model.fit(x[:batch_size * 2], y[:batch_size * 2], batch_size=batch_size, verbose=0)  # warm up
    from scratchnn import parallel
    parallel.choices.clear()
    policy_step = _fit_seconds_per_step(model, x, y, batch_size, repeats)
    chosen = dict(parallel.choices)
    snn.config.set_threads(1)               # the breakdown below is of the one-thread step
    try:
        return _breakdown(model, spec, x, y, n, batch_size, repeats, top, policy_step, chosen)
    finally:
        snn.config.set_threads(None)


def _breakdown(model, spec, x, y, n: int, batch_size: int, repeats: int, top: int,
               policy_step: float, chosen: dict) -> dict:
    plain = _fit_seconds_per_step(model, x, y, batch_size, repeats)

    timer = PhaseTimer()
    for layer in model.layers:
        kind = type(layer).__name__
        timer.wrap(layer, "forward", f"{layer.name} ({kind}) forward")
        for method in ("backward", "backward_z"):
            if hasattr(layer, method):
                timer.wrap(layer, method, f"{layer.name} ({kind}) backward")
    timer.wrap(model.loss, "value_and_grad", "loss (value and gradient)")
    timer.wrap(model.optimizer, "apply_flat", f"optimizer ({type(model.optimizer).__name__})")
    timer.wrap(model, "_update_metrics", "metrics")
    steps = -(-n // batch_size)
    runs = 3
    for _ in range(runs):
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    per_step = {label: total / (steps * runs) for label, total in timer.totals.items()}
    per_step["loop overhead (slicing, callbacks, Python)"] = max(plain - sum(per_step.values()),
                                                                 0.0)

    # Keras's random numbers (issue 9) cost: Dropout's masks sit in its forward row above;
    # the sample order of a shuffled epoch is drawn once per epoch (the rows above train
    # unshuffled, as the benchmark does), shown here per step of such an epoch.
    start = time.perf_counter()
    for _ in range(runs):
        model.epoch_order_for(0, n, shuffle=True)
    shuffle_per_step = (time.perf_counter() - start) / (steps * runs)

    profiler = cProfile.Profile()
    profiler.enable()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)

    policy = ", ".join(f"{count} shard(s): {steps} steps" for (_, count), steps in
                       sorted(chosen.items())) or "the plain step throughout"
    lines = [f"{spec.title}: one training step, batch {batch_size}, {n} samples, float32",
             f"fit as the thread policy runs it: {policy_step * 1e3:.3f} ms/step (best of "
             f"{repeats}; {policy})",
             f"plain fit on one thread: {plain * 1e3:.3f} ms/step (best of {repeats})", "",
             f"{'phase':58s} {'ms/step':>9s} {'share':>6s}"]
    for label, seconds in per_step.items():
        lines.append(f"{label:58s} {seconds * 1e3:9.3f} {seconds / plain:6.1%}")
    lines += ["", f"{'shuffled epoch order (TensorFlow RandomShuffle), per step':58s} "
              f"{shuffle_per_step * 1e3:9.3f} {shuffle_per_step / plain:6.1%}  (not in the "
              "plain step; Dropout masks are in Dropout's forward)"]
    lines += ["", "cProfile, top functions by own time (one epoch):",
              *stream.getvalue().strip().splitlines()[-(top + 2):]]
    print("\n".join(lines))
    return {"model": spec.name, "ms_per_step": plain * 1e3,
            "policy_ms_per_step": policy_step * 1e3,
            "phases_ms": {k: v * 1e3 for k, v in per_step.items()},
            "shuffle_order_ms_per_step": shuffle_per_step * 1e3}


if __name__ == "__main__":
    import sys
    profile(sys.argv[1] if len(sys.argv) > 1 else "cnn-conv32")
    np.seterr()
