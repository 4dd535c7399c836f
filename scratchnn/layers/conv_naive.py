"""The teaching twins of the convolution kernels: plain loops over every output value.

Slow and obvious, they state what Conv2D and the pooling layers compute; the tests use them as
the oracle the fast kernels (im2col.py, convolution.py, pooling.py) must agree with.
"""

from __future__ import annotations

import numpy as np

from .im2col import crop, output_length, pad, pads_for

Array = np.ndarray


# -- the teaching twins (loops over every output value; the tests' oracle) -------------------
def conv2d_naive(x: Array, kernel: Array, bias: Array | None, strides=(1, 1),
                 padding: str = "valid", dilation=(1, 1)) -> Array:
    """out[n, y, x, f] = b[f] + sum_{i, j, c} xp[n, y*s + i*d, x*s + j*d, c] * W[i, j, c, f]."""
    kh, kw, _, filters = kernel.shape
    k_eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
    pads = pads_for(x.shape[1:3], k_eff, strides, padding)
    xp = pad(x, pads)
    ho = output_length(x.shape[1], k_eff[0], strides[0], padding)
    wo = output_length(x.shape[2], k_eff[1], strides[1], padding)
    out = np.zeros((x.shape[0], ho, wo, filters), dtype=x.dtype)
    for n in range(x.shape[0]):
        for y in range(ho):
            for xx in range(wo):
                for f in range(filters):
                    total = 0.0 if bias is None else bias[f]
                    for i in range(kh):
                        for j in range(kw):
                            pixel = xp[n, y * strides[0] + i * dilation[0],
                                       xx * strides[1] + j * dilation[1], :]
                            total += np.dot(pixel, kernel[i, j, :, f])
                    out[n, y, xx, f] = total
    return out


def max_pool2d_naive(x: Array, pool=(2, 2), strides=None, padding: str = "valid") -> Array:
    """out[n, y, x, c] = max of the (ph, pw) window at (y*s, x*s); padding never wins."""
    strides = strides or pool
    pads = pads_for(x.shape[1:3], pool, strides, padding)
    xp = pad(x, pads, value=-np.inf)
    ho = output_length(x.shape[1], pool[0], strides[0], padding)
    wo = output_length(x.shape[2], pool[1], strides[1], padding)
    out = np.zeros((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
    for n in range(x.shape[0]):
        for y in range(ho):
            for xx in range(wo):
                for c in range(x.shape[3]):
                    window = xp[n, y * strides[0]: y * strides[0] + pool[0],
                                xx * strides[1]: xx * strides[1] + pool[1], c]
                    out[n, y, xx, c] = window.max()
    return out


def conv2d_backward_naive(x: Array, kernel: Array, dout: Array, strides=(1, 1),
                          padding: str = "valid", dilation=(1, 1)) -> tuple[Array, Array, Array]:
    """(dL/dx, dL/dW, dL/db) by looping over every output value: each out[n, y, x, f]
    received W[i, j, :, f] * (its input pixel), so it sends dout back along both."""
    kh, kw, _, filters = kernel.shape
    k_eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
    pads = pads_for(x.shape[1:3], k_eff, strides, padding)
    xp = pad(x, pads)
    dxp, dw = np.zeros_like(xp), np.zeros_like(kernel)
    for n in range(dout.shape[0]):
        for y in range(dout.shape[1]):
            for xx in range(dout.shape[2]):
                for f in range(filters):
                    g = dout[n, y, xx, f]
                    for i in range(kh):
                        for j in range(kw):
                            r, c = y * strides[0] + i * dilation[0], xx * strides[1] + j * dilation[1]
                            dw[i, j, :, f] += g * xp[n, r, c, :]
                            dxp[n, r, c, :] += g * kernel[i, j, :, f]
    return crop(dxp, pads), dw, dout.sum(axis=(0, 1, 2))


def max_pool2d_backward_naive(x: Array, dout: Array, pool=(2, 2), strides=None,
                              padding: str = "valid") -> Array:
    """dL/dx: each window's gradient goes to its first maximum (row-major), summed."""
    strides = strides or pool
    pads = pads_for(x.shape[1:3], pool, strides, padding)
    xp = pad(x, pads, value=-np.inf)
    dxp = np.zeros_like(xp)
    for n in range(dout.shape[0]):
        for y in range(dout.shape[1]):
            for xx in range(dout.shape[2]):
                for c in range(dout.shape[3]):
                    r0, c0 = y * strides[0], xx * strides[1]
                    window = xp[n, r0: r0 + pool[0], c0: c0 + pool[1], c]
                    i, j = np.unravel_index(np.argmax(window), window.shape)   # first max
                    dxp[n, r0 + i, c0 + j, c] += dout[n, y, xx, c]
    return crop(dxp, pads)


def avg_pool2d_naive(x: Array, pool=(2, 2), strides=None, padding: str = "valid") -> Array:
    """out[n, y, x, c] = mean of the real (unpadded) inputs of the window at (y*s, x*s)."""
    strides = strides or pool
    pads = pads_for(x.shape[1:3], pool, strides, padding)
    xp = pad(x, pads, value=np.nan)                      # NaN marks padding
    ho = output_length(x.shape[1], pool[0], strides[0], padding)
    wo = output_length(x.shape[2], pool[1], strides[1], padding)
    out = np.zeros((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
    for n in range(x.shape[0]):
        for y in range(ho):
            for xx in range(wo):
                for c in range(x.shape[3]):
                    window = xp[n, y * strides[0]: y * strides[0] + pool[0],
                                xx * strides[1]: xx * strides[1] + pool[1], c]
                    real = window[~np.isnan(window)]
                    out[n, y, xx, c] = real.sum() / real.size
    return out


def avg_pool2d_backward_naive(x: Array, dout: Array, pool=(2, 2), strides=None,
                              padding: str = "valid") -> Array:
    """dL/dx: each window's gradient, divided by its count of real inputs, goes to each
    of them; inputs in several windows add up."""
    strides = strides or pool
    pads = pads_for(x.shape[1:3], pool, strides, padding)
    real = pad(np.ones_like(x), pads)                    # 1 where x is, 0 on padding
    dxp = np.zeros_like(real)
    for n in range(dout.shape[0]):
        for y in range(dout.shape[1]):
            for xx in range(dout.shape[2]):
                for c in range(dout.shape[3]):
                    r0, c0 = y * strides[0], xx * strides[1]
                    window = real[n, r0: r0 + pool[0], c0: c0 + pool[1], c]
                    dxp[n, r0: r0 + pool[0], c0: c0 + pool[1], c] += (
                        window * dout[n, y, xx, c] / window.sum())
    return crop(dxp, pads)
