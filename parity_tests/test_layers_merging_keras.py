"""Merge layers against Keras 3.15.1's (keras/src/layers/merging/): the same outputs on the
same arrays, the same gradients as tf.GradientTape through Keras's layer for the same
upstream gradient (ties included), the same output shapes on symbolic inputs with None, the
same error messages and the same config keys."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import scratchnn as snn
from scratchnn.layers import merging

from .helpers import assert_grads_close

PAIRS = {"Add": merging.Add, "Subtract": merging.Subtract, "Multiply": merging.Multiply,
         "Average": merging.Average, "Maximum": merging.Maximum, "Minimum": merging.Minimum}

SHAPES = {
    "same": [(4, 3), (4, 3)],
    "rank_expanded": [(4, 5, 3), (4, 3)],
    "size1_stretched": [(4, 1, 3), (4, 5, 3)],
    "column": [(4, 3), (4, 1)],
    "both_stretched": [(4, 3, 1), (4, 1, 6)],
    "vector_per_sample": [(4,), (4, 3)],
    "three_broadcast": [(4, 5, 3), (4, 1, 3), (4, 3)],
    "four_broadcast": [(4, 3, 1), (4, 1, 6), (4, 6), (4, 3, 6)],
}


def arrays(shapes, seed=0, ties=False):
    """Random normals, or small integers (ties between inputs everywhere) with `ties`."""
    rng = np.random.default_rng(seed)
    dtype = snn.config.floatx()
    if ties:
        return [rng.integers(0, 3, shape).astype(dtype) for shape in shapes]
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def keras_run(layer, xs, dy):
    """Keras's output and tf.GradientTape's gradient of each input for upstream gradient dy."""
    xs = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        y = layer(xs)
    grads = tape.gradient(y, xs, output_gradients=tf.constant(dy))
    return y.numpy(), [g.numpy() for g in grads]


def snn_run(layer, xs, dy):
    y = layer(xs)
    return y, layer.backward(dy)


def upstream(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(snn.config.floatx())


@pytest.mark.parametrize("name", PAIRS)
def test_forward_and_gradients_equal_keras(name, precision):
    """Every shape case, random and tied values: forward bit for bit (the same elementwise
    operations in the same order); gradients within the suite's tolerances (a broadcast
    input's gradient is a sum, whose order could differ from Eigen's; measured on these
    shapes, float32 included, they are equal bit for bit: both reduce at every step of the
    fold, as TensorFlow's gradients of the binary ops do)."""
    for case, shapes in SHAPES.items():
        if name == "Subtract" and len(shapes) != 2:
            continue
        for ties in (False, True):
            xs = arrays(shapes, ties=ties)
            y_snn = PAIRS[name]()(xs)
            dy = upstream(y_snn.shape)
            y_keras, g_keras = keras_run(getattr(keras.layers, name)(), xs, dy)
            y_snn, g_snn = snn_run(PAIRS[name](), xs, dy)
            where = f"{case}, ties={ties}"
            assert y_snn.dtype == y_keras.dtype == np.dtype(precision), where
            np.testing.assert_array_equal(y_snn, y_keras, err_msg=where)
            assert_grads_close(g_snn, g_keras, [f"x{k + 1} ({where})" for k in range(len(xs))],
                               precision)


def test_tied_gradients_are_exactly_tensorflows():
    """TensorFlow's masks x >= y (maximum) and x <= y (minimum): ties go to the earlier
    input. The documented examples, exact."""
    cases = [
        [[[1.0, 2.0, 3.0]], [[1.0, 0.0, 5.0]]],
        [[[1.0, 2.0, 3.0]], [[0.0, 5.0, 1.0]], [[1.0, 2.0, 3.0]]],   # x3 == x1: zeros
        [[[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]]],                      # Maximum([x, x])
        [[[1.0, 2.0, 3.0]], [[2.0]]],                                # broadcast (1,3) vs (1,1)
    ]
    for name, xs in [(name, xs) for name in ("Maximum", "Minimum") for xs in cases]:
        xs = [np.asarray(x, np.float32) for x in xs]
        dy = np.ones((1, 3), np.float32)
        _, g_keras = keras_run(getattr(keras.layers, name)(), xs, dy)
        _, g_snn = snn_run(PAIRS[name](), xs, dy)
        for ours, theirs in zip(g_snn, g_keras):
            np.testing.assert_array_equal(ours, theirs, err_msg=f"{name} {xs}")


CONCAT = [(-1, [(4, 3), (4, 5)]), (1, [(4, 2, 3), (4, 5, 3)]), (-2, [(4, 2, 3), (4, 5, 3)]),
          (2, [(4, 2, 3), (4, 2, 1), (4, 2, 4)]), (0, [(4, 3), (2, 3)]), (-1, [(4, 3)])]


def test_concatenate_forward_and_gradients_equal_keras_exactly(precision):
    """Copies both ways (joined forward, dy split backward): exact, on every axis."""
    for axis, shapes in CONCAT:
        xs = arrays(shapes)
        y_snn = merging.Concatenate(axis=axis)(xs)
        dy = upstream(y_snn.shape)
        y_keras, g_keras = keras_run(keras.layers.Concatenate(axis=axis), xs, dy)
        y_snn, g_snn = snn_run(merging.Concatenate(axis=axis), xs, dy)
        np.testing.assert_array_equal(y_snn, y_keras, err_msg=f"axis={axis} {shapes}")
        for ours, theirs in zip(g_snn, g_keras):
            np.testing.assert_array_equal(ours, theirs, err_msg=f"axis={axis} {shapes}")


# -- output shapes on symbolic inputs ---------------------------------------------------------
SYMBOLIC = [
    ("Add", {}, [(None, 3), (None, 3)]),
    ("Add", {}, [(None, 4, 3), (None, 3)]),
    ("Multiply", {}, [(None, 3), (None, 4, 3)]),
    ("Maximum", {}, [(None, 1, 3), (None, 4, 1)]),
    ("Minimum", {}, [(None, None, 3), (None, 4, 3)]),
    ("Average", {}, [(None, 3), (None, None)]),
    ("Subtract", {}, [(2, 3), (None, 3)]),
    ("Add", {}, [(None, 3)]),
    ("Add", {}, [(None,), (None, 3)]),
    ("Add", {}, [(None, 2, 1, 3), (None, 5, 1), (None, 3)]),
    ("Concatenate", {}, [(None, 3), (None, 4)]),
    ("Concatenate", {"axis": 1}, [(None, 2, 3), (None, 5, 3)]),
    ("Concatenate", {"axis": -2}, [(None, 2, 3), (None, 5, 3)]),
    ("Concatenate", {"axis": 2}, [(None, 2, 3), (None, 2, 1)]),
    ("Concatenate", {}, [(None, None), (None, 4)]),
    ("Concatenate", {"axis": 0}, [(None, 3), (None, 3)]),
    ("Concatenate", {}, [(None, None, 3), (None, 4, 5)]),
    ("Concatenate", {}, [(2, 3), (None, 4)]),
]


def test_output_shape_equals_keras_on_symbolic_inputs():
    for name, kwargs, shapes in SYMBOLIC:
        inputs = [keras.Input(batch_shape=shape) for shape in shapes]
        expected = tuple(getattr(keras.layers, name)(**kwargs)(inputs).shape)
        layer = getattr(merging, name)(**kwargs)
        assert layer.compute_output_shape(shapes) == expected, (name, kwargs, shapes)
        layer.build(shapes)
        assert layer.output_shape == expected


# -- errors -----------------------------------------------------------------------------------
def keras_message(call):
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def assert_same_message(name, kwargs, inputs):
    """scratchnn's message is Keras's, after "<Class> '<name>': "."""
    theirs = keras_message(lambda: getattr(keras.layers, name)(**kwargs)(inputs()))
    ours = keras_message(lambda: getattr(merging, name)(name="m", **kwargs)(inputs(numpy=True)))
    assert ours == f"{name} 'm': {theirs}"


def eager(*shapes):
    """Arrays of these shapes, as NumPy (scratchnn) or tf.Tensor (Keras)."""
    def make(numpy=False):
        xs = [np.ones(shape, np.float32) for shape in shapes]
        return xs if numpy else [tf.constant(x) for x in xs]
    return make


def bare(shape):
    return lambda numpy=False: np.ones(shape, np.float32)


ERRORS = [
    ("Add", {}, bare((2, 3))),
    ("Concatenate", {}, bare((2, 3))),
    ("Add", {}, eager((2, 3), (5, 3))),
    ("Maximum", {}, eager((2, 3), (1, 3))),                  # the batch axis never broadcasts
    ("Add", {}, eager((2, 3), (2, 4))),
    ("Multiply", {}, eager((2, 4, 3), (2, 4))),
    ("Multiply", {}, eager((2, 4), (2, 4, 3))),
    ("Average", {}, eager((2, 1, 3), (2, 4, 3), (2, 5, 3))),
    ("Subtract", {}, eager((2, 3), (2, 3), (2, 3))),
    ("Subtract", {}, eager((2, 3))),
    ("Subtract", {}, eager((2, 3), (5, 3), (2, 3))),         # batch sizes checked first
    ("Concatenate", {}, eager((2, 2, 3), (2, 5, 3))),
    ("Concatenate", {}, eager((2, 3), (5, 3))),
    ("Concatenate", {}, eager((2, 3), (2, 4, 3))),
    ("Concatenate", {"axis": 1}, eager((2, 2, 3), (2, 2, 4))),
]


def test_error_messages_equal_keras_eagerly():
    for name, kwargs, inputs in ERRORS:
        assert_same_message(name, kwargs, inputs)


SYMBOLIC_ERRORS = [
    ("Add", {}, [(None, 3), (None, 4)]),
    ("Add", {}, [(2, 3), (5, 3)]),
    ("Subtract", {}, [(None, 3)] * 3),
    ("Concatenate", {}, [(None, 2, 3), (None, 5, 3)]),
    ("Concatenate", {"axis": 1}, [(None, 2, 3), (None, 2, 4)]),
]


def test_error_messages_equal_keras_on_symbolic_shapes():
    """What Keras says when a Functional model is built: shapes printed with None; and for
    one symbolic tensor instead of a list."""
    for name, kwargs, shapes in SYMBOLIC_ERRORS:
        theirs = keras_message(lambda: getattr(keras.layers, name)(**kwargs)(
            [keras.Input(batch_shape=shape) for shape in shapes]))
        ours = keras_message(lambda: getattr(merging, name)(name="m", **kwargs).build(shapes))
        assert ours == f"{name} 'm': {theirs}"
        theirs_bare = keras_message(lambda: getattr(keras.layers, name)(**kwargs)(
            keras.Input(batch_shape=shapes[0])))
        ours_bare = keras_message(lambda: getattr(merging, name)(name="m", **kwargs)
                                  .compute_output_shape(shapes[0]))
        assert ours_bare == f"{name} 'm': {theirs_bare}"


def test_concatenate_empty_list_message_is_keras_build_message():
    theirs = keras_message(lambda: keras.layers.Concatenate().build([]))
    ours = keras_message(lambda: merging.Concatenate(name="m")([]))
    assert ours == f"Concatenate 'm': {theirs}"


# -- configs and names ------------------------------------------------------------------------
def test_configs_and_names_equal_keras(precision):
    """Keys and values (dtype: Keras's serialized policy of the floatx), automatic names."""
    for name, kwargs in [*((n, {}) for n in PAIRS), ("Concatenate", {}),
                         ("Concatenate", {"axis": 1, "trainable": False})]:
        ours = [getattr(merging, name)(**kwargs) for _ in range(2)]
        theirs = [getattr(keras.layers, name)(**kwargs) for _ in range(2)]
        assert [layer.name for layer in ours] == [layer.name for layer in theirs]
        assert ours[1].get_config() == theirs[1].get_config()
        theirs[0].build([(None, 3), (None, 3)])                      # Keras counts once built
        assert ours[0].count_params() == theirs[0].count_params() == 0
