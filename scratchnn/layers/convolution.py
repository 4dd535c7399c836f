"""Convolution and pooling for images in channels_last layout (N, H, W, C).

Conv2D as one matrix product (im2col)
-------------------------------------
A convolution slides a (kh, kw, C) window over the padded input and takes, at every
output position, the dot product of that window with each of the `filters` kernels.
im2col lays every window out as one row:

    cols    (N, Ho, Wo, kh, kw, C)  ->  (N*Ho*Wo, kh*kw*C)     one row per output pixel
    kernel  (kh, kw, C, F)          ->  (kh*kw*C, F)           same (kh, kw, C) order
    out  =  cols @ kernel + bias        (N*Ho*Wo, F)  ->  (N, Ho, Wo, F)

so the whole layer is a single BLAS matrix product. The rows are filled with one
strided slice per kernel offset (i, j): the pixel that offset touches for every
output position at once is xp[:, i*d : i*d + s*Ho : s, j*d : j*d + s*Wo : s, :].
That loop runs kh*kw times (9 for a 3x3 kernel), never over pixels or samples.

Backward mirrors it: dW = cols^T @ dz, db = sum(dz), dcols = dz @ kernel^T, and
col2im adds each offset's slice of dcols back onto the input positions it came
from (the "+=" accumulates where windows overlap).

`conv2d_naive` / `max_pool2d_naive` below are the teaching twins: plain loops over
every output value, used by the tests as the oracle for the fast kernels.

Padding follows TensorFlow exactly: "valid" uses no padding and
Ho = floor((H - k_eff) / s) + 1; "same" gives Ho = ceil(H / s) and pads
total = max((Ho - 1) s + k_eff - H, 0), top/left getting total // 2 and
bottom/right the rest (the extra pixel goes LAST). k_eff = (k - 1) d + 1.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import activations, initializers
from .base import ActivatedLayer, Layer, _fmt_shape, normalize_tuple

Array = np.ndarray


# -- geometry -------------------------------------------------------------------------------
def output_length(size: int | None, k_eff: int, stride: int, padding: str) -> int | None:
    """Output size along one axis (TensorFlow's rule)."""
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    return (size - k_eff) // stride + 1


def same_padding(size: int, k_eff: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of 'same': the extra pixel, if any, goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def _pads(shape_hw: tuple[int, int], k_eff: tuple[int, int], strides: tuple[int, int],
          padding: str) -> tuple[tuple[int, int], tuple[int, int]]:
    if padding == "valid":
        return (0, 0), (0, 0)
    return (same_padding(shape_hw[0], k_eff[0], strides[0]),
            same_padding(shape_hw[1], k_eff[1], strides[1]))


def _check_padding(padding: str, owner: Layer) -> str:
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{type(owner).__name__} '{owner.name}': padding must be 'valid' or "
                         f"'same', got {padding!r}")
    return padding


# -- the fast kernels (im2col / col2im) -------------------------------------------------------
def im2col(xp: Array, kernel: tuple[int, int], strides: tuple[int, int],
           dilation: tuple[int, int], out_hw: tuple[int, int], out: Array | None = None) -> Array:
    """Windows of the padded input xp (N, Hp, Wp, C) as (N, Ho, Wo, kh, kw, C)."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, strides, dilation, out_hw
    n, _, _, c = xp.shape
    if out is None or out.shape != (n, ho, wo, kh, kw, c) or out.dtype != xp.dtype:
        out = np.empty((n, ho, wo, kh, kw, c), dtype=xp.dtype)
    for i in range(kh):
        for j in range(kw):
            # the input pixel under kernel offset (i, j), for every output position
            out[:, :, :, i, j, :] = xp[:, i * dh: i * dh + sh * ho: sh,
                                       j * dw: j * dw + sw * wo: sw, :]
    return out


def col2im(dcols: Array, padded_shape: tuple, strides: tuple[int, int],
           dilation: tuple[int, int]) -> Array:
    """The adjoint of im2col: sum (N, Ho, Wo, kh, kw, C) back onto (N, Hp, Wp, C)."""
    _, ho, wo, kh, kw, _ = dcols.shape
    (sh, sw), (dh, dw) = strides, dilation
    dxp = np.zeros(padded_shape, dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, i * dh: i * dh + sh * ho: sh, j * dw: j * dw + sw * wo: sw, :] += \
                dcols[:, :, :, i, j, :]
    return dxp


def _pad(x: Array, pads: tuple[tuple[int, int], tuple[int, int]], value: float = 0) -> Array:
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _crop(xp: Array, pads: tuple[tuple[int, int], tuple[int, int]]) -> Array:
    (top, bottom), (left, right) = pads
    return xp[:, top: xp.shape[1] - bottom, left: xp.shape[2] - right, :]


# -- the teaching twins (loops over every output value; the tests' oracle) -------------------
def conv2d_naive(x: Array, kernel: Array, bias: Array | None, strides=(1, 1),
                 padding: str = "valid", dilation=(1, 1)) -> Array:
    """out[n, y, x, f] = b[f] + sum_{i, j, c} xp[n, y*s + i*d, x*s + j*d, c] * W[i, j, c, f]."""
    kh, kw, _, filters = kernel.shape
    k_eff = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
    pads = _pads(x.shape[1:3], k_eff, strides, padding)
    xp = _pad(x, pads)
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
    pads = _pads(x.shape[1:3], pool, strides, padding)
    xp = _pad(x, pads, value=-np.inf)
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
    pads = _pads(x.shape[1:3], k_eff, strides, padding)
    xp = _pad(x, pads)
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
    return _crop(dxp, pads), dw, dout.sum(axis=(0, 1, 2))


def max_pool2d_backward_naive(x: Array, dout: Array, pool=(2, 2), strides=None,
                              padding: str = "valid") -> Array:
    """dL/dx: each window's gradient goes to its first maximum (row-major), summed."""
    strides = strides or pool
    pads = _pads(x.shape[1:3], pool, strides, padding)
    xp = _pad(x, pads, value=-np.inf)
    dxp = np.zeros_like(xp)
    for n in range(dout.shape[0]):
        for y in range(dout.shape[1]):
            for xx in range(dout.shape[2]):
                for c in range(dout.shape[3]):
                    r0, c0 = y * strides[0], xx * strides[1]
                    window = xp[n, r0: r0 + pool[0], c0: c0 + pool[1], c]
                    i, j = np.unravel_index(np.argmax(window), window.shape)   # first max
                    dxp[n, r0 + i, c0 + j, c] += dout[n, y, xx, c]
    return _crop(dxp, pads)


# -- the layers -----------------------------------------------------------------------------
class Conv2D(ActivatedLayer):
    """2D convolution: y = activation(conv(x, W) + b).

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, filters); W "kernel" (kh, kw, C, filters)
    (HWIO, as Keras); b "bias" (filters,).
    """

    def __init__(self, filters: int, kernel_size: int | tuple[int, int],
                 strides: int | tuple[int, int] = 1, padding: str = "valid",
                 activation: str | Callable | None = None, use_bias: bool = True,
                 kernel_initializer: str | Callable = "glorot_uniform",
                 bias_initializer: str | Callable = "zeros",
                 dilation_rate: int | tuple[int, int] = 1, name: str | None = None,
                 input_shape: tuple | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"Conv2D '{self.name}': filters must be a positive int, "
                             f"got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", self)
        self.strides = normalize_tuple(strides, 2, "strides", self)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", self)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"Conv2D '{self.name}': strides > 1 not supported with "
                             f"dilation_rate > 1 (as Keras); got strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.padding = _check_padding(padding, self)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._cols: Array | None = None            # im2col buffer, reused between steps

    @property
    def effective_kernel(self) -> tuple[int, int]:
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"Conv2D '{self.name}' expects inputs (N, H, W, C) with known "
                             f"channels, got {_fmt_shape(tuple(input_shape))}")
        self.add_weight("kernel", (*self.kernel_size, input_shape[-1], self.filters),
                        self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        out_hw = tuple(output_length(size, k, s, self.padding) for size, k, s in
                       zip(input_shape[1:3], self.effective_kernel, self.strides))
        if any(d is not None and d <= 0 for d in out_hw):
            raise ValueError(f"Conv2D '{self.name}': kernel {self.kernel_size} does not fit "
                             f"inputs {_fmt_shape(tuple(input_shape))} with padding "
                             f"'{self.padding}' (output would be {out_hw})")
        return (input_shape[0], *out_hw, self.filters)

    def check_input(self, x: Array) -> None:
        channels = self.params["kernel"].shape[2]
        if x.ndim != 4 or x.shape[-1] != channels:
            raise ValueError(f"Conv2D '{self.name}' expects inputs (N, H, W, {channels}), "
                             f"got {x.shape}")
        self.compute_output_shape((None, *x.shape[1:]))

    @property
    def kernel(self) -> Array:
        return self.params["kernel"]

    @property
    def bias(self) -> Array | None:
        return self.params.get("bias")

    def forward(self, x: Array, training: bool = False) -> Array:
        n, h, w, c = x.shape
        self.pads = _pads((h, w), self.effective_kernel, self.strides, self.padding)
        xp = _pad(x, self.pads)                                   # (N, Hp, Wp, C)
        self.padded_shape = xp.shape
        _, ho, wo, _ = self.compute_output_shape((None, h, w, c))
        self._cols = im2col(xp, self.kernel_size, self.strides, self.dilation_rate, (ho, wo),
                            out=self._cols)                       # (N, Ho, Wo, kh, kw, C)
        cols2 = self._cols.reshape(n * ho * wo, -1)               # (N*Ho*Wo, kh*kw*C)
        z = cols2 @ self.params["kernel"].reshape(-1, self.filters)   # (N*Ho*Wo, F)
        if self.use_bias:
            z += self.params["bias"]
        return self.activate(z.reshape(n, ho, wo, self.filters))

    def backward_z(self, dz: Array) -> Array | None:
        # z = cols @ W2 + b with cols (M, K), W2 (K, F), M = N*Ho*Wo, K = kh*kw*C:
        #   dL/dW2 = cols^T dz   (K, F) = (K, M) @ (M, F), reshaped to (kh, kw, C, F)
        #   dL/db  = sum_M dz    (F,)
        #   dL/dcols = dz W2^T   (M, K), then col2im scatters it back onto x
        dz2 = dz.reshape(-1, self.filters)                        # (M, F)
        cols2 = self._cols.reshape(dz2.shape[0], -1)              # (M, K)
        kernel = self.params["kernel"]
        np.matmul(cols2.T, dz2, out=self.grads["kernel"].reshape(cols2.shape[1], self.filters))
        if self.use_bias:
            np.sum(dz2, axis=0, out=self.grads["bias"])
        if not self.input_grad_needed:
            return None                                           # first layer: dL/dx unused
        dcols = (dz2 @ kernel.reshape(-1, self.filters).T).reshape(self._cols.shape)
        dxp = col2im(dcols, self.padded_shape, self.strides, self.dilation_rate)
        return _crop(dxp, self.pads)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}


class MaxPooling2D(Layer):
    """Max over (ph, pw) windows moved by `strides` (default: the pool size).

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, C). The gradient of each window goes to its
    FIRST maximum in row-major order (as TensorFlow); overlapping windows accumulate.
    'same' padding pads with -inf, so padding never wins a max.
    """

    def __init__(self, pool_size: int | tuple[int, int] = (2, 2),
                 strides: int | tuple[int, int] | None = None, padding: str = "valid",
                 name: str | None = None, input_shape: tuple | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", self)
        self.strides = normalize_tuple(strides if strides is not None else self.pool_size, 2,
                                       "strides", self)
        self.padding = _check_padding(padding, self)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if len(input_shape) != 4:
            raise ValueError(f"MaxPooling2D '{self.name}' expects inputs (N, H, W, C), got "
                             f"{_fmt_shape(tuple(input_shape))}")
        out_hw = tuple(output_length(size, p, s, self.padding) for size, p, s in
                       zip(input_shape[1:3], self.pool_size, self.strides))
        if any(d is not None and d <= 0 for d in out_hw):
            raise ValueError(f"MaxPooling2D '{self.name}': pool {self.pool_size} does not fit "
                             f"inputs {_fmt_shape(tuple(input_shape))}")
        return (input_shape[0], *out_hw, input_shape[3])

    def check_input(self, x: Array) -> None:
        if x.ndim != 4 or (self.input_shape and x.shape[-1] != self.input_shape[-1]):
            raise ValueError(f"MaxPooling2D '{self.name}' expects inputs "
                             f"{_fmt_shape(self.input_shape)}, got {x.shape}")
        self.compute_output_shape((None, *x.shape[1:]))

    def _window_slices(self, out_hw: tuple[int, int]):
        """For each pool offset (i, j), in row-major order, the slice of the padded input
        it covers for every output position at once."""
        (ph, pw), (sh, sw), (ho, wo) = self.pool_size, self.strides, out_hw
        for i in range(ph):
            for j in range(pw):
                yield (slice(None), slice(i, i + sh * ho, sh), slice(j, j + sw * wo, sw))

    def forward(self, x: Array, training: bool = False) -> Array:
        n, h, w, c = x.shape
        self.pads = _pads((h, w), self.pool_size, self.strides, self.padding)
        self.xp = _pad(x, self.pads, value=-np.inf)            # (N, Hp, Wp, C)
        _, ho, wo, _ = self.compute_output_shape((None, h, w, c))
        # A running elementwise maximum over the ph*pw offsets: one pass per offset.
        windows = list(self._window_slices((ho, wo)))
        out = self.xp[windows[0]].copy()                      # (N, Ho, Wo, C)
        for window in windows[1:]:
            np.maximum(out, self.xp[window], out=out)
        self.out = out
        return out

    def backward(self, dy: Array) -> Array:
        # dL/dx: each window sends dL/dy to its FIRST maximum in row-major order (as
        # TensorFlow): visit the offsets in that order and let each window be claimed
        # once. Where windows overlap, an input collects from every window it won.
        dxp = np.zeros(self.xp.shape, dtype=dy.dtype)
        claimed = np.zeros(dy.shape, dtype=bool)
        for window in self._window_slices(dy.shape[1:3]):
            wins = self.xp[window] == self.out                # (N, Ho, Wo, C) bool
            wins &= ~claimed
            claimed |= wins
            dxp[window] += dy * wins
        return _crop(dxp, self.pads)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


MaxPool2D = MaxPooling2D
