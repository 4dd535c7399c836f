"""The batch split over the machine's cores: the training step and inference, in threads.

A learner can skip this module. With one core (or `snn.config.set_threads(1)`), fit runs
the plain step of step.py and nothing here. With more, step.py (`_train_batch`,
`test_step`) and trainer.py (`_predict_batch`) hand a batch to this module, which cuts it
into S contiguous row ranges, "shards", and runs each on its own thread, on its own
REPLICA of the model (replica.py: every layer's `Layer.replica()`, which shares the
layer's weight arrays but has its own forward cache, scratch buffers and gradient arrays,
the mechanism a Functional model uses for a layer called twice). NumPy releases the GIL
inside its kernels, so the threads compute at the same time; each shard's matrix products
run on one BLAS thread (threadpoolctl), since the shards already fill the cores.

WHY THE SHARDS' GRADIENTS ADD UP TO THE BATCH'S. fit's loss is the mean of the N
per-sample losses l_n of the batch, and every sample meets the same weights w, so

    L = (1/N) sum_n l_n,     dL/dw = (1/N) sum_n dl_n/dw
                                   = sum_k [ (1/N) sum_{n in shard k} dl_n/dw ]

The bracket is exactly what shard k's backward pass computes when what enters it is its
rows of the WHOLE batch's dL/d(output), divided by N and not by the shard's own size. So
the step computes the loss and its gradient once, from the whole batch's outputs (the
numbers the one-shard step computes: the same loss, logs and metrics, bit for bit where
BLAS rounds each row by itself; docs/parallel.md on OpenBLAS's Haswell kernels),
hands each shard its rows, and adds the shards' weight gradients in a FIXED order,
((g_0 + g_1) + g_2) + ...: floating-point addition is not associative, and a fixed order
keeps a run bit-identical from run to run. That order is the only difference from the
one-shard step (where x^T dz adds the N rows in BLAS's order): float64 results agree to
about 1e-15, float32 ones to a few ulp. The regularizers' gradients are added once, after
the sum, then ONE optimizer update runs, split in contiguous chunks over the threads
when the optimizer's rule is elementwise (every weight's update reads only its own
gradient and slots: any split gives the same bits).

DROPOUT draws Keras's masks (layers/core.py, random.py): one mask of the WHOLE batch's
shape per call, from the layer's seed and count. A shard drawing its own (N/S, ...) mask
would take other numbers and move the count on S times. So the first shard to reach a
Dropout call draws the whole batch's mask, once, with the layer's own `draw_keep_mask`,
and every shard uses its rows of it (`_MaskCut`): a sharded run drops exactly the units
an unsharded (and Keras's) run drops. Other random numbers cannot be cut into rows: a
model with another random layer trains on one shard.

BATCHNORMALIZATION in training mode normalises with the mean and variance of the whole
batch: one shard's statistics are not the batch's, and sharing them would take threads
meeting halfway through the forward pass. A model with such a layer trains on one shard
(the plain step); frozen BatchNormalization runs in inference mode, per sample, and
shards. Inference (predict, evaluate) always shards: every sample is computed alone.

THE THREAD POLICY is shard_policy.py's (`shard_count`): two shards or more where the
batch's layers write enough values for each and other programs leave the CPUs free;
one shard on one BLAS thread beside a busy program; otherwise the plain step.

Errors and Ctrl-C: an exception in a shard (a NaN check, a bad shape) is raised in the
calling thread, with its own type and message, once every shard has stopped. Ctrl-C
waits for the running shards (never a worker left computing), and the update runs after
they join, inside `interrupts.uninterruptible`: the model stays at its last completed
step. A call from inside a shard (a layer calling another model's predict) runs plain.
docs/parallel.md tells the whole story.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from typing import Callable

import numpy as np

from . import interrupts
from .data_adapters import n_samples, take
from .replica import ModelReplica
from .shard_policy import blas_limiter, choices, force_shards, profile_of, shard_count

__all__ = ["in_threads", "train_batch", "forward", "predict_batch",
           "shard_count", "force_shards", "choices"]      # (the last three: shard_policy.py's)

Array = np.ndarray

MIN_UPDATE_CHUNK = 65_536     # weights per thread below which the update runs in one piece


# -- the thread policy (shard_policy.py), and one parallel section at a time --------------
_section = threading.Lock()       # held while shards run: nested calls run plain


def in_threads(model, x, training: bool) -> bool:
    """Whether this batch runs here (on S >= 1 shards, one BLAS thread each) rather than
    in the plain step of step.py / trainer.py."""
    # (the lock is held: called from inside a shard, or beside one: run plain)
    return not _section.locked() and shard_count(model, x, training) > 0


# -- threads ---------------------------------------------------------------------------------
class _Worker:
    """A thread that runs the shards handed to it, one at a time, and hands back each
    result or exception. Shard 0 runs in the calling thread; shard k on worker k - 1."""

    def __init__(self, index: int) -> None:
        self.tasks, self.results = queue.SimpleQueue(), queue.SimpleQueue()
        threading.Thread(target=self._loop, name=f"scratchnn-shard-{index + 1}",
                         daemon=True).start()

    def _loop(self) -> None:
        while True:
            work, k = self.tasks.get()
            try:
                self.results.put((work(k), None))
            except BaseException as error:     # handed to the calling thread, raised there
                self.results.put((None, error))


_workers: list[_Worker] = []


def _each_shard(work: Callable[[int], object], count: int) -> list:
    """[work(0), work(1), ...]: shard 0 in this thread, the others on the workers. Returns
    once every shard has stopped, even through Ctrl-C (raised then); a shard's exception
    is raised here, the first in shard order, with its own type and message."""
    while len(_workers) < count - 1:
        _workers.append(_Worker(len(_workers)))
    for k in range(1, count):
        _workers[k - 1].tasks.put((work, k))
    try:
        first = work(0)
    finally:
        outcomes = _join(count - 1)
    for _, error in outcomes:
        if error is not None:
            raise error
    return [first] + [result for result, _ in outcomes]


def _join(busy: int) -> list[tuple]:
    """The (result, error) of workers 0 .. busy-1, waiting for each even through Ctrl-C."""
    outcomes, interrupted = [], False
    for worker in _workers[:busy]:
        while True:
            try:
                outcomes.append(worker.results.get())
                break
            except KeyboardInterrupt:      # Ctrl-C while waiting: wait on, then raise it
                interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    return outcomes


def _after_fork() -> None:
    """A forked child has none of its parent's threads: start afresh."""
    global _section
    _workers.clear()
    _section = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


@contextlib.contextmanager
def _parallel_section(kind: str, count: int):
    """Held while shards run: one BLAS thread each (the user's setting restored after),
    and this lock, which makes calls from inside a shard run plain."""
    limiter = blas_limiter()
    with _section, (limiter.limit(limits=1) if limiter else contextlib.nullcontext()):
        choices[kind, count] += 1
        yield


def _bounds(n: int, count: int) -> list[int]:
    """Row boundaries of `count` contiguous shards of n rows, sizes differing by at most 1."""
    return [k * n // count for k in range(count + 1)]


# -- the shards' replicas of the model ------------------------------------------------------
class _MaskCut:
    """The whole batch's keep-mask of one Dropout call, drawn once per step by the first
    shard to need it (with the layer's own draw_keep_mask, so the layer's seed and count),
    and cut into the shards' rows."""

    def __init__(self, layer) -> None:
        self.layer, self.lock, self.mask, self.bounds = layer, threading.Lock(), None, None

    def start(self, bounds: list[int]) -> None:
        self.mask, self.bounds = None, bounds

    def rows(self, k: int, shape: tuple) -> Array:
        start, stop = self.bounds[k], self.bounds[k + 1]
        noise_shape = getattr(self.layer, "noise_shape", None)
        per_row = shape[0] == stop - start and (noise_shape is None or noise_shape[0] is None)
        with self.lock:
            if self.mask is None:
                whole = (self.bounds[-1], *shape[1:]) if per_row else tuple(shape)
                self.mask = self.layer.draw_keep_mask(whole)
        return self.mask[start:stop] if per_row else self.mask


def _replicas(model, count: int) -> list[ModelReplica]:
    """`count` replicas of the model (made once per packing), each Dropout call of each
    drawing the rows of one shared _MaskCut. Shard 0 writes its gradients into the model's
    own flat buffer: the sum g_0 + g_1 + ... then starts in place, and one shard copies
    nothing."""
    profile = profile_of(model)
    while len(profile.replicas) < count:
        k = len(profile.replicas)
        replica = ModelReplica(model, model._flat_grads if k == 0
                               else np.zeros_like(model._flat_grads))
        for original, twin in replica.pairs:
            if getattr(original, "seed_generator", None) is not None and hasattr(
                    original, "draw_keep_mask"):
                cut = profile.masks.setdefault(id(original), _MaskCut(original))
                twin.draw_keep_mask = lambda shape, cut=cut, k=k: cut.rows(k, shape)
        profile.replicas.append(replica)
    return profile.replicas[:count]


def _start(model, x, count: int) -> tuple[list[ModelReplica], list[int]]:
    model.flat_grads                     # repack first if a trainable flag changed
    replicas, bounds = _replicas(model, count), _bounds(n_samples(x), count)
    for cut in profile_of(model).masks.values():
        cut.start(bounds)
    return replicas, bounds


def _gather(parts: list):
    """The shards' outputs (arrays, or lists of arrays for several outputs) end to end."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], list):
        return [np.concatenate(column) for column in zip(*parts)]
    return np.concatenate(parts)


def _gather_logits(model, replicas: list[ModelReplica], training: bool) -> None:
    """The model's logits carriers get the whole batch's z, as after an unsharded forward
    pass: the loss reads them there (step.py `_compute_loss`)."""
    carriers = (model.logits_carriers(training) if hasattr(model, "logits_carriers")
                else [model.logits_carrier(training)])
    for carrier in carriers:
        if carrier is not None:
            zs = [r.twin_of[id(carrier)].z for r in replicas]
            if all(z is not None for z in zs):
                carrier.z = _gather(zs)


# -- the training step -----------------------------------------------------------------------
def train_batch(model, x, y, sample_weight) -> None:
    """step.py's `_train_batch` over the shards:

        1. forward: shard k runs its replica on its rows            (threads)
        2. the loss and dL/d(output) of the whole batch             (this thread)
        3. backward: shard k from its rows of dL/d(output)          (threads)
        4. g = g_0 + g_1 + ...; the regularizers' gradients; ONE optimizer update
        5. the metrics, from the whole batch's predictions
    """
    count = max(shard_count(model, x, training=True), 1)
    with _parallel_section("train", count):
        replicas, bounds = _start(model, x, count)
        rows = [slice(bounds[k], bounds[k + 1]) for k in range(count)]
        outputs = _each_shard(lambda k: replicas[k].model.forward(take(x, rows[k]),
                                                                  training=True), count)
        y_pred = _gather(outputs)
        _gather_logits(model, replicas, training=True)
        value, grad, carrier = model._compute_loss(y, y_pred, sample_weight, training=True)

        def backward(k: int) -> None:
            part = take(grad, rows[k]) if not isinstance(grad, list) else [
                None if g is None else g[rows[k]] for g in grad]
            replicas[k].model.backward(part, replicas[k].layer_for(carrier))
            replicas[k].collect_gradients()

        _each_shard(backward, count)
        flat = model.flat_gradients()    # checks the trainable flags, as the plain step does
        parts = [r.flat_grads for r in replicas]
        with interrupts.uninterruptible:  # Ctrl-C waits for the whole update
            if not model.regularized_layers and _chunked(model.optimizer, flat.size, count):
                _update_in_chunks(model, flat, parts, count)
            else:
                _add_in_order(flat, parts, slice(None))
                if model.regularized_layers:
                    model.add_penalty_gradients()
                if _chunked(model.optimizer, flat.size, count):
                    _update_in_chunks(model, flat, [], count)
                else:
                    model.optimizer.apply_flat(flat, model.flat_weights, model.weight_shapes)
            model.apply_state_updates()
    model._update_metrics(value, y, y_pred, sample_weight)


def _add_in_order(out: Array, parts: list[Array], rows: slice) -> None:
    """out[rows] = ((parts[0] + parts[1]) + parts[2]) + ...: always this order (parts[0]
    may be `out` itself)."""
    if len(parts) == 1:
        if parts[0] is not out:
            np.copyto(out[rows], parts[0][rows])
        return
    np.add(parts[0][rows], parts[1][rows], out=out[rows])
    for part in parts[2:]:
        out[rows] += part[rows]


def _chunked(optimizer, size: int, count: int) -> bool:
    """Whether the update runs in `count` pieces, one per thread: the optimizer allows it
    (Optimizer.updates_in_pieces: elementwise, no clipping, no weight decay) and each
    piece holds enough weights to pay for a thread."""
    return count > 1 and size >= count * MIN_UPDATE_CHUNK and optimizer.updates_in_pieces()


def _update_in_chunks(model, flat: Array, parts: list[Array], count: int) -> None:
    """Optimizer.apply_flat in `count` contiguous pieces of the flat buffers, one per
    thread (adding the shards' gradients first, piece by piece, when `parts` are given).
    Each weight's update reads only its own entries, so the bits are those of one call."""
    optimizer, weights = model.optimizer, model.flat_weights
    step = optimizer.begin_step(weights.dtype)          # once per step, as apply_flat
    edges = _bounds(flat.size, count)

    def chunk(k: int) -> None:
        rows = slice(edges[k], edges[k + 1])
        if parts:
            _add_in_order(flat, parts, rows)
        optimizer.update_piece(flat, weights, rows, step)

    _each_shard(chunk, count)
    optimizer.end_step(weights)


# -- inference -------------------------------------------------------------------------------
def forward(model, x, training: bool = False):
    """`model.forward(x, training)` over the shards (evaluate and fit's validation): the
    whole batch's outputs, and its logits at the model's carriers for the loss."""
    count = max(shard_count(model, x, training), 1)
    with _parallel_section("inference", count):
        replicas, bounds = _start(model, x, count)
        outputs = _each_shard(lambda k: replicas[k].model.forward(
            take(x, slice(bounds[k], bounds[k + 1])), training=training), count)
        _gather_logits(model, replicas, training)
    return _gather(outputs)


def predict_batch(model, x):
    """trainer.py's `_predict_batch` over the shards: each pushes its rows through the
    layers in the same slices as one thread would. Every sample is computed alone, so the
    predictions are those of one thread, bit for bit where BLAS rounds each row by itself
    (OpenBLAS's SkylakeX kernels; its Haswell kernels: a few ulp, docs/parallel.md)."""
    count = max(shard_count(model, x, training=False), 1)
    with _parallel_section("inference", count):
        replicas, bounds = _start(model, x, count)
        outputs = _each_shard(lambda k: replicas[k].model._predict_batch(
            take(x, slice(bounds[k], bounds[k + 1]))), count)
    return _gather(outputs)
