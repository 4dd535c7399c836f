"""Activation functions and their derivatives.

Each activation `f` is a plain function of an array; its backward partner
`f_backward(dy, x, y)` turns the upstream gradient dL/dy into dL/dx, given the
input `x` and output `y = f(x)` cached by the layer (whichever is cheaper to use).

    relu        y = max(x, 0)              dy/dx = 1[x > 0]   (0 at x == 0, as TensorFlow)
    sigmoid     y = 1 / (1 + e^-x)         dy/dx = y (1 - y)
    tanh        y = tanh(x)                dy/dx = 1 - y^2
    softmax     y_i = e^x_i / sum e^x      dL/dx = y * (dL/dy - sum_j dL/dy_j y_j)
    linear      y = x                      dy/dx = 1
    leaky_relu  y = x (x > 0), a x else    dy/dx = 1 or a             (a = 0.2 by default)
    elu         y = x (x > 0), a (e^x - 1) dy/dx = 1 or a e^x         (a = 1 by default)
    gelu        y = x Phi(x)               dy/dx = Phi(x) + x phi(x)  (Phi: the normal CDF)
    softplus    y = log(1 + e^x)           dy/dx = 1 / (1 + e^-x)
    silu        y = x s(x), s the sigmoid  dy/dx = s (1 + x (1 - s))  ("swish" too)

softmax and sigmoid are special when they feed a crossentropy loss: the model
then skips their backward and uses the fused gradient `p - y` (see losses.py).

`relu_general` is Keras's relu with its three options (the ReLU layer's), with its
backward: see there.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

Array = np.ndarray


def relu(x: Array, out: Array | None = None) -> Array:
    """max(x, 0), elementwise; written into `out` when given (which may be x itself)."""
    # Large inputs against an array of zeros rather than the scalar 0: NumPy 2.4 vectorises
    # maximum only when both operands are arrays, and ran maximum(x, 0) 2.7x slower on
    # this machine (339 against 126 us for 692,224 float32: a conv32 activation at batch
    # 32). Small ones do not gain what fetching the zeros costs.
    if x.size < 4096:
        return np.maximum(x, 0, out=out)
    return np.maximum(x, zeros_like_view(x), out=out)


_ZEROS: dict[np.dtype, Array] = {}


def zeros_like_view(x: Array) -> Array:
    """A read-only array of zeros shaped like x, a view of one buffer kept per dtype.

    The buffer is never written, so the operating system backs it with its single shared
    page of zeros: it costs no memory however large, and reading it stays in cache."""
    buffer = _ZEROS.get(x.dtype)
    if buffer is None or buffer.size < x.size:
        buffer = _ZEROS[x.dtype] = np.zeros(max(x.size, 4096), x.dtype)
        buffer.flags.writeable = False
    return buffer[:x.size].reshape(x.shape)


def relu_backward(dy: Array, x: Array | None, y: Array) -> Array:
    # dL/dx = dL/dy * 1[x > 0]; the subgradient at 0 is 0, as in TensorFlow.
    # y = max(x, 0) > 0 exactly where x > 0, so the output alone gives the mask: a layer
    # may compute relu in place over its pre-activation and keep no x (ActivatedLayer).
    return dy * (y > 0)


def sigmoid(x: Array) -> Array:
    """1 / (1 + exp(-x)), computed without overflow for large |x|."""
    e = np.exp(-np.abs(x))                      # in (0, 1], never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(dy: Array, x: Array, y: Array) -> Array:
    # dL/dx = dL/dy * y (1 - y)
    return dy * y * (1 - y)


def tanh(x: Array) -> Array:
    """Hyperbolic tangent, elementwise."""
    return np.tanh(x)


def tanh_backward(dy: Array, x: Array, y: Array) -> Array:
    # dL/dx = dL/dy * (1 - y^2)
    return dy * (1 - y * y)


def softmax(x: Array, axis: int = -1) -> Array:
    """exp(x) / sum(exp(x)) over `axis`, shifted by the max so exp never overflows.

    softmax([1000, 0, -1000]) is [1, 0, 0], as in Keras.
    """
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(dy: Array, x: Array, y: Array) -> Array:
    # The Jacobian is dy_i/dx_j = y_i (delta_ij - y_j), so the vector-Jacobian
    # product is dL/dx_j = y_j (dL/dy_j - sum_i dL/dy_i y_i)   (N, C) -> (N, C).
    return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))


def linear(x: Array) -> Array:
    """The identity (Keras's default activation)."""
    return x


def linear_backward(dy: Array, x: Array, y: Array) -> Array:
    return dy


# -- the smooth and leaky ReLUs (Keras 3: keras.activations, TensorFlow's kernels) ---------
def _slope(negative_slope: float, dtype: np.dtype) -> np.floating:
    """TensorFlow's LeakyRelu takes its slope as a float32 attribute: even in float64 the
    slope is float32(negative_slope) (0.2 becomes 0.20000000298023224)."""
    return dtype.type(np.float32(negative_slope))


def leaky_relu(x: Array, negative_slope: float = 0.2) -> Array:
    """x where x > 0, else negative_slope * x."""
    return np.where(x > 0, x, x * _slope(negative_slope, x.dtype))


def leaky_relu_backward(dy: Array, x: Array, y: Array, negative_slope: float = 0.2) -> Array:
    # dL/dx = dL/dy where x > 0, else negative_slope * dL/dy (TensorFlow's LeakyReluGrad).
    return np.where(x > 0, dy, dy * _slope(negative_slope, dy.dtype))


def elu(x: Array, alpha: float = 1.0) -> Array:
    """x where x > 0, else alpha (e^x - 1). TensorFlow computes e^x - 1 as exp(x) - 1, not
    expm1, and so does this (Keras scales by alpha only when alpha != 1)."""
    res = np.where(x < 0, np.exp(np.minimum(x, 0)) - 1, x)     # exp of x <= 0: no overflow
    return res if alpha == 1 else np.where(x > 0, res, res * x.dtype.type(alpha))


def elu_backward(dy: Array, x: Array, y: Array, alpha: float = 1.0) -> Array:
    # For x <= 0, y = alpha (e^x - 1), so dy/dx = alpha e^x = alpha (e^x - 1) + alpha:
    # TensorFlow's EluGrad forms it from the unscaled output r = e^x - 1 as (r + 1).
    r = np.exp(np.minimum(x, 0)) - 1
    scaled = dy if alpha == 1 else dy * dy.dtype.type(alpha)           # alpha dL/dy
    return np.where(x > 0, dy, np.where(r < 0, (r + 1) * scaled, scaled))


def relu_general(x: Array, negative_slope: float = 0.0, max_value: float | None = None,
                 threshold: float = 0.0) -> Array:
    """Keras's relu with options (keras.layers.ReLU, keras.activations.relu), step by step
    as Keras builds it from TensorFlow ops, so that every value and kink matches:

        y = A(x) - negative_slope * relu(threshold - x)            (the last term if slope > 0)
        A = where(x > threshold, x, 0)  if threshold != 0
            relu6(x) = min(max(x, 0), 6) if max_value == 6
            relu(x)                      otherwise, then clipped to [0, max_value] if given

    With only negative_slope set it is TensorFlow's leaky_relu instead. Constants: the
    threshold and max_value that A compares with come through `ops.cast`, so in float64
    they are float32-rounded; `threshold - x` and the slope's product take them exactly."""
    if negative_slope != 0 and max_value is None and threshold == 0:
        return leaky_relu(x, negative_slope)
    t = x.dtype.type
    a = _relu_general_a(x, max_value, threshold)
    if max_value is not None and not (threshold == 0 and max_value == 6):
        a = np.minimum(a, _tf_constant(max_value, x.dtype))           # clip_by_value: min,
        a = np.maximum(a, t(0))                                        # then max
    if negative_slope != 0:
        negative = np.maximum(-x + t(threshold), t(0))                 # relu(threshold - x)
        a = a - t(negative_slope) * negative
    return a


def _relu_general_a(x: Array, max_value: float | None, threshold: float) -> Array:
    if threshold != 0:
        return np.where(x > _tf_constant(threshold, x.dtype), x, x.dtype.type(0))
    if max_value == 6:
        return np.minimum(np.maximum(x, 0), 6).astype(x.dtype, copy=False)     # relu6
    return np.maximum(x, 0)


def relu_general_backward(dy: Array, x: Array, negative_slope: float = 0.0,
                          max_value: float | None = None, threshold: float = 0.0) -> Array:
    """dL/dx of relu_general, TensorFlow's gradient of each op (dy, x and dL/dx alike):

        relu:   dy where x > 0          relu6: dy where 0 < x < 6   (0 at both kinks)
        where:  dy where x > threshold
        clip:   dy where 0 <= A <= max_value (TensorFlow's minimum/maximum pass ties on)
        slope:  + negative_slope * dy where threshold - x > 0
    """
    if negative_slope != 0 and max_value is None and threshold == 0:
        return leaky_relu_backward(dy, x, None, negative_slope)
    t = x.dtype.type
    g = dy
    if max_value is not None and not (threshold == 0 and max_value == 6):
        a = _relu_general_a(x, max_value, threshold)
        g = np.where(a <= _tf_constant(max_value, x.dtype), g, t(0))   # (A >= 0 always)
    if threshold != 0:
        dx = np.where(x > _tf_constant(threshold, x.dtype), g, t(0))
    elif max_value == 6:
        dx = np.where((x > 0) & (x < 6), g, t(0))
    else:
        dx = np.where(x > 0, g, t(0))
    if negative_slope != 0:
        # y = A - s * relu(u), u = threshold - x: dL/du = -s dy where u > 0, dL/dx = -dL/du.
        dx = dx + np.where(-x + t(threshold) > 0, t(negative_slope) * dy, t(0))
    return dx.astype(dy.dtype, copy=False)


_SQRT_PI = 1.7724538509055159


def _tf_constant(value: float, dtype: np.dtype) -> np.floating:
    """A Python float as TensorFlow's `math_ops.cast(value, dtype)` gives it: the float
    becomes a float32 tensor first, so in float64 it is float32(value)."""
    return dtype.type(np.float32(value))


def erfc(x: Array) -> Array:
    """The complementary error function 1 - erf(x), elementwise. NumPy has none, so each
    value goes through Python's math.erfc (the C library's, accurate to the last bit or
    two of a double); float32 inputs are computed in double and rounded."""
    x64 = np.asarray(x, np.float64)
    values = np.fromiter(map(math.erfc, x64.ravel().tolist()), np.float64, x64.size)
    return values.reshape(x64.shape).astype(np.asarray(x).dtype, copy=False)


def gelu(x: Array, approximate: bool = False) -> Array:
    """x Phi(x) with Phi the normal CDF: Keras's default (approximate=False) computes it as
    tf.nn.gelu does, 0.5 x erfc(-c x) with c = 1/sqrt(2) (rounded to float32, even in
    float64: TensorFlow casts that constant from a float32); erfc keeps it accurate for
    large negative x, where 1 + erf would cancel to 0. approximate=True:
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""
    half = x.dtype.type(0.5)
    if approximate:
        inner = x.dtype.type(0.7978845608028654) * (
            x + _tf_constant(0.044715, x.dtype) * x * x * x)
        return half * x * (1 + np.tanh(inner))
    return half * x * erfc(-x * _tf_constant(0.7071067811865476, x.dtype))


def gelu_backward(dy: Array, x: Array, y: Array, approximate: bool = False) -> Array:
    half = x.dtype.type(0.5)
    if approximate:
        # d/dx 0.5 x (1 + t), t = tanh(u), u = k1 (x + k3 x^3):
        #   0.5 (1 + t) + 0.5 x (1 - t^2) k1 (1 + 3 k3 x^2)
        k1, k3 = x.dtype.type(0.7978845608028654), _tf_constant(0.044715, x.dtype)
        t = np.tanh(k1 * (x + k3 * x * x * x))
        return dy * (half * (1 + t) + half * x * (1 - t * t) * k1 * (1 + 3 * k3 * x * x))
    # d/dx 0.5 x erfc(-c x) = 0.5 erfc(-c x) + x c e^(-(c x)^2) / sqrt(pi)
    # (with c = 1/sqrt 2 exactly this is Phi(x) + x phi(x), phi the normal density).
    c = _tf_constant(0.7071067811865476, x.dtype)
    cx = c * x
    return dy * (half * erfc(-cx) + x * c * np.exp(-cx * cx) / x.dtype.type(_SQRT_PI))


def softplus(x: Array) -> Array:
    """log(1 + e^x), as TensorFlow's kernel computes it: x itself above -t and e^x below
    t, where t = log(machine epsilon) + 2 (the results agree there to within epsilon;
    it keeps e^x from overflowing), log1p(e^x) in between."""
    t = np.log(np.finfo(x.dtype).eps) + 2
    e = np.exp(np.minimum(x, -t))
    return np.where(x > -t, x, np.where(x < t, e, np.log1p(e))).astype(x.dtype, copy=False)


def softplus_backward(dy: Array, x: Array, y: Array) -> Array:
    # dy/dx = e^x / (1 + e^x) = 1 / (e^-x + 1), TensorFlow's SoftplusGrad form.
    return dy / (np.exp(-x) + 1)


def silu(x: Array) -> Array:
    """x sigmoid(x) (Keras's "silu", also called "swish")."""
    return x * sigmoid(x)


def silu_backward(dy: Array, x: Array, y: Array) -> Array:
    # d/dx x s(x) = s + x s (1 - s) = s (1 + x (1 - s)), TensorFlow's form.
    s = sigmoid(x)
    return dy * (s * (1 + x * (1 - s)))


_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax, "linear": linear,
    "leaky_relu": leaky_relu, "elu": elu, "gelu": gelu, "softplus": softplus, "silu": silu,
    "swish": silu,                        # Keras's other name for silu (saved as "silu")
}
_BACKWARDS: dict[Callable, Callable[[Array, Array, Array], Array]] = {
    relu: relu_backward, sigmoid: sigmoid_backward, tanh: tanh_backward,
    softmax: softmax_backward, linear: linear_backward, leaky_relu: leaky_relu_backward,
    elu: elu_backward, gelu: gelu_backward, softplus: softplus_backward, silu: silu_backward,
}

#: Activations whose output carries its logits into a crossentropy loss (as Keras's
#: `_keras_logits`): the loss is then computed from the logits, see losses.py.
LOGIT_CARRYING = (softmax, sigmoid)


def get(identifier: str | Callable | None) -> Callable[[Array], Array]:
    """Resolve an activation given by name ("relu"), by function, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {identifier!r}; expected one of {sorted(_ACTIVATIONS)}")
        return _ACTIVATIONS[identifier]
    if identifier in _BACKWARDS:
        return identifier
    raise ValueError(
        f"Activation {identifier!r} has no derivative in scratchnn; expected one of "
        f"{sorted(_ACTIVATIONS)} or the matching scratchnn.activations function")


def backward_of(activation: Callable) -> Callable[[Array, Array, Array], Array]:
    """The derivative partner `f_backward(dy, x, y)` of an activation `f`."""
    return _BACKWARDS[activation]


def serialize(activation: Callable) -> str:
    """The Keras name of an activation function ("relu", "linear", ...)."""
    return activation.__name__
