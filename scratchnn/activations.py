"""Activation functions and their derivatives.

Each activation `f` is a plain function of an array; its backward partner
`f_backward(dy, x, y)` turns the upstream gradient dL/dy into dL/dx, given the
input `x` and output `y = f(x)` cached by the layer (whichever is cheaper to use).

    relu      y = max(x, 0)          dy/dx = 1[x > 0]   (0 at x == 0, as TensorFlow)
    sigmoid   y = 1 / (1 + e^-x)     dy/dx = y (1 - y)
    tanh      y = tanh(x)            dy/dx = 1 - y^2
    softmax   y_i = e^x_i / sum e^x  dL/dx = y * (dL/dy - sum_j dL/dy_j y_j)
    linear    y = x                  dy/dx = 1

softmax and sigmoid are special when they feed a crossentropy loss: the model
then skips their backward and uses the fused gradient `p - y` (see losses.py).
"""

from __future__ import annotations

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


_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax, "linear": linear,
}
_BACKWARDS: dict[Callable, Callable[[Array, Array, Array], Array]] = {
    relu: relu_backward, sigmoid: sigmoid_backward, tanh: tanh_backward,
    softmax: softmax_backward, linear: linear_backward,
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
