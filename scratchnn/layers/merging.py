"""Merge layers: one output from a LIST of inputs (Keras's Add, Subtract, Multiply, Average,
Maximum, Minimum and Concatenate), with their backward passes.

A merge layer takes `[x1, ..., xn]` and returns one array; its backward pass takes dL/dy and
returns one gradient per input, `[dL/dx1, ..., dL/dxn]`, each of its input's shape. The
loop twins the tests check them against are in merging_naive.py.

The elementwise layers follow NumPy's broadcasting, with Keras's two extra rules:

* the batch axis (axis 0) never broadcasts: every input has the same batch size;
* an input of lower rank gets size-1 axes inserted right after the batch axis
  (`expand_dims(axis=1)`) until all ranks match, so shapes line up from the right:
  (N, 3) + (N, 4, 3) is (N, 1, 3) + (N, 4, 3) -> (N, 4, 3).

Un-broadcasting, the rule every backward pass here ends with. Say a (N, 1, 3) input `b` was
stretched along axis 1 to (N, 4, 3): b~[n, i, j] = b[n, 0, j] for every i. Each of the 4 copies
reaches the loss, so by the chain rule (a sum over every path from b to L)

    dL/db[n, 0, j] = sum_i dL/db~[n, i, j],

that is, sum the gradient over the axes the input was broadcast along, keeping them as size 1
(`unbroadcast`), then drop the axes expand_dims inserted (a reshape, no arithmetic).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import config
from ..nodes import call_symbolic, is_symbolic
from .base import Layer

Array = np.ndarray
Shape = tuple                       # batch first, None where unknown: (None, 4, 3)


def unbroadcast(g: Array, shape: tuple) -> Array:
    """Sum `g` back to `shape`, which has g's rank and was broadcast to g.shape: over every
    axis where `shape` has size 1 and g has more (keepdims, so the result has `shape`)."""
    axes = tuple(axis for axis, (size, g_size) in enumerate(zip(shape, g.shape))
                 if size == 1 and g_size != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


class Merge(Layer):
    """Base of the merge layers: the list check, Keras's shape rules and their messages, and
    the elementwise layers as a left fold of one binary operation `a (op) b`:

        r1 = x1,   r_k = r_(k-1) (op) x_k,   y = r_n        (Keras computes it in this order)

    Shapes: x_k (N, *s_k), lower ranks first expanded to (N, 1, ..., 1, *s_k); the running
    result r_k has the broadcast shape of x_1..x_k, and y (N, *s) that of all of them.

    Backward walks the fold in reverse. Step k computed r_k from a = r_(k-1) and b = x_k,
    so from g = dL/dr_k (r_k's shape, the broadcast of a's and b's):

        dL/dx_k     = unbroadcast(g * d(op)/db, x_k's shape)
        dL/dr_(k-1) = unbroadcast(g * d(op)/da, r_(k-1)'s shape)   -> g for step k - 1

    and dL/dx1 is what is left at the end. Each subclass states its `combine(a, b)` and the
    two products `combine_backward(g, a, b)`. Reducing at every step, not once per input at
    the end, is what TensorFlow's gradients of the same fold do.

    Merge layers have no weights. Errors carry Keras's own text, after the layer's class and
    name.
    """

    def __init__(self, name: str | None = None, trainable: bool = True,
                 dtype: str | None = None, **kwargs: Any) -> None:
        # Arguments are checked as every layer's are (arguments.py: unknown ones refused by
        # name, dtype only the floatx).
        super().__init__(name=name, trainable=trainable, dtype=dtype, **kwargs)
        self.cache: tuple = ()

    def _where(self) -> str:
        return f"{type(self).__name__} '{self.name}': "

    # -- shapes -----------------------------------------------------------------------------
    def list_error(self, input_shape: Any) -> str:
        """Keras's message for `input_shape` that is not a non-empty list of shapes (a call on
        one tensor, or on an empty list)."""
        if isinstance(input_shape, list) and not input_shape:
            return ("A merge layer should be called on a list of at least 1 input. "
                    f"Received 0 inputs. Full input_shape received: {input_shape}")
        return ("A merge layer should be called on a list of inputs. "
                f"Received: input_shape={input_shape} (not a list of shapes)")

    def shape_list(self, input_shape: Any) -> list[Shape]:
        """`input_shape` as a list of shape tuples, or Keras's error for anything else."""
        if not isinstance(input_shape, (list, tuple)) or not all(
                isinstance(shape, (list, tuple)) for shape in input_shape):
            raise ValueError(self._where() + self.list_error(input_shape))
        shapes = [tuple(shape) for shape in input_shape]
        if not shapes:
            raise ValueError(self._where() + self.list_error(shapes))
        for i, shape in enumerate(shapes):
            if not shape:       # Keras accepts scalars; scratchnn wants a batch axis
                raise ValueError(self._where() + "every input needs a batch axis (rank >= 1); "
                                 f"input {i} is a scalar. Received: input_shape={shapes}")
        return shapes

    def broadcast(self, shape1: tuple, shape2: tuple) -> tuple:
        """The shape of `shape1 (op) shape2` (batch axes left out), aligned from the right:
        equal sizes stay, a 1 stretches to the other size, None (unknown) gives None."""
        if len(shape1) < len(shape2):
            return self.broadcast(shape2, shape1)        # Keras names the longer one first
        out = list(shape1[:len(shape1) - len(shape2)])
        for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1:
                out.append(j if i == 1 else i)
            elif i != j:
                raise ValueError(self._where() + "Inputs have incompatible shapes. "
                                 f"Received shapes {shape1} and {shape2}")
            else:
                out.append(i)
        return tuple(out)

    def compute_output_shape(self, input_shape: Sequence[Shape]) -> Shape:
        """The output shape, e.g. [(None, 4, 3), (None, 3)] -> (None, 4, 3).

        The batch sizes that are known (not None) must agree; the rest of the shapes
        broadcast from the right, from the first input to the last."""
        shapes = self.shape_list(input_shape)
        batch_sizes = {shape[0] for shape in shapes} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(self._where() + "Cannot merge tensors with different batch "
                             f"sizes. Received tensors with shapes {shapes}")
        out = shapes[0][1:]
        for shape in shapes[1:]:
            out = self.broadcast(out, shape[1:])
        return (batch_sizes.pop() if batch_sizes else None, *out)

    def build(self, input_shape: Sequence[Shape]) -> None:
        """Check the shapes and keep them (there are no weights to create)."""
        self.output_shape = self.compute_output_shape(input_shape)
        self.input_shape = self.shape_list(input_shape)
        self.built = True

    def check_input(self, xs: Sequence[Array]) -> None:
        """The shape rules on these arrays. Like Keras, a built merge layer takes any shapes
        that merge (Add()([(2, 3), (2, 3)]) then Add()([(2, 4), (2, 4)]) is fine)."""
        self.compute_output_shape([x.shape for x in xs])

    # -- running ----------------------------------------------------------------------------
    def __call__(self, xs: Sequence[Array], training: bool = False) -> Array:
        """Eager call on a list of arrays: cast to floatx, check the shapes (before building,
        so that errors show the real shapes, batch sizes included, as Keras's do), build on
        the first call, forward. On symbolic tensors: record the call (nodes.py)."""
        if is_symbolic(xs):
            return call_symbolic(self, xs)
        if not isinstance(xs, (list, tuple)):
            raise ValueError(self._where() + self.list_error(np.shape(xs)))
        xs = [np.asarray(x, dtype=config.floatx()) for x in xs]
        self.check_input(xs)
        if not self.built:
            self.build([(None, *x.shape[1:]) for x in xs])
        return self.forward(xs, training=training)

    def forward(self, xs: Sequence[Array], training: bool = False) -> Array:
        """y = x1 (op) x2 (op) ... (op) xn, after expand_dims of the lower-rank inputs.
        Caches the (expanded) inputs, the running results r_k and the original shapes."""
        rank = max(x.ndim for x in xs)
        shapes = [x.shape for x in xs]
        xs = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]
        running = [xs[0]]
        for x in xs[1:]:
            running.append(self.combine(running[-1], x))
        self.cache = (xs, running, shapes)
        return running[-1]

    def backward(self, dy: Array) -> list[Array]:
        """[dL/dx1, ..., dL/dxn] from dL/dy, each of its input's shape: the fold in reverse
        (see the class docstring). The arrays may be dy itself or views of it (Add passes dy
        on unchanged): read them, do not write into them."""
        xs, running, shapes = self.cache
        grads: list = [None] * len(xs)
        g = dy                                            # dL/dr_n, the output's shape
        for k in range(len(xs) - 1, 0, -1):
            g_a, g_b = self.combine_backward(g, running[k - 1], xs[k])
            grads[k] = unbroadcast(g_b, xs[k].shape)      # dL/dx_k
            g = unbroadcast(g_a, running[k - 1].shape)    # dL/dr_(k-1)
        grads[0] = g
        return [grad.reshape(shape) for grad, shape in zip(grads, shapes)]  # undo expand_dims

    def combine(self, a: Array, b: Array) -> Array:
        raise NotImplementedError

    def combine_backward(self, g: Array, a: Array, b: Array) -> tuple[Array, Array]:
        """(g * d(a op b)/da, g * d(a op b)/db), both of g's shape (not yet un-broadcast)."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Keras's keys: name, trainable and dtype (Keras's serialized dtype policy of the
        floatx, as scratchnn's .keras files write it)."""
        from ..saving.keras_config import dtype_policy

        return {**super().get_config(), "dtype": dtype_policy(config.floatx())}


class Add(Merge):
    """y = x1 + x2 + ... + xn.   d(a + b)/da = d(a + b)/db = 1: every input gets dy
    (un-broadcast to its shape)."""

    def combine(self, a: Array, b: Array) -> Array:
        return a + b

    def combine_backward(self, g: Array, a: Array, b: Array) -> tuple[Array, Array]:
        return g, g


class Subtract(Merge):
    """y = x1 - x2, for exactly two inputs.   dL/dx1 = dy, dL/dx2 = -dy (un-broadcast)."""

    def compute_output_shape(self, input_shape: Sequence[Shape]) -> Shape:
        out = super().compute_output_shape(input_shape)    # Keras checks the shapes first
        if len(input_shape) != 2:
            raise ValueError(self._where() + "A `Subtract` layer should be called on exactly 2 "
                             f"inputs. Received: input_shape={self.shape_list(input_shape)}")
        return out

    def combine(self, a: Array, b: Array) -> Array:
        return a - b

    def combine_backward(self, g: Array, a: Array, b: Array) -> tuple[Array, Array]:
        return g, -g


class Multiply(Merge):
    """y = x1 * x2 * ... * xn (elementwise).

    d(a b)/da = b and d(a b)/db = a, so walking the fold back gives each input dy times the
    product of all the OTHER inputs, built from products alone: dividing y by x_k would fail
    where x_k is 0 (ReLU outputs, masks). For three inputs, y = (x1 x2) x3:
        dL/dx3 = dy (x1 x2),   g = dy x3,   dL/dx2 = g x1,   dL/dx1 = g x2.
    """

    def combine(self, a: Array, b: Array) -> Array:
        return a * b

    def combine_backward(self, g: Array, a: Array, b: Array) -> tuple[Array, Array]:
        return g * b, g * a


class Average(Merge):
    """y = (x1 + x2 + ... + xn) / n: Add's fold, then one division (Keras's order).
    dL/dx_k = (dy / n) un-broadcast: Add's backward from dy / n."""

    def forward(self, xs: Sequence[Array], training: bool = False) -> Array:
        return super().forward(xs, training) / len(xs)

    def backward(self, dy: Array) -> list[Array]:
        return super().backward(dy / len(self.cache[0]))

    combine = Add.combine
    combine_backward = Add.combine_backward


class Maximum(Merge):
    """y = max(... max(max(x1, x2), x3) ..., xn), elementwise.

    The whole of g goes to whichever of a, b gave the result: to a where a >= b, else to b
    (TensorFlow's gradient of tf.maximum, the same mask). So in a tie the EARLIER input
    takes it: Maximum([[1, 2, 3]], [[1, 0, 5]]) gives dx1 = [1, 1, 0], dx2 = [0, 0, 1]."""

    def combine(self, a: Array, b: Array) -> Array:
        return np.maximum(a, b)

    def combine_backward(self, g: Array, a: Array, b: Array) -> tuple[Array, Array]:
        a_wins = a >= b                                  # ties go to a, the earlier input
        return np.where(a_wins, g, 0), np.where(a_wins, 0, g)


class Minimum(Merge):
    """y = min(... min(min(x1, x2), x3) ..., xn), elementwise. As Maximum with the mask
    a <= b: ties go to the earlier input
    (Minimum([[1, 2, 3]], [[1, 0, 5]]) gives dx1 = [1, 0, 1], dx2 = [0, 1, 0])."""

    def combine(self, a: Array, b: Array) -> Array:
        return np.minimum(a, b)

    def combine_backward(self, g: Array, a: Array, b: Array) -> tuple[Array, Array]:
        a_wins = a <= b                                  # ties go to a, the earlier input
        return np.where(a_wins, g, 0), np.where(a_wins, 0, g)


class Concatenate(Merge):
    """The inputs joined along `axis` (default -1, the last; counted WITH the batch axis, so
    axis=0 joins batches, as in Keras).

    Shapes: (N, a, C1), (N, a, C2), ... -> (N, a, C1 + C2 + ...) for axis=-1: every other
    axis must match (None matches anything), and there is no rank broadcasting.
    Backward: y is the inputs side by side, so dL/dx_k is the slice of dy that x_k filled:
    dy split along `axis` at the running sums of the sizes.
    """

    def __init__(self, axis: int = -1, name: str | None = None, trainable: bool = True,
                 dtype: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, trainable=trainable, dtype=dtype, **kwargs)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise ValueError(self._where() + f"axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def list_error(self, input_shape: Any) -> str:
        return ("A `Concatenate` layer should be called on a list of at least 1 input. "
                f"Received: input_shape={input_shape}")

    def compute_output_shape(self, input_shape: Sequence[Shape]) -> Shape:
        """[(None, 2, 3), (None, 5, 3)] -> (None, 7, 3) for axis=1. The other axes are taken
        from the first input, and the joined size is None if any input's is (as in Keras)."""
        shapes = self.shape_list(input_shape)
        mismatch = ValueError(self._where() + "A `Concatenate` layer requires inputs with "
                              "matching shapes except for the concatenation axis. "
                              f"Received: input_shape={shapes}")
        rank = len(shapes[0])
        if any(len(shape) != rank for shape in shapes):
            raise mismatch
        if not -rank <= self.axis < rank:
            raise ValueError(self._where() + f"axis={self.axis} is out of range for inputs of "
                             f"rank {rank} (valid: {-rank} to {rank - 1}). "
                             f"Received: input_shape={shapes}")
        axis = self.axis % rank
        for d in range(rank):
            if d != axis and len({shape[d] for shape in shapes} - {None}) > 1:
                raise mismatch
        sizes = [shape[axis] for shape in shapes]
        out = list(shapes[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def forward(self, xs: Sequence[Array], training: bool = False) -> Array:
        self.cache = ([x.shape[self.axis] for x in xs],)   # each input's size along axis
        return np.concatenate(xs, axis=self.axis)

    def backward(self, dy: Array) -> list[Array]:
        # dL/dx_k = dy[..., start_k : start_k + size_k, ...] along axis (views of dy)
        (sizes,) = self.cache
        return np.split(dy, np.cumsum(sizes)[:-1], axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


# -- the functional forms (Keras's keras.layers.add(...), ...), on lists of arrays ----------
def add(inputs: Sequence[Array], **kwargs: Any) -> Array:
    """Add(**kwargs)(inputs)."""
    return Add(**kwargs)(inputs)


def subtract(inputs: Sequence[Array], **kwargs: Any) -> Array:
    """Subtract(**kwargs)(inputs)."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Sequence[Array], **kwargs: Any) -> Array:
    """Multiply(**kwargs)(inputs)."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Sequence[Array], **kwargs: Any) -> Array:
    """Average(**kwargs)(inputs)."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Sequence[Array], **kwargs: Any) -> Array:
    """Maximum(**kwargs)(inputs)."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Sequence[Array], **kwargs: Any) -> Array:
    """Minimum(**kwargs)(inputs)."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Sequence[Array], axis: int = -1, **kwargs: Any) -> Array:
    """Concatenate(axis=axis, **kwargs)(inputs)."""
    return Concatenate(axis=axis, **kwargs)(inputs)


__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "unbroadcast"]
