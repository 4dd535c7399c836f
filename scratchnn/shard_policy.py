"""How many shards a batch runs on: the thread policy parallel.py follows.

A learner can skip this module (and parallel.py). `shard_count(model, x, training)` says
how many threads share a batch, or 0 for the plain step of step.py.

THE THREAD POLICY (`shard_count`): S = the smallest of
  * `config.threads()` (every CPU this process may use, unless set);
  * the CPUs OTHER processes left free (cpu_load.py: /proc/stat's busy time of our CPUs
    minus this process's own CPU time, over the last RECHECK_SECONDS; one file read per
    window, not per step), rounded to the nearest;
  * as many shards as write MIN_SHARD_VALUES values each. What shards win is the
    elementwise work (windows, pooling, activations, the optimizer), which the plain step
    runs on one core; matrix products gain little, OpenBLAS already splits them over its
    threads (a dense model's batch runs as fast on OpenBLAS's two threads as on two
    shards). A CNN's training batch writes about a million values; a dense model's, a
    few ten thousands, and the circles model's whole step is 70 us.
With S >= 2 the batch runs in parallel.py. With one: on a free machine, the plain step
of step.py (NumPy's BLAS as the user left it); on a busy one (another program spinning on
one of two cores), ONE shard in parallel.py on ONE BLAS thread, when the batch's products
are big enough (MIN_BLAS_WORK) for OpenBLAS to split them: its threads spin-wait for each other, and
with one of them parked behind the other program, steps run several times slower.
OpenBLAS's last bits can depend on its thread count (a float32 (32, 784) @ (784, 350)
product differs between one thread and two), so the same batch on a busy and on a free
machine may differ in the last bits, as it does between machines today.

What a model allows: BatchNormalization in training mode, and random numbers other than
Dropout's masks, need the whole batch in one place (`_Profile.whole_batch`: parallel.py
explains both); a Dropout whose noise_shape fixes a batch size cannot be cut into rows,
and a method replaced on a layer object is shared by every replica (`_Profile.shardable`).
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter

from . import config
from .cpu_load import LoadWatch
from .data_adapters import n_samples

MIN_SHARD_VALUES = 256_000    # values a shard's layers must write for two shards to pay
MIN_BLAS_WORK = 4 * 65_536    # multiply-adds above which OpenBLAS threads a product (its
                              # interface/gemm.c: GEMM_MULTITHREAD_THRESHOLD * 65536)
RECHECK_SECONDS = 0.25        # how often the CPUs left free by other processes are measured

choices: Counter = Counter()
"""How many batches ran on how many shards since `choices.clear()`, keyed by ("train" or
"inference", shards); 1 counts one-shard steps run in parallel.py on one BLAS thread (a
busy machine); plain steps are not counted. The benchmark prints what the policy chose from
it."""

_watch = LoadWatch(RECHECK_SECONDS)   # its first window starts when scratchnn is imported
_forced: int | None = None


@contextlib.contextmanager
def force_shards(count: int):
    """Run every batch on exactly `count` shards, whatever the machine and the batch (tests
    on a two-core machine, experiments; 1: one shard in parallel.py, on one BLAS thread), except
    where the model forbids it (BatchNormalization in training mode)."""
    global _forced
    previous, _forced = _forced, int(count)
    try:
        yield
    finally:
        _forced = previous


def shard_count(model, x, training: bool) -> int:
    """The policy (module docstring): how many shards, or 0 for the plain path."""
    profile = model.__dict__.get("_shard_profile")
    if (profile is not None and profile.packed is model.__dict__.get("_flat_grads")
            and n_samples(x) < profile.tiny_below and _forced is None):
        return 0                       # a batch too small to share (the common fast exit)
    limit = config.threads()
    if limit < 2 and _forced is None:
        return 0
    if getattr(model, "_flat_grads", None) is None or not model.layers:
        return 0
    profile = profile_of(model)
    if not profile.shardable or (training and profile.whole_batch):
        return 0
    n = n_samples(x)
    if _forced is not None:
        return min(_forced, n)
    if (n * profile.values_per_sample < 2 * MIN_SHARD_VALUES
            and n * profile.macs_per_sample < MIN_BLAS_WORK):
        return 0                       # too little work to share, whatever the load
    if blas_limiter() is None:
        return 0                       # no threadpoolctl: BLAS's threads cannot be tamed
    free = max(1, math.floor(_watch.free_cpus(limit) + 0.5))
    shards = min(limit, n, int(n * profile.values_per_sample // MIN_SHARD_VALUES), free)
    if shards >= 2:
        return shards
    if free < limit and n * profile.macs_per_sample >= MIN_BLAS_WORK:
        return 1                       # a busy machine: one shard, on one BLAS thread
    return 0                           # the plain step, NumPy's BLAS as the user left it


class _Profile:
    """What the policy needs to know of one packing of a model's weights."""

    def __init__(self, model) -> None:
        self.packed = model._flat_grads
        # Per sample: the values the layers write (their outputs: the elementwise work, which
        # the plain step runs on one core), and the multiply-adds of the products (a
        # kernel's size times the positions it is applied at), which BLAS threads itself.
        self.values_per_sample = self.macs_per_sample = 0
        for layer in model.layers:
            shape = [d for d in (layer.output_shape or (None,))[1:] if d is not None]
            self.values_per_sample += math.prod(shape)
            kernel = layer.params.get("kernel")
            if kernel is not None:
                self.macs_per_sample += kernel.size * math.prod(shape[:-1])
        # Training needs the whole batch in one place for BatchNormalization's statistics,
        # and for random numbers other than Dropout's masks (which are cut into rows). A
        # Dropout whose noise_shape fixes a batch size other than 1 cannot be cut at all;
        # a method replaced on a layer object (a profiler's wrapper, a test's stand-in)
        # calls back into that object, which every shard's replica would then share.
        # Batches of fewer samples than this are too small to share, whatever the load.
        self.tiny_below = min(2 * MIN_SHARD_VALUES / max(self.values_per_sample, 1),
                              MIN_BLAS_WORK / max(self.macs_per_sample, 1))
        self.whole_batch = any((layer.state and layer.trainable) or (
            getattr(layer, "seed_generator", None) is not None
            and not hasattr(layer, "draw_keep_mask")) for layer in model.layers)
        self.shardable = not any(_replaced_methods(layer) for layer in model.layers) and all(
            getattr(layer, "noise_shape", None) is None or layer.noise_shape[0] in (None, 1)
            for layer in model.layers)
        # parallel.py's state for this packing: the shards' ModelReplicas, made once, and
        # per Dropout call the _MaskCut its replicas share.
        self.replicas: list = []
        self.masks: dict = {}


def _replaced_methods(layer) -> list[str]:
    """The layer's methods replaced on the object itself (Dropout's draw_keep_mask aside:
    the shards call the layer's own, once per step)."""
    return [name for name, value in vars(layer).items() if name != "draw_keep_mask"
            and callable(value) and callable(getattr(type(layer), name, None))]


def profile_of(model) -> _Profile:
    """The model's profile, kept on the model itself (one attribute read per batch) and
    made again when the model repacks its weights."""
    profile = model.__dict__.get("_shard_profile")
    if profile is None or profile.packed is not model._flat_grads:   # repacked: start over
        profile = model.__dict__["_shard_profile"] = _Profile(model)
    return profile


_blas = None                      # threadpoolctl's controller of the BLAS libraries, or False


def blas_limiter():
    """threadpoolctl's controller for the BLAS libraries, imported when first needed; None
    without threadpoolctl (then batches run on one shard: the plain step)."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas = ThreadpoolController().select(user_api="blas")
        except ImportError:
            _blas = False
    return _blas or None
