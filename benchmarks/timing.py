"""Side-by-side timing of scratchnn and Keras on the same model, data and batch size.

Keras on a 2-core CPU is bimodal (the same epoch can take 17 or 34 ms/step back to back),
and the machine may be shared, so one timing means little. Each measurement here:
- warms both engines up first (Keras traces its tf.functions then);
- then runs the two engines INTERLEAVED, alternating which goes first, `repeats` times;
- keeps every run, and reports minimum, median and maximum per engine; the headline
  speed-up is Keras's minimum over scratchnn's minimum (the least disturbed runs);
- records how many CPUs OTHER processes kept busy meanwhile (machine.CpuWatch), so a row
  measured beside a neighbour's job says so;
- pauses SETTLE_SECONDS before every timed run: an engine's worker threads keep spinning
  for a while after its call returns (OpenBLAS's; TensorFlow's thread pools), and the
  engine timed right after it then shares the two cores with them. Measured on T4's
  predict (2026-12-06, AMD EPYC 9004): Keras right after scratchnn took 20.1 ms per 256
  images at best and 28.1 in the median, after a 50-100 ms pause 16.3-17.5 and 19.7;
- records what scratchnn's thread policy chose for its batches (scratchnn/parallel.py):
  the plain one-thread step, one shard on one BLAS thread, or S shards.

`busy_core()` runs the same comparison beside a competing process: a Python loop pinned
to one CPU (os.sched_setaffinity), as a user's machine is rarely idle (a browser, a
notebook kernel, the other engine of a side-by-side demo).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Callable

from . import machine, models

SETTLE_SECONDS = 0.1
LOADED_TARGET = 1.5               # the target for every row timed beside a busy core
# The competing process: pinned to one CPU, it spins until killed.
SPINNER = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True: pass"
SPINNER_WARMUP_SECONDS = 0.5      # started, pinned, and seen by scratchnn's load watch


@contextlib.contextmanager
def busy_core():
    """A process spinning on the last CPU this process may use, for the block's duration.
    Yields that CPU's number."""
    cpu = max(os.sched_getaffinity(0))
    spinner = subprocess.Popen([sys.executable, "-c", SPINNER, str(cpu)])
    try:
        time.sleep(SPINNER_WARMUP_SECONDS)
        yield cpu
    finally:
        spinner.kill()
        spinner.wait()


def _seconds(fn: Callable[[], object]) -> float:
    time.sleep(SETTLE_SECONDS)          # let the other engine's threads go idle first
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """{engine: [seconds of each run]}: one warm-up each, then `repeats` rounds in which
    every engine runs once, the starting engine alternating from round to round."""
    names = list(runs)
    for name in names:
        runs[name]()                                           # warm-up
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(_seconds(runs[name]))
    return times


def stats(seconds: list[float], per: int) -> dict[str, float]:
    """min / median / max of `seconds`, each divided by `per` (steps or images), in ms."""
    values = [s / per * 1e3 for s in seconds]
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "runs": values}


def policy_summary(choices: Counter, kind: str, batches: int) -> dict[str, int]:
    """What scratchnn's thread policy did with `batches` batches of one kind ("train" or
    "inference"), from parallel.choices: {"plain": n, "1 shard": n, "2 shards": n, ...}."""
    chosen = {f"{shards} shard{'s' if shards > 1 else ''}": n
              for (k, shards), n in sorted(choices.items()) if k == kind}
    plain = batches - sum(chosen.values())
    return {**({"plain": plain} if plain > 0 else {}), **chosen}


def describe_policy(summary: dict[str, int]) -> str:
    """'2 shards', or '1 shard 80%, plain 20%' when the policy changed its mind."""
    total = sum(summary.values()) or 1
    if len(summary) == 1:
        return next(iter(summary))
    return ", ".join(f"{name} {n / total:.0%}" for name, n in
                     sorted(summary.items(), key=lambda item: -item[1]))


def compare(spec: models.Spec, n_train: int, n_predict: int, repeats: int,
            epochs: int = 1, load: str | None = None) -> list[dict]:
    """Train (batch 32, `epochs` epochs of `n_train` samples, shuffle off) and predict
    (batch 256 over `n_predict` samples) on both engines. One row per kind of work.
    `load` names the competing work running meanwhile (busy_core), if any."""
    import scratchnn as snn
    from scratchnn import parallel
    from tf_reference import to_keras

    x, y = models.data(spec, max(n_train, n_predict))
    onednn = machine.tensorflow_onednn(machine.cpu_flags())
    snn.utils.set_random_seed(0)
    ours = models.build(spec, snn)
    theirs = to_keras(ours)          # same layers, initial weights, loss and optimizer
    xt, yt = x[:n_train], y[:n_train]
    steps = epochs * -(-n_train // 32)
    rows = []
    work = {
        "train": ({"scratchnn": lambda: ours.fit(xt, yt, batch_size=32, epochs=epochs,
                                                 shuffle=False, verbose=0),
                   "keras": lambda: theirs.fit(xt, yt, batch_size=32, epochs=epochs,
                                               shuffle=False, verbose=0)}, steps, "step"),
        "predict": ({"scratchnn": lambda: ours.predict(x[:n_predict], batch_size=256, verbose=0),
                     "keras": lambda: theirs.predict(x[:n_predict], batch_size=256, verbose=0)},
                    n_predict / 256, "256 images"),
    }
    for what, (runs, per, unit) in work.items():
        parallel.choices.clear()
        watch = machine.CpuWatch()
        times = interleaved(runs, repeats)
        others = watch.stop()
        batches = (repeats + 1) * (steps if what == "train" else -(-n_predict // 256))
        policy = policy_summary(parallel.choices, "train" if what == "train" else "inference",
                                batches)
        ours_ms, theirs_ms = stats(times["scratchnn"], per), stats(times["keras"], per)
        rows.append({
            "model": spec.name, "title": spec.title, "work": what, "unit": f"ms per {unit}",
            "samples": n_train if what == "train" else n_predict,
            "batch_size": 32 if what == "train" else 256, "epochs": epochs if what == "train" else 1,
            "scratchnn_ms": ours_ms, "keras_ms": theirs_ms,
            "speedup": theirs_ms["min"] / ours_ms["min"],
            "speedup_median": theirs_ms["median"] / ours_ms["median"],
            "target": spec.target(what, onednn) if load is None else LOADED_TARGET,
            "load": load, "policy": policy, **others})
    return rows


def per_step(fn: Callable[[], object], steps: float, repeats: int) -> float:
    """Best ms per step of `fn` (which runs `steps` steps) over `repeats` runs after a
    warm-up: for the scaling sweeps, where each point is measured on its own."""
    fn()
    return min(_seconds(fn) for _ in range(repeats)) / steps * 1e3
