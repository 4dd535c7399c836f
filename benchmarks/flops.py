"""FLOPs of a training step and of inference, and how fast this machine multiplies the same
matrices: the distance from each model's achieved speed to the hardware.

Only the matrix products are counted (2 m k n floating-point operations for an (m, k) by
(k, n) product): they are the arithmetic of Dense and Conv2D layers, forward and backward.
Elementwise work (activations, pooling, the optimizer) is memory traffic, not FLOPs; it is
what separates the achieved rate from the machine's matmul rate.

    Dense (N, in) -> (N, out):   forward x W (N, in, out); backward dW = x^T dz (in, N, out),
                                 dx = dz W^T (N, out, in) unless it is the first layer
    Conv2D, M = N Ho Wo output pixels, K = kh kw C:  forward cols W (M, K, F); backward
                                 dW = cols^T dz (K, M, F), dx (M, F, K) unless first
"""

from __future__ import annotations

import time

import numpy as np


def gemm_shapes(model, batch: int, training: bool) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product one step of `model` does on `batch` samples."""
    shapes = []
    seen_weights = False
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            n_in, n_out = layer.params["kernel"].shape
            rows = batch * int(np.prod(layer.input_shape[1:-1], dtype=np.int64))
            products = [(rows, n_in, n_out)]
            if training:
                products.append((n_in, rows, n_out))
                if seen_weights:
                    products.append((rows, n_out, n_in))
        elif kind == "Conv2D":
            kh, kw, c, f = layer.params["kernel"].shape
            _, ho, wo, _ = layer.output_shape
            m, k = batch * ho * wo, kh * kw * c
            products = [(m, k, f)]
            if training:
                products.append((k, m, f))
                if seen_weights:
                    products.append((m, f, k))
        else:
            products = []
        shapes += products
        seen_weights = seen_weights or bool(layer.params)
    return shapes


def flops(shapes: list[tuple[int, int, int]]) -> int:
    return int(sum(2 * m * k * n for m, k, n in shapes))


def matmul_seconds(shapes: list[tuple[int, int, int]], repeats: int = 5) -> float:
    """Best time this machine's NumPy/BLAS takes for all of `shapes`, float32, each product
    timed on its own (inputs prepared beforehand, output written in place)."""
    rng = np.random.default_rng(0)
    total = 0.0
    for m, k, n in shapes:
        a = rng.random((m, k), dtype=np.float32)
        b = rng.random((k, n), dtype=np.float32)
        out = np.empty((m, n), np.float32)
        np.matmul(a, b, out=out)                                   # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - start)
        total += best
    return total


def hardware(model, repeats: int = 5) -> dict:
    """FLOPs per training step (batch 32) and per 256 predicted images, and the time this
    machine needs for the same matrix products alone (float32, NumPy's BLAS)."""
    train_shapes = gemm_shapes(model, 32, training=True)
    predict_shapes = gemm_shapes(model, 256, training=False)
    return {"train_mflop": flops(train_shapes) / 1e6,
            "predict_mflop": flops(predict_shapes) / 1e6,
            "train_matmul_ms": matmul_seconds(train_shapes, repeats) * 1e3,
            "predict_matmul_ms": matmul_seconds(predict_shapes, repeats) * 1e3}


def gflops(mflop: float, ms: float) -> float:
    """MFLOP done in `ms` milliseconds, as GFLOP/s."""
    return mflop / ms if ms > 0 else float("nan")
