"""Convolution geometry and the fast kernels behind Conv2D (im2col, col2im).

Padding, as TensorFlow does it
------------------------------
"valid" uses no padding: Ho = floor((H - k_eff) / s) + 1. "same" gives Ho = ceil(H / s)
and pads total = max((Ho - 1) s + k_eff - H, 0): top/left get total // 2, bottom/right
the rest (the extra pixel goes LAST). k_eff = (k - 1) d + 1 for dilation d.

im2col: a convolution as one matrix product
-------------------------------------------
A convolution slides a (kh, kw, C) window over the padded input and takes, at every output
position, the dot product of that window with each of the F kernels. im2col lays every
window out as one row of a matrix `cols`:

    cols    (M, K)  with M = N*Ho*Wo output pixels and K = kh*kw*C, in (kh, kw, C) order
    kernel  (kh, kw, C, F)  ->  (K, F)   (a reshape: same (kh, kw, C) order)
    z = cols @ kernel + bias   (M, F)  ->  (N, Ho, Wo, F)

scratchnn also appends a column of ones to `cols` and keeps the bias as row K + 1 of the
kernel matrix, so `z = [cols, 1] @ [kernel; bias]`: the bias costs no separate pass, and the
backward product `[cols, 1]^T @ dz` yields the bias gradient (sum of dz) as its last row.

How `cols` is filled depends on the channels (both give the same matrix):
- many channels (C >= 4): each window is kh rows of kw*C contiguous numbers. A strided VIEW
  of the padded input (`sliding_window_view`) already is the (N, Ho, Wo, kh, kw, C) array;
  one copy into `cols` makes it a matrix.
- few channels (C = 1 for grayscale images): a row of `cols` would be K scattered single
  numbers, slow to write. Instead fill its transpose (K, M) one kernel offset at a time:
  offset (i, j, c) touches, for all output pixels at once, the strided slice
  xp[:, i*d : i*d + s*Ho : s, j*d : j*d + s*Wo : s, c], which becomes one contiguous row.
  `cols` is then the transpose of that buffer, a view BLAS reads directly.

Stride 1 with many channels skips writing `cols` altogether: `WindowRows` copies the input
once per kernel ROW and finds every window inside that copy as overlapping rows, read
through strided views (see its docstring).

The backward pass needs dL/dx = "spread each dcols row back onto the window it came from".
Two ways:
- col2im (any stride): dcols = dz @ kernel^T, then add each offset's slice back onto the
  input positions it came from ("+=" accumulates where windows overlap). Scattering.
- gathering (stride 1): dL/dx is itself a convolution: of dz, padded by k_eff - 1 - top
  before and H - Ho + top after, with the kernel rotated 180 degrees and its C and F axes
  swapped. One im2col of the padded dz and one matrix product; no scattered writes.
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray
Pads = tuple[tuple[int, int], tuple[int, int]]


# -- geometry ---------------------------------------------------------------------------------
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


def pads_for(shape_hw: tuple[int, int], k_eff: tuple[int, int], strides: tuple[int, int],
             padding: str) -> Pads:
    """((top, bottom), (left, right)) for inputs of spatial shape `shape_hw`."""
    if padding == "valid":
        return (0, 0), (0, 0)
    return (same_padding(shape_hw[0], k_eff[0], strides[0]),
            same_padding(shape_hw[1], k_eff[1], strides[1]))


def pad(x: Array, pads: Pads, value: float = 0) -> Array:
    """x (N, H, W, C) padded on H and W (x itself when there is nothing to pad)."""
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def crop(xp: Array, pads: Pads) -> Array:
    """The inverse of `pad`: the unpadded middle of xp (a view)."""
    (top, bottom), (left, right) = pads
    return xp[:, top: xp.shape[1] - bottom, left: xp.shape[2] - right, :]


def view_as(a: Array, shape: tuple) -> Array:
    """`a` reshaped WITHOUT copying (raises if impossible): for views we write through."""
    view = a.view()
    view.shape = shape
    return view


# -- im2col ---------------------------------------------------------------------------------
def window_view(xp: Array, kernel: tuple[int, int], strides: tuple[int, int],
                dilation: tuple[int, int], out_hw: tuple[int, int]) -> Array:
    """Every window of xp (N, Hp, Wp, C) as a strided VIEW (N, Ho, Wo, kh, kw, C): no copy.

    view[n, y, x, i, j, c] = xp[n, y*s + i*d, x*s + j*d, c]."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, strides, dilation, out_hw
    k_eff = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    windows = np.lib.stride_tricks.sliding_window_view(xp, k_eff, axis=(1, 2))
    windows = windows[:, :sh * (ho - 1) + 1:sh, :sw * (wo - 1) + 1:sw, :, ::dh, ::dw]
    return windows.transpose(0, 1, 2, 4, 5, 3)          # (N, Ho, Wo, C, kh, kw) -> ..., C


class Im2col:
    """Builds `cols` (M, K [+ 1]) for one layer's geometry into a buffer it reuses.

    `with_ones` appends the ones column (the bias trick). The buffer is kept between calls
    of the same shape (every full batch), so a step allocates nothing here."""

    def __init__(self, kernel: tuple[int, int], strides: tuple[int, int],
                 dilation: tuple[int, int], with_ones: bool) -> None:
        self.kernel, self.strides, self.dilation = kernel, strides, dilation
        self.with_ones = with_ones
        self._buffer: Array | None = None

    def __call__(self, xp: Array, out_hw: tuple[int, int]) -> Array:
        n, _, _, c = xp.shape
        (kh, kw), (ho, wo) = self.kernel, out_hw
        m, k = n * ho * wo, kh * kw * c
        transposed = c < 4                   # few channels: fill the (K, M) transpose
        shape = (k + self.with_ones, m) if transposed else (m, k + self.with_ones)
        if self._buffer is None or self._buffer.shape != shape or self._buffer.dtype != xp.dtype:
            self._buffer = np.empty(shape, xp.dtype)
            if self.with_ones:               # written once; the fills below never touch it
                self._buffer[-1 if transposed else (Ellipsis, -1)] = 1
        if transposed:
            rows = view_as(self._buffer[:k], (kh, kw, c, n, ho, wo))
            (sh, sw), (dh, dw) = self.strides, self.dilation
            for i in range(kh):
                for j in range(kw):
                    # offset (i, j): the input pixel under it, for every output position
                    window = xp[:, i * dh: i * dh + sh * ho: sh, j * dw: j * dw + sw * wo: sw, :]
                    rows[i, j] = window.transpose(3, 0, 1, 2)
            return self._buffer.T             # (M, K + 1), a transposed view
        cols = view_as(self._buffer[:, :k], (n, ho, wo, kh, kw, c))
        cols[...] = window_view(xp, self.kernel, self.strides, self.dilation, out_hw)
        return self._buffer


class WindowRows:
    """Stride 1, many channels: a convolution's products WITHOUT writing `cols` out.

    `cols` repeats every input pixel kh*kw times (16 times for a 4x4 kernel), and writing
    and reading that matrix costs more than the product itself on a small CPU. Here the
    padded input is copied kh times only, once per kernel row, into

        U (N, Ho, Wp, kh, C)    U[n, y, x, i, c] = xp[n, y + i, x, c]

    In U's memory the window of output pixel (n, y, x), in (j, i, c) order, is ONE run of
    K = kw*kh*C numbers: it starts at U[n, y, x] and ends with U[n, y, x + kw - 1] (x + j
    is the next "column" of U). So `cols` already exists inside U, as rows that overlap:
    row (n, y, x + 1) starts kh*C numbers after row (n, y, x). A matrix for BLAS needs its
    rows at least K apart, so the products go by phase: for s = 0 .. kw-1, the windows at
    flat positions s, s + kw, s + 2 kw, ... are exactly K apart, a strided VIEW of U
    (`as_strided`, nothing copied), and one product (P/kw, K) @ (K, F) fills every kw-th
    row of z. Positions run over the padded width Wp, so the last Wp - Wo of each row are
    computed and dropped (15/12 of the work for a 4x4 'same' conv on 12x12 maps); U is
    kh times the input instead of kh*kw times. The kernel is used in the same (j, i, c)
    order: kernel.transpose(1, 0, 2, 3). `im2col_reference` is the plain version.
    """

    def __init__(self) -> None:
        self._buffer: Array | None = None

    def __call__(self, xp: Array, kh: int, kw: int, ho: int) -> Array:
        """U for xp (N, Hp, Wp, C), flat, with kw*kh*C spare zeros at the end so the
        last windows (which run past the last row) are inside the buffer."""
        n, _, wp, c = xp.shape
        size = n * ho * wp * kh * c
        if self._buffer is None or self._buffer.size != size + kw * kh * c \
                or self._buffer.dtype != xp.dtype:
            self._buffer = np.zeros(size + kw * kh * c, xp.dtype)
        u = self._buffer[:size].reshape(n, ho, wp, kh, c)
        for i in range(kh):
            u[:, :, :, i] = xp[:, i:i + ho]                 # kernel row i, all windows
        return self._buffer

    @staticmethod
    def phases(u: Array, positions: int, kh: int, kw: int, c: int):
        """(s, rows, view): for each phase s, the (rows, K) view of the windows at flat
        positions s, s + kw, ... < positions (K = kw*kh*C numbers each, read-only)."""
        k, item = kw * kh * c, u.itemsize
        for s in range(kw):
            rows = -(-(positions - s) // kw)
            yield s, rows, np.lib.stride_tricks.as_strided(
                u[s * kh * c:], shape=(rows, k), strides=(k * item, item), writeable=False)

    def conv(self, xp: Array, kernel: Array, out_hw: tuple[int, int]) -> Array:
        """z (N, Ho, Wo, F) = the stride-1 convolution of xp with kernel (kh, kw, C, F),
        no bias: a view into the (N, Ho, Wp, F) result of the kw phase products."""
        kh, kw, c, f = kernel.shape
        n, _, wp, _ = xp.shape
        ho, wo = out_hw
        u = self(xp, kh, kw, ho)
        weights = kernel.transpose(1, 0, 2, 3).reshape(kw * kh * c, f)   # (K, F), (j, i, c)
        positions = n * ho * wp                              # output pixels over width Wp
        z = np.empty((positions, f), xp.dtype)
        for s, rows, windows in self.phases(u, positions, kh, kw, c):
            np.matmul(windows, weights, out=z[s: s + kw * rows: kw])
        return z.reshape(n, ho, wp, f)[:, :, :wo]

    def kernel_grad(self, dz: Array, kh: int, kw: int, c: int, wp: int) -> Array:
        """dL/dkernel (kh, kw, C, F) = sum over pixels of window^T dz, from the U of the
        last `conv`: per phase, view^T @ (the matching rows of dz, zero where x >= Wo)."""
        n, ho, wo, f = dz.shape
        positions = n * ho * wp
        grid = np.zeros((positions, f), dz.dtype)             # dz over the padded width
        grid.reshape(n, ho, wp, f)[:, :, :wo] = dz
        grad = np.zeros((kw * kh * c, f), dz.dtype)
        for s, rows, windows in self.phases(self._buffer, positions, kh, kw, c):
            grad += windows.T @ grid[s: s + kw * rows: kw]
        return grad.reshape(kw, kh, c, f).transpose(1, 0, 2, 3)


def col2im(dcols: Array, padded_shape: tuple, kernel: tuple[int, int],
           strides: tuple[int, int], dilation: tuple[int, int]) -> Array:
    """The adjoint of im2col: sum dcols (N, Ho, Wo, kh, kw, C) back onto (N, Hp, Wp, C)."""
    _, ho, wo, kh, kw, _ = dcols.shape
    (sh, sw), (dh, dw) = strides, dilation
    dxp = np.zeros(padded_shape, dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, i * dh: i * dh + sh * ho: sh, j * dw: j * dw + sw * wo: sw, :] += \
                dcols[:, :, :, i, j, :]
    return dxp


def im2col_reference(xp: Array, kernel: tuple[int, int], strides: tuple[int, int],
                     dilation: tuple[int, int], out_hw: tuple[int, int]) -> Array:
    """The plain version of `Im2col` (no ones column): one strided copy per kernel offset
    into the (N, Ho, Wo, kh, kw, C) array, reshaped to (M, K). The tests' oracle."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, strides, dilation, out_hw
    n, _, _, c = xp.shape
    out = np.empty((n, ho, wo, kh, kw, c), dtype=xp.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, :, i, j, :] = xp[:, i * dh: i * dh + sh * ho: sh,
                                       j * dw: j * dw + sw * wo: sw, :]
    return out.reshape(n * ho * wo, kh * kw * c)
