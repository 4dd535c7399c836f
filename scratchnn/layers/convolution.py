"""Conv2D for images in channels_last layout (N, H, W, C).

The layer is im2col + one matrix product (see im2col.py for how `cols` is built and why):

    forward    z = [cols, 1] @ [kernel; bias]          (M, K+1) @ (K+1, F) = (M, F)
    backward   [dW; db] = [cols, 1]^T @ dz             (K+1, M) @ (M, F)   one product
               dL/dx: gathering (stride 1) or col2im (other strides)

with M = N*Ho*Wo output pixels and K = kh*kw*C. The kernel (kh, kw, C, F) and bias (F,)
are stored end to end (Layer.pack_into), so [kernel; bias] is a (K+1, F) view of them, and
the gradients land in place the same way.

With stride 1, no dilation and C >= 4 channels, the same products run on overlapping
strided views of a kh-times copy of the input instead of a written `cols` (`WindowRows` in
im2col.py: it writes kh copies of the input where `cols` writes kh*kw); the bias is then
added after the product and dL/db is the sum of dz.

`conv2d_naive` / `conv2d_backward_naive` (conv_naive.py) are the teaching twins: plain loops
over every output value, used by the tests as the oracle for this fast path.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import activations, initializers, regularizers
from .base import ActivatedLayer, _fmt_shape, normalize_tuple, regularizer_arg
from .conv_naive import (conv2d_backward_naive, conv2d_naive, max_pool2d_backward_naive,
                         max_pool2d_naive)
from .im2col import (Im2col, WindowRows, col2im, crop, output_length, pad, pads_for,
                     same_padding, view_as)
from .pooling import MaxPool2D, MaxPooling2D, check_padding

Array = np.ndarray

# In inference the batch is processed in pieces whose windows (`cols`, or the kh-times
# copy of WindowRows) take about this many bytes, so they stay in the CPU's cache between
# being written and being multiplied (a batch of 256 images would otherwise make T4's
# second conv write and read 24 MB of window rows; as `cols`, 75 MB).
INFERENCE_CHUNK_BYTES = 4 * 2**20

__all__ = ["Conv2D", "MaxPooling2D", "MaxPool2D", "conv2d_naive", "conv2d_backward_naive",
           "max_pool2d_naive", "max_pool2d_backward_naive", "output_length", "same_padding"]


class Conv2D(ActivatedLayer):
    """2D convolution: y = activation(conv(x, W) + b).

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, filters); W "kernel" (kh, kw, C, filters)
    (HWIO, as Keras); b "bias" (filters,).
    """

    KERAS_ONLY_ARGUMENTS = {"data_format": (None, "channels_last"), "groups": (1,),
                            "kernel_constraint": (None,), "bias_constraint": (None,)}

    def __init__(self, filters: int, kernel_size: int | tuple[int, int],
                 strides: int | tuple[int, int] = 1, padding: str = "valid",
                 activation: str | Callable | None = None, use_bias: bool = True,
                 kernel_initializer: str | Callable = "glorot_uniform",
                 bias_initializer: str | Callable = "zeros",
                 dilation_rate: int | tuple[int, int] = 1, kernel_regularizer=None,
                 bias_regularizer=None, name: str | None = None,
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
        self.padding = check_padding(padding, self)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizer_arg(kernel_regularizer, "kernel_regularizer", self)
        self.bias_regularizer = regularizer_arg(bias_regularizer, "bias_regularizer", self)
        self.new_scratch()
        self._kept = False

    def new_scratch(self) -> None:
        """The buffers Conv2D reuses between calls (a replica gets its own): im2col of the
        input (with the ones column when there is a bias), of dz for the gathering
        backward, and of inference chunks; the window rows of the input and of dz."""
        self._im2col = Im2col(self.kernel_size, self.strides, self.dilation_rate, self.use_bias)
        self._im2col_chunks = Im2col(self.kernel_size, self.strides, self.dilation_rate,
                                     self.use_bias)
        self._im2col_dz = Im2col(self.kernel_size, (1, 1), self.dilation_rate, False)
        self._cols: Array | None = None
        # Stride 1, no dilation, C >= 4: window rows of the input and of dz (im2col.py).
        self._rows, self._rows_dz = WindowRows(), WindowRows()

    @property
    def effective_kernel(self) -> tuple[int, int]:
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))

    @property
    def uses_window_rows(self) -> bool:
        """Whether this layer's products run on WindowRows (stride 1, no dilation, C >= 4
        input channels) rather than on a written `cols` (im2col.py explains both)."""
        return (self.strides == (1, 1) and self.dilation_rate == (1, 1)
                and self.kernel.shape[2] >= 4)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"Conv2D '{self.name}' expects inputs (N, H, W, C) with known "
                             f"channels, got {_fmt_shape(tuple(input_shape))}")
        self.add_weight("kernel", (*self.kernel_size, input_shape[-1], self.filters),
                        self.kernel_initializer, self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer)
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

    def _matrix(self, block: Array) -> Array:
        """[kernel; bias] as one (K + 1, F) matrix (K rows without a bias): a view."""
        return view_as(block, (block.size // self.filters, self.filters))

    # -- forward -----------------------------------------------------------------------------
    def forward(self, x: Array, training: bool = False) -> Array:
        n, h, w, c = x.shape
        self.x_shape = x.shape
        self.pads = pads_for((h, w), self.effective_kernel, self.strides, self.padding)
        _, ho, wo, _ = self.compute_output_shape((None, h, w, c))
        self._xp = pad(x, self.pads)                                  # (N, Hp, Wp, C)
        kh, kw = self.kernel_size
        if self.uses_window_rows:                                     # bytes of U per sample
            per_sample = x.itemsize * ho * self._xp.shape[2] * kh * c
        else:                                                         # ... of cols
            per_sample = x.itemsize * ho * wo * (kh * kw * c + self.use_bias)
        # `_kept`: the windows (U or cols) of this x are kept for backward_z.
        self._kept = training or n * per_sample <= 2 * INFERENCE_CHUNK_BYTES
        if not self._kept:
            z = self._forward_in_chunks((ho, wo), max(1, INFERENCE_CHUNK_BYTES // per_sample))
        elif self.uses_window_rows:
            z = self._rows.conv(self._xp, self.kernel, (ho, wo))      # (N, Ho, Wo, F)
            if self.use_bias:
                z += self.bias
        else:
            self._cols = self._im2col(self._xp, (ho, wo))             # (M, K+1)
            z = self._cols @ self._matrix(self.weight_block)          # (M, F) = z + bias
        return self.activate(z.reshape(n, ho, wo, self.filters), own=True)

    def _forward_in_chunks(self, out_hw: tuple[int, int], chunk: int) -> Array:
        """Inference only: the same products, `chunk` samples at a time (see
        INFERENCE_CHUNK_BYTES). No windows are kept: a backward pass rebuilds them."""
        n = self._xp.shape[0]
        z = np.empty((n, *out_hw, self.filters), self._xp.dtype)
        for start in range(0, n, chunk):
            xp = self._xp[start:start + chunk]
            if self.uses_window_rows:
                z[start:start + chunk] = self._rows.conv(xp, self.kernel, out_hw)
            else:
                np.matmul(self._im2col_chunks(xp, out_hw), self._matrix(self.weight_block),
                          out=view_as(z[start:start + chunk], (-1, self.filters)))
        if self.uses_window_rows and self.use_bias:
            z += self.bias
        return z

    # -- backward ----------------------------------------------------------------------------
    def backward_z(self, dz: Array) -> Array | None:
        # z = cols @ W + b with cols (M, K), W (K, F), as [cols, 1] @ [W; b]:
        #   [dL/dW; dL/db] = [cols, 1]^T dz    (K+1, F) = (K+1, M) @ (M, F)
        #   dL/dx: each pixel collects dz @ W^T from every window that contains it
        dz2 = dz.reshape(-1, self.filters)                             # (M, F)
        if self.trainable:                # a frozen layer computes no weight gradients
            self._weight_grads(dz, dz2)
        if not self.input_grad_needed:
            return None                                                # first layer
        if self.strides == (1, 1):
            return self._input_grad_gathering(dz)
        return self._input_grad_scattering(dz2, dz.shape[1:3])

    def _weight_grads(self, dz: Array, dz2: Array) -> None:
        """[dL/dW; dL/db] = [cols, 1]^T dz, written into the gradient block (a view of the
        model's flat gradient buffer: see Dense.backward_z)."""
        kh, kw, c, _ = self.kernel.shape
        if not self._kept:                # forward ran in inference chunks: rebuild
            if self.uses_window_rows:
                self._rows(self._xp, kh, kw, dz.shape[1])
            else:
                self._cols = self._im2col(self._xp, dz.shape[1:3])
            self._kept = True
        if self.uses_window_rows:                 # the same sums, over the views of WindowRows
            self.grads["kernel"][...] = self._rows.kernel_grad(dz, kh, kw, c, self._xp.shape[2])
            if self.use_bias:
                np.add.reduce(dz2, axis=0, out=self.grads["bias"])     # dL/db = sum of dz
        else:
            np.matmul(self._cols.T, dz2, out=self._matrix(self.grad_block))

    def _input_grad_gathering(self, dz: Array) -> Array:
        """Stride 1: dL/dx[u] = sum_i dz[u + top - i*d] W[i] is a convolution of dz, padded
        by (k_eff - 1 - top, H - Ho + top), with the kernel rotated 180 degrees (i -> kh-1-i)
        and its C and F axes swapped. One im2col of dz (or its WindowRows) and one product,
        no scattered adds."""
        n, h, w, c = self.x_shape
        ho, wo = dz.shape[1:3]
        (top, _), (left, _) = self.pads
        keh, kew = self.effective_kernel
        dzp = pad(dz, ((keh - 1 - top, h - ho + top), (kew - 1 - left, w - wo + left)))
        rotated = self.kernel[::-1, ::-1].transpose(0, 1, 3, 2)        # (kh, kw, F, C)
        if self.uses_window_rows:
            return self._rows_dz.conv(dzp, rotated, (h, w))
        dcols = self._im2col_dz(dzp, (h, w))                          # (N*H*W, kh*kw*F)
        return (dcols @ rotated.reshape(-1, c)).reshape(n, h, w, c)

    def _input_grad_scattering(self, dz2: Array, out_hw: tuple[int, int]) -> Array:
        """Any stride: dcols = dz W^T (M, K), then col2im adds each window back in place."""
        n, _, _, c = self.x_shape
        kernel2 = self.kernel.reshape(-1, self.filters)               # (K, F)
        dcols = (dz2 @ kernel2.T).reshape(n, *out_hw, *self.kernel_size, c)
        dxp = col2im(dcols, self._xp.shape, self.kernel_size, self.strides, self.dilation_rate)
        return crop(dxp, self.pads)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}
