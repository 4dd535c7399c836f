"""Gradient clipping as Keras 3 does it on TensorFlow: clipnorm, global_clipnorm, clipvalue.

Keras clips the gradients BEFORE weight decay and the update (`_clip_gradients`), and
at most one of the three options may be set:

    clipnorm c         each gradient alone:  g <- (g * c) / max(||g||, c)
                       (TensorFlow's tf.clip_by_norm: the multiplication comes first, so
                       even an unclipped g becomes (g * c) / c, which can differ from g
                       in the last bit)
    global_clipnorm c  all gradients together, N = sqrt(sum_i ||g_i||^2):
                       scale = c * min(1 / N, 1 / c) + (N - N);   g_i <- g_i * scale
                       (1 / c is a Python float64 division, then rounded to the dtype;
                       N - N is 0, or NaN when N is not finite: then every g is NaN)
    clipvalue v        elementwise:  g <- max(min(g, v), -v)

Every operation runs in the gradients' dtype. The norms are sums of squares, and a
float32 sum's last bit depends on the order of its additions: `tf_sum` adds in the
order TensorFlow's CPU kernel (Eigen's full reduction) does, so the clipped gradients
are Keras's bit for bit. `np.sum` (pairwise) would land within an ulp of it.

Each function takes the per-parameter gradients and writes into `out`, arrays of the
same shapes (a gradient is never modified: Keras clips copies).
"""

from __future__ import annotations

import math
import os

import numpy as np

Array = np.ndarray

# Eigen (TensorFlow's CPU maths) sums in 32-byte AVX packets: 8 float32 or 4 float64 lanes.
PACKET_BYTES = 32
LEAF_PACKETS = 1024        # Eigen's tree reduction: halves until <= 1024 packets remain


def tf_threads() -> int:
    """The threads TensorFlow's intra-op pool has by default: TF_NUM_INTRAOP_THREADS if
    set, else the CPUs this process may run on. A long sum is split among them."""
    env = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _sum_threads(n: int, itemsize: int, lanes: int, max_threads: int) -> int:
    """Eigen's TensorCostModel::numThreads for a full sum of n values: each value costs
    its bytes loaded (11/64 cycle a byte) plus 10 compute cycles shared by a packet;
    one more thread for every 100,000 cycles past the first 100,000."""
    cycles = n * (itemsize * 11 / 64 + 10 / lanes)
    return min(max_threads, max(1, int((cycles - 100_000) / 100_000 + 0.9)))


def _predux(packet: Array) -> np.floating:
    """Eigen's horizontal sum of one packet: add the high half to the low half, repeat."""
    while packet.size > 1:
        half = packet.size // 2
        packet = packet[:half] + packet[half:]
    return packet[0]


def _leaf(x: Array, lanes: int) -> np.floating:
    """Eigen's InnerMostDimReducer on <= 1024 packets: four packet accumulators over
    blocks of 4 packets, folded as ((p0 + p1) + p2) + p3, then the remaining whole
    packets into p0, the remaining values one by one into a scalar, and
    scalar + predux(p0)."""
    n, zero = x.size, x.dtype.type(0)
    packet = np.zeros(lanes, x.dtype)
    start = 0
    if n >= 4 * lanes:
        start = n // (4 * lanes) * (4 * lanes)
        acc = x[:start].reshape(-1, 4 * lanes).sum(axis=0)     # row after row, in order
        packet = ((acc[:lanes] + acc[lanes:2 * lanes]) + acc[2 * lanes:3 * lanes]) \
            + acc[3 * lanes:]
    whole = n // lanes * lanes
    for j in range(start, whole, lanes):
        packet = packet + x[j:j + lanes]
    scalar = zero
    for value in x[whole:]:
        scalar = scalar + value
    return scalar + _predux(packet)


def _tree(x: Array, first: int, n: int, lanes: int) -> np.floating:
    """Eigen's tree reduction of x[first:first + n]: split in two at a packet boundary
    (counted from the start of the whole tensor) until a part fits a leaf."""
    if n <= lanes * LEAF_PACKETS:
        return _leaf(x[first:first + n], lanes)
    split = lanes * math.ceil((first + math.ceil(n / 2)) / lanes)
    left = min(split - first, n)
    total = x.dtype.type(0) + _tree(x, first, left, lanes)
    if left < n:
        total = total + _tree(x, split, n - left, lanes)
    return total


def tf_sum(x: Array, max_threads: int | None = None) -> np.floating:
    """sum(x) in x's dtype, added in the order of TensorFlow's CPU `reduce_sum` (Eigen's
    FullReducer with AVX packets), so the result has its bits.

    A long sum (>= 108,388 float32 or 54,194 float64 values) is cut into as many blocks
    as Eigen gives threads (`max_threads`, by default `tf_threads()`), each summed as
    above; then the remainder block, plus the blocks in order."""
    x = np.ascontiguousarray(x).ravel()
    lanes = PACKET_BYTES // x.itemsize
    n = x.size
    threads = _sum_threads(n, x.itemsize, lanes, max_threads or 2**31 - 1)
    if threads > 1 and max_threads is None:      # only a long sum asks how many CPUs
        threads = min(threads, tf_threads())
    if threads == 1:
        return _tree(x, 0, n, lanes)
    block = n // threads
    blocks = n // block
    total = _tree(x, blocks * block, n - blocks * block, lanes) if blocks * block < n \
        else x.dtype.type(0)
    for i in range(blocks):
        total = total + _tree(x, i * block, block, lanes)
    return total


# -- the three clipping rules ----------------------------------------------------------------
def clip_by_value(grads: list[Array], clipvalue: float, out: list[Array]) -> None:
    """g <- max(min(g, v), -v), elementwise (Keras's ops.clip: tf.clip_by_value)."""
    for g, o in zip(grads, out):
        low, high = g.dtype.type(-clipvalue), g.dtype.type(clipvalue)
        np.maximum(np.minimum(g, high, out=o), low, out=o)


def clip_by_norm(grads: list[Array], clipnorm: float, out: list[Array]) -> None:
    """Each g alone: g <- (g * c) / max(||g||, c)   (tf.clip_by_norm)."""
    for g, o in zip(grads, out):
        c = g.dtype.type(clipnorm)
        np.multiply(g, g, out=o)
        l2norm = np.sqrt(tf_sum(o))                  # sum of squares, TensorFlow's order
        np.multiply(g, c, out=o)
        o /= np.maximum(l2norm, c)


def clip_by_global_norm(grads: list[Array], clipnorm: float, out: list[Array]) -> None:
    """All g together: N = sqrt(sum of the per-gradient sums of squares),
    g <- g * (c * min(1 / N, 1 / c) + (N - N))   (keras.optimizers' clip_by_global_norm)."""
    if not grads:
        return
    scalar = grads[0].dtype.type
    squares = []
    for g, o in zip(grads, out):
        np.multiply(g, g, out=o)
        squares.append(tf_sum(o))
    norm = np.sqrt(tf_sum(np.array(squares, grads[0].dtype)))    # ops.sum(ops.stack(...))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = scalar(clipnorm) * np.minimum(scalar(1) / norm, scalar(1.0 / clipnorm))
        scale = scale + (norm - norm)
    for g, o in zip(grads, out):
        np.multiply(g, scale, out=o)
