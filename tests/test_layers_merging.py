"""Merge layers (scratchnn/layers/merging.py) as Keras 3.15.1 defines them: forward and
backward against their loop twins (merging_naive.py), gradients against float64 finite
differences, Keras's broadcasting rules, TensorFlow's tie rule for Maximum/Minimum, Keras's
error messages, output shapes with None, configs."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import numerical_gradient, relative_error
from scratchnn.layers import merging_naive as naive
from scratchnn.layers.merging import (Add, Average, Concatenate, Maximum, Merge, Minimum,
                                      Multiply, Subtract, add, average, concatenate, maximum,
                                      minimum, multiply, subtract, unbroadcast)

ELEMENTWISE = {"add": Add, "subtract": Subtract, "multiply": Multiply, "average": Average,
               "maximum": Maximum, "minimum": Minimum}

# Input shapes (batch N = 2 first). Keras aligns the non-batch axes from the right, after
# expand_dims(axis=1) of the lower-rank inputs; a size 1 stretches.
TWO_INPUTS = {
    "same": [(2, 3), (2, 3)],
    "rank_expanded": [(2, 4, 3), (2, 3)],            # (N,3) -> (N,1,3), stretched to 4
    "size1_stretched": [(2, 1, 3), (2, 4, 3)],
    "column": [(2, 3), (2, 1)],
    "both_stretched": [(2, 3, 1), (2, 1, 4)],        # -> (2, 3, 4)
    "vector_per_sample": [(2,), (2, 3)],             # (N,) -> (N,1)
}
MORE_INPUTS = {
    "three_same": [(2, 3), (2, 3), (2, 3)],
    "three_broadcast": [(2, 4, 3), (2, 1, 3), (2, 3)],
    "four_broadcast": [(2, 3, 1), (2, 1, 4), (2, 4), (2, 3, 4)],
}
CASES = [(kind, case) for kind in ELEMENTWISE for case in TWO_INPUTS] + [
    (kind, case) for kind in ELEMENTWISE if kind != "subtract" for case in MORE_INPUTS]


def arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(snn.config.floatx()) for shape in shapes]


def shapes_of(case):
    return {**TWO_INPUTS, **MORE_INPUTS}[case]


def input_gradients_fd(layer, xs, r):
    """Central differences of L = sum(R * layer(xs)) with respect to every input."""
    def loss():
        return float(np.sum(r * layer(xs)))
    return [numerical_gradient(loss, x) for x in xs]


# -- forward and backward against the loop twins ---------------------------------------------
@pytest.mark.parametrize("kind,case", CASES)
def test_forward_equals_the_loop_twin_bit_for_bit(kind, case):
    """float32: the same operations in the same order (left to right; Average divides the
    sum once), so the same bits."""
    xs = arrays(shapes_of(case))
    y = ELEMENTWISE[kind]()(xs)
    expected = naive.elementwise_forward(kind, xs)
    assert y.dtype == np.float32 and y.shape == expected.shape
    np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("kind,case", CASES)
def test_backward_equals_the_loop_twin(kind, case, float64):
    xs = arrays(shapes_of(case))
    layer = ELEMENTWISE[kind]()
    y = layer(xs)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    grads = layer.backward(dy)
    expected = naive.elementwise_backward(kind, xs, dy)
    assert [g.shape for g in grads] == [x.shape for x in xs]
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind,case", CASES)
def test_gradients_match_finite_differences(kind, case, float64):
    """float64 central differences, relative error below 1e-7, broadcast inputs and 3+
    inputs included (random values: no two inputs tie, so max/min are differentiable)."""
    xs = arrays(shapes_of(case))
    layer = ELEMENTWISE[kind]()
    r = np.random.default_rng(1).standard_normal(layer(xs).shape)
    layer(xs)
    grads = layer.backward(r)
    for k, (g, fd) in enumerate(zip(grads, input_gradients_fd(layer, xs, r))):
        assert relative_error(g, fd) < 1e-7, f"input {k}"


CONCAT_CASES = [  # (axis, shapes)
    (-1, [(2, 3), (2, 4)]),
    (1, [(2, 2, 3), (2, 5, 3)]),
    (-2, [(2, 2, 3), (2, 5, 3)]),
    (2, [(2, 2, 3), (2, 2, 1)]),
    (-1, [(2, 2, 3), (2, 2, 1), (2, 2, 2)]),
    (0, [(2, 3), (3, 3)]),                         # axis 0 joins batches, as in Keras
    (-1, [(2, 3)]),                                # one input
]


@pytest.mark.parametrize("axis,shapes", CONCAT_CASES)
def test_concatenate_forward_and_backward_equal_the_loop_twin(axis, shapes):
    xs = arrays(shapes)
    layer = Concatenate(axis=axis)
    y = layer(xs)
    np.testing.assert_array_equal(y, naive.concatenate_forward(xs, axis))
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    for g, e in zip(layer.backward(dy), naive.concatenate_backward(xs, dy, axis)):
        np.testing.assert_array_equal(g, e)      # a split copies: exact


@pytest.mark.parametrize("axis,shapes", CONCAT_CASES)
def test_concatenate_gradients_match_finite_differences(axis, shapes, float64):
    xs = arrays(shapes)
    layer = Concatenate(axis=axis)
    r = np.random.default_rng(1).standard_normal(layer(xs).shape)
    grads = layer.backward(r)
    for g, fd in zip(grads, input_gradients_fd(layer, xs, r)):
        assert g.shape == fd.shape and relative_error(g, fd) < 1e-7


def test_unbroadcast_sums_over_the_stretched_axes_only():
    """dL/db[n, 0, j] = sum_i dL/db~[n, i, j] for b (N, 1, 3) stretched to (N, 4, 3)."""
    g = np.arange(24.0).reshape(2, 4, 3)
    np.testing.assert_array_equal(unbroadcast(g, (2, 1, 3)), g.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(unbroadcast(g, (2, 1, 1)), g.sum(axis=(1, 2), keepdims=True))
    assert unbroadcast(g, (2, 4, 3)) is g
    np.testing.assert_array_equal(unbroadcast(np.ones((2, 1)), (2, 1)), np.ones((2, 1)))


def test_lower_rank_input_is_expanded_after_the_batch_axis():
    """Keras: (N,4,3) + (N,3) equals x3 + a[:, None, :]; (N,) + (N,3) equals a[:, None] + b."""
    x3, a = arrays([(2, 4, 3), (2, 3)])
    np.testing.assert_array_equal(Add()([x3, a]), x3 + a[:, None, :])
    v, b = arrays([(2,), (2, 3)])
    np.testing.assert_array_equal(Add()([v, b]), v[:, None] + b)


def test_average_gradient_of_a_broadcast_input_sums_its_shares():
    """Keras (observed): Average((1,3), (1,1)) gives 0.5 to each x1 entry, 1.5 to x2."""
    layer = Average()
    layer([[[1.0, 2.0, 3.0]], [[2.0]]])
    dx1, dx2 = layer.backward(np.ones((1, 3), np.float32))
    np.testing.assert_array_equal(dx1, [[0.5, 0.5, 0.5]])
    np.testing.assert_array_equal(dx2, [[1.5]])


def test_multiply_gradient_is_the_product_of_the_others_even_at_zeros():
    """dL/dx_k = dy * prod of the other inputs, built without dividing by x_k (zeros)."""
    layer = Multiply()
    xs = [[[1.0, 0.0, 3.0]], [[2.0, 0.0, 2.0]], [[0.0, 1.0, 1.0]]]
    np.testing.assert_array_equal(layer(xs), [[0.0, 0.0, 6.0]])
    dx1, dx2, dx3 = layer.backward(np.ones((1, 3), np.float32))
    np.testing.assert_array_equal(dx1, [[0.0, 0.0, 2.0]])      # x2 * x3
    np.testing.assert_array_equal(dx2, [[0.0, 0.0, 3.0]])      # x1 * x3
    np.testing.assert_array_equal(dx3, [[2.0, 0.0, 6.0]])      # x1 * x2
    assert all(np.isfinite(g).all() for g in (dx1, dx2, dx3))


# -- ties: TensorFlow's masks x >= y (maximum) and x <= y (minimum) -------------------------
def backward_ones(layer, xs):
    y = layer(xs)
    return layer.backward(np.ones_like(y))


def test_maximum_tie_goes_to_the_earlier_input():
    dx1, dx2 = backward_ones(Maximum(), [[[1.0, 2.0, 3.0]], [[1.0, 0.0, 5.0]]])
    np.testing.assert_array_equal(dx1, [[1, 1, 0]])
    np.testing.assert_array_equal(dx2, [[0, 0, 1]])


def test_minimum_tie_goes_to_the_earlier_input():
    dx1, dx2 = backward_ones(Minimum(), [[[1.0, 2.0, 3.0]], [[1.0, 0.0, 5.0]]])
    np.testing.assert_array_equal(dx1, [[1, 0, 1]])
    np.testing.assert_array_equal(dx2, [[0, 1, 0]])


@pytest.mark.parametrize("layer_class", [Maximum, Minimum])
def test_third_input_equal_to_the_first_gets_zeros(layer_class):
    x1 = [[1.0, 2.0, 3.0]]
    grads = backward_ones(layer_class(), [x1, [[0.0, 5.0, 1.0]], x1])
    np.testing.assert_array_equal(grads[2], [[0, 0, 0]])
    np.testing.assert_array_equal(grads[0] + grads[1], [[1, 1, 1]])   # dy goes to one input


def test_maximum_of_an_input_with_itself_gives_all_to_the_first_slot():
    x = [[1.0, 2.0, 3.0]]
    dx1, dx2 = backward_ones(Maximum(), [x, x])
    np.testing.assert_array_equal(dx1, [[1, 1, 1]])
    np.testing.assert_array_equal(dx2, [[0, 0, 0]])


def test_broadcast_maximum_tie_goes_to_the_earlier_input():
    """(1,3) = [1,2,3] vs (1,1) = 2: column 1 ties and goes to x1; x2 collects column 0."""
    dx1, dx2 = backward_ones(Maximum(), [[[1.0, 2.0, 3.0]], [[2.0]]])
    np.testing.assert_array_equal(dx1, [[0, 1, 1]])
    np.testing.assert_array_equal(dx2, [[1]])


@pytest.mark.parametrize("kind", ["maximum", "minimum"])
def test_ties_everywhere_agree_with_the_loop_twin(kind):
    """Small integers: many ties, among 3 inputs and broadcast ones."""
    rng = np.random.default_rng(3)
    shapes = [(2, 4, 3), (2, 1, 3), (2, 3)]
    xs = [rng.integers(0, 3, shape).astype(np.float32) for shape in shapes]
    layer = ELEMENTWISE[kind]()
    dy = rng.standard_normal(layer(xs).shape).astype(np.float32)
    for g, e in zip(layer.backward(dy), naive.elementwise_backward(kind, xs, dy)):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)


# -- shapes with None ------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,expected", [
    ([(None, 3), (None, 3)], (None, 3)),
    ([(None, 4, 3), (None, 3)], (None, 4, 3)),
    ([(None, 3), (None, 4, 3)], (None, 4, 3)),
    ([(None, 1, 3), (None, 4, 1)], (None, 4, 3)),
    ([(None, None, 3), (None, 4, 1)], (None, None, 3)),      # None wins over 4
    ([(None, 3), (None, None)], (None, None)),
    ([(2, 3), (None, 3)], (2, 3)),                          # the known batch size
    ([(None, 3)], (None, 3)),                               # one input
    ([(None,), (None, 3)], (None, 3)),
])
def test_output_shape_broadcasts_from_the_right(shapes, expected):
    assert Add().compute_output_shape(shapes) == expected
    assert Maximum().compute_output_shape([list(s) for s in shapes]) == expected   # lists too


@pytest.mark.parametrize("axis,shapes,expected", [
    (-1, [(None, 3), (None, 4)], (None, 7)),
    (1, [(None, 2, 3), (None, 5, 3)], (None, 7, 3)),
    (-2, [(None, 2, 3), (None, 5, 3)], (None, 7, 3)),
    (2, [(None, 2, 3), (None, 2, 1)], (None, 2, 4)),
    (-1, [(None, None), (None, 4)], (None, None)),
    (0, [(None, 3), (None, 3)], (None, 3)),
    (-1, [(None, None, 3), (None, 4, 5)], (None, None, 8)),   # other axes: the first input's
])
def test_concatenate_output_shape(axis, shapes, expected):
    assert Concatenate(axis=axis).compute_output_shape(shapes) == expected


def test_build_keeps_the_shapes_and_creates_no_weights():
    layer = Concatenate()
    layer.build([(None, 3), (None, 4)])
    assert layer.built and layer.input_shape == [(None, 3), (None, 4)]
    assert layer.output_shape == (None, 7)
    assert layer.params == {} and layer.weights == [] and layer.count_params() == 0


# -- errors: Keras's text after the layer's class and name -----------------------------------
def message(call):
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


def test_error_for_a_single_array_instead_of_a_list():
    assert message(lambda: Add(name="a")(np.ones((2, 3)))) == (
        "Add 'a': A merge layer should be called on a list of inputs. "
        "Received: input_shape=(2, 3) (not a list of shapes)")
    assert message(lambda: Add(name="a").compute_output_shape((None, 3))) == (
        "Add 'a': A merge layer should be called on a list of inputs. "
        "Received: input_shape=(None, 3) (not a list of shapes)")
    assert message(lambda: Concatenate(name="c")(np.ones((2, 3)))) == (
        "Concatenate 'c': A `Concatenate` layer should be called on a list of at least 1 "
        "input. Received: input_shape=(2, 3)")


def test_error_for_an_empty_list():
    """Keras fails here with an accidental TypeError; scratchnn uses Keras's own message for
    this case (base_merge.build's, which Keras never reaches)."""
    assert message(lambda: Add(name="a")([])) == (
        "Add 'a': A merge layer should be called on a list of at least 1 input. "
        "Received 0 inputs. Full input_shape received: []")
    assert message(lambda: Concatenate(name="c")([])) == (
        "Concatenate 'c': A `Concatenate` layer should be called on a list of at least 1 "
        "input. Received: input_shape=[]")


def test_batch_axis_never_broadcasts():
    """Keras: (2,3) with (1,3) is refused, although NumPy would broadcast it."""
    for other in [(5, 3), (1, 3)]:
        assert message(lambda: Add(name="a")(arrays([(2, 3), other]))) == (
            "Add 'a': Cannot merge tensors with different batch sizes. "
            f"Received tensors with shapes [(2, 3), {other}]")
    assert message(lambda: Add(name="a").compute_output_shape([(2, 3), (None, 3), (5, 3)])) \
        .endswith("Received tensors with shapes [(2, 3), (None, 3), (5, 3)]")


@pytest.mark.parametrize("shapes,printed", [
    ([(2, 3), (2, 4)], "(3,) and (4,)"),
    ([(2, 4, 3), (2, 4)], "(4, 3) and (4,)"),                 # the longer shape first
    ([(2, 4), (2, 4, 3)], "(4, 3) and (4,)"),
    ([(2, 1, 3), (2, 4, 3), (2, 5, 3)], "(4, 3) and (5, 3)"),  # the running shape first
])
def test_incompatible_shapes_error_prints_the_shapes_without_the_batch_axis(shapes, printed):
    assert message(lambda: Multiply(name="m")(arrays(shapes))) == (
        f"Multiply 'm': Inputs have incompatible shapes. Received shapes {printed}")


def test_subtract_takes_exactly_two_inputs():
    for n in (1, 3):
        assert message(lambda: Subtract(name="s")(arrays([(2, 3)] * n))) == (
            "Subtract 's': A `Subtract` layer should be called on exactly 2 inputs. "
            f"Received: input_shape={[(2, 3)] * n}")
    # Keras checks the batch sizes and shapes first
    assert "Cannot merge" in message(lambda: Subtract()(arrays([(2, 3), (5, 3), (2, 3)])))


@pytest.mark.parametrize("axis,shapes", [
    (-1, [(2, 2, 3), (2, 5, 3)]),
    (-1, [(2, 3), (5, 3)]),                     # batch sizes are compared like any axis
    (-1, [(2, 3), (2, 4, 3)]),                  # no rank broadcasting
])
def test_concatenate_shape_mismatch(axis, shapes):
    assert message(lambda: Concatenate(axis=axis, name="c")(arrays(shapes))) == (
        "Concatenate 'c': A `Concatenate` layer requires inputs with matching shapes except "
        f"for the concatenation axis. Received: input_shape={shapes}")


def test_concatenate_axis_out_of_range_is_named():
    """Keras fails later, in TensorFlow (ConcatOp) or with an IndexError; scratchnn says so."""
    for axis in (2, -3):
        assert message(lambda: Concatenate(axis=axis, name="c")(arrays([(2, 3)] * 2))) == (
            f"Concatenate 'c': axis={axis} is out of range for inputs of rank 2 (valid: -2 to "
            "1). Received: input_shape=[(2, 3), (2, 3)]")
    assert "axis must be an int" in message(lambda: Concatenate(axis="last"))


def test_scalar_inputs_are_refused():
    assert message(lambda: Add(name="a")([1.0, 2.0])) == (
        "Add 'a': every input needs a batch axis (rank >= 1); input 0 is a scalar. "
        "Received: input_shape=[(), ()]")


def test_unsupported_arguments_are_refused_by_name():
    assert "Add: autocast=False is not supported by scratchnn" in message(
        lambda: Add(autocast=False))
    assert "Unrecognized keyword arguments passed to Concatenate: {'colour': 1}" in message(
        lambda: Concatenate(colour=1))
    assert "dtype='float16' is not supported by scratchnn" in message(
        lambda: Maximum(dtype="float16"))
    assert Add(dtype="float32").get_config()["dtype"]["config"]["name"] == "float32"


# -- calling ---------------------------------------------------------------------------------
def test_call_casts_to_floatx_and_accepts_tuples_and_one_input():
    ints = (np.ones((2, 3), int), np.full((2, 3), 2, int))
    y = Add()(ints)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.full((2, 3), 3.0))
    np.testing.assert_array_equal(Maximum()([np.ones((2, 3))]), np.ones((2, 3)))
    assert Average()([np.ones((2, 3))]).dtype == np.float32


def test_a_built_layer_takes_other_shapes_that_merge():
    """Keras builds once and checks the rules, not the first shapes, on later calls."""
    layer = Concatenate()
    layer(arrays([(2, 3), (2, 3)]))
    assert layer(arrays([(2, 4), (2, 5)])).shape == (2, 9)
    assert layer.input_shape == [(None, 3), (None, 3)]          # from the first call


def test_empty_batch_works():
    assert Add()(arrays([(0, 3), (0, 3)])).shape == (0, 3)


def test_functional_forms_equal_the_layers():
    xs = arrays([(2, 4, 3), (2, 3)])
    for function, layer_class in [(add, Add), (subtract, Subtract), (multiply, Multiply),
                                  (average, Average), (maximum, Maximum), (minimum, Minimum)]:
        np.testing.assert_array_equal(function(xs), layer_class()(xs))
    ys = arrays([(2, 2, 3), (2, 5, 3)])
    np.testing.assert_array_equal(concatenate(ys, axis=1), np.concatenate(ys, axis=1))
    np.testing.assert_array_equal(add(xs, name="named"), Add()(xs))


# -- the layer protocol ----------------------------------------------------------------------
@pytest.mark.parametrize("layer_class", [*ELEMENTWISE.values(), Concatenate])
def test_names_configs_and_no_weights(layer_class):
    """Keras's names (snake_case of the class) and config keys: name, trainable, dtype
    (+ axis for Concatenate)."""
    snake = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply",
             "Average": "average", "Maximum": "maximum", "Minimum": "minimum",
             "Concatenate": "concatenate"}[layer_class.__name__]
    first, second = layer_class(), layer_class()
    assert (first.name, second.name) == (snake, f"{snake}_1")
    assert isinstance(first, Merge)
    keys = ["name", "trainable", "dtype"] + (["axis"] if layer_class is Concatenate else [])
    config = first.get_config()
    assert sorted(config) == sorted(keys)
    assert config["dtype"] == {"module": "keras", "class_name": "DTypePolicy",
                               "config": {"name": "float32"}, "registered_name": None}
    assert first.params == {} and first.count_params() == 0


def test_concatenate_config_keeps_the_axis_and_float64_shows_in_dtype(float64):
    config = Concatenate(axis=1, trainable=False).get_config()
    assert config["axis"] == 1 and config["trainable"] is False
    assert config["dtype"]["config"]["name"] == "float64"


def test_backward_gradients_have_the_inputs_shapes_and_dtype():
    layer = Multiply()
    xs = arrays([(2, 3), (2, 4, 1), (2,)])
    y = layer(xs)
    assert y.shape == (2, 4, 3)
    grads = layer.backward(np.ones_like(y))
    assert [(g.shape, g.dtype) for g in grads] == [(x.shape, np.float32) for x in xs]
